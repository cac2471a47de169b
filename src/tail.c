/* tail — keeps copied streams and their consumer groups in step with the
 * source until cutover, and surveys the source's leftovers (drain). See
 * tail.h for what one round does and why it is safe to repeat. */
#include "tail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "typecopy.h"
#include "util.h"

/* What the source's XINFO STREAM says, for XSETID. */
typedef struct SrcStream {
    long long added;        /* entries-added; -1 = not reported (before 7.0) */
    char maxdel[48];        /* max-deleted-entry-id; "" = not reported */
} SrcStream;

typedef struct TailStream {
    char *key;
    size_t klen;
    int src_db, dst_db;
    StreamId last;          /* last ID the target holds */
    int have_last;          /* last read from the target */
    long long lag_entries, lag_ms, tailed, group_updates;
    long long lost_pending; /* pending entries the last round could not reproduce */
    int in_sync;
} TailStream;

struct Tail {
    Conn *src, *dst;
    TailOptions o;
    TailStream *s;
    int n, cap;
    uint64_t src_cmds;
    int64_t window_start;   /* budget: start of the current second */
    long window_cmds;
    long changes;           /* target writes in the current round */
    char kbuf[200];         /* printable key of the stream being worked on */
};

void tail_options_init(TailOptions *o) {
    memset(o, 0, sizeof(*o));
    o->batch = 500;
    o->budget = 2000;
}

Tail *tail_new(Conn *src, Conn *dst, const TailOptions *opt) {
    Tail *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->src = src;
    t->dst = dst;
    if (opt) t->o = *opt;
    else tail_options_init(&t->o);
    if (t->o.batch <= 0) t->o.batch = 500;
    return t;
}

void tail_free(Tail *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) free(t->s[i].key);
    free(t->s);
    free(t);
}

static void printable(const char *s, size_t len, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (o + 8 >= cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
    }
    out[o] = '\0';
}

int tail_add(Tail *t, int src_db, int dst_db, const char *key, size_t klen, char *err, size_t errlen) {
    for (int i = 0; i < t->n; i++)
        if (t->s[i].src_db == src_db && t->s[i].klen == klen && !memcmp(t->s[i].key, key, klen)) return 0;
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        TailStream *s = realloc(t->s, (size_t)cap * sizeof(*s));
        if (!s) return util_err(err, errlen, "out of memory adding a stream to tail");
        t->s = s;
        t->cap = cap;
    }
    TailStream *s = &t->s[t->n];
    memset(s, 0, sizeof(*s));
    if (!(s->key = malloc(klen + 1))) return util_err(err, errlen, "out of memory adding a stream to tail");
    memcpy(s->key, key, klen);
    s->key[klen] = '\0';
    s->klen = klen;
    s->src_db = src_db;
    s->dst_db = dst_db;
    t->n++;
    return 1;
}

int tail_count(const Tail *t) { return t->n; }

void tail_view(const Tail *t, int i, TailStreamView *v) {
    const TailStream *s = &t->s[i];
    memset(v, 0, sizeof(*v));
    printable(s->key, s->klen, v->key, sizeof(v->key));
    v->src_db = s->src_db;
    v->dst_db = s->dst_db;
    v->lag_entries = s->lag_entries;
    v->lag_ms = s->lag_ms;
    v->tailed = s->tailed;
    v->group_updates = s->group_updates;
    v->lost_pending = s->lost_pending;
    v->in_sync = s->in_sync;
}

void tail_totals(const Tail *t, long long *lag, long long *max_ms, long long *tailed, long long *updates) {
    long long a = 0, b = 0, c = 0, d = 0;
    for (int i = 0; i < t->n; i++) {
        a += t->s[i].lag_entries;
        if (t->s[i].lag_ms > b) b = t->s[i].lag_ms;
        c += t->s[i].tailed;
        d += t->s[i].group_updates;
    }
    if (lag) *lag = a;
    if (max_ms) *max_ms = b;
    if (tailed) *tailed = c;
    if (updates) *updates = d;
}

uint64_t tail_src_commands(const Tail *t) { return t->src_cmds; }

/* ------------------------------------------------------------ plumbing */

/* Waits until n more source commands fit in the budget. -2 when stopped. */
static int tail_budget(Tail *t, int n) {
    t->src_cmds += (uint64_t)n;
    if (t->o.budget <= 0) return 0;
    for (;;) {
        if (t->o.stopping && t->o.stopping(t->o.ud)) return -2;
        int64_t now = util_mono_ms();
        if (now - t->window_start >= 1000) {
            t->window_start = now;
            t->window_cmds = 0;
        }
        if (t->window_cmds + n <= t->o.budget || t->window_cmds == 0) {
            t->window_cmds += n;
            return 0;
        }
        int64_t left = 1000 - (now - t->window_start);
        util_sleep_ms(left < 50 ? left : 50);
    }
}

static redisReply *src_cmd(Tail *t, int argc, const char **argv, const size_t *lens, int *rc) {
    if ((*rc = tail_budget(t, 1)) != 0) return NULL;
    return conn_command_argv(t->src, argc, argv, lens);
}

static int io_fail(Tail *t, Conn *c, const char *what, char *err, size_t errlen) {
    return util_err(err, errlen, "%s: %s of stream %s failed: %s; check the server, then run the step again (the tail continues where the target is)",
                    conn_label(c), what, t->kbuf, conn_errstr(c));
}

static int reply_fail(Tail *t, Conn *c, const char *what, const redisReply *r, char *err, size_t errlen) {
    return util_err(err, errlen, "%s refused %s for stream %s: %.*s; fix that, then run the step again (the tail continues where the target is)",
                    conn_label(c), what, t->kbuf, r && r->type == REDIS_REPLY_ERROR ? (int)r->len : 16,
                    r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

static const redisReply *map_get(const redisReply *m, const char *name) {
    if (!m || m->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < m->elements; i += 2) {
        const redisReply *k = m->element[i];
        if (k->type == REDIS_REPLY_STRING && k->len == strlen(name) && !memcmp(k->str, name, k->len))
            return m->element[i + 1];
    }
    return NULL;
}

static int id_of(const redisReply *r, StreamId *id) {
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return -1;
    return typecopy_id_parse(r->str, r->len, id);
}

static long long int_of(const redisReply *r, long long dflt) {
    if (!r) return dflt;
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) return strtoll(r->str, NULL, 10);
    return dflt;
}

static void id_fmt(StreamId id, char *buf, size_t len) { snprintf(buf, len, "%llu-%llu", id.ms, id.seq); }

static int is_nokey(const redisReply *r) {
    return r && r->type == REDIS_REPLY_ERROR && (strstr(r->str, "no such key") || strstr(r->str, "No such key"));
}

/* Sends a command to the target now (one round trip); counts it as a change.
 * 0, or -1 with a message. An error reply is a failure unless it contains ok_err. */
static int dst_do(Tail *t, TailStream *s, const char *what, const char *ok_err, int argc, const char **argv,
                  const size_t *lens, char *err, size_t errlen) {
    redisReply *r = conn_command_argv(t->dst, argc, argv, lens);
    if (!r) return io_fail(t, t->dst, what, err, errlen);
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR && !(ok_err && strstr(r->str, ok_err)))
        rc = reply_fail(t, t->dst, what, r, err, errlen);
    freeReplyObject(r);
    t->changes++;
    s->group_updates++;
    return rc;
}

/* ------------------------------------------------------------- entries */

/* Reads the target's last-generated-id (0-0 when the key is not there). */
static int read_target_last(Tail *t, TailStream *s, long long *entries_added, char *err, size_t errlen) {
    const char *argv[] = {"XINFO", "STREAM", s->key};
    size_t lens[] = {5, 6, s->klen};
    redisReply *r = conn_command_argv(t->dst, 3, argv, lens);
    if (!r) return io_fail(t, t->dst, "XINFO STREAM", err, errlen);
    *entries_added = 0;
    if (is_nokey(r)) {
        s->last.ms = s->last.seq = 0;
    } else if (r->type != REDIS_REPLY_ARRAY || id_of(map_get(r, "last-generated-id"), &s->last) != 0) {
        int rc = reply_fail(t, t->dst, "XINFO STREAM", r, err, errlen);
        freeReplyObject(r);
        return rc;
    } else {
        *entries_added = int_of(map_get(r, "entries-added"), int_of(map_get(r, "length"), 0));
    }
    freeReplyObject(r);
    s->have_last = 1;
    return 0;
}

/* The source's newest entries were deleted (XDEL, XTRIM) before they could
 * be copied: move the target's last-generated-id (and entries-added,
 * max-deleted-entry-id) to the source's, as XINFO STREAM shows them there. */
static int tail_setid(Tail *t, TailStream *s, StreamId src_last, const SrcStream *ss, char *err, size_t errlen) {
    char id[64], added[24];
    id_fmt(src_last, id, sizeof(id));
    snprintf(added, sizeof(added), "%lld", ss->added);
    const char *argv[] = {"XSETID", s->key, id, "ENTRIESADDED", added, "MAXDELETEDID", ss->maxdel};
    size_t lens[] = {6, s->klen, strlen(id), 12, strlen(added), 12, strlen(ss->maxdel)};
    int argc = ss->added >= 0 && ss->maxdel[0] ? 7 : 3;
    redisReply *r = conn_command_argv(t->dst, argc, argv, lens);
    if (!r) return io_fail(t, t->dst, "XSETID", err, errlen);
    int rc = 0;
    if (is_nokey(r)) {
        /* No stream on the target yet (every entry deleted): a group's
         * XGROUP CREATE … MKSTREAM makes it; the next round sets its id. */
    } else if (r->type == REDIS_REPLY_ERROR) {
        rc = reply_fail(t, t->dst, "XSETID", r, err, errlen);
    } else {
        s->last = src_last;
        t->changes++;
    }
    freeReplyObject(r);
    return rc;
}

/* Appends source entries after s->last up to src_last. Returns 0, -1, -2. */
static int tail_entries(Tail *t, TailStream *s, StreamId src_last, const SrcStream *ss, char *err, size_t errlen) {
    char from[64], count[24];
    snprintf(count, sizeof(count), "%d", t->o.batch);
    for (int b = 0; b < TAIL_MAX_BATCHES && typecopy_id_cmp(s->last, src_last) < 0; b++) {
        from[0] = '(';
        id_fmt(s->last, from + 1, sizeof(from) - 1);
        const char *argv[] = {"XRANGE", s->key, from, "+", "COUNT", count};
        size_t lens[] = {6, s->klen, strlen(from), 1, 5, strlen(count)};
        int rc;
        redisReply *r = src_cmd(t, 6, argv, lens, &rc);
        if (rc) return rc;
        if (!r) return io_fail(t, t->src, "XRANGE", err, errlen);
        if (r->type != REDIS_REPLY_ARRAY) {
            rc = reply_fail(t, t->src, "XRANGE", r, err, errlen);
            freeReplyObject(r);
            return rc;
        }
        size_t n = r->elements;
        for (size_t i = 0; i < n; i++) {
            const redisReply *e = r->element[i];
            const redisReply *f = e->type == REDIS_REPLY_ARRAY && e->elements == 2 ? e->element[1] : NULL;
            if (!f || f->type != REDIS_REPLY_ARRAY || e->element[0]->type != REDIS_REPLY_STRING) continue;
            int argc = 3 + (int)f->elements;
            const char **av = malloc((size_t)argc * sizeof(*av));
            size_t *al = malloc((size_t)argc * sizeof(*al));
            if (!av || !al) {
                free(av);
                free(al);
                freeReplyObject(r);
                return util_err(err, errlen, "out of memory tailing stream %s", t->kbuf);
            }
            av[0] = "XADD", al[0] = 4;
            av[1] = s->key, al[1] = s->klen;
            av[2] = e->element[0]->str, al[2] = e->element[0]->len;
            for (size_t k = 0; k < f->elements; k++) av[3 + k] = f->element[k]->str, al[3 + k] = f->element[k]->len;
            int ok = conn_append_argv(t->dst, argc, av, al);
            free(av);
            free(al);
            if (ok != 0) {
                freeReplyObject(r);
                return io_fail(t, t->dst, "XADD", err, errlen);
            }
        }
        int failed = 0;
        for (size_t i = 0; i < n; i++) {
            redisReply *x;
            if (conn_get_reply(t->dst, &x) != 0) {
                freeReplyObject(r);
                return io_fail(t, t->dst, "XADD", err, errlen);
            }
            /* "equal or smaller than the target stream top item": already there. */
            if (x->type == REDIS_REPLY_ERROR && !strstr(x->str, "equal or smaller") && !failed)
                failed = reply_fail(t, t->dst, "XADD", x, err, errlen);
            freeReplyObject(x);
        }
        if (n) {
            StreamId id;
            const redisReply *e = r->element[n - 1];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 && id_of(e->element[0], &id) == 0) s->last = id;
            s->tailed += (long long)n;
            t->changes += (long)n;
        }
        freeReplyObject(r);
        if (failed) return failed;
        if (n == 0) return tail_setid(t, s, src_last, ss, err, errlen);
        if (n < (size_t)t->o.batch) break;
    }
    return 0;
}

/* ------------------------------------------------------------- groups */

typedef struct Pel {
    StreamId id;
    char *consumer;   /* points into a reply */
    size_t clen;
    long long idle, count;
} Pel;

typedef struct PelList {
    Pel *v;
    size_t n, cap;
    redisReply **pages;
    size_t npages;
} PelList;

static void pel_free(PelList *p) {
    for (size_t i = 0; i < p->npages; i++) freeReplyObject(p->pages[i]);
    free(p->pages);
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* The whole pending list of a group, in ID order. side: 0 source, 1 target. */
static int pel_fetch(Tail *t, TailStream *s, int side, const char *group, size_t glen, PelList *p,
                     char *err, size_t errlen) {
    Conn *c = side ? t->dst : t->src;
    char from[64] = "-", count[24];
    snprintf(count, sizeof(count), "%d", t->o.batch);
    for (;;) {
        const char *argv[] = {"XPENDING", s->key, group, from, "+", count};
        size_t lens[] = {8, s->klen, glen, strlen(from), 1, strlen(count)};
        int rc = 0;
        redisReply *r = side ? conn_command_argv(c, 6, argv, lens) : src_cmd(t, 6, argv, lens, &rc);
        if (rc) return rc;
        if (!r) return io_fail(t, c, "XPENDING", err, errlen);
        if (r->type != REDIS_REPLY_ARRAY) {
            rc = reply_fail(t, c, "XPENDING", r, err, errlen);
            freeReplyObject(r);
            return rc;
        }
        redisReply **pg = realloc(p->pages, (p->npages + 1) * sizeof(*pg));
        if (!pg) {
            freeReplyObject(r);
            return util_err(err, errlen, "out of memory reading the pending list of %s", t->kbuf);
        }
        p->pages = pg;
        p->pages[p->npages++] = r;
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 4) continue;
            if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 64;
                Pel *v = realloc(p->v, cap * sizeof(*v));
                if (!v) return util_err(err, errlen, "out of memory reading the pending list of %s", t->kbuf);
                p->v = v;
                p->cap = cap;
            }
            Pel *x = &p->v[p->n];
            if (id_of(e->element[0], &x->id) != 0) continue;
            x->consumer = e->element[1]->str;
            x->clen = e->element[1]->len;
            x->idle = int_of(e->element[2], 0);
            x->count = int_of(e->element[3], 0);
            p->n++;
        }
        if (r->elements < (size_t)t->o.batch || p->n == 0) break;
        StreamId last = p->v[p->n - 1].id;
        from[0] = '(';
        id_fmt(last, from + 1, sizeof(from) - 1);
    }
    return 0;
}

/* Brings one group's pending list on the target to the source's. Sets
 * *deferred when an entry is past what the target holds. */
static int sync_pel(Tail *t, TailStream *s, const char *g, size_t glen, int *deferred, char *err, size_t errlen) {
    PelList a = {0}, b = {0};
    int rc = pel_fetch(t, s, 0, g, glen, &a, err, errlen);
    if (!rc) rc = pel_fetch(t, s, 1, g, glen, &b, err, errlen);
    size_t i = 0, j = 0;
    int64_t now = util_now_ms();
    while (!rc && (i < a.n || j < b.n)) {
        int cmp = i >= a.n ? 1 : j >= b.n ? -1 : typecopy_id_cmp(a.v[i].id, b.v[j].id);
        char id[64];
        if (cmp > 0) { /* pending on the target only: acknowledged on the source */
            id_fmt(b.v[j].id, id, sizeof(id));
            const char *argv[] = {"XACK", s->key, g, id};
            size_t lens[] = {4, s->klen, glen, strlen(id)};
            rc = dst_do(t, s, "XACK", NULL, 4, argv, lens, err, errlen);
            j++;
            continue;
        }
        const Pel *x = &a.v[i];
        int same = cmp == 0 && x->clen == b.v[j].clen && !memcmp(x->consumer, b.v[j].consumer, x->clen) &&
                   x->count == b.v[j].count;
        i++;
        if (cmp == 0) j++;
        if (same) continue;
        if (typecopy_id_cmp(x->id, s->last) > 0) { /* the entry is not on the target yet */
            *deferred = 1;
            continue;
        }
        id_fmt(x->id, id, sizeof(id));
        char tm[24], cnt[24];
        snprintf(tm, sizeof(tm), "%lld", (long long)(now - x->idle));
        snprintf(cnt, sizeof(cnt), "%lld", x->count);
        const char *argv[] = {"XCLAIM", s->key, g, x->consumer, "0", id, "TIME", tm, "RETRYCOUNT", cnt, "FORCE", "JUSTID"};
        size_t lens[] = {6, s->klen, glen, x->clen, 1, strlen(id), 4, strlen(tm), 10, strlen(cnt), 5, 6};
        redisReply *r = conn_command_argv(t->dst, 12, argv, lens);
        if (!r) {
            rc = io_fail(t, t->dst, "XCLAIM", err, errlen);
        } else if (r->type == REDIS_REPLY_ERROR) {
            rc = reply_fail(t, t->dst, "XCLAIM", r, err, errlen);
        } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 0) {
            /* The entry was deleted on the source before the tail copied it
             * (XDEL / XTRIM of a pending entry): the target cannot hold a
             * pending entry without its entry. Not a change: counted. */
            s->lost_pending++;
        } else {
            t->changes++;
            s->group_updates++;
        }
        if (r) freeReplyObject(r);
    }
    pel_free(&a);
    pel_free(&b);
    return rc;
}

/* Consumers: create the source's missing on the target, delete the target's extras. */
static int sync_consumers(Tail *t, TailStream *s, const char *g, size_t glen, char *err, size_t errlen) {
    const char *argv[] = {"XINFO", "CONSUMERS", s->key, g};
    size_t lens[] = {5, 9, s->klen, glen};
    int rc = 0;
    redisReply *a = src_cmd(t, 4, argv, lens, &rc);
    if (rc) return rc;
    if (!a) return io_fail(t, t->src, "XINFO CONSUMERS", err, errlen);
    redisReply *b = conn_command_argv(t->dst, 4, argv, lens);
    if (!b) {
        freeReplyObject(a);
        return io_fail(t, t->dst, "XINFO CONSUMERS", err, errlen);
    }
    if (a->type != REDIS_REPLY_ARRAY || b->type != REDIS_REPLY_ARRAY) {
        rc = reply_fail(t, a->type != REDIS_REPLY_ARRAY ? t->src : t->dst, "XINFO CONSUMERS",
                        a->type != REDIS_REPLY_ARRAY ? a : b, err, errlen);
        goto out;
    }
    for (int pass = 0; pass < 2 && !rc; pass++) {
        const redisReply *from = pass ? b : a, *other = pass ? a : b;
        for (size_t i = 0; i < from->elements && !rc; i++) {
            const redisReply *n = map_get(from->element[i], "name");
            if (!n || n->type != REDIS_REPLY_STRING) continue;
            int found = 0;
            for (size_t k = 0; k < other->elements && !found; k++) {
                const redisReply *m = map_get(other->element[k], "name");
                found = m && m->type == REDIS_REPLY_STRING && m->len == n->len && !memcmp(m->str, n->str, n->len);
            }
            if (found) continue;
            const char *sub = pass ? "DELCONSUMER" : "CREATECONSUMER";
            const char *av[] = {"XGROUP", sub, s->key, g, n->str};
            size_t al[] = {6, strlen(sub), s->klen, glen, n->len};
            rc = dst_do(t, s, pass ? "XGROUP DELCONSUMER" : "XGROUP CREATECONSUMER", NULL, 5, av, al, err, errlen);
        }
    }
out:
    freeReplyObject(a);
    freeReplyObject(b);
    return rc;
}

static const redisReply *find_group(const redisReply *groups, const redisReply *name) {
    for (size_t k = 0; groups && k < groups->elements; k++) {
        const redisReply *m = map_get(groups->element[k], "name");
        if (m && m->type == REDIS_REPLY_STRING && m->len == name->len && !memcmp(m->str, name->str, name->len))
            return groups->element[k];
    }
    return NULL;
}

static int tail_groups(Tail *t, TailStream *s, int *deferred, char *err, size_t errlen) {
    const char *argv[] = {"XINFO", "GROUPS", s->key};
    size_t lens[] = {5, 6, s->klen};
    int rc = 0;
    redisReply *a = src_cmd(t, 3, argv, lens, &rc);
    if (rc) return rc;
    if (!a) return io_fail(t, t->src, "XINFO GROUPS", err, errlen);
    redisReply *b = conn_command_argv(t->dst, 3, argv, lens);
    if (!b) {
        freeReplyObject(a);
        return io_fail(t, t->dst, "XINFO GROUPS", err, errlen);
    }
    if (is_nokey(a)) { /* gone from the source: nothing to follow */
        freeReplyObject(a);
        freeReplyObject(b);
        return 0;
    }
    if (a->type != REDIS_REPLY_ARRAY) {
        rc = reply_fail(t, t->src, "XINFO GROUPS", a, err, errlen);
        goto out;
    }
    const redisReply *bg = b->type == REDIS_REPLY_ARRAY ? b : NULL;
    for (size_t i = 0; i < a->elements && !rc; i++) {
        const redisReply *ga = a->element[i];
        const redisReply *name = map_get(ga, "name");
        const redisReply *ld = map_get(ga, "last-delivered-id");
        const redisReply *er = map_get(ga, "entries-read");
        StreamId ldid;
        if (!name || name->type != REDIS_REPLY_STRING || id_of(ld, &ldid) != 0) continue;
        int ahead = typecopy_id_cmp(ldid, s->last) > 0;
        char erbuf[24] = "";
        if (er && er->type == REDIS_REPLY_INTEGER) snprintf(erbuf, sizeof(erbuf), "%lld", er->integer);
        const redisReply *gb = find_group(bg, name);
        if (!gb) {
            if (ahead) {
                *deferred = 1;
                continue;
            }
            const char *av[] = {"XGROUP", "CREATE", s->key, name->str, ld->str, "MKSTREAM", "ENTRIESREAD", erbuf};
            size_t al[] = {6, 6, s->klen, name->len, ld->len, 8, 11, strlen(erbuf)};
            rc = dst_do(t, s, "XGROUP CREATE", "BUSYGROUP", erbuf[0] ? 8 : 6, av, al, err, errlen);
            if (rc) break;
        }
        long long pa = int_of(map_get(ga, "pending"), 0), pb = gb ? int_of(map_get(gb, "pending"), 0) : 0;
        if (pa || pb) rc = sync_pel(t, s, name->str, name->len, deferred, err, errlen);
        if (!rc) rc = sync_consumers(t, s, name->str, name->len, err, errlen);
        if (rc || !gb) continue;
        const redisReply *ldb = map_get(gb, "last-delivered-id"), *erb = map_get(gb, "entries-read");
        int same = ldb && ldb->len == ld->len && !memcmp(ldb->str, ld->str, ld->len) &&
                   (erb ? erb->type : -1) == (er ? er->type : -1) &&
                   (!er || er->type != REDIS_REPLY_INTEGER || er->integer == erb->integer);
        if (same) continue;
        if (ahead) {
            *deferred = 1;
            continue;
        }
        const char *av[] = {"XGROUP", "SETID", s->key, name->str, ld->str, "ENTRIESREAD", erbuf};
        size_t al[] = {6, 5, s->klen, name->len, ld->len, 11, strlen(erbuf)};
        rc = dst_do(t, s, "XGROUP SETID", NULL, erbuf[0] ? 7 : 5, av, al, err, errlen);
    }
    /* Groups destroyed on the source. */
    for (size_t k = 0; bg && k < bg->elements && !rc; k++) {
        const redisReply *name = map_get(bg->element[k], "name");
        if (!name || name->type != REDIS_REPLY_STRING || find_group(a, name)) continue;
        const char *av[] = {"XGROUP", "DESTROY", s->key, name->str};
        size_t al[] = {6, 7, s->klen, name->len};
        rc = dst_do(t, s, "XGROUP DESTROY", NULL, 4, av, al, err, errlen);
    }
out:
    freeReplyObject(a);
    freeReplyObject(b);
    return rc;
}

/* --------------------------------------------------------------- rounds */

static int tail_select(Tail *t, const TailStream *s, char *err, size_t errlen) {
    if (conn_db(t->src) != s->src_db && conn_select(t->src, s->src_db) != 0)
        return util_err(err, errlen, "%s: SELECT %d failed: %s", conn_label(t->src), s->src_db, conn_errstr(t->src));
    if (conn_db(t->dst) != s->dst_db && conn_select(t->dst, s->dst_db) != 0)
        return util_err(err, errlen, "%s: SELECT %d failed: %s", conn_label(t->dst), s->dst_db, conn_errstr(t->dst));
    return 0;
}

static int tail_one(Tail *t, TailStream *s, char *err, size_t errlen) {
    printable(s->key, s->klen, t->kbuf, sizeof(t->kbuf));
    long before = t->changes;
    s->lost_pending = 0;
    int rc = tail_select(t, s, err, errlen);
    if (rc) return rc;
    long long dst_added = 0;
    if ((rc = read_target_last(t, s, &dst_added, err, errlen)) != 0) return rc;
    const char *argv[] = {"XINFO", "STREAM", s->key};
    size_t lens[] = {5, 6, s->klen};
    redisReply *r = src_cmd(t, 3, argv, lens, &rc);
    if (rc) return rc;
    if (!r) return io_fail(t, t->src, "XINFO STREAM", err, errlen);
    if (is_nokey(r)) { /* deleted on the source: nothing more to follow */
        freeReplyObject(r);
        s->lag_entries = s->lag_ms = 0;
        s->in_sync = 1;
        return 0;
    }
    StreamId src_last;
    if (r->type != REDIS_REPLY_ARRAY || id_of(map_get(r, "last-generated-id"), &src_last) != 0) {
        rc = reply_fail(t, t->src, "XINFO STREAM", r, err, errlen);
        freeReplyObject(r);
        return rc;
    }
    SrcStream ss;
    ss.added = int_of(map_get(r, "entries-added"), -1);
    const redisReply *md = map_get(r, "max-deleted-entry-id");
    StreamId mdid;
    if (id_of(md, &mdid) == 0) id_fmt(mdid, ss.maxdel, sizeof(ss.maxdel));
    else ss.maxdel[0] = '\0';
    long long src_added = ss.added;
    freeReplyObject(r);
    long long tailed0 = s->tailed;
    if ((rc = tail_entries(t, s, src_last, &ss, err, errlen)) != 0) return rc;
    int deferred = 0;
    if ((rc = tail_groups(t, s, &deferred, err, errlen)) != 0) return rc;
    long long lag = src_added >= 0 ? src_added - (dst_added + (s->tailed - tailed0)) : 0;
    if (typecopy_id_cmp(s->last, src_last) >= 0) lag = 0;
    else if (lag <= 0) lag = 1; /* behind, by at least one entry */
    s->lag_entries = lag;
    s->lag_ms = src_last.ms > s->last.ms ? (long long)(src_last.ms - s->last.ms) : 0;
    s->in_sync = t->changes == before && !deferred && lag == 0;
    if (deferred && t->changes == before) t->changes++; /* not in sync: say so */
    return 0;
}

long tail_round(Tail *t, char *err, size_t errlen) {
    t->changes = 0;
    for (int i = 0; i < t->n; i++) {
        if (t->o.stopping && t->o.stopping(t->o.ud)) return -2;
        int rc = tail_one(t, &t->s[i], err, errlen);
        if (rc) return rc;
    }
    return t->changes;
}

int tail_discover(Tail *t, int src_db, int dst_db, const Filter *f, char *err, size_t errlen) {
    if (f && f->types && !filter_type(f, FTYPE_STREAM)) return 0;
    if (conn_db(t->src) != src_db && conn_select(t->src, src_db) != 0)
        return util_err(err, errlen, "%s: SELECT %d failed: %s", conn_label(t->src), src_db, conn_errstr(t->src));
    const char *match = f ? filter_server_match(f) : NULL;
    char cursor[32] = "0";
    int added = 0;
    do {
        const char *argv[] = {"SCAN", cursor, "COUNT", "1000", "TYPE", "stream", "MATCH", match};
        size_t lens[] = {4, strlen(cursor), 5, 4, 4, 6, 5, match ? strlen(match) : 0};
        int rc = 0;
        redisReply *r = src_cmd(t, match ? 8 : 6, argv, lens, &rc);
        if (rc) return rc;
        if (!r) return util_err(err, errlen, "%s: SCAN of db %d failed: %s", conn_label(t->src), src_db, conn_errstr(t->src));
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            util_err(err, errlen, "%s refused SCAN … TYPE stream in db %d: %.200s", conn_label(t->src), src_db,
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            return -1;
        }
        util_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING || (f && !filter_key(f, k->str, k->len))) continue;
            int a = tail_add(t, src_db, dst_db, k->str, k->len, err, errlen);
            if (a < 0) {
                freeReplyObject(r);
                return -1;
            }
            added += a;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return added;
}

/* ---------------------------------------------------------------- drain */

int tail_drain_survey(Tail *t, const char *group_glob, int want_oldest, DrainGroup **out, int *n, char *err,
                      size_t errlen) {
    *out = NULL;
    *n = 0;
    int cap = 0;
    for (int i = 0; i < t->n; i++) {
        TailStream *s = &t->s[i];
        printable(s->key, s->klen, t->kbuf, sizeof(t->kbuf));
        if (conn_db(t->src) != s->src_db && conn_select(t->src, s->src_db) != 0)
            return util_err(err, errlen, "%s: SELECT %d failed: %s", conn_label(t->src), s->src_db, conn_errstr(t->src));
        const char *argv[] = {"XINFO", "GROUPS", s->key};
        size_t lens[] = {5, 6, s->klen};
        int rc = 0;
        redisReply *r = src_cmd(t, 3, argv, lens, &rc);
        if (rc) return rc;
        if (!r) return io_fail(t, t->src, "XINFO GROUPS", err, errlen);
        if (is_nokey(r)) {
            freeReplyObject(r);
            continue;
        }
        if (r->type != REDIS_REPLY_ARRAY) {
            rc = reply_fail(t, t->src, "XINFO GROUPS", r, err, errlen);
            freeReplyObject(r);
            return rc;
        }
        for (size_t k = 0; k < r->elements; k++) {
            const redisReply *g = r->element[k], *name = map_get(g, "name");
            if (!name || name->type != REDIS_REPLY_STRING) continue;
            if (group_glob && !glob_match(group_glob, strlen(group_glob), name->str, name->len, 0)) continue;
            long long pending = int_of(map_get(g, "pending"), 0);
            const redisReply *lag = map_get(g, "lag");
            long long lg = lag && lag->type == REDIS_REPLY_INTEGER ? lag->integer : -1;
            if (pending <= 0 && lg <= 0) continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                DrainGroup *v = realloc(*out, (size_t)cap * sizeof(*v));
                if (!v) {
                    freeReplyObject(r);
                    return util_err(err, errlen, "out of memory listing the groups of %s", t->kbuf);
                }
                *out = v;
            }
            DrainGroup *d = &(*out)[(*n)++];
            memset(d, 0, sizeof(*d));
            util_strlcpy(d->key, t->kbuf, sizeof(d->key));
            d->db = s->src_db;
            printable(name->str, name->len, d->group, sizeof(d->group));
            d->pending = pending;
            d->lag = lg;
            if (!want_oldest || pending <= 0) continue;
            const char *av[] = {"XPENDING", s->key, name->str};
            size_t al[] = {8, s->klen, name->len};
            redisReply *p = src_cmd(t, 3, av, al, &rc);
            if (rc) {
                freeReplyObject(r);
                return rc;
            }
            if (!p) {
                freeReplyObject(r);
                return io_fail(t, t->src, "XPENDING", err, errlen);
            }
            if (p->type == REDIS_REPLY_ARRAY && p->elements >= 2 && p->element[1]->type == REDIS_REPLY_STRING)
                printable(p->element[1]->str, p->element[1]->len, d->oldest, sizeof(d->oldest));
            freeReplyObject(p);
        }
        freeReplyObject(r);
    }
    return 0;
}
