/* datagen against real servers: the same seed gives the same keyspace, a
 * different seed a different one; the mix holds every type, streams carry
 * groups with pending entries, about half of the strings expire, and the big
 * keys have their documented sizes.
 *
 * "The same keyspace" is checked key by key with DUMP where the payload is a
 * pure function of the commands that built the key. Two kinds of payload are
 * not, and are compared by content instead:
 *   - hashtable-encoded sets and hashes: DUMP walks the dict, whose order
 *     depends on each server's random hash seed;
 *   - streams: DUMP carries delivery times of pending entries and consumers'
 *     seen-times, i.e. the wall clock of the run. Entries, IDs, groups,
 *     last-delivered IDs, entries-read, PEL IDs/owners/delivery counts and
 *     consumers are compared instead. */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "datagen.h"
#include "sandbox.h"
#include "util.h"

#define KEYS 2000

typedef struct Side {
    Sandbox sb;
    Conn *c;
    int64_t gen_start, gen_end; /* wall clock around the last datagen_run */
} Side;

static Side A, B;

static Conn *open_conn(const Sandbox *sb, int db) {
    char uri[128], err[FERRY_ERR_LEN];
    ConnConfig cfg;
    conn_config_init(&cfg, "target");
    sandbox_uri(sb, db, uri, sizeof uri);
    if (uri_parse(uri, &cfg.uri, err, sizeof err) == -1) fail_msg("%s", err);
    Conn *c = conn_open(&cfg, err, sizeof err);
    if (!c) fail_msg("%s", err);
    return c;
}

static void flushall(Conn *c) {
    redisReply *r = conn_command(c, "FLUSHALL");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

static long long cmd_int(Conn *c, const char *what, const char *fmt, const char *key) {
    redisReply *r = conn_command(c, fmt, key);
    if (!r || r->type != REDIS_REPLY_INTEGER)
        fail_msg("%s %s: %s", what, key, r && r->type == REDIS_REPLY_ERROR ? r->str : "no integer");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static long long dbsize(Conn *c) {
    redisReply *r = conn_command(c, "DBSIZE");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static long generate(Side *s, uint64_t seed, long keys, int big, const char *prefix, int db) {
    DatagenOptions o;
    datagen_options_init(&o);
    o.seed = seed;
    o.keys = keys;
    o.big_keys = big;
    o.db = db;
    if (prefix) o.prefix = prefix;
    char err[FERRY_ERR_LEN] = "";
    s->gen_start = util_now_ms();
    long n = datagen_run(s->c, &o, NULL, NULL, err, sizeof err);
    s->gen_end = util_now_ms();
    if (n < 0) fail_msg("datagen_run: %s", err);
    if (conn_db(s->c) != 0 && conn_select(s->c, 0) == -1) fail_msg("SELECT 0 failed");
    return n;
}

/* ---- key listing ---- */

typedef struct KeyList {
    char **keys;
    size_t n, cap;
} KeyList;

static void keys_scan(Conn *c, const char *type, KeyList *out) {
    memset(out, 0, sizeof *out);
    char cursor[32] = "0";
    do {
        redisReply *r = type ? conn_command(c, "SCAN %s COUNT 1000 TYPE %s", cursor, type)
                             : conn_command(c, "SCAN %s COUNT 1000", cursor);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        util_strlcpy(cursor, r->element[0]->str, sizeof cursor);
        redisReply *ks = r->element[1];
        for (size_t i = 0; i < ks->elements; i++) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 256;
                out->keys = realloc(out->keys, out->cap * sizeof *out->keys);
                assert_non_null(out->keys);
            }
            out->keys[out->n] = strdup(ks->element[i]->str);
            assert_non_null(out->keys[out->n]);
            out->n++;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
}

static void keys_free(KeyList *k) {
    for (size_t i = 0; i < k->n; i++) free(k->keys[i]);
    free(k->keys);
    memset(k, 0, sizeof *k);
}

/* ---- fingerprints: FNV-1a over a tagged serialisation ---- */

static void h_bytes(uint64_t *h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ULL;
    }
}

static void h_str(uint64_t *h, const char *s, size_t n) {
    uint64_t len = n;
    h_bytes(h, &len, sizeof len);
    h_bytes(h, s, n);
}

static void h_reply(uint64_t *h, const redisReply *r) {
    int type = r->type;
    h_bytes(h, &type, sizeof type);
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR: h_str(h, r->str, r->len); break;
    case REDIS_REPLY_INTEGER: h_bytes(h, &r->integer, sizeof r->integer); break;
    case REDIS_REPLY_ARRAY:
        h_bytes(h, &r->elements, sizeof r->elements);
        for (size_t i = 0; i < r->elements; i++) h_reply(h, r->element[i]);
        break;
    default: break;
    }
}

/* Orders groups of replies (a member, or a field and its value) by their
 * first element. */
static int cmp_group(const void *a, const void *b) {
    const redisReply *x = (*(redisReply **const *)a)[0], *y = (*(redisReply **const *)b)[0];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Hashes the reply of command on key with its elements sorted in groups of
 * `stride` (1 for SMEMBERS, 2 for HGETALL's field/value pairs). */
static void h_sorted(uint64_t *h, Conn *c, const char *command, const char *key, size_t stride) {
    redisReply *r = conn_command(c, command, key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    size_t n = r->elements / stride;
    redisReply ***groups = malloc((n ? n : 1) * sizeof *groups);
    assert_non_null(groups);
    for (size_t i = 0; i < n; i++) groups[i] = &r->element[i * stride];
    qsort(groups, n, sizeof *groups, cmp_group);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < stride; j++) h_reply(h, groups[i][j]);
    free(groups);
    freeReplyObject(r);
}

static void h_command(uint64_t *h, Conn *c, const char *fmt, const char *key) {
    redisReply *r = conn_command(c, fmt, key);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("%s %s: %s", fmt, key, r->str);
    h_reply(h, r);
    freeReplyObject(r);
}

/* Streams without the wall-clock parts (idle times, delivery times). */
static void h_stream(uint64_t *h, Conn *c, const char *key) {
    h_command(h, c, "XRANGE %s - +", key);
    h_command(h, c, "XINFO STREAM %s", key);
    redisReply *groups = conn_command(c, "XINFO GROUPS %s", key);
    assert_non_null(groups);
    assert_int_equal(groups->type, REDIS_REPLY_ARRAY);
    h_reply(h, groups); /* name, consumers, pending, last-delivered-id, entries-read, lag */
    for (size_t g = 0; g < groups->elements; g++) {
        const char *name = groups->element[g]->element[1]->str;
        redisReply *p = conn_command(c, "XPENDING %s %s - + 1000", key, name);
        assert_non_null(p);
        assert_int_equal(p->type, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i < p->elements; i++) {
            redisReply *e = p->element[i]; /* id, consumer, idle ms, deliveries */
            h_reply(h, e->element[0]);
            h_reply(h, e->element[1]);
            h_reply(h, e->element[3]);
        }
        freeReplyObject(p);
        redisReply *cs = conn_command(c, "XINFO CONSUMERS %s %s", key, name);
        assert_non_null(cs);
        assert_int_equal(cs->type, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i < cs->elements; i++) {
            redisReply *e = cs->element[i]; /* name n, pending p, idle ..., [inactive ...] */
            for (size_t f = 0; f + 1 < e->elements; f += 2)
                if (strcmp(e->element[f]->str, "name") == 0 ||
                    strcmp(e->element[f]->str, "pending") == 0) {
                    h_reply(h, e->element[f]);
                    h_reply(h, e->element[f + 1]);
                }
        }
        freeReplyObject(cs);
    }
    freeReplyObject(groups);
}

static char *status_of(Conn *c, const char *fmt, const char *key, char *buf, size_t len) {
    redisReply *r = conn_command(c, fmt, key);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)
        util_strlcpy(buf, r->str, len);
    else
        util_strlcpy(buf, "(none)", len);
    freeReplyObject(r);
    return buf;
}

/* Everything about key that two runs with one seed must agree on. */
static uint64_t key_fingerprint(Conn *c, const char *key) {
    uint64_t h = 0xcbf29ce484222325ULL;
    char type[32], enc[32];
    status_of(c, "TYPE %s", key, type, sizeof type);
    status_of(c, "OBJECT ENCODING %s", key, enc, sizeof enc);
    h_str(&h, type, strlen(type));
    h_str(&h, enc, strlen(enc));
    if (strcmp(type, "stream") == 0)
        h_stream(&h, c, key);
    else if (strcmp(enc, "hashtable") == 0 && strcmp(type, "set") == 0)
        h_sorted(&h, c, "SMEMBERS %s", key, 1);
    else if (strcmp(enc, "hashtable") == 0 && strcmp(type, "hash") == 0)
        h_sorted(&h, c, "HGETALL %s", key, 2);
    else
        h_command(&h, c, "DUMP %s", key);
    uint8_t expires = cmd_int(c, "PTTL", "PTTL %s", key) >= 0;
    h_bytes(&h, &expires, 1);
    return h;
}

/* How many of a's keys b holds with the same fingerprint and the same
 * relative expiry (within the generation windows). The first key that
 * differs is named in first_diff. */
static size_t count_same(Side *a, Side *b, const KeyList *keys, char *first_diff, size_t len) {
    first_diff[0] = '\0';
    int64_t slack = (a->gen_end - a->gen_start) + (b->gen_end - b->gen_start) + 5;
    size_t same = 0;
    for (size_t i = 0; i < keys->n; i++) {
        const char *k = keys->keys[i];
        if (key_fingerprint(a->c, k) != key_fingerprint(b->c, k)) {
            if (!first_diff[0]) snprintf(first_diff, len, "%s (content)", k);
            continue;
        }
        long long ea = cmd_int(a->c, "PEXPIRETIME", "PEXPIRETIME %s", k);
        long long eb = cmd_int(b->c, "PEXPIRETIME", "PEXPIRETIME %s", k);
        if (ea > 0 && eb > 0) {
            long long ra = ea - a->gen_start, rb = eb - b->gen_start;
            if (llabs(ra - rb) > slack) {
                if (!first_diff[0])
                    snprintf(first_diff, len, "%s (expiry %lld ms vs %lld ms from start)", k, ra,
                             rb);
                continue;
            }
        }
        same++;
    }
    return same;
}

/* ---- tests ---- */

static void test_same_seed_same_keyspace(void **state) {
    (void)state;
    flushall(A.c);
    flushall(B.c);
    assert_int_equal(generate(&A, 7, KEYS, 0, NULL, 0), KEYS);
    assert_int_equal(generate(&B, 7, KEYS, 0, NULL, 0), KEYS);
    assert_int_equal(dbsize(A.c), KEYS);
    assert_int_equal(dbsize(B.c), KEYS);
    KeyList keys;
    keys_scan(A.c, NULL, &keys);
    assert_int_equal(keys.n, KEYS);
    char diff[300];
    size_t same = count_same(&A, &B, &keys, diff, sizeof diff);
    if (same != keys.n) fail_msg("%zu of %zu keys differ, first: %s", keys.n - same, keys.n, diff);
    keys_free(&keys);
}

static void test_different_seed_different_keyspace(void **state) {
    (void)state;
    flushall(B.c);
    assert_int_equal(generate(&B, 8, KEYS, 0, NULL, 0), KEYS);
    KeyList keys;
    keys_scan(A.c, NULL, &keys);
    char diff[300];
    size_t same = count_same(&A, &B, &keys, diff, sizeof diff);
    /* Key N's type, value and expiry all change with the seed. */
    assert_true(same < keys.n / 10);
    keys_free(&keys);
}

static void test_mix_has_every_type(void **state) {
    (void)state;
    /* A still holds seed 7. */
    static const char *const types[] = {"string", "hash", "list", "set", "zset", "stream"};
    size_t counts[6];
    size_t total = 0;
    for (int t = 0; t < 6; t++) {
        KeyList keys;
        keys_scan(A.c, types[t], &keys);
        counts[t] = keys.n;
        total += keys.n;
        assert_true(keys.n > 0);
        keys_free(&keys);
    }
    assert_int_equal(total, KEYS);
    assert_in_range(counts[0], KEYS * 62 / 100, KEYS * 78 / 100); /* ~70% strings */
    assert_in_range(counts[5], KEYS / 200, KEYS * 4 / 100);      /* ~2% streams */
}

static void test_about_half_of_strings_expire(void **state) {
    (void)state;
    KeyList keys;
    keys_scan(A.c, "string", &keys);
    size_t with_ttl = 0;
    for (size_t i = 0; i < keys.n; i++) {
        assert_non_null(strstr(keys.keys[i], ":session"));
        size_t len = (size_t)cmd_int(A.c, "STRLEN", "STRLEN %s", keys.keys[i]);
        assert_in_range(len, 20, 200);
        long long e = cmd_int(A.c, "PEXPIRETIME", "PEXPIRETIME %s", keys.keys[i]);
        if (e < 0) continue;
        with_ttl++;
        long long rel = e - A.gen_start;
        assert_in_range(rel, 3600000 - 1000, 48LL * 3600000 + (A.gen_end - A.gen_start) + 1000);
    }
    assert_in_range(with_ttl, keys.n * 40 / 100, keys.n * 60 / 100);
    keys_free(&keys);
}

static void test_streams_have_groups_and_pending(void **state) {
    (void)state;
    KeyList keys;
    keys_scan(A.c, "stream", &keys);
    assert_true(keys.n > 0);
    long long acked = 0;
    for (size_t i = 0; i < keys.n; i++) {
        const char *k = keys.keys[i];
        assert_in_range(cmd_int(A.c, "XLEN", "XLEN %s", k), 10, 100);
        redisReply *groups = conn_command(A.c, "XINFO GROUPS %s", k);
        assert_non_null(groups);
        assert_int_equal(groups->type, REDIS_REPLY_ARRAY);
        assert_in_range(groups->elements, 1, 3);
        for (size_t g = 0; g < groups->elements; g++) {
            redisReply *info = groups->element[g];
            long long consumers = -1, pending = -1, read = -1;
            for (size_t f = 0; f + 1 < info->elements; f += 2) {
                const char *name = info->element[f]->str;
                if (strcmp(name, "consumers") == 0) consumers = info->element[f + 1]->integer;
                if (strcmp(name, "pending") == 0) pending = info->element[f + 1]->integer;
                if (strcmp(name, "entries-read") == 0) read = info->element[f + 1]->integer;
            }
            assert_in_range(consumers, 1, 3);
            redisReply *p = conn_command(A.c, "XPENDING %s %s", k, info->element[1]->str);
            assert_non_null(p);
            assert_int_equal(p->type, REDIS_REPLY_ARRAY);
            assert_int_equal(p->element[0]->type, REDIS_REPLY_INTEGER);
            assert_true(p->element[0]->integer > 0); /* a PEL remains */
            assert_int_equal(p->element[0]->integer, pending);
            freeReplyObject(p);
            assert_true(read >= pending);
            acked += read - pending;
        }
        freeReplyObject(groups);
    }
    assert_true(acked > 0); /* consumers acknowledged part of what they read */
    keys_free(&keys);
}

static void test_big_keys_prefix_and_db(void **state) {
    (void)state;
    flushall(B.c);
    assert_int_equal(generate(&B, 3, 50, 1, "bk:", 2), 52);
    assert_int_equal(dbsize(B.c), 0); /* db 0 untouched */
    assert_int_equal(conn_select(B.c, 2), 0);
    assert_int_equal(dbsize(B.c), 52);
    assert_int_equal(cmd_int(B.c, "HLEN", "HLEN %s", "bk:big:hash"), 200000);
    assert_int_equal(cmd_int(B.c, "LLEN", "LLEN %s", "bk:big:list"), 500000);
    KeyList keys;
    keys_scan(B.c, NULL, &keys);
    for (size_t i = 0; i < keys.n; i++) assert_memory_equal(keys.keys[i], "bk:", 3);
    keys_free(&keys);
    assert_int_equal(conn_select(B.c, 0), 0);
}

static void test_bad_options_are_refused(void **state) {
    (void)state;
    DatagenOptions o;
    datagen_options_init(&o);
    assert_int_equal(o.seed, 1);
    assert_int_equal(o.keys, 1000000);
    char err[FERRY_ERR_LEN] = "";
    o.keys = -1;
    assert_int_equal(datagen_run(B.c, &o, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "negative"));
    /* A server-side error aborts the run, naming the command and the key:
     * occupy the name of a non-string key of the dataset with a string. */
    o.keys = 50;
    flushall(B.c);
    assert_int_equal(datagen_run(B.c, &o, NULL, NULL, err, sizeof err), 50);
    KeyList keys;
    keys_scan(B.c, NULL, &keys);
    const char *victim = NULL;
    for (size_t i = 0; i < keys.n && !victim; i++)
        if (strncmp(keys.keys[i], "user:", 5) != 0) victim = keys.keys[i];
    assert_non_null(victim);
    flushall(B.c);
    redisReply *r = conn_command(B.c, "SET %s %s", victim, "in-the-way");
    assert_non_null(r);
    freeReplyObject(r);
    err[0] = '\0';
    assert_int_equal(datagen_run(B.c, &o, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "WRONGTYPE"));
    assert_non_null(strstr(err, victim));
    assert_null(strchr(err, '\n'));
    keys_free(&keys);
}

static int setup(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    if (sandbox_start(&A.sb, NULL, NULL, err, sizeof err) == -1 ||
        sandbox_start(&B.sb, NULL, NULL, err, sizeof err) == -1) {
        fprintf(stderr, "test_datagen: %s\n", err);
        sandbox_stop(&A.sb);
        return -1;
    }
    A.c = open_conn(&A.sb, 0);
    B.c = open_conn(&B.sb, 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    conn_close(A.c);
    conn_close(B.c);
    sandbox_stop(&A.sb);
    sandbox_stop(&B.sb);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_keyspace),
        cmocka_unit_test(test_different_seed_different_keyspace),
        cmocka_unit_test(test_mix_has_every_type),
        cmocka_unit_test(test_about_half_of_strings_expire),
        cmocka_unit_test(test_streams_have_groups_and_pending),
        cmocka_unit_test(test_big_keys_prefix_and_db),
        cmocka_unit_test(test_bad_options_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
