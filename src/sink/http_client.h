/* http_client: a generic HTTP client on libcurl's multi interface: nodes used in turn, a
 * failing node set aside with a doubling backoff, requests retried with backoff, time-outs.
 * It knows nothing of what it sends (as Arkime's capture/http.c): Elasticsearch is the
 * caller's business. */
#ifndef ESPCAP_HTTP_CLIENT_H
#define ESPCAP_HTTP_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

/* Strings are borrowed: they must outlive the client. A 0 number means its default. */
struct http_config {
    const char *nodes;          /* "host:9200" or URLs, comma-separated; no scheme = http:// */
    const char *user;           /* basic auth "user" or "user:password", or NULL */
    const char *password;       /* or NULL */
    const char *authorization;  /* an Authorization header's value ("ApiKey ..."), or NULL */
    const char *const *headers; /* sent with every request ("Name: value"), NULL-ended; or NULL */
    const char *cacert;         /* CA bundle for TLS verification, or NULL */
    bool insecure;              /* no TLS verification */
    long connect_timeout_ms;    /* 10000 */
    long timeout_ms;            /* a whole request, answer included: 120000 */
    double backoff_min;         /* s, first set-aside of a failing node and first retry: 0.5 */
    double backoff_max;         /* s, the longest: 30 */
    size_t max_active;          /* asynchronous requests on the wire at once: 1 */
    size_t max_answer;          /* bytes of an answer body; more is a failure: 64 MiB */
};

struct http_node {
    char *url;         /* base URL without a trailing '/', and without any user:password@ */
    char *shown;       /* the URL for messages (the same: it holds no credentials) */
    char *user;        /* basic auth from the URL's user:password@ (%XX decoded), or NULL; */
    char *password;    /* these beat the config's user and password for this node */
    double down_until; /* monotonic seconds; 0 = usable */
    double backoff;    /* seconds of its next set-aside */
};

struct http_client;
struct http_req;

/* Called once per submission when the request is settled: answered (any status but 408,
 * 429 and 5xx), or given up once max_tries sends failed (status is then the last one, or 0
 * if none came, and error says why). */
typedef void (*http_done_fn)(void *ud, struct http_req *r);
/* Called when the client schedules the request again, delay seconds from now. */
typedef void (*http_retry_fn)(void *ud, struct http_req *r, double delay);

enum http_outcome { HTTP_ANSWERED, HTTP_GAVE_UP };

/* An asynchronous request. The caller embeds it (http_req_init/_fini), fills the first
 * part and submits it; the client owns it from http_submit until done is called. */
struct http_req {
    const char *method;       /* "POST", "PUT", ... */
    const char *path;         /* appended to the node's URL: "/_bulk" */
    const char *content_type; /* or NULL */
    const char *body;         /* borrowed: valid and unchanged until done (or NULL) */
    size_t body_len;
    bool gzip;                /* send the body gzip-compressed */
    int max_tries;            /* 0: until answered; else at most this many sends */
    http_done_fn done;
    http_retry_fn on_retry;   /* or NULL */
    void *ud;
    /* The outcome, for done and on_retry: */
    enum http_outcome outcome;
    long status;              /* HTTP status; 0 when none came (refused, reset, time-out) */
    char error[256];          /* why the last send failed: curl's words (with its details:
                               * "SSL certificate problem: ..."), or "HTTP 503" */
    size_t node;              /* the node of the last send */
    int attempts;             /* sends of this submission so far */
    struct buf answer;        /* the last answer's body */
    /* The client's own: */
    void *h;                  /* CURL easy handle */
    void *hdr;                /* struct curl_slist */
    struct buf gz, url;
    char curl_error[256];     /* CURLOPT_ERRORBUFFER (CURL_ERROR_SIZE) */
    uint64_t seq;             /* submission order */
    double retry_at;
    int state;
    bool too_big;
    size_t limit;
};

void http_req_init(struct http_req *r);
void http_req_fini(struct http_req *r); /* never while submitted: see http_cancel */

/* Parses the node list only. false with the reason (naming the bad node) in err. */
bool http_nodes_check(const char *nodes, char *err, size_t errlen);

/* NULL with the reason in err when the node list is bad. */
struct http_client *http_client_new(const struct http_config *cfg, char *err, size_t errlen);
/* Takes back every request still submitted (their done is not called). NULL is fine. */
void http_client_free(struct http_client *c);

double http_now(void); /* monotonic seconds */
size_t http_node_count(const struct http_client *c);
const struct http_node *http_node(const struct http_client *c, size_t i);
/* The node to use now: the next usable one in turn, else the one back soonest. Moves the
 * rotation on. */
size_t http_pick(struct http_client *c, double now);
bool http_any_usable(const struct http_client *c, double now);
void http_node_failed(struct http_client *c, size_t node, double now);
void http_node_ok(struct http_client *c, size_t node);
/* Nodes set aside until less than within seconds from now are usable at once. */
void http_nodes_forgive(struct http_client *c, double within);
const char *http_error(const struct http_client *c); /* of the last synchronous call */

/* ---- asynchronous requests ---- */

/* Sends r as soon as fewer than max_active requests are on the wire (now, if one can). */
void http_submit(struct http_client *c, struct http_req *r);
/* From done only: sends r again after a backoff that grows with r->attempts, why being
 * the reason given to on_retry; the caller may first point r->body and r->body_len at a
 * new body. false, doing nothing, when max_tries are spent: the caller settles r. */
bool http_retry(struct http_client *c, struct http_req *r, const char *why);
/* Every request waiting for its retry is due now (a last chance before the end). */
void http_hurry(struct http_client *c);
/* Takes a submitted request back without calling done (nothing if it is not submitted). */
void http_cancel(struct http_client *c, struct http_req *r);
size_t http_active(const struct http_client *c);      /* on the wire */
size_t http_outstanding(const struct http_client *c); /* submitted, done not yet called */
/* Moves transfers on and calls done/on_retry. If nothing was settled, waits up to
 * max_wait seconds (at most 1) for something to happen; 0 never waits. */
void http_pump(struct http_client *c, double max_wait);
uint64_t http_bytes_out(const struct http_client *c); /* body bytes of asynchronous sends */

/* ---- synchronous requests (on a handle of their own: the multi transfers pause) ---- */

/* One request on a usable node. Transport errors, 408, 429 and 5xx are retried with
 * backoff, saying on stderr what it waits for: for ever with max_tries 0, else at most
 * max_tries sends, never waiting for a node set aside. Returns the HTTP status (answer
 * holds the body, NUL-terminated), or -1 with the reason in http_error(). */
long http_call(struct http_client *c, const char *method, const char *path, const char *body,
               size_t bodylen, struct buf *answer, int max_tries);

/* GET path on every node in turn until one answers 2xx, or refuses the credentials (401,
 * 403), for up to wait seconds with backoff, saying on stderr that it waits; *stop (if
 * not NULL) set by a signal ends the wait. A round in which no node answered and one's
 * TLS certificate could not be verified ends it at once: waiting does not mend that.
 * Returns the status with *node the node that gave it, or -1 with the reason in
 * http_error(). Every node is usable afterwards. */
long http_wait_ready(struct http_client *c, const char *path, double wait,
                     volatile sig_atomic_t *stop, struct buf *answer, size_t *node);

#endif
