/* fieldsel: field selection by glob (see fieldsel.h). */
#include "fieldsel.h"

bool fieldsel_glob(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

bool fieldsel_keeps(const struct fieldsel *sel, const char *name)
{
    for (size_t i = 0; i < sel->n_drop; i++)
        if (fieldsel_glob(sel->drop[i], name))
            return false;
    if (!sel->n_keep)
        return true;
    for (size_t i = 0; i < sel->n_keep; i++)
        if (fieldsel_glob(sel->keep[i], name))
            return true;
    return false;
}
