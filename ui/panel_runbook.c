/* panel_runbook — the runbook run: every step with its state, duration and
 * gate, and at the bottom what the run needs from the operator now.
 *
 *   ✓ done     preflight  Check both servers          none      1.2s
 *   ✓ done     pause      Pause the demo's writers     confirm   0.0s
 *   ? waiting  copy       Copy every db                confirm
 *     pending  verify     Compare key counts per type  none
 *   waiting for you: step copy (Copy every db): press Enter to start
 *   Enter confirm  s skip  a abort
 *
 * When the steps do not all fit, the list keeps the current step in view.
 * Also the runbook's dialogs: the typed-phrase / skip-reason input line and
 * the abort question, and the calm placeholder the copy panels show while
 * no copy step runs. */
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "panels.h"
#include "util.h"

const char *ui_step_state_label(StepState s) {
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

UiRole ui_step_state_role(StepState s) {
    switch (s) {
    case STEP_WAITING: return ROLE_PENDING;
    case STEP_RUNNING: return ROLE_VALUE;
    case STEP_DONE: return ROLE_OK;
    case STEP_FAILED: return ROLE_VALUE_ERROR;
    case STEP_PENDING:
    case STEP_SKIPPED: return ROLE_DIM;
    }
    return ROLE_NORMAL;
}

static const char *step_mark(StepState s, int ascii) {
    switch (s) {
    case STEP_DONE: return ascii ? "+" : "✓";
    case STEP_FAILED: return ascii ? "x" : "✗";
    case STEP_RUNNING: return ">";
    case STEP_WAITING: return "?";
    case STEP_SKIPPED: return "-";
    case STEP_PENDING: return " ";
    }
    return " ";
}

const char *ui_run_state_label(RunnerState s) {
    switch (s) {
    case RUNNER_IDLE: return "STARTING";
    case RUNNER_RUNNING: return "RUNNING";
    case RUNNER_WAITING: return "WAITING";
    case RUNNER_DONE: return "DONE";
    case RUNNER_FAILED: return "FAILED";
    case RUNNER_ABORTED: return "ABORTED";
    case RUNNER_BLOCKED: return "BLOCKED";
    }
    return "?";
}

UiRole ui_run_state_role(RunnerState s) {
    switch (s) {
    case RUNNER_RUNNING:
    case RUNNER_DONE: return ROLE_STATUS_OK;
    case RUNNER_FAILED:
    case RUNNER_BLOCKED: return ROLE_STATUS_ERROR;
    default: return ROLE_STATUS_WARN;
    }
}

/* The rows under the list: what the run needs now, or how it ended. */
static int footer(const UiCanvas *b, int row, int rows, const ConsoleView *v,
                  const RunnerSnapshot *r) {
    if (rows <= 0) return 0;
    const UiGlyphs *gl = b->gl;
    char t[600];
    if (r->state == RUNNER_WAITING && r->current >= 0 && r->current < r->nsteps) {
        const RunnerStepView *st = &r->steps[r->current];
        snprintf(t, sizeof t, "waiting for you: %s", r->prompt[0] ? r->prompt : st->title);
        /* the keys get their own row only when there is room (the hint line
         * at the bottom of the screen says them too) */
        int keys = rows >= 3;
        int used = ui_put_wrapped(b, row, 0, b->w, keys ? rows - 1 : rows, ROLE_PENDING, t);
        if (keys) {
            int x = ui_put(b, row + used, 0, ROLE_KEY_HINT, "Enter");
            x += ui_put(b, row + used, x, ROLE_HINT,
                        st->gate == GATE_TYPE ? " type the phrase  " : " confirm  ");
            x += ui_put(b, row + used, x, ROLE_KEY_HINT, "s");
            x += ui_put(b, row + used, x, ROLE_HINT, " skip  ");
            x += ui_put(b, row + used, x, ROLE_KEY_HINT, "a");
            ui_put(b, row + used, x, ROLE_HINT, " abort");
            used++;
        }
        return used;
    }
    if (r->state == RUNNER_RUNNING && r->current >= 0 && r->current < r->nsteps &&
        r->steps[r->current].awaiting_end) {
        const RunnerStepView *st = &r->steps[r->current];
        snprintf(t, sizeof t, "running until you say so: %s", st->message[0] ? st->message : st->title);
        int keys = rows >= 3;
        int used = ui_put_wrapped(b, row, 0, b->w, keys ? rows - 1 : rows, ROLE_PENDING, t);
        if (keys) {
            int x = ui_put(b, row + used, 0, ROLE_KEY_HINT, "Enter");
            x += ui_put(b, row + used, x, ROLE_HINT, " end this step  ");
            x += ui_put(b, row + used, x, ROLE_KEY_HINT, "a");
            ui_put(b, row + used, x, ROLE_HINT, " abort");
            used++;
        }
        return used;
    }
    if (view_run_final(r->state)) {
        UiRole role = r->state == RUNNER_DONE ? ROLE_OK : ROLE_VALUE_ERROR;
        if (r->state == RUNNER_DONE)
            snprintf(t, sizeof t, "run done %s q quits", gl->sep);
        else
            snprintf(t, sizeof t, "run %s: %s %s q quits", ui_run_state_label(r->state),
                     r->reason[0] ? r->reason : "", gl->sep);
        return ui_put_wrapped(b, row, 0, b->w, rows, role, t);
    }
    if (v->quit_pending) {
        return ui_put_wrapped(b, row, 0, b->w, rows, ROLE_PENDING,
                              "stopping: the current step stops, then ferry exits");
    }
    if (r->current >= 0 && r->current < r->nsteps && r->steps[r->current].message[0]) {
        const RunnerStepView *st = &r->steps[r->current];
        snprintf(t, sizeof t, "%s: %s", st->id, st->message);
        return ui_put_wrapped(b, row, 0, b->w, 1, ROLE_DIM, t);
    }
    return 0;
}

static int footer_rows(const ConsoleView *v, const RunnerSnapshot *r, int avail) {
    if (r->state == RUNNER_WAITING && r->current >= 0) return avail >= 7 ? 3 : avail >= 3 ? 2 : 1;
    if (view_run_final(r->state) || v->quit_pending) return avail >= 3 ? 2 : 1;
    if (r->current >= 0 && r->current < r->nsteps && r->steps[r->current].message[0]) return 1;
    return 0;
}

void panel_runbook(const UiCanvas *c, const ConsoleView *v, const RunnerSnapshot *r,
                   int focused) {
    int cur = r->current;
    if (cur < 0) { /* after the end: the last step that did something */
        for (int i = 0; i < r->nsteps; i++)
            if (r->steps[i].state != STEP_PENDING) cur = i;
    }
    char where[32], right[RUNBOOK_TITLE_LEN + 48];
    if (view_run_final(r->state))
        snprintf(where, sizeof where, "%s", ui_run_state_label(r->state));
    else
        snprintf(where, sizeof where, "step %d/%d", cur >= 0 ? cur + 1 : 0, r->nsteps);
    /* the runbook's title on the rule, cut to what fits before "step n/m" */
    /* the rule: "─ Runbook ─ <title> · step n/m ─" */
    int room = c->w - ui_text_width(panel_title(PANEL_RUNBOOK), c->gl->ascii) -
               ui_text_width(where, c->gl->ascii) - ui_text_width(c->gl->sep, c->gl->ascii) - 9;
    right[0] = '\0';
    if (room >= 8 && r->title[0]) {
        char t[RUNBOOK_TITLE_LEN];
        util_strlcpy(t, r->title, sizeof t);
        int cut = 0;
        while (ui_text_width(t, c->gl->ascii) > room - cut) {
            size_t n = strlen(t);
            if (!n) break;
            while (n > 0 && ((unsigned char)t[n - 1] & 0xc0) == 0x80) n--;
            t[n > 0 ? n - 1 : 0] = '\0';
            cut = ui_text_width(c->gl->ellipsis, c->gl->ascii);
        }
        snprintf(right, sizeof right, "%s%s %s ", t, cut ? c->gl->ellipsis : "", c->gl->sep);
    }
    util_strlcpy(right + strlen(right), where, sizeof right - strlen(right));
    panel_frame(c, panel_title(PANEL_RUNBOOK), focused, right);
    UiCanvas b = panel_body(c);
    if (b.h <= 0 || b.w <= 0) return;
    const UiGlyphs *gl = b.gl;

    int fr = footer_rows(v, r, b.h);
    if (fr > b.h - 1) fr = b.h > 1 ? b.h - 1 : 0; /* at least one step row */
    int rows = b.h - fr;
    int n = r->nsteps;
    int first = 0;
    if (n > rows) {
        if (v->runbook_scroll >= 0) {
            first = v->runbook_scroll; /* scrolled by the operator (focus, arrows) */
        } else {
            /* follow: the current step in view, one row of context above it */
            first = rows >= 3 && cur > 0 ? cur - 1 : cur;
        }
        if (first > n - rows) first = n - rows;
    } else {
        first = 0;
    }
    if (first < 0) first = 0;

    int idw = 4;
    for (int i = 0; i < n; i++) {
        int w = ui_text_width(r->steps[i].id, gl->ascii);
        if (w > idw) idw = w;
    }
    if (idw > 14) idw = 14;
    /* columns: mark state id title gate duration */
    int xs = 2, xi = xs + 8, xt = xi + idw + 1;
    int durw = 7, gatew = 8; /* the last column is for the ↑ ↓ marks */
    int xd = b.w - 1 - durw, xg = xd - gatew;
    int titlew = xg - xt - 1;
    if (titlew < 6) { /* too narrow for titles: ids only */
        titlew = 0;
        xg = xt;
        xd = xg + gatew;
    }
    for (int k = 0; k < rows && first + k < n; k++) {
        const RunnerStepView *st = &r->steps[first + k];
        UiRole role = ui_step_state_role(st->state);
        int y = k;
        ui_put(&b, y, 0, role, step_mark(st->state, gl->ascii));
        ui_put(&b, y, xs, role, ui_step_state_label(st->state));
        ui_put_trunc(&b, y, xi, idw, st->state == STEP_WAITING ? ROLE_PENDING : ROLE_VALUE, st->id);
        if (titlew > 0)
            ui_put_trunc(&b, y, xt, titlew, st->state == STEP_PENDING ? ROLE_DIM : ROLE_NORMAL,
                         st->title);
        const char *gate = st->gate == GATE_NONE ? gl->unknown : runbook_gate_name(st->gate);
        if (st->gate != GATE_NONE && st->gate_by[0] && st->state != STEP_WAITING)
            ui_put_trunc(&b, y, xg, gatew - 1, ROLE_OK, gate);
        else
            ui_put_trunc(&b, y, xg, gatew - 1, st->state == STEP_WAITING ? ROLE_PENDING : ROLE_DIM,
                         gate);
        if (st->duration_ms >= 0 && st->state != STEP_PENDING && st->state != STEP_WAITING) {
            char d[16];
            util_fmt_duration(d, sizeof d, st->duration_ms);
            ui_put_right(&b, y, xd + durw, st->state == STEP_RUNNING ? ROLE_VALUE : ROLE_DIM, d);
        }
        if (st->state == STEP_WAITING || st->state == STEP_RUNNING) ui_set_role(&b, y, 0, 1, role);
    }
    if (first > 0) ui_put_right(&b, 0, b.w, ROLE_DIM, gl->up);
    if (first + rows < n) ui_put_right(&b, rows - 1, b.w, ROLE_DIM, gl->down);
    /* right under the list: the eye goes from the waiting step to its question */
    int shown = n - first < rows ? n - first : rows;
    footer(&b, shown, fr, v, r);
}

void panel_no_copy(const UiCanvas *c, PanelId id, int focused) {
    panel_frame(c, panel_title(id), focused, NULL);
    UiCanvas b = panel_body(c);
    ui_put_trunc(&b, 0, 0, b.w, ROLE_DIM, "no copy running");
    if (id == PANEL_THROUGHPUT)
        ui_put_trunc(&b, 1, 0, b.w, ROLE_DIM, "a copy step's figures show here while it runs");
}

void panel_confirm_abort(const UiCanvas *screen, const ConsoleView *v) {
    const RunnerSnapshot *r = v->run;
    UiCanvas in = ui_dialog(screen, 60, 8, "Abort the run?");
    char t[200];
    if (r && r->current >= 0 && r->current < r->nsteps)
        snprintf(t, sizeof t, "Step %s is %s.", r->steps[r->current].id,
                 ui_step_state_label(r->steps[r->current].state));
    else
        snprintf(t, sizeof t, "No step is running.");
    ui_put_trunc(&in, 1, 0, in.w, ROLE_DIALOG, t);
    ui_put_trunc(&in, 2, 0, in.w, ROLE_DIALOG,
                 "It stops (a copy checkpoints); no further step starts.");
    int x = 0;
    x += ui_put(&in, 4, x, ROLE_DIALOG_KEY, "y");
    x += ui_put(&in, 4, x, ROLE_DIALOG, " abort the run     ");
    x += ui_put(&in, 4, x, ROLE_DIALOG_KEY, "any other key");
    ui_put(&in, 4, x, ROLE_DIALOG, " keep going");
}

void panel_input(const UiCanvas *screen, const ConsoleView *v) {
    const RunnerSnapshot *r = v->run;
    const RunnerStepView *st = NULL;
    for (int i = 0; r && i < r->nsteps; i++)
        if (strcmp(r->steps[i].id, v->input_step) == 0) st = &r->steps[i];
    int phrase = v->input_kind == INPUT_PHRASE;
    int w = screen->w - 4 < 72 ? screen->w - 4 : 72;
    UiCanvas in = ui_dialog(screen, w, 9, phrase ? "Type to confirm" : "Skip a step");
    char t[400];
    if (phrase)
        snprintf(t, sizeof t, "Step %s: %s. Type %s to start it.", v->input_step,
                 st ? st->title : "", st ? st->phrase : "its phrase");
    else
        snprintf(t, sizeof t, "Skip step %s (%s)? Why? The reason goes into the journal.",
                 v->input_step, st ? st->title : "");
    ui_put_wrapped(&in, 0, 0, in.w, 2, ROLE_DIALOG, t);
    int x = ui_put(&in, 3, 0, ROLE_DIALOG_KEY, "> ");
    /* the end of what was typed stays visible */
    int tw = ui_text_width(v->input, in.gl->ascii);
    int room = in.w - x - 1;
    const char *shown = v->input;
    while (tw > room && *shown) {
        shown++;
        while ((*shown & 0xc0) == 0x80) shown++;
        tw = ui_text_width(shown, in.gl->ascii);
    }
    x += ui_put(&in, 3, x, ROLE_VALUE, shown);
    ui_put(&in, 3, x, ROLE_DIALOG_KEY, "_");
    if (v->input_err[0]) ui_put_wrapped(&in, 4, 0, in.w, 2, ROLE_VALUE_ERROR, v->input_err);
    x = ui_put(&in, 6, 0, ROLE_DIALOG_KEY, "Enter");
    x += ui_put(&in, 6, x, ROLE_DIALOG, phrase ? " submit  " : " skip the step  ");
    x += ui_put(&in, 6, x, ROLE_DIALOG_KEY, "Esc");
    ui_put(&in, 6, x, ROLE_DIALOG, " cancel (nothing runs)");
}
