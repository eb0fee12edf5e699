/* opt: a table of options, the one truth for parsing (command line, environment, config
 * file), defaults, bounds, checks, and the text of --help, the man page and the README. */
#ifndef ESPCAP_OPT_H
#define ESPCAP_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../util/buf.h"

/* The type of a value, and what the row's offset points at in the caller's struct. */
enum opt_type {
    OPT_FLAG,    /* bool. No value on the command line; true/false/yes/no/on/off/1/0 elsewhere */
    OPT_STRING,  /* char *, owned by the parser (freed by opt_fini) */
    OPT_UINT,    /* uint64_t, decimal */
    OPT_SIZE,    /* uint64_t bytes; a K, M, G or T suffix multiplies by 1024^1..4 */
    OPT_SECONDS, /* double; decimals allowed; the row's bounds are in milliseconds */
    OPT_LIST,    /* struct opt_list: every occurrence (line, argument) adds one item */
};

/* The items of an OPT_LIST option, in the order given (lower precedence first). Owned by
 * the parser. */
struct opt_list {
    char **v;
    size_t n;
};

/* Where a value came from, in rising precedence. */
enum opt_source { OPT_SRC_DEFAULT, OPT_SRC_CONFIG, OPT_SRC_ENV, OPT_SRC_ARGV };

/* Row flags. */
#define OPTF_SECRET 0x01u    /* blanked out of argv once read (/proc/PID/cmdline), never shown */
#define OPTF_HIDDEN 0x02u    /* not documented; only its exact name is accepted */
#define OPTF_NO_ARGV 0x04u   /* environment and config file only (a password) */
#define OPTF_NO_CONFIG 0x08u /* not in a config file (--config itself, actions) */
#define OPTF_SEED 0x10u      /* the original espcap's: wins a prefix that is otherwise ambiguous */
#define OPTF_EMPTY_OK 0x20u  /* an empty string is a value, not a missing one */
#define OPTF_MODE 0x40u      /* one of the exclusive modes: a higher source replaces the others */
#define OPTF_NODE 0x80u      /* only has an effect with --node (documentation and a warning) */
#define OPTF_ACTION 0x100u   /* does something and exits (--help): no mode needed */
#define OPTF_USERINFO 0x200u /* URLs whose user:password@ is a secret: blanked out of argv
                              * once read, left out of messages and of the values shown */

/* Modes an option applies to; 0 = any. Given on the command line with another mode, it is
 * a usage error; from a config file or the environment it is ignored. */
#define OPT_MODE_FILE 0x1u
#define OPT_MODE_DIR 0x2u
#define OPT_MODE_NIC 0x4u

/* One option. Adding an option is adding one row (and its field in the values struct). */
struct opt_def {
    const char *name;      /* long name: --name */
    const char *alias;     /* a second long name, or NULL */
    char short_name;       /* -x, or 0 */
    enum opt_type type;
    size_t offset;         /* of the value in the caller's struct (offsetof) */
    const char *def;       /* default, written as a user would write it; NULL: none */
    uint64_t min, max;     /* bounds of OPT_UINT, OPT_SIZE, OPT_SECONDS (ms); max 0: none */
    const char *env;       /* environment variable, or NULL */
    unsigned flags;        /* OPTF_* */
    unsigned modes;        /* OPT_MODE_*, 0 = any */
    unsigned section;      /* where --help and the man page list it */
    const char *arg;       /* the value's name in usage text ("N", "PATH"); NULL for flags */
    const char *help;      /* one sentence or a few; no default or bounds: they are added */
    const char *max_why;   /* why the maximum is what it is, or NULL */
    /* A further check of a value (non-NULL for strings and list items): false with the
     * reason in why. */
    bool (*check)(const char *value, char *why, size_t whylen);
};

/* One option as read from the command line, before it is applied. */
struct opt_setting {
    const struct opt_def *def;
    char *value;           /* NULL for flags; owned (a copy) */
    char spelled[64];      /* as the user wrote the name: "--max", "-r", for messages */
};

struct opt_parser {
    const struct opt_def *defs;
    size_t n;
    void *values;                 /* the struct the rows' offsets point into (borrowed) */
    enum opt_source *source;      /* per row */
    char *config_where;           /* "FILE:LINE" of the config line being applied */
    struct opt_setting *argv_set; /* the command line, in order */
    size_t argv_n;
    char err[640];                /* the last failure: one line, no "espcap: " */
};

/* Sets every row's default. Values must be zeroed by the caller. */
void opt_init(struct opt_parser *p, const struct opt_def *defs, size_t n, void *values);
/* Frees the strings and lists the parser put into values. */
void opt_fini(struct opt_parser *p);

/* Reads argv (argv[0] is the program) into p->argv_set, checking names and the presence of
 * values; the values of secret options are copied and blanked out of argv. Nothing is
 * applied yet. false with the reason in p->err. */
bool opt_scan_argv(struct opt_parser *p, int argc, char **argv);

/* The value given on the command line for a row (the last one), or NULL. */
const struct opt_setting *opt_argv_find(const struct opt_parser *p, const char *name);

/* Applies a config file (KEY = value lines, '#' comments). false with p->err. */
bool opt_apply_file(struct opt_parser *p, const char *path);
/* Applies the rows' environment variables (empty ones are ignored). */
bool opt_apply_env(struct opt_parser *p);
/* Applies what opt_scan_argv read. */
bool opt_apply_argv(struct opt_parser *p);

/* Applies one value to a row, as if it came from source (for tests and callers that
 * compute a value). spelled is the option as written on the command line, or NULL;
 * messages name the long option ("--file"), a short one as "-r (--file)". */
bool opt_set(struct opt_parser *p, const struct opt_def *d, const char *value,
             enum opt_source src, const char *spelled);

const struct opt_def *opt_find(const struct opt_parser *p, const char *name);
enum opt_source opt_source_of(const struct opt_parser *p, const struct opt_def *d);
void *opt_value_ptr(const struct opt_parser *p, const struct opt_def *d);

/* Parsing of single values, exposed for tests: false with the reason in why. */
bool opt_parse_uint(const char *s, uint64_t *out, char *why, size_t whylen);
bool opt_parse_size(const char *s, uint64_t *out, char *why, size_t whylen);
bool opt_parse_seconds(const char *s, double *out, char *why, size_t whylen);
bool opt_parse_bool(const char *s, bool *out);

/* ---- text from the table ---- */

/* "-r, --file=PATH", "--insecure", "$ESPCAP_PASSWORD" (for rows without a command line). */
void opt_fmt_usage(struct buf *b, const struct opt_def *d);
/* A value of the row's type as a user would write it (sizes with suffixes when exact). */
void opt_fmt_value(struct buf *b, const struct opt_def *d, const void *value);
/* The current value of a row ("***" for secrets that are set, "" when unset). */
void opt_fmt_current(struct buf *b, const struct opt_parser *p, const struct opt_def *d);

/* The rows of one section as --help shows them: name column, wrapped description. */
void opt_help_section(FILE *out, const struct opt_def *defs, size_t n, unsigned section);
/* The rows of one section as man page .TP paragraphs (roff escaped). */
void opt_man_section(FILE *out, const struct opt_def *defs, size_t n, unsigned section);
/* The rows of one section as Markdown table rows "| option | default | meaning |". */
void opt_markdown_section(FILE *out, const struct opt_def *defs, size_t n, unsigned section);
/* A config file with every option that may be in one, commented out, with its default. */
void opt_config_sample(FILE *out, const struct opt_def *defs, size_t n);

/* roff and Markdown escaping of plain text. */
void opt_roff(FILE *out, const char *text);
void opt_markdown(FILE *out, const char *text);

#endif
