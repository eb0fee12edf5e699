/* log: stderr messages with the program prefix. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static int quiet;

void log_set_quiet(int q) { quiet = q; }

static void vlog(const char *tag, const char *fmt, va_list ap)
{
    /* One fprintf-sized write per line keeps lines whole when stderr is shared. */
    char line[4096];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    fprintf(stderr, "espcap: %s%s\n", tag, line);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("warning: ", fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}
