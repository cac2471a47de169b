/* demo — the embedded default behind `ferry demo`: two throwaway local
 * redis-servers, a generated dataset on the source, and light live traffic
 * (a writer and a few stream producers/consumers) so the console has
 * something moving to show. demo_stop() stops exactly what demo_start()
 * started and removes its temp dirs. */
#ifndef FERRY_DEMO_H
#define FERRY_DEMO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "sandbox.h"

typedef struct Demo {
    Sandbox source, target;
    char source_uri[128], target_uri[128];
    pthread_t traffic_th;
    int traffic_running;
    _Atomic int traffic_stop;
    long keys;
} Demo;

typedef struct DemoOptions {
    long keys;     /* dataset size on the source, default 300,000 */
    int traffic;   /* 1 = keep live writes and stream consumers running */
} DemoOptions;

void demo_options_init(DemoOptions *o);
/* progress(stage, done, total, ud) reports dataset generation; may be NULL.
 * On error everything already started is stopped again. */
int demo_start(Demo *d, const DemoOptions *o,
               void (*progress)(const char *stage, long done, long total, void *ud), void *ud,
               char *err, size_t errlen);
void demo_stop(Demo *d);

#endif
