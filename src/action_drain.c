/* action drain — for the old side after cutover: waits until the selected
 * consumer groups of the source's streams (stream keys of the run's db map
 * and filters) have nothing pending and, where the server reports it, no
 * lag; or until the grace window ends. Every `interval` it logs the
 * countdown and what remains. At the end, what was left (stream, group,
 * pending count, oldest pending ID, lag) goes to the step's log and figures
 * (the journal) and, with `report = FILE`, to that file, one tab-separated
 * line per group. Leftovers are the field's choice, not a failure: events
 * older than their usefulness are let go; the step is done either way.
 *
 *   grace = 5m          how long to wait at most (default 5m)
 *   group = GLOB        only groups whose name matches (Redis glob; default all)
 *   interval = 5s       how often the countdown is logged (checks run every second)
 *   report = FILE       where to write the leftovers
 *
 * Reads only (XINFO GROUPS per stream, XPENDING summary for the oldest ID). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "tail.h"
#include "util.h"

static const char *const drain_params[] = {"grace", "group", "interval", "report", NULL};

#define DRAIN_LOG_GROUPS 8

static int drain_dur(const RunbookStep *st, const char *key, int64_t dflt, int64_t *out, int *line, char *err,
                     size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, key);
    *out = dflt;
    if (!p) return 0;
    if (runbook_parse_duration(p->value, out) != 0 || *out <= 0) {
        *line = p->line;
        return util_err(err, errlen, "%s takes a time with its unit, e.g. 30s, 10m (got \"%s\")", key, p->value);
    }
    return 0;
}

static int drain_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    int64_t grace, iv;
    if (drain_dur(st, "grace", 300000, &grace, line, err, errlen) || drain_dur(st, "interval", 5000, &iv, line, err, errlen))
        return -1;
    if (st->timeout_ms && st->timeout_ms <= grace) {
        *line = st->line;
        return util_err(err, errlen, "grace is not shorter than the step's timeout: the step would fail before writing what is left");
    }
    const RunbookParam *r = runbook_param_entry(st, "report");
    if (r && !r->value[0]) {
        *line = r->line;
        return util_err(err, errlen, "report names a file, e.g. report = drain-leftovers.txt");
    }
    return 0;
}

static void drain_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_need(p, PF_SOURCE, "xinfo", "drain", 0, NULL, NULL);
    preflight_plan_need(p, PF_SOURCE, "xpending", "drain", 0, NULL, NULL);
}

static int drain_stop_cb(void *ud) { return action_stopping(ud); }

static void drain_totals(const DrainGroup *g, int n, long long *pending, long long *lag) {
    *pending = *lag = 0;
    for (int i = 0; i < n; i++) {
        *pending += g[i].pending;
        if (g[i].lag > 0) *lag += g[i].lag;
    }
}

static int drain_write_report(const char *path, const DrainGroup *g, int n, const char *why, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) return util_err(err, errlen, "cannot write the drain report %s: %s", path, strerror(errno));
    fprintf(f, "# ferry drain: %s\n# stream\tgroup\tpending\toldest-pending-id\tlag\n", why);
    for (int i = 0; i < n; i++) {
        char lag[24];
        if (g[i].lag < 0) util_strlcpy(lag, "unknown", sizeof(lag));
        else snprintf(lag, sizeof(lag), "%lld", g[i].lag);
        fprintf(f, "db%d:%s\t%s\t%lld\t%s\t%s\n", g[i].db, g[i].key, g[i].group, g[i].pending,
                g[i].oldest[0] ? g[i].oldest : "-", lag);
    }
    fprintf(f, "# %d group(s) left\n", n);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return util_err(err, errlen, "cannot write the drain report %s: %s", path, strerror(errno));
    return 0;
}

static int drain_run(ActionCtx *c, char *err, size_t errlen) {
    int line;
    int64_t grace, interval;
    drain_dur(c->step, "grace", 300000, &grace, &line, err, errlen);
    drain_dur(c->step, "interval", 5000, &interval, &line, err, errlen);
    const char *glob = runbook_param(c->step, "group");
    const char *report = runbook_param(c->step, "report");
    err[0] = '\0';

    Conn *src = action_connect(c, 0, "drain", err, errlen);
    if (!src) return -1;
    int rc = -1;
    Tail *t = NULL;
    DrainGroup *left = NULL;
    int nleft = 0;
    int sdb[DBMAP_MAX], ddb[DBMAP_MAX], ndb = 0;
    if (action_db_plan(c, src, sdb, ddb, &ndb, err, errlen) != 0) goto out;
    TailOptions o;
    tail_options_init(&o);
    o.budget = 0;
    o.stopping = drain_stop_cb;
    o.ud = c;
    /* The tail's stream list and survey, on the source alone. */
    if (!(t = tail_new(src, src, &o))) {
        util_err(err, errlen, "out of memory starting the drain");
        goto out;
    }
    for (int k = 0; k < ndb; k++) {
        int a = tail_discover(t, sdb[k], sdb[k], &c->copy->filter, err, errlen);
        if (a == -2) goto stopped;
        if (a < 0) goto out;
    }
    char gd[16];
    util_fmt_duration(gd, sizeof(gd), grace);
    action_log(c, EV_INFO, "draining %d stream(s) on the source (groups %s) for at most %s", tail_count(t),
               glob ? glob : "all", gd);
    int64_t start = util_mono_ms(), end = start + grace, next_log = start;
    int drained = 0;
    for (;;) {
        free(left);
        left = NULL;
        int64_t now = util_mono_ms();
        int last = now >= end;
        int s = tail_drain_survey(t, glob, last, &left, &nleft, err, errlen);
        if (s == -2) goto stopped;
        if (s < 0) goto out;
        if (nleft == 0) {
            drained = 1;
            break;
        }
        if (last) break;
        if (now >= next_log) {
            long long p, l;
            drain_totals(left, nleft, &p, &l);
            char d[16];
            util_fmt_duration(d, sizeof(d), end - now);
            action_log(c, EV_INFO, "%s left: %lld pending and %lld undelivered in %d group(s)", d, p, l, nleft);
            for (int i = 0; i < nleft && i < DRAIN_LOG_GROUPS; i++)
                action_log(c, EV_INFO, "  db%d %s group %s: %lld pending, lag %lld", left[i].db, left[i].key,
                           left[i].group, left[i].pending, left[i].lag);
            next_log = now + interval;
        }
        for (int64_t w = 0; w < 1000 && util_mono_ms() < end; w += 100) {
            if (action_stopping(c)) goto stopped;
            util_sleep_ms(100);
        }
    }
    long long p, l;
    drain_totals(left, nleft, &p, &l);
    char took[16];
    util_fmt_duration(took, sizeof(took), util_mono_ms() - start);
    action_figure(c, "drained", drained);
    action_figure(c, "groups_left", nleft);
    action_figure(c, "pending_left", p);
    action_figure(c, "lag_left", l);
    if (drained) {
        action_log(c, EV_INFO, "drained in %s: no selected group has anything pending on the source", took);
    } else {
        action_log(c, EV_WARN, "grace of %s over: %lld pending and %lld undelivered left in %d group(s), let go", gd, p, l, nleft);
        for (int i = 0; i < nleft; i++)
            action_log(c, EV_WARN, "left: db%d %s group %s: %lld pending, oldest %s, lag %lld", left[i].db, left[i].key,
                       left[i].group, left[i].pending, left[i].oldest[0] ? left[i].oldest : "-", left[i].lag);
    }
    if (report && drain_write_report(report, left, nleft, drained ? "drained" : "grace window over", err, errlen) != 0)
        goto out;
    rc = 0;
    goto out;
stopped:
    util_err(err, errlen, "the drain was interrupted; nothing was changed on the source");
out:
    free(left);
    tail_free(t);
    conn_close(src);
    return rc;
}

const ActionDef action_drain = {
    .name = "drain",
    .summary = "Wait for the old side's consumers to finish",
    .params = drain_params,
    .default_gate = GATE_NONE,
    .check = drain_check,
    .needs = drain_needs,
    .run = drain_run,
};
