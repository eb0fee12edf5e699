/* test_es_schema: the index schema against canned field lists: mappings by class and engine
 * capability, template bodies (shards, replicas), index names by day, month, year or none,
 * the out-of-range index and its window, the mapping cache, and the decisions on
 * the engine's answers (the field-by-field path after a clash). */
#include <stdbool.h>
#include <time.h>

#include "../../src/sink/es_schema.h"
#include "testhelp.h"

static const struct es_caps MODERN = { true, true }, OLD = { false, false };

static const char *name_at(struct es_schema *sc, int64_t secs)
{
    return es_schema_index_name(sc, es_schema_index(sc, secs));
}

static void test_mappings(void)
{
    const char *want[][2] = {
        [DC_LONG] = { "{\"type\":\"long\"}", "{\"type\":\"long\"}" },
        [DC_ULONG] = { "{\"type\":\"unsigned_long\"}", "{\"type\":\"double\"}" },
        [DC_DOUBLE] = { "{\"type\":\"double\"}", "{\"type\":\"double\"}" },
        [DC_BOOL] = { "{\"type\":\"boolean\"}", "{\"type\":\"boolean\"}" },
        [DC_IP] = { "{\"type\":\"ip\"}", "{\"type\":\"ip\"}" },
        [DC_DATE] = { "{\"type\":\"date\",\"ignore_malformed\":true}",
                      "{\"type\":\"date\",\"ignore_malformed\":true}" },
        [DC_KEYWORD] = { "{\"type\":\"keyword\",\"ignore_above\":1024}",
                         "{\"type\":\"keyword\",\"ignore_above\":1024}" },
        [DC_BYTES] = { "{\"type\":\"keyword\",\"ignore_above\":256}",
                       "{\"type\":\"keyword\",\"ignore_above\":256}" },
    };
    for (int c = DC_LONG; c <= DC_BYTES; c++) {
        CHECK_STR(es_schema_mapping_for(&MODERN, (enum doc_class)c), want[c][0]);
        CHECK_STR(es_schema_mapping_for(&OLD, (enum doc_class)c), want[c][1]);
    }
}

static const char *BASE =
    "{\"@timestamp\":{\"type\":\"date\"},\"sniff_timestamp\":{\"type\":\"double\"},"
    "\"sniff_date_utc\":{\"type\":\"date\",\"format\":\"yyyy-MM-dd HH:mm:ss\"},"
    "\"file_date_utc\":{\"type\":\"date\",\"format\":\"yyyy-MM-dd HH:mm:ss\"},"
    "\"capture\":{\"type\":\"keyword\"},\"file_name\":{\"type\":\"keyword\"},"
    "\"interface\":{\"type\":\"keyword\"},\"frame_number\":{\"type\":\"long\"},"
    "\"length\":{\"type\":\"long\"},\"caplen\":{\"type\":\"long\"},"
    "\"protocols\":{\"type\":\"keyword\"},\"protocol\":{\"type\":\"keyword\"},"
                "\"community_id\":{\"type\":\"keyword\"},"
                "\"espcap\":{\"properties\":{\"error\":{\"type\":\"keyword\"}}},"
    "\"layers\":{\"type\":\"object\"}}";

static void test_templates(void)
{
    struct buf path, body, want;
    buf_init(&path, 64);
    buf_init(&body, 1024);
    buf_init(&want, 1024);
    const char *mappings =
        "\"settings\":{\"index.mapping.total_fields.limit\":100000,"
        "\"index.mapping.depth.limit\":64},"
        "\"mappings\":{\"date_detection\":false,\"numeric_detection\":false,"
        "\"dynamic_templates\":[{\"strings_as_keywords\":{\"match_mapping_type\":\"string\","
        "\"mapping\":{\"type\":\"keyword\",\"ignore_above\":1024}}}],\"properties\":";

    struct es_schema *sc = es_schema_new("packets", &MODERN);
    es_schema_template(sc, &path, &body);
    CHECK_STR(buf_cstr(&path), "/_index_template/espcap-packets");
    buf_printf(&want, "{\"index_patterns\":[\"packets-*\",\"packets\"],\"priority\":207,"
               "\"template\":{%s%s}}}", mappings, BASE);
    CHECK_STR(buf_cstr(&body), buf_cstr(&want));
    CHECK(ejson_valid(body.p, body.len));
    es_schema_free(sc);

    /* Elasticsearch before 7.8: the legacy _template. */
    buf_reset(&path);
    buf_reset(&body);
    buf_reset(&want);
    sc = es_schema_new("cap", &OLD);
    es_schema_template(sc, &path, &body);
    CHECK_STR(buf_cstr(&path), "/_template/espcap-cap");
    buf_printf(&want, "{\"index_patterns\":[\"cap-*\",\"cap\"],\"order\":203,%s%s}}", mappings,
               BASE);
    CHECK_STR(buf_cstr(&body), buf_cstr(&want));
    CHECK(ejson_valid(body.p, body.len));
    es_schema_free(sc);

    /* --shards and --replicas go into the settings; replicas 0 is a value, -1 none. */
    struct es_index_rules rules = { ES_DAY, 0, 0, 0, 3, 0 };
    const char *tail = "\"index.mapping.depth.limit\":64,\"index.number_of_shards\":3,"
                       "\"index.number_of_replicas\":0},";
    for (int composable = 0; composable < 2; composable++) {
        buf_reset(&path);
        buf_reset(&body);
        sc = es_schema_new("p", composable ? &MODERN : &OLD);
        es_schema_set_rules(sc, &rules);
        es_schema_template(sc, &path, &body);
        CHECK(strstr(body.p, tail) != NULL);
        CHECK(ejson_valid(body.p, body.len));
        es_schema_free(sc);
    }
    rules.shards = 0;
    rules.replicas = 2;
    buf_reset(&body);
    sc = es_schema_new("p", &MODERN);
    es_schema_set_rules(sc, &rules);
    es_schema_template(sc, &path, &body);
    CHECK(strstr(body.p, "\"index.mapping.depth.limit\":64,\"index.number_of_replicas\":2},"));
    CHECK(!strstr(body.p, "number_of_shards"));
    es_schema_free(sc);

    buf_reset(&body);
    buf_reset(&want);
    es_schema_base_mapping(&body);
    buf_printf(&want, "{\"properties\":%s}", BASE);
    CHECK_STR(buf_cstr(&body), buf_cstr(&want));
    buf_fini(&path);
    buf_fini(&body);
    buf_fini(&want);
}

static void test_index_names(void)
{
    CHECK(es_schema_day(0) == 0 && es_schema_day(86399) == 0 && es_schema_day(86400) == 1);
    CHECK(es_schema_day(-1) == -1 && es_schema_day(-86400) == -1 && es_schema_day(-86401) == -2);
    struct es_schema *sc = es_schema_new("packets", &MODERN);
    CHECK_STR(name_at(sc, 1709294400), "packets-2024-03-01"); /* 12:00 UTC */
    CHECK_STR(name_at(sc, 1709251199), "packets-2024-02-29"); /* a leap day's last second */
    CHECK_STR(name_at(sc, 1709251200), "packets-2024-03-01"); /* midnight */
    CHECK_STR(name_at(sc, 0), "packets-1970-01-01");
    CHECK_STR(name_at(sc, 86399), "packets-1970-01-01");
    CHECK_STR(name_at(sc, 86400), "packets-1970-01-02");
    CHECK_STR(name_at(sc, -1), "packets-1969-12-31");
    CHECK_STR(name_at(sc, -86400), "packets-1969-12-31");
    CHECK_STR(name_at(sc, -86401), "packets-1969-12-30");
    /* One number per day, the same when the day comes back. */
    uint32_t a = es_schema_index(sc, 1709294400), b = es_schema_index(sc, 1709294400 + 86400);
    CHECK(a != b && es_schema_index(sc, 1709251200) == a && es_schema_index(sc, 0) != a);
    CHECK(es_schema_index(sc, 1709294400 + 86399 + 1) == b);
    es_schema_free(sc);

    /* A long prefix is kept whole. */
    char prefix[201];
    memset(prefix, 'p', 200);
    prefix[200] = '\0';
    sc = es_schema_new(prefix, &MODERN);
    const char *n = name_at(sc, 0);
    CHECK(strlen(n) == 211 && strcmp(n + 200, "-1970-01-01") == 0);
    es_schema_free(sc);
}

static void test_intervals(void)
{
    enum es_interval iv;
    CHECK(es_interval_parse("day", &iv) && iv == ES_DAY);
    CHECK(es_interval_parse("month", &iv) && iv == ES_MONTH);
    CHECK(es_interval_parse("year", &iv) && iv == ES_YEAR);
    CHECK(es_interval_parse("none", &iv) && iv == ES_NONE);
    CHECK(!es_interval_parse("week", &iv) && !es_interval_parse("", &iv) &&
          !es_interval_parse("Day", &iv));
    CHECK_STR(es_interval_pattern(ES_MONTH), "-YYYY-MM");

    /* month: the first and last second of a month, a leap February */
    struct es_index_rules r = { ES_MONTH, 0, 0, 0, 0, -1 };
    struct es_schema *sc = es_schema_new("packets", &MODERN);
    es_schema_set_rules(sc, &r);
    CHECK_STR(name_at(sc, 1709294400), "packets-2024-03");
    CHECK_STR(name_at(sc, 1709251199), "packets-2024-02");
    CHECK_STR(name_at(sc, 1709251200), "packets-2024-03");
    CHECK_STR(name_at(sc, 1706745600), "packets-2024-02"); /* 2024-02-01 00:00 */
    CHECK_STR(name_at(sc, 1706745599), "packets-2024-01");
    CHECK_STR(name_at(sc, -1), "packets-1969-12");
    /* one index per month: the whole of March 2024 is one */
    uint32_t m = es_schema_index(sc, 1709251200);
    CHECK(es_schema_index(sc, 1711929599) == m && es_schema_index(sc, 1711929600) != m);
    es_schema_free(sc);

    /* year */
    r.interval = ES_YEAR;
    sc = es_schema_new("packets", &MODERN);
    es_schema_set_rules(sc, &r);
    CHECK_STR(name_at(sc, 1704067199), "packets-2023"); /* 2023-12-31 23:59:59 */
    CHECK_STR(name_at(sc, 1704067200), "packets-2024");
    CHECK(es_schema_index(sc, 1704067200) == es_schema_index(sc, 1735689599));
    CHECK_STR(name_at(sc, 1735689600), "packets-2025");
    es_schema_free(sc);

    /* none: the prefix itself, for every time */
    r.interval = ES_NONE;
    sc = es_schema_new("cap", &MODERN);
    es_schema_set_rules(sc, &r);
    CHECK_STR(name_at(sc, 0), "cap");
    CHECK(es_schema_index(sc, -5000000) == es_schema_index(sc, 4102444800));
    CHECK(es_schema_out_of_range(sc) == 0);
    es_schema_free(sc);
}

static void test_out_of_range(void)
{
    /* before 1990 or more than a day after a clock fixed at 2024-03-01 12:00 */
    const int64_t now = 1709294400, y1990 = 631152000;
    struct es_index_rules r = { ES_DAY, 1990, 86400, now, 0, -1 };
    struct es_schema *sc = es_schema_new("packets", &MODERN);
    es_schema_set_rules(sc, &r);
    CHECK_STR(name_at(sc, y1990 - 1), "packets-out-of-range");
    CHECK_STR(name_at(sc, y1990), "packets-1990-01-01");
    CHECK_STR(name_at(sc, 0), "packets-out-of-range");
    CHECK_STR(name_at(sc, -86400 * 365), "packets-out-of-range");
    CHECK_STR(name_at(sc, now + 86400), "packets-2024-03-02");
    CHECK_STR(name_at(sc, now + 86401), "packets-out-of-range");
    CHECK_STR(name_at(sc, 4354819200), "packets-out-of-range"); /* 2108 */
    CHECK_STR(name_at(sc, now), "packets-2024-03-01");
    /* one index for all of them, counted once per document */
    uint32_t o = es_schema_index(sc, 1);
    CHECK(es_schema_index(sc, now + 999999) == o && es_schema_index(sc, -7) == o);
    CHECK(es_schema_out_of_range(sc) == 8);
    es_schema_free(sc);

    /* the window is the same whatever the interval */
    r.interval = ES_NONE;
    sc = es_schema_new("p", &MODERN);
    es_schema_set_rules(sc, &r);
    CHECK_STR(name_at(sc, 12), "p-out-of-range");
    CHECK_STR(name_at(sc, now), "p");
    es_schema_free(sc);

    /* 0 disables each limit */
    r = (struct es_index_rules){ ES_YEAR, 0, 86400, now, 0, -1 };
    sc = es_schema_new("p", &MODERN);
    es_schema_set_rules(sc, &r);
    CHECK_STR(name_at(sc, 0), "p-1970");
    CHECK_STR(name_at(sc, -1), "p-1969");
    CHECK_STR(name_at(sc, now + 86401 * 400), "p-out-of-range");
    es_schema_free(sc);
    r = (struct es_index_rules){ ES_YEAR, 2000, 0, now, 0, -1 };
    sc = es_schema_new("p", &MODERN);
    es_schema_set_rules(sc, &r);
    CHECK_STR(name_at(sc, 946684799), "p-out-of-range"); /* 1999-12-31 23:59:59 */
    CHECK_STR(name_at(sc, 946684800), "p-2000");
    CHECK_STR(name_at(sc, 4354819200), "p-2108");
    CHECK(es_schema_out_of_range(sc) == 1);
    es_schema_free(sc);

    /* the machine's clock (now = 0): a minute ago is in, ten days ahead is out */
    r = (struct es_index_rules){ ES_DAY, 1990, 86400, 0, 0, -1 };
    sc = es_schema_new("p", &MODERN);
    es_schema_set_rules(sc, &r);
    int64_t t = (int64_t)time(NULL);
    CHECK(strcmp(name_at(sc, t - 60), "p-out-of-range") != 0);
    CHECK_STR(name_at(sc, t + 864000), "p-out-of-range");
    es_schema_free(sc);
    CHECK(es_schema_out_of_range(NULL) == 0);
}

static struct doc_field_def def(uint32_t id, enum doc_class cls, const char *path)
{
    return (struct doc_field_def){ id, cls, path, strlen(path) };
}

static void test_cache(void)
{
    struct es_schema *sc = es_schema_new("packets", &MODERN);
    struct buf lines;
    buf_init(&lines, 256);
    struct doc_field_def defs[] = {
        def(0, DC_IP, "layers.network.ip.src"),
        def(1, DC_LONG, "layers.transport.udp.srcport"),
        def(2, DC_ULONG, "layers.application.x.big"),
        def(5, DC_KEYWORD, "layers.application.we\"ird"),
    };
    es_schema_define(sc, defs, 4);
    uint32_t day1 = es_schema_index(sc, 1709294400), day2 = es_schema_index(sc, 1709380800);

    uint32_t doc1[] = { 0, 1 };
    es_schema_note(sc, day1, doc1, 2);
    CHECK(es_schema_pending(sc) == 2);
    uint32_t doc2[] = { 1, 2, 0 }; /* only 2 is new in this index */
    es_schema_note(sc, day1, doc2, 3);
    CHECK(es_schema_pending(sc) == 3);
    es_schema_note(sc, day2, doc1, 2); /* new in the next day's index */
    es_schema_take_pending(sc, &lines);
    CHECK_STR(buf_cstr(&lines),
              "M packets-2024-03-01 {\"properties\":{\"layers.network.ip.src\":{\"type\":\"ip\"},"
              "\"layers.transport.udp.srcport\":{\"type\":\"long\"},"
              "\"layers.application.x.big\":{\"type\":\"unsigned_long\"}}}\n"
              "M packets-2024-03-02 {\"properties\":{\"layers.network.ip.src\":{\"type\":\"ip\"},"
              "\"layers.transport.udp.srcport\":{\"type\":\"long\"}}}\n");
    CHECK(es_schema_pending(sc) == 0);

    /* Mapped (or on its way) once per index: nothing more for the same fields. */
    buf_reset(&lines);
    es_schema_note(sc, day1, doc2, 3);
    es_schema_note(sc, day2, doc1, 2);
    es_schema_take_pending(sc, &lines);
    CHECK(lines.len == 0);

    /* An id without a definition waits for it; paths are JSON-escaped; a large id. */
    uint32_t doc3[] = { 7, 5, 4000 };
    es_schema_note(sc, day2, doc3, 3);
    CHECK(es_schema_pending(sc) == 1);
    struct doc_field_def later[] = { def(7, DC_BOOL, "layers.link.eth.ig"),
                                     def(4000, DC_BYTES, "layers.application.data.data") };
    es_schema_define(sc, later, 2);
    es_schema_note(sc, day2, doc3, 3);
    /* The engine said no unsigned_long: later bodies say double. */
    es_schema_drop_unsigned_long(sc);
    uint32_t doc4[] = { 2 };
    es_schema_note(sc, day2, doc4, 1);
    es_schema_take_pending(sc, &lines);
    CHECK_STR(buf_cstr(&lines),
              "M packets-2024-03-02 {\"properties\":{"
              "\"layers.application.we\\\"ird\":{\"type\":\"keyword\",\"ignore_above\":1024},"
              "\"layers.link.eth.ig\":{\"type\":\"boolean\"},"
              "\"layers.application.data.data\":{\"type\":\"keyword\",\"ignore_above\":256},"
              "\"layers.application.x.big\":{\"type\":\"double\"}}}\n");

    /* Reading the lines back (as es_admin and a spool record do). */
    const char *text = "M a-1 {\"properties\":{}}\ngarbage\nM  x\nM b-2 {}";
    const char *p = text, *end = text + strlen(text);
    struct jspan ix, body;
    CHECK(es_schema_next_line(&p, end, &ix, &body));
    CHECK(ix.n == 3 && memcmp(ix.p, "a-1", 3) == 0);
    CHECK(body.n == 17 && memcmp(body.p, "{\"properties\":{}}", 17) == 0);
    CHECK(es_schema_next_line(&p, end, &ix, &body));
    CHECK(ix.n == 3 && memcmp(ix.p, "b-2", 3) == 0 && body.n == 2);
    CHECK(!es_schema_next_line(&p, end, &ix, &body));
    buf_fini(&lines);
    es_schema_free(sc);
}

struct fake_engine {
    const char *clash; /* the field that an existing mapping refuses */
    int asked, refused;
    char fields[4][128];
};

/* The engine's side of "put fields one by one": only the clashing field is refused. */
static void one(void *ctx, const char *body, size_t n, struct jspan key, struct jspan value)
{
    struct fake_engine *e = ctx;
    snprintf(e->fields[e->asked++ % 4], 128, "%.*s", (int)n, body);
    bool clash = key.n == strlen(e->clash) && memcmp(key.p, e->clash, key.n) == 0;
    e->refused += clash;
    (void)value;
}

static void test_decisions(void)
{
    CHECK(es_schema_create_verdict(200, "{\"acknowledged\":true}") == ES_CREATED);
    CHECK(es_schema_create_verdict(400, "{\"error\":{\"type\":\"resource_already_exists_exception\"}}") ==
          ES_EXISTED);
    CHECK(es_schema_create_verdict(400, "{\"error\":{\"type\":\"invalid_index_name_exception\"}}") ==
          ES_CREATE_FAILED);
    CHECK(es_schema_create_verdict(403, "") == ES_CREATE_FAILED);

    struct es_schema *sc = es_schema_new("packets", &MODERN);
    const char *no_ul = "{\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":"
                        "\"No handler for type [unsigned_long] declared on field [x]\"},\"status\":400}";
    const char *clash = "{\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":"
                        "\"mapper [layers.network.ip.src] cannot be changed from type [keyword] to [ip]\"}}";
    CHECK(es_schema_map_verdict(200, "{\"acknowledged\":true}") == ES_MAP_DONE);
    CHECK(es_schema_map_verdict(400, no_ul) == ES_MAP_AS_DOUBLE);
    CHECK(es_schema_map_verdict(400, clash) == ES_MAP_ONE_BY_ONE);
    CHECK(es_schema_map_verdict(404, "{}") == ES_MAP_FAILED);
    CHECK(es_schema_map_verdict(500, NULL) == ES_MAP_FAILED);
    es_schema_drop_unsigned_long(sc);
    CHECK(!es_schema_caps(sc)->unsigned_long);
    /* Once dropped, such an answer (to a body made before) still says: put it as double,
     * not field by field (a 64-bit field refused alone would be mapped dynamically). */
    CHECK(es_schema_map_verdict(400, no_ul) == ES_MAP_AS_DOUBLE);
    CHECK(es_schema_map_verdict(400, clash) == ES_MAP_ONE_BY_ONE);
    es_schema_free(sc);

    const char *batch = "{\"properties\":{\"a.b\":{\"type\":\"unsigned_long\"},"
                        "\"layers.network.ip.src\":{\"type\":\"ip\"},"
                        "\"c\":{ \"type\" : \"keyword\", \"ignore_above\":1024 }}}";
    struct buf fixed;
    buf_init(&fixed, 64);
    es_schema_as_double(batch, strlen(batch), &fixed);
    CHECK_STR(buf_cstr(&fixed), "{\"properties\":{\"a.b\":{\"type\":\"double\"},"
                                "\"layers.network.ip.src\":{\"type\":\"ip\"},"
                                "\"c\":{ \"type\" : \"keyword\", \"ignore_above\":1024 }}}");
    buf_fini(&fixed);

    struct fake_engine e = { "layers.network.ip.src", 0, 0, { "" } };
    CHECK(es_schema_split(batch, strlen(batch), one, &e) == 3);
    CHECK(e.asked == 3 && e.refused == 1);
    CHECK_STR(e.fields[0], "{\"properties\":{\"a.b\":{\"type\":\"unsigned_long\"}}}");
    CHECK_STR(e.fields[1], "{\"properties\":{\"layers.network.ip.src\":{\"type\":\"ip\"}}}");
    CHECK_STR(e.fields[2],
              "{\"properties\":{\"c\":{ \"type\" : \"keyword\", \"ignore_above\":1024 }}}");
    CHECK(es_schema_split("{\"mappings\":{}}", 15, one, &e) == -1);
    CHECK(es_schema_split("{\"properties\":[]}", 17, one, &e) == -1);
    CHECK(es_schema_split("{\"properties\":{}}", 17, one, &e) == 0);
}

int main(void)
{
    test_mappings();
    test_templates();
    test_index_names();
    test_intervals();
    test_out_of_range();
    test_cache();
    test_decisions();
    return TH_DONE("test_es_schema");
}
