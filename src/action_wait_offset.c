/* action wait-offset — the cutover condition: waits until the target has
 * processed every byte of the source's replication stream, i.e. until its
 * replicated offset reaches the source's master_repl_offset. Run it with
 * writes paused on the source (pause-writes): then "caught up" means every
 * write the source ever acknowledged is on the target.
 *
 * PINGs: while writes are paused the source's offset still grows, by the
 * PINGs a primary sends its replicas (repl-ping-replica-period). So this
 * never waits for the source's offset to stand still, and never compares
 * offsets read at unrelated moments: each tick samples the source, then
 * the target, and the condition is "target offset (read after) >= source
 * offset (read before)", of one replication history, link up (see
 * repl.h). The target's acknowledgement in the source's own INFO
 * (slaveN:…offset=) is reported beside it as a cross-check.
 *
 * Polls every 100 ms by default (every millisecond of a pause is felt by
 * the application). Without a step timeout it gives up after 60 s.
 *
 * `follower = yes`: the target is fed by ferry's own PSYNC follower (the
 * follow action, or ferry follow), not by REPLICAOF; the condition is then
 * the source's INFO listing the follower with an acknowledged offset equal
 * to master_repl_offset (action_follow.c: action_follow_wait). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "repl.h"
#include "util.h"

#define WAIT_OFFSET_DEFAULT_POLL_MS 100
#define WAIT_OFFSET_DEFAULT_TIMEOUT_MS 60000
#define WAIT_OFFSET_LOG_EVERY_MS 2000

static const char *const wait_offset_params[] = {"poll", "follower", NULL};

/* action_follow.c: the same condition against ferry's own follower. */
int action_follow_wait(ActionCtx *c, int64_t poll_ms, int64_t limit_ms, int port, char *err, size_t errlen);

static int wait_offset_poll(const RunbookStep *st, int64_t *ms) {
    const char *v = runbook_param(st, "poll");
    *ms = WAIT_OFFSET_DEFAULT_POLL_MS;
    if (!v) return 0;
    return runbook_parse_duration(v, ms) != 0 || *ms < 20 || *ms > 5000 ? -1 : 0;
}

static int wait_offset_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    int64_t ms;
    const RunbookParam *fp = runbook_param_entry(st, "follower");
    if (fp && action_parse_bool(fp->value) < 0) {
        *line = fp->line;
        return util_err(err, errlen, "follower takes yes or no (got \"%s\")", fp->value);
    }
    if (wait_offset_poll(st, &ms) == 0) return 0;
    const RunbookParam *p = runbook_param_entry(st, "poll");
    *line = p->line;
    return util_err(err, errlen, "poll takes a time from 20ms to 5s, e.g. 100ms (got \"%s\")", p->value);
}

static void wait_offset_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_need(p, PF_SOURCE, "info", "wait-offset", 0, NULL, (const char *const[]){"info", NULL});
    preflight_plan_need(p, PF_TARGET, "info", "wait-offset", 0, NULL, (const char *const[]){"info", NULL});
}

/* 1 if a pause-writes step comes before this one in the runbook. */
static int paused_before(const ActionCtx *c) {
    for (int i = 0; i < c->rb->nsteps && &c->rb->steps[i] != c->step; i++)
        if (c->rb->steps[i].action && !strcmp(c->rb->steps[i].action->name, "pause-writes")) return 1;
    return 0;
}

/* "350 ms" below 10 s (a cutover counts milliseconds), else "1m05s". */
static void fmt_wait(char *buf, size_t len, int64_t ms) {
    if (ms >= 0 && ms < 10000)
        snprintf(buf, len, "%d ms", (int)ms);
    else
        util_fmt_duration(buf, len, ms);
}

static int wait_offset_run(ActionCtx *c, char *err, size_t errlen) {
    int64_t poll_ms;
    wait_offset_poll(c->step, &poll_ms);
    int64_t limit = c->step->timeout_ms ? 0 : WAIT_OFFSET_DEFAULT_TIMEOUT_MS; /* the runner enforces a step timeout */
    const char *fv = runbook_param(c->step, "follower");
    if (fv && action_parse_bool(fv) == 1) {
        if (!paused_before(c))
            action_log(c, EV_WARN, "no pause-writes step comes before this one: the offsets can be equal for a moment while new writes keep coming; cut over only with writes paused");
        return action_follow_wait(c, poll_ms, limit, 0, err, errlen);
    }
    if (!paused_before(c))
        action_log(c, EV_WARN, "no pause-writes step comes before this one: the offsets can be equal for a moment while new writes keep coming; cut over only with writes paused");
    ReplWatch w;
    if (action_repl_watch_start(c, poll_ms, &w, err, errlen) != 0) return -1;
    const ReplView *v = w.v;
    char line[1024];
    int64_t t0 = util_mono_ms(), last_log = t0;
    int rc = -1;
    for (;;) {
        int64_t now = util_mono_ms();
        if (action_stopping(c) || (limit && now - t0 > limit)) {
            if (w.seen) repl_view_format_line(v, line, sizeof(line));
            char d[32];
            fmt_wait(d, sizeof(d), now - t0);
            util_err(err, errlen, "target %s had not caught up with the source after %s: %s%s", w.tlabel, d,
                     w.seen ? line : "no sample of both servers yet",
                     limit && now - t0 > limit ? "; give this step a longer timeout (timeout = 2m) to wait longer, or roll back: unpause the source (the application never left it)" : "");
            break;
        }
        int got = action_repl_watch_next(c, &w, err, errlen);
        if (got < 0) break;
        if (!got) continue;
        now = w.now;
        if (v->caught_up) {
            char d[32];
            fmt_wait(d, sizeof(d), now - t0);
            action_log(c, EV_OPERATOR, "target caught up after %s: it has processed offset %lld, the source's master_repl_offset was %lld when sampled just before%s",
                       d, v->target_offset, v->source_offset,
                       v->acked_equal ? " (and the source lists the same offset as acknowledged by the target)"
                       : v->replica_found ? "; the target's acknowledgement to the source follows within a second"
                                          : "");
            action_figure(c, "source_offset", v->source_offset);
            action_figure(c, "target_offset", v->target_offset);
            action_figure(c, "waited_ms", now - t0);
            rc = 0;
            break;
        }
        if (now - last_log >= WAIT_OFFSET_LOG_EVERY_MS) {
            repl_view_format_line(v, line, sizeof(line));
            action_log(c, EV_INFO, "%s", line);
            last_log = now;
        }
    }
    action_repl_watch_stop(c, &w);
    return rc;
}

const ActionDef action_wait_offset = {
    .name = "wait-offset",
    .summary = "Wait until the target has every write (offsets equal)",
    .params = wait_offset_params,
    .default_gate = GATE_NONE,
    .check = wait_offset_check,
    .needs = wait_offset_needs,
    .run = wait_offset_run,
};
