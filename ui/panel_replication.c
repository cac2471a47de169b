/* panel_replication — the replication a runbook step watches (replicate,
 * wait-sync, wait-offset): link state, offsets side by side, lag in bytes
 * and seconds with a sparkline of the lag, full-sync progress.
 *
 *   link up  lag 1.2 KiB (0.1 s)  caught up
 *   source 1234567890 │ target 1234566711 (acked 1234566711)
 *   lag ▁▁▂▅▇█▅▂▁▁          peak 64 KiB
 *   sync ██████░░░░ 61%  12 MiB of 20 MiB
 *
 * Rows go in that order of importance, as many as the panel has. A stale
 * or failing sample keeps its last numbers, drawn as stale and said so;
 * once the step has ended its last view stays, marked "step ended". */
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "panels.h"
#include "util.h"

static UiRole link_role(ReplLink l) {
    switch (l) {
    case REPL_LINK_UP: return ROLE_OK;
    case REPL_LINK_DOWN: return ROLE_VALUE_ERROR;
    case REPL_LINK_SYNC:
    case REPL_LINK_CONNECTING: return ROLE_PENDING;
    case REPL_LINK_NONE: return ROLE_VALUE_WARN;
    case REPL_LINK_UNKNOWN: break;
    }
    return ROLE_DIM;
}

static void fmt_offset(char *buf, size_t len, long long off, const char *unknown) {
    if (off < 0)
        snprintf(buf, len, "%s", unknown);
    else
        snprintf(buf, len, "%lld", off);
}

/* "lag ▁▂▅█▅▂  peak 64 KiB" over the width of the row. */
static void lag_sparkline(const UiCanvas *b, int row, const ReplView *r, int stale) {
    const UiGlyphs *gl = b->gl;
    int x = ui_put(b, row, 0, ROLE_LABEL, "lag ");
    float hist[REPL_HISTORY];
    int n = r->hist_len < REPL_HISTORY ? r->hist_len : REPL_HISTORY;
    double peak = 0;
    for (int i = 0; i < n; i++) {
        hist[i] = r->lag_hist[i] > 0 ? r->lag_hist[i] : 0;
        if (hist[i] > peak) peak = hist[i];
    }
    char p[32], pk[48];
    util_fmt_bytes(p, sizeof p, peak);
    snprintf(pk, sizeof pk, "  peak %s", p);
    int pw = ui_text_width(pk, gl->ascii);
    int sw = b->w - x - pw;
    if (sw < 4) {
        sw = b->w - x;
        pk[0] = '\0';
    }
    if (sw > 120) sw = 120;
    if (n == 0 || sw <= 0) {
        ui_put_trunc(b, row, x, b->w - x, ROLE_DIM, "no samples yet");
        return;
    }
    int levels[128];
    ui_spark_levels(hist, n, sw, 1, 1, levels, NULL);
    UiRole srole = stale ? ROLE_STALE : ROLE_SPARKLINE;
    for (int i = 0; i < sw; i++) {
        if (levels[i] < 0) continue;
        ui_put(b, row, x + i, srole, gl->spark[levels[i] > 8 ? 8 : levels[i] == 0 ? 1 : levels[i]]);
    }
    if (pk[0]) ui_put(b, row, x + sw, ROLE_DIM, pk);
}

static void sync_bar(const UiCanvas *b, int row, const ReplView *r) {
    const UiGlyphs *gl = b->gl;
    int x = ui_put(b, row, 0, ROLE_LABEL, "sync ");
    if (r->sync_progress < 0) {
        ui_put_trunc(b, row, x, b->w - x, ROLE_PENDING, "full sync, size unknown (diskless)");
        return;
    }
    char t[96], a[16], tot[16];
    util_fmt_bytes(a, sizeof a, (double)r->sync_read_bytes);
    util_fmt_bytes(tot, sizeof tot, (double)r->sync_total_bytes);
    snprintf(t, sizeof t, " %.0f%%  %s of %s", r->sync_progress * 100, a, tot);
    int tw = ui_text_width(t, gl->ascii);
    int bw = b->w - x - tw;
    if (bw > 30) bw = 30;
    if (bw >= 4) {
        int fill = (int)(r->sync_progress * bw + 0.5);
        if (fill > bw) fill = bw;
        ui_put_repeat(b, row, x, fill, ROLE_BAR_FILL, gl->bar_fill);
        ui_put_repeat(b, row, x + fill, bw - fill, ROLE_BAR_EMPTY, gl->bar_empty);
        x += bw;
    }
    ui_put_trunc(b, row, x, b->w - x, ROLE_VALUE, t);
}

void panel_replication(const UiCanvas *c, const ConsoleView *v, const ReplView *r, int live,
                       const char *step, int focused) {
    (void)v;
    char right[64] = "";
    int stale = r->status == RATE_STALE || !live;
    if (!live)
        snprintf(right, sizeof right, "%s ended", step && *step ? step : "step");
    else if (r->status == RATE_STALE)
        snprintf(right, sizeof right, "stale %s", "sample");
    else if (step && *step)
        snprintf(right, sizeof right, "%s", step);
    panel_frame(c, panel_title(PANEL_REPLICATION), focused, right);
    UiCanvas b = panel_body(c);
    if (b.h <= 0) return;
    const UiGlyphs *gl = b.gl;

    /* row 0: link and lag, the cutover figures */
    char t[320], a[32];
    int x = ui_put(&b, 0, 0, ROLE_LABEL, "link ");
    x += ui_put(&b, 0, x, stale ? ROLE_STALE : link_role(r->link), repl_link_name(r->link));
    if (r->status == RATE_INIT && r->source_offset < 0) {
        ui_put_trunc(&b, 0, x + 2, b.w - x - 2, ROLE_PENDING, "sampling…");
    } else if (r->lag_bytes >= 0) {
        util_fmt_bytes(a, sizeof a, (double)r->lag_bytes);
        if (r->lag_seconds >= 0)
            snprintf(t, sizeof t, "%s (%.1f s)", a, r->lag_seconds);
        else
            snprintf(t, sizeof t, "%s", a);
        x += 2;
        x += ui_put(&b, 0, x, ROLE_LABEL, "lag ");
        x += ui_put_trunc(&b, 0, x, b.w - x, stale ? ROLE_STALE : r->lag_bytes ? ROLE_VALUE_WARN : ROLE_VALUE, t);
        if (r->caught_up && x + 11 <= b.w) ui_put(&b, 0, x + 2, stale ? ROLE_STALE : ROLE_OK, "caught up");
    } else if (r->link == REPL_LINK_UP && !r->same_history) {
        ui_put_trunc(&b, 0, x + 2, b.w - x - 2, ROLE_VALUE_WARN, "other replication history");
    }
    if (b.h < 2) return;

    /* row 1: offsets side by side */
    char so[24], to[24];
    fmt_offset(so, sizeof so, r->source_offset, gl->unknown);
    fmt_offset(to, sizeof to, r->target_offset, gl->unknown);
    UiRole vr = stale ? ROLE_STALE : ROLE_VALUE;
    x = ui_put(&b, 1, 0, ROLE_LABEL, "source ");
    x += ui_put(&b, 1, x, vr, so);
    x += ui_put(&b, 1, x, ROLE_BORDER, b.w >= 40 ? " │ " : " ");
    x += ui_put(&b, 1, x, ROLE_LABEL, "target ");
    x += ui_put_trunc(&b, 1, x, b.w - x, vr, to);
    if (r->replica_found && r->acked_offset >= 0) {
        snprintf(t, sizeof t, " (acked %lld)", r->acked_offset);
        if (x + ui_text_width(t, gl->ascii) <= b.w) ui_put(&b, 1, x, ROLE_DIM, t);
    }
    int row = 2;

    /* errors and staleness before the pictures: they change what the numbers mean */
    const char *e = r->source_error[0] ? r->source_error : r->target_error;
    if (row < b.h && e[0]) {
        ui_put_trunc(&b, row++, 0, b.w, ROLE_VALUE_ERROR, e);
    } else if (row < b.h && r->status == RATE_STALE && r->age_ms >= 0) {
        char d[16];
        util_fmt_duration(d, sizeof d, r->age_ms);
        snprintf(t, sizeof t, "stale: last sample %s ago", d);
        ui_put_trunc(&b, row++, 0, b.w, ROLE_STALE, t);
    }
    if (row < b.h && r->sync_active) sync_bar(&b, row++, r);
    if (row < b.h) lag_sparkline(&b, row++, r, stale);
    if (row < b.h && r->source_rate >= 0) {
        util_fmt_bytes(a, sizeof a, r->source_rate);
        snprintf(t, sizeof t, "%s/s", a);
        x = ui_put(&b, row, 0, ROLE_LABEL, "source writes ");
        x += ui_put(&b, row, x, vr, t);
        if (r->master_host[0]) {
            snprintf(t, sizeof t, "  target follows %s:%d", r->master_host, r->master_port);
            ui_put_trunc(&b, row, x, b.w - x, ROLE_DIM, t);
        }
        row++;
    }
}
