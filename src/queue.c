/* queue — owns the hand-over of key batches from the scanner thread to the
 * copy workers: a bounded FIFO of pointers.
 *
 * Design (as Redis's bio.c): one mutex guards a ring buffer; two condition
 * variables say "no longer empty" (poppers wait on it) and "no longer full"
 * (pushers wait on it). A thread takes or puts one item under the lock and
 * does its real work unlocked; the queue never touches what the pointers
 * point to. Every push wakes one popper and every pop wakes one pusher;
 * queue_close() wakes everybody: pushers fail from then on, poppers drain
 * what is left and then get NULL. Timed waits run on CLOCK_MONOTONIC so
 * that a wall-clock jump cannot stretch or cut them.
 *
 * NULL cannot be queued: it is what a pop returns for "nothing". */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct Queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **items; /* ring of cap slots */
    size_t cap;
    size_t head; /* oldest item */
    size_t len;
    int closed;
};

/* Returns NULL when capacity is 0 (a queue that can hold nothing would
 * block its first push forever) or when memory runs out. */
Queue *queue_create(size_t capacity) {
    if (capacity == 0) return NULL;
    Queue *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->items = calloc(capacity, sizeof(*q->items));
    if (!q->items) {
        free(q);
        return NULL;
    }
    q->cap = capacity;

    pthread_condattr_t attr;
    int ok = pthread_condattr_init(&attr) == 0;
    if (ok) {
        ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&q->not_empty, &attr) == 0;
        if (ok && pthread_cond_init(&q->not_full, &attr) != 0) {
            pthread_cond_destroy(&q->not_empty);
            ok = 0;
        }
        pthread_condattr_destroy(&attr);
    }
    if (ok && pthread_mutex_init(&q->lock, NULL) != 0) {
        pthread_cond_destroy(&q->not_empty);
        pthread_cond_destroy(&q->not_full);
        ok = 0;
    }
    if (!ok) {
        free(q->items);
        free(q);
        return NULL;
    }
    return q;
}

void queue_free(Queue *q) {
    if (!q) return;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->items);
    free(q);
}

/* Takes the oldest item; the lock is held and len > 0. */
static void *queue_take_locked(Queue *q) {
    void *item = q->items[q->head];
    q->items[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->len--;
    pthread_cond_signal(&q->not_full);
    return item;
}

int queue_push(Queue *q, void *item) {
    if (!item) return -1;
    pthread_mutex_lock(&q->lock);
    while (q->len == q->cap && !q->closed) pthread_cond_wait(&q->not_full, &q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    q->items[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

void *queue_pop(Queue *q) {
    void *item = NULL;
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->closed) pthread_cond_wait(&q->not_empty, &q->lock);
    if (q->len > 0) item = queue_take_locked(q);
    pthread_mutex_unlock(&q->lock);
    return item;
}

void *queue_pop_timed(Queue *q, int timeout_ms) {
    struct timespec deadline;
    void *item = NULL;
    if (timeout_ms < 0) timeout_ms = 0;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->closed) {
        if (pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline) == ETIMEDOUT) break;
    }
    if (q->len > 0) item = queue_take_locked(q);
    pthread_mutex_unlock(&q->lock);
    return item;
}

void *queue_try_pop(Queue *q) {
    void *item = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->len > 0) item = queue_take_locked(q);
    pthread_mutex_unlock(&q->lock);
    return item;
}

void queue_close(Queue *q) {
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

int queue_closed(Queue *q) {
    pthread_mutex_lock(&q->lock);
    int closed = q->closed;
    pthread_mutex_unlock(&q->lock);
    return closed;
}

size_t queue_len(Queue *q) {
    pthread_mutex_lock(&q->lock);
    size_t len = q->len;
    pthread_mutex_unlock(&q->lock);
    return len;
}
