/* test_es_bulk: _bulk bodies: action lines and stable _ids, keeping some items, the spool
 * record round trip, what answers say (per item, and in words for warnings). */
#include <stdbool.h>

#include "../../src/sink/es_bulk.h"
#include "testhelp.h"

static void span_is(struct jspan v, const char *want)
{
    char got[256];
    snprintf(got, sizeof got, "%.*s", (int)v.n, v.p);
    CHECK_STR(got, want);
}

int main(void)
{
    struct es_bulk b;
    es_bulk_init(&b);
    es_bulk_add(&b, "packets-2024-03-01", 0x0123456789abcdefull, 4, 0x1111111122222222ull,
                "{\"a\":1}", 7);
    es_bulk_add(&b, "packets-2024-03-02", 0xfull, 4294967295u, 0xffffffff00000000ull, "{}", 2);
    es_bulk_add(&b, "p-1970-01-01", 0, 0, 0, "{\"c\":\"x\\ny\"}", 12);
    CHECK(b.n == 3);
    buf_cstr(&b.body);
    CHECK_STR(b.body.p,
              "{\"create\":{\"_index\":\"packets-2024-03-01\",\"_id\":\"0123456789abcdef-4-33333333\"}}\n"
              "{\"a\":1}\n"
              "{\"create\":{\"_index\":\"packets-2024-03-02\",\"_id\":\"000000000000000f-4294967295-ffffffff\"}}\n"
              "{}\n"
              "{\"create\":{\"_index\":\"p-1970-01-01\",\"_id\":\"0000000000000000-0-00000000\"}}\n"
              "{\"c\":\"x\\ny\"}\n");
    span_is(es_bulk_action(&b, 1),
            "{\"create\":{\"_index\":\"packets-2024-03-02\",\"_id\":\"000000000000000f-4294967295-ffffffff\"}}");
    span_is(es_bulk_doc(&b, 0), "{\"a\":1}");
    span_is(es_bulk_doc(&b, 2), "{\"c\":\"x\\ny\"}");

    /* A spool record and back: the same body and items, the mapping lines apart. */
    struct spool_part parts[3];
    const char *maps = "M packets-2024-03-01 {\"properties\":{}}\n";
    es_bulk_record(&b, maps, strlen(maps), parts);
    struct es_bulk r;
    es_bulk_init(&r);
    for (int i = 0; i < 3; i++)
        buf_add(&r.body, parts[i].p, parts[i].n);
    struct buf m;
    buf_init(&m, 16);
    CHECK(es_bulk_from_record(&r, &m));
    CHECK(m.len == strlen(maps) && memcmp(m.p, maps, m.len) == 0);
    CHECK(r.n == 3 && r.body.len == b.body.len && memcmp(r.body.p, b.body.p, b.body.len) == 0);
    span_is(es_bulk_doc(&r, 1), "{}");

    /* Without mapping lines; a record cut in its last item keeps the complete ones. */
    es_bulk_reset(&r);
    buf_adds(&r.body, "B\n{\"create\":{}}\n{\"a\":1}\n{\"create\":{}}\n{\"b\"");
    CHECK(es_bulk_from_record(&r, &m) && m.len == 0 && r.n == 1);
    CHECK(r.body.len == strlen("{\"create\":{}}\n{\"a\":1}\n"));
    es_bulk_reset(&r);
    buf_adds(&r.body, "M x {}\nB\n");
    CHECK(es_bulk_from_record(&r, &m) && r.n == 0 && m.len == 7);
    es_bulk_reset(&r);
    buf_adds(&r.body, "not a record\nBx\n");
    CHECK(!es_bulk_from_record(&r, &m));

    /* Keep the items to send again, in order. */
    bool keep[3] = { true, false, true };
    es_bulk_keep(&b, keep);
    CHECK(b.n == 2);
    span_is(es_bulk_doc(&b, 0), "{\"a\":1}");
    span_is(es_bulk_doc(&b, 1), "{\"c\":\"x\\ny\"}");
    span_is(es_bulk_action(&b, 1),
            "{\"create\":{\"_index\":\"p-1970-01-01\",\"_id\":\"0000000000000000-0-00000000\"}}");
    CHECK(b.items[1].end == b.body.len && b.body.p[b.body.len - 1] == '\n');
    bool none[2] = { false, false };
    es_bulk_keep(&b, none);
    CHECK(b.n == 0 && b.body.len == 0);

    /* What an answer says of each item. */
    const char *answer =
        "{\"took\":3,\"errors\":true,\"items\":["
        "{\"create\":{\"_id\":\"1\",\"status\":201}},"
        "{\"create\":{\"_id\":\"2\",\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\"}}},"
        "{\"create\":{\"_id\":\"3\",\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\"}}},"
        "{\"create\":{\"_id\":\"4\",\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\"}}},"
        "{\"create\":{\"_id\":\"5\",\"status\":503}},"
        "{\"create\":{\"_id\":\"6\"}},"
        "{\"index\":{\"_id\":\"7\",\"status\":200}},"
        "{\"create\":{\"_id\":\"8\",\"status\":404,\"error\":\"gone\"}}]}";
    struct es_item_result res[8];
    CHECK(es_bulk_answer(answer, strlen(answer), 8, res));
    enum es_fate fates[8] = { ES_INDEXED, ES_ALREADY, ES_AGAIN, ES_REJECTED,
                              ES_AGAIN,   ES_AGAIN,   ES_INDEXED, ES_REJECTED };
    for (int i = 0; i < 8; i++)
        CHECK(res[i].fate == fates[i]);
    CHECK(res[3].status == 400 && res[5].status == 0 && res[1].status == 409);
    span_is(res[3].error, "{\"type\":\"mapper_parsing_exception\"}");
    span_is(res[7].error, "\"gone\"");
    CHECK(res[0].error.n == 0);

    /* Not an answer to these items: nothing is to be counted from it. */
    CHECK(!es_bulk_answer(answer, strlen(answer), 9, res));
    CHECK(!es_bulk_answer(answer, strlen(answer), 7, res));
    CHECK(!es_bulk_answer("<html>502 Bad Gateway</html>", 28, 1, res));
    CHECK(!es_bulk_answer("{\"error\":{\"type\":\"x\"},\"status\":400}", 37, 1, res));
    CHECK(!es_bulk_answer("{\"items\":[{\"create\":{\"status\":201}}", 36, 1, res)); /* cut */
    CHECK(es_bulk_answer("{\"errors\":false,\"items\":[]}", 28, 0, res));

    /* A 403 item (an index blocked read-only by a full disk) waits, as a 429 does. */
    const char *blocked =
        "{\"errors\":true,\"items\":[{\"create\":{\"status\":403,\"error\":{\"type\":"
        "\"cluster_block_exception\",\"reason\":\"index [p-1] blocked by: [FORBIDDEN/8/index "
        "write (api)];\"}}}]}";
    CHECK(es_bulk_answer(blocked, strlen(blocked), 1, res) && res[0].fate == ES_AGAIN);

    /* In words: the first waiting item's type, index, the other indices, its reason. */
    es_bulk_reset(&b);
    es_bulk_add(&b, "packets-2006-12-16", 1, 1, 1, "{}", 2);
    es_bulk_add(&b, "packets-2006-12-17", 1, 2, 2, "{}", 2);
    es_bulk_add(&b, "packets-2006-12-16", 1, 3, 3, "{}", 2);
    es_bulk_add(&b, "packets-2006-12-18", 1, 4, 4, "{}", 2);
    es_bulk_add(&b, "packets-2006-12-19", 1, 5, 5, "{}", 2);
    const char *shards =
        "{\"errors\":true,\"items\":["
        "{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":503,\"error\":{\"type\":\"unavailable_shards_exception\","
        "\"reason\":\"[p][0] primary shard is not active\\nTimeout: [1m]\"}}},"
        "{\"create\":{\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\"}}},"
        "{\"create\":{\"status\":503}},"
        "{\"create\":{\"status\":400,\"error\":{\"type\":\"x\"}}}]}";
    CHECK(es_bulk_answer(shards, strlen(shards), 5, res));
    char why[256], detail[256];
    es_bulk_again_reason(&b, res, 5, why, sizeof why, detail, sizeof detail);
    CHECK_STR(why, "unavailable_shards_exception on packets-2006-12-17 +2 more");
    CHECK_STR(detail, "[p][0] primary shard is not active\\nTimeout: [1m]");
    res[1].fate = ES_INDEXED; /* then the 429 one comes first, with no reason given */
    es_bulk_again_reason(&b, res, 5, why, sizeof why, detail, sizeof detail);
    CHECK_STR(why, "es_rejected_execution_exception on packets-2006-12-16 +1 more");
    CHECK_STR(detail, "");
    res[2].fate = ES_INDEXED; /* no error at all: the status */
    es_bulk_again_reason(&b, res, 5, why, sizeof why, NULL, 0);
    CHECK_STR(why, "HTTP 503 on packets-2006-12-18");
    char tiny[12];
    es_bulk_again_reason(&b, res, 5, tiny, sizeof tiny, NULL, 0); /* cut, never past the end */
    CHECK(strlen(tiny) == sizeof tiny - 1);

    /* A whole answer's error, in words; a block told from refused credentials. */
    const char *block = "{\"error\":{\"root_cause\":[],\"type\":\"cluster_block_exception\","
                        "\"reason\":\"index [p] blocked by: [FORBIDDEN/12/index read-only / "
                        "allow delete (api)];\"},\"status\":403}";
    es_answer_reason(block, strlen(block), why, sizeof why);
    CHECK_STR(why, "cluster_block_exception: index [p] blocked by: [FORBIDDEN/12/index "
                   "read-only / allow delete (api)];");
    CHECK(es_answer_blocked(block, strlen(block)));
    const char *denied = "{\"error\":{\"type\":\"security_exception\",\"reason\":\"no "
                         "permissions\"},\"status\":403}";
    CHECK(!es_answer_blocked(denied, strlen(denied)));
    es_answer_reason("{\"error\":\"old style\"}", 21, why, sizeof why);
    CHECK_STR(why, "old style");
    es_answer_reason("<html>413</html>", 16, why, sizeof why);
    CHECK_STR(why, "");
    CHECK(!es_answer_blocked("<html>", 6));

    buf_fini(&m);
    es_bulk_fini(&r);
    es_bulk_fini(&b);
    return TH_DONE("test_es_bulk");
}
