/* test_http_client: the generic HTTP client against local servers that misbehave (refuse,
 * reset mid-answer, 503 then 200, answer too slowly, send garbage): node rotation, backoff,
 * retries, time-outs. Each server is a raw HTTP server (rawhttp.h) with a script of answers. */
#include <signal.h>
#include <stdbool.h>
#include <zlib.h>

#include "../../src/sink/http_client.h"
#include "rawhttp.h"
#include "testhelp.h"

enum act { A_OK, A_503, A_429, A_400, A_401, A_RESET, A_SLOW, A_DELAY, A_GARBAGE, A_BIG };

/* A raw HTTP server that answers from a script, then with its fallback; it keeps the last
 * request (read them under raw_lock). */
struct server {
    struct raw_node *node;
    int port;
    enum act script[16];
    int n_script;
    enum act fallback;
    char head[4096];
    char body[4096];
    size_t body_len;
};

static void scripted(void *ctx, const struct raw_request *rq, struct raw_answer *ans)
{
    struct server *sv = ctx;
    snprintf(sv->head, sizeof sv->head, "%s", rq->head);
    sv->body_len = rq->body_len < sizeof sv->body ? rq->body_len : sizeof sv->body;
    memcpy(sv->body, rq->body, sv->body_len);
    enum act a = rq->n <= sv->n_script ? sv->script[rq->n - 1] : sv->fallback;
    switch (a) {
    case A_OK: break;
    case A_503: ans->status = 503; break;
    case A_429: ans->status = 429; break;
    case A_400: ans->status = 400; break;
    case A_401: ans->status = 401; break;
    case A_RESET: ans->action = RAW_RESET; break;
    case A_SLOW: ans->action = RAW_SLOW; break;
    case A_DELAY: ans->action = RAW_DELAY; break;
    case A_GARBAGE: ans->action = RAW_GARBAGE; break;
    case A_BIG: ans->action = RAW_BIG; break;
    }
    if (ans->status != 200)
        snprintf(ans->body, sizeof ans->body, "{\"error\":\"status %d\"}", ans->status);
}

static struct server *server_start(enum act fallback, const enum act *script, int n)
{
    struct server *sv = calloc(1, sizeof *sv);
    sv->fallback = fallback;
    memcpy(sv->script, script, (size_t)n * sizeof *script);
    sv->n_script = n;
    sv->node = raw_start(scripted, sv);
    sv->port = sv->node->port;
    return sv;
}

static int served(struct server *sv) { return raw_served(sv->node); }

/* The answer to the next request. */
static void script_next(struct server *sv, enum act a)
{
    raw_lock(sv->node);
    sv->script[sv->node->served] = a;
    sv->n_script = sv->node->served + 1;
    raw_unlock(sv->node);
}

static void server_stop(struct server *sv)
{
    raw_stop(sv->node);
    free(sv);
}

static struct http_client *client(const char *nodes, long timeout_ms, size_t max_answer)
{
    struct http_config cfg = {
        .nodes = nodes,
        .connect_timeout_ms = 500,
        .timeout_ms = timeout_ms,
        .backoff_min = 0.05,
        .backoff_max = 0.2,
        .max_active = 2,
        .max_answer = max_answer,
    };
    char err[256];
    struct http_client *c = http_client_new(&cfg, err, sizeof err);
    if (!c) {
        fprintf(stderr, "client: %s\n", err);
        exit(2);
    }
    return c;
}

/* ---- asynchronous requests: a small harness ---- */

struct probe {
    int done, retries;
    double delays[8];
    double down_at_retry[8]; /* the node's down_until when the retry was scheduled */
    struct http_client *c;
    int order[8], n_order, id;
    int *log;
};

static void on_done(void *ud, struct http_req *r)
{
    struct probe *p = ud;
    p->done++;
    if (p->log)
        p->log[p->log[0]++ + 1] = p->id;
    (void)r;
}

static void on_retry(void *ud, struct http_req *r, double delay)
{
    struct probe *p = ud;
    if (p->retries < 8) {
        p->delays[p->retries] = delay;
        p->down_at_retry[p->retries] = http_node(p->c, r->node)->down_until;
    }
    p->retries++;
}

static void prepare(struct http_req *r, struct probe *p, struct http_client *c, int max_tries)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    r->method = "POST";
    r->path = "/_bulk";
    r->content_type = "application/x-ndjson";
    r->body = "{\"index\":{}}\n{\"a\":1}\n";
    r->body_len = strlen(r->body);
    r->max_tries = max_tries;
    r->done = on_done;
    r->on_retry = on_retry;
    r->ud = p;
}

/* Pumps until every probe is done, for at most limit seconds; the time taken. */
static double run(struct http_client *c, struct probe **ps, int n, double limit)
{
    double t0 = http_now();
    for (;;) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= ps[i]->done > 0;
        if (all || http_now() - t0 > limit)
            break;
        http_pump(c, 0.05);
    }
    return http_now() - t0;
}

static void test_nodes(void)
{
    char err[256];
    CHECK(http_nodes_check("localhost:9200", err, sizeof err));
    CHECK(http_nodes_check(" https://a:1/ , http://b:2/x ", err, sizeof err));
    CHECK(!http_nodes_check("ftp://x", err, sizeof err) && strstr(err, "ftp://x"));
    CHECK(!http_nodes_check("a:1,,b:2", err, sizeof err) && strstr(err, "empty"));
    CHECK(!http_nodes_check("", err, sizeof err));
    struct http_config cfg = { .nodes = "https://u:secret@h:9200/,b:1" };
    struct http_client *c = http_client_new(&cfg, err, sizeof err);
    CHECK(c && http_node_count(c) == 2);
    /* the credentials leave the URL: curl never sees them there, no message shows them */
    CHECK_STR(http_node(c, 0)->url, "https://h:9200");
    CHECK_STR(http_node(c, 0)->shown, "https://h:9200");
    CHECK_STR(http_node(c, 0)->user, "u");
    CHECK_STR(http_node(c, 0)->password, "secret");
    CHECK_STR(http_node(c, 1)->url, "http://b:1");
    CHECK(!http_node(c, 1)->user && !http_node(c, 1)->password);
    http_client_free(c);
    /* '@', '/' and ':' in a password as typed (the last '@' ends it), %XX decoded */
    cfg.nodes = "https://al:p@ss/w:rd@h:9200/es/,bob:p%2cw%@h2,carl@h3";
    c = http_client_new(&cfg, err, sizeof err);
    CHECK(c && http_node_count(c) == 3);
    CHECK_STR(http_node(c, 0)->url, "https://h:9200/es");
    CHECK_STR(http_node(c, 0)->shown, "https://h:9200/es");
    CHECK_STR(http_node(c, 0)->password, "p@ss/w:rd");
    CHECK_STR(http_node(c, 1)->url, "http://h2");
    CHECK_STR(http_node(c, 1)->user, "bob");
    CHECK_STR(http_node(c, 1)->password, "p,w%");
    CHECK_STR(http_node(c, 2)->user, "carl");
    CHECK(!http_node(c, 2)->password);
    http_client_free(c);
    /* errors never quote what may be a password */
    CHECK(!http_nodes_check("ftp://u:s3cret@x", err, sizeof err) && strstr(err, "ftp://x") &&
          !strstr(err, "s3cret"));
    CHECK(!http_nodes_check("https://u:s3cret@a:1,,b", err, sizeof err) &&
          strstr(err, "node 2") && !strstr(err, "s3cret"));
    CHECK(!http_nodes_check("https://u:s3cret@", err, sizeof err) &&
          strstr(err, "no host") && !strstr(err, "s3cret"));
    /* no scheme: a "://" in the password is not one */
    cfg.nodes = "al:s3://cret@h:9200";
    c = http_client_new(&cfg, err, sizeof err);
    CHECK(c && http_node_count(c) == 1);
    CHECK_STR(http_node(c, 0)->url, "http://h:9200");
    CHECK_STR(http_node(c, 0)->password, "s3://cret");
    http_client_free(c);
}

/* What the client says on stderr between two calls: stderr_begin(), then stderr_end()
 * returns it (static; the next call overwrites it). */
static int saved_stderr = -1;
static FILE *stderr_file;

static void stderr_begin(void)
{
    fflush(stderr);
    stderr_file = tmpfile();
    saved_stderr = dup(2);
    dup2(fileno(stderr_file), 2);
}

static const char *stderr_end(void)
{
    static char text[4096];
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(stderr_file);
    size_t n = fread(text, 1, sizeof text - 1, stderr_file);
    text[n] = '\0';
    fclose(stderr_file);
    return text;
}

/* Basic auth as the node receives it: a URL's user:password@ beats the configured user;
 * an API key is an Authorization header of its own. */
static void test_credentials_sent(void)
{
    struct server *sv = server_start(A_OK, NULL, 0);
    char nodes[128], err[256];
    struct buf ans;
    buf_init(&ans, 64);
    snprintf(nodes, sizeof nodes, "http://alice:p@ss/w:rd@127.0.0.1:%d", sv->port);
    struct http_config cfg = { .nodes = nodes, .user = "carol", .password = "cfg-pw" };
    stderr_begin();
    struct http_client *c = http_client_new(&cfg, err, sizeof err);
    const char *said = stderr_end();
    /* credentials over plain http: a warning naming the node, not the password */
    char want[128];
    snprintf(want, sizeof want, "http://127.0.0.1:%d is plain http", sv->port);
    CHECK(strstr(said, want) != NULL && !strstr(said, "p@ss"));
    CHECK(c && http_call(c, "GET", "/", NULL, 0, &ans, 1) == 200);
    raw_lock(sv->node);
    CHECK(strstr(sv->head, "GET / HTTP/1.1") == sv->head);
    CHECK(strstr(sv->head, "Authorization: Basic YWxpY2U6cEBzcy93OnJk\r\n") != NULL);
    raw_unlock(sv->node);
    http_client_free(c);
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", sv->port);
    stderr_begin();
    c = http_client_new(&cfg, err, sizeof err);
    CHECK(strstr(stderr_end(), "plain http") != NULL);
    CHECK(c && http_call(c, "GET", "/", NULL, 0, &ans, 1) == 200);
    raw_lock(sv->node);
    CHECK(strstr(sv->head, "Authorization: Basic Y2Fyb2w6Y2ZnLXB3\r\n") != NULL);
    raw_unlock(sv->node);
    http_client_free(c);
    struct http_config kc = { .nodes = nodes, .authorization = "ApiKey a2V5" };
    stderr_begin();
    c = http_client_new(&kc, err, sizeof err);
    CHECK(strstr(stderr_end(), "plain http") != NULL);
    CHECK(c && http_call(c, "GET", "/", NULL, 0, &ans, 1) == 200);
    raw_lock(sv->node);
    CHECK(strstr(sv->head, "Authorization: ApiKey a2V5\r\n") != NULL);
    raw_unlock(sv->node);
    http_client_free(c);
    /* no credentials: no warning */
    struct http_config nc = { .nodes = nodes };
    stderr_begin();
    c = http_client_new(&nc, err, sizeof err);
    CHECK(c && !strstr(stderr_end(), "plain http"));
    http_client_free(c);
    buf_fini(&ans);
    server_stop(sv);
}

static void test_rotation_and_backoff(void)
{
    struct http_client *c = client("a:1,b:2,c:3", 1000, 0);
    double now = http_now();
    CHECK(http_pick(c, now) == 0 && http_pick(c, now) == 1 && http_pick(c, now) == 2);
    CHECK(http_pick(c, now) == 0);
    http_node_failed(c, 1, now);
    CHECK(http_pick(c, now) == 2 && http_pick(c, now) == 0 && http_pick(c, now) == 2);
    /* Backoff doubles from backoff_min up to backoff_max. */
    CHECK(http_node(c, 1)->down_until == now + 0.05 && http_node(c, 1)->backoff == 0.1);
    http_node_failed(c, 1, now);
    CHECK(http_node(c, 1)->down_until == now + 0.1 && http_node(c, 1)->backoff == 0.2);
    http_node_failed(c, 1, now);
    CHECK(http_node(c, 1)->down_until == now + 0.2 && http_node(c, 1)->backoff == 0.2);
    /* Back once its time has come. */
    CHECK(http_pick(c, now + 0.25) == 0 && http_pick(c, now + 0.25) == 1);
    /* All set aside: the one back soonest. */
    http_node_failed(c, 0, now);
    http_node_failed(c, 2, now);
    CHECK(!http_any_usable(c, now));
    CHECK(http_pick(c, now) == 0 || http_pick(c, now) == 2);
    CHECK(http_any_usable(c, now + 0.06));
    http_node_ok(c, 1);
    CHECK(http_any_usable(c, now) && http_pick(c, now) == 1 && http_node(c, 1)->backoff == 0.05);
    /* The last chance at the end of a live run: nodes back soon are usable now. */
    http_node_failed(c, 1, http_now());
    http_nodes_forgive(c, 1.0);
    CHECK(http_node(c, 0)->down_until == 0 && http_node(c, 1)->down_until == 0);
    http_client_free(c);
}

static void test_503_then_200(void)
{
    enum act s[] = { A_503, A_503 };
    struct server *sv = server_start(A_OK, s, 2);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", sv->port);
    struct http_client *c = client(nodes, 1000, 0);
    struct http_req r;
    struct probe p, *ps[] = { &p };
    http_req_init(&r);
    prepare(&r, &p, c, 0);
    http_submit(c, &r);
    double took = run(c, ps, 1, 5);
    CHECK(p.done == 1 && r.outcome == HTTP_ANSWERED && r.status == 200);
    CHECK(r.attempts == 3 && p.retries == 2 && served(sv) == 3);
    CHECK(p.delays[0] == 0.05 && p.delays[1] == 0.1); /* growing with the attempts */
    CHECK(p.down_at_retry[0] > 0);                   /* a 503 sets the node aside */
    CHECK(took >= 0.14 && took < 2);
    CHECK(strstr(r.answer.p, "\"n\":3") != NULL);
    CHECK(http_node(c, 0)->down_until == 0 && http_node(c, 0)->backoff == 0.05);
    CHECK(http_outstanding(c) == 0 && http_active(c) == 0);
    CHECK(http_bytes_out(c) == 3 * r.body_len);
    raw_lock(sv->node);
    CHECK(strstr(sv->head, "POST /_bulk HTTP/1.1") == sv->head);
    CHECK(strcasestr(sv->head, "Content-Type: application/x-ndjson") != NULL);
    CHECK(sv->body_len == r.body_len && memcmp(sv->body, r.body, r.body_len) == 0);
    raw_unlock(sv->node);

    /* A 429 slows the request down but leaves the node in use. */
    script_next(sv, A_429);
    prepare(&r, &p, c, 0);
    http_submit(c, &r);
    run(c, ps, 1, 5);
    CHECK(r.status == 200 && p.retries == 1 && p.down_at_retry[0] == 0);

    /* The end of a live run (http_hurry): a request waiting for its retry goes at once. */
    prepare(&r, &p, c, 0);
    http_submit(c, &r);
    run(c, ps, 1, 5);
    r.attempts = 8; /* the longest backoff: 0.2 s */
    CHECK(http_retry(c, &r, "again"));
    http_pump(c, 0);
    CHECK(http_active(c) == 0 && http_outstanding(c) == 1); /* not due yet */
    http_hurry(c);
    http_pump(c, 0);
    CHECK(http_active(c) == 1);
    p.done = 0;
    run(c, ps, 1, 5);
    CHECK(p.done == 1 && r.status == 200 && http_outstanding(c) == 0);

    /* Live mode sends once: the failure is the caller's to settle. */
    script_next(sv, A_503);
    prepare(&r, &p, c, 1);
    http_submit(c, &r);
    run(c, ps, 1, 5);
    CHECK(r.outcome == HTTP_GAVE_UP && r.status == 503 && r.attempts == 1 && p.retries == 0);
    CHECK_STR(r.error, "HTTP 503");
    CHECK(!http_retry(c, &r, "spent"));
    http_req_fini(&r);
    http_client_free(c);
    server_stop(sv);
}

static void test_refused_node_passed_over(void)
{
    struct server *sv = server_start(A_OK, NULL, 0);
    char nodes[96];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d,127.0.0.1:%d", raw_refused_port(), sv->port);
    struct http_client *c = client(nodes, 1000, 0);
    struct http_req r[3];
    struct probe p[3], *ps[] = { &p[0], &p[1], &p[2] };
    for (int i = 0; i < 3; i++) {
        http_req_init(&r[i]);
        prepare(&r[i], &p[i], c, 0);
        http_submit(c, &r[i]);
    }
    double took = run(c, ps, 3, 5);
    int answered = 0, retried = 0;
    for (int i = 0; i < 3; i++) {
        answered += r[i].status == 200 && r[i].node == 1;
        retried += p[i].retries;
    }
    CHECK(answered == 3);
    /* The dead node was found (a retry may find it again when its set-aside ends just
     * as the retry is due), and the rest went round it. */
    CHECK(retried >= 1 && retried <= 3);
    CHECK(http_node(c, 0)->down_until > http_now() - 1);
    CHECK(took < 1);
    for (int i = 0; i < 3; i++)
        http_req_fini(&r[i]);
    http_client_free(c);
    server_stop(sv);
}

static void test_reset_slow_garbage_big(void)
{
    enum act reset[] = { A_RESET };
    struct server *rs = server_start(A_OK, reset, 1);
    struct server *slow = server_start(A_SLOW, NULL, 0);
    struct server *garbage = server_start(A_GARBAGE, NULL, 0);
    struct server *big = server_start(A_BIG, NULL, 0);
    struct server *good = server_start(A_OK, NULL, 0);
    char nodes[64];
    struct http_req r;
    struct probe p, *ps[] = { &p };
    http_req_init(&r);

    /* Reset in the middle of an answer: sent again. */
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", rs->port);
    struct http_client *c = client(nodes, 1000, 0);
    prepare(&r, &p, c, 0);
    http_submit(c, &r);
    run(c, ps, 1, 5);
    CHECK(r.status == 200 && r.attempts == 2 && p.retries == 1 && served(rs) == 2);
    http_client_free(c);

    /* Too slow: the time-out ends the send, the next node answers. */
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d,127.0.0.1:%d", slow->port, good->port);
    c = client(nodes, 300, 0);
    prepare(&r, &p, c, 0);
    http_submit(c, &r);
    double took = run(c, ps, 1, 5);
    CHECK(r.status == 200 && r.node == 1 && r.attempts == 2);
    CHECK(took >= 0.25 && took < 1.2);
    CHECK(http_node(c, 0)->down_until > 0);
    /* Only the slow node, sent once: given up after the time-out. */
    http_client_free(c);
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", slow->port);
    c = client(nodes, 300, 0);
    prepare(&r, &p, c, 1);
    http_submit(c, &r);
    took = run(c, ps, 1, 5);
    CHECK(r.outcome == HTTP_GAVE_UP && r.status == 0 && took < 1.2);
    CHECK(strstr(r.error, "imeout") || strstr(r.error, "timed out"));
    http_client_free(c);

    /* Garbage instead of HTTP: a failure, never an answer. */
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", garbage->port);
    c = client(nodes, 1000, 0);
    prepare(&r, &p, c, 2);
    http_submit(c, &r);
    run(c, ps, 1, 5);
    CHECK(r.outcome == HTTP_GAVE_UP && r.status == 0 && r.attempts == 2 && r.error[0]);
    http_client_free(c);

    /* An answer past max_answer: a failure that says so. */
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", big->port);
    c = client(nodes, 1000, 1000);
    prepare(&r, &p, c, 1);
    http_submit(c, &r);
    run(c, ps, 1, 5);
    CHECK(r.outcome == HTTP_GAVE_UP && strstr(r.error, "larger than 1000 bytes"));
    CHECK(r.answer.len <= 1000);
    http_client_free(c);

    http_req_fini(&r);
    server_stop(rs);
    server_stop(slow);
    server_stop(garbage);
    server_stop(big);
    server_stop(good);
}

static void test_final_answers_and_limits(void)
{
    enum act s[] = { A_400, A_401 };
    struct server *sv = server_start(A_DELAY, s, 2);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", sv->port);
    struct http_client *c = client(nodes, 2000, 0);
    struct http_req r[4];
    struct probe p[4], *ps[] = { &p[0], &p[1], &p[2], &p[3] };
    int log[8] = { 0 };
    for (int i = 0; i < 4; i++) {
        http_req_init(&r[i]);
        prepare(&r[i], &p[i], c, 0);
        p[i].id = i;
        p[i].log = log;
    }
    /* 400 and 401 are answers: no retry. */
    http_submit(c, &r[0]);
    run(c, ps, 1, 5);
    CHECK(r[0].status == 400 && r[0].outcome == HTTP_ANSWERED && r[0].attempts == 1);
    http_submit(c, &r[1]);
    run(c, ps + 1, 1, 5);
    CHECK(r[1].status == 401 && p[1].retries == 0);
    /* At most max_active (2) on the wire; the others wait their turn, in order. */
    log[0] = 0;
    p[0].done = p[1].done = 0;
    for (int i = 0; i < 4; i++)
        http_submit(c, &r[i]);
    CHECK(http_active(c) == 2 && http_outstanding(c) == 4);
    run(c, ps, 4, 10);
    CHECK(log[0] == 4 && log[1] <= 1 && log[2] <= 1 && log[3] >= 2 && log[4] >= 2);
    for (int i = 0; i < 4; i++)
        CHECK(r[i].status == 200);
    /* Cancel: taken back without done. */
    http_submit(c, &r[0]);
    http_submit(c, &r[1]);
    http_submit(c, &r[2]);
    http_cancel(c, &r[1]);
    CHECK(http_outstanding(c) == 2);
    http_client_free(c); /* takes back the two left */
    for (int i = 0; i < 4; i++)
        http_req_fini(&r[i]);
    server_stop(sv);
}

static void test_gzip(void)
{
    struct server *sv = server_start(A_OK, NULL, 0);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", sv->port);
    struct http_client *c = client(nodes, 1000, 0);
    struct http_req r;
    struct probe p, *ps[] = { &p };
    http_req_init(&r);
    prepare(&r, &p, c, 0);
    r.gzip = true;
    http_submit(c, &r);
    run(c, ps, 1, 5);
    CHECK(r.status == 200);
    raw_lock(sv->node);
    CHECK(strcasestr(sv->head, "Content-Encoding: gzip") != NULL);
    char plain[256];
    z_stream z;
    memset(&z, 0, sizeof z);
    inflateInit2(&z, 15 + 16);
    z.next_in = (Bytef *)sv->body;
    z.avail_in = (uInt)sv->body_len;
    z.next_out = (Bytef *)plain;
    z.avail_out = sizeof plain;
    CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
    CHECK(z.total_out == r.body_len && memcmp(plain, r.body, r.body_len) == 0);
    inflateEnd(&z);
    raw_unlock(sv->node);
    http_req_fini(&r);
    http_client_free(c);
    server_stop(sv);
}

static void test_sync(void)
{
    enum act s[] = { A_503, A_OK };
    struct server *sv = server_start(A_OK, s, 2);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", sv->port);
    struct http_client *c = client(nodes, 1000, 0);
    struct buf ans;
    buf_init(&ans, 64);
    /* Retried until answered. */
    CHECK(http_call(c, "PUT", "/x/_mapping", "{}", 2, &ans, 0) == 200 && served(sv) == 2);
    CHECK(strstr(ans.p, "\"n\":2") != NULL);
    raw_lock(sv->node);
    CHECK(strstr(sv->head, "PUT /x/_mapping HTTP/1.1") == sv->head);
    CHECK(strcasestr(sv->head, "Content-Type: application/json") != NULL);
    raw_unlock(sv->node);
    /* One try, node set aside: not even sent. */
    http_node_failed(c, 0, http_now());
    CHECK(http_call(c, "GET", "/", NULL, 0, &ans, 1) == -1 && served(sv) == 2);
    http_client_free(c);
    server_stop(sv);

    /* Refused, one try: -1 and curl's reason. */
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", raw_refused_port());
    c = client(nodes, 1000, 0);
    CHECK(http_call(c, "GET", "/", NULL, 0, &ans, 1) == -1 && http_error(c)[0]);
    CHECK(http_node(c, 0)->down_until > 0);

    /* Start-up wait: gives up after the wait, naming the node. */
    size_t node = 9;
    double t0 = http_now();
    CHECK(http_wait_ready(c, "/", 0.3, NULL, &ans, &node) == -1);
    double took = http_now() - t0;
    CHECK(took >= 0.25 && took < 1.5);
    CHECK(strstr(http_error(c), "cannot reach a node after") != NULL);
    CHECK(strstr(http_error(c), nodes) != NULL);
    CHECK(http_node(c, 0)->down_until == 0); /* usable afterwards */
    /* A signal ends the wait. */
    volatile sig_atomic_t stop = 1;
    t0 = http_now();
    CHECK(http_wait_ready(c, "/", 30, &stop, &ans, &node) == -1);
    CHECK(http_now() - t0 < 1 && strstr(http_error(c), "signal"));
    http_client_free(c);

    /* 503 then 200 on the second of two nodes; 401 is an answer too. */
    enum act s2[] = { A_503, A_503, A_OK };
    sv = server_start(A_401, s2, 3);
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d,127.0.0.1:%d", raw_refused_port(), sv->port);
    c = client(nodes, 1000, 0);
    CHECK(http_wait_ready(c, "/", 5, NULL, &ans, &node) == 200 && node == 1);
    CHECK(http_wait_ready(c, "/", 5, NULL, &ans, &node) == 401 && node == 1);
    http_client_free(c);
    server_stop(sv);
    buf_fini(&ans);
}

int main(void)
{
    alarm(60); /* a hang is a failure too: retries for ever would never end the test */
    signal(SIGPIPE, SIG_IGN); /* the servers write to clients that gave up */
    test_nodes();
    test_credentials_sent();
    test_rotation_and_backoff();
    test_503_then_200();
    test_refused_node_passed_over();
    test_reset_slow_garbage_big();
    test_final_answers_and_limits();
    test_gzip();
    test_sync();
    return TH_DONE("test_http_client");
}
