/* es_engine: which engine and version a node runs, from its answer to GET /, and what the
 * schema may use there. */
#ifndef ESPCAP_ES_ENGINE_H
#define ESPCAP_ES_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "es_schema.h"

enum es_kind { ENGINE_OPENSEARCH, ENGINE_ELASTICSEARCH };

struct es_engine {
    enum es_kind kind;
    int major, minor;
    char version[32];    /* "2.19.6" */
    struct es_caps caps;
};

/* Reads the answer to GET / (who: the node, for the message). false with the reason in
 * err: no version, an unreadable one, or an engine espcap does not support. */
bool es_engine_parse(const char *answer, size_t len, const char *who, struct es_engine *out,
                     char *err, size_t errlen);

const char *es_engine_name(const struct es_engine *e); /* "OpenSearch", "Elasticsearch" */

#endif
