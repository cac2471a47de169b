/* sandbox — starts and stops throwaway redis-server processes on 127.0.0.1.
 *
 * One Sandbox = one child process we forked ourselves, one port (two with
 * TLS) and one private temp dir. Start: pick a free port, mkdtemp, copy the
 * optional rdb in, fork/exec redis-server with its log in the dir, then poll
 * every 20 ms until it answers PING (a raw socket + the hiredis reader; this
 * module does not depend on conn). If the child dies early because another
 * process grabbed the port in between, start again on a new port.
 * Stop: SIGTERM to exactly that pid, wait, SIGKILL if needed, rm -r the dir.
 *
 * Between fork() and exec() the child only makes async-signal-safe calls:
 * everything it needs (argv, resolved binary path, open fds) is prepared by
 * the parent. An exec failure travels back through a close-on-exec pipe. */
#include "sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define SANDBOX_START_MS 10000
#define SANDBOX_POLL_MS 20
#define SANDBOX_STOP_MS 5000
#define SANDBOX_PORT_TRIES 5
#define SANDBOX_MAX_ARGS 128

#define NOT_FOUND_MSG                                                              \
    "redis-server not found: install the redis-server package (apt-get install " \
    "redis-server) or set FERRY_REDIS_SERVER"

const char *sandbox_server_binary(void) {
    const char *env = getenv("FERRY_REDIS_SERVER");
    return (env && *env) ? env : "redis-server";
}

int sandbox_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sl = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

void sandbox_uri(const Sandbox *s, int db, char *buf, size_t len) {
    if (db >= 0)
        snprintf(buf, len, "redis://127.0.0.1:%d/%d", s->port, db);
    else
        snprintf(buf, len, "redis://127.0.0.1:%d", s->port);
}

/* ---- binary lookup (done in the parent: execv in the child, no PATH walk) */

/* Resolves name like execvp would into out. 0 when an executable was found. */
static int resolve_binary(const char *name, char *out, size_t len) {
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0) return -1;
        return util_strlcpy(out, name, len);
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        if (n == 0)
            snprintf(out, len, "./%s", name);
        else
            snprintf(out, len, "%.*s/%s", (int)n, path, name);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
        if (!colon) break;
        path = colon + 1;
    }
    return -1;
}

/* ---- files ---------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir) {
    if (dir[0]) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return util_err(err, errlen, "sandbox: cannot read rdb file %s: %s: check the path",
                        from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        int e = errno;
        close(in);
        return util_err(err, errlen, "sandbox: cannot create %s: %s: check the temp dir",
                        to, strerror(e));
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = util_err(err, errlen, "sandbox: reading rdb file %s: %s", from, strerror(errno));
            break;
        }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                rc = util_err(err, errlen, "sandbox: writing %s: %s: check free space in the temp dir",
                              to, strerror(errno));
                goto done;
            }
            off += w;
        }
    }
done:
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = util_err(err, errlen, "sandbox: writing %s: %s", to, strerror(errno));
    return rc;
}

/* The last two non-empty lines of the log joined by " / ", for a startup
 * failure message (the dir, log included, is removed afterwards). */
static void log_tail(const char *logfile, char *out, size_t len) {
    out[0] = '\0';
    FILE *f = fopen(logfile, "re");
    if (!f) return;
    char lines[2][256] = {"", ""};
    char line[256];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        memcpy(lines[0], lines[1], sizeof lines[0]);
        util_strlcpy(lines[1], line, sizeof lines[1]);
    }
    fclose(f);
    if (lines[0][0])
        snprintf(out, len, "%s / %s", lines[0], lines[1]);
    else
        snprintf(out, len, "%s", lines[1]);
}

static int log_says_addr_in_use(const char *logfile) {
    FILE *f = fopen(logfile, "re");
    if (!f) return 0;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "Address already in use") != NULL;
    fclose(f);
    return found;
}

/* ---- talking to the server: one raw socket, one command at a time --------- */

static int probe_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one formatted command and reads its reply. NULL on any I/O error. */
static redisReply *probe_command(int fd, const char *cmd, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, cmd + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return NULL;
        off += (size_t)n;
    }
    redisReader *r = redisReaderCreate();
    if (!r) return NULL;
    void *reply = NULL;
    char buf[16384];
    while (!reply) {
        if (redisReaderGetReply(r, &reply) != REDIS_OK) break;
        if (reply) break;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || redisReaderFeed(r, buf, (size_t)n) != REDIS_OK) break;
    }
    redisReaderFree(r);
    return reply;
}

static int reply_is_error(const redisReply *r, const char *prefix) {
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0;
}

typedef enum { PROBE_DOWN = 0, PROBE_LOADING, PROBE_UP } ProbeState;

/* One look at the server: is it answering yet? Fills s->version when up. */
static ProbeState probe(Sandbox *s, const char *password) {
    int fd = probe_connect(s->port);
    if (fd < 0) return PROBE_DOWN;
    ProbeState st = PROBE_DOWN;
    redisReply *r;
    if (password) {
        char *cmd = NULL;
        int n = redisFormatCommand(&cmd, "AUTH %s", password);
        if (n < 0) goto out;
        r = probe_command(fd, cmd, (size_t)n);
        redisFreeCommand(cmd);
        if (!r) goto out;
        freeReplyObject(r);
    }
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    r = probe_command(fd, ping, sizeof ping - 1);
    if (!r) goto out;
    if (reply_is_error(r, "LOADING")) {
        st = PROBE_LOADING;
    } else if (reply_is_error(r, "NOAUTH")) {
        st = PROBE_UP; /* up, but we cannot ask INFO: version stays empty */
    } else if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING) {
        st = PROBE_UP;
        static const char info[] = "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n";
        redisReply *ir = probe_command(fd, info, sizeof info - 1);
        if (ir && ir->type == REDIS_REPLY_STRING) {
            const char *v = strstr(ir->str, "redis_version:");
            if (v) {
                v += strlen("redis_version:");
                size_t n = strcspn(v, "\r\n");
                if (n >= sizeof s->version) n = sizeof s->version - 1;
                memcpy(s->version, v, n);
                s->version[n] = '\0';
            }
        }
        if (ir) freeReplyObject(ir);
    }
    freeReplyObject(r);
out:
    close(fd);
    return st;
}

/* ---- the child ------------------------------------------------------------ */

/* Runs in the forked child: only async-signal-safe calls until exec. */
static void child_exec(const char *bin, char *const argv[], int nullfd, int logfd,
                       int errfd, pid_t parent) {
    /* Die with the thread that started us, unless it is already gone. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(126);
    /* A process group of its own: Ctrl-C at the operator's terminal is for
     * ferry, which then stops its servers in order, not for the servers. */
    setpgid(0, 0);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &dfl, NULL);

    if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) _exit(126);
    /* Keep the exec-error pipe as fd 3 (close-on-exec), close everything else. */
    if (errfd != 3) {
        if (dup3(errfd, 3, O_CLOEXEC) < 0) _exit(126);
    }
    if (close_range(4, ~0U, 0) != 0) {
        for (int fd = 4; fd < 65536; fd++) close(fd);
    }
    execv(bin, argv);
    int e = errno;
    ssize_t w = write(3, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* ---- start / stop ----------------------------------------------------------- */

typedef enum { START_OK = 0, START_FAIL, START_PORT_RACE } StartResult;

static int has_arg(const char *const *extra, const char *name, const char **value) {
    for (size_t i = 0; extra && extra[i]; i++) {
        if (strcmp(extra[i], name) == 0) {
            if (value) *value = extra[i + 1];
            return 1;
        }
    }
    return 0;
}

/* Waits for the child to answer. */
static StartResult wait_ready(Sandbox *s, const char *password, char *err, size_t errlen) {
    int64_t deadline = util_mono_ms() + SANDBOX_START_MS;
    for (;;) {
        int status;
        pid_t w = waitpid(s->pid, &status, WNOHANG);
        if (w == s->pid) {
            s->pid = 0;
            if (log_says_addr_in_use(s->logfile)) return START_PORT_RACE;
            char tail[600];
            log_tail(s->logfile, tail, sizeof tail);
            util_err(err, errlen,
                     "sandbox: redis-server exited during startup (%s %d): %s: check the "
                     "extra arguments and the redis-server version",
                     WIFEXITED(status) ? "status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                     tail[0] ? tail : "no log output");
            return START_FAIL;
        }
        ProbeState st = probe(s, password);
        if (st == PROBE_UP) return START_OK;
        int64_t now = util_mono_ms();
        if (st == PROBE_LOADING) deadline = now + SANDBOX_START_MS;
        if (now >= deadline) {
            util_err(err, errlen,
                     "sandbox: redis-server on 127.0.0.1:%d did not answer PING within %d ms: "
                     "the machine may be overloaded; try again",
                     s->port, SANDBOX_START_MS);
            return START_FAIL;
        }
        util_sleep_ms(SANDBOX_POLL_MS);
    }
}

static void kill_and_reap(pid_t pid) {
    if (pid <= 0) return;
    if (kill(pid, SIGTERM) != 0 && errno == ESRCH) {
        waitpid(pid, NULL, WNOHANG);
        return;
    }
    int64_t deadline = util_mono_ms() + SANDBOX_STOP_MS;
    for (;;) {
        pid_t w = waitpid(pid, NULL, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD)) return;
        if (util_mono_ms() >= deadline) break;
        util_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

/* One attempt on fresh ports, in the already created dir. */
static StartResult start_once(Sandbox *s, const char *bin, const char *const *extra,
                              int with_rdb, const char *password, char *err, size_t errlen) {
    s->port = sandbox_free_port();
    if (s->port < 0) {
        util_err(err, errlen, "sandbox: no free TCP port on 127.0.0.1: %s", strerror(errno));
        return START_FAIL;
    }
    const char *tls_port_arg = NULL;
    char port_s[16], tls_port_s[16];
    snprintf(port_s, sizeof port_s, "%d", s->port);
    int add_tls_port = 0;
    s->tls_port = 0;
    if (has_arg(extra, "--tls-port", &tls_port_arg)) {
        s->tls_port = tls_port_arg ? atoi(tls_port_arg) : 0;
    } else if (has_arg(extra, "--tls-cert-file", NULL)) {
        do s->tls_port = sandbox_free_port();
        while (s->tls_port == s->port);
        if (s->tls_port < 0) {
            util_err(err, errlen, "sandbox: no free TCP port on 127.0.0.1: %s", strerror(errno));
            return START_FAIL;
        }
        snprintf(tls_port_s, sizeof tls_port_s, "%d", s->tls_port);
        add_tls_port = 1;
    }

    const char *argv[SANDBOX_MAX_ARGS];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = port_s;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--logfile";
    argv[n++] = s->logfile;
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    if (with_rdb) {
        argv[n++] = "--dbfilename";
        argv[n++] = "dump.rdb";
    }
    if (add_tls_port) {
        argv[n++] = "--tls-port";
        argv[n++] = tls_port_s;
    }
    for (size_t i = 0; extra && extra[i]; i++) {
        if (n + 1 >= SANDBOX_MAX_ARGS) {
            util_err(err, errlen, "sandbox: too many extra arguments (at most %d)",
                     SANDBOX_MAX_ARGS - 20);
            return START_FAIL;
        }
        argv[n++] = extra[i];
    }
    argv[n] = NULL;

    int logfd = open(s->logfile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int pfd[2] = {-1, -1};
    if (logfd < 0 || nullfd < 0 || pipe2(pfd, O_CLOEXEC) != 0) {
        util_err(err, errlen, "sandbox: cannot prepare %s: %s: check the temp dir", s->logfile,
                 strerror(errno));
        if (logfd >= 0) close(logfd);
        if (nullfd >= 0) close(nullfd);
        return START_FAIL;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child_exec(bin, (char *const *)argv, nullfd, logfd, pfd[1], parent);
    int fork_errno = errno;
    close(logfd);
    close(nullfd);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        util_err(err, errlen, "sandbox: fork failed: %s: too many processes?", strerror(fork_errno));
        return START_FAIL;
    }
    /* The pipe closes on a successful exec; it carries errno when exec failed. */
    int exec_errno = 0;
    ssize_t r;
    while ((r = read(pfd[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
    }
    close(pfd[0]);
    if (r == (ssize_t)sizeof exec_errno) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        if (exec_errno == ENOENT)
            util_err(err, errlen, NOT_FOUND_MSG);
        else
            util_err(err, errlen, "sandbox: cannot run %s: %s: check FERRY_REDIS_SERVER", bin,
                     strerror(exec_errno));
        return START_FAIL;
    }
    s->pid = pid;
    StartResult res = wait_ready(s, password, err, errlen);
    if (res != START_OK && s->pid > 0) {
        kill_and_reap(s->pid);
        s->pid = 0;
    }
    return res;
}

int sandbox_start(Sandbox *s, const char *const *extra_args, const char *rdb_file,
                  char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    char bin[1024];
    if (resolve_binary(sandbox_server_binary(), bin, sizeof bin) != 0)
        return util_err(err, errlen, NOT_FOUND_MSG);

    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char tmpl[sizeof s->dir];
    if (snprintf(tmpl, sizeof tmpl, "%s/ferry-sandbox-XXXXXX", tmp) >= (int)sizeof tmpl)
        return util_err(err, errlen, "sandbox: TMPDIR is too long; set a shorter TMPDIR");
    if (!mkdtemp(tmpl))
        return util_err(err, errlen, "sandbox: cannot create a temp dir in %s: %s: set TMPDIR "
                        "to a writable directory", tmp, strerror(errno));
    util_strlcpy(s->dir, tmpl, sizeof s->dir);
    snprintf(s->logfile, sizeof s->logfile, "%s/redis.log", s->dir);

    if (rdb_file) {
        char dst[sizeof s->dir + 16];
        snprintf(dst, sizeof dst, "%s/dump.rdb", s->dir);
        if (copy_file(rdb_file, dst, err, errlen) != 0) goto fail;
    }
    const char *password = NULL;
    has_arg(extra_args, "--requirepass", &password);

    for (int attempt = 0; attempt < SANDBOX_PORT_TRIES; attempt++) {
        StartResult r = start_once(s, bin, extra_args, rdb_file != NULL, password, err, errlen);
        if (r == START_OK) return 0;
        if (r == START_FAIL) goto fail;
    }
    util_err(err, errlen, "sandbox: redis-server lost the race for a free port %d times: "
             "something else is grabbing ports on 127.0.0.1; try again", SANDBOX_PORT_TRIES);
fail:
    remove_tree(s->dir);
    memset(s, 0, sizeof *s);
    return -1;
}

void sandbox_stop(Sandbox *s) {
    if (!s) return;
    if (s->pid > 0) kill_and_reap(s->pid);
    s->pid = 0;
    remove_tree(s->dir);
    s->dir[0] = '\0';
    s->logfile[0] = '\0';
}
