/* test_sections: which layer goes to link, network, transport, application. */
#include "../../src/doc/sections.h"
#include "testhelp.h"

static struct layer_info L[16];
static size_t n;

/* "eth ip tcp *http media": '*' marks a protocol named in protocols.list. Every name
 * but data/media/the frame is listed unless marked '-'. */
static int build(const char *stack)
{
    char tmp[256], *save = NULL;
    static char names[16][32];
    snprintf(tmp, sizeof tmp, "%s", stack);
    n = 0;
    for (char *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        bool listed = true;
        if (*t == '-') {
            listed = false;
            t++;
        }
        snprintf(names[n], sizeof names[n], "%s", t);
        L[n] = (struct layer_info){ names[n], sections_kind(names[n]), listed, ROLE_OTHER };
        n++;
    }
    return sections_assign(L, n);
}

static const char *roles(void)
{
    static char out[256];
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *k = sections_role_key(L[i].role);
        strcat(out, i ? " " : "");
        strcat(out, k ? k : L[i].name);
    }
    return out;
}

int main(void)
{
    int p = build("eth ip tcp http -media");
    CHECK_STR(roles(), "link network transport application media");
    CHECK(p == 3);

    p = build("eth ip tcp -data");
    CHECK_STR(roles(), "link network transport data");
    CHECK(p == 2); /* data is not listed: the protocol is tcp, and there is no application */

    p = build("eth vlan ip udp dns");
    CHECK_STR(roles(), "link vlan network transport application");

    p = build("eth arp");
    CHECK_STR(roles(), "link network");
    CHECK(p == 1);

    p = build("eth llc stp");
    CHECK_STR(roles(), "link llc stp"); /* no transport: stp stays under its own name */
    CHECK(p == 2);

    p = build("ip udp dns"); /* raw IP capture: no link layer */
    CHECK_STR(roles(), "network transport application");

    p = build("eth ip gre ip tcp http"); /* tunnel: the outer IP, the first transport */
    CHECK_STR(roles(), "link network gre ip transport application");

    p = build("eth ip udp vxlan eth ip tcp tls");
    CHECK_STR(roles(), "link network transport vxlan eth ip tcp application");
    CHECK(p == 7);

    p = build("eth ip icmp");
    CHECK_STR(roles(), "link network transport");
    CHECK(p == 2);

    p = build("-data"); /* nothing listed: the last layer */
    CHECK_STR(roles(), "link");
    CHECK(p == 0);

    CHECK(sections_assign(L, 0) == -1);
    CHECK(sections_kind("ipv6") == KIND_NETWORK);
    CHECK(sections_kind("icmpv6") == KIND_TRANSPORT);
    CHECK(sections_kind("http") == KIND_OTHER);
    return TH_DONE("test_sections");
}
