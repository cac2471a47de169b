/* repl — INFO replication parsed, the replication view, and the monitor
 * thread that samples both sides; see repl.h for the cutover condition.
 *
 * Threads: the monitor thread owns its two connections and does all of its
 * network I/O without the lock; it takes m->lock only to record a finished
 * sample into m->state and to publish a tick (seq++, broadcast). Readers
 * copy m->state under the same lock and build views from their copy, so
 * no reader ever waits on the network. Stopping sets m->stop under the
 * lock and signals the condition the thread sleeps on between ticks; the
 * connections use short timeouts so a hung server delays a stop by at most
 * a few seconds. */
#include "repl.h"

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* ------------------------------------------------------------- parsing */

static long long to_ll(const char *v) { return strtoll(v, NULL, 10); }

static void parse_replica(const char *val, ReplReplica *r) {
    memset(r, 0, sizeof(*r));
    r->offset = -1;
    r->lag_s = -1;
    char buf[512];
    util_strlcpy(buf, val, sizeof(buf));
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (!strcmp(tok, "ip")) util_strlcpy(r->ip, v, sizeof(r->ip));
        else if (!strcmp(tok, "port")) r->port = atoi(v);
        else if (!strcmp(tok, "state")) util_strlcpy(r->state, v, sizeof(r->state));
        else if (!strcmp(tok, "offset")) r->offset = to_ll(v);
        else if (!strcmp(tok, "lag")) r->lag_s = to_ll(v);
    }
}

static void repl_field(ReplInfo *o, const char *name, const char *val) {
    if (!strcmp(name, "role")) {
        o->valid = 1;
        /* Newer servers may say "replica"; ferry's model says slave/master as INFO always did. */
        util_strlcpy(o->role, !strcmp(val, "replica") ? "slave" : !strcmp(val, "primary") ? "master" : val,
                     sizeof(o->role));
    } else if (!strcmp(name, "master_replid")) {
        util_strlcpy(o->replid, val, sizeof(o->replid));
    } else if (!strcmp(name, "master_repl_offset")) {
        o->master_repl_offset = to_ll(val);
    } else if (!strcmp(name, "connected_slaves")) {
        o->connected_slaves = atoi(val);
    } else if (!strncmp(name, "slave", 5) && isdigit((unsigned char)name[5])) {
        if (o->nreplicas < REPL_MAX_REPLICAS) parse_replica(val, &o->replicas[o->nreplicas++]);
    } else if (!strcmp(name, "repl_backlog_size")) {
        o->backlog_size = to_ll(val);
    } else if (!strcmp(name, "repl_backlog_first_byte_offset")) {
        o->backlog_first_byte = to_ll(val);
    } else if (!strcmp(name, "repl_backlog_histlen")) {
        o->backlog_histlen = to_ll(val);
    } else if (!strcmp(name, "master_host")) {
        util_strlcpy(o->master_host, val, sizeof(o->master_host));
    } else if (!strcmp(name, "master_port")) {
        o->master_port = atoi(val);
    } else if (!strcmp(name, "master_link_status")) {
        util_strlcpy(o->link_status, val, sizeof(o->link_status));
    } else if (!strcmp(name, "master_last_io_seconds_ago")) {
        o->last_io_s = to_ll(val);
    } else if (!strcmp(name, "master_sync_in_progress")) {
        o->sync_in_progress = atoi(val);
    } else if (!strcmp(name, "master_sync_total_bytes")) {
        o->sync_total_bytes = to_ll(val);
    } else if (!strcmp(name, "master_sync_read_bytes")) {
        o->sync_read_bytes = to_ll(val);
    } else if (!strcmp(name, "master_sync_left_bytes")) {
        o->sync_left_bytes = to_ll(val);
    } else if (!strcmp(name, "master_sync_last_io_seconds_ago")) {
        o->sync_last_io_s = to_ll(val);
    } else if (!strcmp(name, "master_link_down_since_seconds")) {
        o->link_down_s = to_ll(val);
    } else if (!strcmp(name, "slave_repl_offset")) {
        o->slave_repl_offset = to_ll(val);
    } else if (!strcmp(name, "slave_read_repl_offset")) {
        o->slave_read_repl_offset = to_ll(val);
    }
}

void repl_info_parse(const char *text, ReplInfo *o) {
    memset(o, 0, sizeof(*o));
    o->master_repl_offset = -1;
    o->backlog_size = o->backlog_first_byte = o->backlog_histlen = -1;
    o->last_io_s = -1;
    o->sync_total_bytes = o->sync_read_bytes = o->sync_left_bytes = -1;
    o->sync_last_io_s = -1;
    o->link_down_s = -1;
    o->slave_repl_offset = o->slave_read_repl_offset = -1;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n && p[n - 1] == '\r') n--;
        if (n > 0 && n < 1024 && p[0] != '#') {
            char line[1024];
            memcpy(line, p, n);
            line[n] = '\0';
            char *colon = strchr(line, ':');
            if (colon) {
                *colon = '\0';
                repl_field(o, line, colon + 1);
            }
        }
        p = eol ? eol + 1 : NULL;
    }
}

const ReplReplica *repl_info_find_replica(const ReplInfo *info, const char *host, int port) {
    const ReplReplica *by_port = NULL;
    int nport = 0;
    for (int i = 0; i < info->nreplicas; i++) {
        const ReplReplica *r = &info->replicas[i];
        if (r->port != port) continue;
        if (host && !strcmp(r->ip, host)) return r;
        by_port = r;
        nport++;
    }
    return nport == 1 ? by_port : NULL;
}

/* ------------------------------------------------------------- history */

void repl_history_push(ReplHistory *h, const ReplPoint *p) {
    h->pts[h->head] = *p;
    h->head = (h->head + 1) % REPL_HISTORY;
    if (h->n < REPL_HISTORY) h->n++;
}

const ReplPoint *repl_history_at(const ReplHistory *h, int i) {
    if (i < 0 || i >= h->n) return NULL;
    int first = (h->head - h->n + REPL_HISTORY) % REPL_HISTORY;
    return &h->pts[(first + i) % REPL_HISTORY];
}

/* --------------------------------------------------------------- state */

void repl_state_init(ReplState *st, const char *target_host, int target_port, int64_t interval_ms) {
    memset(st, 0, sizeof(*st));
    util_strlcpy(st->target_host, target_host ? target_host : "", sizeof(st->target_host));
    st->target_port = target_port;
    st->interval_ms = interval_ms > 0 ? interval_ms : 1000;
}

void repl_state_record(ReplState *st, int side, const char *info_text, const char *error, int64_t now_ms) {
    ReplSample *s = side ? &st->target : &st->source;
    if (info_text) {
        repl_info_parse(info_text, &s->info);
        s->have = 1;
        s->at_ms = now_ms;
        s->failing = 0;
        s->error[0] = '\0';
    } else {
        s->failing = 1;
        util_strlcpy(s->error, error && *error ? error : "no answer", sizeof(s->error));
    }
}

/* The offsets of one pair of samples: the target's processed offset when
 * both are of one history (else -1), and the lag (else -1). */
static void pair_offsets(const ReplState *st, long long *target_offset, long long *lag, int *same_history) {
    const ReplInfo *a = &st->source.info, *b = &st->target.info;
    *target_offset = -1;
    *lag = -1;
    *same_history = st->source.have && st->target.have && a->valid && b->valid && a->replid[0] &&
                    !strcmp(a->replid, b->replid) && !strcmp(b->role, "slave");
    if (!*same_history) return;
    *target_offset = b->slave_repl_offset >= 0 ? b->slave_repl_offset : b->master_repl_offset;
    if (*target_offset >= 0 && a->master_repl_offset >= 0) {
        long long d = a->master_repl_offset - *target_offset;
        *lag = d > 0 ? d : 0;
    }
}

void repl_state_tick(ReplState *st, int64_t now_ms) {
    ReplPoint p;
    int same;
    p.t_ms = now_ms;
    p.source_offset = st->source.have && !st->source.failing ? st->source.info.master_repl_offset : -1;
    pair_offsets(st, &p.target_offset, &p.lag_bytes, &same);
    if (st->source.failing || st->target.failing) {
        p.lag_bytes = -1;
        p.target_offset = -1;
    }
    repl_history_push(&st->history, &p);
    st->seq++;
}

/* ---------------------------------------------------------------- view */

const char *repl_link_name(ReplLink l) {
    switch (l) {
    case REPL_LINK_UNKNOWN: return "unknown";
    case REPL_LINK_NONE: return "not replicating";
    case REPL_LINK_CONNECTING: return "connecting";
    case REPL_LINK_SYNC: return "full sync";
    case REPL_LINK_UP: return "up";
    case REPL_LINK_DOWN: return "down";
    }
    return "?";
}

const char *repl_status_name(RateStatus s) {
    switch (s) {
    case RATE_INIT: return "init";
    case RATE_NODATA: return "no data";
    case RATE_STALE: return "stale";
    case RATE_OK: return "ok";
    }
    return "?";
}

static ReplLink link_of(const ReplSample *t) {
    const ReplInfo *b = &t->info;
    if (!t->have || !b->valid) return REPL_LINK_UNKNOWN;
    if (strcmp(b->role, "slave")) return REPL_LINK_NONE;
    if (b->sync_in_progress) return REPL_LINK_SYNC;
    if (!strcmp(b->link_status, "up")) return REPL_LINK_UP;
    if (b->link_down_s >= 0) return REPL_LINK_DOWN;
    return REPL_LINK_CONNECTING;
}

/* Bytes/s of the source offset over the newest run of history points
 * within the window (a drop in the offset, a restarted source, starts a
 * new run). -1 when fewer than two points or no time between them. */
static double source_rate(const ReplHistory *h) {
    int newest = -1;
    for (int i = h->n - 1; i >= 0; i--)
        if (repl_history_at(h, i)->source_offset >= 0) {
            newest = i;
            break;
        }
    if (newest < 0) return -1;
    const ReplPoint *n = repl_history_at(h, newest);
    const ReplPoint *o = NULL;
    long long prev = n->source_offset;
    for (int i = newest - 1; i >= 0; i--) {
        const ReplPoint *p = repl_history_at(h, i);
        if (p->source_offset < 0) continue;
        if (n->t_ms - p->t_ms > REPL_RATE_WINDOW_MS || p->source_offset > prev) break;
        prev = p->source_offset;
        o = p;
    }
    if (!o || n->t_ms <= o->t_ms) return -1;
    return (double)(n->source_offset - o->source_offset) * 1000.0 / (double)(n->t_ms - o->t_ms);
}

void repl_view_build(const ReplState *st, int64_t now_ms, ReplView *v) {
    memset(v, 0, sizeof(*v));
    const ReplSample *S = &st->source, *T = &st->target;
    const ReplInfo *a = &S->info, *b = &T->info;
    v->source_offset = v->acked_offset = v->ack_age_s = v->target_offset = -1;
    v->last_io_s = v->link_down_s = v->lag_bytes = -1;
    v->sync_total_bytes = v->sync_read_bytes = v->sync_left_bytes = -1;
    v->source_rate = v->lag_seconds = v->sync_progress = -1;
    v->age_ms = -1;
    if (S->failing) util_strlcpy(v->source_error, S->error, sizeof(v->source_error));
    if (T->failing) util_strlcpy(v->target_error, T->error, sizeof(v->target_error));

    if (S->have) {
        util_strlcpy(v->source_role, a->role, sizeof(v->source_role));
        v->source_offset = a->master_repl_offset;
        v->nreplicas = a->connected_slaves;
        const ReplReplica *r = repl_info_find_replica(a, st->target_host, st->target_port);
        if (r) {
            v->replica_found = 1;
            util_strlcpy(v->replica_state, r->state, sizeof(v->replica_state));
            v->acked_offset = r->offset;
            v->ack_age_s = r->lag_s;
        }
    }
    v->link = link_of(T);
    if (T->have) {
        util_strlcpy(v->target_role, b->role, sizeof(v->target_role));
        util_strlcpy(v->master_host, b->master_host, sizeof(v->master_host));
        v->master_port = b->master_port;
        v->last_io_s = b->last_io_s;
        v->link_down_s = v->link == REPL_LINK_UP ? -1 : b->link_down_s;
        if (b->sync_in_progress) {
            v->sync_active = 1;
            v->sync_total_bytes = b->sync_total_bytes;
            v->sync_read_bytes = b->sync_read_bytes;
            v->sync_left_bytes = b->sync_left_bytes;
            if (b->sync_total_bytes > 0 && b->sync_read_bytes >= 0) {
                double p = (double)b->sync_read_bytes / (double)b->sync_total_bytes;
                v->sync_progress = p > 1 ? 1 : p;
            }
        }
    }
    pair_offsets(st, &v->target_offset, &v->lag_bytes, &v->same_history);
    v->source_rate = source_rate(&st->history);
    if (v->lag_bytes == 0)
        v->lag_seconds = 0;
    else if (v->lag_bytes > 0 && v->source_rate > 0)
        v->lag_seconds = (double)v->lag_bytes / v->source_rate;
    v->acked_equal = v->replica_found && !strcmp(v->replica_state, "online") && v->source_offset >= 0 &&
                     v->acked_offset == v->source_offset;

    /* Status, htop-style: a number says whether it can be trusted. */
    int64_t stale_after = 3 * (st->interval_ms > 0 ? st->interval_ms : 1000);
    if (S->have && T->have) v->age_ms = now_ms - (S->at_ms < T->at_ms ? S->at_ms : T->at_ms);
    int stale = S->failing || T->failing || (S->have && now_ms - S->at_ms > stale_after) ||
                (T->have && now_ms - T->at_ms > stale_after);
    if (stale)
        v->status = RATE_STALE;
    else if (!S->have || !T->have)
        v->status = RATE_INIT;
    else if (v->link == REPL_LINK_NONE)
        v->status = RATE_NODATA;
    else if (v->same_history && v->lag_bytes > 0 && v->source_rate < 0)
        v->status = RATE_INIT; /* lag in seconds needs a second sample */
    else
        v->status = RATE_OK;

    /* The cutover condition: fresh samples, the target sampled after the
     * source, link up, one history, and the target has processed at least
     * what the source had written when it was sampled. */
    v->caught_up = v->status != RATE_STALE && S->have && T->have && T->at_ms >= S->at_ms &&
                   v->link == REPL_LINK_UP && v->same_history && v->target_offset >= 0 &&
                   v->source_offset >= 0 && v->target_offset >= v->source_offset;

    v->hist_len = st->history.n;
    for (int i = 0; i < st->history.n; i++) {
        const ReplPoint *p = repl_history_at(&st->history, i);
        v->lag_hist[i] = p->lag_bytes >= 0 ? (float)p->lag_bytes : -1.0f;
    }
}

int repl_view_blocked(const ReplView *v, const char *target_label, char *msg, size_t len) {
    if (v->status == RATE_STALE || v->status == RATE_INIT) return 0;
    if (v->link == REPL_LINK_NONE) {
        snprintf(msg, len, "target %s is a primary, not a replica of the source: run the replicate step first (or it was promoted already)",
                 target_label);
        return 1;
    }
    if (v->link == REPL_LINK_UP && !v->same_history) {
        snprintf(msg, len, "target %s replicates from %s:%d, whose replication history is not the source's: it follows another server; make it follow the source (replicate step) or check --target",
                 target_label, v->master_host, v->master_port);
        return 1;
    }
    return 0;
}

/* ----------------------------------------------------------- formatting */

__attribute__((format(printf, 4, 5))) static void cat(char *buf, size_t len, size_t *o, const char *fmt, ...) {
    if (*o >= len) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *o, len - *o, fmt, ap);
    va_end(ap);
    if (n > 0) *o += (size_t)n;
    if (*o >= len) *o = len - 1;
}

void repl_view_format_line(const ReplView *v, char *buf, size_t len) {
    size_t o = 0;
    char a[16], b[16];
    buf[0] = '\0';
    cat(buf, len, &o, "repl: link %s", repl_link_name(v->link));
    if (v->source_offset >= 0) cat(buf, len, &o, " · source %lld", v->source_offset);
    if (v->link == REPL_LINK_SYNC) {
        if (v->sync_progress >= 0) {
            util_fmt_bytes(a, sizeof(a), (double)v->sync_read_bytes);
            util_fmt_bytes(b, sizeof(b), (double)v->sync_total_bytes);
            cat(buf, len, &o, " · full sync %.0f%% (%s of %s)", v->sync_progress * 100.0, a, b);
        } else {
            cat(buf, len, &o, " · full sync (size unknown: diskless)");
        }
    } else if (v->link == REPL_LINK_CONNECTING && v->replica_found) {
        cat(buf, len, &o, " · source side: %s", v->replica_state);
    }
    if (v->target_offset >= 0) cat(buf, len, &o, " · target %lld", v->target_offset);
    if (v->replica_found && v->acked_offset >= 0) cat(buf, len, &o, " · acked %lld", v->acked_offset);
    if (v->lag_bytes >= 0) {
        util_fmt_bytes(a, sizeof(a), (double)v->lag_bytes);
        if (v->lag_seconds >= 0)
            cat(buf, len, &o, " · lag %s (%.1f s)", a, v->lag_seconds);
        else
            cat(buf, len, &o, " · lag %s", a);
    } else if (v->link == REPL_LINK_UP && !v->same_history) {
        cat(buf, len, &o, " · offsets not comparable (another replication history)");
    }
    if (v->source_rate >= 0) {
        util_fmt_bytes(a, sizeof(a), v->source_rate);
        cat(buf, len, &o, " · source %s/s", a);
    }
    if (v->caught_up) cat(buf, len, &o, " · caught up");
    if (v->status != RATE_OK) cat(buf, len, &o, " [%s]", repl_status_name(v->status));
    if (v->source_error[0]) cat(buf, len, &o, " · %s", v->source_error);
    if (v->target_error[0]) cat(buf, len, &o, " · %s", v->target_error);
}

static void cat_json_str(char *buf, size_t len, size_t *o, const char *key, const char *s) {
    cat(buf, len, o, ",\"%s\":\"", key);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            cat(buf, len, o, "\\%c", *p);
        else if (*p < 0x20)
            cat(buf, len, o, "\\u%04x", *p);
        else
            cat(buf, len, o, "%c", *p);
    }
    cat(buf, len, o, "\"");
}

void repl_view_format_json(const ReplView *v, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    cat(buf, len, &o, "{\"status\":\"%s\"", repl_status_name(v->status));
    cat_json_str(buf, len, &o, "link", repl_link_name(v->link));
    cat(buf, len, &o, ",\"source_offset\":%lld,\"target_offset\":%lld,\"acked_offset\":%lld", v->source_offset,
        v->target_offset, v->replica_found ? v->acked_offset : -1);
    cat(buf, len, &o, ",\"lag_bytes\":%lld,\"lag_seconds\":%.3f,\"source_rate\":%.1f", v->lag_bytes, v->lag_seconds,
        v->source_rate);
    cat(buf, len, &o, ",\"same_history\":%s,\"caught_up\":%s", v->same_history ? "true" : "false",
        v->caught_up ? "true" : "false");
    cat(buf, len, &o, ",\"sync_active\":%s,\"sync_read_bytes\":%lld,\"sync_total_bytes\":%lld,\"sync_progress\":%.4f",
        v->sync_active ? "true" : "false", v->sync_read_bytes, v->sync_total_bytes, v->sync_progress);
    cat(buf, len, &o, ",\"age_ms\":%lld", (long long)v->age_ms);
    if (v->replica_found) cat_json_str(buf, len, &o, "replica_state", v->replica_state);
    if (v->source_error[0]) cat_json_str(buf, len, &o, "source_error", v->source_error);
    if (v->target_error[0]) cat_json_str(buf, len, &o, "target_error", v->target_error);
    cat(buf, len, &o, "}");
}

int repl_parse_bytes(const char *text, long long *out) {
    if (!text) return -1;
    const char *p = text;
    while (*p == ' ') p++;
    if (!isdigit((unsigned char)*p)) return -1;
    char *end;
    unsigned long long n = strtoull(p, &end, 10);
    while (*end == ' ') end++;
    char unit[8];
    size_t k = 0;
    for (; end[k] && k + 1 < sizeof(unit); k++) unit[k] = (char)tolower((unsigned char)end[k]);
    unit[k] = '\0';
    if (end[k]) return -1;
    /* Redis's own convention: 1k = 1000, 1kb = 1024 (and kib). */
    static const struct {
        const char *name;
        unsigned long long mul;
    } units[] = {{"", 1},        {"b", 1},          {"k", 1000},          {"kb", 1024},          {"kib", 1024},
                 {"m", 1000000}, {"mb", 1 << 20},   {"mib", 1 << 20},     {"g", 1000000000ULL}, {"gb", 1ULL << 30},
                 {"gib", 1ULL << 30}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(unit, units[i].name)) continue;
        if (n > (unsigned long long)9e18 / units[i].mul) return -1;
        *out = (long long)(n * units[i].mul);
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------- fetching */

int repl_fetch(Conn *c, ReplInfo *out, char *err, size_t errlen) {
    redisReply *r = conn_command(c, "INFO replication");
    if (!r) return util_err(err, errlen, "%s", conn_errstr(c));
    if (r->type != REDIS_REPLY_STRING) {
        util_err(err, errlen, "%s refused INFO replication: %s; allow INFO for this user", conn_label(c),
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    repl_info_parse(r->str, out);
    freeReplyObject(r);
    if (!out->valid)
        return util_err(err, errlen, "%s: INFO replication has no role line: is this a Redis or Valkey server?",
                        conn_label(c));
    return 0;
}

/* -------------------------------------------------------------- monitor */

struct ReplMonitor {
    ConnConfig cfg[2];      /* source, target */
    Conn *conn[2];          /* owned by the thread */
    int interval_ms;
    pthread_t th;
    pthread_mutex_t lock;
    pthread_cond_t cond;    /* CLOCK_MONOTONIC */
    int stop;
    ReplState state;
};

/* One INFO replication of a side: the text (caller frees) or NULL with
 * err set. Connects when needed; drops a broken connection. */
static char *monitor_info(ReplMonitor *m, int side, char *err, size_t errlen) {
    if (!m->conn[side]) {
        m->conn[side] = conn_open(&m->cfg[side], err, errlen);
        if (!m->conn[side]) return NULL;
    }
    Conn *c = m->conn[side];
    redisReply *r = conn_command(c, "INFO replication");
    if (!r) {
        util_strlcpy(err, conn_errstr(c), errlen);
        conn_close(c);
        m->conn[side] = NULL;
        return NULL;
    }
    char *text = NULL;
    if (r->type == REDIS_REPLY_STRING)
        text = strdup(r->str);
    else
        util_err(err, errlen, "%s refused INFO replication: %s", conn_label(c),
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r->type == REDIS_REPLY_STRING && !text) util_err(err, errlen, "out of memory");
    freeReplyObject(r);
    return text;
}

static void *monitor_main(void *arg) {
    ReplMonitor *m = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        int64_t start = util_mono_ms();
        /* Source first, then target: see "the cutover condition" in repl.h. */
        for (int side = 0; side < 2; side++) {
            char err[FERRY_ERR_LEN] = "";
            char *text = monitor_info(m, side, err, sizeof(err));
            int64_t now = util_mono_ms();
            pthread_mutex_lock(&m->lock);
            repl_state_record(&m->state, side, text, err, now);
            pthread_mutex_unlock(&m->lock);
            free(text);
        }
        pthread_mutex_lock(&m->lock);
        repl_state_tick(&m->state, util_mono_ms());
        pthread_cond_broadcast(&m->cond);
        int64_t next = start + m->interval_ms;
        while (!m->stop && util_mono_ms() < next) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t left = next - util_mono_ms();
            if (left <= 0) break;
            ts.tv_sec += left / 1000;
            ts.tv_nsec += (long)(left % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&m->cond, &m->lock, &ts);
        }
        int stop = m->stop;
        pthread_mutex_unlock(&m->lock);
        if (stop) break;
    }
    for (int side = 0; side < 2; side++)
        if (m->conn[side]) conn_close(m->conn[side]);
    return NULL;
}

ReplMonitor *repl_monitor_start(const ReplMonitorOptions *o, char *err, size_t errlen) {
    ReplMonitor *m = calloc(1, sizeof(*m));
    if (!m) {
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    m->interval_ms = o->interval_ms > 0 ? o->interval_ms : 1000;
    const ConnConfig *cfgs[2] = {o->source, o->target};
    for (int side = 0; side < 2; side++) {
        m->cfg[side] = *cfgs[side];
        m->cfg[side].uri.db = -1;
        /* Short timeouts: a hung server must not hold up a stop for long. */
        if (m->cfg[side].connect_timeout_ms <= 0 || m->cfg[side].connect_timeout_ms > 3000)
            m->cfg[side].connect_timeout_ms = 3000;
        if (m->cfg[side].io_timeout_ms <= 0 || m->cfg[side].io_timeout_ms > 3000) m->cfg[side].io_timeout_ms = 3000;
        util_strlcpy(m->cfg[side].client_name, "ferry-repl", sizeof(m->cfg[side].client_name));
    }
    const Uri *t = &o->target->uri;
    repl_state_init(&m->state, t->scheme == URI_UNIX ? "" : t->host, t->scheme == URI_UNIX ? 0 : t->port,
                    m->interval_ms);
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->th, NULL, monitor_main, m) != 0) {
        pthread_cond_destroy(&m->cond);
        pthread_mutex_destroy(&m->lock);
        free(m);
        util_err(err, errlen, "could not start the replication monitor thread");
        return NULL;
    }
    return m;
}

void repl_monitor_stop(ReplMonitor *m) {
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    m->stop = 1;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->th, NULL);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void repl_monitor_state(ReplMonitor *m, ReplState *out) {
    pthread_mutex_lock(&m->lock);
    *out = m->state;
    pthread_mutex_unlock(&m->lock);
}

uint64_t repl_monitor_wait(ReplMonitor *m, uint64_t after_seq, int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&m->lock);
    while (m->state.seq <= after_seq && !m->stop)
        if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) != 0) break;
    uint64_t seq = m->state.seq;
    pthread_mutex_unlock(&m->lock);
    return seq;
}
