/* queue — a bounded, blocking FIFO of pointers between the scanner and the
 * copy workers (a mutex and two condition variables, as in Redis's bio.c).
 *
 * Its bound is what keeps memory proportional to workers × batch, never to
 * the size of the keyspace: a slow target makes the scanner wait. */
#ifndef FERRY_QUEUE_H
#define FERRY_QUEUE_H

#include <stddef.h>

typedef struct Queue Queue;

Queue *queue_create(size_t capacity);
/* Frees the queue only; items still inside belong to the caller (drain with
 * queue_try_pop first). */
void queue_free(Queue *q);
/* Blocks while full. Takes ownership of item on success (0); returns -1 and
 * leaves item with the caller when the queue is closed. */
int queue_push(Queue *q, void *item);
/* Blocks while empty; returns NULL once closed and empty. The caller owns the
 * returned item. */
void *queue_pop(Queue *q);
/* Like queue_pop but waits at most timeout_ms; NULL on timeout or when closed
 * and empty (queue_closed() tells which). */
void *queue_pop_timed(Queue *q, int timeout_ms);
/* Non-blocking pop; NULL if empty. */
void *queue_try_pop(Queue *q);
/* No more pushes; poppers drain what is left, then get NULL. */
void queue_close(Queue *q);
int queue_closed(Queue *q);
size_t queue_len(Queue *q);

#endif
