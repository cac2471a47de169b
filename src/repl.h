/* repl — replication between the source and the target, watched and
 * steered: what INFO replication says on both sides, turned into the
 * figures an operator cuts over on (offsets side by side, lag in bytes and
 * seconds, link state, full-sync progress), and the REPLICAOF plumbing the
 * runbook actions share (replicate, wait-sync, wait-offset, promote).
 *
 * Three layers, so that the logic is testable without a server:
 *   1. repl_info_parse(): the text of INFO (replication) → ReplInfo. Pure.
 *   2. ReplState: the latest sample of each side plus a history of offsets,
 *      fed by repl_state_record() / repl_state_tick(); repl_view_build()
 *      turns a ReplState into the ReplView a console panel draws and the
 *      headless printer formats (repl_view_format_line / _json). Pure:
 *      time is a parameter.
 *   3. ReplMonitor: a thread with its own two connections that samples
 *      both sides every interval (1 s by default; source first, then
 *      target, so that "target offset >= source offset" within one tick
 *      means the target has everything the source had) and publishes the
 *      ReplState under a lock. Readers copy it (repl_monitor_state) and
 *      build their view from the copy.
 *
 * The cutover condition (ReplView.caught_up), PINGs included: while writes
 * are paused the source's master_repl_offset still grows, because the
 * primary PINGs its replicas every repl-ping-replica-period. Comparing a
 * source offset with a target offset read at another moment, or waiting for
 * the source's offset to stop moving, is therefore wrong. Two comparisons
 * are right, and either proves the target has every write the source had
 * acknowledged at the moment the source was sampled:
 *   - in one INFO of the source: the target's acknowledged offset
 *     (slaveN:…,offset=) equals master_repl_offset (the replica acks once a
 *     second, so this one trails by up to a second);
 *   - the target's processed offset (slave_repl_offset), read *after* the
 *     source's sample, is >= the source's master_repl_offset, with the same
 *     replication id on both (the offsets are of one history).
 * A PING that lands in between only delays the condition by one sample. */
#ifndef FERRY_REPL_H
#define FERRY_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "stats.h"

#define REPL_MAX_REPLICAS 16
#define REPL_HISTORY 120        /* samples kept: the sparkline and the rate window */
#define REPL_RATE_WINDOW_MS 10000
#define REPL_ERR_LEN 200

/* What an operator should do when a target refuses REPLICAOF: the message
 * names the follow action (issue: PSYNC follower, `ferry follow`). */
#define REPL_FOLLOW_HINT                                                                      \
    "the way forward is the follow action (ferry follow, a later feature): ferry itself "      \
    "follows the source over PSYNC and writes what it receives to the target"

/* Who needs REPLICAOF, as preflight names it: its fail line for a target
 * without REPLICAOF reads "… and the <this> step needs it", so the name
 * carries the way forward. */
#define REPL_NEEDS_REPLICAOF_BY \
    "replicate (a target that refuses REPLICAOF needs the follow action, ferry follow, instead)"

/* One replica as its primary lists it (INFO replication, slaveN:). */
typedef struct ReplReplica {
    char ip[64];
    int port;
    char state[24];          /* wait_bgsave, send_bulk, online… */
    long long offset;        /* the offset it acknowledged */
    long long lag_s;         /* seconds since its last acknowledgement */
} ReplReplica;

/* INFO replication of one server. Numbers absent from the text are -1. */
typedef struct ReplInfo {
    int valid;               /* the text had a role: line */
    char role[16];           /* "master" / "slave" */
    char replid[48];         /* master_replid: names the offset history */
    long long master_repl_offset;
    /* Primary side. */
    int connected_slaves;
    int nreplicas;           /* parsed slaveN lines (at most REPL_MAX_REPLICAS) */
    ReplReplica replicas[REPL_MAX_REPLICAS];
    long long backlog_size, backlog_first_byte, backlog_histlen;
    /* Replica side. */
    char master_host[256];
    int master_port;         /* 0 when absent */
    char link_status[16];    /* "up" / "down"; "" on a primary */
    long long last_io_s;     /* master_last_io_seconds_ago */
    int sync_in_progress;    /* master_sync_in_progress */
    long long sync_total_bytes, sync_read_bytes, sync_left_bytes; /* -1: unknown (diskless) */
    long long sync_last_io_s;
    long long link_down_s;   /* master_link_down_since_seconds (-1: never was up) */
    long long slave_repl_offset;      /* processed; -1 absent */
    long long slave_read_repl_offset; /* received (7.0+); -1 absent */
} ReplInfo;

/* Parses INFO (or INFO replication) text; other sections are ignored. */
void repl_info_parse(const char *text, ReplInfo *out);
/* The replica among info's slaveN lines at ip:port (exact), else the only
 * one with that port; NULL when none (or ambiguous). */
const ReplReplica *repl_info_find_replica(const ReplInfo *info, const char *host, int port);

/* The latest sample of one side. */
typedef struct ReplSample {
    int have;                /* a good sample exists */
    int64_t at_ms;           /* monotonic time of the last good sample */
    ReplInfo info;           /* the last good sample (kept when a later one fails) */
    int failing;             /* the latest attempt failed */
    char error[REPL_ERR_LEN];/* why (names the server, never a password) */
} ReplSample;

/* One point of the offset history, per tick. */
typedef struct ReplPoint {
    int64_t t_ms;            /* monotonic */
    long long source_offset; /* -1 unknown */
    long long target_offset; /* -1 unknown or not comparable (other history) */
    long long lag_bytes;     /* -1 unknown */
} ReplPoint;

/* A ring of points; index 0 of repl_history_at() is the oldest. */
typedef struct ReplHistory {
    int n, head;             /* head: where the next point goes */
    ReplPoint pts[REPL_HISTORY];
} ReplHistory;

void repl_history_push(ReplHistory *h, const ReplPoint *p);
const ReplPoint *repl_history_at(const ReplHistory *h, int i);

/* Everything the view is built from: what the monitor publishes. */
typedef struct ReplState {
    ReplSample source, target;
    ReplHistory history;
    char target_host[256];   /* to find the target among the source's replicas */
    int target_port;
    int64_t interval_ms;     /* sampling period; a sample older than 3 is stale */
    uint64_t seq;            /* ticks so far */
} ReplState;

void repl_state_init(ReplState *st, const char *target_host, int target_port, int64_t interval_ms);
/* Records one side's sample (side 0 = source, 1 = target): the INFO text,
 * or NULL with error when the attempt failed. */
void repl_state_record(ReplState *st, int side, const char *info_text, const char *error, int64_t now_ms);
/* Ends a tick: appends a history point from the current samples. */
void repl_state_tick(ReplState *st, int64_t now_ms);

typedef enum {
    REPL_LINK_UNKNOWN = 0,   /* no sample of the target */
    REPL_LINK_NONE,          /* the target is a primary: it replicates nothing */
    REPL_LINK_CONNECTING,    /* a replica whose link is not up yet: handshake, waiting for the source's snapshot */
    REPL_LINK_SYNC,          /* full sync: the snapshot is being transferred / loaded */
    REPL_LINK_UP,            /* streaming */
    REPL_LINK_DOWN           /* was up, is down now: it reconnects (partial or full resync) */
} ReplLink;

const char *repl_link_name(ReplLink l);

/* The replication panel's model (and the headless line's). Numbers that
 * are not known are -1; a stale sample keeps its last numbers and says so
 * in status instead of showing zero. */
typedef struct ReplView {
    RateStatus status;       /* INIT: no sample yet, or rate not known yet; NODATA: the target
                                does not replicate; STALE: a side's sample is old or failing; OK */
    int64_t age_ms;          /* age of the older of the two latest good samples; -1 never */
    char source_error[REPL_ERR_LEN], target_error[REPL_ERR_LEN]; /* "" when sampling works */
    /* Source. */
    char source_role[16];
    long long source_offset; /* master_repl_offset */
    double source_rate;      /* bytes/s of source_offset over the last ~10 s; -1 unknown */
    int nreplicas;           /* connected_slaves of the source */
    int replica_found;       /* the source lists the target among its replicas */
    char replica_state[24];  /* its state there ("" when not found) */
    long long acked_offset;  /* the offset the target acknowledged to the source */
    long long ack_age_s;     /* seconds since that acknowledgement (the source's lag=) */
    /* Target. */
    char target_role[16];
    ReplLink link;
    char master_host[256];   /* whom the target follows ("" when a primary) */
    int master_port;
    int same_history;        /* master_replid equal: the offsets are comparable */
    long long target_offset; /* processed offset, when same_history; else -1 */
    long long last_io_s;     /* since the target last heard from its primary */
    long long link_down_s;   /* how long its link has been down (-1: up / never up) */
    /* Lag. */
    long long lag_bytes;     /* source_offset − target_offset (≥ 0) */
    double lag_seconds;      /* lag_bytes / source_rate (0 when lag is 0) */
    int acked_equal;         /* acked_offset == source_offset in one INFO of the source */
    int caught_up;           /* the cutover condition (see the top of this file) */
    /* Full sync. */
    int sync_active;
    long long sync_total_bytes, sync_read_bytes, sync_left_bytes; /* -1 unknown (diskless) */
    double sync_progress;    /* 0..1; -1 unknown */
    /* Sparkline: lag in bytes per tick, oldest first; -1 = unknown at that tick. */
    int hist_len;
    float lag_hist[REPL_HISTORY];
} ReplView;

/* The view of st at monotonic time now_ms. Pure. */
void repl_view_build(const ReplState *st, int64_t now_ms, ReplView *out);
/* "link up · source 1.2M · target 1.2M (acked 1.2M) · lag 0 B (0.0 s) · 12 KiB/s"
 * — one line, as the headless printer shows it every second. */
void repl_view_format_line(const ReplView *v, char *buf, size_t len);
/* The same figures as one JSON object (no newline). */
void repl_view_format_json(const ReplView *v, char *buf, size_t len);
const char *repl_status_name(RateStatus s);
/* 1 when, as things stand, the target will never reach the source's offset
 * (why in msg, naming what to do): it is a primary, or it is linked up to
 * a server of another replication history. 0 otherwise (it may still be
 * connecting or syncing). */
int repl_view_blocked(const ReplView *v, const char *target_label, char *msg, size_t len);

/* "1048576", "512k", "64kb", "1MB", "2 GiB"… → bytes (1k = 1024). -1 on error. */
int repl_parse_bytes(const char *text, long long *out);

/* ------------------------------------------------------------- monitor */

typedef struct ReplMonitorOptions {
    const ConnConfig *source, *target; /* copied (the TLS option strings are borrowed and
                                          must outlive the monitor); their db is ignored */
    int interval_ms;                   /* default 1000 */
} ReplMonitorOptions;

typedef struct ReplMonitor ReplMonitor;

/* Starts the sampling thread. The first tick runs at once; a server that
 * cannot be reached is a failing sample (retried every tick), not an
 * error. NULL with a message only when the thread cannot start. */
ReplMonitor *repl_monitor_start(const ReplMonitorOptions *o, char *err, size_t errlen);
/* Stops the thread (at most one connect/read timeout, 3 s), closes its
 * connections, frees everything. */
void repl_monitor_stop(ReplMonitor *m);
/* Copies the published state (about 10 KB) under the lock. */
void repl_monitor_state(ReplMonitor *m, ReplState *out);
/* Waits until a tick newer than after_seq has been published or timeout_ms
 * passes; returns the newest seq. */
uint64_t repl_monitor_wait(ReplMonitor *m, uint64_t after_seq, int timeout_ms);

/* ------------------------------------------------------- for the actions */

/* One INFO replication of c, parsed. -1 with a message naming the server. */
int repl_fetch(Conn *c, ReplInfo *out, char *err, size_t errlen);

#endif
