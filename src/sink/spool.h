/* spool: an on-disk queue of records in a folder, oldest first, bounded in bytes (live mode's
 * waiting room while the node cannot take requests). One file per record, written under a
 * temporary name and renamed, so a crash never leaves half a record; its name carries the
 * number of items the caller says it holds, so that a record that cannot be read any more
 * is still counted. Records are opaque. Files are 0600 and never followed through a
 * symbolic link; the folder is 0700 (util/fsafe.h). */
#ifndef ESPCAP_SPOOL_H
#define ESPCAP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/buf.h"

struct spool_part {
    const void *p;
    size_t n;
};

enum spool_rc {
    SPOOL_OK,
    SPOOL_FULL,  /* the record would take the spool past its size: nothing written */
    SPOOL_EMPTY, /* no record waiting */
    SPOOL_ERROR, /* cannot write: the reason in spool_error() */
};

struct spool;

/* Opens dir (made 0700 if missing) and lists the records an earlier run left, oldest first;
 * a ".tmp" left by a crash is removed (never renamed, so never complete). NULL, with the
 * reason in err, for a folder that cannot be made or read, is a symbolic link, anyone may
 * write to, or sits in a folder anyone may write to without the sticky bit. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void spool_free(struct spool *sp); /* the files stay; NULL is fine */
/* Before root is given up: the folder (root's or the user's, never a symbolic link) and
 * its records become uid's, mode 0700. false with the reason in spool_error(). */
bool spool_give(struct spool *sp, uid_t uid, gid_t gid);

const char *spool_dir(const struct spool *sp);
const char *spool_error(const struct spool *sp);
size_t spool_count(const struct spool *sp);   /* records on disk, taken ones included */
size_t spool_waiting(const struct spool *sp); /* records not taken */
uint64_t spool_bytes(const struct spool *sp); /* bytes of the records on disk */
uint64_t spool_max(const struct spool *sp);
/* Items of the records lost so far: vanished, unreadable, or set aside. */
uint64_t spool_lost(const struct spool *sp);

/* Appends a record made of the parts, in order, behind every other; it holds count items. */
enum spool_rc spool_push(struct spool *sp, const struct spool_part *parts, size_t n,
                         uint32_t count);

/* Reads the oldest record not taken into out (replacing its content) and marks it taken:
 * it stays on disk, counted, until spool_done, spool_put_back or spool_release. A record
 * whose file vanished is forgotten; one that cannot be read (permissions, a symbolic link,
 * an I/O error) is renamed "<name>.unreadable", out of the queue; both are reported on
 * stderr, their items added to spool_lost(), and the next one is tried: a bad file never
 * holds the others back. */
enum spool_rc spool_take(struct spool *sp, struct buf *out, uint64_t *id);
/* The taken record is delivered: its file is removed. */
void spool_done(struct spool *sp, uint64_t id);
/* The taken record waits again, first in line, unchanged (its file is not rewritten). */
void spool_release(struct spool *sp, uint64_t id);
/* The taken record waits again, first in line, with new content (say, only the count items
 * that still have to go). Never refused for size: the record is already counted. If the
 * file cannot be rewritten the old content stays, and that is said on stderr. */
void spool_put_back(struct spool *sp, uint64_t id, const struct spool_part *parts, size_t n,
                    uint32_t count);
/* The taken record is not one the caller can read: renamed "<name>.bad", out of the queue,
 * its items added to spool_lost(). */
void spool_set_aside(struct spool *sp, uint64_t id);
/* The file name of a record, for messages (valid until the next call). */
const char *spool_file(struct spool *sp, uint64_t id);

#endif
