/* Copy behaviour against real servers: every type and TTL exactly, db
 * remapping, glob and type filters (checked against the server's own
 * MATCH), each conflict policy, the rate limit, keys expiring during the
 * copy, and a copy that survives its target connections being killed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

static Sandbox src, dst;
static char src_uri[128], dst_uri[128];

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    sandbox_uri(&dst, -1, dst_uri, sizeof(dst_uri));
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
    Conn *a = tu_connect(&src, -1), *b = tu_connect(&dst, -1);
    tu_ok(a, "FLUSHALL");
    tu_ok(b, "FLUSHALL");
    conn_close(a);
    conn_close(b);
    return 0;
}

static void uri_db(const char *base, int db, char *buf, size_t len) { snprintf(buf, len, "%s/%d", base, db); }

static void test_every_type_exact(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    long n = tu_fill_every_type(a, "");
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--workers", "3", "--batch", "4", NULL});
    if (r.status != 0) fail_msg("exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    assert_int_equal(tu_assert_same_keyspace(a, 0, b, 0), n);
    assert_true(tu_contains(r.out, "done in"));
    /* TTLs are absolute and equal to the millisecond (checked above); and
     * they are really there. */
    assert_true(tu_int(b, "PEXPIRETIME str:ttl") > 0);
    conn_close(a);
    conn_close(b);
}

/* A second copy over the first meets only its own keys: every one is
 * identical (sets and hashes in a hash table DUMP in another order on the
 * target, so their contents are compared), none is a conflict. */
static void test_second_copy_is_all_identical(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0);
    long n = tu_fill_every_type(a, "");
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", NULL});
    if (r.status != 0) fail_msg("first copy: exit %d: %s", r.status, r.err);
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--json", "--on-conflict", "fail", NULL});
    if (r.status != 0) fail_msg("second copy: exit %d\n%s\n%s", r.status, r.out, r.err);
    const char *last = NULL, *p = r.out;
    while ((p = strstr(p, "\"type\":\"progress\"")) != NULL) last = p++;
    assert_non_null(last);
    assert_int_equal(atoll(strstr(last, "\"identical\":") + 12), n);
    assert_int_equal(atoll(strstr(last, "\"copied\":") + 9), 0);
    conn_close(a);
}

static void test_all_dbs_and_remap(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int db = 0; db < 3; db++) {
        tu_ok(a, "SELECT %d", db);
        for (int i = 0; i < 50 + db; i++) tu_ok(a, "SET db%d:k%d %d", db, i, i);
    }
    /* Default: every non-empty db to the same number. */
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    for (int db = 0; db < 3; db++) assert_int_equal(tu_assert_same_keyspace(a, db, b, db), 50 + db);

    /* --db-map 1:5,2:6 into an empty target. */
    tu_ok(b, "FLUSHALL");
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--db-map", "1:5,2:6", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    tu_assert_same_keyspace(a, 1, b, 5);
    tu_assert_same_keyspace(a, 2, b, 6);
    tu_ok(b, "SELECT 0");
    assert_int_equal(tu_int(b, "DBSIZE"), 0);

    /* URIs naming the dbs: source /1 → target /0 (the db-split case). */
    tu_ok(b, "FLUSHALL");
    char s1[160], d0[160];
    uri_db(src_uri, 1, s1, sizeof(s1));
    uri_db(dst_uri, 0, d0, sizeof(d0));
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", s1, "--target", d0, "--no-tui", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    tu_assert_same_keyspace(a, 1, b, 0);
    conn_close(a);
    conn_close(b);
}

/* The keys the server itself says match pattern. */
static int server_matches(Conn *c, const char *pattern, const char *key) {
    redisReply *r = tu_cmd(c, "SCAN 0 MATCH %s COUNT 100000", pattern);
    int found = 0;
    for (size_t i = 0; i < r->element[1]->elements; i++)
        if (!strcmp(r->element[1]->element[i]->str, key)) found = 1;
    freeReplyObject(r);
    return found;
}

static void test_glob_filters_match_server(void **state) {
    (void)state;
    static const char *keys[] = {"user:1", "user:2", "user:10", "user:x", "cart:1", "cart:2", "a*b", "a?b",
                                 "axb", "[x]", "x", "b", "c", "d", "feed:1:a", "feed:2:b", "hello\\world", "Hello"};
    size_t nkeys = sizeof(keys) / sizeof(keys[0]);
    static const char *const cases[][3] = {
        /* include1, include2, exclude */
        {"user:?", "cart:[1-1]", "user:2"},
        {"a\\*b", "[a-c]", "a?b"},
        {"a\\?b", "\\[x\\]", ""},
        {"feed:*:[^a]", "[^a-c]", "x"},
        {"*", "", "*:1*"},
        {"hello\\\\world", "[H]ello", ""},
    };
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (size_t i = 0; i < nkeys; i++) tu_ok(a, "SET %s v", keys[i]);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        tu_ok(b, "FLUSHALL");
        const char *args[24];
        int n = 0;
        args[n++] = "copy";
        args[n++] = "--source";
        args[n++] = src_uri;
        args[n++] = "--target";
        args[n++] = dst_uri;
        args[n++] = "--no-tui";
        args[n++] = "--match";
        args[n++] = cases[c][0];
        if (cases[c][1][0]) {
            args[n++] = "--match";
            args[n++] = cases[c][1];
        }
        if (cases[c][2][0]) {
            args[n++] = "--exclude";
            args[n++] = cases[c][2];
        }
        args[n] = NULL;
        TuRun r;
        tu_ferry(&r, 60, NULL, args);
        if (r.status != 0) fail_msg("case %zu: exit %d: %s", c, r.status, r.err);
        for (size_t i = 0; i < nkeys; i++) {
            int want = (server_matches(a, cases[c][0], keys[i]) ||
                        (cases[c][1][0] && server_matches(a, cases[c][1], keys[i]))) &&
                       !(cases[c][2][0] && server_matches(a, cases[c][2], keys[i]));
            int have = tu_int(b, "EXISTS %s", keys[i]) == 1;
            if (want != have)
                fail_msg("case %zu (match %s %s exclude %s): key \"%s\" %s on the target but the server's MATCH says %s",
                         c, cases[c][0], cases[c][1], cases[c][2], keys[i], have ? "is" : "is not",
                         want ? "it belongs" : "it does not");
        }
    }
    conn_close(a);
    conn_close(b);
}

static void test_type_filter(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_fill_every_type(a, "");
    TuRun r;
    /* Several types: filtered client-side with TYPE. */
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--type", "hash,stream", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    assert_int_equal(tu_int(b, "DBSIZE"), 4);
    assert_int_equal(tu_int(b, "EXISTS hash:small hash:big stream:events stream:empty-group"), 4);
    /* One type: SCAN TYPE on the server. */
    tu_ok(b, "FLUSHALL");
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--type", "zset", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    assert_int_equal(tu_int(b, "DBSIZE"), 2);
    assert_int_equal(tu_int(b, "EXISTS zset:small zset:big"), 2);
    conn_close(a);
    conn_close(b);
}

static void test_conflict_policies(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 0; i < 100; i++) tu_ok(a, "SET k%d src%d", i, i);
    tu_ok(b, "SET k1 target-own");
    tu_ok(b, "SET k2 target-own");
    tu_ok(b, "SET k3 src3"); /* identical: not a conflict */
    char report[600];
    snprintf(report, sizeof(report), "%s/report.txt", dst.dir);

    /* No policy chosen and the target db holds keys: refused, nothing written. */
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "already holds 3 keys"));
    assert_true(tu_contains(r.err, "--on-conflict"));
    assert_int_equal(tu_int(b, "DBSIZE"), 3);

    /* fail: conflicts reported and left alone, everything else copied. */
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--on-conflict", "fail", "--report", report, NULL});
    assert_int_equal(r.status, 3);
    assert_int_equal(tu_int(b, "DBSIZE"), 100);
    redisReply *v = tu_cmd(b, "GET k1");
    assert_string_equal(v->str, "target-own");
    freeReplyObject(v);
    FILE *f = fopen(report, "r");
    assert_non_null(f);
    char line[512];
    int conflicts = 0, k3 = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#') continue;
        if (strstr(line, "\tk1\t") || strstr(line, "\tk2\t")) conflicts++;
        if (strstr(line, "\tk3\t")) k3++;
    }
    fclose(f);
    assert_int_equal(conflicts, 2);
    assert_int_equal(k3, 0);
    assert_true(tu_contains(r.out, "2 failed"));

    /* skip: same outcome, counted as skipped. */
    tu_ok(b, "DEL k50");
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--on-conflict", "skip", NULL});
    assert_int_equal(r.status, 3);
    assert_true(tu_contains(r.out, "2 skipped"));
    assert_true(tu_contains(r.out, "97 already identical"));
    v = tu_cmd(b, "GET k2");
    assert_string_equal(v->str, "target-own");
    freeReplyObject(v);
    assert_int_equal(tu_int(b, "EXISTS k50"), 1);

    /* replace: the target ends equal to the source. */
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--on-conflict", "replace", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    tu_assert_same_keyspace(a, 0, b, 0);
    conn_close(a);
    conn_close(b);
}

static void test_rate_limit(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 0; i < 3000; i++) conn_append(a, "SET rate:%d x", i);
    for (int i = 0; i < 3000; i++) {
        redisReply *x;
        assert_int_equal(conn_get_reply(a, &x), 0);
        freeReplyObject(x);
    }
    TuRun r;
    /* 1000 keys/s with a burst of at most one second: 3000 keys cannot take
     * less than ~2 s. (A lower bound only; speed is measured in bench/.) */
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--rate", "1000", "--batch", "50", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    assert_true(r.seconds >= 1.9);
    assert_int_equal(tu_int(b, "DBSIZE"), 3000);
    conn_close(a);
    conn_close(b);
}

static void test_keys_expiring_during_copy(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 0; i < 2000; i++) conn_append(a, "SET short:%d x PX %d", i, 400 + i);
    for (int i = 0; i < 500; i++) conn_append(a, "SET long:%d x", i);
    for (int i = 0; i < 2500; i++) {
        redisReply *x;
        assert_int_equal(conn_get_reply(a, &x), 0);
        freeReplyObject(x);
    }
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--json", "--rate", "1000", "--batch", "20", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    /* Whatever expired was counted, not failed; nothing expired is on the target. */
    const char *sum = strstr(r.out, "\"type\":\"summary\"");
    assert_non_null(sum);
    const char *last = NULL, *p = r.out;
    while ((p = strstr(p, "\"type\":\"progress\"")) != NULL) last = p++;
    assert_non_null(last);
    long long expired = atoll(strstr(last, "\"expired\":") + 10);
    long long failed = atoll(strstr(last, "\"failed\":") + 9);
    long long copied = atoll(strstr(last, "\"copied\":") + 9);
    assert_true(expired > 0);
    assert_int_equal(failed, 0);
    assert_int_equal(copied + expired, 2500);
    util_sleep_ms(2500);
    assert_int_equal(tu_int(b, "DBSIZE"), 500);
    conn_close(a);
    conn_close(b);
}

typedef struct Killer {
    Sandbox *s;
    _Atomic int stop;
    _Atomic int kills;
} Killer;

static void *killer_main(void *arg) {
    Killer *k = arg;
    Conn *c = tu_connect(k->s, -1);
    while (!k->stop) {
        util_sleep_ms(150);
        redisReply *r = conn_command(c, "CLIENT LIST");
        if (!r) break;
        if (r->type == REDIS_REPLY_STRING) {
            char *line = r->str;
            while (line && *line) {
                char *nl = strchr(line, '\n');
                if (nl) *nl = '\0';
                if (strstr(line, "name=ferry-dst-w")) {
                    char *id = strstr(line, "id=");
                    if (id) {
                        redisReply *x = conn_command(c, "CLIENT KILL ID %lld", atoll(id + 3));
                        if (x && x->type == REDIS_REPLY_INTEGER && x->integer > 0) k->kills++;
                        if (x) freeReplyObject(x);
                    }
                }
                line = nl ? nl + 1 : NULL;
            }
        }
        freeReplyObject(r);
    }
    conn_close(c);
    return NULL;
}

static void test_survives_killed_connections(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 0; i < 20000; i++) conn_append(a, "SET kill:%d value-%d", i, i);
    for (int i = 0; i < 20000; i++) {
        redisReply *x;
        assert_int_equal(conn_get_reply(a, &x), 0);
        freeReplyObject(x);
    }
    Killer k = {&dst, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, killer_main, &k);
    TuRun r;
    tu_ferry(&r, 120, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--rate", "5000", "--batch", "100", "--workers", "2", "--on-conflict", "fail", NULL});
    k.stop = 1;
    pthread_join(th, NULL);
    if (r.status != 0) fail_msg("exit %d (kills %d)\nstdout: %s\nstderr: %s", r.status, k.kills, r.out, r.err);
    assert_true(k.kills > 0);
    tu_assert_same_keyspace(a, 0, b, 0);
    conn_close(a);
    conn_close(b);
}

/* Streams copied type-based: same entries and IDs, same groups (position,
 * entries-read, pending counts, consumers) and the same pending entries
 * with their consumers and delivery counts. Idle times and consumers'
 * seen-times are clocks, not state, and are not compared. */
static void assert_same_stream(Conn *a, Conn *b, const char *key) {
    redisReply *x = tu_cmd(a, "XRANGE %s - +", key), *y = tu_cmd(b, "XRANGE %s - +", key);
    if (!tu_reply_equal(x, y)) fail_msg("stream %s: entries differ", key);
    freeReplyObject(x);
    freeReplyObject(y);
    x = tu_cmd(a, "XINFO GROUPS %s", key);
    y = tu_cmd(b, "XINFO GROUPS %s", key);
    if (!tu_reply_equal(x, y)) fail_msg("stream %s: XINFO GROUPS differs", key);
    for (size_t g = 0; g < x->elements; g++) {
        redisReply *fields = x->element[g];
        const char *name = fields->element[1]->str;
        redisReply *p = tu_cmd(a, "XPENDING %s %s - + 1000", key, name);
        redisReply *q = tu_cmd(b, "XPENDING %s %s - + 1000", key, name);
        assert_int_equal(p->elements, q->elements);
        for (size_t i = 0; i < p->elements; i++) {
            redisReply *e = p->element[i], *f = q->element[i];
            assert_string_equal(e->element[0]->str, f->element[0]->str); /* id */
            assert_string_equal(e->element[1]->str, f->element[1]->str); /* consumer */
            assert_int_equal(e->element[3]->integer, f->element[3]->integer); /* deliveries */
        }
        freeReplyObject(p);
        freeReplyObject(q);
    }
    freeReplyObject(x);
    freeReplyObject(y);
}

static void test_type_based_forced(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    long n = tu_fill_every_type(a, "");
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--type-based", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    assert_int_equal(tu_int(b, "DBSIZE"), n);
    assert_same_stream(a, b, "stream:events");
    assert_same_stream(a, b, "stream:empty-group");
    assert_int_equal(tu_int(a, "PEXPIRETIME stream:empty-group"), tu_int(b, "PEXPIRETIME stream:empty-group"));
    /* A rerun recognises its own sets, hashes and streams by their contents
     * and expiry; strings, lists and sorted sets it does not compare (whole
     * big values would be read from the source): skipped. */
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--json", "--type-based",
                                            "--on-conflict", "skip", NULL});
    if (!tu_contains(r.out, "\"copied\":0,\"skipped\":10,\"identical\":7,"))
        fail_msg("rerun: exit %d\n%s\n%s", r.status, r.out, r.err);
    /* Everything but the streams is equal key by key, expiries to the ms. */
    tu_ok(a, "DEL stream:events stream:empty-group");
    tu_ok(b, "DEL stream:events stream:empty-group");
    tu_assert_same_keyspace(a, 0, b, 0);
    conn_close(a);
    conn_close(b);
}

/* A target that refuses a payload (here: larger than its proto-max-bulk-len,
 * which also drops the connection) gets that key type-based, and the rest
 * of the batch is resent after the reconnect. */
static void test_refused_payload_falls_back(void **state) {
    (void)state;
    Sandbox small;
    tu_server_start(&small, (const char *[]){"--proto-max-bulk-len", "1mb", NULL});
    char small_uri[128];
    sandbox_uri(&small, -1, small_uri, sizeof(small_uri));
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&small, 0);
    char item[1025];
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 3000; i++) {
        for (int j = 0; j < 1024; j++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17; /* xorshift: incompressible */
            item[j] = (char)('!' + x % 90);
        }
        item[1024] = '\0';
        conn_append(a, "RPUSH big:list %s", item);
    }
    for (int i = 0; i < 3000; i++) {
        redisReply *rr;
        assert_int_equal(conn_get_reply(a, &rr), 0);
        freeReplyObject(rr);
    }
    tu_ok(a, "PEXPIRE big:list 86400000");
    for (int i = 0; i < 200; i++) tu_ok(a, "SET small:%d v%d", i, i);
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", small_uri, "--no-tui", "--batch", "50", NULL});
    if (r.status != 0) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    tu_assert_same_keyspace(a, 0, b, 0);
    /* It really went the type-based way: RESTORE was refused, RPUSH wrote it. */
    redisReply *st = tu_cmd(b, "INFO commandstats");
    assert_non_null(strstr(st->str, "cmdstat_rpush:"));
    assert_non_null(strstr(st->str, "cmdstat_restore:"));
    freeReplyObject(st);
    conn_close(a);
    conn_close(b);
    sandbox_stop(&small);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_type_exact, flush_both),
        cmocka_unit_test_setup(test_second_copy_is_all_identical, flush_both),
        cmocka_unit_test_setup(test_all_dbs_and_remap, flush_both),
        cmocka_unit_test_setup(test_glob_filters_match_server, flush_both),
        cmocka_unit_test_setup(test_type_filter, flush_both),
        cmocka_unit_test_setup(test_conflict_policies, flush_both),
        cmocka_unit_test_setup(test_rate_limit, flush_both),
        cmocka_unit_test_setup(test_keys_expiring_during_copy, flush_both),
        cmocka_unit_test_setup(test_survives_killed_connections, flush_both),
        cmocka_unit_test_setup(test_type_based_forced, flush_both),
        cmocka_unit_test_setup(test_refused_payload_falls_back, flush_both),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
