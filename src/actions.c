/* actions — the table of runbook actions and the helpers action files
 * share. To add an action: write src/action_<name>.c defining
 * `const ActionDef action_<name>`, and add one line to the table below. */
#include "actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serverinfo.h"
#include "util.h"

extern const ActionDef action_preflight;
extern const ActionDef action_copy;
extern const ActionDef action_verify_counts;
extern const ActionDef action_flush_target;
extern const ActionDef action_pause_writes;
extern const ActionDef action_unpause;
extern const ActionDef action_wait;
extern const ActionDef action_manual;
extern const ActionDef action_replicate;
extern const ActionDef action_wait_sync;
extern const ActionDef action_wait_offset;
extern const ActionDef action_promote;
extern const ActionDef action_tail;
extern const ActionDef action_drain;
extern const ActionDef action_verify;
extern const ActionDef action_prune;
extern const ActionDef action_follow;

static const ActionDef *const action_table[] = {
    &action_preflight,
    &action_copy,
    &action_verify_counts,
    &action_flush_target,
    &action_pause_writes,
    &action_unpause,
    &action_wait,
    &action_manual,
    &action_replicate,
    &action_wait_sync,
    &action_wait_offset,
    &action_promote,
    &action_tail,
    &action_drain,
    &action_verify,
    &action_prune,
    &action_follow,
};

#define NACTIONS (sizeof(action_table) / sizeof(action_table[0]))

const ActionDef *actions_find(const char *name) {
    for (size_t i = 0; i < NACTIONS; i++)
        if (!strcmp(action_table[i]->name, name)) return action_table[i];
    return NULL;
}

void actions_list(char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NACTIONS && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", action_table[i]->name);
}

void actions_plan(const Runbook *rb, PreflightPlan *plan) {
    preflight_plan_init(plan);
    for (int i = 0; i < rb->nsteps; i++) {
        const RunbookStep *st = &rb->steps[i];
        if (st->action && st->action->needs) st->action->needs(st, plan);
    }
}

/* ---------------------------------------------------------------- helpers */

int action_stopping(ActionCtx *c) { return c->host.stopping ? c->host.stopping(c->host.ud) : 0; }

void action_log(ActionCtx *c, EventLevel level, const char *fmt, ...) {
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (c->host.log) c->host.log(c->host.ud, level, text);
}

void action_figure(ActionCtx *c, const char *name, long long value) {
    if (c->host.figure) c->host.figure(c->host.ud, name, value);
}

Conn *action_connect(ActionCtx *c, int target, const char *name, char *err, size_t errlen) {
    ConnConfig cfg = target ? c->copy->target : c->copy->source;
    cfg.uri.db = -1; /* the caller selects: a cluster node refuses SELECT n */
    snprintf(cfg.client_name, sizeof(cfg.client_name), "ferry-%s", name);
    return conn_open(&cfg, err, errlen);
}

int action_db_plan(ActionCtx *c, Conn *src, int *src_db, int *dst_db, int *n, char *err, size_t errlen) {
    ServerInfo si;
    if (serverinfo_fetch(src, &si, err, errlen) != 0) return -1;
    return engine_db_plan(c->copy, &si, src_db, dst_db, DBMAP_MAX, n, err, errlen);
}

int action_param_int(const RunbookStep *st, const char *key, long lo, long hi, long *out, int *line,
                     char *err, size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, key);
    if (!p) return 0;
    char *end;
    errno = 0;
    long n = strtol(p->value, &end, 10);
    if (errno || end == p->value || *end || n < lo || n > hi) {
        *line = p->line;
        return util_err(err, errlen, "%s takes a whole number from %ld to %ld (got \"%s\")", key, lo, hi, p->value);
    }
    *out = n;
    return 0;
}

int action_parse_bool(const char *v) {
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on")) return 1;
    if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off")) return 0;
    return -1;
}

int action_repl_watch_start(ActionCtx *c, int64_t poll_ms, ReplWatch *w, char *err, size_t errlen) {
    memset(w, 0, sizeof(*w));
    uri_format_redacted(&c->copy->target.uri, w->tlabel, sizeof(w->tlabel));
    ReplMonitorOptions mo = {&c->copy->source, &c->copy->target, (int)poll_ms};
    w->m = repl_monitor_start(&mo, err, errlen);
    if (!w->m) return -1;
    w->st = malloc(sizeof(*w->st));
    w->v = malloc(sizeof(*w->v));
    if (!w->st || !w->v) {
        free(w->st);
        free(w->v);
        repl_monitor_stop(w->m);
        return util_err(err, errlen, "out of memory");
    }
    if (c->host.set_repl) c->host.set_repl(c->host.ud, w->m); /* the console's panel */
    return 0;
}

int action_repl_watch_next(ActionCtx *c, ReplWatch *w, char *err, size_t errlen) {
    w->seq = repl_monitor_wait(w->m, w->seq, 200);
    if (!w->seq) return 0;
    repl_monitor_state(w->m, w->st);
    w->now = util_mono_ms();
    repl_view_build(w->st, w->now, w->v);
    w->seen = 1;
    const ReplView *v = w->v;
    char errs[sizeof(w->last_err)];
    snprintf(errs, sizeof(errs), "%s%s%s", v->source_error, v->source_error[0] && v->target_error[0] ? "; " : "",
             v->target_error);
    if (strcmp(errs, w->last_err)) {
        if (errs[0]) action_log(c, EV_WARN, "sampling: %s (retrying)", errs);
        util_strlcpy(w->last_err, errs, sizeof(w->last_err));
    }
    char msg[FERRY_ERR_LEN];
    if (repl_view_blocked(v, w->tlabel, msg, sizeof(msg))) {
        util_strlcpy(err, msg, errlen);
        return -1;
    }
    return 1;
}

void action_repl_watch_stop(ActionCtx *c, ReplWatch *w) {
    if (c->host.set_repl) c->host.set_repl(c->host.ud, NULL);
    repl_monitor_stop(w->m);
    free(w->st);
    free(w->v);
}
