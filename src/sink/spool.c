/* spool: records as numbered files "000000000042.bulk" in a folder, oldest first. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
    int fd;        /* the folder: files are named relative to it, so that a capture that
                    * gave up root still reaches it whatever the folders above allow */
    int open_errno; /* why fd is -1 */
    struct buf name;
    char leaf[32];
    char error[512];
};

/* A record's file name inside the folder. */
static const char *leaf(struct spool *sp, uint64_t id, const char *ext)
{
    snprintf(sp->leaf, sizeof sp->leaf, "%012llu.%s", (unsigned long long)id, ext);
    return sp->leaf;
}

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
    mkdir(dir, 0700);
    sp->fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    sp->open_errno = sp->fd < 0 ? errno : 0;
    struct stat lst;
    if (sp->fd < 0 && lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode))
        sp->open_errno = ELOOP; /* O_NOFOLLOW with O_DIRECTORY says ENOTDIR */
    DIR *d = sp->fd >= 0 ? fdopendir(dup(sp->fd)) : NULL;
    if (!d) {
        log_warn("spool %s: %s", dir, sp->open_errno == ELOOP ? "a symbolic link: not used"
                                                              : strerror(errno));
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
            stale += unlinkat(sp->fd, leaf(sp, id, "tmp"), 0) == 0;
            continue;
        }
        struct stat st;
        if (strcmp(ext, "bulk") != 0 ||
            fstatat(sp->fd, leaf(sp, id, "bulk"), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
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
    if (sp->fd >= 0)
        close(sp->fd);
    free(sp->dir);
    free(sp->q);
    buf_fini(&sp->name);
    free(sp);
}

bool spool_give(struct spool *sp, uid_t uid, gid_t gid)
{
    struct stat st;
    if (sp->fd < 0) {
        snprintf(sp->error, sizeof sp->error, "cannot be opened (%s)",
                 sp->open_errno == ELOOP ? "a symbolic link"
                                         : sp->open_errno == ENOTDIR ? "not a directory"
                                                                     : strerror(sp->open_errno));
        return false;
    }
    if (fstat(sp->fd, &st) != 0) {
        snprintf(sp->error, sizeof sp->error, "%s", strerror(errno));
        return false;
    }
    if (st.st_uid != 0 && st.st_uid != uid) {
        snprintf(sp->error, sizeof sp->error, "belongs to uid %u: the capture, which becomes "
                 "uid %u, could not write to it", (unsigned)st.st_uid, (unsigned)uid);
        return false;
    }
    if (fchown(sp->fd, uid, gid) != 0 || fchmod(sp->fd, 0700) != 0) {
        snprintf(sp->error, sizeof sp->error, "cannot hand it to uid %u: %s", (unsigned)uid,
                 strerror(errno));
        return false;
    }
    for (size_t i = 0; i < sp->n; i++)
        if (fchownat(sp->fd, leaf(sp, sp->q[i].id, "bulk"), uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
            errno != ENOENT) {
            snprintf(sp->error, sizeof sp->error, "%s: cannot hand it to uid %u: %s",
                     spool_file(sp, sp->q[i].id), (unsigned)uid, strerror(errno));
            return false;
        }
    return true;
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
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%s", leaf(sp, id, "tmp"));
    const char *fin = spool_file(sp, id);
    uint64_t size = 0;
    int fd = sp->fd < 0 ? -1
                        : openat(sp->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                                 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    bool ok = f != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        ok = fwrite(parts[i].p, 1, parts[i].n, f) == parts[i].n;
        size += parts[i].n;
    }
    if (f)
        ok = (fclose(f) == 0) && ok;
    if (ok && renameat(sp->fd, tmp, sp->fd, leaf(sp, id, "bulk")) != 0)
        ok = false;
    if (ok)
        return (int64_t)size;
    snprintf(sp->error, sizeof sp->error, "cannot write %s: %s", fin,
             sp->fd < 0 ? "the folder cannot be opened" : strerror(errno));
    if (sp->fd >= 0)
        unlinkat(sp->fd, tmp, 0);
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

static bool read_file(int dirfd, const char *name, struct buf *out, int *err)
{
    int fd = dirfd < 0 ? -1 : openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        *err = dirfd < 0 ? EBADF : errno;
        if (fd >= 0)
            close(fd);
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
        spool_file(sp, e->id); /* its name for messages */
        if (read_file(sp->fd, leaf(sp, e->id, "bulk"), out, &err)) {
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
    spool_file(sp, id); /* its name for messages */
    if (unlinkat(sp->fd, leaf(sp, id, "bulk"), 0) != 0 && errno != ENOENT)
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
