/* action tail — after the copy, keeps every copied stream (stream keys of
 * the run's db map and filters) in step with the source: new entries with
 * the same IDs, and the consumer groups' positions and pending lists (see
 * tail.h). By default it runs until the operator confirms cutover: they
 * switch producers and consumers to the target, press Enter, and the tail
 * catches up (until a second passes with nothing new) and ends. With
 * `until = quiet` (or headless with --confirm given in advance) it ends once
 * the source has been unchanged — nothing to copy, every group equal — for
 * `quiet` (default 10s).
 *
 *   until = confirm     (default) the operator ends it at cutover (Enter in the
 *                       console; headless: --confirm STEP, then it ends on quiet)
 *   until = quiet       it ends once the source stays unchanged for `quiet`
 *   quiet = 10s         how long the source must stay unchanged
 *   batch = 500         entries per XRANGE / pending entries per XPENDING page
 *   budget = 2000       source commands per second (0 = no limit)
 *   interval = 5s       how often the per-stream lag is logged
 *   rediscover = 30s    how often new stream keys are looked for
 *
 * Figures: streams, entries_tailed, group_updates, lag_entries, lag_ms_max,
 * source_commands, pending_not_copied. Per-stream lag (entries and ms) goes to the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "tail.h"
#include "util.h"

static const char *const tail_params[] = {"until", "quiet", "batch", "budget", "interval", "rediscover", NULL};

#define TAIL_LOG_STREAMS 8

static int dur_param(const RunbookStep *st, const char *key, int64_t dflt, int64_t *out, int *line, char *err,
                     size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, key);
    *out = dflt;
    if (!p) return 0;
    if (runbook_parse_duration(p->value, out) != 0 || *out <= 0) {
        *line = p->line;
        return util_err(err, errlen, "%s takes a time with its unit, e.g. 10s, 2m (got \"%s\")", key, p->value);
    }
    return 0;
}

static int tail_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *u = runbook_param_entry(st, "until");
    if (u && strcmp(u->value, "quiet") != 0 && strcmp(u->value, "confirm") != 0) {
        *line = u->line;
        return util_err(err, errlen, "until takes confirm (the operator ends the tail at cutover; the default) or quiet (it ends once the source stays unchanged for `quiet`); got \"%s\"",
                        u->value);
    }
    int64_t ms;
    long n;
    if (dur_param(st, "quiet", 10000, &ms, line, err, errlen) || dur_param(st, "interval", 5000, &ms, line, err, errlen) ||
        dur_param(st, "rediscover", 30000, &ms, line, err, errlen))
        return -1;
    if (action_param_int(st, "batch", 1, 100000, &n, line, err, errlen) ||
        action_param_int(st, "budget", 0, 10000000, &n, line, err, errlen))
        return -1;
    int64_t quiet;
    dur_param(st, "quiet", 10000, &quiet, line, err, errlen);
    if (st->timeout_ms && st->timeout_ms <= quiet) {
        *line = st->line;
        return util_err(err, errlen, "quiet is not shorter than the step's timeout: the tail could never end in time");
    }
    return 0;
}

static void tail_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_need(p, PF_SOURCE, "xrange", "tail", 0, NULL, NULL);
    preflight_plan_need(p, PF_SOURCE, "xinfo", "tail", 0, NULL, NULL);
    preflight_plan_need(p, PF_SOURCE, "xpending", "tail", 0, NULL, NULL);
    preflight_plan_need(p, PF_TARGET, "xadd", "tail", 0, NULL, NULL);
    preflight_plan_need(p, PF_TARGET, "xack", "tail", 0, NULL, NULL);
    preflight_plan_need(p, PF_TARGET, "xclaim", "tail", 0, NULL, NULL);
    preflight_plan_need(p, PF_TARGET, "xgroup", "tail", 0, NULL, NULL);
}

static int tail_stop_cb(void *ud) { return action_stopping(ud); }

static void tail_report(ActionCtx *c, Tail *t, int all) {
    long long lag, lagms, tailed, upd;
    tail_totals(t, &lag, &lagms, &tailed, &upd);
    action_figure(c, "streams", tail_count(t));
    action_figure(c, "entries_tailed", tailed);
    action_figure(c, "group_updates", upd);
    action_figure(c, "lag_entries", lag);
    action_figure(c, "lag_ms_max", lagms);
    action_figure(c, "source_commands", (long long)tail_src_commands(t));
    action_log(c, EV_INFO, "%d streams, %lld entries appended, %lld group updates; behind by %lld entries (at most %lld ms)",
               tail_count(t), tailed, upd, lag, lagms);
    /* The streams that are behind (all of them when asked), up to a limit. */
    int shown = 0;
    long long lost = 0;
    for (int i = 0; i < tail_count(t); i++) {
        TailStreamView v;
        tail_view(t, i, &v);
        lost += v.lost_pending;
        if (v.lost_pending)
            action_log(c, EV_WARN, "db%d %s: %lld pending entries on the source point to entries deleted there before they were copied; they cannot be pending on the target",
                       v.src_db, v.key, v.lost_pending);
        if ((!all && v.lag_entries == 0) || shown >= TAIL_LOG_STREAMS) continue;
        action_log(c, EV_INFO, "  db%d:%d %s: lag %lld entries, %lld ms; %lld appended, %lld group updates%s", v.src_db,
                   v.dst_db, v.key, v.lag_entries, v.lag_ms, v.tailed, v.group_updates, v.in_sync ? "; in sync" : "");
        shown++;
    }
    action_figure(c, "pending_not_copied", lost);
}

static int tail_run(ActionCtx *c, char *err, size_t errlen) {
    int line;
    long batch = 500, budget = 2000;
    int64_t quiet, interval, rediscover;
    action_param_int(c->step, "batch", 1, 100000, &batch, &line, err, errlen);
    action_param_int(c->step, "budget", 0, 10000000, &budget, &line, err, errlen);
    dur_param(c->step, "quiet", 10000, &quiet, &line, err, errlen);
    dur_param(c->step, "interval", 5000, &interval, &line, err, errlen);
    dur_param(c->step, "rediscover", 30000, &rediscover, &line, err, errlen);
    err[0] = '\0';

    Conn *src = action_connect(c, 0, "tail", err, errlen);
    if (!src) return -1;
    Conn *dst = action_connect(c, 1, "tail", err, errlen);
    if (!dst) {
        conn_close(src);
        return -1;
    }
    int rc = -1;
    Tail *t = NULL;
    int sdb[DBMAP_MAX], ddb[DBMAP_MAX], ndb = 0;
    if (action_db_plan(c, src, sdb, ddb, &ndb, err, errlen) != 0) goto out;
    TailOptions o;
    tail_options_init(&o);
    o.batch = (int)batch;
    o.budget = (int)budget;
    o.stopping = tail_stop_cb;
    o.ud = c;
    if (!(t = tail_new(src, dst, &o))) {
        util_err(err, errlen, "out of memory starting the tail");
        goto out;
    }
    int64_t next_discover = 0, next_log = util_mono_ms() + interval, quiet_since = 0;
    char qd[16];
    util_fmt_duration(qd, sizeof(qd), quiet);
    /* until = confirm (default): the operator ends the tail at cutover;
     * then it catches up until one second passes with nothing new. A host
     * with no operator (or --confirm given in advance) ends on `quiet`. */
    const char *until = runbook_param(c->step, "until");
    int by_operator = (!until || !strcmp(until, "confirm")) && c->host.await_end && c->host.end_requested;
    if (by_operator) {
        if (c->host.await_end(c->host.ud,
                              "cut over (switch producers and consumers to the target), then press Enter: the tail catches up and ends",
                              err, errlen) != 0)
            goto out;
        action_log(c, EV_INFO, "tailing until you confirm cutover (Enter); then the tail catches up and ends");
    } else {
        action_log(c, EV_INFO, "tailing until the source stays unchanged for %s: stop the producers and consumers on the source to cut over", qd);
    }
    for (;;) {
        int64_t now = util_mono_ms();
        if (now >= next_discover) {
            for (int k = 0; k < ndb; k++) {
                int a = tail_discover(t, sdb[k], ddb[k], &c->copy->filter, err, errlen);
                if (a == -2) goto stopped;
                if (a < 0) goto out;
                if (a > 0 && next_discover) action_log(c, EV_INFO, "%d new stream(s) in db %d: tailing them too", a, sdb[k]);
            }
            if (!next_discover) action_log(c, EV_INFO, "%d stream(s) to tail", tail_count(t));
            next_discover = now + rediscover;
        }
        long ch = tail_round(t, err, errlen);
        if (ch == -2) goto stopped;
        if (ch < 0) goto out;
        now = util_mono_ms();
        if (ch > 0) quiet_since = 0;
        else if (!quiet_since) quiet_since = now;
        if (now >= next_log) {
            tail_report(c, t, 0);
            next_log = now + interval;
        }
        int asked = by_operator ? c->host.end_requested(c->host.ud) : 2;
        /* Confirmed live: settle for 1 s of nothing new. In advance (or no
         * operator): the source must stay unchanged for `quiet`. */
        int64_t settle = asked == 1 ? (quiet < 1000 ? quiet : 1000) : quiet;
        if (asked && quiet_since && now - quiet_since >= settle) break;
        if (ch == 0) util_sleep_ms(100);
    }
    tail_report(c, t, 1);
    if (by_operator)
        action_log(c, EV_INFO, "cutover confirmed and caught up: every tailed stream and group is equal on the target");
    else
        action_log(c, EV_INFO, "the source stayed unchanged for %s: every tailed stream and group is equal on the target", qd);
    rc = 0;
    goto out;
stopped:
    tail_report(c, t, 0);
    util_err(err, errlen, "the tail was interrupted before the source went quiet; run the step again to continue (it resumes where the target is)");
out:
    tail_free(t);
    conn_close(src);
    conn_close(dst);
    return rc;
}

const ActionDef action_tail = {
    .name = "tail",
    .summary = "Keep the streams in step until cutover",
    .params = tail_params,
    .default_gate = GATE_NONE,
    .check = tail_check,
    .needs = tail_needs,
    .run = tail_run,
};
