/* rehearse — runs a runbook against a production snapshot before the
 * window, measuring instead of estimating.
 *
 * Two throwaway redis-servers on 127.0.0.1 (src/sandbox.h): the source
 * loads the snapshot (an RDB file) as its dump.rdb; the target starts
 * empty, with no maxmemory. The runbook's servers are replaced by these
 * two (its dbs, db map, filters and options are kept), every gate is
 * passed in advance (manual steps pass at once: they are timed as zero
 * and listed), and the runner runs the steps, journaling them as a real
 * run does. pause-writes and friends act on the throwaway source.
 *
 * While it runs, the copy engine's counters are sampled (runner_snapshot,
 * 5 times a second) for the keys/s chart. Afterwards the step durations
 * and figures are read back from the journal (so the report and the
 * journal agree by construction), the target's used_memory and
 * used_memory_peak are read, and two files are written next to the
 * journal: rehearsal-<time>.md (the report) and rehearsal-<time>.svg
 * (keys/s over time, referenced from the report). Both servers are
 * stopped, by pid, before rehearse_run returns, whatever happened.
 *
 * Projection: when the snapshot is a sample of production
 * (scale_keys = production keys, scale_bytes = production used_memory),
 * the steps whose work grows with the data (copy, verify, verify-counts,
 * prune, flush-target) are scaled by the larger of the two factors; the
 * others (waits, pauses, preflight) keep their measured time; manual steps
 * count as zero (the operator's own time is theirs to add).
 *
 * Nothing here prints: lines for the operator go through note(). Call it
 * from the main thread (the sandboxes die with the thread that forked them). */
#ifndef FERRY_REHEARSE_H
#define FERRY_REHEARSE_H

#include <stddef.h>
#include <stdint.h>

#include "eventlog.h"
#include "runbook.h"
#include "runner.h"

#define REHEARSE_MAX_POINTS 4096
#define REHEARSE_MAX_ERRORS 32

typedef struct RehearseOptions {
    const char *rdb_path;       /* the snapshot */
    const Runbook *rb;          /* borrowed; its servers are ignored */
    const RunSettings *cli;     /* command-line overrides of shared options; may be NULL */
    const char *report_dir;     /* NULL: "." */
    uint64_t scale_keys;        /* production key count; 0 = the snapshot is all of it */
    uint64_t scale_bytes;       /* production used_memory in bytes; 0 = as the snapshot */
    double margin;              /* memory margin, 0.2 = +20 % (default) */
    void *ud;                   /* callbacks on the calling thread; each may be NULL */
    int (*stopping)(void *ud);  /* non-zero: abort the rehearsal */
    void (*note)(void *ud, EventLevel level, const char *step, const char *text);
} RehearseOptions;

typedef struct RehearseStep {
    char id[RUNBOOK_ID_LEN];
    char title[RUNBOOK_TITLE_LEN];
    char action[32];
    char outcome[16];           /* done, failed, skipped, aborted, or "not run" */
    int manual;                 /* timed as zero */
    int scaled;                 /* its projection grows with the data */
    int64_t start_ms;           /* from the rehearsal's start; -1 not run */
    int64_t duration_ms;        /* from the journal; -1 not run */
    uint64_t keys;              /* keys the step handled (copied, checked, scanned…) */
    uint64_t bytes;             /* payload bytes moved (copy), else 0 */
    double keys_per_s, mb_per_s;/* over its duration; 0 when not measurable */
    int64_t projected_ms;       /* for production */
    char message[FERRY_ERR_LEN];/* the journal's message or error */
} RehearseStep;

typedef struct RehearsePoint {
    int64_t t_ms;               /* from the rehearsal's start */
    double keys_per_s;
} RehearsePoint;

typedef struct RehearseResult {
    RunnerState state;
    char reason[FERRY_ERR_LEN];
    int nsteps;
    RehearseStep steps[RUNBOOK_MAX_STEPS];
    uint64_t snapshot_keys;          /* keys the source held after loading */
    uint64_t source_used_memory;     /* the snapshot, loaded */
    uint64_t target_used_memory_empty;  /* the empty target's baseline */
    uint64_t target_used_memory;     /* after the run */
    uint64_t target_used_memory_peak;/* highest during the run: what the target must hold */
    uint64_t target_keys;            /* after the run */
    double factor_keys, factor_bytes, factor; /* projection factors (1 = none) */
    uint64_t needed_bytes;           /* projected target memory, margin included */
    int64_t total_ms;                /* the rehearsal's runner time */
    int64_t projected_ms;            /* the production window, manual steps as zero */
    char server_version[32];
    int npoints;
    RehearsePoint points[REHEARSE_MAX_POINTS];
    int nerrors;
    char errors[REHEARSE_MAX_ERRORS][FERRY_ERR_LEN]; /* "step: reason" */
    char report_path[1024], svg_path[1024], journal_path[1024];
    char run_id[64];                 /* the journal's run id (names the steps' files) */
} RehearseResult;

void rehearse_options_init(RehearseOptions *o);

/* Runs the rehearsal and writes the report. 0 when the report was written
 * (read res->state for the runbook's outcome: a failed step is in the
 * report, not an error here); -1 with a one-line message when it could not
 * be (no redis-server, an unreadable snapshot, a runbook that cannot run,
 * an unwritable report dir). The caller allocates res (about 200 KB: on
 * the heap). */
int rehearse_run(const RehearseOptions *o, RehearseResult *res, char *err, size_t errlen);

/* Writes the SVG chart of points (hand-written SVG 1.1: axes, ticks,
 * labels, one polyline, step markers) to path. -1 with a message. */
int rehearse_write_svg(const RehearseResult *res, const char *path, char *err, size_t errlen);

#endif
