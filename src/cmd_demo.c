/* cmd_demo — `ferry demo`: the embedded default. Two throwaway servers, a
 * generated dataset, live traffic, and the console on the demo runbook
 * (runbooks/demo: preflight, pause writes, copy, verify, switch, unpause)
 * between them; everything started is stopped again on the way out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "demo.h"
#include "util.h"

/* runbooks/demo: next to the sources this binary was built from, else in
 * the current directory. */
static int demo_runbook(char *buf, size_t len) {
    snprintf(buf, len, "%s/runbooks/demo", FERRY_SOURCE_DIR);
    if (access(buf, R_OK) == 0) return 0;
    snprintf(buf, len, "runbooks/demo");
    return access(buf, R_OK) == 0 ? 0 : -1;
}

static void demo_progress(const char *stage, long done, long total, void *ud) {
    (void)ud;
    /* Plain ASCII and one line rewritten in place; cleared before the console. */
    if (total > 0)
        fprintf(stderr, "\rferry demo: %s... %ld/%ld", stage, done, total);
    else
        fprintf(stderr, "ferry demo: %s...\n", stage);
}

int cmd_demo(int argc, char **argv) {
    DemoOptions o;
    demo_options_init(&o);
    int no_tui = 0, ascii = 0;
    const char *theme = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-tui")) no_tui = 1;
        else if (!strcmp(argv[i], "--ascii")) ascii = 1;
        else if (!strcmp(argv[i], "--theme") && i + 1 < argc) theme = argv[++i];
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc) {
            char *end;
            o.keys = strtol(argv[++i], &end, 10);
            if (*end || o.keys < 1 || o.keys > 50000000) {
                fprintf(stderr, "ferry demo: --keys takes a whole number from 1 to 50000000\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: ferry demo [--keys N] [--no-tui] [--ascii] [--theme NAME]\n");
            return 0;
        } else {
            fprintf(stderr, "ferry demo: unknown option %s (try --keys N, --no-tui, --ascii, --theme NAME)\n", argv[i]);
            return 2;
        }
    }
    Demo d;
    char err[FERRY_ERR_LEN];
    if (demo_start(&d, &o, demo_progress, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "\nferry demo: %s\n", err);
        return 1;
    }
    fprintf(stderr, "\n");
    int rc = 1;
    if (cmd_signals) goto out;
    char runbook[1100], journal[700];
    if (demo_runbook(runbook, sizeof(runbook)) != 0) {
        fprintf(stderr, "ferry demo: cannot find the demo runbook (runbooks/demo under %s or the "
                        "current directory); run ferry demo from the source tree\n", FERRY_SOURCE_DIR);
        goto out;
    }
    /* The journal lives with the demo's servers and goes with them. */
    snprintf(journal, sizeof(journal), "%s/ferry-demo-journal.jsonl", d.source.dir);
    const char *args[16];
    int n = 0;
    args[n++] = "run";
    args[n++] = runbook;
    args[n++] = "--source";
    args[n++] = d.source_uri;
    args[n++] = "--target";
    args[n++] = d.target_uri;
    args[n++] = "--journal";
    args[n++] = journal;
    if (theme) {
        args[n++] = "--theme";
        args[n++] = theme;
    }
    if (ascii) args[n++] = "--ascii";
    if (no_tui || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        args[n++] = "--no-tui";
        args[n++] = "--confirm-all"; /* nobody to press Enter: the demo has no typed gate */
    }
    args[n] = NULL;
    RunnerState final = RUNNER_IDLE;
    rc = cmd_run_ex(n, (char **)args, &final);
    /* Quitting is how a demo ends: a run the operator aborted is fine. */
    if (final == RUNNER_ABORTED) rc = 0;
out:
    demo_stop(&d);
    return rc;
}

