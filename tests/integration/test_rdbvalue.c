/* rdbvalue against real servers (Redis 7.0 here, RDB 10).
 *
 * Every type in every encoding the server writes (small and large:
 * listpack/intset vs hashtable/skiplist/quicklist, LZF-compressed quicklist
 * nodes, plain nodes, LZF and integer strings, binary values), plus streams
 * with groups, entries-read, lag, pending entries with consumers, delivery
 * counts and times, consumers without pending entries, pending entries
 * whose entry was deleted or trimmed, empty streams with and without
 * groups: each key is DUMPed, rebuilt on a fresh target from the commands
 * rdbvalue_commands() gives, and compared key by key (streams: XINFO STREAM
 * FULL equal but for seen/active times and the radix-tree layout). Twice:
 * default batches and batches of 7.
 *
 * Payloads this server cannot write nor RESTORE — a 7.2 set listpack, a
 * stream v3 made from the server's own v2 stream, 7.4 hashes with field
 * TTLs, Valkey 9's type 22 — rebuilt by commands on it. And the footer
 * rewrite: a payload marked newer is refused by RESTORE, accepted after
 * rdbvalue_set_version() when rdbvalue_plan() says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb.h"
#include "rdbvalue.h"
#include "rdbwriter.h"
#include "testutil.h"
#include "util.h"

static Sandbox src, dst;

static void fill_source(Conn *c);

static int group_setup(void **state) {
    (void)state;
    const char *extra[] = {"--enable-debug-command", "yes", NULL};
    tu_server_start(&src, extra);
    tu_server_start(&dst, NULL);
    Conn *c = tu_connect(&src, 0);
    fill_source(c);
    conn_close(c);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    return 0;
}

/* ------------------------------------------------------- applying commands */

typedef struct Apply {
    Conn *c;
    int queued;
    char cmds[4][200]; /* the first commands, for messages */
} Apply;

static int apply_emit(void *ud, int argc, const char **argv, const size_t *lens) {
    Apply *a = ud;
    if (conn_append_argv(a->c, argc, argv, lens) != 0) return 1;
    if (a->queued < 4) snprintf(a->cmds[a->queued], sizeof a->cmds[0], "%.*s %.*s ...", (int)lens[0], argv[0],
                                (int)(argc > 1 ? lens[1] : 0), argc > 1 ? argv[1] : "");
    a->queued++;
    return 0;
}

/* Rebuilds key on c from payload; every reply must be a success. */
static RvResult rebuild(Conn *c, const char *key, size_t klen, const unsigned char *p, size_t len, int footer,
                        const RvOptions *o) {
    Apply a;
    memset(&a, 0, sizeof a);
    a.c = c;
    RvResult res;
    char err[FERRY_ERR_LEN] = "";
    if (rdbvalue_commands(p, len, footer, key, klen, o, apply_emit, &a, &res, err, sizeof err) != 0)
        fail_msg("rdbvalue_commands(%.*s): %s", (int)klen, key, err);
    assert_int_equal(res.commands, (uint64_t)a.queued);
    for (int i = 0; i < a.queued; i++) {
        redisReply *r;
        if (conn_get_reply(c, &r) != 0) fail_msg("%.*s: %s", (int)klen, key, conn_errstr(c));
        if (r->type == REDIS_REPLY_ERROR)
            fail_msg("key %.*s: command %d of %d refused: %s (first: %s)", (int)klen, key, i + 1, a.queued, r->str,
                     a.cmds[0]);
        freeReplyObject(r);
    }
    return res;
}

/* --------------------------------------------------------------- datasets */

static void fill_source(Conn *c) {
    tu_fill_every_type(c, "");
    /* Strings: integer encodings, LZF, binary. */
    tu_ok(c, "SET str:i8 -7");
    tu_ok(c, "SET str:i32 100000");
    tu_ok(c, "SET str:i64 12345678901234");
    tu_ok(c, "SET str:empty %b", "", (size_t)0);
    char rep[6001]; /* 6000 repetitive bytes, NUL-terminated */
    for (size_t i = 0; i + 1 < sizeof rep; i++) rep[i] = "abcdefgh"[i % 8];
    rep[sizeof rep - 1] = '\0';
    tu_ok(c, "SET str:lzf %b", rep, sizeof rep - 1);
    tu_ok(c, "SET str:nul %b", "\0\0x\0\r\n\xff", (size_t)7);
    /* Lists: LZF-compressed quicklist nodes; plain (big) nodes. */
    tu_ok(c, "CONFIG SET list-compress-depth 1");
    for (int i = 0; i < 3000; i++) conn_append(c, "RPUSH list:compressed element-%d-%s", i, i % 100 ? "abcabcabc" : rep);
    tu_pipeline_ok(c, 3000);
    tu_ok(c, "CONFIG SET list-compress-depth 0");
    tu_ok(c, "DEBUG QUICKLIST-PACKED-THRESHOLD 1000");
    tu_ok(c, "RPUSH list:plain small %b small2 %b", rep, (size_t)3000, rep, (size_t)2000);
    tu_ok(c, "DEBUG QUICKLIST-PACKED-THRESHOLD 1073741824");
    tu_ok(c, "RPUSH list:ints 1 -1 100 -5000 70000 -9000000000 12345678901234567 x");
    /* Sets: big intset, 64-bit intset, hashtable with binary members. */
    tu_ok(c, "CONFIG SET set-max-intset-entries 5000");
    for (int i = 0; i < 2000; i++) conn_append(c, "SADD set:intset:big %d", i * 3 - 1000);
    tu_pipeline_ok(c, 2000);
    tu_ok(c, "CONFIG SET set-max-intset-entries 512");
    tu_ok(c, "SADD set:int64 1 9000000000 -9000000000");
    tu_ok(c, "SADD set:bin a %b %b", "\0", (size_t)1, rep, (size_t)100);
    /* Zsets: awkward scores in both encodings. */
    tu_ok(c, "ZADD zset:awkward 1 a 2 b 3.5 c -inf lo +inf hi 0.1 tenth -2.5e-300 tiny 0.3333333333333333 third "
             "1e300 huge 123456789012345678 bigint");
    for (int i = 0; i < 500; i++) conn_append(c, "ZADD zset:skiplist %d.1 m%d", i, i);
    tu_pipeline_ok(c, 500);
    tu_ok(c, "ZADD zset:skiplist inf top -inf bottom 0.1 tenth -0.000001 neg");
    tu_ok(c, "ZADD zset:lzf-members 1 %b 2 %b", rep, (size_t)200, rep + 1, (size_t)200);
    /* Hashes: integer values in a listpack; LZF values in a hashtable. */
    tu_ok(c, "HSET hash:ints a 1 b -1 c 5000 d 70000 e -9000000000 f x");
    tu_ok(c, "HSET hash:lzf f1 %b f2 %b %b v", rep, (size_t)3000, rep + 2, (size_t)500, rep + 3, (size_t)100);

    /* Streams (tu_fill_streams, as test_typecopy): nodes, groups, consumers
     * with and without pending entries, delivery counts > 1, deleted and
     * trimmed pending, empty streams; here also a consumer that never read
     * in an empty stream, and entries whose fields differ from the
     * master entry's. */
    tu_fill_streams(c);
    tu_ok(c, "XGROUP CREATECONSUMER s:empty-group g nobody");
    tu_ok(c, "XADD s:mixed-fields 1-1 a 1 b 2");
    tu_ok(c, "XADD s:mixed-fields 1-2 a 3 b 4");
    tu_ok(c, "XADD s:mixed-fields 1-3 c %b", rep, (size_t)300);
}

/* ------------------------------------------------------------------ tests */

/* Every key of the source, DUMPed, rebuilt on the target, compared. */
static void round_trip_all(Conn *a, Conn *b, const RvOptions *o, int seen[32]) {
    tu_ok(b, "FLUSHALL");
    redisReply *keys = tu_cmd(a, "SCAN 0 COUNT 100000");
    size_t n = keys->element[1]->elements;
    assert_true(n > 40);
    for (size_t i = 0; i < n; i++) {
        const redisReply *k = keys->element[1]->element[i];
        redisReply *d = tu_cmd(a, "DUMP %b", k->str, k->len);
        assert_int_equal(d->type, REDIS_REPLY_STRING);
        const unsigned char *p = (const unsigned char *)d->str;
        int version = 0;
        assert_int_equal(rdb_payload_verify(p, d->len, &version), 0);
        assert_int_equal(version, 10);
        seen[p[0] & 31] = 1;
        /* The same server version: RESTORE as it is, unless asked. */
        assert_int_equal(rdbvalue_plan(p[0], version, 0, 10, 0), RV_RESTORE);
        assert_int_equal(rdbvalue_plan(p[0], version, 0, 10, 1), RV_COMMANDS);
        rebuild(b, k->str, k->len, p, d->len, 1, o);
        tu_assert_same_value(a, b, k->str, k->len);
        if (!strcmp(k->str, "str:lzf")) assert_int_equal(p[1], 0xc3);          /* LZF */
        if (!strcmp(k->str, "str:i8")) assert_int_equal(p[1], 0xc0);           /* 8-bit integer */
        if (!strcmp(k->str, "list:compressed")) assert_non_null(memchr(p, 0xc3, d->len)); /* LZF nodes */
        freeReplyObject(d);
    }
    freeReplyObject(keys);
    assert_int_equal(tu_int(a, "DBSIZE"), tu_int(b, "DBSIZE"));
}

static void test_every_type_and_encoding(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    int seen[32] = {0};
    round_trip_all(a, b, NULL, seen);
    RvOptions small = {.batch = 7};
    round_trip_all(a, b, &small, seen);
    /* The encodings Redis 7.0 writes, all present. */
    const int want[] = {RDB_TYPE_STRING, RDB_TYPE_SET, RDB_TYPE_ZSET_2, RDB_TYPE_HASH, RDB_TYPE_SET_INTSET,
                        RDB_TYPE_HASH_LISTPACK, RDB_TYPE_ZSET_LISTPACK, RDB_TYPE_LIST_QUICKLIST_2,
                        RDB_TYPE_STREAM_LISTPACKS_2};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!seen[want[i]]) fail_msg("no key of RDB type %d", want[i]);
    /* The stream whose pending entries outlived their entries kept them,
     * with counts and times: XPENDING's exact lists equal. */
    const char *pend[] = {"XPENDING s:events billing - + 100", "XPENDING s:events audit - + 200",
                          "XPENDING s:trimmed g - + 100", "XPENDING s:emptied g - + 10"};
    for (size_t i = 0; i < 4; i++) {
        redisReply *x = tu_cmd(a, pend[i]), *y = tu_cmd(b, pend[i]);
        /* idle times move with the clock: compare ids, consumers, counts */
        assert_int_equal(x->elements, y->elements);
        for (size_t j = 0; j < x->elements; j++) {
            assert_true(tu_reply_equal(x->element[j]->element[0], y->element[j]->element[0]));
            assert_true(tu_reply_equal(x->element[j]->element[1], y->element[j]->element[1]));
            assert_true(tu_reply_equal(x->element[j]->element[3], y->element[j]->element[3]));
        }
        assert_true(x->elements > 0);
        freeReplyObject(x);
        freeReplyObject(y);
    }
    conn_close(a);
    conn_close(b);
}

/* -------- payloads this server cannot write */

/* The listpack of a one-node list payload (type 18, one packed node), as
 * an RDB string: the bytes a set listpack or field-TTL hash holds. */
static void listpack_of(Conn *c, const char *items, RdbWriter *out) {
    tu_ok(c, "DEL lp:tmp");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "RPUSH lp:tmp %s", items);
    tu_ok(c, cmd);
    redisReply *d = tu_cmd(c, "DUMP lp:tmp");
    const unsigned char *p = (const unsigned char *)d->str;
    assert_int_equal(p[0], RDB_TYPE_LIST_QUICKLIST_2);
    assert_int_equal(p[1], 1); /* one node */
    assert_int_equal(p[2], 2); /* packed */
    const unsigned char *e = rw_skip_str(p + 3);
    rw_bytes(out, p + 3, (size_t)(e - (p + 3)));
    freeReplyObject(d);
    tu_ok(c, "DEL lp:tmp");
}

static void test_newer_payloads(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_ok(b, "FLUSHALL");
    RvOptions o = {.dst_version = 700};
    RdbWriter w = {0};
    char err[FERRY_ERR_LEN];

    /* 7.2's set listpack (type 20), version 11: RESTORE refuses it, even
     * with the version lowered (7.0 has no type 20); commands build it. */
    rw_u8(&w, RDB_TYPE_SET_LISTPACK);
    listpack_of(a, "a b 7 -3 100000 a-longer-member", &w);
    rw_payload_footer(&w, 11);
    redisReply *r = tu_cmd(b, "RESTORE set:lp 0 %b", w.p, w.len);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_SET_LISTPACK, 11, 0, 10, 0), RV_COMMANDS);
    unsigned char *lowered = malloc(w.len);
    memcpy(lowered, w.p, w.len);
    assert_int_equal(rdbvalue_set_version(lowered, w.len, 10), 0);
    r = tu_cmd(b, "RESTORE set:lp 0 %b", lowered, w.len);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    free(lowered);
    rebuild(b, "set:lp", 6, w.p, w.len, 1, &o);
    tu_ok(a, "SADD set:lp a b 7 -3 100000 a-longer-member");
    tu_assert_same_value(a, b, "set:lp", 6);
    assert_int_equal(tu_int(b, "SISMEMBER set:lp 100000"), 1);

    /* Stream v3 (7.2) made from this server's own v2 stream: equal. */
    redisReply *d = tu_cmd(a, "DUMP s:events");
    assert_int_equal((unsigned char)d->str[0], RDB_TYPE_STREAM_LISTPACKS_2);
    w.len = 0;
    rw_u8(&w, RDB_TYPE_STREAM_LISTPACKS_3);
    rw_stream_v2_as((const unsigned char *)d->str, d->len, 3, &w);
    rw_payload_footer(&w, 11);
    freeReplyObject(d);
    r = tu_cmd(b, "RESTORE s:v3 0 %b", w.p, w.len);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    assert_int_equal(rdbvalue_plan(RDB_TYPE_STREAM_LISTPACKS_3, 11, 0, 10, 0), RV_COMMANDS);
    rebuild(b, "s:events", 8, w.p, w.len, 1, &o);
    tu_assert_same_value(a, b, "s:events", 8);

    /* 7.4's hashes with field TTLs (24: relative to a minimum; 25: a
     * listpack), the RC's 22, Valkey 9's 22: a field already expired is
     * skipped, the live TTL cannot be set on 7.0 and is counted. */
    long long now = util_now_ms(), T = now + 3600000;
    char ts[32];
    snprintf(ts, sizeof ts, "%lld", T);
    const char *names[] = {"hfe:24", "hfe:25", "hfe:22rc", "hfe:valkey"};
    for (int i = 0; i < 4; i++) {
        w.len = 0;
        if (i == 0) {
            rw_u8(&w, RDB_TYPE_HASH_METADATA);
            rw_le(&w, 1000, 8);
            rw_len(&w, 3);
            rw_len(&w, 0);
            rw_cstr(&w, "a");
            rw_cstr(&w, "1");
            rw_len(&w, (uint64_t)(T - 1000 + 1));
            rw_cstr(&w, "b");
            rw_cstr(&w, "two");
            rw_len(&w, 1);
            rw_cstr(&w, "old");
            rw_cstr(&w, "3");
        } else if (i == 1) {
            rw_u8(&w, RDB_TYPE_HASH_LISTPACK_EX);
            rw_le(&w, 1000, 8);
            char items[200];
            snprintf(items, sizeof items, "a 1 0 b two %s old 3 1000", ts);
            listpack_of(a, items, &w);
        } else if (i == 2) {
            rw_u8(&w, 22);
            rw_len(&w, 3);
            rw_len(&w, 0);
            rw_cstr(&w, "a");
            rw_cstr(&w, "1");
            rw_len(&w, (uint64_t)T);
            rw_cstr(&w, "b");
            rw_cstr(&w, "two");
            rw_len(&w, 1000);
            rw_cstr(&w, "old");
            rw_cstr(&w, "3");
        } else {
            rw_u8(&w, 22);
            rw_len(&w, 3);
            rw_cstr(&w, "a");
            rw_cstr(&w, "1");
            rw_le(&w, UINT64_MAX, 8);
            rw_cstr(&w, "b");
            rw_cstr(&w, "two");
            rw_le(&w, (uint64_t)T, 8);
            rw_cstr(&w, "old");
            rw_cstr(&w, "3");
            rw_le(&w, 1000, 8);
        }
        rw_payload_footer(&w, i == 3 ? 80 : 12);
        assert_int_equal(rdbvalue_plan(w.p[0], i == 3 ? 80 : 12, i == 3, 10, 0), RV_COMMANDS);
        RvResult res = rebuild(b, names[i], strlen(names[i]), w.p, w.len, 1, &o);
        assert_int_equal(res.fields_expired, 1);
        assert_int_equal(res.field_ttls_lost, 1);
        assert_int_equal(tu_int(b, "HLEN %s", names[i]), 2);
        r = tu_cmd(b, "HMGET %s a b old", names[i]);
        assert_string_equal(r->element[0]->str, "1");
        assert_string_equal(r->element[1]->str, "two");
        assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
        freeReplyObject(r);
    }

    /* A module value: refused with its name. */
    w.len = 0;
    rw_u8(&w, RDB_TYPE_MODULE_2);
    rw_len(&w, (0x0123456789abcULL << 10) | 3);
    rw_len(&w, 0);
    rw_payload_footer(&w, 10);
    Apply ap = {b, 0, {{0}}};
    assert_int_equal(rdbvalue_commands(w.p, w.len, 1, "mod", 3, &o, apply_emit, &ap, NULL, err, sizeof err), -1);
    assert_true(tu_contains(err, "module value"));
    assert_int_equal(ap.queued, 0);
    free(w.p);
    conn_close(a);
    conn_close(b);
}

/* A payload marked with a newer version whose type 7.0 has: RESTORE
 * refuses it; rdbvalue_plan says lower the version; then it restores. */
static void test_reversion(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_ok(b, "FLUSHALL");
    const char *keys[] = {"hash:small", "zset:awkward", "list:ints", "set:int", "s:events"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        redisReply *d = tu_cmd(a, "DUMP %s", keys[i]);
        assert_int_equal(d->type, REDIS_REPLY_STRING);
        unsigned char *p = malloc(d->len);
        memcpy(p, d->str, d->len);
        assert_int_equal(rdbvalue_set_version(p, d->len, 12), 0);
        redisReply *r = tu_cmd(b, "RESTORE %s 0 %b", keys[i], p, d->len);
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
        assert_int_equal(rdbvalue_plan(p[0], 12, 0, 10, 0), RV_RESTORE_REVERSION);
        assert_int_equal(rdbvalue_set_version(p, d->len, 10), 0);
        tu_ok(b, "RESTORE %s 0 %b", keys[i], p, d->len);
        tu_assert_same_value(a, b, keys[i], strlen(keys[i]));
        free(p);
        freeReplyObject(d);
    }
    conn_close(a);
    conn_close(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_and_encoding),
        cmocka_unit_test(test_newer_payloads),
        cmocka_unit_test(test_reversion),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
