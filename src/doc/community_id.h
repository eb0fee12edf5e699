/* community_id: the Community ID flow hash (v1: SHA-1, base64), which joins a packet to
 * Zeek's conn.log, Suricata's EVE and Arkime's sessions. Pure: no libwireshark. */
#ifndef ESPCAP_COMMUNITY_ID_H
#define ESPCAP_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CID_PROTO_ICMP 1
#define CID_PROTO_TCP 6
#define CID_PROTO_UDP 17
#define CID_PROTO_ICMPV6 58
#define CID_PROTO_SCTP 132

/* A flow as the specification sees it. For ICMP and ICMPv6, sport and dport are the
 * message type and code: cid_hash maps them to the spec's port equivalents. */
struct cid_flow {
    int family;            /* 4 or 6 */
    uint8_t saddr[16], daddr[16]; /* network order; IPv4 in the first 4 bytes */
    uint8_t proto;
    bool has_ports;        /* false: the IP-only form (no transport header, or cut) */
    uint16_t sport, dport;
};

#define CID_MAX 32 /* "1:" + 28 base64 characters + NUL, rounded */

/* Writes "1:<base64 of SHA-1>" into out (NUL-terminated); returns its length. */
size_t cid_hash(const struct cid_flow *f, uint16_t seed, char out[CID_MAX]);

#endif
