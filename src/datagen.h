/* datagen — a deterministic, realistic dataset for demos, tests and the
 * benchmark. The same seed and options always produce the same keys, values
 * and relative expiries.
 *
 * Mix (of `keys`): ~70% strings of 20–200 bytes (user:N:session, half with a
 * TTL of 1–48 h), hashes (cart:N), lists (feed:N), sets (tags:N), sorted sets
 * (rank:N), ~2% streams (events:N) with 1–3 consumer groups, delivered and
 * unacknowledged entries (a PEL) and consumers. With big_keys, also one
 * 200,000-field hash (big:hash) and one 500,000-item list (big:list). */
#ifndef FERRY_DATAGEN_H
#define FERRY_DATAGEN_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

typedef struct DatagenOptions {
    uint64_t seed;      /* default 1 */
    long keys;          /* default 1,000,000 */
    int db;             /* db to fill; default 0 */
    int big_keys;       /* add big:hash and big:list */
    const char *prefix; /* prepended to every key name; default "" */
} DatagenOptions;

void datagen_options_init(DatagenOptions *o);

/* Writes the dataset through c (pipelined). progress (may be NULL) is called
 * now and then with keys written so far. Returns the number of keys written,
 * or -1 with a message. */
long datagen_run(Conn *c, const DatagenOptions *o, void (*progress)(long done, void *ud),
                 void *ud, char *err, size_t errlen);

#endif
