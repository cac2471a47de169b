/* main — the `ferry` command: parses the subcommand, then either opens the
 * console (a terminal on stdout) or prints headless progress. The engine
 * does the work; this file only wires it to the terminal and exit codes.
 *
 * Exit codes: 0 success, 1 error, 2 usage, 3 copy finished with skipped or
 * failed keys. */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

volatile sig_atomic_t cmd_signals;

int cmd_run(int argc, char **argv);       /* cmd_run.c */
int cmd_preflight(int argc, char **argv); /* cmd_preflight.c */
int cmd_verify(int argc, char **argv);    /* cmd_verify.c */
int cmd_prune(int argc, char **argv);     /* cmd_prune.c */
int cmd_follow(int argc, char **argv);    /* cmd_follow.c */
int cmd_rehearse(int argc, char **argv);  /* cmd_rehearse.c */

static void on_signal(int sig) {
    (void)sig;
    cmd_signals++;
    if (cmd_signals >= 3) _exit(130); /* the operator insists */
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void usage(FILE *f) {
    fprintf(f,
            "ferry %s — move a Redis/Valkey keyspace from one server to another\n"
            "\n"
            "usage:\n"
            "  ferry demo [--keys N] [--no-tui] [--ascii] [--theme NAME]\n"
            "                      two throwaway local servers, a generated dataset, the console\n"
            "  ferry copy --source URI --target URI [options]   (ferry copy --help)\n"
            "  ferry preflight --source URI --target URI [options]\n"
            "                      what each server allows and whether the plan fits (ferry preflight --help)\n"
            "  ferry run RUNBOOK [--source URI --target URI] [--confirm STEP] [--resume JOURNAL]\n"
            "                      the steps of a maintenance window, gated and journaled (ferry run --help)\n"
            "  ferry verify --source URI --target URI [--sample N] [--report FILE] [options]\n"
            "                      prove the target holds what the source holds (ferry verify --help)\n"
            "  ferry prune --target URI (--keep GLOB… | --drop GLOB…) [--execute] [options]\n"
            "                      delete what does not belong on the target; a dry run without --execute\n"
            "                      (ferry prune --help)\n"
            "  ferry rehearse --rdb SNAPSHOT.rdb RUNBOOK [--report-dir DIR] [--scale-keys N]\n"
            "                      the runbook on throwaway local servers, measured: a report and a chart\n"
            "                      (ferry rehearse --help)\n"
            "  ferry follow --source URI --target URI [--db-map …] [--match/--exclude GLOB] [--no-tui]\n"
            "                      ferry follows the source as a replica (PSYNC) and applies its stream\n"
            "                      to a target that refuses REPLICAOF (ferry follow --help)\n"
            "  ferry version\n",
            FERRY_VERSION);
}

int main(int argc, char **argv) {
    setlocale(LC_ALL, "");
    install_signals();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "copy")) return cmd_copy(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) return cmd_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "preflight")) return cmd_preflight(argc - 1, argv + 1);
    if (!strcmp(cmd, "verify")) return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(cmd, "prune")) return cmd_prune(argc - 1, argv + 1);
    if (!strcmp(cmd, "follow")) return cmd_follow(argc - 1, argv + 1);
    if (!strcmp(cmd, "rehearse")) return cmd_rehearse(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("ferry %s\n", FERRY_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "ferry: unknown command \"%s\" (try: ferry demo, ferry copy --help, ferry run --help)\n", cmd);
    return 2;
}
