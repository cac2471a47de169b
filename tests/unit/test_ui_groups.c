/* The consumer-groups panel from hand-made GroupsSnapshots: totals with
 * coverage per side, the source's top groups with the target's beside
 * them, the order key (o), stale rows marked, a side not sampled, a side
 * retrying, no streams, narrow panels. */
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

#define NOW 1700000000000LL

static ConsoleView *v;
static UiGrid grid;
static GroupsSnapshot src, dst;
static GroupRow srows[4], drows[4];

static void row(GroupRow *r, const char *key, const char *group, long long pending, long long lag,
                int64_t age_ms) {
    memset(r, 0, sizeof *r);
    r->key = key;
    r->klen = strlen(key);
    r->group = group;
    r->glen = strlen(group);
    r->pending = pending;
    r->lag = lag;
    r->consumers = 2;
    r->sampled_ms = NOW - age_ms;
}

static int setup(void **state) {
    (void)state;
    v = calloc(1, sizeof *v);
    return v ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(v);
    ui_grid_free(&grid);
    return 0;
}

static int reset(void **state) {
    (void)state;
    view_init(v, "t", 0);
    row(&srows[0], "orders", "billing", 1204, 12, 2000);
    row(&srows[1], "orders", "audit", 40, -1, 2000);
    row(&srows[2], "clicks", "ml", 7, 900, 45000); /* stale */
    memset(&src, 0, sizeof src);
    src.rows = srows;
    src.nrows = 3;
    src.taken_ms = NOW;
    src.state = GROUPS_SAMPLING;
    src.streams_known = 3;
    src.streams_sampled = 2;
    src.oldest_sample_ms = NOW - 45000;
    src.passes = 1;
    src.budget = 20;
    row(&drows[0], "orders", "billing", 1200, 16, 1000);
    memset(&dst, 0, sizeof dst);
    dst.rows = drows;
    dst.nrows = 1;
    dst.taken_ms = NOW;
    dst.state = GROUPS_SAMPLING;
    dst.streams_known = 1;
    dst.streams_sampled = 1;
    dst.oldest_sample_ms = NOW - 1000;
    dst.passes = 1;
    dst.budget = 20;
    return 0;
}

static void draw(int w, int h, const GroupsSnapshot *s, const GroupsSnapshot *d) {
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, w, h), 0);
    UiCanvas c = ui_canvas(&grid, &ui_glyphs_unicode);
    panel_groups(&c, v, s, d, 0);
}

static int find(const char *s) {
    return ui_grid_find(&grid, s, NULL, NULL);
}

static int role_of(const char *s) {
    int r, c;
    if (!ui_grid_find(&grid, s, &r, &c)) return -1;
    return ui_grid_role_at(&grid, r, c);
}

static void text(int r, char *buf, size_t len) {
    ui_grid_row_text(&grid, r, buf, len);
}

static void dump(void) {
    char b[1024];
    for (int y = 0; y < grid.h; y++) {
        text(y, b, sizeof b);
        print_message("|%s|\n", b);
    }
}

static void test_totals_and_top(void **state) {
    (void)state;
    draw(72, 8, &src, &dst);
    if (!find("orders:billing")) dump();
    char b[512];
    text(0, b, sizeof b);
    assert_non_null(strstr(b, "Consumer groups"));
    assert_non_null(strstr(b, "by pending"));
    assert_non_null(strstr(b, "20/s"));
    text(1, b, sizeof b);
    assert_non_null(strstr(b, "source  pending 1251  lag 912+?  streams 2/3  oldest 45s  groups 3"));
    text(2, b, sizeof b);
    assert_non_null(strstr(b, "target  pending 1200  lag 16  streams 1/1  oldest 1s  groups 1"));
    assert_int_equal(role_of("2/3"), ROLE_PENDING);  /* coverage not complete */
    assert_int_equal(role_of("45s"), ROLE_STALE);    /* the oldest sample is old */
    text(3, b, sizeof b);
    assert_non_null(strstr(b, "group"));
    assert_non_null(strstr(b, "pending"));
    assert_non_null(strstr(b, "target"));
    /* by pending: billing, audit, ml; the target's billing beside it */
    text(4, b, sizeof b);
    assert_non_null(strstr(b, "orders:billing"));
    assert_non_null(strstr(b, "1204"));
    assert_non_null(strstr(b, "│"));
    assert_non_null(strstr(b, "1200"));
    text(5, b, sizeof b);
    assert_non_null(strstr(b, "orders:audit"));
    assert_non_null(strstr(b, "none")); /* not on the target */
    assert_non_null(strstr(b, "—"));    /* lag unknown */
    text(6, b, sizeof b);
    assert_non_null(strstr(b, "clicks:ml~")); /* stale, marked */
    assert_int_equal(role_of("clicks:ml~"), ROLE_STALE);
    assert_int_equal(role_of("orders:billing"), ROLE_NORMAL);
}

static void test_order_key(void **state) {
    (void)state;
    v->groups[0] = &src;
    v->groups[1] = &dst;
    UiCommand cmd;
    EngineSnapshot *es = calloc(1, sizeof *es);
    assert_non_null(es);
    assert_int_equal(view_handle_key(v, es, 'o', 1000, &cmd), VIEW_HANDLED | VIEW_REDRAW);
    assert_int_equal(v->groups_order, GROUPS_BY_LAG);
    assert_string_equal(v->flash, "consumer groups by lag");
    draw(72, 8, &src, &dst);
    char b[512];
    text(0, b, sizeof b);
    assert_non_null(strstr(b, "by lag"));
    text(4, b, sizeof b);
    assert_non_null(strstr(b, "clicks:ml")); /* lag 900 first */
    text(6, b, sizeof b);
    assert_non_null(strstr(b, "orders:audit")); /* unknown lag last */
    view_handle_key(v, es, 'o', 1000, &cmd);
    assert_int_equal(v->groups_order, GROUPS_BY_PENDING);
    /* nothing sampled: o is not a key (the help does not list it either) */
    v->groups[0] = v->groups[1] = NULL;
    assert_int_equal(view_handle_key(v, es, 'o', 1000, &cmd), 0);
    assert_int_equal(v->groups_order, GROUPS_BY_PENDING);
    free(es);
}

static void test_sides_not_there(void **state) {
    (void)state;
    draw(72, 8, &src, NULL);
    assert_true(find("target not sampled"));
    assert_true(find("orders:billing"));

    dst.state = GROUPS_RETRYING;
    snprintf(dst.error, sizeof dst.error, "target 10.0.0.8:6379: connection refused");
    draw(72, 8, &src, &dst);
    assert_true(find("target retrying: target 10.0.0.8:6379: connection refused"));
    assert_int_equal(role_of("retrying"), ROLE_VALUE_ERROR);

    GroupsSnapshot none;
    memset(&none, 0, sizeof none);
    none.state = GROUPS_SAMPLING;
    none.passes = 1;
    none.taken_ms = NOW;
    draw(72, 8, &none, &none);
    assert_true(find("source no streams"));
    assert_false(find("group "));
    none.passes = 0;
    none.state = GROUPS_DISCOVERING;
    draw(72, 8, &none, NULL);
    assert_true(find("looking for streams"));
}

static void test_narrow(void **state) {
    (void)state;
    draw(31, 5, &src, &dst); /* the 80-column slot */
    if (!find("pending 1251")) dump();
    assert_true(find("source  pending 1251"));
    assert_true(find("target  pending 1200"));
    char b[256];
    text(4, b, sizeof b);
    assert_non_null(strstr(b, "1204"));
    assert_non_null(strstr(b, "1200")); /* pending on both sides, lag left out */
    /* ASCII */
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, 72, 8), 0);
    UiCanvas c = ui_canvas(&grid, &ui_glyphs_ascii);
    panel_groups(&c, v, &src, &dst, 0);
    for (int y = 0; y < grid.h; y++)
        for (int x = 0; x < grid.w; x++)
            assert_true((unsigned char)grid.cells[y * grid.w + x].ch[0] < 0x80);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_totals_and_top, reset),
        cmocka_unit_test_setup(test_order_key, reset),
        cmocka_unit_test_setup(test_sides_not_there, reset),
        cmocka_unit_test_setup(test_narrow, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
