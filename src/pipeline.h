/* pipeline: source -> dissector -> document -> sink, for every source a feed hands out. */
#ifndef ESPCAP_PIPELINE_H
#define ESPCAP_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/cap.h"
#include "dissect/dissect.h"
#include "doc/doc.h"
#include "sink/sink.h"

struct report;

struct run_stats {
    uint64_t files;        /* sources opened, and files that could not be */
    uint64_t failed_files; /* sources that could not be opened or read to their end */
    uint64_t packets;      /* records read */
    uint64_t documents;    /* documents handed to the sink */
    uint64_t filtered;     /* packets the display filter (-Y) left out */
    uint64_t bytes_done;   /* bytes of the file sources finished */
    bool live;             /* an interface was captured on */
    char interface[128];   /* ... this one */
    uint64_t dropped_kernel, dropped_interface; /* its drops, at its end */
};

struct pipeline {
    struct dis *dis;       /* borrowed */
    struct doc *doc;       /* borrowed */
    struct sink *sink;     /* borrowed */
    struct report *report; /* borrowed, or NULL: progress and statistics lines */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop reading */
    uint64_t reset_every;  /* live: new dissection session every N packets; 0 = never */
    struct cap_feed *feed; /* the feed being run (pipeline_run_feed) */
    struct cap_source *current; /* the source being read, or NULL */
    bool open_failed;      /* an interface could not be opened (open_error says why) */
    enum cap_open_error open_error;
    struct run_stats stats;
};

enum pipe_result {
    PIPE_OK = 0,    /* read to its end */
    PIPE_INPUT,     /* the source failed part way; what came before was delivered */
    PIPE_FATAL,     /* the sink failed, or an interface could not be opened */
    PIPE_STOPPED,   /* a stop signal ended the reading of a file */
};

/* Runs one opened source to its end; the source stays owned by the caller. */
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
