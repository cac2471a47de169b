/* Runbooks against real servers: runbooks/db-split headless end to end
 * (key by key equal, one journal record per step and gate); a run killed
 * with kill -9 in the middle of its copy and resumed from the journal
 * (every key there and equal, none reported as a conflict, the copy picks
 * up at its checkpoint); a `type` gate that never passes without its
 * phrase; skip and abort through the control API; a step timeout; a
 * pause-writes lifted when the run is aborted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "runbook.h"
#include "runner.h"
#include "testutil.h"
#include "util.h"

static Sandbox src, dst;
static char src_uri[128], dst_uri[128];
static char dir[256];
static char dbsplit[1024];

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    sandbox_uri(&dst, -1, dst_uri, sizeof(dst_uri));
    snprintf(dir, sizeof(dir), "/tmp/ferry-test-runbook-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(dbsplit, sizeof(dbsplit), "%s/runbooks/db-split", FERRY_SOURCE_DIR);
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

static void path_in(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) buf[0] = '\0';
    fclose(f);
    return buf;
}

/* Lines of the journal of a type (and, if step is not NULL, of that step). */
static int count_records(const char *journal, const char *type, const char *step) {
    char *text = read_file(journal);
    char t[64], s[96];
    snprintf(t, sizeof(t), "{\"type\":\"%s\",", type);
    snprintf(s, sizeof(s), "\"step\":\"%s\"", step ? step : "");
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, t, strlen(t)) && (!step || strstr(line, s))) n++;
    free(text);
    return n;
}

/* The last record of a type for a step, as text (static buffer). */
static const char *last_record(const char *journal, const char *type, const char *step) {
    static char out[16384];
    char *text = read_file(journal);
    char t[64], s[96];
    snprintf(t, sizeof(t), "{\"type\":\"%s\",", type);
    snprintf(s, sizeof(s), "\"step\":\"%s\"", step ? step : "");
    out[0] = '\0';
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, t, strlen(t)) && (!step || strstr(line, s))) util_strlcpy(out, line, sizeof(out));
    free(text);
    return out;
}

static long long figure(const char *record, const char *name) {
    char k[96];
    snprintf(k, sizeof(k), "\"%s\":", name);
    const char *p = strstr(record, k);
    if (!p) fail_msg("no figure %s in %s", name, record);
    return strtoll(p + strlen(k), NULL, 10);
}

static void fill(Conn *c, int db, const char *prefix, int n) {
    char sel[16];
    snprintf(sel, sizeof(sel), "%d", db);
    tu_ok(c, "SELECT %s", sel);
    for (int i = 0; i < n; i++) conn_append(c, "SET %s%d value-%d-%0100d", prefix, i, i, i);
    for (int i = 0; i < n; i++) {
        redisReply *r;
        assert_int_equal(conn_get_reply(c, &r), 0);
        if (r->type == REDIS_REPLY_ERROR) fail_msg("%s", r->str);
        freeReplyObject(r);
    }
}

static void test_db_split_end_to_end(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 1), *b = tu_connect(&dst, 0);
    long n = tu_fill_every_type(a, "app:");
    fill(a, 1, "plain:", 500);
    fill(a, 0, "other-app:", 50); /* db 0 of the source stays where it is */
    tu_ok(b, "SET leftover:from-rehearsal 1");
    char journal[512];
    path_in(journal, sizeof(journal), "split.jsonl");
    TuRun r;
    tu_ferry(&r, 60, (const char *[]){"USER=sre-alice", NULL},
             (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui", "--confirm-all",
                              "--confirm", "empty-target", "--journal", journal, NULL});
    if (r.status != 0) fail_msg("exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    assert_int_equal(tu_assert_same_keyspace(a, 1, b, 0), n + 500);
    assert_int_equal(tu_int(b, "EXISTS leftover:from-rehearsal"), 0);
    tu_ok(b, "SELECT 1");
    assert_int_equal(tu_int(b, "DBSIZE"), 0);
    assert_true(tu_contains(r.out, "[3/5] copy"));
    assert_true(tu_contains(r.out, "counts match"));
    assert_true(tu_contains(r.out, "run done") || tu_contains(r.out, " done\n"));

    /* The journal: one outcome per step, one record per passed gate. */
    static const char *const steps[] = {"preflight", "empty-target", "copy", "verify", "switch-app"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(count_records(journal, "step", steps[i]), 1);
        assert_int_equal(count_records(journal, "start", steps[i]), 1);
        assert_true(tu_contains(last_record(journal, "step", steps[i]), "\"outcome\":\"done\""));
    }
    assert_int_equal(count_records(journal, "step", NULL), 5);
    assert_int_equal(count_records(journal, "gate", NULL), 3);
    assert_int_equal(count_records(journal, "gate", "preflight"), 0); /* gate none */
    const char *g = last_record(journal, "gate", "empty-target");
    assert_true(tu_contains(g, "\"gate\":\"type\""));
    assert_true(tu_contains(g, "\"by\":\"sre-alice\""));
    assert_true(tu_contains(g, "\"via\":\"--confirm\""));
    char phrase[200];
    snprintf(phrase, sizeof(phrase), "\"phrase\":\"127.0.0.1:%d/0\"", dst.port);
    assert_true(tu_contains(g, phrase));
    assert_true(tu_contains(last_record(journal, "gate", "copy"), "\"via\":\"--confirm-all\""));
    assert_int_equal(count_records(journal, "run", NULL), 1);
    assert_true(tu_contains(last_record(journal, "end", NULL), "\"outcome\":\"done\""));
    const char *copy = last_record(journal, "step", "copy");
    assert_int_equal(figure(copy, "keys_copied"), n + 500);
    assert_int_equal(figure(copy, "keys_failed"), 0);
    assert_int_equal(figure(last_record(journal, "step", "empty-target"), "keys_deleted"), 1);
    JournalState js;
    char err[FERRY_ERR_LEN];
    assert_int_equal(journal_read(journal, &js, err, sizeof(err)), 0);
    assert_int_equal(js.resume_index, 5);
    assert_int_equal(js.torn, 0);
    /* Nothing left to resume: said so. */
    tu_ferry(&r, 30, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--resume", journal, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "nothing to resume"));
    /* An existing journal is never reused by a new run. */
    tu_ferry(&r, 30, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--journal", journal, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "exists already"));
    conn_close(a);
    conn_close(b);
}

static void test_type_gate_headless(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 1), *b = tu_connect(&dst, 0);
    fill(a, 1, "k:", 100);
    tu_ok(b, "SET precious 1");
    char journal[512];
    path_in(journal, sizeof(journal), "gate.jsonl");
    TuRun r;
    /* --confirm-all passes confirm gates, never a type gate. */
    tu_ferry(&r, 30, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--confirm-all", "--journal", journal, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "step empty-target needs its typed confirmation"));
    assert_true(tu_contains(r.err, "--confirm empty-target"));
    assert_int_equal(tu_int(b, "EXISTS precious"), 1); /* the flush never ran */
    assert_int_equal(count_records(journal, "start", "empty-target"), 0);
    assert_int_equal(count_records(journal, "gate", "empty-target"), 0);
    assert_true(tu_contains(last_record(journal, "end", NULL), "\"outcome\":\"blocked\""));
    /* A confirm gate without --confirm-all blocks as well, before anything runs. */
    char j2[512];
    path_in(j2, sizeof(j2), "gate2.jsonl");
    tu_ferry(&r, 30, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--confirm", "empty-target", "--journal", j2, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "step copy waits for a confirmation"));
    assert_int_equal(count_records(j2, "start", "copy"), 0);
    /* Naming it continues the blocked run where it stopped. */
    tu_ferry(&r, 30, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--confirm-all", "--confirm", "empty-target", "--resume", journal, NULL});
    if (r.status != 0) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_int_equal(tu_int(b, "EXISTS precious"), 0);
    tu_assert_same_keyspace(a, 1, b, 0);
    assert_int_equal(count_records(journal, "step", "preflight"), 1); /* not run twice */
    assert_int_equal(count_records(journal, "run", NULL), 2);
    /* --confirm of a step that does not exist is a mistake worth stopping for. */
    tu_ferry(&r, 30, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--confirm", "empty-targte", NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "has no step empty-targte"));
    conn_close(a);
    conn_close(b);
}

/* ------------------------------------------------------ library runner */

static Runbook *runbook_text(const char *text) {
    char err[FERRY_ERR_LEN];
    Runbook *rb = runbook_parse(text, strlen(text), "test-runbook", err, sizeof(err));
    if (!rb) fail_msg("%s", err);
    return rb;
}

static void copy_opts(CopyOptions *o, int sdb, int tdb) {
    char u[128], err[FERRY_ERR_LEN];
    copy_options_init(o);
    sandbox_uri(&src, sdb, u, sizeof(u));
    assert_int_equal(uri_parse(u, &o->source.uri, err, sizeof(err)), 0);
    sandbox_uri(&dst, tdb, u, sizeof(u));
    assert_int_equal(uri_parse(u, &o->target.uri, err, sizeof(err)), 0);
}

/* Waits until step idx is in state s (or the run ended). */
static void wait_step(Runner *r, RunnerSnapshot *s, int idx, StepState want) {
    int64_t end = util_mono_ms() + 20000;
    for (;;) {
        runner_snapshot(r, s);
        if (s->steps[idx].state == want) return;
        if (s->state == RUNNER_DONE || s->state == RUNNER_FAILED || s->state == RUNNER_ABORTED)
            fail_msg("the run ended (%s: %s) before step %d was %s", runner_state_name(s->state), s->reason, idx,
                     step_state_name(want));
        if (util_mono_ms() > end) fail_msg("step %d never became %s", idx, step_state_name(want));
        util_sleep_ms(20);
    }
}

static void test_gates_through_the_control_api(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    fill(a, 0, "k:", 50);
    tu_ok(b, "SET precious 1");
    Runbook *rb = runbook_text("title = gates\n"
                               "[step wipe]\naction = flush-target\ngate = type\n"
                               "[step copy]\naction = copy\ngate = confirm\n"
                               "[step later]\naction = manual\ninstruction = do the thing\n"
                               "[step never]\naction = wait\nduration = 1s\n");
    CopyOptions o;
    copy_opts(&o, 0, 0);
    char journal[512], err[FERRY_ERR_LEN], want[64];
    path_in(journal, sizeof(journal), "api.jsonl");
    RunnerOptions ro;
    memset(&ro, 0, sizeof(ro));
    ro.rb = rb;
    ro.copy = &o;
    ro.journal_path = journal;
    ro.user = "sre-bob";
    Runner *r = runner_create(&ro, err, sizeof(err));
    if (!r) fail_msg("%s", err);
    RunnerSnapshot *s = malloc(sizeof(*s));
    runner_snapshot(r, s);
    assert_int_equal(s->state, RUNNER_IDLE);
    assert_int_equal(s->nsteps, 4);
    assert_int_equal(s->steps[0].state, STEP_PENDING);
    assert_true(s->steps[0].destructive);
    assert_int_equal(s->steps[0].duration_ms, -1);
    assert_int_equal(runner_start(r, err, sizeof(err)), 0);

    wait_step(r, s, 0, STEP_WAITING);
    assert_int_equal(s->state, RUNNER_WAITING);
    assert_int_equal(s->current, 0);
    snprintf(want, sizeof(want), "127.0.0.1:%d/0", dst.port);
    assert_string_equal(s->steps[0].phrase, want);
    assert_true(tu_contains(s->prompt, want));
    assert_true(tu_contains(s->prompt, "deletes data"));
    /* Anything but the exact phrase is refused, and nothing runs. */
    assert_int_equal(runner_confirm(r, "wipe", NULL, err, sizeof(err)), -1);
    assert_int_equal(runner_confirm(r, "wipe", "", err, sizeof(err)), -1);
    assert_int_equal(runner_confirm(r, "wipe", "yes", err, sizeof(err)), -1);
    assert_true(tu_contains(err, want));
    char sloppy[80];
    snprintf(sloppy, sizeof(sloppy), "%s ", want);
    assert_int_equal(runner_confirm(r, "wipe", sloppy, err, sizeof(err)), -1);
    assert_int_equal(runner_confirm(r, "copy", NULL, err, sizeof(err)), -1); /* not its turn */
    assert_true(tu_contains(err, "pending"));
    util_sleep_ms(100);
    runner_snapshot(r, s);
    assert_int_equal(s->steps[0].state, STEP_WAITING);
    assert_int_equal(tu_int(b, "EXISTS precious"), 1);
    assert_int_equal(count_records(journal, "gate-refused", "wipe"), 4);
    /* Skipping needs a reason; a future step can be skipped ahead. */
    assert_int_equal(runner_skip(r, "never", "", err, sizeof(err)), -1);
    assert_int_equal(runner_skip(r, "never", "not needed tonight", err, sizeof(err)), 0);
    assert_int_equal(runner_confirm(r, "wipe", want, err, sizeof(err)), 0);

    wait_step(r, s, 1, STEP_WAITING);
    assert_int_equal(tu_int(b, "EXISTS precious"), 0);
    assert_true(tu_contains(s->steps[0].gate_by, "sre-bob"));
    assert_int_equal(s->steps[0].state, STEP_DONE);
    assert_true(s->steps[0].duration_ms >= 0);
    assert_int_equal(runner_confirm(r, "copy", "whatever", err, sizeof(err)), 0); /* confirm ignores the phrase */
    wait_step(r, s, 2, STEP_WAITING);
    assert_int_equal(s->engine_step, 1); /* the copy's last snapshot stays for the panel */
    assert_false(s->engine_live);
    assert_int_equal(s->engine.stats.copied, 50);
    assert_true(tu_contains(s->prompt, "do the thing"));
    assert_int_equal(runner_skip(r, "later", "done by hand earlier", err, sizeof(err)), 0);
    assert_int_equal(runner_wait(r, 10000), 1);
    runner_snapshot(r, s);
    assert_int_equal(s->state, RUNNER_DONE);
    assert_int_equal(runner_exit_code(s), 0);
    assert_int_equal(s->steps[2].state, STEP_SKIPPED);
    assert_int_equal(s->steps[3].state, STEP_SKIPPED);
    assert_true(tu_contains(s->steps[3].message, "not needed tonight"));
    assert_true(s->nlog > 0);
    tu_assert_same_keyspace(a, 0, b, 0);
    runner_free(r);
    const char *sk = last_record(journal, "step", "never");
    assert_true(tu_contains(sk, "\"outcome\":\"skipped\""));
    assert_true(tu_contains(sk, "\"reason\":\"not needed tonight\""));
    assert_true(tu_contains(sk, "\"by\":\"sre-bob\""));
    assert_int_equal(count_records(journal, "gate", NULL), 2);
    assert_int_equal(count_records(journal, "step", NULL), 4);
    free(s);
    copy_options_free(&o);
    runbook_free(rb);
    conn_close(a);
    conn_close(b);
}

static void test_abort_lifts_the_pause(void **state) {
    (void)state;
    Runbook *rb = runbook_text("[step pause]\naction = pause-writes\nduration = 60s\ngate = none\n"
                               "[step switch]\naction = manual\n"
                               "[step unpause]\naction = unpause\n");
    CopyOptions o;
    copy_opts(&o, 0, 0);
    char journal[512], err[FERRY_ERR_LEN];
    path_in(journal, sizeof(journal), "pause.jsonl");
    RunnerOptions ro;
    memset(&ro, 0, sizeof(ro));
    ro.rb = rb;
    ro.copy = &o;
    ro.journal_path = journal;
    Runner *r = runner_create(&ro, err, sizeof(err));
    if (!r) fail_msg("%s", err);
    RunnerSnapshot *s = malloc(sizeof(*s));
    assert_int_equal(runner_start(r, err, sizeof(err)), 0);
    wait_step(r, s, 1, STEP_WAITING);
    /* Writes wait while paused: a SET does not answer within 300 ms. */
    Conn *a = tu_connect(&src, 0);
    conn_append(a, "SET during-pause 1");
    conn_flush(a);
    util_sleep_ms(300);
    Conn *probe = tu_connect(&src, 0);
    assert_int_equal(tu_int(probe, "EXISTS during-pause"), 0);
    runner_abort(r);
    assert_int_equal(runner_wait(r, 10000), 1);
    runner_snapshot(r, s);
    assert_int_equal(s->state, RUNNER_ABORTED);
    assert_int_equal(runner_exit_code(s), 1);
    assert_int_equal(s->steps[1].state, STEP_PENDING);
    /* The abort lifted the pause: the waiting write went through. */
    redisReply *x;
    assert_int_equal(conn_get_reply(a, &x), 0);
    freeReplyObject(x);
    assert_int_equal(tu_int(probe, "EXISTS during-pause"), 1);
    assert_true(tu_contains(last_record(journal, "unpause", NULL), "\"ok\":true"));
    assert_true(tu_contains(last_record(journal, "end", NULL), "\"outcome\":\"aborted\""));
    runner_free(r);
    free(s);
    conn_close(a);
    conn_close(probe);
    copy_options_free(&o);
    runbook_free(rb);
}

static void test_timeout_and_on_failure(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0);
    fill(a, 0, "slow:", 200);
    char rbpath[512], journal[512];
    path_in(rbpath, sizeof(rbpath), "timeout.rb");
    write_file(rbpath, "rate = 20\n"
                       "[step copy]\naction = copy\ntimeout = 1s\non-conflict = skip\n"
                       "[step after]\naction = wait\nduration = 10ms\n");
    path_in(journal, sizeof(journal), "timeout.jsonl");
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"run", rbpath, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--journal", journal, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "ran past its timeout of 1s"));
    assert_true(r.seconds < 10);
    assert_true(tu_contains(last_record(journal, "step", "copy"), "\"outcome\":\"failed\""));
    assert_int_equal(count_records(journal, "start", "after"), 0);
    /* on-failure = continue: the run goes on and exits 3. */
    write_file(rbpath, "rate = 20\n"
                       "[step copy]\naction = copy\ntimeout = 1s\non-failure = continue\non-conflict = skip\n"
                       "[step after]\naction = wait\nduration = 10ms\n");
    path_in(journal, sizeof(journal), "timeout2.jsonl");
    tu_ferry(&r, 30, NULL, (const char *[]){"run", rbpath, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--journal", journal, NULL});
    assert_int_equal(r.status, 3);
    assert_true(tu_contains(last_record(journal, "step", "copy"), "\"continued\":true"));
    assert_true(tu_contains(last_record(journal, "step", "after"), "\"outcome\":\"done\""));
    /* Usage errors: exit 2 with file:line. */
    write_file(rbpath, "[step copy]\naction = copy\ngate = sometimes\n");
    tu_ferry(&r, 10, NULL, (const char *[]){"run", rbpath, "--source", src_uri, "--target", dst_uri, NULL});
    assert_int_equal(r.status, 2);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: gate takes none, confirm or type", rbpath);
    assert_true(tu_contains(r.err, want));
    tu_ferry(&r, 10, NULL, (const char *[]){"run", dbsplit, "--target", dst_uri, NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "leaves the source open: pass --source URI"));
    tu_ferry(&r, 10, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri,
                                            "--on-conflict", "replace", NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "step copy (copy) overwrites or deletes data on the target under on-conflict replace"));
    conn_close(a);
}

/* ------------------------------------------------------- kill -9, resume */

static pid_t spawn_ferry(const char *const *args, const char *log) {
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        const char *argv[64];
        int n = 0;
        argv[n++] = FERRY_BIN;
        for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(FERRY_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* One key of each type in encodings whose DUMP is the same on every
 * server (strings, listpacks, intsets, streams with a group and pending
 * entries), with and without expiries. Returns the number of keys. */
static long fill_small_every_type(Conn *c) {
    tu_ok(c, "SET s:plain v");
    tu_ok(c, "SET s:ttl v PX 3600000");
    tu_ok(c, "RPUSH l:small a b c");
    tu_ok(c, "HSET h:small f1 v1 f2 v2");
    tu_ok(c, "PEXPIRE h:small 7200000");
    tu_ok(c, "ZADD z:small 1 a 2 b");
    tu_ok(c, "SADD set:ints 1 2 3 42");
    tu_ok(c, "XADD x:events 1-1 f v");
    tu_ok(c, "XADD x:events 2-1 f v");
    tu_ok(c, "XGROUP CREATE x:events g 0");
    redisReply *r = tu_cmd(c, "XREADGROUP GROUP g alice COUNT 1 STREAMS x:events >");
    freeReplyObject(r);
    return 7;
}

static void test_kill_9_and_resume(void **state) {
    (void)state;
    enum { NKEYS = 30000 };
    Conn *a = tu_connect(&src, 1), *b = tu_connect(&dst, 0);
    long n = fill_small_every_type(a);
    fill(a, 1, "bulk:", NKEYS);
    char journal[512], log[512];
    path_in(journal, sizeof(journal), "killed.jsonl");
    path_in(log, sizeof(log), "killed.log");
    /* Slow on purpose (the rate limit), so there is a middle to kill in. */
    pid_t pid = spawn_ferry((const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                             "--confirm-all", "--confirm", "empty-target", "--journal", journal,
                                             "--rate", "4000", "--batch", "100", NULL},
                            log);
    /* Kill it once a checkpoint is journaled and a good part is copied. */
    int64_t end = util_mono_ms() + 30000;
    for (;;) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) fail_msg("ferry ended before it could be killed:\n%s", read_file(log));
        if (count_records(journal, "checkpoint", "copy") > 0 && tu_int(b, "DBSIZE") > NKEYS / 4) break;
        if (util_mono_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("no checkpoint within 30 s:\n%s", read_file(log));
        }
        util_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    long long before = tu_int(b, "DBSIZE");
    assert_true(before < n + NKEYS); /* it really was in the middle */
    assert_int_equal(count_records(journal, "step", "copy"), 0);
    const char *cp = last_record(journal, "checkpoint", "copy");
    long long cp_copied = figure(cp, "copied");
    assert_true(cp_copied > 0);

    /* The resumed run: no rate limit now, the same servers and journal. */
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--confirm-all", "--resume", journal, NULL});
    if (r.status != 0) fail_msg("exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "(resumed)"));
    assert_true(tu_contains(r.out, "[1/5] preflight: done in an earlier attempt"));
    assert_true(tu_contains(r.out, "resuming the copy at db 1 → 0, SCAN cursor"));
    assert_int_equal(tu_assert_same_keyspace(a, 1, b, 0), n + NKEYS);

    /* Steps done before the kill were not run again; nothing was a conflict. */
    assert_int_equal(count_records(journal, "step", "preflight"), 1);
    assert_int_equal(count_records(journal, "step", "empty-target"), 1);
    assert_int_equal(count_records(journal, "start", "copy"), 2);
    assert_int_equal(count_records(journal, "step", "copy"), 1);
    assert_int_equal(count_records(journal, "run", NULL), 2);
    assert_true(tu_contains(last_record(journal, "run", NULL), "\"resume_at\":2"));
    const char *done = last_record(journal, "step", "copy");
    assert_true(tu_contains(done, "\"outcome\":\"done\""));
    assert_int_equal(figure(done, "keys_failed"), 0);
    assert_int_equal(figure(done, "keys_skipped"), 0);
    /* It went on from the checkpoint instead of starting over. */
    assert_true(figure(done, "keys_copied") + figure(done, "keys_identical") <= n + NKEYS);
    assert_true(figure(done, "keys_copied") < n + NKEYS);
    /* The resumed attempt left no report of keys not copied (the killed
     * one could not clean up its empty report). */
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, "ferry-report-") && strstr(de->d_name, "-copy-2.txt"))
            fail_msg("a report was written: %s", de->d_name);
    closedir(d);
    JournalState js;
    char err[FERRY_ERR_LEN];
    assert_int_equal(journal_read(journal, &js, err, sizeof(err)), 0);
    assert_int_equal(js.attempts, 2);
    assert_int_equal(js.resume_index, 5);

    /* A resume with other servers is refused. */
    char other[160];
    snprintf(other, sizeof(other), "redis://localhost:%d", dst.port);
    tu_ferry(&r, 30, NULL, (const char *[]){"run", dbsplit, "--source", src_uri, "--target", other, "--no-tui",
                                            "--resume", journal, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "resume with the same servers"));
    conn_close(a);
    conn_close(b);
}

/* A resumed copy meets the keys its killed attempt restored after the last
 * checkpoint. Sets and hashes kept in a hash table DUMP in another order on
 * another server, so "identical" must not mean "same DUMP bytes" for them.
 * Deterministic: the journal says the copy had started, with no checkpoint,
 * and the target already holds every key from a complete copy. */
static void test_resume_recognises_its_own_big_keys(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 1), *b = tu_connect(&dst, 0);
    long n = tu_fill_every_type(a, "every:");
    char rbpath[512], j1[512], j2[512];
    path_in(rbpath, sizeof(rbpath), "copy-only.rb");
    write_file(rbpath, "db-map = 1:0\n[step copy]\naction = copy\n");
    path_in(j1, sizeof(j1), "first.jsonl");
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"run", rbpath, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--journal", j1, NULL});
    if (r.status != 0) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    /* The journal of an attempt that died in the middle of that copy. */
    char *text = read_file(j1);
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    nl[1] = '\0';
    path_in(j2, sizeof(j2), "died.jsonl");
    write_file(j2, text);
    free(text);
    char err[FERRY_ERR_LEN];
    Journal *j = journal_open(j2, err, sizeof(err));
    JRec rec;
    JournalState js;
    assert_int_equal(journal_read(j1, &js, err, sizeof(err)), 0);
    jrec_begin(&rec, "start", js.run_id);
    jrec_str(&rec, "step", "copy");
    jrec_str(&rec, "action", "copy");
    assert_int_equal(journal_write(j, &rec, err, sizeof(err)), 0);
    journal_close(j);
    tu_ferry(&r, 60, NULL, (const char *[]){"run", rbpath, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--resume", j2, NULL});
    if (r.status != 0)
        fail_msg("the resumed copy reported keys it had copied itself as conflicts (exit %d): %s\n"
                 "engine: copy.c's identical check compares DUMP bytes, which differ for hash-table sets and hashes",
                 r.status, r.err);
    const char *done = last_record(j2, "step", "copy");
    assert_int_equal(figure(done, "keys_identical"), n);
    assert_int_equal(figure(done, "keys_failed"), 0);
    tu_assert_same_keyspace(a, 1, b, 0);
    conn_close(a);
    conn_close(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_db_split_end_to_end, flush_both),
        cmocka_unit_test_setup(test_type_gate_headless, flush_both),
        cmocka_unit_test_setup(test_gates_through_the_control_api, flush_both),
        cmocka_unit_test_setup(test_abort_lifts_the_pause, flush_both),
        cmocka_unit_test_setup(test_timeout_and_on_failure, flush_both),
        cmocka_unit_test_setup(test_kill_9_and_resume, flush_both),
        cmocka_unit_test_setup(test_resume_recognises_its_own_big_keys, flush_both),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
