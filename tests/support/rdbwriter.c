/* rdbwriter — hand-built RDB bytes for tests; see rdbwriter.h. */
#include "rdbwriter.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crc64.h"
#include "rdb.h"

void rw_bytes(RdbWriter *w, const void *p, size_t n) {
    if (w->len + n + 1 > w->cap) {
        w->cap = (w->len + n + 1) * 2;
        w->p = realloc(w->p, w->cap);
        assert_non_null(w->p);
    }
    if (n) memcpy(w->p + w->len, p, n);
    w->len += n;
}

void rw_u8(RdbWriter *w, unsigned v) {
    unsigned char b = (unsigned char)v;
    rw_bytes(w, &b, 1);
}

void rw_le(RdbWriter *w, uint64_t v, int n) {
    for (int i = 0; i < n; i++) rw_u8(w, (unsigned)(v >> (8 * i)) & 0xff);
}

void rw_be(RdbWriter *w, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) rw_u8(w, (unsigned)(v >> (8 * i)) & 0xff);
}

void rw_len(RdbWriter *w, uint64_t v) {
    if (v < 64) {
        rw_u8(w, (unsigned)v);
    } else if (v < 16384) {
        rw_u8(w, 0x40 | (unsigned)(v >> 8));
        rw_u8(w, (unsigned)v & 0xff);
    } else if (v <= UINT32_MAX) {
        rw_u8(w, 0x80);
        rw_be(w, v, 4);
    } else {
        rw_u8(w, 0x81);
        rw_be(w, v, 8);
    }
}

void rw_str(RdbWriter *w, const void *p, size_t n) {
    rw_len(w, n);
    rw_bytes(w, p, n);
}

void rw_cstr(RdbWriter *w, const char *s) { rw_str(w, s, strlen(s)); }

void rw_free(RdbWriter *w) {
    free(w->p);
    memset(w, 0, sizeof(*w));
}

/* "123" → 1 and *v when s is an integer as Redis would store it. */
static int rw_is_int(const char *s, long long *v) {
    char *end;
    if (!*s || strlen(s) > 20) return 0;
    *v = strtoll(s, &end, 10);
    char back[32];
    snprintf(back, sizeof back, "%lld", *v);
    return !*end && !strcmp(back, s);
}

void rw_listpack(RdbWriter *out, const char *const *items, int n) {
    RdbWriter z = {0};
    rw_le(&z, 0, 4);
    rw_le(&z, (uint64_t)n, 2);
    for (int i = 0; i < n; i++) {
        size_t start = z.len;
        long long v;
        size_t l = strlen(items[i]);
        if (rw_is_int(items[i], &v)) {
            if (v >= 0 && v <= 127) rw_u8(&z, (unsigned)v);
            else if (v >= -4096 && v <= 4095) { rw_u8(&z, 0xc0 | (unsigned)((uint64_t)v >> 8 & 0x1f)); rw_u8(&z, (unsigned)v & 0xff); }
            else if (v >= -32768 && v <= 32767) { rw_u8(&z, 0xf1); rw_le(&z, (uint64_t)v, 2); }
            else if (v >= -8388608 && v <= 8388607) { rw_u8(&z, 0xf2); rw_le(&z, (uint64_t)v, 3); }
            else if (v >= INT32_MIN && v <= INT32_MAX) { rw_u8(&z, 0xf3); rw_le(&z, (uint64_t)v, 4); }
            else { rw_u8(&z, 0xf4); rw_le(&z, (uint64_t)v, 8); }
        } else if (l < 64) {
            rw_u8(&z, 0x80 | (unsigned)l);
            rw_bytes(&z, items[i], l);
        } else if (l < 4096) {
            rw_u8(&z, 0xe0 | (unsigned)(l >> 8));
            rw_u8(&z, (unsigned)l & 0xff);
            rw_bytes(&z, items[i], l);
        } else {
            rw_u8(&z, 0xf0);
            rw_le(&z, l, 4);
            rw_bytes(&z, items[i], l);
        }
        size_t size = z.len - start; /* backlen */
        if (size <= 127) {
            rw_u8(&z, (unsigned)size);
        } else {
            rw_u8(&z, (unsigned)(size >> 7));
            rw_u8(&z, (unsigned)(size & 127) | 128);
        }
    }
    rw_u8(&z, 0xff);
    for (int i = 0; i < 4; i++) z.p[i] = (unsigned char)(z.len >> (8 * i));
    rw_str(out, z.p, z.len);
    rw_free(&z);
}

void rw_ziplist(RdbWriter *out, const char *const *items, int n) {
    RdbWriter z = {0};
    rw_le(&z, 0, 8); /* zlbytes, zltail: set below */
    rw_le(&z, 0, 2); /* zllen */
    size_t prev = 0, tail = 10;
    for (int i = 0; i < n; i++) {
        tail = z.len;
        if (prev < 254) rw_u8(&z, (unsigned)prev);
        else { rw_u8(&z, 0xfe); rw_le(&z, prev, 4); }
        long long v;
        size_t l = strlen(items[i]);
        if (rw_is_int(items[i], &v)) {
            if (v >= 0 && v <= 12) rw_u8(&z, 0xf1 + (unsigned)v);
            else if (v >= -128 && v <= 127) { rw_u8(&z, 0xfe); rw_le(&z, (uint64_t)v, 1); }
            else if (v >= -32768 && v <= 32767) { rw_u8(&z, 0xc0); rw_le(&z, (uint64_t)v, 2); }
            else if (v >= -8388608 && v <= 8388607) { rw_u8(&z, 0xf0); rw_le(&z, (uint64_t)v, 3); }
            else if (v >= INT32_MIN && v <= INT32_MAX) { rw_u8(&z, 0xd0); rw_le(&z, (uint64_t)v, 4); }
            else { rw_u8(&z, 0xe0); rw_le(&z, (uint64_t)v, 8); }
        } else if (l < 64) {
            rw_u8(&z, (unsigned)l);
            rw_bytes(&z, items[i], l);
        } else {
            rw_u8(&z, 0x40 | (unsigned)(l >> 8));
            rw_u8(&z, (unsigned)l & 0xff);
            rw_bytes(&z, items[i], l);
        }
        prev = z.len - tail;
    }
    rw_u8(&z, 0xff);
    for (int i = 0; i < 4; i++) z.p[i] = (unsigned char)(z.len >> (8 * i));
    for (int i = 0; i < 4; i++) z.p[4 + i] = (unsigned char)(tail >> (8 * i));
    z.p[8] = (unsigned char)n;
    z.p[9] = (unsigned char)(n >> 8);
    rw_str(out, z.p, z.len);
    rw_free(&z);
}

void rw_intset(RdbWriter *out, int enc, const long long *v, int n) {
    RdbWriter z = {0};
    rw_le(&z, (uint64_t)enc, 4);
    rw_le(&z, (uint64_t)n, 4);
    for (int i = 0; i < n; i++) rw_le(&z, (uint64_t)v[i], enc);
    rw_str(out, z.p, z.len);
    rw_free(&z);
}

void rw_file_header(RdbWriter *w, const char *magic) {
    rw_bytes(w, magic, 9);
    rw_u8(w, 250); /* AUX */
    rw_cstr(w, "redis-ver");
    rw_cstr(w, "test");
}

void rw_file_footer(RdbWriter *w) {
    rw_u8(w, 255);
    rw_le(w, crc64(0, w->p, w->len), 8);
}

void rw_payload_footer(RdbWriter *w, int version) {
    rw_le(w, (uint64_t)version, 2);
    rw_le(w, crc64(0, w->p, w->len), 8);
}

const unsigned char *rw_skip_len(const unsigned char *p, uint64_t *v, int *enc) {
    *enc = -1;
    int t = p[0] >> 6;
    if (t == 0) { *v = p[0] & 0x3f; return p + 1; }
    if (t == 1) { *v = (uint64_t)(p[0] & 0x3f) << 8 | p[1]; return p + 2; }
    if (t == 3) { *enc = p[0] & 0x3f; *v = 0; return p + 1; }
    if (p[0] == 0x80) { *v = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4]; return p + 5; }
    *v = 0;
    for (int i = 1; i <= 8; i++) *v = *v << 8 | p[i];
    return p + 9;
}

const unsigned char *rw_skip_str(const unsigned char *p) {
    uint64_t v, c, u;
    int enc, e2;
    p = rw_skip_len(p, &v, &enc);
    if (enc < 0) return p + v;
    if (enc <= 2) return p + (1 << enc); /* 8/16/32-bit integer */
    p = rw_skip_len(p, &c, &e2);         /* LZF: compressed, then plain length */
    p = rw_skip_len(p, &u, &e2);
    return p + c;
}

void rw_stream_v2_as(const unsigned char *p, size_t len, int to, RdbWriter *out) {
    const unsigned char *end = p + len - RDB_PAYLOAD_FOOTER, *s = p + 1, *q;
    uint64_t n, v, g, pel, nc, cp;
    int enc;
    q = rw_skip_len(s, &n, &enc);
    for (uint64_t i = 0; i < n; i++) q = rw_skip_str(rw_skip_str(q));
    for (int i = 0; i < 3; i++) q = rw_skip_len(q, &v, &enc);
    rw_bytes(out, s, (size_t)(q - s));
    s = q;
    for (int i = 0; i < 5; i++) q = rw_skip_len(q, &v, &enc);
    if (to == 3) rw_bytes(out, s, (size_t)(q - s));
    s = q;
    q = rw_skip_len(q, &g, &enc);
    rw_bytes(out, s, (size_t)(q - s));
    for (uint64_t i = 0; i < g; i++) {
        s = q;
        q = rw_skip_str(q);
        q = rw_skip_len(q, &v, &enc);
        q = rw_skip_len(q, &v, &enc);
        rw_bytes(out, s, (size_t)(q - s));
        s = q;
        q = rw_skip_len(q, &v, &enc); /* entries read */
        if (to == 3) rw_bytes(out, s, (size_t)(q - s));
        s = q;
        q = rw_skip_len(q, &pel, &enc);
        for (uint64_t j = 0; j < pel; j++) q = rw_skip_len(q + 24, &v, &enc);
        q = rw_skip_len(q, &nc, &enc);
        rw_bytes(out, s, (size_t)(q - s));
        for (uint64_t c = 0; c < nc; c++) {
            s = q;
            q = rw_skip_str(q) + 8;
            rw_bytes(out, s, (size_t)(q - s));
            if (to == 3) rw_le(out, 1700000000000ULL, 8);
            s = q;
            q = rw_skip_len(q, &cp, &enc);
            q += 16 * cp;
            rw_bytes(out, s, (size_t)(q - s));
        }
    }
    assert_true(q == end);
}

