/* es_admin: engine detection, the index template (at start-up), and the asynchronous lane
 * that creates daily indices and puts mappings while documents flow. */
#include "es_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/strset.h"
#include "es_bulk.h"

enum step_kind {
    STEP_CREATE, /* PUT /<index> {} */
    STEP_MAP,    /* PUT /<index>/_mapping: a line of a job (line is its text) */
    STEP_BASE,   /* ... the top-level mappings, for an index made before the template */
    STEP_ONE,    /* ... one field alone, after a clash */
};

struct admin_step {
    enum step_kind kind;
    char *index;
    char *line;       /* STEP_MAP: the job's line, remembered once put; else NULL */
    struct buf body;
    struct jspan key, value; /* STEP_ONE: the field and its mapping, in body */
};

struct admin_job {
    uint64_t seq;
    struct buf lines;
};

static void on_done(void *ud, struct http_req *h);
static void on_retry(void *ud, struct http_req *h, double delay);

void es_admin_init(struct es_admin *a, struct http_client *http)
{
    memset(a, 0, sizeof *a);
    a->http = http;
    a->created = strset_new();
    a->applied = strset_new();
    http_req_init(&a->req);
    buf_init(&a->path, 256);
    buf_init(&a->answer, 4096);
    buf_init(&a->scratch, 1024);
}

static void step_fini(struct admin_step *st)
{
    free(st->index);
    free(st->line);
    buf_fini(&st->body);
}

static void step_free(struct admin_step *st)
{
    if (!st)
        return;
    step_fini(st);
    free(st);
}

void es_admin_fini(struct es_admin *a)
{
    if (a->http)
        http_cancel(a->http, &a->req);
    if (a->created) /* initialised */
        http_req_fini(&a->req);
    step_free(a->cur);
    for (size_t i = 0; i < a->n_steps; i++)
        step_fini(&a->steps[i]);
    free(a->steps);
    for (size_t i = 0; i < a->n_jobs; i++)
        buf_fini(&a->jobs[i].lines);
    free(a->jobs);
    es_schema_free(a->schema);
    strset_free(a->created);
    strset_free(a->applied);
    buf_fini(&a->path);
    buf_fini(&a->answer);
    buf_fini(&a->scratch);
    memset(a, 0, sizeof *a);
}

bool es_admin_connect(struct es_admin *a, const char *prefix, double wait,
                      volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    size_t node = 0;
    long st = http_wait_ready(a->http, "/", wait, stop, &a->answer, &node);
    const char *who = st >= 0 ? http_node(a->http, node)->shown : "";
    if (st == 401 || st == 403) {
        snprintf(err, errlen, "%s refused the credentials (HTTP %ld): check --user/--api-key or "
                 "ESPCAP_USER/ESPCAP_PASSWORD/ESPCAP_API_KEY", who, st);
        return false;
    }
    if (st < 0) {
        snprintf(err, errlen, "%s", http_error(a->http));
        return false;
    }
    a->answered = node;
    if (!es_engine_parse(a->answer.p, a->answer.len, who, &a->engine, err, errlen))
        return false;
    a->schema = es_schema_new(prefix, &a->engine.caps);
    return true;
}

bool es_admin_template(struct es_admin *a, char *err, size_t errlen)
{
    buf_reset(&a->path);
    buf_reset(&a->scratch);
    es_schema_template(a->schema, &a->path, &a->scratch);
    long st = http_call(a->http, "PUT", buf_cstr(&a->path), a->scratch.p, a->scratch.len,
                        &a->answer, 0);
    if (st != 200) {
        snprintf(err, errlen, "cannot install the index template %s: HTTP %ld: %.300s",
                 a->path.p, st, st >= 0 ? a->answer.p : http_error(a->http));
        return false;
    }
    return true;
}

/* ---- the asynchronous lane ---- */

static struct admin_step *push_step(struct es_admin *a, enum step_kind kind, const char *index,
                                    size_t index_len, const char *body, size_t len)
{
    if (a->n_steps == a->cap_steps) {
        a->cap_steps = a->cap_steps ? a->cap_steps * 2 : 16;
        a->steps = xrealloc(a->steps, a->cap_steps * sizeof *a->steps);
    }
    struct admin_step *st = &a->steps[a->n_steps++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->index = xmalloc(index_len + 1);
    memcpy(st->index, index, index_len);
    st->index[index_len] = '\0';
    buf_init(&st->body, len + 1);
    buf_add(&st->body, body, len);
    return st;
}

/* The job's lines as steps, in order: the stack gets them last first. */
static void expand(struct es_admin *a, const struct admin_job *job)
{
    size_t first = a->n_steps;
    const char *p = job->lines.p, *end = job->lines.p + job->lines.len;
    struct jspan ix, body;
    while (es_schema_next_line(&p, end, &ix, &body)) {
        const char *line = ix.p - 2;
        size_t line_len = (size_t)(body.p + body.n - line);
        if (strset_has(a->applied, line, line_len))
            continue;
        /* First the index, unless made in this run: a new index takes the template only
         * when created, never by a mapping request. */
        struct admin_step *c = push_step(a, STEP_CREATE, ix.p, ix.n, "{}", 2);
        if (strset_has(a->created, c->index, strlen(c->index)))
            step_fini(&a->steps[--a->n_steps]);
        struct admin_step *st = push_step(a, STEP_MAP, ix.p, ix.n, body.p, body.n);
        st->line = xmalloc(line_len + 1);
        memcpy(st->line, line, line_len);
        st->line[line_len] = '\0';
    }
    /* Reverse what was pushed in order, so that the job's first step is on top. */
    for (size_t i = first, j = a->n_steps; i + 1 < j; i++, j--) {
        struct admin_step t = a->steps[i];
        a->steps[i] = a->steps[j - 1];
        a->steps[j - 1] = t;
    }
}

uint64_t es_admin_queue(struct es_admin *a, const char *lines, size_t len)
{
    /* Only lines not put yet in this run (a spool record may repeat them). */
    struct buf keep;
    buf_init(&keep, len + 1);
    const char *p = lines, *end = lines + len;
    struct jspan ix, body;
    while (es_schema_next_line(&p, end, &ix, &body)) {
        const char *line = ix.p - 2;
        size_t line_len = (size_t)(body.p + body.n - line);
        if (!strset_has(a->applied, line, line_len)) {
            buf_add(&keep, line, line_len);
            buf_addc(&keep, '\n');
        }
    }
    if (!keep.len) {
        buf_fini(&keep);
        return a->queued_seq;
    }
    if (a->n_jobs == a->cap_jobs) {
        a->cap_jobs = a->cap_jobs ? a->cap_jobs * 2 : 8;
        a->jobs = xrealloc(a->jobs, a->cap_jobs * sizeof *a->jobs);
    }
    a->jobs[a->n_jobs++] = (struct admin_job){ ++a->queued_seq, keep };
    es_admin_pump(a);
    return a->queued_seq;
}

uint64_t es_admin_done_seq(const struct es_admin *a) { return a->done_seq; }
size_t es_admin_waiting(const struct es_admin *a) { return a->n_jobs; }

void es_admin_pending_lines(const struct es_admin *a, uint64_t seq, struct buf *out)
{
    for (size_t i = 0; i < a->n_jobs && a->jobs[i].seq <= seq; i++)
        buf_add(out, a->jobs[i].lines.p, a->jobs[i].lines.len);
}

static void send_step(struct es_admin *a, struct admin_step *st)
{
    struct http_req *h = &a->req;
    buf_reset(&a->path);
    if (st->kind == STEP_CREATE)
        buf_printf(&a->path, "/%s", st->index);
    else
        buf_printf(&a->path, "/%s/_mapping", st->index);
    h->method = "PUT";
    h->path = a->path.p;
    h->content_type = "application/json";
    h->body = st->body.p;
    h->body_len = st->body.len;
    h->gzip = false;
    h->max_tries = 0; /* until answered: documents wait for it, in memory or in the spool */
    h->done = on_done;
    h->on_retry = on_retry;
    h->ud = a;
    a->cur = st;
    http_submit(a->http, h);
}

void es_admin_pump(struct es_admin *a)
{
    while (!a->cur && !a->fatal) {
        if (a->n_steps) {
            struct admin_step *st = xmalloc(sizeof *st);
            *st = a->steps[--a->n_steps];
            send_step(a, st);
            return;
        }
        if (!a->n_jobs)
            return;
        if (a->expanded) {
            /* The first job's last step is answered: done. */
            a->done_seq = a->jobs[0].seq;
            buf_fini(&a->jobs[0].lines);
            memmove(a->jobs, a->jobs + 1, (a->n_jobs - 1) * sizeof *a->jobs);
            a->n_jobs--;
            a->expanded = false;
            continue;
        }
        expand(a, &a->jobs[0]);
        a->expanded = true;
    }
}

void es_admin_cancel(struct es_admin *a)
{
    if (!a->cur)
        return;
    http_cancel(a->http, &a->req);
    if (a->n_steps == a->cap_steps) {
        a->cap_steps = a->cap_steps ? a->cap_steps * 2 : 16;
        a->steps = xrealloc(a->steps, a->cap_steps * sizeof *a->steps);
    }
    a->steps[a->n_steps++] = *a->cur;
    free(a->cur);
    a->cur = NULL;
}

/* What the engine's refusal says, for messages. */
static const char *reason_of(struct http_req *h, char *out, size_t outlen)
{
    char why[256];
    es_answer_reason(h->answer.p, h->answer.len, why, sizeof why);
    snprintf(out, outlen, "HTTP %ld%s%s", h->status, why[0] ? ": " : "", why);
    return out;
}

static void on_retry(void *ud, struct http_req *h, double delay)
{
    struct es_admin *a = ud;
    double now = http_now();
    if (now - a->last_warn < 5)
        return;
    a->last_warn = now;
    char why[320];
    if (h->status && h->status != 403) /* 429, 5xx: the client's "HTTP 503", with the reason */
        reason_of(h, why, sizeof why);
    else /* no answer (curl's words), or a block (on_done's words) */
        snprintf(why, sizeof why, "%s", h->error);
    bool create = a->cur && a->cur->kind == STEP_CREATE;
    log_warn("%s index %s wait%s for %s: %s; retrying in %.1f s",
             create ? "creating" : "mappings for", a->cur ? a->cur->index : "?",
             create ? "s" : "", http_node(a->http, h->node)->shown, why, delay);
}

/* One field alone, after a clash: what is refused spoils only that field. */
static void push_one(void *ctx, const char *one, size_t n, struct jspan key, struct jspan value)
{
    struct es_admin *a = ctx;
    const char *ix = a->cur->index;
    struct admin_step *st = push_step(a, STEP_ONE, ix, strlen(ix), one, n);
    /* key and value as spans into the step's own body: {"properties":{KEY:VALUE}} */
    size_t koff = sizeof "{\"properties\":{" - 1;
    st->key = (struct jspan){ st->body.p + koff + 1, key.n };
    st->value = (struct jspan){ st->body.p + koff + 1 + key.n + 2, value.n };
}

static void on_done(void *ud, struct http_req *h)
{
    struct es_admin *a = ud;
    struct admin_step *st = a->cur;
    long status = h->status;
    const char *ans = h->answer.p ? h->answer.p : "";
    char why[320];
    if (status == 401 || (status == 403 && !es_answer_blocked(ans, h->answer.len))) {
        snprintf(a->error, sizeof a->error, "%s refused the credentials (HTTP %ld) during the run",
                 http_node(a->http, h->node)->shown, status);
        a->fatal = true;
        return; /* the step stays: es_admin_fini frees it */
    }
    if (status == 403) {
        /* An index blocked (read-only after a full disk): wait until someone frees space. */
        reason_of(h, why, sizeof why);
        http_retry(a->http, h, why);
        return;
    }
    a->cur = NULL;
    switch (st->kind) {
    case STEP_CREATE:
        switch (es_schema_create_verdict(status, ans)) {
        case ES_CREATED: break;
        case ES_EXISTED: {
            /* Made before our template (by someone else, or an older run): give it the
             * top-level mappings the template would have given it. */
            struct buf b;
            buf_init(&b, 1024);
            es_schema_base_mapping(&b);
            push_step(a, STEP_BASE, st->index, strlen(st->index), b.p, b.len);
            buf_fini(&b);
            break;
        }
        case ES_CREATE_FAILED:
            log_warn("index %s: cannot create it (%s); documents will go to it anyway",
                     st->index, reason_of(h, why, sizeof why));
            break;
        }
        strset_add(a->created, st->index, strlen(st->index));
        break;
    case STEP_MAP:
    case STEP_BASE:
        switch (es_schema_map_verdict(status, ans)) {
        case ES_MAP_DONE: break;
        case ES_MAP_AS_DOUBLE: {
            if (es_schema_caps(a->schema)->unsigned_long) {
                log_warn("%s has no unsigned_long type: unsigned 64-bit fields are mapped as "
                         "double", http_node(a->http, h->node)->shown);
                es_schema_drop_unsigned_long(a->schema);
            }
            if (!memmem(st->body.p, st->body.len, "\"unsigned_long\"", 15)) {
                log_warn("index %s: mapping new fields failed (%s)", st->index,
                         reason_of(h, why, sizeof why));
                break; /* nothing to change: never the same body again */
            }
            struct buf fixed;
            buf_init(&fixed, st->body.len + 16);
            es_schema_as_double(st->body.p, st->body.len, &fixed);
            struct admin_step *again =
                push_step(a, st->kind, st->index, strlen(st->index), fixed.p, fixed.len);
            again->line = st->line; /* remembered once the fixed one is put */
            st->line = NULL;
            buf_fini(&fixed);
            break;
        }
        case ES_MAP_ONE_BY_ONE: {
            a->cur = st; /* for push_one */
            size_t first = a->n_steps;
            es_schema_split(st->body.p, st->body.len, push_one, a);
            a->cur = NULL;
            for (size_t i = first, j = a->n_steps; i + 1 < j; i++, j--) {
                struct admin_step t = a->steps[i];
                a->steps[i] = a->steps[j - 1];
                a->steps[j - 1] = t;
            }
            break;
        }
        case ES_MAP_FAILED:
        default:
            log_warn("index %s: mapping new fields failed (%s); documents that do not fit the "
                     "existing mapping will be rejected", st->index,
                     reason_of(h, why, sizeof why));
            break;
        }
        if (st->line)
            strset_add(a->applied, st->line, strlen(st->line));
        break;
    case STEP_ONE:
        if (status != 200)
            log_warn("index %s: cannot map %.*s as %.*s (%s); documents whose value does not "
                     "fit the existing mapping will be rejected", st->index, (int)st->key.n,
                     st->key.p, (int)st->value.n, st->value.p, reason_of(h, why, sizeof why));
        break;
    }
    step_free(st);
    es_admin_pump(a);
}
