/* zygote: the process that starts libwireshark once and forks dissection workers on
 * demand (as Android's zygote and Chromium's), so that a new worker is a fork of a clean,
 * initialised, unprivileged process: it starts in milliseconds with the 170 MB of
 * dissector tables shared copy-on-write, and a fresh dissection session. The zygote is
 * forked from the reader before anything starts a thread. */
#ifndef ESPCAP_ZYGOTE_H
#define ESPCAP_ZYGOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../dissect/dissect.h"
#include "../doc/doc.h"

struct zygote_config {
    const struct dis_config *dis;   /* borrowed until zygote_wait_ready */
    const struct doc_config *doc;
    const char *run_as;             /* user workers run as when started as root; NULL or
                                     * "root": keep root */
    uint64_t in_ring, out_ring;     /* ring sizes of a lane, bytes (powers of two) */
};

struct zygote;

/* Forks the zygote. NULL with the reason when the process already has threads (a fork then
 * is unsafe) or fork fails. */
struct zygote *zygote_start(const struct zygote_config *cfg, char *err, size_t errlen);

/* Waits for the zygote's start-up (libwireshark, the options that change dissection, the
 * document builder, the privilege drop). DIS_INIT_OK, or the result with the reason. */
enum dis_init_result zygote_wait_ready(struct zygote *z, char *err, size_t errlen);

/* Asks for a worker on a lane (its shared memory and two eventfds). 0, or -1 (the zygote is
 * gone). The worker's pid comes in a report. */
int zygote_spawn(struct zygote *z, uint32_t lane, int memfd, int efd_worker, int efd_reader);

/* What the zygote tells: a worker started, or ended (with its wait status). */
struct zygote_report {
    enum { ZR_SPAWNED = 1, ZR_EXITED } kind;
    uint32_t lane;
    pid_t pid;
    int status;
};

/* The zygote's socket, to poll for reports; then zygote_read_report until it says false.
 * zygote_gone says whether the zygote itself died (the run cannot go on). */
int zygote_fd(const struct zygote *z);
bool zygote_read_report(struct zygote *z, struct zygote_report *r);
bool zygote_gone(const struct zygote *z);

/* Ends the zygote (its workers end with it) and waits for it. NULL is fine. */
void zygote_stop(struct zygote *z);

#endif
