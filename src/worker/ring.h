/* ring: a single-producer, single-consumer ring of records in memory shared between two
 * processes (the reader and one dissection worker), with eventfd wake-ups that cost a
 * system call only when the other side sleeps. */
#ifndef ESPCAP_RING_H
#define ESPCAP_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A record: 8-byte aligned, [u32 length][u32 type][payload]. Types are the caller's
 * (RING_PAD is taken). A record is contiguous in memory: one that would cross the end is
 * preceded by a pad to the end. */
#define RING_PAD 0xffffffffu
#define RING_HDR 8u

/* The shared part, at the start of the mapping (ring_bytes(size) in all). */
struct ring_shared;

/* One side's view: the mapping and the two eventfds (shared by both sides). */
struct ring {
    struct ring_shared *sh;
    uint8_t *data;
    uint64_t size;        /* data bytes: a power of two */
    int wake_consumer;    /* eventfd: written by the producer when the consumer sleeps */
    int wake_producer;    /* eventfd: written by the consumer when the producer sleeps */
    uint64_t peeked;      /* consumer: bytes of the record peeked, 0 if none */
    uint32_t unwoken;     /* producer: records committed since a sleeping consumer was due
                           * a wake-up (woken in batches: see ring_wake) */
    uint64_t unfreed;     /* consumer: bytes released since a sleeping producer was due one */
};

/* Wake-ups are batched: a sleeping consumer is woken once RING_WAKE_RECORDS records wait,
 * a sleeping producer once RING_WAKE_BYTES are free; each side must call ring_wake before it
 * sleeps itself, and when it goes idle, so that nothing waits for a deferred wake-up. */
#define RING_WAKE_RECORDS 32u
#define RING_WAKE_DIVISOR 8u  /* a producer is woken when size / 8 bytes are free */

/* Bytes of shared memory a ring with 'size' data bytes needs. */
size_t ring_bytes(uint64_t size);

/* Lays out a ring in mem (ring_bytes(size) bytes, zeroed or not); size a power of two
 * >= 4096. The eventfds are the caller's (both sides use the same two). */
void ring_init(struct ring *r, void *mem, uint64_t size, int wake_consumer, int wake_producer);

/* Attaches to a ring another process laid out in mem. */
void ring_attach(struct ring *r, void *mem, int wake_consumer, int wake_producer);

/* The largest payload a record may have. */
static inline size_t ring_max_record(const struct ring *r) { return (size_t)(r->size / 4); }

/* Producer: room for a payload of len bytes, or NULL when the ring is full for now. The
 * pointer stays valid until ring_commit. */
void *ring_reserve(struct ring *r, size_t len);

/* Producer: publishes the reserved record with its real length (<= the reserved one). */
void ring_commit(struct ring *r, uint32_t type, size_t len);

/* Consumer: the oldest record (its payload), or NULL when the ring is empty. The same
 * record is returned until ring_release. */
const void *ring_peek(struct ring *r, uint32_t *type, size_t *len);

/* Consumer: frees the record ring_peek returned. */
void ring_release(struct ring *r);

/* Consumer, after a crash of the producer: forgets a record it reserved but never
 * committed (nothing to do: an uncommitted record was never visible). Producer, after a
 * crash of the consumer: the consumer's position is where it stopped. */

/* Delivers the wake-ups this side deferred (as producer and as consumer of r). */
void ring_wake(struct ring *r);

/* Sleeping. Each side asks to be woken, checks its condition once more, then waits on its
 * eventfd (poll it with others, then ring_drain_fd when it is readable; the eventfds are
 * non-blocking). */
bool ring_consumer_should_sleep(struct ring *r);  /* false: a record is there now */
bool ring_producer_should_sleep(struct ring *r, size_t len); /* false: room now */
void ring_drain_fd(int fd);

/* Bytes in use (committed, not released); for stats. */
uint64_t ring_used(const struct ring *r);

/* The consumer's position and the record there, for crash recovery by the reader: a
 * record is released only after its result is written, so a dead worker's ring starts at
 * the packet it was dissecting. */
uint64_t ring_tail(const struct ring *r);

#endif
