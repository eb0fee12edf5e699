/* cap_dir: the files of a directory tree, in name order, depth-first; symbolic link loops
 * and directories reached twice are skipped. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/buf.h"
#include "../util/log.h"
#include "cap_int.h"

struct dir_id {
    dev_t dev;
    ino_t ino;
    char *rel;
};

/* What one walk has been through: its ancestors (a loop points back at one) and every
 * directory read (two links to one directory would read it twice). */
struct walk_state {
    struct dir_id *seen;
    size_t n_seen;
    size_t *stack;      /* indexes into seen: the directories being read, top first */
    size_t depth, cap_stack;
};

void cap_entry_fini(struct cap_entry *e)
{
    free(e->path);
    e->path = NULL;
}

bool cap_walk_ignored(const struct cap_walk *w, const char *name)
{
    for (size_t i = 0; i < w->n_ignore; i++)
        if (fnmatch(w->ignore[i], name, 0) == 0)
            return true;
    return false;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *rel)
{
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    struct buf b;
    buf_init(&b, dl + strlen(rel) + 2);
    buf_adds(&b, dir);
    if (*rel) {
        if (!slash)
            buf_addc(&b, '/');
        buf_adds(&b, rel);
    }
    buf_cstr(&b);
    return b.p;
}

static void push_entry(struct cap_entry **v, size_t *n, size_t *cap, char *path, size_t rel_off,
                       const struct stat *st, bool regular)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    struct cap_entry *e = &(*v)[(*n)++];
    memset(e, 0, sizeof *e);
    e->path = path;
    e->rel = path + rel_off;
    e->regular = regular;
    if (regular) {
        e->size = (uint64_t)st->st_size;
        e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    }
}

static int walk(const struct cap_walk *w, struct walk_state *ws, const char *rel,
                struct cap_entry **v, size_t *n, size_t *cap, char *err, size_t errlen)
{
    char *path = join(w->dir, rel);
    DIR *dh = opendir(path);
    if (!dh) {
        snprintf(err, errlen, "%s", strerror(errno));
        free(path);
        return -1;
    }
    if (w->on_dir)
        w->on_dir(w->ctx, path, rel);
    size_t nn = 0, cn = 64;
    char **names = xmalloc(cn * sizeof *names);
    struct dirent *de;
    while ((de = readdir(dh))) {
        const char *s = de->d_name;
        if (s[0] == '.' && (!s[1] || (s[1] == '.' && !s[2])))
            continue;
        if (nn == cn)
            names = xrealloc(names, (cn *= 2) * sizeof *names);
        names[nn++] = xstrdup(s);
    }
    closedir(dh);
    qsort(names, nn, sizeof *names, by_name);
    /* where rel starts in a child's path: the top as given, then '/' unless it ends so */
    size_t top = strlen(w->dir);
    size_t rel_off = top + (top > 0 && w->dir[top - 1] == '/' ? 0 : 1);
    for (size_t i = 0; i < nn; i++) {
        if (cap_walk_ignored(w, names[i]))
            continue;
        struct buf crel;
        buf_init(&crel, strlen(rel) + strlen(names[i]) + 2);
        if (*rel) {
            buf_adds(&crel, rel);
            buf_addc(&crel, '/');
        }
        buf_adds(&crel, names[i]);
        char *cpath = join(w->dir, buf_cstr(&crel));
        struct stat st;
        if (w->skip && w->skip(w->ctx, cpath, names[i])) {
            free(cpath);
        } else if (stat(cpath, &st) != 0) {
            /* a dangling link is kept, so that it is reported, not silently ignored */
            struct stat lst;
            if (lstat(cpath, &lst) == 0)
                push_entry(v, n, cap, cpath, rel_off, &lst, false);
            else
                free(cpath);
        } else if (S_ISREG(st.st_mode)) {
            push_entry(v, n, cap, cpath, rel_off, &st, true);
        } else if (S_ISDIR(st.st_mode) && w->recursive) {
            size_t k = 0;
            while (k < ws->n_seen && !(ws->seen[k].dev == st.st_dev && ws->seen[k].ino == st.st_ino))
                k++;
            bool ancestor = false;
            for (size_t a = 0; a < ws->depth; a++)
                ancestor |= ws->stack[a] == k;
            if (k < ws->n_seen) {
                if (w->quiet)
                    ;
                else if (ancestor)
                    log_warn("%s: a symbolic link loop (back to %s%s%s); skipped", cpath,
                             w->dir, *ws->seen[k].rel ? "/" : "", ws->seen[k].rel);
                else
                    log_warn("%s: the same directory as %s%s%s, read already; skipped", cpath,
                             w->dir, *ws->seen[k].rel ? "/" : "", ws->seen[k].rel);
            } else {
                ws->seen = xrealloc(ws->seen, (ws->n_seen + 1) * sizeof *ws->seen);
                ws->seen[ws->n_seen++] = (struct dir_id){ st.st_dev, st.st_ino, xstrdup(crel.p) };
                if (ws->depth == ws->cap_stack)
                    ws->stack = xrealloc(ws->stack, (ws->cap_stack = ws->cap_stack * 2 + 8) *
                                                        sizeof *ws->stack);
                ws->stack[ws->depth++] = ws->n_seen - 1;
                char sub_err[256];
                if (walk(w, ws, crel.p, v, n, cap, sub_err, sizeof sub_err) < 0 && !w->quiet)
                    log_warn("%s: cannot read the directory: %s", cpath, sub_err);
                ws->depth--;
            }
            free(cpath);
        } else {
            /* A FIFO would block the run until someone writes to it (--file reads one as a
             * stream); devices and sockets are not captures: said, not read. Directories
             * without --recursive are passed over quietly. */
            if (!w->quiet && !S_ISDIR(st.st_mode))
                log_warn("%s: not a regular file (%s); skipped", cpath,
                         S_ISFIFO(st.st_mode) ? "a FIFO: --file reads one as a stream"
                         : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
            free(cpath);
        }
        buf_fini(&crel);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    free(path);
    return 0;
}

int cap_walk(const struct cap_walk *w, const char *rel, struct cap_entry **v, size_t *n,
             size_t *cap, char *err, size_t errlen)
{
    struct walk_state ws = { 0 };
    /* The ancestors of rel, the top first, then rel: a link back to any of them is a loop. */
    size_t len = strlen(rel);
    for (size_t end = 0; end <= len; end++) {
        if (end && end < len && rel[end] != '/')
            continue;
        if (end == 0 && len && rel[0] == '/')
            continue;
        char *sub = xstrdup(rel);
        sub[end] = '\0';
        char *path = join(w->dir, sub);
        struct stat st;
        if (stat(path, &st) == 0) {
            ws.seen = xrealloc(ws.seen, (ws.n_seen + 1) * sizeof *ws.seen);
            ws.seen[ws.n_seen++] = (struct dir_id){ st.st_dev, st.st_ino, xstrdup(sub) };
            if (ws.depth == ws.cap_stack)
                ws.stack = xrealloc(ws.stack, (ws.cap_stack = ws.cap_stack * 2 + 8) *
                                                  sizeof *ws.stack);
            ws.stack[ws.depth++] = ws.n_seen - 1;
        }
        free(path);
        free(sub);
        if (!len)
            break;
    }
    int rc = walk(w, &ws, rel, v, n, cap, err, errlen);
    for (size_t i = 0; i < ws.n_seen; i++)
        free(ws.seen[i].rel);
    free(ws.seen);
    free(ws.stack);
    return rc;
}
