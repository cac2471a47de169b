/* panel_log — what happened: warnings, errors and operator actions, newest
 * at the bottom, long lines wrapped under their text so that an
 * error's "what to do next" is never cut off.
 *
 *   03:12:45  warn   target memory at 91% of maxmemory
 *   03:12:51  op     workers 8 → 9
 *
 * Scrolling is anchored on an event (ConsoleView.log_anchor), not on a row,
 * so new events arriving while the operator reads do not move the page. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "panels.h"
#include "util.h"

#define TEXT_COL 16 /* "03:12:45  warn  " */

static UiRole level_role(EventLevel l) {
    switch (l) {
    case EV_INFO: return ROLE_LOG_INFO;
    case EV_WARN: return ROLE_LOG_WARN;
    case EV_ERROR: return ROLE_LOG_ERROR;
    case EV_OPERATOR: return ROLE_LOG_OPERATOR;
    }
    return ROLE_LOG_INFO;
}

static const char *level_tag(EventLevel l) {
    switch (l) {
    case EV_INFO: return "info";
    case EV_WARN: return "warn";
    case EV_ERROR: return "error";
    case EV_OPERATOR: return "op";
    }
    return "?";
}

/* Rows event e takes at content width w. */
static int event_rows(const Event *e, int w, int ascii) {
    int starts[64];
    return ui_wrap(e->text, w - TEXT_COL, ascii, starts, 64);
}

static void draw_event(const UiCanvas *b, int row, const Event *e, int skip_rows) {
    char ts[16];
    time_t t = (time_t)(e->time_ms / 1000);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    else
        snprintf(ts, sizeof ts, "--:--:--");
    int starts[64];
    int n = ui_wrap(e->text, b->w - TEXT_COL, b->gl->ascii, starts, 64);
    UiRole role = level_role(e->level);
    for (int i = skip_rows; i < n; i++, row++) {
        if (row < 0 || row >= b->h) continue;
        if (i == 0) {
            ui_put(b, row, 0, ROLE_LOG_TIME, ts);
            ui_put(b, row, 10, role, level_tag(e->level));
        }
        int end = i + 1 < n ? starts[i + 1] : (int)strlen(e->text);
        char line[EVENTLOG_TEXT + 1];
        int len = end - starts[i];
        if (len > EVENTLOG_TEXT) len = EVENTLOG_TEXT;
        memcpy(line, e->text + starts[i], (size_t)len);
        line[len] = '\0';
        ui_put_trunc(b, row, TEXT_COL, b->w - TEXT_COL,
                     e->level == EV_INFO ? ROLE_LOG_INFO : role, line);
    }
}

/* Index of the newest visible event. */
static int anchor_index(const ConsoleView *v) {
    if (v->log_anchor == 0 || v->log_len == 0) return v->log_len - 1;
    for (int i = v->log_len - 1; i >= 0; i--)
        if (view_log_at(v, i)->seq <= v->log_anchor) return i;
    return 0;
}

void panel_log(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s, int focused) {
    (void)s;
    int a = anchor_index(v);
    char right[64] = "";
    if (v->log_anchor && a < v->log_len - 1)
        snprintf(right, sizeof right, "%d newer %s End follows", v->log_len - 1 - a, c->gl->sep);
    panel_frame(c, "Log", focused, right);
    UiCanvas b = panel_body(c);
    if (b.h <= 0) return;
    if (v->log_len == 0) {
        ui_put_trunc(&b, 0, 0, b.w, ROLE_DIM, "no events yet");
        return;
    }
    /* Walk back from the anchor event until the page is full; an event that
     * does not fit whole stays off the page (unless it alone is taller than
     * the page). While the log is shorter than the page it starts at the
     * top, like a fresh terminal. */
    int used = 0, first = a;
    for (int i = a; i >= 0; i--) {
        int n = event_rows(view_log_at(v, i), b.w, b.gl->ascii);
        if (used + n > b.h && i != a) break;
        used += n;
        first = i;
    }
    int row = used >= b.h ? b.h - used : 0;
    for (int i = first; i <= a; i++) {
        const Event *e = view_log_at(v, i);
        draw_event(&b, row, e, 0);
        row += event_rows(e, b.w, b.gl->ascii);
    }
}
