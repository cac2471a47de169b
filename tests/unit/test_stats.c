/* stats, serverinfo and progress: rates with a status, ETA, INFO parsing,
 * payload-version compatibility, headless lines and exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "progress.h"
#include "serverinfo.h"
#include "stats.h"

static void test_rates_and_eta(void **state) {
    (void)state;
    Stats s;
    StatsSnapshot o;
    stats_init(&s);
    stats_start(&s, 10000);
    int64_t t0 = s.start_ms;
    stats_snapshot(&s, &o, t0);
    assert_int_equal(o.rate_status, RATE_INIT);
    assert_int_equal(o.eta_ms, -1);
    for (int i = 1; i <= 3; i++) {
        atomic_fetch_add(&s.copied, 1000);
        stats_tick(&s, t0 + i * 1000);
    }
    stats_snapshot(&s, &o, t0 + 3000);
    assert_int_equal(o.rate_status, RATE_OK);
    assert_true(o.keys_rate > 999 && o.keys_rate < 1001);
    assert_int_equal(o.hist_len, 3);
    assert_true(o.progress > 0.299 && o.progress < 0.301);
    assert_true(o.eta_ms > 6900 && o.eta_ms < 7100);
    /* No tick for 5 s: the rate is stale, not zero and not trusted. */
    stats_snapshot(&s, &o, t0 + 8000);
    assert_int_equal(o.rate_status, RATE_STALE);
    assert_int_equal(o.eta_ms, -1);
    /* More keys than the estimate never shows > 100%. */
    atomic_fetch_add(&s.copied, 20000);
    stats_tick(&s, t0 + 9000);
    stats_snapshot(&s, &o, t0 + 9000);
    assert_true(o.progress <= 1.0);
    stats_fail(&s, FAIL_OOM);
    stats_snapshot(&s, &o, t0 + 9000);
    assert_int_equal(o.failed, 1);
    assert_int_equal(o.failed_by[FAIL_OOM], 1);
    stats_finish(&s);
    stats_snapshot(&s, &o, t0 + 20000);
    assert_true(o.progress == 1.0);
    assert_int_equal(o.eta_ms, 0);
    stats_destroy(&s);
}

static void test_history_wraps(void **state) {
    (void)state;
    Stats s;
    StatsSnapshot o;
    stats_init(&s);
    stats_start(&s, 0);
    int64_t t = s.start_ms;
    for (int i = 1; i <= STATS_HISTORY + 10; i++) {
        atomic_fetch_add(&s.copied, (uint64_t)i);
        stats_tick(&s, t + i * 1000);
    }
    stats_snapshot(&s, &o, t + (STATS_HISTORY + 10) * 1000);
    assert_int_equal(o.hist_len, STATS_HISTORY);
    assert_true(o.keys_hist[STATS_HISTORY - 1] > STATS_HISTORY + 9.9);
    assert_true(o.progress < 0); /* no estimate */
    stats_destroy(&s);
}

static const char info_text[] =
    "# Server\r\nredis_version:7.2.4\r\nrun_id:abc123\r\n# Clients\r\nconnected_clients:7\r\n"
    "# Memory\r\nused_memory:1048576\r\nmaxmemory:2097152\r\nmaxmemory_policy:allkeys-lru\r\n"
    "# Stats\r\ninstantaneous_ops_per_sec:1234\r\n# Replication\r\nrole:master\r\n"
    "# Cluster\r\ncluster_enabled:0\r\n# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=0\r\n"
    "db3:keys=5,expires=0,avg_ttl=0\r\n";

static void test_serverinfo(void **state) {
    (void)state;
    ServerInfo si;
    serverinfo_parse(info_text, &si);
    assert_string_equal(si.server_name, "redis");
    assert_string_equal(si.version, "7.2.4");
    assert_int_equal(si.rdb_version, 11);
    assert_string_equal(si.run_id, "abc123");
    assert_int_equal(si.clients, 7);
    assert_int_equal(si.used_memory, 1048576);
    assert_int_equal(si.maxmemory, 2097152);
    assert_true(serverinfo_policy_evicts(&si));
    assert_int_equal(si.db_keys[0], 10);
    assert_int_equal(si.db_expires[0], 2);
    assert_int_equal(si.db_keys[3], 5);
    assert_int_equal(si.max_db_seen, 3);
    assert_true(serverinfo_has_pexpiretime(&si));
    serverinfo_parse("# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:9.0.0\r\n", &si);
    assert_string_equal(si.server_name, "valkey");
    assert_int_equal(si.rdb_version, 80);
}

static void test_payload_versions(void **state) {
    (void)state;
    assert_int_equal(serverinfo_rdb_for("redis", 6, 2), 9);
    assert_int_equal(serverinfo_rdb_for("redis", 7, 0), 10);
    assert_int_equal(serverinfo_rdb_for("redis", 7, 4), 12);
    assert_int_equal(serverinfo_rdb_for("valkey", 8, 1), 11);
    assert_true(serverinfo_payload_compatible(10, 10));
    assert_true(serverinfo_payload_compatible(9, 11));
    assert_false(serverinfo_payload_compatible(11, 10));
    assert_false(serverinfo_payload_compatible(12, 11)); /* Redis 7.4 → Valkey 8 */
    assert_false(serverinfo_payload_compatible(12, 80)); /* Redis 7.4 → Valkey 9 */
    assert_true(serverinfo_payload_compatible(11, 80));
    assert_false(serverinfo_payload_compatible(80, 12));
}

static void test_progress_text(void **state) {
    (void)state;
    EngineSnapshot *s = calloc(1, sizeof(*s));
    char buf[4096];
    s->state = ENGINE_RUNNING;
    s->stats.copied = 500;
    s->stats.total_estimate = 1000;
    s->stats.done = 500;
    s->stats.progress = 0.5;
    s->stats.keys_rate = 250;
    s->stats.rate_status = RATE_OK;
    s->stats.eta_ms = 2000;
    s->stats.elapsed_ms = 2000;
    progress_line(s, buf, sizeof(buf));
    assert_non_null(strstr(buf, "50.0%"));
    assert_non_null(strstr(buf, "copied 500/1000"));
    assert_non_null(strstr(buf, "250 keys/s"));
    assert_non_null(strstr(buf, "ETA 2s"));
    s->stats.rate_status = RATE_STALE;
    progress_line(s, buf, sizeof(buf));
    assert_non_null(strstr(buf, "(stale)"));
    util_strlcpy(s->reason, "quote \" and \\ and\nnewline", sizeof(s->reason));
    progress_json(s, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"reason\":\"quote \\\" and \\\\ and\\u000anewline\""));
    assert_int_equal(progress_exit_code(s), 0);
    s->stats.skipped = 1;
    assert_int_equal(progress_exit_code(s), 3);
    s->state = ENGINE_FAILED;
    assert_int_equal(progress_exit_code(s), 1);
    s->stats.failed = 2;
    s->stats.failed_by[FAIL_BUSYKEY] = 2;
    util_strlcpy(s->fail_samples[FAIL_BUSYKEY][0], "k1", 128);
    progress_summary(s, "report.txt", buf, sizeof(buf));
    assert_non_null(strstr(buf, "exists on target: 2 (e.g. k1)"));
    assert_non_null(strstr(buf, "report.txt"));
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates_and_eta),
        cmocka_unit_test(test_history_wraps),
        cmocka_unit_test(test_serverinfo),
        cmocka_unit_test(test_payload_versions),
        cmocka_unit_test(test_progress_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
