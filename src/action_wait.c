/* action wait — lets time pass (clients reconnect, a TTL runs out, a
 * replica catches up), in short slices so an abort is immediate. */
#include "actions.h"
#include "util.h"

static const char *const wait_params[] = {"duration", NULL};

static int wait_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, "duration");
    int64_t ms;
    if (!p) return util_err(err, errlen, "a wait step needs duration = (e.g. duration = 30s)");
    if (runbook_parse_duration(p->value, &ms) != 0 || ms <= 0) {
        *line = p->line;
        return util_err(err, errlen, "duration takes a time with its unit, e.g. 30s, 5m (got \"%s\")", p->value);
    }
    if (st->timeout_ms && st->timeout_ms <= ms) {
        *line = p->line;
        return util_err(err, errlen, "duration is not shorter than the step's timeout: the step could never succeed");
    }
    return 0;
}

static int wait_run(ActionCtx *c, char *err, size_t errlen) {
    int64_t ms = 0;
    runbook_parse_duration(runbook_param(c->step, "duration"), &ms);
    int64_t end = util_mono_ms() + ms;
    char d[16];
    util_fmt_duration(d, sizeof(d), ms);
    action_log(c, EV_INFO, "waiting %s", d);
    while (util_mono_ms() < end) {
        if (action_stopping(c)) return util_err(err, errlen, "the wait was interrupted");
        int64_t left = end - util_mono_ms();
        util_sleep_ms(left < 100 ? left : 100);
    }
    action_figure(c, "waited_ms", ms);
    return 0;
}

const ActionDef action_wait = {
    .name = "wait",
    .summary = "Wait",
    .params = wait_params,
    .default_gate = GATE_NONE,
    .check = wait_check,
    .run = wait_run,
};
