/* action wait-sync — waits until the target, a replica of the source since
 * the replicate step, has finished its initial sync and keeps up: link up,
 * the offsets of one replication history, lag at most max-lag bytes (and,
 * when set, at most max-lag-time behind). Watches through a ReplMonitor
 * (repl.h) and reports the sync's progress every few seconds. A target that
 * is a primary, or follows another server, fails at once; a slow sync
 * waits until the step's timeout (or the operator's abort). A target that
 * has not got through to the source (the source does not list it as a
 * replica) for a minute fails with what to check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "repl.h"
#include "util.h"

#define WAIT_SYNC_DEFAULT_LAG (1LL << 20)
#define WAIT_SYNC_DEFAULT_POLL_MS 500
#define WAIT_SYNC_LOG_EVERY_MS 5000
/* A target that has not reached the source for this long will not by
 * itself: wrong credentials, no route, TLS. */
#define WAIT_SYNC_UNREACHED_MS 60000

static const char *const wait_sync_params[] = {"max-lag", "max-lag-time", "poll", NULL};

typedef struct WaitSyncParams {
    long long max_lag;      /* bytes */
    int64_t max_lag_ms;     /* 0 = not checked */
    int64_t poll_ms;
} WaitSyncParams;

/* 0, or -1 with the offending key in *bad. */
static int wait_sync_params_get(const RunbookStep *st, WaitSyncParams *p, const char **bad) {
    p->max_lag = WAIT_SYNC_DEFAULT_LAG;
    p->max_lag_ms = 0;
    p->poll_ms = WAIT_SYNC_DEFAULT_POLL_MS;
    const char *v;
    if ((v = runbook_param(st, "max-lag")) && repl_parse_bytes(v, &p->max_lag) != 0) {
        *bad = "max-lag";
        return -1;
    }
    if ((v = runbook_param(st, "max-lag-time")) && (runbook_parse_duration(v, &p->max_lag_ms) != 0 || p->max_lag_ms <= 0)) {
        *bad = "max-lag-time";
        return -1;
    }
    if ((v = runbook_param(st, "poll")) &&
        (runbook_parse_duration(v, &p->poll_ms) != 0 || p->poll_ms < 50 || p->poll_ms > 10000)) {
        *bad = "poll";
        return -1;
    }
    return 0;
}

static int wait_sync_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    WaitSyncParams p;
    const char *bad = NULL;
    if (wait_sync_params_get(st, &p, &bad) == 0) return 0;
    const RunbookParam *e = runbook_param_entry(st, bad);
    *line = e->line;
    if (!strcmp(bad, "max-lag"))
        return util_err(err, errlen, "max-lag takes a size in bytes, e.g. 1mb, 512kb, 100000 (got \"%s\")", e->value);
    if (!strcmp(bad, "max-lag-time"))
        return util_err(err, errlen, "max-lag-time takes a time with its unit, e.g. 2s, 500ms (got \"%s\")", e->value);
    return util_err(err, errlen, "poll takes a time from 50ms to 10s, e.g. 500ms (got \"%s\")", e->value);
}

static void wait_sync_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_need(p, PF_SOURCE, "info", "wait-sync", 0, NULL, (const char *const[]){"info", NULL});
    preflight_plan_need(p, PF_TARGET, "info", "wait-sync", 0, NULL, (const char *const[]){"info", NULL});
}

/* "350 ms" below 10 s (a cutover counts milliseconds), else "1m05s". */
static void fmt_wait(char *buf, size_t len, int64_t ms) {
    if (ms >= 0 && ms < 10000)
        snprintf(buf, len, "%d ms", (int)ms);
    else
        util_fmt_duration(buf, len, ms);
}

static int wait_sync_run(ActionCtx *c, char *err, size_t errlen) {
    WaitSyncParams p;
    const char *bad;
    wait_sync_params_get(c->step, &p, &bad);
    ReplWatch w;
    if (action_repl_watch_start(c, p.poll_ms, &w, err, errlen) != 0) return -1;
    const ReplState *st = w.st;
    const ReplView *v = w.v;
    const char *tlabel = w.tlabel;
    char lagtxt[16], line[1024];
    util_fmt_bytes(lagtxt, sizeof(lagtxt), (double)p.max_lag);
    action_log(c, EV_INFO, "waiting for target %s: initial sync done, link up, lag at most %s", tlabel, lagtxt);
    int64_t t0 = util_mono_ms(), last_log = t0, unreached_since = 0;
    int rc = -1;
    ReplLink last_link = REPL_LINK_UNKNOWN;
    for (;;) {
        if (action_stopping(c)) {
            if (w.seen) repl_view_format_line(v, line, sizeof(line));
            util_err(err, errlen, "target %s was not in sync yet: %s", tlabel, w.seen ? line : "no sample of both servers yet");
            break;
        }
        int got = action_repl_watch_next(c, &w, err, errlen);
        if (got < 0) break;
        if (!got) continue;
        int64_t now = w.now;
        /* Not through to the source: the source lists neither the target
         * nor any replica in the middle of a sync (the target may be
         * listed under another address, behind NAT). */
        int syncing_elsewhere = 0;
        for (int i = 0; i < st->source.info.nreplicas; i++)
            syncing_elsewhere |= strcmp(st->source.info.replicas[i].state, "online") != 0;
        int unreached = v->status != RATE_STALE && !v->replica_found && !syncing_elsewhere &&
                        (v->link == REPL_LINK_CONNECTING || v->link == REPL_LINK_DOWN);
        if (!unreached)
            unreached_since = 0;
        else if (!unreached_since)
            unreached_since = now;
        else if (now - unreached_since >= WAIT_SYNC_UNREACHED_MS) {
            char d[32];
            fmt_wait(d, sizeof(d), now - unreached_since);
            util_err(err, errlen, "target %s has not got through to the source for %s (it follows %s:%d; the source does not list it as a replica): check that it reaches that address (master-host), the credentials it was given (masterauth/masteruser: the source's log says \"AUTH\" failures) and TLS (tls-replication)",
                     tlabel, d, v->master_host, v->master_port);
            break;
        }
        int ok = v->status != RATE_STALE && v->link == REPL_LINK_UP && v->same_history && v->lag_bytes >= 0 &&
                 v->lag_bytes <= p.max_lag &&
                 (!p.max_lag_ms || (v->lag_seconds >= 0 && v->lag_seconds * 1000.0 <= (double)p.max_lag_ms));
        if (ok) {
            repl_view_format_line(v, line, sizeof(line));
            char d[32];
            fmt_wait(d, sizeof(d), now - t0);
            action_log(c, EV_INFO, "target in sync after %s: %s", d, line);
            action_figure(c, "source_offset", v->source_offset);
            action_figure(c, "target_offset", v->target_offset);
            action_figure(c, "lag_bytes", v->lag_bytes);
            action_figure(c, "waited_ms", now - t0);
            rc = 0;
            break;
        }
        if (v->link != last_link || now - last_log >= WAIT_SYNC_LOG_EVERY_MS) {
            repl_view_format_line(v, line, sizeof(line));
            action_log(c, EV_INFO, "%s", line);
            last_log = now;
            last_link = v->link;
        }
    }
    action_repl_watch_stop(c, &w);
    return rc;
}

const ActionDef action_wait_sync = {
    .name = "wait-sync",
    .summary = "Wait until the target has synced and keeps up",
    .params = wait_sync_params,
    .default_gate = GATE_NONE,
    .check = wait_sync_check,
    .needs = wait_sync_needs,
    .run = wait_sync_run,
};
