/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsafe: files that hold packet data: 0600, O_NOFOLLOW, in a folder others cannot swap. */
#include "fsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool fsafe_dir_ok(const struct stat *st, bool own, char *err, size_t errlen)
{
    if (!(st->st_mode & S_IWOTH))
        return true;
    if (own) {
        snprintf(err, errlen, "is writable by anyone (mode %04o): anyone could add records to "
                 "it or read them; make it 0700", (unsigned)(st->st_mode & 07777));
        return false;
    }
    if (st->st_mode & S_ISVTX)
        return true;
    snprintf(err, errlen, "is in a folder anyone may write to without the sticky bit (mode "
             "%04o): anyone could replace the file", (unsigned)(st->st_mode & 07777));
    return false;
}

/* The folder part of path ("." for a bare name), and the last part, in their buffers. */
static bool split_path(const char *path, char *dir, size_t dlen, const char **base)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t cut = n;
    while (cut > 0 && path[cut - 1] != '/')
        cut--;
    *base = path + cut;
    if (cut == 0)
        return snprintf(dir, dlen, ".") < (int)dlen;
    size_t d = cut > 1 ? cut - 1 : 1; /* "/x": the folder is "/" */
    if (d >= dlen)
        return false;
    memcpy(dir, path, d);
    dir[d] = '\0';
    return true;
}

int fsafe_open_append(const char *path, bool *created, char *err, size_t errlen)
{
    char dir[4096];
    const char *base;
    if (created)
        *created = false;
    if (!split_path(path, dir, sizeof dir, &base) || !*base) {
        snprintf(err, errlen, "not a file name");
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat ds, fs;
    if (dfd < 0 || fstat(dfd, &ds) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    if (!fsafe_dir_ok(&ds, false, err, errlen)) {
        close(dfd);
        return -1;
    }
    int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    int fd = openat(dfd, base, flags | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && created)
        *created = true;
    if (fd < 0 && errno == EEXIST)
        fd = openat(dfd, base, flags);
    int e = errno;
    close(dfd);
    if (fd < 0) {
        if (e == ELOOP || e == EMLINK)
            snprintf(err, errlen, "is a symbolic link (not followed)");
        else if (e == ENXIO) /* a FIFO nobody reads, a socket */
            snprintf(err, errlen, "not a regular file");
        else
            snprintf(err, errlen, "%s", strerror(e));
        return -1;
    }
    if (fstat(fd, &fs) != 0 || !S_ISREG(fs.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        close(fd);
        return -1;
    }
    /* A sticky folder anyone may write to (/tmp): the file may have been put there by
     * someone else, waiting for what espcap writes. */
    if ((ds.st_mode & S_IWOTH) && fs.st_uid != geteuid()) {
        snprintf(err, errlen, "belongs to uid %u, in a folder anyone may write to",
                 (unsigned)fs.st_uid);
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_APPEND); /* blocking again */
    return fd;
}

bool fsafe_check_append(const char *path, char *err, size_t errlen)
{
    bool created;
    int fd = fsafe_open_append(path, &created, err, errlen);
    if (fd < 0)
        return false;
    close(fd);
    if (created)
        unlink(path);
    return true;
}

bool fsafe_check_dir(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    const char *base;
    struct stat st;
    if (!split_path(path, dir, sizeof dir, &base)) {
        snprintf(err, errlen, "name too long");
        return false;
    }
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return false;
    }
    if (!fsafe_dir_ok(&st, false, err, errlen))
        return false;
    bool open_parent = st.st_mode & S_IWOTH; /* sticky, as /tmp */
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return true; /* made (0700) when the capture starts */
        snprintf(err, errlen, "%s", strerror(errno));
        return false;
    }
    if (S_ISLNK(st.st_mode)) {
        snprintf(err, errlen, "is a symbolic link (not followed)");
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "not a directory");
        return false;
    }
    /* In a folder anyone may write to (/tmp), someone else may have made it first, to
     * read the records or put records of their own there. */
    if (open_parent && st.st_uid != geteuid()) {
        snprintf(err, errlen, "belongs to uid %u, in a folder anyone may write to",
                 (unsigned)st.st_uid);
        return false;
    }
    return fsafe_dir_ok(&st, true, err, errlen);
}
