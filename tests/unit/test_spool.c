/* test_spool: the on-disk queue in a temporary folder: order kept across a re-open, put back
 * at the head, a vanished or unreadable file (counted, never in the way), a full spool, a
 * .tmp left by a crash, the files' modes and names, folders that are refused. */
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/sink/spool.h"
#include "testhelp.h"

static char dir[64];

/* A record of one item per character of text. */
static enum spool_rc push(struct spool *sp, const char *text)
{
    struct spool_part parts[2] = { { "B\n", 2 }, { text, strlen(text) } };
    return spool_push(sp, parts, 2, (uint32_t)strlen(text));
}

static struct spool *open_spool(uint64_t max)
{
    char err[256];
    struct spool *sp = spool_open(dir, max, err, sizeof err);
    if (!sp)
        fprintf(stderr, "spool_open: %s\n", err);
    return sp;
}

/* Takes the next record; its text after "B\n" into out ("" when none). */
static uint64_t take(struct spool *sp, char *out, size_t outlen)
{
    struct buf b;
    buf_init(&b, 16);
    uint64_t id = 0;
    out[0] = '\0';
    if (spool_take(sp, &b, &id) == SPOOL_OK && b.len >= 2)
        snprintf(out, outlen, "%.*s", (int)(b.len - 2), b.p + 2);
    buf_fini(&b);
    return id;
}

static uint64_t disk_bytes(const char *ext, int *files)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t total = 0;
    *files = 0;
    char path[512];
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < strlen(ext) || strcmp(e->d_name + n - strlen(ext), ext) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
        (*files)++;
    }
    closedir(d);
    return total;
}

static void test_order_and_reopen(void)
{
    char got[64];
    int files;
    struct spool *sp = open_spool(1 << 20);
    CHECK(spool_count(sp) == 0 && spool_bytes(sp) == 0);
    CHECK(push(sp, "one") == SPOOL_OK && push(sp, "two") == SPOOL_OK);
    CHECK(push(sp, "three") == SPOOL_OK);
    CHECK(spool_count(sp) == 3 && spool_waiting(sp) == 3);
    CHECK(spool_bytes(sp) == 5 + 5 + 7 && disk_bytes(".bulk", &files) == 17 && files == 3);
    spool_free(sp);

    /* A new run finds them, oldest first, and numbers new ones after them. */
    sp = open_spool(1 << 20);
    CHECK(spool_count(sp) == 3 && spool_bytes(sp) == 17);
    CHECK(push(sp, "four") == SPOOL_OK);
    uint64_t a = take(sp, got, sizeof got);
    CHECK_STR(got, "one");
    uint64_t b = take(sp, got, sizeof got);
    CHECK_STR(got, "two");
    CHECK(spool_waiting(sp) == 2 && spool_count(sp) == 4);
    /* Taken records stay on disk, counted, until done. */
    CHECK(spool_bytes(sp) == 17 + 6 && disk_bytes(".bulk", &files) == 23 && files == 4);

    /* Put back at the head, in their order whatever the order they come back in. */
    spool_release(sp, b);
    struct spool_part rest[2] = { { "B\n", 2 }, { "o", 1 } };
    spool_put_back(sp, a, rest, 2, 1); /* only part of it still has to go */
    CHECK(spool_bytes(sp) == 23 - 2 && disk_bytes(".bulk", &files) == 21);
    take(sp, got, sizeof got);
    CHECK_STR(got, "o");
    uint64_t t2 = take(sp, got, sizeof got);
    CHECK_STR(got, "two");
    CHECK(t2 == b);
    spool_done(sp, a);
    spool_done(sp, b);
    CHECK(spool_count(sp) == 2 && spool_bytes(sp) == 7 + 6);
    CHECK(disk_bytes(".bulk", &files) == 13 && files == 2);
    take(sp, got, sizeof got);
    CHECK_STR(got, "three");
    spool_free(sp); /* taken but not done: still there for the next run */

    sp = open_spool(1 << 20);
    CHECK(spool_count(sp) == 2);
    uint64_t id = take(sp, got, sizeof got);
    CHECK_STR(got, "three");
    spool_done(sp, id);
    id = take(sp, got, sizeof got);
    CHECK_STR(got, "four");
    spool_done(sp, id);
    CHECK(take(sp, got, sizeof got) == 0 && got[0] == '\0');
    struct buf x;
    buf_init(&x, 8);
    CHECK(spool_take(sp, &x, &id) == SPOOL_EMPTY);
    buf_fini(&x);
    CHECK(spool_count(sp) == 0 && spool_bytes(sp) == 0 && disk_bytes(".bulk", &files) == 0);
    spool_free(sp);
}

static void test_vanished_and_unreadable(void)
{
    char got[64];
    struct spool *sp = open_spool(1 << 20);
    push(sp, "a");
    push(sp, "bb");
    push(sp, "ccc");
    push(sp, "dddd");
    push(sp, "eeeee");
    /* The names say how many items each holds. */
    char name[128], name1[128], name2[128];
    snprintf(name, sizeof name, "%s/000000000000-1.bulk", dir);
    CHECK_STR(spool_file(sp, 0), name);
    /* The first file vanishes behind the spool's back; the second becomes unreadable (a
     * folder under its name: a read error whoever runs the test, root included); the third
     * a symbolic link (never followed). */
    CHECK(unlink(spool_file(sp, 0)) == 0);
    snprintf(name1, sizeof name1, "%s", spool_file(sp, 1));
    CHECK(unlink(name1) == 0 && mkdir(name1, 0700) == 0);
    snprintf(name2, sizeof name2, "%s", spool_file(sp, 2));
    CHECK(unlink(name2) == 0 && symlink("/etc/passwd", name2) == 0);
    CHECK(spool_lost(sp) == 0);
    uint64_t id = take(sp, got, sizeof got);
    CHECK_STR(got, "dddd");
    CHECK(spool_lost(sp) == 1 + 2 + 3); /* their items are counted */
    CHECK(spool_count(sp) == 2 && spool_bytes(sp) == 6 + 7);
    /* Unreadable ones are renamed out of the way, kept for a person to look at. */
    snprintf(name, sizeof name, "%s/000000000001-2.unreadable", dir);
    CHECK(access(name, F_OK) == 0 && access(name1, F_OK) != 0);
    rmdir(name);
    snprintf(name, sizeof name, "%s/000000000002-3.unreadable", dir);
    CHECK(unlink(name) == 0);
    spool_done(sp, id);
    /* The caller finds a record it cannot read: set aside as .bad, counted. */
    id = take(sp, got, sizeof got);
    CHECK_STR(got, "eeeee");
    spool_set_aside(sp, id);
    CHECK(spool_count(sp) == 0 && spool_bytes(sp) == 0 && spool_lost(sp) == 6 + 5);
    snprintf(name, sizeof name, "%s/000000000004-5.bad", dir);
    CHECK(access(name, F_OK) == 0);
    unlink(name);
    spool_free(sp);
}

static void test_full(void)
{
    char got[64];
    int files;
    struct spool *sp = open_spool(20);
    CHECK(push(sp, "12345678") == SPOOL_OK); /* 10 bytes */
    CHECK(push(sp, "123456789") == SPOOL_FULL); /* 11 more: past 20 */
    CHECK(spool_count(sp) == 1 && spool_bytes(sp) == 10 && disk_bytes(".bulk", &files) == 10);
    CHECK(disk_bytes(".tmp", &files) == 0 && files == 0);
    CHECK(push(sp, "12345678") == SPOOL_OK); /* exactly 20 fits */
    CHECK(push(sp, "") == SPOOL_FULL);
    /* Putting back never counts against the limit: the record is there already. */
    uint64_t id = take(sp, got, sizeof got);
    struct spool_part same[2] = { { "B\n", 2 }, { "12345678", 8 } };
    spool_put_back(sp, id, same, 2, 8);
    CHECK(spool_bytes(sp) == 20 && spool_waiting(sp) == 2);
    id = take(sp, got, sizeof got);
    spool_done(sp, id);
    CHECK(push(sp, "1234") == SPOOL_OK && spool_bytes(sp) == 16);
    while ((id = take(sp, got, sizeof got)) || got[0])
        spool_done(sp, id);
    CHECK(spool_count(sp) == 0);
    spool_free(sp);
}

static void test_crash_leftovers_and_errors(void)
{
    char got[64];
    int files;
    /* A crash between writing and renaming leaves a .tmp: never complete, removed. */
    char path[128];
    snprintf(path, sizeof path, "%s/000000000007.tmp", dir);
    FILE *f = fopen(path, "w");
    fputs("B\n{\"create\":{}}\n{\"half", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/000000000003.bulk", dir); /* an older version's name */
    f = fopen(path, "w");
    fputs("B\nkept", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    f = fopen(path, "w");
    fputs("not ours", f);
    fclose(f);
    struct spool *sp = open_spool(1 << 20);
    CHECK(disk_bytes(".tmp", &files) == 0 && files == 0);
    CHECK(spool_count(sp) == 1 && spool_bytes(sp) == 6);
    CHECK(push(sp, "next") == SPOOL_OK);
    uint64_t id = take(sp, got, sizeof got);
    CHECK_STR(got, "kept");
    CHECK(id == 3);
    spool_done(sp, id);
    id = take(sp, got, sizeof got);
    CHECK_STR(got, "next");
    CHECK(id == 4);
    spool_done(sp, id);
    CHECK(access(path, F_OK) == 0); /* files not ours are left alone */
    unlink(path);

    /* The folder goes away: a push fails, saying why, and leaves nothing counted. */
    CHECK(rmdir(dir) == 0);
    CHECK(push(sp, "lost") == SPOOL_ERROR);
    CHECK(strstr(spool_error(sp), "cannot write") != NULL);
    CHECK(spool_count(sp) == 0 && spool_bytes(sp) == 0);
    spool_free(sp);
    /* Made again when missing, 0700, its files 0600 whatever the umask. */
    mode_t old = umask(0);
    sp = open_spool(1 << 20);
    umask(old);
    CHECK(push(sp, "back") == SPOOL_OK);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
    CHECK(stat(spool_file(sp, 0), &st) == 0 && (st.st_mode & 07777) == 0600);
    id = take(sp, got, sizeof got);
    spool_done(sp, id);
    spool_free(sp);

    /* A crash while a record was put back leaves its old and new files: the new one (fewer
     * items) is kept. */
    snprintf(path, sizeof path, "%s/000000000009-4.bulk", dir);
    f = fopen(path, "w");
    fputs("B\nwxyz", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/000000000009-2.bulk", dir);
    f = fopen(path, "w");
    fputs("B\nyz", f);
    fclose(f);
    sp = open_spool(1 << 20);
    CHECK(spool_count(sp) == 1 && spool_bytes(sp) == 4);
    snprintf(path, sizeof path, "%s/000000000009-4.bulk", dir);
    CHECK(access(path, F_OK) != 0);
    id = take(sp, got, sizeof got);
    CHECK_STR(got, "yz");
    spool_done(sp, id);
    spool_free(sp);
}

static void test_refused_folders(void)
{
    char err[256], other[96], link[96];
    /* A symbolic link, a folder anyone may write to, a folder in one anyone may write to
     * without the sticky bit: refused, saying why. */
    snprintf(link, sizeof link, "%s-link", dir);
    CHECK(symlink(dir, link) == 0);
    CHECK(spool_open(link, 1 << 20, err, sizeof err) == NULL && strstr(err, "symbolic link"));
    unlink(link);
    CHECK(chmod(dir, 0777) == 0);
    CHECK(spool_open(dir, 1 << 20, err, sizeof err) == NULL && strstr(err, "anyone"));
    snprintf(other, sizeof other, "%s/sub", dir);
    CHECK(spool_open(other, 1 << 20, err, sizeof err) == NULL && strstr(err, "sticky"));
    CHECK(access(other, F_OK) != 0); /* nothing made */
    CHECK(chmod(dir, 01777) == 0); /* sticky or not: the spool is espcap's alone */
    CHECK(spool_open(dir, 1 << 20, err, sizeof err) == NULL && strstr(err, "anyone"));
    struct spool *sp = spool_open(other, 1 << 20, err, sizeof err); /* as in /tmp: fine */
    CHECK(sp != NULL);
    spool_free(sp);
    rmdir(other);
    CHECK(chmod(dir, 0700) == 0);
    /* Not a folder. */
    FILE *f = fopen(other, "w");
    fclose(f);
    CHECK(spool_open(other, 1 << 20, err, sizeof err) == NULL && strstr(err, "not a directory"));
    unlink(other);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/espcap-test-spool-XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    test_order_and_reopen();
    test_vanished_and_unreadable();
    test_full();
    test_crash_leftovers_and_errors();
    test_refused_folders();
    rmdir(dir);
    return TH_DONE("test_spool");
}
