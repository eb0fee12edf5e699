/* cap_file: capture files through wiretap (pcap, pcapng, gzip'd, and the rest). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/hash.h"
#include "cap.h"

struct cap_file {
    struct cap_source base;
    wtap *wth;
    wtap_rec rec;
    Buffer data;
    char *path;
    uint64_t counted; /* records read */
    struct buf event_bytes; /* names and secrets of base.events; offsets until handed on */
    bool events_fresh;      /* events gathered at open, not yet handed on */
    uint32_t n_idb;         /* interface descriptions seen */
};

/* wiretap's callbacks carry no context: the file being read now. */
static struct cap_file *reading;

static struct cap_event *new_event(struct cap_file *f, enum cap_event_type type)
{
    struct cap_source *s = &f->base;
    if (s->n_events == s->events_cap) {
        s->events_cap = s->events_cap ? s->events_cap * 2 : 8;
        s->events = xrealloc(s->events, s->events_cap * sizeof *s->events);
    }
    struct cap_event *e = &s->events[s->n_events++];
    memset(e, 0, sizeof *e);
    e->type = type;
    return e;
}

/* Copies bytes (a string with its NUL) into the event store; an offset until fixed. */
static const char *store(struct cap_file *f, const void *p, size_t n)
{
    if (!p)
        return NULL;
    size_t off = f->event_bytes.len;
    buf_add(&f->event_bytes, p, n);
    return (const char *)(uintptr_t)(off + 1); /* + 1: never NULL */
}

static const char *fix(struct cap_file *f, const char *p)
{
    return p ? f->event_bytes.p + ((uintptr_t)p - 1) : NULL;
}

static void on_secrets(guint32 type, const void *data, guint size)
{
    if (!reading)
        return;
    struct cap_event *e = new_event(reading, CAP_EV_SECRETS);
    e->u32 = type;
    e->data = (const uint8_t *)store(reading, data, size);
    e->len = size;
}

static void on_ipv4(const guint addr, const gchar *name)
{
    if (!reading)
        return;
    struct cap_event *e = new_event(reading, CAP_EV_IPV4_NAME);
    e->u32 = addr;
    e->name = store(reading, name, strlen(name) + 1);
}

static void on_ipv6(const void *addr, const gchar *name)
{
    if (!reading)
        return;
    struct cap_event *e = new_event(reading, CAP_EV_IPV6_NAME);
    memcpy(e->addr6, addr, 16);
    e->name = store(reading, name, strlen(name) + 1);
}

/* Interface descriptions read since the last call, in order: their ids count from 0. */
static void take_interfaces(struct cap_file *f)
{
    wtap_block_t idb;
    while ((idb = wtap_get_next_interface_description(f->wth))) {
        struct cap_event *e = new_event(f, CAP_EV_INTERFACE);
        char *v;
        e->u32 = f->n_idb++;
        if (wtap_block_get_string_option_value(idb, OPT_IDB_NAME, &v) == WTAP_OPTTYPE_SUCCESS)
            e->name = store(f, v, strlen(v) + 1);
        if (wtap_block_get_string_option_value(idb, OPT_IDB_DESCRIPTION, &v) ==
            WTAP_OPTTYPE_SUCCESS)
            e->description = store(f, v, strlen(v) + 1);
    }
}

/* Makes the events gathered so far readable (pointers instead of offsets). */
static void seal_events(struct cap_file *f)
{
    for (size_t i = 0; i < f->base.n_events; i++) {
        struct cap_event *e = &f->base.events[i];
        e->name = fix(f, e->name);
        e->description = fix(f, e->description);
        e->data = (const uint8_t *)fix(f, (const char *)e->data);
    }
}

static void describe(char *out, size_t outlen, int err, const char *info)
{
    const char *what;
    switch (err) {
    case WTAP_ERR_FILE_UNKNOWN_FORMAT:
        what = "not a capture file in a format Wireshark reads";
        break;
    case WTAP_ERR_UNSUPPORTED:
        what = "a capture file Wireshark cannot read (unsupported link type or feature)";
        break;
    case WTAP_ERR_ENCAP_PER_PACKET_UNSUPPORTED:
        what = "a capture with a link type Wireshark cannot read";
        break;
    case WTAP_ERR_SHORT_READ:
        what = "cut short in the middle of a packet";
        break;
    case WTAP_ERR_BAD_FILE:
        what = "the file is damaged or corrupt";
        break;
    case WTAP_ERR_DECOMPRESS:
        what = "the compressed file is corrupt";
        break;
    default:
        what = wtap_strerror(err);
        break;
    }
    snprintf(out, outlen, "%s%s%s", what, info ? " (" : "", info ? info : "");
    if (info) {
        size_t n = strlen(out);
        if (n + 1 < outlen) {
            out[n] = ')';
            out[n + 1] = '\0';
        }
    }
}

static enum cap_status file_next(struct cap_source *src, struct cap_packet *pkt)
{
    struct cap_file *f = (struct cap_file *)src;
    int err = 0;
    gchar *info = NULL;
    gint64 offset;
    wtap_rec_reset(&f->rec);
    if (!f->events_fresh) {
        src->n_events = 0;
        buf_reset(&f->event_bytes);
    }
    f->events_fresh = false;
    reading = f;
    bool ok = wtap_read(f->wth, &f->rec, &f->data, &err, &info, &offset);
    reading = NULL;
    take_interfaces(f);
    seal_events(f);
    if (ok) {
        pkt->rec = &f->rec;
        pkt->data = ws_buffer_start_ptr(&f->data);
        if (!f->counted++) {
            const wtap_rec *r = &f->rec;
            const char *slash = strrchr(f->path, '/');
            const char *base = slash ? slash + 1 : f->path;
            uint64_t h = cap_hash(CAP_HASH_INIT, base, strlen(base) + 1);
            int64_t ts[2] = { (int64_t)r->ts.secs, r->ts.nsecs };
            h = cap_hash(h, ts, sizeof ts);
            h = cap_hash(h, &r->rec_type, sizeof r->rec_type);
            size_t n = r->rec_type == REC_TYPE_PACKET ? r->rec_header.packet_header.caplen : 0;
            h = cap_hash(h, pkt->data, n < 65536 ? n : 65536);
            src->id = h;
        }
        return CAP_PACKET;
    }
    if (err == 0)
        return CAP_END;
    describe(src->error, sizeof src->error, err, info);
    g_free(info);
    return CAP_ERROR;
}

static void file_close(struct cap_source *src)
{
    struct cap_file *f = (struct cap_file *)src;
    wtap_close(f->wth);
    free(src->events);
    buf_fini(&f->event_bytes);
    wtap_rec_cleanup(&f->rec);
    ws_buffer_free(&f->data);
    free(f->path);
    free(f);
}

static uint64_t file_bytes_read(struct cap_source *src)
{
    gint64 n = wtap_read_so_far(((struct cap_file *)src)->wth);
    return n > 0 ? (uint64_t)n : 0;
}

static const struct cap_source_ops file_ops = { file_next, file_close, file_bytes_read };

struct cap_source *cap_file_open(const char *path, char *err, size_t errlen)
{
    /* "-" is standard input (wiretap reads it as tshark -r - does, gzip-compressed too); a
     * FIFO is read as the stream it is. Both are read once, front to back. */
    bool std_in = strcmp(path, "-") == 0;
    struct stat st;
    if (std_in ? fstat(STDIN_FILENO, &st) != 0 : stat(path, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    if (std_in && isatty(STDIN_FILENO)) {
        snprintf(err, errlen, "standard input is a terminal, not a capture (pipe one in: "
                 "tcpdump -w - | espcap --file=-)");
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory (use --dir)");
        return NULL;
    }
    int werr = 0;
    gchar *info = NULL;
    wtap *wth = wtap_open_offline(path, WTAP_TYPE_AUTO, &werr, &info, FALSE);
    if (!wth) {
        if (werr > 0)
            snprintf(err, errlen, "%s", strerror(werr));
        else
            describe(err, errlen, werr, info);
        g_free(info);
        return NULL;
    }
    struct cap_file *f = xcalloc(1, sizeof *f);
    f->wth = wth;
    f->path = xstrdup(path);
    wtap_rec_init(&f->rec);
    ws_buffer_init(&f->data, 2048);
    f->base.ops = &file_ops;
    f->base.name = f->path;
    f->base.file_type_subtype = wtap_file_type_subtype(wth);
    f->base.mtime = std_in || S_ISFIFO(st.st_mode) ? time(NULL) : st.st_mtime;
    buf_init(&f->event_bytes, 256);
    /* As tshark's cf_open: secrets (also those read while opening), and names. */
    reading = f;
    wtap_set_cb_new_ipv4(wth, on_ipv4);
    wtap_set_cb_new_ipv6(wth, on_ipv6);
    wtap_set_cb_new_secrets(wth, on_secrets);
    reading = NULL;
    f->events_fresh = true;
    return &f->base;
}

uint64_t cap_hash(uint64_t h, const void *p, size_t n)
{
    return hash_fnv1a(h, p, n);
}

uint64_t cap_packet_hash(const wtap_rec *rec, const uint8_t *data)
{
    size_t n = rec->rec_type == REC_TYPE_PACKET ? rec->rec_header.packet_header.caplen : 0;
    uint64_t h = hash_mix64((uint64_t)rec->ts.secs * 1000000007ull + (uint64_t)rec->ts.nsecs) ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        h = (h ^ hash_mix64(w)) * 0x9e3779b97f4a7c15ull;
    }
    uint64_t w = 0;
    memcpy(&w, data + i, n - i);
    return hash_mix64(h ^ hash_mix64(w ^ (uint64_t)(n - i)));
}

void cap_close(struct cap_source *src)
{
    if (src)
        src->ops->close(src);
}
