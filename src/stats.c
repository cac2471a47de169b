/* stats — counters bumped lock-free by workers; a once-a-second tick turns
 * them into history and rates; snapshots copy them out for display.
 *
 * The rate is averaged over the last 3 ticks so that one slow second does
 * not make the ETA jump. A rate is RATE_INIT before the first tick,
 * RATE_STALE when ticks stopped arriving (monitor stuck) and RATE_OK
 * otherwise; callers show stale numbers as stale, never as zero. */
#include "stats.h"

#include <string.h>

#include "util.h"

#define RATE_WINDOW 3

void stats_init(Stats *s) {
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
}

void stats_destroy(Stats *s) { pthread_mutex_destroy(&s->lock); }

void stats_start(Stats *s, uint64_t total_estimate) {
    pthread_mutex_lock(&s->lock);
    s->start_ms = util_mono_ms();
    s->last_tick_ms = s->start_ms;
    s->end_ms = 0;
    s->total_estimate = total_estimate;
    pthread_mutex_unlock(&s->lock);
}

void stats_finish(Stats *s) {
    pthread_mutex_lock(&s->lock);
    if (!s->end_ms) s->end_ms = util_mono_ms();
    pthread_mutex_unlock(&s->lock);
}

void stats_fail(Stats *s, FailReason r) {
    atomic_fetch_add(&s->failed_by[r], 1);
    atomic_fetch_add(&s->failed, 1);
}

static uint64_t stats_done(Stats *s) {
    return atomic_load(&s->copied) + atomic_load(&s->skipped) + atomic_load(&s->identical) +
           atomic_load(&s->expired) + atomic_load(&s->failed);
}

static void stats_push(float *hist, int len, float v) {
    if (len == STATS_HISTORY) {
        memmove(hist, hist + 1, (STATS_HISTORY - 1) * sizeof(float));
        hist[STATS_HISTORY - 1] = v;
    } else {
        hist[len] = v;
    }
}

void stats_tick(Stats *s, int64_t now_ms) {
    uint64_t done = stats_done(s);
    uint64_t bytes = atomic_load(&s->bytes);
    pthread_mutex_lock(&s->lock);
    int64_t dt = now_ms - s->last_tick_ms;
    if (dt <= 0 || s->start_ms == 0) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    float kps = (float)((double)(done - s->last_done) * 1000.0 / (double)dt);
    float bps = (float)((double)(bytes - s->last_bytes) * 1000.0 / (double)dt);
    stats_push(s->keys_hist, s->hist_len, kps);
    stats_push(s->bytes_hist, s->hist_len, bps);
    if (s->hist_len < STATS_HISTORY) s->hist_len++;
    int w = s->hist_len < RATE_WINDOW ? s->hist_len : RATE_WINDOW;
    double ksum = 0, bsum = 0;
    for (int i = s->hist_len - w; i < s->hist_len; i++) {
        ksum += s->keys_hist[i];
        bsum += s->bytes_hist[i];
    }
    s->keys_rate = ksum / w;
    s->bytes_rate = bsum / w;
    s->last_done = done;
    s->last_bytes = bytes;
    s->last_tick_ms = now_ms;
    pthread_mutex_unlock(&s->lock);
}

void stats_snapshot(Stats *s, StatsSnapshot *o, int64_t now_ms) {
    memset(o, 0, sizeof(*o));
    o->scanned = atomic_load(&s->scanned);
    o->filtered = atomic_load(&s->filtered);
    o->copied = atomic_load(&s->copied);
    o->skipped = atomic_load(&s->skipped);
    o->identical = atomic_load(&s->identical);
    o->expired = atomic_load(&s->expired);
    o->failed = atomic_load(&s->failed);
    o->bytes = atomic_load(&s->bytes);
    o->retries = atomic_load(&s->retries);
    for (int i = 0; i < FAIL__COUNT; i++) o->failed_by[i] = atomic_load(&s->failed_by[i]);
    o->done = o->copied + o->skipped + o->identical + o->expired + o->failed;

    pthread_mutex_lock(&s->lock);
    o->total_estimate = s->total_estimate;
    o->keys_rate = s->keys_rate;
    o->bytes_rate = s->bytes_rate;
    o->hist_len = s->hist_len;
    memcpy(o->keys_hist, s->keys_hist, sizeof(o->keys_hist));
    memcpy(o->bytes_hist, s->bytes_hist, sizeof(o->bytes_hist));
    int64_t end = s->end_ms ? s->end_ms : now_ms;
    o->elapsed_ms = s->start_ms ? end - s->start_ms : 0;
    if (s->start_ms == 0 || s->hist_len == 0)
        o->rate_status = RATE_INIT;
    else if (!s->end_ms && now_ms - s->last_tick_ms > 3000)
        o->rate_status = RATE_STALE;
    else
        o->rate_status = RATE_OK;
    int finished = s->end_ms != 0;
    pthread_mutex_unlock(&s->lock);

    uint64_t total = o->total_estimate;
    /* The estimate comes from DBSIZE at the start; keys written since can
     * push the count past it. Never show more than 100%. */
    if (total && o->done + o->filtered > total) total = o->done + o->filtered;
    if (finished) {
        o->progress = 1.0;
        o->eta_ms = 0;
    } else if (total) {
        o->progress = (double)(o->done + o->filtered) / (double)total;
        if (o->progress > 1) o->progress = 1;
        uint64_t left = total - (o->done + o->filtered);
        o->eta_ms = (o->rate_status == RATE_OK && o->keys_rate > 0.5)
                        ? (int64_t)((double)left / o->keys_rate * 1000.0)
                        : -1;
    } else {
        o->progress = -1;
        o->eta_ms = -1;
    }
}

const char *stats_fail_name(FailReason r) {
    switch (r) {
    case FAIL_BUSYKEY: return "exists on target";
    case FAIL_VERSION: return "payload version newer than target";
    case FAIL_OOM: return "target out of memory";
    case FAIL_TOOLARGE: return "payload too large for target";
    case FAIL_OTHER: return "other";
    case FAIL__COUNT: break;
    }
    return "?";
}
