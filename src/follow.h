/* follow — ferry as a replica of the source: the PSYNC follower that keeps
 * a target up to date when the target refuses REPLICAOF (managed services).
 *
 * One thread, three connections: the replication link to the source (a
 * plain client that turns into a replica with REPLCONF + PSYNC), a control
 * connection to the source (COMMAND, COMMAND GETKEYS), and the target.
 *
 *   handshake   REPLCONF listening-port <n>, REPLCONF capa eof capa psync2,
 *               PSYNC ? -1 (first time) or PSYNC <replid> <offset+1>.
 *   snapshot    +FULLRESYNC <replid> <offset>, then "$<len>" (disk) or
 *               "$EOF:<mark>" (diskless): read by rdb.c, every key that the
 *               db map and the filters select goes to the target as
 *               RESTORE key <abs-ms> payload ABSTTL [REPLACE]; a key already
 *               expired is counted, not sent; function libraries are loaded
 *               with FUNCTION LOAD REPLACE.
 *   stream      RESP arrays parsed with hiredis's reader; the offset counts
 *               every byte consumed (PINGs included). SELECT goes through
 *               the db map (a db outside the map: its commands are dropped);
 *               MULTI/EXEC are kept; a command's keys (positions from the
 *               source's COMMAND: first/last/step, subcommands, GETKEYS for
 *               movable keys) decide: every key filtered out → dropped, a
 *               mix → applied whole with a warning. MOVE/COPY … DB/SWAPDB
 *               have their db numbers mapped; FLUSHALL/FLUSHDB under filters
 *               are not applied (a warning says so). REPLCONF GETACK is
 *               answered; REPLCONF ACK <applied offset> goes out every
 *               second, and soon after the applied offset moves.
 *
 * "Applied offset": every command up to it has been answered by the target
 * and no transaction is open. It is what ferry acknowledges to the source,
 * so the source's own INFO replication lists the follower (ip of ferry's
 * host, port = the listening-port, by default the target's port) with
 * offset = the applied offset: wait-offset with `follower = yes` cuts over
 * on "acknowledged offset == master_repl_offset in one INFO of the source".
 *
 * A broken link to the source is reopened (capped backoff, forever) and
 * resumed with PSYNC <replid> <offset+1>. If the source answers FULLRESYNC
 * (its backlog no longer holds the offset), the follower stops with a
 * message, unless on-conflict is replace: then it clears the followed keys
 * on the target (FLUSHDB ASYNC of the mapped dbs, or UNLINK of the keys the
 * filters select) and loads the new snapshot, as a replica does, so that
 * keys deleted on the source meanwhile do not stay. A lost target
 * connection stops the follower (which commands it applied is unknown). */
#ifndef FERRY_FOLLOW_H
#define FERRY_FOLLOW_H

#include <stdint.h>

#include "engine.h"
#include "eventlog.h"

typedef enum {
    FOLLOW_CONNECTING = 0, /* handshake with the source */
    FOLLOW_SNAPSHOT,       /* receiving and applying the snapshot */
    FOLLOW_STREAMING,      /* applying the live command stream */
    FOLLOW_RECONNECTING,   /* the link broke: reconnecting to resume */
    FOLLOW_STOPPED,        /* follow_stop() */
    FOLLOW_FAILED          /* see FollowStatus.error */
} FollowState;

const char *follow_state_name(FollowState s);

typedef struct FollowOptions {
    const CopyOptions *copy; /* servers, db map, filters (no --type), on_conflict;
                                borrowed: must outlive the follower */
    int listening_port;      /* announced with REPLCONF listening-port; 0 = the target's port */
    int ack_interval_ms;     /* 0 = 1000 */
    /* Where the follower keeps its position (replication id + applied
     * offset), rewritten atomically as it acknowledges and at stop; NULL =
     * nowhere. With resume = 1 it starts from the position saved there
     * (PSYNC <replid> <offset+1>) instead of a snapshot. */
    const char *state_path;
    int resume;
} FollowOptions;

typedef struct FollowStatus {
    FollowState state;
    char replid[48];               /* the source's replication id ("" before the first sync) */
    long long offset;              /* applied offset; -1 before the stream starts */
    long long received;            /* offset of the last byte read from the source */
    long long acked;               /* last offset acknowledged to the source; -1 none */
    uint64_t snapshot_keys;        /* restored from snapshots */
    uint64_t snapshot_expired;     /* already expired: not sent */
    uint64_t snapshot_filtered;    /* not selected by the db map / filters */
    uint64_t snapshot_bytes;       /* RDB bytes read in the current/last snapshot */
    uint64_t snapshot_size;        /* its size (0: diskless, unknown) */
    uint64_t commands;             /* stream commands applied */
    uint64_t dropped;              /* stream commands filtered out */
    uint64_t mixed;                /* applied with some keys outside the filters */
    uint64_t errors;               /* error replies from the target */
    int full_syncs, partial_syncs; /* PSYNC answers */
    int64_t last_io_ms;            /* monotonic time of the last byte from the source */
    long long source_offset;       /* the source's master_repl_offset, sampled once a second; -1 unknown */
    int64_t source_offset_ms;      /* monotonic time of that sample */
    uint64_t snapshot_typed;       /* snapshot keys rebuilt with type commands (target too old, --type-based) */
    int resumed;                   /* started from a saved position (FollowOptions.resume) */
    char error[FERRY_ERR_LEN];     /* FOLLOW_FAILED: why, and what to do */
} FollowStatus;

typedef struct Follower Follower;

/* Starts the follower thread (it connects by itself: an unreachable
 * server shows up as FOLLOW_FAILED with a message). NULL with a message
 * when the options are unusable or the thread cannot start. */
Follower *follow_start(const FollowOptions *o, char *err, size_t errlen);
/* Stops the thread (within ~200 ms plus any in-flight target batch),
 * closes its connections, frees everything. */
void follow_stop(Follower *f);
/* A copy of the current status. Any thread. */
void follow_status(Follower *f, FollowStatus *out);
/* The follower's log lines after after_seq (see eventlog_copy). Any thread. */
int follow_events(Follower *f, uint64_t after_seq, Event *out, int max);

#endif
