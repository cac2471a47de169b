/* The tail and drain actions against real servers, with live producers and
 * consumers on the source.
 *
 * Tail: producers keep XADDing and consumers keep XREADGROUP / XACK /
 * XCLAIM-ing on the source during the copy (the ferry binary) and the tail
 * (the action, driven through a fake host); a group and a stream appear
 * after the copy. After a simulated cutover (producers and consumers stop,
 * the tail sees the source stay quiet and ends), every entry is on the
 * target with the same ID, and every group's pending list (id, consumer,
 * delivery count), last-delivered-id, entries-read, lag and consumers are
 * the source's.
 *
 * Drain: a group with pending entries nobody acknowledges → the grace
 * window ends with the exact leftover list (figures, log, report file); a
 * group whose consumer acknowledges everything → the drain ends early. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "runbook.h"
#include "tail.h"
#include "testutil.h"
#include "util.h"

static Sandbox src, dst;
static char src_uri[128], dst_uri[128];
static char dir[256];

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    sandbox_uri(&dst, -1, dst_uri, sizeof(dst_uri));
    snprintf(dir, sizeof(dir), "/tmp/ferry-test-tail-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    tu_rm_tree(dir);
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

/* ---- a fake action host ---------------------------------------------------- */

typedef struct FakeHost {
    pthread_mutex_t lock;
    atomic_int stop;
    char log[65536];
    size_t loglen;
    char names[64][48];
    long long values[64];
    int nfig;
    atomic_int awaited; /* the action asked for the operator's word */
    atomic_int end;     /* the operator's word: 1 = now */
} FakeHost;

/* Set before step_start: the fake host has an operator who can end a step. */
static int fake_operator;

static int fh_await_end(void *ud, const char *prompt, char *err, size_t errlen) {
    (void)prompt;
    (void)err;
    (void)errlen;
    atomic_store(&((FakeHost *)ud)->awaited, 1);
    return 0;
}

static int fh_end_requested(void *ud) { return atomic_load(&((FakeHost *)ud)->end); }

static int fh_stopping(void *ud) { return atomic_load(&((FakeHost *)ud)->stop); }

static void fh_log(void *ud, EventLevel level, const char *text) {
    (void)level;
    FakeHost *h = ud;
    pthread_mutex_lock(&h->lock);
    h->loglen += (size_t)snprintf(h->log + h->loglen, sizeof(h->log) - h->loglen, "%s\n", text);
    if (h->loglen >= sizeof(h->log)) h->loglen = sizeof(h->log) - 1;
    pthread_mutex_unlock(&h->lock);
}

static void fh_figure(void *ud, const char *name, long long value) {
    FakeHost *h = ud;
    pthread_mutex_lock(&h->lock);
    int i;
    for (i = 0; i < h->nfig; i++)
        if (!strcmp(h->names[i], name)) break;
    if (i == h->nfig && h->nfig < 64) util_strlcpy(h->names[h->nfig++], name, sizeof(h->names[0]));
    if (i < 64) h->values[i] = value;
    pthread_mutex_unlock(&h->lock);
}

static long long fh_value(FakeHost *h, const char *name) {
    for (int i = 0; i < h->nfig; i++)
        if (!strcmp(h->names[i], name)) return h->values[i];
    fail_msg("no figure %s", name);
    return -1;
}

/* One step of a runbook, run by its action in a thread. */
typedef struct StepRun {
    Runbook *rb;
    CopyOptions copy;
    FakeHost host;
    ActionCtx ctx;
    pthread_t th;
    atomic_int done;
    int rc;
    char err[FERRY_ERR_LEN];
    int64_t ms;
} StepRun;

static void *step_thread(void *arg) {
    StepRun *s = arg;
    int64_t t0 = util_mono_ms();
    s->rc = s->ctx.step->action->run(&s->ctx, s->err, sizeof(s->err));
    s->ms = util_mono_ms() - t0;
    atomic_store(&s->done, 1);
    return NULL;
}

/* step_text: the "[step …]" section; the servers are added here. */
static void step_start(StepRun *s, const char *step_text) {
    char text[2048], err[FERRY_ERR_LEN];
    snprintf(text, sizeof(text), "title = test\nsource = %s\ntarget = %s\n%s", src_uri, dst_uri, step_text);
    memset(s, 0, sizeof(*s));
    if (!(s->rb = runbook_parse(text, strlen(text), "test", err, sizeof(err)))) fail_msg("%s", err);
    copy_options_init(&s->copy);
    if (run_settings_to_copy(&s->rb->settings, &s->copy, err, sizeof(err)) != 0) fail_msg("%s", err);
    pthread_mutex_init(&s->host.lock, NULL);
    s->ctx.rb = s->rb;
    s->ctx.step = &s->rb->steps[0];
    s->ctx.copy = &s->copy;
    s->ctx.host.ud = &s->host;
    s->ctx.host.stopping = fh_stopping;
    s->ctx.host.log = fh_log;
    s->ctx.host.figure = fh_figure;
    if (fake_operator) {
        s->ctx.host.await_end = fh_await_end;
        s->ctx.host.end_requested = fh_end_requested;
    }
    assert_int_equal(pthread_create(&s->th, NULL, step_thread, s), 0);
}

/* Waits for the step to end (up to timeout_ms, then stops it and fails). */
static void step_join(StepRun *s, int timeout_ms) {
    int64_t end = util_mono_ms() + timeout_ms;
    while (!atomic_load(&s->done) && util_mono_ms() < end) util_sleep_ms(20);
    int late = !atomic_load(&s->done);
    atomic_store(&s->host.stop, 1);
    pthread_join(s->th, NULL);
    if (late) fail_msg("the step did not end within %d ms; log:\n%s", timeout_ms, s->host.log);
}

static void step_free(StepRun *s) {
    copy_options_free(&s->copy);
    runbook_free(s->rb);
    pthread_mutex_destroy(&s->host.lock);
}

/* ---- live producers and consumers ------------------------------------------ */

#define NSTREAMS 3

typedef struct Live {
    atomic_int stop;
    atomic_long added, acked, claimed;
    pthread_t th[3];
} Live;

static Conn *live_connect(void) {
    ConnConfig cfg;
    char err[FERRY_ERR_LEN];
    conn_config_init(&cfg, "test");
    if (uri_parse(src_uri, &cfg.uri, err, sizeof(err)) != 0) return NULL;
    cfg.uri.db = 0;
    return conn_open(&cfg, err, sizeof(err));
}

static void *producer(void *arg) {
    Live *l = arg;
    Conn *c = live_connect();
    if (!c) return NULL;
    for (int i = 0; !atomic_load(&l->stop); i++) {
        char key[16];
        snprintf(key, sizeof(key), "ev:%d", i % NSTREAMS);
        redisReply *r = conn_command(c, "XADD %s * n %d payload p-%d", key, i, i);
        if (r && r->type == REDIS_REPLY_STRING) atomic_fetch_add(&l->added, 1);
        if (r) freeReplyObject(r);
        usleep(1500);
    }
    conn_close(c);
    return NULL;
}

/* Group g1: consumers c1 and c2 read 4 at a time and acknowledge every other
 * entry; now and then c2 claims one of c1's (delivery count + 1). Group g2:
 * one consumer reads and acknowledges everything. */
static void *consumer(void *arg) {
    Live *l = arg;
    Conn *c = live_connect();
    if (!c) return NULL;
    for (int i = 0; !atomic_load(&l->stop); i++) {
        char key[16];
        snprintf(key, sizeof(key), "ev:%d", i % NSTREAMS);
        const char *cons = (i / NSTREAMS) % 2 ? "c2" : "c1";
        redisReply *r = conn_command(c, "XREADGROUP GROUP g1 %s COUNT 4 STREAMS %s >", cons, key);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            const redisReply *ents = r->element[0]->element[1];
            for (size_t k = 0; k < ents->elements; k += 2) {
                redisReply *a = conn_command(c, "XACK %s g1 %s", key, ents->element[k]->element[0]->str);
                if (a) freeReplyObject(a);
                atomic_fetch_add(&l->acked, 1);
            }
        }
        if (r) freeReplyObject(r);
        if (i % 7 == 0) {
            redisReply *p = conn_command(c, "XPENDING %s g1 - + 1 c1", key);
            if (p && p->type == REDIS_REPLY_ARRAY && p->elements == 1) {
                redisReply *x = conn_command(c, "XCLAIM %s g1 c2 0 %s", key, p->element[0]->element[0]->str);
                if (x) freeReplyObject(x);
                atomic_fetch_add(&l->claimed, 1);
            }
            if (p) freeReplyObject(p);
        }
        r = conn_command(c, "XREADGROUP GROUP g2 solo COUNT 10 STREAMS %s >", key);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            const redisReply *ents = r->element[0]->element[1];
            for (size_t k = 0; k < ents->elements; k++) {
                redisReply *a = conn_command(c, "XACK %s g2 %s", key, ents->element[k]->element[0]->str);
                if (a) freeReplyObject(a);
            }
        }
        if (r) freeReplyObject(r);
        usleep(2000);
    }
    conn_close(c);
    return NULL;
}

static void live_start(Live *l) {
    memset(l, 0, sizeof(*l));
    assert_int_equal(pthread_create(&l->th[0], NULL, producer, l), 0);
    assert_int_equal(pthread_create(&l->th[1], NULL, consumer, l), 0);
    assert_int_equal(pthread_create(&l->th[2], NULL, producer, l), 0);
}

static void live_stop(Live *l) {
    atomic_store(&l->stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(l->th[i], NULL);
}

/* ---- comparison ------------------------------------------------------------ */

static const redisReply *field(const redisReply *m, const char *name) {
    for (size_t i = 0; m && m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements; i += 2)
        if (m->element[i]->type == REDIS_REPLY_STRING && !strcmp(m->element[i]->str, name)) return m->element[i + 1];
    return NULL;
}

static void same_field(const redisReply *x, const redisReply *y, const char *name, const char *where) {
    const redisReply *a = field(x, name), *b = field(y, name);
    if (!a || !b || !tu_reply_equal(a, b))
        fail_msg("%s: %s differs (source %s, target %s)", where, name, a && a->str ? a->str : "?", b && b->str ? b->str : "?");
}

/* One stream, equal on both sides as the tail promises. Returns its pending count. */
static long long assert_same_stream(Conn *a, Conn *b, const char *key) {
    redisReply *x = tu_cmd(a, "XRANGE %s - +", key), *y = tu_cmd(b, "XRANGE %s - +", key);
    if (!tu_reply_equal(x, y)) fail_msg("%s: entries differ (%zu on the source, %zu on the target)", key, x->elements, y->elements);
    freeReplyObject(x);
    freeReplyObject(y);
    x = tu_cmd(a, "XINFO STREAM %s", key);
    y = tu_cmd(b, "XINFO STREAM %s", key);
    same_field(x, y, "length", key);
    same_field(x, y, "last-generated-id", key);
    same_field(x, y, "entries-added", key);
    freeReplyObject(x);
    freeReplyObject(y);
    x = tu_cmd(a, "XINFO GROUPS %s", key);
    y = tu_cmd(b, "XINFO GROUPS %s", key);
    if (!tu_reply_equal(x, y)) fail_msg("%s: XINFO GROUPS differ (%zu vs %zu groups)", key, x->elements, y->elements);
    long long pending = 0;
    for (size_t g = 0; g < x->elements; g++) {
        const char *name = field(x->element[g], "name")->str;
        char where[128];
        snprintf(where, sizeof(where), "%s group %s", key, name);
        redisReply *p = tu_cmd(a, "XPENDING %s %s - + 1000000", key, name);
        redisReply *q = tu_cmd(b, "XPENDING %s %s - + 1000000", key, name);
        if (p->elements != q->elements) fail_msg("%s: %zu pending on the source, %zu on the target", where, p->elements, q->elements);
        for (size_t i = 0; i < p->elements; i++) {
            const redisReply *e = p->element[i], *f = q->element[i];
            if (strcmp(e->element[0]->str, f->element[0]->str) || strcmp(e->element[1]->str, f->element[1]->str) ||
                e->element[3]->integer != f->element[3]->integer)
                fail_msg("%s: pending entry %zu is %s/%s/%lld on the source, %s/%s/%lld on the target", where, i,
                         e->element[0]->str, e->element[1]->str, e->element[3]->integer, f->element[0]->str,
                         f->element[1]->str, f->element[3]->integer);
        }
        pending += (long long)p->elements;
        freeReplyObject(p);
        freeReplyObject(q);
        p = tu_cmd(a, "XINFO CONSUMERS %s %s", key, name);
        q = tu_cmd(b, "XINFO CONSUMERS %s %s", key, name);
        if (p->elements != q->elements) fail_msg("%s: %zu consumers vs %zu", where, p->elements, q->elements);
        for (size_t i = 0; i < p->elements; i++) {
            same_field(p->element[i], q->element[i], "name", where);
            same_field(p->element[i], q->element[i], "pending", where);
        }
        freeReplyObject(p);
        freeReplyObject(q);
    }
    freeReplyObject(x);
    freeReplyObject(y);
    return pending;
}

/* ---- tail -------------------------------------------------------------------- */

static void test_tail_live_until_cutover(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int s = 0; s < NSTREAMS; s++) {
        for (int i = 0; i < 40; i++) tu_ok(a, "XADD ev:%d * n seed-%d", s, i);
        tu_ok(a, "XGROUP CREATE ev:%d g1 0", s);
        tu_ok(a, "XGROUP CREATE ev:%d g2 0", s);
        tu_ok(a, "XREADGROUP GROUP g1 c1 COUNT 10 STREAMS ev:%d >", s);
    }
    tu_ok(a, "SET not-a-stream 1");
    Live live;
    live_start(&live);
    util_sleep_ms(300);

    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", NULL});
    if (r.status != 0) fail_msg("copy: exit %d\n%s", r.status, r.err);

    StepRun tail;
    step_start(&tail, "[step tail]\naction = tail\nquiet = 1500ms\ninterval = 1s\nrediscover = 500ms\nbatch = 7\n");
    util_sleep_ms(1500);
    /* After the copy: a new group, a new stream with a group, a consumer gone. */
    tu_ok(a, "XGROUP CREATE ev:0 g3 $");
    tu_ok(a, "XADD ev:new 5-1 a 1");
    tu_ok(a, "XADD ev:new 5-2 a 2");
    tu_ok(a, "XGROUP CREATE ev:new late 0 ENTRIESREAD 0");
    tu_ok(a, "XREADGROUP GROUP late x COUNT 1 STREAMS ev:new >");
    util_sleep_ms(1500);
    assert_false(atomic_load(&tail.done)); /* producers still running: the tail goes on */
    tu_ok(a, "XREADGROUP GROUP g3 c9 COUNT 3 STREAMS ev:0 >");
    util_sleep_ms(500);

    live_stop(&live); /* cutover: producers and consumers stop on the source */
    int64_t stopped = util_mono_ms();
    step_join(&tail, 20000);
    if (tail.rc != 0) fail_msg("tail failed: %s\nlog:\n%s", tail.err, tail.host.log);
    /* It ended once the source stayed quiet for 1.5 s, not long after. */
    assert_true(util_mono_ms() - stopped < 8000);
    assert_true(live.added > 100 && live.acked > 20 && live.claimed > 0);
    assert_true(fh_value(&tail.host, "entries_tailed") > 0);
    assert_int_equal(fh_value(&tail.host, "lag_entries"), 0);
    assert_int_equal(fh_value(&tail.host, "streams"), NSTREAMS + 1);
    assert_true(tu_contains(tail.host.log, "lag "));
    assert_true(tu_contains(tail.host.log, "ev:new"));

    long long pending = 0;
    const char *keys[] = {"ev:0", "ev:1", "ev:2", "ev:new"};
    for (int k = 0; k < 4; k++) pending += assert_same_stream(a, b, keys[k]);
    assert_true(pending > 10);
    step_free(&tail);
    conn_close(a);
    conn_close(b);
}

/* The module alone: a group delivered past the copied entries waits for them. */
static void test_tail_round_in_sync(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_ok(a, "XADD s 1-1 f v");
    tu_ok(b, "XADD s 1-1 f v");
    tu_ok(a, "XGROUP CREATE s g $");
    for (int i = 2; i < 30; i++) tu_ok(a, "XADD s %d-1 f v", i);
    tu_ok(a, "XREADGROUP GROUP g c COUNT 25 STREAMS s >");
    tu_ok(a, "XACK s g 3-1 4-1");
    TailOptions o;
    tail_options_init(&o);
    o.batch = 4;
    Tail *t = tail_new(a, b, &o);
    char err[FERRY_ERR_LEN];
    assert_int_equal(tail_discover(t, 0, 0, NULL, err, sizeof(err)), 1);
    long n = tail_round(t, err, sizeof(err));
    assert_true(n > 0);
    while ((n = tail_round(t, err, sizeof(err))) > 0) {
    }
    assert_int_equal(n, 0);
    TailStreamView v;
    tail_view(t, 0, &v);
    assert_int_equal(v.lag_entries, 0);
    assert_int_equal(v.tailed, 28);
    assert_true(v.in_sync);
    assert_int_equal(assert_same_stream(a, b, "s"), 23);
    tail_free(t);
    conn_close(a);
    conn_close(b);
}

/* Entries deleted on the source before the tail reached them: the target
 * takes the source's last-generated-id, entries-added and max-deleted id
 * (XSETID), and pending entries without an entry are counted, not retried
 * forever (the tail still goes quiet). */
static void test_tail_deleted_on_source(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 1; i <= 10; i++) tu_ok(a, "XADD s %d-1 f v", i);
    for (int i = 1; i <= 3; i++) tu_ok(b, "XADD s %d-1 f v", i); /* what the copy took */
    tu_ok(a, "XGROUP CREATE s g 0");
    tu_ok(a, "XREADGROUP GROUP g c COUNT 10 STREAMS s >");
    tu_ok(a, "XDEL s 9-1 10-1");
    TailOptions o;
    tail_options_init(&o);
    o.batch = 2;
    Tail *t = tail_new(a, b, &o);
    char err[FERRY_ERR_LEN];
    assert_int_equal(tail_discover(t, 0, 0, NULL, err, sizeof(err)), 1);
    long n;
    int rounds = 0;
    while ((n = tail_round(t, err, sizeof(err))) > 0 && rounds < 10) rounds++;
    if (n < 0) fail_msg("%s", err);
    assert_int_equal(n, 0);
    TailStreamView v;
    tail_view(t, 0, &v);
    assert_int_equal(v.lost_pending, 2);
    assert_int_equal(v.lag_entries, 0);
    redisReply *x = tu_cmd(a, "XINFO STREAM s"), *y = tu_cmd(b, "XINFO STREAM s");
    same_field(x, y, "last-generated-id", "s");
    same_field(x, y, "entries-added", "s");
    same_field(x, y, "max-deleted-entry-id", "s");
    same_field(x, y, "length", "s");
    freeReplyObject(x);
    freeReplyObject(y);
    assert_int_equal(tu_int(b, "XLEN s"), 8);
    redisReply *p = tu_cmd(b, "XPENDING s g - + 100");
    assert_int_equal(p->elements, 8);
    freeReplyObject(p);
    tail_free(t);
    conn_close(a);
    conn_close(b);
}

/* Calls of the stream-reading commands on a server (INFO commandstats). */
static long long stream_reads(Conn *c) {
    redisReply *r = tu_cmd(c, "INFO commandstats");
    long long n = 0;
    const char *names[] = {"cmdstat_xinfo|stream:", "cmdstat_xinfo|groups:", "cmdstat_xinfo|consumers:",
                           "cmdstat_xrange:", "cmdstat_xpending:", "cmdstat_scan:"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *p = strstr(r->str, names[i]);
        if (p) n += strtoll(p + strlen(names[i]) + strlen("calls="), NULL, 10);
    }
    freeReplyObject(r);
    return n;
}

/* The source budget holds: 40 streams with a group each, 50 commands/s. */
static void test_tail_budget(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 0; i < 40; i++) {
        tu_ok(a, "XADD b:%d 1-1 f v", i);
        tu_ok(a, "XGROUP CREATE b:%d g 0", i);
    }
    TailOptions o;
    tail_options_init(&o);
    o.budget = 50;
    Tail *t = tail_new(a, b, &o);
    char err[FERRY_ERR_LEN];
    long long before = stream_reads(a);
    int64_t t0 = util_mono_ms();
    assert_int_equal(tail_discover(t, 0, 0, NULL, err, sizeof(err)), 40);
    while (util_mono_ms() - t0 < 2500)
        if (tail_round(t, err, sizeof(err)) < 0) fail_msg("%s", err);
    double secs = (double)(util_mono_ms() - t0) / 1000.0;
    long long sent = stream_reads(a) - before;
    assert_int_equal(sent, (long long)tail_src_commands(t));
    /* One budget window may start full at each second's edge. */
    if ((double)sent > 50.0 * (secs + 1.0)) fail_msg("%lld source commands in %.1f s with a budget of 50/s", sent, secs);
    assert_true(sent >= 50); /* it did work */
    tail_free(t);
    conn_close(a);
    conn_close(b);
}

/* ---- drain ------------------------------------------------------------------- */

static void test_drain_grace_leftovers(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0);
    for (int i = 1; i <= 10; i++) {
        tu_ok(a, "XADD orders %d-0 n %d", i, i);
        tu_ok(a, "XADD audit %d-0 n %d", i, i);
    }
    tu_ok(a, "XGROUP CREATE orders stuck 0");
    tu_ok(a, "XREADGROUP GROUP stuck w1 COUNT 10 STREAMS orders >");
    tu_ok(a, "XACK orders stuck 1-0 2-0 3-0 5-0 6-0 8-0 9-0"); /* 4, 7, 10 stay pending */
    tu_ok(a, "XGROUP CREATE audit done 0");
    tu_ok(a, "XREADGROUP GROUP done w COUNT 10 STREAMS audit >");
    tu_ok(a, "XACK audit done 1-0 2-0 3-0 4-0 5-0 6-0 7-0 8-0 9-0 10-0");
    tu_ok(a, "XGROUP CREATE audit behind 8-0 ENTRIESREAD 8"); /* 2 undelivered: lag 2 */
    char report[512], text[1024];
    snprintf(report, sizeof(report), "%s/leftovers.txt", dir);
    snprintf(text, sizeof(text), "[step drain]\naction = drain\ngrace = 2500ms\ninterval = 1s\nreport = %s\n", report);
    StepRun d;
    step_start(&d, text);
    step_join(&d, 15000);
    if (d.rc != 0) fail_msg("drain failed: %s", d.err);
    assert_true(d.ms >= 2500 && d.ms < 6000);
    assert_int_equal(fh_value(&d.host, "drained"), 0);
    assert_int_equal(fh_value(&d.host, "groups_left"), 2);
    assert_int_equal(fh_value(&d.host, "pending_left"), 3);
    assert_int_equal(fh_value(&d.host, "lag_left"), 2);
    assert_true(tu_contains(d.host.log, "left: db0 orders group stuck: 3 pending, oldest 4-0, lag 0"));
    assert_true(tu_contains(d.host.log, "left: db0 audit group behind: 0 pending, oldest -, lag 2"));
    assert_true(tu_contains(d.host.log, " left: 3 pending and 2 undelivered in 2 group(s)")); /* countdown */
    FILE *f = fopen(report, "r");
    assert_non_null(f);
    char body[4096];
    size_t n = fread(body, 1, sizeof(body) - 1, f);
    body[n] = '\0';
    fclose(f);
    /* Exactly these two lines besides the comments (order: SCAN's). */
    int lines = 0;
    for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        lines++;
        if (strcmp(line, "db0:orders\tstuck\t3\t4-0\t0") && strcmp(line, "db0:audit\tbehind\t0\t-\t2"))
            fail_msg("unexpected leftover line: %s", line);
    }
    assert_int_equal(lines, 2);
    step_free(&d);
    conn_close(a);
}

static void *acker(void *arg) {
    (void)arg;
    util_sleep_ms(1200);
    Conn *c = live_connect();
    if (!c) return NULL;
    redisReply *r = conn_command(c, "XACK jobs workers 1-0 2-0 3-0 4-0 5-0");
    if (r) freeReplyObject(r);
    conn_close(c);
    return NULL;
}

static void test_drain_finishes_early(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0);
    for (int i = 1; i <= 5; i++) tu_ok(a, "XADD jobs %d-0 n %d", i, i);
    tu_ok(a, "XGROUP CREATE jobs workers 0");
    tu_ok(a, "XREADGROUP GROUP workers w1 COUNT 10 STREAMS jobs >");
    tu_ok(a, "XADD other 1-0 n 1");
    tu_ok(a, "XGROUP CREATE other ignored 0"); /* lag 1, but not selected */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, acker, NULL), 0);
    StepRun d;
    step_start(&d, "[step drain]\naction = drain\ngrace = 30s\ngroup = work*\ninterval = 1s\n");
    step_join(&d, 15000);
    pthread_join(th, NULL);
    if (d.rc != 0) fail_msg("drain failed: %s", d.err);
    assert_true(d.ms >= 1000 && d.ms < 5000);
    assert_int_equal(fh_value(&d.host, "drained"), 1);
    assert_int_equal(fh_value(&d.host, "groups_left"), 0);
    assert_true(tu_contains(d.host.log, "drained in"));
    step_free(&d);
    conn_close(a);
}

/* until = confirm (the default): a quiet source does not end the tail; the
 * operator's word does, after one last catch-up. */
static void test_tail_ends_on_operator_confirm(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 1; i <= 5; i++) tu_ok(a, "XADD op:ev %d-0 n %d", i, i);
    fake_operator = 1;
    StepRun tail;
    step_start(&tail, "[step tail]\naction = tail\nquiet = 300ms\nrediscover = 200ms\n");
    fake_operator = 0;
    int64_t end = util_mono_ms() + 10000;
    while (!atomic_load(&tail.host.awaited) && util_mono_ms() < end) util_sleep_ms(20);
    assert_true(atomic_load(&tail.host.awaited));
    util_sleep_ms(1500); /* five times `quiet` with nothing new: still running */
    assert_false(atomic_load(&tail.done));
    for (int i = 6; i <= 9; i++) tu_ok(a, "XADD op:ev %d-0 n %d", i, i);
    atomic_store(&tail.host.end, 1);
    step_join(&tail, 10000);
    if (tail.rc != 0) fail_msg("tail failed: %s\nlog:\n%s", tail.err, tail.host.log);
    assert_true(tu_contains(tail.host.log, "cutover confirmed"));
    redisReply *x = tu_cmd(a, "XRANGE op:ev - +"), *y = tu_cmd(b, "XRANGE op:ev - +");
    assert_int_equal(x->elements, 9);
    assert_true(tu_reply_equal(x, y));
    freeReplyObject(x);
    freeReplyObject(y);
    step_free(&tail);
    conn_close(a);
    conn_close(b);
}

/* Headless, a tail that ends on the operator's word needs that word in
 * advance: without --confirm tail the step fails at once and says how;
 * with it, the tail ends once the source is quiet. */
static void test_headless_tail_needs_confirm(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    for (int i = 1; i <= 20; i++) tu_ok(a, "XADD hl:ev %d-0 n %d", i, i);
    char dir[] = "/tmp/ferry-tail-rb-XXXXXX", rb[600], journal[600];
    assert_non_null(mkdtemp(dir));
    snprintf(rb, sizeof(rb), "%s/rb", dir);
    FILE *f = fopen(rb, "w");
    assert_non_null(f);
    fputs("title = t\ntype = stream\n[step copy]\naction = copy\n[step tail]\naction = tail\nquiet = 500ms\n", f);
    fclose(f);
    snprintf(journal, sizeof(journal), "%s/j1.jsonl", dir);
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"run", rb, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--journal", journal, NULL});
    assert_int_equal(r.status, 1);
    if (!tu_contains(r.out, "--confirm tail") && !tu_contains(r.err, "--confirm tail"))
        fail_msg("no hint to name the tail with --confirm:\n%s\n%s", r.out, r.err);
    snprintf(journal, sizeof(journal), "%s/j2.jsonl", dir);
    tu_ok(b, "FLUSHALL");
    tu_ferry(&r, 60, NULL, (const char *[]){"run", rb, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--journal", journal, "--confirm", "tail", NULL});
    if (r.status != 0) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    redisReply *x = tu_cmd(a, "XRANGE hl:ev - +"), *y = tu_cmd(b, "XRANGE hl:ev - +");
    assert_true(tu_reply_equal(x, y));
    freeReplyObject(x);
    freeReplyObject(y);
    tu_rm_tree(dir);
    conn_close(a);
    conn_close(b);
}

static void test_checks(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    const char *bad[] = {
        "title = t\n[step t]\naction = tail\nuntil = forever\n",
        "title = t\n[step t]\naction = tail\nquiet = 10\n",
        "title = t\n[step t]\naction = tail\nbudget = -1\n",
        "title = t\n[step d]\naction = drain\ngrace = 10m\ntimeout = 5m\n",
        "title = t\n[step d]\naction = drain\ncolour = red\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        Runbook *rb = runbook_parse(bad[i], strlen(bad[i]), "t", err, sizeof(err));
        if (rb) fail_msg("accepted: %s", bad[i]);
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/runbooks/stream-move", FERRY_SOURCE_DIR);
    Runbook *rb = runbook_load(path, err, sizeof(err));
    if (!rb) fail_msg("%s", err);
    int t = runbook_step_index(rb, "tail"), d = runbook_step_index(rb, "drain");
    assert_true(t > 0 && d > t);
    assert_true(runbook_step_index(rb, "copy") < t);
    runbook_free(rb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks),
        cmocka_unit_test_setup(test_tail_round_in_sync, flush_both),
        cmocka_unit_test_setup(test_tail_deleted_on_source, flush_both),
        cmocka_unit_test_setup(test_tail_budget, flush_both),
        cmocka_unit_test_setup(test_tail_live_until_cutover, flush_both),
        cmocka_unit_test_setup(test_tail_ends_on_operator_confirm, flush_both),
        cmocka_unit_test_setup(test_headless_tail_needs_confirm, flush_both),
        cmocka_unit_test_setup(test_drain_grace_leftovers, flush_both),
        cmocka_unit_test_setup(test_drain_finishes_early, flush_both),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
