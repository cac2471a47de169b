/* rdbsource — an RDB snapshot file as the source of a copy; see rdbsource.h.
 *
 * Threads (the engine's design with the file reader in the scanner's place):
 *
 *   reader   ── walks the file twice (rdb.c): a pre-pass that writes
 *               nothing (structure, CRC64, key count, dbs → the guards),
 *               then the copy pass: keys the db map and filters keep
 *               become RsBatches of ready RESTORE payloads
 *               ──► queue (bounded, and by bytes in flight) ─────────────┐
 *   worker 0..N-1 ◄── queue_pop ─ pipelined RESTORE … ABSTTL on its own   │
 *               target connection; BUSYKEY → DUMP+PEXPIRETIME check    ◄──┘
 *   monitor  ── once a second: stats_tick() and a sample of the target
 *               (INFO + PING) for the console's servers panel
 *
 * Shared state lives under s->run.lock (run state, pause, worker target, rate,
 * reader position, samples) or in atomics (counters, stop). Memory is
 * bounded by RS_INFLIGHT_BYTES of queued payloads plus one batch per worker
 * and the largest single key. Ending: the reader closes the queue at the
 * end of the file (or on stop/failure); workers leave when it is closed and
 * empty; the last one out sets the final state. */
#include "rdbsource.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "queue.h"
#include "runctl.h"
#include "rdb.h"
#include "rdbvalue.h"
#include "serverinfo.h"
#include "typecopy.h"
#include "util.h"

#define RS_BATCH_BYTES (4u << 20)     /* a batch closes at this many payload bytes */
#define RS_INFLIGHT_BYTES (64u << 20) /* the reader waits while more than this is queued */
#define RS_QUEUE_CAP (2 * ENGINE_MAX_WORKERS)
#define RS_RECONNECT_ATTEMPTS 12      /* ~45 s of capped backoff */
#define RS_START_ATTEMPTS 8
#define RS_DB_BITS (1 << 20)          /* db numbers the reader accepts (rdb.c's limit) */

enum { PLAN_MAP = 1, PLAN_SINGLE, PLAN_SAME };

typedef struct RsItem {
    size_t key_off, key_len, pay_off, pay_len;
    int64_t expire_ms; /* absolute; 0 = none */
    int typed;         /* rebuilt with type commands (rdbvalue_plan), not RESTOREd */
} RsItem;

/* Keys of one source db bound for one target db, payloads included. */
typedef struct RsBatch {
    int src_db, dst_db;
    int n, cap;
    RsItem *it;
    char *data;
    size_t used, datacap;
} RsBatch;

typedef struct RsWorker {
    struct RdbSource *s;
    int idx;
    pthread_t th;
    int joinable;
    _Atomic int running;
    _Atomic int state;
    _Atomic uint64_t keys_done;
    _Atomic int64_t batch_start_ms;
    Conn *c;
    int cap; /* scratch, per batch */
    unsigned char *todo, *same;
    int *order, *busy;
} RsWorker;

struct RdbSource {
    CopyOptions opt;
    char path[1024];
    Stats stats;
    EventLog log;
    Queue *queue;
    RunCtl run; /* state, pause/stop, workers, rate limit; its lock (and cond:
                 * also bytes in flight) guards the fields below too */
    uint64_t inflight; /* payload bytes queued or being restored */
    RsWorker workers[ENGINE_MAX_WORKERS];
    pthread_t reader_th, monitor_th;
    _Atomic int closing;

    /* The file. The reader thread owns rdb after start. */
    RdbReader *rdb;
    uint64_t file_size;
    int version, valkey;
    _Atomic uint64_t offset;      /* bytes read so far */
    _Atomic uint64_t verify_done; /* bytes of the pre-pass so far */
    _Atomic int verifying;

    /* The target. ctl: create, then the reader thread only. */
    ServerInfo dst_info;
    Conn *ctl;
    int dst_pexpiretime;
    char tlabel[300];

    /* The db plan (reader thread). */
    int plan;
    int single_dst;
    unsigned char *db_wanted; /* bit per source db: has keys to copy (pre-pass) */
    unsigned char *db_told;   /* bit per source db: "not in --db-map" said */
    int want_dst;             /* target db of the key rs_want() just accepted */
    uint64_t file_keys;       /* keys in the file (pre-pass) */
    _Atomic uint64_t typed;   /* keys rebuilt with type commands */
    _Atomic uint64_t field_ttls_lost;

    /* Under lock, for snapshots. */
    int cur_src, cur_dst, dbs_done, dbs_total, reader_finished;
    ServerSnapshot srv[2];
    int64_t srv_ok_ms;
    char fail_samples[FAIL__COUNT][3][128];
    int nsamples[FAIL__COUNT];

    FILE *report;
    pthread_mutex_t report_lock;

    /* What the file said about itself (reader thread, then under lock). */
    char writer[96];
    int64_t ctime;
    uint64_t used_mem;
    int nfunctions, functions_loaded, functions_failed;
};

/* ----------------------------------------------------------------- batches */

static RsBatch *rsb_new(int src_db, int dst_db) {
    RsBatch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->src_db = src_db;
    b->dst_db = dst_db;
    return b;
}

static void rsb_free(RsBatch *b) {
    if (!b) return;
    free(b->it);
    free(b->data);
    free(b);
}

static int rsb_add(RsBatch *b, const char *key, size_t klen, const unsigned char *p, size_t plen,
                   int64_t expire_ms) {
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        RsItem *it = realloc(b->it, sizeof(*it) * (size_t)cap);
        if (!it) return -1;
        b->it = it;
        b->cap = cap;
    }
    size_t need = b->used + klen + plen;
    if (need < b->used) return -1;
    if (need > b->datacap) {
        size_t cap = b->datacap ? b->datacap : 64 * 1024;
        while (cap < need) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->datacap = cap;
    }
    RsItem *it = &b->it[b->n++];
    it->key_off = b->used;
    it->key_len = klen;
    memcpy(b->data + b->used, key, klen);
    b->used += klen;
    it->pay_off = b->used;
    it->pay_len = plen;
    memcpy(b->data + b->used, p, plen);
    b->used += plen;
    it->expire_ms = expire_ms;
    it->typed = 0;
    return 0;
}

/* ------------------------------------------------------------- run state */

void rdbsource_log(RdbSource *s, EventLevel level, const char *fmt, ...) {
    char text[EVENTLOG_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    eventlog_add(&s->log, level, "%s", text);
}

/* Caller holds s->run.lock. */
static void rs_finalize_locked(RdbSource *s) {
    if (!runctl_should_finish_locked(&s->run)) return;
    void *left;
    while ((left = queue_try_pop(s->queue)) != NULL) {
        s->inflight -= ((RsBatch *)left)->used;
        rsb_free(left);
    }
    stats_finish(&s->stats);
    if (atomic_load(&s->typed))
        eventlog_add(&s->log, EV_INFO, "%llu keys rebuilt with type commands (the target cannot RESTORE their encoding%s)",
                     (unsigned long long)atomic_load(&s->typed), s->opt.type_based ? ", or --type-based" : "");
    if (atomic_load(&s->field_ttls_lost))
        eventlog_add(&s->log, EV_WARN, "%llu hash fields with their own expiry were written without it: the target (%s %s) has no HPEXPIREAT",
                     (unsigned long long)atomic_load(&s->field_ttls_lost), s->dst_info.server_name, s->dst_info.version);
    pthread_mutex_lock(&s->report_lock);
    if (s->report) fflush(s->report);
    pthread_mutex_unlock(&s->report_lock);
    runctl_finish_locked(&s->run);
}

static void rs_fail(RdbSource *s, const char *why) { runctl_fail(&s->run, why); }

static void rs_release(RdbSource *s, size_t bytes) {
    pthread_mutex_lock(&s->run.lock);
    s->inflight -= bytes;
    pthread_cond_broadcast(&s->run.cond);
    pthread_mutex_unlock(&s->run.lock);
}

/* --------------------------------------------------------------- reports */

static void rs_report(RdbSource *s, int skipped, FailReason r, int db, const char *key, size_t len,
                      const char *detail) {
    pthread_mutex_lock(&s->run.lock);
    if (s->nsamples[r] < 3) {
        char *dst = s->fail_samples[r][s->nsamples[r]++];
        size_t n = len < 127 ? len : 127;
        for (size_t i = 0; i < n; i++) dst[i] = (key[i] >= 0x20 && key[i] < 0x7f) ? key[i] : '?';
        dst[n] = '\0';
    }
    pthread_mutex_unlock(&s->run.lock);
    pthread_mutex_lock(&s->report_lock);
    if (s->report) {
        fprintf(s->report, "%s\t%s\tdb%d\t", skipped ? "skipped" : "failed", stats_fail_name(r), db);
        util_fput_key(s->report, key, len, 0);
        fprintf(s->report, "\t%s\n", detail ? detail : "");
    }
    pthread_mutex_unlock(&s->report_lock);
}

/* ---------------------------------------------------------------- workers */

static Conn *rs_open_retry(RdbSource *s, const ConnConfig *cfg, char *err, size_t errlen) {
    int64_t delay = 100;
    for (int attempt = 0; attempt < RS_START_ATTEMPTS && !s->run.stop; attempt++) {
        Conn *c = conn_open(cfg, err, errlen);
        if (c) return c;
        for (int64_t slept = 0; slept < delay && !s->run.stop; slept += 50) util_sleep_ms(50);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    if (s->run.stop) util_err(err, errlen, "stopped while connecting");
    return NULL;
}

static int rs_reserve(RsWorker *w, int n) {
    if (n <= w->cap) return 0;
    unsigned char *t = realloc(w->todo, (size_t)n);
    if (!t) return -1;
    w->todo = t;
    unsigned char *sm = realloc(w->same, (size_t)n);
    if (!sm) return -1;
    w->same = sm;
    int *o = realloc(w->order, sizeof(int) * (size_t)n);
    if (!o) return -1;
    w->order = o;
    int *b = realloc(w->busy, sizeof(int) * (size_t)n);
    if (!b) return -1;
    w->busy = b;
    w->cap = n;
    return 0;
}

static int rs_reconnect(RsWorker *w, int db, char *err, size_t errlen) {
    RdbSource *s = w->s;
    char why[FERRY_ERR_LEN];
    util_strlcpy(why, conn_errstr(w->c), sizeof(why));
    atomic_store(&w->state, WORKER_BACKOFF);
    if (conn_reconnect(w->c, RS_RECONNECT_ATTEMPTS, &s->run.stop) != 0 || conn_select(w->c, db) != 0) {
        if (s->run.stop) return util_err(err, errlen, "%s: stopped while reconnecting", conn_label(w->c));
        return util_err(err, errlen, "%s: connection lost and not regained (%s); check the server, then rerun",
                        conn_label(w->c), why);
    }
    atomic_fetch_add(&s->stats.retries, 1);
    atomic_store(&w->state, WORKER_RESTORING);
    return 0;
}

static int rs_is_err(const redisReply *r, const char *prefix) {
    return r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, prefix, strlen(prefix));
}

static FailReason rs_classify(const char *e) {
    if (!strncmp(e, "BUSYKEY", 7)) return FAIL_BUSYKEY;
    if (strstr(e, "payload version") || strstr(e, "checksum")) return FAIL_VERSION;
    if (!strncmp(e, "OOM", 3)) return FAIL_OOM;
    if (strstr(e, "too large") || strstr(e, "bulk length") || strstr(e, "proto-max-bulk-len")) return FAIL_TOOLARGE;
    return FAIL_OTHER;
}

/* A set's or hash's elements, copied out of a payload or a reply. */
typedef struct RsSpan {
    const char *p;
    size_t len;
} RsSpan;

typedef struct RsElems {
    char *buf;
    size_t used, cap;
    size_t *off, *len;
    size_t n, ncap;
} RsElems;

static int rs_elems_add(void *ud, const unsigned char *p, size_t n) {
    RsElems *e = ud;
    if (e->n == e->ncap) {
        size_t cap = e->ncap ? e->ncap * 2 : 64;
        size_t *o = realloc(e->off, cap * sizeof(*o));
        if (!o) return -1;
        e->off = o;
        size_t *l = realloc(e->len, cap * sizeof(*l));
        if (!l) return -1;
        e->len = l;
        e->ncap = cap;
    }
    if (e->used + n + 1 > e->cap) {
        size_t cap = e->cap ? e->cap : 4096;
        while (cap < e->used + n + 1) cap *= 2;
        char *b = realloc(e->buf, cap);
        if (!b) return -1;
        e->buf = b;
        e->cap = cap;
    }
    memcpy(e->buf + e->used, p, n);
    e->off[e->n] = e->used;
    e->len[e->n++] = n;
    e->used += n;
    return 0;
}

static int rs_span_cmp(const void *x, const void *y) {
    const RsSpan *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, n);
    return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* Sorts members (unit 1) or field/value pairs by field (unit 2). */
static void rs_canonical(RsSpan *v, size_t n, int unit) { qsort(v, n / (size_t)unit, sizeof(RsSpan) * (size_t)unit, rs_span_cmp); }

/* The payload differs from the target's DUMP but the expiry matches: is it
 * the same set or hash, laid out by another hash table (or encoding)? The
 * payload is decoded here; the target is read with SMEMBERS/HGETALL. Rare
 * path (only BUSYKEYs with differing payloads), so plain reads are fine. */
static int rs_same_contents(RsWorker *w, const RsBatch *b, const RsItem *it) {
    const unsigned char *pay = (const unsigned char *)b->data + it->pay_off;
    const char *tn = rdb_type_name(pay[0]);
    int hash = tn && !strcmp(tn, "hash");
    if (!tn || (!hash && strcmp(tn, "set"))) return 0;
    RsElems e = {0};
    RsSpan *mine = NULL, *theirs = NULL;
    redisReply *r = NULL;
    int same = 0;
    if (rdb_payload_elements(pay, it->pay_len, rs_elems_add, &e) != 0) goto out;
    const char *a[2] = {hash ? "HGETALL" : "SMEMBERS", b->data + it->key_off};
    size_t l[2] = {hash ? 7 : 8, it->key_len};
    r = conn_command_argv(w->c, 2, a, l);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != e.n) goto out;
    mine = malloc(sizeof(RsSpan) * (e.n ? e.n : 1));
    theirs = malloc(sizeof(RsSpan) * (e.n ? e.n : 1));
    if (!mine || !theirs) goto out;
    for (size_t i = 0; i < e.n; i++) {
        mine[i] = (RsSpan){e.buf + e.off[i], e.len[i]};
        if (r->element[i]->type != REDIS_REPLY_STRING) goto out;
        theirs[i] = (RsSpan){r->element[i]->str, r->element[i]->len};
    }
    rs_canonical(mine, e.n, hash ? 2 : 1);
    rs_canonical(theirs, e.n, hash ? 2 : 1);
    same = 1;
    for (size_t i = 0; i < e.n && same; i++) same = rs_span_cmp(&mine[i], &theirs[i]) == 0;
out:
    if (r) freeReplyObject(r);
    free(mine);
    free(theirs);
    free(e.buf);
    free(e.off);
    free(e.len);
    return same;
}

/* For every BUSYKEY: is the target's key ours already, value and expiry?
 * One pipeline of DUMP (+ PEXPIRETIME) on the target. The DUMP footers
 * (version, CRC) are left out of the comparison: the same value written by
 * a newer target is still the same value; a set or hash whose bytes differ
 * is compared by contents (as the engine does). */
static int rs_check_busy(RsWorker *w, const RsBatch *b, int nbusy, char *err, size_t errlen) {
    RdbSource *s = w->s;
    for (;;) {
        for (int j = 0; j < nbusy; j++) {
            const RsItem *it = &b->it[w->busy[j]];
            const char *a[2] = {"DUMP", b->data + it->key_off};
            size_t l[2] = {4, it->key_len};
            conn_append_argv(w->c, 2, a, l);
            if (s->dst_pexpiretime) {
                a[0] = "PEXPIRETIME";
                l[0] = 11;
                conn_append_argv(w->c, 2, a, l);
            }
        }
        int j = 0;
        for (; j < nbusy; j++) {
            const RsItem *it = &b->it[w->busy[j]];
            redisReply *d = NULL, *t = NULL;
            if (conn_get_reply(w->c, &d) != 0) break;
            if (s->dst_pexpiretime && conn_get_reply(w->c, &t) != 0) {
                freeReplyObject(d);
                break;
            }
            int same = d->type == REDIS_REPLY_STRING && d->len == it->pay_len && it->pay_len > RDB_PAYLOAD_FOOTER &&
                       memcmp(d->str, b->data + it->pay_off, it->pay_len - RDB_PAYLOAD_FOOTER) == 0;
            if (!same && d->type == REDIS_REPLY_STRING) same = 2; /* contents, below */
            if (same && t) {
                long long theirs = t->type == REDIS_REPLY_INTEGER ? t->integer : -3;
                long long want = it->expire_ms ? it->expire_ms : -1;
                if (theirs != want) same = 0;
            }
            w->same[j] = (unsigned char)same;
            freeReplyObject(d);
            if (t) freeReplyObject(t);
        }
        if (j == nbusy) break;
        if (rs_reconnect(w, b->dst_db, err, errlen) != 0) return -1;
    }
    for (int j = 0; j < nbusy; j++)
        if (w->same[j] == 2) w->same[j] = (unsigned char)rs_same_contents(w, b, &b->it[w->busy[j]]);
    return 0;
}

/* A key that was on the target already: identical (same value and
 * expiry), else skipped or failed as the conflict policy says. */
static void rs_count_existing(RdbSource *s, const RsBatch *b, const RsItem *it, int same) {
    if (same) {
        atomic_fetch_add(&s->stats.identical, 1);
        return;
    }
    int skip = s->opt.on_conflict == CONFLICT_SKIP;
    if (skip) atomic_fetch_add(&s->stats.skipped, 1);
    else stats_fail(&s->stats, FAIL_BUSYKEY);
    rs_report(s, skip, FAIL_BUSYKEY, b->src_db, b->data + it->key_off, it->key_len,
              "target key exists with a different value or expiry");
}

/* ---------------------------------------------------- type-based keys */

typedef struct RsEmit {
    RsWorker *w;
    const char *tmp;
    size_t tmplen;
    uint64_t sent, drained;
    int broke;
    char first[256]; /* the first error reply */
} RsEmit;

/* Reads n replies; the first error's text into first (once). -1 when the
 * connection broke. */
static int rs_drain(RsWorker *w, uint64_t n, char *first, size_t firstlen) {
    for (uint64_t i = 0; i < n; i++) {
        redisReply *r;
        if (conn_get_reply(w->c, &r) != 0) return -1;
        if (r->type == REDIS_REPLY_ERROR && !first[0]) util_strlcpy(first, r->str, firstlen);
        freeReplyObject(r);
    }
    return 0;
}

static int rs_emit(void *ud, int argc, const char **argv, const size_t *lens) {
    RsEmit *e = ud;
    if (e->sent - e->drained >= 1024) { /* a big key: bound what is in flight */
        if (rs_drain(e->w, e->sent - e->drained, e->first, sizeof(e->first)) != 0) {
            e->broke = 1;
            return -1;
        }
        e->drained = e->sent;
    }
    if (conn_append_argv(e->w->c, argc, argv, lens) != 0) return -1;
    if (++e->sent == 1) { /* the temporary key exists now: give it a safety expiry */
        const char *a[3] = {"PEXPIRE", e->tmp, "300000"};
        size_t l[3] = {7, e->tmplen, 6};
        if (conn_append_argv(e->w->c, 3, a, l) != 0) return -1;
        e->sent++;
    }
    return 0;
}

/* Is the target's key the one built under tmp, value and expiry? Both
 * written by the same server: their DUMPs compare byte for byte, else (a
 * set or hash in another hash-table order, a stream with other consumer
 * times) their contents do: rs_same_contents against the file's payload,
 * typecopy_stream_same between the two keys. -1 when the connection broke. */
static int rs_typed_same(RsWorker *w, const RsBatch *b, const RsItem *it, const char *tmp, size_t tmplen) {
    const char *key = b->data + it->key_off;
    size_t klen = it->key_len;
    const char *a[2] = {"DUMP", key};
    size_t l[2] = {4, klen};
    conn_append_argv(w->c, 2, a, l);
    a[1] = tmp;
    l[1] = tmplen;
    conn_append_argv(w->c, 2, a, l);
    a[0] = "PEXPIRETIME";
    l[0] = 11;
    a[1] = key;
    l[1] = klen;
    conn_append_argv(w->c, 2, a, l);
    a[1] = tmp;
    l[1] = tmplen;
    conn_append_argv(w->c, 2, a, l);
    redisReply *r[4] = {0};
    int n = 0;
    while (n < 4 && conn_get_reply(w->c, &r[n]) == 0) n++;
    if (n < 4) {
        for (int i = 0; i < n; i++) freeReplyObject(r[i]);
        return -1;
    }
    int dumps = r[0]->type == REDIS_REPLY_STRING && r[1]->type == REDIS_REPLY_STRING;
    int same = dumps && r[0]->len == r[1]->len && !memcmp(r[0]->str, r[1]->str, r[0]->len);
    int expiry = r[2]->type == REDIS_REPLY_INTEGER && r[3]->type == REDIS_REPLY_INTEGER && r[2]->integer == r[3]->integer;
    for (int i = 0; i < n; i++) freeReplyObject(r[i]);
    if (!expiry || !dumps) return 0;
    if (same) return 1;
    const char *tn = rdb_type_name(((const unsigned char *)b->data + it->pay_off)[0]);
    if (tn && !strcmp(tn, "stream")) return typecopy_stream_same(w->c, key, klen, w->c, tmp, tmplen);
    return rs_same_contents(w, b, it); /* sets and hashes; 0 for the others */
}

/* A key the target cannot RESTORE (rdbvalue_plan): built from the
 * snapshot's bytes with type commands under a temporary name in the same
 * hash slot (with a safety expiry: a crash leaves nothing for long), its
 * expiry set, then renamed into place: RENAME when replacing, else
 * RENAMENX; when the key exists, the two are compared (rs_typed_same) and
 * the temporary key deleted. Counts the key. 0, or -1 with a message when
 * the run must stop. */
static int rs_restore_typed(RsWorker *w, const RsBatch *b, const RsItem *it, char *err, size_t errlen) {
    RdbSource *s = w->s;
    const char *key = b->data + it->key_off;
    const unsigned char *pay = (const unsigned char *)b->data + it->pay_off;
    RvOptions ro = {.dst_version = s->dst_info.major * 100 + s->dst_info.minor, .valkey = s->valkey,
                    .dst_valkey = !strcmp(s->dst_info.server_name, "valkey")};
    int replace = s->opt.on_conflict == CONFLICT_REPLACE;
    for (;;) {
        size_t tmplen;
        char *tmp = typecopy_tmp_name(key, it->key_len, ((uint64_t)util_mono_us() << 8) ^ (uint64_t)w->idx, &tmplen);
        if (!tmp) return util_err(err, errlen, "out of memory");
        RsEmit e = {.w = w, .tmp = tmp, .tmplen = tmplen};
        RvResult res = {0};
        char why[FERRY_ERR_LEN] = "", *first = e.first;
        int rc = rdbvalue_commands(pay, it->pay_len, 1, tmp, tmplen, &ro, rs_emit, &e, &res, why, sizeof(why));
        if (rc == 0 && res.commands == 0) { /* a hash whose every field had expired */
            free(tmp);
            atomic_fetch_add(&s->stats.expired, 1);
            return 0;
        }
        int renaming = rc == 0;
        if (renaming) {
            char at[32];
            snprintf(at, sizeof(at), "%lld", (long long)it->expire_ms);
            const char *a[3] = {it->expire_ms ? "PEXPIREAT" : "PERSIST", tmp, at};
            size_t l[3] = {it->expire_ms ? 9u : 7u, tmplen, strlen(at)};
            conn_append_argv(w->c, it->expire_ms ? 3 : 2, a, l);
            const char *m[3] = {replace ? "RENAME" : "RENAMENX", tmp, key};
            size_t ml[3] = {replace ? 6u : 8u, tmplen, it->key_len};
            conn_append_argv(w->c, 3, m, ml);
            e.sent += 2;
        }
        /* Every reply but the rename's. */
        int broke = e.broke || rs_drain(w, e.sent - e.drained - (renaming ? 1 : 0), first, sizeof(e.first)) != 0;
        redisReply *last = NULL;
        if (!broke && renaming && conn_get_reply(w->c, &last) != 0) broke = 1;
        int exists = 0;
        if (!broke && last) {
            if (last->type == REDIS_REPLY_ERROR && !first[0]) util_strlcpy(first, last->str, sizeof(e.first));
            exists = last->type == REDIS_REPLY_INTEGER && last->integer == 0;
        }
        if (last) freeReplyObject(last);
        int same = 0;
        if (!broke && exists && !first[0]) {
            same = rs_typed_same(w, b, it, tmp, tmplen);
            broke = same < 0;
        }
        if (!broke && e.sent && (exists || rc != 0 || first[0])) { /* what was built and not renamed */
            const char *a[2] = {"DEL", tmp};
            size_t l[2] = {3, tmplen};
            redisReply *r = conn_command_argv(w->c, 2, a, l);
            if (r) freeReplyObject(r);
            else broke = 1;
        }
        free(tmp);
        if (broke) {
            if (rs_reconnect(w, b->dst_db, err, errlen) != 0) return -1;
            continue; /* again under a new temporary name; the old one expires on its own */
        }
        if (rc != 0) {
            stats_fail(&s->stats, FAIL_OTHER);
            rs_report(s, 0, FAIL_OTHER, b->src_db, key, it->key_len, why);
            rdbsource_log(s, EV_WARN, "%s", why);
            return 0;
        }
        if (first[0]) {
            FailReason r = rs_classify(first);
            stats_fail(&s->stats, r);
            rs_report(s, 0, r, b->src_db, key, it->key_len, first);
            if (r == FAIL_OOM)
                return util_err(err, errlen, "%s is out of memory (%s): free memory or raise maxmemory on the target, then rerun with --on-conflict skip to keep what was copied",
                                conn_label(w->c), first);
            return 0;
        }
        if (exists) {
            rs_count_existing(s, b, it, same);
            return 0;
        }
        atomic_fetch_add(&s->stats.copied, 1);
        atomic_fetch_add(&s->stats.bytes, it->pay_len);
        atomic_fetch_add(&s->typed, 1);
        if (res.field_ttls_lost) atomic_fetch_add(&s->field_ttls_lost, res.field_ttls_lost);
        return 0;
    }
}

/* RESTOREs every key of b. -1 (message in err) on what must stop the run:
 * target out of memory, RESTORE refused, the target lost for good. */
static int rs_restore_batch(RsWorker *w, const RsBatch *b, int *handled, char *err, size_t errlen) {
    RdbSource *s = w->s;
    *handled = 0;
    if (rs_reserve(w, b->n) != 0) return util_err(err, errlen, "out of memory for a batch of %d keys", b->n);
    atomic_store(&w->state, WORKER_RESTORING);
    if (conn_db(w->c) != b->dst_db && conn_select(w->c, b->dst_db) != 0) {
        if (!conn_broken(w->c))
            return util_err(err, errlen, "%s: SELECT %d failed: %s", conn_label(w->c), b->dst_db, conn_errstr(w->c));
        if (rs_reconnect(w, b->dst_db, err, errlen) != 0) return -1;
    }
    for (int i = 0; i < b->n; i++) w->todo[i] = !b->it[i].typed;
    int fatal = 0, nbusy = 0;
    char ttl[32];
    for (;;) {
        int64_t now = util_now_ms();
        int nsent = 0;
        for (int i = 0; i < b->n; i++) {
            if (!w->todo[i]) continue;
            const RsItem *it = &b->it[i];
            if (it->expire_ms > 0 && it->expire_ms <= now) {
                /* RESTORE would answer OK and create nothing: count it. */
                w->todo[i] = 0;
                atomic_fetch_add(&s->stats.expired, 1);
                (*handled)++;
                continue;
            }
            snprintf(ttl, sizeof(ttl), "%lld", (long long)it->expire_ms);
            const char *a[6] = {"RESTORE", b->data + it->key_off, ttl, b->data + it->pay_off, "ABSTTL", "REPLACE"};
            size_t l[6] = {7, it->key_len, strlen(ttl), it->pay_len, 6, 7};
            conn_append_argv(w->c, s->opt.on_conflict == CONFLICT_REPLACE ? 6 : 5, a, l);
            w->order[nsent++] = i;
        }
        int k = 0;
        for (; k < nsent; k++) {
            int i = w->order[k];
            const RsItem *it = &b->it[i];
            redisReply *r;
            if (conn_get_reply(w->c, &r) != 0) break;
            w->todo[i] = 0;
            if (r->type != REDIS_REPLY_ERROR) {
                (*handled)++;
                atomic_fetch_add(&s->stats.copied, 1);
                atomic_fetch_add(&s->stats.bytes, it->pay_len);
                freeReplyObject(r);
                continue;
            }
            FailReason why = rs_classify(r->str);
            if (why == FAIL_BUSYKEY) {
                w->busy[nbusy++] = i;
                freeReplyObject(r);
                continue;
            }
            (*handled)++;
            if (rs_is_err(r, "NOPERM") || strstr(r->str, "unknown command")) {
                if (!fatal)
                    util_err(err, errlen, "%s refused RESTORE (%s): the user needs +restore (or the command is renamed); fix the ACL and rerun",
                             conn_label(w->c), r->str);
                fatal = 1;
                why = FAIL_OTHER;
            } else if (why == FAIL_OOM && !fatal) {
                util_err(err, errlen, "%s is out of memory (%s): free memory or raise maxmemory on the target, then rerun with --on-conflict skip to keep what was copied",
                         conn_label(w->c), r->str);
                fatal = 1;
            }
            stats_fail(&s->stats, why);
            rs_report(s, 0, why, b->src_db, b->data + it->key_off, it->key_len, r->str);
            freeReplyObject(r);
        }
        if (k == nsent) break;
        /* The connection broke at reply k: the rest may or may not have been
         * applied. Resend them; a BUSYKEY then is settled by the check. */
        if (rs_reconnect(w, b->dst_db, err, errlen) != 0) return -1;
    }
    for (int i = 0; i < b->n && !fatal; i++) {
        if (!b->it[i].typed) continue;
        if (b->it[i].expire_ms > 0 && b->it[i].expire_ms <= util_now_ms()) {
            atomic_fetch_add(&s->stats.expired, 1);
        } else if (rs_restore_typed(w, b, &b->it[i], err, errlen) != 0) {
            return -1;
        }
        (*handled)++;
    }
    if (nbusy) {
        if (rs_check_busy(w, b, nbusy, err, errlen) != 0) return -1;
        for (int j = 0; j < nbusy; j++) {
            (*handled)++;
            rs_count_existing(s, b, &b->it[w->busy[j]], w->same[j]);
        }
    }
    return fatal ? -1 : 0;
}

static void *rs_worker_main(void *arg) {
    RsWorker *w = arg;
    RdbSource *s = w->s;
    char err[FERRY_ERR_LEN] = "";
    runctl_block_signals();
    ConnConfig tc = s->opt.target;
    snprintf(tc.client_name, sizeof(tc.client_name), "ferry-dst-w%d", w->idx);
    tc.uri.db = -1;
    w->c = rs_open_retry(s, &tc, err, sizeof(err));
    if (!w->c) {
        if (!s->run.stop) rs_fail(s, err);
        goto out;
    }
    for (;;) {
        pthread_mutex_lock(&s->run.lock);
        while (s->run.paused && !s->run.stop && w->idx < s->run.workers_target) {
            atomic_store(&w->state, WORKER_PAUSED);
            pthread_cond_wait(&s->run.cond, &s->run.lock);
        }
        int leave = s->run.stop || w->idx >= s->run.workers_target;
        pthread_mutex_unlock(&s->run.lock);
        if (leave) break;
        atomic_store(&w->state, WORKER_IDLE);
        RsBatch *b = queue_pop_timed(s->queue, 200);
        if (!b) {
            if (queue_closed(s->queue) && queue_len(s->queue) == 0) break;
            continue;
        }
        if (!runctl_wait_unpaused(&s->run)) { /* paused while it waited: held here; or stopping */
            rs_release(s, b->used);
            rsb_free(b);
            break;
        }
        atomic_store(&w->batch_start_ms, util_mono_ms());
        runctl_rate_acquire(&s->run, b->n);
        int handled = 0;
        int rc = rs_restore_batch(w, b, &handled, err, sizeof(err));
        atomic_fetch_add(&w->keys_done, (uint64_t)handled);
        atomic_store(&w->batch_start_ms, 0);
        rs_release(s, b->used);
        rsb_free(b);
        if (rc != 0) {
            rs_fail(s, err);
            break;
        }
    }
out:
    if (w->c) conn_close(w->c);
    w->c = NULL;
    free(w->todo);
    free(w->same);
    free(w->order);
    free(w->busy);
    w->todo = w->same = NULL;
    w->order = w->busy = NULL;
    w->cap = 0;
    pthread_mutex_lock(&s->run.lock);
    atomic_store(&w->state, WORKER_EXITED);
    atomic_store(&w->running, 0);
    s->run.active_workers--;
    rs_finalize_locked(s);
    pthread_mutex_unlock(&s->run.lock);
    return NULL;
}

/* Starts workers [0, n) that are not running. Caller holds s->run.lock. */
static void rs_spawn_workers_locked(RdbSource *s, int n) {
    for (int i = 0; i < n; i++) {
        RsWorker *w = &s->workers[i];
        if (atomic_load(&w->running)) continue;
        if (w->joinable) {
            pthread_join(w->th, NULL);
            w->joinable = 0;
        }
        w->s = s;
        w->idx = i;
        atomic_store(&w->running, 1);
        atomic_store(&w->state, WORKER_IDLE);
        atomic_store(&w->batch_start_ms, 0);
        if (pthread_create(&w->th, NULL, rs_worker_main, w) != 0) {
            atomic_store(&w->running, 0);
            eventlog_add(&s->log, EV_ERROR, "could not start worker %d (out of threads)", i);
            continue;
        }
        w->joinable = 1;
        s->run.active_workers++;
    }
}

/* ----------------------------------------------------------------- reader */

static int rs_bit(const unsigned char *bits, int db) { return (bits[db >> 3] >> (db & 7)) & 1; }
static void rs_bit_set(unsigned char *bits, int db) { bits[db >> 3] |= (unsigned char)(1u << (db & 7)); }

/* 0 when target db dst may be written (empty, or a policy was chosen); -1
 * with a message. Uses the control connection (create, reader thread). */
static int rs_check_target_db(RdbSource *s, int dst, char *err, size_t errlen) {
    if (conn_select(s->ctl, dst) != 0)
        return util_err(err, errlen, "%s: SELECT %d failed: %s (does the target have that many databases?)",
                        s->tlabel, dst, conn_errstr(s->ctl));
    redisReply *r = conn_command(s->ctl, "DBSIZE");
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        util_err(err, errlen, "%s: DBSIZE failed: %s", s->tlabel,
                 r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply") : conn_errstr(s->ctl));
        if (r) freeReplyObject(r);
        return -1;
    }
    long long n = r->integer;
    freeReplyObject(r);
    if (n > 0 && !s->opt.on_conflict_explicit)
        return util_err(err, errlen, "target %s db %d already holds %lld keys: choose --on-conflict fail|skip|replace explicitly, or empty that db first",
                        s->tlabel, dst, n);
    return 0;
}

/* 1 when the key is to be copied (its target db in *dst), 0 when the db map
 * (*unmapped = 1) or a filter leaves it out. */
static int rs_select(RdbSource *s, int db, const char *key, size_t len, int type, int *dst, int *unmapped) {
    *unmapped = 0;
    *dst = s->plan == PLAN_SINGLE ? s->single_dst : db;
    if (s->plan == PLAN_MAP && (*dst = dbmap_target(&s->opt.dbmap, db)) < 0) {
        *unmapped = 1;
        return 0;
    }
    if (!filter_key(&s->opt.filter, key, len)) return 0;
    if (s->opt.filter.types) {
        const char *tn = rdb_type_name(type);
        if (!filter_type(&s->opt.filter, filter_type_from_name(tn ? tn : "other"))) return 0;
    }
    return 1;
}

/* The pre-pass: notes which dbs have keys to copy; never asks for a payload. */
static int rs_prewant(void *ud, int db, const char *key, size_t len, int type) {
    RdbSource *s = ud;
    int dst, unmapped;
    if (rs_select(s, db, key, len, type, &dst, &unmapped)) rs_bit_set(s->db_wanted, db);
    return 0;
}

/* The copy pass. */
static int rs_want(void *ud, int db, const char *key, size_t len, int type) {
    RdbSource *s = ud;
    int dst, unmapped;
    if (rs_select(s, db, key, len, type, &dst, &unmapped)) {
        s->want_dst = dst;
        return 1;
    }
    if (unmapped && !rs_bit(s->db_told, db)) {
        rs_bit_set(s->db_told, db);
        eventlog_add(&s->log, EV_INFO, "db %d of the snapshot is not in --db-map: its keys are left out", db);
    }
    return 0;
}

/* Before anything is written: the whole file is walked (structure, and
 * the CRC64 at its end), the keys counted, the dbs that will receive keys
 * found; then the guards that need them. 0, or -1 with a message. */
static int rs_prepass(RdbSource *s, char *err, size_t errlen) {
    RdbReader *r = rdb_reader_open_file(s->path, err, errlen);
    if (!r) return -1;
    rdb_reader_set_want(r, rs_prewant, s);
    RdbEvent ev;
    int rc, checksum = 0;
    uint64_t keys = 0;
    while ((rc = rdb_next(r, &ev, err, errlen)) == 1) {
        atomic_store(&s->verify_done, rdb_reader_offset(r));
        if (ev.type == RDB_EV_KEY) keys++;
        if (ev.type == RDB_EV_END) checksum = ev.checksum;
        if (s->run.stop) {
            rdb_reader_free(r);
            return util_err(err, errlen, "stopped while the snapshot was being verified");
        }
    }
    rdb_reader_free(r);
    if (rc < 0) return -1;
    s->file_keys = keys;
    if (checksum)
        eventlog_add(&s->log, EV_INFO, "snapshot verified: %llu keys, checksum correct", (unsigned long long)keys);
    else
        eventlog_add(&s->log, EV_WARN, "snapshot read through: %llu keys, but it carries no checksum (saved with rdbchecksum no)",
                     (unsigned long long)keys);
    int first = -1, ndb = 0;
    for (int db = 0; db < RS_DB_BITS; db++) {
        if (!rs_bit(s->db_wanted, db)) continue;
        ndb++;
        if (s->plan == PLAN_SINGLE && first >= 0)
            return util_err(err, errlen, "the snapshot holds keys in db %d and db %d but the target URI names one db (/%d): map each with --db-map (e.g. %d:%d,%d:…) and drop the /db from the target, or filter down to one db; nothing was written",
                            first, db, s->single_dst, first, s->single_dst, db);
        if (first < 0) first = db;
        if (s->plan == PLAN_SAME && rs_check_target_db(s, db, err, errlen) != 0) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, "; nothing was written");
            return -1;
        }
    }
    pthread_mutex_lock(&s->run.lock);
    s->dbs_total = ndb;
    pthread_mutex_unlock(&s->run.lock);
    return 0;
}

/* Pushes b (the queue takes it); waits while too many bytes are queued. */
static int rs_push(RdbSource *s, RsBatch *b) {
    pthread_mutex_lock(&s->run.lock);
    while (s->inflight > RS_INFLIGHT_BYTES && !s->run.stop) pthread_cond_wait(&s->run.cond, &s->run.lock);
    s->inflight += b->used;
    pthread_mutex_unlock(&s->run.lock);
    if (queue_push(s->queue, b) == 0) return 0;
    rs_release(s, b->used);
    rsb_free(b);
    return -1;
}

static void rs_note_aux(RdbSource *s, const RdbEvent *ev) {
    char v[64];
    size_t n = ev->valuelen < sizeof(v) - 1 ? ev->valuelen : sizeof(v) - 1;
    memcpy(v, ev->value, n);
    v[n] = '\0';
    if ((ev->namelen == 9 && !memcmp(ev->name, "redis-ver", 9)) ||
        (ev->namelen == 10 && !memcmp(ev->name, "valkey-ver", 10))) {
        pthread_mutex_lock(&s->run.lock);
        if (!s->writer[0] || ev->namelen == 10)
            snprintf(s->writer, sizeof(s->writer), "%s %s", ev->namelen == 10 ? "valkey" : "redis", v);
        util_strlcpy(s->srv[0].version, v, sizeof(s->srv[0].version));
        pthread_mutex_unlock(&s->run.lock);
    } else if (ev->namelen == 5 && !memcmp(ev->name, "ctime", 5)) {
        s->ctime = strtoll(v, NULL, 10);
    } else if (ev->namelen == 8 && !memcmp(ev->name, "used-mem", 8)) {
        pthread_mutex_lock(&s->run.lock);
        s->used_mem = strtoull(v, NULL, 10);
        s->srv[0].used_memory = s->used_mem;
        pthread_mutex_unlock(&s->run.lock);
    }
}

/* A function library's name ("#!lua name=mylib ..."), into out. */
static void rs_library_name(const RdbEvent *ev, char *out, size_t cap) {
    const char *p = memchr(ev->value, '\n', ev->valuelen);
    size_t line = p ? (size_t)(p - ev->value) : ev->valuelen;
    const char *nm = NULL;
    for (size_t i = 0; i + 5 <= line; i++)
        if (!memcmp(ev->value + i, "name=", 5)) {
            nm = ev->value + i + 5;
            break;
        }
    if (!nm) {
        util_strlcpy(out, "?", cap);
        return;
    }
    size_t k = 0;
    while (nm + k < ev->value + line && nm[k] != ' ' && k < cap - 1) k++;
    memcpy(out, nm, k);
    out[k] = '\0';
}

/* 1 when the target's library name has exactly this code. */
static int rs_library_same(RdbSource *s, const char *name, const RdbEvent *ev) {
    const char *a[5] = {"FUNCTION", "LIST", "LIBRARYNAME", name, "WITHCODE"};
    size_t l[5] = {8, 4, 11, strlen(name), 8};
    redisReply *r = conn_command_argv(s->ctl, 5, a, l);
    int same = 0;
    /* [[library_name, n, engine, e, functions, [...], library_code, code]] */
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *lib = r->element[i];
        for (size_t j = 0; lib->type == REDIS_REPLY_ARRAY && j + 1 < lib->elements; j += 2) {
            const redisReply *k = lib->element[j], *v = lib->element[j + 1];
            if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, "library_code") && v->type == REDIS_REPLY_STRING)
                same = same || (v->len == ev->valuelen && !memcmp(v->str, ev->value, v->len));
        }
    }
    if (r) freeReplyObject(r);
    return same;
}

/* A function library (FUNCTION2): loaded on the target before the keys
 * that may need it (the snapshot stores libraries first). REPLACE only
 * with --on-conflict replace; a library that exists with the same code is
 * identical; with other code it is a conflict, like a key. Reader thread. */
static void rs_load_function(RdbSource *s, const RdbEvent *ev) {
    char name[64];
    rs_library_name(ev, name, sizeof(name));
    s->nfunctions++;
    int replace = s->opt.on_conflict == CONFLICT_REPLACE;
    const char *a[4] = {"FUNCTION", "LOAD", replace ? "REPLACE" : ev->value, ev->value};
    size_t l[4] = {8, 4, replace ? 7 : ev->valuelen, ev->valuelen};
    redisReply *r = conn_command_argv(s->ctl, replace ? 4 : 3, a, l);
    if (!r) {
        eventlog_add(&s->log, EV_WARN, "function library %s not loaded: %s", name, conn_errstr(s->ctl));
        s->functions_failed++;
        conn_reconnect(s->ctl, 3, &s->run.stop);
        return;
    }
    if (r->type != REDIS_REPLY_ERROR) {
        s->functions_loaded++;
    } else if (strstr(r->str, "already exists") && rs_library_same(s, name, ev)) {
        s->functions_loaded++; /* identical */
    } else if (strstr(r->str, "already exists")) {
        if (s->opt.on_conflict == CONFLICT_SKIP) {
            eventlog_add(&s->log, EV_WARN, "function library %s exists on %s with other code: left as it is (--on-conflict skip)", name, s->tlabel);
        } else {
            eventlog_add(&s->log, EV_ERROR, "function library %s exists on %s with other code: not loaded; rerun with --on-conflict replace to overwrite it",
                         name, s->tlabel);
            s->functions_failed++;
        }
    } else {
        eventlog_add(&s->log, EV_WARN, "%s refused function library %s (%.120s)%s", s->tlabel, name, r->str,
                     strstr(r->str, "unknown command") ? ": the target predates functions (Redis 7.0)" : "");
        s->functions_failed++;
    }
    freeReplyObject(r);
}

static void rs_announce(RdbSource *s) {
    char when[32] = "an unknown time";
    if (s->ctime > 0) {
        time_t t = (time_t)s->ctime;
        struct tm tm;
        if (gmtime_r(&t, &tm)) strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
    }
    char size[16];
    util_fmt_bytes(size, sizeof(size), (double)s->file_size);
    eventlog_add(&s->log, EV_INFO, "snapshot %s: %s, RDB %d, written by %s at %s", s->path, size, s->version,
                 s->writer[0] ? s->writer : "an unknown server", when);
}

static void *rs_reader_main(void *arg) {
    RdbSource *s = arg;
    char err[FERRY_ERR_LEN];
    int cur = -1;
    runctl_block_signals();

    char size[16];
    util_fmt_bytes(size, sizeof(size), (double)s->file_size);
    eventlog_add(&s->log, EV_INFO, "verifying the snapshot (%s) before writing anything", size);
    atomic_store(&s->verifying, 1);
    int v = rs_prepass(s, err, sizeof(err));
    atomic_store(&s->verifying, 0);
    if (v != 0) {
        if (!s->run.stop) rs_fail(s, err);
        goto out;
    }
    pthread_mutex_lock(&s->stats.lock);
    s->stats.total_estimate = s->file_keys; /* filtered keys count as done too */
    pthread_mutex_unlock(&s->stats.lock);

    rdb_reader_set_want(s->rdb, rs_want, s);
    RsBatch *b = NULL;
    int announced = 0;
    uint64_t db_keys = 0;
    RdbEvent ev;
    for (;;) {
        if (!runctl_wait_unpaused(&s->run)) break;
        int rc = rdb_next(s->rdb, &ev, err, sizeof(err));
        atomic_store(&s->offset, rdb_reader_offset(s->rdb));
        if (rc < 0) {
            rs_fail(s, err);
            break;
        }
        if (rc == 0) break;
        if (!announced && ev.type != RDB_EV_AUX) {
            rs_announce(s);
            announced = 1;
        }
        switch (ev.type) {
        case RDB_EV_KEY: {
            if (!ev.payload) {
                atomic_fetch_add(&s->stats.filtered, 1);
                continue;
            }
            atomic_fetch_add(&s->stats.scanned, 1);
            if (ev.db != cur) {
                pthread_mutex_lock(&s->run.lock);
                if (cur >= 0 && db_keys) s->dbs_done++;
                s->cur_src = ev.db;
                s->cur_dst = s->want_dst;
                pthread_mutex_unlock(&s->run.lock);
                cur = ev.db;
                db_keys = 0;
            }
            db_keys++;
            if (ev.expire_ms > 0 && ev.expire_ms <= util_now_ms()) {
                atomic_fetch_add(&s->stats.expired, 1); /* expired in the file: never written */
                continue;
            }
            if (b && (b->src_db != ev.db || b->dst_db != s->want_dst)) {
                rs_push(s, b);
                b = NULL;
                if (s->run.stop) goto done;
            }
            if (!b && !(b = rsb_new(ev.db, s->want_dst))) {
                rs_fail(s, "out of memory while reading the snapshot");
                goto done;
            }
            if (rsb_add(b, ev.key, ev.keylen, ev.payload, ev.payload_len, ev.expire_ms) != 0) {
                rs_fail(s, "out of memory while reading the snapshot");
                goto done;
            }
            RsItem *it = &b->it[b->n - 1];
            switch (rdbvalue_plan(ev.rdb_type, s->version, s->valkey, s->dst_info.rdb_version, s->opt.type_based)) {
            case RV_RESTORE: break;
            case RV_RESTORE_REVERSION:
                rdbvalue_set_version((unsigned char *)b->data + it->pay_off, it->pay_len, s->dst_info.rdb_version);
                break;
            case RV_COMMANDS: it->typed = 1; break;
            }
            if (b->n >= s->opt.batch || b->used >= RS_BATCH_BYTES) {
                rs_push(s, b);
                b = NULL;
                if (s->run.stop) goto done;
            }
            break;
        }
        case RDB_EV_AUX: rs_note_aux(s, &ev); break;
        case RDB_EV_FUNCTION: rs_load_function(s, &ev); break;
        case RDB_EV_MODULE_AUX:
            eventlog_add(&s->log, EV_WARN, "module %s's own data in the snapshot (not tied to a key) is not copied", ev.module);
            break;
        case RDB_EV_END:
            if (rdb_reader_trailing(s->rdb))
                eventlog_add(&s->log, EV_WARN, "%llu bytes after the snapshot's end marker were ignored (an AOF tail?)",
                             (unsigned long long)rdb_reader_trailing(s->rdb));
            break;
        default: break;
        }
    }
done:
    if (b) {
        if (!s->run.stop) rs_push(s, b);
        else rsb_free(b);
    }
    if (s->nfunctions)
        eventlog_add(&s->log, s->functions_failed ? EV_WARN : EV_INFO, "function libraries: %d in the snapshot, %d on the target%s",
                     s->nfunctions, s->functions_loaded, s->functions_failed ? " (see the messages above for the others)" : "");
    for (int i = 0; i < s->functions_failed; i++) stats_fail(&s->stats, FAIL_OTHER);
out:
    pthread_mutex_lock(&s->run.lock);
    if (!s->run.stop && !s->run.failed) {
        s->reader_finished = 1;
        if (cur >= 0) s->dbs_done++;
    }
    s->run.producer_exited = 1;
    queue_close(s->queue);
    rs_finalize_locked(s);
    pthread_mutex_unlock(&s->run.lock);
    return NULL;
}

/* ---------------------------------------------------------------- monitor */

static void rs_sample_target(RdbSource *s, Conn **cp) {
    ServerSnapshot t;
    ServerInfo si;
    pthread_mutex_lock(&s->run.lock);
    t = s->srv[1];
    pthread_mutex_unlock(&s->run.lock);
    int ok = engine_sample_server(cp, &s->opt.target, "ferry-mon-dst", &t, &si);
    if (ok) {
        uint64_t keys = 0;
        for (int d = 0; d <= si.max_db_seen && d < SERVERINFO_MAX_DB; d++) keys += si.db_keys[d];
        t.keys = keys;
    }
    pthread_mutex_lock(&s->run.lock);
    if (ok) s->srv_ok_ms = util_mono_ms();
    memcpy(t.label, s->srv[1].label, sizeof(t.label));
    s->srv[1] = t;
    pthread_mutex_unlock(&s->run.lock);
}

static void *rs_monitor_main(void *arg) {
    RdbSource *s = arg;
    runctl_block_signals();
    Conn *c = NULL;
    int64_t next = util_mono_ms() + 1000;
    int ticked_final = 0;
    while (!atomic_load(&s->closing)) {
        int64_t now = util_mono_ms();
        if (now >= next) {
            pthread_mutex_lock(&s->run.lock);
            int fin = runctl_final(s->run.state);
            pthread_mutex_unlock(&s->run.lock);
            if (!fin || !ticked_final) stats_tick(&s->stats, now);
            if (fin) ticked_final = 1;
            if (s->opt.sample_servers) rs_sample_target(s, &c);
            next += 1000;
            if (next < now) next = now + 1000;
        }
        util_sleep_ms(50);
    }
    if (!ticked_final) stats_tick(&s->stats, util_mono_ms());
    if (c) conn_close(c);
    return NULL;
}

/* ---------------------------------------------------------- create/start */

static void rs_destroy(RdbSource *s) {
    if (s->queue) {
        void *left;
        while ((left = queue_try_pop(s->queue)) != NULL) rsb_free(left);
        queue_free(s->queue);
    }
    if (s->ctl) conn_close(s->ctl);
    if (s->rdb) rdb_reader_free(s->rdb);
    if (s->report) fclose(s->report);
    free(s->db_wanted);
    free(s->db_told);
    filter_free(&s->opt.filter);
    stats_destroy(&s->stats);
    eventlog_destroy(&s->log);
    runctl_destroy(&s->run);
    pthread_mutex_destroy(&s->report_lock);
    free(s);
}

RdbSource *rdbsource_create(const char *path, const CopyOptions *o, char *err, size_t errlen) {
    RdbSource *s = calloc(1, sizeof(*s));
    if (!s) {
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    s->opt = *o;
    filter_init(&s->opt.filter);
    s->opt.filter.types = o->filter.types;
    for (int i = 0; i < o->filter.ninclude; i++) filter_add_include(&s->opt.filter, o->filter.include[i], NULL, 0);
    for (int i = 0; i < o->filter.nexclude; i++) filter_add_exclude(&s->opt.filter, o->filter.exclude[i], NULL, 0);
    if (s->opt.workers < 1) s->opt.workers = 1;
    if (s->opt.workers > ENGINE_MAX_WORKERS) s->opt.workers = ENGINE_MAX_WORKERS;
    if (s->opt.batch < 1) s->opt.batch = 256;
    s->opt.report_path = NULL;
    s->opt.resume_from = NULL;
    s->opt.on_checkpoint = NULL;
    stats_init(&s->stats);
    eventlog_init(&s->log);
    runctl_init(&s->run, &s->log, s->opt.workers, s->opt.rate);
    pthread_mutex_init(&s->report_lock, NULL);
    s->cur_src = s->cur_dst = -1;
    util_strlcpy(s->path, path, sizeof(s->path));
    uri_format_redacted(&o->target.uri, s->tlabel, sizeof(s->tlabel));
    snprintf(s->srv[0].label, sizeof(s->srv[0].label), "snapshot %s", path);
    util_strlcpy(s->srv[1].label, s->tlabel, sizeof(s->srv[1].label));
    s->srv[1].status = RATE_INIT;
    s->srv[1].age_ms = -1;

    if (!(s->db_wanted = calloc(RS_DB_BITS / 8, 1)) || !(s->db_told = calloc(RS_DB_BITS / 8, 1))) {
        util_err(err, errlen, "out of memory");
        goto fail;
    }
    if (!(s->rdb = rdb_reader_open_file(path, err, errlen))) goto fail;
    if (rdb_read_header(s->rdb, err, errlen) != 0) goto fail;
    s->version = rdb_reader_version(s->rdb);
    s->valkey = rdb_reader_is_valkey(s->rdb);
    s->file_size = rdb_reader_size(s->rdb);
    s->srv[0].rdb_version = s->version;
    util_strlcpy(s->srv[0].role, "file", sizeof(s->srv[0].role));

    ConnConfig tc = o->target;
    util_strlcpy(tc.client_name, "ferry-ctl-dst", sizeof(tc.client_name));
    if (!(s->ctl = conn_open(&tc, err, errlen))) goto fail;
    if (serverinfo_fetch(s->ctl, &s->dst_info, err, errlen) != 0) goto fail;
    if (s->dst_info.cluster_enabled) {
        util_err(err, errlen, "target %s is a Redis Cluster node: cluster mode is not supported by this version of ferry; copy into a standalone server",
                 s->tlabel);
        goto fail;
    }
    if (!serverinfo_payload_compatible(s->version, s->dst_info.rdb_version))
        eventlog_add(&s->log, EV_INFO, "snapshot %s is RDB %d, target %s (%s %s) takes payloads up to %d: values whose encoding %s %s "
                                       "knows are RESTOREd as version %d, the others rebuilt with type commands",
                     path, s->version, s->tlabel, s->dst_info.server_name, s->dst_info.version, s->dst_info.rdb_version,
                     s->dst_info.server_name, s->dst_info.version, s->dst_info.rdb_version);
    s->dst_pexpiretime = serverinfo_has_pexpiretime(&s->dst_info);
    util_strlcpy(s->srv[1].version, s->dst_info.version, sizeof(s->srv[1].version));
    util_strlcpy(s->srv[1].role, s->dst_info.role, sizeof(s->srv[1].role));
    s->srv[1].rdb_version = s->dst_info.rdb_version;

    /* The db plan, and the emptiness guard where the target dbs are known. */
    int tdb = o->target.uri.db;
    if (o->dbmap.n > 0) {
        if (tdb >= 0) {
            util_err(err, errlen, "--db-map and a /db in the target URI both say which db to use: keep one");
            goto fail;
        }
        s->plan = PLAN_MAP;
        for (int i = 0; i < o->dbmap.n; i++)
            if (rs_check_target_db(s, o->dbmap.dst[i], err, errlen) != 0) goto fail;
    } else if (tdb >= 0) {
        s->plan = PLAN_SINGLE;
        s->single_dst = tdb;
        if (rs_check_target_db(s, tdb, err, errlen) != 0) goto fail;
    } else {
        s->plan = PLAN_SAME; /* checked db by db as the file reaches them */
    }
    if (serverinfo_policy_evicts(&s->dst_info) && s->dst_info.maxmemory)
        eventlog_add(&s->log, EV_WARN, "target evicts keys under memory pressure (maxmemory-policy %s): copied keys may be dropped silently",
                     s->dst_info.maxmemory_policy);
    if (o->report_path) {
        s->report = fopen(o->report_path, "w");
        if (!s->report) {
            util_err(err, errlen, "cannot write the report file %s: %s; choose a writable --report path",
                     o->report_path, strerror(errno));
            goto fail;
        }
        fprintf(s->report, "# ferry copy report: keys not copied (outcome, reason, db, key, server's answer)\n");
        fflush(s->report);
    }
    if (!(s->queue = queue_create(RS_QUEUE_CAP))) {
        util_err(err, errlen, "out of memory");
        goto fail;
    }
    s->run.queue = s->queue;
    return s;
fail:
    rs_destroy(s);
    return NULL;
}

int rdbsource_start(RdbSource *s, char *err, size_t errlen) {
    pthread_mutex_lock(&s->run.lock);
    if (s->run.started) {
        pthread_mutex_unlock(&s->run.lock);
        return util_err(err, errlen, "the run was already started");
    }
    s->run.started = 1;
    stats_start(&s->stats, 0);
    s->run.state = s->run.paused ? ENGINE_PAUSED : ENGINE_RUNNING;
    s->run.tokens_ms = util_mono_ms();
    char map[256] = "every db to the same number";
    if (s->plan == PLAN_MAP)
        dbmap_format(&s->opt.dbmap, map, sizeof(map));
    else if (s->plan == PLAN_SINGLE)
        snprintf(map, sizeof(map), "its one db → %d", s->single_dst);
    eventlog_add(&s->log, EV_INFO, "copy from snapshot started: %s, %d workers, on-conflict %s", map,
                 s->run.workers_target, conflict_policy_name(s->opt.on_conflict));
    rs_spawn_workers_locked(s, s->run.workers_target);
    int rc = pthread_create(&s->reader_th, NULL, rs_reader_main, s);
    if (rc != 0) {
        s->run.producer_exited = 1;
        queue_close(s->queue);
    }
    pthread_create(&s->monitor_th, NULL, rs_monitor_main, s);
    pthread_mutex_unlock(&s->run.lock);
    if (rc != 0) {
        rs_fail(s, "could not start the reader thread");
        return util_err(err, errlen, "could not start the reader thread");
    }
    return 0;
}

int rdbsource_wait(RdbSource *s, int timeout_ms) { return runctl_wait(&s->run, timeout_ms); }

void rdbsource_free(RdbSource *s) {
    if (!s) return;
    if (s->run.started) {
        rdbsource_request_stop(s);
        rdbsource_wait(s, -1);
        atomic_store(&s->closing, 1);
        pthread_join(s->reader_th, NULL);
        pthread_join(s->monitor_th, NULL);
        for (int i = 0; i < ENGINE_MAX_WORKERS; i++)
            if (s->workers[i].joinable) pthread_join(s->workers[i].th, NULL);
    }
    rs_destroy(s);
}

/* ------------------------------------------------------------ control API */

void rdbsource_pause(RdbSource *s) { runctl_pause(&s->run); }
void rdbsource_resume(RdbSource *s) { runctl_resume(&s->run); }
void rdbsource_set_rate(RdbSource *s, double r) { runctl_set_rate(&s->run, r); }
void rdbsource_request_stop(RdbSource *s) { runctl_request_stop(&s->run); }
EngineState rdbsource_state(RdbSource *s) { return runctl_state(&s->run); }

static void rs_spawn_cb(void *ud, int n) { rs_spawn_workers_locked(ud, n); }

void rdbsource_set_workers(RdbSource *s, int n) { runctl_set_workers(&s->run, n, rs_spawn_cb, s); }

void rdbsource_snapshot(RdbSource *s, EngineSnapshot *out) {
    int64_t now = util_mono_ms();
    memset(out, 0, sizeof(*out));
    stats_snapshot(&s->stats, &out->stats, now);
    uint64_t off = atomic_load(&s->offset);
    double frac = s->file_size ? (double)off / (double)s->file_size : 0;
    pthread_mutex_lock(&s->run.lock);
    out->state = s->run.state;
    util_strlcpy(out->reason, s->run.reason, sizeof(out->reason));
    out->workers_target = s->run.workers_target;
    out->rate_limit = s->run.rate;
    ScannerSnapshot *sc = &out->scanner;
    sc->db_src = s->cur_src;
    sc->db_dst = s->cur_dst;
    sc->dbs_done = s->dbs_done;
    sc->dbs_total = s->dbs_total;
    int verifying = atomic_load(&s->verifying);
    sc->cursor = verifying ? atomic_load(&s->verify_done) : off;
    sc->db_progress = verifying && s->file_size ? (double)atomic_load(&s->verify_done) / (double)s->file_size : frac;
    sc->finished = s->reader_finished;
    out->source = s->srv[0];
    out->source.status = RATE_OK;
    out->source.age_ms = 0;
    out->source.keys = out->stats.scanned + out->stats.filtered;
    out->target = s->srv[1];
    out->target.age_ms = s->srv_ok_ms ? now - s->srv_ok_ms : -1;
    out->target.status = !s->srv_ok_ms ? RATE_INIT : out->target.age_ms > 3000 ? RATE_STALE : RATE_OK;
    memcpy(out->fail_samples, s->fail_samples, sizeof(out->fail_samples));
    /* After the pre-pass the key total is exact and stats_snapshot() gives
     * progress and ETA from it; before, there is nothing to show yet. */
    if (runctl_final(s->run.state)) {
        out->stats.progress = 1.0;
        out->stats.eta_ms = 0;
    } else if (verifying || !s->run.started) {
        out->stats.progress = 0;
        out->stats.eta_ms = -1;
    }
    int n = 0;
    for (int i = 0; i < ENGINE_MAX_WORKERS; i++) {
        RsWorker *w = &s->workers[i];
        if (!atomic_load(&w->running)) continue;
        WorkerSnapshot *ws = &out->workers[n++];
        ws->state = (WorkerState)atomic_load(&w->state);
        ws->keys_done = atomic_load(&w->keys_done);
        int64_t bs = atomic_load(&w->batch_start_ms);
        ws->batch_age_ms = bs ? now - bs : -1;
    }
    out->nworkers = n;
    pthread_mutex_unlock(&s->run.lock);
    out->nlog = eventlog_copy(&s->log, 0, out->log, ENGINE_SNAPSHOT_LOG);
}

void rdbsource_be_snapshot(void *ctx, EngineSnapshot *out) { rdbsource_snapshot(ctx, out); }
void rdbsource_be_pause(void *ctx) { rdbsource_pause(ctx); }
void rdbsource_be_resume(void *ctx) { rdbsource_resume(ctx); }
void rdbsource_be_set_workers(void *ctx, int n) { rdbsource_set_workers(ctx, n); }
void rdbsource_be_set_rate(void *ctx, double r) { rdbsource_set_rate(ctx, r); }
void rdbsource_be_request_stop(void *ctx) { rdbsource_request_stop(ctx); }
void rdbsource_be_log(void *ctx, EventLevel lvl, const char *text) { rdbsource_log(ctx, lvl, "%s", text); }
int rdbsource_be_wait(void *ctx, int timeout_ms) { return rdbsource_wait(ctx, timeout_ms); }

/* ------------------------------------------------------------ command line */

const char rdbsource_cli_usage[] =
    "usage: ferry copy --source-rdb FILE --target URI [options]\n"
    "\n"
    "copies the keys of an RDB snapshot file (Redis RDB up to 12, Valkey 80) into a server:\n"
    "the file's checksum is verified first, then every key is RESTOREd with its absolute expiry\n"
    "(keys already expired in the file are counted as expired, not written), and its function\n"
    "libraries are loaded. A snapshot newer than the target: values whose encoding the target's\n"
    "version knows are RESTOREd with the payload's version lowered, the others rebuilt from the\n"
    "file's bytes with type commands under a temporary name, then renamed into place\n"
    "\n"
    "target\n"
    "  --target URI                 redis://[user@]host[:port][/db], rediss://… (TLS), unix:///path[?db=N]\n"
    "                               password: FERRY_TARGET_PASSWORD or --target-password-file F\n"
    "  --tls-ca F --tls-ca-dir D --tls-cert F --tls-key F --tls-sni NAME --tls-insecure\n"
    "                               (also as --target-tls-…)\n"
    "  --connect-timeout MS (5000)  --timeout MS (30000)\n"
    "what\n"
    "  --db-map SRC:DST[,SRC:DST]   default: every db of the file to the same number\n"
    "                               (a /db on the target URI takes a file that has one db)\n"
    "  --match GLOB (repeatable)    --exclude GLOB (repeatable)   Redis glob rules\n"
    "  --type string,list,set,zset,hash,stream\n"
    "  --on-conflict fail|skip|replace   required when a target db is not empty\n"
    "how\n"
    "  --workers N (4)  --batch N (256)  --rate KEYS_PER_S (0 = no limit)\n"
    "  --type-based    rebuild every value with type commands (HSET, XADD, XCLAIM…), never RESTORE\n"
    "output\n"
    "  --report FILE   every key not copied, one per line\n"
    "  --no-tui  --json  --theme NAME|FILE  --ascii\n"
    "exit codes: 0 all copied, 1 error, 2 usage, 3 finished with skipped or failed keys\n";

int rdbsource_cli_wanted(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--source-rdb")) return 1;
    return 0;
}

int rdbsource_cli_parse(CopyCli *c, const char **path, int argc, char **argv, char *err, size_t errlen) {
    CopyOptions *o = &c->copy;
    CliServers sv;
    ConnConfig dst = o->target; /* keep copy_options_init's defaults */
    cli_servers_init(&sv, NULL, &o->target, "copy");
    o->target = dst;
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = 1;
            return 0;
        }
        if (strncmp(a, "--", 2))
            return util_err(err, errlen, "unexpected argument \"%s\": options start with -- (see ferry copy --source-rdb FILE --help)", a);
        const char *name = a + 2;
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(name, "source-rdb")) {
            if (*path) return util_err(err, errlen, "--source-rdb given twice: copy one snapshot per run");
            if (!value || !*value) return util_err(err, errlen, "--source-rdb needs the path of an RDB file");
            *path = value;
            i++;
            continue;
        }
        if (!strcmp(name, "source") || !strncmp(name, "source-", 7))
            return util_err(err, errlen, "%s describes a source server, but --source-rdb reads a file: drop one of them", a);
        if (!strcmp(name, "scan-count"))
            return util_err(err, errlen, "%s has no meaning with --source-rdb (nothing is read from a server): drop it", a);
        int r = cli_servers_option(&sv, name, value, err, errlen);
        if (r == 0) r = cli_copy_option(c, name, value, err, errlen);
        if (r < 0) return -1;
        if (r == 0) return util_err(err, errlen, "unknown option %s (see ferry copy --source-rdb FILE --help)", a);
        if (r == 2) i++;
    }
    if (!*path) return util_err(err, errlen, "missing --source-rdb FILE (the path of an RDB snapshot)");
    if (cli_servers_finish(&sv, 0, 1, err, errlen) != 0) return -1;
    if (o->dbmap.n > 0 && o->target.uri.db >= 0)
        return util_err(err, errlen, "--db-map and a /db in the --target URI both say which db to use: keep one");
    c->password_on_cmdline = sv.password_on_cmdline;
    return 0;
}
