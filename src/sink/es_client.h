/* es_client: the nodes of an Elasticsearch/OpenSearch cluster, how to reach them (auth,
 * TLS, compression), which engine and version they run, and plain requests with retry. */
#ifndef ESPCAP_ES_CLIENT_H
#define ESPCAP_ES_CLIENT_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

#include <curl/curl.h>

#include "../util/buf.h"

struct es_config {
    const char *nodes;        /* "host:9200", "https://a:9200,https://b:9200" */
    const char *user;         /* basic auth "user" or "user:password", or NULL */
    const char *password;     /* or NULL */
    const char *api_key;      /* "Authorization: ApiKey ..." or NULL */
    const char *cacert;       /* CA bundle for TLS verification, or NULL */
    bool insecure;            /* no TLS verification */
    double start_wait;        /* seconds to keep trying to reach a node at start-up */
    volatile sig_atomic_t *stop; /* set by a signal: give up waiting at start-up */
};

enum es_engine { ENGINE_OPENSEARCH, ENGINE_ELASTICSEARCH };

struct es_node {
    char *url;         /* base URL, no trailing '/' (may hold user:password@) */
    char *shown;       /* the URL as printed: credentials removed */
    double down_until; /* monotonic seconds; 0 = usable */
    double backoff;    /* seconds of the next set-aside */
};

struct es_client {
    struct es_node *nodes;
    size_t n_nodes;
    size_t next;              /* round robin */
    struct curl_slist *auth_headers;
    struct es_config cfg;
    enum es_engine engine;
    int major, minor;
    char version[32];
    bool composable_templates;  /* _index_template (else legacy _template) */
    bool unsigned_long;         /* the unsigned_long field type */
    CURL *sync;                 /* for plain requests */
    size_t answered;            /* the node that answered GET / */
    char error[512];
};

/* Checks the syntax of a --node list; false with the reason (naming the node) in err. */
bool es_nodes_check(const char *nodes, char *err, size_t errlen);

/* Parses the node list. false with the reason in err (names the bad node). */
bool es_client_init(struct es_client *c, const struct es_config *cfg, char *err, size_t errlen);
void es_client_fini(struct es_client *c);

/* GET / on the nodes until one answers (up to cfg.start_wait seconds, with backoff), and
 * reads the engine and version. false with the reason in c->error. */
bool es_client_connect(struct es_client *c);

/* Sets what every request needs on an easy handle: TLS, auth, keep-alive, time-outs. */
void es_client_setup(struct es_client *c, CURL *h);

/* The node to use now: the next usable one in turn, else the one back soonest. */
size_t es_client_pick(struct es_client *c, double now);
void es_client_node_failed(struct es_client *c, size_t node, double now);
void es_client_node_ok(struct es_client *c, size_t node);

/* A plain request (method, path, optional JSON body) on a usable node. Transport errors,
 * 429 and 5xx are retried with backoff, saying on stderr what it waits for: for ever with
 * max_tries 0 (file mode never drops), else at most max_tries times and never waiting for
 * a node set aside. Returns the HTTP status (resp holds the body), or -1. */
long es_request(struct es_client *c, const char *method, const char *path, const char *body,
                size_t bodylen, struct buf *resp, int max_tries);

double es_now(void);

#endif
