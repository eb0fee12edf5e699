/* espcap: options and wiring only. Read the options, build the pipeline (feed, dissector,
 * document builder, sink), run it, report, exit with the status it calls for. */
#include <math.h>
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
#include "worker/farm.h"
#include "worker/privdrop.h"
#include "worker/zygote.h"

/* A lane's rings: 2 MiB of packets to a worker (a record holds up to a quarter: every snap
 * length wiretap reads for common link types), 8 MiB of documents back. */
#define IN_RING (2u << 20)
#define OUT_RING (8u << 20)

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
        .indices = {
            .min_year = (int)o->min_year,
            .max_ahead = (int64_t)ceil(o->max_future), /* 0.5 s must not mean none */
            .shards = (unsigned)o->shards,
            .replicas = o->replicas_given ? (int)o->replicas : -1,
        },
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
    es_interval_parse(o->index_interval, &ec.indices.interval); /* checked by the table */
    return sink_es_new(&ec, err, errlen);
}

/* --fields a,b --fields c: the globs, split at commas. The strings are owned by v. */
static void split_globs(const struct opt_list *l, struct opt_list *v)
{
    for (size_t i = 0; i < l->n; i++)
        for (char *p = l->v[i]; *p;) {
            size_t n = strcspn(p, ",");
            if (n) {
                v->v = xrealloc(v->v, (v->n + 1) * sizeof *v->v);
                v->v[v->n] = xmalloc(n + 1);
                memcpy(v->v[v->n], p, n);
                v->v[v->n++][n] = '\0';
            }
            p += n + (p[n] == ',');
        }
}

static void free_list(struct opt_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* The dissection workers' zygote, started before anything else (no thread may exist when
 * it forks), with everything the options say about dissection and documents. */
static struct zygote *start_workers(const struct options *o, const char *argv0,
                                    struct opt_list *keep, struct opt_list *drop, int *status)
{
    char err[1024];
    split_globs(&o->fields, keep);
    split_globs(&o->exclude_fields, drop);
    struct dis_config dc = {
        .argv0 = argv0,
        .profile = o->profile,
        .prefs = (const char *const *)o->prefs.v, .n_prefs = o->prefs.n,
        .decode_as = (const char *const *)o->decode_as.v, .n_decode_as = o->decode_as.n,
        .enable_protocols = (const char *const *)o->enable_protocols.v,
        .n_enable_protocols = o->enable_protocols.n,
        .disable_protocols = (const char *const *)o->disable_protocols.v,
        .n_disable_protocols = o->disable_protocols.n,
        .enable_heuristics = (const char *const *)o->enable_heuristics.v,
        .n_enable_heuristics = o->enable_heuristics.n,
        .disable_heuristics = (const char *const *)o->disable_heuristics.v,
        .n_disable_heuristics = o->disable_heuristics.n,
        .display_filter = o->display_filter,
    };
    struct doc_config doc = {
        .protocols_list = o->protocols_path,
        .max_bytes = o->max_bytes,
        .fields = { (const char *const *)keep->v, keep->n, (const char *const *)drop->v,
                    drop->n },
    };
    if (geteuid() == 0 && o->run_as && strcmp(o->run_as, "root") == 0)
        log_warn("--run-as=root: the dissection workers parse packets as root");
    struct zygote_config zc = { &dc, &doc, o->run_as, IN_RING, OUT_RING };
    struct zygote *z = zygote_start(&zc, err, sizeof err);
    if (!z) {
        log_error("%s", err);
        *status = EXIT_FATAL;
        return NULL;
    }
    enum dis_init_result r = zygote_wait_ready(z, err, sizeof err);
    if (r != DIS_INIT_OK) {
        if (r == DIS_INIT_USAGE)
            fprintf(stderr, "espcap: %s (see espcap --help)\n", err);
        else
            log_error("%s", err);
        zygote_stop(z);
        *status = r == DIS_INIT_USAGE ? EXIT_USAGE : EXIT_FATAL;
        return NULL;
    }
    return z;
}

/* A live capture, once its interface is open, needs no privilege any more: as root it
 * becomes --run-as (after opening what it will write to later), otherwise it gives up any
 * capability the program file was given (setcap cap_net_raw); no_new_privs either way. */
struct drop_ctx {
    const char *user;
    struct sink *sink;
    struct report *report;
};

static int drop_reader(void *ctx)
{
    struct drop_ctx *d = ctx;
    char err[512];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    bool become = uid == 0 && d->user && strcmp(d->user, "root") != 0;
    if (become) {
        if (!privdrop_lookup(d->user, &uid, &gid, err, sizeof err)) {
            log_error("%s", err);
            return -1;
        }
        if (d->sink->ops->before_drop && d->sink->ops->before_drop(d->sink, uid, gid) != 0) {
            log_error("%s (before becoming %s)", d->sink->error, d->user);
            return -1;
        }
        report_before_drop(d->report);
    }
    if (!privdrop(uid, gid, err, sizeof err)) {
        log_error("%s", err);
        return -1;
    }
    if (become)
        log_info("the interface is open: capturing as %s from now on", d->user);
    return 0;
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
    /* First, while this is the only thread: libwireshark in the workers' zygote. The
     * reader itself reads files with wiretap only. */
    struct opt_list keep = { 0 }, drop = { 0 };
    struct zygote *zyg = start_workers(&o, argv[0], &keep, &drop, &status);
    if (!zyg) {
        free_list(&keep);
        free_list(&drop);
        options_free(&o);
        return status;
    }
    dis_reader_init(argv[0]);
    bool bad_state = false;
    struct cap_feed *feed = build_feed(&o, err, sizeof err, &bad_state);
    if (!feed) {
        if (bad_state)
            fprintf(stderr, "espcap: --state-file: %s (see espcap --help)\n", err);
        else
            log_error("%s", err);
        zygote_stop(zyg);
        free_list(&keep);
        free_list(&drop);
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
        .filtering = o.display_filter != NULL,
        .summary_json = o.summary_json,
        .watch_dir = o.watch ? o.dir : NULL,
    };
    struct report rep;
    report_init(&rep, &rc);

    struct sink *sink = NULL;
    struct farm *farm = NULL;
    status = EXIT_FATAL;
    install_signals();
    if (!(sink = build_sink(&o, err, sizeof err))) {
        log_error("%s", err);
        goto done;
    }
    struct drop_ctx dropping = { o.run_as, sink, &rep };
    struct pipeline p = { .sink = sink, .report = &rep, .stop = &stop_signal,
                          .live_opened = drop_reader, .live_ctx = &dropping };
    unsigned workers = o.workers ? (unsigned)o.workers : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    struct farm_config fc = {
        .slots = workers ? workers : 1,
        .zygote = zyg,
        .in_ring = IN_RING,
        .out_ring = OUT_RING,
        /* live: a worker's dissection session spans --reset-every packets, then a fresh
         * worker takes over (flat memory) */
        .lane_packets = o.mode == MODE_NIC ? o.reset_every : 0,
        .deliver = pipeline_deliver,
        .ctx = &p,
    };
    p.farm = farm = farm_new(&fc);
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
    farm_free(farm);
    zygote_stop(zyg);
    sink_free(sink);
    cap_feed_free(feed);
    free_list(&keep);
    free_list(&drop);
    options_free(&o);
    return status;
}
