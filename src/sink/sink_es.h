/* sink_es: the Elasticsearch/OpenSearch _bulk sink. */
#ifndef ESPCAP_SINK_ES_H
#define ESPCAP_SINK_ES_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_schema.h"
#include "sink.h"

/* The cluster: how to reach it. Strings are borrowed for the sink's life. */
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

struct sink_es_config {
    struct es_config es;
    const char *index_prefix;  /* "packets" */
    struct es_index_rules indices; /* interval, time window, shards, replicas */
    size_t chunk;              /* documents per bulk request */
    size_t chunk_bytes;        /* bytes per bulk request, at most (about) */
    size_t in_flight;          /* bulk requests under way at once */
    double flush_interval;     /* seconds a document may wait for its request to fill */
    bool compress;             /* gzip request bodies */
    const char *dead_letters;  /* NDJSON file of rejected documents */
    bool live;                 /* never block: spool what cannot be sent now */
    const char *spool_dir;     /* live: the spool folder */
    uint64_t spool_max;        /* live: bytes the spool may hold */
};

/* Checks the syntax of a --node list; false with the reason (naming the node) in err. */
bool es_nodes_check(const char *nodes, char *err, size_t errlen);

/* Connects (waiting up to es.start_wait), installs the index template. NULL with the
 * reason in err. */
struct sink *sink_es_new(const struct sink_es_config *cfg, char *err, size_t errlen);

#endif
