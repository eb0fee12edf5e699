/* cap_dir: the files of a directory, in name order. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/buf.h"
#include "cap.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cap_dir_list(const char *dir, char ***paths, char *err, size_t errlen)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    size_t n = 0, cap = 64;
    char **v = xmalloc(cap * sizeof *v);
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        size_t len = dl + 1 + strlen(e->d_name) + 1;
        char *p = xmalloc(len);
        snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", e->d_name);
        struct stat st;
        /* Regular files, and links to them; sub-directories and the like are skipped.
         * A dangling link is kept so that it is reported, not silently ignored. */
        if (stat(p, &st) == 0 ? !S_ISREG(st.st_mode) : lstat(p, &st) != 0) {
            free(p);
            continue;
        }
        if (n == cap)
            v = xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = p;
    }
    closedir(dh);
    qsort(v, n, sizeof *v, by_name);
    *paths = v;
    return (int)n;
}

void cap_dir_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
