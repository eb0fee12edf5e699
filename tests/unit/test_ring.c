/* test_ring: the shared-memory ring between two real processes: every record arrives,
 * in order, intact, whatever the sizes, with both sides sleeping and waking. */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/worker/ring.h"
#include "testhelp.h"

#define N_RECORDS 300000

static uint32_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)*s;
}

static void fill(uint8_t *p, size_t len, uint32_t seq)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq * 31 + i);
}

static void wait_fd(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 1000) > 0)
        ring_drain_fd(fd);
}

static void producer(struct ring *r)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (uint32_t seq = 0; seq < N_RECORDS; seq++) {
        /* mostly small, sometimes large, sometimes empty: pads at the end get exercised */
        uint32_t k = rnd(&s);
        size_t len = k % 10 == 0 ? k % ring_max_record(r) : k % 11 == 0 ? 0 : 4 + k % 1500;
        if (len < 4)
            len = 4;
        uint8_t *p;
        while (!(p = ring_reserve(r, len)))
            if (ring_producer_should_sleep(r, len))
                wait_fd(r->wake_producer);
        memcpy(p, &seq, 4);
        fill(p + 4, len - 4, seq);
        ring_commit(r, seq % 7, len);
    }
}

int main(void)
{
    uint64_t size = 1 << 16;
    void *mem = mmap(NULL, ring_bytes(size), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    int ec = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), ep = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct ring r;
    ring_init(&r, mem, size, ec, ep);
    CHECK(ring_reserve(&r, ring_max_record(&r) + 1) == NULL); /* too large: refused */
    uint32_t t;
    size_t len;
    CHECK(ring_peek(&r, &t, &len) == NULL);                  /* empty */

    pid_t pid = fork();
    if (pid == 0) {
        struct ring pr;
        ring_attach(&pr, mem, ec, ep);
        producer(&pr);
        _exit(0);
    }
    uint32_t want = 0, bad_order = 0, bad_bytes = 0, bad_type = 0;
    while (want < N_RECORDS) {
        const uint8_t *p = ring_peek(&r, &t, &len);
        if (!p) {
            if (ring_consumer_should_sleep(&r))
                wait_fd(ec);
            continue;
        }
        uint32_t seq;
        memcpy(&seq, p, 4);
        bad_order += seq != want;
        bad_type += t != seq % 7;
        for (size_t i = 4; i < len; i++)
            if (p[i] != (uint8_t)(seq * 31 + (i - 4))) {
                bad_bytes++;
                break;
            }
        ring_release(&r);
        want++;
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(bad_order == 0);
    CHECK(bad_type == 0);
    CHECK(bad_bytes == 0);
    CHECK(ring_peek(&r, &t, &len) == NULL);
    CHECK(ring_used(&r) == 0);
    return TH_DONE("test_ring");
}
