/* test_fieldsel: --fields and --exclude-fields globs. */
#include "../../src/doc/fieldsel.h"
#include "testhelp.h"

int main(void)
{
    CHECK(fieldsel_glob("ip.*", "ip.src"));
    CHECK(fieldsel_glob("ip.*", "ip.flags.df"));
    CHECK(!fieldsel_glob("ip.*", "ipv6.src"));
    CHECK(!fieldsel_glob("ip.*", "ip"));
    CHECK(fieldsel_glob("*.src_host", "ip.src_host"));
    CHECK(!fieldsel_glob("*.src_host", "ip.src_host_x"));
    CHECK(fieldsel_glob("tcp.flags.?yn", "tcp.flags.syn"));
    CHECK(fieldsel_glob("*", "anything"));
    CHECK(fieldsel_glob("a*b*c", "a.x.b.y.c"));
    CHECK(!fieldsel_glob("a*b*c", "a.x.b.y"));
    CHECK(fieldsel_glob("ip.addr", "ip.addr"));
    CHECK(!fieldsel_glob("ip.addr", "ip.addr.x"));

    const char *keep[] = { "ip.*", "tcp.*", "dns.*" };
    const char *drop[] = { "ip.host", "ip.addr", "*.src_host", "*.dst_host" };
    struct fieldsel none = { 0 };
    struct fieldsel k = { keep, 3, NULL, 0 }, d = { NULL, 0, drop, 4 }, kd = { keep, 3, drop, 4 };
    CHECK(!fieldsel_active(&none) && fieldsel_keeps(&none, "eth.src"));
    CHECK(fieldsel_keeps(&k, "ip.src") && fieldsel_keeps(&k, "dns.qry.name"));
    CHECK(!fieldsel_keeps(&k, "eth.src") && !fieldsel_keeps(&k, "udp.port"));
    CHECK(fieldsel_keeps(&d, "eth.src") && !fieldsel_keeps(&d, "ip.host"));
    CHECK(!fieldsel_keeps(&d, "ipv6.src_host") && fieldsel_keeps(&d, "ip.src"));
    CHECK(fieldsel_keeps(&kd, "ip.src") && !fieldsel_keeps(&kd, "ip.addr"));
    CHECK(!fieldsel_keeps(&kd, "ip.dst_host") && !fieldsel_keeps(&kd, "eth.dst"));
    return TH_DONE("test_fieldsel");
}
