/* test_conn — conn and sandbox against real redis-servers on 127.0.0.1.
 *
 * Every server is started through sandbox_start() and registered here; each
 * test's teardown stops exactly the servers (and closes the conns) that test
 * started, then checks that no process is left running in their dirs. The
 * TLS certificates (a CA, a second unrelated CA, a server cert for IP
 * 127.0.0.1 and a client cert) are made with the openssl command once, in a
 * temp dir removed by the group teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "sandbox.h"
#include "testutil.h"
#include "uri.h"
#include "util.h"

#define MAX_SERVERS 8
#define MAX_CONNS 16

static Sandbox servers[MAX_SERVERS];
static int nservers;
static Conn *conns[MAX_CONNS];
static int nconns;
static char tls_dir[256];   /* "" when the certificates could not be made */
static char sock_dir[256];  /* per-test dir for unix sockets, "" when unused */
static int listen_fd = -1;  /* the mute server of the timeout test */

#define assert_contains(hay, needle)                                                   \
    do {                                                                               \
        const char *h_ = (hay);                                                        \
        if (!h_ || !strstr(h_, (needle)))                                              \
            fail_msg("expected \"%s\" in: %s", (needle), h_ ? h_ : "(null)");          \
    } while (0)

#define assert_lacks(hay, needle)                                                      \
    do {                                                                               \
        const char *h_ = (hay);                                                        \
        if (h_ && strstr(h_, (needle)))                                                \
            fail_msg("did not expect \"%s\" in: %s", (needle), h_);                    \
    } while (0)

/* ---- helpers ---------------------------------------------------------------- */

static Sandbox *start_server(const char *const *extra) {
    assert_true(nservers < MAX_SERVERS);
    char err[FERRY_ERR_LEN];
    Sandbox *s = &servers[nservers];
    if (sandbox_start(s, extra, NULL, err, sizeof err) != 0) fail_msg("sandbox_start: %s", err);
    nservers++;
    return s;
}

static Conn *track(Conn *c) {
    assert_true(nconns < MAX_CONNS);
    conns[nconns++] = c;
    return c;
}

static void untrack(Conn *c) {
    for (int i = 0; i < nconns; i++)
        if (conns[i] == c) conns[i] = NULL;
    conn_close(c);
}

static void cfg_uri(ConnConfig *cfg, const char *role, const char *uri) {
    char err[FERRY_ERR_LEN];
    conn_config_init(cfg, role);
    if (uri_parse(uri, &cfg->uri, err, sizeof err) != 0) fail_msg("uri_parse: %s", err);
}

/* Opens or fails the test with the message. */
static Conn *must_open(const ConnConfig *cfg) {
    char err[FERRY_ERR_LEN] = "";
    Conn *c = conn_open(cfg, err, sizeof err);
    if (!c) fail_msg("conn_open: %s", err);
    return track(c);
}

static Conn *open_uri(const char *uri) {
    ConnConfig cfg;
    cfg_uri(&cfg, "source", uri);
    return must_open(&cfg);
}

/* Expects conn_open to fail; returns the message (static buffer). */
static const char *open_fails(const ConnConfig *cfg) {
    static char err[FERRY_ERR_LEN];
    err[0] = '\0';
    Conn *c = conn_open(cfg, err, sizeof err);
    if (c) {
        conn_close(c);
        fail_msg("conn_open succeeded; expected a failure");
    }
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    if (getenv("TEST_CONN_VERBOSE")) print_message("    message: %s\n", err);
    return err;
}

static void expect_simple(redisReply *r, const char *want) {
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, want) != 0)
        fail_msg("expected +%s, got type %d: %s", want, r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

static void expect_bulk(redisReply *r, const char *want) {
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, want) != 0)
        fail_msg("expected \"%s\", got type %d: %s", want, r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

static void ping(Conn *c) {
    expect_simple(conn_command(c, "PING"), "PONG");
}

static int rm_entry(const char *p, const struct stat *st, int f, struct FTW *w) {
    (void)st;
    (void)f;
    (void)w;
    return remove(p);
}

static void rm_tree(char *dir) {
    if (dir[0]) nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    dir[0] = '\0';
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < nconns; i++)
        if (conns[i]) conn_close(conns[i]);
    nconns = 0;
    for (int i = 0; i < nservers; i++) {
        pid_t pid = servers[i].pid;
        char dir[sizeof servers[i].dir];
        memcpy(dir, servers[i].dir, sizeof dir);
        sandbox_stop(&servers[i]);
        assert_int_equal(servers[i].pid, 0);
        if (pid > 0) assert_true(kill(pid, 0) == -1 && errno == ESRCH);
        if (!dir[0]) continue; /* stopped by the test itself */
        struct stat st;
        assert_true(stat(dir, &st) != 0);
        /* "[/]tmp/..." matches the server's command line, not this shell's */
        char cmd[700];
        snprintf(cmd, sizeof cmd, "pgrep -f '[%c]%s' >/dev/null", dir[0], dir + 1);
        assert_int_not_equal(system(cmd), 0);
    }
    nservers = 0;
    if (listen_fd >= 0) close(listen_fd);
    listen_fd = -1;
    rm_tree(sock_dir);
    return 0;
}

/* ---- sandbox ---------------------------------------------------------------- */

static void test_sandbox_lifecycle(void **state) {
    (void)state;
    Sandbox *s = start_server(NULL);
    assert_true(s->pid > 0);
    assert_true(s->port > 0);
    assert_int_equal(s->tls_port, 0);
    assert_true(s->version[0] != '\0');
    char uri[64], want[64];
    sandbox_uri(s, 2, uri, sizeof uri);
    snprintf(want, sizeof want, "redis://127.0.0.1:%d/2", s->port);
    assert_string_equal(uri, want);

    /* rdb: save a key, load it into a second server. */
    Conn *c = open_uri(want);
    expect_simple(conn_command(c, "SET %s %s", "from-rdb", "yes"), "OK");
    expect_simple(conn_command(c, "SAVE"), "OK");
    char rdb[600];
    snprintf(rdb, sizeof rdb, "%s/dump.rdb", s->dir);
    char err[FERRY_ERR_LEN];
    Sandbox *s2 = &servers[nservers];
    if (sandbox_start(s2, NULL, rdb, err, sizeof err) != 0) fail_msg("sandbox_start: %s", err);
    nservers++;
    sandbox_uri(s2, 2, uri, sizeof uri);
    Conn *c2 = open_uri(uri);
    expect_bulk(conn_command(c2, "GET from-rdb"), "yes");

    /* stop is idempotent and leaves nothing */
    pid_t pid = s2->pid;
    untrack(c2);
    sandbox_stop(s2);
    sandbox_stop(s2);
    assert_int_equal(s2->pid, 0);
    assert_string_equal(s2->dir, "");
    assert_true(kill(pid, 0) == -1 && errno == ESRCH);
}

static void test_sandbox_errors(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Sandbox s;
    setenv("FERRY_REDIS_SERVER", "/nonexistent/redis-server", 1);
    int rc = sandbox_start(&s, NULL, NULL, err, sizeof err);
    unsetenv("FERRY_REDIS_SERVER");
    assert_int_equal(rc, -1);
    assert_string_equal(err, "redis-server not found: install the redis-server package "
                             "(apt-get install redis-server) or set FERRY_REDIS_SERVER");
    assert_int_equal(s.pid, 0);
    assert_string_equal(s.dir, "");

    const char *bad[] = {"--no-such-directive", "1", NULL};
    assert_int_equal(sandbox_start(&s, bad, NULL, err, sizeof err), -1);
    assert_contains(err, "no-such-directive");
    assert_int_equal(s.pid, 0);
    assert_string_equal(s.dir, "");

    assert_int_equal(sandbox_start(&s, NULL, "/nonexistent/dump.rdb", err, sizeof err), -1);
    assert_contains(err, "/nonexistent/dump.rdb");
    sandbox_stop(&s); /* harmless on a failed start */
}

/* ---- plain TCP ------------------------------------------------------------------ */

static void test_ping_and_label(void **state) {
    (void)state;
    Sandbox *s = start_server(NULL);
    char uri[64], want[96];
    sandbox_uri(s, -1, uri, sizeof uri);
    Conn *c = open_uri(uri);
    ping(c);
    snprintf(want, sizeof want, "source %s", uri);
    assert_string_equal(conn_label(c), want);
    assert_int_equal(conn_pending(c), 0);
    assert_int_equal(conn_broken(c), 0);
    assert_int_equal(conn_db(c), 0);
    expect_bulk(conn_command(c, "CLIENT GETNAME"), "ferry");
    /* an error reply is a reply, not an I/O error */
    redisReply *r = conn_command(c, "NOSUCHCOMMAND");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    assert_int_equal(conn_broken(c), 0);
    ping(c);
}

static void test_pipeline_20k(void **state) {
    (void)state;
    enum { N = 20000 };
    Sandbox *s = start_server(NULL);
    char uri[64];
    sandbox_uri(s, -1, uri, sizeof uri);
    Conn *c = open_uri(uri);
    char key[32], val[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        snprintf(val, sizeof val, "v:%d", i);
        const char *argv[3] = {"SET", key, val};
        assert_int_equal(conn_append_argv(c, 3, argv, NULL), 0);
    }
    assert_int_equal(conn_pending(c), N);
    /* a one-shot command would take a pipelined reply: refused */
    assert_null(conn_command(c, "PING"));
    assert_int_equal(conn_broken(c), 0);
    assert_int_equal(conn_flush(c), 0);
    for (int i = 0; i < N; i++) {
        redisReply *r;
        assert_int_equal(conn_get_reply(c, &r), 0);
        expect_simple(r, "OK");
    }
    assert_int_equal(conn_pending(c), 0);
    for (int i = 0; i < N; i++) assert_int_equal(conn_append(c, "GET k:%d", i), 0);
    for (int i = 0; i < N; i++) {
        redisReply *r;
        assert_int_equal(conn_get_reply(c, &r), 0); /* flushes by itself */
        snprintf(val, sizeof val, "v:%d", i);
        expect_bulk(r, val);
    }
    assert_int_equal(conn_pending(c), 0);
}

static void fill_random(char *buf, size_t len, uint64_t seed) {
    uint64_t x = seed | 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (char)(x >> 24);
    }
}

static void big_value_round_trip(Conn *c, size_t size) {
    char *val = malloc(size);
    assert_non_null(val);
    fill_random(val, size, size);
    const char *argv[3] = {"SET", "big", val};
    size_t lens[3] = {3, 3, size};
    int64_t t0 = util_mono_ms();
    expect_simple(conn_command_argv(c, 3, argv, lens), "OK");
    int64_t t1 = util_mono_ms();
    redisReply *r = conn_command(c, "GET big");
    int64_t t2 = util_mono_ms();
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, size);
    assert_int_equal(memcmp(r->str, val, size), 0);
    freeReplyObject(r);
    /* and again, pipelined behind small replies */
    assert_int_equal(conn_append(c, "PING"), 0);
    assert_int_equal(conn_append(c, "GET big"), 0);
    assert_int_equal(conn_append(c, "PING"), 0);
    assert_int_equal(conn_get_reply(c, &r), 0);
    expect_simple(r, "PONG");
    assert_int_equal(conn_get_reply(c, &r), 0);
    assert_int_equal(r->len, size);
    assert_int_equal(memcmp(r->str, val, size), 0);
    freeReplyObject(r);
    assert_int_equal(conn_get_reply(c, &r), 0);
    expect_simple(r, "PONG");
    print_message("    %zu MB value: SET %lld ms, GET %lld ms\n", size >> 20,
                  (long long)(t1 - t0), (long long)(t2 - t1));
    free(val);
}

static void test_big_value(void **state) {
    (void)state;
    Sandbox *s = start_server(NULL);
    char uri[64];
    sandbox_uri(s, -1, uri, sizeof uri);
    Conn *c = open_uri(uri);
    big_value_round_trip(c, 20u << 20);
    ping(c);
}

static void test_unix_socket(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(sock_dir, sizeof sock_dir, "%s/ferry-sock-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(sock_dir));
    char path[300];
    snprintf(path, sizeof path, "%s/s.sock", sock_dir);
    const char *extra[] = {"--unixsocket", path, "--unixsocketperm", "700", NULL};
    start_server(extra);
    char uri[400];
    snprintf(uri, sizeof uri, "unix://%s?db=2", path);
    Conn *c = open_uri(uri);
    ping(c);
    assert_int_equal(conn_db(c), 2);
    redisReply *r = conn_command(c, "CLIENT INFO");
    assert_non_null(r);
    assert_contains(r->str, " db=2 ");
    freeReplyObject(r);
    char want[400];
    snprintf(want, sizeof want, "source unix://%s?db=2", path);
    assert_string_equal(conn_label(c), want);

    /* a path with no socket */
    ConnConfig cfg;
    snprintf(uri, sizeof uri, "unix://%s/nothing.sock", sock_dir);
    cfg_uri(&cfg, "target", uri);
    const char *err = open_fails(&cfg);
    assert_contains(err, "target unix://");
    assert_contains(err, "no socket at");
}

static void test_select_from_uri(void **state) {
    (void)state;
    Sandbox *s = start_server(NULL);
    char uri[64];
    sandbox_uri(s, 5, uri, sizeof uri);
    Conn *c = open_uri(uri);
    assert_int_equal(conn_db(c), 5);
    expect_simple(conn_command(c, "SET %s %s", "in5", "x"), "OK");
    sandbox_uri(s, 0, uri, sizeof uri);
    Conn *d = open_uri(uri);
    redisReply *r = conn_command(d, "EXISTS in5");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    assert_int_equal(conn_select(d, 5), 0);
    assert_int_equal(conn_db(d), 5);
    expect_bulk(conn_command(d, "GET in5"), "x");

    /* a db the server does not have */
    assert_int_equal(conn_select(d, 99), -1);
    assert_contains(conn_errstr(d), "database 99");
    assert_int_equal(conn_broken(d), 0);
    assert_int_equal(conn_db(d), 5);
    ConnConfig cfg;
    sandbox_uri(s, 99, uri, sizeof uri);
    cfg_uri(&cfg, "target", uri);
    const char *err = open_fails(&cfg);
    assert_contains(err, uri);
    assert_contains(err, "database 99 does not exist");
}

/* ---- authentication ------------------------------------------------------------- */

static void test_acl_user(void **state) {
    (void)state;
    Sandbox *s = start_server(NULL);
    char uri[128];
    sandbox_uri(s, -1, uri, sizeof uri);
    Conn *admin = open_uri(uri);
    expect_simple(conn_command(admin, "ACL SETUSER alice on >secret-Al1ce ~* &* +@all"), "OK");

    snprintf(uri, sizeof uri, "redis://alice:secret-Al1ce@127.0.0.1:%d/1", s->port);
    Conn *c = open_uri(uri);
    expect_bulk(conn_command(c, "ACL WHOAMI"), "alice");
    assert_lacks(conn_label(c), "secret");
    char want[128];
    snprintf(want, sizeof want, "source redis://alice@127.0.0.1:%d/1", s->port);
    assert_string_equal(conn_label(c), want);

    snprintf(uri, sizeof uri, "redis://alice:not-Her-Pw@127.0.0.1:%d/1", s->port);
    ConnConfig cfg;
    cfg_uri(&cfg, "source", uri);
    const char *err = open_fails(&cfg);
    assert_contains(err, want + strlen("source "));
    assert_contains(err, "authentication failed");
    assert_contains(err, "FERRY_SOURCE_PASSWORD or --source-password-file");
    assert_lacks(err, "not-Her-Pw");
    assert_lacks(err, "secret");
}

static void test_wrong_password(void **state) {
    (void)state;
    const char *extra[] = {"--requirepass", "s3cret-Pw", NULL};
    Sandbox *s = start_server(extra);
    char uri[128];
    snprintf(uri, sizeof uri, "redis://:wrong-Pw-77@127.0.0.1:%d", s->port);
    ConnConfig cfg;
    cfg_uri(&cfg, "target", uri);
    const char *err = open_fails(&cfg);
    assert_contains(err, "target redis://127.0.0.1:");
    assert_contains(err, "authentication failed");
    assert_contains(err, "FERRY_TARGET_PASSWORD or --target-password-file");
    assert_lacks(err, "wrong-Pw-77");
    assert_lacks(err, "s3cret-Pw");

    snprintf(uri, sizeof uri, "redis://:s3cret-Pw@127.0.0.1:%d/3", s->port);
    cfg_uri(&cfg, "target", uri);
    Conn *c = must_open(&cfg);
    ping(c);
    assert_lacks(conn_label(c), "s3cret");
}

static void test_password_required(void **state) {
    (void)state;
    const char *extra[] = {"--requirepass", "s3cret-Pw", NULL};
    Sandbox *s = start_server(extra);
    char uri[128];
    ConnConfig cfg;
    for (int db = -1; db <= 1; db += 2) { /* NOAUTH seen by CLIENT SETNAME, then by SELECT */
        sandbox_uri(s, db, uri, sizeof uri);
        cfg_uri(&cfg, "source", uri);
        const char *err = open_fails(&cfg);
        assert_contains(err, uri);
        assert_contains(err, "requires a password");
        assert_contains(err, "FERRY_SOURCE_PASSWORD");
    }
}

/* ---- failures to connect ---------------------------------------------------------- */

static void test_refused(void **state) {
    (void)state;
    int port = sandbox_free_port();
    assert_true(port > 0);
    char uri[64];
    snprintf(uri, sizeof uri, "redis://127.0.0.1:%d", port);
    ConnConfig cfg;
    cfg_uri(&cfg, "source", uri);
    int64_t t0 = util_mono_ms();
    const char *err = open_fails(&cfg);
    assert_true(util_mono_ms() - t0 < 1000);
    assert_contains(err, uri);
    assert_contains(err, "connection refused");
}

static void test_io_timeout(void **state) {
    (void)state;
    /* A socket that listens and never answers: the kernel completes the
     * connect from its backlog, nobody ever reads. */
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(listen_fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(listen_fd, 4), 0);
    assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&sa, &sl), 0);
    char uri[64];
    snprintf(uri, sizeof uri, "redis://127.0.0.1:%d", ntohs(sa.sin_port));
    ConnConfig cfg;
    cfg_uri(&cfg, "source", uri);
    cfg.io_timeout_ms = 300;
    int64_t t0 = util_mono_ms();
    const char *err = open_fails(&cfg);
    int64_t took = util_mono_ms() - t0;
    assert_true(took >= 250 && took < 1000);
    assert_contains(err, uri);
    assert_contains(err, "no reply within 300 ms");
}

static void test_maxclients(void **state) {
    (void)state;
    const char *extra[] = {"--maxclients", "1", NULL};
    Sandbox *s = start_server(extra);
    char uri[64];
    sandbox_uri(s, -1, uri, sizeof uri);
    ping(open_uri(uri));
    ConnConfig cfg;
    cfg_uri(&cfg, "source", uri);
    const char *err = open_fails(&cfg);
    assert_contains(err, uri);
    assert_contains(err, "max number of clients reached");
}

/* ---- reconnect ---------------------------------------------------------------------- */

static void test_reconnect(void **state) {
    (void)state;
    Sandbox *s = start_server(NULL);
    char uri[64];
    sandbox_uri(s, 3, uri, sizeof uri);
    ConnConfig cfg;
    cfg_uri(&cfg, "source", uri);
    snprintf(cfg.client_name, sizeof cfg.client_name, "ferry-source-7");
    Conn *c = must_open(&cfg);
    assert_int_equal(conn_select(c, 4), 0); /* remembered for the reconnect */
    redisReply *r = conn_command(c, "CLIENT ID");
    long long id = r->integer;
    freeReplyObject(r);

    sandbox_uri(s, -1, uri, sizeof uri);
    Conn *killer = open_uri(uri);
    r = conn_command(killer, "CLIENT KILL ID %lld", id);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);

    assert_null(conn_command(c, "PING"));
    assert_int_equal(conn_broken(c), 1);
    assert_contains(conn_errstr(c), "source redis://127.0.0.1:");
    assert_contains(conn_errstr(c), "closed the connection");
    assert_int_equal(conn_append(c, "PING"), -1); /* broken until reconnected */

    assert_int_equal(conn_reconnect(c, 5, NULL), 0);
    assert_int_equal(conn_broken(c), 0);
    assert_int_equal(conn_db(c), 4);
    r = conn_command(c, "CLIENT INFO");
    assert_non_null(r);
    assert_contains(r->str, " db=4 ");
    assert_contains(r->str, " name=ferry-source-7 ");
    freeReplyObject(r);

    /* queued commands and expected replies are dropped by a reconnect */
    assert_int_equal(conn_append(c, "PING"), 0);
    assert_int_equal(conn_append(c, "PING"), 0);
    assert_int_equal(conn_reconnect(c, 1, NULL), 0);
    assert_int_equal(conn_pending(c), 0);
    ping(c);
}

static _Atomic int cancel_flag;

static void *cancel_later(void *arg) {
    (void)arg;
    util_sleep_ms(250);
    cancel_flag = 1;
    return NULL;
}

static void test_reconnect_gives_up(void **state) {
    (void)state;
    Sandbox *s = start_server(NULL);
    char uri[64];
    sandbox_uri(s, -1, uri, sizeof uri);
    Conn *c = open_uri(uri);
    sandbox_stop(s);
    assert_null(conn_command(c, "PING"));

    int64_t t0 = util_mono_ms();
    assert_int_equal(conn_reconnect(c, 3, NULL), -1); /* sleeps 100 + 200 ms */
    int64_t took = util_mono_ms() - t0;
    assert_true(took >= 280 && took < 1500);
    assert_contains(conn_errstr(c), "connection refused");
    assert_contains(conn_errstr(c), "gave up reconnecting after 3 attempts");

    _Atomic int cancel = 1;
    t0 = util_mono_ms();
    assert_int_equal(conn_reconnect(c, 0, &cancel), -1);
    assert_true(util_mono_ms() - t0 < 100);

    /* cancelled during a backoff sleep: noticed within a few ms */
    cancel_flag = 0;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, NULL), 0);
    t0 = util_mono_ms();
    assert_int_equal(conn_reconnect(c, 0, &cancel_flag), -1);
    took = util_mono_ms() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 240 && took < 500);
    assert_contains(conn_errstr(c), "reconnect cancelled");
}

/* ---- TLS ------------------------------------------------------------------------------- */

static int make_certs(void) { return tu_make_certs(tls_dir, sizeof tls_dir); }

static void tls_path(char *buf, size_t len, const char *file) {
    snprintf(buf, len, "%s/%s", tls_dir, file);
}

static Sandbox *start_tls_server(const char *auth_clients) {
    if (!tls_dir[0]) fail_msg("no test certificates");
    static char cert[300], key[300], ca[300];
    tls_path(cert, sizeof cert, "server.crt");
    tls_path(key, sizeof key, "server.key");
    tls_path(ca, sizeof ca, "ca.crt");
    const char *extra[] = {"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file",
                           ca, "--tls-auth-clients", auth_clients, NULL};
    Sandbox *s = start_server(extra);
    assert_true(s->tls_port > 0);
    assert_int_not_equal(s->tls_port, s->port);
    return s;
}

static void tls_cfg(ConnConfig *cfg, const Sandbox *s, const char *ca_file) {
    char uri[64];
    snprintf(uri, sizeof uri, "rediss://127.0.0.1:%d/1", s->tls_port);
    cfg_uri(cfg, "target", uri);
    cfg->tls.ca_file = ca_file;
}

static void test_tls_verify(void **state) {
    (void)state;
    Sandbox *s = start_tls_server("optional");
    char ca[300], other[300];
    tls_path(ca, sizeof ca, "ca.crt");
    tls_path(other, sizeof other, "other-ca.crt");
    ConnConfig cfg;

    /* the right CA */
    tls_cfg(&cfg, s, ca);
    Conn *c = must_open(&cfg);
    ping(c);
    char want[96];
    snprintf(want, sizeof want, "target rediss://127.0.0.1:%d/1", s->tls_port);
    assert_string_equal(conn_label(c), want);
    big_value_round_trip(c, 5u << 20);

    /* a CA that did not sign the server's certificate */
    tls_cfg(&cfg, s, other);
    const char *err = open_fails(&cfg);
    assert_contains(err, want);
    assert_contains(err, "certificate verification failed");

    /* the system store does not know our test CA */
    tls_cfg(&cfg, s, NULL);
    err = open_fails(&cfg);
    assert_contains(err, "certificate verification failed");

    /* insecure: no verification at all */
    tls_cfg(&cfg, s, other);
    cfg.tls.insecure = 1;
    ping(must_open(&cfg));

    /* a name the certificate does not list */
    tls_cfg(&cfg, s, ca);
    cfg.tls.sni = "redis.example.com";
    err = open_fails(&cfg);
    assert_contains(err, "does not name \"redis.example.com\"");

    /* TLS to the plain port */
    char uri[64];
    snprintf(uri, sizeof uri, "rediss://127.0.0.1:%d", s->port);
    cfg_uri(&cfg, "target", uri);
    cfg.tls.ca_file = ca;
    cfg.connect_timeout_ms = 1000; /* the plain port may just wait for a newline */
    err = open_fails(&cfg);
    assert_contains(err, "TLS");

    /* the config's strings are copied: the caller may free its own */
    char *ca_copy = strdup(ca);
    tls_cfg(&cfg, s, ca_copy);
    c = must_open(&cfg);
    free(ca_copy);
    assert_int_equal(conn_reconnect(c, 3, NULL), 0);
    ping(c);
}

static void test_tls_client_cert(void **state) {
    (void)state;
    Sandbox *s = start_tls_server("yes");
    char ca[300], cert[300], key[300];
    tls_path(ca, sizeof ca, "ca.crt");
    tls_path(cert, sizeof cert, "client.crt");
    tls_path(key, sizeof key, "client.key");
    ConnConfig cfg;

    tls_cfg(&cfg, s, ca);
    cfg.tls.cert_file = cert;
    cfg.tls.key_file = key;
    Conn *c = must_open(&cfg);
    ping(c);

    tls_cfg(&cfg, s, ca);
    const char *err = open_fails(&cfg);
    print_message("    without a client certificate: %s\n", err);
    assert_contains(err, "target rediss://127.0.0.1:");
    assert_contains(err, "client certificate");

    tls_cfg(&cfg, s, ca);
    cfg.tls.cert_file = cert;
    err = open_fails(&cfg);
    assert_contains(err, "without its key");
}

static int group_setup(void **state) {
    (void)state;
    if (make_certs() != 0) {
        print_message("openssl could not make the test certificates (is the openssl package installed?)\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    rm_tree(tls_dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sandbox_lifecycle, teardown),
        cmocka_unit_test_teardown(test_sandbox_errors, teardown),
        cmocka_unit_test_teardown(test_ping_and_label, teardown),
        cmocka_unit_test_teardown(test_pipeline_20k, teardown),
        cmocka_unit_test_teardown(test_big_value, teardown),
        cmocka_unit_test_teardown(test_unix_socket, teardown),
        cmocka_unit_test_teardown(test_select_from_uri, teardown),
        cmocka_unit_test_teardown(test_acl_user, teardown),
        cmocka_unit_test_teardown(test_wrong_password, teardown),
        cmocka_unit_test_teardown(test_password_required, teardown),
        cmocka_unit_test_teardown(test_refused, teardown),
        cmocka_unit_test_teardown(test_io_timeout, teardown),
        cmocka_unit_test_teardown(test_maxclients, teardown),
        cmocka_unit_test_teardown(test_reconnect, teardown),
        cmocka_unit_test_teardown(test_reconnect_gives_up, teardown),
        cmocka_unit_test_teardown(test_tls_verify, teardown),
        cmocka_unit_test_teardown(test_tls_client_cert, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
