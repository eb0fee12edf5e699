/* testhelp: a tiny unit-test helper; each test file is one program. */
#ifndef ESPCAP_TESTHELP_H
#define ESPCAP_TESTHELP_H

#include <stdio.h>
#include <string.h>

static int th_failed, th_passed;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (cond) {                                                                        \
            th_passed++;                                                                   \
        } else {                                                                           \
            th_failed++;                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                                  \
    } while (0)

#define CHECK_STR(got, want)                                                               \
    do {                                                                                   \
        const char *g_ = (got), *w_ = (want);                                              \
        if (strcmp(g_, w_) == 0) {                                                         \
            th_passed++;                                                                   \
        } else {                                                                           \
            th_failed++;                                                                   \
            fprintf(stderr, "%s:%d: got  %s\n%*s want %s\n", __FILE__, __LINE__, g_,       \
                    (int)strlen(__FILE__) + 6, "", w_);                                    \
        }                                                                                  \
    } while (0)

/* The plain closing line that CI reads: "NAME: N passed, N failed". */
#define TH_DONE(name)                                                                      \
    (printf("%s: %d passed, %d failed\n", name, th_passed, th_failed), th_failed ? 1 : 0)

#endif
