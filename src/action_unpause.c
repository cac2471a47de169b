/* action unpause — CLIENT UNPAUSE on the source: writes flow again. */
#include "actions.h"
#include "util.h"

static void unpause_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_need(p, PF_SOURCE, "client|unpause", "unpause", 0, NULL,
                        (const char *const[]){"client", "unpause", NULL});
}

static int unpause_run(ActionCtx *c, char *err, size_t errlen) {
    Conn *s = action_connect(c, 0, "unpause", err, errlen);
    if (!s) return -1;
    char label[300];
    uri_format_redacted(&c->copy->source.uri, label, sizeof(label));
    redisReply *r = conn_command(s, "CLIENT UNPAUSE");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        util_err(err, errlen, "source %s refused CLIENT UNPAUSE: %s; the pause ends by itself when its duration is up",
                 label, r ? r->str : conn_errstr(s));
        if (r) freeReplyObject(r);
        conn_close(s);
        return -1;
    }
    freeReplyObject(r);
    conn_close(s);
    if (c->host.paused_until) c->host.paused_until(c->host.ud, 0);
    action_log(c, EV_OPERATOR, "writes resumed on the source %s", label);
    return 0;
}

const ActionDef action_unpause = {
    .name = "unpause",
    .summary = "Resume writes on the source",
    .default_gate = GATE_NONE,
    .needs = unpause_needs,
    .run = unpause_run,
};
