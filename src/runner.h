/* runner — runs a runbook: one thread walks the steps in order; before a
 * step with a gate it waits until the operator passes the gate (or skips
 * the step, or aborts); then it runs the step's action and journals the
 * outcome. Nothing destructive runs before its gate passes.
 *
 * The console and the headless printer never touch the runner's fields:
 * they read runner_snapshot() (everything under one lock, the running
 * copy's EngineSnapshot included) and act through the control API below,
 * which is safe from any thread and never blocks on the network.
 *
 * Journal: every gate, step start, step outcome, skip, abort and copy
 * checkpoint is appended (fsync'd) to the journal before the runner moves
 * on. Resume: with a journal from an earlier attempt, the run continues at
 * the first unfinished step; a copy continues from its last checkpoint.
 * Gates of unfinished steps are asked again. */
#ifndef FERRY_RUNNER_H
#define FERRY_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "eventlog.h"
#include "follow.h"
#include "groups.h"
#include "repl.h"
#include "runbook.h"

#define RUNNER_SNAPSHOT_LOG 64
#define RUNNER_EVENT_TEXT 512

/* One line for the operator: what a step said, a gate passed, the run's end. */
typedef struct RunnerEvent {
    int64_t time_ms;              /* wall clock */
    uint64_t seq;                 /* 1, 2, 3… */
    EventLevel level;
    char step[RUNBOOK_ID_LEN];    /* the step it is about; "" = the run */
    char text[RUNNER_EVENT_TEXT];
} RunnerEvent;

typedef enum {
    STEP_PENDING = 0,
    STEP_WAITING, /* its gate waits for the operator */
    STEP_RUNNING,
    STEP_DONE,
    STEP_FAILED,
    STEP_SKIPPED
} StepState;

typedef enum {
    RUNNER_IDLE = 0, /* created, not started */
    RUNNER_RUNNING,  /* a step runs */
    RUNNER_WAITING,  /* a gate waits for the operator */
    RUNNER_DONE,     /* every step done or skipped */
    RUNNER_FAILED,   /* a step failed (on-failure stop) */
    RUNNER_ABORTED,  /* the operator aborted */
    RUNNER_BLOCKED   /* headless: a gate nobody pre-confirmed */
} RunnerState;

typedef struct RunnerOptions {
    const Runbook *rb;          /* borrowed: must outlive the runner */
    const CopyOptions *copy;    /* servers and shared options, merged; copied */
    const char *journal_path;   /* NULL: ./ferry-journal-<run id>.jsonl */
    const char *resume_path;    /* continue the run journaled here (and append to it) */
    const char *const *confirm; /* step ids whose gate is passed in advance (--confirm) */
    int nconfirm;
    int confirm_all;            /* pass every `confirm` gate; never a `type` gate */
    int headless;               /* a gate not passed in advance ends the run (BLOCKED)
                                   instead of waiting for runner_confirm() */
    int accept_eviction;
    const char *user;           /* operator for the journal; NULL: $USER */
    int groups_budget;          /* > 0: sample consumer groups on both sides at most this
                                   many commands/s each (runner_groups); 0: don't */
} RunnerOptions;

typedef struct RunnerStepView {
    char id[RUNBOOK_ID_LEN];
    char title[RUNBOOK_TITLE_LEN];
    char action[32];
    StepState state;
    GateKind gate;
    char phrase[RUNBOOK_PHRASE_LEN]; /* what a type gate wants typed */
    int destructive;
    int64_t timeout_ms;              /* 0 = none */
    int64_t started_ms;              /* wall clock; 0 = not (yet) in this attempt */
    int64_t duration_ms;             /* so far while running; -1 = not started */
    char gate_by[64];                /* who passed the gate ("" = not passed) */
    char message[FERRY_ERR_LEN];     /* outcome, or the current state in words */
    int from_journal;                /* finished in an earlier attempt */
    int awaiting_end;                /* running; ends when the operator confirms (Enter) */
} RunnerStepView;

typedef struct RunnerSnapshot {
    RunnerState state;
    char run_id[64];
    char journal[1024];
    char title[RUNBOOK_TITLE_LEN];
    char source[300], target[300];   /* redacted */
    int attempt;                     /* 1, or more after --resume */
    int nsteps;
    RunnerStepView steps[RUNBOOK_MAX_STEPS];
    int current;                     /* step running or waiting; -1 none */
    char prompt[400];                /* the current gate's question; "" = none */
    int engine_step;                 /* step the engine snapshot belongs to; -1 none */
    int engine_live;                 /* 1 = that copy is still running */
    EngineSnapshot engine;
    int repl_step;                   /* step the replication view belongs to; -1 none */
    int repl_live;                   /* 1 = that step still watches (else its last view) */
    ReplView repl;
    int follow_step;                 /* step that started the background follower; -1 none */
    int follow_live;                 /* 1 = it still runs (else follow is its last status) */
    FollowStatus follow;
    char reason[FERRY_ERR_LEN];      /* why FAILED / ABORTED / BLOCKED */
    int nlog;
    RunnerEvent log[RUNNER_SNAPSHOT_LOG]; /* newest last; seq increases */
} RunnerSnapshot;

typedef struct Runner Runner;

/* Checks the plan (servers present, every destructive step type-gated under
 * the effective conflict policy, --confirm ids exist), opens the journal,
 * and on resume reads it: the journal must be of this runbook (same step
 * ids) and the same servers. Nothing is contacted yet. NULL + message. */
Runner *runner_create(const RunnerOptions *o, char *err, size_t errlen);
int runner_start(Runner *r, char *err, size_t errlen);
/* Waits up to timeout_ms (-1 forever) for the run to end; 1 when it has. */
int runner_wait(Runner *r, int timeout_ms);
/* Aborts if still running, joins, frees. */
void runner_free(Runner *r);

/* Passes the gate of the step that waits, or ends a running step that waits
 * for the operator's word (awaiting_end; journaled as gate "end"). A `type`
 * gate needs exactly its phrase; a `confirm` gate ignores phrase. -1 with a
 * message when step_id is not waiting or the phrase is wrong (journaled as
 * gate-refused). */
int runner_confirm(Runner *r, const char *step_id, const char *phrase, char *err, size_t errlen);
/* Skips a pending or waiting step; reason is required and journaled. */
int runner_skip(Runner *r, const char *step_id, const char *reason, char *err, size_t errlen);
/* Stops the run: a waiting gate is left unpassed, a running step is asked
 * to stop (a copy finishes its batches in flight and checkpoints). */
void runner_abort(Runner *r);
/* A line from the operator's side (the console: a quit, a theme) in the
 * run's log; not journaled. Any thread. */
void runner_note(Runner *r, EventLevel level, const char *text);
/* Controls of the copy running now (no-ops otherwise). */
void runner_engine_pause(Runner *r);
void runner_engine_resume(Runner *r);
void runner_engine_set_workers(Runner *r, int n);
void runner_engine_set_rate(Runner *r, double keys_per_s);

/* The consumer-group sampler of one side (0 source, 1 target), started
 * with the run when RunnerOptions.groups_budget > 0: copies its figures
 * into out (free with groups_snapshot_free). -1 when there is no sampler
 * (or no memory). Any thread; never blocks on the network. */
int runner_groups(Runner *r, int side, GroupsSnapshot *out);

/* Copies everything a panel draws, under one lock (about 30 KB: keep one
 * heap-allocated snapshot and reuse it). */
void runner_snapshot(Runner *r, RunnerSnapshot *out);
RunnerState runner_state(Runner *r);

const char *runner_state_name(RunnerState s);
const char *step_state_name(StepState s);
/* Exit code of a finished run: 0 every step done or skipped, 1 failed,
 * aborted or blocked, 3 finished but a step failed with on-failure continue. */
int runner_exit_code(const RunnerSnapshot *s);

#endif
