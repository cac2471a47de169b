/* scan — reading a keyspace's names with SCAN, and the Batch of key names
 * that the scanner hands to copy workers through the queue.
 *
 * A Batch owns its key bytes in one growing buffer: one allocation per batch
 * instead of one per key. */
#ifndef FERRY_SCAN_H
#define FERRY_SCAN_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

typedef struct Batch {
    int src_db, dst_db;
    uint64_t page;     /* the engine's number for the SCAN page it came from */
    int n, cap;
    size_t *off, *len; /* key i is buf[off[i] .. off[i]+len[i]) */
    char *buf;
    size_t used, bufcap;
} Batch;

Batch *batch_new(int src_db, int dst_db, int cap);
void batch_free(Batch *b);
/* Copies the key into the batch; -1 on allocation failure. */
int batch_add(Batch *b, const char *key, size_t len);
static inline const char *batch_key(const Batch *b, int i) { return b->buf + b->off[i]; }

typedef struct ScanPage {
    uint64_t next_cursor; /* 0 when the iteration is complete */
    redisReply *reply;    /* owned; the keys point into it */
    size_t nkeys;
    redisReply **keys;
} ScanPage;

/* One SCAN call on c's current db: SCAN cursor [MATCH m] [COUNT n] [TYPE t].
 * The page owns its reply: release with scan_page_free(). */
int scan_page(Conn *c, uint64_t cursor, const char *match, const char *type, int count,
              ScanPage *out, char *err, size_t errlen);
void scan_page_free(ScanPage *p);

/* How far through the table a SCAN cursor is, 0..1. SCAN walks buckets in
 * reversed-bit order, so the cursor's bits read backwards grow steadily
 * from 0 towards 2^64 as the scan goes on. */
double scan_cursor_progress(uint64_t cursor);

#endif
