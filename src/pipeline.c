/* pipeline: the per-packet loop, and the loop over a feed's sources. */
#include "pipeline.h"

#include <stdio.h>
#include <time.h>

#include "opt/options.h"
#include "report.h"
#include "util/log.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Time-based work: the sink's flushing and retries, the feed's state file, progress and
 * statistics lines. */
static int tick(struct pipeline *p)
{
    if (p->sink->ops->tick(p->sink) != 0) {
        log_error("%s", p->sink->error);
        return -1;
    }
    cap_feed_tick(p->feed);
    if (p->report)
        report_tick(p->report, p);
    return 0;
}

int pipeline_deliver(void *ctx, const char *doc, size_t len, const struct doc_info *info)
{
    struct pipeline *p = ctx;
    if (p->sink->ops->write(p->sink, doc, len, info) != 0) {
        log_error("%s", p->sink->error);
        return -1;
    }
    p->stats.documents++;
    p->stats.cut_values += info->cut_values;
    return 0;
}

static enum pipe_result farm_failed(struct pipeline *p)
{
    const char *why = farm_error(p->farm);
    if (why && *why)
        log_error("%s", why);
    return PIPE_FATAL;
}

enum pipe_result pipeline_run(struct pipeline *p, struct cap_source *src)
{
    farm_begin_source(p->farm, src);
    p->stats.files++;

    uint64_t n = 0, last_tick = now_ms();
    struct cap_packet pkt;
    enum cap_status st = CAP_END;
    for (;;) {
        /* A file stops between packets; a live source hands on what it holds, then ends. */
        if (*p->stop && !src->live)
            return PIPE_STOPPED;
        st = cap_next(src, &pkt);
        const struct cap_event *ev;
        size_t n_ev = cap_events(src, &ev);
        for (size_t i = 0; i < n_ev; i++)
            farm_event(p->farm, &ev[i]);
        if (st == CAP_IDLE) {
            /* a quiet interface: the workers get what waits for a batch, the sink ticks */
            last_tick = now_ms();
            if (farm_flush(p->farm, false) != 0)
                return farm_failed(p);
            if (tick(p) != 0)
                return PIPE_FATAL;
            continue;
        }
        if (st != CAP_PACKET)
            break;
        n++;
        p->stats.packets++;
        if (farm_packet(p->farm, pkt.rec, pkt.data, (uint32_t)n, src->id,
                        cap_packet_hash(pkt.rec, pkt.data)) != 0)
            return farm_failed(p);
        /* Time-based work every 256 packets, and at least every 100 ms when packets keep
         * coming slowly. */
        if (((n & 255) == 0 || (src->live && now_ms() - last_tick >= 100)) &&
            (last_tick = now_ms(), tick(p) != 0))
            return PIPE_FATAL;
    }
    if (st == CAP_ERROR) {
        log_warn("%s: %s, after %llu complete packet%s", src->name, src->error,
                 (unsigned long long)n, n == 1 ? "" : "s");
        p->stats.failed_files++;
        return PIPE_INPUT;
    }
    return PIPE_OK;
}

/* Every document of the packets read so far to the sink. */
static bool drain(struct pipeline *p)
{
    if (farm_flush(p->farm, true) != 0) {
        farm_failed(p);
        return false;
    }
    return true;
}

/* Waits until the sink holds nothing pending (every document delivered, already present,
 * dead-lettered, or spooled). false: stopped by a signal first, or the sink failed (*r). */
static bool settle(struct pipeline *p, enum pipe_result *r)
{
    if (!drain(p)) {
        *r = PIPE_FATAL;
        return false;
    }
    if (p->sink->ops->flush(p->sink) != 0) {
        log_error("%s", p->sink->error);
        *r = PIPE_FATAL;
        return false;
    }
    while (p->sink->stats.pending && !*p->stop) {
        if (tick(p) != 0) {
            *r = PIPE_FATAL;
            return false;
        }
        nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
    }
    return p->sink->stats.pending == 0;
}

static enum pipe_result run_feed(struct pipeline *p, struct cap_feed *feed)
{
    enum pipe_result worst = PIPE_OK;
    p->feed = feed;
    while (!*p->stop) {
        struct cap_feed_item it;
        enum cap_feed_status st = cap_feed_next(feed, &it);
        if (st == CAP_FEED_END)
            break;
        if (st == CAP_FEED_IDLE) {
            if (farm_flush(p->farm, false) != 0)
                return farm_failed(p);
            if (tick(p) != 0)
                return PIPE_FATAL;
            continue;
        }
        if (st == CAP_FEED_FAILED) {
            if (it.fatal) {
                log_error("%s", it.error);
                p->open_failed = true;
                p->open_error = it.why;
                return PIPE_FATAL;
            }
            log_warn("%s: %s", it.name, it.error);
            if (!it.whole_feed)
                p->stats.files++;
            p->stats.failed_files++;
            worst = PIPE_INPUT;
            cap_feed_finished(feed, &it, false);
            continue;
        }
        p->current = it.src;
        if (it.src->live) {
            p->stats.live = true;
            snprintf(p->stats.interface, sizeof p->stats.interface, "%s", it.src->name);
            if (p->live_opened && p->live_opened(p->live_ctx) != 0) {
                p->current = NULL;
                cap_close(it.src);
                return PIPE_FATAL;
            }
        }
        enum pipe_result r = pipeline_run(p, it.src);
        if (it.src->live) {
            struct cap_live_stats ls;
            if (cap_live_stats(it.src, &ls)) {
                p->stats.dropped_kernel = ls.dropped_kernel;
                p->stats.dropped_interface = ls.dropped_interface;
            }
        }
        p->stats.bytes_done += it.size;
        p->current = NULL;
        cap_close(it.src);
        if (r == PIPE_FATAL)
            return r;
        if (r == PIPE_STOPPED) /* not finished: read again next time */
            return worst == PIPE_INPUT ? worst : r;
        if (r == PIPE_INPUT)
            worst = PIPE_INPUT;
        cap_feed_finished(feed, &it, r == PIPE_OK);
        /* With a state file a file is done only once its documents are settled: wait for
         * that now, so that a crash later never leaves a file marked done too early, and
         * never more than one file to read again. */
        if (cap_feed_keeps_state(feed)) {
            enum pipe_result sr = PIPE_OK;
            if (settle(p, &sr))
                cap_feed_settled(feed);
            else if (sr == PIPE_FATAL)
                return sr;
        }
    }
    return worst;
}

enum pipe_result pipeline_run_feed(struct pipeline *p, struct cap_feed *feed)
{
    enum pipe_result r = run_feed(p, feed);
    /* What was read is delivered, also after a stop signal: the workers finish first. */
    if (r != PIPE_FATAL && !drain(p))
        r = PIPE_FATAL;
    const struct farm_stats *fs = farm_stats(p->farm);
    p->stats.filtered = fs->filtered;
    p->stats.crashed = fs->crashed;
    p->stats.too_large = fs->too_large;
    return r;
}

int pipeline_exit_status(const struct pipeline *p, enum pipe_result r, bool sink_closed,
                         bool endless)
{
    int status = EXIT_ALL_OK;
    if (r == PIPE_INPUT)
        status = EXIT_PARTIAL;
    if (r == PIPE_FATAL)
        status = p->open_failed && (p->open_error == CAP_OPEN_BAD_FILTER ||
                                    p->open_error == CAP_OPEN_NO_DEVICE)
                     ? EXIT_USAGE
                     : EXIT_FATAL;
    if (!sink_closed)
        status = EXIT_FATAL;
    if ((p->sink->stats.dead_lettered || p->sink->stats.dropped || p->stats.crashed ||
         p->stats.too_large) &&
        status == EXIT_ALL_OK)
        status = EXIT_PARTIAL;
    /* Ctrl-C is how a live capture or a watch normally ends; a file run cut short says so. */
    if (*p->stop && status == EXIT_ALL_OK && !p->stats.live && !endless)
        status = 128 + *p->stop;
    return status;
}
