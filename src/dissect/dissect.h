/* dissect: libwireshark (epan) set-up and per-packet dissection. All of Wireshark's
 * global state lives behind this interface. */
#ifndef ESPCAP_DISSECT_H
#define ESPCAP_DISSECT_H

#include <stdbool.h>
#include <stdint.h>

#include <wireshark.h>
#include <epan/proto.h>
#include <wiretap/wtap.h>

/* Initialises wiretap and epan once per process (all dissectors, plugins, prefs).
 * Returns false with a message in err on failure. */
bool dis_global_init(char *err, size_t errlen);
void dis_global_cleanup(void);

/* "4.0.17": the libwireshark this process dissects with. */
const char *dis_wireshark_version(void);

/* Registry access for the document builder (read-only). */
typedef void (*dis_field_cb)(void *ctx, int id, const char *abbrev);
void dis_for_each_field(dis_field_cb cb, void *ctx);
int dis_proto_id(const char *filter_name);     /* -1 if unknown */
int dis_field_id(const char *abbrev);          /* -1 if unknown */

/* A dissection context: one epan session at a time, reused buffers. */
struct dis;

struct dis *dis_new(void);
void dis_free(struct dis *d);

/* Starts a new session (frame numbers from 1, fresh conversation and reassembly
 * state). Called per capture file, and periodically in long live captures. */
void dis_begin_session(struct dis *d, int file_type_subtype);

/* Dissects one record; data must stay valid until dis_end_packet. Returns the
 * protocol tree (never NULL) and sets *frame_number. */
proto_tree *dis_packet(struct dis *d, wtap_rec *rec, const uint8_t *data, uint32_t *frame_number);

/* Releases the per-packet state of the last dis_packet. */
void dis_end_packet(struct dis *d);

#endif
