/* test_json: the JSON writer's escaping, UTF-8 repair, cutting and numbers. */
#include <math.h>

#include "../../src/doc/json.h"
#include "testhelp.h"

static struct buf b;

static const char *str(const char *s, size_t n, size_t max)
{
    buf_reset(&b);
    json_str(&b, s, n, max);
    return buf_cstr(&b);
}

static const char *hex(const void *p, size_t n, size_t max)
{
    buf_reset(&b);
    json_hex(&b, p, n, max);
    return buf_cstr(&b);
}

int main(void)
{
    buf_init(&b, 16);
    CHECK_STR(str("plain", 5, 0), "\"plain\"");
    CHECK_STR(str("", 0, 0), "\"\"");
    CHECK_STR(str("a\"b\\c", 5, 0), "\"a\\\"b\\\\c\"");
    CHECK_STR(str("\r\n\t\b\f", 5, 0), "\"\\r\\n\\t\\b\\f\"");
    CHECK_STR(str("\x01\x1f", 2, 0), "\"\\u0001\\u001f\"");
    CHECK_STR(str("nul\0in", 6, 0), "\"nul\\u0000in\"");
    CHECK_STR(str("\x7f", 1, 0), "\"\x7f\"");
    /* valid UTF-8 passes through */
    CHECK_STR(str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 0),
              "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* invalid bytes become U+FFFD, one per byte */
    CHECK_STR(str("a\xffz", 3, 0), "\"a\xef\xbf\xbdz\"");
    CHECK_STR(str("\xc3", 1, 0), "\"\xef\xbf\xbd\"");                 /* truncated sequence */
    CHECK_STR(str("\xc0\xaf", 2, 0), "\"\xef\xbf\xbd\xef\xbf\xbd\"");  /* overlong */
    CHECK_STR(str("\xed\xa0\x80", 3, 0), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
    CHECK_STR(str("\xf4\x90\x80\x80", 4, 0),
              "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* > U+10FFFF */
    /* cutting: marked, never half a character */
    CHECK_STR(str("abcdef", 6, 4), "\"abcd...\"");
    CHECK_STR(str("abcd", 4, 4), "\"abcd\"");
    CHECK_STR(str("ab\xe2\x82\xac", 5, 3), "\"ab...\"");
    CHECK_STR(str("ab\xe2\x82\xac", 5, 4), "\"ab...\"");
    CHECK_STR(str("ab\xe2\x82\xac" "x", 6, 5), "\"ab\xe2\x82\xac...\"");
    CHECK(json_utf8_valid_prefix((const uint8_t *)"ab\xff", 3) == 2);

    CHECK_STR(hex("\xde\xad\xbe\xef", 4, 0), "\"de:ad:be:ef\"");
    CHECK_STR(hex("", 0, 0), "\"\"");
    CHECK_STR(hex("\x00\x01\x02\x03", 4, 2), "\"00:01...\"");

    buf_reset(&b);
    json_u64(&b, 0);
    buf_addc(&b, ' ');
    json_u64(&b, UINT64_MAX);
    buf_addc(&b, ' ');
    json_i64(&b, INT64_MIN);
    buf_addc(&b, ' ');
    json_i64(&b, -42);
    CHECK_STR(buf_cstr(&b), "0 18446744073709551615 -9223372036854775808 -42");

    buf_reset(&b);
    json_double(&b, 0.5, 17);
    buf_addc(&b, ' ');
    json_double(&b, NAN, 17);
    buf_addc(&b, ' ');
    json_double(&b, -INFINITY, 17);
    CHECK_STR(buf_cstr(&b), "0.5 null null");

    buf_reset(&b);
    json_seconds(&b, 1438233730, 634684000, 6);
    buf_addc(&b, ' ');
    json_seconds(&b, 0, 5, 9);
    buf_addc(&b, ' ');
    json_seconds(&b, 0, -500000000, 9);
    buf_addc(&b, ' ');
    json_seconds(&b, -2, 300000000, 3);
    CHECK_STR(buf_cstr(&b), "1438233730.634684 0.000000005 -0.500000000 -1.700");

    /* Fractions out of range carry, as Wireshark's arithmetic does (hostile records). */
    buf_reset(&b);
    json_seconds(&b, 1709294400, 1500000000, 6);
    buf_addc(&b, ' ');
    json_seconds(&b, 0, -2078753920, 9);
    buf_addc(&b, ' ');
    json_seconds(&b, 5, -300000000, 1);
    buf_addc(&b, ' ');
    json_seconds(&b, 0, 1147483648, 9);
    CHECK_STR(buf_cstr(&b), "1709294401.500000 -2.078753920 4.7 1.147483648");
    buf_fini(&b);
    return TH_DONE("test_json");
}
