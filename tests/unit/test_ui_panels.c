/* Each panel's model from hand-made snapshots: the cells the operator will
 * see (numbers, units, truncation, stale and unknown values) and the roles
 * they are painted in. No terminal involved: panels draw into a UiGrid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "layout.h"
#include "panels.h"
#include "uimodel.h"
#include "view.h"

/* ---- helpers ---------------------------------------------------------- */

static UiGrid grid;
static ConsoleView *view;
static EngineSnapshot *snap;

/* A copy two thirds done: 1.87M of 3.00M keys at 12.5k keys/s. */
static void running_snapshot(EngineSnapshot *s) {
    memset(s, 0, sizeof *s);
    s->state = ENGINE_RUNNING;
    StatsSnapshot *st = &s->stats;
    st->copied = 1870000 - 316;
    st->expired = 312;
    st->failed = 4;
    st->failed_by[FAIL_OOM] = 3;
    st->failed_by[FAIL_VERSION] = 1;
    st->done = 1870000;
    st->scanned = 1872000;
    st->total_estimate = 3000000;
    st->keys_rate = 12500;
    st->bytes_rate = 43.2 * 1024 * 1024;
    st->rate_status = RATE_OK;
    st->hist_len = 120;
    for (int i = 0; i < 120; i++) {
        st->keys_hist[i] = 10000 + (float)(i % 10) * 500;
        st->bytes_hist[i] = st->keys_hist[i] * 3600;
    }
    st->elapsed_ms = 252000;    /* 4m12s */
    st->eta_ms = 151000;        /* 2m31s */
    st->progress = 1870000.0 / 3000000.0;
    s->workers_target = 3;
    s->nworkers = 3;
    s->workers[0] = (WorkerSnapshot){WORKER_RESTORING, 12345, 200};
    s->workers[1] = (WorkerSnapshot){WORKER_BACKOFF, 9800, 7200};
    s->workers[2] = (WorkerSnapshot){WORKER_IDLE, 5, -1};
    s->scanner = (ScannerSnapshot){1, 0, 0, 2, 7182301, 0.62, 0};
    s->rate_limit = 0;
    snprintf(s->source.label, sizeof s->source.label, "source redis://10.0.0.7:6379/1");
    snprintf(s->source.version, sizeof s->source.version, "7.2.4");
    snprintf(s->source.role, sizeof s->source.role, "master");
    s->source.rdb_version = 11;
    s->source.used_memory = 4521260728ull; /* 4.21 GiB */
    s->source.maxmemory = 8589934592ull;   /* 8.00 GiB */
    s->source.ops_per_sec = 12345;
    s->source.clients = 143;
    s->source.latency_ms = 0.42;
    s->source.keys = 3000000;
    s->source.status = RATE_OK;
    s->source.age_ms = 400;
    s->target = s->source;
    snprintf(s->target.label, sizeof s->target.label, "target redis://10.0.0.8:6379/0");
    s->target.maxmemory = 0;
    s->target.used_memory = 1024 * 1024;
}

static int setup(void **state) {
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    view = calloc(1, sizeof *view);
    snap = calloc(1, sizeof *snap);
    if (!view || !snap) return -1;
    view_init(view, "copy  source → target", 0);
    running_snapshot(snap);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ui_grid_free(&grid);
    free(view);
    free(snap);
    return 0;
}

static UiCanvas new_canvas(int w, int h, int ascii) {
    ui_grid_free(&grid);
    assert_int_equal(ui_grid_init(&grid, w, h), 0);
    return ui_canvas(&grid, ascii ? &ui_glyphs_ascii : &ui_glyphs_unicode);
}

static const char *row_text(int r) {
    static char buf[4096];
    ui_grid_row_text(&grid, r, buf, sizeof buf);
    return buf;
}

static void dump(void) {
    for (int r = 0; r < grid.h; r++) print_message("|%s\n", row_text(r));
}

/* Finds needle (fails the test when absent); returns its role. */
static int role_of(const char *needle) {
    int r, c;
    if (!ui_grid_find(&grid, needle, &r, &c)) {
        dump();
        fail_msg("\"%s\" not on screen", needle);
    }
    return ui_grid_role_at(&grid, r, c);
}

static int on_screen(const char *needle) {
    return ui_grid_find(&grid, needle, NULL, NULL);
}

static void assert_absent(const char *needle) {
    if (on_screen(needle)) {
        dump();
        fail_msg("\"%s\" should not be on screen", needle);
    }
}

static void assert_ascii_only(void) {
    for (int r = 0; r < grid.h; r++) {
        const char *t = row_text(r);
        for (const char *p = t; *p; p++)
            if ((unsigned char)*p >= 0x80) {
                dump();
                fail_msg("row %d has a non-ASCII byte: %s", r, t);
            }
    }
}

/* ---- uimodel ------------------------------------------------------------ */

static void test_put_clips_and_sanitizes(void **state) {
    (void)state;
    UiCanvas c = new_canvas(10, 3, 0);
    UiCanvas sub = ui_canvas_sub(&c, 2, 1, 5, 1);
    assert_int_equal(ui_put(&sub, 0, 0, ROLE_VALUE, "abcdefghij"), 5);
    assert_string_equal(row_text(1), "  abcde");
    assert_string_equal(row_text(0), "");
    assert_int_equal(ui_grid_role_at(&grid, 1, 2), ROLE_VALUE);
    assert_int_equal(ui_grid_role_at(&grid, 1, 7), ROLE_NORMAL);
    /* rows and columns outside the canvas are ignored */
    assert_int_equal(ui_put(&sub, 1, 0, ROLE_VALUE, "x"), 0);
    assert_int_equal(ui_put(&sub, -1, 0, ROLE_VALUE, "x"), 0);
    assert_int_equal(ui_put(&sub, 0, 5, ROLE_VALUE, "x"), 0);
    /* control characters and escapes never reach the terminal */
    ui_put(&c, 2, 0, ROLE_VALUE, "a\nb\x1b[1m\t");
    assert_string_equal(row_text(2), "a?b?[1m?");
}

static void test_truncation(void **state) {
    (void)state;
    UiCanvas c = new_canvas(20, 4, 0);
    assert_int_equal(ui_put_trunc(&c, 0, 0, 6, ROLE_VALUE, "abcdefghij"), 6);
    assert_string_equal(row_text(0), "abcde…");
    assert_int_equal(ui_put_trunc(&c, 1, 0, 10, ROLE_VALUE, "abcdefghij"), 10);
    assert_string_equal(row_text(1), "abcdefghij");
    ui_put_mid(&c, 2, 0, 11, ROLE_VALUE, "redis://very-long-host.example.com:6379/1");
    assert_string_equal(row_text(2), "redis…379/1");
    /* no blank before the ellipsis */
    c = new_canvas(20, 4, 0);
    ui_put_trunc(&c, 0, 0, 7, ROLE_VALUE, "abc    defgh");
    assert_string_equal(row_text(0), "abc…");
    ui_put_trunc(&c, 1, 0, 10, ROLE_VALUE, "abcdefghij");
    /* multi-byte text is cut on code points */
    ui_put_trunc(&c, 3, 0, 4, ROLE_VALUE, "→→→→→→");
    assert_string_equal(row_text(3), "→→→…");

    c = new_canvas(20, 2, 1);
    ui_put_trunc(&c, 0, 0, 6, ROLE_VALUE, "abcdefghij");
    assert_string_equal(row_text(0), "abcde~");
    ui_put_mid(&c, 1, 0, 11, ROLE_VALUE, "redis://very-long-host.example.com:6379/1");
    assert_string_equal(row_text(1), "redis~379/1");
}

static void test_ascii_transliteration(void **state) {
    (void)state;
    UiCanvas c = new_canvas(40, 2, 1);
    ui_put(&c, 0, 0, ROLE_VALUE, "copy src → dst… ok·é");
    assert_string_equal(row_text(0), "copy src -> dst... ok.?");
    assert_int_equal(ui_text_width("a → b", 1), 6);
    assert_int_equal(ui_text_width("a → b", 0), 5);
    /* wide characters would take two cells: replaced */
    c = new_canvas(10, 1, 0);
    ui_put(&c, 0, 0, ROLE_VALUE, "日本x");
    assert_string_equal(row_text(0), "??x");
    /* invalid UTF-8 */
    ui_put(&c, 0, 0, ROLE_VALUE, "\xff\xc3z");
    assert_string_equal(row_text(0), "?" "?z");
}

static void test_spark_levels(void **state) {
    (void)state;
    float hist[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 800};
    int lv[6];
    double peak;
    /* one sample per column: the newest six samples */
    ui_spark_levels(hist, 10, 6, 1, 1, lv, &peak);
    assert_true(peak == 800.0);
    assert_int_equal(lv[5], 8);
    assert_int_equal(lv[0], 1); /* 4/800 is tiny but not zero: at least 1 */
    /* two samples per column, aligned on the newest */
    ui_spark_levels(hist, 10, 6, 2, 1, lv, &peak);
    assert_true(peak == 404.0);         /* (8 + 800) / 2 */
    assert_int_equal(lv[5], 8);
    assert_int_equal(lv[4], 1);         /* (6+7)/2 */
    assert_int_equal(lv[0], -1);        /* before the history began */
    assert_int_equal(lv[1], 1);         /* (0+1)/2 = 0.5 → still visible */
    /* all zero: nothing drawn, peak 0 */
    float zero[4] = {0, 0, 0, 0};
    ui_spark_levels(zero, 4, 4, 1, 2, lv, &peak);
    assert_true(peak == 0);
    for (int i = 0; i < 4; i++) assert_int_equal(lv[i], 0);
    /* a chart three rows tall goes up to 24 */
    float ramp[3] = {1, 2, 3};
    ui_spark_levels(ramp, 3, 3, 1, 3, lv, &peak);
    assert_int_equal(lv[2], 24);
    assert_int_equal(lv[1], 16);
    assert_int_equal(lv[0], 8);
}

/* ---- throughput --------------------------------------------------------- */

static void test_throughput_running(void **state) {
    (void)state;
    UiCanvas c = new_canvas(48, 8, 0);
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("Throughput"), ROLE_TITLE);
    assert_int_equal(role_of("12.5k/s"), ROLE_VALUE);
    assert_int_equal(role_of("43.2 MiB/s"), ROLE_VALUE);
    assert_int_equal(role_of("62.3%"), ROLE_VALUE);
    assert_int_equal(role_of("1.87M of ~3.00M keys"), ROLE_VALUE);
    assert_int_equal(role_of("ETA 2m31s"), ROLE_VALUE);
    assert_int_equal(role_of("copied"), ROLE_LABEL);
    assert_int_equal(role_of("1.87M  failed"), ROLE_VALUE);
    assert_int_equal(role_of("4 (version 1, oom 3)"), ROLE_VALUE_ERROR);
    assert_int_equal(role_of("█"), ROLE_SPARKLINE); /* first row: the keys chart */
    /* progress bar: 47 content columns - 8 for " 62.3%" = 39 cells, 62.3% = 24 filled */
    int r, col;
    assert_true(ui_grid_find(&grid, "░", &r, &col));
    assert_int_equal(col, 1 + 24);
    assert_int_equal(ui_grid_role_at(&grid, r, col), ROLE_BAR_EMPTY);
    assert_int_equal(ui_grid_role_at(&grid, r, col - 1), ROLE_BAR_FILL);
    assert_int_equal(ui_grid_role_at(&grid, r, 1), ROLE_BAR_FILL);
    assert_absent("0/s");
    /* the widest value still leaves a blank after its label */
    snap->stats.bytes_rate = 1023.8 * 1024;
    panel_throughput(&c, view, snap, 0);
    assert_true(on_screen(" bytes 1023.8 KiB/s "));
    running_snapshot(snap);
}

static void test_throughput_focus_and_wide(void **state) {
    (void)state;
    UiCanvas c = new_canvas(100, 12, 0);
    panel_throughput(&c, view, snap, 1);
    assert_int_equal(role_of("Throughput"), ROLE_TITLE_FOCUS);
    assert_true(on_screen("last 5m"));
    assert_true(on_screen("elapsed 4m12s"));
    assert_int_equal(role_of("peak 14.5k/s"), ROLE_DIM); /* the best second it covers */
}

static void test_throughput_initialising(void **state) {
    (void)state;
    snap->stats.rate_status = RATE_INIT;
    snap->stats.keys_rate = 0;
    snap->stats.bytes_rate = 0;
    snap->stats.eta_ms = -1;
    snap->stats.hist_len = 0;
    UiCanvas c = new_canvas(60, 8, 0);
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("starting…"), ROLE_PENDING);
    assert_int_equal(role_of("ETA estimating…"), ROLE_PENDING);
    assert_absent("0/s");
    assert_absent("0 B/s");
    running_snapshot(snap);
}

static void test_throughput_stale(void **state) {
    (void)state;
    snap->stats.rate_status = RATE_STALE;
    UiCanvas c = new_canvas(48, 7, 0); /* one-row charts */
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("12.5k/s"), ROLE_STALE);
    assert_int_equal(role_of("stale"), ROLE_STALE);
    assert_int_equal(role_of("ETA 2m31s"), ROLE_STALE);
    assert_absent("0/s");
    c = new_canvas(60, 10, 0); /* taller charts: the word goes under the value */
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("stale"), ROLE_STALE);
    assert_int_equal(role_of("▇"), ROLE_STALE);
    running_snapshot(snap);
}

static void test_throughput_no_data(void **state) {
    (void)state;
    snap->stats.rate_status = RATE_NODATA;
    UiCanvas c = new_canvas(60, 8, 0);
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("no data"), ROLE_DIM);
    assert_absent("12.5k/s");
    running_snapshot(snap);
}

static void test_throughput_unknown_total_and_eta(void **state) {
    (void)state;
    snap->stats.total_estimate = 0;
    snap->stats.progress = -1;
    snap->stats.eta_ms = -1;
    UiCanvas c = new_canvas(60, 8, 0);
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("1.87M keys handled · total unknown"), ROLE_PENDING);
    assert_int_equal(role_of("ETA unknown"), ROLE_DIM);
    assert_absent("%");
    assert_absent("░"); /* no progress bar */
    running_snapshot(snap);
}

static void test_throughput_paused_done_failed(void **state) {
    (void)state;
    snap->state = ENGINE_PAUSED;
    UiCanvas c = new_canvas(60, 8, 0);
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("ETA paused"), ROLE_PENDING);

    snap->state = ENGINE_DONE;
    snap->stats.progress = 0.998; /* the estimate was a little high */
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("done in 4m12s"), ROLE_OK);
    /* the rate is now the run's average: 1.87M keys in 252 s */
    assert_true(on_screen("7421/s"));
    assert_int_equal(role_of("run average"), ROLE_DIM);
    assert_absent("12.5k/s");
    assert_int_equal(role_of("100.0%"), ROLE_OK);
    /* done: the keys handled, without the estimate they may exceed */
    assert_true(on_screen(" 1.87M keys "));
    assert_absent("of ~");
    snap->stats.done = 3000300; /* the source grew during the copy */
    panel_throughput(&c, view, snap, 0);
    assert_true(on_screen(" 3.00M keys "));
    assert_absent("of ~3.00M");
    snap->stats.done = 1870000;

    snap->state = ENGINE_FAILED;
    snprintf(snap->reason, sizeof snap->reason, "target OOM: raise maxmemory, then resume");
    snprintf(snap->fail_samples[FAIL_OOM][0], 128, "session:8f3a");
    snprintf(snap->fail_samples[FAIL_OOM][1], 128, "session:91bd");
    c = new_canvas(60, 16, 0); /* tall enough for the details rows */
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("failed"), ROLE_VALUE_ERROR); /* in place of the ETA */
    assert_int_equal(role_of("target OOM: raise maxmemory, then resume"), ROLE_VALUE_ERROR);
    assert_true(on_screen("oom: session:8f3a session:91bd"));
    /* at 80×24 the reason takes the charts' rows and is shown whole */
    snprintf(snap->reason, sizeof snap->reason,
             "target 10.0.0.8:6379 answered OOM to RESTORE (used memory > maxmemory 8.00 GiB); "
             "free memory or raise maxmemory on the target, then rerun to resume");
    c = new_canvas(48, 8, 0);
    panel_throughput(&c, view, snap, 0);
    assert_int_equal(role_of("target 10.0.0.8:6379 answered OOM to"), ROLE_VALUE_ERROR);
    assert_true(on_screen("or raise maxmemory on the target, then rerun to"));
    assert_string_equal(row_text(4), " resume"); /* all of it, nothing cut */
    assert_true(on_screen("1.87M of ~3.00M keys"));
    running_snapshot(snap);
}

static void test_throughput_big_numbers_flow(void **state) {
    (void)state;
    snap->stats.copied = 1234567890;
    snap->stats.skipped = 98765432;
    snap->stats.expired = 7654321;
    snap->stats.retries = 17;
    UiCanvas c = new_canvas(48, 7, 0);
    panel_throughput(&c, view, snap, 0);
    /* the counts wrap onto a second row instead of running off the edge */
    assert_true(on_screen("copied 1.23G"));
    assert_true(on_screen("skipped 98.77M"));
    int r1, r2;
    assert_true(ui_grid_find(&grid, "copied", &r1, NULL));
    assert_true(ui_grid_find(&grid, "skipped", &r2, NULL));
    assert_int_equal(r2, r1 + 1);
    running_snapshot(snap);
}

static void test_throughput_ascii(void **state) {
    (void)state;
    view->ascii = 1;
    UiCanvas c = new_canvas(60, 10, 1);
    panel_throughput(&c, view, snap, 0);
    assert_ascii_only();
    assert_true(on_screen("#####"));
    assert_true(on_screen("1.87M of ~3.00M keys"));
    view->ascii = 0;
}

/* ---- workers ------------------------------------------------------------ */

static void test_workers_lines(void **state) {
    (void)state;
    snap->workers[2].batch_age_ms = -1;
    UiCanvas c = new_canvas(31, 8, 0);
    panel_workers(&c, view, snap, 0);
    assert_true(on_screen("scan db 1→0 (1/2)"));
    assert_true(on_screen("~62%"));
    assert_true(on_screen("#  state"));                /* header: room for it */
    assert_int_equal(role_of("restoring"), ROLE_VALUE);
    assert_true(on_screen(" 1  restoring   12.3k    0.2s"));
    assert_int_equal(role_of("backoff"), ROLE_VALUE_WARN);
    assert_int_equal(role_of("7.2s"), ROLE_VALUE_WARN); /* batch older than 5 s */
    assert_int_equal(role_of("idle"), ROLE_DIM);
    assert_int_equal(role_of("—"), ROLE_DIM);           /* no batch */
    snap->workers[1].batch_age_ms = 45000;
    panel_workers(&c, view, snap, 0);
    assert_int_equal(role_of("45.0s"), ROLE_VALUE_ERROR);
    running_snapshot(snap);
}

static void test_workers_throttled(void **state) {
    (void)state;
    /* the engine says a worker holds a batch and waits for the rate limit */
    snap->rate_limit = 20000;
    snap->workers[2] = (WorkerSnapshot){WORKER_THROTTLED, 5, 300};
    UiCanvas c = new_canvas(31, 8, 0);
    panel_workers(&c, view, snap, 0);
    assert_true(on_screen(" 3  throttled       5    0.3s"));
    assert_int_equal(role_of("throttled"), ROLE_PENDING);
    /* idle is idle, with a limit or not: the console does not guess */
    snap->workers[2] = (WorkerSnapshot){WORKER_IDLE, 5, -1};
    panel_workers(&c, view, snap, 0);
    assert_true(on_screen(" 3  idle"));
    assert_absent("throttled");
    running_snapshot(snap);
}

static void test_workers_scanner_states(void **state) {
    (void)state;
    UiCanvas c = new_canvas(60, 4, 0);
    panel_workers(&c, view, snap, 0);
    assert_true(on_screen("cursor 7182301")); /* wide enough for the cursor */
    snap->scanner.db_src = -1;
    panel_workers(&c, view, snap, 0);
    assert_int_equal(role_of("starting…"), ROLE_PENDING);
    snap->scanner.finished = 1;
    panel_workers(&c, view, snap, 0);
    assert_int_equal(role_of("complete · 2 dbs"), ROLE_OK);
    running_snapshot(snap);
}

static void test_workers_scroll_and_more(void **state) {
    (void)state;
    snap->nworkers = snap->workers_target = 20;
    for (int i = 0; i < 20; i++) snap->workers[i] = (WorkerSnapshot){WORKER_DUMPING, (uint64_t)i, 100};
    UiCanvas c = new_canvas(31, 8, 0); /* scanner + 6 rows */
    panel_workers(&c, view, snap, 0);
    assert_true(on_screen(" 1  dumping"));
    assert_true(on_screen(" 5  dumping"));
    assert_absent(" 6  dumping");
    assert_int_equal(role_of("↓ 15 more"), ROLE_DIM);
    assert_true(on_screen("Workers"));
    assert_true(on_screen(" 20 "));
    view->workers_scroll = 10;
    panel_workers(&c, view, snap, 1);
    assert_true(on_screen("11  dumping"));
    assert_true(on_screen("↑ 10  ↓ 5 more"));
    view->workers_scroll = 99; /* clamped: the last page */
    panel_workers(&c, view, snap, 1);
    assert_true(on_screen("20  dumping"));
    assert_true(on_screen("↑ 15 more"));
    view->workers_scroll = 0;
    running_snapshot(snap);
}

static void test_workers_scaling_and_none(void **state) {
    (void)state;
    snap->workers_target = 5;
    UiCanvas c = new_canvas(31, 8, 0);
    panel_workers(&c, view, snap, 0);
    assert_true(on_screen(" 3→5 "));
    snap->nworkers = 0;
    snap->state = ENGINE_DONE;
    panel_workers(&c, view, snap, 0);
    assert_true(on_screen("all workers have exited"));
    running_snapshot(snap);
}

/* ---- servers ------------------------------------------------------------ */

static void test_servers_side_by_side(void **state) {
    (void)state;
    UiCanvas c = new_canvas(80, 6, 0);
    panel_servers(&c, view, snap, 0);
    int r1, c1, r2, c2;
    assert_true(ui_grid_find(&grid, "source redis://10.0.0.7:6379/1", &r1, &c1));
    assert_true(ui_grid_find(&grid, "target redis://10.0.0.8:6379/0", &r2, &c2));
    assert_int_equal(r1, r2);
    assert_true(c2 > 40);
    assert_true(on_screen("version 7.2.4  master  rdb 11"));
    assert_int_equal(role_of("4.21 GiB / 8.00 GiB  53%"), ROLE_VALUE);
    assert_true(on_screen("memory 1.0 MiB  no maxmemory"));
    assert_true(on_screen("ops/s 12.3k  clients 143  ping 0.42 ms"));
}

static void test_servers_long_label_truncated(void **state) {
    (void)state;
    snprintf(snap->target.label, sizeof snap->target.label,
             "target rediss://ferry@prod-sessions.abc123.euw1.cache.amazonaws.com:6380/0");
    UiCanvas c = new_canvas(80, 6, 0);
    panel_servers(&c, view, snap, 0);
    /* start and end survive, the middle goes; the role is said once */
    assert_true(on_screen("target rediss://fe"));
    assert_true(on_screen("aws.com:6380/0"));
    assert_absent("target target");
    assert_true(on_screen("…"));
    assert_absent("abc123.euw1");
    /* nothing spills past the panel */
    for (int r = 0; r < grid.h; r++) assert_true(ui_text_width(row_text(r), 0) <= 80);
    running_snapshot(snap);
}

static void test_servers_label_without_role(void **state) {
    (void)state;
    snprintf(snap->source.label, sizeof snap->source.label, "redis://127.0.0.1:39733");
    UiCanvas c = new_canvas(80, 6, 0);
    panel_servers(&c, view, snap, 0);
    assert_int_equal(role_of("source"), ROLE_LABEL);
    assert_int_equal(role_of("redis://127.0.0.1:39733"), ROLE_VALUE);
    assert_true(on_screen("source redis://127.0.0.1:39733"));
    snap->source.label[0] = '\0';
    panel_servers(&c, view, snap, 0);
    assert_true(on_screen("source —"));
    running_snapshot(snap);
}

static void test_servers_thresholds(void **state) {
    (void)state;
    snap->source.used_memory = snap->source.maxmemory / 100 * 90;
    snap->source.latency_ms = 12.34;
    snap->target.maxmemory = 1000;
    snap->target.used_memory = 970;
    snap->target.latency_ms = 250;
    UiCanvas c = new_canvas(100, 6, 0);
    panel_servers(&c, view, snap, 0);
    assert_int_equal(role_of("90%"), ROLE_VALUE_WARN);
    assert_int_equal(role_of("12.3 ms"), ROLE_VALUE_WARN);
    assert_int_equal(role_of("97%"), ROLE_VALUE_ERROR);
    assert_int_equal(role_of("250 ms"), ROLE_VALUE_ERROR);
    running_snapshot(snap);
}

static void test_servers_stale_init_error(void **state) {
    (void)state;
    snap->target.status = RATE_STALE;
    snap->target.age_ms = 12000;
    snprintf(snap->target.error, sizeof snap->target.error, "INFO timed out after 1000 ms");
    snap->source.status = RATE_INIT;
    UiCanvas c = new_canvas(100, 6, 0);
    panel_servers(&c, view, snap, 0);
    assert_int_equal(role_of("stale 12s"), ROLE_STALE);
    assert_int_equal(role_of("master"), ROLE_STALE); /* the values themselves look stale */
    assert_int_equal(role_of("0.42 ms"), ROLE_STALE);
    assert_int_equal(role_of("INFO timed out after 1000 ms"), ROLE_VALUE_ERROR);
    assert_int_equal(role_of("sampling…"), ROLE_PENDING);
    snap->source.status = RATE_NODATA;
    panel_servers(&c, view, snap, 0);
    assert_int_equal(role_of("not sampled"), ROLE_DIM);
    running_snapshot(snap);
}

/* ---- log ---------------------------------------------------------------- */

static void add_event(EngineSnapshot *s, uint64_t seq, EventLevel lvl, const char *text) {
    Event *e = &s->log[s->nlog++];
    e->seq = seq;
    e->level = lvl;
    e->time_ms = 1700000000000LL + (int64_t)seq * 1000; /* 22:13:20 UTC + seq s */
    snprintf(e->text, sizeof e->text, "%s", text);
}

static void test_log_levels_and_time(void **state) {
    (void)state;
    ConsoleView *v = calloc(1, sizeof *v);
    view_init(v, NULL, 0);
    UiCanvas c = new_canvas(80, 6, 0);
    panel_log(&c, v, snap, 0);
    assert_int_equal(role_of("no events yet"), ROLE_DIM);

    EngineSnapshot *s = calloc(1, sizeof *s);
    add_event(s, 1, EV_INFO, "copy started");
    add_event(s, 2, EV_WARN, "target memory at 91%");
    add_event(s, 3, EV_ERROR, "target refused RESTORE");
    add_event(s, 4, EV_OPERATOR, "paused: workers finish their batch");
    view_ingest(v, s);
    panel_log(&c, v, s, 0);
    assert_true(on_screen("22:13:21  info  copy started"));
    assert_int_equal(role_of("22:13:21"), ROLE_LOG_TIME);
    assert_int_equal(role_of("warn  target"), ROLE_LOG_WARN);
    assert_int_equal(role_of("target memory at 91%"), ROLE_LOG_WARN);
    assert_int_equal(role_of("error"), ROLE_LOG_ERROR);
    assert_int_equal(role_of("paused: workers finish their batch"), ROLE_LOG_OPERATOR);
    assert_int_equal(role_of("copy started"), ROLE_LOG_INFO);
    /* oldest first; a log shorter than the page starts at the top */
    assert_true(strstr(row_text(1), "copy started") != NULL);
    assert_true(strstr(row_text(4), "paused: workers finish their batch") != NULL);
    assert_string_equal(row_text(5), "");
    free(s);
    free(v);
}

static void test_log_wraps_long_lines(void **state) {
    (void)state;
    ConsoleView *v = calloc(1, sizeof *v);
    view_init(v, NULL, 0);
    EngineSnapshot *s = calloc(1, sizeof *s);
    add_event(s, 1, EV_ERROR,
              "target 10.0.0.7:6379 refused RESTORE: DUMP payload version 11 is newer than the "
              "target's (10); rerun with --type-based for these keys");
    view_ingest(v, s);
    UiCanvas c = new_canvas(60, 6, 0);
    panel_log(&c, v, s, 0);
    /* nothing cut: the advice at the end is on screen, indented under the text */
    assert_true(on_screen("these keys"));
    int r, col;
    assert_true(ui_grid_find(&grid, "--type-based", &r, NULL) || ui_grid_find(&grid, "rerun", &r, NULL));
    assert_true(ui_grid_find(&grid, "these keys", &r, &col));
    assert_int_equal(strncmp(row_text(r), "                 ", 17), 0);
    for (int i = 0; i < grid.h; i++) assert_true(ui_text_width(row_text(i), 0) <= 60);
    free(s);
    free(v);
}

static void test_log_anchor_scroll(void **state) {
    (void)state;
    ConsoleView *v = calloc(1, sizeof *v);
    view_init(v, NULL, 0);
    EngineSnapshot *s = calloc(1, sizeof *s);
    for (int i = 1; i <= 50; i++) {
        char t[32];
        snprintf(t, sizeof t, "event number %d", i);
        if (s->nlog == ENGINE_SNAPSHOT_LOG) s->nlog = 0;
        add_event(s, (uint64_t)i, EV_INFO, t);
    }
    view_ingest(v, s);
    assert_int_equal(v->log_len, 50);
    UiCanvas c = new_canvas(60, 6, 0); /* 5 content rows */
    panel_log(&c, v, s, 1);
    assert_true(strstr(row_text(5), "event number 50") != NULL);
    assert_true(strstr(row_text(1), "event number 46") != NULL);
    v->log_anchor = 20;
    panel_log(&c, v, s, 1);
    assert_true(strstr(row_text(5), "event number 20") != NULL);
    assert_true(on_screen("30 newer · End follows"));
    /* more events arrive: the page does not move */
    s->nlog = 0;
    add_event(s, 51, EV_INFO, "event number 51");
    view_ingest(v, s);
    panel_log(&c, v, s, 1);
    assert_true(strstr(row_text(5), "event number 20") != NULL);
    assert_true(on_screen("31 newer"));
    free(s);
    free(v);
}

/* ---- status bar, hints, overlays ------------------------------------------ */

static void test_status_bar_states(void **state) {
    (void)state;
    UiCanvas c = new_canvas(100, 1, 0);
    panel_status_bar(&c, view, snap);
    assert_int_equal(role_of("RUNNING"), ROLE_STATUS_OK);
    assert_true(on_screen("copy  source → target"));
    assert_true(on_screen("elapsed 4m12s · 3 workers · limit off"));
    assert_int_equal(role_of("ferry"), ROLE_STATUS_BAR);

    snap->state = ENGINE_PAUSED;
    snap->rate_limit = 20000;
    snap->workers_target = 5;
    panel_status_bar(&c, view, snap);
    assert_int_equal(role_of("PAUSED"), ROLE_STATUS_WARN);
    assert_true(on_screen("3→5 workers · limit 20k/s"));

    snap->state = ENGINE_FAILED;
    snprintf(snap->reason, sizeof snap->reason, "target out of memory; raise maxmemory and resume");
    panel_status_bar(&c, view, snap);
    assert_int_equal(role_of("FAILED"), ROLE_STATUS_ERROR);
    assert_int_equal(role_of("target out of memory"), ROLE_STATUS_ERROR);
    assert_absent("copy  source"); /* the reason takes the title's place */

    snap->state = ENGINE_RUNNING;
    view->quit_pending = 1;
    panel_status_bar(&c, view, snap);
    assert_int_equal(role_of("STOPPING…"), ROLE_STATUS_WARN);
    view->quit_pending = 0;

    running_snapshot(snap);
    snap->state = ENGINE_DONE;
    panel_status_bar(&c, view, snap);
    assert_int_equal(role_of("DONE"), ROLE_STATUS_OK);
    /* 80 columns: the right side stays whole, the title gives way */
    c = new_canvas(80, 1, 0);
    snprintf(view->title, sizeof view->title, "copy  redis://a-very-long-source-host:6379/1 → redis://target:6379/0");
    panel_status_bar(&c, view, snap);
    assert_true(on_screen("limit off"));
    assert_true(on_screen("…"));
    snprintf(view->title, sizeof view->title, "copy  source → target");
    running_snapshot(snap);
}

static void test_hints(void **state) {
    (void)state;
    UiCanvas c = new_canvas(80, 1, 0);
    panel_hints(&c, view, snap, 0);
    const char *all[] = {"p pause", "+- workers", "[] limit", "Tab focus", "↑↓ scroll",
                         "t theme", "? help", "q quit"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) assert_true(on_screen(all[i]));
    assert_int_equal(role_of("q"), ROLE_KEY_HINT);
    assert_int_equal(role_of("quit"), ROLE_HINT);

    snap->state = ENGINE_PAUSED;
    panel_hints(&c, view, snap, 0);
    assert_true(on_screen("p resume"));

    snap->state = ENGINE_DONE; /* nothing left to steer */
    panel_hints(&c, view, snap, 0);
    assert_absent("pause");
    assert_absent("workers");
    assert_true(on_screen("q quit"));

    snap->state = ENGINE_RUNNING;
    view_flash(view, 1000, "workers 8 → 9");
    panel_hints(&c, view, snap, 1000);
    assert_int_equal(role_of("workers 8 → 9"), ROLE_VALUE);
    assert_true(on_screen("q quit")); /* the flash does not push q away */
    panel_hints(&c, view, snap, 1000 + 60000);
    assert_absent("workers 8 → 9");

    view->quit_pending = 1;
    panel_hints(&c, view, snap, 0);
    assert_int_equal(role_of("stopping… workers finish their batch"), ROLE_PENDING);
    view->quit_pending = 0;
    view->flash[0] = '\0';
    running_snapshot(snap);
}

static void test_help_lists_every_key(void **state) {
    (void)state;
    UiCanvas c = new_canvas(80, 24, 0);
    panel_help(&c, view);
    const char *keys[] = {"p", "+  -", "[  ]", "Tab", "↑ ↓", "PgUp PgDn", "Home End", "t",
                          "Ctrl-L", "Esc", "?", "q"};
    const char *what[] = {"pause / resume", "worker", "rate limit", "focus", "scroll the focused",
                          "scroll a page", "oldest / newest", "theme", "repaint", "dismiss",
                          "this help", "quit"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int r, col;
        if (!ui_grid_find(&grid, what[i], &r, &col)) {
            dump();
            fail_msg("help has no line for %s", what[i]);
        }
        /* the key is at the start of the same line, in the key role */
        const char *line = row_text(r);
        if (!strstr(line, keys[i])) fail_msg("help line \"%s\" lacks key %s", line, keys[i]);
    }
    assert_int_equal(role_of("Ctrl-L"), ROLE_DIALOG_KEY);
    assert_true(on_screen("theme default · Unicode"));
    /* and it fits at 80×24: the frame's corners are on screen */
    assert_true(on_screen("┌"));
    assert_true(on_screen("┘"));
}

/* Text of cells [col, col+n) of a row. */
static void cells_text(int row, int col, int n, char *buf, size_t len) {
    size_t pos = 0;
    for (int x = col; x < col + n && x < grid.w; x++) {
        const UiCell *cell = &grid.cells[row * grid.w + x];
        size_t k = strnlen(cell->ch, sizeof cell->ch);
        if (pos + k + 1 > len) break;
        memcpy(buf + pos, cell->ch, k);
        pos += k;
    }
    buf[pos] = '\0';
}

/* The help's key column is the truth: every key the handler takes appears
 * in it (aliases: '=' for '+', '_' for '-', capitals for small letters). */
static void test_every_handled_key_is_in_help(void **state) {
    (void)state;
    UiCanvas c = new_canvas(80, 24, 0);
    panel_help(&c, view);
    char keycol[4096] = " ";
    int r0, c0;
    assert_true(ui_grid_find(&grid, "pause / resume", &r0, &c0));
    for (int r = 0; r < grid.h; r++) {
        char k[128];
        cells_text(r, c0 - 11, 10, k, sizeof k);
        strcat(keycol, k);
        strcat(keycol, " ");
    }
    struct {
        int key;
        const char *name;
    } special[] = {
        {UI_KEY_TAB, "Tab"},   {UI_KEY_UP, "↑"},       {UI_KEY_DOWN, "↓"},
        {UI_KEY_PGUP, "PgUp"}, {UI_KEY_PGDN, "PgDn"},  {UI_KEY_HOME, "Home"},
        {UI_KEY_END, "End"},   {UI_KEY_CTRL_L, "Ctrl-L"}, {UI_KEY_ESC, "Esc"},
        {UI_KEY_BTAB, "Tab"},
    };
    ConsoleView *v = calloc(1, sizeof *v);
    int handled = 0;
    for (int k = 1; k < 127; k++) {
        view_init(v, NULL, 0);
        UiCommand cmd;
        if (!(view_handle_key(v, snap, k, 0, &cmd) & VIEW_HANDLED)) continue;
        handled++;
        char name[16] = "";
        for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
            if (special[i].key == k) snprintf(name, sizeof name, "%s", special[i].name);
        if (!name[0]) {
            int shown = k == '=' ? '+' : k == '_' ? '-' : (k >= 'A' && k <= 'Z') ? k + 32 : k;
            snprintf(name, sizeof name, " %c ", shown);
        }
        if (!strstr(keycol, name)) fail_msg("key %d (%s) is handled but not in the help", k, name);
    }
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        view_init(v, NULL, 0);
        UiCommand cmd;
        assert_true(view_handle_key(v, snap, special[i].key, 0, &cmd) & VIEW_HANDLED);
        if (!strstr(keycol, special[i].name)) fail_msg("%s not in the help", special[i].name);
    }
    assert_true(handled >= 12);
    free(v);
}

static void test_confirm_quit(void **state) {
    (void)state;
    UiCanvas c = new_canvas(80, 24, 0);
    panel_confirm_quit(&c, view, snap);
    assert_true(on_screen("Stop the copy and quit?"));
    assert_true(on_screen("1.87M of ~3.00M keys handled (62%)."));
    assert_true(on_screen("Workers finish their current batch"));
    assert_int_equal(role_of("y stop and quit"), ROLE_DIALOG_KEY);
    assert_true(on_screen("any other key keep copying"));
    snap->state = ENGINE_PAUSED;
    panel_confirm_quit(&c, view, snap);
    assert_true(on_screen("The copy is paused, not finished."));
    /* no: it stays paused, it does not go on copying */
    assert_true(on_screen("any other key stay paused"));
    assert_absent("keep copying");
    running_snapshot(snap);
}

static void test_too_small(void **state) {
    (void)state;
    UiCanvas c = new_canvas(60, 20, 0);
    panel_too_small(&c, view);
    int r, col;
    assert_true(ui_grid_find(&grid, "terminal too small (needs 80×24, have 60×20)", &r, &col));
    assert_int_equal(r, 9);
    assert_int_equal(col, (60 - 44) / 2); /* centred */
    assert_true(on_screen("q quits"));
    c = new_canvas(30, 5, 1);
    panel_too_small(&c, view);
    assert_true(on_screen("too small (needs 80x24)")); /* the short form */
    assert_ascii_only();
}

static void test_reserved_slots(void **state) {
    (void)state;
    PanelId ids[] = {PANEL_RUNBOOK, PANEL_GROUPS, PANEL_REPLICATION};
    for (int i = 0; i < 3; i++) {
        UiCanvas c = new_canvas(30, 3, 0);
        panel_reserved(&c, ids[i], 0);
        assert_int_equal(role_of(panel_title(ids[i])), ROLE_TITLE);
        assert_int_equal(role_of("not part of this run"), ROLE_DIM);
    }
}

/* ---- whole screen ----------------------------------------------------------- */

static void test_screen_every_size(void **state) {
    (void)state;
    for (int w = 80; w <= 300; w += 7)
        for (int h = 24; h <= 100; h += 5) {
            Layout L;
            layout_compute(w, h, &L);
            new_canvas(w, h, 0);
            view_build_screen(view, snap, &L, &grid, 0);
            const char *titles[] = {"Throughput", "Workers", "Servers", "Log", "Runbook",
                                    "Consumer groups", "Replication"};
            for (int i = 0; i < 7; i++)
                if (!on_screen(titles[i])) fail_msg("%dx%d: no %s", w, h, titles[i]);
            assert_true(on_screen("RUNNING"));
            assert_true(on_screen("q quit"));
            assert_true(on_screen("ETA 2m31s"));
            assert_true(on_screen("12.5k/s"));
        }
}

static void test_screen_ascii_no_color(void **state) {
    (void)state;
    view->ascii = 1;
    Layout L;
    layout_compute(120, 40, &L);
    new_canvas(120, 40, 1);
    view->overlay = OVERLAY_HELP;
    view_build_screen(view, snap, &L, &grid, 0);
    assert_ascii_only();
    assert_true(on_screen("theme default | ASCII"));
    view->overlay = OVERLAY_NONE;
    view_build_screen(view, snap, &L, &grid, 0);
    assert_ascii_only();
    assert_true(on_screen("---- Throughput") || on_screen("- Throughput -"));
    view->ascii = 0;
}

static void test_screen_too_small_and_overlay(void **state) {
    (void)state;
    Layout L;
    layout_compute(79, 24, &L);
    new_canvas(79, 24, 0);
    view_build_screen(view, snap, &L, &grid, 0);
    assert_true(on_screen("terminal too small (needs 80×24, have 79×24)"));
    assert_absent("Throughput");
    view->overlay = OVERLAY_CONFIRM_QUIT;
    view_build_screen(view, snap, &L, &grid, 0);
    assert_true(on_screen("stop the copy and quit? y = yes"));
    layout_compute(80, 24, &L);
    new_canvas(80, 24, 0);
    view_build_screen(view, snap, &L, &grid, 0);
    assert_true(on_screen("Stop the copy and quit?"));
    view->overlay = OVERLAY_NONE;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_clips_and_sanitizes),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_ascii_transliteration),
        cmocka_unit_test(test_spark_levels),
        cmocka_unit_test(test_throughput_running),
        cmocka_unit_test(test_throughput_focus_and_wide),
        cmocka_unit_test(test_throughput_initialising),
        cmocka_unit_test(test_throughput_stale),
        cmocka_unit_test(test_throughput_no_data),
        cmocka_unit_test(test_throughput_unknown_total_and_eta),
        cmocka_unit_test(test_throughput_paused_done_failed),
        cmocka_unit_test(test_throughput_big_numbers_flow),
        cmocka_unit_test(test_throughput_ascii),
        cmocka_unit_test(test_workers_lines),
        cmocka_unit_test(test_workers_throttled),
        cmocka_unit_test(test_workers_scanner_states),
        cmocka_unit_test(test_workers_scroll_and_more),
        cmocka_unit_test(test_workers_scaling_and_none),
        cmocka_unit_test(test_servers_side_by_side),
        cmocka_unit_test(test_servers_long_label_truncated),
        cmocka_unit_test(test_servers_label_without_role),
        cmocka_unit_test(test_servers_thresholds),
        cmocka_unit_test(test_servers_stale_init_error),
        cmocka_unit_test(test_log_levels_and_time),
        cmocka_unit_test(test_log_wraps_long_lines),
        cmocka_unit_test(test_log_anchor_scroll),
        cmocka_unit_test(test_status_bar_states),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_help_lists_every_key),
        cmocka_unit_test(test_every_handled_key_is_in_help),
        cmocka_unit_test(test_confirm_quit),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_reserved_slots),
        cmocka_unit_test(test_screen_every_size),
        cmocka_unit_test(test_screen_ascii_no_color),
        cmocka_unit_test(test_screen_too_small_and_overlay),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
