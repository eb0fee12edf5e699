/* test_community_id: the Community ID hash against vectors of the communityid package. */
#include <arpa/inet.h>

#include "../../src/doc/community_id.h"
#include "testhelp.h"

static struct cid_flow flow(const char *sa, const char *da, uint8_t proto, int sp, int dp)
{
    struct cid_flow f = { 0 };
    f.family = strchr(sa, ':') ? 6 : 4;
    inet_pton(f.family == 4 ? AF_INET : AF_INET6, sa, f.saddr);
    inet_pton(f.family == 4 ? AF_INET : AF_INET6, da, f.daddr);
    f.proto = proto;
    f.has_ports = sp >= 0;
    f.sport = (uint16_t)(sp < 0 ? 0 : sp);
    f.dport = (uint16_t)(dp < 0 ? 0 : dp);
    return f;
}

static const char *id(struct cid_flow f, uint16_t seed)
{
    static char out[CID_MAX];
    cid_hash(&f, seed, out);
    return out;
}

int main(void)
{
    /* Vectors computed with the communityid package (PyPI, v1.5.0). */
    CHECK_STR(id(flow("128.232.110.120", "66.35.250.204", 6, 34855, 80), 0),
              "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    CHECK_STR(id(flow("66.35.250.204", "128.232.110.120", 6, 80, 34855), 0),
              "1:LQU9qZlK+B5F3KDmev6m5PMibrg="); /* both directions, one flow */
    CHECK_STR(id(flow("192.168.1.52", "8.8.8.8", 17, 54585, 53), 0),
              "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    CHECK_STR(id(flow("192.168.0.89", "192.168.0.1", 1, 8, 0), 0),
              "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="); /* echo request ... */
    CHECK_STR(id(flow("192.168.0.1", "192.168.0.89", 1, 0, 0), 0),
              "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="); /* ... and its reply: one flow */
    CHECK_STR(id(flow("192.168.0.1", "192.168.0.89", 1, 3, 1), 0),
              "1:o3zT92uTgnRWv/YrDVeXcWumpC4="); /* one-way: type and code */
    CHECK_STR(id(flow("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 58, 135, 0), 0),
              "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    CHECK_STR(id(flow("192.168.170.8", "192.168.170.56", 132, 7, 80), 0),
              "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=");
    CHECK_STR(id(flow("10.0.0.1", "10.0.0.2", 47, -1, -1), 0),
              "1:+KlEHDT0vJgzs/eNmzHq0aSpRYw="); /* IP-only */
    CHECK_STR(id(flow("128.232.110.120", "66.35.250.204", 6, 34855, 80), 1),
              "1:3V71V58M3Ksw/yuFALMcW0LAHvc="); /* another seed */
    return TH_DONE("test_community_id");
}
