/* test_flowhash: the worker choice keeps both directions, every fragment and tunnelled
 * variants of a conversation together, by link type. */
#include <stdint.h>

#include "../../src/worker/flowhash.h"
#include "testhelp.h"

static size_t eth_ipv4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], int vlans,
                       uint16_t frag)
{
    size_t o = 0;
    static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
    memcpy(p, macs, 12);
    o = 12;
    for (int i = 0; i < vlans; i++) {
        p[o++] = 0x81, p[o++] = 0x00, p[o++] = 0x00, p[o++] = (uint8_t)(10 + i);
    }
    p[o++] = 0x08, p[o++] = 0x00;
    uint8_t ip[20] = { 0x45, 0, 0, 40, 0, 1, (uint8_t)(frag >> 8), (uint8_t)frag, 64, 17 };
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    memcpy(p + o, ip, 20);
    return o + 40;
}

int main(void)
{
    uint8_t a[128] = { 0 }, b[128] = { 0 };
    const uint8_t x[4] = { 192, 0, 2, 10 }, y[4] = { 198, 51, 100, 80 }, z[4] = { 10, 0, 0, 1 };
    size_t na = eth_ipv4(a, x, y, 0, 0), nb = eth_ipv4(b, y, x, 0, 0);
    uint64_t h = flowhash(1, a, na);
    CHECK(h != 0);
    CHECK(flowhash(1, b, nb) == h);                 /* both directions */
    nb = eth_ipv4(b, x, y, 2, 0x2010);
    CHECK(flowhash(1, b, nb) == h);                 /* a fragment, behind two VLAN tags */
    nb = eth_ipv4(b, x, z, 0, 0);
    CHECK(flowhash(1, b, nb) != h);                 /* another pair */
    CHECK(flowhash(7, a + 14, na - 14) == h);       /* raw IP, the same pair */
    uint8_t sll[64] = { 0 };
    sll[14] = 0x08;                                 /* Linux cooked: protocol at 14 */
    memcpy(sll + 16, a + 14, 40);
    CHECK(flowhash(25, sll, 56) == h);
    uint8_t arp[60] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06 };
    uint8_t arp2[60] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
    CHECK(flowhash(1, arp, 60) != 0 && flowhash(1, arp, 60) == flowhash(1, arp2, 60));
    CHECK(flowhash(1, a, 10) == 0);                 /* too short */
    CHECK(flowhash(9999, a, na) == 0);              /* a link type it does not read */
    /* spread: 4096 pairs over 2 and 4 workers, none below 40% / 20% */
    unsigned two[2] = { 0 }, four[4] = { 0 };
    for (int i = 0; i < 4096; i++) {
        uint8_t s[4] = { 10, (uint8_t)(i >> 8), (uint8_t)i, 1 }, d[4] = { 192, 0, 2, 7 };
        na = eth_ipv4(a, s, d, 0, 0);
        uint64_t k = flowhash(1, a, na);
        two[k % 2]++;
        four[k % 4]++;
    }
    CHECK(two[0] > 4096 * 4 / 10 && two[1] > 4096 * 4 / 10);
    CHECK(four[0] > 4096 / 5 && four[1] > 4096 / 5 && four[2] > 4096 / 5 && four[3] > 4096 / 5);
    return TH_DONE("test_flowhash");
}
