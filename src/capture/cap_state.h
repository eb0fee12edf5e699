/* cap_state: which files of a directory are done, kept in a small text file that is
 * replaced atomically, so that a watched directory is read once across restarts. */
#ifndef ESPCAP_CAP_STATE_H
#define ESPCAP_CAP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file (docs/live.md has the format):
 *   espcap-state 1
 *   dir <the directory's real path>
 *   <mtime in ns> <size> <whole|partial> <path relative to the directory>
 * Paths escape '\\', newline and carriage return as \\, \n, \r. A file is done when its
 * relative path, size and modification time are those recorded. */
struct cap_state;

/* Loads path, or starts empty when it does not exist. NULL with the reason in err when it
 * cannot be read, is not a state file, or records another directory than dir_id. */
struct cap_state *cap_state_open(const char *path, const char *dir_id, char *err, size_t errlen);
void cap_state_free(struct cap_state *s); /* NULL is fine */

bool cap_state_done(const struct cap_state *s, const char *rel, uint64_t size, int64_t mtime_ns);
void cap_state_mark(struct cap_state *s, const char *rel, uint64_t size, int64_t mtime_ns,
                    bool whole);
size_t cap_state_count(const struct cap_state *s);

/* Forgetting files that are gone: begin a scan, touch every file it finds, then prune
 * what was not touched. */
void cap_state_scan_begin(struct cap_state *s);
void cap_state_touch(struct cap_state *s, const char *rel);
void cap_state_prune(struct cap_state *s);

bool cap_state_dirty(const struct cap_state *s);
/* Writes PATH.tmp, syncs it, renames it over PATH. false with the reason in err. */
bool cap_state_save(struct cap_state *s, char *err, size_t errlen);

#endif
