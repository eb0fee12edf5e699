/* spool: records as numbered files "000000000042.bulk" in a folder, oldest first. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/log.h"

struct entry {
    uint64_t id;   /* the file's number */
    uint64_t size; /* bytes on disk */
    bool taken;
};

struct spool {
    char *dir;
    uint64_t max;
    struct entry *q; /* by id, oldest first */
    size_t n, cap;
    size_t taken;
    uint64_t next; /* the next record's id */
    uint64_t bytes;
    struct buf name, tmp;
    char error[512];
};

static const char *file_name(struct spool *sp, struct buf *b, uint64_t id, const char *ext)
{
    buf_reset(b);
    buf_printf(b, "%s/%012llu.%s", sp->dir, (unsigned long long)id, ext);
    return b->p;
}

const char *spool_file(struct spool *sp, uint64_t id) { return file_name(sp, &sp->name, id, "bulk"); }

static void insert(struct spool *sp, uint64_t id, uint64_t size)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 64;
        sp->q = xrealloc(sp->q, sp->cap * sizeof *sp->q);
    }
    size_t i = sp->n;
    while (i > 0 && sp->q[i - 1].id > id) {
        sp->q[i] = sp->q[i - 1];
        i--;
    }
    sp->q[i] = (struct entry){ id, size, false };
    sp->n++;
    sp->bytes += size;
}

static struct entry *find(struct spool *sp, uint64_t id)
{
    for (size_t i = 0; i < sp->n; i++)
        if (sp->q[i].id == id)
            return &sp->q[i];
    return NULL;
}

/* Takes an entry out of the queue (its file is the caller's business). */
static void forget(struct spool *sp, struct entry *e)
{
    sp->bytes = sp->bytes > e->size ? sp->bytes - e->size : 0;
    if (e->taken)
        sp->taken--;
    size_t i = (size_t)(e - sp->q);
    memmove(sp->q + i, sp->q + i + 1, (sp->n - i - 1) * sizeof *sp->q);
    sp->n--;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes)
{
    struct spool *sp = xcalloc(1, sizeof *sp);
    sp->dir = xstrdup(dir);
    sp->max = max_bytes;
    buf_init(&sp->name, 256);
    buf_init(&sp->tmp, 256);
    mkdir(dir, 0700);
    DIR *d = opendir(dir);
    if (!d) {
        log_warn("spool %s: %s", dir, strerror(errno));
        return sp;
    }
    size_t stale = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long id;
        char ext[8];
        if (sscanf(e->d_name, "%12llu.%7s", &id, ext) != 2)
            continue;
        if (strcmp(ext, "tmp") == 0) {
            /* A crash between writing and renaming: the record was never complete. */
            stale += unlink(file_name(sp, &sp->tmp, id, "tmp")) == 0;
            continue;
        }
        struct stat st;
        if (strcmp(ext, "bulk") != 0 || stat(spool_file(sp, id), &st) != 0)
            continue;
        insert(sp, id, (uint64_t)st.st_size);
        if (id >= sp->next)
            sp->next = id + 1;
    }
    closedir(d);
    if (stale)
        log_warn("spool %s: removed %zu unfinished files (.tmp) left by a crash", dir, stale);
    return sp;
}

void spool_free(struct spool *sp)
{
    if (!sp)
        return;
    free(sp->dir);
    free(sp->q);
    buf_fini(&sp->name);
    buf_fini(&sp->tmp);
    free(sp);
}

const char *spool_dir(const struct spool *sp) { return sp->dir; }
const char *spool_error(const struct spool *sp) { return sp->error; }
size_t spool_count(const struct spool *sp) { return sp->n; }
size_t spool_waiting(const struct spool *sp) { return sp->n - sp->taken; }
uint64_t spool_bytes(const struct spool *sp) { return sp->bytes; }
uint64_t spool_max(const struct spool *sp) { return sp->max; }

/* Writes the parts under id: to a temporary name, then renamed. The size, or -1 with the
 * reason in sp->error (nothing left behind). */
static int64_t write_file(struct spool *sp, uint64_t id, const struct spool_part *parts,
                          size_t n)
{
    const char *tmp = file_name(sp, &sp->tmp, id, "tmp");
    const char *fin = spool_file(sp, id);
    uint64_t size = 0;
    FILE *f = fopen(tmp, "w");
    bool ok = f != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        ok = fwrite(parts[i].p, 1, parts[i].n, f) == parts[i].n;
        size += parts[i].n;
    }
    if (f)
        ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, fin) != 0)
        ok = false;
    if (ok)
        return (int64_t)size;
    snprintf(sp->error, sizeof sp->error, "cannot write %s: %s", fin, strerror(errno));
    unlink(tmp);
    return -1;
}

enum spool_rc spool_push(struct spool *sp, const struct spool_part *parts, size_t n)
{
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++)
        size += parts[i].n;
    if (sp->bytes + size > sp->max)
        return SPOOL_FULL;
    int64_t got = write_file(sp, sp->next, parts, n);
    if (got < 0)
        return SPOOL_ERROR;
    insert(sp, sp->next++, (uint64_t)got);
    return SPOOL_OK;
}

static bool read_file(const char *name, struct buf *out, int *err)
{
    FILE *f = fopen(name, "r");
    if (!f) {
        *err = errno;
        return false;
    }
    buf_reset(out);
    size_t got;
    do {
        buf_reserve(out, 1 << 16);
        got = fread(out->p + out->len, 1, out->cap - out->len, f);
        out->len += got;
    } while (got > 0);
    bool ok = !ferror(f);
    *err = ok ? 0 : errno;
    fclose(f);
    return ok;
}

enum spool_rc spool_take(struct spool *sp, struct buf *out, uint64_t *id)
{
    for (size_t i = 0; i < sp->n;) {
        struct entry *e = &sp->q[i];
        if (e->taken) {
            i++;
            continue;
        }
        int err;
        if (read_file(spool_file(sp, e->id), out, &err)) {
            e->taken = true;
            sp->taken++;
            *id = e->id;
            return SPOOL_OK;
        }
        if (err == ENOENT)
            log_warn("spool: %s vanished; its documents are not in the spool any more",
                     sp->name.p);
        else
            log_warn("spool: cannot read %s: %s; left aside", sp->name.p, strerror(err));
        forget(sp, e); /* the next entry is now at i */
    }
    return SPOOL_EMPTY;
}

void spool_done(struct spool *sp, uint64_t id)
{
    struct entry *e = find(sp, id);
    if (!e)
        return;
    if (unlink(spool_file(sp, id)) != 0 && errno != ENOENT)
        log_warn("spool: cannot remove %s: %s; it may be sent again", sp->name.p,
                 strerror(errno));
    forget(sp, e);
}

void spool_release(struct spool *sp, uint64_t id)
{
    struct entry *e = find(sp, id);
    if (e && e->taken) {
        e->taken = false;
        sp->taken--;
    }
}

void spool_put_back(struct spool *sp, uint64_t id, const struct spool_part *parts, size_t n)
{
    struct entry *e = find(sp, id);
    if (!e)
        return;
    int64_t got = write_file(sp, id, parts, n);
    if (got < 0) {
        log_warn("spool: %s; it keeps what it held", sp->error);
    } else {
        sp->bytes = sp->bytes - e->size + (uint64_t)got;
        e->size = (uint64_t)got;
    }
    spool_release(sp, id);
}

void spool_set_aside(struct spool *sp, uint64_t id)
{
    struct entry *e = find(sp, id);
    if (e)
        forget(sp, e);
}
