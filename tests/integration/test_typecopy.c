/* Type-based copy against real servers: every type and encoding (small and
 * big), binary-safe keys and values, exact absolute expiries, streams with
 * groups, consumers, pending entries with delivery counts > 1, deleted and
 * trimmed entries that are still pending, empty streams; a key already on the
 * target; keys that are gone; no temporary key left behind; cluster slots of
 * the temporary names. Chunk sizes are varied so that every paging path runs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "typecopy.h"
#include "util.h"

static Sandbox src, dst;

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    return 0;
}

static int flush_both(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_ok(a, "FLUSHALL");
    tu_ok(b, "FLUSHALL");
    conn_close(a);
    conn_close(b);
    return 0;
}

/* ---- comparison ------------------------------------------------------------ */

static void assert_no_tmp_keys(Conn *b) {
    redisReply *r = tu_cmd(b, "SCAN 0 MATCH *ferry-tmp* COUNT 100000");
    if (r->element[1]->elements) fail_msg("temporary key left behind on the target: %s", r->element[1]->element[0]->str);
    freeReplyObject(r);
}

/* Every source key is on the target with the same type, value (type-wise)
 * and absolute expiry, streams with equal XINFO STREAM FULL but for the
 * documented fields (tu_assert_same_contents); no temporary key is left.
 * Returns the key count. */
static long assert_same(Conn *a, Conn *b) {
    long n = tu_assert_same_contents(a, -1, b, -1);
    assert_no_tmp_keys(b);
    return n;
}

/* typecopy_key for every source key; each must be copied. */
static long copy_all(Conn *a, Conn *b, const TypeCopyOptions *o, TypeCopyStats *st) {
    redisReply *keys = tu_cmd(a, "SCAN 0 COUNT 100000");
    long n = 0;
    for (size_t i = 0; i < keys->element[1]->elements; i++) {
        redisReply *k = keys->element[1]->element[i];
        char err[FERRY_ERR_LEN] = "";
        int rc = typecopy_key(a, b, k->str, k->len, TYPECOPY_EXPIRE_READ, 0, o, st, err, sizeof err);
        if (rc != TYPECOPY_COPIED) fail_msg("typecopy_key(%.*s) = %d: %s", (int)k->len, k->str, rc, err);
        n++;
    }
    freeReplyObject(keys);
    return n;
}

/* ---- datasets -------------------------------------------------------------- */

static void fill_plain_types(Conn *c) {
    long long future = util_now_ms() + 3600 * 1000 + 123; /* odd milliseconds */
    /* Strings: embstr, int, empty, binary, a big one crossing GETRANGE windows. */
    tu_ok(c, "SET str:plain hello");
    tu_ok(c, "SET str:int 12345");
    tu_ok(c, "SET str:empty %b", "", (size_t)0);
    tu_ok(c, "SET str:bin %b", "a\0b\r\n\xff\x00", (size_t)7);
    tu_ok(c, "SET %b %b", "key\0with\nbytes\xfe", (size_t)15, "v\0v", (size_t)3);
    size_t big = 3 * 1024 * 1024 + 17;
    char *s = malloc(big);
    for (size_t i = 0; i < big; i++) s[i] = (char)(i * 131 % 251);
    tu_ok(c, "SET str:big %b", s, big);
    free(s);
    tu_ok(c, "SET str:ttl expiring PXAT %lld", future);
    tu_ok(c, "PEXPIREAT str:big %lld", future + 1);
    /* Hashes: listpack, and 2000 fields (hashtable), binary fields. */
    tu_ok(c, "HSET hash:small f1 v1 f2 v2 %b %b", "f\0", (size_t)2, "\xff\x01", (size_t)2);
    for (int i = 0; i < 2000; i++) conn_append(c, "HSET hash:big field-%d value-%d", i, i * 7);
    tu_pipeline_ok(c, 2000);
    tu_ok(c, "PEXPIREAT hash:big %lld", future + 2);
    /* Lists: listpack and 5000 items (quicklist). */
    tu_ok(c, "RPUSH list:small a b c 1 2 3 %b", "\0\r\n", (size_t)3);
    for (int i = 0; i < 5000; i++) conn_append(c, "RPUSH list:big item-%d", i);
    tu_pipeline_ok(c, 5000);
    tu_ok(c, "LPUSH list:big head");
    tu_ok(c, "PEXPIREAT list:small %lld", future + 3);
    /* Sets: intset, hashtable. */
    tu_ok(c, "SADD set:int 1 2 3 4 5 -7 1000000000000");
    tu_ok(c, "SADD set:small a b c %b", "bin\0", (size_t)4);
    for (int i = 0; i < 1000; i++) conn_append(c, "SADD set:big member-%d", i);
    tu_pipeline_ok(c, 1000);
    tu_ok(c, "PEXPIREAT set:int %lld", future + 4);
    /* Sorted sets: listpack, skiplist; awkward scores. */
    tu_ok(c, "ZADD zset:small 1 a 2 b 3.5 c -inf lo +inf hi 0.1 tenth -2.5e-300 tiny");
    for (int i = 0; i < 1000; i++) conn_append(c, "ZADD zset:big %d.%d m%d", i % 97, i, i);
    tu_pipeline_ok(c, 1000);
    tu_ok(c, "PEXPIREAT zset:big %lld", future + 5);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_every_type(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    fill_plain_types(a);
    tu_fill_streams(a);
    TypeCopyStats st;
    memset(&st, 0, sizeof st);
    long n = copy_all(a, b, NULL, &st);
    assert_int_equal(n, 23); /* 7 strings, 2 hashes, 2 lists, 3 sets, 2 zsets, 7 streams */
    assert_int_equal(assert_same(a, b), n);
    assert_int_equal((long)st.keys, n);
    assert_true(st.elements > 2000 + 5000 + 1000 + 1000 + 2500);
    /* The big string went through several GETRANGE windows, byte for byte. */
    assert_int_equal(tu_int(b, "STRLEN str:big"), 3 * 1024 * 1024 + 17);
    /* Encodings were chosen by the target for what it got. */
    redisReply *r = tu_cmd(b, "OBJECT ENCODING set:int");
    assert_string_equal(r->str, "intset");
    freeReplyObject(r);
    r = tu_cmd(b, "OBJECT ENCODING hash:big");
    assert_string_equal(r->str, "hashtable");
    freeReplyObject(r);
    /* The comparison does see a difference in what it compares: one more
     * delivery of one pending entry, or one consumer less. */
    char why[512] = "";
    redisReply *x = tu_read_value(a, "stream", "s:events", 8);
    tu_ok(b, "XCLAIM s:events billing alice 0 1030-0 TIME %lld RETRYCOUNT 9 FORCE JUSTID", util_now_ms() - 5000);
    redisReply *y = tu_read_value(b, "stream", "s:events", 8);
    assert_int_equal(tu_stream_diff(x, y, "s:events", why, sizeof why), 1);
    freeReplyObject(y);
    tu_ok(b, "XGROUP DELCONSUMER s:events audit idle-consumer");
    y = tu_read_value(b, "stream", "s:events", 8);
    assert_int_equal(tu_stream_diff(x, y, "s:events", why, sizeof why), 1);
    freeReplyObject(x);
    freeReplyObject(y);
    /* Delivery counts > 1 really are there (and equal, checked above). */
    r = tu_cmd(b, "XPENDING s:events billing 1010-1 1010-1 1");
    assert_int_equal(r->element[0]->element[3]->integer, 4);
    freeReplyObject(r);
    conn_close(a);
    conn_close(b);
}

/* Tiny chunks: every SCAN/LRANGE/XRANGE/XPENDING page boundary, pending
 * pages crossing entry chunks, placeholders at chunk edges. */
static void test_small_chunks(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_fill_streams(a);
    tu_ok(a, "RPUSH l a b c d e f g h i j k");
    tu_ok(a, "SET s %b", "0123456789abcdef", (size_t)16);
    TypeCopyOptions o;
    typecopy_options_init(&o);
    o.chunk = 7;
    o.string_window = 5;
    long n = copy_all(a, b, &o, NULL);
    assert_int_equal(assert_same(a, b), n);
    conn_close(a);
    conn_close(b);
}

/* A target taken for older than 7.0: groups without ENTRIESREAD, XSETID
 * without counters. Entries, groups, PEL are still exact. */
static void test_older_target_path(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_fill_streams(a);
    TypeCopyOptions o;
    typecopy_options_init(&o);
    o.dst_version = 602;
    copy_all(a, b, &o, NULL);
    const char *keys[] = {"s:events", "s:big", "s:trimmed"};
    for (int i = 0; i < 3; i++) {
        redisReply *x = tu_cmd(a, "XRANGE %s - +", keys[i]), *y = tu_cmd(b, "XRANGE %s - +", keys[i]);
        assert_true(tu_reply_equal(x, y));
        freeReplyObject(x);
        freeReplyObject(y);
        redisReply *gx = tu_cmd(a, "XINFO GROUPS %s", keys[i]), *gy = tu_cmd(b, "XINFO GROUPS %s", keys[i]);
        assert_int_equal(gx->elements, gy->elements);
        for (size_t g = 0; g < gx->elements; g++) {
            const char *name = gx->element[g]->element[1]->str;
            redisReply *px = tu_cmd(a, "XPENDING %s %s - + 100000", keys[i], name);
            redisReply *py = tu_cmd(b, "XPENDING %s %s - + 100000", keys[i], name);
            assert_int_equal(px->elements, py->elements);
            for (size_t j = 0; j < px->elements; j++) {
                assert_true(tu_reply_equal(px->element[j]->element[0], py->element[j]->element[0]));
                assert_true(tu_reply_equal(px->element[j]->element[1], py->element[j]->element[1]));
                assert_true(tu_reply_equal(px->element[j]->element[3], py->element[j]->element[3]));
            }
            freeReplyObject(px);
            freeReplyObject(py);
        }
        freeReplyObject(gx);
        freeReplyObject(gy);
    }
    assert_no_tmp_keys(b);
    conn_close(a);
    conn_close(b);
}

static void test_exists_gone_replace(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    char err[FERRY_ERR_LEN];
    tu_ok(a, "HSET h f1 src1 f2 src2");
    tu_ok(a, "PEXPIREAT h %lld", util_now_ms() + 600000);
    tu_ok(b, "SET h target-own");
    tu_ok(a, "XADD st 1-1 a 1");
    tu_ok(b, "RPUSH st target-list");
    /* Exists, not replacing: 2, untouched, no temporary key. */
    assert_int_equal(typecopy_key(a, b, "h", 1, TYPECOPY_EXPIRE_READ, 0, NULL, NULL, err, sizeof err), TYPECOPY_EXISTS);
    assert_int_equal(typecopy_key(a, b, "st", 2, 0, 0, NULL, NULL, err, sizeof err), TYPECOPY_EXISTS);
    redisReply *r = tu_cmd(b, "GET h");
    assert_string_equal(r->str, "target-own");
    freeReplyObject(r);
    assert_int_equal(tu_int(b, "PTTL h"), -1);
    assert_int_equal(tu_int(b, "LLEN st"), 1);
    /* Replacing: the source's value and expiry, whatever the target had. */
    assert_int_equal(typecopy_key(a, b, "h", 1, TYPECOPY_EXPIRE_READ, 1, NULL, NULL, err, sizeof err), TYPECOPY_COPIED);
    assert_int_equal(typecopy_key(a, b, "st", 2, TYPECOPY_EXPIRE_READ, 1, NULL, NULL, err, sizeof err), TYPECOPY_COPIED);
    assert_int_equal(assert_same(a, b), 2);
    /* An expiry given by the caller is applied exactly. */
    long long at = util_now_ms() + 99999;
    tu_ok(b, "DEL h");
    assert_int_equal(typecopy_key(a, b, "h", 1, at, 0, NULL, NULL, err, sizeof err), TYPECOPY_COPIED);
    assert_int_equal(tu_int(b, "PEXPIRETIME h"), at);
    /* Gone: missing on the source, or an expiry already past. */
    assert_int_equal(typecopy_key(a, b, "nope", 4, TYPECOPY_EXPIRE_READ, 0, NULL, NULL, err, sizeof err), TYPECOPY_GONE);
    tu_ok(a, "SET soon v");
    assert_int_equal(typecopy_key(a, b, "soon", 4, util_now_ms() - 5, 0, NULL, NULL, err, sizeof err), TYPECOPY_GONE);
    assert_int_equal(tu_int(b, "EXISTS soon nope"), 0);
    assert_no_tmp_keys(b);
    conn_close(a);
    conn_close(b);
}

static void test_target_error_leaves_nothing(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 0; i < 3000; i++) conn_append(a, "RPUSH biglist %0200d", i);
    tu_pipeline_ok(a, 3000);
    /* The target runs out of memory part-way: an error naming the key and
     * the server, and nothing left behind. */
    tu_ok(b, "CONFIG SET maxmemory-policy noeviction");
    redisReply *r = tu_cmd(b, "INFO memory");
    long long used = atoll(strstr(r->str, "used_memory:") + 12);
    freeReplyObject(r);
    tu_ok(b, "CONFIG SET maxmemory %lld", used + 200 * 1024);
    char err[FERRY_ERR_LEN] = "";
    assert_int_equal(typecopy_key(a, b, "biglist", 7, 0, 0, NULL, NULL, err, sizeof err), TYPECOPY_ERROR);
    tu_ok(b, "CONFIG SET maxmemory 0");
    if (!tu_contains(err, "OOM") || !tu_contains(err, "biglist") || !tu_contains(err, "maxmemory"))
        fail_msg("unexpected message: %s", err);
    assert_int_equal(tu_int(b, "DBSIZE"), 0);
    conn_close(a);
    conn_close(b);
}

typedef struct Killer {
    long long id;
    int delay_ms;
} Killer;

static void *killer_main(void *arg) {
    Killer *k = arg;
    Conn *c = tu_connect(&dst, 0);
    util_sleep_ms(k->delay_ms);
    tu_ok(c, "CLIENT KILL ID %lld", k->id);
    conn_close(c);
    return NULL;
}

/* The target connection dies mid-copy: an error naming the target, nothing
 * under the real name, and the temporary key expires on its own. */
static void test_connection_lost_midway(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0), *check = tu_connect(&dst, 0);
    for (int i = 0; i < 4000; i++) conn_append(a, "RPUSH biglist item-%d", i);
    tu_pipeline_ok(a, 4000);
    Killer k = {tu_int(b, "CLIENT ID"), 40};
    TypeCopyOptions o;
    typecopy_options_init(&o);
    o.chunk = 1; /* thousands of round trips: the kill lands mid-copy */
    o.tmp_ttl_ms = 300;
    pthread_t th;
    pthread_create(&th, NULL, killer_main, &k);
    char err[FERRY_ERR_LEN] = "";
    int rc = typecopy_key(a, b, "biglist", 7, 0, 0, &o, NULL, err, sizeof err);
    pthread_join(th, NULL);
    assert_int_equal(rc, TYPECOPY_ERROR);
    assert_true(conn_broken(b));
    if (!tu_contains(err, "127.0.0.1") || !tu_contains(err, "biglist") || !tu_contains(err, "not copied"))
        fail_msg("unexpected message: %s", err);
    assert_int_equal(tu_int(check, "EXISTS biglist"), 0);
    util_sleep_ms(400);
    assert_int_equal(tu_int(check, "DBSIZE"), 0);
    conn_close(a);
    conn_close(b);
    conn_close(check);
}

static void test_slots_and_tmp_names(void **state) {
    (void)state;
    /* Reference values of CLUSTER KEYSLOT. */
    assert_int_equal(typecopy_keyslot("foo", 3), 12182);
    assert_int_equal(typecopy_keyslot("somekey", 7), 11058);
    assert_int_equal(typecopy_keyslot("{user1000}.following", 20), typecopy_keyslot("user1000", 8));
    assert_int_equal(typecopy_keyslot("{}x", 3), typecopy_keyslot("{}x", 3));
    const char *keys[] = {"plain", "{tag}rest", "a{b{c}d", "a}b", "", "{}x}", "{a}", "}{", "x{y", "\xff{\x00}"};
    size_t lens[] = {5, 9, 7, 3, 0, 4, 3, 2, 3, 4};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t tl;
        char *t = typecopy_tmp_name(keys[i], lens[i], 0x1234abcdULL + i, &tl);
        assert_non_null(t);
        assert_int_equal(t[tl], '\0');
        assert_non_null(memmem(t, tl, "ferry-tmp-", 10));
        if (typecopy_keyslot(t, tl) != typecopy_keyslot(keys[i], lens[i]))
            fail_msg("tmp name %s for key #%zu is in slot %u, the key in %u", t, i, typecopy_keyslot(t, tl),
                     typecopy_keyslot(keys[i], lens[i]));
        free(t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_and_tmp_names),
        cmocka_unit_test_setup(test_every_type, flush_both),
        cmocka_unit_test_setup(test_small_chunks, flush_both),
        cmocka_unit_test_setup(test_older_target_path, flush_both),
        cmocka_unit_test_setup(test_exists_gone_replace, flush_both),
        cmocka_unit_test_setup(test_target_error_leaves_nothing, flush_both),
        cmocka_unit_test_setup(test_connection_lost_midway, flush_both),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
