/* doc: protocol tree -> JSON document. Hot path: no allocation once warmed up. */
#include "doc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <epan/ftypes/ftypes.h>

#include "../dissect/dissect.h"
#include "../util/strset.h"
#include "../util/timefmt.h"
#include "community_id.h"
#include "json.h"
#include "naming.h"
#include "sections.h"

#define MAX_DEPTH 200
#define MAX_LAYERS 64

/* What the builder remembers about a registered field or protocol, by its id. */
#define COUNTER_TCP_LIST 255 /* a text field listing tcp.stream numbers */

struct field_cache {
    char *key;          /* "\"ip.src\":" ready to copy; NULL until first seen */
    uint32_t keylen;
    int32_t canon;      /* the first field registered under the same name, + 1 (0: unknown):
                         * fields are grouped by name, so one name is one key and one ref */
    uint8_t proto_known; /* kind/listed computed */
    uint8_t kind;       /* enum layer_kind, for protocols */
    uint8_t listed;     /* protocol named in protocols.list */
    uint8_t top;        /* a frame field written as a top-level field, not in the frame layer */
    uint8_t counter;    /* a per-session counter: its kind + 1; or COUNTER_TCP_LIST */
    uint8_t sel_known;  /* dropped computed */
    uint8_t dropped;    /* left out by --fields/--exclude-fields */
};

struct item {
    field_info *fi;
    int32_t next;  /* next item of the same field in this layer, or -1 */
    int32_t count; /* on the first item of a field: how many */
};

struct layer {
    proto_node *node;  /* NULL for a link layer made of pseudo-header items only */
    int proto_id;
    const char *name;
    int pre_first;     /* items before the layer's own (a pseudo-header), in d->attach, or -1 */
    int attach_first;  /* items after them, or -1 */
    enum layer_role role;
};

struct attach {
    proto_node *node;
    int next; /* next attachment of the same layer, or -1 */
};

struct doc {
    size_t max_bytes;
    struct fieldsel sel;    /* borrowed from the config: it outlives the builder */
    bool selecting;
    struct naming *naming;
    struct strset *listed;
    int proto_frame;
    int hf_frame_len, hf_frame_cap_len, hf_frame_protocols;
    struct {                /* what the Community ID is computed from */
        int ip, ipv6, tcp, udp, sctp, icmp, icmpv6;       /* protocols */
        int ip_src, ip_dst, ip_proto, ip6_src, ip6_dst;   /* fields */
        int ip6_nxt[5];     /* ipv6.nxt and the extension headers' */
        int ports[5][2];    /* tcp, udp, sctp ports; icmp, icmpv6 type and code */
    } cid;
    bool in_frame;          /* collecting the frame layer: leave out its top-level facts */

    struct field_cache *fc; /* indexed by field id */
    size_t fc_n;
    uint32_t *stamp;        /* per field id: generation of the layer it was last seen in */
    int32_t *head, *last;   /* per field id: first/last item index in that layer */
    uint32_t gen;

    struct item *items;
    size_t items_n, items_cap;
    int32_t *order;         /* first items, in order of first occurrence */
    size_t order_n, order_cap;

    struct layer layers[MAX_LAYERS];
    struct layer_info info[MAX_LAYERS];
    struct attach *attach;
    size_t attach_n, attach_cap;
    proto_node **pre;       /* top-level items waiting for the layer they belong to */
    size_t pre_n, pre_cap;

    /* Field ids for the sinks: (layer key, field) -> dense id, and each id's definition
     * (path, class), handed on with the first document that uses it. */
    uint64_t *ref_keys;     /* open addressing; 0 = empty */
    uint32_t *ref_ids;
    size_t ref_cap, ref_count;
    uint32_t *ids;          /* the field ids of the current document */
    size_t ids_n, ids_cap;
    struct doc_field_def *defs; /* ids first used by the current document */
    size_t defs_n, defs_cap;
    struct buf def_paths;   /* their paths, back to back */
    struct doc_counter *counters; /* the counters of the current document */
    size_t counters_n, counters_cap;

    struct buf source_json; /* ,"capture":...,"file_name":... */
    struct buf out;
    struct buf tmp;
    struct doc_stats stats;
};

static void add_registered(void *ctx, int id, const char *abbrev)
{
    struct doc *d = ctx;
    naming_add(d->naming, abbrev);
    if ((size_t)id >= d->fc_n)
        d->fc_n = (size_t)id + 1;
}

static bool load_protocols_list(struct doc *d, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read the protocols list: %s", path, strerror(errno));
        return false;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *s = line;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strcspn(s, " \t\r\n");
        if (n)
            strset_add(d->listed, s, n);
    }
    bool ok = !ferror(f);
    fclose(f);
    if (!ok)
        snprintf(err, errlen, "%s: error reading the protocols list", path);
    return ok;
}

static void ensure_field(struct doc *d, int id)
{
    if ((size_t)id < d->fc_n)
        return;
    /* A field registered after start-up (some dissectors add fields at run time). */
    size_t n = d->fc_n, want = (size_t)id + 1024;
    d->fc = xrealloc(d->fc, want * sizeof *d->fc);
    d->stamp = xrealloc(d->stamp, want * sizeof *d->stamp);
    d->head = xrealloc(d->head, want * sizeof *d->head);
    d->last = xrealloc(d->last, want * sizeof *d->last);
    memset(d->fc + n, 0, (want - n) * sizeof *d->fc);
    memset(d->stamp + n, 0, (want - n) * sizeof *d->stamp);
    d->fc_n = want;
}

struct doc *doc_new(const struct doc_config *cfg, char *err, size_t errlen)
{
    struct doc *d = xcalloc(1, sizeof *d);
    d->max_bytes = cfg->max_bytes;
    d->sel = cfg->fields;
    d->selecting = fieldsel_active(&cfg->fields);
    d->listed = strset_new();
    if (!load_protocols_list(d, cfg->protocols_list, err, errlen)) {
        doc_free(d);
        return NULL;
    }
    d->naming = naming_new();
    dis_for_each_field(add_registered, d);
    d->fc = xcalloc(d->fc_n, sizeof *d->fc);
    d->stamp = xcalloc(d->fc_n, sizeof *d->stamp);
    d->head = xcalloc(d->fc_n, sizeof *d->head);
    d->last = xcalloc(d->fc_n, sizeof *d->last);
    d->proto_frame = dis_proto_id("frame");
    d->hf_frame_len = dis_field_id("frame.len");
    d->hf_frame_cap_len = dis_field_id("frame.cap_len");
    d->hf_frame_protocols = dis_field_id("frame.protocols");
    d->cid.ip = dis_proto_id("ip");
    d->cid.ipv6 = dis_proto_id("ipv6");
    d->cid.tcp = dis_proto_id("tcp");
    d->cid.udp = dis_proto_id("udp");
    d->cid.sctp = dis_proto_id("sctp");
    d->cid.icmp = dis_proto_id("icmp");
    d->cid.icmpv6 = dis_proto_id("icmpv6");
    d->cid.ip_src = dis_field_id("ip.src");
    d->cid.ip_dst = dis_field_id("ip.dst");
    d->cid.ip_proto = dis_field_id("ip.proto");
    d->cid.ip6_src = dis_field_id("ipv6.src");
    d->cid.ip6_dst = dis_field_id("ipv6.dst");
    const char *nxt[5] = { "ipv6.nxt", "ipv6.hopopts.nxt", "ipv6.routing.nxt", "ipv6.fraghdr.nxt",
                           "ipv6.dstopts.nxt" };
    for (int i = 0; i < 5; i++)
        d->cid.ip6_nxt[i] = dis_field_id(nxt[i]);
    const char *ports[5][2] = { { "tcp.srcport", "tcp.dstport" }, { "udp.srcport", "udp.dstport" },
                                { "sctp.srcport", "sctp.dstport" }, { "icmp.type", "icmp.code" },
                                { "icmpv6.type", "icmpv6.code" } };
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 2; j++)
            d->cid.ports[i][j] = dis_field_id(ports[i][j]);
    /* The frame's facts that are top-level fields of every document (docs/schema.md). */
    const char *top[] = { "frame.number", "frame.len", "frame.cap_len", "frame.protocols",
                          "frame.time", "frame.time_epoch" };
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
        int id = dis_field_id(top[i]);
        if (id >= 0 && (size_t)id < d->fc_n)
            d->fc[id].top = 1;
    }
    const char *counters[DOC_N_COUNTERS] = { DOC_COUNTER_FIELDS };
    for (int i = 0; i < DOC_N_COUNTERS; i++) {
        int id = dis_field_id(counters[i]);
        if (id >= 0 && (size_t)id < d->fc_n)
            d->fc[id].counter = (uint8_t)(i + 1);
    }
    /* A text field that lists tcp.stream numbers (the subflows of an MPTCP connection):
     * each number is renumbered as tcp.stream is. */
    int subflows = dis_field_id("mptcp.analysis.subflows");
    if (subflows >= 0 && (size_t)subflows < d->fc_n)
        d->fc[subflows].counter = COUNTER_TCP_LIST;
    buf_init(&d->source_json, 256);
    buf_init(&d->out, 64 * 1024);
    buf_init(&d->tmp, 256);
    buf_init(&d->def_paths, 4096);
    return d;
}

void doc_free(struct doc *d)
{
    if (!d)
        return;
    naming_free(d->naming);
    strset_free(d->listed);
    for (size_t i = 0; i < d->fc_n && d->fc; i++)
        free(d->fc[i].key);
    free(d->fc);
    free(d->stamp);
    free(d->head);
    free(d->last);
    free(d->items);
    free(d->order);
    free(d->attach);
    free(d->pre);
    free(d->ref_keys);
    free(d->ref_ids);
    free(d->ids);
    free(d->defs);
    free(d->counters);
    buf_fini(&d->def_paths);
    buf_fini(&d->source_json);
    buf_fini(&d->out);
    buf_fini(&d->tmp);
    free(d);
}

const struct doc_stats *doc_stats(const struct doc *d) { return &d->stats; }

static void add_counter(struct doc *d, uint32_t kind, size_t at, uint64_t value);

/* The numbers of a tcp.stream list ("3 7 "), as tcp.stream counters: where they stand in
 * the document from at (0: not written, scanned only). */
static void add_counter_list(struct doc *d, const char *s, size_t n, size_t at)
{
    for (size_t i = 0; i < n;) {
        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        size_t j = i;
        uint64_t v = 0;
        while (j < n && s[j] >= '0' && s[j] <= '9' && j - i < 10)
            v = v * 10 + (uint64_t)(s[j++] - '0');
        if (at) {
            add_counter(d, 0, at + i, v);
            d->counters[d->counters_n - 1].len = (uint32_t)(j - i);
        } else {
            add_counter(d, 0, 0, v);
        }
        i = j;
    }
}

static const char *field_text(field_info *fi, size_t *n)
{
    const wmem_strbuf_t *sb = fi->value.value.strbuf;
    *n = sb ? wmem_strbuf_get_len(sb) : 0;
    return sb ? wmem_strbuf_get_str(sb) : "";
}

static void scan_counters(struct doc *d, proto_node *node, int depth)
{
    for (proto_node *c = node->first_child; c && depth < MAX_DEPTH; c = c->next) {
        field_info *fi = PNODE_FINFO(c);
        if (fi && fi->hfinfo->id >= 0 && (size_t)fi->hfinfo->id < d->fc_n) {
            unsigned k = d->fc[fi->hfinfo->id].counter;
            if (k && k - 1 < DOC_N_RENUMBERED) {
                add_counter(d, k - 1u, 0, fvalue_get_uinteger(&fi->value));
            } else if (k == COUNTER_TCP_LIST && IS_FT_STRING(fi->hfinfo->type)) {
                size_t n;
                const char *t = field_text(fi, &n);
                add_counter_list(d, t, n, 0);
            }
        }
        if (c->first_child)
            scan_counters(d, c, depth + 1);
    }
}

size_t doc_scan_counters(struct doc *d, proto_tree *tree, const struct doc_counter **out)
{
    d->counters_n = 0;
    if (tree)
        scan_counters(d, tree, 0);
    *out = d->counters;
    return d->counters_n;
}

void doc_set_source(struct doc *d, const struct doc_source *src)
{
    envelope_source(&d->source_json, src);
}

/* The cached "key": of a field, built on first use. */
static void write_key(struct doc *d, const header_field_info *hf)
{
    struct field_cache *c = &d->fc[hf->id];
    if (!c->key) {
        buf_reset(&d->tmp);
        naming_key(d->naming, hf->abbrev, &d->tmp);
        struct buf k;
        buf_init(&k, d->tmp.len + 8);
        json_str(&k, d->tmp.p, d->tmp.len, 0);
        buf_addc(&k, ':');
        c->key = k.p;
        c->keylen = (uint32_t)k.len;
    }
    buf_add(&d->out, c->key, c->keylen);
}

static void write_fallback(struct doc *d, fvalue_t *fv, const header_field_info *hf)
{
    char *s = fvalue_to_string_repr(NULL, fv, FTREPR_DISPLAY, hf->display);
    if (!s) {
        buf_add(&d->out, "null", 4);
        return;
    }
    if (json_str(&d->out, s, strlen(s), d->max_bytes))
        d->stats.cut_values++;
    wmem_free(NULL, s);
}

static void write_hex_plain(struct buf *b, const uint8_t *p, size_t n)
{
    json_hex(b, p, n, 0);
}

static void add_counter(struct doc *d, uint32_t kind, size_t at, uint64_t value)
{
    if (d->counters_n == d->counters_cap) {
        d->counters_cap = d->counters_cap ? d->counters_cap * 2 : 8;
        d->counters = xrealloc(d->counters, d->counters_cap * sizeof *d->counters);
    }
    d->counters[d->counters_n++] = (struct doc_counter){ (uint32_t)at,
                                                         (uint32_t)(d->out.len - at), kind, value };
}

static void write_value(struct doc *d, field_info *fi)
{
    const header_field_info *hf = fi->hfinfo;
    fvalue_t *fv = &fi->value;
    struct buf *b = &d->out;
    switch (hf->type) {
    case FT_NONE:
    case FT_PROTOCOL:
        buf_add(b, "true", 4);
        break;
    case FT_BOOLEAN:
        if (fvalue_get_uinteger64(fv))
            buf_add(b, "true", 4);
        else
            buf_add(b, "false", 5);
        break;
    case FT_CHAR: {
        char c = (char)fvalue_get_uinteger(fv);
        json_str(b, &c, 1, 0);
        break;
    }
    case FT_UINT8:
    case FT_UINT16:
    case FT_UINT24:
    case FT_UINT32:
    case FT_FRAMENUM:
    case FT_IPXNET: {
        size_t at = b->len;
        json_u64(b, fvalue_get_uinteger(fv));
        if (hf->id < (int)d->fc_n && d->fc[hf->id].counter)
            add_counter(d, d->fc[hf->id].counter - 1u, at, fvalue_get_uinteger(fv));
        break;
    }
    case FT_UINT40:
    case FT_UINT48:
    case FT_UINT56:
    case FT_UINT64:
        json_u64(b, fvalue_get_uinteger64(fv));
        break;
    case FT_INT8:
    case FT_INT16:
    case FT_INT24:
    case FT_INT32:
        json_i64(b, fvalue_get_sinteger(fv));
        break;
    case FT_INT40:
    case FT_INT48:
    case FT_INT56:
    case FT_INT64:
        json_i64(b, fvalue_get_sinteger64(fv));
        break;
    case FT_FLOAT:
        json_double(b, fvalue_get_floating(fv), 9);
        break;
    case FT_DOUBLE:
        json_double(b, fvalue_get_floating(fv), 17);
        break;
    case FT_ABSOLUTE_TIME: {
        const nstime_t *t = fvalue_get_time(fv);
        /* Wireshark's conventions: an NTP time of zero is "NULL" (no time), and a
         * fraction of G_MAXINT means "whole seconds only". */
        if (hf->display == ABSOLUTE_TIME_NTP_UTC && t->secs == 0 &&
            (t->nsecs == 0 || t->nsecs == G_MAXINT)) {
            buf_add(b, "null", 4);
            break;
        }
        buf_addc(b, '"');
        tf_iso8601(b, (int64_t)t->secs, t->nsecs == G_MAXINT ? 0 : t->nsecs, 9);
        buf_addc(b, '"');
        break;
    }
    case FT_RELATIVE_TIME: {
        const nstime_t *t = fvalue_get_time(fv);
        size_t at = b->len;
        json_seconds(b, (int64_t)t->secs, t->nsecs, 9);
        if (hf->id < (int)d->fc_n && d->fc[hf->id].counter)
            add_counter(d, d->fc[hf->id].counter - 1u, at, 0);
        break;
    }
    case FT_IPv4: {
        uint32_t a = fv->value.ipv4.addr; /* host order */
        char *o = buf_reserve(b, 18), *s = o;
        *o++ = '"';
        for (int i = 3; i >= 0; i--) {
            unsigned v = (a >> (i * 8)) & 0xff;
            if (v >= 100)
                *o++ = (char)('0' + v / 100);
            if (v >= 10)
                *o++ = (char)('0' + v / 10 % 10);
            *o++ = (char)('0' + v % 10);
            if (i)
                *o++ = '.';
        }
        *o++ = '"';
        b->len += (size_t)(o - s);
        break;
    }
    case FT_IPv6: {
        char s[INET6_ADDRSTRLEN];
        if (!inet_ntop(AF_INET6, fv->value.ipv6.addr.bytes, s, sizeof s))
            buf_add(b, "null", 4);
        else
            json_str(b, s, strlen(s), 0);
        break;
    }
    case FT_EUI64: {
        uint64_t v = fvalue_get_uinteger64(fv);
        uint8_t p[8];
        for (int i = 7; i >= 0; i--, v >>= 8)
            p[i] = (uint8_t)v;
        write_hex_plain(b, p, 8);
        break;
    }
    case FT_ETHER:
    case FT_FCWWN:
        write_hex_plain(b, fv->value.bytes->data, fv->value.bytes->len);
        break;
    case FT_BYTES:
    case FT_UINT_BYTES:
        if (json_hex(b, fv->value.bytes ? fv->value.bytes->data : NULL,
                     fv->value.bytes ? fv->value.bytes->len : 0, d->max_bytes))
            d->stats.cut_values++;
        break;
    case FT_STRING:
    case FT_STRINGZ:
    case FT_UINT_STRING:
    case FT_STRINGZPAD:
    case FT_STRINGZTRUNC: {
        size_t n;
        const char *s = field_text(fi, &n);
        size_t at = b->len;
        if (json_str(b, s, n, d->max_bytes))
            d->stats.cut_values++;
        else if (hf->id < (int)d->fc_n && d->fc[hf->id].counter == COUNTER_TCP_LIST &&
                 b->len - at == n + 2)
            add_counter_list(d, s, n, at + 1); /* digits and spaces: written as they are */
        break;
    }
    default: /* OIDs, GUIDs, AX.25, VINES, system IDs, IEEE 11073 floats: their text form */
        write_fallback(d, fv, hf);
        break;
    }
}

/* Several registered fields may share a name (tcp.analysis.duplicate_ack); they are one
 * key in the document, so they are grouped under the first of them. */
static int canonical_id(struct doc *d, const header_field_info *hf)
{
    ensure_field(d, hf->id);
    struct field_cache *c = &d->fc[hf->id];
    if (!c->canon) {
        const header_field_info *first = hf;
        while (first->same_name_prev_id != -1)
            first = proto_registrar_get_nth((guint)first->same_name_prev_id);
        c->canon = first->id + 1;
    }
    return c->canon - 1;
}

static void add_item(struct doc *d, field_info *fi)
{
    int id = canonical_id(d, fi->hfinfo); /* <= hfinfo->id, so already in the tables */
    if (d->in_frame && d->fc[id].top)
        return;
    if (d->selecting) {
        struct field_cache *c = &d->fc[id];
        if (!c->sel_known) {
            c->dropped = !fieldsel_keeps(&d->sel, fi->hfinfo->abbrev);
            c->sel_known = 1;
        }
        if (c->dropped)
            return;
    }
    if (d->items_n == d->items_cap) {
        d->items_cap = d->items_cap ? d->items_cap * 2 : 512;
        d->items = xrealloc(d->items, d->items_cap * sizeof *d->items);
    }
    int32_t idx = (int32_t)d->items_n++;
    d->items[idx] = (struct item){ fi, -1, 1 };
    if (d->stamp[id] == d->gen) {
        d->items[d->last[id]].next = idx;
        d->items[d->head[id]].count++;
        d->last[id] = idx;
        return;
    }
    d->stamp[id] = d->gen;
    d->head[id] = d->last[id] = idx;
    if (d->order_n == d->order_cap) {
        d->order_cap = d->order_cap ? d->order_cap * 2 : 256;
        d->order = xrealloc(d->order, d->order_cap * sizeof *d->order);
    }
    d->order[d->order_n++] = idx;
}

/* Collects the fields below node in tree order. Items without a value (text lines,
 * FT_NONE and FT_PROTOCOL) are only containers, unless they have no children: then
 * their presence is the information, written as true. */
static void collect(struct doc *d, proto_node *node, int depth)
{
    if (depth > MAX_DEPTH)
        return;
    for (proto_node *c = node->first_child; c; c = c->next) {
        field_info *fi = PNODE_FINFO(c);
        if (!fi || fi->hfinfo->id == hf_text_only) {
            collect(d, c, depth + 1);
            continue;
        }
        enum ftenum t = fi->hfinfo->type;
        if ((t == FT_NONE || t == FT_PROTOCOL) && c->first_child) {
            collect(d, c, depth + 1);
            continue;
        }
        add_item(d, fi);
        if (c->first_child)
            collect(d, c, depth + 1);
    }
}

#define REF_ENVELOPE 0xffffffffu
#define REF_OTHER_BASE 16u

static enum doc_class class_of(enum ftenum t);
static void describe_ref(struct doc *d, uint64_t ref, struct buf *path, enum doc_class *cls);

static size_t ref_slot(const struct doc *d, uint64_t key)
{
    size_t m = d->ref_cap - 1, i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & m;
    while (d->ref_keys[i] && d->ref_keys[i] != key)
        i = (i + 1) & m;
    return i;
}

/* The dense id of a (layer key, field) pair; a new one is defined in this document. */
static uint32_t ref_id(struct doc *d, uint64_t ref)
{
    uint64_t key = ref + 1; /* never 0 */
    if ((d->ref_count + 1) * 2 > d->ref_cap) {
        uint64_t *ok = d->ref_keys;
        uint32_t *oi = d->ref_ids;
        size_t oc = d->ref_cap;
        d->ref_cap = oc ? oc * 2 : 1024;
        d->ref_keys = xcalloc(d->ref_cap, sizeof *d->ref_keys);
        d->ref_ids = xcalloc(d->ref_cap, sizeof *d->ref_ids);
        for (size_t i = 0; i < oc; i++)
            if (ok[i]) {
                size_t j = ref_slot(d, ok[i]);
                d->ref_keys[j] = ok[i];
                d->ref_ids[j] = oi[i];
            }
        free(ok);
        free(oi);
    }
    size_t i = ref_slot(d, key);
    if (d->ref_keys[i])
        return d->ref_ids[i];
    uint32_t id = (uint32_t)d->ref_count++;
    d->ref_keys[i] = key;
    d->ref_ids[i] = id;
    if (d->defs_n == d->defs_cap) {
        d->defs_cap = d->defs_cap ? d->defs_cap * 2 : 64;
        d->defs = xrealloc(d->defs, d->defs_cap * sizeof *d->defs);
    }
    struct doc_field_def *def = &d->defs[d->defs_n++];
    size_t off = d->def_paths.len;
    def->id = id;
    describe_ref(d, ref, &d->def_paths, &def->cls);
    /* the path's place for now; made a pointer once the document is complete */
    def->path = (const char *)(uintptr_t)off;
    def->path_len = d->def_paths.len - off;
    return id;
}

static void add_ref(struct doc *d, size_t li, uint32_t field)
{
    uint32_t lk = d->layers[li].role != ROLE_OTHER ? (uint32_t)d->layers[li].role
                                                   : REF_OTHER_BASE + (uint32_t)d->layers[li].proto_id;
    if (d->ids_n == d->ids_cap) {
        d->ids_cap = d->ids_cap ? d->ids_cap * 2 : 256;
        d->ids = xrealloc(d->ids, d->ids_cap * sizeof *d->ids);
    }
    d->ids[d->ids_n++] = ref_id(d, ((uint64_t)lk << 32) | field);
}

static void collect_attached(struct doc *d, int a)
{
    for (; a >= 0; a = d->attach[a].next) {
        proto_node *n = d->attach[a].node;
        field_info *fi = PNODE_FINFO(n);
        if (fi && fi->hfinfo->id != hf_text_only &&
            !((fi->hfinfo->type == FT_NONE || fi->hfinfo->type == FT_PROTOCOL) && n->first_child))
            add_item(d, fi);
        collect(d, n, 1);
    }
}

/* Writes a layer's object; false (and nothing written) when --fields/--exclude-fields
 * left none of its fields. */
static bool write_layer(struct doc *d, size_t li)
{
    struct buf *b = &d->out;
    struct layer *l = &d->layers[li];
    d->gen++;
    if (d->gen == 0) { /* wrapped: forget all stamps */
        memset(d->stamp, 0, d->fc_n * sizeof *d->stamp);
        d->gen = 1;
    }
    d->items_n = d->order_n = 0;
    d->in_frame = l->role == ROLE_FRAME;
    collect_attached(d, l->pre_first);
    if (l->node)
        collect(d, l->node, 0);
    collect_attached(d, l->attach_first);
    d->in_frame = false;
    if (d->selecting && d->order_n == 0)
        return false;
    buf_addc(b, '{');
    bool first = true;
    if (l->role == ROLE_OTHER) {
        const char *env = li > 0 ? d->layers[li - 1].name : "frame";
        buf_adds(b, "\"envelope\":");
        json_str(b, env, strlen(env), 0);
        first = false;
        add_ref(d, li, REF_ENVELOPE);
    }
    for (size_t o = 0; o < d->order_n; o++) {
        struct item *it = &d->items[d->order[o]];
        if (!first)
            buf_addc(b, ',');
        first = false;
        write_key(d, it->fi->hfinfo);
        add_ref(d, li, (uint32_t)d->fc[it->fi->hfinfo->id].canon - 1);
        if (it->count == 1) {
            write_value(d, it->fi);
            continue;
        }
        buf_addc(b, '[');
        for (int32_t k = d->order[o]; k >= 0; k = d->items[k].next) {
            if (k != d->order[o])
                buf_addc(b, ',');
            write_value(d, d->items[k].fi);
        }
        buf_addc(b, ']');
    }
    buf_addc(b, '}');
    return true;
}

static const char *layer_key(struct doc *d, size_t i)
{
    const char *k = sections_role_key(d->layers[i].role);
    return k ? k : d->layers[i].name;
}

static void add_attach(struct doc *d, int layer, proto_node *node, bool pre)
{
    if (d->attach_n == d->attach_cap) {
        d->attach_cap = d->attach_cap ? d->attach_cap * 2 : 32;
        d->attach = xrealloc(d->attach, d->attach_cap * sizeof *d->attach);
    }
    int idx = (int)d->attach_n++;
    d->attach[idx] = (struct attach){ node, -1 };
    int *p = pre ? &d->layers[layer].pre_first : &d->layers[layer].attach_first;
    while (*p >= 0)
        p = &d->attach[*p].next;
    *p = idx;
}

static void proto_facts(struct doc *d, int proto_id, const char *name)
{
    ensure_field(d, proto_id);
    struct field_cache *c = &d->fc[proto_id];
    if (c->proto_known)
        return;
    c->kind = (uint8_t)sections_kind(name);
    c->listed = strset_has(d->listed, name, strlen(name));
    c->proto_known = 1;
}

/* The first field with one of the ids below node (depth-first), or the last with last. */
static field_info *find_field(proto_node *node, const int *ids, size_t n, bool last, int depth)
{
    field_info *hit = NULL;
    for (proto_node *c = node->first_child; c && depth < MAX_DEPTH; c = c->next) {
        field_info *fi = PNODE_FINFO(c);
        if (fi)
            for (size_t i = 0; i < n; i++)
                if (fi->hfinfo->id == ids[i]) {
                    if (!last)
                        return fi;
                    hit = fi;
                }
        if (c->first_child) {
            field_info *sub = find_field(c, ids, n, last, depth + 1);
            if (sub && !last)
                return sub;
            if (sub)
                hit = sub;
        }
    }
    return hit;
}

static bool field_uint(proto_node *node, int id, uint32_t *out)
{
    field_info *fi = find_field(node, &id, 1, false, 0);
    if (!fi)
        return false;
    *out = fvalue_get_uinteger(&fi->value);
    return true;
}

/* The packet's flow for the Community ID (docs/schema.md): the last IP header at the top
 * of the tree (tunnels are followed: VXLAN, GRE, IP in IP put the inner packet at the
 * top; ICMP errors, sFlow samples and the like quote packets inside their own item) and
 * the TCP, UDP, SCTP, ICMP or ICMPv6 header after it; without one (another protocol, a
 * fragment, a packet cut short), the IP-only form. */
static bool flow_of(struct doc *d, size_t nl, struct cid_flow *f)
{
    long ipl = -1;
    for (size_t i = 0; i < nl; i++)
        if (d->layers[i].proto_id == d->cid.ip || d->layers[i].proto_id == d->cid.ipv6)
            ipl = (long)i;
    if (ipl < 0 || !d->layers[ipl].node)
        return false;
    proto_node *ip = d->layers[ipl].node;
    memset(f, 0, sizeof *f);
    uint32_t proto = 0;
    if (d->layers[ipl].proto_id == d->cid.ip) {
        field_info *s = find_field(ip, &d->cid.ip_src, 1, false, 0);
        field_info *t = find_field(ip, &d->cid.ip_dst, 1, false, 0);
        if (!s || !t || !field_uint(ip, d->cid.ip_proto, &proto))
            return false;
        uint32_t a = s->value.value.ipv4.addr, b = t->value.value.ipv4.addr; /* host order */
        a = htonl(a);
        b = htonl(b);
        f->family = 4;
        memcpy(f->saddr, &a, 4);
        memcpy(f->daddr, &b, 4);
    } else {
        field_info *s = find_field(ip, &d->cid.ip6_src, 1, false, 0);
        field_info *t = find_field(ip, &d->cid.ip6_dst, 1, false, 0);
        field_info *n = find_field(ip, d->cid.ip6_nxt, 5, true, 0);
        if (!s || !t || !n)
            return false;
        f->family = 6;
        memcpy(f->saddr, s->value.value.ipv6.addr.bytes, 16);
        memcpy(f->daddr, t->value.value.ipv6.addr.bytes, 16);
        proto = fvalue_get_uinteger(&n->value);
    }
    f->proto = (uint8_t)proto;
    const int tp[5] = { d->cid.tcp, d->cid.udp, d->cid.sctp, d->cid.icmp, d->cid.icmpv6 };
    const uint8_t num[5] = { CID_PROTO_TCP, CID_PROTO_UDP, CID_PROTO_SCTP, CID_PROTO_ICMP,
                             CID_PROTO_ICMPV6 };
    for (size_t i = (size_t)ipl + 1; i < nl; i++)
        for (int k = 0; k < 5; k++) {
            if (d->layers[i].proto_id != tp[k] || !d->layers[i].node)
                continue;
            uint32_t a, b;
            if (field_uint(d->layers[i].node, d->cid.ports[k][0], &a) &&
                field_uint(d->layers[i].node, d->cid.ports[k][1], &b)) {
                f->proto = num[k];
                f->has_ports = true;
                f->sport = (uint16_t)a;
                f->dport = (uint16_t)b;
            }
            return true;
        }
    return true;
}

const struct buf *doc_build(struct doc *d, proto_tree *tree, const wtap_rec *rec,
                            uint32_t frame_number, struct doc_info *info)
{
    struct buf *b = &d->out;
    buf_reset(b);
    d->ids_n = 0;
    d->defs_n = 0;
    d->counters_n = 0;
    uint64_t cuts_before = d->stats.cut_values;
    buf_reset(&d->def_paths);
    size_t nl = 0;
    proto_node *frame = NULL;
    size_t after_frame = 0;  /* the first layer after the frame */
    d->attach_n = 0;
    d->pre_n = 0;

    /* Top-level items, in tree order. Each protocol is a layer (the frame too, and what
     * stands before it: packet comments). Items that are not protocols: those between the
     * frame and the first protocol are a pseudo-header (Juniper's, say) and go to the link
     * layer; later ones join the latest layer of their own protocol, else the layer before
     * them. */
    for (proto_node *c = tree ? tree->first_child : NULL; c; c = c->next) {
        field_info *fi = PNODE_FINFO(c);
        if (!fi)
            continue;
        header_field_info *hf = fi->hfinfo;
        bool is_frame = hf->type == FT_PROTOCOL && hf->id == d->proto_frame && !frame;
        if (hf->type == FT_PROTOCOL && hf->id != hf_text_only) {
            if (nl == MAX_LAYERS) { /* pathological nesting: keep the rest in the last layer */
                add_attach(d, (int)nl - 1, c, false);
                continue;
            }
            proto_facts(d, hf->id, hf->abbrev);
            d->layers[nl] = (struct layer){ c, hf->id, hf->abbrev, -1, -1,
                                            is_frame ? ROLE_FRAME : ROLE_OTHER };
            d->info[nl] = (struct layer_info){ hf->abbrev, d->fc[hf->id].kind,
                                               d->fc[hf->id].listed, ROLE_OTHER };
            nl++;
            if (is_frame) {
                frame = c;
                after_frame = nl;
                for (size_t i = 0; i < d->pre_n; i++) /* before the frame: its own */
                    add_attach(d, (int)nl - 1, d->pre[i], true);
                d->pre_n = 0;
            }
            continue;
        }
        if (nl == after_frame) { /* before the first protocol after the frame */
            if (d->pre_n == d->pre_cap) {
                d->pre_cap = d->pre_cap ? d->pre_cap * 2 : 16;
                d->pre = xrealloc(d->pre, d->pre_cap * sizeof *d->pre);
            }
            d->pre[d->pre_n++] = c;
            continue;
        }
        int target = (int)nl - 1;
        for (int i = (int)nl - 1; i >= 0; i--)
            if (d->layers[i].proto_id == hf->parent) {
                target = i;
                break;
            }
        add_attach(d, target, c, false);
    }
    if (d->pre_n && (nl == after_frame || d->info[after_frame].kind != KIND_OTHER) &&
        nl < MAX_LAYERS) {
        /* A pseudo-header and no link protocol after it: it is the link layer itself,
         * named after the protocol of its first field. */
        memmove(d->layers + after_frame + 1, d->layers + after_frame,
                (nl - after_frame) * sizeof *d->layers);
        memmove(d->info + after_frame + 1, d->info + after_frame,
                (nl - after_frame) * sizeof *d->info);
        header_field_info *hf = PNODE_FINFO(d->pre[0])->hfinfo;
        int pid = hf->parent >= 0 ? hf->parent : hf->id;
        const char *name = pid >= 0 ? proto_registrar_get_nth((guint)pid)->abbrev : "link";
        d->layers[after_frame] = (struct layer){ NULL, pid, name, -1, -1, ROLE_OTHER };
        d->info[after_frame] = (struct layer_info){ name, KIND_OTHER, false, ROLE_OTHER };
        nl++;
    }
    int proto = sections_assign(d->info + after_frame, nl - after_frame);
    if (proto >= 0)
        proto += (int)after_frame;
    for (size_t i = after_frame; i < nl; i++)
        d->layers[i].role = d->info[i].role;
    if (d->pre_n && after_frame < nl) {
        size_t link = after_frame; /* the link layer, by the rule above */
        for (size_t i = 0; i < d->pre_n; i++)
            add_attach(d, (int)link, d->pre[i], true);
    }

    /* Frame facts: lengths and the protocol stack, as Wireshark computed them. */
    uint64_t len = 0, caplen = 0;
    const char *protocols = NULL;
    size_t protocols_len = 0;
    if (rec->rec_type == REC_TYPE_PACKET) {
        len = rec->rec_header.packet_header.len;
        caplen = rec->rec_header.packet_header.caplen;
    }
    for (proto_node *c = frame ? frame->first_child : NULL; c; c = c->next) {
        field_info *fi = PNODE_FINFO(c);
        if (!fi)
            continue;
        int id = fi->hfinfo->id;
        if (id == d->hf_frame_len)
            len = fvalue_get_uinteger(&fi->value);
        else if (id == d->hf_frame_cap_len)
            caplen = fvalue_get_uinteger(&fi->value);
        else if (id == d->hf_frame_protocols && fi->value.value.strbuf) {
            protocols = wmem_strbuf_get_str(fi->value.value.strbuf);
            protocols_len = wmem_strbuf_get_len(fi->value.value.strbuf);
        }
    }

    int64_t secs = 0;
    int32_t nsecs = 0;
    if (rec->presence_flags & WTAP_HAS_TS) {
        /* As Wireshark's time arithmetic does: a fraction of 1e9 ns or more carries. */
        secs = (int64_t)rec->ts.secs;
        nsecs = tf_normalise(&secs, rec->ts.nsecs);
    }
    info->ts_sec = secs;
    info->ts_nsec = nsecs;
    info->frame_number = frame_number;

    envelope_begin(b, secs, nsecs, rec->tsprec == WTAP_TSPREC_NSEC ? 9 : 6, &d->source_json,
                   frame_number, len, caplen);
    if (protocols) {
        buf_adds(b, ",\"protocols\":");
        json_str(b, protocols, protocols_len, 0);
    }
    buf_adds(b, ",\"protocol\":");
    const char *pname = proto >= 0 ? d->layers[proto].name : "frame";
    json_str(b, pname, strlen(pname), 0);
    struct cid_flow flow;
    if (flow_of(d, nl, &flow)) {
        char id[CID_MAX];
        size_t n = cid_hash(&flow, 0, id);
        buf_adds(b, ",\"community_id\":");
        json_str(b, id, n, 0);
    }
    buf_adds(b, ",\"layers\":{");

    bool first = true;
    for (size_t i = 0; i < nl; i++) {
        const char *key = layer_key(d, i);
        bool done = false;
        for (size_t j = 0; j < i && !done; j++)
            done = strcmp(layer_key(d, j), key) == 0;
        if (done)
            continue;
        size_t same = 0;
        for (size_t j = i; j < nl; j++)
            same += strcmp(layer_key(d, j), key) == 0;
        size_t mark = b->len;
        if (!first)
            buf_addc(b, ',');
        json_str(b, key, strlen(key), 0);
        buf_addc(b, ':');
        if (same == 1) {
            if (write_layer(d, i))
                first = false;
            else
                b->len = mark; /* every field left out: no layer */
            continue;
        }
        size_t open = b->len;
        buf_addc(b, '[');
        size_t written = 0;
        for (size_t j = i; j < nl; j++) {
            if (strcmp(layer_key(d, j), key) != 0)
                continue;
            size_t at = b->len;
            if (written)
                buf_addc(b, ',');
            if (write_layer(d, j))
                written++;
            else
                b->len = at;
        }
        if (written == 1) {
            /* one left of several: an object, as for a layer of its own */
            memmove(b->p + open, b->p + open + 1, b->len - open - 1);
            b->len--;
        } else {
            buf_addc(b, ']');
        }
        if (!written)
            b->len = mark;
        else
            first = false;
    }
    buf_adds(b, "}}");
    for (size_t i = 0; i < d->defs_n; i++)
        d->defs[i].path = d->def_paths.p + (uintptr_t)d->defs[i].path;
    info->fields = d->ids;
    info->n_fields = d->ids_n;
    info->defs = d->defs;
    info->n_defs = d->defs_n;
    info->counters = d->counters;
    info->n_counters = d->counters_n;
    info->cut_values = (uint32_t)(d->stats.cut_values - cuts_before);
    return b;
}

static enum doc_class class_of(enum ftenum t)
{
    switch (t) {
    case FT_NONE:
    case FT_PROTOCOL:
    case FT_BOOLEAN:
        return DC_BOOL;
    case FT_UINT8: case FT_UINT16: case FT_UINT24: case FT_UINT32: case FT_FRAMENUM:
    case FT_IPXNET: case FT_INT8: case FT_INT16: case FT_INT24: case FT_INT32:
    case FT_INT40: case FT_INT48: case FT_INT56: case FT_INT64:
    case FT_UINT40: case FT_UINT48: case FT_UINT56:
        return DC_LONG;
    case FT_UINT64:
        return DC_ULONG;
    case FT_FLOAT: case FT_DOUBLE: case FT_RELATIVE_TIME:
        return DC_DOUBLE;
    case FT_ABSOLUTE_TIME:
        return DC_DATE;
    case FT_IPv4: case FT_IPv6:
        return DC_IP;
    case FT_BYTES: case FT_UINT_BYTES:
        return DC_BYTES;
    default:
        return DC_KEYWORD;
    }
}

static void describe_ref(struct doc *d, uint64_t ref, struct buf *path, enum doc_class *cls)
{
    uint32_t lk = (uint32_t)(ref >> 32), field = (uint32_t)ref;
    buf_adds(path, "layers.");
    if (lk < REF_OTHER_BASE)
        buf_adds(path, sections_role_key((enum layer_role)lk));
    else
        buf_adds(path, proto_registrar_get_nth(lk - REF_OTHER_BASE)->abbrev);
    buf_addc(path, '.');
    if (field == REF_ENVELOPE) {
        buf_adds(path, "envelope");
        *cls = DC_KEYWORD;
        return;
    }
    header_field_info *hf = proto_registrar_get_nth(field);
    naming_key(d->naming, hf->abbrev, path);
    *cls = class_of(hf->type);
}
