/* es_deadletter: the dead-letter file, one NDJSON line per document the engine rejected for
 * good: {"action":...,"status":400,"error":...,"document":...}. Every line is valid JSON,
 * whatever the engine (or a proxy in front of it) answered. */
#ifndef ESPCAP_ES_DEADLETTER_H
#define ESPCAP_ES_DEADLETTER_H

#include <stdbool.h>
#include <stddef.h>

struct es_deadletter;

/* path is copied; the file is opened (for appending) at the first letter only: created
 * 0600, never through a symbolic link, never in a folder anyone may write to without the
 * sticky bit (util/fsafe.h). Each letter is written whole at once (no buffering), so the
 * file only ever holds whole lines. */
struct es_deadletter *es_deadletter_new(const char *path);
void es_deadletter_free(struct es_deadletter *d); /* closes the file; NULL is fine */

/* Appends one line. action and doc are JSON (the _bulk action line and the document);
 * error is the engine's text for it: JSON, plain text or bytes, possibly empty. A value
 * that is not one valid JSON value is written as a JSON string (cut at 2000 bytes),
 * JSON on several lines is put on one. false when the file cannot be opened or written
 * (a line cut short is taken back): the reason is in es_deadletter_error() and no later
 * letter is tried. */
bool es_deadletter_write(struct es_deadletter *d, const char *action, size_t alen, int status,
                         const char *error, size_t elen, const char *doc, size_t dlen);

/* Opens the file now (before giving up root: the letters to come must still be
 * writable). false with the reason in es_deadletter_error(). */
bool es_deadletter_open(struct es_deadletter *d);

const char *es_deadletter_path(const struct es_deadletter *d);
const char *es_deadletter_error(const struct es_deadletter *d);

#endif
