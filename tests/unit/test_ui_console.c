/* console_run() for real, on a pseudo-terminal, with a fake backend: it
 * draws, quits with and without the question, survives a resize (a resize
 * once made it loop on KEY_RESIZE and stop reading keys), shows "too small",
 * and leaves on a second Ctrl-C. Each case runs the console in a child
 * process; the child's exit code says what its backend saw. */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "console.h"
#include "util.h"

/* ---- the child's fake backend -------------------------------------------- */

typedef struct Fake {
    EngineState state;
    int stops, pauses, oplines, snapshots;
    int stop_after; /* snapshots between request_stop and STOPPED */
} Fake;

static void f_snapshot(void *c, EngineSnapshot *o) {
    Fake *f = c;
    memset(o, 0, sizeof *o);
    if (f->state == ENGINE_STOPPING && --f->stop_after <= 0) f->state = ENGINE_STOPPED;
    f->snapshots++;
    o->state = f->state;
    o->workers_target = o->nworkers = 2;
    o->stats.rate_status = RATE_OK;
    o->stats.keys_rate = 1234;
    o->stats.progress = -1;
    o->stats.eta_ms = -1;
}
static void f_pause(void *c) { ((Fake *)c)->pauses++; }
static void f_resume(void *c) { (void)c; }
static void f_workers(void *c, int n) { (void)c, (void)n; }
static void f_rate(void *c, double r) { (void)c, (void)r; }
static void f_stop(void *c) {
    Fake *f = c;
    f->stops++;
    if (f->state == ENGINE_RUNNING || f->state == ENGINE_PAUSED) {
        f->state = ENGINE_STOPPING;
        f->stop_after = 3;
    }
}
/* Every EV_OPERATOR line the console itself writes. The control calls
 * (pause, stop, …) are logged by the engine, so these are only the lines for
 * what the engine cannot know: the quit, an interrupt, a theme change. */
static void f_log(void *c, EventLevel l, const char *t) {
    (void)t;
    if (l == EV_OPERATOR) ((Fake *)c)->oplines++;
}

/* ---- the parent's side ---------------------------------------------------- */

typedef struct Child {
    pid_t pid;
    int fd;
    char out[1 << 20];
    size_t len;
} Child;

static Child child;

/* Starts console_run in a child on a rows×cols pty. The child exits with
 * CODE(error, stops, oplines, pauses) and prints nothing else. */
#define CODE(err, stops, oplines, pauses) ((err) + 2 * (stops) + 8 * (oplines) + 32 * (pauses))
static void start(EngineState st, int cols, int rows) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    child.len = 0;
    child.pid = forkpty(&child.fd, NULL, NULL, &ws);
    if (child.pid < 0) {
        print_message("no pseudo-terminal here (%s): skipped\n", strerror(errno));
        skip();
    }
    if (child.pid == 0) {
        setenv("TERM", "xterm-256color", 1);
        setenv("LANG", "C.UTF-8", 1);
        unsetenv("LC_ALL");
        unsetenv("NO_COLOR");
        Fake f = {.state = st};
        ConsoleBackend b = {.ctx = &f, .snapshot = f_snapshot, .pause = f_pause, .resume = f_resume, .set_workers = f_workers, .set_rate = f_rate, .request_stop = f_stop, .log = f_log};
        ConsoleOptions o;
        console_options_init(&o);
        o.title = "test console";
        char err[256];
        int rc = console_run(&b, &o, err, sizeof err);
        int small = f.stops < 4 && f.oplines < 4 && f.pauses < 4;
        _exit(small ? CODE(rc != 0, f.stops, f.oplines, f.pauses) : 255);
    }
}

/* Reads the child's output until needle appears (1) or the deadline (0). */
static int wait_for(const char *needle, int ms) {
    int64_t end = util_mono_ms() + ms;
    for (;;) {
        child.out[child.len] = '\0';
        if (memmem(child.out, child.len, needle, strlen(needle))) return 1;
        int64_t left = end - util_mono_ms();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = child.fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0) continue;
        ssize_t n = read(child.fd, child.out + child.len, sizeof child.out - 1 - child.len);
        if (n <= 0) return 0;
        child.len += (size_t)n;
        if (child.len >= sizeof child.out - 1) child.len = 0; /* keep reading, forget old */
    }
}

static void send_keys(const char *k) {
    assert_int_equal(write(child.fd, k, strlen(k)), (ssize_t)strlen(k));
}

/* Waits (draining output) for the child to exit; returns its exit code or -1. */
static int finish(int ms) {
    int64_t end = util_mono_ms() + ms;
    int status;
    while (util_mono_ms() < end) {
        pid_t r = waitpid(child.pid, &status, WNOHANG);
        if (r == child.pid) {
            close(child.fd);
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        char buf[4096];
        struct pollfd p = {.fd = child.fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0 && read(child.fd, buf, sizeof buf) < 0 && errno != EIO) break;
    }
    kill(child.pid, SIGKILL);
    waitpid(child.pid, &status, 0);
    close(child.fd);
    return -1;
}

static void test_done_quits_at_once(void **state) {
    (void)state;
    start(ENGINE_DONE, 100, 30);
    assert_true(wait_for("DONE", 5000));
    assert_true(wait_for("Throughput", 2000));
    send_keys("q");
    assert_int_equal(finish(5000), 0); /* no stop: the run had ended */
}

static void test_quit_asks_then_stops_cleanly(void **state) {
    (void)state;
    start(ENGINE_RUNNING, 100, 30);
    assert_true(wait_for("RUNNING", 5000));
    send_keys("q");
    assert_true(wait_for("Stop the copy and quit?", 3000));
    send_keys("n"); /* no: keeps running */
    assert_true(wait_for("quit cancelled", 3000));
    send_keys("q");
    assert_true(wait_for("any other key", 3000));
    send_keys("y");
    /* one stop and the console's one "quit confirmed" line; exits once the
     * fake reaches STOPPED */
    assert_int_equal(finish(5000), CODE(0, 1, 1, 0));
}

static void test_resize_then_keys_still_work(void **state) {
    (void)state;
    start(ENGINE_DONE, 100, 30);
    assert_true(wait_for("DONE", 5000));
    struct winsize small = {.ws_row = 20, .ws_col = 60};
    assert_int_equal(ioctl(child.fd, TIOCSWINSZ, &small), 0);
    assert_true(wait_for("terminal too small", 3000));
    assert_true(wait_for("have 60", 1000));
    struct winsize big = {.ws_row = 45, .ws_col = 130};
    assert_int_equal(ioctl(child.fd, TIOCSWINSZ, &big), 0);
    child.len = 0;
    assert_true(wait_for("Replication", 3000));
    send_keys("q");
    assert_int_equal(finish(3000), 0);
}

static void test_help_and_pause(void **state) {
    (void)state;
    start(ENGINE_RUNNING, 100, 30);
    assert_true(wait_for("RUNNING", 5000));
    send_keys("?");
    assert_true(wait_for("Ctrl-L", 3000));
    send_keys("x"); /* closes help */
    send_keys("p");
    assert_true(wait_for("paused; p resumes", 3000));
    send_keys("\x03"); /* Ctrl-C through the tty: SIGINT, a confirmed quit */
    /* one pause with no console line (the engine logs it), one stop with
     * the console's "interrupt" line */
    assert_int_equal(finish(5000), CODE(0, 1, 1, 1));
}

static void test_second_interrupt_leaves(void **state) {
    (void)state;
    start(ENGINE_RUNNING, 100, 30);
    assert_true(wait_for("RUNNING", 5000));
    /* the fake needs 3 snapshots (750 ms) to stop; two quick interrupts
     * leave before that, with an error return */
    kill(child.pid, SIGINT);
    usleep(50 * 1000);
    kill(child.pid, SIGINT);
    /* the interrupt's line and the second interrupt's */
    assert_int_equal(finish(5000), CODE(1, 1, 2, 0));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_done_quits_at_once),
        cmocka_unit_test(test_quit_asks_then_stops_cleanly),
        cmocka_unit_test(test_resize_then_keys_still_work),
        cmocka_unit_test(test_help_and_pause),
        cmocka_unit_test(test_second_interrupt_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
