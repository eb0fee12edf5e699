/* options: espcap's options (the one table, in options.c), read from the command line, the
 * environment and a config file, checked, and resolved into what the program runs with. */
#ifndef ESPCAP_OPTIONS_H
#define ESPCAP_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "opt.h"

enum run_mode { MODE_NONE, MODE_FILE, MODE_DIR, MODE_NIC, MODE_LIST };

/* Exit statuses (README.md, espcap(1)). */
enum {
    EXIT_ALL_OK = 0,
    EXIT_PARTIAL = 1, /* some input could not be read wholly, or documents were rejected or
                       * dropped: the rest was delivered */
    EXIT_USAGE = 2,   /* bad command line, config file or environment; bad filter/interface */
    EXIT_FATAL = 3,   /* could not start, or could not deliver */
};

struct options {
    /* The values of the table's rows. Strings and lists are owned by the parser. */
    char *file, *dir, *nic;
    bool list_interfaces;
    bool recursive, watch;
    char *state_file;
    double watch_settle;
    struct opt_list ignore;
    char *bpf;
    uint64_t count;
    bool no_promiscuous;
    uint64_t reset_every;
    double stats_interval;
    uint64_t max_bytes;
    char *protocols_list;
    struct opt_list fields, exclude_fields;
    /* tshark's options that change dissection (docs/schema.md) */
    struct opt_list prefs, decode_as;
    char *profile, *display_filter;
    struct opt_list enable_protocols, disable_protocols, enable_heuristics, disable_heuristics;
    /* the dissection workers */
    uint64_t workers;
    char *run_as;
    bool progress, quiet;
    char *summary_json;
    char *node, *index_prefix, *index_interval;
    uint64_t min_year;
    double max_future;
    uint64_t shards, replicas;
    uint64_t chunk, chunk_bytes, in_flight;
    double flush_interval;
    bool compress;
    char *rejected;
    double node_wait;
    char *spool_dir;
    uint64_t spool_size;
    char *user, *password, *password_file, *api_key, *api_key_file, *cacert;
    bool insecure;
    char *config;
    bool help, version;
    char *dump_options;

    /* Resolved by options_load. */
    enum run_mode mode;
    bool keep_state;            /* --dir: read and write the state file (--watch, or
                                 * --state-file given) */
    char *auth_user;            /* credentials for the node, or NULL (owned) */
    char *auth_password;
    char *auth_api_key;
    bool replicas_given;        /* --replicas given (0 is a value; else the engine's) */
    char protocols_path[PATH_MAX + 32]; /* the protocols.list to use */

    struct opt_parser parser;
};

extern const struct opt_def options_table[];
extern const size_t options_count;

/* Reads argv, then the config file, the environment, and argv again over them (default <
 * config file < environment < command line); checks everything. Returns 0, or an exit
 * status after printing one "espcap: ..." line (2: a bad value or combination; 3: no
 * protocols.list). o is zeroed here; free with options_free. Secret values are blanked out
 * of argv. */
int options_load(struct options *o, int argc, char **argv);
void options_free(struct options *o);

void options_help(FILE *out);
/* --dump-options=man|markdown|config|values */
void options_dump(const struct options *o, FILE *out);

#endif
