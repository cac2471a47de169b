/* action prune — deletes from the target what does not belong there, as a
 * runbook step: the prune module (src/prune.h) on every target db of the
 * run's plan (or `db = N`), with one rule: `keep = GLOB…` (keys matching
 * none of the globs go) or `drop = GLOB…` (keys matching any go); globs are
 * separated by commas or blanks. `type = hash,string` narrows what may go.
 *
 * Destructive: the runbook refuses it without a `type` gate, unless
 * `dry-run = yes` (counts and sample names, nothing deleted). It never
 * runs on the runbook's source: the target's run_id is compared with the
 * source's before a key is read. Every name deleted is appended to the
 * deleted-log (`deleted-log = FILE`, default the step's report file next
 * to the journal), whose path the step's journal record holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "prune.h"
#include "util.h"

static const char *const prune_params[] = {"keep", "drop", "type", "dry-run", "db", "batch", "rate",
                                           "scan-count", "deleted-log", NULL};

static int prune_dry_run(const RunbookStep *st) {
    const char *v = runbook_param(st, "dry-run");
    return v && action_parse_bool(v) == 1;
}

static int prune_destructive(const RunbookStep *st, int on_conflict) {
    (void)on_conflict;
    return !prune_dry_run(st);
}

/* Adds the globs of "a:*, b:* c:*" to f; -1 with a message. */
static int prune_add_globs(Filter *f, const char *list, char *err, size_t errlen) {
    char *copy = strdup(list);
    if (!copy) return util_err(err, errlen, "out of memory");
    int rc = 0, n = 0;
    char *save = NULL;
    for (char *g = strtok_r(copy, ", \t", &save); g; g = strtok_r(NULL, ", \t", &save)) {
        if (filter_add_include(f, g, err, errlen) != 0) {
            rc = -1;
            break;
        }
        n++;
    }
    free(copy);
    if (rc == 0 && n == 0) return util_err(err, errlen, "no glob given");
    return rc;
}

static int prune_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *keep = runbook_param_entry(st, "keep");
    const RunbookParam *drop = runbook_param_entry(st, "drop");
    if (keep && drop) {
        *line = drop->line;
        return util_err(err, errlen, "keep and drop together: choose one rule, keep = GLOB… (everything else goes) or drop = GLOB… (what matches goes)");
    }
    if (!keep && !drop) {
        *line = st->line;
        return util_err(err, errlen, "prune needs a rule: keep = GLOB… (everything else goes) or drop = GLOB… (what matches goes)");
    }
    const RunbookParam *p = keep ? keep : drop;
    Filter f;
    filter_init(&f);
    int rc = prune_add_globs(&f, p->value, err, errlen);
    const RunbookParam *t = runbook_param_entry(st, "type");
    if (rc == 0 && t && filter_parse_types(&f, t->value, err, errlen) != 0) {
        p = t;
        rc = -1;
    }
    filter_free(&f);
    if (rc != 0) {
        *line = p->line;
        return -1;
    }
    const RunbookParam *d = runbook_param_entry(st, "dry-run");
    if (d && action_parse_bool(d->value) < 0) {
        *line = d->line;
        return util_err(err, errlen, "dry-run takes yes or no (got \"%s\")", d->value);
    }
    long v;
    if (action_param_int(st, "db", 0, 100000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "batch", 1, 100000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "rate", 0, 100000000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "scan-count", 1, 1000000, &v, line, err, errlen) != 0) return -1;
    return 0;
}

static void prune_needs(const RunbookStep *st, PreflightPlan *p) {
    preflight_plan_need(p, PF_TARGET, "scan", "prune", 0, NULL, (const char *const[]){"scan", "0", NULL});
    preflight_plan_need(p, PF_TARGET, "dbsize", "prune", 0, NULL, (const char *const[]){"dbsize", NULL});
    if (runbook_param(st, "type"))
        preflight_plan_need(p, PF_TARGET, "type", "prune", 0, NULL, (const char *const[]){"type", "k", NULL});
    if (!prune_dry_run(st))
        preflight_plan_need(p, PF_TARGET, "unlink", "prune", 0, NULL, (const char *const[]){"unlink", "k", NULL});
    /* The guard reads the source's run_id. */
    preflight_plan_need(p, PF_SOURCE, "info", "prune", 0, NULL, (const char *const[]){"info", "server", NULL});
}

typedef struct PruneStepCtx {
    ActionCtx *c;
    int64_t last_log_ms;
} PruneStepCtx;

static int prune_stopping_cb(void *ud) { return action_stopping(((PruneStepCtx *)ud)->c); }

static void prune_note_cb(void *ud, EventLevel level, const char *text) {
    action_log(((PruneStepCtx *)ud)->c, level, "%s", text);
}

static void prune_progress_cb(void *ud, const PruneProgress *p) {
    PruneStepCtx *v = ud;
    int64_t now = util_mono_ms();
    if (now - v->last_log_ms < 10000) return;
    v->last_log_ms = now;
    action_log(v->c, EV_INFO, "%.0f%% scanned: %llu keys met, %llu selected, %llu deleted, %.0f keys/s",
               p->progress * 100.0, (unsigned long long)p->scanned, (unsigned long long)p->selected,
               (unsigned long long)p->deleted, p->keys_per_s);
}

static int prune_step_run(ActionCtx *c, char *err, size_t errlen) {
    int dry = prune_dry_run(c->step), line;
    long v;
    PruneOptions o;
    prune_options_init(&o);
    o.target = c->copy->target;
    o.target.uri.db = -1;
    o.source = c->copy->source;
    o.source.uri.db = -1;
    o.has_source = 1;
    o.execute = !dry;
    const char *keep = runbook_param(c->step, "keep");
    o.rule = keep ? PRUNE_KEEP : PRUNE_DROP;
    if (prune_add_globs(&o.filter, keep ? keep : runbook_param(c->step, "drop"), err, errlen) != 0) goto fail;
    const char *types = runbook_param(c->step, "type");
    if (types && filter_parse_types(&o.filter, types, err, errlen) != 0) goto fail;
    if (runbook_param(c->step, "batch") && action_param_int(c->step, "batch", 1, 100000, &v, &line, err, errlen) == 0)
        o.batch = (int)v;
    if (runbook_param(c->step, "rate") && action_param_int(c->step, "rate", 0, 100000000, &v, &line, err, errlen) == 0)
        o.rate = (double)v;
    if (runbook_param(c->step, "scan-count") &&
        action_param_int(c->step, "scan-count", 1, 1000000, &v, &line, err, errlen) == 0)
        o.scan_count = (int)v;
    const char *dlog = runbook_param(c->step, "deleted-log");
    o.deleted_log = dlog ? dlog : c->report_path;
    PruneStepCtx pc = {c, util_mono_ms()};
    o.ud = &pc;
    o.stopping = prune_stopping_cb;
    o.progress = prune_progress_cb;
    o.note = prune_note_cb;

    /* Which target dbs: `db = N`, else every target db of the plan. */
    int dbs[DBMAP_MAX], ndb = 0;
    if (runbook_param(c->step, "db")) {
        action_param_int(c->step, "db", 0, 100000, &v, &line, err, errlen);
        dbs[ndb++] = (int)v;
    } else {
        int src_db[DBMAP_MAX], dst_db[DBMAP_MAX], n = 0;
        Conn *s = action_connect(c, 0, "prune-plan", err, errlen);
        if (!s) goto fail;
        int rc = action_db_plan(c, s, src_db, dst_db, &n, err, errlen);
        conn_close(s);
        if (rc != 0) goto fail;
        for (int i = 0; i < n; i++) {
            int dup = 0;
            for (int j = 0; j < ndb; j++) dup |= dbs[j] == dst_db[i];
            if (!dup) dbs[ndb++] = dst_db[i];
        }
        if (ndb == 0 && c->copy->target.uri.db >= 0) dbs[ndb++] = c->copy->target.uri.db;
        if (ndb == 0)
            action_log(c, EV_WARN, "nothing to prune: the plan has no target db (the source's dbs are empty); name one with db = N");
    }

    long long selected = 0, deleted = 0, scanned = 0, vanished = 0;
    char logpath[1024] = "";
    int rc = 0;
    for (int i = 0; i < ndb && rc == 0; i++) {
        PruneResult res;
        o.db = dbs[i];
        char perr[FERRY_ERR_LEN] = "";
        rc = prune_run(&o, &res, perr, sizeof(perr));
        scanned += (long long)res.scanned;
        selected += (long long)res.selected;
        deleted += (long long)res.deleted;
        vanished += (long long)res.vanished;
        if (res.deleted_log[0]) util_strlcpy(logpath, res.deleted_log, sizeof(logpath));
        char fig[48];
        snprintf(fig, sizeof(fig), "db%d_keys_%s", res.db, dry ? "would_delete" : "deleted");
        action_figure(c, fig, dry ? (long long)res.selected : (long long)res.deleted);
        if (rc != 0) {
            util_err(err, errlen, "%s", perr);
            break;
        }
        char by[600] = "";
        size_t off = 0;
        for (int k = 0; k < res.nprefix && off < sizeof(by); k++)
            off += (size_t)snprintf(by + off, sizeof(by) - off, "%s%s %llu", k ? ", " : "", res.top[k].name,
                                    (unsigned long long)res.top[k].n);
        if (dry)
            action_log(c, EV_INFO, "dry run, db %d: %llu of %llu keys would go%s%s%s", res.db,
                       (unsigned long long)res.selected, (unsigned long long)res.scanned, by[0] ? " (" : "", by,
                       by[0] ? ")" : "");
        else
            action_log(c, EV_OPERATOR, "db %d: %llu keys deleted of %llu (%lld left)%s%s", res.db,
                       (unsigned long long)res.deleted, (unsigned long long)res.scanned, (long long)res.dbsize_after,
                       by[0] ? "; by prefix: " : "", by);
        if (dry)
            for (int k = 0; k < res.nsamples && k < 5; k++) action_log(c, EV_INFO, "  would delete %s", res.samples[k]);
    }
    action_figure(c, "keys_scanned", scanned);
    action_figure(c, dry ? "keys_would_delete" : "keys_selected", selected);
    if (!dry) {
        action_figure(c, "keys_deleted", deleted);
        action_figure(c, "keys_vanished", vanished);
        if (logpath[0]) action_log(c, EV_OPERATOR, "deleted names: %s", logpath);
    }
    filter_free(&o.filter);
    return rc;
fail:
    filter_free(&o.filter);
    return -1;
}

const ActionDef action_prune = {
    .name = "prune",
    .summary = "Delete what does not belong on the target",
    .params = prune_params,
    .default_gate = GATE_NONE, /* no default: the runbook must say type (unless dry-run) */
    .destructive = prune_destructive,
    .check = prune_check,
    .needs = prune_needs,
    .run = prune_step_run,
};
