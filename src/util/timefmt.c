/* timefmt: days-to-civil conversion (proleptic Gregorian, after H. Hinnant's method). */
#include "timefmt.h"

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void tf_from_epoch(int64_t secs, struct tf_civil *c)
{
    int64_t days = floor_div(secs, 86400);
    int64_t rem = secs - days * 86400;
    c->hour = (int)(rem / 3600);
    c->min = (int)(rem / 60 % 60);
    c->sec = (int)(rem % 60);
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->year = yoe + era * 400 + (c->month <= 2);
}

static char *put(char *o, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

static char *put_date(char *o, const struct tf_civil *c)
{
    int64_t y = c->year < 0 ? 0 : c->year > 9999 ? 9999 : c->year;
    o = put(o, y, 4);
    *o++ = '-';
    o = put(o, c->month, 2);
    *o++ = '-';
    return put(o, c->day, 2);
}

static char *put_time(char *o, const struct tf_civil *c)
{
    o = put(o, c->hour, 2);
    *o++ = ':';
    o = put(o, c->min, 2);
    *o++ = ':';
    return put(o, c->sec, 2);
}

int32_t tf_normalise(int64_t *secs, int64_t nsecs)
{
    int64_t carry = nsecs / 1000000000;
    nsecs %= 1000000000;
    if (nsecs < 0) {
        nsecs += 1000000000;
        carry -= 1;
    }
    *secs += carry;
    return (int32_t)nsecs;
}

void tf_iso8601(struct buf *b, int64_t secs, int32_t nsecs, int frac_digits)
{
    struct tf_civil c;
    nsecs = tf_normalise(&secs, nsecs);
    tf_from_epoch(secs, &c);
    char *o = buf_reserve(b, 32), *s = o;
    o = put_date(o, &c);
    *o++ = 'T';
    o = put_time(o, &c);
    if (frac_digits > 0) {
        int64_t f = nsecs;
        for (int i = frac_digits; i < 9; i++)
            f /= 10;
        *o++ = '.';
        o = put(o, f, frac_digits);
    }
    *o++ = 'Z';
    b->len += (size_t)(o - s);
}

void tf_datetime(struct buf *b, int64_t secs)
{
    struct tf_civil c;
    tf_from_epoch(secs, &c);
    char *o = buf_reserve(b, 24), *s = o;
    o = put_date(o, &c);
    *o++ = ' ';
    o = put_time(o, &c);
    b->len += (size_t)(o - s);
}

void tf_date(char out[11], int64_t secs)
{
    struct tf_civil c;
    tf_from_epoch(secs, &c);
    char *o = put_date(out, &c);
    *o = '\0';
}
