/* log: stderr messages with the program prefix, and the in-place status line. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static bool quiet;

static struct {
    bool active;     /* log_status_begin was called, log_status_end not yet */
    bool in_place;   /* a terminal: redraw with "\r" */
    bool shown;      /* a line is on screen now */
    char line[512];
    size_t width;    /* of what is on screen */
} status;

void log_set_quiet(bool q) { quiet = q; }

bool log_quiet(void) { return quiet; }

static size_t term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

/* One write per piece keeps lines whole when stderr is shared. */
static void put(const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void erase(void)
{
    if (!status.in_place || !status.shown)
        return;
    char blank[600];
    size_t n = status.width < sizeof blank - 2 ? status.width : sizeof blank - 2;
    blank[0] = '\r';
    memset(blank + 1, ' ', n);
    blank[n + 1] = '\r';
    put(blank, n + 2);
    status.shown = false;
    status.width = 0;
}

static void draw(void)
{
    if (!status.in_place || !status.line[0])
        return;
    char out[600];
    size_t max = term_width() - 1, len = strlen(status.line);
    if (len > max)
        len = max;
    out[0] = '\r';
    memcpy(out + 1, status.line, len);
    size_t n = len + 1;
    /* pad over what the longer previous line left */
    while (n - 1 < status.width && n < sizeof out)
        out[n++] = ' ';
    put(out, n);
    status.shown = true;
    status.width = len;
}

static void vlog(const char *tag, const char *fmt, va_list ap)
{
    char line[4096];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    char out[4200];
    int m = snprintf(out, sizeof out, "espcap: %s%s\n", tag, line);
    if (m < 0)
        return;
    erase();
    put(out, (size_t)m < sizeof out ? (size_t)m : sizeof out - 1);
    draw();
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}

void log_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    if (quiet)
        return;
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

void log_status_begin(bool in_place)
{
    status.active = true;
    status.in_place = in_place;
    status.shown = false;
    status.line[0] = '\0';
    status.width = 0;
}

void log_status(const char *fmt, ...)
{
    if (!status.active)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (status.in_place) {
        int n = snprintf(status.line, sizeof status.line, "espcap: ");
        vsnprintf(status.line + n, sizeof status.line - (size_t)n, fmt, ap);
        draw();
    } else {
        vlog("", fmt, ap);
    }
    va_end(ap);
}

void log_status_end(void)
{
    if (!status.active)
        return;
    if (status.in_place && status.shown)
        put("\n", 1);
    status.active = false;
    status.shown = false;
    status.line[0] = '\0';
}
