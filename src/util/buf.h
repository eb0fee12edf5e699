/* buf: a growable byte buffer reused across packets, and allocation that aborts on out-of-memory. */
#ifndef ESPCAP_BUF_H
#define ESPCAP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Allocation helpers: out of memory prints a message and aborts (like redis zmalloc). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A byte buffer. The caller embeds it (buf_init/buf_fini); p is owned by the buffer.
 * buf_reset keeps the allocation, so the hot path never mallocs once warmed up. */
struct buf {
    char *p;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b, size_t cap);
void buf_fini(struct buf *b);
void buf_grow(struct buf *b, size_t extra); /* ensures cap >= len + extra */

static inline void buf_reset(struct buf *b) { b->len = 0; }

static inline char *buf_reserve(struct buf *b, size_t n)
{
    if (b->cap - b->len < n)
        buf_grow(b, n);
    return b->p + b->len;
}

static inline void buf_add(struct buf *b, const void *s, size_t n)
{
    memcpy(buf_reserve(b, n), s, n);
    b->len += n;
}

static inline void buf_addc(struct buf *b, char c)
{
    if (b->cap == b->len)
        buf_grow(b, 1);
    b->p[b->len++] = c;
}

static inline void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* NUL-terminates without counting the NUL in len; returns b->p. */
const char *buf_cstr(struct buf *b);

void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
