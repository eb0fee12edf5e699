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
#include "docinfo.h"
#include "envelope.h"
#include "fieldsel.h"

#define DOC_DEFAULT_MAX_BYTES 256

struct doc_config {
    const char *protocols_list; /* path of protocols.list */
    size_t max_bytes;           /* cut byte and string values longer than this; 0: never */
    struct fieldsel fields;     /* --fields, --exclude-fields (the envelope always stays) */
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

/* The per-session counters of a packet that gets no document (the display filter refused
 * it): the reader must still see them to number the others as one worker would. Their
 * offsets are 0. Valid until the next call. */
size_t doc_scan_counters(struct doc *d, proto_tree *tree, const struct doc_counter **out);

#endif
