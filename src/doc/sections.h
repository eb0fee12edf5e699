/* sections: which protocol layer of a packet goes to layers.link, .network, .transport,
 * .application, and which stays under its own name with an "envelope". The rules are
 * written down in docs/schema.md; this file is their one implementation. */
#ifndef ESPCAP_SECTIONS_H
#define ESPCAP_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>

enum layer_kind { KIND_OTHER = 0, KIND_NETWORK, KIND_TRANSPORT };

/* ROLE_FRAME is the frame itself (Wireshark's "frame" item), which sections_assign never
 * sees: it stands before the layers it is given. */
enum layer_role { ROLE_OTHER = 0, ROLE_LINK, ROLE_NETWORK, ROLE_TRANSPORT, ROLE_APPLICATION,
                  ROLE_FRAME };

/* One protocol layer of a packet, in packet order, after the frame. */
struct layer_info {
    const char *name;      /* protocol filter name, e.g. "eth" */
    enum layer_kind kind;  /* from sections_kind(name) */
    bool listed;           /* named in protocols.list */
    enum layer_role role;  /* out */
};

/* The kind a protocol has in the section rules. */
enum layer_kind sections_kind(const char *proto_name);

/* Assigns a role to every layer; returns the index of the layer that gives the
 * document's "protocol" (the highest listed layer, else the last), or -1 if n == 0. */
int sections_assign(struct layer_info *layers, size_t n);

/* The key a role is written under ("link", ...), or NULL for ROLE_OTHER. */
const char *sections_role_key(enum layer_role role);

#endif
