/* log: messages on stderr, always prefixed "espcap: ", so stdout stays pure NDJSON. */
#ifndef ESPCAP_LOG_H
#define ESPCAP_LOG_H

#define ESPCAP_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_error(const char *fmt, ...) ESPCAP_PRINTF(1, 2);   /* "espcap: ..." */
void log_warn(const char *fmt, ...) ESPCAP_PRINTF(1, 2);    /* "espcap: warning: ..." */
void log_info(const char *fmt, ...) ESPCAP_PRINTF(1, 2);    /* "espcap: ..." unless quiet */
void log_set_quiet(int quiet);

#endif
