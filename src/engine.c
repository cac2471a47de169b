/* engine — one copy run and the threads that do it.
 *
 * Threads (like Redis's bio.c: a job list under a mutex + condition
 * variables, work done unlocked, results reported through atomics):
 *
 *   scanner  ── SCAN each planned db ──► Batch ──► queue (bounded) ──┐
 *   worker 0..N-1  ◄── queue_pop ─ copy_batch(): DUMP on the source,   │
 *                  RESTORE on the target, each with its own two conns ◄┘
 *   monitor  ── once a second: stats_tick() (rates, history)
 *   sampler  ── once a second: INFO + PING of both sides (console's
 *               servers panel), on two control connections of its own
 *
 * Nothing on the hot path is shared but the queue and atomic counters. All
 * other state (run state, pause, worker target, rate limit, scanner
 * position, server samples) lives under e->ctl.lock; engine_snapshot() copies
 * it in one go. Signals are blocked in every thread we start.
 *
 * Checkpoints: every batch belongs to one SCAN page. The scanner numbers
 * pages; workers report each completed batch; the checkpoint is the cursor
 * after the newest page whose batches, and all earlier pages' batches, are
 * done. The monitor hands it to on_checkpoint once a second.
 *
 * Ending: the scanner closes the queue when it has walked every db (or
 * when a stop is requested); workers exit when the queue is closed and
 * empty (or at once after their current batch on a stop); the last one out
 * sets the final state. A fatal error (target OOM, a refused command, a
 * lost server) records its reason and requests a stop. */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "runctl.h"
#include "scan.h"
#include "serverinfo.h"

#define QUEUE_BATCHES_PER_WORKER 2
#define START_ATTEMPTS 8
#define PAGE_RING 1024 /* > pages that can be in flight: queue + workers + 1 */

/* One SCAN page on its way through the workers. The checkpoint moves past
 * a page once the page is closed (fully scanned and batched) and none of
 * its batches is outstanding, and every earlier page is past too. */
typedef struct PageMark {
    int db_index;
    uint64_t cursor_after; /* SCAN cursor following this page; 0 = db done */
    int outstanding;       /* batches pushed and not yet completed */
    int closed;
} PageMark;

typedef struct Worker {
    struct Engine *e;
    int idx;
    pthread_t th;
    int joinable;
    _Atomic int running;
    _Atomic int state;
    _Atomic uint64_t keys_done;
    _Atomic int64_t batch_start_ms; /* monotonic; 0 = none */
} Worker;

struct Engine {
    CopyOptions opt;
    Stats stats;
    EventLog log;
    Queue *queue;
    RunCtl ctl; /* state, pause/stop, workers, rate limit; its lock guards the fields below too */

    Worker workers[ENGINE_MAX_WORKERS];
    pthread_t scanner_th, monitor_th, sampler_th;

    /* The plan, fixed at create time. */
    int ndb;
    int src_db[DBMAP_MAX], dst_db[DBMAP_MAX];
    uint64_t db_keys[DBMAP_MAX];
    ServerInfo src_info, dst_info;
    int server_filter; /* MATCH/TYPE sent to SCAN: DBSIZE is no estimate */
    Conn *ctl_src, *ctl_dst;

    ScannerSnapshot scan;
    ServerSnapshot srv[2];
    int64_t srv_ok_ms[2];
    char fail_samples[FAIL__COUNT][3][128];
    int nsamples[FAIL__COUNT];

    FILE *report;
    pthread_mutex_t report_lock;
    uint64_t report_lines;

    /* Checkpoints (under lock). */
    PageMark pages[PAGE_RING];
    uint64_t page_next;  /* next page number the scanner will open */
    uint64_t page_done;  /* pages [0, page_done) are complete */
    CopyCheckpoint ckpt;
    int ckpt_dirty;
    CopyCheckpoint resume;
    int resume_set;
    _Atomic int closing; /* engine_free has begun: the sampler leaves */
};

/* ---------------------------------------------------------------- options */

void copy_options_init(CopyOptions *o) {
    memset(o, 0, sizeof(*o));
    conn_config_init(&o->source, "source");
    conn_config_init(&o->target, "target");
    dbmap_init(&o->dbmap);
    filter_init(&o->filter);
    o->workers = 4;
    o->batch = 256;
    o->scan_count = 1000;
    o->on_conflict = CONFLICT_FAIL;
    o->sample_servers = 1;
}

void copy_options_free(CopyOptions *o) { filter_free(&o->filter); }

const char *conflict_policy_name(ConflictPolicy p) {
    switch (p) {
    case CONFLICT_FAIL: return "fail";
    case CONFLICT_SKIP: return "skip";
    case CONFLICT_REPLACE: return "replace";
    }
    return "?";
}

const char *engine_state_name(EngineState s) {
    switch (s) {
    case ENGINE_IDLE: return "ready";
    case ENGINE_RUNNING: return "running";
    case ENGINE_PAUSED: return "paused";
    case ENGINE_STOPPING: return "stopping";
    case ENGINE_DONE: return "done";
    case ENGINE_STOPPED: return "stopped";
    case ENGINE_FAILED: return "failed";
    }
    return "?";
}

const char *worker_state_name(WorkerState s) {
    switch (s) {
    case WORKER_IDLE: return "idle";
    case WORKER_DUMPING: return "dumping";
    case WORKER_RESTORING: return "restoring";
    case WORKER_BACKOFF: return "backing off";
    case WORKER_PAUSED: return "paused";
    case WORKER_THROTTLED: return "throttled";
    case WORKER_EXITED: return "exited";
    }
    return "?";
}

void engine_log(Engine *e, EventLevel level, const char *fmt, ...) {
    char text[EVENTLOG_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    eventlog_add(&e->log, level, "%s", text);
}

/* ------------------------------------------------------------ ending a run */

static void engine_finalize_locked(Engine *e) {
    if (!runctl_should_finish_locked(&e->ctl)) return;
    void *left;
    while ((left = queue_try_pop(e->queue)) != NULL) batch_free(left);
    stats_finish(&e->stats);
    runctl_finish_locked(&e->ctl);
    pthread_mutex_lock(&e->report_lock);
    if (e->report) fflush(e->report);
    pthread_mutex_unlock(&e->report_lock);
    StatsSnapshot st;
    stats_snapshot(&e->stats, &st, util_mono_ms());
    char el[16];
    util_fmt_duration(el, sizeof(el), st.elapsed_ms);
    if (e->ctl.state == ENGINE_FAILED)
        eventlog_add(&e->log, EV_ERROR, "copy failed after %s: %llu copied; %s", el, (unsigned long long)st.copied, e->ctl.reason);
    else
        eventlog_add(&e->log, e->ctl.state == ENGINE_DONE && !st.failed && !st.skipped ? EV_INFO : EV_WARN,
                     "copy %s in %s: %llu copied, %llu identical, %llu skipped, %llu expired, %llu failed",
                     e->ctl.state == ENGINE_DONE ? "done" : "stopped", el, (unsigned long long)st.copied,
                     (unsigned long long)st.identical, (unsigned long long)st.skipped,
                     (unsigned long long)st.expired, (unsigned long long)st.failed);
}

static void engine_fail(Engine *e, const char *why) { runctl_fail(&e->ctl, why); }

/* ------------------------------------------------------------- rate limit */


/* --------------------------------------------------------------- reports */

static void engine_on_key(void *ud, int skipped, FailReason r, int db, const char *key,
                          size_t len, const char *detail) {
    Worker *w = ud;
    Engine *e = w->e;
    pthread_mutex_lock(&e->ctl.lock);
    if (e->nsamples[r] < 3) {
        char *dst = e->fail_samples[r][e->nsamples[r]++];
        size_t n = len < 127 ? len : 127;
        for (size_t i = 0; i < n; i++) dst[i] = (key[i] >= 0x20 && key[i] < 0x7f) ? key[i] : '?';
        dst[n] = '\0';
    }
    pthread_mutex_unlock(&e->ctl.lock);
    pthread_mutex_lock(&e->report_lock);
    if (e->report) {
        fprintf(e->report, "%s\t%s\tdb%d\t", skipped ? "skipped" : "failed", stats_fail_name(r), db);
        util_fput_key(e->report, key, len, 0);
        fprintf(e->report, "\t%s\n", detail ? detail : "");
        e->report_lines++;
    }
    pthread_mutex_unlock(&e->report_lock);
}

static void engine_on_state(void *ud, WorkerState s) {
    Worker *w = ud;
    atomic_store(&w->state, (int)s);
}

/* ------------------------------------------------------------ checkpoints */

static void engine_ckpt_set_locked(Engine *e, int db_index, uint64_t cursor) {
    CopyCheckpoint *c = &e->ckpt;
    c->db_index = db_index;
    c->src_db = db_index < e->ndb ? e->src_db[db_index] : -1;
    c->dst_db = db_index < e->ndb ? e->dst_db[db_index] : -1;
    c->cursor = cursor;
    c->copied = atomic_load(&e->stats.copied);
    c->skipped = atomic_load(&e->stats.skipped);
    c->identical = atomic_load(&e->stats.identical);
    c->expired = atomic_load(&e->stats.expired);
    c->failed = atomic_load(&e->stats.failed);
    c->bytes = atomic_load(&e->stats.bytes);
    e->ckpt_dirty = 1;
}

/* Moves the checkpoint past every complete page at the front. */
static void engine_ckpt_advance_locked(Engine *e) {
    while (e->page_done < e->page_next) {
        PageMark *p = &e->pages[e->page_done % PAGE_RING];
        if (!p->closed || p->outstanding > 0) break;
        if (p->cursor_after == 0)
            engine_ckpt_set_locked(e, p->db_index + 1, 0);
        else
            engine_ckpt_set_locked(e, p->db_index, p->cursor_after);
        e->page_done++;
    }
}

static void engine_batch_done(Engine *e, uint64_t page) {
    pthread_mutex_lock(&e->ctl.lock);
    e->pages[page % PAGE_RING].outstanding--;
    engine_ckpt_advance_locked(e);
    pthread_mutex_unlock(&e->ctl.lock);
}

/* Opens page number page_next for db_index; waits while the ring is full
 * (cannot happen with the queue's bound, but never overwrite a live mark). */
static uint64_t engine_page_open(Engine *e, int db_index) {
    pthread_mutex_lock(&e->ctl.lock);
    while (e->page_next - e->page_done >= PAGE_RING && !e->ctl.stop) pthread_cond_wait(&e->ctl.cond, &e->ctl.lock);
    uint64_t n = e->page_next++;
    PageMark *p = &e->pages[n % PAGE_RING];
    p->db_index = db_index;
    p->cursor_after = 0;
    p->outstanding = 0;
    p->closed = 0;
    pthread_mutex_unlock(&e->ctl.lock);
    return n;
}

/* Pushes a batch of page n; returns -1 (batch freed) when the queue closed. */
static int engine_push(Engine *e, Batch *b) {
    pthread_mutex_lock(&e->ctl.lock);
    e->pages[b->page % PAGE_RING].outstanding++;
    pthread_mutex_unlock(&e->ctl.lock);
    if (queue_push(e->queue, b) == 0) return 0;
    pthread_mutex_lock(&e->ctl.lock);
    e->pages[b->page % PAGE_RING].outstanding--;
    pthread_mutex_unlock(&e->ctl.lock);
    batch_free(b);
    return -1;
}

static void engine_page_close(Engine *e, uint64_t n, uint64_t cursor_after) {
    pthread_mutex_lock(&e->ctl.lock);
    PageMark *p = &e->pages[n % PAGE_RING];
    p->cursor_after = cursor_after;
    p->closed = 1;
    engine_ckpt_advance_locked(e);
    pthread_mutex_unlock(&e->ctl.lock);
}

void engine_checkpoint(Engine *e, CopyCheckpoint *out) {
    pthread_mutex_lock(&e->ctl.lock);
    *out = e->ckpt;
    pthread_mutex_unlock(&e->ctl.lock);
}

static void engine_ckpt_emit(Engine *e, int force) {
    if (!e->opt.on_checkpoint) return;
    CopyCheckpoint c;
    pthread_mutex_lock(&e->ctl.lock);
    int dirty = e->ckpt_dirty || force;
    e->ckpt_dirty = 0;
    c = e->ckpt;
    pthread_mutex_unlock(&e->ctl.lock);
    if (dirty) e->opt.on_checkpoint(e->opt.checkpoint_ud, &c);
}

/* ---------------------------------------------------------------- workers */

static Conn *engine_open_retry(Engine *e, const ConnConfig *cfg, char *err, size_t errlen) {
    int64_t delay = 100;
    for (int attempt = 0; attempt < START_ATTEMPTS && !e->ctl.stop; attempt++) {
        Conn *c = conn_open(cfg, err, errlen);
        if (c) return c;
        for (int64_t slept = 0; slept < delay && !e->ctl.stop; slept += 50) util_sleep_ms(50);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    return NULL;
}

static void *engine_worker_main(void *arg) {
    Worker *w = arg;
    Engine *e = w->e;
    char err[FERRY_ERR_LEN] = "";
    runctl_block_signals();

    ConnConfig sc = e->opt.source, tc = e->opt.target;
    snprintf(sc.client_name, sizeof(sc.client_name), "ferry-src-w%d", w->idx);
    snprintf(tc.client_name, sizeof(tc.client_name), "ferry-dst-w%d", w->idx);
    sc.uri.db = -1;
    tc.uri.db = -1;
    CopyWorker cw;
    copy_worker_init(&cw);
    cw.src = engine_open_retry(e, &sc, err, sizeof(err));
    cw.dst = cw.src ? engine_open_retry(e, &tc, err, sizeof(err)) : NULL;
    if (!cw.src || !cw.dst) {
        if (!e->ctl.stop) engine_fail(e, err);
        goto out;
    }
    cw.filter = &e->opt.filter;
    cw.policy = e->opt.on_conflict;
    cw.use_pexpiretime = serverinfo_has_pexpiretime(&e->src_info);
    cw.dst_pexpiretime = serverinfo_has_pexpiretime(&e->dst_info);
    cw.check_type = e->opt.filter.types && !filter_server_type(&e->opt.filter);
    cw.type_based = e->opt.type_based;
    cw.tc_opt.dst_version = e->dst_info.major * 100 + e->dst_info.minor;
    if (!serverinfo_payload_compatible(e->src_info.rdb_version, e->dst_info.rdb_version))
        cw.dst_rdb = e->dst_info.rdb_version;
    cw.src_valkey = !strcmp(e->src_info.server_name, "valkey");
    cw.stats = &e->stats;
    cw.cancel = &e->ctl.stop;
    cw.hooks.ud = w;
    cw.hooks.state = engine_on_state;
    cw.hooks.key = engine_on_key;

    for (;;) {
        pthread_mutex_lock(&e->ctl.lock);
        while (e->ctl.paused && !e->ctl.stop && w->idx < e->ctl.workers_target) {
            atomic_store(&w->state, WORKER_PAUSED);
            pthread_cond_wait(&e->ctl.cond, &e->ctl.lock);
        }
        int leave = e->ctl.stop || w->idx >= e->ctl.workers_target;
        pthread_mutex_unlock(&e->ctl.lock);
        if (leave) break;
        atomic_store(&w->state, WORKER_IDLE);

        Batch *b = queue_pop_timed(e->queue, 200);
        if (!b) {
            if (queue_closed(e->queue) && queue_len(e->queue) == 0) break;
            continue;
        }
        /* A pause that came while we waited for this batch holds it here:
         * paused means no key moves. */
        pthread_mutex_lock(&e->ctl.lock);
        while (e->ctl.paused && !e->ctl.stop) {
            atomic_store(&w->state, WORKER_PAUSED);
            pthread_cond_wait(&e->ctl.cond, &e->ctl.lock);
        }
        pthread_mutex_unlock(&e->ctl.lock);
        if (e->ctl.stop) {
            batch_free(b); /* never completed: the checkpoint stays before it */
            break;
        }
        atomic_store(&w->batch_start_ms, util_mono_ms());
        atomic_store(&w->state, WORKER_THROTTLED);
        runctl_rate_acquire(&e->ctl, b->n);
        int handled = 0;
        int rc = copy_batch(&cw, b, &handled, err, sizeof(err));
        atomic_fetch_add(&w->keys_done, (uint64_t)handled);
        atomic_store(&w->batch_start_ms, 0);
        if (rc == 0) engine_batch_done(e, b->page);
        batch_free(b);
        if (rc != 0) {
            engine_fail(e, err);
            break;
        }
    }
out:
    if (cw.src) conn_close(cw.src);
    if (cw.dst) conn_close(cw.dst);
    copy_worker_free(&cw);
    pthread_mutex_lock(&e->ctl.lock);
    atomic_store(&w->state, WORKER_EXITED);
    atomic_store(&w->running, 0);
    e->ctl.active_workers--;
    engine_finalize_locked(e);
    pthread_mutex_unlock(&e->ctl.lock);
    return NULL;
}

/* Starts workers [0, n) that are not running. Caller holds e->ctl.lock. Threads
 * open their own connections: no network I/O happens on the caller. */
static void engine_spawn_workers_locked(Engine *e, int n) {
    for (int i = 0; i < n; i++) {
        Worker *w = &e->workers[i];
        if (atomic_load(&w->running)) continue;
        if (w->joinable) {
            pthread_join(w->th, NULL); /* it has exited: running is 0 */
            w->joinable = 0;
        }
        w->e = e;
        w->idx = i;
        atomic_store(&w->running, 1);
        atomic_store(&w->state, WORKER_IDLE);
        atomic_store(&w->batch_start_ms, 0);
        if (pthread_create(&w->th, NULL, engine_worker_main, w) != 0) {
            atomic_store(&w->running, 0);
            eventlog_add(&e->log, EV_ERROR, "could not start worker %d (out of threads)", i);
            continue;
        }
        w->joinable = 1;
        e->ctl.active_workers++;
    }
}

/* ---------------------------------------------------------------- scanner */


static void *engine_scanner_main(void *arg) {
    Engine *e = arg;
    char err[FERRY_ERR_LEN];
    runctl_block_signals();
    ConnConfig sc = e->opt.source;
    util_strlcpy(sc.client_name, "ferry-scan", sizeof(sc.client_name));
    sc.uri.db = -1;
    Conn *c = engine_open_retry(e, &sc, err, sizeof(err));
    if (!c) {
        if (!e->ctl.stop) engine_fail(e, err);
        goto out;
    }
    const char *match = filter_server_match(&e->opt.filter);
    const char *type = filter_server_type(&e->opt.filter);
    int bsize = e->opt.batch;

    int first = 0;
    uint64_t first_cursor = 0;
    if (e->resume_set) {
        first = e->resume.db_index;
        first_cursor = e->resume.cursor;
    }
    for (int d = first; d < e->ndb && !e->ctl.stop; d++) {
        uint64_t cursor = d == first ? first_cursor : 0;
        pthread_mutex_lock(&e->ctl.lock);
        e->scan.db_src = e->src_db[d];
        e->scan.db_dst = e->dst_db[d];
        e->scan.cursor = cursor;
        e->scan.db_progress = cursor ? scan_cursor_progress(cursor) : 0;
        pthread_mutex_unlock(&e->ctl.lock);
        if (conn_select(c, e->src_db[d]) != 0) {
            engine_fail(e, conn_errstr(c));
            goto out;
        }
        int db_finished = 0;
        while (!e->ctl.stop) {
            if (!runctl_wait_unpaused(&e->ctl)) break;
            ScanPage page;
            if (scan_page(c, cursor, match, type, e->opt.scan_count, &page, err, sizeof(err)) != 0) {
                if (!conn_broken(c)) {
                    engine_fail(e, err);
                    break;
                }
                /* SCAN resumes from the same cursor on a new connection. */
                if (conn_reconnect(c, 12, &e->ctl.stop) != 0 || conn_select(c, e->src_db[d]) != 0) {
                    if (!e->ctl.stop) engine_fail(e, err);
                    break;
                }
                continue;
            }
            /* A page's keys go out in batches of their own, so that a page
             * is complete exactly when its batches are. */
            uint64_t pno = engine_page_open(e, d);
            Batch *b = NULL;
            int pushed_all = 1;
            for (size_t i = 0; i < page.nkeys && pushed_all; i++) {
                redisReply *k = page.keys[i];
                if (k->type != REDIS_REPLY_STRING) continue;
                if (!filter_key(&e->opt.filter, k->str, k->len)) {
                    atomic_fetch_add(&e->stats.filtered, 1);
                    continue;
                }
                atomic_fetch_add(&e->stats.scanned, 1);
                if (!b) {
                    b = batch_new(e->src_db[d], e->dst_db[d], bsize);
                    if (b) b->page = pno;
                }
                if (!b || batch_add(b, k->str, k->len) != 0) {
                    scan_page_free(&page);
                    batch_free(b);
                    engine_fail(e, "out of memory while scanning");
                    goto out;
                }
                if (b->n >= bsize) {
                    if (engine_push(e, b) != 0) pushed_all = 0;
                    b = NULL;
                }
            }
            if (b && pushed_all && engine_push(e, b) != 0) pushed_all = 0;
            else if (b && !pushed_all) batch_free(b);
            cursor = page.next_cursor;
            scan_page_free(&page);
            if (!pushed_all) break; /* stopping: this page stays open, the checkpoint stays before it */
            engine_page_close(e, pno, cursor);
            pthread_mutex_lock(&e->ctl.lock);
            e->scan.cursor = cursor;
            e->scan.db_progress = cursor ? scan_cursor_progress(cursor) : 1.0;
            pthread_mutex_unlock(&e->ctl.lock);
            if (cursor == 0) {
                db_finished = 1;
                break;
            }
        }
        if (!db_finished) break;
        pthread_mutex_lock(&e->ctl.lock);
        e->scan.dbs_done++;
        pthread_mutex_unlock(&e->ctl.lock);
    }
out:
    if (c) conn_close(c);
    pthread_mutex_lock(&e->ctl.lock);
    e->scan.finished = e->scan.dbs_done >= e->ndb;
    e->ctl.producer_exited = 1;
    queue_close(e->queue);
    engine_finalize_locked(e);
    pthread_mutex_unlock(&e->ctl.lock);
    return NULL;
}

/* ------------------------------------------------------- monitor, sampler */


static void *engine_monitor_main(void *arg) {
    Engine *e = arg;
    runctl_block_signals();
    int64_t next = util_mono_ms() + 1000;
    for (;;) {
        int64_t now = util_mono_ms();
        if (now >= next) {
            stats_tick(&e->stats, now);
            engine_ckpt_emit(e, 0);
            next += 1000;
            if (next < now) next = now + 1000;
        }
        if (runctl_sleep_until_final(&e->ctl, (int)(next - util_mono_ms() > 0 ? next - util_mono_ms() : 1))) break;
    }
    stats_tick(&e->stats, util_mono_ms());
    engine_ckpt_emit(e, 1);
    return NULL;
}

int engine_sample_server(Conn **cp, const ConnConfig *cfg, const char *name, ServerSnapshot *s,
                         ServerInfo *si) {
    char err[FERRY_ERR_LEN] = "";
    if (!*cp) {
        ConnConfig cc = *cfg;
        util_strlcpy(cc.client_name, name, sizeof(cc.client_name));
        cc.uri.db = -1;
        cc.io_timeout_ms = 5000;
        *cp = conn_open(&cc, err, sizeof(err));
    }
    int ok = 0;
    if (*cp) {
        int64_t t0 = util_mono_us();
        redisReply *r = conn_command(*cp, "PING");
        int64_t t1 = util_mono_us();
        if (r) {
            freeReplyObject(r);
            if (serverinfo_fetch(*cp, si, err, sizeof(err)) == 0) {
                ok = 1;
                s->latency_ms = (double)(t1 - t0) / 1000.0;
            }
        } else {
            util_strlcpy(err, conn_errstr(*cp), sizeof(err));
        }
        if (!ok && conn_broken(*cp)) {
            conn_close(*cp);
            *cp = NULL;
        }
    }
    if (!ok) {
        util_strlcpy(s->error, err[0] ? err : "no answer", sizeof(s->error));
        return 0;
    }
    util_strlcpy(s->version, si->version, sizeof(s->version));
    util_strlcpy(s->role, si->role, sizeof(s->role));
    s->rdb_version = si->rdb_version;
    s->used_memory = si->used_memory;
    s->maxmemory = si->maxmemory;
    s->ops_per_sec = si->ops_per_sec;
    s->clients = si->clients;
    s->error[0] = '\0';
    return 1;
}

static void engine_sample_one(Engine *e, int side, Conn **cp) {
    ServerSnapshot s;
    ServerInfo si;
    pthread_mutex_lock(&e->ctl.lock);
    s = e->srv[side];
    pthread_mutex_unlock(&e->ctl.lock);
    int ok = engine_sample_server(cp, side == 0 ? &e->opt.source : &e->opt.target,
                                  side == 0 ? "ferry-mon-src" : "ferry-mon-dst", &s, &si);
    if (ok) {
        uint64_t keys = 0;
        for (int d = 0; d < e->ndb; d++) {
            int db = side == 0 ? e->src_db[d] : e->dst_db[d];
            if (db >= 0 && db < SERVERINFO_MAX_DB) keys += si.db_keys[db];
        }
        s.keys = keys;
    }
    pthread_mutex_lock(&e->ctl.lock);
    if (ok) e->srv_ok_ms[side] = util_mono_ms();
    /* Keep the label: it was set once at create time. */
    memcpy(s.label, e->srv[side].label, sizeof(s.label));
    e->srv[side] = s;
    pthread_mutex_unlock(&e->ctl.lock);
}

static void *engine_sampler_main(void *arg) {
    Engine *e = arg;
    runctl_block_signals();
    Conn *c[2] = {NULL, NULL};
    /* Keeps sampling after the copy ends: an operator who stays on the
     * console is watching the target settle. Stops when the engine is freed. */
    while (!atomic_load(&e->closing)) {
        engine_sample_one(e, 0, &c[0]);
        engine_sample_one(e, 1, &c[1]);
        for (int i = 0; i < 20 && !atomic_load(&e->closing); i++) util_sleep_ms(50);
    }
    for (int i = 0; i < 2; i++)
        if (c[i]) conn_close(c[i]);
    return NULL;
}

/* ------------------------------------------------------------ create/start */

int engine_db_plan(const CopyOptions *o, const ServerInfo *src, int *src_db, int *dst_db, int max, int *n,
                      char *err, size_t errlen) {
    int sdb = o->source.uri.db, tdb = o->target.uri.db;
    *n = 0;
    if (o->dbmap.n > 0) {
        if (sdb >= 0 || tdb >= 0)
            return util_err(err, errlen, "both a db map and a /db in the %s URI choose the dbs: keep one",
                            sdb >= 0 ? "source" : "target");
        for (int i = 0; i < o->dbmap.n && i < max; i++) {
            src_db[i] = o->dbmap.src[i];
            dst_db[i] = o->dbmap.dst[i];
        }
        *n = o->dbmap.n < max ? o->dbmap.n : max;
        return 0;
    }
    if (sdb >= 0) {
        src_db[0] = sdb;
        dst_db[0] = tdb >= 0 ? tdb : sdb;
        *n = 1;
        return 0;
    }
    int k = 0;
    for (int d = 0; d <= src->max_db_seen && d < SERVERINFO_MAX_DB && k < max; d++) {
        if (!src->db_keys[d]) continue;
        src_db[k] = d;
        dst_db[k] = d;
        k++;
    }
    if (tdb >= 0) {
        if (k > 1)
            return util_err(err, errlen, "the target names db %d but the source has %d non-empty dbs: choose with a db map (%d:%d) or a /db on the source",
                            tdb, k, src_db[0], tdb);
        if (k == 1) dst_db[0] = tdb;
    }
    *n = k;
    return 0;
}

static int engine_plan(Engine *e, char *err, size_t errlen) {
    if (engine_db_plan(&e->opt, &e->src_info, e->src_db, e->dst_db, DBMAP_MAX, &e->ndb, err, errlen) != 0)
        return -1;
    for (int i = 0; i < e->ndb; i++) {
        int d = e->src_db[i];
        e->db_keys[i] = d < SERVERINFO_MAX_DB ? e->src_info.db_keys[d] : 0;
    }
    return 0;
}

static int engine_check(Engine *e, char *err, size_t errlen) {
    const CopyOptions *o = &e->opt;
    char sl[300], tl[300];
    uri_format_redacted(&o->source.uri, sl, sizeof(sl));
    uri_format_redacted(&o->target.uri, tl, sizeof(tl));

    if (e->src_info.cluster_enabled || e->dst_info.cluster_enabled)
        return util_err(err, errlen, "%s %s is a Redis Cluster node: cluster mode is not supported by this version of ferry; copy each shard from/to a standalone server",
                        e->src_info.cluster_enabled ? "source" : "target",
                        e->src_info.cluster_enabled ? sl : tl);
    if (e->src_info.run_id[0] && !strcmp(e->src_info.run_id, e->dst_info.run_id)) {
        for (int i = 0; i < e->ndb; i++)
            if (e->src_db[i] == e->dst_db[i])
                return util_err(err, errlen, "source and target are the same server (run_id %.12s…) and db %d: choose a different target",
                                e->src_info.run_id, e->src_db[i]);
    }
    if (!e->opt.type_based && !serverinfo_payload_compatible(e->src_info.rdb_version, e->dst_info.rdb_version))
        eventlog_add(&e->log, EV_INFO, "source %s (%s %s) writes DUMP payloads of RDB version %d, target %s (%s %s) takes up to %d: "
                                       "values whose encoding the target knows are RESTOREd with the payload's version lowered, the others "
                                       "copied with type commands",
                     sl, e->src_info.server_name, e->src_info.version, e->src_info.rdb_version,
                     tl, e->dst_info.server_name, e->dst_info.version, e->dst_info.rdb_version);
    for (int i = 0; i < e->ndb; i++) {
        redisReply *r = NULL;
        char db[16];
        snprintf(db, sizeof(db), "%d", e->src_db[i]);
        if (conn_select(e->ctl_src, e->src_db[i]) != 0)
            return util_err(err, errlen, "%s", conn_errstr(e->ctl_src));
        if (conn_select(e->ctl_dst, e->dst_db[i]) != 0)
            return util_err(err, errlen, "%s", conn_errstr(e->ctl_dst));
        r = conn_command(e->ctl_dst, "DBSIZE");
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            util_err(err, errlen, "%s: DBSIZE failed: %s", tl,
                     r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply") : conn_errstr(e->ctl_dst));
            if (r) freeReplyObject(r);
            return -1;
        }
        long long n = r->integer;
        freeReplyObject(r);
        if (n > 0 && !o->on_conflict_explicit)
            return util_err(err, errlen, "target %s db %d already holds %lld keys: choose --on-conflict fail|skip|replace explicitly, or empty that db first",
                            tl, e->dst_db[i], n);
    }
    if (serverinfo_policy_evicts(&e->dst_info) && e->dst_info.maxmemory)
        eventlog_add(&e->log, EV_WARN, "target evicts keys under memory pressure (maxmemory-policy %s): copied keys may be dropped silently",
                     e->dst_info.maxmemory_policy);
    if (!serverinfo_has_pexpiretime(&e->src_info))
        eventlog_add(&e->log, EV_WARN, "source %s %s has no PEXPIRETIME: expiries are derived from PTTL (within a few ms)",
                     e->src_info.server_name, e->src_info.version);
    return 0;
}

Engine *engine_create(const CopyOptions *o, char *err, size_t errlen) {
    Engine *e = calloc(1, sizeof(*e));
    if (!e) {
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    e->opt = *o;
    /* Own copies of the filter's patterns. */
    filter_init(&e->opt.filter);
    e->opt.filter.types = o->filter.types;
    for (int i = 0; i < o->filter.ninclude; i++) filter_add_include(&e->opt.filter, o->filter.include[i], NULL, 0);
    for (int i = 0; i < o->filter.nexclude; i++) filter_add_exclude(&e->opt.filter, o->filter.exclude[i], NULL, 0);
    if (e->opt.workers < 1) e->opt.workers = 1;
    if (e->opt.workers > ENGINE_MAX_WORKERS) e->opt.workers = ENGINE_MAX_WORKERS;
    if (e->opt.batch < 1) e->opt.batch = 256;
    e->opt.report_path = NULL; /* opened below; the caller's string is not kept */
    if (o->resume_from) {
        e->resume = *o->resume_from;
        e->resume_set = 1;
    }
    e->opt.resume_from = NULL;

    stats_init(&e->stats);
    eventlog_init(&e->log);
    runctl_init(&e->ctl, &e->log, e->opt.workers, e->opt.rate);
    pthread_mutex_init(&e->report_lock, NULL);
    e->scan.db_src = e->scan.db_dst = -1;
    e->server_filter = filter_server_match(&e->opt.filter) || filter_server_type(&e->opt.filter);
    for (int i = 0; i < 2; i++) {
        e->srv[i].status = RATE_INIT;
        e->srv[i].age_ms = -1;
        const ConnConfig *cfg = i == 0 ? &o->source : &o->target;
        char u[260];
        uri_format_redacted(&cfg->uri, u, sizeof(u));
        snprintf(e->srv[i].label, sizeof(e->srv[i].label), "%s", u);
    }

    ConnConfig sc = o->source, tc = o->target;
    util_strlcpy(sc.client_name, "ferry-ctl-src", sizeof(sc.client_name));
    util_strlcpy(tc.client_name, "ferry-ctl-dst", sizeof(tc.client_name));
    if (!(e->ctl_src = conn_open(&sc, err, errlen))) goto fail;
    if (!(e->ctl_dst = conn_open(&tc, err, errlen))) goto fail;
    if (serverinfo_fetch(e->ctl_src, &e->src_info, err, errlen) != 0) goto fail;
    if (serverinfo_fetch(e->ctl_dst, &e->dst_info, err, errlen) != 0) goto fail;
    if (engine_plan(e, err, errlen) != 0) goto fail;
    if (e->resume_set) {
        const CopyCheckpoint *r = &e->resume;
        if (r->db_index < 0 || r->db_index > e->ndb ||
            (r->db_index < e->ndb && (r->src_db != e->src_db[r->db_index] || r->dst_db != e->dst_db[r->db_index]))) {
            util_err(err, errlen, "the checkpoint (db %d→%d, plan entry %d) does not belong to this copy's plan; resume with the same db map and URIs, or start over",
                     r->src_db, r->dst_db, r->db_index);
            goto fail;
        }
        /* Resuming over our own earlier keys: they are met again and
         * counted as identical, so the target's emptiness is not a guard. */
        e->opt.on_conflict_explicit = 1;
    }
    if (engine_check(e, err, errlen) != 0) goto fail;
    for (int i = 0; i < 2; i++) {
        const ServerInfo *si = i == 0 ? &e->src_info : &e->dst_info;
        util_strlcpy(e->srv[i].version, si->version, sizeof(e->srv[i].version));
        util_strlcpy(e->srv[i].role, si->role, sizeof(e->srv[i].role));
        e->srv[i].rdb_version = si->rdb_version;
    }
    if (o->report_path) {
        e->report = fopen(o->report_path, "w");
        if (!e->report) {
            util_err(err, errlen, "cannot write the report file %s: %m; choose a writable --report path", o->report_path);
            goto fail;
        }
        fprintf(e->report, "# ferry copy report: keys not copied (outcome, reason, db, key, server's answer)\n");
        fflush(e->report);
    }
    e->queue = queue_create((size_t)QUEUE_BATCHES_PER_WORKER * ENGINE_MAX_WORKERS);
    if (!e->queue) {
        util_err(err, errlen, "out of memory");
        goto fail;
    }
    e->ctl.queue = e->queue;
    return e;
fail:
    if (e->ctl_src) conn_close(e->ctl_src);
    if (e->ctl_dst) conn_close(e->ctl_dst);
    if (e->report) fclose(e->report);
    filter_free(&e->opt.filter);
    stats_destroy(&e->stats);
    eventlog_destroy(&e->log);
    runctl_destroy(&e->ctl);
    pthread_mutex_destroy(&e->report_lock);
    free(e);
    return NULL;
}

int engine_start(Engine *e, char *err, size_t errlen) {
    pthread_mutex_lock(&e->ctl.lock);
    if (e->ctl.started) {
        pthread_mutex_unlock(&e->ctl.lock);
        return util_err(err, errlen, "the run was already started");
    }
    e->ctl.started = 1;
    uint64_t total = 0;
    for (int i = 0; i < e->ndb; i++) total += e->db_keys[i];
    stats_start(&e->stats, e->server_filter ? 0 : total);
    e->ctl.state = e->ctl.paused ? ENGINE_PAUSED : ENGINE_RUNNING;
    e->ctl.tokens_ms = util_mono_ms();
    e->scan.dbs_total = e->ndb;
    if (e->resume_set) {
        e->scan.dbs_done = e->resume.db_index;
        engine_ckpt_set_locked(e, e->resume.db_index, e->resume.cursor);
        e->ckpt_dirty = 0;
        eventlog_add(&e->log, EV_INFO, "resuming at db %d→%d, cursor %llu", e->resume.src_db, e->resume.dst_db,
                     (unsigned long long)e->resume.cursor);
    } else {
        engine_ckpt_set_locked(e, 0, 0);
        e->ckpt_dirty = 0;
    }
    char map[256] = "";
    for (int i = 0, off = 0; i < e->ndb && off < (int)sizeof(map) - 16; i++)
        off += snprintf(map + off, sizeof(map) - off, "%s%d→%d", i ? ", " : "", e->src_db[i], e->dst_db[i]);
    eventlog_add(&e->log, EV_INFO, "copy started: %d db(s) [%s], %llu keys, %d workers, on-conflict %s",
                 e->ndb, e->ndb ? map : "none non-empty", (unsigned long long)total, e->ctl.workers_target,
                 conflict_policy_name(e->opt.on_conflict));
    engine_spawn_workers_locked(e, e->ctl.workers_target);
    int rc = pthread_create(&e->scanner_th, NULL, engine_scanner_main, e);
    if (rc != 0) {
        e->ctl.producer_exited = 1;
        queue_close(e->queue);
    }
    pthread_create(&e->monitor_th, NULL, engine_monitor_main, e);
    if (e->opt.sample_servers) pthread_create(&e->sampler_th, NULL, engine_sampler_main, e);
    pthread_mutex_unlock(&e->ctl.lock);
    if (rc != 0) {
        engine_fail(e, "could not start the scanner thread");
        return util_err(err, errlen, "could not start the scanner thread");
    }
    return 0;
}

int engine_wait(Engine *e, int timeout_ms) { return runctl_wait(&e->ctl, timeout_ms); }

void engine_free(Engine *e) {
    if (!e) return;
    if (e->ctl.started) {
        engine_request_stop(e);
        engine_wait(e, -1);
        atomic_store(&e->closing, 1);
        pthread_join(e->scanner_th, NULL);
        pthread_join(e->monitor_th, NULL);
        if (e->opt.sample_servers) pthread_join(e->sampler_th, NULL);
        for (int i = 0; i < ENGINE_MAX_WORKERS; i++)
            if (e->workers[i].joinable) pthread_join(e->workers[i].th, NULL);
    }
    void *left;
    while (e->queue && (left = queue_try_pop(e->queue)) != NULL) batch_free(left);
    if (e->queue) queue_free(e->queue);
    conn_close(e->ctl_src);
    conn_close(e->ctl_dst);
    if (e->report) fclose(e->report);
    filter_free(&e->opt.filter);
    stats_destroy(&e->stats);
    eventlog_destroy(&e->log);
    runctl_destroy(&e->ctl);
    pthread_mutex_destroy(&e->report_lock);
    free(e);
}

/* ------------------------------------------------------------ control API */

void engine_pause(Engine *e) { runctl_pause(&e->ctl); }
void engine_resume(Engine *e) { runctl_resume(&e->ctl); }
void engine_set_rate(Engine *e, double r) { runctl_set_rate(&e->ctl, r); }
void engine_request_stop(Engine *e) { runctl_request_stop(&e->ctl); }
EngineState engine_state(Engine *e) { return runctl_state(&e->ctl); }

static void engine_spawn_cb(void *ud, int n) { engine_spawn_workers_locked(ud, n); }

void engine_set_workers(Engine *e, int n) { runctl_set_workers(&e->ctl, n, engine_spawn_cb, e); }

void engine_snapshot(Engine *e, EngineSnapshot *out) {
    int64_t now = util_mono_ms();
    memset(out, 0, sizeof(*out));
    stats_snapshot(&e->stats, &out->stats, now);
    pthread_mutex_lock(&e->ctl.lock);
    out->state = e->ctl.state;
    util_strlcpy(out->reason, e->ctl.reason, sizeof(out->reason));
    out->workers_target = e->ctl.workers_target;
    out->rate_limit = e->ctl.rate;
    out->scanner = e->scan;
    for (int i = 0; i < 2; i++) {
        ServerSnapshot *s = i == 0 ? &out->source : &out->target;
        *s = e->srv[i];
        s->age_ms = e->srv_ok_ms[i] ? now - e->srv_ok_ms[i] : -1;
        s->status = !e->srv_ok_ms[i] ? RATE_INIT : s->age_ms > 3000 ? RATE_STALE : RATE_OK;
    }
    memcpy(out->fail_samples, e->fail_samples, sizeof(out->fail_samples));
    /* With MATCH/TYPE on the server side, DBSIZE says nothing about how many
     * keys will come: estimate progress from the scan position instead. */
    if (e->server_filter && out->stats.progress < 0 && e->ndb > 0 && !runctl_final(e->ctl.state)) {
        uint64_t total = 0, before = 0;
        for (int i = 0; i < e->ndb; i++) total += e->db_keys[i] ? e->db_keys[i] : 1;
        for (int i = 0; i < e->scan.dbs_done && i < e->ndb; i++) before += e->db_keys[i] ? e->db_keys[i] : 1;
        double cur = 0;
        if (e->scan.dbs_done < e->ndb)
            cur = e->scan.db_progress * (double)(e->db_keys[e->scan.dbs_done] ? e->db_keys[e->scan.dbs_done] : 1);
        double p = ((double)before + cur) / (double)total;
        out->stats.progress = p;
        if (p > 0.01 && out->stats.elapsed_ms > 0)
            out->stats.eta_ms = (int64_t)((double)out->stats.elapsed_ms * (1 - p) / p);
    } else if (runctl_final(e->ctl.state)) {
        out->stats.progress = 1.0;
        out->stats.eta_ms = 0;
    }
    int n = 0;
    for (int i = 0; i < ENGINE_MAX_WORKERS; i++) {
        Worker *w = &e->workers[i];
        if (!w->joinable && !atomic_load(&w->running)) continue;
        if (!atomic_load(&w->running)) continue;
        WorkerSnapshot *ws = &out->workers[n++];
        ws->state = (WorkerState)atomic_load(&w->state);
        ws->keys_done = atomic_load(&w->keys_done);
        int64_t bs = atomic_load(&w->batch_start_ms);
        ws->batch_age_ms = bs ? now - bs : -1;
    }
    out->nworkers = n;
    pthread_mutex_unlock(&e->ctl.lock);
    out->nlog = eventlog_copy(&e->log, 0, out->log, ENGINE_SNAPSHOT_LOG);
}
