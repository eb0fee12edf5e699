/* community_id: the Community ID specification v1, as Zeek and Suricata compute it. */
#include "community_id.h"

#include <string.h>

#include <glib.h>

/* ICMP types that pair a request with its answer: one flow, as the spec maps them (from
 * Zeek). Other types are one-way: their code is the destination "port". */
static int icmp_counterpart(int family, uint16_t type)
{
    static const uint8_t v4[][2] = { { 8, 0 }, { 13, 14 }, { 15, 16 }, { 10, 9 }, { 17, 18 } };
    static const uint8_t v6[][2] = { { 128, 129 }, { 130, 131 }, { 133, 134 }, { 135, 136 },
                                     { 139, 140 }, { 144, 145 } };
    const uint8_t(*t)[2] = family == 4 ? v4 : v6;
    size_t n = family == 4 ? sizeof v4 / sizeof v4[0] : sizeof v6 / sizeof v6[0];
    for (size_t i = 0; i < n; i++) {
        if (t[i][0] == type)
            return t[i][1];
        if (t[i][1] == type)
            return t[i][0];
    }
    return -1;
}

static size_t base64(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    return o;
}

size_t cid_hash(const struct cid_flow *f, uint16_t seed, char out[CID_MAX])
{
    size_t alen = f->family == 4 ? 4 : 16;
    const uint8_t *sa = f->saddr, *da = f->daddr;
    uint16_t sp = f->sport, dp = f->dport;
    bool one_way = false;
    if (f->has_ports && (f->proto == CID_PROTO_ICMP || f->proto == CID_PROTO_ICMPV6)) {
        int peer = icmp_counterpart(f->family, f->sport);
        if (peer >= 0)
            dp = (uint16_t)peer;
        else
            one_way = true; /* type and code, as they are */
    }
    /* The smaller endpoint first (address, then port), unless the flow is one-way. */
    int c = memcmp(sa, da, alen);
    if (!one_way && (c > 0 || (c == 0 && f->has_ports && sp > dp))) {
        const uint8_t *t = sa;
        sa = da;
        da = t;
        uint16_t u = sp;
        sp = dp;
        dp = u;
    }
    uint8_t buf[2 + 16 + 16 + 2 + 4], *p = buf;
    *p++ = (uint8_t)(seed >> 8);
    *p++ = (uint8_t)seed;
    memcpy(p, sa, alen);
    p += alen;
    memcpy(p, da, alen);
    p += alen;
    *p++ = f->proto;
    *p++ = 0;
    if (f->has_ports) {
        *p++ = (uint8_t)(sp >> 8);
        *p++ = (uint8_t)sp;
        *p++ = (uint8_t)(dp >> 8);
        *p++ = (uint8_t)dp;
    }
    static GChecksum *sha1; /* reused: no allocation per packet */
    if (!sha1)
        sha1 = g_checksum_new(G_CHECKSUM_SHA1);
    else
        g_checksum_reset(sha1);
    g_checksum_update(sha1, buf, (gssize)(p - buf));
    uint8_t digest[20];
    gsize dlen = sizeof digest;
    g_checksum_get_digest(sha1, digest, &dlen);
    out[0] = '1';
    out[1] = ':';
    size_t n = 2 + base64(digest, dlen, out + 2);
    out[n] = '\0';
    return n;
}
