/* view — the console's state between frames and everything the operator's
 * keys do to it, with no ncurses and no backend calls in it.
 *
 * One frame is: view_ingest(snapshot) (update), view_build_screen() into a
 * UiGrid (model), then the painter (console.c). A key goes to
 * view_handle_key(), which changes only the view, and returns flags plus at
 * most one UiCommand for the loop to carry out through the backend with
 * view_command_run() — htop's Panel.h: no action at a distance.
 *
 * A runbook run (`ferry run`) adds the runner's snapshot (view_ingest_run):
 * the Runbook panel, the gate keys (Enter/c, the typed-phrase input, s with
 * its reason, a with its question) and a quit that aborts the run; the copy
 * panels then draw the run's current copy step, if any; while a follow
 * step's follower runs, the Follower panel draws it (v->follow).
 *
 * `ferry follow` (follow_mode) has its own screen: the Follower panel over
 * servers and log, a status bar with the follower's state, and a quit that
 * leaves at once (the caller stops the follower: no network on this
 * thread). */
#ifndef FERRY_VIEW_H
#define FERRY_VIEW_H

#include <stdint.h>

#include "console.h"
#include "runner.h"
#include "engine.h"
#include "layout.h"
#include "uimodel.h"

#define VIEW_LOG_CAP 1000 /* events kept for scrolling back */

/* Keys, independent of ncurses (console.c translates). Printable keys are
 * their ASCII code. */
enum {
    UI_KEY_TAB = '\t',
    UI_KEY_ENTER = '\n',
    UI_KEY_ESC = 27,
    UI_KEY_CTRL_L = 12,
    UI_KEY_UP = 0x1000,
    UI_KEY_DOWN,
    UI_KEY_LEFT,
    UI_KEY_RIGHT,
    UI_KEY_PGUP,
    UI_KEY_PGDN,
    UI_KEY_HOME,
    UI_KEY_END,
    UI_KEY_BTAB,
    UI_KEY_INTERRUPT, /* SIGINT: a confirmed quit without the question */
    UI_KEY_BACKSPACE,
};

/* view_handle_key() result flags */
enum { VIEW_HANDLED = 1, VIEW_REDRAW = 2, VIEW_QUIT = 4 };

typedef enum {
    OVERLAY_NONE = 0,
    OVERLAY_HELP,
    OVERLAY_CONFIRM_QUIT,
    OVERLAY_CONFIRM_ABORT, /* runbook: a, then y */
    OVERLAY_INPUT,         /* runbook: a line the operator types (phrase, reason) */
} Overlay;

/* What OVERLAY_INPUT asks for. */
typedef enum { INPUT_NONE = 0, INPUT_PHRASE, INPUT_SKIP_REASON } InputKind;

typedef enum {
    CMD_NONE = 0,
    CMD_PAUSE,
    CMD_RESUME,
    CMD_SET_WORKERS,
    CMD_SET_RATE,
    CMD_STOP,
    CMD_NEXT_THEME, /* carried out by the console loop (it owns colours) */
    CMD_REPAINT,    /* Ctrl-L: the loop repaints the whole terminal */
    CMD_CONFIRM,    /* runbook: pass step's gate (text = the typed phrase) */
    CMD_SKIP,       /* runbook: skip step (text = the reason) */
    CMD_ABORT,      /* runbook: abort the run */
} UiCommandKind;

typedef struct UiCommand {
    UiCommandKind kind;
    int workers;                 /* CMD_SET_WORKERS */
    double rate;                 /* CMD_SET_RATE, keys/s, 0 = no limit */
    char step[RUNBOOK_ID_LEN];   /* CMD_CONFIRM, CMD_SKIP */
    char text[RUNBOOK_PHRASE_LEN]; /* the phrase, or the reason */
    /* A log line for what only the console knows (a confirmed quit, an
     * interrupt); empty = none. The control calls (pause, resume, workers,
     * rate, stop) are logged by the engine itself, so the console adds no
     * second line for them. */
    char log[EVENTLOG_TEXT];
} UiCommand;

typedef struct ConsoleView {
    PanelId focus;
    Overlay overlay;
    int quit_pending;        /* the operator asked to quit; leave when final */

    /* Events seen so far, oldest first in a ring; more than a snapshot's 64. */
    Event log[VIEW_LOG_CAP];
    int log_start, log_len;
    uint64_t log_last_seq;
    uint64_t log_anchor;     /* seq of the newest visible event; 0 = follow */
    int workers_scroll;      /* first worker shown */
    int page_rows[PANEL__COUNT]; /* content rows, from the last layout */

    char flash[160];         /* short feedback in the hint line */
    int64_t flash_until_ms;

    /* A runbook run: the last runner snapshot (borrowed: the loop owns it
     * and sets it with view_ingest_run), NULL for a plain copy. */
    const RunnerSnapshot *run;
    uint64_t run_seen, eng_seen; /* runner / copy events already in the log */
    int eng_step;                /* the step whose copy eng_seen counts */
    uint64_t local_seq;          /* the log's own numbering in a run */
    int runbook_scroll;          /* first step shown when they do not all fit;
                                    -1 = follow the current step (End) */
    InputKind input_kind;        /* OVERLAY_INPUT */
    char input[RUNBOOK_PHRASE_LEN];
    char input_step[RUNBOOK_ID_LEN];
    char input_err[320];         /* why the last submission was refused */
    /* Consumer groups, source and target (borrowed from the loop, which
     * refreshes them about once a second); NULL = not sampled. */
    const GroupsSnapshot *groups[2];
    GroupsOrder groups_order;    /* o toggles pending / lag */

    /* The follower (borrowed from the loop, refreshed with each snapshot):
     * ferry follow's, or a run's background follower while it runs; NULL =
     * none. */
    const FollowStatus *follow;
    int follow_mode;             /* ferry follow: its status bar, keys and quit */
    int64_t follow_start_ms;     /* monotonic: when following began (elapsed) */
    char quit_note[200];         /* ferry follow: what quitting means for a rerun */
    int placed[PANEL__COUNT];    /* panels the current layout shows; Tab skips the rest */

    char title[256];
    char theme_name[64];
    int ascii;
    int no_color;            /* NO_COLOR: themes stay mono */
} ConsoleView;

/* title may be NULL. The view is large (the log); allocate it, don't put it
 * on a small stack. */
void view_init(ConsoleView *v, const char *title, int ascii);
/* Takes the new events of a snapshot (seq > the last seen). */
void view_ingest(ConsoleView *v, const EngineSnapshot *s);
/* Runbook run: keeps rs for the next frames and keys, and takes its new
 * events (the runner's, then the current copy's) into the log. */
void view_ingest_run(ConsoleView *v, const RunnerSnapshot *rs);
/* ferry follow: keeps s (borrowed) for the next frames. */
void view_ingest_follow(ConsoleView *v, const FollowStatus *s);
/* 1 for DONE, FAILED, ABORTED, BLOCKED. */
int view_run_final(RunnerState s);
/* 1 once a quit the operator asked for may leave: the copy (or the run)
 * has reached a final state. */
int view_can_leave(const ConsoleView *v, const EngineSnapshot *s);
/* Records each panel's content height for paging. */
void view_set_layout(ConsoleView *v, const Layout *L);
/* i-th event, 0 = oldest kept. */
const Event *view_log_at(const ConsoleView *v, int i);
void view_flash(ConsoleView *v, int64_t now_ms, const char *text);

int view_handle_key(ConsoleView *v, const EngineSnapshot *s, int key, int64_t now_ms,
                    UiCommand *cmd);
/* Writes cmd's log line (if any) through the backend, then carries it out:
 * at most one control call, exactly once.
 * CMD_NEXT_THEME and CMD_REPAINT are the loop's and are ignored here. */
void view_command_run(const ConsoleBackend *b, const UiCommand *cmd);
/* The same, returning -1 with the backend's message when a runbook control
 * (confirm, skip) was refused. */
int view_command_exec(const ConsoleBackend *b, const UiCommand *cmd, char *err, size_t errlen);

/* `[` (dir < 0, slower) and `]` (dir > 0, faster) over the steps 1k 2k 5k
 * 10k 20k 50k 100k keys/s and "off" (0). From "off", `[` picks the highest
 * step below the current rate, so the first press already slows the copy. */
double view_rate_step(double limit, double current_rate, int dir);
/* The rate `[` steps down from when there is no limit: the larger of the
 * current rate (when running and fresh) and the last 30 s average. */
double view_reference_rate(const EngineSnapshot *s);
/* "off", "20k keys/s" */
void view_fmt_rate_limit(char *buf, size_t len, double limit);

/* 1 while the run can still do work (IDLE, RUNNING, PAUSED, STOPPING). */
int view_state_in_progress(EngineState s);
/* 1 for DONE, STOPPED, FAILED. */
int view_state_final(EngineState s);

/* Builds the whole screen for layout L into g (which must be L->w × L->h):
 * panels, status bar, hints, and the help or confirmation overlay. */
void view_build_screen(const ConsoleView *v, const EngineSnapshot *s, const Layout *L,
                       UiGrid *g, int64_t now_ms);

#endif
