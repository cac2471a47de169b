/* typecopy — copies one key with type commands instead of DUMP/RESTORE.
 *
 * For keys whose DUMP payload the target cannot take (its RDB version is
 * older than the source's: "DUMP payload version or checksum are wrong"; a
 * payload over the target's proto-max-bulk-len), for big keys whose DUMP
 * would block the source too long, and for `ferry copy --type-based`.
 *
 * The value is read in chunks, so a big key never blocks the source for
 * long nor sits whole in memory: GETRANGE windows (strings), HSCAN / SSCAN /
 * ZSCAN with COUNT, LRANGE windows, XRANGE with COUNT and XPENDING pages
 * (streams). It is written under a temporary name in the key's hash slot
 * ("{tag}ferry-tmp-<random>"), which carries a short safety expiry renewed
 * with every chunk (a crash leaves nothing behind for long); at the end the
 * exact absolute expiry is set (PEXPIREAT, or PERSIST) and the temporary key
 * is renamed over the real name (RENAME, or RENAMENX when not replacing).
 * A half-copied key is therefore never visible under its real name.
 *
 * Streams: every entry with its ID (XADD, explicit IDs), every consumer
 * group with its last-delivered ID and entries-read (XGROUP CREATE …
 * ENTRIESREAD), every consumer (XGROUP CREATECONSUMER), every pending entry
 * with its consumer, delivery count and delivery time (XCLAIM … TIME t
 * RETRYCOUNT n FORCE JUSTID: RETRYCOUNT sets the count exactly, JUSTID does
 * not add one, TIME sets the absolute delivery time read from the source),
 * and XSETID … ENTRIESADDED … MAXDELETEDID. A pending entry whose stream
 * entry was deleted on the source (XDEL / trimming keep the PEL reference)
 * is recreated through a placeholder entry that is claimed and then removed
 * again (XDEL in the middle, XTRIM MINID at the head, so max-deleted-entry-id
 * stays what the source says). Empty streams, with or without groups, work.
 *
 * What `XINFO STREAM key FULL` can still show differently on the target:
 *   - consumers' seen-time (and active-time on 7.2+; XINFO CONSUMERS idle /
 *     inactive): the time of our XGROUP CREATECONSUMER / XCLAIM, not of the
 *     consumer's last command. No command sets them.
 *   - radix-tree-keys / radix-tree-nodes: the internal listpack layout. It
 *     depends on the source's deletion history (tombstones stay in their
 *     node) and node-size settings; entries are packed afresh here.
 *   - delivery-time of pending entries, only if the two servers' clocks
 *     differ (a time ahead of the target's clock is clamped to its now), or
 *     when three tries to bracket an XPENDING page between two TIME replies
 *     of the same millisecond all fail (a loaded source): then by at most
 *     that page's round trip.
 * Everything else (length, last-generated-id, max-deleted-entry-id,
 * entries-added, recorded-first-entry-id, every entry, every group's
 * last-delivered-id, entries-read, lag, pel-count, every PEL entry's
 * consumer, delivery-time and delivery-count, every consumer's name,
 * pel-count and pending list) is equal.
 *
 * Limits: the copy is not atomic. A key written on the source while it is
 * being copied may land in a mixed state (a stream is cut at the
 * last-generated-id read first, so entries added later are not copied and
 * the tail action brings them). Per-field hash expiries (Redis 7.4 HEXPIRE)
 * are not copied. Module types are refused with a message. Targets before
 * 7.0 get streams without entries-added / entries-read / max-deleted-id
 * (they do not have them), before 6.2 also without consumers that have no
 * pending entries. Sources before 6.0 cannot be read (no XINFO STREAM FULL).
 *
 * A connection error returns -1; the temporary key then expires on its own
 * (safety expiry). Calling again after a reconnect is safe: each call uses a
 * new temporary name. */
#ifndef FERRY_TYPECOPY_H
#define FERRY_TYPECOPY_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

typedef enum {
    TYPECOPY_ERROR = -1,
    TYPECOPY_COPIED = 0,
    TYPECOPY_GONE = 1,   /* expired or deleted on the source, or its expiry passed */
    TYPECOPY_EXISTS = 2, /* on the target already and replace == 0: left untouched */
} TypeCopyResult;

/* abs_expire_ms: ask typecopy_key() to read the expiry itself (PEXPIRETIME,
 * or PTTL on servers before 7.0) together with the key's type. */
#define TYPECOPY_EXPIRE_READ (-1LL)

typedef struct TypeCopyOptions {
    int chunk;            /* elements per read (SCAN COUNT, LRANGE window, XRANGE/XPENDING COUNT); 512 */
    size_t string_window; /* bytes per GETRANGE window; 1 MiB */
    int tmp_ttl_ms;       /* safety expiry of the temporary key, renewed per chunk; 300000 */
    int dst_version;      /* target's major*100+minor (700 = 7.0); 0 = ask it (INFO, once per stream) */
} TypeCopyOptions;

/* Counters of one caller (a worker): plain integers, not shared. */
typedef struct TypeCopyStats {
    uint64_t keys;         /* keys copied */
    uint64_t elements;     /* fields, members, items, entries and pending entries written */
    uint64_t bytes;        /* value bytes read from the source */
    uint64_t src_commands; /* commands sent to the source */
    uint64_t dst_commands; /* commands sent to the target */
} TypeCopyStats;

void typecopy_options_init(TypeCopyOptions *o);

/* Copies key (klen bytes, binary-safe) from src to dst, both already on the
 * right db. abs_expire_ms: absolute expiry in ms since the epoch, 0 = none,
 * TYPECOPY_EXPIRE_READ = read it on the source. replace: overwrite a key
 * that exists on the target (RENAME) instead of leaving it (RENAMENX).
 * opt may be NULL (defaults); st may be NULL. Returns a TypeCopyResult; on
 * TYPECOPY_ERROR a one-line message naming the key and the server is in err.
 * The connections are left with no replies pending, except after an I/O
 * error (conn_broken() then says so: reconnect before reusing them). */
int typecopy_key(Conn *src, Conn *dst, const char *key, size_t klen, long long abs_expire_ms,
                 int replace, const TypeCopyOptions *opt, TypeCopyStats *st, char *err,
                 size_t errlen);

/* Redis Cluster hash slot of a key (CRC16/XMODEM of its hash tag, mod 16384). */
unsigned typecopy_keyslot(const char *key, size_t len);

/* The temporary name for key: "{tag}ferry-tmp-<16 hex of nonce>" where tag is
 * the part of key the cluster hashes, so both names share a slot (RENAME
 * needs that in a cluster); for keys whose hashed part cannot be wrapped in
 * braces, "{ferry-tmp-<hex>-<n>}" with n chosen so that the slot matches.
 * Returns a malloc'ed, NUL-terminated name (the caller frees it) with its
 * length in *outlen, or NULL when out of memory. */
char *typecopy_tmp_name(const char *key, size_t klen, uint64_t nonce, size_t *outlen);

/* The field of the placeholder entries added (and removed again) so that a
 * pending entry whose stream entry was deleted can be recreated; rdbvalue.c
 * writes the same. Its value is "1". */
#define TYPECOPY_PLACEHOLDER "ferry-placeholder"

/* A stream entry ID, "ms-seq". */
typedef struct StreamId {
    unsigned long long ms, seq;
} StreamId;

/* Parses "ms-seq" or "ms" (len bytes, not NUL-terminated). 0, or -1 when
 * it is not an ID. */
int typecopy_id_parse(const char *s, size_t len, StreamId *id);
/* <0, 0, >0 as a is before, equal to, after b. */
int typecopy_id_cmp(StreamId a, StreamId b);

/* 1 when stream ka on a and stream kb on b are the same as far as a
 * type-based copy can make them (see the top of this file): XINFO STREAM
 * key FULL COUNT 0 (every entry, every pending entry) equal but for
 * radix-tree-keys/-nodes and the consumers' seen-time/active-time. 0 when
 * they differ, or either cannot be read (a connection error is left for
 * the caller's next command to find). a and b may be the same connection.
 * For recognising one's own earlier copy on a rerun. */
int typecopy_stream_same(Conn *a, const char *ka, size_t kal, Conn *b, const char *kb, size_t kbl);

#endif
