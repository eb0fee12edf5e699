/* envelope: the top-level fields every document starts with (time, source, frame number,
 * lengths), written by the document builder and by the reader for a packet no worker could
 * dissect. Pure: no libwireshark. */
#ifndef ESPCAP_ENVELOPE_H
#define ESPCAP_ENVELOPE_H

#include <stdint.h>
#include <time.h>

#include "../util/buf.h"

/* Where the packets of the current source come from. Strings are borrowed for the call. */
struct doc_source {
    const char *capture;   /* "pcap_file" or "pcap_live" */
    const char *file_name; /* path as given, or NULL */
    time_t file_mtime;     /* with file_name */
    const char *interface; /* live interface, or NULL */
};

/* ,"capture":...,"file_name":...,"file_date_utc":... (or ,"interface":...) into out. */
void envelope_source(struct buf *out, const struct doc_source *src);

/* {"@timestamp":...,"sniff_timestamp":...,"sniff_date_utc":...<source>,"frame_number":...,
 * "length":...,"caplen":... into out, without the closing brace. The time must be
 * normalised; frac_digits is 6 or 9 (the capture's precision). */
void envelope_begin(struct buf *out, int64_t secs, int32_t nsecs, int frac_digits,
                    const struct buf *source_json, uint32_t frame, uint64_t length,
                    uint64_t caplen);

#endif
