/* cap: where packets come from. A source (a file, an interface) is opened, read packet by
 * packet, closed; a feed is the list of sources of one run (one file, a directory's files,
 * a watched directory's files as they appear, one interface), handed out opened. */
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
    /* Bytes of the file read so far (compressed bytes for a compressed file), for
     * progress; NULL for sources that are not files. */
    uint64_t (*bytes_read)(struct cap_source *src);
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

static inline uint64_t cap_bytes_read(struct cap_source *s)
{
    return s->ops->bytes_read ? s->ops->bytes_read(s) : 0;
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

/* "libpcap version 1.10.3 (...)". */
const char *cap_live_lib_version(void);

/* ---- feeds ---- */

struct cap_feed;

enum cap_feed_status {
    CAP_FEED_SOURCE,  /* item->src is open: read it, close it, then cap_feed_finished */
    CAP_FEED_FAILED,  /* item->name could not be opened: item->error says why */
    CAP_FEED_IDLE,    /* nothing to read now (a watched directory): ask again soon */
    CAP_FEED_END,     /* every source was handed out */
};

struct cap_feed_item {
    struct cap_source *src;     /* with CAP_FEED_SOURCE; the caller closes it */
    const char *name;           /* path or interface; valid until the next call */
    uint64_t size;              /* files: bytes when opened, for progress */
    char error[512];            /* with CAP_FEED_FAILED */
    bool fatal;                 /* with CAP_FEED_FAILED: the run cannot go on (an interface) */
    bool whole_feed;            /* with CAP_FEED_FAILED: the directory itself, not one file */
    enum cap_open_error why;    /* with fatal */
    uint64_t serial;            /* for cap_feed_finished */
};

/* A directory and what to do with it. */
struct cap_dir_config {
    const char *dir;            /* as given: it starts every path handed out */
    bool recursive;
    bool watch;                 /* keep running: files that appear, once closed */
    const char *state_file;     /* remember which files are done; NULL: do not */
    double settle;              /* watch: quiet time for files not provably closed */
    char *const *ignore;        /* glob patterns of names to skip */
    size_t n_ignore;
};

struct cap_feed *cap_feed_file(const char *path);
struct cap_feed *cap_feed_live(const struct cap_live_config *cfg);
/* NULL with the reason in err when the state file cannot be used (unreadable, belongs to
 * another directory, cannot be written: *bad_state set) or inotify cannot be had. A
 * directory that cannot be read is reported by cap_feed_next. */
struct cap_feed *cap_feed_dir(const struct cap_dir_config *cfg, char *err, size_t errlen,
                              bool *bad_state);
void cap_feed_free(struct cap_feed *f); /* writes the state file one last time; NULL is fine */

enum cap_feed_status cap_feed_next(struct cap_feed *f, struct cap_feed_item *item);

/* The item was read (whole: every record, or not: cut short, failed to open); it becomes
 * done once its documents are settled (cap_feed_settled). Not called for a file whose
 * reading was stopped: it is read again next time. */
void cap_feed_finished(struct cap_feed *f, const struct cap_feed_item *item, bool whole);
/* Everything finished so far is settled (the sink holds nothing pending): remember it. */
void cap_feed_settled(struct cap_feed *f);
/* Time-based work while a source is read: the state file is written within a second of
 * a file becoming done, even while a long file is being read. */
void cap_feed_tick(struct cap_feed *f);
/* Whether done files are remembered (a state file), so settling each one matters. */
bool cap_feed_keeps_state(const struct cap_feed *f);
/* Known so far, for progress: sources, and bytes of file sources. */
void cap_feed_totals(const struct cap_feed *f, uint64_t *sources, uint64_t *bytes);
/* Whether the feed goes on until stopped (a watched directory). */
bool cap_feed_endless(const struct cap_feed *f);

#endif
