/* http_int: what the HTTP client's files share (http_client.c, http_call.c); not for
 * callers, as libpcap's pcap-int.h. */
#ifndef ESPCAP_HTTP_INT_H
#define ESPCAP_HTTP_INT_H

#include <curl/curl.h>

#include "http_client.h"

enum req_state { RS_IDLE, RS_WAITING, RS_ACTIVE };

struct http_client {
    struct http_config cfg;     /* defaults filled in */
    struct http_node *nodes;
    size_t n_nodes;
    size_t next;                /* round robin */
    struct curl_slist *headers; /* cfg.headers */
    struct buf ca;              /* cfg.cacert's contents, read once at the start (a live
                                 * capture gives up the rights to read it later) */
    CURLM *multi;
    CURL *sync;
    struct http_req **out;      /* submitted, done not yet called, in submission order */
    size_t n_out, cap_out;
    size_t active;
    uint64_t seq;
    uint64_t bytes_out;
    char error[512];
    char curl_error[CURL_ERROR_SIZE]; /* the sync handle's CURLOPT_ERRORBUFFER */
    CURLcode sync_rc;                 /* of the last synchronous send */
};

/* Where a transfer's answer goes: at most limit bytes, else *too_big and a failure. */
struct http_sink_to {
    struct buf *b;
    size_t limit;
    bool *too_big;
};

size_t http_collect(char *data, size_t size, size_t n, void *ud); /* ud: struct http_sink_to */
/* Everything a request to node needs on an easy handle (reset first): TLS, auth,
 * time-outs, an error buffer (errbuf, CURL_ERROR_SIZE bytes, emptied). */
void http_setup_handle(struct http_client *c, CURL *h, size_t node, long connect_ms,
                       long total_ms, char *errbuf);
/* Why a transfer failed: curl's details when its error buffer has them, else the code's
 * words. */
void http_reason(char *out, size_t outlen, CURLcode rc, const char *errbuf);
/* A failure to verify the node's certificate (untrusted, wrong name, bad CA bundle). */
bool http_tls_refused(CURLcode rc);
void http_set_method(CURL *h, const char *method, const char *body, size_t len);
bool http_retryable(long status); /* 408, 429, 5xx */

#endif
