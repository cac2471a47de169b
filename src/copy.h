/* copy — moves one Batch of keys from source to target: the hot path.
 *
 * Source side, one pipeline: [TYPE k] PEXPIRETIME k (PTTL before 7.0) DUMP k
 * for every key. Target side, one pipeline: RESTORE k <abs-ms> <payload>
 * ABSTTL [REPLACE]. A BUSYKEY answer is checked against the target's own
 * DUMP and expiry: a key that is already there, identical, is counted as
 * identical (SCAN may return a key twice; a resumed run meets its own keys)
 * and only a real difference is a conflict. Expiries are absolute, so the copy is exact to the
 * millisecond however long the batch takes; a key whose expiry passes
 * before its RESTORE is counted as expired and not sent.
 *
 * A dropped connection is reopened (capped backoff) and the interrupted part
 * of the batch is sent again; a RESTORE whose reply was lost and that now
 * answers BUSYKEY is checked against the target's own DUMP, so a key we
 * restored ourselves is never reported as a conflict.
 *
 * A key the target refuses to RESTORE because the payload is too new or too
 * large is copied the type-based way (typecopy.c: chunked reads, a
 * temporary key renamed into place), and --type-based does that for every
 * key. */
#ifndef FERRY_COPY_H
#define FERRY_COPY_H

#include <stddef.h>

#include "conn.h"
#include "filter.h"
#include "scan.h"
#include "stats.h"
#include "typecopy.h"

typedef enum { CONFLICT_FAIL = 0, CONFLICT_SKIP, CONFLICT_REPLACE } ConflictPolicy;

typedef enum {
    WORKER_IDLE = 0, /* waiting for a batch */
    WORKER_DUMPING,
    WORKER_RESTORING,
    WORKER_BACKOFF,  /* reconnecting */
    WORKER_PAUSED,
    WORKER_THROTTLED, /* holding a batch, waiting for the rate limit */
    WORKER_EXITED
} WorkerState;

typedef struct CopyHooks {
    void *ud;
    void (*state)(void *ud, WorkerState s);
    /* A key that was not copied: skipped (BUSYKEY under skip, reason =
     * FAIL_BUSYKEY, skipped = 1) or failed (skipped = 0). detail is the
     * server's error line. */
    void (*key)(void *ud, int skipped, FailReason r, int db, const char *key, size_t len,
                const char *detail);
} CopyHooks;

typedef struct CopyWorker {
    Conn *src, *dst;
    const Filter *filter;
    ConflictPolicy policy;
    int use_pexpiretime; /* source has PEXPIRETIME */
    int dst_pexpiretime; /* target has PEXPIRETIME (for the identical check) */
    int check_type;      /* filter by type client-side (several types chosen) */
    int type_based;      /* --type-based: never DUMP/RESTORE, copy with type commands */
    int fallback;        /* on a payload version/size refusal, copy that key type-based */
    int dst_rdb;         /* the source's payloads are newer than the target takes: each one is
                            planned (rdbvalue_plan) against this version; 0 = they fit */
    int src_valkey;      /* the source is Valkey (what its type 22 means) */
    TypeCopyOptions tc_opt;
    TypeCopyStats tc_stats;
    Stats *stats;
    const _Atomic int *cancel; /* set when the run is stopping: stop reconnecting */
    CopyHooks hooks;
    /* Scratch reused from batch to batch (owned). */
    int cap;
    redisReply **type_r, **ttl_r, **dump_r;
    long long *abs_ms;
    unsigned char *todo;
    int *order;
    int *busy;
    int *slow; /* keys to copy type-based after the pipeline */
} CopyWorker;

void copy_worker_init(CopyWorker *w);
void copy_worker_free(CopyWorker *w);

/* Copies every key of b. Counters go to w->stats; *handled gets the number
 * of keys dealt with (copied, skipped, expired, filtered or failed).
 * Returns 0, or -1 on an error that must stop the run (target out of memory,
 * RESTORE/DUMP refused by the server, connection lost for good) with a
 * one-line message in err. */
int copy_batch(CopyWorker *w, const Batch *b, int *handled, char *err, size_t errlen);

#endif
