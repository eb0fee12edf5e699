/* sink_es: documents into Elasticsearch/OpenSearch through _bulk, one index per UTC day.
 *
 * The bulk request life cycle, wiring the parts: the HTTP client sends (and, in file mode,
 * retries for ever); es_admin's lane, on the same multi handle, creates the indices and puts
 * the mappings a request needs before it goes (the request waits for them in memory, or in
 * live mode in the spool: the capture never waits); es_schema says which fields those are;
 * the dead-letter file takes what the engine rejects for good; and in live mode the spool
 * takes what cannot be sent now. Nothing is lost and nothing is silent: every bulk answer is
 * read item by item. Documents are sent as "create" with an _id made of the capture's id,
 * the frame number and the packet's hash, so a request sent again, or a second run, never
 * doubles a packet (409 = already there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../doc/json.h"
#include "../util/log.h"
#include "es_admin.h"
#include "es_bulk.h"
#include "es_deadletter.h"
#include "http_client.h"
#include "sink.h"
#include "sink_es.h"
#include "spool.h"

#define MAX_INFLIGHT 16
#define MIN_BODY 1024 /* what a 413 may teach: requests are never cut smaller */

enum req_state {
    REQ_FREE,
    REQ_BUILDING, /* being filled */
    REQ_WAITING,  /* submitted: waits for its mappings (es_admin) to be put */
    REQ_SENT,     /* the HTTP client's, until its done callback */
    REQ_HELD,     /* the run turned fatal: es_close settles it */
};

/* A bulk request. */
struct req {
    struct http_req http;
    struct sink_es *s;
    enum req_state state;
    struct es_bulk bulk;
    double first_at;
    uint64_t seq;      /* submission order */
    uint64_t maps_seq; /* the es_admin jobs it needs done: every one up to this */
    size_t window;     /* documents per send since a 413 halved it; 0: all */
    size_t good;       /* the last window the node took; 0: all */
    size_t sent_n;     /* documents in the body on the wire */
    char detail[208];  /* the engine's reason for the items sent again, for the warning */
    bool from_spool;   /* read back from the spool: spool_id is its record */
    uint64_t spool_id;
    size_t taken_n;    /* its documents when read back */
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
    uint64_t req_seq;
    size_t max_bytes;    /* --chunk-bytes, or less once a 413 taught better */
    struct buf maps;     /* mapping lines */
    struct buf replay_maps; /* ... of the spool record being replayed */
    struct buf scratch;
    struct es_item_result *res; /* per item of an answer: what became of it */
    bool *keep;                 /* ... and whether to keep it (to send again, or not sent) */
    size_t cap;
    uint64_t lost_seen;  /* spool_lost() already counted */
    /* Live: the spool is replayed from replay_at on. A node that answers but does not take
     * the documents (429, a blocked index, 5xx) is asked again after a pause that doubles
     * up to 30 s, not in a loop; a node that does not answer is set aside by the client. */
    double replay_at, replay_backoff;
    char *auth_header;
    double last_wait_msg, last_spool_msg, last_413_msg, last_big_msg, last_to_spool_msg;
    bool fatal;
};

bool es_nodes_check(const char *nodes, char *err, size_t errlen)
{
    return http_nodes_check(nodes, err, errlen);
}

static void release(struct req *r)
{
    r->from_spool = false;
    r->window = r->good = 0;
    es_bulk_reset(&r->bulk);
    r->state = REQ_FREE;
}

static size_t in_state(const struct sink_es *s, enum req_state st)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_reqs; i++)
        n += s->reqs[i].state == st;
    return n;
}

/* Documents of records the spool lost (vanished, unreadable): taken out of the spool
 * (replayed) and dropped, so that the summary still adds up. */
static void account_lost(struct sink_es *s)
{
    if (!s->spool)
        return;
    uint64_t lost = spool_lost(s->spool);
    s->base.stats.dropped += lost - s->lost_seen;
    s->base.stats.replayed += lost - s->lost_seen;
    s->lost_seen = lost;
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
    s->base.stats.out_of_range = es_schema_out_of_range(s->admin.schema);
}

static void go_fatal(struct sink_es *s, const char *why)
{
    if (!s->fatal)
        snprintf(s->base.error, sizeof s->base.error, "%.*s", (int)sizeof s->base.error - 1, why);
    s->fatal = true;
}

/* What a whole request's failure says: the HTTP status with the engine's reason, or the
 * transport error (curl's words). */
static const char *whole_reason(const struct http_req *h, char *out, size_t outlen)
{
    if (!h->status) {
        snprintf(out, outlen, "%s", h->error);
        return out;
    }
    char why[256];
    es_answer_reason(h->answer.p, h->answer.len, why, sizeof why);
    snprintf(out, outlen, "HTTP %ld%s%s%s", h->status, why[0] ? " (" : "", why,
             why[0] ? ")" : "");
    return out;
}

/* ---- the spool (live mode) ---- */

/* Writes a request to the spool, after the mapping lines its documents need and that are
 * not put yet, or drops it, counted, when the spool is full or cannot be written (the
 * mappings are not lost with it: they stay queued in es_admin until the node takes them,
 * and later documents wait for them). One read back from the spool goes back to its place
 * at the head instead. The request is free afterwards. */
static void to_spool(struct sink_es *s, struct req *r)
{
    size_t n = r->bulk.n;
    struct spool_part parts[3];
    if (!n) {
        if (r->from_spool)
            spool_done(s->spool, r->spool_id);
        release(r);
        return;
    }
    if (r->from_spool) {
        if (n == r->taken_n) {
            spool_release(s->spool, r->spool_id); /* unchanged: the file stays as it is */
        } else {
            /* Its mappings were put before it was sent: the body alone. */
            es_bulk_record(&r->bulk, NULL, 0, parts);
            spool_put_back(s->spool, r->spool_id, parts + 1, 2, (uint32_t)n);
        }
        s->base.stats.replayed -= n; /* it will be replayed again */
        release(r);
        return;
    }
    buf_reset(&s->maps);
    es_admin_pending_lines(&s->admin, r->maps_seq, &s->maps);
    es_bulk_record(&r->bulk, s->maps.p, s->maps.len, parts);
    enum spool_rc rc = spool_push(s->spool, parts, 3, (uint32_t)n);
    double now = http_now();
    if (rc == SPOOL_OK) {
        s->base.stats.spooled += n;
        if (now - s->last_to_spool_msg >= 60 && now - s->last_wait_msg >= 5) {
            log_warn("documents go to the spool %s while the node does not take them (away, "
                     "or slower than the traffic): %zu requests, %llu bytes", spool_dir(s->spool),
                     spool_count(s->spool), (unsigned long long)spool_bytes(s->spool));
            s->last_to_spool_msg = now;
        }
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

/* A live request the node did not take: the spool is the waiting room, replayed once the
 * node answers again, or after a pause when it answered but refused (see replay_at). */
static void spool_failed(struct sink_es *s, struct req *r, const char *why)
{
    double now = http_now();
    const struct http_node *node = http_node(s->http, r->http.node);
    double delay = node->down_until > now ? node->down_until - now : 0;
    if (r->http.status) {
        s->replay_backoff = s->replay_backoff ? s->replay_backoff * 2 : 0.5;
        if (s->replay_backoff > 30)
            s->replay_backoff = 30;
        s->replay_at = now + s->replay_backoff;
        if (s->replay_backoff > delay)
            delay = s->replay_backoff;
    }
    if (now - s->last_wait_msg >= 5) {
        /* "12 documents wait for NODE: TYPE on INDEX; retrying in 2.0 s", then where */
        log_warn("%zu documents wait for %s: %s; retrying in %.1f s (from the spool %s)%s%s%s",
                 r->bulk.n, node->shown, why, delay, spool_dir(s->spool),
                 r->detail[0] ? " (" : "", r->detail, r->detail[0] ? ")" : "");
        s->last_wait_msg = now;
    }
    to_spool(s, r);
}

/* ---- sending ---- */

static void on_done(void *ud, struct http_req *h);
static void on_retry(void *ud, struct http_req *h, double delay);

/* Documents the next send carries: all, or the window a 413 left. */
static size_t window_of(const struct req *r)
{
    return r->window && r->window < r->bulk.n ? r->window : r->bulk.n;
}

/* Points the request's body at the documents of the next send. */
static void set_body(struct req *r)
{
    r->sent_n = window_of(r);
    r->http.body = r->bulk.body.p; /* the first item starts the body */
    r->http.body_len = r->sent_n ? r->bulk.items[r->sent_n - 1].end : 0;
}

static void send_req(struct sink_es *s, struct req *r)
{
    if (s->fatal) {
        r->state = REQ_HELD;
        return;
    }
    struct http_req *h = &r->http;
    h->method = "POST";
    h->path = "/_bulk";
    h->content_type = "application/x-ndjson";
    set_body(r);
    r->detail[0] = '\0'; /* the reason of an answer to this send, once read */
    h->gzip = s->cfg.compress;
    h->max_tries = s->cfg.live ? 1 : 0; /* live: a failure goes to the spool, not to wait */
    h->done = on_done;
    h->on_retry = on_retry;
    h->ud = r;
    r->state = REQ_SENT;
    http_submit(s->http, h);
}

/* The waiting requests whose mappings are put go, oldest first. Live mode never lets one
 * wait for the wire or for a node that is away: those go to the spool. */
static void dispatch(struct sink_es *s)
{
    struct req *w[MAX_INFLIGHT + 1];
    size_t n = 0;
    for (size_t i = 0; i < s->n_reqs; i++)
        if (s->reqs[i].state == REQ_WAITING) {
            size_t k = n++;
            while (k > 0 && w[k - 1]->seq > s->reqs[i].seq) {
                w[k] = w[k - 1];
                k--;
            }
            w[k] = &s->reqs[i];
        }
    uint64_t done = es_admin_done_seq(&s->admin);
    for (size_t i = 0; i < n && !s->fatal; i++) {
        struct req *r = w[i];
        bool ready = r->maps_seq <= done;
        if (!s->cfg.live) {
            if (!ready)
                break; /* the later ones need as much */
            send_req(s, r);
            continue;
        }
        bool usable = http_any_usable(s->http, http_now());
        if (ready && usable && in_state(s, REQ_SENT) < s->cfg.in_flight)
            send_req(s, r);
        else if (ready || !usable)
            to_spool(s, r);
        /* else: its mappings are on their way; it waits in memory */
    }
}

/* ---- the spool, replayed ---- */

/* Loads the oldest spool record into r (a free request): its mapping lines go to es_admin,
 * and it goes once they are put. false if nothing could be loaded. A spool record is the
 * mapping lines its request needs, "B", then the bulk body. */
static bool replay_one(struct sink_es *s, struct req *r)
{
    for (;;) {
        uint64_t id;
        enum spool_rc rc = spool_take(s->spool, &r->bulk.body, &id);
        account_lost(s);
        if (rc != SPOOL_OK) {
            release(r);
            return false;
        }
        if (!es_bulk_from_record(&r->bulk, &s->replay_maps)) {
            log_warn("spool: %s is not a spool file; set aside (.bad), its documents dropped",
                     spool_file(s->spool, id));
            spool_set_aside(s->spool, id);
            account_lost(s);
            release(r);
            continue;
        }
        if (!r->bulk.n) {
            spool_done(s->spool, id);
            release(r);
            continue;
        }
        s->base.stats.replayed += r->bulk.n;
        r->from_spool = true;
        r->spool_id = id;
        r->taken_n = r->bulk.n;
        r->maps_seq = es_admin_queue(&s->admin, s->replay_maps.p, s->replay_maps.len);
        r->seq = ++s->req_seq;
        r->state = REQ_WAITING;
        dispatch(s);
        return true;
    }
}

/* Sends what the spool holds while a node takes it and the wire has room, keeping a
 * request free for the documents that keep coming. */
static void replay(struct sink_es *s)
{
    while (!s->fatal && spool_waiting(s->spool) && in_state(s, REQ_SENT) < s->cfg.in_flight &&
           in_state(s, REQ_FREE) > 1 && http_now() >= s->replay_at &&
           http_any_usable(s->http, http_now())) {
        struct req *r = NULL;
        for (size_t i = 0; i < s->n_reqs && !r; i++)
            if (s->reqs[i].state == REQ_FREE)
                r = &s->reqs[i];
        if (!replay_one(s, r))
            return;
    }
}

/* Moves transfers and the mapping lane on, then what waited for them. */
static void pump(struct sink_es *s, double max_wait)
{
    http_pump(s->http, max_wait);
    if (s->admin.fatal)
        go_fatal(s, s->admin.error);
    dispatch(s);
    if (s->cfg.live)
        replay(s);
}

/* ---- answers ---- */

static void on_retry(void *ud, struct http_req *h, double delay)
{
    struct req *r = ud;
    struct sink_es *s = r->s;
    s->base.stats.retried += window_of(r);
    double now = http_now();
    if (now - s->last_wait_msg < 5)
        return;
    s->last_wait_msg = now;
    char why[400];
    bool items = h->status == 200; /* our words: the items to send again */
    if (items || h->status == 403)  /* ... or a block */
        snprintf(why, sizeof why, "%s", h->error);
    else
        whole_reason(h, why, sizeof why);
    /* "12 documents wait for NODE: TYPE on INDEX; retrying in 2.0 s", then the reason */
    log_warn("%zu documents wait for %s: %s; retrying in %.1f s%s%s%s", r->bulk.n,
             http_node(s->http, h->node)->shown, why, delay,
             items && r->detail[0] ? " (" : "", items ? r->detail : "",
             items && r->detail[0] ? ")" : "");
}

/* What can succeed later: file mode sends it again after a backoff, live mode spools. */
static void again_later(struct sink_es *s, struct req *r, const char *why)
{
    if (s->fatal) {
        r->state = REQ_HELD;
        return;
    }
    set_body(r); /* the body may have lost the items already settled */
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
        char why[600];
        snprintf(why, sizeof why,
                 "%s; the documents the node rejected are lost (counted as rejected)",
                 es_deadletter_error(s->dead));
        go_fatal(s, why);
    }
}

static void grow_results(struct sink_es *s, size_t n)
{
    if (s->cap >= n)
        return;
    s->cap = n;
    s->res = xrealloc(s->res, n * sizeof *s->res);
    s->keep = xrealloc(s->keep, n * sizeof *s->keep);
}

/* Drops the first n items (settled), keeps the rest. */
static void drop_first(struct sink_es *s, struct req *r, size_t n)
{
    grow_results(s, r->bulk.n);
    for (size_t i = 0; i < r->bulk.n; i++)
        s->keep[i] = i >= n;
    es_bulk_keep(&r->bulk, s->keep);
}

/* The documents sent are settled: the next window, or the request is done. */
static void next_or_done(struct sink_es *s, struct req *r)
{
    if (r->bulk.n) {
        send_req(s, r);
        return;
    }
    if (r->from_spool)
        spool_done(s->spool, r->spool_id);
    s->replay_backoff = 0; /* the node takes documents again */
    release(r);
}

static void answered(struct sink_es *s, struct req *r, struct http_req *h)
{
    size_t n = r->sent_n, again = 0;
    grow_results(s, r->bulk.n);
    if (!es_bulk_answer(h->answer.p, h->answer.len, n, s->res)) {
        r->detail[0] = '\0';
        again_later(s, r, "an unreadable _bulk answer");
        return;
    }
    if (r->window)
        r->good = r->window;
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
    for (size_t i = n; i < r->bulk.n; i++)
        s->keep[i] = true; /* not sent yet */
    char why[400] = "";
    if (again) /* (before keeping: the reasons point into the items) */
        es_bulk_again_reason(&r->bulk, s->res, n, why, sizeof why, r->detail, sizeof r->detail);
    if (again < n)
        es_bulk_keep(&r->bulk, s->keep);
    if (again) {
        again_later(s, r, why);
        return;
    }
    next_or_done(s, r);
}

/* 413: the request is too large for the node (http.max_content_length) or a proxy in front
 * of it (nginx's client_max_body_size): sent again in halves, down to one document; one
 * document still too large is a dead letter. Later requests are cut smaller. */
static void too_large(struct sink_es *s, struct req *r, struct http_req *h)
{
    size_t n = r->sent_n;
    double now = http_now();
    bool say = now - s->last_413_msg >= 5;
    if (n <= 1) {
        if (now - s->last_big_msg >= 5) {
            s->last_big_msg = now;
            log_warn("%s refused a single document of %zu bytes as too large (HTTP 413): it "
                     "goes to the dead-letter file", http_node(s->http, h->node)->shown,
                     h->body_len);
        }
        dead_letter(s, r, 0, 413, h->answer.p, h->answer.len);
        drop_first(s, r, 1);
        r->window = r->good; /* the rest as the node took them before */
        say = false;
    } else {
        size_t smaller = h->body_len / 2 < MIN_BODY ? MIN_BODY : h->body_len / 2;
        if (smaller < s->max_bytes)
            s->max_bytes = smaller;
        if (say)
            log_warn("%s refused %zu documents (%zu bytes) as too large (HTTP 413): sending them "
                     "in halves; requests of at most %zu bytes from now on",
                     http_node(s->http, h->node)->shown, n, h->body_len, s->max_bytes);
        r->window = (n + 1) / 2;
    }
    if (say)
        s->last_413_msg = now;
    next_or_done(s, r);
}

static void on_done(void *ud, struct http_req *h)
{
    struct req *r = ud;
    struct sink_es *s = r->s;
    char why[400];
    if (h->outcome == HTTP_GAVE_UP) { /* live mode: file mode never gives up */
        spool_failed(s, r, whole_reason(h, why, sizeof why));
        return;
    }
    long st = h->status;
    const char *ans = h->answer.p ? h->answer.p : "";
    if (st == 200) {
        answered(s, r, h);
    } else if (st == 413) {
        too_large(s, r, h);
    } else if (st == 401 || (st == 403 && !es_answer_blocked(ans, h->answer.len))) {
        snprintf(why, sizeof why, "%s refused the credentials (HTTP %ld) during the run",
                 http_node(s->http, h->node)->shown, st);
        go_fatal(s, why);
        r->state = REQ_HELD;
    } else if (st == 403) {
        /* The whole request blocked (a full disk): wait until someone frees space. */
        again_later(s, r, whole_reason(h, why, sizeof why));
    } else {
        /* The documents sent refused for good (400, 404, ...): dead letters. */
        for (size_t i = 0; i < r->sent_n; i++)
            dead_letter(s, r, i, (int)st, h->answer.p, h->answer.len);
        drop_first(s, r, r->sent_n);
        next_or_done(s, r);
    }
}

/* ---- submitting ---- */

static struct req *free_req(struct sink_es *s)
{
    for (;;) {
        for (size_t i = 0; i < s->n_reqs; i++)
            if (s->reqs[i].state == REQ_FREE)
                return &s->reqs[i];
        if (s->fatal)
            return NULL;
        pump(s, 1.0);
    }
}

/* Hands the request being built on: its new fields' mappings go to es_admin's lane, and it
 * waits for them (and for every mapping queued before: its documents may carry those
 * fields too). File mode waits in memory (and the next document waits for a free request);
 * live mode never waits: what cannot go, or wait in a spare request, goes to the spool. */
static void submit(struct sink_es *s)
{
    if (s->building == SIZE_MAX)
        return;
    struct req *r = &s->reqs[s->building];
    s->building = SIZE_MAX;
    buf_reset(&s->maps);
    es_schema_take_pending(s->admin.schema, &s->maps);
    r->maps_seq = es_admin_queue(&s->admin, s->maps.p, s->maps.len);
    if (!r->bulk.n) {
        release(r);
        return;
    }
    r->seq = ++s->req_seq;
    r->state = REQ_WAITING;
    if (s->cfg.live) {
        bool ready = r->maps_seq <= es_admin_done_seq(&s->admin);
        if (spool_waiting(s->spool) || !http_any_usable(s->http, http_now()) ||
            (ready && in_state(s, REQ_SENT) >= s->cfg.in_flight) ||
            (!ready && in_state(s, REQ_FREE) < 1)) {
            /* Behind the spool, unreachable, slower than the traffic, or no room to wait:
             * keep order, and keep a request free for the capture. */
            to_spool(s, r);
            replay(s);
            return;
        }
    }
    dispatch(s);
    http_pump(s->http, 0);
}

/* ---- the end ---- */

static uint64_t progress(const struct sink_es *s)
{
    const struct sink_stats *k = &s->base.stats;
    return k->written + k->already + k->dead_lettered + k->dropped + k->spooled + k->replayed +
           es_admin_done_seq(&s->admin) + (s->spool ? spool_count(s->spool) : 0);
}

/* Live: what the node did not take goes to the spool, for the next run: the requests
 * waiting or under way (with the mapping lines they need), those read back from the spool
 * back to their place. */
static void park(struct sink_es *s)
{
    es_admin_cancel(&s->admin);
    for (size_t i = 0; i < s->n_reqs; i++) {
        struct req *r = &s->reqs[i];
        if (r->state == REQ_SENT)
            http_cancel(s->http, &r->http);
        if (r->state != REQ_FREE)
            to_spool(s, r);
    }
}

/* A fatal end in file mode: every document not confirmed (waiting, under way) is counted
 * and dead-lettered, saying why; nothing is left unaccounted for. */
static void dead_letter_the_rest(struct sink_es *s)
{
    es_admin_cancel(&s->admin);
    struct buf *e = &s->scratch;
    buf_reset(e);
    buf_adds(e, "{\"type\":\"not_delivered\",\"reason\":");
    json_str(e, s->base.error, strlen(s->base.error), 0);
    buf_addc(e, '}');
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_reqs; i++) {
        struct req *r = &s->reqs[i];
        if (r->state == REQ_SENT)
            http_cancel(s->http, &r->http);
        if (r->state == REQ_FREE)
            continue;
        for (size_t k = 0; k < r->bulk.n; k++)
            dead_letter(s, r, k, 0, e->p, e->len);
        n += r->bulk.n;
        release(r);
    }
    if (n)
        log_error("%llu documents not confirmed by the node when the run ended are counted as "
                  "rejected and written to %s", (unsigned long long)n,
                  es_deadletter_path(s->dead));
}

static void close_file(struct sink_es *s)
{
    while (!s->fatal && (in_state(s, REQ_FREE) < s->n_reqs || es_admin_waiting(&s->admin)))
        pump(s, 1.0);
}

/* Live: delivers what it can, the spool included, while the node takes it; a node in its
 * backoff (and the mapping lane's retry) gets one more chance; gives up after 10 s without
 * progress. */
static void close_live(struct sink_es *s)
{
    http_hurry(s->http);
    s->replay_at = 0;
    double t0 = http_now();
    uint64_t mark = progress(s);
    while (!s->fatal) {
        replay(s);
        bool busy = in_state(s, REQ_FREE) < s->n_reqs || spool_waiting(s->spool) ||
                    es_admin_waiting(&s->admin);
        double now = http_now();
        if (!busy || now - t0 >= 10)
            break;
        http_nodes_forgive(s->http, 10 - (now - t0));
        pump(s, 0.5);
        if (progress(s) != mark) {
            mark = progress(s);
            t0 = http_now();
        }
    }
    park(s);
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
        return -1; /* not taken: not counted as a document */
    struct es_schema *sc = s->admin.schema;
    uint32_t ix = es_schema_index(sc, info->ts_sec);
    es_schema_define(sc, info->defs, info->n_defs);
    if (s->building == SIZE_MAX) {
        struct req *r = free_req(s);
        if (!r)
            return -1;
        r->state = REQ_BUILDING;
        r->first_at = http_now();
        s->building = (size_t)(r - s->reqs);
    }
    /* New fields are mapped when the request goes, before any document carrying them. */
    es_schema_note(sc, ix, info->fields, info->n_fields);
    struct req *r = &s->reqs[s->building];
    es_bulk_add(&r->bulk, es_schema_index_name(sc, ix), info->source_id, info->frame_number,
                info->packet_hash, doc, len);
    if (r->bulk.n >= s->cfg.chunk || r->bulk.body.len >= s->max_bytes)
        submit(s);
    else if ((r->bulk.n & 63) == 0)
        pump(s, 0);
    refresh_stats(s);
    return 0; /* taken; a fatal end that came meanwhile is seen by the next call */
}

static int es_tick(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    if (s->building != SIZE_MAX &&
        http_now() - s->reqs[s->building].first_at >= s->cfg.flush_interval)
        submit(s);
    pump(s, 0);
    refresh_stats(s);
    return s->fatal ? -1 : 0;
}

static int es_close(struct sink *base)
{
    struct sink_es *s = (struct sink_es *)base;
    submit(s);
    if (s->cfg.live)
        close_live(s);
    else
        close_file(s);
    if (s->fatal) {
        /* What is on the wire gets its answer first (for at most 10 s): what the node
         * confirms is not a dead letter. */
        for (double t0 = http_now(); http_active(s->http) && http_now() - t0 < 10;)
            http_pump(s->http, 0.5);
        if (s->cfg.live)
            park(s); /* the spool keeps them for a run that can deliver them */
        else
            dead_letter_the_rest(s);
    }
    account_lost(s);
    if (s->cfg.live && spool_count(s->spool))
        log_warn("spool %s keeps %zu requests (%llu bytes) for the next run",
                 spool_dir(s->spool), spool_count(s->spool),
                 (unsigned long long)spool_bytes(s->spool));
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
    buf_fini(&s->scratch);
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
    s->max_bytes = s->cfg.chunk_bytes ? s->cfg.chunk_bytes : (size_t)8 << 20;
    buf_init(&s->maps, 4096);
    buf_init(&s->replay_maps, 1024);
    buf_init(&s->scratch, 512);
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
        .max_active = s->cfg.in_flight + 1, /* the bulk requests, and the mapping lane */
    };
    s->http = http_client_new(&hc, err, errlen);
    if (!s->http)
        goto fail;
    es_admin_init(&s->admin, s->http);
    s->dead = es_deadletter_new(cfg->dead_letters);
    /* The spool first: a folder that may not hold packet data is refused before the node
     * is waited for. */
    if (cfg->live) {
        char why[400];
        s->spool = spool_open(cfg->spool_dir, cfg->spool_max, why, sizeof why);
        if (!s->spool) {
            snprintf(err, errlen, "spool %s: %s", cfg->spool_dir, why);
            goto fail;
        }
        if (spool_count(s->spool))
            log_info("spool %s: %zu requests (%llu bytes) left by an earlier run will be "
                     "delivered", cfg->spool_dir, spool_count(s->spool),
                     (unsigned long long)spool_bytes(s->spool));
    }
    if (cfg->es.insecure)
        log_warn("--insecure: TLS certificates are not verified");
    if (!es_admin_connect(&s->admin, cfg->index_prefix, cfg->es.start_wait, cfg->es.stop, err,
                          errlen))
        goto fail;
    es_schema_set_rules(s->admin.schema, &cfg->indices);
    log_info("indexing into %s %s at %s, indices %s%s",
             es_engine_name(&s->admin.engine), s->admin.engine.version,
             http_node(s->http, s->admin.answered)->shown, cfg->index_prefix,
             es_interval_pattern(cfg->indices.interval));
    if (!es_admin_template(&s->admin, err, errlen))
        goto fail;
    return &s->base;
fail:
    es_free(&s->base);
    return NULL;
}
