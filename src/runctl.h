/* runctl — the run state every copy shares, whatever feeds it (a SCAN of a
 * live source in engine.c, a snapshot file in rdbsource.c): state and its
 * reason, pause, stop, the worker target, the rate limit (a token bucket),
 * and the operator's control calls, each journaled in the event log.
 *
 * One mutex + one condition variable, like Redis's bio.c. The owner may
 * keep its own fields under `lock` too (scan position, samples). `stop` is
 * atomic so hot loops read it without the lock. */
#ifndef FERRY_RUNCTL_H
#define FERRY_RUNCTL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine.h"
#include "eventlog.h"
#include "queue.h"
#include "util.h"

typedef struct RunCtl {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* pause/resume/stop/final state, and the owner's waits */
    EngineState state;
    char reason[FERRY_ERR_LEN]; /* why FAILED/STOPPED */
    int failed;
    int paused;
    int started;
    _Atomic int stop;
    int workers_target;
    int active_workers;
    int producer_exited; /* the scanner / file reader has left */
    double rate;         /* keys/s, 0 = none */
    double tokens;
    int64_t tokens_ms;
    EventLog *log;       /* not owned */
    Queue *queue;        /* not owned; closed on stop and failure */
} RunCtl;

void runctl_init(RunCtl *c, EventLog *log, int workers, double rate);
void runctl_destroy(RunCtl *c);
int runctl_final(EngineState s);
/* Blocks every signal in the calling thread (our threads leave signals to main). */
void runctl_block_signals(void);

/* A fatal error: records why (first one wins), requests a stop, logs it. */
void runctl_fail(RunCtl *c, const char *why);
/* Waits for n tokens of the rate limit (returns at once when there is no
 * limit or a stop was requested). Sleeps outside the lock in short steps. */
void runctl_rate_acquire(RunCtl *c, int n);
/* Waits while paused; 1 to go on, 0 when stopping. */
int runctl_wait_unpaused(RunCtl *c);
/* Waits up to ms for a final state; 1 when final. */
int runctl_sleep_until_final(RunCtl *c, int ms);
/* timeout_ms -1 = forever; 1 when final. */
int runctl_wait(RunCtl *c, int timeout_ms);
EngineState runctl_state(RunCtl *c);

/* Under lock: 1 when every worker and the producer have left and the state
 * is not final yet; then the owner cleans up and calls runctl_finish_locked,
 * which sets DONE / STOPPED / FAILED and wakes every waiter. */
int runctl_should_finish_locked(RunCtl *c);
void runctl_finish_locked(RunCtl *c);

/* Operator control: safe from any thread, each journaled. */
void runctl_pause(RunCtl *c);
void runctl_resume(RunCtl *c);
void runctl_set_rate(RunCtl *c, double keys_per_s);
void runctl_request_stop(RunCtl *c);
/* New worker target; spawn_locked(ud, n) is called under the lock to start
 * threads [0, n) that are not running when the target grows. */
void runctl_set_workers(RunCtl *c, int n, void (*spawn_locked)(void *ud, int n), void *ud);

#endif
