/* options: espcap's option table, and the rules that go beyond one option (modes,
 * credentials, defaults found at run time). --help, espcap(1) and README.md come from here. */
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sink/es_schema.h"
#include "../sink/http_client.h"
#include "../util/fsafe.h"
#include "../util/log.h"

#ifndef ESPCAP_VERSION
#define ESPCAP_VERSION "0.1.0"
#endif
#ifndef ESPCAP_SYSCONFDIR
#define ESPCAP_SYSCONFDIR "/etc/espcap"
#endif

#define SECRET_FILE_MAX 65536

enum section {
    SEC_MODES, SEC_DIR, SEC_LIVE, SEC_DISSECT, SEC_DOC, SEC_REPORT, SEC_INDEX, SEC_AUTH,
    SEC_GENERAL, N_SECTIONS,
};

static const char *const section_titles[N_SECTIONS] = {
    "Modes (exactly one)",
    "Directories (--dir)",
    "Live capture (--nic)",
    "Dissection (tshark's options; workers)",
    "Documents",
    "Progress, statistics, summary",
    "Indexing (with --node; docs/indexing.md)",
    "Credentials and TLS (with --node)",
    "Configuration and information",
};

/* ---- checks of single values ---- */

static bool check_node(const char *v, char *why, size_t whylen)
{
    char err[256];
    if (http_nodes_check(v, err, sizeof err))
        return true;
    const char *e = strncmp(err, "--node: ", 8) == 0 ? err + 8 : err;
    snprintf(why, whylen, "is not a node list: %s", e);
    return false;
}

static bool check_index_prefix(const char *v, char *why, size_t whylen)
{
    if (strpbrk(v, "\\/*?\"<>| ,#:") || v[0] == '_' || v[0] == '-' || v[0] == '+' ||
        strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
        snprintf(why, whylen, "is not a valid index name (no \\ / * ? \" < > | space , # :, "
                              "not starting with _ - +)");
        return false;
    }
    for (const char *c = v; *c; c++)
        if (*c >= 'A' && *c <= 'Z') {
            snprintf(why, whylen, "must be lower case");
            return false;
        }
    /* an index name has 255 bytes at most; with "-out-of-range" this leaves room */
    if (strlen(v) > 148) {
        snprintf(why, whylen, "is too long: 148 bytes at most, with -YYYY-MM-DD an index name "
                              "has 159");
        return false;
    }
    return true;
}

static bool check_interval(const char *v, char *why, size_t whylen)
{
    enum es_interval iv;
    if (!es_interval_parse(v, &iv)) {
        snprintf(why, whylen, "is not one of day, month, year, none");
        return false;
    }
    return true;
}

static bool check_dump(const char *v, char *why, size_t whylen)
{
    if (strcmp(v, "man") && strcmp(v, "markdown") && strcmp(v, "config") && strcmp(v, "values")) {
        snprintf(why, whylen, "is not one of man, markdown, config, values");
        return false;
    }
    return true;
}

/* ---- the table ---- */

#define O(field) offsetof(struct options, field)
#define MS(seconds) ((uint64_t)(seconds) * 1000u)
#define KIB 1024ull
#define GIB (1024ull * 1024 * 1024)

/* name, alias, short, type, offset, default, min, max, environment, flags, modes, section,
 * value name, help, why the maximum, check. Options of the original espcap are OPTF_SEED. */
const struct opt_def options_table[] = {
    { "file", NULL, 'r', OPT_STRING, O(file), NULL, 0, 0, NULL, OPTF_SEED | OPTF_MODE, 0,
      SEC_MODES, "PATH", "read one capture file: pcap, pcapng, gzip-compressed, any format "
      "Wireshark reads", NULL, NULL },
    { "dir", NULL, 0, OPT_STRING, O(dir), NULL, 0, 0, NULL, OPTF_SEED | OPTF_MODE, 0, SEC_MODES,
      "DIR", "read every regular file in DIR, in name order; what is a capture is told by "
      "content, not by extension", NULL, NULL },
    { "nic", NULL, 'i', OPT_STRING, O(nic), NULL, 0, 0, NULL, OPTF_SEED | OPTF_MODE, 0, SEC_MODES,
      "INTERFACE", "capture live on INTERFACE, promiscuous unless --no-promiscuous, until "
      "Ctrl-C or --count packets", NULL, NULL },
    { "list-interfaces", "list", 'D', OPT_FLAG, O(list_interfaces), NULL, 0, 0, NULL,
      OPTF_SEED | OPTF_MODE | OPTF_NO_CONFIG, 0, SEC_MODES, NULL,
      "list the interfaces that can be captured on, like tshark -D, and exit", NULL, NULL },

    { "recursive", NULL, 0, OPT_FLAG, O(recursive), NULL, 0, 0, NULL, 0, OPT_MODE_DIR, SEC_DIR,
      NULL, "read sub-directories too, depth-first in name order; symbolic links are followed, "
      "loops skipped", NULL, NULL },
    { "watch", NULL, 0, OPT_FLAG, O(watch), NULL, 0, 0, NULL, 0, OPT_MODE_DIR, SEC_DIR, NULL,
      "keep running: read every capture file that appears in DIR later, once its writer has "
      "closed it (tcpdump -G/-C rotation), remembering across restarts which files are done "
      "(--state-file); Ctrl-C or SIGTERM ends espcap with exit status 0", NULL, NULL },
    { "state-file", NULL, 0, OPT_STRING, O(state_file), "espcap-watch.state", 0, 0,
      "ESPCAP_STATE_FILE", 0, OPT_MODE_DIR, SEC_DIR, "PATH",
      "with --watch, or when given: the file that remembers which files of DIR are done, so "
      "that a restart reads only the others", NULL, NULL },
    { "watch-settle", NULL, 0, OPT_SECONDS, O(watch_settle), "60", MS(1), MS(86400), NULL, 0,
      OPT_MODE_DIR, SEC_DIR, "SECS",
      "with --watch: a file that espcap cannot prove closed (found at start-up, "
      "owned by another user) is read once it has not changed for SECS", NULL, NULL },
    { "ignore", NULL, 0, OPT_LIST, O(ignore), NULL, 0, 0, NULL, 0, OPT_MODE_DIR, SEC_DIR, "GLOB",
      "skip files and sub-directories whose name matches GLOB, e.g. '*.part' or '.*', the "
      "names some writers use until they rename a finished file", NULL, NULL },

    { "bpf", NULL, 'f', OPT_STRING, O(bpf), NULL, 0, 0, NULL, OPTF_SEED | OPTF_EMPTY_OK,
      OPT_MODE_NIC, SEC_LIVE, "FILTER", "kernel capture filter (libpcap syntax), e.g. \"tcp "
      "port 80\"", NULL, NULL },
    { "count", NULL, 'c', OPT_UINT, O(count), "0", 0, 0, NULL, OPTF_SEED, OPT_MODE_NIC, SEC_LIVE,
      "N", "stop after N packets; 0: until stopped", NULL, NULL },
    { "no-promiscuous", NULL, 0, OPT_FLAG, O(no_promiscuous), NULL, 0, 0, NULL, 0, OPT_MODE_NIC,
      SEC_LIVE, NULL, "do not put the interface in promiscuous mode", NULL, NULL },
    { "reset-every", NULL, 0, OPT_UINT, O(reset_every), "500000", 0, 0, NULL, 0, OPT_MODE_NIC,
      SEC_LIVE, "N", "start a new dissection session every N packets, so that memory stays "
      "bounded in long captures; 0: never", NULL, NULL },
    { "stats-interval", NULL, 0, OPT_SECONDS, O(stats_interval), "10", 0, MS(86400), NULL, 0,
      OPT_MODE_NIC, SEC_LIVE, "SECS", "every SECS seconds one line on stderr: packets, kernel "
      "and interface drops, documents/s, bulk queue, spool size, rejected so far; 0: never",
      NULL, NULL },

    { "option", NULL, 'o', OPT_LIST, O(prefs), NULL, 0, 0, NULL, 0, 0, SEC_DISSECT,
      "NAME:VALUE", "set a Wireshark preference, as tshark -o, e.g. -o "
      "tls.keylog_file:keys.txt (which decrypts TLS for which the file holds keys); "
      "repeatable", NULL, NULL },
    { "profile", NULL, 'C', OPT_STRING, O(profile), NULL, 0, 0, NULL, 0, 0, SEC_DISSECT,
      "PROFILE", "use a Wireshark configuration profile, as tshark -C (a global one is "
      "copied to the user's, as tshark does)", NULL, NULL },
    { "decode-as", NULL, 'd', OPT_LIST, O(decode_as), NULL, 0, 0, NULL, 0, 0, SEC_DISSECT,
      "LAYER==SELECTOR,PROTOCOL", "decode as, as tshark -d, e.g. -d tcp.port==8888,http "
      "(a selector may be a range: 8888-8890 or 8888:3); repeatable", NULL, NULL },
    { "enable-protocol", NULL, 0, OPT_LIST, O(enable_protocols), NULL, 0, 0, NULL, 0, 0,
      SEC_DISSECT, "PROTOCOL", "enable a protocol Wireshark has off by default; repeatable",
      NULL, NULL },
    { "disable-protocol", NULL, 0, OPT_LIST, O(disable_protocols), NULL, 0, 0, NULL, 0, 0,
      SEC_DISSECT, "PROTOCOL", "disable a protocol's dissector; repeatable", NULL, NULL },
    { "enable-heuristic", NULL, 0, OPT_LIST, O(enable_heuristics), NULL, 0, 0, NULL, 0, 0,
      SEC_DISSECT, "NAME", "enable a heuristic dissector (tshark -G heuristic-decodes lists "
      "them); repeatable", NULL, NULL },
    { "disable-heuristic", NULL, 0, OPT_LIST, O(disable_heuristics), NULL, 0, 0, NULL, 0, 0,
      SEC_DISSECT, "NAME", "disable a heuristic dissector; repeatable", NULL, NULL },
    { "display-filter", NULL, 'Y', OPT_STRING, O(display_filter), NULL, 0, 0, NULL, 0, 0,
      SEC_DISSECT, "FILTER", "only packets matching this Wireshark display filter become "
      "documents; every packet is still dissected, so reassembly and request/response "
      "matching work as in tshark -Y", NULL, NULL },
    { "workers", NULL, 0, OPT_UINT, O(workers), NULL, 1, 64, NULL, 0, 0, SEC_DISSECT, "N",
      "dissection worker processes (default: the number of online cores); packets go to "
      "them by their IP address pair, and documents come back in packet order",
      "each worker has 10 MiB of rings with the reader", NULL },
    { "run-as", NULL, 0, OPT_STRING, O(run_as), "nobody", 0, 0, NULL, 0, 0, SEC_DISSECT, "USER",
      "started as root, the dissection workers run as USER with no capability and "
      "no_new_privs, and a live capture drops to USER once the interface is open; root "
      "keeps root (with a warning)", NULL, NULL },

    { "max-bytes", NULL, 0, OPT_SIZE, O(max_bytes), "256", 0, GIB, NULL, 0, 0, SEC_DOC, "N",
      "cut byte and string values longer than N bytes, marking the cut with \"...\"; 0: "
      "never cut", "a document must fit in a bulk request", NULL },
    { "protocols-list", NULL, 0, OPT_STRING, O(protocols_list), NULL, 0, 0,
      "ESPCAP_PROTOCOLS_LIST", 0, 0, SEC_DOC, "PATH",
      "the protocols.list that decides a packet's \"protocol\"; by default the one beside "
      "the program, in its conf/, or in " ESPCAP_SYSCONFDIR "/", NULL, NULL },
    { "fields", NULL, 0, OPT_LIST, O(fields), NULL, 0, 0, NULL, 0, 0, SEC_DOC, "PATTERN,...",
      "keep only the fields whose Wireshark name matches one of these globs, e.g. "
      "'ip.*,tcp.*,dns.*,http.*'; the top-level fields stay; repeatable", NULL, NULL },
    { "exclude-fields", NULL, 0, OPT_LIST, O(exclude_fields), NULL, 0, 0, NULL, 0, 0, SEC_DOC,
      "PATTERN,...", "leave out the fields whose Wireshark name matches one of these globs, "
      "e.g. 'ip.host,ip.addr,*.src_host,*.dst_host' (the duplicates most documents carry); "
      "repeatable", NULL, NULL },

    { "progress", NULL, 0, OPT_FLAG, O(progress), NULL, 0, 0, NULL, 0,
      OPT_MODE_FILE | OPT_MODE_DIR, SEC_REPORT, NULL,
      "the progress line (files, bytes, packets, documents/s, ETA), shown by itself when "
      "stderr is a terminal and stdout is not, also when stderr is not a terminal: then one "
      "line every 5 s", NULL, NULL },
    { "quiet", NULL, 'q', OPT_FLAG, O(quiet), NULL, 0, 0, NULL, 0, 0, SEC_REPORT, NULL,
      "no progress line, statistics lines, warnings or notes: only errors and the summary",
      NULL, NULL },
    { "summary-json", NULL, 0, OPT_STRING, O(summary_json), NULL, 0, 0, NULL, 0, 0, SEC_REPORT,
      "FILE", "also write the end-of-run summary to FILE, as one JSON object with the "
      "counters of the summary line and the exit status", NULL, NULL },

    { "node", NULL, 0, OPT_STRING, O(node), NULL, 0, 0, "ESPCAP_NODE",
      OPTF_SEED | OPTF_USERINFO, 0, SEC_INDEX,
      "NODES", "index into Elasticsearch/OpenSearch: HOST:PORT (http), a URL "
      "(https://host:9200), or a comma-separated list of either; a URL's user:password@ is "
      "that node's basic auth, hidden as --user's is", NULL, check_node },
    { "index-prefix", NULL, 0, OPT_STRING, O(index_prefix), "packets", 0, 0,
      "ESPCAP_INDEX_PREFIX", OPTF_NODE, 0, SEC_INDEX, "NAME", "indices NAME-YYYY-MM-DD (or as "
      "--index-interval says), and NAME-out-of-range", NULL, check_index_prefix },
    { "index-interval", NULL, 0, OPT_STRING, O(index_interval), "day", 0, 0,
      "ESPCAP_INDEX_INTERVAL", OPTF_NODE, 0, SEC_INDEX, "day|month|year|none",
      "one index per UTC day of the packet (NAME-YYYY-MM-DD), month (NAME-YYYY-MM), year "
      "(NAME-YYYY), or one index for all (NAME)", NULL, check_interval },
    { "min-year", NULL, 0, OPT_UINT, O(min_year), "1990", 0, 9999, NULL, OPTF_NODE, 0,
      SEC_INDEX, "YEAR", "packets dated before January 1st of YEAR (UTC) go to one index, "
      "NAME-out-of-range, counted in the summary (out_of_range=), instead of an index per "
      "day of the odd dates a broken clock or a fuzzed capture gives; 0: no lower limit",
      "the last four-digit year", NULL },
    { "max-future", NULL, 0, OPT_SECONDS, O(max_future), "86400", 0, MS(604800), NULL,
      OPTF_NODE, 0, SEC_INDEX, "SECS", "packets dated more than SECS seconds after this "
      "machine's clock go to NAME-out-of-range too; 0: no upper limit",
      "a week: a clock further ahead is broken; 0 turns the check off", NULL },
    { "shards", NULL, 0, OPT_UINT, O(shards), NULL, 1, 1024, NULL, OPTF_NODE, 0, SEC_INDEX, "N",
      "primary shards of each new index, set in espcap's index template (default: the "
      "engine's, 1 since OpenSearch 1 and Elasticsearch 7)", "the engines' own limit", NULL },
    { "replicas", NULL, 0, OPT_UINT, O(replicas), NULL, 0, 64, NULL, OPTF_NODE, 0, SEC_INDEX,
      "N", "replicas of each shard of a new index, set in espcap's index template (default: "
      "the engine's, usually 1; a cluster of one node stays yellow with any replica)",
      "a replica needs a node of its own", NULL },
    { "chunk", NULL, 0, OPT_UINT, O(chunk), "1000", 1, 1000000, NULL, OPTF_SEED | OPTF_NODE, 0,
      SEC_INDEX, "N", "documents per bulk request", "the answer to a request lists every "
      "document", NULL },
    { "chunk-bytes", NULL, 0, OPT_SIZE, O(chunk_bytes), "8M", KIB, GIB, NULL, OPTF_NODE, 0,
      SEC_INDEX, "BYTES", "bytes per bulk request, at most; the node's http.max_content_length "
      "(100M by default) must be larger", "offsets in a request are 32-bit", NULL },
    { "in-flight", NULL, 0, OPT_UINT, O(in_flight), "2", 1, 16, NULL, OPTF_NODE, 0, SEC_INDEX,
      "N", "bulk requests under way at once", "the sink's fixed request slots", NULL },
    { "flush-interval", NULL, 0, OPT_SECONDS, O(flush_interval), "1", 0, MS(3600), NULL,
      OPTF_NODE, 0, SEC_INDEX, "SECS", "longest a document waits for its request to fill",
      NULL, NULL },
    { "compress", NULL, 0, OPT_FLAG, O(compress), NULL, 0, 0, NULL, OPTF_NODE, 0, SEC_INDEX,
      NULL, "gzip request bodies", NULL, NULL },
    { "rejected", NULL, 0, OPT_STRING, O(rejected), "espcap-rejected.ndjson", 0, 0,
      "ESPCAP_REJECTED", OPTF_NODE, 0, SEC_INDEX, "FILE",
      "where documents the node rejects for good go, as NDJSON", NULL, NULL },
    { "node-wait", NULL, 0, OPT_SECONDS, O(node_wait), "60", 0, MS(86400), NULL, OPTF_NODE, 0,
      SEC_INDEX, "SECS", "how long to keep trying to reach a node at start-up", NULL, NULL },
    { "spool-dir", NULL, 0, OPT_STRING, O(spool_dir), "espcap-spool", 0, 0, "ESPCAP_SPOOL_DIR",
      OPTF_NODE, OPT_MODE_NIC, SEC_INDEX, "DIR", "where documents wait while the node is "
      "unreachable or slower than the traffic; see docs/live.md", NULL, NULL },
    { "spool-size", NULL, 0, OPT_SIZE, O(spool_size), "1G", 0, 0, NULL, OPTF_NODE, OPT_MODE_NIC,
      SEC_INDEX, "BYTES", "the most the spool holds; past it documents are dropped, counted "
      "and reported", NULL, NULL },

    { "user", NULL, 0, OPT_STRING, O(user), NULL, 0, 0, "ESPCAP_USER", OPTF_SECRET | OPTF_NODE,
      0, SEC_AUTH, "USER[:PASSWORD]", "basic auth; the password is better given by "
      "$ESPCAP_PASSWORD or --password-file", NULL, NULL },
    { "password", NULL, 0, OPT_STRING, O(password), NULL, 0, 0, "ESPCAP_PASSWORD",
      OPTF_SECRET | OPTF_NO_ARGV | OPTF_NODE, 0, SEC_AUTH, "PASSWORD", "the password for "
      "--user", NULL, NULL },
    { "password-file", NULL, 0, OPT_STRING, O(password_file), NULL, 0, 0,
      "ESPCAP_PASSWORD_FILE", OPTF_NODE, 0, SEC_AUTH, "FILE", "read the password for --user "
      "from FILE, without its trailing newline; a FILE without '/' is first looked for in "
      "$CREDENTIALS_DIRECTORY, where systemd puts credentials", NULL, NULL },
    { "api-key", NULL, 0, OPT_STRING, O(api_key), NULL, 0, 0, "ESPCAP_API_KEY",
      OPTF_SECRET | OPTF_NODE, 0, SEC_AUTH, "KEY", "API key auth, sent as Authorization: ApiKey KEY",
      NULL, NULL },
    { "api-key-file", NULL, 0, OPT_STRING, O(api_key_file), NULL, 0, 0, "ESPCAP_API_KEY_FILE",
      OPTF_NODE, 0, SEC_AUTH, "FILE", "read the API key from FILE, as --password-file does",
      NULL, NULL },
    { "cacert", NULL, 0, OPT_STRING, O(cacert), NULL, 0, 0, "ESPCAP_CACERT", OPTF_NODE, 0,
      SEC_AUTH, "FILE", "CA certificates to verify the node's TLS certificate", NULL, NULL },
    { "insecure", NULL, 0, OPT_FLAG, O(insecure), NULL, 0, 0, NULL, OPTF_NODE, 0, SEC_AUTH, NULL,
      "do not verify TLS certificates; espcap warns", NULL, NULL },

    { "config", NULL, 0, OPT_STRING, O(config), NULL, 0, 0, "ESPCAP_CONFIG", OPTF_NO_CONFIG, 0,
      SEC_GENERAL, "FILE", "read options from FILE: KEY = value lines with the long option "
      "names, '#' comment lines; the environment and the command line override it", NULL,
      NULL },
    { "help", NULL, 'h', OPT_FLAG, O(help), NULL, 0, 0, NULL,
      OPTF_SEED | OPTF_ACTION | OPTF_NO_CONFIG, 0, SEC_GENERAL, NULL,
      "this help, and exit", NULL, NULL },
    { "version", NULL, 'v', OPT_FLAG, O(version), NULL, 0, 0, NULL, OPTF_ACTION | OPTF_NO_CONFIG,
      0, SEC_GENERAL, NULL, "espcap's version and those of the libraries it uses, and exit",
      NULL, NULL },
    { "dump-options", NULL, 0, OPT_STRING, O(dump_options), NULL, 0, 0, NULL,
      OPTF_ACTION | OPTF_NO_CONFIG, 0, SEC_GENERAL, "FORMAT", "print the options as a man page "
      "(man), a Markdown table (markdown), a config file (config), or the values in effect "
      "with where each came from (values; secrets hidden), and exit", NULL, check_dump },
};
const size_t options_count = sizeof options_table / sizeof options_table[0];

/* ---- texts around the table ---- */

static const char usage_head[] =
    "Usage:\n"
    "  espcap --file=CAPTURE [--node=HOST:PORT] [options]\n"
    "  espcap --dir=DIRECTORY [--node=HOST:PORT] [--recursive] [--watch] [options]\n"
    "  espcap --nic=INTERFACE [--node=HOST:PORT] [--bpf=FILTER] [--count=N] [options]\n"
    "  espcap --list-interfaces\n"
    "  espcap --help | --version\n"
    "\n"
    "Reads packets from a capture file (pcap, pcapng, gzip-compressed, and every format\n"
    "Wireshark reads), from every capture file in a directory, or live from a network\n"
    "interface; dissects each with Wireshark's dissectors and writes one JSON document per\n"
    "packet: to standard output as NDJSON, or into Elasticsearch/OpenSearch with --node.\n";

static const char usage_tail[] =
    "Options may be written --opt=value or --opt value, and abbreviated to any unambiguous\n"
    "prefix (--d=/captures); short ones -x value or -xvalue. A config file (--config), the\n"
    "environment and the command line set them, each overriding the one before.\n"
    "\n"
    "Example command line option combinations:\n"
    "  espcap --d=/home/pcap_directory --node=localhost:9200\n"
    "  espcap --file=./pcap_file --node=localhost:9200\n"
    "  espcap --nic=eth0 --node=localhost:9200 --bpf=\"tcp port 80\"\n"
    "  espcap --nic=en0 --node=localhost:9200 --bpf=\"udp port 53\" --count=100\n"
    "  espcap --file=./pcap_file | jq .\n"
    "  espcap --dir=/captures --recursive --watch --node=localhost:9200\n"
    "\n"
    "Exit status: 0 all packets delivered (a live capture or --watch ended by Ctrl-C\n"
    "included); 1 some input could not be read wholly, or documents were rejected or dropped\n"
    "(the rest was delivered, stderr says what); 2 bad command line, config file or\n"
    "environment, invalid capture filter, unknown interface; 3 could not start or deliver;\n"
    "130/143 a file or directory run stopped by SIGINT/SIGTERM after delivering what was\n"
    "read.\n";

void options_help(FILE *out)
{
    fputs(usage_head, out);
    for (unsigned s = 0; s < N_SECTIONS; s++) {
        fprintf(out, "\n%s:\n", section_titles[s]);
        opt_help_section(out, options_table, options_count, s);
    }
    fputc('\n', out);
    fputs(usage_tail, out);
}

static void man_page(FILE *out)
{
    fputs(".\\\" Generated by espcap --dump-options=man (src/opt/options.c); do not edit.\n"
          ".TH ESPCAP 1 \"\" \"espcap " ESPCAP_VERSION "\" \"User Commands\"\n"
          ".SH NAME\n"
          "espcap \\- index packets: dissect captures with Wireshark into JSON documents, "
          "for Elasticsearch or OpenSearch\n"
          ".SH SYNOPSIS\n"
          ".B espcap\n\\fB\\-\\-file\\fR=\\fICAPTURE\\fR [\\fB\\-\\-node\\fR=\\fINODES\\fR] "
          "[\\fIoptions\\fR]\n.br\n"
          ".B espcap\n\\fB\\-\\-dir\\fR=\\fIDIR\\fR [\\fB\\-\\-recursive\\fR] "
          "[\\fB\\-\\-watch\\fR] [\\fB\\-\\-node\\fR=\\fINODES\\fR] [\\fIoptions\\fR]\n.br\n"
          ".B espcap\n\\fB\\-\\-nic\\fR=\\fIINTERFACE\\fR [\\fB\\-\\-bpf\\fR=\\fIFILTER\\fR] "
          "[\\fB\\-\\-count\\fR=\\fIN\\fR] [\\fB\\-\\-node\\fR=\\fINODES\\fR] "
          "[\\fIoptions\\fR]\n.br\n"
          ".B espcap \\-\\-list\\-interfaces\n"
          ".SH DESCRIPTION\n"
          "espcap reads packets from a capture file (pcap, pcapng, gzip\\-compressed, and every "
          "format Wireshark reads), from every capture file in a directory (and, with "
          "\\fB\\-\\-watch\\fR, every one that appears later), or live from a network "
          "interface; dissects each packet with Wireshark's dissectors, linked in\\-process; "
          "and turns it into one JSON document. Without \\fB\\-\\-node\\fR the documents go to "
          "standard output as NDJSON; with it they are bulk\\-indexed into Elasticsearch or "
          "OpenSearch, one index per UTC day. Messages, warnings, progress and the summary go "
          "to standard error.\n"
          ".SH OPTIONS\n"
          "Options are written \\fB\\-\\-opt\\fR=\\fIvalue\\fR or \\fB\\-\\-opt\\fR "
          "\\fIvalue\\fR and may be abbreviated to any unambiguous prefix; where a prefix is "
          "ambiguous but names exactly one option of the original espcap (file, dir, nic, "
          "node, bpf, count, chunk, list\\-interfaces, help), that one is meant, so "
          "\\fB\\-\\-d\\fR=\\fI/captures\\fR is \\fB\\-\\-dir\\fR. Short options are written "
          "\\fB\\-x\\fR \\fIvalue\\fR or \\fB\\-x\\fR\\fIvalue\\fR. Sizes take a K, M, G or "
          "T suffix (powers of 1024); seconds may have decimals. Every bad value stops espcap "
          "with one line naming the option, the value and why, and exit status 2.\n",
          out);
    for (unsigned s = 0; s < N_SECTIONS; s++) {
        fputs(".SS \"", out);
        opt_roff(out, section_titles[s]);
        fputs("\"\n", out);
        opt_man_section(out, options_table, options_count, s);
    }
    fputs(".SH CONFIGURATION FILE\n"
          "\\fB\\-\\-config\\fR=\\fIFILE\\fR (or \\fB$ESPCAP_CONFIG\\fR) reads options from "
          "\\fIFILE\\fR, one per line: \\fIname\\fR = \\fIvalue\\fR with the long option name "
          "(no prefixes, no dashes), or a flag's name alone for true; blank lines and lines "
          "starting with # are ignored; a value may be put in double quotes. An option that "
          "takes several values (\\fB\\-\\-ignore\\fR) is repeated on several lines. "
          "\\fBespcap \\-\\-dump\\-options=config\\fR prints a file with every option.\n"
          ".PP\n"
          "Precedence: a default is overridden by the config file, which is overridden by "
          "the environment, which is overridden by the command line. Repeatable options "
          "collect their values from all three, in that order. A mode given on the command "
          "line replaces a mode from the config file or environment. Options that do not "
          "apply to the mode are an error on the command line and ignored in a config file. "
          "\\fBespcap \\-\\-dump\\-options=values\\fR shows the result and where each value "
          "came from.\n"
          ".SH ENVIRONMENT\n"
          "Empty variables are ignored.\n",
          out);
    for (size_t i = 0; i < options_count; i++) {
        const struct opt_def *d = &options_table[i];
        if (!d->env)
            continue;
        fprintf(out, ".TP\n.B %s\n", d->env);
        if (d->flags & OPTF_NO_ARGV) {
            opt_roff(out, d->help);
            fputs(" (never on the command line)\n", out);
        } else {
            fputs("as \\fB\\-\\-", out);
            opt_roff(out, d->name);
            fputs("\\fR\n", out);
        }
    }
    fputs(".TP\n.B CREDENTIALS_DIRECTORY\n"
          "where \\fB\\-\\-password\\-file\\fR and \\fB\\-\\-api\\-key\\-file\\fR look first "
          "for a file named without a slash (set by systemd's LoadCredential=)\n"
          ".SH EXIT STATUS\n"
          ".TP\n.B 0\nevery packet delivered (a live capture or \\fB\\-\\-watch\\fR ended by "
          "Ctrl\\-C or SIGTERM included)\n"
          ".TP\n.B 1\nsome input could not be read wholly, or the node rejected documents for "
          "good (kept in the dead\\-letter file), or a full spool dropped documents: the rest "
          "was delivered, and standard error says what\n"
          ".TP\n.B 2\nbad command line, config file or environment; invalid capture filter; "
          "unknown interface\n"
          ".TP\n.B 3\ncould not start or could not deliver (no protocols.list, node "
          "unreachable at start\\-up, its TLS certificate not verified, credentials refused, "
          "interface down, no permission to "
          "capture, ...)\n"
          ".TP\n.B 130, 143\na file or directory run stopped by SIGINT or SIGTERM after "
          "delivering what had been read\n"
          ".SH FILES\n"
          ".TP\n.I " ESPCAP_SYSCONFDIR "/protocols.list\n"
          "the protocols that may be a packet's \"protocol\"\n"
          ".TP\n.I espcap\\-watch.state\n"
          "the files of a \\fB\\-\\-watch\\fR directory that are done "
          "(\\fB\\-\\-state\\-file\\fR)\n"
          ".TP\n.I espcap\\-rejected.ndjson\n"
          "documents the node rejected (\\fB\\-\\-rejected\\fR)\n"
          ".TP\n.I espcap\\-spool/\n"
          "the live spool (\\fB\\-\\-spool\\-dir\\fR)\n"
          ".SH EXAMPLES\n"
          ".nf\n"
          "espcap \\-\\-file=capture.pcapng > packets.ndjson\n"
          "espcap \\-\\-d=/captures \\-\\-node=localhost:9200\n"
          "espcap \\-\\-nic=eth0 \\-\\-node=localhost:9200 \\-\\-bpf=\"tcp port 80\"\n"
          "espcap \\-\\-nic=en0 \\-\\-node=localhost:9200 \\-\\-bpf=\"udp port 53\" "
          "\\-\\-count=100\n"
          "espcap \\-\\-dir=/captures \\-\\-recursive \\-\\-watch \\-\\-node=https://es:9200 "
          "\\-\\-password\\-file=es\\-password \\-\\-user=espcap\n"
          ".fi\n"
          ".SH SEE ALSO\n"
          "\\fBtshark\\fR(1), \\fBtcpdump\\fR(8), \\fBpcap\\-filter\\fR(7); README.md and "
          "docs/ in the source tree\n",
          out);
}

static void markdown_table(FILE *out)
{
    fputs("<!-- generated by espcap --dump-options=markdown (make docs); do not edit -->\n"
          "| option | meaning |\n| --- | --- |\n",
          out);
    for (unsigned s = 0; s < N_SECTIONS; s++) {
        fputs("| **", out);
        opt_markdown(out, section_titles[s]);
        fputs("** | |\n", out);
        opt_markdown_section(out, options_table, options_count, s);
    }
}

static void values(const struct options *o, FILE *out)
{
    static const char *const from[] = { "default", "config file", "environment", "command line" };
    struct buf b;
    buf_init(&b, 256);
    for (size_t i = 0; i < options_count; i++) {
        const struct opt_def *d = &options_table[i];
        if (d->flags & (OPTF_ACTION | OPTF_HIDDEN))
            continue;
        buf_reset(&b);
        opt_fmt_current(&b, &o->parser, d);
        fprintf(out, "%s = %s  # %s\n", d->name, buf_cstr(&b),
                from[opt_source_of(&o->parser, d)]);
    }
    buf_fini(&b);
}

void options_dump(const struct options *o, FILE *out)
{
    const char *f = o->dump_options;
    if (strcmp(f, "man") == 0)
        man_page(out);
    else if (strcmp(f, "markdown") == 0)
        markdown_table(out);
    else if (strcmp(f, "config") == 0) {
        fputs("# espcap config file (--config=FILE): KEY = value, the long option names; '#'\n"
              "# starts a comment line. The environment and the command line override it.\n\n",
              out);
        opt_config_sample(out, options_table, options_count);
    } else
        values(o, out);
}

/* ---- loading ---- */

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "espcap: %s (see espcap --help)\n", msg);
    return EXIT_USAGE;
}

static const struct opt_def *row(const char *name)
{
    for (size_t i = 0; i < options_count; i++)
        if (strcmp(options_table[i].name, name) == 0)
            return &options_table[i];
    abort(); /* a name not in the table is a bug */
}

static enum opt_source src_of(const struct options *o, const char *name)
{
    return opt_source_of(&o->parser, row(name));
}

/* The protocols.list to use: beside the program, its conf/, then the system folder. */
static bool find_protocols_list(char *path, size_t len, char *looked, size_t looked_len)
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
            return true;
        }
        size_t l = strlen(looked);
        snprintf(looked + l, looked_len - l, "%s%s", l ? ", " : "", cands[i]);
    }
    return false;
}

/* Whether path can be appended to, without leaving an empty file behind. */
static bool writable_file(const char *path, char *err, size_t errlen)
{
    bool existed = access(path, F_OK) == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        return false;
    }
    fclose(f);
    if (!existed)
        unlink(path);
    return true;
}

/* Reads a secret from a file (a systemd credential when named without '/' and
 * $CREDENTIALS_DIRECTORY holds it): one line, its newline dropped. */
static int read_secret(const char *opt, const char *name, char **out)
{
    const char *cred = getenv("CREDENTIALS_DIRECTORY");
    const char *where = "";
    struct buf path;
    buf_init(&path, 256);
    if (cred && *cred && !strchr(name, '/')) {
        buf_printf(&path, "%s/%s", cred, name);
        if (access(buf_cstr(&path), F_OK) == 0)
            where = " (in $CREDENTIALS_DIRECTORY)";
        else
            buf_reset(&path);
    }
    if (!path.len)
        buf_adds(&path, name);
    FILE *f = fopen(buf_cstr(&path), "r");
    buf_fini(&path);
    if (!f)
        return usage("--%s: '%s'%s: %s", opt, name, where, strerror(errno));
    char *s = xmalloc(SECRET_FILE_MAX + 1);
    size_t n = fread(s, 1, SECRET_FILE_MAX + 1, f);
    bool err = ferror(f);
    fclose(f);
    if (err || n > SECRET_FILE_MAX) {
        free(s);
        return usage("--%s: '%s'%s: %s", opt, name, where,
                     err ? strerror(errno) : "more than 64 KiB: not a password or key file");
    }
    if (n && s[n - 1] == '\n')
        n--;
    if (n && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    if (!n || memchr(s, '\0', n) || memchr(s, '\n', n)) {
        free(s);
        return usage("--%s: '%s'%s: %s", opt, name, where,
                     n ? "holds more than one line" : "is empty");
    }
    *out = s;
    return 0;
}

/* One secret from up to three places; the one of highest precedence wins, two of the same
 * precedence are an error. cand[i] NULL: not given. */
static int pick_secret(const char *what, const char *const names[3], const char *const cand[3],
                       const enum opt_source src[3], int *chosen)
{
    *chosen = -1;
    for (int i = 0; i < 3; i++) {
        if (!cand[i])
            continue;
        if (*chosen >= 0 && src[i] == src[*chosen])
            return usage("the %s is given twice, by %s and by %s: give it once", what,
                         names[*chosen], names[i]);
        if (*chosen < 0 || src[i] > src[*chosen])
            *chosen = i;
    }
    return 0;
}

static int resolve_credentials(struct options *o)
{
    int rc, k;
    /* basic auth: --user=USER[:PASSWORD], password, --password-file */
    if (o->user) {
        const char *colon = strchr(o->user, ':');
        size_t ulen = colon ? (size_t)(colon - o->user) : strlen(o->user);
        if (!ulen)
            return usage("--user: the user name is empty");
        o->auth_user = xmalloc(ulen + 1);
        memcpy(o->auth_user, o->user, ulen);
        o->auth_user[ulen] = '\0';
        const char *names[3] = { "--user=USER:PASSWORD", "the password option "
                                 "($ESPCAP_PASSWORD)", "--password-file" };
        const char *cand[3] = { colon ? colon + 1 : NULL, o->password, o->password_file };
        enum opt_source src[3] = { src_of(o, "user"), src_of(o, "password"),
                                   src_of(o, "password-file") };
        if ((rc = pick_secret("password", names, cand, src, &k)))
            return rc;
        if (k == 2) {
            if ((rc = read_secret("password-file", o->password_file, &o->auth_password)))
                return rc;
        } else if (k >= 0) {
            o->auth_password = xstrdup(cand[k]);
        }
    } else if (src_of(o, "password-file") == OPT_SRC_ARGV) {
        return usage("--password-file: a password needs a user: give --user too");
    }
    /* API key: --api-key, --api-key-file */
    const char *knames[3] = { "--api-key", "--api-key-file", NULL };
    const char *kcand[3] = { o->api_key, o->api_key_file, NULL };
    enum opt_source ksrc[3] = { src_of(o, "api-key"), src_of(o, "api-key-file"), 0 };
    if ((rc = pick_secret("API key", knames, kcand, ksrc, &k)))
        return rc;
    if (k == 1) {
        if ((rc = read_secret("api-key-file", o->api_key_file, &o->auth_api_key)))
            return rc;
    } else if (k == 0) {
        o->auth_api_key = xstrdup(o->api_key);
    }
    return 0;
}

static const char *mode_option(enum run_mode m)
{
    switch (m) {
    case MODE_FILE: return "--file";
    case MODE_DIR: return "--dir";
    case MODE_NIC: return "--nic";
    case MODE_LIST: return "--list-interfaces";
    default: return "";
    }
}

int options_load(struct options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    struct opt_parser *p = &o->parser;
    opt_init(p, options_table, options_count, o);
    if (!opt_scan_argv(p, argc, argv))
        return usage("%s", p->err);

    /* Actions that need nothing else are not spoilt by a broken config file. */
    bool quick = false;
    for (size_t i = 0; i < p->argv_n; i++)
        if ((p->argv_set[i].def->flags & OPTF_ACTION) &&
            !(p->argv_set[i].value && strcmp(p->argv_set[i].value, "values") == 0))
            quick = true;
    if (!quick) {
        const struct opt_setting *c = opt_argv_find(p, "config");
        const char *path = c ? c->value : getenv("ESPCAP_CONFIG");
        if (path && *path && !opt_apply_file(p, path))
            return usage("%s", p->err);
        if (!opt_apply_env(p))
            return usage("%s", p->err);
    }
    if (!opt_apply_argv(p))
        return usage("%s", p->err);
    if (o->help || o->version || o->dump_options)
        return 0;

    o->mode = o->file ? MODE_FILE : o->dir ? MODE_DIR : o->nic ? MODE_NIC
            : o->list_interfaces ? MODE_LIST : MODE_NONE;
    if (o->mode == MODE_NONE)
        return usage("no mode given: use --file, --dir or --nic");
    unsigned bit = o->mode == MODE_FILE ? OPT_MODE_FILE : o->mode == MODE_DIR ? OPT_MODE_DIR
                 : o->mode == MODE_NIC ? OPT_MODE_NIC : 0;
    for (size_t i = 0; i < p->argv_n; i++) {
        const struct opt_def *d = p->argv_set[i].def;
        if (d->modes && !(d->modes & bit)) {
            struct buf b;
            buf_init(&b, 64);
            for (int m = 0; m < 3; m++)
                if (d->modes & (1u << m))
                    buf_printf(&b, "%s%s", b.len ? " or " : "",
                               mode_option((enum run_mode)(MODE_FILE + m)));
            int rc = usage("--%s applies to %s only, not to %s", d->name, buf_cstr(&b),
                           mode_option(o->mode));
            buf_fini(&b);
            return rc;
        }
    }
    log_set_quiet(o->quiet);
    if (o->mode == MODE_LIST)
        return 0;

    if (o->mode == MODE_DIR)
        o->keep_state = o->watch || src_of(o, "state-file") != OPT_SRC_DEFAULT;
    char err[512];
    if (o->node) {
        /* Dead letters hold packet payloads: util/fsafe.h's rules (the spool folder's are
         * checked when the sink opens it). */
        if (!fsafe_check_append(o->rejected, err, sizeof err))
            return usage("--rejected: '%s': %s", o->rejected, err);
        if (o->cacert && access(o->cacert, R_OK) != 0)
            return usage("--cacert: '%s': %s", o->cacert, strerror(errno));
        int rc = resolve_credentials(o);
        if (rc)
            return rc;
        o->replicas_given = src_of(o, "replicas") != OPT_SRC_DEFAULT;
    } else {
        for (size_t i = 0; i < p->argv_n; i++)
            if (p->argv_set[i].def->flags & OPTF_NODE)
                log_warn("--%s has no effect without --node", p->argv_set[i].def->name);
    }
    if (o->summary_json && !writable_file(o->summary_json, err, sizeof err))
        return usage("--summary-json: '%s': %s", o->summary_json, err);

    char looked[3 * PATH_MAX];
    if (o->protocols_list) {
        snprintf(o->protocols_path, sizeof o->protocols_path, "%s", o->protocols_list);
    } else if (!find_protocols_list(o->protocols_path, sizeof o->protocols_path, looked,
                                    sizeof looked)) {
        log_error("cannot find protocols.list (looked at %s); give one with --protocols-list",
                  looked);
        return EXIT_FATAL;
    }
    return 0;
}

void options_free(struct options *o)
{
    free(o->auth_user);
    free(o->auth_password);
    free(o->auth_api_key);
    opt_fini(&o->parser);
}
