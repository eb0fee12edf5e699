/* es_schema: the shape espcap gives its indices, as plain data: the index template, index
 * names from a packet's time (daily, monthly, yearly or one index; PREFIX-out-of-range for
 * times outside a sane window), which field ids are mapped in which index, the mapping
 * bodies for new fields, and what to do with the engine's answers to them. No network. */
#ifndef ESPCAP_ES_SCHEMA_H
#define ESPCAP_ES_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../doc/docinfo.h"
#include "../util/buf.h"
#include "es_json.h"

/* What the engine supports, as far as the schema cares (es_engine.h finds it out). */
struct es_caps {
    bool composable_templates; /* _index_template (else the legacy _template) */
    bool unsigned_long;        /* the unsigned_long field type (else double) */
};

/* How documents are spread over indices, by the packet's UTC time. */
enum es_interval {
    ES_DAY,   /* PREFIX-YYYY-MM-DD (the default, the seed's) */
    ES_MONTH, /* PREFIX-YYYY-MM */
    ES_YEAR,  /* PREFIX-YYYY */
    ES_NONE,  /* PREFIX */
};

/* The indices' rules, from the options. A packet dated before January 1st of min_year, or
 * more than max_ahead seconds after the clock, goes to PREFIX-out-of-range, whatever the
 * interval. */
struct es_index_rules {
    enum es_interval interval;
    int min_year;       /* 0: no lower limit */
    int64_t max_ahead;  /* seconds; 0: no upper limit */
    int64_t now;        /* the clock, UTC seconds (tests); 0: the machine's */
    unsigned shards;    /* the template's number_of_shards; 0: the engine's default */
    int replicas;       /* the template's number_of_replicas; -1: the engine's default */
};

/* "day", "month", "year", "none" -> the interval; false for anything else. */
bool es_interval_parse(const char *s, enum es_interval *out);
/* What follows the prefix in an index name: "-YYYY-MM-DD", "-YYYY-MM", "-YYYY", "". */
const char *es_interval_pattern(enum es_interval iv);

struct es_schema;

/* prefix is copied. Rules: daily indices, no window, the engine's shards and replicas, until
 * es_schema_set_rules. */
struct es_schema *es_schema_new(const char *prefix, const struct es_caps *caps);
void es_schema_free(struct es_schema *sc); /* NULL is fine */
/* Before the first es_schema_index and the template. */
void es_schema_set_rules(struct es_schema *sc, const struct es_index_rules *rules);
const struct es_caps *es_schema_caps(const struct es_schema *sc);
/* The engine refused unsigned_long after all: later mappings say double. */
void es_schema_drop_unsigned_long(struct es_schema *sc);

/* ---- templates and mappings (JSON text) ---- */

/* The mapping of a value class, e.g. {"type":"ip"}. Static text. */
const char *es_schema_mapping_for(const struct es_caps *caps, enum doc_class cls);
/* The index template's request path ("/_index_template/espcap-<prefix>") and body; its
 * patterns are "<prefix>-*" and "<prefix>" (the one index of ES_NONE). */
void es_schema_template(const struct es_schema *sc, struct buf *path, struct buf *body);
/* {"properties":{...}} of the top-level fields, for an index made before the template. */
void es_schema_base_mapping(struct buf *body);

/* ---- indices by time ---- */

int64_t es_schema_day(int64_t secs); /* days since 1970-01-01, rounded down */
/* The index of a packet time (UTC seconds), known from now on; a small dense number. Each
 * call is one document: those sent to the out-of-range index are counted. */
uint32_t es_schema_index(struct es_schema *sc, int64_t secs);
const char *es_schema_index_name(const struct es_schema *sc, uint32_t ix);
/* Documents sent to PREFIX-out-of-range so far (0 for NULL). */
uint64_t es_schema_out_of_range(const struct es_schema *sc);

/* ---- the mapping cache ---- */

/* Learns field definitions (paths are copied). A later definition of an id replaces it. */
void es_schema_define(struct es_schema *sc, const struct doc_field_def *defs, size_t n);
/* A document with these field ids goes to index ix: ids not yet mapped there become
 * pending, and count as mapped from now on (their mapping goes before the document).
 * Ids without a definition are left for a later document. */
void es_schema_note(struct es_schema *sc, uint32_t ix, const uint32_t *fields, size_t n);
size_t es_schema_pending(const struct es_schema *sc);
/* Appends one line "M <index> {"properties":{...}}\n" per index with pending fields, and
 * forgets them. These lines are what a bulk request needs put before it is sent. */
void es_schema_take_pending(struct es_schema *sc, struct buf *lines);
/* Reads the next "M <index> <body>" line at *p (before end), moving *p past it; other
 * lines are skipped. false at the end. The spans point into the text. */
bool es_schema_next_line(const char **p, const char *end, struct jspan *index,
                         struct jspan *body);

/* ---- what the engine's answers mean ---- */

enum es_create_verdict {
    ES_CREATED,       /* made from the template */
    ES_EXISTED,       /* made before: give it es_schema_base_mapping() */
    ES_CREATE_FAILED, /* warn; documents go to it anyway */
};
enum es_create_verdict es_schema_create_verdict(long status, const char *answer);

enum es_map_verdict {
    ES_MAP_DONE,       /* mapped */
    ES_MAP_AS_DOUBLE,  /* the engine has no unsigned_long: es_schema_drop_unsigned_long()
                        * (if not yet), then put es_schema_as_double() of the body */
    ES_MAP_ONE_BY_ONE, /* refused (a clash with an existing mapping): put each field alone
                        * (es_schema_split), so that only the clashing one is left out */
    ES_MAP_FAILED,     /* warn; documents that do not fit are rejected by the engine */
};
enum es_map_verdict es_schema_map_verdict(long status, const char *answer);
/* The body with every "unsigned_long" type made "double". */
void es_schema_as_double(const char *body, size_t len, struct buf *out);
/* Calls cb with a body of its own for each property of a mapping body. Returns the number
 * of properties, or -1 if body is not {"properties":{...}}. */
long es_schema_split(const char *body, size_t len,
                     void (*cb)(void *ctx, const char *one, size_t n, struct jspan key,
                                struct jspan value),
                     void *ctx);

#endif
