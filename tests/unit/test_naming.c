/* test_naming: the "._value" rule, decided from the registry, not from a packet. */
#include "../../src/doc/naming.h"
#include "testhelp.h"

static struct buf b;

static const char *key(const struct naming *nm, const char *name)
{
    buf_reset(&b);
    naming_key(nm, name, &b);
    return buf_cstr(&b);
}

int main(void)
{
    buf_init(&b, 16);
    struct naming *nm = naming_new();
    const char *registry[] = {
        "ip", "ip.flags", "ip.flags.mf", "ip.src", "dns.qry.name", "dns.qry.name.len",
        "tcp.flags", "tcp.flags.syn", "ip.flags-x", "http.request", "http.request.uri",
        "eth.dst", "a.b.c.d",
    };
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        naming_add(nm, registry[i]);

    CHECK_STR(key(nm, "ip.flags"), "ip.flags._value");
    CHECK_STR(key(nm, "ip.flags.mf"), "ip.flags.mf");
    CHECK_STR(key(nm, "ip.src"), "ip.src");
    CHECK_STR(key(nm, "ip"), "ip._value");
    CHECK_STR(key(nm, "dns.qry.name"), "dns.qry.name._value");
    CHECK_STR(key(nm, "dns.qry.name.len"), "dns.qry.name.len");
    CHECK_STR(key(nm, "http.request"), "http.request._value");
    CHECK_STR(key(nm, "eth.dst"), "eth.dst");
    /* "ip.flags-x" does not make "ip.flags" a prefix; "ip.flags.mf" does. */
    CHECK_STR(key(nm, "ip.flags-x"), "ip.flags-x");
    /* intermediate prefixes that are not fields themselves still count */
    CHECK(naming_is_prefix(nm, "a.b"));
    CHECK(naming_is_prefix(nm, "a.b.c"));
    CHECK(!naming_is_prefix(nm, "a.b.c.d"));
    /* a name that is not registered at all still gets a stable key */
    CHECK_STR(key(nm, "new.field"), "new.field");
    /* adding the same name twice changes nothing */
    size_t before = naming_prefix_count(nm);
    naming_add(nm, "ip.flags.mf");
    CHECK(naming_prefix_count(nm) == before);
    naming_free(nm);
    naming_free(NULL);
    buf_fini(&b);
    return TH_DONE("test_naming");
}
