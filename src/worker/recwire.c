/* recwire: records to flat bytes and back (see recwire.h). */
#include "recwire.h"

#include <string.h>

#include <wiretap/wtap_opttypes.h>

/* The fixed part; the bytes, the options and the pseudo-header's strings follow. */
struct wire_head {
    struct wire_frame f;
    uint32_t rec_type, presence_flags, section_number;
    int32_t tsprec;
    int64_t ts_secs;
    int32_t ts_nsecs;
    uint32_t has_block;
    uint32_t data_len, opts_len, aux_len;
    uint8_t rec_header[sizeof(((wtap_rec *)0)->rec_header)];
};

/* One option: id, type, length of its value bytes, value. */
struct wire_opt {
    uint32_t id, type, len;
};

static void put_opt(struct buf *b, uint32_t id, uint32_t type, const void *v, size_t len)
{
    struct wire_opt o = { id, type, (uint32_t)len };
    buf_add(b, &o, sizeof o);
    buf_add(b, v, len);
}

static gboolean encode_opt(wtap_block_t block, guint id, wtap_opttype_e type, wtap_optval_t *v,
                           void *ud)
{
    (void)block;
    struct buf *b = ud;
    switch (type) {
    case WTAP_OPTTYPE_UINT8: put_opt(b, id, type, &v->uint8val, 1); break;
    case WTAP_OPTTYPE_UINT32: put_opt(b, id, type, &v->uint32val, 4); break;
    case WTAP_OPTTYPE_UINT64: put_opt(b, id, type, &v->uint64val, 8); break;
    case WTAP_OPTTYPE_INT8: put_opt(b, id, type, &v->int8val, 1); break;
    case WTAP_OPTTYPE_INT32: put_opt(b, id, type, &v->int32val, 4); break;
    case WTAP_OPTTYPE_INT64: put_opt(b, id, type, &v->int64val, 8); break;
    case WTAP_OPTTYPE_IPv4: put_opt(b, id, type, &v->ipv4val, 4); break;
    case WTAP_OPTTYPE_IPv6: put_opt(b, id, type, &v->ipv6val, 16); break;
    case WTAP_OPTTYPE_STRING:
        put_opt(b, id, type, v->stringval, strlen(v->stringval));
        break;
    case WTAP_OPTTYPE_BYTES: {
        gsize n = 0;
        const void *p = g_bytes_get_data(v->byteval, &n);
        put_opt(b, id, type, p, n);
        break;
    }
    case WTAP_OPTTYPE_CUSTOM: {
        /* pen, then the data (Netflix's own form is not kept: it is not dissected) */
        const custom_opt_t *c = &v->custom_opt;
        if (c->pen == PEN_NFLX)
            break;
        struct buf t;
        buf_init(&t, 8 + c->data.generic_data.custom_data_len);
        buf_add(&t, &c->pen, 4);
        buf_add(&t, c->data.generic_data.custom_data, c->data.generic_data.custom_data_len);
        put_opt(b, id, type, t.p, t.len);
        buf_fini(&t);
        break;
    }
    case WTAP_OPTTYPE_PACKET_VERDICT: {
        const packet_verdict_opt_t *pv = &v->packet_verdictval;
        struct buf t;
        buf_init(&t, 64);
        uint32_t kind = pv->type;
        buf_add(&t, &kind, 4);
        if (pv->type == packet_verdict_hardware && pv->data.verdict_bytes)
            buf_add(&t, pv->data.verdict_bytes->data, pv->data.verdict_bytes->len);
        else
            buf_add(&t, &pv->data.verdict_linux_ebpf_tc, 8);
        put_opt(b, id, type, t.p, t.len);
        buf_fini(&t);
        break;
    }
    default: /* interface filters belong to interfaces, not packets */
        break;
    }
    return TRUE;
}

static void decode_opts(wtap_block_t block, const uint8_t *p, size_t n)
{
    while (n >= sizeof(struct wire_opt)) {
        struct wire_opt o;
        memcpy(&o, p, sizeof o);
        p += sizeof o;
        n -= sizeof o;
        if (o.len > n)
            return;
        const uint8_t *v = p;
        p += o.len;
        n -= o.len;
        union {
            uint8_t u8;
            uint32_t u32;
            uint64_t u64;
            int8_t i8;
            int32_t i32;
            int64_t i64;
            ws_in6_addr a6;
        } x;
        memset(&x, 0, sizeof x);
        memcpy(&x, v, o.len < sizeof x ? o.len : sizeof x);
        switch (o.type) {
        case WTAP_OPTTYPE_UINT8: wtap_block_add_uint8_option(block, o.id, x.u8); break;
        case WTAP_OPTTYPE_UINT32: wtap_block_add_uint32_option(block, o.id, x.u32); break;
        case WTAP_OPTTYPE_UINT64: wtap_block_add_uint64_option(block, o.id, x.u64); break;
        case WTAP_OPTTYPE_INT8: wtap_block_add_int8_option(block, o.id, x.i8); break;
        case WTAP_OPTTYPE_INT32: wtap_block_add_int32_option(block, o.id, x.i32); break;
        case WTAP_OPTTYPE_INT64: wtap_block_add_int64_option(block, o.id, x.i64); break;
        case WTAP_OPTTYPE_IPv4: wtap_block_add_ipv4_option(block, o.id, x.u32); break;
        case WTAP_OPTTYPE_IPv6: wtap_block_add_ipv6_option(block, o.id, &x.a6); break;
        case WTAP_OPTTYPE_STRING:
            wtap_block_add_string_option(block, o.id, (const char *)v, o.len);
            break;
        case WTAP_OPTTYPE_BYTES: wtap_block_add_bytes_option(block, o.id, v, o.len); break;
        case WTAP_OPTTYPE_CUSTOM:
            if (o.len >= 4)
                wtap_block_add_custom_option(block, o.id, x.u32, (const char *)v + 4, o.len - 4);
            break;
        case WTAP_OPTTYPE_PACKET_VERDICT: {
            if (o.len < 4)
                break;
            packet_verdict_opt_t pv;
            memset(&pv, 0, sizeof pv);
            pv.type = (packet_verdict_type_e)x.u32;
            if (pv.type == packet_verdict_hardware) {
                pv.data.verdict_bytes = g_byte_array_new();
                g_byte_array_append(pv.data.verdict_bytes, v + 4, o.len - 4);
            } else if (o.len >= 12) {
                memcpy(&pv.data.verdict_linux_ebpf_tc, v + 4, 8);
            }
            wtap_block_add_packet_verdict_option(block, o.id, &pv);
            if (pv.type == packet_verdict_hardware)
                g_byte_array_free(pv.data.verdict_bytes, TRUE);
            break;
        }
        default:
            break;
        }
    }
}

/* The pseudo-headers that hold pointers: their strings go along as data. */
static void put_str(struct buf *b, const void *s, uint32_t n)
{
    buf_add(b, &n, 4);
    if (n)
        buf_add(b, s, n);
}

static void encode_aux(struct buf *b, const wtap_rec *rec)
{
    if (rec->rec_type != REC_TYPE_PACKET)
        return;
    const union wtap_pseudo_header *ph = &rec->rec_header.packet_header.pseudo_header;
    switch (rec->rec_header.packet_header.pkt_encap) {
    case WTAP_ENCAP_K12:
        put_str(b, ph->k12.input_name, ph->k12.input_name ? (uint32_t)strlen(ph->k12.input_name) + 1 : 0);
        put_str(b, ph->k12.stack_file, ph->k12.stack_file ? (uint32_t)strlen(ph->k12.stack_file) + 1 : 0);
        put_str(b, ph->k12.extra_info, ph->k12.extra_info ? ph->k12.extra_length : 0);
        break;
    case WTAP_ENCAP_NETMON_NET_NETEVENT:
    case WTAP_ENCAP_NETMON_HEADER:
        put_str(b, ph->netmon.title, ph->netmon.title ? (uint32_t)strlen((const char *)ph->netmon.title) + 1 : 0);
        put_str(b, ph->netmon.description, ph->netmon.description ? ph->netmon.descLength : 0);
        break;
    case WTAP_ENCAP_BER:
        put_str(b, ph->ber.pathname, ph->ber.pathname ? (uint32_t)strlen(ph->ber.pathname) + 1 : 0);
        break;
    default:
        break;
    }
}

static const uint8_t *take_str(const uint8_t **p, size_t *n)
{
    uint32_t len;
    if (*n < 4)
        return NULL;
    memcpy(&len, *p, 4);
    *p += 4;
    *n -= 4;
    if (len > *n || !len)
        return NULL;
    const uint8_t *s = *p;
    *p += len;
    *n -= len;
    return s;
}

static void decode_aux(struct wire_decoder *d, const uint8_t *p, size_t n)
{
    wtap_rec *rec = &d->rec;
    if (rec->rec_type != REC_TYPE_PACKET)
        return;
    union wtap_pseudo_header *ph = &rec->rec_header.packet_header.pseudo_header;
    /* the strings are copied out of the ring: the record outlives the ring slot */
    buf_reset(&d->aux);
    buf_add(&d->aux, p, n);
    p = (const uint8_t *)d->aux.p;
    switch (rec->rec_header.packet_header.pkt_encap) {
    case WTAP_ENCAP_K12:
        ph->k12.input_name = (const gchar *)take_str(&p, &n);
        ph->k12.stack_file = (const gchar *)take_str(&p, &n);
        ph->k12.extra_info = (guint8 *)take_str(&p, &n);
        if (!ph->k12.extra_info)
            ph->k12.extra_length = 0;
        ph->k12.stuff = NULL;
        break;
    case WTAP_ENCAP_NETMON_NET_NETEVENT:
    case WTAP_ENCAP_NETMON_HEADER:
        ph->netmon.title = (guint8 *)take_str(&p, &n);
        ph->netmon.description = (guint8 *)take_str(&p, &n);
        if (!ph->netmon.description)
            ph->netmon.descLength = 0;
        break;
    case WTAP_ENCAP_BER:
        ph->ber.pathname = (const char *)take_str(&p, &n);
        break;
    case WTAP_ENCAP_CATAPULT_DCT2000:
        ph->dct2000.wth = NULL; /* the reader's file: only wiretap's writer uses it */
        break;
    default:
        break;
    }
}

static size_t record_len(const wtap_rec *rec)
{
    switch (rec->rec_type) {
    case REC_TYPE_PACKET: return rec->rec_header.packet_header.caplen;
    case REC_TYPE_FT_SPECIFIC_EVENT:
    case REC_TYPE_FT_SPECIFIC_REPORT: return rec->rec_header.ft_specific_header.record_len;
    case REC_TYPE_SYSCALL: return rec->rec_header.syscall_header.event_filelen;
    case REC_TYPE_SYSTEMD_JOURNAL_EXPORT:
        return rec->rec_header.systemd_journal_export_header.record_len;
    case REC_TYPE_CUSTOM_BLOCK: return rec->rec_header.custom_block_header.length;
    default: return 0;
    }
}

void recwire_encode(struct buf *out, const struct wire_frame *f, const wtap_rec *rec,
                    const uint8_t *data)
{
    size_t start = out->len;
    struct wire_head h;
    memset(&h, 0, sizeof h);
    h.f = *f;
    h.rec_type = rec->rec_type;
    h.presence_flags = rec->presence_flags;
    h.section_number = rec->section_number;
    h.tsprec = rec->tsprec;
    h.ts_secs = (int64_t)rec->ts.secs;
    h.ts_nsecs = rec->ts.nsecs;
    h.has_block = rec->block != NULL;
    memcpy(h.rec_header, &rec->rec_header, sizeof h.rec_header);
    h.data_len = (uint32_t)record_len(rec);
    buf_add(out, &h, sizeof h);
    buf_add(out, data, h.data_len);
    size_t o = out->len;
    if (rec->block)
        wtap_block_foreach_option(rec->block, encode_opt, out);
    size_t a = out->len;
    encode_aux(out, rec);
    struct wire_head *hp = (struct wire_head *)(out->p + start);
    hp->opts_len = (uint32_t)(a - o);
    hp->aux_len = (uint32_t)(out->len - a);
}

void recwire_decoder_init(struct wire_decoder *d)
{
    wtap_rec_init(&d->rec);
    buf_init(&d->aux, 256);
}

void recwire_decoder_fini(struct wire_decoder *d)
{
    wtap_rec_cleanup(&d->rec);
    buf_fini(&d->aux);
}

bool recwire_decode(struct wire_decoder *d, const void *p, size_t n, struct wire_frame *f,
                    const uint8_t **data)
{
    struct wire_head h;
    if (n < sizeof h)
        return false;
    memcpy(&h, p, sizeof h);
    if ((uint64_t)h.data_len + h.opts_len + h.aux_len != n - sizeof h)
        return false;
    const uint8_t *b = (const uint8_t *)p + sizeof h;
    wtap_rec *rec = &d->rec;
    wtap_rec_reset(rec);
    rec->rec_type = h.rec_type;
    rec->presence_flags = h.presence_flags;
    rec->section_number = h.section_number;
    rec->tsprec = h.tsprec;
    rec->ts.secs = (time_t)h.ts_secs;
    rec->ts.nsecs = h.ts_nsecs;
    memcpy(&rec->rec_header, h.rec_header, sizeof h.rec_header);
    if (h.has_block) {
        /* a new block each time: the dissection releases it, as with a file's records */
        rec->block = wtap_block_create(WTAP_BLOCK_PACKET);
        decode_opts(rec->block, b + h.data_len, h.opts_len);
    } else {
        rec->block = NULL;
    }
    decode_aux(d, b + h.data_len + h.opts_len, h.aux_len);
    *f = h.f;
    *data = b;
    return true;
}
