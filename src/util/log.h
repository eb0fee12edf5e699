/* log: messages on stderr, always prefixed "espcap: ", so stdout stays pure NDJSON; and one
 * status line (progress) kept at the bottom of a terminal, redrawn in place. */
#ifndef ESPCAP_LOG_H
#define ESPCAP_LOG_H

#include <stdbool.h>

#define ESPCAP_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_error(const char *fmt, ...) ESPCAP_PRINTF(1, 2);   /* "espcap: ...", always */
void log_warn(const char *fmt, ...) ESPCAP_PRINTF(1, 2);    /* "espcap: warning: ..." */
void log_info(const char *fmt, ...) ESPCAP_PRINTF(1, 2);    /* "espcap: ..." */
/* A line that is part of the run's report (the summary): always, like errors. */
void log_report(const char *fmt, ...) ESPCAP_PRINTF(1, 2);
/* --quiet: no warnings, notes or status lines; errors and reports stay. */
void log_set_quiet(bool quiet);
bool log_quiet(void);

/* The status line. On a terminal it is drawn in place ("\r", padded to the last one's
 * width, cut to the terminal's), erased before any message and drawn again after it;
 * elsewhere each call prints one line. */
void log_status_begin(bool in_place);
void log_status(const char *fmt, ...) ESPCAP_PRINTF(1, 2);
/* Ends the status line: on a terminal the last state stays, followed by a newline. */
void log_status_end(void);

#endif
