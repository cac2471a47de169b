/* ferry follow on real servers: the PSYNC follower into a target that
 * refuses REPLICAOF (REPLICAOF and SLAVEOF renamed away), while a writer
 * thread keeps writing to the source and counts what the source
 * acknowledged:
 *   - a snapshot (every type and encoding, in two dbs, db 1 remapped to 3)
 *     then the live stream: strings, INCR counters, hashes, stream XADD /
 *     XREADGROUP / XACK, PEXPIRE, DEL, MULTI/EXEC, writes in db 1;
 *   - the link is cut mid-stream (CLIENT KILL TYPE replica): the follower
 *     resumes with a partial resync (the source's sync_partial_ok grows,
 *     no second full sync), and the INCR counters prove nothing was lost
 *     or applied twice;
 *   - once the writer stops and the applied offset reaches the source's
 *     master_repl_offset, both keyspaces are equal key by key (values,
 *     expiries, stream groups and PEL), the source lists the follower as a
 *     replica that acknowledged that offset (what wait-offset with
 *     follower = yes waits for), and the target never ran REPLICAOF;
 *   - a disk-backed snapshot ("$<len>" framing) and key filters: a second
 *     follower with --exclude (and a MOVE out of the followed dbs);
 *   - a source that can no longer resume (its backlog moved past the
 *     follower's offset) answers FULLRESYNC: the follower stops with a
 *     message instead of loading a second snapshot over the target;
 *   - the binary: `ferry follow` usage errors, and a run stopped by SIGTERM
 *     after it applied a write (exit 0, the closing line);
 *   - the runbook template runbooks/follow-cutover headless: follow in the
 *     background, pause-writes, wait-offset with follower = yes, stop,
 *     unpause; afterwards the target equals the source;
 *   - a source that speaks only TLS with client certificates (rediss://):
 *     snapshot and stream through OpenSSL, values larger than a TLS record. 
 * The source's diskless sync has no delay, so the snapshot starts at once,
 * and a 64 MB backlog: the writer is not throttled and the four processes
 * share two cores, so the follower can trail by a megabyte or more when the
 * link is cut (with the default 1 MB the source may answer FULLRESYNC,
 * which the follower refuses by design without --on-conflict replace).
 *
 * Streams written live (db 2 → 4) are compared with XINFO STREAM FULL and
 * XRANGE rather than DUMP, with each consumer's seen-time left out: Redis
 * replicates XREADGROUP as XCLAIM … TIME, and a replica (a real one as
 * much as ferry's target) stamps the consumer's seen-time with its own
 * clock, so it can differ by a millisecond. Redis 7.0 also does not
 * replicate a group's entries-read through XREADGROUP unless NOACK is
 * given (fixed in 7.2); a real replica drifts the same way, so the writer's
 * last read is a NOACK one, which propagates XGROUP SETID … ENTRIESREAD. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "follow.h"
#include "repl.h"
#include "testutil.h"
#include "util.h"

#define NCOUNTERS 8

static Sandbox src, dst, dst2, tls_src;
static char certs[512], ca[600], ccert[600], ckey[600];

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, (const char *[]){"--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1",
                                           "--repl-backlog-size", "64mb", NULL});
    tu_server_start(&dst, (const char *[]){"--rename-command", "REPLICAOF", "", "--rename-command", "SLAVEOF", "", NULL});
    tu_server_start(&dst2, (const char *[]){"--rename-command", "REPLICAOF", "", "--rename-command", "SLAVEOF", "", NULL});
    if (tu_make_certs(certs, sizeof(certs)) == 0) {
        char scert[600], skey[600];
        snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
        snprintf(ccert, sizeof(ccert), "%s/client.crt", certs);
        snprintf(ckey, sizeof(ckey), "%s/client.key", certs);
        snprintf(scert, sizeof(scert), "%s/server.crt", certs);
        snprintf(skey, sizeof(skey), "%s/server.key", certs);
        tu_server_start(&tls_src, (const char *[]){"--tls-cert-file", scert, "--tls-key-file", skey, "--tls-ca-cert-file", ca,
                                                   "--tls-auth-clients", "yes", "--repl-diskless-sync-delay", "0", NULL});
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    sandbox_stop(&dst2);
    sandbox_stop(&tls_src);
    if (certs[0]) tu_rm_tree(certs);
    return 0;
}

static void options_for(CopyOptions *o, const Sandbox *s, const Sandbox *t) {
    char uri[128], err[FERRY_ERR_LEN];
    copy_options_init(o);
    sandbox_uri(s, -1, uri, sizeof(uri));
    if (uri_parse(uri, &o->source.uri, err, sizeof(err)) != 0) fail_msg("uri: %s", err);
    sandbox_uri(t, -1, uri, sizeof(uri));
    if (uri_parse(uri, &o->target.uri, err, sizeof(err)) != 0) fail_msg("uri: %s", err);
}

static long long info_field(Conn *c, const char *section, const char *field) {
    redisReply *r = tu_cmd(c, "INFO %s", section);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char key[64];
    snprintf(key, sizeof(key), "\n%s:", field);
    const char *p = strstr(r->str, key);
    long long v = p ? atoll(p + strlen(key)) : -1;
    freeReplyObject(r);
    return v;
}

static void wait_state(Follower *f, FollowState want, int timeout_ms) {
    FollowStatus st;
    int64_t end = util_mono_ms() + timeout_ms;
    for (;;) {
        follow_status(f, &st);
        if (st.state == want) return;
        if (st.state == FOLLOW_FAILED) fail_msg("follower failed: %s", st.error);
        if (util_mono_ms() > end) fail_msg("follower still %s after %d ms", follow_state_name(st.state), timeout_ms);
        util_sleep_ms(20);
    }
}

/* Waits until the follower applied everything the source had written
 * (offset read once, then >=) and the source lists its acknowledgement. */
static void wait_caught_up(Follower *f, Conn *s, int replica_port) {
    long long target = info_field(s, "replication", "master_repl_offset");
    int64_t end = util_mono_ms() + 15000;
    FollowStatus st;
    for (;;) {
        follow_status(f, &st);
        if (st.state == FOLLOW_FAILED) fail_msg("follower failed: %s", st.error);
        if (st.offset >= target) break;
        if (util_mono_ms() > end) fail_msg("applied offset %lld never reached %lld", st.offset, target);
        util_sleep_ms(20);
    }
    /* The source's own view: the replica at the target's port acknowledged
     * its master_repl_offset, in one INFO (wait-offset, follower = yes). */
    for (;;) {
        redisReply *r = tu_cmd(s, "INFO replication");
        ReplInfo ri;
        repl_info_parse(r->str, &ri);
        freeReplyObject(r);
        const ReplReplica *rep = repl_info_find_replica(&ri, "127.0.0.1", replica_port);
        if (rep && rep->offset == ri.master_repl_offset) break;
        if (util_mono_ms() > end)
            fail_msg("the source never listed the follower's acknowledgement of %lld (replica %s)", ri.master_repl_offset,
                     rep ? "found" : "not found");
        util_sleep_ms(50);
    }
}

/* ------------------------------------------------------------- the writer */

typedef struct Writer {
    pthread_t th;
    _Atomic int stop;
    long long counts[NCOUNTERS], multi, db1, iterations, acked_xack;
    char err[256];
} Writer;

static Conn *plain_connect(const Sandbox *s, int db) {
    ConnConfig cfg;
    char uri[128], err[FERRY_ERR_LEN];
    conn_config_init(&cfg, "source");
    sandbox_uri(s, db, uri, sizeof(uri));
    if (uri_parse(uri, &cfg.uri, err, sizeof(err)) != 0) return NULL;
    return conn_open(&cfg, err, sizeof(err));
}

/* 1 when the reply is not an error. */
static int ok(redisReply *r) {
    int good = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    return good;
}

static void *writer_main(void *arg) {
    Writer *w = arg;
    Conn *a = plain_connect(&src, 0), *b = plain_connect(&src, 1), *x = plain_connect(&src, 2);
    if (!a || !b || !x) {
        snprintf(w->err, sizeof(w->err), "writer cannot connect");
        goto out;
    }
    for (long long i = 1; !w->stop; i++) {
        int k = (int)(i % NCOUNTERS);
        if (!ok(conn_command(a, "SET s:%lld v%lld", i, i))) break;
        if (ok(conn_command(a, "INCR ctr:%d", k))) w->counts[k]++;
        ok(conn_command(a, "HSET h:%lld f%lld %lld", i % 20, i % 5, i));
        ok(conn_command(x, "XADD ev * n %lld", i));
        redisReply *r = conn_command(x, "XREADGROUP GROUP g c%lld COUNT 1 STREAMS ev >", i % 3);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && i % 2) {
            const redisReply *entries = r->element[0]->element[1];
            if (entries->elements == 1 && ok(conn_command(x, "XACK ev g %s", entries->element[0]->element[0]->str)))
                w->acked_xack++;
        }
        if (r) freeReplyObject(r);
        if (i % 3 == 0) ok(conn_command(a, "PEXPIRE s:%lld %lld", i, 600000 + i));
        if (i % 5 == 0) ok(conn_command(a, "DEL s:%lld", i - 4));
        conn_append(a, "MULTI");
        conn_append(a, "INCR mctr");
        conn_append(a, "SET m:%lld %lld", i % 50, i);
        conn_append(a, "EXEC");
        int good = 1;
        for (int j = 0; j < 4; j++) {
            redisReply *x;
            if (conn_get_reply(a, &x) != 0) {
                good = 0;
                break;
            }
            if (j == 3 && (x->type != REDIS_REPLY_ARRAY || x->elements != 2)) good = 0;
            freeReplyObject(x);
        }
        if (good) w->multi++;
        if (ok(conn_command(b, "INCR d1ctr"))) w->db1++;
        ok(conn_command(b, "SET d1:%lld x PX %lld", i % 100, 900000 + i));
        w->iterations = i;
    }
    /* The last read with NOACK: propagates the group's entries-read. */
    if (x && ok(conn_command(x, "XADD ev * n last")))
        ok(conn_command(x, "XREADGROUP GROUP g clast COUNT 1 NOACK STREAMS ev >"));
out:
    if (a) conn_close(a);
    if (b) conn_close(b);
    if (x) conn_close(x);
    return NULL;
}

/* Deep equality, except the value after a "seen-time" field. */
static int equal_but_seen_time(const redisReply *x, const redisReply *y) {
    if (x->type != y->type) return 0;
    if (x->type != REDIS_REPLY_ARRAY) return tu_reply_equal(x, y);
    if (x->elements != y->elements) return 0;
    for (size_t i = 0; i < x->elements; i++) {
        if (!equal_but_seen_time(x->element[i], y->element[i])) return 0;
        if (x->element[i]->type == REDIS_REPLY_STRING && !strcmp(x->element[i]->str, "seen-time")) i++;
    }
    return 1;
}

/* The only key of db adb of a, stream k, equals the only key of db bdb of b. */
static void assert_same_stream(Conn *a, int adb, Conn *b, int bdb, const char *k) {
    tu_ok(a, "SELECT %d", adb);
    tu_ok(b, "SELECT %d", bdb);
    assert_int_equal(tu_int(a, "DBSIZE"), 1);
    assert_int_equal(tu_int(b, "DBSIZE"), 1);
    const char *cmds[] = {"XINFO STREAM %s FULL", "XRANGE %s - +", "XINFO GROUPS %s", "PEXPIRETIME %s"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        redisReply *x = tu_cmd(a, cmds[i], k), *y = tu_cmd(b, cmds[i], k);
        if (!equal_but_seen_time(x, y)) fail_msg("stream %s: \"%s\" differs", k, cmds[i]);
        freeReplyObject(x);
        freeReplyObject(y);
    }
}

/* What a failed test leaves running: stopped by its teardown. */
static Writer *g_writer;
static Follower *g_follower;

static int test_cleanup(void **state) {
    (void)state;
    if (g_writer) {
        g_writer->stop = 1;
        pthread_join(g_writer->th, NULL);
        free(g_writer);
        g_writer = NULL;
    }
    if (g_follower) follow_stop(g_follower);
    g_follower = NULL;
    return 0;
}

/* Every write the writer saw acknowledged is on the target, exactly once:
 * its counters (db 0, and db 1 mapped to db1). */
static void check_counters(Conn *t, const Writer *w, int db1) {
    tu_ok(t, "SELECT 0");
    for (int k = 0; k < NCOUNTERS; k++) {
        redisReply *r = tu_cmd(t, "GET ctr:%d", k);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_int_equal(atoll(r->str), w->counts[k]);
        freeReplyObject(r);
    }
    redisReply *r = tu_cmd(t, "GET mctr");
    assert_int_equal(atoll(r->str), w->multi);
    freeReplyObject(r);
    tu_ok(t, "SELECT %d", db1);
    r = tu_cmd(t, "GET d1ctr");
    assert_int_equal(atoll(r->str), w->db1);
    freeReplyObject(r);
    tu_ok(t, "SELECT 0");
}

/* ------------------------------------------------------------------ tests */

static void test_follow_live_with_cut(void **state) {
    (void)state;
    Conn *s0 = tu_connect(&src, 0), *s1 = tu_connect(&src, 1), *t = tu_connect(&dst, 0);
    tu_ok(s0, "FLUSHALL");
    long pre = tu_fill_every_type(s0, "pre:");
    pre += tu_fill_every_type(s1, "one:");
    Conn *s2 = tu_connect(&src, 2);
    tu_ok(s2, "XGROUP CREATE ev g $ MKSTREAM");
    tu_ok(s0, "SET gone soon PX 1");
    util_sleep_ms(5);

    CopyOptions o;
    options_for(&o, &src, &dst);
    char err[FERRY_ERR_LEN];
    assert_int_equal(dbmap_parse(&o.dbmap, "0:0,1:3,2:4", err, sizeof(err)), 0);
    FollowOptions fo = {.copy = &o};
    Follower *f = g_follower = follow_start(&fo, err, sizeof(err));
    assert_non_null(f);
    wait_state(f, FOLLOW_STREAMING, 20000);
    FollowStatus st;
    follow_status(f, &st);
    assert_true(st.snapshot_keys >= (uint64_t)pre);
    assert_int_equal(st.full_syncs, 1);
    assert_int_equal(strlen(st.replid), 40);

    long long partial0 = info_field(s0, "stats", "sync_partial_ok");
    Writer *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    assert_int_equal(pthread_create(&w->th, NULL, writer_main, w), 0);
    g_writer = w;
    util_sleep_ms(1200);
    /* Cut the link mid-stream; the writer keeps writing. */
    assert_true(tu_int(s0, "CLIENT KILL TYPE replica") >= 1);
    int64_t end = util_mono_ms() + 10000;
    for (;;) {
        follow_status(f, &st);
        if (st.partial_syncs >= 1 && st.state == FOLLOW_STREAMING) break;
        if (st.state == FOLLOW_FAILED) fail_msg("follower failed: %s", st.error);
        if (util_mono_ms() > end) fail_msg("no partial resync after the cut (state %s)", follow_state_name(st.state));
        util_sleep_ms(20);
    }
    util_sleep_ms(1200);
    w->stop = 1;
    pthread_join(w->th, NULL);
    g_writer = NULL;
    if (w->err[0]) fail_msg("%s", w->err);
    assert_true(w->iterations > 50);

    wait_caught_up(f, s0, dst.port);
    follow_status(f, &st);
    assert_int_equal(st.full_syncs, 1);
    assert_true(st.partial_syncs >= 1);
    assert_true(info_field(s0, "stats", "sync_partial_ok") > partial0);
    assert_int_equal(st.errors, 0);

    /* Every acknowledged write, once: the counters. */
    check_counters(t, w, 3);

    /* Key by key: values, exact expiries, streams with groups and PEL. */
    tu_assert_same_keyspace(s0, 0, t, 0);
    tu_assert_same_keyspace(s1, 1, t, 3);
    assert_same_stream(s2, 2, t, 4, "ev");
    tu_ok(t, "SELECT 1");
    assert_int_equal(tu_int(t, "DBSIZE"), 0);

    /* The target never ran REPLICAOF (it could not: renamed away). */
    redisReply *r = tu_cmd(t, "INFO commandstats");
    assert_false(tu_contains(r->str, "cmdstat_replicaof"));
    assert_false(tu_contains(r->str, "cmdstat_slaveof"));
    assert_true(tu_contains(r->str, "cmdstat_restore"));
    freeReplyObject(r);

    follow_stop(f);
    g_follower = NULL;
    copy_options_free(&o);
    free(w);
    conn_close(s0);
    conn_close(s1);
    conn_close(s2);
    conn_close(t);
}

/* Disk-backed snapshot ("$<len>") and filters: excluded keys never reach
 * the target, neither from the snapshot nor from the stream; a command
 * mixing kept and dropped keys is applied with a warning. */
static void test_follow_disk_snapshot_filters(void **state) {
    (void)state;
    Conn *s0 = tu_connect(&src, 0), *t = tu_connect(&dst2, 0);
    tu_ok(s0, "CONFIG SET repl-diskless-sync no");
    tu_ok(s0, "SET keep:a 1");
    tu_ok(s0, "SET skip:a 1");
    CopyOptions o;
    options_for(&o, &src, &dst2);
    char err[FERRY_ERR_LEN];
    assert_int_equal(filter_add_exclude(&o.filter, "skip:*", err, sizeof(err)), 0);
    assert_int_equal(dbmap_parse(&o.dbmap, "0:0", err, sizeof(err)), 0);
    FollowOptions fo = {.copy = &o};
    Follower *f = g_follower = follow_start(&fo, err, sizeof(err));
    assert_non_null(f);
    wait_state(f, FOLLOW_STREAMING, 20000);
    FollowStatus st;
    follow_status(f, &st);
    assert_true(st.snapshot_size > 0); /* "$<len>": the disk-backed form */
    tu_ok(s0, "SET keep:b 2");
    tu_ok(s0, "SET skip:b 2");
    tu_ok(s0, "MSET keep:c 3 skip:c 3");
    tu_ok(s0, "INCR keep:a");
    /* WAIT sends REPLCONF GETACK: the follower's answer counts it as a replica that has the write. */
    assert_int_equal(tu_int(s0, "WAIT 1 5000"), 1);
    redisReply *ka = tu_cmd(t, "GET keep:a");
    assert_string_equal(ka->str, "2");
    freeReplyObject(ka);
    tu_ok(s0, "SELECT 1");
    tu_ok(s0, "SET other:db 1"); /* db 1 is not in the map */
    tu_ok(s0, "SELECT 0");
    tu_ok(s0, "SET keep:moved 1");
    assert_int_equal(tu_int(s0, "MOVE keep:moved 1"), 1); /* out of the followed dbs: deleted on the target */
    wait_caught_up(f, s0, dst2.port);
    follow_status(f, &st);
    assert_true(st.dropped >= 2);
    assert_int_equal(st.mixed, 1);
    Event ev[64];
    int n = follow_events(f, 0, ev, 64), warned = 0;
    for (int i = 0; i < n; i++) warned |= tu_contains(ev[i].text, "applied whole");
    assert_true(warned);
    redisReply *r = tu_cmd(t, "GET keep:a");
    assert_string_equal(r->str, "2");
    freeReplyObject(r);
    assert_int_equal(tu_int(t, "EXISTS keep:b keep:c"), 2);
    assert_int_equal(tu_int(t, "EXISTS skip:a skip:b"), 0);
    assert_int_equal(tu_int(t, "EXISTS skip:c"), 1); /* the mixed MSET, applied whole */
    assert_int_equal(tu_int(t, "EXISTS keep:moved"), 0);
    tu_ok(t, "SELECT 1");
    assert_int_equal(tu_int(t, "DBSIZE"), 0);
    follow_stop(f);
    g_follower = NULL;
    tu_ok(s0, "CONFIG SET repl-diskless-sync yes");
    copy_options_free(&o);
    conn_close(s0);
    conn_close(t);
}

/* The follower stuck on a paused target while the source writes past its
 * (tiny) backlog, then the link is cut: PSYNC <replid> <offset+1> gets
 * FULLRESYNC, and without --on-conflict replace the follower refuses. */
/* Makes the source answer the follower's next PSYNC with FULLRESYNC: the
 * target is paused so the follower falls behind, the source's backlog is
 * made small and overrun, and the link is cut. del_key (may be NULL) is
 * deleted on the source while the target is paused: the DEL never reaches
 * the target through the stream. */
static void force_full_resync(Conn *s0, Conn *admin, const char *del_key) {
    tu_ok(s0, "CONFIG SET repl-backlog-size 16384");
    tu_ok(admin, "CLIENT PAUSE 2500 WRITE");
    if (del_key) assert_int_equal(tu_int(s0, "DEL %s", del_key), 1);
    /* 40 MB: more than the socket buffers between the two hold, so most of
     * it is still in the source's output buffer when the link is cut. */
    static char big[10240];
    memset(big, 'x', sizeof(big) - 1);
    for (int i = 0; i < 4000; i++) conn_append(s0, "SET big:%d %s", i % 100, big);
    for (int i = 0; i < 4000; i++) {
        redisReply *r;
        assert_int_equal(conn_get_reply(s0, &r), 0);
        freeReplyObject(r);
    }
    util_sleep_ms(200);
    assert_true(tu_int(s0, "CLIENT KILL TYPE replica") >= 1);
}

static void test_follow_refuses_second_full_sync(void **state) {
    (void)state;
    Conn *s0 = tu_connect(&src, 0), *t = tu_connect(&dst2, 0), *admin = tu_connect(&dst2, 0);
    tu_ok(t, "FLUSHALL");
    CopyOptions o;
    options_for(&o, &src, &dst2);
    char err[FERRY_ERR_LEN];
    assert_int_equal(dbmap_parse(&o.dbmap, "0:0", err, sizeof(err)), 0);
    o.target.io_timeout_ms = 10000;
    FollowOptions fo = {.copy = &o};
    Follower *f = g_follower = follow_start(&fo, err, sizeof(err));
    assert_non_null(f);
    wait_state(f, FOLLOW_STREAMING, 20000);
    force_full_resync(s0, admin, NULL);
    FollowStatus st;
    int64_t end = util_mono_ms() + 15000;
    for (;;) {
        follow_status(f, &st);
        if (st.state == FOLLOW_FAILED) break;
        if (util_mono_ms() > end) fail_msg("the follower did not stop (state %s)", follow_state_name(st.state));
        util_sleep_ms(20);
    }
    assert_true(tu_contains(st.error, "FULLRESYNC"));
    assert_true(tu_contains(st.error, "--on-conflict replace"));
    assert_int_equal(st.full_syncs, 2);
    follow_stop(f);
    g_follower = NULL;
    tu_ok(s0, "CONFIG SET repl-backlog-size 67108864");
    copy_options_free(&o);
    conn_close(s0);
    conn_close(t);
    conn_close(admin);
}

/* With replace, a second full sync clears the followed keys before it
 * loads: a key deleted on the source while the stream was lost does not
 * stay on the target. Without filters (FLUSHDB of the mapped db) a db
 * outside the map is not touched; with filters (UNLINK of what they
 * select) neither is a key they leave out. */
static void resync_replace_clears(int filtered) {
    Conn *s0 = tu_connect(&src, 0), *t = tu_connect(&dst2, 0), *admin = tu_connect(&dst2, 0);
    tu_ok(s0, "FLUSHALL");
    tu_ok(t, "FLUSHALL");
    tu_ok(s0, "SET stale:1 soon-deleted");
    tu_ok(s0, "SET kept:1 v");
    tu_ok(t, "SELECT 5");
    tu_ok(t, "SET not-followed v");
    tu_ok(t, "SELECT 0");
    tu_ok(t, "SET local:1 the-target's-own");
    CopyOptions o;
    options_for(&o, &src, &dst2);
    char err[FERRY_ERR_LEN];
    assert_int_equal(dbmap_parse(&o.dbmap, "0:0", err, sizeof(err)), 0);
    if (filtered) assert_int_equal(filter_add_exclude(&o.filter, "local:*", err, sizeof(err)), 0);
    o.target.io_timeout_ms = 10000;
    o.on_conflict = CONFLICT_REPLACE;
    FollowOptions fo = {.copy = &o};
    Follower *f = g_follower = follow_start(&fo, err, sizeof(err));
    assert_non_null(f);
    wait_state(f, FOLLOW_STREAMING, 20000);
    assert_int_equal(tu_int(t, "EXISTS stale:1"), 1);
    force_full_resync(s0, admin, "stale:1");
    FollowStatus st;
    int64_t end = util_mono_ms() + 20000;
    for (;;) {
        follow_status(f, &st);
        if (st.state == FOLLOW_FAILED) fail_msg("follower failed: %s", st.error);
        if (st.full_syncs == 2 && st.state == FOLLOW_STREAMING) break;
        if (util_mono_ms() > end) fail_msg("no second full sync (state %s, %d)", follow_state_name(st.state), st.full_syncs);
        util_sleep_ms(20);
    }
    wait_caught_up(f, s0, dst2.port);
    tu_ok(s0, "CONFIG SET repl-backlog-size 67108864");
    assert_int_equal(tu_int(t, "EXISTS stale:1"), 0);
    assert_int_equal(tu_int(t, "EXISTS local:1"), filtered);
    tu_ok(t, "DEL local:1");
    tu_assert_same_keyspace(s0, 0, t, 0);
    tu_ok(t, "SELECT 5");
    assert_int_equal(tu_int(t, "EXISTS not-followed"), 1);
    follow_stop(f);
    g_follower = NULL;
    copy_options_free(&o);
    conn_close(s0);
    conn_close(t);
    conn_close(admin);
}

static void test_follow_resync_replace_clears(void **state) {
    (void)state;
    resync_replace_clears(0);
    resync_replace_clears(1);
}

/* --type-based: the snapshot's values are rebuilt from its own bytes with
 * type commands (what a target older than the source's encodings gets),
 * and the stream that follows applies on top of them. */
static void test_follow_type_based(void **state) {
    (void)state;
    Conn *s0 = tu_connect(&src, 0), *t = tu_connect(&dst2, 0);
    tu_ok(s0, "FLUSHALL");
    tu_ok(t, "FLUSHALL");
    tu_ok(t, "CONFIG RESETSTAT");
    long n = tu_fill_every_type(s0, "");
    tu_ok(s0, "FUNCTION LOAD REPLACE %s", "#!lua name=followlib\nredis.register_function('follow_echo', function(keys, args) return args[1] end)");
    CopyOptions o;
    options_for(&o, &src, &dst2);
    char err[FERRY_ERR_LEN];
    assert_int_equal(dbmap_parse(&o.dbmap, "0:0", err, sizeof(err)), 0);
    o.type_based = 1;
    FollowOptions fo = {.copy = &o};
    Follower *f = g_follower = follow_start(&fo, err, sizeof(err));
    assert_non_null(f);
    wait_state(f, FOLLOW_STREAMING, 20000);
    FollowStatus st;
    follow_status(f, &st);
    assert_int_equal(st.snapshot_typed, (uint64_t)n);
    assert_int_equal(st.errors, 0);
    redisReply *fl = tu_cmd(t, "FCALL follow_echo 0 hi"); /* the snapshot's function library */
    assert_string_equal(fl->str, "hi");
    freeReplyObject(fl);
    /* The stream continues on the rebuilt values. */
    tu_ok(s0, "RPUSH list:small tail");
    tu_ok(s0, "HSET hash:big field-3 changed new-field 1");
    tu_ok(s0, "SADD set:int 6");
    tu_ok(s0, "XADD stream:events 99-1 n 99");
    redisReply *r = tu_cmd(s0, "XREADGROUP GROUP billing alice COUNT 1 STREAMS stream:events >");
    freeReplyObject(r);
    tu_ok(s0, "XACK stream:events billing 4-1");
    wait_caught_up(f, s0, dst2.port);
    follow_status(f, &st);
    assert_int_equal(st.errors, 0);
    assert_int_equal(tu_assert_same_contents(s0, 0, t, 0), n);
    r = tu_cmd(t, "INFO commandstats");
    assert_false(tu_contains(r->str, "cmdstat_restore"));
    freeReplyObject(r);
    follow_stop(f);
    g_follower = NULL;
    copy_options_free(&o);
    conn_close(s0);
    conn_close(t);
}

static void read_file(const char *path, char *buf, size_t cap) {
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/* The saved position: a follower stopped while the writer keeps writing
 * continues in a new follower with a partial resync, and every counter is
 * exact. A position left by a killed follower is refused (its last
 * commands may be applied already), and so is one of another server; with
 * replace, a new snapshot is loaded instead. */
static void test_follow_saved_position(void **state) {
    (void)state;
    Conn *s0 = tu_connect(&src, 0), *s1 = tu_connect(&src, 1), *s2 = tu_connect(&src, 2), *t = tu_connect(&dst2, 0);
    tu_ok(s0, "FLUSHALL");
    tu_ok(t, "FLUSHALL");
    tu_fill_every_type(s0, "pre:");
    tu_ok(s2, "XGROUP CREATE ev g $ MKSTREAM");
    char pos[] = "/tmp/ferry-test-follow-pos-XXXXXX";
    int fd = mkstemp(pos);
    assert_true(fd >= 0);
    close(fd);
    unlink(pos);

    CopyOptions o;
    options_for(&o, &src, &dst2);
    char err[FERRY_ERR_LEN], text[4096];
    assert_int_equal(dbmap_parse(&o.dbmap, "0:0,1:1,2:2", err, sizeof(err)), 0);
    FollowOptions fo = {.copy = &o, .state_path = pos};
    Follower *f = g_follower = follow_start(&fo, err, sizeof(err));
    assert_non_null(f);
    wait_state(f, FOLLOW_STREAMING, 20000);

    Writer *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    assert_int_equal(pthread_create(&w->th, NULL, writer_main, w), 0);
    g_writer = w;
    util_sleep_ms(800);
    FollowStatus st;
    follow_status(f, &st);
    read_file(pos, text, sizeof(text));
    assert_true(tu_contains(text, "\"clean\":0")); /* running */
    follow_stop(f);
    g_follower = NULL;
    read_file(pos, text, sizeof(text));
    assert_true(tu_contains(text, "\"clean\":1"));
    assert_true(tu_contains(text, st.replid));
    util_sleep_ms(600); /* the writer goes on while no follower runs */

    fo.resume = 1;
    f = g_follower = follow_start(&fo, err, sizeof(err));
    if (!f) fail_msg("resume: %s", err);
    /* One follower per state file: a second one would apply everything twice. */
    assert_null(follow_start(&fo, err, sizeof(err)));
    if (!tu_contains(err, "another ferry (pid ") || !tu_contains(err, "follows with the state file")) fail_msg("%s", err);
    wait_state(f, FOLLOW_STREAMING, 20000);
    follow_status(f, &st);
    assert_int_equal(st.resumed, 1);
    assert_int_equal(st.full_syncs, 0);
    assert_int_equal(st.partial_syncs, 1);
    util_sleep_ms(600);
    w->stop = 1;
    pthread_join(w->th, NULL);
    g_writer = NULL;
    if (w->err[0]) fail_msg("%s", w->err);
    wait_caught_up(f, s0, dst2.port);
    follow_status(f, &st);
    assert_int_equal(st.errors, 0);
    assert_true(st.source_offset > 0);
    check_counters(t, w, 1);
    tu_assert_same_keyspace(s0, 0, t, 0);
    tu_assert_same_keyspace(s1, 1, t, 1);
    assert_same_stream(s2, 2, t, 2, "ev");
    follow_stop(f);
    g_follower = NULL;

    /* A follower that did not stop cleanly (killed): refused. */
    read_file(pos, text, sizeof(text));
    char *c = strstr(text, "\"clean\":1");
    assert_non_null(c);
    c[8] = '0';
    FILE *fp = fopen(pos, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_null(follow_start(&fo, err, sizeof(err)));
    assert_true(tu_contains(err, "did not stop cleanly"));
    assert_true(tu_contains(err, "--on-conflict replace"));

    /* Another target: refused. */
    CopyOptions o2;
    options_for(&o2, &src, &dst);
    FollowOptions fo2 = {.copy = &o2, .state_path = pos, .resume = 1};
    assert_null(follow_start(&fo2, err, sizeof(err)));
    assert_true(tu_contains(err, "another target"));
    copy_options_free(&o2);

    /* With replace: a new snapshot over the target. */
    tu_ok(s0, "INCR ctr:0");
    w->counts[0]++;
    o.on_conflict = CONFLICT_REPLACE;
    f = g_follower = follow_start(&fo, err, sizeof(err));
    if (!f) fail_msg("replace: %s", err);
    wait_state(f, FOLLOW_STREAMING, 20000);
    follow_status(f, &st);
    assert_int_equal(st.full_syncs, 1);
    wait_caught_up(f, s0, dst2.port);
    check_counters(t, w, 1);
    tu_assert_same_keyspace(s0, 0, t, 0);
    follow_stop(f);
    g_follower = NULL;
    read_file(pos, text, sizeof(text));
    assert_true(tu_contains(text, "\"clean\":1"));

    unlink(pos);
    copy_options_free(&o);
    free(w);
    conn_close(s0);
    conn_close(s1);
    conn_close(s2);
    conn_close(t);
}

extern char **environ;

static void test_follow_binary(void **state) {
    (void)state;
    TuRun r;
    char su[128], tu[128];
    sandbox_uri(&src, 0, su, sizeof(su));
    sandbox_uri(&dst2, 0, tu, sizeof(tu));
    tu_ferry(&r, 10, NULL, (const char *[]){"follow", "--source", su, "--target", tu, "--type", "hash", NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "--type does not apply to follow"));
    tu_ferry(&r, 10, NULL, (const char *[]){"follow", "--help", NULL});
    assert_int_equal(r.status, 0);
    assert_true(tu_contains(r.out, "usage: ferry follow"));

    Conn *s0 = tu_connect(&src, 0), *t = tu_connect(&dst2, 0);
    tu_ok(t, "FLUSHALL");
    char out[] = "/tmp/ferry-test-follow-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    pid_t pid;
    char *argv[] = {"ferry", "follow", "--source", su, "--target", tu, "--no-tui", NULL};
    assert_int_equal(posix_spawn(&pid, FERRY_BIN, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    tu_ok(s0, "SET bin:key 42");
    int64_t end = util_mono_ms() + 15000;
    while (tu_int(t, "EXISTS bin:key") == 0) {
        if (util_mono_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("ferry follow never applied the write");
        }
        util_sleep_ms(20);
    }
    util_sleep_ms(300); /* the key may have come with the snapshot: let its closing line be logged */
    kill(pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char text[65536];
    FILE *fp = fopen(out, "r");
    assert_non_null(fp);
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    text[n] = '\0';
    fclose(fp);
    unlink(out);
    if (!tu_contains(text, "snapshot applied") || !tu_contains(text, "stopped at applied offset"))
        fail_msg("ferry follow's output lacks the snapshot or the closing line:\n%s", text);
    conn_close(s0);
    conn_close(t);
}

static void test_follow_cutover_runbook(void **state) {
    (void)state;
    Conn *s0 = tu_connect(&src, 0), *t = tu_connect(&dst2, 0);
    tu_ok(t, "FLUSHALL");
    tu_ok(s0, "SET runbook:before 1");
    char su[128], tu[128], journal[] = "/tmp/ferry-test-follow-journal-XXXXXX";
    int fd = mkstemp(journal);
    assert_true(fd >= 0);
    close(fd);
    unlink(journal);
    sandbox_uri(&src, -1, su, sizeof(su));
    sandbox_uri(&dst2, -1, tu, sizeof(tu));
    TuRun r;
    tu_ferry(&r, 60, NULL,
             (const char *[]){"run", FERRY_SOURCE_DIR "/runbooks/follow-cutover", "--source", su, "--target", tu, "--db-map",
                              "0:0,1:1,2:2", "--no-tui", "--confirm-all", "--journal", journal, NULL});
    if (r.status != 0) fail_msg("ferry run follow-cutover: exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "the follower caught up"));
    assert_true(tu_contains(r.out, "follower stopped at applied offset"));
    unlink(journal);
    tu_assert_same_keyspace(s0, 0, t, 0);
    conn_close(s0);
    conn_close(t);
}

/* A run whose ferry ends while its follower runs (here: blocked at a gate,
 * as when the operator quits) is resumed: the completed follow step brings
 * its follower back from the saved position with a partial resync, and the
 * writes made in between arrive exactly once. */
static void test_follow_runbook_resume(void **state) {
    (void)state;
    Conn *s0 = tu_connect(&src, 0), *t = tu_connect(&dst2, 0);
    tu_ok(s0, "FLUSHALL");
    tu_ok(t, "FLUSHALL");
    tu_ok(s0, "SET ctr 100");
    char su[128], tu[128], journal[] = "/tmp/ferry-test-follow-resume-XXXXXX";
    int fd = mkstemp(journal);
    assert_true(fd >= 0);
    close(fd);
    unlink(journal);
    sandbox_uri(&src, -1, su, sizeof(su));
    sandbox_uri(&dst2, -1, tu, sizeof(tu));
    long long partial0 = info_field(s0, "stats", "sync_partial_ok"), full0 = info_field(s0, "stats", "sync_full");
    TuRun r;
    tu_ferry(&r, 60, NULL,
             (const char *[]){"run", FERRY_SOURCE_DIR "/runbooks/follow-cutover", "--source", su, "--target", tu, "--db-map", "0:0",
                              "--no-tui", "--confirm", "follow", "--journal", journal, NULL});
    if (!tu_contains(r.out, "blocked") && !tu_contains(r.err, "blocked"))
        fail_msg("ferry run should stop at the check gate: exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_int_equal(info_field(s0, "stats", "sync_full"), full0 + 1);
    /* Written while no ferry runs. */
    for (int i = 0; i < 25; i++) tu_ok(s0, "INCR ctr");
    tu_ok(s0, "RPUSH log a b c");
    tu_ferry(&r, 60, NULL,
             (const char *[]){"run", FERRY_SOURCE_DIR "/runbooks/follow-cutover", "--source", su, "--target", tu, "--db-map", "0:0",
                              "--no-tui", "--confirm-all", "--resume", journal, NULL});
    if (r.status != 0) fail_msg("ferry run --resume: exit %d\n%s\n%s", r.status, r.out, r.err);
    if (!tu_contains(r.out, "continues from its saved position")) fail_msg("no resumed follower:\n%s", r.out);
    assert_true(tu_contains(r.out, "the follower caught up"));
    assert_int_equal(info_field(s0, "stats", "sync_full"), full0 + 1); /* no second snapshot */
    assert_true(info_field(s0, "stats", "sync_partial_ok") > partial0);
    redisReply *v = tu_cmd(t, "GET ctr");
    assert_string_equal(v->str, "125");
    freeReplyObject(v);
    tu_assert_same_keyspace(s0, 0, t, 0);
    /* The journal and the follow step's saved position next to it. */
    char saved[700];
    snprintf(saved, sizeof(saved), "%s.follow.state", journal);
    assert_int_equal(access(saved, F_OK), 0);
    unlink(saved);
    unlink(journal);
    conn_close(s0);
    conn_close(t);
}

static void test_follow_over_tls(void **state) {
    (void)state;
    if (!tls_src.pid) skip(); /* no openssl command to make certificates */
    Conn *s0 = tu_connect(&tls_src, 0), *t = tu_connect(&dst2, 0);
    tu_ok(t, "FLUSHALL");
    static char big[100000];
    memset(big, 'y', sizeof(big) - 1);
    tu_ok(s0, "SET tls:big %s", big);
    tu_fill_every_type(s0, "tls:");
    CopyOptions o;
    copy_options_init(&o);
    char uri[128], err[FERRY_ERR_LEN];
    snprintf(uri, sizeof(uri), "rediss://127.0.0.1:%d", tls_src.tls_port);
    assert_int_equal(uri_parse(uri, &o.source.uri, err, sizeof(err)), 0);
    o.source.tls.ca_file = ca;
    o.source.tls.cert_file = ccert;
    o.source.tls.key_file = ckey;
    sandbox_uri(&dst2, -1, uri, sizeof(uri));
    assert_int_equal(uri_parse(uri, &o.target.uri, err, sizeof(err)), 0);
    assert_int_equal(dbmap_parse(&o.dbmap, "0:0", err, sizeof(err)), 0);
    FollowOptions fo = {.copy = &o, .listening_port = dst2.port};
    Follower *f = g_follower = follow_start(&fo, err, sizeof(err));
    assert_non_null(f);
    wait_state(f, FOLLOW_STREAMING, 20000);
    for (int i = 0; i < 200; i++) tu_ok(s0, "APPEND tls:grow %s", big + 90000 + (i % 7) * 100);
    tu_ok(s0, "INCRBY tls:ctr 5");
    wait_caught_up(f, s0, dst2.port);
    tu_assert_same_keyspace(s0, 0, t, 0);
    follow_stop(f);
    g_follower = NULL;
    copy_options_free(&o);
    conn_close(s0);
    conn_close(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_follow_live_with_cut, test_cleanup),
        cmocka_unit_test_teardown(test_follow_disk_snapshot_filters, test_cleanup),
        cmocka_unit_test_teardown(test_follow_refuses_second_full_sync, test_cleanup),
        cmocka_unit_test_teardown(test_follow_resync_replace_clears, test_cleanup),
        cmocka_unit_test_teardown(test_follow_binary, test_cleanup),
        cmocka_unit_test_teardown(test_follow_saved_position, test_cleanup),
        cmocka_unit_test_teardown(test_follow_type_based, test_cleanup),
        cmocka_unit_test_teardown(test_follow_cutover_runbook, test_cleanup),
        cmocka_unit_test_teardown(test_follow_runbook_resume, test_cleanup),
        cmocka_unit_test_teardown(test_follow_over_tls, test_cleanup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
