/* pipeline: source -> dissector -> document -> sink, one capture source at a time. */
#ifndef ESPCAP_PIPELINE_H
#define ESPCAP_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/cap.h"
#include "dissect/dissect.h"
#include "doc/doc.h"
#include "sink/sink.h"

struct run_stats {
    uint64_t files;        /* sources opened */
    uint64_t failed_files; /* sources that could not be opened or read to their end */
    uint64_t packets;      /* records read */
    uint64_t documents;    /* documents handed to the sink */
    uint64_t filtered;     /* packets the display filter (-Y) left out */
};

struct pipeline {
    struct dis *dis;       /* borrowed */
    struct doc *doc;       /* borrowed */
    struct sink *sink;     /* borrowed */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop reading */
    uint64_t reset_every;  /* live: new dissection session every N packets; 0 = never */
    struct run_stats stats;
};

enum pipe_result {
    PIPE_OK = 0,    /* the source was read to its end, or stopped on request */
    PIPE_INPUT,     /* the source failed part way; what came before was delivered */
    PIPE_FATAL,     /* the sink failed: nothing more can be delivered */
};

/* Runs one opened source to its end; the source stays owned by the caller. */
enum pipe_result pipeline_run(struct pipeline *p, struct cap_source *src);

#endif
