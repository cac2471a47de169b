/* rdbsource — `ferry copy --source-rdb FILE`: an RDB snapshot file as the
 * source of a copy, no source server needed (e.g. a snapshot exported from a
 * managed service).
 *
 * One reader thread walks the file (rdb.c) and hands keys, already in DUMP
 * form, to N workers that RESTORE them on the target with pipelining, each
 * on its own connection. Same semantics as the engine: the db map and the
 * filters apply; expiries are the file's absolute ones (RESTORE … ABSTTL),
 * and a key already expired when it is read or sent is counted as expired,
 * never written; a BUSYKEY answer is checked against the target's own DUMP
 * and expiry (identical, or a conflict handled by --on-conflict); dropped
 * target connections are reopened and the interrupted RESTOREs resent.
 *
 * Before anything is written, the whole file is walked once: its structure
 * and its CRC64 (a corrupt or truncated snapshot writes nothing), its key
 * count (exact progress and ETA), the dbs that will receive keys. Then the
 * guards: the target is reachable, not a cluster node, accepts the file's
 * RDB version; the target dbs that will receive keys are empty unless
 * --on-conflict was chosen; a target URI naming one db gets one db's keys.
 *
 * The control and snapshot API mirrors the engine's (create / start / wait /
 * snapshot into an EngineSnapshot / pause / resume / set_workers / set_rate
 * / request_stop / free), so the console and the headless printer show it
 * unchanged. The snapshot's "scanner" is the file reader: cursor = byte
 * offset, db_progress = fraction of the file read. */
#ifndef FERRY_RDBSOURCE_H
#define FERRY_RDBSOURCE_H

#include <stddef.h>

#include "cli.h"
#include "engine.h"

typedef struct RdbSource RdbSource;

/* Opens the snapshot (header and version), connects to the target and runs
 * the guards. Uses o's target, dbmap, filter, workers, batch, rate,
 * on_conflict(_explicit), report_path and sample_servers; o->source is not
 * used. Db plan: --db-map as given (other dbs of the file are left out);
 * else a /db on the target URI takes the keys of the file's one db (keys
 * selected in two dbs fail the run before anything is written); else every
 * db to the same number. NULL with a one-line message when a check that
 * needs no reading of the file fails (the rest fail the run, with its
 * reason, before the first write); the caller keeps o. */
RdbSource *rdbsource_create(const char *path, const CopyOptions *o, char *err, size_t errlen);
/* Starts the reader (the verifying pre-pass first), the workers and the
 * monitor. */
int rdbsource_start(RdbSource *s, char *err, size_t errlen);
/* Waits up to timeout_ms (-1 = forever) for the run to end; 1 when it has. */
int rdbsource_wait(RdbSource *s, int timeout_ms);
/* Stops (if needed), joins every thread, frees everything. */
void rdbsource_free(RdbSource *s);

void rdbsource_pause(RdbSource *s);
void rdbsource_resume(RdbSource *s);
void rdbsource_set_workers(RdbSource *s, int n);
void rdbsource_set_rate(RdbSource *s, double keys_per_s);
void rdbsource_request_stop(RdbSource *s);
void rdbsource_log(RdbSource *s, EventLevel level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rdbsource_snapshot(RdbSource *s, EngineSnapshot *out);
EngineState rdbsource_state(RdbSource *s);

/* The same with void *ctx, for ConsoleBackend's function pointers:
 * b.ctx = s; b.snapshot = rdbsource_be_snapshot; ... */
void rdbsource_be_snapshot(void *ctx, EngineSnapshot *out);
void rdbsource_be_pause(void *ctx);
void rdbsource_be_resume(void *ctx);
void rdbsource_be_set_workers(void *ctx, int n);
void rdbsource_be_set_rate(void *ctx, double keys_per_s);
void rdbsource_be_request_stop(void *ctx);
void rdbsource_be_log(void *ctx, EventLevel lvl, const char *text);
int rdbsource_be_wait(void *ctx, int timeout_ms);

/* Command line. 1 when argv (argv[0] = "copy") holds --source-rdb. */
int rdbsource_cli_wanted(int argc, char **argv);
/* Parses `ferry copy --source-rdb FILE --target URI [options]` into c (the
 * same CopyCli that cli_parse_copy fills; c->copy.source stays unset) and
 * *path. 0, or -1 with a one-line usage error (exit code 2). */
int rdbsource_cli_parse(CopyCli *c, const char **path, int argc, char **argv, char *err, size_t errlen);
extern const char rdbsource_cli_usage[];

#endif
