/* strset: a set of strings (open addressing, FNV-1a); keys are copied in. */
#ifndef ESPCAP_STRSET_H
#define ESPCAP_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct strset;

struct strset *strset_new(void);
void strset_free(struct strset *s);
void strset_add(struct strset *s, const char *str, size_t n);
bool strset_has(const struct strset *s, const char *str, size_t n);
size_t strset_count(const struct strset *s);

#endif
