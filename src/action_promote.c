/* action promote — REPLICAOF NO ONE on the target: it stops following the
 * source and becomes a primary that takes writes. From then on the two
 * servers diverge, so the step is destructive (type gate).
 *
 * By default it first checks, the way wait-offset does (source sampled,
 * then target), that the target has every byte of the source's stream:
 * promoting a target that lags loses the writes it has not received.
 * require-caught-up = no skips that check (a source that is gone).
 * Promoting a target that is a primary already changes nothing (resume). */
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "repl.h"
#include "util.h"

#define PROMOTE_SETTLE_MS 2000

static const char *const promote_params[] = {"require-caught-up", NULL};

static int promote_destructive(const RunbookStep *st, int on_conflict) {
    (void)st;
    (void)on_conflict;
    return 1;
}

static int promote_require(const RunbookStep *st) {
    const char *v = runbook_param(st, "require-caught-up");
    return !v || action_parse_bool(v) != 0;
}

static int promote_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, "require-caught-up");
    if (p && action_parse_bool(p->value) < 0) {
        *line = p->line;
        return util_err(err, errlen, "require-caught-up takes yes or no (got \"%s\")", p->value);
    }
    return 0;
}

static void promote_needs(const RunbookStep *st, PreflightPlan *p) {
    preflight_plan_need(p, PF_TARGET, "replicaof", REPL_NEEDS_REPLICAOF_BY, 0, NULL,
                        (const char *const[]){"replicaof", "no", "one", NULL});
    preflight_plan_need(p, PF_TARGET, "info", "promote", 0, NULL, (const char *const[]){"info", NULL});
    if (promote_require(st))
        preflight_plan_need(p, PF_SOURCE, "info", "promote", 0, NULL, (const char *const[]){"info", NULL});
}

/* The source, then the target, into a view (the cutover condition). */
static int promote_sample(ActionCtx *c, Conn *s, Conn *t, ReplView *v, char *err, size_t errlen) {
    char *texts[2] = {NULL, NULL};
    Conn *conns[2] = {s, t};
    int64_t at[2] = {0, 0};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        redisReply *r = conn_command(conns[i], "INFO replication");
        at[i] = util_mono_ms();
        if (!r || r->type != REDIS_REPLY_STRING) {
            rc = util_err(err, errlen, "%s: INFO replication failed: %s", conn_label(conns[i]),
                          r && r->type == REDIS_REPLY_ERROR ? r->str : conn_errstr(conns[i]));
        } else if (!(texts[i] = strdup(r->str))) {
            rc = util_err(err, errlen, "out of memory");
        }
        if (r) freeReplyObject(r);
    }
    ReplState *st = rc == 0 ? malloc(sizeof(*st)) : NULL;
    if (rc == 0 && !st) rc = util_err(err, errlen, "out of memory");
    if (rc == 0) {
        const Uri *tu = &c->copy->target.uri;
        repl_state_init(st, tu->scheme == URI_UNIX ? "" : tu->host, tu->scheme == URI_UNIX ? 0 : tu->port, 1000);
        repl_state_record(st, 0, texts[0], NULL, at[0]);
        repl_state_record(st, 1, texts[1], NULL, at[1]);
        repl_state_tick(st, at[1]);
        repl_view_build(st, at[1], v);
    }
    free(st);
    free(texts[0]);
    free(texts[1]);
    return rc;
}

/* Samples until the target is caught up, for up to PROMOTE_SETTLE_MS: a
 * PING the source sends between its sample and the target's makes one
 * sample miss by a few bytes. 0 caught up, 1 not, -1 error. */
static int promote_caught_up(ActionCtx *c, Conn *t, ReplView *v, char *err, size_t errlen) {
    char e2[FERRY_ERR_LEN];
    Conn *s = action_connect(c, 0, "promote", e2, sizeof(e2));
    if (!s)
        return util_err(err, errlen, "%s; the offsets cannot be compared: if the source is gone for good, set require-caught-up = no to promote anyway",
                        e2);
    int rc = 1;
    for (int64_t end = util_mono_ms() + PROMOTE_SETTLE_MS; rc == 1;) {
        if (promote_sample(c, s, t, v, err, errlen) != 0) rc = -1;
        else if (v->caught_up) rc = 0;
        else if (util_mono_ms() >= end || action_stopping(c)) break;
        else util_sleep_ms(50);
    }
    conn_close(s);
    return rc;
}

static int promote_run(ActionCtx *c, char *err, size_t errlen) {
    char tlabel[300];
    uri_format_redacted(&c->copy->target.uri, tlabel, sizeof(tlabel));
    Conn *t = action_connect(c, 1, "promote", err, errlen);
    if (!t) return -1;
    ReplInfo ti;
    if (repl_fetch(t, &ti, err, errlen) != 0) {
        conn_close(t);
        return -1;
    }
    if (strcmp(ti.role, "slave")) {
        conn_close(t);
        action_log(c, EV_WARN, "target %s is a primary already: nothing to promote (promoted in an earlier attempt, or by hand)", tlabel);
        action_figure(c, "target_offset", ti.master_repl_offset);
        return 0;
    }
    ReplView *v = calloc(1, sizeof(*v));
    if (!v) {
        conn_close(t);
        return util_err(err, errlen, "out of memory");
    }
    int rc = -1;
    if (promote_require(c->step)) {
        int cu = promote_caught_up(c, t, v, err, errlen);
        if (cu < 0) goto out;
        if (cu > 0) {
            char line[1024];
            repl_view_format_line(v, line, sizeof(line));
            if (v->lag_bytes > 0)
                util_err(err, errlen, "target %s is %lld bytes behind the source (%s): promoting it now loses those writes; run wait-offset with writes paused first, or set require-caught-up = no if the source is gone",
                         tlabel, v->lag_bytes, line);
            else
                util_err(err, errlen, "target %s cannot be shown to have every write (%s): promoting it now may lose writes; run wait-offset with writes paused first, or set require-caught-up = no if the source is gone",
                         tlabel, line);
            goto out;
        }
    }
    redisReply *r = conn_command(t, "REPLICAOF NO ONE");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        util_err(err, errlen, "target %s refused REPLICAOF NO ONE (%s): it is still a read-only replica of the source; ask its owner to promote it (where a target refuses REPLICAOF, %s)",
                 tlabel, r ? r->str : conn_errstr(t), REPL_FOLLOW_HINT);
        if (r) freeReplyObject(r);
        goto out;
    }
    freeReplyObject(r);
    int64_t at = util_now_ms();
    ReplInfo after;
    if (repl_fetch(t, &after, err, errlen) != 0) goto out;
    if (strcmp(after.role, "master")) {
        util_err(err, errlen, "target %s still reports role:%s after REPLICAOF NO ONE: check it by hand (INFO replication)", tlabel, after.role);
        goto out;
    }
    action_log(c, EV_OPERATOR, "target %s promoted: a primary that takes writes now, with every write up to offset %lld; the source keeps its data (rollback: point the application back at it and unpause it)",
               tlabel, v->target_offset >= 0 ? v->target_offset : ti.slave_repl_offset);
    action_figure(c, "promoted_at_ms", at);
    action_figure(c, "target_offset", v->target_offset >= 0 ? v->target_offset : ti.slave_repl_offset);
    rc = 0;
out:
    free(v);
    conn_close(t);
    return rc;
}

const ActionDef action_promote = {
    .name = "promote",
    .summary = "Promote the target to a primary (REPLICAOF NO ONE)",
    .params = promote_params,
    .default_gate = GATE_TYPE,
    .destructive = promote_destructive,
    .check = promote_check,
    .needs = promote_needs,
    .run = promote_run,
};
