/* espcap: options and wiring only. Parse argv, build the pipeline, run it, report. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/cap.h"
#include "dissect/dissect.h"
#include "doc/doc.h"
#include "opt/options.h"
#include "pipeline.h"
#include "sink/sink.h"
#include "sink/sink_es.h"
#include "util/log.h"

#ifndef ESPCAP_VERSION
#define ESPCAP_VERSION "0.1.0"
#endif

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND; /* a second signal ends the program at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const struct pipeline *p, const struct doc *doc, bool indexing, double elapsed)
{
    const struct run_stats *s = &p->stats;
    const struct sink_stats *k = &p->sink->stats;
    char extra[256] = "";
    if (indexing)
        snprintf(extra, sizeof extra, "indexed=%llu already_present=%llu retried=%llu "
                 "rejected=%llu spooled=%llu replayed=%llu dropped=%llu ",
                 (unsigned long long)k->written, (unsigned long long)k->already,
                 (unsigned long long)k->retried, (unsigned long long)k->dead_lettered,
                 (unsigned long long)k->spooled, (unsigned long long)k->replayed,
                 (unsigned long long)k->dropped);
    fprintf(stderr,
            "espcap: summary: files=%llu failed_files=%llu packets=%llu documents=%llu "
            "%scut_values=%llu bytes=%llu elapsed=%.2fs rate=%.0f/s\n",
            (unsigned long long)s->files, (unsigned long long)s->failed_files,
            (unsigned long long)s->packets, (unsigned long long)s->documents, extra,
            (unsigned long long)doc_stats(doc)->cut_values, (unsigned long long)k->bytes,
            elapsed, elapsed > 0 ? (double)s->packets / elapsed : 0.0);
}

/* Opens and runs one capture file; a file that fails is reported and counted. */
static enum pipe_result run_file(struct pipeline *p, const char *path)
{
    char err[512];
    struct cap_source *src = cap_file_open(path, err, sizeof err);
    if (!src) {
        log_warn("%s: %s", path, err);
        p->stats.files++;
        p->stats.failed_files++;
        return PIPE_INPUT;
    }
    enum pipe_result r = pipeline_run(p, src);
    cap_close(src);
    return r;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = options_load(&o, argc, argv);
    if (rc || o.help || o.version || o.dump_options) {
        if (!rc && o.help)
            options_help(stdout);
        else if (!rc && o.version)
            printf("espcap %s\nWireshark %s (libwireshark, dissecting in-process)\n",
                   ESPCAP_VERSION, dis_wireshark_version());
        else if (!rc)
            options_dump(&o, stdout);
        options_free(&o);
        return rc;
    }
    if (o.list_interfaces) {
        char lerr[512];
        int n = cap_live_list(stdout, lerr, sizeof lerr);
        if (n < 0) {
            log_error("%s", lerr);
            options_free(&o);
            return EXIT_FATAL;
        }
        if (n == 0)
            log_error("no interface can be captured on (not root, or no CAP_NET_RAW?)");
        options_free(&o);
        return n ? EXIT_ALL_OK : EXIT_FATAL;
    }

    double t0 = now_seconds();
    char err[1024];
    if (!dis_global_init(err, sizeof err)) {
        log_error("%s", err);
        options_free(&o);
        return EXIT_FATAL;
    }
    struct doc_config dc = { o.protocols_path, o.max_bytes };
    struct doc *doc = doc_new(&dc, err, sizeof err);
    if (!doc) {
        log_error("%s", err);
        options_free(&o);
        return EXIT_FATAL;
    }
    install_signals();
    struct sink *sink;
    if (o.node) {
        struct sink_es_config ec = {
            .es = {
                .nodes = o.node,
                .user = o.auth_user,
                .password = o.auth_password,
                .api_key = o.auth_api_key,
                .cacert = o.cacert,
                .insecure = o.insecure,
                .start_wait = o.node_wait,
                .stop = &stop_signal,
            },
            .index_prefix = o.index_prefix,
            .chunk = o.chunk,
            .chunk_bytes = o.chunk_bytes,
            .in_flight = o.in_flight,
            .flush_interval = o.flush_interval,
            .compress = o.compress,
            .dead_letters = o.rejected,
            .live = o.nic != NULL,
            .spool_dir = o.spool_dir,
            .spool_max = o.spool_size,
        };
        sink = sink_es_new(&ec, err, sizeof err);
        if (!sink) {
            log_error("%s", err);
            doc_free(doc);
            options_free(&o);
            return EXIT_FATAL;
        }
    } else {
        sink = sink_stdout_new();
    }
    struct dis *dis = dis_new();
    struct pipeline p = { .dis = dis, .doc = doc, .sink = sink, .stop = &stop_signal };
    /* libwireshark's start-up may ignore SIGPIPE; as a filter, stop quietly when the
     * reader of standard output goes away (espcap ... | head). */
    signal(SIGPIPE, SIG_DFL);

    int status = EXIT_ALL_OK;
    enum pipe_result r = PIPE_OK;
    bool live = o.nic != NULL;
    struct cap_live_stats ls = { 0, 0, 0 };
    if (live) {
        struct cap_live_config lc = { o.nic, o.bpf, o.count, !o.no_promiscuous, &stop_signal };
        enum cap_open_error why;
        struct cap_source *src = cap_live_open(&lc, err, sizeof err, &why);
        if (!src) {
            log_error("%s", err);
            status = (why == CAP_OPEN_BAD_FILTER || why == CAP_OPEN_NO_DEVICE) ? EXIT_USAGE
                                                                               : EXIT_FATAL;
            r = PIPE_FATAL;
        } else {
            p.reset_every = o.reset_every;
            log_info("capturing on %s%s%s%s", o.nic, o.bpf ? " with filter \"" : "",
                     o.bpf ? o.bpf : "", o.bpf ? "\"" : "");
            r = pipeline_run(&p, src);
            if (r == PIPE_INPUT)
                status = EXIT_PARTIAL;
            cap_live_stats(src, &ls);
            cap_close(src);
        }
    } else if (o.file) {
        r = run_file(&p, o.file);
        if (r == PIPE_INPUT)
            status = EXIT_PARTIAL;
    } else {
        char **paths;
        int n = cap_dir_list(o.dir, &paths, err, sizeof err);
        if (n < 0) {
            log_warn("%s: cannot read the directory: %s", o.dir, err);
            p.stats.failed_files++;
            status = EXIT_PARTIAL;
        } else {
            if (n == 0)
                log_warn("%s: no files to read", o.dir);
            for (int i = 0; i < n && !stop_signal && r != PIPE_FATAL; i++) {
                r = run_file(&p, paths[i]);
                if (r == PIPE_INPUT)
                    status = EXIT_PARTIAL;
            }
            cap_dir_free(paths, n);
        }
    }
    if (r == PIPE_FATAL && status == EXIT_ALL_OK)
        status = EXIT_FATAL;
    if (sink->ops->close(sink) != 0) {
        if (r != PIPE_FATAL) /* the pipeline already said it */
            log_error("%s", sink->error);
        status = EXIT_FATAL;
    }
    bool opened = !(live && r == PIPE_FATAL && p.stats.files == 0);
    if (live && opened)
        fprintf(stderr, "espcap: capture: interface=%s captured=%llu dropped_kernel=%llu "
                "dropped_interface=%llu\n", o.nic, (unsigned long long)p.stats.packets,
                (unsigned long long)ls.dropped_kernel, (unsigned long long)ls.dropped_interface);
    if (opened)
        report(&p, doc, o.node != NULL, now_seconds() - t0);
    if ((sink->stats.dead_lettered || sink->stats.dropped) && status == EXIT_ALL_OK)
        status = EXIT_PARTIAL;
    sink_free(sink);
    /* Ctrl-C is how a live capture normally ends; a file run cut short says so. */
    if (stop_signal && status == EXIT_ALL_OK && !live)
        status = 128 + stop_signal;
    dis_free(dis);
    doc_free(doc);
    options_free(&o);
    return status;
}
