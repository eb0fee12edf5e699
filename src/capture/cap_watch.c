/* cap_watch: inotify on a directory tree (files closed after writing, moved in, created;
 * new directories), and whether a file is still open for writing (a read lease). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/log.h"
#include "cap_int.h"

#define DIR_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | \
                    IN_ONLYDIR)

struct wd_rel {
    int wd;
    char *rel;          /* "" for the top */
};

struct cap_watch {
    int fd;
    struct wd_rel *dirs;
    size_t n, cap;
    bool warned_limit;
};

struct cap_watch *cap_watch_new(char *err, size_t errlen)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot watch directories (inotify): %s", strerror(errno));
        return NULL;
    }
    /* A broken read lease (cap_file_writers) signals SIGIO, whose default ends the process;
     * the lease is held for an instant only, but a writer may open the file then. */
    signal(SIGIO, SIG_IGN);
    struct cap_watch *w = xcalloc(1, sizeof *w);
    w->fd = fd;
    return w;
}

void cap_watch_free(struct cap_watch *w)
{
    if (!w)
        return;
    close(w->fd);
    for (size_t i = 0; i < w->n; i++)
        free(w->dirs[i].rel);
    free(w->dirs);
    free(w);
}

bool cap_watch_add(struct cap_watch *w, const char *path, const char *rel)
{
    int wd = inotify_add_watch(w->fd, path, DIR_EVENTS);
    if (wd < 0) {
        if (!w->warned_limit || errno != ENOSPC)
            log_warn("%s: cannot watch the directory: %s%s; it is scanned every 30 s instead",
                     path, strerror(errno),
                     errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
        w->warned_limit |= errno == ENOSPC;
        return false;
    }
    for (size_t i = 0; i < w->n; i++)
        if (w->dirs[i].wd == wd) {
            /* the same directory by another name: keep the newer name */
            free(w->dirs[i].rel);
            w->dirs[i].rel = xstrdup(rel);
            return true;
        }
    if (w->n == w->cap)
        w->dirs = xrealloc(w->dirs, (w->cap = w->cap * 2 + 16) * sizeof *w->dirs);
    w->dirs[w->n++] = (struct wd_rel){ wd, xstrdup(rel) };
    return true;
}

static struct wd_rel *dir_of(struct cap_watch *w, int wd)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->dirs[i].wd == wd)
            return &w->dirs[i];
    return NULL;
}

static void forget(struct cap_watch *w, int wd)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->dirs[i].wd == wd) {
            free(w->dirs[i].rel);
            w->dirs[i] = w->dirs[--w->n];
            return;
        }
}

int cap_watch_poll(struct cap_watch *w, int timeout_ms,
                   void (*fn)(void *ctx, enum cap_watch_event ev, const char *rel), void *ctx)
{
    struct pollfd pfd = { w->fd, POLLIN, 0 };
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr <= 0)
        return pr < 0 && errno != EINTR ? -1 : 0;
    char buffer[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    int count = 0;
    struct buf rel;
    buf_init(&rel, 256);
    for (;;) {
        ssize_t len = read(w->fd, buffer, sizeof buffer);
        if (len <= 0)
            break;
        for (char *p = buffer; p < buffer + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            count++;
            if (ev->mask & IN_Q_OVERFLOW) {
                fn(ctx, CW_OVERFLOW, "");
                continue;
            }
            struct wd_rel *d = dir_of(w, ev->wd);
            if (!d)
                continue;
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                /* A sub-directory moved keeps its watch (a move within the tree names it
                 * again); the top moved or removed ends the watch. */
                bool top = !*d->rel;
                if (!(ev->mask & IN_MOVE_SELF) || top)
                    forget(w, ev->wd);
                if (top)
                    fn(ctx, CW_TOP_GONE, "");
                continue;
            }
            if (!ev->len)
                continue;
            buf_reset(&rel);
            if (*d->rel)
                buf_printf(&rel, "%s/", d->rel);
            buf_adds(&rel, ev->name);
            buf_cstr(&rel);
            if (ev->mask & IN_ISDIR) {
                if (ev->mask & (IN_CREATE | IN_MOVED_TO))
                    fn(ctx, CW_DIR, rel.p);
            } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
                fn(ctx, CW_CLOSED, rel.p);
            } else if (ev->mask & IN_CREATE) {
                fn(ctx, CW_CREATED, rel.p);
            }
        }
    }
    buf_fini(&rel);
    return count;
}

int cap_file_writers(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    int r;
    /* Linux grants a read lease only when no one has the file open for writing. */
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        fcntl(fd, F_SETLEASE, F_UNLCK);
        r = 0;
    } else {
        r = errno == EAGAIN || errno == EBUSY ? 1 : -1;
    }
    close(fd);
    return r;
}
