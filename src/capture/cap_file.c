/* cap_file: capture files through wiretap (pcap, pcapng, gzip'd, and the rest). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/buf.h"
#include "cap.h"

struct cap_file {
    struct cap_source base;
    wtap *wth;
    wtap_rec rec;
    Buffer data;
    char *path;
    uint64_t counted; /* records read */
};

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
    if (wtap_read(f->wth, &f->rec, &f->data, &err, &info, &offset)) {
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
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
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
    f->base.mtime = st.st_mtime;
    return &f->base;
}

uint64_t cap_hash(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t cap_packet_hash(const wtap_rec *rec, const uint8_t *data)
{
    size_t n = rec->rec_type == REC_TYPE_PACKET ? rec->rec_header.packet_header.caplen : 0;
    uint64_t h = mix((uint64_t)rec->ts.secs * 1000000007ull + (uint64_t)rec->ts.nsecs) ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        h = (h ^ mix(w)) * 0x9e3779b97f4a7c15ull;
    }
    uint64_t w = 0;
    memcpy(&w, data + i, n - i);
    return mix(h ^ mix(w ^ (uint64_t)(n - i)));
}

void cap_close(struct cap_source *src)
{
    if (src)
        src->ops->close(src);
}
