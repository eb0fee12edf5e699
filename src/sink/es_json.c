/* es_json: a cursor over JSON text that skips what it does not need. */
#include "es_json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NEST 64

struct cur {
    const char *p, *end;
    int depth;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static bool skip_string(struct cur *c)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    for (c->p++; c->p < c->end; c->p++) {
        if (*c->p == '\\') {
            c->p++;
            continue;
        }
        if (*c->p == '"') {
            c->p++;
            return true;
        }
    }
    return false;
}

static bool skip_value(struct cur *c);

static bool skip_container(struct cur *c, char open, char close)
{
    if (++c->depth > MAX_NEST)
        return false;
    c->p++; /* open */
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return true;
    }
    for (;;) {
        ws(c);
        if (open == '{') {
            if (!skip_string(c))
                return false;
            ws(c);
            if (c->p >= c->end || *c->p != ':')
                return false;
            c->p++;
            ws(c);
        }
        if (!skip_value(c))
            return false;
        ws(c);
        if (c->p >= c->end)
            return false;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == close) {
            c->p++;
            c->depth--;
            return true;
        }
        return false;
    }
}

static bool skip_value(struct cur *c)
{
    ws(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '"': return skip_string(c);
    case '{': return skip_container(c, '{', '}');
    case '[': return skip_container(c, '[', ']');
    default: {
        const char *s = c->p;
        while (c->p < c->end && !strchr(",]} \n\r\t", *c->p))
            c->p++;
        return c->p > s;
    }
    }
}

/* At '{': finds key; leaves the cursor at its value. */
static bool find_key(struct cur *c, const char *key, size_t keylen)
{
    ws(c);
    if (c->p >= c->end || *c->p != '{')
        return false;
    c->p++;
    for (;;) {
        ws(c);
        if (c->p < c->end && *c->p == '}')
            return false;
        const char *ks = c->p;
        if (!skip_string(c))
            return false;
        bool match = (size_t)(c->p - ks) == keylen + 2 && memcmp(ks + 1, key, keylen) == 0;
        ws(c);
        if (c->p >= c->end || *c->p != ':')
            return false;
        c->p++;
        ws(c);
        if (match)
            return true;
        if (!skip_value(c))
            return false;
        ws(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
    }
}

bool ejson_get(const char *text, size_t len, const char *path, struct jspan *out)
{
    struct cur c = { text, text + len, 0 };
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t kl = dot ? (size_t)(dot - path) : strlen(path);
        if (!find_key(&c, path, kl))
            return false;
        path += kl + (dot ? 1 : 0);
    }
    const char *s = c.p;
    if (!skip_value(&c))
        return false;
    out->p = s;
    out->n = (size_t)(c.p - s);
    return true;
}

bool ejson_text(struct jspan v, char *out, size_t outlen)
{
    if (!v.n || *v.p == '{' || *v.p == '[')
        return false;
    const char *s = v.p;
    size_t n = v.n;
    if (*s == '"') {
        s++;
        n -= 2;
    }
    if (n + 1 > outlen)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

long ejson_members(const char *text, size_t len,
                   void (*cb)(void *ctx, struct jspan key, struct jspan value), void *ctx)
{
    struct cur c = { text, text + len, 0 };
    ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return -1;
    c.p++;
    long n = 0;
    for (;;) {
        ws(&c);
        if (c.p < c.end && *c.p == '}')
            return n;
        const char *ks = c.p;
        if (!skip_string(&c))
            return -1;
        struct jspan key = { ks + 1, (size_t)(c.p - ks) - 2 };
        ws(&c);
        if (c.p >= c.end || *c.p != ':')
            return -1;
        c.p++;
        ws(&c);
        const char *vs = c.p;
        if (!skip_value(&c))
            return -1;
        struct jspan val = { vs, (size_t)(c.p - vs) };
        if (cb)
            cb(ctx, key, val);
        n++;
        ws(&c);
        if (c.p < c.end && *c.p == ',')
            c.p++;
    }
}

long ejson_bulk_items(const char *text, size_t len, bool *errors,
                      void (*cb)(void *ctx, long i, const struct bulk_item *it), void *ctx)
{
    struct jspan v;
    *errors = ejson_get(text, len, "errors", &v) && v.n == 4 && memcmp(v.p, "true", 4) == 0;
    if (!ejson_get(text, len, "items", &v) || *v.p != '[')
        return -1;
    struct cur c = { v.p + 1, v.p + v.n, 1 };
    long i = 0;
    for (;;) {
        ws(&c);
        if (c.p >= c.end || *c.p == ']')
            break;
        if (*c.p == ',') {
            c.p++;
            continue;
        }
        /* { "create": { ..., "status": 201, "error": {...} } } */
        const char *item_start = c.p;
        if (*c.p != '{')
            return -1;
        struct cur in = { c.p + 1, c.end, 0 };
        ws(&in);
        if (!skip_string(&in))
            return -1;
        ws(&in);
        if (in.p >= in.end || *in.p != ':')
            return -1;
        in.p++;
        ws(&in);
        const char *obj = in.p;
        c.p = item_start;
        if (!skip_value(&c))
            return -1;
        struct cur o = { obj, c.p, 0 };
        const char *obj_start = o.p;
        if (!skip_value(&o))
            return -1;
        size_t objlen = (size_t)(o.p - obj_start);
        struct bulk_item it = { 0, { NULL, 0 } };
        struct jspan s;
        char num[16];
        if (ejson_get(obj_start, objlen, "status", &s) && ejson_text(s, num, sizeof num))
            it.status = atoi(num);
        if (!ejson_get(obj_start, objlen, "error", &it.error))
            it.error.n = 0;
        if (cb)
            cb(ctx, i, &it);
        i++;
    }
    return i;
}

/* ---- strict validation ---- */

static bool v_value(struct cur *c);

static bool v_utf8(struct cur *c)
{
    const unsigned char *s = (const unsigned char *)c->p;
    size_t left = (size_t)(c->end - c->p);
    unsigned char b = s[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (b < 0x80)
        n = 1, min = 0, cp = b;
    else if (b >= 0xc2 && b <= 0xdf)
        n = 2, min = 0x80, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef)
        n = 3, min = 0x800, cp = b & 0x0f;
    else if (b >= 0xf0 && b <= 0xf4)
        n = 4, min = 0x10000, cp = b & 0x07;
    else
        return false;
    if (n > left)
        return false;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return false;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    c->p += n;
    return true;
}

static bool v_string(struct cur *c)
{
    c->p++; /* the opening quote */
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            if (++c->p >= c->end)
                return false;
            char e = *c->p++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++, c->p++)
                    if (c->p >= c->end || !strchr("0123456789abcdefABCDEF", *c->p) || !*c->p)
                        return false;
            } else if (!strchr("\"\\/bfnrt", e) || !e) {
                return false;
            }
            continue;
        }
        if (!v_utf8(c))
            return false;
    }
    return false;
}

static bool v_digits(struct cur *c)
{
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > s;
}

static bool v_number(struct cur *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (!v_digits(c))
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!v_digits(c))
            return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!v_digits(c))
            return false;
    }
    return true;
}

static bool v_word(struct cur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool v_container(struct cur *c, char close)
{
    if (++c->depth > MAX_NEST)
        return false;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return true;
    }
    for (;;) {
        ws(c);
        if (close == '}') {
            if (c->p >= c->end || *c->p != '"' || !v_string(c))
                return false;
            ws(c);
            if (c->p >= c->end || *c->p != ':')
                return false;
            c->p++;
        }
        if (!v_value(c))
            return false;
        ws(c);
        if (c->p >= c->end)
            return false;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p != close)
            return false;
        c->p++;
        c->depth--;
        return true;
    }
}

static bool v_value(struct cur *c)
{
    ws(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '"': return v_string(c);
    case '{': return v_container(c, '}');
    case '[': return v_container(c, ']');
    case 't': return v_word(c, "true");
    case 'f': return v_word(c, "false");
    case 'n': return v_word(c, "null");
    default: return v_number(c);
    }
}

bool ejson_valid(const char *text, size_t len)
{
    struct cur c = { text, text + len, 0 };
    if (!v_value(&c))
        return false;
    ws(&c);
    return c.p == c.end;
}
