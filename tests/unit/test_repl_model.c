/* The replication model from recorded INFO replication texts (Redis
 * 7.0.15, trimmed): parsing, offsets side by side, lag in bytes and
 * seconds, link states, full-sync progress, the cutover condition with the
 * PINGs a paused primary still sends, stale and failing samples, the
 * headless line and JSON; and the replication actions' parameters, gates
 * and preflight needs as a runbook declares them. No server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "actions.h"
#include "repl.h"
#include "runbook.h"

#define REPLID "552ac58d35b96ebec2fe7072e0d2e2f38c3ce5dd"
#define OTHERID "7003bfa1d0d133da6149d68f91ea28640766ac2f"

/* The source with the target (127.0.0.1:17002) and another replica. */
static const char *master_text(char *buf, size_t len, long long off, long long acked, const char *state) {
    snprintf(buf, len,
             "# Replication\r\n"
             "role:master\r\n"
             "connected_slaves:2\r\n"
             "slave0:ip=10.0.0.9,port=6379,state=online,offset=%lld,lag=0\r\n"
             "slave1:ip=127.0.0.1,port=17002,state=%s,offset=%lld,lag=1\r\n"
             "master_failover_state:no-failover\r\n"
             "master_replid:" REPLID "\r\n"
             "master_replid2:0000000000000000000000000000000000000000\r\n"
             "master_repl_offset:%lld\r\n"
             "second_repl_offset:-1\r\n"
             "repl_backlog_active:1\r\n"
             "repl_backlog_size:1048576\r\n"
             "repl_backlog_first_byte_offset:1\r\n"
             "repl_backlog_histlen:%lld\r\n",
             off, state, acked, off, off);
    return buf;
}

/* The target, linked up, having processed off. */
static const char *replica_text(char *buf, size_t len, long long off, const char *replid) {
    snprintf(buf, len,
             "# Replication\r\n"
             "role:slave\r\n"
             "master_host:127.0.0.1\r\n"
             "master_port:17001\r\n"
             "master_link_status:up\r\n"
             "master_last_io_seconds_ago:1\r\n"
             "master_sync_in_progress:0\r\n"
             "slave_read_repl_offset:%lld\r\n"
             "slave_repl_offset:%lld\r\n"
             "slave_priority:100\r\n"
             "slave_read_only:1\r\n"
             "replica_announced:1\r\n"
             "connected_slaves:0\r\n"
             "master_failover_state:no-failover\r\n"
             "master_replid:%s\r\n"
             "master_replid2:0000000000000000000000000000000000000000\r\n"
             "master_repl_offset:%lld\r\n"
             "second_repl_offset:-1\r\n"
             "repl_backlog_active:1\r\n"
             "repl_backlog_size:1048576\r\n"
             "repl_backlog_first_byte_offset:69\r\n"
             "repl_backlog_histlen:0\r\n",
             off, off, replid, off);
    return buf;
}

/* Full sync in progress (disk-based: the size is known). */
static const char replica_syncing[] =
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:127.0.0.1\r\n"
    "master_port:17001\r\n"
    "master_link_status:down\r\n"
    "master_last_io_seconds_ago:-1\r\n"
    "master_sync_in_progress:1\r\n"
    "slave_read_repl_offset:1\r\n"
    "slave_repl_offset:1\r\n"
    "master_sync_total_bytes:57028153\r\n"
    "master_sync_read_bytes:14257038\r\n"
    "master_sync_left_bytes:42771115\r\n"
    "master_sync_perc:25.00\r\n"
    "master_sync_last_io_seconds_ago:0\r\n"
    "master_link_down_since_seconds:-1\r\n"
    "master_replid:" OTHERID "\r\n"
    "master_repl_offset:1\r\n";

/* Diskless full sync: the size is not known in advance. */
static const char replica_syncing_diskless[] =
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:127.0.0.1\r\n"
    "master_port:17001\r\n"
    "master_link_status:down\r\n"
    "master_last_io_seconds_ago:-1\r\n"
    "master_sync_in_progress:1\r\n"
    "slave_repl_offset:55\r\n"
    "master_sync_total_bytes:-1\r\n"
    "master_sync_read_bytes:0\r\n"
    "master_sync_left_bytes:-1\r\n"
    "master_sync_perc:-0.00\r\n"
    "master_sync_last_io_seconds_ago:0\r\n"
    "master_link_down_since_seconds:-1\r\n"
    "master_replid:" OTHERID "\r\n"
    "master_repl_offset:55\r\n";

/* Just after REPLICAOF: handshake, the source prepares its snapshot. */
static const char replica_connecting[] =
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:127.0.0.1\r\n"
    "master_port:17001\r\n"
    "master_link_status:down\r\n"
    "master_last_io_seconds_ago:-1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_repl_offset:0\r\n"
    "master_link_down_since_seconds:-1\r\n"
    "master_replid:" OTHERID "\r\n"
    "master_repl_offset:0\r\n";

/* Was linked, lost the link 7 s ago. */
static const char replica_down[] =
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:127.0.0.1\r\n"
    "master_port:17001\r\n"
    "master_link_status:down\r\n"
    "master_last_io_seconds_ago:-1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_repl_offset:5000\r\n"
    "master_link_down_since_seconds:7\r\n"
    "master_replid:" REPLID "\r\n"
    "master_repl_offset:5000\r\n";

static const char primary_text[] =
    "# Replication\r\n"
    "role:master\r\n"
    "connected_slaves:0\r\n"
    "master_replid:" OTHERID "\r\n"
    "master_repl_offset:0\r\n";

/* One tick: source sampled at t, target at t+5 (the monitor's order). */
static void tick(ReplState *st, int64_t t, const char *src, const char *dst) {
    repl_state_record(st, 0, src, src ? NULL : "source redis://127.0.0.1:17001: connection refused", t);
    repl_state_record(st, 1, dst, dst ? NULL : "target redis://127.0.0.1:17002: connection refused", t + 5);
    repl_state_tick(st, t + 5);
}

static ReplState *new_state(void) {
    ReplState *st = malloc(sizeof(*st));
    assert_non_null(st);
    repl_state_init(st, "127.0.0.1", 17002, 1000);
    return st;
}

static void test_parse_master(void **state) {
    (void)state;
    char b[2048];
    ReplInfo in;
    repl_info_parse(master_text(b, sizeof(b), 5000, 4986, "online"), &in);
    assert_true(in.valid);
    assert_string_equal(in.role, "master");
    assert_string_equal(in.replid, REPLID);
    assert_int_equal(in.master_repl_offset, 5000);
    assert_int_equal(in.connected_slaves, 2);
    assert_int_equal(in.nreplicas, 2);
    assert_string_equal(in.replicas[1].ip, "127.0.0.1");
    assert_int_equal(in.replicas[1].port, 17002);
    assert_string_equal(in.replicas[1].state, "online");
    assert_int_equal(in.replicas[1].offset, 4986);
    assert_int_equal(in.replicas[1].lag_s, 1);
    assert_int_equal(in.backlog_size, 1048576);
    assert_int_equal(in.slave_repl_offset, -1); /* absent on a primary */
    assert_int_equal(in.link_status[0], '\0');

    /* The replica is found by ip:port, or by a port no other replica has. */
    assert_ptr_equal(repl_info_find_replica(&in, "127.0.0.1", 17002), &in.replicas[1]);
    assert_ptr_equal(repl_info_find_replica(&in, "new.example", 17002), &in.replicas[1]);
    assert_null(repl_info_find_replica(&in, "127.0.0.1", 1234));
    /* Two with the same port and neither at that address: ambiguous. */
    in.replicas[0].port = 17002;
    assert_null(repl_info_find_replica(&in, "new.example", 17002));
    assert_ptr_equal(repl_info_find_replica(&in, "10.0.0.9", 17002), &in.replicas[0]);

    /* Garbage and other sections: no role, not valid. */
    repl_info_parse("# Server\r\nredis_version:7.0.15\r\n", &in);
    assert_false(in.valid);
    assert_int_equal(in.master_repl_offset, -1);
}

static void test_parse_replica(void **state) {
    (void)state;
    char b[2048];
    ReplInfo in;
    repl_info_parse(replica_text(b, sizeof(b), 4242, REPLID), &in);
    assert_string_equal(in.role, "slave");
    assert_string_equal(in.master_host, "127.0.0.1");
    assert_int_equal(in.master_port, 17001);
    assert_string_equal(in.link_status, "up");
    assert_int_equal(in.last_io_s, 1);
    assert_int_equal(in.slave_repl_offset, 4242);
    assert_int_equal(in.slave_read_repl_offset, 4242);
    assert_int_equal(in.nreplicas, 0);
    assert_int_equal(in.sync_total_bytes, -1);

    repl_info_parse(replica_syncing, &in);
    assert_int_equal(in.sync_in_progress, 1);
    assert_int_equal(in.sync_total_bytes, 57028153);
    assert_int_equal(in.sync_read_bytes, 14257038);
    assert_int_equal(in.sync_left_bytes, 42771115);
    assert_int_equal(in.sync_last_io_s, 0);

    /* "replica" (newer servers' wording) is the same role. */
    repl_info_parse("role:replica\nmaster_link_status:up\n", &in);
    assert_string_equal(in.role, "slave");
}

static void test_linked_offsets_and_lag(void **state) {
    (void)state;
    char a[2048], b[2048];
    ReplState *st = new_state();
    ReplView v;
    /* The source writes 1000 B/s; the target is 2500 B behind. */
    for (int i = 0; i <= 10; i++) {
        long long off = 100000 + 1000LL * i;
        tick(st, 1000LL * i, master_text(a, sizeof(a), off, off - 3000, "online"),
             replica_text(b, sizeof(b), off - 2500, REPLID));
    }
    repl_view_build(st, 10100, &v);
    assert_int_equal(v.status, RATE_OK);
    assert_int_equal(v.link, REPL_LINK_UP);
    assert_true(v.same_history);
    assert_int_equal(v.source_offset, 110000);
    assert_int_equal(v.target_offset, 107500);
    assert_true(v.replica_found);
    assert_string_equal(v.replica_state, "online");
    assert_int_equal(v.acked_offset, 107000);
    assert_int_equal(v.ack_age_s, 1);
    assert_int_equal(v.nreplicas, 2);
    assert_int_equal(v.lag_bytes, 2500);
    assert_true(v.source_rate > 999.0 && v.source_rate < 1001.0);
    assert_true(v.lag_seconds > 2.49 && v.lag_seconds < 2.51);
    assert_false(v.caught_up);
    assert_false(v.acked_equal);
    assert_string_equal(v.master_host, "127.0.0.1");
    assert_int_equal(v.master_port, 17001);
    /* The sparkline: one lag figure per tick, oldest first. */
    assert_int_equal(v.hist_len, 11);
    for (int i = 0; i < v.hist_len; i++) assert_true(v.lag_hist[i] == 2500.0f);
    free(st);
}

static void test_rate_needs_two_samples(void **state) {
    (void)state;
    char a[2048], b[2048];
    ReplState *st = new_state();
    ReplView v;
    tick(st, 0, master_text(a, sizeof(a), 5000, 4000, "online"), replica_text(b, sizeof(b), 4000, REPLID));
    repl_view_build(st, 10, &v);
    assert_int_equal(v.lag_bytes, 1000);
    assert_true(v.source_rate < 0);
    assert_true(v.lag_seconds < 0); /* not zero: unknown */
    assert_int_equal(v.status, RATE_INIT);
    /* Lag zero needs no rate. */
    tick(st, 1000, master_text(a, sizeof(a), 5000, 5000, "online"), replica_text(b, sizeof(b), 5000, REPLID));
    repl_view_build(st, 1010, &v);
    assert_int_equal(v.lag_bytes, 0);
    assert_true(v.lag_seconds == 0.0);
    assert_int_equal(v.status, RATE_OK);
    free(st);
}

/* While writes are paused the source still PINGs its replicas: its offset
 * moves by 14 bytes each time. The cutover condition holds as soon as the
 * target has processed what the source had when sampled, whether or not
 * the target's acknowledgement (once a second) has reached the source. */
static void test_cutover_condition_with_pings(void **state) {
    (void)state;
    char a[2048], b[2048];
    ReplState *st = new_state();
    ReplView v;
    tick(st, 0, master_text(a, sizeof(a), 9000, 9000, "online"), replica_text(b, sizeof(b), 9000, REPLID));
    repl_view_build(st, 10, &v);
    assert_true(v.caught_up);
    assert_true(v.acked_equal);

    /* A PING: the source is at 9014, the target has not processed it yet. */
    tick(st, 1000, master_text(a, sizeof(a), 9014, 9000, "online"), replica_text(b, sizeof(b), 9000, REPLID));
    repl_view_build(st, 1010, &v);
    assert_false(v.caught_up);
    assert_int_equal(v.lag_bytes, 14);
    assert_false(v.acked_equal);

    /* Processed, not yet acknowledged: caught up (the target says so, read after the source). */
    tick(st, 1100, master_text(a, sizeof(a), 9014, 9000, "online"), replica_text(b, sizeof(b), 9014, REPLID));
    repl_view_build(st, 1110, &v);
    assert_true(v.caught_up);
    assert_false(v.acked_equal);
    assert_int_equal(v.lag_bytes, 0);

    /* Another PING lands between the source's sample and the target's: the
     * target is ahead of the sample; still everything the source had. */
    tick(st, 1200, master_text(a, sizeof(a), 9014, 9014, "online"), replica_text(b, sizeof(b), 9028, REPLID));
    repl_view_build(st, 1210, &v);
    assert_true(v.caught_up);
    assert_true(v.acked_equal);
    assert_int_equal(v.lag_bytes, 0);

    /* A target sample older than the source's proves nothing. */
    repl_state_record(st, 1, replica_text(b, sizeof(b), 9028, REPLID), NULL, 1300);
    repl_state_record(st, 0, master_text(a, sizeof(a), 9028, 9028, "online"), NULL, 1305);
    repl_view_build(st, 1310, &v);
    assert_false(v.caught_up);
    free(st);
}

static void test_other_history_is_not_comparable(void **state) {
    (void)state;
    char a[2048], b[2048];
    ReplState *st = new_state();
    ReplView v;
    /* Linked up, offsets equal by chance, but another replication id. */
    tick(st, 0, master_text(a, sizeof(a), 9000, 0, "online"), replica_text(b, sizeof(b), 9000, OTHERID));
    repl_view_build(st, 10, &v);
    assert_false(v.same_history);
    assert_int_equal(v.target_offset, -1);
    assert_int_equal(v.lag_bytes, -1);
    assert_false(v.caught_up);
    char msg[512];
    assert_true(repl_view_blocked(&v, "redis://127.0.0.1:17002", msg, sizeof(msg)));
    assert_non_null(strstr(msg, "another server"));
    free(st);
}

static void test_link_states(void **state) {
    (void)state;
    char a[2048], b[2048], msg[512];
    ReplState *st = new_state();
    ReplView v;
    repl_view_build(st, 0, &v);
    assert_int_equal(v.link, REPL_LINK_UNKNOWN);
    assert_int_equal(v.status, RATE_INIT);
    assert_int_equal(v.age_ms, -1);

    tick(st, 0, master_text(a, sizeof(a), 0, 0, "wait_bgsave"), replica_connecting);
    repl_view_build(st, 10, &v);
    assert_int_equal(v.link, REPL_LINK_CONNECTING);
    assert_string_equal(v.replica_state, "wait_bgsave");
    assert_false(v.same_history);
    assert_false(v.caught_up);
    assert_false(repl_view_blocked(&v, "t", msg, sizeof(msg)));

    tick(st, 1000, master_text(a, sizeof(a), 0, 0, "send_bulk"), replica_syncing);
    repl_view_build(st, 1010, &v);
    assert_int_equal(v.link, REPL_LINK_SYNC);
    assert_true(v.sync_active);
    assert_int_equal(v.sync_total_bytes, 57028153);
    assert_int_equal(v.sync_read_bytes, 14257038);
    assert_int_equal(v.sync_left_bytes, 42771115);
    assert_true(v.sync_progress > 0.2499 && v.sync_progress < 0.2501);
    assert_false(repl_view_blocked(&v, "t", msg, sizeof(msg)));

    tick(st, 2000, master_text(a, sizeof(a), 0, 0, "send_bulk"), replica_syncing_diskless);
    repl_view_build(st, 2010, &v);
    assert_int_equal(v.link, REPL_LINK_SYNC);
    assert_true(v.sync_progress < 0); /* unknown, not 0 % */
    assert_int_equal(v.sync_total_bytes, -1);

    tick(st, 3000, master_text(a, sizeof(a), 5000, 5000, "online"), replica_down);
    repl_view_build(st, 3010, &v);
    assert_int_equal(v.link, REPL_LINK_DOWN);
    assert_int_equal(v.link_down_s, 7);
    assert_false(v.caught_up); /* equal offsets, but no link */
    assert_int_equal(v.lag_bytes, 0);

    tick(st, 4000, master_text(a, sizeof(a), 5000, 5000, "online"), replica_text(b, sizeof(b), 5000, REPLID));
    repl_view_build(st, 4010, &v);
    assert_int_equal(v.link, REPL_LINK_UP);
    assert_int_equal(v.link_down_s, -1);
    assert_true(v.caught_up);

    /* Promoted (or never a replica): nothing replicates. */
    tick(st, 5000, master_text(a, sizeof(a), 5000, 5000, "online"), primary_text);
    repl_view_build(st, 5010, &v);
    assert_int_equal(v.link, REPL_LINK_NONE);
    assert_int_equal(v.status, RATE_NODATA);
    assert_false(v.caught_up);
    assert_true(repl_view_blocked(&v, "redis://127.0.0.1:17002", msg, sizeof(msg)));
    assert_non_null(strstr(msg, "replicate step"));
    assert_string_equal(repl_link_name(REPL_LINK_SYNC), "full sync");
    free(st);
}

/* A stale number is shown as stale, with its last value, not as zero. */
static void test_stale_and_failing_samples(void **state) {
    (void)state;
    char a[2048], b[2048];
    ReplState *st = new_state();
    ReplView v;
    tick(st, 0, master_text(a, sizeof(a), 8000, 8000, "online"), replica_text(b, sizeof(b), 7000, REPLID));
    tick(st, 1000, master_text(a, sizeof(a), 9000, 9000, "online"), replica_text(b, sizeof(b), 8000, REPLID));
    repl_view_build(st, 1010, &v);
    assert_int_equal(v.status, RATE_OK);

    /* No sample for 5 intervals: stale, same figures. */
    repl_view_build(st, 6000, &v);
    assert_int_equal(v.status, RATE_STALE);
    assert_int_equal(v.source_offset, 9000);
    assert_int_equal(v.target_offset, 8000);
    assert_int_equal(v.lag_bytes, 1000);
    assert_int_equal(v.age_ms, 6000 - 1000);
    assert_false(v.caught_up);

    /* The target stops answering: its last figures stay, marked stale, with the error. */
    tick(st, 2000, master_text(a, sizeof(a), 10000, 9000, "online"), NULL);
    repl_view_build(st, 2010, &v);
    assert_int_equal(v.status, RATE_STALE);
    assert_non_null(strstr(v.target_error, "connection refused"));
    assert_int_equal(v.source_error[0], '\0');
    assert_int_equal(v.target_offset, 8000);
    /* The sparkline marks the tick without a comparable pair as unknown. */
    assert_true(v.lag_hist[v.hist_len - 1] < 0);

    /* It answers again: fresh, error gone. */
    tick(st, 3000, master_text(a, sizeof(a), 10000, 10000, "online"), replica_text(b, sizeof(b), 10000, REPLID));
    repl_view_build(st, 3010, &v);
    assert_int_equal(v.status, RATE_OK);
    assert_int_equal(v.target_error[0], '\0');
    assert_true(v.caught_up);

    /* Never reached: stale with the error, no figures. */
    ReplState *st2 = new_state();
    tick(st2, 0, NULL, NULL);
    repl_view_build(st2, 10, &v);
    assert_int_equal(v.status, RATE_STALE);
    assert_int_equal(v.source_offset, -1);
    assert_non_null(strstr(v.source_error, "17001"));
    free(st2);
    free(st);
}

static void test_history_ring_and_rate_reset(void **state) {
    (void)state;
    ReplHistory h;
    memset(&h, 0, sizeof(h));
    for (int i = 0; i < REPL_HISTORY + 7; i++) {
        ReplPoint p = {i * 1000LL, i * 10LL, i * 10LL, 0};
        repl_history_push(&h, &p);
    }
    assert_int_equal(h.n, REPL_HISTORY);
    assert_int_equal(repl_history_at(&h, 0)->source_offset, 70);
    assert_int_equal(repl_history_at(&h, REPL_HISTORY - 1)->source_offset, (REPL_HISTORY + 6) * 10);
    assert_null(repl_history_at(&h, REPL_HISTORY));

    /* A source restart (offset drops) starts the rate over. */
    char a[2048], b[2048];
    ReplState *st = new_state();
    ReplView v;
    tick(st, 0, master_text(a, sizeof(a), 900000, 900000, "online"), replica_text(b, sizeof(b), 900000, REPLID));
    tick(st, 1000, master_text(a, sizeof(a), 100, 100, "online"), replica_text(b, sizeof(b), 100, REPLID));
    repl_view_build(st, 1010, &v);
    assert_true(v.source_rate < 0);
    tick(st, 2000, master_text(a, sizeof(a), 600, 600, "online"), replica_text(b, sizeof(b), 600, REPLID));
    repl_view_build(st, 2010, &v);
    assert_true(v.source_rate > 499.0 && v.source_rate < 501.0);
    free(st);
}

static void test_format_line_and_json(void **state) {
    (void)state;
    char a[2048], b[2048], line[1024], json[2048];
    ReplState *st = new_state();
    ReplView v;
    tick(st, 0, master_text(a, sizeof(a), 100000, 97000, "online"), replica_text(b, sizeof(b), 98000, REPLID));
    tick(st, 1000, master_text(a, sizeof(a), 102000, 99000, "online"), replica_text(b, sizeof(b), 100000, REPLID));
    repl_view_build(st, 1010, &v);
    repl_view_format_line(&v, line, sizeof(line));
    assert_non_null(strstr(line, "link up"));
    assert_non_null(strstr(line, "source 102000"));
    assert_non_null(strstr(line, "target 100000"));
    assert_non_null(strstr(line, "acked 99000"));
    assert_non_null(strstr(line, "(1.0 s)"));
    assert_null(strstr(line, "["));
    repl_view_format_json(&v, json, sizeof(json));
    assert_non_null(strstr(json, "\"status\":\"ok\""));
    assert_non_null(strstr(json, "\"link\":\"up\""));
    assert_non_null(strstr(json, "\"source_offset\":102000"));
    assert_non_null(strstr(json, "\"target_offset\":100000"));
    assert_non_null(strstr(json, "\"acked_offset\":99000"));
    assert_non_null(strstr(json, "\"lag_bytes\":2000"));
    assert_non_null(strstr(json, "\"caught_up\":false"));

    tick(st, 2000, master_text(a, sizeof(a), 0, 0, "send_bulk"), replica_syncing);
    repl_view_build(st, 2010, &v);
    repl_view_format_line(&v, line, sizeof(line));
    assert_non_null(strstr(line, "full sync 25%"));
    repl_view_build(st, 9000, &v);
    repl_view_format_line(&v, line, sizeof(line));
    assert_non_null(strstr(line, "[stale]"));

    /* Errors with quotes stay valid JSON; a tiny buffer never overflows. */
    tick(st, 3000, NULL, replica_syncing);
    repl_state_record(st, 0, NULL, "source \"x\": refused", 3000);
    repl_view_build(st, 3010, &v);
    repl_view_format_json(&v, json, sizeof(json));
    assert_non_null(strstr(json, "\"source_error\":\"source \\\"x\\\": refused\""));
    char tiny[16];
    repl_view_format_line(&v, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), 15);
    repl_view_format_json(&v, tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
    free(st);
}

static void test_parse_bytes(void **state) {
    (void)state;
    static const struct {
        const char *text;
        long long v;
    } ok[] = {{"0", 0},        {"1048576", 1048576}, {"1mb", 1048576}, {"1MB", 1048576}, {"1 MiB", 1048576},
              {"512kb", 524288}, {"1k", 1000},       {"2gb", 2147483648LL}, {"100b", 100}, {"3m", 3000000}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = -1;
        if (repl_parse_bytes(ok[i].text, &v) != 0) fail_msg("\"%s\" refused", ok[i].text);
        assert_int_equal(v, ok[i].v);
    }
    static const char *const bad[] = {"", "mb", "-1", "1.5mb", "1 tb", "12x", "99999999999999999999gb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v;
        if (repl_parse_bytes(bad[i], &v) == 0) fail_msg("\"%s\" parsed", bad[i]);
    }
}

/* The replication actions in a runbook: parameters checked at parse time,
 * gates (promote and a data-discarding replicate are destructive), and
 * what preflight is asked to probe. */
static void test_action_steps(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    static const char good[] =
        "[step replicate]\naction = replicate\nmaster-host = 10.0.0.7\nmaster-port = 6380\nmasterauth = preset\n"
        "[step sync]\naction = wait-sync\nmax-lag = 512kb\nmax-lag-time = 2s\npoll = 250ms\n"
        "[step pause]\naction = pause-writes\n"
        "[step offset]\naction = wait-offset\npoll = 50ms\ntimeout = 30s\n"
        "[step promote]\naction = promote\nrequire-caught-up = yes\n";
    Runbook *rb = runbook_parse(good, strlen(good), "good", err, sizeof(err));
    if (!rb) fail_msg("%s", err);
    int promote = runbook_step_index(rb, "promote"), replicate = runbook_step_index(rb, "replicate");
    assert_int_equal(rb->steps[promote].gate, GATE_TYPE); /* the default for promote */
    assert_true(runbook_step_destructive(&rb->steps[promote], 0));
    assert_int_equal(rb->steps[replicate].gate, GATE_CONFIRM);
    assert_false(runbook_step_destructive(&rb->steps[replicate], 0));
    PreflightPlan plan;
    actions_plan(rb, &plan);
    int replicaof = 0, config = 0, pause = 0;
    for (int i = 0; i < plan.n; i++) {
        const PreflightNeed *n = &plan.needs[i];
        if (n->side == PF_TARGET && !strcmp(n->command, "replicaof")) {
            replicaof = 1;
            assert_false(n->optional);
            assert_non_null(strstr(n->action, "follow")); /* preflight's fail line names the way forward */
        }
        config |= n->side == PF_TARGET && !strcmp(n->command, "config|set");
        pause |= n->side == PF_SOURCE && !strcmp(n->command, "client|pause");
    }
    assert_true(replicaof && pause);
    assert_false(config); /* masterauth = preset: ferry will not CONFIG SET */
    runbook_free(rb);

    /* Without preset, CONFIG SET is probed too (a warning when missing). */
    static const char plain[] = "[step r]\naction = replicate\n";
    rb = runbook_parse(plain, strlen(plain), "plain", err, sizeof(err));
    assert_non_null(rb);
    actions_plan(rb, &plan);
    config = 0;
    for (int i = 0; i < plan.n; i++)
        if (plan.needs[i].side == PF_TARGET && !strcmp(plan.needs[i].command, "config|set")) {
            config = 1;
            assert_true(plan.needs[i].optional);
        }
    assert_true(config);
    runbook_free(rb);

    /* Discarding the target's data needs a type gate. */
    static const char discard[] = "[step r]\naction = replicate\ndiscard-target-data = yes\n";
    rb = runbook_parse(discard, strlen(discard), "discard", err, sizeof(err));
    assert_null(rb);
    assert_non_null(strstr(err, "type"));
    static const char discard_typed[] = "[step r]\naction = replicate\ndiscard-target-data = yes\ngate = type\n";
    rb = runbook_parse(discard_typed, strlen(discard_typed), "discard", err, sizeof(err));
    if (!rb) fail_msg("%s", err);
    assert_true(runbook_step_destructive(&rb->steps[0], 0));
    runbook_free(rb);
    static const char promote_confirm[] = "[step p]\naction = promote\ngate = confirm\n";
    rb = runbook_parse(promote_confirm, strlen(promote_confirm), "p", err, sizeof(err));
    assert_null(rb);
    assert_non_null(strstr(err, "type"));

    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"[step r]\naction = replicate\nmaster-port = 70000\n", "master-port"},
        {"[step r]\naction = replicate\nmasterauth = maybe\n", "masterauth takes set"},
        {"[step r]\naction = replicate\ndiscard-target-data = perhaps\n", "discard-target-data takes yes or no"},
        {"[step r]\naction = replicate\nmax-lag = 1mb\n", "unknown key max-lag"},
        {"[step s]\naction = wait-sync\nmax-lag = lots\n", "max-lag takes a size"},
        {"[step s]\naction = wait-sync\nmax-lag-time = 5\n", "max-lag-time takes a time"},
        {"[step s]\naction = wait-sync\npoll = 1ms\n", "poll takes a time"},
        {"[step o]\naction = wait-offset\npoll = 1h\n", "poll takes a time"},
        {"[step p]\naction = promote\nrequire-caught-up = sure\n", "require-caught-up takes yes or no"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rb = runbook_parse(bad[i].text, strlen(bad[i].text), "bad", err, sizeof(err));
        if (rb) fail_msg("parsed: %s", bad[i].text);
        if (!strstr(err, bad[i].needle)) fail_msg("\"%s\" lacks \"%s\"", err, bad[i].needle);
        if (!strstr(err, "bad:3:")) fail_msg("\"%s\" does not point at line 3", err);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_master),
        cmocka_unit_test(test_parse_replica),
        cmocka_unit_test(test_linked_offsets_and_lag),
        cmocka_unit_test(test_rate_needs_two_samples),
        cmocka_unit_test(test_cutover_condition_with_pings),
        cmocka_unit_test(test_other_history_is_not_comparable),
        cmocka_unit_test(test_link_states),
        cmocka_unit_test(test_stale_and_failing_samples),
        cmocka_unit_test(test_history_ring_and_rate_reset),
        cmocka_unit_test(test_format_line_and_json),
        cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_action_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
