/* privdrop: give up root for good, as tcpdump -Z, Suricata --user and Arkime dropUser do:
 * supplementary groups, group, user, every capability (the bounding set too), and no way
 * back (no_new_privs). */
#ifndef ESPCAP_PRIVDROP_H
#define ESPCAP_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The user to become: its uid and gid. false with the reason in err if it does not exist. */
bool privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* Becomes uid/gid when running as root (a no-op otherwise, but for dropping any
 * capability the program was given and setting no_new_privs). false with the reason. */
bool privdrop(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
