/* timefmt: UTC calendar formatting without the C library's time zone machinery. */
#ifndef ESPCAP_TIMEFMT_H
#define ESPCAP_TIMEFMT_H

#include <stdint.h>

#include "buf.h"

struct tf_civil {
    int64_t year;
    int month, day, hour, min, sec;
};

void tf_from_epoch(int64_t secs, struct tf_civil *out);

/* Carries whole seconds out of a fraction, as Wireshark's time arithmetic does: a record
 * may say 1.5e9 nanoseconds (or, overflowed, a negative number). Returns the fraction in
 * [0, 1e9) and adds the carry to *secs. */
int32_t tf_normalise(int64_t *secs, int64_t nsecs);

/* "2015-07-30T05:22:10.634684Z" with frac_digits (0, 3, 6 or 9) fraction digits; nsecs
 * out of range is carried into the seconds (tf_normalise). */
void tf_iso8601(struct buf *b, int64_t secs, int32_t nsecs, int frac_digits);

/* "2015-07-30 05:22:10" */
void tf_datetime(struct buf *b, int64_t secs);

/* "2015-07-30" into out (at least 11 bytes, years 0-9999; others are clamped). */
void tf_date(char out[11], int64_t secs);

#endif
