/* cmd_prune — `ferry prune`: options → prune_run() → one progress line a
 * second, then what would go (dry run) or what went (--execute). Exit
 * codes: 0 done, 1 error or stopped, 2 usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "prune.h"
#include "util.h"

int cmd_prune(int argc, char **argv);

static int stopping(void *ud) {
    (void)ud;
    return cmd_signals != 0;
}

static void on_note(void *ud, EventLevel level, const char *text) {
    (void)ud;
    if (level == EV_INFO) printf("%s\n", text);
    else fprintf(stderr, "ferry: %s: %s\n", eventlog_level_name(level), text);
    fflush(stdout);
}

static void on_progress(void *ud, const PruneProgress *p) {
    (void)ud;
    char rate[16], el[16];
    util_fmt_count(rate, sizeof(rate), p->keys_per_s);
    util_fmt_duration(el, sizeof(el), p->elapsed_ms);
    if (p->execute)
        printf("prune %.0f%% | scanned %" PRIu64 " | deleted %" PRIu64 " of %" PRIu64 " selected | %s keys/s scanned | %s\n",
               p->progress * 100.0, p->scanned, p->deleted, p->selected, rate, el);
    else
        printf("prune (dry run) %.0f%% | scanned %" PRIu64 " | would delete %" PRIu64 " | %s keys/s scanned | %s\n",
               p->progress * 100.0, p->scanned, p->selected, rate, el);
    fflush(stdout);
}

static void print_result(const PruneCli *cli, const PruneResult *r, int rc) {
    const PruneOptions *o = &cli->opt;
    char el[16];
    util_fmt_duration(el, sizeof(el), r->elapsed_ms);
    printf("\n");
    if (o->execute) {
        printf("%s after %s: deleted %" PRIu64 " keys of %" PRIu64 " selected", rc ? "prune INCOMPLETE" : "prune done", el,
               r->deleted, r->selected);
        if (r->vanished) printf(" (%" PRIu64 " were gone already)", r->vanished);
        printf("; db %d had %" PRId64 " keys, now %" PRId64 "\n", r->db, r->dbsize_before, r->dbsize_after);
    } else {
        printf("%s after %s: would delete %" PRIu64 " keys of %" PRIu64 " scanned in db %d (%" PRId64 " keys)\n",
               rc ? "dry run INCOMPLETE" : "dry run done", el, r->selected, r->scanned, r->db, r->dbsize_before);
    }
    if (r->nprefix) {
        printf("  by prefix:");
        for (int i = 0; i < r->nprefix; i++) printf("%s %s %" PRIu64, i ? "," : "", r->top[i].name, r->top[i].n);
        if (r->other_prefixes) printf(", other prefixes %" PRIu64, r->other_prefixes);
        printf("\n");
    }
    if (r->nsamples) {
        printf("  %s:", o->execute ? "deleted, e.g." : "would delete, e.g.");
        for (int i = 0; i < r->nsamples; i++) printf("%s %s", i ? "," : "", r->samples[i]);
        printf("\n");
    }
    if (o->execute && r->deleted_log[0]) printf("  every deleted name is in %s\n", r->deleted_log);
    if (!o->execute && !rc) {
        if (r->selected) printf("  nothing was deleted: rerun with --execute to delete them\n");
        else printf("  nothing to delete\n");
    }
    fflush(stdout);
}

int cmd_prune(int argc, char **argv) {
    PruneCli *cli = malloc(sizeof(*cli));
    PruneResult *res = malloc(sizeof(*res));
    char err[FERRY_ERR_LEN];
    int code = 2;
    if (!cli || !res) {
        fprintf(stderr, "ferry prune: out of memory\n");
        free(cli);
        free(res);
        return 1;
    }
    prune_cli_init(cli);
    if (prune_cli_parse(cli, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry prune: %s\n", err);
        goto out;
    }
    if (cli->help) {
        fputs(prune_usage, stdout);
        code = 0;
        goto out;
    }
    if (cli->password_on_cmdline) {
        cli_scrub_argv(argc, argv);
        fprintf(stderr, "ferry: warning: a password in a URI is visible to other users of this machine (ps); "
                        "use FERRY_TARGET_PASSWORD / FERRY_SOURCE_PASSWORD or --target-password-file instead\n");
    }
    cli->opt.stopping = stopping;
    cli->opt.progress = on_progress;
    cli->opt.note = on_note;
    int rc = prune_run(&cli->opt, res, err, sizeof(err));
    if (rc != 0 && res->dbsize_before < 0) {
        /* Refused or unreachable before anything was read. */
        fprintf(stderr, "ferry: %s\n", err);
        code = 1;
        goto out;
    }
    print_result(cli, res, rc);
    if (rc) fprintf(stderr, "ferry: %s\n", err);
    code = rc ? 1 : 0;
out:
    prune_cli_free(cli);
    free(cli);
    free(res);
    return code;
}
