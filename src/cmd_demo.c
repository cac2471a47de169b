/* cmd_demo — `ferry demo`: the embedded default. Two throwaway servers, a
 * generated dataset, live traffic, and the console on a copy between them;
 * everything started is stopped again on the way out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "demo.h"
#include "util.h"

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
    CopyOptions co;
    copy_options_init(&co);
    uri_parse(d.source_uri, &co.source.uri, err, sizeof(err));
    uri_parse(d.target_uri, &co.target.uri, err, sizeof(err));
    co.rate = 20000; /* slow enough to watch; ] raises it */
    Engine *e = engine_create(&co, err, sizeof(err));
    if (!e) {
        fprintf(stderr, "ferry demo: %s\n", err);
        copy_options_free(&co);
        goto out;
    }
    if (engine_start(e, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry demo: %s\n", err);
    } else if (!no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
        char title[300];
        snprintf(title, sizeof(title), "demo copy  %s → %s", d.source_uri, d.target_uri);
        rc = cmd_console(e, title, theme, ascii);
        /* Quitting is how a demo ends: a copy the operator stopped is fine. */
        if (engine_state(e) == ENGINE_STOPPED) rc = 0;
    } else {
        rc = cmd_headless(e, 0, NULL);
    }
    engine_free(e);
    copy_options_free(&co);
out:
    demo_stop(&d);
    return rc;
}

