/* copy — one batch from source to target, pipelined, exact TTLs, resilient
 * to dropped connections. See copy.h for the protocol. */
#include "copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb.h"
#include "rdbvalue.h"
#include "util.h"

/* Where each key of a batch stands in the target pipeline (w->todo[i]). */
enum { KEY_SETTLED = 0, KEY_TO_RESTORE, KEY_UNCERTAIN, KEY_SUSPECT };


#define RECONNECT_ATTEMPTS 12 /* ~45 s of capped backoff */

void copy_worker_init(CopyWorker *w) {
    memset(w, 0, sizeof(*w));
    typecopy_options_init(&w->tc_opt);
    w->fallback = 1;
}

static void copy_free_replies(CopyWorker *w, int n) {
    for (int i = 0; i < n; i++) {
        if (w->type_r[i]) freeReplyObject(w->type_r[i]);
        if (w->ttl_r[i]) freeReplyObject(w->ttl_r[i]);
        if (w->dump_r[i]) freeReplyObject(w->dump_r[i]);
        w->type_r[i] = w->ttl_r[i] = w->dump_r[i] = NULL;
    }
}

void copy_worker_free(CopyWorker *w) {
    free(w->type_r);
    free(w->ttl_r);
    free(w->dump_r);
    free(w->abs_ms);
    free(w->todo);
    free(w->order);
    free(w->busy);
    free(w->slow);
    memset(w, 0, sizeof(*w));
}

static int copy_reserve(CopyWorker *w, int n) {
    if (n <= w->cap) return 0;
    redisReply **a = realloc(w->type_r, sizeof(*a) * n);
    if (!a) return -1;
    w->type_r = a;
    redisReply **b = realloc(w->ttl_r, sizeof(*b) * n);
    if (!b) return -1;
    w->ttl_r = b;
    redisReply **c = realloc(w->dump_r, sizeof(*c) * n);
    if (!c) return -1;
    w->dump_r = c;
    long long *d = realloc(w->abs_ms, sizeof(*d) * n);
    if (!d) return -1;
    w->abs_ms = d;
    unsigned char *e = realloc(w->todo, n);
    if (!e) return -1;
    w->todo = e;
    int *f = realloc(w->order, sizeof(*f) * n);
    if (!f) return -1;
    w->order = f;
    int *g = realloc(w->busy, sizeof(*g) * n);
    if (!g) return -1;
    w->busy = g;
    int *h = realloc(w->slow, sizeof(*h) * n);
    if (!h) return -1;
    w->slow = h;
    for (int i = w->cap; i < n; i++) w->type_r[i] = w->ttl_r[i] = w->dump_r[i] = NULL;
    w->cap = n;
    return 0;
}

static void copy_state(CopyWorker *w, WorkerState s) {
    if (w->hooks.state) w->hooks.state(w->hooks.ud, s);
}

/* Reopens c after an I/O error and selects db again. */
static int copy_reconnect(CopyWorker *w, Conn *c, int db, char *err, size_t errlen) {
    char why[FERRY_ERR_LEN];
    util_strlcpy(why, conn_errstr(c), sizeof(why));
    WorkerState back = c == w->src ? WORKER_DUMPING : WORKER_RESTORING;
    copy_state(w, WORKER_BACKOFF);
    if (conn_reconnect(c, RECONNECT_ATTEMPTS, w->cancel) != 0 || conn_select(c, db) != 0) {
        if (w->cancel && *w->cancel)
            return util_err(err, errlen, "%s: stopped while reconnecting", conn_label(c));
        return util_err(err, errlen, "%s: connection lost and not regained (%s); check the server, then rerun",
                        conn_label(c), why);
    }
    atomic_fetch_add(&w->stats->retries, 1);
    copy_state(w, back);
    return 0;
}

static int copy_is_err(const redisReply *r, const char *prefix) {
    return r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, prefix, strlen(prefix));
}

/* Errors from the source that no retry will cure: the run must stop. */
static int copy_source_fatal(CopyWorker *w, const redisReply *r, const char *cmd, char *err,
                             size_t errlen) {
    if (r->type != REDIS_REPLY_ERROR) return 0;
    if (copy_is_err(r, "NOPERM") || strstr(r->str, "unknown command"))
        return util_err(err, errlen, "%s refused %s (%s): the user needs +%s (or the command is renamed); fix the ACL and rerun",
                        conn_label(w->src), cmd, r->str, cmd);
    if (copy_is_err(r, "WRONGTYPE")) return 0;
    return util_err(err, errlen, "%s: %s failed: %s", conn_label(w->src), cmd, r->str);
}

/* Phase 1: TYPE? + PEXPIRETIME/PTTL + DUMP for every key, one pipeline. */
static int copy_read_source(CopyWorker *w, const Batch *b, char *err, size_t errlen) {
    for (;;) {
        for (int i = 0; i < b->n; i++) {
            const char *k = batch_key(b, i);
            size_t kl = b->len[i];
            if (w->check_type) {
                const char *a[2] = {"TYPE", k};
                size_t l[2] = {4, kl};
                conn_append_argv(w->src, 2, a, l);
            }
            const char *a[2] = {w->use_pexpiretime ? "PEXPIRETIME" : "PTTL", k};
            size_t l[2] = {strlen(a[0]), kl};
            conn_append_argv(w->src, 2, a, l);
            a[0] = "DUMP";
            l[0] = 4;
            conn_append_argv(w->src, 2, a, l);
        }
        int ok = 1;
        for (int i = 0; i < b->n && ok; i++) {
            if (w->check_type && conn_get_reply(w->src, &w->type_r[i]) != 0) ok = 0;
            if (ok && conn_get_reply(w->src, &w->ttl_r[i]) != 0) ok = 0;
            if (ok && conn_get_reply(w->src, &w->dump_r[i]) != 0) ok = 0;
        }
        if (ok) return 0;
        copy_free_replies(w, b->n);
        if (copy_reconnect(w, w->src, b->src_db, err, errlen) != 0) return -1;
    }
}

/* A key that appeared between PEXPIRETIME (-2: absent) and DUMP: read both
 * again atomically. Rare; one round trip. */
static int copy_reread_atomic(CopyWorker *w, const Batch *b, int i, char *err, size_t errlen) {
    const char *k = batch_key(b, i);
    size_t kl = b->len[i];
    const char *a[2] = {"MULTI", NULL};
    size_t l[2] = {5, 0};
    conn_append_argv(w->src, 1, a, l);
    a[0] = w->use_pexpiretime ? "PEXPIRETIME" : "PTTL";
    a[1] = k;
    l[0] = strlen(a[0]);
    l[1] = kl;
    conn_append_argv(w->src, 2, a, l);
    a[0] = "DUMP";
    l[0] = 4;
    conn_append_argv(w->src, 2, a, l);
    a[0] = "EXEC";
    l[0] = 4;
    conn_append_argv(w->src, 1, a, l);
    redisReply *r[4] = {0};
    int rc = 0;
    for (int j = 0; j < 4; j++)
        if (conn_get_reply(w->src, &r[j]) != 0) rc = -1;
    if (rc == 0 && r[3] && r[3]->type == REDIS_REPLY_ARRAY && r[3]->elements == 2) {
        redisReply *ex = r[3];
        freeReplyObject(w->ttl_r[i]);
        freeReplyObject(w->dump_r[i]);
        w->ttl_r[i] = ex->element[0];
        w->dump_r[i] = ex->element[1];
        ex->element[0] = ex->element[1] = NULL;
        ex->elements = 0;
    } else if (rc != 0) {
        util_err(err, errlen, "%s: lost while re-reading a key: %s", conn_label(w->src),
                 conn_errstr(w->src));
    }
    for (int j = 0; j < 4; j++)
        if (r[j]) freeReplyObject(r[j]);
    return rc;
}

/* A source newer than the target (w->dst_rdb set): the DUMP payload of key
 * i is RESTOREd with its footer's version lowered to the target's when the
 * value's encoding exists there (rewritten in place, once: a lowered
 * payload plans as RESTORE), else the key goes type-based. 1 = type-based. */
static int copy_needs_commands(CopyWorker *w, int i) {
    redisReply *d = w->dump_r[i];
    int ver = 0;
    if (!d || d->type != REDIS_REPLY_STRING || rdb_payload_verify((const unsigned char *)d->str, d->len, &ver) != 0)
        return 0; /* RESTORE says what is wrong with it */
    switch (rdbvalue_plan((unsigned char)d->str[0], ver, w->src_valkey, w->dst_rdb, 0)) {
    case RV_RESTORE: return 0;
    case RV_RESTORE_REVERSION: rdbvalue_set_version((unsigned char *)d->str, d->len, w->dst_rdb); return 0;
    case RV_COMMANDS: break;
    }
    return 1;
}

static FailReason copy_classify(const char *e) {
    if (!strncmp(e, "BUSYKEY", 7)) return FAIL_BUSYKEY;
    if (strstr(e, "payload version") || strstr(e, "checksum")) return FAIL_VERSION;
    if (!strncmp(e, "OOM", 3)) return FAIL_OOM;
    if (strstr(e, "too large") || strstr(e, "bulk length") || strstr(e, "proto-max-bulk-len"))
        return FAIL_TOOLARGE;
    return FAIL_OTHER;
}

static void copy_report(CopyWorker *w, int skipped, FailReason r, const Batch *b, int i,
                        const char *detail) {
    if (w->hooks.key) w->hooks.key(w->hooks.ud, skipped, r, b->src_db, batch_key(b, i), b->len[i], detail);
}

static int copy_cmp_reply(const void *x, const void *y) {
    const redisReply *a = *(redisReply *const *)x, *b = *(redisReply *const *)y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, n);
    return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* A set's members, or a hash's fields with their values, in a canonical
 * order. NULL on error. */
static redisReply *copy_canonical(Conn *c, int hash, const char *k, size_t kl) {
    const char *a[2] = {hash ? "HGETALL" : "SMEMBERS", k};
    size_t l[2] = {hash ? 7 : 8, kl};
    redisReply *r = conn_command_argv(c, 2, a, l);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return NULL;
    }
    if (!hash) {
        qsort(r->element, r->elements, sizeof(*r->element), copy_cmp_reply);
        return r;
    }
    /* Sort field/value pairs by field: sort the pairs as 2-element units. */
    size_t n = r->elements / 2;
    redisReply **tmp = malloc(sizeof(*tmp) * (r->elements ? r->elements : 1));
    size_t *idx = malloc(sizeof(*idx) * (n ? n : 1));
    if (!tmp || !idx) {
        free(tmp);
        free(idx);
        freeReplyObject(r);
        return NULL;
    }
    redisReply **fields = tmp; /* first n slots: fields, to sort */
    for (size_t i = 0; i < n; i++) fields[i] = r->element[2 * i];
    qsort(fields, n, sizeof(*fields), copy_cmp_reply);
    /* Field names are unique: find each sorted field's value by pointer. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (r->element[2 * j] == fields[i]) {
                idx[i] = j;
                break;
            }
    redisReply **out = malloc(sizeof(*out) * (r->elements ? r->elements : 1));
    if (out) {
        for (size_t i = 0; i < n; i++) {
            out[2 * i] = r->element[2 * idx[i]];
            out[2 * i + 1] = r->element[2 * idx[i] + 1];
        }
        memcpy(r->element, out, sizeof(*out) * r->elements);
    }
    free(out);
    free(tmp);
    free(idx);
    return r;
}

/* Another server's hash table may DUMP the same set or hash in another
 * order, and a stream written with commands (an earlier type-based copy)
 * has another listpack layout and consumer times: when the payloads
 * differ, compare the contents (streams: typecopy_stream_same). Rare path
 * (only for a key already on the target whose payload differs), so plain
 * reads are fine. */
static int copy_same_contents(CopyWorker *w, const Batch *b, int i) {
    const char *a[2] = {"TYPE", batch_key(b, i)};
    size_t l[2] = {4, b->len[i]};
    redisReply *t = conn_command_argv(w->dst, 2, a, l);
    int hash = t && t->type == REDIS_REPLY_STATUS && !strcmp(t->str, "hash");
    int set = t && t->type == REDIS_REPLY_STATUS && !strcmp(t->str, "set");
    int stream = t && t->type == REDIS_REPLY_STATUS && !strcmp(t->str, "stream");
    if (t) freeReplyObject(t);
    if (stream) return typecopy_stream_same(w->src, batch_key(b, i), b->len[i], w->dst, batch_key(b, i), b->len[i]);
    if (!hash && !set) return 0;
    redisReply *x = copy_canonical(w->src, hash, batch_key(b, i), b->len[i]);
    redisReply *y = x ? copy_canonical(w->dst, hash, batch_key(b, i), b->len[i]) : NULL;
    int same = x && y && conn_reply_equal(x, y);
    if (x) freeReplyObject(x);
    if (y) freeReplyObject(y);
    return same;
}

/* For every BUSYKEY answer: is the target's key already ours, value for
 * value and to the millisecond? One pipeline of DUMP + expiry reads on the
 * target. same[j] = 1 when busy[j] holds an identical copy. */
static int copy_check_busy(CopyWorker *w, const Batch *b, int nbusy, unsigned char *same,
                           char *err, size_t errlen) {
    for (;;) {
        for (int j = 0; j < nbusy; j++) {
            int i = w->busy[j];
            const char *a[2] = {"DUMP", batch_key(b, i)};
            size_t l[2] = {4, b->len[i]};
            conn_append_argv(w->dst, 2, a, l);
            if (w->dst_pexpiretime) {
                a[0] = "PEXPIRETIME";
                l[0] = 11;
                conn_append_argv(w->dst, 2, a, l);
            }
        }
        int j = 0;
        for (; j < nbusy; j++) {
            int i = w->busy[j];
            redisReply *d = NULL, *t = NULL;
            if (conn_get_reply(w->dst, &d) != 0) break;
            if (w->dst_pexpiretime && conn_get_reply(w->dst, &t) != 0) {
                freeReplyObject(d);
                break;
            }
            const redisReply *mine = w->dump_r[i];
            same[j] = d->type == REDIS_REPLY_STRING && d->len == mine->len &&
                      memcmp(d->str, mine->str, d->len) == 0;
            if (!same[j] && d->type == REDIS_REPLY_STRING) same[j] = 2; /* compare contents below */
            if (same[j] && t) {
                long long theirs = t->type == REDIS_REPLY_INTEGER ? t->integer : -3;
                long long want = w->abs_ms[i] ? w->abs_ms[i] : -1;
                if (theirs != want) same[j] = 0;
            }
            freeReplyObject(d);
            if (t) freeReplyObject(t);
        }
        if (j == nbusy) break;
        if (copy_reconnect(w, w->dst, b->dst_db, err, errlen) != 0) return -1;
    }
    /* Payloads differ but expiries match: the same set or hash may still
     * be there, laid out by another hash table. The source connection has
     * no replies pending at this point. */
    for (int j = 0; j < nbusy; j++)
        if (same[j] == 2) same[j] = (unsigned char)copy_same_contents(w, b, w->busy[j]);
    return 0;
}

/* Key i is on the target already and was not RESTOREd (it goes
 * type-based: its payload's encoding is newer than the target's): is it
 * ours, as copy_check_busy() asks for a BUSYKEY? The same absolute expiry
 * (abs, 0 = none, TYPECOPY_EXPIRE_READ = the source's now; checked when
 * the target has PEXPIRETIME) and the same
 * set, hash or stream contents (copy_same_contents; other types: 0). No
 * replies may be pending on either connection. */
/* PEXPIRETIME of key i on c: the absolute ms, -1 none, -2 no such key,
 * -3 no answer. */
static long long copy_expiretime(Conn *c, const Batch *b, int i) {
    const char *a[2] = {"PEXPIRETIME", batch_key(b, i)};
    size_t l[2] = {11, b->len[i]};
    redisReply *t = conn_command_argv(c, 2, a, l);
    long long ms = t && t->type == REDIS_REPLY_INTEGER ? t->integer : -3;
    if (t) freeReplyObject(t);
    return ms;
}

static int copy_typed_identical(CopyWorker *w, const Batch *b, int i, long long abs) {
    if (abs == TYPECOPY_EXPIRE_READ) { /* --type-based: the source's expiry, now */
        if (!w->use_pexpiretime) return 0;
        long long ms = copy_expiretime(w->src, b, i);
        if (ms == -2 || ms == -3) return 0; /* gone from the source meanwhile, or no answer */
        abs = ms < 0 ? 0 : ms;
    }
    if (w->dst_pexpiretime && copy_expiretime(w->dst, b, i) != (abs ? abs : -1)) return 0;
    return copy_same_contents(w, b, i);
}

/* Copies key i with type commands (abs: its absolute expiry, 0 none, or
 * TYPECOPY_EXPIRE_READ). No replies may be pending on either connection.
 * Returns 0, or -1 when the run must stop. */
static int copy_one_typed(CopyWorker *w, const Batch *b, int i, long long abs, int *handled,
                          char *err, size_t errlen) {
    char terr[FERRY_ERR_LEN];
    for (int attempt = 0;; attempt++) {
        uint64_t before = w->tc_stats.bytes;
        int rc = typecopy_key(w->src, w->dst, batch_key(b, i), b->len[i], abs,
                              w->policy == CONFLICT_REPLACE, &w->tc_opt, &w->tc_stats, terr, sizeof(terr));
        if (rc == TYPECOPY_ERROR && attempt == 0 && (conn_broken(w->src) || conn_broken(w->dst))) {
            /* Each attempt writes to a new temporary name: retrying is safe. */
            if (conn_broken(w->src) && copy_reconnect(w, w->src, b->src_db, err, errlen) != 0) return -1;
            if (conn_broken(w->dst) && copy_reconnect(w, w->dst, b->dst_db, err, errlen) != 0) return -1;
            continue;
        }
        (*handled)++;
        switch (rc) {
        case TYPECOPY_COPIED:
            atomic_fetch_add(&w->stats->copied, 1);
            atomic_fetch_add(&w->stats->bytes, w->tc_stats.bytes - before);
            return 0;
        case TYPECOPY_GONE:
            atomic_fetch_add(&w->stats->expired, 1);
            return 0;
        case TYPECOPY_EXISTS:
            /* A rerun meets its own keys: identical, as on the RESTORE path. */
            if (copy_typed_identical(w, b, i, abs)) {
                atomic_fetch_add(&w->stats->identical, 1);
                return 0;
            }
            if (w->policy == CONFLICT_SKIP) {
                atomic_fetch_add(&w->stats->skipped, 1);
                copy_report(w, 1, FAIL_BUSYKEY, b, i, "target key exists (type-based copy)");
            } else {
                stats_fail(w->stats, FAIL_BUSYKEY);
                copy_report(w, 0, FAIL_BUSYKEY, b, i, "target key exists (type-based copy)");
            }
            return 0;
        default:
            if (!strncmp(terr, "OOM", 3) || strstr(terr, "out of memory")) {
                stats_fail(w->stats, FAIL_OOM);
                copy_report(w, 0, FAIL_OOM, b, i, terr);
                return util_err(err, errlen, "%s is out of memory (%s): free memory or raise maxmemory on the target, then rerun with --on-conflict skip to keep what was copied",
                                conn_label(w->dst), terr);
            }
            stats_fail(w->stats, FAIL_OTHER);
            copy_report(w, 0, FAIL_OTHER, b, i, terr);
            return 0;
        }
    }
}

/* Phase 2: RESTORE every key marked KEY_TO_RESTORE or KEY_UNCERTAIN. */
static int copy_write_target(CopyWorker *w, const Batch *b, int *handled, char *err,
                             size_t errlen) {
    char ttlbuf[32];
    /* careful: after a dropped connection the rest of the batch goes one
     * RESTORE at a time, so that a key whose RESTORE itself makes the
     * target hang up (a payload over its proto-max-bulk-len: the error
     * reply can be lost with the connection) is found exactly and copied
     * type-based instead of being resent forever. */
    int fatal = 0, nbusy = 0, nslow = 0, breaks = 0, careful = 0, nsuspect = 0;
    for (;;) {
        int64_t now = util_now_ms();
        int nsent = 0;
        for (int i = 0; i < b->n && !(careful && nsent == 1); i++) {
            if (w->todo[i] == KEY_SETTLED || w->todo[i] == KEY_SUSPECT) continue;
            if (w->abs_ms[i] > 0 && w->abs_ms[i] <= now) {
                /* Expired before it could be restored: RESTORE would say OK
                 * and create nothing. Count it honestly instead. */
                w->todo[i] = KEY_SETTLED;
                atomic_fetch_add(&w->stats->expired, 1);
                (*handled)++;
                continue;
            }
            if (w->dst_rdb && copy_needs_commands(w, i)) {
                w->todo[i] = KEY_SETTLED;
                w->slow[nslow++] = i; /* type-based, once the pipeline is drained */
                continue;
            }
            snprintf(ttlbuf, sizeof(ttlbuf), "%lld", w->abs_ms[i]);
            const char *a[6] = {"RESTORE", batch_key(b, i), ttlbuf, w->dump_r[i]->str, "ABSTTL", "REPLACE"};
            size_t l[6] = {7, b->len[i], strlen(ttlbuf), w->dump_r[i]->len, 6, 7};
            conn_append_argv(w->dst, w->policy == CONFLICT_REPLACE ? 6 : 5, a, l);
            w->order[nsent++] = i;
        }
        int k = 0;
        for (; k < nsent; k++) {
            int i = w->order[k];
            redisReply *r;
            if (conn_get_reply(w->dst, &r) != 0) break;
            w->todo[i] = KEY_SETTLED;
            if (r->type != REDIS_REPLY_ERROR) {
                (*handled)++;
                atomic_fetch_add(&w->stats->copied, 1);
                atomic_fetch_add(&w->stats->bytes, w->dump_r[i]->len);
                freeReplyObject(r);
                continue;
            }
            FailReason why = copy_classify(r->str);
            if (w->fallback && (why == FAIL_VERSION || why == FAIL_TOOLARGE)) {
                w->slow[nslow++] = i; /* type-based, once the pipeline is drained */
                freeReplyObject(r);
                continue;
            }
            if (why == FAIL_BUSYKEY) {
                w->busy[nbusy++] = i; /* decided below, with one more pipeline */
                freeReplyObject(r);
                continue;
            }
            (*handled)++;
            if (copy_is_err(r, "NOPERM") || strstr(r->str, "unknown command")) {
                if (!fatal)
                    util_err(err, errlen, "%s refused RESTORE (%s): the user needs +restore (or the command is renamed); fix the ACL and rerun",
                             conn_label(w->dst), r->str);
                fatal = 1;
                why = FAIL_OTHER;
            } else if (why == FAIL_OOM && !fatal) {
                util_err(err, errlen, "%s is out of memory (%s): free memory or raise maxmemory on the target, then rerun with --on-conflict skip to keep what was copied",
                         conn_label(w->dst), r->str);
                fatal = 1;
            }
            stats_fail(w->stats, why);
            copy_report(w, 0, why, b, i, r->str);
            freeReplyObject(r);
        }
        if (k == nsent) {
            if (!careful || nsent == 0) break;
            continue; /* one at a time until the batch is through */
        }
        /* The connection broke at reply k: everything from k on may or may
         * not have been applied. Reconnect and resend those; a BUSYKEY for
         * one of them is then settled by the identical check. */
        for (int j = k; j < nsent; j++) w->todo[w->order[j]] = KEY_UNCERTAIN;
        if (careful && w->fallback) {
            /* Alone on the wire and still dropped: this key's RESTORE is
             * probably what the target refuses. Unless the target holds it
             * already (the drop came after it was applied), it goes the
             * type-based way; decided with the BUSYKEY keys below. */
            int i = w->order[k];
            w->todo[i] = KEY_SUSPECT;
            w->busy[nbusy++] = i;
            nsuspect++;
        }
        careful = 1;
        if (++breaks > 5 + nsuspect)
            return util_err(err, errlen, "%s dropped the connection %d times during one batch (last: %s); check its log and limits (client-output-buffer-limit, proto-max-bulk-len, timeout)",
                            conn_label(w->dst), breaks, conn_errstr(w->dst));
        if (copy_reconnect(w, w->dst, b->dst_db, err, errlen) != 0) return -1;
    }
    if (nbusy) {
        unsigned char *same = calloc(nbusy, 1);
        if (!same) return util_err(err, errlen, "out of memory checking %d existing keys", nbusy);
        if (copy_check_busy(w, b, nbusy, same, err, errlen) != 0) {
            free(same);
            return -1;
        }
        for (int j = 0; j < nbusy; j++) {
            int i = w->busy[j];
            if (!same[j] && w->todo[i] == KEY_SUSPECT) {
                w->slow[nslow++] = i; /* counted by copy_one_typed */
                continue;
            }
            (*handled)++;
            if (same[j]) {
                atomic_fetch_add(&w->stats->identical, 1);
            } else if (w->policy == CONFLICT_SKIP) {
                atomic_fetch_add(&w->stats->skipped, 1);
                copy_report(w, 1, FAIL_BUSYKEY, b, i, "target key exists with a different value or expiry");
            } else {
                stats_fail(w->stats, FAIL_BUSYKEY);
                copy_report(w, 0, FAIL_BUSYKEY, b, i, "target key exists with a different value or expiry");
            }
        }
        free(same);
    }
    for (int j = 0; j < nslow && !fatal; j++)
        if (copy_one_typed(w, b, w->slow[j], w->abs_ms[w->slow[j]], handled, err, errlen) != 0) fatal = 1;
    return fatal ? -1 : 0;
}

/* --type-based: no DUMP at all. TYPE first when filtering by type. */
static int copy_batch_typed(CopyWorker *w, const Batch *b, int *handled, char *err, size_t errlen) {
    copy_state(w, WORKER_DUMPING);
    if (w->check_type) {
        for (;;) {
            for (int i = 0; i < b->n; i++) {
                const char *a[2] = {"TYPE", batch_key(b, i)};
                size_t l[2] = {4, b->len[i]};
                conn_append_argv(w->src, 2, a, l);
            }
            int ok = 1;
            for (int i = 0; i < b->n && ok; i++)
                if (conn_get_reply(w->src, &w->type_r[i]) != 0) ok = 0;
            if (ok) break;
            copy_free_replies(w, b->n);
            if (copy_reconnect(w, w->src, b->src_db, err, errlen) != 0) return -1;
        }
    }
    int rc = 0;
    copy_state(w, WORKER_RESTORING);
    for (int i = 0; i < b->n && rc == 0; i++) {
        if (w->check_type) {
            redisReply *ty = w->type_r[i];
            if (ty->type == REDIS_REPLY_STATUS && !strcmp(ty->str, "none")) {
                atomic_fetch_add(&w->stats->expired, 1);
                (*handled)++;
                continue;
            }
            if (ty->type == REDIS_REPLY_STATUS && !filter_type(w->filter, filter_type_from_name(ty->str))) {
                atomic_fetch_add(&w->stats->filtered, 1);
                atomic_fetch_sub(&w->stats->scanned, 1);
                (*handled)++;
                continue;
            }
        }
        rc = copy_one_typed(w, b, i, TYPECOPY_EXPIRE_READ, handled, err, errlen);
    }
    copy_free_replies(w, b->n);
    copy_state(w, WORKER_IDLE);
    return rc;
}

int copy_batch(CopyWorker *w, const Batch *b, int *handled, char *err, size_t errlen) {
    *handled = 0;
    if (copy_reserve(w, b->n) != 0) return util_err(err, errlen, "out of memory for a batch of %d keys", b->n);
    if (conn_db(w->src) != b->src_db && conn_select(w->src, b->src_db) != 0)
        return util_err(err, errlen, "%s: SELECT %d failed: %s", conn_label(w->src), b->src_db, conn_errstr(w->src));
    if (conn_db(w->dst) != b->dst_db && conn_select(w->dst, b->dst_db) != 0)
        return util_err(err, errlen, "%s: SELECT %d failed: %s", conn_label(w->dst), b->dst_db, conn_errstr(w->dst));

    if (w->type_based) return copy_batch_typed(w, b, handled, err, errlen);
    copy_state(w, WORKER_DUMPING);
    if (copy_read_source(w, b, err, errlen) != 0) return -1;

    int rc = 0;
    int64_t now = util_now_ms();
    for (int i = 0; i < b->n; i++) {
        w->todo[i] = KEY_SETTLED;
        redisReply *d = w->dump_r[i], *t = w->ttl_r[i];
        if (w->check_type) {
            redisReply *ty = w->type_r[i];
            if (ty->type == REDIS_REPLY_ERROR && copy_source_fatal(w, ty, "TYPE", err, errlen)) {
                rc = -1;
                break;
            }
            if (ty->type == REDIS_REPLY_STATUS && !strcmp(ty->str, "none")) {
                atomic_fetch_add(&w->stats->expired, 1);
                (*handled)++;
                continue;
            }
            if (ty->type == REDIS_REPLY_STATUS && !filter_type(w->filter, filter_type_from_name(ty->str))) {
                atomic_fetch_add(&w->stats->filtered, 1);
                atomic_fetch_sub(&w->stats->scanned, 1);
                (*handled)++;
                continue;
            }
        }
        if (d->type == REDIS_REPLY_ERROR || t->type == REDIS_REPLY_ERROR) {
            redisReply *e = d->type == REDIS_REPLY_ERROR ? d : t;
            if (copy_source_fatal(w, e, e == d ? "DUMP" : (w->use_pexpiretime ? "PEXPIRETIME" : "PTTL"), err, errlen)) {
                rc = -1;
                break;
            }
        }
        if (t->type == REDIS_REPLY_INTEGER && t->integer == -2 && d->type == REDIS_REPLY_STRING) {
            if (copy_reread_atomic(w, b, i, err, errlen) != 0) {
                rc = -1;
                break;
            }
            d = w->dump_r[i];
            t = w->ttl_r[i];
        }
        if (!d || d->type == REDIS_REPLY_NIL || !t || t->type != REDIS_REPLY_INTEGER || t->integer == -2) {
            /* Gone between SCAN and DUMP: expired or deleted. */
            atomic_fetch_add(&w->stats->expired, 1);
            (*handled)++;
            continue;
        }
        if (d->type != REDIS_REPLY_STRING) {
            stats_fail(w->stats, FAIL_OTHER);
            copy_report(w, 0, FAIL_OTHER, b, i, "DUMP returned an unexpected reply");
            (*handled)++;
            continue;
        }
        long long ttl = t->integer;
        if (ttl == -1)
            w->abs_ms[i] = 0;
        else if (w->use_pexpiretime)
            w->abs_ms[i] = ttl;
        else
            w->abs_ms[i] = now + ttl; /* PTTL: as exact as the clocks allow */
        if (w->abs_ms[i] == 0 && ttl != -1) w->abs_ms[i] = 1; /* already past */
        w->todo[i] = KEY_TO_RESTORE;
    }

    if (rc == 0) {
        copy_state(w, WORKER_RESTORING);
        rc = copy_write_target(w, b, handled, err, errlen);
    }
    copy_free_replies(w, b->n);
    copy_state(w, WORKER_IDLE);
    return rc;
}
