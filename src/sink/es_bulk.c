/* es_bulk: _bulk bodies: action lines with stable _ids, answers, spool records. */
#include "es_bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void es_bulk_init(struct es_bulk *b)
{
    memset(b, 0, sizeof *b);
    buf_init(&b->body, 1 << 16);
}

void es_bulk_fini(struct es_bulk *b)
{
    buf_fini(&b->body);
    free(b->items);
    memset(b, 0, sizeof *b);
}

void es_bulk_reset(struct es_bulk *b)
{
    buf_reset(&b->body);
    b->n = 0;
}

static struct es_bulk_item *new_item(struct es_bulk *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->items = xrealloc(b->items, b->cap * sizeof *b->items);
    }
    return &b->items[b->n++];
}

void es_bulk_add(struct es_bulk *b, const char *index, uint64_t source_id, uint32_t frame,
                 uint64_t packet_hash, const char *doc, size_t len)
{
    struct es_bulk_item *it = new_item(b);
    it->off = (uint32_t)b->body.len;
    buf_printf(&b->body, "{\"create\":{\"_index\":\"%s\",\"_id\":\"%016llx-%u-%08x\"}}\n", index,
               (unsigned long long)source_id, frame,
               (unsigned)(packet_hash ^ (packet_hash >> 32)));
    it->doc_off = (uint32_t)b->body.len;
    buf_add(&b->body, doc, len);
    buf_addc(&b->body, '\n');
    it->end = (uint32_t)b->body.len;
}

struct jspan es_bulk_action(const struct es_bulk *b, size_t i)
{
    const struct es_bulk_item *it = &b->items[i];
    return (struct jspan){ b->body.p + it->off, it->doc_off - it->off - 1 };
}

struct jspan es_bulk_doc(const struct es_bulk *b, size_t i)
{
    const struct es_bulk_item *it = &b->items[i];
    return (struct jspan){ b->body.p + it->doc_off, it->end - it->doc_off - 1 };
}

struct answer {
    size_t n;
    struct es_item_result *res;
};

static void on_item(void *ctx, long i, const struct bulk_item *it)
{
    struct answer *a = ctx;
    if ((size_t)i >= a->n)
        return;
    struct es_item_result *r = &a->res[i];
    r->status = it->status;
    r->error = it->error;
    if (it->status == 200 || it->status == 201)
        r->fate = ES_INDEXED;
    else if (it->status == 409)
        r->fate = ES_ALREADY;
    else if (it->status == 429 || it->status == 403 || it->status >= 500 || it->status == 0)
        r->fate = ES_AGAIN;
    else
        r->fate = ES_REJECTED;
}

bool es_bulk_answer(const char *answer, size_t len, size_t n, struct es_item_result *res)
{
    bool errors;
    struct answer a = { n, res };
    return ejson_bulk_items(answer, len, &errors, on_item, &a) == (long)n;
}

/* A JSON value as plain words: a string without its quotes, anything else as written, at
 * most max bytes, control characters as spaces. Appends to out (at o, of outlen). */
static size_t words(struct jspan v, size_t max, char *out, size_t o, size_t outlen)
{
    const char *p = v.p;
    size_t n = v.n;
    if (n >= 2 && p[0] == '"') {
        p++;
        n -= 2;
    }
    if (n > max)
        n = max;
    for (size_t i = 0; i < n && o + 1 < outlen; i++)
        out[o++] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
    if (o < outlen)
        out[o] = '\0';
    return o;
}

static struct jspan item_index(const struct es_bulk *b, size_t i)
{
    struct jspan a = es_bulk_action(b, i), ix = { "", 0 };
    if (!ejson_get(a.p, a.n, "create._index", &ix))
        ix = (struct jspan){ "?", 1 };
    return ix;
}

void es_bulk_again_reason(const struct es_bulk *b, const struct es_item_result *res, size_t n,
                          char *out, size_t outlen, char *detail, size_t dlen)
{
    if (detail && dlen)
        detail[0] = '\0';
    size_t first = n;
    for (size_t i = 0; i < n && first == n; i++)
        if (res[i].fate == ES_AGAIN)
            first = i;
    if (!outlen)
        return;
    out[0] = '\0';
    if (first == n)
        return;
    const struct es_item_result *r = &res[first];
    struct jspan type, reason = { "", 0 };
    size_t o = 0;
    if (r->error.n && ejson_get(r->error.p, r->error.n, "type", &type)) {
        o = words(type, 80, out, o, outlen);
        ejson_get(r->error.p, r->error.n, "reason", &reason);
    } else if (r->error.n && r->error.p[0] == '"') {
        o = words(r->error, 80, out, o, outlen); /* an older engine: the error as a string */
    } else {
        o += (size_t)snprintf(out + o, outlen - o, "HTTP %d", r->status);
    }
    /* The other indices, told apart by name (a handful at most in practice). */
    struct jspan ix = item_index(b, first), seen[16];
    size_t n_seen = 0, more = 0;
    for (size_t i = first + 1; i < n; i++) {
        if (res[i].fate != ES_AGAIN)
            continue;
        struct jspan x = item_index(b, i);
        bool known = x.n == ix.n && memcmp(x.p, ix.p, x.n) == 0;
        for (size_t k = 0; k < n_seen && !known; k++)
            known = x.n == seen[k].n && memcmp(x.p, seen[k].p, x.n) == 0;
        if (known)
            continue;
        if (n_seen < sizeof seen / sizeof seen[0])
            seen[n_seen++] = x;
        more++;
    }
    if (o + 5 < outlen)
        o += (size_t)snprintf(out + o, outlen - o, " on ");
    o = words(ix, 255, out, o, outlen);
    if (more && o < outlen)
        o += (size_t)snprintf(out + o, outlen - o, " +%zu more", more);
    if (reason.n && detail && dlen)
        words(reason, 200, detail, 0, dlen);
}

void es_answer_reason(const char *answer, size_t len, char *out, size_t outlen)
{
    struct jspan err, type, reason;
    if (!outlen)
        return;
    out[0] = '\0';
    if (!answer || !len || !ejson_get(answer, len, "error", &err))
        return;
    if (err.p[0] == '"') {
        words(err, 200, out, 0, outlen);
        return;
    }
    size_t o = 0;
    if (ejson_get(err.p, err.n, "type", &type))
        o = words(type, 80, out, o, outlen);
    if (ejson_get(err.p, err.n, "reason", &reason) && o + 3 < outlen) {
        if (o)
            o += (size_t)snprintf(out + o, outlen - o, ": ");
        words(reason, 200, out, o, outlen);
    }
}

bool es_answer_blocked(const char *answer, size_t len)
{
    struct jspan t;
    return answer && len && ejson_get(answer, len, "error.type", &t) &&
           t.n == sizeof "\"cluster_block_exception\"" - 1 &&
           memcmp(t.p, "\"cluster_block_exception\"", t.n) == 0;
}

void es_bulk_keep(struct es_bulk *b, const bool *keep)
{
    size_t w = 0, out = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!keep[i])
            continue;
        struct es_bulk_item it = b->items[i];
        size_t len = it.end - it.off;
        memmove(b->body.p + w, b->body.p + it.off, len);
        b->items[out++] = (struct es_bulk_item){ (uint32_t)w, (uint32_t)(w + (it.doc_off - it.off)),
                                                 (uint32_t)(w + len) };
        w += len;
    }
    b->body.len = w;
    b->n = out;
}

void es_bulk_record(const struct es_bulk *b, const char *maps, size_t len,
                    struct spool_part parts[3])
{
    parts[0] = (struct spool_part){ maps, len };
    parts[1] = (struct spool_part){ "B\n", 2 };
    parts[2] = (struct spool_part){ b->body.p, b->body.len };
}

bool es_bulk_from_record(struct es_bulk *b, struct buf *maps_out)
{
    const char *all = b->body.p;
    size_t len = b->body.len;
    const char *at = len >= 2 && memcmp(all, "B\n", 2) == 0 ? all : memmem(all, len, "\nB\n", 3);
    if (!at)
        return false;
    if (at != all)
        at++; /* the newline before B */
    buf_reset(maps_out);
    buf_add(maps_out, all, (size_t)(at - all));
    size_t off = (size_t)(at + 2 - all);
    memmove(b->body.p, b->body.p + off, len - off);
    b->body.len = len - off;
    /* Items: pairs of lines, action then document. */
    b->n = 0;
    off = 0;
    while (off < b->body.len) {
        char *nl1 = memchr(b->body.p + off, '\n', b->body.len - off);
        if (!nl1)
            break;
        size_t doc_off = (size_t)(nl1 - b->body.p) + 1;
        char *nl2 = memchr(b->body.p + doc_off, '\n', b->body.len - doc_off);
        if (!nl2)
            break;
        size_t end = (size_t)(nl2 - b->body.p) + 1;
        *new_item(b) = (struct es_bulk_item){ (uint32_t)off, (uint32_t)doc_off, (uint32_t)end };
        off = end;
    }
    b->body.len = off;
    return true;
}
