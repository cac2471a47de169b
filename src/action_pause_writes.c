/* action pause-writes — CLIENT PAUSE <ms> WRITE on the source: clients'
 * writes wait (reads go on) so that the target can catch up before the
 * application switches. Always with a timeout: if ferry, the network or
 * the operator goes away, the server lifts the pause by itself. The runner
 * also lifts it (CLIENT UNPAUSE) when the run fails or is aborted. */
#include <stdio.h>

#include "actions.h"
#include "serverinfo.h"
#include "util.h"

#define PAUSE_DEFAULT_MS (2 * 60 * 1000)
#define PAUSE_MAX_MS (60 * 60 * 1000)

static const char *const pause_params[] = {"duration", NULL};

static int pause_duration(const RunbookStep *st, int64_t *ms) {
    const char *v = runbook_param(st, "duration");
    *ms = PAUSE_DEFAULT_MS;
    if (!v) return 0;
    return runbook_parse_duration(v, ms) != 0 || *ms <= 0 || *ms > PAUSE_MAX_MS ? -1 : 0;
}

static int pause_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    int64_t ms;
    if (pause_duration(st, &ms) != 0) {
        *line = runbook_param_entry(st, "duration")->line;
        return util_err(err, errlen, "duration (how long writes stay paused at most) takes a time from 1s to 1h with its unit, e.g. 90s (got \"%s\")",
                        runbook_param(st, "duration"));
    }
    return 0;
}

static void pause_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_need(p, PF_SOURCE, "client|pause", "pause-writes", 0, NULL,
                        (const char *const[]){"client", "pause", "1", "write", NULL});
}

static int pause_run(ActionCtx *c, char *err, size_t errlen) {
    int64_t ms;
    pause_duration(c->step, &ms);
    Conn *s = action_connect(c, 0, "pause", err, errlen);
    if (!s) return -1;
    ServerInfo si;
    if (serverinfo_fetch(s, &si, err, errlen) != 0) {
        conn_close(s);
        return -1;
    }
    char label[300];
    uri_format_redacted(&c->copy->source.uri, label, sizeof(label));
    if (si.major < 6 || (si.major == 6 && si.minor < 2)) {
        conn_close(s);
        return util_err(err, errlen, "source %s runs %s %s: CLIENT PAUSE … WRITE needs 6.2 or newer; stop the application's writers by hand (manual step) instead",
                        label, si.server_name, si.version);
    }
    int64_t until = util_now_ms() + ms;
    redisReply *r = conn_command(s, "CLIENT PAUSE %lld WRITE", (long long)ms);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        util_err(err, errlen, "source %s refused CLIENT PAUSE: %s; pause the writers another way (manual step)", label,
                 r ? r->str : conn_errstr(s));
        if (r) freeReplyObject(r);
        conn_close(s);
        return -1;
    }
    freeReplyObject(r);
    conn_close(s);
    if (c->host.paused_until) c->host.paused_until(c->host.ud, until);
    char d[16];
    util_fmt_duration(d, sizeof(d), ms);
    action_log(c, EV_OPERATOR, "writes paused on the source %s for at most %s (lifted by unpause, or by the server when the time is up)", label, d);
    action_figure(c, "pause_ms", ms);
    action_figure(c, "paused_until_ms", until);
    return 0;
}

const ActionDef action_pause_writes = {
    .name = "pause-writes",
    .summary = "Pause writes on the source",
    .params = pause_params,
    .default_gate = GATE_CONFIRM,
    .check = pause_check,
    .needs = pause_needs,
    .run = pause_run,
};
