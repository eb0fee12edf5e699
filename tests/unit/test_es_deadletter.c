/* test_es_deadletter: every dead letter is one valid JSON line, whatever the engine's error
 * text: a JSON object (on one line or several), a string, invalid UTF-8, control
 * characters, an empty body, HTML, JSON cut short. The lines are checked by a small strict
 * JSON reader of this file's own, not by the one the writer uses. */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/sink/es_deadletter.h"
#include "../../src/sink/es_json.h"
#include "testhelp.h"

/* ---- an independent strict JSON checker (RFC 8259, UTF-8) ---- */

static const unsigned char *jp, *je;

static bool j_value(int depth);

static void j_ws(void)
{
    while (jp < je && (*jp == ' ' || *jp == '\t' || *jp == '\r' || *jp == '\n'))
        jp++;
}

static bool j_string(void)
{
    if (jp >= je || *jp++ != '"')
        return false;
    while (jp < je) {
        unsigned c = *jp++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (jp >= je)
                return false;
            c = *jp++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++)
                    if (jp >= je || !strchr("0123456789abcdefABCDEF", *jp++))
                        return false;
            } else if (!c || !strchr("\"\\/bfnrt", (int)c)) {
                return false;
            }
        } else if (c >= 0x80) {
            int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
            if (more < 0 || c > 0xf4 || je - jp < more)
                return false;
            unsigned cp = c & (0x3f >> more);
            for (int i = 0; i < more; i++) {
                if ((*jp & 0xc0) != 0x80)
                    return false;
                cp = cp << 6 | (*jp++ & 0x3f);
            }
            if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
                (cp >= 0xd800 && cp <= 0xdfff))
                return false;
        }
    }
    return false;
}

static bool j_lit(const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(je - jp) < n || memcmp(jp, w, n) != 0)
        return false;
    jp += n;
    return true;
}

static bool j_number(void)
{
    const unsigned char *s = jp;
    if (jp < je && *jp == '-')
        jp++;
    if (jp < je && *jp == '0')
        jp++;
    else if (jp < je && *jp >= '1' && *jp <= '9')
        while (jp < je && *jp >= '0' && *jp <= '9')
            jp++;
    else
        return false;
    if (jp < je && *jp == '.') {
        jp++;
        if (jp >= je || *jp < '0' || *jp > '9')
            return false;
        while (jp < je && *jp >= '0' && *jp <= '9')
            jp++;
    }
    if (jp < je && (*jp == 'e' || *jp == 'E')) {
        jp++;
        if (jp < je && (*jp == '+' || *jp == '-'))
            jp++;
        if (jp >= je || *jp < '0' || *jp > '9')
            return false;
        while (jp < je && *jp >= '0' && *jp <= '9')
            jp++;
    }
    return jp > s;
}

static bool j_value(int depth)
{
    if (depth > 100)
        return false;
    j_ws();
    if (jp >= je)
        return false;
    if (*jp == '{' || *jp == '[') {
        unsigned char close = *jp++ == '{' ? '}' : ']';
        j_ws();
        if (jp < je && *jp == close) {
            jp++;
            return true;
        }
        for (;;) {
            j_ws();
            if (close == '}') {
                if (!j_string())
                    return false;
                j_ws();
                if (jp >= je || *jp++ != ':')
                    return false;
            }
            if (!j_value(depth + 1))
                return false;
            j_ws();
            if (jp >= je)
                return false;
            if (*jp == ',') {
                jp++;
                continue;
            }
            return *jp++ == close;
        }
    }
    if (*jp == '"')
        return j_string();
    if (*jp == 't')
        return j_lit("true");
    if (*jp == 'f')
        return j_lit("false");
    if (*jp == 'n')
        return j_lit("null");
    return j_number();
}

static bool valid_json(const char *s, size_t n)
{
    jp = (const unsigned char *)s;
    je = jp + n;
    if (!j_value(0))
        return false;
    j_ws();
    return jp == je;
}

/* ---- the tests ---- */

static char path[64];

static char *slurp(size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *p = malloc(1 << 20);
    *len = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

struct error_case {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen */
};

int main(void)
{
    umask(022); /* the usual one: the file must still be 0600 */
    snprintf(path, sizeof path, "/tmp/espcap-test-dead-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path); /* created at the first letter only */

    static const char big_html[] = "<html><body><h1>413 Request Entity Too Large</h1></body></html>";
    char long_text[5000];
    memset(long_text, 'e', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    const struct error_case cases[] = {
        { "object", "{\"type\":\"mapper_parsing_exception\",\"reason\":\"failed to parse [x]\"}", 0 },
        { "pretty object", "{\n  \"error\" : {\n    \"type\" : \"x\",\n    \"reason\" : \"a\\nb\"\n  },\n"
                           "  \"status\" : 400\n}\n", 0 },
        { "string", "\"a plain JSON string\"", 0 },
        { "plain text", "Bad Request", 0 },
        { "invalid UTF-8", "{\"reason\":\"\xff\xfe bad \xc3\"}", 0 },
        { "invalid UTF-8 text", "caf\xc3\xa9 \xe2\x82 \x80\xbf\xf5\x80\x80\x80", 0 },
        { "control characters", "{\"reason\":\"tab\there\x01 bell\x07\"}", 0 },
        { "raw newlines", "line one\nline two\r\n\x1b[31mred\x1b[0m", 0 },
        { "empty", "", 0 },
        { "cut short", "{\"error\":{\"type\":\"x\",\"reason\":\"cut", 0 },
        { "unterminated string", "\"abc", 0 },
        { "two values", "{} {}", 0 },
        { "NUL byte", "{\"a\":\"x\0y\"}", 11 },
        { "html", big_html, 0 },
        { "long text", long_text, 0 },
        { "number", "42", 0 },
        { "surrogate escape", "\"\\ud83d\\ude00\"", 0 },
        { "encoded surrogate", "\"\xed\xa0\x80\"", 0 },
    };
    size_t n = sizeof cases / sizeof cases[0];
    const char *action = "{\"create\":{\"_index\":\"packets-2024-03-01\",\"_id\":\"0123456789abcdef-4-89abcdef\"}}";
    const char *doc = "{\"@timestamp\":\"2024-03-01T12:00:00.010980Z\",\"layers\":{\"network\":{\"ip.src\":\"192.0.2.53\"}}}";

    struct es_deadletter *d = es_deadletter_new(path);
    CHECK(access(path, F_OK) != 0);
    for (size_t i = 0; i < n; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        CHECK(es_deadletter_write(d, action, strlen(action), 400, cases[i].text, len, doc,
                                  strlen(doc)));
    }
    /* A document that is not JSON (a damaged spool file) still makes a valid line. */
    CHECK(es_deadletter_write(d, action, strlen(action), 413, "{}", 2, "{\"half", 6));
    CHECK_STR(es_deadletter_path(d), path);
    /* Written at once (nothing buffered), by espcap's user only. */
    struct stat fst;
    CHECK(stat(path, &fst) == 0 && (fst.st_mode & 0777) == 0600);

    size_t len = 0;
    char *all = slurp(&len);
    CHECK(all != NULL && len > 0 && all[len - 1] == '\n');
    size_t lines = 0;
    for (char *p = all, *end = all + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)(nl - p);
        bool ok = valid_json(p, ll) && ejson_valid(p, ll);
        if (!ok)
            fprintf(stderr, "line %zu (%s) is not valid JSON: %.*s\n", lines + 1,
                    lines < n ? cases[lines].name : "document", (int)ll, p);
        CHECK(ok);
        /* The parts are where they should be. */
        struct jspan v;
        char st[8];
        CHECK(ejson_get(p, ll, "status", &v) && ejson_text(v, st, sizeof st));
        CHECK_STR(st, lines < n ? "400" : "413");
        CHECK(ejson_get(p, ll, "action.create._id", &v) && v.n == 29);
        CHECK(ejson_get(p, ll, "error", &v));
        if (lines < n)
            CHECK(ejson_get(p, ll, "document.@timestamp", &v) && v.n == 29);
        if (lines == 0) /* a valid object is kept as it is */
            CHECK(strstr(p, "\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":"
                            "\"failed to parse [x]\"}") != NULL);
        if (lines == 1) /* several lines made one, strings untouched */
            CHECK(strstr(p, "\"error\":{\"error\":{\"type\":\"x\",\"reason\":\"a\\nb\"},"
                            "\"status\":400}") != NULL);
        if (lines == 3)
            CHECK(strstr(p, "\"error\":\"Bad Request\"") != NULL);
        if (lines == 8)
            CHECK(strstr(p, "\"error\":\"\"") != NULL);
        if (lines == 14) /* long text is cut */
            CHECK(ll < 2000 + 400);
        if (lines == n)
            CHECK(strstr(p, "\"document\":\"{\\\"half\"") != NULL);
        lines++;
        p = nl + 1;
    }
    CHECK(lines == n + 1);
    free(all);
    es_deadletter_free(d);
    unlink(path);

    /* A file that cannot be opened: refused once, with the reason, and not tried again. */
    d = es_deadletter_new("/nonexistent-dir/dead.ndjson");
    CHECK(!es_deadletter_write(d, action, strlen(action), 400, "", 0, doc, strlen(doc)));
    CHECK(strstr(es_deadletter_error(d), "cannot open the dead-letter file") != NULL);
    CHECK(!es_deadletter_write(d, action, strlen(action), 400, "", 0, doc, strlen(doc)));
    es_deadletter_free(d);
    es_deadletter_free(NULL);

    /* Never through a symbolic link, never into something that is not a regular file,
     * never in a folder anyone may write to without the sticky bit. */
    char dir[64], p2[128], target[128];
    snprintf(dir, sizeof dir, "/tmp/espcap-test-dead-dir-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(p2, sizeof p2, "%s/link.ndjson", dir);
    CHECK(symlink(target, p2) == 0);
    d = es_deadletter_new(p2);
    CHECK(!es_deadletter_open(d) && strstr(es_deadletter_error(d), "symbolic link"));
    CHECK(access(target, F_OK) != 0); /* nothing made at the link's target */
    es_deadletter_free(d);
    unlink(p2);
    CHECK(mkfifo(p2, 0600) == 0);
    d = es_deadletter_new(p2);
    CHECK(!es_deadletter_open(d) && strstr(es_deadletter_error(d), "not a regular file"));
    es_deadletter_free(d);
    unlink(p2);
    chmod(dir, 0777);
    d = es_deadletter_new(p2);
    CHECK(!es_deadletter_open(d) && strstr(es_deadletter_error(d), "sticky"));
    es_deadletter_free(d);
    chmod(dir, 01777); /* as /tmp: a file of espcap's user's own is fine */
    d = es_deadletter_new(p2);
    CHECK(es_deadletter_open(d));
    es_deadletter_free(d);
    CHECK(stat(p2, &fst) == 0 && (fst.st_mode & 0777) == 0600);
    unlink(p2);
    rmdir(dir);
    return TH_DONE("test_es_deadletter");
}
