/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash: the two non-cryptographic hashes espcap's reader uses (documents' _ids, the flow hash
 * that picks a worker). Their values are part of the _ids already indexed: never change them. */
#ifndef ESPCAP_HASH_H
#define ESPCAP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_SEED 1469598103934665603ull

/* 64-bit FNV-1a of p[0..n), continuing from h (HASH_FNV1A_SEED to start). */
static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* MurmurHash3's 64-bit finaliser: every input bit moves every output bit. */
static inline uint64_t hash_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

#endif
