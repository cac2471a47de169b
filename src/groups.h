/* groups — the consumer-group sampler: a bounded, visible load on a server.
 *
 * One sampler per side (source, target): its own thread and its own
 * connection, never the UI thread. It discovers stream keys with
 * `SCAN cursor COUNT n TYPE stream` (a new pass a while after the previous
 * one ended) and asks `XINFO GROUPS key` of each known stream, round-robin.
 *
 * Load: every command it sends — SCAN, XINFO, and the AUTH/SELECT/CLIENT
 * SETNAME of each (re)connection — is paced to at most `budget` commands per
 * second (no bursts: commands are spaced 1/budget s apart at least). When a
 * round trip takes longer than slow_us the spacing doubles (up to
 * max_backoff times); after 8 quick round trips in a row it halves again.
 * While a discovery pass runs and streams are known, SCAN gets every other
 * command; with no stream known yet, all of them.
 *
 * What it knows is published under a mutex; groups_snapshot() copies it out
 * for the console (and a JSON line), and groups_top() is a pure function that
 * ranks groups by pending or lag with a key-prefix filter. Figures are as of
 * each stream's last sample (sampled_ms), never extrapolated; coverage says
 * how much is known: streams sampled / streams known, oldest sample. */
#ifndef FERRY_GROUPS_H
#define FERRY_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "util.h"

typedef struct GroupsConfig {
    ConnConfig conn;    /* the sampler's own connection; the URI's db is the one sampled */
    const char *side;   /* "source" / "target": messages and CLIENT SETNAME ferry-groups-<side> */
    int budget;         /* commands per second, all commands counted; default 20 */
    int rescan_ms;      /* a new discovery pass starts this long after the last one ended; 60000 */
    int scan_count;     /* SCAN COUNT; 1000 */
    int slow_us;        /* a round trip longer than this doubles the spacing; 10000 (10 ms) */
    int max_backoff;    /* spacing is at most this many times 1/budget; 64 */
    size_t max_streams; /* streams tracked at most (memory bound); 200000 */
} GroupsConfig;

typedef enum {
    GROUPS_CONNECTING = 0,
    GROUPS_DISCOVERING, /* first pass: nothing sampled yet */
    GROUPS_SAMPLING,
    GROUPS_RETRYING,    /* connection lost or refused: retrying (error says why) */
    GROUPS_STOPPED
} GroupsState;

typedef struct GroupRow {
    const char *key;          /* stream key: binary (klen bytes), also NUL-terminated */
    size_t klen;
    const char *group;        /* group name: binary (glen bytes), also NUL-terminated */
    size_t glen;
    long long pending;        /* PEL size */
    long long lag;            /* entries not yet delivered; -1 = unknown (nil, or before 7.0) */
    long long entries_read;   /* -1 = unknown */
    long long consumers;
    char last_delivered[48];  /* last-delivered-id */
    int64_t sampled_ms;       /* wall clock (ms since the epoch) of this figure */
} GroupRow;

typedef struct GroupsSnapshot {
    GroupRow *rows;           /* grouped by stream (a stream's groups are adjacent) */
    size_t nrows;
    char *arena;              /* owns the rows' strings */
    int64_t taken_ms;         /* wall clock of the snapshot */
    GroupsState state;
    size_t streams_known;     /* stream keys discovered and still present */
    size_t streams_sampled;   /* of those, sampled at least once */
    int64_t oldest_sample_ms; /* wall clock of the oldest sample among sampled streams; 0 = none */
    int capped;               /* more streams exist than max_streams: streams_known is a floor */
    int passes;               /* discovery passes completed */
    int discovering;          /* a pass is running */
    int budget;               /* configured commands/s */
    int backoff;              /* current spacing factor: 1 = none */
    int64_t last_rtt_us;      /* round trip of the last command */
    uint64_t commands;        /* commands sent since start, handshakes included */
    int64_t started_ms;       /* wall clock of groups_start() */
    char error[FERRY_ERR_LEN];/* the last error, "" when none since the last success */
} GroupsSnapshot;

typedef struct Groups Groups;

void groups_config_init(GroupsConfig *cfg, const char *side);

/* Starts the sampler thread (it connects by itself: connection errors show
 * in the snapshot, and it keeps retrying). The config is copied. NULL with a
 * message only when the thread or memory cannot be had. */
Groups *groups_start(const GroupsConfig *cfg, char *err, size_t errlen);

/* Stops the thread (at once, even mid-wait), closes its connection, frees
 * everything. NULL is fine. */
void groups_stop(Groups *g);

/* Copies the current figures into out (the caller frees them with
 * groups_snapshot_free). -1 when out of memory (out is then empty). */
int groups_snapshot(Groups *g, GroupsSnapshot *out);
void groups_snapshot_free(GroupsSnapshot *s);

typedef enum { GROUPS_BY_PENDING = 0, GROUPS_BY_LAG } GroupsOrder;

typedef struct GroupsTotals {
    size_t groups;            /* rows whose key starts with the prefix */
    size_t streams;           /* distinct streams among them */
    long long pending;        /* summed */
    long long lag;            /* summed over rows whose lag is known */
    size_t lag_unknown;       /* rows whose lag is unknown */
    int64_t oldest_sample_ms; /* oldest sampled_ms among them; 0 = none */
} GroupsTotals;

/* Pure: the rows of s whose key starts with prefix (plen bytes; plen 0 = all),
 * ranked by pending (then lag) or by lag (unknown last, then pending), ties
 * by key then group. Writes up to max indexes into s->rows to idx and
 * returns how many; tot (may be NULL) gets totals over every matching row.
 * -1 when out of memory. */
long groups_top(const GroupsSnapshot *s, GroupsOrder order, const char *prefix, size_t plen, size_t *idx,
                size_t max, GroupsTotals *tot);

const char *groups_state_name(GroupsState st);

#endif
