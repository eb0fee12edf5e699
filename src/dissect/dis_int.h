/* dis_int: what the two halves of src/dissect/ share (start-up and per-packet). */
#ifndef ESPCAP_DIS_INT_H
#define ESPCAP_DIS_INT_H

#include <epan/dfilter/dfilter.h>

/* The compiled -Y display filter, or NULL: set once at start-up, read per packet. */
extern dfilter_t *dis_dfcode;

#endif
