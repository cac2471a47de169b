/* panels — one pure function per panel: (snapshot, view) → cells in a
 * canvas. Each takes the canvas of its whole rectangle (title row included),
 * draws its title rule and its content, and touches nothing outside.
 *
 * No ncurses here; console.c paints the finished grid. The tests call these
 * directly on small grids built from hand-made snapshots. */
#ifndef FERRY_PANELS_H
#define FERRY_PANELS_H

#include "engine.h"
#include "follow.h"
#include "uimodel.h"
#include "view.h"

/* Title rule: "─ Throughput ────────────── last 5m ─". right may be NULL. */
void panel_frame(const UiCanvas *c, const char *title, int focused, const char *right);
/* The content area below the title, with a one-column left margin. */
UiCanvas panel_body(const UiCanvas *c);

void panel_throughput(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                      int focused);
void panel_workers(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                   int focused);
void panel_servers(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                   int focused);
void panel_log(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s, int focused);
/* A runbook run (ferry run): its steps, and what waits for the operator. */
void panel_runbook(const UiCanvas *c, const ConsoleView *v, const RunnerSnapshot *r,
                   int focused);
/* The replication a run's step watches (r from the RunnerSnapshot); live =
 * that step still runs, step = its id. */
void panel_replication(const UiCanvas *c, const ConsoleView *v, const ReplView *r, int live,
                       const char *step, int focused);
/* Consumer groups: totals with coverage per side, then the top groups of
 * the source (by v->groups_order) with the same group on the target beside
 * them. Either side may be NULL. */
void panel_groups(const UiCanvas *c, const ConsoleView *v, const GroupsSnapshot *src,
                  const GroupsSnapshot *dst, int focused);
/* The follower's render model: what its panel says, built from one
 * FollowStatus by a pure function (follow_model_build) so that tests can
 * check the verdicts without drawing. */
#define FOLLOW_IDLE_WARN_MS 20000  /* no byte from the source: it pings every 10 s */
#define FOLLOW_IDLE_ERROR_MS 60000 /* the source's default repl-timeout */
#define FOLLOW_SAMPLE_STALE_MS 3000 /* source offset sampled once a second */
typedef struct FollowModel {
    FollowState state;
    const char *state_label;  /* "streaming" */
    UiRole state_role;
    long long lag;            /* source offset - applied offset (>= 0); -1 unknown */
    long long unapplied;      /* received - applied: read, not yet applied; -1 unknown */
    int caught_up;            /* streaming, lag 0, nothing read and not applied */
    UiRole lag_role;
    int64_t idle_ms;          /* since the last byte from the source; -1 never */
    UiRole idle_role;
    int64_t sample_age_ms;    /* of the source offset; -1 never sampled */
    int sample_stale;
    double snapshot_progress; /* 0..1; -1 size unknown (diskless) */
    UiRole errors_role, mixed_role;
} FollowModel;
void follow_model_build(const FollowStatus *s, int64_t now_mono_ms, FollowModel *m);
/* A follower state's role in the panel and status bar (its name:
 * follow_state_name). */
UiRole ui_follow_state_role(FollowState s);
UiRole ui_follow_status_role(FollowState s);
/* The follower: ferry follow's main panel, or a run's background follower
 * (step = the step that started it, "" for ferry follow). now_mono_ms:
 * util_mono_ms() of the frame (FollowStatus times are monotonic). */
void panel_follow(const UiCanvas *c, const ConsoleView *v, const FollowStatus *s,
                  const char *step, int64_t now_mono_ms, int focused);
/* Throughput / workers / servers of a run while no copy step runs. */
void panel_no_copy(const UiCanvas *c, PanelId id, int focused);
void panel_confirm_abort(const UiCanvas *screen, const ConsoleView *v);
/* The runbook's one-line input: a typed phrase, or a skip reason. */
void panel_input(const UiCanvas *screen, const ConsoleView *v);
const char *ui_step_state_label(StepState s);   /* "waiting" */
UiRole ui_step_state_role(StepState s);
const char *ui_run_state_label(RunnerState s);  /* "WAITING" */
UiRole ui_run_state_role(RunnerState s);
/* Consumer groups, replication (and the runbook of a plain copy): later
 * work fills these. */
void panel_reserved(const UiCanvas *c, PanelId id, int focused);

void panel_status_bar(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s);
/* ferry follow's status bar: the follower's state, the title (or its
 * error), applied offset, caught up or lag, elapsed since now_mono_ms. */
void panel_follow_status_bar(const UiCanvas *c, const ConsoleView *v, int64_t now_mono_ms);
void panel_hints(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                 int64_t now_ms);
/* Overlays take the whole screen's canvas and centre themselves. */
void panel_help(const UiCanvas *screen, const ConsoleView *v);
void panel_confirm_quit(const UiCanvas *screen, const ConsoleView *v, const EngineSnapshot *s);
void panel_too_small(const UiCanvas *screen, const ConsoleView *v);

/* Shared wording, so panels, the status bar and tests agree. */
const char *ui_state_label(EngineState s, int quit_pending); /* "RUNNING", "STOPPING…" */
UiRole ui_state_role(EngineState s, int quit_pending);
const char *ui_worker_state_label(WorkerState s);           /* "restoring" */
const char *ui_fail_label(FailReason r);                     /* "oom" */
/* "12.5k/s" */
void ui_fmt_keys_rate(char *buf, size_t len, double keys_per_s);
/* "41.2 MiB/s" */
void ui_fmt_bytes_rate(char *buf, size_t len, double bytes_per_s);
/* "0.42 ms", "12.3 ms", "250 ms" */
void ui_fmt_latency(char *buf, size_t len, double ms);

/* Helpers shared by the panel files. A flow places "label value" items left
 * to right with two blanks between them and moves to the next row when an
 * item does not fit; items that fit nowhere are dropped (returns -1). */
typedef struct UiFlow {
    const UiCanvas *c;
    int row, col;
    int row_end; /* first row the flow may not use */
} UiFlow;
int ui_flow_item(UiFlow *f, const char *label, UiRole lrole, const char *value, UiRole vrole);
/* A centred box with a frame; returns the canvas inside the frame. */
UiCanvas ui_dialog(const UiCanvas *screen, int w, int h, const char *title);

#endif
