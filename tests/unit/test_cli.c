/* cli: `ferry copy` options into CopyOptions, every usage error one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

static int parse(CopyCli *c, char *err, const char *const *args) {
    char *argv[64];
    int argc = 0;
    argv[argc++] = "copy";
    for (int i = 0; args[i]; i++) argv[argc++] = (char *)args[i];
    cli_copy_init(c);
    return cli_parse_copy(c, argc, argv, err, FERRY_ERR_LEN);
}

static void test_full_command(void **state) {
    (void)state;
    CopyCli c;
    char err[FERRY_ERR_LEN];
    unsetenv("FERRY_SOURCE_PASSWORD");
    unsetenv("FERRY_TARGET_PASSWORD");
    int rc = parse(&c, err, (const char *[]){"--source", "redis://a:6380", "--target", "rediss://alice@b:6390",
                                             "--db-map", "1:0,2:5", "--match", "user:*", "--match", "cart:*",
                                             "--exclude", "*:tmp", "--type", "hash,stream", "--on-conflict", "skip",
                                             "--workers", "8", "--batch", "100", "--rate", "5000", "--report", "r.txt",
                                             "--tls-ca", "ca.pem", "--target-tls-sni", "b.example", "--json", NULL});
    if (rc) fail_msg("%s", err);
    assert_int_equal(c.copy.source.uri.port, 6380);
    assert_int_equal(c.copy.target.uri.scheme, URI_TLS);
    assert_string_equal(c.copy.target.uri.user, "alice");
    assert_int_equal(c.copy.dbmap.n, 2);
    assert_int_equal(c.copy.filter.ninclude, 2);
    assert_int_equal(c.copy.filter.nexclude, 1);
    assert_int_equal(c.copy.filter.types, FTYPE_HASH | FTYPE_STREAM);
    assert_int_equal(c.copy.on_conflict, CONFLICT_SKIP);
    assert_true(c.copy.on_conflict_explicit);
    assert_int_equal(c.copy.workers, 8);
    assert_int_equal(c.copy.batch, 100);
    assert_true(c.copy.rate == 5000);
    assert_string_equal(c.copy.report_path, "r.txt");
    assert_string_equal(c.copy.source.tls.ca_file, "ca.pem");
    assert_string_equal(c.copy.target.tls.ca_file, "ca.pem");
    assert_null(c.copy.source.tls.sni);
    assert_string_equal(c.copy.target.tls.sni, "b.example");
    assert_true(c.json && c.no_tui);
    assert_false(c.password_on_cmdline);
    cli_copy_free(&c);
}

static void test_defaults(void **state) {
    (void)state;
    CopyCli c;
    char err[FERRY_ERR_LEN];
    assert_int_equal(parse(&c, err, (const char *[]){"--source", "redis://a", "--target", "redis://b", NULL}), 0);
    assert_int_equal(c.copy.on_conflict, CONFLICT_FAIL);
    assert_false(c.copy.on_conflict_explicit);
    assert_int_equal(c.copy.workers, 4);
    assert_int_equal(c.copy.source.connect_timeout_ms, 5000);
    assert_false(c.no_tui);
    cli_copy_free(&c);
}

static void test_errors(void **state) {
    (void)state;
    static const struct {
        const char *args[8];
        const char *needle;
    } cases[] = {
        {{"--target", "redis://b", NULL}, "missing --source"},
        {{"--source", "redis://a", NULL}, "missing --target"},
        {{"--source", "redis://a", "--target", "redis://b", "--workers", "65", NULL}, "--workers takes a whole number from 1 to 64"},
        {{"--source", "redis://a", "--target", "redis://b", "--workers", "4x", NULL}, "--workers"},
        {{"--source", "redis://a", "--target", "redis://b", "--rate", "-1", NULL}, "--rate"},
        {{"--source", "redis://a", "--target", "redis://b", "--on-conflict", "force", NULL}, "fail, skip or replace"},
        {{"--source", "redis://a", "--target", "redis://b", "--bogus", NULL}, "unknown option --bogus"},
        {{"--source", "redis://a", "--target", "redis://b", "--bogus", "x", NULL}, "unknown option --bogus"},
        {{"--source", "redis://a", "--target", NULL}, "--target needs a value"},
        {{"--source", "redis://a", "--target", "redis://b", "stray", NULL}, "unexpected argument \"stray\""},
        {{"--source", "redis://a/1", "--target", "redis://b", "--db-map", "1:0", NULL}, "--db-map and a /db"},
        {{"--source", "ftp://a", "--target", "redis://b", NULL}, "--source"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CopyCli c;
        char err[FERRY_ERR_LEN] = "";
        assert_int_equal(parse(&c, err, cases[i].args), -1);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].needle);
        assert_null(strchr(err, '\n'));
        cli_copy_free(&c);
    }
}

static void test_password_sources(void **state) {
    (void)state;
    CopyCli c;
    char err[FERRY_ERR_LEN];
    setenv("FERRY_SOURCE_PASSWORD", "from-env", 1);
    assert_int_equal(parse(&c, err, (const char *[]){"--source", "redis://a", "--target", "redis://:inline@b", NULL}), 0);
    assert_string_equal(c.copy.source.uri.password, "from-env");
    assert_string_equal(c.copy.target.uri.password, "inline");
    assert_true(c.password_on_cmdline);
    cli_copy_free(&c);
    unsetenv("FERRY_SOURCE_PASSWORD");
}

static void test_scrub_argv(void **state) {
    (void)state;
    char a0[] = "ferry", a1[] = "--source", a2[] = "redis://bob:hunter2@h:1/0", a3[] = "rediss://:pw@h",
         a4[] = "redis://h:6379", a5[] = "unix:///x?db=1";
    char *argv[] = {a0, a1, a2, a3, a4, a5};
    cli_scrub_argv(6, argv);
    assert_string_equal(argv[2], "redis://bob:*******@h:1/0");
    assert_string_equal(argv[3], "rediss://:**@h");
    assert_string_equal(argv[4], "redis://h:6379");
    assert_string_equal(argv[5], "unix:///x?db=1");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_command),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_password_sources),
        cmocka_unit_test(test_scrub_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
