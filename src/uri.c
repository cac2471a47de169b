/* uri — owns the text form of a server address: parsing what the operator
 * typed into a Uri, printing it back without the password, and loading a
 * password from a file or the environment so that it need not appear on a
 * command line at all.
 *
 * Secrets rule: every message this file writes quotes the operator's text
 * through uri_redact_text(), which masks at least what the parser would take
 * for a password (from the first ':' after "scheme://" up to the LAST '@' of
 * the text; with no '@', a non-numeric "port"), so no parse error can echo
 * one. */
#include "uri.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URI_DEFAULT_PORT 6379
/* Longest piece of the operator's text quoted in a message. */
#define URI_QUOTE_MAX 160
#define URI_MASK "***"

/* ---- errors ---------------------------------------------------------- */

/* Writes `bad URI "<text, masked>": <why>` into err; returns -1. */
static int uri_fail(const char *text, char *err, size_t errlen, const char *why) {
    char quoted[URI_QUOTE_MAX + 2];
    uri_redact_text(text, quoted, sizeof(quoted)); /* masks first, then cuts */
    if (strlen(quoted) > URI_QUOTE_MAX) memcpy(quoted + URI_QUOTE_MAX - 3, "...", 4);
    return util_err(err, errlen, "bad URI \"%s\": %s", quoted, why);
}

/* ---- redaction ------------------------------------------------------- */

/* Appends s[0..n) to buf (size len, used *o), always terminated. */
static void uri_put(char *buf, size_t len, size_t *o, const char *s, size_t n) {
    if (len == 0) return;
    size_t room = len - 1 - *o;
    if (n > room) n = room;
    memcpy(buf + *o, s, n);
    *o += n;
    buf[*o] = '\0';
}

static int uri_all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

void uri_redact_text(const char *text, char *buf, size_t len) {
    size_t o = 0;
    if (len == 0) return;
    buf[0] = '\0';
    if (!text) return;
    const char *sep = strstr(text, "://");
    const char *start = sep ? sep + 3 : text;
    const char *at = strrchr(start, '@');
    const char *rest = text;
    if (at) {
        /* user:password@...: everything from the first ':' to the last '@'. */
        const char *colon = memchr(start, ':', (size_t)(at - start));
        if (colon) {
            uri_put(buf, len, &o, text, (size_t)(colon + 1 - text));
            uri_put(buf, len, &o, URI_MASK, strlen(URI_MASK));
            rest = at;
        }
    } else if (start[0] != '[') {
        /* No '@': "redis://user:secret" with the host forgotten looks like
         * host:port. Whatever follows the ':' is masked unless it is a port. */
        size_t alen = strcspn(start, "/?#");
        const char *colon = memchr(start, ':', alen);
        if (colon && !uri_all_digits(colon + 1, alen - (size_t)(colon + 1 - start))) {
            uri_put(buf, len, &o, text, (size_t)(colon + 1 - text));
            uri_put(buf, len, &o, URI_MASK, strlen(URI_MASK));
            rest = start + alen;
        }
    }
    /* A "password=" query option (other tools' form) is masked as well. */
    const char *pw = strstr(rest, "password=");
    if (pw) {
        uri_put(buf, len, &o, rest, (size_t)(pw + 9 - rest));
        uri_put(buf, len, &o, URI_MASK, strlen(URI_MASK));
        rest = pw + 9 + strcspn(pw + 9, "&#");
    }
    uri_put(buf, len, &o, rest, strlen(rest));
}

/* ---- parsing --------------------------------------------------------- */

static int uri_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (size outlen). Returns 0; -1 on a bad
 * escape or on %00 (a C string cannot hold it); -2 when it does not fit. */
static int uri_decode(const char *s, size_t n, char *out, size_t outlen) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3) return -1;
            int hi = uri_hex(s[i + 1]), lo = uri_hex(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = hi * 16 + lo;
            if (c == 0) return -1;
            i += 2;
        }
        if (o + 1 >= outlen) return -2;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Parses s[0..n) as a decimal number in [min, max]; -1 if it is not one. */
static int uri_number(const char *s, size_t n, long long min, long long max, long long *out) {
    long long v = 0;
    if (n == 0 || n > 10) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* Parses a database number s[0..n) into u->db. */
static int uri_parse_db(const char *text, const char *s, size_t n, Uri *u, char *err,
                        size_t errlen) {
    long long v;
    if (n > 0 && s[0] == '-')
        return uri_fail(text, err, errlen, "database number cannot be negative; databases count from 0");
    if (uri_number(s, n, 0, 2147483647LL, &v) < 0)
        return uri_fail(text, err, errlen,
                        "database must be a number such as 0 or 1, with nothing after it");
    u->db = (int)v;
    return 0;
}

/* Parses the userinfo s[0..n) ("user", "user:password", ":password"). */
static int uri_parse_userinfo(const char *text, const char *s, size_t n, Uri *u, char *err,
                              size_t errlen) {
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;
    int rc = uri_decode(s, ulen, u->user, sizeof(u->user));
    if (rc == -1)
        return uri_fail(text, err, errlen, "bad %-escape in the user name; write a literal % as %25");
    if (rc == -2)
        return uri_fail(text, err, errlen, "user name is longer than 255 bytes");
    if (colon) {
        rc = uri_decode(colon + 1, n - ulen - 1, u->password, sizeof(u->password));
        if (rc == -1)
            return uri_fail(text, err, errlen,
                            "bad %-escape in the password; write a literal % as %25 "
                            "(or use a password file)");
        if (rc == -2)
            return uri_fail(text, err, errlen, "password is longer than 511 bytes");
        u->has_password = u->password[0] != '\0';
    }
    return 0;
}

static int uri_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

/* Parses "host[:port]" or "[v6]:port" in s[0..n). */
static int uri_parse_hostport(const char *text, const char *s, size_t n, Uri *u, char *err,
                              size_t errlen) {
    const char *host = s, *port = NULL;
    size_t hlen, plen = 0;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return uri_fail(text, err, errlen, "IPv6 address has no closing ']'; write it as [::1]");
        host = s + 1;
        hlen = (size_t)(close - host);
        if (hlen == 0) return uri_fail(text, err, errlen, "host is empty; write it as redis://host:6379");
        for (size_t i = 0; i < hlen; i++)
            if (!uri_host_char(host[i]) && host[i] != ':' && host[i] != '%')
                return uri_fail(text, err, errlen, "IPv6 address in [] has a character that is not allowed");
        const char *after = close + 1;
        size_t alen = n - (size_t)(after - s);
        if (alen > 0) {
            if (after[0] != ':')
                return uri_fail(text, err, errlen, "expected ':port' or '/db' after the IPv6 address");
            port = after + 1;
            plen = alen - 1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        if (colon) {
            port = colon + 1;
            plen = n - hlen - 1;
            if (memchr(port, ':', plen))
                return uri_fail(text, err, errlen,
                                "IPv6 addresses must be in brackets, as in redis://[::1]:6379");
        }
        if (hlen == 0) return uri_fail(text, err, errlen, "host is empty; write it as redis://host:6379");
        for (size_t i = 0; i < hlen; i++)
            if (!uri_host_char(host[i]))
                return uri_fail(text, err, errlen,
                                "host has a character that is not allowed (letters, digits, '-', '.' "
                                "and '_' only; percent-encode '@', ':' and '/' in a password)");
    }
    if (hlen >= sizeof(u->host)) return uri_fail(text, err, errlen, "host name is longer than 255 bytes");
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    if (port) {
        long long v;
        if (uri_number(port, plen, 1, 65535, &v) < 0)
            return uri_fail(text, err, errlen, "port must be 1-65535");
        u->port = (int)v;
    }
    return 0;
}

/* redis:// and rediss://: rest is what follows "://". */
static int uri_parse_tcp(const char *text, const char *rest, Uri *u, char *err, size_t errlen) {
    size_t alen = strcspn(rest, "/");
    const char *path = rest + alen; /* "" or "/..." */
    /* The last '@' of the authority ends the userinfo, so that an unescaped
     * '@' in a password still parses. */
    const char *at = NULL;
    for (const char *p = rest; p < path; p++)
        if (*p == '@') at = p;
    const char *hp = rest;
    if (at) {
        if (uri_parse_userinfo(text, rest, (size_t)(at - rest), u, err, errlen) < 0) return -1;
        hp = at + 1;
    }
    if (strchr(hp, '?'))
        return uri_fail(text, err, errlen,
                        "this URI takes no ?options; give the database as a path, as in "
                        "redis://host:6379/2");
    if (uri_parse_hostport(text, hp, (size_t)(path - hp), u, err, errlen) < 0) return -1;
    if (*path == '\0' || path[1] == '\0') return 0; /* no db, or a bare trailing '/' */
    return uri_parse_db(text, path + 1, strlen(path + 1), u, err, errlen);
}

/* unix://: rest is what follows "://" ("/path", "user:pw@/path"). */
static int uri_parse_unix(const char *text, const char *rest, Uri *u, char *err, size_t errlen) {
    const char *path = rest;
    if (rest[0] == '\0')
        return uri_fail(text, err, errlen, "socket path is empty; write unix:///path/to/redis.sock");
    if (rest[0] != '/') {
        /* The userinfo ends at the last "@/"; a socket path is absolute. */
        const char *at = NULL;
        for (const char *p = rest; *p; p++)
            if (p[0] == '@' && p[1] == '/') at = p;
        if (!at) {
            if (strchr(rest, '@') && rest[strlen(rest) - 1] == '@')
                return uri_fail(text, err, errlen, "socket path is empty; write unix:///path/to/redis.sock");
            return uri_fail(text, err, errlen,
                            "socket path must be absolute: write unix:///path/to/redis.sock "
                            "(three slashes)");
        }
        if (uri_parse_userinfo(text, rest, (size_t)(at - rest), u, err, errlen) < 0) return -1;
        path = at + 1;
    }
    size_t plen = strcspn(path, "?");
    if (plen == 0) return uri_fail(text, err, errlen, "socket path is empty; write unix:///path/to/redis.sock");
    if (plen >= sizeof(u->path)) return uri_fail(text, err, errlen, "socket path is longer than 1023 bytes");
    memcpy(u->path, path, plen);
    u->path[plen] = '\0';
    const char *query = path + plen;
    if (*query == '\0') return 0;
    if (strncmp(query, "?db=", 4) != 0)
        return uri_fail(text, err, errlen, "the only option a unix URI takes is ?db=N");
    return uri_parse_db(text, query + 4, strlen(query + 4), u, err, errlen);
}

int uri_parse(const char *text, Uri *out, char *err, size_t errlen) {
    Uri u;
    memset(&u, 0, sizeof(u));
    u.port = URI_DEFAULT_PORT;
    u.db = -1;
    if (!text || !text[0])
        return util_err(err, errlen,
                        "empty server URI; write redis://host:6379, rediss://host:6379 or "
                        "unix:///path/to/redis.sock");
    const char *rest;
    if (!strncasecmp(text, "redis://", 8)) {
        u.scheme = URI_TCP;
        rest = text + 8;
    } else if (!strncasecmp(text, "rediss://", 9)) {
        u.scheme = URI_TLS;
        rest = text + 9;
    } else if (!strncasecmp(text, "unix://", 7)) {
        u.scheme = URI_UNIX;
        rest = text + 7;
    } else {
        return uri_fail(text, err, errlen, "scheme must be redis://, rediss:// or unix://");
    }
    int rc = u.scheme == URI_UNIX ? uri_parse_unix(text, rest, &u, err, errlen)
                                  : uri_parse_tcp(text, rest, &u, err, errlen);
    if (rc == 0) *out = u;
    explicit_bzero(&u, sizeof(u)); /* the local copy may hold the password */
    return rc;
}

/* ---- printing -------------------------------------------------------- */

/* Appends s percent-encoded so that the result parses back to s. */
static void uri_put_encoded(char *buf, size_t len, size_t *o, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (uri_host_char((char)c) || c == '~') {
            uri_put(buf, len, o, (const char *)&c, 1);
        } else {
            char esc[4];
            snprintf(esc, sizeof(esc), "%%%02X", c);
            uri_put(buf, len, o, esc, 3);
        }
    }
}

static const char *uri_scheme_prefix(UriScheme s) {
    return s == URI_UNIX ? "unix://" : s == URI_TLS ? "rediss://" : "redis://";
}

void uri_format_redacted(const Uri *u, char *buf, size_t len) {
    size_t o = 0;
    char num[16];
    const char *prefix = uri_scheme_prefix(u->scheme);
    if (len == 0) return;
    buf[0] = '\0';
    uri_put(buf, len, &o, prefix, strlen(prefix));
    if (u->user[0]) {
        uri_put_encoded(buf, len, &o, u->user);
        uri_put(buf, len, &o, "@", 1);
    }
    if (u->scheme == URI_UNIX) {
        uri_put(buf, len, &o, u->path, strlen(u->path));
        if (u->db >= 0) {
            snprintf(num, sizeof(num), "?db=%d", u->db);
            uri_put(buf, len, &o, num, strlen(num));
        }
        return;
    }
    int v6 = strchr(u->host, ':') != NULL;
    if (v6) uri_put(buf, len, &o, "[", 1);
    uri_put(buf, len, &o, u->host, strlen(u->host));
    if (v6) uri_put(buf, len, &o, "]", 1);
    snprintf(num, sizeof(num), ":%d", u->port);
    uri_put(buf, len, &o, num, strlen(num));
    if (u->db >= 0) {
        snprintf(num, sizeof(num), "/%d", u->db);
        uri_put(buf, len, &o, num, strlen(num));
    }
}

void uri_format_short(const Uri *u, char *buf, size_t len) {
    int db = u->db >= 0 ? u->db : 0;
    if (len == 0) return;
    if (u->scheme == URI_UNIX)
        snprintf(buf, len, "%s/%d", u->path, db);
    else if (strchr(u->host, ':'))
        snprintf(buf, len, "[%s]:%d/%d", u->host, u->port, db);
    else
        snprintf(buf, len, "%s:%d/%d", u->host, u->port, db);
}

/* ---- passwords from outside the command line ------------------------- */

#define URI_PW_MAX (sizeof(((Uri *)0)->password) - 1)

/* Reads the first line of path into u->password. */
static int uri_password_from_file(Uri *u, const char *path, char *err, size_t errlen) {
    char line[URI_PW_MAX + 3]; /* the password, "\r\n", and one byte to see it is too long */
    int rc = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return util_err(err, errlen, "cannot read password file \"%s\": %s; check the path and its permissions",
                        path, strerror(errno));
    size_t n = fread(line, 1, sizeof(line), fp);
    int read_errno = ferror(fp) ? errno : 0;
    fclose(fp);
    const char *nl = memchr(line, '\n', n);
    size_t end = nl ? (size_t)(nl - line) : n;
    while (end > 0 && line[end - 1] == '\r') end--;
    if (read_errno)
        rc = util_err(err, errlen, "cannot read password file \"%s\": %s; check the path and its permissions",
                      path, strerror(read_errno));
    else if (end > URI_PW_MAX)
        rc = util_err(err, errlen, "password in file \"%s\" is longer than %zu bytes", path, URI_PW_MAX);
    else if (memchr(line, '\0', end))
        rc = util_err(err, errlen, "password file \"%s\" holds a NUL byte; put the password as text on its first line",
                      path);
    else if (end == 0)
        rc = util_err(err, errlen, "password file \"%s\" is empty; put the password on its first line", path);
    if (rc == 0) {
        memcpy(u->password, line, end);
        u->password[end] = '\0';
        u->has_password = 1;
    }
    explicit_bzero(line, sizeof(line));
    return rc;
}

int uri_load_password(Uri *u, const char *env_name, const char *password_file, char *err,
                      size_t errlen) {
    if (password_file) return uri_password_from_file(u, password_file, err, errlen);
    const char *env = env_name ? getenv(env_name) : NULL;
    if (!env || !env[0]) return 0; /* keep whatever the URI gave */
    size_t n = strlen(env);
    if (n > URI_PW_MAX)
        return util_err(err, errlen, "environment variable %s holds a password longer than %zu bytes",
                        env_name, URI_PW_MAX);
    memcpy(u->password, env, n + 1);
    u->has_password = 1;
    return 0;
}
