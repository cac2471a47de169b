/* preflight — what each server allows and whether the plan fits, found out
 * before the window instead of in it. Nothing here writes to a server.
 *
 * Checks, each a line of pass / info / warn / fail with the reason and the
 * fix: both servers reachable and authenticated; versions and DUMP payload
 * compatibility; the commands the plan needs, probed with COMMAND INFO (a
 * command renamed or removed, as managed services do, answers nil) and, for
 * the connected user, ACL DRYRUN; the commands managed services commonly
 * disable (CONFIG, DEBUG, MIGRATE, REPLICAOF/SLAVEOF, SYNC/PSYNC, CLIENT
 * PAUSE…); target memory headroom against the source's estimated size of
 * the selected keys (MEMORY USAGE on a sample) with a margin; an evicting
 * maxmemory-policy; cluster mode (only db 0); a read-only replica target;
 * key counts per db; the same server on both sides (run_id).
 *
 * A fail means the plan will not work as written; a warn is worth reading
 * but does not block. */
#ifndef FERRY_PREFLIGHT_H
#define FERRY_PREFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "serverinfo.h"

typedef enum { PF_PASS = 0, PF_INFO, PF_WARN, PF_FAIL } PreflightLevel;

typedef struct PreflightLine {
    PreflightLevel level;
    char check[40];   /* "source", "target memory", "commands (target)" … */
    char reason[512];
    char fix[320];    /* empty when nothing to do */
} PreflightLine;

typedef struct PreflightReport {
    int n, cap;
    PreflightLine *lines;
    int npass, ninfo, nwarn, nfail;
} PreflightReport;

enum { PF_SOURCE = 1, PF_TARGET = 2 };

#define PREFLIGHT_MAX_NEEDS 48
#define PREFLIGHT_MAX_ARGS 6

/* One command a planned action needs on one side. */
typedef struct PreflightNeed {
    int side;                          /* PF_SOURCE or PF_TARGET */
    const char *command;               /* COMMAND INFO name: "dump", "client|pause" */
    const char *args[PREFLIGHT_MAX_ARGS]; /* example arguments for ACL DRYRUN, NULL-terminated */
    const char *action;                /* who needs it, for messages */
    int optional;                      /* missing = warn (there is a fallback), not fail */
    const char *fallback;              /* what happens without it (optional ones) */
} PreflightNeed;

typedef struct PreflightPlan {
    int n;
    PreflightNeed needs[PREFLIGHT_MAX_NEEDS];
    int copies;          /* the plan copies keys: memory, payloads, key counts matter */
    int flushes_target;  /* a step empties the target dbs first */
} PreflightPlan;

typedef struct PreflightOptions {
    const CopyOptions *copy;  /* servers, db map, filters, on-conflict */
    int accept_eviction;      /* an evicting target policy is a warn, not a fail */
    double margin;            /* memory headroom margin, 0.2 = 20 % (default) */
    int sample_keys;          /* keys sampled per db for MEMORY USAGE (default 200) */
} PreflightOptions;

void preflight_plan_init(PreflightPlan *p);
/* Adds a need once (same side and command are merged). */
void preflight_plan_need(PreflightPlan *p, int side, const char *command, const char *action,
                         int optional, const char *fallback, const char *const *args);
/* The plan of a plain `ferry copy` (what `ferry preflight` checks by default). */
void preflight_plan_copy(PreflightPlan *p);

void preflight_options_init(PreflightOptions *o, const CopyOptions *copy);
/* Runs every check; the report owns its lines (preflight_report_free). A
 * server that cannot be reached is a fail line, not an error: -1 only when
 * the report itself cannot be built (out of memory). */
int preflight_run(const PreflightOptions *o, const PreflightPlan *plan, PreflightReport *rep,
                  char *err, size_t errlen);
void preflight_report_free(PreflightReport *rep);
const char *preflight_level_name(PreflightLevel l);

#endif
