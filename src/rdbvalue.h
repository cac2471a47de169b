/* rdbvalue — a DUMP/RESTORE payload turned back into the commands that
 * build the same value, for a target that cannot take the payload: its RDB
 * version is older than the snapshot's and the value's encoding did not
 * exist yet (a Redis 7.2 set listpack into 7.0, a 7.4 hash with field TTLs
 * into 7.2), or RESTORE is forbidden there, or the operator asked for
 * --type-based.
 *
 * Why decode the payload instead of reading the key again from the live
 * source (what typecopy.c does for ferry copy)? The follower applies the
 * source's replication stream after the snapshot; the stream's first
 * command follows the snapshot's value, not whatever the source holds now.
 * The snapshot's own bytes are the only value consistent with the offset.
 *
 * Two decisions live here:
 *   rdbvalue_plan()         RESTORE as it is, RESTORE with the footer's
 *                           version lowered (the type byte exists in the
 *                           target's version, so the encoding is the same),
 *                           or commands.
 *   rdbvalue_commands()     the commands, in order, through a callback.
 *
 * Commands per type (every element decoded from every encoding: plain,
 * intset, ziplist, zipmap, listpack, quicklist 1 and 2 (plain and packed
 * nodes), skiplist with binary scores, LZF-compressed and integer-encoded
 * strings; batched at o->batch elements per command):
 *   string  SET key value
 *   list    RPUSH key e1 e2 …
 *   set     SADD key m1 m2 …
 *   zset    ZADD key s1 m1 s2 m2 … (scores printed with 17 significant
 *           digits, "inf"/"-inf": the target parses back the same double)
 *   hash    HSET key f1 v1 …; per-field expiries (types 22-25):
 *           HPEXPIREAT key ms FIELDS n f… when the target has it (7.4+);
 *           otherwise the field is written without its TTL and counted in
 *           RvResult.field_ttls_lost; a field already expired is skipped
 *           (RvResult.fields_expired). When every field has expired no
 *           command is emitted (commands == 0): the key must not exist.
 *   stream  XADD key <id> f v … for every live entry in ID order; then the
 *           consumer groups (XGROUP CREATE key g <last-delivered>
 *           ENTRIESREAD n, or MKSTREAM for an empty stream), consumers
 *           (XGROUP CREATECONSUMER), pending entries (XCLAIM key g c 0 id
 *           TIME <delivery-ms> RETRYCOUNT <n> FORCE JUSTID); a pending entry
 *           whose stream entry is deleted is recreated through a
 *           placeholder entry added in ID order, claimed, then removed with
 *           XDEL; last XSETID key <last-id> ENTRIESADDED n MAXDELETEDID id.
 *           The result: XINFO STREAM FULL equal to the source's except
 *           seen-time/active-time, and radix-tree layout (as typecopy.h).
 *           Targets before 7.0 get no ENTRIESREAD/ENTRIESADDED/MAXDELETEDID.
 *   module  refused: -1 "… is a module value (<name>): it can only be
 *           RESTOREd, by a target that loads the module".
 * The key must not exist when the commands run (the caller deletes it or
 * builds under a temporary name) and the caller sets the expiry after them
 * (PEXPIREAT); nothing here sets one.
 *
 * Library code: never prints, never exits, never does I/O itself. */
#ifndef FERRY_RDBVALUE_H
#define FERRY_RDBVALUE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RV_RESTORE = 0,      /* RESTORE the payload as it is */
    RV_RESTORE_REVERSION,/* lower the footer's version to the target's, then RESTORE */
    RV_COMMANDS          /* rebuild with rdbvalue_commands() */
} RvPlan;

/* What to do with a payload for a target that accepts payload versions up
 * to dst_rdb (serverinfo_rdb_for: 10 for Redis 7.0, 80 for Valkey 9...).
 * payload_rdb: the payload's footer version; rdb_type: its first byte;
 * valkey: the payload came from a "VALKEY" snapshot (type 22 differs).
 * type_based: the operator asked for commands (module values then fail
 * in rdbvalue_commands(): only RESTORE can carry them). Payload versions are
 * compared as serverinfo_payload_compatible() does; when they do not fit,
 * RV_RESTORE_REVERSION if the type byte means the same in the target's
 * version (the caller then calls rdbvalue_set_version(p, len, dst_rdb)),
 * else RV_COMMANDS. */
RvPlan rdbvalue_plan(int rdb_type, int payload_rdb, int valkey, int dst_rdb, int type_based);

/* The lowest payload version that has this type byte (1 for the oldest
 * types and encodings, which every server ferry meets loads); 0 = unknown,
 * or type 6 (pre-GA modules, which no current server loads), or 23-25 in
 * a Valkey payload. */
int rdbvalue_type_min_version(int rdb_type, int valkey);

/* Rewrites a payload's footer in place: version (2 bytes, little endian)
 * and CRC64 over everything before the checksum. len includes the footer.
 * -1 when len cannot hold a type byte and a footer, or version is not 0..65535. */
int rdbvalue_set_version(unsigned char *payload, size_t len, int version);

/* One command: argc arguments (binary-safe, lens[i] bytes each). Returns
 * 0 to go on; anything else stops rdbvalue_commands(), which returns it. */
typedef int (*RvEmitFn)(void *ud, int argc, const char **argv, const size_t *lens);

typedef struct RvOptions {
    int batch;        /* elements per command (SADD members, XADD is one entry); 0 = 128 */
    int dst_version;  /* target's major*100+minor (700 = 7.0); 0 = 700. For a
                       * Valkey target its Valkey version (900 = 9.0) with dst_valkey */
    int64_t now_ms;   /* wall-clock ms: hash fields expired before it are skipped; 0 = now */
    int valkey;       /* the payload came from a "VALKEY" snapshot (type 22 is Valkey's
                       * hash); a footer version >= 80 says so too */
    int dst_valkey;   /* the target is Valkey: HPEXPIREAT from 9.0, stream fields from 7.2 */
} RvOptions;

typedef struct RvResult {
    uint64_t commands;        /* commands emitted */
    uint64_t elements;        /* elements written (members, fields, entries, pending entries) */
    uint64_t field_ttls_lost; /* hash fields written without their TTL (target before 7.4) */
    uint64_t fields_expired;  /* hash fields skipped: their TTL had passed */
} RvResult;

/* Emits the commands that build key (klen bytes) from payload (len bytes:
 * type byte + value, with or without the 10-byte footer: has_footer says).
 * o may be NULL; res may be NULL. Returns 0; the emit function's non-zero
 * return; or -1 with a one-line message naming the key when the payload is
 * malformed (also: a footer whose CRC64 does not match) or its type
 * cannot be rebuilt (module values). On -1 or an
 * emit stop, commands already emitted built part of the value: the caller
 * removes the key (or its temporary name). */
int rdbvalue_commands(const unsigned char *payload, size_t len, int has_footer, const char *key,
                      size_t klen, const RvOptions *o, RvEmitFn emit, void *ud, RvResult *res,
                      char *err, size_t errlen);

#endif
