/* actions — what a runbook step can do. Each action is one file,
 * src/action_<name>.c, exporting one ActionDef; the table in actions.c
 * lists them. Adding an action = one new file + one line in that table.
 *
 * An action runs on the runner's thread. It talks to the servers itself
 * (its own connections, closed before it returns), reports through the
 * ActionCtx's host functions, and returns 0 (done) or -1 with a one-line
 * message (failed). It never prints and never blocks for long without
 * checking action_stopping(): the operator may abort, the step may time
 * out. */
#ifndef FERRY_ACTIONS_H
#define FERRY_ACTIONS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "follow.h"
#include "preflight.h"
#include "repl.h"
#include "runbook.h"

typedef struct ActionCtx ActionCtx;

/* What the runner offers an action (a table of functions, so that tests
 * can drive an action with a fake host). */
typedef struct ActionHost {
    void *ud;
    /* 1 when the action must stop now: aborted, or past the step's timeout. */
    int (*stopping)(void *ud);
    /* A line for the operator (and the step's journal record). */
    void (*log)(void *ud, EventLevel level, const char *text);
    /* A number for the step's journal record ("keys_copied", 1234). */
    void (*figure)(void *ud, const char *name, long long value);
    /* The copy engine now running (NULL when it ends): the runner snapshots
     * it for the console. The action frees the engine only after passing
     * NULL here. */
    void (*set_engine)(void *ud, Engine *e);
    /* A resume point of this step's copy, to journal. Any thread. */
    void (*checkpoint)(void *ud, const CopyCheckpoint *cp);
    /* Writes on the source are paused until this wall-clock time (0 = no
     * longer): on abort or failure the runner lifts the pause. */
    void (*paused_until)(void *ud, int64_t wall_ms);
    /* This running step ends when the operator says so (a cutover): the
     * console shows prompt and Enter confirms. -1 with a message when no
     * one can ever say so (headless, and the step was not named with
     * --confirm / --confirm-all). */
    int (*await_end)(void *ud, const char *prompt, char *err, size_t errlen);
    /* 0 not yet; 1 the operator confirmed now; 2 it was confirmed in
     * advance (headless: end when the action's own condition holds). */
    int (*end_requested)(void *ud);
    /* The replication monitor this step watches through (NULL when it
     * stops watching): the runner builds a ReplView from it for the console
     * and the headless line. As with set_engine, the action stops the
     * monitor only after passing NULL here. May be NULL (a test host). */
    void (*set_repl)(void *ud, ReplMonitor *m);
    /* The background follower (action follow) now running, NULL when it
     * stops: the console shows its panel from follow_status(). The action
     * stops the follower only after passing NULL here. May be NULL. */
    void (*set_follower)(void *ud, Follower *f);
} ActionHost;

struct ActionCtx {
    const Runbook *rb;
    const RunbookStep *step;
    const CopyOptions *copy;         /* servers + shared options, merged */
    int accept_eviction;             /* --accept-eviction */
    int resuming;                    /* an earlier attempt was interrupted in this step
                                        (killed, aborted, or failed after a checkpoint) */
    const CopyCheckpoint *checkpoint;/* its last journaled checkpoint, or NULL */
    const char *report_path;         /* where a copy lists keys not copied; may be NULL */
    const char *state_path;          /* a file the step may keep state in across the run's attempts
                                        (next to the journal, named after run and step); may be NULL */
    ActionHost host;
};

typedef struct ActionDef {
    const char *name;
    const char *summary;          /* default step title */
    const char *const *params;    /* keys the step may set; NULL-terminated; may be NULL */
    GateKind default_gate;        /* when the step does not say */
    /* 1 if the step destroys or overwrites data (needs a type gate); NULL = never. */
    int (*destructive)(const RunbookStep *st, int on_conflict);
    /* Validates the step's parameters at parse time: -1, *line set to the
     * offending line and a message (without file:line). NULL = nothing to check. */
    int (*check)(const RunbookStep *st, int *line, char *err, size_t errlen);
    /* Adds the commands this step needs to a preflight plan. May be NULL. */
    void (*needs)(const RunbookStep *st, PreflightPlan *plan);
    int (*run)(ActionCtx *ctx, char *err, size_t errlen);
    /* A resumed run calls this, in step order and before its first step,
     * for every step an earlier attempt completed: it brings back what the
     * step left running in the background of the ferry that ran it (a
     * follower). -1 with a message stops the resumed run. NULL = nothing. */
    int (*resume_done)(ActionCtx *ctx, char *err, size_t errlen);
} ActionDef;

const ActionDef *actions_find(const char *name);
/* "preflight, copy, verify-counts, …" for messages. */
void actions_list(char *buf, size_t len);
/* The preflight plan of a whole runbook: every step's needs. */
void actions_plan(const Runbook *rb, PreflightPlan *plan);

/* Helpers for action files. */
int action_stopping(ActionCtx *c);
void action_log(ActionCtx *c, EventLevel level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void action_figure(ActionCtx *c, const char *name, long long value);
/* Opens a control connection to one side with no db selected. */
Conn *action_connect(ActionCtx *c, int target, const char *name, char *err, size_t errlen);
/* The (source db, target db) pairs of the run: see engine_db_plan(). */
int action_db_plan(ActionCtx *c, Conn *src, int *src_db, int *dst_db, int *n, char *err, size_t errlen);
/* Parses an optional whole-number parameter in [lo, hi]; -1 with a message. */
int action_param_int(const RunbookStep *st, const char *key, long lo, long hi, long *out,
                     int *line, char *err, size_t errlen);
/* "yes"/"no"/"true"/"false"/"on"/"off": 1/0, -1 when not one of these. */
int action_parse_bool(const char *v);

/* A replication monitor watched by a step (wait-sync, wait-offset): the
 * monitor, its latest state and view, shown in the console while it runs. */
typedef struct ReplWatch {
    ReplMonitor *m;
    ReplState *st;
    ReplView *v;      /* the latest sample, once seen */
    uint64_t seq;
    int seen;         /* a sample of both servers has arrived */
    int64_t now;      /* monotonic time of the latest sample */
    char tlabel[300]; /* the target, password masked */
    char last_err[2 * REPL_ERR_LEN + 8];
} ReplWatch;

/* Starts the monitor (sampling every poll_ms) and hands it to the console. */
int action_repl_watch_start(ActionCtx *c, int64_t poll_ms, ReplWatch *w, char *err, size_t errlen);
/* Waits up to 200 ms for a new sample: 1 = a new one in w->v (sampling
 * errors are logged when they change), 0 = none yet, -1 = the target can
 * never get there (repl_view_blocked: the message in err). */
int action_repl_watch_next(ActionCtx *c, ReplWatch *w, char *err, size_t errlen);
void action_repl_watch_stop(ActionCtx *c, ReplWatch *w);

#endif
