/* recwire: a capture record (wiretap's wtap_rec and its bytes) as flat bytes, so that the
 * reader can hand it to a dissection worker through shared memory: the record header, the
 * pseudo-header (its few pointers written out as data), the packet block's options
 * (comments, flags, verdicts, ...), and the bytes. */
#ifndef ESPCAP_RECWIRE_H
#define ESPCAP_RECWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wireshark.h>
#include <wiretap/wtap.h>

#include "../util/buf.h"

/* What the reader adds about the capture around the packet: the dissectors of one worker
 * see only its share of the packets, yet frame times are relative to the capture's. */
struct wire_frame {
    uint64_t seq;          /* the reader's count of packets handed out */
    uint32_t frame;        /* the capture's frame number */
    uint32_t flags;        /* WIRE_* */
    int64_t prev_secs;     /* the capture's previous packet time (WIRE_HAS_PREV) */
    int32_t prev_nsecs;
    int64_t first_secs;    /* the capture's first packet time (frame 1) */
    int32_t first_nsecs;
};

#define WIRE_HAS_PREV 1u   /* prev_* is set (not the capture's first packet) */
#define WIRE_RETRY 2u      /* a worker died dissecting this packet: this is the second try */

/* Appends the flat form of one record to out. */
void recwire_encode(struct buf *out, const struct wire_frame *f, const wtap_rec *rec,
                    const uint8_t *data);

/* A decoded record: rec (with a new packet block, owned by rec as wiretap's readers
 * give it) and data point into the worker's own memory, valid until the next decode. */
struct wire_decoder {
    wtap_rec rec;
    struct buf aux;        /* the pseudo-header's strings */
};

void recwire_decoder_init(struct wire_decoder *d);
void recwire_decoder_fini(struct wire_decoder *d);

/* Decodes p[0..n). false: the bytes are not a record (never from a sound reader). */
bool recwire_decode(struct wire_decoder *d, const void *p, size_t n, struct wire_frame *f,
                    const uint8_t **data);

#endif
