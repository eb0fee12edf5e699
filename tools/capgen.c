/* capgen: writes deterministic pcap files (a dissector sample and large benchmark workloads) for espcap tests. */
/*
 * Usage:
 *   capgen sample OUT.pcap     ~50 hand-picked packets for the README and golden tests
 *   capgen bench N OUT.pcap    N packets of a mixed LAN/Internet workload for benchmarks
 *
 * Everything comes from fixed seeds and fixed start times, so the same
 * arguments always give byte-identical files (golden tests rely on that).
 * Only documentation address ranges (RFC 5737, RFC 3849) and locally
 * administered MAC addresses are used.
 *
 * Model: a capture point on the client LAN. 192.0.2.0/25 is untagged with
 * router .1; 192.0.2.128/25 is VLAN 100 with router .129; the resolver
 * (.53) and the syslog collector (.60) sit on the untagged segment. Remote
 * servers live in 198.51.100.0/24, 203.0.113.0/24 and 2001:db8:2::/48.
 *
 * Each conversation is first scripted into a list of timed operations
 * (struct conv); the scheduler then interleaves several scripts in time
 * order, so memory stays bounded whatever N is.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USEC_PER_SEC 1000000ull
/* 2024-03-01 00:00:00 UTC. */
#define EPOCH_2024_03_01 1709251200ull
/* The sample starts at noon; the odd microseconds keep usec fields non-zero. */
#define SAMPLE_START ((EPOCH_2024_03_01 + 12 * 3600) * USEC_PER_SEC + 1234)
/* The bench spans ~36 h from midnight, so it crosses one UTC day boundary. */
#define BENCH_START (EPOCH_2024_03_01 * USEC_PER_SEC + 250000)
#define BENCH_SPAN (36ull * 3600 * USEC_PER_SEC)
#define BENCH_MAX 10000000ull
/* Conversations in flight at once; bounds memory and keeps ordering cheap. */
#define BENCH_SLOTS 64

/* Fixed seeds: changing one changes every golden file derived from it. */
#define SAMPLE_SEED 0x6573706361702d31ull
#define BENCH_SEED 0x62656e63682d3031ull

#define SNAPLEN 262144
#define LINKTYPE_ETHERNET 1
#define FRAME_MAX 2048
#define MIN_FRAME 60 /* Ethernet minimum without FCS; shorter frames get zero padding */
#define CONV_OPS_MAX 64
#define CONV_DATA_MAX 16384
#define OUT_BUFFER (1 << 20)

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_PSH = 0x08, TH_ACK = 0x10 };
enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMPV6 = 58 };
enum { OP_TCP, OP_UDP, OP_ICMP, OP_ARP, OP_IPFRAG };
enum { BODY_HTML, BODY_JSON, BODY_CSS, BODY_JS };
enum { DNS_A = 1, DNS_CNAME = 5, DNS_AAAA = 28, DNS_OPT = 41 };

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_zero[6] = {0};
static const uint8_t mac_dns[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x35};
static const uint8_t mac_syslog[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x3c};
static const uint8_t ip4_dns[4] = {192, 0, 2, 53};
static const uint8_t ip4_syslog[4] = {192, 0, 2, 60};
static const uint8_t ip6_dns[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53};

static void fatal(const char *msg)
{
    fprintf(stderr, "capgen: %s\n", msg);
    exit(1);
}

/* ---- deterministic randomness ---- */

struct rng {
    uint64_t state;
};

/* splitmix64: tiny, fast, and its output depends only on the seed. */
static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Modulo bias is irrelevant for workload shaping. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

static void rng_fill(struct rng *r, uint8_t *p, size_t n)
{
    while (n) {
        uint64_t v = rng_next(r);
        for (int i = 0; i < 8 && n; i++, n--) {
            *p++ = (uint8_t)v;
            v >>= 8;
        }
    }
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a) ((a)[rng_below((r), (uint32_t)NELEM(a))])

/* FNV-1a: derives stable per-hostname properties (addresses, RTT, TTL). */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

/* ---- byte and string helpers ---- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* pcap headers are written little-endian explicitly so output does not depend on the host. */
static void le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v);
    le16(p + 2, v >> 16);
}

/* Byte writer over a caller buffer sized for the largest message, with back-patched length fields (DNS, TLS). */
struct wbuf {
    uint8_t *p;
    size_t len;
};

static void wb_u8(struct wbuf *w, uint32_t v)
{
    w->p[w->len++] = (uint8_t)v;
}

static void wb_u16(struct wbuf *w, uint32_t v)
{
    put16(w->p + w->len, v);
    w->len += 2;
}

static void wb_u32(struct wbuf *w, uint32_t v)
{
    put32(w->p + w->len, v);
    w->len += 4;
}

static void wb_bytes(struct wbuf *w, const void *d, size_t n)
{
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void wb_rand(struct wbuf *w, struct rng *r, size_t n)
{
    rng_fill(r, w->p + w->len, n);
    w->len += n;
}

/* Reserves a length field of `width` bytes; wb_close fills it in. */
static size_t wb_open(struct wbuf *w, size_t width)
{
    size_t at = w->len;
    w->len += width;
    return at;
}

static void wb_close(struct wbuf *w, size_t at, size_t width)
{
    size_t n = w->len - at - width;
    if (width == 1)
        w->p[at] = (uint8_t)n;
    else if (width == 2)
        put16(w->p + at, (uint32_t)n);
    else {
        w->p[at] = (uint8_t)(n >> 16);
        put16(w->p + at + 1, (uint32_t)n);
    }
}

/* Bounded text builder; the buffers are sized so overflow is a bug, and it is reported as one. */
struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_init(struct sbuf *b, char *mem, size_t cap)
{
    b->p = mem;
    b->len = 0;
    b->cap = cap;
    mem[0] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        fatal("internal error: text buffer too small");
    b->len += (size_t)n;
}

/* Plain append; the bench builds millions of words, and printf is the bottleneck there. */
static void sb_puts(struct sbuf *b, const char *str)
{
    size_t n = strlen(str);
    if (n >= b->cap - b->len)
        fatal("internal error: text buffer too small");
    memcpy(b->p + b->len, str, n + 1);
    b->len += n;
}

/* ---- Internet checksum ---- */

static uint32_t csum_add(uint32_t acc, const uint8_t *p, size_t n)
{
    while (n > 1) {
        acc += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        n -= 2;
    }
    if (n)
        acc += (uint32_t)p[0] << 8;
    return acc;
}

static uint16_t csum_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* ---- pcap output ---- */

struct pcap_out {
    FILE *f;
    char *buf;
};

static int pcap_open(struct pcap_out *o, const char *path)
{
    uint8_t h[24];
    o->f = fopen(path, "wb");
    if (!o->f)
        return -1;
    /* A large stdio buffer is all the batching the bench needs. */
    o->buf = malloc(OUT_BUFFER);
    if (o->buf)
        setvbuf(o->f, o->buf, _IOFBF, OUT_BUFFER);
    le32(h, 0xa1b2c3d4); /* microsecond timestamps */
    le16(h + 4, 2);
    le16(h + 6, 4);
    le32(h + 8, 0);
    le32(h + 12, 0);
    le32(h + 16, SNAPLEN);
    le32(h + 20, LINKTYPE_ETHERNET);
    fwrite(h, 1, sizeof(h), o->f);
    return 0;
}

static void pcap_write(struct pcap_out *o, uint64_t ts, const uint8_t *frame, size_t len)
{
    uint8_t h[16];
    le32(h, (uint32_t)(ts / USEC_PER_SEC));
    le32(h + 4, (uint32_t)(ts % USEC_PER_SEC));
    le32(h + 8, (uint32_t)len);
    le32(h + 12, (uint32_t)len);
    fwrite(h, 1, sizeof(h), o->f);
    fwrite(frame, 1, len, o->f);
}

static int pcap_close(struct pcap_out *o)
{
    int bad = ferror(o->f);
    if (fclose(o->f) != 0)
        bad = 1;
    free(o->buf);
    return bad ? -1 : 0;
}

/* ---- flows and frame building ---- */

/* One side of a flow as seen on the captured link. */
struct endpoint {
    const uint8_t *mac; /* link neighbour: the host itself or the router in front of it */
    const uint8_t *ip;  /* 4 or 16 bytes, per the flow's family; NULL for ARP */
    uint16_t port;
    uint8_t ttl; /* TTL / hop limit as it arrives at the capture point */
};

/* Addressing and transport state of one two-sided flow; index 0 is the initiator. */
struct flow {
    uint8_t v6;
    uint16_t vlan; /* 0: untagged */
    uint8_t mac[2][6];
    uint8_t ip[2][16];
    uint16_t port[2];
    uint8_t ttl[2];
    uint16_t ip_id[2];
    uint32_t label[2]; /* IPv6 flow label */
    uint32_t seq[2];   /* next TCP sequence number to send */
    uint16_t win[2];   /* TCP window after the handshake (scaled) */
    uint16_t syn_win[2];
    uint16_t mss[2];
    uint8_t wscale[2];
};

struct op {
    uint64_t ts; /* absolute, microseconds since the epoch */
    uint32_t off, len; /* payload slice of conv->data */
    uint16_t frag;     /* OP_IPFRAG: IPv4 flags + fragment offset word */
    uint8_t kind, flow, dir;
    uint8_t arg; /* OP_TCP: flags; OP_IPFRAG: IP protocol */
};

/* A scripted conversation: up to two flows (e.g. DNS lookup then TCP), timed ops, payload bytes. */
struct conv {
    struct flow flows[2];
    struct op ops[CONV_OPS_MAX];
    int nops, next;
    uint64_t t; /* scripting clock: time of the last scripted op */
    uint32_t data_len;
    uint8_t data[CONV_DATA_MAX];
};

static void flow_init(struct flow *f, struct rng *r, int v6, uint16_t vlan,
                      const struct endpoint *a, const struct endpoint *b)
{
    const struct endpoint *e[2] = {a, b};
    memset(f, 0, sizeof(*f));
    f->v6 = (uint8_t)v6;
    f->vlan = vlan;
    for (int i = 0; i < 2; i++) {
        memcpy(f->mac[i], e[i]->mac, 6);
        if (e[i]->ip)
            memcpy(f->ip[i], e[i]->ip, v6 ? 16 : 4);
        f->port[i] = e[i]->port;
        f->ttl[i] = e[i]->ttl;
        f->ip_id[i] = (uint16_t)rng_next(r);
        f->label[i] = (uint32_t)rng_next(r) & 0xfffff;
        f->seq[i] = (uint32_t)rng_next(r);
        f->mss[i] = v6 ? 1440 : 1460;
        f->wscale[i] = 7;
    }
    /* Linux-like windows: unscaled in the SYNs, then ~64 KiB expressed with scale 7. */
    f->syn_win[0] = v6 ? 64800 : 64240;
    f->syn_win[1] = v6 ? 64800 : 65160;
    f->win[0] = 502;
    f->win[1] = 509;
}

static size_t put_eth(uint8_t *p, const struct flow *f, int d, uint32_t type)
{
    size_t n = 12;
    memcpy(p, f->mac[!d], 6);
    memcpy(p + 6, f->mac[d], 6);
    if (f->vlan) {
        put16(p + 12, 0x8100);
        put16(p + 14, f->vlan); /* PCP 0, DEI 0 */
        n = 16;
    }
    put16(p + n, type);
    return n + 2;
}

static size_t put_ip(uint8_t *p, struct flow *f, int d, uint8_t proto, size_t plen, uint16_t frag)
{
    if (f->v6) {
        put32(p, 0x60000000u | f->label[d]);
        put16(p + 4, (uint32_t)plen);
        p[6] = proto;
        p[7] = f->ttl[d];
        memcpy(p + 8, f->ip[d], 16);
        memcpy(p + 24, f->ip[!d], 16);
        return 40;
    }
    p[0] = 0x45;
    p[1] = 0;
    put16(p + 2, (uint32_t)(20 + plen));
    put16(p + 4, f->ip_id[d]);
    put16(p + 6, frag);
    p[8] = f->ttl[d];
    p[9] = proto;
    put16(p + 10, 0);
    memcpy(p + 12, f->ip[d], 4);
    memcpy(p + 16, f->ip[!d], 4);
    put16(p + 10, csum_fold(csum_add(0, p, 20)));
    /* All fragments of a datagram share one ID: advance only after the last. */
    if (!(frag & 0x2000))
        f->ip_id[d]++;
    return 20;
}

/* Transport checksum including the IPv4/IPv6 pseudo-header (ICMPv4 has none). */
static uint16_t l4_checksum(const struct flow *f, int d, uint8_t proto, const uint8_t *l4, size_t len)
{
    uint32_t acc = 0;
    if (proto == PROTO_ICMP)
        return csum_fold(csum_add(0, l4, len));
    if (f->v6) {
        acc = csum_add(acc, f->ip[d], 16);
        acc = csum_add(acc, f->ip[!d], 16);
        acc += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
    } else {
        acc = csum_add(acc, f->ip[d], 4);
        acc = csum_add(acc, f->ip[!d], 4);
        acc += (uint32_t)len;
    }
    acc += proto;
    return csum_fold(csum_add(acc, l4, len));
}

static size_t put_tcp(uint8_t *p, struct flow *f, int d, uint8_t flags, const uint8_t *data, size_t len)
{
    size_t hl = 20;
    uint16_t win = f->win[d];
    put16(p, f->port[d]);
    put16(p + 2, f->port[!d]);
    put32(p + 4, f->seq[d]);
    /* Every ACK acknowledges all the peer has sent so far: keeps Wireshark's analysis quiet. */
    put32(p + 8, (flags & TH_ACK) ? f->seq[!d] : 0);
    if (flags & TH_SYN) {
        uint8_t *o = p + 20;
        o[0] = 2; /* MSS */
        o[1] = 4;
        put16(o + 2, f->mss[d]);
        o[4] = 1; /* NOP, NOP, SACK permitted */
        o[5] = 1;
        o[6] = 4;
        o[7] = 2;
        o[8] = 1; /* NOP, window scale */
        o[9] = 3;
        o[10] = 3;
        o[11] = f->wscale[d];
        hl = 32;
        win = f->syn_win[d];
    }
    p[12] = (uint8_t)((hl / 4) << 4);
    p[13] = flags;
    put16(p + 14, win);
    put16(p + 16, 0);
    put16(p + 18, 0);
    if (len)
        memcpy(p + hl, data, len);
    put16(p + 16, l4_checksum(f, d, PROTO_TCP, p, hl + len));
    f->seq[d] += (uint32_t)len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
    return hl + len;
}

static size_t put_udp(uint8_t *p, const struct flow *f, int d, const uint8_t *data, size_t len)
{
    put16(p, f->port[d]);
    put16(p + 2, f->port[!d]);
    put16(p + 4, (uint32_t)(8 + len));
    put16(p + 6, 0);
    memcpy(p + 8, data, len);
    uint16_t c = l4_checksum(f, d, PROTO_UDP, p, len + 8);
    put16(p + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
    return len + 8;
}

static void emit_op(struct pcap_out *o, struct conv *c, const struct op *op)
{
    uint8_t frame[FRAME_MAX];
    struct flow *f = &c->flows[op->flow];
    const uint8_t *data = c->data + op->off;
    int d = op->dir;
    size_t n, l4, l4len = 0;
    uint8_t proto = 0;
    uint16_t frag = 0x4000; /* DF, as Linux sets for TCP and ping */

    if (op->kind == OP_ARP) {
        n = put_eth(frame, f, d, 0x0806);
        memcpy(frame + n, data, op->len);
        n += op->len;
    } else {
        n = put_eth(frame, f, d, f->v6 ? 0x86dd : 0x0800);
        l4 = n + (f->v6 ? 40 : 20);
        switch (op->kind) {
        case OP_TCP:
            proto = PROTO_TCP;
            l4len = put_tcp(frame + l4, f, d, op->arg, data, op->len);
            break;
        case OP_UDP:
            proto = PROTO_UDP;
            frag = 0;
            l4len = put_udp(frame + l4, f, d, data, op->len);
            break;
        case OP_ICMP:
            proto = f->v6 ? PROTO_ICMPV6 : PROTO_ICMP;
            memcpy(frame + l4, data, op->len);
            put16(frame + l4 + 2, 0);
            put16(frame + l4 + 2, l4_checksum(f, d, proto, frame + l4, op->len));
            l4len = op->len;
            break;
        default: /* OP_IPFRAG: the slice is already a finished piece of the datagram */
            proto = op->arg;
            frag = op->frag;
            memcpy(frame + l4, data, op->len);
            l4len = op->len;
            break;
        }
        put_ip(frame + n, f, d, proto, l4len, frag);
        n = l4 + l4len;
    }
    if (n < MIN_FRAME) {
        memset(frame + n, 0, MIN_FRAME - n);
        n = MIN_FRAME;
    }
    pcap_write(o, op->ts, frame, n);
}

/* ---- conversation scripting ---- */

static void conv_reset(struct conv *c, uint64_t start)
{
    c->nops = c->next = 0;
    c->data_len = 0;
    c->t = start;
}

static uint32_t conv_store(struct conv *c, const void *p, size_t n)
{
    uint32_t off = c->data_len;
    if (n > CONV_DATA_MAX - c->data_len)
        fatal("internal error: conversation data overflow");
    memcpy(c->data + off, p, n);
    c->data_len += (uint32_t)n;
    return off;
}

/* Appends an op `gap` microseconds after the previous one. */
static struct op *conv_op(struct conv *c, int kind, int fl, int d, uint32_t arg,
                          uint32_t off, size_t len, uint64_t gap)
{
    if (c->nops == CONV_OPS_MAX)
        fatal("internal error: too many packets in one conversation");
    struct op *op = &c->ops[c->nops++];
    c->t += gap;
    op->ts = c->t;
    op->off = off;
    op->len = (uint32_t)len;
    op->frag = 0;
    op->kind = (uint8_t)kind;
    op->flow = (uint8_t)fl;
    op->dir = (uint8_t)d;
    op->arg = (uint8_t)arg;
    return op;
}

static void conv_data_op(struct conv *c, int kind, int fl, int d, const void *p, size_t n, uint64_t gap)
{
    conv_op(c, kind, fl, d, 0, conv_store(c, p, n), n, gap);
}

/*
 * Timing is as seen from a tap next to the client (side 0): a server packet
 * arrives one RTT after the client packet it answers, and the client
 * reacts within tens to hundreds of microseconds.
 */
static void tcp_open(struct conv *c, struct rng *r, int fl, uint32_t rtt, uint64_t gap)
{
    conv_op(c, OP_TCP, fl, 0, TH_SYN, 0, 0, gap);
    conv_op(c, OP_TCP, fl, 1, TH_SYN | TH_ACK, 0, 0, rtt);
    conv_op(c, OP_TCP, fl, 0, TH_ACK, 0, 0, rng_range(r, 40, 200));
}

/* Splits a payload into MSS-sized segments; PSH on the last one, like a real stack. */
static void tcp_send(struct conv *c, struct rng *r, int fl, int d, const void *p, size_t n, uint64_t gap)
{
    const struct flow *f = &c->flows[fl];
    size_t mss = f->mss[0] < f->mss[1] ? f->mss[0] : f->mss[1];
    uint32_t off = conv_store(c, p, n);
    while (n) {
        size_t seg = n > mss ? mss : n;
        conv_op(c, OP_TCP, fl, d, TH_ACK | (seg == n ? TH_PSH : 0), off, seg, gap);
        off += (uint32_t)seg;
        n -= seg;
        gap = rng_range(r, 12, 40); /* back to back at ~1 Gbit/s */
    }
}

static void tcp_ack(struct conv *c, int fl, int d, uint64_t gap)
{
    conv_op(c, OP_TCP, fl, d, TH_ACK, 0, 0, gap);
}

static void tcp_close(struct conv *c, struct rng *r, int fl, int closer, uint32_t rtt, uint64_t gap)
{
    uint64_t quick = rng_range(r, 30, 250);
    conv_op(c, OP_TCP, fl, closer, TH_FIN | TH_ACK, 0, 0, gap);
    conv_op(c, OP_TCP, fl, !closer, TH_FIN | TH_ACK, 0, 0, closer == 0 ? rtt : quick);
    conv_op(c, OP_TCP, fl, closer, TH_ACK, 0, 0, closer == 0 ? quick : rtt);
}

/* ---- application payloads ---- */

static const char *const words[] = {
    "alpha", "bravo", "cedar", "delta", "ember", "falcon", "garnet", "harbor", "indigo",
    "juniper", "kestrel", "lumen", "maple", "nimbus", "onyx", "pepper", "quartz", "raven",
    "sierra", "tundra", "umber", "violet", "willow", "xenon", "yarrow", "zephyr",
};
static const char *const subdomains[] = {
    "www", "api", "cdn", "static", "img", "mail", "login", "news",
    "shop", "blog", "docs", "m", "video", "assets", "status", "portal",
};
static const char *const domains[] = {"example.com", "example.net", "example.org"};
static const char *const tlds[] = {"example", "test"};
static const char *const user_agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Safari/605.1.15",
    "curl/8.5.0",
    "python-requests/2.31.0",
};

static const char *body_type(int kind)
{
    switch (kind) {
    case BODY_JSON:
        return "application/json";
    case BODY_CSS:
        return "text/css";
    case BODY_JS:
        return "application/javascript";
    default:
        return "text/html; charset=utf-8";
    }
}

/* Valid documents of roughly `target` bytes, so Wireshark's JSON/text dissectors stay quiet. */
static void make_body(struct sbuf *b, struct rng *r, int kind, size_t target, const char *title)
{
    switch (kind) {
    case BODY_JSON:
        sb_printf(b, "{\"id\":%u,", rng_below(r, 100000));
        sb_printf(b, "\"name\":\"%s\",\"items\":[", PICK(r, words));
        for (int first = 1; first || b->len + 48 < target; first = 0) {
            const char *w = PICK(r, words);
            uint32_t n = rng_below(r, 1000);
            sb_printf(b, "%s{\"key\":\"%s-%u\",", first ? "" : ",", w, n);
            sb_printf(b, "\"value\":%u}", rng_below(r, 1000000));
        }
        sb_printf(b, "]}\n");
        break;
    case BODY_CSS:
        while (b->len + 64 < target) {
            const char *w = PICK(r, words);
            uint32_t n = rng_below(r, 100), colour = rng_below(r, 0x1000000);
            sb_printf(b, ".%s-%u {\n  color: #%06x;\n", w, n, colour);
            sb_printf(b, "  margin: %upx;\n}\n", rng_below(r, 32));
        }
        break;
    case BODY_JS:
        while (b->len + 64 < target) {
            const char *w = PICK(r, words);
            uint32_t n = rng_below(r, 100), mul = rng_range(r, 2, 9);
            sb_printf(b, "function %s%u(x) {\n  return x * %u + %u;\n}\n", w, n, mul, rng_below(r, 100));
        }
        break;
    default:
        sb_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<title>%s</title>\n</head>\n<body>\n<h1>%s</h1>\n", title, title);
        while (b->len + 48 < target) {
            sb_puts(b, "<p>");
            for (int i = 0, n = (int)rng_range(r, 4, 10); i < n; i++) {
                if (i)
                    sb_puts(b, " ");
                sb_puts(b, PICK(r, words));
            }
            sb_puts(b, ".</p>\n");
        }
        sb_puts(b, "</body>\n</html>\n");
        break;
    }
}

static void http_date(char *out, size_t cap, uint64_t ts)
{
    time_t t = (time_t)(ts / USEC_PER_SEC);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
}

struct http_req {
    const char *host, *uri, *user_agent, *accept;
    int status;            /* 200, 301 or 404 */
    int body_kind;         /* for 200 */
    size_t body_len;       /* approximate, for 200 */
    const char *body_text; /* fixed body instead of a generated one */
    int server_ack;        /* server ACKs the request before answering */
};

static void http_exchange(struct conv *c, struct rng *r, int fl, const struct http_req *q,
                          uint32_t rtt, uint64_t gap)
{
    char reqmem[1024], bodymem[2048], respmem[4096], date[64];
    struct sbuf req, body, resp;
    const char *reason = "OK";

    sb_init(&req, reqmem, sizeof(reqmem));
    sb_printf(&req,
              "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: %s\r\n"
              "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
              "Connection: keep-alive\r\n\r\n",
              q->uri, q->host, q->user_agent, q->accept);
    tcp_send(c, r, fl, 0, req.p, req.len, gap);

    uint64_t think = rng_range(r, 300, 4000); /* server processing time */
    if (q->server_ack) {
        tcp_ack(c, fl, 1, rtt);
        gap = think;
    } else {
        gap = rtt + think;
    }
    http_date(date, sizeof(date), c->t + gap);

    sb_init(&body, bodymem, sizeof(bodymem));
    int kind = q->body_kind;
    if (q->status != 200) {
        reason = q->status == 301 ? "Moved Permanently" : "Not Found";
        kind = BODY_HTML;
        sb_printf(&body,
                  "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                  "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n"
                  "</body>\r\n</html>\r\n",
                  q->status, reason, q->status, reason);
    } else if (q->body_text) {
        sb_printf(&body, "%s", q->body_text);
    } else {
        make_body(&body, r, kind, q->body_len, q->host);
    }

    sb_init(&resp, respmem, sizeof(respmem));
    sb_printf(&resp,
              "HTTP/1.1 %d %s\r\nServer: nginx/1.24.0\r\nDate: %s\r\nContent-Type: %s\r\n"
              "Content-Length: %zu\r\nConnection: keep-alive\r\n",
              q->status, reason, date, body_type(kind), body.len);
    if (q->status == 301)
        sb_printf(&resp, "Location: https://%s%s\r\n", q->host, q->uri);
    if (q->status == 200)
        sb_printf(&resp, "ETag: \"%08x-%zx\"\r\nCache-Control: max-age=3600\r\n",
                  fnv1a(q->uri) ^ fnv1a(q->host), body.len);
    sb_printf(&resp, "\r\n");
    if (resp.len + body.len >= resp.cap)
        fatal("internal error: HTTP response too large");
    memcpy(resp.p + resp.len, body.p, body.len);
    resp.len += body.len;
    tcp_send(c, r, fl, 1, resp.p, resp.len, gap);
    tcp_ack(c, fl, 0, rng_range(r, 40, 400));
}

static void dns_name(struct wbuf *w, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);
        wb_u8(w, (uint32_t)n);
        wb_bytes(w, name, n);
        name += n + (dot ? 1 : 0);
    }
    wb_u8(w, 0);
}

/* EDNS(0) OPT pseudo-record advertising a 1232-byte UDP payload (the DNS flag day value). */
static void dns_opt(struct wbuf *w)
{
    wb_u8(w, 0);
    wb_u16(w, DNS_OPT);
    wb_u16(w, 1232);
    wb_u32(w, 0);
    wb_u16(w, 0);
}

struct dns_answer {
    const char *cname; /* optional alias target the addresses hang off */
    const uint8_t *addrs;
    int naddr;
    int rcode;
    uint32_t ttl;
};

static size_t dns_message(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype, int edns,
                          const struct dns_answer *a)
{
    struct wbuf w = {buf, 0};
    size_t alen = qtype == DNS_AAAA ? 16 : 4;
    int ancount = a ? a->naddr + (a->cname ? 1 : 0) : 0;
    uint32_t owner = 0xc00c; /* compression pointer to the question name */

    wb_u16(&w, id);
    wb_u16(&w, a ? 0x8180 | (uint32_t)a->rcode : 0x0100); /* RD, plus QR+RA for answers */
    wb_u16(&w, 1);
    wb_u16(&w, (uint32_t)ancount);
    wb_u16(&w, 0);
    wb_u16(&w, edns ? 1 : 0);
    dns_name(&w, name);
    wb_u16(&w, qtype);
    wb_u16(&w, 1);
    if (a && a->cname) {
        wb_u16(&w, owner);
        wb_u16(&w, DNS_CNAME);
        wb_u16(&w, 1);
        wb_u32(&w, a->ttl);
        size_t rd = wb_open(&w, 2);
        owner = 0xc000 | (uint32_t)w.len;
        dns_name(&w, a->cname);
        wb_close(&w, rd, 2);
    }
    for (int i = 0; a && i < a->naddr; i++) {
        wb_u16(&w, owner);
        wb_u16(&w, qtype);
        wb_u16(&w, 1);
        wb_u32(&w, a->ttl);
        wb_u16(&w, (uint32_t)alen);
        wb_bytes(&w, a->addrs + (size_t)i * alen, alen);
    }
    if (edns)
        dns_opt(&w);
    return w.len;
}

static void dns_exchange(struct conv *c, struct rng *r, int fl, const char *name, uint16_t qtype,
                         int edns, const struct dns_answer *a, uint32_t rtt, uint64_t gap)
{
    uint8_t buf[1024];
    uint16_t id = (uint16_t)rng_next(r);
    conv_data_op(c, OP_UDP, fl, 0, buf, dns_message(buf, id, name, qtype, edns, NULL), gap);
    conv_data_op(c, OP_UDP, fl, 1, buf, dns_message(buf, id, name, qtype, edns, a), rtt);
}

static size_t tls_client_hello(uint8_t *buf, struct rng *r, const char *sni, const uint8_t *session_id)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                      0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    static const uint16_t groups[] = {0x001d, 0x0017, 0x0018, 0x0019};
    static const uint16_t sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    struct wbuf w = {buf, 0};
    size_t rec, hs, ext, e, l;
    size_t sni_len = strlen(sni);

    wb_u8(&w, 22); /* handshake record; legacy 1.0 version as browsers send */
    wb_u16(&w, 0x0301);
    rec = wb_open(&w, 2);
    wb_u8(&w, 1); /* ClientHello */
    hs = wb_open(&w, 3);
    wb_u16(&w, 0x0303);
    wb_rand(&w, r, 32);
    wb_u8(&w, 32);
    wb_bytes(&w, session_id, 32);
    l = wb_open(&w, 2);
    for (size_t i = 0; i < NELEM(suites); i++)
        wb_u16(&w, suites[i]);
    wb_close(&w, l, 2);
    wb_u8(&w, 1); /* compression: null only */
    wb_u8(&w, 0);
    ext = wb_open(&w, 2);

    wb_u16(&w, 0); /* server_name */
    e = wb_open(&w, 2);
    l = wb_open(&w, 2);
    wb_u8(&w, 0);
    wb_u16(&w, (uint32_t)sni_len);
    wb_bytes(&w, sni, sni_len);
    wb_close(&w, l, 2);
    wb_close(&w, e, 2);

    wb_u16(&w, 23); /* extended_master_secret */
    wb_u16(&w, 0);
    wb_u16(&w, 0xff01); /* renegotiation_info */
    wb_u16(&w, 1);
    wb_u8(&w, 0);

    wb_u16(&w, 10); /* supported_groups */
    e = wb_open(&w, 2);
    l = wb_open(&w, 2);
    for (size_t i = 0; i < NELEM(groups); i++)
        wb_u16(&w, groups[i]);
    wb_close(&w, l, 2);
    wb_close(&w, e, 2);

    wb_u16(&w, 11); /* ec_point_formats: uncompressed */
    wb_u16(&w, 2);
    wb_u8(&w, 1);
    wb_u8(&w, 0);
    wb_u16(&w, 35); /* session_ticket */
    wb_u16(&w, 0);

    wb_u16(&w, 16); /* ALPN: h2, http/1.1 */
    e = wb_open(&w, 2);
    l = wb_open(&w, 2);
    wb_u8(&w, 2);
    wb_bytes(&w, "h2", 2);
    wb_u8(&w, 8);
    wb_bytes(&w, "http/1.1", 8);
    wb_close(&w, l, 2);
    wb_close(&w, e, 2);

    wb_u16(&w, 5); /* status_request: OCSP, no responder ids or extensions */
    wb_u16(&w, 5);
    wb_u8(&w, 1);
    wb_u16(&w, 0);
    wb_u16(&w, 0);

    wb_u16(&w, 13); /* signature_algorithms */
    e = wb_open(&w, 2);
    l = wb_open(&w, 2);
    for (size_t i = 0; i < NELEM(sigalgs); i++)
        wb_u16(&w, sigalgs[i]);
    wb_close(&w, l, 2);
    wb_close(&w, e, 2);

    wb_u16(&w, 51); /* key_share: one x25519 share */
    e = wb_open(&w, 2);
    l = wb_open(&w, 2);
    wb_u16(&w, 0x001d);
    wb_u16(&w, 32);
    wb_rand(&w, r, 32);
    wb_close(&w, l, 2);
    wb_close(&w, e, 2);

    wb_u16(&w, 43); /* supported_versions: 1.3, 1.2 */
    e = wb_open(&w, 2);
    l = wb_open(&w, 1);
    wb_u16(&w, 0x0304);
    wb_u16(&w, 0x0303);
    wb_close(&w, l, 1);
    wb_close(&w, e, 2);

    wb_u16(&w, 45); /* psk_key_exchange_modes: psk_dhe_ke */
    wb_u16(&w, 2);
    wb_u8(&w, 1);
    wb_u8(&w, 1);

    wb_close(&w, ext, 2);
    wb_close(&w, hs, 3);
    wb_close(&w, rec, 2);
    return w.len;
}

/* TLS 1.3 ServerHello plus the compatibility ChangeCipherSpec record. */
static size_t tls_server_hello(uint8_t *buf, struct rng *r, const uint8_t *session_id)
{
    struct wbuf w = {buf, 0};
    size_t rec, hs, ext;
    wb_u8(&w, 22);
    wb_u16(&w, 0x0303);
    rec = wb_open(&w, 2);
    wb_u8(&w, 2);
    hs = wb_open(&w, 3);
    wb_u16(&w, 0x0303);
    wb_rand(&w, r, 32);
    wb_u8(&w, 32);
    wb_bytes(&w, session_id, 32);
    wb_u16(&w, 0x1301); /* TLS_AES_128_GCM_SHA256 */
    wb_u8(&w, 0);
    ext = wb_open(&w, 2);
    wb_u16(&w, 43);
    wb_u16(&w, 2);
    wb_u16(&w, 0x0304);
    wb_u16(&w, 51);
    wb_u16(&w, 36);
    wb_u16(&w, 0x001d);
    wb_u16(&w, 32);
    wb_rand(&w, r, 32);
    wb_close(&w, ext, 2);
    wb_close(&w, hs, 3);
    wb_close(&w, rec, 2);
    wb_u8(&w, 20);
    wb_u16(&w, 0x0303);
    wb_u16(&w, 1);
    wb_u8(&w, 1);
    return w.len;
}

/* An encrypted record: opaque bytes are all a passive observer sees after the hellos. */
static size_t tls_app_data(uint8_t *p, struct rng *r, size_t len)
{
    p[0] = 23;
    put16(p + 1, 0x0303);
    put16(p + 3, (uint32_t)len);
    rng_fill(r, p + 5, len);
    return len + 5;
}

/*
 * TLS 1.3 session after the TCP handshake: ClientHello, the server's flight
 * (ServerHello, CCS, encrypted extensions/certificate as one opaque record),
 * the client's CCS + Finished (+ first request), then `exchanges` encrypted
 * request/response rounds.
 */
static void tls_session(struct conv *c, struct rng *r, int fl, const char *sni, uint32_t rtt,
                        size_t flight, int exchanges, uint64_t gap)
{
    uint8_t buf[8192], sid[32];
    size_t n;
    rng_fill(r, sid, sizeof(sid));
    tcp_send(c, r, fl, 0, buf, tls_client_hello(buf, r, sni, sid), gap);

    n = tls_server_hello(buf, r, sid);
    n += tls_app_data(buf + n, r, flight);
    tcp_send(c, r, fl, 1, buf, n, rtt + rng_range(r, 500, 3000));
    tcp_ack(c, fl, 0, rng_range(r, 30, 150));

    buf[0] = 20; /* client CCS, Finished, then the first request */
    put16(buf + 1, 0x0303);
    put16(buf + 3, 1);
    buf[5] = 1;
    n = 6 + tls_app_data(buf + 6, r, 53);
    if (exchanges > 0)
        n += tls_app_data(buf + n, r, rng_range(r, 200, 600));
    tcp_send(c, r, fl, 0, buf, n, rng_range(r, 800, 3000));
    for (int i = 0; i < exchanges; i++) {
        if (i > 0) {
            n = tls_app_data(buf, r, rng_range(r, 100, 500));
            tcp_send(c, r, fl, 0, buf, n, rng_range(r, 20000, 600000));
        }
        n = tls_app_data(buf, r, rng_range(r, 150, 3000));
        tcp_send(c, r, fl, 1, buf, n, rtt + rng_range(r, 300, 5000));
        tcp_ack(c, fl, 0, rng_range(r, 30, 300));
    }
}

static void ping(struct conv *c, struct rng *r, int fl, int count, uint32_t rtt, uint64_t gap)
{
    uint8_t msg[64];
    int v6 = c->flows[fl].v6;
    uint16_t id = (uint16_t)rng_range(r, 1000, 65000);
    for (int seq = 1; seq <= count; seq++) {
        uint64_t t = c->t + gap;
        memset(msg, 0, sizeof(msg));
        msg[0] = v6 ? 128 : 8;
        put16(msg + 4, id);
        put16(msg + 6, (uint32_t)seq);
        /* Like iputils ping: a 32-bit struct timeval of the send time (the layout
         * Wireshark decodes as "Timestamp from icmp data"), then 0x08, 0x09, ... */
        le32(msg + 8, (uint32_t)(t / USEC_PER_SEC));
        le32(msg + 12, (uint32_t)(t % USEC_PER_SEC));
        for (int i = 16; i < 64; i++)
            msg[i] = (uint8_t)(i - 8);
        conv_data_op(c, OP_ICMP, fl, 0, msg, sizeof(msg), gap);
        msg[0] = v6 ? 129 : 0;
        conv_data_op(c, OP_ICMP, fl, 1, msg, sizeof(msg), rtt + rng_range(r, 0, rtt / 10 + 1));
        gap = USEC_PER_SEC - rtt + rng_range(r, 0, 900);
    }
}

static void arp_payload(uint8_t *p, int oper, const uint8_t *sha, const uint8_t *spa,
                        const uint8_t *tha, const uint8_t *tpa)
{
    put16(p, 1);
    put16(p + 2, 0x0800);
    p[4] = 6;
    p[5] = 4;
    put16(p + 6, (uint32_t)oper);
    memcpy(p + 8, sha, 6);
    memcpy(p + 14, spa, 4);
    memcpy(p + 18, tha, 6);
    memcpy(p + 24, tpa, 4);
}

/* Broadcast who-has and the unicast reply; flow 0 carries the broadcast, flow 1 the reply. */
static void arp_exchange(struct conv *c, struct rng *r, uint16_t vlan, const uint8_t *mac,
                         const uint8_t *ip, const uint8_t *tmac, const uint8_t *tip, uint64_t gap)
{
    uint8_t p[28];
    struct endpoint me = {mac, NULL, 0, 0}, bc = {mac_bcast, NULL, 0, 0}, peer = {tmac, NULL, 0, 0};
    flow_init(&c->flows[0], r, 0, vlan, &me, &bc);
    arp_payload(p, 1, mac, ip, mac_zero, tip);
    conv_data_op(c, OP_ARP, 0, 0, p, sizeof(p), gap);
    if (tmac) { /* no reply to a gratuitous ARP */
        flow_init(&c->flows[1], r, 0, vlan, &me, &peer);
        arp_payload(p, 2, tmac, tip, mac, ip);
        conv_data_op(c, OP_ARP, 1, 1, p, sizeof(p), rng_range(r, 80, 900));
    }
}

/* Neighbour solicitation to the solicited-node group, and the target's advertisement. */
static void nd_exchange(struct conv *c, struct rng *r, uint16_t vlan, const uint8_t *mac,
                        const uint8_t *ip, const uint8_t *tmac, const uint8_t *tip, int router,
                        uint64_t gap)
{
    uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
    uint8_t gmac[6] = {0x33, 0x33, 0xff};
    uint8_t msg[32] = {0};
    memcpy(group + 13, tip + 13, 3);
    memcpy(gmac + 3, tip + 13, 3);
    /* Hop limit 255 is mandatory for ND (RFC 4861) */
    struct endpoint me = {mac, ip, 0, 255}, grp = {gmac, group, 0, 255}, peer = {tmac, tip, 0, 255};
    flow_init(&c->flows[0], r, 1, vlan, &me, &grp);
    flow_init(&c->flows[1], r, 1, vlan, &me, &peer);

    msg[0] = 135;
    memcpy(msg + 8, tip, 16);
    msg[24] = 1; /* source link-layer address option */
    msg[25] = 1;
    memcpy(msg + 26, mac, 6);
    conv_data_op(c, OP_ICMP, 0, 0, msg, sizeof(msg), gap);

    msg[0] = 136;
    msg[4] = (uint8_t)((router ? 0x80 : 0) | 0x60); /* R, S(olicited), O(verride) */
    msg[24] = 2; /* target link-layer address option */
    memcpy(msg + 26, tmac, 6);
    conv_data_op(c, OP_ICMP, 1, 1, msg, sizeof(msg), rng_range(r, 100, 900));
}

/* A UDP datagram, cut into IPv4 fragments when it does not fit a 1500-byte MTU. */
static void udp_datagram(struct conv *c, int fl, int d, const uint8_t *p, size_t len, uint64_t gap)
{
    uint8_t dgram[CONV_DATA_MAX];
    const struct flow *f = &c->flows[fl];
    if (f->v6 || len + 8 <= 1480) {
        conv_data_op(c, OP_UDP, fl, d, p, len, gap);
        return;
    }
    if (len + 8 > sizeof(dgram))
        fatal("internal error: datagram too large");
    /* The UDP checksum covers the whole datagram, so compute it before cutting. */
    size_t n = put_udp(dgram, f, d, p, len);
    uint32_t off = conv_store(c, dgram, n);
    for (size_t at = 0; at < n; at += 1480) {
        size_t seg = n - at < 1480 ? n - at : 1480;
        struct op *op = conv_op(c, OP_IPFRAG, fl, d, PROTO_UDP, off + (uint32_t)at, seg, gap);
        op->frag = (uint16_t)((at / 8) | (at + seg < n ? 0x2000 : 0));
        gap = 15;
    }
}

/* ---- hosts ---- */

struct client {
    uint8_t mac[6], ip4[4], ip6[16];
    uint8_t gw_mac[6], gw_ip4[4], gw_ip6[16];
    uint16_t vlan;
};

static void client_make(struct client *cl, unsigned octet)
{
    int tagged = octet >= 128;
    uint8_t prefix[8] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, tagged ? 0x01 : 0x00, 0x00};
    uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, (uint8_t)octet};
    uint8_t gw[6] = {0x02, 0x00, 0x00, 0x00, 0x00, tagged ? 0x81 : 0x01};
    memcpy(cl->mac, mac, 6);
    memcpy(cl->gw_mac, gw, 6);
    cl->ip4[0] = 192;
    cl->ip4[1] = 0;
    cl->ip4[2] = 2;
    cl->ip4[3] = (uint8_t)octet;
    memcpy(cl->gw_ip4, cl->ip4, 3);
    cl->gw_ip4[3] = tagged ? 129 : 1;
    /* SLAAC address: modified EUI-64 from the MAC, as real hosts derive it. */
    memcpy(cl->ip6, prefix, 8);
    cl->ip6[8] = mac[0] ^ 0x02;
    cl->ip6[9] = mac[1];
    cl->ip6[10] = mac[2];
    cl->ip6[11] = 0xff;
    cl->ip6[12] = 0xfe;
    memcpy(cl->ip6 + 13, mac + 3, 3);
    memcpy(cl->gw_ip6, prefix, 8);
    memset(cl->gw_ip6 + 8, 0, 8);
    cl->gw_ip6[15] = 1;
    cl->vlan = tagged ? 100 : 0;
}

static unsigned pick_client(struct rng *r)
{
    /* About a quarter of the traffic comes from the VLAN 100 half of the /24. */
    int tagged = rng_below(r, 4) == 0;
    for (;;) {
        unsigned o = tagged ? rng_range(r, 130, 250) : rng_range(r, 2, 126);
        /* skip the servers and the /25 boundaries (network, broadcast, router) */
        if (o != 53 && o != 60 && (o < 127 || o > 129))
            return o;
    }
}

static struct endpoint client_end(const struct client *cl, int v6, uint16_t port)
{
    struct endpoint e = {cl->mac, v6 ? cl->ip6 : cl->ip4, port, 64};
    return e;
}

/* A server on the untagged segment; VLAN 100 clients reach it through their router. */
static struct endpoint lan_server(const struct client *cl, const uint8_t *mac, const uint8_t *ip, uint16_t port)
{
    struct endpoint e = {cl->vlan ? cl->gw_mac : mac, ip, port, (uint8_t)(cl->vlan ? 63 : 64)};
    return e;
}

/* Addresses derived from the name so DNS answers and later connections agree. */
static void host_addr(const char *name, int v6, unsigned i, uint8_t *out)
{
    uint32_t h = fnv1a(name);
    if (!v6) {
        out[0] = (h & 1) ? 198 : 203;
        out[1] = (h & 1) ? 51 : 0;
        out[2] = (h & 1) ? 100 : 113;
        out[3] = (uint8_t)(1 + ((h >> 1) + i) % 254);
        return;
    }
    static const uint8_t base[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02};
    memset(out, 0, 16);
    memcpy(out, base, 6);
    put16(out + 6, h >> 16);
    put16(out + 14, (h & 0xfff) + 1 + i);
}

static uint8_t host_ttl(const char *name)
{
    uint32_t h = fnv1a(name) * 2654435761u;
    return (uint8_t)(((h >> 28) < 4 ? 128 : 64) - (4 + (h >> 8) % 16));
}

/* Base RTT by host (near CDN edges to far origins) plus a little per-connection jitter. */
static uint32_t host_rtt(struct rng *r, const char *name)
{
    uint32_t base = 1500 + (fnv1a(name) >> 7) % 90000;
    return base + rng_below(r, base / 8 + 1);
}

/* ---- scheduler state ---- */

struct sched {
    struct rng rng;
    uint64_t now;     /* time of the last packet written */
    uint64_t arrival; /* bench: earliest start of the next conversation */
    uint64_t gap;     /* bench: mean time per packet over the whole span */
    uint32_t ports;   /* ephemeral ports handed out, Linux-style counter */
    int index;        /* sample: next conversation */
    int (*next)(struct sched *s, struct conv *c); /* scripts the next conversation; 0: none left */
};

/* ---- the sample ---- */

static const char sample_html[] =
    "<!DOCTYPE html>\n<html>\n<head>\n<title>Example Domain</title>\n</head>\n<body>\n"
    "<h1>Example Domain</h1>\n<p>This domain is for use in illustrative examples in documents.</p>\n"
    "</body>\n</html>\n";

/* Syslog text with control, quote, backslash and invalid UTF-8 bytes for the JSON escaper. */
static const char sample_syslog[] =
    "<38>Mar  1 12:00:00 host10 sshd[4242]: Failed password for \"ad\\min\" from 192.0.2.10: "
    "ctrl=\x01 bell=\x07 ff=\xff" " utf8=\xc3\xa9 broken=\xc3" "( tab=\t end";

static int sample_next(struct sched *s, struct conv *c)
{
    struct rng *r = &s->rng;
    struct client a, b;
    struct endpoint ce, se;
    uint8_t tmp[4096];
    client_make(&a, 10);
    client_make(&b, 130);
    int idx = s->index++;
    conv_reset(c, s->now + rng_range(r, 1500, 6000));

    switch (idx) {
    case 0: /* who has the router? */
        arp_exchange(c, r, 0, a.mac, a.ip4, a.gw_mac, a.gw_ip4, 0);
        break;
    case 1: { /* DNS A with two answers */
        static const uint8_t addrs[8] = {198, 51, 100, 80, 198, 51, 100, 81};
        struct dns_answer ans = {NULL, addrs, 2, 0, 300};
        ce = client_end(&a, 0, 53124);
        se = lan_server(&a, mac_dns, ip4_dns, 53);
        flow_init(&c->flows[0], r, 0, a.vlan, &ce, &se);
        dns_exchange(c, r, 0, "www.example.com", DNS_A, 0, &ans, 1840, 0);
        break;
    }
    case 2: /* IPv6 neighbour discovery for the router */
        nd_exchange(c, r, 0, a.mac, a.ip6, a.gw_mac, a.gw_ip6, 1, 0);
        break;
    case 3: { /* DNS AAAA over IPv6, with EDNS */
        static const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
        struct dns_answer ans = {NULL, addr, 1, 0, 300};
        ce = client_end(&a, 1, 53125);
        se = lan_server(&a, mac_dns, ip6_dns, 53);
        flow_init(&c->flows[0], r, 1, a.vlan, &ce, &se);
        dns_exchange(c, r, 0, "www.example.com", DNS_AAAA, 1, &ans, 2210, 0);
        break;
    }
    case 4:   /* HTTP/1.1 over IPv4 */
    case 5: { /* and over IPv6 */
        int v6 = idx == 5;
        static const uint8_t srv4[4] = {198, 51, 100, 80};
        static const uint8_t srv6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
        struct http_req q = {
            "www.example.com", v6 ? "/about.html" : "/index.html",
            v6 ? user_agents[3] : user_agents[0],
            v6 ? "*/*" : "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            200, BODY_HTML, 0, sample_html, 1,
        };
        ce = client_end(&a, v6, v6 ? 50414 : 50412);
        se = (struct endpoint){a.gw_mac, v6 ? srv6 : srv4, 80, 52};
        flow_init(&c->flows[0], r, v6, a.vlan, &ce, &se);
        tcp_open(c, r, 0, 4800, 0);
        http_exchange(c, r, 0, &q, 4800, 300);
        tcp_close(c, r, 0, 0, 4800, 1200);
        break;
    }
    case 6: { /* ping from the VLAN 100 side */
        static const uint8_t dst[4] = {203, 0, 113, 1};
        ce = client_end(&b, 0, 0);
        se = (struct endpoint){b.gw_mac, dst, 0, 56};
        flow_init(&c->flows[0], r, 0, b.vlan, &ce, &se);
        ping(c, r, 0, 1, 3400, 0);
        break;
    }
    case 7: { /* ICMPv6 echo */
        static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
        ce = client_end(&a, 1, 0);
        se = (struct endpoint){a.gw_mac, dst, 0, 52};
        flow_init(&c->flows[0], r, 1, a.vlan, &ce, &se);
        ping(c, r, 0, 1, 4700, 0);
        break;
    }
    case 8: { /* TLS 1.3 with SNI */
        static const uint8_t dst[4] = {203, 0, 113, 43};
        ce = client_end(&a, 0, 50416);
        se = (struct endpoint){a.gw_mac, dst, 443, 50};
        flow_init(&c->flows[0], r, 0, a.vlan, &ce, &se);
        tcp_open(c, r, 0, 6100, 0);
        tls_session(c, r, 0, "example.com", 6100, 1100, 1, 250);
        tcp_close(c, r, 0, 0, 6100, 2500);
        break;
    }
    case 9: { /* a 3000-byte UDP echo request, cut into three IPv4 fragments */
        static const uint8_t dst[4] = {203, 0, 113, 7};
        size_t n = 0;
        for (int line = 0; n + 64 < 3000; line++)
            n += (size_t)sprintf((char *)tmp + n, "espcap fragment reassembly test, line %04d\n", line);
        while (n < 3000)
            tmp[n++] = '.';
        ce = client_end(&a, 0, 40007);
        se = (struct endpoint){a.gw_mac, dst, 7, 51};
        flow_init(&c->flows[0], r, 0, a.vlan, &ce, &se);
        udp_datagram(c, 0, 0, tmp, n, 0);
        break;
    }
    case 10: /* syslog with awkward bytes */
        ce = client_end(&a, 0, 514);
        se = lan_server(&a, mac_syslog, ip4_syslog, 514);
        flow_init(&c->flows[0], r, 0, a.vlan, &ce, &se);
        conv_data_op(c, OP_UDP, 0, 0, sample_syslog, sizeof(sample_syslog) - 1, 0);
        break;
    default:
        return 0;
    }
    return 1;
}

/* ---- the bench workload ---- */

static uint16_t next_port(struct sched *s)
{
    /* Linux picks from 32768-60999; a stepping counter avoids clashes between live flows. */
    for (;;) {
        uint16_t port = (uint16_t)(32768 + (++s->ports * 7u) % 28232);
        /* Wireshark flags UDP to 33434-33534 as traceroute; keep the expert info clean. */
        if (port < 33434 || port > 33534)
            return port;
    }
}

static void make_hostname(struct rng *r, char *out, size_t cap)
{
    struct sbuf b;
    uint32_t k = rng_below(r, 10);
    const char *w1 = PICK(r, words), *w2 = PICK(r, words), *sub = PICK(r, subdomains);
    uint32_t num = rng_range(r, 1, 99);
    sb_init(&b, out, cap);
    if (k < 4)
        sb_printf(&b, "%s.%s", sub, PICK(r, domains));
    else if (k < 9)
        sb_printf(&b, "%s.%s.%s", sub, w1, PICK(r, tlds));
    else
        sb_printf(&b, "%s%u.%s.example", w1, num, w2);
}

/* Returns the body kind that fits the URI. */
static int make_uri(struct rng *r, char *out, size_t cap)
{
    struct sbuf b;
    /* Draw everything up front: argument evaluation order is unspecified in C. */
    const char *w1 = PICK(r, words), *w2 = PICK(r, words);
    uint32_t num = rng_below(r, 100000), hash = (uint32_t)rng_next(r);
    sb_init(&b, out, cap);
    switch (rng_below(r, 9)) {
    case 0:
        sb_printf(&b, "/");
        return BODY_HTML;
    case 1:
        sb_printf(&b, "/index.html");
        return BODY_HTML;
    case 2:
        sb_printf(&b, "/%s/%s.html", w1, w2);
        return BODY_HTML;
    case 3:
        sb_printf(&b, "/news/2024/03/%s-%s-%u.html", w1, w2, num % 1000);
        return BODY_HTML;
    case 4:
        sb_printf(&b, "/search?q=%s+%s&page=%u", w1, w2, 1 + num % 5);
        return BODY_HTML;
    case 5:
    case 6:
        sb_printf(&b, "/api/v1/%s?id=%u", w1, num);
        return BODY_JSON;
    case 7:
        sb_printf(&b, "/static/css/%s.%08x.css", w1, hash);
        return BODY_CSS;
    default:
        sb_printf(&b, "/static/js/%s.%08x.js", w1, hash);
        return BODY_JS;
    }
}

/* Resolver lookup as flow `fl`: mostly cache hits, sometimes a slow recursive miss. */
static void bench_lookup(struct sched *s, struct conv *c, int fl, const struct client *cl, int v6,
                         const char *name, uint16_t qtype, int allow_nx, uint64_t gap)
{
    struct rng *r = &s->rng;
    uint8_t addrs[3 * 16];
    char alias[96];
    struct sbuf ab;
    struct endpoint ce = client_end(cl, v6, next_port(s));
    struct endpoint se = lan_server(cl, mac_dns, v6 ? ip6_dns : ip4_dns, 53);
    struct dns_answer a = {NULL, addrs, 1 + (int)(fnv1a(name) % 3), 0, rng_range(r, 30, 3600)};
    size_t alen = qtype == DNS_AAAA ? 16 : 4;
    for (int i = 0; i < a.naddr; i++)
        host_addr(name, qtype == DNS_AAAA, (unsigned)i, addrs + (size_t)i * alen);
    if (fnv1a(name) % 5 == 0) {
        sb_init(&ab, alias, sizeof(alias));
        sb_printf(&ab, "edge%u.cdn.example.net", fnv1a(name) % 40);
        a.cname = alias;
    }
    if (allow_nx && rng_below(r, 100) < 6) {
        a.rcode = 3; /* NXDOMAIN */
        a.naddr = 0;
        a.cname = NULL;
    }
    uint32_t rtt = rng_below(r, 100) < 85 ? rng_range(r, 200, 2500) : rng_range(r, 8000, 90000);
    flow_init(&c->flows[fl], r, v6, cl->vlan, &ce, &se);
    dns_exchange(c, r, fl, name, qtype, rng_below(r, 2), &a, rtt, gap);
}

static void bench_web(struct sched *s, struct conv *c, int v6, int tls)
{
    struct rng *r = &s->rng;
    struct client cl;
    char host[96], uri[128];
    uint8_t srv[16];
    int fl = 0;
    uint64_t gap = 0;

    client_make(&cl, pick_client(r));
    make_hostname(r, host, sizeof(host));
    if (rng_below(r, 100) < 60) { /* not in the client's cache yet */
        bench_lookup(s, c, 0, &cl, rng_below(r, 4) == 0, host, v6 ? DNS_AAAA : DNS_A, 0, 0);
        fl = 1;
        gap = rng_range(r, 100, 800);
    }
    host_addr(host, v6, 0, srv);
    uint32_t rtt = host_rtt(r, host);
    struct endpoint ce = client_end(&cl, v6, next_port(s));
    struct endpoint se = {cl.gw_mac, srv, (uint16_t)(tls ? 443 : 80), host_ttl(host)};
    flow_init(&c->flows[fl], r, v6, cl.vlan, &ce, &se);
    c->flows[fl].win[0] = (uint16_t)rng_range(r, 400, 2000);
    c->flows[fl].win[1] = (uint16_t)rng_range(r, 400, 2000);
    tcp_open(c, r, fl, rtt, gap);

    if (tls) {
        size_t flight = rng_range(r, 900, 4000);
        int rounds = (int)rng_range(r, 1, 2);
        tls_session(c, r, fl, host, rtt, flight, rounds, rng_range(r, 100, 400));
    } else {
        const char *ua = PICK(r, user_agents);
        int n = (int)rng_range(r, 1, 3);
        for (int i = 0; i < n; i++) {
            uint32_t k = rng_below(r, 100);
            struct http_req q = {host, uri, ua, NULL, k < 90 ? 200 : k < 95 ? 301 : 404, 0, 0, NULL, 0};
            q.body_len = rng_range(r, 200, 1400);
            q.server_ack = rng_below(r, 3) == 0;
            q.body_kind = make_uri(r, uri, sizeof(uri));
            q.accept = q.body_kind == BODY_HTML
                           ? "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
                           : "*/*";
            http_exchange(c, r, fl, &q, rtt, i ? rng_range(r, 20000, 800000) : rng_range(r, 50, 400));
        }
    }
    /* Clients usually close; otherwise the server's keep-alive timer fires. */
    if (rng_below(r, 100) < 70)
        tcp_close(c, r, fl, 0, rtt, rng_range(r, 1000, 300000));
    else
        tcp_close(c, r, fl, 1, rtt, rng_range(r, 1000000, 5000000));
}

static void bench_dns(struct sched *s, struct conv *c)
{
    struct rng *r = &s->rng;
    struct client cl;
    char host[96];
    client_make(&cl, pick_client(r));
    make_hostname(r, host, sizeof(host));
    uint32_t k = rng_below(r, 100);
    bench_lookup(s, c, 0, &cl, k >= 85, host, k < 70 ? DNS_A : DNS_AAAA, 1, 0);
}

static void bench_ping(struct sched *s, struct conv *c)
{
    struct rng *r = &s->rng;
    struct client cl;
    char host[96];
    uint8_t dst[16];
    int v6 = rng_below(r, 100) < 25;
    client_make(&cl, pick_client(r));
    make_hostname(r, host, sizeof(host));
    host_addr(host, v6, 0, dst);
    struct endpoint ce = client_end(&cl, v6, 0);
    struct endpoint se = {cl.gw_mac, dst, 0, host_ttl(host)};
    flow_init(&c->flows[0], r, v6, cl.vlan, &ce, &se);
    int count = (int)rng_range(r, 1, 4);
    ping(c, r, 0, count, host_rtt(r, host), 0);
}

static void bench_neighbours(struct sched *s, struct conv *c, int v6)
{
    struct rng *r = &s->rng;
    struct client cl, peer;
    client_make(&cl, pick_client(r));
    uint32_t k = rng_below(r, 100);
    if (k < 60) { /* the router, the usual case */
        if (v6)
            nd_exchange(c, r, cl.vlan, cl.mac, cl.ip6, cl.gw_mac, cl.gw_ip6, 1, 0);
        else
            arp_exchange(c, r, cl.vlan, cl.mac, cl.ip4, cl.gw_mac, cl.gw_ip4, 0);
        return;
    }
    if (!v6 && k >= 90) { /* gratuitous ARP after an address change */
        arp_exchange(c, r, cl.vlan, cl.mac, cl.ip4, NULL, cl.ip4, 0);
        return;
    }
    /* another host on the same segment */
    unsigned o;
    do
        o = pick_client(r);
    while ((o >= 128) != (cl.vlan != 0));
    client_make(&peer, o);
    if (v6)
        nd_exchange(c, r, cl.vlan, cl.mac, cl.ip6, peer.mac, peer.ip6, 0, 0);
    else
        arp_exchange(c, r, cl.vlan, cl.mac, cl.ip4, peer.mac, peer.ip4, 0);
}

static void bench_syslog(struct sched *s, struct conv *c)
{
    struct rng *r = &s->rng;
    struct client cl;
    char msg[512], stamp[32];
    struct sbuf b;
    client_make(&cl, pick_client(r));
    struct endpoint ce = client_end(&cl, 0, 514);
    struct endpoint se = lan_server(&cl, mac_syslog, ip4_syslog, 514);
    flow_init(&c->flows[0], r, 0, cl.vlan, &ce, &se);
    for (int i = 0, n = (int)rng_range(r, 1, 3); i < n; i++) {
        uint64_t gap = i ? rng_range(r, 1000, 2000000) : 0;
        time_t t = (time_t)((c->t + gap) / USEC_PER_SEC);
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", gmtime(&t));
        sb_init(&b, msg, sizeof(msg));
        /* Draw everything up front: argument evaluation order is unspecified in C. */
        uint32_t kind = rng_below(r, 10), pid = rng_range(r, 100, 40000);
        uint32_t num = rng_range(r, 32768, 60999);
        unsigned from = pick_client(r);
        const char *w1 = PICK(r, words), *w2 = PICK(r, words);
        /* <PRI> is facility * 8 + severity, matching the program that logs. */
        switch (kind) {
        case 0:
        case 1:
            sb_printf(&b, "<38>%s host%u sshd[%u]: ", stamp, cl.ip4[3], pid);
            sb_printf(&b, "Accepted publickey for %s from 192.0.2.%u port %u ssh2", w1, from, num);
            break;
        case 2:
        case 3:
            sb_printf(&b, "<78>%s host%u CRON[%u]: (root) CMD (run-parts /etc/cron.hourly)", stamp,
                      cl.ip4[3], pid);
            break;
        case 4:
        case 5:
            sb_printf(&b, "<6>%s host%u kernel: [%u.%06u] eth0: link up, 1000Mbps, full-duplex", stamp,
                      cl.ip4[3], pid, num);
            break;
        case 6:
        case 7:
        case 8:
            sb_printf(&b, "<30>%s host%u systemd[1]: Started %s-%s.service.", stamp, cl.ip4[3], w1, w2);
            break;
        default: /* terminal input leaks raw bytes into logs: exercises JSON escaping */
            sb_printf(&b, "<85>%s host%u login[%u]: FAILED LOGIN on tty1 for \"%s\\%s\": ", stamp,
                      cl.ip4[3], pid, w1, w2);
            sb_puts(&b, "\x01\x1b[0m \xff\xfe \xc3\xa9 \xe2\x82 end");
            break;
        }
        conv_data_op(c, OP_UDP, 0, 0, msg, b.len, gap);
    }
}

static int bench_next(struct sched *s, struct conv *c)
{
    struct rng *r = &s->rng;
    uint64_t start = s->arrival > s->now ? s->arrival : s->now;
    conv_reset(c, start);
    uint32_t k = rng_below(r, 1000);
    if (k < 420)
        bench_web(s, c, 0, 0);
    else if (k < 490)
        bench_web(s, c, 1, 0);
    else if (k < 600)
        bench_web(s, c, rng_below(r, 5) == 0, 1);
    else if (k < 820)
        bench_dns(s, c);
    else if (k < 880)
        bench_ping(s, c);
    else if (k < 950)
        bench_neighbours(s, c, 0);
    else if (k < 975)
        bench_neighbours(s, c, 1);
    else
        bench_syslog(s, c);
    /* Next arrival: this conversation's share of the span, +-50%, so N packets cover ~36 h. */
    s->arrival = start + s->gap * (uint64_t)c->nops * rng_range(r, 512, 1535) / 1024;
    return 1;
}

/* ---- scheduling ---- */

/* Interleaves the scripted conversations in time order and writes up to `limit` packets. */
static int run(const char *path, struct sched *s, int nslots, uint64_t limit)
{
    struct pcap_out o;
    struct conv *slots = calloc((size_t)nslots, sizeof(*slots));
    /* Next op time per slot, kept compact so the per-packet scan stays in cache. */
    uint64_t *due = calloc((size_t)nslots, sizeof(*due));
    uint64_t written = 0;
    if (!slots || !due)
        fatal("out of memory");
    if (pcap_open(&o, path) != 0) {
        perror(path);
        free(slots);
        free(due);
        return 1;
    }
    for (int i = 0; i < nslots; i++)
        due[i] = s->next(s, &slots[i]) ? slots[i].ops[0].ts : UINT64_MAX;
    while (written < limit) {
        int best = 0;
        for (int i = 1; i < nslots; i++)
            if (due[i] < due[best])
                best = i;
        if (due[best] == UINT64_MAX)
            break; /* every script is finished (sample) */
        struct conv *c = &slots[best];
        s->now = due[best];
        emit_op(&o, c, &c->ops[c->next]);
        written++;
        if (++c->next < c->nops)
            due[best] = c->ops[c->next].ts;
        else
            due[best] = s->next(s, c) ? c->ops[0].ts : UINT64_MAX;
    }
    free(slots);
    free(due);
    if (pcap_close(&o) != 0) {
        fprintf(stderr, "capgen: error writing %s\n", path);
        return 1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: capgen sample OUT.pcap\n"
          "       capgen bench N OUT.pcap\n"
          "       capgen --help\n"
          "\n"
          "Writes deterministic pcap files (Ethernet, microsecond timestamps);\n"
          "the same arguments always produce byte-identical output.\n"
          "\n"
          "  sample    ~50 packets covering ARP, VLAN, IPv4/IPv6, fragments, ICMP(v6),\n"
          "            DNS, HTTP/1.1, TLS ClientHello with SNI and odd syslog bytes;\n"
          "            starts 2024-03-01 12:00:00 UTC\n"
          "  bench N   N packets (1..10000000) of a mixed workload (HTTP, DNS, TLS,\n"
          "            ICMP, IPv6, ARP/ND, syslog) spread over ~36 hours starting\n"
          "            2024-03-01 00:00:00 UTC\n",
          f);
}

int main(int argc, char **argv)
{
    struct sched s;
    memset(&s, 0, sizeof(s));
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "sample")) {
        s.rng.state = SAMPLE_SEED;
        s.now = SAMPLE_START;
        s.next = sample_next;
        return run(argv[2], &s, 1, UINT64_MAX);
    }
    if (argc == 4 && !strcmp(argv[1], "bench")) {
        char *end;
        unsigned long long n = strtoull(argv[2], &end, 10);
        if (argv[2][0] < '0' || argv[2][0] > '9' || *end || n < 1 || n > BENCH_MAX) {
            fprintf(stderr, "capgen: N must be between 1 and %llu\n", BENCH_MAX);
            return 2;
        }
        s.rng.state = BENCH_SEED;
        s.now = s.arrival = BENCH_START;
        s.gap = BENCH_SPAN / n;
        s.next = bench_next;
        return run(argv[3], &s, BENCH_SLOTS, n);
    }
    usage(stderr);
    return 2;
}
