/* datagen — writes a deterministic, realistic dataset through one Conn.
 *
 * Determinism: every key N draws from its own xoshiro256** generator seeded
 * (through splitmix64) by (seed, N), so key N's type, name, value and
 * relative expiry depend only on the seed and N — not on the order of writes
 * or on how many keys came before. rand() is never used. Stream entry IDs are
 * explicit (a seed-derived millisecond base), so two runs hold the same IDs.
 * What cannot be deterministic is what the server decides by itself: the
 * delivery times of pending entries and consumers' seen-times (wall clock),
 * and the order of hashtable-encoded sets and hashes (per-process hash seed)
 * — so their DUMP bytes differ between two runs while their content does not.
 *
 * Pipelining: commands are appended to the connection and replies are read
 * back once 2 × DATAGEN_WINDOW commands (or 2 × DATAGEN_WINDOW_BYTES of
 * arguments: the big keys' commands are large) are in flight, down to one
 * window, so memory stays small whatever the key count. Every reply is checked; the first error reply aborts the run
 * with one line naming the command and key it answered. */
#include "datagen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DATAGEN_WINDOW 1000     /* replies read back in steps of this many */
#define DATAGEN_WINDOW_BYTES (4u << 20) /* ... or of this many argument bytes */
#define DATAGEN_BIG_HASH 200000 /* fields in big:hash */
#define DATAGEN_BIG_LIST 500000 /* items in big:list */
#define DATAGEN_BIG_CHUNK 1000  /* elements per HSET/RPUSH of a big key */
#define DATAGEN_PROGRESS 10000  /* keys between progress callbacks */
#define DATAGEN_RING (2 * DATAGEN_WINDOW + 1)
#define DATAGEN_DESC 80         /* "HSET cart:123" kept for error messages */

/* ---- PRNG: splitmix64 to seed, xoshiro256** to draw ---- */

typedef struct Rng {
    uint64_t s[4];
} Rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(Rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* The generator for one stream of draws: (seed, index) → independent state. */
static void rng_seed(Rng *r, uint64_t seed, uint64_t index) {
    uint64_t x = seed;
    uint64_t mixed = splitmix64(&x) ^ (index * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&mixed);
}

/* Uniform in [0, n) (n > 0); the modulo bias is irrelevant here. */
static uint64_t rng_below(Rng *r, uint64_t n) { return rng_next(r) % n; }

/* Uniform in [lo, hi]. */
static long rng_range(Rng *r, long lo, long hi) {
    return lo + (long)rng_below(r, (uint64_t)(hi - lo + 1));
}

static const char ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes n random printable bytes (no terminator). */
static void rng_text(Rng *r, char *out, size_t n) {
    uint64_t bits = 0;
    int left = 0;
    for (size_t i = 0; i < n; i++) {
        if (left == 0) {
            bits = rng_next(r);
            left = 10; /* 10 × 6 bits from one draw */
        }
        out[i] = ALPHABET[bits & 63];
        bits >>= 6;
        left--;
    }
}

/* ---- a command being built: arguments in one growing arena ---- */

typedef struct Cmd {
    char *buf;
    size_t used, cap;
    size_t *off, *lens;
    const char **argv;
    int argc, maxargc;
} Cmd;

static int cmd_grow_args(Cmd *c) {
    int n = c->maxargc ? c->maxargc * 2 : 64;
    size_t *off = realloc(c->off, (size_t)n * sizeof *off);
    if (!off) return -1;
    c->off = off;
    size_t *lens = realloc(c->lens, (size_t)n * sizeof *lens);
    if (!lens) return -1;
    c->lens = lens;
    const char **argv = realloc(c->argv, (size_t)n * sizeof *argv);
    if (!argv) return -1;
    c->argv = argv;
    c->maxargc = n;
    return 0;
}

/* Reserves room for one argument of at most n bytes and returns where to write
 * it; cmd_commit() then records its real length. NULL when out of memory. */
static char *cmd_reserve(Cmd *c, size_t n) {
    if (c->argc == c->maxargc && cmd_grow_args(c) == -1) return NULL;
    if (c->used + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->used + n + 1) cap *= 2;
        char *buf = realloc(c->buf, cap);
        if (!buf) return NULL;
        c->buf = buf;
        c->cap = cap;
    }
    return c->buf + c->used;
}

static void cmd_commit(Cmd *c, size_t n) {
    c->off[c->argc] = c->used;
    c->lens[c->argc] = n;
    c->argc++;
    c->used += n;
}

static int cmd_arg(Cmd *c, const char *s, size_t n) {
    char *p = cmd_reserve(c, n);
    if (!p) return -1;
    memcpy(p, s, n);
    cmd_commit(c, n);
    return 0;
}

static int cmd_str(Cmd *c, const char *s) { return cmd_arg(c, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static int cmd_fmt(Cmd *c, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) return -1;
    return cmd_arg(c, tmp, (size_t)n);
}

static int cmd_text(Cmd *c, Rng *r, size_t n) {
    char *p = cmd_reserve(c, n);
    if (!p) return -1;
    rng_text(r, p, n);
    cmd_commit(c, n);
    return 0;
}

static void cmd_reset(Cmd *c) {
    c->argc = 0;
    c->used = 0;
}

static void cmd_free(Cmd *c) {
    free(c->buf);
    free(c->off);
    free(c->lens);
    free(c->argv);
    memset(c, 0, sizeof *c);
}

/* ---- the generator: one connection, a window of replies in flight ---- */

typedef struct Gen {
    Conn *conn;
    const DatagenOptions *o;
    Cmd cmd;
    char key[512];
    size_t keylen;
    /* what each in-flight command was, for error messages */
    char (*ring)[DATAGEN_DESC];
    size_t *ring_bytes; /* argument bytes of each in-flight command */
    size_t ring_head;   /* index of the oldest in-flight command */
    size_t ring_len;
    size_t inflight_bytes;
    char *err;
    size_t errlen;
} Gen;

/* Reads replies until at most `keep` commands and `keep_bytes` argument
 * bytes are still in flight. */
static int gen_drain(Gen *g, size_t keep, size_t keep_bytes) {
    while (g->ring_len > keep || (g->ring_len > 0 && g->inflight_bytes > keep_bytes)) {
        redisReply *reply = NULL;
        const char *what = g->ring[g->ring_head];
        if (conn_get_reply(g->conn, &reply) == -1) {
            util_err(g->err, g->errlen, "datagen: %s: lost the connection waiting for %s: %s",
                     conn_label(g->conn), what, conn_errstr(g->conn));
            return -1;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            util_err(g->err, g->errlen, "datagen: %s refused %s: %.*s", conn_label(g->conn),
                     what, (int)(reply->len > 200 ? 200 : reply->len), reply->str);
            freeReplyObject(reply);
            return -1;
        }
        freeReplyObject(reply);
        g->inflight_bytes -= g->ring_bytes[g->ring_head];
        g->ring_head = (g->ring_head + 1) % DATAGEN_RING;
        g->ring_len--;
    }
    return 0;
}

/* Queues the command built in g->cmd and resets the builder. */
static int gen_send(Gen *g) {
    Cmd *c = &g->cmd;
    if (c->argc == 0) return util_err(g->err, g->errlen, "datagen: internal error: empty command");
    for (int i = 0; i < c->argc; i++) c->argv[i] = c->buf + c->off[i];
    /* Every command touches the current key: remember "XADD events:12". */
    size_t slot = (g->ring_head + g->ring_len) % DATAGEN_RING;
    snprintf(g->ring[slot], DATAGEN_DESC, "%.*s %.*s", (int)(c->lens[0] > 16 ? 16 : c->lens[0]),
             c->argv[0], (int)(g->keylen > 60 ? 60 : g->keylen), g->key);
    if (conn_append_argv(g->conn, c->argc, c->argv, c->lens) == -1) {
        util_err(g->err, g->errlen, "datagen: %s: could not queue %s: %s", conn_label(g->conn),
                 g->ring[slot], conn_errstr(g->conn));
        return -1;
    }
    g->ring_bytes[slot] = c->used;
    g->inflight_bytes += c->used;
    g->ring_len++;
    cmd_reset(c);
    if (g->ring_len >= 2 * DATAGEN_WINDOW || g->inflight_bytes >= 2 * DATAGEN_WINDOW_BYTES)
        return gen_drain(g, DATAGEN_WINDOW, DATAGEN_WINDOW_BYTES);
    return 0;
}

/* Sets g->key to prefix + formatted name. */
__attribute__((format(printf, 2, 3))) static int gen_key(Gen *g, const char *fmt, ...) {
    const char *prefix = g->o->prefix ? g->o->prefix : "";
    int p = snprintf(g->key, sizeof g->key, "%s", prefix);
    if (p < 0 || (size_t)p >= sizeof g->key - 32)
        return util_err(g->err, g->errlen, "datagen: prefix too long (max %zu bytes)",
                        sizeof g->key - 32);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g->key + p, sizeof g->key - (size_t)p, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)(p + n) >= sizeof g->key)
        return util_err(g->err, g->errlen, "datagen: prefix too long (max %zu bytes)",
                        sizeof g->key - 32);
    g->keylen = (size_t)(p + n);
    return 0;
}

static int oom(Gen *g) { return util_err(g->err, g->errlen, "datagen: out of memory"); }

#define TRY(expr)                          \
    do {                                   \
        if ((expr) == -1) return oom(g);   \
    } while (0)

#define HOUR_MS 3600000L

/* user:N:session — 20–200 bytes; half expire in 1–48 h. */
static int gen_string(Gen *g, Rng *r, long n) {
    if (gen_key(g, "user:%ld:session", n) == -1) return -1;
    TRY(cmd_str(&g->cmd, "SET"));
    TRY(cmd_arg(&g->cmd, g->key, g->keylen));
    TRY(cmd_text(&g->cmd, r, (size_t)rng_range(r, 20, 200)));
    if (rng_below(r, 2) == 0) {
        TRY(cmd_str(&g->cmd, "PX"));
        TRY(cmd_fmt(&g->cmd, "%ld", rng_range(r, HOUR_MS, 48 * HOUR_MS)));
    }
    return gen_send(g);
}

/* cart:N — 2–20 fields, small values (listpack-encoded). */
static int gen_hash(Gen *g, Rng *r, long n) {
    if (gen_key(g, "cart:%ld", n) == -1) return -1;
    TRY(cmd_str(&g->cmd, "HSET"));
    TRY(cmd_arg(&g->cmd, g->key, g->keylen));
    long fields = rng_range(r, 2, 20);
    for (long j = 0; j < fields; j++) {
        TRY(cmd_fmt(&g->cmd, "sku:%02ld:%05ld", j, rng_range(r, 0, 99999)));
        TRY(cmd_fmt(&g->cmd, "{\"qty\":%ld,\"price\":%ld.%02ld}", rng_range(r, 1, 9),
                    rng_range(r, 1, 499), rng_range(r, 0, 99)));
    }
    return gen_send(g);
}

/* feed:N — 5–50 items. */
static int gen_list(Gen *g, Rng *r, long n) {
    if (gen_key(g, "feed:%ld", n) == -1) return -1;
    TRY(cmd_str(&g->cmd, "RPUSH"));
    TRY(cmd_arg(&g->cmd, g->key, g->keylen));
    long items = rng_range(r, 5, 50);
    for (long j = 0; j < items; j++) {
        char text[48];
        size_t len = (size_t)rng_range(r, 8, 40);
        rng_text(r, text, len);
        TRY(cmd_fmt(&g->cmd, "post:%ld:%.*s", rng_range(r, 1, 9999999), (int)len, text));
    }
    return gen_send(g);
}

static const char *const TAGS[] = {
    "new",    "sale",   "vip",    "beta",   "mobile", "web",    "eu",     "us",
    "apac",   "trial",  "churn",  "promo",  "gift",   "retro",  "dark",   "light",
    "admin",  "editor", "viewer", "bot",    "spam",   "ok",     "hot",    "cold",
};
#define NTAGS (sizeof TAGS / sizeof TAGS[0])

/* tags:N — 3–30 members; a quarter are numeric ids (intset-encoded). */
static int gen_set(Gen *g, Rng *r, long n) {
    if (gen_key(g, "tags:%ld", n) == -1) return -1;
    TRY(cmd_str(&g->cmd, "SADD"));
    TRY(cmd_arg(&g->cmd, g->key, g->keylen));
    long members = rng_range(r, 3, 30);
    int numeric = rng_below(r, 4) == 0;
    for (long j = 0; j < members; j++) {
        if (numeric)
            TRY(cmd_fmt(&g->cmd, "%ld", rng_range(r, 1, 99999999)));
        else
            TRY(cmd_fmt(&g->cmd, "%s-%ld", TAGS[rng_below(r, NTAGS)], rng_range(r, 0, 999)));
    }
    return gen_send(g);
}

/* rank:N — 5–60 members with two-decimal scores. */
static int gen_zset(Gen *g, Rng *r, long n) {
    if (gen_key(g, "rank:%ld", n) == -1) return -1;
    TRY(cmd_str(&g->cmd, "ZADD"));
    TRY(cmd_arg(&g->cmd, g->key, g->keylen));
    long members = rng_range(r, 5, 60);
    for (long j = 0; j < members; j++) {
        TRY(cmd_fmt(&g->cmd, "%ld.%02ld", rng_range(r, 0, 99999), rng_range(r, 0, 99)));
        TRY(cmd_fmt(&g->cmd, "player:%ld", rng_range(r, 1, 9999999)));
    }
    return gen_send(g);
}

static const char *const EVENT_TYPES[] = {"click", "view", "buy", "login", "logout", "search"};
static const char *const GROUP_NAMES[] = {"billing", "audit", "mailer"};

/* events:N — 10–100 entries with explicit IDs, 1–3 consumer groups read from
 * 0; each group's consumers read part of the stream and acknowledge part of
 * what they read, so every group keeps a non-empty PEL. */
static int gen_stream(Gen *g, Rng *r, long n) {
    if (gen_key(g, "events:%ld", n) == -1) return -1;
    long entries = rng_range(r, 10, 100);
    /* IDs: a base in Nov 2023 plus 1 ms–5 s per entry; sequence 0. */
    unsigned long long ms = 1700000000000ULL + rng_below(r, 30ULL * 24 * HOUR_MS);
    unsigned long long *ids = malloc((size_t)entries * sizeof *ids);
    if (!ids) return oom(g);
    int rc = 0;
    for (long j = 0; j < entries && rc == 0; j++) {
        ms += (unsigned long long)rng_range(r, 1, 5000);
        ids[j] = ms;
        if (cmd_str(&g->cmd, "XADD") == -1 || cmd_arg(&g->cmd, g->key, g->keylen) == -1 ||
            cmd_fmt(&g->cmd, "%llu-0", ms) == -1 || cmd_str(&g->cmd, "type") == -1 ||
            cmd_str(&g->cmd, EVENT_TYPES[rng_below(r, 6)]) == -1 ||
            cmd_str(&g->cmd, "user") == -1 ||
            cmd_fmt(&g->cmd, "%ld", rng_range(r, 1, 9999999)) == -1) {
            rc = oom(g);
            break;
        }
        if (rng_below(r, 3) == 0 &&
            (cmd_str(&g->cmd, "amount") == -1 ||
             cmd_fmt(&g->cmd, "%ld.%02ld", rng_range(r, 1, 999), rng_range(r, 0, 99)) == -1)) {
            rc = oom(g);
            break;
        }
        rc = gen_send(g);
    }
    long groups = rng_range(r, 1, 3);
    for (long gi = 0; gi < groups && rc == 0; gi++) {
        const char *group = GROUP_NAMES[gi];
        if (cmd_str(&g->cmd, "XGROUP") == -1 || cmd_str(&g->cmd, "CREATE") == -1 ||
            cmd_arg(&g->cmd, g->key, g->keylen) == -1 || cmd_str(&g->cmd, group) == -1 ||
            cmd_str(&g->cmd, "0") == -1) {
            rc = oom(g);
            break;
        }
        rc = gen_send(g);
        long delivered = rng_range(r, 1, entries); /* this group has read this far */
        long consumers = rng_range(r, 1, 3);
        long next = 0;
        for (long ci = 0; ci < consumers && next < delivered && rc == 0; ci++) {
            long count = ci == consumers - 1 ? delivered - next
                                             : rng_range(r, 1, delivered - next);
            char consumer[32];
            snprintf(consumer, sizeof consumer, "worker-%ld", ci + 1);
            if (cmd_str(&g->cmd, "XREADGROUP") == -1 || cmd_str(&g->cmd, "GROUP") == -1 ||
                cmd_str(&g->cmd, group) == -1 || cmd_str(&g->cmd, consumer) == -1 ||
                cmd_str(&g->cmd, "COUNT") == -1 || cmd_fmt(&g->cmd, "%ld", count) == -1 ||
                cmd_str(&g->cmd, "STREAMS") == -1 ||
                cmd_arg(&g->cmd, g->key, g->keylen) == -1 || cmd_str(&g->cmd, ">") == -1) {
                rc = oom(g);
                break;
            }
            rc = gen_send(g);
            if (rc) break;
            /* Acknowledge about half of what this consumer read, never its
             * last entry: the PEL stays non-empty. */
            if (cmd_str(&g->cmd, "XACK") == -1 || cmd_arg(&g->cmd, g->key, g->keylen) == -1 ||
                cmd_str(&g->cmd, group) == -1) {
                rc = oom(g);
                break;
            }
            int acks = 0;
            for (long j = next; j < next + count - 1; j++) {
                if (rng_below(r, 2) == 0) continue;
                if (cmd_fmt(&g->cmd, "%llu-0", ids[j]) == -1) {
                    rc = oom(g);
                    break;
                }
                acks++;
            }
            if (rc) break;
            if (acks)
                rc = gen_send(g);
            else
                cmd_reset(&g->cmd);
            next += count;
        }
    }
    free(ids);
    return rc;
}

/* big:hash and big:list, written DATAGEN_BIG_CHUNK elements per command. */
static int gen_big(Gen *g) {
    Rng r;
    rng_seed(&r, g->o->seed, UINT64_MAX);
    if (gen_key(g, "big:hash") == -1) return -1;
    for (long i = 0; i < DATAGEN_BIG_HASH;) {
        TRY(cmd_str(&g->cmd, "HSET"));
        TRY(cmd_arg(&g->cmd, g->key, g->keylen));
        for (long j = 0; j < DATAGEN_BIG_CHUNK && i < DATAGEN_BIG_HASH; j++, i++) {
            TRY(cmd_fmt(&g->cmd, "field:%06ld", i));
            TRY(cmd_text(&g->cmd, &r, (size_t)rng_range(&r, 10, 40)));
        }
        if (gen_send(g) == -1) return -1;
    }
    if (gen_key(g, "big:list") == -1) return -1;
    for (long i = 0; i < DATAGEN_BIG_LIST;) {
        TRY(cmd_str(&g->cmd, "RPUSH"));
        TRY(cmd_arg(&g->cmd, g->key, g->keylen));
        for (long j = 0; j < DATAGEN_BIG_CHUNK && i < DATAGEN_BIG_LIST; j++, i++) {
            char text[32];
            size_t len = (size_t)rng_range(&r, 16, 32);
            rng_text(&r, text, len);
            TRY(cmd_fmt(&g->cmd, "item:%07ld:%.*s", i, (int)len, text));
        }
        if (gen_send(g) == -1) return -1;
    }
    return 0;
}

void datagen_options_init(DatagenOptions *o) {
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->keys = 1000000;
    o->db = 0;
    o->big_keys = 0;
    o->prefix = "";
}

/* One key: its type is the first draw of its own generator. Mix: 70% strings,
 * 8% hashes, 6% lists, 6% sets, 8% sorted sets, 2% streams. */
static int gen_one(Gen *g, long n) {
    Rng r;
    rng_seed(&r, g->o->seed, (uint64_t)n);
    uint64_t t = rng_below(&r, 100);
    if (t < 70) return gen_string(g, &r, n);
    if (t < 78) return gen_hash(g, &r, n);
    if (t < 84) return gen_list(g, &r, n);
    if (t < 90) return gen_set(g, &r, n);
    if (t < 98) return gen_zset(g, &r, n);
    return gen_stream(g, &r, n);
}

long datagen_run(Conn *c, const DatagenOptions *o, void (*progress)(long done, void *ud),
                 void *ud, char *err, size_t errlen) {
    if (!c || !o) {
        util_err(err, errlen, "datagen: no connection or options");
        return -1;
    }
    if (o->keys < 0) {
        util_err(err, errlen, "datagen: key count %ld is negative: give 0 or more", o->keys);
        return -1;
    }
    if (o->db < 0) {
        util_err(err, errlen, "datagen: db %d is negative: give 0 or more", o->db);
        return -1;
    }
    if (conn_db(c) != o->db && conn_select(c, o->db) == -1) {
        util_err(err, errlen, "datagen: %s: could not select db %d: %s", conn_label(c), o->db,
                 conn_errstr(c));
        return -1;
    }
    if (conn_pending(c) != 0) {
        util_err(err, errlen, "datagen: %s has %zu unread replies: read them first",
                 conn_label(c), conn_pending(c));
        return -1;
    }

    Gen g;
    memset(&g, 0, sizeof g);
    g.conn = c;
    g.o = o;
    g.err = err;
    g.errlen = errlen;
    g.ring = malloc(DATAGEN_RING * sizeof *g.ring);
    g.ring_bytes = malloc(DATAGEN_RING * sizeof *g.ring_bytes);
    if (!g.ring || !g.ring_bytes) {
        free(g.ring);
        free(g.ring_bytes);
        util_err(err, errlen, "datagen: out of memory");
        return -1;
    }

    long done = 0;
    int rc = 0;
    for (long n = 0; n < o->keys && rc == 0; n++) {
        rc = gen_one(&g, n);
        done++;
        if (rc == 0 && progress && done % DATAGEN_PROGRESS == 0) {
            /* Report keys the server has acknowledged, not only queued. */
            rc = gen_drain(&g, 0, 0);
            if (rc == 0) progress(done, ud);
        }
    }
    if (rc == 0 && o->big_keys) {
        rc = gen_big(&g);
        done += 2;
    }
    if (rc == 0) rc = gen_drain(&g, 0, 0);
    if (rc == 0 && progress) progress(done, ud);

    cmd_free(&g.cmd);
    free(g.ring);
    free(g.ring_bytes);
    return rc == 0 ? done : -1;
}
