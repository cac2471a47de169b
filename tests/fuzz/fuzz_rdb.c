/* fuzz_rdb — libFuzzer target for the RDB reader (src/rdb.c).
 *
 * The first input byte picks how the rest is fed: read sizes (all at once,
 * or 1..15 bytes per read, to cross every buffer boundary), whether the
 * size is known (a file) or not (a socket), the replication framings
 * ("$EOF:<mark>" and "$<len>"), and whether the reader is told to skip some
 * keys (values walked but not copied). The rest is the snapshot. Mode
 * 0xff instead feeds the rest to rdb_payload_elements() as a DUMP payload.
 *
 * What must hold, whatever the input: no crash, no sanitizer report, no
 * hang (every loop consumes input), memory bounded by libFuzzer's RSS
 * limit; every payload handed out carries a valid version and CRC64; an
 * error is one non-empty line naming an offset. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb.h"

typedef struct Src {
    const uint8_t *p;
    size_t len, pos, chunk;
} Src;

static ssize_t src_read(void *ud, void *buf, size_t len, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    Src *s = ud;
    size_t left = s->len - s->pos;
    if (len > left) len = left;
    if (s->chunk && len > s->chunk) len = s->chunk;
    memcpy(buf, s->p + s->pos, len);
    s->pos += len;
    return (ssize_t)len;
}

static int skip_odd(void *ud, int db, const char *key, size_t len, int type) {
    (void)ud;
    (void)db;
    (void)type;
    return len == 0 || (key[0] ^ (char)len) & 1;
}

static int count_element(void *ud, const unsigned char *s, size_t len) {
    (void)s;
    *(size_t *)ud += len + 1;
    return 0;
}

static const char MARK[] = "0123456789012345678901234567890123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    if (mode == 0xff) { /* the rest is a DUMP payload: the set/hash decoder */
        size_t total = 0;
        rdb_payload_elements(data + 1, size - 1, count_element, &total);
        return 0;
    }
    Src s = {data + 1, size - 1, 0, mode & 0x0f};
    int framing = (mode >> 4) & 3; /* 0 file-like, 1 unknown size, 2 $EOF:, 3 $<len> */
    RdbReader *r = rdb_reader_new(src_read, &s, "fuzz.rdb", framing == 0 ? s.len : 0);
    if (!r) return 0;
    char err[512], line[64];
    if (framing == 2) {
        snprintf(line, sizeof(line), "$EOF:%s", MARK);
        if (rdb_reader_set_framing(r, line, strlen(line), err, sizeof(err)) != 0) abort();
    } else if (framing == 3 && s.len > 0) {
        snprintf(line, sizeof(line), "$%zu", s.len);
        if (rdb_reader_set_framing(r, line, strlen(line), err, sizeof(err)) != 0) abort();
    }
    if (mode & 0x40) rdb_reader_set_want(r, skip_odd, NULL);

    RdbEvent ev;
    int rc;
    while ((rc = rdb_next(r, &ev, err, sizeof(err))) == 1) {
        if (ev.type == RDB_EV_KEY && ev.payload) {
            int v = 0;
            if (rdb_payload_verify(ev.payload, ev.payload_len, &v) != 0 || v != rdb_reader_version(r)) abort();
            if (ev.payload[0] != (uint8_t)ev.rdb_type) abort();
        }
        if (rdb_reader_offset(r) > s.len) abort(); /* never past the input */
    }
    if (rc < 0) {
        if (!err[0] || strchr(err, '\n') || !strstr(err, "fuzz.rdb")) abort();
        if (rdb_next(r, &ev, err, sizeof(err)) != -1) abort(); /* stays failed */
    } else {
        const unsigned char *left;
        size_t llen;
        rdb_reader_leftover(r, &left, &llen);
        if (llen > s.len) abort();
    }
    rdb_reader_free(r);
    return 0;
}
