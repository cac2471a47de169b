/* test_uri — every URI form uri_parse() accepts, every error it gives (and
 * that none of them shows the password), redaction, and password loading
 * from a file or the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uri.h"
#include "util.h"

#define PW "s3cret"

static Uri parse_ok(const char *text) {
    Uri u;
    char err[FERRY_ERR_LEN] = "";
    int rc = uri_parse(text, &u, err, sizeof(err));
    if (rc != 0) print_error("uri_parse(\"%s\") failed: %s\n", text, err);
    assert_int_equal(rc, 0);
    return u;
}

/* ---- accepted forms -------------------------------------------------- */

static void test_plain_host(void **state) {
    (void)state;
    Uri u = parse_ok("redis://cache.internal");
    assert_int_equal(u.scheme, URI_TCP);
    assert_string_equal(u.host, "cache.internal");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, -1);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_int_equal(u.has_password, 0);
    assert_string_equal(u.path, "");
}

static void test_port_and_db(void **state) {
    (void)state;
    Uri u = parse_ok("redis://10.0.0.7:6380/2");
    assert_string_equal(u.host, "10.0.0.7");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);

    u = parse_ok("redis://h:1/0");
    assert_int_equal(u.port, 1);
    assert_int_equal(u.db, 0);

    u = parse_ok("redis://h:65535/2147483647");
    assert_int_equal(u.port, 65535);
    assert_int_equal(u.db, 2147483647);

    u = parse_ok("redis://h:6379/"); /* a bare trailing slash names no db */
    assert_int_equal(u.db, -1);
}

static void test_tls_user_password(void **state) {
    (void)state;
    Uri u = parse_ok("rediss://alice:" PW "@10.0.0.7:6379/1");
    assert_int_equal(u.scheme, URI_TLS);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, PW);
    assert_int_equal(u.has_password, 1);
    assert_string_equal(u.host, "10.0.0.7");
    assert_int_equal(u.db, 1);
}

static void test_password_only_and_user_only(void **state) {
    (void)state;
    Uri u = parse_ok("redis://:" PW "@h");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, PW);
    assert_int_equal(u.has_password, 1);

    u = parse_ok("redis://bob@h");
    assert_string_equal(u.user, "bob");
    assert_int_equal(u.has_password, 0);

    u = parse_ok("redis://bob:@h"); /* empty password = none */
    assert_string_equal(u.user, "bob");
    assert_string_equal(u.password, "");
    assert_int_equal(u.has_password, 0);

    u = parse_ok("redis://@h");
    assert_string_equal(u.user, "");
    assert_string_equal(u.host, "h");
}

static void test_percent_decoding(void **state) {
    (void)state;
    Uri u = parse_ok("redis://us%40er%3a1:p%3Aa%2Fss%25%20x@h");
    assert_string_equal(u.user, "us@er:1");
    assert_string_equal(u.password, "p:a/ss% x");

    u = parse_ok("redis://u:%C3%A9t%c3%a9@h"); /* UTF-8 bytes, either hex case */
    assert_string_equal(u.password, "\xc3\xa9t\xc3\xa9");
}

static void test_unescaped_at_in_password(void **state) {
    (void)state;
    Uri u = parse_ok("redis://u:p@ss@w@h:7000");
    assert_string_equal(u.user, "u");
    assert_string_equal(u.password, "p@ss@w");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 7000);
}

static void test_ipv6(void **state) {
    (void)state;
    Uri u = parse_ok("redis://[::1]:7000/3");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 3);

    u = parse_ok("rediss://u:" PW "@[2001:db8::10]");
    assert_string_equal(u.host, "2001:db8::10");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, -1);
    assert_string_equal(u.password, PW);

    u = parse_ok("redis://[fe80::1]/4");
    assert_string_equal(u.host, "fe80::1");
    assert_int_equal(u.db, 4);
}

static void test_scheme_case(void **state) {
    (void)state;
    assert_int_equal(parse_ok("REDIS://h").scheme, URI_TCP);
    assert_int_equal(parse_ok("Rediss://h").scheme, URI_TLS);
    assert_int_equal(parse_ok("UNIX:///s").scheme, URI_UNIX);
}

static void test_unix(void **state) {
    (void)state;
    Uri u = parse_ok("unix:///tmp/r.sock");
    assert_int_equal(u.scheme, URI_UNIX);
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_int_equal(u.db, -1);
    assert_string_equal(u.host, "");

    u = parse_ok("unix:///var/run/redis/redis.sock?db=2");
    assert_string_equal(u.path, "/var/run/redis/redis.sock");
    assert_int_equal(u.db, 2);

    u = parse_ok("unix://alice:p%40" PW "@/tmp/r.sock?db=0");
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "p@" PW);
    assert_int_equal(u.has_password, 1);
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_int_equal(u.db, 0);

    u = parse_ok("unix://:a@b@/tmp/r@x.sock"); /* userinfo ends at the last "@/" */
    assert_string_equal(u.password, "a@b");
    assert_string_equal(u.path, "/tmp/r@x.sock");
}

/* ---- errors ---------------------------------------------------------- */

typedef struct {
    const char *text;
    const char *expect; /* substring of the message */
} BadCase;

static const BadCase bad_cases[] = {
    {"http://x", "scheme must be redis://, rediss:// or unix://"},
    {"x", "scheme must be"},
    {"redis:/h", "scheme must be"},
    {"redis://u:" PW "@h:99999", "port must be 1-65535"},
    {"redis://u:" PW "@h:0", "port must be 1-65535"},
    {"redis://u:" PW "@h:", "port must be 1-65535"},
    {"redis://u:" PW "@h:12ab", "port must be 1-65535"},
    {"redis://u:" PW "@h:-1", "port must be 1-65535"},
    {"redis://u:" PW "@h:6379 ", "port must be 1-65535"},
    {"redis://u:" PW "@h:99999999999999999999", "port must be 1-65535"},
    {"redis://u:" PW "@:6379", "host is empty"},
    {"redis://u:" PW "@", "host is empty"},
    {"redis://u:" PW "@/1", "host is empty"},
    {"redis://", "host is empty"},
    {"redis://u:" PW "@ho st", "character that is not allowed"},
    {"redis://u:" PW "@h#x", "character that is not allowed"},
    {"redis://u:" PW "@h/abc", "database must be a number"},
    {"redis://u:" PW "@h/-1", "cannot be negative"},
    {"redis://u:" PW "@h/1x", "database must be a number"},
    {"redis://u:" PW "@h/1/2", "database must be a number"},
    {"redis://u:" PW "@h/2147483648", "database must be a number"},
    {"redis://u:" PW "@h?db=1", "give the database as a path"},
    {"redis://u:" PW "@h/1?x=y", "takes no ?options"},
    {"redis://u:" PW "@::1:6379", "must be in brackets"},
    {"redis://u:" PW "@[::1", "no closing ']'"},
    {"redis://u:" PW "@[]:6379", "host is empty"},
    {"redis://u:" PW "@[::1]x", "expected ':port'"},
    {"redis://u:" PW "@[::1]:0", "port must be 1-65535"},
    {"redis://u:" PW "@[::1]:", "port must be 1-65535"},
    {"redis://u:" PW "@[::g!]", "not allowed"},
    {"redis://u:" PW "%zz@h", "bad %-escape in the password"},
    {"redis://u:" PW "%4@h", "bad %-escape in the password"},
    {"redis://u:" PW "%00@h", "bad %-escape in the password"},
    {"redis://u%g1:" PW "@h", "bad %-escape in the user name"},
    {"redis://u:a/" PW "@h", "port must be 1-65535"}, /* unescaped '/' ends the host part */
    {"redis://u:" PW, "port must be 1-65535"},        /* host forgotten */
    {"redis://:" PW, "host is empty"},
    {"unix://", "socket path is empty"},
    {"unix://u:" PW "@", "socket path is empty"},
    {"unix://u:" PW "@?db=1", "must be absolute"},
    {"unix://tmp/r.sock", "must be absolute"},
    {"unix://u:" PW "@/tmp/r.sock?db=-1", "cannot be negative"},
    {"unix://u:" PW "@/tmp/r.sock?db=", "database must be a number"},
    {"unix://u:" PW "@/tmp/r.sock?db=1&x=2", "database must be a number"},
    {"unix://u:" PW "@/tmp/r.sock?foo=1", "only option a unix URI takes is ?db=N"},
    {"unix://u:" PW, "must be absolute"},
};

static void test_errors_name_the_problem_not_the_password(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const BadCase *c = &bad_cases[i];
        Uri u;
        memset(&u, 0x5a, sizeof(u));
        char err[FERRY_ERR_LEN] = "";
        int rc = uri_parse(c->text, &u, err, sizeof(err));
        if (rc != -1 || !strstr(err, c->expect) || strstr(err, PW) || strchr(err, '\n') ||
            strncmp(err, "bad URI \"", 9) != 0)
            print_error("case \"%s\": rc=%d err=\"%s\" (want \"%s\")\n", c->text, rc, err, c->expect);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, c->expect));
        assert_null(strstr(err, PW));
        assert_null(strchr(err, '\n'));
        assert_memory_equal(err, "bad URI \"", 9);
        /* The caller's Uri is left alone on failure. */
        assert_int_equal(u.port, 0x5a5a5a5a);
    }
}

static void test_error_exact_lines(void **state) {
    (void)state;
    Uri u;
    char err[FERRY_ERR_LEN];
    assert_int_equal(uri_parse("redis://u:" PW "@host:99999", &u, err, sizeof(err)), -1);
    assert_string_equal(err, "bad URI \"redis://u:***@host:99999\": port must be 1-65535");
    assert_int_equal(uri_parse("http://x", &u, err, sizeof(err)), -1);
    assert_string_equal(err, "bad URI \"http://x\": scheme must be redis://, rediss:// or unix://");
}

static void test_error_empty_and_null(void **state) {
    (void)state;
    Uri u;
    char err[FERRY_ERR_LEN] = "";
    assert_int_equal(uri_parse("", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty server URI"));
    err[0] = '\0';
    assert_int_equal(uri_parse(NULL, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty server URI"));
    /* A NULL err buffer is allowed. */
    assert_int_equal(uri_parse("ftp://x", &u, NULL, 0), -1);
}

static void test_error_lengths(void **state) {
    (void)state;
    char text[4096], err[FERRY_ERR_LEN];
    Uri u;

    memset(text, 0, sizeof(text));
    strcpy(text, "redis://");
    memset(text + 8, 'h', 256);
    assert_int_equal(uri_parse(text, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "host name is longer than 255 bytes"));
    text[8 + 255] = '\0'; /* 255 fits */
    assert_int_equal(uri_parse(text, &u, err, sizeof(err)), 0);
    assert_int_equal((int)strlen(u.host), 255);

    memset(text, 0, sizeof(text));
    strcpy(text, "redis://u:");
    memset(text + 10, 'Q', 512);
    strcat(text, "@h");
    assert_int_equal(uri_parse(text, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "password is longer than 511 bytes"));
    assert_null(strstr(err, "QQQ"));

    memset(text, 0, sizeof(text));
    strcpy(text, "redis://");
    memset(text + 8, 'U', 256);
    strcat(text, ":" PW "@h");
    assert_int_equal(uri_parse(text, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "user name is longer than 255 bytes"));
    assert_null(strstr(err, PW));
    /* The quote of a long text is cut, and the reason still shows. */
    assert_non_null(strstr(err, "...\": "));

    memset(text, 0, sizeof(text));
    strcpy(text, "unix:///");
    memset(text + 8, 'p', 1023);
    assert_int_equal(uri_parse(text, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "socket path is longer than 1023 bytes"));
}

/* ---- printing -------------------------------------------------------- */

static void test_format_redacted(void **state) {
    (void)state;
    char buf[256];
    Uri u = parse_ok("redis://alice:" PW "@10.0.0.7:6379/1");
    uri_format_redacted(&u, buf, sizeof(buf));
    assert_string_equal(buf, "redis://alice@10.0.0.7:6379/1");

    u = parse_ok("rediss://:" PW "@h");
    uri_format_redacted(&u, buf, sizeof(buf));
    assert_string_equal(buf, "rediss://h:6379");

    u = parse_ok("redis://[::1]:7000/0");
    uri_format_redacted(&u, buf, sizeof(buf));
    assert_string_equal(buf, "redis://[::1]:7000/0");

    u = parse_ok("unix://bob:" PW "@/tmp/r.sock?db=2");
    uri_format_redacted(&u, buf, sizeof(buf));
    assert_string_equal(buf, "unix://bob@/tmp/r.sock?db=2");

    u = parse_ok("unix:///tmp/r.sock");
    uri_format_redacted(&u, buf, sizeof(buf));
    assert_string_equal(buf, "unix:///tmp/r.sock");

    /* A user name with reserved characters is printed escaped, so it reads
     * back the same. */
    u = parse_ok("redis://a%40b%3Ac:" PW "@h/3");
    uri_format_redacted(&u, buf, sizeof(buf));
    assert_string_equal(buf, "redis://a%40b%3Ac@h:6379/3");
    Uri back = parse_ok(buf);
    assert_string_equal(back.user, "a@b:c");
    assert_int_equal(back.db, 3);

    /* A short buffer is cut and terminated. */
    u = parse_ok("redis://alice:" PW "@10.0.0.7:6379/1");
    memset(buf, 'X', sizeof(buf));
    uri_format_redacted(&u, buf, 10);
    assert_string_equal(buf, "redis://a");
}

static void test_format_short(void **state) {
    (void)state;
    char buf[256];
    Uri u = parse_ok("redis://alice:" PW "@10.0.0.7:6379/1");
    uri_format_short(&u, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.0.7:6379/1");

    u = parse_ok("rediss://h:7000");
    uri_format_short(&u, buf, sizeof(buf));
    assert_string_equal(buf, "h:7000/0"); /* unspecified db prints as 0 */

    u = parse_ok("redis://[::1]/5");
    uri_format_short(&u, buf, sizeof(buf));
    assert_string_equal(buf, "[::1]:6379/5");

    u = parse_ok("unix:///tmp/r.sock?db=2");
    uri_format_short(&u, buf, sizeof(buf));
    assert_string_equal(buf, "/tmp/r.sock/2");

    u = parse_ok("unix:///tmp/r.sock");
    uri_format_short(&u, buf, sizeof(buf));
    assert_string_equal(buf, "/tmp/r.sock/0");
}

static void test_redact_text(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"redis://u:" PW "@h", "redis://u:***@h"},
        {"redis://:" PW "@h:1/2", "redis://:***@h:1/2"},
        {"rediss://u:p@" PW "@h", "rediss://u:***@h"},
        {"redis://u:a/" PW "@h/1", "redis://u:***@h/1"},
        {"unix://u:" PW "@/tmp/s?db=1", "unix://u:***@/tmp/s?db=1"},
        {"redis://user@h:6379", "redis://user@h:6379"},
        {"redis://h:6379/0", "redis://h:6379/0"},
        {"redis://[::1]:6379", "redis://[::1]:6379"},
        {"redis://u:" PW, "redis://u:***"},
        {"redis://u:" PW "/3", "redis://u:***/3"},
        {"redis://h/0?password=" PW "&x=1", "redis://h/0?password=***&x=1"},
        {"garbage:" PW, "garbage:***"},
        {"unix:///tmp/a:b.sock", "unix:///tmp/a:b.sock"},
        {"", ""},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uri_redact_text(cases[i].in, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].out);
    }
    uri_redact_text(NULL, buf, sizeof(buf));
    assert_string_equal(buf, "");
    /* Cutting never lets part of the password through. */
    for (size_t len = 1; len < 24; len++) {
        memset(buf, 'X', sizeof(buf));
        uri_redact_text("redis://u:" PW "@host", buf, len);
        assert_true(strlen(buf) < len);
        assert_null(strstr(buf, "s3"));
    }
}

/* ---- passwords from a file or the environment ------------------------ */

#define ENV_NAME "FERRY_TEST_URI_PASSWORD"

/* Writes data (n bytes) to a new temp file; its path goes into path. */
static void write_temp(char *path, size_t pathlen, const char *data, size_t n) {
    snprintf(path, pathlen, "/tmp/ferry-test-uri-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static Uri uri_with_password(void) {
    return parse_ok("redis://u:uripw@h");
}

static void test_password_file_wins(void **state) {
    (void)state;
    char path[64], err[FERRY_ERR_LEN] = "";
    write_temp(path, sizeof(path), "filepw\n", 7);
    setenv(ENV_NAME, "envpw", 1);
    Uri u = uri_with_password();
    assert_int_equal(uri_load_password(&u, ENV_NAME, path, err, sizeof(err)), 0);
    assert_string_equal(u.password, "filepw");
    assert_int_equal(u.has_password, 1);
    unsetenv(ENV_NAME);
    unlink(path);
}

static void test_password_file_line_endings(void **state) {
    (void)state;
    static const struct {
        const char *data;
        const char *want;
    } cases[] = {
        {"pw\r\n", "pw"},          {"pw", "pw"},           {"pw\nsecond\n", "pw"},
        {"pw\r", "pw"},            {" pw with spaces \n", " pw with spaces "},
        {"p:a@ss/%\n", "p:a@ss/%"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[64], err[FERRY_ERR_LEN] = "";
        write_temp(path, sizeof(path), cases[i].data, strlen(cases[i].data));
        Uri u = parse_ok("redis://h");
        assert_int_equal(uri_load_password(&u, NULL, path, err, sizeof(err)), 0);
        assert_string_equal(u.password, cases[i].want);
        assert_int_equal(u.has_password, 1);
        unlink(path);
    }
}

static void test_password_file_longest(void **state) {
    (void)state;
    char path[64], err[FERRY_ERR_LEN] = "", data[600];
    memset(data, 'k', 511);
    memcpy(data + 511, "\r\nmore", 6);
    write_temp(path, sizeof(path), data, 517);
    Uri u = parse_ok("redis://h");
    assert_int_equal(uri_load_password(&u, NULL, path, err, sizeof(err)), 0);
    assert_int_equal((int)strlen(u.password), 511);
    unlink(path);

    memset(data, 'k', 512);
    write_temp(path, sizeof(path), data, 512);
    assert_int_equal(uri_load_password(&u, NULL, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longer than 511 bytes"));
    assert_non_null(strstr(err, path));
    assert_null(strstr(err, "kkk"));
    unlink(path);
}

static void test_password_file_errors(void **state) {
    (void)state;
    char path[64], err[FERRY_ERR_LEN] = "";
    Uri u = uri_with_password();

    write_temp(path, sizeof(path), "", 0);
    assert_int_equal(uri_load_password(&u, NULL, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is empty"));
    assert_non_null(strstr(err, path));
    unlink(path);

    write_temp(path, sizeof(path), "\nsecond-line\n", 13);
    assert_int_equal(uri_load_password(&u, NULL, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is empty"));
    unlink(path);

    write_temp(path, sizeof(path), "\r\n", 2);
    assert_int_equal(uri_load_password(&u, NULL, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is empty"));
    unlink(path);

    write_temp(path, sizeof(path), "ab\0cd\n", 6);
    assert_int_equal(uri_load_password(&u, NULL, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
    unlink(path);

    assert_int_equal(uri_load_password(&u, NULL, "/nonexistent/ferry/pw", err, sizeof(err)), -1);
    assert_string_equal(err, "cannot read password file \"/nonexistent/ferry/pw\": No such file or "
                             "directory; check the path and its permissions");

    /* A directory opens but cannot be read. */
    assert_int_equal(uri_load_password(&u, NULL, "/tmp", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot read password file \"/tmp\""));

    /* The file wins even when the environment is set: its error stands. */
    setenv(ENV_NAME, "envpw", 1);
    assert_int_equal(uri_load_password(&u, ENV_NAME, "/nonexistent/ferry/pw", err, sizeof(err)), -1);
    unsetenv(ENV_NAME);

    /* Failures leave the URI's own password in place. */
    assert_string_equal(u.password, "uripw");
    assert_int_equal(u.has_password, 1);
}

static void test_password_env(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN] = "";
    Uri u = uri_with_password();
    setenv(ENV_NAME, "env:pw@x", 1);
    assert_int_equal(uri_load_password(&u, ENV_NAME, NULL, err, sizeof(err)), 0);
    assert_string_equal(u.password, "env:pw@x");
    assert_int_equal(u.has_password, 1);

    /* Empty variable: the URI's password stays. */
    u = uri_with_password();
    setenv(ENV_NAME, "", 1);
    assert_int_equal(uri_load_password(&u, ENV_NAME, NULL, err, sizeof(err)), 0);
    assert_string_equal(u.password, "uripw");

    /* Unset variable, or none named: the URI's password stays. */
    unsetenv(ENV_NAME);
    assert_int_equal(uri_load_password(&u, ENV_NAME, NULL, err, sizeof(err)), 0);
    assert_string_equal(u.password, "uripw");
    assert_int_equal(uri_load_password(&u, NULL, NULL, err, sizeof(err)), 0);
    assert_string_equal(u.password, "uripw");
    assert_int_equal(u.has_password, 1);

    /* And no password anywhere stays no password. */
    u = parse_ok("redis://h");
    assert_int_equal(uri_load_password(&u, ENV_NAME, NULL, err, sizeof(err)), 0);
    assert_int_equal(u.has_password, 0);

    char big[600];
    memset(big, 'Z', 512);
    big[512] = '\0';
    setenv(ENV_NAME, big, 1);
    assert_int_equal(uri_load_password(&u, ENV_NAME, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ENV_NAME));
    assert_non_null(strstr(err, "longer than 511 bytes"));
    assert_null(strstr(err, "ZZZ"));
    assert_int_equal(u.has_password, 0);
    unsetenv(ENV_NAME);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_host),
        cmocka_unit_test(test_port_and_db),
        cmocka_unit_test(test_tls_user_password),
        cmocka_unit_test(test_password_only_and_user_only),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_unescaped_at_in_password),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_scheme_case),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_errors_name_the_problem_not_the_password),
        cmocka_unit_test(test_error_exact_lines),
        cmocka_unit_test(test_error_empty_and_null),
        cmocka_unit_test(test_error_lengths),
        cmocka_unit_test(test_format_redacted),
        cmocka_unit_test(test_format_short),
        cmocka_unit_test(test_redact_text),
        cmocka_unit_test(test_password_file_wins),
        cmocka_unit_test(test_password_file_line_endings),
        cmocka_unit_test(test_password_file_longest),
        cmocka_unit_test(test_password_file_errors),
        cmocka_unit_test(test_password_env),
    };
    return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
