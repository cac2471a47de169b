/* testutil — shared integration-test plumbing; see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void tu_server_start(Sandbox *s, const char *const *extra) {
    char err[FERRY_ERR_LEN];
    if (sandbox_start(s, extra, NULL, err, sizeof(err)) != 0) fail_msg("sandbox_start: %s", err);
}

Conn *tu_connect(const Sandbox *s, int db) {
    ConnConfig cfg;
    char uri[128], err[FERRY_ERR_LEN];
    conn_config_init(&cfg, "test");
    sandbox_uri(s, db, uri, sizeof(uri));
    if (uri_parse(uri, &cfg.uri, err, sizeof(err)) != 0) fail_msg("uri: %s", err);
    util_strlcpy(cfg.client_name, "ferry-test", sizeof(cfg.client_name));
    Conn *c = conn_open(&cfg, err, sizeof(err));
    if (!c) fail_msg("connect %s: %s", uri, err);
    return c;
}

/* Formats with hiredis's formatter, splits the RESP array back into argv
 * and sends it through conn: one path for every varargs helper. */
static redisReply *tu_vcmd(Conn *c, const char *fmt, va_list ap) {
    char *cmd;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0 || cmd[0] != '*') fail_msg("bad command format %s", fmt);
    int argc = atoi(cmd + 1);
    const char **argv = calloc((size_t)argc + 1, sizeof(char *));
    size_t *lens = calloc((size_t)argc + 1, sizeof(size_t));
    const char *p = strchr(cmd, '\n') + 1;
    for (int i = 0; i < argc; i++) {
        lens[i] = (size_t)atol(p + 1);
        p = strchr(p, '\n') + 1;
        argv[i] = p;
        p += lens[i] + 2;
    }
    redisReply *r = conn_command_argv(c, argc, argv, lens);
    free(argv);
    free(lens);
    free(cmd);
    if (!r) fail_msg("command \"%s\": I/O error: %s", fmt, conn_errstr(c));
    return r;
}

redisReply *tu_cmd(Conn *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = tu_vcmd(c, fmt, ap);
    va_end(ap);
    return r;
}

void tu_ok(Conn *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = tu_vcmd(c, fmt, ap);
    va_end(ap);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("command \"%s\" failed: %s", fmt, r->str);
    freeReplyObject(r);
}

long long tu_int(Conn *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = tu_vcmd(c, fmt, ap);
    va_end(ap);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("command \"%s\" answered %s, not an integer", fmt, r->type == REDIS_REPLY_ERROR ? r->str : "a non-integer");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

void tu_pipeline_ok(Conn *c, int n) {
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (conn_get_reply(c, &r) != 0) fail_msg("pipeline: %s", conn_errstr(c));
        if (r->type == REDIS_REPLY_ERROR) fail_msg("pipeline: %s", r->str);
        freeReplyObject(r);
    }
}

int tu_contains(const char *haystack, const char *needle) { return strstr(haystack, needle) != NULL; }

static void tu_drain(int fd, char *buf, size_t cap, size_t *used) {
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n <= 0) return;
    size_t room = cap - 1 - *used;
    size_t k = (size_t)n < room ? (size_t)n : room;
    memcpy(buf + *used, tmp, k);
    *used += k;
    buf[*used] = '\0';
}

void tu_ferry(TuRun *r, int timeout_s, const char *const *env, const char *const *args) {
    int po[2], pe[2];
    memset(r, 0, sizeof(*r));
    if (pipe(po) || pipe(pe)) fail_msg("pipe: %s", strerror(errno));
    int64_t t0 = util_mono_ms();
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
        const char *argv[64];
        int n = 0;
        argv[n++] = FERRY_BIN;
        for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(FERRY_BIN, (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t ou = 0, eu = 0;
    int open_fds = 2, killed = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    while (open_fds > 0) {
        int left = (int)(timeout_s * 1000 - (util_mono_ms() - t0));
        if (left <= 0 && !killed) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        if (poll(fds, 2, left > 0 ? (left < 200 ? left : 200) : 200) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            size_t before = i == 0 ? ou : eu;
            if (i == 0)
                tu_drain(fds[i].fd, r->out, sizeof(r->out), &ou);
            else
                tu_drain(fds[i].fd, r->err, sizeof(r->err), &eu);
            size_t after = i == 0 ? ou : eu;
            if (after == before) {
                /* EOF (or the buffer is full: keep reading to avoid a stall). */
                char sink[4096];
                if (read(fds[i].fd, sink, sizeof(sink)) <= 0) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    open_fds--;
                }
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->seconds = (double)(util_mono_ms() - t0) / 1000.0;
    if (killed) fail_msg("ferry did not finish within %d s; stderr: %s", timeout_s, r->err);
}

int tu_reply_equal(const redisReply *x, const redisReply *y) { return conn_reply_equal(x, y); }

static int tu_cmp_str(const void *x, const void *y) {
    const redisReply *a = *(redisReply *const *)x, *b = *(redisReply *const *)y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, n);
    return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* Sorted members (set) or field/value pairs sorted by field (hash): the
 * same value may be DUMPed in another order by another server's table. */
static redisReply *tu_canonical(Conn *c, const char *type, const char *k, size_t kl) {
    int hash = !strcmp(type, "hash");
    if (!hash && strcmp(type, "set")) fail_msg("key %.*s: DUMP payloads differ (%s)", (int)kl, k, type);
    const char *a[2] = {hash ? "HGETALL" : "SMEMBERS", k};
    size_t l[2] = {strlen(a[0]), kl};
    redisReply *r = conn_command_argv(c, 2, a, l);
    if (!r || r->type != REDIS_REPLY_ARRAY) fail_msg("reading %.*s failed", (int)kl, k);
    if (hash) {
        size_t n = r->elements / 2;
        redisReply **pairs = malloc(sizeof(*pairs) * (r->elements ? r->elements : 1));
        size_t *order = malloc(sizeof(*order) * (n ? n : 1));
        redisReply **fields = malloc(sizeof(*fields) * (n ? n : 1));
        for (size_t i = 0; i < n; i++) fields[i] = r->element[2 * i];
        qsort(fields, n, sizeof(*fields), tu_cmp_str);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                if (r->element[2 * j] == fields[i]) order[i] = j;
        for (size_t i = 0; i < n; i++) {
            pairs[2 * i] = r->element[2 * order[i]];
            pairs[2 * i + 1] = r->element[2 * order[i] + 1];
        }
        memcpy(r->element, pairs, sizeof(*pairs) * r->elements);
        free(pairs);
        free(order);
        free(fields);
    } else {
        qsort(r->element, r->elements, sizeof(*r->element), tu_cmp_str);
    }
    return r;
}

/* Appends TYPE, DUMP and PEXPIRETIME of every key to c (one pipeline). */
static void tu_append_facts(Conn *c, redisReply *keys) {
    for (size_t i = 0; i < keys->elements; i++) {
        const char *a[2] = {"TYPE", keys->element[i]->str};
        size_t l[2] = {4, keys->element[i]->len};
        conn_append_argv(c, 2, a, l);
        a[0] = "DUMP";
        conn_append_argv(c, 2, a, l);
        a[0] = "PEXPIRETIME";
        l[0] = 11;
        conn_append_argv(c, 2, a, l);
    }
}

static redisReply *tu_reply(Conn *c) {
    redisReply *r;
    if (conn_get_reply(c, &r) != 0) fail_msg("reading a reply failed: %s", conn_errstr(c));
    return r;
}

static long tu_one_way(Conn *a, Conn *b, int check_values) {
    uint64_t cursor = 0;
    long n = 0;
    do {
        char cur[32];
        snprintf(cur, sizeof(cur), "%llu", (unsigned long long)cursor);
        redisReply *r = tu_cmd(a, "SCAN %s COUNT 1000", cur);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        cursor = strtoull(r->element[0]->str, NULL, 10);
        redisReply *keys = r->element[1];
        tu_append_facts(a, keys);
        tu_append_facts(b, keys);
        for (size_t i = 0; i < keys->elements; i++) {
            const char *k = keys->element[i]->str;
            size_t kl = keys->element[i]->len;
            redisReply *ta = tu_reply(a), *da = tu_reply(a), *xa = tu_reply(a);
            redisReply *tb = tu_reply(b), *db = tu_reply(b), *xb = tu_reply(b);
            if (!tu_reply_equal(ta, tb))
                fail_msg("key %.*s: type %s on one side, %s on the other", (int)kl, k, ta->str, tb->str);
            if (check_values) {
                if (!tu_reply_equal(xa, xb))
                    fail_msg("key %.*s: absolute expiry %lld vs %lld", (int)kl, k, xa->integer, xb->integer);
                if (!tu_reply_equal(da, db) && strcmp(ta->str, "set") && strcmp(ta->str, "hash"))
                    fail_msg("key %.*s: DUMP payloads differ", (int)kl, k);
            }
            /* Sets and hashes in a hash table may DUMP in another order, and
             * streams are compared field by field as well: after the
             * pipeline, one key at a time. */
            int deep = check_values && (!tu_reply_equal(da, db) || !strcmp(ta->str, "stream"));
            freeReplyObject(ta);
            freeReplyObject(tb);
            freeReplyObject(da);
            freeReplyObject(db);
            freeReplyObject(xa);
            freeReplyObject(xb);
            keys->element[i]->integer = deep; /* remember, on the SCAN reply */
            n++;
        }
        for (size_t i = 0; i < keys->elements; i++) {
            if (!keys->element[i]->integer) continue;
            const char *k = keys->element[i]->str;
            size_t kl = keys->element[i]->len;
            const char *ta[2] = {"TYPE", k};
            size_t tl[2] = {4, kl};
            redisReply *t = conn_command_argv(a, 2, ta, tl);
            if (!strcmp(t->str, "stream")) {
                const char *xf[4] = {"XINFO", "STREAM", k, "FULL"};
                size_t xl[4] = {5, 6, kl, 4};
                redisReply *sa = conn_command_argv(a, 4, xf, xl);
                redisReply *sb = conn_command_argv(b, 4, xf, xl);
                if (!tu_reply_equal(sa, sb)) fail_msg("stream %.*s: XINFO STREAM FULL differs", (int)kl, k);
                freeReplyObject(sa);
                freeReplyObject(sb);
            } else {
                redisReply *ca = tu_canonical(a, t->str, k, kl), *cb = tu_canonical(b, t->str, k, kl);
                if (!tu_reply_equal(ca, cb)) fail_msg("key %.*s: %s contents differ", (int)kl, k, t->str);
                freeReplyObject(ca);
                freeReplyObject(cb);
            }
            freeReplyObject(t);
        }
        freeReplyObject(r);
    } while (cursor != 0);
    return n;
}

long tu_assert_same_keyspace(Conn *a, int adb, Conn *b, int bdb) {
    tu_ok(a, "SELECT %d", adb);
    tu_ok(b, "SELECT %d", bdb);
    long n = tu_one_way(a, b, 1);
    long m = tu_one_way(b, a, 0); /* every target key exists on the source */
    assert_int_equal(n, m);
    assert_int_equal(tu_int(a, "DBSIZE"), tu_int(b, "DBSIZE"));
    return n;
}


static int tu_key_is(const redisReply *k, const char *name) {
    return k->type == REDIS_REPLY_STRING && k->len == strlen(name) && !memcmp(k->str, name, k->len);
}

/* Fields of XINFO STREAM FULL that may differ after a type-based copy (see
 * typecopy.h): the listpack layout, and consumers' last-seen/active times. */
static const char *const tu_stream_mask[] = {"radix-tree-keys", "radix-tree-nodes", NULL};
static const char *const tu_consumer_mask[] = {"seen-time", "active-time", NULL};

static int tu_in_mask(const redisReply *k, const char *const *mask) {
    for (int i = 0; mask && mask[i]; i++)
        if (tu_key_is(k, mask[i])) return 1;
    return 0;
}

/* Compares two RESP2 maps (flat key/value arrays), skipping masked fields;
 * "groups" and "consumers" hold arrays of maps compared the same way.
 * Returns 0, or 1 with the first difference in why. */
static int tu_map_diff(const redisReply *x, const redisReply *y, const char *const *mask, const char *where,
                    char *why, size_t wlen) {
    if (x->type != REDIS_REPLY_ARRAY || y->type != REDIS_REPLY_ARRAY || x->elements != y->elements) {
        snprintf(why, wlen, "%s: shapes differ (%zu vs %zu fields)", where, x->elements, y->elements);
        return 1;
    }
    for (size_t i = 0; i + 1 < x->elements; i += 2) {
        const redisReply *k = x->element[i];
        if (!tu_reply_equal(k, y->element[i])) {
            snprintf(why, wlen, "%s: field %zu is %s vs %s", where, i, k->str, y->element[i]->str);
            return 1;
        }
        if (tu_in_mask(k, mask)) continue;
        const redisReply *vx = x->element[i + 1], *vy = y->element[i + 1];
        char sub[256];
        if (tu_key_is(k, "groups") || tu_key_is(k, "consumers")) {
            if (vx->elements != vy->elements) {
                snprintf(why, wlen, "%s.%s: %zu vs %zu", where, k->str, vx->elements, vy->elements);
                return 1;
            }
            for (size_t j = 0; j < vx->elements; j++) {
                snprintf(sub, sizeof sub, "%s.%s[%zu]", where, k->str, j);
                if (tu_map_diff(vx->element[j], vy->element[j], tu_key_is(k, "consumers") ? tu_consumer_mask : NULL, sub,
                             why, wlen))
                    return 1;
            }
        } else if (!tu_reply_equal(vx, vy)) {
            if (vx->type == REDIS_REPLY_INTEGER && vy->type == REDIS_REPLY_INTEGER)
                snprintf(why, wlen, "%s.%s: %lld on the source, %lld on the target", where, k->str, vx->integer,
                         vy->integer);
            else if (vx->type == REDIS_REPLY_STRING && vy->type == REDIS_REPLY_STRING)
                snprintf(why, wlen, "%s.%s: %s on the source, %s on the target", where, k->str, vx->str, vy->str);
            else
                snprintf(why, wlen, "%s.%s differs", where, k->str);
            return 1;
        }
    }
    return 0;
}

static int tu_cmp_reply(const void *p, const void *q) {
    const redisReply *a = *(redisReply *const *)p, *b = *(redisReply *const *)q;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, n);
    return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* Field/value pairs sorted by field. */
static void tu_sort_pairs(redisReply *r) {
    size_t n = r->elements / 2;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && tu_cmp_reply(&r->element[2 * j - 2], &r->element[2 * j]) > 0; j--) {
            redisReply *f = r->element[2 * j - 2], *v = r->element[2 * j - 1];
            r->element[2 * j - 2] = r->element[2 * j];
            r->element[2 * j - 1] = r->element[2 * j + 1];
            r->element[2 * j] = f;
            r->element[2 * j + 1] = v;
        }
}

redisReply *tu_read_value(Conn *c, const char *type, const char *k, size_t kl) {
    const char *a[6] = {NULL, k, NULL, NULL, NULL, NULL};
    size_t l[6] = {0, kl, 0, 0, 0, 0};
    int argc = 2;
    if (!strcmp(type, "string")) a[0] = "GET";
    else if (!strcmp(type, "hash")) a[0] = "HGETALL";
    else if (!strcmp(type, "set")) a[0] = "SMEMBERS";
    else if (!strcmp(type, "list")) a[0] = "LRANGE", a[2] = "0", a[3] = "-1", argc = 4;
    else if (!strcmp(type, "zset")) a[0] = "ZRANGE", a[2] = "0", a[3] = "-1", a[4] = "WITHSCORES", argc = 5;
    else a[0] = "XINFO", a[1] = "STREAM", a[2] = k, a[3] = "FULL", a[4] = "COUNT", a[5] = "0", argc = 6;
    for (int i = 0; i < argc; i++) l[i] = (a[i] == k) ? kl : strlen(a[i]);
    redisReply *r = conn_command_argv(c, argc, a, l);
    if (!r || r->type == REDIS_REPLY_ERROR) fail_msg("reading %.*s failed", (int)kl, k);
    if (!strcmp(type, "hash")) tu_sort_pairs(r);
    if (!strcmp(type, "set")) qsort(r->element, r->elements, sizeof(*r->element), tu_cmp_reply);
    return r;
}


int tu_stream_diff(const redisReply *x, const redisReply *y, const char *where, char *why, size_t wlen) {
    return tu_map_diff(x, y, tu_stream_mask, where, why, wlen);
}

static long long tu_expiry_of(Conn *c, const char *k, size_t kl) {
    const char *a[2] = {"PEXPIRETIME", k};
    size_t l[2] = {11, kl};
    redisReply *r = conn_command_argv(c, 2, a, l);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

void tu_assert_same_value(Conn *a, Conn *b, const char *k, size_t kl) {
    const char *ta[2] = {"TYPE", k};
    size_t tl[2] = {4, kl};
    redisReply *tx = conn_command_argv(a, 2, ta, tl), *ty = conn_command_argv(b, 2, ta, tl);
    if (!tx || !ty) fail_msg("key %.*s: TYPE failed", (int)kl, k);
    if (strcmp(tx->str, ty->str)) fail_msg("key %.*s: %s on the source, %s on the target", (int)kl, k, tx->str, ty->str);
    redisReply *vx = tu_read_value(a, tx->str, k, kl), *vy = tu_read_value(b, tx->str, k, kl);
    char where[200], why[512];
    snprintf(where, sizeof where, "stream %.*s", (int)(kl > 100 ? 100 : kl), k);
    if (!strcmp(tx->str, "stream")) {
        if (tu_stream_diff(vx, vy, where, why, sizeof why)) fail_msg("%s", why);
    } else if (!tu_reply_equal(vx, vy)) {
        fail_msg("key %.*s (%s): values differ", (int)kl, k, tx->str);
    }
    freeReplyObject(vx);
    freeReplyObject(vy);
    freeReplyObject(tx);
    freeReplyObject(ty);
}

long tu_assert_same_contents(Conn *a, int adb, Conn *b, int bdb) {
    if (adb >= 0) tu_ok(a, "SELECT %d", adb);
    if (bdb >= 0) tu_ok(b, "SELECT %d", bdb);
    long n = 0;
    uint64_t cursor = 0;
    do {
        redisReply *keys = tu_cmd(a, "SCAN %llu COUNT 1000", (unsigned long long)cursor);
        cursor = strtoull(keys->element[0]->str, NULL, 10);
        for (size_t i = 0; i < keys->element[1]->elements; i++, n++) {
            const char *k = keys->element[1]->element[i]->str;
            size_t kl = keys->element[1]->element[i]->len;
            tu_assert_same_value(a, b, k, kl);
            long long ex = tu_expiry_of(a, k, kl), ey = tu_expiry_of(b, k, kl);
            if (ex != ey) fail_msg("key %.*s: expiry %lld on the source, %lld on the target", (int)kl, k, ex, ey);
        }
        freeReplyObject(keys);
    } while (cursor != 0);
    assert_int_equal(tu_int(a, "DBSIZE"), tu_int(b, "DBSIZE"));
    return n;
}

long tu_fill_every_type(Conn *c, const char *p) {
    long n = 0;
    char big[4096];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* Strings: raw, embstr, int; with and without TTL. */
    tu_ok(c, "SET %sstr:plain hello", p); n++;
    tu_ok(c, "SET %sstr:int 12345", p); n++;
    tu_ok(c, "SET %sstr:big %s", p, big); n++;
    tu_ok(c, "SET %sstr:ttl expiring PX 3600000", p); n++;
    tu_ok(c, "SET %sstr:bin %b", p, "a\0b\r\n\xff", (size_t)7); n++;
    tu_ok(c, "SET %s%b v", p, "key with spaces\n\x01", (size_t)17); n++;
    /* Lists: listpack and quicklist. */
    tu_ok(c, "RPUSH %slist:small a b c 1 2 3", p); n++;
    for (int i = 0; i < 400; i++) tu_ok(c, "RPUSH %slist:big item-%d-%s", p, i, i % 50 ? "x" : big);
    n++;
    tu_ok(c, "PEXPIRE %slist:big 7200000", p);
    /* Sets: intset, listpack, hashtable. */
    tu_ok(c, "SADD %sset:int 1 2 3 4 5", p); n++;
    tu_ok(c, "SADD %sset:small a b c", p); n++;
    for (int i = 0; i < 300; i++) tu_ok(c, "SADD %sset:big member-%d", p, i);
    n++;
    /* Sorted sets: listpack and skiplist. */
    tu_ok(c, "ZADD %szset:small 1 a 2 b 3.5 c", p); n++;
    for (int i = 0; i < 300; i++) tu_ok(c, "ZADD %szset:big %d m%d", p, i, i);
    n++;
    tu_ok(c, "PEXPIRE %szset:big 9000000", p);
    /* Hashes: listpack and hashtable. */
    tu_ok(c, "HSET %shash:small f1 v1 f2 v2", p); n++;
    for (int i = 0; i < 300; i++) tu_ok(c, "HSET %shash:big field-%d value-%d", p, i, i);
    n++;
    /* Streams with groups, consumers, pending entries, deletions. */
    for (int i = 1; i <= 50; i++) tu_ok(c, "XADD %sstream:events %d-1 n %d", p, i, i);
    tu_ok(c, "XDEL %sstream:events 7-1", p);
    tu_ok(c, "XGROUP CREATE %sstream:events billing 0", p);
    tu_ok(c, "XGROUP CREATE %sstream:events audit 0", p);
    tu_ok(c, "XGROUP CREATECONSUMER %sstream:events audit idle-consumer", p);
    redisReply *r = tu_cmd(c, "XREADGROUP GROUP billing alice COUNT 10 STREAMS %sstream:events >", p);
    freeReplyObject(r);
    r = tu_cmd(c, "XREADGROUP GROUP billing bob COUNT 5 STREAMS %sstream:events >", p);
    freeReplyObject(r);
    tu_ok(c, "XACK %sstream:events billing 1-1 2-1 3-1", p);
    r = tu_cmd(c, "XREADGROUP GROUP audit carol COUNT 20 STREAMS %sstream:events >", p);
    freeReplyObject(r);
    n++;
    tu_ok(c, "XADD %sstream:empty-group 1-1 a b", p);
    tu_ok(c, "XGROUP CREATE %sstream:empty-group g $", p);
    tu_ok(c, "PEXPIRE %sstream:empty-group 5000000", p);
    n++;
    return n;
}

static void tu_readgroup(Conn *c, const char *key, const char *group, const char *consumer, int count,
                         const char *from) {
    redisReply *r = tu_cmd(c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s", group, consumer, count, key, from);
    freeReplyObject(r);
}

void tu_fill_streams(Conn *c) {
    /* 300 entries over several listpack nodes; two groups; consumers with
     * and without pending entries; delivery counts > 1; pending entries
     * whose stream entry was then deleted (middle) or trimmed (head). */
    for (int i = 1; i <= 300; i++)
        conn_append(c, "XADD s:events %d-%d n %d payload %s", 1000 + i, i % 3, i, i % 10 ? "x" : "yyyyyyyyyy");
    tu_pipeline_ok(c, 300);
    tu_ok(c, "XDEL s:events 1007-1 1050-2");
    tu_ok(c, "XGROUP CREATE s:events billing 0");
    tu_ok(c, "XGROUP CREATE s:events audit 0");
    tu_ok(c, "XGROUP CREATE s:events late $");
    tu_ok(c, "XGROUP CREATECONSUMER s:events audit idle-consumer");
    tu_readgroup(c, "s:events", "billing", "alice", 40, ">");
    tu_readgroup(c, "s:events", "billing", "bob", 20, ">");
    tu_ok(c, "XACK s:events billing 1001-1 1002-2 1003-0");
    /* Delivery counts: bob takes some of alice's entries twice, alice
     * re-reads her own history (each adds one delivery). */
    for (int k = 0; k < 3; k++) {
        redisReply *r = tu_cmd(c, "XCLAIM s:events billing bob 0 1010-1 1011-2 1012-0");
        freeReplyObject(r);
    }
    tu_readgroup(c, "s:events", "billing", "alice", 5, "0");
    tu_readgroup(c, "s:events", "billing", "alice", 5, "0");
    tu_readgroup(c, "s:events", "audit", "carol", 150, ">");
    /* Pending entries whose entry is gone: deleted in the middle... */
    tu_ok(c, "XDEL s:events 1020-0 1021-0 1100-1");
    /* ... and a stream whose delivered head was trimmed away. */
    for (int i = 1; i <= 40; i++) conn_append(c, "XADD s:trimmed %d-0 f %d", i, i);
    tu_pipeline_ok(c, 40);
    tu_ok(c, "XGROUP CREATE s:trimmed g 0");
    tu_readgroup(c, "s:trimmed", "g", "dora", 25, ">");
    tu_ok(c, "XTRIM s:trimmed MINID 15");
    /* A bigger stream: 2500 entries, 1200 pending over 3 consumers. */
    for (int i = 1; i <= 2500; i++) conn_append(c, "XADD s:big * k %d", i);
    tu_pipeline_ok(c, 2500);
    tu_ok(c, "XGROUP CREATE s:big g1 0");
    tu_ok(c, "XGROUP CREATE s:big g2 0");
    tu_readgroup(c, "s:big", "g1", "c1", 500, ">");
    tu_readgroup(c, "s:big", "g1", "c2", 400, ">");
    tu_readgroup(c, "s:big", "g2", "c3", 300, ">");
    tu_ok(c, "PEXPIREAT s:big %lld", util_now_ms() + 7200 * 1000 + 7);
    /* Empty streams: with a group (MKSTREAM), emptied with groups and
     * positions, emptied without groups. */
    tu_ok(c, "XGROUP CREATE s:empty-group g $ MKSTREAM");
    tu_ok(c, "XADD s:emptied 5-1 a 1");
    tu_ok(c, "XADD s:emptied 6-1 a 2");
    tu_ok(c, "XGROUP CREATE s:emptied g 0");
    tu_readgroup(c, "s:emptied", "g", "eve", 10, ">");
    tu_ok(c, "XDEL s:emptied 5-1 6-1");
    /* Deleted entries that nobody has pending: the source keeps their
     * tombstones in its listpack nodes, a copy packs the live entries
     * afresh, so radix-tree-keys differs here (3 vs 2): masked, documented. */
    for (int i = 1; i <= 300; i++) conn_append(c, "XADD s:holes %d-0 f %d", i, i);
    tu_pipeline_ok(c, 300);
    for (int i = 1; i <= 200; i += 2) conn_append(c, "XDEL s:holes %d-0", i);
    tu_pipeline_ok(c, 100);
    tu_ok(c, "XADD s:nogroup 9-9 a 1");
    tu_ok(c, "XDEL s:nogroup 9-9");
}

static int tu_rm_entry(const char *p, const struct stat *st, int f, struct FTW *w) {
    (void)st;
    (void)f;
    (void)w;
    return remove(p);
}

void tu_rm_tree(const char *dir) {
    if (dir && dir[0]) nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_make_certs(char *dir, size_t len) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, len, "%s/ferry-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        dir[0] = '\0';
        return -1;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "( cd '%s' && K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $K -keyout ca.key -out ca.crt -days 2 -subj /CN=ferry-test-ca && "
             "openssl req -x509 $K -keyout other-ca.key -out other-ca.crt -days 2 "
             "-subj /CN=ferry-other-ca && "
             "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext && "
             "openssl req -new $K -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out server.crt -days 2 -extfile server.ext && "
             "printf 'extendedKeyUsage=clientAuth\\n' > client.ext && "
             "openssl req -new $K -keyout client.key -out client.csr -subj /CN=ferry-client && "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out client.crt -days 2 -extfile client.ext ) >/dev/null 2>&1",
             dir);
    if (system(cmd) != 0) {
        tu_rm_tree(dir);
        dir[0] = '\0';
        return -1;
    }
    return 0;
}
