/* typecopy — one key copied with type commands, chunk by chunk, under a
 * temporary name renamed over the real one at the end. See typecopy.h for
 * what is copied, what can differ and why.
 *
 * Shape of one call: [target: EXISTS when not replacing] → [source: TYPE
 * (+ PEXPIRETIME)] → per chunk: one source read, then one target pipeline
 * (the writes + PEXPIRE of the temporary key) whose replies are all read
 * before the next chunk → [target: size of the temporary key] → [target:
 * PEXPIREAT/PERSIST + RENAME/RENAMENX]. Memory is one chunk of the value
 * (streams: one XRANGE chunk plus one XPENDING page per group). */
#include "typecopy.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util.h"

#define TC_PLACEHOLDER TYPECOPY_PLACEHOLDER
#define TC_TIME_TRIES 3

/* Flags of a queued target command: what its reply means. */
enum { TCQ_PLAIN = 0, TCQ_ADD, TCQ_LEN, TCQ_CLAIM };

typedef struct TcId {
    unsigned long long ms, seq;
} TcId;

typedef struct Tc {
    Conn *src, *dst;
    const char *key;
    size_t klen;
    char *tmp;
    size_t tmplen;
    TypeCopyOptions o;
    TypeCopyStats *st;
    char *err;
    size_t errlen;
    char kdesc[128]; /* the key, printable, for messages */
    /* argv scratch */
    const char **av;
    size_t *al;
    int acap;
    /* target commands queued, replies unread */
    int queued, qcap;
    unsigned char *qflag;
    const char **qname;
    long long added; /* sum of TCQ_ADD replies / last TCQ_LEN reply */
    int wrote;       /* something was sent that may have created tmp */
    char safety[24]; /* safety expiry in ms, as text */
} Tc;

/* ---- small helpers ------------------------------------------------------- */

static uint16_t crc16_tab[256];
static pthread_once_t crc16_once = PTHREAD_ONCE_INIT;

static void crc16_init(void) {
    for (int i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++) c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
        crc16_tab[i] = c;
    }
}

/* CRC16/XMODEM, the cluster's key hash. */
static uint16_t crc16(const char *buf, size_t len) {
    pthread_once(&crc16_once, crc16_init);
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) crc = (uint16_t)((crc << 8) ^ crc16_tab[((crc >> 8) ^ (unsigned char)buf[i]) & 0xff]);
    return crc;
}

/* The part of key the cluster hashes: the first non-empty {tag}, else all. */
static void hashed_part(const char *key, size_t len, size_t *off, size_t *n) {
    size_t s = 0, e;
    for (; s < len; s++)
        if (key[s] == '{') break;
    if (s < len) {
        for (e = s + 1; e < len; e++)
            if (key[e] == '}') break;
        if (e < len && e > s + 1) {
            *off = s + 1;
            *n = e - s - 1;
            return;
        }
    }
    *off = 0;
    *n = len;
}

unsigned typecopy_keyslot(const char *key, size_t len) {
    size_t off, n;
    hashed_part(key, len, &off, &n);
    return crc16(key + off, n) & 0x3FFF;
}

char *typecopy_tmp_name(const char *key, size_t klen, uint64_t nonce, size_t *outlen) {
    size_t off, n;
    hashed_part(key, klen, &off, &n);
    const char *tag = key + off;
    char suffix[48];
    int sl = snprintf(suffix, sizeof suffix, "}ferry-tmp-%016llx", (unsigned long long)nonce);
    if (n > 0 && !memchr(tag, '}', n)) {
        /* "{" tag "}ferry-tmp-…": the first '{' is ours and the first '}'
         * after it closes exactly tag (tag holds none), so the slot is
         * tag's slot, which is key's. */
        char *out = malloc(1 + n + (size_t)sl + 1);
        if (!out) return NULL;
        out[0] = '{';
        memcpy(out + 1, tag, n);
        memcpy(out + 1 + n, suffix, (size_t)sl + 1);
        *outlen = 1 + n + (size_t)sl;
        return out;
    }
    /* The hashed part is empty or holds '}' (keys like "a}b", "", "{}x"):
     * search a braced name with the same slot (16384 tries on average). */
    unsigned want = typecopy_keyslot(key, klen);
    char *out = malloc(64);
    if (!out) return NULL;
    for (unsigned i = 0;; i++) {
        int l = snprintf(out, 64, "{ferry-tmp-%016llx-%u}", (unsigned long long)nonce, i);
        if ((crc16(out + 1, (size_t)l - 2) & 0x3FFF) == want) {
            *outlen = (size_t)l;
            return out;
        }
    }
}

static uint64_t tc_nonce(void) {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v) return v;
    static _Atomic uint64_t counter;
    return (uint64_t)util_mono_us() * 6364136223846793005ULL ^ ((uint64_t)getpid() << 32) ^
           atomic_fetch_add(&counter, 1);
}

/* Printable form of a binary string (non-printable bytes as \xNN), cut. */
static void tc_printable(const char *s, size_t len, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (o + 8 >= cap) {
            if (o + 4 < cap) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
    }
    out[o] = '\0';
}

static int tc_id_parse(const char *s, size_t len, TcId *id) {
    char buf[64];
    if (!s || len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    id->ms = strtoull(buf, &end, 10);
    if (*end == '\0') {
        id->seq = 0;
        return 0;
    }
    if (*end != '-') return -1;
    id->seq = strtoull(end + 1, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static int tc_id_reply(const redisReply *r, TcId *id) {
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return -1;
    return tc_id_parse(r->str, r->len, id);
}

static int tc_id_fmt(TcId id, char *buf, size_t len) {
    return snprintf(buf, len, "%llu-%llu", id.ms, id.seq);
}

static int tc_id_cmp(TcId a, TcId b) {
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
}

int typecopy_id_parse(const char *s, size_t len, StreamId *id) {
    TcId t;
    if (tc_id_parse(s, len, &t) != 0) return -1;
    id->ms = t.ms;
    id->seq = t.seq;
    return 0;
}

int typecopy_id_cmp(StreamId a, StreamId b) {
    TcId x = {a.ms, a.seq}, y = {b.ms, b.seq};
    return tc_id_cmp(x, y);
}

static TcId tc_id_next(TcId a) {
    if (a.seq == ~0ULL) {
        a.ms++;
        a.seq = 0;
    } else {
        a.seq++;
    }
    return a;
}

static const redisReply *tc_map_get(const redisReply *map, const char *name) {
    if (!map || map->type != REDIS_REPLY_ARRAY) return NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i + 1 < map->elements; i += 2) {
        const redisReply *k = map->element[i];
        if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) && k->len == nl &&
            !memcmp(k->str, name, nl))
            return map->element[i + 1];
    }
    return NULL;
}

static int tc_is_str(const redisReply *r) {
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* ---- the call's state ------------------------------------------------------ */

static int tc_fail(Tc *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int tc_fail(Tc *t, const char *fmt, ...) {
    if (t->err && t->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->err, t->errlen, fmt, ap);
        va_end(ap);
    }
    return TYPECOPY_ERROR;
}

/* A connection failed during `what`: conn_errstr names the server and what
 * to check. */
static int tc_io(Tc *t, Conn *c, const char *what) {
    return tc_fail(t, "key \"%s\" not copied (%s failed): %s", t->kdesc, what, conn_errstr(c));
}

static int tc_argv(Tc *t, int n) {
    if (n <= t->acap) return 0;
    int cap = t->acap ? t->acap : 16;
    while (cap < n) cap *= 2;
    const char **v = realloc(t->av, sizeof(*v) * (size_t)cap);
    if (!v) return -1;
    t->av = v;
    size_t *l = realloc(t->al, sizeof(*l) * (size_t)cap);
    if (!l) return -1;
    t->al = l;
    t->acap = cap;
    return 0;
}

/* One command on the source, read at once. NULL on I/O error (err set).
 * An error reply is returned as a reply. */
static redisReply *tc_src(Tc *t, int argc, const char **argv, const size_t *lens) {
    t->st->src_commands++;
    redisReply *r = conn_command_argv(t->src, argc, argv, lens);
    if (!r)
        tc_io(t, t->src, argv[0]);
    return r;
}

/* Frees r (an error reply or one of the wrong shape) and fills err. */
static int tc_src_bad(Tc *t, redisReply *r, const char *what) {
    if (r && r->type == REDIS_REPLY_ERROR)
        tc_fail(t, "%s answered %s on key \"%s\" with: %.200s; the key was not copied", conn_label(t->src), what,
                t->kdesc, r->str);
    else
        tc_fail(t, "%s: %s on key \"%s\" answered something unexpected; the key was not copied",
                conn_label(t->src), what, t->kdesc);
    if (r) freeReplyObject(r);
    return TYPECOPY_ERROR;
}

static int tc_dst_append(Tc *t, int flag, int argc, const char **argv, const size_t *lens) {
    if (t->queued >= t->qcap) {
        int cap = t->qcap ? t->qcap * 2 : 64;
        unsigned char *f = realloc(t->qflag, (size_t)cap);
        if (!f) return tc_fail(t, "out of memory copying key \"%s\"", t->kdesc);
        t->qflag = f;
        const char **nm = realloc(t->qname, sizeof(*nm) * (size_t)cap);
        if (!nm) return tc_fail(t, "out of memory copying key \"%s\"", t->kdesc);
        t->qname = nm;
        t->qcap = cap;
    }
    if (conn_append_argv(t->dst, argc, argv, lens) != 0)
        return tc_io(t, t->dst, argv[0]);
    t->qflag[t->queued] = (unsigned char)flag;
    t->qname[t->queued] = argv[0]; /* always a literal */
    t->queued++;
    t->st->dst_commands++;
    t->wrote = 1;
    return 0;
}

/* PEXPIRE tmp <safety>: renews the temporary key's safety expiry. */
static int tc_dst_safety(Tc *t) {
    const char *a[3] = {"PEXPIRE", t->tmp, t->safety};
    size_t l[3] = {7, t->tmplen, strlen(t->safety)};
    return tc_dst_append(t, TCQ_PLAIN, 3, a, l);
}

/* Reads every queued target reply. -1 with err on the first error reply
 * (the rest are still read) or on I/O error. */
static int tc_dst_drain(Tc *t) {
    int rc = 0;
    int n = t->queued;
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (conn_get_reply(t->dst, &r) != 0) {
            t->queued = 0;
            return tc_io(t, t->dst, t->qname[i]);
        }
        if (r->type == REDIS_REPLY_ERROR) {
            if (rc == 0) {
                const char *hint = "see the server's answer";
                if (!strncmp(r->str, "OOM", 3))
                    hint = "free memory or raise maxmemory on the target, then rerun";
                else if (strstr(r->str, "unknown command") || strstr(r->str, "syntax error") ||
                         strstr(r->str, "unknown subcommand"))
                    hint = "the target does not support it (too old?): check its version";
                else if (!strncmp(r->str, "NOPERM", 6))
                    hint = "the target's ACL user lacks this command: grant it and rerun";
                tc_fail(t, "%s answered %s for key \"%s\" with: %.200s; %s", conn_label(t->dst), t->qname[i],
                        t->kdesc, r->str, hint);
            }
            rc = TYPECOPY_ERROR;
        } else if (t->qflag[i] == TCQ_ADD && r->type == REDIS_REPLY_INTEGER) {
            t->added += r->integer;
        } else if (t->qflag[i] == TCQ_LEN && r->type == REDIS_REPLY_INTEGER) {
            t->added = r->integer;
        } else if (t->qflag[i] == TCQ_CLAIM && (r->type != REDIS_REPLY_ARRAY || r->elements != 1)) {
            if (rc == 0)
                tc_fail(t, "%s: XCLAIM … FORCE did not recreate a pending entry of stream \"%s\"; "
                        "the key was not copied", conn_label(t->dst), t->kdesc);
            rc = TYPECOPY_ERROR;
        }
        freeReplyObject(r);
    }
    t->queued = 0;
    return rc;
}

/* After an error: drop what we wrote. Best effort; if the connection is
 * gone the safety expiry removes the temporary key. */
static void tc_abort(Tc *t) {
    if (conn_broken(t->dst)) return;
    for (int i = t->queued; i > 0; i--) {
        redisReply *r;
        if (conn_get_reply(t->dst, &r) != 0) return;
        freeReplyObject(r);
    }
    t->queued = 0;
    if (!t->wrote) return;
    const char *a[2] = {"UNLINK", t->tmp};
    size_t l[2] = {6, t->tmplen};
    t->st->dst_commands++;
    redisReply *r = conn_command_argv(t->dst, 2, a, l);
    if (r) freeReplyObject(r);
}

/* ---- strings, hashes, sets, sorted sets, lists ------------------------------ */

/* Returns COPIED with t->added = the value's length, GONE, or ERROR. */
static int tc_string(Tc *t) {
    size_t w = t->o.string_window;
    long long off = 0;
    for (int first = 1;; first = 0) {
        char s[32], e[32];
        snprintf(s, sizeof s, "%lld", off);
        snprintf(e, sizeof e, "%lld", off + (long long)w - 1);
        const char *a[4] = {"GETRANGE", t->key, s, e};
        size_t l[4] = {8, t->klen, strlen(s), strlen(e)};
        if (conn_append_argv(t->src, 4, a, l) != 0)
            return tc_io(t, t->src, "GETRANGE");
        t->st->src_commands++;
        if (first) {
            /* GETRANGE of a missing key is "", like an empty string. */
            const char *x[2] = {"EXISTS", t->key};
            size_t xl[2] = {6, t->klen};
            conn_append_argv(t->src, 2, x, xl);
            t->st->src_commands++;
        }
        redisReply *r = NULL, *ex = NULL;
        if (conn_get_reply(t->src, &r) != 0 || (first && conn_get_reply(t->src, &ex) != 0)) {
            if (r) freeReplyObject(r);
            return tc_io(t, t->src, "GETRANGE");
        }
        if (ex) {
            int gone = ex->type == REDIS_REPLY_INTEGER && ex->integer == 0;
            freeReplyObject(ex);
            if (gone) {
                freeReplyObject(r);
                return TYPECOPY_GONE;
            }
        }
        if (r->type != REDIS_REPLY_STRING) return tc_src_bad(t, r, "GETRANGE");
        size_t got = r->len;
        int rc;
        if (first) {
            const char *b[5] = {"SET", t->tmp, r->str, "PX", t->safety};
            size_t bl[5] = {3, t->tmplen, r->len, 2, strlen(t->safety)};
            rc = tc_dst_append(t, TCQ_PLAIN, 5, b, bl);
        } else {
            const char *b[3] = {"APPEND", t->tmp, r->str};
            size_t bl[3] = {6, t->tmplen, r->len};
            rc = tc_dst_append(t, TCQ_PLAIN, 3, b, bl);
            if (rc == 0) rc = tc_dst_safety(t);
        }
        freeReplyObject(r);
        if (rc != 0 || tc_dst_drain(t) != 0) return TYPECOPY_ERROR;
        t->st->bytes += got;
        off += (long long)got;
        if (got < w) break;
    }
    t->added = off;
    return TYPECOPY_COPIED;
}

/* HSCAN/SSCAN/ZSCAN → HSET/SADD/ZADD. t->added = distinct elements written. */
static int tc_scan(Tc *t, const char *scan, const char *add, int pairs, int swap) {
    char cursor[32] = "0", count[16];
    snprintf(count, sizeof count, "%d", t->o.chunk);
    int any = 0;
    do {
        const char *a[5] = {scan, t->key, cursor, "COUNT", count};
        size_t l[5] = {strlen(scan), t->klen, strlen(cursor), 5, strlen(count)};
        redisReply *r = tc_src(t, 5, a, l);
        if (!r) return TYPECOPY_ERROR;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !tc_is_str(r->element[0]) ||
            r->element[1]->type != REDIS_REPLY_ARRAY || r->element[0]->len >= sizeof cursor ||
            r->element[1]->elements % (size_t)pairs)
            return tc_src_bad(t, r, scan);
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        redisReply *items = r->element[1];
        if (items->elements) {
            any = 1;
            int argc = 2 + (int)items->elements;
            if (tc_argv(t, argc) != 0) {
                freeReplyObject(r);
                return tc_fail(t, "out of memory copying key \"%s\"", t->kdesc);
            }
            t->av[0] = add;
            t->al[0] = strlen(add);
            t->av[1] = t->tmp;
            t->al[1] = t->tmplen;
            for (size_t i = 0; i < items->elements; i++) {
                /* ZSCAN gives member, score; ZADD wants score, member. */
                size_t j = swap ? (i ^ 1) : i;
                t->av[2 + i] = items->element[j]->str;
                t->al[2 + i] = items->element[j]->len;
                t->st->bytes += items->element[j]->len;
            }
            int rc = tc_dst_append(t, TCQ_ADD, argc, t->av, t->al);
            if (rc == 0) rc = tc_dst_safety(t);
            t->st->elements += items->elements / (size_t)pairs;
            freeReplyObject(r);
            if (rc != 0 || tc_dst_drain(t) != 0) return TYPECOPY_ERROR;
        } else {
            freeReplyObject(r);
        }
    } while (strcmp(cursor, "0") != 0);
    return any ? TYPECOPY_COPIED : TYPECOPY_GONE;
}

/* LRANGE windows → RPUSH. t->added = the list's length on the target. */
static int tc_list(Tc *t) {
    long long start = 0;
    for (;;) {
        char s[32], e[32];
        snprintf(s, sizeof s, "%lld", start);
        snprintf(e, sizeof e, "%lld", start + t->o.chunk - 1);
        const char *a[4] = {"LRANGE", t->key, s, e};
        size_t l[4] = {6, t->klen, strlen(s), strlen(e)};
        redisReply *r = tc_src(t, 4, a, l);
        if (!r) return TYPECOPY_ERROR;
        if (r->type != REDIS_REPLY_ARRAY) return tc_src_bad(t, r, "LRANGE");
        size_t n = r->elements;
        if (n == 0) {
            freeReplyObject(r);
            break;
        }
        if (tc_argv(t, 2 + (int)n) != 0) {
            freeReplyObject(r);
            return tc_fail(t, "out of memory copying key \"%s\"", t->kdesc);
        }
        t->av[0] = "RPUSH";
        t->al[0] = 5;
        t->av[1] = t->tmp;
        t->al[1] = t->tmplen;
        for (size_t i = 0; i < n; i++) {
            t->av[2 + i] = r->element[i]->str;
            t->al[2 + i] = r->element[i]->len;
            t->st->bytes += r->element[i]->len;
        }
        int rc = tc_dst_append(t, TCQ_LEN, 2 + (int)n, t->av, t->al);
        if (rc == 0) rc = tc_dst_safety(t);
        freeReplyObject(r);
        if (rc != 0 || tc_dst_drain(t) != 0) return TYPECOPY_ERROR;
        t->st->elements += n;
        start += (long long)n;
        if ((long long)n < t->o.chunk) break;
    }
    return start ? TYPECOPY_COPIED : TYPECOPY_GONE;
}

/* ---- streams -------------------------------------------------------------- */

typedef struct TcGroup {
    const redisReply *name;      /* into the XINFO reply */
    const redisReply *consumers; /* array of consumer maps, or NULL */
    TcId last_id;
    long long entries_read;      /* -1 = nil */
    long long pel_count;
    redisReply *page;            /* the current XPENDING page */
    size_t pos;
    long long page_now;          /* the source's clock (ms) when the page was read */
    TcId next;                   /* start of the next page */
    int last_page, done;
} TcGroup;

typedef struct TcStream {
    redisReply *info; /* XINFO STREAM key FULL COUNT 1 */
    TcId last;        /* last-generated-id: nothing after it is copied */
    int v7;           /* the source reports entries-added & co. */
    long long entries_added;
    TcId max_deleted;
    TcGroup *g;
    size_t ng;
    redisReply *chunk; /* the current XRANGE chunk */
    size_t cpos;
    TcId cnext;
    int clast;
} TcStream;

static long long tc_time_ms(const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !tc_is_str(r->element[0]) ||
        !tc_is_str(r->element[1]))
        return -1;
    return strtoll(r->element[0]->str, NULL, 10) * 1000 + strtoll(r->element[1]->str, NULL, 10) / 1000;
}

/* Next page of g's PEL, ids in [g->next, s->last]. Brackets XPENDING
 * between two TIME commands: when both say the same millisecond, that is
 * the XPENDING's own clock, so delivery time = it - idle exactly. */
static int tc_pel_fetch(Tc *t, TcStream *s, TcGroup *g) {
    if (g->page) freeReplyObject(g->page);
    g->page = NULL;
    g->pos = 0;
    char start[48], end[48], count[16];
    tc_id_fmt(g->next, start, sizeof start);
    tc_id_fmt(s->last, end, sizeof end);
    snprintf(count, sizeof count, "%d", t->o.chunk);
    for (int attempt = 1;; attempt++) {
        const char *tm[1] = {"TIME"};
        size_t tl[1] = {4};
        const char *a[6] = {"XPENDING", t->key, g->name->str, start, end, count};
        size_t l[6] = {8, t->klen, g->name->len, strlen(start), strlen(end), strlen(count)};
        conn_append_argv(t->src, 1, tm, tl);
        conn_append_argv(t->src, 6, a, l);
        conn_append_argv(t->src, 1, tm, tl);
        t->st->src_commands += 3;
        redisReply *r[3] = {0};
        for (int i = 0; i < 3; i++)
            if (conn_get_reply(t->src, &r[i]) != 0) {
                for (int j = 0; j < i; j++) freeReplyObject(r[j]);
                return tc_io(t, t->src, "XPENDING");
            }
        long long t1 = tc_time_ms(r[0]), t2 = tc_time_ms(r[2]);
        freeReplyObject(r[0]);
        freeReplyObject(r[2]);
        if (r[1]->type == REDIS_REPLY_ERROR && strstr(r[1]->str, "NOGROUP")) {
            char gname[96];
            tc_printable(g->name->str, g->name->len, gname, sizeof gname);
            freeReplyObject(r[1]);
            return tc_fail(t, "%s: consumer group \"%s\" of stream \"%s\" was deleted during the copy; "
                           "copy the key again", conn_label(t->src), gname, t->kdesc);
        }
        if (r[1]->type != REDIS_REPLY_ARRAY || t1 < 0 || t2 < 0) return tc_src_bad(t, r[1], "XPENDING");
        if (t1 != t2 && attempt < TC_TIME_TRIES) {
            freeReplyObject(r[1]);
            continue;
        }
        g->page = r[1];
        g->page_now = t1;
        break;
    }
    size_t n = g->page->elements;
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = g->page->element[i];
        TcId id;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 4 || tc_id_reply(e->element[0], &id) != 0 ||
            !tc_is_str(e->element[1]) || e->element[2]->type != REDIS_REPLY_INTEGER ||
            e->element[3]->type != REDIS_REPLY_INTEGER) {
            redisReply *p = g->page;
            g->page = NULL;
            return tc_src_bad(t, p, "XPENDING");
        }
        if (i + 1 == n) g->next = tc_id_next(id);
    }
    if (n < (size_t)t->o.chunk) g->last_page = 1;
    if (n == 0) g->done = 1;
    return 0;
}

/* g's next pending entry (NULL when there is none), fetching pages. */
static int tc_pel_peek(Tc *t, TcStream *s, TcGroup *g, const redisReply **out) {
    *out = NULL;
    if (g->done) return 0;
    if (!g->page || g->pos >= g->page->elements) {
        if (g->page && g->last_page) {
            g->done = 1;
            return 0;
        }
        if (tc_pel_fetch(t, s, g) != 0) return -1;
        if (g->done) return 0;
    }
    *out = g->page->element[g->pos];
    return 0;
}

/* The next entry of the source stream (NULL at the end), fetching chunks. */
static int tc_entry_peek(Tc *t, TcStream *s, const redisReply **out) {
    *out = NULL;
    if (!s->chunk || s->cpos >= s->chunk->elements) {
        if (s->clast) return 0;
        if (s->chunk) freeReplyObject(s->chunk);
        s->chunk = NULL;
        s->cpos = 0;
        char start[48], end[48], count[16];
        tc_id_fmt(s->cnext, start, sizeof start);
        tc_id_fmt(s->last, end, sizeof end);
        snprintf(count, sizeof count, "%d", t->o.chunk);
        const char *a[6] = {"XRANGE", t->key, start, end, "COUNT", count};
        size_t l[6] = {6, t->klen, strlen(start), strlen(end), 5, strlen(count)};
        redisReply *r = tc_src(t, 6, a, l);
        if (!r) return -1;
        if (r->type != REDIS_REPLY_ARRAY) return tc_src_bad(t, r, "XRANGE");
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            TcId id;
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || tc_id_reply(e->element[0], &id) != 0 ||
                e->element[1]->type != REDIS_REPLY_ARRAY || e->element[1]->elements % 2)
                return tc_src_bad(t, r, "XRANGE");
            if (i + 1 == r->elements) s->cnext = tc_id_next(id);
        }
        if (r->elements < (size_t)t->o.chunk) s->clast = 1;
        s->chunk = r;
        if (r->elements == 0) return 0;
    }
    *out = s->chunk->element[s->cpos];
    return 0;
}

static void tc_stream_free(TcStream *s) {
    for (size_t i = 0; i < s->ng; i++)
        if (s->g[i].page) freeReplyObject(s->g[i].page);
    free(s->g);
    if (s->chunk) freeReplyObject(s->chunk);
    if (s->info) freeReplyObject(s->info);
}

/* The target's version as major*100+minor, from INFO server. */
static int tc_dst_version(Tc *t) {
    if (t->o.dst_version > 0) return t->o.dst_version;
    const char *a[2] = {"INFO", "server"};
    size_t l[2] = {4, 6};
    t->st->dst_commands++;
    redisReply *r = conn_command_argv(t->dst, 2, a, l);
    if (!r) {
        tc_io(t, t->dst, "INFO");
        return -1;
    }
    int v = 700; /* unknown: assume a current server */
    if (r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "redis_version:");
        int major, minor;
        if (p && sscanf(p + 14, "%d.%d", &major, &minor) == 2) v = major * 100 + minor;
    }
    freeReplyObject(r);
    t->o.dst_version = v;
    return v;
}

/* Queues XADD tmp id field value … (fields NULL: a placeholder). */
static int tc_xadd(Tc *t, TcId id, const redisReply *fields) {
    char ids[48];
    tc_id_fmt(id, ids, sizeof ids);
    int argc = 3 + (fields ? (int)fields->elements : 2);
    if (tc_argv(t, argc) != 0) return tc_fail(t, "out of memory copying key \"%s\"", t->kdesc);
    t->av[0] = "XADD";
    t->al[0] = 4;
    t->av[1] = t->tmp;
    t->al[1] = t->tmplen;
    t->av[2] = ids;
    t->al[2] = strlen(ids);
    if (fields) {
        for (size_t i = 0; i < fields->elements; i++) {
            t->av[3 + i] = fields->element[i]->str;
            t->al[3 + i] = fields->element[i]->len;
            t->st->bytes += fields->element[i]->len;
        }
    } else {
        t->av[3] = TC_PLACEHOLDER;
        t->al[3] = strlen(TC_PLACEHOLDER);
        t->av[4] = "1";
        t->al[4] = 1;
    }
    return tc_dst_append(t, TCQ_PLAIN, argc, t->av, t->al);
}

static int tc_xdel(Tc *t, TcId id) {
    char ids[48];
    tc_id_fmt(id, ids, sizeof ids);
    const char *a[3] = {"XDEL", t->tmp, ids};
    size_t l[3] = {4, t->tmplen, strlen(ids)};
    return tc_dst_append(t, TCQ_PLAIN, 3, a, l);
}

/* Reads the stream's state at one instant: XINFO STREAM key FULL COUNT 1
 * gives length, IDs, counters, every group and every consumer (pending
 * lists cut to 1 each; those are paged with XPENDING). */
static int tc_stream_info(Tc *t, TcStream *s) {
    const char *a[6] = {"XINFO", "STREAM", t->key, "FULL", "COUNT", "1"};
    size_t l[6] = {5, 6, t->klen, 4, 5, 1};
    redisReply *r = tc_src(t, 6, a, l);
    if (!r) return TYPECOPY_ERROR;
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key")) {
        freeReplyObject(r);
        return TYPECOPY_GONE;
    }
    if (r->type == REDIS_REPLY_ERROR && (strstr(r->str, "syntax") || strstr(r->str, "unknown"))) {
        tc_fail(t, "%s does not know XINFO STREAM FULL (before Redis 6.0): stream \"%s\" cannot be copied "
                "type-based; copy it with DUMP/RESTORE", conn_label(t->src), t->kdesc);
        freeReplyObject(r);
        return TYPECOPY_ERROR;
    }
    if (r->type != REDIS_REPLY_ARRAY || tc_id_reply(tc_map_get(r, "last-generated-id"), &s->last) != 0)
        return tc_src_bad(t, r, "XINFO STREAM FULL");
    const redisReply *ea = tc_map_get(r, "entries-added");
    const redisReply *md = tc_map_get(r, "max-deleted-entry-id");
    if (ea && ea->type == REDIS_REPLY_INTEGER && md && tc_id_reply(md, &s->max_deleted) == 0) {
        s->v7 = 1;
        s->entries_added = ea->integer;
    }
    const redisReply *groups = tc_map_get(r, "groups");
    if (groups && groups->type == REDIS_REPLY_ARRAY && groups->elements) {
        s->g = calloc(groups->elements, sizeof(*s->g));
        if (!s->g) {
            freeReplyObject(r);
            return tc_fail(t, "out of memory copying stream \"%s\"", t->kdesc);
        }
        for (size_t i = 0; i < groups->elements; i++) {
            const redisReply *gm = groups->element[i];
            TcGroup *g = &s->g[s->ng];
            g->name = tc_map_get(gm, "name");
            if (!tc_is_str(g->name) || tc_id_reply(tc_map_get(gm, "last-delivered-id"), &g->last_id) != 0)
                return tc_src_bad(t, r, "XINFO STREAM FULL");
            const redisReply *er = tc_map_get(gm, "entries-read");
            g->entries_read = er && er->type == REDIS_REPLY_INTEGER ? er->integer : -1;
            const redisReply *pc = tc_map_get(gm, "pel-count");
            g->pel_count = pc && pc->type == REDIS_REPLY_INTEGER ? pc->integer : 1;
            g->consumers = tc_map_get(gm, "consumers");
            if (g->consumers && g->consumers->type != REDIS_REPLY_ARRAY) g->consumers = NULL;
            g->done = g->pel_count == 0;
            s->ng++;
        }
    }
    s->info = r; /* group and consumer names point into it */
    return TYPECOPY_COPIED;
}

/* Entries (with their IDs), groups, consumers, pending entries, counters.
 * t->added = entries written (real ones, placeholders excluded). */
static int tc_stream(Tc *t) {
    TcStream s;
    memset(&s, 0, sizeof s);
    int rc = tc_stream_info(t, &s);
    if (rc != TYPECOPY_COPIED) {
        tc_stream_free(&s);
        return rc;
    }
    int v = tc_dst_version(t);
    if (v < 0) {
        tc_stream_free(&s);
        return TYPECOPY_ERROR;
    }
    int dst7 = v >= 700, dst62 = v >= 602;
    int flush_at = t->o.chunk > 16 ? t->o.chunk : 16;

    /* Groups first (MKSTREAM creates the key), with their final positions:
     * XADD and XCLAIM do not move them. */
    for (size_t i = 0; i < s.ng && rc == 0; i++) {
        TcGroup *g = &s.g[i];
        char lid[48], er[32];
        tc_id_fmt(g->last_id, lid, sizeof lid);
        snprintf(er, sizeof er, "%lld", g->entries_read);
        const char *a[8] = {"XGROUP", "CREATE", t->tmp, g->name->str, lid, "MKSTREAM", "ENTRIESREAD", er};
        size_t l[8] = {6, 6, t->tmplen, g->name->len, strlen(lid), 8, 11, strlen(er)};
        rc = tc_dst_append(t, TCQ_PLAIN, dst7 && s.v7 ? 8 : 6, a, l);
        for (size_t c = 0; dst62 && g->consumers && c < g->consumers->elements && rc == 0; c++) {
            const redisReply *cn = tc_map_get(g->consumers->element[c], "name");
            if (!tc_is_str(cn)) continue;
            const char *b[5] = {"XGROUP", "CREATECONSUMER", t->tmp, g->name->str, cn->str};
            size_t bl[5] = {6, 14, t->tmplen, g->name->len, cn->len};
            rc = tc_dst_append(t, TCQ_PLAIN, 5, b, bl);
            if (rc == 0 && t->queued >= flush_at) rc = tc_dst_drain(t);
        }
        if (rc == 0 && t->queued >= flush_at) rc = tc_dst_drain(t);
    }
    if (rc == 0 && s.ng) rc = tc_dst_safety(t);

    /* Merge, in ID order, the source's entries with every group's pending
     * entries: XADD each entry; a pending entry whose stream entry is gone
     * gets a placeholder entry, is claimed, and the placeholder goes again
     * (XDEL in the middle right after its claims; XTRIM for those before the
     * first real entry, so that max-deleted-entry-id is not touched). */
    TcId last_added = {0, 0}, first_real = {0, 0}, pending_del = {0, 0};
    int any_added = 0, has_real = 0, has_pending_del = 0, head_placeholders = 0;
    long long real = 0;
    while (rc == 0) {
        const redisReply *e = NULL, *p = NULL;
        TcGroup *pg = NULL;
        TcId eid = {0, 0}, pid = {0, 0};
        if (tc_entry_peek(t, &s, &e) != 0) {
            rc = TYPECOPY_ERROR;
            break;
        }
        if (e) tc_id_reply(e->element[0], &eid);
        for (size_t i = 0; i < s.ng; i++) {
            const redisReply *q;
            if (tc_pel_peek(t, &s, &s.g[i], &q) != 0) {
                rc = TYPECOPY_ERROR;
                break;
            }
            TcId qid;
            if (q && tc_id_reply(q->element[0], &qid) == 0 && (!p || tc_id_cmp(qid, pid) < 0)) {
                p = q;
                pg = &s.g[i];
                pid = qid;
            }
        }
        if (rc != 0 || (!e && !p)) break;
        if (p && any_added && tc_id_cmp(pid, last_added) <= 0) {
            /* Its entry is on the target now: claim it for its consumer,
             * with its delivery time and count. */
            char ids[48], tm[32], cnt[32];
            tc_id_fmt(pid, ids, sizeof ids);
            snprintf(tm, sizeof tm, "%lld", pg->page_now - p->element[2]->integer);
            snprintf(cnt, sizeof cnt, "%lld", p->element[3]->integer);
            const char *a[13] = {"XCLAIM", t->tmp, pg->name->str, p->element[1]->str, "0", ids, "TIME", tm,
                                 "RETRYCOUNT", cnt, "FORCE", "JUSTID"};
            size_t l[13] = {6, t->tmplen, pg->name->len, p->element[1]->len, 1, strlen(ids), 4, strlen(tm),
                            10, strlen(cnt), 5, 6};
            rc = tc_dst_append(t, TCQ_CLAIM, 12, a, l);
            t->st->elements++;
            pg->pos++;
        } else {
            /* XADD the next ID: the real entry, or a placeholder. Every claim
             * of an earlier placeholder has been queued by now. */
            if (has_pending_del) {
                rc = tc_xdel(t, pending_del);
                has_pending_del = 0;
            }
            if (rc != 0) break;
            if (e && (!p || tc_id_cmp(eid, pid) <= 0)) {
                rc = tc_xadd(t, eid, e->element[1]);
                last_added = eid;
                if (!has_real) first_real = eid;
                has_real = 1;
                real++;
                t->st->elements++;
                s.cpos++;
            } else {
                rc = tc_xadd(t, pid, NULL);
                last_added = pid;
                if (has_real) {
                    pending_del = pid;
                    has_pending_del = 1;
                } else {
                    head_placeholders = 1;
                }
            }
            any_added = 1;
        }
        if (rc == 0 && t->queued >= flush_at) {
            rc = tc_dst_safety(t);
            if (rc == 0) rc = tc_dst_drain(t);
        }
    }
    if (rc == 0 && has_pending_del) rc = tc_xdel(t, pending_del);
    if (rc == 0 && head_placeholders) {
        char fr[48];
        tc_id_fmt(first_real, fr, sizeof fr);
        const char *a[5] = {"XTRIM", t->tmp, has_real ? "MINID" : "MAXLEN", "=", has_real ? fr : "0"};
        size_t l[5] = {5, t->tmplen, has_real ? 5u : 6u, 1, has_real ? strlen(fr) : 1};
        rc = tc_dst_append(t, TCQ_PLAIN, 5, a, l);
    }
    if (rc == 0 && !any_added && !s.ng) {
        /* An empty stream without groups: create it empty (MAXLEN 0 does not
         * touch max-deleted-entry-id; XSETID below sets the IDs). */
        const char *a[8] = {"XADD", t->tmp, "MAXLEN", "0", "0-1", TC_PLACEHOLDER, "1"};
        size_t l[8] = {4, t->tmplen, 6, 1, 3, strlen(TC_PLACEHOLDER), 1};
        rc = tc_dst_append(t, TCQ_PLAIN, 7, a, l);
    }
    if (rc == 0) {
        char lid[48], ea[32], md[48];
        tc_id_fmt(s.last, lid, sizeof lid);
        snprintf(ea, sizeof ea, "%lld", s.entries_added);
        tc_id_fmt(s.max_deleted, md, sizeof md);
        const char *a[7] = {"XSETID", t->tmp, lid, "ENTRIESADDED", ea, "MAXDELETEDID", md};
        size_t l[7] = {6, t->tmplen, strlen(lid), 12, strlen(ea), 12, strlen(md)};
        rc = tc_dst_append(t, TCQ_PLAIN, dst7 && s.v7 ? 7 : 3, a, l);
    }
    if (rc == 0) rc = tc_dst_safety(t);
    if (rc == 0) rc = tc_dst_drain(t);
    tc_stream_free(&s);
    t->added = real;
    return rc == 0 ? TYPECOPY_COPIED : TYPECOPY_ERROR;
}

/* ---- the call ----------------------------------------------------------------- */

void typecopy_options_init(TypeCopyOptions *o) {
    memset(o, 0, sizeof(*o));
    o->chunk = 512;
    o->string_window = 1024 * 1024;
    o->tmp_ttl_ms = 300000;
}

/* TYPE key [+ PEXPIRETIME key]. type gets the type name. */
static int tc_type_and_expiry(Tc *t, char *type, size_t tlen, long long *abs) {
    int want_ttl = *abs == TYPECOPY_EXPIRE_READ;
    const char *a[2] = {"TYPE", t->key};
    size_t l[2] = {4, t->klen};
    conn_append_argv(t->src, 2, a, l);
    t->st->src_commands++;
    if (want_ttl) {
        a[0] = "PEXPIRETIME";
        l[0] = 11;
        conn_append_argv(t->src, 2, a, l);
        t->st->src_commands++;
    }
    redisReply *ty = NULL, *tt = NULL;
    if (conn_get_reply(t->src, &ty) != 0 || (want_ttl && conn_get_reply(t->src, &tt) != 0)) {
        if (ty) freeReplyObject(ty);
        return tc_io(t, t->src, "TYPE");
    }
    if (!tc_is_str(ty)) {
        if (tt) freeReplyObject(tt);
        return tc_src_bad(t, ty, "TYPE");
    }
    util_strlcpy(type, ty->str, tlen);
    freeReplyObject(ty);
    if (!want_ttl) return 0;
    int64_t before = util_now_ms();
    if (tt->type == REDIS_REPLY_ERROR && strstr(tt->str, "unknown command")) {
        /* Before 7.0: PTTL, as exact as the clocks allow. */
        freeReplyObject(tt);
        a[0] = "PTTL";
        l[0] = 4;
        tt = tc_src(t, 2, a, l);
        if (!tt) return TYPECOPY_ERROR;
        if (tt->type == REDIS_REPLY_INTEGER && tt->integer >= 0) tt->integer += before;
    }
    if (tt->type != REDIS_REPLY_INTEGER) return tc_src_bad(t, tt, "PEXPIRETIME");
    *abs = tt->integer == -1 ? 0 : tt->integer == -2 ? -2 : tt->integer;
    if (*abs == 0 && tt->integer != -1) *abs = 1;
    freeReplyObject(tt);
    return 0;
}

/* The end: check the temporary key's size, set the exact expiry, rename. */
static int tc_finish(Tc *t, const char *sizecmd, long long abs, int replace) {
    const char *a[3] = {sizecmd, t->tmp, NULL};
    size_t l[3] = {strlen(sizecmd), t->tmplen, 0};
    t->st->dst_commands++;
    redisReply *r = conn_command_argv(t->dst, 2, a, l);
    if (!r)
        return tc_io(t, t->dst, sizecmd);
    int ok = r->type == REDIS_REPLY_INTEGER && r->integer == t->added;
    long long have = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    if (!ok)
        return tc_fail(t, "%s: the temporary copy of key \"%s\" holds %lld elements instead of %lld (expired "
                       "during a stall, or written by someone else?); the key was not copied: copy it again",
                       conn_label(t->dst), t->kdesc, have, t->added);
    if (abs > 0 && abs <= util_now_ms()) {
        tc_abort(t);
        return TYPECOPY_GONE;
    }
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", abs);
    if (abs > 0) {
        const char *b[3] = {"PEXPIREAT", t->tmp, ms};
        size_t bl[3] = {9, t->tmplen, strlen(ms)};
        if (tc_dst_append(t, TCQ_PLAIN, 3, b, bl) != 0) return TYPECOPY_ERROR;
    } else {
        const char *b[2] = {"PERSIST", t->tmp};
        size_t bl[2] = {7, t->tmplen};
        if (tc_dst_append(t, TCQ_PLAIN, 2, b, bl) != 0) return TYPECOPY_ERROR;
    }
    const char *c[3] = {replace ? "RENAME" : "RENAMENX", t->tmp, t->key};
    size_t cl[3] = {replace ? 6u : 8u, t->tmplen, t->klen};
    if (tc_dst_append(t, TCQ_PLAIN, 3, c, cl) != 0) return TYPECOPY_ERROR;
    /* Read both replies here: RENAME's "no such key" means the expiry
     * passed in between (PEXPIREAT in the past deletes). */
    redisReply *x = NULL, *y = NULL;
    if (conn_get_reply(t->dst, &x) != 0 || conn_get_reply(t->dst, &y) != 0) {
        if (x) freeReplyObject(x);
        t->queued = 0;
        return tc_fail(t, "key \"%s\" may or may not have been copied (the reply to %s was lost): %s; copy it "
                       "again", t->kdesc, c[0], conn_errstr(t->dst));
    }
    t->queued = 0;
    int rc = TYPECOPY_COPIED;
    if (x->type == REDIS_REPLY_ERROR) {
        tc_fail(t, "%s answered %s for key \"%s\" with: %.200s", conn_label(t->dst), abs > 0 ? "PEXPIREAT" : "PERSIST",
                t->kdesc, x->str);
        rc = TYPECOPY_ERROR;
    }
    if (y->type == REDIS_REPLY_ERROR) {
        if (strstr(y->str, "no such key")) {
            rc = TYPECOPY_GONE;
        } else if (rc == TYPECOPY_COPIED) {
            tc_fail(t, "%s answered %s for key \"%s\" with: %.200s", conn_label(t->dst), c[0], t->kdesc, y->str);
            rc = TYPECOPY_ERROR;
        }
    } else if (!replace && y->type == REDIS_REPLY_INTEGER && y->integer == 0) {
        rc = TYPECOPY_EXISTS; /* created meanwhile: left alone */
    }
    freeReplyObject(x);
    freeReplyObject(y);
    if (rc == TYPECOPY_EXISTS || rc == TYPECOPY_ERROR) tc_abort(t);
    return rc;
}

int typecopy_key(Conn *src, Conn *dst, const char *key, size_t klen, long long abs_expire_ms, int replace,
                 const TypeCopyOptions *opt, TypeCopyStats *st, char *err, size_t errlen) {
    TypeCopyStats dummy;
    memset(&dummy, 0, sizeof dummy);
    Tc t;
    memset(&t, 0, sizeof t);
    t.src = src;
    t.dst = dst;
    t.key = key;
    t.klen = klen;
    t.st = st ? st : &dummy;
    t.err = err;
    t.errlen = errlen;
    typecopy_options_init(&t.o);
    if (opt) {
        if (opt->chunk > 0) t.o.chunk = opt->chunk;
        if (opt->string_window > 0) t.o.string_window = opt->string_window;
        if (opt->tmp_ttl_ms > 0) t.o.tmp_ttl_ms = opt->tmp_ttl_ms;
        t.o.dst_version = opt->dst_version;
    }
    snprintf(t.safety, sizeof t.safety, "%d", t.o.tmp_ttl_ms);
    tc_printable(key, klen, t.kdesc, sizeof t.kdesc);
    if (conn_pending(src) || conn_pending(dst))
        return tc_fail(&t, "internal error: typecopy_key(\"%s\") called with replies pending", t.kdesc);

    if (!replace) {
        const char *a[2] = {"EXISTS", key};
        size_t l[2] = {6, klen};
        t.st->dst_commands++;
        redisReply *r = conn_command_argv(dst, 2, a, l);
        if (!r)
            return tc_io(&t, dst, "EXISTS");
        int exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
        freeReplyObject(r);
        if (exists) return TYPECOPY_EXISTS;
    }

    char type[64];
    long long abs = abs_expire_ms;
    if (tc_type_and_expiry(&t, type, sizeof type, &abs) != 0) return TYPECOPY_ERROR;
    if (!strcmp(type, "none") || abs == -2) return TYPECOPY_GONE;
    if (abs > 0 && abs <= util_now_ms()) return TYPECOPY_GONE;

    const char *sizecmd;
    if (!strcmp(type, "string"))
        sizecmd = "STRLEN";
    else if (!strcmp(type, "hash"))
        sizecmd = "HLEN";
    else if (!strcmp(type, "set"))
        sizecmd = "SCARD";
    else if (!strcmp(type, "zset"))
        sizecmd = "ZCARD";
    else if (!strcmp(type, "list"))
        sizecmd = "LLEN";
    else if (!strcmp(type, "stream"))
        sizecmd = "XLEN";
    else
        return tc_fail(&t, "%s: key \"%s\" has the module type \"%s\", which type-based copy cannot handle; "
                       "copy it with DUMP/RESTORE to a target with the same module and RDB version, or "
                       "exclude it", conn_label(src), t.kdesc, type);

    t.tmp = typecopy_tmp_name(key, klen, tc_nonce(), &t.tmplen);
    if (!t.tmp) return tc_fail(&t, "out of memory copying key \"%s\"", t.kdesc);

    int rc;
    if (!strcmp(type, "string"))
        rc = tc_string(&t);
    else if (!strcmp(type, "hash"))
        rc = tc_scan(&t, "HSCAN", "HSET", 2, 0);
    else if (!strcmp(type, "set"))
        rc = tc_scan(&t, "SSCAN", "SADD", 1, 0);
    else if (!strcmp(type, "zset"))
        rc = tc_scan(&t, "ZSCAN", "ZADD", 2, 1);
    else if (!strcmp(type, "list"))
        rc = tc_list(&t);
    else
        rc = tc_stream(&t);

    if (rc == TYPECOPY_COPIED) rc = tc_finish(&t, sizecmd, abs, replace);
    else tc_abort(&t);
    if (rc == TYPECOPY_COPIED) t.st->keys++;
    free(t.tmp);
    free(t.av);
    free(t.al);
    free(t.qflag);
    free(t.qname);
    return rc;
}

/* ---- recognising a copy -------------------------------------------------------- */

static int tc_key_is(const redisReply *k, const char *name) {
    return k->type == REDIS_REPLY_STRING && k->len == strlen(name) && !memcmp(k->str, name, k->len);
}

/* Two flat [name, value, …] maps, equal but for the names in skip; the
 * maps in "groups" and "consumers" are compared the same way (consumers
 * without their times). */
static int tc_map_same(const redisReply *x, const redisReply *y, const char *const *skip) {
    static const char *const consumer_skip[] = {"seen-time", "active-time", NULL};
    if (x->type != REDIS_REPLY_ARRAY || y->type != REDIS_REPLY_ARRAY || x->elements != y->elements) return 0;
    for (size_t i = 0; i + 1 < x->elements; i += 2) {
        const redisReply *k = x->element[i], *vx = x->element[i + 1], *vy = y->element[i + 1];
        if (!conn_reply_equal(k, y->element[i])) return 0;
        int skipped = 0;
        for (int j = 0; skip && skip[j] && !skipped; j++) skipped = tc_key_is(k, skip[j]);
        if (skipped) continue;
        int groups = tc_key_is(k, "groups"), consumers = tc_key_is(k, "consumers");
        if (!groups && !consumers) {
            if (!conn_reply_equal(vx, vy)) return 0;
            continue;
        }
        if (vx->type != REDIS_REPLY_ARRAY || vy->type != REDIS_REPLY_ARRAY || vx->elements != vy->elements) return 0;
        for (size_t j = 0; j < vx->elements; j++)
            if (!tc_map_same(vx->element[j], vy->element[j], consumers ? consumer_skip : NULL)) return 0;
    }
    return 1;
}

int typecopy_stream_same(Conn *a, const char *ka, size_t kal, Conn *b, const char *kb, size_t kbl) {
    static const char *const stream_skip[] = {"radix-tree-keys", "radix-tree-nodes", NULL};
    const char *argv[6] = {"XINFO", "STREAM", ka, "FULL", "COUNT", "0"};
    size_t lens[6] = {5, 6, kal, 4, 5, 1};
    redisReply *x = conn_command_argv(a, 6, argv, lens);
    argv[2] = kb;
    lens[2] = kbl;
    redisReply *y = x ? conn_command_argv(b, 6, argv, lens) : NULL;
    int same = x && y && x->type == REDIS_REPLY_ARRAY && tc_map_same(x, y, stream_skip);
    if (x) freeReplyObject(x);
    if (y) freeReplyObject(y);
    return same;
}
