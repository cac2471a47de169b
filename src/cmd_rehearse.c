/* cmd_rehearse — `ferry rehearse --rdb SNAPSHOT.rdb RUNBOOK`: the runbook
 * on two throwaway local servers (the source loaded with the snapshot),
 * every gate passed automatically, measured and written up as
 * rehearsal-<time>.md + .svg (src/rehearse.h). Prints the steps' lines as
 * they come and where the report is.
 *
 * Exit codes: 0 the report is written and every step was done or skipped;
 * 1 the rehearsal could not run, or a step failed (the report says which
 * and why); 2 usage or runbook error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "rehearse.h"
#include "runbook.h"
#include "util.h"

int cmd_rehearse(int argc, char **argv);

static const char rehearse_usage[] =
    "usage: ferry rehearse --rdb SNAPSHOT.rdb RUNBOOK [--report-dir DIR] [options]\n"
    "\n"
    "Runs the runbook's steps against two throwaway local redis-servers: a source loaded\n"
    "with the snapshot and an empty target (no maxmemory). Every gate is passed automatically\n"
    "(manual steps count as zero and are listed); nothing outside 127.0.0.1 is touched.\n"
    "Writes rehearsal-TIME.md (step durations, keys/s, MB/s, the target memory needed, errors,\n"
    "the projected production timeline) and rehearsal-TIME.svg (keys/s over time), plus the\n"
    "run's journal rehearsal-TIME.jsonl.\n"
    "\n"
    "  --rdb FILE           the snapshot (a copy of dump.rdb, or a BGSAVE)\n"
    "  --report-dir DIR     where the report goes (default: the current directory)\n"
    "  --scale-keys N       production's key count, when the snapshot is a sample (12M, 3.5k…)\n"
    "  --scale-bytes B      production's used_memory, when the snapshot is a sample (40GiB, 5GB…)\n"
    "  --margin PCT         memory margin on top of the measured peak (default 20)\n"
    "  --db-map, --match, --exclude, --type, --on-conflict, --workers, --batch, --scan-count, --rate\n"
    "                       override the runbook's shared options, as in ferry run\n"
    "  --no-tui             accepted (the rehearsal always prints lines)\n"
    "exit codes: 0 every step done or skipped, 1 the rehearsal could not run or a step failed\n"
    "(see the report), 2 usage or runbook error\n";

static int stopping(void *ud) {
    (void)ud;
    return cmd_signals != 0;
}

static void on_note(void *ud, EventLevel level, const char *step, const char *text) {
    (void)ud;
    const char *lvl = level == EV_WARN ? "warn: " : level == EV_ERROR ? "error: " : level == EV_OPERATOR ? "operator: " : "";
    if (step && step[0]) printf("%s: %s%s\n", step, lvl, text);
    else printf("%s%s\n", lvl, text);
    fflush(stdout);
}

/* "12M", "3.5k", "40GiB", "5GB", "1000": a whole count with an optional
 * unit (k/M/G = 10^3/6/9; KiB/MiB/GiB/TiB = 2^10/20/30/40; B ignored). */
static int parse_amount(const char *opt, const char *v, uint64_t *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    double n = strtod(v, &end);
    if (errno || end == v || n <= 0) goto bad;
    static const struct { const char *s; double m; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1e3}, {"kb", 1e3}, {"m", 1e6}, {"mb", 1e6}, {"g", 1e9}, {"gb", 1e9},
        {"t", 1e12}, {"tb", 1e12}, {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0},
        {"tib", 1099511627776.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(end, units[i].s)) {
            double x = n * units[i].m;
            if (x < 1 || x > 1e18) goto bad;
            *out = (uint64_t)(x + 0.5);
            return 0;
        }
bad:
    return util_err(err, errlen, "%s takes a positive amount such as 12000000, 12M or 40GiB (got \"%s\")", opt, v);
}

int cmd_rehearse(int argc, char **argv) {
    char err[FERRY_ERR_LEN];
    const char *file = NULL;
    RunSettings cli;
    run_settings_init(&cli);
    RehearseOptions o;
    rehearse_options_init(&o);
    Runbook *rb = NULL;
    RehearseResult *res = NULL;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(rehearse_usage, stdout);
            rc = 0;
            goto out;
        }
        if (strncmp(a, "--", 2)) {
            if (file) {
                fprintf(stderr, "ferry rehearse: unexpected argument \"%s\": one runbook per rehearsal\n", a);
                goto out;
            }
            file = a;
            continue;
        }
        const char *name = a + 2;
        if (!strcmp(name, "no-tui")) continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "ferry rehearse: %s needs a value (see ferry rehearse --help)\n", a);
            goto out;
        }
        const char *v = argv[++i];
        if (!strcmp(name, "rdb")) o.rdb_path = v;
        else if (!strcmp(name, "report-dir")) o.report_dir = v;
        else if (!strcmp(name, "scale-keys") || !strcmp(name, "scale-bytes")) {
            if (parse_amount(a, v, name[6] == 'k' ? &o.scale_keys : &o.scale_bytes, err, sizeof(err)) != 0) {
                fprintf(stderr, "ferry rehearse: %s\n", err);
                goto out;
            }
        } else if (!strcmp(name, "margin")) {
            char *end;
            double m = strtod(v, &end);
            if (end == v || (*end && strcmp(end, "%")) || m < 0 || m > 500) {
                fprintf(stderr, "ferry rehearse: --margin takes a percentage from 0 to 500 (got \"%s\")\n", v);
                goto out;
            }
            o.margin = m / 100.0;
        } else if (!strcmp(name, "source") || !strcmp(name, "target") || strstr(name, "password") || strstr(name, "tls")) {
            fprintf(stderr, "ferry rehearse: %s is not for a rehearsal: it runs on throwaway local servers only (the runbook's servers are ignored)\n", a);
            goto out;
        } else {
            int r = run_settings_set(&cli, name, v, 0, err, sizeof(err));
            if (r <= 0) {
                if (r < 0) fprintf(stderr, "ferry rehearse: --%s\n", err);
                else fprintf(stderr, "ferry rehearse: unknown option %s (see ferry rehearse --help)\n", a);
                goto out;
            }
        }
    }
    if (!o.rdb_path) {
        fprintf(stderr, "ferry rehearse: missing --rdb SNAPSHOT.rdb: the production snapshot to rehearse on\n");
        goto out;
    }
    if (!file) {
        fprintf(stderr, "ferry rehearse: missing the runbook: ferry rehearse --rdb SNAPSHOT.rdb RUNBOOK\n");
        goto out;
    }
    if (!(rb = runbook_load(file, err, sizeof(err)))) {
        fprintf(stderr, "ferry rehearse: %s\n", err);
        goto out;
    }
    o.rb = rb;
    o.cli = &cli;
    o.ud = NULL;
    o.stopping = stopping;
    o.note = on_note;
    if (!(res = malloc(sizeof(*res)))) {
        fprintf(stderr, "ferry rehearse: out of memory\n");
        rc = 1;
        goto out;
    }
    printf("rehearsing %s on the snapshot %s (throwaway local servers; gates pass automatically)\n", file, o.rdb_path);
    fflush(stdout);
    if (rehearse_run(&o, res, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry rehearse: %s\n", err);
        rc = 1;
        goto out;
    }
    char proj[32], mem[32];
    util_fmt_duration(proj, sizeof(proj), res->projected_ms);
    util_fmt_bytes(mem, sizeof(mem), (double)res->needed_bytes);
    printf("\nrehearsal %s: projected production window %s (plus manual steps); target memory needed %s\n",
           res->state == RUNNER_DONE ? "done" : runner_state_name(res->state), proj, mem);
    printf("report: %s\nchart:  %s\njournal: %s\n", res->report_path, res->svg_path, res->journal_path);
    rc = res->state == RUNNER_DONE ? 0 : 1;
    if (rc) fprintf(stderr, "ferry rehearse: %s (details in %s)\n", res->reason[0] ? res->reason : runner_state_name(res->state),
                    res->report_path);
out:
    free(res);
    runbook_free(rb);
    run_settings_free(&cli);
    return rc;
}
