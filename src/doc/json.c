/* json: escaping, UTF-8 repair, numbers. The hot path of document building. */
#include "json.h"

#include <math.h>
#include <stdio.h>

#include "../util/timefmt.h"

static const char hexdig[] = "0123456789abcdef";

/* 1: byte needs escaping or UTF-8 checking; 0: copy as is. */
static const uint8_t special[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not valid there. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (n >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0)
            return 0; /* overlong */
        if (c == 0xed && s[1] >= 0xa0)
            return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xf4 && s[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

size_t json_utf8_valid_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(s + i, n - i);
        if (!k)
            break;
        i += k;
    }
    return i;
}

bool json_str(struct buf *b, const char *str, size_t n, size_t max)
{
    const uint8_t *s = (const uint8_t *)str;
    bool cut = false;
    if (max && n > max) {
        /* Back off to the start of a character that the limit would split. */
        size_t k = max;
        for (int steps = 0; k > 0 && steps < 3 && (s[k] & 0xc0) == 0x80; steps++)
            k--;
        n = (s[k] & 0xc0) != 0x80 ? k : max;
        cut = true;
    }
    /* Worst case: every byte becomes \u00XX (6) or U+FFFD (3); reserve once. */
    char *o = buf_reserve(b, n * 6 + 2 + sizeof JSON_CUT_MARK);
    char *start = o;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && !special[s[j]])
            j++;
        memcpy(o, s + i, j - i);
        o += j - i;
        i = j;
        if (i >= n)
            break;
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(s + i, n - i);
            if (k) {
                memcpy(o, s + i, k);
                o += k;
                i += k;
            } else {
                *o++ = (char)0xef; /* U+FFFD REPLACEMENT CHARACTER */
                *o++ = (char)0xbf;
                *o++ = (char)0xbd;
                i++;
            }
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hexdig[c >> 4];
            *o++ = hexdig[c & 15];
        }
        i++;
    }
    if (cut) {
        memcpy(o, JSON_CUT_MARK, sizeof JSON_CUT_MARK - 1);
        o += sizeof JSON_CUT_MARK - 1;
    }
    *o++ = '"';
    b->len += (size_t)(o - start);
    return cut;
}

bool json_hex(struct buf *b, const uint8_t *p, size_t n, size_t max)
{
    bool cut = false;
    if (max && n > max) {
        n = max;
        cut = true;
    }
    char *o = buf_reserve(b, n * 3 + 2 + sizeof JSON_CUT_MARK);
    char *start = o;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ':';
        *o++ = hexdig[p[i] >> 4];
        *o++ = hexdig[p[i] & 15];
    }
    if (cut) {
        memcpy(o, JSON_CUT_MARK, sizeof JSON_CUT_MARK - 1);
        o += sizeof JSON_CUT_MARK - 1;
    }
    *o++ = '"';
    b->len += (size_t)(o - start);
    return cut;
}

void json_u64(struct buf *b, uint64_t v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *q = e;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_add(b, q, (size_t)(e - q));
}

void json_i64(struct buf *b, int64_t v)
{
    if (v < 0) {
        buf_addc(b, '-');
        json_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        json_u64(b, (uint64_t)v);
    }
}

void json_double(struct buf *b, double v, int digits)
{
    if (!isfinite(v)) {
        buf_add(b, "null", 4);
        return;
    }
    char *o = buf_reserve(b, 40);
    int n = snprintf(o, 40, "%.*g", digits, v);
    /* "%g" may give "1e+20", valid JSON; it never gives a bare "." or leading "+". */
    b->len += (size_t)n;
}

void json_seconds(struct buf *b, int64_t secs, int32_t nsecs, int frac_digits)
{
    /* Carry first (a fraction may be out of range), then print sign and magnitude:
     * secs=-2, nsecs=3e8 is -1.7 s. */
    int64_t ns = tf_normalise(&secs, nsecs);
    bool neg = secs < 0;
    uint64_t s = neg ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs;
    if (neg && ns > 0) {
        s -= 1;
        ns = 1000000000 - ns;
    }
    if (neg)
        buf_addc(b, '-');
    json_u64(b, s);
    char frac[10];
    int64_t div = 1;
    for (int i = frac_digits; i < 9; i++)
        div *= 10;
    int64_t f = ns / div;
    for (int i = frac_digits - 1; i >= 0; i--) {
        frac[i] = (char)('0' + f % 10);
        f /= 10;
    }
    buf_addc(b, '.');
    buf_add(b, frac, (size_t)frac_digits);
}
