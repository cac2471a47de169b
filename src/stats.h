/* stats — the copy's counters and rates.
 *
 * Workers bump atomic counters on the hot path (no lock). Once a second the
 * engine's monitor calls stats_tick(), which turns counter deltas into a
 * per-second history (for sparklines) and current rates. stats_snapshot()
 * copies everything a console panel or a headless line needs. */
#ifndef FERRY_STATS_H
#define FERRY_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define STATS_HISTORY 300 /* seconds of per-second history */

typedef enum {
    FAIL_BUSYKEY = 0, /* target key exists and --on-conflict fail */
    FAIL_VERSION,     /* DUMP payload version newer than the target's */
    FAIL_OOM,         /* target out of memory */
    FAIL_TOOLARGE,    /* payload larger than the target accepts */
    FAIL_OTHER,
    FAIL__COUNT
} FailReason;

/* htop's NetworkIOMeter: a number carries whether it can be trusted. */
typedef enum { RATE_INIT = 0, RATE_NODATA, RATE_STALE, RATE_OK } RateStatus;

typedef struct Stats {
    _Atomic uint64_t scanned;   /* keys returned by SCAN that passed the filter */
    _Atomic uint64_t filtered;  /* keys SCAN returned that the filter dropped */
    _Atomic uint64_t copied;    /* restored on the target */
    _Atomic uint64_t skipped;   /* existed on the target, --on-conflict skip */
    _Atomic uint64_t identical; /* already on the target with the same value and expiry */
    _Atomic uint64_t expired;   /* gone or expired between SCAN and RESTORE */
    _Atomic uint64_t failed;    /* sum of failed_by */
    _Atomic uint64_t failed_by[FAIL__COUNT];
    _Atomic uint64_t bytes;     /* DUMP payload bytes restored */
    _Atomic uint64_t retries;   /* batches resent after a reconnect */

    /* Written by stats_tick() only, read under lock by stats_snapshot(). */
    pthread_mutex_t lock;
    int64_t start_ms;      /* monotonic */
    int64_t end_ms;        /* monotonic; 0 while running */
    int64_t last_tick_ms;
    uint64_t last_done;    /* copied+skipped+expired+failed at last tick */
    uint64_t last_bytes;
    float keys_hist[STATS_HISTORY];
    float bytes_hist[STATS_HISTORY];
    int hist_len;          /* valid samples, newest at index hist_len-1 */
    double keys_rate;      /* keys/s over the last ~3 s */
    double bytes_rate;
    uint64_t total_estimate; /* keys expected (source DBSIZE of chosen dbs) */
} Stats;

typedef struct StatsSnapshot {
    uint64_t scanned, filtered, copied, skipped, identical, expired, failed, bytes, retries;
    uint64_t failed_by[FAIL__COUNT];
    uint64_t done;           /* copied + skipped + identical + expired + failed */
    uint64_t total_estimate; /* 0 = unknown */
    double keys_rate, bytes_rate;
    RateStatus rate_status;
    int hist_len;
    float keys_hist[STATS_HISTORY];
    float bytes_hist[STATS_HISTORY];
    int64_t elapsed_ms;
    int64_t eta_ms;          /* -1 = unknown */
    double progress;         /* 0..1, or -1 when the total is unknown */
} StatsSnapshot;

void stats_init(Stats *s);
void stats_destroy(Stats *s);
void stats_start(Stats *s, uint64_t total_estimate);
void stats_finish(Stats *s);
void stats_fail(Stats *s, FailReason r);
/* Call about once a second; now_ms is monotonic. */
void stats_tick(Stats *s, int64_t now_ms);
void stats_snapshot(Stats *s, StatsSnapshot *out, int64_t now_ms);
const char *stats_fail_name(FailReason r);

#endif
