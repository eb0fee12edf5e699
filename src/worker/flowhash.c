/* flowhash: a symmetric flow hash by link type (see flowhash.h). */
#include "flowhash.h"

#include <string.h>

#include "../util/hash.h"

/* Values of wiretap's WTAP_ENCAP_* (wiretap/wtap.h); spelled out so that this module and
 * its unit test need no Wireshark headers. */
enum {
    ENC_ETHERNET = 1, ENC_PPP = 4, ENC_RAW_IP = 7, ENC_NULL = 15, ENC_IEEE_802_11 = 20,
    ENC_IEEE_802_11_WITH_RADIO = 22, ENC_IEEE_802_11_RADIOTAP = 23, ENC_SLL = 25,
    ENC_RAW_IP4 = 129, ENC_RAW_IP6 = 130, ENC_LOOP = 174, ENC_SLL2 = 210, ENC_PPI = 97,
};

/* Symmetric: the same for (a, b) and (b, a); never 0. */
static uint64_t pair(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t x = hash_fnv1a(HASH_FNV1A_SEED, a, n), y = hash_fnv1a(HASH_FNV1A_SEED, b, n);
    uint64_t h = hash_mix64((x ^ y) * 0x9e3779b97f4a7c15ull + (x + y));
    return h ? h : 1;
}

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* An IP packet at p: its address pair, or 0. */
static uint64_t ip_hash(const uint8_t *p, size_t n)
{
    if (n >= 20 && (p[0] >> 4) == 4)
        return pair(p + 12, p + 16, 4);
    if (n >= 40 && (p[0] >> 4) == 6)
        return pair(p + 8, p + 24, 16);
    return 0;
}

/* An Ethernet type at p[-2..0) and what follows: through VLAN tags, PPPoE and MPLS. */
static uint64_t ethertype_hash(uint16_t type, const uint8_t *p, size_t n)
{
    for (int depth = 0; depth < 8; depth++) {
        switch (type) {
        case 0x0800:
        case 0x86dd:
            return ip_hash(p, n);
        case 0x8100: /* 802.1Q */
        case 0x88a8: /* 802.1ad */
        case 0x9100:
            if (n < 4)
                return 0;
            type = be16(p + 2);
            p += 4;
            n -= 4;
            continue;
        case 0x8864: /* PPPoE session: 6-byte header, then a PPP protocol */
            if (n < 8)
                return 0;
            type = be16(p + 6) == 0x0021 ? 0x0800 : be16(p + 6) == 0x0057 ? 0x86dd : 0;
            p += 8;
            n -= 8;
            continue;
        case 0x8847: /* MPLS: labels to the bottom of the stack, then IP by its version */
            while (n >= 4 && !(p[2] & 1)) {
                p += 4;
                n -= 4;
            }
            if (n < 4)
                return 0;
            return ip_hash(p + 4, n - 4);
        default:
            return 0;
        }
    }
    return 0;
}

static uint64_t ethernet_hash(const uint8_t *p, size_t n)
{
    if (n < 14)
        return 0;
    uint64_t h = ethertype_hash(be16(p + 12), p + 14, n - 14);
    return h ? h : pair(p, p + 6, 6); /* not IP: the MAC addresses */
}

/* An 802.11 frame: data frames carrying IP by their IP addresses, others by their first
 * two addresses. */
static uint64_t wlan_hash(const uint8_t *p, size_t n)
{
    if (n < 24)
        return 0;
    unsigned type = (p[0] >> 2) & 3, subtype = p[0] >> 4;
    size_t hdr = 24;
    if (type == 2) {
        if ((p[1] & 3) == 3)
            hdr += 6; /* four addresses */
        if (subtype & 8)
            hdr += 2; /* QoS */
        if (n >= hdr + 8 && p[hdr] == 0xaa && p[hdr + 1] == 0xaa && p[hdr + 2] == 0x03) {
            uint64_t h = ethertype_hash(be16(p + hdr + 6), p + hdr + 8, n - hdr - 8);
            if (h)
                return h;
        }
    }
    return n >= 16 ? pair(p + 4, p + 10, 6) : 0;
}

uint64_t flowhash(int encap, const uint8_t *p, size_t n)
{
    switch (encap) {
    case ENC_ETHERNET:
        return ethernet_hash(p, n);
    case ENC_RAW_IP:
    case ENC_RAW_IP4:
    case ENC_RAW_IP6:
        return ip_hash(p, n);
    case ENC_SLL:
        return n >= 16 ? ethertype_hash(be16(p + 14), p + 16, n - 16) : 0;
    case ENC_SLL2:
        return n >= 20 ? ethertype_hash(be16(p), p + 20, n - 20) : 0;
    case ENC_NULL:
    case ENC_LOOP:
        /* a 4-byte address family (host or network order): 2 is IPv4, 24/28/30 IPv6 */
        return n >= 4 ? ip_hash(p + 4, n - 4) : 0;
    case ENC_PPP:
        if (n >= 4 && p[0] == 0xff && p[1] == 0x03)
            return be16(p + 2) == 0x0021 || be16(p + 2) == 0x0057 ? ip_hash(p + 4, n - 4) : 0;
        return n >= 2 && (be16(p) == 0x0021 || be16(p) == 0x0057) ? ip_hash(p + 2, n - 2) : 0;
    case ENC_IEEE_802_11:
        return wlan_hash(p, n);
    case ENC_IEEE_802_11_WITH_RADIO:
    case ENC_IEEE_802_11_RADIOTAP:
    case ENC_PPI:
        /* Radio captures: Wireshark's radio analysis (wlan_radio.ifs, the time since the
         * previous frame on the medium) spans every frame, so they stay together. */
        return 0;
    default:
        return 0;
    }
}
