/* report: progress, statistics and summary lines, the JSON summary, versions. */
#include "report.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "doc/json.h"
#include "pipeline.h"
#include "util/log.h"

#ifndef ESPCAP_VERSION
#define ESPCAP_VERSION "0.1.0"
#endif

#define PROGRESS_TTY_S 0.5   /* a terminal's progress line is redrawn this often */
#define PROGRESS_LINE_S 5.0  /* elsewhere (--progress), one line this often */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void report_init(struct report *r, const struct report_config *cfg)
{
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->summary_fd = -1;
    r->t0 = r->last_progress = r->last_stats = r->rate_t = now();
    if (cfg->progress && !log_quiet())
        log_status_begin(cfg->in_place);
    else
        r->cfg.progress = false;
}

/* "12.3/40.0 MiB": both in the unit of the total. */
static void fmt_bytes(char *out, size_t len, uint64_t done, uint64_t total)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    double scale = 1;
    while (u < 4 && (double)total >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    if (!u)
        snprintf(out, len, "%llu/%llu B", (unsigned long long)done, (unsigned long long)total);
    else
        snprintf(out, len, "%.1f/%.1f %s", done / scale, total / scale, units[u]);
}

static void fmt_duration(char *out, size_t len, double s)
{
    unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(out, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, len, "%lu:%02lu", t / 60, t % 60);
}

static void progress(struct report *r, const struct pipeline *p, double t, bool final)
{
    uint64_t files_total = 0, bytes_total = 0;
    if (p->feed)
        cap_feed_totals(p->feed, &files_total, &bytes_total);
    uint64_t files_done = p->stats.files - (p->current ? 1 : 0);
    uint64_t bytes = p->stats.bytes_done + (p->current ? cap_bytes_read(p->current) : 0);
    if (files_total < files_done + (p->current ? 1 : 0))
        files_total = files_done + (p->current ? 1 : 0);
    if (bytes_total < bytes)
        bytes_total = bytes; /* a file that grew */
    double dt = t - r->rate_t;
    if (dt >= 0.25 || final) {
        double inst = dt > 0 ? (double)(p->stats.documents - r->rate_docs) / dt : 0;
        r->rate = r->rate_docs ? 0.5 * r->rate + 0.5 * inst : inst;
        r->rate_t = t;
        r->rate_docs = p->stats.documents;
    }
    double elapsed = t - r->t0;
    char b[64], when[64], d[32];
    fmt_bytes(b, sizeof b, bytes, bytes_total);
    unsigned pct = bytes_total ? (unsigned)(100.0 * (double)bytes / (double)bytes_total) : 100;
    if (final) {
        fmt_duration(d, sizeof d, elapsed);
        snprintf(when, sizeof when, "in %s", d);
    } else if (!p->current && files_done >= files_total && r->cfg.watch_dir) {
        snprintf(when, sizeof when, "watching %s", r->cfg.watch_dir);
    } else if (bytes && elapsed > 0) {
        fmt_duration(d, sizeof d, (double)(bytes_total - bytes) * elapsed / (double)bytes);
        snprintf(when, sizeof when, "ETA %s", d);
    } else {
        snprintf(when, sizeof when, "ETA --:--");
    }
    /* short enough for 80 columns: "espcap: 3/10 files  4.5/12.0 MiB  37%  52311 pkts
     * 8120 docs/s  ETA 0:09" */
    log_status("%s%llu/%llu files  %s  %u%%  %llu pkts  %.0f docs/s  %s",
               r->cfg.in_place ? "" : "progress: ", (unsigned long long)files_done,
               (unsigned long long)files_total, b, pct, (unsigned long long)p->stats.packets,
               final ? (elapsed > 0 ? p->stats.documents / elapsed : 0) : r->rate, when);
}

static void stats_line(struct report *r, const struct pipeline *p, double t)
{
    struct cap_live_stats ls = { 0, p->stats.dropped_kernel, p->stats.dropped_interface };
    if (p->current && p->current->live)
        cap_live_stats(p->current, &ls);
    const struct sink_stats *k = &p->sink->stats;
    double dt = t - r->last_stats;
    log_info("stats: packets=%llu dropped_kernel=%llu dropped_interface=%llu documents=%llu "
             "rate=%.0f/s pending=%llu spool_bytes=%llu rejected=%llu",
             (unsigned long long)p->stats.packets, (unsigned long long)ls.dropped_kernel,
             (unsigned long long)ls.dropped_interface, (unsigned long long)p->stats.documents,
             dt > 0 ? (double)(p->stats.documents - r->stats_docs) / dt : 0.0,
             (unsigned long long)k->pending, (unsigned long long)k->spool_bytes,
             (unsigned long long)k->dead_lettered);
    r->stats_docs = p->stats.documents;
    r->last_stats = t;
}

void report_tick(struct report *r, const struct pipeline *p)
{
    double t = now();
    if (r->cfg.progress && t - r->last_progress >= (r->cfg.in_place ? PROGRESS_TTY_S
                                                                    : PROGRESS_LINE_S)) {
        progress(r, p, t, false);
        r->last_progress = t;
    }
    if (r->cfg.stats_interval > 0 && p->current && p->current->live &&
        t - r->last_stats >= r->cfg.stats_interval)
        stats_line(r, p, t);
}

static void json_key_u64(struct buf *b, const char *key, uint64_t v)
{
    buf_printf(b, "%s\"%s\":", b->len > 1 ? "," : "", key);
    json_u64(b, v);
}

void report_before_drop(struct report *r)
{
    if (r->cfg.summary_json && r->summary_fd < 0)
        r->summary_fd = open(r->cfg.summary_json, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
}

static void write_json(struct report *r, const char *path, const struct buf *b)
{
    if (r->summary_fd >= 0) {
        /* opened before root was given up: written in place */
        bool ok = (lseek(r->summary_fd, 0, SEEK_SET) == 0 || errno == ESPIPE) &&
                  write(r->summary_fd, b->p, b->len) == (ssize_t)b->len;
        struct stat st;
        if (ok && fstat(r->summary_fd, &st) == 0 && S_ISREG(st.st_mode))
            ok = ftruncate(r->summary_fd, (off_t)b->len) == 0;
        if (!ok)
            log_error("--summary-json: '%s': %s", path, strerror(errno));
        close(r->summary_fd);
        r->summary_fd = -1;
        return;
    }
    struct stat st;
    bool replace = stat(path, &st) != 0 || S_ISREG(st.st_mode);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const char *target = replace ? tmp : path;
    FILE *f = fopen(target, "w");
    bool ok = f && fwrite(b->p, 1, b->len, f) == b->len;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (ok && replace && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        log_error("--summary-json: '%s': %s", path, strerror(errno));
        if (replace)
            unlink(tmp);
    }
}

void report_end(struct report *r, const struct pipeline *p, int exit_status, bool opened)
{
    double t = now(), elapsed = t - r->t0;
    if (r->cfg.progress) {
        progress(r, p, t, true);
        log_status_end();
    }
    if (!opened)
        return;
    const struct run_stats *s = &p->stats;
    const struct sink_stats *k = &p->sink->stats;
    if (s->live)
        log_report("capture: interface=%s captured=%llu dropped_kernel=%llu "
                   "dropped_interface=%llu", s->interface,
                   (unsigned long long)s->packets, (unsigned long long)s->dropped_kernel,
                   (unsigned long long)s->dropped_interface);
    char extra[320] = "";
    if (r->cfg.indexing)
        snprintf(extra, sizeof extra, "indexed=%llu already_present=%llu retried=%llu "
                 "rejected=%llu spooled=%llu replayed=%llu dropped=%llu out_of_range=%llu ",
                 (unsigned long long)k->written, (unsigned long long)k->already,
                 (unsigned long long)k->retried, (unsigned long long)k->dead_lettered,
                 (unsigned long long)k->spooled, (unsigned long long)k->replayed,
                 (unsigned long long)k->dropped, (unsigned long long)k->out_of_range);
    uint64_t cut = s->cut_values;
    double rate = elapsed > 0 ? (double)s->packets / elapsed : 0.0;
    char filtered[48] = "", large[48] = "";
    if (r->cfg.filtering)
        snprintf(filtered, sizeof filtered, "filtered=%llu ", (unsigned long long)s->filtered);
    if (s->too_large) /* rare: only when it happened */
        snprintf(large, sizeof large, "too_large=%llu ", (unsigned long long)s->too_large);
    log_report("summary: files=%llu failed_files=%llu packets=%llu documents=%llu %s"
               "crashed=%llu %s%scut_values=%llu bytes=%llu elapsed=%.2fs rate=%.0f/s",
               (unsigned long long)s->files, (unsigned long long)s->failed_files,
               (unsigned long long)s->packets, (unsigned long long)s->documents, filtered,
               (unsigned long long)s->crashed, large, extra, (unsigned long long)cut,
               (unsigned long long)k->bytes, elapsed, rate);
    if (!r->cfg.summary_json)
        return;
    struct buf b;
    buf_init(&b, 1024);
    buf_addc(&b, '{');
    json_key_u64(&b, "files", s->files);
    json_key_u64(&b, "failed_files", s->failed_files);
    json_key_u64(&b, "packets", s->packets);
    json_key_u64(&b, "documents", s->documents);
    if (r->cfg.filtering)
        json_key_u64(&b, "filtered", s->filtered);
    json_key_u64(&b, "crashed", s->crashed);
    if (s->too_large)
        json_key_u64(&b, "too_large", s->too_large);
    if (r->cfg.indexing) {
        json_key_u64(&b, "indexed", k->written);
        json_key_u64(&b, "already_present", k->already);
        json_key_u64(&b, "retried", k->retried);
        json_key_u64(&b, "rejected", k->dead_lettered);
        json_key_u64(&b, "spooled", k->spooled);
        json_key_u64(&b, "replayed", k->replayed);
        json_key_u64(&b, "dropped", k->dropped);
        json_key_u64(&b, "out_of_range", k->out_of_range);
    }
    json_key_u64(&b, "cut_values", cut);
    json_key_u64(&b, "bytes", k->bytes);
    buf_printf(&b, ",\"elapsed\":%.2f,\"rate\":%.0f", elapsed, rate);
    if (p->farm) {
        /* the packets each dissection worker got: how well the flow hash spread them */
        const struct farm_stats *fs = farm_stats(p->farm);
        buf_printf(&b, ",\"workers\":%u,\"worker_packets\":[", fs->slots);
        for (unsigned i = 0; i < fs->slots; i++)
            buf_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)fs->slot_packets[i]);
        buf_addc(&b, ']');
    }
    if (s->live) {
        buf_adds(&b, ",\"interface\":");
        json_str(&b, s->interface, strlen(s->interface), 0);
        json_key_u64(&b, "captured", s->packets);
        json_key_u64(&b, "dropped_kernel", s->dropped_kernel);
        json_key_u64(&b, "dropped_interface", s->dropped_interface);
    }
    buf_printf(&b, ",\"exit_status\":%d}\n", exit_status);
    write_json(r, r->cfg.summary_json, &b);
    buf_fini(&b);
}

void report_versions(FILE *out)
{
    const curl_version_info_data *c = curl_version_info(CURLVERSION_NOW);
    fprintf(out, "espcap %s\n", ESPCAP_VERSION);
    fprintf(out, "Wireshark %s (libwireshark, dissecting in-process)\n", dis_wireshark_version());
    fprintf(out, "%s\n", cap_live_lib_version());
    fprintf(out, "libcurl %s with %s\n", c->version, c->ssl_version ? c->ssl_version : "no TLS");
    fprintf(out, "GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
    fprintf(out, "zlib %s\n", zlibVersion());
}
