/* wire: the messages between the reader and a dissection worker, through the two rings of
 * a lane (src/worker/farm.c). Reader to worker: a source, its events, its packets, the end.
 * Worker to reader: one result per packet, in the order the packets came. */
#ifndef ESPCAP_WIRE_H
#define ESPCAP_WIRE_H

#include <stdint.h>

enum wire_type {
    WIRE_SOURCE = 1,  /* struct wire_source, then the name */
    WIRE_EVENT,       /* struct wire_event, then name, description, data */
    WIRE_PACKET,      /* recwire.h */
    WIRE_END,         /* no payload: finish what is queued, then exit */
    WIRE_RESULT,      /* struct wire_result ... (worker to reader) */
};

struct wire_source {
    uint32_t live;             /* an interface, not a file */
    int32_t file_type_subtype; /* wiretap's, handed to the dissectors */
    int64_t mtime;             /* files: modification time */
    uint32_t name_len;         /* file path or interface name, without a NUL */
    uint32_t incarnation;      /* which worker of the lane this is (0, then 1 after a
                                * crash, ...): its results say it, as its field ids and
                                * counters are its own */
};

struct wire_event {
    uint32_t type;             /* enum cap_event_type */
    uint32_t u32;
    uint8_t addr6[16];
    uint32_t name_len, description_len, data_len; /* name and description with their NUL */
    uint32_t pad;
};

/* A result: the document of one packet (or none: filtered by -Y), with what the reader
 * needs to hand it on. Then: ids[n_ids] (u32), the definitions (n_defs times: struct
 * wire_def, then the path, padded to 4), the counters (n_counters times struct
 * wire_counter), then the document. */
struct wire_result {
    uint64_t seq;
    uint32_t frame;
    uint32_t flags;            /* WIRE_FILTERED */
    int64_t ts_sec;            /* normalised packet time */
    int32_t ts_nsec;
    uint32_t n_ids, n_defs, n_counters;
    uint32_t doc_len;
    uint32_t incarnation;      /* from the lane's WIRE_SOURCE */
    uint32_t cut_values;       /* values cut at --max-bytes */
    uint32_t pad;
};

#define WIRE_FILTERED 1u  /* the display filter (-Y) refused the packet: no document */
#define WIRE_TOO_LARGE 2u /* the document did not fit the ring: none either */
#define WIRE_CRASHED 4u   /* written by the reader: the packet killed two workers */

struct wire_def {
    uint32_t id, cls, path_len;
};

/* A per-session counter in the document (tcp.stream, ...): where its number stands, which
 * counter, and the worker's value. The reader renumbers it in capture order. */
struct wire_counter {
    uint32_t offset, len, kind, pad;
    uint64_t value;
};

#endif
