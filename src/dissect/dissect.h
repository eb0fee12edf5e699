/* dissect: libwireshark (epan) set-up and per-packet dissection. All of Wireshark's
 * global state lives behind this interface. */
#ifndef ESPCAP_DISSECT_H
#define ESPCAP_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wireshark.h>
#include <epan/proto.h>
#include <wiretap/wtap.h>

/* What a Wireshark user tells tshark about dissection, told to espcap the same way. The
 * lists are in command-line order; strings are borrowed for the call. */
struct dis_config {
    const char *argv0;                 /* for configuration_init, as tshark */
    const char *profile;               /* -C: a configuration profile, or NULL */
    const char *const *prefs;          /* -o NAME:VALUE */
    size_t n_prefs;
    const char *const *decode_as;      /* -d LAYER==SELECTOR,PROTOCOL */
    size_t n_decode_as;
    const char *const *enable_protocols, *const *disable_protocols;
    size_t n_enable_protocols, n_disable_protocols;
    const char *const *enable_heuristics, *const *disable_heuristics;
    size_t n_enable_heuristics, n_disable_heuristics;
    const char *display_filter;        /* -Y, or NULL */
};

enum dis_init_result {
    DIS_INIT_OK = 0,
    DIS_INIT_USAGE,   /* an option's value was refused: err names it (exit status 2) */
    DIS_INIT_FATAL,   /* libwireshark could not start (exit status 3) */
};

/* Initialises wiretap and epan once per process, exactly in tshark's order (see
 * docs/INTERNALS.md): configuration, profile, dissectors, the user's settings, then the
 * command line's preferences, decode-as rules, protocols and display filter. */
enum dis_init_result dis_global_init(const struct dis_config *cfg, char *err, size_t errlen);

/* The reader's start-up: wiretap only (reading capture files), no dissectors: the
 * dissection workers' zygote starts those (src/worker/zygote.h). */
void dis_reader_init(const char *argv0);

/* "4.0.17": the libwireshark this process dissects with. */
const char *dis_wireshark_version(void);

/* Registry access for the document builder (read-only). */
typedef void (*dis_field_cb)(void *ctx, int id, const char *abbrev);
void dis_for_each_field(dis_field_cb cb, void *ctx);
int dis_proto_id(const char *filter_name);     /* -1 if unknown */
int dis_field_id(const char *abbrev);          /* -1 if unknown */

/* Things a capture file tells the dissectors besides its packets (pcapng blocks), handed
 * on in file order before the packet that follows them. */
void dis_add_secrets(uint32_t secrets_type, const void *data, size_t len); /* DSB */
void dis_add_ipv4_name(uint32_t addr_be, const char *name);                 /* NRB */
void dis_add_ipv6_name(const uint8_t addr[16], const char *name);          /* NRB */

/* A dissection context: one epan session at a time, reused buffers. */
struct dis;

struct dis *dis_new(void);
void dis_free(struct dis *d);

/* Starts a new session (fresh conversation and reassembly state; the interfaces of the
 * last source are forgotten). Called per capture file, and periodically in long live
 * captures. */
void dis_begin_session(struct dis *d, int file_type_subtype);

/* The name and description of a capture interface (pcapng IDB), for frame.interface_*.
 * Strings are copied. */
void dis_set_interface(struct dis *d, uint32_t id, const char *name, const char *description);

/* Where a packet stands in its capture. A worker dissects only its share of a capture's
 * packets, yet frame numbers and times are the capture's: frame.time_delta is the delta to
 * the capture's previous packet, frame.time_relative to its first. */
struct dis_frame {
    uint32_t number;       /* the capture's frame number, from 1, growing */
    bool has_prev;         /* prev_ts is set (number > 1) */
    nstime_t prev_ts;      /* the time of frame number - 1 */
    nstime_t first_ts;     /* the time of frame 1 */
};

/* The file type handed to the dissectors (wiretap's file_type_subtype). */
void dis_set_file_type(struct dis *d, int file_type_subtype);

/* Dissects one record; data must stay valid until dis_end_packet. Returns the protocol
 * tree (never NULL). *passed says whether the display filter (-Y) accepts the packet
 * (true without a filter). */
proto_tree *dis_packet(struct dis *d, wtap_rec *rec, const uint8_t *data,
                       const struct dis_frame *fr, bool *passed);

/* Releases the per-packet state of the last dis_packet. */
void dis_end_packet(struct dis *d);

#endif
