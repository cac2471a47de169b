/* runner — one thread that walks a runbook's steps; see runner.h.
 *
 * Threads: the runner thread runs the steps (and, inside a copy step, the
 * engine's own threads run under it). The UI or headless printer calls the
 * control API and runner_snapshot() from its own thread. Everything they
 * share lives under r->lock; the gate wait is a condition variable on that
 * lock. Journal writes (fsync) happen outside the lock, so a slow disk
 * never freezes the console. The copy's checkpoint callback arrives on the
 * engine's monitor thread and only touches the journal (its own lock).
 *
 * Order of events per step, each journaled before the next happens:
 *   gate passed (who, how) → start → [checkpoints] → outcome.
 * Nothing destructive runs before its gate passes: the action is only
 * called after the gate record is on disk. */
#include "runner.h"

#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "journal.h"
#include "util.h"

#define STEP_LOG_MAX 64
#define RUNNER_LOG_CAP 256
#define STEP_FIGURES_MAX 64

/* snprintf without the compiler's truncation warning: every caller here
 * truncates on purpose (display text). */
__attribute__((format(printf, 3, 4))) static void sfmt(char *buf, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

typedef struct StepRun {
    StepState state;
    int64_t started_ms;   /* wall */
    int64_t started_mono;
    int64_t duration_ms;  /* -1 = not started */
    char gate_by[64];
    char message[FERRY_ERR_LEN];
    int from_journal;
    int skip_requested;
    char skip_reason[200];
    char phrase[RUNBOOK_PHRASE_LEN];
    int destructive;
    int awaiting_end;     /* running, ends on the operator's word */
    int end_requested;    /* 1 confirmed now, 2 in advance */
    char end_prompt[400];
} StepRun;

/* What an action's host functions get as ud: the runner and the step. One
 * per step, inside the Runner, so that an action that keeps its host past
 * its step (follow: the background follower's set_follower) holds a
 * pointer that stays valid as long as the runner. */
typedef struct HostCtx {
    struct Runner *r;
    int idx;
} HostCtx;

typedef struct Figure {
    char name[48];
    long long value;
} Figure;

struct Runner {
    const Runbook *rb;
    CopyOptions copy;
    int accept_eviction;
    int headless;
    int confirm_all;
    int nconfirm;
    char **confirm;
    char user[64];
    char host[128];
    char source_label[300], target_label[300];

    Journal *journal;
    char run_id[64];
    int attempt;
    int start_index;
    JournalState *resume; /* the earlier attempts, when resuming */

    pthread_t th;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    RunnerState state;
    char reason[FERRY_ERR_LEN];
    int abort;
    int journal_failed;
    int current;
    int gate_passed;
    char gate_via[32];
    int timed_out;
    int64_t deadline_mono;
    int64_t paused_until;
    StepRun st[RUNBOOK_MAX_STEPS];
    char prompt[400];

    HostCtx hosts[RUNBOOK_MAX_STEPS];

    Engine *engine;
    int engine_step;
    EngineSnapshot *last_engine;
    int have_last_engine;
    /* The replication monitor a step watches through (host_set_repl), and
     * the last view built from it (kept after the step ends). */
    ReplMonitor *repl;
    int repl_step;
    ReplState *repl_state;  /* scratch for runner_snapshot, under lock */
    ReplView *last_repl;
    int have_last_repl;
    /* The background follower of a follow step (host_set_follower): it
     * outlives the step that started it, so follow_step stays that step;
     * the last status is kept once the action has let go of it. */
    Follower *follower;
    int follow_step;
    uint64_t follow_seen; /* the follower's log lines already in the run's log */
    FollowStatus *last_follow;
    int have_last_follow;
    /* Consumer-group samplers, source and target (NULL: not sampling);
     * their own threads, started and stopped with the run. */
    int groups_budget;
    Groups *groups[2];

    pthread_mutex_t log_lock; /* the ring below; never held with r->lock */
    RunnerEvent ring[RUNNER_LOG_CAP];
    uint64_t next_seq;
    /* The current step's journal extras (runner thread + set_engine). */
    char *step_log[STEP_LOG_MAX];
    int nstep_log;
    Figure figures[STEP_FIGURES_MAX];
    int nfigures;
};

const char *runner_state_name(RunnerState s) {
    switch (s) {
    case RUNNER_IDLE: return "ready";
    case RUNNER_RUNNING: return "running";
    case RUNNER_WAITING: return "waiting";
    case RUNNER_DONE: return "done";
    case RUNNER_FAILED: return "failed";
    case RUNNER_ABORTED: return "aborted";
    case RUNNER_BLOCKED: return "blocked";
    }
    return "?";
}

const char *step_state_name(StepState s) {
    switch (s) {
    case STEP_PENDING: return "pending";
    case STEP_WAITING: return "waiting";
    case STEP_RUNNING: return "running";
    case STEP_DONE: return "done";
    case STEP_FAILED: return "failed";
    case STEP_SKIPPED: return "skipped";
    }
    return "?";
}

static int runner_final(RunnerState s) {
    return s == RUNNER_DONE || s == RUNNER_FAILED || s == RUNNER_ABORTED || s == RUNNER_BLOCKED;
}

int runner_exit_code(const RunnerSnapshot *s) {
    if (s->state != RUNNER_DONE) return 1;
    for (int i = 0; i < s->nsteps; i++)
        if (s->steps[i].state == STEP_FAILED) return 3;
    return 0;
}

/* ------------------------------------------------------------------- log */

__attribute__((format(printf, 4, 5))) static void runner_log(Runner *r, EventLevel level, int step,
                                                             const char *fmt, ...) {
    char text[RUNNER_EVENT_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&r->log_lock);
    RunnerEvent *ev = &r->ring[(r->next_seq - 1) % RUNNER_LOG_CAP];
    ev->seq = r->next_seq++;
    ev->time_ms = util_now_ms();
    ev->level = level;
    util_strlcpy(ev->step, step >= 0 ? r->rb->steps[step].id : "", sizeof(ev->step));
    memcpy(ev->text, text, sizeof(text));
    pthread_mutex_unlock(&r->log_lock);
}

static int runner_log_copy(Runner *r, RunnerEvent *out, int max) {
    pthread_mutex_lock(&r->log_lock);
    uint64_t newest = r->next_seq - 1;
    uint64_t oldest = newest >= (uint64_t)max ? newest - (uint64_t)max + 1 : 1;
    if (newest >= RUNNER_LOG_CAP && oldest < newest - RUNNER_LOG_CAP + 1) oldest = newest - RUNNER_LOG_CAP + 1;
    int n = 0;
    for (uint64_t q = oldest; q <= newest && n < max; q++) out[n++] = r->ring[(q - 1) % RUNNER_LOG_CAP];
    pthread_mutex_unlock(&r->log_lock);
    return n;
}

/* ---------------------------------------------------------------- journal */

static void runner_step_log_add(Runner *r, const char *text) {
    if (r->nstep_log >= STEP_LOG_MAX) return;
    char *c = strdup(text);
    if (c) r->step_log[r->nstep_log++] = c;
}

static void runner_step_extras_clear(Runner *r) {
    for (int i = 0; i < r->nstep_log; i++) free(r->step_log[i]);
    r->nstep_log = 0;
    r->nfigures = 0;
}

/* Writes a record; a journal that cannot be written stops the run (nothing
 * may happen that the journal does not record). */
static int runner_journal(Runner *r, JRec *rec) {
    char err[FERRY_ERR_LEN];
    if (journal_write(r->journal, rec, err, sizeof(err)) == 0) return 0;
    pthread_mutex_lock(&r->lock);
    if (!r->journal_failed) {
        r->journal_failed = 1;
        util_strlcpy(r->reason, err, sizeof(r->reason));
    }
    pthread_mutex_unlock(&r->lock);
    runner_log(r, EV_ERROR, -1, "%s", err);
    return -1;
}

/* --------------------------------------------------------- action host */

static int host_stopping(void *ud) {
    HostCtx *h = ud;
    Runner *r = h->r;
    pthread_mutex_lock(&r->lock);
    if (r->deadline_mono && util_mono_ms() > r->deadline_mono) r->timed_out = 1;
    int stop = r->abort || r->journal_failed || r->timed_out;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

static void host_log(void *ud, EventLevel level, const char *text) {
    HostCtx *h = ud;
    Runner *r = h->r;
    runner_log(r, level, h->idx, "%s", text);
    pthread_mutex_lock(&r->lock);
    char line[RUNNER_EVENT_TEXT + 16];
    snprintf(line, sizeof(line), "%s: %s", eventlog_level_name(level), text);
    runner_step_log_add(r, line);
    pthread_mutex_unlock(&r->lock);
}

static void host_figure(void *ud, const char *name, long long value) {
    HostCtx *h = ud;
    Runner *r = h->r;
    pthread_mutex_lock(&r->lock);
    int i;
    for (i = 0; i < r->nfigures; i++)
        if (!strcmp(r->figures[i].name, name)) break;
    if (i < STEP_FIGURES_MAX) {
        util_strlcpy(r->figures[i].name, name, sizeof(r->figures[i].name));
        r->figures[i].value = value;
        if (i == r->nfigures) r->nfigures++;
    }
    pthread_mutex_unlock(&r->lock);
}

static void host_set_engine(void *ud, Engine *e) {
    HostCtx *h = ud;
    Runner *r = h->r;
    pthread_mutex_lock(&r->lock);
    if (!e && r->engine && r->last_engine) {
        engine_snapshot(r->engine, r->last_engine);
        r->have_last_engine = 1;
        /* The engine's warnings and errors belong in the step's record. */
        for (int i = 0; i < r->last_engine->nlog; i++) {
            const Event *ev = &r->last_engine->log[i];
            if (ev->level != EV_WARN && ev->level != EV_ERROR) continue;
            char line[EVENTLOG_TEXT + 24];
            snprintf(line, sizeof(line), "engine %s: %s", eventlog_level_name(ev->level), ev->text);
            runner_step_log_add(r, line);
        }
    }
    r->engine = e;
    if (e) {
        r->engine_step = h->idx;
        r->have_last_engine = 0;
    }
    pthread_mutex_unlock(&r->lock);
}

/* Builds r->last_repl from the monitor; under r->lock. */
static void runner_repl_view(Runner *r) {
    repl_monitor_state(r->repl, r->repl_state);
    repl_view_build(r->repl_state, util_mono_ms(), r->last_repl);
    r->have_last_repl = 1;
}

static void host_set_repl(void *ud, ReplMonitor *m) {
    HostCtx *h = ud;
    Runner *r = h->r;
    pthread_mutex_lock(&r->lock);
    if (!m && r->repl) runner_repl_view(r); /* the last view, kept */
    r->repl = m;
    if (m) {
        r->repl_step = h->idx;
        r->have_last_repl = 0;
    }
    pthread_mutex_unlock(&r->lock);
}

/* The follower's new log lines into the run's log, under its step: it
 * runs through later steps, and its warnings (a lost link, a target error)
 * matter whichever step is running. Called by runner_snapshot (the console
 * and the headless loop poll it) and once more before the follower stops.
 * follow_events() is read under r->lock so that the follower cannot be
 * stopped meanwhile; the lines are logged after it is released. */
static void runner_pull_follower(Runner *r) {
    Event ev[32];
    int n = 0, step = -1;
    pthread_mutex_lock(&r->lock);
    if (r->follower) {
        n = follow_events(r->follower, r->follow_seen, ev, 32);
        if (n > 0) r->follow_seen = ev[n - 1].seq;
        step = r->follow_step;
    }
    pthread_mutex_unlock(&r->lock);
    for (int i = 0; i < n; i++) runner_log(r, ev[i].level, step, "follower: %s", ev[i].text);
}

/* The action passes NULL before it stops the follower, so r->follower is
 * never a stopped one; follow_status() only copies a struct under the
 * follower's own mutex (taken inside r->lock; the follower never takes
 * r->lock). */
static void host_set_follower(void *ud, Follower *f) {
    HostCtx *h = ud;
    Runner *r = h->r;
    if (!f) runner_pull_follower(r);
    pthread_mutex_lock(&r->lock);
    if (!f && r->follower) {
        follow_status(r->follower, r->last_follow); /* the last status, kept */
        r->have_last_follow = 1;
    }
    if (f && f != r->follower) {
        r->follow_step = h->idx; /* the step that started it, not a later one */
        r->follow_seen = 0;
        r->have_last_follow = 0;
    }
    r->follower = f;
    pthread_mutex_unlock(&r->lock);
}

static void host_checkpoint(void *ud, const CopyCheckpoint *cp) {
    HostCtx *h = ud;
    Runner *r = h->r;
    JRec rec;
    jrec_begin(&rec, "checkpoint", r->run_id);
    jrec_str(&rec, "step", r->rb->steps[h->idx].id);
    jrec_int(&rec, "db_index", cp->db_index);
    jrec_int(&rec, "src_db", cp->src_db);
    jrec_int(&rec, "dst_db", cp->dst_db);
    jrec_u64(&rec, "cursor", cp->cursor);
    jrec_u64(&rec, "copied", cp->copied);
    jrec_u64(&rec, "skipped", cp->skipped);
    jrec_u64(&rec, "identical", cp->identical);
    jrec_u64(&rec, "expired", cp->expired);
    jrec_u64(&rec, "failed", cp->failed);
    jrec_u64(&rec, "bytes", cp->bytes);
    runner_journal(r, &rec);
}

static void host_paused_until(void *ud, int64_t wall_ms) {
    HostCtx *h = ud;
    pthread_mutex_lock(&h->r->lock);
    h->r->paused_until = wall_ms;
    pthread_mutex_unlock(&h->r->lock);
}

static const char *runner_preconfirmed(Runner *r, int i);

static int host_await_end(void *ud, const char *prompt, char *err, size_t errlen) {
    HostCtx *h = ud;
    Runner *r = h->r;
    const char *adv = runner_preconfirmed(r, h->idx);
    pthread_mutex_lock(&r->lock);
    StepRun *sr = &r->st[h->idx];
    if (r->headless && !adv) {
        pthread_mutex_unlock(&r->lock);
        return util_err(err, errlen, "step %s ends on the operator's word, and no one can give it here: run it in the console, or name it with --confirm %s (it then ends once its own condition holds)",
                        r->rb->steps[h->idx].id, r->rb->steps[h->idx].id);
    }
    sr->awaiting_end = 1;
    if (adv && !sr->end_requested) sr->end_requested = 2;
    util_strlcpy(sr->end_prompt, prompt, sizeof(sr->end_prompt));
    if (!adv) util_strlcpy(r->prompt, prompt, sizeof(r->prompt));
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static int host_end_requested(void *ud) {
    HostCtx *h = ud;
    Runner *r = h->r;
    pthread_mutex_lock(&r->lock);
    int v = r->st[h->idx].end_requested;
    pthread_mutex_unlock(&r->lock);
    return v;
}

/* ------------------------------------------------------------ the thread */

/* "--confirm" / "--confirm-all" when the gate of step i was passed in
 * advance, NULL otherwise. Never --confirm-all for a type gate. */
static const char *runner_preconfirmed(Runner *r, int i) {
    const RunbookStep *st = &r->rb->steps[i];
    for (int k = 0; k < r->nconfirm; k++)
        if (!strcmp(r->confirm[k], st->id)) return "--confirm";
    if (r->confirm_all && st->gate == GATE_CONFIRM) return "--confirm-all";
    return NULL;
}

static void runner_prompt(Runner *r, int i) {
    const RunbookStep *st = &r->rb->steps[i];
    const char *ins = runbook_param(st, "instruction");
    char what[RUNBOOK_TITLE_LEN + 400];
    if (ins)
        sfmt(what, sizeof(what), "%s, then confirm that step %s is done", ins, st->id);
    else
        sfmt(what, sizeof(what), "step %s (%s) starts when you confirm%s", st->id, st->title,
                 r->st[i].destructive ? ": it overwrites or deletes data on the target" : "");
    if (st->gate == GATE_TYPE)
        sfmt(r->prompt, sizeof(r->prompt), "%s — type %s to confirm", what, r->st[i].phrase);
    else
        sfmt(r->prompt, sizeof(r->prompt), "%s", what);
}

static void runner_write_skip(Runner *r, int i) {
    JRec rec;
    jrec_begin(&rec, "step", r->run_id);
    jrec_str(&rec, "step", r->rb->steps[i].id);
    jrec_str(&rec, "action", r->rb->steps[i].action->name);
    jrec_str(&rec, "outcome", "skipped");
    jrec_str(&rec, "by", r->user);
    jrec_str(&rec, "reason", r->st[i].skip_reason);
    runner_journal(r, &rec);
    runner_log(r, EV_OPERATOR, i, "skipped by %s: %s", r->user, r->st[i].skip_reason);
}

/* Lifts a pause-writes that is still in force when the run stops early:
 * with the run gone, the application is better served by its old server
 * taking writes again than by waiting for the pause to expire. */
static void runner_lift_pause(Runner *r) {
    pthread_mutex_lock(&r->lock);
    int64_t until = r->paused_until;
    pthread_mutex_unlock(&r->lock);
    if (!until || until <= util_now_ms()) return;
    char err[FERRY_ERR_LEN] = "";
    ConnConfig cfg = r->copy.source;
    cfg.uri.db = -1;
    util_strlcpy(cfg.client_name, "ferry-unpause", sizeof(cfg.client_name));
    Conn *c = conn_open(&cfg, err, sizeof(err));
    int ok = 0;
    if (c) {
        redisReply *rep = conn_command(c, "CLIENT UNPAUSE");
        ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (!ok) snprintf(err, sizeof(err), "%s", rep ? rep->str : conn_errstr(c));
        if (rep) freeReplyObject(rep);
        conn_close(c);
    }
    JRec rec;
    jrec_begin(&rec, "unpause", r->run_id);
    jrec_bool(&rec, "ok", ok);
    jrec_str(&rec, "why", "the run stopped while writes were paused on the source");
    if (!ok) jrec_str(&rec, "error", err);
    runner_journal(r, &rec);
    if (ok)
        runner_log(r, EV_OPERATOR, -1, "writes resumed on the source (CLIENT UNPAUSE): the run stopped while they were paused");
    else
        runner_log(r, EV_ERROR, -1, "could not resume writes on the source (%s): they resume by themselves when the pause's duration is up", err);
}

static void runner_end(Runner *r, RunnerState st, const char *why) {
    pthread_mutex_lock(&r->lock);
    if (r->journal_failed && st != RUNNER_DONE) st = RUNNER_FAILED;
    if (why && !r->reason[0]) util_strlcpy(r->reason, why, sizeof(r->reason));
    RunnerState final = st;
    char reason[FERRY_ERR_LEN];
    util_strlcpy(reason, r->reason, sizeof(reason));
    r->current = -1;
    r->prompt[0] = '\0';
    int follower = r->follower != NULL, follow_step = r->follow_step;
    pthread_mutex_unlock(&r->lock);

    if (follower && final != RUNNER_DONE)
        runner_log(r, EV_INFO, follow_step, "the follower keeps applying the source's stream until this ferry exits; it then saves its "
                                            "position next to the journal, and --resume brings it back from there");
    if (final == RUNNER_FAILED || final == RUNNER_ABORTED || final == RUNNER_BLOCKED) runner_lift_pause(r);
    JRec rec;
    jrec_begin(&rec, "end", r->run_id);
    jrec_str(&rec, "outcome", runner_state_name(final));
    if (reason[0]) jrec_str(&rec, "message", reason);
    runner_journal(r, &rec);
    if (final == RUNNER_DONE)
        runner_log(r, EV_INFO, -1, "runbook finished: every step done or skipped");
    else
        runner_log(r, final == RUNNER_ABORTED ? EV_OPERATOR : EV_ERROR, -1, "run %s: %s", runner_state_name(final), reason);

    pthread_mutex_lock(&r->lock);
    r->state = final;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void runner_write_run_record(Runner *r) {
    JRec rec;
    jrec_begin(&rec, "run", r->run_id);
    jrec_int(&rec, "attempt", r->attempt);
    jrec_str(&rec, "user", r->user);
    jrec_str(&rec, "host", r->host);
    jrec_int(&rec, "pid", (long long)getpid());
    jrec_str(&rec, "runbook", r->rb->name);
    jrec_str(&rec, "title", r->rb->title);
    jrec_str(&rec, "source", r->source_label);
    jrec_str(&rec, "target", r->target_label);
    char map[256];
    dbmap_format(&r->copy.dbmap, map, sizeof(map));
    if (r->copy.dbmap.n) jrec_str(&rec, "db_map", map);
    jrec_str(&rec, "on_conflict", conflict_policy_name(r->copy.on_conflict));
    jrec_arr_begin(&rec, "steps");
    for (int i = 0; i < r->rb->nsteps; i++) jrec_item(&rec, r->rb->steps[i].id);
    jrec_end(&rec);
    if (r->resume) jrec_int(&rec, "resume_at", r->start_index);
    runner_journal(r, &rec);
}

/* Waits for the gate of step i: 1 passed (via says how), 0 skip requested,
 * -1 aborted, -2 headless and not confirmed in advance (r->reason says). */
static int runner_gate(Runner *r, int i, char *via, size_t vialen) {
    const RunbookStep *st = &r->rb->steps[i];
    const char *pre = runner_preconfirmed(r, i);
    pthread_mutex_lock(&r->lock);
    if (pre) {
        util_strlcpy(via, pre, vialen);
        pthread_mutex_unlock(&r->lock);
        return 1;
    }
    if (r->headless) {
        if (st->gate == GATE_TYPE)
            sfmt(r->reason, sizeof(r->reason), "step %s needs its typed confirmation (%s): --confirm-all does not pass type gates; name it: --resume %s --confirm %s",
                     st->id, r->st[i].phrase, journal_path(r->journal), st->id);
        else
            sfmt(r->reason, sizeof(r->reason), "step %s waits for a confirmation: rerun with --resume %s --confirm %s (or --confirm-all)",
                     st->id, journal_path(r->journal), st->id);
        pthread_mutex_unlock(&r->lock);
        return -2;
    }
    r->st[i].state = STEP_WAITING;
    r->state = RUNNER_WAITING;
    r->current = i;
    r->gate_passed = 0;
    runner_prompt(r, i);
    pthread_cond_broadcast(&r->cond);
    while (!r->gate_passed && !r->abort && !r->st[i].skip_requested) pthread_cond_wait(&r->cond, &r->lock);
    int rc = r->abort ? -1 : r->st[i].skip_requested ? 0 : 1;
    if (rc == 1) util_strlcpy(via, r->gate_via, vialen);
    r->prompt[0] = '\0';
    if (rc != 1) r->st[i].state = rc == 0 ? STEP_SKIPPED : STEP_PENDING;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* An action's context for step i: the run's options, the host callbacks,
 * and the step's files next to the journal (report: per attempt; state:
 * kept across the run's attempts). */
static void runner_ctx_init(Runner *r, int i, ActionCtx *ctx, char *report, size_t rlen, char *state, size_t slen) {
    const RunbookStep *st = &r->rb->steps[i];
    HostCtx *hc = &r->hosts[i];
    hc->r = r;
    hc->idx = i;
    memset(ctx, 0, sizeof(*ctx));
    ctx->rb = r->rb;
    ctx->step = st;
    ctx->copy = &r->copy;
    ctx->accept_eviction = r->accept_eviction;
    char dir[1024];
    util_strlcpy(dir, journal_path(r->journal), sizeof(dir));
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = '\0';
    else dir[0] = '\0';
    snprintf(report, rlen, "%sferry-report-%s-%s-%d.txt", dir, r->run_id, st->id, r->attempt);
    ctx->report_path = report;
    snprintf(state, slen, "%s.%s.state", journal_path(r->journal), st->id);
    ctx->state_path = state;
    ctx->host.ud = hc;
    ctx->host.stopping = host_stopping;
    ctx->host.log = host_log;
    ctx->host.figure = host_figure;
    ctx->host.set_engine = host_set_engine;
    ctx->host.checkpoint = host_checkpoint;
    ctx->host.paused_until = host_paused_until;
    ctx->host.set_repl = host_set_repl;
    ctx->host.set_follower = host_set_follower;
    ctx->host.await_end = host_await_end;
    ctx->host.end_requested = host_end_requested;
}

/* A resumed run: what the completed steps of earlier attempts left running
 * in the background of their ferry (a follower) comes back, in step order,
 * before the first step that still has to run. -1 ends the run. */
static int runner_resume_background(Runner *r) {
    for (int i = 0; i < r->start_index && i < r->rb->nsteps; i++) {
        const RunbookStep *st = &r->rb->steps[i];
        if (!st->action->resume_done || r->resume->steps[i].outcome != JSTEP_DONE) continue;
        ActionCtx ctx;
        char report[1400], state[1400], err[FERRY_ERR_LEN] = "";
        runner_ctx_init(r, i, &ctx, report, sizeof(report), state, sizeof(state));
        if (st->action->resume_done(&ctx, err, sizeof(err)) != 0) {
            runner_log(r, EV_ERROR, i, "%s", err);
            pthread_mutex_lock(&r->lock);
            sfmt(r->reason, sizeof(r->reason), "step %s (done in an earlier attempt) could not be brought back: %s", st->id, err);
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
    }
    return 0;
}

static void runner_run_step(Runner *r, int i, int *stop) {
    const RunbookStep *st = &r->rb->steps[i];
    JRec rec;

    pthread_mutex_lock(&r->lock);
    StepRun *sr = &r->st[i];
    sr->state = STEP_RUNNING;
    sr->started_ms = util_now_ms();
    sr->started_mono = util_mono_ms();
    sr->duration_ms = 0;
    sr->message[0] = '\0';
    r->state = RUNNER_RUNNING;
    r->current = i;
    r->timed_out = 0;
    r->deadline_mono = st->timeout_ms ? sr->started_mono + st->timeout_ms : 0;
    runner_step_extras_clear(r);
    pthread_mutex_unlock(&r->lock);

    jrec_begin(&rec, "start", r->run_id);
    jrec_str(&rec, "step", st->id);
    jrec_str(&rec, "action", st->action->name);
    if (runner_journal(r, &rec) != 0) {
        *stop = 1;
        return;
    }
    runner_log(r, EV_INFO, i, "started: %s", st->title);

    ActionCtx ctx;
    char report[1400], state[1400];
    runner_ctx_init(r, i, &ctx, report, sizeof(report), state, sizeof(state));
    if (r->resume) {
        const JournalStep *js = &r->resume->steps[i];
        /* Interrupted (killed, aborted) or failed after making progress:
         * not a step that failed before it changed anything. */
        ctx.resuming = js->started && (js->has_checkpoint || js->outcome == JSTEP_STARTED ||
                                       js->outcome == JSTEP_ABORTED);
        if (js->has_checkpoint) ctx.checkpoint = &js->checkpoint;
    }

    char err[FERRY_ERR_LEN] = "";
    int rc = st->action->run(&ctx, err, sizeof(err));

    pthread_mutex_lock(&r->lock);
    if (sr->awaiting_end) {
        sr->awaiting_end = 0;
        if (sr->end_requested != 2) r->prompt[0] = '\0';
    }
    sr->duration_ms = util_mono_ms() - sr->started_mono;
    int aborted = r->abort;
    int timed_out = r->timed_out;
    r->deadline_mono = 0;
    const char *outcome;
    if (rc == 0 && !r->journal_failed) {
        sr->state = STEP_DONE;
        outcome = "done";
        char d[16];
        util_fmt_duration(d, sizeof(d), sr->duration_ms);
        sfmt(sr->message, sizeof(sr->message), "done in %s", d);
    } else {
        sr->state = STEP_FAILED;
        if (aborted) {
            outcome = "aborted";
            sfmt(sr->message, sizeof(sr->message), "aborted by the operator; continue with --resume %s",
                 journal_path(r->journal));
        } else if (timed_out) {
            outcome = "failed";
            char d[16];
            util_fmt_duration(d, sizeof(d), st->timeout_ms);
            sfmt(err + strlen(err), sizeof(err) - strlen(err), "%sstep %s ran past its timeout of %s",
                     err[0] ? "; " : "", st->id, d);
            sfmt(sr->message, sizeof(sr->message), "%s", err);
        } else {
            outcome = "failed";
            if (!err[0] && r->journal_failed) util_strlcpy(err, r->reason, sizeof(err));
            sfmt(sr->message, sizeof(sr->message), "%s", err[0] ? err : "failed");
        }
    }
    int cont = sr->state == STEP_FAILED && !aborted && !r->journal_failed && st->on_failure == ON_FAILURE_CONTINUE;
    jrec_begin(&rec, "step", r->run_id);
    jrec_str(&rec, "step", st->id);
    jrec_str(&rec, "action", st->action->name);
    jrec_str(&rec, "outcome", outcome);
    if (cont) jrec_bool(&rec, "continued", 1);
    jrec_int(&rec, "duration_ms", sr->duration_ms);
    if (sr->state == STEP_FAILED) jrec_str(&rec, "error", err[0] ? err : sr->message);
    else jrec_str(&rec, "message", sr->message);
    jrec_obj_begin(&rec, "figures");
    for (int k = 0; k < r->nfigures; k++) jrec_int(&rec, r->figures[k].name, r->figures[k].value);
    jrec_end(&rec);
    jrec_arr_begin(&rec, "log");
    for (int k = 0; k < r->nstep_log; k++) jrec_item(&rec, r->step_log[k]);
    jrec_end(&rec);
    runner_step_extras_clear(r);
    pthread_mutex_unlock(&r->lock);
    runner_journal(r, &rec);

    if (sr->state == STEP_DONE) {
        runner_log(r, EV_INFO, i, "%s", sr->message);
        return;
    }
    runner_log(r, aborted ? EV_OPERATOR : EV_ERROR, i, "%s", sr->message);
    if (cont) {
        runner_log(r, EV_WARN, i, "failed; the runbook says on-failure = continue");
        return;
    }
    *stop = 1;
    pthread_mutex_lock(&r->lock);
    if (!r->reason[0]) {
        if (aborted)
            sfmt(r->reason, sizeof(r->reason), "step %s %s", st->id, sr->message);
        else
            sfmt(r->reason, sizeof(r->reason), "step %s failed: %s", st->id, sr->message);
    }
    pthread_mutex_unlock(&r->lock);
}

static void *runner_main(void *arg) {
    Runner *r = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    runner_write_run_record(r);
    if (r->resume)
        runner_log(r, EV_INFO, -1, "resuming run %s (attempt %d) at step %s", r->run_id, r->attempt,
                     r->start_index < r->rb->nsteps ? r->rb->steps[r->start_index].id : "(none left)");
    if (r->resume && runner_resume_background(r) != 0) {
        runner_end(r, RUNNER_FAILED, NULL);
        return NULL;
    }
    for (int i = r->start_index; i < r->rb->nsteps; i++) {
        pthread_mutex_lock(&r->lock);
        int abort = r->abort, jf = r->journal_failed, skip = r->st[i].skip_requested;
        pthread_mutex_unlock(&r->lock);
        if (abort) {
            runner_end(r, RUNNER_ABORTED, "aborted by the operator");
            return NULL;
        }
        if (jf) {
            runner_end(r, RUNNER_FAILED, NULL);
            return NULL;
        }
        const RunbookStep *st = &r->rb->steps[i];
        if (!skip && st->gate != GATE_NONE) {
            char via[32] = "";
            int g = runner_gate(r, i, via, sizeof(via));
            if (g == -2) {
                runner_end(r, RUNNER_BLOCKED, NULL);
                return NULL;
            }
            if (g < 0) {
                runner_end(r, RUNNER_ABORTED, "aborted by the operator");
                return NULL;
            }
            if (g == 1) {
                JRec rec;
                jrec_begin(&rec, "gate", r->run_id);
                jrec_str(&rec, "step", st->id);
                jrec_str(&rec, "gate", runbook_gate_name(st->gate));
                if (st->gate == GATE_TYPE) jrec_str(&rec, "phrase", r->st[i].phrase);
                jrec_str(&rec, "by", r->user);
                jrec_str(&rec, "via", via);
                if (runner_journal(r, &rec) != 0) {
                    runner_end(r, RUNNER_FAILED, NULL);
                    return NULL;
                }
                pthread_mutex_lock(&r->lock);
                sfmt(r->st[i].gate_by, sizeof(r->st[i].gate_by), "%s (%s)", r->user, via);
                pthread_mutex_unlock(&r->lock);
                runner_log(r, EV_OPERATOR, i, "%s gate passed by %s (%s)", runbook_gate_name(st->gate), r->user, via);
            }
            pthread_mutex_lock(&r->lock);
            skip = r->st[i].skip_requested;
            pthread_mutex_unlock(&r->lock);
        }
        if (skip) {
            pthread_mutex_lock(&r->lock);
            r->st[i].state = STEP_SKIPPED;
            sfmt(r->st[i].message, sizeof(r->st[i].message), "skipped: %s", r->st[i].skip_reason);
            pthread_mutex_unlock(&r->lock);
            runner_write_skip(r, i);
            continue;
        }
        int stop = 0;
        runner_run_step(r, i, &stop);
        if (stop) {
            pthread_mutex_lock(&r->lock);
            int ab = r->abort;
            pthread_mutex_unlock(&r->lock);
            runner_end(r, ab ? RUNNER_ABORTED : RUNNER_FAILED, NULL);
            return NULL;
        }
    }
    runner_end(r, RUNNER_DONE, NULL);
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static void runner_destroy(Runner *r) {
    if (!r) return;
    if (r->journal) journal_close(r->journal);
    for (int i = 0; i < r->nconfirm; i++) free(r->confirm[i]);
    free(r->confirm);
    free(r->resume);
    free(r->last_engine);
    free(r->repl_state);
    free(r->last_repl);
    free(r->last_follow);
    runner_step_extras_clear(r);
    copy_options_free(&r->copy);
    pthread_mutex_destroy(&r->log_lock);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

Runner *runner_create(const RunnerOptions *o, char *err, size_t errlen) {
    const Runbook *rb = o->rb;
    Runner *r = calloc(1, sizeof(*r));
    if (!r) {
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_mutex_init(&r->log_lock, NULL);
    r->next_seq = 1;
    r->rb = rb;
    r->current = -1;
    r->engine_step = -1;
    r->attempt = 1;
    r->accept_eviction = o->accept_eviction;
    r->headless = o->headless;
    r->groups_budget = o->groups_budget;
    r->confirm_all = o->confirm_all;
    /* Own copy of the options (and the filter's patterns). */
    r->copy = *o->copy;
    filter_init(&r->copy.filter);
    r->copy.filter.types = o->copy->filter.types;
    for (int i = 0; i < o->copy->filter.ninclude; i++) filter_add_include(&r->copy.filter, o->copy->filter.include[i], NULL, 0);
    for (int i = 0; i < o->copy->filter.nexclude; i++) filter_add_exclude(&r->copy.filter, o->copy->filter.exclude[i], NULL, 0);
    r->copy.report_path = NULL;
    r->copy.resume_from = NULL;
    r->copy.on_checkpoint = NULL;
    r->last_engine = calloc(1, sizeof(*r->last_engine));
    r->repl_state = calloc(1, sizeof(*r->repl_state));
    r->last_repl = calloc(1, sizeof(*r->last_repl));
    r->repl_step = -1;
    r->last_follow = calloc(1, sizeof(*r->last_follow));
    r->follow_step = -1;
    if (!r->last_engine || !r->repl_state || !r->last_repl || !r->last_follow) {
        util_err(err, errlen, "out of memory");
        goto fail;
    }
    const char *user = o->user ? o->user : getenv("USER");
    if (!user || !*user) user = getenv("LOGNAME");
    if (!user || !*user) {
        struct passwd *pw = getpwuid(geteuid());
        user = pw ? pw->pw_name : NULL;
    }
    util_strlcpy(r->user, user && *user ? user : "unknown", sizeof(r->user));
    if (gethostname(r->host, sizeof(r->host)) != 0) util_strlcpy(r->host, "unknown", sizeof(r->host));
    r->host[sizeof(r->host) - 1] = '\0';
    uri_format_redacted(&r->copy.source.uri, r->source_label, sizeof(r->source_label));
    uri_format_redacted(&r->copy.target.uri, r->target_label, sizeof(r->target_label));

    if (runbook_check_gates(rb, r->copy.on_conflict, err, errlen) != 0) goto fail;
    char tshort[RUNBOOK_PHRASE_LEN];
    runbook_default_phrase(&r->copy.target.uri, &r->copy.dbmap, tshort, sizeof(tshort));
    for (int i = 0; i < rb->nsteps; i++) {
        const RunbookStep *st = &rb->steps[i];
        r->st[i].duration_ms = -1;
        r->st[i].destructive = runbook_step_destructive(st, r->copy.on_conflict);
        util_strlcpy(r->st[i].phrase, st->phrase[0] ? st->phrase : tshort, sizeof(r->st[i].phrase));
    }
    if (o->nconfirm > 0) {
        r->confirm = calloc((size_t)o->nconfirm, sizeof(char *));
        if (!r->confirm) {
            util_err(err, errlen, "out of memory");
            goto fail;
        }
    }
    for (int k = 0; k < o->nconfirm; k++) {
        if (runbook_step_index(rb, o->confirm[k]) < 0) {
            char ids[600];
            size_t off = 0;
            ids[0] = '\0';
            for (int i = 0; i < rb->nsteps && off < sizeof(ids); i++)
                off += (size_t)snprintf(ids + off, sizeof(ids) - off, "%s%s", i ? ", " : "", rb->steps[i].id);
            util_err(err, errlen, "--confirm %s: %s has no step %s (its steps: %s)", o->confirm[k], rb->name,
                     o->confirm[k], ids);
            goto fail;
        }
        if (!(r->confirm[r->nconfirm++] = strdup(o->confirm[k]))) {
            util_err(err, errlen, "out of memory");
            goto fail;
        }
    }

    const char *jpath = o->journal_path;
    char defpath[128];
    if (o->resume_path) {
        if (jpath && strcmp(jpath, o->resume_path) != 0) {
            util_err(err, errlen, "--resume %s continues that journal: leave out --journal %s", o->resume_path, jpath);
            goto fail;
        }
        r->resume = calloc(1, sizeof(*r->resume));
        if (!r->resume) {
            util_err(err, errlen, "out of memory");
            goto fail;
        }
        if (journal_read(o->resume_path, r->resume, err, errlen) != 0) goto fail;
        JournalState *js = r->resume;
        int same = js->nsteps == rb->nsteps;
        for (int i = 0; same && i < rb->nsteps; i++) same = !strcmp(js->steps[i].id, rb->steps[i].id);
        if (!same) {
            util_err(err, errlen, "%s was written for a runbook with other steps than %s: resume with the runbook it ran (%s), or start a new run without --resume",
                     o->resume_path, rb->name, js->runbook);
            goto fail;
        }
        if (strcmp(js->source, r->source_label) || strcmp(js->target, r->target_label)) {
            util_err(err, errlen, "%s was written for source %s → target %s, but this run names %s → %s: resume with the same servers",
                     o->resume_path, js->source, js->target, r->source_label, r->target_label);
            goto fail;
        }
        if (js->resume_index >= js->nsteps) {
            util_err(err, errlen, "run %s in %s has finished every step: nothing to resume; start a new run without --resume",
                     js->run_id, o->resume_path);
            goto fail;
        }
        util_strlcpy(r->run_id, js->run_id, sizeof(r->run_id));
        r->attempt = js->attempts + 1;
        r->start_index = js->resume_index;
        for (int i = 0; i < r->start_index; i++) {
            StepRun *sr = &r->st[i];
            sr->from_journal = 1;
            switch (js->steps[i].outcome) {
            case JSTEP_SKIPPED:
                sr->state = STEP_SKIPPED;
                util_strlcpy(sr->message, "skipped in an earlier attempt", sizeof(sr->message));
                break;
            case JSTEP_FAILED:
                sr->state = STEP_FAILED;
                util_strlcpy(sr->message, "failed in an earlier attempt (on-failure continue)", sizeof(sr->message));
                break;
            default:
                sr->state = STEP_DONE;
                util_strlcpy(sr->message, "done in an earlier attempt", sizeof(sr->message));
            }
        }
        jpath = o->resume_path;
    } else {
        journal_new_run_id(r->run_id, sizeof(r->run_id));
        if (!jpath) {
            snprintf(defpath, sizeof(defpath), "ferry-journal-%s.jsonl", r->run_id);
            jpath = defpath;
        }
        if (access(jpath, F_OK) == 0) {
            util_err(err, errlen, "the journal %s exists already: continue that run with --resume %s, or choose another --journal path",
                     jpath, jpath);
            goto fail;
        }
    }
    if (!(r->journal = journal_open(jpath, err, errlen))) goto fail;
    return r;
fail:
    runner_destroy(r);
    return NULL;
}

int runner_start(Runner *r, char *err, size_t errlen) {
    pthread_mutex_lock(&r->lock);
    if (r->started) {
        pthread_mutex_unlock(&r->lock);
        return util_err(err, errlen, "the run was already started");
    }
    r->state = RUNNER_RUNNING;
    for (int side = 0; side < 2 && r->groups_budget > 0; side++) {
        GroupsConfig gc;
        groups_config_init(&gc, side ? "target" : "source");
        gc.conn = side ? r->copy.target : r->copy.source;
        gc.budget = r->groups_budget;
        gc.rescan_ms = 15000; /* the target fills up during the run: look again soon */
        char gerr[FERRY_ERR_LEN];
        r->groups[side] = groups_start(&gc, gerr, sizeof(gerr));
        if (!r->groups[side]) runner_log(r, EV_WARN, -1, "consumer groups not sampled: %s", gerr);
    }
    if (pthread_create(&r->th, NULL, runner_main, r) != 0) {
        r->state = RUNNER_IDLE;
        pthread_mutex_unlock(&r->lock);
        return util_err(err, errlen, "could not start the runner thread");
    }
    r->started = 1;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int runner_wait(Runner *r, int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (timeout_ms >= 0) {
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&r->lock);
    while (!runner_final(r->state) && r->started) {
        if (timeout_ms < 0)
            pthread_cond_wait(&r->cond, &r->lock);
        else if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) != 0)
            break;
    }
    int fin = runner_final(r->state);
    pthread_mutex_unlock(&r->lock);
    return fin;
}

void runner_free(Runner *r) {
    if (!r) return;
    if (r->started) {
        runner_abort(r);
        pthread_join(r->th, NULL);
    }
    for (int side = 0; side < 2; side++) groups_stop(r->groups[side]);
    runner_destroy(r);
}

/* ------------------------------------------------------------- control */

int runner_confirm(Runner *r, const char *step_id, const char *phrase, char *err, size_t errlen) {
    int i = runbook_step_index(r->rb, step_id);
    if (i < 0) return util_err(err, errlen, "there is no step %s", step_id);
    pthread_mutex_lock(&r->lock);
    if (r->current == i && r->st[i].state == STEP_RUNNING && r->st[i].awaiting_end) {
        int first = !r->st[i].end_requested;
        r->st[i].end_requested = first ? 1 : r->st[i].end_requested;
        r->prompt[0] = '\0';
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        if (first) {
            JRec rec;
            jrec_begin(&rec, "gate", r->run_id);
            jrec_str(&rec, "step", step_id);
            jrec_str(&rec, "gate", "end");
            jrec_str(&rec, "by", r->user);
            jrec_str(&rec, "via", "console");
            runner_journal(r, &rec);
            runner_log(r, EV_OPERATOR, i, "end of step %s confirmed by %s", step_id, r->user);
        }
        return 0;
    }
    if (r->current != i || r->st[i].state != STEP_WAITING) {
        StepState s = r->st[i].state;
        pthread_mutex_unlock(&r->lock);
        return util_err(err, errlen, "step %s is %s, not waiting for a confirmation", step_id, step_state_name(s));
    }
    const RunbookStep *st = &r->rb->steps[i];
    if (st->gate == GATE_TYPE && (!phrase || strcmp(phrase, r->st[i].phrase) != 0)) {
        char want[RUNBOOK_PHRASE_LEN];
        util_strlcpy(want, r->st[i].phrase, sizeof(want));
        pthread_mutex_unlock(&r->lock);
        JRec rec;
        jrec_begin(&rec, "gate-refused", r->run_id);
        jrec_str(&rec, "step", step_id);
        jrec_str(&rec, "by", r->user);
        runner_journal(r, &rec);
        runner_log(r, EV_WARN, i, "the typed phrase did not match: nothing was started");
        return util_err(err, errlen, "that is not the phrase: type %s exactly to start step %s", want, step_id);
    }
    r->gate_passed = 1;
    util_strlcpy(r->gate_via, st->gate == GATE_TYPE ? "typed" : "console", sizeof(r->gate_via));
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int runner_skip(Runner *r, const char *step_id, const char *reason, char *err, size_t errlen) {
    int i = runbook_step_index(r->rb, step_id);
    if (i < 0) return util_err(err, errlen, "there is no step %s", step_id);
    if (!reason || !*reason) return util_err(err, errlen, "say why step %s is skipped: the reason goes into the journal", step_id);
    pthread_mutex_lock(&r->lock);
    StepState s = r->st[i].state;
    if ((s != STEP_PENDING && s != STEP_WAITING) || i < r->start_index || runner_final(r->state)) {
        pthread_mutex_unlock(&r->lock);
        return util_err(err, errlen, "step %s is %s: only a pending or waiting step can be skipped", step_id,
                        runner_final(r->state) && s == STEP_PENDING ? "not going to run" : step_state_name(s));
    }
    r->st[i].skip_requested = 1;
    util_strlcpy(r->st[i].skip_reason, reason, sizeof(r->st[i].skip_reason));
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

void runner_abort(Runner *r) {
    pthread_mutex_lock(&r->lock);
    int changed = !r->abort && !runner_final(r->state);
    r->abort = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (changed) runner_log(r, EV_OPERATOR, -1, "abort requested by %s", r->user);
}

int runner_groups(Runner *r, int side, GroupsSnapshot *out) {
    memset(out, 0, sizeof(*out));
    if (side < 0 || side > 1 || !r->groups[side]) return -1;
    return groups_snapshot(r->groups[side], out);
}

void runner_note(Runner *r, EventLevel level, const char *text) {
    runner_log(r, level, -1, "%s", text);
}

#define WITH_ENGINE(r, call)                  \
    do {                                      \
        pthread_mutex_lock(&(r)->lock);       \
        if ((r)->engine) call;                \
        pthread_mutex_unlock(&(r)->lock);     \
    } while (0)

void runner_engine_pause(Runner *r) { WITH_ENGINE(r, engine_pause(r->engine)); }
void runner_engine_resume(Runner *r) { WITH_ENGINE(r, engine_resume(r->engine)); }
void runner_engine_set_workers(Runner *r, int n) { WITH_ENGINE(r, engine_set_workers(r->engine, n)); }
void runner_engine_set_rate(Runner *r, double v) { WITH_ENGINE(r, engine_set_rate(r->engine, v)); }

RunnerState runner_state(Runner *r) {
    pthread_mutex_lock(&r->lock);
    RunnerState s = r->state;
    pthread_mutex_unlock(&r->lock);
    return s;
}

void runner_snapshot(Runner *r, RunnerSnapshot *out) {
    runner_pull_follower(r);
    int64_t now = util_mono_ms();
    pthread_mutex_lock(&r->lock);
    out->state = r->state;
    util_strlcpy(out->run_id, r->run_id, sizeof(out->run_id));
    util_strlcpy(out->journal, journal_path(r->journal), sizeof(out->journal));
    util_strlcpy(out->title, r->rb->title[0] ? r->rb->title : r->rb->name, sizeof(out->title));
    util_strlcpy(out->source, r->source_label, sizeof(out->source));
    util_strlcpy(out->target, r->target_label, sizeof(out->target));
    out->attempt = r->attempt;
    out->nsteps = r->rb->nsteps;
    for (int i = 0; i < r->rb->nsteps; i++) {
        const RunbookStep *st = &r->rb->steps[i];
        const StepRun *sr = &r->st[i];
        RunnerStepView *v = &out->steps[i];
        util_strlcpy(v->id, st->id, sizeof(v->id));
        util_strlcpy(v->title, st->title, sizeof(v->title));
        util_strlcpy(v->action, st->action->name, sizeof(v->action));
        v->state = sr->state;
        v->gate = st->gate;
        util_strlcpy(v->phrase, st->gate == GATE_TYPE ? sr->phrase : "", sizeof(v->phrase));
        v->destructive = sr->destructive;
        v->timeout_ms = st->timeout_ms;
        v->started_ms = sr->started_ms;
        v->duration_ms = sr->state == STEP_RUNNING ? now - sr->started_mono : sr->duration_ms;
        util_strlcpy(v->gate_by, sr->gate_by, sizeof(v->gate_by));
        if (sr->message[0])
            util_strlcpy(v->message, sr->message, sizeof(v->message));
        else if (sr->state == STEP_WAITING)
            util_strlcpy(v->message, r->prompt, sizeof(v->message));
        else if (sr->skip_requested)
            sfmt(v->message, sizeof(v->message), "will be skipped: %s", sr->skip_reason);
        else
            v->message[0] = '\0';
        v->from_journal = sr->from_journal;
        v->awaiting_end = sr->state == STEP_RUNNING && sr->awaiting_end && !sr->end_requested;
        if (v->awaiting_end) util_strlcpy(v->message, sr->end_prompt, sizeof(v->message));
    }
    out->current = r->current;
    util_strlcpy(out->prompt, r->prompt, sizeof(out->prompt));
    out->engine_step = r->engine ? r->engine_step : r->have_last_engine ? r->engine_step : -1;
    out->engine_live = r->engine != NULL;
    if (r->engine)
        engine_snapshot(r->engine, &out->engine);
    else if (r->have_last_engine)
        out->engine = *r->last_engine;
    else
        memset(&out->engine, 0, sizeof(out->engine));
    if (r->repl) runner_repl_view(r);
    out->repl_step = r->repl || r->have_last_repl ? r->repl_step : -1;
    out->repl_live = r->repl != NULL;
    if (out->repl_step >= 0)
        out->repl = *r->last_repl;
    else
        memset(&out->repl, 0, sizeof(out->repl));
    out->follow_live = r->follower != NULL;
    out->follow_step = r->follower || r->have_last_follow ? r->follow_step : -1;
    if (r->follower)
        follow_status(r->follower, &out->follow);
    else if (r->have_last_follow)
        out->follow = *r->last_follow;
    else
        memset(&out->follow, 0, sizeof(out->follow));
    util_strlcpy(out->reason, r->reason, sizeof(out->reason));
    pthread_mutex_unlock(&r->lock);
    out->nlog = runner_log_copy(r, out->log, RUNNER_SNAPSHOT_LOG);
}
