/* layout — panel placement as a pure function of the terminal size. See
 * layout.h for the picture. */
#include "layout.h"

#include <string.h>

static const char *const titles[PANEL__COUNT] = {
    [PANEL_THROUGHPUT] = "Throughput",   [PANEL_WORKERS] = "Workers",
    [PANEL_SERVERS] = "Servers",         [PANEL_LOG] = "Log",
    [PANEL_RUNBOOK] = "Runbook",         [PANEL_GROUPS] = "Consumer groups",
    [PANEL_REPLICATION] = "Replication", [PANEL_FOLLOWER] = "Follower",
};

/* Title row + content rows each panel is guaranteed. */
static const int min_h[PANEL__COUNT] = {
    [PANEL_THROUGHPUT] = 7, [PANEL_WORKERS] = 7, [PANEL_SERVERS] = 5, [PANEL_LOG] = 5,
    [PANEL_RUNBOOK] = 2,    [PANEL_GROUPS] = 2,  [PANEL_REPLICATION] = 2,
    [PANEL_FOLLOWER] = 7,   /* state, offsets, link, stream, snapshot, syncs */
};

const char *panel_title(PanelId p) {
    return p >= 0 && p < PANEL__COUNT ? titles[p] : "";
}

int layout_min_height(PanelId p) {
    return p >= 0 && p < PANEL__COUNT ? min_h[p] : 0;
}

int ui_rect_overlap(UiRect a, UiRect b) {
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0) return 0;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

int layout_placed(const Layout *L, PanelId p) {
    return p >= 0 && p < PANEL__COUNT && L->panel[p].w > 0 && L->panel[p].h > 0;
}

static UiRect rect(int x, int y, int w, int h) {
    UiRect r = {x, y, w, h};
    return r;
}

static int take(int *extra, int want) {
    int n = want < *extra ? want : *extra;
    if (n < 0) n = 0;
    *extra -= n;
    return n;
}

/* Three rectangles side by side in [x, x+w) with one blank column between. */
static void split3(int x, int y, int w, int h, UiRect *a, UiRect *b, UiRect *c) {
    int each = (w - 2) / 3;
    int first = w - 2 - 2 * each; /* the runbook gets the remainder */
    *a = rect(x, y, first, h);
    *b = rect(x + first + 1, y, each, h);
    *c = rect(x + first + 1 + each + 1, y, each, h);
}

void layout_compute(int w, int h, Layout *L) {
    memset(L, 0, sizeof *L);
    L->w = w;
    L->h = h;
    if (w < LAYOUT_MIN_W || h < LAYOUT_MIN_H) {
        L->too_small = 1;
        return;
    }
    L->status = rect(0, 0, w, 1);
    L->hints = rect(0, h - 1, w, 1);
    int top = 1, avail = h - 2;

    L->sidebar = w >= LAYOUT_SIDEBAR_W;
    int main_w = w, side_w = 0;
    if (L->sidebar) {
        side_w = w / 3;
        if (side_w < 50) side_w = 50;
        if (side_w > 72) side_w = 72;
        main_w = w - side_w - 1;
    }

    /* Heights of the stacked bands in the main column. */
    int band1 = min_h[PANEL_THROUGHPUT], servers = min_h[PANEL_SERVERS];
    int slots = L->sidebar ? 0 : min_h[PANEL_RUNBOOK], log = min_h[PANEL_LOG];
    int extra = avail - band1 - servers - slots - log;
    log += take(&extra, 2);     /* a few log lines first: warnings must show */
    band1 += take(&extra, 5);   /* taller sparklines, more workers */
    servers += take(&extra, 1); /* the sampling status line */
    if (!L->sidebar) slots += take(&extra, 4);
    log += extra;               /* everything else is log */

    /* Throughput | workers: workers need ~31 columns, throughput the rest. */
    int ww = main_w * 2 / 5;
    if (ww < 31) ww = 31;
    if (ww > 46) ww = 46;
    int tw = main_w - ww - 1;
    int y = top;
    L->panel[PANEL_THROUGHPUT] = rect(0, y, tw, band1);
    L->panel[PANEL_WORKERS] = rect(tw + 1, y, ww, band1);
    y += band1;
    L->panel[PANEL_SERVERS] = rect(0, y, main_w, servers);
    y += servers;
    if (!L->sidebar) {
        split3(0, y, main_w, slots, &L->panel[PANEL_RUNBOOK], &L->panel[PANEL_GROUPS],
               &L->panel[PANEL_REPLICATION]);
        y += slots;
    }
    L->panel[PANEL_LOG] = rect(0, y, main_w, log);

    if (L->sidebar) {
        int sx = main_w + 1;
        int groups = avail * 3 / 10, repl = avail / 5;
        if (groups < min_h[PANEL_GROUPS]) groups = min_h[PANEL_GROUPS];
        if (repl < min_h[PANEL_REPLICATION]) repl = min_h[PANEL_REPLICATION];
        int runbook = avail - groups - repl;
        L->panel[PANEL_RUNBOOK] = rect(sx, top, side_w, runbook);
        L->panel[PANEL_GROUPS] = rect(sx, top + runbook, side_w, groups);
        L->panel[PANEL_REPLICATION] = rect(sx, top + runbook + groups, side_w, repl);
    }
}

void layout_compute_run(int w, int h, int runbook_rows, Layout *L) {
    layout_compute(w, h, L);
    L->run = 1;
    if (L->too_small || L->sidebar) return;
    int top = 1, avail = h - 2;
    /* the band beside the runbook holds groups over replication */
    int side_min = min_h[PANEL_GROUPS] + min_h[PANEL_REPLICATION];
    int band1 = min_h[PANEL_THROUGHPUT], servers = min_h[PANEL_SERVERS], log = min_h[PANEL_LOG];
    int band = side_min > min_h[PANEL_RUNBOOK] ? side_min : min_h[PANEL_RUNBOOK];
    int extra = avail - band1 - band - servers - log;
    int want = runbook_rows + 1 - band; /* title row + the steps + the prompt */
    if (want > 0) band += take(&extra, want);
    log += take(&extra, 2);
    band1 += take(&extra, 5);
    servers += take(&extra, 1);
    log += extra;

    int ww = w * 2 / 5;
    if (ww < 31) ww = 31;
    if (ww > 46) ww = 46;
    int tw = w - ww - 1;
    int y = top;
    L->panel[PANEL_THROUGHPUT] = rect(0, y, tw, band1);
    L->panel[PANEL_WORKERS] = rect(tw + 1, y, ww, band1);
    y += band1;
    int rw = w * 3 / 5, sw = w - rw - 1;
    int gh = band / 2 > min_h[PANEL_GROUPS] ? band / 2 : min_h[PANEL_GROUPS];
    L->panel[PANEL_RUNBOOK] = rect(0, y, rw, band);
    L->panel[PANEL_GROUPS] = rect(rw + 1, y, sw, gh);
    L->panel[PANEL_REPLICATION] = rect(rw + 1, y + gh, sw, band - gh);
    y += band;
    L->panel[PANEL_SERVERS] = rect(0, y, w, servers);
    y += servers;
    L->panel[PANEL_LOG] = rect(0, y, w, log);
}

void layout_compute_run_follower(int w, int h, int runbook_rows, int copy_live, Layout *L) {
    layout_compute_run(w, h, runbook_rows, L);
    if (L->too_small) return;
    UiRect t = L->panel[PANEL_THROUGHPUT], wk = L->panel[PANEL_WORKERS];
    if (copy_live) {
        /* the copy keeps its throughput; the follower replaces the workers */
        L->panel[PANEL_FOLLOWER] = wk;
        memset(&L->panel[PANEL_WORKERS], 0, sizeof(UiRect));
        return;
    }
    memset(&L->panel[PANEL_THROUGHPUT], 0, sizeof(UiRect));
    memset(&L->panel[PANEL_WORKERS], 0, sizeof(UiRect));
    /* The band grew for sparklines the follower does not draw: it keeps
     * its rows plus one (a wrapped error), the panels below it in its
     * column move up and the log takes what is left. */
    int bx = t.x, bw = wk.x + wk.w - t.x, want = min_h[PANEL_FOLLOWER] + 1;
    int shift = t.h > want ? t.h - want : 0;
    L->panel[PANEL_FOLLOWER] = rect(bx, t.y, bw, t.h - shift);
    if (!shift) return;
    for (int p = 0; p < PANEL__COUNT; p++) {
        UiRect *r = &L->panel[p];
        if (p == PANEL_FOLLOWER || !layout_placed(L, (PanelId)p)) continue;
        if (r->y >= t.y + t.h && r->x >= bx && r->x + r->w <= bx + bw) r->y -= shift;
    }
    L->panel[PANEL_LOG].h += shift; /* the bottom of that column */
}

void layout_compute_follow(int w, int h, Layout *L) {
    memset(L, 0, sizeof *L);
    L->w = w;
    L->h = h;
    L->follow = 1;
    if (w < LAYOUT_MIN_W || h < LAYOUT_MIN_H) {
        L->too_small = 1;
        return;
    }
    L->status = rect(0, 0, w, 1);
    L->hints = rect(0, h - 1, w, 1);
    int top = 1, avail = h - 2;
    L->sidebar = w >= LAYOUT_SIDEBAR_W;
    int fol = min_h[PANEL_FOLLOWER], servers = min_h[PANEL_SERVERS], log = min_h[PANEL_LOG];
    if (L->sidebar) {
        /* follower | servers side by side: one band as tall as the taller */
        int band = fol;
        int extra = avail - band - log;
        band += take(&extra, 3);
        log += extra;
        int sw = w * 2 / 5;
        if (sw > 90) sw = 90;
        int fw = w - sw - 1;
        L->panel[PANEL_FOLLOWER] = rect(0, top, fw, band);
        L->panel[PANEL_SERVERS] = rect(fw + 1, top, sw, band);
        L->panel[PANEL_LOG] = rect(0, top + band, w, log);
        return;
    }
    int extra = avail - fol - servers - log;
    log += take(&extra, 2);  /* a few log lines first: warnings must show */
    fol += take(&extra, 1);  /* room for a wrapped error */
    servers += take(&extra, 1);
    log += extra;
    L->panel[PANEL_FOLLOWER] = rect(0, top, w, fol);
    L->panel[PANEL_SERVERS] = rect(0, top + fol, w, servers);
    L->panel[PANEL_LOG] = rect(0, top + fol + servers, w, log);
}
