/* RDB snapshots: the reader (rdb.c) and `copy --source-rdb` (rdbsource.c).
 *
 * Pure part (no server): CRC64 and LZF vectors; synthetic files in every
 * format the real server here (Redis 7.0, RDB 10) does not write — RDB 9
 * with the old encodings (plain list/set/hash, text-score zset, zipmap,
 * ziplists, quicklist v1, stream v1), RDB 12 hashes with field TTLs, Valkey
 * 80 (VALKEY magic, HASH_2), streams v3, module values and module AUX —
 * checked for exact delimiting; the replication framings ($EOF:<mark> and
 * $<len>) with what is left over after the snapshot; reading in tiny chunks.
 *
 * Real servers: a snapshot of every type in every encoding the server has
 * (small and large: listpack/intset vs hashtable/skiplist/quicklist,
 * compressed and plain quicklist nodes, LZF keys and values, streams with
 * groups, PEL and consumers, expiries, three dbs): each key's payload equals
 * the server's own DUMP, restores to an equal keyspace on a fresh server,
 * and the key count per db equals DBSIZE. Old-format payloads restore
 * correctly on the real server. Truncation at many offsets, flipped bytes,
 * a wrong checksum: a one-line error with the offset, never a crash.
 * rdbsource: db map + filters give exactly the selected keys; conflicts,
 * expired keys, guards; and the `ferry copy --source-rdb` command line. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc64.h"
#include "rdb.h"
#include "rdbsource.h"
#include "rdbwriter.h"
#include "testutil.h"
#include "util.h"

/* ---------------------------------------- expected keys (rdbwriter.h writes) */

/* A value: the test remembers where its bytes start and end. */
typedef struct Expect {
    const char *key;
    int db, type;
    int64_t expire;
    size_t start, end; /* value bytes in the file (after the key) */
} Expect;

/* Writes the type byte and key; e remembers where the value starts. */
static void expect_key(RdbWriter *w, Expect *e, int type, const char *key, int db) {
    rw_u8(w, (unsigned)type);
    rw_cstr(w, key);
    e->key = key;
    e->type = type;
    e->db = db;
    e->start = w->len;
}

/* ------------------------------------------------------------ mem source */

typedef struct Mem {
    const unsigned char *p;
    size_t len, pos;
    size_t chunk; /* max bytes per read; 0 = all */
    unsigned seed;
} Mem;

static ssize_t mem_read(void *ud, void *buf, size_t len, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    Mem *m = ud;
    size_t left = m->len - m->pos;
    if (len > left) len = left;
    if (m->chunk) {
        m->seed = m->seed * 1103515245u + 12345u;
        size_t c = 1 + (m->seed >> 16) % m->chunk;
        if (len > c) len = c;
    }
    memcpy(buf, m->p + m->pos, len);
    m->pos += len;
    return (ssize_t)len;
}

/* Parses a whole buffer; returns the number of keys, or -1 (message in err). */
typedef struct Parsed {
    int nkeys;
    char keys[64][64];
    unsigned char *payload[64];
    size_t plen[64];
    int64_t expire[64];
    int db[64], type[64];
    char module[64][10];
    int aux, functions, module_aux, checksum;
} Parsed;

static void parsed_free(Parsed *p) {
    for (int i = 0; i < p->nkeys; i++) free(p->payload[i]);
    memset(p, 0, sizeof(*p));
}

static int parse_reader(RdbReader *r, Parsed *out, char *err) {
    RdbEvent ev;
    int rc;
    memset(out, 0, sizeof(*out));
    while ((rc = rdb_next(r, &ev, err, FERRY_ERR_LEN)) == 1) {
        if (ev.type == RDB_EV_KEY && out->nkeys < 64) {
            int i = out->nkeys++;
            snprintf(out->keys[i], sizeof(out->keys[i]), "%.*s", (int)ev.keylen, ev.key);
            out->payload[i] = malloc(ev.payload_len ? ev.payload_len : 1);
            if (ev.payload) memcpy(out->payload[i], ev.payload, ev.payload_len);
            out->plen[i] = ev.payload ? ev.payload_len : 0;
            out->expire[i] = ev.expire_ms;
            out->db[i] = ev.db;
            out->type[i] = ev.rdb_type;
            memcpy(out->module[i], ev.module, 10);
        } else if (ev.type == RDB_EV_AUX) {
            out->aux++;
        } else if (ev.type == RDB_EV_FUNCTION) {
            out->functions++;
        } else if (ev.type == RDB_EV_MODULE_AUX) {
            out->module_aux++;
        } else if (ev.type == RDB_EV_END) {
            out->checksum = ev.checksum;
        }
    }
    return rc < 0 ? -1 : out->nkeys;
}

static int parse_mem(const unsigned char *p, size_t len, size_t chunk, Parsed *out, char *err) {
    Mem m = {p, len, 0, chunk, 7};
    RdbReader *r = rdb_reader_new(mem_read, &m, "mem.rdb", len);
    assert_non_null(r);
    int rc = parse_reader(r, out, err);
    rdb_reader_free(r);
    return rc;
}

/* The payload of key i must be exactly type byte + the value bytes the test
 * wrote + version + CRC64, and verify. */
static void assert_payload(const Parsed *p, int i, const RdbWriter *w, const Expect *e, int version) {
    assert_string_equal(p->keys[i], e->key);
    assert_int_equal(p->db[i], e->db);
    assert_int_equal(p->type[i], e->type);
    assert_int_equal(p->expire[i], e->expire);
    size_t vlen = e->end - e->start;
    if (p->plen[i] != 1 + vlen + RDB_PAYLOAD_FOOTER) fail_msg("key %s: payload %zu bytes, want %zu", e->key, p->plen[i], 1 + vlen + RDB_PAYLOAD_FOOTER);
    assert_int_equal(p->payload[i][0], e->type);
    assert_memory_equal(p->payload[i] + 1, w->p + e->start, vlen);
    int v = 0;
    assert_int_equal(rdb_payload_verify(p->payload[i], p->plen[i], &v), 0);
    assert_int_equal(v, version);
}

/* ------------------------------------------------------------ pure tests */

static void test_crc64_and_lzf(void **state) {
    (void)state;
    assert_true(crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
    assert_true(crc64(0, "", 0) == 0);
    /* Split anywhere: the same CRC. */
    unsigned char buf[301];
    for (int i = 0; i < 301; i++) buf[i] = (unsigned char)(i * 37 + 11);
    uint64_t whole = crc64(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 7)
        assert_true(crc64(crc64(0, buf, cut), buf + cut, sizeof(buf) - cut) == whole);

    /* "abc" as a literal run, then a back reference of 6 at distance 3. */
    const unsigned char lz[] = {0x02, 'a', 'b', 'c', 0x80, 0x02};
    unsigned char out[16];
    assert_int_equal(rdb_lzf_decompress(lz, sizeof(lz), out, sizeof(out)), 9);
    assert_memory_equal(out, "abcabcabc", 9);
    assert_int_equal(rdb_lzf_decompress(lz, sizeof(lz), out, 8), 0);          /* too small */
    const unsigned char bad[] = {0x80, 0x05};                                  /* reference before the start */
    assert_int_equal(rdb_lzf_decompress(bad, sizeof(bad), out, sizeof(out)), 0);
    const unsigned char cut[] = {0x05, 'a'};                                   /* literal past the end */
    assert_int_equal(rdb_lzf_decompress(cut, sizeof(cut), out, sizeof(out)), 0);
}

/* RDB 9 with every old encoding, expiry in seconds, IDLE and FREQ. */
static void build_old_formats(RdbWriter *w, Expect *e, int *n) {
    int k = 0;
    rw_file_header(w, "REDIS0009");
    rw_u8(w, 254);
    rw_len(w, 0);
    rw_u8(w, 251);
    rw_len(w, 10);
    rw_len(w, 1);
    /* plain list, with IDLE/FREQ before it */
    rw_u8(w, 248);
    rw_len(w, 300);
    rw_u8(w, 249);
    rw_u8(w, 7);
    expect_key(w, &e[k], 1, "old:list", 0);
    rw_len(w, 3);
    rw_cstr(w, "a");
    rw_cstr(w, "b");
    rw_u8(w, 0xc0); /* an int-encoded element: 8-bit 42 */
    rw_u8(w, 42);
    e[k++].end = w->len;
    /* plain set */
    expect_key(w, &e[k], 2, "old:set", 0);
    rw_len(w, 2);
    rw_cstr(w, "x");
    rw_cstr(w, "y");
    e[k++].end = w->len;
    /* zset with text scores: "1.5", +inf */
    expect_key(w, &e[k], 3, "old:zset", 0);
    rw_len(w, 2);
    rw_cstr(w, "m1");
    rw_u8(w, 3);
    rw_bytes(w, "1.5", 3);
    rw_cstr(w, "m2");
    rw_u8(w, 254);
    e[k++].end = w->len;
    /* plain hash, with an expiry in seconds (far future) */
    rw_u8(w, 253);
    rw_le(w, 4000000000u, 4); /* as int32 this is negative: long past */
    expect_key(w, &e[k], 4, "old:hash:expired", 0);
    e[k].expire = 1;
    rw_len(w, 1);
    rw_cstr(w, "f");
    rw_cstr(w, "v");
    e[k++].end = w->len;
    rw_u8(w, 253);
    rw_le(w, 2000000000u, 4);
    expect_key(w, &e[k], 4, "old:hash", 0);
    e[k].expire = 2000000000000LL;
    rw_len(w, 2);
    rw_cstr(w, "f1");
    rw_cstr(w, "v1");
    rw_cstr(w, "f2");
    rw_cstr(w, "v2");
    e[k++].end = w->len;
    /* zipmap {f: v, g: w} */
    expect_key(w, &e[k], 9, "old:zipmap", 0);
    const unsigned char zm[] = {2, 1, 'f', 1, 0, 'v', 1, 'g', 1, 0, 'w', 0xff};
    rw_str(w, zm, sizeof(zm));
    e[k++].end = w->len;
    /* ziplists: list, zset, hash */
    expect_key(w, &e[k], 10, "old:ziplist", 0);
    rw_ziplist(w, (const char *const[]){"a", "bb", "ccc"}, 3);
    e[k++].end = w->len;
    expect_key(w, &e[k], 12, "old:zset:ziplist", 0);
    rw_ziplist(w, (const char *const[]){"m1", "1", "m2", "2.5"}, 4);
    e[k++].end = w->len;
    expect_key(w, &e[k], 13, "old:hash:ziplist", 0);
    rw_ziplist(w, (const char *const[]){"f1", "v1", "f2", "v2"}, 4);
    e[k++].end = w->len;
    /* quicklist v1: two ziplist nodes */
    expect_key(w, &e[k], 14, "old:quicklist", 0);
    rw_len(w, 2);
    rw_ziplist(w, (const char *const[]){"q1", "q2"}, 2);
    rw_ziplist(w, (const char *const[]){"q3"}, 1);
    e[k++].end = w->len;
    /* intset {1, 2, 300} as int16 */
    expect_key(w, &e[k], 11, "old:intset", 0);
    const unsigned char is[] = {2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 0x2c, 0x01};
    rw_str(w, is, sizeof(is));
    e[k++].end = w->len;
    rw_file_footer(w);
    *n = k;
}

static void test_old_formats_delimited(void **state) {
    (void)state;
    RdbWriter w = {0};
    Expect e[32];
    memset(e, 0, sizeof(e));
    int n;
    build_old_formats(&w, e, &n);
    Parsed p;
    char err[FERRY_ERR_LEN];
    for (size_t chunk = 0; chunk <= 13; chunk += 13) { /* whole, then 1..13-byte reads */
        if (parse_mem(w.p, w.len, chunk, &p, err) < 0) fail_msg("%s", err);
        assert_int_equal(p.nkeys, n);
        for (int i = 0; i < n; i++) assert_payload(&p, i, &w, &e[i], 9);
        assert_int_equal(p.checksum, 1);
        parsed_free(&p);
    }
    rw_free(&w);
}

/* RDB 12 (Redis 7.4) hashes with field TTLs, set listpack, stream v3,
 * module values, module AUX, functions, slot info. */
static void test_newer_formats_delimited(void **state) {
    (void)state;
    RdbWriter w = {0};
    Expect e[16];
    memset(e, 0, sizeof(e));
    int k = 0;
    rw_file_header(&w, "REDIS0012");
    rw_u8(&w, 245); /* FUNCTION2 */
    rw_cstr(&w, "#!lua name=lib1\nredis.register_function('f', function() return 1 end)");
    rw_u8(&w, 247); /* MODULE_AUX: id, when-opcode 2, when, items, EOF */
    rw_len(&w, 0x123456789abcULL << 10);
    rw_len(&w, 2);
    rw_len(&w, 2);
    rw_len(&w, 5);
    rw_cstr(&w, "aux-string");
    rw_len(&w, 0);
    rw_u8(&w, 254);
    rw_len(&w, 3);
    rw_u8(&w, 244); /* SLOT_INFO: slot, keys, expires */
    rw_len(&w, 100);
    rw_len(&w, 5);
    rw_len(&w, 1);
    expect_key(&w, &e[k], 22, "hfe:pre-ga", 3); /* count; then ttl, field, value */
    rw_len(&w, 2);
    rw_len(&w, 0);
    rw_cstr(&w, "f1");
    rw_cstr(&w, "v1");
    rw_len(&w, 1800000000000ULL);
    rw_cstr(&w, "f2");
    rw_cstr(&w, "v2");
    e[k++].end = w.len;
    expect_key(&w, &e[k], 23, "hfe:lp:pre-ga", 3);
    rw_listpack(&w, (const char *const[]){"f", "v", "0"}, 3);
    e[k++].end = w.len;
    expect_key(&w, &e[k], 24, "hfe:meta", 3); /* min expiry, count, (ttl, field, value)... */
    rw_le(&w, 1800000000000ULL, 8);
    rw_len(&w, 2);
    rw_len(&w, 1);
    rw_cstr(&w, "a");
    rw_cstr(&w, "1");
    rw_len(&w, 0);
    rw_cstr(&w, "b");
    rw_cstr(&w, "2");
    e[k++].end = w.len;
    expect_key(&w, &e[k], 25, "hfe:lp", 3);
    rw_le(&w, 1800000000000ULL, 8);
    rw_listpack(&w, (const char *const[]){"f", "v", "1800000000000"}, 3);
    e[k++].end = w.len;
    expect_key(&w, &e[k], 20, "set:lp", 3);
    rw_listpack(&w, (const char *const[]){"a", "b"}, 2);
    e[k++].end = w.len;
    /* module value: id, then SINT UINT FLOAT DOUBLE STRING EOF */
    expect_key(&w, &e[k], 7, "mod:value", 3);
    rw_len(&w, (0x0123456789abcULL << 10) | 3);
    rw_len(&w, 1);
    rw_len(&w, 17);
    rw_len(&w, 2);
    rw_len(&w, 1000);
    rw_len(&w, 3);
    rw_le(&w, 0x3f800000, 4);
    rw_len(&w, 4);
    rw_le(&w, 0, 8);
    rw_len(&w, 5);
    rw_cstr(&w, "payload");
    rw_len(&w, 0);
    e[k++].end = w.len;
    /* stream v3: one node, length/ids, a group with one PEL entry and a
     * consumer (seen + active time) */
    expect_key(&w, &e[k], 21, "stream:v3", 3);
    rw_len(&w, 1);
    rw_str(&w, "0123456789abcdef", 16);
    rw_listpack(&w, (const char *const[]){"1", "0", "1", "f", "0", "0", "v", "1"}, 8);
    for (int i = 0; i < 8; i++) rw_len(&w, (uint64_t)i); /* length, last, first, max deleted, added */
    rw_len(&w, 1);
    rw_cstr(&w, "grp");
    rw_len(&w, 1);
    rw_len(&w, 0);
    rw_len(&w, 1); /* entries read */
    rw_len(&w, 1);
    rw_bytes(&w, "IDIDIDIDIDIDIDID", 16);
    rw_le(&w, 1700000000000ULL, 8);
    rw_len(&w, 2);
    rw_len(&w, 1);
    rw_cstr(&w, "alice");
    rw_le(&w, 1700000000000ULL, 8);
    rw_le(&w, 1700000000001ULL, 8);
    rw_len(&w, 1);
    rw_bytes(&w, "IDIDIDIDIDIDIDID", 16);
    e[k++].end = w.len;
    rw_file_footer(&w);

    Parsed p;
    char err[FERRY_ERR_LEN];
    for (size_t chunk = 0; chunk <= 5; chunk += 5) {
        if (parse_mem(w.p, w.len, chunk, &p, err) < 0) fail_msg("%s", err);
        assert_int_equal(p.nkeys, k);
        for (int i = 0; i < k; i++) assert_payload(&p, i, &w, &e[i], 12);
        assert_string_equal(p.module[5], "AEjRWeJq8"); /* the id's 6-bit groups */
        assert_int_equal(p.functions, 1);
        assert_int_equal(p.module_aux, 1);
        parsed_free(&p);
    }

    /* The same hash TTL type 22 means Valkey's HASH_2 under VALKEY080:
     * count, then field, value, 8-byte expiry (-1 = none). */
    RdbWriter v = {0};
    Expect ve[2];
    memset(ve, 0, sizeof(ve));
    rw_file_header(&v, "VALKEY080");
    rw_u8(&v, 254);
    rw_len(&v, 0);
    expect_key(&v, &ve[0], 22, "valkey:hash2", 0);
    rw_len(&v, 2);
    rw_cstr(&v, "f1");
    rw_cstr(&v, "v1");
    rw_le(&v, UINT64_MAX, 8);
    rw_cstr(&v, "f2");
    rw_cstr(&v, "v2");
    rw_le(&v, 1800000000000ULL, 8);
    ve[0].end = v.len;
    expect_key(&v, &ve[1], 0, "valkey:str", 0);
    rw_cstr(&v, "x");
    ve[1].end = v.len;
    rw_file_footer(&v);
    if (parse_mem(v.p, v.len, 0, &p, err) < 0) fail_msg("%s", err);
    assert_int_equal(p.nkeys, 2);
    assert_payload(&p, 0, &v, &ve[0], 80);
    assert_payload(&p, 1, &v, &ve[1], 80);
    parsed_free(&p);

    /* Formats this reader refuses, each with its reason. */
    memcpy(v.p, "VALKEY011", 9);
    assert_int_equal(parse_mem(v.p, v.len, 0, &p, err), -1);
    assert_true(tu_contains(err, "not supported"));
    memcpy(v.p, "REDIS0013", 9);
    assert_int_equal(parse_mem(v.p, v.len, 0, &p, err), -1);
    assert_true(tu_contains(err, "RDB version 13"));
    memcpy(v.p, "RUBBISH01", 9);
    assert_int_equal(parse_mem(v.p, v.len, 0, &p, err), -1);
    assert_true(tu_contains(err, "not an RDB snapshot"));
    rw_free(&v);

    RdbWriter m = {0};
    rw_file_header(&m, "REDIS0009");
    rw_u8(&m, 6); /* pre-GA module value: cannot be delimited */
    rw_cstr(&m, "k");
    rw_len(&m, 1);
    rw_file_footer(&m);
    assert_int_equal(parse_mem(m.p, m.len, 0, &p, err), -1);
    assert_true(tu_contains(err, "type 6"));
    m.len = 0;
    rw_file_header(&m, "REDIS0010");
    rw_u8(&m, 246);
    rw_file_footer(&m);
    assert_int_equal(parse_mem(m.p, m.len, 0, &p, err), -1);
    assert_true(tu_contains(err, "opcode 246"));
    rw_free(&m);
    rw_free(&w);
}

/* A replication socket: "$EOF:<mark>" then the RDB, the mark, and the
 * replication stream; "$<len>" then exactly len bytes. */
static void test_framing(void **state) {
    (void)state;
    RdbWriter w = {0};
    Expect e[32];
    memset(e, 0, sizeof(e));
    int n;
    build_old_formats(&w, e, &n);
    const char mark[] = "0123456789abcdef0123456789abcdef01234567";
    const char tail[] = "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    RdbWriter s = {0};
    rw_bytes(&s, w.p, w.len);
    rw_bytes(&s, mark, 40);
    rw_bytes(&s, tail, strlen(tail));
    char err[FERRY_ERR_LEN], line[64];
    snprintf(line, sizeof(line), "$EOF:%s", mark);
    for (size_t chunk = 0; chunk <= 64; chunk += 64) {
        Mem m = {s.p, s.len, 0, chunk, 3};
        RdbReader *r = rdb_reader_new(mem_read, &m, "primary 127.0.0.1:6379", 0);
        assert_int_equal(rdb_reader_set_framing(r, line, strlen(line), err, sizeof(err)), 0);
        Parsed p;
        if (parse_reader(r, &p, err) < 0) fail_msg("%s", err);
        assert_int_equal(p.nkeys, n);
        const unsigned char *left;
        size_t llen;
        rdb_reader_leftover(r, &left, &llen);
        /* What the reader took past the mark + what is still in the
         * source = the replication stream, byte for byte. */
        assert_int_equal(llen + (m.len - m.pos), strlen(tail));
        assert_memory_equal(left, tail, llen);
        assert_memory_equal(m.p + m.pos, tail + llen, m.len - m.pos);
        rdb_reader_free(r);
        parsed_free(&p);
    }
    /* A different mark. */
    {
        Mem m = {s.p, s.len, 0, 0, 3};
        RdbReader *r = rdb_reader_new(mem_read, &m, "primary", 0);
        char other[64];
        snprintf(other, sizeof(other), "$EOF:%s", "X123456789abcdef0123456789abcdef01234567");
        assert_int_equal(rdb_reader_set_framing(r, other, strlen(other), err, sizeof(err)), 0);
        Parsed p;
        assert_int_equal(parse_reader(r, &p, err), -1);
        assert_true(tu_contains(err, "end mark"));
        rdb_reader_free(r);
        parsed_free(&p);
    }
    /* "$<len>": never reads past len. */
    {
        Mem m = {s.p, s.len, 0, 0, 3};
        RdbReader *r = rdb_reader_new(mem_read, &m, "primary", 0);
        snprintf(line, sizeof(line), "$%zu", w.len);
        assert_int_equal(rdb_reader_set_framing(r, line, strlen(line), err, sizeof(err)), 0);
        Parsed p;
        if (parse_reader(r, &p, err) < 0) fail_msg("%s", err);
        assert_int_equal(m.pos, w.len);
        rdb_reader_free(r);
        parsed_free(&p);
    }
    /* "$<len>" longer than the RDB. */
    {
        Mem m = {s.p, s.len, 0, 0, 3};
        RdbReader *r = rdb_reader_new(mem_read, &m, "primary", 0);
        snprintf(line, sizeof(line), "$%zu", w.len + 5);
        assert_int_equal(rdb_reader_set_framing(r, line, strlen(line), err, sizeof(err)), 0);
        Parsed p;
        assert_int_equal(parse_reader(r, &p, err), -1);
        assert_true(tu_contains(err, "before the length"));
        rdb_reader_free(r);
        parsed_free(&p);
    }
    RdbReader *r = rdb_reader_new(mem_read, NULL, "primary", 0);
    assert_int_equal(rdb_reader_set_framing(r, "+FULLRESYNC", 11, err, sizeof(err)), -1);
    assert_true(tu_contains(err, "neither"));
    assert_int_equal(rdb_reader_set_framing(r, "$12x", 4, err, sizeof(err)), -1);
    rdb_reader_free(r);
    rw_free(&s);
    rw_free(&w);
}

/* ------------------------------------------------------- the real server */

static Sandbox src;
static char snap[600];        /* the snapshot, copied out of the server's dir */
static char workdir[512];
static long dbsize[16];

/* Everything the server writes, small and large, in three dbs. */
static void fill_snapshot_source(Conn *c) {
    char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tu_ok(c, "SELECT 0");
    tu_fill_every_type(c, "");
    /* strings: every integer width, a 64-bit number as text, empty, random bytes */
    tu_ok(c, "SET str:i8 -7");
    tu_ok(c, "SET str:i16 1000");
    tu_ok(c, "SET str:i32 100000");
    tu_ok(c, "SET str:i64 12345678901234");
    tu_ok(c, "SET str:empty %s", "");
    unsigned char rnd[300];
    for (int i = 0; i < 300; i++) rnd[i] = (unsigned char)((i * 7919u) >> 3 ^ i);
    tu_ok(c, "SET str:random %b", rnd, sizeof(rnd));
    static unsigned char huge[20000]; /* > 16383 bytes: a 32-bit length */
    unsigned seed = 1;
    for (size_t i = 0; i < sizeof(huge); i++) huge[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
    tu_ok(c, "SET str:huge %b", huge, sizeof(huge));
    tu_ok(c, "SET %s compressed-key", "key:kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"); /* LZF key name */
    tu_ok(c, "SET 4242 an-integer-key");
    tu_ok(c, "SET str:far v PXAT 4102444800000");
    /* lists: compressed quicklist nodes, plain nodes */
    tu_ok(c, "CONFIG SET list-compress-depth 1");
    for (int i = 0; i < 3000; i++) conn_append(c, "RPUSH list:compressed element-%d-%s", i, i % 100 ? "abcabcabc" : big);
    tu_pipeline_ok(c, 3000);
    tu_ok(c, "CONFIG SET list-compress-depth 0");
    tu_ok(c, "DEBUG QUICKLIST-PACKED-THRESHOLD 1000");
    tu_ok(c, "RPUSH list:plain small %s small2 %s", big, big);
    tu_ok(c, "DEBUG QUICKLIST-PACKED-THRESHOLD 1073741824");
    /* sets: large intset; hashtable */
    tu_ok(c, "CONFIG SET set-max-intset-entries 5000");
    for (int i = 0; i < 2000; i++) conn_append(c, "SADD set:intset:big %d", i * 3 - 1000);
    tu_pipeline_ok(c, 2000);
    tu_ok(c, "CONFIG SET set-max-intset-entries 512");
    tu_ok(c, "SADD set:int64 1 9000000000");
    /* zsets: special scores, both encodings */
    tu_ok(c, "ZADD zset:inf inf a -inf b 0 c -1.25 d");
    for (int i = 0; i < 500; i++) conn_append(c, "ZADD zset:skiplist:inf %d.5 m%d", i, i);
    tu_pipeline_ok(c, 500);
    tu_ok(c, "ZADD zset:skiplist:inf inf top -inf bottom");
    /* hashes: big values force a hashtable; expiry */
    tu_ok(c, "HSET hash:bigvalue f %s g small", big);
    tu_ok(c, "PEXPIRE hash:bigvalue 86400000");
    /* streams: many nodes, an empty one with a group, trimmed */
    for (int i = 1; i <= 1500; i++) conn_append(c, "XADD stream:long %d-0 field %d other v%d", i, i, i);
    tu_pipeline_ok(c, 1500);
    tu_ok(c, "XGROUP CREATE stream:long g1 0");
    redisReply *r = tu_cmd(c, "XREADGROUP GROUP g1 c1 COUNT 300 STREAMS stream:long >");
    freeReplyObject(r);
    tu_ok(c, "XTRIM stream:long MINID 100");
    tu_ok(c, "XGROUP CREATE stream:empty g $ MKSTREAM");
    tu_ok(c, "XGROUP CREATECONSUMER stream:empty g nobody");
    /* a function library (FUNCTION2, before the keys) */
    tu_ok(c, "FUNCTION LOAD %s", "#!lua name=ferrylib\nredis.register_function('ferry_echo', function(keys, args) return args[1] end)");

    tu_ok(c, "SELECT 1");
    tu_fill_every_type(c, "db1:");
    tu_ok(c, "DEBUG SET-ACTIVE-EXPIRE 0");
    tu_ok(c, "SET str:gone soon PX 50"); /* in the file, but expired when read */
    tu_ok(c, "SELECT 9");
    tu_ok(c, "SET db9:only-key v");
    tu_ok(c, "SADD db9:set a b");
    util_sleep_ms(120);
}

static int group_setup(void **state) {
    (void)state;
    const char *extra[] = {"--enable-debug-command", "yes", NULL};
    tu_server_start(&src, extra);
    Conn *c = tu_connect(&src, 0);
    fill_snapshot_source(c);
    for (int db = 0; db < 16; db++) {
        tu_ok(c, "SELECT %d", db);
        dbsize[db] = tu_int(c, "DBSIZE");
    }
    tu_ok(c, "SAVE");
    conn_close(c);
    const char *tmp = getenv("TMPDIR");
    snprintf(workdir, sizeof(workdir), "%s/ferry-rdb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(workdir)) fail_msg("mkdtemp failed");
    snprintf(snap, sizeof(snap), "%s/snapshot.rdb", workdir);
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "cp '%s/dump.rdb' '%s'", src.dir, snap);
    if (system(cmd) != 0) fail_msg("copying the snapshot failed");
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    tu_rm_tree(workdir);
    return 0;
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void write_file(const char *path, const unsigned char *p, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

/* Every key's payload is the server's own DUMP, byte for byte; expiries are
 * the server's; the count per db is DBSIZE; and the payloads restored on a
 * fresh server give an equal keyspace. */
static void test_snapshot_every_encoding(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    RdbReader *r = rdb_reader_open_file(snap, err, sizeof(err));
    if (!r) fail_msg("%s", err);
    Sandbox dst;
    tu_server_start(&dst, NULL);
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    long count[16] = {0};
    int seen_types[32] = {0}, cur_a = -1, cur_b = -1, functions = 0;
    int64_t now = util_now_ms();
    RdbEvent ev;
    int rc;
    while ((rc = rdb_next(r, &ev, err, sizeof(err))) == 1) {
        if (ev.type == RDB_EV_FUNCTION) functions++;
        if (ev.type != RDB_EV_KEY) continue;
        assert_true(ev.db >= 0 && ev.db < 16);
        count[ev.db]++;
        seen_types[ev.rdb_type & 31] = 1;
        if (ev.db != cur_a) {
            tu_ok(a, "SELECT %d", ev.db);
            tu_ok(b, "SELECT %d", ev.db);
            cur_a = cur_b = ev.db;
        }
        assert_non_null(ev.payload);
        int v = 0;
        assert_int_equal(rdb_payload_verify(ev.payload, ev.payload_len, &v), 0);
        assert_int_equal(v, 10);
        if (ev.expire_ms && ev.expire_ms <= now) continue; /* str:gone */
        redisReply *d = tu_cmd(a, "DUMP %b", ev.key, ev.keylen);
        if (d->type != REDIS_REPLY_STRING) fail_msg("DUMP %.*s: no value", (int)ev.keylen, ev.key);
        if (d->len != ev.payload_len || memcmp(d->str, ev.payload, d->len))
            fail_msg("key %.*s (type %d): payload differs from the server's DUMP (%zu vs %zu bytes)", (int)ev.keylen,
                     ev.key, ev.rdb_type, ev.payload_len, d->len);
        freeReplyObject(d);
        long long pt = tu_int(a, "PEXPIRETIME %b", ev.key, ev.keylen);
        assert_int_equal(ev.expire_ms, pt < 0 ? 0 : pt);
        char ttl[32];
        snprintf(ttl, sizeof(ttl), "%lld", (long long)ev.expire_ms);
        tu_ok(b, "RESTORE %b %s %b ABSTTL", ev.key, ev.keylen, ttl, ev.payload, ev.payload_len);
    }
    if (rc < 0) fail_msg("%s", err);
    (void)cur_b;
    for (int db = 0; db < 16; db++) assert_int_equal(count[db], dbsize[db]);
    assert_int_equal(functions, 1);
    /* The encodings Redis 7.0 writes, all present. */
    const int want[] = {RDB_TYPE_STRING, RDB_TYPE_SET, RDB_TYPE_ZSET_2, RDB_TYPE_HASH, RDB_TYPE_SET_INTSET,
                        RDB_TYPE_HASH_LISTPACK, RDB_TYPE_ZSET_LISTPACK, RDB_TYPE_LIST_QUICKLIST_2,
                        RDB_TYPE_STREAM_LISTPACKS_2};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!seen_types[want[i]]) fail_msg("the snapshot has no value of type %d", want[i]);
    rdb_reader_free(r);
    tu_assert_same_keyspace(a, 0, b, 0);
    tu_assert_same_keyspace(a, 1, b, 1);
    tu_assert_same_keyspace(a, 9, b, 9);
    conn_close(a);
    conn_close(b);
    sandbox_stop(&dst);
}

/* -------- old-format payloads, restored by the real server */

static void payload_of(RdbWriter *out, int type, const unsigned char *value, size_t len, int version) {
    out->len = 0;
    rw_u8(out, (unsigned)type);
    rw_bytes(out, value, len);
    rw_payload_footer(out, version);
}

static void test_old_formats_restore(void **state) {
    (void)state;
    RdbWriter w = {0};
    Expect e[32];
    memset(e, 0, sizeof(e));
    int n;
    build_old_formats(&w, e, &n);
    Parsed p;
    char err[FERRY_ERR_LEN];
    if (parse_mem(w.p, w.len, 0, &p, err) < 0) fail_msg("%s", err);
    Sandbox dst;
    tu_server_start(&dst, NULL);
    Conn *b = tu_connect(&dst, 0);
    for (int i = 0; i < p.nkeys; i++) {
        if (p.expire[i] == 1) continue; /* long expired */
        redisReply *r = tu_cmd(b, "RESTORE %s 0 %b", p.keys[i], p.payload[i], p.plen[i]);
        if (r->type == REDIS_REPLY_ERROR) fail_msg("RESTORE %s: %s", p.keys[i], r->str);
        freeReplyObject(r);
    }
    struct { const char *cmd, *want; } checks[] = {
        {"LRANGE old:list 0 -1", "a b 42"},
        {"SORT old:set ALPHA", "x y"},
        {"ZRANGE old:zset 0 -1 WITHSCORES", "m1 1.5 m2 inf"},
        {"HMGET old:hash f1 f2", "v1 v2"},
        {"HMGET old:zipmap f g", "v w"},
        {"LRANGE old:ziplist 0 -1", "a bb ccc"},
        {"ZRANGE old:zset:ziplist 0 -1 WITHSCORES", "m1 1 m2 2.5"},
        {"HMGET old:hash:ziplist f1 f2", "v1 v2"},
        {"LRANGE old:quicklist 0 -1", "q1 q2 q3"},
        {"SORT old:intset", "1 2 300"},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        redisReply *r = tu_cmd(b, checks[i].cmd);
        char got[256] = "";
        for (size_t j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements; j++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", j ? " " : "",
                     r->element[j]->str ? r->element[j]->str : "(nil)");
        if (strcmp(got, checks[i].want)) fail_msg("%s: \"%s\", want \"%s\"", checks[i].cmd, got, checks[i].want);
        freeReplyObject(r);
    }
    assert_int_equal(tu_int(b, "EXISTS old:hash:expired"), 0);
    parsed_free(&p);

    /* Streams: the server's v2 payload rewritten as v1 restores to the same
     * entries and pending entries; as v3 the reader delimits it exactly. */
    Conn *a = tu_connect(&src, 0);
    redisReply *d = tu_cmd(a, "DUMP stream:events");
    assert_int_equal(d->type, REDIS_REPLY_STRING);
    assert_int_equal((unsigned char)d->str[0], RDB_TYPE_STREAM_LISTPACKS_2);
    RdbWriter v1 = {0}, v3 = {0}, pl = {0};
    rw_stream_v2_as((const unsigned char *)d->str, d->len, 1, &v1);
    rw_stream_v2_as((const unsigned char *)d->str, d->len, 3, &v3);
    payload_of(&pl, RDB_TYPE_STREAM_LISTPACKS, v1.p, v1.len, 9);
    tu_ok(b, "RESTORE stream:v1 0 %b", pl.p, pl.len);
    const char *cmp[] = {"XRANGE %s - +", "XPENDING %s billing", "XPENDING %s audit", NULL};
    for (int i = 0; cmp[i]; i++) {
        redisReply *x = tu_cmd(a, cmp[i], "stream:events"), *y = tu_cmd(b, cmp[i], "stream:v1");
        if (!tu_reply_equal(x, y)) fail_msg("%s differs after a v1 round trip", cmp[i]);
        freeReplyObject(x);
        freeReplyObject(y);
    }
    /* v3 inside a file, between two other keys. */
    RdbWriter f = {0};
    Expect fe[3];
    memset(fe, 0, sizeof(fe));
    rw_file_header(&f, "REDIS0011");
    expect_key(&f, &fe[0], 0, "before", 0);
    rw_cstr(&f, "x");
    fe[0].end = f.len;
    expect_key(&f, &fe[1], RDB_TYPE_STREAM_LISTPACKS_3, "stream:v3", 0);
    rw_bytes(&f, v3.p, v3.len);
    fe[1].end = f.len;
    expect_key(&f, &fe[2], 0, "after", 0);
    rw_cstr(&f, "y");
    fe[2].end = f.len;
    rw_file_footer(&f);
    if (parse_mem(f.p, f.len, 9, &p, err) < 0) fail_msg("%s", err);
    assert_int_equal(p.nkeys, 3);
    for (int i = 0; i < 3; i++) assert_payload(&p, i, &f, &fe[i], 11);
    parsed_free(&p);
    rw_free(&f);
    rw_free(&v1);
    rw_free(&v3);
    rw_free(&pl);
    freeReplyObject(d);
    conn_close(a);
    conn_close(b);
    sandbox_stop(&dst);
    rw_free(&w);
}

/* -------- set and hash contents out of payloads */

typedef struct Elems {
    int n;
    char v[4096][128];
} Elems;

static int elems_add(void *ud, const unsigned char *p, size_t n) {
    Elems *e = ud;
    if (e->n >= 4096 || n >= 128) return -1; /* the test's values are shorter */
    memcpy(e->v[e->n], p, n);
    e->v[e->n++][n] = '\0';
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

/* Sorted units: members, or "field\x01value" for a hash. */
static char (*elems_units(const Elems *e, int hash, int *n))[260] {
    *n = hash ? e->n / 2 : e->n;
    char (*u)[260] = calloc((size_t)*n + 1, 260);
    for (int i = 0; i < *n; i++) {
        if (hash)
            snprintf(u[i], 260, "%s\x01%s", e->v[2 * i], e->v[2 * i + 1]);
        else
            snprintf(u[i], 260, "%s", e->v[i]);
    }
    qsort(u, (size_t)*n, 260, cmp_str);
    return u;
}

/* Payload elements == what SMEMBERS / HGETALL answers, as sorted units. */
static void assert_elements(Conn *c, const char *key, const unsigned char *pay, size_t len) {
    Elems *e = calloc(1, sizeof(*e)), *r = calloc(1, sizeof(*r));
    if (rdb_payload_elements(pay, len, elems_add, e) != 0) fail_msg("%s: payload not decoded", key);
    redisReply *t = tu_cmd(c, "TYPE %s", key);
    int hash = !strcmp(t->str, "hash");
    freeReplyObject(t);
    redisReply *x = tu_cmd(c, hash ? "HGETALL %s" : "SMEMBERS %s", key);
    for (size_t i = 0; i < x->elements; i++)
        assert_int_equal(elems_add(r, (const unsigned char *)x->element[i]->str, x->element[i]->len), 0);
    freeReplyObject(x);
    assert_int_equal(e->n, r->n);
    int ne, nr;
    char(*ue)[260] = elems_units(e, hash, &ne);
    char(*ur)[260] = elems_units(r, hash, &nr);
    for (int i = 0; i < ne; i++)
        if (strcmp(ue[i], ur[i])) fail_msg("%s: element \"%s\" vs \"%s\"", key, ue[i], ur[i]);
    free(ue);
    free(ur);
    free(e);
    free(r);
}

static void test_payload_elements(void **state) {
    (void)state;
    Sandbox t;
    tu_server_start(&t, NULL);
    Conn *c = tu_connect(&t, 0);
    /* every listpack integer width, negative too; intsets of 16/32/64 bits */
    tu_ok(c, "HSET h:ints a 1 b -1 c 100 d 5000 e -5000 f 70000 g -8000000 h 3000000000 i -9000000000000 j 12345678901234567 k x");
    tu_ok(c, "SADD s:i16 1 -2 300");
    tu_ok(c, "SADD s:i32 1 100000 -100000");
    tu_ok(c, "SADD s:i64 1 9000000000 -9000000000");
    tu_ok(c, "SADD s:ht a b c 1 2");
    for (int i = 0; i < 300; i++) conn_append(c, "HSET h:ht field-%d %d", i, i * 1000);
    tu_pipeline_ok(c, 300);
    tu_ok(c, "HSET h:long f %s", "a-value-longer-than-sixty-four-bytes-to-get-the-12-bit-string-form-in-a-listpack");
    const char *keys[] = {"h:ints", "s:i16", "s:i32", "s:i64", "s:ht", "h:ht", "h:long"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        redisReply *d = tu_cmd(c, "DUMP %s", keys[i]);
        assert_int_equal(d->type, REDIS_REPLY_STRING);
        assert_elements(c, keys[i], (const unsigned char *)d->str, d->len);
        freeReplyObject(d);
    }
    /* the old encodings, from the synthetic RDB 9 file */
    RdbWriter w = {0};
    Expect e[32];
    memset(e, 0, sizeof(e));
    int n;
    build_old_formats(&w, e, &n);
    Parsed p;
    char err[FERRY_ERR_LEN];
    if (parse_mem(w.p, w.len, 0, &p, err) < 0) fail_msg("%s", err);
    for (int i = 0; i < p.nkeys; i++) {
        const char *k = p.keys[i];
        if (strcmp(k, "old:zipmap") && strcmp(k, "old:hash:ziplist") && strcmp(k, "old:intset") && strcmp(k, "old:set") &&
            strcmp(k, "old:hash"))
            continue;
        tu_ok(c, "RESTORE %s 0 %b", k, p.payload[i], p.plen[i]);
        assert_elements(c, k, p.payload[i], p.plen[i]);
    }
    /* not a set or hash, or broken: -1 */
    Elems *x = calloc(1, sizeof(*x));
    assert_int_equal(rdb_payload_elements(p.payload[0], p.plen[0], elems_add, x), -1); /* a list */
    unsigned char bad[] = {RDB_TYPE_SET, 5, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(rdb_payload_elements(bad, sizeof(bad), elems_add, x), -1);
    free(x);
    parsed_free(&p);
    rw_free(&w);
    conn_close(c);
    sandbox_stop(&t);
}

/* -------- corrupt input */

static int parse_buf_err(const unsigned char *p, size_t len, char *err) {
    Parsed ps;
    int rc = parse_mem(p, len, 0, &ps, err);
    parsed_free(&ps);
    return rc;
}

static void test_corrupt_snapshots(void **state) {
    (void)state;
    size_t len;
    unsigned char *orig = read_file(snap, &len);
    unsigned char *buf = malloc(len);
    char err[FERRY_ERR_LEN];
    assert_true(len > 2000);
    /* Truncated anywhere: an error naming the offset, never a crash. */
    int ntrunc = 0;
    for (size_t cut = 0; cut < len; cut += cut < 1200 ? 1 : 1 + len / 400) {
        memcpy(buf, orig, cut);
        err[0] = '\0';
        if (parse_buf_err(buf, cut, err) != -1) fail_msg("truncated at %zu: no error", cut);
        if (!tu_contains(err, "mem.rdb: offset ") || strchr(err, '\n'))
            fail_msg("truncated at %zu: message \"%s\"", cut, err);
        if (cut >= 10 && !tu_contains(err, "truncated") && !tu_contains(err, "corrupt"))
            fail_msg("truncated at %zu: message \"%s\"", cut, err);
        ntrunc++;
    }
    assert_true(ntrunc > 1500);
    /* One byte changed anywhere: the checksum (or the structure) says so. */
    for (size_t at = 0; at < len; at += 1 + len / 300) {
        memcpy(buf, orig, len);
        buf[at] ^= 0x5a;
        if (parse_buf_err(buf, len, err) != -1) fail_msg("byte %zu changed: no error", at);
        assert_true(tu_contains(err, "offset"));
    }
    /* The same, with the checksum switched off: structure alone must hold
     * (errors or not, no crash, no runaway allocation: ASan watches). */
    for (size_t at = 9; at < len - 9; at += 1 + len / 500) {
        memcpy(buf, orig, len);
        memset(buf + len - 8, 0, 8);
        for (int k = 0; k < 3; k++) buf[(at + (size_t)k * 977) % (len - 9)] ^= (unsigned char)(0x11 << k);
        parse_buf_err(buf, len, err);
    }
    /* A wrong checksum. */
    memcpy(buf, orig, len);
    buf[len - 1] ^= 1;
    assert_int_equal(parse_buf_err(buf, len, err), -1);
    assert_true(tu_contains(err, "checksum mismatch"));
    char path[700];
    snprintf(path, sizeof(path), "%s/bad.rdb", workdir);
    write_file(path, buf, len);
    assert_int_equal(rdb_file_verify(path, NULL, NULL, err, sizeof(err)), -1);
    assert_true(tu_contains(err, "checksum mismatch"));
    /* No checksum at all (rdbchecksum no): accepted, and said. */
    memset(buf + len - 8, 0, 8);
    Parsed p;
    assert_true(parse_mem(buf, len, 0, &p, err) > 0);
    assert_int_equal(p.checksum, 0);
    parsed_free(&p);
    write_file(path, buf, len);
    assert_int_equal(rdb_file_verify(path, NULL, NULL, err, sizeof(err)), 0);
    /* Truncated file: the verification says so before anything is read. */
    write_file(path, orig, len - 20);
    assert_int_equal(rdb_file_verify(path, NULL, NULL, err, sizeof(err)), -1);
    assert_true(tu_contains(err, "truncated"));
    assert_int_equal(rdb_file_verify(snap, NULL, NULL, err, sizeof(err)), 1);
    /* A bad length encoding is named as such. */
    RdbWriter w = {0};
    rw_file_header(&w, "REDIS0010");
    rw_u8(&w, 0);
    rw_cstr(&w, "k");
    rw_u8(&w, 0x85); /* 10|000101: no such length */
    rw_file_footer(&w);
    assert_int_equal(parse_buf_err(w.p, w.len, err), -1);
    assert_true(tu_contains(err, "bad length encoding 0x85 in key \"k\" (string): the file is corrupt or not an RDB"));
    /* A huge length with few bytes left: refused before any allocation. */
    w.len = 0;
    rw_file_header(&w, "REDIS0010");
    rw_u8(&w, 2);
    rw_cstr(&w, "s");
    rw_u8(&w, 0x81);
    rw_le(&w, 0x00ffffffffffffffULL, 8);
    rw_file_footer(&w);
    assert_int_equal(parse_buf_err(w.p, w.len, err), -1);
    assert_true(tu_contains(err, "cannot fit"));
    rw_free(&w);
    free(buf);
    free(orig);
}

/* ------------------------------------------------------------ rdbsource */

/* A reference: a server loaded from the snapshot, then pruned to what the
 * filter keeps. */
static void prune_to_filter(Conn *c, int db, const Filter *f) {
    tu_ok(c, "SELECT %d", db);
    redisReply *keys = tu_cmd(c, "KEYS *");
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        redisReply *t = tu_cmd(c, "TYPE %b", k->str, k->len);
        int keep = filter_key(f, k->str, k->len) && filter_type(f, filter_type_from_name(t->str));
        freeReplyObject(t);
        if (!keep) tu_ok(c, "DEL %b", k->str, k->len);
    }
    freeReplyObject(keys);
}

static void run_rdbsource(const CopyOptions *o, EngineSnapshot *snap_out, const char *path) {
    char err[FERRY_ERR_LEN];
    RdbSource *s = rdbsource_create(path, o, err, sizeof(err));
    if (!s) fail_msg("rdbsource_create: %s", err);
    if (rdbsource_start(s, err, sizeof(err)) != 0) fail_msg("rdbsource_start: %s", err);
    int fin = rdbsource_wait(s, 30000);
    rdbsource_snapshot(s, snap_out);
    rdbsource_free(s);
    if (!fin) fail_msg("the copy did not finish in 30 s");
}

static void target_options(CopyOptions *o, const Sandbox *t, int db) {
    char uri[128], err[FERRY_ERR_LEN];
    copy_options_init(o);
    sandbox_uri(t, db, uri, sizeof(uri));
    if (uri_parse(uri, &o->target.uri, err, sizeof(err)) != 0) fail_msg("%s", err);
    o->sample_servers = 1;
    o->workers = 3;
    o->batch = 50;
}

static void test_rdbsource_map_filter_conflicts(void **state) {
    (void)state;
    Sandbox dst, ref;
    char err[FERRY_ERR_LEN];
    tu_server_start(&dst, NULL);
    if (sandbox_start(&ref, NULL, snap, err, sizeof(err)) != 0) fail_msg("%s", err);
    CopyOptions o;
    target_options(&o, &dst, -1);
    assert_int_equal(dbmap_parse(&o.dbmap, "0:2,1:3", err, sizeof(err)), 0);
    filter_add_include(&o.filter, "*str*", NULL, 0);
    filter_add_include(&o.filter, "*stream*", NULL, 0);
    filter_add_include(&o.filter, "*list*", NULL, 0);
    filter_add_include(&o.filter, "*set*", NULL, 0);
    filter_add_include(&o.filter, "*hash*", NULL, 0);
    filter_add_exclude(&o.filter, "*:small", NULL, 0);
    EngineSnapshot *s = malloc(sizeof(*s));
    run_rdbsource(&o, s, snap);
    if (s->state != ENGINE_DONE) fail_msg("state %s: %s", engine_state_name(s->state), s->reason);
    assert_int_equal(s->stats.failed, 0);
    assert_int_equal(s->stats.expired, 1); /* str:gone in db 1 */
    assert_true(s->stats.filtered > 0);
    assert_true(s->stats.progress == 1.0);
    assert_int_equal(s->scanner.dbs_total, 2);
    assert_int_equal(s->scanner.dbs_done, 2);
    assert_true(s->scanner.finished);
    assert_int_equal(s->stats.copied + s->stats.expired, s->stats.scanned);
    uint64_t copied = s->stats.copied;

    Conn *rc = tu_connect(&ref, 0), *dc = tu_connect(&dst, 0);
    prune_to_filter(rc, 0, &o.filter);
    prune_to_filter(rc, 1, &o.filter);
    long n = tu_assert_same_keyspace(rc, 0, dc, 2) + tu_assert_same_keyspace(rc, 1, dc, 3);
    assert_int_equal(n, (long)copied);
    /* The function library came along. */
    redisReply *fl = tu_cmd(dc, "FCALL ferry_echo 0 hello");
    assert_string_equal(fl->str, "hello");
    freeReplyObject(fl);
    for (int db = 0; db < 16; db++) {
        if (db == 2 || db == 3) continue;
        tu_ok(dc, "SELECT %d", db);
        assert_int_equal(tu_int(dc, "DBSIZE"), 0); /* db 9 is not in the map */
    }

    /* Again into the same target: without --on-conflict, refused up front. */
    RdbSource *x = rdbsource_create(snap, &o, err, sizeof(err));
    assert_null(x);
    assert_true(tu_contains(err, "already holds"));
    /* With fail: every key is already there, identical. */
    o.on_conflict_explicit = 1;
    run_rdbsource(&o, s, snap);
    assert_int_equal(s->state, ENGINE_DONE);
    assert_int_equal(s->stats.identical, copied);
    assert_int_equal(s->stats.copied, 0);
    assert_int_equal(s->stats.failed, 0);
    /* Two keys changed on the target (a string; one member of a hash-table
     * set): skip counts them, and the report names them. */
    tu_ok(dc, "SELECT 2");
    tu_ok(dc, "SET str:plain changed");
    tu_ok(dc, "SREM set:big member-7");
    tu_ok(dc, "SADD set:big member-x");
    char report[700];
    snprintf(report, sizeof(report), "%s/report.txt", workdir);
    o.on_conflict = CONFLICT_SKIP;
    o.report_path = report;
    run_rdbsource(&o, s, snap);
    assert_int_equal(s->stats.skipped, 2);
    assert_int_equal(s->stats.identical, copied - 2);
    size_t rl;
    unsigned char *rep = read_file(report, &rl);
    rep[rl] = '\0';
    char line[200];
    snprintf(line, sizeof(line), "skipped\t%s\tdb0\tstr:plain\t", stats_fail_name(FAIL_BUSYKEY));
    if (!tu_contains((char *)rep, line)) fail_msg("report: %s", rep);
    free(rep);
    /* replace puts it back. */
    o.on_conflict = CONFLICT_REPLACE;
    o.report_path = NULL;
    run_rdbsource(&o, s, snap);
    assert_int_equal(s->stats.copied, copied);
    tu_assert_same_keyspace(rc, 0, dc, 2);

    copy_options_free(&o);
    free(s);
    conn_close(rc);
    conn_close(dc);
    sandbox_stop(&ref);
    sandbox_stop(&dst);
}

/* No temporary key of a type-based copy is left on the target. */
static void assert_no_tmp(Conn *c) {
    redisReply *r = tu_cmd(c, "SCAN 0 MATCH *ferry-tmp* COUNT 100000");
    if (r->element[1]->elements) fail_msg("temporary key left behind: %s", r->element[1]->element[0]->str);
    freeReplyObject(r);
}

/* Keys the target cannot RESTORE are rebuilt from the snapshot's own bytes
 * with type commands: every key with --type-based; and a snapshot of a
 * newer version (here: the same file relabelled RDB 12, plus a Redis 7.2
 * set listpack, which 7.0 does not know) goes in with the footers lowered
 * to the target's version where the encoding exists, commands elsewhere. */
static void test_rdbsource_typed(void **state) {
    (void)state;
    Sandbox dst, ref;
    char err[FERRY_ERR_LEN], path[700];
    tu_server_start(&dst, NULL);
    if (sandbox_start(&ref, NULL, snap, err, sizeof(err)) != 0) fail_msg("%s", err);
    Conn *rc = tu_connect(&ref, 0), *dc = tu_connect(&dst, 0);
    CopyOptions o;
    EngineSnapshot *s = malloc(sizeof(*s));

    /* 1. --type-based: every key through commands. */
    target_options(&o, &dst, -1);
    o.type_based = 1;
    run_rdbsource(&o, s, snap);
    if (s->state != ENGINE_DONE) fail_msg("state %s: %s", engine_state_name(s->state), s->reason);
    assert_int_equal(s->stats.failed, 0);
    long n = tu_assert_same_contents(rc, 0, dc, 0) + tu_assert_same_contents(rc, 1, dc, 1) + tu_assert_same_contents(rc, 9, dc, 9);
    assert_int_equal(n, (long)s->stats.copied);
    assert_no_tmp(dc);
    redisReply *r = tu_cmd(dc, "INFO commandstats");
    assert_false(tu_contains(r->str, "cmdstat_restore"));
    assert_true(tu_contains(r->str, "cmdstat_xclaim"));
    freeReplyObject(r);
    /* Again with fail: every key is recognised as this copy's own (DUMP
     * bytes, else contents: hash-table sets and hashes, streams). */
    uint64_t copied = s->stats.copied;
    o.on_conflict_explicit = 1;
    run_rdbsource(&o, s, snap);
    assert_int_equal(s->stats.failed, 0);
    assert_int_equal(s->stats.copied, 0);
    assert_int_equal(s->stats.identical, copied);
    /* Again with replace: the same result, nothing left over. */
    o.on_conflict = CONFLICT_REPLACE;
    run_rdbsource(&o, s, snap);
    assert_int_equal(s->stats.failed, 0);
    assert_int_equal(s->stats.copied, (uint64_t)n);
    tu_assert_same_contents(rc, 0, dc, 0);
    assert_no_tmp(dc);
    /* A value changed on the target: skip leaves it and counts it. */
    tu_ok(dc, "SELECT 0");
    tu_ok(dc, "SET str:plain changed");
    o.on_conflict = CONFLICT_SKIP;
    run_rdbsource(&o, s, snap);
    assert_true(s->stats.skipped >= 1);
    assert_int_equal(s->stats.failed, 0);
    tu_ok(dc, "SELECT 0");
    r = tu_cmd(dc, "GET str:plain");
    assert_string_equal(r->str, "changed");
    freeReplyObject(r);
    assert_no_tmp(dc);
    copy_options_free(&o);

    /* 2. A snapshot from a newer server. */
    size_t len;
    unsigned char *buf = read_file(snap, &len);
    assert_memory_equal(buf, "REDIS0010", 9);
    RdbWriter w = {0};
    rw_bytes(&w, "REDIS0012", 9);
    rw_bytes(&w, buf + 9, len - 9 - 9); /* up to the EOF opcode; the last db section is db 9 */
    static const char *const members[] = {"a", "b", "forty-two"};
    rw_u8(&w, RDB_TYPE_SET_LISTPACK);
    rw_cstr(&w, "set:from-7.2");
    rw_listpack(&w, members, 3);
    rw_u8(&w, 255);
    rw_le(&w, 0, 8); /* no checksum: the reader takes that as "none stored" */
    snprintf(path, sizeof(path), "%s/newer.rdb", workdir);
    write_file(path, w.p, w.len);
    rw_free(&w);
    free(buf);
    tu_ok(dc, "FLUSHALL");
    target_options(&o, &dst, -1);
    run_rdbsource(&o, s, path);
    if (s->state != ENGINE_DONE) fail_msg("state %s: %s", engine_state_name(s->state), s->reason);
    assert_int_equal(s->stats.failed, 0);
    /* Lowered footers: the target DUMPs every value as the reference does. */
    tu_assert_same_keyspace(rc, 0, dc, 0);
    tu_assert_same_keyspace(rc, 1, dc, 1);
    tu_ok(dc, "SELECT 9");
    r = tu_cmd(dc, "SMEMBERS set:from-7.2");
    assert_int_equal(r->elements, 3);
    freeReplyObject(r);
    assert_int_equal(tu_int(dc, "SISMEMBER set:from-7.2 forty-two"), 1);
    tu_ok(dc, "DEL set:from-7.2");
    tu_assert_same_keyspace(rc, 9, dc, 9);
    assert_no_tmp(dc);
    copy_options_free(&o);

    free(s);
    conn_close(rc);
    conn_close(dc);
    sandbox_stop(&ref);
    sandbox_stop(&dst);
}

static void test_rdbsource_guards(void **state) {
    (void)state;
    Sandbox dst;
    tu_server_start(&dst, NULL);
    char err[FERRY_ERR_LEN], path[700];
    CopyOptions o;
    EngineSnapshot *s = malloc(sizeof(*s));
    Conn *dc = tu_connect(&dst, 0);

    /* A corrupt snapshot writes nothing. The flipped bit is in the stored
     * checksum itself, so the structure stays readable and the checksum is
     * what must catch it (a bit in the middle sometimes broke a length
     * first, which is caught too, but with another message). */
    size_t len;
    unsigned char *buf = read_file(snap, &len);
    buf[len - 1] ^= 0x01;
    snprintf(path, sizeof(path), "%s/corrupt.rdb", workdir);
    write_file(path, buf, len);
    target_options(&o, &dst, -1);
    run_rdbsource(&o, s, path);
    assert_int_equal(s->state, ENGINE_FAILED);
    assert_true(tu_contains(s->reason, "checksum mismatch"));
    assert_int_equal(s->stats.copied, 0);
    for (int db = 0; db < 16; db++) {
        tu_ok(dc, "SELECT %d", db);
        assert_int_equal(tu_int(dc, "DBSIZE"), 0);
    }
    /* A truncated one neither. */
    write_file(path, buf, len / 3);
    run_rdbsource(&o, s, path);
    assert_int_equal(s->state, ENGINE_FAILED);
    if (!tu_contains(s->reason, "truncated")) fail_msg("%s", s->reason);
    assert_int_equal(s->stats.copied, 0);
    free(buf);
    /* Not an RDB at all, and a missing file: refused at create. */
    write_file(path, (const unsigned char *)"hello world, not a snapshot", 27);
    assert_null(rdbsource_create(path, &o, err, sizeof(err)));
    assert_true(tu_contains(err, "not an RDB snapshot"));
    assert_null(rdbsource_create("/nonexistent/x.rdb", &o, err, sizeof(err)));
    assert_true(tu_contains(err, "cannot open /nonexistent/x.rdb"));
    /* A snapshot newer than the target is no longer refused up front: its
     * values go in per encoding (test_rdbsource_typed). */
    RdbWriter w = {0};
    rw_file_header(&w, "REDIS0011");
    rw_file_footer(&w);
    write_file(path, w.p, w.len);
    rw_free(&w);
    RdbSource *newer = rdbsource_create(path, &o, err, sizeof(err));
    if (!newer) fail_msg("%s", err);
    rdbsource_free(newer);
    copy_options_free(&o);

    /* A target URI naming one db takes a one-db snapshot only. */
    target_options(&o, &dst, 4);
    run_rdbsource(&o, s, snap);
    assert_int_equal(s->state, ENGINE_FAILED);
    assert_true(tu_contains(s->reason, "holds keys in db 0 and db 1"));
    assert_true(tu_contains(s->reason, "nothing was written"));
    tu_ok(dc, "SELECT 4");
    assert_int_equal(tu_int(dc, "DBSIZE"), 0);
    copy_options_free(&o);
    /* ... and with a filter that keeps one db only, it works. */
    target_options(&o, &dst, 4);
    filter_add_include(&o.filter, "db9:*", NULL, 0);
    run_rdbsource(&o, s, snap);
    if (s->state != ENGINE_DONE) fail_msg("%s", s->reason);
    assert_int_equal(s->stats.copied, 2);
    assert_int_equal(tu_int(dc, "DBSIZE"), 2);
    copy_options_free(&o);

    /* Every db to itself: a non-empty target db is found when reached. */
    tu_ok(dc, "FLUSHALL");
    tu_ok(dc, "SELECT 9");
    tu_ok(dc, "SET other v");
    target_options(&o, &dst, -1);
    run_rdbsource(&o, s, snap);
    assert_int_equal(s->state, ENGINE_FAILED);
    assert_true(tu_contains(s->reason, "db 9 already holds 1 keys"));
    assert_true(tu_contains(s->reason, "nothing was written"));
    for (int db = 0; db < 2; db++) {
        tu_ok(dc, "SELECT %d", db);
        assert_int_equal(tu_int(dc, "DBSIZE"), 0);
    }
    copy_options_free(&o);

    free(s);
    conn_close(dc);
    sandbox_stop(&dst);
}

static int log_has(const EngineSnapshot *s, const char *text) {
    for (int i = 0; i < s->nlog; i++)
        if (tu_contains(s->log[i].text, text)) return 1;
    return 0;
}

/* --type and a db map that leaves dbs out; what the run tells the operator. */
static void test_rdbsource_types_and_unmapped_dbs(void **state) {
    (void)state;
    Sandbox dst, ref;
    char err[FERRY_ERR_LEN];
    tu_server_start(&dst, NULL);
    if (sandbox_start(&ref, NULL, snap, err, sizeof(err)) != 0) fail_msg("%s", err);
    CopyOptions o;
    target_options(&o, &dst, -1);
    assert_int_equal(dbmap_parse(&o.dbmap, "1:7", err, sizeof(err)), 0);
    assert_int_equal(filter_parse_types(&o.filter, "hash,zset", err, sizeof(err)), 0);
    EngineSnapshot *s = malloc(sizeof(*s));
    run_rdbsource(&o, s, snap);
    if (s->state != ENGINE_DONE) fail_msg("%s", s->reason);
    assert_int_equal(s->stats.scanned + s->stats.filtered, dbsize[0] + dbsize[1] + dbsize[9]);
    assert_true(log_has(s, "verifying the snapshot"));
    assert_true(log_has(s, "keys, checksum correct"));
    assert_int_equal(s->stats.total_estimate, dbsize[0] + dbsize[1] + dbsize[9]);
    assert_true(log_has(s, "RDB 10, written by redis 7.0.15"));
    assert_true(log_has(s, "db 0 of the snapshot is not in --db-map"));
    assert_true(log_has(s, "db 9 of the snapshot is not in --db-map"));
    assert_true(s->scanner.finished);
    assert_string_equal(s->source.version, "7.0.15");
    assert_int_equal(s->source.rdb_version, 10);
    Conn *rc = tu_connect(&ref, 0), *dc = tu_connect(&dst, 0);
    prune_to_filter(rc, 1, &o.filter);
    assert_int_equal(tu_assert_same_keyspace(rc, 1, dc, 7), (long)s->stats.copied);
    assert_true(s->stats.copied >= 4);
    tu_ok(dc, "SELECT 0");
    assert_int_equal(tu_int(dc, "DBSIZE"), 0);
    copy_options_free(&o);
    free(s);
    conn_close(rc);
    conn_close(dc);
    sandbox_stop(&ref);
    sandbox_stop(&dst);
}

typedef struct Killer {
    Sandbox *s;
    _Atomic int stop;
    _Atomic int kills;
} Killer;

/* Kills the copy's target connections every 150 ms. */
static void *killer_main(void *arg) {
    Killer *k = arg;
    Conn *c = tu_connect(k->s, -1);
    while (!k->stop) {
        util_sleep_ms(150);
        redisReply *r = conn_command(c, "CLIENT LIST");
        if (!r) break;
        char *line = r->type == REDIS_REPLY_STRING ? r->str : NULL;
        while (line && *line) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            char *id = strstr(line, "id=");
            if (strstr(line, "name=ferry-dst-w") && id) {
                redisReply *x = conn_command(c, "CLIENT KILL ID %lld", atoll(id + 3));
                if (x && x->type == REDIS_REPLY_INTEGER && x->integer > 0) k->kills++;
                if (x) freeReplyObject(x);
            }
            line = nl ? nl + 1 : NULL;
        }
        freeReplyObject(r);
    }
    conn_close(c);
    return NULL;
}

/* Pause before start, resume, more workers, a rate limit, target
 * connections killed throughout: everything arrives exactly. Then a stop. */
static void test_rdbsource_control_and_reconnect(void **state) {
    (void)state;
    Sandbox big, dst;
    char err[FERRY_ERR_LEN], path[700];
    tu_server_start(&big, NULL);
    tu_server_start(&dst, NULL);
    Conn *a = tu_connect(&big, 0), *dc = tu_connect(&dst, 0);
    for (int i = 0; i < 6000; i++)
        conn_append(a, i % 3 ? "SET ctl:%d value-%d" : "HSET ctl:%d f value-%d", i, i);
    tu_pipeline_ok(a, 6000);
    for (int i = 0; i < 6000; i += 7) conn_append(a, "PEXPIRE ctl:%d 86400000", i);
    tu_pipeline_ok(a, (6000 + 6) / 7);
    tu_ok(a, "SAVE");
    snprintf(path, sizeof(path), "%s/ctl.rdb", workdir);
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "cp '%s/dump.rdb' '%s'", big.dir, path);
    assert_int_equal(system(cmd), 0);

    CopyOptions o;
    target_options(&o, &dst, -1);
    o.workers = 2;
    o.batch = 100;
    RdbSource *s = rdbsource_create(path, &o, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    EngineSnapshot *snapshot = malloc(sizeof(*snapshot));
    rdbsource_pause(s);
    assert_int_equal(rdbsource_start(s, err, sizeof(err)), 0);
    util_sleep_ms(300);
    rdbsource_snapshot(s, snapshot);
    assert_int_equal(snapshot->state, ENGINE_PAUSED);
    assert_int_equal(snapshot->stats.copied, 0);
    Killer k = {&dst, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, killer_main, &k);
    rdbsource_set_rate(s, 6000);
    rdbsource_resume(s);
    util_sleep_ms(200);
    rdbsource_set_workers(s, 4);
    int fin = rdbsource_wait(s, 30000);
    k.stop = 1;
    pthread_join(th, NULL);
    rdbsource_snapshot(s, snapshot);
    rdbsource_free(s);
    assert_true(fin);
    if (snapshot->state != ENGINE_DONE) fail_msg("%s (kills %d)", snapshot->reason, k.kills);
    assert_true(k.kills > 0);
    assert_true(snapshot->stats.retries > 0);
    assert_int_equal(snapshot->stats.copied + snapshot->stats.identical, 6000);
    assert_int_equal(snapshot->stats.failed, 0);
    assert_true(snapshot->stats.elapsed_ms >= 900); /* 6000 keys at 6000/s */
    assert_true(log_has(snapshot, "workers 2 → 4"));
    tu_assert_same_keyspace(a, 0, dc, 0);

    /* A stop: the batches in flight finish, the rest is left. */
    tu_ok(dc, "FLUSHALL");
    o.rate = 1000;
    s = rdbsource_create(path, &o, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    assert_int_equal(rdbsource_start(s, err, sizeof(err)), 0);
    util_sleep_ms(400);
    rdbsource_request_stop(s);
    assert_true(rdbsource_wait(s, 10000));
    rdbsource_snapshot(s, snapshot);
    rdbsource_free(s);
    assert_int_equal(snapshot->state, ENGINE_STOPPED);
    assert_string_equal(snapshot->reason, "stopped by the operator");
    assert_true(snapshot->stats.copied > 0 && snapshot->stats.copied < 6000);
    assert_int_equal(tu_int(dc, "DBSIZE"), (long long)snapshot->stats.copied);

    copy_options_free(&o);
    free(snapshot);
    conn_close(a);
    conn_close(dc);
    sandbox_stop(&big);
    sandbox_stop(&dst);
}

/* The command line, parsed. */
static void test_rdbsource_cli(void **state) {
    (void)state;
    CopyCli c;
    const char *path;
    char err[FERRY_ERR_LEN];
    unsetenv("FERRY_TARGET_PASSWORD");
    char *ok[] = {"copy", "--source-rdb", "/x/dump.rdb", "--target", "rediss://u:pw@h:6390", "--db-map", "0:1",
                  "--match", "a*", "--exclude", "b*", "--type", "hash", "--on-conflict", "skip", "--workers", "6",
                  "--target-tls-ca", "ca.pem", "--tls-sni", "name", "--json", NULL};
    cli_copy_init(&c);
    assert_true(rdbsource_cli_wanted(22, ok));
    if (rdbsource_cli_parse(&c, &path, 22, ok, err, sizeof(err)) != 0) fail_msg("%s", err);
    assert_string_equal(path, "/x/dump.rdb");
    assert_int_equal(c.copy.target.uri.port, 6390);
    assert_int_equal(c.copy.dbmap.n, 1);
    assert_int_equal(c.copy.filter.types, FTYPE_HASH);
    assert_int_equal(c.copy.on_conflict, CONFLICT_SKIP);
    assert_int_equal(c.copy.workers, 6);
    assert_string_equal(c.copy.target.tls.ca_file, "ca.pem");
    assert_string_equal(c.copy.target.tls.sni, "name");
    assert_true(c.json && c.no_tui && c.password_on_cmdline);
    cli_copy_free(&c);
    struct { char *argv[8]; const char *want; } bad[] = {
        {{"copy", "--source-rdb", "f", NULL}, "missing --target"},
        {{"copy", "--target", "redis://h", "--source-rdb", "f", "--source", "redis://x", NULL}, "drop one of them"},
        {{"copy", "--source-rdb", "f", "--target", "redis://h/1", "--db-map", "0:2", NULL}, "keep one"},
        {{"copy", "--source-rdb", "f", "--target", "redis://h", "--scan-count", "5", NULL}, "no meaning"},
        {{"copy", "--source-rdb", "f", "--target", "redis://h", "--workers", "0", NULL}, "--workers takes"},
        {{"copy", "--source-rdb", "f", "--target", "redis://h", "--bogus", NULL}, "unknown option --bogus"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int argc = 0;
        while (bad[i].argv[argc]) argc++;
        cli_copy_init(&c);
        assert_int_equal(rdbsource_cli_parse(&c, &path, argc, bad[i].argv, err, sizeof(err)), -1);
        if (!tu_contains(err, bad[i].want)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].want);
        cli_copy_free(&c);
    }
}

/* `ferry copy --source-rdb` end to end, once the command is wired in. */
static void test_ferry_copy_source_rdb(void **state) {
    (void)state;
    Sandbox dst, ref;
    char err[FERRY_ERR_LEN], uri[128];
    tu_server_start(&dst, NULL);
    sandbox_uri(&dst, -1, uri, sizeof(uri));
    TuRun *r = malloc(sizeof(*r));
    tu_ferry(r, 60, NULL, (const char *[]){"copy", "--source-rdb", snap, "--target", uri, "--no-tui",
                                             "--db-map", "0:5,9:6", "--exclude", "*:big", "--type",
                                             "string,hash,zset,set,stream", NULL});
    if (r->status == 2 && tu_contains(r->err, "--source-rdb")) {
        sandbox_stop(&dst);
        free(r);
        skip(); /* cmd_copy.c does not call rdbsource_cli_parse yet */
        return;
    }
    if (r->status != 0) fail_msg("exit %d\nstdout: %s\nstderr: %s", r->status, r->out, r->err);
    assert_true(tu_contains(r->out, "done in"));
    if (sandbox_start(&ref, NULL, snap, err, sizeof(err)) != 0) fail_msg("%s", err);
    Conn *rc = tu_connect(&ref, 0), *dc = tu_connect(&dst, 0);
    Filter f;
    filter_init(&f);
    filter_add_exclude(&f, "*:big", NULL, 0);
    filter_parse_types(&f, "string,hash,zset,set,stream", NULL, 0);
    prune_to_filter(rc, 0, &f);
    prune_to_filter(rc, 9, &f);
    tu_assert_same_keyspace(rc, 0, dc, 5);
    tu_assert_same_keyspace(rc, 9, dc, 6);
    filter_free(&f);
    conn_close(rc);
    conn_close(dc);
    sandbox_stop(&ref);
    sandbox_stop(&dst);
    free(r);
}

int main(void) {
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_crc64_and_lzf),
        cmocka_unit_test(test_old_formats_delimited),
        cmocka_unit_test(test_newer_formats_delimited),
        cmocka_unit_test(test_framing),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_snapshot_every_encoding),
        cmocka_unit_test(test_old_formats_restore),
        cmocka_unit_test(test_payload_elements),
        cmocka_unit_test(test_corrupt_snapshots),
        cmocka_unit_test(test_rdbsource_cli),
        cmocka_unit_test(test_rdbsource_map_filter_conflicts),
        cmocka_unit_test(test_rdbsource_guards),
        cmocka_unit_test(test_rdbsource_typed),
        cmocka_unit_test(test_rdbsource_types_and_unmapped_dbs),
        cmocka_unit_test(test_rdbsource_control_and_reconnect),
        cmocka_unit_test(test_ferry_copy_source_rdb),
    };
    int failed = cmocka_run_group_tests_name("rdb (pure)", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("rdb (real servers)", real, group_setup, group_teardown);
    return failed;
}
