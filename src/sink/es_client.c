/* es_client: nodes, connection settings, engine detection, plain requests. */
#include "es_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "es_json.h"

#define BACKOFF_MIN 0.5
#define BACKOFF_MAX 30.0

double es_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The URL without "user:password@", for messages. */
static char *redact(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (!at || (slash && at > slash))
        return xstrdup(url);
    size_t pre = (size_t)(host - url);
    char *s = xmalloc(strlen(url) + 1);
    memcpy(s, url, pre);
    strcpy(s + pre, at + 1);
    return s;
}

bool es_nodes_check(const char *nodes, char *err, size_t errlen)
{
    struct es_client c;
    struct es_config cfg = { .nodes = nodes };
    bool ok = es_client_init(&c, &cfg, err, errlen);
    es_client_fini(&c);
    return ok;
}

bool es_client_init(struct es_client *c, const struct es_config *cfg, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    const char *p = cfg->nodes;
    while (*p) {
        size_t n = strcspn(p, ",");
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        size_t m = n;
        while (m && (p[m - 1] == ' ' || p[m - 1] == '/'))
            m--;
        if (m == 0) {
            snprintf(err, errlen, "--node: empty node name in '%s'", cfg->nodes);
            return false;
        }
        struct buf u;
        buf_init(&u, m + 16);
        bool has_scheme = false;
        for (size_t i = 0; i + 2 < m; i++)
            if (p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/')
                has_scheme = true;
        if (!has_scheme)
            buf_adds(&u, "http://");
        buf_add(&u, p, m);
        buf_cstr(&u);
        if (strncmp(u.p, "http://", 7) != 0 && strncmp(u.p, "https://", 8) != 0) {
            snprintf(err, errlen, "--node: '%.*s' is not http:// or https://", (int)m, p);
            buf_fini(&u);
            return false;
        }
        c->nodes = xrealloc(c->nodes, (c->n_nodes + 1) * sizeof *c->nodes);
        c->nodes[c->n_nodes++] = (struct es_node){ u.p, redact(u.p), 0, BACKOFF_MIN };
        p += n;
        if (*p == ',')
            p++;
    }
    if (!c->n_nodes) {
        snprintf(err, errlen, "--node: no node given");
        return false;
    }
    if (cfg->api_key) {
        struct buf h;
        buf_init(&h, 64);
        buf_printf(&h, "Authorization: ApiKey %s", cfg->api_key);
        c->auth_headers = curl_slist_append(NULL, buf_cstr(&h));
        buf_fini(&h);
    }
    c->sync = curl_easy_init();
    return true;
}

void es_client_fini(struct es_client *c)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        free(c->nodes[i].url);
        free(c->nodes[i].shown);
    }
    free(c->nodes);
    curl_slist_free_all(c->auth_headers);
    if (c->sync)
        curl_easy_cleanup(c->sync);
    memset(c, 0, sizeof *c);
}

void es_client_setup(struct es_client *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->cfg.insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->cfg.insecure ? 0L : 2L);
    if (c->cfg.cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.cacert);
    if (c->cfg.user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        if (c->cfg.password) {
            curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg.user);
            curl_easy_setopt(h, CURLOPT_PASSWORD, c->cfg.password);
        } else {
            curl_easy_setopt(h, CURLOPT_USERPWD, c->cfg.user);
        }
    }
}

size_t es_client_pick(struct es_client *c, double now)
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

void es_client_node_failed(struct es_client *c, size_t node, double now)
{
    struct es_node *n = &c->nodes[node];
    n->down_until = now + n->backoff;
    n->backoff = n->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : n->backoff * 2;
}

void es_client_node_ok(struct es_client *c, size_t node)
{
    c->nodes[node].down_until = 0;
    c->nodes[node].backoff = BACKOFF_MIN;
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    buf_add(ud, data, size * n);
    return size * n;
}

static bool retryable(long status) { return status == 429 || status == 408 || status >= 500; }

long es_request(struct es_client *c, const char *method, const char *path, const char *body,
                size_t bodylen, struct buf *resp, int max_tries)
{
    double last_said = 0;
    int tries = 0;
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    for (struct curl_slist *a = c->auth_headers; a; a = a->next)
        hdr = curl_slist_append(hdr, a->data);
    for (;;) {
        double now = es_now();
        size_t ni = es_client_pick(c, now);
        struct es_node *node = &c->nodes[ni];
        if (max_tries && tries >= max_tries)
            break;
        if (node->down_until > now) {
            double wait = node->down_until - now;
            if (max_tries)
                break; /* the caller does not wait */
            if (now - last_said >= 10) {
                log_warn("waiting for %s (%s); retrying in %.1f s", node->shown, c->error, wait);
                last_said = now;
            }
            usleep((useconds_t)(wait * 1e6));
        }
        tries++;
        CURL *h = c->sync;
        curl_easy_reset(h);
        es_client_setup(c, h);
        struct buf url;
        buf_init(&url, 128);
        buf_printf(&url, "%s%s", node->url, path);
        buf_reset(resp);
        curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&url));
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
        } else if (strcmp(method, "GET") == 0) {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
        CURLcode rc = curl_easy_perform(h);
        buf_fini(&url);
        long status = 0;
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && !retryable(status)) {
            es_client_node_ok(c, ni);
            curl_slist_free_all(hdr);
            buf_cstr(resp);
            return status;
        }
        if (rc != CURLE_OK)
            snprintf(c->error, sizeof c->error, "%s", curl_easy_strerror(rc));
        else
            snprintf(c->error, sizeof c->error, "HTTP %ld on %s %s", status, method, path);
        es_client_node_failed(c, ni, es_now());
    }
    curl_slist_free_all(hdr);
    return -1;
}

bool es_client_connect(struct es_client *c)
{
    double deadline = es_now() + c->cfg.start_wait;
    struct buf resp;
    buf_init(&resp, 1024);
    int give_up = 0;
    long status = -1;
    for (;;) {
        /* One attempt on every node, then wait out the backoff, until the deadline. */
        for (size_t i = 0; i < c->n_nodes; i++)
            c->nodes[i].down_until = 0;
        status = -1;
        for (size_t k = 0; k < c->n_nodes && status < 0; k++) {
            CURL *h = c->sync;
            struct es_node *node = &c->nodes[k];
            curl_easy_reset(h);
            es_client_setup(c, h);
            curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
            struct curl_slist *hdr = NULL;
            for (struct curl_slist *a = c->auth_headers; a; a = a->next)
                hdr = curl_slist_append(hdr, a->data);
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
            struct buf url;
            buf_init(&url, 128);
            buf_printf(&url, "%s/", node->url);
            curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&url));
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
            curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
            buf_reset(&resp);
            CURLcode rc = curl_easy_perform(h);
            buf_fini(&url);
            curl_slist_free_all(hdr);
            if (rc != CURLE_OK) {
                snprintf(c->error, sizeof c->error, "%s: %s", node->shown, curl_easy_strerror(rc));
                continue;
            }
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            if (status == 401 || status == 403) {
                snprintf(c->error, sizeof c->error,
                         "%s refused the credentials (HTTP %ld): check --user/--api-key or "
                         "ESPCAP_USER/ESPCAP_PASSWORD/ESPCAP_API_KEY", node->shown, status);
                give_up = 1;
                break;
            }
            if (status != 200) {
                snprintf(c->error, sizeof c->error, "%s: HTTP %ld on GET /", node->shown, status);
                status = -1;
            } else {
                c->answered = k;
            }
        }
        if (status == 200 || give_up)
            break;
        double now = es_now();
        if (now >= deadline) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s", c->error);
            snprintf(c->error, sizeof c->error, "cannot reach a node after %.0f s: %.400s",
                     c->cfg.start_wait, tmp);
            break;
        }
        double wait = c->nodes[0].backoff;
        c->nodes[0].backoff = wait * 2 > BACKOFF_MAX ? BACKOFF_MAX : wait * 2;
        if (now + wait > deadline)
            wait = deadline - now;
        log_warn("cannot reach %s; retrying in %.1f s", c->error, wait);
        for (double w = 0; w < wait && !(c->cfg.stop && *c->cfg.stop); w += 0.1)
            usleep(100000);
        if (c->cfg.stop && *c->cfg.stop) {
            snprintf(c->error, sizeof c->error, "stopped by a signal while waiting for a node");
            break;
        }
    }
    for (size_t i = 0; i < c->n_nodes; i++)
        es_client_node_ok(c, i);
    if (status != 200 || give_up) {
        buf_fini(&resp);
        return false;
    }

    struct jspan v;
    char dist[32] = "";
    if (ejson_get(resp.p, resp.len, "version.distribution", &v))
        ejson_text(v, dist, sizeof dist);
    if (!ejson_get(resp.p, resp.len, "version.number", &v) ||
        !ejson_text(v, c->version, sizeof c->version)) {
        snprintf(c->error, sizeof c->error, "%s: GET / did not say which version it runs",
                 c->nodes[c->answered].shown);
        buf_fini(&resp);
        return false;
    }
    buf_fini(&resp);
    c->engine = strcmp(dist, "opensearch") == 0 ? ENGINE_OPENSEARCH : ENGINE_ELASTICSEARCH;
    if (sscanf(c->version, "%d.%d", &c->major, &c->minor) != 2) {
        snprintf(c->error, sizeof c->error, "unreadable version '%s'", c->version);
        return false;
    }
    if (c->engine == ENGINE_OPENSEARCH) {
        c->composable_templates = true;
        c->unsigned_long = c->major > 2 || (c->major == 2 && c->minor >= 8);
    } else {
        if (c->major < 7) {
            snprintf(c->error, sizeof c->error,
                     "Elasticsearch %s is not supported: espcap needs 7.0 or later", c->version);
            return false;
        }
        c->composable_templates = c->major > 7 || c->minor >= 8;
        c->unsigned_long = c->major > 7 || c->minor >= 10;
    }
    return true;
}
