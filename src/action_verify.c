/* action verify — the key-by-key proof of a copy as a runbook step: the
 * verify module (src/verify.h) on the run's servers, db plan and filters,
 * every key or a uniform sample (`sample = N` keys per db and side), in
 * both directions. The step fails when any key is missing, extra,
 * different or drifting; the mismatches are listed in the report file
 * (`report = FILE`, default the step's report next to the journal), and
 * the tallies are the step's figures. Reads only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "util.h"
#include "verify.h"

static const char *const verify_params[] = {"sample", "seed", "ttl-tolerance", "budget", "report", NULL};

static int verify_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    long v;
    if (action_param_int(st, "sample", 1, 100000000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "seed", 1, 2147483647, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "ttl-tolerance", 0, 86400000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "budget", 0, 100000000, &v, line, err, errlen) != 0) return -1;
    return 0;
}

static void verify_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    for (int side = PF_SOURCE; side <= PF_TARGET; side++) {
        preflight_plan_need(p, side, "scan", "verify", 0, NULL, (const char *const[]){"scan", "0", NULL});
        preflight_plan_need(p, side, "dbsize", "verify", 0, NULL, (const char *const[]){"dbsize", NULL});
        preflight_plan_need(p, side, "type", "verify", 0, NULL, (const char *const[]){"type", "k", NULL});
        preflight_plan_need(p, side, "dump", "verify", 0, NULL, (const char *const[]){"dump", "k", NULL});
        preflight_plan_need(p, side, "pexpiretime", "verify", 1, "PTTL, with a 1000 ms tolerance",
                            (const char *const[]){"pexpiretime", "k", NULL});
        /* Big keys and differing payloads are read by type, in chunks. */
        preflight_plan_need(p, side, "hscan", "verify", 1, "DUMP comparison only",
                            (const char *const[]){"hscan", "k", "0", NULL});
        preflight_plan_need(p, side, "xinfo", "verify", 1, "DUMP comparison only",
                            (const char *const[]){"xinfo", "stream", "k", NULL});
    }
    preflight_plan_need(p, PF_SOURCE, "exists", "verify", 0, NULL, (const char *const[]){"exists", "k", NULL});
}

typedef struct VerifyStepCtx {
    ActionCtx *c;
    int64_t last_log_ms;
} VerifyStepCtx;

static int verify_stopping_cb(void *ud) { return action_stopping(((VerifyStepCtx *)ud)->c); }

static void verify_note_cb(void *ud, EventLevel level, const char *text) {
    action_log(((VerifyStepCtx *)ud)->c, level, "%s", text);
}

/* A line every 10 s: the runner's log is the operator's only view of it. */
static void verify_progress_cb(void *ud, const VerifyProgress *p) {
    VerifyStepCtx *v = ud;
    int64_t now = util_mono_ms();
    if (v->last_log_ms && now - v->last_log_ms < 10000) return;
    v->last_log_ms = now;
    action_log(v->c, EV_INFO, "%s, db %d → %d (%d of %d): %.0f%%, %llu source and %llu target keys checked, %.0f keys/s",
               p->phase, p->src_db, p->dst_db, p->db_index + 1, p->ndb, p->db_progress * 100.0,
               (unsigned long long)p->src_checked, (unsigned long long)p->dst_checked, p->keys_per_s);
}

static int verify_step_run(ActionCtx *c, char *err, size_t errlen) {
    long sample = 0, seed = 0, tol = -1, budget = 0;
    int line;
    action_param_int(c->step, "sample", 1, 100000000, &sample, &line, err, errlen);
    action_param_int(c->step, "seed", 1, 2147483647, &seed, &line, err, errlen);
    action_param_int(c->step, "ttl-tolerance", 0, 86400000, &tol, &line, err, errlen);
    int has_budget = runbook_param(c->step, "budget") != NULL;
    if (has_budget) action_param_int(c->step, "budget", 0, 100000000, &budget, &line, err, errlen);

    /* The same (source db → target db) pairs the copy used. */
    int src_db[DBMAP_MAX], dst_db[DBMAP_MAX], n = 0;
    Conn *s = action_connect(c, 0, "verify-plan", err, errlen);
    if (!s) return -1;
    int rc = action_db_plan(c, s, src_db, dst_db, &n, err, errlen);
    conn_close(s);
    if (rc != 0) return -1;
    if (n == 0) {
        action_log(c, EV_INFO, "nothing to verify: the source has no key in the planned dbs");
        action_figure(c, "matching", 0);
        return 0;
    }

    VerifyOptions o;
    verify_options_init(&o);
    o.source = c->copy->source;
    o.target = c->copy->target;
    o.source.uri.db = -1;
    o.target.uri.db = -1;
    dbmap_init(&o.dbmap);
    for (int i = 0; i < n; i++)
        if (dbmap_add(&o.dbmap, src_db[i], dst_db[i], err, errlen) != 0) return -1;
    o.filter = c->copy->filter; /* borrowed: verify only reads it */
    o.sample = sample;
    o.seed = (uint64_t)seed;
    o.ttl_tolerance_ms = tol;
    if (has_budget) o.budget = (double)budget;
    const char *report = runbook_param(c->step, "report");
    o.report_path = report ? report : c->report_path;
    VerifyStepCtx v = {c, util_mono_ms()};
    o.ud = &v;
    o.stopping = verify_stopping_cb;
    o.progress = verify_progress_cb;
    o.note = verify_note_cb;

    VerifyResult *res = calloc(1, sizeof(*res));
    if (!res) return util_err(err, errlen, "out of memory");
    char verr[FERRY_ERR_LEN] = "";
    rc = verify_run(&o, res, verr, sizeof(verr));
    action_figure(c, "matching", (long long)res->counts[VK_MATCHING]);
    action_figure(c, "missing", (long long)res->counts[VK_MISSING]);
    action_figure(c, "extra", (long long)res->counts[VK_EXTRA]);
    action_figure(c, "different", (long long)res->counts[VK_DIFFERENT]);
    action_figure(c, "ttl_drift", (long long)res->counts[VK_TTL_DRIFT]);
    action_figure(c, "expired_while_checked", (long long)res->counts[VK_GONE]);
    action_figure(c, "source_keys_checked", (long long)res->src_checked);
    action_figure(c, "target_keys_checked", (long long)res->dst_checked);
    action_figure(c, "source_commands", (long long)res->src_commands);
    action_figure(c, "elapsed_ms", (long long)res->elapsed_ms);
    if (o.report_path)
        action_log(c, EV_INFO, "verify report: %s (%llu mismatch lines)", o.report_path,
                   (unsigned long long)res->report_lines);
    if (rc != 0) {
        util_err(err, errlen, "verification could not finish: %s", verr);
    } else if (!verify_clean(res)) {
        char eg[200] = "";
        for (int k = VK_MISSING; k <= VK_TTL_DRIFT && !eg[0]; k++)
            if (res->nsamples[k]) snprintf(eg, sizeof(eg), ", e.g. %s %s", verify_kind_name((VerifyKind)k), res->samples[k][0]);
        util_err(err, errlen, "the target differs from the source: %llu missing, %llu extra, %llu different, %llu ttl-drift%s; %s%s",
                 (unsigned long long)res->counts[VK_MISSING], (unsigned long long)res->counts[VK_EXTRA],
                 (unsigned long long)res->counts[VK_DIFFERENT], (unsigned long long)res->counts[VK_TTL_DRIFT], eg,
                 o.report_path ? "every key is listed in " : "rerun ferry verify with --report to list them",
                 o.report_path ? o.report_path : "");
        rc = -1;
    } else {
        action_log(c, EV_INFO, "%s: %llu keys match%s (%llu expired while checked)",
                   sample ? "sample verified" : "verified key by key", (unsigned long long)res->counts[VK_MATCHING],
                   sample ? "" : ", none missing, extra, different or drifting", (unsigned long long)res->counts[VK_GONE]);
    }
    free(res);
    return rc;
}

const ActionDef action_verify = {
    .name = "verify",
    .summary = "Verify the copy key by key",
    .params = verify_params,
    .default_gate = GATE_NONE,
    .destructive = NULL,
    .check = verify_check,
    .needs = verify_needs,
    .run = verify_step_run,
};
