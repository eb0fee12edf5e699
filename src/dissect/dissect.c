/* dissect: drives epan single-pass, as tshark does without -2. */
#include "dissect.h"
#include "dis_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <epan/epan.h>
#include <epan/epan_dissect.h>
#include <epan/frame_data.h>
#include <epan/packet.h>
#include <epan/tvbuff.h>

#include "../util/buf.h"

struct dis_iface {
    char *name, *description;
};

/* epan's packet provider: what the dissectors may ask about other frames and the capture.
 * Single-pass, we know the previous frame and the reference frame (as tshark). */
struct packet_provider_data {
    const frame_data *ref;
    const frame_data *prev_dis;
    const frame_data *prev_cap;
    struct dis_iface *ifaces;
    size_t n_ifaces;
};

struct dis {
    struct packet_provider_data prov;
    epan_t *session;
    epan_dissect_t *edt;
    int file_type_subtype;
    uint32_t cum_bytes;
    nstime_t elapsed;
    frame_data fd;         /* current frame */
    frame_data prev_dis;   /* the last frame the display filter passed (with -Y) */
    bool has_prev_dis;
    frame_data prev_cap;   /* stand-ins for the capture's previous and first frames */
    frame_data ref_frame;
    bool in_packet, passed;
};

static const nstime_t *get_frame_ts(struct packet_provider_data *prov, guint32 num)
{
    if (prov->ref && prov->ref->num == num)
        return &prov->ref->abs_ts;
    if (prov->prev_dis && prov->prev_dis->num == num)
        return &prov->prev_dis->abs_ts;
    if (prov->prev_cap && prov->prev_cap->num == num)
        return &prov->prev_cap->abs_ts;
    return NULL;
}

/* As tshark: the interface's name, else its description, else "unknown". */
static const char *get_interface_name(struct packet_provider_data *prov, guint32 id)
{
    if (id < prov->n_ifaces) {
        struct dis_iface *i = &prov->ifaces[id];
        if (i->name)
            return i->name;
        if (i->description)
            return i->description;
    }
    return "unknown";
}

static const char *get_interface_description(struct packet_provider_data *prov, guint32 id)
{
    return id < prov->n_ifaces ? prov->ifaces[id].description : NULL;
}

static const struct packet_provider_funcs provider_funcs = {
    get_frame_ts, get_interface_name, get_interface_description, NULL,
};

struct dis *dis_new(void)
{
    struct dis *d = xcalloc(1, sizeof *d);
    return d;
}

static void forget_interfaces(struct dis *d)
{
    for (size_t i = 0; i < d->prov.n_ifaces; i++) {
        free(d->prov.ifaces[i].name);
        free(d->prov.ifaces[i].description);
    }
    free(d->prov.ifaces);
    d->prov.ifaces = NULL;
    d->prov.n_ifaces = 0;
}

static void end_session(struct dis *d)
{
    if (d->in_packet)
        dis_end_packet(d);
    if (d->edt)
        epan_dissect_free(d->edt);
    if (d->session)
        epan_free(d->session);
    d->edt = NULL;
    d->session = NULL;
}

void dis_free(struct dis *d)
{
    if (!d)
        return;
    end_session(d);
    forget_interfaces(d);
    free(d);
}

void dis_begin_session(struct dis *d, int file_type_subtype)
{
    end_session(d);
    forget_interfaces(d);
    memset(&d->prov, 0, sizeof d->prov);
    d->session = epan_new(&d->prov, &provider_funcs);
    /* A tree with every item, hidden ones included: the document has every field. */
    d->edt = epan_dissect_new(d->session, TRUE, TRUE);
    d->file_type_subtype = file_type_subtype;
    d->cum_bytes = 0;
    d->has_prev_dis = false;
    nstime_set_zero(&d->elapsed);
}

void dis_set_file_type(struct dis *d, int file_type_subtype)
{
    d->file_type_subtype = file_type_subtype;
}

void dis_set_interface(struct dis *d, uint32_t id, const char *name, const char *description)
{
    if (id >= 1u << 20)
        return; /* a damaged file: no table that large */
    if (id >= d->prov.n_ifaces) {
        d->prov.ifaces = xrealloc(d->prov.ifaces, (id + 1) * sizeof *d->prov.ifaces);
        memset(d->prov.ifaces + d->prov.n_ifaces, 0,
               (id + 1 - d->prov.n_ifaces) * sizeof *d->prov.ifaces);
        d->prov.n_ifaces = id + 1;
    }
    struct dis_iface *i = &d->prov.ifaces[id];
    free(i->name);
    free(i->description);
    i->name = name ? xstrdup(name) : NULL;
    i->description = description ? xstrdup(description) : NULL;
}

proto_tree *dis_packet(struct dis *d, wtap_rec *rec, const uint8_t *data,
                       const struct dis_frame *fr, bool *passed)
{
    /* tshark's process_packet_single_pass: the frame's lengths come from the record
     * (frame_data_init), and the packet is handed on with its captured length as its
     * length and its length on the wire as its reported length, so that a packet cut by
     * a snap length is seen as cut ("_ws.short"), not as malformed. */
    frame_data_init(&d->fd, fr->number, rec, 0, d->cum_bytes);
    if (dis_dfcode)
        epan_dissect_prime_with_dfilter(d->edt, dis_dfcode);
    prime_epan_dissect_with_postdissector_wanted_hfids(d->edt);
    /* The capture's frames around this one, as tshark's single pass knows them: the first
     * (the time reference), the previous captured, the previous displayed (without -Y,
     * every frame is displayed). The packet provider answers their times. */
    memset(&d->prev_cap, 0, sizeof d->prev_cap);
    d->prev_cap.num = fr->number - 1;
    d->prev_cap.abs_ts = fr->prev_ts;
    d->prov.prev_cap = fr->has_prev ? &d->prev_cap : NULL;
    if (fr->number > 1) {
        memset(&d->ref_frame, 0, sizeof d->ref_frame);
        d->ref_frame.num = 1;
        d->ref_frame.abs_ts = fr->first_ts;
        d->prov.ref = &d->ref_frame;
    } else {
        d->prov.ref = NULL;
    }
    d->prov.prev_dis = dis_dfcode ? (d->has_prev_dis ? &d->prev_dis : NULL) : d->prov.prev_cap;
    frame_data_set_before_dissect(&d->fd, &d->elapsed, &d->prov.ref, d->prov.prev_dis);
    if (d->prov.ref == &d->fd) {
        d->ref_frame = d->fd;
        d->prov.ref = &d->ref_frame;
    }
    gint reported = d->fd.pkt_len > G_MAXINT ? G_MAXINT : (gint)d->fd.pkt_len;
    tvbuff_t *tvb = tvb_new_real_data(data, d->fd.cap_len, reported);
    epan_dissect_run(d->edt, d->file_type_subtype, rec, tvb, &d->fd, NULL);
    d->passed = dis_dfcode ? dfilter_apply_edt(dis_dfcode, d->edt) : true;
    d->in_packet = true;
    *passed = d->passed;
    return d->edt->tree;
}

void dis_end_packet(struct dis *d)
{
    if (!d->in_packet)
        return;
    /* As tshark: a packet the display filter refuses is not "displayed": the next
     * packet's time delta from the previous displayed one skips it. */
    if (d->passed) {
        frame_data_set_after_dissect(&d->fd, &d->cum_bytes);
        d->prev_dis = d->fd;
        d->has_prev_dis = true;
    }
    epan_dissect_reset(d->edt);
    frame_data_destroy(&d->fd);
    d->in_packet = false;
}
