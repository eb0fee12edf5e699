/* test_es_engine: engine, version and capabilities from answers to GET /. */
#include <stdbool.h>

#include "../../src/sink/es_engine.h"
#include "testhelp.h"

static bool parse(const char *answer, struct es_engine *e, char *err)
{
    return es_engine_parse(answer, strlen(answer), "http://n:9200", e, err, 256);
}

static const char *root(char *out, const char *dist, const char *number)
{
    sprintf(out, "{\"name\":\"n\",\"cluster_name\":\"c\",\"version\":{%s%s%s\"number\":\"%s\","
            "\"lucene_version\":\"9\"},\"tagline\":\"You Know, for Search\"}",
            dist ? "\"distribution\":\"" : "", dist ? dist : "", dist ? "\"," : "", number);
    return out;
}

int main(void)
{
    struct es_engine e;
    char err[256], a[512];

    CHECK(parse(root(a, "opensearch", "2.19.6"), &e, err));
    CHECK(e.kind == ENGINE_OPENSEARCH && e.major == 2 && e.minor == 19);
    CHECK_STR(e.version, "2.19.6");
    CHECK_STR(es_engine_name(&e), "OpenSearch");
    CHECK(e.caps.composable_templates && e.caps.unsigned_long);
    CHECK(parse(root(a, "opensearch", "2.7.0"), &e, err));
    CHECK(e.caps.composable_templates && !e.caps.unsigned_long);
    CHECK(parse(root(a, "opensearch", "1.3.20"), &e, err) && !e.caps.unsigned_long);
    CHECK(parse(root(a, "opensearch", "3.0.0"), &e, err) && e.caps.unsigned_long);

    /* Elasticsearch: no distribution field. */
    CHECK(parse(root(a, NULL, "8.15.1"), &e, err));
    CHECK(e.kind == ENGINE_ELASTICSEARCH && e.caps.composable_templates && e.caps.unsigned_long);
    CHECK_STR(es_engine_name(&e), "Elasticsearch");
    CHECK(parse(root(a, NULL, "7.17.25"), &e, err));
    CHECK(e.caps.composable_templates && e.caps.unsigned_long);
    CHECK(parse(root(a, NULL, "7.9.3"), &e, err));
    CHECK(e.caps.composable_templates && !e.caps.unsigned_long);
    CHECK(parse(root(a, NULL, "7.7.1"), &e, err));
    CHECK(!e.caps.composable_templates && !e.caps.unsigned_long);

    CHECK(!parse(root(a, NULL, "6.8.23"), &e, err));
    CHECK(strstr(err, "Elasticsearch 6.8.23 is not supported") != NULL);
    CHECK(!parse("{\"name\":\"n\"}", &e, err));
    CHECK_STR(err, "http://n:9200: GET / did not say which version it runs");
    CHECK(!parse("<html>hello</html>", &e, err) && strstr(err, "version"));
    CHECK(!parse(root(a, "opensearch", "two"), &e, err));
    CHECK_STR(err, "unreadable version 'two'");
    return TH_DONE("test_es_engine");
}
