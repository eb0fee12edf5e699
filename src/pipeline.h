/* pipeline: source -> dissection workers -> sink, for every source a feed hands out. The
 * reader reads packets, hands them to the workers (src/worker/farm.h), and hands the
 * documents they send back, in packet order, to the sink. */
#ifndef ESPCAP_PIPELINE_H
#define ESPCAP_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/cap.h"
#include "doc/docinfo.h"
#include "sink/sink.h"
#include "worker/farm.h"

struct report;

struct run_stats {
    uint64_t files;        /* sources opened, and files that could not be */
    uint64_t failed_files; /* sources that could not be opened or read to their end */
    uint64_t packets;      /* records read */
    uint64_t documents;    /* documents handed to the sink */
    uint64_t filtered;     /* packets the display filter (-Y) left out */
    uint64_t crashed;      /* packets that killed two dissection workers (error documents) */
    uint64_t too_large;    /* packets left out: too large for a worker's ring, or their
                            * document for the way back (warned about, exit status 1) */
    uint64_t cut_values;   /* values cut at --max-bytes */
    uint64_t bytes_done;   /* bytes of the file sources finished */
    bool live;             /* an interface was captured on */
    char interface[128];   /* ... this one */
    uint64_t dropped_kernel, dropped_interface; /* its drops, at its end */
};

struct pipeline {
    struct farm *farm;     /* the dissection workers; borrowed */
    struct sink *sink;     /* borrowed */
    struct report *report; /* borrowed, or NULL: progress and statistics lines */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop reading */
    struct cap_feed *feed; /* the feed being run (pipeline_run_feed) */
    struct cap_source *current; /* the source being read, or NULL */
    bool open_failed;      /* an interface could not be opened (open_error says why) */
    enum cap_open_error open_error;
    struct run_stats stats;
    /* Called once an interface is open, before its first packet (giving up root); -1 ends
     * the run (fatal; it said why). NULL: nothing to do. */
    int (*live_opened)(void *ctx);
    void *live_ctx;
};

enum pipe_result {
    PIPE_OK = 0,    /* read to its end */
    PIPE_INPUT,     /* the source failed part way; what came before was delivered */
    PIPE_FATAL,     /* the sink failed, or an interface could not be opened */
    PIPE_STOPPED,   /* a stop signal ended the reading of a file */
};

/* The farm's delivery: one document to the sink (ctx is the pipeline). */
int pipeline_deliver(void *ctx, const char *doc, size_t len, const struct doc_info *info);

/* Runs one opened source to its end; the source stays owned by the caller. Its last
 * documents may still be with the workers: pipeline_run_feed waits for them. */
enum pipe_result pipeline_run(struct pipeline *p, struct cap_source *src);

/* Runs every source of the feed, one after the other, until the feed ends, a stop signal
 * comes, or the sink fails. Sources that fail are reported and counted. With a state file,
 * each file is remembered as done once the sink has settled its documents. Returns the
 * worst result (PIPE_INPUT if any source failed). */
enum pipe_result pipeline_run_feed(struct pipeline *p, struct cap_feed *feed);

/* The exit status of a run that ended with r (see README.md): sink_closed is whether the
 * sink delivered everything at its close. */
int pipeline_exit_status(const struct pipeline *p, enum pipe_result r, bool sink_closed,
                         bool endless);

#endif
