/* The runbook run in the console: the Runbook panel's model from hand-made
 * RunnerSnapshots (every state, gate and duration, the prompt, a list that
 * does not fit, the end of a run, ASCII), the runbook keys (Enter / c, the
 * typed phrase, s with its reason, a with its question, q, the copy keys
 * with and without a copy), what view_command_exec() does with a fake
 * backend, the log ingest of a run, and whole screens at 80×24 and 120×40. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layout.h"
#include "panels.h"
#include "view.h"

static ConsoleView *v;
static RunnerSnapshot *rs;
static UiCommand cmd;
static UiGrid grid;

static void step(int i, const char *id, const char *title, StepState st, GateKind gate,
                 int64_t dur) {
    RunnerStepView *s = &rs->steps[i];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->title, sizeof s->title, "%s", title);
    s->state = st;
    s->gate = gate;
    s->duration_ms = dur;
    if (gate == GATE_TYPE) snprintf(s->phrase, sizeof s->phrase, "10.0.0.8:6379/0");
    if (i >= rs->nsteps) rs->nsteps = i + 1;
}

/* The db-split shape, waiting at the type gate of empty-target. */
static void waiting_run(void) {
    memset(rs, 0, sizeof *rs);
    snprintf(rs->title, sizeof rs->title, "Split db 1 onto the new server");
    snprintf(rs->source, sizeof rs->source, "redis://10.0.0.7:6379");
    snprintf(rs->target, sizeof rs->target, "redis://10.0.0.8:6379");
    step(0, "preflight", "Check both servers", STEP_DONE, GATE_NONE, 1200);
    step(1, "empty-target", "Empty db 0 on the new server", STEP_WAITING, GATE_TYPE, -1);
    step(2, "copy", "Copy every db", STEP_PENDING, GATE_CONFIRM, -1);
    step(3, "verify", "Compare key counts", STEP_PENDING, GATE_NONE, -1);
    step(4, "switch-app", "Switch the app", STEP_PENDING, GATE_CONFIRM, -1);
    rs->state = RUNNER_WAITING;
    rs->current = 1;
    snprintf(rs->prompt, sizeof rs->prompt,
             "step empty-target (Empty db 0 on the new server) is destructive: type "
             "10.0.0.8:6379/0 to start it");
    rs->engine_step = -1;
}

static int setup(void **state) {
    (void)state;
    v = calloc(1, sizeof *v);
    rs = calloc(1, sizeof *rs);
    return v && rs ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(v);
    free(rs);
    ui_grid_free(&grid);
    return 0;
}

static int reset(void **state) {
    (void)state;
    view_init(v, "redis://10.0.0.7:6379 → redis://10.0.0.8:6379", 0);
    waiting_run();
    view_ingest_run(v, rs);
    Layout L;
    layout_compute_run(120, 40, rs->nsteps + 3, &L);
    view_set_layout(v, &L);
    return 0;
}

static int key(int k) {
    return view_handle_key(v, &rs->engine, k, 1000, &cmd);
}

static void type(const char *text) {
    for (const char *p = text; *p; p++) key((unsigned char)*p);
}

#define HR (VIEW_HANDLED | VIEW_REDRAW)

/* Draws the runbook panel alone into a w×h grid. */
static void draw_panel(int w, int h, int ascii) {
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, w, h), 0);
    UiCanvas c = ui_canvas(&grid, ascii ? &ui_glyphs_ascii : &ui_glyphs_unicode);
    panel_runbook(&c, v, rs, 0);
}

static void row(int r, char *buf, size_t len) {
    ui_grid_row_text(&grid, r, buf, len);
}

static int find(const char *needle) {
    return ui_grid_find(&grid, needle, NULL, NULL);
}

/* ---- the panel ------------------------------------------------------ */

static void test_panel_lists_every_step(void **state) {
    (void)state;
    draw_panel(90, 12, 0);
    char b[512];
    row(0, b, sizeof b);
    assert_non_null(strstr(b, "Runbook"));
    assert_non_null(strstr(b, "Split db 1 onto the new server"));
    assert_non_null(strstr(b, "step 2/5"));
    row(1, b, sizeof b);
    assert_non_null(strstr(b, "✓ done"));
    assert_non_null(strstr(b, "preflight"));
    assert_non_null(strstr(b, "Check both servers"));
    assert_non_null(strstr(b, "1.2s") ? strstr(b, "1.2s") : strstr(b, "1s"));
    row(2, b, sizeof b);
    assert_non_null(strstr(b, "waiting"));
    assert_non_null(strstr(b, "empty-target"));
    assert_non_null(strstr(b, "type"));
    row(3, b, sizeof b);
    assert_non_null(strstr(b, "pending"));
    assert_non_null(strstr(b, "confirm"));
    /* every step has its row */
    for (int i = 0; i < rs->nsteps; i++) assert_true(find(rs->steps[i].id));
    /* the prompt, then the keys */
    assert_true(find("waiting for you: step empty-target"));
    assert_true(find("Enter type the phrase  s skip  a abort"));
    /* roles: done is ok, the waiting row is pending, a pending row dim */
    int r, c;
    assert_true(ui_grid_find(&grid, "done", &r, &c));
    assert_int_equal(ui_grid_role_at(&grid, r, c), ROLE_OK);
    assert_true(ui_grid_find(&grid, "waiting ", &r, &c));
    assert_int_equal(ui_grid_role_at(&grid, r, c), ROLE_PENDING);
    assert_true(ui_grid_find(&grid, "pending", &r, &c));
    assert_int_equal(ui_grid_role_at(&grid, r, c), ROLE_DIM);
}

static void test_panel_every_state(void **state) {
    (void)state;
    rs->state = RUNNER_RUNNING;
    rs->current = 3;
    rs->prompt[0] = '\0';
    rs->steps[1].state = STEP_SKIPPED;
    rs->steps[2].state = STEP_FAILED;
    rs->steps[2].duration_ms = 65000;
    rs->steps[3].state = STEP_RUNNING;
    rs->steps[3].duration_ms = 3000;
    snprintf(rs->steps[3].message, sizeof rs->steps[3].message, "db 0: 1234 keys compared");
    draw_panel(90, 12, 0);
    assert_true(find("- skipped empty-target"));
    assert_true(find("✗ failed  copy"));
    assert_true(find("> running verify"));
    assert_true(find("1m05s") || find("1m5s") || find("65s"));
    assert_true(find("verify: db 0: 1234 keys compared"));
    assert_false(find("waiting for you"));
    int r, c;
    assert_true(ui_grid_find(&grid, "failed", &r, &c));
    assert_int_equal(ui_grid_role_at(&grid, r, c), ROLE_VALUE_ERROR);
}

static void test_panel_end_of_run(void **state) {
    (void)state;
    rs->state = RUNNER_ABORTED;
    rs->current = -1;
    snprintf(rs->reason, sizeof rs->reason, "aborted by the operator at step empty-target");
    rs->steps[1].state = STEP_PENDING;
    draw_panel(90, 12, 0);
    char b[512];
    row(0, b, sizeof b);
    assert_non_null(strstr(b, "ABORTED"));
    assert_true(find("run ABORTED: aborted by the operator at step empty-target"));
    assert_true(find("q quits"));

    rs->state = RUNNER_DONE;
    rs->reason[0] = '\0';
    for (int i = 0; i < rs->nsteps; i++) rs->steps[i].state = STEP_DONE;
    draw_panel(90, 12, 0);
    assert_true(find("run done"));
    int r, c;
    assert_true(ui_grid_find(&grid, "run done", &r, &c));
    assert_int_equal(ui_grid_role_at(&grid, r, c), ROLE_OK);
}

static void test_panel_keeps_current_in_view(void **state) {
    (void)state;
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "step-%02d", i);
        step(i, id, "A step", i < 14 ? STEP_DONE : i == 14 ? STEP_WAITING : STEP_PENDING,
             GATE_CONFIRM, i < 14 ? 1000 : -1);
    }
    rs->current = 14;
    snprintf(rs->prompt, sizeof rs->prompt, "step step-14 starts when you confirm");
    draw_panel(60, 9, 0); /* 8 content rows: 5 steps + 3 footer rows */
    assert_true(find("step-14"));
    assert_true(find("step-13"));  /* one row of context above */
    assert_false(find("step-00"));
    assert_true(find("waiting for you"));
    assert_true(find("Enter confirm"));
    char b[256];
    row(1, b, sizeof b);
    assert_non_null(strstr(b, "↑")); /* more above */
}

static void test_runbook_scrolls_when_focused(void **state) {
    (void)state;
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "step-%02d", i);
        step(i, id, "A step", i < 14 ? STEP_DONE : i == 14 ? STEP_WAITING : STEP_PENDING,
             GATE_CONFIRM, i < 14 ? 1000 : -1);
    }
    rs->current = 14;
    Layout L;
    layout_compute_run(80, 24, rs->nsteps + 3, &L);
    view_set_layout(v, &L);
    /* Tab reaches the runbook first in a run */
    v->focus = PANEL_LOG;
    key(UI_KEY_TAB);
    assert_int_equal(v->focus, PANEL_RUNBOOK);
    assert_int_equal(key(UI_KEY_HOME), HR);
    assert_int_equal(v->runbook_scroll, 0);
    draw_panel(60, 9, 0);
    assert_true(find("step-00"));
    assert_false(find("step-14"));
    key(UI_KEY_DOWN);
    assert_int_equal(v->runbook_scroll, 1);
    /* End: follow the current step again */
    key(UI_KEY_END);
    assert_int_equal(v->runbook_scroll, -1);
    draw_panel(60, 9, 0);
    assert_true(find("step-14"));
    assert_false(find("step-00"));
}

static void test_panel_narrow_and_ascii(void **state) {
    (void)state;
    draw_panel(30, 9, 1); /* too narrow for titles: ids, gates, durations */
    assert_true(find("+ done"));
    assert_true(find("empty-target"));
    assert_false(find("Check both servers"));
    for (int y = 0; y < grid.h; y++)
        for (int x = 0; x < grid.w; x++)
            assert_true((unsigned char)grid.cells[y * grid.w + x].ch[0] < 0x80);
}

/* ---- keys ------------------------------------------------------------- */

static void test_enter_confirms_a_confirm_gate(void **state) {
    (void)state;
    rs->steps[1].gate = GATE_CONFIRM;
    rs->steps[1].phrase[0] = '\0';
    assert_int_equal(key(UI_KEY_ENTER), HR);
    assert_int_equal(cmd.kind, CMD_CONFIRM);
    assert_string_equal(cmd.step, "empty-target");
    assert_string_equal(cmd.text, "");
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_int_equal(key('c'), HR);
    assert_int_equal(cmd.kind, CMD_CONFIRM);

    /* nothing waits: nothing to confirm */
    rs->state = RUNNER_RUNNING;
    rs->steps[1].state = STEP_RUNNING;
    assert_int_equal(key(UI_KEY_ENTER), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(v->flash, "no gate waits for you now");
}

/* A running step that ends on the operator's word (the tail at cutover):
 * the panel says so, Enter ends it (even when the step's start gate was a
 * typed one: ending needs no phrase), s does not skip a running step. */
static void test_enter_ends_a_step_awaiting_the_operator(void **state) {
    (void)state;
    rs->state = RUNNER_RUNNING;
    rs->steps[1].state = STEP_RUNNING;
    rs->steps[1].awaiting_end = 1;
    snprintf(rs->steps[1].message, sizeof rs->steps[1].message,
             "cut over (switch producers and consumers to the target), then press Enter");
    draw_panel(100, 12, 0);
    assert_true(find("running until you say so: cut over"));
    view_ingest_run(v, rs);
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, 120, 1), 0);
    UiCanvas hc = ui_canvas(&grid, &ui_glyphs_unicode);
    panel_hints(&hc, v, &rs->engine, 1000);
    assert_true(find("Enter end step"));
    assert_int_equal(key(UI_KEY_ENTER), HR);
    assert_int_equal(cmd.kind, CMD_CONFIRM);
    assert_string_equal(cmd.step, "empty-target");
    assert_int_equal(v->overlay, OVERLAY_NONE);
    /* once it no longer waits, Enter has nothing to do */
    rs->steps[1].awaiting_end = 0;
    assert_int_equal(key(UI_KEY_ENTER), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    draw_panel(80, 12, 0);
    assert_false(find("running until you say so"));
}

static void test_type_gate_wants_the_phrase(void **state) {
    (void)state;
    assert_int_equal(key(UI_KEY_ENTER), HR);
    assert_int_equal(cmd.kind, CMD_NONE); /* only the input opens */
    assert_int_equal(v->overlay, OVERLAY_INPUT);
    assert_int_equal(v->input_kind, INPUT_PHRASE);
    /* keys are text now: q, p, a and s do not act */
    type("qpas");
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(v->input, "qpas");
    assert_int_equal(key(UI_KEY_BACKSPACE), HR);
    assert_string_equal(v->input, "qpa");
    for (int i = 0; i < 3; i++) key(UI_KEY_BACKSPACE);
    key(UI_KEY_BACKSPACE); /* on empty: harmless */
    assert_string_equal(v->input, "");

    /* a wrong phrase: refused, said so, the input stays open and empties;
     * it still reaches the runner, which refuses and journals it */
    type("10.0.0.8:6379/1");
    assert_int_equal(key(UI_KEY_ENTER), HR);
    assert_int_equal(cmd.kind, CMD_CONFIRM);
    assert_string_equal(cmd.text, "10.0.0.8:6379/1");
    assert_int_equal(v->overlay, OVERLAY_INPUT);
    assert_string_equal(v->input, "");
    assert_non_null(strstr(v->input_err, "not the phrase"));
    assert_non_null(strstr(v->input_err, "nothing was started"));
    assert_non_null(strstr(v->input_err, "10.0.0.8:6379/0"));

    /* the right one */
    type("10.0.0.8:6379/0");
    assert_int_equal(key(UI_KEY_ENTER), HR);
    assert_int_equal(cmd.kind, CMD_CONFIRM);
    assert_string_equal(cmd.step, "empty-target");
    assert_string_equal(cmd.text, "10.0.0.8:6379/0");
    assert_int_equal(v->overlay, OVERLAY_NONE);
}

static void test_escape_cancels_input(void **state) {
    (void)state;
    key(UI_KEY_ENTER);
    type("10.0");
    assert_int_equal(key(UI_KEY_ESC), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_string_equal(v->flash, "cancelled; nothing was run");
}

static void test_skip_asks_why(void **state) {
    (void)state;
    assert_int_equal(key('s'), HR);
    assert_int_equal(v->overlay, OVERLAY_INPUT);
    assert_int_equal(v->input_kind, INPUT_SKIP_REASON);
    assert_string_equal(v->input_step, "empty-target");
    key(UI_KEY_ENTER); /* no reason: refused */
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_non_null(strstr(v->input_err, "say why"));
    type("target was emptied by hand");
    key(UI_KEY_ENTER);
    assert_int_equal(cmd.kind, CMD_SKIP);
    assert_string_equal(cmd.step, "empty-target");
    assert_string_equal(cmd.text, "target was emptied by hand");
    assert_int_equal(v->overlay, OVERLAY_NONE);

    /* while a step runs, s offers the next pending one */
    rs->state = RUNNER_RUNNING;
    rs->steps[1].state = STEP_RUNNING;
    key('s');
    assert_string_equal(v->input_step, "copy");
    key(UI_KEY_ESC);
    /* after the end, nothing */
    rs->state = RUNNER_DONE;
    key('s');
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_string_equal(v->flash, "the run has ended");
}

static void test_abort_asks_first(void **state) {
    (void)state;
    assert_int_equal(key('a'), HR);
    assert_int_equal(v->overlay, OVERLAY_CONFIRM_ABORT);
    assert_int_equal(cmd.kind, CMD_NONE);
    key('n');
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_string_equal(v->flash, "abort cancelled; the run goes on");
    key('a');
    assert_int_equal(key('y'), HR);
    assert_int_equal(cmd.kind, CMD_ABORT);
    assert_string_equal(cmd.log, ""); /* the runner logs "abort requested by …" */
    assert_false(v->quit_pending);   /* the console stays to show the end */
}

static void test_quit_aborts_then_leaves(void **state) {
    (void)state;
    assert_int_equal(key('q'), HR);
    assert_int_equal(v->overlay, OVERLAY_CONFIRM_QUIT);
    assert_int_equal(key('y'), HR);
    assert_int_equal(cmd.kind, CMD_ABORT);
    assert_non_null(strstr(cmd.log, "quit confirmed"));
    assert_true(v->quit_pending);
    assert_false(view_can_leave(v, &rs->engine));
    rs->state = RUNNER_ABORTED;
    assert_true(view_can_leave(v, &rs->engine));

    /* after the end, q leaves at once */
    reset(NULL);
    rs->state = RUNNER_DONE;
    assert_int_equal(key('q'), VIEW_HANDLED | VIEW_QUIT);

    /* Ctrl-C: the abort without the question */
    reset(NULL);
    assert_int_equal(key(UI_KEY_INTERRUPT), HR);
    assert_int_equal(cmd.kind, CMD_ABORT);
    assert_non_null(strstr(cmd.log, "interrupt (Ctrl-C)"));
    assert_true(v->quit_pending);
}

static void test_copy_keys_need_a_copy(void **state) {
    (void)state;
    assert_int_equal(key('p'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(v->flash, "no copy running: these keys steer a copy step");
    key('+');
    assert_int_equal(cmd.kind, CMD_NONE);

    rs->engine_step = 2;
    rs->engine_live = 1;
    rs->engine.state = ENGINE_RUNNING;
    rs->engine.workers_target = rs->engine.nworkers = 4;
    assert_int_equal(key('p'), HR);
    assert_int_equal(cmd.kind, CMD_PAUSE);
    assert_int_equal(key('+'), HR);
    assert_int_equal(cmd.kind, CMD_SET_WORKERS);
    assert_int_equal(cmd.workers, 5);
}

/* ---- the backend -------------------------------------------------------- */

typedef struct Fake {
    char calls[1024];
} Fake;

static void rec(Fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec(Fake *f, const char *fmt, ...) {
    size_t len = strlen(f->calls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->calls + len, sizeof f->calls - len, fmt, ap);
    va_end(ap);
}

static int f_confirm(void *c, const char *step_id, const char *phrase, char *err, size_t errlen) {
    rec(c, "confirm %s [%s]\n", step_id, phrase);
    if (strcmp(step_id, "empty-target") == 0 && strcmp(phrase, "10.0.0.8:6379/0") != 0) {
        snprintf(err, errlen, "that is not the phrase");
        return -1;
    }
    return 0;
}
static int f_skip(void *c, const char *step_id, const char *reason, char *err, size_t errlen) {
    (void)err, (void)errlen;
    rec(c, "skip %s [%s]\n", step_id, reason);
    return 0;
}
static void f_abort(void *c) { rec(c, "abort\n"); }
static void f_log(void *c, EventLevel l, const char *t) {
    rec(c, "log %s %s\n", l == EV_OPERATOR ? "op" : "?", t);
}

static void test_command_exec(void **state) {
    (void)state;
    Fake f;
    memset(&f, 0, sizeof f);
    ConsoleBackend b = {.ctx = &f, .log = f_log, .confirm = f_confirm, .skip = f_skip,
                        .abort_run = f_abort};
    char err[256];
    key(UI_KEY_ENTER);
    type("wrong");
    key(UI_KEY_ENTER);
    assert_int_equal(view_command_exec(&b, &cmd, err, sizeof err), -1);
    assert_string_equal(err, "that is not the phrase");
    type("10.0.0.8:6379/0");
    key(UI_KEY_ENTER);
    assert_int_equal(view_command_exec(&b, &cmd, err, sizeof err), 0);
    key('s');
    type("why");
    key(UI_KEY_ENTER);
    assert_int_equal(view_command_exec(&b, &cmd, err, sizeof err), 0);
    key('q');
    key('y');
    assert_int_equal(view_command_exec(&b, &cmd, err, sizeof err), 0);
    assert_string_equal(f.calls, "confirm empty-target [wrong]\n"
                                 "confirm empty-target [10.0.0.8:6379/0]\n"
                                 "skip empty-target [why]\n"
                                 "log op quit confirmed: the run is aborted; ferry exits once the "
                                 "current step has stopped\n"
                                 "abort\n");
}

/* ---- the log ----------------------------------------------------------- */

static void test_ingest_run(void **state) {
    (void)state;
    rs->nlog = 2;
    rs->log[0].seq = 1;
    rs->log[0].level = EV_INFO;
    snprintf(rs->log[0].step, sizeof rs->log[0].step, "preflight");
    snprintf(rs->log[0].text, sizeof rs->log[0].text, "preflight passed");
    rs->log[1].seq = 2;
    rs->log[1].level = EV_OPERATOR;
    snprintf(rs->log[1].text, sizeof rs->log[1].text, "run started");
    view_ingest_run(v, rs);
    assert_int_equal(v->log_len, 2);
    assert_string_equal(view_log_at(v, 0)->text, "preflight: preflight passed");
    assert_string_equal(view_log_at(v, 1)->text, "run started");
    view_ingest_run(v, rs); /* again: nothing new */
    assert_int_equal(v->log_len, 2);

    /* the copy's own events follow, numbered on */
    rs->engine_step = 2;
    rs->engine.nlog = 1;
    rs->engine.log[0].seq = 1;
    snprintf(rs->engine.log[0].text, sizeof rs->engine.log[0].text, "copy started: 1 db(s)");
    view_ingest_run(v, rs);
    assert_int_equal(v->log_len, 3);
    assert_string_equal(view_log_at(v, 2)->text, "copy started: 1 db(s)");
    assert_true(view_log_at(v, 2)->seq > view_log_at(v, 1)->seq);
    /* a second copy step's engine starts its numbering again */
    rs->engine_step = 4;
    view_ingest_run(v, rs);
    assert_int_equal(v->log_len, 4);
}

/* ---- whole screens ------------------------------------------------------- */

static void screen(int w, int h) {
    Layout L;
    layout_compute_run(w, h, rs->nsteps + 3, &L);
    view_set_layout(v, &L);
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, w, h), 0);
    view_build_screen(v, &rs->engine, &L, &grid, 1000);
}

static void test_screens(void **state) {
    (void)state;
    static const int sizes[][2] = {{80, 24}, {120, 40}, {200, 60}};
    for (size_t i = 0; i < 3; i++) {
        screen(sizes[i][0], sizes[i][1]);
        char b[1024];
        row(0, b, sizeof b);
        assert_non_null(strstr(b, "WAITING"));
        assert_non_null(strstr(b, "step 2/5"));
        /* every panel of a run; the Follower only while a follow step's follower runs */
        for (int p = 0; p < PANEL__COUNT; p++)
            assert_int_equal(find(panel_title((PanelId)p)), p != PANEL_FOLLOWER);
        assert_true(find("empty-target"));
        assert_true(find("waiting for you"));
        assert_true(find("no copy running"));
        row(sizes[i][1] - 1, b, sizeof b);
        assert_non_null(strstr(b, "Enter type phrase"));
        assert_non_null(strstr(b, "q quit"));
    }
    /* the input line shows what was typed, and the refusal */
    key(UI_KEY_ENTER);
    type("10.0.0.8");
    screen(80, 24);
    assert_true(find("Type to confirm"));
    assert_true(find("> 10.0.0.8_"));
    type(":6379/9");
    key(UI_KEY_ENTER);
    screen(80, 24);
    assert_true(find("that is not the phrase"));
    key(UI_KEY_ESC);
    /* help lists the runbook keys */
    key('?');
    screen(120, 40);
    assert_true(find("pass the waiting gate"));
    assert_true(find("abort the run; asks first"));
    key('x');
    /* the abort question */
    key('a');
    screen(120, 40);
    assert_true(find("Abort the run?"));
    assert_true(find("Step empty-target is waiting."));
    key('n');
    /* a running copy: the copy panels draw it, the status bar says so */
    rs->state = RUNNER_RUNNING;
    rs->steps[1].state = STEP_DONE;
    rs->steps[2].state = STEP_RUNNING;
    rs->current = 2;
    rs->engine_step = 2;
    rs->engine_live = 1;
    rs->engine.state = ENGINE_PAUSED;
    rs->engine.nworkers = rs->engine.workers_target = 4;
    screen(120, 40);
    char top[1024];
    row(0, top, sizeof top);
    assert_non_null(strstr(top, "PAUSED")); /* the copy step is paused */
    assert_non_null(strstr(top, "step 3/5"));
    assert_non_null(strstr(top, "4 workers"));
    assert_false(find("no copy running"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_panel_lists_every_step, reset),
        cmocka_unit_test_setup(test_panel_every_state, reset),
        cmocka_unit_test_setup(test_panel_end_of_run, reset),
        cmocka_unit_test_setup(test_panel_keeps_current_in_view, reset),
        cmocka_unit_test_setup(test_panel_narrow_and_ascii, reset),
        cmocka_unit_test_setup(test_runbook_scrolls_when_focused, reset),
        cmocka_unit_test_setup(test_enter_confirms_a_confirm_gate, reset),
        cmocka_unit_test_setup(test_enter_ends_a_step_awaiting_the_operator, reset),
        cmocka_unit_test_setup(test_type_gate_wants_the_phrase, reset),
        cmocka_unit_test_setup(test_escape_cancels_input, reset),
        cmocka_unit_test_setup(test_skip_asks_why, reset),
        cmocka_unit_test_setup(test_abort_asks_first, reset),
        cmocka_unit_test_setup(test_quit_aborts_then_leaves, reset),
        cmocka_unit_test_setup(test_copy_keys_need_a_copy, reset),
        cmocka_unit_test_setup(test_command_exec, reset),
        cmocka_unit_test_setup(test_ingest_run, reset),
        cmocka_unit_test_setup(test_screens, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
