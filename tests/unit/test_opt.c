/* test_opt: the option table, row by row (default, bounds, bad values, environment, config
 * file, precedence, short forms), and the rules of options_load (modes, credentials). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/opt/options.h"
#include "testhelp.h"

static char tmpdir[] = "/tmp/test_opt.XXXXXX";

/* stderr off while a check expects an error message. */
static int saved_err = -1;
static void mute(bool on)
{
    if (on) {
        fflush(stderr);
        saved_err = dup(2);
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        close(fd);
    } else if (saved_err >= 0) {
        fflush(stderr);
        dup2(saved_err, 2);
        close(saved_err);
        saved_err = -1;
    }
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][256];
    static int k;
    char *p = path[k++ & 3];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static void unset_all_env(void)
{
    for (size_t i = 0; i < options_count; i++)
        if (options_table[i].env)
            unsetenv(options_table[i].env);
    unsetenv("CREDENTIALS_DIRECTORY");
}

struct fresh {
    struct options o;
    struct opt_parser *p;
};

static void fresh(struct fresh *f)
{
    memset(&f->o, 0, sizeof f->o);
    opt_init(&f->o.parser, options_table, options_count, &f->o);
    f->p = &f->o.parser;
}

static void done(struct fresh *f) { opt_fini(f->p); }

/* A good value for a row, and one that sorts differently, as written. */
static const char *good(const struct opt_def *d, int which)
{
    static char buf[2][64];
    char *b = buf[which & 1];
    switch (d->type) {
    case OPT_FLAG: return "true";
    case OPT_UINT:
    case OPT_SIZE:
        snprintf(b, 64, "%llu", (unsigned long long)(d->min + (uint64_t)which + 1));
        return b;
    case OPT_SECONDS:
        snprintf(b, 64, "%g", (double)(d->min + 1000u * (uint64_t)(which + 1)) / 1000.0);
        return b;
    default:
        if (d->check) {
            char why[160];
            static const char *const cands[] = { "abc", "abd", "man", "markdown", "day",
                                                 "month" };
            for (size_t i = 0; i < 6; i++)
                if (d->check(cands[i], why, sizeof why) && which-- <= 0)
                    return cands[i];
        }
        snprintf(b, 64, "value-%d", which);
        return b;
    }
}

static bool value_is(const struct fresh *f, const struct opt_def *d, const char *text)
{
    struct buf b;
    buf_init(&b, 64);
    opt_fmt_value(&b, d, opt_value_ptr(f->p, d));
    bool same;
    if (d->type == OPT_SECONDS || d->type == OPT_UINT || d->type == OPT_SIZE) {
        struct fresh g;
        fresh(&g);
        /* compare through the parser: "8M" and "8388608" are the same size */
        same = opt_set(g.p, d, text, OPT_SRC_ARGV, NULL) &&
               memcmp(opt_value_ptr(g.p, d), opt_value_ptr(f->p, d),
                      d->type == OPT_SECONDS ? sizeof(double) : sizeof(uint64_t)) == 0;
        done(&g);
    } else if (d->type == OPT_LIST) {
        const struct opt_list *l = opt_value_ptr(f->p, d);
        same = l->n && strcmp(l->v[l->n - 1], text) == 0;
    } else {
        same = strcmp(buf_cstr(&b), text) == 0;
    }
    buf_fini(&b);
    return same;
}

static void check_row(const struct opt_def *d)
{
    struct fresh f;
    char why_name[96];
    snprintf(why_name, sizeof why_name, "--%s", d->name);

    /* the default */
    fresh(&f);
    CHECK(opt_source_of(f.p, d) == OPT_SRC_DEFAULT);
    if (d->def)
        CHECK(value_is(&f, d, d->def));
    done(&f);

    /* bounds, and a value that is not one */
    if (d->type == OPT_UINT || d->type == OPT_SIZE || d->type == OPT_SECONDS) {
        char v[64];
        bool secs = d->type == OPT_SECONDS;
        fresh(&f);
        CHECK(!opt_set(f.p, d, "abc", OPT_SRC_ARGV, why_name));
        CHECK(strstr(f.p->err, why_name) && strstr(f.p->err, "'abc'"));
        CHECK(!opt_set(f.p, d, "-1", OPT_SRC_ARGV, why_name));
        CHECK(!opt_set(f.p, d, "", OPT_SRC_ARGV, why_name));
        if (secs)
            snprintf(v, sizeof v, "%.3f", d->min / 1000.0);
        else
            snprintf(v, sizeof v, "%llu", (unsigned long long)d->min);
        CHECK(opt_set(f.p, d, v, OPT_SRC_ARGV, why_name));
        if (d->min) {
            if (secs)
                snprintf(v, sizeof v, "%.3f", (d->min - 1) / 1000.0);
            else
                snprintf(v, sizeof v, "%llu", (unsigned long long)d->min - 1);
            CHECK(!opt_set(f.p, d, v, OPT_SRC_ARGV, why_name));
            CHECK(strstr(f.p->err, "less than the minimum") != NULL);
        }
        if (d->max) {
            if (secs)
                snprintf(v, sizeof v, "%.3f", d->max / 1000.0);
            else
                snprintf(v, sizeof v, "%llu", (unsigned long long)d->max);
            CHECK(opt_set(f.p, d, v, OPT_SRC_ARGV, why_name));
            if (secs)
                snprintf(v, sizeof v, "%.3f", (d->max + 1) / 1000.0);
            else
                snprintf(v, sizeof v, "%llu", (unsigned long long)d->max + 1);
            CHECK(!opt_set(f.p, d, v, OPT_SRC_ARGV, why_name));
            CHECK(strstr(f.p->err, "more than the maximum") && strstr(f.p->err, why_name));
        } else if (!secs) {
            CHECK(!opt_set(f.p, d, "99999999999999999999999", OPT_SRC_ARGV, why_name));
        }
        done(&f);
    } else if (d->type == OPT_FLAG) {
        fresh(&f);
        CHECK(!opt_set(f.p, d, "maybe", OPT_SRC_CONFIG, NULL));
        CHECK(opt_set(f.p, d, "no", OPT_SRC_CONFIG, NULL) && !*(bool *)opt_value_ptr(f.p, d));
        CHECK(opt_set(f.p, d, "YES", OPT_SRC_ARGV, NULL) && *(bool *)opt_value_ptr(f.p, d));
        done(&f);
        if (!(d->flags & OPTF_NO_ARGV)) {
            char arg[96];
            snprintf(arg, sizeof arg, "--%s=1", d->name);
            char *argv[] = { "espcap", arg, NULL };
            fresh(&f);
            CHECK(!opt_scan_argv(f.p, 2, argv) && strstr(f.p->err, "takes no value"));
            done(&f);
        }
    } else {
        fresh(&f);
        CHECK(opt_set(f.p, d, "", OPT_SRC_ARGV, NULL) == !!(d->flags & OPTF_EMPTY_OK));
        done(&f);
    }

    /* the command line, long and short */
    if (!(d->flags & OPTF_NO_ARGV)) {
        const char *v = good(d, 0);
        char eq[128], name[96], shortv[128];
        snprintf(eq, sizeof eq, "--%s=%s", d->name, v);
        snprintf(name, sizeof name, "--%s", d->name);
        char *argv1[] = { "espcap", d->type == OPT_FLAG ? name : eq, NULL };
        fresh(&f);
        CHECK(opt_scan_argv(f.p, 2, argv1) && opt_apply_argv(f.p));
        CHECK(opt_source_of(f.p, d) == OPT_SRC_ARGV && value_is(&f, d, v));
        done(&f);
        if (d->type != OPT_FLAG) {
            char val[64];
            snprintf(val, sizeof val, "%s", v);
            char *argv2[] = { "espcap", name, val, NULL };
            fresh(&f);
            CHECK(opt_scan_argv(f.p, 3, argv2) && opt_apply_argv(f.p) && value_is(&f, d, v));
            done(&f);
        }
        if (d->short_name) {
            snprintf(shortv, sizeof shortv, "-%c%s", d->short_name, d->type == OPT_FLAG ? "" : v);
            char *argv3[] = { "espcap", shortv, NULL };
            fresh(&f);
            CHECK(opt_scan_argv(f.p, 2, argv3) && opt_apply_argv(f.p) && value_is(&f, d, v));
            done(&f);
            if (d->type != OPT_FLAG) {
                char sh[3] = { '-', d->short_name, 0 }, val[64];
                snprintf(val, sizeof val, "%s", v);
                char *argv4[] = { "espcap", sh, val, NULL };
                fresh(&f);
                CHECK(opt_scan_argv(f.p, 3, argv4) && opt_apply_argv(f.p) && value_is(&f, d, v));
                done(&f);
            }
        }
    }

    /* the config file */
    char line[256];
    snprintf(line, sizeof line, "# a comment\n\n  %s = %s  \n", d->name, good(d, 1));
    const char *cfg = write_file("row.conf", line);
    fresh(&f);
    if (d->flags & OPTF_NO_CONFIG) {
        CHECK(!opt_apply_file(f.p, cfg) && strstr(f.p->err, "row.conf:3"));
    } else {
        CHECK(opt_apply_file(f.p, cfg));
        CHECK(opt_source_of(f.p, d) == OPT_SRC_CONFIG && value_is(&f, d, good(d, 1)));
    }
    done(&f);

    /* the environment, and precedence: default < config file < environment < argv */
    if (d->env) {
        setenv(d->env, good(d, 0), 1);
        fresh(&f);
        CHECK(opt_apply_env(f.p) && opt_source_of(f.p, d) == OPT_SRC_ENV &&
              value_is(&f, d, good(d, 0)));
        done(&f);
        fresh(&f);
        if (!(d->flags & OPTF_NO_CONFIG))
            CHECK(opt_apply_file(f.p, cfg));
        CHECK(opt_apply_env(f.p));
        CHECK(opt_source_of(f.p, d) == OPT_SRC_ENV && value_is(&f, d, good(d, 0)));
        done(&f);
        setenv(d->env, "", 1); /* empty: ignored */
        fresh(&f);
        CHECK(opt_apply_env(f.p) && opt_source_of(f.p, d) == OPT_SRC_DEFAULT);
        done(&f);
        unsetenv(d->env);
    }
    if (!(d->flags & (OPTF_NO_ARGV | OPTF_NO_CONFIG)) && d->type != OPT_FLAG) {
        char eq[128];
        snprintf(eq, sizeof eq, "--%s=%s", d->name, good(d, 0));
        char *argv[] = { "espcap", eq, NULL };
        if (d->env)
            setenv(d->env, good(d, 1), 1);
        fresh(&f);
        CHECK(opt_scan_argv(f.p, 2, argv) && opt_apply_file(f.p, cfg) && opt_apply_env(f.p) &&
              opt_apply_argv(f.p));
        CHECK(opt_source_of(f.p, d) == OPT_SRC_ARGV && value_is(&f, d, good(d, 0)));
        done(&f);
        if (d->env)
            unsetenv(d->env);
    }
}

static void check_table(void)
{
    for (size_t i = 0; i < options_count; i++) {
        const struct opt_def *d = &options_table[i];
        CHECK(d->name && d->help && *d->help);
        CHECK(d->type == OPT_FLAG || d->arg);
        for (size_t k = 0; k < i; k++) {
            CHECK(strcmp(options_table[k].name, d->name) != 0);
            CHECK(!d->short_name || options_table[k].short_name != d->short_name);
            CHECK(!d->env || !options_table[k].env || strcmp(options_table[k].env, d->env) != 0);
        }
        check_row(d);
    }
}

static void check_values(void)
{
    uint64_t v;
    double s;
    char why[160];
    CHECK(opt_parse_size("1K", &v, why, sizeof why) && v == 1024);
    CHECK(opt_parse_size("1kib", &v, why, sizeof why) && v == 1024);
    CHECK(opt_parse_size("8MB", &v, why, sizeof why) && v == 8u << 20);
    CHECK(opt_parse_size("1G", &v, why, sizeof why) && v == 1u << 30);
    CHECK(opt_parse_size("2T", &v, why, sizeof why) && v == 2ull << 40);
    CHECK(opt_parse_size("17", &v, why, sizeof why) && v == 17);
    CHECK(!opt_parse_size("1X", &v, why, sizeof why));
    CHECK(!opt_parse_size("M", &v, why, sizeof why));
    CHECK(!opt_parse_size("1 M", &v, why, sizeof why));
    CHECK(!opt_parse_size("16777216T", &v, why, sizeof why)); /* 2^64 */
    CHECK(opt_parse_size("16777215T", &v, why, sizeof why));
    CHECK(opt_parse_uint("18446744073709551615", &v, why, sizeof why) && v == UINT64_MAX);
    CHECK(!opt_parse_uint("18446744073709551616", &v, why, sizeof why));
    CHECK(!opt_parse_uint("+1", &v, why, sizeof why));
    CHECK(!opt_parse_uint("0x10", &v, why, sizeof why));
    CHECK(opt_parse_seconds("0.5", &s, why, sizeof why) && s == 0.5);
    CHECK(opt_parse_seconds("2s", &s, why, sizeof why) && s == 2);
    CHECK(opt_parse_seconds(".25", &s, why, sizeof why) && s == 0.25);
    CHECK(!opt_parse_seconds("-1", &s, why, sizeof why));
    CHECK(!opt_parse_seconds("nan", &s, why, sizeof why));
    CHECK(!opt_parse_seconds("inf", &s, why, sizeof why));
    CHECK(!opt_parse_seconds("1e999", &s, why, sizeof why));
    CHECK(!opt_parse_seconds("1m", &s, why, sizeof why));
}

static bool scan(struct fresh *f, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return opt_scan_argv(f->p, argc, argv) && opt_apply_argv(f->p);
}

static void check_names(void)
{
    struct fresh f;
    /* the seed's prefixes: --d is --dir although --dump-options starts with d too */
    char a1[] = "--d=/captures";
    fresh(&f);
    CHECK(scan(&f, (char *[]){ "espcap", a1, NULL }) && f.o.dir && !strcmp(f.o.dir, "/captures"));
    done(&f);
    char a2[] = "--co=3"; /* count, compress, config: count is the seed's */
    fresh(&f);
    CHECK(scan(&f, (char *[]){ "espcap", a2, NULL }) && f.o.count == 3);
    done(&f);
    char a3[] = "--no=abc"; /* node, node-wait, no-promiscuous: node is the seed's */
    fresh(&f);
    CHECK(scan(&f, (char *[]){ "espcap", a3, NULL }) && f.o.node && !strcmp(f.o.node, "abc"));
    done(&f);
    char a4[] = "--n=x"; /* nic and node are both the seed's */
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a4, NULL }) && strstr(f.p->err, "ambiguous"));
    done(&f);
    char a5[] = "--a=x";
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a5, NULL }) && strstr(f.p->err, "--api-key"));
    done(&f);
    char a6[] = "--list"; /* the alias, exactly */
    fresh(&f);
    CHECK(scan(&f, (char *[]){ "espcap", a6, NULL }) && f.o.list_interfaces);
    done(&f);
    char a7[] = "-qv"; /* clustered flags */
    fresh(&f);
    CHECK(scan(&f, (char *[]){ "espcap", a7, NULL }) && f.o.quiet && f.o.version);
    done(&f);
    char a8[] = "-qc5";
    fresh(&f);
    CHECK(scan(&f, (char *[]){ "espcap", a8, NULL }) && f.o.quiet && f.o.count == 5);
    done(&f);
    char a9[] = "-Z", a10[] = "-r", a11[] = "--", a12[] = "stray", a13[] = "--bogus";
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a9, NULL }) && strstr(f.p->err, "-Z"));
    done(&f);
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a10, NULL }) && strstr(f.p->err, "needs a value"));
    done(&f);
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a11, NULL }));
    done(&f);
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a12, NULL }) && strstr(f.p->err, "stray"));
    done(&f);
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a13, NULL }) && strstr(f.p->err, "--bogus"));
    done(&f);
    char a14[] = "--password=x"; /* never on the command line */
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", a14, NULL }) && strstr(f.p->err, "ESPCAP_PASSWORD"));
    done(&f);
    /* secrets leave argv once read (curl's cleanarg) */
    char s1[] = "--user=alice:s3cret", s2[] = "--api-key", s3[] = "k3y", s4[] = "--file=x";
    char *argv[] = { "espcap", s1, s2, s3, s4, NULL };
    fresh(&f);
    CHECK(scan(&f, argv));
    CHECK(!strcmp(f.o.user, "alice:s3cret") && !strcmp(f.o.api_key, "k3y"));
    CHECK(!strstr(s1, "s3cret") && !strncmp(s1, "--user=", 7) && strlen(s1) == 19);
    CHECK(!strcmp(s3, "   ") && !strcmp(s4, "--file=x"));
    done(&f);
    /* a node URL's user:password@ leaves argv too, the rest stays (ps shows the node) */
    char n1[] = "--node=https://al:p@s/s@h:9200,bob:x@h2:9200";
    fresh(&f);
    CHECK(scan(&f, (char *[]){ "espcap", n1, NULL }));
    CHECK(!strcmp(f.o.node, "https://al:p@s/s@h:9200,bob:x@h2:9200"));
    CHECK_STR(n1, "--node=https://        @h:9200,     @h2:9200");
    struct buf shown;
    buf_init(&shown, 64);
    opt_fmt_current(&shown, f.p, opt_find(f.p, "node"));
    CHECK_STR(buf_cstr(&shown), "https://h:9200,h2:9200"); /* --dump-options=values */
    buf_fini(&shown);
    done(&f);
    /* ... and out of the messages about a bad value */
    char n2[] = "--node=ftp://al:s3cret@h";
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", n2, NULL }) && strstr(f.p->err, "ftp://h") &&
          !strstr(f.p->err, "s3cret"));
    done(&f);
    setenv("ESPCAP_NODE", "https://al:s3cret@h,,x", 1);
    fresh(&f);
    CHECK(!opt_apply_env(f.p) && strstr(f.p->err, "ESPCAP_NODE") && !strstr(f.p->err, "s3cret"));
    done(&f);
    unsetenv("ESPCAP_NODE");
    /* a repeatable option collects its values from every source, lowest first */
    const char *cfg = write_file("list.conf", "ignore = a*\nignore=\"b c\"\n");
    char l1[] = "--ignore=d", l2[] = "--ign", l3[] = "e";
    fresh(&f);
    CHECK(opt_scan_argv(f.p, 4, (char *[]){ "espcap", l1, l2, l3, NULL }) &&
          opt_apply_file(f.p, cfg) && opt_apply_argv(f.p));
    CHECK(f.o.ignore.n == 4 && !strcmp(f.o.ignore.v[1], "b c") && !strcmp(f.o.ignore.v[3], "e"));
    done(&f);
    /* modes: one per source; a higher source replaces a lower one's */
    cfg = write_file("mode.conf", "dir = /captures\nwatch\n");
    char m1[] = "--file=x";
    fresh(&f);
    CHECK(opt_scan_argv(f.p, 2, (char *[]){ "espcap", m1, NULL }) && opt_apply_file(f.p, cfg) &&
          opt_apply_argv(f.p));
    CHECK(f.o.file && !f.o.dir && f.o.watch);
    done(&f);
    char m2[] = "--dir=y";
    fresh(&f);
    CHECK(!scan(&f, (char *[]){ "espcap", m1, m2, NULL }) && strstr(f.p->err, "choose one mode"));
    done(&f);
    cfg = write_file("two.conf", "file = a\nnic = b\n");
    fresh(&f);
    CHECK(!opt_apply_file(f.p, cfg) && strstr(f.p->err, "two.conf:2"));
    done(&f);
    cfg = write_file("bad.conf", "chunk = 5\nbogus = 1\n");
    fresh(&f);
    CHECK(!opt_apply_file(f.p, cfg) && strstr(f.p->err, "bad.conf:2") && strstr(f.p->err, "bogus"));
    done(&f);
    cfg = write_file("noval.conf", "chunk\n");
    fresh(&f);
    CHECK(!opt_apply_file(f.p, cfg) && strstr(f.p->err, "needs a value"));
    done(&f);
    fresh(&f);
    CHECK(!opt_apply_file(f.p, "/nonexistent/espcap.conf") && strstr(f.p->err, "--config"));
    done(&f);
}

/* options_load: the rules across options. */
static int load(struct options *o, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    mute(true);
    int rc = options_load(o, argc, argv);
    mute(false);
    return rc;
}

static void check_load(void)
{
    struct options o;
    char pl[300];
    snprintf(pl, sizeof pl, "--protocols-list=%s", write_file("protocols.list", "dns\n"));
    char rej[300];
    snprintf(rej, sizeof rej, "--rejected=%s/rejected.ndjson", tmpdir);
    char f1[] = "--file=x.pcap", n1[] = "--node=127.0.0.1:9", u1[] = "--user=alice";
    unset_all_env();

    /* --user=alice with $ESPCAP_PASSWORD: that password */
    setenv("ESPCAP_PASSWORD", "from-env", 1);
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, u1, pl, rej, NULL }) == 0);
    CHECK(o.auth_user && !strcmp(o.auth_user, "alice"));
    CHECK(o.auth_password && !strcmp(o.auth_password, "from-env"));
    options_free(&o);
    /* the command line's USER:PASSWORD beats the environment */
    char u2[] = "--user=bob:from-argv";
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, u2, pl, rej, NULL }) == 0);
    CHECK(!strcmp(o.auth_user, "bob") && !strcmp(o.auth_password, "from-argv"));
    options_free(&o);
    unsetenv("ESPCAP_PASSWORD");
    /* --password-file: its newline dropped; two passwords on one level: an error */
    char pf[300];
    snprintf(pf, sizeof pf, "--password-file=%s", write_file("pw", "from-file\r\n"));
    char u3[] = "--user=carol";
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, u3, pf, pl, rej, NULL }) == 0);
    CHECK(!strcmp(o.auth_password, "from-file"));
    options_free(&o);
    char u4[] = "--user=bob:from-argv"; /* u2 was blanked by its first use */
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, u4, pf, pl, rej, NULL }) == EXIT_USAGE);
    options_free(&o);
    /* a systemd credential, named without a slash */
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    write_file("es-key", "k-from-credentials\n");
    char kf[] = "--api-key-file=es-key";
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, kf, pl, rej, NULL }) == 0);
    CHECK(o.auth_api_key && !strcmp(o.auth_api_key, "k-from-credentials"));
    options_free(&o);
    unsetenv("CREDENTIALS_DIRECTORY");
    char kf2[] = "--api-key-file=/nonexistent/key", kf3[300];
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, kf2, pl, rej, NULL }) == EXIT_USAGE);
    options_free(&o);
    snprintf(kf3, sizeof kf3, "--api-key-file=%s", write_file("empty", "\n"));
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, kf3, pl, rej, NULL }) == EXIT_USAGE);
    options_free(&o);
    /* the environment beats the config file, the command line beats both */
    char cf[300];
    snprintf(cf, sizeof cf, "--config=%s",
             write_file("p.conf", "node = 127.0.0.1:1\nindex-prefix = conf\nchunk = 11\n"));
    setenv("ESPCAP_INDEX_PREFIX", "env", 1);
    CHECK(load(&o, (char *[]){ "espcap", f1, cf, pl, rej, NULL }) == 0);
    CHECK(!strcmp(o.node, "127.0.0.1:1") && !strcmp(o.index_prefix, "env") && o.chunk == 11);
    options_free(&o);
    char ip[] = "--index-prefix=argv", ch[] = "--chunk=12";
    CHECK(load(&o, (char *[]){ "espcap", f1, cf, ip, ch, pl, rej, NULL }) == 0);
    CHECK(!strcmp(o.index_prefix, "argv") && o.chunk == 12);
    options_free(&o);
    unsetenv("ESPCAP_INDEX_PREFIX");
    /* $ESPCAP_CONFIG names the file; a broken one does not spoil --help */
    setenv("ESPCAP_CONFIG", write_file("broken.conf", "what is this\n"), 1);
    CHECK(load(&o, (char *[]){ "espcap", f1, pl, NULL }) == EXIT_USAGE);
    options_free(&o);
    char h[] = "--help";
    CHECK(load(&o, (char *[]){ "espcap", h, NULL }) == 0 && o.help);
    options_free(&o);
    unsetenv("ESPCAP_CONFIG");
    /* options of another mode: an error on the command line, ignored in a config file */
    char w[] = "--watch", c[] = "--count=3";
    CHECK(load(&o, (char *[]){ "espcap", f1, w, pl, NULL }) == EXIT_USAGE);
    options_free(&o);
    CHECK(load(&o, (char *[]){ "espcap", f1, c, pl, NULL }) == EXIT_USAGE);
    options_free(&o);
    snprintf(cf, sizeof cf, "--config=%s", write_file("m.conf", "watch = yes\ncount = 3\n"));
    CHECK(load(&o, (char *[]){ "espcap", f1, cf, pl, NULL }) == 0 && o.mode == MODE_FILE);
    options_free(&o);
    /* --dir keeps state with --watch, or with --state-file given */
    char d1[] = "--dir=/tmp", sf[] = "--state-file=x.state";
    CHECK(load(&o, (char *[]){ "espcap", d1, pl, NULL }) == 0 && !o.keep_state);
    options_free(&o);
    CHECK(load(&o, (char *[]){ "espcap", d1, w, pl, NULL }) == 0 && o.keep_state);
    options_free(&o);
    CHECK(load(&o, (char *[]){ "espcap", d1, sf, pl, NULL }) == 0 && o.keep_state);
    options_free(&o);
    /* the index prefix: index names are kept in 160 bytes (src/sink/sink_es.c) */
    char ip1[200] = "--index-prefix=", ip2[200] = "--index-prefix=";
    memset(ip1 + 15, 'p', 148);
    memset(ip2 + 15, 'p', 149);
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, ip1, pl, rej, NULL }) == 0);
    options_free(&o);
    CHECK(load(&o, (char *[]){ "espcap", f1, n1, ip2, pl, rej, NULL }) == EXIT_USAGE);
    options_free(&o);
    char none[] = "--max-bytes=3";
    CHECK(load(&o, (char *[]){ "espcap", none, NULL }) == EXIT_USAGE);
    options_free(&o);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    unset_all_env();
    check_values();
    check_table();
    check_names();
    check_load();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return TH_DONE("test_opt");
}
