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
#include "util.h"

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
int cmd_headless(Engine *e, int json, const char *report) {
    EngineSnapshot *s = malloc(sizeof(*s));
    char line[2048];
    uint64_t seen = 0;
    int stop_sent = 0;
    if (!s) return 1;
    for (;;) {
        int fin = engine_wait(e, 1000);
        if (cmd_signals && !stop_sent) {
            engine_request_stop(e);
            stop_sent = 1;
        }
        engine_snapshot(e, s);
        seen = print_events(s, seen, json);
        if (json)
            progress_json(s, line, sizeof(line));
        else
            progress_line(s, line, sizeof(line));
        printf("%s\n", line);
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

int cmd_console(Engine *e, const char *title, const char *theme, int ascii) {
    ConsoleBackend b;
    console_backend_for_engine(&b, e);
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
    engine_snapshot(e, s);
    char summary[4096];
    progress_summary(s, NULL, summary, sizeof(summary));
    fputs(summary, stdout);
    int rc = progress_exit_code(s);
    free(s);
    return rc;
}

int cmd_copy(int argc, char **argv) {
    CopyCli cli;
    char err[FERRY_ERR_LEN];
    cli_copy_init(&cli);
    if (cli_parse_copy(&cli, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry copy: %s\n", err);
        cli_copy_free(&cli);
        return 2;
    }
    if (cli.help) {
        fputs(cli_copy_usage, stdout);
        cli_copy_free(&cli);
        return 0;
    }
    if (cli.password_on_cmdline) {
        cli_scrub_argv(argc, argv);
        fprintf(stderr, "ferry: warning: a password in a URI is visible to other users of this machine (ps); "
                        "use FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD or --source-password-file instead\n");
    }
    Engine *e = engine_create(&cli.copy, err, sizeof(err));
    if (!e) {
        fprintf(stderr, "ferry: %s\n", err);
        cli_copy_free(&cli);
        return 1;
    }
    int tui = !cli.no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
    int rc;
    if (engine_start(e, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry: %s\n", err);
        rc = 1;
    } else if (tui) {
        char title[700], sl[300], tl[300];
        uri_format_redacted(&cli.copy.source.uri, sl, sizeof(sl));
        uri_format_redacted(&cli.copy.target.uri, tl, sizeof(tl));
        snprintf(title, sizeof(title), "copy  %s → %s", sl, tl);
        rc = cmd_console(e, title, cli.theme, cli.ascii);
    } else {
        rc = cmd_headless(e, cli.json, cli.report);
    }
    engine_free(e);
    cli_copy_free(&cli);
    return rc;
}

