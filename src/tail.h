/* tail — keeps copied streams in step with their source until cutover, and
 * surveys what is still pending on the source afterwards (drain).
 *
 * After the initial copy, each round of tail_round() does, per stream:
 *   1. entries: XRANGE key (last COUNT batch on the source, from the last
 *      ID the target holds (exclusive), written with XADD key <same id> on
 *      the target, until caught up with the source's last-generated-id read
 *      at the start of the round (at most TAIL_MAX_BATCHES batches a round,
 *      so one busy stream cannot starve the others);
 *   2. consumer groups: XINFO GROUPS on both sides. A group missing on the
 *      target is created (XGROUP CREATE … ENTRIESREAD), one gone from the
 *      source is destroyed. The pending lists (XPENDING key group - + COUNT,
 *      paged) are merged by ID: an entry no longer pending on the source is
 *      acknowledged on the target (XACK); a newly pending one, or one whose
 *      consumer or delivery count changed, is claimed (XCLAIM … TIME
 *      <source delivery time> RETRYCOUNT <count> FORCE JUSTID). Consumers
 *      are created or deleted to match (XGROUP CREATECONSUMER/DELCONSUMER),
 *      then the position is set (XGROUP SETID … ENTRIESREAD).
 * When the source's newest entries were deleted before they could be
 * copied, XSETID … ENTRIESADDED … MAXDELETEDID moves the target's
 * last-generated-id to the source's. A pending entry whose entry was
 * deleted on the source before it was copied cannot be pending on the
 * target (XCLAIM needs the entry): it is counted (lost_pending), not retried
 * as a change.
 * Anything that refers to an entry the target does not hold yet (a group
 * delivered past the copied entries, a pending entry read in between) is
 * left for the next round, so the target is never ahead of itself.
 *
 * A round that writes nothing to the target and finds every stream caught
 * up means: at that moment the target equals the source (entries, groups,
 * PELs with consumer and delivery count, last-delivered-id, entries-read).
 * With producers and consumers stopped, that state holds: cutover.
 *
 * The tail reads its position from the target (XINFO STREAM), so it keeps no
 * state that a restart could lose: tailing again after a crash continues
 * where the target is. Entries deleted on the source after the copy (XDEL,
 * XTRIM) are not deleted on the target.
 *
 * Load: every command sent to the source counts against a budget (commands
 * per second); over budget, the round sleeps in short slices (checking the
 * stop callback). The target is not throttled. A round costs the source,
 * per stream: XINFO STREAM, XINFO GROUPS, an XRANGE per batch when behind,
 * and per group XINFO CONSUMERS plus XPENDING pages when something is
 * pending on either side; with many streams a round takes longer, and the
 * lag shown grows accordingly.
 *
 * Threads: a Tail is used by one thread. It borrows its two connections;
 * the caller opens and closes them. Library code: no printing. */
#ifndef FERRY_TAIL_H
#define FERRY_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "filter.h"

#define TAIL_MAX_BATCHES 20

typedef struct TailOptions {
    int batch;                  /* entries per XRANGE, pending entries per XPENDING page; 500 */
    int budget;                 /* source commands per second; 0 = no limit; 2000 */
    int (*stopping)(void *ud);  /* 1 = stop now (may be NULL) */
    void *ud;
} TailOptions;

void tail_options_init(TailOptions *o);

/* One tailed stream, as shown to the operator. */
typedef struct TailStreamView {
    char key[200];              /* printable (\xNN for other bytes), cut with "..." */
    int src_db, dst_db;
    long long lag_entries;      /* entries on the source not yet on the target (at the last round) */
    long long lag_ms;           /* source's last-generated-id time − target's last copied id time */
    long long tailed;           /* entries appended by this tail */
    long long group_updates;    /* XACK/XCLAIM/SETID/CREATE… sent for its groups */
    long long lost_pending;     /* pending on the source, but their entries were deleted there
                                   before the tail copied them: cannot be pending on the target */
    int in_sync;                /* the last round found nothing to do */
} TailStreamView;

typedef struct Tail Tail;

/* src and dst are borrowed (they must outlive the Tail); opt may be NULL. */
Tail *tail_new(Conn *src, Conn *dst, const TailOptions *opt);
void tail_free(Tail *t);

/* Adds one stream (idempotent). klen bytes, binary-safe. -1 on out of memory. */
int tail_add(Tail *t, int src_db, int dst_db, const char *key, size_t klen, char *err, size_t errlen);
/* Adds every stream key of source db src_db that passes f (SCAN … TYPE stream,
 * with MATCH when the filter has one include pattern). Returns how many were
 * added that were not known yet, or -1 with a message. */
int tail_discover(Tail *t, int src_db, int dst_db, const Filter *f, char *err, size_t errlen);

/* One round over every stream (see above). Returns the number of commands
 * written to the target (0 = everything in sync), or -1 with a message naming
 * the key and the server. Interrupted by the stop callback: -2. */
long tail_round(Tail *t, char *err, size_t errlen);

int tail_count(const Tail *t);
void tail_view(const Tail *t, int i, TailStreamView *out);
/* Totals over every stream; *max_lag_ms = the largest lag_ms. */
void tail_totals(const Tail *t, long long *lag_entries, long long *max_lag_ms, long long *tailed,
                 long long *group_updates);
uint64_t tail_src_commands(const Tail *t);

/* ------------------------------------------------------------------ drain */

/* A consumer group that still has work on the source. */
typedef struct DrainGroup {
    char key[200];              /* printable, as in TailStreamView */
    int db;
    char group[128];
    long long pending;          /* XINFO GROUPS pending */
    long long lag;              /* entries not yet delivered; -1 = the server does not know */
    char oldest[48];            /* oldest pending ID ("" when none) */
} DrainGroup;

/* Reads XINFO GROUPS of every stream of the tail's list (source side) and
 * appends to *out every group whose name matches group_glob (NULL = all) and
 * that has pending > 0 or a known lag > 0; with want_oldest, also its oldest
 * pending ID (XPENDING summary: one more command per such group). *out is
 * malloc'ed (the caller frees it); *n is its count. -1 with a message. */
int tail_drain_survey(Tail *t, const char *group_glob, int want_oldest, DrainGroup **out, int *n,
                      char *err, size_t errlen);

#endif
