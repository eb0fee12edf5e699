/* pipeline: the per-packet loop. */
#include "pipeline.h"

#include <time.h>

#include "util/log.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Hands the dissectors what the capture said before this packet (pcapng secrets, names,
 * interfaces). Live sources, the only ones renewed by --reset-every, say nothing. */
static void pass_events(struct dis *dis, struct cap_source *src)
{
    const struct cap_event *ev;
    size_t n = cap_events(src, &ev);
    for (size_t i = 0; i < n; i++) {
        const struct cap_event *e = &ev[i];
        switch (e->type) {
        case CAP_EV_SECRETS: dis_add_secrets(e->u32, e->data, e->len); break;
        case CAP_EV_IPV4_NAME: dis_add_ipv4_name(e->u32, e->name); break;
        case CAP_EV_IPV6_NAME: dis_add_ipv6_name(e->addr6, e->name); break;
        case CAP_EV_INTERFACE: dis_set_interface(dis, e->u32, e->name, e->description); break;
        }
    }
}

enum pipe_result pipeline_run(struct pipeline *p, struct cap_source *src)
{
    struct doc_source ds = {
        .capture = src->live ? "pcap_live" : "pcap_file",
        .file_name = src->live ? NULL : src->name,
        .file_mtime = src->mtime,
        .interface = src->live ? src->name : NULL,
    };
    doc_set_source(p->doc, &ds);
    if (p->sink->ops->begin_source(p->sink, src->name) != 0) {
        log_error("%s", p->sink->error);
        return PIPE_FATAL;
    }
    dis_begin_session(p->dis, src->file_type_subtype);
    p->stats.files++;

    uint64_t n = 0, in_session = 0, last_tick = now_ms();
    nstime_t prev_ts = { 0, 0 }, first_ts = { 0, 0 };
    struct cap_packet pkt;
    enum cap_status st = CAP_END;
    for (;;) {
        /* A file stops between packets; a live source hands on what it holds, then ends. */
        if (*p->stop && !src->live)
            break;
        st = cap_next(src, &pkt);
        if (st == CAP_IDLE) {
            last_tick = now_ms();
            if (p->sink->ops->tick(p->sink) != 0) {
                log_error("%s", p->sink->error);
                return PIPE_FATAL;
            }
            continue;
        }
        if (st != CAP_PACKET)
            break;
        if (p->reset_every && in_session >= p->reset_every) {
            /* Bounded memory in long captures: drop Wireshark's per-session state
             * (conversations, reassembly), as tshark -M does; numbering goes on. */
            dis_begin_session(p->dis, src->file_type_subtype);
            in_session = 0;
        }
        pass_events(p->dis, src);
        uint32_t frame = (uint32_t)(n + 1);
        struct dis_frame fr = { frame, n > 0, prev_ts, n > 0 ? first_ts : pkt.rec->ts };
        if (n == 0)
            first_ts = pkt.rec->ts;
        prev_ts = pkt.rec->ts;
        bool passed;
        proto_tree *tree = dis_packet(p->dis, pkt.rec, pkt.data, &fr, &passed);
        in_session++;
        n++;
        p->stats.packets++;
        if (!passed) { /* the display filter (-Y) refuses it: dissected, not written */
            dis_end_packet(p->dis);
            p->stats.filtered++;
            continue;
        }
        struct doc_info info;
        const struct buf *doc = doc_build(p->doc, tree, pkt.rec, frame, &info);
        info.source_id = src->id;
        info.packet_hash = cap_packet_hash(pkt.rec, pkt.data);
        int rc = p->sink->ops->write(p->sink, doc->p, doc->len, &info);
        dis_end_packet(p->dis);
        if (rc != 0) {
            log_error("%s", p->sink->error);
            return PIPE_FATAL;
        }
        p->stats.documents++;
        /* Time-based work (flushing, retries, the spool) every 256 packets, and at least
         * every 100 ms when packets keep coming slowly. */
        if (((n & 255) == 0 || (src->live && now_ms() - last_tick >= 100)) &&
            (last_tick = now_ms(), p->sink->ops->tick(p->sink) != 0)) {
            log_error("%s", p->sink->error);
            return PIPE_FATAL;
        }
    }
    if (st == CAP_ERROR) {
        log_warn("%s: %s, after %llu complete packet%s", src->name, src->error,
                 (unsigned long long)n, n == 1 ? "" : "s");
        p->stats.failed_files++;
        return PIPE_INPUT;
    }
    return PIPE_OK;
}
