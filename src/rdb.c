/* rdb — streaming RDB reader; see rdb.h for what it reads and promises.
 *
 * Input is pulled into one buffer (buf[pos..end) is unread; base is the
 * stream offset of buf[0]). Two marks trail pos: crc_mark (bytes before it
 * are in the file's running CRC64) and cap_mark (bytes before it are in the
 * current key's payload). Both are settled in rd_flush(), which runs before
 * the buffer is compacted and at the end of each value, so the bytes of a
 * value are copied once, in large pieces, whatever size they have.
 *
 * Values are walked, not decoded: a length-prefixed string is skipped (and
 * so captured) in one go; only the blobs whose headers we check (listpack,
 * ziplist, intset, zipmap, stream node keys) and the names we report (keys,
 * AUX fields, functions) are loaded, LZF-decompressed when needed.
 *
 * Every count that drives a loop is checked against the bytes left when the
 * size is known (a count of n elements needs at least n bytes), and every
 * iteration consumes input; buffers grow only as bytes really arrive. */
#include "rdb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc64.h"

#define RDB_BUF_SIZE (256 * 1024)
#define RDB_FILE_CHUNK (1024 * 1024)
#define RDB_MAX_DB (1 << 20)       /* a SELECTDB above this is corruption, not a config */
#define RDB_LZF_MAX_RATIO 90       /* LZF expands at most ~88x (264 bytes from 3) */
#define RDB_EOFMARK_LEN 40

enum { OP_SLOT_IMPORT = 243, OP_SLOT_INFO = 244, OP_FUNCTION2 = 245, OP_FUNCTION_PRE_GA = 246,
       OP_MODULE_AUX = 247, OP_IDLE = 248, OP_FREQ = 249, OP_AUX = 250, OP_RESIZEDB = 251,
       OP_EXPIRETIME_MS = 252, OP_EXPIRETIME = 253, OP_SELECTDB = 254, OP_EOF = 255 };

enum { ST_HEADER = 0, ST_BODY, ST_DONE, ST_FAILED };
enum { FRAME_NONE = 0, FRAME_LENGTH, FRAME_EOFMARK };
enum { BLOB_LISTPACK = 1, BLOB_ZIPLIST, BLOB_INTSET, BLOB_ZIPMAP, BLOB_NODEKEY };

static const char SUFFIX_CORRUPT[] = ": the file is corrupt or not an RDB";
static const char SUFFIX_TRUNC[] = ": the file is truncated";
static const char SUFFIX_SHORT[] = ": the file is truncated or corrupt";

typedef struct Buf {
    unsigned char *p;
    size_t len, cap;
} Buf;

struct RdbReader {
    char name[200];
    RdbReadFn fn;
    void *ud;
    int fd; /* owned when >= 0 (file readers) */

    unsigned char *buf;
    size_t bufcap, pos, end;
    uint64_t base;   /* stream offset of buf[0] */
    uint64_t size;   /* bytes of RDB the source holds; 0 = unknown */
    uint64_t pulled; /* bytes taken from the source */
    int src_eof;
    int framing;
    char eofmark[RDB_EOFMARK_LEN];

    uint64_t crc;
    size_t crc_mark;
    int crc_on;
    int capturing;
    size_t cap_mark;
    Buf payload, key, auxname, value, blob, lzf;

    int state, version, valkey;
    int db;
    int64_t expire_ms, idle_s;
    int freq;
    RdbWantFn want;
    void *want_ud;
    char ctx[256]; /* what is being read: " in key \"k\" (hash)" */
    char err[512];
    uint64_t trailing;
};

/* ----------------------------------------------------------------- buffers */

static int buf_reserve(Buf *b, size_t more) {
    if (more > SIZE_MAX - b->len - 1) return -1;
    size_t need = b->len + more + 1; /* +1: room for a terminating NUL */
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_append(Buf *b, const void *p, size_t n) {
    if (buf_reserve(b, n) != 0) return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ------------------------------------------------------------------ errors */

static uint64_t rd_off(const RdbReader *r) { return r->base + r->pos; }

static int rd_error(RdbReader *r, uint64_t off, const char *suffix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int rd_error(RdbReader *r, uint64_t off, const char *suffix, const char *fmt, ...) {
    if (r->state == ST_FAILED) return -1; /* keep the first message */
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Long names and keys are cut to fit: the line stays one line. */
    if (snprintf(r->err, sizeof(r->err), "%s: offset %llu: %s%s%s", r->name, (unsigned long long)off, msg,
                 r->ctx, suffix) >= (int)sizeof(r->err))
        memcpy(r->err + sizeof(r->err) - 4, "...", 4);
    r->state = ST_FAILED;
    return -1;
}

#define rd_corrupt(r, off, ...) rd_error((r), (off), SUFFIX_CORRUPT, __VA_ARGS__)

static int rd_oom(RdbReader *r, uint64_t n) {
    return rd_error(r, rd_off(r), "", "out of memory holding %llu bytes", (unsigned long long)n);
}

/* Printable, bounded copy of a key for messages. */
static void rd_quote(char *dst, size_t cap, const char *s, size_t len) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 48) {
            o += (size_t)snprintf(dst + o, cap - o, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            dst[o++] = (char)c;
        else
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
    }
    dst[o < cap ? o : cap - 1] = '\0';
}

/* ------------------------------------------------------------------ input */

/* Settles the CRC and the payload capture up to pos. */
static int rd_flush(RdbReader *r) {
    if (r->crc_on && r->pos > r->crc_mark) r->crc = crc64(r->crc, r->buf + r->crc_mark, r->pos - r->crc_mark);
    r->crc_mark = r->pos;
    if (r->capturing && r->pos > r->cap_mark) {
        if (buf_append(&r->payload, r->buf + r->cap_mark, r->pos - r->cap_mark) != 0)
            return rd_oom(r, r->payload.len + (r->pos - r->cap_mark));
    }
    r->cap_mark = r->pos;
    return 0;
}

/* Makes at least need (<= bufcap) unread bytes available. */
static int rd_more(RdbReader *r, size_t need) {
    if (r->end - r->pos >= need) return 0;
    if (r->state == ST_FAILED) return -1;
    if (rd_flush(r) != 0) return -1;
    size_t keep = r->end - r->pos;
    memmove(r->buf, r->buf + r->pos, keep);
    r->base += r->pos;
    r->end = keep;
    r->pos = r->crc_mark = r->cap_mark = 0;
    while (r->end < need) {
        size_t room = r->bufcap - r->end;
        if (r->framing == FRAME_LENGTH) {
            uint64_t left = r->size - r->pulled;
            if (left < room) room = (size_t)left;
        }
        ssize_t n = 0;
        char e[256] = "";
        if (!r->src_eof && room > 0) n = r->fn(r->ud, r->buf + r->end, room, e, sizeof(e));
        if (n < 0) return rd_error(r, r->base + r->end, "", "read failed: %s", e[0] ? e : "I/O error");
        if (n == 0) {
            r->src_eof = 1;
            return rd_error(r, r->base + r->end, SUFFIX_TRUNC, "the data ends");
        }
        r->end += (size_t)n;
        r->pulled += (uint64_t)n;
    }
    return 0;
}

static int rd_u8(RdbReader *r, unsigned char *out) {
    if (r->pos == r->end && rd_more(r, 1) != 0) return -1;
    *out = r->buf[r->pos++];
    return 0;
}

/* Copies n bytes to dst (or skips them when dst is NULL). */
static int rd_raw(RdbReader *r, void *dst, uint64_t n) {
    unsigned char *d = dst;
    while (n > 0) {
        if (r->pos == r->end && rd_more(r, 1) != 0) return -1;
        size_t k = r->end - r->pos;
        if (k > n) k = (size_t)n;
        if (d) {
            memcpy(d, r->buf + r->pos, k);
            d += k;
        }
        r->pos += k;
        n -= k;
    }
    return 0;
}

/* Bytes left in the input, UINT64_MAX when unknown. */
static uint64_t rd_left(const RdbReader *r) {
    if (!r->size || r->framing == FRAME_EOFMARK) return UINT64_MAX;
    uint64_t off = rd_off(r);
    return r->size > off ? r->size - off : 0;
}

/* A length must fit in what is left of the input. */
static int rd_fits(RdbReader *r, uint64_t off, uint64_t n, const char *what) {
    uint64_t left = rd_left(r);
    if (n > left)
        return rd_error(r, off, SUFFIX_SHORT, "%s of %llu bytes is larger than the %llu bytes left", what,
                        (unsigned long long)n, (unsigned long long)left);
    return 0;
}

/* Replaces b's content with the next n bytes, growing b as they arrive. */
static int rd_load(RdbReader *r, Buf *b, uint64_t n) {
    b->len = 0;
    while (n > 0) {
        if (r->pos == r->end && rd_more(r, 1) != 0) return -1;
        size_t k = r->end - r->pos;
        if (k > n) k = (size_t)n;
        if (buf_append(b, r->buf + r->pos, k) != 0) return rd_oom(r, b->len + n);
        r->pos += k;
        n -= k;
    }
    if (buf_reserve(b, 0) != 0) return rd_oom(r, b->len);
    b->p[b->len] = '\0';
    return 0;
}

/* A length. When the two top bits are 11 the byte names a string encoding:
 * *enc gets it (0..63) if enc is not NULL, else that is corruption. */
static int rd_len(RdbReader *r, uint64_t *len, int *enc) {
    uint64_t off = rd_off(r);
    unsigned char b, x[8];
    if (enc) *enc = -1;
    if (rd_u8(r, &b) != 0) return -1;
    switch (b >> 6) {
    case 0:
        *len = b & 0x3f;
        return 0;
    case 1:
        if (rd_u8(r, &x[0]) != 0) return -1;
        *len = (uint64_t)(b & 0x3f) << 8 | x[0];
        return 0;
    case 2:
        if (b == 0x80) {
            if (rd_raw(r, x, 4) != 0) return -1;
            *len = (uint64_t)x[0] << 24 | (uint64_t)x[1] << 16 | (uint64_t)x[2] << 8 | x[3];
            return 0;
        }
        if (b == 0x81) {
            if (rd_raw(r, x, 8) != 0) return -1;
            *len = 0;
            for (int i = 0; i < 8; i++) *len = *len << 8 | x[i];
            return 0;
        }
        return rd_corrupt(r, off, "bad length encoding 0x%02x", b);
    default:
        if (!enc) return rd_corrupt(r, off, "bad length encoding 0x%02x (a string encoding where a length belongs)", b);
        *enc = b & 0x3f;
        *len = 0;
        return 0;
    }
}

/* A count of elements that each take at least min_bytes. */
static int rd_count(RdbReader *r, uint64_t *n, uint64_t min_bytes, const char *what) {
    uint64_t off = rd_off(r);
    if (rd_len(r, n, NULL) != 0) return -1;
    uint64_t left = rd_left(r);
    if (left != UINT64_MAX && *n > left / min_bytes)
        return rd_error(r, off, SUFFIX_SHORT, "%s count %llu cannot fit in the %llu bytes left", what,
                        (unsigned long long)*n, (unsigned long long)left);
    return 0;
}

/* A string. Into b (decoded: integers as decimal text, LZF decompressed)
 * when b is not NULL, else skipped. */
static int rd_string(RdbReader *r, Buf *b) {
    uint64_t off = rd_off(r);
    uint64_t len;
    int enc;
    if (rd_len(r, &len, &enc) != 0) return -1;
    if (enc < 0) {
        if (rd_fits(r, off, len, "a string") != 0) return -1;
        return b ? rd_load(r, b, len) : rd_raw(r, NULL, len);
    }
    if (enc <= 2) { /* 8, 16, 32 bit signed integer, little endian */
        unsigned char x[4];
        int n = 1 << enc;
        if (rd_raw(r, x, (uint64_t)n) != 0) return -1;
        if (!b) return 0;
        long long v = enc == 0 ? (long long)(int8_t)x[0]
                    : enc == 1 ? (long long)(int16_t)(uint16_t)(x[0] | x[1] << 8)
                               : (long long)(int32_t)le32(x);
        char t[24];
        int tl = snprintf(t, sizeof(t), "%lld", v);
        b->len = 0;
        if (buf_append(b, t, (size_t)tl) != 0) return rd_oom(r, (uint64_t)tl);
        return 0;
    }
    if (enc != 3) return rd_corrupt(r, off, "unknown string encoding %d", enc);
    uint64_t clen, ulen;
    if (rd_len(r, &clen, NULL) != 0 || rd_len(r, &ulen, NULL) != 0) return -1;
    if (rd_fits(r, off, clen, "an LZF string") != 0) return -1;
    if (clen == 0 || ulen == 0 || clen > UINT64_MAX / RDB_LZF_MAX_RATIO - 64 ||
        ulen > clen * RDB_LZF_MAX_RATIO + 64)
        return rd_corrupt(r, off, "impossible LZF sizes (%llu compressed, %llu uncompressed)",
                          (unsigned long long)clen, (unsigned long long)ulen);
    if (!b) return rd_raw(r, NULL, clen);
    if (rd_load(r, &r->lzf, clen) != 0) return -1;
    b->len = 0;
    if (buf_reserve(b, (size_t)ulen) != 0) return rd_oom(r, ulen);
    size_t got = rdb_lzf_decompress(r->lzf.p, r->lzf.len, b->p, (size_t)ulen);
    if (got != ulen) return rd_corrupt(r, off, "bad LZF data (%llu bytes promised)", (unsigned long long)ulen);
    b->len = got;
    b->p[got] = '\0';
    return 0;
}

/* A blob (a string holding a listpack, ziplist...). When the value is being
 * copied, it is loaded and its header checked; when skipped, just skipped. */
static int rd_blob(RdbReader *r, int kind) {
    uint64_t off = rd_off(r);
    if (!r->capturing) return rd_string(r, NULL);
    if (rd_string(r, &r->blob) != 0) return -1;
    const unsigned char *p = r->blob.p;
    size_t n = r->blob.len;
    switch (kind) {
    case BLOB_LISTPACK:
        if (n < 7 || le32(p) != n || p[n - 1] != 0xff)
            return rd_corrupt(r, off, "bad listpack header (%zu bytes)", n);
        return 0;
    case BLOB_ZIPLIST:
        if (n < 11 || le32(p) != n || le32(p + 4) >= n || p[n - 1] != 0xff)
            return rd_corrupt(r, off, "bad ziplist header (%zu bytes)", n);
        return 0;
    case BLOB_INTSET: {
        uint32_t enc = n >= 8 ? le32(p) : 0;
        if (n < 8 || (enc != 2 && enc != 4 && enc != 8) || 8 + (uint64_t)enc * le32(p + 4) != n)
            return rd_corrupt(r, off, "bad intset header (%zu bytes)", n);
        return 0;
    }
    case BLOB_ZIPMAP:
        if (n < 2 || p[n - 1] != 0xff) return rd_corrupt(r, off, "bad zipmap (%zu bytes)", n);
        return 0;
    case BLOB_NODEKEY:
        if (n != 16) return rd_corrupt(r, off, "stream node key of %zu bytes (16 expected)", n);
        return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ values */

void rdb_module_name(uint64_t id, char name[10]) {
    static const char cs[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    id >>= 10;
    for (int j = 0; j < 9; j++) {
        name[8 - j] = cs[id & 63];
        id >>= 6;
    }
    name[9] = '\0';
}

/* A module's serialized data: typed items up to the EOF opcode. */
static int rd_module_items(RdbReader *r, const char *name) {
    for (;;) {
        uint64_t off = rd_off(r), op, v;
        if (rd_len(r, &op, NULL) != 0) return -1;
        switch (op) {
        case 0: return 0;          /* EOF */
        case 1:                    /* SINT */
        case 2:                    /* UINT */
            if (rd_len(r, &v, NULL) != 0) return -1;
            break;
        case 3: if (rd_raw(r, NULL, 4) != 0) return -1; break; /* FLOAT */
        case 4: if (rd_raw(r, NULL, 8) != 0) return -1; break; /* DOUBLE */
        case 5: if (rd_string(r, NULL) != 0) return -1; break; /* STRING */
        default: return rd_corrupt(r, off, "unknown opcode %llu in module %s data", (unsigned long long)op, name);
        }
    }
}

static int rd_stream(RdbReader *r, int type) {
    uint64_t n, v;
    int v2 = type >= RDB_TYPE_STREAM_LISTPACKS_2, v3 = type >= RDB_TYPE_STREAM_LISTPACKS_3;
    if (rd_count(r, &n, 2, "stream node") != 0) return -1;
    for (uint64_t i = 0; i < n; i++)
        if (rd_blob(r, BLOB_NODEKEY) != 0 || rd_blob(r, BLOB_LISTPACK) != 0) return -1;
    /* length, last id; then first id, max deleted id, entries added */
    for (int i = 0; i < (v2 ? 8 : 3); i++)
        if (rd_len(r, &v, NULL) != 0) return -1;
    uint64_t ngroups;
    if (rd_count(r, &ngroups, 3, "consumer group") != 0) return -1;
    for (uint64_t g = 0; g < ngroups; g++) {
        if (rd_string(r, NULL) != 0) return -1;            /* name */
        for (int i = 0; i < (v2 ? 3 : 2); i++)              /* last id; entries read */
            if (rd_len(r, &v, NULL) != 0) return -1;
        uint64_t npel;
        if (rd_count(r, &npel, 25, "pending entry") != 0) return -1;
        for (uint64_t p = 0; p < npel; p++)                  /* id, delivery time, count */
            if (rd_raw(r, NULL, 24) != 0 || rd_len(r, &v, NULL) != 0) return -1;
        uint64_t ncons;
        if (rd_count(r, &ncons, v3 ? 18 : 10, "consumer") != 0) return -1;
        for (uint64_t c = 0; c < ncons; c++) {
            if (rd_string(r, NULL) != 0 || rd_raw(r, NULL, v3 ? 16 : 8) != 0) return -1; /* name, seen (active) */
            uint64_t cpel;
            if (rd_count(r, &cpel, 16, "consumer pending entry") != 0) return -1;
            if (cpel > UINT64_MAX / 16) return rd_corrupt(r, rd_off(r), "consumer pending entry count %llu", (unsigned long long)cpel);
            if (rd_raw(r, NULL, cpel * 16) != 0) return -1;
        }
    }
    return 0;
}

/* Walks one value of the given type (the type byte is already read). */
static int rd_value(RdbReader *r, int type, uint64_t type_off, char module[10]) {
    uint64_t n, v;
    unsigned char d;
    switch (type) {
    case RDB_TYPE_STRING: return rd_string(r, NULL);
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
        if (rd_count(r, &n, 1, type == RDB_TYPE_LIST ? "list element" : "set member") != 0) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (rd_string(r, NULL) != 0) return -1;
        return 0;
    case RDB_TYPE_ZSET: /* member + score as text: 1-byte length, 253..255 = nan/+inf/-inf */
        if (rd_count(r, &n, 2, "sorted set member") != 0) return -1;
        for (uint64_t i = 0; i < n; i++) {
            if (rd_string(r, NULL) != 0 || rd_u8(r, &d) != 0) return -1;
            if (d < 253 && rd_raw(r, NULL, d) != 0) return -1;
        }
        return 0;
    case RDB_TYPE_ZSET_2: /* member + binary double */
        if (rd_count(r, &n, 9, "sorted set member") != 0) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (rd_string(r, NULL) != 0 || rd_raw(r, NULL, 8) != 0) return -1;
        return 0;
    case RDB_TYPE_HASH:
        if (rd_count(r, &n, 2, "hash field") != 0) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (rd_string(r, NULL) != 0 || rd_string(r, NULL) != 0) return -1;
        return 0;
    case RDB_TYPE_HASH_ZIPMAP: return rd_blob(r, BLOB_ZIPMAP);
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_HASH_ZIPLIST: return rd_blob(r, BLOB_ZIPLIST);
    case RDB_TYPE_SET_INTSET: return rd_blob(r, BLOB_INTSET);
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_ZSET_LISTPACK:
    case RDB_TYPE_SET_LISTPACK: return rd_blob(r, BLOB_LISTPACK);
    case RDB_TYPE_LIST_QUICKLIST:
        if (rd_count(r, &n, 1, "quicklist node") != 0) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (rd_blob(r, BLOB_ZIPLIST) != 0) return -1;
        return 0;
    case RDB_TYPE_LIST_QUICKLIST_2:
        if (rd_count(r, &n, 2, "quicklist node") != 0) return -1;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t off = rd_off(r);
            if (rd_len(r, &v, NULL) != 0) return -1;
            if (v == 1) { /* PLAIN: one big element */
                if (rd_string(r, NULL) != 0) return -1;
            } else if (v == 2) { /* PACKED: a listpack */
                if (rd_blob(r, BLOB_LISTPACK) != 0) return -1;
            } else {
                return rd_corrupt(r, off, "unknown quicklist container %llu", (unsigned long long)v);
            }
        }
        return 0;
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
    case RDB_TYPE_STREAM_LISTPACKS_3: return rd_stream(r, type);
    case 22:
        if (r->valkey) { /* Valkey 9 hash with field TTLs: field, value, expiry (ms, -1 = none) */
            if (rd_count(r, &n, 10, "hash field") != 0) return -1;
            for (uint64_t i = 0; i < n; i++)
                if (rd_string(r, NULL) != 0 || rd_string(r, NULL) != 0 || rd_raw(r, NULL, 8) != 0) return -1;
            return 0;
        }
        /* Redis 7.4 RC: absolute TTL, field, value */
        if (rd_count(r, &n, 3, "hash field") != 0) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (rd_len(r, &v, NULL) != 0 || rd_string(r, NULL) != 0 || rd_string(r, NULL) != 0) return -1;
        return 0;
    case RDB_TYPE_HASH_LISTPACK_EX_PRE_GA:
        if (r->valkey) break;
        return rd_blob(r, BLOB_LISTPACK);
    case RDB_TYPE_HASH_METADATA: /* min expiry; then TTL relative to it, field, value */
        if (r->valkey) break;
        if (rd_raw(r, NULL, 8) != 0) return -1;
        if (rd_count(r, &n, 3, "hash field") != 0) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (rd_len(r, &v, NULL) != 0 || rd_string(r, NULL) != 0 || rd_string(r, NULL) != 0) return -1;
        return 0;
    case RDB_TYPE_HASH_LISTPACK_EX: /* min expiry + listpack of field, value, ttl */
        if (r->valkey) break;
        if (rd_raw(r, NULL, 8) != 0) return -1;
        return rd_blob(r, BLOB_LISTPACK);
    case RDB_TYPE_MODULE_2:
        if (rd_len(r, &v, NULL) != 0) return -1;
        rdb_module_name(v, module);
        return rd_module_items(r, module);
    case RDB_TYPE_MODULE_PRE_GA:
        return rd_error(r, type_off, "", "a module value in the Redis 4.0 release-candidate format (type 6) cannot be delimited without the module: re-save the snapshot with a newer server");
    }
    return rd_corrupt(r, type_off, "unknown value type %d (RDB version %d)", type, r->version);
}

/* ----------------------------------------------------------------- public */

const char *rdb_type_name(int t) {
    switch (t) {
    case RDB_TYPE_STRING: return "string";
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: return "list";
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_SET_LISTPACK: return "set";
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK: return "zset";
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK:
    case 22:
    case RDB_TYPE_HASH_LISTPACK_EX_PRE_GA:
    case RDB_TYPE_HASH_METADATA:
    case RDB_TYPE_HASH_LISTPACK_EX: return "hash";
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
    case RDB_TYPE_STREAM_LISTPACKS_3: return "stream";
    case RDB_TYPE_MODULE_PRE_GA:
    case RDB_TYPE_MODULE_2: return "module";
    }
    return NULL;
}

static RdbReader *rdb_alloc(const char *name) {
    RdbReader *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->buf = malloc(RDB_BUF_SIZE);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->bufcap = RDB_BUF_SIZE;
    r->fd = -1;
    r->crc_on = 1;
    r->expire_ms = 0;
    r->idle_s = -1;
    r->freq = -1;
    snprintf(r->name, sizeof(r->name), "%s", name && *name ? name : "rdb");
    return r;
}

RdbReader *rdb_reader_new(RdbReadFn fn, void *ud, const char *name, uint64_t size) {
    RdbReader *r = rdb_alloc(name);
    if (!r) return NULL;
    r->fn = fn;
    r->ud = ud;
    r->size = size;
    return r;
}

static ssize_t rdb_file_read(void *ud, void *buf, size_t len, char *err, size_t errlen) {
    RdbReader *r = ud;
    for (;;) {
        ssize_t n = read(r->fd, buf, len);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
}

RdbReader *rdb_reader_open_file(const char *path, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file: give the path of an RDB snapshot", path);
        close(fd);
        return NULL;
    }
    RdbReader *r = rdb_alloc(path);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        close(fd);
        return NULL;
    }
    r->fd = fd;
    r->fn = rdb_file_read;
    r->ud = r;
    r->size = (uint64_t)st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return r;
}

void rdb_reader_free(RdbReader *r) {
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    free(r->buf);
    free(r->payload.p);
    free(r->key.p);
    free(r->auxname.p);
    free(r->value.p);
    free(r->blob.p);
    free(r->lzf.p);
    free(r);
}

int rdb_reader_set_framing(RdbReader *r, const char *line, size_t len, char *err, size_t errlen) {
    if (len == 5 + RDB_EOFMARK_LEN && !memcmp(line, "$EOF:", 5)) {
        r->framing = FRAME_EOFMARK;
        memcpy(r->eofmark, line + 5, RDB_EOFMARK_LEN);
        r->size = 0;
        return 0;
    }
    uint64_t n = 0;
    size_t i = 1;
    if (len >= 2 && line[0] == '$') {
        for (; i < len && line[i] >= '0' && line[i] <= '9' && n < UINT64_MAX / 10; i++) n = n * 10 + (uint64_t)(line[i] - '0');
    }
    if (len < 2 || line[0] != '$' || i != len || n == 0) {
        char q[80];
        rd_quote(q, sizeof(q), line, len);
        snprintf(err, errlen, "%s: the snapshot header \"%s\" is neither $<length> nor $EOF:<40-byte mark>", r->name, q);
        return -1;
    }
    r->framing = FRAME_LENGTH;
    r->size = n;
    return 0;
}

void rdb_reader_set_want(RdbReader *r, RdbWantFn fn, void *ud) {
    r->want = fn;
    r->want_ud = ud;
}

int rdb_reader_version(const RdbReader *r) { return r->version; }
int rdb_reader_is_valkey(const RdbReader *r) { return r->valkey; }
uint64_t rdb_reader_offset(const RdbReader *r) { return rd_off(r); }
uint64_t rdb_reader_size(const RdbReader *r) { return r->framing == FRAME_EOFMARK ? 0 : r->size; }
uint64_t rdb_reader_trailing(const RdbReader *r) { return r->trailing; }

void rdb_reader_leftover(const RdbReader *r, const unsigned char **p, size_t *len) {
    if (r->state == ST_DONE && r->end > r->pos) {
        *p = r->buf + r->pos;
        *len = r->end - r->pos;
    } else {
        *p = NULL;
        *len = 0;
    }
}

/* "REDIS0011" / "VALKEY080" → version. -1 with a message. */
static int rdb_parse_magic(const unsigned char *m, const char *name, int *version, int *valkey,
                           char *err, size_t errlen) {
    int digits, v = 0;
    if (!memcmp(m, "REDIS", 5)) {
        *valkey = 0;
        digits = 4;
    } else if (!memcmp(m, "VALKEY", 6)) {
        *valkey = 1;
        digits = 3;
    } else {
        char q[40];
        rd_quote(q, sizeof(q), (const char *)m, 9);
        snprintf(err, errlen, "%s: offset 0: not an RDB snapshot (it starts with \"%s\", not REDIS or VALKEY)%s",
                 name, q, SUFFIX_CORRUPT);
        return -1;
    }
    for (int i = 9 - digits; i < 9; i++) {
        if (m[i] < '0' || m[i] > '9') {
            snprintf(err, errlen, "%s: offset %d: bad RDB version digits%s", name, i, SUFFIX_CORRUPT);
            return -1;
        }
        v = v * 10 + (m[i] - '0');
    }
    *version = v;
    if (*valkey ? v != RDB_VERSION_VALKEY : (v < RDB_VERSION_MIN || v > RDB_VERSION_REDIS_MAX)) {
        snprintf(err, errlen, "%s: RDB version %d (%s magic) is not supported: ferry reads Redis RDB %d to %d (Redis up to 7.4) and Valkey RDB %d (Valkey 9)",
                 name, v, *valkey ? "VALKEY" : "REDIS", RDB_VERSION_MIN, RDB_VERSION_REDIS_MAX, RDB_VERSION_VALKEY);
        return -1;
    }
    return 0;
}

int rdb_read_header(RdbReader *r, char *err, size_t errlen) {
    if (r->state == ST_FAILED) goto fail;
    if (r->state != ST_HEADER) return 0;
    if (r->size && r->framing != FRAME_EOFMARK && r->size < 9 + 1) {
        rd_corrupt(r, 0, "only %llu bytes: too short for an RDB", (unsigned long long)r->size);
        goto fail;
    }
    unsigned char m[9];
    if (rd_raw(r, m, 9) != 0) goto fail;
    if (rdb_parse_magic(m, r->name, &r->version, &r->valkey, r->err, sizeof(r->err)) != 0) {
        r->state = ST_FAILED;
        goto fail;
    }
    r->state = ST_BODY;
    return 0;
fail:
    if (err) snprintf(err, errlen, "%s", r->err);
    return -1;
}

static void rdb_event_reset(RdbReader *r, RdbEvent *ev, RdbEventType t, uint64_t off) {
    memset(ev, 0, sizeof(*ev));
    ev->type = t;
    ev->offset = off;
    ev->db = r->db;
    ev->idle_s = -1;
    ev->freq = -1;
}

/* Reads one key record whose type byte t (at off) was just read. */
static int rdb_key(RdbReader *r, RdbEvent *ev, int t, uint64_t off) {
    const char *tn = rdb_type_name(t);
    snprintf(r->ctx, sizeof(r->ctx), " in a key's name (%s)", tn);
    if (rd_string(r, &r->key) != 0) return -1;
    char q[200];
    rd_quote(q, sizeof(q), (const char *)r->key.p, r->key.len);
    if (snprintf(r->ctx, sizeof(r->ctx), " in key \"%s\" (%s)", q, tn) >= (int)sizeof(r->ctx))
        r->ctx[sizeof(r->ctx) - 1] = '\0';

    int want = r->want ? r->want(r->want_ud, r->db, (const char *)r->key.p, r->key.len, t) : 1;
    uint64_t vstart = rd_off(r);
    r->payload.len = 0;
    char module[10] = "";
    if (want) {
        unsigned char tb = (unsigned char)t;
        if (buf_append(&r->payload, &tb, 1) != 0) return rd_oom(r, 1);
        r->cap_mark = r->pos;
        r->capturing = 1;
    }
    int rc = rd_value(r, t, off, module);
    if (want) {
        if (rc == 0) rc = rd_flush(r);
        r->capturing = 0;
    }
    if (rc != 0) return -1;
    rdb_event_reset(r, ev, RDB_EV_KEY, off);
    ev->key = (const char *)r->key.p;
    ev->keylen = r->key.len;
    ev->rdb_type = t;
    ev->expire_ms = r->expire_ms;
    ev->idle_s = r->idle_s;
    ev->freq = r->freq;
    ev->value_len = (size_t)(rd_off(r) - vstart) + 1;
    memcpy(ev->module, module, sizeof(ev->module));
    if (want) {
        unsigned char f[RDB_PAYLOAD_FOOTER];
        f[0] = (unsigned char)(r->version & 0xff);
        f[1] = (unsigned char)(r->version >> 8);
        if (buf_append(&r->payload, f, 2) != 0) return rd_oom(r, r->payload.len + 10);
        uint64_t c = crc64(0, r->payload.p, r->payload.len);
        for (int i = 0; i < 8; i++) f[2 + i] = (unsigned char)(c >> (8 * i));
        if (buf_append(&r->payload, f + 2, 8) != 0) return rd_oom(r, r->payload.len + 8);
        ev->payload = r->payload.p;
        ev->payload_len = r->payload.len;
    }
    r->expire_ms = 0;
    r->idle_s = -1;
    r->freq = -1;
    r->ctx[0] = '\0';
    return 0;
}

/* The end marker: checksum, then the framing's own end. */
static int rdb_end(RdbReader *r, RdbEvent *ev, uint64_t off) {
    if (rd_flush(r) != 0) return -1;
    r->crc_on = 0;
    uint64_t stored = 0;
    snprintf(r->ctx, sizeof(r->ctx), " in the end marker's checksum");
    if (r->version >= 5) {
        unsigned char c[8];
        if (rd_raw(r, c, 8) != 0) return -1;
        stored = le64(c);
        if (stored && stored != r->crc)
            return rd_corrupt(r, off + 1, "checksum mismatch (the file says %016llx, its bytes give %016llx)",
                              (unsigned long long)stored, (unsigned long long)r->crc);
    }
    r->ctx[0] = '\0';
    if (r->framing == FRAME_EOFMARK) {
        uint64_t moff = rd_off(r);
        char mark[RDB_EOFMARK_LEN];
        snprintf(r->ctx, sizeof(r->ctx), " in the end mark after the snapshot");
        if (rd_raw(r, mark, RDB_EOFMARK_LEN) != 0) return -1;
        r->ctx[0] = '\0';
        if (memcmp(mark, r->eofmark, RDB_EOFMARK_LEN))
            return rd_corrupt(r, moff, "the snapshot is not followed by the end mark the primary announced");
    } else if (r->framing == FRAME_LENGTH) {
        if (rd_off(r) != r->size)
            return rd_corrupt(r, rd_off(r), "the snapshot ends %llu bytes before the length the primary announced",
                              (unsigned long long)(r->size - rd_off(r)));
    } else if (r->size > rd_off(r)) {
        r->trailing = r->size - rd_off(r);
    }
    rdb_event_reset(r, ev, RDB_EV_END, off);
    ev->checksum = stored != 0;
    r->state = ST_DONE;
    return 0;
}

int rdb_next(RdbReader *r, RdbEvent *ev, char *err, size_t errlen) {
    if (r->state == ST_HEADER && rdb_read_header(r, NULL, 0) != 0) goto fail;
    if (r->state == ST_FAILED) goto fail;
    if (r->state == ST_DONE) return 0;
    for (;;) {
        uint64_t off = rd_off(r), a, b, c;
        unsigned char t, x[8];
        r->ctx[0] = '\0';
        if (rd_u8(r, &t) != 0) goto fail;
        switch (t) {
        case OP_EXPIRETIME_MS: {
            snprintf(r->ctx, sizeof(r->ctx), " in an expiry");
            if (rd_raw(r, x, 8) != 0) goto fail;
            int64_t ms = (int64_t)le64(x);
            r->expire_ms = ms > 0 ? ms : 1; /* 0 and below: long past, not "none" */
            continue;
        }
        case OP_EXPIRETIME: {
            snprintf(r->ctx, sizeof(r->ctx), " in an expiry");
            if (rd_raw(r, x, 4) != 0) goto fail;
            int64_t s = (int32_t)le32(x);
            r->expire_ms = s > 0 ? s * 1000 : 1;
            continue;
        }
        case OP_FREQ:
            if (rd_u8(r, &x[0]) != 0) goto fail;
            r->freq = x[0];
            continue;
        case OP_IDLE:
            if (rd_len(r, &a, NULL) != 0) goto fail;
            r->idle_s = a > INT64_MAX ? INT64_MAX : (int64_t)a;
            continue;
        case OP_SELECTDB:
            if (rd_len(r, &a, NULL) != 0) goto fail;
            if (a >= RDB_MAX_DB) {
                rd_corrupt(r, off, "db number %llu", (unsigned long long)a);
                goto fail;
            }
            r->db = (int)a;
            rdb_event_reset(r, ev, RDB_EV_SELECTDB, off);
            return 1;
        case OP_RESIZEDB:
            if (rd_len(r, &a, NULL) != 0 || rd_len(r, &b, NULL) != 0) goto fail;
            rdb_event_reset(r, ev, RDB_EV_RESIZEDB, off);
            ev->db_size = a;
            ev->expires_size = b;
            return 1;
        case OP_SLOT_INFO: /* slot id, keys, expiring keys: sizing hints */
            if (rd_len(r, &a, NULL) != 0 || rd_len(r, &b, NULL) != 0 || rd_len(r, &c, NULL) != 0) goto fail;
            continue;
        case OP_AUX:
            snprintf(r->ctx, sizeof(r->ctx), " in an AUX field");
            if (rd_string(r, &r->auxname) != 0 || rd_string(r, &r->value) != 0) goto fail;
            rdb_event_reset(r, ev, RDB_EV_AUX, off);
            ev->name = (const char *)r->auxname.p;
            ev->namelen = r->auxname.len;
            ev->value = (const char *)r->value.p;
            ev->valuelen = r->value.len;
            return 1;
        case OP_MODULE_AUX: {
            char mod[10];
            snprintf(r->ctx, sizeof(r->ctx), " in module AUX data");
            uint64_t wo;
            if (rd_len(r, &a, NULL) != 0) goto fail;
            rdb_module_name(a, mod);
            uint64_t woff = rd_off(r);
            if (rd_len(r, &wo, NULL) != 0 || rd_len(r, &b, NULL) != 0) goto fail;
            if (wo != 2) {
                rd_corrupt(r, woff, "module %s AUX data without its 'when' marker", mod);
                goto fail;
            }
            if (rd_module_items(r, mod) != 0) goto fail;
            rdb_event_reset(r, ev, RDB_EV_MODULE_AUX, off);
            memcpy(ev->module, mod, sizeof(mod));
            return 1;
        }
        case OP_FUNCTION2:
            snprintf(r->ctx, sizeof(r->ctx), " in a function library");
            if (rd_string(r, &r->value) != 0) goto fail;
            rdb_event_reset(r, ev, RDB_EV_FUNCTION, off);
            ev->value = (const char *)r->value.p;
            ev->valuelen = r->value.len;
            return 1;
        case OP_FUNCTION_PRE_GA:
            rd_error(r, off, "", "functions in the Redis 7.0 release-candidate format (opcode 246) are not supported: re-save the snapshot with Redis 7.0 or newer");
            goto fail;
        case OP_SLOT_IMPORT:
            rd_error(r, off, "", "opcode 243 (Valkey 9 cluster slot-import state, or Redis 8 key metadata) is not supported by this reader");
            goto fail;
        case OP_EOF:
            if (rdb_end(r, ev, off) != 0) goto fail;
            return 1;
        default:
            if (!rdb_type_name(t) || (r->valkey && t > 22)) {
                rd_corrupt(r, off, "unknown record type %d (RDB version %d)", t, r->version);
                goto fail;
            }
            if (rdb_key(r, ev, t, off) != 0) goto fail;
            return 1;
        }
    }
fail:
    r->state = ST_FAILED;
    r->capturing = 0;
    if (!r->err[0]) snprintf(r->err, sizeof(r->err), "%s: offset %llu: unreadable", r->name, (unsigned long long)rd_off(r));
    if (err) snprintf(err, errlen, "%s", r->err);
    return -1;
}

/* -------------------------------------------------------- file checksum */

int rdb_file_verify(const char *path, const _Atomic int *cancel, _Atomic uint64_t *progress,
                    char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    unsigned char *chunk = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file: give the path of an RDB snapshot", path);
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char head[9], tail[9];
    if (size < 10 || pread(fd, head, 9, 0) != 9) {
        snprintf(err, errlen, "%s: offset 0: only %llu bytes: too short for an RDB%s", path,
                 (unsigned long long)size, SUFFIX_CORRUPT);
        goto out;
    }
    int version, valkey;
    if (rdb_parse_magic(head, path, &version, &valkey, err, errlen) != 0) goto out;
    if (version < 5) { /* no checksum before RDB 5 */
        rc = 0;
        goto out;
    }
    if (size < 18 || pread(fd, tail, 9, (off_t)(size - 9)) != 9 || tail[0] != OP_EOF) {
        snprintf(err, errlen, "%s: offset %llu: the file does not end with the RDB end marker and checksum: it is truncated (or has data appended)",
                 path, (unsigned long long)(size >= 9 ? size - 9 : 0));
        goto out;
    }
    uint64_t stored = le64(tail + 1);
    if (!stored) {
        rc = 0;
        goto out;
    }
    chunk = malloc(RDB_FILE_CHUNK);
    if (!chunk) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    uint64_t crc = 0, done = 0, total = size - 8;
    while (done < total) {
        if (cancel && atomic_load(cancel)) {
            snprintf(err, errlen, "%s: stopped while its checksum was being verified", path);
            goto out;
        }
        size_t want = total - done < RDB_FILE_CHUNK ? (size_t)(total - done) : RDB_FILE_CHUNK;
        ssize_t n = pread(fd, chunk, want, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: offset %llu: read failed: %s", path, (unsigned long long)done,
                     n < 0 ? strerror(errno) : "the file shrank while it was read");
            goto out;
        }
        crc = crc64(crc, chunk, (size_t)n);
        done += (uint64_t)n;
        if (progress) atomic_store(progress, done);
    }
    if (crc != stored) {
        snprintf(err, errlen, "%s: checksum mismatch (the file says %016llx, its bytes give %016llx): the file is corrupt",
                 path, (unsigned long long)stored, (unsigned long long)crc);
        goto out;
    }
    rc = 1;
out:
    free(chunk);
    close(fd);
    return rc;
}

int rdb_payload_verify(const unsigned char *p, size_t len, int *version) {
    if (!p || len < 1 + RDB_PAYLOAD_FOOTER) return -1;
    uint64_t stored = le64(p + len - 8);
    if (crc64(0, p, len - 8) != stored) return -1;
    if (version) *version = p[len - 10] | p[len - 9] << 8;
    return 0;
}

/* ------------------------------------------------- set/hash payload elements */

int rdb_cursor_len(RdbCursor *c, uint64_t *v, int *enc) {
    if (c->p >= c->end) return -1;
    unsigned char b = *c->p++;
    *enc = -1;
    switch (b >> 6) {
    case 0: *v = b & 0x3f; return 0;
    case 1:
        if (c->p >= c->end) return -1;
        *v = (uint64_t)(b & 0x3f) << 8 | *c->p++;
        return 0;
    case 2: {
        int n = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
        if (!n || c->end - c->p < n) return -1;
        *v = 0;
        for (int i = 0; i < n; i++) *v = *v << 8 | *c->p++;
        return 0;
    }
    default: *enc = b & 0x3f; *v = 0; return 0;
    }
}

int rdb_cursor_string(RdbCursor *c, const unsigned char **s, size_t *n, char num[24]) {
    uint64_t v, clen, ulen;
    int enc, e2;
    if (rdb_cursor_len(c, &v, &enc) != 0) return -1;
    if (enc < 0) {
        if ((uint64_t)(c->end - c->p) < v) return -1;
        *s = c->p;
        *n = (size_t)v;
        c->p += v;
        return 0;
    }
    if (enc <= 2) {
        int k = 1 << enc;
        if (c->end - c->p < k) return -1;
        const unsigned char *x = c->p;
        long long iv = enc == 0 ? (int8_t)x[0] : enc == 1 ? (int16_t)(uint16_t)(x[0] | x[1] << 8) : (int32_t)le32(x);
        c->p += k;
        *n = (size_t)snprintf(num, 24, "%lld", iv);
        *s = (const unsigned char *)num;
        return 0;
    }
    if (enc != 3 || rdb_cursor_len(c, &clen, &e2) != 0 || rdb_cursor_len(c, &ulen, &e2) != 0) return -1;
    if ((uint64_t)(c->end - c->p) < clen || clen == 0 || ulen > clen * RDB_LZF_MAX_RATIO + 64) return -1;
    unsigned char *t = realloc(c->tmp, (size_t)ulen + 1);
    if (!t) return -1;
    c->tmp = t;
    if (rdb_lzf_decompress(c->p, (size_t)clen, t, (size_t)ulen) != ulen) return -1;
    c->p += clen;
    *s = t;
    *n = (size_t)ulen;
    return 0;
}

static int emit_int(RdbElementFn fn, void *ud, long long v) {
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", v);
    return fn(ud, (const unsigned char *)num, (size_t)n);
}

static long long sign_extend(uint64_t v, int bits) {
    uint64_t m = 1ULL << (bits - 1);
    return (long long)((v ^ m) - m);
}

static int elements_listpack(const unsigned char *p, size_t n, RdbElementFn fn, void *ud) {
    if (n < 7 || le32(p) != n || p[n - 1] != 0xff) return -1;
    const unsigned char *q = p + 6, *end = p + n - 1;
    while (q < end) {
        unsigned char b = q[0];
        size_t hdr, slen = 0, size;
        int isstr = 0;
        uint64_t iv = 0;
        int bits = 0;
        if (b < 0x80) { hdr = 1; iv = b; bits = 0; }
        else if ((b & 0xc0) == 0x80) { hdr = 1; slen = b & 0x3f; isstr = 1; }
        else if ((b & 0xe0) == 0xc0) { if (end - q < 2) return -1; hdr = 2; iv = (uint64_t)(b & 0x1f) << 8 | q[1]; bits = 13; }
        else if ((b & 0xf0) == 0xe0) { if (end - q < 2) return -1; hdr = 2; slen = (size_t)(b & 0x0f) << 8 | q[1]; isstr = 1; }
        else if (b == 0xf0) { if (end - q < 5) return -1; hdr = 5; slen = le32(q + 1); isstr = 1; }
        else if (b >= 0xf1 && b <= 0xf4) {
            int k = b == 0xf1 ? 2 : b == 0xf2 ? 3 : b == 0xf3 ? 4 : 8;
            if (end - q < 1 + k) return -1;
            hdr = 1 + (size_t)k;
            for (int i = k - 1; i >= 0; i--) iv = iv << 8 | q[1 + i];
            bits = 8 * k;
        } else {
            return -1;
        }
        if ((size_t)(end - q) < hdr || (size_t)(end - q) - hdr < slen) return -1;
        size = hdr + slen;
        int rc = isstr ? fn(ud, q + hdr, slen) : emit_int(fn, ud, bits ? sign_extend(iv, bits) : (long long)iv);
        if (rc != 0) return -1;
        size_t back = size <= 127 ? 1 : size < 16383 ? 2 : size < 2097151 ? 3 : size < 268435455 ? 4 : 5;
        if ((size_t)(end - q) < size + back) return -1;
        q += size + back;
    }
    return 0;
}

static int elements_ziplist(const unsigned char *p, size_t n, RdbElementFn fn, void *ud) {
    if (n < 11 || le32(p) != n || p[n - 1] != 0xff) return -1;
    const unsigned char *q = p + 10, *end = p + n - 1;
    while (q < end) {
        size_t prev = q[0] < 254 ? 1 : 5; /* prevlen */
        if ((size_t)(end - q) <= prev) return -1;
        q += prev;
        unsigned char b = q[0];
        size_t hdr, slen = 0;
        int rc;
        if ((b >> 6) == 0) { hdr = 1; slen = b & 0x3f; }
        else if ((b >> 6) == 1) { if (end - q < 2) return -1; hdr = 2; slen = (size_t)(b & 0x3f) << 8 | q[1]; }
        else if (b == 0x80) {
            if (end - q < 5) return -1;
            hdr = 5;
            slen = (size_t)q[1] << 24 | (size_t)q[2] << 16 | (size_t)q[3] << 8 | q[4];
        } else {
            int k = b == 0xc0 ? 2 : b == 0xd0 ? 4 : b == 0xe0 ? 8 : b == 0xf0 ? 3 : b == 0xfe ? 1 : 0;
            if (k) {
                if (end - q < 1 + k) return -1;
                uint64_t v = 0;
                for (int i = k - 1; i >= 0; i--) v = v << 8 | q[1 + i];
                rc = emit_int(fn, ud, sign_extend(v, 8 * k));
                q += 1 + k;
            } else if (b >= 0xf1 && b <= 0xfd) {
                rc = emit_int(fn, ud, (b & 0x0f) - 1);
                q += 1;
            } else {
                return -1;
            }
            if (rc != 0) return -1;
            continue;
        }
        if ((size_t)(end - q) < hdr || (size_t)(end - q) - hdr < slen) return -1;
        if (fn(ud, q + hdr, slen) != 0) return -1;
        q += hdr + slen;
    }
    return 0;
}

static int elements_zipmap(const unsigned char *p, size_t n, RdbElementFn fn, void *ud) {
    if (n < 2 || p[n - 1] != 0xff) return -1;
    const unsigned char *q = p + 1, *end = p + n - 1;
    while (q < end) {
        for (int part = 0; part < 2; part++) {
            size_t l;
            if (q >= end) return -1;
            if (q[0] < 254) {
                l = q[0];
                q++;
            } else {
                if (end - q < 5) return -1;
                l = le32(q + 1);
                q += 5;
            }
            size_t fr = 0;
            if (part == 1) { /* the value's unused bytes */
                if (q >= end) return -1;
                fr = *q++;
            }
            if ((size_t)(end - q) < l || (size_t)(end - q) - l < fr) return -1;
            if (fn(ud, q, l) != 0) return -1;
            q += l + fr;
        }
    }
    return 0;
}

static int elements_intset(const unsigned char *p, size_t n, RdbElementFn fn, void *ud) {
    if (n < 8) return -1;
    uint32_t enc = le32(p), cnt = le32(p + 4);
    if ((enc != 2 && enc != 4 && enc != 8) || 8 + (uint64_t)enc * cnt != n) return -1;
    for (uint32_t i = 0; i < cnt; i++) {
        uint64_t v = 0;
        for (int b = (int)enc - 1; b >= 0; b--) v = v << 8 | p[8 + i * enc + (uint32_t)b];
        if (emit_int(fn, ud, sign_extend(v, 8 * (int)enc)) != 0) return -1;
    }
    return 0;
}

void rdb_cursor_free(RdbCursor *c) {
    free(c->tmp);
    c->tmp = NULL;
}

int rdb_packed_elements(int kind, const unsigned char *p, size_t n, RdbElementFn fn, void *ud) {
    if (!p) return -1;
    switch (kind) {
    case RDB_PACKED_LISTPACK: return elements_listpack(p, n, fn, ud);
    case RDB_PACKED_ZIPLIST: return elements_ziplist(p, n, fn, ud);
    case RDB_PACKED_INTSET: return elements_intset(p, n, fn, ud);
    case RDB_PACKED_ZIPMAP: return elements_zipmap(p, n, fn, ud);
    }
    return -1;
}

int rdb_payload_elements(const unsigned char *p, size_t len, RdbElementFn fn, void *ud) {
    if (!p || len < 1 + RDB_PAYLOAD_FOOTER) return -1;
    RdbCursor c = {p + 1, p + len - RDB_PAYLOAD_FOOTER, NULL};
    int type = p[0], rc = -1;
    const unsigned char *s;
    size_t n;
    char num[24];
    uint64_t count;
    int enc;
    switch (type) {
    case RDB_TYPE_SET:
    case RDB_TYPE_HASH:
        if (rdb_cursor_len(&c, &count, &enc) != 0 || enc >= 0) break;
        if (type == RDB_TYPE_HASH) {
            if (count > UINT64_MAX / 2) break;
            count *= 2;
        }
        rc = 0;
        for (uint64_t i = 0; i < count && rc == 0; i++)
            rc = rdb_cursor_string(&c, &s, &n, num) != 0 || fn(ud, s, n) != 0 ? -1 : 0;
        if (rc == 0 && c.p != c.end) rc = -1;
        break;
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_SET_LISTPACK:
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_ZIPMAP:
        if (rdb_cursor_string(&c, &s, &n, num) != 0 || c.p != c.end) break;
        rc = rdb_packed_elements(type == RDB_TYPE_SET_INTSET   ? RDB_PACKED_INTSET
                               : type == RDB_TYPE_HASH_ZIPLIST ? RDB_PACKED_ZIPLIST
                               : type == RDB_TYPE_HASH_ZIPMAP  ? RDB_PACKED_ZIPMAP
                                                               : RDB_PACKED_LISTPACK,
                                 s, n, fn, ud);
        break;
    default: break;
    }
    rdb_cursor_free(&c);
    return rc;
}

/* ------------------------------------------------------------------- LZF */

size_t rdb_lzf_decompress(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen) {
    const unsigned char *ip = in, *in_end = in + inlen;
    unsigned char *op = out, *out_end = out + outlen;
    while (ip < in_end) {
        unsigned int ctrl = *ip++;
        if (ctrl < 32) { /* literal run of ctrl + 1 bytes */
            size_t n = ctrl + 1;
            if ((size_t)(out_end - op) < n || (size_t)(in_end - ip) < n) return 0;
            memcpy(op, ip, n);
            op += n;
            ip += n;
        } else { /* back reference */
            size_t n = ctrl >> 5;
            if (ip >= in_end) return 0;
            if (n == 7) {
                n += *ip++;
                if (ip >= in_end) return 0;
            }
            size_t back = ((size_t)(ctrl & 0x1f) << 8) + *ip++ + 1;
            n += 2;
            if ((size_t)(op - out) < back || (size_t)(out_end - op) < n) return 0;
            const unsigned char *ref = op - back;
            for (size_t i = 0; i < n; i++) op[i] = ref[i]; /* may overlap: byte by byte */
            op += n;
        }
    }
    return (size_t)(op - out);
}
