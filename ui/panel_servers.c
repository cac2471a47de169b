/* panel_servers — is the source suffering, is the target keeping up.
 *
 *   source redis://10.0.0.7:6379/1    │ target rediss://cache…:6380/0
 *   version 7.2.4  master  rdb 11     │ version 8.0.1  master  rdb 11
 *   memory 4.21 GiB / 8.00 GiB  53%   │ memory 1.02 GiB  no maxmemory
 *   ops/s 12.3k  clients 143  ping 0.42 ms
 *   keys 3.00M
 *
 * Both sides are sampled by the engine off the UI thread (at most once a
 * second). A sample older than 3 s is drawn in the stale role with its age;
 * a sampling error is shown in place, not hidden. */
#include <stdio.h>
#include <string.h>

#include "panels.h"
#include "util.h"

#define MEM_WARN 0.85
#define MEM_ERROR 0.95
#define LAT_WARN_MS 10.0
#define LAT_ERROR_MS 100.0

/* The engine's label may or may not start with the side's role; say it once. */
static int has_prefix(const char *s, const char *p) {
    size_t n = strlen(p);
    return strncmp(s, p, n) == 0 && (s[n] == ' ' || s[n] == '\0');
}

static void side(const UiCanvas *b, const ServerSnapshot *sv, const char *role) {
    const UiGlyphs *gl = b->gl;
    char marker[48] = "";
    UiRole mrole = ROLE_DIM;
    if (sv->status == RATE_STALE) {
        char age[16];
        if (sv->age_ms >= 0) {
            util_fmt_duration(age, sizeof age, sv->age_ms);
            snprintf(marker, sizeof marker, "stale %s", age);
        } else {
            snprintf(marker, sizeof marker, "stale");
        }
        mrole = ROLE_STALE;
    }
    int mw = marker[0] ? ui_text_width(marker, gl->ascii) + 1 : 0;
    const char *label = sv->label[0] ? sv->label : gl->unknown;
    int x = 0;
    if (has_prefix(label, role)) {
        label += strlen(role);
        while (*label == ' ') label++;
    }
    x += ui_put(b, 0, 0, ROLE_LABEL, role) + 1;
    ui_put_mid(b, 0, x, b->w - mw - x, ROLE_VALUE, label);
    if (mw) ui_put_right(b, 0, b->w, mrole, marker);
    if (b->h < 2) return;

    int last = b->h - 1; /* the error line, when there is one */
    if (sv->status == RATE_INIT || sv->status == RATE_NODATA) {
        ui_put_trunc(b, 1, 0, b->w, sv->status == RATE_INIT ? ROLE_PENDING : ROLE_DIM,
                     sv->status == RATE_INIT ? "sampling…" : "not sampled");
        if (sv->error[0] && last >= 2) ui_put_trunc(b, 2, 0, b->w, ROLE_VALUE_ERROR, sv->error);
        return;
    }
    int stale = sv->status == RATE_STALE;
    UiRole vr = stale ? ROLE_STALE : ROLE_VALUE;
    int rows_end = sv->error[0] && b->h >= 3 ? last : b->h;

    UiFlow f = {.c = b, .row = 1, .col = 0, .row_end = rows_end};
    char t[64];
    ui_flow_item(&f, "version", ROLE_LABEL, sv->version[0] ? sv->version : gl->unknown, vr);
    if (sv->role[0]) ui_flow_item(&f, NULL, ROLE_LABEL, sv->role, vr);
    if (sv->rdb_version > 0) {
        snprintf(t, sizeof t, "%d", sv->rdb_version);
        ui_flow_item(&f, "rdb", ROLE_LABEL, t, vr);
    }

    /* memory on its own row */
    f.row++, f.col = 0;
    char used[16], max[16];
    util_fmt_bytes(used, sizeof used, (double)sv->used_memory);
    if (sv->maxmemory > 0) {
        double frac = (double)sv->used_memory / (double)sv->maxmemory;
        util_fmt_bytes(max, sizeof max, (double)sv->maxmemory);
        snprintf(t, sizeof t, "%s / %s  %.0f%%", used, max, frac * 100);
        UiRole mr = stale ? ROLE_STALE
                    : frac >= MEM_ERROR ? ROLE_VALUE_ERROR
                    : frac >= MEM_WARN  ? ROLE_VALUE_WARN
                                        : ROLE_VALUE;
        ui_flow_item(&f, "memory", ROLE_LABEL, t, mr);
    } else {
        ui_flow_item(&f, "memory", ROLE_LABEL, used, vr);
        ui_flow_item(&f, NULL, ROLE_LABEL, "no maxmemory", ROLE_DIM);
    }

    f.row++, f.col = 0;
    util_fmt_count(t, sizeof t, sv->ops_per_sec);
    ui_flow_item(&f, "ops/s", ROLE_LABEL, t, vr);
    snprintf(t, sizeof t, "%ld", sv->clients);
    ui_flow_item(&f, "clients", ROLE_LABEL, t, vr);
    ui_fmt_latency(t, sizeof t, sv->latency_ms);
    UiRole lr = stale ? ROLE_STALE
                : sv->latency_ms >= LAT_ERROR_MS ? ROLE_VALUE_ERROR
                : sv->latency_ms >= LAT_WARN_MS  ? ROLE_VALUE_WARN
                                                 : ROLE_VALUE;
    ui_flow_item(&f, "ping", ROLE_LABEL, t, lr);
    util_fmt_count(t, sizeof t, (double)sv->keys);
    ui_flow_item(&f, "keys", ROLE_LABEL, t, vr);

    if (sv->error[0]) ui_put_trunc(b, last, 0, b->w, ROLE_VALUE_ERROR, sv->error);
}

void panel_servers(const UiCanvas *c, const ConsoleView *v, const EngineSnapshot *s,
                   int focused) {
    (void)v;
    panel_frame(c, "Servers", focused, NULL);
    UiCanvas b = panel_body(c);
    if (b.h <= 0 || b.w <= 0) return;
    int half = (b.w - 3) / 2;
    UiCanvas left = ui_canvas_sub(&b, 0, 0, half, b.h);
    UiCanvas right = ui_canvas_sub(&b, half + 3, 0, b.w - half - 3, b.h);
    for (int r = 0; r < b.h; r++) ui_put(&b, r, half + 1, ROLE_BORDER, b.gl->vline);
    side(&left, &s->source, "source");
    side(&right, &s->target, "target");
}
