/* cap_live: live capture from a network interface with libpcap. */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wiretap/pcap-encap.h>

#include "../util/buf.h"
#include "../util/log.h"
#include "cap.h"

#define LIVE_SNAPLEN 262144      /* whole packets, as tshark and tcpdump default */
#define LIVE_TIMEOUT_MS 100      /* the kernel hands packets over at least this often, and
                                  * next() comes back this often without a packet */
#define LIVE_BUFFER (64 << 20)   /* kernel ring: bursts survive a slow moment */

struct cap_live {
    struct cap_source base;
    pcap_t *p;
    wtap_rec rec;
    int encap;
    uint64_t count;      /* packets handed on */
    uint64_t max;        /* --count, 0 = no limit */
    volatile sig_atomic_t *stop;
    bool draining;       /* stop was asked: hand on what the kernel already holds */
    struct timespec drain_until; /* ... which it hands over within one block time-out */
    char *ifname;
};

static void fill_rec(struct cap_live *l, const struct pcap_pkthdr *h)
{
    wtap_rec *r = &l->rec;
    wtap_rec_reset(r);
    r->rec_type = REC_TYPE_PACKET;
    r->presence_flags = WTAP_HAS_TS | WTAP_HAS_CAP_LEN;
    r->ts.secs = h->ts.tv_sec;
    r->ts.nsecs = (int)h->ts.tv_usec; /* nanosecond precision was asked for */
    r->tsprec = WTAP_TSPREC_NSEC;
    r->rec_header.packet_header.caplen = h->caplen;
    r->rec_header.packet_header.len = h->len;
    r->rec_header.packet_header.pkt_encap = l->encap;
}

static enum cap_status live_next(struct cap_source *src, struct cap_packet *pkt)
{
    struct cap_live *l = (struct cap_live *)src;
    if (l->max && l->count >= l->max)
        return CAP_END;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        /* Non-blocking: a stop signal or a quiet interface never leaves us stuck inside
         * libpcap; the poll below does the waiting. */
        int rc = pcap_next_ex(l->p, &h, &data);
        if (rc == 1) {
            fill_rec(l, h);
            pkt->rec = &l->rec;
            pkt->data = data;
            l->count++;
            return CAP_PACKET;
        }
        if (rc == PCAP_ERROR_BREAK)
            return CAP_END;
        if (rc < 0) {
            snprintf(src->error, sizeof src->error, "capture failed: %s", pcap_geterr(l->p));
            return CAP_ERROR;
        }
        /* Nothing buffered now. After a stop, the kernel still holds the packets of the
         * block being filled until its time-out: wait that long, then end. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (*l->stop && !l->draining) {
            l->draining = true;
            l->drain_until = now;
            l->drain_until.tv_nsec += 3 * LIVE_TIMEOUT_MS * 1000000L;
            l->drain_until.tv_sec += l->drain_until.tv_nsec / 1000000000L;
            l->drain_until.tv_nsec %= 1000000000L;
        }
        int wait_ms = LIVE_TIMEOUT_MS;
        if (l->draining) {
            long left = (l->drain_until.tv_sec - now.tv_sec) * 1000 +
                        (l->drain_until.tv_nsec - now.tv_nsec) / 1000000;
            if (left <= 0)
                return CAP_END;
            wait_ms = (int)left;
        }
        struct pollfd pfd = { pcap_get_selectable_fd(l->p), POLLIN, 0 };
        int n = poll(&pfd, 1, wait_ms);
        if (n <= 0 && !l->draining) /* time-out, or a signal */
            return CAP_IDLE;
    }
}

static void live_close(struct cap_source *src)
{
    struct cap_live *l = (struct cap_live *)src;
    pcap_close(l->p);
    wtap_rec_cleanup(&l->rec);
    free(l->ifname);
    free(l);
}

static const struct cap_source_ops live_ops = { live_next, live_close, NULL };

const char *cap_live_lib_version(void) { return pcap_lib_version(); }

bool cap_live_stats(struct cap_source *src, struct cap_live_stats *out)
{
    struct cap_live *l = (struct cap_live *)src;
    struct pcap_stat ps;
    if (pcap_stats(l->p, &ps) != 0)
        return false;
    out->received = ps.ps_recv;
    out->dropped_kernel = ps.ps_drop;
    out->dropped_interface = ps.ps_ifdrop;
    return true;
}

struct cap_source *cap_live_open(const struct cap_live_config *cfg, char *err, size_t errlen,
                                 enum cap_open_error *why)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    *why = CAP_OPEN_OTHER;
    pcap_t *p = pcap_create(cfg->interface, ebuf);
    if (!p) {
        snprintf(err, errlen, "%s", ebuf);
        return NULL;
    }
    pcap_set_snaplen(p, LIVE_SNAPLEN);
    pcap_set_promisc(p, cfg->promiscuous ? 1 : 0);
    /* Not libpcap's immediate mode: on Linux it falls back to a ring of 64 KiB slots (a few
     * hundred packets); with TPACKET_V3 blocks and a 100 ms block time-out, a packet still
     * reaches espcap within 100 ms. */
    pcap_set_timeout(p, LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(p, LIVE_BUFFER);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(p);
    if (rc < 0) {
        const char *detail = pcap_geterr(p);
        switch (rc) {
        case PCAP_ERROR_PERM_DENIED:
            snprintf(err, errlen, "not allowed to capture on %s: run as root or give espcap the "
                     "CAP_NET_RAW and CAP_NET_ADMIN capabilities (%s)", cfg->interface, detail);
            *why = CAP_OPEN_PERMISSION;
            break;
        case PCAP_ERROR_NO_SUCH_DEVICE:
            snprintf(err, errlen, "no interface named %s (espcap --list-interfaces lists them)",
                     cfg->interface);
            *why = CAP_OPEN_NO_DEVICE;
            break;
        case PCAP_ERROR_IFACE_NOT_UP:
            snprintf(err, errlen, "interface %s is down (bring it up first: ip link set %s up)",
                     cfg->interface, cfg->interface);
            *why = CAP_OPEN_DOWN;
            break;
        default:
            snprintf(err, errlen, "cannot capture on %s: %s", cfg->interface,
                     *detail ? detail : pcap_statustostr(rc));
            break;
        }
        pcap_close(p);
        return NULL;
    }
    if (rc > 0)
        log_warn("%s: %s", cfg->interface, pcap_statustostr(rc));
    if (cfg->bpf && *cfg->bpf) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, cfg->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(err, errlen, "invalid capture filter \"%s\": %s", cfg->bpf, pcap_geterr(p));
            *why = CAP_OPEN_BAD_FILTER;
            pcap_close(p);
            return NULL;
        }
        int frc = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (frc != 0) {
            snprintf(err, errlen, "cannot set the capture filter \"%s\": %s", cfg->bpf,
                     pcap_geterr(p));
            *why = CAP_OPEN_BAD_FILTER;
            pcap_close(p);
            return NULL;
        }
    }
    if (pcap_setnonblock(p, 1, ebuf) != 0 || pcap_get_selectable_fd(p) < 0) {
        snprintf(err, errlen, "cannot capture on %s: %s", cfg->interface, ebuf);
        pcap_close(p);
        return NULL;
    }
    int encap = wtap_pcap_encap_to_wtap_encap(pcap_datalink(p));
    if (encap == WTAP_ENCAP_UNKNOWN) {
        snprintf(err, errlen, "%s: link type %s is not one Wireshark dissects", cfg->interface,
                 pcap_datalink_val_to_name(pcap_datalink(p)));
        pcap_close(p);
        return NULL;
    }
    struct cap_live *l = xcalloc(1, sizeof *l);
    l->p = p;
    l->encap = encap;
    l->max = cfg->count;
    l->stop = cfg->stop;
    l->ifname = xstrdup(cfg->interface);
    wtap_rec_init(&l->rec);
    l->base.ops = &live_ops;
    l->base.name = l->ifname;
    l->base.live = true;
    l->base.file_type_subtype = wtap_pcapng_file_type_subtype();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t h = cap_hash(CAP_HASH_INIT, cfg->interface, strlen(cfg->interface) + 1);
    h = cap_hash(h, &now, sizeof now);
    pid_t pid = getpid();
    l->base.id = cap_hash(h, &pid, sizeof pid);
    return &l->base;
}

int cap_live_list(FILE *out, char *err, size_t errlen)
{
    pcap_if_t *all;
    char ebuf[PCAP_ERRBUF_SIZE];
    if (pcap_findalldevs(&all, ebuf) != 0) {
        snprintf(err, errlen, "cannot list interfaces: %s", ebuf);
        return -1;
    }
    int n = 0;
    for (pcap_if_t *d = all; d; d = d->next) {
        n++;
        fprintf(out, "%d. %s", n, d->name);
        if (d->description)
            fprintf(out, " (%s)", d->description);
        else if (d->flags & PCAP_IF_LOOPBACK)
            fprintf(out, " (Loopback)");
        if (!(d->flags & PCAP_IF_UP))
            fprintf(out, " [down]");
        fputc('\n', out);
    }
    pcap_freealldevs(all);
    return n;
}
