/* test_timefmt: UTC calendar formatting against known instants. */
#include "../../src/util/timefmt.h"
#include <stdbool.h>

#include "testhelp.h"

int main(void)
{
    struct buf b;
    buf_init(&b, 8);
    tf_iso8601(&b, 1438233730, 634684000, 6);
    CHECK_STR(buf_cstr(&b), "2015-07-30T05:22:10.634684Z");
    buf_reset(&b);
    tf_iso8601(&b, 0, 1, 9);
    CHECK_STR(buf_cstr(&b), "1970-01-01T00:00:00.000000001Z");
    buf_reset(&b);
    tf_iso8601(&b, 951782400, 0, 0); /* leap day 2000 */
    CHECK_STR(buf_cstr(&b), "2000-02-29T00:00:00Z");
    buf_reset(&b);
    tf_datetime(&b, 1709337599); /* 2024-03-01 23:59:59 */
    CHECK_STR(buf_cstr(&b), "2024-03-01 23:59:59");
    buf_reset(&b);
    tf_datetime(&b, -1);
    CHECK_STR(buf_cstr(&b), "1969-12-31 23:59:59");
    char d[11];
    tf_date(d, 4102444800); /* 2100-01-01 */
    CHECK_STR(d, "2100-01-01");
    /* every day for 400 years round-trips through the civil calendar consistently */
    int bad = 0;
    struct tf_civil prev, c;
    tf_from_epoch(0, &prev);
    for (int64_t day = 1; day < 146097; day++) {
        tf_from_epoch(day * 86400, &c);
        bool next_day = (c.day == prev.day + 1 && c.month == prev.month && c.year == prev.year) ||
                        (c.day == 1 && (c.month == prev.month + 1 || (c.month == 1 && prev.month == 12 &&
                                                                     c.year == prev.year + 1)));
        bad += !next_day;
        prev = c;
    }
    CHECK(bad == 0);

    /* A fraction of 1e9 ns or more (or negative, from an overflowed record) carries. */
    int64_t secs = 1709294400;
    CHECK(tf_normalise(&secs, 1500000000) == 500000000 && secs == 1709294401);
    secs = 0;
    CHECK(tf_normalise(&secs, -2078753920) == 921246080 && secs == -3);
    secs = 7;
    CHECK(tf_normalise(&secs, 999999999) == 999999999 && secs == 7);
    buf_reset(&b);
    tf_iso8601(&b, 1709294400, 1500000000, 9);
    CHECK_STR(buf_cstr(&b), "2024-03-01T12:00:01.500000000Z");
    buf_fini(&b);
    return TH_DONE("test_timefmt");
}
