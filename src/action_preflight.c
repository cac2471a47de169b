/* action preflight — the preflight checks (preflight.h) as the first step
 * of a window: the commands every later step needs, memory, eviction,
 * versions, cluster and same-server guards. Every line of the table goes
 * to the operator and into the journal; any fail fails the step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "util.h"

static const char *const preflight_params[] = {"accept-eviction", "margin", NULL};

static int preflight_margin(const RunbookStep *st, double *margin) {
    const char *v = runbook_param(st, "margin");
    *margin = 0.2;
    if (!v) return 0;
    char *end;
    double m = strtod(v, &end);
    if (end == v || (*end && strcmp(end, "%")) || m < 0 || m > 500) return -1;
    *margin = m / 100.0;
    return 0;
}

static int preflight_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, "accept-eviction");
    if (p && action_parse_bool(p->value) < 0) {
        *line = p->line;
        return util_err(err, errlen, "accept-eviction takes yes or no (got \"%s\")", p->value);
    }
    double m;
    if (preflight_margin(st, &m) != 0) {
        *line = runbook_param_entry(st, "margin")->line;
        return util_err(err, errlen, "margin takes a percentage from 0%% to 500%%, e.g. 20%% (got \"%s\")",
                        runbook_param(st, "margin"));
    }
    return 0;
}

static EventLevel preflight_event_level(PreflightLevel l) {
    return l == PF_FAIL ? EV_ERROR : l == PF_WARN ? EV_WARN : EV_INFO;
}

static int preflight_action_run(ActionCtx *c, char *err, size_t errlen) {
    PreflightPlan plan;
    actions_plan(c->rb, &plan);
    PreflightOptions o;
    preflight_options_init(&o, c->copy);
    const char *ae = runbook_param(c->step, "accept-eviction");
    o.accept_eviction = c->accept_eviction || (ae && action_parse_bool(ae) == 1);
    preflight_margin(c->step, &o.margin);
    PreflightReport rep;
    if (preflight_run(&o, &plan, &rep, err, errlen) != 0) return -1;
    const PreflightLine *first_fail = NULL;
    for (int i = 0; i < rep.n; i++) {
        const PreflightLine *l = &rep.lines[i];
        action_log(c, preflight_event_level(l->level), "%s %s: %s%s%s", preflight_level_name(l->level), l->check,
                   l->reason, l->fix[0] ? " — fix: " : "", l->fix);
        if (l->level == PF_FAIL && !first_fail) first_fail = l;
    }
    action_figure(c, "pass", rep.npass);
    action_figure(c, "warn", rep.nwarn);
    action_figure(c, "fail", rep.nfail);
    int rc = 0;
    if (first_fail) {
        util_err(err, errlen, "preflight: %d check%s failed; first: %s: %s%s%s", rep.nfail, rep.nfail == 1 ? "" : "s",
                 first_fail->check, first_fail->reason, first_fail->fix[0] ? " — fix: " : "", first_fail->fix);
        rc = -1;
    } else {
        action_log(c, EV_INFO, "preflight passed: %d pass, %d warn", rep.npass, rep.nwarn);
    }
    preflight_report_free(&rep);
    return rc;
}

const ActionDef action_preflight = {
    .name = "preflight",
    .summary = "Check both servers and the plan",
    .params = preflight_params,
    .default_gate = GATE_NONE,
    .check = preflight_check,
    .run = preflight_action_run,
};
