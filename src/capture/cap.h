/* cap: where packets come from. A source is opened, read packet by packet, closed. */
#ifndef ESPCAP_CAP_H
#define ESPCAP_CAP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <wireshark.h>
#include <wiretap/wtap.h>

enum cap_status {
    CAP_PACKET = 0, /* *pkt holds a record */
    CAP_END,        /* no more records */
    CAP_ERROR,      /* see cap_error(); records before it were good */
};

/* One record. rec and data belong to the source and stay valid until the next call. */
struct cap_packet {
    wtap_rec *rec;
    const uint8_t *data;
};

struct cap_source;

struct cap_source_ops {
    enum cap_status (*next)(struct cap_source *src, struct cap_packet *pkt);
    void (*close)(struct cap_source *src);
};

/* Every source starts with this header; the body is the source's own. */
struct cap_source {
    const struct cap_source_ops *ops;
    const char *name;        /* file path or interface, for messages and documents */
    bool live;               /* an interface, not a file */
    int file_type_subtype;   /* wiretap's, handed to the dissectors */
    time_t mtime;            /* file sources: modification time */
    char error[512];         /* with CAP_ERROR, or a failed open */
    bool cut_short;          /* the error was a record cut off by the end of file */
};

static inline enum cap_status cap_next(struct cap_source *s, struct cap_packet *p)
{
    return s->ops->next(s, p);
}

void cap_close(struct cap_source *src); /* NULL is fine */

/* Opens a capture file of any format wiretap reads, told by content. Returns NULL and
 * writes the reason to err when the file cannot be opened or is not a capture. */
struct cap_source *cap_file_open(const char *path, char *err, size_t errlen);

/* The regular files of a directory, in byte order of their names ("DIR/name").
 * Returns the count, or -1 with the reason in err. *paths is owned by the caller:
 * free with cap_dir_free. */
int cap_dir_list(const char *dir, char ***paths, char *err, size_t errlen);
void cap_dir_free(char **paths, int n);

#endif
