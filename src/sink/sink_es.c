/* sink_es: documents into Elasticsearch/OpenSearch through _bulk, one index per UTC day.
 *
 * Nothing is lost and nothing is silent: every bulk answer is read item by item; what can
 * succeed later (429, 5xx, time-outs, refused connections) is sent again after a backoff,
 * for ever in file mode; what the engine rejects for good goes to the dead-letter file.
 * Documents are sent as "create" with an _id made of the capture's id and the frame
 * number, so a retried request or a second run never doubles a packet (409 = already
 * there). Before a document carrying a field not yet mapped in its index is sent, the
 * field's mapping is put, with the type its Wireshark field type calls for. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <curl/curl.h>

#include "../doc/json.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "es_client.h"
#include "es_json.h"
#include "sink.h"
#include "sink_es.h"

#define MAX_INFLIGHT 16

/* A set of field refs (never 0). */
struct refset {
    uint64_t *slots;
    size_t cap, count;
};

struct es_index {
    char name[160];
    int64_t day;        /* days since the epoch */
    bool created;
    struct refset mapped;
};

struct item {
    uint32_t off;       /* action line start in body */
    uint32_t doc_off;   /* document start */
    uint32_t end;       /* after the newline of the document */
    uint32_t index;     /* into s->idx */
};

enum req_state { REQ_FREE, REQ_BUILDING, REQ_INFLIGHT, REQ_WAITING };

struct req {
    CURL *h;
    enum req_state state;
    struct buf body, resp, gz;
    struct item *items;
    size_t n, cap;
    double retry_at, first_at;
    int attempts;
    size_t node;
    struct curl_slist *hdr;
    uint64_t from_spool;  /* spool file number + 1 when replayed from the spool, else 0 */
};

struct sink_es {
    struct sink base;
    struct sink_es_config cfg;
    struct es_client client;
    CURLM *multi;
    struct req reqs[MAX_INFLIGHT + 1];
    size_t n_reqs;
    size_t building;          /* index of the request being filled, or SIZE_MAX */
    struct es_index *idx;
    size_t n_idx;
    size_t last_idx;
    uint64_t source_id;
    FILE *dead;
    double last_wait_msg;
    bool fatal;
    struct buf tmp, path, resp;
    struct fdef { char *path; size_t len; enum doc_class cls; } *fdefs; /* by field id */
    size_t n_fdefs;
    struct pend { uint32_t index; uint32_t id; } *pending; /* new fields of the
                                                 request being built, mapped before it goes */
    size_t pending_n, pending_cap;
    int tries;                /* for plain requests: 0 = for ever (file mode), 1 (live) */
    struct buf maps;          /* "M <index> <body>" lines of the request being mapped */
    /* live mode: the spool (docs/indexing.md) */
    uint64_t *spool_seq;      /* file numbers waiting, oldest first */
    size_t spool_n, spool_cap;
    uint64_t spool_next;
    uint64_t spool_bytes;
    double last_spool_msg;
    uint64_t handed;          /* documents written to this sink */
};

/* ---- small helpers ---- */

static bool refset_has(const struct refset *s, uint64_t v)
{
    if (!s->cap)
        return false;
    size_t m = s->cap - 1, i = (size_t)(v * 0x9e3779b97f4a7c15ull >> 20) & m;
    while (s->slots[i]) {
        if (s->slots[i] == v)
            return true;
        i = (i + 1) & m;
    }
    return false;
}

static void refset_add(struct refset *s, uint64_t v)
{
    if ((s->count + 1) * 2 > s->cap) {
        struct refset n = { xcalloc(s->cap ? s->cap * 2 : 1024, sizeof(uint64_t)),
                            s->cap ? s->cap * 2 : 1024, 0 };
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                refset_add(&n, s->slots[i]);
        free(s->slots);
        *s = n;
    }
    size_t m = s->cap - 1, i = (size_t)(v * 0x9e3779b97f4a7c15ull >> 20) & m;
    while (s->slots[i]) {
        if (s->slots[i] == v)
            return;
        i = (i + 1) & m;
    }
    s->slots[i] = v;
    s->count++;
}

static double backoff_for(int attempts)
{
    double b = 0.25;
    for (int i = 0; i < attempts && b < 30; i++)
        b *= 2;
    return b > 30 ? 30 : b;
}

static int64_t day_of(int64_t secs) { return secs >= 0 ? secs / 86400 : (secs - 86399) / 86400; }


/* ---- mappings ---- */

static const char *mapping_for(struct sink_es *s, enum doc_class c)
{
    switch (c) {
    case DC_LONG: return "{\"type\":\"long\"}";
    case DC_ULONG:
        return s->client.unsigned_long ? "{\"type\":\"unsigned_long\"}" : "{\"type\":\"double\"}";
    case DC_DOUBLE: return "{\"type\":\"double\"}";
    case DC_BOOL: return "{\"type\":\"boolean\"}";
    case DC_IP: return "{\"type\":\"ip\"}";
    case DC_DATE: return "{\"type\":\"date\",\"ignore_malformed\":true}";
    case DC_BYTES: return "{\"type\":\"keyword\",\"ignore_above\":256}";
    case DC_KEYWORD:
    default: return "{\"type\":\"keyword\",\"ignore_above\":1024}";
    }
}

/* The mappings of the top-level fields: in the template, and put into a daily index that
 * existed before the template did. */
static void base_properties(struct buf *b)
{
    const char *datefmt = "{\"type\":\"date\",\"format\":\"yyyy-MM-dd HH:mm:ss\"}";
    buf_adds(b, "{\"@timestamp\":{\"type\":\"date\"},\"sniff_timestamp\":{\"type\":\"double\"},");
    buf_printf(b, "\"sniff_date_utc\":%s,\"file_date_utc\":%s,", datefmt, datefmt);
    buf_adds(b, "\"capture\":{\"type\":\"keyword\"},\"file_name\":{\"type\":\"keyword\"},"
                "\"interface\":{\"type\":\"keyword\"},\"frame_number\":{\"type\":\"long\"},"
                "\"length\":{\"type\":\"long\"},\"caplen\":{\"type\":\"long\"},"
                "\"protocols\":{\"type\":\"keyword\"},\"protocol\":{\"type\":\"keyword\"},"
                "\"layers\":{\"type\":\"object\"}}");
}

static void template_body(struct sink_es *s, struct buf *b, bool composable)
{
    buf_printf(b, "{\"index_patterns\":[\"%s-*\"],", s->cfg.index_prefix);
    buf_adds(b, composable ? "\"priority\":200,\"template\":{" : "\"order\":200,");
    buf_adds(b, "\"settings\":{\"index.mapping.total_fields.limit\":100000,"
                "\"index.mapping.depth.limit\":64},");
    buf_adds(b, "\"mappings\":{\"date_detection\":false,\"numeric_detection\":false,"
                "\"dynamic_templates\":[{\"strings_as_keywords\":{\"match_mapping_type\":"
                "\"string\",\"mapping\":{\"type\":\"keyword\",\"ignore_above\":1024}}}],"
                "\"properties\":");
    base_properties(b);
    buf_addc(b, '}');
    if (composable)
        buf_addc(b, '}');
    buf_addc(b, '}');
}

static bool install_template(struct sink_es *s)
{
    struct es_client *c = &s->client;
    buf_reset(&s->tmp);
    template_body(s, &s->tmp, c->composable_templates);
    buf_reset(&s->path);
    buf_printf(&s->path, "/%s/espcap-%s", c->composable_templates ? "_index_template" : "_template",
               s->cfg.index_prefix);
    long st = es_request(c, "PUT", buf_cstr(&s->path), s->tmp.p, s->tmp.len, &s->resp, 0);
    if (st != 200) {
        snprintf(s->base.error, sizeof s->base.error, "cannot install the index template %s: HTTP %ld: %.300s",
                 s->path.p, st, s->resp.p ? s->resp.p : "");
        return false;
    }
    return true;
}

static bool put_mapping(struct sink_es *s, const char *index, const char *body, size_t len,
                        bool create);

/* Creates a daily index (from the template) unless it exists. false: the node could not
 * be asked (live mode tries once). */
static bool create_index(struct sink_es *s, const char *name)
{
    buf_reset(&s->path);
    buf_printf(&s->path, "/%s", name);
    long st = es_request(&s->client, "PUT", buf_cstr(&s->path), "{}", 2, &s->resp, s->tries);
    if (st < 0)
        return false;
    if (st == 400 && strstr(s->resp.p, "resource_already_exists_exception")) {
        /* Made before our template (by someone else, or an older run): give it the
         * top-level mappings the template would have given it. */
        struct buf b;
        buf_init(&b, 1024);
        buf_adds(&b, "{\"properties\":");
        base_properties(&b);
        buf_addc(&b, '}');
        bool ok = put_mapping(s, name, b.p, b.len, false);
        buf_fini(&b);
        return ok;
    }
    if (st != 200)
        log_warn("index %s: cannot create it (HTTP %ld: %.300s); documents will go to it anyway",
                 name, st, s->resp.p);
    return true;
}

struct one_field {
    struct sink_es *s;
    const char *index;
    bool asked;  /* false: the node could not be asked */
    size_t failed;
};

static long put_mapping_once(struct sink_es *s, const char *index, const char *body, size_t len)
{
    buf_reset(&s->path);
    buf_printf(&s->path, "/%s/_mapping", index);
    return es_request(&s->client, "PUT", buf_cstr(&s->path), body, len, &s->resp, s->tries);
}

/* One property of a refused mapping request, on its own, so that one field that clashes
 * with an existing mapping spoils only itself. */
static void put_one_field(void *ctx, struct jspan key, struct jspan value)
{
    struct one_field *o = ctx;
    if (!o->asked)
        return;
    struct buf b;
    buf_init(&b, key.n + value.n + 32);
    buf_adds(&b, "{\"properties\":{\"");
    buf_add(&b, key.p, key.n);
    buf_adds(&b, "\":");
    buf_add(&b, value.p, value.n);
    buf_adds(&b, "}}");
    long st = put_mapping_once(o->s, o->index, b.p, b.len);
    if (st < 0)
        o->asked = false;
    else if (st != 200) {
        o->failed++;
        log_warn("index %s: cannot map %.*s as %.*s (HTTP %ld: %.300s); documents whose value "
                 "does not fit the existing mapping will be rejected", o->index, (int)key.n,
                 key.p, (int)value.n, value.p, st, o->s->resp.p);
    }
    buf_fini(&b);
}

/* Puts one mapping body into an index (created first, with create). false: the node could
 * not be asked. */
static bool put_mapping(struct sink_es *s, const char *index, const char *body, size_t len,
                        bool create)
{
    if (create) {
        struct es_index *ix = NULL;
        for (size_t i = 0; i < s->n_idx && !ix; i++)
            if (strcmp(s->idx[i].name, index) == 0)
                ix = &s->idx[i];
        if (!ix || !ix->created) {
            if (!create_index(s, index))
                return false;
            if (ix)
                ix->created = true;
        }
    }
    long st = put_mapping_once(s, index, body, len);
    if (st < 0)
        return false;
    if (st == 400 && !strstr(s->resp.p, "[unsigned_long]")) {
        struct jspan props;
        struct one_field o = { s, index, true, 0 };
        if (ejson_get(body, len, "properties", &props))
            ejson_members(props.p, props.n, put_one_field, &o);
        return o.asked;
    }
    if (st != 200 && !strstr(s->resp.p, "[unsigned_long]"))
        log_warn("index %s: mapping new fields failed (HTTP %ld: %.400s); documents that do not "
                 "fit the existing mapping will be rejected", index, st, s->resp.p);
    return true;
}

/* Writes "M <index> {"properties":{...}}" lines into s->maps for the pending fields of
 * the request being built: what must be mapped before it is sent. */
static void pending_mappings(struct sink_es *s)
{
    buf_reset(&s->maps);
    for (size_t x = 0; x < s->n_idx; x++) {
        bool first = true;
        for (size_t i = 0; i < s->pending_n; i++) {
            if (s->pending[i].index != x)
                continue;
            if (first)
                buf_printf(&s->maps, "M %s {\"properties\":{", s->idx[x].name);
            else
                buf_addc(&s->maps, ',');
            first = false;
            const struct fdef *f = &s->fdefs[s->pending[i].id];
            json_str(&s->maps, f->path, f->len, 0);
            buf_addc(&s->maps, ':');
            buf_adds(&s->maps, mapping_for(s, f->cls));
        }
        if (!first)
            buf_adds(&s->maps, "}}\n");
    }
    s->pending_n = 0;
}

/* Applies "M <index> <body>" lines. false: the node could not be asked. */
static bool apply_mappings(struct sink_es *s, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        if (p[0] == 'M' && p[1] == ' ') {
            const char *sp = memchr(p + 2, ' ', (size_t)(nl - p - 2));
            if (sp) {
                char index[160];
                snprintf(index, sizeof index, "%.*s", (int)(sp - p - 2), p + 2);
                const char *body = sp + 1;
                size_t blen = (size_t)(nl - body);
                for (int attempt = 0;; attempt++) {
                    if (!put_mapping(s, index, body, blen, true))
                        return false;
                    if (attempt == 0 && s->client.unsigned_long && strstr(s->resp.p, "[unsigned_long]")) {
                        /* An engine without unsigned_long (Elasticsearch without x-pack). */
                        log_warn("%s has no unsigned_long type: unsigned 64-bit fields are mapped "
                                 "as double", s->client.nodes[s->client.answered].shown);
                        s->client.unsigned_long = false;
                        struct buf fixed;
                        buf_init(&fixed, blen + 16);
                        for (const char *q = body; q < body + blen;) {
                            const char *hit = memmem(q, (size_t)(body + blen - q), "\"unsigned_long\"", 15);
                            if (!hit) {
                                buf_add(&fixed, q, (size_t)(body + blen - q));
                                break;
                            }
                            buf_add(&fixed, q, (size_t)(hit - q));
                            buf_adds(&fixed, "\"double\"");
                            q = hit + 15;
                        }
                        bool ok = put_mapping(s, index, fixed.p, fixed.len, true);
                        buf_fini(&fixed);
                        if (!ok)
                            return false;
                    }
                    break;
                }
            }
        }
        p = nl + 1;
    }
    return true;
}

static struct es_index *index_for(struct sink_es *s, int64_t secs)
{
    int64_t day = day_of(secs);
    if (s->n_idx && s->idx[s->last_idx].day == day)
        return &s->idx[s->last_idx];
    for (size_t i = 0; i < s->n_idx; i++)
        if (s->idx[i].day == day) {
            s->last_idx = i;
            return &s->idx[i];
        }
    s->idx = xrealloc(s->idx, (s->n_idx + 1) * sizeof *s->idx);
    struct es_index *ix = &s->idx[s->n_idx];
    memset(ix, 0, sizeof *ix);
    char date[11];
    tf_date(date, day * 86400);
    snprintf(ix->name, sizeof ix->name, "%s-%s", s->cfg.index_prefix, date);
    ix->day = day;
    s->last_idx = s->n_idx++;
    return ix;
}

/* ---- dead letters ---- */

static void dead_letter(struct sink_es *s, struct req *r, size_t i, int status, const char *err,
                        size_t errlen)
{
    struct item *it = &r->items[i];
    s->base.stats.dead_lettered++;
    if (!s->dead && !s->fatal) {
        s->dead = fopen(s->cfg.dead_letters, "a");
        if (!s->dead) {
            snprintf(s->base.error, sizeof s->base.error,
                     "%s: cannot open the dead-letter file: %s; the documents the node rejected "
                     "are lost (counted as rejected)", s->cfg.dead_letters, strerror(errno));
            s->fatal = true;
        } else {
            log_warn("documents the node rejects go to %s", s->cfg.dead_letters);
        }
    }
    if (!s->dead)
        return;
    /* The action line holds the index and _id: {"create":{"_index":"..","_id":".."}} */
    const char *action = r->body.p + it->off;
    size_t alen = it->doc_off - it->off - 1;
    fprintf(s->dead, "{\"action\":%.*s,\"status\":%d,\"error\":", (int)alen, action, status);
    if (errlen && (err[0] == '{' || err[0] == '"'))
        fwrite(err, 1, errlen, s->dead);
    else {
        struct buf e;
        buf_init(&e, errlen + 8);
        json_str(&e, err, errlen, 2000);
        fwrite(e.p, 1, e.len, s->dead);
        buf_fini(&e);
    }
    fputs(",\"document\":", s->dead);
    fwrite(r->body.p + it->doc_off, 1, it->end - it->doc_off - 1, s->dead);
    fputs("}\n", s->dead);
}

/* ---- requests ---- */

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    buf_add(ud, data, size * n);
    return size * n;
}

static bool gzip_body(struct req *r)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    buf_reset(&r->gz);
    buf_reserve(&r->gz, deflateBound(&z, r->body.len));
    z.next_in = (Bytef *)r->body.p;
    z.avail_in = (uInt)r->body.len;
    z.next_out = (Bytef *)r->gz.p;
    z.avail_out = (uInt)r->gz.cap;
    int rc = deflate(&z, Z_FINISH);
    r->gz.len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

static void start(struct sink_es *s, struct req *r)
{
    double now = es_now();
    r->node = es_client_pick(&s->client, now);
    curl_easy_reset(r->h);
    es_client_setup(&s->client, r->h);
    buf_reset(&s->path);
    buf_printf(&s->path, "%s/_bulk", s->client.nodes[r->node].url);
    curl_easy_setopt(r->h, CURLOPT_URL, buf_cstr(&s->path));
    curl_slist_free_all(r->hdr);
    r->hdr = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
    for (struct curl_slist *a = s->client.auth_headers; a; a = a->next)
        r->hdr = curl_slist_append(r->hdr, a->data);
    const char *body = r->body.p;
    size_t len = r->body.len;
    if (s->cfg.compress && gzip_body(r)) {
        r->hdr = curl_slist_append(r->hdr, "Content-Encoding: gzip");
        body = r->gz.p;
        len = r->gz.len;
    }
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdr);
    curl_easy_setopt(r->h, CURLOPT_POST, 1L);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(r->h, CURLOPT_WRITEDATA, &r->resp);
    curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
    buf_reset(&r->resp);
    r->state = REQ_INFLIGHT;
    s->base.stats.bytes += len;
    curl_multi_add_handle(s->multi, r->h);
}

static size_t inflight(struct sink_es *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_reqs; i++)
        n += s->reqs[i].state == REQ_INFLIGHT;
    return n;
}

static void release(struct req *r)
{
    r->from_spool = 0;
    r->n = 0;
    buf_reset(&r->body);
    r->attempts = 0;
    r->state = REQ_FREE;
}

static void spool_req(struct sink_es *s, struct req *r, const char *maps, size_t maps_len);

static void wait_again(struct sink_es *s, struct req *r, const char *why)
{
    if (s->cfg.live) {
        /* A live capture never waits: the spool is the waiting room. */
        double now = es_now();
        if (now - s->last_wait_msg >= 5) {
            log_warn("%s: %s; documents go to the spool %s until it answers",
                     s->client.nodes[r->node].shown, why, s->cfg.spool_dir);
            s->last_wait_msg = now;
        }
        spool_req(s, r, NULL, 0);
        return;
    }
    r->attempts++;
    double b = backoff_for(r->attempts);
    r->retry_at = es_now() + b;
    r->state = REQ_WAITING;
    s->base.stats.retried += r->n;
    double now = es_now();
    if (now - s->last_wait_msg >= 5) {
        log_warn("%zu documents wait for %s: %s; retrying in %.1f s", r->n,
                 s->client.nodes[r->node].shown, why, b);
        s->last_wait_msg = now;
    }
}

struct done_ctx {
    struct sink_es *s;
    struct req *r;
    bool *keep; /* per item: send again */
};

static void on_item(void *ctx, long i, const struct bulk_item *it)
{
    struct done_ctx *d = ctx;
    if ((size_t)i >= d->r->n)
        return;
    if (it->status == 200 || it->status == 201)
        d->s->base.stats.written++;
    else if (it->status == 409)
        d->s->base.stats.already++;
    else if (it->status == 429 || it->status >= 500 || it->status == 0)
        d->keep[i] = true;
    else
        dead_letter(d->s, d->r, (size_t)i, it->status, it->error.p ? it->error.p : "",
                    it->error.n);
}

/* Keeps only the items marked in keep, in place. */
static void compact(struct req *r, const bool *keep)
{
    size_t w = 0, out = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!keep[i])
            continue;
        struct item it = r->items[i];
        size_t len = it.end - it.off;
        memmove(r->body.p + w, r->body.p + it.off, len);
        r->items[out] = (struct item){ (uint32_t)w, (uint32_t)(w + (it.doc_off - it.off)),
                                       (uint32_t)(w + len), it.index };
        w += len;
        out++;
    }
    r->body.len = w;
    r->n = out;
}

static void finish(struct sink_es *s, struct req *r, CURLcode rc)
{
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(s->multi, r->h);
    double now = es_now();
    if (rc != CURLE_OK) {
        es_client_node_failed(&s->client, r->node, now);
        wait_again(s, r, curl_easy_strerror(rc));
        return;
    }
    if (status == 429 || status == 408 || status >= 500) {
        if (status != 429)
            es_client_node_failed(&s->client, r->node, now);
        char why[64];
        snprintf(why, sizeof why, "HTTP %ld", status);
        wait_again(s, r, why);
        return;
    }
    es_client_node_ok(&s->client, r->node);
    if (status == 200) {
        bool errors = false;
        bool *keep = xcalloc(r->n ? r->n : 1, sizeof *keep);
        struct done_ctx d = { s, r, keep };
        uint64_t before = s->base.stats.written;
        long n = ejson_bulk_items(r->resp.p, r->resp.len, &errors, errors ? on_item : on_item, &d);
        if (n != (long)r->n) {
            /* An answer we cannot match to the request: send it all again; create makes
             * that safe (what did land answers 409). */
            s->base.stats.written = before;
            free(keep);
            wait_again(s, r, "an unreadable _bulk answer");
            return;
        }
        size_t again = 0;
        for (size_t i = 0; i < r->n; i++)
            again += keep[i];
        if (again) {
            compact(r, keep);
            free(keep);
            wait_again(s, r, "documents answered 429 or 5xx");
            return;
        }
        free(keep);
    } else if (status == 401 || status == 403) {
        snprintf(s->base.error, sizeof s->base.error,
                 "%s refused the credentials (HTTP %ld) during the run",
                 s->client.nodes[r->node].shown, status);
        for (size_t i = 0; i < r->n; i++)
            dead_letter(s, r, i, (int)status, r->resp.p, r->resp.len);
        s->fatal = true;
    } else {
        /* The whole request refused (400, 404, 413, ...): its documents are dead letters. */
        buf_cstr(&r->resp);
        for (size_t i = 0; i < r->n; i++)
            dead_letter(s, r, i, (int)status, r->resp.p, r->resp.len);
    }
    release(r);
}

/* Moves transfers on; with block, waits (at most max_wait s) for something to happen. */
static void pump(struct sink_es *s, bool block, double max_wait)
{
    double now = es_now();
    for (size_t i = 0; i < s->n_reqs; i++) {
        struct req *r = &s->reqs[i];
        if (r->state == REQ_WAITING && r->retry_at <= now && inflight(s) < s->cfg.in_flight)
            start(s, r);
    }
    int running;
    curl_multi_perform(s->multi, &running);
    CURLMsg *m;
    int left;
    bool any = false;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct req *r;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish(s, r, m->data.result);
        any = true;
    }
    if (!block || any)
        return;
    double next = now + max_wait;
    for (size_t i = 0; i < s->n_reqs; i++)
        if (s->reqs[i].state == REQ_WAITING && s->reqs[i].retry_at < next)
            next = s->reqs[i].retry_at;
    int ms = (int)((next - now) * 1000);
    curl_multi_poll(s->multi, NULL, 0, ms < 1 ? 1 : ms > 1000 ? 1000 : ms, NULL);
}

/* ---- the spool (live mode) ---- */

static void spool_name(struct sink_es *s, uint64_t seq, const char *ext, struct buf *out)
{
    buf_reset(out);
    buf_printf(out, "%s/%012llu.%s", s->cfg.spool_dir, (unsigned long long)seq, ext);
    buf_cstr(out);
}

/* Writes a request (and the mappings it needs) to the spool, or drops it, counted, when
 * the spool is full. The request is free afterwards. */
static void spool_req(struct sink_es *s, struct req *r, const char *maps, size_t maps_len)
{
    size_t size = maps_len + 2 + r->body.len;
    double now = es_now();
    if (!r->n) {
        release(r);
        return;
    }
    if (s->spool_bytes + size > s->cfg.spool_max) {
        s->base.stats.dropped += r->n;
        if (now - s->last_spool_msg >= 5) {
            log_warn("spool %s is full (%llu of %llu bytes): dropped %zu documents (%llu so far)",
                     s->cfg.spool_dir, (unsigned long long)s->spool_bytes,
                     (unsigned long long)s->cfg.spool_max, r->n,
                     (unsigned long long)s->base.stats.dropped);
            s->last_spool_msg = now;
        }
        release(r);
        return;
    }
    struct buf tmp, fin;
    buf_init(&tmp, 256);
    buf_init(&fin, 256);
    /* A replayed request that failed again goes back to its place at the head. */
    uint64_t seq = r->from_spool ? r->from_spool - 1 : s->spool_next++;
    spool_name(s, seq, "tmp", &tmp);
    spool_name(s, seq, "bulk", &fin);
    FILE *f = fopen(tmp.p, "w");
    bool ok = f != NULL;
    if (ok) {
        ok = fwrite(maps ? maps : "", 1, maps_len, f) == maps_len && fputs("B\n", f) >= 0 &&
             fwrite(r->body.p, 1, r->body.len, f) == r->body.len;
        ok = (fclose(f) == 0) && ok;
    }
    if (ok && rename(tmp.p, fin.p) != 0)
        ok = false;
    if (!ok) {
        log_error("spool %s: cannot write %s: %s; dropped %zu documents", s->cfg.spool_dir, fin.p,
                  strerror(errno), r->n);
        unlink(tmp.p);
        s->base.stats.dropped += r->n;
    } else {
        if (s->spool_n == s->spool_cap) {
            s->spool_cap = s->spool_cap ? s->spool_cap * 2 : 64;
            s->spool_seq = xrealloc(s->spool_seq, s->spool_cap * sizeof *s->spool_seq);
        }
        if (r->from_spool) {
            memmove(s->spool_seq + 1, s->spool_seq, s->spool_n * sizeof *s->spool_seq);
            s->spool_seq[0] = seq;
            s->spool_n++;
            s->base.stats.replayed -= r->n; /* it will be replayed again */
        } else {
            s->spool_seq[s->spool_n++] = seq;
            s->base.stats.spooled += r->n;
        }
        s->spool_bytes += size;
    }
    buf_fini(&tmp);
    buf_fini(&fin);
    release(r);
}

/* Loads the oldest spool file into r and sends it. false if it could not be sent now (the
 * file stays). */
static bool replay_one(struct sink_es *s, struct req *r)
{
    struct buf name;
    buf_init(&name, 256);
    uint64_t seq_loaded = s->spool_seq[0];
    spool_name(s, seq_loaded, "bulk", &name);
    FILE *f = fopen(name.p, "r");
    bool ok = false;
    struct buf all;
    buf_init(&all, 1 << 16);
    if (f) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_add(&all, chunk, n);
        fclose(f);
        /* mapping lines, then "B", then the bulk body */
        const char *b = all.len >= 2 && memcmp(all.p, "B\n", 2) == 0 ? all.p
                                                                     : memmem(all.p, all.len, "\nB\n", 3);
        if (b) {
            if (b != all.p)
                b++; /* the newline before B */
            if (!apply_mappings(s, all.p, (size_t)(b - all.p))) {
                buf_fini(&all);
                buf_fini(&name);
                return false;
            }
            const char *body = b + 2;
            size_t blen = all.len - (size_t)(body - all.p);
            buf_reset(&r->body);
            buf_add(&r->body, body, blen);
            r->n = 0;
            /* items: pairs of lines, action then document */
            size_t off = 0;
            while (off < r->body.len) {
                char *nl1 = memchr(r->body.p + off, '\n', r->body.len - off);
                if (!nl1)
                    break;
                size_t doc_off = (size_t)(nl1 - r->body.p) + 1;
                char *nl2 = memchr(r->body.p + doc_off, '\n', r->body.len - doc_off);
                if (!nl2)
                    break;
                if (r->n == r->cap) {
                    r->cap = r->cap ? r->cap * 2 : 1024;
                    r->items = xrealloc(r->items, r->cap * sizeof *r->items);
                }
                r->items[r->n++] = (struct item){ (uint32_t)off, (uint32_t)doc_off,
                                                  (uint32_t)(nl2 - r->body.p) + 1, 0 };
                off = (size_t)(nl2 - r->body.p) + 1;
            }
            r->body.len = off;
            ok = true;
        } else {
            log_warn("spool: %s is not a spool file; left aside", name.p);
        }
    }
    uint64_t size = all.len;
    if (ok || f) {
        /* Loaded (or unreadable garbage): it leaves the spool; the request now owns it. */
        if (ok)
            unlink(name.p);
        s->spool_bytes = s->spool_bytes > size ? s->spool_bytes - size : 0;
        memmove(s->spool_seq, s->spool_seq + 1, (s->spool_n - 1) * sizeof *s->spool_seq);
        s->spool_n--;
    }
    buf_fini(&all);
    buf_fini(&name);
    if (!ok || !r->n) {
        release(r);
        return ok;
    }
    s->base.stats.replayed += r->n;
    r->from_spool = seq_loaded + 1;
    start(s, r);
    return true;
}

/* Sends what the spool holds while the node takes it and a request is free. */
static void replay(struct sink_es *s)
{
    double now = es_now();
    while (s->spool_n && inflight(s) < s->cfg.in_flight) {
        size_t node = es_client_pick(&s->client, now);
        if (s->client.nodes[node].down_until > now)
            return;
        struct req *r = NULL;
        for (size_t i = 0; i < s->n_reqs && !r; i++)
            if (s->reqs[i].state == REQ_FREE)
                r = &s->reqs[i];
        if (!r || !replay_one(s, r))
            return;
    }
}

static void spool_scan(struct sink_es *s)
{
    mkdir(s->cfg.spool_dir, 0700);
    DIR *d = opendir(s->cfg.spool_dir);
    if (!d) {
        log_warn("spool %s: %s", s->cfg.spool_dir, strerror(errno));
        return;
    }
    struct dirent *e;
    struct buf name;
    buf_init(&name, 256);
    while ((e = readdir(d))) {
        unsigned long long seq;
        char ext[8];
        if (sscanf(e->d_name, "%12llu.%7s", &seq, ext) != 2 || strcmp(ext, "bulk") != 0)
            continue;
        spool_name(s, seq, "bulk", &name);
        struct stat st;
        if (stat(name.p, &st) != 0)
            continue;
        if (s->spool_n == s->spool_cap) {
            s->spool_cap = s->spool_cap ? s->spool_cap * 2 : 64;
            s->spool_seq = xrealloc(s->spool_seq, s->spool_cap * sizeof *s->spool_seq);
        }
        s->spool_seq[s->spool_n++] = seq;
        s->spool_bytes += (uint64_t)st.st_size;
        if (seq >= s->spool_next)
            s->spool_next = seq + 1;
    }
    closedir(d);
    buf_fini(&name);
    for (size_t i = 1; i < s->spool_n; i++) /* oldest first */
        for (size_t j = i; j > 0 && s->spool_seq[j - 1] > s->spool_seq[j]; j--) {
            uint64_t t = s->spool_seq[j];
            s->spool_seq[j] = s->spool_seq[j - 1];
            s->spool_seq[j - 1] = t;
        }
    if (s->spool_n)
        log_info("spool %s: %zu requests (%llu bytes) left by an earlier run will be delivered",
                 s->cfg.spool_dir, s->spool_n, (unsigned long long)s->spool_bytes);
}

/* ---- sending ---- */

static struct req *free_req(struct sink_es *s)
{
    for (;;) {
        for (size_t i = 0; i < s->n_reqs; i++)
            if (s->reqs[i].state == REQ_FREE)
                return &s->reqs[i];
        pump(s, true, 1.0);
    }
}

/* Sends the request being built, its new fields mapped first. File mode waits while too
 * many are in flight; live mode never waits: what cannot go now goes to the spool. */
static void submit(struct sink_es *s)
{
    if (s->building == SIZE_MAX)
        return;
    struct req *r = &s->reqs[s->building];
    s->building = SIZE_MAX;
    pending_mappings(s);
    if (!r->n) {
        release(r);
        return;
    }
    if (s->cfg.live) {
        double now = es_now();
        size_t node = es_client_pick(&s->client, now);
        if (s->spool_n || inflight(s) >= s->cfg.in_flight ||
            s->client.nodes[node].down_until > now ||
            !apply_mappings(s, s->maps.p, s->maps.len)) {
            /* Behind the spool, slower than the traffic, or unreachable: keep order. */
            spool_req(s, r, s->maps.p, s->maps.len);
            replay(s);
            return;
        }
    } else {
        apply_mappings(s, s->maps.p, s->maps.len);
        while (inflight(s) >= s->cfg.in_flight)
            pump(s, true, 1.0);
    }
    start(s, r);
    pump(s, false, 0);
}

/* ---- the sink interface ---- */

/* The gauges of struct sink_stats. A document handed over is settled once indexed, already
 * present, dead-lettered, spooled or dropped; one replayed from the spool is pending again
 * until answered (replayed counts it, and it was counted when spooled). */
static void gauges(struct sink_es *s)
{
    struct sink_stats *k = &s->base.stats;
    int64_t settled = (int64_t)(k->written + k->already + k->dead_lettered + k->spooled +
                                k->dropped) - (int64_t)k->replayed;
    int64_t pending = (int64_t)s->handed - settled;
    k->pending = pending > 0 ? (uint64_t)pending : 0;
    k->spool_bytes = s->spool_bytes;
}

static int es_begin_source(struct sink *base, const char *name)
{
    (void)base, (void)name;
    return 0;
}

static int es_write(struct sink *base, const char *doc, size_t len, const struct doc_info *info)
{
    struct sink_es *s = (struct sink_es *)base;
    if (s->fatal)
        return -1;
    struct es_index *ix = index_for(s, info->ts_sec);
    for (size_t i = 0; i < info->n_defs; i++) {
        const struct doc_field_def *def = &info->defs[i];
        if (def->id >= s->n_fdefs) {
            size_t n = def->id + 1024;
            s->fdefs = xrealloc(s->fdefs, n * sizeof *s->fdefs);
            memset(s->fdefs + s->n_fdefs, 0, (n - s->n_fdefs) * sizeof *s->fdefs);
            s->n_fdefs = n;
        }
        struct fdef *f = &s->fdefs[def->id];
        free(f->path);
        f->path = xmalloc(def->path_len + 1);
        memcpy(f->path, def->path, def->path_len);
        f->path[def->path_len] = '\0';
        f->len = def->path_len;
        f->cls = def->cls;
    }
    /* New fields are mapped when the request goes, before any document carrying them. */
    for (size_t i = 0; i < info->n_fields; i++) {
        uint64_t key = (uint64_t)info->fields[i] + 1; /* never 0 */
        if (refset_has(&ix->mapped, key))
            continue;
        refset_add(&ix->mapped, key);
        if (s->pending_n == s->pending_cap) {
            s->pending_cap = s->pending_cap ? s->pending_cap * 2 : 128;
            s->pending = xrealloc(s->pending, s->pending_cap * sizeof *s->pending);
        }
        s->pending[s->pending_n++] = (struct pend){ (uint32_t)(ix - s->idx), info->fields[i] };
    }

    if (s->building == SIZE_MAX) {
        struct req *r = free_req(s);
        r->state = REQ_BUILDING;
        r->first_at = es_now();
        s->building = (size_t)(r - s->reqs);
    }
    struct req *r = &s->reqs[s->building];
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->items = xrealloc(r->items, r->cap * sizeof *r->items);
    }
    struct item *it = &r->items[r->n++];
    it->off = (uint32_t)r->body.len;
    buf_printf(&r->body, "{\"create\":{\"_index\":\"%s\",\"_id\":\"%016llx-%u-%08x\"}}\n",
               ix->name, (unsigned long long)info->source_id, info->frame_number,
               (unsigned)(info->packet_hash ^ (info->packet_hash >> 32)));
    it->doc_off = (uint32_t)r->body.len;
    buf_add(&r->body, doc, len);
    buf_addc(&r->body, '\n');
    it->end = (uint32_t)r->body.len;
    it->index = (uint32_t)(ix - s->idx);
    s->handed++;
    if (r->n >= s->cfg.chunk || r->body.len >= s->cfg.chunk_bytes)
        submit(s);
    else if ((r->n & 63) == 0)
        pump(s, false, 0);
    gauges(s);
    return s->fatal ? -1 : 0;
}

static int es_flush(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    submit(s);
    gauges(s);
    return s->fatal ? -1 : 0;
}

static int es_tick(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    if (s->building != SIZE_MAX && es_now() - s->reqs[s->building].first_at >= s->cfg.flush_interval)
        submit(s);
    pump(s, false, 0);
    if (s->cfg.live)
        replay(s);
    gauges(s);
    return s->fatal ? -1 : 0;
}

static int es_close(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    submit(s);
    for (;;) {
        /* Live: deliver the spool too while the node takes it; what it does not take stays
         * in the spool for the next run. */
        if (s->cfg.live)
            replay(s);
        bool busy = false;
        for (size_t i = 0; i < s->n_reqs; i++)
            busy |= s->reqs[i].state == REQ_INFLIGHT || s->reqs[i].state == REQ_WAITING;
        if (!busy || s->fatal)
            break;
        pump(s, true, 1.0);
    }
    /* Live: a node that was set aside a moment ago gets one more chance before the spool is
     * left for the next run, for at most 10 s without progress. */
    for (double t0 = es_now(); s->cfg.live && s->spool_n && !s->fatal && es_now() - t0 < 10;) {
        size_t before = s->spool_n;
        for (size_t i = 0; i < s->client.n_nodes; i++)
            if (s->client.nodes[i].down_until - es_now() < 10 - (es_now() - t0))
                s->client.nodes[i].down_until = 0;
        replay(s);
        for (;;) {
            bool busy = false;
            for (size_t i = 0; i < s->n_reqs; i++)
                busy |= s->reqs[i].state == REQ_INFLIGHT;
            if (!busy)
                break;
            pump(s, true, 1.0);
        }
        if (s->spool_n >= before)
            usleep(500000);
        else
            t0 = es_now();
    }
    if (s->cfg.live && s->spool_n)
        log_warn("spool %s keeps %zu requests (%llu bytes) for the next run", s->cfg.spool_dir,
                 s->spool_n, (unsigned long long)s->spool_bytes);
    if (s->dead && fflush(s->dead) != 0)
        log_error("%s: %s", s->cfg.dead_letters, strerror(errno));
    gauges(s);
    return s->fatal ? -1 : 0;
}

static void es_free(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    for (size_t i = 0; i < s->n_reqs; i++) {
        struct req *r = &s->reqs[i];
        if (r->state == REQ_INFLIGHT)
            curl_multi_remove_handle(s->multi, r->h);
        curl_easy_cleanup(r->h);
        curl_slist_free_all(r->hdr);
        buf_fini(&r->body);
        buf_fini(&r->resp);
        buf_fini(&r->gz);
        free(r->items);
    }
    for (size_t i = 0; i < s->n_idx; i++)
        free(s->idx[i].mapped.slots);
    free(s->idx);
    free(s->pending);
    for (size_t i = 0; i < s->n_fdefs; i++)
        free(s->fdefs[i].path);
    free(s->fdefs);
    free(s->spool_seq);
    buf_fini(&s->maps);
    if (s->dead)
        fclose(s->dead);
    curl_multi_cleanup(s->multi);
    es_client_fini(&s->client);
    buf_fini(&s->tmp);
    buf_fini(&s->path);
    buf_fini(&s->resp);
    free(s);
    curl_global_cleanup();
}

static const struct sink_ops es_ops = {
    "elasticsearch", es_begin_source, es_write, es_flush, es_close, es_free, es_tick,
};

struct sink *sink_es_new(const struct sink_es_config *cfg, char *err,
                         size_t errlen)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sink_es *s = xcalloc(1, sizeof *s);
    s->base.ops = &es_ops;
    s->cfg = *cfg;
    if (s->cfg.in_flight < 1)
        s->cfg.in_flight = 1;
    if (s->cfg.in_flight > MAX_INFLIGHT)
        s->cfg.in_flight = MAX_INFLIGHT;
    s->building = SIZE_MAX;
    buf_init(&s->tmp, 4096);
    buf_init(&s->path, 256);
    buf_init(&s->resp, 4096);
    buf_init(&s->maps, 4096);
    s->tries = cfg->live ? 1 : 0;
    if (!es_client_init(&s->client, &cfg->es, err, errlen)) {
        s->multi = curl_multi_init();
        es_free(&s->base);
        return NULL;
    }
    s->multi = curl_multi_init();
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->cfg.in_flight + 1);
    s->n_reqs = s->cfg.in_flight + 1;
    for (size_t i = 0; i < s->n_reqs; i++) {
        s->reqs[i].h = curl_easy_init();
        buf_init(&s->reqs[i].body, 1 << 16);
        buf_init(&s->reqs[i].resp, 1 << 12);
        buf_init(&s->reqs[i].gz, 0);
    }
    if (cfg->es.insecure)
        log_warn("--insecure: TLS certificates are not verified");
    if (!es_client_connect(&s->client)) {
        snprintf(err, errlen, "%s", s->client.error);
        es_free(&s->base);
        return NULL;
    }
    log_info("indexing into %s %s at %s, indices %s-YYYY-MM-DD",
             s->client.engine == ENGINE_OPENSEARCH ? "OpenSearch" : "Elasticsearch",
             s->client.version, s->client.nodes[s->client.answered].shown, cfg->index_prefix);
    if (!install_template(s)) {
        snprintf(err, errlen, "%s", s->base.error);
        es_free(&s->base);
        return NULL;
    }
    if (cfg->live)
        spool_scan(s);
    gauges(s);
    return &s->base;
}
