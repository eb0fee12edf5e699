/* cap: where packets come from. A source is opened, read packet by packet, closed. */
#ifndef ESPCAP_CAP_H
#define ESPCAP_CAP_H

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include <wireshark.h>
#include <wiretap/wtap.h>

enum cap_status {
    CAP_PACKET = 0, /* *pkt holds a record */
    CAP_END,        /* no more records */
    CAP_ERROR,      /* see src->error; records before it were good */
    CAP_IDLE,       /* live: no packet for a moment; ask again */
};

/* One record. rec and data belong to the source and stay valid until the next call. */
struct cap_packet {
    wtap_rec *rec;
    const uint8_t *data;
};

/* What a capture file says besides its packets, in file order: pcapng decryption secrets
 * (DSB), name resolution (NRB) and interface descriptions (IDB). The dissectors need them
 * before the packets that follow. */
enum cap_event_type { CAP_EV_SECRETS, CAP_EV_IPV4_NAME, CAP_EV_IPV6_NAME, CAP_EV_INTERFACE };

struct cap_event {
    enum cap_event_type type;
    uint32_t u32;             /* secrets type, IPv4 address (network order), interface id */
    uint8_t addr6[16];        /* IPv6 address */
    const char *name;         /* NRB name, interface name (or NULL) */
    const char *description;  /* interface description (or NULL) */
    const uint8_t *data;      /* secrets */
    size_t len;
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
    struct cap_event *events; /* since the previous record, before the current one */
    size_t n_events, events_cap;
    uint64_t id;             /* identifies the capture, set by the first record: files hash
                              * their base name and first record (so the same file read from
                              * another folder, or grown since, has the same id); live
                              * sources hash the interface and start time */
};

static inline enum cap_status cap_next(struct cap_source *s, struct cap_packet *p)
{
    return s->ops->next(s, p);
}

void cap_close(struct cap_source *src); /* NULL is fine */

/* The events that came before the record cap_next just returned (or before the end), in
 * file order. Valid until the next cap_next. */
static inline size_t cap_events(const struct cap_source *s, const struct cap_event **ev)
{
    *ev = s->events;
    return s->n_events;
}

/* A fast 64-bit hash of one record (time stamp, type, bytes): with the source id and
 * frame number it makes a document _id that differs whenever the packet differs. */
uint64_t cap_packet_hash(const wtap_rec *rec, const uint8_t *data);

/* FNV-1a, 64 bits: for source ids. */
uint64_t cap_hash(uint64_t h, const void *p, size_t n);
#define CAP_HASH_INIT 1469598103934665603ull

/* Opens a capture file of any format wiretap reads, told by content. Returns NULL and
 * writes the reason to err when the file cannot be opened or is not a capture. */
struct cap_source *cap_file_open(const char *path, char *err, size_t errlen);

/* The regular files of a directory, in byte order of their names ("DIR/name").
 * Returns the count, or -1 with the reason in err. *paths is owned by the caller:
 * free with cap_dir_free. */
int cap_dir_list(const char *dir, char ***paths, char *err, size_t errlen);
void cap_dir_free(char **paths, int n);

/* Live capture. */
struct cap_live_config {
    const char *interface;
    const char *bpf;              /* capture filter, or NULL */
    uint64_t count;               /* stop after this many packets; 0 = until stopped */
    bool promiscuous;
    volatile sig_atomic_t *stop;  /* set by a signal: hand on what is buffered, then end */
};

enum cap_open_error {
    CAP_OPEN_OTHER, CAP_OPEN_PERMISSION, CAP_OPEN_NO_DEVICE, CAP_OPEN_DOWN, CAP_OPEN_BAD_FILTER,
};

struct cap_live_stats {
    uint64_t received, dropped_kernel, dropped_interface;
};

struct cap_source *cap_live_open(const struct cap_live_config *cfg, char *err, size_t errlen,
                                 enum cap_open_error *why);
bool cap_live_stats(struct cap_source *src, struct cap_live_stats *out);

/* Prints the interfaces that can be captured on, like tshark -D. Returns how many, or -1. */
int cap_live_list(FILE *out, char *err, size_t errlen);

#endif
