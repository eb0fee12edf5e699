/* cap_feed: the sources of a run, handed out opened: one file, one interface, or the files
 * of a directory (sub-directories too, files done in an earlier run left out, and, watched,
 * every file that appears later once its writer has closed it). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../util/buf.h"
#include "../util/log.h"
#include "cap.h"
#include "cap_int.h"
#include "cap_state.h"

#define WATCH_POLL_MS 100     /* an idle watched feed comes back this often */
#define WAITING_CHECK_S 1.0   /* files not yet closed are looked at again this often */
#define RESCAN_S 30.0         /* a full scan catches what inotify could not tell */
#define STATE_SAVE_S 1.0      /* the state file is written at most this often (and at the end) */

enum kind { K_FILE, K_LIVE, K_DIR };

/* Read, not yet settled: becomes done in the state file once the sink holds none of its
 * documents. */
struct fin {
    char *rel;
    uint64_t size;
    int64_t mtime_ns;
    bool whole;
};

struct list {
    struct cap_entry *v;
    size_t head, n, cap;
};

struct cap_feed {
    enum kind kind;
    int step;                     /* one file, one interface: opened yet? */
    char *path;                   /* one file */
    uint64_t size;
    struct cap_live_config live;  /* strings borrowed from the caller */
    struct cap_dir_config cfg;    /* likewise */
    struct cap_walk walk;
    struct list queue;            /* to read, in order */
    struct list waiting;          /* not known to be closed yet (watch) */
    struct cap_entry current;     /* handed out last */
    struct fin *fin;
    size_t fin_n, fin_cap;
    struct cap_state *state;
    char *state_dir, *state_base; /* the state file, to leave it out of the walk */
    struct cap_watch *watch;
    bool scanned, ended, top_gone;
    double last_rescan, last_save, last_wait_check;
    uint64_t handed, handed_bytes;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- lists of entries ---- */

static void list_push(struct list *l, struct cap_entry *e)
{
    if (l->head && l->head * 2 >= l->n) {
        memmove(l->v, l->v + l->head, (l->n - l->head) * sizeof *l->v);
        l->n -= l->head;
        l->head = 0;
    }
    if (l->n == l->cap)
        l->v = xrealloc(l->v, (l->cap = l->cap * 2 + 64) * sizeof *l->v);
    l->v[l->n++] = *e;
    e->path = NULL;
}

static struct cap_entry *list_find(struct list *l, const char *rel)
{
    for (size_t i = l->head; i < l->n; i++)
        if (strcmp(l->v[i].rel, rel) == 0)
            return &l->v[i];
    return NULL;
}

static void list_remove(struct list *l, struct cap_entry *e)
{
    cap_entry_fini(e);
    size_t i = (size_t)(e - l->v);
    memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof *l->v);
    l->n--;
}

static void list_fini(struct list *l)
{
    for (size_t i = l->head; i < l->n; i++)
        cap_entry_fini(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---- one file, one interface ---- */

struct cap_feed *cap_feed_file(const char *path)
{
    struct cap_feed *f = xcalloc(1, sizeof *f);
    f->kind = K_FILE;
    f->path = xstrdup(path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        f->size = (uint64_t)st.st_size;
    return f;
}

struct cap_feed *cap_feed_live(const struct cap_live_config *cfg)
{
    struct cap_feed *f = xcalloc(1, sizeof *f);
    f->kind = K_LIVE;
    f->live = *cfg;
    return f;
}

static enum cap_feed_status one_next(struct cap_feed *f, struct cap_feed_item *it)
{
    if (f->step++)
        return CAP_FEED_END;
    f->handed = 1;
    if (f->kind == K_FILE) {
        it->name = f->path;
        it->size = f->size;
        it->src = cap_file_open(f->path, it->error, sizeof it->error);
        f->handed_bytes = f->size;
        return it->src ? CAP_FEED_SOURCE : CAP_FEED_FAILED;
    }
    const struct cap_live_config *c = &f->live;
    it->name = c->interface;
    it->src = cap_live_open(c, it->error, sizeof it->error, &it->why);
    if (!it->src) {
        it->fatal = true;
        return CAP_FEED_FAILED;
    }
    log_info("capturing on %s%s%s%s", c->interface, c->bpf ? " with filter \"" : "",
             c->bpf ? c->bpf : "", c->bpf ? "\"" : "");
    return CAP_FEED_SOURCE;
}

/* ---- a directory ---- */

static bool is_state_file(void *ctx, const char *path, const char *name)
{
    struct cap_feed *f = ctx;
    size_t bl = strlen(f->state_base);
    if (strncmp(name, f->state_base, bl) != 0 || (name[bl] && strcmp(name + bl, ".tmp") != 0))
        return false;
    char *dir = xstrdup(path), *slash = strrchr(dir, '/'), real[PATH_MAX];
    if (slash)
        *slash = '\0';
    bool same = realpath(slash ? dir : ".", real) && strcmp(real, f->state_dir) == 0;
    free(dir);
    return same;
}

static void add_watch(void *ctx, const char *path, const char *rel)
{
    struct cap_feed *f = ctx;
    if (f->watch)
        cap_watch_add(f->watch, path, rel);
}

static const char *base_name(const char *rel)
{
    const char *s = strrchr(rel, '/');
    return s ? s + 1 : rel;
}

struct cap_feed *cap_feed_dir(const struct cap_dir_config *cfg, char *err, size_t errlen,
                              bool *bad_state)
{
    struct cap_feed *f = xcalloc(1, sizeof *f);
    *bad_state = false;
    f->kind = K_DIR;
    f->cfg = *cfg;
    f->walk = (struct cap_walk){ .dir = cfg->dir, .recursive = cfg->recursive,
                                 .ignore = cfg->ignore, .n_ignore = cfg->n_ignore,
                                 .on_dir = add_watch, .ctx = f };
    char real[PATH_MAX];
    if (cfg->state_file && realpath(cfg->dir, real)) {
        *bad_state = true;
        f->state = cap_state_open(cfg->state_file, real, err, errlen);
        if (!f->state)
            goto fail;
        /* where the state file lives, to leave it (and its .tmp) out of the walk */
        char *dir = xstrdup(cfg->state_file), *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        f->state_base = xstrdup(base_name(cfg->state_file));
        if (realpath(slash ? (*dir ? dir : "/") : ".", real)) {
            f->state_dir = xstrdup(real);
            f->walk.skip = is_state_file;
        }
        free(dir);
        /* a state file that cannot be written is found now, not after hours of work */
        if (!cap_state_save(f->state, err, errlen))
            goto fail;
    }
    *bad_state = false;
    if (cfg->watch) {
        f->watch = cap_watch_new(err, errlen);
        if (!f->watch)
            goto fail;
    }
    return f;
fail:
    cap_feed_free(f);
    return NULL;
}

/* Scans the whole tree: the first time everything new goes to the queue, in name order;
 * later (a rescan) only what is neither known nor done, to the waiting list. */
static bool scan(struct cap_feed *f, struct cap_feed_item *it)
{
    struct cap_entry *v = NULL;
    size_t n = 0, cap = 0, done = 0;
    char err[256];
    bool first = !f->scanned;
    f->walk.quiet = !first;
    if (cap_walk(&f->walk, "", &v, &n, &cap, err, sizeof err) < 0) {
        free(v);
        if (first) {
            snprintf(it->error, sizeof it->error, "cannot read the directory: %s", err);
            it->name = f->cfg.dir;
            it->whole_feed = true;
        }
        return false;
    }
    f->scanned = true;
    if (f->state)
        cap_state_scan_begin(f->state);
    for (size_t i = 0; i < n; i++) {
        struct cap_entry *e = &v[i];
        if (f->state)
            cap_state_touch(f->state, e->rel);
        bool known = list_find(&f->queue, e->rel) || list_find(&f->waiting, e->rel) ||
                     (f->current.path && strcmp(f->current.rel, e->rel) == 0);
        for (size_t k = 0; k < f->fin_n && !known; k++)
            known = strcmp(f->fin[k].rel, e->rel) == 0;
        if (known || (f->state && e->regular &&
                      cap_state_done(f->state, e->rel, e->size, e->mtime_ns))) {
            done += !known;
            cap_entry_fini(e);
        } else {
            list_push(first ? &f->queue : &f->waiting, e);
        }
    }
    free(v);
    if (f->state) {
        /* forget files that are gone (a ring of rotated files would otherwise grow it) */
        for (size_t k = 0; k < f->fin_n; k++)
            cap_state_touch(f->state, f->fin[k].rel);
        cap_state_prune(f->state);
    }
    if (first) {
        if (f->cfg.watch)
            log_info("watching %s%s for capture files", f->cfg.dir,
                     f->cfg.recursive ? " and its sub-directories" : "");
        if (!n && !f->cfg.watch)
            log_warn("%s: no files to read", f->cfg.dir);
        else if (done)
            log_info("%s: %zu file%s done in an earlier run (%s) left out, %zu to read",
                     f->cfg.dir, done, done == 1 ? "" : "s", f->cfg.state_file,
                     f->queue.n - f->queue.head);
    }
    return true;
}

/* Whether a file may be read now: in a watched directory, only once no one writes it. */
static bool ready(struct cap_feed *f, struct cap_entry *e)
{
    if (!f->cfg.watch)
        return true;
    int w = cap_file_writers(e->path);
    if (w >= 0)
        return w == 0;
    /* cannot tell: a close seen by inotify, else a quiet time */
    return e->closed || wall_ns() - e->mtime_ns >= (int64_t)(f->cfg.settle * 1e9);
}

/* Refreshes an entry's size and time. false: it is gone or is no regular file. */
static bool restat(struct cap_entry *e)
{
    struct stat st;
    if (stat(e->path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    e->regular = true;
    e->size = (uint64_t)st.st_size;
    e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return true;
}

static void enqueue_new(struct cap_feed *f, const char *rel, bool closed)
{
    struct cap_entry *q = list_find(&f->queue, rel);
    if (q) {
        q->closed |= closed;
        return;
    }
    struct cap_entry *w = list_find(&f->waiting, rel);
    if (w && !closed)
        return;
    if (w)
        list_remove(&f->waiting, w);
    struct cap_entry e = { 0 };
    size_t top = strlen(f->cfg.dir);
    struct buf p;
    buf_init(&p, top + strlen(rel) + 2);
    buf_adds(&p, f->cfg.dir);
    if (top && f->cfg.dir[top - 1] != '/')
        buf_addc(&p, '/');
    size_t off = p.len;
    buf_adds(&p, rel);
    e.path = (char *)buf_cstr(&p);
    e.rel = e.path + off;
    e.closed = closed;
    if (!restat(&e)) {
        cap_entry_fini(&e);
        return;
    }
    for (size_t k = 0; k < f->fin_n; k++)
        if (strcmp(f->fin[k].rel, rel) == 0 && f->fin[k].size == e.size &&
            f->fin[k].mtime_ns == e.mtime_ns) {
            cap_entry_fini(&e); /* read already, not settled yet */
            return;
        }
    list_push(closed ? &f->queue : &f->waiting, &e);
}

static void on_event(void *ctx, enum cap_watch_event ev, const char *rel)
{
    struct cap_feed *f = ctx;
    switch (ev) {
    case CW_CLOSED:
    case CW_CREATED: {
        if (cap_walk_ignored(&f->walk, base_name(rel)))
            return;
        bool skip = false;
        if (f->walk.skip) {
            struct buf full;
            buf_init(&full, strlen(f->cfg.dir) + strlen(rel) + 2);
            buf_printf(&full, "%s/%s", f->cfg.dir, rel);
            skip = f->walk.skip(f, buf_cstr(&full), base_name(rel));
            buf_fini(&full);
        }
        if (!skip)
            enqueue_new(f, rel, ev == CW_CLOSED);
        break;
    }
    case CW_DIR: {
        if (!f->cfg.recursive || cap_walk_ignored(&f->walk, base_name(rel)))
            return;
        struct cap_entry *v = NULL;
        size_t n = 0, cap = 0;
        char err[256];
        f->walk.quiet = false;
        if (cap_walk(&f->walk, rel, &v, &n, &cap, err, sizeof err) == 0)
            for (size_t i = 0; i < n; i++) {
                if (!list_find(&f->queue, v[i].rel) && !list_find(&f->waiting, v[i].rel) &&
                    !(f->state && cap_state_done(f->state, v[i].rel, v[i].size, v[i].mtime_ns)))
                    list_push(&f->waiting, &v[i]);
                cap_entry_fini(&v[i]);
            }
        free(v);
        break;
    }
    case CW_OVERFLOW:
        f->last_rescan = 0;
        break;
    case CW_TOP_GONE:
        f->top_gone = true;
        break;
    }
}

static void save_state(struct cap_feed *f)
{
    char err[512];
    if (f->state && cap_state_dirty(f->state) && !cap_state_save(f->state, err, sizeof err))
        log_error("%s", err);
    f->last_save = mono();
}

/* The watched directory's housekeeping: events, files not yet closed, rescans, the state. */
static void service(struct cap_feed *f, int timeout_ms)
{
    if (cap_watch_poll(f->watch, timeout_ms, on_event, f) < 0 && timeout_ms)
        nanosleep(&(struct timespec){ 0, timeout_ms * 1000000L }, NULL);
    double t = mono();
    if (t - f->last_wait_check >= WAITING_CHECK_S) {
        f->last_wait_check = t;
        for (size_t i = f->waiting.head; i < f->waiting.n;) {
            struct cap_entry *e = &f->waiting.v[i];
            if (!restat(e)) {
                list_remove(&f->waiting, e);
            } else if (ready(f, e)) {
                struct cap_entry moved = *e;
                memmove(e, e + 1, (f->waiting.n - i - 1) * sizeof *e);
                f->waiting.n--;
                list_push(&f->queue, &moved);
            } else {
                i++;
            }
        }
    }
    if (t - f->last_rescan >= RESCAN_S) {
        struct cap_feed_item unused;
        scan(f, &unused);
        f->last_rescan = t;
    }
    if (t - f->last_save >= STATE_SAVE_S)
        save_state(f);
}

static enum cap_feed_status dir_next(struct cap_feed *f, struct cap_feed_item *it)
{
    if (f->ended)
        return CAP_FEED_END;
    if (!f->scanned) {
        if (!scan(f, it)) {
            f->ended = true;
            return CAP_FEED_FAILED;
        }
        f->last_rescan = f->last_wait_check = mono();
    }
    if (f->top_gone) {
        f->ended = true;
        it->name = f->cfg.dir;
        it->whole_feed = true;
        snprintf(it->error, sizeof it->error, "the directory was removed or moved away; "
                 "watching it ends");
        return CAP_FEED_FAILED;
    }
    if (f->watch)
        service(f, f->queue.head < f->queue.n ? 0 : WATCH_POLL_MS);
    while (f->queue.head < f->queue.n) {
        struct cap_entry e = f->queue.v[f->queue.head++];
        bool exists = restat(&e);
        if (!exists && f->cfg.watch) {
            cap_entry_fini(&e); /* gone since: renamed, removed */
            continue;
        }
        if (exists && f->state && cap_state_done(f->state, e.rel, e.size, e.mtime_ns)) {
            cap_entry_fini(&e);
            continue;
        }
        if (exists && !ready(f, &e)) {
            list_push(&f->waiting, &e);
            continue;
        }
        cap_entry_fini(&f->current);
        f->current = e;
        f->handed++;
        f->handed_bytes += e.size;
        it->name = e.path;
        it->size = e.size;
        it->src = cap_file_open(e.path, it->error, sizeof it->error);
        return it->src ? CAP_FEED_SOURCE : CAP_FEED_FAILED;
    }
    return f->cfg.watch ? CAP_FEED_IDLE : CAP_FEED_END;
}

enum cap_feed_status cap_feed_next(struct cap_feed *f, struct cap_feed_item *it)
{
    memset(it, 0, sizeof *it);
    return f->kind == K_DIR ? dir_next(f, it) : one_next(f, it);
}

void cap_feed_finished(struct cap_feed *f, const struct cap_feed_item *it, bool whole)
{
    if (f->kind != K_DIR || !f->state || it->whole_feed || !f->current.path)
        return;
    if (f->fin_n == f->fin_cap)
        f->fin = xrealloc(f->fin, (f->fin_cap = f->fin_cap * 2 + 8) * sizeof *f->fin);
    f->fin[f->fin_n++] = (struct fin){ xstrdup(f->current.rel), f->current.size,
                                       f->current.mtime_ns, whole };
}

void cap_feed_settled(struct cap_feed *f)
{
    if (!f || f->kind != K_DIR || !f->state)
        return;
    for (size_t i = 0; i < f->fin_n; i++) {
        cap_state_mark(f->state, f->fin[i].rel, f->fin[i].size, f->fin[i].mtime_ns,
                       f->fin[i].whole);
        free(f->fin[i].rel);
    }
    f->fin_n = 0;
    if (!f->watch)
        return;
    if (mono() - f->last_save >= STATE_SAVE_S)
        save_state(f);
}

void cap_feed_tick(struct cap_feed *f)
{
    if (f && f->state && cap_state_dirty(f->state) && mono() - f->last_save >= STATE_SAVE_S)
        save_state(f);
}

bool cap_feed_keeps_state(const struct cap_feed *f)
{
    return f->kind == K_DIR && f->state;
}

bool cap_feed_endless(const struct cap_feed *f)
{
    return f->kind == K_DIR && f->cfg.watch;
}

void cap_feed_totals(const struct cap_feed *f, uint64_t *sources, uint64_t *bytes)
{
    *sources = f->handed;
    *bytes = f->kind == K_DIR ? f->handed_bytes : f->size;
    if (f->kind != K_DIR) {
        *sources = 1;
        return;
    }
    for (size_t i = f->queue.head; i < f->queue.n; i++) {
        (*sources)++;
        *bytes += f->queue.v[i].size;
    }
}

void cap_feed_free(struct cap_feed *f)
{
    if (!f)
        return;
    save_state(f);
    for (size_t i = 0; i < f->fin_n; i++)
        free(f->fin[i].rel);
    free(f->fin);
    list_fini(&f->queue);
    list_fini(&f->waiting);
    cap_entry_fini(&f->current);
    cap_state_free(f->state);
    cap_watch_free(f->watch);
    free(f->state_dir);
    free(f->state_base);
    free(f->path);
    free(f);
}
