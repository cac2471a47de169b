/* rdbvalue — a DUMP/RESTORE payload decoded into the commands that build
 * the same value; see rdbvalue.h for the commands per type and the plan.
 *
 * The payload is walked once with rdb.c's in-memory cursor (lengths and
 * string encodings) and its packed-container decoders (listpack, ziplist,
 * intset, zipmap): this file adds no second decoder of those formats, only
 * the layout of each value type around them.
 *
 * Arguments of the command being built are collected as (pointer, length)
 * pairs. Bytes that live in the caller's payload are referenced; bytes that
 * do not (LZF output, integers printed as text, IDs and scores formatted
 * here) are copied into an arena that lives until the command is emitted.
 * Nothing else is held: a value's memory is one batch of arguments plus,
 * for packed containers, the list of one container's elements, plus, for
 * streams, the consumer groups' pending entries (the RDB keeps them after
 * the entries, and they must be merged with the entries in ID order).
 *
 * Streams follow typecopy.c's write sequence exactly, so a stream rebuilt
 * from a snapshot and one copied from a live source look the same. */
#include "rdbvalue.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc64.h"
#include "rdb.h"
#include "serverinfo.h"
#include "typecopy.h"
#include "util.h"

#define RV_BATCH_DEFAULT 128
#define RV_STREAM_DELETED 1    /* stream listpack entry flags */
#define RV_STREAM_SAMEFIELDS 2

/* One argument: p, or (p == NULL) off bytes into the arena. */
typedef struct RvArg {
    const unsigned char *p;
    size_t off, n;
} RvArg;

/* A field's expiry waiting for the HSET that writes the field. */
typedef struct RvTtl {
    size_t arg; /* index of the field's argument */
    int64_t ms;
} RvTtl;

/* One element of a packed container: p into the blob, or num (integers). */
typedef struct RvElem {
    const unsigned char *p;
    size_t n;
    char num[24];
} RvElem;

typedef struct RvElems {
    RvElem *v;
    size_t n, cap;
    const unsigned char *blob;
    size_t bloblen;
} RvElems;

typedef struct Rv {
    const unsigned char *payload;
    size_t len;
    const char *key;
    size_t klen;
    int batch, dst7, dst62, hpexpire, valkey;
    int64_t now_ms;
    RvEmitFn emit;
    void *ud;
    RvResult res;
    int stop; /* the emit function's non-zero return */
    char *err;
    size_t errlen;
    char kdesc[128];
    const char *tname;
    /* the command being built */
    RvArg *args;
    size_t nargs, argcap;
    unsigned char *arena;
    size_t alen, acap;
    const char **argv;
    size_t *lens;
    size_t vcap, lcap;
    size_t items; /* elements in the current batch */
    RvTtl *ttl;
    size_t nttl, ttlcap;
    RvElems el;
} Rv;

/* ------------------------------------------------------------------ errors */

static int rv_bad(Rv *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rv_bad(Rv *R, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    util_err(R->err, R->errlen, "key \"%s\" (%s): the DUMP payload is malformed: %s; the value was not rebuilt",
             R->kdesc, R->tname, what);
    return -1;
}

static int rv_oom(Rv *R) {
    return util_err(R->err, R->errlen, "key \"%s\" (%s): out of memory rebuilding the value", R->kdesc, R->tname);
}

/* --------------------------------------------------------------- arguments */

static int rv_grow(Rv *R, void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * size);
    if (!q) return rv_oom(R);
    *p = q;
    *cap = c;
    return 0;
}

/* An argument that stays valid until the command is emitted (literals, the
 * key, bytes of the payload). */
static int rv_lit(Rv *R, const void *p, size_t n) {
    if (rv_grow(R, (void **)&R->args, &R->argcap, R->nargs + 1, sizeof(RvArg)) != 0) return -1;
    R->args[R->nargs++] = (RvArg){p, 0, n};
    return 0;
}

static int rv_str(Rv *R, const char *s) { return rv_lit(R, s, strlen(s)); }

/* 1 if p[0..n) lies inside base[0..len). */
static int rv_within(const unsigned char *p, size_t n, const unsigned char *base, size_t len) {
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return a >= b && a - b <= len && n <= len - (a - b);
}

/* An argument: referenced when it lies in the payload, else copied. */
static int rv_put(Rv *R, const unsigned char *p, size_t n) {
    if (rv_within(p, n, R->payload, R->len)) return rv_lit(R, p, n);
    if (rv_grow(R, (void **)&R->arena, &R->acap, R->alen + n + 1, 1) != 0) return -1;
    if (rv_grow(R, (void **)&R->args, &R->argcap, R->nargs + 1, sizeof(RvArg)) != 0) return -1;
    if (n) memcpy(R->arena + R->alen, p, n);
    R->args[R->nargs++] = (RvArg){NULL, R->alen, n};
    R->alen += n;
    return 0;
}

static int rv_fmt(Rv *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rv_fmt(Rv *R, const char *fmt, ...) {
    char b[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return rv_put(R, (const unsigned char *)b, (size_t)n);
}

static int rv_id(Rv *R, StreamId id) { return rv_fmt(R, "%llu-%llu", id.ms, id.seq); }

/* Starts a command: name [subcommand] key. */
static int rv_cmd_sub(Rv *R, const char *name, const char *sub) {
    R->nargs = R->alen = R->nttl = R->items = 0;
    if (rv_str(R, name) != 0 || (sub && rv_str(R, sub) != 0)) return -1;
    return rv_lit(R, R->key, R->klen);
}

static int rv_cmd(Rv *R, const char *name) { return rv_cmd_sub(R, name, NULL); }

/* Pointers for args[0..nargs) into R->argv/lens. */
static int rv_resolve(Rv *R) {
    if (rv_grow(R, (void **)&R->argv, &R->vcap, R->nargs, sizeof(char *)) != 0 ||
        rv_grow(R, (void **)&R->lens, &R->lcap, R->nargs, sizeof(size_t)) != 0)
        return -1;
    for (size_t i = 0; i < R->nargs; i++) {
        R->argv[i] = (const char *)(R->args[i].p ? R->args[i].p : R->arena + R->args[i].off);
        R->lens[i] = R->args[i].n;
    }
    return 0;
}

static int rv_emit(Rv *R, int argc, const char **argv, const size_t *lens) {
    int rc = R->emit(R->ud, argc, argv, lens);
    R->res.commands++;
    if (rc != 0) {
        R->stop = rc;
        util_err(R->err, R->errlen, "key \"%s\" (%s): stopped by the receiver of the commands after %llu of them",
                 R->kdesc, R->tname, (unsigned long long)R->res.commands);
        return -1;
    }
    return 0;
}

/* Emits the command built so far; then, for HSET, the HPEXPIREATs of its
 * fields (one per run of fields sharing an expiry). */
static int rv_send(Rv *R) {
    if (rv_resolve(R) != 0 || rv_emit(R, (int)R->nargs, R->argv, R->lens) != 0) return -1;
    for (size_t i = 0; i < R->nttl;) {
        size_t j = i;
        while (j < R->nttl && R->ttl[j].ms == R->ttl[i].ms) j++;
        size_t n = j - i, argc = 5 + n;
        const char **av = malloc(argc * sizeof(*av));
        size_t *al = malloc(argc * sizeof(*al));
        char ms[24], cnt[24];
        if (!av || !al) {
            free(av);
            free(al);
            return rv_oom(R);
        }
        snprintf(ms, sizeof ms, "%lld", (long long)R->ttl[i].ms);
        snprintf(cnt, sizeof cnt, "%zu", n);
        av[0] = "HPEXPIREAT", al[0] = 10;
        av[1] = R->key, al[1] = R->klen;
        av[2] = ms, al[2] = strlen(ms);
        av[3] = "FIELDS", al[3] = 6;
        av[4] = cnt, al[4] = strlen(cnt);
        for (size_t k = 0; k < n; k++) {
            av[5 + k] = R->argv[R->ttl[i + k].arg];
            al[5 + k] = R->lens[R->ttl[i + k].arg];
        }
        int rc = rv_emit(R, (int)argc, av, al);
        free(av);
        free(al);
        if (rc != 0) return -1;
        i = j;
    }
    R->nargs = R->alen = R->nttl = R->items = 0;
    return 0;
}

/* One element (member, pair, field) added to a batching command: sent when
 * the batch is full, and started again. */
static int rv_item(Rv *R) {
    R->res.elements++;
    if (++R->items < (size_t)R->batch) return 0;
    const char *name = (const char *)R->args[0].p;
    if (rv_send(R) != 0) return -1;
    return rv_cmd(R, name);
}

/* The last, partial batch. */
static int rv_done(Rv *R) { return R->items ? rv_send(R) : 0; }

/* ----------------------------------------------------------- decoding help */

static int rv_elem_add(void *ud, const unsigned char *s, size_t n) {
    RvElems *e = ud;
    if (e->n == e->cap) {
        size_t c = e->cap ? e->cap * 2 : 64;
        RvElem *v = realloc(e->v, c * sizeof(*v));
        if (!v) return -1;
        e->v = v;
        e->cap = c;
    }
    RvElem *x = &e->v[e->n++];
    if (rv_within(s, n, e->blob, e->bloblen)) {
        x->p = s;
        x->n = n;
        return 0;
    }
    if (n >= sizeof x->num) return -1; /* only integers are printed outside the blob */
    memcpy(x->num, s, n);
    x->num[n] = '\0';
    x->p = NULL;
    x->n = n;
    return 0;
}

static const unsigned char *rv_elem_p(const RvElem *x) { return x->p ? x->p : (const unsigned char *)x->num; }

/* The elements of one packed container into R->el. */
static int rv_packed(Rv *R, int kind, const unsigned char *p, size_t n, const char *what) {
    R->el.n = 0;
    R->el.blob = p;
    R->el.bloblen = n;
    if (rdb_packed_elements(kind, p, n, rv_elem_add, &R->el) != 0) return rv_bad(R, "bad %s (%zu bytes)", what, n);
    return 0;
}

static int rv_string_at(Rv *R, RdbCursor *c, const unsigned char **s, size_t *n, char num[24], const char *what) {
    if (rdb_cursor_string(c, s, n, num) != 0) return rv_bad(R, "%s cut short or badly encoded", what);
    return 0;
}

/* Skips one string without decoding it (LZF stays compressed). */
static int rv_skip_string(Rv *R, RdbCursor *c, const char *what) {
    uint64_t v, clen, ulen, n;
    int enc, e2;
    if (rdb_cursor_len(c, &v, &enc) != 0) goto bad;
    if (enc < 0) {
        n = v;
    } else if (enc <= 2) {
        n = 1u << enc;
    } else if (enc == 3) {
        if (rdb_cursor_len(c, &clen, &e2) != 0 || e2 >= 0 || rdb_cursor_len(c, &ulen, &e2) != 0 || e2 >= 0) goto bad;
        n = clen;
    } else {
        goto bad;
    }
    if ((uint64_t)(c->end - c->p) < n) goto bad;
    c->p += n;
    return 0;
bad:
    return rv_bad(R, "%s cut short or badly encoded", what);
}

static int rv_len_at(Rv *R, RdbCursor *c, uint64_t *v, const char *what) {
    int enc;
    if (rdb_cursor_len(c, v, &enc) != 0 || enc >= 0) return rv_bad(R, "%s cut short or badly encoded", what);
    return 0;
}

static int rv_raw(Rv *R, RdbCursor *c, size_t n, const unsigned char **out, const char *what) {
    if ((size_t)(c->end - c->p) < n) return rv_bad(R, "%s cut short", what);
    *out = c->p;
    c->p += n;
    return 0;
}

static uint64_t rv_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint64_t rv_be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* Decimal text of a 64-bit signed integer, the whole of it. */
static int rv_int(const unsigned char *s, size_t n, int64_t *v) {
    char b[24];
    if (n == 0 || n >= sizeof b) return -1;
    memcpy(b, s, n);
    b[n] = '\0';
    char *end;
    long long x = strtoll(b, &end, 10);
    if (*end || !((b[0] >= '0' && b[0] <= '9') || b[0] == '-')) return -1;
    *v = x;
    return 0;
}

static int rv_elem_int(const RvElem *x, int64_t *v) { return rv_int(rv_elem_p(x), x->n, v); }

/* A score the target parses back to the same double: the shortest of 15,
 * 16, 17 significant digits that round-trips; "inf" / "-inf". */
static int rv_score(Rv *R, double d) {
    if (isnan(d)) return rv_bad(R, "a score is NaN");
    if (isinf(d)) return rv_str(R, d > 0 ? "inf" : "-inf");
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, d);
        if (strtod(b, NULL) == d) break;
    }
    return rv_put(R, (const unsigned char *)b, strlen(b));
}

/* A score as text (packed zsets, the oldest zset format). */
static int rv_score_text(Rv *R, const unsigned char *s, size_t n) {
    char b[256];
    if (n == 0 || n >= sizeof b) return rv_bad(R, "a score of %zu bytes", n);
    memcpy(b, s, n);
    b[n] = '\0';
    char *end;
    double d = strtod(b, &end);
    if (*end) return rv_bad(R, "score \"%.40s\" is not a number", b);
    return rv_score(R, d);
}

/* ------------------------------------------------------------ plain types */

static int rv_list(Rv *R, int type, RdbCursor *c) {
    const unsigned char *s;
    size_t n;
    char num[24];
    uint64_t count, v;
    if (rv_cmd(R, "RPUSH") != 0) return -1;
    if (type == RDB_TYPE_LIST_ZIPLIST) {
        if (rv_string_at(R, c, &s, &n, num, "the ziplist") != 0 || rv_packed(R, RDB_PACKED_ZIPLIST, s, n, "ziplist") != 0)
            return -1;
        for (size_t i = 0; i < R->el.n; i++)
            if (rv_put(R, rv_elem_p(&R->el.v[i]), R->el.v[i].n) != 0 || rv_item(R) != 0) return -1;
        return rv_done(R);
    }
    if (rv_len_at(R, c, &count, type == RDB_TYPE_LIST ? "the element count" : "the node count") != 0) return -1;
    for (uint64_t i = 0; i < count; i++) {
        int kind = RDB_PACKED_ZIPLIST;
        if (type == RDB_TYPE_LIST_QUICKLIST_2) {
            if (rv_len_at(R, c, &v, "a quicklist node's container") != 0) return -1;
            if (v != 1 && v != 2) return rv_bad(R, "unknown quicklist container %llu", (unsigned long long)v);
            kind = v == 1 ? 0 : RDB_PACKED_LISTPACK;
        } else if (type == RDB_TYPE_LIST) {
            kind = 0;
        }
        if (rv_string_at(R, c, &s, &n, num, kind ? "a quicklist node" : "an element") != 0) return -1;
        if (!kind) {
            if (rv_put(R, s, n) != 0 || rv_item(R) != 0) return -1;
            continue;
        }
        if (rv_packed(R, kind, s, n, kind == RDB_PACKED_LISTPACK ? "listpack node" : "ziplist node") != 0) return -1;
        if (R->el.n == 0) return rv_bad(R, "an empty quicklist node");
        for (size_t j = 0; j < R->el.n; j++)
            if (rv_put(R, rv_elem_p(&R->el.v[j]), R->el.v[j].n) != 0 || rv_item(R) != 0) return -1;
    }
    return rv_done(R);
}

static int rv_set(Rv *R, int type, RdbCursor *c) {
    const unsigned char *s;
    size_t n;
    char num[24];
    uint64_t count;
    if (rv_cmd(R, "SADD") != 0) return -1;
    if (type != RDB_TYPE_SET) {
        int kind = type == RDB_TYPE_SET_INTSET ? RDB_PACKED_INTSET : RDB_PACKED_LISTPACK;
        const char *what = kind == RDB_PACKED_INTSET ? "intset" : "listpack";
        if (rv_string_at(R, c, &s, &n, num, what) != 0 || rv_packed(R, kind, s, n, what) != 0) return -1;
        for (size_t i = 0; i < R->el.n; i++)
            if (rv_put(R, rv_elem_p(&R->el.v[i]), R->el.v[i].n) != 0 || rv_item(R) != 0) return -1;
        return rv_done(R);
    }
    if (rv_len_at(R, c, &count, "the member count") != 0) return -1;
    for (uint64_t i = 0; i < count; i++)
        if (rv_string_at(R, c, &s, &n, num, "a member") != 0 || rv_put(R, s, n) != 0 || rv_item(R) != 0) return -1;
    return rv_done(R);
}

static int rv_zset(Rv *R, int type, RdbCursor *c) {
    const unsigned char *s = NULL, *sc = NULL;
    size_t n;
    char num[24];
    uint64_t count;
    if (rv_cmd(R, "ZADD") != 0) return -1;
    if (type == RDB_TYPE_ZSET_ZIPLIST || type == RDB_TYPE_ZSET_LISTPACK) {
        int kind = type == RDB_TYPE_ZSET_ZIPLIST ? RDB_PACKED_ZIPLIST : RDB_PACKED_LISTPACK;
        const char *what = kind == RDB_PACKED_ZIPLIST ? "ziplist" : "listpack";
        if (rv_string_at(R, c, &s, &n, num, what) != 0 || rv_packed(R, kind, s, n, what) != 0) return -1;
        if (R->el.n % 2) return rv_bad(R, "a %s of %zu elements (member, score pairs expected)", what, R->el.n);
        for (size_t i = 0; i < R->el.n; i += 2) {
            const RvElem *m = &R->el.v[i], *x = &R->el.v[i + 1];
            if (rv_score_text(R, rv_elem_p(x), x->n) != 0 || rv_put(R, rv_elem_p(m), m->n) != 0 || rv_item(R) != 0)
                return -1;
        }
        return rv_done(R);
    }
    if (rv_len_at(R, c, &count, "the member count") != 0) return -1;
    for (uint64_t i = 0; i < count; i++) {
        if (rv_string_at(R, c, &s, &n, num, "a member") != 0) return -1;
        const unsigned char *member = s;
        size_t mlen = n;
        if (type == RDB_TYPE_ZSET_2) {
            if (rv_raw(R, c, 8, &sc, "a score") != 0) return -1;
            uint64_t bits = rv_le64(sc);
            double d;
            memcpy(&d, &bits, sizeof d);
            if (rv_score(R, d) != 0) return -1;
        } else { /* text: a length byte, 253 nan, 254 +inf, 255 -inf */
            const unsigned char *lb = NULL;
            if (rv_raw(R, c, 1, &lb, "a score") != 0) return -1;
            if (*lb == 253) return rv_bad(R, "a score is NaN");
            if (*lb >= 254) {
                if (rv_str(R, *lb == 254 ? "inf" : "-inf") != 0) return -1;
            } else if (rv_raw(R, c, *lb, &sc, "a score") != 0 || rv_score_text(R, sc, *lb) != 0) {
                return -1;
            }
        }
        /* The member comes after its score: an LZF member lives in the
         * cursor's buffer, which the score does not touch. */
        if (rv_put(R, member, mlen) != 0 || rv_item(R) != 0) return -1;
    }
    return rv_done(R);
}

/* The rest of one hash field whose name is already the argument at index
 * at: its value, and ms > 0 its absolute expiry. An expired field is taken
 * back out. */
static int rv_hfield(Rv *R, size_t at, const unsigned char *v, size_t vl, int64_t ms) {
    if (ms > 0 && ms <= R->now_ms) {
        R->nargs = at;
        R->res.fields_expired++;
        return 0;
    }
    if (rv_put(R, v, vl) != 0) return -1;
    if (ms > 0 && !R->hpexpire) {
        R->res.field_ttls_lost++;
    } else if (ms > 0) {
        if (rv_grow(R, (void **)&R->ttl, &R->ttlcap, R->nttl + 1, sizeof(RvTtl)) != 0) return -1;
        R->ttl[R->nttl++] = (RvTtl){at, ms};
    }
    return rv_item(R);
}

static int rv_hash_packed(Rv *R, int type, RdbCursor *c) {
    const unsigned char *s, *raw;
    size_t n;
    char num[24];
    if (type == RDB_TYPE_HASH_LISTPACK_EX && rv_raw(R, c, 8, &raw, "the minimum expiry") != 0) return -1;
    int kind = type == RDB_TYPE_HASH_ZIPMAP ? RDB_PACKED_ZIPMAP
             : type == RDB_TYPE_HASH_ZIPLIST ? RDB_PACKED_ZIPLIST : RDB_PACKED_LISTPACK;
    const char *what = kind == RDB_PACKED_ZIPMAP ? "zipmap" : kind == RDB_PACKED_ZIPLIST ? "ziplist" : "listpack";
    size_t per = type == RDB_TYPE_HASH_LISTPACK_EX_PRE_GA || type == RDB_TYPE_HASH_LISTPACK_EX ? 3 : 2;
    if (rv_string_at(R, c, &s, &n, num, what) != 0 || rv_packed(R, kind, s, n, what) != 0) return -1;
    if (R->el.n % per)
        return rv_bad(R, "a %s of %zu elements (%s expected)", what, R->el.n,
                      per == 3 ? "field, value, expiry triplets" : "field, value pairs");
    for (size_t i = 0; i < R->el.n; i += per) {
        int64_t ms = 0; /* 7.4 listpacks: absolute ms, 0 = none */
        if (per == 3 && (rv_elem_int(&R->el.v[i + 2], &ms) != 0 || ms < 0))
            return rv_bad(R, "a field's expiry is not a time");
        const RvElem *f = &R->el.v[i], *v = &R->el.v[i + 1];
        size_t at = R->nargs;
        if (rv_put(R, rv_elem_p(f), f->n) != 0 || rv_hfield(R, at, rv_elem_p(v), v->n, ms) != 0) return -1;
    }
    return rv_done(R);
}

static int rv_hash(Rv *R, int type, RdbCursor *c) {
    const unsigned char *s = NULL, *raw = NULL;
    size_t n;
    char num[24];
    uint64_t count, ttl = 0;
    int64_t min = 0;
    if (rv_cmd(R, "HSET") != 0) return -1;
    if (type != RDB_TYPE_HASH && type != RDB_TYPE_HASH_METADATA && type != 22) return rv_hash_packed(R, type, c);
    /* Field lists: plain; 7.4's with a minimum expiry, then per field its
     * expiry relative to it (+1, 0 = none); 7.4 RC's 22 with absolute
     * expiries first; Valkey 9's 22 with the expiry after the value (-1 =
     * none). */
    int valkey2 = type == RDB_TYPE_VALKEY_HASH_2 && R->valkey, ttl_first = type != RDB_TYPE_HASH && !valkey2;
    if (type == RDB_TYPE_HASH_METADATA) {
        if (rv_raw(R, c, 8, &raw, "the minimum expiry") != 0) return -1;
        min = (int64_t)rv_le64(raw);
    }
    if (rv_len_at(R, c, &count, "the field count") != 0) return -1;
    for (uint64_t i = 0; i < count; i++) {
        int64_t ms = 0;
        if (ttl_first) {
            if (rv_len_at(R, c, &ttl, "a field's expiry") != 0) return -1;
            ms = type == RDB_TYPE_HASH_METADATA ? (ttl ? (int64_t)(ttl + (uint64_t)min - 1) : 0) : (int64_t)ttl;
        }
        /* The field is copied by rv_put when it is LZF output, before the
         * value's LZF output replaces it. */
        size_t at = R->nargs;
        if (rv_string_at(R, c, &s, &n, num, "a field") != 0 || rv_put(R, s, n) != 0) return -1;
        if (rv_string_at(R, c, &s, &n, num, "a value") != 0) return -1;
        if (valkey2) {
            if (rv_raw(R, c, 8, &raw, "a field's expiry") != 0) return -1;
            ms = (int64_t)rv_le64(raw);
            if (ms < 0) ms = 0;
        }
        if (rv_hfield(R, at, s, n, ms) != 0) return -1;
    }
    return rv_done(R);
}

/* ----------------------------------------------------------------- streams */

typedef struct RvNack {
    StreamId id;
    int64_t delivery;
    uint64_t count;
    size_t consumer; /* index + 1; 0 = not yet seen in a consumer's list */
} RvNack;

typedef struct RvName {
    unsigned char *p;
    size_t n;
} RvName;

typedef struct RvGroup {
    RvName name;
    StreamId last;
    int64_t entries_read;
    RvNack *pel;
    size_t npel, pos;
    RvName *cons;
    size_t ncons;
} RvGroup;

typedef struct RvStream {
    uint64_t nodes, length, entries_added;
    StreamId last, first, max_deleted;
    int v2;
    RvGroup *g;
    size_t ng;
    /* the entry iterator: nodes read one at a time */
    RdbCursor nc;
    uint64_t node_left;
    StreamId master;
    size_t mfields, mf_at, pos, live, deleted, node_count, node_deleted;
    uint64_t seen;
    int have;      /* an entry is ready at pos */
    StreamId eid;  /* its ID */
    int same;      /* it uses the master fields */
    size_t nf, at; /* its field count, and where its values (or pairs) start */
    int any;
    StreamId prev;
} RvStream;

static void rv_stream_free(RvStream *s) {
    for (size_t i = 0; i < s->ng; i++) {
        free(s->g[i].name.p);
        free(s->g[i].pel);
        for (size_t j = 0; j < s->g[i].ncons; j++) free(s->g[i].cons[j].p);
        free(s->g[i].cons);
    }
    free(s->g);
    rdb_cursor_free(&s->nc);
}

static int rv_name(Rv *R, RdbCursor *c, RvName *out, const char *what) {
    const unsigned char *s;
    size_t n;
    char num[24];
    if (rv_string_at(R, c, &s, &n, num, what) != 0) return -1;
    out->p = malloc(n + 1);
    if (!out->p) return rv_oom(R);
    memcpy(out->p, s, n);
    out->n = n;
    return 0;
}

static StreamId rv_rawid(const unsigned char *p) { return (StreamId){rv_be64(p), rv_be64(p + 8)}; }

static int rv_streamid(Rv *R, RdbCursor *c, StreamId *id, const char *what) {
    uint64_t a, b;
    if (rv_len_at(R, c, &a, what) != 0 || rv_len_at(R, c, &b, what) != 0) return -1;
    *id = (StreamId){a, b};
    return 0;
}

/* Everything after the entries: counters, groups, PELs, consumers. */
static int rv_stream_meta(Rv *R, int type, RdbCursor *c, RvStream *s) {
    int v3 = type >= RDB_TYPE_STREAM_LISTPACKS_3;
    const unsigned char *raw = NULL;
    uint64_t n;
    s->v2 = type >= RDB_TYPE_STREAM_LISTPACKS_2;
    if (rv_len_at(R, c, &s->length, "the stream length") != 0 || rv_streamid(R, c, &s->last, "the last ID") != 0)
        return -1;
    if (s->v2 && (rv_streamid(R, c, &s->first, "the first ID") != 0 ||
                  rv_streamid(R, c, &s->max_deleted, "the max deleted ID") != 0 ||
                  rv_len_at(R, c, &s->entries_added, "entries-added") != 0))
        return -1;
    if (rv_len_at(R, c, &n, "the group count") != 0) return -1;
    if (n > (uint64_t)(c->end - c->p)) return rv_bad(R, "%llu groups in %zu bytes", (unsigned long long)n, (size_t)(c->end - c->p));
    s->g = calloc(n ? n : 1, sizeof(*s->g));
    if (!s->g) return rv_oom(R);
    for (uint64_t gi = 0; gi < n; gi++) {
        RvGroup *g = &s->g[s->ng++];
        uint64_t er = 0, npel, ncons;
        if (rv_name(R, c, &g->name, "a group name") != 0 || rv_streamid(R, c, &g->last, "a group's last ID") != 0)
            return -1;
        if (s->v2 && rv_len_at(R, c, &er, "a group's entries-read") != 0) return -1;
        g->entries_read = s->v2 ? (int64_t)er : -1; /* UINT64_MAX = -1: unknown */
        if (rv_len_at(R, c, &npel, "a group's pending count") != 0) return -1;
        if (npel > (uint64_t)(c->end - c->p) / 25)
            return rv_bad(R, "%llu pending entries in %zu bytes", (unsigned long long)npel, (size_t)(c->end - c->p));
        g->pel = calloc(npel ? npel : 1, sizeof(*g->pel));
        if (!g->pel) return rv_oom(R);
        for (uint64_t i = 0; i < npel; i++) {
            RvNack *k = &g->pel[g->npel];
            if (rv_raw(R, c, 24, &raw, "a pending entry") != 0 || rv_len_at(R, c, &k->count, "a delivery count") != 0)
                return -1;
            k->id = rv_rawid(raw);
            k->delivery = (int64_t)rv_le64(raw + 16);
            if (g->npel && typecopy_id_cmp(g->pel[g->npel - 1].id, k->id) >= 0)
                return rv_bad(R, "group pending entries out of order");
            g->npel++;
        }
        if (rv_len_at(R, c, &ncons, "a group's consumer count") != 0) return -1;
        if (ncons > (uint64_t)(c->end - c->p) / 10)
            return rv_bad(R, "%llu consumers in %zu bytes", (unsigned long long)ncons, (size_t)(c->end - c->p));
        g->cons = calloc(ncons ? ncons : 1, sizeof(*g->cons));
        if (!g->cons) return rv_oom(R);
        for (uint64_t ci = 0; ci < ncons; ci++) {
            uint64_t cpel;
            if (rv_name(R, c, &g->cons[g->ncons], "a consumer name") != 0) return -1;
            g->ncons++;
            if (rv_raw(R, c, v3 ? 16 : 8, &raw, "a consumer's seen time") != 0 ||
                rv_len_at(R, c, &cpel, "a consumer's pending count") != 0)
                return -1;
            for (uint64_t i = 0; i < cpel; i++) {
                if (rv_raw(R, c, 16, &raw, "a consumer's pending entry") != 0) return -1;
                StreamId id = rv_rawid(raw);
                size_t lo = 0, hi = g->npel;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (typecopy_id_cmp(g->pel[mid].id, id) < 0) lo = mid + 1;
                    else hi = mid;
                }
                if (lo == g->npel || typecopy_id_cmp(g->pel[lo].id, id) != 0 || g->pel[lo].consumer)
                    return rv_bad(R, "consumer pending entry %llu-%llu is not pending in its group, or twice",
                                  id.ms, id.seq);
                g->pel[lo].consumer = g->ncons;
            }
        }
        for (size_t i = 0; i < g->npel; i++)
            if (!g->pel[i].consumer)
                return rv_bad(R, "pending entry %llu-%llu has no consumer", g->pel[i].id.ms, g->pel[i].id.seq);
    }
    return 0;
}

/* Loads the next node into R->el; its master entry into s. */
static int rv_node_load(Rv *R, RvStream *s) {
    const unsigned char *k, *lp;
    size_t kl, lpl;
    char num[24];
    if (s->node_left == 0) return 0;
    s->node_left--;
    if (rv_string_at(R, &s->nc, &k, &kl, num, "a stream node key") != 0) return -1;
    if (kl != 16) return rv_bad(R, "a stream node key of %zu bytes (16 expected)", kl);
    s->master = rv_rawid(k);
    if (rv_string_at(R, &s->nc, &lp, &lpl, num, "a stream node") != 0 ||
        rv_packed(R, RDB_PACKED_LISTPACK, lp, lpl, "stream node listpack") != 0)
        return -1;
    int64_t cnt, del, nmf, zero;
    RvElem *e = R->el.v;
    if (R->el.n < 4 || rv_elem_int(&e[0], &cnt) || rv_elem_int(&e[1], &del) || rv_elem_int(&e[2], &nmf) || cnt < 0 ||
        del < 0 || nmf < 0 || (uint64_t)nmf > R->el.n - 4 || rv_elem_int(&e[3 + nmf], &zero) || zero != 0)
        return rv_bad(R, "a stream node without a valid master entry");
    s->mfields = (size_t)nmf;
    s->mf_at = 3;
    s->pos = 4 + (size_t)nmf;
    s->node_count = (size_t)cnt;
    s->node_deleted = (size_t)del;
    s->live = s->deleted = 0;
    return 0;
}

/* Moves to the next live entry (s->have = 0 at the end). */
static int rv_entry_next(Rv *R, RvStream *s) {
    s->have = 0;
    for (;;) {
        RvElem *e = R->el.v;
        if (s->pos >= R->el.n) {
            if (s->live != s->node_count || s->deleted != s->node_deleted)
                return rv_bad(R, "a stream node's master entry counts %zu live and %zu deleted entries, it holds %zu and %zu",
                              s->node_count, s->node_deleted, s->live, s->deleted);
            if (s->node_left == 0) {
                if (s->seen != s->length)
                    return rv_bad(R, "the stream length is %llu, its nodes hold %llu entries",
                                  (unsigned long long)s->length, (unsigned long long)s->seen);
                return 0;
            }
            if (rv_node_load(R, s) != 0) return -1;
            continue;
        }
        int64_t flags, msd, seqd, nf, lpc;
        size_t p = s->pos;
        if (R->el.n - p < 4 || rv_elem_int(&e[p], &flags) || rv_elem_int(&e[p + 1], &msd) ||
            rv_elem_int(&e[p + 2], &seqd))
            return rv_bad(R, "a stream entry cut short");
        int same = (flags & RV_STREAM_SAMEFIELDS) != 0;
        size_t at, span;
        if (same) {
            nf = (int64_t)s->mfields;
            at = p + 3;
            span = 3 + (size_t)nf;
        } else {
            if (rv_elem_int(&e[p + 3], &nf) || nf < 0 || (uint64_t)nf > (R->el.n - p) / 2)
                return rv_bad(R, "a stream entry with a bad field count");
            at = p + 4;
            span = 4 + 2 * (size_t)nf;
        }
        if (span >= R->el.n - p || rv_elem_int(&e[p + span], &lpc) || lpc != (int64_t)span)
            return rv_bad(R, "a stream entry cut short or with a bad element count");
        s->pos = p + span + 1;
        if (flags & RV_STREAM_DELETED) {
            s->deleted++;
            continue;
        }
        StreamId id = {s->master.ms + (uint64_t)msd, s->master.seq + (uint64_t)seqd};
        if (s->any && typecopy_id_cmp(id, s->prev) <= 0)
            return rv_bad(R, "stream entry %llu-%llu after %llu-%llu", id.ms, id.seq, s->prev.ms, s->prev.seq);
        s->any = 1;
        s->prev = id;
        s->live++;
        s->seen++;
        s->eid = id;
        s->same = same;
        s->nf = (size_t)nf;
        s->at = at;
        s->have = 1;
        return 0;
    }
}

static int rv_xadd_entry(Rv *R, RvStream *s) {
    if (rv_cmd(R, "XADD") != 0 || rv_id(R, s->eid) != 0) return -1;
    for (size_t i = 0; i < s->nf; i++) {
        const RvElem *f = s->same ? &R->el.v[s->mf_at + i] : &R->el.v[s->at + 2 * i];
        const RvElem *v = s->same ? &R->el.v[s->at + i] : &R->el.v[s->at + 2 * i + 1];
        if (rv_put(R, rv_elem_p(f), f->n) != 0 || rv_put(R, rv_elem_p(v), v->n) != 0) return -1;
    }
    R->res.elements++;
    return rv_send(R);
}

static int rv_xadd_placeholder(Rv *R, StreamId id) {
    if (rv_cmd(R, "XADD") != 0 || rv_id(R, id) != 0 || rv_str(R, TYPECOPY_PLACEHOLDER) != 0 || rv_str(R, "1") != 0)
        return -1;
    return rv_send(R);
}

static int rv_xdel(Rv *R, StreamId id) {
    if (rv_cmd(R, "XDEL") != 0 || rv_id(R, id) != 0) return -1;
    return rv_send(R);
}

static int rv_stream_write(Rv *R, RvStream *s) {
    /* Groups first (MKSTREAM creates the key), with their final positions:
     * XADD and XCLAIM do not move them. */
    for (size_t i = 0; i < s->ng; i++) {
        RvGroup *g = &s->g[i];
        if (rv_cmd_sub(R, "XGROUP", "CREATE") != 0) return -1;
        if (rv_lit(R, g->name.p, g->name.n) != 0 || rv_id(R, g->last) != 0 || rv_str(R, "MKSTREAM") != 0) return -1;
        if (R->dst7 && s->v2 && (rv_str(R, "ENTRIESREAD") != 0 || rv_fmt(R, "%lld", (long long)g->entries_read) != 0))
            return -1;
        if (rv_send(R) != 0) return -1;
        for (size_t c = 0; R->dst62 && c < g->ncons; c++) {
            if (rv_cmd_sub(R, "XGROUP", "CREATECONSUMER") != 0) return -1;
            if (rv_lit(R, g->name.p, g->name.n) != 0 || rv_lit(R, g->cons[c].p, g->cons[c].n) != 0 || rv_send(R) != 0)
                return -1;
        }
    }

    /* Merge, in ID order, the entries with every group's pending entries:
     * XADD each entry; a pending entry whose stream entry is gone gets a
     * placeholder entry, is claimed, and the placeholder goes again (XDEL
     * in the middle right after its claims; XTRIM for those before the
     * first real entry). As typecopy.c. */
    StreamId last_added = {0, 0}, first_real = {0, 0}, pending_del = {0, 0};
    int any_added = 0, has_real = 0, has_pending_del = 0, head_placeholders = 0;
    if (rv_entry_next(R, s) != 0) return -1;
    for (;;) {
        RvGroup *pg = NULL;
        for (size_t i = 0; i < s->ng; i++) {
            RvGroup *g = &s->g[i];
            if (g->pos < g->npel && (!pg || typecopy_id_cmp(g->pel[g->pos].id, pg->pel[pg->pos].id) < 0)) pg = g;
        }
        if (!s->have && !pg) break;
        StreamId pid = pg ? pg->pel[pg->pos].id : (StreamId){0, 0};
        if (pg && any_added && typecopy_id_cmp(pid, last_added) <= 0) {
            RvNack *k = &pg->pel[pg->pos++];
            RvName *cn = &pg->cons[k->consumer - 1];
            if (rv_cmd(R, "XCLAIM") != 0 || rv_lit(R, pg->name.p, pg->name.n) != 0 || rv_lit(R, cn->p, cn->n) != 0 ||
                rv_str(R, "0") != 0 || rv_id(R, pid) != 0 || rv_str(R, "TIME") != 0 ||
                rv_fmt(R, "%lld", (long long)k->delivery) != 0 || rv_str(R, "RETRYCOUNT") != 0 ||
                rv_fmt(R, "%llu", (unsigned long long)k->count) != 0 || rv_str(R, "FORCE") != 0 ||
                rv_str(R, "JUSTID") != 0)
                return -1;
            R->res.elements++;
            if (rv_send(R) != 0) return -1;
            continue;
        }
        if (has_pending_del) {
            if (rv_xdel(R, pending_del) != 0) return -1;
            has_pending_del = 0;
        }
        if (s->have && (!pg || typecopy_id_cmp(s->eid, pid) <= 0)) {
            if (rv_xadd_entry(R, s) != 0) return -1;
            last_added = s->eid;
            if (!has_real) first_real = s->eid;
            has_real = 1;
            if (rv_entry_next(R, s) != 0) return -1;
        } else {
            if (rv_xadd_placeholder(R, pid) != 0) return -1;
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
    if (has_pending_del && rv_xdel(R, pending_del) != 0) return -1;
    if (head_placeholders) {
        if (rv_cmd(R, "XTRIM") != 0 || rv_str(R, has_real ? "MINID" : "MAXLEN") != 0 || rv_str(R, "=") != 0) return -1;
        if ((has_real ? rv_id(R, first_real) : rv_str(R, "0")) != 0 || rv_send(R) != 0) return -1;
    }
    if (!any_added && !s->ng) {
        /* Empty, no groups: create it empty (MAXLEN 0 does not touch
         * max-deleted-entry-id; XSETID below sets the IDs). */
        if (rv_cmd(R, "XADD") != 0 || rv_str(R, "MAXLEN") != 0 || rv_str(R, "0") != 0 || rv_str(R, "0-1") != 0 ||
            rv_str(R, TYPECOPY_PLACEHOLDER) != 0 || rv_str(R, "1") != 0 || rv_send(R) != 0)
            return -1;
    }
    if (rv_cmd(R, "XSETID") != 0 || rv_id(R, s->last) != 0) return -1;
    if (R->dst7 && s->v2 &&
        (rv_str(R, "ENTRIESADDED") != 0 || rv_fmt(R, "%llu", (unsigned long long)s->entries_added) != 0 ||
         rv_str(R, "MAXDELETEDID") != 0 || rv_id(R, s->max_deleted) != 0))
        return -1;
    return rv_send(R);
}

static int rv_stream(Rv *R, int type, RdbCursor *c) {
    RvStream s;
    memset(&s, 0, sizeof s);
    int rc = -1;
    if (rv_len_at(R, c, &s.nodes, "the stream node count") != 0) goto out;
    s.nc = (RdbCursor){c->p, c->end, NULL};
    for (uint64_t i = 0; i < s.nodes; i++) /* to the counters and groups, which come first on the target */
        if (rv_skip_string(R, c, "a stream node key") != 0 || rv_skip_string(R, c, "a stream node") != 0) goto out;
    if (rv_stream_meta(R, type, c, &s) != 0) goto out;
    s.node_left = s.nodes;
    R->el.n = 0;
    s.pos = 0;
    if (rv_stream_write(R, &s) != 0) goto out;
    rc = 0;
out:
    rv_stream_free(&s);
    return rc;
}

/* ------------------------------------------------------------------ public */

int rdbvalue_type_min_version(int t, int valkey) {
    switch (t) {
    case RDB_TYPE_STRING:
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
    case RDB_TYPE_ZSET:
    case RDB_TYPE_HASH:
    /* The old compact encodings predate every server ferry meets. */
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_HASH_ZIPLIST: return 1;
    case RDB_TYPE_LIST_QUICKLIST: return 7;
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_MODULE_2: return 8;
    case RDB_TYPE_STREAM_LISTPACKS: return 9;
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_ZSET_LISTPACK:
    case RDB_TYPE_LIST_QUICKLIST_2:
    case RDB_TYPE_STREAM_LISTPACKS_2: return 10;
    case RDB_TYPE_SET_LISTPACK:
    case RDB_TYPE_STREAM_LISTPACKS_3: return 11;
    case 22: return valkey ? RDB_VERSION_VALKEY : 12;
    case RDB_TYPE_HASH_LISTPACK_EX_PRE_GA:
    case RDB_TYPE_HASH_METADATA:
    case RDB_TYPE_HASH_LISTPACK_EX: return valkey ? 0 : 12;
    }
    return 0; /* unknown, or type 6 (pre-GA modules), which no server loads any more */
}

/* 1 if a target of payload version dst loads this type byte as the
 * payload's flavour means it. */
static int rv_type_loads(int t, int valkey, int dst) {
    int m = rdbvalue_type_min_version(t, valkey);
    if (!m) return 0;
    if (dst >= RDB_VERSION_VALKEY) return valkey ? m <= dst : m <= 11; /* Valkey 9: Redis types up to 7.2's */
    if (m > RDB_VERSION_REDIS_MAX) return 0;                             /* Valkey 9's own type 22 */
    return m <= dst;
}

RvPlan rdbvalue_plan(int rdb_type, int payload_rdb, int valkey, int dst_rdb, int type_based) {
    if (type_based) return RV_COMMANDS;
    if (serverinfo_payload_compatible(payload_rdb, dst_rdb)) return RV_RESTORE;
    return rv_type_loads(rdb_type, valkey, dst_rdb) ? RV_RESTORE_REVERSION : RV_COMMANDS;
}

int rdbvalue_set_version(unsigned char *payload, size_t len, int version) {
    if (!payload || len < 1 + RDB_PAYLOAD_FOOTER || version < 0 || version > 0xffff) return -1;
    unsigned char *f = payload + len - RDB_PAYLOAD_FOOTER;
    f[0] = (unsigned char)(version & 0xff);
    f[1] = (unsigned char)(version >> 8);
    uint64_t crc = crc64(0, payload, len - 8);
    for (int i = 0; i < 8; i++) f[2 + i] = (unsigned char)(crc >> (8 * i));
    return 0;
}

int rdbvalue_commands(const unsigned char *payload, size_t len, int has_footer, const char *key, size_t klen,
                      const RvOptions *o, RvEmitFn emit, void *ud, RvResult *res, char *err, size_t errlen) {
    Rv R;
    memset(&R, 0, sizeof R);
    R.payload = payload;
    R.len = len;
    R.key = key;
    R.klen = klen;
    R.emit = emit;
    R.ud = ud;
    R.err = err;
    R.errlen = errlen;
    R.batch = o && o->batch > 0 ? o->batch : RV_BATCH_DEFAULT;
    int dv = o && o->dst_version > 0 ? o->dst_version : 700;
    int dvalkey = o && o->dst_valkey;
    R.dst7 = dvalkey || dv >= 700;
    R.dst62 = dvalkey || dv >= 602;
    R.hpexpire = dvalkey ? dv >= 900 : dv >= 704;
    R.valkey = o && o->valkey;
    R.now_ms = o && o->now_ms > 0 ? o->now_ms : util_now_ms();
    util_escape_key(key ? key : "", key ? klen : 0, R.kdesc, sizeof R.kdesc);
    R.tname = "unknown type";
    if (res) memset(res, 0, sizeof(*res));

    int rc = -1;
    size_t vlen = len;
    RdbCursor c = {NULL, NULL, NULL};
    if (!payload || len < 1 + (has_footer ? RDB_PAYLOAD_FOOTER : 0)) {
        rv_bad(&R, "%zu bytes", len);
        goto out;
    }
    int type = payload[0];
    if (rdb_type_name(type)) R.tname = rdb_type_name(type);
    if (has_footer) {
        int version;
        if (rdb_payload_verify(payload, len, &version) != 0) {
            rv_bad(&R, "its checksum does not match its bytes");
            goto out;
        }
        if (version >= RDB_VERSION_VALKEY) R.valkey = 1;
        vlen = len - RDB_PAYLOAD_FOOTER;
    }
    c = (RdbCursor){payload + 1, payload + vlen, NULL};
    switch (type) {
    case RDB_TYPE_STRING: {
        const unsigned char *s;
        size_t n;
        char num[24];
        rc = rv_string_at(&R, &c, &s, &n, num, "the string") != 0 || rv_cmd(&R, "SET") != 0 || rv_put(&R, s, n) != 0
                 ? -1
                 : (R.res.elements++, rv_send(&R));
        break;
    }
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: rc = rv_list(&R, type, &c); break;
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_SET_LISTPACK: rc = rv_set(&R, type, &c); break;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK: rc = rv_zset(&R, type, &c); break;
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK:
    case 22:
    case RDB_TYPE_HASH_LISTPACK_EX_PRE_GA:
    case RDB_TYPE_HASH_METADATA:
    case RDB_TYPE_HASH_LISTPACK_EX:
        if (R.valkey && type > 22) {
            R.tname = "unknown type";
            util_err(err, errlen, "key \"%s\": type %d does not exist in a Valkey payload; the value was not rebuilt",
                     R.kdesc, type);
            break;
        }
        rc = rv_hash(&R, type, &c);
        break;
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
    case RDB_TYPE_STREAM_LISTPACKS_3: rc = rv_stream(&R, type, &c); break;
    case RDB_TYPE_MODULE_PRE_GA:
    case RDB_TYPE_MODULE_2: {
        uint64_t id;
        int enc;
        char name[10] = "unknown";
        if (rdb_cursor_len(&c, &id, &enc) == 0 && enc < 0) rdb_module_name(id, name);
        util_err(err, errlen, "key \"%s\" is a module value (%s): it can only be RESTOREd, by a target that loads "
                 "the module", R.kdesc, name);
        break;
    }
    default:
        util_err(err, errlen, "key \"%s\": unknown value type %d in its DUMP payload; the value was not rebuilt",
                 R.kdesc, type);
        break;
    }
    if (rc == 0 && c.p != c.end) rc = rv_bad(&R, "%zu bytes after the value", (size_t)(c.end - c.p));
    if (rc == 0 && R.res.commands == 0 && R.res.fields_expired == 0) rc = rv_bad(&R, "an empty value");
out:
    rdb_cursor_free(&c);
    if (res) *res = R.res;
    free(R.args);
    free(R.arena);
    free(R.argv);
    free(R.lens);
    free(R.ttl);
    free(R.el.v);
    if (rc != 0 && R.stop) return R.stop;
    return rc;
}
