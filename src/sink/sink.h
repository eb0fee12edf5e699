/* sink: where documents go. A sink is opened once, written one document at a time,
 * and closed; close delivers everything still pending. */
#ifndef ESPCAP_SINK_H
#define ESPCAP_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "../doc/docinfo.h"

struct sink_stats {
    uint64_t written;       /* documents delivered (indexed, or written out) */
    uint64_t already;       /* documents the node already had (same _id): not doubled */
    uint64_t retried;       /* document sends repeated after a retryable failure */
    uint64_t dead_lettered; /* documents rejected for good, kept in the dead-letter file */
    uint64_t spooled;       /* live: documents written to the spool */
    uint64_t replayed;      /* live: documents read back from the spool and sent */
    uint64_t dropped;       /* live: documents dropped because the spool was full */
    uint64_t bytes;         /* bytes sent */
    uint64_t out_of_range;  /* documents sent to the out-of-range index (a time outside the
                             * window of --min-year and --max-future) */
    /* Gauges, for progress and stats lines: */
    uint64_t pending;       /* documents handed to the sink and not yet settled (delivered,
                             * already present, dead-lettered, spooled or dropped), and those
                             * read back from the spool and not yet settled again: so that
                             * documents = written + already + dead_lettered + dropped +
                             * spooled - replayed + pending after every call */
    uint64_t spool_bytes;   /* live: bytes the spool holds now */
};

struct sink;

struct sink_ops {
    const char *name;
    /* The process is about to give up root for uid/gid (a live capture, once its interface
     * is open): open now whatever it will need later and could not open then. NULL: the
     * sink needs nothing. 0 or -1 (fatal, see error). */
    int (*before_drop)(struct sink *s, unsigned uid, unsigned gid);
    /* One document; doc[0..len) is JSON without a newline. 0 or -1 (fatal, see error). */
    int (*write)(struct sink *s, const char *doc, size_t len, const struct doc_info *info);
    /* Sends what it holds back for a fuller request now, without waiting for the answer
     * (a watched directory's file is done only once its documents are settled). 0 or -1. */
    int (*flush)(struct sink *s);
    /* Delivers everything still pending and waits for it to be confirmed. 0 or -1. */
    int (*close)(struct sink *s);
    void (*free)(struct sink *s);
    /* Called regularly, also when no packet comes: time-based flushing, retries. */
    int (*tick)(struct sink *s);
};

struct sink {
    const struct sink_ops *ops;
    struct sink_stats stats;
    char error[512];
};

static inline void sink_free(struct sink *s)
{
    if (s)
        s->ops->free(s);
}

struct sink *sink_stdout_new(void);

#endif
