/* es_deadletter: NDJSON lines of rejected documents, valid whatever the error text. */
#include "es_deadletter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../doc/json.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "es_json.h"

#define ERROR_TEXT_MAX 2000

struct es_deadletter {
    char *path;
    FILE *f;
    bool failed; /* could not be opened: no more tries */
    bool announced; /* the first letter was reported */
    struct buf line;
    char error[512];
};

struct es_deadletter *es_deadletter_new(const char *path)
{
    struct es_deadletter *d = xcalloc(1, sizeof *d);
    d->path = xstrdup(path);
    buf_init(&d->line, 4096);
    return d;
}

void es_deadletter_free(struct es_deadletter *d)
{
    if (!d)
        return;
    if (d->f)
        fclose(d->f);
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

bool es_deadletter_open(struct es_deadletter *d)
{
    if (!d->f && !d->failed) {
        d->f = fopen(d->path, "a");
        if (!d->f) {
            snprintf(d->error, sizeof d->error, "%s: cannot open the dead-letter file: %s",
                     d->path, strerror(errno));
            d->failed = true;
        }
    }
    return d->f != NULL;
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
    fwrite(b->p, 1, b->len, d->f);
    return true;
}

bool es_deadletter_flush(struct es_deadletter *d)
{
    if (d->f && fflush(d->f) != 0) {
        snprintf(d->error, sizeof d->error, "%s: %s", d->path, strerror(errno));
        return false;
    }
    return true;
}
