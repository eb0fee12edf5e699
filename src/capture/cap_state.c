/* cap_state: the done-files record of a directory (see cap_state.h). */
#include "cap_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/buf.h"

#define STATE_MAGIC "espcap-state 1"

struct entry {
    char *rel;          /* owned */
    uint64_t size;
    int64_t mtime_ns;
    bool whole;
    bool touched;       /* in the current scan */
};

struct cap_state {
    char *path, *dir_id;
    struct entry *v;
    size_t n, cap;
    uint32_t *slots;    /* open addressing: entry index + 1, 0 = empty */
    size_t n_slots;
    bool dirty;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void reindex(struct cap_state *s)
{
    size_t want = 64;
    while (want < s->n * 2 + 2)
        want *= 2;
    free(s->slots);
    s->slots = xcalloc(want, sizeof *s->slots);
    s->n_slots = want;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = (size_t)hash(s->v[i].rel) & (want - 1);
        while (s->slots[k])
            k = (k + 1) & (want - 1);
        s->slots[k] = (uint32_t)(i + 1);
    }
}

static struct entry *find(const struct cap_state *s, const char *rel)
{
    if (!s->n_slots)
        return NULL;
    size_t k = (size_t)hash(rel) & (s->n_slots - 1);
    for (; s->slots[k]; k = (k + 1) & (s->n_slots - 1))
        if (strcmp(s->v[s->slots[k] - 1].rel, rel) == 0)
            return &s->v[s->slots[k] - 1];
    return NULL;
}

static struct entry *add(struct cap_state *s, const char *rel)
{
    struct entry *e = find(s, rel);
    if (e)
        return e;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    e->rel = xstrdup(rel);
    if (s->n * 2 + 2 > s->n_slots) {
        reindex(s);
    } else {
        size_t k = (size_t)hash(rel) & (s->n_slots - 1);
        while (s->slots[k])
            k = (k + 1) & (s->n_slots - 1);
        s->slots[k] = (uint32_t)s->n;
    }
    return e;
}

static void escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (*s == '\r')
            fputs("\\r", f);
        else
            fputc(*s, f);
    }
}

/* In place; false on a bad escape. */
static bool unescape(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s != '\\') {
            *w++ = *s;
            continue;
        }
        s++;
        if (*s == '\\')
            *w++ = '\\';
        else if (*s == 'n')
            *w++ = '\n';
        else if (*s == 'r')
            *w++ = '\r';
        else
            return false;
    }
    *w = '\0';
    return true;
}

static bool load(struct cap_state *s, FILE *f, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned n = 0;
    bool ok = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        n++;
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (n == 1) {
            if (strcmp(line, STATE_MAGIC) != 0) {
                snprintf(err, errlen, "%s is not an espcap state file (it does not start with "
                         "\"" STATE_MAGIC "\"); not touching it", s->path);
                ok = false;
            }
            continue;
        }
        if (n == 2) {
            if (strncmp(line, "dir ", 4) != 0 || !unescape(line + 4)) {
                snprintf(err, errlen, "%s:2: no \"dir\" line", s->path);
                ok = false;
            } else if (strcmp(line + 4, s->dir_id) != 0) {
                snprintf(err, errlen, "%s records the files of %s, not of %s: give each "
                         "directory its own --state-file", s->path, line + 4, s->dir_id);
                ok = false;
            }
            continue;
        }
        long long mt;
        unsigned long long size;
        char kind[16];
        int used = 0;
        if (sscanf(line, "%lld %llu %15s %n", &mt, &size, kind, &used) != 3 || !used ||
            (strcmp(kind, "whole") && strcmp(kind, "partial")) || !line[used] ||
            !unescape(line + used)) {
            snprintf(err, errlen, "%s:%u: not a state line", s->path, n);
            ok = false;
            continue;
        }
        struct entry *e = add(s, line + used);
        e->size = size;
        e->mtime_ns = mt;
        e->whole = kind[0] == 'w';
    }
    if (ok && n < 2) {
        snprintf(err, errlen, "%s is not an espcap state file (too short); not touching it",
                 s->path);
        ok = false;
    }
    free(line);
    return ok;
}

struct cap_state *cap_state_open(const char *path, const char *dir_id, char *err, size_t errlen)
{
    struct cap_state *s = xcalloc(1, sizeof *s);
    s->path = xstrdup(path);
    s->dir_id = xstrdup(dir_id);
    reindex(s);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return s;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        cap_state_free(s);
        return NULL;
    }
    bool ok = load(s, f, err, errlen);
    fclose(f);
    if (!ok) {
        cap_state_free(s);
        return NULL;
    }
    return s;
}

void cap_state_free(struct cap_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].rel);
    free(s->v);
    free(s->slots);
    free(s->path);
    free(s->dir_id);
    free(s);
}

bool cap_state_done(const struct cap_state *s, const char *rel, uint64_t size, int64_t mtime_ns)
{
    const struct entry *e = find(s, rel);
    return e && e->size == size && e->mtime_ns == mtime_ns;
}

void cap_state_mark(struct cap_state *s, const char *rel, uint64_t size, int64_t mtime_ns,
                    bool whole)
{
    struct entry *e = add(s, rel);
    e->size = size;
    e->mtime_ns = mtime_ns;
    e->whole = whole;
    e->touched = true;
    s->dirty = true;
}

size_t cap_state_count(const struct cap_state *s) { return s->n; }

void cap_state_scan_begin(struct cap_state *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->v[i].touched = false;
}

void cap_state_touch(struct cap_state *s, const char *rel)
{
    struct entry *e = find(s, rel);
    if (e)
        e->touched = true;
}

void cap_state_prune(struct cap_state *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].touched)
            s->v[w++] = s->v[i];
        else
            free(s->v[i].rel);
    }
    if (w != s->n)
        s->dirty = true;
    s->n = w;
    reindex(s);
}

bool cap_state_dirty(const struct cap_state *s) { return s->dirty; }

bool cap_state_save(struct cap_state *s, char *err, size_t errlen)
{
    struct buf tmp;
    buf_init(&tmp, strlen(s->path) + 8);
    buf_printf(&tmp, "%s.tmp", s->path);
    FILE *f = fopen(buf_cstr(&tmp), "w");
    bool ok = f != NULL;
    if (ok) {
        fputs(STATE_MAGIC "\ndir ", f);
        escape(f, s->dir_id);
        fputc('\n', f);
        for (size_t i = 0; i < s->n; i++) {
            const struct entry *e = &s->v[i];
            fprintf(f, "%" PRId64 " %" PRIu64 " %s ", e->mtime_ns, e->size,
                    e->whole ? "whole" : "partial");
            escape(f, e->rel);
            fputc('\n', f);
        }
        ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
    }
    if (ok && rename(tmp.p, s->path) != 0)
        ok = false;
    if (!ok) {
        snprintf(err, errlen, "%s: cannot write it: %s", s->path, strerror(errno));
        unlink(tmp.p);
    } else {
        /* the rename itself must survive a crash */
        char *dir = xstrdup(s->path), *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        free(dir);
        s->dirty = false;
    }
    buf_fini(&tmp);
    return ok;
}
