/* dis_init: libwireshark's start-up, step for step as tshark 4.0 does it (docs/INTERNALS.md
 * lists each step of tshark.c and what espcap does with it), and the tshark options that
 * change dissection: -C, -o, -d, --enable/--disable-protocol/-heuristic, -Y. */
#include "dissect.h"
#include "dis_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <epan/addr_resolv.h>
#include <epan/disabled_protos.h>
#include <epan/epan.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/prefs-int.h>
#include <epan/secrets.h>
#include <epan/timestamp.h>
#include <wsutil/filesystem.h>
#include <wsutil/privileges.h>
#include <wsutil/report_message.h>
#include <wsutil/wslog.h>

#include "../util/log.h"

dfilter_t *dis_dfcode;

/* Wireshark's own reports (bad preference files, plugin problems) become warnings. */
static void vfailure(const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    log_warn("wireshark: %s", msg);
}

static void open_failure(const char *name, int err, gboolean for_writing)
{
    log_warn("wireshark: cannot open %s for %s: %s", name, for_writing ? "writing" : "reading",
             g_strerror(err));
}

static void read_failure(const char *name, int err)
{
    log_warn("wireshark: error reading %s: %s", name, g_strerror(err));
}

static void write_failure(const char *name, int err)
{
    log_warn("wireshark: error writing %s: %s", name, g_strerror(err));
}

static void cfile_failure(const char *name, int err, gchar *info)
{
    log_warn("wireshark: %s: %s%s%s", name, wtap_strerror(err), info ? ": " : "", info ? info : "");
}

static void cfile_dump_open_failure(const char *name, int err, gchar *info, int ft)
{
    (void)ft;
    cfile_failure(name, err, info);
}

static void cfile_write_failure(const char *in, const char *out, int err, gchar *info,
                                guint32 num, int ft)
{
    (void)in, (void)num, (void)ft;
    cfile_failure(out, err, info);
}

static const struct report_message_routines report_routines = {
    vfailure, vfailure, open_failure, read_failure, write_failure,
    cfile_failure, cfile_dump_open_failure, cfile_failure, cfile_write_failure, cfile_failure,
};

static enum dis_init_result refuse(char *err, size_t errlen, const char *fmt, ...)
    ESPCAP_PRINTF(3, 4);

static enum dis_init_result refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return DIS_INIT_USAGE;
}

/* -C: as tshark, a profile of the user's own, else a global one copied to the user's. */
static enum dis_init_result use_profile(const char *name, char *err, size_t errlen)
{
    if (profile_exists(name, FALSE)) {
        set_profile_name(name);
        return DIS_INIT_OK;
    }
    if (!profile_exists(name, TRUE)) {
        char *mine = get_profiles_dir(), *global = get_global_profiles_dir();
        refuse(err, errlen, "-C '%s': no such configuration profile (looked in %s and %s)", name,
               mine, global);
        g_free(mine);
        g_free(global);
        return DIS_INIT_USAGE;
    }
    char *dir = NULL, *dir2 = NULL, *file = NULL;
    if (create_persconffile_profile(name, &dir) == -1) {
        refuse(err, errlen, "-C '%s': cannot create the profile folder %s: %s", name, dir,
               g_strerror(errno));
        g_free(dir);
        return DIS_INIT_USAGE;
    }
    g_free(dir);
    dir = NULL;
    if (copy_persconffile_profile(name, name, TRUE, &file, &dir, &dir2) == -1) {
        refuse(err, errlen, "-C '%s': cannot copy %s from %s to %s: %s", name, file, dir2, dir,
               g_strerror(errno));
        g_free(file);
        g_free(dir);
        g_free(dir2);
        return DIS_INIT_USAGE;
    }
    set_profile_name(name);
    return DIS_INIT_OK;
}

/* Wireshark takes any word for a boolean preference and reads everything but "TRUE" as
 * false ("-o tcp.desegment_tcp_streams:yes" turns it off): espcap asks for TRUE or FALSE. */
static bool bad_bool(const char *arg)
{
    const char *colon = strchr(arg, ':');
    if (!colon)
        return false;
    char *name = g_strndup(arg, (gsize)(colon - arg));
    char *dot = strchr(name, '.');
    bool bad = false;
    if (dot) {
        *dot = '\0';
        module_t *m = prefs_find_module(name);
        pref_t *p = m ? prefs_find_preference(m, dot + 1) : NULL;
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        bad = p && prefs_get_type(p) == PREF_BOOL && g_ascii_strcasecmp(v, "TRUE") != 0 &&
              g_ascii_strcasecmp(v, "FALSE") != 0;
    }
    g_free(name);
    return bad;
}

/* -o NAME:VALUE, as tshark's prefs_set_pref. */
static enum dis_init_result set_pref(const char *arg, char *err, size_t errlen)
{
    if (bad_bool(arg))
        return refuse(err, errlen, "-o '%s': a yes/no preference takes TRUE or FALSE", arg);
    char *copy = g_strdup(arg), *why = NULL;
    enum dis_init_result r = DIS_INIT_OK;
    switch (prefs_set_pref(copy, &why)) {
    case PREFS_SET_OK:
        break;
    case PREFS_SET_SYNTAX_ERR:
        r = refuse(err, errlen, "-o '%s': %s", arg,
                   why ? why : strchr(arg, ':') ? "not a valid value for this preference"
                             : "not NAME:VALUE");
        break;
    case PREFS_SET_NO_SUCH_PREF:
        r = refuse(err, errlen, "-o '%s': no such preference (tshark -G currentprefs lists them)",
                   arg);
        break;
    case PREFS_SET_OBSOLETE:
        r = refuse(err, errlen, "-o '%s': an obsolete preference", arg);
        break;
    }
    g_free(why);
    g_free(copy);
    return r;
}

struct handle_search {
    const char *name;
    dissector_handle_t found;
    unsigned matches;
};

static void match_handle(const gchar *table, gpointer handle, gpointer ud)
{
    (void)table;
    struct handle_search *s = ud;
    int proto = dissector_handle_get_protocol_index((dissector_handle_t)handle);
    if (proto == -1 || strcmp(proto_get_protocol_filter_name(proto), s->name) != 0)
        return;
    if (!s->matches++)
        s->found = (dissector_handle_t)handle;
}

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* -d LAYER==SELECTOR,PROTOCOL: the rule tshark's decode-as option takes (a number, a range
 * "8080-8090" or "8080:3", a string, or no selector for payload tables). */
static enum dis_init_result decode_as(const char *arg, char *err, size_t errlen)
{
    char *copy = g_strdup(arg);
    enum dis_init_result r = DIS_INIT_USAGE;
    char *comma = strrchr(copy, ',');
    char *eq = strchr(copy, '=');
    if (!comma || (eq && eq > comma)) {
        refuse(err, errlen, "-d '%s': not LAYER==SELECTOR,PROTOCOL", arg);
        goto done;
    }
    *comma = '\0';
    char *proto = trim(comma + 1);
    char *selector = NULL;
    if (eq) {
        *eq = '\0';
        selector = eq + 1 + (eq[1] == '=');
    }
    char *table_name = trim(copy);
    dissector_table_t table = *table_name ? find_dissector_table(table_name) : NULL;
    if (!table) {
        refuse(err, errlen, "-d '%s': no such layer type '%s' (tshark -G decodes lists them)", arg,
               table_name);
        goto done;
    }
    ftenum_t type = get_dissector_table_selector_type(table_name);
    header_field_info *alias = proto_registrar_get_byalias(proto);
    struct handle_search hs = { alias ? alias->abbrev : proto, NULL, 0 };
    if (*proto)
        dissector_table_foreach_handle(table_name, match_handle, &hs);
    if (!hs.found) {
        refuse(err, errlen, "-d '%s': %s", arg,
               !*proto ? "no protocol given"
               : proto_get_id_by_filter_name(proto) == -1 ? "no such protocol"
               : "this protocol cannot be decoded from this layer type");
        goto done;
    }
    switch (type) {
    case FT_UINT8:
    case FT_UINT16:
    case FT_UINT24:
    case FT_UINT32: {
        char *end;
        const char *s = selector ? trim(selector) : "";
        errno = 0;
        guint64 lo = g_ascii_strtoull(s, &end, 0), hi = lo;
        if (end == s || lo > G_MAXUINT32) {
            refuse(err, errlen, "-d '%s': '%s' is not a selector number", arg, s);
            goto done;
        }
        if (*end == ':' || *end == '-') {
            char op = *end;
            const char *s2 = end + 1;
            guint64 v = g_ascii_strtoull(s2, &end, 0);
            if (end == s2 || *end || v > G_MAXUINT32 || (op == ':' && (v == 0 || lo + v - 1 > G_MAXUINT32)) ||
                (op == '-' && v < lo)) {
                refuse(err, errlen, "-d '%s': '%s' is not a selector range", arg, s);
                goto done;
            }
            hi = op == ':' ? lo + v - 1 : v;
        } else if (*end) {
            refuse(err, errlen, "-d '%s': '%s' is not a selector number", arg, s);
            goto done;
        }
        for (guint64 v = lo; v <= hi; v++)
            dissector_change_uint(table_name, (guint32)v, hs.found);
        break;
    }
    case FT_STRING:
    case FT_STRINGZ:
    case FT_UINT_STRING:
    case FT_STRINGZPAD:
    case FT_STRINGZTRUNC:
        if (!selector) {
            refuse(err, errlen, "-d '%s': no selector", arg);
            goto done;
        }
        dissector_change_string(table_name, selector, hs.found);
        break;
    case FT_NONE:
        dissector_change_payload(table_name, hs.found);
        break;
    default:
        refuse(err, errlen, "-d '%s': layer type '%s' takes no decode-as rule", arg, table_name);
        goto done;
    }
    r = DIS_INIT_OK;
done:
    g_free(copy);
    return r;
}

static enum dis_init_result toggle_protocol(const char *opt, const char *name, bool enable,
                                            char *err, size_t errlen)
{
    int id = proto_get_id_by_filter_name(name);
    if (id < 0)
        return refuse(err, errlen, "--%s '%s': no such protocol (tshark -G protocols lists them)",
                      opt, name);
    if (!proto_can_toggle_protocol(id))
        return refuse(err, errlen, "--%s '%s': Wireshark does not let this protocol be %s", opt,
                      name, enable ? "enabled" : "disabled");
    if (enable)
        proto_enable_proto_by_name(name);
    else
        proto_disable_proto_by_name(name);
    return DIS_INIT_OK;
}

static enum dis_init_result toggle_heuristic(const char *opt, const char *name, bool enable,
                                             char *err, size_t errlen)
{
    if (!proto_enable_heuristic_by_name(name, enable))
        return refuse(err, errlen, "--%s '%s': no such heuristic dissector (tshark -G "
                      "heuristic-decodes lists them)", opt, name);
    return DIS_INIT_OK;
}

enum dis_init_result dis_global_init(const struct dis_config *cfg, char *err, size_t errlen)
{
    enum dis_init_result r;
    /* Wireshark's own log goes to stderr, at "warning" and above only. tshark: the log,
     * privileges, then the configuration namespace ("Wireshark": the user's
     * settings are under ~/.config/wireshark), before anything reads a setting. */
    ws_log_init("espcap", NULL);
    ws_log_set_level(LOG_LEVEL_WARNING);
    init_process_policies();
    relinquish_special_privs_perm();
    char *msg = configuration_init(cfg->argv0 ? cfg->argv0 : "espcap", NULL);
    if (msg) {
        log_warn("wireshark: cannot tell the folder of the program: %s", msg);
        g_free(msg);
    }
    if (cfg->profile && (r = use_profile(cfg->profile, err, errlen)) != DIS_INIT_OK)
        return r;
    init_report_message("espcap", &report_routines);
    timestamp_set_type(TS_RELATIVE);
    timestamp_set_precision(TS_PREC_AUTO);
    timestamp_set_seconds_type(TS_SECONDS_DEFAULT);
    wtap_init(TRUE);
    if (!epan_init(NULL, NULL, TRUE)) {
        snprintf(err, errlen, "libwireshark failed to initialise its dissectors");
        return DIS_INIT_FATAL;
    }
    /* Lazily registered fields ("prefixes") join the registry now, so that the field
     * naming rule sees every name before the first packet. */
    proto_initialize_all_prefixes();
    /* The user's Wireshark settings (the profile's): decode-as entries, preferences,
     * enabled and disabled protocols, as tshark reads them. */
    epan_load_settings();
    for (size_t i = 0; i < cfg->n_prefs; i++)
        if ((r = set_pref(cfg->prefs[i], err, errlen)) != DIS_INIT_OK)
            return r;
    for (size_t i = 0; i < cfg->n_decode_as; i++)
        if ((r = decode_as(cfg->decode_as[i], err, errlen)) != DIS_INIT_OK)
            return r;
    prefs_apply_all();
    for (size_t i = 0; i < cfg->n_disable_protocols; i++)
        if ((r = toggle_protocol("disable-protocol", cfg->disable_protocols[i], false, err,
                                 errlen)) != DIS_INIT_OK)
            return r;
    for (size_t i = 0; i < cfg->n_enable_protocols; i++)
        if ((r = toggle_protocol("enable-protocol", cfg->enable_protocols[i], true, err,
                                 errlen)) != DIS_INIT_OK)
            return r;
    for (size_t i = 0; i < cfg->n_enable_heuristics; i++)
        if ((r = toggle_heuristic("enable-heuristic", cfg->enable_heuristics[i], true, err,
                                  errlen)) != DIS_INIT_OK)
            return r;
    for (size_t i = 0; i < cfg->n_disable_heuristics; i++)
        if ((r = toggle_heuristic("disable-heuristic", cfg->disable_heuristics[i], false, err,
                                  errlen)) != DIS_INIT_OK)
            return r;
    if (cfg->display_filter) {
        char *why = NULL;
        if (!dfilter_compile(cfg->display_filter, &dis_dfcode, &why)) {
            refuse(err, errlen, "-Y '%s': %s", cfg->display_filter,
                   why ? why : "not a display filter");
            g_free(why);
            return DIS_INIT_USAGE;
        }
    }
    /* One pass: names are resolved now or never, as tshark does. */
    set_resolution_synchrony(TRUE);
    return DIS_INIT_OK;
}

void dis_reader_init(const char *argv0)
{
    ws_log_init("espcap", NULL);
    ws_log_set_level(LOG_LEVEL_WARNING);
    init_process_policies();
    relinquish_special_privs_perm();
    char *msg = configuration_init(argv0 ? argv0 : "espcap", NULL);
    g_free(msg);
    init_report_message("espcap", &report_routines);
    wtap_init(TRUE);
}

const char *dis_wireshark_version(void) { return epan_get_version(); }

void dis_for_each_field(dis_field_cb cb, void *ctx)
{
    void *pc = NULL, *fc = NULL;
    for (int p = proto_get_first_protocol(&pc); p != -1; p = proto_get_next_protocol(&pc)) {
        header_field_info *ph = proto_registrar_get_nth((guint)p);
        cb(ctx, p, ph->abbrev);
        for (header_field_info *h = proto_get_first_protocol_field(p, &fc); h;
             h = proto_get_next_protocol_field(p, &fc)) {
            if (h->same_name_prev_id != -1)
                continue; /* one entry per name */
            cb(ctx, h->id, h->abbrev);
        }
    }
}

int dis_proto_id(const char *filter_name) { return proto_get_id_by_filter_name(filter_name); }

int dis_field_id(const char *abbrev) { return proto_registrar_get_id_byname(abbrev); }

void dis_add_secrets(uint32_t secrets_type, const void *data, size_t len)
{
    secrets_wtap_callback(secrets_type, data, (guint)len);
}

void dis_add_ipv4_name(uint32_t addr_be, const char *name) { add_ipv4_name(addr_be, name); }

void dis_add_ipv6_name(const uint8_t addr[16], const char *name)
{
    ws_in6_addr a;
    memcpy(a.bytes, addr, 16);
    add_ipv6_name(&a, name);
}
