/* sink_es: the Elasticsearch/OpenSearch _bulk sink. */
#ifndef ESPCAP_SINK_ES_H
#define ESPCAP_SINK_ES_H

#include "../doc/docinfo.h"
#include "es_client.h"
#include "sink.h"

struct sink_es_config {
    struct es_config es;
    const char *index_prefix;  /* "packets" */
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

/* Connects (waiting up to es.start_wait), installs the index template. NULL with the
 * reason in err. */
struct sink *sink_es_new(const struct sink_es_config *cfg, char *err, size_t errlen);

#endif
