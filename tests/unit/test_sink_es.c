/* test_sink_es: the bulk sink's wiring against a fake node (fakenode.h): mappings before the
 * first request that needs them, items sent again alone, dead letters, unreadable answers,
 * and in live mode the spool (spooled, put back, replayed, full), with the counters and
 * gauges of struct sink_stats. */
#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "../../src/sink/sink_es.h"
#include "fakenode.h"
#include "testhelp.h"

#define MAX_BULK 16

/* What the fake node does and saw. */
struct es_fake {
    int statuses[MAX_BULK][8]; /* per _bulk request, the items' statuses; 0 = 201 */
    int http[MAX_BULK];        /* per _bulk request: 0 = 200 with items, -1 = cut short,
                                * else that status */
    int bulk_down;             /* answer 503 to every _bulk */
    int n_bulk;
    char bulk[MAX_BULK][4096];
    char log[64][128]; /* "METHOD path" of each request */
    int n_log;
    char mapping[4096]; /* the last mapping body */
};

static void es_node(void *ctx, const struct fake_request *rq, struct fake_answer *ans)
{
    struct es_fake *f = ctx;
    if (f->n_log < 64)
        snprintf(f->log[f->n_log++], 128, "%.15s %.100s", rq->method, rq->path);
    if (strcmp(rq->method, "GET") == 0) {
        snprintf(ans->body, sizeof ans->body,
                 "{\"version\":{\"distribution\":\"opensearch\",\"number\":\"2.19.0\"}}");
        return;
    }
    if (strcmp(rq->path, "/_bulk") != 0) {
        if (strstr(rq->path, "/_mapping"))
            snprintf(f->mapping, sizeof f->mapping, "%s", rq->body);
        snprintf(ans->body, sizeof ans->body, "{\"acknowledged\":true}");
        return;
    }
    int k = f->n_bulk++;
    if (k < MAX_BULK)
        snprintf(f->bulk[k], sizeof f->bulk[k], "%s", rq->body);
    if (f->bulk_down || (k < MAX_BULK && f->http[k] > 0)) {
        ans->status = f->bulk_down ? 503 : f->http[k];
        snprintf(ans->body, sizeof ans->body, "{\"error\":{\"type\":\"t\",\"reason\":\"r\"},"
                 "\"status\":%d}", ans->status);
        return;
    }
    if (k < MAX_BULK && f->http[k] < 0) {
        snprintf(ans->body, sizeof ans->body, "{\"took\":1,\"errors\":false,\"items\":[");
        return;
    }
    size_t items = 0;
    for (const char *p = rq->body; (p = strchr(p, '\n')); p++)
        items++;
    items /= 2;
    char *o = ans->body;
    o += sprintf(o, "{\"took\":1,\"errors\":true,\"items\":[");
    for (size_t i = 0; i < items; i++) {
        int st = k < MAX_BULK && i < 8 && f->statuses[k][i] ? f->statuses[k][i] : 201;
        o += sprintf(o, "%s{\"create\":{\"_index\":\"x\",\"status\":%d%s}}", i ? "," : "", st,
                     st >= 400 && st != 409 ? ",\"error\":{\"type\":\"bad\",\"reason\":\"no\"}" : "");
    }
    sprintf(o, "]}");
}

static char dead_path[64], spool_dir[64];

static struct sink *open_sink(struct fake_node *n, bool live, uint64_t spool_max)
{
    char nodes[64], err[512];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%d", n->port);
    struct sink_es_config cfg = {
        .es = { .nodes = nodes, .start_wait = 5 },
        .index_prefix = "packets",
        .chunk = 5,
        .chunk_bytes = 1 << 20,
        .in_flight = 2,
        .flush_interval = 60,
        .dead_letters = dead_path,
        .live = live,
        .spool_dir = spool_dir,
        .spool_max = spool_max,
    };
    struct sink *s = sink_es_new(&cfg, err, sizeof err);
    if (!s)
        fprintf(stderr, "sink_es_new: %s\n", err);
    return s;
}

/* Document i (from 1): {"n":i} at 2024-03-01 12:00, with one IP field. */
static int write_doc(struct sink *s, int i)
{
    static const uint32_t fields[] = { 0 };
    static const struct doc_field_def def = { 0, DC_IP, "layers.network.ip.src", 21 };
    char doc[32];
    int len = snprintf(doc, sizeof doc, "{\"n\":%d}", i);
    struct doc_info info = {
        .ts_sec = 1709294400,
        .frame_number = (uint32_t)i,
        .source_id = 0xabc,
        .packet_hash = (uint64_t)i,
        .fields = fields,
        .n_fields = 1,
        .defs = &def,
        .n_defs = i == 1 ? 1 : 0,
    };
    return s->ops->write(s, doc, (size_t)len, &info);
}

static const char *item(int i)
{
    static char b[160];
    snprintf(b, sizeof b, "{\"create\":{\"_index\":\"packets-2024-03-01\",\"_id\":"
             "\"0000000000000abc-%d-%08x\"}}\n{\"n\":%d}\n", i, i, i);
    return b;
}

static int spool_files(void)
{
    DIR *d = opendir(spool_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".bulk") != NULL;
    if (d)
        closedir(d);
    return n;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static void test_file_mode(void)
{
    struct es_fake f;
    memset(&f, 0, sizeof f);
    int first[] = { 201, 429, 201, 409, 400 };
    memcpy(f.statuses[0], first, sizeof first);
    struct fake_node *n = fake_start(es_node, &f);
    struct sink *s = open_sink(n, false, 0);
    CHECK(s != NULL);
    for (int i = 1; i <= 5; i++)
        CHECK(write_doc(s, i) == 0);
    CHECK(s->ops->close(s) == 0);
    fake_lock(n);
    CHECK(f.n_log == 6 && f.n_bulk == 2);
    CHECK_STR(f.log[0], "GET /");
    CHECK_STR(f.log[1], "PUT /_index_template/espcap-packets");
    CHECK_STR(f.log[2], "PUT /packets-2024-03-01");
    CHECK_STR(f.log[3], "PUT /packets-2024-03-01/_mapping"); /* before the documents */
    CHECK_STR(f.log[4], "POST /_bulk");
    CHECK_STR(f.mapping, "{\"properties\":{\"layers.network.ip.src\":{\"type\":\"ip\"}}}");
    char all[1024] = "";
    for (int i = 1; i <= 5; i++)
        strcat(all, item(i));
    CHECK_STR(f.bulk[0], all);
    CHECK_STR(f.bulk[1], item(2)); /* only the item answered 429 goes again */
    fake_unlock(n);
    const struct sink_stats *k = &s->stats;
    CHECK(k->written == 3 && k->already == 1 && k->dead_lettered == 1 && k->retried == 1);
    CHECK(k->pending == 0 && k->spooled == 0 && k->spool_bytes == 0);
    CHECK(k->bytes == strlen(all) + strlen(item(2)));
    CHECK(count_lines(dead_path) == 1);
    sink_free(s);
    fake_stop(n);
    unlink(dead_path);
}

static void test_refusals(void)
{
    struct es_fake f;
    memset(&f, 0, sizeof f);
    f.http[0] = -1;  /* an answer cut short: nothing counted from it, all sent again */
    f.http[1] = 413; /* the whole request refused: every document a dead letter */
    struct fake_node *n = fake_start(es_node, &f);
    struct sink *s = open_sink(n, false, 0);
    for (int i = 1; i <= 4; i++)
        write_doc(s, i);
    CHECK(s->stats.pending == 4);
    CHECK(s->ops->tick(s) == 0 && s->stats.pending == 4); /* flush_interval not yet */
    CHECK(s->ops->close(s) == 0);
    fake_lock(n);
    CHECK(f.n_bulk == 2 && strcmp(f.bulk[0], f.bulk[1]) == 0);
    fake_unlock(n);
    CHECK(s->stats.written == 0 && s->stats.dead_lettered == 4 && s->stats.retried == 4);
    CHECK(s->stats.pending == 0);
    CHECK(count_lines(dead_path) == 4);
    sink_free(s);
    fake_stop(n);
    unlink(dead_path);
}

static void settle(struct sink *s, double seconds)
{
    usleep((useconds_t)(seconds * 1e6));
    for (int i = 0; i < 50; i++) {
        s->ops->tick(s);
        usleep(10000);
    }
}

static void test_live_spool(void)
{
    struct es_fake f;
    memset(&f, 0, sizeof f);
    f.bulk_down = 1;
    struct fake_node *n = fake_start(es_node, &f);
    struct sink *s = open_sink(n, true, 1 << 20);
    for (int i = 1; i <= 5; i++)
        write_doc(s, i);
    /* (ticks only until it is spooled: the node's set-aside of 0.5 s must not end first
     * on a loaded machine) */
    for (int i = 0; i < 400 && s->stats.spooled < 5; i++) {
        s->ops->tick(s);
        usleep(5000);
    }
    /* Sent once, refused: spooled (with its mapping line), never waited for. */
    CHECK(s->stats.spooled == 5 && s->stats.pending == 0 && spool_files() == 1);
    CHECK(s->stats.spool_bytes > strlen(item(1)) * 5);
    uint64_t bytes = s->stats.spool_bytes;
    /* Replayed once the node's set-aside ends, refused again: back at the head (its
     * mapping was put before the first send, so the record holds the body only). */
    settle(s, 0.6);
    CHECK(s->stats.replayed == 0 && spool_files() == 1 && s->stats.spool_bytes == bytes);
    fake_lock(n);
    int tries = f.n_bulk;
    f.bulk_down = 0;
    fake_unlock(n);
    CHECK(tries == 2);
    /* New documents queue behind the spool, and everything goes, in order. */
    for (int i = 6; i <= 10; i++)
        write_doc(s, i);
    settle(s, 1.1);
    CHECK(s->ops->close(s) == 0);
    CHECK(s->stats.written == 10 && s->stats.replayed == 10 && s->stats.spooled == 10);
    CHECK(s->stats.pending == 0 && s->stats.spool_bytes == 0 && spool_files() == 0);
    fake_lock(n);
    CHECK(f.n_bulk == 4 && strstr(f.bulk[2], "\"n\":1}") && strstr(f.bulk[3], "\"n\":6}"));
    fake_unlock(n);
    sink_free(s);

    /* A full spool drops, and counts. */
    f.bulk_down = 1;
    s = open_sink(n, true, 100);
    for (int i = 1; i <= 5; i++)
        write_doc(s, i);
    settle(s, 0);
    CHECK(s->stats.dropped == 5 && s->stats.spooled == 0 && spool_files() == 0);
    CHECK(s->stats.pending == 0);
    CHECK(s->ops->close(s) == 0);
    sink_free(s);
    fake_stop(n);
    unlink(dead_path);
}

int main(void)
{
    alarm(60); /* a hang is a failure too: retries for ever would never end the test */
    snprintf(dead_path, sizeof dead_path, "/tmp/espcap-test-sink-XXXXXX");
    close(mkstemp(dead_path));
    unlink(dead_path);
    snprintf(spool_dir, sizeof spool_dir, "/tmp/espcap-test-sink-spool-XXXXXX");
    if (!mkdtemp(spool_dir))
        return 2;
    test_file_mode();
    test_refusals();
    test_live_spool();
    rmdir(spool_dir);
    return TH_DONE("test_sink_es");
}
