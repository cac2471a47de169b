/* action manual — something the operator does elsewhere (switch the
 * application's REDIS_URL, run REPLICAOF by hand…). The step shows its
 * instruction and waits at its gate; passing the gate is the operator
 * saying "done", so running the step only records that.
 *
 * needs = target:replicaof, source:config   names the commands the operator
 * will run, so that preflight probes them before the window. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "actions.h"
#include "util.h"

static const char *const manual_params[] = {"instruction", "needs", NULL};

/* Example arguments for ACL DRYRUN of commands an operator runs by hand. */
static const struct {
    const char *command;
    const char *args[PREFLIGHT_MAX_ARGS];
} manual_examples[] = {
    {"replicaof", {"replicaof", "no", "one", NULL}},
    {"slaveof", {"slaveof", "no", "one", NULL}},
    {"config", {"config", "get", "maxmemory", NULL}},
    {"config|get", {"config", "get", "maxmemory", NULL}},
    {"config|set", {"config", "set", "maxmemory", "0", NULL}},
    {"flushdb", {"flushdb", NULL}},
    {"flushall", {"flushall", NULL}},
    {"info", {"info", NULL}},
    {"failover", {"failover", NULL}},
    {"client|pause", {"client", "pause", "1", "write", NULL}},
    {"client|unpause", {"client", "unpause", NULL}},
};

/* Splits "target:replicaof, source:config" and calls fn for each entry.
 * Returns -1 (with the bad entry in bad) on a malformed one. Names are
 * interned in a static table so the plan may keep pointers to them. */
#define MANUAL_MAX_NAMES 64
static char manual_names[MANUAL_MAX_NAMES][32];
static int manual_nnames;
static pthread_mutex_t manual_names_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *manual_intern(const char *name) {
    pthread_mutex_lock(&manual_names_lock);
    const char *out = NULL;
    for (int i = 0; i < manual_nnames && !out; i++)
        if (!strcmp(manual_names[i], name)) out = manual_names[i];
    if (!out && manual_nnames < MANUAL_MAX_NAMES) {
        util_strlcpy(manual_names[manual_nnames], name, sizeof(manual_names[0]));
        out = manual_names[manual_nnames++];
    }
    pthread_mutex_unlock(&manual_names_lock);
    return out;
}

static int manual_each_need(const char *list, PreflightPlan *plan, char *bad, size_t badlen) {
    char buf[512];
    util_strlcpy(buf, list, sizeof(buf));
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ') tok[--n] = '\0';
        char *colon = strchr(tok, ':');
        int side = 0;
        if (colon && !strncmp(tok, "source", (size_t)(colon - tok)) && colon - tok == 6) side = PF_SOURCE;
        if (colon && !strncmp(tok, "target", (size_t)(colon - tok)) && colon - tok == 6) side = PF_TARGET;
        const char *cmd = colon ? colon + 1 : "";
        int ok = side && *cmd && strlen(cmd) < 32;
        for (const char *c = cmd; ok && *c; c++)
            ok = (*c >= 'a' && *c <= 'z') || *c == '|' || *c == '-' || (*c >= '0' && *c <= '9');
        if (!ok) {
            util_strlcpy(bad, tok, badlen);
            return -1;
        }
        if (!plan) continue;
        const char *const *args = NULL;
        for (size_t i = 0; i < sizeof(manual_examples) / sizeof(manual_examples[0]); i++)
            if (!strcmp(manual_examples[i].command, cmd)) args = manual_examples[i].args;
        const char *name = manual_intern(cmd);
        if (name) preflight_plan_need(plan, side, name, "manual", 0, NULL, args);
    }
    return 0;
}

static void manual_needs(const RunbookStep *st, PreflightPlan *p) {
    const char *v = runbook_param(st, "needs");
    char bad[64];
    if (v) manual_each_need(v, p, bad, sizeof(bad));
}

static int manual_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, "needs");
    char bad[64];
    if (p && manual_each_need(p->value, NULL, bad, sizeof(bad)) != 0) {
        *line = p->line;
        return util_err(err, errlen, "needs lists side:command pairs in lowercase, e.g. needs = target:replicaof, source:config (got \"%s\")", bad);
    }
    if (st->gate == GATE_NONE) {
        *line = st->gate_line ? st->gate_line : st->line;
        return util_err(err, errlen, "a manual step waits for the operator to say it is done: its gate must be confirm or type, not none");
    }
    return 0;
}

static int manual_run(ActionCtx *c, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    const char *ins = runbook_param(c->step, "instruction");
    action_log(c, EV_OPERATOR, "done by the operator: %s", ins ? ins : c->step->title);
    return 0;
}

const ActionDef action_manual = {
    .name = "manual",
    .summary = "A step the operator carries out",
    .params = manual_params,
    .default_gate = GATE_CONFIRM,
    .check = manual_check,
    .needs = manual_needs,
    .run = manual_run,
};
