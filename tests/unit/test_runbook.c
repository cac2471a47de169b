/* test_runbook — the runbook file format: every field of the header and of
 * each action, the defaults, comments and quoting, and every error with the
 * line it names; the shared settings merged with the command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "runbook.h"
#include "util.h"

static Runbook *parse(const char *text, char *err, size_t errlen) {
    err[0] = '\0';
    return runbook_parse(text, strlen(text), "rb.txt", err, errlen);
}

static Runbook *parse_ok(const char *text) {
    char err[FERRY_ERR_LEN];
    Runbook *rb = parse(text, err, sizeof(err));
    if (!rb) fail_msg("parse failed: %s", err);
    return rb;
}

static const char full[] =
    "\xef\xbb\xbf# a full runbook\r\n"
    "title = Split db 1   # trailing comment\r\n"
    "source = redis://10.0.0.7:6379\n"
    "target = rediss://mover@10.0.0.8:6380\n"
    "source-password-file = /etc/ferry/src.pw\n"
    "target-password-file = /etc/ferry/dst.pw\n"
    "db-map = 1:0,2:5\n"
    "match = user:*\n"
    "match = \"cart:#*\"\n"
    "exclude = user:tmp:*\n"
    "type = string,hash\n"
    "workers = 8\n"
    "batch = 500\n"
    "scan-count = 2000\n"
    "rate = 50000\n"
    "on-conflict = skip\n"
    "\n"
    "   [step check]   # indented, with a comment\n"
    "title = Check\n"
    "action = preflight\n"
    "accept-eviction = yes\n"
    "margin = 30%\n"
    "\n"
    "[step wipe]\n"
    "action = flush-target\n"
    "gate = type\n"
    "phrase = \"wipe \\\"it\\\" # all\"\n"
    "async = yes\n"
    "\n"
    "[step copy-1]\n"
    "action = copy\n"
    "gate = confirm\n"
    "timeout = 1h30m\n"
    "on-failure = continue\n"
    "workers = 16\n"
    "rate = 1000\n"
    "batch = 64\n"
    "scan-count = 100\n"
    "on-conflict = fail\n"
    "report = /tmp/r.txt\n"
    "\n"
    "[step verify]\n"
    "action = verify-counts\n"
    "tolerance = 5\n"
    "scan-count = 500\n"
    "[step pause]\n"
    "action = pause-writes\n"
    "duration = 90s\n"
    "[step unpause]\n"
    "action = unpause\n"
    "on-failure = stop\n"
    "[step settle]\n"
    "action = wait\n"
    "duration = 500ms\n"
    "[step switch.app_2]\n"
    "action = manual\n"
    "instruction = Switch REDIS_URL to the new server\n"
    "needs = target:replicaof, source:config|get\n"
    "gate = type\n";

static void test_every_field(void **state) {
    (void)state;
    Runbook *rb = parse_ok(full);
    assert_string_equal(rb->name, "rb.txt");
    assert_string_equal(rb->title, "Split db 1");
    const RunSettings *s = &rb->settings;
    assert_true(s->has_source);
    assert_string_equal(s->source.host, "10.0.0.7");
    assert_int_equal(s->source.port, 6379);
    assert_int_equal(s->source_line, 3);
    assert_true(s->has_target);
    assert_int_equal(s->target.scheme, URI_TLS);
    assert_string_equal(s->target.user, "mover");
    assert_string_equal(s->source_password_file, "/etc/ferry/src.pw");
    assert_string_equal(s->target_password_file, "/etc/ferry/dst.pw");
    assert_true(s->has_dbmap);
    assert_int_equal(s->dbmap_line, 7);
    assert_int_equal(s->dbmap.n, 2);
    assert_int_equal(s->dbmap.src[1], 2);
    assert_int_equal(s->dbmap.dst[1], 5);
    assert_int_equal(s->filter.ninclude, 2);
    assert_string_equal(s->filter.include[0], "user:*");
    assert_string_equal(s->filter.include[1], "cart:#*");
    assert_int_equal(s->filter.nexclude, 1);
    assert_string_equal(s->filter.exclude[0], "user:tmp:*");
    assert_int_equal(s->filter.types, FTYPE_STRING | FTYPE_HASH);
    assert_int_equal(s->workers, 8);
    assert_int_equal(s->batch, 500);
    assert_int_equal(s->scan_count, 2000);
    assert_true(s->has_rate);
    assert_true(s->rate == 50000);
    assert_int_equal(s->on_conflict, CONFLICT_SKIP);

    assert_int_equal(rb->nsteps, 8);
    const RunbookStep *st = &rb->steps[0];
    assert_string_equal(st->id, "check");
    assert_int_equal(st->line, 18);
    assert_string_equal(st->title, "Check");
    assert_ptr_equal(st->action, actions_find("preflight"));
    assert_int_equal(st->gate, GATE_NONE);
    assert_string_equal(runbook_param(st, "accept-eviction"), "yes");
    assert_string_equal(runbook_param(st, "margin"), "30%");
    assert_int_equal(runbook_param_entry(st, "margin")->line, 22);

    st = &rb->steps[1];
    assert_string_equal(st->id, "wipe");
    assert_int_equal(st->gate, GATE_TYPE);
    assert_int_equal(st->gate_line, 26);
    assert_string_equal(st->phrase, "wipe \"it\" # all");
    assert_string_equal(st->title, "Empty the target dbs"); /* the action's summary */
    assert_string_equal(runbook_param(st, "async"), "yes");
    assert_true(runbook_step_destructive(st, CONFLICT_FAIL));

    st = &rb->steps[2];
    assert_string_equal(st->id, "copy-1");
    assert_int_equal(st->gate, GATE_CONFIRM);
    assert_int_equal(st->timeout_ms, 90 * 60 * 1000);
    assert_int_equal(st->on_failure, ON_FAILURE_CONTINUE);
    assert_string_equal(runbook_param(st, "workers"), "16");
    assert_string_equal(runbook_param(st, "rate"), "1000");
    assert_string_equal(runbook_param(st, "batch"), "64");
    assert_string_equal(runbook_param(st, "scan-count"), "100");
    assert_string_equal(runbook_param(st, "on-conflict"), "fail");
    assert_string_equal(runbook_param(st, "report"), "/tmp/r.txt");
    assert_null(runbook_param(st, "nope"));
    /* The step's own policy wins over the file's for destructiveness. */
    assert_false(runbook_step_destructive(st, CONFLICT_REPLACE));

    st = &rb->steps[3];
    assert_ptr_equal(st->action, actions_find("verify-counts"));
    assert_string_equal(runbook_param(st, "tolerance"), "5");
    assert_string_equal(runbook_param(st, "scan-count"), "500");
    st = &rb->steps[4];
    assert_ptr_equal(st->action, actions_find("pause-writes"));
    assert_int_equal(st->gate, GATE_CONFIRM); /* pause-writes asks by default */
    assert_string_equal(runbook_param(st, "duration"), "90s");
    st = &rb->steps[5];
    assert_ptr_equal(st->action, actions_find("unpause"));
    assert_int_equal(st->on_failure, ON_FAILURE_STOP);
    st = &rb->steps[6];
    assert_ptr_equal(st->action, actions_find("wait"));
    assert_string_equal(runbook_param(st, "duration"), "500ms");
    st = &rb->steps[7];
    assert_string_equal(st->id, "switch.app_2");
    assert_ptr_equal(st->action, actions_find("manual"));
    assert_int_equal(st->gate, GATE_TYPE);
    assert_string_equal(runbook_param(st, "instruction"), "Switch REDIS_URL to the new server");
    assert_int_equal(runbook_step_index(rb, "switch.app_2"), 7);
    assert_int_equal(runbook_step_index(rb, "nope"), -1);

    /* The manual step's needs reach the preflight plan. */
    PreflightPlan plan;
    actions_plan(rb, &plan);
    int replicaof = 0, config = 0, restore = 0, pause = 0;
    for (int i = 0; i < plan.n; i++) {
        replicaof |= plan.needs[i].side == PF_TARGET && !strcmp(plan.needs[i].command, "replicaof");
        config |= plan.needs[i].side == PF_SOURCE && !strcmp(plan.needs[i].command, "config|get");
        restore |= plan.needs[i].side == PF_TARGET && !strcmp(plan.needs[i].command, "restore");
        pause |= plan.needs[i].side == PF_SOURCE && !strcmp(plan.needs[i].command, "client|pause");
    }
    assert_true(replicaof && config && restore && pause);
    assert_true(plan.copies);
    assert_true(plan.flushes_target);
    runbook_free(rb);
}

static void test_defaults(void **state) {
    (void)state;
    Runbook *rb = parse_ok("[step a]\naction = copy\n[step b]\naction = manual\n[step c]\naction = wait\nduration = 1s\n");
    assert_string_equal(rb->title, "");
    assert_false(rb->settings.has_source);
    assert_false(rb->settings.has_target);
    assert_int_equal(rb->settings.on_conflict, -1);
    assert_int_equal(rb->settings.workers, 0);
    assert_false(rb->settings.has_rate);
    assert_int_equal(rb->steps[0].gate, GATE_NONE);
    assert_string_equal(rb->steps[0].title, "Copy the keyspace");
    assert_int_equal(rb->steps[0].timeout_ms, 0);
    assert_int_equal(rb->steps[0].on_failure, ON_FAILURE_STOP);
    assert_int_equal(rb->steps[0].nparams, 0);
    assert_int_equal(rb->steps[1].gate, GATE_CONFIRM); /* manual waits for the operator */
    assert_string_equal(rb->steps[1].phrase, "");
    runbook_free(rb);
}

typedef struct BadCase {
    const char *text;
    int line;
    const char *needle;
} BadCase;

static const BadCase bad[] = {
    /* structure */
    {"[step a]\naction = copyy\n", 2, "unknown action copyy (actions: preflight, copy"},
    {"[step a]\naction = copy\nworkerz = 3\n", 3, "unknown key workerz in step a"},
    {"workerz = 3\n[step a]\naction = copy\n", 1, "unknown key workerz (the top of a runbook takes"},
    {"[step a]\naction = copy\nsource = redis://h\n", 3, "source is shared by every step"},
    {"[step a]\naction = wait\nduration = 1s\nmatch = x\n", 4, "match is shared by every step"},
    {"# top\naction = copy\n[step a]\naction = copy\n", 2, "action belongs to a step"},
    {"[step]\naction = copy\n", 1, "missing step id"},
    {"\n\n[step   ]\n", 3, "missing step id"},
    {"[step a b]\naction = copy\n", 1, "step id \"a b\" may only use"},
    {"[step a]\naction = copy\n\n[step a]\naction = copy\n", 4, "duplicate step id a (first at line 1)"},
    {"[steps a]\n", 1, "unknown section [steps a]"},
    {"[step a\n", 1, "missing its ]"},
    {"[step a] extra\n", 1, "unexpected text after ]"},
    {"[step a]\naction copy\n", 2, "expected key = value or [step ID], got \"action copy\""},
    {"[step a]\n= copy\n", 2, "a value without a key"},
    {"[step a]\naction =   # nothing\n", 2, "action has no value"},
    {"Workers = 4\n[step a]\naction = copy\n", 1, "\"Workers\" is not a key"},
    {"[step a]\naction = manual\ninstruction = \"open\n", 3, "missing its closing \""},
    {"[step a]\naction = manual\ninstruction = \"x\" y\n", 3, "unexpected text after the closing quote"},
    {"# only comments\n\n", 2, "the runbook has no steps"},
    {"[step a]\n", 1, "step a has no action: add action = one of preflight"},
    {"[step a]\naction = copy\n[step b]\ngate = confirm\n", 3, "step b has no action"},
    /* duplicates */
    {"[step a]\naction = copy\ngate = none\ngate = confirm\n", 4, "gate is set twice in this step (first at line 3)"},
    {"workers = 2\nworkers = 3\n[step a]\naction = copy\n", 2, "workers is set twice in this header (first at line 1)"},
    {"[step a]\naction = copy\naction = copy\n", 3, "action is set twice"},
    /* gates */
    {"[step a]\naction = copy\ngate = maybe\n", 3, "gate takes none, confirm or type"},
    {"[step a]\naction = copy\ngate = confirm\nphrase = yes\n", 4, "phrase only applies to gate = type"},
    {"[step a]\naction = copy\nphrase = yes\n", 3, "phrase only applies to gate = type (step a has gate = none)"},
    {"[step a]\naction = flush-target\ngate = confirm\n", 3, "step a (flush-target) overwrites or deletes data on the target: it needs gate = type"},
    {"\n[step wipe]\naction = flush-target\n", 2, "step wipe (flush-target) overwrites or deletes data"},
    {"[step a]\naction = copy\non-conflict = replace\ngate = confirm\n", 4, "under on-conflict replace"},
    {"on-conflict = replace\n[step a]\naction = copy\n", 2, "it needs gate = type"},
    {"[step a]\naction = manual\ngate = none\n", 3, "its gate must be confirm or type"},
    /* common step keys */
    {"[step a]\naction = copy\ntimeout = 30\n", 3, "timeout takes a duration with its unit"},
    {"[step a]\naction = copy\ntimeout = 0s\n", 3, "timeout takes a duration"},
    {"[step a]\naction = copy\ntimeout = 5 m\n", 3, "timeout takes a duration"},
    {"[step a]\naction = copy\non-failure = retry\n", 3, "on-failure takes stop or continue"},
    /* shared settings */
    {"source = redis://:hunter2@h:6379\n[step a]\naction = copy\n", 1, "a password written in a runbook"},
    {"target = http://h\n[step a]\naction = copy\n", 1, "target: "},
    {"db-map = 1:x\n[step a]\naction = copy\n", 1, "db-map: "},
    {"workers = 0\n[step a]\naction = copy\n", 1, "workers takes a whole number from 1 to 64"},
    {"workers = 65\n[step a]\naction = copy\n", 1, "workers takes a whole number from 1 to 64"},
    {"batch = lots\n[step a]\naction = copy\n", 1, "batch takes a whole number"},
    {"scan-count = -1\n[step a]\naction = copy\n", 1, "scan-count takes a whole number"},
    {"rate = fast\n[step a]\naction = copy\n", 1, "rate takes a whole number"},
    {"on-conflict = overwrite\n[step a]\naction = copy\n", 1, "on-conflict takes fail, skip or replace"},
    {"type = strings\n[step a]\naction = copy\n", 1, "type: "},
    /* action parameters */
    {"[step a]\naction = wait\n", 1, "a wait step needs duration ="},
    {"[step a]\naction = wait\nduration = soon\n", 3, "duration takes a time with its unit"},
    {"[step a]\naction = wait\ntimeout = 10s\nduration = 20s\n", 4, "not shorter than the step's timeout"},
    {"[step a]\naction = pause-writes\nduration = 2h\n", 3, "duration (how long writes stay paused at most) takes a time from 1s to 1h"},
    {"[step a]\naction = verify-counts\ntolerance = -1\n", 3, "tolerance takes a whole number"},
    {"[step a]\naction = verify-counts\nscan-count = 0\n", 3, "scan-count takes a whole number"},
    {"[step a]\naction = copy\nworkers = 0\n", 3, "workers takes a whole number from 1 to 64"},
    {"[step a]\naction = copy\nrate = -5\n", 3, "rate takes a whole number"},
    {"[step a]\naction = copy\nbatch = 0\n", 3, "batch takes"},
    {"[step a]\naction = copy\nscan-count = x\n", 3, "scan-count takes"},
    {"[step a]\naction = copy\non-conflict = merge\n", 3, "on-conflict takes fail, skip or replace"},
    {"[step a]\naction = preflight\nmargin = lots\n", 3, "margin takes a percentage"},
    {"[step a]\naction = preflight\naccept-eviction = maybe\n", 3, "accept-eviction takes yes or no"},
    {"[step a]\naction = flush-target\ngate = type\nasync = maybe\n", 4, "async takes yes or no"},
    {"[step a]\naction = manual\nneeds = replicaof\n", 3, "needs lists side:command pairs"},
    {"[step a]\naction = manual\nneeds = target:REPLICAOF\n", 3, "needs lists side:command pairs"},
    {"[step a]\naction = unpause\nduration = 1s\n", 3, "unknown key duration in step a (a unpause step takes: title, action"},
    {"[step a]\naction = wait\nduration = 1s\ninstruction = x\n", 4, "unknown key instruction in step a"},
};

static void test_errors_name_their_line(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[FERRY_ERR_LEN], want[64];
        Runbook *rb = parse(bad[i].text, err, sizeof(err));
        if (rb) {
            runbook_free(rb);
            fail_msg("case %zu parsed but should fail: %s", i, bad[i].text);
        }
        snprintf(want, sizeof(want), "rb.txt:%d: ", bad[i].line);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu: wanted an error at line %d, got: %s\n(text: %s)", i, bad[i].line, err, bad[i].text);
        if (!strstr(err, bad[i].needle)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].needle);
        if (strchr(err, '\n')) fail_msg("case %zu: the message is more than one line: %s", i, err);
    }
}

static void test_password_never_echoed(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    assert_null(parse("source = redis://u:hunter2@h:6379\n[step a]\naction = copy\n", err, sizeof(err)));
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "FERRY_SOURCE_PASSWORD"));
}

static void test_limits(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    /* 65 steps: the 65th header's line is named. */
    size_t cap = 65 * 40 + 1;
    char *text = malloc(cap);
    size_t o = 0;
    for (int i = 0; i < 65; i++) o += (size_t)snprintf(text + o, cap - o, "[step s%d]\naction = copy\n", i);
    assert_null(parse(text, err, sizeof(err)));
    assert_non_null(strstr(err, "rb.txt:129: too many steps (at most 64)"));
    /* 64 are fine. */
    char *cut = strstr(text, "[step s64]");
    *cut = '\0';
    Runbook *rb = parse_ok(text);
    assert_int_equal(rb->nsteps, 64);
    runbook_free(rb);
    free(text);
    /* A very long line. */
    char *longline = malloc(6000);
    memset(longline, 'x', 5000);
    memcpy(longline, "[step a]\naction = manual\ninstruction = ", 39);
    memcpy(longline + 5000, "\n", 2);
    assert_null(parse(longline, err, sizeof(err)));
    assert_non_null(strstr(err, "rb.txt:3: line longer than"));
    free(longline);
    /* A NUL byte: a binary file. */
    static const char nul[] = "[step a]\naction = copy\n\0junk\n";
    assert_null(runbook_parse(nul, sizeof(nul) - 1, "rb.txt", err, sizeof(err)));
    assert_non_null(strstr(err, "rb.txt:3: a NUL byte"));
}

static void test_load_file(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    assert_null(runbook_load("/nonexistent/runbook", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/runbook"));
    char path[] = "/tmp/ferry-test-runbook-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("title = t\n[step a]\naction = copy\ngate = sometimes\n", f);
    fclose(f);
    assert_null(runbook_load(path, err, sizeof(err)));
    char want[128];
    snprintf(want, sizeof(want), "%s:4: gate takes", path);
    assert_non_null(strstr(err, want));
    f = fopen(path, "w");
    fputs("[step a]\naction = copy\n", f);
    fclose(f);
    Runbook *rb = runbook_load(path, err, sizeof(err));
    assert_non_null(rb);
    assert_string_equal(rb->name, path);
    runbook_free(rb);
    unlink(path);
}

static void test_templates_parse(void **state) {
    (void)state;
    static const char *const names[] = {"db-split", "stream-move", "replica-cutover", "session-split", "demo"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[1024], err[FERRY_ERR_LEN];
        snprintf(path, sizeof(path), "%s/runbooks/%s", FERRY_SOURCE_DIR, names[i]);
        Runbook *rb = runbook_load(path, err, sizeof(err));
        if (!rb) fail_msg("%s", err);
        assert_true(rb->title[0] != '\0');
        assert_false(rb->settings.has_source); /* templates leave the servers open */
        assert_false(rb->settings.has_target);
        runbook_free(rb);
    }
}

static void test_duration(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {{"90s", 90000}, {"5m", 300000}, {"1h", 3600000}, {"1h30m", 5400000}, {"500ms", 500},
              {"2m30s", 150000}, {"0s", 0}, {"1h1m1s1ms", 3661001}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ms = -1;
        assert_int_equal(runbook_parse_duration(ok[i].text, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    static const char *const bad_d[] = {"", "30", "m", "5 m", "-5s", "5d", "1.5h", "s5", "5s ", "999999999h"};
    for (size_t i = 0; i < sizeof(bad_d) / sizeof(bad_d[0]); i++) {
        int64_t ms;
        if (runbook_parse_duration(bad_d[i], &ms) == 0) fail_msg("\"%s\" parsed", bad_d[i]);
    }
}

static void test_merge_and_overrides(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Runbook *rb = parse_ok("db-map = 1:0\nmatch = a:*\nmatch = b:*\nexclude = a:tmp\ntype = hash\nworkers = 8\n"
                           "rate = 100\non-conflict = fail\n[step a]\naction = copy\n");
    RunSettings cli, eff;
    run_settings_init(&cli);
    assert_int_equal(run_settings_set(&cli, "source", "redis://10.0.0.7:6379", 0, err, sizeof(err)), 1);
    assert_int_equal(run_settings_set(&cli, "target", "redis://10.0.0.8:6379", 0, err, sizeof(err)), 1);
    assert_int_equal(run_settings_set(&cli, "match", "c:*", 0, err, sizeof(err)), 1);
    assert_int_equal(run_settings_set(&cli, "workers", "2", 0, err, sizeof(err)), 1);
    assert_int_equal(run_settings_set(&cli, "frobnicate", "2", 0, err, sizeof(err)), 0);
    assert_int_equal(run_settings_set(&cli, "rate", "x", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rate takes"));
    assert_int_equal(run_settings_merge(&eff, &rb->settings, &cli, err, sizeof(err)), 0);
    assert_true(eff.has_source && eff.has_target);
    assert_string_equal(eff.source.host, "10.0.0.7");
    assert_int_equal(eff.source_line, 0);
    /* A list on the command line replaces the file's; the other lists stay. */
    assert_int_equal(eff.filter.ninclude, 1);
    assert_string_equal(eff.filter.include[0], "c:*");
    assert_int_equal(eff.filter.nexclude, 1);
    assert_int_equal(eff.filter.types, FTYPE_HASH);
    assert_int_equal(eff.workers, 2);
    assert_true(eff.rate == 100);
    assert_int_equal(eff.dbmap.n, 1);

    CopyOptions o;
    copy_options_init(&o);
    unsetenv("FERRY_SOURCE_PASSWORD");
    unsetenv("FERRY_TARGET_PASSWORD");
    assert_int_equal(run_settings_to_copy(&eff, &o, err, sizeof(err)), 0);
    assert_string_equal(o.source.uri.host, "10.0.0.7");
    assert_int_equal(o.workers, 2);
    assert_int_equal(o.batch, 256); /* untouched default */
    assert_int_equal(o.dbmap.src[0], 1);
    assert_int_equal(o.on_conflict, CONFLICT_FAIL);
    assert_true(o.on_conflict_explicit); /* the runbook chose it */
    assert_int_equal(o.filter.ninclude, 1);
    copy_options_free(&o);
    run_settings_free(&eff);

    /* A URI naming a db and a map from the file: say both and the line. */
    RunSettings cli2;
    run_settings_init(&cli2);
    assert_int_equal(run_settings_set(&cli2, "source", "redis://10.0.0.7:6379/1", 0, err, sizeof(err)), 1);
    assert_int_equal(run_settings_merge(&eff, &rb->settings, &cli2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--source names db 1"));
    assert_non_null(strstr(err, "db-map (line 1)"));
    /* ... unless the command line replaces the map as well. */
    run_settings_free(&cli2);
    run_settings_init(&cli2);
    assert_int_equal(run_settings_set(&cli2, "db-map", "2:3", 0, err, sizeof(err)), 1);
    assert_int_equal(run_settings_merge(&eff, &rb->settings, &cli2, err, sizeof(err)), 0);
    assert_int_equal(eff.dbmap.src[0], 2);
    /* Servers left open: the message says which option fills them. */
    copy_options_init(&o);
    assert_int_equal(run_settings_to_copy(&eff, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "leaves the source open: pass --source URI"));
    copy_options_free(&o);
    run_settings_free(&eff);
    run_settings_free(&cli2);
    run_settings_free(&cli);
    runbook_free(rb);
}

static void test_passwords_from_file_and_env(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN], path[] = "/tmp/ferry-test-pw-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "s3cret\n", 7), 7);
    close(fd);
    RunSettings s, eff;
    run_settings_init(&s);
    run_settings_set(&s, "source", "redis://h:1", 1, err, sizeof(err));
    run_settings_set(&s, "target", "redis://h:2", 1, err, sizeof(err));
    run_settings_set(&s, "source-password-file", path, 1, err, sizeof(err));
    assert_int_equal(run_settings_merge(&eff, &s, NULL, err, sizeof(err)), 0);
    setenv("FERRY_TARGET_PASSWORD", "from-env", 1);
    CopyOptions o;
    copy_options_init(&o);
    assert_int_equal(run_settings_to_copy(&eff, &o, err, sizeof(err)), 0);
    assert_string_equal(o.source.uri.password, "s3cret");
    assert_string_equal(o.target.uri.password, "from-env");
    assert_false(o.on_conflict_explicit);
    unsetenv("FERRY_TARGET_PASSWORD");
    copy_options_free(&o);
    run_settings_free(&eff);
    run_settings_free(&s);
    unlink(path);
}

static void test_gates_under_the_effective_policy(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Runbook *rb = parse_ok("[step a]\naction = copy\ngate = confirm\n[step b]\naction = copy\ngate = type\n");
    assert_int_equal(runbook_check_gates(rb, CONFLICT_FAIL, err, sizeof(err)), 0);
    assert_int_equal(runbook_check_gates(rb, CONFLICT_SKIP, err, sizeof(err)), 0);
    /* --on-conflict replace on the command line makes step a destructive. */
    assert_int_equal(runbook_check_gates(rb, CONFLICT_REPLACE, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rb.txt:3: step a (copy)"));
    runbook_free(rb);
}

static void test_default_phrase(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN], buf[200];
    Uri u;
    DbMap m;
    dbmap_init(&m);
    assert_int_equal(uri_parse("redis://u:pw@10.0.0.8:6380", &u, err, sizeof(err)), 0);
    runbook_default_phrase(&u, &m, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.8:6380/0");
    dbmap_parse(&m, "1:4", err, sizeof(err));
    runbook_default_phrase(&u, &m, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.8:6380/4");
    dbmap_parse(&m, "2:5", err, sizeof(err));
    runbook_default_phrase(&u, &m, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.8:6380/0"); /* two target dbs: the URI's */
    assert_int_equal(uri_parse("redis://10.0.0.8:6380/3", &u, err, sizeof(err)), 0);
    dbmap_init(&m);
    runbook_default_phrase(&u, &m, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.8:6380/3");
}

static void test_actions_table(void **state) {
    (void)state;
    static const char *const names[] = {"preflight", "copy", "verify-counts", "flush-target", "pause-writes",
                                        "unpause", "wait", "manual"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const ActionDef *a = actions_find(names[i]);
        assert_non_null(a);
        assert_string_equal(a->name, names[i]);
        assert_non_null(a->run);
        assert_non_null(a->summary);
    }
    assert_null(actions_find("verify-count")); /* exact names only, never a prefix */
    char list[1000];
    actions_list(list, sizeof(list));
    /* Other issues add actions after these. */
    assert_true(strncmp(list, "preflight, copy, verify-counts, flush-target, pause-writes, unpause, wait, manual",
                        strlen("preflight, copy, verify-counts, flush-target, pause-writes, unpause, wait, manual")) == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors_name_their_line),
        cmocka_unit_test(test_password_never_echoed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_templates_parse),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_merge_and_overrides),
        cmocka_unit_test(test_passwords_from_file_and_env),
        cmocka_unit_test(test_gates_under_the_effective_policy),
        cmocka_unit_test(test_default_phrase),
        cmocka_unit_test(test_actions_table),
    };
    return cmocka_run_group_tests_name("runbook", tests, NULL, NULL);
}
