/* es_engine: engine, version and capabilities from the answer to GET /. */
#include "es_engine.h"

#include <stdio.h>
#include <string.h>

#include "es_json.h"

bool es_engine_parse(const char *answer, size_t len, const char *who, struct es_engine *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct jspan v;
    char dist[32] = "";
    if (ejson_get(answer, len, "version.distribution", &v))
        ejson_text(v, dist, sizeof dist);
    if (!ejson_get(answer, len, "version.number", &v) ||
        !ejson_text(v, out->version, sizeof out->version)) {
        snprintf(err, errlen, "%s: GET / did not say which version it runs", who);
        return false;
    }
    out->kind = strcmp(dist, "opensearch") == 0 ? ENGINE_OPENSEARCH : ENGINE_ELASTICSEARCH;
    if (sscanf(out->version, "%d.%d", &out->major, &out->minor) != 2) {
        snprintf(err, errlen, "unreadable version '%s'", out->version);
        return false;
    }
    int major = out->major, minor = out->minor;
    if (out->kind == ENGINE_OPENSEARCH) {
        out->caps.composable_templates = true;
        out->caps.unsigned_long = major > 2 || (major == 2 && minor >= 8);
        return true;
    }
    if (major < 7) {
        snprintf(err, errlen, "Elasticsearch %s is not supported: espcap needs 7.0 or later",
                 out->version);
        return false;
    }
    out->caps.composable_templates = major > 7 || minor >= 8;
    /* With the default distribution; the first mapping that uses it finds out otherwise. */
    out->caps.unsigned_long = major > 7 || minor >= 10;
    return true;
}

const char *es_engine_name(const struct es_engine *e)
{
    return e->kind == ENGINE_OPENSEARCH ? "OpenSearch" : "Elasticsearch";
}
