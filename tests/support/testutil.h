/* testutil — what integration tests share: real servers (through the
 * engine's own sandbox), connections that fail the test on error, running
 * the ferry binary with captured output, datasets of every type, and
 * key-by-key keyspace equality. (RDB bytes built by hand: rdbwriter.h.) */
#ifndef FERRY_TESTUTIL_H
#define FERRY_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conn.h"
#include "sandbox.h"

/* Starts a redis-server or fails the test. extra: NULL-terminated words. */
void tu_server_start(Sandbox *s, const char *const *extra);
/* Connects to s (db >= 0 selects it) or fails the test. */
Conn *tu_connect(const Sandbox *s, int db);
/* Runs a command; fails the test on I/O error. The caller frees the reply. */
redisReply *tu_cmd(Conn *c, const char *fmt, ...);
/* Runs a command that must succeed (no error reply); frees the reply. */
void tu_ok(Conn *c, const char *fmt, ...);
/* Runs a command that must answer an integer; returns it. */
long long tu_int(Conn *c, const char *fmt, ...);
/* Reads n pipelined replies (sent with conn_append); fails the test on an
 * I/O error or an error reply. */
void tu_pipeline_ok(Conn *c, int n);

typedef struct TuRun {
    int status;      /* exit code, or 128+signal */
    char out[65536]; /* stdout (truncated) */
    char err[16384]; /* stderr (truncated) */
    double seconds;
} TuRun;

/* Runs FERRY_BIN with args (NULL-terminated, without argv[0]); env: extra
 * "NAME=value" entries (NULL-terminated, may be NULL). Kills it after
 * timeout_s. */
void tu_ferry(TuRun *r, int timeout_s, const char *const *env, const char *const *args);

/* Every key of (a, adb) is in (b, bdb) with the same type, DUMP payload and
 * absolute expiry (to the millisecond), streams also with equal XINFO STREAM
 * FULL; and b has no key a lacks. Fails the test naming the first
 * difference. Returns the number of keys compared. */
long tu_assert_same_keyspace(Conn *a, int adb, Conn *b, int bdb);

/* Every key of (a, adb) is in (b, bdb) with the same type, absolute
 * expiry and contents read type-wise (sets and hashes in any order, zset
 * scores exact), streams with equal XINFO STREAM FULL but for what a
 * type-based copy cannot set (consumers' seen-time/active-time, the radix
 * tree's layout); b has as many keys. For values rebuilt with commands,
 * whose DUMP bytes legitimately differ. adb/bdb -1: the current db. */
long tu_assert_same_contents(Conn *a, int adb, Conn *b, int bdb);
/* One key (kl bytes) on a and on b: the same type and the same contents
 * read type-wise, compared as tu_assert_same_contents does; expiry is not
 * compared. Fails the test naming the difference. */
void tu_assert_same_value(Conn *a, Conn *b, const char *k, size_t kl);
/* A key's value read type-wise (GET, LRANGE, SMEMBERS sorted, HGETALL
 * sorted by field, ZRANGE WITHSCORES, XINFO STREAM FULL COUNT 0). */
redisReply *tu_read_value(Conn *c, const char *type, const char *k, size_t kl);
/* 0 when two XINFO STREAM FULL replies are equal but for the fields a
 * type-based copy cannot set; else 1 with the first difference in why. */
int tu_stream_diff(const redisReply *x, const redisReply *y, const char *where, char *why, size_t wlen);

/* Deep equality of two replies. */
int tu_reply_equal(const redisReply *x, const redisReply *y);

/* Fills a db with one key of every type and encoding, with and without
 * TTLs, including streams with consumer groups and pending entries.
 * Returns the number of keys written. prefix is prepended to names. */
long tu_fill_every_type(Conn *c, const char *prefix);

/* Writes 7 streams (s:events, s:trimmed, s:big, s:empty-group, s:emptied,
 * s:holes, s:nogroup): several listpack nodes, groups, consumers with and
 * without pending entries, delivery counts > 1, pending entries whose
 * entry was deleted or trimmed, deleted entries nobody has pending, empty
 * streams with and without groups; s:big has a TTL. */
void tu_fill_streams(Conn *c);

/* Makes test certificates with the openssl command in a new temp dir
 * (written to dir): ca.crt/key, other-ca.crt (an unrelated CA),
 * server.crt/key (IP SAN 127.0.0.1, signed by ca), client.crt/key (signed by
 * ca). Returns 0, or -1 with dir[0] = 0. The caller removes the dir. */
int tu_make_certs(char *dir, size_t len);
/* Removes a directory tree. */
void tu_rm_tree(const char *dir);

/* 1 if haystack contains needle. */
int tu_contains(const char *haystack, const char *needle);

#endif
