/* panel_throughput — is it moving, how fast, when will it end.
 *
 *   keys       12.5k/s ▂▃▅▆▇█▇▆▅▆▇▇▆▅▆▇█▇▆▅▆▇▇▆▅
 *   bytes   41.2 MiB/s ▂▃▅▆▇█▇▆▅▆▇▇▆▅▆▇█▇▆▅▆▇▇▆▅
 *   ████████████████████░░░░░░░░░░░░░░  62.4%
 *   1.87M of ~3.00M keys · elapsed 4m12s · ETA 2m31s
 *   copied 1.87M  failed 4 (oom 3, version 1)  expired 312  skipped 0
 *
 * Sparklines cover the stats history (5 minutes), several seconds per
 * column when the panel is narrow. A rate that is still initialising, has
 * no data or is stale is drawn as such, never as 0. Extra height makes the
 * sparklines into small bar charts and shows failed-key samples. */
#include <stdio.h>
#include <string.h>

#include "panels.h"
#include "util.h"

#define LABEL_W 19 /* "bytes 1023.9 KiB/s " */

static void chart(const UiCanvas *b, int row, int height, const char *label, const char *value,
                  UiRole vrole, const float *hist, int n, RateStatus st, int show_peak,
                  int bytes, int final) {
    const UiGlyphs *gl = b->gl;
    ui_put(b, row, 0, ROLE_LABEL, label);
    ui_put_right(b, row, LABEL_W - 1, vrole, value);
    int sw = b->w - LABEL_W;
    if (sw < 4 || height < 1) return;

    if (sw > 512) sw = 512;
    int spc = (STATS_HISTORY + sw - 1) / sw;
    int levels[512];
    double peak = 0;
    ui_spark_levels(hist, n, sw, spc, height, levels, &peak);
    UiRole srole = st == RATE_STALE ? ROLE_STALE : ROLE_SPARKLINE;
    for (int i = 0; i < sw; i++) {
        for (int r = 0; r < height; r++) {
            /* r = 0 is the chart's top row */
            int lv = levels[i] - (height - 1 - r) * 8;
            if (levels[i] < 0 || lv <= 0) continue;
            ui_put(b, row + r, LABEL_W + i, srole, gl->spark[lv > 8 ? 8 : lv]);
        }
    }
    /* The chart is scaled to its highest column (an average of several
     * seconds when narrow); "peak" is the best single second it covers. */
    (void)peak;
    double best = 0;
    for (int i = n - sw * spc; i < n; i++)
        if (i >= 0 && hist[i] > best) best = hist[i];
    char pk[32] = "", num[16];
    if (bytes)
        ui_fmt_bytes_rate(num, sizeof num, best);
    else
        ui_fmt_keys_rate(num, sizeof num, best);
    if (best > 0) snprintf(pk, sizeof pk, "peak %s", num);
    if (height >= 2) {
        if (final)
            ui_put_right(b, row + 1, LABEL_W - 1, ROLE_DIM, "run average");
        else if (st == RATE_STALE)
            ui_put_right(b, row + 1, LABEL_W - 1, ROLE_STALE, "stale");
        else if (pk[0])
            ui_put_right(b, row + 1, LABEL_W - 1, ROLE_DIM, pk);
    } else if (final) {
        ui_put_right(b, row, b->w, ROLE_DIM, " run average");
    } else if (st == RATE_STALE) {
        ui_put_right(b, row, b->w, ROLE_STALE, " stale");
    } else if (show_peak && pk[0]) {
        char p2[40];
        snprintf(p2, sizeof p2, " %s", pk);
        ui_put_right(b, row, b->w, ROLE_DIM, p2);
    }
}

/* Once the run has ended, the useful number is the average over the run. */
static double average(const EngineSnapshot *s, int bytes) {
    double secs = (double)s->stats.elapsed_ms / 1000.0;
    if (secs <= 0) return 0;
    return (bytes ? (double)s->stats.bytes : (double)s->stats.done) / secs;
}

static void rate_value(const EngineSnapshot *s, int bytes, char *buf, size_t len, UiRole *role) {
    const StatsSnapshot *st = &s->stats;
    if (view_state_final(s->state)) {
        if (bytes)
            ui_fmt_bytes_rate(buf, len, average(s, 1));
        else
            ui_fmt_keys_rate(buf, len, average(s, 0));
        *role = ROLE_VALUE;
        return;
    }
    switch (st->rate_status) {
    case RATE_INIT:
        snprintf(buf, len, "starting…");
        *role = ROLE_PENDING;
        return;
    case RATE_NODATA:
        snprintf(buf, len, "no data");
        *role = ROLE_DIM;
        return;
    case RATE_STALE:
    case RATE_OK:
        break;
    }
    if (bytes)
        ui_fmt_bytes_rate(buf, len, st->bytes_rate);
    else
        ui_fmt_keys_rate(buf, len, st->keys_rate);
    if (st->rate_status == RATE_STALE)
        *role = ROLE_STALE;
    else if (s->state == ENGINE_PAUSED)
        *role = ROLE_PENDING;
    else
        *role = ROLE_VALUE;
}

static void eta_text(const EngineSnapshot *s, char *buf, size_t len, UiRole *role) {
    char d[16];
    const StatsSnapshot *st = &s->stats;
    switch (s->state) {
    case ENGINE_DONE:
        util_fmt_duration(d, sizeof d, st->elapsed_ms);
        snprintf(buf, len, "done in %s", d);
        *role = ROLE_OK;
        return;
    case ENGINE_STOPPED:
        snprintf(buf, len, "stopped");
        *role = ROLE_VALUE_WARN;
        return;
    case ENGINE_FAILED:
        snprintf(buf, len, "failed");
        *role = ROLE_VALUE_ERROR;
        return;
    case ENGINE_PAUSED:
        snprintf(buf, len, "ETA paused");
        *role = ROLE_PENDING;
        return;
    default: break;
    }
    if (st->eta_ms >= 0 && st->rate_status == RATE_OK) {
        util_fmt_duration(d, sizeof d, st->eta_ms);
        snprintf(buf, len, "ETA %s", d);
        *role = ROLE_VALUE;
    } else if (st->eta_ms >= 0) { /* stale rate: the ETA is as old as it */
        util_fmt_duration(d, sizeof d, st->eta_ms);
        snprintf(buf, len, "ETA %s", d);
        *role = ROLE_STALE;
    } else if (st->rate_status == RATE_INIT && st->progress >= 0) {
        snprintf(buf, len, "ETA estimating…");
        *role = ROLE_PENDING;
    } else {
        snprintf(buf, len, "ETA unknown");
        *role = ROLE_DIM;
    }
}

static void progress_bar(const UiCanvas *b, int row, const EngineSnapshot *s) {
    const StatsSnapshot *st = &s->stats;
    const UiGlyphs *gl = b->gl;
    if (st->progress < 0) {
        char n[16], t[96];
        util_fmt_count(n, sizeof n, (double)st->done);
        snprintf(t, sizeof t, "%s keys handled %s total unknown", n, gl->sep);
        ui_put_trunc(b, row, 0, b->w, ROLE_PENDING, t);
        return;
    }
    double p = st->progress > 1 ? 1 : st->progress;
    if (s->state == ENGINE_DONE) p = 1;
    char pct[16];
    snprintf(pct, sizeof pct, "%5.1f%%", p * 100);
    int bw = b->w - 8;
    if (bw < 4) bw = 4;
    int fill = (int)(p * bw + 0.5);
    if (fill == 0 && st->done > 0) fill = 1;
    ui_put_repeat(b, row, 0, fill, ROLE_BAR_FILL, gl->bar_fill);
    ui_put_repeat(b, row, fill, bw - fill, ROLE_BAR_EMPTY, gl->bar_empty);
    ui_put_right(b, row, b->w, s->state == ENGINE_DONE ? ROLE_OK : ROLE_VALUE, pct);
}

static void totals_line(const UiCanvas *b, int row, const EngineSnapshot *s) {
    const StatsSnapshot *st = &s->stats;
    const UiGlyphs *gl = b->gl;
    char done[16], total[16], el[16], left[64], mid[48], eta[48];
    UiRole eta_role;
    util_fmt_count(done, sizeof done, (double)st->done);
    if (st->total_estimate > 0 && s->state != ENGINE_DONE) {
        /* once done, the estimate has nothing left to say (and a source
         * that grew during the copy would read "200.1k of ~200.0k") */
        util_fmt_count(total, sizeof total, (double)st->total_estimate);
        snprintf(left, sizeof left, "%s of ~%s keys", done, total);
    } else {
        snprintf(left, sizeof left, "%s keys", done);
    }
    util_fmt_duration(el, sizeof el, st->elapsed_ms);
    snprintf(mid, sizeof mid, "elapsed %s", el);
    eta_text(s, eta, sizeof eta, &eta_role);

    /* The ETA is what the operator came for: it goes right-aligned and is
     * the last thing to give up its room. */
    int ew = ui_text_width(eta, gl->ascii);
    int lw = ui_text_width(left, gl->ascii), mw = ui_text_width(mid, gl->ascii);
    ui_put_right(b, row, b->w, eta_role, eta);
    int room = b->w - ew - 2;
    ui_put_trunc(b, row, 0, room, ROLE_VALUE, left);
    if (lw + 2 + mw <= room) {
        ui_put(b, row, lw + 2, ROLE_LABEL, "elapsed");
        ui_put(b, row, lw + 2 + 8, ROLE_VALUE, el);
    }
}

static void counts(const UiCanvas *b, int row, int rows, const EngineSnapshot *s) {
    const StatsSnapshot *st = &s->stats;
    UiFlow f = {.c = b, .row = row, .col = 0, .row_end = row + rows};
    char n[16], failed[160];
    util_fmt_count(n, sizeof n, (double)st->copied);
    ui_flow_item(&f, "copied", ROLE_LABEL, n, ROLE_VALUE);

    util_fmt_count(n, sizeof n, (double)st->failed);
    snprintf(failed, sizeof failed, "%s", n);
    if (st->failed > 0) {
        size_t len = strlen(failed);
        int first = 1;
        for (int r = 0; r < FAIL__COUNT; r++) {
            if (!st->failed_by[r]) continue;
            util_fmt_count(n, sizeof n, (double)st->failed_by[r]);
            len += (size_t)snprintf(failed + len, sizeof failed - len, "%s%s %s",
                                    first ? " (" : ", ", ui_fail_label((FailReason)r), n);
            if (len >= sizeof failed) len = sizeof failed - 1;
            first = 0;
        }
        if (!first && len + 2 < sizeof failed) strcat(failed, ")");
    }
    ui_flow_item(&f, "failed", ROLE_LABEL, failed, st->failed ? ROLE_VALUE_ERROR : ROLE_VALUE);
    util_fmt_count(n, sizeof n, (double)st->expired);
    ui_flow_item(&f, "expired", ROLE_LABEL, n, ROLE_VALUE);
    util_fmt_count(n, sizeof n, (double)st->skipped);
    ui_flow_item(&f, "skipped", ROLE_LABEL, n, ROLE_VALUE);
    if (st->identical) { /* met again after a resume: already on the target */
        util_fmt_count(n, sizeof n, (double)st->identical);
        ui_flow_item(&f, "identical", ROLE_LABEL, n, ROLE_VALUE);
    }
    if (st->retries) {
        util_fmt_count(n, sizeof n, (double)st->retries);
        ui_flow_item(&f, "retries", ROLE_LABEL, n, ROLE_VALUE_WARN);
    }
    if (st->filtered) {
        util_fmt_count(n, sizeof n, (double)st->filtered);
        ui_flow_item(&f, "filtered out", ROLE_LABEL, n, ROLE_DIM);
    }
}

/* Extra rows: sample keys per failure reason. */
static void details(const UiCanvas *b, int row, int rows, const EngineSnapshot *s) {
    int end = row + rows;
    for (int r = 0; r < FAIL__COUNT && row < end; r++) {
        if (!s->stats.failed_by[r] || !s->fail_samples[r][0][0]) continue;
        char line[512];
        int len = snprintf(line, sizeof line, "%s:", ui_fail_label((FailReason)r));
        for (int k = 0; k < 3 && s->fail_samples[r][k][0] && len < (int)sizeof line; k++)
            len += snprintf(line + len, sizeof line - (size_t)len, " %s", s->fail_samples[r][k]);
        ui_put_trunc(b, row++, 0, b->w, ROLE_DIM, line);
    }
}

void panel_throughput(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                      int focused) {
    (void)v;
    panel_frame(c, "Throughput", focused, "last 5m");
    UiCanvas b = panel_body(c);
    int H = b.h;
    if (H <= 0) return;

    /* Fixed rows: bar, totals, two rows of counts. Once the run has failed
     * or was stopped, its reason comes first (up to 4 rows, taken from the
     * charts, which matter less by then, and from the counts' second row).
     * Charts share the rest. */
    int fixed = 4, reason_rows = 0;
    if ((s->state == ENGINE_FAILED || s->state == ENGINE_STOPPED) && s->reason[0]) {
        int starts[5];
        reason_rows = ui_wrap(s->reason, b.w, b.gl->ascii, starts, 5);
        if (reason_rows > 4) reason_rows = 4;
        if (reason_rows > H - 3) reason_rows = H - 3; /* bar, totals, one row of counts */
        if (reason_rows < 0) reason_rows = 0;
    }
    fixed += reason_rows;
    if (fixed > H) fixed = H;
    int spare = H - fixed;
    int kh = 1, bh = 1;
    if (spare >= 2) {
        kh = (spare + 1) / 2;
        bh = spare / 2;
    } else if (spare == 1) {
        kh = 1;
        bh = 0;
    } else {
        kh = bh = 0;
    }
    if (kh > 4) kh = 4;
    if (bh > 3) bh = 3;
    int extra = H - fixed - kh - bh;
    if (extra < 0) extra = 0;

    char val[32];
    UiRole role;
    int row = 0;
    int show_peak = b.w >= 70;
    if (reason_rows) {
        ui_put_wrapped(&b, 0, 0, b.w, reason_rows,
                       s->state == ENGINE_FAILED ? ROLE_VALUE_ERROR : ROLE_VALUE_WARN, s->reason);
        row = reason_rows;
    }
    if (kh) {
        rate_value(s, 0, val, sizeof val, &role);
        chart(&b, row, kh, "keys", val, role, s->stats.keys_hist, s->stats.hist_len,
              s->stats.rate_status, show_peak, 0, view_state_final(s->state));
        row += kh;
    }
    if (bh) {
        rate_value(s, 1, val, sizeof val, &role);
        chart(&b, row, bh, "bytes", val, role, s->stats.bytes_hist, s->stats.hist_len,
              s->stats.rate_status, show_peak, 1, view_state_final(s->state));
        row += bh;
    }
    if (row < H) progress_bar(&b, row++, s);
    if (row < H) totals_line(&b, row++, s);
    int crow = H - row < 2 ? H - row : 2;
    if (crow > 0) counts(&b, row, crow, s);
    row += crow;
    if (extra > 0) details(&b, row, H - row, s);
}
