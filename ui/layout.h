/* layout — where each panel goes, as a pure function of the terminal size
 * (nvtop's compute_sizes_from_layout).
 *
 *   row 0        status bar: run state, elapsed, workers, rate limit
 *   rows 1..h-2  panels; each panel's first row is its title rule
 *   row h-1      key hints
 *
 * Below 160 columns the panels stack: throughput | workers, then servers,
 * then the three reserved slots (runbook | consumer groups | replication)
 * side by side, then the log with whatever height is left. From 160 columns
 * the reserved slots move to a sidebar on the right so that the runbook,
 * which later work fills with steps, gets real height.
 *
 * `ferry follow` has its own, simpler screen (layout_compute_follow): the
 * Follower panel on top, servers, then the log. A run whose follow step
 * started a follower shows the Follower panel in the band of throughput |
 * workers (layout_compute_run_follower).
 *
 * Every size from LAYOUT_MIN_W × LAYOUT_MIN_H up gets every panel of its
 * kind of screen (a panel left out has an empty rectangle: layout_placed),
 * no two rectangles overlap and all are inside the screen (unit-tested for
 * every size up to 300×100). Below the minimum, too_small is set and no
 * panel is placed. */
#ifndef FERRY_LAYOUT_H
#define FERRY_LAYOUT_H

#include "uimodel.h"

#define LAYOUT_MIN_W 80
#define LAYOUT_MIN_H 24
#define LAYOUT_SIDEBAR_W 160 /* from this width the reserved slots go right */

typedef enum {
    PANEL_THROUGHPUT = 0,
    PANEL_WORKERS,
    PANEL_SERVERS,
    PANEL_LOG,
    PANEL_RUNBOOK,
    PANEL_GROUPS,
    PANEL_REPLICATION,
    PANEL_FOLLOWER, /* ferry's own PSYNC follower: ferry follow, a run's follow step */
    PANEL__COUNT
} PanelId;

typedef struct Layout {
    int w, h;
    int too_small;
    int sidebar;              /* reserved slots on the right */
    int run;                  /* laid out for a runbook run */
    int follow;               /* laid out for ferry follow */
    UiRect status, hints;
    UiRect panel[PANEL__COUNT]; /* each includes its title row */
} Layout;

void layout_compute(int w, int h, Layout *out);
/* The same for a runbook run (`ferry run`): below LAYOUT_SIDEBAR_W the
 * runbook moves up under throughput | workers, full height of its band,
 * with consumer groups over replication beside it, and takes up to
 * runbook_rows content rows before the log grows; from LAYOUT_SIDEBAR_W it
 * is layout_compute()'s sidebar. Same guarantees. */
void layout_compute_run(int w, int h, int runbook_rows, Layout *out);
/* A run while a follower runs: the Follower panel takes the band of
 * throughput | workers, or, while a copy step runs too (copy_live), the
 * workers' place beside throughput. Same guarantees for the panels placed. */
void layout_compute_run_follower(int w, int h, int runbook_rows, int copy_live, Layout *out);
/* `ferry follow`: status bar, Follower, Servers, Log, hints. The Follower
 * panel gets up to 10 rows before the log grows; from LAYOUT_SIDEBAR_W the
 * servers sit beside it. */
void layout_compute_follow(int w, int h, Layout *out);
/* 1 when the layout gives panel p a rectangle. */
int layout_placed(const Layout *L, PanelId p);
/* "Throughput", "Consumer groups"… */
const char *panel_title(PanelId p);
/* Minimum height (title row included) layout_compute guarantees. */
int layout_min_height(PanelId p);
/* 1 when the rectangles share a cell. */
int ui_rect_overlap(UiRect a, UiRect b);

#endif
