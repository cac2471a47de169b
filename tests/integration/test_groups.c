/* The consumer-group sampler against a real server holding 2,000 streams ×
 * 3 groups (and other keys): the commands it sends per second, counted by the
 * server itself (INFO commandstats), stay within the budget; coverage grows;
 * its figures equal XINFO GROUPS; it backs off when the server is slow; it
 * stops at once; an unreachable server is reported, not fatal. Also the pure
 * ranking function. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"
#include "testutil.h"
#include "util.h"

#define NSTREAMS 2000

static Sandbox srv;

static void pipeline_ok(Conn *c, int n) {
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (conn_get_reply(c, &r) != 0) fail_msg("pipeline: %s", conn_errstr(c));
        if (r->type == REDIS_REPLY_ERROR) fail_msg("pipeline: %s", r->str);
        freeReplyObject(r);
    }
}

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&srv, (const char *const[]){"--enable-debug-command", "local", NULL});
    Conn *c = tu_connect(&srv, 0);
    /* Stream i: 1..7 entries; g0 read nothing (lag = length), g1 read some
     * (pending), g2 created at the end ($: lag 0). Plus plain keys that the
     * SCAN TYPE filter must skip. */
    for (int i = 0; i < NSTREAMS; i++) {
        int n = i % 7 + 1;
        for (int j = 0; j < n; j++) conn_append(c, "XADD ev:%d * n %d", i, j);
        conn_append(c, "XGROUP CREATE ev:%d g0 0", i);
        conn_append(c, "XGROUP CREATE ev:%d g1 0", i);
        conn_append(c, "XGROUP CREATE ev:%d g2 $", i);
        conn_append(c, "XREADGROUP GROUP g1 consumer-%d COUNT %d STREAMS ev:%d >", i % 3, i % 4, i);
        pipeline_ok(c, n + 4);
    }
    for (int i = 0; i < 3000; i++) conn_append(c, "SET plain:%d v", i);
    pipeline_ok(c, 3000);
    conn_close(c);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&srv);
    return 0;
}

/* slow_us 0: the default (10 ms). The budget and coverage tests raise it so
 * that a loaded test machine does not make the sampler back off. */
static Groups *start_db(int budget, int db, int rescan_ms, int slow_us) {
    GroupsConfig cfg;
    char uri[128], err[FERRY_ERR_LEN];
    groups_config_init(&cfg, "source");
    sandbox_uri(&srv, db, uri, sizeof uri);
    if (uri_parse(uri, &cfg.conn.uri, err, sizeof err) != 0) fail_msg("uri: %s", err);
    cfg.budget = budget;
    if (rescan_ms) cfg.rescan_ms = rescan_ms;
    if (slow_us) cfg.slow_us = slow_us;
    Groups *g = groups_start(&cfg, err, sizeof err);
    if (!g) fail_msg("groups_start: %s", err);
    return g;
}

static Groups *start(int budget) { return start_db(budget, 0, 0, 0); }
static Groups *start_steady(int budget) { return start_db(budget, 0, 0, 2000000); }

/* Calls of every command but INFO (the test's own), per the server. */
static long long calls_but_info(Conn *c) {
    redisReply *r = tu_cmd(c, "INFO commandstats");
    long long sum = 0;
    for (const char *p = r->str; (p = strstr(p, "cmdstat_")); p++) {
        if (!strncmp(p, "cmdstat_info:", 13)) continue;
        const char *q = strstr(p, "calls=");
        if (q) sum += atoll(q + 6);
    }
    freeReplyObject(r);
    return sum;
}

static void wait_for(Groups *g, GroupsSnapshot *s, int (*cond)(const GroupsSnapshot *), int timeout_ms, const char *what) {
    int64_t end = util_mono_ms() + timeout_ms;
    for (;;) {
        assert_int_equal(groups_snapshot(g, s), 0);
        if (cond(s)) return;
        if (util_mono_ms() > end) fail_msg("timed out waiting for %s (state %s, known %zu, sampled %zu, error %s)", what,
                                           groups_state_name(s->state), s->streams_known, s->streams_sampled, s->error);
        groups_snapshot_free(s);
        util_sleep_ms(20);
    }
}

static int has_sampled(const GroupsSnapshot *s) { return s->streams_sampled > 0; }
static int has_discovered(const GroupsSnapshot *s) { return s->passes >= 1; }

static void test_budget_counted_by_server(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, 0);
    tu_ok(c, "CONFIG RESETSTAT");
    Groups *g = start_steady(20);
    GroupsSnapshot s;
    wait_for(g, &s, has_sampled, 5000, "a first sample");
    groups_snapshot_free(&s);
    long long before = calls_but_info(c);
    int64_t t0 = util_mono_ms();
    util_sleep_ms(3000);
    long long after = calls_but_info(c);
    double secs = (double)(util_mono_ms() - t0) / 1000.0;
    long long sent = after - before;
    /* At most one command per 1/20 s, with one at the window's edge. */
    if (sent > (long long)(20 * secs) + 1) fail_msg("%lld commands in %.2f s with a budget of 20/s", sent, secs);
    if (sent < (long long)(20 * secs * 0.7)) fail_msg("only %lld commands in %.2f s: the sampler stalls", sent, secs);
    print_message("sampler: %lld commands in %.2f s (budget 20/s), counted by the server\n", sent, secs);
    assert_int_equal(groups_snapshot(g, &s), 0);
    assert_int_equal(s.budget, 20);
    assert_int_equal(s.backoff, 1);
    assert_int_equal(s.state, GROUPS_SAMPLING);
    /* Its own count agrees with the server's (it also counts the handshake
     * and the commands before the window). */
    assert_true((long long)s.commands >= sent);
    groups_snapshot_free(&s);
    groups_stop(g);
    conn_close(c);
}

static void test_coverage_and_figures(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, 0);
    Groups *g = start_steady(200);
    GroupsSnapshot s1, s2;
    wait_for(g, &s1, has_discovered, 5000, "a discovery pass");
    assert_int_equal(s1.streams_known, NSTREAMS); /* the 3000 plain keys are not streams */
    util_sleep_ms(1000);
    groups_snapshot_free(&s1);
    assert_int_equal(groups_snapshot(g, &s1), 0);
    util_sleep_ms(1500);
    assert_int_equal(groups_snapshot(g, &s2), 0);
    /* Coverage grows, honestly counted. */
    assert_true(s1.streams_sampled > 50);
    assert_true(s2.streams_sampled > s1.streams_sampled);
    assert_true(s2.streams_sampled < NSTREAMS); /* 200/s cannot have seen 2000 in 2.5 s */
    assert_int_equal(s2.nrows, s2.streams_sampled * 3);
    assert_true(s2.oldest_sample_ms > 0 && s2.oldest_sample_ms <= s2.taken_ms);
    assert_true(s2.taken_ms - s2.oldest_sample_ms >= 1000);
    print_message("coverage: %zu then %zu of %zu streams sampled (budget 200/s)\n", s1.streams_sampled,
                  s2.streams_sampled, s2.streams_known);
    /* Figures equal XINFO GROUPS, for a few streams asked directly. */
    for (size_t i = 0; i < s2.nrows; i += s2.nrows / 7 + 1) {
        const GroupRow *row = &s2.rows[i];
        redisReply *r = tu_cmd(c, "XINFO GROUPS %b", row->key, row->klen);
        int found = 0;
        for (size_t j = 0; j < r->elements; j++) {
            redisReply *m = r->element[j];
            if (strcmp(m->element[1]->str, row->group)) continue;
            found = 1;
            for (size_t k = 0; k + 1 < m->elements; k += 2) {
                const char *f = m->element[k]->str;
                const redisReply *v = m->element[k + 1];
                if (!strcmp(f, "pending")) assert_int_equal(v->integer, row->pending);
                if (!strcmp(f, "consumers")) assert_int_equal(v->integer, row->consumers);
                if (!strcmp(f, "lag")) assert_int_equal(v->type == REDIS_REPLY_NIL ? -1 : v->integer, row->lag);
                if (!strcmp(f, "entries-read"))
                    assert_int_equal(v->type == REDIS_REPLY_NIL ? -1 : v->integer, row->entries_read);
                if (!strcmp(f, "last-delivered-id")) assert_string_equal(v->str, row->last_delivered);
            }
        }
        freeReplyObject(r);
        if (!found) fail_msg("group %s of %s not found on the server", row->group, row->key);
    }
    /* Ranking over the live snapshot: by pending, prefix "ev:1". */
    size_t idx[10];
    GroupsTotals tot;
    long n = groups_top(&s2, GROUPS_BY_PENDING, "ev:1", 4, idx, 10, &tot);
    assert_true(n > 0 && n <= 10);
    for (long i = 0; i < n; i++) {
        assert_memory_equal(s2.rows[idx[i]].key, "ev:1", 4);
        if (i) assert_true(s2.rows[idx[i - 1]].pending >= s2.rows[idx[i]].pending);
    }
    assert_true(tot.groups >= (size_t)n && tot.streams * 3 == tot.groups);
    groups_snapshot_free(&s1);
    groups_snapshot_free(&s2);
    groups_stop(g);
    conn_close(c);
}

static int knows_22(const GroupsSnapshot *s) { return s->streams_known == 22 && s->passes >= 2; }
static int knows_20(const GroupsSnapshot *s) { return s->streams_known == 20; }

/* New streams are found by the next pass; deleted ones are dropped when
 * their turn comes. db 1, 20 streams, a pass every 300 ms. */
static void test_rediscovery(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, 1);
    for (int i = 0; i < 20; i++) tu_ok(c, "XGROUP CREATE db1:%d g $ MKSTREAM", i);
    Groups *g = start_db(200, 1, 300, 2000000);
    GroupsSnapshot s;
    wait_for(g, &s, knows_20, 3000, "20 streams");
    groups_snapshot_free(&s);
    for (int i = 20; i < 25; i++) tu_ok(c, "XGROUP CREATE db1:%d g $ MKSTREAM", i);
    tu_ok(c, "DEL db1:0 db1:1");
    tu_ok(c, "SET db1:2 now-a-string");
    wait_for(g, &s, knows_22, 5000, "22 streams after the changes");
    for (size_t i = 0; i < s.nrows; i++)
        if (!strcmp(s.rows[i].key, "db1:0") || !strcmp(s.rows[i].key, "db1:2")) fail_msg("%s still listed", s.rows[i].key);
    groups_snapshot_free(&s);
    groups_stop(g);
    tu_ok(c, "FLUSHDB");
    conn_close(c);
}

typedef struct Slower {
    _Atomic int stop;
} Slower;

/* Keeps the server busy: DEBUG SLEEP 30 ms, over and over. */
static void *slower_main(void *arg) {
    Slower *sl = arg;
    Conn *c = tu_connect(&srv, 0);
    while (!atomic_load(&sl->stop)) {
        redisReply *r = conn_command(c, "DEBUG SLEEP 0.03");
        if (r) freeReplyObject(r);
        util_sleep_ms(5);
    }
    conn_close(c);
    return NULL;
}

static int backed_off(const GroupsSnapshot *s) { return s->backoff >= 4; }

static void test_backs_off_when_slow(void **state) {
    (void)state;
    Groups *g = start(100);
    GroupsSnapshot s;
    wait_for(g, &s, has_sampled, 5000, "a first sample");
    assert_int_equal(s.backoff, 1);
    groups_snapshot_free(&s);
    Slower sl = {0};
    pthread_t th;
    pthread_create(&th, NULL, slower_main, &sl);
    wait_for(g, &s, backed_off, 5000, "the sampler to back off");
    uint64_t c0 = s.commands;
    groups_snapshot_free(&s);
    util_sleep_ms(1000);
    assert_int_equal(groups_snapshot(g, &s), 0);
    /* Spaced at least 4 × 10 ms now: well under the 100/s budget. */
    assert_true(s.commands - c0 <= 30);
    print_message("slow server: backoff x%d, %llu commands in 1 s (budget 100/s)\n", s.backoff,
                  (unsigned long long)(s.commands - c0));
    groups_snapshot_free(&s);
    atomic_store(&sl.stop, 1);
    pthread_join(th, NULL);
    groups_stop(g);
}

static void test_stop_is_prompt_and_unreachable_is_reported(void **state) {
    (void)state;
    /* A budget of 1/s: the thread mostly waits; stop must not. */
    Groups *g = start(1);
    util_sleep_ms(100);
    int64_t t0 = util_mono_ms();
    groups_stop(g);
    assert_true(util_mono_ms() - t0 < 500);

    GroupsConfig cfg;
    char uri[64], err[FERRY_ERR_LEN];
    groups_config_init(&cfg, "target");
    snprintf(uri, sizeof uri, "redis://127.0.0.1:%d", sandbox_free_port());
    assert_int_equal(uri_parse(uri, &cfg.conn.uri, err, sizeof err), 0);
    cfg.conn.connect_timeout_ms = 300;
    g = groups_start(&cfg, err, sizeof err);
    assert_non_null(g);
    GroupsSnapshot s;
    int64_t end = util_mono_ms() + 3000;
    for (;;) {
        assert_int_equal(groups_snapshot(g, &s), 0);
        if (s.state == GROUPS_RETRYING || util_mono_ms() > end) break;
        groups_snapshot_free(&s);
        util_sleep_ms(20);
    }
    assert_int_equal(s.state, GROUPS_RETRYING);
    assert_true(tu_contains(s.error, "target"));
    assert_true(tu_contains(s.error, "127.0.0.1"));
    assert_int_equal(s.nrows, 0);
    groups_snapshot_free(&s);
    t0 = util_mono_ms();
    groups_stop(g);
    assert_true(util_mono_ms() - t0 < 500);
}

/* ---- the pure ranking --------------------------------------------------------- */

static void test_top_is_pure_and_ordered(void **state) {
    (void)state;
    GroupRow rows[] = {
        {.key = "orders:1", .klen = 8, .group = "b", .glen = 1, .pending = 5, .lag = 2, .sampled_ms = 100},
        {.key = "orders:1", .klen = 8, .group = "a", .glen = 1, .pending = 5, .lag = 2, .sampled_ms = 100},
        {.key = "orders:2", .klen = 8, .group = "a", .glen = 1, .pending = 50, .lag = -1, .sampled_ms = 90},
        {.key = "mail:1", .klen = 6, .group = "x", .glen = 1, .pending = 500, .lag = 1000, .sampled_ms = 10},
        {.key = "orders:3", .klen = 8, .group = "z", .glen = 1, .pending = 0, .lag = 7, .sampled_ms = 120},
        {.key = "ord", .klen = 3, .group = "q", .glen = 1, .pending = 1, .lag = 0, .sampled_ms = 130},
    };
    GroupsSnapshot s = {.rows = rows, .nrows = sizeof rows / sizeof rows[0]};
    size_t idx[8];
    GroupsTotals t;
    /* By pending, all rows: 500, 50, 5 (a before b), 5, 1, 0. */
    assert_int_equal(groups_top(&s, GROUPS_BY_PENDING, NULL, 0, idx, 8, &t), 6);
    size_t want1[] = {3, 2, 1, 0, 5, 4};
    for (int i = 0; i < 6; i++) assert_int_equal(idx[i], want1[i]);
    assert_int_equal(t.groups, 6);
    assert_int_equal(t.streams, 5);
    assert_int_equal(t.pending, 561);
    assert_int_equal(t.lag, 1011);
    assert_int_equal(t.lag_unknown, 1);
    assert_int_equal(t.oldest_sample_ms, 10);
    /* Prefix "orders:" by lag, unknown last; at most 3. */
    assert_int_equal(groups_top(&s, GROUPS_BY_LAG, "orders:", 7, idx, 3, &t), 3);
    assert_int_equal(idx[0], 4);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 0);
    assert_int_equal(t.groups, 4); /* totals over every match, not only the 3 shown */
    assert_int_equal(t.streams, 3);
    assert_int_equal(t.pending, 60);
    assert_int_equal(t.lag_unknown, 1);
    /* The prefix is a prefix: "ord" does not match "orders:", "orders:" does not match "ord". */
    assert_int_equal(groups_top(&s, GROUPS_BY_PENDING, "ord", 3, idx, 8, &t), 5);
    assert_int_equal(groups_top(&s, GROUPS_BY_PENDING, "nothing", 7, idx, 8, &t), 0);
    assert_int_equal(t.groups, 0);
    /* Empty snapshot. */
    GroupsSnapshot e = {0};
    assert_int_equal(groups_top(&e, GROUPS_BY_LAG, NULL, 0, idx, 8, &t), 0);
    /* The input is untouched. */
    assert_string_equal(rows[0].group, "b");
    assert_int_equal(rows[2].pending, 50);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_is_pure_and_ordered),
        cmocka_unit_test(test_budget_counted_by_server),
        cmocka_unit_test(test_coverage_and_figures),
        cmocka_unit_test(test_rediscovery),
        cmocka_unit_test(test_backs_off_when_slow),
        cmocka_unit_test(test_stop_is_prompt_and_unreachable_is_reported),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
