/* verify — source and target compared key by key; see verify.h for the
 * protocol. One thread, two connections (one per side), pipelined
 * batches; the source's commands pass through a budget (a virtual clock
 * that advances 1/budget s per command and is allowed at most 100 ms of
 * burst credit).
 *
 * A batch collects its findings and counters privately and commits them
 * only when it completes: a batch interrupted by a dropped connection is
 * redone from the start after a reconnect, without counting twice. */
#include "verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_common.h"
#include "scan.h"
#include "serverinfo.h"
#include "util.h"

#define RECONNECT_ATTEMPTS 12    /* ~45 s of capped backoff */
#define BATCH_ATTEMPTS 4         /* a batch is tried this often before giving up */
#define DUMP_MAX_UNORDERED 128   /* sets/hashes above this are hash tables: DUMP order varies */
#define DUMP_MAX_ORDERED 1000    /* lists/zsets/streams above this are read in chunks */
#define STRING_CHUNK (256 * 1024)
#define BURST_US 100000          /* budget credit a quiet spell may build up */

enum { T_STRING = 0, T_LIST, T_SET, T_ZSET, T_HASH, T_STREAM, T_OTHER, T_NONE = -1 };
static const char *const type_names[VERIFY_NTYPES] = {"string", "list", "set", "zset", "hash", "stream", "other"};
static const char *const len_cmds[VERIFY_NTYPES] = {NULL, "LLEN", "SCARD", "ZCARD", "HLEN", "XLEN", NULL};
static const char *const len_units[VERIFY_NTYPES] = {"bytes", "elements", "members", "members", "fields", "entries", ""};

/* Per-key progress through a forward batch. */
enum { KS_SKIP = -1, KS_PENDING = -2 };
enum { STEP_NONE = 0, STEP_LEN, STEP_DUMP, STEP_DEEP };

typedef struct KeyState {
    const char *k;
    size_t kl;
    int stype, dtype;
    long long sexp, dexp; /* absolute expiry in ms; -1 none; -2 no key */
    int kind;             /* VerifyKind, KS_SKIP (filtered out) or KS_PENDING */
    int ttl_bad;
    int value_bad;
    int step;
    long long len;
} KeyState;

typedef struct Finding {
    int kind;
    const char *k;
    size_t kl;
    char detail[400];
} Finding;

typedef struct V {
    const VerifyOptions *o;
    VerifyResult *res;
    Conn *src, *dst;
    ServerInfo si, di;
    int src_pxt, dst_pxt; /* PEXPIRETIME available */
    int dst_mism;         /* SMISMEMBER available on the target */
    long tol;
    int dump_ok;
    FILE *report;
    char *err;
    size_t errlen;
    /* Budget. */
    int64_t vclock_us;
    uint64_t src_cmds;
    /* Progress. */
    int64_t t0_ms, last_tick_ms;
    uint64_t last_keys, last_cmds;
    double keys_rate, cmds_rate;
    const char *phase;
    int dbi;
    double dbprog;
    uint64_t rng;
    /* The batch in progress: findings and counts, committed when it ends. */
    Finding *fnd;
    int nfnd, capfnd;
    int nomem;
    uint64_t bcounts[VK__COUNT];
    uint64_t btypes[VERIFY_NTYPES];
    uint64_t bchecked;
} V;

/* ------------------------------------------------------------- helpers */

const char *verify_kind_name(VerifyKind k) {
    static const char *const names[VK__COUNT] = {"matching", "missing", "extra", "different", "ttl-drift", "gone"};
    return (unsigned)k < VK__COUNT ? names[k] : "?";
}

const char *verify_type_name(int i) { return i >= 0 && i < VERIFY_NTYPES ? type_names[i] : "none"; }

int verify_clean(const VerifyResult *r) {
    return !r->counts[VK_MISSING] && !r->counts[VK_EXTRA] && !r->counts[VK_DIFFERENT] && !r->counts[VK_TTL_DRIFT];
}

/* A key, field or member quoted for a detail line: escaped, shortened. */
static void vx_q(const char *s, size_t len, char *buf, size_t buflen) {
    char tmp[80];
    util_escape_key(s, len > 60 ? 60 : len, tmp, sizeof(tmp));
    snprintf(buf, buflen, "\"%s%s\"", tmp, len > 60 ? "…" : "");
}

static void vx_time(long long ms, char *buf, size_t len) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char d[32];
    strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03lldZ", d, ms % 1000);
}

static int vx_type_index(const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_STATUS) return T_NONE;
    if (!strcmp(r->str, "none")) return T_NONE;
    for (int i = 0; i < T_OTHER; i++)
        if (!strcmp(r->str, type_names[i])) return i;
    return T_OTHER;
}

static unsigned vx_type_bit(int t) { return t == T_OTHER ? FTYPE_OTHER : filter_type_from_name(type_names[t]); }

/* The value after name in a flat [name, value, name, value…] reply. */
static const redisReply *vx_field(const redisReply *r, const char *name) {
    if (!r || r->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, name)) return r->element[i + 1];
    return NULL;
}

/* Text of a scalar reply for a detail line. */
static void vx_show(const redisReply *r, char *buf, size_t len) {
    if (!r || r->type == REDIS_REPLY_NIL) snprintf(buf, len, "(none)");
    else if (r->type == REDIS_REPLY_INTEGER) snprintf(buf, len, "%lld", r->integer);
    else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) vx_q(r->str, r->len, buf, len);
    else snprintf(buf, len, "(%zu items)", r->type == REDIS_REPLY_ARRAY ? r->elements : 0);
}

/* "ms-seq" + 1: the exclusive start of the next XRANGE/XPENDING page. */
static void vx_id_next(const redisReply *id, char *out, size_t len) {
    unsigned long long ms = 0, seq = 0;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(id->len < 63 ? id->len : 63), id->str);
    sscanf(tmp, "%llu-%llu", &ms, &seq);
    if (seq == UINT64_MAX) {
        ms++;
        seq = 0;
    } else {
        seq++;
    }
    snprintf(out, len, "%llu-%llu", ms, seq);
}

static uint64_t vx_rand(V *v) {
    uint64_t x = v->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    v->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------- budget and progress */

static int vx_stopping(V *v) { return v->o->stopping && v->o->stopping(v->o->ud); }

static int vx_stopped(V *v) {
    return util_err(v->err, v->errlen, "stopped by the operator after %" PRIu64 " source and %" PRIu64
                                       " target keys: the verification is incomplete; rerun it to finish",
                    v->res->src_checked, v->res->dst_checked);
}

static void vx_tick(V *v, int force) {
    int64_t now = util_mono_ms();
    if (!force && now - v->last_tick_ms < 1000) return;
    double dt = (double)(now - v->last_tick_ms) / 1000.0;
    uint64_t keys = v->res->src_checked + v->res->dst_checked;
    if (dt > 0.05) {
        v->keys_rate = (double)(keys - v->last_keys) / dt;
        v->cmds_rate = (double)(v->src_cmds - v->last_cmds) / dt;
    }
    v->last_tick_ms = now;
    v->last_keys = keys;
    v->last_cmds = v->src_cmds;
    if (!v->o->progress) return;
    VerifyProgress p;
    memset(&p, 0, sizeof(p));
    p.phase = v->phase;
    p.db_index = v->dbi;
    p.ndb = v->res->ndb;
    p.src_db = v->dbi < v->res->ndb ? v->res->db[v->dbi].src_db : -1;
    p.dst_db = v->dbi < v->res->ndb ? v->res->db[v->dbi].dst_db : -1;
    p.db_progress = v->dbprog;
    p.src_checked = v->res->src_checked;
    p.dst_checked = v->res->dst_checked;
    memcpy(p.counts, v->res->counts, sizeof(p.counts));
    p.keys_per_s = v->keys_rate;
    p.src_cmds_per_s = v->cmds_rate;
    p.budget = v->o->budget;
    p.elapsed_ms = now - v->t0_ms;
    v->o->progress(v->o->ud, &p);
}

/* Pays for n source commands before they are sent: sleeps while the
 * virtual clock is ahead of real time. -1 when a stop was requested. */
static int vx_budget(V *v, int n) {
    v->src_cmds += (uint64_t)n;
    if (v->o->budget <= 0) return 0;
    int64_t now = util_mono_us();
    if (v->vclock_us < now - BURST_US) v->vclock_us = now - BURST_US;
    v->vclock_us += (int64_t)((double)n * 1e6 / v->o->budget);
    while (v->vclock_us > now) {
        int64_t wait = v->vclock_us - now;
        util_sleep_ms(wait > 100000 ? 100 : (wait + 999) / 1000);
        if (vx_stopping(v)) return vx_stopped(v);
        vx_tick(v, 0);
        now = util_mono_us();
    }
    return 0;
}

static void vx_note(V *v, EventLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void vx_note(V *v, EventLevel level, const char *fmt, ...) {
    if (!v->o->note) return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    v->o->note(v->o->ud, level, buf);
}

/* ------------------------------------------------------------- findings */

static void vx_find(V *v, int kind, const char *k, size_t kl, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void vx_find(V *v, int kind, const char *k, size_t kl, const char *fmt, ...) {
    if (v->nfnd == v->capfnd) {
        int cap = v->capfnd ? v->capfnd * 2 : 64;
        Finding *f = realloc(v->fnd, sizeof(*f) * (size_t)cap);
        if (!f) {
            v->nomem = 1;
            return;
        }
        v->fnd = f;
        v->capfnd = cap;
    }
    Finding *f = &v->fnd[v->nfnd++];
    f->kind = kind;
    f->k = k;
    f->kl = kl;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
}

static void vx_batch_reset(V *v) {
    v->nfnd = 0;
    v->nomem = 0;
    memset(v->bcounts, 0, sizeof(v->bcounts));
    memset(v->btypes, 0, sizeof(v->btypes));
    v->bchecked = 0;
}

static void vx_commit(V *v, VerifyDb *d, int reverse) {
    VerifyResult *r = v->res;
    for (int i = 0; i < v->nfnd; i++) {
        const Finding *f = &v->fnd[i];
        if (r->nsamples[f->kind] < VERIFY_SAMPLES)
            util_escape_key(f->k, f->kl, r->samples[f->kind][r->nsamples[f->kind]++], sizeof(r->samples[0][0]));
        if (v->report) {
            char *esc = malloc(f->kl * 4 + 1);
            if (esc) {
                util_escape_key(f->k, f->kl, esc, f->kl * 4 + 1);
                fprintf(v->report, "%s\tdb%d:%d\t%s\t%s\n", verify_kind_name((VerifyKind)f->kind), d->src_db, d->dst_db,
                        esc, f->detail);
                free(esc);
                r->report_lines++;
            }
        }
    }
    if (v->report && v->nfnd) fflush(v->report);
    for (int k = 0; k < VK__COUNT; k++) {
        d->counts[k] += v->bcounts[k];
        r->counts[k] += v->bcounts[k];
    }
    for (int t = 0; t < VERIFY_NTYPES; t++) {
        if (reverse) d->dst_types[t] += v->btypes[t];
        else d->src_types[t] += v->btypes[t];
    }
    if (reverse) r->dst_checked += v->bchecked;
    else r->src_checked += v->bchecked;
}

/* ------------------------------------------------------------ transport */

static int vx_io(V *v, Conn *c) {
    util_err(v->err, v->errlen, "%s", conn_errstr(c));
    return -2;
}

static int vx_refused(V *v, Conn *c, const char *cmd, const redisReply *r) {
    return util_err(v->err, v->errlen, "%s refused %s: %s; allow it for this user (ACL) or verify with a user that may run it",
                    conn_label(c), cmd, r->str);
}

static int vx_append_key(Conn *c, const char *cmd, const char *k, size_t kl) {
    const char *a[2] = {cmd, k};
    size_t l[2] = {strlen(cmd), kl};
    return conn_append_argv(c, 2, a, l);
}

static int vx_get(V *v, Conn *c, redisReply **r) {
    *r = NULL;
    if (conn_get_reply(c, r) != 0) return vx_io(v, c);
    return 0;
}

/* Sends one command to the source (budgeted) and one to the target, and
 * reads both replies. 0 ok, 1 a WRONGTYPE answer (the key changed under
 * us; replies freed), -1 refused (message), -2 I/O. */
static int vx_both(V *v, int sargc, const char **sargv, const size_t *slens, int dargc, const char **dargv,
                   const size_t *dlens, redisReply **rs, redisReply **rd) {
    *rs = *rd = NULL;
    if (vx_budget(v, 1) != 0) return -1;
    if (conn_append_argv(v->src, sargc, sargv, slens) != 0 || conn_flush(v->src) != 0) return vx_io(v, v->src);
    if (conn_append_argv(v->dst, dargc, dargv, dlens) != 0 || conn_flush(v->dst) != 0) return vx_io(v, v->dst);
    if (vx_get(v, v->src, rs) != 0) return -2;
    if (vx_get(v, v->dst, rd) != 0) {
        freeReplyObject(*rs);
        *rs = NULL;
        return -2;
    }
    for (int side = 0; side < 2; side++) {
        redisReply *r = side ? *rd : *rs;
        if (r->type != REDIS_REPLY_ERROR) continue;
        int rc = !strncmp(r->str, "WRONGTYPE", 9) ? 1 : vx_refused(v, side ? v->dst : v->src, side ? dargv[0] : sargv[0], r);
        freeReplyObject(*rs);
        freeReplyObject(*rd);
        *rs = *rd = NULL;
        return rc;
    }
    return 0;
}

/* The same command on both sides. */
static int vx_same(V *v, int argc, const char **argv, const size_t *lens, redisReply **rs, redisReply **rd) {
    return vx_both(v, argc, argv, lens, argc, argv, lens, rs, rd);
}

/* After an I/O error: reopen whatever is broken or has replies in flight
 * (the db is restored by conn_reconnect). */
static int vx_recover(V *v) {
    Conn *cs[2] = {v->src, v->dst};
    for (int i = 0; i < 2; i++) {
        Conn *c = cs[i];
        if (!conn_broken(c) && conn_pending(c) == 0) continue;
        char why[FERRY_ERR_LEN];
        util_strlcpy(why, conn_errstr(c), sizeof(why));
        vx_note(v, EV_WARN, "%s: connection lost (%s); reconnecting and redoing the batch", conn_label(c), why);
        if (conn_reconnect(c, RECONNECT_ATTEMPTS, NULL) != 0)
            return util_err(v->err, v->errlen, "%s: connection lost and not regained (%s); check the server, then rerun",
                            conn_label(c), why);
    }
    return 0;
}

/* ----------------------------------------------------- type-wise compare */

/* Writes a detail line (truncated to fit: details are for people). */
static void vx_det(char *det, size_t dl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void vx_det(char *det, size_t dl, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(det, dl, fmt, ap);
    va_end(ap);
}

/* A WRONGTYPE answer in the middle of a comparison: the key was replaced. */
static int vx_changed(char *det, size_t dl, const char *what) {
    vx_det(det, dl, "%s: changed type during the check", what);
    return 1;
}

/* The vx_deep_* functions compare one key whose lengths agree. Each returns
 * 0 equal, 1 different (det says how), -1 refused/stopped (message), -2 I/O
 * (the batch is redone after a reconnect). */

static int vx_deep_string(V *v, const KeyState *ks, char *det, size_t dl) {
    for (long long off = 0;; off += STRING_CHUNK) {
        char a[24], b[24];
        snprintf(a, sizeof(a), "%lld", off);
        snprintf(b, sizeof(b), "%lld", off + STRING_CHUNK - 1);
        const char *argv[4] = {"GETRANGE", ks->k, a, b};
        size_t lens[4] = {8, ks->kl, strlen(a), strlen(b)};
        redisReply *rs, *rd;
        int rc = vx_same(v, 4, argv, lens, &rs, &rd);
        if (rc == 1) return vx_changed(det, dl, "string");
        if (rc) return rc;
        int diff = !conn_reply_equal(rs, rd);
        size_t n = rs->len < rd->len ? rs->len : rd->len, at = 0;
        while (diff && at < n && rs->str[at] == rd->str[at]) at++;
        int last = rs->len < STRING_CHUNK || rd->len < STRING_CHUNK;
        freeReplyObject(rs);
        freeReplyObject(rd);
        if (diff) {
            vx_det(det, dl, "string: values differ from byte %lld", off + (long long)at);
            return 1;
        }
        if (last) return 0;
    }
}

static int vx_deep_list(V *v, const KeyState *ks, char *det, size_t dl) {
    int c = v->o->chunk;
    for (long long i = 0;; i += c) {
        char a[24], b[24];
        snprintf(a, sizeof(a), "%lld", i);
        snprintf(b, sizeof(b), "%lld", i + c - 1);
        const char *argv[4] = {"LRANGE", ks->k, a, b};
        size_t lens[4] = {6, ks->kl, strlen(a), strlen(b)};
        redisReply *rs, *rd;
        int rc = vx_same(v, 4, argv, lens, &rs, &rd);
        if (rc == 1) return vx_changed(det, dl, "list");
        if (rc) return rc;
        size_t n = rs->elements < rd->elements ? rs->elements : rd->elements, j = 0;
        while (j < n && conn_reply_equal(rs->element[j], rd->element[j])) j++;
        int diff = j < n || rs->elements != rd->elements;
        int last = rs->elements < (size_t)c;
        freeReplyObject(rs);
        freeReplyObject(rd);
        if (diff) {
            vx_det(det, dl, "list: element %lld differs", i + (long long)j);
            return 1;
        }
        if (last) return 0;
    }
}

static int vx_deep_zset(V *v, const KeyState *ks, char *det, size_t dl) {
    int c = v->o->chunk;
    for (long long i = 0;; i += c) {
        char a[24], b[24];
        snprintf(a, sizeof(a), "%lld", i);
        snprintf(b, sizeof(b), "%lld", i + c - 1);
        const char *argv[5] = {"ZRANGE", ks->k, a, b, "WITHSCORES"};
        size_t lens[5] = {6, ks->kl, strlen(a), strlen(b), 10};
        redisReply *rs, *rd;
        int rc = vx_same(v, 5, argv, lens, &rs, &rd);
        if (rc == 1) return vx_changed(det, dl, "zset");
        if (rc) return rc;
        int diff = 0;
        size_t n = rs->elements < rd->elements ? rs->elements : rd->elements;
        for (size_t j = 0; j + 1 < n && !diff; j += 2) {
            const redisReply *ms = rs->element[j], *md = rd->element[j];
            char q1[160], q2[160];
            if (!conn_reply_equal(ms, md)) {
                vx_q(ms->str, ms->len, q1, sizeof(q1));
                vx_q(md->str, md->len, q2, sizeof(q2));
                vx_det(det, dl, "zset: rank %lld: member %s on the source, %s on the target", i + (long long)j / 2, q1, q2);
                diff = 1;
            } else if (strtod(rs->element[j + 1]->str, NULL) != strtod(rd->element[j + 1]->str, NULL)) {
                vx_q(ms->str, ms->len, q1, sizeof(q1));
                vx_det(det, dl, "zset: member %s: score %s on the source, %s on the target", q1,
                         rs->element[j + 1]->str, rd->element[j + 1]->str);
                diff = 1;
            }
        }
        if (!diff && rs->elements != rd->elements) {
            vx_det(det, dl, "zset: %zu members from rank %lld on the source, %zu on the target", rs->elements / 2, i,
                     rd->elements / 2);
            diff = 1;
        }
        int last = rs->elements < (size_t)c * 2;
        freeReplyObject(rs);
        freeReplyObject(rd);
        if (diff) return 1;
        if (last) return 0;
    }
}

/* Hashes and sets: walk the source with HSCAN/SSCAN, look each chunk up on
 * the target (HMGET / SMISMEMBER). With equal lengths (checked before),
 * "every source element is on the target" means equal, in any order. */
static int vx_deep_unordered(V *v, const KeyState *ks, int hash, char *det, size_t dl) {
    const char *what = hash ? "hash" : "set";
    char cursor[32] = "0", cnt[16];
    snprintf(cnt, sizeof(cnt), "%d", v->o->chunk);
    do {
        const char *sargv[5] = {hash ? "HSCAN" : "SSCAN", ks->k, cursor, "COUNT", cnt};
        size_t slens[5] = {5, ks->kl, strlen(cursor), 5, strlen(cnt)};
        if (vx_budget(v, 1) != 0) return -1;
        redisReply *rs;
        if (conn_append_argv(v->src, 5, sargv, slens) != 0 || vx_get(v, v->src, &rs) != 0) return vx_io(v, v->src);
        if (rs->type == REDIS_REPLY_ERROR) {
            int rc = !strncmp(rs->str, "WRONGTYPE", 9) ? vx_changed(det, dl, what) : vx_refused(v, v->src, sargv[0], rs);
            freeReplyObject(rs);
            return rc;
        }
        if (rs->type != REDIS_REPLY_ARRAY || rs->elements != 2) {
            freeReplyObject(rs);
            return util_err(v->err, v->errlen, "%s: unexpected %s reply", conn_label(v->src), sargv[0]);
        }
        snprintf(cursor, sizeof(cursor), "%s", rs->element[0]->str);
        redisReply *items = rs->element[1];
        size_t step = hash ? 2 : 1, n = items->elements / step;
        if (n == 0) {
            freeReplyObject(rs);
            continue;
        }
        /* Target lookup: HMGET k f1 f2 … / SMISMEMBER k m1 m2 … (or one
         * SISMEMBER per member before 6.2). */
        int single = !hash && !v->dst_mism;
        const char **argv = malloc(sizeof(*argv) * (n + 2));
        size_t *lens = malloc(sizeof(*lens) * (n + 2));
        redisReply *rd = NULL;
        int rc = 0;
        if (!argv || !lens) {
            rc = util_err(v->err, v->errlen, "out of memory");
            goto done;
        }
        if (single) {
            for (size_t i = 0; i < n; i++) {
                const char *a[3] = {"SISMEMBER", ks->k, items->element[i]->str};
                size_t l[3] = {9, ks->kl, items->element[i]->len};
                conn_append_argv(v->dst, 3, a, l);
            }
        } else {
            argv[0] = hash ? "HMGET" : "SMISMEMBER";
            lens[0] = strlen(argv[0]);
            argv[1] = ks->k;
            lens[1] = ks->kl;
            for (size_t i = 0; i < n; i++) {
                argv[i + 2] = items->element[i * step]->str;
                lens[i + 2] = items->element[i * step]->len;
            }
            conn_append_argv(v->dst, (int)n + 2, argv, lens);
        }
        for (size_t i = 0; i < n && !rc; i++) {
            const redisReply *mine = items->element[i * step];
            const redisReply *got = NULL;
            if (single || i == 0) {
                if (rd) freeReplyObject(rd);
                rd = NULL;
                if (vx_get(v, v->dst, &rd) != 0) {
                    rc = -2;
                    break;
                }
                if (rd->type == REDIS_REPLY_ERROR) {
                    rc = !strncmp(rd->str, "WRONGTYPE", 9) ? vx_changed(det, dl, what)
                                                       : vx_refused(v, v->dst, single ? "SISMEMBER" : argv[0], rd);
                    /* Drain the other SISMEMBER replies. */
                    for (size_t j = i + 1; single && j < n; j++) {
                        redisReply *x;
                        if (vx_get(v, v->dst, &x) != 0) break;
                        freeReplyObject(x);
                    }
                    break;
                }
            }
            if (single) got = rd;
            else if (rd->type == REDIS_REPLY_ARRAY && i < rd->elements) got = rd->element[i];
            char q[160];
            vx_q(mine->str, mine->len, q, sizeof(q));
            if (hash) {
                const redisReply *val = items->element[i * 2 + 1];
                if (!got || got->type == REDIS_REPLY_NIL) {
                    vx_det(det, dl, "hash: field %s is not on the target", q);
                    rc = 1;
                } else if (!conn_reply_equal(val, got)) {
                    vx_det(det, dl, "hash: field %s: value differs", q);
                    rc = 1;
                }
            } else if (!got || got->type != REDIS_REPLY_INTEGER || got->integer != 1) {
                vx_det(det, dl, "set: member %s is not on the target", q);
                rc = 1;
            }
            if (rc && single) {
                for (size_t j = i + 1; j < n; j++) {
                    redisReply *x;
                    if (vx_get(v, v->dst, &x) != 0) break;
                    freeReplyObject(x);
                }
            }
        }
    done:
        if (rd) freeReplyObject(rd);
        free(argv);
        free(lens);
        freeReplyObject(rs);
        if (rc) return rc;
    } while (strcmp(cursor, "0"));
    return 0;
}

/* Compares one field of two XINFO replies; 1 (det filled) when they differ. */
static int vx_xfield(const redisReply *a, const redisReply *b, const char *name, const char *what, char *det, size_t dl) {
    const redisReply *x = vx_field(a, name), *y = vx_field(b, name);
    if (!x || !y || conn_reply_equal(x, y)) return 0; /* absent on one side: an older server */
    char sx[160], sy[160];
    vx_show(x, sx, sizeof(sx));
    vx_show(y, sy, sizeof(sy));
    vx_det(det, dl, "%s: %s %s on the source, %s on the target", what, name, sx, sy);
    return 1;
}

static int vx_deep_stream(V *v, const KeyState *ks, char *det, size_t dl) {
    redisReply *rs, *rd;
    int rc;
    /* Metadata: length, last id, deletions, entries added, groups. */
    {
        const char *argv[3] = {"XINFO", "STREAM", ks->k};
        size_t lens[3] = {5, 6, ks->kl};
        if ((rc = vx_same(v, 3, argv, lens, &rs, &rd)) != 0)
            return rc == 1 ? vx_changed(det, dl, "stream") : rc;
        static const char *const fields[] = {"length", "last-generated-id", "max-deleted-entry-id", "entries-added",
                                             "recorded-first-entry-id", "groups", NULL};
        int diff = 0;
        for (int i = 0; fields[i] && !diff; i++) diff = vx_xfield(rs, rd, fields[i], "stream", det, dl);
        freeReplyObject(rs);
        freeReplyObject(rd);
        if (diff) return 1;
    }
    /* Entries, in chunks. */
    char start[64] = "-", cnt[16];
    snprintf(cnt, sizeof(cnt), "%d", v->o->chunk);
    for (;;) {
        const char *argv[6] = {"XRANGE", ks->k, start, "+", "COUNT", cnt};
        size_t lens[6] = {6, ks->kl, strlen(start), 1, 5, strlen(cnt)};
        if ((rc = vx_same(v, 6, argv, lens, &rs, &rd)) != 0)
            return rc == 1 ? vx_changed(det, dl, "stream") : rc;
        size_t n = rs->elements < rd->elements ? rs->elements : rd->elements, j = 0;
        while (j < n && conn_reply_equal(rs->element[j], rd->element[j])) j++;
        int diff = j < n || rs->elements != rd->elements;
        if (diff) {
            const redisReply *e = j < rs->elements ? rs->element[j] : rd->element[j];
            vx_det(det, dl, "stream: entry %.*s differs", (int)e->element[0]->len, e->element[0]->str);
        }
        int last = rs->elements < (size_t)v->o->chunk;
        if (!diff && !last) vx_id_next(rs->element[rs->elements - 1]->element[0], start, sizeof(start));
        freeReplyObject(rs);
        freeReplyObject(rd);
        if (diff) return 1;
        if (last) break;
    }
    /* Groups: last-delivered-id, entries-read, consumers, pending count. */
    redisReply *gs, *gd;
    {
        const char *argv[3] = {"XINFO", "GROUPS", ks->k};
        size_t lens[3] = {5, 6, ks->kl};
        if ((rc = vx_same(v, 3, argv, lens, &gs, &gd)) != 0)
            return rc == 1 ? vx_changed(det, dl, "stream") : rc;
    }
    rc = 0;
    if (gs->elements != gd->elements) {
        vx_det(det, dl, "stream: %zu consumer groups on the source, %zu on the target", gs->elements, gd->elements);
        rc = 1;
    }
    for (size_t g = 0; g < gs->elements && !rc; g++) {
        const redisReply *a = gs->element[g], *b = gd->element[g];
        const redisReply *na = vx_field(a, "name"), *nb = vx_field(b, "name");
        char what[200], q[160];
        if (!na || !nb) continue;
        vx_q(na->str, na->len, q, sizeof(q));
        if (!conn_reply_equal(na, nb)) {
            char q2[160];
            vx_q(nb->str, nb->len, q2, sizeof(q2));
            vx_det(det, dl, "stream: consumer group %s on the source, %s on the target", q, q2);
            rc = 1;
            break;
        }
        snprintf(what, sizeof(what), "stream group %s", q);
        static const char *const fields[] = {"last-delivered-id", "entries-read", "pending", "consumers", NULL};
        for (int i = 0; fields[i] && !rc; i++) rc = vx_xfield(a, b, fields[i], what, det, dl);
        if (rc) break;
        /* Consumers: name and pending count (idle and inactive are times). */
        redisReply *cs, *cd;
        const char *cargv[4] = {"XINFO", "CONSUMERS", ks->k, na->str};
        size_t clens[4] = {5, 9, ks->kl, na->len};
        if ((rc = vx_same(v, 4, cargv, clens, &cs, &cd)) != 0) {
            if (rc == 1) vx_changed(det, dl, "stream");
            break;
        }
        if (cs->elements != cd->elements) {
            vx_det(det, dl, "%s: %zu consumers on the source, %zu on the target", what, cs->elements, cd->elements);
            rc = 1;
        }
        for (size_t i = 0; i < cs->elements && !rc; i++) {
            const redisReply *x = cs->element[i], *y = cd->element[i];
            const redisReply *xn = vx_field(x, "name"), *yn = vx_field(y, "name");
            if (!conn_reply_equal(xn, yn)) {
                char s1[160], s2[160];
                vx_show(xn, s1, sizeof(s1));
                vx_show(yn, s2, sizeof(s2));
                vx_det(det, dl, "%s: consumer %s on the source, %s on the target", what, s1, s2);
                rc = 1;
            } else if (xn) {
                char cw[400], qn[160];
                vx_q(xn->str, xn->len, qn, sizeof(qn));
                snprintf(cw, sizeof(cw), "%s consumer %s", what, qn);
                rc = vx_xfield(x, y, "pending", cw, det, dl);
            }
        }
        freeReplyObject(cs);
        freeReplyObject(cd);
        if (rc) break;
        /* Pending entries: id, consumer, delivery count; not idle time. */
        char pstart[64] = "-";
        for (;;) {
            const char *pargv[6] = {"XPENDING", ks->k, na->str, pstart, "+", cnt};
            size_t plens[6] = {8, ks->kl, na->len, strlen(pstart), 1, strlen(cnt)};
            redisReply *ps, *pd;
            if ((rc = vx_same(v, 6, pargv, plens, &ps, &pd)) != 0) {
                if (rc == 1) vx_changed(det, dl, "stream");
                break;
            }
            size_t n = ps->elements < pd->elements ? ps->elements : pd->elements;
            for (size_t i = 0; i < n && !rc; i++) {
                const redisReply *x = ps->element[i], *y = pd->element[i];
                if (x->elements < 4 || y->elements < 4) continue;
                char ids[80];
                snprintf(ids, sizeof(ids), "%.*s", (int)(x->element[0]->len < 60 ? x->element[0]->len : 60), x->element[0]->str);
                if (!conn_reply_equal(x->element[0], y->element[0])) {
                    vx_det(det, dl, "%s: pending entry %s on the source, %.*s on the target", what, ids,
                             (int)(y->element[0]->len < 60 ? y->element[0]->len : 60), y->element[0]->str);
                    rc = 1;
                } else if (!conn_reply_equal(x->element[1], y->element[1])) {
                    char s1[160], s2[160];
                    vx_show(x->element[1], s1, sizeof(s1));
                    vx_show(y->element[1], s2, sizeof(s2));
                    vx_det(det, dl, "%s: pending entry %s: consumer %s on the source, %s on the target", what, ids, s1, s2);
                    rc = 1;
                } else if (!conn_reply_equal(x->element[3], y->element[3])) {
                    vx_det(det, dl, "%s: pending entry %s: delivered %lld times on the source, %lld on the target", what,
                             ids, x->element[3]->integer, y->element[3]->integer);
                    rc = 1;
                }
            }
            if (!rc && ps->elements != pd->elements) {
                const redisReply *e = (ps->elements > pd->elements ? ps : pd)->element[n];
                vx_det(det, dl, "%s: pending entry %.*s only on the %s", what, (int)e->element[0]->len,
                         e->element[0]->str, ps->elements > pd->elements ? "source" : "target");
                rc = 1;
            }
            int last = ps->elements < (size_t)v->o->chunk;
            if (!rc && !last) vx_id_next(ps->element[ps->elements - 1]->element[0], pstart, sizeof(pstart));
            freeReplyObject(ps);
            freeReplyObject(pd);
            if (rc || last) break;
        }
    }
    freeReplyObject(gs);
    freeReplyObject(gd);
    return rc;
}

static int vx_deep(V *v, const KeyState *ks, char *det, size_t dl) {
    switch (ks->stype) {
    case T_STRING: return vx_deep_string(v, ks, det, dl);
    case T_LIST: return vx_deep_list(v, ks, det, dl);
    case T_ZSET: return vx_deep_zset(v, ks, det, dl);
    case T_HASH: return vx_deep_unordered(v, ks, 1, det, dl);
    case T_SET: return vx_deep_unordered(v, ks, 0, det, dl);
    case T_STREAM: return vx_deep_stream(v, ks, det, dl);
    default:
        vx_det(det, dl, "%s: DUMP payloads differ (a module type: no way to compare it by type)", type_names[T_OTHER]);
        return 1;
    }
}

/* -------------------------------------------------------- forward batch */

static long long vx_abs_expiry(const redisReply *r, int pexpiretime, int64_t now) {
    if (!r || r->type != REDIS_REPLY_INTEGER) return -2;
    if (pexpiretime || r->integer < 0) return r->integer;
    return now + r->integer;
}

static void vx_ttl_check(V *v, KeyState *ks) {
    char a[40], b[40];
    if (ks->sexp == ks->dexp) return;
    if (ks->sexp >= 0 && ks->dexp >= 0) {
        long long d = ks->dexp - ks->sexp;
        if ((d < 0 ? -d : d) <= v->tol) return;
        vx_time(ks->sexp, a, sizeof(a));
        vx_time(ks->dexp, b, sizeof(b));
        vx_find(v, VK_TTL_DRIFT, ks->k, ks->kl, "expires at %s on the source, %s on the target (%+lld ms; tolerance %ld ms)",
                a, b, d, v->tol);
    } else if (ks->sexp >= 0) {
        vx_time(ks->sexp, a, sizeof(a));
        vx_find(v, VK_TTL_DRIFT, ks->k, ks->kl, "expires at %s on the source, never on the target", a);
    } else {
        vx_time(ks->dexp, b, sizeof(b));
        vx_find(v, VK_TTL_DRIFT, ks->k, ks->kl, "never expires on the source, expires at %s on the target", b);
    }
    ks->ttl_bad = 1;
}

/* Compares keys [from, to) of b, source → target. count_types: add the
 * source types to the per-type counts (full mode; a sample's walk has
 * counted them already). 0, -1 (refused/stopped), -2 (I/O: retry). */
static int vx_forward(V *v, const Batch *b, int from, int to, int count_types) {
    int n = to - from, rc = 0;
    const Filter *f = &v->o->filter;
    KeyState *ks = calloc((size_t)(n > 0 ? n : 1), sizeof(*ks));
    if (!ks) return util_err(v->err, v->errlen, "out of memory");
    vx_batch_reset(v);
    const char *sx = v->src_pxt ? "PEXPIRETIME" : "PTTL", *dx = v->dst_pxt ? "PEXPIRETIME" : "PTTL";

    /* 1. Presence, type, expiry on both sides. */
    if (vx_budget(v, 2 * n) != 0) {
        free(ks);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        ks[i].k = batch_key(b, from + i);
        ks[i].kl = b->len[from + i];
        vx_append_key(v->src, "TYPE", ks[i].k, ks[i].kl);
        vx_append_key(v->src, sx, ks[i].k, ks[i].kl);
        vx_append_key(v->dst, "TYPE", ks[i].k, ks[i].kl);
        vx_append_key(v->dst, dx, ks[i].k, ks[i].kl);
    }
    if (conn_flush(v->src) != 0) rc = vx_io(v, v->src);
    else if (conn_flush(v->dst) != 0) rc = vx_io(v, v->dst);
    int64_t now = util_now_ms();
    for (int i = 0; i < n && !rc; i++) {
        redisReply *r[4] = {0};
        Conn *cs[4] = {v->src, v->src, v->dst, v->dst};
        for (int j = 0; j < 4 && !rc; j++) rc = vx_get(v, cs[j], &r[j]);
        for (int j = 0; j < 4 && !rc; j++)
            if (r[j]->type == REDIS_REPLY_ERROR) rc = vx_refused(v, cs[j], j % 2 ? (j < 2 ? sx : dx) : "TYPE", r[j]);
        if (!rc) {
            ks[i].stype = vx_type_index(r[0]);
            ks[i].sexp = vx_abs_expiry(r[1], v->src_pxt, now);
            ks[i].dtype = vx_type_index(r[2]);
            ks[i].dexp = vx_abs_expiry(r[3], v->dst_pxt, now);
        }
        for (int j = 0; j < 4; j++)
            if (r[j]) freeReplyObject(r[j]);
    }
    if (rc) goto out;

    /* Classify. */
    int need_len = 0, need_dump = 0;
    for (int i = 0; i < n; i++) {
        KeyState *k = &ks[i];
        k->kind = KS_PENDING;
        if (k->stype == T_NONE) {
            k->kind = VK_GONE; /* expired or deleted on the source since SCAN */
            continue;
        }
        if (f->types && !filter_type(f, vx_type_bit(k->stype))) {
            k->kind = KS_SKIP;
            continue;
        }
        if (count_types) v->btypes[k->stype]++;
        if (k->dtype == T_NONE) {
            if (k->sexp >= 0 && k->sexp <= now + v->tol) {
                k->kind = VK_GONE; /* expiring: the target may well have dropped it first */
            } else {
                k->kind = VK_MISSING;
                vx_find(v, VK_MISSING, k->k, k->kl, "on the source (%s), not on the target", type_names[k->stype]);
            }
            continue;
        }
        if (k->stype != k->dtype) {
            k->kind = VK_DIFFERENT;
            vx_find(v, VK_DIFFERENT, k->k, k->kl, "type %s on the source, %s on the target", type_names[k->stype],
                    type_names[k->dtype]);
            vx_ttl_check(v, k);
            continue;
        }
        vx_ttl_check(v, k);
        if (len_cmds[k->stype]) {
            k->step = STEP_LEN;
            need_len++;
        } else if (v->dump_ok || k->stype == T_OTHER) {
            k->step = STEP_DUMP;
            need_dump++;
        } else {
            k->step = STEP_DEEP;
        }
    }

    /* 2. Lengths of aggregates: a different count settles it; small ones
     * go on to DUMP, big ones are read in chunks. */
    if (need_len) {
        if (vx_budget(v, need_len) != 0) {
            rc = -1;
            goto out;
        }
        for (int i = 0; i < n; i++)
            if (ks[i].step == STEP_LEN) {
                vx_append_key(v->src, len_cmds[ks[i].stype], ks[i].k, ks[i].kl);
                vx_append_key(v->dst, len_cmds[ks[i].stype], ks[i].k, ks[i].kl);
            }
        if (conn_flush(v->src) != 0) rc = vx_io(v, v->src);
        else if (conn_flush(v->dst) != 0) rc = vx_io(v, v->dst);
        for (int i = 0; i < n && !rc; i++) {
            KeyState *k = &ks[i];
            if (k->step != STEP_LEN) continue;
            redisReply *a = NULL, *c = NULL;
            if ((rc = vx_get(v, v->src, &a)) == 0) rc = vx_get(v, v->dst, &c);
            if (!rc) {
                if (a->type != REDIS_REPLY_INTEGER || c->type != REDIS_REPLY_INTEGER) {
                    if (a->type == REDIS_REPLY_ERROR && strncmp(a->str, "WRONGTYPE", 9))
                        rc = vx_refused(v, v->src, len_cmds[k->stype], a);
                    else if (c->type == REDIS_REPLY_ERROR && strncmp(c->str, "WRONGTYPE", 9))
                        rc = vx_refused(v, v->dst, len_cmds[k->stype], c);
                    else {
                        k->value_bad = 1;
                        vx_find(v, VK_DIFFERENT, k->k, k->kl, "%s: changed type during the check", type_names[k->stype]);
                    }
                } else if (a->integer != c->integer) {
                    k->value_bad = 1;
                    vx_find(v, VK_DIFFERENT, k->k, k->kl, "%s: %lld %s on the source, %lld on the target",
                            type_names[k->stype], a->integer, len_units[k->stype], c->integer);
                } else {
                    k->len = a->integer;
                    long max = (k->stype == T_SET || k->stype == T_HASH) ? DUMP_MAX_UNORDERED : DUMP_MAX_ORDERED;
                    k->step = v->dump_ok && k->len <= max ? STEP_DUMP : STEP_DEEP;
                    need_dump += k->step == STEP_DUMP;
                }
                if (k->value_bad) k->step = STEP_NONE;
            }
            if (a) freeReplyObject(a);
            if (c) freeReplyObject(c);
        }
        if (rc) goto out;
    }

    /* 3. DUMP on both sides: equal bytes settle it (entries, groups, PEL,
     * everything); different bytes are compared by type. */
    if (need_dump) {
        if (vx_budget(v, need_dump) != 0) {
            rc = -1;
            goto out;
        }
        for (int i = 0; i < n; i++)
            if (ks[i].step == STEP_DUMP) {
                vx_append_key(v->src, "DUMP", ks[i].k, ks[i].kl);
                vx_append_key(v->dst, "DUMP", ks[i].k, ks[i].kl);
            }
        if (conn_flush(v->src) != 0) rc = vx_io(v, v->src);
        else if (conn_flush(v->dst) != 0) rc = vx_io(v, v->dst);
        for (int i = 0; i < n && !rc; i++) {
            KeyState *k = &ks[i];
            if (k->step != STEP_DUMP) continue;
            redisReply *a = NULL, *c = NULL;
            if ((rc = vx_get(v, v->src, &a)) == 0) rc = vx_get(v, v->dst, &c);
            if (!rc && a->type == REDIS_REPLY_ERROR) rc = vx_refused(v, v->src, "DUMP", a);
            if (!rc && c->type == REDIS_REPLY_ERROR) rc = vx_refused(v, v->dst, "DUMP", c);
            if (!rc) {
                k->step = STEP_NONE;
                if (a->type == REDIS_REPLY_NIL) {
                    k->kind = VK_GONE;
                } else if (c->type == REDIS_REPLY_NIL) {
                    k->kind = VK_MISSING;
                    vx_find(v, VK_MISSING, k->k, k->kl, "on the source (%s); deleted from the target during the check",
                            type_names[k->stype]);
                } else if (!conn_reply_equal(a, c)) {
                    if (k->stype == T_OTHER) {
                        k->value_bad = 1;
                        vx_find(v, VK_DIFFERENT, k->k, k->kl, "%s", "module type: DUMP payloads differ");
                    } else {
                        k->step = STEP_DEEP;
                    }
                }
            }
            if (a) freeReplyObject(a);
            if (c) freeReplyObject(c);
        }
        if (rc) goto out;
    }

    /* 4. Type-wise, one key at a time, in chunks. */
    for (int i = 0; i < n && !rc; i++) {
        KeyState *k = &ks[i];
        if (k->step != STEP_DEEP) continue;
        if (vx_stopping(v)) {
            rc = vx_stopped(v);
            break;
        }
        char det[400];
        int d = vx_deep(v, k, det, sizeof(det));
        if (d < 0) rc = d;
        else if (d == 1) {
            k->value_bad = 1;
            vx_find(v, VK_DIFFERENT, k->k, k->kl, "%s", det);
        }
        vx_tick(v, 0);
    }
    if (rc) goto out;

    for (int i = 0; i < n; i++) {
        KeyState *k = &ks[i];
        if (k->kind == KS_SKIP) continue;
        if (k->kind == KS_PENDING) k->kind = k->value_bad ? VK_DIFFERENT : k->ttl_bad ? VK_TTL_DRIFT : VK_MATCHING;
        v->bcounts[k->kind]++;
        v->bchecked++;
    }
    if (v->nomem) rc = util_err(v->err, v->errlen, "out of memory while recording findings");
out:
    free(ks);
    return rc;
}

/* -------------------------------------------------------- reverse batch */

/* Looks the target keys [from, to) of b up on the source: extra keys.
 * count_types: add the target types to the per-type counts. */
static int vx_reverse(V *v, const Batch *b, int from, int to, int count_types) {
    int n = to - from, rc = 0, m = 0;
    const Filter *f = &v->o->filter;
    int *idx = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    int *types = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    const char **argv = malloc(sizeof(char *) * (size_t)(n + 1));
    size_t *lens = malloc(sizeof(size_t) * (size_t)(n + 1));
    if (!idx || !types || !argv || !lens) {
        rc = util_err(v->err, v->errlen, "out of memory");
        goto out;
    }
    vx_batch_reset(v);
    /* Types on the target (the target is not budgeted). */
    for (int i = 0; i < n; i++) vx_append_key(v->dst, "TYPE", batch_key(b, from + i), b->len[from + i]);
    for (int i = 0; i < n && !rc; i++) {
        redisReply *r;
        if ((rc = vx_get(v, v->dst, &r)) != 0) break;
        if (r->type == REDIS_REPLY_ERROR) rc = vx_refused(v, v->dst, "TYPE", r);
        int t = vx_type_index(r);
        freeReplyObject(r);
        if (rc || t == T_NONE) continue; /* gone since SCAN */
        if (f->types && !filter_type(f, vx_type_bit(t))) continue;
        if (count_types) v->btypes[t]++;
        types[m] = t;
        idx[m++] = from + i;
    }
    if (rc || m == 0) goto out;
    v->bchecked = (uint64_t)m;
    /* One EXISTS for the whole batch; per key only when some are absent. */
    argv[0] = "EXISTS";
    lens[0] = 6;
    for (int i = 0; i < m; i++) {
        argv[i + 1] = batch_key(b, idx[i]);
        lens[i + 1] = b->len[idx[i]];
    }
    if (vx_budget(v, 1) != 0) {
        rc = -1;
        goto out;
    }
    redisReply *r;
    conn_append_argv(v->src, m + 1, argv, lens);
    if ((rc = vx_get(v, v->src, &r)) != 0) goto out;
    if (r->type != REDIS_REPLY_INTEGER) {
        rc = r->type == REDIS_REPLY_ERROR ? vx_refused(v, v->src, "EXISTS", r)
                                          : util_err(v->err, v->errlen, "%s: unexpected EXISTS reply", conn_label(v->src));
        freeReplyObject(r);
        goto out;
    }
    long long present = r->integer;
    freeReplyObject(r);
    if (present >= m) goto out;
    if (vx_budget(v, m) != 0) {
        rc = -1;
        goto out;
    }
    for (int i = 0; i < m; i++) vx_append_key(v->src, "EXISTS", argv[i + 1], lens[i + 1]);
    int absent = 0;
    for (int i = 0; i < m; i++) {
        redisReply *e = NULL;
        if (rc == 0) rc = vx_get(v, v->src, &e);
        if (rc) break;
        if (e->type == REDIS_REPLY_INTEGER && e->integer == 0) {
            idx[absent] = idx[i];
            types[absent++] = types[i];
        }
        freeReplyObject(e);
    }
    if (rc || !absent) goto out;
    /* An absent key about to expire on the target is no extra key. */
    const char *dx = v->dst_pxt ? "PEXPIRETIME" : "PTTL";
    for (int i = 0; i < absent; i++) vx_append_key(v->dst, dx, batch_key(b, idx[i]), b->len[idx[i]]);
    int64_t now = util_now_ms();
    for (int i = 0; i < absent; i++) {
        redisReply *e = NULL;
        if (rc == 0) rc = vx_get(v, v->dst, &e);
        if (rc) break;
        long long exp = vx_abs_expiry(e, v->dst_pxt, now);
        freeReplyObject(e);
        if (exp == -2 || (exp >= 0 && exp <= now + v->tol)) {
            v->bcounts[VK_GONE]++;
            continue;
        }
        v->bcounts[VK_EXTRA]++;
        vx_find(v, VK_EXTRA, batch_key(b, idx[i]), b->len[idx[i]], "on the target (%s), not on the source",
                type_names[types[i]]);
    }
    if (!rc && v->nomem) rc = util_err(v->err, v->errlen, "out of memory while recording findings");
out:
    free(idx);
    free(types);
    free(argv);
    free(lens);
    return rc;
}

/* Runs one batch, reconnecting and redoing it after an I/O error. */
static int vx_batch(V *v, VerifyDb *d, const Batch *b, int from, int to, int reverse, int count_types) {
    for (int attempt = 1;; attempt++) {
        if (vx_stopping(v)) return vx_stopped(v);
        int rc = reverse ? vx_reverse(v, b, from, to, count_types) : vx_forward(v, b, from, to, count_types);
        if (rc == 0) {
            vx_commit(v, d, reverse);
            vx_tick(v, 0);
            return 0;
        }
        if (rc == -1 || attempt >= BATCH_ATTEMPTS) return -1;
        if (vx_recover(v) != 0) return -1;
    }
}

static int vx_batches(V *v, VerifyDb *d, const Batch *b, int reverse, int count_types) {
    for (int i = 0; i < b->n; i += v->o->batch) {
        int to = i + v->o->batch < b->n ? i + v->o->batch : b->n;
        if (vx_batch(v, d, b, i, to, reverse, count_types) != 0) return -1;
    }
    return 0;
}

/* One SCAN page, with reconnects. */
static int vx_scan(V *v, Conn *c, uint64_t cursor, const char *match, const char *type, ScanPage *page) {
    for (int attempt = 1;; attempt++) {
        if (c == v->src && vx_budget(v, 1) != 0) return -1;
        if (scan_page(c, cursor, match, type, v->o->scan_count, page, v->err, v->errlen) == 0) return 0;
        if (!conn_broken(c) || attempt >= BATCH_ATTEMPTS || vx_recover(v) != 0) return -1;
    }
}

/* ---------------------------------------------------------------- walks */

/* Every key of the current db of one side: forward compares them,
 * reverse looks them up on the source. */
static int vx_walk_full(V *v, VerifyDb *d, int reverse) {
    Conn *c = reverse ? v->dst : v->src;
    const Filter *f = &v->o->filter;
    uint64_t cursor = 0;
    do {
        if (vx_stopping(v)) return vx_stopped(v);
        ScanPage page;
        if (vx_scan(v, c, cursor, filter_server_match(f), filter_server_type(f), &page) != 0) return -1;
        cursor = page.next_cursor;
        Batch *b = batch_new(d->src_db, d->dst_db, (int)page.nkeys);
        if (!b) {
            scan_page_free(&page);
            return util_err(v->err, v->errlen, "out of memory");
        }
        for (size_t i = 0; i < page.nkeys; i++) {
            const redisReply *k = page.keys[i];
            if (k->type == REDIS_REPLY_STRING && filter_key(f, k->str, k->len)) batch_add(b, k->str, k->len);
        }
        scan_page_free(&page);
        int rc = vx_batches(v, d, b, reverse, 1);
        if (rc == 0 && reverse) d->dst_walked += (uint64_t)b->n;
        else if (rc == 0) d->src_walked += (uint64_t)b->n;
        batch_free(b);
        if (rc) return -1;
        v->dbprog = cursor ? scan_cursor_progress(cursor) : 1.0;
        vx_tick(v, 0);
    } while (cursor != 0);
    return 0;
}

typedef struct Reservoir {
    long cap, n;
    uint64_t seen;
    char **keys;
    size_t *lens;
} Reservoir;

static void res_free(Reservoir *r) {
    for (long i = 0; i < r->n; i++) free(r->keys[i]);
    free(r->keys);
    free(r->lens);
    memset(r, 0, sizeof(*r));
}

/* Algorithm R: after the walk, every key seen had the same chance. */
static int res_add(V *v, Reservoir *r, const char *k, size_t kl) {
    uint64_t slot = r->seen++;
    if (slot >= (uint64_t)r->cap) {
        slot = vx_rand(v) % r->seen;
        if (slot >= (uint64_t)r->cap) return 0;
    }
    char *copy = malloc(kl + 1);
    if (!copy) return -1;
    memcpy(copy, k, kl);
    copy[kl] = '\0';
    if ((long)slot < r->n) {
        free(r->keys[slot]);
    } else {
        slot = (uint64_t)r->n++;
    }
    r->keys[slot] = copy;
    r->lens[slot] = kl;
    return 0;
}

static long long vx_dbsize(V *v, Conn *c) {
    redisReply *r = conn_command(c, "DBSIZE");
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        util_err(v->err, v->errlen, "%s: DBSIZE failed: %s", conn_label(c),
                 r && r->type == REDIS_REPLY_ERROR ? r->str : conn_errstr(c));
        if (r) freeReplyObject(r);
        return -1;
    }
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* Walks one side type by type (SCAN … TYPE t): exact per-type counts and a
 * uniform sample of the keys, in one pass per type. */
static int vx_walk_sample(V *v, VerifyDb *d, int reverse, Reservoir *rs) {
    Conn *c = reverse ? v->dst : v->src;
    const Filter *f = &v->o->filter;
    uint64_t *types = reverse ? d->dst_types : d->src_types;
    int ntypes = 0, done = 0;
    for (int t = 0; t < T_OTHER; t++) ntypes += !f->types || filter_type(f, vx_type_bit(t));
    for (int t = 0; t < T_OTHER; t++) {
        if (f->types && !filter_type(f, vx_type_bit(t))) continue;
        uint64_t cursor = 0;
        do {
            if (vx_stopping(v)) return vx_stopped(v);
            ScanPage page;
            if (vx_scan(v, c, cursor, filter_server_match(f), type_names[t], &page) != 0) return -1;
            cursor = page.next_cursor;
            for (size_t i = 0; i < page.nkeys; i++) {
                const redisReply *k = page.keys[i];
                if (k->type != REDIS_REPLY_STRING || !filter_key(f, k->str, k->len)) continue;
                types[t]++;
                if (res_add(v, rs, k->str, k->len) != 0) {
                    scan_page_free(&page);
                    return util_err(v->err, v->errlen, "out of memory (sample)");
                }
            }
            scan_page_free(&page);
            v->dbprog = ((double)done + (cursor ? scan_cursor_progress(cursor) : 1.0)) / (double)ntypes;
            vx_tick(v, 0);
        } while (cursor != 0);
        done++;
    }
    uint64_t sum = 0;
    for (int t = 0; t < T_OTHER; t++) sum += types[t];
    if (reverse) d->dst_walked = sum;
    else d->src_walked = sum;
    if (!f->types && !f->ninclude && !f->nexclude) {
        /* Module types: whatever DBSIZE counts beyond the six walks. */
        if (c == v->src && vx_budget(v, 1) != 0) return -1;
        long long all = vx_dbsize(v, c);
        if (all < 0) return -1;
        types[T_OTHER] = (uint64_t)all > sum ? (uint64_t)all - sum : 0;
    } else if (!f->types) {
        d->types_exact = 0; /* other types among the filtered names: not counted */
    }
    return 0;
}

static int vx_check_sample(V *v, VerifyDb *d, const Reservoir *rs, int reverse) {
    for (long i = 0; i < rs->n; i += v->o->batch) {
        long to = i + v->o->batch < rs->n ? i + v->o->batch : rs->n;
        Batch *b = batch_new(d->src_db, d->dst_db, (int)(to - i));
        if (!b) return util_err(v->err, v->errlen, "out of memory");
        for (long j = i; j < to; j++) batch_add(b, rs->keys[j], rs->lens[j]);
        int rc = vx_batch(v, d, b, 0, b->n, reverse, 0);
        batch_free(b);
        if (rc) return -1;
        v->dbprog = (double)to / (double)rs->n;
    }
    return 0;
}

/* ----------------------------------------------------------------- plan */

/* The (source db, target db) pairs: the db map; else the URIs' dbs; else
 * every db that is not empty on either side, to the same number. */
static int vx_plan(V *v, char *err, size_t errlen) {
    const VerifyOptions *o = v->o;
    VerifyResult *r = v->res;
    int sdb = o->source.uri.db, tdb = o->target.uri.db;
    r->ndb = 0;
    if (o->dbmap.n > 0) {
        if (sdb >= 0 || tdb >= 0)
            return util_err(err, errlen, "both --db-map and a /db in the %s URI choose the dbs: keep one",
                            sdb >= 0 ? "--source" : "--target");
        for (int i = 0; i < o->dbmap.n; i++) {
            r->db[i].src_db = o->dbmap.src[i];
            r->db[i].dst_db = o->dbmap.dst[i];
        }
        r->ndb = o->dbmap.n;
    } else if (sdb >= 0) {
        r->db[0].src_db = sdb;
        r->db[0].dst_db = tdb >= 0 ? tdb : sdb;
        r->ndb = 1;
    } else {
        int n = 0;
        for (int d = 0; d < SERVERINFO_MAX_DB && n < DBMAP_MAX; d++) {
            if (!v->si.db_keys[d] && (tdb >= 0 || !v->di.db_keys[d])) continue;
            r->db[n].src_db = r->db[n].dst_db = d;
            n++;
        }
        if (tdb >= 0) {
            if (n > 1)
                return util_err(err, errlen, "the target names db %d but the source has %d non-empty dbs: choose with --db-map SRC:%d or a /db on the source URI",
                                tdb, n, tdb);
            if (n == 0) r->db[0].src_db = tdb;
            r->db[0].dst_db = tdb;
            n = 1;
        }
        r->ndb = n;
    }
    for (int i = 0; i < r->ndb; i++) r->db[i].types_exact = 1;
    return 0;
}

/* ------------------------------------------------------------------ run */

void verify_options_init(VerifyOptions *o) {
    memset(o, 0, sizeof(*o));
    conn_config_init(&o->source, "source");
    conn_config_init(&o->target, "target");
    dbmap_init(&o->dbmap);
    filter_init(&o->filter);
    o->ttl_tolerance_ms = -1;
    o->budget = 20000;
    o->batch = 200;
    o->scan_count = 500;
    o->chunk = 500;
}

static void vx_report_header(V *v) {
    char sl[300], tl[300], when[40];
    uri_format_redacted(&v->o->source.uri, sl, sizeof(sl));
    uri_format_redacted(&v->o->target.uri, tl, sizeof(tl));
    vx_time(util_now_ms(), when, sizeof(when));
    fprintf(v->report, "# ferry verify %s: source %s, target %s\n", when, sl, tl);
    fprintf(v->report, "# one mismatch per line, tab-separated: kind (missing, extra, different, ttl-drift), "
                       "db SOURCE:TARGET, key (\\ as \\\\, bytes outside printable ASCII as \\xNN), detail\n");
    fflush(v->report);
}

int verify_run(const VerifyOptions *o, VerifyResult *res, char *err, size_t errlen) {
    V v;
    memset(&v, 0, sizeof(v));
    memset(res, 0, sizeof(*res));
    res->sample = o->sample;
    v.o = o;
    v.res = res;
    v.err = err;
    v.errlen = errlen;
    v.t0_ms = v.last_tick_ms = util_mono_ms();
    v.phase = "connecting";
    v.rng = o->seed ? o->seed : (uint64_t)util_now_ms() ^ ((uint64_t)util_mono_us() << 20);
    if (!v.rng) v.rng = 0x9E3779B97F4A7C15ULL;
    VerifyOptions fixed = *o;
    if (fixed.batch < 1) fixed.batch = 200;
    if (fixed.scan_count < 1) fixed.scan_count = 500;
    if (fixed.chunk < 1) fixed.chunk = 500;
    v.o = &fixed;
    int rc = -1;
    Reservoir rs_src = {0}, rs_dst = {0};

    ConnConfig sc = o->source, tc = o->target;
    util_strlcpy(sc.client_name, "ferry-verify-src", sizeof(sc.client_name));
    util_strlcpy(tc.client_name, "ferry-verify-dst", sizeof(tc.client_name));
    if (!(v.src = conn_open(&sc, err, errlen))) goto out;
    if (!(v.dst = conn_open(&tc, err, errlen))) goto out;
    if (serverinfo_fetch(v.src, &v.si, err, errlen) != 0 || serverinfo_fetch(v.dst, &v.di, err, errlen) != 0) goto out;
    char sl[300], tl[300];
    uri_format_redacted(&o->source.uri, sl, sizeof(sl));
    uri_format_redacted(&o->target.uri, tl, sizeof(tl));
    if (v.si.cluster_enabled || v.di.cluster_enabled) {
        util_err(err, errlen, "%s %s is a Redis Cluster node: this version of ferry verifies standalone servers only; verify each shard against its copy",
                 v.si.cluster_enabled ? "source" : "target", v.si.cluster_enabled ? sl : tl);
        goto out;
    }
    if (vx_plan(&v, err, errlen) != 0) goto out;
    if (v.si.run_id[0] && !strcmp(v.si.run_id, v.di.run_id)) {
        for (int i = 0; i < res->ndb; i++)
            if (res->db[i].src_db == res->db[i].dst_db) {
                util_err(err, errlen, "source and target are the same server (run_id %.12s…) and db %d: verify would compare the db with itself; check --target",
                         v.si.run_id, res->db[i].src_db);
                goto out;
            }
    }
    v.src_pxt = serverinfo_has_pexpiretime(&v.si);
    v.dst_pxt = serverinfo_has_pexpiretime(&v.di);
    v.dst_mism = v.di.major > 6 || (v.di.major == 6 && v.di.minor >= 2);
    v.tol = o->ttl_tolerance_ms >= 0 ? o->ttl_tolerance_ms : (v.src_pxt && v.dst_pxt ? 0 : 1000);
    v.dump_ok = v.si.rdb_version && v.si.rdb_version == v.di.rdb_version;
    res->ttl_tolerance_ms = v.tol;
    res->dump_compare = v.dump_ok;
    if (!v.src_pxt || !v.dst_pxt)
        vx_note(&v, EV_WARN, "%s %s has no PEXPIRETIME: expiries are derived from PTTL and compared within %ld ms",
                !v.src_pxt ? v.si.server_name : v.di.server_name, !v.src_pxt ? v.si.version : v.di.version, v.tol);
    if (!v.dump_ok)
        vx_note(&v, EV_INFO, "source %s %s writes RDB v%d, target %s %s v%d: values are compared by type, not by DUMP bytes",
                v.si.server_name, v.si.version, v.si.rdb_version, v.di.server_name, v.di.version, v.di.rdb_version);
    if (res->ndb == 0) vx_note(&v, EV_INFO, "both servers are empty: nothing to compare");
    if (o->report_path) {
        v.report = fopen(o->report_path, "w");
        if (!v.report) {
            util_err(err, errlen, "cannot write the report file %s: %s; choose a writable --report path", o->report_path,
                     strerror(errno));
            goto out;
        }
        vx_report_header(&v);
    }

    for (v.dbi = 0; v.dbi < res->ndb; v.dbi++) {
        VerifyDb *d = &res->db[v.dbi];
        if (conn_select(v.src, d->src_db) != 0) {
            util_err(err, errlen, "%s", conn_errstr(v.src));
            goto out;
        }
        if (conn_select(v.dst, d->dst_db) != 0) {
            util_err(err, errlen, "%s", conn_errstr(v.dst));
            goto out;
        }
        if (vx_budget(&v, 1) != 0) goto out;
        long long a = vx_dbsize(&v, v.src), b = a < 0 ? -1 : vx_dbsize(&v, v.dst);
        if (a < 0 || b < 0) goto out;
        d->src_dbsize = (uint64_t)a;
        d->dst_dbsize = (uint64_t)b;
        vx_note(&v, EV_INFO, "db %d → %d: source %lld keys, target %lld keys (DBSIZE)%s", d->src_db, d->dst_db, a, b,
                a == b ? "" : ": counts differ");
        v.dbprog = 0;
        if (o->sample <= 0) {
            v.phase = "source → target";
            if (vx_walk_full(&v, d, 0) != 0) goto out;
            v.phase = "target → source";
            v.dbprog = 0;
            if (vx_walk_full(&v, d, 1) != 0) goto out;
        } else {
            res_free(&rs_src);
            res_free(&rs_dst);
            rs_src.cap = rs_dst.cap = o->sample;
            rs_src.keys = calloc((size_t)o->sample, sizeof(char *));
            rs_src.lens = calloc((size_t)o->sample, sizeof(size_t));
            rs_dst.keys = calloc((size_t)o->sample, sizeof(char *));
            rs_dst.lens = calloc((size_t)o->sample, sizeof(size_t));
            if (!rs_src.keys || !rs_src.lens || !rs_dst.keys || !rs_dst.lens) {
                util_err(err, errlen, "out of memory for a sample of %ld keys: choose a smaller --sample", o->sample);
                goto out;
            }
            v.phase = "sampling source";
            if (vx_walk_sample(&v, d, 0, &rs_src) != 0) goto out;
            v.phase = "sampling target";
            v.dbprog = 0;
            if (vx_walk_sample(&v, d, 1, &rs_dst) != 0) goto out;
            v.phase = "source → target";
            v.dbprog = 0;
            if (vx_check_sample(&v, d, &rs_src, 0) != 0) goto out;
            v.phase = "target → source";
            v.dbprog = 0;
            if (vx_check_sample(&v, d, &rs_dst, 1) != 0) goto out;
        }
    }
    res->complete = 1;
    rc = 0;
out:
    res->src_commands = v.src_cmds;
    res->elapsed_ms = util_mono_ms() - v.t0_ms;
    if (v.dbi >= res->ndb) v.dbi = res->ndb - 1;
    if (v.src && v.dst && v.dbi >= 0) vx_tick(&v, 1);
    if (v.report) {
        fprintf(v.report, "# %s: %" PRIu64 " matching, %" PRIu64 " missing, %" PRIu64 " extra, %" PRIu64
                          " different, %" PRIu64 " ttl-drift, %" PRIu64 " gone during the check%s%s\n",
                rc == 0 ? "done" : "INCOMPLETE", res->counts[VK_MATCHING], res->counts[VK_MISSING], res->counts[VK_EXTRA],
                res->counts[VK_DIFFERENT], res->counts[VK_TTL_DRIFT], res->counts[VK_GONE], rc == 0 ? "" : ": ",
                rc == 0 ? "" : err);
        fclose(v.report);
    }
    res_free(&rs_src);
    res_free(&rs_dst);
    free(v.fnd);
    if (v.src) conn_close(v.src);
    if (v.dst) conn_close(v.dst);
    return rc;
}

/* ------------------------------------------------------------------ CLI */

const char verify_usage[] =
    "usage: ferry verify --source URI --target URI [options]\n"
    "\n"
    "Compares the target with the source: key counts per db and type, then every key (or a\n"
    "sample): presence on both sides, type, value, absolute expiry, streams with their groups,\n"
    "consumers and pending entries. Both directions: keys missing on the target and extra keys\n"
    "on it. Reads only; the load on the source is bounded by --budget.\n"
    "\n"
    "servers\n"
    "  --source URI, --target URI   as for ferry copy; passwords from FERRY_SOURCE_PASSWORD /\n"
    "  FERRY_TARGET_PASSWORD or --source-password-file F / --target-password-file F\n"
    "  --tls-ca F --tls-cert F --tls-key F --tls-sni NAME --tls-insecure (and --source-tls-… / --target-tls-…)\n"
    "  --connect-timeout MS (5000)  --timeout MS (30000)\n"
    "what\n"
    "  --db-map SRC:DST[,SRC:DST]   default: the URIs' dbs, else every db not empty on either side\n"
    "  --match GLOB, --exclude GLOB (repeatable)   --type string,list,set,zset,hash,stream\n"
    "  --sample N          compare N keys per db and side, drawn uniformly (SCAN walk + reservoir);\n"
    "                      default: every key\n"
    "  --seed N            the sample's random seed (default: from the clock)\n"
    "  --ttl-tolerance MS  allowed expiry difference (default 0 when both servers have\n"
    "                      PEXPIRETIME, else 1000)\n"
    "how\n"
    "  --budget CMDS_PER_S at most this many commands a second on the source (20000; 0 = no limit)\n"
    "  --batch N (200)  --scan-count N (500)  --chunk N (500: elements per read of a big key)\n"
    "output\n"
    "  --report FILE       every mismatch, one per line: kind, db, key, detail\n"
    "  --no-tui            progress lines (verify always prints lines; accepted for symmetry with copy)\n"
    "  --json              progress and summary as JSON lines\n"
    "exit codes: 0 everything matches, 1 differences found, 2 usage, 3 the verification could not\n"
    "finish (server unreachable or lost, command refused, stopped)\n";

void verify_cli_init(VerifyCli *c) {
    memset(c, 0, sizeof(*c));
    verify_options_init(&c->opt);
}

void verify_cli_free(VerifyCli *c) { filter_free(&c->opt.filter); }

int verify_cli_parse(VerifyCli *c, int argc, char **argv, char *err, size_t errlen) {
    VerifyOptions *o = &c->opt;
    CliServers sv;
    cli_servers_init(&sv, &o->source, &o->target, "verify");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = 1;
            return 0;
        }
        if (strncmp(a, "--", 2))
            return util_err(err, errlen, "unexpected argument \"%s\": options start with -- (see ferry verify --help)", a);
        const char *name = a + 2, *val = i + 1 < argc ? argv[i + 1] : NULL;
        int used = cli_servers_option(&sv, name, val, err, errlen);
        if (used < 0) return -1;
        if (used) {
            i += used - 1;
            continue;
        }
        if (!strcmp(name, "no-tui")) { c->no_tui = 1; continue; }
        if (!strcmp(name, "json")) { c->json = c->no_tui = 1; continue; }
        static const char *const valued[] = {"db-map", "match", "exclude", "type", "sample", "seed", "ttl-tolerance",
                                             "budget", "batch", "scan-count", "chunk", "report", NULL};
        int known = 0;
        for (int k = 0; valued[k]; k++) known |= !strcmp(name, valued[k]);
        if (!known) return util_err(err, errlen, "unknown option %s (see ferry verify --help)", a);
        if (!val) return util_err(err, errlen, "%s needs a value (see ferry verify --help)", a);
        i++;
        long n;
        if (!strcmp(name, "db-map")) {
            if (dbmap_parse(&o->dbmap, val, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "match")) {
            if (filter_add_include(&o->filter, val, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "exclude")) {
            if (filter_add_exclude(&o->filter, val, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "type")) {
            if (filter_parse_types(&o->filter, val, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "report")) {
            o->report_path = val;
        } else if (!strcmp(name, "seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 10);
            if (errno || end == val || *end || val[0] == '-')
                return util_err(err, errlen, "--seed takes a whole number (got \"%s\")", val);
            o->seed = s;
        } else {
            long lo = 1, hi = 100000;
            if (!strcmp(name, "sample")) hi = 10000000;
            else if (!strcmp(name, "ttl-tolerance")) lo = 0, hi = 86400000;
            else if (!strcmp(name, "budget")) lo = 0, hi = 100000000;
            else if (!strcmp(name, "scan-count")) hi = 1000000;
            if (cli_parse_long(a, val, lo, hi, &n, err, errlen) != 0) return -1;
            if (!strcmp(name, "sample")) o->sample = n;
            else if (!strcmp(name, "ttl-tolerance")) o->ttl_tolerance_ms = n;
            else if (!strcmp(name, "budget")) o->budget = (double)n;
            else if (!strcmp(name, "batch")) o->batch = (int)n;
            else if (!strcmp(name, "scan-count")) o->scan_count = (int)n;
            else o->chunk = (int)n;
        }
    }
    if (cli_servers_finish(&sv, 1, 1, err, errlen) != 0) return -1;
    if (o->dbmap.n > 0 && (o->source.uri.db >= 0 || o->target.uri.db >= 0))
        return util_err(err, errlen, "--db-map and a /db in the %s URI both say which db to use: keep one",
                        o->source.uri.db >= 0 ? "--source" : "--target");
    c->password_on_cmdline = sv.password_on_cmdline;
    return 0;
}
