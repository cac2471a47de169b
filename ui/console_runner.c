/* console_runner — binds a ConsoleBackend to a Runner (`ferry run`): the
 * runbook panel draws from runner_snapshot(), the gate keys go to
 * runner_confirm/skip/abort, and the copy controls to the run's current
 * copy. Every call here only takes the runner's locks: nothing touches the
 * network on the UI thread. */
#include "console.h"

#include <string.h>

static void rb_snapshot(void *ctx, EngineSnapshot *out) {
    /* not used in run mode (the console reads run_snapshot); kept sane */
    (void)ctx;
    memset(out, 0, sizeof *out);
}
static void rb_pause(void *ctx) { runner_engine_pause(ctx); }
static void rb_resume(void *ctx) { runner_engine_resume(ctx); }
static void rb_set_workers(void *ctx, int n) { runner_engine_set_workers(ctx, n); }
static void rb_set_rate(void *ctx, double r) { runner_engine_set_rate(ctx, r); }
static void rb_request_stop(void *ctx) { runner_abort(ctx); }
static void rb_log(void *ctx, EventLevel lvl, const char *text) { runner_note(ctx, lvl, text); }
static void rb_run_snapshot(void *ctx, RunnerSnapshot *out) { runner_snapshot(ctx, out); }
static int rb_confirm(void *ctx, const char *step, const char *phrase, char *err, size_t errlen) {
    return runner_confirm(ctx, step, phrase, err, errlen);
}
static int rb_skip(void *ctx, const char *step, const char *reason, char *err, size_t errlen) {
    return runner_skip(ctx, step, reason, err, errlen);
}
static void rb_abort(void *ctx) { runner_abort(ctx); }
static int rb_groups(void *ctx, int side, GroupsSnapshot *out) { return runner_groups(ctx, side, out); }

void console_backend_for_runner(ConsoleBackend *b, Runner *r) {
    memset(b, 0, sizeof *b);
    b->ctx = r;
    b->snapshot = rb_snapshot;
    b->pause = rb_pause;
    b->resume = rb_resume;
    b->set_workers = rb_set_workers;
    b->set_rate = rb_set_rate;
    b->request_stop = rb_request_stop;
    b->log = rb_log;
    b->run_snapshot = rb_run_snapshot;
    b->confirm = rb_confirm;
    b->skip = rb_skip;
    b->abort_run = rb_abort;
    b->groups = rb_groups;
}
