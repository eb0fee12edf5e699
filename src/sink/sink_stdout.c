/* sink_stdout: NDJSON on standard output, one document per line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/buf.h"
#include "sink.h"

#define STDOUT_FLUSH_AT (1u << 20)

struct sink_stdout {
    struct sink base;
    struct buf out;
};

static int flush_out(struct sink *s)
{
    struct sink_stdout *so = (struct sink_stdout *)s;
    size_t off = 0;
    while (off < so->out.len) {
        ssize_t n = write(STDOUT_FILENO, so->out.p + off, so->out.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(s->error, sizeof s->error, "cannot write to standard output: %s",
                     strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    s->stats.bytes += so->out.len;
    buf_reset(&so->out);
    return 0;
}

static int write_doc(struct sink *s, const char *doc, size_t len, const struct doc_info *info)
{
    struct sink_stdout *so = (struct sink_stdout *)s;
    (void)info;
    buf_add(&so->out, doc, len);
    buf_addc(&so->out, '\n');
    s->stats.written++;
    s->stats.pending = 0; /* written out, or buffered to be: settled at once */
    if (so->out.len >= STDOUT_FLUSH_AT)
        return flush_out(s);
    return 0;
}

static int close_sink(struct sink *s) { return flush_out(s); }

static void free_sink(struct sink *s)
{
    struct sink_stdout *so = (struct sink_stdout *)s;
    buf_fini(&so->out);
    free(so);
}

static const struct sink_ops stdout_ops = {
    .name = "stdout",
    .write = write_doc,
    .flush = flush_out,
    .close = close_sink,
    .free = free_sink,
    .tick = flush_out,
};

struct sink *sink_stdout_new(void)
{
    struct sink_stdout *so = xcalloc(1, sizeof *so);
    so->base.ops = &stdout_ops;
    buf_init(&so->out, STDOUT_FLUSH_AT + 65536);
    return &so->base;
}
