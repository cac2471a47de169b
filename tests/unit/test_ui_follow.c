/* The Follower panel from hand-made FollowStatus values: the model's
 * verdicts (lag, read but not applied, caught up, a stale source sample, a
 * silent link), each state drawn, numbers formatted, only lag and errors
 * coloured; the panel stays inside its rectangle at every size of the
 * follow screen and of a run's follower band (80x24..300x100), and draws
 * only ASCII in ASCII mode; ferry follow's keys (q asks, y leaves with a
 * log line, Ctrl-C leaves, copy keys refused); and the run console showing
 * a follow step's background follower. */
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

#define NOW 100000 /* the frame's monotonic time */

static ConsoleView *v;
static FollowStatus *st;
static EngineSnapshot *es;
static UiGrid grid;

static int setup(void **state) {
    (void)state;
    v = calloc(1, sizeof *v);
    st = calloc(1, sizeof *st);
    es = calloc(1, sizeof *es);
    return v && st && es ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(v);
    free(st);
    free(es);
    ui_grid_free(&grid);
    return 0;
}

/* Streaming after a full sync, caught up, source sampled 0.4 s ago. */
static int reset(void **state) {
    (void)state;
    view_init(v, "follow  redis://10.0.0.7:6379 → redis://10.0.0.8:6379", 0);
    v->follow_mode = 1;
    memset(st, 0, sizeof *st);
    memset(es, 0, sizeof *es);
    es->state = ENGINE_RUNNING;
    st->state = FOLLOW_STREAMING;
    snprintf(st->replid, sizeof st->replid, "8c4f1e0b7d2a49c6a1f3e5d7c9b0a2e4f6081a3c");
    st->offset = st->received = st->acked = st->source_offset = 123456789;
    st->source_offset_ms = NOW - 400;
    st->last_io_ms = NOW - 300;
    st->snapshot_keys = 3000000;
    st->snapshot_typed = 12;
    st->snapshot_expired = 4;
    st->snapshot_filtered = 10;
    st->snapshot_bytes = st->snapshot_size = 50 << 20;
    st->commands = 12345;
    st->full_syncs = 1;
    view_ingest_follow(v, st);
    v->follow_start_ms = NOW - 65000;
    return 0;
}

static void draw(int w, int h) {
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, w, h), 0);
    UiCanvas c = ui_canvas(&grid, v->ascii ? &ui_glyphs_ascii : &ui_glyphs_unicode);
    panel_follow(&c, v, st, "", NOW, 0);
}

static int find(const char *s) {
    return ui_grid_find(&grid, s, NULL, NULL);
}

static int role_of(const char *s) {
    int row, col;
    if (!ui_grid_find(&grid, s, &row, &col)) return -1;
    return ui_grid_role_at(&grid, row, col);
}

static void dump(void) {
    char b[2048];
    for (int y = 0; y < grid.h; y++) {
        ui_grid_row_text(&grid, y, b, sizeof b);
        print_message("|%s|\n", b);
    }
}

/* No cell of the grid in a warning or error role. */
static int calm(void) {
    for (int y = 0; y < grid.h; y++)
        for (int x = 0; x < grid.w; x++) {
            int r = ui_grid_role_at(&grid, y, x);
            if (r == ROLE_VALUE_WARN || r == ROLE_VALUE_ERROR || r == ROLE_STALE) return 0;
        }
    return 1;
}

static void test_model(void **state) {
    (void)state;
    FollowModel m;
    follow_model_build(st, NOW, &m);
    assert_true(m.caught_up);
    assert_int_equal(m.lag, 0);
    assert_int_equal(m.unapplied, 0);
    assert_int_equal(m.idle_ms, 300);
    assert_int_equal(m.sample_age_ms, 400);
    assert_false(m.sample_stale);
    assert_true(m.snapshot_progress == 1.0);

    /* behind: the source's offset is ahead, and some of it is read, not applied */
    st->source_offset = st->offset + 4096;
    st->received = st->offset + 1024;
    follow_model_build(st, NOW, &m);
    assert_false(m.caught_up);
    assert_int_equal(m.lag, 4096);
    assert_int_equal(m.unapplied, 1024);
    assert_int_equal(m.lag_role, ROLE_VALUE_WARN);

    /* a sample older than what was applied is no lag */
    st->source_offset = st->offset - 500;
    st->received = st->offset;
    follow_model_build(st, NOW, &m);
    assert_int_equal(m.lag, 0);
    assert_true(m.caught_up);

    /* a stale sample: no verdict of caught up */
    st->source_offset_ms = NOW - 5000;
    follow_model_build(st, NOW, &m);
    assert_true(m.sample_stale);
    assert_false(m.caught_up);
    assert_int_equal(m.lag_role, ROLE_STALE);

    /* never sampled, nothing applied yet */
    st->source_offset = -1;
    st->offset = -1;
    follow_model_build(st, NOW, &m);
    assert_int_equal(m.lag, -1);
    assert_int_equal(m.sample_age_ms, -1);

    /* a silent link: warn after 20 s, error after 60 s; not while stopped */
    st->last_io_ms = NOW - 25000;
    follow_model_build(st, NOW, &m);
    assert_int_equal(m.idle_role, ROLE_VALUE_WARN);
    st->last_io_ms = NOW - 61000;
    follow_model_build(st, NOW, &m);
    assert_int_equal(m.idle_role, ROLE_VALUE_ERROR);
    st->state = FOLLOW_STOPPED;
    follow_model_build(st, NOW, &m);
    assert_int_equal(m.idle_role, ROLE_VALUE);

    /* snapshot progress; diskless = unknown */
    st->snapshot_size = 200;
    st->snapshot_bytes = 50;
    follow_model_build(st, NOW, &m);
    assert_true(m.snapshot_progress > 0.249 && m.snapshot_progress < 0.251);
    st->snapshot_size = 0;
    follow_model_build(st, NOW, &m);
    assert_true(m.snapshot_progress < 0);

    /* states and their roles */
    assert_string_equal(follow_state_name(FOLLOW_RECONNECTING), "reconnecting");
    assert_int_equal(ui_follow_state_role(FOLLOW_STREAMING), ROLE_OK);
    assert_int_equal(ui_follow_state_role(FOLLOW_FAILED), ROLE_VALUE_ERROR);
    assert_int_equal(ui_follow_status_role(FOLLOW_SNAPSHOT), ROLE_STATUS_WARN);
}

static void test_caught_up_is_calm(void **state) {
    (void)state;
    draw(100, 8);
    if (!find("streaming  caught up")) dump();
    assert_true(find("Follower"));
    assert_true(find("streaming  caught up"));
    assert_int_equal(role_of("caught up"), ROLE_OK);
    assert_true(find("offset    applied 123456789  source 123456789  acked 123456789  read 123456789"));
    assert_true(find("last byte 0.3 s ago"));
    assert_true(find("replid 8c4f1e0b7d2a49c6a1f3e5d7c9b0a2e4f6081a3c"));
    assert_true(find("stream    applied 12.3k  target errors 0  dropped 0  mixed 0"));
    assert_true(find("snapshot  keys 3.00M  typed 12  expired 4  filtered 10"));
    assert_true(find("syncs     full 1  partial 0"));
    assert_true(calm());
}

static void test_lag_and_errors_stand_out(void **state) {
    (void)state;
    st->source_offset = st->offset + 12 * 1024;
    st->received = st->offset + 3 * 1024;
    st->errors = 7;
    st->mixed = 2;
    draw(100, 8);
    if (!find("lag 12.0 KiB behind the source")) dump();
    assert_true(find("streaming  lag 12.0 KiB behind the source  3.0 KiB read, not applied"));
    assert_int_equal(role_of("12.0 KiB behind"), ROLE_VALUE_WARN);
    assert_false(find("caught up"));
    assert_true(find("target errors 7"));
    int row, col;
    assert_true(ui_grid_find(&grid, "target errors 7", &row, &col));
    assert_int_equal(ui_grid_role_at(&grid, row, col + 14), ROLE_VALUE_ERROR);
    assert_true(ui_grid_find(&grid, "mixed 2", &row, &col));
    assert_int_equal(ui_grid_role_at(&grid, row, col + 6), ROLE_VALUE_WARN);
    /* the read offset is ahead of the applied one: warn there too */
    assert_true(ui_grid_find(&grid, "read 123459861", &row, &col));
    assert_int_equal(ui_grid_role_at(&grid, row, col + 5), ROLE_VALUE_WARN);
    /* a stale sample says so instead of claiming a lag */
    st->source_offset_ms = NOW - 7000;
    draw(120, 8);
    assert_true(find("(source sampled 7.0 s ago)"));
    assert_int_equal(role_of("12.0 KiB behind"), ROLE_STALE);
}

static void test_states(void **state) {
    (void)state;
    st->state = FOLLOW_CONNECTING;
    st->offset = st->received = st->acked = st->source_offset = -1;
    st->replid[0] = '\0';
    st->last_io_ms = 0;
    st->full_syncs = 0;
    st->snapshot_keys = st->snapshot_filtered = 0;
    draw(90, 8);
    assert_true(find("connecting  handshake with the source…"));
    assert_true(find("applied —  source —  acked —  read —"));
    assert_true(find("last byte none yet"));
    assert_false(find("snapshot  keys"));

    /* the snapshot: progress right under the first row */
    st->state = FOLLOW_SNAPSHOT;
    st->snapshot_size = 20 << 20;
    st->snapshot_bytes = 12 << 20;
    st->snapshot_keys = 1500;
    draw(90, 8);
    if (!find("60%")) dump();
    assert_true(find("snapshot  loading the source's snapshot into the target"));
    int row, col;
    assert_true(ui_grid_find(&grid, "loading  ", &row, &col));
    assert_int_equal(row, 2);
    assert_true(find("60%  12.0 MiB of 20.0 MiB"));
    assert_true(find("█"));
    assert_true(find("keys 1500"));
    st->snapshot_size = 0;
    draw(90, 8);
    assert_true(find("12.0 MiB read (diskless: size unknown)"));

    st->state = FOLLOW_RECONNECTING;
    st->offset = 5000;
    draw(90, 8);
    assert_true(find("reconnecting  link to the source lost: reconnecting to resume at offset 5000"));
    assert_int_equal(role_of("reconnecting"), ROLE_VALUE_WARN);

    st->state = FOLLOW_STOPPED;
    draw(90, 8);
    assert_true(find("stopped  stopped at applied offset 5000"));

    st->state = FOLLOW_FAILED;
    snprintf(st->error, sizeof st->error,
             "target 10.0.0.8:6379 closed the connection while commands were in flight: which of them "
             "it applied is unknown; empty the target's dbs and follow again");
    draw(90, 8);
    if (!find("failed  target 10.0.0.8:6379")) dump();
    assert_true(find("failed  target 10.0.0.8:6379 closed the connection"));
    assert_int_equal(role_of("target 10.0.0.8"), ROLE_VALUE_ERROR);
    assert_true(find("follow again")); /* wrapped, not cut */

    st->state = FOLLOW_STREAMING;
    st->resumed = 1;
    st->partial_syncs = 1;
    st->offset = st->received = st->source_offset = 5000;
    draw(100, 8);
    assert_true(find("syncs     full 0  partial 1  resumed from its saved position"));
}

/* Every width and height the two layouts give the panel: nothing drawn
 * outside its rectangle, the first rows always there. */
static void check_inside(const Layout *L, int ascii) {
    UiRect r = L->panel[PANEL_FOLLOWER];
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, L->w, L->h), 0);
    UiCanvas screen = ui_canvas(&grid, ascii ? &ui_glyphs_ascii : &ui_glyphs_unicode);
    /* a sentinel everywhere: the panel must leave it outside r */
    for (int i = 0; i < grid.w * grid.h; i++) grid.cells[i].role = ROLE_DIALOG;
    UiCanvas c = ui_canvas_sub(&screen, r.x, r.y, r.w, r.h);
    panel_follow(&c, v, st, "", NOW, 1);
    for (int y = 0; y < grid.h; y++)
        for (int x = 0; x < grid.w; x++) {
            int in = x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
            if (!in && ui_grid_role_at(&grid, y, x) != ROLE_DIALOG)
                fail_msg("%dx%d: the panel wrote (%d,%d) outside %d,%d %dx%d", L->w, L->h, x, y, r.x, r.y,
                         r.w, r.h);
        }
    char b[4096];
    ui_grid_row_text(&grid, r.y + 1, b, sizeof b);
    if (!strstr(b, "streaming")) fail_msg("%dx%d: no state in the first row: %s", L->w, L->h, b);
    ui_grid_row_text(&grid, r.y + 2, b, sizeof b);
    if (!strstr(b, "applied")) fail_msg("%dx%d: no applied offset: %s", L->w, L->h, b);
}

static void test_every_size(void **state) {
    (void)state;
    st->source_offset = st->offset + (1 << 20);
    st->errors = 123456;
    int checked = 0;
    for (int w = LAYOUT_MIN_W; w <= 300; w++)
        for (int h = LAYOUT_MIN_H; h <= 100; h += (w % 10 == 0 ? 1 : 19)) {
            Layout L;
            layout_compute_follow(w, h, &L);
            check_inside(&L, w % 2);
            layout_compute_run_follower(w, h, 8, w % 3 == 0, &L);
            check_inside(&L, 0);
            checked++;
        }
    assert_true(checked > 221 * 5);
}

/* The whole follow screen: status bar, the three panels, the hints; in
 * ASCII mode nothing but ASCII. */
static void test_screen(void **state) {
    (void)state;
    static const int sizes[][2] = {{80, 24}, {120, 40}, {200, 60}, {300, 100}};
    for (int ascii = 0; ascii < 2; ascii++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            v->ascii = ascii;
            Layout L;
            layout_compute_follow(sizes[i][0], sizes[i][1], &L);
            view_set_layout(v, &L);
            ui_grid_free(&grid);
            assert_int_equal(ui_grid_init(&grid, sizes[i][0], sizes[i][1]), 0);
            view_build_screen(v, es, &L, &grid, NOW);
            char b[4096];
            ui_grid_row_text(&grid, 0, b, sizeof b);
            if (!strstr(b, "STREAMING")) dump();
            assert_non_null(strstr(b, " ferry  STREAMING  follow  redis://")); /* the title is cut at 80 */
            assert_non_null(strstr(b, "applied 123456789"));
            assert_non_null(strstr(b, "caught up"));
            assert_non_null(strstr(b, "1m05s"));
            assert_true(find("Follower") && find("Servers") && find("Log"));
            assert_false(find("Throughput") || find("Workers") || find("Runbook"));
            ui_grid_row_text(&grid, sizes[i][1] - 1, b, sizeof b);
            assert_non_null(strstr(b, "? help"));
            assert_non_null(strstr(b, "q quit"));
            if (ascii)
                for (int k = 0; k < grid.w * grid.h; k++)
                    for (int j = 0; j < 4 && grid.cells[k].ch[j]; j++)
                        if ((unsigned char)grid.cells[k].ch[j] >= 0x80)
                            fail_msg("non-ASCII cell %d in ASCII mode at %dx%d", k, sizes[i][0], sizes[i][1]);
        }
    /* a failure: the status bar says it in the error role */
    st->state = FOLLOW_FAILED;
    snprintf(st->error, sizeof st->error, "the source refused PSYNC: NOPERM");
    Layout L;
    layout_compute_follow(120, 40, &L);
    view_build_screen(v, es, &L, &grid, NOW);
    char b[4096];
    ui_grid_row_text(&grid, 0, b, sizeof b);
    assert_non_null(strstr(b, "FAILED  the source refused PSYNC: NOPERM"));
    assert_int_equal(role_of("FAILED"), ROLE_STATUS_ERROR);
}

static void test_keys(void **state) {
    (void)state;
    UiCommand cmd;
    /* q asks; any other key keeps following */
    int f = view_handle_key(v, es, 'q', NOW, &cmd);
    assert_int_equal(v->overlay, OVERLAY_CONFIRM_QUIT);
    assert_false(f & VIEW_QUIT);
    f = view_handle_key(v, es, 'n', NOW, &cmd);
    assert_false(f & VIEW_QUIT);
    assert_int_equal(v->overlay, OVERLAY_NONE);
    assert_non_null(strstr(v->flash, "the follower goes on"));
    /* the question names the offset and the rerun's fate */
    snprintf(v->quit_note, sizeof v->quit_note, "Its position stays in f.state: rerun with it to continue.");
    view_handle_key(v, es, 'q', NOW, &cmd);
    Layout L;
    layout_compute_follow(100, 30, &L);
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, 100, 30), 0);
    view_build_screen(v, es, &L, &grid, NOW);
    assert_true(find("Stop following and quit?"));
    assert_true(find("streaming at applied offset 123456789"));
    assert_true(find("Its position stays in f.state"));
    /* y leaves at once, with a line for the log */
    f = view_handle_key(v, es, 'y', NOW, &cmd);
    assert_true(f & VIEW_QUIT);
    assert_non_null(strstr(cmd.log, "quit confirmed: ferry stops the follower at applied offset 123456789"));
    /* Ctrl-C: no question */
    reset(NULL);
    f = view_handle_key(v, es, UI_KEY_INTERRUPT, NOW, &cmd);
    assert_true(f & VIEW_QUIT);
    assert_non_null(strstr(cmd.log, "interrupt (Ctrl-C)"));
    /* the copy's keys have nothing to steer */
    f = view_handle_key(v, es, 'p', NOW, &cmd);
    assert_int_equal(cmd.kind, CMD_NONE);
    assert_non_null(strstr(v->flash, "nothing to steer"));
    /* a failed follower: q leaves without asking */
    st->state = FOLLOW_FAILED;
    f = view_handle_key(v, es, 'q', NOW, &cmd);
    assert_true(f & VIEW_QUIT);
    /* Tab only visits the panels on the screen */
    view_set_layout(v, &L);
    v->focus = PANEL_LOG;
    view_handle_key(v, es, UI_KEY_TAB, NOW, &cmd);
    assert_int_equal(v->focus, PANEL_FOLLOWER);
    view_handle_key(v, es, UI_KEY_TAB, NOW, &cmd);
    assert_int_equal(v->focus, PANEL_SERVERS);
    /* help lists the follower's keys */
    view_handle_key(v, es, '?', NOW, &cmd);
    view_build_screen(v, es, &L, &grid, NOW);
    assert_true(find("quit; asks first, then stops the follower"));
    assert_false(find("pause / resume"));
}

/* ferry run: a follow step's follower takes the band of throughput |
 * workers while it runs, with the step's id; once it stops the copy's
 * panels come back. */
static void test_in_a_run(void **state) {
    (void)state;
    RunnerSnapshot *rs = calloc(1, sizeof *rs);
    assert_non_null(rs);
    view_init(v, "cutover", 0);
    rs->nsteps = 3;
    snprintf(rs->steps[0].id, sizeof rs->steps[0].id, "follow");
    rs->steps[0].state = STEP_DONE;
    snprintf(rs->steps[1].id, sizeof rs->steps[1].id, "pause-writes");
    rs->steps[1].state = STEP_WAITING;
    snprintf(rs->steps[2].id, sizeof rs->steps[2].id, "wait-offset");
    rs->state = RUNNER_WAITING;
    rs->current = 1;
    rs->engine_step = -1;
    rs->repl_step = -1;
    rs->follow_step = 0;
    rs->follow_live = 1;
    rs->follow = *st;
    rs->follow.source_offset = rs->follow.offset + 2048;
    view_ingest_run(v, rs);
    assert_ptr_equal(v->follow, &rs->follow);
    static const int sizes[][2] = {{80, 24}, {120, 40}, {200, 60}};
    for (int i = 0; i < 3; i++) {
        Layout L;
        layout_compute_run_follower(sizes[i][0], sizes[i][1], rs->nsteps + 3, 0, &L);
        view_set_layout(v, &L);
        ui_grid_free(&grid);
        assert_int_equal(ui_grid_init(&grid, sizes[i][0], sizes[i][1]), 0);
        view_build_screen(v, &rs->engine, &L, &grid, NOW);
        if (!find("step follow")) dump();
        assert_true(find("Follower"));
        assert_true(find("step follow"));
        assert_true(find("lag 2.0 KiB behind the source"));
        assert_true(find("Runbook"));
        assert_false(find("Throughput"));
        char b[4096];
        ui_grid_row_text(&grid, 0, b, sizeof b);
        assert_non_null(strstr(b, "WAITING")); /* the run's status bar, not the follower's */
    }
    /* Tab reaches the follower in a run */
    v->focus = PANEL_RUNBOOK;
    UiCommand cmd;
    view_handle_key(v, &rs->engine, UI_KEY_TAB, NOW, &cmd);
    assert_int_equal(v->focus, PANEL_FOLLOWER);
    /* stopped: no follower view, the band is the copy's again */
    rs->follow_live = 0;
    view_ingest_run(v, rs);
    assert_null(v->follow);
    Layout L;
    layout_compute_run(120, 40, rs->nsteps + 3, &L);
    view_set_layout(v, &L);
    assert_int_equal(v->focus, PANEL_LOG); /* the follower left the screen */
    view_build_screen(v, &rs->engine, &L, &grid, NOW);
    assert_true(find("Throughput"));
    assert_false(find("Follower"));
    free(rs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_model, reset),
        cmocka_unit_test_setup(test_caught_up_is_calm, reset),
        cmocka_unit_test_setup(test_lag_and_errors_stand_out, reset),
        cmocka_unit_test_setup(test_states, reset),
        cmocka_unit_test_setup(test_every_size, reset),
        cmocka_unit_test_setup(test_screen, reset),
        cmocka_unit_test_setup(test_keys, reset),
        cmocka_unit_test_setup(test_in_a_run, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
