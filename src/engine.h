/* engine — owns one copy run: its threads, its connections, its state.
 *
 * Callers (the console, the headless printer, runbook actions) drive it only
 * through this control API and read it only through engine_snapshot(); no
 * one pokes at its fields. See engine.c for the thread design. */
#ifndef FERRY_ENGINE_H
#define FERRY_ENGINE_H

#include <stdint.h>

#include "conn.h"
#include "copy.h"
#include "dbmap.h"
#include "eventlog.h"
#include "filter.h"
#include "serverinfo.h"
#include "stats.h"
#include "util.h"

#define ENGINE_MAX_WORKERS 64
#define ENGINE_SNAPSHOT_LOG 64

/* Where a copy can safely resume: every key of every SCAN page before
 * `cursor` in plan entry `db_index` (and of all earlier entries) has been
 * handled. SCAN's guarantee (every key present for the whole scan is
 * returned at least once) makes resuming there lose nothing; keys handled
 * after the checkpoint are met again and counted as identical. */
typedef struct CopyCheckpoint {
    int db_index;       /* index in the run's db plan; == ndb when all done */
    int src_db, dst_db; /* that entry's dbs (-1 when all done) */
    uint64_t cursor;    /* SCAN cursor to resume from; 0 = start of that db */
    uint64_t copied, skipped, identical, expired, failed, bytes; /* at that point */
} CopyCheckpoint;

typedef struct CopyOptions {
    ConnConfig source, target;
    DbMap dbmap;            /* empty: every non-empty source db to itself */
    Filter filter;
    int workers;            /* default 4, 1..ENGINE_MAX_WORKERS */
    int batch;              /* keys per pipelined batch, default 256 */
    int scan_count;         /* SCAN COUNT hint, default 1000 */
    double rate;            /* max keys/s, 0 = unlimited */
    ConflictPolicy on_conflict;
    int on_conflict_explicit; /* the operator chose a policy */
    const char *report_path;  /* skipped/failed keys, one per line; may be NULL */
    int sample_servers;     /* 1 = sample INFO/latency of both sides each second */
    int type_based;         /* copy every key with type commands, never DUMP/RESTORE */
    /* Resume: start at this checkpoint instead of the beginning (NULL = no).
     * The plan (db map, filters) must be the one the checkpoint came from. */
    const CopyCheckpoint *resume_from;
    /* Called from the monitor thread (no engine lock held) at most once a
     * second when the checkpoint moved, and once at the end. */
    void (*on_checkpoint)(void *ud, const CopyCheckpoint *cp);
    void *checkpoint_ud;
} CopyOptions;

void copy_options_init(CopyOptions *o);
/* Frees what the options own (filter patterns). */
void copy_options_free(CopyOptions *o);
const char *conflict_policy_name(ConflictPolicy p);

typedef enum {
    ENGINE_IDLE = 0, /* created, not started */
    ENGINE_RUNNING,
    ENGINE_PAUSED,
    ENGINE_STOPPING, /* finishing in-flight batches after a stop request */
    ENGINE_DONE,     /* everything scanned and handled */
    ENGINE_STOPPED,  /* stopped by the operator before the end */
    ENGINE_FAILED    /* a fatal error (target OOM, lost server); see reason */
} EngineState;

typedef struct WorkerSnapshot {
    WorkerState state;
    uint64_t keys_done;
    int64_t batch_age_ms; /* -1 when not working on a batch */
} WorkerSnapshot;

typedef struct ScannerSnapshot {
    int db_src, db_dst;   /* db being scanned (-1 before the first) */
    int dbs_done, dbs_total;
    uint64_t cursor;
    double db_progress;   /* 0..1 estimated from the cursor's reversed bits */
    int finished;
} ScannerSnapshot;

typedef struct ServerSnapshot {
    char label[300];      /* role + redacted URI */
    char version[32];     /* redis_version (or valkey_version) */
    char role[16];        /* master / slave */
    int rdb_version;      /* DUMP payload version this server writes; 0 = unknown */
    uint64_t used_memory, maxmemory;
    double ops_per_sec;
    long clients;
    double latency_ms;    /* PING round trip */
    uint64_t keys;        /* keys in the db(s) this run touches */
    RateStatus status;    /* RATE_STALE when the last sample is > 3 s old */
    int64_t age_ms;       /* since the last good sample; -1 never */
    char error[160];      /* last sampling error, empty if fine */
} ServerSnapshot;

typedef struct EngineSnapshot {
    EngineState state;
    char reason[FERRY_ERR_LEN]; /* why FAILED/STOPPED, empty otherwise */
    StatsSnapshot stats;
    int workers_target;   /* what the operator asked for */
    int nworkers;         /* threads alive */
    WorkerSnapshot workers[ENGINE_MAX_WORKERS];
    ScannerSnapshot scanner;
    double rate_limit;    /* keys/s, 0 = none */
    ServerSnapshot source, target;
    char fail_samples[FAIL__COUNT][3][128]; /* first keys failed per reason */
    int nlog;
    Event log[ENGINE_SNAPSHOT_LOG]; /* newest last */
} EngineSnapshot;

typedef struct Engine Engine;

/* Connects to both servers and runs the guards: both reachable and
 * authenticated, source and target not the same server and db (run_id),
 * target dbs empty unless --on-conflict was chosen, dbs exist, payload
 * versions compatible. NULL with a one-line message when any fails; nothing
 * has been written to the target then. Takes a copy of the options (and the
 * filter's patterns) so the caller may free its own. */
Engine *engine_create(const CopyOptions *o, char *err, size_t errlen);
/* Starts the scanner, the workers and the monitor. */
int engine_start(Engine *e, char *err, size_t errlen);
/* Waits up to timeout_ms (-1 = forever) for the run to end; 1 when it has. */
int engine_wait(Engine *e, int timeout_ms);
/* Joins every thread and frees everything. Requests a stop first if needed. */
void engine_free(Engine *e);

/* Control API: safe from any thread; each is journaled in the event log. */
void engine_pause(Engine *e);
void engine_resume(Engine *e);
void engine_set_workers(Engine *e, int n);
void engine_set_rate(Engine *e, double keys_per_s);
/* Clean stop: workers finish their current batch, then exit. */
void engine_request_stop(Engine *e);
/* Adds an operator/info line to the engine's event log. */
void engine_log(Engine *e, EventLevel level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One sample of a server for the Servers panel: (re)opens *cp when needed
 * (name: its CLIENT SETNAME), times a PING, reads INFO. On success fills
 * the figures of *s (version, role, memory, ops/s, clients, latency) and
 * *si, and returns 1; otherwise writes s->error, closes a broken *cp and
 * returns 0. The caller keeps the label, key count and timestamps. */
int engine_sample_server(Conn **cp, const ConnConfig *cfg, const char *name, ServerSnapshot *s,
                         ServerInfo *si);

/* The latest safe resume point. */
void engine_checkpoint(Engine *e, CopyCheckpoint *out);

/* Which source db goes to which target db: --db-map; else the /db of the
 * URIs (/1 -> /0); else every non-empty source db to the same number (a
 * target /db then takes a single non-empty source db). -1 with a message
 * when the map and the URIs disagree. Shared by the engine and preflight. */
int engine_db_plan(const CopyOptions *o, const ServerInfo *src, int *src_db, int *dst_db, int max, int *n,
                   char *err, size_t errlen);

/* Copies the whole state under one lock; cheap enough for 10 calls/s. */
void engine_snapshot(Engine *e, EngineSnapshot *out);
EngineState engine_state(Engine *e);
const char *engine_state_name(EngineState s);
const char *worker_state_name(WorkerState s);

#endif
