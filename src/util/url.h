/* SPDX-License-Identifier: GPL-2.0-or-later */
/* url: where the credentials of a node URL ("https://user:password@host:9200") sit, for the
 * option table (blanked out of argv, left out of messages) and the HTTP client (sent as
 * basic auth, never as part of the URL). One rule for both, so that what is hidden is
 * exactly what is sent. */
#ifndef ESPCAP_URL_H
#define ESPCAP_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* The length of s[0..n)'s "scheme://" (RFC 3986: a letter, then letters, digits, '+', '-',
 * '.'), or 0 when it does not start with one. */
size_t url_scheme_len(const char *s, size_t n);

/* The "user:password" of the one URL s[0..n): from after "scheme://" (or from the start when
 * there is none) to the LAST '@', so that a password may hold '@', '/' and ':' as
 * typed (a node URL's path may not hold '@'). false when there is no '@'. *start and
 * *len: the span, without the '@'. */
bool url_userinfo(const char *s, size_t n, size_t *start, size_t *len);

/* In a comma-separated list of URLs, overwrites every user:password with spaces, in
 * place (argv, as curl's cleanarg does). */
void url_list_blank(char *list);

/* Appends the list to out without any user:password@. */
void url_list_redact(struct buf *out, const char *list);

/* s[0..n) with its %XX escapes decoded (a '%' not followed by two hex digits is kept).
 * Owned by the caller. */
char *url_decode(const char *s, size_t n);

#endif
