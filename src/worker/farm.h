/* farm: the reader's side of the dissection workers. Packets go to a worker slot by a
 * symmetric flow hash (flowhash.h); each slot has a lane (a worker process with a ring to
 * it and a ring from it); documents come back and are handed on in packet order, with
 * their field ids made the run's and per-worker counters (tcp.stream, ...) renumbered in
 * capture order, so that any number of workers writes what one writes. A worker that dies
 * is replaced and the packet it was dissecting is tried once more; if that kills it too,
 * the packet gets a document of its own saying so. */
#ifndef ESPCAP_FARM_H
#define ESPCAP_FARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../capture/cap.h"
#include "../doc/docinfo.h"
#include "zygote.h"

#define FARM_MAX_SLOTS 64

struct farm_config {
    unsigned slots;              /* --workers: 1 .. FARM_MAX_SLOTS */
    struct zygote *zygote;       /* started and ready; borrowed */
    uint64_t in_ring, out_ring;  /* ring sizes (the zygote's) */
    uint64_t lane_packets;       /* live: a slot gets a fresh worker after this many
                                  * packets (flat memory); 0: never */
    /* Where documents go, in packet order: 0, or -1 to stop (fatal). */
    int (*deliver)(void *ctx, const char *doc, size_t len, const struct doc_info *info);
    void *ctx;
};

struct farm_stats {
    uint64_t documents;          /* delivered */
    uint64_t filtered;           /* left out by the display filter (-Y) */
    uint64_t crashed;            /* packets that killed a worker twice (error documents) */
    uint64_t retried;            /* packets that killed a worker once (dissected again) */
    uint64_t too_large;          /* documents too large for a ring (error documents) */
    uint64_t workers_started;
    unsigned slots;                        /* cfg.slots, as used */
    uint64_t slot_packets[FARM_MAX_SLOTS]; /* packets handed to each slot (the load's
                                            * spread over the workers) */
};

struct farm;

struct farm *farm_new(const struct farm_config *cfg);
void farm_free(struct farm *f);  /* NULL is fine */

/* A new source (a file, an interface): its packets go to fresh workers (a fresh dissection
 * session per file, as tshark -r per file). The previous source's workers finish. */
void farm_begin_source(struct farm *f, const struct cap_source *src);

/* What the capture said before the next packet (pcapng secrets, names, interfaces): to
 * every worker of the source, also those started later. */
void farm_event(struct farm *f, const struct cap_event *e);

/* Hands one packet on (frame numbers from 1 per source); delivers the documents that are
 * ready meanwhile, and waits when the worker is behind. 0, or -1 when a delivery failed or
 * the workers cannot go on (farm_error says why). */
int farm_packet(struct farm *f, const wtap_rec *rec, const uint8_t *data, uint32_t frame,
                uint64_t source_id, uint64_t packet_hash);

/* Delivers what is ready; with wait, every document of every packet handed on so far. */
int farm_flush(struct farm *f, bool wait);

const struct farm_stats *farm_stats(const struct farm *f);
const char *farm_error(const struct farm *f);

#endif
