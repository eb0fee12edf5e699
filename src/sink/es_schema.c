/* es_schema: templates, index names by time, the mapping cache and mapping bodies. */
#include "es_schema.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../doc/json.h"
#include "../util/timefmt.h"

struct field {
    char *path; /* NULL: not defined */
    size_t len;
    enum doc_class cls;
};

/* The key of the out-of-range index: no period has it. */
#define OUT_OF_RANGE_KEY INT64_MIN

struct index {
    char *name;
    int64_t key; /* the period: day, month or year number; 0 for ES_NONE; OUT_OF_RANGE_KEY */
    uint64_t *mapped; /* bitmap by field id: mapped, or its mapping pending */
    size_t words;
};

struct pend {
    uint32_t ix, id;
};

struct es_schema {
    char *prefix;
    struct es_caps caps;
    struct es_index_rules rules;
    int64_t lo, hi;        /* the window: [lo, hi], INT64_MIN / INT64_MAX when open */
    uint64_t out_of_range; /* documents sent to PREFIX-out-of-range */
    struct index *idx;
    size_t n_idx, last;
    struct field *fields; /* by id */
    size_t n_fields;
    struct pend *pend;
    size_t n_pend, cap_pend;
};

struct es_schema *es_schema_new(const char *prefix, const struct es_caps *caps)
{
    struct es_schema *sc = xcalloc(1, sizeof *sc);
    sc->prefix = xstrdup(prefix);
    sc->caps = *caps;
    sc->rules = (struct es_index_rules){ ES_DAY, 0, 0, 0, 0, -1 };
    sc->lo = INT64_MIN;
    sc->hi = INT64_MAX;
    return sc;
}

bool es_interval_parse(const char *s, enum es_interval *out)
{
    static const char *const names[] = { "day", "month", "year", "none" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum es_interval)i;
            return true;
        }
    return false;
}

const char *es_interval_pattern(enum es_interval iv)
{
    switch (iv) {
    case ES_DAY: return "-YYYY-MM-DD";
    case ES_MONTH: return "-YYYY-MM";
    case ES_YEAR: return "-YYYY";
    case ES_NONE: return "";
    }
    return "";
}

/* Days from 1970-01-01 to January 1st of year (proleptic Gregorian). */
static int64_t days_to_year(int64_t y)
{
    y -= 1; /* the days before January 1st of y are those of the years 1..y-1, and then some */
    int64_t d = y * 365 + y / 4 - y / 100 + y / 400;
    return d - 719162; /* the days of the years 1..1969 */
}

static int64_t clock_now(const struct es_schema *sc)
{
    return sc->rules.now ? sc->rules.now : (int64_t)time(NULL);
}

static void set_hi(struct es_schema *sc)
{
    sc->hi = sc->rules.max_ahead > 0 ? clock_now(sc) + sc->rules.max_ahead : INT64_MAX;
}

void es_schema_set_rules(struct es_schema *sc, const struct es_index_rules *rules)
{
    sc->rules = *rules;
    sc->lo = rules->min_year > 0 ? days_to_year(rules->min_year) * 86400 : INT64_MIN;
    set_hi(sc);
}

void es_schema_free(struct es_schema *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->n_idx; i++) {
        free(sc->idx[i].name);
        free(sc->idx[i].mapped);
    }
    free(sc->idx);
    for (size_t i = 0; i < sc->n_fields; i++)
        free(sc->fields[i].path);
    free(sc->fields);
    free(sc->pend);
    free(sc->prefix);
    free(sc);
}

const struct es_caps *es_schema_caps(const struct es_schema *sc) { return &sc->caps; }
void es_schema_drop_unsigned_long(struct es_schema *sc) { sc->caps.unsigned_long = false; }

/* ---- templates and mappings ---- */

const char *es_schema_mapping_for(const struct es_caps *caps, enum doc_class cls)
{
    switch (cls) {
    case DC_LONG: return "{\"type\":\"long\"}";
    case DC_ULONG:
        return caps->unsigned_long ? "{\"type\":\"unsigned_long\"}" : "{\"type\":\"double\"}";
    case DC_DOUBLE: return "{\"type\":\"double\"}";
    case DC_BOOL: return "{\"type\":\"boolean\"}";
    case DC_IP: return "{\"type\":\"ip\"}";
    case DC_DATE: return "{\"type\":\"date\",\"ignore_malformed\":true}";
    case DC_BYTES: return "{\"type\":\"keyword\",\"ignore_above\":256}";
    case DC_KEYWORD:
    default: return "{\"type\":\"keyword\",\"ignore_above\":1024}";
    }
}

/* The top-level fields' mappings: in the template, and for an index made before it. */
static void base_properties(struct buf *b)
{
    const char *datefmt = "{\"type\":\"date\",\"format\":\"yyyy-MM-dd HH:mm:ss\"}";
    buf_adds(b, "{\"@timestamp\":{\"type\":\"date\"},\"sniff_timestamp\":{\"type\":\"double\"},");
    buf_printf(b, "\"sniff_date_utc\":%s,\"file_date_utc\":%s,", datefmt, datefmt);
    buf_adds(b, "\"capture\":{\"type\":\"keyword\"},\"file_name\":{\"type\":\"keyword\"},"
                "\"interface\":{\"type\":\"keyword\"},\"frame_number\":{\"type\":\"long\"},"
                "\"length\":{\"type\":\"long\"},\"caplen\":{\"type\":\"long\"},"
                "\"protocols\":{\"type\":\"keyword\"},\"protocol\":{\"type\":\"keyword\"},"
                "\"community_id\":{\"type\":\"keyword\"},"
                "\"espcap\":{\"properties\":{\"error\":{\"type\":\"keyword\"}}},"
                "\"layers\":{\"type\":\"object\"}}");
}

void es_schema_base_mapping(struct buf *body)
{
    buf_adds(body, "{\"properties\":");
    base_properties(body);
    buf_addc(body, '}');
}

void es_schema_template(const struct es_schema *sc, struct buf *path, struct buf *body)
{
    bool composable = sc->caps.composable_templates;
    buf_printf(path, "/%s/espcap-%s", composable ? "_index_template" : "_template", sc->prefix);
    buf_printf(body, "{\"index_patterns\":[\"%s-*\",\"%s\"],", sc->prefix, sc->prefix);
    /* 200 plus the prefix's length: "packets-dmz" wins over "packets" (whose "packets-*"
     * matches its indices too), and no two prefixes have overlapping patterns at the same
     * priority, which the engines refuse for composable templates. */
    size_t priority = 200 + strlen(sc->prefix);
    buf_printf(body, composable ? "\"priority\":%zu,\"template\":{" : "\"order\":%zu,",
               priority);
    buf_adds(body, "\"settings\":{\"index.mapping.total_fields.limit\":100000,"
                   "\"index.mapping.depth.limit\":64");
    if (sc->rules.shards)
        buf_printf(body, ",\"index.number_of_shards\":%u", sc->rules.shards);
    if (sc->rules.replicas >= 0)
        buf_printf(body, ",\"index.number_of_replicas\":%d", sc->rules.replicas);
    buf_adds(body, "},");
    /* Dynamic mapping is only a safety net: every layer field is mapped before use. */
    buf_adds(body, "\"mappings\":{\"date_detection\":false,\"numeric_detection\":false,"
                   "\"dynamic_templates\":[{\"strings_as_keywords\":{\"match_mapping_type\":"
                   "\"string\",\"mapping\":{\"type\":\"keyword\",\"ignore_above\":1024}}}],"
                   "\"properties\":");
    base_properties(body);
    buf_addc(body, '}');
    if (composable)
        buf_addc(body, '}');
    buf_addc(body, '}');
}

/* ---- daily indices ---- */

int64_t es_schema_day(int64_t secs) { return secs >= 0 ? secs / 86400 : (secs - 86399) / 86400; }

/* The index key of a packet time: its period, or OUT_OF_RANGE_KEY. */
static int64_t index_key(struct es_schema *sc, int64_t secs)
{
    if (secs < sc->lo)
        return OUT_OF_RANGE_KEY;
    if (secs > sc->hi) {
        set_hi(sc); /* the clock has moved on since the window was last set */
        if (secs > sc->hi)
            return OUT_OF_RANGE_KEY;
    }
    struct tf_civil c;
    switch (sc->rules.interval) {
    case ES_NONE: return 0;
    case ES_DAY: return es_schema_day(secs);
    case ES_MONTH: tf_from_epoch(secs, &c); return c.year * 12 + (c.month - 1);
    case ES_YEAR: tf_from_epoch(secs, &c); return c.year;
    }
    return 0;
}

static char *index_name(const struct es_schema *sc, int64_t key, int64_t secs)
{
    struct buf name;
    buf_init(&name, strlen(sc->prefix) + 16);
    char date[11];
    tf_date(date, secs);
    if (key == OUT_OF_RANGE_KEY)
        buf_printf(&name, "%s-out-of-range", sc->prefix);
    else if (sc->rules.interval == ES_NONE)
        buf_adds(&name, sc->prefix);
    else /* YYYY-MM-DD, YYYY-MM, YYYY */
        buf_printf(&name, "%s-%.*s", sc->prefix,
                   sc->rules.interval == ES_DAY ? 10 : sc->rules.interval == ES_MONTH ? 7 : 4,
                   date);
    buf_cstr(&name);
    return name.p;
}

uint32_t es_schema_index(struct es_schema *sc, int64_t secs)
{
    int64_t key = index_key(sc, secs);
    if (key == OUT_OF_RANGE_KEY)
        sc->out_of_range++;
    if (sc->n_idx && sc->idx[sc->last].key == key)
        return (uint32_t)sc->last;
    for (size_t i = 0; i < sc->n_idx; i++)
        if (sc->idx[i].key == key) {
            sc->last = i;
            return (uint32_t)i;
        }
    sc->idx = xrealloc(sc->idx, (sc->n_idx + 1) * sizeof *sc->idx);
    struct index *ix = &sc->idx[sc->n_idx];
    memset(ix, 0, sizeof *ix);
    ix->name = index_name(sc, key, secs);
    ix->key = key;
    sc->last = sc->n_idx++;
    return (uint32_t)sc->last;
}

uint64_t es_schema_out_of_range(const struct es_schema *sc)
{
    return sc ? sc->out_of_range : 0;
}

const char *es_schema_index_name(const struct es_schema *sc, uint32_t ix)
{
    return sc->idx[ix].name;
}

/* ---- the mapping cache ---- */

void es_schema_define(struct es_schema *sc, const struct doc_field_def *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct doc_field_def *d = &defs[i];
        if (d->id >= sc->n_fields) {
            size_t grow = (size_t)d->id + 1024;
            sc->fields = xrealloc(sc->fields, grow * sizeof *sc->fields);
            memset(sc->fields + sc->n_fields, 0, (grow - sc->n_fields) * sizeof *sc->fields);
            sc->n_fields = grow;
        }
        struct field *f = &sc->fields[d->id];
        free(f->path);
        f->path = xmalloc(d->path_len + 1);
        memcpy(f->path, d->path, d->path_len);
        f->path[d->path_len] = '\0';
        f->len = d->path_len;
        f->cls = d->cls;
    }
}

void es_schema_note(struct es_schema *sc, uint32_t ix, const uint32_t *fields, size_t n)
{
    struct index *x = &sc->idx[ix];
    for (size_t i = 0; i < n; i++) {
        uint32_t id = fields[i];
        if (id >= sc->n_fields || !sc->fields[id].path)
            continue;
        size_t w = id / 64;
        uint64_t bit = (uint64_t)1 << (id % 64);
        if (w >= x->words) {
            size_t grow = w + 1 + x->words;
            x->mapped = xrealloc(x->mapped, grow * sizeof *x->mapped);
            memset(x->mapped + x->words, 0, (grow - x->words) * sizeof *x->mapped);
            x->words = grow;
        }
        if (x->mapped[w] & bit)
            continue;
        x->mapped[w] |= bit;
        if (sc->n_pend == sc->cap_pend) {
            sc->cap_pend = sc->cap_pend ? sc->cap_pend * 2 : 128;
            sc->pend = xrealloc(sc->pend, sc->cap_pend * sizeof *sc->pend);
        }
        sc->pend[sc->n_pend++] = (struct pend){ ix, id };
    }
}

size_t es_schema_pending(const struct es_schema *sc) { return sc->n_pend; }

void es_schema_take_pending(struct es_schema *sc, struct buf *lines)
{
    for (size_t x = 0; x < sc->n_idx; x++) {
        bool first = true;
        for (size_t i = 0; i < sc->n_pend; i++) {
            if (sc->pend[i].ix != x)
                continue;
            if (first)
                buf_printf(lines, "M %s {\"properties\":{", sc->idx[x].name);
            else
                buf_addc(lines, ',');
            first = false;
            const struct field *f = &sc->fields[sc->pend[i].id];
            json_str(lines, f->path, f->len, 0);
            buf_addc(lines, ':');
            buf_adds(lines, es_schema_mapping_for(&sc->caps, f->cls));
        }
        if (!first)
            buf_adds(lines, "}}\n");
    }
    sc->n_pend = 0;
}

bool es_schema_next_line(const char **p, const char *end, struct jspan *index,
                         struct jspan *body)
{
    while (*p < end) {
        const char *s = *p;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            nl = end;
        *p = nl < end ? nl + 1 : end;
        if (nl - s < 4 || s[0] != 'M' || s[1] != ' ')
            continue;
        const char *sp = memchr(s + 2, ' ', (size_t)(nl - s - 2));
        if (!sp || sp == s + 2)
            continue;
        *index = (struct jspan){ s + 2, (size_t)(sp - s - 2) };
        *body = (struct jspan){ sp + 1, (size_t)(nl - sp - 1) };
        return true;
    }
    return false;
}

/* ---- what the engine's answers mean ---- */

enum es_create_verdict es_schema_create_verdict(long status, const char *answer)
{
    if (status == 200)
        return ES_CREATED;
    if (status == 400 && answer && strstr(answer, "resource_already_exists_exception"))
        return ES_EXISTED;
    return ES_CREATE_FAILED;
}

enum es_map_verdict es_schema_map_verdict(long status, const char *answer)
{
    if (status == 200)
        return ES_MAP_DONE;
    /* An engine without the type (Elasticsearch without x-pack) names it in brackets. Also
     * once the type is dropped: bodies made before that (other indices' mappings queued
     * behind the first refusal) still carry it, and must be put as double, not field by
     * field (a field refused alone would be left to dynamic mapping: a long). */
    if (answer && strstr(answer, "[unsigned_long]"))
        return ES_MAP_AS_DOUBLE;
    if (status == 400)
        return ES_MAP_ONE_BY_ONE;
    return ES_MAP_FAILED;
}

void es_schema_as_double(const char *body, size_t len, struct buf *out)
{
    static const char ul[] = "\"unsigned_long\"";
    const char *end = body + len;
    for (const char *q = body; q < end;) {
        const char *hit = memmem(q, (size_t)(end - q), ul, sizeof ul - 1);
        if (!hit) {
            buf_add(out, q, (size_t)(end - q));
            break;
        }
        buf_add(out, q, (size_t)(hit - q));
        buf_adds(out, "\"double\"");
        q = hit + sizeof ul - 1;
    }
}

struct split {
    struct buf one;
    void (*cb)(void *ctx, const char *one, size_t n, struct jspan key, struct jspan value);
    void *ctx;
};

static void split_member(void *ctx, struct jspan key, struct jspan value)
{
    struct split *s = ctx;
    buf_reset(&s->one);
    buf_adds(&s->one, "{\"properties\":{\"");
    buf_add(&s->one, key.p, key.n);
    buf_adds(&s->one, "\":");
    buf_add(&s->one, value.p, value.n);
    buf_adds(&s->one, "}}");
    s->cb(s->ctx, s->one.p, s->one.len, key, value);
}

long es_schema_split(const char *body, size_t len,
                     void (*cb)(void *ctx, const char *one, size_t n, struct jspan key,
                                struct jspan value),
                     void *ctx)
{
    struct jspan props;
    if (!ejson_get(body, len, "properties", &props) || props.p[0] != '{')
        return -1;
    struct split s = { { NULL, 0, 0 }, cb, ctx };
    buf_init(&s.one, 256);
    long n = ejson_members(props.p, props.n, split_member, &s);
    buf_fini(&s.one);
    return n;
}
