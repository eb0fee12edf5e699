/* ring: the record ring between the reader and a worker (see ring.h). */
#include "ring.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Head and tail on their own cache lines: each is written by one side only. */
struct ring_shared {
    _Atomic uint64_t head;            /* bytes committed by the producer (never wraps) */
    char pad0[56];
    _Atomic uint64_t tail;            /* bytes released by the consumer */
    char pad1[56];
    _Atomic uint32_t consumer_sleeps; /* set by a consumer about to wait */
    _Atomic uint32_t producer_sleeps;
    uint64_t size;
    char pad2[48];
};

_Static_assert(sizeof(struct ring_shared) == 192, "ring header layout");

static inline uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

size_t ring_bytes(uint64_t size) { return sizeof(struct ring_shared) + (size_t)size; }

void ring_init(struct ring *r, void *mem, uint64_t size, int wake_consumer, int wake_producer)
{
    struct ring_shared *sh = mem;
    memset(sh, 0, sizeof *sh);
    sh->size = size;
    ring_attach(r, mem, wake_consumer, wake_producer);
}

void ring_attach(struct ring *r, void *mem, int wake_consumer, int wake_producer)
{
    r->sh = mem;
    r->data = (uint8_t *)mem + sizeof(struct ring_shared);
    r->size = r->sh->size;
    r->wake_consumer = wake_consumer;
    r->wake_producer = wake_producer;
    r->peeked = 0;
    r->unwoken = 0;
    r->unfreed = 0;
}

static void wake(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

void ring_drain_fd(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

/* Where the next record of len payload bytes would go: its offset from head (after a pad
 * to the end, if needed), and the bytes it takes from head on. */
static bool fits(const struct ring *r, uint64_t head, uint64_t tail, size_t len, uint64_t *skip)
{
    uint64_t need = RING_HDR + align8(len);
    uint64_t off = head & (r->size - 1);
    *skip = off + need > r->size ? r->size - off : 0;
    return head + *skip + need - tail <= r->size;
}

void *ring_reserve(struct ring *r, size_t len)
{
    if (len > ring_max_record(r))
        return NULL;
    uint64_t head = atomic_load_explicit(&r->sh->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    uint64_t skip;
    if (!fits(r, head, tail, len, &skip))
        return NULL;
    if (skip) {
        /* A pad to the end, published with the record (head moves once, in commit). */
        uint32_t hdr[2] = { (uint32_t)(skip - RING_HDR), RING_PAD };
        memcpy(r->data + (head & (r->size - 1)), hdr, sizeof hdr);
        head += skip;
    }
    return r->data + (head & (r->size - 1)) + RING_HDR;
}

void ring_commit(struct ring *r, uint32_t type, size_t len)
{
    uint64_t head = atomic_load_explicit(&r->sh->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    uint64_t skip;
    fits(r, head, tail, len, &skip); /* the same decision ring_reserve took */
    uint64_t at = head + skip;
    uint32_t hdr[2] = { (uint32_t)len, type };
    memcpy(r->data + (at & (r->size - 1)), hdr, sizeof hdr);
    atomic_store_explicit(&r->sh->head, at + RING_HDR + align8(len), memory_order_seq_cst);
    if (atomic_load_explicit(&r->sh->consumer_sleeps, memory_order_seq_cst) &&
        ++r->unwoken >= RING_WAKE_RECORDS) {
        r->unwoken = 0;
        if (atomic_exchange(&r->sh->consumer_sleeps, 0))
            wake(r->wake_consumer);
    }
}

void ring_wake(struct ring *r)
{
    if (atomic_load_explicit(&r->sh->consumer_sleeps, memory_order_seq_cst) &&
        atomic_load_explicit(&r->sh->head, memory_order_seq_cst) !=
            atomic_load_explicit(&r->sh->tail, memory_order_seq_cst) &&
        atomic_exchange(&r->sh->consumer_sleeps, 0))
        wake(r->wake_consumer);
    r->unwoken = 0;
    if (r->unfreed && atomic_load_explicit(&r->sh->producer_sleeps, memory_order_seq_cst) &&
        atomic_exchange(&r->sh->producer_sleeps, 0))
        wake(r->wake_producer);
    r->unfreed = 0;
}

const void *ring_peek(struct ring *r, uint32_t *type, size_t *len)
{
    uint64_t tail = atomic_load_explicit(&r->sh->tail, memory_order_relaxed);
    for (;;) {
        uint64_t head = atomic_load_explicit(&r->sh->head, memory_order_acquire);
        if (tail == head)
            return NULL;
        uint32_t hdr[2];
        memcpy(hdr, r->data + (tail & (r->size - 1)), sizeof hdr);
        if (hdr[1] == RING_PAD) {
            /* Skip it for good: nothing else will ever read it. */
            tail += RING_HDR + align8(hdr[0]);
            atomic_store_explicit(&r->sh->tail, tail, memory_order_release);
            continue;
        }
        *type = hdr[1];
        *len = hdr[0];
        r->peeked = RING_HDR + align8(hdr[0]);
        return r->data + (tail & (r->size - 1)) + RING_HDR;
    }
}

void ring_release(struct ring *r)
{
    if (!r->peeked)
        return;
    uint64_t tail = atomic_load_explicit(&r->sh->tail, memory_order_relaxed);
    atomic_store_explicit(&r->sh->tail, tail + r->peeked, memory_order_seq_cst);
    r->unfreed += r->peeked;
    r->peeked = 0;
    if (atomic_load_explicit(&r->sh->producer_sleeps, memory_order_seq_cst) &&
        r->unfreed >= r->size / RING_WAKE_DIVISOR) {
        r->unfreed = 0;
        if (atomic_exchange(&r->sh->producer_sleeps, 0))
            wake(r->wake_producer);
    }
}

bool ring_consumer_should_sleep(struct ring *r)
{
    ring_wake(r); /* whoever waits for room in this ring gets it before we sleep */
    atomic_store_explicit(&r->sh->consumer_sleeps, 1, memory_order_seq_cst);
    uint64_t head = atomic_load_explicit(&r->sh->head, memory_order_seq_cst);
    uint64_t tail = atomic_load_explicit(&r->sh->tail, memory_order_relaxed);
    if (head != tail) {
        atomic_store_explicit(&r->sh->consumer_sleeps, 0, memory_order_relaxed);
        return false;
    }
    return true;
}

bool ring_producer_should_sleep(struct ring *r, size_t len)
{
    ring_wake(r); /* the records we deferred are the consumer's to take before we sleep */
    atomic_store_explicit(&r->sh->producer_sleeps, 1, memory_order_seq_cst);
    uint64_t head = atomic_load_explicit(&r->sh->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->sh->tail, memory_order_seq_cst);
    uint64_t skip;
    if (fits(r, head, tail, len, &skip)) {
        atomic_store_explicit(&r->sh->producer_sleeps, 0, memory_order_relaxed);
        return false;
    }
    return true;
}

uint64_t ring_used(const struct ring *r)
{
    return atomic_load(&r->sh->head) - atomic_load(&r->sh->tail);
}

uint64_t ring_tail(const struct ring *r) { return atomic_load(&r->sh->tail); }
