/* cmd_preflight — `ferry preflight --source … --target …`: the preflight
 * checks for a plain copy (or for the actions named with --actions), as a
 * table of pass / info / warn / fail lines with the fix for each, and an
 * exit code for scripts: 0 no fail (warnings allowed), 1 any fail, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "cli.h"
#include "cmd.h"
#include "journal.h"
#include "preflight.h"
#include "util.h"

static const char preflight_usage[] =
    "usage: ferry preflight --source URI --target URI [options]\n"
    "\n"
    "Checks, without writing anything, that a copy from source to target can work:\n"
    "both servers reachable and authenticated, versions and DUMP payloads, the commands\n"
    "the plan needs (renamed or disabled ones found as managed services do it), ACL\n"
    "permissions, target memory headroom and eviction policy, cluster mode, key counts,\n"
    "and the same server on both sides.\n"
    "\n"
    "  --actions LIST        the steps planned, e.g. copy,verify-counts,pause-writes,unpause\n"
    "                        (default: copy,verify-counts)\n"
    "  --accept-eviction     an evicting maxmemory-policy on the target is a warning, not a fail\n"
    "  --margin PCT          memory headroom margin (default 20)\n"
    "  --json                one JSON object per line\n"
    "  every server, password, TLS, db-map, filter and on-conflict option of ferry copy\n"
    "exit codes: 0 ready (warnings do not block), 1 at least one fail, 2 usage\n";

static int take_flag(int *argc, char **argv, int i, int with_value) {
    int n = with_value ? 2 : 1;
    for (int k = i; k + n < *argc; k++) argv[k] = argv[k + n];
    *argc -= n;
    return 0;
}

int cmd_preflight(int argc, char **argv) {
    char err[FERRY_ERR_LEN];
    int accept_eviction = 0;
    double margin = 0.2;
    const char *actions = "copy,verify-counts";
    /* Our own flags first; the rest are ferry copy's. */
    char **av = malloc(sizeof(char *) * (size_t)(argc + 1));
    if (!av) return 1;
    memcpy(av, argv, sizeof(char *) * (size_t)argc);
    av[argc] = NULL;
    int ac = argc;
    for (int i = 1; i < ac;) {
        if (!strcmp(av[i], "--accept-eviction")) {
            accept_eviction = 1;
            take_flag(&ac, av, i, 0);
        } else if (!strcmp(av[i], "--margin") || !strcmp(av[i], "--actions")) {
            if (i + 1 >= ac) {
                fprintf(stderr, "ferry preflight: %s needs a value (see ferry preflight --help)\n", av[i]);
                free(av);
                return 2;
            }
            if (!strcmp(av[i], "--margin")) {
                char *end;
                margin = strtod(av[i + 1], &end) / 100.0;
                if (end == av[i + 1] || (*end && strcmp(end, "%")) || margin < 0 || margin > 5) {
                    fprintf(stderr, "ferry preflight: --margin takes a percentage from 0 to 500 (got \"%s\")\n", av[i + 1]);
                    free(av);
                    return 2;
                }
            } else {
                actions = av[i + 1];
            }
            take_flag(&ac, av, i, 1);
        } else if (!strcmp(av[i], "-h") || !strcmp(av[i], "--help")) {
            fputs(preflight_usage, stdout);
            free(av);
            return 0;
        } else {
            i++;
        }
    }
    CopyCli cli;
    cli_copy_init(&cli);
    int rc = 2;
    if (cli_parse_copy(&cli, ac, av, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry preflight: %s\n", err);
        goto out;
    }
    if (cli.help) {
        fputs(preflight_usage, stdout);
        rc = 0;
        goto out;
    }
    if (cli.password_on_cmdline) {
        cli_scrub_argv(argc, argv);
        fprintf(stderr, "ferry: warning: a password in a URI is visible to other users of this machine (ps); "
                        "use FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD or --source-password-file instead\n");
    }
    PreflightPlan plan;
    preflight_plan_init(&plan);
    char list[512];
    util_strlcpy(list, actions, sizeof(list));
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const ActionDef *a = actions_find(name);
        if (!a) {
            char all[400];
            actions_list(all, sizeof(all));
            fprintf(stderr, "ferry preflight: --actions: unknown action %s (actions: %s)\n", name, all);
            goto out;
        }
        RunbookStep st;
        memset(&st, 0, sizeof(st));
        st.action = a;
        if (a->needs) a->needs(&st, &plan);
    }
    PreflightOptions po;
    preflight_options_init(&po, &cli.copy);
    po.accept_eviction = accept_eviction;
    po.margin = margin;
    PreflightReport rep;
    if (preflight_run(&po, &plan, &rep, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry preflight: %s\n", err);
        rc = 1;
        goto out;
    }
    char sl[300], tl[300];
    uri_format_redacted(&cli.copy.source.uri, sl, sizeof(sl));
    uri_format_redacted(&cli.copy.target.uri, tl, sizeof(tl));
    if (!cli.json) printf("ferry preflight: source %s → target %s (plan: %s)\n\n", sl, tl, actions);
    for (int i = 0; i < rep.n; i++) {
        const PreflightLine *l = &rep.lines[i];
        if (cli.json) {
            char c[128], r[1200], f[800];
            journal_escape(l->check, c, sizeof(c));
            journal_escape(l->reason, r, sizeof(r));
            journal_escape(l->fix, f, sizeof(f));
            printf("{\"type\":\"check\",\"level\":\"%s\",\"check\":\"%s\",\"reason\":\"%s\",\"fix\":\"%s\"}\n",
                   preflight_level_name(l->level), c, r, f);
        } else {
            printf("%-5s %-18s %s\n", l->level == PF_FAIL ? "FAIL" : preflight_level_name(l->level), l->check, l->reason);
            if (l->fix[0]) printf("%-5s %-18s fix: %s\n", "", "", l->fix);
        }
    }
    rc = rep.nfail ? 1 : 0;
    if (cli.json)
        printf("{\"type\":\"summary\",\"pass\":%d,\"info\":%d,\"warn\":%d,\"fail\":%d,\"exit_code\":%d}\n", rep.npass,
               rep.ninfo, rep.nwarn, rep.nfail, rc);
    else
        printf("\n%d fail, %d warn, %d pass, %d info: %s\n", rep.nfail, rep.nwarn, rep.npass, rep.ninfo,
               rep.nfail ? "NOT ready: fix the FAIL lines first (exit 1)"
                         : rep.nwarn ? "ready; read the warnings (exit 0)" : "ready (exit 0)");
    preflight_report_free(&rep);
out:
    cli_copy_free(&cli);
    free(av);
    return rc;
}
