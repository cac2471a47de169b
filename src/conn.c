/* conn — one connection to one Redis/Valkey server: socket, TLS, output
 * buffer, reply reader, authentication, reconnects.
 *
 * A Conn belongs to one thread; nothing in it is locked. The socket is always
 * non-blocking and every wait goes through poll() with a deadline: the
 * connect timeout covers TCP connect + TLS handshake, the io timeout covers
 * each wait for the socket to become readable/writable.
 *
 * Buffers:
 *   out  — commands are formatted straight into one growing buffer (RESP by
 *          hand for argv, hiredis's formatter for printf-style), written by
 *          conn_flush(); shrunk again after a big command went out.
 *   in   — bytes are read from the socket in CONN_READ_CHUNK pieces and fed
 *          to the hiredis reader in slices that start small and double while
 *          no reply completes. Why: the reader memmove()s its unread bytes
 *          each time it has consumed 1 KiB, so feeding a large chunk of many
 *          small replies at once would copy it over and over; a big bulk reply
 *          on the other hand wants large slices. The reader's own buffer is
 *          grown geometrically (it would otherwise grow by 1 MiB steps and
 *          copy a 20 MB DUMP payload twenty times), and trimmed again after
 *          a big reply.
 *
 * SIGPIPE: plain sockets write with send(MSG_NOSIGNAL). OpenSSL writes with
 * plain write(), so the first TLS conn_open() sets SIGPIPE to SIG_IGN for
 * the process (pthread_once), unless the program installed its own handler
 * already; a dead peer then shows up as EPIPE, i.e. an I/O error here.
 *
 * Secrets: the password lives only in the copied config and in the AUTH
 * command while it is in the output buffer; messages use the redacted URI
 * and never quote the server's answer to AUTH beyond its error code. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/sds.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define CONN_READ_CHUNK (128 * 1024)    /* one read() from the socket */
#define CONN_FEED_MIN 4096              /* first slice fed to the reader */
#define CONN_OBUF_INIT (16 * 1024)
#define CONN_OBUF_KEEP (1024 * 1024)    /* shrink the out buffer above this */
#define CONN_RBUF_KEEP (1024 * 1024)    /* trim the reader's buffer above this */
#define CONN_BACKOFF_MIN_MS 100
#define CONN_BACKOFF_MAX_MS 5000
#define CONN_SLEEP_STEP_MS 10

/* conn_establish() results */
#define EST_OK 0
#define EST_RETRY -1 /* worth trying again: network, timeouts, loading */
#define EST_FATAL -2 /* trying again will not help: auth, db, TLS setup */

struct Conn {
    ConnConfig cfg;      /* deep copy; string fields point into own[] */
    char *own[6];
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    redisReader *reader;
    char *obuf;
    size_t olen, opos, ocap;
    char *ibuf;          /* bytes read but not yet fed to the reader */
    size_t ilen, ipos;
    size_t feed;         /* size of the next slice fed to the reader */
    size_t pending;
    int db;              /* -1: never selected (server default) */
    int broken;
    char label[1400];
    char errstr[FERRY_ERR_LEN];
};

/* ---- messages ----------------------------------------------------------- */

static void conn_seterr(Conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_seterr(Conn *c, const char *fmt, ...) {
    int n = snprintf(c->errstr, sizeof c->errstr, "%s: ", c->label);
    if (n < 0 || (size_t)n >= sizeof c->errstr) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errstr + n, sizeof c->errstr - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Appends " (suffix)" to errstr when it fits. */
static void conn_errsuffix(Conn *c, const char *suffix) {
    size_t n = strlen(c->errstr);
    if (n) snprintf(c->errstr + n, sizeof c->errstr - n, " (%s)", suffix);
}

static const char *role_of(const Conn *c) {
    return (c->cfg.role && *c->cfg.role) ? c->cfg.role : "server";
}

/* "FERRY_SOURCE_PASSWORD or --source-password-file" for the conn's role. */
static void password_hint(const Conn *c, char *buf, size_t len) {
    const char *role = c->cfg.role;
    if (!role || !*role || strlen(role) > 32) {
        snprintf(buf, len, "the password in the URI");
        return;
    }
    char upper[40];
    size_t i = 0;
    for (; role[i] && i < sizeof upper - 1; i++) {
        char ch = role[i];
        upper[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : (ch == '-' ? '_' : ch);
    }
    upper[i] = '\0';
    snprintf(buf, len, "FERRY_%s_PASSWORD or --%s-password-file", upper, role);
}

/* The first word of an error reply: "WRONGPASS", "ERR", "NOAUTH". */
static void error_code(const redisReply *r, char *buf, size_t len) {
    size_t n = strcspn(r->str, " \r\n");
    if (n >= len) n = len - 1;
    memcpy(buf, r->str, n);
    buf[n] = '\0';
}

static int reply_error_is(const redisReply *r, const char *prefix) {
    return r && r->type == REDIS_REPLY_ERROR &&
           strncmp(r->str, prefix, strlen(prefix)) == 0;
}

static void openssl_reason(char *buf, size_t len) {
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    if (reason)
        snprintf(buf, len, "%s", reason);
    else if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown TLS error");
    ERR_clear_error();
}

/* ---- config ------------------------------------------------------------- */

void conn_config_init(ConnConfig *cfg, const char *role) {
    memset(cfg, 0, sizeof *cfg);
    cfg->uri.scheme = URI_TCP;
    snprintf(cfg->uri.host, sizeof cfg->uri.host, "127.0.0.1");
    cfg->uri.port = 6379;
    cfg->uri.db = -1;
    cfg->connect_timeout_ms = 5000;
    cfg->io_timeout_ms = 30000;
    cfg->role = role;
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

/* ---- waiting -------------------------------------------------------------- */

/* Waits for events on the socket for at most timeout_ms (< 0: forever).
 * 1 ready, 0 timed out, -1 error (errno set). */
static int wait_fd(int fd, short events, int64_t timeout_ms) {
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int64_t deadline = timeout_ms >= 0 ? util_mono_ms() + timeout_ms : -1;
    for (;;) {
        int t = -1;
        if (deadline >= 0) {
            int64_t left = deadline - util_mono_ms();
            if (left < 0) left = 0;
            t = left > INT_MAX ? INT_MAX : (int)left;
        }
        int r = poll(&p, 1, t);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        return r > 0 ? 1 : 0;
    }
}

static int64_t io_timeout(const Conn *c) {
    return c->cfg.io_timeout_ms > 0 ? c->cfg.io_timeout_ms : -1;
}

/* ---- sockets ---------------------------------------------------------------- */

static void drop_socket(Conn *c, int graceful) {
    if (c->ssl) {
        if (graceful) {
            ERR_clear_error();
            SSL_shutdown(c->ssl); /* one non-blocking close_notify, result ignored */
        }
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    ERR_clear_error();
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static void tune_tcp(int fd) {
    int one = 1, idle = 30, intvl = 10, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static int connect_tcp(Conn *c, int64_t deadline) {
    const Uri *u = &c->cfg.uri;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", u->port);
    int gai = getaddrinfo(u->host, port, &hints, &res);
    if (gai != 0) {
        conn_seterr(c, "cannot resolve host \"%s\" (%s): check the host name and DNS",
                    u->host, gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return EST_RETRY;
    }
    int last_errno = 0, timed_out = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        if (!ok && errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline - util_mono_ms());
            if (w == 0) {
                close(fd);
                timed_out = 1;
                break;
            }
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (w < 0)
                soerr = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            ok = soerr == 0;
            if (!ok) errno = soerr;
        }
        if (ok) {
            freeaddrinfo(res);
            tune_tcp(fd);
            c->fd = fd;
            return EST_OK;
        }
        last_errno = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (timed_out)
        conn_seterr(c, "no answer within %d ms (connect timeout): check the host, the port and "
                    "firewalls, or raise the connect timeout", c->cfg.connect_timeout_ms);
    else if (last_errno == ECONNREFUSED)
        conn_seterr(c, "connection refused: check that the server is running and listens on "
                    "%s port %d", u->host, u->port);
    else
        conn_seterr(c, "cannot connect (%s): check the address and the network",
                    strerror(last_errno));
    return EST_RETRY;
}

static int connect_unix(Conn *c) {
    const char *path = c->cfg.uri.path;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        conn_seterr(c, "socket path is longer than %zu bytes: use a shorter path (a symlink "
                    "works)", sizeof sa.sun_path - 1);
        return EST_FATAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_seterr(c, "cannot create a socket (%s)", strerror(errno));
        return EST_RETRY;
    }
    /* A local connect does not wait for the network: do it blocking. */
    int r;
    while ((r = connect(fd, (struct sockaddr *)&sa, sizeof sa)) != 0 && errno == EINTR) {
    }
    if (r != 0) {
        int e = errno;
        close(fd);
        if (e == ENOENT)
            conn_seterr(c, "no socket at %s: check the path and that the server runs with "
                        "unixsocket set to it", path);
        else if (e == ECONNREFUSED)
            conn_seterr(c, "connection refused on %s: the server is not running (stale socket "
                        "file?)", path);
        else if (e == EACCES)
            conn_seterr(c, "permission denied on %s: run ferry as a user the server's "
                        "unixsocketperm allows", path);
        else
            conn_seterr(c, "cannot connect to %s (%s)", path, strerror(e));
        return EST_RETRY;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        conn_seterr(c, "cannot make the socket non-blocking (%s)", strerror(errno));
        close(fd);
        return EST_RETRY;
    }
    c->fd = fd;
    return EST_OK;
}

/* ---- TLS ---------------------------------------------------------------------- */

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

static void ignore_sigpipe(void) {
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == SIG_DFL) {
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGPIPE, &ign, NULL);
    }
}

static int tls_build_ctx(Conn *c);

/* Builds the SSL_CTX once per Conn (kept across reconnects); none on failure. */
static int tls_setup_ctx(Conn *c) {
    int rc = tls_build_ctx(c);
    if (rc != EST_OK && c->ctx) {
        SSL_CTX_free(c->ctx);
        c->ctx = NULL;
    }
    return rc;
}

static int tls_build_ctx(Conn *c) {
    const TlsOptions *t = &c->cfg.tls;
    char why[256];
    ERR_clear_error();
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        openssl_reason(why, sizeof why);
        conn_seterr(c, "cannot set up TLS (%s)", why);
        return EST_FATAL;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (t->insecure) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        int ok = (t->ca_file || t->ca_dir)
                     ? SSL_CTX_load_verify_locations(c->ctx, t->ca_file, t->ca_dir)
                     : SSL_CTX_set_default_verify_paths(c->ctx);
        if (ok != 1) {
            openssl_reason(why, sizeof why);
            conn_seterr(c, "cannot load TLS CA certificates from %s (%s): check that the path "
                        "exists and holds PEM certificates",
                        t->ca_file ? t->ca_file : t->ca_dir ? t->ca_dir : "the system store", why);
            return EST_FATAL;
        }
    }
    if (t->cert_file || t->key_file) {
        if (!t->cert_file || !t->key_file) {
            conn_seterr(c, "a TLS client %s was given without its %s: give both for mTLS",
                        t->cert_file ? "certificate" : "key",
                        t->cert_file ? "key" : "certificate");
            return EST_FATAL;
        }
        if (SSL_CTX_use_certificate_chain_file(c->ctx, t->cert_file) != 1) {
            openssl_reason(why, sizeof why);
            conn_seterr(c, "cannot load TLS client certificate %s (%s): check the path and "
                        "that it is PEM", t->cert_file, why);
            return EST_FATAL;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ctx, t->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(c->ctx) != 1) {
            openssl_reason(why, sizeof why);
            conn_seterr(c, "cannot use TLS client key %s (%s): check that it is PEM, not "
                        "encrypted, and belongs to %s", t->key_file, why, t->cert_file);
            return EST_FATAL;
        }
    }
    return EST_OK;
}

static int is_ip_literal(const char *s) {
    unsigned char tmp[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

/* Adds a hint to TLS errors that usually mean "the server wants a client cert". */
static const char *tls_hint(const char *reason) {
    if (strstr(reason, "certificate required") || strstr(reason, "handshake failure") ||
        strstr(reason, "bad certificate") || strstr(reason, "unknown ca") ||
        strstr(reason, "certificate unknown"))
        return "the server may require a client certificate it trusts: give the TLS client "
               "certificate and key";
    if (strstr(reason, "wrong version number") || strstr(reason, "packet length too long") ||
        strstr(reason, "record layer failure"))
        return "is this port serving TLS? use redis:// for a plain port";
    return "check the server's TLS settings";
}

static int tls_handshake(Conn *c, int64_t deadline) {
    const TlsOptions *t = &c->cfg.tls;
    const char *name = (t->sni && *t->sni) ? t->sni : c->cfg.uri.host;
    char why[256];
    ERR_clear_error();
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        openssl_reason(why, sizeof why);
        conn_seterr(c, "cannot set up TLS (%s)", why);
        return EST_FATAL;
    }
    int ip = is_ip_literal(name);
    if (!ip) SSL_set_tlsext_host_name(c->ssl, name); /* SNI never carries an address */
    if (!t->insecure) {
        int ok;
        if (ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name);
        } else {
            SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(c->ssl, name);
        }
        if (ok != 1) {
            conn_seterr(c, "cannot verify TLS against the name \"%s\": check the host or the "
                        "TLS server name", name);
            return EST_FATAL;
        }
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(c->ssl);
        if (r == 1) return EST_OK;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                            deadline - util_mono_ms());
            if (w > 0) continue;
            if (w == 0)
                conn_seterr(c, "TLS handshake did not finish within %d ms (connect timeout): "
                            "check that this port serves TLS, or raise the connect timeout",
                            c->cfg.connect_timeout_ms);
            else
                conn_seterr(c, "TLS handshake failed (%s)", strerror(errno));
            return EST_RETRY;
        }
        long v = SSL_get_verify_result(c->ssl);
        if (!t->insecure && v != X509_V_OK) {
            ERR_clear_error();
            if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
                conn_seterr(c, "TLS certificate verification failed: the server's certificate "
                            "does not name \"%s\": connect with a name it lists or set the TLS "
                            "server name", name);
            else
                conn_seterr(c, "TLS certificate verification failed (%s): give the CA that "
                            "signed the server's certificate (TLS CA file), or skip "
                            "verification with the insecure option only for testing",
                            X509_verify_cert_error_string(v));
            return EST_FATAL;
        }
        if (e == SSL_ERROR_SSL) {
            openssl_reason(why, sizeof why);
            conn_seterr(c, "TLS handshake failed (%s): %s", why, tls_hint(why));
        } else if (e == SSL_ERROR_SYSCALL && errno != 0) {
            conn_seterr(c, "TLS handshake failed (%s): check that this port serves TLS",
                        strerror(errno));
            ERR_clear_error();
        } else {
            conn_seterr(c, "the server closed the connection during the TLS handshake: check "
                        "that this port serves TLS and whether it requires a client "
                        "certificate");
            ERR_clear_error();
        }
        return EST_RETRY;
    }
}

/* ---- raw I/O: n > 0 bytes moved, or -1 with errstr set -------------------------- */

static void io_timeout_err(Conn *c, int writing) {
    if (writing)
        conn_seterr(c, "could not send for %d ms (io timeout): the server is not reading; check "
                    "its load, or raise the io timeout", c->cfg.io_timeout_ms);
    else
        conn_seterr(c, "no reply within %d ms (io timeout): the server may be busy with a slow "
                    "command or overloaded; raise the io timeout if that is expected",
                    c->cfg.io_timeout_ms);
}

static void io_errno_err(Conn *c, int e, int writing) {
    if (e == EPIPE || e == ECONNRESET)
        conn_seterr(c, "the server closed the connection while ferry was %s (%s): check the "
                    "server's log (timeout, maxclients, client-output-buffer-limit, restart)",
                    writing ? "sending" : "reading", strerror(e));
    else
        conn_seterr(c, "%s failed (%s): check the network and the server",
                    writing ? "sending" : "reading", strerror(e));
}

/* Handles a failed SSL_read/SSL_write: 1 = waited, call again; -1 = error set. */
static int tls_io_wait(Conn *c, int r, int writing) {
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        int w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, io_timeout(c));
        if (w > 0) return 1;
        if (w == 0)
            io_timeout_err(c, writing);
        else
            io_errno_err(c, errno, writing);
        return -1;
    }
    if (writing && (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)) {
        /* The peer may have said why before it closed (a TLS alert such as
         * "certificate required"): read it, it is a better message. */
        int saved = errno;
        char scratch[512];
        ERR_clear_error();
        int n = SSL_read(c->ssl, scratch, sizeof scratch);
        if (n <= 0 && SSL_get_error(c->ssl, n) == SSL_ERROR_SSL) {
            char why[256];
            openssl_reason(why, sizeof why);
            conn_seterr(c, "TLS error (%s): %s", why, tls_hint(why));
            return -1;
        }
        ERR_clear_error();
        errno = saved;
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
        conn_seterr(c, "the server closed the connection: check the server's log (timeout, "
                    "maxclients, client-output-buffer-limit, restart)");
    } else if (e == SSL_ERROR_SYSCALL) {
        io_errno_err(c, errno, writing);
    } else {
        char why[256];
        openssl_reason(why, sizeof why);
        conn_seterr(c, "TLS error (%s): %s", why, tls_hint(why));
    }
    ERR_clear_error();
    return -1;
}

static ssize_t io_write(Conn *c, const char *buf, size_t len) {
    if (len > INT_MAX) len = INT_MAX;
    for (;;) {
        if (c->ssl) {
            ERR_clear_error();
            int n = SSL_write(c->ssl, buf, (int)len);
            if (n > 0) return n;
            if (tls_io_wait(c, n, 1) < 0) return -1;
            continue;
        }
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(c->fd, POLLOUT, io_timeout(c));
            if (w > 0) continue;
            if (w == 0)
                io_timeout_err(c, 1);
            else
                io_errno_err(c, errno, 1);
            return -1;
        }
        io_errno_err(c, errno, 1);
        return -1;
    }
}

/* Always tries to read before polling, so bytes OpenSSL already holds
 * (SSL_pending) are returned without waiting for the socket. */
static ssize_t io_read(Conn *c, char *buf, size_t len) {
    if (len > INT_MAX) len = INT_MAX;
    for (;;) {
        if (c->ssl) {
            ERR_clear_error();
            int n = SSL_read(c->ssl, buf, (int)len);
            if (n > 0) return n;
            if (tls_io_wait(c, n, 0) < 0) return -1;
            continue;
        }
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0) return n;
        if (n == 0) {
            conn_seterr(c, "the server closed the connection: check the server's log (timeout, "
                        "maxclients, client-output-buffer-limit, restart)");
            return -1;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(c->fd, POLLIN, io_timeout(c));
            if (w > 0) continue;
            if (w == 0)
                io_timeout_err(c, 0);
            else
                io_errno_err(c, errno, 0);
            return -1;
        }
        io_errno_err(c, errno, 0);
        return -1;
    }
}

/* ---- buffers ------------------------------------------------------------------------ */

static void reset_buffers(Conn *c) {
    c->olen = c->opos = 0;
    c->ilen = c->ipos = 0;
    c->pending = 0;
    c->feed = CONN_FEED_MIN;
    if (c->ocap > CONN_OBUF_KEEP) {
        char *small = realloc(c->obuf, CONN_OBUF_INIT);
        if (small) {
            c->obuf = small;
            c->ocap = CONN_OBUF_INIT;
        }
    }
}

static int reset_reader(Conn *c) {
    if (c->reader) redisReaderFree(c->reader);
    c->reader = redisReaderCreate();
    if (!c->reader) return -1;
    c->reader->maxbuf = 0; /* we trim it ourselves, see trim_reader() */
    return 0;
}

/* Makes room for need more bytes in the out buffer. */
static int obuf_reserve(Conn *c, size_t need) {
    if (c->opos > 0 && c->opos == c->olen) c->opos = c->olen = 0;
    if (c->ocap - c->olen >= need) return 0;
    if (c->opos > 0) {
        memmove(c->obuf, c->obuf + c->opos, c->olen - c->opos);
        c->olen -= c->opos;
        c->opos = 0;
        if (c->ocap - c->olen >= need) return 0;
    }
    size_t cap = c->ocap ? c->ocap : CONN_OBUF_INIT;
    while (cap - c->olen < need) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    char *nb = realloc(c->obuf, cap);
    if (!nb) return -1;
    c->obuf = nb;
    c->ocap = cap;
    return 0;
}

static size_t digits(size_t v) {
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Feeds the next slice of read bytes to the reader. */
static int feed_reader(Conn *c) {
    size_t n = c->ilen - c->ipos;
    if (n > c->feed) n = c->feed;
    redisReader *r = c->reader;
    /* Grow the reader's buffer geometrically while a reply is incomplete. */
    size_t have = sdslen(r->buf);
    if (have > 0 && sdsavail(r->buf) < n) {
        sds nb = sdsMakeRoomFor(r->buf, have > n ? have : n);
        if (!nb) return -1;
        r->buf = nb;
    }
    if (redisReaderFeed(r, c->ibuf + c->ipos, n) != REDIS_OK) return -1;
    c->ipos += n;
    if (c->ipos == c->ilen) c->ipos = c->ilen = 0;
    if (c->feed < CONN_READ_CHUNK) c->feed *= 2;
    return 0;
}

/* After a reply: give back the memory of a big one. */
static void trim_reader(Conn *c) {
    redisReader *r = c->reader;
    c->feed = CONN_FEED_MIN;
    if (r->buf && sdsalloc(r->buf) > CONN_RBUF_KEEP && sdslen(r->buf) < CONN_RBUF_KEEP / 4) {
        if (r->pos > 0) {
            sdsrange(r->buf, (int)r->pos, -1); /* pos < CONN_RBUF_KEEP */
            r->pos = 0;
            r->len = sdslen(r->buf);
        }
        r->buf = sdsRemoveFreeSpace(r->buf);
    }
}

/* ---- pipeline ------------------------------------------------------------------------ */

static int append_raw(Conn *c, const char *cmd, size_t len) {
    if (obuf_reserve(c, len) != 0) {
        conn_seterr(c, "out of memory queueing a %zu-byte command", len);
        return -1;
    }
    memcpy(c->obuf + c->olen, cmd, len);
    c->olen += len;
    c->pending++;
    return 0;
}

int conn_append_argv(Conn *c, int argc, const char **argv, const size_t *lens) {
    if (c->broken || argc <= 0) return -1;
    size_t need = 1 + digits((size_t)argc) + 2;
    for (int i = 0; i < argc; i++) {
        size_t l = lens ? lens[i] : strlen(argv[i]);
        need += 1 + digits(l) + 2 + l + 2;
    }
    if (obuf_reserve(c, need) != 0) {
        conn_seterr(c, "out of memory queueing a %zu-byte command", need);
        return -1;
    }
    char *p = c->obuf + c->olen;
    p += sprintf(p, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t l = lens ? lens[i] : strlen(argv[i]);
        p += sprintf(p, "$%zu\r\n", l);
        memcpy(p, argv[i], l);
        p += l;
        *p++ = '\r';
        *p++ = '\n';
    }
    c->olen += need;
    c->pending++;
    return 0;
}

static int conn_vappend(Conn *c, const char *fmt, va_list ap) {
    if (c->broken) return -1;
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) {
        conn_seterr(c, "cannot format command \"%.40s\" (bad format string)", fmt);
        return -1;
    }
    int rc = append_raw(c, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return rc;
}

int conn_append(Conn *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = conn_vappend(c, fmt, ap);
    va_end(ap);
    return rc;
}

int conn_flush(Conn *c) {
    if (c->broken) return -1;
    while (c->opos < c->olen) {
        ssize_t n = io_write(c, c->obuf + c->opos, c->olen - c->opos);
        if (n < 0) {
            c->broken = 1;
            return -1;
        }
        c->opos += (size_t)n;
    }
    c->opos = c->olen = 0;
    if (c->ocap > CONN_OBUF_KEEP) {
        char *small = realloc(c->obuf, CONN_OBUF_INIT);
        if (small) {
            c->obuf = small;
            c->ocap = CONN_OBUF_INIT;
        }
    }
    return 0;
}

int conn_get_reply(Conn *c, redisReply **reply) {
    *reply = NULL;
    if (c->broken) return -1;
    if (c->olen > c->opos && conn_flush(c) != 0) return -1;
    for (;;) {
        void *r = NULL;
        if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
            conn_seterr(c, "protocol error (%s): is this a Redis server?", c->reader->errstr);
            c->broken = 1;
            return -1;
        }
        if (r) {
            if (c->pending > 0) c->pending--;
            trim_reader(c);
            *reply = r;
            return 0;
        }
        if (c->ipos < c->ilen) {
            if (feed_reader(c) != 0) {
                conn_seterr(c, "out of memory reading a reply");
                c->broken = 1;
                return -1;
            }
            continue;
        }
        ssize_t n = io_read(c, c->ibuf, CONN_READ_CHUNK);
        if (n < 0) {
            c->broken = 1;
            return -1;
        }
        c->ipos = 0;
        c->ilen = (size_t)n;
    }
}

size_t conn_pending(const Conn *c) {
    return c->pending;
}

static redisReply *command_reply(Conn *c) {
    redisReply *r = NULL;
    if (conn_get_reply(c, &r) != 0) return NULL;
    return r;
}

redisReply *conn_command(Conn *c, const char *fmt, ...) {
    if (c->pending > 0) {
        conn_seterr(c, "internal error: a one-shot command while %zu replies are pending",
                    c->pending);
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = conn_vappend(c, fmt, ap);
    va_end(ap);
    return rc == 0 ? command_reply(c) : NULL;
}

redisReply *conn_command_argv(Conn *c, int argc, const char **argv, const size_t *lens) {
    if (c->pending > 0) {
        conn_seterr(c, "internal error: a one-shot command while %zu replies are pending",
                    c->pending);
        return NULL;
    }
    if (conn_append_argv(c, argc, argv, lens) != 0) return NULL;
    return command_reply(c);
}

/* ---- handshake: AUTH, SELECT, CLIENT SETNAME ------------------------------------------ */

/* Redis answers the first command of a connection over maxclients with this
 * error and closes: not a reply to AUTH/SELECT/SETNAME at all. */
static int refused_maxclients(Conn *c, const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_ERROR || !strstr(r->str, "max number of clients")) return 0;
    conn_seterr(c, "the server refused the connection (max number of clients reached): raise "
                "its maxclients or run fewer workers");
    return 1;
}

static int need_password_err(Conn *c) {
    char hint[128];
    password_hint(c, hint, sizeof hint);
    conn_seterr(c, "the server requires a password and none was given: give it with %s", hint);
    return EST_FATAL;
}

static int do_auth(Conn *c) {
    const Uri *u = &c->cfg.uri;
    const char *argv[3];
    size_t lens[3];
    int argc = 0;
    argv[argc] = "AUTH";
    lens[argc++] = 4;
    if (u->user[0]) {
        argv[argc] = u->user;
        lens[argc++] = strlen(u->user);
    }
    argv[argc] = u->password; /* "" for a user given without a password */
    lens[argc++] = strlen(u->password);
    redisReply *r = conn_command_argv(c, argc, argv, lens);
    if (c->obuf) explicit_bzero(c->obuf, c->ocap); /* AUTH went out (or never will) */
    if (!r) return EST_RETRY;
    if (refused_maxclients(c, r)) {
        freeReplyObject(r);
        return EST_RETRY;
    }
    int rc = EST_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        char code[32], hint[128];
        error_code(r, code, sizeof code);
        password_hint(c, hint, sizeof hint);
        rc = EST_FATAL;
        if (strstr(r->str, "without any password configured") || strstr(r->str, "no password is set"))
            conn_seterr(c, "a password was given but the server has none set: remove it (%s), or "
                        "check that this is the right server", hint);
        else if (u->user[0] && strstr(r->str, "wrong number of arguments"))
            conn_seterr(c, "the server does not know ACL users (Redis before 6): remove the "
                        "user name from the URI");
        else if (reply_error_is(r, "LOADING") || reply_error_is(r, "BUSY")) {
            conn_seterr(c, "the server is not ready (%s): wait until it has loaded its data",
                        code);
            rc = EST_RETRY;
        } else if (!u->has_password && u->user[0])
            conn_seterr(c, "authentication failed as user %s (%s): no password was given; "
                        "give it with %s", u->user, code, hint);
        else
            conn_seterr(c, "authentication failed (%s): check the user and password (%s)", code,
                        hint);
    }
    freeReplyObject(r);
    return rc;
}

static int do_select(Conn *c, int db) {
    redisReply *r = conn_command(c, "SELECT %d", db);
    if (!r) return EST_RETRY;
    if (refused_maxclients(c, r)) {
        freeReplyObject(r);
        return EST_RETRY;
    }
    int rc = EST_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        if (reply_error_is(r, "NOAUTH") && !c->cfg.uri.has_password && !c->cfg.uri.user[0]) {
            rc = need_password_err(c);
        } else if (reply_error_is(r, "LOADING") || reply_error_is(r, "BUSY")) {
            conn_seterr(c, "SELECT %d: the server is not ready (%.100s): wait until it has "
                        "loaded its data", db, r->str);
            rc = EST_RETRY;
        } else if (strstr(r->str, "out of range")) {
            conn_seterr(c, "database %d does not exist on this server (%.100s): check the db "
                        "number, or the server's 'databases' setting", db, r->str);
            rc = EST_FATAL;
        } else {
            conn_seterr(c, "SELECT %d refused (%.200s): check the db number (a cluster has only "
                        "db 0)", db, r->str);
            rc = EST_FATAL;
        }
    }
    freeReplyObject(r);
    return rc;
}

static int do_setname(Conn *c) {
    const char *name = c->cfg.client_name[0] ? c->cfg.client_name : "ferry";
    const char *argv[3] = {"CLIENT", "SETNAME", name};
    size_t lens[3] = {6, 7, strlen(name)};
    redisReply *r = conn_command_argv(c, 3, argv, lens);
    if (!r) return EST_RETRY;
    if (refused_maxclients(c, r)) {
        freeReplyObject(r);
        return EST_RETRY;
    }
    int rc = EST_OK;
    /* Some managed servers restrict CLIENT SETNAME: any other error is fine. */
    if (reply_error_is(r, "NOAUTH")) {
        if (!c->cfg.uri.has_password && !c->cfg.uri.user[0])
            rc = need_password_err(c);
        else {
            conn_seterr(c, "the server still asks for authentication after AUTH: check the user "
                        "and password");
            rc = EST_FATAL;
        }
    }
    freeReplyObject(r);
    return rc;
}

/* Connects and runs the handshake. EST_OK, or EST_RETRY / EST_FATAL with
 * errstr set; on failure the socket is closed and the conn is broken. */
static int conn_establish(Conn *c) {
    drop_socket(c, 0);
    reset_buffers(c);
    if (reset_reader(c) != 0) {
        conn_seterr(c, "out of memory");
        c->broken = 1;
        return EST_FATAL;
    }
    int64_t deadline = util_mono_ms() + (c->cfg.connect_timeout_ms > 0 ? c->cfg.connect_timeout_ms
                                                                       : 5000);
    int rc = c->cfg.uri.scheme == URI_UNIX ? connect_unix(c) : connect_tcp(c, deadline);
    if (rc == EST_OK && c->cfg.uri.scheme == URI_TLS) {
        if (!c->ctx) rc = tls_setup_ctx(c);
        if (rc == EST_OK) rc = tls_handshake(c, deadline);
    }
    c->broken = 0;
    int has_auth = c->cfg.uri.has_password || c->cfg.uri.user[0];
    if (rc == EST_OK && has_auth) rc = do_auth(c);
    if (rc == EST_OK && c->db >= 0) rc = do_select(c, c->db);
    if (rc == EST_OK) rc = do_setname(c);
    if (rc != EST_OK) {
        drop_socket(c, 0);
        reset_buffers(c);
        c->broken = 1;
    }
    return rc;
}

/* ---- public lifecycle -------------------------------------------------------------- */

Conn *conn_open(const ConnConfig *cfg, char *err, size_t errlen) {
    Conn *c = calloc(1, sizeof *c);
    if (!c) {
        util_err(err, errlen, "out of memory opening a connection");
        return NULL;
    }
    c->cfg = *cfg;
    c->fd = -1;
    const char **fields[6] = {&c->cfg.tls.ca_file, &c->cfg.tls.ca_dir, &c->cfg.tls.cert_file,
                              &c->cfg.tls.key_file, &c->cfg.tls.sni, &c->cfg.role};
    for (int i = 0; i < 6; i++) {
        c->own[i] = dup_or_null(*fields[i]);
        if (*fields[i] && !c->own[i]) {
            util_err(err, errlen, "out of memory opening a connection");
            conn_close(c);
            return NULL;
        }
        *fields[i] = c->own[i];
    }
    c->db = c->cfg.uri.db;
    char uri[1300];
    uri_format_redacted(&c->cfg.uri, uri, sizeof uri);
    snprintf(c->label, sizeof c->label, "%s %s", role_of(c), uri);
    c->ibuf = malloc(CONN_READ_CHUNK);
    if (!c->ibuf) {
        util_err(err, errlen, "%s: out of memory opening a connection", c->label);
        conn_close(c);
        return NULL;
    }
    if (c->cfg.uri.scheme == URI_TLS) pthread_once(&sigpipe_once, ignore_sigpipe);
    if (conn_establish(c) != EST_OK) {
        if (err && errlen) util_strlcpy(err, c->errstr, errlen);
        conn_close(c);
        return NULL;
    }
    return c;
}

void conn_close(Conn *c) {
    if (!c) return;
    drop_socket(c, !c->broken);
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->reader) redisReaderFree(c->reader);
    if (c->obuf) {
        explicit_bzero(c->obuf, c->ocap); /* may still hold an AUTH command */
        free(c->obuf);
    }
    free(c->ibuf);
    for (int i = 0; i < 6; i++) free(c->own[i]);
    explicit_bzero(&c->cfg.uri.password, sizeof c->cfg.uri.password);
    free(c);
}

int conn_select(Conn *c, int db) {
    int rc = do_select(c, db);
    if (rc != EST_OK) return -1;
    c->db = db;
    return 0;
}

int conn_db(const Conn *c) {
    return c->db < 0 ? 0 : c->db;
}

int conn_reconnect(Conn *c, int max_attempts, const _Atomic int *cancel) {
    drop_socket(c, 0);
    reset_buffers(c);
    c->broken = 1;
    int64_t backoff = CONN_BACKOFF_MIN_MS;
    for (int attempt = 1;; attempt++) {
        if (cancel && *cancel) {
            if (attempt == 1)
                conn_seterr(c, "reconnect cancelled before an attempt");
            else
                conn_errsuffix(c, "reconnect cancelled"); /* on this call's last error */
            return -1;
        }
        int rc = conn_establish(c);
        if (rc == EST_OK) return 0;
        if (rc == EST_FATAL) return -1;
        if (max_attempts > 0 && attempt >= max_attempts) {
            char note[64];
            snprintf(note, sizeof note, "gave up reconnecting after %d attempts", attempt);
            conn_errsuffix(c, note);
            return -1;
        }
        for (int64_t slept = 0; slept < backoff; slept += CONN_SLEEP_STEP_MS) {
            if (cancel && *cancel) break;
            util_sleep_ms(CONN_SLEEP_STEP_MS);
        }
        backoff = backoff * 2 > CONN_BACKOFF_MAX_MS ? CONN_BACKOFF_MAX_MS : backoff * 2;
    }
}

int conn_broken(const Conn *c) {
    return c->broken;
}

const char *conn_errstr(const Conn *c) {
    return c->errstr;
}

const char *conn_label(const Conn *c) {
    return c->label;
}

const ConnConfig *conn_config(const Conn *c) {
    return &c->cfg;
}

/* ---- raw bytes (the replication link) ------------------------------------------------ */

/* Bytes the reply reader was fed but has not parsed come first, then bytes
 * read from the socket but not fed yet, then the socket itself. */
ssize_t conn_read_raw(Conn *c, void *buf, size_t len, int timeout_ms) {
    if (c->broken) return -1;
    if (len == 0) return 0;
    redisReader *r = c->reader;
    if (r && r->buf && r->len > r->pos) {
        size_t n = r->len - r->pos;
        if (n > len) n = len;
        memcpy(buf, r->buf + r->pos, n);
        r->pos += n;
        if (r->pos == r->len) {
            sdsclear(r->buf);
            r->pos = r->len = 0;
        }
        return (ssize_t)n;
    }
    if (c->ipos < c->ilen) {
        size_t n = c->ilen - c->ipos;
        if (n > len) n = len;
        memcpy(buf, c->ibuf + c->ipos, n);
        c->ipos += n;
        if (c->ipos == c->ilen) c->ipos = c->ilen = 0;
        return (ssize_t)n;
    }
    if (!(c->ssl && SSL_pending(c->ssl) > 0)) {
        int w = wait_fd(c->fd, POLLIN, timeout_ms < 0 ? -1 : timeout_ms);
        if (w == 0) return 0;
        if (w < 0) {
            io_errno_err(c, errno, 0);
            c->broken = 1;
            return -1;
        }
    }
    ssize_t n = io_read(c, buf, len);
    if (n < 0) {
        c->broken = 1;
        return -1;
    }
    return n;
}

int conn_write_raw(Conn *c, const void *buf, size_t len) {
    if (c->broken) return -1;
    if (conn_flush(c) != 0) return -1;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = io_write(c, p, len);
        if (n < 0) {
            c->broken = 1;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int conn_reply_equal(const redisReply *x, const redisReply *y) {
    if (!x || !y) return x == y;
    if (x->type != y->type) return 0;
    switch (x->type) {
    case REDIS_REPLY_INTEGER: return x->integer == y->integer;
    case REDIS_REPLY_NIL: return 1;
    case REDIS_REPLY_ARRAY:
        if (x->elements != y->elements) return 0;
        for (size_t i = 0; i < x->elements; i++)
            if (!conn_reply_equal(x->element[i], y->element[i])) return 0;
        return 1;
    default: return x->len == y->len && memcmp(x->str, y->str, x->len) == 0;
    }
}
