/* es_admin: the requests that prepare the engine for documents: find out which engine runs
 * and install the index template (synchronous, at start-up, through http_call); then, while
 * documents flow, create daily indices and put mappings, with the fall-backs es_schema
 * decides (field by field after a clash, double for unsigned_long), asynchronously on the
 * HTTP client's multi handle beside the bulk requests, so that nothing waits for them. */
#ifndef ESPCAP_ES_ADMIN_H
#define ESPCAP_ES_ADMIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/buf.h"
#include "es_engine.h"
#include "es_schema.h"
#include "http_client.h"

struct strset;
struct admin_job;
struct admin_step;

struct es_admin {
    struct http_client *http; /* borrowed */
    struct es_schema *schema; /* owned, made by es_admin_connect */
    struct es_engine engine;
    size_t answered;          /* the node that answered GET / */
    struct strset *created;   /* indices created (or found) in this run */
    struct strset *applied;   /* "M <index> <body>" lines put in this run */
    /* The lane: jobs (mapping lines) in order, each carried out as steps (one request
     * each, on the wire one at a time); a job is done when its last step is answered. */
    struct admin_job *jobs;
    size_t n_jobs, cap_jobs;
    bool expanded;            /* the first job's steps are on the stack */
    struct admin_step *steps; /* a stack: the top is next (fall-backs go on top) */
    size_t n_steps, cap_steps;
    struct admin_step *cur;   /* the step on the wire, or NULL */
    struct http_req req;
    uint64_t queued_seq, done_seq;
    bool fatal;               /* credentials refused: see error */
    char error[512];
    double last_warn;
    struct buf path, answer, scratch;
};

void es_admin_init(struct es_admin *a, struct http_client *http);
void es_admin_fini(struct es_admin *a); /* also of a zeroed, never initialised one */

/* Waits up to wait seconds for a node (a signal setting *stop ends the wait), reads the
 * engine and version and makes the schema for index prefix. false with the reason in
 * err: unreachable, credentials refused, an engine espcap does not support. */
bool es_admin_connect(struct es_admin *a, const char *prefix, double wait,
                      volatile sig_atomic_t *stop, char *err, size_t errlen);
/* Installs the index template. false with the reason in err. */
bool es_admin_template(struct es_admin *a, char *err, size_t errlen);

/* ---- the asynchronous lane ---- */

/* Queues the "M <index> <body>" lines (es_schema_take_pending, or a spool record's) as a
 * job: each index is created first unless done before in this run, then the mapping is
 * put; lines already put in this run are left out. What the engine refuses for good is
 * said on stderr; what may succeed later (no answer, 429, 5xx, an index blocked by a full
 * disk) is tried again with backoff, for ever. Returns the sequence number a request
 * carrying documents of these lines must wait for (es_admin_done_seq): that of the job,
 * or of the last one queued when nothing new is to be put. */
uint64_t es_admin_queue(struct es_admin *a, const char *lines, size_t len);
/* Every job up to this sequence number is done. */
uint64_t es_admin_done_seq(const struct es_admin *a);
/* Starts the next step if none is on the wire (es_admin_queue and each answer do it). */
void es_admin_pump(struct es_admin *a);
/* Appends the lines of the jobs up to seq that are not done yet (for a spool record,
 * which must carry what its documents need mapped). */
void es_admin_pending_lines(const struct es_admin *a, uint64_t seq, struct buf *out);
/* Jobs not done yet. */
size_t es_admin_waiting(const struct es_admin *a);
/* Takes the step on the wire back from the client (it is sent again by the next pump). */
void es_admin_cancel(struct es_admin *a);

#endif
