/* es_bulk: a _bulk request as bytes: "create" action lines with stable _ids, each followed
 * by its document; what the answer says of each item; keeping only some items (those to
 * send again); and the spool record that holds it (its mapping lines, "B", the body). */
#ifndef ESPCAP_ES_BULK_H
#define ESPCAP_ES_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "es_json.h"
#include "spool.h"

struct es_bulk_item {
    uint32_t off;     /* action line start in body */
    uint32_t doc_off; /* document start */
    uint32_t end;     /* after the newline of the document */
};

/* The caller embeds it (es_bulk_init/_fini); body and items are owned here. */
struct es_bulk {
    struct buf body;
    struct es_bulk_item *items;
    size_t n, cap;
};

void es_bulk_init(struct es_bulk *b);
void es_bulk_fini(struct es_bulk *b);
void es_bulk_reset(struct es_bulk *b);

/* Appends {"create":{"_index":index,"_id":"<source id>-<frame>-<hash>"}} and the document
 * (JSON without a newline). The _id is the same for the same packet of the same capture. */
void es_bulk_add(struct es_bulk *b, const char *index, uint64_t source_id, uint32_t frame,
                 uint64_t packet_hash, const char *doc, size_t len);
/* Item i's action line and document, without their newlines. */
struct jspan es_bulk_action(const struct es_bulk *b, size_t i);
struct jspan es_bulk_doc(const struct es_bulk *b, size_t i);
/* What became of an item, from its status in a _bulk answer. */
enum es_fate {
    ES_INDEXED,  /* 200, 201 */
    ES_ALREADY,  /* 409: the same _id is there: an earlier send or an earlier run */
    ES_AGAIN,    /* 429, 5xx, 403 (an index blocked, say read-only after a full disk, until
                  * someone frees space: Logstash retries it too), or no status: may
                  * succeed later */
    ES_REJECTED, /* any other: for good, a dead letter */
};

struct es_item_result {
    enum es_fate fate;
    int status;
    struct jspan error; /* the engine's "error" value, or n == 0 */
};

/* Reads the answer to a _bulk request of n items into res[0..n). false if it is not a
 * _bulk answer for n items: nothing can be counted from it (send it all again: what did
 * land answers 409). The error spans point into answer. */
bool es_bulk_answer(const char *answer, size_t len, size_t n, struct es_item_result *res);

/* Words for what the items of res[0..n) answered ES_AGAIN wait for: the engine's reason
 * and the index, e.g. "unavailable_shards_exception on packets-2006-12-16 +2 more": the
 * first such item's error type (or "HTTP <status>"), its index, and how many other indices
 * such items go to; in detail (if not NULL) its reason, cut short ("" when none). */
void es_bulk_again_reason(const struct es_bulk *b, const struct es_item_result *res, size_t n,
                          char *out, size_t outlen, char *detail, size_t dlen);

/* Words for the error of a whole answer ({"error":{"type":...,"reason":...}}, or
 * {"error":"..."}): "type: reason" cut short; "" when it says none (HTML, say). */
void es_answer_reason(const char *answer, size_t len, char *out, size_t outlen);
/* Whether a whole answer is a cluster_block_exception (403: an index or the cluster
 * blocked for writes, as a full disk makes it): something to wait out, not credentials
 * refused. */
bool es_answer_blocked(const char *answer, size_t len);

/* Keeps only the items marked in keep[0..n), in order. */
void es_bulk_keep(struct es_bulk *b, const bool *keep);

/* The parts of a spool record for the body, after the mapping lines maps[0..len). */
void es_bulk_record(const struct es_bulk *b, const char *maps, size_t len,
                    struct spool_part parts[3]);
/* body holds a spool record: the mapping lines go to *maps (copied into maps_out), the
 * items are indexed; a cut last item is dropped. false if it is not a record. */
bool es_bulk_from_record(struct es_bulk *b, struct buf *maps_out);

#endif
