/* report: what a run tells on stderr while it runs and at its end: the progress line
 * (files, bytes, packets, documents/s, ETA), live statistics lines, the summary lines and
 * their JSON copy; and the versions of what espcap is built on. */
#ifndef ESPCAP_REPORT_H
#define ESPCAP_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pipeline;

struct report_config {
    bool progress;            /* file and directory runs: a progress line */
    bool in_place;            /* ... redrawn in place: stderr is a terminal */
    double stats_interval;    /* live: seconds between statistics lines; 0: none */
    bool indexing;            /* with --node: the summary has the indexing counters */
    bool filtering;           /* with -Y: the summary counts the packets it left out */
    const char *summary_json; /* also write the summary here as JSON, or NULL */
    const char *watch_dir;    /* a watched directory, named while waiting for files */
};

struct report {
    struct report_config cfg;
    double t0;
    double last_progress, last_stats;
    uint64_t stats_docs;      /* documents at the last statistics line */
    double rate_t;            /* documents/s, smoothed, for the progress line */
    uint64_t rate_docs;
    double rate;
    int summary_fd;           /* the summary file, opened early (report_before_drop), or -1 */
};

void report_init(struct report *r, const struct report_config *cfg);
/* Called often (every 256 packets, and when a source is idle): prints what is due. */
void report_tick(struct report *r, const struct pipeline *p);
/* The end of the run: the last progress state, then (unless nothing was opened) the
 * capture line of a live run, the summary line and the JSON summary. */
void report_end(struct report *r, const struct pipeline *p, int exit_status, bool opened);

/* The process is about to give up root: the summary file is opened now, to be written in
 * place at the end. */
void report_before_drop(struct report *r);

/* espcap's version and those of Wireshark, libpcap, libcurl (and its TLS library), GLib
 * and zlib, one per line. */
void report_versions(FILE *out);

#endif
