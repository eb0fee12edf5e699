/* test_cap_state: the done-files record of a watched directory: round trip, escaping,
 * another directory's file refused, foreign files left alone, pruning, atomic replacement. */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/capture/cap_state.h"
#include "testhelp.h"

static char dir[] = "/tmp/test_cap_state.XXXXXX";

static char *path(const char *name)
{
    static char p[2][300];
    static int k;
    char *r = p[k++ & 1];
    snprintf(r, 300, "%s/%s", dir, name);
    return r;
}

static char *slurp(const char *file)
{
    static char buf[4096];
    FILE *f = fopen(file, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

int main(void)
{
    char err[512];
    if (!mkdtemp(dir))
        return 1;
    const char *sp = path("s.state");

    /* a missing file: empty; saving writes the header */
    struct cap_state *s = cap_state_open(sp, "/captures", err, sizeof err);
    CHECK(s && cap_state_count(s) == 0 && !cap_state_dirty(s));
    cap_state_mark(s, "a.pcap", 100, 1700000000123456789, true);
    cap_state_mark(s, "2024/01/b c.pcap", 5, -3, false);
    cap_state_mark(s, "odd\nname\\x\r", 7, 8, true);
    CHECK(cap_state_dirty(s));
    CHECK(cap_state_save(s, err, sizeof err) && !cap_state_dirty(s));
    CHECK(access(path("s.state.tmp"), F_OK) != 0);
    CHECK(strncmp(slurp(sp), "espcap-state 1\ndir /captures\n1700000000123456789 100 whole a.pcap\n",
                  66) == 0);
    CHECK(strstr(slurp(sp), "odd\\nname\\\\x\\r\n") != NULL);
    cap_state_free(s);

    /* read back: done only with the same size and time */
    s = cap_state_open(sp, "/captures", err, sizeof err);
    CHECK(s && cap_state_count(s) == 3);
    CHECK(cap_state_done(s, "a.pcap", 100, 1700000000123456789));
    CHECK(!cap_state_done(s, "a.pcap", 101, 1700000000123456789));
    CHECK(!cap_state_done(s, "a.pcap", 100, 1700000000123456780));
    CHECK(cap_state_done(s, "2024/01/b c.pcap", 5, -3));
    CHECK(cap_state_done(s, "odd\nname\\x\r", 7, 8));
    CHECK(!cap_state_done(s, "b.pcap", 100, 1700000000123456789));
    /* a re-read file is recorded anew */
    cap_state_mark(s, "a.pcap", 200, 9, true);
    CHECK(cap_state_done(s, "a.pcap", 200, 9) && cap_state_count(s) == 3);
    /* pruning forgets what a scan did not find */
    cap_state_scan_begin(s);
    cap_state_touch(s, "a.pcap");
    cap_state_touch(s, "not-there");
    cap_state_prune(s);
    CHECK(cap_state_count(s) == 1 && cap_state_done(s, "a.pcap", 200, 9) && cap_state_dirty(s));
    /* many entries: the index grows */
    for (int i = 0; i < 5000; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%05d.pcap", i);
        cap_state_mark(s, name, (uint64_t)i, i, true);
    }
    CHECK(cap_state_count(s) == 5001 && cap_state_done(s, "f04999.pcap", 4999, 4999));
    CHECK(cap_state_save(s, err, sizeof err));
    cap_state_free(s);
    s = cap_state_open(sp, "/captures", err, sizeof err);
    CHECK(s && cap_state_count(s) == 5001 && cap_state_done(s, "f00042.pcap", 42, 42));
    cap_state_free(s);

    /* another directory's file is refused, naming both */
    s = cap_state_open(sp, "/elsewhere", err, sizeof err);
    CHECK(!s && strstr(err, "/captures") && strstr(err, "/elsewhere"));
    /* a file that is not a state file is never taken (nor overwritten) */
    FILE *f = fopen(path("other"), "w");
    fputs("precious data\n", f);
    fclose(f);
    s = cap_state_open(path("other"), "/captures", err, sizeof err);
    CHECK(!s && strstr(err, "not an espcap state file"));
    CHECK(strcmp(slurp(path("other")), "precious data\n") == 0);
    f = fopen(path("bad"), "w");
    fputs("espcap-state 1\ndir /captures\nnot a line\n", f);
    fclose(f);
    s = cap_state_open(path("bad"), "/captures", err, sizeof err);
    CHECK(!s && strstr(err, ":3"));
    /* a state file in a folder that cannot be written: saving fails, saying so */
    s = cap_state_open("/nonexistent/dir/s.state", "/captures", err, sizeof err);
    CHECK(s && !cap_state_save(s, err, sizeof err) && strstr(err, "/nonexistent/dir/s.state"));
    cap_state_free(s);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return TH_DONE("test_cap_state");
}
