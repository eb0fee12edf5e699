/* sink_es: documents into Elasticsearch/OpenSearch through _bulk, one index per UTC day.
 *
 * The bulk request life cycle, wiring the parts: the HTTP client sends (and, in file mode,
 * retries for ever), es_admin puts what a request needs mapped before it goes, es_schema
 * says which fields those are, the dead-letter file takes what the engine rejects for good,
 * and in live mode the spool takes what cannot be sent now. Nothing is lost and nothing is
 * silent: every bulk answer is read item by item. Documents are sent as "create" with an
 * _id made of the capture's id, the frame number and the packet's hash, so a request sent
 * again, or a second run, never doubles a packet (409 = already there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "es_admin.h"
#include "es_bulk.h"
#include "es_deadletter.h"
#include "http_client.h"
#include "sink.h"
#include "sink_es.h"
#include "spool.h"

#define MAX_INFLIGHT 16

enum req_state { REQ_FREE, REQ_BUILDING, REQ_SENT };

/* A bulk request: being filled, or the HTTP client's until its done callback. */
struct req {
    struct http_req http;
    struct sink_es *s;
    enum req_state state;
    struct es_bulk bulk;
    double first_at;
    bool from_spool; /* read back from the spool: spool_id is its record */
    uint64_t spool_id;
};

struct sink_es {
    struct sink base;
    struct sink_es_config cfg;
    struct http_client *http;
    struct es_admin admin;
    struct es_deadletter *dead;
    struct spool *spool; /* live mode only */
    struct req reqs[MAX_INFLIGHT + 1];
    size_t n_reqs;
    size_t building;     /* the request being filled, or SIZE_MAX */
    struct buf maps;     /* mapping lines of the request being sent */
    struct buf replay_maps; /* ... of the spool record being replayed */
    struct es_item_result *res; /* per item of an answer: what became of it */
    bool *keep;                 /* ... and whether to send it again */
    size_t cap;
    char *auth_header;
    double last_wait_msg, last_spool_msg;
    bool fatal;
};

bool es_nodes_check(const char *nodes, char *err, size_t errlen)
{
    return http_nodes_check(nodes, err, errlen);
}

static void release(struct req *r)
{
    r->from_spool = false;
    es_bulk_reset(&r->bulk);
    r->state = REQ_FREE;
}

/* The gauges, and bytes sent, brought up to date before returning to the caller. */
static void refresh_stats(struct sink_es *s)
{
    uint64_t pending = 0;
    for (size_t i = 0; i < s->n_reqs; i++)
        pending += s->reqs[i].bulk.n;
    s->base.stats.pending = pending;
    s->base.stats.spool_bytes = s->spool ? spool_bytes(s->spool) : 0;
    s->base.stats.bytes = http_bytes_out(s->http);
}

/* ---- the spool (live mode) ---- */

/* Writes a request (after the mappings it needs) to the spool, or drops it, counted, when
 * the spool is full or cannot be written. One read back from the spool goes back to its
 * place at the head instead. The request is free afterwards. */
static void to_spool(struct sink_es *s, struct req *r, const char *maps, size_t maps_len)
{
    size_t n = r->bulk.n;
    struct spool_part parts[3];
    es_bulk_record(&r->bulk, maps, maps_len, parts);
    if (!n) {
        release(r);
        return;
    }
    if (r->from_spool) {
        spool_put_back(s->spool, r->spool_id, parts + 1, 2);
        s->base.stats.replayed -= n; /* it will be replayed again */
        release(r);
        return;
    }
    enum spool_rc rc = spool_push(s->spool, parts, 3);
    double now = http_now();
    if (rc == SPOOL_OK) {
        s->base.stats.spooled += n;
    } else if (rc == SPOOL_FULL) {
        s->base.stats.dropped += n;
        if (now - s->last_spool_msg >= 5) {
            log_warn("spool %s is full (%llu of %llu bytes): dropped %zu documents (%llu so far)",
                     spool_dir(s->spool), (unsigned long long)spool_bytes(s->spool),
                     (unsigned long long)spool_max(s->spool), n,
                     (unsigned long long)s->base.stats.dropped);
            s->last_spool_msg = now;
        }
    } else {
        log_error("spool %s: %s; dropped %zu documents", spool_dir(s->spool),
                  spool_error(s->spool), n);
        s->base.stats.dropped += n;
    }
    release(r);
}

/* A live request the node did not take: the spool is the waiting room. */
static void spool_failed(struct sink_es *s, struct req *r, const char *why)
{
    double now = http_now();
    if (now - s->last_wait_msg >= 5) {
        log_warn("%s: %s; documents go to the spool %s until it answers",
                 http_node(s->http, r->http.node)->shown, why, spool_dir(s->spool));
        s->last_wait_msg = now;
    }
    to_spool(s, r, NULL, 0);
}

static void on_done(void *ud, struct http_req *h);
static void on_retry(void *ud, struct http_req *h, double delay);

static void send_req(struct sink_es *s, struct req *r)
{
    struct http_req *h = &r->http;
    h->method = "POST";
    h->path = "/_bulk";
    h->content_type = "application/x-ndjson";
    h->body = r->bulk.body.p;
    h->body_len = r->bulk.body.len;
    h->gzip = s->cfg.compress;
    h->max_tries = s->cfg.live ? 1 : 0; /* live: a failure goes to the spool, not to wait */
    h->done = on_done;
    h->on_retry = on_retry;
    h->ud = r;
    r->state = REQ_SENT;
    http_submit(s->http, h);
}

/* Loads the oldest spool record into r (a free request) and sends it. false if nothing
 * could be sent now (the record stays first in line). A spool record is the mapping lines
 * its request needs, "B", then the bulk body. */
static bool replay_one(struct sink_es *s, struct req *r)
{
    for (;;) {
        uint64_t id;
        if (spool_take(s->spool, &r->bulk.body, &id) != SPOOL_OK)
            return false;
        if (!es_bulk_from_record(&r->bulk, &s->replay_maps)) {
            log_warn("spool: %s is not a spool file; left aside", spool_file(s->spool, id));
            spool_set_aside(s->spool, id);
            release(r);
            continue;
        }
        if (!es_admin_apply(&s->admin, s->replay_maps.p, s->replay_maps.len)) {
            spool_release(s->spool, id);
            release(r);
            return false;
        }
        if (!r->bulk.n) {
            spool_done(s->spool, id);
            release(r);
            continue;
        }
        s->base.stats.replayed += r->bulk.n;
        r->from_spool = true;
        r->spool_id = id;
        send_req(s, r);
        return true;
    }
}

/* Sends what the spool holds while a node takes it and a request is free. */
static void replay(struct sink_es *s)
{
    while (spool_waiting(s->spool) && http_active(s->http) < s->cfg.in_flight) {
        if (!http_any_usable(s->http, http_now()))
            return;
        struct req *r = NULL;
        for (size_t i = 0; i < s->n_reqs && !r; i++)
            if (s->reqs[i].state == REQ_FREE)
                r = &s->reqs[i];
        if (!r || !replay_one(s, r))
            return;
    }
}

/* ---- answers ---- */

static void on_retry(void *ud, struct http_req *h, double delay)
{
    struct req *r = ud;
    struct sink_es *s = r->s;
    s->base.stats.retried += r->bulk.n;
    double now = http_now();
    if (now - s->last_wait_msg >= 5) {
        log_warn("%zu documents wait for %s: %s; retrying in %.1f s", r->bulk.n,
                 http_node(s->http, h->node)->shown, h->error, delay);
        s->last_wait_msg = now;
    }
}

/* What can succeed later: file mode sends it again after a backoff, live mode spools. */
static void again_later(struct sink_es *s, struct req *r, const char *why)
{
    /* The body may have lost the items already settled. */
    r->http.body = r->bulk.body.p;
    r->http.body_len = r->bulk.body.len;
    if (!http_retry(s->http, &r->http, why))
        spool_failed(s, r, why);
}

static void dead_letter(struct sink_es *s, struct req *r, size_t i, int status, const char *err,
                        size_t errlen)
{
    struct jspan action = es_bulk_action(&r->bulk, i), doc = es_bulk_doc(&r->bulk, i);
    s->base.stats.dead_lettered++;
    if (!es_deadletter_write(s->dead, action.p, action.n, status, err, errlen, doc.p, doc.n) &&
        !s->fatal) {
        snprintf(s->base.error, sizeof s->base.error,
                 "%s; the documents the node rejected are lost (counted as rejected)",
                 es_deadletter_error(s->dead));
        s->fatal = true;
    }
}

static void on_done(void *ud, struct http_req *h)
{
    struct req *r = ud;
    struct sink_es *s = r->s;
    if (h->outcome == HTTP_GAVE_UP) {
        spool_failed(s, r, h->error); /* live mode: file mode never gives up */
        return;
    }
    if (h->status == 200) {
        size_t n = r->bulk.n, again = 0;
        if (s->cap < n) {
            s->cap = n;
            s->res = xrealloc(s->res, n * sizeof *s->res);
            s->keep = xrealloc(s->keep, n * sizeof *s->keep);
        }
        if (!es_bulk_answer(h->answer.p, h->answer.len, n, s->res)) {
            again_later(s, r, "an unreadable _bulk answer");
            return;
        }
        for (size_t i = 0; i < n; i++) {
            const struct es_item_result *it = &s->res[i];
            s->keep[i] = it->fate == ES_AGAIN;
            again += s->keep[i];
            if (it->fate == ES_INDEXED)
                s->base.stats.written++;
            else if (it->fate == ES_ALREADY)
                s->base.stats.already++;
            else if (it->fate == ES_REJECTED)
                dead_letter(s, r, i, it->status, it->error.n ? it->error.p : "", it->error.n);
        }
        if (again) {
            es_bulk_keep(&r->bulk, s->keep);
            again_later(s, r, "documents answered 429 or 5xx");
            return;
        }
    } else if (h->status == 401 || h->status == 403) {
        snprintf(s->base.error, sizeof s->base.error,
                 "%s refused the credentials (HTTP %ld) during the run",
                 http_node(s->http, h->node)->shown, h->status);
        s->fatal = true;
        for (size_t i = 0; i < r->bulk.n; i++)
            dead_letter(s, r, i, (int)h->status, h->answer.p, h->answer.len);
    } else {
        /* The whole request refused (400, 404, 413, ...): its documents are dead letters. */
        for (size_t i = 0; i < r->bulk.n; i++)
            dead_letter(s, r, i, (int)h->status, h->answer.p, h->answer.len);
    }
    if (r->from_spool)
        spool_done(s->spool, r->spool_id);
    release(r);
}

/* ---- sending ---- */

static struct req *free_req(struct sink_es *s)
{
    for (;;) {
        for (size_t i = 0; i < s->n_reqs; i++)
            if (s->reqs[i].state == REQ_FREE)
                return &s->reqs[i];
        http_pump(s->http, 1.0);
    }
}

/* Sends the request being built, its new fields mapped first. File mode queues it in the
 * client (and the next document waits for a free request); live mode never waits: what
 * cannot go now goes to the spool. */
static void submit(struct sink_es *s)
{
    if (s->building == SIZE_MAX)
        return;
    struct req *r = &s->reqs[s->building];
    s->building = SIZE_MAX;
    buf_reset(&s->maps);
    es_schema_take_pending(s->admin.schema, &s->maps);
    if (!r->bulk.n) {
        release(r);
        return;
    }
    if (s->cfg.live) {
        if (spool_waiting(s->spool) || http_active(s->http) >= s->cfg.in_flight ||
            !http_any_usable(s->http, http_now()) ||
            !es_admin_apply(&s->admin, s->maps.p, s->maps.len)) {
            /* Behind the spool, slower than the traffic, or unreachable: keep order. */
            to_spool(s, r, s->maps.p, s->maps.len);
            replay(s);
            return;
        }
    } else {
        es_admin_apply(&s->admin, s->maps.p, s->maps.len);
    }
    send_req(s, r);
    http_pump(s->http, 0);
}

/* ---- the sink interface ---- */

/* Before a live capture gives up root: the dead-letter file is opened now, and the spool
 * folder (with the records an earlier run left) is handed to the user the capture becomes,
 * who writes and removes records from then on. */
static int es_before_drop(struct sink *base, unsigned uid, unsigned gid)
{
    struct sink_es *s = (struct sink_es *)base;
    if (!es_deadletter_open(s->dead)) {
        snprintf(base->error, sizeof base->error, "%s", es_deadletter_error(s->dead));
        return -1;
    }
    if (s->spool && !spool_give(s->spool, (uid_t)uid, (gid_t)gid)) {
        snprintf(base->error, sizeof base->error, "spool %s: %s", spool_dir(s->spool),
                 spool_error(s->spool));
        return -1;
    }
    return 0;
}

static int es_write(struct sink *base, const char *doc, size_t len, const struct doc_info *info)
{
    struct sink_es *s = (struct sink_es *)base;
    if (s->fatal)
        return -1;
    struct es_schema *sc = s->admin.schema;
    uint32_t ix = es_schema_index(sc, info->ts_sec);
    es_schema_define(sc, info->defs, info->n_defs);
    /* New fields are mapped when the request goes, before any document carrying them. */
    es_schema_note(sc, ix, info->fields, info->n_fields);
    if (s->building == SIZE_MAX) {
        struct req *r = free_req(s);
        r->state = REQ_BUILDING;
        r->first_at = http_now();
        s->building = (size_t)(r - s->reqs);
    }
    struct req *r = &s->reqs[s->building];
    es_bulk_add(&r->bulk, es_schema_index_name(sc, ix), info->source_id, info->frame_number,
                info->packet_hash, doc, len);
    if (r->bulk.n >= s->cfg.chunk || r->bulk.body.len >= s->cfg.chunk_bytes)
        submit(s);
    else if ((r->bulk.n & 63) == 0)
        http_pump(s->http, 0);
    refresh_stats(s);
    return s->fatal ? -1 : 0;
}

static int es_tick(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    if (s->building != SIZE_MAX &&
        http_now() - s->reqs[s->building].first_at >= s->cfg.flush_interval)
        submit(s);
    http_pump(s->http, 0);
    if (s->cfg.live)
        replay(s);
    refresh_stats(s);
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
        if (!http_outstanding(s->http) || s->fatal)
            break;
        http_pump(s->http, 1.0);
    }
    /* Live: a node that was set aside a moment ago gets one more chance before the spool is
     * left for the next run, for at most 10 s without progress. */
    for (double t0 = http_now();
         s->cfg.live && spool_waiting(s->spool) && !s->fatal && http_now() - t0 < 10;) {
        size_t before = spool_waiting(s->spool);
        http_nodes_forgive(s->http, 10 - (http_now() - t0));
        replay(s);
        while (http_active(s->http))
            http_pump(s->http, 1.0);
        if (spool_waiting(s->spool) >= before)
            usleep(500000);
        else
            t0 = http_now();
    }
    if (s->cfg.live && spool_count(s->spool))
        log_warn("spool %s keeps %zu requests (%llu bytes) for the next run",
                 spool_dir(s->spool), spool_count(s->spool),
                 (unsigned long long)spool_bytes(s->spool));
    if (!es_deadletter_flush(s->dead))
        log_error("%s", es_deadletter_error(s->dead));
    refresh_stats(s);
    return s->fatal ? -1 : 0;
}

static void es_free(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    for (size_t i = 0; i < s->n_reqs; i++) {
        struct req *r = &s->reqs[i];
        if (s->http)
            http_cancel(s->http, &r->http); /* a spool record it held stays on disk */
        http_req_fini(&r->http);
        es_bulk_fini(&r->bulk);
    }
    es_deadletter_free(s->dead);
    spool_free(s->spool);
    es_admin_fini(&s->admin);
    http_client_free(s->http);
    buf_fini(&s->maps);
    buf_fini(&s->replay_maps);
    free(s->res);
    free(s->keep);
    free(s->auth_header);
    free(s);
}

static int es_flush(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    submit(s);
    refresh_stats(s);
    return s->fatal ? -1 : 0;
}

static const struct sink_ops es_ops = {
    .name = "elasticsearch",
    .before_drop = es_before_drop,
    .write = es_write,
    .flush = es_flush,
    .close = es_close,
    .free = es_free,
    .tick = es_tick,
};

struct sink *sink_es_new(const struct sink_es_config *cfg, char *err, size_t errlen)
{
    struct sink_es *s = xcalloc(1, sizeof *s);
    s->base.ops = &es_ops;
    s->cfg = *cfg;
    if (s->cfg.in_flight < 1)
        s->cfg.in_flight = 1;
    if (s->cfg.in_flight > MAX_INFLIGHT)
        s->cfg.in_flight = MAX_INFLIGHT;
    s->building = SIZE_MAX;
    buf_init(&s->maps, 4096);
    buf_init(&s->replay_maps, 1024);
    s->n_reqs = s->cfg.in_flight + 1;
    for (size_t i = 0; i < s->n_reqs; i++) {
        http_req_init(&s->reqs[i].http);
        es_bulk_init(&s->reqs[i].bulk);
        s->reqs[i].s = s;
    }
    if (cfg->es.api_key) {
        struct buf h;
        buf_init(&h, 64);
        buf_printf(&h, "ApiKey %s", cfg->es.api_key);
        s->auth_header = h.p;
    }
    struct http_config hc = {
        .nodes = cfg->es.nodes,
        .user = cfg->es.user,
        .password = cfg->es.password,
        .authorization = s->auth_header,
        .cacert = cfg->es.cacert,
        .insecure = cfg->es.insecure,
        .max_active = s->cfg.in_flight,
    };
    s->http = http_client_new(&hc, err, errlen);
    if (!s->http)
        goto fail;
    es_admin_init(&s->admin, s->http, cfg->live ? 1 : 0);
    s->dead = es_deadletter_new(cfg->dead_letters);
    if (cfg->es.insecure)
        log_warn("--insecure: TLS certificates are not verified");
    if (!es_admin_connect(&s->admin, cfg->index_prefix, cfg->es.start_wait, cfg->es.stop, err,
                          errlen))
        goto fail;
    log_info("indexing into %s %s at %s, indices %s-YYYY-MM-DD",
             es_engine_name(&s->admin.engine), s->admin.engine.version,
             http_node(s->http, s->admin.answered)->shown, cfg->index_prefix);
    if (!es_admin_template(&s->admin, err, errlen))
        goto fail;
    if (cfg->live) {
        s->spool = spool_open(cfg->spool_dir, cfg->spool_max);
        if (spool_count(s->spool))
            log_info("spool %s: %zu requests (%llu bytes) left by an earlier run will be "
                     "delivered", cfg->spool_dir, spool_count(s->spool),
                     (unsigned long long)spool_bytes(s->spool));
    }
    return &s->base;
fail:
    es_free(&s->base);
    return NULL;
}
