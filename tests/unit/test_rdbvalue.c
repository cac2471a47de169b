/* rdbvalue: payloads built by hand, byte by byte, for every type and
 * encoding — including those Redis 7.0 cannot write (set listpack, stream
 * v3 with consumers' active time, 7.4 hashes with field TTLs, Valkey 9's
 * type 22) — turned into commands that are compared with the exact list
 * expected; the plan, the type versions and the footer rewrite; malformed,
 * truncated and bit-flipped payloads give -1 with a message, never a crash. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rdb.h"
#include "rdbvalue.h"
#include "rdbwriter.h"

/* ------------------------------------- payload pieces (more in rdbwriter.h) */

/* "abcabcabcabc" as LZF: literal "abc", then 9 bytes from 3 back. */
static void rw_lzf_abc(RdbWriter *w) {
    static const unsigned char lzf[] = {0x02, 'a', 'b', 'c', 0xe0, 0x00, 0x02};
    rw_u8(w, 0xc3);
    rw_len(w, sizeof lzf);
    rw_len(w, 12);
    rw_bytes(w, lzf, sizeof lzf);
}

/* ------------------------------------------------------------- collecting */

typedef struct Got {
    char lines[64][512];
    int n;
    int stop_at; /* return 7 from this command on (1-based); 0 = never */
} Got;

static int collect(void *ud, int argc, const char **argv, const size_t *lens) {
    Got *g = ud;
    assert_true(g->n < 64);
    char *o = g->lines[g->n++];
    size_t k = 0;
    for (int i = 0; i < argc; i++) {
        if (i) o[k++] = ' ';
        for (size_t j = 0; j < lens[i] && k < 500; j++) {
            unsigned char c = (unsigned char)argv[i][j];
            if (c >= 0x21 && c < 0x7f && c != '\\') o[k++] = (char)c;
            else k += (size_t)snprintf(o + k, 512 - k, "\\x%02x", c);
        }
    }
    o[k] = '\0';
    return g->stop_at && g->n >= g->stop_at ? 7 : 0;
}

/* Runs rdbvalue_commands on w (type byte + value, footer added with
 * version) and checks the commands against want (NULL-terminated). */
static void expect_cmds(RdbWriter *w, int version, const RvOptions *o, const char *const *want, RvResult *res) {
    RdbWriter p = {0};
    rw_bytes(&p, w->p, w->len);
    rw_payload_footer(&p, version);
    for (int footer = 1; footer >= 0; footer--) {
        Got g;
        memset(&g, 0, sizeof g);
        char err[512] = "";
        RvResult r;
        int rc = rdbvalue_commands(p.p, footer ? p.len : w->len, footer, "k", 1, o, collect, &g, &r, err, sizeof err);
        if (rc != 0) fail_msg("rdbvalue_commands: %d: %s", rc, err);
        int n = 0;
        while (want[n]) n++;
        for (int i = 0; i < n && i < g.n; i++)
            if (strcmp(g.lines[i], want[i])) fail_msg("command %d:\n  got  %s\n  want %s", i, g.lines[i], want[i]);
        if (g.n != n) fail_msg("%d commands, want %d (first extra/missing: %s)", g.n, n, g.n > n ? g.lines[n] : want[g.n]);
        assert_int_equal(r.commands, (uint64_t)g.n);
        if (res) *res = r;
    }
    rw_free(&p);
}

/* Expects -1 and a message containing what. */
static void expect_fail(const unsigned char *p, size_t len, int footer, const RvOptions *o, const char *what) {
    Got g;
    memset(&g, 0, sizeof g);
    char err[512] = "";
    int rc = rdbvalue_commands(p, len, footer, "k", 1, o, collect, &g, NULL, err, sizeof err);
    if (rc != -1) fail_msg("rc %d, want -1 (%s)", rc, what);
    if (!strstr(err, what)) fail_msg("message \"%s\" lacks \"%s\"", err, what);
    assert_non_null(strstr(err, "key \"k\""));
}

/* ------------------------------------------------------------------ tests */

static void test_strings(void **state) {
    (void)state;
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_STRING);
    rw_cstr(&w, "hello");
    expect_cmds(&w, 10, NULL, (const char *[]){"SET k hello", NULL}, NULL);
    /* integer encodings: 8, 16, 32 bits */
    const struct { unsigned char enc; int n; uint64_t v; const char *want; } ints[] = {
        {0xc0, 1, 0xf9, "SET k -7"}, {0xc1, 2, 1000, "SET k 1000"}, {0xc2, 4, 0xfffe7960, "SET k -100000"}};
    for (int i = 0; i < 3; i++) {
        w.len = 0;
        rw_u8(&w, RDB_TYPE_STRING);
        rw_u8(&w, ints[i].enc);
        rw_le(&w, ints[i].v, ints[i].n);
        expect_cmds(&w, 10, NULL, (const char *[]){ints[i].want, NULL}, NULL);
    }
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STRING);
    rw_lzf_abc(&w);
    expect_cmds(&w, 10, NULL, (const char *[]){"SET k abcabcabcabc", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STRING);
    rw_str(&w, "a\0b\r\n", 5);
    expect_cmds(&w, 10, NULL, (const char *[]){"SET k a\\x00b\\x0d\\x0a", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STRING);
    rw_str(&w, "", 0);
    expect_cmds(&w, 10, NULL, (const char *[]){"SET k ", NULL}, NULL);
    rw_free(&w);
}

static void test_lists(void **state) {
    (void)state;
    RvOptions o = {.batch = 2};
    RdbWriter w = {0};
    RvResult r;
    rw_u8(&w, RDB_TYPE_LIST); /* plain: a string, an integer, an LZF string */
    rw_len(&w, 3);
    rw_cstr(&w, "a");
    rw_u8(&w, 0xc0);
    rw_u8(&w, 42);
    rw_lzf_abc(&w);
    expect_cmds(&w, 6, &o, (const char *[]){"RPUSH k a 42", "RPUSH k abcabcabcabc", NULL}, &r);
    assert_int_equal(r.elements, 3);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_LIST_ZIPLIST);
    rw_ziplist(&w, (const char *const[]){"a", "12", "-100", "300", "100000", "5000000000", "-9"}, 7);
    expect_cmds(&w, 6, NULL, (const char *[]){"RPUSH k a 12 -100 300 100000 5000000000 -9", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_LIST_QUICKLIST);
    rw_len(&w, 2);
    rw_ziplist(&w, (const char *const[]){"q1", "q2"}, 2);
    rw_ziplist(&w, (const char *const[]){"q3"}, 1);
    expect_cmds(&w, 7, &o, (const char *[]){"RPUSH k q1 q2", "RPUSH k q3", NULL}, NULL);
    /* quicklist 2: a packed node, a plain node (LZF), a packed node */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_LIST_QUICKLIST_2);
    rw_len(&w, 3);
    rw_len(&w, 2);
    rw_listpack(&w, (const char *const[]){"x", "1", "-5000", "70000", "-9000000000"}, 5);
    rw_len(&w, 1);
    rw_lzf_abc(&w);
    rw_len(&w, 2);
    rw_listpack(&w, (const char *const[]){"y", "4095", "-4096", "8388607"}, 4);
    expect_cmds(&w, 10, NULL,
                (const char *[]){"RPUSH k x 1 -5000 70000 -9000000000 abcabcabcabc y 4095 -4096 8388607", NULL}, &r);
    assert_int_equal(r.elements, 10);
    rw_free(&w);
}

static void test_sets(void **state) {
    (void)state;
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_SET);
    rw_len(&w, 2);
    rw_cstr(&w, "x");
    rw_str(&w, "y\0", 2);
    expect_cmds(&w, 9, NULL, (const char *[]){"SADD k x y\\x00", NULL}, NULL);
    const long long i16[] = {-2, 1, 300}, i32[] = {-100000, 1, 100000}, i64[] = {-9000000000LL, 1, 9000000000LL};
    const struct { int enc; const long long *v; const char *want; } is[] = {
        {2, i16, "SADD k -2 1 300"}, {4, i32, "SADD k -100000 1 100000"}, {8, i64, "SADD k -9000000000 1 9000000000"}};
    for (int i = 0; i < 3; i++) {
        w.len = 0;
        rw_u8(&w, RDB_TYPE_SET_INTSET);
        rw_intset(&w, is[i].enc, is[i].v, 3);
        expect_cmds(&w, 10, NULL, (const char *[]){is[i].want, NULL}, NULL);
    }
    /* type 20: Redis 7.2's set listpack */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_SET_LISTPACK);
    rw_listpack(&w, (const char *const[]){"a", "b", "7", "-3"}, 4);
    RvOptions o = {.batch = 3};
    expect_cmds(&w, 11, &o, (const char *[]){"SADD k a b 7", "SADD k -3", NULL}, NULL);
    rw_free(&w);
}

static void rw_double(RdbWriter *w, double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    rw_le(w, b, 8);
}

static void test_zsets(void **state) {
    (void)state;
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_ZSET); /* text scores: a length byte, 254 +inf, 255 -inf */
    rw_len(&w, 3);
    rw_cstr(&w, "m1");
    rw_u8(&w, 3);
    rw_bytes(&w, "1.5", 3);
    rw_cstr(&w, "m2");
    rw_u8(&w, 254);
    rw_cstr(&w, "m3");
    rw_u8(&w, 255);
    expect_cmds(&w, 6, NULL, (const char *[]){"ZADD k 1.5 m1 inf m2 -inf m3", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_ZSET_2);
    rw_len(&w, 6);
    const char *m[] = {"a", "tenth", "tiny", "hi", "lo", "third"};
    const double d[] = {1, 0.1, -2.5e-300, INFINITY, -INFINITY, 1.0 / 3};
    for (int i = 0; i < 6; i++) {
        rw_cstr(&w, m[i]);
        rw_double(&w, d[i]);
    }
    expect_cmds(&w, 10, NULL, (const char *[]){"ZADD k 1 a 0.1 tenth -2.5e-300 tiny inf hi -inf lo 0.3333333333333333 third", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_ZSET_ZIPLIST);
    rw_ziplist(&w, (const char *const[]){"m1", "1", "m2", "2.5"}, 4);
    expect_cmds(&w, 6, NULL, (const char *[]){"ZADD k 1 m1 2.5 m2", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_ZSET_LISTPACK);
    rw_listpack(&w, (const char *const[]){"a", "1", "b", "3.5", "77", "-2"}, 6);
    RvOptions o = {.batch = 2};
    expect_cmds(&w, 10, &o, (const char *[]){"ZADD k 1 a 3.5 b", "ZADD k -2 77", NULL}, NULL);
    /* A NaN score is refused. */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_ZSET);
    rw_len(&w, 1);
    rw_cstr(&w, "m");
    rw_u8(&w, 253);
    expect_fail(w.p, w.len, 0, NULL, "NaN");
    rw_free(&w);
}

static void test_hashes(void **state) {
    (void)state;
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_HASH);
    rw_len(&w, 2);
    rw_cstr(&w, "f1");
    rw_lzf_abc(&w);
    rw_lzf_abc(&w); /* an LZF field with an LZF value */
    rw_u8(&w, 0xc1);
    rw_le(&w, 1000, 2);
    expect_cmds(&w, 9, NULL, (const char *[]){"HSET k f1 abcabcabcabc abcabcabcabc 1000", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_HASH_ZIPMAP);
    const unsigned char zm[] = {2, 1, 'f', 1, 0, 'v', 2, 'g', 'g', 2, 1, 'w', 'w', 'X', 0xff};
    rw_str(&w, zm, sizeof zm);
    expect_cmds(&w, 6, NULL, (const char *[]){"HSET k f v gg ww", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_HASH_ZIPLIST);
    rw_ziplist(&w, (const char *const[]){"f1", "v1", "n", "-20"}, 4);
    expect_cmds(&w, 6, NULL, (const char *[]){"HSET k f1 v1 n -20", NULL}, NULL);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_HASH_LISTPACK);
    rw_listpack(&w, (const char *const[]){"a", "1", "b", "2", "c", "3"}, 6);
    RvOptions o = {.batch = 2};
    expect_cmds(&w, 10, &o, (const char *[]){"HSET k a 1 b 2", "HSET k c 3", NULL}, NULL);
    rw_free(&w);
}

/* Field TTLs: 7.4's 24 and 25, the RC's 22 and 23, Valkey 9's 22. Fields:
 * a (no TTL), b (expires at 1800000000000), old (expired at 1000). */
static void test_hash_field_ttls(void **state) {
    (void)state;
    const int64_t T = 1800000000000LL;
    RvOptions o74 = {.dst_version = 704, .now_ms = 1700000000000LL};
    RvOptions o70 = {.dst_version = 700, .now_ms = 1700000000000LL};
    RvOptions ov9 = {.dst_version = 900, .dst_valkey = 1, .now_ms = 1700000000000LL};
    RvOptions ov8 = {.dst_version = 800, .dst_valkey = 1, .now_ms = 1700000000000LL};
    const char *with[] = {"HSET k a 1 b 2", "HPEXPIREAT k 1800000000000 FIELDS 1 b", NULL};
    const char *without[] = {"HSET k a 1 b 2", NULL};
    RdbWriter v[5] = {{0}};
    int versions[5] = {12, 12, 12, 12, 80};
    /* 24: min expiry, count, (expiry relative to min + 1, 0 = none; field; value)... */
    rw_u8(&v[0], RDB_TYPE_HASH_METADATA);
    rw_le(&v[0], 1000, 8);
    rw_len(&v[0], 3);
    rw_len(&v[0], 0);
    rw_cstr(&v[0], "a");
    rw_cstr(&v[0], "1");
    rw_len(&v[0], (uint64_t)(T - 1000 + 1));
    rw_cstr(&v[0], "b");
    rw_cstr(&v[0], "2");
    rw_len(&v[0], 1);
    rw_cstr(&v[0], "old");
    rw_cstr(&v[0], "3");
    /* 25: min expiry + listpack of field, value, absolute expiry (0 = none) */
    rw_u8(&v[1], RDB_TYPE_HASH_LISTPACK_EX);
    rw_le(&v[1], 1000, 8);
    rw_listpack(&v[1], (const char *const[]){"a", "1", "0", "b", "2", "1800000000000", "old", "3", "1000"}, 9);
    /* 22 (7.4 RC): count, (absolute expiry, field, value)... */
    rw_u8(&v[2], 22);
    rw_len(&v[2], 3);
    rw_len(&v[2], 0);
    rw_cstr(&v[2], "a");
    rw_cstr(&v[2], "1");
    rw_len(&v[2], (uint64_t)T);
    rw_cstr(&v[2], "b");
    rw_cstr(&v[2], "2");
    rw_len(&v[2], 1000);
    rw_cstr(&v[2], "old");
    rw_cstr(&v[2], "3");
    /* 23 (7.4 RC): listpack of field, value, absolute expiry */
    rw_u8(&v[3], RDB_TYPE_HASH_LISTPACK_EX_PRE_GA);
    rw_listpack(&v[3], (const char *const[]){"a", "1", "0", "b", "2", "1800000000000", "old", "3", "1000"}, 9);
    /* Valkey 9's 22: count, (field, value, 8-byte expiry, -1 = none)... */
    rw_u8(&v[4], 22);
    rw_len(&v[4], 3);
    rw_cstr(&v[4], "a");
    rw_cstr(&v[4], "1");
    rw_le(&v[4], UINT64_MAX, 8);
    rw_cstr(&v[4], "b");
    rw_cstr(&v[4], "2");
    rw_le(&v[4], (uint64_t)T, 8);
    rw_cstr(&v[4], "old");
    rw_cstr(&v[4], "3");
    rw_le(&v[4], 1000, 8);
    for (int i = 0; i < 5; i++) {
        RvResult r;
        RvOptions a = i == 4 ? ov9 : o74, b = i == 4 ? ov8 : o70;
        a.valkey = b.valkey = i == 4; /* without a footer, only this says Valkey */
        expect_cmds(&v[i], versions[i], &a, with, &r);
        assert_int_equal(r.fields_expired, 1);
        assert_int_equal(r.field_ttls_lost, 0);
        assert_int_equal(r.elements, 2);
        expect_cmds(&v[i], versions[i], &b, without, &r);
        assert_int_equal(r.fields_expired, 1);
        assert_int_equal(r.field_ttls_lost, 1);
        rw_free(&v[i]);
    }
    /* Fields sharing an expiry share an HPEXPIREAT, per HSET batch. */
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_HASH_LISTPACK_EX);
    rw_le(&w, T, 8);
    rw_listpack(&w, (const char *const[]){"a", "1", "1800000000000", "b", "2", "1800000000000", "c", "3", "1900000000000",
                                         "d", "4", "0"}, 12);
    RvOptions o = o74;
    expect_cmds(&w, 12, &o,
                (const char *[]){"HSET k a 1 b 2 c 3 d 4", "HPEXPIREAT k 1800000000000 FIELDS 2 a b",
                                 "HPEXPIREAT k 1900000000000 FIELDS 1 c", NULL},
                NULL);
    o.batch = 2;
    expect_cmds(&w, 12, &o,
                (const char *[]){"HSET k a 1 b 2", "HPEXPIREAT k 1800000000000 FIELDS 2 a b", "HSET k c 3 d 4",
                                 "HPEXPIREAT k 1900000000000 FIELDS 1 c", NULL},
                NULL);
    /* Every field expired: nothing to write, not an error. */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_HASH_LISTPACK_EX);
    rw_le(&w, 1000, 8);
    rw_listpack(&w, (const char *const[]){"old", "3", "1000"}, 3);
    RvResult r;
    expect_cmds(&w, 12, &o74, (const char *[]){NULL}, &r);
    assert_int_equal(r.fields_expired, 1);
    /* 23-25 do not exist in a Valkey payload. */
    rw_payload_footer(&w, 80);
    expect_fail(w.p, w.len, 1, NULL, "does not exist in a Valkey payload");
    rw_free(&w);
}

/* ----------------------------------------------------------------- streams */

typedef struct TEntry {
    uint64_t ms, seq;
    int deleted;
    const char *fv[6]; /* field, value, ... NULL-terminated */
} TEntry;

/* One node: master ID = the first entry's, master fields = its fields. */
static void rw_stream_node(RdbWriter *w, const TEntry *e, int n) {
    const char *items[256];
    char num[256][24];
    int k = 0, nn = 0, live = 0, del = 0, nmf = 0;
#define NUM(v) (snprintf(num[nn], 24, "%lld", (long long)(v)), items[k++] = num[nn++])
    for (int i = 0; i < n; i++) e[i].deleted ? del++ : live++;
    while (e[0].fv[2 * nmf]) nmf++;
    NUM(live);
    NUM(del);
    NUM(nmf);
    for (int i = 0; i < nmf; i++) items[k++] = e[0].fv[2 * i];
    NUM(0);
    for (int i = 0; i < n; i++) {
        int nf = 0, same = 1;
        while (e[i].fv[2 * nf]) nf++;
        if (nf != nmf) same = 0;
        for (int j = 0; same && j < nf; j++)
            if (strcmp(e[i].fv[2 * j], e[0].fv[2 * j])) same = 0;
        NUM((e[i].deleted ? 1 : 0) | (same ? 2 : 0));
        NUM(e[i].ms - e[0].ms);
        NUM(e[i].seq - e[0].seq);
        if (!same) NUM(nf);
        for (int j = 0; j < nf; j++) {
            if (!same) items[k++] = e[i].fv[2 * j];
            items[k++] = e[i].fv[2 * j + 1];
        }
        NUM(same ? nf + 3 : 2 * nf + 4);
    }
#undef NUM
    unsigned char key[16];
    for (int i = 0; i < 8; i++) key[i] = (unsigned char)(e[0].ms >> (56 - 8 * i));
    for (int i = 0; i < 8; i++) key[8 + i] = (unsigned char)(e[0].seq >> (56 - 8 * i));
    rw_str(w, key, 16);
    rw_listpack(w, items, k);
}

static void rw_rawid(RdbWriter *w, uint64_t ms, uint64_t seq) {
    rw_be(w, ms, 8);
    rw_be(w, seq, 8);
}

/* The stream of the header comment's example, as version v (1, 2, 3). */
static void rw_stream_example(RdbWriter *w, int v) {
    static const TEntry node1[] = {{1, 1, 0, {"a", "1", "b", "x", NULL}},
                                   {2, 0, 0, {"a", "2", "b", "y", NULL}},
                                   {3, 0, 0, {"c", "z", NULL}}};
    static const TEntry node2[] = {{4, 0, 1, {"a", "4", "b", "v", NULL}}, {5, 0, 0, {"a", "5", "b", "w", NULL}}};
    rw_u8(w, v == 1 ? RDB_TYPE_STREAM_LISTPACKS : v == 2 ? RDB_TYPE_STREAM_LISTPACKS_2 : RDB_TYPE_STREAM_LISTPACKS_3);
    rw_len(w, 2);
    rw_stream_node(w, node1, 3);
    rw_stream_node(w, node2, 2);
    rw_len(w, 4); /* length */
    rw_len(w, 6); /* last id */
    rw_len(w, 0);
    if (v >= 2) {
        rw_len(w, 1); /* first id */
        rw_len(w, 1);
        rw_len(w, 4); /* max deleted id */
        rw_len(w, 0);
        rw_len(w, 6); /* entries added */
    }
    rw_len(w, 2); /* groups */
    /* g1: last 5-0, read 5; PEL 1-1 (alice), 4-0 (alice; deleted), 5-0 (bob) */
    rw_cstr(w, "g1");
    rw_len(w, 5);
    rw_len(w, 0);
    if (v >= 2) rw_len(w, 5);
    rw_len(w, 3);
    rw_rawid(w, 1, 1);
    rw_le(w, 1700000000000ULL, 8);
    rw_len(w, 2);
    rw_rawid(w, 4, 0);
    rw_le(w, 1700000000001ULL, 8);
    rw_len(w, 1);
    rw_rawid(w, 5, 0);
    rw_le(w, 1700000000002ULL, 8);
    rw_len(w, 3);
    rw_len(w, 3); /* consumers */
    const char *names[] = {"alice", "bob", "carol"};
    for (int c = 0; c < 3; c++) {
        rw_cstr(w, names[c]);
        rw_le(w, 1700000000100ULL, 8); /* seen */
        if (v >= 3) rw_le(w, 1700000000050ULL, 8); /* active */
        rw_len(w, c == 0 ? 2 : c == 1 ? 1 : 0);
        if (c == 0) {
            rw_rawid(w, 1, 1);
            rw_rawid(w, 4, 0);
        } else if (c == 1) {
            rw_rawid(w, 5, 0);
        }
    }
    /* g2: last 1-1, entries read unknown (-1); PEL 0-5 (dora): before the first entry */
    rw_cstr(w, "g2");
    rw_len(w, 1);
    rw_len(w, 1);
    if (v >= 2) rw_len(w, UINT64_MAX);
    rw_len(w, 1);
    rw_rawid(w, 0, 5);
    rw_le(w, 1600000000000ULL, 8);
    rw_len(w, 9);
    rw_len(w, 1);
    rw_cstr(w, "dora");
    rw_le(w, 1, 8);
    if (v >= 3) rw_le(w, 1, 8);
    rw_len(w, 1);
    rw_rawid(w, 0, 5);
}

static const char *const stream_cmds_70[] = {
    "XGROUP CREATE k g1 5-0 MKSTREAM ENTRIESREAD 5",
    "XGROUP CREATECONSUMER k g1 alice",
    "XGROUP CREATECONSUMER k g1 bob",
    "XGROUP CREATECONSUMER k g1 carol",
    "XGROUP CREATE k g2 1-1 MKSTREAM ENTRIESREAD -1",
    "XGROUP CREATECONSUMER k g2 dora",
    "XADD k 0-5 ferry-placeholder 1",
    "XCLAIM k g2 dora 0 0-5 TIME 1600000000000 RETRYCOUNT 9 FORCE JUSTID",
    "XADD k 1-1 a 1 b x",
    "XCLAIM k g1 alice 0 1-1 TIME 1700000000000 RETRYCOUNT 2 FORCE JUSTID",
    "XADD k 2-0 a 2 b y",
    "XADD k 3-0 c z",
    "XADD k 4-0 ferry-placeholder 1",
    "XCLAIM k g1 alice 0 4-0 TIME 1700000000001 RETRYCOUNT 1 FORCE JUSTID",
    "XDEL k 4-0",
    "XADD k 5-0 a 5 b w",
    "XCLAIM k g1 bob 0 5-0 TIME 1700000000002 RETRYCOUNT 3 FORCE JUSTID",
    "XTRIM k MINID = 1-1",
    "XSETID k 6-0 ENTRIESADDED 6 MAXDELETEDID 4-0",
    NULL};

/* The same without what the version lacks: i = index of lines to drop,
 * rewrite = lines to replace. */
static void stream_variant(const char **out, const char *const *drop_prefix, int strip_counters) {
    int k = 0;
    for (int i = 0; stream_cmds_70[i]; i++) {
        int drop = 0;
        for (int j = 0; drop_prefix && drop_prefix[j]; j++)
            if (!strncmp(stream_cmds_70[i], drop_prefix[j], strlen(drop_prefix[j]))) drop = 1;
        if (drop) continue;
        out[k] = stream_cmds_70[i];
        if (strip_counters && strstr(out[k], "XGROUP CREATE k g1")) out[k] = "XGROUP CREATE k g1 5-0 MKSTREAM";
        if (strip_counters && strstr(out[k], "XGROUP CREATE k g2")) out[k] = "XGROUP CREATE k g2 1-1 MKSTREAM";
        if (strip_counters && strstr(out[k], "XSETID")) out[k] = "XSETID k 6-0";
        k++;
    }
    out[k] = NULL;
}

static void test_streams(void **state) {
    (void)state;
    RdbWriter w = {0};
    RvResult r;
    const char *v[40];
    for (int ver = 1; ver <= 3; ver++) {
        w.len = 0;
        rw_stream_example(&w, ver);
        int rdb = ver == 1 ? 9 : ver == 2 ? 10 : 11;
        stream_variant(v, NULL, ver == 1);
        expect_cmds(&w, rdb, NULL, ver == 1 ? v : (const char *const *)stream_cmds_70, &r);
        assert_int_equal(r.elements, 4 + 4); /* entries + pending entries */
        /* 6.2: no counters; 6.0: no consumers without pending entries either */
        RvOptions o62 = {.dst_version = 602}, o60 = {.dst_version = 600};
        stream_variant(v, NULL, 1);
        expect_cmds(&w, rdb, &o62, v, NULL);
        stream_variant(v, (const char *const[]){"XGROUP CREATECONSUMER", NULL}, 1);
        expect_cmds(&w, rdb, &o60, v, NULL);
        /* A Valkey target has them all. */
        RvOptions ov = {.dst_version = 800, .dst_valkey = 1};
        if (ver > 1) expect_cmds(&w, rdb, &ov, stream_cmds_70, NULL);
    }
    /* Empty, with a group: MKSTREAM creates it. */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STREAM_LISTPACKS_2);
    rw_len(&w, 0);
    rw_len(&w, 0);
    rw_len(&w, 5);
    rw_len(&w, 1);
    for (int i = 0; i < 4; i++) rw_len(&w, i == 2 ? 5 : i == 3 ? 1 : 0);
    rw_len(&w, 2);
    rw_len(&w, 1);
    rw_cstr(&w, "g");
    rw_len(&w, 5);
    rw_len(&w, 1);
    rw_len(&w, 2);
    rw_len(&w, 0);
    rw_len(&w, 1);
    rw_cstr(&w, "nobody");
    rw_le(&w, 1, 8);
    rw_len(&w, 0);
    expect_cmds(&w, 10, NULL,
                (const char *[]){"XGROUP CREATE k g 5-1 MKSTREAM ENTRIESREAD 2", "XGROUP CREATECONSUMER k g nobody",
                                 "XSETID k 5-1 ENTRIESADDED 2 MAXDELETEDID 5-1", NULL},
                NULL);
    /* Empty, no group. */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STREAM_LISTPACKS_2);
    rw_len(&w, 0);
    rw_len(&w, 0);
    rw_len(&w, 9);
    rw_len(&w, 9);
    for (int i = 0; i < 4; i++) rw_len(&w, i < 2 ? 0 : 9);
    rw_len(&w, 3);
    rw_len(&w, 0);
    expect_cmds(&w, 10, NULL,
                (const char *[]){"XADD k MAXLEN 0 0-1 ferry-placeholder 1", "XSETID k 9-9 ENTRIESADDED 3 MAXDELETEDID 9-9",
                                 NULL},
                NULL);
    rw_free(&w);
}

static void test_stream_malformed(void **state) {
    (void)state;
    RdbWriter w = {0};
    const TEntry n1[] = {{1, 1, 0, {"a", "1", NULL}}};
    /* The length says 5; the node holds 1 entry. */
    rw_u8(&w, RDB_TYPE_STREAM_LISTPACKS_2);
    rw_len(&w, 1);
    rw_stream_node(&w, n1, 1);
    rw_len(&w, 5);
    for (int i = 0; i < 7; i++) rw_len(&w, 1);
    rw_len(&w, 0);
    expect_fail(w.p, w.len, 0, NULL, "the stream length is 5, its nodes hold 1 entries");
    /* A consumer owns an entry its group does not have pending. */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STREAM_LISTPACKS_2);
    rw_len(&w, 1);
    rw_stream_node(&w, n1, 1);
    rw_len(&w, 1);
    for (int i = 0; i < 7; i++) rw_len(&w, 1);
    rw_len(&w, 1);
    rw_cstr(&w, "g");
    rw_len(&w, 1);
    rw_len(&w, 1);
    rw_len(&w, 1);
    rw_len(&w, 0);
    rw_len(&w, 1);
    rw_cstr(&w, "c");
    rw_le(&w, 1, 8);
    rw_len(&w, 1);
    rw_rawid(&w, 1, 1);
    expect_fail(w.p, w.len, 0, NULL, "is not pending in its group");
    rw_free(&w);
}

static void test_modules_and_unknown(void **state) {
    (void)state;
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_MODULE_2);
    rw_len(&w, (0x0123456789abcULL << 10) | 3);
    rw_len(&w, 0);
    expect_fail(w.p, w.len, 0, NULL, "is a module value (");
    expect_fail(w.p, w.len, 0, NULL, "it can only be RESTOREd, by a target that loads the module");
    w.len = 0;
    rw_u8(&w, 30);
    rw_cstr(&w, "x");
    expect_fail(w.p, w.len, 0, NULL, "unknown value type 30");
    rw_free(&w);
}

static void test_plan_and_versions(void **state) {
    (void)state;
    /* min versions */
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_STRING, 0), 1);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_ZSET_2, 0), 8);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_LIST_QUICKLIST, 0), 7);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_STREAM_LISTPACKS, 0), 9);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_HASH_LISTPACK, 0), 10);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_STREAM_LISTPACKS_2, 0), 10);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_SET_LISTPACK, 0), 11);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_STREAM_LISTPACKS_3, 1), 11);
    assert_int_equal(rdbvalue_type_min_version(22, 0), 12);
    assert_int_equal(rdbvalue_type_min_version(22, 1), 80);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_HASH_LISTPACK_EX, 0), 12);
    assert_int_equal(rdbvalue_type_min_version(RDB_TYPE_HASH_LISTPACK_EX, 1), 0);
    assert_int_equal(rdbvalue_type_min_version(8, 0), 0);
    assert_int_equal(rdbvalue_type_min_version(26, 0), 0);
    assert_int_equal(rdbvalue_type_min_version(-1, 0), 0);

    /* plan */
    assert_int_equal(rdbvalue_plan(RDB_TYPE_HASH_LISTPACK, 10, 0, 10, 0), RV_RESTORE);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_HASH_LISTPACK, 10, 0, 10, 1), RV_COMMANDS);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_HASH_LISTPACK, 12, 0, 10, 0), RV_RESTORE_REVERSION);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 11, 0, 10, 0), RV_COMMANDS);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 12, 0, 11, 0), RV_RESTORE_REVERSION);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_STREAM_LISTPACKS_3, 11, 0, 10, 0), RV_COMMANDS);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_HASH_METADATA, 12, 0, 11, 0), RV_COMMANDS);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_HASH_METADATA, 12, 0, 12, 0), RV_RESTORE);
    /* Valkey 9 takes Redis payloads up to 11; 12's older types by version. */
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 11, 0, 80, 0), RV_RESTORE);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 12, 0, 80, 0), RV_RESTORE_REVERSION);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_HASH_LISTPACK_EX, 12, 0, 80, 0), RV_COMMANDS);
    assert_int_equal(rdbvalue_plan(22, 12, 0, 80, 0), RV_COMMANDS); /* 7.4 RC's 22 is not Valkey's */
    /* Valkey 9's payloads: its own 22 only to Valkey 9, other types down by version */
    assert_int_equal(rdbvalue_plan(22, 80, 1, 80, 0), RV_RESTORE);
    assert_int_equal(rdbvalue_plan(22, 80, 1, 12, 0), RV_COMMANDS);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_HASH_LISTPACK, 80, 1, 12, 0), RV_RESTORE_REVERSION);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 80, 1, 10, 0), RV_COMMANDS);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_LIST_QUICKLIST_2, 80, 1, 10, 0), RV_RESTORE_REVERSION);
    /* unknown versions: RESTORE decides */
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 0, 0, 10, 0), RV_RESTORE);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 11, 0, 0, 0), RV_RESTORE);
    /* modules: RESTORE is the only way */
    assert_int_equal(rdbvalue_plan(RDB_TYPE_MODULE_2, 12, 0, 10, 0), RV_RESTORE_REVERSION);

    /* set_version: a valid footer with the new version */
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_STRING);
    rw_cstr(&w, "v");
    rw_payload_footer(&w, 12);
    int ver = 0;
    assert_int_equal(rdb_payload_verify(w.p, w.len, &ver), 0);
    assert_int_equal(ver, 12);
    assert_int_equal(rdbvalue_set_version(w.p, w.len, 10), 0);
    assert_int_equal(rdb_payload_verify(w.p, w.len, &ver), 0);
    assert_int_equal(ver, 10);
    assert_int_equal(rdbvalue_set_version(w.p, w.len, 80), 0);
    assert_int_equal(rdb_payload_verify(w.p, w.len, &ver), 0);
    assert_int_equal(ver, 80);
    assert_int_equal(rdbvalue_set_version(w.p, 10, 10), -1);
    assert_int_equal(rdbvalue_set_version(w.p, w.len, 70000), -1);
    assert_int_equal(rdbvalue_set_version(NULL, 20, 10), -1);
    rw_free(&w);
}

static void test_malformed(void **state) {
    (void)state;
    RdbWriter w = {0};
    rw_u8(&w, RDB_TYPE_STRING);
    rw_cstr(&w, "hello");
    rw_payload_footer(&w, 10);
    w.p[w.len - 1] ^= 1;
    expect_fail(w.p, w.len, 1, NULL, "checksum does not match");
    expect_fail(w.p, 5, 1, NULL, "5 bytes");
    expect_fail(w.p, 0, 0, NULL, "0 bytes");
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STRING);
    rw_cstr(&w, "hello");
    rw_u8(&w, 'x');
    expect_fail(w.p, w.len, 0, NULL, "1 bytes after the value");
    w.len = 0;
    rw_u8(&w, RDB_TYPE_LIST);
    rw_len(&w, 0);
    expect_fail(w.p, w.len, 0, NULL, "an empty value");
    w.len = 0;
    rw_u8(&w, RDB_TYPE_SET_LISTPACK);
    rw_str(&w, "\x07\x00\x00\x00\x00\x00\xfe", 7);
    expect_fail(w.p, w.len, 0, NULL, "bad listpack");
    w.len = 0;
    rw_u8(&w, RDB_TYPE_ZSET_LISTPACK);
    rw_listpack(&w, (const char *const[]){"a", "1", "b"}, 3);
    expect_fail(w.p, w.len, 0, NULL, "member, score pairs expected");
    w.len = 0;
    rw_u8(&w, RDB_TYPE_ZSET_LISTPACK);
    rw_listpack(&w, (const char *const[]){"a", "x1"}, 2);
    expect_fail(w.p, w.len, 0, NULL, "score \"x1\" is not a number");
    w.len = 0;
    rw_u8(&w, RDB_TYPE_LIST_QUICKLIST_2);
    rw_len(&w, 1);
    rw_len(&w, 3);
    expect_fail(w.p, w.len, 0, NULL, "unknown quicklist container 3");
    rw_free(&w);
}

/* The emit function's non-zero return stops the walk and comes back. */
static void test_emit_stop(void **state) {
    (void)state;
    RdbWriter w = {0};
    rw_stream_example(&w, 2);
    Got g;
    memset(&g, 0, sizeof g);
    g.stop_at = 3;
    char err[512];
    RvResult r;
    assert_int_equal(rdbvalue_commands(w.p, w.len, 0, "k", 1, NULL, collect, &g, &r, err, sizeof err), 7);
    assert_int_equal(g.n, 3);
    assert_int_equal(r.commands, 3);
    rw_free(&w);
}

/* Every payload of the tests above, cut at every length and with every
 * byte flipped: -1 or 0, never a crash, never more than a bounded amount
 * of output. */
static int count_only(void *ud, int argc, const char **argv, const size_t *lens) {
    (void)argv;
    (void)lens;
    assert_true(argc >= 2);
    return ++*(int *)ud > 1000 ? 1 : 0;
}

static void fuzz_one(const RdbWriter *w) {
    unsigned char *p = malloc(w->len + 32);
    char err[512];
    for (size_t cut = 0; cut < w->len; cut++) {
        int n = 0;
        memcpy(p, w->p, cut);
        err[0] = '\0';
        int rc = rdbvalue_commands(p, cut, 0, "k", 1, NULL, count_only, &n, NULL, err, sizeof err);
        assert_true(rc == -1 || rc == 0);
        if (rc == -1) assert_true(err[0] != '\0');
    }
    for (size_t i = 0; i < w->len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            int n = 0;
            memcpy(p, w->p, w->len);
            p[i] ^= (unsigned char)(1 << bit);
            int rc = rdbvalue_commands(p, w->len, 0, "k", 1, NULL, count_only, &n, NULL, err, sizeof err);
            assert_true(rc == -1 || rc == 0 || rc == 1);
        }
    /* with a footer: any change is caught by the checksum */
    memcpy(p, w->p, w->len);
    RdbWriter f = {p, w->len, w->len + 32};
    rw_payload_footer(&f, 11);
    for (size_t i = 0; i < f.len; i += 7) {
        int n = 0;
        f.p[i] ^= 0x20;
        assert_int_equal(rdbvalue_commands(f.p, f.len, 1, "k", 1, NULL, count_only, &n, NULL, err, sizeof err), -1);
        f.p[i] ^= 0x20;
    }
    free(f.p);
}

static void test_truncated_and_flipped(void **state) {
    (void)state;
    RdbWriter w = {0};
    for (int v = 1; v <= 3; v++) {
        w.len = 0;
        rw_stream_example(&w, v);
        fuzz_one(&w);
    }
    w.len = 0;
    rw_u8(&w, RDB_TYPE_LIST_QUICKLIST_2);
    rw_len(&w, 2);
    rw_len(&w, 2);
    rw_listpack(&w, (const char *const[]){"x", "1", "-5000", "70000", "-9000000000", "a-longer-string-element"}, 6);
    rw_len(&w, 1);
    rw_lzf_abc(&w);
    fuzz_one(&w);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_HASH_LISTPACK_EX);
    rw_le(&w, 1000, 8);
    rw_listpack(&w, (const char *const[]){"a", "1", "0", "b", "2", "1800000000000"}, 6);
    fuzz_one(&w);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_HASH_METADATA);
    rw_le(&w, 1000, 8);
    rw_len(&w, 2);
    rw_len(&w, 0);
    rw_cstr(&w, "a");
    rw_lzf_abc(&w);
    rw_len(&w, 5);
    rw_lzf_abc(&w);
    rw_cstr(&w, "2");
    fuzz_one(&w);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_ZSET_2);
    rw_len(&w, 2);
    rw_cstr(&w, "a");
    rw_double(&w, 0.5);
    rw_lzf_abc(&w);
    rw_double(&w, 2);
    fuzz_one(&w);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_HASH_ZIPLIST);
    rw_ziplist(&w, (const char *const[]){"f1", "v1", "n", "-20", "m", "100000"}, 6);
    fuzz_one(&w);
    w.len = 0;
    const long long i32[] = {-100000, 1, 100000};
    rw_u8(&w, RDB_TYPE_SET_INTSET);
    rw_intset(&w, 4, i32, 3);
    fuzz_one(&w);
    rw_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_sets),
        cmocka_unit_test(test_zsets),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_hash_field_ttls),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_stream_malformed),
        cmocka_unit_test(test_modules_and_unknown),
        cmocka_unit_test(test_plan_and_versions),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_emit_stop),
        cmocka_unit_test(test_truncated_and_flipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
