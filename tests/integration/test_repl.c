/* The REPLICAOF cutover on real servers, driven through the binary as an
 * operator would (`ferry run runbooks/replica-cutover --no-tui`), while a
 * writer keeps writing to the source and counts what the source
 * acknowledged:
 *   - after promote, every write acknowledged before it is on the target
 *     (INCR counters at least the acknowledged counts, every SET present);
 *     the writer never saw an error (a paused write waits, it does not fail);
 *   - a target with REPLICAOF and SLAVEOF renamed away fails in the
 *     runbook's preflight step with the message naming follow, and nothing
 *     changed on the target (nor on the source);
 *   - without a preflight step, replicate itself refuses a target with keys
 *     and a target without REPLICAOF (masterauth put back as it was);
 *   - the monitor thread on its own: it reports a sync, then equal offsets,
 *     then stale figures when the source goes away.
 * The source needs a password (so replicate hands masterauth to the target)
 * and PINGs its replicas every second (so offsets move during the pause).
 * A read-only script keeps the target busy most of the time, so it really
 * lags: with wait-offset removed from the runbook (and promote's own check
 * off), this test loses acknowledged writes about every other run. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl.h"
#include "testutil.h"
#include "util.h"

#define SRC_PASSWORD "s3cret-repl"
#define PRELOAD 3000
#define NCOUNTERS 8

static Sandbox src, dst, refuse;
static char src_uri[128], dst_uri[128], refuse_uri[128];
static char tmpdir[256];

static Conn *connect_src(void) {
    ConnConfig cfg;
    char err[FERRY_ERR_LEN];
    conn_config_init(&cfg, "source");
    if (uri_parse(src_uri, &cfg.uri, err, sizeof(err)) != 0) fail_msg("uri: %s", err);
    util_strlcpy(cfg.uri.password, SRC_PASSWORD, sizeof(cfg.uri.password));
    cfg.uri.has_password = 1;
    util_strlcpy(cfg.client_name, "ferry-test-writer", sizeof(cfg.client_name));
    Conn *c = conn_open(&cfg, err, sizeof(err));
    if (!c) fail_msg("connect source: %s", err);
    return c;
}

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, (const char *[]){"--requirepass", SRC_PASSWORD, "--repl-diskless-sync-delay", "0",
                                           "--repl-ping-replica-period", "1", NULL});
    tu_server_start(&dst, NULL);
    tu_server_start(&refuse, (const char *[]){"--rename-command", "REPLICAOF", "", "--rename-command", "SLAVEOF", "",
                                              NULL});
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    sandbox_uri(&dst, -1, dst_uri, sizeof(dst_uri));
    sandbox_uri(&refuse, -1, refuse_uri, sizeof(refuse_uri));
    Conn *a = connect_src();
    for (int i = 0; i < PRELOAD; i++) conn_append(a, "SET pre:%d %d", i, i);
    conn_append(a, "HSET pre:hash f1 v1 f2 v2");
    for (int i = 0; i < PRELOAD + 1; i++) {
        redisReply *r;
        if (conn_get_reply(a, &r) != 0) fail_msg("preload: %s", conn_errstr(a));
        freeReplyObject(r);
    }
    conn_close(a);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-test-repl-XXXXXX");
    if (!mkdtemp(tmpdir)) fail_msg("mkdtemp failed");
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    sandbox_stop(&refuse);
    if (tmpdir[0]) tu_rm_tree(tmpdir);
    return 0;
}

/* ---------------------------------------------------------------- writer */

typedef struct WriteRec {
    int64_t ack_ms;  /* wall clock, taken after the reply arrived */
    int counter;     /* -1: SET w:<idx>; else INCR ctr:<counter> */
    long idx;
} WriteRec;

typedef struct Writer {
    pthread_t th;
    _Atomic int stop;
    WriteRec *recs;
    size_t n, cap;
    int errors;
    char first_error[300];
    int64_t max_wait_ms;  /* the longest a write waited (the pause) */
} Writer;

static void *writer_main(void *arg) {
    Writer *w = arg;
    Conn *c = connect_src();
    char pad[101];
    memset(pad, 'x', 100);
    pad[100] = '\0';
    for (long i = 0; !atomic_load(&w->stop); i++) {
        int counter = i % 2 ? (int)(i % NCOUNTERS) : -1;
        int64_t t0 = util_mono_ms();
        redisReply *r = counter < 0 ? conn_command(c, "SET w:%ld v%ld:%s", i, i, pad) : conn_command(c, "INCR ctr:%d", counter);
        int64_t waited = util_mono_ms() - t0;
        if (!r || r->type == REDIS_REPLY_ERROR) {
            if (!w->errors++)
                snprintf(w->first_error, sizeof(w->first_error), "%s", r ? r->str : conn_errstr(c));
            if (r) freeReplyObject(r);
            if (!r) break;
            continue;
        }
        freeReplyObject(r);
        if (waited > w->max_wait_ms) w->max_wait_ms = waited;
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 4096;
            WriteRec *nr = realloc(w->recs, cap * sizeof(*nr));
            if (!nr) break;
            w->recs = nr;
            w->cap = cap;
        }
        w->recs[w->n++] = (WriteRec){util_now_ms(), counter, i};
        if (i % 20 == 0) util_sleep_ms(1); /* a steady application, not a flood */
    }
    conn_close(c);
    return NULL;
}

/* Keeps the target busy now and then (a read-only script that spins for
 * 150 ms, then 100 ms of rest), so that it falls behind the source for real
 * and the cutover has to wait for it: without wait-offset, promote would
 * lose writes and this test would see it. */
typedef struct Lagger {
    pthread_t th;
    _Atomic int stop;
    int busy_runs;
} Lagger;

static const char spin_script[] =
    "local s = redis.call('TIME') local t0 = s[1] * 1000000 + s[2] "
    "repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - t0 >= tonumber(ARGV[1]) return 1";

static void *lagger_main(void *arg) {
    Lagger *l = arg;
    Conn *c = tu_connect(&dst, -1);
    while (!atomic_load(&l->stop)) {
        redisReply *r = conn_command(c, "EVAL_RO %s 0 300000", spin_script);
        if (r && r->type != REDIS_REPLY_ERROR) l->busy_runs++;
        if (r) freeReplyObject(r);
        if (!r) break;
        util_sleep_ms(5);
    }
    conn_close(c);
    return NULL;
}

/* ------------------------------------------------------------- helpers */

static long long journal_figure(const char *path, const char *name) {
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("journal %s missing", path);
    char key[64], line[65536];
    snprintf(key, sizeof(key), "\"%s\":", name);
    long long v = -1;
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, key);
        if (p) v = atoll(p + strlen(key));
    }
    fclose(f);
    return v;
}

static void info_field(Conn *c, const char *section, const char *field, char *out, size_t len) {
    redisReply *r = tu_cmd(c, "INFO %s", section);
    out[0] = '\0';
    char key[64];
    snprintf(key, sizeof(key), "%s:", field);
    const char *p = strstr(r->str, key);
    if (p) {
        p += strlen(key);
        size_t n = strcspn(p, "\r\n");
        snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
    }
    freeReplyObject(r);
}

/* --------------------------------------------------------------- tests */

static void test_cutover_keeps_every_acknowledged_write(void **state) {
    (void)state;
    Writer *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    if (pthread_create(&w->th, NULL, writer_main, w) != 0) fail_msg("pthread_create");
    Lagger *lag = calloc(1, sizeof(*lag));
    assert_non_null(lag);
    if (pthread_create(&lag->th, NULL, lagger_main, lag) != 0) fail_msg("pthread_create");
    util_sleep_ms(300);

    char journal[512], runbook[1024];
    snprintf(journal, sizeof(journal), "%s/cutover.jsonl", tmpdir);
    snprintf(runbook, sizeof(runbook), "%s/runbooks/replica-cutover", FERRY_SOURCE_DIR);
    TuRun *r = malloc(sizeof(*r));
    assert_non_null(r);
    tu_ferry(r, 60, (const char *[]){"FERRY_SOURCE_PASSWORD=" SRC_PASSWORD, NULL},
             (const char *[]){"run", runbook, "--source", src_uri, "--target", dst_uri, "--no-tui", "--confirm-all",
                              "--confirm", "promote", "--journal", journal, NULL});
    util_sleep_ms(300); /* writes flow again on the source after unpause */
    atomic_store(&w->stop, 1);
    atomic_store(&lag->stop, 1);
    pthread_join(w->th, NULL);
    pthread_join(lag->th, NULL);
    assert_true(lag->busy_runs > 0);
    free(lag);
    if (r->status != 0) fail_msg("ferry run exited %d\nstdout:\n%s\nstderr:\n%s", r->status, r->out, r->err);
    assert_false(tu_contains(r->out, SRC_PASSWORD));
    assert_false(tu_contains(r->err, SRC_PASSWORD));
    if (getenv("FERRY_TEST_VERBOSE")) fprintf(stderr, "%s\n%s\n", r->out, r->err);
    assert_true(tu_contains(r->out, "caught up"));
    assert_true(tu_contains(r->out, "promoted"));

    if (w->errors) fail_msg("the writer saw %d errors, first: %s", w->errors, w->first_error);
    long long promoted_at = journal_figure(journal, "promoted_at_ms");
    assert_true(promoted_at > 0);

    /* What the source acknowledged before the promotion. */
    long long acked_ctr[NCOUNTERS] = {0};
    size_t before = 0, after = 0;
    Conn *t = tu_connect(&dst, 0);
    for (size_t i = 0; i < w->n; i++) {
        const WriteRec *rec = &w->recs[i];
        if (rec->ack_ms >= promoted_at) {
            after++;
            continue;
        }
        before++;
        if (rec->counter >= 0)
            acked_ctr[rec->counter]++;
        else
            conn_append(t, "GET w:%ld", rec->idx);
    }
    for (size_t i = 0, k = 0; i < w->n; i++) {
        const WriteRec *rec = &w->recs[i];
        if (rec->ack_ms >= promoted_at || rec->counter >= 0) continue;
        redisReply *g;
        if (conn_get_reply(t, &g) != 0) fail_msg("GET: %s", conn_errstr(t));
        char want[32];
        snprintf(want, sizeof(want), "v%ld:", rec->idx);
        if (g->type != REDIS_REPLY_STRING || strncmp(g->str, want, strlen(want)) || g->len != strlen(want) + 100)
            fail_msg("acknowledged SET w:%ld (%zu-th write) is not on the target (%s)", rec->idx, k,
                     g->type == REDIS_REPLY_NIL ? "missing" : "other value");
        freeReplyObject(g);
        k++;
    }
    for (int k = 0; k < NCOUNTERS; k++) {
        redisReply *g = tu_cmd(t, "GET ctr:%d", k);
        long long have = g->type == REDIS_REPLY_STRING ? atoll(g->str) : 0;
        freeReplyObject(g);
        if (have < acked_ctr[k])
            fail_msg("counter ctr:%d is %lld on the target, but the source acknowledged %lld INCRs before promote", k,
                     have, acked_ctr[k]);
    }
    print_message("writer: %zu writes acknowledged before promote, %zu after (unpaused); longest wait %lld ms (the pause)\n",
                  before, after, (long long)w->max_wait_ms);
    assert_true(before > 200);
    assert_true(after > 0);
    /* The preloaded keys came over with the initial sync. */
    redisReply *g = tu_cmd(t, "GET pre:%d", PRELOAD - 1);
    assert_int_equal(g->type, REDIS_REPLY_STRING);
    freeReplyObject(g);
    assert_int_equal(tu_int(t, "HLEN pre:hash"), 2);

    /* The target is a primary now and takes writes; the source is unpaused. */
    char role[32];
    info_field(t, "replication", "role", role, sizeof(role));
    assert_string_equal(role, "master");
    tu_ok(t, "SET after:promote 1");
    conn_close(t);
    Conn *s = connect_src();
    int64_t t0 = util_mono_ms();
    redisReply *sr = tu_cmd(s, "SET after:unpause 1");
    assert_int_not_equal(sr->type, REDIS_REPLY_ERROR);
    freeReplyObject(sr);
    assert_true(util_mono_ms() - t0 < 1000);
    conn_close(s);
    free(w->recs);
    free(w);
    free(r);
}

static void test_target_refusing_replicaof_fails_in_preflight(void **state) {
    (void)state;
    Conn *t = tu_connect(&refuse, 0);
    tu_ok(t, "SET marker untouched");
    char before_auth[64];
    redisReply *cr = tu_cmd(t, "CONFIG GET masterauth");
    assert_int_equal(cr->type, REDIS_REPLY_ARRAY);
    snprintf(before_auth, sizeof(before_auth), "%s", cr->elements == 2 ? cr->element[1]->str : "?");
    freeReplyObject(cr);

    char journal[512], runbook[1024];
    snprintf(journal, sizeof(journal), "%s/refused.jsonl", tmpdir);
    snprintf(runbook, sizeof(runbook), "%s/runbooks/replica-cutover", FERRY_SOURCE_DIR);
    TuRun *r = malloc(sizeof(*r));
    assert_non_null(r);
    tu_ferry(r, 30, (const char *[]){"FERRY_SOURCE_PASSWORD=" SRC_PASSWORD, NULL},
             (const char *[]){"run", runbook, "--source", src_uri, "--target", refuse_uri, "--no-tui", "--confirm-all",
                              "--confirm", "promote", "--journal", journal, NULL});
    if (r->status != 1) fail_msg("exit %d, wanted 1\nstdout:\n%s\nstderr:\n%s", r->status, r->out, r->err);
    /* It failed in preflight, naming REPLICAOF and the way forward. */
    if (!tu_contains(r->err, "step preflight failed") || !tu_contains(r->err, "REPLICAOF") ||
        !tu_contains(r->err, "follow"))
        fail_msg("stderr does not say preflight failed on REPLICAOF, naming follow: %s", r->err);
    if (getenv("FERRY_TEST_VERBOSE")) fprintf(stderr, "%s\n%s\n", r->out, r->err);
    assert_true(tu_contains(r->out, "ferry follow"));
    assert_false(tu_contains(r->out, "replicate: running"));
    assert_false(tu_contains(r->out, "[2/"));
    assert_false(tu_contains(r->err, SRC_PASSWORD));

    /* Nothing changed on the target... */
    char role[32];
    info_field(t, "replication", "role", role, sizeof(role));
    assert_string_equal(role, "master");
    assert_int_equal(tu_int(t, "DBSIZE"), 1);
    cr = tu_cmd(t, "CONFIG GET masterauth");
    assert_string_equal(cr->elements == 2 ? cr->element[1]->str : "?", before_auth);
    freeReplyObject(cr);
    conn_close(t);
    /* ...nor on the source: no pause, no new replica. */
    Conn *s = connect_src();
    int64_t t0 = util_mono_ms();
    tu_ok(s, "SET refused:probe 1");
    assert_true(util_mono_ms() - t0 < 1000);
    char slaves[16];
    info_field(s, "replication", "connected_slaves", slaves, sizeof(slaves));
    /* The cutover test's target was promoted: it no longer follows either. */
    assert_string_equal(slaves, "0");
    conn_close(s);
    free(r);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Without a preflight step the replicate step itself refuses: a target
 * that holds keys (the sync would replace them), and a target without
 * REPLICAOF (naming follow; the masterauth it was handed is put back). */
static void test_replicate_refuses_before_changing_anything(void **state) {
    (void)state;
    char rb[512], journal[512];
    snprintf(rb, sizeof(rb), "%s/replicate-only", tmpdir);
    write_file(rb, "title = replicate only\n[step replicate]\naction = replicate\n");
    TuRun *r = malloc(sizeof(*r));
    assert_non_null(r);

    /* The cutover's target is a primary with keys now. */
    Conn *t = tu_connect(&dst, 0);
    long long keys = tu_int(t, "DBSIZE");
    assert_true(keys > 0);
    snprintf(journal, sizeof(journal), "%s/nonempty.jsonl", tmpdir);
    tu_ferry(r, 30, (const char *[]){"FERRY_SOURCE_PASSWORD=" SRC_PASSWORD, NULL},
             (const char *[]){"run", rb, "--source", src_uri, "--target", dst_uri, "--no-tui", "--confirm-all",
                              "--journal", journal, NULL});
    if (getenv("FERRY_TEST_VERBOSE")) fprintf(stderr, "%s\n%s\n", r->out, r->err);
    if (r->status != 1 || !tu_contains(r->err, "discard-target-data = yes"))
        fail_msg("exit %d\nstderr: %s", r->status, r->err);
    char role[32];
    info_field(t, "replication", "role", role, sizeof(role));
    assert_string_equal(role, "master");
    assert_int_equal(tu_int(t, "DBSIZE"), keys);
    conn_close(t);

    /* REPLICAOF renamed away, found only when the step runs. */
    Conn *x = tu_connect(&refuse, 0);
    redisReply *cr = tu_cmd(x, "CONFIG GET masterauth");
    char before_auth[64];
    snprintf(before_auth, sizeof(before_auth), "%s", cr->elements == 2 ? cr->element[1]->str : "?");
    freeReplyObject(cr);
    tu_ok(x, "FLUSHALL");
    snprintf(journal, sizeof(journal), "%s/refused-run.jsonl", tmpdir);
    tu_ferry(r, 30, (const char *[]){"FERRY_SOURCE_PASSWORD=" SRC_PASSWORD, NULL},
             (const char *[]){"run", rb, "--source", src_uri, "--target", refuse_uri, "--no-tui", "--confirm-all",
                              "--journal", journal, NULL});
    if (getenv("FERRY_TEST_VERBOSE")) fprintf(stderr, "%s\n%s\n", r->out, r->err);
    if (r->status != 1 || !tu_contains(r->err, "refused REPLICAOF") || !tu_contains(r->err, "follow action"))
        fail_msg("exit %d\nstderr: %s", r->status, r->err);
    assert_false(tu_contains(r->err, SRC_PASSWORD));
    assert_false(tu_contains(r->out, SRC_PASSWORD));
    cr = tu_cmd(x, "CONFIG GET masterauth");
    assert_string_equal(cr->elements == 2 ? cr->element[1]->str : "?", before_auth);
    freeReplyObject(cr);
    info_field(x, "replication", "role", role, sizeof(role));
    assert_string_equal(role, "master");
    tu_ok(x, "SET marker untouched");
    conn_close(x);
    free(r);
}

/* The monitor on its own, as a console panel would use it. */
static void test_monitor_reports_sync_and_equal_offsets(void **state) {
    (void)state;
    Sandbox a, b;
    tu_server_start(&a, (const char *[]){"--repl-diskless-sync-delay", "0", NULL});
    tu_server_start(&b, NULL);
    Conn *ca = tu_connect(&a, 0);
    for (int i = 0; i < 500; i++) tu_ok(ca, "SET k:%d %d", i, i);
    Conn *cb = tu_connect(&b, 0);
    char port[16];
    snprintf(port, sizeof(port), "%d", a.port);
    tu_ok(cb, "REPLICAOF 127.0.0.1 %s", port);

    ConnConfig sc, tc;
    char ua[128], ub[128], err[FERRY_ERR_LEN];
    conn_config_init(&sc, "source");
    conn_config_init(&tc, "target");
    sandbox_uri(&a, -1, ua, sizeof(ua));
    sandbox_uri(&b, -1, ub, sizeof(ub));
    assert_int_equal(uri_parse(ua, &sc.uri, err, sizeof(err)), 0);
    assert_int_equal(uri_parse(ub, &tc.uri, err, sizeof(err)), 0);
    ReplMonitorOptions mo = {&sc, &tc, 100};
    ReplMonitor *m = repl_monitor_start(&mo, err, sizeof(err));
    assert_non_null(m);
    ReplState *st = malloc(sizeof(*st));
    ReplView v;
    int caught = 0;
    uint64_t seq = 0;
    for (int64_t end = util_mono_ms() + 10000; util_mono_ms() < end && !caught;) {
        seq = repl_monitor_wait(m, seq, 500);
        repl_monitor_state(m, st);
        repl_view_build(st, util_mono_ms(), &v);
        caught = v.caught_up;
    }
    if (!caught) {
        char line[1024];
        repl_view_format_line(&v, line, sizeof(line));
        fail_msg("the monitor never saw the replica catch up: %s", line);
    }
    assert_int_equal(v.link, REPL_LINK_UP);
    assert_true(v.replica_found);
    assert_int_equal(v.lag_bytes, 0);
    assert_true(v.source_offset >= 0);
    /* More writes: the offsets move and meet again. */
    for (int i = 0; i < 200; i++) tu_ok(ca, "SET more:%d %d", i, i);
    long long moved_from = v.source_offset;
    caught = 0;
    for (int64_t end = util_mono_ms() + 5000; util_mono_ms() < end && !caught;) {
        seq = repl_monitor_wait(m, seq, 500);
        repl_monitor_state(m, st);
        repl_view_build(st, util_mono_ms(), &v);
        caught = v.caught_up && v.source_offset > moved_from;
    }
    assert_true(caught);
    assert_true(v.hist_len >= 2);
    /* The replicate step on a target that follows the source already
     * changes nothing (a resumed run). */
    char rb[512], journal[512];
    snprintf(rb, sizeof(rb), "%s/replicate-again", tmpdir);
    write_file(rb, "title = replicate again\n[step replicate]\naction = replicate\n");
    snprintf(journal, sizeof(journal), "%s/again.jsonl", tmpdir);
    TuRun *r = malloc(sizeof(*r));
    assert_non_null(r);
    tu_ferry(r, 30, NULL, (const char *[]){"run", rb, "--source", ua, "--target", ub, "--no-tui", "--confirm-all",
                                           "--journal", journal, NULL});
    if (r->status != 0 || !tu_contains(r->out, "already follows the source"))
        fail_msg("exit %d\nstdout: %s\nstderr: %s", r->status, r->out, r->err);
    free(r);
    /* The source goes away: the figures go stale, with the error. */
    sandbox_stop(&a);
    int stale = 0;
    for (int64_t end = util_mono_ms() + 5000; util_mono_ms() < end && !stale;) {
        seq = repl_monitor_wait(m, seq, 500);
        repl_monitor_state(m, st);
        repl_view_build(st, util_mono_ms(), &v);
        stale = v.status == RATE_STALE && v.source_error[0];
    }
    assert_true(stale);
    assert_false(v.caught_up);
    int64_t t0 = util_mono_ms();
    repl_monitor_stop(m);
    assert_true(util_mono_ms() - t0 < 4000);
    free(st);
    conn_close(ca);
    conn_close(cb);
    sandbox_stop(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cutover_keeps_every_acknowledged_write),
        cmocka_unit_test(test_target_refusing_replicaof_fails_in_preflight),
        cmocka_unit_test(test_replicate_refuses_before_changing_anything),
        cmocka_unit_test(test_monitor_reports_sync_and_equal_offsets),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
