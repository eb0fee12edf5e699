/* test_http_client: the generic HTTP client against local servers that misbehave (refuse,
 * reset mid-answer, 503 then 200, answer too slowly, send garbage): node rotation, backoff,
 * retries, time-outs. Each server is a thread on 127.0.0.1 with a script of answers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "../../src/sink/http_client.h"
#include "testhelp.h"

enum act { A_OK, A_503, A_429, A_400, A_401, A_RESET, A_SLOW, A_DELAY, A_GARBAGE, A_BIG };

struct server {
    int fd, port;
    pthread_t th;
    volatile int stop;
    enum act script[16]; /* answers in turn; then fallback */
    int n_script;
    enum act fallback;
    pthread_mutex_t mu;
    int served;          /* requests read */
    char head[4096];     /* the last request's head and body */
    char body[4096];
    size_t body_len;
};

static void sleep_s(double s) { usleep((useconds_t)(s * 1e6)); }

static void say(int fd, const char *s) { (void)!write(fd, s, strlen(s)); }

static void answer(int fd, int status, const char *reason, const char *body)
{
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, reason, strlen(body));
    say(fd, h);
    say(fd, body);
}

/* Reads one request (head, then Content-Length bytes of body) into the server's record. */
static bool read_request(struct server *sv, int fd)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return false;
    size_t head = (size_t)(end + 4 - buf);
    size_t want = 0;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl && cl < end)
        want = strtoul(cl + 17, NULL, 10);
    const char *ex = strcasestr(buf, "\r\nExpect: 100-continue");
    if (ex && ex < end)
        say(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    while (len - head < want && len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
    }
    pthread_mutex_lock(&sv->mu);
    snprintf(sv->head, sizeof sv->head, "%.*s", (int)head, buf);
    sv->body_len = len - head < sizeof sv->body ? len - head : sizeof sv->body;
    memcpy(sv->body, buf + head, sv->body_len);
    pthread_mutex_unlock(&sv->mu);
    return true;
}

static void *serve(void *arg)
{
    struct server *sv = arg;
    while (!sv->stop) {
        struct pollfd p = { sv->fd, POLLIN, 0 };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(sv->fd, NULL, NULL);
        if (fd < 0)
            continue;
        if (!read_request(sv, fd)) {
            close(fd);
            continue;
        }
        pthread_mutex_lock(&sv->mu);
        int i = sv->served++;
        enum act a = i < sv->n_script ? sv->script[i] : sv->fallback;
        pthread_mutex_unlock(&sv->mu);
        char ok[64];
        snprintf(ok, sizeof ok, "{\"ok\":true,\"n\":%d}", i + 1);
        switch (a) {
        case A_OK: answer(fd, 200, "OK", ok); break;
        case A_503: answer(fd, 503, "Service Unavailable", "{\"error\":\"busy\"}"); break;
        case A_429: answer(fd, 429, "Too Many Requests", "{\"error\":\"later\"}"); break;
        case A_400: answer(fd, 400, "Bad Request", "{\"error\":\"bad\"}"); break;
        case A_401: answer(fd, 401, "Unauthorized", "{\"error\":\"who\"}"); break;
        case A_RESET: {
            /* Half an answer, then a reset (linger 0 makes close send RST). */
            say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"par");
            struct linger lg = { 1, 0 };
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            break;
        }
        case A_SLOW:
            for (int k = 0; k < 150 && !sv->stop; k++)
                sleep_s(0.01);
            answer(fd, 200, "OK", ok);
            break;
        case A_DELAY:
            sleep_s(0.2);
            answer(fd, 200, "OK", ok);
            break;
        case A_GARBAGE: say(fd, "\x01\x02 SSH-2.0 not HTTP at all\r\n\r\n\xff\xfe"); break;
        case A_BIG: {
            say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n");
            char x[1000];
            memset(x, 'x', sizeof x);
            for (int k = 0; k < 100; k++)
                if (write(fd, x, sizeof x) < 0)
                    break;
            break;
        }
        }
        close(fd);
    }
    return NULL;
}

static struct server *server_start(enum act fallback, const enum act *script, int n)
{
    struct server *sv = calloc(1, sizeof *sv);
    pthread_mutex_init(&sv->mu, NULL);
    sv->fallback = fallback;
    memcpy(sv->script, script, (size_t)n * sizeof *script);
    sv->n_script = n;
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (bind(sv->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(sv->fd, 16) != 0 ||
        getsockname(sv->fd, (struct sockaddr *)&a, &al) != 0) {
        perror("test server");
        exit(2);
    }
    sv->port = ntohs(a.sin_port);
    pthread_create(&sv->th, NULL, serve, sv);
    return sv;
}

static int served(struct server *sv)
{
    pthread_mutex_lock(&sv->mu);
    int n = sv->served;
    pthread_mutex_unlock(&sv->mu);
    return n;
}

/* The answer to the next request. */
static void script_next(struct server *sv, enum act a)
{
    pthread_mutex_lock(&sv->mu);
    sv->script[sv->served] = a;
    sv->n_script = sv->served + 1;
    pthread_mutex_unlock(&sv->mu);
}

static void server_stop(struct server *sv)
{
    sv->stop = 1;
    pthread_join(sv->th, NULL);
    close(sv->fd);
    pthread_mutex_destroy(&sv->mu);
    free(sv);
}

/* A loopback port nothing listens on: connections are refused. */
static int refused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
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
    CHECK_STR(http_node(c, 0)->url, "https://u:secret@h:9200");
    CHECK_STR(http_node(c, 0)->shown, "https://h:9200");
    CHECK_STR(http_node(c, 1)->url, "http://b:1");
    http_client_free(c);
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
    pthread_mutex_lock(&sv->mu);
    CHECK(strstr(sv->head, "POST /_bulk HTTP/1.1") == sv->head);
    CHECK(strcasestr(sv->head, "Content-Type: application/x-ndjson") != NULL);
    CHECK(sv->body_len == r.body_len && memcmp(sv->body, r.body, r.body_len) == 0);
    pthread_mutex_unlock(&sv->mu);

    /* A 429 slows the request down but leaves the node in use. */
    script_next(sv, A_429);
    prepare(&r, &p, c, 0);
    http_submit(c, &r);
    run(c, ps, 1, 5);
    CHECK(r.status == 200 && p.retries == 1 && p.down_at_retry[0] == 0);

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
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d,127.0.0.1:%d", refused_port(), sv->port);
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
    pthread_mutex_lock(&sv->mu);
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
    pthread_mutex_unlock(&sv->mu);
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
    pthread_mutex_lock(&sv->mu);
    CHECK(strstr(sv->head, "PUT /x/_mapping HTTP/1.1") == sv->head);
    CHECK(strcasestr(sv->head, "Content-Type: application/json") != NULL);
    pthread_mutex_unlock(&sv->mu);
    /* One try, node set aside: not even sent. */
    http_node_failed(c, 0, http_now());
    CHECK(http_call(c, "GET", "/", NULL, 0, &ans, 1) == -1 && served(sv) == 2);
    http_client_free(c);
    server_stop(sv);

    /* Refused, one try: -1 and curl's reason. */
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", refused_port());
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
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d,127.0.0.1:%d", refused_port(), sv->port);
    c = client(nodes, 1000, 0);
    CHECK(http_wait_ready(c, "/", 5, NULL, &ans, &node) == 200 && node == 1);
    CHECK(http_wait_ready(c, "/", 5, NULL, &ans, &node) == 401 && node == 1);
    http_client_free(c);
    server_stop(sv);
    buf_fini(&ans);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the servers write to clients that gave up */
    test_nodes();
    test_rotation_and_backoff();
    test_503_then_200();
    test_refused_node_passed_over();
    test_reset_slow_garbage_big();
    test_final_answers_and_limits();
    test_gzip();
    test_sync();
    return TH_DONE("test_http_client");
}
