/* json: write JSON values straight into a buffer; no tree in memory. */
#ifndef ESPCAP_JSON_H
#define ESPCAP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

/* The suffix written after a value cut at its length limit. */
#define JSON_CUT_MARK "..."

/* Writes s[0..n) as a JSON string: quotes, escapes, invalid UTF-8 replaced by U+FFFD.
 * With max > 0 and n > max, only the first max bytes are written (never half a UTF-8
 * character) followed by JSON_CUT_MARK. Returns true when the value was cut. */
bool json_str(struct buf *b, const char *s, size_t n, size_t max);

/* Writes bytes as a JSON string of lowercase hex pairs joined by ':' ("de:ad:be:ef").
 * Cut like json_str, at max bytes of input. Returns true when cut. */
bool json_hex(struct buf *b, const uint8_t *p, size_t n, size_t max);

void json_u64(struct buf *b, uint64_t v);
void json_i64(struct buf *b, int64_t v);
/* Finite values as numbers; NaN and infinities, which JSON cannot hold, as null. */
void json_double(struct buf *b, double v, int digits);
/* Seconds as a decimal number with 'frac_digits' digits (3, 6 or 9) from ns. */
void json_seconds(struct buf *b, int64_t secs, int32_t nsecs, int frac_digits);

/* Number of bytes at the start of s[0..n) that form valid UTF-8 (stops at the first
 * invalid sequence). Exposed for tests. */
size_t json_utf8_valid_prefix(const uint8_t *s, size_t n);

#endif
