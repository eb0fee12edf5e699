/* es_deadletter: NDJSON lines of rejected documents, valid whatever the error text. */
#include "es_deadletter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../doc/json.h"
#include "../util/buf.h"
#include "../util/fsafe.h"
#include "../util/log.h"
#include "es_json.h"

#define ERROR_TEXT_MAX 2000

struct es_deadletter {
    char *path;
    int fd;      /* -1 until the first letter (or es_deadletter_open) */
    bool failed; /* could not be opened or written: no more tries */
    bool announced; /* the first letter was reported */
    struct buf line;
    char error[512];
};

struct es_deadletter *es_deadletter_new(const char *path)
{
    struct es_deadletter *d = xcalloc(1, sizeof *d);
    d->path = xstrdup(path);
    d->fd = -1;
    buf_init(&d->line, 4096);
    return d;
}

void es_deadletter_free(struct es_deadletter *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    buf_fini(&d->line);
    free(d->path);
    free(d);
}

const char *es_deadletter_path(const struct es_deadletter *d) { return d->path; }
const char *es_deadletter_error(const struct es_deadletter *d) { return d->error; }

/* A valid JSON value as is, on one line (whitespace between tokens dropped; inside
 * strings a line break is always escaped); anything else as a JSON string. */
static void add_value(struct buf *b, const char *p, size_t n, size_t max)
{
    if (!n || !ejson_valid(p, n)) {
        json_str(b, p, n, max);
        return;
    }
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            buf_addc(b, c);
            if (c == '\\')
                buf_addc(b, p[++i]); /* valid JSON: an escape is never the last byte */
            else if (c == '"')
                in_str = false;
        } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            buf_addc(b, c);
            in_str = c == '"';
        }
    }
}

/* The file holds packet payloads (often credentials): 0600, no symbolic link, a folder
 * nobody else may swap it in (fsafe). */
bool es_deadletter_open(struct es_deadletter *d)
{
    if (d->fd < 0 && !d->failed) {
        char why[256];
        d->fd = fsafe_open_append(d->path, NULL, why, sizeof why);
        if (d->fd < 0) {
            snprintf(d->error, sizeof d->error, "%s: cannot open the dead-letter file: %s",
                     d->path, why);
            d->failed = true;
        }
    }
    return d->fd >= 0;
}

bool es_deadletter_write(struct es_deadletter *d, const char *action, size_t alen, int status,
                         const char *error, size_t elen, const char *doc, size_t dlen)
{
    if (!es_deadletter_open(d))
        return false;
    if (!d->announced) {
        log_warn("documents the node rejects go to %s", d->path);
        d->announced = true;
    }
    struct buf *b = &d->line;
    buf_reset(b);
    buf_adds(b, "{\"action\":");
    add_value(b, action, alen, 0);
    buf_printf(b, ",\"status\":%d,\"error\":", status);
    add_value(b, error, elen, ERROR_TEXT_MAX);
    buf_adds(b, ",\"document\":");
    add_value(b, doc, dlen, 0);
    buf_adds(b, "}\n");
    /* One write per line, so that the file only ever holds whole lines: a line cut short
     * (a full disk) is taken back, and no later line is tried. */
    struct stat st;
    off_t before = fstat(d->fd, &st) == 0 ? st.st_size : -1;
    size_t done = 0;
    while (done < b->len) {
        ssize_t w = write(d->fd, b->p + done, b->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(d->error, sizeof d->error, "%s: cannot write a dead letter: %s", d->path,
                     w < 0 ? strerror(errno) : "nothing written");
            if (done && before >= 0 && ftruncate(d->fd, before) != 0)
                log_warn("%s: cannot take back a dead letter cut short: %s", d->path,
                         strerror(errno));
            close(d->fd);
            d->fd = -1;
            d->failed = true;
            return false;
        }
        done += (size_t)w;
    }
    return true;
}

