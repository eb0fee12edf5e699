/* cap_int: what the capture stage's files share and its callers need not see: walking a
 * directory tree, and watching one with inotify. */
#ifndef ESPCAP_CAP_INT_H
#define ESPCAP_CAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A file found in a directory. */
struct cap_entry {
    char *path;         /* DIR/rel, with DIR exactly as given (owned) */
    const char *rel;    /* the path below DIR (inside path) */
    uint64_t size;
    int64_t mtime_ns;
    bool regular;       /* false: a dangling symbolic link, reported when it is opened */
    bool closed;        /* its writer was seen closing it (inotify) */
};

void cap_entry_fini(struct cap_entry *e);

struct cap_walk {
    const char *dir;            /* the top, as given */
    bool recursive;
    char *const *ignore;        /* glob patterns matched against names */
    size_t n_ignore;
    bool quiet;                 /* no warnings (loops, unreadable sub-directories): a rescan */
    /* Called for every directory read (the top first) with its path and relative path
     * ("" for the top); may be NULL. */
    void (*on_dir)(void *ctx, const char *path, const char *rel);
    /* Whether to leave out a file (the state file); may be NULL. */
    bool (*skip)(void *ctx, const char *path, const char *name);
    void *ctx;
};

bool cap_walk_ignored(const struct cap_walk *w, const char *name);

/* Appends the files below rel ("" for the top) to *v, in byte order of their names,
 * depth-first with --recursive: regular files and links to them, dangling links (to be
 * reported); FIFOs, devices and (without recursive) directories are left out. A symbolic
 * link loop, or a directory reached twice, is skipped with a warning. -1 with the reason in
 * err when rel itself cannot be read; unreadable directories below it are warned about. */
int cap_walk(const struct cap_walk *w, const char *rel, struct cap_entry **v, size_t *n,
             size_t *cap, char *err, size_t errlen);

/* inotify on a directory tree. */
enum cap_watch_event {
    CW_CLOSED,     /* a file was closed after writing, or moved in: rel names it */
    CW_CREATED,    /* a file was created (its writer has it open) */
    CW_DIR,        /* a directory was created or moved in */
    CW_OVERFLOW,   /* events were lost: scan again */
    CW_TOP_GONE,   /* the top directory was removed or moved away */
};

struct cap_watch;

struct cap_watch *cap_watch_new(char *err, size_t errlen);
void cap_watch_free(struct cap_watch *w);
/* Watches one directory; false (and a warning) when it cannot (the watch limit). */
bool cap_watch_add(struct cap_watch *w, const char *path, const char *rel);
/* Waits at most timeout_ms for events and calls fn for each. -1 on error. */
int cap_watch_poll(struct cap_watch *w, int timeout_ms,
                   void (*fn)(void *ctx, enum cap_watch_event ev, const char *rel), void *ctx);

/* Whether some process has path open for writing: 1 yes, 0 no, -1 cannot tell (a read
 * lease needs the file's owner or CAP_LEASE, and a file system that has leases). */
int cap_file_writers(const char *path);

#endif
