/* docinfo: what a sink learns about a document besides its bytes. Plain data only (no
 * libwireshark), so that sinks and their tests need nothing of the dissection stage. */
#ifndef ESPCAP_DOCINFO_H
#define ESPCAP_DOCINFO_H

#include <stddef.h>
#include <stdint.h>

/* The value classes a search engine mapping is chosen from (docs/schema.md). */
enum doc_class {
    DC_LONG,       /* integers that fit a signed 64-bit */
    DC_ULONG,      /* unsigned 64-bit integers */
    DC_DOUBLE,     /* floats, doubles, relative times */
    DC_BOOL,       /* booleans, value-less items written as true */
    DC_IP,         /* IPv4, IPv6 */
    DC_DATE,       /* absolute times, ISO 8601 */
    DC_KEYWORD,    /* strings, MAC addresses, OIDs, ... */
    DC_BYTES,      /* colon-hex byte strings: kept, indexed only when short */
};

/* A field as it stands in documents: its full path ("layers.network.ip.src") and class.
 * Ids are small, dense and stable for a run: the same id always means the same path. A
 * document introduces the definition of every id it is the first to use. */
struct doc_field_def {
    uint32_t id;
    enum doc_class cls;
    const char *path;      /* not NUL-terminated; valid until the next document */
    size_t path_len;
};

/* A value in the document that only the reader can get right, and where it stands: a
 * per-session counter (tcp.stream, udp.stream, ...: dissection workers each count their
 * own, the reader renumbers them in capture order), or the time since the previous
 * displayed frame (with -Y only the reader knows which that was). docs/schema.md. */
struct doc_counter {
    uint32_t offset, len;  /* the value's text: doc[offset..offset+len) */
    uint32_t kind;         /* an index into DOC_COUNTER_FIELDS */
    uint64_t value;        /* counters: the worker's number */
};

#define DOC_COUNTER_FIELDS "tcp.stream", "udp.stream", "mptcp.stream", "dccp.stream", \
    "wg.stream", "quic.connection.number", "sctp.assoc_index", "frame.time_delta_displayed"
#define DOC_N_COUNTERS 8           /* kinds */
#define DOC_N_RENUMBERED 7         /* the first 7 are counters; the last is: */
#define DOC_DELTA_DISPLAYED 7
/* A value of a counter that means "none" (not renumbered): sctp.assoc_index is 65535
 * when SCTP association analysis is off (the default). */
#define DOC_COUNTER_NONE UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, \
    UINT64_MAX, 65535, UINT64_MAX

struct doc_info {
    int64_t ts_sec;        /* packet time, UTC seconds (normalised: 0 <= ts_nsec < 1e9) */
    int32_t ts_nsec;
    uint32_t frame_number;
    uint64_t source_id;    /* identifies the capture: with frame_number, a stable _id */
    uint64_t packet_hash;  /* and the packet's own content */
    const uint32_t *fields;              /* ids of the layer fields in the document */
    size_t n_fields;
    const struct doc_field_def *defs;    /* ids this document is the first to use */
    size_t n_defs;
    const struct doc_counter *counters;  /* per-session counters, in document order */
    size_t n_counters;
    uint32_t cut_values;   /* values cut at --max-bytes in this document */
};

#endif
