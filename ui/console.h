/* console — the interactive ncurses dashboard over one copy run.
 *
 * The console never touches the engine directly: it goes through a
 * ConsoleBackend, a handful of function pointers, so that tests and the dev
 * harness can drive it with a fake, and console_backend_for_engine() (in
 * console_engine.c) binds it to a real Engine.
 *
 * Threads: console_run() is the UI thread. It never does network I/O; it
 * only calls the backend, whose snapshot() must be cheap (a copy under one
 * lock) and whose control calls must not block. */
#ifndef FERRY_CONSOLE_H
#define FERRY_CONSOLE_H

#include <stddef.h>

#include "engine.h"
#include "follow.h"
#include "runner.h"

typedef struct ConsoleBackend {
    void *ctx;
    void (*snapshot)(void *ctx, EngineSnapshot *out);
    void (*pause)(void *ctx);
    void (*resume)(void *ctx);
    void (*set_workers)(void *ctx, int n);
    void (*set_rate)(void *ctx, double keys_per_s);
    void (*request_stop)(void *ctx);
    void (*log)(void *ctx, EventLevel lvl, const char *text);
    /* A runbook run (`ferry run`): set these and the console draws the
     * runbook panel from run_snapshot(), and snapshot() is not called (the
     * engine panels draw the run's current copy). NULL = a plain copy. */
    void (*run_snapshot)(void *ctx, RunnerSnapshot *out);
    int (*confirm)(void *ctx, const char *step, const char *phrase, char *err, size_t errlen);
    int (*skip)(void *ctx, const char *step, const char *reason, char *err, size_t errlen);
    void (*abort_run)(void *ctx);
    /* Consumer groups of one side (0 source, 1 target) into out (freed by
     * the console with groups_snapshot_free); -1 = none. NULL = no panel. */
    int (*groups)(void *ctx, int side, GroupsSnapshot *out);
    void *groups_ctx; /* groups()'s ctx; NULL = ctx */
    /* `ferry follow`: set this and the console is the follower's: the
     * Follower panel draws from follow_status(), snapshot() supplies only
     * the servers and the log, and a confirmed quit (or Ctrl-C, SIGHUP)
     * leaves console_run() at once: the caller then stops the follower.
     * Must only copy a struct under a lock. NULL = not a follower. */
    void (*follow_status)(void *ctx, FollowStatus *out);
} ConsoleBackend;

typedef struct ConsoleOptions {
    const char *theme; /* name or path, NULL = default */
    int ascii;         /* 1 ASCII only, 0 Unicode, -1 auto from the locale */
    const char *title; /* e.g. "copy  source → target" */
    const char *quit_note; /* ferry follow: one line of the quit question (a rerun's fate) */
} ConsoleOptions;

void console_options_init(ConsoleOptions *o);

/* Binds b to e; e must outlive every use of b. */
void console_backend_for_engine(ConsoleBackend *b, Engine *e);
/* Binds b to a started runner (console_runner.c); r must outlive b. The
 * engine controls (pause, workers, rate) act on the run's current copy;
 * request_stop aborts the run. */
void console_backend_for_runner(ConsoleBackend *b, Runner *r);

/* Runs until the operator quits. While the run is in progress, q asks for a
 * y/n confirmation, then calls request_stop and keeps drawing ("stopping…")
 * until the engine reaches a final state (DONE, STOPPED, FAILED). SIGINT
 * acts like a confirmed q; a second SIGINT leaves without waiting.
 *
 * With a runner backend, q asks, then aborts the run and leaves once the
 * runner has reached a final state. With a follower backend, q asks (not
 * once the follower has failed or stopped) and leaves; so do SIGINT and
 * SIGHUP.
 *
 * Returns 0, or -1 with a one-line message when the terminal cannot be
 * opened. A bad theme is not an error: the console falls back to the default
 * and says why in the log. Calls setlocale(LC_ALL, "") (LC_NUMERIC stays
 * "C") and restores the signal handlers it installs. */
int console_run(const ConsoleBackend *b, const ConsoleOptions *o, char *err, size_t errlen);

#endif
