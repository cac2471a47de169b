/* panel_groups — consumer groups, sampled on both sides within a command
 * budget (groups.h): what is pending and how far behind each group is.
 *
 *   source 5 groups · 3/3 streams · oldest 4s   pending 1.2k  lag 40
 *   target 5 groups · 3/3 streams · oldest 2s   pending 1.2k  lag 40
 *   group                      pending   lag │ target pend   lag
 *   orders:billing                1204    12 │        1204    12
 *   orders:audit~                   40     — │          40     —
 *
 * Rows are the source's top groups (o: by pending or by lag) with the same
 * group on the target beside them. Coverage is said honestly (streams
 * sampled / known, the oldest sample); a row whose sample is older than
 * GROUPS_STALE_MS is drawn as stale and marked "~". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "panels.h"
#include "util.h"

#define GROUPS_STALE_MS 30000
#define GROUPS_TOP_MAX 64

static void fmt_count(char *buf, size_t len, long long n, const char *unknown) {
    if (n < 0)
        snprintf(buf, len, "%s", unknown);
    else
        util_fmt_count(buf, len, (double)n);
}

/* One side's totals and coverage on one row. */
static void totals_row(const UiCanvas *b, int row, const char *side, const GroupsSnapshot *s,
                       const GroupsTotals *t) {
    const UiGlyphs *gl = b->gl;
    int x = ui_put(b, row, 0, ROLE_LABEL, side);
    x++;
    char m[FERRY_ERR_LEN + 64], p[16], l[16], age[16];
    if (!s) {
        ui_put_trunc(b, row, x, b->w - x, ROLE_DIM, "not sampled");
        return;
    }
    if (s->state == GROUPS_RETRYING && s->error[0]) {
        snprintf(m, sizeof m, "retrying: %s", s->error);
        ui_put_trunc(b, row, x, b->w - x, ROLE_VALUE_ERROR, m);
        return;
    }
    if (s->streams_known == 0) {
        ui_put_trunc(b, row, x, b->w - x, s->passes > 0 ? ROLE_DIM : ROLE_PENDING,
                     s->passes > 0 ? "no streams" : s->state == GROUPS_CONNECTING ? "connecting…"
                                                                                 : "looking for streams…");
        return;
    }
    int64_t oldest = s->oldest_sample_ms ? s->taken_ms - s->oldest_sample_ms : -1;
    if (oldest >= 0)
        util_fmt_duration(age, sizeof age, oldest);
    else
        snprintf(age, sizeof age, "%s", gl->unknown);
    /* most important first; what does not fit is left out */
    fmt_count(p, sizeof p, t->pending, gl->unknown);
    fmt_count(l, sizeof l, t->lag, gl->unknown);
    char lag[24], cov[48], old[32], grp[32];
    snprintf(lag, sizeof lag, "%s%s", l, t->lag_unknown ? "+?" : "");
    snprintf(cov, sizeof cov, "%zu/%zu%s", s->streams_sampled, s->streams_known, s->capped ? "+" : "");
    snprintf(old, sizeof old, "%s", age);
    snprintf(grp, sizeof grp, "%zu", t->groups);
    /* partial coverage is normal while the first round runs: pending colour */
    UiRole cr = s->streams_sampled < s->streams_known ? ROLE_PENDING : ROLE_VALUE;
    UiRole ar = oldest > GROUPS_STALE_MS ? ROLE_STALE : ROLE_VALUE;
    UiFlow f = {.c = b, .row = row, .col = x - 1, .row_end = row + 1}; /* two blanks after the side */
    ui_flow_item(&f, "pending", ROLE_LABEL, p, ROLE_VALUE);
    ui_flow_item(&f, "lag", ROLE_LABEL, lag, ROLE_VALUE);
    ui_flow_item(&f, "streams", ROLE_LABEL, cov, cr);
    ui_flow_item(&f, "oldest", ROLE_LABEL, old, ar);
    ui_flow_item(&f, "groups", ROLE_LABEL, grp, ROLE_VALUE);
    (void)m;
}

static const GroupRow *find_row(const GroupsSnapshot *s, const GroupRow *r) {
    if (!s) return NULL;
    for (size_t i = 0; i < s->nrows; i++) {
        const GroupRow *o = &s->rows[i];
        if (o->klen == r->klen && o->glen == r->glen && memcmp(o->key, r->key, r->klen) == 0 &&
            memcmp(o->group, r->group, r->glen) == 0)
            return o;
    }
    return NULL;
}

void panel_groups(const UiCanvas *c, const ConsoleView *v, const GroupsSnapshot *src,
                  const GroupsSnapshot *dst, int focused) {
    char right[64];
    const GroupsSnapshot *any = src ? src : dst;
    snprintf(right, sizeof right, "by %s %s %d/s", v->groups_order == GROUPS_BY_LAG ? "lag" : "pending",
             c->gl->sep, any ? any->budget : 0);
    panel_frame(c, panel_title(PANEL_GROUPS), focused, right);
    UiCanvas b = panel_body(c);
    if (b.h <= 0 || b.w <= 0) return;
    const UiGlyphs *gl = b.gl;

    size_t idx[GROUPS_TOP_MAX];
    GroupsTotals ts, td;
    memset(&ts, 0, sizeof ts);
    memset(&td, 0, sizeof td);
    long n = 0;
    if (src) n = groups_top(src, v->groups_order, NULL, 0, idx, GROUPS_TOP_MAX, &ts);
    if (n < 0) n = 0;
    if (dst) {
        size_t one;
        groups_top(dst, v->groups_order, NULL, 0, &one, 1, &td);
    }
    int row = 0;
    totals_row(&b, row++, "source", src, &ts);
    if (row < b.h) totals_row(&b, row++, "target", dst, &td);
    if (row >= b.h || n == 0) return;

    /* columns, right to left: target lag, target pending │ source lag, source pending */
    int wide = b.w >= 56;
    int cw = 8;
    int ncols = wide ? 4 : 2;
    int numw = ncols * cw + 2; /* + " │" */
    int namew = b.w - numw - 1;
    if (namew < 8) {
        ncols = 1;
        numw = cw;
        namew = b.w - numw - 1;
    }
    int x0 = namew + 1;
    ui_put(&b, row, 0, ROLE_LABEL, "group");
    const char *heads[4] = {"pending", "lag", "target", "lag"};
    if (!wide) heads[1] = "target";
    int x = x0;
    for (int k = 0; k < ncols; k++) {
        if (k == ncols / 2 && ncols > 1) {
            ui_put(&b, row, x + 1, ROLE_BORDER, gl->vline);
            x += 2;
        }
        ui_put_right(&b, row, x + cw, ROLE_LABEL, heads[k]);
        x += cw;
    }
    row++;
    for (long i = 0; i < n && row < b.h; i++, row++) {
        const GroupRow *r = &src->rows[idx[i]];
        const GroupRow *t = find_row(dst, r);
        int stale = src->taken_ms - r->sampled_ms > GROUPS_STALE_MS;
        char name[300];
        snprintf(name, sizeof name, "%s:%s%s", r->key, r->group, stale ? "~" : "");
        ui_put_mid(&b, row, 0, namew, stale ? ROLE_STALE : ROLE_NORMAL, name);
        long long vals[4] = {r->pending, r->lag, t ? t->pending : -2, t ? t->lag : -2};
        if (!wide) vals[1] = vals[2];
        x = x0;
        for (int k = 0; k < ncols; k++) {
            if (k == ncols / 2 && ncols > 1) {
                ui_put(&b, row, x + 1, ROLE_BORDER, gl->vline);
                x += 2;
            }
            char num[16];
            int tside = wide ? k >= 2 : k >= 1;
            const GroupRow *from = tside ? t : r;
            int trow_stale = from && src->taken_ms - from->sampled_ms > GROUPS_STALE_MS;
            if (vals[k] == -2)
                snprintf(num, sizeof num, "%s", "none");
            else
                fmt_count(num, sizeof num, vals[k], gl->unknown);
            UiRole role = vals[k] == -2 ? ROLE_DIM : stale || trow_stale ? ROLE_STALE : ROLE_VALUE;
            ui_put_right(&b, row, x + cw, role, num);
            x += cw;
        }
    }
}
