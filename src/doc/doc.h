/* doc: a dissected packet's protocol tree -> one JSON document, written straight into
 * a reused buffer. The layout is specified in docs/schema.md. */
#ifndef ESPCAP_DOC_H
#define ESPCAP_DOC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <wireshark.h>
#include <epan/proto.h>
#include <wiretap/wtap.h>

#include "../util/buf.h"

#define DOC_DEFAULT_MAX_BYTES 256

struct doc_config {
    const char *protocols_list; /* path of protocols.list */
    size_t max_bytes;           /* cut byte and string values longer than this; 0: never */
};

/* Where the packets of the current source come from. Strings are copied. */
struct doc_source {
    const char *capture;   /* "pcap_file" or "pcap_live" */
    const char *file_name; /* path as given, or NULL */
    time_t file_mtime;     /* with file_name */
    const char *interface; /* live interface, or NULL */
};

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

/* A field as it stands in a document: which layer key, which Wireshark field. The same
 * ref always means the same path, so a sink can remember which it has mapped. */
typedef uint64_t doc_field_ref;

/* What a sink needs to know about a document besides its bytes. */
struct doc_info {
    int64_t ts_sec;        /* packet time, UTC seconds */
    int32_t ts_nsec;
    uint32_t frame_number;
    uint64_t source_id;    /* identifies the capture: with frame_number, a stable _id */
    uint64_t packet_hash;  /* and the packet's own content */
    const doc_field_ref *fields; /* every layer field in the document, once each */
    size_t n_fields;
};

struct doc_stats {
    uint64_t cut_values;   /* values cut at max_bytes */
};

struct doc;

/* Reads protocols.list and the field registry. NULL with a message in err on failure. */
struct doc *doc_new(const struct doc_config *cfg, char *err, size_t errlen);
void doc_free(struct doc *d);

void doc_set_source(struct doc *d, const struct doc_source *src);

/* Builds the document of one packet; the result stays valid until the next call. */
const struct buf *doc_build(struct doc *d, proto_tree *tree, const wtap_rec *rec,
                            uint32_t frame_number, struct doc_info *info);

const struct doc_stats *doc_stats(const struct doc *d);

/* The full path of a field ref ("layers.network.ip.flags._value") appended to path, and
 * the class its mapping is chosen from. */
enum doc_class doc_field_describe(struct doc *d, doc_field_ref ref, struct buf *path);

#endif
