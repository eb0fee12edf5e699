/* es_json: just enough JSON reading for search-engine answers: look a value up by a dotted
 * path, and walk the items of a _bulk response. Spans point into the caller's text. */
#ifndef ESPCAP_ES_JSON_H
#define ESPCAP_ES_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct jspan {
    const char *p; /* the value's text, strings with their quotes */
    size_t n;
};

/* Finds the value at a dotted path of object keys ("version.number"). */
bool ejson_get(const char *text, size_t len, const char *path, struct jspan *out);

/* Copies a string value without its quotes (escapes left as written), or a primitive, into
 * out. Returns false if the span is an object or array or does not fit. */
bool ejson_text(struct jspan v, char *out, size_t outlen);

/* Calls cb for each member of the object at text (key without quotes, value span).
 * Returns the number of members, or -1 if text is not an object. */
long ejson_members(const char *text, size_t len,
                   void (*cb)(void *ctx, struct jspan key, struct jspan value), void *ctx);

/* True if text is exactly one JSON value (RFC 8259: strict grammar, valid UTF-8, no raw
 * control characters in strings, nested at most 64 deep), with optional whitespace around. */
bool ejson_valid(const char *text, size_t len);

/* One item of a _bulk response. */
struct bulk_item {
    int status;        /* HTTP status of the item; 0 if missing */
    struct jspan error; /* the "error" value, or n == 0 */
};

/* Calls cb for each item of a _bulk response, in order. Returns the number of items, or
 * -1 if the text is not a _bulk response. *errors is the response's "errors" flag. */
long ejson_bulk_items(const char *text, size_t len, bool *errors,
                      void (*cb)(void *ctx, long i, const struct bulk_item *it), void *ctx);

#endif
