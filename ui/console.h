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

typedef struct ConsoleBackend {
    void *ctx;
    void (*snapshot)(void *ctx, EngineSnapshot *out);
    void (*pause)(void *ctx);
    void (*resume)(void *ctx);
    void (*set_workers)(void *ctx, int n);
    void (*set_rate)(void *ctx, double keys_per_s);
    void (*request_stop)(void *ctx);
    void (*log)(void *ctx, EventLevel lvl, const char *text);
} ConsoleBackend;

typedef struct ConsoleOptions {
    const char *theme; /* name or path, NULL = default */
    int ascii;         /* 1 ASCII only, 0 Unicode, -1 auto from the locale */
    const char *title; /* e.g. "copy  source → target" */
} ConsoleOptions;

void console_options_init(ConsoleOptions *o);

/* Binds b to e; e must outlive every use of b. */
void console_backend_for_engine(ConsoleBackend *b, Engine *e);

/* Runs until the operator quits. While the run is in progress, q asks for a
 * y/n confirmation, then calls request_stop and keeps drawing ("stopping…")
 * until the engine reaches a final state (DONE, STOPPED, FAILED). SIGINT
 * acts like a confirmed q; a second SIGINT leaves without waiting.
 *
 * Returns 0, or -1 with a one-line message when the terminal cannot be
 * opened. A bad theme is not an error: the console falls back to the default
 * and says why in the log. Calls setlocale(LC_ALL, "") (LC_NUMERIC stays
 * "C") and restores the signal handlers it installs. */
int console_run(const ConsoleBackend *b, const ConsoleOptions *o, char *err, size_t errlen);

#endif
