/* spool: an on-disk queue of records in a folder, oldest first, bounded in bytes (live mode's
 * waiting room while the node cannot take requests). One file per record, written under a
 * temporary name and renamed, so a crash never leaves half a record. Records are opaque. */
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

/* Opens dir (made if missing) and lists the records an earlier run left, oldest first;
 * a ".tmp" left by a crash is removed (never renamed, so never complete). A folder that
 * cannot be read is reported on stderr: the spool is then empty and every push fails. */
struct spool *spool_open(const char *dir, uint64_t max_bytes);
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

/* Appends a record made of the parts, in order, behind every other. */
enum spool_rc spool_push(struct spool *sp, const struct spool_part *parts, size_t n);

/* Reads the oldest record not taken into out (replacing its content) and marks it taken:
 * it stays on disk, counted, until spool_done, spool_put_back or spool_release. A record
 * whose file vanished is forgotten; one that cannot be read is set aside (left on disk,
 * out of the queue); both are reported on stderr, and the next one is tried. */
enum spool_rc spool_take(struct spool *sp, struct buf *out, uint64_t *id);
/* The taken record is delivered: its file is removed. */
void spool_done(struct spool *sp, uint64_t id);
/* The taken record waits again, first in line, unchanged. */
void spool_release(struct spool *sp, uint64_t id);
/* The taken record waits again, first in line, with new content (say, only the part that
 * still has to go). Never refused for size: the record is already counted. If the file
 * cannot be rewritten the old content stays, and that is said on stderr. */
void spool_put_back(struct spool *sp, uint64_t id, const struct spool_part *parts, size_t n);
/* The taken record is not one the caller can read: left on disk, out of the queue. */
void spool_set_aside(struct spool *sp, uint64_t id);
/* The file name of a record, for messages (valid until the next call). */
const char *spool_file(struct spool *sp, uint64_t id);

#endif
