/* util — clocks, error lines and human formatting shared by all modules. */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t util_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void util_sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

int util_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int util_strlcpy(char *dst, const char *src, size_t size) {
    size_t n = strlen(src);
    if (size == 0) return -1;
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

void util_fmt_count(char *buf, size_t len, double v) {
    if (v < 0) v = 0;
    if (v < 10000)
        snprintf(buf, len, "%.0f", v);
    else if (v < 1e6)
        snprintf(buf, len, "%.1fk", v / 1e3);
    else if (v < 1e9)
        snprintf(buf, len, "%.2fM", v / 1e6);
    else
        snprintf(buf, len, "%.2fG", v / 1e9);
}

void util_fmt_bytes(char *buf, size_t len, double b) {
    if (b < 0) b = 0;
    if (b < 1024)
        snprintf(buf, len, "%.0f B", b);
    else if (b < 1024.0 * 1024)
        snprintf(buf, len, "%.1f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", b / (1024.0 * 1024));
    else
        snprintf(buf, len, "%.2f GiB", b / (1024.0 * 1024 * 1024));
}

void util_fmt_duration(char *buf, size_t len, int64_t ms) {
    if (ms < 0) ms = 0;
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)((s % 3600) / 60));
}

void util_escape_key(const char *key, size_t len, char *buf, size_t buflen) {
    size_t o = 0;
    if (!buflen) return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        char tmp[5];
        size_t n = 1;
        if (c == '\\')
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
        else if (c < 0x20 || c >= 0x7f)
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        else
            tmp[0] = (char)c;
        if (o + n >= buflen) break;
        memcpy(buf + o, tmp, n);
        o += n;
    }
    buf[o] = '\0';
}

void util_fput_key(FILE *f, const char *key, size_t len, int hash_first) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '\\')
            fputs("\\\\", f);
        else if (c < 0x20 || c >= 0x7f || (hash_first && i == 0 && c == '#'))
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}
