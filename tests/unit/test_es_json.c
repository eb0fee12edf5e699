/* test_es_json: reading engine answers: dotted look-ups, _bulk items, strict validation. */
#include <stdbool.h>

#include "../../src/sink/es_json.h"
#include "testhelp.h"

static int statuses[8], n_items;
static char errors[8][64];

static void on_item(void *ctx, long i, const struct bulk_item *it)
{
    (void)ctx;
    if (i < 8) {
        statuses[i] = it->status;
        snprintf(errors[i], sizeof errors[i], "%.*s", (int)it->error.n, it->error.n ? it->error.p : "");
    }
    n_items++;
}

int main(void)
{
    const char *root = "{ \"name\" : \"n\", \"version\" : { \"distribution\" : \"opensearch\","
                       " \"number\" : \"2.19.6\", \"x\": [1, {\"a\": \"}\"}] }, \"tagline\": \"t\\\"q\" }";
    struct jspan v;
    char out[64];
    CHECK(ejson_get(root, strlen(root), "version.number", &v) && ejson_text(v, out, sizeof out));
    CHECK_STR(out, "2.19.6");
    CHECK(ejson_get(root, strlen(root), "version.distribution", &v) && ejson_text(v, out, sizeof out));
    CHECK_STR(out, "opensearch");
    CHECK(ejson_get(root, strlen(root), "tagline", &v) && ejson_text(v, out, sizeof out));
    CHECK_STR(out, "t\\\"q");
    CHECK(!ejson_get(root, strlen(root), "version.missing", &v));
    CHECK(!ejson_get(root, strlen(root), "name.deeper", &v));
    CHECK(ejson_get(root, strlen(root), "version.x", &v) && v.p[0] == '[');
    CHECK(!ejson_get("{\"a\":", 5, "a", &v)); /* cut short */

    const char *bulk =
        "{\"took\":3,\"errors\":true,\"items\":["
        "{\"create\":{\"_index\":\"p\",\"_id\":\"1\",\"status\":201}},"
        "{\"create\":{\"_index\":\"p\",\"_id\":\"2\",\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\"}}},"
        "{\"create\":{\"_index\":\"p\",\"_id\":\"3\",\"error\":{\"type\":\"es_rejected_execution_exception\"},\"status\":429}},"
        "{\"create\":{\"_index\":\"p\",\"_id\":\"4\",\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"x]}\"}}}"
        "]}";
    bool errs = false;
    long n = ejson_bulk_items(bulk, strlen(bulk), &errs, on_item, NULL);
    CHECK(n == 4 && n_items == 4);
    CHECK(errs);
    CHECK(statuses[0] == 201 && statuses[1] == 409 && statuses[2] == 429 && statuses[3] == 400);
    CHECK(errors[0][0] == '\0');
    CHECK(strstr(errors[3], "mapper_parsing_exception") != NULL);
    CHECK(strstr(errors[2], "es_rejected_execution_exception") != NULL);

    const char *ok = "{\"took\":1,\"errors\":false,\"items\":[{\"index\":{\"status\":201}}]}";
    n_items = 0;
    CHECK(ejson_bulk_items(ok, strlen(ok), &errs, on_item, NULL) == 1 && !errs);
    CHECK(ejson_bulk_items("{\"error\":\"x\"}", 13, &errs, NULL, NULL) == -1);
    CHECK(ejson_bulk_items("<html>", 6, &errs, NULL, NULL) == -1);

    /* Strict validation: what the dead-letter file may keep as it is. */
    const char *valid[] = { "{}", " [ ] ", "0", "-1.5e+3", "\"\"", "true", "null",
                            "{\"a\":[1,{\"b\":\"\\u00e9\\n\"}],\"c\":false}",
                            "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "{\n  \"a\" : 1\n}\n" };
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
        CHECK(ejson_valid(valid[i], strlen(valid[i])));
    const char *invalid[] = { "", " ", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "{} {}", "01",
                              "1.", "-", ".5", "+1", "tru", "nul", "\"abc", "'a'",
                              "{a:1}", "\"\\x\"", "\"\\u12\"", "\"tab\there\"",
                              "\"\xff\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
                              "\"\xf4\x90\x80\x80\"", "NaN", "[1] x" };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        bool accepted = ejson_valid(invalid[i], strlen(invalid[i]));
        if (accepted)
            fprintf(stderr, "accepted: %s\n", invalid[i]);
        CHECK(!accepted);
    }
    CHECK(!ejson_valid("\"a\0b\"", 5)); /* a raw NUL in a string */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    CHECK(!ejson_valid(deep, 200)); /* deeper than 64 */
    CHECK(ejson_valid(deep + 40, 120));
    return TH_DONE("test_es_json");
}
