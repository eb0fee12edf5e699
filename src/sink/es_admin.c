/* es_admin: engine detection, the index template, index creation and mappings. */
#include "es_admin.h"

#include <stdio.h>
#include <string.h>

#include "../util/log.h"
#include "../util/strset.h"

void es_admin_init(struct es_admin *a, struct http_client *http, int tries)
{
    memset(a, 0, sizeof *a);
    a->http = http;
    a->tries = tries;
    a->created = strset_new();
    buf_init(&a->path, 256);
    buf_init(&a->answer, 4096);
    buf_init(&a->scratch, 1024);
}

void es_admin_fini(struct es_admin *a)
{
    es_schema_free(a->schema);
    strset_free(a->created);
    buf_fini(&a->path);
    buf_fini(&a->answer);
    buf_fini(&a->scratch);
    memset(a, 0, sizeof *a);
}

bool es_admin_connect(struct es_admin *a, const char *prefix, double wait,
                      volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    size_t node = 0;
    long st = http_wait_ready(a->http, "/", wait, stop, &a->answer, &node);
    const char *who = st >= 0 ? http_node(a->http, node)->shown : "";
    if (st == 401 || st == 403) {
        snprintf(err, errlen, "%s refused the credentials (HTTP %ld): check --user/--api-key or "
                 "ESPCAP_USER/ESPCAP_PASSWORD/ESPCAP_API_KEY", who, st);
        return false;
    }
    if (st < 0) {
        snprintf(err, errlen, "%s", http_error(a->http));
        return false;
    }
    a->answered = node;
    if (!es_engine_parse(a->answer.p, a->answer.len, who, &a->engine, err, errlen))
        return false;
    a->schema = es_schema_new(prefix, &a->engine.caps);
    return true;
}

bool es_admin_template(struct es_admin *a, char *err, size_t errlen)
{
    buf_reset(&a->path);
    buf_reset(&a->scratch);
    es_schema_template(a->schema, &a->path, &a->scratch);
    long st = http_call(a->http, "PUT", buf_cstr(&a->path), a->scratch.p, a->scratch.len,
                        &a->answer, 0);
    if (st != 200) {
        snprintf(err, errlen, "cannot install the index template %s: HTTP %ld: %.300s",
                 a->path.p, st, st >= 0 ? a->answer.p : http_error(a->http));
        return false;
    }
    return true;
}

static long put_mapping(struct es_admin *a, const char *index, const char *body, size_t len)
{
    buf_reset(&a->path);
    buf_printf(&a->path, "/%s/_mapping", index);
    return http_call(a->http, "PUT", a->path.p, body, len, &a->answer, a->tries);
}

struct one_field {
    struct es_admin *a;
    const char *index;
    bool asked; /* false: the node could not be asked */
};

/* One property of a refused mapping on its own, so that a field that clashes with an
 * existing mapping spoils only itself. */
static void put_one(void *ctx, const char *one, size_t n, struct jspan key, struct jspan value)
{
    struct one_field *o = ctx;
    if (!o->asked)
        return;
    long st = put_mapping(o->a, o->index, one, n);
    if (st < 0)
        o->asked = false;
    else if (st != 200)
        log_warn("index %s: cannot map %.*s as %.*s (HTTP %ld: %.300s); documents whose value "
                 "does not fit the existing mapping will be rejected", o->index, (int)key.n,
                 key.p, (int)value.n, value.p, st, o->a->answer.p);
}

static bool put_with_fallbacks(struct es_admin *a, const char *index, const char *body,
                               size_t len);

static bool create_index(struct es_admin *a, const char *index)
{
    buf_reset(&a->path);
    buf_printf(&a->path, "/%s", index);
    long st = http_call(a->http, "PUT", a->path.p, "{}", 2, &a->answer, a->tries);
    if (st < 0)
        return false;
    switch (es_schema_create_verdict(st, a->answer.p)) {
    case ES_CREATED: break;
    case ES_EXISTED: {
        /* Made before our template (by someone else, or an older run): give it the
         * top-level mappings the template would have given it. */
        struct buf b;
        buf_init(&b, 1024);
        es_schema_base_mapping(&b);
        bool asked = put_with_fallbacks(a, index, b.p, b.len);
        buf_fini(&b);
        if (!asked)
            return false;
        break;
    }
    case ES_CREATE_FAILED:
        log_warn("index %s: cannot create it (HTTP %ld: %.300s); documents will go to it anyway",
                 index, st, a->answer.p);
        break;
    }
    strset_add(a->created, index, strlen(index));
    return true;
}

/* Puts one mapping body into an index, with the fall-backs. false: not asked. */
static bool put_with_fallbacks(struct es_admin *a, const char *index, const char *body,
                               size_t len)
{
    long st = put_mapping(a, index, body, len);
    if (st < 0)
        return false;
    switch (es_schema_map_verdict(a->schema, st, a->answer.p)) {
    case ES_MAP_DONE: return true;
    case ES_MAP_AS_DOUBLE: {
        log_warn("%s has no unsigned_long type: unsigned 64-bit fields are mapped as double",
                 http_node(a->http, a->answered)->shown);
        es_schema_drop_unsigned_long(a->schema);
        struct buf fixed;
        buf_init(&fixed, len + 16);
        es_schema_as_double(body, len, &fixed);
        bool ok = put_with_fallbacks(a, index, fixed.p, fixed.len);
        buf_fini(&fixed);
        return ok;
    }
    case ES_MAP_ONE_BY_ONE: {
        struct one_field o = { a, index, true };
        es_schema_split(body, len, put_one, &o);
        return o.asked;
    }
    case ES_MAP_FAILED:
    default:
        log_warn("index %s: mapping new fields failed (HTTP %ld: %.400s); documents that do not "
                 "fit the existing mapping will be rejected", index, st, a->answer.p);
        return true;
    }
}

bool es_admin_apply(struct es_admin *a, const char *lines, size_t len)
{
    const char *p = lines, *end = lines + len;
    struct jspan ix, body;
    char index[512];
    while (es_schema_next_line(&p, end, &ix, &body)) {
        snprintf(index, sizeof index, "%.*s", (int)ix.n, ix.p);
        if (!strset_has(a->created, index, strlen(index)) && !create_index(a, index))
            return false;
        if (!put_with_fallbacks(a, index, body.p, body.n))
            return false;
    }
    return true;
}
