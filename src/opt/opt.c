/* opt: parsing, checking and documenting options from one table (see opt.h). */
#include "opt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/url.h"

#define HELP_WIDTH 79
#define HELP_COLUMN 27

static void fail(struct opt_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct opt_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
}

/* A value as it may be quoted in a one-line message: control characters shown as '?',
 * long values cut. */
static const char *shown(const struct opt_def *d, const char *v, char *out, size_t outlen)
{
    if (d && (d->flags & OPTF_SECRET))
        return "***";
    struct buf redacted = { 0 };
    if (d && (d->flags & OPTF_USERINFO)) {
        buf_init(&redacted, strlen(v) + 1);
        url_list_redact(&redacted, v);
        v = buf_cstr(&redacted);
    }
    size_t i = 0;
    for (; v[i] && i + 4 < outlen && i < 200; i++)
        out[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
    if (v[i] && i + 4 <= outlen) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    if (redacted.p)
        buf_fini(&redacted);
    return out;
}

void *opt_value_ptr(const struct opt_parser *p, const struct opt_def *d)
{
    return (char *)p->values + d->offset;
}

static size_t row(const struct opt_parser *p, const struct opt_def *d)
{
    return (size_t)(d - p->defs);
}

enum opt_source opt_source_of(const struct opt_parser *p, const struct opt_def *d)
{
    return p->source[row(p, d)];
}

/* ---- single values ---- */

bool opt_parse_uint(const char *s, uint64_t *out, char *why, size_t whylen)
{
    if (!*s) {
        snprintf(why, whylen, "is empty");
        return false;
    }
    uint64_t v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9') {
            snprintf(why, whylen, "is not a whole number");
            return false;
        }
        unsigned dgt = (unsigned)(*c - '0');
        if (v > (UINT64_MAX - dgt) / 10) {
            snprintf(why, whylen, "is too large (more than 64 bits)");
            return false;
        }
        v = v * 10 + dgt;
    }
    *out = v;
    return true;
}

bool opt_parse_size(const char *s, uint64_t *out, char *why, size_t whylen)
{
    size_t n = strlen(s), digits = strspn(s, "0123456789");
    if (!n || !digits) {
        snprintf(why, whylen, "is not a size in bytes (a whole number, with K, M, G or T)");
        return false;
    }
    const char *suf = s + digits;
    unsigned shift = 0;
    if (*suf) {
        const char *units = "KMGT", *u = strchr(units, toupper((unsigned char)*suf));
        const char *rest = suf + 1;
        if (!u || !(!*rest || strcasecmp(rest, "B") == 0 || strcasecmp(rest, "iB") == 0)) {
            snprintf(why, whylen, "is not a size in bytes (a whole number, with K, M, G or T)");
            return false;
        }
        shift = 10u * (unsigned)(u - units + 1);
    }
    char num[32];
    if (digits >= sizeof num) {
        snprintf(why, whylen, "is too large (more than 64 bits)");
        return false;
    }
    memcpy(num, s, digits);
    num[digits] = '\0';
    uint64_t v;
    if (!opt_parse_uint(num, &v, why, whylen))
        return false;
    if (shift && v > (UINT64_MAX >> shift)) {
        snprintf(why, whylen, "is too large (more than 64 bits)");
        return false;
    }
    *out = v << shift;
    return true;
}

bool opt_parse_seconds(const char *s, double *out, char *why, size_t whylen)
{
    char *end;
    errno = 0;
    if (!*s || !(isdigit((unsigned char)*s) || *s == '.')) {
        snprintf(why, whylen, "is not a number of seconds");
        return false;
    }
    double v = strtod(s, &end);
    if (*end == 's' && !end[1])
        end++;
    if (*end || errno || !isfinite(v) || v < 0) {
        snprintf(why, whylen, "is not a number of seconds");
        return false;
    }
    *out = v;
    return true;
}

bool opt_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" }, *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* ---- applying values ---- */

/* How a message names the option a value came from. */
static void name_for(struct opt_parser *p, const struct opt_def *d, enum opt_source src,
                     char *out, size_t outlen)
{
    switch (src) {
    case OPT_SRC_CONFIG:
        snprintf(out, outlen, "%s: %s", p->config_where ? p->config_where : "config file", d->name);
        break;
    case OPT_SRC_ENV:
        snprintf(out, outlen, "%s (--%s)", d->env, d->name);
        break;
    default:
        snprintf(out, outlen, "--%s", d->name);
        break;
    }
}

static void reset_value(struct opt_parser *p, const struct opt_def *d)
{
    void *v = opt_value_ptr(p, d);
    switch (d->type) {
    case OPT_FLAG: *(bool *)v = false; break;
    case OPT_STRING:
        free(*(char **)v);
        *(char **)v = NULL;
        break;
    case OPT_UINT:
    case OPT_SIZE: *(uint64_t *)v = 0; break;
    case OPT_SECONDS: *(double *)v = 0; break;
    case OPT_LIST: {
        struct opt_list *l = v;
        for (size_t i = 0; i < l->n; i++)
            free(l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
        break;
    }
    }
}

static void fmt_bound(struct buf *b, const struct opt_def *d, uint64_t x);

/* x is the value in the row's unit (an integer, or milliseconds for seconds). */
static bool check_bounds(struct opt_parser *p, const struct opt_def *d, const char *who,
                         const char *val, uint64_t x, bool below)
{
    char q[256];
    struct buf b;
    bool ok = true;
    buf_init(&b, 64);
    if (below || x < d->min) {
        fmt_bound(&b, d, d->min);
        fail(p, "%s: '%s' is less than the minimum, %s", who, shown(d, val, q, sizeof q),
             buf_cstr(&b));
        ok = false;
    } else if (d->max && x > d->max) {
        fmt_bound(&b, d, d->max);
        fail(p, "%s: '%s' is more than the maximum, %s%s%s%s", who, shown(d, val, q, sizeof q),
             buf_cstr(&b), d->max_why ? " (" : "", d->max_why ? d->max_why : "",
             d->max_why ? ")" : "");
        ok = false;
    }
    buf_fini(&b);
    return ok;
}

bool opt_set(struct opt_parser *p, const struct opt_def *d, const char *value,
             enum opt_source src, const char *spelled)
{
    char who[320], why[160], q[256];
    size_t r = row(p, d);
    void *v = opt_value_ptr(p, d);
    if (spelled && src == OPT_SRC_ARGV && spelled[0] == '-' && spelled[1] != '-')
        snprintf(who, sizeof who, "%s (--%s)", spelled, d->name); /* a short option */
    else
        name_for(p, d, src, who, sizeof who);

    if ((d->flags & OPTF_MODE) && src != OPT_SRC_DEFAULT) {
        /* One mode: a higher source replaces a lower one's; within one source it is an
         * error to give two. */
        for (size_t i = 0; i < p->n; i++) {
            const struct opt_def *o = &p->defs[i];
            if (!(o->flags & OPTF_MODE) || p->source[i] == OPT_SRC_DEFAULT)
                continue;
            if (p->source[i] == src && src != OPT_SRC_ENV) {
                const char *at = src == OPT_SRC_CONFIG && p->config_where ? p->config_where : "";
                if (o == d)
                    fail(p, "%s given twice", who);
                else
                    fail(p, "%s%s--%s and --%s cannot be used together: choose one mode", at,
                         *at ? ": " : "", o->name, d->name);
                return false;
            }
            if (p->source[i] < src) {
                reset_value(p, o);
                p->source[i] = OPT_SRC_DEFAULT;
            }
        }
    }

    switch (d->type) {
    case OPT_FLAG: {
        bool b = true;
        if (value && !opt_parse_bool(value, &b)) {
            fail(p, "%s: '%s' is not true or false (or yes/no, on/off, 1/0)", who,
                 shown(d, value, q, sizeof q));
            return false;
        }
        *(bool *)v = b;
        break;
    }
    case OPT_STRING:
    case OPT_LIST:
        if (!value || (!*value && !(d->flags & OPTF_EMPTY_OK))) {
            fail(p, "%s needs a value", who);
            return false;
        }
        if (d->check && !d->check(value, why, sizeof why)) {
            fail(p, "%s: '%s' %s", who, shown(d, value, q, sizeof q), why);
            return false;
        }
        if (d->type == OPT_STRING) {
            free(*(char **)v);
            *(char **)v = xstrdup(value);
        } else {
            struct opt_list *l = v;
            l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
            l->v[l->n++] = xstrdup(value);
        }
        break;
    case OPT_UINT:
    case OPT_SIZE: {
        uint64_t x;
        if (!value || !*value) {
            fail(p, "%s needs a value", who);
            return false;
        }
        bool ok = d->type == OPT_UINT ? opt_parse_uint(value, &x, why, sizeof why)
                                      : opt_parse_size(value, &x, why, sizeof why);
        if (!ok) {
            fail(p, "%s: '%s' %s", who, shown(d, value, q, sizeof q), why);
            return false;
        }
        if (!check_bounds(p, d, who, value, x, false))
            return false;
        *(uint64_t *)v = x;
        break;
    }
    case OPT_SECONDS: {
        double x;
        if (!value || !*value) {
            fail(p, "%s needs a value", who);
            return false;
        }
        if (!opt_parse_seconds(value, &x, why, sizeof why)) {
            fail(p, "%s: '%s' %s", who, shown(d, value, q, sizeof q), why);
            return false;
        }
        double ms = x * 1000.0;
        /* compared in milliseconds; anything past 2^63 ms is past every maximum */
        uint64_t ims = ms >= 9.2e18 ? UINT64_MAX : (uint64_t)ms;
        if (!check_bounds(p, d, who, value, ims, ms < (double)d->min))
            return false;
        *(double *)v = x;
        break;
    }
    }
    p->source[r] = src;
    return true;
}

void opt_init(struct opt_parser *p, const struct opt_def *defs, size_t n, void *values)
{
    memset(p, 0, sizeof *p);
    p->defs = defs;
    p->n = n;
    p->values = values;
    p->source = xcalloc(n, sizeof *p->source);
    for (size_t i = 0; i < n; i++) {
        if (!defs[i].def)
            continue;
        if (!opt_set(p, &defs[i], defs[i].def, OPT_SRC_DEFAULT, NULL)) {
            /* A default the table's own rules refuse is a bug in the table. */
            fprintf(stderr, "espcap: internal error: the default of --%s: %s\n", defs[i].name,
                    p->err);
            abort();
        }
    }
}

void opt_fini(struct opt_parser *p)
{
    if (!p->defs)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->defs[i].type == OPT_STRING || p->defs[i].type == OPT_LIST)
            reset_value(p, &p->defs[i]);
    for (size_t i = 0; i < p->argv_n; i++)
        free(p->argv_set[i].value);
    free(p->argv_set);
    free(p->source);
    free(p->config_where);
    memset(p, 0, sizeof *p);
}

const struct opt_def *opt_find(const struct opt_parser *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->defs[i].name, name) == 0 ||
            (p->defs[i].alias && strcmp(p->defs[i].alias, name) == 0))
            return &p->defs[i];
    return NULL;
}

/* ---- the command line ---- */

static bool starts(const char *s, const char *pre, size_t len)
{
    return s && strncmp(s, pre, len) == 0;
}

static bool is(const char *s, const char *name, size_t len)
{
    return s && strncmp(s, name, len) == 0 && s[len] == '\0';
}

/* Exact names (and aliases) first; else a prefix of exactly one visible option, or of
 * exactly one of the original espcap's options among several. */
static const struct opt_def *find_long(struct opt_parser *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct opt_def *d = &p->defs[i];
        if (!is(d->name, name, len) && !is(d->alias, name, len))
            continue;
        if (d->flags & OPTF_NO_ARGV) {
            /* a secret: point at its environment variable and a NAME-file option */
            char file_opt[96] = "";
            snprintf(file_opt, sizeof file_opt, "%s-file", d->name);
            const char *f = NULL;
            for (size_t k = 0; k < p->n && !f; k++)
                if (strcmp(p->defs[k].name, file_opt) == 0)
                    f = p->defs[k].name;
            fail(p, "--%.*s cannot be given on the command line, where others could read it: "
                    "use %s%s%s%s%s or a config file", (int)len, name, d->env ? "$" : "",
                 d->env ? d->env : "", d->env && f ? ", " : "", f ? "--" : "", f ? f : "");
            return NULL;
        }
        return d;
    }
    const struct opt_def *hit = NULL, *seed = NULL;
    size_t hits = 0, seeds = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct opt_def *d = &p->defs[i];
        if (d->flags & (OPTF_HIDDEN | OPTF_NO_ARGV))
            continue;
        if (!starts(d->name, name, len) && !starts(d->alias, name, len))
            continue;
        hit = d;
        hits++;
        if (d->flags & OPTF_SEED) {
            seed = d;
            seeds++;
        }
    }
    if (hits == 1)
        return hit;
    if (hits > 1 && seeds == 1)
        return seed;
    if (!hits) {
        fail(p, "unknown option --%.*s", (int)len, name);
        return NULL;
    }
    struct buf b;
    buf_init(&b, 128);
    for (size_t i = 0; i < p->n; i++) {
        const struct opt_def *d = &p->defs[i];
        if (!(d->flags & (OPTF_HIDDEN | OPTF_NO_ARGV)) &&
            (starts(d->name, name, len) || starts(d->alias, name, len)))
            buf_printf(&b, "%s--%s", b.len ? ", " : "", d->name);
    }
    fail(p, "ambiguous option --%.*s: it could be %s", (int)len, name, buf_cstr(&b));
    buf_fini(&b);
    return NULL;
}

static void add_setting(struct opt_parser *p, const struct opt_def *d, char *value,
                        const char *spelled, size_t spelled_len)
{
    p->argv_set = xrealloc(p->argv_set, (p->argv_n + 1) * sizeof *p->argv_set);
    struct opt_setting *s = &p->argv_set[p->argv_n++];
    s->def = d;
    s->value = value ? xstrdup(value) : NULL;
    snprintf(s->spelled, sizeof s->spelled, "%.*s", (int)spelled_len, spelled);
    /* curl's cleanarg(): once copied, a secret leaves argv, and so /proc/PID/cmdline. */
    if (value && (d->flags & OPTF_SECRET))
        memset(value, ' ', strlen(value));
    else if (value && (d->flags & OPTF_USERINFO))
        url_list_blank(value);
}

bool opt_scan_argv(struct opt_parser *p, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (a[0] != '-' || !a[1] || (a[1] == '-' && !a[2])) {
            char q[256];
            fail(p, "unexpected argument '%s'", shown(NULL, a, q, sizeof q));
            return false;
        }
        if (a[1] != '-') {
            /* -x, -xVALUE, -x VALUE, and flags clustered (-qv), as getopt does */
            for (char *c = a + 1; *c; c++) {
                const struct opt_def *d = NULL;
                for (size_t k = 0; k < p->n && !d; k++)
                    if (p->defs[k].short_name == *c)
                        d = &p->defs[k];
                if (!d) {
                    fail(p, "unknown option -%c", isprint((unsigned char)*c) ? *c : '?');
                    return false;
                }
                char sp[3] = { '-', *c, '\0' };
                if (d->type == OPT_FLAG) {
                    add_setting(p, d, NULL, sp, 2);
                    continue;
                }
                char *val = c[1] ? c + 1 : i + 1 < argc ? argv[++i] : NULL;
                if (!val) {
                    fail(p, "option -%c (--%s) needs a value", *c, d->name);
                    return false;
                }
                add_setting(p, d, val, sp, 2);
                break;
            }
            continue;
        }
        char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt_def *d = find_long(p, name, len);
        if (!d)
            return false;
        char *val = NULL;
        if (d->type == OPT_FLAG) {
            if (eq) {
                fail(p, "option --%s takes no value", d->name);
                return false;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fail(p, "option --%s needs a value", d->name);
            return false;
        }
        add_setting(p, d, val, a, len + 2);
    }
    return true;
}

const struct opt_setting *opt_argv_find(const struct opt_parser *p, const char *name)
{
    for (size_t i = p->argv_n; i-- > 0;)
        if (strcmp(p->argv_set[i].def->name, name) == 0)
            return &p->argv_set[i];
    return NULL;
}

bool opt_apply_argv(struct opt_parser *p)
{
    for (size_t i = 0; i < p->argv_n; i++) {
        const struct opt_setting *s = &p->argv_set[i];
        if (!opt_set(p, s->def, s->value, OPT_SRC_ARGV, s->spelled))
            return false;
    }
    return true;
}

bool opt_apply_env(struct opt_parser *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct opt_def *d = &p->defs[i];
        const char *v = d->env ? getenv(d->env) : NULL;
        if (v && *v && !opt_set(p, d, v, OPT_SRC_ENV, NULL))
            return false;
    }
    return true;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

bool opt_apply_file(struct opt_parser *p, const char *path)
{
    char q[256];
    FILE *f = fopen(path, "r");
    if (!f) {
        fail(p, "--config: '%s': %s", shown(NULL, path, q, sizeof q), strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    bool ok = true;
    struct buf where;
    buf_init(&where, 256);
    while (ok && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        buf_reset(&where);
        buf_printf(&where, "%s:%u", path, lineno);
        char *eq = strchr(s, '='), *val = NULL;
        if (eq) {
            *eq = '\0';
            val = trim(eq + 1);
            size_t n = strlen(val);
            if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
                val[n - 1] = '\0';
                val++;
            }
        }
        char *key = trim(s);
        const struct opt_def *d = NULL;
        for (size_t i = 0; i < p->n && !d; i++)
            if (strcmp(p->defs[i].name, key) == 0 ||
                (p->defs[i].alias && strcmp(p->defs[i].alias, key) == 0))
                d = &p->defs[i];
        if (!d) {
            fail(p, "%s: unknown option '%s' (a config file uses the long option names, "
                    "without --)", where.p, shown(NULL, key, q, sizeof q));
            ok = false;
        } else if (d->flags & OPTF_NO_CONFIG) {
            fail(p, "%s: %s cannot be set in a config file", where.p, d->name);
            ok = false;
        } else if (!val && d->type != OPT_FLAG) {
            fail(p, "%s: %s needs a value (%s = %s)", where.p, d->name, d->name,
                 d->arg ? d->arg : "VALUE");
            ok = false;
        } else {
            free(p->config_where);
            p->config_where = xstrdup(where.p);
            ok = opt_set(p, d, val, OPT_SRC_CONFIG, NULL);
        }
    }
    if (ok && ferror(f)) {
        fail(p, "--config: '%s': %s", shown(NULL, path, q, sizeof q), strerror(errno));
        ok = false;
    }
    free(line);
    fclose(f);
    buf_fini(&where);
    return ok;
}

/* ---- text ---- */

/* Sizes with the largest exact suffix, seconds with %g. */
static void fmt_bound(struct buf *b, const struct opt_def *d, uint64_t x)
{
    if (d->type == OPT_SECONDS) {
        buf_printf(b, "%g", (double)x / 1000.0);
        return;
    }
    if (d->type == OPT_SIZE && x) {
        static const char units[] = "KMGT";
        int u = -1;
        while (u < 3 && (x & 1023) == 0) {
            x >>= 10;
            u++;
        }
        buf_printf(b, "%llu", (unsigned long long)x);
        if (u >= 0)
            buf_addc(b, units[u]);
        return;
    }
    buf_printf(b, "%llu", (unsigned long long)x);
}

void opt_fmt_value(struct buf *b, const struct opt_def *d, const void *v)
{
    switch (d->type) {
    case OPT_FLAG: buf_adds(b, *(const bool *)v ? "true" : "false"); break;
    case OPT_STRING: buf_adds(b, *(char *const *)v ? *(char *const *)v : ""); break;
    case OPT_UINT: buf_printf(b, "%llu", (unsigned long long)*(const uint64_t *)v); break;
    case OPT_SIZE: fmt_bound(b, d, *(const uint64_t *)v); break;
    case OPT_SECONDS: buf_printf(b, "%g", *(const double *)v); break;
    case OPT_LIST: {
        const struct opt_list *l = v;
        for (size_t i = 0; i < l->n; i++)
            buf_printf(b, "%s%s", i ? ", " : "", l->v[i]);
        break;
    }
    }
}

void opt_fmt_current(struct buf *b, const struct opt_parser *p, const struct opt_def *d)
{
    const void *v = opt_value_ptr(p, d);
    bool set = d->type == OPT_STRING ? *(char *const *)v != NULL
               : d->type == OPT_LIST ? ((const struct opt_list *)v)->n > 0
                                     : true;
    if ((d->flags & OPTF_SECRET) && set)
        buf_adds(b, "***");
    else if ((d->flags & OPTF_USERINFO) && d->type == OPT_STRING && set)
        url_list_redact(b, *(char *const *)v);
    else
        opt_fmt_value(b, d, v);
}

void opt_fmt_usage(struct buf *b, const struct opt_def *d)
{
    if (d->flags & OPTF_NO_ARGV) {
        buf_printf(b, "$%s", d->env ? d->env : d->name);
        return;
    }
    if (d->short_name)
        buf_printf(b, "-%c, ", d->short_name);
    buf_printf(b, "--%s", d->name);
    if (d->type != OPT_FLAG)
        buf_printf(b, "=%s", d->arg ? d->arg : "VALUE");
}

static void mode_names(struct buf *b, unsigned modes)
{
    static const char *const names[] = { "--file", "--dir", "--nic" };
    int k = 0;
    for (int i = 0; i < 3; i++)
        if (modes & (1u << i))
            buf_printf(b, "%s%s", k++ ? ", " : "", names[i]);
}

/* The help text and what the table adds to it. */
static void describe(struct buf *b, const struct opt_def *d, unsigned section_modes)
{
    buf_adds(b, d->help);
    struct buf extra;
    buf_init(&extra, 128);
    if (d->modes && d->modes != section_modes) {
        buf_adds(&extra, "with ");
        mode_names(&extra, d->modes);
        buf_adds(&extra, " only");
    }
    if (d->def && d->type != OPT_FLAG)
        buf_printf(&extra, "%sdefault %s", extra.len ? "; " : "", d->def);
    bool numeric = d->type == OPT_UINT || d->type == OPT_SIZE || d->type == OPT_SECONDS;
    if (numeric && (d->min || d->max)) {
        buf_adds(&extra, extra.len ? "; " : "");
        if (d->max) {
            fmt_bound(&extra, d, d->min);
            buf_adds(&extra, " to ");
            fmt_bound(&extra, d, d->max);
        } else {
            buf_adds(&extra, "at least ");
            fmt_bound(&extra, d, d->min);
        }
    }
    if (d->type == OPT_LIST)
        buf_printf(&extra, "%srepeatable", extra.len ? "; " : "");
    if (d->alias)
        buf_printf(&extra, "%salso --%s", extra.len ? "; " : "", d->alias);
    if (d->env && !(d->flags & OPTF_NO_ARGV))
        buf_printf(&extra, "%senvironment %s", extra.len ? "; " : "", d->env);
    if (d->flags & OPTF_NO_ARGV)
        buf_printf(&extra, "%salso \"%s\" in a config file; never on the command line",
                   extra.len ? "; " : "", d->name);
    if (extra.len)
        buf_printf(b, " (%s)", buf_cstr(&extra));
    buf_fini(&extra);
}

static bool documented(const struct opt_def *d)
{
    return !(d->flags & OPTF_HIDDEN);
}

/* The modes every documented row of a section shares (the section's title names them, so
 * its rows need not), else 0. */
static unsigned section_modes(const struct opt_def *defs, size_t n, unsigned section)
{
    unsigned m = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (defs[i].section != section || !documented(&defs[i]))
            continue;
        if (first)
            m = defs[i].modes;
        else if (m != defs[i].modes)
            return 0;
        first = false;
    }
    return m;
}

void opt_help_section(FILE *out, const struct opt_def *defs, size_t n, unsigned section)
{
    struct buf u, t;
    buf_init(&u, 64);
    buf_init(&t, 256);
    unsigned smodes = section_modes(defs, n, section);
    for (size_t i = 0; i < n; i++) {
        const struct opt_def *d = &defs[i];
        if (d->section != section || !documented(d))
            continue;
        buf_reset(&u);
        buf_reset(&t);
        opt_fmt_usage(&u, d);
        describe(&t, d, smodes);
        buf_cstr(&t);
        int col = fprintf(out, "  %s", buf_cstr(&u));
        if (col >= HELP_COLUMN - 1) {
            fputc('\n', out);
            col = 0;
        }
        /* word-wrap the description in its column */
        const char *w = t.p;
        bool first = true;
        while (*w) {
            size_t room = HELP_WIDTH - HELP_COLUMN, len = strlen(w), cut = len;
            if (len > room) {
                cut = room;
                while (cut > 0 && w[cut] != ' ')
                    cut--;
                if (!cut)
                    cut = strcspn(w, " ");
            }
            fprintf(out, "%*s%.*s\n", first ? HELP_COLUMN - col : HELP_COLUMN, "", (int)cut, w);
            first = false;
            w += cut;
            while (*w == ' ')
                w++;
        }
    }
    buf_fini(&u);
    buf_fini(&t);
}

void opt_roff(FILE *out, const char *s)
{
    for (const char *c = s; *c; c++) {
        if ((c == s || c[-1] == '\n') && (*c == '.' || *c == '\''))
            fputs("\\&", out);
        if (*c == '\\')
            fputs("\\\\", out);
        else if (*c == '-')
            fputs("\\-", out);
        else
            fputc(*c, out);
    }
}

static bool md_code(const char *w, size_t n)
{
    if (n > 2 && w[0] == '-' && w[1] == '-')
        return true; /* an option */
    if (n > 1 && w[0] == '$')
        return true;
    bool upper = n > 3, under = false;
    for (size_t i = 0; i < n && upper; i++) {
        upper = (w[i] >= 'A' && w[i] <= 'Z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_';
        under |= w[i] == '_';
    }
    return upper && under; /* an environment variable */
}

/* Plain text as Markdown: options and environment variables as code, the rest escaped. */
void opt_markdown(FILE *out, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, " ");
        size_t lead = strspn(s, "(\"'"), core = n - lead;
        while (core && strchr(",;:).\"'", s[lead + core - 1]))
            core--;
        for (size_t i = 0; i < n; i++) {
            bool code = core && md_code(s + lead, core) && i >= lead && i < lead + core;
            if (code && i == lead)
                fputc('`', out);
            if (!code && strchr("|*_\\`[]", s[i]))
                fputc('\\', out);
            if (!code && s[i] == '<')
                fputs("&lt;", out);
            else
                fputc(s[i], out);
            if (code && i + 1 == lead + core)
                fputc('`', out);
        }
        s += n;
        while (*s == ' ')
            fputc(*s++, out);
    }
}

void opt_man_section(FILE *out, const struct opt_def *defs, size_t n, unsigned section)
{
    struct buf t;
    buf_init(&t, 256);
    for (size_t i = 0; i < n; i++) {
        const struct opt_def *d = &defs[i];
        if (d->section != section || !documented(d))
            continue;
        fputs(".TP\n", out);
        if (d->flags & OPTF_NO_ARGV) {
            fprintf(out, "\\fB$%s\\fR\n", d->env);
        } else {
            if (d->short_name)
                fprintf(out, "\\fB\\-%c\\fR, ", d->short_name);
            fputs("\\fB\\-\\-", out);
            opt_roff(out, d->name);
            fputs("\\fR", out);
            if (d->type != OPT_FLAG) {
                fputs("=\\fI", out);
                opt_roff(out, d->arg ? d->arg : "VALUE");
                fputs("\\fR", out);
            }
            fputc('\n', out);
        }
        buf_reset(&t);
        describe(&t, d, section_modes(defs, n, section));
        opt_roff(out, buf_cstr(&t));
        fputc('\n', out);
    }
    buf_fini(&t);
}

void opt_markdown_section(FILE *out, const struct opt_def *defs, size_t n, unsigned section)
{
    struct buf u, t;
    buf_init(&u, 64);
    buf_init(&t, 256);
    for (size_t i = 0; i < n; i++) {
        const struct opt_def *d = &defs[i];
        if (d->section != section || !documented(d))
            continue;
        buf_reset(&u);
        buf_reset(&t);
        if (d->flags & OPTF_NO_ARGV) {
            buf_printf(&u, "`$%s`", d->env);
        } else {
            if (d->short_name)
                buf_printf(&u, "`-%c`, ", d->short_name);
            buf_printf(&u, "`--%s", d->name);
            if (d->type != OPT_FLAG)
                buf_printf(&u, "=%s", d->arg ? d->arg : "VALUE");
            buf_addc(&u, '`');
        }
        describe(&t, d, section_modes(defs, n, section));
        fprintf(out, "| %s | ", buf_cstr(&u));
        opt_markdown(out, buf_cstr(&t));
        fputs(" |\n", out);
    }
    buf_fini(&u);
    buf_fini(&t);
}

void opt_config_sample(FILE *out, const struct opt_def *defs, size_t n)
{
    struct buf t;
    buf_init(&t, 256);
    for (size_t i = 0; i < n; i++) {
        const struct opt_def *d = &defs[i];
        if ((d->flags & (OPTF_NO_CONFIG | OPTF_HIDDEN)))
            continue;
        buf_reset(&t);
        describe(&t, d, 0);
        fprintf(out, "# %s\n#%s = %s\n\n", buf_cstr(&t), d->name,
                d->def ? d->def : d->type == OPT_FLAG ? "false" : d->arg ? d->arg : "");
    }
    buf_fini(&t);
}
