/* rawhttp: a tiny HTTP/1.1 server on 127.0.0.1 for the HTTP client's unit test, on a thread
 * of its own. One request per connection; the test's callback decides each answer at the
 * HTTP level, including what no real server gives on purpose (a reset mid-answer, too slow,
 * garbage, an endless body). It is no search engine and never pretends to be one: what
 * depends on an engine's answers is tested against a real node (tests/es, tests/live). */
#ifndef ESPCAP_RAWHTTP_H
#define ESPCAP_RAWHTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct raw_request {
    int n;             /* 1 for the first request this node read */
    char method[16];
    char path[512];
    char head[4096];   /* request line and headers */
    char *body;        /* NUL-terminated; valid during the callback */
    size_t body_len;
};

enum raw_action {
    RAW_ANSWER,  /* status and body */
    RAW_RESET,   /* half an answer, then a TCP reset */
    RAW_SLOW,    /* the answer after 1.5 s */
    RAW_DELAY,   /* the answer after 0.2 s */
    RAW_GARBAGE, /* bytes that are not HTTP */
    RAW_BIG,     /* an answer of 100000 bytes */
};

struct raw_answer {
    enum raw_action action;
    int status;
    char body[1 << 16];
};

/* Called with the node's lock held (raw_lock): the test's state is safe to touch. */
typedef void (*raw_fn)(void *ctx, const struct raw_request *rq, struct raw_answer *ans);

struct raw_node {
    int fd, port;
    pthread_t th;
    volatile int stop;
    pthread_mutex_t mu;
    raw_fn fn;
    void *ctx;
    int served;
};

static void raw_say(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

static void raw_answer_with(int fd, int status, const char *body)
{
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, strlen(body));
    raw_say(fd, h, strlen(h));
    raw_say(fd, body, strlen(body));
}

/* Reads one request (head, then Content-Length bytes of body). */
static int raw_read(int fd, struct raw_request *rq, char **all)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1), *end = NULL;
    *all = buf;
    while (!end) {
        if (len == cap)
            return 0;
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end + 4 - buf), want = 0;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl && cl < end)
        want = strtoul(cl + 17, NULL, 10);
    const char *ex = strcasestr(buf, "\r\nExpect: 100-continue");
    if (ex && ex < end)
        raw_say(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (head + want > cap) {
        cap = head + want;
        buf = *all = realloc(buf, cap + 1);
    }
    while (len - head < want) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0)
            return 0;
        len += (size_t)n;
    }
    buf[len] = '\0';
    snprintf(rq->head, sizeof rq->head, "%.*s", (int)head, buf);
    sscanf(buf, "%15s %511s", rq->method, rq->path);
    rq->body = buf + head;
    rq->body_len = len - head;
    return 1;
}

static void *raw_serve(void *arg)
{
    struct raw_node *fn = arg;
    struct raw_answer *ans = malloc(sizeof *ans);
    while (!fn->stop) {
        struct pollfd p = { fn->fd, POLLIN, 0 };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(fn->fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct raw_request rq;
        char *all = NULL;
        if (raw_read(fd, &rq, &all)) {
            pthread_mutex_lock(&fn->mu);
            rq.n = ++fn->served;
            ans->action = RAW_ANSWER;
            ans->status = 200;
            snprintf(ans->body, sizeof ans->body, "{\"ok\":true,\"n\":%d}", rq.n);
            fn->fn(fn->ctx, &rq, ans);
            pthread_mutex_unlock(&fn->mu);
            switch (ans->action) {
            case RAW_ANSWER: raw_answer_with(fd, ans->status, ans->body); break;
            case RAW_RESET: {
                const char *half = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"par";
                raw_say(fd, half, strlen(half));
                struct linger lg = { 1, 0 }; /* close sends a reset */
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                break;
            }
            case RAW_SLOW:
                for (int k = 0; k < 150 && !fn->stop; k++)
                    usleep(10000);
                raw_answer_with(fd, ans->status, ans->body);
                break;
            case RAW_DELAY:
                usleep(200000);
                raw_answer_with(fd, ans->status, ans->body);
                break;
            case RAW_GARBAGE: raw_say(fd, "\x01\x02 SSH-2.0 not HTTP at all\r\n\r\n\xff\xfe", 34); break;
            case RAW_BIG: {
                const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
                raw_say(fd, h, strlen(h));
                char x[1000];
                memset(x, 'x', sizeof x);
                for (int k = 0; k < 100; k++)
                    raw_say(fd, x, sizeof x);
                break;
            }
            }
        }
        free(all);
        close(fd);
    }
    free(ans);
    return NULL;
}

static inline struct raw_node *raw_start(raw_fn fn, void *ctx)
{
    struct raw_node *n = calloc(1, sizeof *n);
    pthread_mutex_init(&n->mu, NULL);
    n->fn = fn;
    n->ctx = ctx;
    n->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (bind(n->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(n->fd, 16) != 0 ||
        getsockname(n->fd, (struct sockaddr *)&a, &al) != 0) {
        perror("raw HTTP server");
        exit(2);
    }
    n->port = ntohs(a.sin_port);
    pthread_create(&n->th, NULL, raw_serve, n);
    return n;
}

static inline void raw_lock(struct raw_node *n) { pthread_mutex_lock(&n->mu); }
static inline void raw_unlock(struct raw_node *n) { pthread_mutex_unlock(&n->mu); }

static inline int raw_served(struct raw_node *n)
{
    raw_lock(n);
    int s = n->served;
    raw_unlock(n);
    return s;
}

static inline void raw_stop(struct raw_node *n)
{
    n->stop = 1;
    pthread_join(n->th, NULL);
    close(n->fd);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

/* A loopback port nothing listens on: connections are refused. */
static inline int raw_refused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

#endif
