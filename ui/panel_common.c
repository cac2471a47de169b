/* panel_common — what every panel shares: title rules, flows of
 * label/value items, dialogs; and the screen's edges: the status bar, the
 * key hints, the help and quit overlays, the "too small" message. */
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "panels.h"
#include "util.h"

const char *ui_state_label(EngineState s, int quit_pending) {
    if (quit_pending && !view_state_final(s)) return "STOPPING…";
    switch (s) {
    case ENGINE_IDLE: return "STARTING";
    case ENGINE_RUNNING: return "RUNNING";
    case ENGINE_PAUSED: return "PAUSED";
    case ENGINE_STOPPING: return "STOPPING…";
    case ENGINE_DONE: return "DONE";
    case ENGINE_STOPPED: return "STOPPED";
    case ENGINE_FAILED: return "FAILED";
    }
    return "?";
}

UiRole ui_state_role(EngineState s, int quit_pending) {
    if (quit_pending && !view_state_final(s)) return ROLE_STATUS_WARN;
    switch (s) {
    case ENGINE_RUNNING:
    case ENGINE_DONE: return ROLE_STATUS_OK;
    case ENGINE_FAILED: return ROLE_STATUS_ERROR;
    default: return ROLE_STATUS_WARN;
    }
}

const char *ui_worker_state_label(WorkerState s) {
    switch (s) {
    case WORKER_IDLE: return "idle";
    case WORKER_DUMPING: return "dumping";
    case WORKER_RESTORING: return "restoring";
    case WORKER_BACKOFF: return "backoff";
    case WORKER_PAUSED: return "paused";
    case WORKER_THROTTLED: return "throttled";
    case WORKER_EXITED: return "exited";
    }
    return "?";
}

const char *ui_fail_label(FailReason r) {
    switch (r) {
    case FAIL_BUSYKEY: return "exists";
    case FAIL_VERSION: return "version";
    case FAIL_OOM: return "oom";
    case FAIL_TOOLARGE: return "too large";
    case FAIL_OTHER: return "other";
    case FAIL__COUNT: break;
    }
    return "?";
}

void ui_fmt_keys_rate(char *buf, size_t len, double v) {
    char n[16];
    util_fmt_count(n, sizeof n, v);
    snprintf(buf, len, "%s/s", n);
}

void ui_fmt_bytes_rate(char *buf, size_t len, double v) {
    char n[16];
    util_fmt_bytes(n, sizeof n, v);
    snprintf(buf, len, "%s/s", n);
}

void ui_fmt_latency(char *buf, size_t len, double ms) {
    if (ms < 0) ms = 0;
    if (ms < 10)
        snprintf(buf, len, "%.2f ms", ms);
    else if (ms < 100)
        snprintf(buf, len, "%.1f ms", ms);
    else
        snprintf(buf, len, "%.0f ms", ms);
}

void panel_frame(const UiCanvas *c, const char *title, int focused, const char *right) {
    if (c->h <= 0 || c->w <= 0) return;
    const UiGlyphs *gl = c->gl;
    ui_canvas_fill(c, ROLE_NORMAL); /* a panel owns its whole rectangle */
    ui_put_repeat(c, 0, 0, c->w, ROLE_BORDER, gl->hline);
    char t[96];
    snprintf(t, sizeof t, " %s ", title);
    int tw = ui_put_trunc(c, 0, 1, c->w - 2, focused ? ROLE_TITLE_FOCUS : ROLE_TITLE, t);
    if (right && *right) {
        char r[128];
        snprintf(r, sizeof r, " %s ", right);
        int rw = ui_text_width(r, gl->ascii);
        if (1 + tw + 1 + rw + 1 <= c->w) ui_put(c, 0, c->w - 1 - rw, ROLE_DIM, r);
    }
}

UiCanvas panel_body(const UiCanvas *c) {
    return ui_canvas_sub(c, 1, 1, c->w - 1, c->h - 1);
}

int ui_flow_item(UiFlow *f, const char *label, UiRole lrole, const char *value, UiRole vrole) {
    int ascii = f->c->gl->ascii;
    int lw = label && *label ? ui_text_width(label, ascii) + 1 : 0;
    int w = lw + ui_text_width(value, ascii);
    int gap = f->col > 0 ? 2 : 0;
    if (f->col + gap + w > f->c->w) {
        if (f->col == 0) {
            /* does not fit even on an empty row: show what fits */
            if (f->row >= f->row_end) return -1;
        } else {
            f->row++;
            f->col = 0;
            gap = 0;
        }
    }
    if (f->row >= f->row_end) return -1;
    int x = f->col + gap;
    if (lw) x += ui_put(f->c, f->row, x, lrole, label) + 1;
    x += ui_put_trunc(f->c, f->row, x, f->c->w - x, vrole, value);
    f->col = x;
    return 0;
}

UiCanvas ui_dialog(const UiCanvas *screen, int w, int h, const char *title) {
    if (w > screen->w) w = screen->w;
    if (h > screen->h) h = screen->h;
    int x = (screen->w - w) / 2, y = (screen->h - h) / 2;
    UiCanvas box = ui_canvas_sub(screen, x, y, w, h);
    const UiGlyphs *gl = screen->gl;
    ui_canvas_fill(&box, ROLE_DIALOG);
    ui_put(&box, 0, 0, ROLE_DIALOG, gl->tl);
    ui_put_repeat(&box, 0, 1, w - 2, ROLE_DIALOG, gl->hline);
    ui_put(&box, 0, w - 1, ROLE_DIALOG, gl->tr);
    for (int r = 1; r < h - 1; r++) {
        ui_put(&box, r, 0, ROLE_DIALOG, gl->vline);
        ui_put(&box, r, w - 1, ROLE_DIALOG, gl->vline);
    }
    ui_put(&box, h - 1, 0, ROLE_DIALOG, gl->bl);
    ui_put_repeat(&box, h - 1, 1, w - 2, ROLE_DIALOG, gl->hline);
    ui_put(&box, h - 1, w - 1, ROLE_DIALOG, gl->br);
    if (title) {
        char t[96];
        snprintf(t, sizeof t, " %s ", title);
        ui_put_trunc(&box, 0, 2, w - 4, ROLE_DIALOG_KEY, t);
    }
    return ui_canvas_sub(&box, 2, 1, w - 4, h - 2);
}

void panel_reserved(const UiCanvas *c, PanelId id, int focused) {
    panel_frame(c, panel_title(id), focused, NULL);
    UiCanvas b = panel_body(c);
    ui_put_trunc(&b, 0, 0, b.w, ROLE_DIM, "not part of this run");
}

/* ferry follow: " ferry  STREAMING  follow a → b          applied 1234 · caught up · 5m02s " */
void panel_follow_status_bar(const UiCanvas *c, const ConsoleView *v, int64_t now) {
    const UiGlyphs *gl = c->gl;
    ui_canvas_fill(c, ROLE_STATUS_BAR);
    const FollowStatus *f = v->follow;
    char right[160], el[16], verdict[48] = "";
    util_fmt_duration(el, sizeof el, v->follow_start_ms ? now - v->follow_start_ms : 0);
    if (f && f->state == FOLLOW_STREAMING) {
        FollowModel m;
        follow_model_build(f, now, &m);
        char b[16];
        util_fmt_bytes(b, sizeof b, (double)(m.lag > 0 ? m.lag : 0));
        if (m.caught_up)
            snprintf(verdict, sizeof verdict, " %s caught up", gl->sep);
        else if (m.lag > 0)
            snprintf(verdict, sizeof verdict, " %s lag %s", gl->sep, b);
    }
    if (f && f->offset >= 0)
        snprintf(right, sizeof right, "applied %lld%s %s %s ", f->offset, verdict, gl->sep, el);
    else
        snprintf(right, sizeof right, "%s ", el);
    int rw = ui_text_width(right, gl->ascii);
    int x = ui_put(c, 0, 0, ROLE_STATUS_BAR, " ferry ");
    char badge[32];
    FollowState st = f ? f->state : FOLLOW_CONNECTING;
    snprintf(badge, sizeof badge, " %s ", follow_state_name(st));
    for (char *p = badge; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    x += ui_put(c, 0, x, ui_follow_status_role(st), badge);
    x += 1;
    int room = c->w - rw - x - 2;
    if (f && f->state == FOLLOW_FAILED && f->error[0])
        ui_put_trunc(c, 0, x, room, ROLE_STATUS_ERROR, f->error);
    else if (v->title[0])
        ui_put_trunc(c, 0, x, room, ROLE_STATUS_BAR, v->title);
    if (rw < c->w - x) ui_put(c, 0, c->w - rw, ROLE_STATUS_BAR, right);
}

void panel_status_bar(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s) {
    const UiGlyphs *gl = c->gl;
    ui_canvas_fill(c, ROLE_STATUS_BAR);

    /* Right side first: it is short and always shown. */
    char el[16], right[128], lim[32];
    util_fmt_duration(el, sizeof el, s->stats.elapsed_ms);
    view_fmt_rate_limit(lim, sizeof lim, s->rate_limit);
    char *keys = strstr(lim, " keys/s"); /* "20k keys/s" → "20k/s": room for the title */
    if (keys) memmove(keys, keys + 5, strlen(keys + 5) + 1);
    if (s->nworkers != s->workers_target && !view_state_final(s->state))
        snprintf(right, sizeof right, "elapsed %s %s %d%s%d workers %s limit %s ", el, gl->sep,
                 s->nworkers, gl->arrow, s->workers_target, gl->sep, lim);
    else
        snprintf(right, sizeof right, "elapsed %s %s %d workers %s limit %s ", el, gl->sep, s->nworkers,
                 gl->sep, lim);
    const RunnerSnapshot *r = v->run;
    if (r) {
        /* a run: its step, then the copy's figures while one runs */
        char step[48];
        if (r->current >= 0) {
            snprintf(step, sizeof step, "step %d/%d", r->current + 1, r->nsteps);
        } else {
            int done = 0;
            for (int i = 0; i < r->nsteps; i++)
                done += r->steps[i].state == STEP_DONE || r->steps[i].state == STEP_SKIPPED;
            snprintf(step, sizeof step, "%d/%d steps done", done, r->nsteps);
        }
        if (r->engine_live)
            snprintf(right, sizeof right, "%s %s copy %s %s %d workers %s limit %s ", step,
                     gl->sep, el, gl->sep, s->nworkers, gl->sep, lim);
        else
            snprintf(right, sizeof right, "%s ", step);
    }
    int rw = ui_text_width(right, gl->ascii);

    int x = ui_put(c, 0, 0, ROLE_STATUS_BAR, " ferry ");
    char badge[32];
    if (r) {
        int fin = view_run_final(r->state);
        /* a paused copy step is what the operator must see first */
        int paused = r->state == RUNNER_RUNNING && r->engine_live && s->state == ENGINE_PAUSED;
        snprintf(badge, sizeof badge, " %s ",
                 v->quit_pending && !fin ? "STOPPING…" : paused ? "PAUSED" : ui_run_state_label(r->state));
        x += ui_put(c, 0, x,
                    (v->quit_pending && !fin) || paused ? ROLE_STATUS_WARN : ui_run_state_role(r->state),
                    badge);
    } else {
        snprintf(badge, sizeof badge, " %s ", ui_state_label(s->state, v->quit_pending));
        x += ui_put(c, 0, x, ui_state_role(s->state, v->quit_pending), badge);
    }
    x += 1;
    int room = c->w - rw - x - 2; /* keep two blanks before the right side */
    if (r && (r->state == RUNNER_FAILED || r->state == RUNNER_ABORTED ||
              r->state == RUNNER_BLOCKED) && r->reason[0]) {
        ui_put_trunc(c, 0, x, room, r->state == RUNNER_ABORTED ? ROLE_STATUS_BAR : ROLE_STATUS_ERROR,
                     r->reason);
    } else if (r) {
        if (v->title[0]) ui_put_trunc(c, 0, x, room, ROLE_STATUS_BAR, v->title);
    } else if ((s->state == ENGINE_FAILED || s->state == ENGINE_STOPPED) && s->reason[0]) {
        ui_put_trunc(c, 0, x, room, s->state == ENGINE_FAILED ? ROLE_STATUS_ERROR : ROLE_STATUS_BAR,
                     s->reason);
    } else if (v->title[0]) {
        ui_put_trunc(c, 0, x, room, ROLE_STATUS_BAR, v->title);
    }
    if (rw < c->w - x) ui_put(c, 0, c->w - rw, ROLE_STATUS_BAR, right);
}

typedef struct Hint {
    const char *key, *what;
    int prio; /* lower = dropped last */
} Hint;

/* Draws the hints marked in keep on row 0 up to column end, dropping the
 * least important ones (highest prio, never prio 0) until the rest fit. */
static void put_hints(const UiCanvas *c, const Hint *h, int n, int *keep, int end) {
    int ascii = c->gl->ascii;
    for (;;) {
        int w = 0;
        for (int i = 0; i < n; i++)
            if (keep[i]) w += 1 + ui_text_width(h[i].key, ascii) + 1 + ui_text_width(h[i].what, ascii) + 1;
        if (w <= end) break;
        int worst = -1;
        for (int i = 0; i < n; i++)
            if (keep[i] && (worst < 0 || h[i].prio > h[worst].prio)) worst = i;
        if (worst < 0 || h[worst].prio == 0) break;
        keep[worst] = 0;
    }
    int x = 1;
    for (int i = 0; i < n; i++) {
        if (!keep[i]) continue;
        if (x >= end) break;
        x += ui_put_trunc(c, 0, x, end - x, ROLE_KEY_HINT, h[i].key);
        x += 1;
        if (x >= end) break;
        x += ui_put_trunc(c, 0, x, end - x, ROLE_HINT, h[i].what);
        x += 2;
    }
}

void panel_hints(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                 int64_t now_ms) {
    const UiGlyphs *gl = c->gl;
    ui_canvas_fill(c, ROLE_HINT);
    int end = c->w;
    if (v->flash[0] && now_ms < v->flash_until_ms) {
        int fw = ui_text_width(v->flash, gl->ascii) + 1;
        if (fw > c->w / 2) fw = c->w / 2;
        ui_put_trunc(c, 0, c->w - fw, fw - 1, ROLE_VALUE, v->flash);
        end = c->w - fw - 1;
    }
    if (v->quit_pending && !(v->run ? view_run_final(v->run->state) : view_state_final(s->state))) {
        ui_put_trunc(c, 0, 1, end - 1, ROLE_PENDING,
                     v->run ? "stopping… the current step stops, then ferry exits"
                            : "stopping… workers finish their batch, then ferry exits");
        return;
    }
    char updown[16];
    snprintf(updown, sizeof updown, "%s%s", gl->up, gl->down);
    int live = view_state_in_progress(s->state);
    if (v->follow_mode) {
        Hint fh[] = {{"Tab", "focus", 3}, {updown, "scroll", 4}, {"t", "theme", 2},
                     {"?", "help", 1},    {"q", "quit", 0}};
        int keep[5] = {1, 1, 1, 1, 1};
        put_hints(c, fh, (int)(sizeof fh / sizeof fh[0]), keep, end);
        return;
    }
    if (v->run) {
        const RunnerSnapshot *r = v->run;
        int waiting = r->state == RUNNER_WAITING && r->current >= 0 && r->current < r->nsteps;
        /* a running step that ends on the operator's word (tail) */
        int ending = r->state == RUNNER_RUNNING && r->current >= 0 && r->current < r->nsteps &&
                     r->steps[r->current].awaiting_end;
        int fin = view_run_final(r->state);
        live = r->engine_live;
        Hint run[] = {
            {"Enter", ending ? "end step" : waiting && r->steps[r->current].gate == GATE_TYPE ? "type phrase" : "confirm", 0},
            {"s", "skip", 1},
            {"a", "abort", 1},
            {"p", s->state == ENGINE_PAUSED ? "resume" : "pause", 3},
            {"+-", "workers", 4},
            {"[]", "limit", 4},
            {"Tab", "focus", 6},
            {updown, "scroll", 7},
            {"o", "sort groups", 8},
            {"t", "theme", 5},
            {"?", "help", 0},
            {"q", "quit", 0},
        };
        int n = (int)(sizeof run / sizeof run[0]);
        int keep[12];
        for (int i = 0; i < n; i++)
            keep[i] = i < 1 ? waiting || ending : i < 3 ? !fin : i < 6 ? live : 1;
        keep[8] = v->groups[0] || v->groups[1];
        put_hints(c, run, n, keep, end);
        return;
    }
    Hint all[] = {
        {"p", s->state == ENGINE_PAUSED ? "resume" : "pause", 2},
        {"+-", "workers", 3},
        {"[]", "limit", 4},
        {"Tab", "focus", 6},
        {updown, "scroll", 7},
        {"t", "theme", 5},
        {"?", "help", 1},
        {"q", "quit", 0},
    };
    int n = (int)(sizeof all / sizeof all[0]);
    int keep[8];
    for (int i = 0; i < n; i++) keep[i] = live || i >= 3;
    put_hints(c, all, n, keep, end);
}

void panel_help(const UiCanvas *screen, const ConsoleView *v) {
    const UiGlyphs *gl = screen->gl;
    char updown[16], pg[32], limit_range[64];
    snprintf(updown, sizeof updown, "%s %s", gl->up, gl->down);
    snprintf(pg, sizeof pg, "PgUp PgDn");
    snprintf(limit_range, sizeof limit_range, "rate limit lower / higher: 1k %s 100k, off", gl->unknown);
    struct {
        const char *key, *what;
    } rows[] = {
        {"p", "pause / resume the copy"},
        {"+  -", "one worker more / fewer (1-64)"},
        {"[  ]", limit_range},
        {"Tab", "focus the next panel (S-Tab: previous)"},
        {updown, "scroll the focused panel (log, workers)"},
        {pg, "scroll a page"},
        {"Home End", "oldest / newest; End follows the log"},
        {"t", "next colour theme"},
        {"Ctrl-L", "repaint the screen"},
        {"Esc", "dismiss the message in the bottom line"},
        {"?", "this help; any key closes it"},
        {"q", "quit; asks first while the copy runs"},
    };
    struct {
        const char *key, *what;
    } run_rows[] = {
        {"Enter  c", "pass the waiting gate (a typed gate asks the phrase)"},
        {"s", "skip the waiting (or next) step; asks why"},
        {"a", "abort the run; asks first"},
        {"p", "pause / resume the running copy step"},
        {"+  -", "one worker more / fewer (1-64)"},
        {"[  ]", limit_range},
        {"Tab", "focus the next panel (S-Tab: previous)"},
        {updown, "scroll the focused panel (runbook, log, workers)"},
        {pg, "scroll a page"},
        {"o", "consumer groups: by pending / by lag"},
        {"t", "next colour theme"},
        {"Ctrl-L", "repaint the screen"},
        {"?", "this help; any key closes it"},
        {"q", "quit; asks first, aborts a run in progress"},
    };
    struct {
        const char *key, *what;
    } follow_rows[] = {
        {"Tab", "focus the next panel (S-Tab: previous)"},
        {updown, "scroll the focused panel (log)"},
        {pg, "scroll a page"},
        {"Home End", "oldest / newest; End follows the log"},
        {"t", "next colour theme"},
        {"Ctrl-L", "repaint the screen"},
        {"Esc", "dismiss the message in the bottom line"},
        {"?", "this help; any key closes it"},
        {"q", "quit; asks first, then stops the follower"},
    };
    if (v->follow_mode) {
        int n = (int)(sizeof follow_rows / sizeof follow_rows[0]);
        UiCanvas in = ui_dialog(screen, 60, n + 5, "Keys");
        for (int i = 0; i < n; i++) {
            ui_put_trunc(&in, i + 1, 0, 10, ROLE_DIALOG_KEY, follow_rows[i].key);
            ui_put_trunc(&in, i + 1, 11, in.w - 11, ROLE_DIALOG, follow_rows[i].what);
        }
        char foot[128];
        snprintf(foot, sizeof foot, "theme %s %s %s%s", v->theme_name[0] ? v->theme_name : "default",
                 gl->sep, gl->ascii ? "ASCII" : "Unicode", v->no_color ? " (NO_COLOR)" : "");
        ui_put_trunc(&in, n + 2, 0, in.w, ROLE_DIALOG, foot);
        return;
    }
    if (v->run) {
        int n = (int)(sizeof run_rows / sizeof run_rows[0]);
        UiCanvas in = ui_dialog(screen, 66, n + 5, "Keys");
        for (int i = 0; i < n; i++) {
            ui_put_trunc(&in, i + 1, 0, 10, ROLE_DIALOG_KEY, run_rows[i].key);
            ui_put_trunc(&in, i + 1, 11, in.w - 11, ROLE_DIALOG, run_rows[i].what);
        }
        char foot[128];
        snprintf(foot, sizeof foot, "theme %s %s %s%s", v->theme_name[0] ? v->theme_name : "default",
                 gl->sep, gl->ascii ? "ASCII" : "Unicode", v->no_color ? " (NO_COLOR)" : "");
        ui_put_trunc(&in, n + 2, 0, in.w, ROLE_DIALOG, foot);
        return;
    }
    int n = (int)(sizeof rows / sizeof rows[0]);
    int w = 60, h = n + 5;
    UiCanvas in = ui_dialog(screen, w, h, "Keys");
    for (int i = 0; i < n; i++) {
        ui_put_trunc(&in, i + 1, 0, 10, ROLE_DIALOG_KEY, rows[i].key);
        ui_put_trunc(&in, i + 1, 11, in.w - 11, ROLE_DIALOG, rows[i].what);
    }
    char foot[128];
    snprintf(foot, sizeof foot, "theme %s %s %s%s", v->theme_name[0] ? v->theme_name : "default",
             gl->sep, gl->ascii ? "ASCII" : "Unicode", v->no_color ? " (NO_COLOR)" : "");
    ui_put_trunc(&in, n + 2, 0, in.w, ROLE_DIALOG, foot);
}

void panel_confirm_quit(const UiCanvas *screen, const ConsoleView *v, const EngineSnapshot *s) {
    char line1[160], done[16], total[16];
    if (v->follow_mode) {
        const FollowStatus *f = v->follow;
        UiCanvas in = ui_dialog(screen, 68, 9, "Stop following and quit?");
        if (f && f->offset >= 0)
            snprintf(line1, sizeof line1, "The follower is %s at applied offset %lld.",
                     follow_state_name(f->state), f->offset);
        else
            snprintf(line1, sizeof line1, "The follower is %s.",
                     follow_state_name(f ? f->state : FOLLOW_CONNECTING));
        ui_put_trunc(&in, 1, 0, in.w, ROLE_DIALOG, line1);
        ui_put_trunc(&in, 2, 0, in.w, ROLE_DIALOG,
                     "The target keeps what was applied; the source drops ferry.");
        if (v->quit_note[0]) ui_put_trunc(&in, 3, 0, in.w, ROLE_DIALOG, v->quit_note);
        int x = 0;
        x += ui_put(&in, 5, x, ROLE_DIALOG_KEY, "y");
        x += ui_put(&in, 5, x, ROLE_DIALOG, " stop and quit     ");
        x += ui_put(&in, 5, x, ROLE_DIALOG_KEY, "any other key");
        ui_put(&in, 5, x, ROLE_DIALOG, " keep following");
        return;
    }
    if (v->run) {
        const RunnerSnapshot *r = v->run;
        int fl = r->follow_live; /* a follow step's background follower */
        UiCanvas in = ui_dialog(screen, 60, fl ? 9 : 8, "Abort the run and quit?");
        if (r->current >= 0 && r->current < r->nsteps)
            snprintf(line1, sizeof line1, "Step %d of %d (%s) is %s.", r->current + 1, r->nsteps,
                     r->steps[r->current].id, ui_step_state_label(r->steps[r->current].state));
        else
            snprintf(line1, sizeof line1, "The run is in progress.");
        ui_put_trunc(&in, 1, 0, in.w, ROLE_DIALOG, line1);
        ui_put_trunc(&in, 2, 0, in.w, ROLE_DIALOG,
                     "It stops; --resume with the journal continues later.");
        if (fl)
            ui_put_trunc(&in, 3, 0, in.w, ROLE_DIALOG,
                         "The follower stops too; --resume brings it back.");
        int x = 0, row = fl ? 5 : 4;
        x += ui_put(&in, row, x, ROLE_DIALOG_KEY, "y");
        x += ui_put(&in, row, x, ROLE_DIALOG, " abort and quit     ");
        x += ui_put(&in, row, x, ROLE_DIALOG_KEY, "any other key");
        ui_put(&in, row, x, ROLE_DIALOG, " keep going");
        return;
    }
    util_fmt_count(done, sizeof done, (double)s->stats.done);
    if (s->stats.total_estimate > 0 && s->stats.progress >= 0) {
        util_fmt_count(total, sizeof total, (double)s->stats.total_estimate);
        snprintf(line1, sizeof line1, "%s of ~%s keys handled (%.0f%%).", done, total,
                 s->stats.progress * 100);
    } else {
        snprintf(line1, sizeof line1, "%s keys handled so far.", done);
    }
    const char *what = s->state == ENGINE_PAUSED ? "The copy is paused, not finished."
                                                 : "The copy is still running.";
    UiCanvas in = ui_dialog(screen, 60, 9, "Stop the copy and quit?");
    ui_put_trunc(&in, 1, 0, in.w, ROLE_DIALOG, what);
    ui_put_trunc(&in, 2, 0, in.w, ROLE_DIALOG, line1);
    ui_put_trunc(&in, 3, 0, in.w, ROLE_DIALOG,
                 "Workers finish their current batch, then ferry exits.");
    int x = 0;
    x += ui_put(&in, 5, x, ROLE_DIALOG_KEY, "y");
    x += ui_put(&in, 5, x, ROLE_DIALOG, " stop and quit     ");
    x += ui_put(&in, 5, x, ROLE_DIALOG_KEY, "any other key");
    ui_put(&in, 5, x, ROLE_DIALOG,
           s->state == ENGINE_PAUSED ? " stay paused" : " keep copying");
}

void panel_too_small(const UiCanvas *screen, const ConsoleView *v) {
    char msg[128];
    snprintf(msg, sizeof msg, "terminal too small (needs %d%s%d, have %d%s%d)", LAYOUT_MIN_W,
             screen->gl->ascii ? "x" : "×", LAYOUT_MIN_H, screen->w,
             screen->gl->ascii ? "x" : "×", screen->h);
    if (ui_text_width(msg, screen->gl->ascii) > screen->w)
        snprintf(msg, sizeof msg, "too small (needs %d%s%d)", LAYOUT_MIN_W,
                 screen->gl->ascii ? "x" : "×", LAYOUT_MIN_H);
    const char *second = v->overlay == OVERLAY_CONFIRM_QUIT
                             ? "stop the copy and quit? y = yes, other key = no"
                             : "enlarge the window; q quits";
    int y = screen->h / 2 - 1;
    if (y < 0) y = 0;
    int w1 = ui_text_width(msg, screen->gl->ascii), w2 = ui_text_width(second, screen->gl->ascii);
    int x1 = (screen->w - w1) / 2, x2 = (screen->w - w2) / 2;
    ui_put_trunc(screen, y, x1 > 0 ? x1 : 0, screen->w, ROLE_VALUE_WARN, msg);
    ui_put_trunc(screen, y + 1, x2 > 0 ? x2 : 0, screen->w,
                 v->overlay == OVERLAY_CONFIRM_QUIT ? ROLE_VALUE_WARN : ROLE_DIM, second);
}
