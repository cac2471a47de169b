/* conn — one connection to one Redis/Valkey server, owned by one thread.
 *
 * ferry owns the socket (TCP, unix, or TLS through OpenSSL) and the output
 * buffer; hiredis supplies only the RESP reader and the command formatter.
 * Pipelining is explicit: conn_append*() queues commands in memory,
 * conn_flush() writes them, conn_get_reply() reads replies in order.
 *
 * Opening a connection authenticates (AUTH [user] password), selects the
 * db from the URI and names the client (CLIENT SETNAME ferry-<role>-<n>).
 * Every error message names the server with its password redacted.
 *
 * SIGPIPE: the first TLS conn_open() sets SIGPIPE to SIG_IGN process-wide
 * (OpenSSL writes with write()), unless a handler is installed already;
 * plain sockets use send(MSG_NOSIGNAL). */
#ifndef FERRY_CONN_H
#define FERRY_CONN_H

#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "uri.h"

typedef struct TlsOptions {
    const char *ca_file;   /* PEM bundle; NULL = system default trust store */
    const char *ca_dir;
    const char *cert_file; /* client certificate, for mTLS */
    const char *key_file;
    const char *sni;       /* server name to send and verify; default: host */
    int insecure;          /* 1 = do not verify the server certificate */
} TlsOptions;

typedef struct ConnConfig {
    Uri uri;
    TlsOptions tls;
    int connect_timeout_ms; /* default 5000 */
    int io_timeout_ms;      /* per read/write; default 30000 */
    const char *role;       /* "source" or "target": used in messages */
    char client_name[64];   /* CLIENT SETNAME value; empty = "ferry" */
} ConnConfig;

typedef struct Conn Conn;

void conn_config_init(ConnConfig *cfg, const char *role);

/* Connects, completes TLS, authenticates, selects the URI's db and names the
 * client. NULL with a one-line message (e.g. "source redis://10.0.0.7:6379:
 * authentication failed (WRONGPASS): check the user and password") on error.
 * The config is copied; the caller keeps its own. */
Conn *conn_open(const ConnConfig *cfg, char *err, size_t errlen);
void conn_close(Conn *c);

/* Queues one command. argv/lens are copied into the output buffer. */
int conn_append_argv(Conn *c, int argc, const char **argv, const size_t *lens);
int conn_append(Conn *c, const char *fmt, ...);
/* Writes every queued byte. -1 on I/O error (the connection is then broken). */
int conn_flush(Conn *c);
/* Reads the next reply, flushing queued commands first. 0 and *reply set (the
 * caller frees it with freeReplyObject) or -1 on I/O/protocol error. A Redis
 * error reply is a reply (type REDIS_REPLY_ERROR), not a -1. */
int conn_get_reply(Conn *c, redisReply **reply);
/* Number of replies still expected for commands already appended. */
size_t conn_pending(const Conn *c);

/* Blocking one-shot command: NULL on I/O error; the caller frees the reply. */
redisReply *conn_command(Conn *c, const char *fmt, ...);
redisReply *conn_command_argv(Conn *c, int argc, const char **argv, const size_t *lens);

/* Switches db (and remembers it for reconnects). */
int conn_select(Conn *c, int db);
int conn_db(const Conn *c);

/* Drops the socket and connects again with capped exponential backoff
 * (100 ms doubling to 5 s) until it works, attempts are used up (0 = until
 * *cancel becomes non-zero), or *cancel is set. Restores db and name.
 * Queued but unsent commands and expected replies are discarded: the caller
 * resends its interrupted batch. */
int conn_reconnect(Conn *c, int max_attempts, const _Atomic int *cancel);

/* 1 after an I/O or protocol error, until a successful reconnect. */
int conn_broken(const Conn *c);
/* Deep equality of two replies (type, integers, bytes, arrays element by
 * element); two NULLs are equal. */
int conn_reply_equal(const redisReply *x, const redisReply *y);
/* The last error line (I/O or open). */
const char *conn_errstr(const Conn *c);
/* "source redis://alice@10.0.0.7:6379/1" (redacted). */
const char *conn_label(const Conn *c);
const ConnConfig *conn_config(const Conn *c);

/* The raw byte stream, for a replication link (after PSYNC the primary
 * sends a snapshot and a command stream, not replies). conn_read_raw()
 * returns first whatever the reply reader holds unparsed, then reads the
 * socket: the number of bytes (> 0), 0 when nothing arrived within
 * timeout_ms (< 0: wait for the io timeout), or -1 on I/O error (the
 * connection is then broken; conn_errstr() says why). Do not mix it with
 * conn_get_reply() while replies are pending. */
ssize_t conn_read_raw(Conn *c, void *buf, size_t len, int timeout_ms);
/* Writes bytes that expect no reply (REPLCONF ACK). 0 or -1 (broken). */
int conn_write_raw(Conn *c, const void *buf, size_t len);

#endif
