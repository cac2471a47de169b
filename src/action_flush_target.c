/* action flush-target — empties every target db of the plan (FLUSHDB), e.g.
 * to clear a rehearsal's leftovers before the real copy. Destructive: the
 * runbook refuses it without a `type` gate, and the operator types the
 * target's name before it runs. */
#include <stdio.h>

#include "actions.h"
#include "util.h"

static const char *const flush_params[] = {"async", NULL};

static int flush_destructive(const RunbookStep *st, int on_conflict) {
    (void)st;
    (void)on_conflict;
    return 1;
}

static int flush_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, "async");
    if (p && action_parse_bool(p->value) < 0) {
        *line = p->line;
        return util_err(err, errlen, "async takes yes or no (got \"%s\")", p->value);
    }
    return 0;
}

static void flush_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    preflight_plan_need(p, PF_TARGET, "flushdb", "flush-target", 0, NULL, (const char *const[]){"flushdb", NULL});
    p->flushes_target = 1;
}

static int flush_run(ActionCtx *c, char *err, size_t errlen) {
    const char *av = runbook_param(c->step, "async");
    int async = av && action_parse_bool(av) == 1;
    int src_db[DBMAP_MAX], dst_db[DBMAP_MAX], n = 0;
    Conn *s = action_connect(c, 0, "flush-plan", err, errlen);
    if (!s) return -1;
    int rc = action_db_plan(c, s, src_db, dst_db, &n, err, errlen);
    conn_close(s);
    if (rc != 0) return -1;
    Conn *t = action_connect(c, 1, "flush", err, errlen);
    if (!t) return -1;
    char label[300];
    uri_format_redacted(&c->copy->target.uri, label, sizeof(label));
    long long total = 0;
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++) dup |= dst_db[j] == dst_db[i];
        if (dup) continue;
        if (action_stopping(c)) {
            conn_close(t);
            return util_err(err, errlen, "stopped before flushing target db %d", dst_db[i]);
        }
        if (conn_select(t, dst_db[i]) != 0) {
            util_err(err, errlen, "%s", conn_errstr(t));
            conn_close(t);
            return -1;
        }
        redisReply *r = conn_command(t, "DBSIZE");
        long long keys = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        if (r) freeReplyObject(r);
        r = conn_command(t, async ? "FLUSHDB ASYNC" : "FLUSHDB");
        if (!r || r->type == REDIS_REPLY_ERROR) {
            util_err(err, errlen, "target %s refused FLUSHDB on db %d: %s; empty it another way (the provider's console) and skip this step",
                     label, dst_db[i], r ? r->str : conn_errstr(t));
            if (r) freeReplyObject(r);
            conn_close(t);
            return -1;
        }
        freeReplyObject(r);
        if (keys > 0) total += keys;
        action_log(c, EV_OPERATOR, "flushed target %s db %d (%lld keys deleted%s)", label, dst_db[i], keys,
                   async ? ", freed in the background" : "");
        char fig[32];
        snprintf(fig, sizeof(fig), "db%d_keys_deleted", dst_db[i]);
        action_figure(c, fig, keys);
    }
    conn_close(t);
    action_figure(c, "keys_deleted", total);
    return 0;
}

const ActionDef action_flush_target = {
    .name = "flush-target",
    .summary = "Empty the target dbs",
    .params = flush_params,
    .default_gate = GATE_NONE, /* no default: the runbook must say type */
    .destructive = flush_destructive,
    .check = flush_check,
    .needs = flush_needs,
    .run = flush_run,
};
