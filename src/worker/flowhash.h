/* flowhash: which dissection worker a packet goes to. A symmetric hash of what Wireshark
 * correlates: the unordered pair of the outermost IP addresses (both directions of a
 * conversation, every fragment of a datagram, an FTP data channel with its control
 * channel, SIP with its RTP between the same hosts); packets without IP by their link
 * addresses. Needs no dissection: a few header offsets per link type. */
#ifndef ESPCAP_FLOWHASH_H
#define ESPCAP_FLOWHASH_H

#include <stddef.h>
#include <stdint.h>

/* The hash of a packet of wiretap encapsulation 'encap' (WTAP_ENCAP_*); 0 when the packet
 * has neither IP nor link addresses espcap can read (those go to one worker). */
uint64_t flowhash(int encap, const uint8_t *p, size_t caplen);

#endif
