/* es_admin: the plain requests that prepare the engine for documents: find out which
 * engine runs, install the index template, create daily indices and put mappings, with
 * the fall-backs es_schema decides (field by field after a clash, double for
 * unsigned_long). Synchronous, through http_call. */
#ifndef ESPCAP_ES_ADMIN_H
#define ESPCAP_ES_ADMIN_H

#include <signal.h>
#include <stdbool.h>

#include "../util/buf.h"
#include "es_engine.h"
#include "es_schema.h"
#include "http_client.h"

struct strset;

struct es_admin {
    struct http_client *http; /* borrowed */
    struct es_schema *schema; /* owned, made by es_admin_connect */
    struct es_engine engine;
    size_t answered;          /* the node that answered GET / */
    int tries;                /* per request: 0 = until answered (file mode), 1 (live) */
    struct strset *created;   /* indices created (or found) in this run */
    struct buf path, answer, scratch;
};

void es_admin_init(struct es_admin *a, struct http_client *http, int tries);
void es_admin_fini(struct es_admin *a); /* also of a zeroed, never initialised one */

/* Waits up to wait seconds for a node (a signal setting *stop ends the wait), reads the
 * engine and version and makes the schema for index prefix. false with the reason in
 * err: unreachable, credentials refused, an engine espcap does not support. */
bool es_admin_connect(struct es_admin *a, const char *prefix, double wait,
                      volatile sig_atomic_t *stop, char *err, size_t errlen);
/* Installs the index template. false with the reason in err. */
bool es_admin_template(struct es_admin *a, char *err, size_t errlen);
/* Puts the mappings of "M <index> <body>" lines (es_schema_take_pending), creating each
 * index first unless done before in this run. What the engine refuses is said on stderr.
 * false: a node could not be asked (live mode asks once), the rest is not tried. */
bool es_admin_apply(struct es_admin *a, const char *lines, size_t len);

#endif
