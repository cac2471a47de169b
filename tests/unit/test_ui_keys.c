/* Key handling: each key's flags (handled / redraw / quit), the command it
 * asks the loop to run, the log line the console adds (only for what the
 * engine cannot know: the engine logs its control calls itself), and what
 * view_command_run() does with a fake backend. Also the log ingest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layout.h"
#include "view.h"

static ConsoleView *v;
static EngineSnapshot *s;
static UiCommand cmd;

static int setup(void **state) {
    (void)state;
    v = calloc(1, sizeof *v);
    s = calloc(1, sizeof *s);
    return v && s ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(v);
    free(s);
    return 0;
}

static int reset(void **state) {
    (void)state;
    view_init(v, "t", 0);
    memset(s, 0, sizeof *s);
    s->state = ENGINE_RUNNING;
    s->workers_target = s->nworkers = 8;
    s->stats.rate_status = RATE_OK;
    s->stats.keys_rate = 33000;
    Layout L;
    layout_compute(120, 40, &L);
    view_set_layout(v, &L);
    return 0;
}

static int key(int k) {
    return view_handle_key(v, s, k, 1000, &cmd);
}

#define HR (VIEW_HANDLED | VIEW_REDRAW)

static void test_pause_resume(void **state) {
    (void)state;
    assert_int_equal(key('p'), HR);
    assert_int_equal(cmd.kind, CMD_PAUSE);
    assert_string_equal(cmd.log, ""); /* the engine logs "paused: …" itself */
    assert_string_equal(v->flash, "paused; p resumes");
    s->state = ENGINE_PAUSED;
    assert_int_equal(key('p'), HR);
    assert_int_equal(cmd.kind, CMD_RESUME);
    assert_string_equal(cmd.log, "");
    assert_string_equal(v->flash, "resumed");
    /* after the end there is nothing to pause: feedback, no command */
    s->state = ENGINE_DONE;
    assert_int_equal(key('p'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(cmd.log, "");
    assert_string_equal(v->flash, "the run has ended");
    s->state = ENGINE_STOPPING;
    assert_int_equal(key('p'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
}

static void test_workers_keys(void **state) {
    (void)state;
    assert_int_equal(key('+'), HR);
    assert_int_equal(cmd.kind, CMD_SET_WORKERS);
    assert_int_equal(cmd.workers, 9);
    assert_string_equal(cmd.log, "");
    assert_string_equal(v->flash, "workers 8 → 9");
    assert_int_equal(key('='), HR); /* '+' without shift */
    assert_int_equal(cmd.workers, 9);
    assert_int_equal(key('-'), HR);
    assert_int_equal(cmd.workers, 7);
    s->workers_target = 1;
    assert_int_equal(key('-'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(v->flash, "workers: already 1 (the minimum)");
    s->workers_target = ENGINE_MAX_WORKERS;
    assert_int_equal(key('+'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(v->flash, "workers: already 64 (the maximum)");
}

static void test_rate_steps(void **state) {
    (void)state;
    /* `[` from no limit: the highest step below the current rate */
    assert_true(view_rate_step(0, 33000, -1) == 20000);
    assert_true(view_rate_step(0, 250000, -1) == 100000);
    assert_true(view_rate_step(0, 0, -1) == 100000);   /* rate unknown */
    assert_true(view_rate_step(0, 500, -1) == 1000);
    /* down the ladder and back up */
    double steps[] = {100000, 50000, 20000, 10000, 5000, 2000, 1000};
    double lim = 0;
    for (int i = 0; i < 7; i++) {
        lim = view_rate_step(lim, 0, -1);
        assert_true(lim == steps[i]);
    }
    assert_true(view_rate_step(1000, 0, -1) == 1000); /* the lowest step stays */
    for (int i = 5; i >= 0; i--) {
        lim = view_rate_step(lim, 0, 1);
        assert_true(lim == steps[i]);
    }
    assert_true(view_rate_step(100000, 0, 1) == 0); /* above 100k: off */
    assert_true(view_rate_step(0, 0, 1) == 0);
    /* a limit set on the command line between steps */
    assert_true(view_rate_step(7500, 0, -1) == 5000);
    assert_true(view_rate_step(7500, 0, 1) == 10000);
    assert_true(view_rate_step(500, 0, -1) == 500);
    assert_true(view_rate_step(250000, 0, 1) == 0);

    char b[32];
    view_fmt_rate_limit(b, sizeof b, 0);
    assert_string_equal(b, "off");
    view_fmt_rate_limit(b, sizeof b, 20000);
    assert_string_equal(b, "20k keys/s");
    view_fmt_rate_limit(b, sizeof b, 7500);
    assert_string_equal(b, "7500 keys/s");
}

static void test_rate_keys(void **state) {
    (void)state;
    assert_int_equal(key('['), HR);
    assert_int_equal(cmd.kind, CMD_SET_RATE);
    assert_true(cmd.rate == 20000);
    assert_string_equal(cmd.log, "");
    assert_string_equal(v->flash, "rate limit off → 20k keys/s");
    s->rate_limit = 20000;
    assert_int_equal(key(']'), HR);
    assert_true(cmd.rate == 50000);
    s->rate_limit = 100000;
    assert_int_equal(key(']'), HR);
    assert_true(cmd.rate == 0);
    assert_string_equal(cmd.log, "");
    assert_string_equal(v->flash, "rate limit 100k keys/s → off");
    s->rate_limit = 0;
    assert_int_equal(key(']'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(v->flash, "rate limit: already off");
    /* a stale rate is not used to pick the step */
    s->stats.rate_status = RATE_STALE;
    assert_int_equal(key('['), HR);
    assert_true(cmd.rate == 100000);
    /* paused a moment ago: the rate now is ~0, the last 30 s say 30k */
    s->state = ENGINE_PAUSED;
    s->stats.rate_status = RATE_OK;
    s->stats.keys_rate = 0;
    s->stats.hist_len = 100;
    for (int i = 0; i < 100; i++) s->stats.keys_hist[i] = i < 95 ? 30000 : 0;
    assert_true(view_reference_rate(s) == 25000);
    assert_int_equal(key('['), HR);
    assert_true(cmd.rate == 20000); /* not 1k: a pause is not a slow source */
}

static void test_quit_confirm(void **state) {
    (void)state;
    /* in progress: ask */
    assert_int_equal(key('q'), HR);
    assert_int_equal(v->overlay, OVERLAY_CONFIRM_QUIT);
    assert_int_equal(cmd.kind, CMD_NONE);
    /* anything but y keeps going */
    assert_int_equal(key('n'), HR);
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_false(v->quit_pending);
    assert_string_equal(v->flash, "quit cancelled; the copy goes on");
    s->state = ENGINE_PAUSED;
    key('q');
    key('n');
    assert_string_equal(v->flash, "quit cancelled; the copy stays paused");
    s->state = ENGINE_RUNNING;
    assert_int_equal(key('q'), HR);
    assert_int_equal(key('q'), HR); /* a second q is not a yes */
    assert_false(v->quit_pending);
    /* y: stop cleanly; not QUIT yet — the loop waits for a final state */
    assert_int_equal(key('q'), HR);
    assert_int_equal(key('y'), HR);
    assert_int_equal(cmd.kind, CMD_STOP);
    assert_true(v->quit_pending);
    /* the engine logs "stop requested"; the console says why and what next */
    assert_string_equal(cmd.log, "quit confirmed: ferry exits once the workers have stopped");
    /* further q while stopping: no second stop */
    assert_int_equal(key('q'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
    /* controls are off while stopping */
    assert_int_equal(key('+'), HR);
    assert_int_equal(cmd.kind, CMD_NONE);
}

static void test_quit_without_question(void **state) {
    (void)state;
    EngineState finals[] = {ENGINE_DONE, ENGINE_STOPPED, ENGINE_FAILED, ENGINE_IDLE};
    for (int i = 0; i < 4; i++) {
        reset(NULL);
        s->state = finals[i];
        assert_int_equal(key('q'), VIEW_HANDLED | VIEW_QUIT);
        assert_int_equal(v->overlay, OVERLAY_NONE);
        assert_int_equal(cmd.kind, CMD_NONE);
    }
    /* already stopping on its own: leave when done, no question, no stop */
    reset(NULL);
    s->state = ENGINE_STOPPING;
    assert_int_equal(key('q'), HR);
    assert_true(v->quit_pending);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_string_equal(cmd.log, "quit: ferry exits once the workers have stopped");
}

static void test_interrupt(void **state) {
    (void)state;
    assert_int_equal(key(UI_KEY_INTERRUPT), HR);
    assert_int_equal(cmd.kind, CMD_STOP);
    assert_string_equal(cmd.log, "interrupt (Ctrl-C): ferry exits once the workers have stopped");
    assert_true(v->quit_pending);
    assert_int_equal(key(UI_KEY_INTERRUPT), HR);
    assert_int_equal(cmd.kind, CMD_NONE); /* one stop is enough */
    assert_string_equal(cmd.log, "");
    s->state = ENGINE_STOPPED;
    assert_int_equal(key(UI_KEY_INTERRUPT), VIEW_HANDLED | VIEW_QUIT);
    /* an interrupt answers an open question too */
    reset(NULL);
    key('q');
    assert_int_equal(key(UI_KEY_INTERRUPT), HR);
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_int_equal(cmd.kind, CMD_STOP);
}

static void test_help_overlay(void **state) {
    (void)state;
    assert_int_equal(key('?'), HR);
    assert_int_equal(v->overlay, OVERLAY_HELP);
    /* any key closes it and does nothing else */
    assert_int_equal(key('p'), HR);
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_int_equal(cmd.kind, CMD_NONE);
}

static void test_focus_cycle(void **state) {
    (void)state;
    assert_int_equal(v->focus, PANEL_LOG);
    PanelId order[] = {PANEL_THROUGHPUT, PANEL_WORKERS, PANEL_SERVERS, PANEL_LOG};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(key(UI_KEY_TAB), HR);
        assert_int_equal(v->focus, order[i]);
    }
    assert_int_equal(key(UI_KEY_BTAB), HR);
    assert_int_equal(v->focus, PANEL_SERVERS);
}

static void add(uint64_t seq, const char *text) {
    if (s->nlog == ENGINE_SNAPSHOT_LOG) {
        memmove(s->log, s->log + 1, sizeof(Event) * (ENGINE_SNAPSHOT_LOG - 1));
        s->nlog--;
    }
    Event *e = &s->log[s->nlog++];
    memset(e, 0, sizeof *e);
    e->seq = seq;
    e->level = EV_INFO;
    snprintf(e->text, sizeof e->text, "%s", text);
}

static void test_log_scroll_keys(void **state) {
    (void)state;
    for (uint64_t i = 1; i <= 60; i++) add(i, "x");
    view_ingest(v, s);
    int page = v->page_rows[PANEL_LOG];
    assert_true(page > 2);
    assert_int_equal(key(UI_KEY_UP), HR);
    assert_int_equal(v->log_anchor, 59);
    assert_int_equal(key(UI_KEY_PGUP), HR);
    assert_int_equal(v->log_anchor, (uint64_t)(59 - (page - 1)));
    assert_int_equal(key(UI_KEY_HOME), HR);
    assert_int_equal(v->log_anchor, (uint64_t)page); /* oldest page: seq 1 at the top */
    assert_int_equal(key(UI_KEY_UP), HR);
    assert_int_equal(v->log_anchor, (uint64_t)page); /* cannot go above it */
    assert_int_equal(key(UI_KEY_END), HR);
    assert_int_equal(v->log_anchor, 0);              /* follow */
    key(UI_KEY_UP);
    assert_int_equal(key(UI_KEY_DOWN), HR);
    assert_int_equal(v->log_anchor, 0);              /* back at the newest: follow */
    /* scroll keys on a panel with nothing to scroll: handled, no redraw */
    v->focus = PANEL_SERVERS;
    assert_int_equal(key(UI_KEY_DOWN), VIEW_HANDLED);
}

static void test_worker_scroll_keys(void **state) {
    (void)state;
    s->nworkers = 30;
    v->focus = PANEL_WORKERS;
    assert_int_equal(key(UI_KEY_DOWN), HR);
    assert_int_equal(v->workers_scroll, 1);
    assert_int_equal(key(UI_KEY_END), HR);
    int page = v->page_rows[PANEL_WORKERS] - 2;
    assert_int_equal(v->workers_scroll, 30 - page);
    assert_int_equal(key(UI_KEY_HOME), HR);
    assert_int_equal(v->workers_scroll, 0);
    assert_int_equal(key(UI_KEY_UP), HR);
    assert_int_equal(v->workers_scroll, 0);
}

static void test_other_keys(void **state) {
    (void)state;
    assert_int_equal(key('t'), HR);
    assert_int_equal(cmd.kind, CMD_NEXT_THEME);
    assert_int_equal(key(UI_KEY_CTRL_L), HR);
    assert_int_equal(cmd.kind, CMD_REPAINT);
    assert_int_equal(key('z'), 0); /* not ours: not handled */
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_int_equal(key(UI_KEY_ESC), VIEW_HANDLED); /* nothing to dismiss */
    view_flash(v, 0, "hello");
    assert_int_equal(key(UI_KEY_ESC), HR);
    assert_string_equal(v->flash, "");
}

/* ---- the fake backend ------------------------------------------------- */

/* Records every call in order, one per line, so that a test can say exactly
 * what the backend saw: each control call once, and no line that repeats
 * what the engine logs itself. Like the real engine, its control calls add
 * their own EV_OPERATOR line ("engine: …" here). */
typedef struct Fake {
    char calls[4096];
    int nlog; /* lines the console logged */
} Fake;

static void rec(Fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec(Fake *f, const char *fmt, ...) {
    size_t len = strlen(f->calls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->calls + len, sizeof f->calls - len, fmt, ap);
    va_end(ap);
}

static void f_pause(void *c) { rec(c, "pause\n"); }
static void f_resume(void *c) { rec(c, "resume\n"); }
static void f_stop(void *c) { rec(c, "stop\n"); }
static void f_workers(void *c, int n) { rec(c, "workers %d\n", n); }
static void f_rate(void *c, double r) { rec(c, "rate %.0f\n", r); }
static void f_log(void *c, EventLevel l, const char *t) {
    Fake *f = c;
    f->nlog++;
    rec(f, "log %s %s\n", l == EV_OPERATOR ? "op" : "?", t);
}

/* Presses k and runs what it asks for. */
static void press(const ConsoleBackend *b, int k) {
    key(k);
    view_command_run(b, &cmd);
}

static void test_command_run(void **state) {
    (void)state;
    Fake f;
    memset(&f, 0, sizeof f);
    ConsoleBackend b = {.ctx = &f, .pause = f_pause, .resume = f_resume, .set_workers = f_workers, .set_rate = f_rate, .request_stop = f_stop, .log = f_log};
    /* control calls: one call each, and no console line (the engine has one) */
    press(&b, 'p');
    s->state = ENGINE_PAUSED;
    press(&b, 'p');
    s->state = ENGINE_RUNNING;
    press(&b, '+');
    s->workers_target = 9;
    press(&b, '-');
    s->workers_target = 8;
    press(&b, '[');
    s->rate_limit = 20000;
    press(&b, ']');
    assert_string_equal(f.calls, "pause\n"
                                 "resume\n"
                                 "workers 9\n"
                                 "workers 8\n"
                                 "rate 20000\n"
                                 "rate 50000\n");
    assert_int_equal(f.nlog, 0);

    /* keys that only change the view reach nothing */
    f.calls[0] = '\0';
    press(&b, '?');
    press(&b, 'x'); /* closes help */
    press(&b, UI_KEY_TAB);
    press(&b, UI_KEY_UP);
    press(&b, 't'); /* the loop's: the theme line is logged there */
    press(&b, UI_KEY_CTRL_L);
    press(&b, 'q'); /* the question: nothing to run yet */
    assert_string_equal(f.calls, "");

    /* the quit: the console's line (why), then the one stop call */
    press(&b, 'y');
    assert_string_equal(f.calls,
                        "log op quit confirmed: ferry exits once the workers have stopped\n"
                        "stop\n");
    assert_int_equal(f.nlog, 1);
    /* nothing more while stopping */
    press(&b, 'q');
    press(&b, UI_KEY_INTERRUPT);
    press(&b, 'p');
    assert_int_equal(strlen(f.calls), strlen("log op quit confirmed: ferry exits once the "
                                             "workers have stopped\nstop\n"));

    /* Ctrl-C: its own line, then one stop */
    reset(NULL);
    f.calls[0] = '\0';
    press(&b, UI_KEY_INTERRUPT);
    assert_string_equal(f.calls,
                        "log op interrupt (Ctrl-C): ferry exits once the workers have stopped\n"
                        "stop\n");

    /* a backend without a log function still gets the call */
    reset(NULL);
    f.calls[0] = '\0';
    b.log = NULL;
    press(&b, 'q');
    press(&b, 'y');
    assert_string_equal(f.calls, "stop\n");
}

static void test_ingest(void **state) {
    (void)state;
    add(1, "one");
    add(2, "two");
    view_ingest(v, s);
    view_ingest(v, s); /* the same snapshot twice adds nothing */
    assert_int_equal(v->log_len, 2);
    add(3, "three");
    view_ingest(v, s);
    assert_int_equal(v->log_len, 3);
    assert_string_equal(view_log_at(v, 2)->text, "three");
    /* a burst bigger than a snapshot: the gap is said, not hidden */
    for (uint64_t i = 4; i <= 200; i++) add(i, "burst");
    view_ingest(v, s);
    assert_int_equal(v->log_len, 3 + 1 + ENGINE_SNAPSHOT_LOG);
    const Event *gap = view_log_at(v, 3);
    assert_int_equal(gap->level, EV_WARN);
    assert_string_equal(gap->text,
                        "133 events not shown here (too many at once; the journal has them)");
    assert_int_equal(view_log_at(v, v->log_len - 1)->seq, 200);
    /* the ring keeps the newest VIEW_LOG_CAP */
    for (uint64_t i = 201; i <= 201 + VIEW_LOG_CAP; i++) {
        add(i, "more");
        view_ingest(v, s);
    }
    assert_int_equal(v->log_len, VIEW_LOG_CAP);
    assert_int_equal(view_log_at(v, VIEW_LOG_CAP - 1)->seq, 201 + VIEW_LOG_CAP);
    assert_int_equal(view_log_at(v, 0)->seq, 202);
}

static void test_states(void **state) {
    (void)state;
    assert_true(view_state_final(ENGINE_DONE));
    assert_true(view_state_final(ENGINE_STOPPED));
    assert_true(view_state_final(ENGINE_FAILED));
    assert_false(view_state_final(ENGINE_RUNNING));
    assert_false(view_state_final(ENGINE_STOPPING));
    assert_true(view_state_in_progress(ENGINE_PAUSED));
    assert_false(view_state_in_progress(ENGINE_DONE));
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_pause_resume),   T(test_workers_keys),      T(test_rate_steps),
        T(test_rate_keys),      T(test_quit_confirm),      T(test_quit_without_question),
        T(test_interrupt),      T(test_help_overlay),      T(test_focus_cycle),
        T(test_log_scroll_keys), T(test_worker_scroll_keys), T(test_other_keys),
        T(test_command_run),    T(test_ingest),            T(test_states),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
