/* uri — parses the server addresses an operator types, and prints them back
 * without secrets.
 *
 *   redis://[user[:password]@]host[:port][/db]
 *   rediss://[user[:password]@]host[:port][/db]      (TLS)
 *   unix:///path/to/redis.sock[?db=N]  (user/password as redis://; ?db= too)
 *
 * Hosts may be bracketed IPv6 literals ("[::1]"). User and password are
 * percent-decoded. The password never leaves this struct in printable form:
 * every message about a server uses uri_format_redacted(). */
#ifndef FERRY_URI_H
#define FERRY_URI_H

#include <stddef.h>

typedef enum { URI_TCP = 0, URI_TLS = 1, URI_UNIX = 2 } UriScheme;

typedef struct Uri {
    UriScheme scheme;
    char host[256];      /* TCP/TLS: host name or address, no brackets */
    int port;            /* TCP/TLS: default 6379 */
    char path[1024];     /* UNIX: socket path */
    int db;              /* -1 when the URI names no database */
    char user[256];      /* empty: the default user */
    char password[512];  /* secret: never print */
    int has_password;
} Uri;

/* Parses text into *out. On error returns -1 and writes one line to err that
 * quotes the text with any password masked and says what form is expected. */
int uri_parse(const char *text, Uri *out, char *err, size_t errlen);

/* "redis://alice@10.0.0.7:6379/1", "unix:///tmp/r.sock?db=2": never the password. */
void uri_format_redacted(const Uri *u, char *buf, size_t len);

/* "10.0.0.7:6379/1" or "/tmp/r.sock/2": the short name used in typed
 * confirmations and panel titles. db printed as 0 when unspecified. */
void uri_format_short(const Uri *u, char *buf, size_t len);

/* Masks a password in text that may not even parse ("redis://u:***@h"). */
void uri_redact_text(const char *text, char *buf, size_t len);

/* Fills u->password from the environment variable env_name (if set and non
 * empty) or from password_file (if not NULL; first line, trailing newline
 * removed). The file wins over the environment; a password in the URI is
 * kept only when neither is given. Returns -1 with a message when the file
 * cannot be read or is empty. */
int uri_load_password(Uri *u, const char *env_name, const char *password_file,
                      char *err, size_t errlen);

#endif
