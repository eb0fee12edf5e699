/* worker: a dissection worker process. Forked from the zygote with a fresh dissection
 * session, it takes a lane's packets in order, dissects each, builds its document and
 * hands it back, then exits at the end of its share (a file, or a live interval). */
#ifndef ESPCAP_WORKER_H
#define ESPCAP_WORKER_H

#include "../dissect/dissect.h"
#include "../doc/doc.h"
#include "ring.h"

/* Runs until WIRE_END, then exits the process (status 0); a malformed message exits it
 * with status 2. dis and doc are the zygote's, inherited. */
void worker_run(struct dis *dis, struct doc *doc, struct ring *in, struct ring *out)
    __attribute__((noreturn));

/* Test hook (as SQLite's and curl's): ESPCAP_TEST_CRASH_FRAME=N makes a worker abort while
 * dissecting frame N, every time; "N:once" only the first time (not when retried). */
#define WORKER_CRASH_ENV "ESPCAP_TEST_CRASH_FRAME"

#endif
