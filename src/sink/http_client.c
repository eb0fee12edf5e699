/* http_client: nodes in turn with backoff, and asynchronous requests on curl multi. */
#include "http_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <curl/curl.h>

#include "../util/log.h"
#include "../util/url.h"
#include "http_int.h"

double http_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void free_nodes(struct http_node *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(nodes[i].url);
        free(nodes[i].shown);
        free(nodes[i].user);
        free(nodes[i].password);
    }
    free(nodes);
}

/* Splits "a, https://b:9200/,c" into base URLs, taking any user:password@ out of them.
 * false with the reason in err; no message quotes what may be a password. */
static bool parse_nodes(const char *list, double backoff, struct http_node **out, size_t *n_out,
                        char *err, size_t errlen)
{
    struct http_node *nodes = NULL;
    size_t n_nodes = 0, k = 0;
    for (const char *p = list ? list : ""; *p; k++) {
        size_t n = strcspn(p, ",");
        const char *item = p;
        p += n + (p[n] == ',');
        while (n && *item == ' ') {
            item++;
            n--;
        }
        size_t m = n;
        while (m && (item[m - 1] == ' ' || item[m - 1] == '/'))
            m--;
        if (m == 0) {
            snprintf(err, errlen, "--node: node %zu of the list is empty", k + 1);
            goto fail;
        }
        struct http_node node = { .down_until = 0, .backoff = backoff };
        size_t at, len;
        bool creds = url_userinfo(item, m, &at, &len);
        struct buf u;
        buf_init(&u, m + 16);
        if (!url_scheme_len(item, m))
            buf_adds(&u, "http://");
        if (creds) {
            const char *colon = memchr(item + at, ':', len);
            size_t ulen = colon ? (size_t)(colon - (item + at)) : len;
            node.user = url_decode(item + at, ulen);
            if (colon)
                node.password = url_decode(colon + 1, len - ulen - 1);
            buf_add(&u, item, at);
            buf_add(&u, item + at + len + 1, m - at - len - 1);
        } else {
            buf_add(&u, item, m);
        }
        buf_cstr(&u);
        node.url = u.p;
        node.shown = xstrdup(u.p);
        nodes = xrealloc(nodes, (n_nodes + 1) * sizeof *nodes);
        nodes[n_nodes++] = node;
        const char *host = strstr(u.p, "://") + 3;
        if (strncmp(u.p, "http://", 7) != 0 && strncmp(u.p, "https://", 8) != 0) {
            snprintf(err, errlen, "--node: '%.200s' is not http:// or https://", u.p);
            goto fail;
        }
        if (!*host || *host == '/' || *host == ':') {
            snprintf(err, errlen, "--node: '%.200s' has no host name", u.p);
            goto fail;
        }
    }
    if (!n_nodes) {
        snprintf(err, errlen, "--node: no node given");
        goto fail;
    }
    *out = nodes;
    *n_out = n_nodes;
    return true;
fail:
    free_nodes(nodes, n_nodes);
    return false;
}

bool http_nodes_check(const char *nodes, char *err, size_t errlen)
{
    struct http_node *list;
    size_t n;
    if (!parse_nodes(nodes, 0, &list, &n, err, errlen))
        return false;
    free_nodes(list, n);
    return true;
}

/* The CA bundle, whole, in memory. */
static bool read_ca(const char *path, struct buf *b, char *err, size_t errlen)
{
    buf_init(b, 16384);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "--cacert: '%s': %s", path, strerror(errno));
        buf_fini(b);
        return false;
    }
    size_t n;
    while ((n = fread(buf_reserve(b, 65536), 1, 65536, f)) > 0)
        b->len += n;
    bool bad = ferror(f);
    fclose(f);
    if (bad || !b->len) {
        snprintf(err, errlen, "--cacert: '%s': %s", path, bad ? strerror(errno) : "is empty");
        buf_fini(b);
        return false;
    }
    return true;
}

struct http_client *http_client_new(const struct http_config *cfg, char *err, size_t errlen)
{
    struct http_client *c = xcalloc(1, sizeof *c);
    c->cfg = *cfg;
    struct http_config *k = &c->cfg;
    if (k->connect_timeout_ms <= 0)
        k->connect_timeout_ms = 10000;
    if (k->timeout_ms <= 0)
        k->timeout_ms = 120000;
    if (k->backoff_min <= 0)
        k->backoff_min = 0.5;
    if (k->backoff_max < k->backoff_min)
        k->backoff_max = k->backoff_min > 30 ? k->backoff_min : 30;
    if (k->max_active < 1)
        k->max_active = 1;
    if (!k->max_answer)
        k->max_answer = (size_t)64 << 20;
    if (!parse_nodes(cfg->nodes, k->backoff_min, &c->nodes, &c->n_nodes, err, errlen)) {
        free(c);
        return NULL;
    }
    if (k->cacert && !read_ca(k->cacert, &c->ca, err, errlen)) {
        free_nodes(c->nodes, c->n_nodes);
        free(c);
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (k->authorization) {
        struct buf h;
        buf_init(&h, 64);
        buf_printf(&h, "Authorization: %s", k->authorization);
        c->headers = curl_slist_append(c->headers, buf_cstr(&h));
        memset(h.p, 0, h.len); /* curl keeps its own copy */
        buf_fini(&h);
    }
    for (const char *const *h = cfg->headers; h && *h; h++)
        c->headers = curl_slist_append(c->headers, *h);
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strncmp(c->nodes[i].url, "http://", 7) == 0 &&
            (k->user || k->authorization || c->nodes[i].user))
            log_warn("%s is plain http: the credentials go over the network unencrypted, "
                     "readable by anyone on the way; use https://", c->nodes[i].shown);
    c->multi = curl_multi_init();
    /* One connection per request that may be on the wire, and one to spare. */
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k->max_active + 1);
    c->sync = curl_easy_init();
    return c;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    while (c->n_out)
        http_cancel(c, c->out[0]);
    free(c->out);
    free_nodes(c->nodes, c->n_nodes);
    curl_slist_free_all(c->headers);
    buf_fini(&c->ca);
    curl_easy_cleanup(c->sync);
    curl_multi_cleanup(c->multi);
    free(c);
    curl_global_cleanup();
}

size_t http_node_count(const struct http_client *c) { return c->n_nodes; }
const struct http_node *http_node(const struct http_client *c, size_t i) { return &c->nodes[i]; }
const char *http_error(const struct http_client *c) { return c->error; }
size_t http_active(const struct http_client *c) { return c->active; }
size_t http_outstanding(const struct http_client *c) { return c->n_out; }
uint64_t http_bytes_out(const struct http_client *c) { return c->bytes_out; }

size_t http_pick(struct http_client *c, double now)
{
    for (size_t k = 0; k < c->n_nodes; k++) {
        size_t i = (c->next + k) % c->n_nodes;
        if (c->nodes[i].down_until <= now) {
            c->next = (i + 1) % c->n_nodes;
            return i;
        }
    }
    size_t best = 0;
    for (size_t i = 1; i < c->n_nodes; i++)
        if (c->nodes[i].down_until < c->nodes[best].down_until)
            best = i;
    return best;
}

bool http_any_usable(const struct http_client *c, double now)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].down_until <= now)
            return true;
    return false;
}

void http_node_failed(struct http_client *c, size_t node, double now)
{
    struct http_node *n = &c->nodes[node];
    n->down_until = now + n->backoff;
    n->backoff = n->backoff * 2 > c->cfg.backoff_max ? c->cfg.backoff_max : n->backoff * 2;
}

void http_node_ok(struct http_client *c, size_t node)
{
    c->nodes[node].down_until = 0;
    c->nodes[node].backoff = c->cfg.backoff_min;
}

void http_nodes_forgive(struct http_client *c, double within)
{
    double now = http_now();
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].down_until - now < within)
            c->nodes[i].down_until = 0;
}

/* ---- transfers ---- */

size_t http_collect(char *data, size_t size, size_t n, void *ud)
{
    struct http_sink_to *t = ud;
    if (t->b->len + size * n > t->limit) {
        *t->too_big = true;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    buf_add(t->b, data, size * n);
    return size * n;
}

static size_t collect_req(char *data, size_t size, size_t n, void *ud)
{
    struct http_req *r = ud;
    struct http_sink_to t = { &r->answer, r->limit, &r->too_big };
    return http_collect(data, size, n, &t);
}

_Static_assert(sizeof ((struct http_req *)0)->curl_error == CURL_ERROR_SIZE,
               "an error buffer is CURL_ERROR_SIZE bytes");

void http_reason(char *out, size_t outlen, CURLcode rc, const char *errbuf)
{
    size_t n = strlen(errbuf);
    while (n && (errbuf[n - 1] == '\n' || errbuf[n - 1] == ' '))
        n--;
    if (n)
        snprintf(out, outlen, "%.*s", (int)n, errbuf);
    else
        snprintf(out, outlen, "%s", curl_easy_strerror(rc));
}

bool http_tls_refused(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

void http_setup_handle(struct http_client *c, CURL *h, size_t node, long connect_ms,
                       long total_ms, char *errbuf)
{
    curl_easy_reset(h);
    errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->cfg.insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->cfg.insecure ? 0L : 2L);
    if (c->ca.len) {
        struct curl_blob ca = { c->ca.p, c->ca.len, CURL_BLOB_NOCOPY };
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    const struct http_node *n = &c->nodes[node];
    if (n->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, n->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, n->password ? n->password : "");
    } else if (c->cfg.user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        if (c->cfg.password) {
            curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg.user);
            curl_easy_setopt(h, CURLOPT_PASSWORD, c->cfg.password);
        } else {
            curl_easy_setopt(h, CURLOPT_USERPWD, c->cfg.user);
        }
    }
}

void http_set_method(CURL *h, const char *method, const char *body, size_t len)
{
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POST, 1L);
    else if (strcmp(method, "GET") == 0 && !body)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
}

static bool gzip_into(struct buf *out, const char *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    buf_reset(out);
    buf_reserve(out, deflateBound(&z, n));
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->p;
    z.avail_out = (uInt)out->cap;
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

bool http_retryable(long status) { return status == 429 || status == 408 || status >= 500; }

void http_req_init(struct http_req *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->answer, 4096);
    buf_init(&r->gz, 0);
    buf_init(&r->url, 128);
}

void http_req_fini(struct http_req *r)
{
    if (r->h)
        curl_easy_cleanup(r->h);
    curl_slist_free_all(r->hdr);
    buf_fini(&r->answer);
    buf_fini(&r->gz);
    buf_fini(&r->url);
    memset(r, 0, sizeof *r);
}

static void start(struct http_client *c, struct http_req *r)
{
    if (!r->h)
        r->h = curl_easy_init();
    CURL *h = r->h;
    r->node = http_pick(c, http_now());
    http_setup_handle(c, h, r->node, c->cfg.connect_timeout_ms, c->cfg.timeout_ms,
                      r->curl_error);
    buf_reset(&r->url);
    buf_printf(&r->url, "%s%s", c->nodes[r->node].url, r->path);
    curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&r->url));
    curl_slist_free_all(r->hdr);
    struct curl_slist *hdr = NULL;
    if (r->content_type) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", r->content_type);
        hdr = curl_slist_append(hdr, ct);
    }
    for (struct curl_slist *a = c->headers; a; a = a->next)
        hdr = curl_slist_append(hdr, a->data);
    const char *body = r->body;
    size_t len = r->body_len;
    if (r->gzip && body && gzip_into(&r->gz, body, len)) {
        hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
        body = r->gz.p;
        len = r->gz.len;
    }
    r->hdr = hdr;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    http_set_method(h, r->method, body, len);
    buf_reset(&r->answer);
    r->too_big = false;
    r->limit = c->cfg.max_answer;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_req);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_PRIVATE, r);
    r->state = RS_ACTIVE;
    r->attempts++;
    c->active++;
    c->bytes_out += len;
    curl_multi_add_handle(c->multi, h);
}

static void out_insert(struct http_client *c, struct http_req *r)
{
    if (c->n_out == c->cap_out) {
        c->cap_out = c->cap_out ? c->cap_out * 2 : 16;
        c->out = xrealloc(c->out, c->cap_out * sizeof *c->out);
    }
    size_t i = c->n_out;
    while (i > 0 && c->out[i - 1]->seq > r->seq) {
        c->out[i] = c->out[i - 1];
        i--;
    }
    c->out[i] = r;
    c->n_out++;
}

static void out_remove(struct http_client *c, struct http_req *r)
{
    for (size_t i = 0; i < c->n_out; i++)
        if (c->out[i] == r) {
            memmove(c->out + i, c->out + i + 1, (c->n_out - i - 1) * sizeof *c->out);
            c->n_out--;
            return;
        }
}

/* Starts what is due, oldest submission first, while there is room on the wire. */
static void start_due(struct http_client *c, double now)
{
    for (size_t i = 0; i < c->n_out && c->active < c->cfg.max_active; i++)
        if (c->out[i]->state == RS_WAITING && c->out[i]->retry_at <= now)
            start(c, c->out[i]);
}

void http_submit(struct http_client *c, struct http_req *r)
{
    r->attempts = 0;
    r->retry_at = 0;
    r->seq = ++c->seq;
    r->state = RS_WAITING;
    out_insert(c, r);
    start_due(c, http_now());
}

static double retry_delay(const struct http_client *c, int attempts)
{
    double d = c->cfg.backoff_min;
    for (int i = 1; i < attempts && d < c->cfg.backoff_max; i++)
        d *= 2;
    return d > c->cfg.backoff_max ? c->cfg.backoff_max : d;
}

bool http_retry(struct http_client *c, struct http_req *r, const char *why)
{
    if (r->max_tries && r->attempts >= r->max_tries)
        return false;
    if (why != r->error)
        snprintf(r->error, sizeof r->error, "%s", why);
    double delay = retry_delay(c, r->attempts);
    r->retry_at = http_now() + delay;
    r->state = RS_WAITING;
    out_insert(c, r);
    if (r->on_retry)
        r->on_retry(r->ud, r, delay);
    return true;
}

void http_hurry(struct http_client *c)
{
    for (size_t i = 0; i < c->n_out; i++)
        if (c->out[i]->state == RS_WAITING)
            c->out[i]->retry_at = 0;
}

void http_cancel(struct http_client *c, struct http_req *r)
{
    if (r->state == RS_ACTIVE) {
        curl_multi_remove_handle(c->multi, r->h);
        c->active--;
    }
    if (r->state != RS_IDLE)
        out_remove(c, r);
    r->state = RS_IDLE;
}

/* A transfer ended: settle it, or send it again. */
static void finish(struct http_client *c, struct http_req *r, CURLcode rc)
{
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(c->multi, r->h);
    c->active--;
    out_remove(c, r);
    r->state = RS_IDLE;
    r->status = status;
    buf_cstr(&r->answer);
    if (rc == CURLE_OK && !http_retryable(status)) {
        http_node_ok(c, r->node);
        r->error[0] = '\0';
        r->outcome = HTTP_ANSWERED;
        r->done(r->ud, r);
        return;
    }
    if (rc != CURLE_OK && r->too_big)
        snprintf(r->error, sizeof r->error, "an answer larger than %zu bytes", r->limit);
    else if (rc != CURLE_OK)
        http_reason(r->error, sizeof r->error, rc, r->curl_error);
    else
        snprintf(r->error, sizeof r->error, "HTTP %ld", status);
    /* 429 says the node is alive but busy: slow this request down, not the node. */
    if (status != 429)
        http_node_failed(c, r->node, http_now());
    if (http_retry(c, r, r->error))
        return;
    r->outcome = HTTP_GAVE_UP;
    r->done(r->ud, r);
}

void http_pump(struct http_client *c, double max_wait)
{
    double now = http_now();
    start_due(c, now);
    int running;
    curl_multi_perform(c->multi, &running);
    CURLMsg *m;
    int left;
    bool any = false;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct http_req *r;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish(c, r, m->data.result);
        any = true;
    }
    if (any) {
        start_due(c, http_now());
        return;
    }
    if (max_wait <= 0)
        return;
    double next = now + (max_wait > 1 ? 1 : max_wait);
    for (size_t i = 0; i < c->n_out; i++)
        if (c->out[i]->state == RS_WAITING && c->out[i]->retry_at < next)
            next = c->out[i]->retry_at;
    int ms = (int)((next - now) * 1000);
    curl_multi_poll(c->multi, NULL, 0, ms < 1 ? 1 : ms, NULL);
}
