/* The replication panel's model from hand-made ReplViews: link and lag
 * first, offsets side by side (with the acknowledged one), the lag
 * sparkline, full-sync progress, errors, stale samples drawn as stale, a
 * step that has ended, a panel with two rows; and the panel in a whole
 * runbook screen. */
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
static ReplView *r;
static UiGrid grid;

static int setup(void **state) {
    (void)state;
    v = calloc(1, sizeof *v);
    r = calloc(1, sizeof *r);
    return v && r ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(v);
    free(r);
    ui_grid_free(&grid);
    return 0;
}

/* Streaming, 1 KiB behind, a minute of lag history. */
static int reset(void **state) {
    (void)state;
    view_init(v, "t", 0);
    memset(r, 0, sizeof *r);
    r->status = RATE_OK;
    r->age_ms = 300;
    snprintf(r->source_role, sizeof r->source_role, "master");
    snprintf(r->target_role, sizeof r->target_role, "slave");
    r->link = REPL_LINK_UP;
    snprintf(r->master_host, sizeof r->master_host, "10.0.0.7");
    r->master_port = 6379;
    r->same_history = 1;
    r->source_offset = 5001024;
    r->target_offset = 5000000;
    r->replica_found = 1;
    r->acked_offset = 5000000;
    r->lag_bytes = 1024;
    r->lag_seconds = 0.5;
    r->source_rate = 2048;
    r->sync_progress = -1;
    r->sync_total_bytes = r->sync_read_bytes = r->sync_left_bytes = -1;
    r->link_down_s = -1;
    r->hist_len = 60;
    for (int i = 0; i < 60; i++) r->lag_hist[i] = (float)(i % 10 == 9 ? 65536 : 1024);
    return 0;
}

static void draw(int w, int h, int live) {
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, w, h), 0);
    UiCanvas c = ui_canvas(&grid, &ui_glyphs_unicode);
    panel_replication(&c, v, r, live, "wait-offset", 0);
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
    char b[1024];
    for (int y = 0; y < grid.h; y++) {
        ui_grid_row_text(&grid, y, b, sizeof b);
        print_message("|%s|\n", b);
    }
}

static void test_streaming(void **state) {
    (void)state;
    draw(60, 7, 1);
    if (!find("link up  lag 1.0 KiB (0.5 s)")) dump();
    assert_true(find("Replication"));
    assert_true(find("wait-offset"));
    assert_true(find("link up  lag 1.0 KiB (0.5 s)"));
    assert_int_equal(role_of("up  lag"), ROLE_OK);
    assert_int_equal(role_of("1.0 KiB"), ROLE_VALUE_WARN); /* behind */
    assert_true(find("source 5001024 │ target 5000000 (acked 5000000)"));
    assert_true(find("lag "));
    assert_true(find("peak 64.0 KiB") || find("peak 64 KiB"));
    assert_true(find("█")); /* the lag spikes */
    assert_true(find("source writes 2.0 KiB/s  target follows 10.0.0.7:6379"));
    assert_false(find("caught up"));
    assert_false(find("stale"));
}

static void test_caught_up(void **state) {
    (void)state;
    r->target_offset = r->acked_offset = r->source_offset;
    r->lag_bytes = 0;
    r->lag_seconds = 0;
    r->caught_up = 1;
    r->acked_equal = 1;
    draw(60, 7, 1);
    if (!find("caught up")) dump();
    assert_true(find("lag 0 B (0.0 s)"));
    assert_int_equal(role_of("caught up"), ROLE_OK);
    assert_int_equal(role_of("0 B"), ROLE_VALUE);
}

static void test_stale_keeps_numbers(void **state) {
    (void)state;
    r->status = RATE_STALE;
    r->age_ms = 5000;
    draw(60, 7, 1);
    if (!find("stale: last sample 5s ago")) dump();
    assert_true(find("stale sample"));                  /* on the rule */
    assert_true(find("stale: last sample 5s ago"));
    assert_true(find("5001024"));                        /* not zero: the last number */
    assert_int_equal(role_of("5001024"), ROLE_STALE);
    assert_int_equal(role_of("up  lag"), ROLE_STALE);
}

static void test_errors(void **state) {
    (void)state;
    snprintf(r->target_error, sizeof r->target_error,
             "target 10.0.0.8:6379: connection refused (retrying)");
    r->status = RATE_STALE;
    draw(70, 7, 1);
    assert_true(find("target 10.0.0.8:6379: connection refused"));
    assert_int_equal(role_of("target 10.0.0.8:6379: connection"), ROLE_VALUE_ERROR);
}

static void test_full_sync(void **state) {
    (void)state;
    r->link = REPL_LINK_SYNC;
    r->sync_active = 1;
    r->sync_total_bytes = 20 * 1048576LL;
    r->sync_read_bytes = 5 * 1048576LL;
    r->sync_progress = 0.25;
    r->target_offset = -1;
    r->lag_bytes = -1;
    r->lag_seconds = -1;
    draw(60, 7, 1);
    if (!find("25%")) dump();
    assert_true(find("link full sync"));
    assert_int_equal(role_of("full sync"), ROLE_PENDING);
    assert_int_equal(role_of("sync █"), ROLE_LABEL); /* the bar's row */
    assert_true(find("25%  5.0 MiB of 20.0 MiB") || find("25%  5 MiB of 20 MiB"));
    assert_true(find("target —"));
    /* diskless: no size */
    r->sync_progress = -1;
    draw(60, 7, 1);
    assert_true(find("size unknown (diskless)"));
}

static void test_sampling_and_ended(void **state) {
    (void)state;
    memset(r, 0, sizeof *r);
    r->status = RATE_INIT;
    r->source_offset = r->target_offset = r->lag_bytes = -1;
    draw(50, 5, 1);
    assert_true(find("link unknown"));
    assert_true(find("sampling"));
    assert_true(find("no samples yet"));

    reset(NULL);
    draw(60, 7, 0);
    assert_true(find("wait-offset ended"));
    assert_int_equal(role_of("5001024"), ROLE_STALE);
}

static void test_two_rows(void **state) {
    (void)state;
    draw(32, 3, 1); /* title + 2: link/lag and the offsets */
    char b[256];
    ui_grid_row_text(&grid, 1, b, sizeof b);
    assert_non_null(strstr(b, "link up"));
    ui_grid_row_text(&grid, 2, b, sizeof b);
    assert_non_null(strstr(b, "source 5001024 target"));
}

static void test_in_a_run_screen(void **state) {
    (void)state;
    RunnerSnapshot *rs = calloc(1, sizeof *rs);
    assert_non_null(rs);
    rs->nsteps = 2;
    snprintf(rs->steps[0].id, sizeof rs->steps[0].id, "replicate");
    rs->steps[0].state = STEP_DONE;
    snprintf(rs->steps[1].id, sizeof rs->steps[1].id, "wait-offset");
    rs->steps[1].state = STEP_RUNNING;
    rs->state = RUNNER_RUNNING;
    rs->current = 1;
    rs->engine_step = -1;
    rs->repl_step = 1;
    rs->repl_live = 1;
    rs->repl = *r;
    view_ingest_run(v, rs);
    static const int sizes[][2] = {{80, 24}, {120, 40}, {200, 60}};
    for (int i = 0; i < 3; i++) {
        Layout L;
        layout_compute_run(sizes[i][0], sizes[i][1], rs->nsteps + 3, &L);
        ui_grid_free(&grid);
        assert_int_equal(ui_grid_init(&grid, sizes[i][0], sizes[i][1]), 0);
        view_build_screen(v, &rs->engine, &L, &grid, 1000);
        assert_true(find("link up"));
        assert_true(find("5001024"));
        assert_false(find("not part of this run") && !find("Consumer groups"));
    }
    /* without a replication step the slot says so */
    rs->repl_step = -1;
    Layout L;
    layout_compute_run(120, 40, 5, &L);
    view_build_screen(v, &rs->engine, &L, &grid, 1000);
    assert_false(find("link up"));
    free(rs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_streaming, reset),
        cmocka_unit_test_setup(test_caught_up, reset),
        cmocka_unit_test_setup(test_stale_keeps_numbers, reset),
        cmocka_unit_test_setup(test_errors, reset),
        cmocka_unit_test_setup(test_full_sync, reset),
        cmocka_unit_test_setup(test_sampling_and_ended, reset),
        cmocka_unit_test_setup(test_two_rows, reset),
        cmocka_unit_test_setup(test_in_a_run_screen, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
