/* Layout is a pure function of the terminal size: every size from 80×24 to
 * 300×100 places every panel inside the screen, with no overlaps and at
 * least its minimum height; below 80×24 nothing is placed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "layout.h"

static int inside(UiRect r, int w, int h) {
    return r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0 && r.x + r.w <= w && r.y + r.h <= h;
}

/* Which panels each kind of screen places. */
enum { MODE_COPY, MODE_RUN, MODE_RUN_FOLLOWER, MODE_RUN_FOLLOWER_COPY, MODE_FOLLOW };
static const char *const mode_names[] = {"", " (run)", " (run, follower)", " (run, follower + copy)",
                                         " (follow)"};

static int expected(int mode, PanelId p) {
    switch (mode) {
    case MODE_COPY:
    case MODE_RUN: return p != PANEL_FOLLOWER;
    case MODE_RUN_FOLLOWER: return p != PANEL_THROUGHPUT && p != PANEL_WORKERS;
    case MODE_RUN_FOLLOWER_COPY: return p != PANEL_WORKERS;
    case MODE_FOLLOW: return p == PANEL_FOLLOWER || p == PANEL_SERVERS || p == PANEL_LOG;
    }
    return 0;
}

static void compute(int mode, int w, int h, int runbook_rows, Layout *L) {
    switch (mode) {
    case MODE_COPY: layout_compute(w, h, L); break;
    case MODE_RUN: layout_compute_run(w, h, runbook_rows, L); break;
    case MODE_RUN_FOLLOWER: layout_compute_run_follower(w, h, runbook_rows, 0, L); break;
    case MODE_RUN_FOLLOWER_COPY: layout_compute_run_follower(w, h, runbook_rows, 1, L); break;
    case MODE_FOLLOW: layout_compute_follow(w, h, L); break;
    }
}

static void check_size_in(int mode, int w, int h, int runbook_rows) {
    Layout L;
    compute(mode, w, h, runbook_rows, &L);
    char where[64];
    snprintf(where, sizeof where, "%dx%d%s", w, h, mode_names[mode]);
    if (L.too_small) fail_msg("%s: too_small set", where);
    if (L.w != w || L.h != h) fail_msg("%s: size not recorded", where);

    UiRect all[PANEL__COUNT + 2];
    int n = 0;
    all[n++] = L.status;
    all[n++] = L.hints;
    for (int p = 0; p < PANEL__COUNT; p++) {
        if (layout_placed(&L, (PanelId)p) != expected(mode, (PanelId)p))
            fail_msg("%s: %s is %splaced", where, panel_title((PanelId)p),
                     layout_placed(&L, (PanelId)p) ? "" : "not ");
        if (!expected(mode, (PanelId)p)) {
            if (L.panel[p].w || L.panel[p].h) fail_msg("%s: %s has a rectangle", where, panel_title((PanelId)p));
            continue;
        }
        all[n++] = L.panel[p];
    }

    for (int i = 0; i < n; i++)
        if (!inside(all[i], w, h))
            fail_msg("%s: rect %d (%d,%d %dx%d) outside the screen", where, i, all[i].x, all[i].y,
                     all[i].w, all[i].h);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ui_rect_overlap(all[i], all[j]))
                fail_msg("%s: rect %d overlaps rect %d", where, i, j);

    if (L.status.y != 0 || L.status.w != w || L.status.h != 1)
        fail_msg("%s: status bar is not the full top row", where);
    if (L.hints.y != h - 1 || L.hints.w != w || L.hints.h != 1)
        fail_msg("%s: hints are not the full bottom row", where);
    for (int p = 0; p < PANEL__COUNT; p++) {
        if (!expected(mode, (PanelId)p)) continue;
        if (L.panel[p].h < layout_min_height((PanelId)p))
            fail_msg("%s: %s is %d rows, below its minimum %d", where, panel_title((PanelId)p),
                     L.panel[p].h, layout_min_height((PanelId)p));
        if (L.panel[p].w < 20) fail_msg("%s: %s only %d wide", where, panel_title((PanelId)p),
                                        L.panel[p].w);
    }
    /* Content widths the panels were designed for. */
    if (expected(mode, PANEL_WORKERS) && L.panel[PANEL_WORKERS].w < 31)
        fail_msg("%s: workers narrower than 31", where);
    if (expected(mode, PANEL_THROUGHPUT) && L.panel[PANEL_THROUGHPUT].w < 46)
        fail_msg("%s: throughput narrower than 46", where);
    if (expected(mode, PANEL_FOLLOWER) && L.panel[PANEL_FOLLOWER].w < 31)
        fail_msg("%s: follower narrower than 31", where);

    /* Every row between the bars belongs to some panel column: count the
     * cells covered in the main column's first cell. */
    int covered = 0;
    for (int y = 1; y < h - 1; y++)
        for (int p = 0; p < PANEL__COUNT; p++) {
            UiRect r = L.panel[p];
            if (r.x == 0 && y >= r.y && y < r.y + r.h) covered++;
        }
    if (covered != h - 2) fail_msg("%s: left column covers %d of %d rows", where, covered, h - 2);
}

static void check_size_mode(int w, int h, int runbook_rows) {
    check_size_in(runbook_rows < 0 ? MODE_COPY : MODE_RUN, w, h, runbook_rows);
}

static void check_size(int w, int h) {
    check_size_mode(w, h, -1);
}

static void test_every_size(void **state) {
    (void)state;
    int checked = 0;
    for (int w = LAYOUT_MIN_W; w <= 300; w++)
        for (int h = LAYOUT_MIN_H; h <= 100; h++) {
            check_size(w, h);
            checked++;
        }
    assert_int_equal(checked, 221 * 77);
}

/* A runbook run: the same guarantees for every size and wish, and the
 * runbook gets the rows it asks for once the screen has them. */
static void test_run_every_size(void **state) {
    (void)state;
    static const int wants[] = {0, 4, 9, 30, 70};
    for (int w = LAYOUT_MIN_W; w <= 300; w += 3)
        for (int h = LAYOUT_MIN_H; h <= 100; h++)
            for (size_t k = 0; k < sizeof wants / sizeof wants[0]; k++)
                check_size_mode(w, h, wants[k]);
    Layout L;
    layout_compute_run(120, 40, 9, &L);
    assert_true(L.run);
    assert_int_equal(L.panel[PANEL_RUNBOOK].h, 10); /* title + 9 */
    assert_true(L.panel[PANEL_RUNBOOK].w >= 70);
    /* below the sidebar width it sits right under throughput | workers */
    assert_int_equal(L.panel[PANEL_RUNBOOK].y,
                     L.panel[PANEL_THROUGHPUT].y + L.panel[PANEL_THROUGHPUT].h);
    layout_compute_run(80, 24, 9, &L);
    assert_true(L.panel[PANEL_RUNBOOK].h >= 5);
    layout_compute_run(200, 60, 9, &L);
    assert_true(L.sidebar);
    assert_true(L.panel[PANEL_RUNBOOK].h >= 10);
    layout_compute_run(79, 24, 9, &L);
    assert_true(L.too_small);
}

/* ferry follow, and a run with its background follower: every size. */
static void test_follow_every_size(void **state) {
    (void)state;
    for (int w = LAYOUT_MIN_W; w <= 300; w++)
        for (int h = LAYOUT_MIN_H; h <= 100; h++) {
            check_size_in(MODE_FOLLOW, w, h, 0);
            if (w % 3 == 0) {
                check_size_in(MODE_RUN_FOLLOWER, w, h, 9);
                check_size_in(MODE_RUN_FOLLOWER_COPY, w, h, 9);
            }
        }
    Layout L;
    layout_compute_follow(80, 24, &L);
    assert_true(L.follow);
    /* the follower on top, all its rows at 80x24; the log keeps warnings visible */
    assert_int_equal(L.panel[PANEL_FOLLOWER].y, 1);
    assert_int_equal(L.panel[PANEL_FOLLOWER].w, 80);
    assert_true(L.panel[PANEL_FOLLOWER].h >= 8);
    assert_true(L.panel[PANEL_LOG].h >= 7);
    layout_compute_follow(200, 60, &L);
    assert_int_equal(L.panel[PANEL_SERVERS].y, L.panel[PANEL_FOLLOWER].y); /* side by side */
    layout_compute_follow(79, 24, &L);
    assert_true(L.too_small);
    /* a run: the follower takes the band of throughput | workers */
    Layout run;
    layout_compute_run(120, 40, 9, &run);
    layout_compute_run_follower(120, 40, 9, 0, &L);
    assert_int_equal(L.panel[PANEL_FOLLOWER].y, run.panel[PANEL_THROUGHPUT].y);
    assert_int_equal(L.panel[PANEL_FOLLOWER].w, 120);
    assert_int_equal(L.panel[PANEL_RUNBOOK].h, run.panel[PANEL_RUNBOOK].h);
    /* no room kept for sparklines it does not draw: the log gets it */
    assert_int_equal(L.panel[PANEL_FOLLOWER].h, layout_min_height(PANEL_FOLLOWER) + 1);
    assert_int_equal(L.panel[PANEL_RUNBOOK].y, L.panel[PANEL_FOLLOWER].y + L.panel[PANEL_FOLLOWER].h);
    assert_int_equal(L.panel[PANEL_LOG].y + L.panel[PANEL_LOG].h, 39);
    assert_int_equal(L.panel[PANEL_LOG].h - run.panel[PANEL_LOG].h,
                     run.panel[PANEL_THROUGHPUT].h - L.panel[PANEL_FOLLOWER].h);
    /* beside a running copy: in the workers' place */
    layout_compute_run_follower(120, 40, 9, 1, &L);
    assert_int_equal(L.panel[PANEL_FOLLOWER].x, run.panel[PANEL_WORKERS].x);
    assert_int_equal(L.panel[PANEL_THROUGHPUT].w, run.panel[PANEL_THROUGHPUT].w);
}

static void test_too_small(void **state) {
    (void)state;
    int sizes[][2] = {{79, 24}, {80, 23}, {0, 0}, {1, 1}, {40, 100}, {300, 10}, {-5, 30}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        Layout L;
        layout_compute(sizes[i][0], sizes[i][1], &L);
        assert_true(L.too_small);
        for (int p = 0; p < PANEL__COUNT; p++) {
            assert_int_equal(L.panel[p].w, 0);
            assert_int_equal(L.panel[p].h, 0);
        }
    }
}

static void test_80x24_exact(void **state) {
    (void)state;
    Layout L;
    layout_compute(80, 24, &L);
    assert_false(L.sidebar);
    /* throughput | workers on top, 8 rows */
    assert_int_equal(L.panel[PANEL_THROUGHPUT].y, 1);
    assert_int_equal(L.panel[PANEL_THROUGHPUT].h, 8);
    assert_int_equal(L.panel[PANEL_WORKERS].x + L.panel[PANEL_WORKERS].w, 80);
    assert_int_equal(L.panel[PANEL_SERVERS].w, 80);
    assert_int_equal(L.panel[PANEL_SERVERS].h, 5);
    /* the three reserved slots share one band */
    assert_int_equal(L.panel[PANEL_RUNBOOK].y, L.panel[PANEL_GROUPS].y);
    assert_int_equal(L.panel[PANEL_GROUPS].y, L.panel[PANEL_REPLICATION].y);
    assert_int_equal(L.panel[PANEL_REPLICATION].x + L.panel[PANEL_REPLICATION].w, 80);
    /* the log ends just above the hints */
    assert_int_equal(L.panel[PANEL_LOG].y + L.panel[PANEL_LOG].h, 23);
    assert_int_equal(L.panel[PANEL_LOG].h, 7);
}

static void test_sidebar_from_160(void **state) {
    (void)state;
    Layout L;
    layout_compute(159, 50, &L);
    assert_false(L.sidebar);
    layout_compute(160, 50, &L);
    assert_true(L.sidebar);
    /* the runbook gets the top of the sidebar and the most height */
    assert_int_equal(L.panel[PANEL_RUNBOOK].y, 1);
    assert_true(L.panel[PANEL_RUNBOOK].h > L.panel[PANEL_GROUPS].h);
    assert_int_equal(L.panel[PANEL_REPLICATION].y + L.panel[PANEL_REPLICATION].h, 49);
    assert_int_equal(L.panel[PANEL_RUNBOOK].x + L.panel[PANEL_RUNBOOK].w, 160);
}

static void test_extra_height_goes_to_log(void **state) {
    (void)state;
    Layout a, b;
    layout_compute(120, 60, &a);
    layout_compute(120, 100, &b);
    assert_int_equal(b.panel[PANEL_LOG].h - a.panel[PANEL_LOG].h, 40);
    assert_int_equal(a.panel[PANEL_THROUGHPUT].h, b.panel[PANEL_THROUGHPUT].h);
}

static void test_titles(void **state) {
    (void)state;
    assert_string_equal(panel_title(PANEL_THROUGHPUT), "Throughput");
    assert_string_equal(panel_title(PANEL_GROUPS), "Consumer groups");
    assert_string_equal(panel_title(PANEL__COUNT), "");
}

static void test_overlap_helper(void **state) {
    (void)state;
    UiRect a = {0, 0, 10, 5}, b = {10, 0, 5, 5}, c = {9, 4, 5, 5}, z = {3, 3, 0, 9};
    assert_false(ui_rect_overlap(a, b)); /* touching is not overlapping */
    assert_true(ui_rect_overlap(a, c));
    assert_false(ui_rect_overlap(a, z)); /* empty rect */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_size),        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_80x24_exact),       cmocka_unit_test(test_sidebar_from_160),
        cmocka_unit_test(test_extra_height_goes_to_log), cmocka_unit_test(test_titles),
        cmocka_unit_test(test_overlap_helper),    cmocka_unit_test(test_run_every_size),
        cmocka_unit_test(test_follow_every_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
