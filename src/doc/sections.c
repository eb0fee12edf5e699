/* sections: the layer-to-section rules of the document. */
#include "sections.h"

#include <string.h>

/* Network-layer protocols: IP and its peers that carry a transport. */
static const char *const network_protos[] = {
    "ip", "ipv6", "arp", "ipx", "clnp", "ddp", "idp", "vines_ip", NULL,
};

/* Transport-layer protocols, including ICMP-like ones that ride directly on IP. */
static const char *const transport_protos[] = {
    "tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "igmp", "spx", NULL,
};

static bool in(const char *const *set, const char *name)
{
    for (; *set; set++)
        if (strcmp(*set, name) == 0)
            return true;
    return false;
}

enum layer_kind sections_kind(const char *proto_name)
{
    if (in(network_protos, proto_name))
        return KIND_NETWORK;
    if (in(transport_protos, proto_name))
        return KIND_TRANSPORT;
    return KIND_OTHER;
}

const char *sections_role_key(enum layer_role role)
{
    switch (role) {
    case ROLE_LINK: return "link";
    case ROLE_NETWORK: return "network";
    case ROLE_TRANSPORT: return "transport";
    case ROLE_APPLICATION: return "application";
    case ROLE_FRAME: return "frame";
    default: return NULL;
    }
}

int sections_assign(struct layer_info *l, size_t n)
{
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        l[i].role = ROLE_OTHER;

    /* link: the first layer after the frame, unless the capture starts at IP. */
    if (l[0].kind == KIND_OTHER)
        l[0].role = ROLE_LINK;

    size_t from = 0;
    long net = -1, trans = -1;
    for (size_t i = 0; i < n; i++)
        if (l[i].kind == KIND_NETWORK && l[i].role == ROLE_OTHER) {
            l[i].role = ROLE_NETWORK;
            net = (long)i;
            break;
        }
    if (net >= 0)
        from = (size_t)net + 1;
    for (size_t i = from; i < n; i++)
        if (l[i].kind == KIND_TRANSPORT) {
            l[i].role = ROLE_TRANSPORT;
            trans = (long)i;
            break;
        }

    long proto = -1;
    for (size_t i = n; i-- > 0;)
        if (l[i].listed) {
            proto = (long)i;
            break;
        }
    if (proto < 0)
        proto = (long)n - 1;

    if (trans >= 0 && proto > trans && l[proto].role == ROLE_OTHER)
        l[proto].role = ROLE_APPLICATION;
    return (int)proto;
}
