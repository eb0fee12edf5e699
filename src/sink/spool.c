/* spool: records as numbered files "000000000042-137.bulk" (the record's number, then how
 * many items it holds) in a folder, oldest first. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/fsafe.h"
#include "../util/log.h"

struct entry {
    uint64_t id;    /* the file's number */
    uint64_t size;  /* bytes on disk */
    uint32_t count; /* items the record holds, as its name says */
    bool counted;   /* the name says it (files of older versions do not) */
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
    uint64_t lost;  /* items of records that vanished or could not be read */
    int fd;        /* the folder: files are named relative to it, so that a capture that
                    * gave up root still reaches it whatever the folders above allow */
    struct buf name;
    char leaf[32];
    char error[512];
};

/* A file name inside the folder: "<id>-<count>.<ext>", or "<id>.<ext>" when !counted
 * (temporary files, and records of older versions). */
static const char *leaf_of(char *out, size_t outlen, uint64_t id, bool counted, uint32_t count,
                           const char *ext)
{
    if (counted)
        snprintf(out, outlen, "%012llu-%u.%s", (unsigned long long)id, count, ext);
    else
        snprintf(out, outlen, "%012llu.%s", (unsigned long long)id, ext);
    return out;
}

static const char *leaf(struct spool *sp, const struct entry *e, const char *ext)
{
    return leaf_of(sp->leaf, sizeof sp->leaf, e->id, e->counted, e->count, ext);
}

static const char *tmp_leaf(struct spool *sp, uint64_t id)
{
    return leaf_of(sp->leaf, sizeof sp->leaf, id, false, 0, "tmp");
}

static struct entry *find(struct spool *sp, uint64_t id)
{
    for (size_t i = 0; i < sp->n; i++)
        if (sp->q[i].id == id)
            return &sp->q[i];
    return NULL;
}

/* The path of an entry's file with another extension, for messages. */
static const char *path_of(struct spool *sp, const struct entry *e, const char *ext)
{
    char l[48];
    buf_reset(&sp->name);
    buf_printf(&sp->name, "%s/%s", sp->dir,
               leaf_of(l, sizeof l, e->id, e->counted, e->count, ext));
    return sp->name.p;
}

const char *spool_file(struct spool *sp, uint64_t id)
{
    struct entry *e = find(sp, id);
    struct entry none = { id, 0, 0, false, false };
    return path_of(sp, e ? e : &none, "bulk");
}

static void insert(struct spool *sp, uint64_t id, uint64_t size, bool counted, uint32_t count)
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
    sp->q[i] = (struct entry){ id, size, count, counted, false };
    sp->n++;
    sp->bytes += size;
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

/* "000000000042-137.bulk", "000000000042.bulk", "000000000042.tmp". */
static bool parse_name(const char *name, uint64_t *id, bool *counted, uint32_t *count,
                       const char **ext)
{
    const char *p = name;
    uint64_t v = 0;
    for (int i = 0; i < 12; i++, p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *id = v;
    *counted = false;
    *count = 0;
    if (*p == '-') {
        unsigned long c = 0;
        const char *d = ++p;
        while (*p >= '0' && *p <= '9' && p - d < 10)
            c = c * 10 + (unsigned long)(*p++ - '0');
        if (p == d || c > UINT32_MAX)
            return false;
        *counted = true;
        *count = (uint32_t)c;
    }
    if (*p != '.')
        return false;
    *ext = p + 1;
    return true;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
    if (!fsafe_check_dir(dir, err, errlen))
        return NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot make it: %s", strerror(errno));
        return NULL;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot be opened (%s)",
                 errno == ELOOP ? "a symbolic link" : errno == ENOTDIR ? "not a directory"
                                                                       : strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!fsafe_dir_ok(&st, true, err, errlen)) {
        close(fd);
        return NULL;
    }
    DIR *d = fdopendir(dup(fd));
    if (!d) {
        snprintf(err, errlen, "cannot be read: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    struct spool *sp = xcalloc(1, sizeof *sp);
    sp->dir = xstrdup(dir);
    sp->max = max_bytes;
    sp->fd = fd;
    buf_init(&sp->name, 256);
    size_t stale = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t id;
        bool counted;
        uint32_t count;
        const char *ext;
        if (!parse_name(de->d_name, &id, &counted, &count, &ext))
            continue;
        if (strcmp(ext, "tmp") == 0 && !counted) {
            /* A crash between writing and renaming: the record was never complete. */
            stale += unlinkat(sp->fd, de->d_name, 0) == 0;
            continue;
        }
        if (strcmp(ext, "bulk") != 0 || fstatat(sp->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        struct entry *twin = find(sp, id);
        if (twin) {
            /* A crash while a record was put back, between the rename of its new content
             * and the removal of the old: the new one holds fewer items. */
            bool keep_new = counted && twin->counted && count < twin->count;
            struct entry gone = keep_new ? *twin : (struct entry){ id, 0, count, counted, false };
            unlinkat(sp->fd, leaf(sp, &gone, "bulk"), 0);
            if (!keep_new)
                continue;
            sp->bytes -= twin->size;
            twin->size = (uint64_t)st.st_size;
            twin->count = count;
            sp->bytes += twin->size;
            continue;
        }
        insert(sp, id, (uint64_t)st.st_size, counted, count);
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
        if (fchownat(sp->fd, leaf(sp, &sp->q[i], "bulk"), uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
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
uint64_t spool_lost(const struct spool *sp) { return sp->lost; }

/* Writes the parts as record id holding count items: to a temporary name, then renamed.
 * The size, or -1 with the reason in sp->error (nothing left behind). */
static int64_t write_file(struct spool *sp, uint64_t id, uint32_t count,
                          const struct spool_part *parts, size_t n)
{
    char tmp[48], fin[48];
    tmp_leaf(sp, id);
    snprintf(tmp, sizeof tmp, "%s", sp->leaf);
    leaf_of(fin, sizeof fin, id, true, count, "bulk");
    uint64_t size = 0;
    /* 0600 and no symbolic link: records hold packet payloads. */
    int fd = openat(sp->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
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
    if (ok && renameat(sp->fd, tmp, sp->fd, fin) != 0)
        ok = false;
    if (ok)
        return (int64_t)size;
    snprintf(sp->error, sizeof sp->error, "cannot write %s/%s: %s", sp->dir, fin,
             strerror(errno));
    unlinkat(sp->fd, tmp, 0);
    return -1;
}

enum spool_rc spool_push(struct spool *sp, const struct spool_part *parts, size_t n,
                         uint32_t count)
{
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++)
        size += parts[i].n;
    if (sp->bytes + size > sp->max)
        return SPOOL_FULL;
    int64_t got = write_file(sp, sp->next, count, parts, n);
    if (got < 0)
        return SPOOL_ERROR;
    insert(sp, sp->next++, (uint64_t)got, true, count);
    return SPOOL_OK;
}

static bool read_file(int dirfd, const char *name, struct buf *out, int *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        *err = errno;
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

/* "137 documents", or words for a record whose name does not say. */
static const char *its_items(const struct entry *e, char *out, size_t outlen)
{
    if (e->counted)
        snprintf(out, outlen, "%u document%s", e->count, e->count == 1 ? "" : "s");
    else
        snprintf(out, outlen, "documents (how many is not known)");
    return out;
}

/* A record that cannot be delivered any more: out of the queue, its items counted as lost;
 * its file (if any) renamed to ext, out of the way of later scans but kept for a person. */
static void lose(struct spool *sp, struct entry *e, const char *ext)
{
    if (ext) {
        char from[48], to[48];
        leaf_of(from, sizeof from, e->id, e->counted, e->count, "bulk");
        leaf_of(to, sizeof to, e->id, e->counted, e->count, ext);
        renameat(sp->fd, from, sp->fd, to);
    }
    sp->lost += e->count;
    forget(sp, e);
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
        if (read_file(sp->fd, leaf(sp, e, "bulk"), out, &err)) {
            e->taken = true;
            sp->taken++;
            *id = e->id;
            return SPOOL_OK;
        }
        char items[64], name[512];
        its_items(e, items, sizeof items);
        snprintf(name, sizeof name, "%s", path_of(sp, e, "bulk"));
        if (err == ENOENT) {
            log_warn("spool: %s vanished; lost with it: %s (counted as dropped)", name, items);
            lose(sp, e, NULL);
        } else {
            log_warn("spool: cannot read %s: %s; dropped with it: %s (counted; the file is kept "
                     "as %s)", name, err == ELOOP ? "a symbolic link (not followed)"
                                                  : strerror(err),
                     items, path_of(sp, e, "unreadable"));
            lose(sp, e, "unreadable");
        }
        /* the next entry is now at i */
    }
    return SPOOL_EMPTY;
}

void spool_done(struct spool *sp, uint64_t id)
{
    struct entry *e = find(sp, id);
    if (!e)
        return;
    if (unlinkat(sp->fd, leaf(sp, e, "bulk"), 0) != 0 && errno != ENOENT)
        log_warn("spool: cannot remove %s: %s; it may be sent again", path_of(sp, e, "bulk"),
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

void spool_put_back(struct spool *sp, uint64_t id, const struct spool_part *parts, size_t n,
                    uint32_t count)
{
    struct entry *e = find(sp, id);
    if (!e)
        return;
    char old[48];
    leaf(sp, e, "bulk");
    snprintf(old, sizeof old, "%s", sp->leaf);
    int64_t got = write_file(sp, id, count, parts, n);
    if (got < 0) {
        log_warn("spool: %s; it keeps what it held", sp->error);
    } else {
        sp->bytes = sp->bytes - e->size + (uint64_t)got;
        e->size = (uint64_t)got;
        e->count = count;
        e->counted = true;
        if (strcmp(old, leaf(sp, e, "bulk")) != 0)
            unlinkat(sp->fd, old, 0);
    }
    spool_release(sp, id);
}

void spool_set_aside(struct spool *sp, uint64_t id)
{
    struct entry *e = find(sp, id);
    if (e)
        lose(sp, e, "bad");
}
