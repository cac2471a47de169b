/* cmd — the subcommands' terminal glue: each cmd_*.c parses its command
 * line, drives the engine and prints; none of this is in the library. */
#ifndef FERRY_CMD_H
#define FERRY_CMD_H

#include <signal.h>

#include "engine.h"
#include "runner.h"

#define FERRY_VERSION "0.1.0"

/* Incremented by SIGINT/SIGTERM/SIGHUP (main.c); loops read it. */
extern volatile sig_atomic_t cmd_signals;

int cmd_copy(int argc, char **argv);
int cmd_demo(int argc, char **argv);
/* `ferry run` (argv[0] = "run"); *final (may be NULL) gets the run's last
 * state, so that `ferry demo` can tell an operator's quit from a failure. */
int cmd_run_ex(int argc, char **argv, RunnerState *final);

/* Prints one progress line (or JSON line) a second and new warnings until
 * the run ends; a signal requests a clean stop. Returns the exit code. */
int cmd_headless(Engine *e, int json, const char *report);
/* Opens the console over e until the operator quits; prints the summary
 * after. Returns the exit code. */
int cmd_console(Engine *e, const char *title, const char *theme, int ascii);

#endif
