/* farm: lanes to the dissection workers, the merge back into packet order, crash recovery
 * (see farm.h and docs/INTERNALS.md). */
#include "farm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../doc/envelope.h"
#include "../doc/json.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "flowhash.h"
#include "recwire.h"
#include "ring.h"
#include "wire.h"

/* A lane: one worker process (one incarnation after another, if they die) with its two
 * rings in one shared mapping. Lanes are reused: the mapping stays. */
struct lane {
    uint32_t id;
    int memfd, efd_worker, efd_reader;
    uint8_t *mem;
    struct ring in;        /* reader -> worker (we produce) */
    struct ring out;       /* worker -> reader (we consume) */
    pid_t pid;
    bool busy;             /* holds a source's packets (not on the free list) */
    bool ended;            /* WIRE_END sent: no more packets */
    bool exited;           /* the worker process is gone (normally or not) */
    int exit_status;
    int deaths_at_head;    /* deaths without progress: a guard against a worker that cannot start */
    uint64_t pending;      /* packets whose results are not delivered yet */
    uint64_t packets;      /* packets sent to this lane */
    uint32_t incarnation;
    uint32_t gen;          /* this use of the lane, unique in the run: its counters' key */
    uint32_t source;       /* which source (farm->source_seq) */
    /* its source, for a worker started again after a crash: the WIRE_SOURCE, the events
     * so far (as 4-byte length + WIRE_EVENT payload), the envelope for error documents */
    struct buf source_msg, events, source_json;
    /* field ids of each incarnation: its own -> the run's */
    struct idmap { uint32_t *map; size_t n; } *ids;
    size_t n_ids;
};

struct fifo_entry {
    uint32_t lane;
    int32_t ts_nsec;          /* the record's time as read (not normalised: see ts_delta) */
    int64_t ts_sec;
    uint64_t source_id, packet_hash;
};

/* b - a as libwireshark's nstime_delta computes it, fractions out of range included (a
 * capture may hold nanoseconds past 1e9): the time since the previous displayed frame must
 * be the one tshark shows for frame.time_delta_displayed. */
static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

static void ts_delta(int64_t bs, int32_t bn, int64_t as, int32_t an, int64_t *ds, int32_t *dn)
{
    /* libwireshark's ints wrap (two's complement) where a fraction is far out of range */
    *ds = bs - as;
    *dn = wrap32((int64_t)bn - an);
    if (bs == as)
        *ds = 0;
    else if (bs < as) {
        if (*dn > 0) {
            *dn = wrap32((int64_t)*dn - 1000000000);
            (*ds)++;
        }
    } else if (*dn < 0) {
        *dn = wrap32((int64_t)*dn + 1000000000);
        (*ds)--;
    }
}

#define LANE_MAX_PENDING 2048

/* Renumbered counters: (source, lane use, incarnation, kind, value) -> capture-wide
 * value. */
struct ckey {
    uint32_t source, gen, incarnation, kind;
    uint64_t value;
};

struct farm {
    struct farm_config cfg;
    struct farm_stats stats;
    char error[512];
    bool failed;              /* the sink refused a document (it said why) */
    uint64_t packets;
    struct lane **lanes;
    size_t n_lanes;
    uint32_t *slot_lane;      /* per slot: its lane + 1, or 0 */
    /* the packets handed out, in order: which lane has each */
    struct fifo_entry *fifo;
    size_t fifo_cap, fifo_head, fifo_n;
    /* the current source */
    uint32_t source_seq;
    struct buf source_msg;    /* its WIRE_SOURCE, with the name (incarnation patched) */
    struct buf events;        /* its events so far, as WIRE_EVENT records back to back */
    struct buf source_json;   /* its envelope part, for error documents */
    bool source_live;
    nstime_t first_ts, prev_ts;
    bool has_prev;
    /* the run's field ids: path -> id, and the definitions handed to the sink */
    struct { char *path; uint32_t len; uint32_t cls; } *gdefs;
    size_t n_gdefs, cap_gdefs;
    uint32_t *gindex;         /* open addressing over gdefs: id + 1, 0 = empty */
    size_t gindex_cap;
    struct ckey *ckeys;       /* open addressing; value of kind UINT32_MAX = empty */
    uint64_t *cvals;
    size_t ccap, cn;
    size_t cprune_at;         /* entries past which those of finished lanes are dropped */
    uint32_t next_gen;
    /* each source numbers its counters from 0 (as tshark -r per file): the next number,
     * per source still being delivered (a few at most: a source's lanes drain while the
     * next one starts) */
    struct {
        uint32_t source;
        uint64_t next[DOC_N_COUNTERS];
        bool has_prev_dis;          /* the last packet with a document: its time */
        int64_t prev_dis_sec;
        int32_t prev_dis_nsec;
    } next_counter[64];
    /* scratch */
    struct buf enc, doc, tmp;
    uint32_t *ids;
    size_t ids_cap;
    struct doc_field_def *defs;
    size_t defs_cap;
    struct doc_counter *counters;
    size_t counters_cap;
    struct wire_decoder dec;
};

/* ---- small tables ---- */

static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The run's id of a field path; new ones are added to defs (handed to the sink). */
static uint32_t global_id(struct farm *f, const char *path, uint32_t len, uint32_t cls,
                          size_t *n_defs)
{
    if ((f->n_gdefs + 1) * 2 > f->gindex_cap) {
        size_t cap = f->gindex_cap ? f->gindex_cap * 2 : 4096;
        uint32_t *ix = xcalloc(cap, sizeof *ix);
        for (size_t i = 0; i < f->n_gdefs; i++) {
            size_t j = hash_bytes(f->gdefs[i].path, f->gdefs[i].len) & (cap - 1);
            while (ix[j])
                j = (j + 1) & (cap - 1);
            ix[j] = (uint32_t)i + 1;
        }
        free(f->gindex);
        f->gindex = ix;
        f->gindex_cap = cap;
    }
    size_t j = hash_bytes(path, len) & (f->gindex_cap - 1);
    for (; f->gindex[j]; j = (j + 1) & (f->gindex_cap - 1)) {
        uint32_t id = f->gindex[j] - 1;
        if (f->gdefs[id].len == len && memcmp(f->gdefs[id].path, path, len) == 0)
            return id;
    }
    if (f->n_gdefs == f->cap_gdefs) {
        f->cap_gdefs = f->cap_gdefs ? f->cap_gdefs * 2 : 1024;
        f->gdefs = xrealloc(f->gdefs, f->cap_gdefs * sizeof *f->gdefs);
    }
    uint32_t id = (uint32_t)f->n_gdefs++;
    f->gdefs[id].path = xmalloc(len ? len : 1);
    memcpy(f->gdefs[id].path, path, len);
    f->gdefs[id].len = len;
    f->gdefs[id].cls = cls;
    f->gindex[j] = id + 1;
    if (*n_defs == f->defs_cap) {
        f->defs_cap = f->defs_cap ? f->defs_cap * 2 : 64;
        f->defs = xrealloc(f->defs, f->defs_cap * sizeof *f->defs);
    }
    f->defs[(*n_defs)++] = (struct doc_field_def){ id, (enum doc_class)cls, f->gdefs[id].path, len };
    return id;
}

static uint64_t ckey_hash(const struct ckey *k)
{
    return hash_bytes(k, sizeof *k) ^ (k->value * 0x9e3779b97f4a7c15ull);
}

static bool ckey_eq(const struct ckey *a, const struct ckey *b)
{
    return a->source == b->source && a->gen == b->gen && a->incarnation == b->incarnation &&
           a->kind == b->kind && a->value == b->value;
}

static bool gen_busy(const struct farm *f, uint32_t gen)
{
    for (size_t i = 0; i < f->n_lanes; i++)
        if (f->lanes[i]->busy && f->lanes[i]->gen == gen)
            return true;
    return false;
}

/* The counter table: open addressing over (source, lane use, incarnation, kind, value).
 * The entries of lanes that finished (every result delivered) are dropped when the table
 * has grown past cprune_at, so that a live capture of many sessions stays flat. */
static void ctable_grow(struct farm *f)
{
    bool prune = f->cn >= f->cprune_at && f->cn > 0;
    if ((f->cn + 1) * 2 <= f->ccap && !prune)
        return;
    size_t kept = 0;
    if (prune)
        for (size_t i = 0; i < f->ccap; i++)
            kept += f->ckeys[i].kind != UINT32_MAX && gen_busy(f, f->ckeys[i].gen);
    size_t need = (prune ? kept : f->cn) + 1, cap = 1024;
    while (need * 2 > cap)
        cap *= 2;
    struct ckey *keys = xmalloc(cap * sizeof *keys);
    uint64_t *vals = xmalloc(cap * sizeof *vals);
    for (size_t i = 0; i < cap; i++)
        keys[i].kind = UINT32_MAX;
    size_t n = 0;
    for (size_t i = 0; i < f->ccap; i++) {
        if (f->ckeys[i].kind == UINT32_MAX || (prune && !gen_busy(f, f->ckeys[i].gen)))
            continue;
        n++;
        size_t j = ckey_hash(&f->ckeys[i]) & (cap - 1);
        while (keys[j].kind != UINT32_MAX)
            j = (j + 1) & (cap - 1);
        keys[j] = f->ckeys[i];
        vals[j] = f->cvals[i];
    }
    free(f->ckeys);
    free(f->cvals);
    f->ckeys = keys;
    f->cvals = vals;
    f->ccap = cap;
    f->cn = n;
    f->cprune_at = n * 2 > 65536 ? n * 2 : 65536;
}

/* The value stored for k, made (set to init) if it is not there yet; valid until the
 * next call. */
static uint64_t *cslot(struct farm *f, const struct ckey *k, uint64_t init, bool *made)
{
    ctable_grow(f);
    size_t j = ckey_hash(k) & (f->ccap - 1);
    for (; f->ckeys[j].kind != UINT32_MAX; j = (j + 1) & (f->ccap - 1))
        if (ckey_eq(&f->ckeys[j], k)) {
            *made = false;
            return &f->cvals[j];
        }
    f->ckeys[j] = *k;
    f->cvals[j] = init;
    f->cn++;
    *made = true;
    return &f->cvals[j];
}

#define COUNTER_LOW UINT64_MAX - 1 /* the key of a worker's lowest value not yet numbered */
#define COUNTER_GAP_MAX 65536      /* the most values numbered ahead of the one seen */

/* The capture-wide number of a worker's counter value. A worker makes its values in
 * increasing order, but a value may show in the documents only after higher ones did
 * (a conversation made by a packet that shows no counter field, as MPTCP's): when a
 * value first shows, the lower values of that worker not numbered yet take their numbers
 * first, in order. With one worker that gives Wireshark's own numbers; with several, each
 * value a number in the order its packet (or a later one of that worker) came. */
static uint64_t renumber(struct farm *f, const struct ckey *k)
{
    bool made;
    uint64_t *next = &f->next_counter[k->source % 64].next[k->kind];
    uint64_t got = *cslot(f, k, UINT64_MAX, &made);
    if (!made)
        return got;
    struct ckey low = *k;
    low.value = COUNTER_LOW;
    uint64_t from = *cslot(f, &low, 0, &made);
    if (k->value >= from && k->value - from <= COUNTER_GAP_MAX) {
        for (uint64_t v = from; v < k->value; v++) {
            struct ckey g = *k;
            g.value = v;
            uint64_t *n = cslot(f, &g, UINT64_MAX, &made);
            if (*n == UINT64_MAX)
                *n = (*next)++;
        }
        *cslot(f, &low, 0, &made) = k->value + 1;
    }
    uint64_t *n = cslot(f, k, UINT64_MAX, &made);
    *n = (*next)++;
    return *n;
}

/* ---- lanes ---- */

static void fatal(struct farm *f, const char *fmt, ...) ESPCAP_PRINTF(2, 3);

static void fatal(struct farm *f, const char *fmt, ...)
{
    if (f->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->error, sizeof f->error, fmt, ap);
    va_end(ap);
}

static struct lane *lane_create(struct farm *f)
{
    struct lane *l = xcalloc(1, sizeof *l);
    size_t in_b = ring_bytes(f->cfg.in_ring), out_b = ring_bytes(f->cfg.out_ring);
    l->memfd = memfd_create("espcap-lane", MFD_CLOEXEC);
    l->efd_worker = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->efd_reader = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->memfd < 0 || l->efd_worker < 0 || l->efd_reader < 0 ||
        ftruncate(l->memfd, (off_t)(in_b + out_b)) != 0) {
        fatal(f, "cannot make the rings of a dissection worker: %s", strerror(errno));
        free(l);
        return NULL;
    }
    l->mem = mmap(NULL, in_b + out_b, PROT_READ | PROT_WRITE, MAP_SHARED, l->memfd, 0);
    if (l->mem == MAP_FAILED) {
        fatal(f, "cannot map the rings of a dissection worker: %s", strerror(errno));
        free(l);
        return NULL;
    }
    buf_init(&l->source_msg, 256);
    buf_init(&l->events, 0);
    buf_init(&l->source_json, 256);
    l->id = (uint32_t)f->n_lanes;
    f->lanes = xrealloc(f->lanes, (f->n_lanes + 1) * sizeof *f->lanes);
    f->lanes[f->n_lanes++] = l;
    return l;
}

static void lane_rings_init(struct farm *f, struct lane *l)
{
    size_t in_b = ring_bytes(f->cfg.in_ring);
    ring_init(&l->in, l->mem, f->cfg.in_ring, l->efd_worker, l->efd_reader);
    ring_init(&l->out, l->mem + in_b, f->cfg.out_ring, l->efd_reader, l->efd_worker);
}

/* Pushes one record into a lane's ring, waiting for room (and delivering meanwhile). */
static int deliver_ready(struct farm *f);
static void service(struct farm *f);
static void wait_some(struct farm *f, struct lane *push_to, size_t push_len);

static int push(struct farm *f, struct lane *l, uint32_t type, const void *p, size_t len)
{
    if (len > ring_max_record(&l->in)) {
        fatal(f, "internal error: a message of %zu bytes for a dissection worker", len);
        return -1;
    }
    void *dst;
    while (!(dst = ring_reserve(&l->in, len))) {
        if (deliver_ready(f) != 0)
            return -1;
        service(f);
        if (f->error[0])
            return -1;
        if ((dst = ring_reserve(&l->in, len)))
            break;
        wait_some(f, l, len);
    }
    memcpy(dst, p, len);
    ring_commit(&l->in, type, len);
    return 0;
}

/* The worker's preamble: the source (with this incarnation) and its events so far. */
static int push_preamble(struct farm *f, struct lane *l)
{
    struct wire_source *s = (struct wire_source *)l->source_msg.p;
    s->incarnation = l->incarnation;
    if (push(f, l, WIRE_SOURCE, l->source_msg.p, l->source_msg.len) != 0)
        return -1;
    for (size_t off = 0; off < l->events.len;) {
        uint32_t len;
        memcpy(&len, l->events.p + off, 4);
        if (push(f, l, WIRE_EVENT, l->events.p + off + 4, len) != 0)
            return -1;
        off += 4 + len;
    }
    return 0;
}

static int spawn(struct farm *f, struct lane *l)
{
    l->exited = false;
    l->pid = 0;
    if (zygote_spawn(f->cfg.zygote, l->id, l->memfd, l->efd_worker, l->efd_reader) != 0) {
        fatal(f, "the dissection process is gone");
        return -1;
    }
    f->stats.workers_started++;
    return 0;
}

/* A lane for a slot of the current source: a free one, or a new one. */
static size_t busy_lanes(const struct farm *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_lanes; i++)
        n += f->lanes[i]->busy;
    return n;
}

static struct lane *lane_for_slot(struct farm *f, unsigned slot)
{
    if (f->slot_lane[slot])
        return f->lanes[f->slot_lane[slot] - 1];
    /* At most two lanes a slot: one finishing its source while the next one starts (many
     * small files must not make hundreds of workers and rings). */
    while (busy_lanes(f) >= 2 * (size_t)f->cfg.slots + 1) {
        if (deliver_ready(f) != 0)
            return NULL;
        service(f);
        if (f->error[0])
            return NULL;
        if (busy_lanes(f) >= 2 * (size_t)f->cfg.slots + 1)
            wait_some(f, NULL, 0);
    }
    struct lane *l = NULL;
    for (size_t i = 0; i < f->n_lanes && !l; i++)
        if (!f->lanes[i]->busy)
            l = f->lanes[i];
    if (!l && !(l = lane_create(f)))
        return NULL;
    lane_rings_init(f, l);
    for (size_t i = 0; i < l->n_ids; i++)
        l->ids[i].n = 0;
    l->busy = true;
    l->ended = false;
    l->pending = 0;
    l->packets = 0;
    l->incarnation = 0;
    l->gen = f->next_gen++;
    l->deaths_at_head = 0;
    l->source = f->source_seq;
    buf_reset(&l->source_msg);
    buf_add(&l->source_msg, f->source_msg.p, f->source_msg.len);
    buf_reset(&l->events);
    buf_add(&l->events, f->events.p, f->events.len);
    buf_reset(&l->source_json);
    buf_add(&l->source_json, f->source_json.p, f->source_json.len);
    f->slot_lane[slot] = l->id + 1;
    if (push_preamble(f, l) != 0 || spawn(f, l) != 0)
        return NULL;
    return l;
}

static void end_lane(struct farm *f, struct lane *l)
{
    if (l->ended)
        return;
    l->ended = true;
    push(f, l, WIRE_END, "", 0);
}

/* ---- results ---- */

static struct idmap *idmap_of(struct lane *l, uint32_t incarnation)
{
    if (incarnation >= l->n_ids) {
        l->ids = xrealloc(l->ids, (incarnation + 1) * sizeof *l->ids);
        memset(l->ids + l->n_ids, 0, (incarnation + 1 - l->n_ids) * sizeof *l->ids);
        l->n_ids = incarnation + 1;
    }
    return &l->ids[incarnation];
}

static void idmap_set(struct idmap *m, uint32_t local, uint32_t global)
{
    if (local >= m->n) {
        size_t n = local + 1024;
        m->map = xrealloc(m->map, n * sizeof *m->map);
        memset(m->map + m->n, 0xff, (n - m->n) * sizeof *m->map);
        m->n = n;
    }
    m->map[local] = global;
}

/* Hands one result on: ids made the run's, counters renumbered. */
static int take_result(struct farm *f, struct lane *l, const struct fifo_entry *e,
                       const uint8_t *p, size_t n)
{
    struct wire_result r;
    if (n < sizeof r) {
        fatal(f, "internal error: a short result from a dissection worker");
        return -1;
    }
    memcpy(&r, p, sizeof r);
    if (r.flags & WIRE_FILTERED) {
        /* No document, but its counters take their numbers, as in one worker. */
        const uint8_t *cp = p + sizeof r;
        if (sizeof r + (size_t)r.n_counters * sizeof(struct wire_counter) > n)
            goto bad;
        for (uint32_t i = 0; i < r.n_counters; i++) {
            struct wire_counter c;
            memcpy(&c, cp + i * sizeof c, sizeof c);
            if (c.kind < DOC_N_RENUMBERED) {
                struct ckey k = { l->source, l->gen, r.incarnation, c.kind, c.value };
                renumber(f, &k);
            }
        }
        f->stats.filtered++;
        return 0;
    }
    const uint8_t *q = p + sizeof r, *end = p + n;
    if (r.flags & WIRE_TOO_LARGE) {
        f->stats.too_large++;
        log_warn("frame %u: its document is too large for a dissection worker's ring: left out",
                 r.frame);
        return 0;
    }
    struct idmap *m = idmap_of(l, r.incarnation);
    if (r.n_ids > f->ids_cap) {
        f->ids_cap = r.n_ids + 256;
        f->ids = xrealloc(f->ids, f->ids_cap * sizeof *f->ids);
    }
    const uint8_t *idp = q;
    q += (size_t)r.n_ids * 4;
    size_t n_defs = 0;
    for (uint32_t i = 0; i < r.n_defs; i++) {
        struct wire_def d;
        if (q + sizeof d > end)
            goto bad;
        memcpy(&d, q, sizeof d);
        q += sizeof d;
        if (q + d.path_len > end)
            goto bad;
        idmap_set(m, d.id, global_id(f, (const char *)q, d.path_len, d.cls, &n_defs));
        q += (d.path_len + 3) & ~3u;
    }
    for (uint32_t i = 0; i < r.n_ids; i++) {
        uint32_t local;
        memcpy(&local, idp + i * 4, 4);
        if (local >= m->n || m->map[local] == UINT32_MAX)
            goto bad;
        f->ids[i] = m->map[local];
    }
    if (r.n_counters > f->counters_cap) {
        f->counters_cap = r.n_counters + 16;
        f->counters = xrealloc(f->counters, f->counters_cap * sizeof *f->counters);
    }
    const uint8_t *cp = q;
    q += (size_t)r.n_counters * sizeof(struct wire_counter);
    if (q + r.doc_len > end)
        goto bad;
    const char *doc = (const char *)q;
    size_t doc_len = r.doc_len;
    if (r.n_counters) {
        /* Rewrite the counters' digits in a copy of the document. */
        buf_reset(&f->doc);
        size_t at = 0;
        for (uint32_t i = 0; i < r.n_counters; i++) {
            struct wire_counter c;
            memcpy(&c, cp + i * sizeof c, sizeof c);
            if (c.offset < at || c.offset + c.len > doc_len || c.kind >= DOC_N_COUNTERS)
                goto bad;
            buf_add(&f->doc, doc + at, c.offset - at);
            static const uint64_t none[DOC_N_COUNTERS] = { DOC_COUNTER_NONE };
            if (c.kind == DOC_DELTA_DISPLAYED) {
                /* the time since the previous packet of this source that got a document */
                __typeof__(f->next_counter[0]) *sc = &f->next_counter[l->source % 64];
                if (sc->has_prev_dis) {
                    int64_t ds;
                    int32_t dn;
                    ts_delta(e->ts_sec, e->ts_nsec, sc->prev_dis_sec, sc->prev_dis_nsec, &ds,
                             &dn);
                    json_seconds(&f->doc, ds, dn, 9);
                } else
                    json_seconds(&f->doc, 0, 0, 9);
            } else {
                struct ckey k = { l->source, l->gen, r.incarnation, c.kind, c.value };
                json_u64(&f->doc, c.value == none[c.kind] ? c.value : renumber(f, &k));
            }
            at = c.offset + c.len;
        }
        buf_add(&f->doc, doc + at, doc_len - at);
        doc = f->doc.p;
        doc_len = f->doc.len;
    }
    __typeof__(f->next_counter[0]) *sc = &f->next_counter[l->source % 64];
    sc->has_prev_dis = true;
    sc->prev_dis_sec = e->ts_sec;
    sc->prev_dis_nsec = e->ts_nsec;
    struct doc_info info = {
        .ts_sec = r.ts_sec, .ts_nsec = r.ts_nsec, .frame_number = r.frame,
        .source_id = e->source_id, .packet_hash = e->packet_hash,
        .fields = f->ids, .n_fields = r.n_ids, .defs = f->defs, .n_defs = n_defs,
        .cut_values = r.cut_values,
    };
    if (r.flags & WIRE_CRASHED)
        f->stats.crashed++;
    f->stats.documents++;
    if (f->cfg.deliver(f->cfg.ctx, doc, doc_len, &info) != 0) {
        f->failed = true; /* the sink said why */
        return -1;
    }
    return 0;
bad:
    fatal(f, "internal error: a malformed result from a dissection worker (frame %u)", r.frame);
    return -1;
}

static int deliver_ready(struct farm *f)
{
    while (f->fifo_n) {
        struct fifo_entry *e = &f->fifo[f->fifo_head];
        struct lane *l = f->lanes[e->lane];
        uint32_t type;
        size_t n;
        const uint8_t *p = ring_peek(&l->out, &type, &n);
        if (!p)
            return 0;
        if (type != WIRE_RESULT) {
            fatal(f, "internal error: a dissection worker said %u", type);
            return -1;
        }
        int rc = take_result(f, l, e, p, n);
        ring_release(&l->out);
        f->fifo_head = (f->fifo_head + 1) % f->fifo_cap;
        f->fifo_n--;
        l->pending--;
        l->deaths_at_head = 0;
        if (!l->pending && l->ended && l->exited)
            l->busy = false; /* back to the free list */
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- crashes ---- */

static const char *death(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "dissector crashed (signal %d)", WTERMSIG(status));
    else
        snprintf(buf, len, "dissection worker failed (exit status %d)", WEXITSTATUS(status));
    return buf;
}

/* The error document of a packet that killed two workers: its envelope and the reason. */
static void put_error_result(struct farm *f, struct lane *l, const uint8_t *rec, size_t n,
                             const char *why)
{
    struct wire_frame fr;
    const uint8_t *data;
    if (!recwire_decode(&f->dec, rec, n, &fr, &data))
        return;
    const wtap_rec *r = &f->dec.rec;
    int64_t secs = (int64_t)r->ts.secs;
    int32_t nsecs = tf_normalise(&secs, r->ts.nsecs);
    uint64_t len = r->rec_type == REC_TYPE_PACKET ? r->rec_header.packet_header.len : 0;
    uint64_t caplen = r->rec_type == REC_TYPE_PACKET ? r->rec_header.packet_header.caplen : 0;
    buf_reset(&f->tmp);
    envelope_begin(&f->tmp, secs, nsecs, r->tsprec == WTAP_TSPREC_NSEC ? 9 : 6, &l->source_json,
                   fr.frame, len, caplen);
    buf_adds(&f->tmp, ",\"espcap.error\":");
    json_str(&f->tmp, why, strlen(why), 0);
    buf_addc(&f->tmp, '}');
    struct wire_result res = { fr.seq, fr.frame, WIRE_CRASHED, secs, nsecs, 0, 0, 0,
                               (uint32_t)f->tmp.len, l->incarnation, 0, 0 };
    /* The worker is dead: we are the only writer of its result ring now. */
    struct ring prod;
    ring_attach(&prod, l->mem + ring_bytes(f->cfg.in_ring), l->efd_reader, l->efd_worker);
    uint8_t *dst = ring_reserve(&prod, sizeof res + f->tmp.len);
    if (!dst) {
        fatal(f, "internal error: no room for an error document");
        return;
    }
    memcpy(dst, &res, sizeof res);
    memcpy(dst + sizeof res, f->tmp.p, f->tmp.len);
    ring_commit(&prod, WIRE_RESULT, sizeof res + f->tmp.len);
    log_warn("%s, frame %u: %s twice; written as a document with espcap.error",
             buf_cstr(&l->source_msg) + sizeof(struct wire_source), fr.frame, why);
}

/* A worker died before its end: try the packet at the head once more in a fresh worker;
 * if it was already the second try, that packet gets an error document. */
static void recover(struct farm *f, struct lane *l, int status)
{
    char why[96];
    death(status, why, sizeof why);
    if (++l->deaths_at_head > 3) {
        fatal(f, "dissection workers keep dying (%s) before dissecting anything", why);
        return;
    }
    /* We are now the only user of the worker's ring: take what is left, oldest first. */
    struct ring cons;
    ring_attach(&cons, l->mem, l->efd_worker, l->efd_reader);
    buf_reset(&f->enc);
    uint32_t type;
    size_t n;
    const uint8_t *p;
    bool head = true;
    while ((p = ring_peek(&cons, &type, &n))) {
        if (type == WIRE_PACKET && head) {
            head = false;
            struct wire_frame fr;
            memcpy(&fr, p, sizeof fr); /* the wire_frame opens every packet record */
            if (fr.flags & WIRE_RETRY) {
                put_error_result(f, l, p, n, why);
                l->deaths_at_head = 0;
                ring_release(&cons);
                continue;
            }
            f->stats.retried++;
                    log_warn("%s, frame %u: %s; trying it once more in a fresh worker",
                     buf_cstr(&l->source_msg) + sizeof(struct wire_source), fr.frame, why);
            fr.flags |= WIRE_RETRY;
            (void)0;
            uint32_t hdr[2] = { (uint32_t)n, type };
            buf_add(&f->enc, hdr, 8);
            buf_add(&f->enc, &fr, sizeof fr);
            buf_add(&f->enc, p + sizeof fr, n - sizeof fr);
            ring_release(&cons);
            continue;
        }
        if (type != WIRE_SOURCE && type != WIRE_EVENT) { /* the preamble is sent again */
            uint32_t hdr[2] = { (uint32_t)n, type };
            buf_add(&f->enc, hdr, 8);
            buf_add(&f->enc, p, n);
        }
        ring_release(&cons);
    }
    /* A fresh ring for the new worker: its preamble, then what the old one left. */
    ring_init(&l->in, l->mem, f->cfg.in_ring, l->efd_worker, l->efd_reader);
    l->incarnation++;
    struct buf saved = f->enc;
    buf_init(&f->enc, 4096);
    if (push_preamble(f, l) == 0) {
        for (size_t off = 0; off < saved.len;) {
            uint32_t hdr[2];
            memcpy(hdr, saved.p + off, 8);
            if (push(f, l, hdr[1], saved.p + off + 8, hdr[0]) != 0)
                break;
            off += 8 + hdr[0];
        }
    }
    buf_fini(&saved);
    if (!f->error[0])
        spawn(f, l);
}

/* Reads the zygote's reports: workers started and ended. */
static void service(struct farm *f)
{
    struct zygote_report r;
    while (zygote_read_report(f->cfg.zygote, &r)) {
        if (r.lane >= f->n_lanes)
            continue;
        struct lane *l = f->lanes[r.lane];
        if (r.kind == ZR_SPAWNED) {
            l->pid = r.pid;
            continue;
        }
        if (r.pid != l->pid && l->pid)
            continue; /* an earlier incarnation, already handled */
        l->exited = true;
        l->exit_status = r.status;
        bool normal = WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
        if (normal && l->ended) {
            if (!l->pending)
                l->busy = false; /* back to the free list */
            continue;
        }
        recover(f, l, r.status);
    }
    if (zygote_gone(f->cfg.zygote))
        fatal(f, "the dissection process ended unexpectedly");
}

/* Delivers every wake-up we deferred: nothing may wait for us while we sleep. */
static void wake_all(struct farm *f)
{
    for (size_t i = 0; i < f->n_lanes; i++)
        if (f->lanes[i]->busy) {
            ring_wake(&f->lanes[i]->in);
            ring_wake(&f->lanes[i]->out);
        }
}

static void wait_some(struct farm *f, struct lane *push_to, size_t push_len)
{
    wake_all(f);
    /* Ask to be woken for what we wait for (the head's result, room to push), check once
     * more, then sleep; the zygote's reports (a worker died) wake us too. */
    struct lane *head = f->fifo_n ? f->lanes[f->fifo[f->fifo_head].lane] : NULL;
    if (head && !ring_consumer_should_sleep(&head->out))
        return;
    if (push_to && !ring_producer_should_sleep(&push_to->in, push_len))
        return;
    struct pollfd p[3];
    int n = 0;
    p[n++] = (struct pollfd){ zygote_fd(f->cfg.zygote), POLLIN, 0 };
    if (head)
        p[n++] = (struct pollfd){ head->efd_reader, POLLIN, 0 };
    if (push_to && push_to != head)
        p[n++] = (struct pollfd){ push_to->efd_reader, POLLIN, 0 };
    if (poll(p, (nfds_t)n, 1000) > 0)
        for (int i = 1; i < n; i++)
            if (p[i].revents)
                ring_drain_fd(p[i].fd);
}

/* ---- the interface ---- */

struct farm *farm_new(const struct farm_config *cfg)
{
    struct farm *f = xcalloc(1, sizeof *f);
    f->cfg = *cfg;
    if (f->cfg.slots < 1)
        f->cfg.slots = 1;
    if (f->cfg.slots > FARM_MAX_SLOTS)
        f->cfg.slots = FARM_MAX_SLOTS;
    f->stats.slots = f->cfg.slots;
    f->slot_lane = xcalloc(f->cfg.slots, sizeof *f->slot_lane);
    f->fifo_cap = 1 << 16;
    f->fifo = xmalloc(f->fifo_cap * sizeof *f->fifo);
    buf_init(&f->source_msg, 256);
    buf_init(&f->events, 0);
    buf_init(&f->source_json, 256);
    buf_init(&f->enc, 4096);
    buf_init(&f->doc, 4096);
    buf_init(&f->tmp, 1024);
    recwire_decoder_init(&f->dec);
    return f;
}

void farm_free(struct farm *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_lanes; i++) {
        struct lane *l = f->lanes[i];
        if (!l->exited && l->pid > 0)
            kill(l->pid, SIGKILL);
        munmap(l->mem, ring_bytes(f->cfg.in_ring) + ring_bytes(f->cfg.out_ring));
        close(l->memfd);
        close(l->efd_worker);
        close(l->efd_reader);
        for (size_t k = 0; k < l->n_ids; k++)
            free(l->ids[k].map);
        buf_fini(&l->source_msg);
        buf_fini(&l->events);
        buf_fini(&l->source_json);
        free(l->ids);
        free(l);
    }
    free(f->lanes);
    free(f->slot_lane);
    free(f->fifo);
    for (size_t i = 0; i < f->n_gdefs; i++)
        free(f->gdefs[i].path);
    free(f->gdefs);
    free(f->gindex);
    free(f->ckeys);
    free(f->cvals);
    free(f->ids);
    free(f->defs);
    free(f->counters);
    buf_fini(&f->source_msg);
    buf_fini(&f->events);
    buf_fini(&f->source_json);
    buf_fini(&f->enc);
    buf_fini(&f->doc);
    buf_fini(&f->tmp);
    recwire_decoder_fini(&f->dec);
    free(f);
}

void farm_begin_source(struct farm *f, const struct cap_source *src)
{
    for (unsigned s = 0; s < f->cfg.slots; s++) {
        if (f->slot_lane[s])
            end_lane(f, f->lanes[f->slot_lane[s] - 1]);
        f->slot_lane[s] = 0;
    }
    f->source_seq++;
    /* counters start again per file */
    memset(&f->next_counter[f->source_seq % 64], 0, sizeof f->next_counter[0]);
    f->next_counter[f->source_seq % 64].source = f->source_seq;
    buf_reset(&f->source_msg);
    struct wire_source s = { src->live, src->file_type_subtype, (int64_t)src->mtime,
                             (uint32_t)strlen(src->name), 0 };
    buf_add(&f->source_msg, &s, sizeof s);
    buf_add(&f->source_msg, src->name, s.name_len);
    buf_cstr(&f->source_msg);
    buf_reset(&f->events);
    struct doc_source ds = { src->live ? "pcap_live" : "pcap_file", src->live ? NULL : src->name,
                             src->mtime, src->live ? src->name : NULL };
    envelope_source(&f->source_json, &ds);
    f->source_live = src->live;
    f->has_prev = false;
}

void farm_event(struct farm *f, const struct cap_event *e)
{
    struct wire_event w = { e->type, e->u32, { 0 }, 0, 0, (uint32_t)e->len, 0 };
    memcpy(w.addr6, e->addr6, 16);
    w.name_len = e->name ? (uint32_t)strlen(e->name) + 1 : 0;
    w.description_len = e->description ? (uint32_t)strlen(e->description) + 1 : 0;
    uint32_t len = (uint32_t)(sizeof w + w.name_len + w.description_len + w.data_len);
    size_t at = f->events.len;
    buf_add(&f->events, &len, 4);
    buf_add(&f->events, &w, sizeof w);
    if (w.name_len)
        buf_add(&f->events, e->name, w.name_len);
    if (w.description_len)
        buf_add(&f->events, e->description, w.description_len);
    if (w.data_len)
        buf_add(&f->events, e->data, w.data_len);
    /* to the workers already running (and their preamble, should one be started again);
     * later ones get it with theirs */
    for (unsigned s = 0; s < f->cfg.slots; s++) {
        if (!f->slot_lane[s])
            continue;
        struct lane *l = f->lanes[f->slot_lane[s] - 1];
        buf_add(&l->events, f->events.p + at, 4 + len);
        push(f, l, WIRE_EVENT, f->events.p + at + 4, len);
    }
}

int farm_packet(struct farm *f, const wtap_rec *rec, const uint8_t *data, uint32_t frame,
                uint64_t source_id, uint64_t packet_hash)
{
    if (f->error[0] || f->failed)
        return -1;
    unsigned slot = 0;
    if (f->cfg.slots > 1 && rec->rec_type == REC_TYPE_PACKET) {
        uint64_t h = flowhash(rec->rec_header.packet_header.pkt_encap, data,
                              rec->rec_header.packet_header.caplen);
        slot = (unsigned)(h % f->cfg.slots);
    }
    struct lane *l = lane_for_slot(f, slot);
    if (!l)
        return -1;
    struct wire_frame fr = { 0, frame, f->has_prev ? WIRE_HAS_PREV : 0,
                             (int64_t)f->prev_ts.secs, f->prev_ts.nsecs,
                             (int64_t)f->first_ts.secs, f->first_ts.nsecs };
    if (!f->has_prev) {
        f->first_ts = rec->ts;
        fr.first_secs = (int64_t)rec->ts.secs;
        fr.first_nsecs = rec->ts.nsecs;
    }
    f->prev_ts = rec->ts;
    f->has_prev = true;
    buf_reset(&f->enc);
    recwire_encode(&f->enc, &fr, rec, data);
    if (f->enc.len > ring_max_record(&l->in)) {
        log_warn("frame %u: %zu bytes, too large for a dissection worker's ring: left out",
                 frame, f->enc.len);
        f->stats.too_large++;
        return 0;
    }
    /* At most LANE_MAX_PENDING packets a worker has not answered yet: enough to keep it
     * busy, few enough that a stop signal is served (everything read is delivered) in a
     * moment rather than after the rings' worth of packets. */
    while (l->pending >= LANE_MAX_PENDING) {
        if (deliver_ready(f) != 0)
            return -1;
        service(f);
        if (f->error[0])
            return -1;
        if (l->pending >= LANE_MAX_PENDING)
            wait_some(f, NULL, 0);
    }
    if (f->fifo_n == f->fifo_cap) {
        /* grow the circular queue, keeping its order */
        struct fifo_entry *n = xmalloc(f->fifo_cap * 2 * sizeof *n);
        for (size_t i = 0; i < f->fifo_n; i++)
            n[i] = f->fifo[(f->fifo_head + i) % f->fifo_cap];
        free(f->fifo);
        f->fifo = n;
        f->fifo_head = 0;
        f->fifo_cap *= 2;
    }
    if (push(f, l, WIRE_PACKET, f->enc.p, f->enc.len) != 0)
        return -1;
    f->fifo[(f->fifo_head + f->fifo_n++) % f->fifo_cap] = (struct fifo_entry){
        l->id, rec->ts.nsecs, (int64_t)rec->ts.secs, source_id, packet_hash };
    l->pending++;
    l->packets++;
    f->stats.slot_packets[slot]++;
    if (f->cfg.lane_packets && l->packets >= f->cfg.lane_packets) {
        /* flat memory in long captures: this worker finishes, the next packet of its slot
         * starts a fresh one */
        end_lane(f, l);
        f->slot_lane[slot] = 0;
    }
    if (deliver_ready(f) != 0)
        return -1;
    /* The zygote's reports (a worker died) are also read whenever we wait. */
    if ((++f->packets & 255) == 0)
        service(f);
    return f->error[0] ? -1 : 0;
}

int farm_flush(struct farm *f, bool wait)
{
    wake_all(f); /* the workers may be waiting for packets held back for a batch */
    for (;;) {
        if (deliver_ready(f) != 0)
            return -1;
        service(f);
        if (f->error[0])
            return -1;
        if (!wait || !f->fifo_n)
            break;
        wait_some(f, NULL, 0);
    }
    if (wait) {
        /* every worker of the source finishes: what is left is nothing */
        for (unsigned s = 0; s < f->cfg.slots; s++) {
            if (f->slot_lane[s])
                end_lane(f, f->lanes[f->slot_lane[s] - 1]);
            f->slot_lane[s] = 0;
        }
    }
    return 0;
}

const struct farm_stats *farm_stats(const struct farm *f) { return &f->stats; }

const char *farm_error(const struct farm *f) { return f->failed ? NULL : f->error; }
