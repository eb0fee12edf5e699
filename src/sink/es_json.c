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
