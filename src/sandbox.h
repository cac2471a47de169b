/* sandbox — throwaway redis-server processes on 127.0.0.1: a free port, a
 * private temp dir, a pid we started ourselves. Used by `ferry demo`,
 * `ferry rehearse` and every test that needs a real server.
 *
 * sandbox_stop() stops exactly the process sandbox_start() created (by pid,
 * never by name or port) and removes its directory.
 *
 * The server stays in our process group and is started with
 * PR_SET_PDEATHSIG = SIGTERM, so it dies with ferry. Linux ties that signal
 * to the *thread* that forked: call sandbox_start() from a thread that lives
 * as long as the server should (the main thread, in practice).
 *
 * TLS: when extra_args contain "--tls-cert-file", the server also listens for
 * TLS on a second free port, s->tls_port (unless extra_args give "--tls-port"
 * themselves, which is then used). The plain port stays open on 127.0.0.1:
 * the sandbox uses it to see that the server is up. */
#ifndef FERRY_SANDBOX_H
#define FERRY_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

typedef struct Sandbox {
    pid_t pid;          /* 0 when not running */
    int port;           /* plain TCP port on 127.0.0.1 */
    int tls_port;       /* TLS port, 0 when TLS was not asked for */
    char dir[512];      /* temp dir holding config, logs, dump.rdb */
    char logfile[600];
    char version[32];   /* redis_version reported by INFO */
} Sandbox;

/* The redis-server to run: $FERRY_REDIS_SERVER, else "redis-server" on PATH. */
const char *sandbox_server_binary(void);

/* Starts redis-server with "--port P --bind 127.0.0.1 --dir D --save ''
 * --appendonly no" plus extra_args (NULL-terminated list of "--name", "value"
 * words, may be NULL), and waits (up to 10 s) until it answers PING; while
 * it answers LOADING the wait is extended, 10 s at a time. If "--requirepass"
 * is among extra_args the sandbox authenticates with it. If rdb_file is not
 * NULL it is copied into the dir as dump.rdb and loaded.
 * Retries on a port race. On failure: -1 and a one-line message, e.g.
 * "redis-server not found: install the redis-server package (apt-get install
 * redis-server) or set FERRY_REDIS_SERVER", with nothing left behind. */
int sandbox_start(Sandbox *s, const char *const *extra_args, const char *rdb_file,
                  char *err, size_t errlen);

/* SIGTERM, wait up to 5 s, then SIGKILL; removes the dir. Idempotent. */
void sandbox_stop(Sandbox *s);

/* "redis://127.0.0.1:PORT" (+ "/db" when db >= 0) into buf. */
void sandbox_uri(const Sandbox *s, int db, char *buf, size_t len);

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int sandbox_free_port(void);

#endif
