/* prune — deletes from the target what does not belong there: SCAN the
 * target's db, select keys by one rule — drop (a key matching any of the
 * globs goes) or keep (a key matching none of the globs goes) — optionally
 * narrowed to some types (only keys of those types may go), and UNLINK
 * them in pipelined batches.
 *
 * Without execute it is a dry run: counts, a per-prefix summary and a
 * sample of names; nothing is deleted. With execute every name deleted is
 * appended to a log file (escaped, one per line, fsync'ed at the end) for
 * the audit.
 *
 * It never runs on the source: when a source is given, a target with the
 * same run_id (the same server under any address, any db) is refused
 * before anything is read. SCAN tolerates deletions during the walk:
 * every key present for the whole walk is met at least once. */
#ifndef FERRY_PRUNE_H
#define FERRY_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "eventlog.h"
#include "filter.h"

typedef enum { PRUNE_NONE = 0, PRUNE_DROP, PRUNE_KEEP } PruneRule;

#define PRUNE_TOP_PREFIXES 10
#define PRUNE_SAMPLES 20

typedef struct PruneProgress {
    int execute;
    double progress;       /* 0..1 from the SCAN cursor */
    uint64_t scanned, selected, deleted;
    double keys_per_s;     /* scanned per second */
    int64_t elapsed_ms;
} PruneProgress;

typedef struct PruneOptions {
    ConnConfig target;
    ConnConfig source;      /* used only when has_source: the server never to touch */
    int has_source;
    int db;                 /* -1: the target URI's db, else 0 */
    PruneRule rule;
    Filter filter;          /* include = the --keep/--drop globs; types = --type (what may go) */
    int execute;
    const char *deleted_log;/* NULL: ./ferry-pruned-<UTC time>.txt (execute only) */
    int batch;              /* UNLINKs per pipeline (500) */
    double rate;            /* at most this many deletions a second; 0 = no limit */
    int scan_count;         /* SCAN COUNT hint (1000) */
    void *ud;               /* callbacks on the calling thread; each may be NULL */
    int (*stopping)(void *ud);
    void (*progress)(void *ud, const PruneProgress *p);
    void (*note)(void *ud, EventLevel level, const char *text);
} PruneOptions;

typedef struct PrunePrefix {
    char name[80];          /* "cache:" (escaped) or "(no prefix)" */
    uint64_t n;
} PrunePrefix;

typedef struct PruneResult {
    int db;
    int64_t dbsize_before, dbsize_after; /* -1 unknown */
    uint64_t scanned;       /* keys SCAN returned (after a server-side MATCH/TYPE) */
    uint64_t selected;      /* keys the rule selects: would go (dry run) / were sent UNLINK */
    uint64_t deleted;       /* UNLINK removed them (logged) */
    uint64_t vanished;      /* selected, but gone before the UNLINK */
    int nprefix;
    PrunePrefix top[PRUNE_TOP_PREFIXES]; /* selected keys by prefix (up to the first ':'), largest first */
    uint64_t other_prefixes; /* selected keys under prefixes not in top */
    int nsamples;
    char samples[PRUNE_SAMPLES][100]; /* the first selected names (escaped, shortened) */
    char deleted_log[1024]; /* the log written (execute) */
    int complete;
    int64_t elapsed_ms;
} PruneResult;

void prune_options_init(PruneOptions *o);

/* Runs the dry run or the deletion. 0 when the walk finished; -1 with a
 * one-line message (the source guard, an unreachable target, a refused
 * command, a stop request: res says how far it got and what was deleted). */
int prune_run(const PruneOptions *o, PruneResult *res, char *err, size_t errlen);

/* The command line of `ferry prune`, parsed without network. */
typedef struct PruneCli {
    PruneOptions opt;
    int help;
    int password_on_cmdline;
} PruneCli;

void prune_cli_init(PruneCli *c);
void prune_cli_free(PruneCli *c);
/* argv[0] is "prune". 0, or -1 with a one-line usage error (exit 2). */
int prune_cli_parse(PruneCli *c, int argc, char **argv, char *err, size_t errlen);
extern const char prune_usage[];

#endif
