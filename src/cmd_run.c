/* cmd_run — `ferry run RUNBOOK`: reads the runbook, fills its servers and
 * options from the command line, runs it and prints what happens.
 *
 * Headless (--no-tui, or no terminal): a gate passes only when named in
 * advance (--confirm ID, or --confirm-all for `confirm` gates); a gate that
 * is not ends the run ("blocked") with the exact command to continue.
 * On a terminal: the console, with the runbook panel (gates passed with the
 * keyboard: Enter, the typed phrase, s to skip, a to abort); after it, the
 * same summary as headless. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "cli.h"
#include "cmd.h"
#include "console.h"
#include "progress.h"
#include "runbook.h"
#include "runner.h"
#include "util.h"

static const char run_usage[] =
    "usage: ferry run RUNBOOK [--source URI] [--target URI] [options]\n"
    "\n"
    "Runs the steps of a runbook (see runbooks/ and the README's Runbooks section)\n"
    "in order, each after its gate passes, journaling every step and confirmation.\n"
    "\n"
    "servers and shared options (override the runbook's)\n"
    "  --source URI, --target URI   fill a template's servers, or replace the file's\n"
    "  --db-map SRC:DST[,…]  --match GLOB  --exclude GLOB  --type T,…  --on-conflict fail|skip|replace\n"
    "  --workers N  --batch N  --scan-count N  --rate KEYS_PER_S\n"
    "  passwords: FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD, or --source-password-file F / --target-password-file F\n"
    "  TLS and timeouts as in ferry copy (--tls-ca F, --target-tls-insecure, --connect-timeout MS, …)\n"
    "gates\n"
    "  --confirm STEP_ID     pass this step's gate in advance (repeatable); the only way to pass\n"
    "                        a `type` gate without a terminal\n"
    "  --confirm-all         pass every `confirm` gate in advance (never a `type` gate)\n"
    "journal and resume\n"
    "  --journal PATH        default ./ferry-journal-RUNID.jsonl\n"
    "  --resume JOURNAL      continue that run at its first unfinished step (a copy from its checkpoint)\n"
    "other\n"
    "  --accept-eviction     an evicting target maxmemory-policy is a warning, not a failure, in preflight\n"
    "  --check               parse the runbook, fill it in, print the plan; run nothing\n"
    "  --no-tui              headless, even on a terminal\n"
    "  --theme NAME|PATH     console colours (themes/); --ascii: no Unicode glyphs\n"
    "  --groups-budget N     consumer groups sampled on both sides, at most N commands/s each\n"
    "                        (default 20 in the console; headless only when given; 0: off)\n"
    "exit codes: 0 every step done or skipped, 1 a step failed, the run was aborted or a gate was\n"
    "not confirmed, 2 usage or runbook error, 3 done but a step failed with on-failure = continue\n";

#define MAX_CONFIRM 64

typedef struct RunCli {
    const char *file;
    RunSettings settings;
    CopyOptions copy;            /* TLS and timeouts; servers come from the settings */
    const char *journal, *resume;
    const char *confirm[MAX_CONFIRM];
    int nconfirm;
    int confirm_all, accept_eviction, no_tui, check, help, ascii;
    long groups_budget;          /* -1 = not given */
    const char *theme;
    int password_on_cmdline;
} RunCli;

static int run_tls(CopyOptions *o, const char *name, const char *val) {
    static const char *const opts[] = {"tls-ca", "tls-ca-dir", "tls-cert", "tls-key", "tls-sni"};
    TlsOptions *sides[2] = {&o->source.tls, &o->target.tls};
    int from = 0, to = 2;
    if (!strncmp(name, "source-", 7)) {
        to = 1;
        name += 7;
    } else if (!strncmp(name, "target-", 7)) {
        from = 1;
        name += 7;
    }
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (strcmp(name, opts[i])) continue;
        for (int s = from; s < to; s++) {
            const char **f = i == 0 ? &sides[s]->ca_file : i == 1 ? &sides[s]->ca_dir
                           : i == 2 ? &sides[s]->cert_file : i == 3 ? &sides[s]->key_file : &sides[s]->sni;
            *f = val;
        }
        return 1;
    }
    return 0;
}

static int run_int(const char *opt, const char *v, long lo, long hi, long *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return util_err(err, errlen, "%s takes a whole number from %ld to %ld (got \"%s\")", opt, lo, hi, v);
    *out = n;
    return 0;
}

static int run_parse(RunCli *c, int argc, char **argv, char *err, size_t errlen) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = 1;
            return 0;
        }
        if (strncmp(a, "--", 2)) {
            if (c->file) return util_err(err, errlen, "unexpected argument \"%s\": one runbook per run (see ferry run --help)", a);
            c->file = a;
            continue;
        }
        const char *name = a + 2;
        if (!strcmp(name, "confirm-all")) { c->confirm_all = 1; continue; }
        if (!strcmp(name, "accept-eviction")) { c->accept_eviction = 1; continue; }
        if (!strcmp(name, "no-tui")) { c->no_tui = 1; continue; }
        if (!strcmp(name, "check")) { c->check = 1; continue; }
        if (!strcmp(name, "ascii")) { c->ascii = 1; continue; }
        if (!strcmp(name, "tls-insecure")) { c->copy.source.tls.insecure = c->copy.target.tls.insecure = 1; continue; }
        if (!strcmp(name, "source-tls-insecure")) { c->copy.source.tls.insecure = 1; continue; }
        if (!strcmp(name, "target-tls-insecure")) { c->copy.target.tls.insecure = 1; continue; }
        if (i + 1 >= argc) return util_err(err, errlen, "%s needs a value (see ferry run --help)", a);
        const char *v = argv[i + 1];
        char e2[FERRY_ERR_LEN];
        long n;
        if (!strcmp(name, "journal")) c->journal = v;
        else if (!strcmp(name, "theme")) c->theme = v;
        else if (!strcmp(name, "groups-budget")) {
            if (run_int(a, v, 0, 10000, &n, err, errlen)) return -1;
            c->groups_budget = n;
        }
        else if (!strcmp(name, "resume")) c->resume = v;
        else if (!strcmp(name, "confirm")) {
            if (c->nconfirm >= MAX_CONFIRM) return util_err(err, errlen, "too many --confirm (at most %d)", MAX_CONFIRM);
            c->confirm[c->nconfirm++] = v;
        } else if (run_tls(&c->copy, name, v)) {
        } else if (!strcmp(name, "connect-timeout")) {
            if (run_int(a, v, 1, 600000, &n, err, errlen)) return -1;
            c->copy.source.connect_timeout_ms = c->copy.target.connect_timeout_ms = (int)n;
        } else if (!strcmp(name, "timeout")) {
            if (run_int(a, v, 1, 3600000, &n, err, errlen)) return -1;
            c->copy.source.io_timeout_ms = c->copy.target.io_timeout_ms = (int)n;
        } else {
            int rc = run_settings_set(&c->settings, name, v, 0, e2, sizeof(e2));
            if (rc < 0) return util_err(err, errlen, "--%s", e2);
            if (rc == 0) return util_err(err, errlen, "unknown option %s (see ferry run --help)", a);
            if ((!strcmp(name, "source") || !strcmp(name, "target")) &&
                (!strcmp(name, "source") ? c->settings.source.has_password : c->settings.target.has_password))
                c->password_on_cmdline = 1;
        }
        i++;
    }
    if (!c->file) return util_err(err, errlen, "missing the runbook file: ferry run RUNBOOK (templates are in runbooks/)");
    return 0;
}

/* The plan as the run will see it; servers left open are said to be. */
static void print_plan(const Runbook *rb, const RunSettings *eff, const CopyOptions *o) {
    char sl[300], tl[300], map[256], tshort[200];
    if (eff->has_source) uri_format_redacted(&o->source.uri, sl, sizeof(sl));
    else snprintf(sl, sizeof(sl), "(left open: --source URI fills it)");
    if (eff->has_target) {
        uri_format_redacted(&o->target.uri, tl, sizeof(tl));
        runbook_default_phrase(&o->target.uri, &o->dbmap, tshort, sizeof(tshort));
    } else {
        snprintf(tl, sizeof(tl), "(left open: --target URI fills it)");
        snprintf(tshort, sizeof(tshort), "the target's host:port/db");
    }
    printf("runbook %s%s%s\n", rb->name, rb->title[0] ? ": " : "", rb->title);
    printf("  source %s\n  target %s\n", sl, tl);
    if (o->dbmap.n) {
        dbmap_format(&o->dbmap, map, sizeof(map));
        printf("  db map %s\n", map);
    }
    printf("  on-conflict %s%s, %d workers%s\n", conflict_policy_name(o->on_conflict),
           o->on_conflict_explicit ? "" : " (default)", o->workers, o->rate > 0 ? ", rate-limited" : "");
    for (int i = 0; i < rb->nsteps; i++) {
        const RunbookStep *st = &rb->steps[i];
        char gate[260];
        if (st->gate == GATE_TYPE)
            snprintf(gate, sizeof(gate), "type \"%s\"", st->phrase[0] ? st->phrase : tshort);
        else
            snprintf(gate, sizeof(gate), "%s", runbook_gate_name(st->gate));
        printf("  %2d. %-18s %-14s gate %-24s %s%s\n", i + 1, st->id, st->action->name, gate, st->title,
               st->timeout_ms ? " (with a timeout)" : "");
    }
}

static void print_events(const RunnerSnapshot *s, uint64_t *seen) {
    for (int i = 0; i < s->nlog; i++) {
        const RunnerEvent *ev = &s->log[i];
        if (ev->seq <= *seen) continue;
        *seen = ev->seq;
        const char *lvl = ev->level == EV_INFO ? "" : ev->level == EV_OPERATOR ? "operator: " : ev->level == EV_WARN ? "warn: " : "error: ";
        int idx = -1;
        for (int k = 0; k < s->nsteps && ev->step[0]; k++)
            if (!strcmp(s->steps[k].id, ev->step)) idx = k;
        if (idx >= 0)
            printf("[%d/%d] %s: %s%s\n", idx + 1, s->nsteps, ev->step, lvl, ev->text);
        else
            printf("%s%s\n", lvl, ev->text);
    }
}

/* "groups source: 3 streams (3 sampled, oldest 4s), 5 groups, pending 1204,
 * lag 40; top orders:billing 1204" for each side that has streams. */
static void print_groups(Runner *r) {
    for (int side = 0; side < 2; side++) {
        GroupsSnapshot g;
        if (runner_groups(r, side, &g) != 0) continue;
        if (g.streams_known > 0) {
            size_t top[1];
            GroupsTotals t;
            long n = groups_top(&g, GROUPS_BY_PENDING, NULL, 0, top, 1, &t);
            char age[16] = "-";
            if (g.oldest_sample_ms) util_fmt_duration(age, sizeof(age), g.taken_ms - g.oldest_sample_ms);
            printf("groups %s: %zu%s streams (%zu sampled, oldest %s), %zu groups, pending %lld, lag %lld%s",
                   side ? "target" : "source", g.streams_known, g.capped ? "+" : "", g.streams_sampled, age,
                   t.groups, t.pending, t.lag, t.lag_unknown ? " (some unknown)" : "");
            if (n > 0) printf("; top %s:%s pending %lld", g.rows[top[0]].key, g.rows[top[0]].group, g.rows[top[0]].pending);
            printf("\n");
        }
        groups_snapshot_free(&g);
    }
}

static void print_engine_events(const EngineSnapshot *e, uint64_t *seen) {
    for (int i = 0; i < e->nlog; i++) {
        const Event *ev = &e->log[i];
        if (ev->seq <= *seen) continue;
        *seen = ev->seq;
        if (ev->level == EV_WARN || ev->level == EV_ERROR)
            printf("copy engine %s: %s\n", eventlog_level_name(ev->level), ev->text);
    }
}

static void print_summary(const RunnerSnapshot *s) {
    printf("\n%s: run %s %s\n", s->title, s->run_id, runner_state_name(s->state));
    for (int i = 0; i < s->nsteps; i++) {
        const RunnerStepView *v = &s->steps[i];
        char d[16] = "";
        if (v->duration_ms >= 0) util_fmt_duration(d, sizeof(d), v->duration_ms);
        printf("  %2d. %-18s %-8s %6s  %s\n", i + 1, v->id, step_state_name(v->state), d, v->message);
    }
    printf("journal: %s\n", s->journal);
}

/* Headless: the run's lines until it ends; a gate nobody passed in advance
 * ends it (BLOCKED), with the command to continue. */
static int run_loop(Runner *r) {
    RunnerSnapshot *s = malloc(sizeof(*s));
    if (!s) return 1;
    uint64_t seen = 0, eseen = 0;
    int last_engine_step = -1, abort_sent = 0;
    int64_t last_progress = 0, last_repl = 0, last_follow = util_mono_ms(), last_groups = util_mono_ms();
    runner_snapshot(r, s);
    printf("run %s%s: %s → %s\njournal: %s (continue after a crash with --resume %s)\n", s->run_id,
           s->attempt > 1 ? " (resumed)" : "", s->source, s->target, s->journal, s->journal);
    for (int i = 0; i < s->nsteps; i++)
        if (s->steps[i].from_journal) printf("[%d/%d] %s: %s\n", i + 1, s->nsteps, s->steps[i].id, s->steps[i].message);
    for (;;) {
        int fin = runner_wait(r, 200);
        if (cmd_signals && !abort_sent) {
            printf("  stopping: the current step finishes what it is doing, then the run ends (resume later with --resume)\n");
            runner_abort(r);
            abort_sent = 1;
        }
        runner_snapshot(r, s);
        print_events(s, &seen);
        if (s->engine_step >= 0) {
            if (s->engine_step != last_engine_step) {
                last_engine_step = s->engine_step;
                eseen = 0;
            }
            print_engine_events(&s->engine, &eseen);
            if (s->engine_live && util_mono_ms() - last_progress >= 1000) {
                char line[1024];
                progress_line(&s->engine, line, sizeof(line));
                printf("[%d/%d] %s: %s\n", s->engine_step + 1, s->nsteps, s->steps[s->engine_step].id, line);
                last_progress = util_mono_ms();
            }
        }
        /* consumer groups, when sampled and there are streams: every 5 s */
        if (util_mono_ms() - last_groups >= 5000) {
            print_groups(r);
            last_groups = util_mono_ms();
        }
        /* a follow step's background follower: its line every 5 s */
        if (s->follow_live && s->follow_step >= 0 && util_mono_ms() - last_follow >= 5000) {
            char line[512];
            progress_follow_line(&s->follow, line, sizeof(line));
            printf("[%d/%d] %s: %s\n", s->follow_step + 1, s->nsteps, s->steps[s->follow_step].id, line);
            last_follow = util_mono_ms();
        }
        /* a replication step: its figures once a second */
        if (s->repl_step >= 0 && s->repl_live && util_mono_ms() - last_repl >= 1000) {
            char line[1024];
            repl_view_format_line(&s->repl, line, sizeof(line));
            printf("[%d/%d] %s: %s\n", s->repl_step + 1, s->nsteps, s->steps[s->repl_step].id, line); /* "repl: link up · …" */
            last_repl = util_mono_ms();
        }
        fflush(stdout);
        if (fin) break;
    }
    runner_snapshot(r, s);
    print_events(s, &seen);
    print_summary(s);
    fflush(stdout);
    int rc = runner_exit_code(s);
    if (s->state != RUNNER_DONE) fprintf(stderr, "ferry: %s\n", s->reason[0] ? s->reason : runner_state_name(s->state));
    free(s);
    return rc;
}

/* The console over the run until the operator quits (a quit while the run
 * is in progress aborts it first); then the summary, as headless. */
static int run_console(Runner *r, const RunCli *c, RunnerState *final) {
    RunnerSnapshot *s = malloc(sizeof(*s));
    if (!s) return 1;
    runner_snapshot(r, s);
    char title[800], err[FERRY_ERR_LEN];
    snprintf(title, sizeof(title), "%s → %s", s->source, s->target); /* the runbook's title is on its panel */
    ConsoleBackend b;
    console_backend_for_runner(&b, r);
    ConsoleOptions co;
    console_options_init(&co);
    co.theme = c->theme;
    co.ascii = c->ascii ? 1 : -1;
    co.title = title;
    int crc = console_run(&b, &co, err, sizeof(err));
    /* Left without a final state (terminal lost, second Ctrl-C): stop the run. */
    if (!runner_wait(r, 0)) {
        runner_abort(r);
        runner_wait(r, -1);
    }
    runner_snapshot(r, s);
    if (crc != 0) fprintf(stderr, "ferry: %s\n", err);
    print_summary(s);
    fflush(stdout);
    int rc = crc != 0 ? 1 : runner_exit_code(s);
    if (s->state != RUNNER_DONE && s->reason[0]) fprintf(stderr, "ferry: %s\n", s->reason);
    if (final) *final = s->state;
    free(s);
    return rc;
}

int cmd_run(int argc, char **argv) {
    return cmd_run_ex(argc, argv, NULL);
}

int cmd_run_ex(int argc, char **argv, RunnerState *final) {
    RunCli c;
    char err[FERRY_ERR_LEN];
    memset(&c, 0, sizeof(c));
    c.groups_budget = -1;
    run_settings_init(&c.settings);
    copy_options_init(&c.copy);
    int rc = 2;
    Runbook *rb = NULL;
    RunSettings eff;
    run_settings_init(&eff);
    if (run_parse(&c, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry run: %s\n", err);
        goto out;
    }
    if (c.help) {
        fputs(run_usage, stdout);
        rc = 0;
        goto out;
    }
    if (c.password_on_cmdline) {
        cli_scrub_argv(argc, argv);
        fprintf(stderr, "ferry: warning: a password in a URI is visible to other users of this machine (ps); "
                        "use FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD or --source-password-file instead\n");
    }
    if (!(rb = runbook_load(c.file, err, sizeof(err)))) {
        fprintf(stderr, "ferry run: %s\n", err);
        goto out;
    }
    if (run_settings_merge(&eff, &rb->settings, &c.settings, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry run: %s\n", err);
        goto out;
    }
    if (c.check && (!eff.has_source || !eff.has_target)) {
        /* Checking a template: fill the open servers with placeholders. */
        if (!eff.has_source) uri_parse("redis://source.invalid:6379", &eff.source, err, sizeof(err));
        if (!eff.has_target) uri_parse("redis://target.invalid:6379", &eff.target, err, sizeof(err));
        RunSettings shown = eff;
        eff.has_source = eff.has_target = 1;
        if (run_settings_to_copy(&eff, &c.copy, err, sizeof(err)) != 0) {
            fprintf(stderr, "ferry run: %s\n", err);
            goto out;
        }
        print_plan(rb, &shown, &c.copy);
        rc = 0;
        goto out;
    }
    if (run_settings_to_copy(&eff, &c.copy, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry run: %s\n", err);
        goto out;
    }
    if (runbook_check_gates(rb, c.copy.on_conflict, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry run: %s\n", err);
        goto out;
    }
    if (c.check) {
        print_plan(rb, &eff, &c.copy);
        rc = 0;
        goto out;
    }
    int interactive = !c.no_tui && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    RunnerOptions ro;
    memset(&ro, 0, sizeof(ro));
    ro.rb = rb;
    ro.copy = &c.copy;
    ro.journal_path = c.journal;
    ro.resume_path = c.resume;
    ro.confirm = c.confirm;
    ro.nconfirm = c.nconfirm;
    ro.confirm_all = c.confirm_all;
    ro.headless = !interactive;
    ro.accept_eviction = c.accept_eviction;
    ro.groups_budget = c.groups_budget >= 0 ? (int)c.groups_budget : interactive ? 20 : 0;
    Runner *r = runner_create(&ro, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "ferry run: %s\n", err);
        rc = 1;
        goto out;
    }
    if (runner_start(r, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry run: %s\n", err);
        rc = 1;
    } else if (interactive) {
        rc = run_console(r, &c, final);
    } else {
        rc = run_loop(r);
        if (final) *final = runner_state(r);
    }
    runner_free(r);
out:
    run_settings_free(&eff);
    run_settings_free(&c.settings);
    copy_options_free(&c.copy);
    runbook_free(rb);
    return rc;
}
