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

/* "2015-07-30T05:22:10.634684Z" with frac_digits (0, 3, 6 or 9) fraction digits. */
void tf_iso8601(struct buf *b, int64_t secs, int32_t nsecs, int frac_digits);

/* "2015-07-30 05:22:10" */
void tf_datetime(struct buf *b, int64_t secs);

/* "2015-07-30" into out (at least 11 bytes, years 0-9999; others are clamped). */
void tf_date(char out[11], int64_t secs);

#endif
