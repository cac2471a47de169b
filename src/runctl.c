/* runctl — run state, pause/stop, worker target and rate limit shared by
 * the copy engine and the snapshot source. See runctl.h. */
#include "runctl.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void runctl_init(RunCtl *c, EventLog *log, int workers, double rate) {
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->log = log;
    c->workers_target = workers;
    c->rate = rate;
}

void runctl_destroy(RunCtl *c) {
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

int runctl_final(EngineState s) { return s == ENGINE_DONE || s == ENGINE_STOPPED || s == ENGINE_FAILED; }

void runctl_block_signals(void) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

void runctl_fail(RunCtl *c, const char *why) {
    pthread_mutex_lock(&c->lock);
    int first = !c->failed && !runctl_final(c->state);
    if (first) {
        c->failed = 1;
        util_strlcpy(c->reason, why, sizeof(c->reason));
        c->stop = 1;
        c->state = ENGINE_STOPPING;
        if (c->queue) queue_close(c->queue);
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    if (first) eventlog_add(c->log, EV_ERROR, "%s", why);
}

void runctl_rate_acquire(RunCtl *c, int n) {
    for (;;) {
        pthread_mutex_lock(&c->lock);
        if (c->rate <= 0 || c->stop) {
            pthread_mutex_unlock(&c->lock);
            return;
        }
        int64_t now = util_mono_ms();
        c->tokens += (double)(now - c->tokens_ms) * c->rate / 1000.0;
        c->tokens_ms = now;
        double cap = c->rate > n ? c->rate : n; /* at most 1 s of burst */
        if (c->tokens > cap) c->tokens = cap;
        if (c->tokens >= n) {
            c->tokens -= n;
            pthread_mutex_unlock(&c->lock);
            return;
        }
        int64_t wait = (int64_t)((n - c->tokens) * 1000.0 / c->rate) + 1;
        pthread_mutex_unlock(&c->lock);
        util_sleep_ms(wait < 50 ? wait : 50);
    }
}

int runctl_wait_unpaused(RunCtl *c) {
    pthread_mutex_lock(&c->lock);
    while (c->paused && !c->stop) pthread_cond_wait(&c->cond, &c->lock);
    int go = !c->stop;
    pthread_mutex_unlock(&c->lock);
    return go;
}

int runctl_sleep_until_final(RunCtl *c, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->lock);
    while (!runctl_final(c->state))
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0) break;
    int fin = runctl_final(c->state);
    pthread_mutex_unlock(&c->lock);
    return fin;
}

int runctl_wait(RunCtl *c, int timeout_ms) {
    if (timeout_ms >= 0) return runctl_sleep_until_final(c, timeout_ms);
    pthread_mutex_lock(&c->lock);
    while (!runctl_final(c->state)) pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
    return 1;
}

EngineState runctl_state(RunCtl *c) {
    pthread_mutex_lock(&c->lock);
    EngineState s = c->state;
    pthread_mutex_unlock(&c->lock);
    return s;
}

int runctl_should_finish_locked(RunCtl *c) {
    return !runctl_final(c->state) && c->active_workers == 0 && c->producer_exited;
}

void runctl_finish_locked(RunCtl *c) {
    c->state = c->failed ? ENGINE_FAILED : c->stop ? ENGINE_STOPPED : ENGINE_DONE;
    if (c->state == ENGINE_STOPPED && !c->reason[0])
        util_strlcpy(c->reason, "stopped by the operator", sizeof(c->reason));
    pthread_cond_broadcast(&c->cond);
}

void runctl_pause(RunCtl *c) {
    pthread_mutex_lock(&c->lock);
    int changed = !c->paused && !runctl_final(c->state) && !c->stop;
    if (changed) {
        c->paused = 1;
        if (c->state == ENGINE_RUNNING) c->state = ENGINE_PAUSED;
    }
    pthread_mutex_unlock(&c->lock);
    if (changed) eventlog_add(c->log, EV_OPERATOR, "paused: workers finish their batch, then wait");
}

void runctl_resume(RunCtl *c) {
    pthread_mutex_lock(&c->lock);
    int changed = c->paused && !runctl_final(c->state);
    if (changed) {
        c->paused = 0;
        if (c->state == ENGINE_PAUSED) c->state = ENGINE_RUNNING;
        c->tokens_ms = util_mono_ms();
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    if (changed) eventlog_add(c->log, EV_OPERATOR, "resumed");
}

void runctl_set_rate(RunCtl *c, double r) {
    if (r < 0) r = 0;
    pthread_mutex_lock(&c->lock);
    double old = c->rate;
    c->rate = r;
    c->tokens = 0;
    c->tokens_ms = util_mono_ms();
    pthread_mutex_unlock(&c->lock);
    char was[32];
    if (old > 0)
        snprintf(was, sizeof(was), "%.0f", old);
    else
        snprintf(was, sizeof(was), "off");
    if (r > 0)
        eventlog_add(c->log, EV_OPERATOR, "rate limit %s → %.0f keys/s", was, r);
    else
        eventlog_add(c->log, EV_OPERATOR, "rate limit %s → off", was);
}

void runctl_request_stop(RunCtl *c) {
    pthread_mutex_lock(&c->lock);
    int changed = !c->stop && !runctl_final(c->state);
    if (changed) {
        c->stop = 1;
        if (c->started) c->state = ENGINE_STOPPING;
        if (c->queue) queue_close(c->queue);
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    if (changed) eventlog_add(c->log, EV_OPERATOR, "stop requested: finishing the batches in flight");
}

void runctl_set_workers(RunCtl *c, int n, void (*spawn_locked)(void *ud, int n), void *ud) {
    if (n < 1) n = 1;
    if (n > ENGINE_MAX_WORKERS) n = ENGINE_MAX_WORKERS;
    pthread_mutex_lock(&c->lock);
    int old = c->workers_target;
    if (n == old || runctl_final(c->state) || c->stop) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->workers_target = n;
    if (c->started && n > old && c->queue && !queue_closed(c->queue)) spawn_locked(ud, n);
    pthread_cond_broadcast(&c->cond); /* paused workers above n leave */
    pthread_mutex_unlock(&c->lock);
    eventlog_add(c->log, EV_OPERATOR, "workers %d → %d", old, n);
}
