/* naming: every dot-prefix of every registered field name, in a set. */
#include "naming.h"

#include <stdlib.h>
#include <string.h>

#include "../util/strset.h"

struct naming {
    struct strset *prefixes;
};

struct naming *naming_new(void)
{
    struct naming *nm = xcalloc(1, sizeof *nm);
    nm->prefixes = strset_new();
    return nm;
}

void naming_free(struct naming *nm)
{
    if (!nm)
        return;
    strset_free(nm->prefixes);
    free(nm);
}

void naming_add(struct naming *nm, const char *name)
{
    for (const char *p = strchr(name, '.'); p; p = strchr(p + 1, '.'))
        if (p > name)
            strset_add(nm->prefixes, name, (size_t)(p - name));
}

bool naming_is_prefix(const struct naming *nm, const char *name)
{
    return strset_has(nm->prefixes, name, strlen(name));
}

void naming_key(const struct naming *nm, const char *name, struct buf *out)
{
    buf_adds(out, name);
    if (naming_is_prefix(nm, name))
        buf_adds(out, NAMING_VALUE_SUFFIX);
}

size_t naming_prefix_count(const struct naming *nm) { return strset_count(nm->prefixes); }
