/* fieldsel: which fields a document keeps, from --fields and --exclude-fields: globs on
 * Wireshark's field names ("ip.*", "*.src_host", "tcp.flags.?yn"). Pure. */
#ifndef ESPCAP_FIELDSEL_H
#define ESPCAP_FIELDSEL_H

#include <stdbool.h>
#include <stddef.h>

struct fieldsel {
    const char *const *keep;  /* --fields: only names matching one of these (none: all) */
    size_t n_keep;
    const char *const *drop;  /* --exclude-fields: never names matching one of these */
    size_t n_drop;
};

/* Whether a selection is in force at all. */
static inline bool fieldsel_active(const struct fieldsel *s) { return s->n_keep || s->n_drop; }

/* Whether the field named name stays in documents. */
bool fieldsel_keeps(const struct fieldsel *s, const char *name);

/* Glob matching: '*' any run of characters (dots included), '?' one character. */
bool fieldsel_glob(const char *pattern, const char *name);

#endif
