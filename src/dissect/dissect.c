/* dissect: drives epan single-pass, as tshark does without -2. */
#include "dissect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <epan/epan.h>
#include <epan/epan_dissect.h>
#include <epan/frame_data.h>
#include <epan/prefs.h>
#include <epan/tvbuff.h>
#include <wsutil/privileges.h>
#include <wsutil/report_message.h>
#include <wsutil/wslog.h>

#include "../util/buf.h"
#include "../util/log.h"

/* epan's packet provider: what the dissectors may ask about frames other than the
 * current one. Single-pass, we know the previous frame and the reference frame. */
struct packet_provider_data {
    const frame_data *ref;
    const frame_data *prev_dis;
    const frame_data *prev_cap;
};

struct dis {
    struct packet_provider_data prov;
    epan_t *session;
    epan_dissect_t *edt;
    int file_type_subtype;
    uint32_t count;
    uint32_t cum_bytes;
    int64_t offset;
    nstime_t elapsed;
    frame_data fd;        /* current frame */
    frame_data prev_frame; /* copy of the previous one, for deltas */
    frame_data ref_frame;
    bool in_packet;
};

static const nstime_t *get_frame_ts(struct packet_provider_data *prov, guint32 num)
{
    if (prov->ref && prov->ref->num == num)
        return &prov->ref->abs_ts;
    if (prov->prev_dis && prov->prev_dis->num == num)
        return &prov->prev_dis->abs_ts;
    if (prov->prev_cap && prov->prev_cap->num == num)
        return &prov->prev_cap->abs_ts;
    return NULL;
}

static const struct packet_provider_funcs provider_funcs = {
    get_frame_ts, NULL, NULL, NULL,
};

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

bool dis_global_init(char *err, size_t errlen)
{
    init_process_policies();
    relinquish_special_privs_perm();
    /* Wireshark's own log goes to stderr, at "warning" and above only. */
    ws_log_init("espcap", NULL);
    ws_log_set_level(LOG_LEVEL_WARNING);
    init_report_message("espcap", &report_routines);
    wtap_init(TRUE);
    if (!epan_init(NULL, NULL, TRUE)) {
        snprintf(err, errlen, "libwireshark failed to initialise its dissectors");
        return false;
    }
    /* Lazily registered fields ("prefixes") join the registry now, so that the field
     * naming rule sees every name before the first packet. */
    proto_initialize_all_prefixes();
    /* The user's Wireshark preferences apply, as they do for tshark. */
    epan_load_settings();
    prefs_apply_all();
    return true;
}

void dis_global_cleanup(void)
{
    epan_cleanup();
    wtap_cleanup();
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

struct dis *dis_new(void)
{
    struct dis *d = xcalloc(1, sizeof *d);
    return d;
}

static void end_session(struct dis *d)
{
    if (d->in_packet)
        dis_end_packet(d);
    if (d->edt)
        epan_dissect_free(d->edt);
    if (d->session)
        epan_free(d->session);
    d->edt = NULL;
    d->session = NULL;
}

void dis_free(struct dis *d)
{
    if (!d)
        return;
    end_session(d);
    free(d);
}

void dis_begin_session(struct dis *d, int file_type_subtype)
{
    end_session(d);
    memset(&d->prov, 0, sizeof d->prov);
    d->session = epan_new(&d->prov, &provider_funcs);
    /* A tree with every item, hidden ones included: the document has every field. */
    d->edt = epan_dissect_new(d->session, TRUE, TRUE);
    d->file_type_subtype = file_type_subtype;
    d->count = 0;
    d->cum_bytes = 0;
    d->offset = 0;
    nstime_set_zero(&d->elapsed);
}

proto_tree *dis_packet(struct dis *d, wtap_rec *rec, const uint8_t *data, uint32_t *frame_number)
{
    uint32_t caplen = rec->rec_type == REC_TYPE_PACKET ? rec->rec_header.packet_header.caplen
                                                       : 0;
    if (rec->rec_type == REC_TYPE_FT_SPECIFIC_EVENT || rec->rec_type == REC_TYPE_FT_SPECIFIC_REPORT)
        caplen = rec->rec_header.ft_specific_header.record_len;
    else if (rec->rec_type == REC_TYPE_SYSCALL)
        caplen = rec->rec_header.syscall_header.event_filelen;
    else if (rec->rec_type == REC_TYPE_SYSTEMD_JOURNAL_EXPORT)
        caplen = rec->rec_header.systemd_journal_export_header.record_len;
    else if (rec->rec_type == REC_TYPE_CUSTOM_BLOCK)
        caplen = rec->rec_header.custom_block_header.length;

    d->count++;
    frame_data_init(&d->fd, d->count, rec, d->offset, d->cum_bytes);
    d->offset += caplen;
    frame_data_set_before_dissect(&d->fd, &d->elapsed, &d->prov.ref, d->prov.prev_dis);
    if (d->prov.ref == &d->fd) {
        d->ref_frame = d->fd;
        d->prov.ref = &d->ref_frame;
    }
    tvbuff_t *tvb = tvb_new_real_data(data, caplen, caplen);
    epan_dissect_run(d->edt, d->file_type_subtype, rec, tvb, &d->fd, NULL);
    d->in_packet = true;
    *frame_number = d->count;
    return d->edt->tree;
}

void dis_end_packet(struct dis *d)
{
    if (!d->in_packet)
        return;
    frame_data_set_after_dissect(&d->fd, &d->cum_bytes);
    d->prev_frame = d->fd;
    d->prov.prev_dis = &d->prev_frame;
    d->prov.prev_cap = &d->prev_frame;
    epan_dissect_reset(d->edt);
    frame_data_destroy(&d->fd);
    d->in_packet = false;
}
