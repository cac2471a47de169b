/* verify — proves (or disproves) that the target holds what the source
 * holds: key counts per db and per type, then key by key, every key or a
 * uniform sample, in both directions.
 *
 * Forward (source → target), one pipelined round trip per step and batch:
 *   1. TYPE + PEXPIRETIME (PTTL before 7.0) on both sides: presence, type,
 *      absolute expiry (within a tolerance).
 *   2. Strings and module types: DUMP on both sides. Aggregates: their
 *      length first (HLEN/SCARD/ZCARD/LLEN/XLEN), then DUMP when small.
 *   3. When the DUMP bytes differ (or the servers write different RDB
 *      versions, or the key is big) the key is compared by type, read in
 *      chunks on both sides: GETRANGE, LRANGE, ZRANGE…WITHSCORES, HSCAN on
 *      the source + HMGET on the target, SSCAN + SMISMEMBER; streams by
 *      XINFO STREAM, XRANGE, XINFO GROUPS (last-delivered-id, entries-read),
 *      XINFO CONSUMERS (name, pending) and XPENDING (id, consumer, delivery
 *      count; never idle time). Sets and hashes are compared without
 *      regard to order: a hash-table set or hash DUMPs in another order on
 *      another server (its hash seed differs).
 * Reverse (target → source): SCAN the target; one EXISTS k1 … kn on the
 *   source per page (per key only when some are absent): extra keys.
 *
 * --sample N: per db and side, a uniform reservoir sample (Algorithm R) of
 * N keys drawn from SCAN … TYPE t walks, which also give exact per-type
 * counts; only the sample is compared key by key. (RANDOMKEY is not used:
 * it is biased towards sparse buckets, repeats keys and ignores filters.)
 *
 * Load on the source is bounded by a command budget (commands per second,
 * every command counted: SCAN, TYPE, DUMP, each chunk read…); the target
 * is not throttled. A dropped connection is reopened and the batch redone.
 *
 * Nothing here prints: findings go to the report file and the callbacks. */
#ifndef FERRY_VERIFY_H
#define FERRY_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "dbmap.h"
#include "eventlog.h"
#include "filter.h"

/* How a key compared. A key is counted once, under the first that applies:
 * missing, different (type or value), ttl-drift, matching. A key whose
 * value and expiry both differ is counted as different and gets two
 * report lines. */
typedef enum {
    VK_MATCHING = 0,
    VK_MISSING,   /* on the source, not on the target */
    VK_EXTRA,     /* on the target, not on the source */
    VK_DIFFERENT, /* type or value differs */
    VK_TTL_DRIFT, /* absolute expiry differs by more than the tolerance */
    VK_GONE,      /* expired or deleted while being checked: not a mismatch */
    VK__COUNT
} VerifyKind;

/* Per-type counters: string, list, set, zset, hash, stream, other. */
#define VERIFY_NTYPES 7

typedef struct VerifyProgress {
    const char *phase;      /* "counting", "source → target", "target → source" */
    int db_index, ndb;      /* 0-based position in the db plan */
    int src_db, dst_db;
    double db_progress;     /* 0..1 within this phase of this db */
    uint64_t src_checked;   /* source keys compared */
    uint64_t dst_checked;   /* target keys looked up on the source */
    uint64_t counts[VK__COUNT];
    double keys_per_s;      /* both directions, over the last second */
    double src_cmds_per_s;  /* commands sent to the source, last second */
    double budget;          /* 0 = unlimited */
    int64_t elapsed_ms;
} VerifyProgress;

typedef struct VerifyOptions {
    ConnConfig source, target;
    DbMap dbmap;           /* empty: the URIs' dbs, else every non-empty db of either side */
    Filter filter;         /* the caller owns it (verify only reads it) */
    long sample;           /* 0 = every key; N = N keys per db and side */
    uint64_t seed;         /* sample seed; 0 = from the clock */
    long ttl_tolerance_ms; /* -1 = automatic: 0 when both sides have PEXPIRETIME, else 1000 */
    double budget;         /* source commands per second; 0 = unlimited */
    int batch;             /* keys per pipelined batch (200) */
    int scan_count;        /* SCAN COUNT hint (500) */
    int chunk;             /* elements per chunked read (500) */
    const char *report_path; /* every mismatch, one per line; NULL = none */
    /* Callbacks, all on the calling thread; each may be NULL. */
    void *ud;
    int (*stopping)(void *ud); /* non-zero: stop as soon as possible */
    void (*progress)(void *ud, const VerifyProgress *p); /* about once a second */
    void (*note)(void *ud, EventLevel level, const char *text); /* plan, warnings */
} VerifyOptions;

typedef struct VerifyDb {
    int src_db, dst_db;
    uint64_t src_dbsize, dst_dbsize;        /* DBSIZE at the start */
    uint64_t src_types[VERIFY_NTYPES];      /* keys per type that pass the filter */
    uint64_t dst_types[VERIFY_NTYPES];
    int types_exact;                        /* 0: "other" could not be counted */
    uint64_t src_walked, dst_walked;        /* keys the walks met (filter passed) */
    uint64_t counts[VK__COUNT];
} VerifyDb;

#define VERIFY_SAMPLES 3

typedef struct VerifyResult {
    int ndb;
    VerifyDb db[DBMAP_MAX];
    uint64_t counts[VK__COUNT];
    uint64_t src_checked, dst_checked;
    uint64_t src_commands;
    int64_t elapsed_ms;
    long ttl_tolerance_ms;  /* the tolerance used */
    int dump_compare;       /* 1 when both sides write the same RDB version */
    long sample;            /* as asked */
    int complete;           /* 1 when every planned check ran */
    uint64_t report_lines;
    /* The first few keys per kind (printable, shortened), for the summary. */
    char samples[VK__COUNT][VERIFY_SAMPLES][96];
    int nsamples[VK__COUNT];
} VerifyResult;

void verify_options_init(VerifyOptions *o);

/* Runs the whole verification. Returns 0 when it ran to the end (read
 * res->counts for the verdict), -1 with a one-line message when it could
 * not (a server unreachable or lost, a refused command, a guard, or a stop
 * request; res holds what was found until then, res->complete = 0). */
int verify_run(const VerifyOptions *o, VerifyResult *res, char *err, size_t errlen);

/* 1 when nothing is missing, extra, different or drifting. */
int verify_clean(const VerifyResult *res);
const char *verify_kind_name(VerifyKind k);
/* "string", "list", …, "other" for i in [0, VERIFY_NTYPES). */
const char *verify_type_name(int i);


/* The command line of `ferry verify`, parsed without network. */
typedef struct VerifyCli {
    VerifyOptions opt;
    int no_tui, json, help;
    int password_on_cmdline; /* scrub argv and warn */
} VerifyCli;

void verify_cli_init(VerifyCli *c);
void verify_cli_free(VerifyCli *c);
/* argv[0] is "verify". 0, or -1 with a one-line usage error (exit 2). */
int verify_cli_parse(VerifyCli *c, int argc, char **argv, char *err, size_t errlen);
extern const char verify_usage[];

#endif
