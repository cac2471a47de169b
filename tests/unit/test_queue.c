/* test_queue — the bounded queue with real threads: FIFO order, pushers
 * blocking while full, poppers blocking while empty, close waking both, the
 * timed pop timing out, and many producers and consumers losing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "util.h"

/* Items are small integers dressed as pointers (never 0: NULL is "nothing"). */
#define ITEM(n) ((void *)(uintptr_t)(n))
#define VALUE(p) ((uintptr_t)(p))

/* How long a thread must stay blocked before we believe it is. */
#define BLOCK_CHECK_MS 100

static void test_fifo_and_len(void **state) {
    (void)state;
    Queue *q = queue_create(4);
    assert_non_null(q);
    assert_int_equal(queue_len(q), 0);
    assert_null(queue_try_pop(q));
    for (uintptr_t i = 1; i <= 4; i++) assert_int_equal(queue_push(q, ITEM(i)), 0);
    assert_int_equal(queue_len(q), 4);
    assert_int_equal(VALUE(queue_pop(q)), 1);
    assert_int_equal(VALUE(queue_try_pop(q)), 2);
    /* Wrap around the ring. */
    assert_int_equal(queue_push(q, ITEM(5)), 0);
    assert_int_equal(queue_push(q, ITEM(6)), 0);
    assert_int_equal(queue_len(q), 4);
    for (uintptr_t i = 3; i <= 6; i++) assert_int_equal(VALUE(queue_pop_timed(q, 10)), i);
    assert_int_equal(queue_len(q), 0);
    assert_null(queue_try_pop(q));
    assert_int_equal(queue_closed(q), 0);
    queue_free(q);
}

static void test_create_and_null(void **state) {
    (void)state;
    assert_null(queue_create(0));
    queue_free(NULL);
    Queue *q = queue_create(1);
    assert_non_null(q);
    assert_int_equal(queue_push(q, NULL), -1); /* NULL is not an item */
    assert_int_equal(queue_len(q), 0);
    queue_free(q);
}

/* ---- helper threads -------------------------------------------------- */

typedef struct {
    Queue *q;
    uintptr_t item;
    int rc;
    void *popped;
    atomic_int done;
} Job;

static void *push_thread(void *arg) {
    Job *j = arg;
    j->rc = queue_push(j->q, ITEM(j->item));
    atomic_store(&j->done, 1);
    return NULL;
}

static void *pop_thread(void *arg) {
    Job *j = arg;
    j->popped = queue_pop(j->q);
    atomic_store(&j->done, 1);
    return NULL;
}

/* Waits up to ms for j->done; returns it. */
static int wait_done(Job *j, int ms) {
    int64_t deadline = util_mono_ms() + ms;
    while (!atomic_load(&j->done) && util_mono_ms() < deadline) util_sleep_ms(1);
    return atomic_load(&j->done);
}

static void test_push_blocks_while_full(void **state) {
    (void)state;
    Queue *q = queue_create(2);
    assert_int_equal(queue_push(q, ITEM(1)), 0);
    assert_int_equal(queue_push(q, ITEM(2)), 0);

    Job j = {.q = q, .item = 3};
    atomic_init(&j.done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, push_thread, &j), 0);
    util_sleep_ms(BLOCK_CHECK_MS);
    assert_int_equal(atomic_load(&j.done), 0); /* still waiting for room */
    assert_int_equal(queue_len(q), 2);

    assert_int_equal(VALUE(queue_pop(q)), 1); /* makes room */
    assert_int_equal(wait_done(&j, 5000), 1);
    pthread_join(t, NULL);
    assert_int_equal(j.rc, 0);
    assert_int_equal(VALUE(queue_pop(q)), 2);
    assert_int_equal(VALUE(queue_pop(q)), 3);
    queue_free(q);
}

static void test_pop_blocks_while_empty(void **state) {
    (void)state;
    Queue *q = queue_create(2);
    Job j = {.q = q};
    atomic_init(&j.done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pop_thread, &j), 0);
    util_sleep_ms(BLOCK_CHECK_MS);
    assert_int_equal(atomic_load(&j.done), 0);

    assert_int_equal(queue_push(q, ITEM(42)), 0);
    assert_int_equal(wait_done(&j, 5000), 1);
    pthread_join(t, NULL);
    assert_int_equal(VALUE(j.popped), 42);
    queue_free(q);
}

static void test_close_wakes_blocked_pop(void **state) {
    (void)state;
    Queue *q = queue_create(2);
    Job a = {.q = q}, b = {.q = q};
    atomic_init(&a.done, 0);
    atomic_init(&b.done, 0);
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, pop_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, pop_thread, &b), 0);
    util_sleep_ms(BLOCK_CHECK_MS);
    assert_int_equal(atomic_load(&a.done), 0);
    assert_int_equal(atomic_load(&b.done), 0);

    int64_t t0 = util_mono_ms();
    queue_close(q);
    assert_int_equal(wait_done(&a, 5000), 1);
    assert_int_equal(wait_done(&b, 5000), 1);
    assert_true(util_mono_ms() - t0 < 2000);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_null(a.popped);
    assert_null(b.popped);
    assert_int_equal(queue_closed(q), 1);
    queue_free(q);
}

static void test_close_wakes_blocked_push(void **state) {
    (void)state;
    Queue *q = queue_create(1);
    assert_int_equal(queue_push(q, ITEM(1)), 0);
    Job j = {.q = q, .item = 2};
    atomic_init(&j.done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, push_thread, &j), 0);
    util_sleep_ms(BLOCK_CHECK_MS);
    assert_int_equal(atomic_load(&j.done), 0);

    queue_close(q);
    assert_int_equal(wait_done(&j, 5000), 1);
    pthread_join(t, NULL);
    assert_int_equal(j.rc, -1); /* refused: item 2 stays with the pusher */
    assert_int_equal(queue_len(q), 1);
    assert_int_equal(VALUE(queue_pop(q)), 1);
    assert_null(queue_pop(q));
    queue_free(q);
}

static void test_close_drains_then_null(void **state) {
    (void)state;
    Queue *q = queue_create(8);
    for (uintptr_t i = 1; i <= 3; i++) assert_int_equal(queue_push(q, ITEM(i)), 0);
    queue_close(q);
    assert_int_equal(queue_closed(q), 1);
    assert_int_equal(queue_push(q, ITEM(9)), -1);
    assert_int_equal(queue_len(q), 3);
    assert_int_equal(VALUE(queue_pop(q)), 1);
    assert_int_equal(VALUE(queue_pop_timed(q, 1000)), 2);
    assert_int_equal(VALUE(queue_try_pop(q)), 3);
    assert_null(queue_pop(q));
    /* Closed and empty: the timed pop does not wait out its timeout. */
    int64_t t0 = util_mono_ms();
    assert_null(queue_pop_timed(q, 5000));
    assert_true(util_mono_ms() - t0 < 1000);
    queue_close(q); /* twice is harmless */
    queue_free(q);
}

static void test_timed_pop_times_out(void **state) {
    (void)state;
    Queue *q = queue_create(2);
    int64_t t0 = util_mono_ms();
    assert_null(queue_pop_timed(q, 150));
    int64_t waited = util_mono_ms() - t0;
    if (waited < 140 || waited > 2000) print_error("timed pop waited %lld ms for 150\n", (long long)waited);
    assert_true(waited >= 140);
    assert_true(waited < 2000);
    assert_int_equal(queue_closed(q), 0); /* a timeout, not a close */

    t0 = util_mono_ms();
    assert_null(queue_pop_timed(q, 0));
    assert_null(queue_pop_timed(q, -5));
    assert_true(util_mono_ms() - t0 < 100);

    /* More than a second, to cover the seconds part of the deadline. */
    t0 = util_mono_ms();
    assert_null(queue_pop_timed(q, 1100));
    waited = util_mono_ms() - t0;
    assert_true(waited >= 1090);
    assert_true(waited < 3000);
    queue_free(q);
}

typedef struct {
    Queue *q;
    int delay_ms;
} DelayedPush;

static void *delayed_push_thread(void *arg) {
    DelayedPush *d = arg;
    util_sleep_ms(d->delay_ms);
    queue_push(d->q, ITEM(77));
    return NULL;
}

static void test_timed_pop_gets_item_pushed_while_waiting(void **state) {
    (void)state;
    Queue *q = queue_create(2);
    DelayedPush d = {.q = q, .delay_ms = 50};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, delayed_push_thread, &d), 0);
    int64_t t0 = util_mono_ms();
    assert_int_equal(VALUE(queue_pop_timed(q, 10000)), 77);
    assert_true(util_mono_ms() - t0 < 5000);
    pthread_join(t, NULL);
    queue_free(q);
}

/* ---- many producers, many consumers ---------------------------------- */

#define NPRODUCERS 4
#define NCONSUMERS 4
#define PER_PRODUCER 20000
#define TOTAL (NPRODUCERS * PER_PRODUCER)

/* Item value: producer p's i-th item is p * PER_PRODUCER + i + 1. */

typedef struct {
    Queue *q;
    int id;
} Producer;

typedef struct {
    Queue *q;
    unsigned char *seen; /* TOTAL + 1 counters, shared; each slot written by one consumer */
    long count;
    uint64_t sum;
    int out_of_order;
    atomic_int *seen_twice;
} Consumer;

static void *producer_thread(void *arg) {
    Producer *p = arg;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++)
        if (queue_push(p->q, ITEM((uintptr_t)p->id * PER_PRODUCER + i + 1)) != 0) break;
    return NULL;
}

static void *consumer_thread(void *arg) {
    Consumer *c = arg;
    uintptr_t last[NPRODUCERS] = {0};
    void *item;
    /* Alternate the blocking and the timed pop to exercise both. */
    for (long n = 0;; n++) {
        item = (n & 1) ? queue_pop(c->q) : queue_pop_timed(c->q, 1000);
        if (!item) {
            if (queue_closed(c->q) && queue_len(c->q) == 0) break;
            continue; /* a timeout */
        }
        uintptr_t v = VALUE(item);
        int producer = (int)((v - 1) / PER_PRODUCER);
        /* One producer's items reach any one consumer in the order pushed. */
        if (v <= last[producer]) c->out_of_order++;
        last[producer] = v;
        if (c->seen[v]++) atomic_fetch_add(c->seen_twice, 1);
        c->count++;
        c->sum += v;
    }
    return NULL;
}

static void test_producers_consumers_add_up(void **state) {
    (void)state;
    Queue *q = queue_create(8); /* small: everyone blocks often */
    unsigned char *seen = calloc(TOTAL + 1, 1);
    assert_non_null(seen);
    atomic_int seen_twice;
    atomic_init(&seen_twice, 0);

    pthread_t pt[NPRODUCERS], ct[NCONSUMERS];
    Producer prod[NPRODUCERS];
    Consumer cons[NCONSUMERS];
    for (int i = 0; i < NCONSUMERS; i++) {
        cons[i] = (Consumer){.q = q, .seen = seen, .seen_twice = &seen_twice};
        assert_int_equal(pthread_create(&ct[i], NULL, consumer_thread, &cons[i]), 0);
    }
    for (int i = 0; i < NPRODUCERS; i++) {
        prod[i] = (Producer){.q = q, .id = i};
        assert_int_equal(pthread_create(&pt[i], NULL, producer_thread, &prod[i]), 0);
    }
    for (int i = 0; i < NPRODUCERS; i++) pthread_join(pt[i], NULL);
    queue_close(q);
    long count = 0;
    uint64_t sum = 0;
    int out_of_order = 0;
    for (int i = 0; i < NCONSUMERS; i++) {
        pthread_join(ct[i], NULL);
        count += cons[i].count;
        sum += cons[i].sum;
        out_of_order += cons[i].out_of_order;
    }
    assert_int_equal(count, TOTAL);
    assert_int_equal(sum, (uint64_t)TOTAL * (TOTAL + 1) / 2);
    assert_int_equal(atomic_load(&seen_twice), 0);
    assert_int_equal(out_of_order, 0);
    for (long v = 1; v <= TOTAL; v++) assert_int_equal(seen[v], 1);
    assert_int_equal(queue_len(q), 0);
    free(seen);
    queue_free(q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_len),
        cmocka_unit_test(test_create_and_null),
        cmocka_unit_test(test_push_blocks_while_full),
        cmocka_unit_test(test_pop_blocks_while_empty),
        cmocka_unit_test(test_close_wakes_blocked_pop),
        cmocka_unit_test(test_close_wakes_blocked_push),
        cmocka_unit_test(test_close_drains_then_null),
        cmocka_unit_test(test_timed_pop_times_out),
        cmocka_unit_test(test_timed_pop_gets_item_pushed_while_waiting),
        cmocka_unit_test(test_producers_consumers_add_up),
    };
    return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
