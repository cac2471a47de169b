/* action copy — the copy engine as a runbook step: parallel SCAN → DUMP →
 * RESTORE with the runbook's db map and filters. The runner shows the
 * engine's snapshot while it runs and journals its checkpoints; a resumed
 * step starts from the last one (keys copied after it are met again and
 * counted as identical, never as conflicts).
 *
 * The step succeeds when the engine is done and no key failed; keys
 * skipped under on-conflict skip are counted, not failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "util.h"

static const char *const copy_params[] = {"workers", "rate", "batch", "scan-count", "on-conflict", "report", NULL};

static int copy_policy(const RunbookStep *st, int fallback) {
    const char *v = runbook_param(st, "on-conflict");
    if (!v) return fallback;
    if (!strcmp(v, "fail")) return CONFLICT_FAIL;
    if (!strcmp(v, "skip")) return CONFLICT_SKIP;
    if (!strcmp(v, "replace")) return CONFLICT_REPLACE;
    return -1;
}

/* Overwriting keys that differ on the target destroys the target's data. */
static int copy_destructive(const RunbookStep *st, int on_conflict) {
    return copy_policy(st, on_conflict) == CONFLICT_REPLACE;
}

static int copy_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    long v;
    if (action_param_int(st, "workers", 1, ENGINE_MAX_WORKERS, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "rate", 0, 100000000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "batch", 1, 100000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "scan-count", 1, 1000000, &v, line, err, errlen) != 0) return -1;
    const RunbookParam *p = runbook_param_entry(st, "on-conflict");
    if (p && copy_policy(st, CONFLICT_FAIL) < 0) {
        *line = p->line;
        return util_err(err, errlen, "on-conflict takes fail, skip or replace (got \"%s\")", p->value);
    }
    return 0;
}

static void copy_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_copy(p);
}

static void copy_on_checkpoint(void *ud, const CopyCheckpoint *cp) {
    ActionCtx *c = ud;
    if (c->host.checkpoint) c->host.checkpoint(c->host.ud, cp);
}

static int copy_run(ActionCtx *c, char *err, size_t errlen) {
    CopyOptions o = *c->copy; /* shallow: engine_create copies the filter's patterns */
    long v;
    int line;
    if (action_param_int(c->step, "workers", 1, ENGINE_MAX_WORKERS, &v, &line, err, errlen) == 0 &&
        runbook_param(c->step, "workers"))
        o.workers = (int)v;
    if (runbook_param(c->step, "rate") &&
        action_param_int(c->step, "rate", 0, 100000000, &v, &line, err, errlen) == 0)
        o.rate = (double)v;
    if (runbook_param(c->step, "batch") &&
        action_param_int(c->step, "batch", 1, 100000, &v, &line, err, errlen) == 0)
        o.batch = (int)v;
    if (runbook_param(c->step, "scan-count") &&
        action_param_int(c->step, "scan-count", 1, 1000000, &v, &line, err, errlen) == 0)
        o.scan_count = (int)v;
    if (runbook_param(c->step, "on-conflict")) {
        o.on_conflict = (ConflictPolicy)copy_policy(c->step, CONFLICT_FAIL);
        o.on_conflict_explicit = 1;
    }
    const char *report = runbook_param(c->step, "report");
    o.report_path = report ? report : c->report_path;
    if (c->resuming) {
        /* The target holds what an earlier attempt copied: those keys are
         * recognised as identical, so the "target not empty" guard (which
         * protects against a wrong target) was already passed back then. */
        o.on_conflict_explicit = 1;
    }
    if (c->checkpoint) {
        o.resume_from = c->checkpoint;
        action_log(c, EV_INFO, "resuming the copy at db %d → %d, SCAN cursor %llu (%llu keys copied before)",
                   c->checkpoint->src_db, c->checkpoint->dst_db, (unsigned long long)c->checkpoint->cursor,
                   (unsigned long long)c->checkpoint->copied);
    } else if (c->resuming) {
        action_log(c, EV_INFO, "resuming the copy from the start (no checkpoint journaled): keys already there count as identical");
    }
    o.on_checkpoint = copy_on_checkpoint;
    o.checkpoint_ud = c;

    Engine *e = engine_create(&o, err, errlen);
    if (!e) return -1;
    if (engine_start(e, err, errlen) != 0) {
        engine_free(e);
        return -1;
    }
    if (c->host.set_engine) c->host.set_engine(c->host.ud, e);
    int stop_sent = 0;
    while (!engine_wait(e, 250)) {
        if (!stop_sent && action_stopping(c)) {
            engine_request_stop(e);
            stop_sent = 1;
        }
    }
    EngineSnapshot *s = malloc(sizeof(*s));
    if (s) engine_snapshot(e, s);
    if (c->host.set_engine) c->host.set_engine(c->host.ud, NULL);
    engine_free(e);
    if (!s) return util_err(err, errlen, "out of memory");
    /* A report with nothing in it is clutter next to the journal. */
    if (!report && o.report_path && !s->stats.failed && !s->stats.skipped) unlink(o.report_path);

    const StatsSnapshot *t = &s->stats;
    action_figure(c, "keys_copied", (long long)t->copied);
    action_figure(c, "keys_identical", (long long)t->identical);
    action_figure(c, "keys_skipped", (long long)t->skipped);
    action_figure(c, "keys_expired", (long long)t->expired);
    action_figure(c, "keys_failed", (long long)t->failed);
    action_figure(c, "keys_filtered", (long long)t->filtered);
    action_figure(c, "bytes", (long long)t->bytes);
    action_figure(c, "elapsed_ms", (long long)t->elapsed_ms);
    int rc = 0;
    if (s->state != ENGINE_DONE) {
        util_err(err, errlen, "copy %s: %s", engine_state_name(s->state),
                 s->reason[0] ? s->reason : "no reason given");
        rc = -1;
    } else if (t->failed) {
        char eg[200] = "";
        for (int r = 0; r < FAIL__COUNT && !eg[0]; r++)
            if (t->failed_by[r]) snprintf(eg, sizeof(eg), "%s, e.g. %s", stats_fail_name((FailReason)r), s->fail_samples[r][0]);
        util_err(err, errlen, "%llu keys were not copied (%s)%s%s", (unsigned long long)t->failed, eg,
                 o.report_path ? "; every one is listed in " : "", o.report_path ? o.report_path : "");
        rc = -1;
    } else {
        char by[16];
        util_fmt_bytes(by, sizeof(by), (double)t->bytes);
        action_log(c, EV_INFO, "copied %llu keys (%s); %llu already identical, %llu skipped, %llu expired during the copy",
                   (unsigned long long)t->copied, by, (unsigned long long)t->identical,
                   (unsigned long long)t->skipped, (unsigned long long)t->expired);
    }
    free(s);
    return rc;
}

const ActionDef action_copy = {
    .name = "copy",
    .summary = "Copy the keyspace",
    .params = copy_params,
    .default_gate = GATE_NONE,
    .destructive = copy_destructive,
    .check = copy_check,
    .needs = copy_needs,
    .run = copy_run,
};
