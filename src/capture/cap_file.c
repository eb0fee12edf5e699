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
        return CAP_PACKET;
    }
    if (err == 0)
        return CAP_END;
    describe(src->error, sizeof src->error, err, info);
    src->cut_short = err == WTAP_ERR_SHORT_READ;
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

static const struct cap_source_ops file_ops = { file_next, file_close };

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

void cap_close(struct cap_source *src)
{
    if (src)
        src->ops->close(src);
}
