/* envelope: the documents' top-level fields (see envelope.h, docs/schema.md). */
#include "envelope.h"

#include <string.h>

#include "../util/timefmt.h"
#include "json.h"

void envelope_source(struct buf *b, const struct doc_source *src)
{
    buf_reset(b);
    buf_adds(b, ",\"capture\":");
    json_str(b, src->capture, strlen(src->capture), 0);
    if (src->file_name) {
        buf_adds(b, ",\"file_name\":");
        json_str(b, src->file_name, strlen(src->file_name), 0);
        buf_adds(b, ",\"file_date_utc\":\"");
        tf_datetime(b, (int64_t)src->file_mtime);
        buf_addc(b, '"');
    }
    if (src->interface) {
        buf_adds(b, ",\"interface\":");
        json_str(b, src->interface, strlen(src->interface), 0);
    }
}

void envelope_begin(struct buf *b, int64_t secs, int32_t nsecs, int frac_digits,
                    const struct buf *source_json, uint32_t frame, uint64_t length,
                    uint64_t caplen)
{
    buf_adds(b, "{\"@timestamp\":\"");
    tf_iso8601(b, secs, nsecs, frac_digits);
    buf_adds(b, "\",\"sniff_timestamp\":");
    json_seconds(b, secs, nsecs, 6);
    buf_adds(b, ",\"sniff_date_utc\":\"");
    tf_datetime(b, secs);
    buf_addc(b, '"');
    buf_add(b, source_json->p, source_json->len);
    buf_adds(b, ",\"frame_number\":");
    json_u64(b, frame);
    buf_adds(b, ",\"length\":");
    json_u64(b, length);
    buf_adds(b, ",\"caplen\":");
    json_u64(b, caplen);
}
