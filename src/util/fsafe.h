/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsafe: the rules for files that hold packet data (the dead-letter file, the spool): created
 * 0600, never through a symbolic link, in a folder nobody else can swap them in. */
#ifndef ESPCAP_FSAFE_H
#define ESPCAP_FSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Whether a folder (its stat) may hold such files: false, with the reason in err, for one
 * that anyone may write to without the sticky bit (anyone could rename or remove what is
 * in it, and put something else there). own: the folder is the spool itself, which no one
 * else may write to, sticky or not. */
bool fsafe_dir_ok(const struct stat *st, bool own, char *err, size_t errlen);

/* Opens path for appending: O_NOFOLLOW (a symbolic link is refused), created 0600, a regular
 * file only, in a folder fsafe_dir_ok accepts; in a sticky folder anyone may write to (/tmp)
 * an existing file must be espcap's user's own (another user may have planted it to read
 * what is written). The descriptor, or -1 with the reason in err. *created (if not NULL):
 * the file was made by this call. */
int fsafe_open_append(const char *path, bool *created, char *err, size_t errlen);

/* The start-up check of a file fsafe_open_append will open later: opens it (and removes it
 * again if this made it). false with the reason in err. */
bool fsafe_check_append(const char *path, char *err, size_t errlen);

/* The start-up check of a spool folder: if it exists, a folder (not a symbolic link) that
 * fsafe_dir_ok accepts as own, and espcap's user's own when its parent is a sticky folder
 * anyone may write to; its parent folder fsafe_dir_ok accepts. */
bool fsafe_check_dir(const char *path, char *err, size_t errlen);

#endif
