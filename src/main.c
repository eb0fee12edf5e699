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
#include "pipeline.h"
#include "sink/sink.h"
#include "sink/sink_es.h"
#include "util/log.h"

#ifndef ESPCAP_VERSION
#define ESPCAP_VERSION "0.1.0"
#endif
#ifndef ESPCAP_SYSCONFDIR
#define ESPCAP_SYSCONFDIR "/etc/espcap"
#endif

/* Exit statuses, documented in README.md and docs/usage.md. */
enum {
    EXIT_ALL_OK = 0,
    EXIT_PARTIAL = 1, /* some input could not be read wholly; the rest was delivered */
    EXIT_USAGE = 2,
    EXIT_FATAL = 3,   /* could not start, or could not deliver */
};

enum opt_id {
    OPT_FILE, OPT_DIR, OPT_NIC, OPT_NODE, OPT_BPF, OPT_COUNT, OPT_CHUNK,
    OPT_LIST_INTERFACES, OPT_LIST, OPT_HELP, OPT_VERSION, OPT_PROTOCOLS_LIST, OPT_MAX_BYTES,
    OPT_CHUNK_BYTES, OPT_INDEX_PREFIX, OPT_USER, OPT_API_KEY, OPT_CACERT, OPT_INSECURE,
    OPT_COMPRESS, OPT_REJECTED, OPT_IN_FLIGHT, OPT_FLUSH_INTERVAL, OPT_NODE_WAIT,
    OPT_NO_PROMISC, OPT_RESET_EVERY, OPT_SPOOL_DIR, OPT_SPOOL_SIZE,
};

struct opt_def {
    const char *name;
    enum opt_id id;
    int has_arg;
};

static const struct opt_def opt_defs[] = {
    { "file", OPT_FILE, 1 },
    { "dir", OPT_DIR, 1 },
    { "nic", OPT_NIC, 1 },
    { "node", OPT_NODE, 1 },
    { "bpf", OPT_BPF, 1 },
    { "count", OPT_COUNT, 1 },
    { "chunk", OPT_CHUNK, 1 },
    { "list-interfaces", OPT_LIST_INTERFACES, 0 },
    { "list", OPT_LIST, 0 },
    { "help", OPT_HELP, 0 },
    { "version", OPT_VERSION, 0 },
    { "protocols-list", OPT_PROTOCOLS_LIST, 1 },
    { "max-bytes", OPT_MAX_BYTES, 1 },
    { "chunk-bytes", OPT_CHUNK_BYTES, 1 },
    { "index-prefix", OPT_INDEX_PREFIX, 1 },
    { "user", OPT_USER, 1 },
    { "api-key", OPT_API_KEY, 1 },
    { "cacert", OPT_CACERT, 1 },
    { "insecure", OPT_INSECURE, 0 },
    { "compress", OPT_COMPRESS, 0 },
    { "rejected", OPT_REJECTED, 1 },
    { "in-flight", OPT_IN_FLIGHT, 1 },
    { "flush-interval", OPT_FLUSH_INTERVAL, 1 },
    { "node-wait", OPT_NODE_WAIT, 1 },
    { "no-promiscuous", OPT_NO_PROMISC, 0 },
    { "reset-every", OPT_RESET_EVERY, 1 },
    { "spool-dir", OPT_SPOOL_DIR, 1 },
    { "spool-size", OPT_SPOOL_SIZE, 1 },
};
#define N_OPTS (sizeof opt_defs / sizeof opt_defs[0])

struct options {
    const char *file, *dir, *nic, *node, *bpf, *protocols_list;
    const char *index_prefix, *user, *api_key, *cacert, *rejected, *spool_dir;
    unsigned long count, chunk, max_bytes, chunk_bytes, in_flight, reset_every, spool_size;
    double flush_interval, node_wait;
    int list_interfaces, help, version, insecure, compress, no_promisc;
};

static const char usage_text[] =
    "Usage:\n"
    "  espcap --file=CAPTURE [--node=HOST:PORT] [options]\n"
    "  espcap --dir=DIRECTORY [--node=HOST:PORT] [options]\n"
    "  espcap --nic=INTERFACE [--node=HOST:PORT] [--bpf=FILTER] [--count=N] [options]\n"
    "  espcap --list-interfaces\n"
    "  espcap --help | --version\n"
    "\n"
    "Reads packets from a capture file (pcap, pcapng, gzip-compressed, and every format\n"
    "Wireshark reads), from every capture file in a directory, or live from a network\n"
    "interface; dissects each with Wireshark's dissectors and writes one JSON document per\n"
    "packet: to standard output as NDJSON, or into Elasticsearch/OpenSearch with --node.\n"
    "\n"
    "Modes (exactly one):\n"
    "  --file=PATH            read one capture file\n"
    "  --dir=PATH             read every regular file in PATH, in name order\n"
    "  --nic=INTERFACE        capture live from INTERFACE\n"
    "  --list-interfaces      list the interfaces that can be captured on (also --list)\n"
    "\n"
    "Options:\n"
    "  --bpf=FILTER           capture filter for --nic, e.g. \"tcp port 80\"\n"
    "  --count=N              stop after N packets (--nic; 0 = until stopped)\n"
    "  --no-promiscuous       do not put the interface in promiscuous mode (--nic)\n"
    "  --reset-every=N        start a new dissection session every N packets, keeping memory\n"
    "                         bounded in long captures (--nic; default 500000; 0 = never)\n"
    "  --max-bytes=N          cut byte and string values longer than N bytes, marking the\n"
    "                         cut with \"...\" (default 256; 0 = never cut)\n"
    "  --protocols-list=PATH  the protocols.list that decides the \"protocol\" of a packet\n"
    "                         (default: beside the program, its conf/, or " ESPCAP_SYSCONFDIR "/)\n"
    "  --help, --version\n"
    "\n"
    "Indexing (see docs/indexing.md):\n"
    "  --node=NODES           index into Elasticsearch/OpenSearch: HOST:PORT (http), a URL\n"
    "                         (https://host:9200), or a comma-separated list of either\n"
    "  --index-prefix=NAME    daily indices NAME-YYYY-MM-DD (default packets)\n"
    "  --chunk=N              documents per bulk request (default 1000)\n"
    "  --chunk-bytes=N        bytes per bulk request, at most (default 8388608)\n"
    "  --in-flight=N          bulk requests under way at once (default 2)\n"
    "  --flush-interval=SECS  longest a document waits for its request to fill (default 1)\n"
    "  --compress             gzip request bodies\n"
    "  --user=USER[:PASSWORD] basic auth (better: ESPCAP_USER and ESPCAP_PASSWORD)\n"
    "  --api-key=KEY          API key auth (better: ESPCAP_API_KEY)\n"
    "  --cacert=FILE          CA certificates to verify the node's TLS certificate\n"
    "  --insecure             do not verify TLS certificates (warns)\n"
    "  --rejected=FILE        where documents the node rejects for good go, as NDJSON\n"
    "                         (default espcap-rejected.ndjson)\n"
    "  --node-wait=SECS       how long to keep trying to reach a node at start (default 60)\n"
    "  --spool-dir=DIR        live: where documents wait while the node is unreachable or\n"
    "                         slower than the traffic (default espcap-spool)\n"
    "  --spool-size=BYTES     live: the most the spool holds; past it documents are dropped,\n"
    "                         counted and reported (default 1073741824)\n"
    "\n"
    "Options may be written --opt=value or --opt value, and abbreviated to any unambiguous\n"
    "prefix (--d=/captures).\n"
    "\n"
    "Example command line option combinations:\n"
    "  espcap --d=/home/pcap_directory --node=localhost:9200\n"
    "  espcap --file=./pcap_file --node=localhost:9200\n"
    "  espcap --nic=eth0 --node=localhost:9200 --bpf=\"tcp port 80\"\n"
    "  espcap --nic=en0 --node=localhost:9200 --bpf=\"udp port 53\" --count=100\n"
    "  espcap --file=./pcap_file | jq .\n"
    "\n"
    "Exit status: 0 all packets delivered; 1 some input could not be read wholly (the rest\n"
    "was delivered, warnings say what); 2 bad command line; 3 could not start or deliver;\n"
    "130/143 stopped by SIGINT/SIGTERM after delivering what was read.\n";

static int usage_error(const char *fmt, ...) ESPCAP_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "espcap: %s (see espcap --help)\n", msg);
    return EXIT_USAGE;
}

static int parse_number(const char *opt, const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return usage_error("--%s: '%s' is not a whole number", opt, s);
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno)
        return usage_error("--%s: '%s' is not a whole number", opt, s);
    *out = v;
    return 0;
}

static int parse_seconds(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || v < 0 || v != v)
        return usage_error("--%s: '%s' is not a number of seconds", opt, s);
    *out = v;
    return 0;
}

/* Exact names win; otherwise a prefix must name exactly one option. */
static const struct opt_def *find_opt(const char *name, size_t len, int *ambiguous)
{
    const struct opt_def *hit = NULL;
    *ambiguous = 0;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strncmp(opt_defs[i].name, name, len) != 0)
            continue;
        if (opt_defs[i].name[len] == '\0')
            return &opt_defs[i];
        if (hit)
            *ambiguous = 1;
        hit = &opt_defs[i];
    }
    return *ambiguous ? NULL : hit;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    const char *mode_opt = NULL;
    o->max_bytes = DOC_DEFAULT_MAX_BYTES;
    o->chunk = 1000;
    o->chunk_bytes = 8u << 20;
    o->in_flight = 2;
    o->flush_interval = 1.0;
    o->node_wait = 60.0;
    o->index_prefix = "packets";
    o->rejected = "espcap-rejected.ndjson";
    o->reset_every = 500000;
    o->spool_dir = "espcap-spool";
    o->spool_size = 1ul << 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return usage_error("unexpected argument '%s'", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int ambiguous;
        const struct opt_def *d = find_opt(name, len, &ambiguous);
        if (!d) {
            if (ambiguous)
                return usage_error("ambiguous option --%.*s", (int)len, name);
            return usage_error("unknown option --%.*s", (int)len, name);
        }
        const char *val = NULL;
        if (d->has_arg) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error("option --%s needs a value", d->name);
            if (!*val && d->id != OPT_BPF)
                return usage_error("option --%s needs a value", d->name);
        } else if (eq) {
            return usage_error("option --%s takes no value", d->name);
        }
        int rc = 0;
        switch (d->id) {
        case OPT_FILE:
        case OPT_DIR:
        case OPT_NIC:
            if (mode_opt && strcmp(mode_opt, d->name) != 0)
                return usage_error("--%s and --%s cannot be used together: choose one mode",
                                   mode_opt, d->name);
            if (mode_opt)
                return usage_error("--%s given twice", d->name);
            mode_opt = d->name;
            if (d->id == OPT_FILE)
                o->file = val;
            else if (d->id == OPT_DIR)
                o->dir = val;
            else
                o->nic = val;
            break;
        case OPT_NODE: o->node = val; break;
        case OPT_BPF: o->bpf = val; break;
        case OPT_COUNT: rc = parse_number(d->name, val, &o->count); break;
        case OPT_CHUNK: rc = parse_number(d->name, val, &o->chunk); break;
        case OPT_MAX_BYTES: rc = parse_number(d->name, val, &o->max_bytes); break;
        case OPT_PROTOCOLS_LIST: o->protocols_list = val; break;
        case OPT_CHUNK_BYTES: rc = parse_number(d->name, val, &o->chunk_bytes); break;
        case OPT_IN_FLIGHT: rc = parse_number(d->name, val, &o->in_flight); break;
        case OPT_FLUSH_INTERVAL: rc = parse_seconds(d->name, val, &o->flush_interval); break;
        case OPT_NODE_WAIT: rc = parse_seconds(d->name, val, &o->node_wait); break;
        case OPT_INDEX_PREFIX: o->index_prefix = val; break;
        case OPT_USER: o->user = val; break;
        case OPT_API_KEY: o->api_key = val; break;
        case OPT_CACERT: o->cacert = val; break;
        case OPT_REJECTED: o->rejected = val; break;
        case OPT_INSECURE: o->insecure = 1; break;
        case OPT_COMPRESS: o->compress = 1; break;
        case OPT_NO_PROMISC: o->no_promisc = 1; break;
        case OPT_RESET_EVERY: rc = parse_number(d->name, val, &o->reset_every); break;
        case OPT_SPOOL_DIR: o->spool_dir = val; break;
        case OPT_SPOOL_SIZE: rc = parse_number(d->name, val, &o->spool_size); break;
        case OPT_LIST_INTERFACES:
        case OPT_LIST: o->list_interfaces = 1; break;
        case OPT_HELP: o->help = 1; break;
        case OPT_VERSION: o->version = 1; break;
        }
        if (rc)
            return rc;
    }
    if (o->help || o->version)
        return 0;
    if (o->list_interfaces && mode_opt)
        return usage_error("--list-interfaces and --%s cannot be used together", mode_opt);
    if (!mode_opt && !o->list_interfaces)
        return usage_error("no mode given: use --file, --dir or --nic");
    if (o->chunk == 0)
        return usage_error("--chunk: must be at least 1");
    if (o->node) {
        char nerr[256];
        if (!es_nodes_check(o->node, nerr, sizeof nerr))
            return usage_error("%s", nerr);
    }
    if (o->chunk_bytes < 1024)
        return usage_error("--chunk-bytes: must be at least 1024");
    if (o->in_flight == 0 || o->in_flight > 16)
        return usage_error("--in-flight: must be 1 to 16");
    if (!*o->index_prefix || strpbrk(o->index_prefix, "\\/*?\"<>| ,#:") ||
        o->index_prefix[0] == '_' || o->index_prefix[0] == '-')
        return usage_error("--index-prefix: '%s' is not a valid index name", o->index_prefix);
    for (const char *c = o->index_prefix; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            return usage_error("--index-prefix: '%s' must be lower case", o->index_prefix);
    if ((o->bpf || o->count) && !o->nic)
        return usage_error("--%s applies to live capture only (--nic)", o->bpf ? "bpf" : "count");
    return 0;
}

/* The protocols.list to use: the option, else beside the program, its conf/, then
 * the system folder. Writes the places looked at into 'looked' when none is found. */
static const char *find_protocols_list(char *path, size_t len, char *looked, size_t looked_len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *cands[3];
    char c0[PATH_MAX + 32], c1[PATH_MAX + 32];
    int nc = 0;
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(c0, sizeof c0, "%s/protocols.list", exe);
        snprintf(c1, sizeof c1, "%s/conf/protocols.list", exe);
        cands[nc++] = c0;
        cands[nc++] = c1;
    }
    cands[nc++] = ESPCAP_SYSCONFDIR "/protocols.list";
    looked[0] = '\0';
    for (int i = 0; i < nc; i++) {
        if (access(cands[i], F_OK) == 0) {
            snprintf(path, len, "%s", cands[i]);
            return path;
        }
        size_t l = strlen(looked);
        snprintf(looked + l, looked_len - l, "%s%s", l ? ", " : "", cands[i]);
    }
    return NULL;
}

/* Whether path can be appended to, without leaving an empty file behind. */
static bool writable_file(const char *path, char *err, size_t errlen)
{
    bool existed = access(path, F_OK) == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    fclose(f);
    if (!existed)
        unlink(path);
    return true;
}

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
    memset(&o, 0, sizeof o);
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage_text, stdout);
        return EXIT_ALL_OK;
    }
    if (o.version) {
        printf("espcap %s\nWireshark %s (libwireshark, dissecting in-process)\n", ESPCAP_VERSION,
               dis_wireshark_version());
        return EXIT_ALL_OK;
    }
    if (o.list_interfaces) {
        char lerr[512];
        int n = cap_live_list(stdout, lerr, sizeof lerr);
        if (n < 0) {
            log_error("%s", lerr);
            return EXIT_FATAL;
        }
        if (n == 0)
            log_error("no interface can be captured on (not root, or no CAP_NET_RAW?)");
        return n ? EXIT_ALL_OK : EXIT_FATAL;
    }

    char plist[PATH_MAX + 32], looked[3 * PATH_MAX];
    if (!o.protocols_list) {
        o.protocols_list = find_protocols_list(plist, sizeof plist, looked, sizeof looked);
        if (!o.protocols_list) {
            log_error("cannot find protocols.list (looked at %s); give one with --protocols-list",
                      looked);
            return EXIT_FATAL;
        }
    }

    double t0 = now_seconds();
    char err[1024];
    struct dis_config dcfg = { .argv0 = argv[0] };
    enum dis_init_result dr = dis_global_init(&dcfg, err, sizeof err);
    if (dr != DIS_INIT_OK) {
        log_error("%s", err);
        return dr == DIS_INIT_USAGE ? EXIT_USAGE : EXIT_FATAL;
    }
    struct doc_config dc = { .protocols_list = o.protocols_list, .max_bytes = o.max_bytes };
    struct doc *doc = doc_new(&dc, err, sizeof err);
    if (!doc) {
        log_error("%s", err);
        return EXIT_FATAL;
    }
    install_signals();
    struct sink *sink;
    if (o.node) {
        const char *env_user = getenv("ESPCAP_USER"), *env_key = getenv("ESPCAP_API_KEY");
        struct sink_es_config ec = {
            .es = {
                .nodes = o.node,
                .user = o.user ? o.user : env_user,
                .password = o.user ? NULL : getenv("ESPCAP_PASSWORD"),
                .api_key = o.api_key ? o.api_key : env_key,
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
        if (!writable_file(o.rejected, err, sizeof err)) {
            log_error("--rejected: %s", err);
            doc_free(doc);
            return EXIT_USAGE;
        }
        sink = sink_es_new(&ec, err, sizeof err);
        if (!sink) {
            log_error("%s", err);
            doc_free(doc);
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
        struct cap_live_config lc = { o.nic, o.bpf, o.count, !o.no_promisc, &stop_signal };
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
    return status;
}
