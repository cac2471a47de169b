/* view — console state, key handling and screen composition; see view.h. */
#include "view.h"

#include <stdio.h>
#include <string.h>

#include "panels.h"
#include "util.h"

#define FLASH_MS 4000
/* What a quit adds to the engine's own "stop requested" line. */
#define QUIT_AFTER_STOP "ferry exits once the workers have stopped"

static const double rate_steps[] = {1000, 2000, 5000, 10000, 20000, 50000, 100000};
#define NSTEPS ((int)(sizeof rate_steps / sizeof rate_steps[0]))

/* Panels Tab moves between; the reserved slots join when they have content. */
static const PanelId focus_order[] = {PANEL_THROUGHPUT, PANEL_WORKERS, PANEL_SERVERS, PANEL_LOG};
#define NFOCUS ((int)(sizeof focus_order / sizeof focus_order[0]))
/* A runbook run: its steps scroll too. */
static const PanelId run_focus_order[] = {PANEL_RUNBOOK,  PANEL_FOLLOWER, PANEL_THROUGHPUT,
                                          PANEL_WORKERS,  PANEL_SERVERS,  PANEL_LOG};
#define NRUNFOCUS ((int)(sizeof run_focus_order / sizeof run_focus_order[0]))
/* ferry follow */
static const PanelId follow_focus_order[] = {PANEL_FOLLOWER, PANEL_SERVERS, PANEL_LOG};
#define NFOLLOWFOCUS ((int)(sizeof follow_focus_order / sizeof follow_focus_order[0]))

void view_init(ConsoleView *v, const char *title, int ascii) {
    memset(v, 0, sizeof *v);
    v->eng_step = -1;
    v->runbook_scroll = -1;
    v->focus = PANEL_LOG;
    for (int p = 0; p < PANEL__COUNT; p++) v->placed[p] = 1; /* until a layout says otherwise */
    v->ascii = ascii;
    util_strlcpy(v->title, title ? title : "", sizeof v->title);
    util_strlcpy(v->theme_name, "default", sizeof v->theme_name);
}

const Event *view_log_at(const ConsoleView *v, int i) {
    return &v->log[(v->log_start + i) % VIEW_LOG_CAP];
}

static void log_push(ConsoleView *v, const Event *e) {
    if (v->log_len < VIEW_LOG_CAP) {
        v->log[(v->log_start + v->log_len) % VIEW_LOG_CAP] = *e;
        v->log_len++;
    } else {
        v->log[v->log_start] = *e;
        v->log_start = (v->log_start + 1) % VIEW_LOG_CAP;
    }
}

void view_ingest(ConsoleView *v, const EngineSnapshot *s) {
    int n = s->nlog;
    if (n > ENGINE_SNAPSHOT_LOG) n = ENGINE_SNAPSHOT_LOG;
    for (int i = 0; i < n; i++) {
        const Event *e = &s->log[i];
        if (e->seq <= v->log_last_seq) continue;
        if (v->log_last_seq && e->seq > v->log_last_seq + 1) {
            /* More events arrived between two frames than a snapshot holds. */
            Event gap;
            memset(&gap, 0, sizeof gap);
            gap.time_ms = e->time_ms;
            gap.seq = e->seq - 1;
            gap.level = EV_WARN;
            snprintf(gap.text, sizeof gap.text,
                     "%llu events not shown here (too many at once; the journal has them)",
                     (unsigned long long)(e->seq - v->log_last_seq - 1));
            log_push(v, &gap);
        }
        log_push(v, e);
        v->log_last_seq = e->seq;
    }
}

int view_run_final(RunnerState s) {
    return s == RUNNER_DONE || s == RUNNER_FAILED || s == RUNNER_ABORTED || s == RUNNER_BLOCKED;
}

int view_can_leave(const ConsoleView *v, const EngineSnapshot *s) {
    if (!v->quit_pending) return 0;
    return v->run ? view_run_final(v->run->state) : view_state_final(s->state);
}

static void run_log_push(ConsoleView *v, int64_t time_ms, EventLevel level, const char *step,
                         const char *text) {
    Event e;
    memset(&e, 0, sizeof e);
    e.time_ms = time_ms;
    e.seq = ++v->local_seq;
    e.level = level;
    if (step && *step)
        snprintf(e.text, sizeof e.text, "%s: %s", step, text);
    else
        util_strlcpy(e.text, text, sizeof e.text);
    log_push(v, &e);
}

void view_ingest_follow(ConsoleView *v, const FollowStatus *s) {
    v->follow = s;
    if (!v->follow_start_ms) v->follow_start_ms = util_mono_ms();
}

void view_ingest_run(ConsoleView *v, const RunnerSnapshot *rs) {
    v->run = rs;
    /* the background follower, while it runs: its band replaces the copy's */
    v->follow = rs->follow_live && rs->follow_step >= 0 ? &rs->follow : NULL;
    int n = rs->nlog < RUNNER_SNAPSHOT_LOG ? rs->nlog : RUNNER_SNAPSHOT_LOG;
    for (int i = 0; i < n; i++) {
        const RunnerEvent *e = &rs->log[i];
        if (e->seq <= v->run_seen) continue;
        if (v->run_seen && e->seq > v->run_seen + 1) {
            char gap[96];
            snprintf(gap, sizeof gap, "%llu events not shown here (the journal has them)",
                     (unsigned long long)(e->seq - v->run_seen - 1));
            run_log_push(v, e->time_ms, EV_WARN, "", gap);
        }
        run_log_push(v, e->time_ms, e->level, e->step, e->text);
        v->run_seen = e->seq;
    }
    if (rs->engine_step < 0) return;
    if (rs->engine_step != v->eng_step) { /* another copy step: its engine counts from 1 */
        v->eng_seen = 0;
        v->eng_step = rs->engine_step;
    }
    const EngineSnapshot *es = &rs->engine;
    n = es->nlog < ENGINE_SNAPSHOT_LOG ? es->nlog : ENGINE_SNAPSHOT_LOG;
    for (int i = 0; i < n; i++) {
        const Event *e = &es->log[i];
        if (e->seq <= v->eng_seen) continue;
        run_log_push(v, e->time_ms, e->level, "", e->text);
        v->eng_seen = e->seq;
    }
}

void view_set_layout(ConsoleView *v, const Layout *L) {
    for (int p = 0; p < PANEL__COUNT; p++) {
        int h = L->panel[p].h - 1;
        v->page_rows[p] = h > 0 ? h : 0;
        v->placed[p] = layout_placed(L, (PanelId)p);
    }
    /* the focus stays on a panel the operator can see */
    if (!v->placed[v->focus]) v->focus = PANEL_LOG;
}

void view_flash(ConsoleView *v, int64_t now_ms, const char *text) {
    util_strlcpy(v->flash, text, sizeof v->flash);
    v->flash_until_ms = now_ms + FLASH_MS;
}

int view_state_final(EngineState s) {
    return s == ENGINE_DONE || s == ENGINE_STOPPED || s == ENGINE_FAILED;
}

int view_state_in_progress(EngineState s) {
    return !view_state_final(s);
}

void view_fmt_rate_limit(char *buf, size_t len, double limit) {
    if (limit <= 0) {
        snprintf(buf, len, "off");
        return;
    }
    char n[16];
    if (limit >= 1000 && limit < 1e6 && limit == (double)(long long)(limit / 1000) * 1000)
        snprintf(n, sizeof n, "%lldk", (long long)(limit / 1000)); /* the steps: "20k" */
    else
        util_fmt_count(n, sizeof n, limit);
    snprintf(buf, len, "%s keys/s", n);
}

double view_rate_step(double limit, double rate, int dir) {
    if (dir < 0) {
        if (limit <= 0) {
            /* From no limit: the highest step below what it does now. */
            if (rate <= 0) return rate_steps[NSTEPS - 1];
            for (int i = NSTEPS - 1; i >= 0; i--)
                if (rate_steps[i] < rate) return rate_steps[i];
            return rate_steps[0];
        }
        for (int i = NSTEPS - 1; i >= 0; i--)
            if (rate_steps[i] < limit) return rate_steps[i];
        return limit; /* already at (or below) the lowest step */
    }
    if (limit <= 0) return 0;
    for (int i = 0; i < NSTEPS; i++)
        if (rate_steps[i] > limit) return rate_steps[i];
    return 0; /* above the highest step: no limit */
}

double view_reference_rate(const EngineSnapshot *s) {
    const StatsSnapshot *st = &s->stats;
    double now = st->rate_status == RATE_OK && s->state == ENGINE_RUNNING ? st->keys_rate : 0;
    /* the last 30 s, so that a pause a moment ago does not read as "slow" */
    int n = st->hist_len < 30 ? st->hist_len : 30;
    if (n > STATS_HISTORY) n = STATS_HISTORY;
    double sum = 0;
    for (int i = st->hist_len - n; i < st->hist_len; i++) sum += st->keys_hist[i];
    double recent = n > 0 ? sum / n : 0;
    return now > recent ? now : recent;
}

static void scroll_log(ConsoleView *v, int delta, int to_end) {
    if (v->log_len == 0) return;
    int last = v->log_len - 1;
    int a = last;
    if (v->log_anchor) {
        for (int i = last; i >= 0; i--)
            if (view_log_at(v, i)->seq <= v->log_anchor) {
                a = i;
                break;
            }
    }
    /* The newest event at the bottom of a page cannot go above the page. */
    int page = v->page_rows[PANEL_LOG] > 0 ? v->page_rows[PANEL_LOG] : 1;
    int lowest = page - 1 < last ? page - 1 : last;
    if (to_end < 0)
        a = lowest;
    else if (to_end > 0)
        a = last;
    else
        a += delta;
    if (a < lowest) a = lowest;
    if (a >= last) {
        v->log_anchor = 0; /* follow */
        return;
    }
    v->log_anchor = view_log_at(v, a)->seq;
}

static void scroll_workers(ConsoleView *v, const EngineSnapshot *s, int delta, int to_end) {
    int n = s->nworkers;
    if (to_end < 0)
        v->workers_scroll = 0;
    else if (to_end > 0)
        v->workers_scroll = n;
    else
        v->workers_scroll += delta;
    /* panel_workers clamps the top; keep the stored value in range too */
    int page = v->page_rows[PANEL_WORKERS] - 2;
    if (page < 1) page = 1;
    int max = n - page;
    if (v->workers_scroll > max) v->workers_scroll = max;
    if (v->workers_scroll < 0) v->workers_scroll = 0;
}

/* The runbook's list: arrows pin it, End (or scrolling past the bottom)
 * follows the current step again. */
static void scroll_runbook(ConsoleView *v, int delta, int to_end) {
    const RunnerSnapshot *r = v->run;
    int rows = v->page_rows[PANEL_RUNBOOK] - 3; /* about: the footer takes up to 3 */
    if (rows < 1) rows = 1;
    int max = r->nsteps - rows;
    if (max < 0) max = 0;
    if (to_end > 0) {
        v->runbook_scroll = -1;
        return;
    }
    int first = v->runbook_scroll;
    if (first < 0) first = r->current > 0 ? r->current - 1 : 0;
    first = to_end < 0 ? 0 : first + delta;
    if (first < 0) first = 0;
    if (first > max) {
        v->runbook_scroll = -1;
        return;
    }
    v->runbook_scroll = first;
}

static int scroll(ConsoleView *v, const EngineSnapshot *s, int key) {
    int page = v->page_rows[v->focus] > 1 ? v->page_rows[v->focus] - 1 : 1;
    int delta = 0, to_end = 0;
    switch (key) {
    case UI_KEY_UP: delta = -1; break;
    case UI_KEY_DOWN: delta = 1; break;
    case UI_KEY_PGUP: delta = -page; break;
    case UI_KEY_PGDN: delta = page; break;
    case UI_KEY_HOME: to_end = -1; break;
    case UI_KEY_END: to_end = 1; break;
    default: return 0;
    }
    if (v->focus == PANEL_LOG) {
        scroll_log(v, delta, to_end);
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (v->focus == PANEL_WORKERS) {
        scroll_workers(v, s, delta, to_end);
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (v->focus == PANEL_RUNBOOK && v->run) {
        scroll_runbook(v, delta, to_end);
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    return VIEW_HANDLED; /* nothing to scroll in this panel */
}

static int refuse(ConsoleView *v, const EngineSnapshot *s, int64_t now) {
    if (v->quit_pending || s->state == ENGINE_STOPPING) {
        view_flash(v, now, "stopping; controls are off");
        return 1;
    }
    if (view_state_final(s->state)) {
        view_flash(v, now, "the run has ended");
        return 1;
    }
    return 0;
}

/* ---- runbook runs -------------------------------------------------- */

#define QUIT_AFTER_ABORT "the run is aborted; ferry exits once the current step has stopped"

static const RunnerStepView *run_waiting_step(const RunnerSnapshot *r) {
    if (r->current < 0 || r->current >= r->nsteps) return NULL;
    const RunnerStepView *st = &r->steps[r->current];
    if (r->state == RUNNER_WAITING && st->state == STEP_WAITING) return st;
    /* A running step that ends on the operator's word (tail: cutover). */
    if (r->state == RUNNER_RUNNING && st->state == STEP_RUNNING && st->awaiting_end) return st;
    return NULL;
}

/* The step `s` would skip: the one waiting, else the next pending one. */
static const RunnerStepView *run_skip_target(const RunnerSnapshot *r) {
    const RunnerStepView *w = run_waiting_step(r);
    if (w && w->state == STEP_WAITING) return w;
    if (view_run_final(r->state)) return NULL;
    for (int i = r->current >= 0 ? r->current : 0; i < r->nsteps; i++)
        if (r->steps[i].state == STEP_PENDING) return &r->steps[i];
    return NULL;
}

static void open_input(ConsoleView *v, InputKind k, const char *step) {
    v->overlay = OVERLAY_INPUT;
    v->input_kind = k;
    v->input[0] = '\0';
    v->input_err[0] = '\0';
    util_strlcpy(v->input_step, step, sizeof v->input_step);
}

static void close_input(ConsoleView *v) {
    v->overlay = OVERLAY_NONE;
    v->input_kind = INPUT_NONE;
    v->input[0] = v->input_err[0] = '\0';
}

static const RunnerStepView *run_step(const RunnerSnapshot *r, const char *id) {
    for (int i = 0; i < r->nsteps; i++)
        if (strcmp(r->steps[i].id, id) == 0) return &r->steps[i];
    return NULL;
}

static int input_key(ConsoleView *v, int key, int64_t now, UiCommand *cmd) {
    const RunnerSnapshot *r = v->run;
    size_t n = strlen(v->input);
    if (key == UI_KEY_ESC) {
        view_flash(v, now, "cancelled; nothing was run");
        close_input(v);
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (key == UI_KEY_BACKSPACE || key == 127 || key == 8) {
        /* one code point: continuation bytes first */
        while (n > 0 && ((unsigned char)v->input[n - 1] & 0xc0) == 0x80) n--;
        if (n > 0) n--;
        v->input[n] = '\0';
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (key == UI_KEY_ENTER) {
        const RunnerStepView *st = run_step(r, v->input_step);
        if (!st) {
            close_input(v);
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        if (v->input_kind == INPUT_SKIP_REASON) {
            if (!v->input[0]) {
                snprintf(v->input_err, sizeof v->input_err,
                         "say why: the reason goes into the journal (Esc cancels)");
                return VIEW_HANDLED | VIEW_REDRAW;
            }
            cmd->kind = CMD_SKIP;
            util_strlcpy(cmd->step, st->id, sizeof cmd->step);
            util_strlcpy(cmd->text, v->input, sizeof cmd->text);
            snprintf(v->flash, sizeof v->flash, "step %s will be skipped", st->id);
            v->flash_until_ms = now + FLASH_MS;
            close_input(v);
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        /* the phrase: the runner checks it too, and journals a refusal */
        cmd->kind = CMD_CONFIRM;
        util_strlcpy(cmd->step, st->id, sizeof cmd->step);
        util_strlcpy(cmd->text, v->input, sizeof cmd->text);
        if (strcmp(v->input, st->phrase) != 0) {
            snprintf(v->input_err, sizeof v->input_err,
                     "that is not the phrase; nothing was started. Type %s exactly", st->phrase);
            v->input[0] = '\0';
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        snprintf(v->flash, sizeof v->flash, "step %s: phrase accepted", st->id);
        v->flash_until_ms = now + FLASH_MS;
        close_input(v);
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (key >= 32 && key < 256 && key != 127) {
        if (n + 1 < sizeof v->input && n + 1 < (size_t)RUNBOOK_PHRASE_LEN) {
            v->input[n] = (char)key;
            v->input[n + 1] = '\0';
        }
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    return VIEW_HANDLED; /* arrows and the like: nothing in a one-line input */
}

/* Keys of a runbook run; -1 = not a runbook key, the common handling goes on. */
static int run_key(ConsoleView *v, const EngineSnapshot *s, int key, int64_t now,
                   UiCommand *cmd) {
    const RunnerSnapshot *r = v->run;
    int fin = view_run_final(r->state);
    if (key == UI_KEY_INTERRUPT) {
        v->overlay = OVERLAY_NONE;
        if (fin) return VIEW_HANDLED | VIEW_QUIT;
        if (!v->quit_pending) {
            v->quit_pending = 1;
            cmd->kind = CMD_ABORT;
            snprintf(cmd->log, sizeof cmd->log, "interrupt (Ctrl-C): %s", QUIT_AFTER_ABORT);
        }
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (v->overlay == OVERLAY_INPUT) return input_key(v, key, now, cmd);
    if (v->overlay == OVERLAY_CONFIRM_QUIT) {
        v->overlay = OVERLAY_NONE;
        if (key == 'y' || key == 'Y') {
            if (fin) return VIEW_HANDLED | VIEW_QUIT;
            v->quit_pending = 1;
            v->flash[0] = '\0';
            cmd->kind = CMD_ABORT;
            snprintf(cmd->log, sizeof cmd->log, "quit confirmed: %s", QUIT_AFTER_ABORT);
        } else {
            view_flash(v, now, "quit cancelled; the run goes on");
        }
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (v->overlay == OVERLAY_CONFIRM_ABORT) {
        v->overlay = OVERLAY_NONE;
        if ((key == 'y' || key == 'Y') && !fin) {
            cmd->kind = CMD_ABORT; /* the runner logs "abort requested by …" */
            view_flash(v, now, "aborting: the current step stops, no further step starts");
        } else {
            view_flash(v, now, "abort cancelled; the run goes on");
        }
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (v->overlay == OVERLAY_HELP) return -1;

    switch (key) {
    case 'q':
    case 'Q':
        if (fin) return VIEW_HANDLED | VIEW_QUIT;
        if (v->quit_pending) {
            view_flash(v, now, "stopping; ferry exits when the current step has stopped");
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        v->overlay = OVERLAY_CONFIRM_QUIT;
        return VIEW_HANDLED | VIEW_REDRAW;
    case UI_KEY_ENTER:
    case 'c':
    case 'C': {
        const RunnerStepView *st = run_waiting_step(r);
        if (!st || v->quit_pending) {
            view_flash(v, now, fin ? "the run has ended" : "no gate waits for you now");
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        if (st->gate == GATE_TYPE && st->state == STEP_WAITING) {
            open_input(v, INPUT_PHRASE, st->id);
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        cmd->kind = CMD_CONFIRM;
        util_strlcpy(cmd->step, st->id, sizeof cmd->step);
        snprintf(v->flash, sizeof v->flash, "step %s confirmed", st->id);
        v->flash_until_ms = now + FLASH_MS;
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    case 's':
    case 'S': {
        const RunnerStepView *st = v->quit_pending ? NULL : run_skip_target(r);
        if (!st) {
            view_flash(v, now, fin ? "the run has ended" : "no step to skip now");
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        open_input(v, INPUT_SKIP_REASON, st->id);
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    case 'a':
    case 'A':
        if (fin || v->quit_pending) {
            view_flash(v, now, fin ? "the run has ended" : "already stopping");
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        v->overlay = OVERLAY_CONFIRM_ABORT;
        return VIEW_HANDLED | VIEW_REDRAW;
    case 'p':
    case 'P':
    case '+':
    case '=':
    case '-':
    case '_':
    case '[':
    case ']':
        if (!r->engine_live || v->quit_pending) {
            view_flash(v, now, v->quit_pending ? "stopping; controls are off"
                                               : "no copy running: these keys steer a copy step");
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        (void)s;
        return -1; /* the copy's own handling below */
    }
    return -1;
}

/* ---- ferry follow ------------------------------------------------- */

static int follow_final(const ConsoleView *v) {
    return v->follow && (v->follow->state == FOLLOW_FAILED || v->follow->state == FOLLOW_STOPPED);
}

/* The quit line for the log: where the follower stops. */
static void follow_quit_log(const ConsoleView *v, UiCommand *cmd, const char *how) {
    if (v->follow && v->follow->offset >= 0)
        snprintf(cmd->log, sizeof cmd->log,
                 "%s: ferry stops the follower at applied offset %lld and exits", how,
                 v->follow->offset);
    else
        snprintf(cmd->log, sizeof cmd->log, "%s: ferry stops the follower and exits", how);
}

/* Keys of ferry follow; -1 = not one of them, the common handling goes on.
 * A quit leaves at once: the caller stops the follower (follow_stop joins
 * its thread and closes its connections: not for the UI thread). */
static int follow_key(ConsoleView *v, int key, int64_t now, UiCommand *cmd) {
    if (key == UI_KEY_INTERRUPT) {
        v->overlay = OVERLAY_NONE;
        v->quit_pending = 1;
        if (!follow_final(v)) follow_quit_log(v, cmd, "interrupt (Ctrl-C)");
        return VIEW_HANDLED | VIEW_QUIT;
    }
    if (v->overlay == OVERLAY_CONFIRM_QUIT) {
        v->overlay = OVERLAY_NONE;
        if (key == 'y' || key == 'Y') {
            v->quit_pending = 1;
            follow_quit_log(v, cmd, "quit confirmed");
            return VIEW_HANDLED | VIEW_QUIT;
        }
        view_flash(v, now, "quit cancelled; the follower goes on");
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (v->overlay == OVERLAY_HELP) return -1;
    switch (key) {
    case 'q':
    case 'Q':
        if (follow_final(v)) return VIEW_HANDLED | VIEW_QUIT;
        v->overlay = OVERLAY_CONFIRM_QUIT;
        return VIEW_HANDLED | VIEW_REDRAW;
    case 'p':
    case 'P':
    case '+':
    case '=':
    case '-':
    case '_':
    case '[':
    case ']':
        view_flash(v, now, "these keys steer a copy; the follower has nothing to steer");
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    return -1;
}

int view_handle_key(ConsoleView *v, const EngineSnapshot *s, int key, int64_t now,
                    UiCommand *cmd) {
    memset(cmd, 0, sizeof *cmd);
    char a[32], b[32];
    if (v->run) {
        int f = run_key(v, s, key, now, cmd);
        if (f >= 0) return f;
    } else if (v->follow_mode) {
        int f = follow_key(v, key, now, cmd);
        if (f >= 0) return f;
    }

    if (key == UI_KEY_INTERRUPT) {
        /* Ctrl-C: the operator means it; no question. */
        v->overlay = OVERLAY_NONE;
        if (view_state_final(s->state) || s->state == ENGINE_IDLE) return VIEW_HANDLED | VIEW_QUIT;
        if (!v->quit_pending) {
            v->quit_pending = 1;
            cmd->kind = CMD_STOP;
            snprintf(cmd->log, sizeof cmd->log, "interrupt (Ctrl-C): %s", QUIT_AFTER_STOP);
        }
        return VIEW_HANDLED | VIEW_REDRAW;
    }

    if (v->overlay == OVERLAY_CONFIRM_QUIT) {
        v->overlay = OVERLAY_NONE;
        if (key == 'y' || key == 'Y') {
            if (view_state_final(s->state)) return VIEW_HANDLED | VIEW_QUIT;
            v->quit_pending = 1;
            v->flash[0] = '\0';
            cmd->kind = CMD_STOP;
            snprintf(cmd->log, sizeof cmd->log, "quit confirmed: %s", QUIT_AFTER_STOP);
        } else {
            view_flash(v, now, s->state == ENGINE_PAUSED ? "quit cancelled; the copy stays paused"
                                                         : "quit cancelled; the copy goes on");
        }
        return VIEW_HANDLED | VIEW_REDRAW;
    }
    if (v->overlay == OVERLAY_HELP) {
        v->overlay = OVERLAY_NONE; /* any key closes help and does nothing else */
        return VIEW_HANDLED | VIEW_REDRAW;
    }

    switch (key) {
    case 'q':
    case 'Q':
        if (view_state_final(s->state) || s->state == ENGINE_IDLE)
            return VIEW_HANDLED | VIEW_QUIT;
        if (v->quit_pending) {
            view_flash(v, now, "stopping; ferry exits when the workers are done");
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        if (s->state == ENGINE_STOPPING) {
            /* already stopping (not by us): just leave when it is done */
            v->quit_pending = 1;
            snprintf(cmd->log, sizeof cmd->log, "quit: %s", QUIT_AFTER_STOP);
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        v->overlay = OVERLAY_CONFIRM_QUIT;
        return VIEW_HANDLED | VIEW_REDRAW;

    case '?':
        v->overlay = OVERLAY_HELP;
        return VIEW_HANDLED | VIEW_REDRAW;

    case 'p':
    case 'P':
        if (refuse(v, s, now)) return VIEW_HANDLED | VIEW_REDRAW;
        if (s->state == ENGINE_PAUSED) {
            cmd->kind = CMD_RESUME;
            view_flash(v, now, "resumed");
        } else {
            cmd->kind = CMD_PAUSE;
            view_flash(v, now, "paused; p resumes");
        }
        return VIEW_HANDLED | VIEW_REDRAW;

    case '+':
    case '=':
    case '-':
    case '_': {
        if (refuse(v, s, now)) return VIEW_HANDLED | VIEW_REDRAW;
        int up = key == '+' || key == '=';
        int n = s->workers_target + (up ? 1 : -1);
        if (n > ENGINE_MAX_WORKERS || n < 1) {
            char m[64];
            snprintf(m, sizeof m, "workers: already %d (the %s)", s->workers_target,
                     up ? "maximum" : "minimum");
            view_flash(v, now, m);
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        cmd->kind = CMD_SET_WORKERS;
        cmd->workers = n;
        snprintf(v->flash, sizeof v->flash, "workers %d → %d", s->workers_target, n);
        v->flash_until_ms = now + FLASH_MS;
        return VIEW_HANDLED | VIEW_REDRAW;
    }

    case '[':
    case ']': {
        if (refuse(v, s, now)) return VIEW_HANDLED | VIEW_REDRAW;
        double rate = view_reference_rate(s);
        double next = view_rate_step(s->rate_limit, rate, key == '[' ? -1 : 1);
        if (next == s->rate_limit) {
            view_flash(v, now, key == '[' ? "rate limit: already at the lowest step"
                                          : "rate limit: already off");
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        cmd->kind = CMD_SET_RATE;
        cmd->rate = next;
        view_fmt_rate_limit(a, sizeof a, s->rate_limit);
        view_fmt_rate_limit(b, sizeof b, next);
        snprintf(v->flash, sizeof v->flash, "rate limit %s → %s", a, b);
        v->flash_until_ms = now + FLASH_MS;
        return VIEW_HANDLED | VIEW_REDRAW;
    }

    case UI_KEY_TAB:
    case UI_KEY_BTAB: {
        const PanelId *order = v->run ? run_focus_order : v->follow_mode ? follow_focus_order : focus_order;
        int nf = v->run ? NRUNFOCUS : v->follow_mode ? NFOLLOWFOCUS : NFOCUS;
        int i = 0;
        while (i < nf && order[i] != v->focus) i++;
        if (i == nf) i = nf - 1;
        /* panels the layout leaves out are skipped (the log always shows) */
        for (int k = 0; k < nf; k++) {
            i = (i + (key == UI_KEY_TAB ? 1 : nf - 1)) % nf;
            if (v->placed[order[i]]) break;
        }
        v->focus = order[i];
        return VIEW_HANDLED | VIEW_REDRAW;
    }

    case UI_KEY_UP:
    case UI_KEY_DOWN:
    case UI_KEY_PGUP:
    case UI_KEY_PGDN:
    case UI_KEY_HOME:
    case UI_KEY_END:
        return scroll(v, s, key);

    case 'o':
    case 'O':
        if (!v->groups[0] && !v->groups[1]) return 0; /* no groups panel: not a key here */
        v->groups_order = v->groups_order == GROUPS_BY_PENDING ? GROUPS_BY_LAG : GROUPS_BY_PENDING;
        view_flash(v, now, v->groups_order == GROUPS_BY_LAG ? "consumer groups by lag"
                                                             : "consumer groups by pending");
        return VIEW_HANDLED | VIEW_REDRAW;

    case 't':
    case 'T':
        cmd->kind = CMD_NEXT_THEME;
        return VIEW_HANDLED | VIEW_REDRAW;

    case UI_KEY_CTRL_L:
        cmd->kind = CMD_REPAINT;
        return VIEW_HANDLED | VIEW_REDRAW;

    case UI_KEY_ESC:
        if (v->flash[0]) {
            v->flash[0] = '\0';
            return VIEW_HANDLED | VIEW_REDRAW;
        }
        return VIEW_HANDLED;
    }
    return 0;
}

void view_command_run(const ConsoleBackend *b, const UiCommand *c) {
    char err[FERRY_ERR_LEN];
    view_command_exec(b, c, err, sizeof err);
}

int view_command_exec(const ConsoleBackend *b, const UiCommand *c, char *err, size_t errlen) {
    /* The console's own line first: it says why the engine's line follows. */
    if (err && errlen) err[0] = '\0';
    if (c->log[0] && b->log) b->log(b->ctx, EV_OPERATOR, c->log);
    switch (c->kind) {
    case CMD_CONFIRM:
        return b->confirm ? b->confirm(b->ctx, c->step, c->text, err, errlen) : 0;
    case CMD_SKIP:
        return b->skip ? b->skip(b->ctx, c->step, c->text, err, errlen) : 0;
    case CMD_ABORT:
        if (b->abort_run) b->abort_run(b->ctx);
        else if (b->request_stop) b->request_stop(b->ctx);
        break;
    case CMD_PAUSE:
        if (b->pause) b->pause(b->ctx);
        break;
    case CMD_RESUME:
        if (b->resume) b->resume(b->ctx);
        break;
    case CMD_SET_WORKERS:
        if (b->set_workers) b->set_workers(b->ctx, c->workers);
        break;
    case CMD_SET_RATE:
        if (b->set_rate) b->set_rate(b->ctx, c->rate);
        break;
    case CMD_STOP:
        if (b->request_stop) b->request_stop(b->ctx);
        break;
    case CMD_NONE:
    case CMD_NEXT_THEME:
    case CMD_REPAINT:
        break;
    }
    return 0;
}

void view_build_screen(const ConsoleView *v, const EngineSnapshot *s, const Layout *L,
                       UiGrid *g, int64_t now_ms) {
    ui_grid_clear(g);
    UiCanvas screen = ui_canvas(g, v->ascii ? &ui_glyphs_ascii : &ui_glyphs_unicode);
    if (L->too_small) {
        panel_too_small(&screen, v);
        return;
    }
    UiCanvas c = ui_canvas_sub(&screen, L->status.x, L->status.y, L->status.w, L->status.h);
    if (v->follow_mode)
        panel_follow_status_bar(&c, v, now_ms);
    else
        panel_status_bar(&c, v, s);
    for (int p = 0; p < PANEL__COUNT; p++) {
        UiRect r = L->panel[p];
        if (!layout_placed(L, (PanelId)p)) continue;
        c = ui_canvas_sub(&screen, r.x, r.y, r.w, r.h);
        int focused = v->focus == (PanelId)p;
        switch ((PanelId)p) {
        case PANEL_THROUGHPUT:
            if (v->run && v->run->engine_step < 0)
                panel_no_copy(&c, (PanelId)p, focused);
            else
                panel_throughput(&c, v, s, focused);
            break;
        case PANEL_WORKERS:
            if (v->run && v->run->engine_step < 0)
                panel_no_copy(&c, (PanelId)p, focused);
            else
                panel_workers(&c, v, s, focused);
            break;
        case PANEL_SERVERS:
            if (v->run && v->run->engine_step < 0)
                panel_no_copy(&c, (PanelId)p, focused);
            else
                panel_servers(&c, v, s, focused);
            break;
        case PANEL_LOG: panel_log(&c, v, s, focused); break;
        case PANEL_RUNBOOK:
            if (v->run) {
                panel_runbook(&c, v, v->run, focused);
                break;
            }
            panel_reserved(&c, (PanelId)p, focused);
            break;
        case PANEL_REPLICATION:
            if (v->run && v->run->repl_step >= 0 && v->run->repl_step < v->run->nsteps) {
                panel_replication(&c, v, &v->run->repl, v->run->repl_live,
                                  v->run->steps[v->run->repl_step].id, focused);
                break;
            }
            panel_reserved(&c, (PanelId)p, focused);
            break;
        case PANEL_GROUPS:
            if (v->groups[0] || v->groups[1])
                panel_groups(&c, v, v->groups[0], v->groups[1], focused);
            else
                panel_reserved(&c, (PanelId)p, focused);
            break;
        case PANEL_FOLLOWER:
            if (v->follow) {
                const char *step = "";
                if (v->run && v->run->follow_step >= 0 && v->run->follow_step < v->run->nsteps)
                    step = v->run->steps[v->run->follow_step].id;
                panel_follow(&c, v, v->follow, step, now_ms, focused);
            } else {
                panel_reserved(&c, (PanelId)p, focused);
            }
            break;
        case PANEL__COUNT: break;
        }
    }
    c = ui_canvas_sub(&screen, L->hints.x, L->hints.y, L->hints.w, L->hints.h);
    panel_hints(&c, v, s, now_ms);
    if (v->overlay == OVERLAY_HELP)
        panel_help(&screen, v);
    else if (v->overlay == OVERLAY_CONFIRM_QUIT)
        panel_confirm_quit(&screen, v, s);
    else if (v->overlay == OVERLAY_CONFIRM_ABORT)
        panel_confirm_abort(&screen, v);
    else if (v->overlay == OVERLAY_INPUT)
        panel_input(&screen, v);
}
