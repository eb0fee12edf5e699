/* naming: the rule that turns a Wireshark field name into a document key.
 *
 * Elasticsearch and OpenSearch expand dotted keys into objects, so "ip.flags" (a value)
 * and "ip.flags.mf" (which makes "ip.flags" an object) cannot both be written as they
 * are. A field whose name is also the prefix of another registered field is written
 * "<name>._value". The decision is made from the whole field registry, never from the
 * packet at hand, so one name always maps to one path. */
#ifndef ESPCAP_NAMING_H
#define ESPCAP_NAMING_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"

#define NAMING_VALUE_SUFFIX "._value"

struct naming;

struct naming *naming_new(void);
void naming_free(struct naming *nm);

/* Registers a field name: every proper dot-prefix of it becomes a "prefix name". */
void naming_add(struct naming *nm, const char *name);

/* True when some registered name starts with "<name>.". */
bool naming_is_prefix(const struct naming *nm, const char *name);

/* Appends the document key for name (without quotes or escaping). */
void naming_key(const struct naming *nm, const char *name, struct buf *out);

size_t naming_prefix_count(const struct naming *nm);

#endif
