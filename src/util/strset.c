/* strset: string hash set used for the field-name prefixes and protocols.list. */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct strset {
    char **slots; /* NULL = empty; strings owned here */
    size_t cap;   /* power of two */
    size_t count;
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

struct strset *strset_new(void)
{
    struct strset *s = xcalloc(1, sizeof *s);
    s->cap = 1024;
    s->slots = xcalloc(s->cap, sizeof *s->slots);
    return s;
}

void strset_free(struct strset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    free(s);
}

static size_t find(const struct strset *s, const char *str, size_t n)
{
    size_t mask = s->cap - 1;
    size_t i = (size_t)hash(str, n) & mask;
    while (s->slots[i] && !(strncmp(s->slots[i], str, n) == 0 && s->slots[i][n] == '\0'))
        i = (i + 1) & mask;
    return i;
}

static void grow(struct strset *s)
{
    char **old = s->slots;
    size_t oldcap = s->cap;
    s->cap *= 2;
    s->slots = xcalloc(s->cap, sizeof *s->slots);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            s->slots[find(s, old[i], strlen(old[i]))] = old[i];
    free(old);
}

void strset_add(struct strset *s, const char *str, size_t n)
{
    if ((s->count + 1) * 2 > s->cap)
        grow(s);
    size_t i = find(s, str, n);
    if (s->slots[i])
        return;
    char *copy = xmalloc(n + 1);
    memcpy(copy, str, n);
    copy[n] = '\0';
    s->slots[i] = copy;
    s->count++;
}

bool strset_has(const struct strset *s, const char *str, size_t n)
{
    return s->slots[find(s, str, n)] != NULL;
}

size_t strset_count(const struct strset *s) { return s->count; }
