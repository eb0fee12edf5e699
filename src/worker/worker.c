/* worker: the loop of a dissection worker process (see worker.h). */
#include "worker.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture/cap.h"
#include "../util/buf.h"
#include "recwire.h"
#include "wire.h"

struct worker {
    struct dis *dis;
    struct doc *doc;
    struct ring *in, *out;
    struct wire_decoder dec;
    uint32_t crash_frame;   /* the test hook; 0 = none */
    bool crash_once;
    char *source_name;
    uint32_t incarnation;
};

static void wait_fd(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 1000) > 0) /* the time-out only guards against a lost wake-up */
        ring_drain_fd(fd);
}

static void *reserve(struct worker *w, size_t len)
{
    void *p;
    while (!(p = ring_reserve(w->out, len)))
        if (ring_producer_should_sleep(w->out, len))
            wait_fd(w->out->wake_producer);
    return p;
}

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* The result of one packet: its document (or none) with its field ids, the definitions of
 * new ids, and the counters to renumber. */
static void put_result(struct worker *w, const struct wire_frame *f, const struct doc_info *info,
                       const struct buf *doc, uint32_t flags)
{
    size_t n_ids = doc ? info->n_fields : 0, n_defs = doc ? info->n_defs : 0;
    size_t n_cnt = info ? info->n_counters : 0; /* a filtered packet has counters too */
    size_t len = sizeof(struct wire_result) + n_ids * 4 + n_cnt * sizeof(struct wire_counter) +
                 (doc ? doc->len : 0);
    for (size_t i = 0; i < n_defs; i++)
        len += sizeof(struct wire_def) + pad4(info->defs[i].path_len);
    if (len > ring_max_record(w->out)) {
        /* A document larger than a quarter of the ring: no room for it (docs/INTERNALS.md
         * sizes the rings); the reader writes an error document in its place. */
        flags |= WIRE_TOO_LARGE;
        n_ids = n_defs = n_cnt = 0;
        doc = NULL;
        len = sizeof(struct wire_result);
    }
    uint8_t *p = reserve(w, len), *o = p;
    struct wire_result r = { f->seq, f->frame, flags, info ? info->ts_sec : 0,
                             info ? info->ts_nsec : 0, (uint32_t)n_ids, (uint32_t)n_defs,
                             (uint32_t)n_cnt, doc ? (uint32_t)doc->len : 0, w->incarnation,
                             doc ? info->cut_values : 0, 0 };
    memcpy(o, &r, sizeof r);
    o += sizeof r;
    if (n_ids) {
        memcpy(o, info->fields, n_ids * 4);
        o += n_ids * 4;
    }
    for (size_t i = 0; i < n_defs; i++) {
        const struct doc_field_def *d = &info->defs[i];
        struct wire_def wd = { d->id, (uint32_t)d->cls, (uint32_t)d->path_len };
        memcpy(o, &wd, sizeof wd);
        o += sizeof wd;
        memcpy(o, d->path, d->path_len);
        memset(o + d->path_len, 0, pad4(d->path_len) - d->path_len);
        o += pad4(d->path_len);
    }
    for (size_t i = 0; i < n_cnt; i++) {
        const struct doc_counter *c = &info->counters[i];
        struct wire_counter wc = { c->offset, c->len, c->kind, 0, c->value };
        memcpy(o, &wc, sizeof wc);
        o += sizeof wc;
    }
    if (doc) {
        memcpy(o, doc->p, doc->len);
        o += doc->len;
    }
    ring_commit(w->out, WIRE_RESULT, (size_t)(o - p));
}

static void on_source(struct worker *w, const uint8_t *p, size_t n)
{
    struct wire_source s;
    if (n < sizeof s)
        _exit(2);
    memcpy(&s, p, sizeof s);
    if (sizeof s + s.name_len > n)
        _exit(2);
    free(w->source_name);
    w->source_name = xmalloc(s.name_len + 1);
    memcpy(w->source_name, p + sizeof s, s.name_len);
    w->source_name[s.name_len] = '\0';
    struct doc_source ds = {
        .capture = s.live ? "pcap_live" : "pcap_file",
        .file_name = s.live ? NULL : w->source_name,
        .file_mtime = (time_t)s.mtime,
        .interface = s.live ? w->source_name : NULL,
    };
    doc_set_source(w->doc, &ds);
    dis_set_file_type(w->dis, s.file_type_subtype);
    w->incarnation = s.incarnation;
}

static void on_event(struct worker *w, const uint8_t *p, size_t n)
{
    struct wire_event e;
    if (n < sizeof e)
        _exit(2);
    memcpy(&e, p, sizeof e);
    if ((uint64_t)sizeof e + e.name_len + e.description_len + e.data_len > n)
        _exit(2);
    const char *name = e.name_len ? (const char *)p + sizeof e : NULL;
    const char *descr = e.description_len ? (const char *)p + sizeof e + e.name_len : NULL;
    const uint8_t *data = p + sizeof e + e.name_len + e.description_len;
    switch (e.type) {
    case CAP_EV_SECRETS: dis_add_secrets(e.u32, data, e.data_len); break;
    case CAP_EV_IPV4_NAME: if (name) dis_add_ipv4_name(e.u32, name); break;
    case CAP_EV_IPV6_NAME: if (name) dis_add_ipv6_name(e.addr6, name); break;
    case CAP_EV_INTERFACE: dis_set_interface(w->dis, e.u32, name, descr); break;
    }
}

static void on_packet(struct worker *w, const uint8_t *p, size_t n)
{
    struct wire_frame f;
    const uint8_t *data;
    if (!recwire_decode(&w->dec, p, n, &f, &data))
        _exit(2);
    if (w->crash_frame && f.frame == w->crash_frame && !(w->crash_once && (f.flags & WIRE_RETRY)))
        abort();
    struct dis_frame fr = { f.frame, (f.flags & WIRE_HAS_PREV) != 0,
                            { (time_t)f.prev_secs, f.prev_nsecs },
                            { (time_t)f.first_secs, f.first_nsecs } };
    bool passed;
    proto_tree *tree = dis_packet(w->dis, &w->dec.rec, data, &fr, &passed);
    if (!passed) {
        struct doc_info none;
        memset(&none, 0, sizeof none);
        none.n_counters = doc_scan_counters(w->doc, tree, &none.counters);
        put_result(w, &f, &none, NULL, WIRE_FILTERED);
    } else {
        struct doc_info info;
        const struct buf *doc = doc_build(w->doc, tree, &w->dec.rec, f.frame, &info);
        put_result(w, &f, &info, doc, 0);
    }
    dis_end_packet(w->dis);
}

void worker_run(struct dis *dis, struct doc *doc, struct ring *in, struct ring *out)
{
    struct worker w = { .dis = dis, .doc = doc, .in = in, .out = out };
    recwire_decoder_init(&w.dec);
    const char *hook = getenv(WORKER_CRASH_ENV);
    if (hook) {
        w.crash_frame = (uint32_t)strtoul(hook, NULL, 10);
        w.crash_once = strstr(hook, ":once") != NULL;
    }
    for (;;) {
        uint32_t type;
        size_t n;
        const uint8_t *p = ring_peek(in, &type, &n);
        if (!p) {
            ring_wake(out); /* the reader may be waiting for the results we hold back */
            if (ring_consumer_should_sleep(in))
                wait_fd(in->wake_consumer);
            continue;
        }
        switch (type) {
        case WIRE_SOURCE: on_source(&w, p, n); break;
        case WIRE_EVENT: on_event(&w, p, n); break;
        case WIRE_PACKET: on_packet(&w, p, n); break;
        case WIRE_END: ring_release(in); ring_wake(in); ring_wake(out); _exit(0);
        default: _exit(2);
        }
        /* Released only now: a crash leaves the packet being dissected at the head. */
        ring_release(in);
    }
}
