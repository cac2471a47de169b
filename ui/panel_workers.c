/* panel_workers — what each copy worker is doing, and how far the scanner
 * has come.
 *
 *   scan db 1→0 (1/2) █████████░░░░░░ ~62%
 *    #  state        keys   batch
 *    1  restoring   12.3k    0.2s
 *    2  backoff      9.8k   12.0s
 *    3  throttled    9.1k    0.4s
 *
 * A batch older than 5 s is a warning, older than 30 s an error: a worker
 * that stops moving is the first sign of a stuck server. When there are more
 * workers than rows, the list scrolls (focus it with Tab). */
#include <stdio.h>
#include <string.h>

#include "panels.h"
#include "util.h"

#define BATCH_WARN_MS 5000
#define BATCH_ERROR_MS 30000

static UiRole state_role(WorkerState s) {
    switch (s) {
    case WORKER_DUMPING:
    case WORKER_RESTORING: return ROLE_VALUE;
    case WORKER_BACKOFF: return ROLE_VALUE_WARN;
    case WORKER_PAUSED:
    case WORKER_THROTTLED: return ROLE_PENDING;
    case WORKER_IDLE:
    case WORKER_EXITED: return ROLE_DIM;
    }
    return ROLE_VALUE;
}

static void scanner_line(const UiCanvas *b, const EngineSnapshot *s) {
    const ScannerSnapshot *sc = &s->scanner;
    const UiGlyphs *gl = b->gl;
    int x = ui_put(b, 0, 0, ROLE_LABEL, "scan ");
    if (sc->finished) {
        char t[64];
        snprintf(t, sizeof t, "complete %s %d db%s", gl->sep, sc->dbs_total,
                 sc->dbs_total == 1 ? "" : "s");
        ui_put_trunc(b, 0, x, b->w - x, ROLE_OK, t);
        return;
    }
    if (sc->db_src < 0) {
        ui_put_trunc(b, 0, x, b->w - x, ROLE_PENDING, "starting…");
        return;
    }
    char db[48];
    if (sc->dbs_total > 1)
        snprintf(db, sizeof db, "db %d%s%d (%d/%d)", sc->db_src, gl->arrow, sc->db_dst,
                 sc->dbs_done + 1, sc->dbs_total);
    else
        snprintf(db, sizeof db, "db %d%s%d", sc->db_src, gl->arrow, sc->db_dst);
    x += ui_put_trunc(b, 0, x, b->w - x, ROLE_VALUE, db) + 1;

    double p = sc->db_progress < 0 ? 0 : sc->db_progress > 1 ? 1 : sc->db_progress;
    char pct[16], cur[40];
    snprintf(pct, sizeof pct, " ~%.0f%%", p * 100);
    snprintf(cur, sizeof cur, " cursor %llu", (unsigned long long)sc->cursor);
    int pw = ui_text_width(pct, gl->ascii), cw = ui_text_width(cur, gl->ascii);
    int bw = b->w - x - pw;
    if (bw >= 12 + cw) bw -= cw; /* room for the cursor too */
    else cw = 0;
    if (bw >= 4) {
        int fill = (int)(p * bw + 0.5);
        ui_put_repeat(b, 0, x, fill, ROLE_BAR_FILL, gl->bar_fill);
        ui_put_repeat(b, 0, x + fill, bw - fill, ROLE_BAR_EMPTY, gl->bar_empty);
        x += bw;
    }
    x += ui_put(b, 0, x, ROLE_VALUE, pct);
    if (cw) ui_put(b, 0, x, ROLE_DIM, cur);
}

static void worker_line(const UiCanvas *b, int row, int idx, const WorkerSnapshot *w,
                        double rate_limit) {
    char num[16], keys[16], age[16];
    snprintf(num, sizeof num, "%2d", idx + 1);
    util_fmt_count(keys, sizeof keys, (double)w->keys_done);
    UiRole arole = ROLE_VALUE;
    if (w->batch_age_ms < 0) {
        snprintf(age, sizeof age, "%s", b->gl->unknown);
        arole = ROLE_DIM;
    } else {
        snprintf(age, sizeof age, "%.1fs", (double)w->batch_age_ms / 1000.0);
        if (w->batch_age_ms >= BATCH_ERROR_MS)
            arole = ROLE_VALUE_ERROR;
        else if (w->batch_age_ms >= BATCH_WARN_MS)
            arole = ROLE_VALUE_WARN;
    }
    ui_put(b, row, 0, ROLE_LABEL, num);
    (void)rate_limit;
    ui_put(b, row, 4, state_role(w->state), ui_worker_state_label(w->state));
    ui_put_right(b, row, 21, w->state == WORKER_EXITED ? ROLE_DIM : ROLE_VALUE, keys);
    ui_put_right(b, row, 29, arole, age);
}

void panel_workers(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                   int focused) {
    int n = s->nworkers;
    if (n < 0) n = 0;
    if (n > ENGINE_MAX_WORKERS) n = ENGINE_MAX_WORKERS;
    char right[48];
    if (n != s->workers_target && !view_state_final(s->state))
        snprintf(right, sizeof right, "%d%s%d", n, c->gl->arrow, s->workers_target);
    else
        snprintf(right, sizeof right, "%d", n);
    panel_frame(c, "Workers", focused, right);
    UiCanvas b = panel_body(c);
    if (b.h <= 0) return;
    scanner_line(&b, s);

    int rows = b.h - 1, row = 1;
    if (rows <= 0) return;
    if (n == 0) {
        ui_put_trunc(&b, row, 0, b.w, ROLE_DIM,
                     view_state_final(s->state) ? "all workers have exited" : "no workers yet");
        return;
    }
    if (rows > n) { /* room for a header */
        ui_put(&b, row, 0, ROLE_DIM, " #");
        ui_put(&b, row, 4, ROLE_DIM, "state");
        ui_put_right(&b, row, 21, ROLE_DIM, "keys");
        ui_put_right(&b, row, 29, ROLE_DIM, "batch");
        row++;
        rows--;
    }
    int first = v->workers_scroll;
    int list = rows;
    if (n > rows) list = rows - 1; /* last row says how many are hidden */
    if (first > n - list) first = n - list;
    if (first < 0) first = 0;
    for (int i = 0; i < list && first + i < n; i++)
        worker_line(&b, row + i, first + i, &s->workers[first + i], s->rate_limit);
    if (n > rows) {
        char more[96];
        int above = first, below = n - first - list;
        if (above && below)
            snprintf(more, sizeof more, "%s %d  %s %d more", b.gl->up, above, b.gl->down, below);
        else if (below)
            snprintf(more, sizeof more, "%s %d more%s", b.gl->down, below,
                     focused ? "" : " (Tab here to scroll)");
        else
            snprintf(more, sizeof more, "%s %d more", b.gl->up, above);
        ui_put_trunc(&b, row + list, 0, b.w, ROLE_DIM, more);
    }
}
