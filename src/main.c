/* espcap: options and wiring only. Read the options, build the pipeline (feed, dissector,
 * document builder, sink), run it, report, exit with the status it calls for. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap.h"
#include "dissect/dissect.h"
#include "doc/doc.h"
#include "opt/options.h"
#include "pipeline.h"
#include "report.h"
#include "sink/sink.h"
#include "sink/sink_es.h"
#include "util/log.h"

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

/* --help, --version, --dump-options, --list-interfaces. */
static int act(const struct options *o)
{
    if (o->help)
        options_help(stdout);
    else if (o->version)
        report_versions(stdout);
    else if (o->dump_options)
        options_dump(o, stdout);
    else {
        char err[512];
        int n = cap_live_list(stdout, err, sizeof err);
        if (n <= 0)
            log_error("%s", n < 0 ? err : "no interface can be captured on (not root, or no "
                                          "CAP_NET_RAW?)");
        return n > 0 ? EXIT_ALL_OK : EXIT_FATAL;
    }
    return EXIT_ALL_OK;
}

static struct cap_feed *build_feed(const struct options *o, char *err, size_t errlen,
                                   bool *bad_state)
{
    if (o->mode == MODE_FILE)
        return cap_feed_file(o->file);
    if (o->mode == MODE_NIC) {
        struct cap_live_config lc = { o->nic, o->bpf, o->count, !o->no_promiscuous,
                                      &stop_signal };
        return cap_feed_live(&lc);
    }
    struct cap_dir_config dc = {
        .dir = o->dir, .recursive = o->recursive, .watch = o->watch,
        .state_file = o->keep_state ? o->state_file : NULL, .settle = o->watch_settle,
        .ignore = o->ignore.v, .n_ignore = o->ignore.n,
    };
    return cap_feed_dir(&dc, err, errlen, bad_state);
}

static struct sink *build_sink(const struct options *o, char *err, size_t errlen)
{
    if (!o->node)
        return sink_stdout_new();
    struct sink_es_config ec = {
        .es = {
            .nodes = o->node,
            .user = o->auth_user,
            .password = o->auth_password,
            .api_key = o->auth_api_key,
            .cacert = o->cacert,
            .insecure = o->insecure,
            .start_wait = o->node_wait,
            .stop = &stop_signal,
        },
        .index_prefix = o->index_prefix,
        .chunk = o->chunk,
        .chunk_bytes = o->chunk_bytes,
        .in_flight = o->in_flight,
        .flush_interval = o->flush_interval,
        .compress = o->compress,
        .dead_letters = o->rejected,
        .live = o->mode == MODE_NIC,
        .spool_dir = o->spool_dir,
        .spool_max = o->spool_size,
    };
    return sink_es_new(&ec, err, errlen);
}

int main(int argc, char **argv)
{
    struct options o;
    int status = options_load(&o, argc, argv);
    if (status || o.help || o.version || o.dump_options || o.mode == MODE_LIST) {
        if (!status)
            status = act(&o);
        options_free(&o);
        return status;
    }
    char err[1024];
    bool bad_state = false;
    struct cap_feed *feed = build_feed(&o, err, sizeof err, &bad_state);
    if (!feed) {
        if (bad_state)
            fprintf(stderr, "espcap: --state-file: %s (see espcap --help)\n", err);
        else
            log_error("%s", err);
        options_free(&o);
        return bad_state ? EXIT_USAGE : EXIT_FATAL;
    }
    bool dirlike = o.mode == MODE_FILE || o.mode == MODE_DIR;
    bool tty = isatty(STDERR_FILENO);
    struct report_config rc = {
        /* as curl and pv: by itself on a terminal, unless the documents go there too */
        .progress = dirlike && (o.progress || (tty && (o.node || !isatty(STDOUT_FILENO)))),
        .in_place = tty,
        .stats_interval = o.mode == MODE_NIC ? o.stats_interval : 0,
        .indexing = o.node != NULL,
        .summary_json = o.summary_json,
        .watch_dir = o.watch ? o.dir : NULL,
    };
    struct report rep;
    report_init(&rep, &rc);

    struct doc *doc = NULL;
    struct sink *sink = NULL;
    struct dis *dis = NULL;
    status = EXIT_FATAL;
    struct dis_config dcfg = { .argv0 = argv[0] };
    enum dis_init_result dr = dis_global_init(&dcfg, err, sizeof err);
    if (dr != DIS_INIT_OK ||
        !(doc = doc_new(&(struct doc_config){ .protocols_list = o.protocols_path,
                                              .max_bytes = o.max_bytes }, err, sizeof err))) {
        if (dr == DIS_INIT_USAGE)
            status = EXIT_USAGE;
        log_error("%s", err);
        goto done;
    }
    install_signals();
    if (!(sink = build_sink(&o, err, sizeof err))) {
        log_error("%s", err);
        goto done;
    }
    dis = dis_new();
    struct pipeline p = { .dis = dis, .doc = doc, .sink = sink, .report = &rep,
                          .stop = &stop_signal,
                          .reset_every = o.mode == MODE_NIC ? o.reset_every : 0 };
    /* libwireshark's start-up may ignore SIGPIPE; as a filter, stop quietly when the
     * reader of standard output goes away (espcap ... | head). */
    signal(SIGPIPE, SIG_DFL);

    enum pipe_result r = pipeline_run_feed(&p, feed);
    bool closed = sink->ops->close(sink) == 0;
    if (!closed && r != PIPE_FATAL) /* the pipeline already said it */
        log_error("%s", sink->error);
    if (closed) /* everything delivered: what was read is done */
        cap_feed_settled(feed);
    status = pipeline_exit_status(&p, r, closed, cap_feed_endless(feed));
    report_end(&rep, &p, status, !p.open_failed);
done:
    sink_free(sink);
    cap_feed_free(feed);
    dis_free(dis);
    doc_free(doc);
    options_free(&o);
    return status;
}
