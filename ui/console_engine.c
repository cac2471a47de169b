/* console_engine — binds a ConsoleBackend to a real Engine. Kept apart so
 * that the rest of ui/ builds and tests without engine.c. */
#include "console.h"

#include <string.h>

static void be_snapshot(void *ctx, EngineSnapshot *out) { engine_snapshot(ctx, out); }
static void be_pause(void *ctx) { engine_pause(ctx); }
static void be_resume(void *ctx) { engine_resume(ctx); }
static void be_set_workers(void *ctx, int n) { engine_set_workers(ctx, n); }
static void be_set_rate(void *ctx, double r) { engine_set_rate(ctx, r); }
static void be_request_stop(void *ctx) { engine_request_stop(ctx); }
static void be_log(void *ctx, EventLevel lvl, const char *text) { engine_log(ctx, lvl, "%s", text); }

void console_backend_for_engine(ConsoleBackend *b, Engine *e) {
    memset(b, 0, sizeof *b); /* the runbook and groups hooks stay NULL */
    b->ctx = e;
    b->snapshot = be_snapshot;
    b->pause = be_pause;
    b->resume = be_resume;
    b->set_workers = be_set_workers;
    b->set_rate = be_set_rate;
    b->request_stop = be_request_stop;
    b->log = be_log;
}
