/* groups — the consumer-group sampler: one thread, one connection, a command
 * budget. See groups.h for what it does and what it promises.
 *
 * Threads: the sampler thread is the only writer of the stream table; it
 * reads it without the lock and changes it only under g->mu (after the
 * network round trip, never during one). groups_snapshot() (any thread)
 * reads it under g->mu. The sampler waits on g->cv with a monotonic clock, so
 * groups_stop() wakes it at once. Signals are blocked in the thread. */
#include "groups.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GROUPS_FAST_STREAK 8      /* quick round trips in a row before the spacing halves */
#define GROUPS_RETRY_MIN_MS 1000  /* reconnect backoff */
#define GROUPS_RETRY_MAX_MS 30000

typedef struct GGroup {
    char *name;
    size_t nlen;
    long long pending, lag, entries_read, consumers;
    char last_delivered[48];
} GGroup;

typedef struct GStream {
    char *key;
    size_t klen;
    uint64_t hash;
    GGroup *groups;
    size_t ngroups;
    int64_t sampled_ms; /* 0 = never */
    size_t idx;         /* position in Groups.streams */
    struct GStream *next;
} GStream;

struct Groups {
    GroupsConfig cfg;
    char side[16];
    char *tls[5];         /* own copies of cfg.conn.tls strings (reconnects need them) */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;             /* under mu */
    /* The stream table: written by the sampler thread under mu. */
    GStream **streams;
    size_t nstreams, cap;
    GStream **buckets;
    size_t nbuckets;
    size_t rr;            /* round-robin position (sampler thread only) */
    int capped;
    /* State published under mu. */
    GroupsState state;
    int passes, discovering, backoff;
    int64_t last_rtt_us;
    uint64_t commands;
    int64_t started_ms;
    char error[FERRY_ERR_LEN];
    /* Sampler-thread only. */
    Conn *conn;
    char cursor[32];
    int64_t next_pass_mono;
    int64_t next_send_us;
    int fast_streak;
    int scan_turn;
};

/* ---- the stream table ------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static GStream *table_find(Groups *g, const char *k, size_t kl, uint64_t h) {
    if (!g->nbuckets) return NULL;
    for (GStream *s = g->buckets[h & (g->nbuckets - 1)]; s; s = s->next)
        if (s->hash == h && s->klen == kl && !memcmp(s->key, k, kl)) return s;
    return NULL;
}

static int table_grow(Groups *g) {
    size_t nb = g->nbuckets ? g->nbuckets * 2 : 1024;
    GStream **b = calloc(nb, sizeof(*b));
    if (!b) return -1;
    for (size_t i = 0; i < g->nstreams; i++) {
        GStream *s = g->streams[i];
        s->next = b[s->hash & (nb - 1)];
        b[s->hash & (nb - 1)] = s;
    }
    free(g->buckets);
    g->buckets = b;
    g->nbuckets = nb;
    return 0;
}

static void stream_free(GStream *s) {
    for (size_t i = 0; i < s->ngroups; i++) free(s->groups[i].name);
    free(s->groups);
    free(s->key);
    free(s);
}

/* Adds key unless known. Caller holds mu. */
static void table_add(Groups *g, const char *k, size_t kl) {
    uint64_t h = hash_bytes(k, kl);
    if (table_find(g, k, kl, h)) return;
    if (g->nstreams >= g->cfg.max_streams) {
        g->capped = 1;
        return;
    }
    if (g->nstreams + 1 > g->nbuckets / 2 && table_grow(g) != 0) return;
    if (g->nstreams == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        GStream **a = realloc(g->streams, cap * sizeof(*a));
        if (!a) return;
        g->streams = a;
        g->cap = cap;
    }
    GStream *s = calloc(1, sizeof(*s));
    if (!s) return;
    s->key = malloc(kl + 1);
    if (!s->key) {
        free(s);
        return;
    }
    memcpy(s->key, k, kl);
    s->key[kl] = '\0';
    s->klen = kl;
    s->hash = h;
    s->idx = g->nstreams;
    g->streams[g->nstreams++] = s;
    s->next = g->buckets[h & (g->nbuckets - 1)];
    g->buckets[h & (g->nbuckets - 1)] = s;
}

/* Removes s (gone, or no longer a stream). Caller holds mu. */
static void table_remove(Groups *g, GStream *s) {
    GStream **pp = &g->buckets[s->hash & (g->nbuckets - 1)];
    while (*pp != s) pp = &(*pp)->next;
    *pp = s->next;
    size_t i = s->idx;
    g->streams[i] = g->streams[--g->nstreams];
    g->streams[i]->idx = i;
    stream_free(s);
    g->capped = 0; /* room again; the next pass finds what was left out */
}

/* ---- pacing ---------------------------------------------------------------------- */

/* Waits until the monotonic time `until_us`, or until stopped. 1 = stopped. */
static int sampler_wait_until(Groups *g, int64_t until_us) {
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        int64_t now = util_mono_us();
        if (now >= until_us) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wake_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (until_us - now) * 1000LL;
        ts.tv_sec = wake_ns / 1000000000LL;
        ts.tv_nsec = wake_ns % 1000000000LL;
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    int stop = g->stop;
    pthread_mutex_unlock(&g->mu);
    return stop;
}

static int64_t sampler_spacing_us(const Groups *g) {
    return (int64_t)1000000 / g->cfg.budget * g->backoff;
}

/* Blocks until the next command may go out, then books n commands. */
static int sampler_pace(Groups *g, int n) {
    if (sampler_wait_until(g, g->next_send_us)) return 1;
    int64_t now = util_mono_us();
    if (g->next_send_us < now) g->next_send_us = now;
    g->next_send_us += sampler_spacing_us(g) * n;
    pthread_mutex_lock(&g->mu);
    g->commands += (uint64_t)n;
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static void sampler_latency(Groups *g, int64_t rtt) {
    int b = g->backoff;
    if (rtt > g->cfg.slow_us) {
        g->fast_streak = 0;
        if (b < g->cfg.max_backoff) b = b * 2 > g->cfg.max_backoff ? g->cfg.max_backoff : b * 2;
    } else if (rtt < g->cfg.slow_us / 2) {
        if (++g->fast_streak >= GROUPS_FAST_STREAK && b > 1) {
            b /= 2;
            g->fast_streak = 0;
        }
    }
    pthread_mutex_lock(&g->mu);
    g->backoff = b;
    g->last_rtt_us = rtt;
    pthread_mutex_unlock(&g->mu);
}

static void sampler_publish(Groups *g, GroupsState st, const char *error) {
    pthread_mutex_lock(&g->mu);
    g->state = st;
    if (error) util_strlcpy(g->error, error, sizeof g->error);
    pthread_mutex_unlock(&g->mu);
}

/* ---- commands ------------------------------------------------------------------- */

/* Sends one command within the budget and reads its reply. NULL on I/O
 * error (or when stopped: *stopped = 1). */
static redisReply *sampler_command(Groups *g, int argc, const char **argv, const size_t *lens, int *stopped) {
    *stopped = 0;
    if (sampler_pace(g, 1)) {
        *stopped = 1;
        return NULL;
    }
    int64_t t0 = util_mono_us();
    redisReply *r = conn_command_argv(g->conn, argc, argv, lens);
    if (r) sampler_latency(g, util_mono_us() - t0);
    return r;
}

static const redisReply *map_get(const redisReply *m, const char *name) {
    if (!m || m->type != REDIS_REPLY_ARRAY) return NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i + 1 < m->elements; i += 2) {
        const redisReply *k = m->element[i];
        if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) && k->len == nl &&
            !memcmp(k->str, name, nl))
            return m->element[i + 1];
    }
    return NULL;
}

static long long map_int(const redisReply *m, const char *name) {
    const redisReply *v = map_get(m, name);
    return v && v->type == REDIS_REPLY_INTEGER ? v->integer : -1;
}

/* One SCAN step of the discovery pass. -1 on I/O error, 1 when stopped. */
static int sampler_scan(Groups *g) {
    char count[16];
    snprintf(count, sizeof count, "%d", g->cfg.scan_count);
    const char *a[6] = {"SCAN", g->cursor, "COUNT", count, "TYPE", "stream"};
    size_t l[6] = {4, strlen(g->cursor), 5, strlen(count), 4, 6};
    int stopped;
    redisReply *r = sampler_command(g, 6, a, l, &stopped);
    if (!r) return stopped ? 1 : -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[0]->len >= sizeof g->cursor || r->element[1]->type != REDIS_REPLY_ARRAY) {
        char msg[FERRY_ERR_LEN];
        snprintf(msg, sizeof msg, "%s: SCAN … TYPE stream was refused (%.200s): stream discovery needs Redis 6.0+ "
                 "and the scan permission; consumer groups are not sampled on this side",
                 conn_label(g->conn), r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        pthread_mutex_lock(&g->mu);
        util_strlcpy(g->error, msg, sizeof g->error);
        g->discovering = 0;
        pthread_mutex_unlock(&g->mu);
        g->next_pass_mono = util_mono_ms() + g->cfg.rescan_ms;
        return 0;
    }
    memcpy(g->cursor, r->element[0]->str, r->element[0]->len);
    g->cursor[r->element[0]->len] = '\0';
    const redisReply *keys = r->element[1];
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < keys->elements; i++)
        if (keys->element[i]->type == REDIS_REPLY_STRING) table_add(g, keys->element[i]->str, keys->element[i]->len);
    if (!strcmp(g->cursor, "0")) {
        g->discovering = 0;
        g->passes++;
    }
    int done = !g->discovering;
    pthread_mutex_unlock(&g->mu);
    if (done) g->next_pass_mono = util_mono_ms() + g->cfg.rescan_ms;
    freeReplyObject(r);
    return 0;
}

/* XINFO GROUPS of the next stream in turn. -1 on I/O error, 1 when stopped. */
static int sampler_sample(Groups *g) {
    if (g->rr >= g->nstreams) g->rr = 0;
    GStream *s = g->streams[g->rr++];
    const char *a[3] = {"XINFO", "GROUPS", s->key};
    size_t l[3] = {5, 6, s->klen};
    int stopped;
    redisReply *r = sampler_command(g, 3, a, l, &stopped);
    if (!r) return stopped ? 1 : -1;
    int64_t now = util_now_ms();
    if (r->type == REDIS_REPLY_ERROR) {
        /* Deleted, expired, or now another type: forget it. Anything else
         * (ACL, a busy script) is reported and the stream kept. */
        int gone = strstr(r->str, "no such key") || !strncmp(r->str, "WRONGTYPE", 9);
        pthread_mutex_lock(&g->mu);
        if (gone)
            table_remove(g, s);
        else
            snprintf(g->error, sizeof g->error, "%s: XINFO GROUPS refused (%.200s)", conn_label(g->conn), r->str);
        pthread_mutex_unlock(&g->mu);
        freeReplyObject(r);
        return 0;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return 0;
    }
    GGroup *gs = r->elements ? calloc(r->elements, sizeof(*gs)) : NULL;
    if (r->elements && !gs) {
        freeReplyObject(r);
        return 0; /* out of memory: keep the previous figures */
    }
    size_t n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *m = r->element[i];
        const redisReply *name = map_get(m, "name");
        if (!name || name->type != REDIS_REPLY_STRING) continue;
        GGroup *x = &gs[n];
        x->name = malloc(name->len + 1);
        if (!x->name) break;
        memcpy(x->name, name->str, name->len);
        x->name[name->len] = '\0';
        x->nlen = name->len;
        x->pending = map_int(m, "pending");
        x->lag = map_int(m, "lag");
        x->entries_read = map_int(m, "entries-read");
        x->consumers = map_int(m, "consumers");
        const redisReply *ld = map_get(m, "last-delivered-id");
        if (ld && ld->type == REDIS_REPLY_STRING && ld->len < sizeof x->last_delivered) {
            memcpy(x->last_delivered, ld->str, ld->len);
            x->last_delivered[ld->len] = '\0';
        }
        n++;
    }
    freeReplyObject(r);
    pthread_mutex_lock(&g->mu);
    GGroup *old = s->groups;
    size_t nold = s->ngroups;
    s->groups = gs;
    s->ngroups = n;
    s->sampled_ms = now;
    g->state = GROUPS_SAMPLING;
    g->error[0] = '\0';
    pthread_mutex_unlock(&g->mu);
    for (size_t i = 0; i < nold; i++) free(old[i].name);
    free(old);
    return 0;
}

/* Connects (the handshake's commands count against the budget). 1 when
 * stopped, -1 on failure (published), 0 connected. */
static int sampler_connect(Groups *g) {
    const Uri *u = &g->cfg.conn.uri;
    int handshake = 1 + (u->has_password || u->user[0]) + (u->db >= 0);
    if (sampler_pace(g, handshake)) return 1;
    char err[FERRY_ERR_LEN];
    g->conn = conn_open(&g->cfg.conn, err, sizeof err);
    if (!g->conn) {
        sampler_publish(g, GROUPS_RETRYING, err);
        return -1;
    }
    return 0;
}

static void *sampler_main(void *arg) {
    Groups *g = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    int64_t retry_ms = GROUPS_RETRY_MIN_MS;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        int stop = g->stop;
        pthread_mutex_unlock(&g->mu);
        if (stop) break;
        if (!g->conn) {
            int rc = sampler_connect(g);
            if (rc == 1) break;
            if (rc < 0) {
                if (sampler_wait_until(g, util_mono_us() + retry_ms * 1000)) break;
                retry_ms = retry_ms * 2 > GROUPS_RETRY_MAX_MS ? GROUPS_RETRY_MAX_MS : retry_ms * 2;
                continue;
            }
            retry_ms = GROUPS_RETRY_MIN_MS;
        }
        /* What next: a SCAN step, a sample, a new pass, or a wait. */
        int discovering = g->discovering; /* written by this thread only */
        if (!discovering && util_mono_ms() >= g->next_pass_mono) {
            strcpy(g->cursor, "0");
            pthread_mutex_lock(&g->mu);
            g->discovering = discovering = 1;
            if (g->state == GROUPS_CONNECTING) g->state = GROUPS_DISCOVERING;
            pthread_mutex_unlock(&g->mu);
        }
        int rc;
        if (discovering && (g->nstreams == 0 || (g->scan_turn ^= 1)))
            rc = sampler_scan(g);
        else if (g->nstreams > 0)
            rc = sampler_sample(g);
        else
            rc = sampler_wait_until(g, g->next_pass_mono * 1000) ? 1 : 0;
        if (rc == 1) break;
        if (rc < 0) {
            char msg[FERRY_ERR_LEN];
            snprintf(msg, sizeof msg, "%s; retrying", conn_errstr(g->conn));
            conn_close(g->conn);
            g->conn = NULL;
            sampler_publish(g, GROUPS_RETRYING, msg);
            if (sampler_wait_until(g, util_mono_us() + retry_ms * 1000)) break;
            retry_ms = retry_ms * 2 > GROUPS_RETRY_MAX_MS ? GROUPS_RETRY_MAX_MS : retry_ms * 2;
        }
    }
    if (g->conn) conn_close(g->conn);
    g->conn = NULL;
    sampler_publish(g, GROUPS_STOPPED, NULL);
    return NULL;
}

/* ---- public -------------------------------------------------------------------- */

void groups_config_init(GroupsConfig *cfg, const char *side) {
    memset(cfg, 0, sizeof(*cfg));
    conn_config_init(&cfg->conn, side);
    cfg->side = side;
    cfg->budget = 20;
    cfg->rescan_ms = 60000;
    cfg->scan_count = 1000;
    cfg->slow_us = 10000;
    cfg->max_backoff = 64;
    cfg->max_streams = 200000;
}

Groups *groups_start(const GroupsConfig *cfg, char *err, size_t errlen) {
    Groups *g = calloc(1, sizeof(*g));
    if (!g) {
        util_err(err, errlen, "out of memory starting the consumer-group sampler");
        return NULL;
    }
    g->cfg = *cfg;
    util_strlcpy(g->side, cfg->side && *cfg->side ? cfg->side : "server", sizeof g->side);
    g->cfg.side = g->side;
    if (g->cfg.budget <= 0) g->cfg.budget = 20;
    if (g->cfg.budget > 1000000) g->cfg.budget = 1000000;
    if (g->cfg.rescan_ms <= 0) g->cfg.rescan_ms = 60000;
    if (g->cfg.scan_count <= 0) g->cfg.scan_count = 1000;
    if (g->cfg.slow_us <= 0) g->cfg.slow_us = 10000;
    if (g->cfg.max_backoff < 1) g->cfg.max_backoff = 64;
    if (g->cfg.max_streams == 0) g->cfg.max_streams = 200000;
    snprintf(g->cfg.conn.client_name, sizeof g->cfg.conn.client_name, "ferry-groups-%s", g->side);
    /* Every (re)connection reads the config's strings: keep our own. */
    g->cfg.conn.role = g->side;
    const char **f[5] = {&g->cfg.conn.tls.ca_file, &g->cfg.conn.tls.ca_dir, &g->cfg.conn.tls.cert_file,
                         &g->cfg.conn.tls.key_file, &g->cfg.conn.tls.sni};
    for (int i = 0; i < 5; i++) {
        if (!*f[i]) continue;
        g->tls[i] = strdup(*f[i]);
        if (!g->tls[i]) {
            for (int j = 0; j < i; j++) free(g->tls[j]);
            free(g);
            util_err(err, errlen, "out of memory starting the consumer-group sampler");
            return NULL;
        }
        *f[i] = g->tls[i];
    }
    g->backoff = 1;
    g->started_ms = util_now_ms();
    g->state = GROUPS_CONNECTING;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&g->th, NULL, sampler_main, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        for (int i = 0; i < 5; i++) free(g->tls[i]);
        explicit_bzero(&g->cfg.conn.uri.password, sizeof g->cfg.conn.uri.password);
        free(g);
        util_err(err, errlen, "cannot start the consumer-group sampler thread for the %s", cfg->side ? cfg->side : "server");
        return NULL;
    }
    return g;
}

void groups_stop(Groups *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->th, NULL);
    for (size_t i = 0; i < g->nstreams; i++) stream_free(g->streams[i]);
    free(g->streams);
    free(g->buckets);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    for (int i = 0; i < 5; i++) free(g->tls[i]);
    explicit_bzero(&g->cfg.conn.uri.password, sizeof g->cfg.conn.uri.password);
    free(g);
}

int groups_snapshot(Groups *g, GroupsSnapshot *out) {
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&g->mu);
    size_t nrows = 0, bytes = 0;
    int64_t oldest = 0;
    size_t sampled = 0;
    for (size_t i = 0; i < g->nstreams; i++) {
        const GStream *s = g->streams[i];
        if (!s->sampled_ms) continue;
        sampled++;
        if (!oldest || s->sampled_ms < oldest) oldest = s->sampled_ms;
        nrows += s->ngroups;
        for (size_t j = 0; j < s->ngroups; j++) bytes += s->klen + 1 + s->groups[j].nlen + 1;
    }
    out->rows = nrows ? malloc(nrows * sizeof(*out->rows)) : NULL;
    out->arena = bytes ? malloc(bytes) : NULL;
    if ((nrows && !out->rows) || (bytes && !out->arena)) {
        pthread_mutex_unlock(&g->mu);
        free(out->rows);
        free(out->arena);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    char *p = out->arena;
    size_t r = 0;
    for (size_t i = 0; i < g->nstreams; i++) {
        const GStream *s = g->streams[i];
        if (!s->sampled_ms) continue;
        for (size_t j = 0; j < s->ngroups; j++) {
            const GGroup *x = &s->groups[j];
            GroupRow *row = &out->rows[r++];
            memcpy(p, s->key, s->klen + 1);
            row->key = p;
            row->klen = s->klen;
            p += s->klen + 1;
            memcpy(p, x->name, x->nlen + 1);
            row->group = p;
            row->glen = x->nlen;
            p += x->nlen + 1;
            row->pending = x->pending;
            row->lag = x->lag;
            row->entries_read = x->entries_read;
            row->consumers = x->consumers;
            memcpy(row->last_delivered, x->last_delivered, sizeof row->last_delivered);
            row->sampled_ms = s->sampled_ms;
        }
    }
    out->nrows = nrows;
    out->taken_ms = util_now_ms();
    out->state = g->state;
    out->streams_known = g->nstreams;
    out->streams_sampled = sampled;
    out->oldest_sample_ms = oldest;
    out->capped = g->capped;
    out->passes = g->passes;
    out->discovering = g->discovering;
    out->budget = g->cfg.budget;
    out->backoff = g->backoff;
    out->last_rtt_us = g->last_rtt_us;
    out->commands = g->commands;
    out->started_ms = g->started_ms;
    memcpy(out->error, g->error, sizeof out->error);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

void groups_snapshot_free(GroupsSnapshot *s) {
    if (!s) return;
    free(s->rows);
    free(s->arena);
    memset(s, 0, sizeof(*s));
}

const char *groups_state_name(GroupsState st) {
    switch (st) {
    case GROUPS_CONNECTING: return "connecting";
    case GROUPS_DISCOVERING: return "discovering";
    case GROUPS_SAMPLING: return "sampling";
    case GROUPS_RETRYING: return "retrying";
    case GROUPS_STOPPED: return "stopped";
    }
    return "?";
}

/* ---- ranking (pure) ---------------------------------------------------------------- */

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al < bl ? -1 : al > bl);
}

static int row_names_cmp(const GroupRow *x, const GroupRow *y) {
    int c = bytes_cmp(x->key, x->klen, y->key, y->klen);
    return c ? c : bytes_cmp(x->group, x->glen, y->group, y->glen);
}

static int desc(long long a, long long b) { return a > b ? -1 : a < b; }

static int by_pending(const void *p, const void *q) {
    const GroupRow *x = *(const GroupRow *const *)p, *y = *(const GroupRow *const *)q;
    int c = desc(x->pending, y->pending);
    if (!c) c = desc(x->lag, y->lag); /* unknown (-1) after any known lag */
    return c ? c : row_names_cmp(x, y);
}

static int by_lag(const void *p, const void *q) {
    const GroupRow *x = *(const GroupRow *const *)p, *y = *(const GroupRow *const *)q;
    int c = desc(x->lag, y->lag);
    if (!c) c = desc(x->pending, y->pending);
    return c ? c : row_names_cmp(x, y);
}

long groups_top(const GroupsSnapshot *s, GroupsOrder order, const char *prefix, size_t plen, size_t *idx,
                size_t max, GroupsTotals *tot) {
    GroupsTotals t;
    memset(&t, 0, sizeof t);
    const GroupRow **m = s->nrows ? malloc(s->nrows * sizeof(*m)) : NULL;
    if (s->nrows && !m) return -1;
    const GroupRow *prev = NULL;
    for (size_t i = 0; i < s->nrows; i++) {
        const GroupRow *r = &s->rows[i];
        if (plen && (r->klen < plen || memcmp(r->key, prefix, plen) != 0)) continue;
        m[t.groups++] = r;
        if (!prev || prev->klen != r->klen || memcmp(prev->key, r->key, r->klen)) t.streams++;
        prev = r;
        if (r->pending > 0) t.pending += r->pending;
        if (r->lag >= 0)
            t.lag += r->lag;
        else
            t.lag_unknown++;
        if (!t.oldest_sample_ms || r->sampled_ms < t.oldest_sample_ms) t.oldest_sample_ms = r->sampled_ms;
    }
    if (t.groups > 1) qsort(m, t.groups, sizeof(*m), order == GROUPS_BY_LAG ? by_lag : by_pending);
    size_t n = t.groups < max ? t.groups : max;
    for (size_t i = 0; i < n; i++) idx[i] = (size_t)(m[i] - s->rows);
    free(m);
    if (tot) *tot = t;
    return (long)n;
}
