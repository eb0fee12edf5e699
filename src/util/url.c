/* SPDX-License-Identifier: GPL-2.0-or-later */
/* url: the user:password part of node URLs (see url.h). */
#include "url.h"

#include <ctype.h>
#include <string.h>

size_t url_scheme_len(const char *s, size_t n)
{
    if (!n || !isalpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i + 2 < n; i++) {
        if (s[i] == ':')
            return s[i + 1] == '/' && s[i + 2] == '/' ? i + 3 : 0;
        if (!isalnum((unsigned char)s[i]) && !strchr("+-.", s[i]))
            return 0;
    }
    return 0;
}

bool url_userinfo(const char *s, size_t n, size_t *start, size_t *len)
{
    size_t from = url_scheme_len(s, n);
    for (size_t i = n; i-- > from;)
        if (s[i] == '@') {
            *start = from;
            *len = i - from;
            return true;
        }
    return false;
}

void url_list_blank(char *list)
{
    for (char *p = list; *p;) {
        size_t n = strcspn(p, ","), at, len;
        if (url_userinfo(p, n, &at, &len))
            memset(p + at, ' ', len);
        p += n + (p[n] == ',');
    }
}

void url_list_redact(struct buf *out, const char *list)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ","), at, len;
        if (url_userinfo(p, n, &at, &len)) {
            buf_add(out, p, at);
            buf_add(out, p + at + len + 1, n - at - len - 1);
        } else {
            buf_add(out, p, n);
        }
        if (p[n] == ',')
            buf_addc(out, ',');
        p += n + (p[n] == ',');
    }
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *url_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = hex(s[i + 1])) >= 0 && (l = hex(s[i + 2])) >= 0) {
            *o++ = (char)(h * 16 + l);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}
