/* cli — the command line of `ferry copy` (and the options other commands
 * share: servers, TLS, passwords), parsed into CopyOptions without touching
 * the network. Parsing is pure so that every usage error is testable. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stddef.h>

#include "engine.h"

typedef struct CopyCli {
    CopyOptions copy;
    int no_tui;
    int json;
    const char *theme;
    int ascii;
    const char *report;
    int groups_budget;  /* --groups-budget: consumer groups sampled on both sides, commands/s
                           each; -1 = not given (console 20, headless off); 0 = off */
    int help;
    /* Set when a URI carried a password: main scrubs it from argv and warns. */
    int password_on_cmdline;
} CopyCli;

void cli_copy_init(CopyCli *c);
void cli_copy_free(CopyCli *c);

/* Parses argv (argv[0] is the subcommand name, e.g. "copy"). Returns 0, or
 * -1 with a one-line usage error in err (exit code 2). Reads the password
 * environment variables FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD and
 * --source-password-file / --target-password-file. */
int cli_parse_copy(CopyCli *c, int argc, char **argv, char *err, size_t errlen);

/* One option of `ferry copy` that is not about servers (see cli_common.h
 * for those): returns 0 not one of these, 1 a flag, 2 value used, -1 error.
 * Shared with the --source-rdb parser. */
int cli_copy_option(CopyCli *c, const char *name, const char *value, char *err, size_t errlen);

/* Overwrites the password part of any redis:// or rediss:// URI in argv in
 * place, so that ps shows "***" from then on. */
void cli_scrub_argv(int argc, char **argv);

extern const char cli_copy_usage[];

#endif
