/* util — small helpers every module uses: clocks, error buffers, sleeping.
 *
 * Errors in ferry follow anet.c: a function returns 0 / -1 (or NULL) and
 * writes one line into a caller-owned buffer of FERRY_ERR_LEN bytes. The line
 * names the thing that failed and what the operator should do next. */
#ifndef FERRY_UTIL_H
#define FERRY_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FERRY_ERR_LEN 512

/* Wall-clock time in milliseconds since the epoch (matches Redis expiries). */
int64_t util_now_ms(void);
/* Monotonic milliseconds, for durations and rates. */
int64_t util_mono_ms(void);
/* Monotonic microseconds, for latency samples. */
int64_t util_mono_us(void);
void util_sleep_ms(int64_t ms);

/* Writes a formatted line into err (if err is not NULL). Always returns -1 so
 * that callers can `return util_err(err, len, "...")`. */
int util_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Bounded, always-terminated copy; returns 0, or -1 when src did not fit. */
int util_strlcpy(char *dst, const char *src, size_t size);

/* Key names in reports and logs: "\" as "\\", bytes outside printable
 * ASCII as \xNN (and, with hash_first, a leading '#' as \x23 so a line
 * never reads as a comment). The buffer form stops before an escape that
 * would not fit and always terminates. */
void util_escape_key(const char *key, size_t len, char *buf, size_t buflen);
void util_fput_key(FILE *f, const char *key, size_t len, int hash_first);

/* Human formats: "1.2M", "950", "12.5k"; "1.2 GiB"; "1h02m"; never longer
 * than 15 characters including the terminator. */
void util_fmt_count(char *buf, size_t len, double v);
void util_fmt_bytes(char *buf, size_t len, double bytes);
void util_fmt_duration(char *buf, size_t len, int64_t ms);

#endif
