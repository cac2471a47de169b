/* The engine through its control API, as the console and the runbook
 * runner drive it: pause really stops the flow, workers can be added and
 * removed live, the rate limit can change live, and a stopped copy resumes
 * from its checkpoint without losing a key or reporting its own keys as
 * conflicts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "testutil.h"
#include "util.h"

static Sandbox src, dst;

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    Conn *a = tu_connect(&src, 0);
    for (int db = 0; db < 2; db++) {
        tu_ok(a, "SELECT %d", db);
        for (int i = 0; i < 30000; i++) conn_append(a, "SET e%d:%d value-%d PX %d", db, i, i, 3600000 + i);
        for (int i = 0; i < 30000; i++) {
            redisReply *r;
            assert_int_equal(conn_get_reply(a, &r), 0);
            freeReplyObject(r);
        }
    }
    conn_close(a);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    return 0;
}

static int flush_target(void **state) {
    (void)state;
    Conn *b = tu_connect(&dst, -1);
    tu_ok(b, "FLUSHALL");
    conn_close(b);
    return 0;
}

static void options(CopyOptions *o) {
    char uri[128], err[FERRY_ERR_LEN];
    copy_options_init(o);
    sandbox_uri(&src, -1, uri, sizeof(uri));
    assert_int_equal(uri_parse(uri, &o->source.uri, err, sizeof(err)), 0);
    sandbox_uri(&dst, -1, uri, sizeof(uri));
    assert_int_equal(uri_parse(uri, &o->target.uri, err, sizeof(err)), 0);
    o->batch = 100;
}

static Engine *start(CopyOptions *o) {
    char err[FERRY_ERR_LEN];
    Engine *e = engine_create(o, err, sizeof(err));
    if (!e) fail_msg("engine_create: %s", err);
    if (engine_start(e, err, sizeof(err)) != 0) fail_msg("engine_start: %s", err);
    return e;
}

static uint64_t done_now(Engine *e, EngineSnapshot *s) {
    engine_snapshot(e, s);
    return s->stats.done;
}

/* Waits (deadline 20 s) until pred holds for the snapshot. */
static void wait_for(Engine *e, EngineSnapshot *s, int (*pred)(const EngineSnapshot *), const char *what) {
    int64_t end = util_mono_ms() + 20000;
    for (;;) {
        engine_snapshot(e, s);
        if (pred(s)) return;
        if (util_mono_ms() > end) fail_msg("timed out waiting for %s", what);
        util_sleep_ms(20);
    }
}

static int some_done(const EngineSnapshot *s) { return s->stats.done > 2000; }
static int all_paused(const EngineSnapshot *s) {
    if (s->state != ENGINE_PAUSED) return 0;
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].state != WORKER_PAUSED) return 0;
    return 1;
}
static int six_workers(const EngineSnapshot *s) { return s->nworkers == 6; }
static int two_workers(const EngineSnapshot *s) { return s->nworkers == 2; }

static void test_pause_workers_rate(void **state) {
    (void)state;
    CopyOptions o;
    options(&o);
    o.rate = 4000;
    o.workers = 3;
    Engine *e = start(&o);
    EngineSnapshot *s = malloc(sizeof(*s));
    wait_for(e, s, some_done, "first keys");

    engine_pause(e);
    wait_for(e, s, all_paused, "every worker paused");
    uint64_t at_pause = done_now(e, s);
    util_sleep_ms(600);
    assert_int_equal(done_now(e, s), at_pause); /* nothing moves while paused */
    engine_resume(e);

    engine_set_workers(e, 6);
    wait_for(e, s, six_workers, "six workers");
    engine_set_workers(e, 2);
    wait_for(e, s, two_workers, "two workers");

    engine_set_rate(e, 0); /* off: finish quickly */
    assert_int_equal(engine_wait(e, 60000), 1);
    engine_snapshot(e, s);
    assert_int_equal(s->state, ENGINE_DONE);
    assert_int_equal(s->stats.copied, 60000);
    int saw_pause = 0, saw_workers = 0;
    for (int i = 0; i < s->nlog; i++) {
        if (s->log[i].level == EV_OPERATOR && strstr(s->log[i].text, "paused")) saw_pause = 1;
        if (s->log[i].level == EV_OPERATOR && strstr(s->log[i].text, "workers 6 → 2")) saw_workers = 1;
    }
    assert_true(saw_pause && saw_workers);
    engine_free(e);
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_assert_same_keyspace(a, 0, b, 0);
    tu_assert_same_keyspace(a, 1, b, 1);
    conn_close(a);
    conn_close(b);
    free(s);
    copy_options_free(&o);
}

typedef struct Saved {
    pthread_mutex_t lock;
    CopyCheckpoint last;
    int n;
} Saved;

static void on_ckpt(void *ud, const CopyCheckpoint *cp) {
    Saved *sv = ud;
    pthread_mutex_lock(&sv->lock);
    /* Checkpoints only move forward. */
    if (sv->n)
        assert_true(cp->db_index > sv->last.db_index ||
                    (cp->db_index == sv->last.db_index && (cp->cursor == sv->last.cursor ||
                     scan_cursor_progress(cp->cursor) >= scan_cursor_progress(sv->last.cursor))));
    sv->last = *cp;
    sv->n++;
    pthread_mutex_unlock(&sv->lock);
}

static int past_first_db(const EngineSnapshot *s) { return s->stats.done > 40000; }

static void test_stop_and_resume_from_checkpoint(void **state) {
    (void)state;
    Saved sv = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
    CopyOptions o;
    options(&o);
    o.rate = 20000;
    o.on_conflict = CONFLICT_FAIL;
    o.on_conflict_explicit = 1;
    o.on_checkpoint = on_ckpt;
    o.checkpoint_ud = &sv;
    Engine *e = start(&o);
    EngineSnapshot *s = malloc(sizeof(*s));
    wait_for(e, s, past_first_db, "the copy into the second db");
    engine_request_stop(e);
    assert_int_equal(engine_wait(e, 20000), 1);
    engine_snapshot(e, s);
    assert_int_equal(s->state, ENGINE_STOPPED);
    engine_free(e);
    assert_true(sv.n > 0);
    assert_int_equal(sv.last.db_index, 1); /* db 0 finished, db 1 under way */
    assert_true(sv.last.copied <= s->stats.copied);

    Conn *b = tu_connect(&dst, 1);
    long long before = tu_int(b, "DBSIZE");
    assert_true(before > 0 && before < 30000);

    CopyOptions r;
    options(&r);
    CopyCheckpoint from = sv.last;
    r.resume_from = &from;
    r.on_conflict = CONFLICT_FAIL;
    e = start(&r);
    assert_int_equal(engine_wait(e, 60000), 1);
    engine_snapshot(e, s);
    assert_int_equal(s->state, ENGINE_DONE);
    assert_int_equal(s->stats.failed, 0);  /* our own keys are not conflicts */
    assert_int_equal(s->stats.skipped, 0);
    assert_true(s->stats.copied + s->stats.identical <= 30000); /* db 0 was not walked again */
    engine_free(e);
    Conn *a = tu_connect(&src, 0), *b0 = tu_connect(&dst, 0);
    tu_assert_same_keyspace(a, 0, b0, 0);
    tu_assert_same_keyspace(a, 1, b0, 1);
    conn_close(a);
    conn_close(b0);
    conn_close(b);
    free(s);
    copy_options_free(&o);
    copy_options_free(&r);
}

static void test_resume_rejects_foreign_checkpoint(void **state) {
    (void)state;
    CopyOptions o;
    options(&o);
    CopyCheckpoint bad = {.db_index = 0, .src_db = 7, .dst_db = 7, .cursor = 123};
    o.resume_from = &bad;
    char err[FERRY_ERR_LEN];
    Engine *e = engine_create(&o, err, sizeof(err));
    assert_null(e);
    assert_non_null(strstr(err, "does not belong"));
    copy_options_free(&o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pause_workers_rate, flush_target),
        cmocka_unit_test_setup(test_stop_and_resume_from_checkpoint, flush_target),
        cmocka_unit_test_setup(test_resume_rejects_foreign_checkpoint, flush_target),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
