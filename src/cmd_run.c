/* cmd_run — `ferry run RUNBOOK`: reads the runbook, fills its servers and
 * options from the command line, runs it and prints what happens.
 *
 * Headless (--no-tui, or no terminal): a gate passes only when named in
 * advance (--confirm ID, or --confirm-all for `confirm` gates); a gate that
 * is not ends the run ("blocked") with the exact command to continue.
 * On a terminal: until the console's runbook panel lands, the same lines
 * are printed and each gate is asked on stdin (Enter / the typed phrase,
 * "skip REASON", "abort"). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "cli.h"
#include "cmd.h"
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
    int confirm_all, accept_eviction, no_tui, check, help;
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
        if (!strcmp(name, "tls-insecure")) { c->copy.source.tls.insecure = c->copy.target.tls.insecure = 1; continue; }
        if (!strcmp(name, "source-tls-insecure")) { c->copy.source.tls.insecure = 1; continue; }
        if (!strcmp(name, "target-tls-insecure")) { c->copy.target.tls.insecure = 1; continue; }
        if (i + 1 >= argc) return util_err(err, errlen, "%s needs a value (see ferry run --help)", a);
        const char *v = argv[i + 1];
        char e2[FERRY_ERR_LEN];
        long n;
        if (!strcmp(name, "journal")) c->journal = v;
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

static void print_engine_events(const EngineSnapshot *e, uint64_t *seen) {
    for (int i = 0; i < e->nlog; i++) {
        const Event *ev = &e->log[i];
        if (ev->seq <= *seen) continue;
        *seen = ev->seq;
        if (ev->level == EV_WARN || ev->level == EV_ERROR)
            printf("copy engine %s: %s\n", eventlog_level_name(ev->level), ev->text);
    }
}

/* Reads one line from stdin, waiting in short slices so that signals are
 * seen. 1 with a line, 0 on EOF, -1 when interrupted. */
static int read_line(char *buf, size_t len) {
    size_t n = 0;
    for (;;) {
        if (cmd_signals) return -1;
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int rc = poll(&p, 1, 200);
        if (rc < 0 && errno != EINTR) return 0;
        if (rc <= 0) continue;
        char ch;
        ssize_t k = read(STDIN_FILENO, &ch, 1);
        if (k <= 0) return 0;
        if (ch == '\n') break;
        if (n + 1 < len) buf[n++] = ch;
    }
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
    return 1;
}

/* One answer to a waiting gate on the terminal. Returns 1 when the answer
 * was taken (the step will move on: do not ask again). */
static int ask_gate(Runner *r, const RunnerSnapshot *s) {
    const RunnerStepView *v = &s->steps[s->current];
    printf("\n>>> %s\n", s->prompt);
    if (v->gate == GATE_TYPE)
        printf(">>> type %s (or: skip REASON, abort): ", v->phrase);
    else
        printf(">>> press Enter to confirm (or: skip REASON, abort): ");
    fflush(stdout);
    char line[512], err[FERRY_ERR_LEN];
    int rc = read_line(line, sizeof(line));
    if (rc == 0) { /* end of input: nobody is there to confirm */
        printf("\n");
        runner_abort(r);
        return 1;
    }
    if (rc < 0) return 1; /* a signal: the loop aborts */
    if (!strcmp(line, "abort")) {
        runner_abort(r);
        return 1;
    }
    if (!strncmp(line, "skip", 4) && (line[4] == ' ' || !line[4])) {
        const char *why = line + 4;
        while (*why == ' ') why++;
        if (runner_skip(r, v->id, why, err, sizeof(err)) != 0) {
            printf("  %s\n", err);
            return 0;
        }
        return 1;
    }
    if (v->gate == GATE_CONFIRM && line[0] && strcmp(line, "y") && strcmp(line, "yes")) {
        printf("  not confirmed (Enter or y confirms)\n");
        return 0;
    }
    if (runner_confirm(r, v->id, line, err, sizeof(err)) != 0) {
        printf("  %s\n", err);
        return 0;
    }
    return 1;
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

static int run_loop(Runner *r, int interactive) {
    RunnerSnapshot *s = malloc(sizeof(*s));
    if (!s) return 1;
    uint64_t seen = 0, eseen = 0;
    int last_engine_step = -1, abort_sent = 0, answered = -1;
    int64_t last_progress = 0;
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
        fflush(stdout);
        if (fin) break;
        if (answered >= 0 && s->steps[answered].state != STEP_WAITING) answered = -1;
        if (interactive && s->state == RUNNER_WAITING && s->current >= 0 && s->current != answered && !abort_sent &&
            ask_gate(r, s))
            answered = s->current;
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

int cmd_run(int argc, char **argv) {
    RunCli c;
    char err[FERRY_ERR_LEN];
    memset(&c, 0, sizeof(c));
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
    Runner *r = runner_create(&ro, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "ferry run: %s\n", err);
        rc = 1;
        goto out;
    }
    if (runner_start(r, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry run: %s\n", err);
        rc = 1;
    } else {
        rc = run_loop(r, interactive);
    }
    runner_free(r);
out:
    run_settings_free(&eff);
    run_settings_free(&c.settings);
    copy_options_free(&c.copy);
    runbook_free(rb);
    return rc;
}
