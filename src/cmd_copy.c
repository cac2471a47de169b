/* cmd_copy — `ferry copy`: options → engine → console or headless lines,
 * and the exit code. Also the headless and console runners the other
 * subcommands share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "console.h"
#include "progress.h"
#include "rdbsource.h"
#include "util.h"

/* What the headless printer and the console need from a run, whether the
 * engine's or an RDB snapshot's (rdbsource): its console backend and a wait. */
typedef struct RunView {
    ConsoleBackend b;
    int (*wait)(void *ctx, int timeout_ms);
} RunView;

static int engine_wait_ctx(void *ctx, int timeout_ms) { return engine_wait(ctx, timeout_ms); }

static void run_view_for_engine(RunView *v, Engine *e) {
    console_backend_for_engine(&v->b, e);
    v->wait = engine_wait_ctx;
}

static void run_view_for_rdbsource(RunView *v, RdbSource *s) {
    memset(v, 0, sizeof(*v)); /* ConsoleBackend's optional hooks (runbook, groups) stay NULL */
    v->b.ctx = s;
    v->b.snapshot = rdbsource_be_snapshot;
    v->b.pause = rdbsource_be_pause;
    v->b.resume = rdbsource_be_resume;
    v->b.set_workers = rdbsource_be_set_workers;
    v->b.set_rate = rdbsource_be_set_rate;
    v->b.request_stop = rdbsource_be_request_stop;
    v->b.log = rdbsource_be_log;
    v->wait = rdbsource_be_wait;
}

/* ---- consumer groups (--groups-budget) ----------------------------------- */

/* Both sides' samplers of a copy (NULL: that side is not sampled). */
typedef struct CopyGroups {
    Groups *g[2];
} CopyGroups;

static void copy_groups_start(CopyGroups *cg, const CopyOptions *o, int budget) {
    memset(cg, 0, sizeof(*cg));
    for (int side = 0; side < 2 && budget > 0; side++) {
        GroupsConfig gc;
        groups_config_init(&gc, side ? "target" : "source");
        gc.conn = side ? o->target : o->source;
        gc.budget = budget;
        gc.rescan_ms = 15000; /* the target fills up during the copy: look again soon */
        char err[FERRY_ERR_LEN];
        cg->g[side] = groups_start(&gc, err, sizeof(err));
        if (!cg->g[side]) fprintf(stderr, "ferry: warning: consumer groups not sampled: %s\n", err);
    }
}

static int copy_groups_snapshot(void *ctx, int side, GroupsSnapshot *out) {
    CopyGroups *cg = ctx;
    memset(out, 0, sizeof(*out));
    if (side < 0 || side > 1 || !cg->g[side]) return -1;
    return groups_snapshot(cg->g[side], out);
}

/* {"type":"groups","side":"source",…}: the consumer-groups panel's figures
 * (coverage, totals, the top 5 groups by pending) as one JSON line a side. */
static void print_groups_json(const ConsoleBackend *b) {
    for (int side = 0; side < 2; side++) {
        GroupsSnapshot g;
        if (b->groups(b->groups_ctx ? b->groups_ctx : b->ctx, side, &g) != 0) continue;
        size_t top[5];
        GroupsTotals t;
        long n = groups_top(&g, GROUPS_BY_PENDING, NULL, 0, top, 5, &t);
        char e[2 * FERRY_ERR_LEN];
        progress_json_escape(g.error, e, sizeof(e));
        printf("{\"type\":\"groups\",\"side\":\"%s\",\"time_ms\":%lld,\"state\":\"%s\",\"streams_known\":%zu,"
               "\"streams_sampled\":%zu,\"capped\":%s,\"oldest_sample_age_ms\":%lld,\"groups\":%zu,\"pending\":%lld,"
               "\"lag\":%lld,\"lag_unknown\":%zu,\"budget\":%d,\"commands\":%llu,\"error\":\"%s\",\"top\":[",
               side ? "target" : "source", (long long)g.taken_ms, groups_state_name(g.state), g.streams_known,
               g.streams_sampled, g.capped ? "true" : "false",
               g.oldest_sample_ms ? (long long)(g.taken_ms - g.oldest_sample_ms) : -1LL, t.groups, t.pending, t.lag,
               t.lag_unknown, g.budget, (unsigned long long)g.commands, e);
        for (long i = 0; i < n; i++) {
            const GroupRow *r = &g.rows[top[i]];
            char k[1024], gr[512];
            progress_json_escape(r->key, k, sizeof(k));
            progress_json_escape(r->group, gr, sizeof(gr));
            printf("%s{\"key\":\"%s\",\"group\":\"%s\",\"pending\":%lld,\"lag\":%lld,\"age_ms\":%lld}", i ? "," : "",
                   k, gr, r->pending, r->lag, (long long)(g.taken_ms - r->sampled_ms));
        }
        printf("]}\n");
        groups_snapshot_free(&g);
    }
}

/* Prints new warnings/errors from the engine's log to stderr. */
static uint64_t print_events(const EngineSnapshot *s, uint64_t seen, int json) {
    for (int i = 0; i < s->nlog; i++) {
        const Event *ev = &s->log[i];
        if (ev->seq <= seen) continue;
        seen = ev->seq;
        if (json) {
            char t[EVENTLOG_TEXT * 2];
            progress_json_escape(ev->text, t, sizeof(t));
            printf("{\"type\":\"event\",\"time_ms\":%lld,\"level\":\"%s\",\"text\":\"%s\"}\n",
                   (long long)ev->time_ms, eventlog_level_name(ev->level), t);
        } else if (ev->level != EV_INFO) {
            fprintf(stderr, "ferry: %s: %s\n", eventlog_level_name(ev->level), ev->text);
        } else {
            printf("%s\n", ev->text);
        }
    }
    return seen;
}

/* Headless: one line a second until the run ends. */
static int headless_run(const RunView *v, int json, const char *report) {
    EngineSnapshot *s = malloc(sizeof(*s));
    char line[2048];
    uint64_t seen = 0;
    int stop_sent = 0;
    int64_t last_groups = util_mono_ms();
    if (!s) return 1;
    for (;;) {
        int fin = v->wait(v->b.ctx, 1000);
        if (cmd_signals && !stop_sent) {
            v->b.request_stop(v->b.ctx);
            stop_sent = 1;
        }
        v->b.snapshot(v->b.ctx, s);
        seen = print_events(s, seen, json);
        if (json)
            progress_json(s, line, sizeof(line));
        else
            progress_line(s, line, sizeof(line));
        printf("%s\n", line);
        if (json && v->b.groups && util_mono_ms() - last_groups >= 5000) {
            print_groups_json(&v->b);
            last_groups = util_mono_ms();
        }
        fflush(stdout);
        if (fin) break;
    }
    char summary[4096];
    progress_summary(s, report, summary, sizeof(summary));
    if (json) {
        char esc[8192];
        progress_json_escape(summary, esc, sizeof(esc));
        printf("{\"type\":\"summary\",\"state\":\"%s\",\"exit_code\":%d,\"text\":\"%s\"}\n",
               engine_state_name(s->state), progress_exit_code(s), esc);
    } else {
        fputs(summary, stdout);
    }
    fflush(stdout);
    int rc = progress_exit_code(s);
    if (s->state == ENGINE_FAILED) fprintf(stderr, "ferry: %s\n", s->reason);
    free(s);
    return rc;
}

int cmd_headless(Engine *e, int json, const char *report) {
    RunView v;
    run_view_for_engine(&v, e);
    return headless_run(&v, json, report);
}

static int console_view(const RunView *v, const char *title, const char *theme, int ascii) {
    const ConsoleBackend b = v->b;
    ConsoleOptions co;
    memset(&co, 0, sizeof(co));
    co.theme = theme;
    co.ascii = ascii ? 1 : -1;
    co.title = title;
    char err[FERRY_ERR_LEN];
    if (console_run(&b, &co, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry: %s\n", err);
        return 1;
    }
    EngineSnapshot *s = malloc(sizeof(*s));
    if (!s) return 1;
    b.snapshot(b.ctx, s);
    char summary[4096];
    progress_summary(s, NULL, summary, sizeof(summary));
    fputs(summary, stdout);
    int rc = progress_exit_code(s);
    free(s);
    return rc;
}

int cmd_console(Engine *e, const char *title, const char *theme, int ascii) {
    RunView v;
    run_view_for_engine(&v, e);
    return console_view(&v, title, theme, ascii);
}

/* `ferry copy --source-rdb FILE`: the same console and headless output over
 * an RDB snapshot source. */
static int cmd_copy_rdb(CopyCli *cli, const char *path) {
    char err[FERRY_ERR_LEN];
    RdbSource *s = rdbsource_create(path, &cli->copy, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "ferry: %s\n", err);
        return 1;
    }
    RunView v;
    run_view_for_rdbsource(&v, s);
    int tui = !cli->no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    int rc;
    if (rdbsource_start(s, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry: %s\n", err);
        rc = 1;
    } else if (tui) {
        char title[1400], tl[300];
        uri_format_redacted(&cli->copy.target.uri, tl, sizeof(tl));
        snprintf(title, sizeof(title), "copy  snapshot %s → %s", path, tl);
        rc = console_view(&v, title, cli->theme, cli->ascii);
    } else {
        rc = headless_run(&v, cli->json, cli->report);
    }
    rdbsource_free(s);
    return rc;
}

int cmd_copy(int argc, char **argv) {
    CopyCli cli;
    char err[FERRY_ERR_LEN];
    cli_copy_init(&cli);
    const char *rdb_path = NULL;
    int from_rdb = rdbsource_cli_wanted(argc, argv);
    if ((from_rdb ? rdbsource_cli_parse(&cli, &rdb_path, argc, argv, err, sizeof(err))
                  : cli_parse_copy(&cli, argc, argv, err, sizeof(err))) != 0) {
        fprintf(stderr, "ferry copy: %s\n", err);
        cli_copy_free(&cli);
        return 2;
    }
    if (cli.help) {
        fputs(from_rdb ? rdbsource_cli_usage : cli_copy_usage, stdout);
        cli_copy_free(&cli);
        return 0;
    }
    if (cli.password_on_cmdline) {
        cli_scrub_argv(argc, argv);
        fprintf(stderr, "ferry: warning: a password in a URI is visible to other users of this machine (ps); "
                        "use FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD or --source-password-file instead\n");
    }
    if (from_rdb) {
        int rc = cmd_copy_rdb(&cli, rdb_path);
        cli_copy_free(&cli);
        return rc;
    }
    Engine *e = engine_create(&cli.copy, err, sizeof(err));
    if (!e) {
        fprintf(stderr, "ferry: %s\n", err);
        cli_copy_free(&cli);
        return 1;
    }
    int tui = !cli.no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    int rc;
    RunView v;
    run_view_for_engine(&v, e);
    CopyGroups cg;
    copy_groups_start(&cg, &cli.copy, cli.groups_budget >= 0 ? cli.groups_budget : tui ? 20 : 0);
    if (cg.g[0] || cg.g[1]) {
        v.b.groups = copy_groups_snapshot;
        v.b.groups_ctx = &cg;
    }
    if (engine_start(e, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry: %s\n", err);
        rc = 1;
    } else if (tui) {
        char title[700], sl[300], tl[300];
        uri_format_redacted(&cli.copy.source.uri, sl, sizeof(sl));
        uri_format_redacted(&cli.copy.target.uri, tl, sizeof(tl));
        snprintf(title, sizeof(title), "copy  %s → %s", sl, tl);
        rc = console_view(&v, title, cli.theme, cli.ascii);
    } else {
        rc = headless_run(&v, cli.json, cli.report);
    }
    for (int side = 0; side < 2; side++) groups_stop(cg.g[side]);
    engine_free(e);
    cli_copy_free(&cli);
    return rc;
}

