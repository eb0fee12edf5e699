/* http_call: plain (synchronous) requests, and the wait for a node at start-up. They use a
 * handle of their own: the asynchronous transfers pause meanwhile. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "http_int.h"

/* One send on one node: the HTTP status, or -1 with c->error = curl's reason. */
static long send_once(struct http_client *c, size_t node, const char *method, const char *path,
                      const char *body, size_t len, const char *content_type, long connect_ms,
                      long total_ms, struct buf *answer)
{
    CURL *h = c->sync;
    http_setup_handle(c, h, node, connect_ms, total_ms, c->curl_error);
    struct buf url;
    buf_init(&url, 128);
    buf_printf(&url, "%s%s", c->nodes[node].url, path);
    curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&url));
    struct curl_slist *hdr = NULL;
    if (content_type) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdr = curl_slist_append(hdr, ct);
    }
    for (struct curl_slist *a = c->headers; a; a = a->next)
        hdr = curl_slist_append(hdr, a->data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    http_set_method(h, method, body, len);
    bool too_big = false;
    struct http_sink_to t = { answer, c->cfg.max_answer, &too_big };
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    buf_reset(answer);
    CURLcode rc = curl_easy_perform(h);
    c->sync_rc = rc;
    curl_slist_free_all(hdr);
    buf_fini(&url);
    buf_cstr(answer);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else if (too_big)
        snprintf(c->error, sizeof c->error, "an answer larger than %zu bytes", t.limit);
    else
        http_reason(c->error, sizeof c->error, rc, c->curl_error);
    return status;
}

long http_call(struct http_client *c, const char *method, const char *path, const char *body,
               size_t bodylen, struct buf *answer, int max_tries)
{
    double last_said = 0;
    for (int tries = 0; !max_tries || tries < max_tries; tries++) {
        double now = http_now();
        size_t ni = http_pick(c, now);
        struct http_node *node = &c->nodes[ni];
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
        long status = send_once(c, ni, method, path, body, bodylen, "application/json",
                                c->cfg.connect_timeout_ms, c->cfg.timeout_ms, answer);
        if (status >= 0 && !http_retryable(status)) {
            http_node_ok(c, ni);
            return status;
        }
        if (status >= 0)
            snprintf(c->error, sizeof c->error, "HTTP %ld on %s %s", status, method, path);
        http_node_failed(c, ni, http_now());
    }
    return -1;
}

long http_wait_ready(struct http_client *c, const char *path, double wait,
                     volatile sig_atomic_t *stop, struct buf *answer, size_t *node)
{
    double deadline = http_now() + wait;
    /* Start-up probes give up sooner than requests: a node that does not answer then
     * is better reported early. */
    long connect_ms = c->cfg.connect_timeout_ms < 5000 ? c->cfg.connect_timeout_ms : 5000;
    long total_ms = c->cfg.timeout_ms < 15000 ? c->cfg.timeout_ms : 15000;
    double backoff = c->cfg.backoff_min;
    long status = -1;
    for (;;) {
        /* One send to every node, then wait out the backoff, until the deadline. */
        char tls[512] = "";
        for (size_t k = 0; k < c->n_nodes && status < 0; k++) {
            struct http_node *n = &c->nodes[k];
            long st = send_once(c, k, "GET", path, NULL, 0, NULL, connect_ms, total_ms, answer);
            if (st < 0) {
                char why[512];
                snprintf(why, sizeof why, "%s", c->error);
                snprintf(c->error, sizeof c->error, "%s: %.300s", n->shown, why);
                if (http_tls_refused(c->sync_rc) && !tls[0])
                    snprintf(tls, sizeof tls, "%s: cannot verify its TLS certificate: %.300s "
                             "(--cacert names the CA that signed it; --node must use a name "
                             "the certificate holds)", n->shown, why);
            } else if ((st >= 200 && st < 300) || st == 401 || st == 403) {
                status = st;
                *node = k;
            } else {
                snprintf(c->error, sizeof c->error, "%s: HTTP %ld on GET %s", n->shown, st, path);
            }
        }
        if (status >= 0)
            break;
        if (tls[0]) {
            snprintf(c->error, sizeof c->error, "%s", tls);
            break;
        }
        double now = http_now();
        if (now >= deadline) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s", c->error);
            snprintf(c->error, sizeof c->error, "cannot reach a node after %.0f s: %.400s",
                     wait, tmp);
            break;
        }
        double pause = backoff;
        backoff = backoff * 2 > c->cfg.backoff_max ? c->cfg.backoff_max : backoff * 2;
        if (now + pause > deadline)
            pause = deadline - now;
        log_warn("cannot reach %s; retrying in %.1f s", c->error, pause);
        for (double end = now + pause; http_now() < end && !(stop && *stop);)
            usleep(pause < 0.1 ? (useconds_t)(pause * 1e6) + 1 : 100000);
        if (stop && *stop) {
            snprintf(c->error, sizeof c->error, "stopped by a signal while waiting for a node");
            break;
        }
    }
    for (size_t i = 0; i < c->n_nodes; i++)
        http_node_ok(c, i);
    return status;
}
