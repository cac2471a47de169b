/* cli_common — the command-line options every subcommand that talks to
 * servers shares, parsed without touching the network: --source/--target
 * URIs, their passwords (environment or file, never the command line),
 * TLS for both sides or one (--tls-ca / --source-tls-ca …), timeouts; and
 * whole-number option values. `ferry verify` and `ferry prune` use it;
 * cli.c (`ferry copy`) has the same rules in its own parser. Every error is
 * one line naming the option and the accepted form. */
#ifndef FERRY_CLI_COMMON_H
#define FERRY_CLI_COMMON_H

#include <stddef.h>

#include "conn.h"

typedef struct CliServers {
    ConnConfig *source, *target; /* filled in; the caller owns them */
    const char *cmd;             /* "verify", for "(see ferry verify --help)" */
    const char *source_text, *target_text; /* as given; NULL = not given */
    const char *source_pw_file, *target_pw_file;
    int password_on_cmdline;     /* a URI carried a password: scrub argv, warn */
} CliServers;

/* source/target are initialised with conn_config_init(). TLS option values
 * point into argv afterwards: argv must outlive the configs. */
void cli_servers_init(CliServers *s, ConnConfig *source, ConnConfig *target, const char *cmd);

/* Tries one option (name without the leading "--"). value is the next
 * argument (NULL at the end of argv). Returns 0 when the option is not a
 * server option, 1 when it was a flag (no value used), 2 when it used
 * value, -1 with a one-line message on a bad or missing value. */
int cli_servers_option(CliServers *s, const char *name, const char *value, char *err, size_t errlen);

/* Parses the URIs and loads the passwords (FERRY_SOURCE_PASSWORD /
 * FERRY_TARGET_PASSWORD, or the --…-password-file). need_source /
 * need_target: that URI is required. -1 with a message. */
int cli_servers_finish(CliServers *s, int need_source, int need_target, char *err, size_t errlen);

/* A whole number in [lo, hi] for option opt ("--sample"). */
int cli_parse_long(const char *opt, const char *v, long lo, long hi, long *out, char *err, size_t errlen);

#endif
