/* Every bad input and hostile server gets one clear line, a non-zero exit
 * and an untouched target: malformed URIs and options, the same server as
 * source and target, wrong or missing passwords (never echoed), an
 * unreachable host, a target that refuses RESTORE, a target that runs out
 * of memory. Passwords travel by environment or file, never argv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

static Sandbox src, dst;
static char src_uri[128], dst_uri[128];

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    sandbox_uri(&dst, -1, dst_uri, sizeof(dst_uri));
    Conn *a = tu_connect(&src, 0);
    for (int i = 0; i < 500; i++) tu_ok(a, "SET guard:%d %d", i, i);
    conn_close(a);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    return 0;
}

/* One line on stderr (warnings aside), nothing on the target. */
static void assert_one_line_error(const TuRun *r, int status, const char *needle) {
    if (r->status != status) fail_msg("exit %d, wanted %d; stderr: %s", r->status, status, r->err);
    if (!tu_contains(r->err, needle)) fail_msg("stderr lacks \"%s\": %s", needle, r->err);
    const char *nl = strchr(r->err, '\n');
    if (!nl || nl[1] != '\0') fail_msg("stderr is not exactly one line: %s", r->err);
}

static void assert_target_empty(void) {
    Conn *b = tu_connect(&dst, -1);
    redisReply *r = tu_cmd(b, "INFO keyspace");
    if (strstr(r->str, "keys=")) fail_msg("the target was written to: %s", r->str);
    freeReplyObject(r);
    conn_close(b);
}

static void test_usage_errors(void **state) {
    (void)state;
    TuRun r;
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", "http://x", "--target", dst_uri, NULL});
    assert_one_line_error(&r, 2, "scheme");
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", "redis://h:99999", "--target", dst_uri, NULL});
    assert_one_line_error(&r, 2, "port");
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", "redis://u:hunter2@h:70000", "--target", dst_uri, NULL});
    assert_int_equal(r.status, 2);
    assert_false(tu_contains(r.err, "hunter2"));
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--target", dst_uri, NULL});
    assert_one_line_error(&r, 2, "missing --source");
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--workers", "0", NULL});
    assert_one_line_error(&r, 2, "--workers");
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--db-map", "1:x", NULL});
    assert_int_equal(r.status, 2);
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--type", "strings", NULL});
    assert_one_line_error(&r, 2, "strings");
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--on-conflict", "overwrite", NULL});
    assert_one_line_error(&r, 2, "fail, skip or replace");
    tu_ferry(&r, 10, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--frobnicate", NULL});
    assert_one_line_error(&r, 2, "unknown option --frobnicate");
    tu_ferry(&r, 10, NULL, (const char *[]){"frobnicate", NULL});
    assert_one_line_error(&r, 2, "unknown command");
    assert_target_empty();
}

static void test_same_server_refused(void **state) {
    (void)state;
    TuRun r;
    char s0[160], alias[160];
    snprintf(s0, sizeof(s0), "%s/0", src_uri);
    /* The same server under another name (localhost vs 127.0.0.1): run_id tells. */
    snprintf(alias, sizeof(alias), "redis://localhost:%d/0", src.port);
    tu_ferry(&r, 20, NULL, (const char *[]){"copy", "--source", s0, "--target", alias, "--no-tui", "--on-conflict", "replace", NULL});
    assert_one_line_error(&r, 1, "same server");
    /* Same server, another db: a legitimate split. */
    char s3[160];
    snprintf(s3, sizeof(s3), "%s/3", src_uri);
    tu_ferry(&r, 20, NULL, (const char *[]){"copy", "--source", s0, "--target", s3, "--no-tui", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    Conn *a = tu_connect(&src, 0), *a3 = tu_connect(&src, 3);
    tu_assert_same_keyspace(a, 0, a3, 3);
    tu_ok(a3, "FLUSHDB");
    conn_close(a);
    conn_close(a3);
}

static void test_passwords(void **state) {
    (void)state;
    Sandbox locked;
    tu_server_start(&locked, (const char *[]){"--requirepass", "s3cret-pw", NULL});
    char uri[160], pwfile[600];
    snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d", locked.port);
    TuRun r;
    /* No password given. */
    tu_ferry(&r, 20, NULL, (const char *[]){"copy", "--source", src_uri, "--target", uri, "--no-tui", NULL});
    assert_one_line_error(&r, 1, "password");
    /* Wrong password from the environment: refused, and never echoed. */
    tu_ferry(&r, 20, (const char *[]){"FERRY_TARGET_PASSWORD=wrong-guess-77", NULL},
             (const char *[]){"copy", "--source", src_uri, "--target", uri, "--no-tui", NULL});
    assert_one_line_error(&r, 1, "authentication failed");
    assert_false(tu_contains(r.err, "wrong-guess-77"));
    assert_false(tu_contains(r.out, "wrong-guess-77"));
    /* Right password from a file works. */
    snprintf(pwfile, sizeof(pwfile), "%s/pw", locked.dir);
    FILE *f = fopen(pwfile, "w");
    fputs("s3cret-pw\n", f);
    fclose(f);
    tu_ferry(&r, 30, NULL, (const char *[]){"copy", "--source", src_uri, "--target", uri, "--no-tui", "--target-password-file", pwfile, NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    assert_false(tu_contains(r.out, "s3cret-pw"));
    assert_false(tu_contains(r.err, "s3cret-pw"));
    /* A password in the URI works but is warned about, and masked. */
    char inuri[200];
    snprintf(inuri, sizeof(inuri), "redis://:s3cret-pw@127.0.0.1:%d/1", locked.port);
    tu_ferry(&r, 30, NULL, (const char *[]){"copy", "--source", src_uri, "--target", inuri, "--no-tui", "--db-map", "0:1", NULL});
    assert_int_equal(r.status, 2); /* /db in a URI and --db-map: ambiguous */
    snprintf(inuri, sizeof(inuri), "redis://:s3cret-pw@127.0.0.1:%d/1", locked.port);
    char s0[160];
    snprintf(s0, sizeof(s0), "%s/0", src_uri);
    tu_ferry(&r, 30, NULL, (const char *[]){"copy", "--source", s0, "--target", inuri, "--no-tui", NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    assert_true(tu_contains(r.err, "visible to other users"));
    assert_false(tu_contains(r.out, "s3cret-pw"));
    /* A missing password file is a one-line error. */
    tu_ferry(&r, 20, NULL, (const char *[]){"copy", "--source", src_uri, "--target", uri, "--no-tui", "--target-password-file", "/nonexistent/pw", NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "/nonexistent/pw"));
    sandbox_stop(&locked);
}

static void test_unreachable(void **state) {
    (void)state;
    int port = sandbox_free_port();
    char uri[128];
    snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d", port);
    TuRun r;
    tu_ferry(&r, 20, NULL, (const char *[]){"copy", "--source", src_uri, "--target", uri, "--no-tui", "--connect-timeout", "1000", NULL});
    assert_one_line_error(&r, 1, uri);
    assert_true(r.seconds < 10);
    tu_ferry(&r, 20, NULL, (const char *[]){"copy", "--source", "redis://no-such-host.invalid:6379", "--target", dst_uri, "--no-tui", "--connect-timeout", "1000", NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "no-such-host.invalid"));
    assert_target_empty();
}

static void test_restricted_target(void **state) {
    (void)state;
    Sandbox t;
    tu_server_start(&t, NULL);
    Conn *c = tu_connect(&t, -1);
    tu_ok(c, "ACL SETUSER mover on >mover-pw ~* &* +@all -restore");
    conn_close(c);
    char uri[160];
    snprintf(uri, sizeof(uri), "redis://mover@127.0.0.1:%d", t.port);
    TuRun r;
    tu_ferry(&r, 30, (const char *[]){"FERRY_TARGET_PASSWORD=mover-pw", NULL},
             (const char *[]){"copy", "--source", src_uri, "--target", uri, "--no-tui", NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "refused RESTORE"));
    assert_false(tu_contains(r.err, "mover-pw"));
    sandbox_stop(&t);
}

static void test_target_out_of_memory(void **state) {
    (void)state;
    Sandbox big, tiny;
    tu_server_start(&big, NULL);
    tu_server_start(&tiny, (const char *[]){"--maxmemory", "3mb", "--maxmemory-policy", "noeviction", NULL});
    Conn *a = tu_connect(&big, 0);
    char val[2048];
    for (size_t i = 0; i < sizeof(val) - 1; i++) val[i] = (char)('a' + (i * 7919 % 26));
    val[sizeof(val) - 1] = '\0';
    for (int i = 0; i < 8000; i++) conn_append(a, "SET oom:%d %s%d", i, val, i);
    for (int i = 0; i < 8000; i++) {
        redisReply *x;
        assert_int_equal(conn_get_reply(a, &x), 0);
        freeReplyObject(x);
    }
    char s[160], t[160];
    sandbox_uri(&big, -1, s, sizeof(s));
    sandbox_uri(&tiny, -1, t, sizeof(t));
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", s, "--target", t, "--no-tui", NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "out of memory"));
    assert_true(tu_contains(r.err, "maxmemory"));
    assert_true(r.seconds < 30); /* it stopped instead of spinning */
    conn_close(a);
    sandbox_stop(&big);
    sandbox_stop(&tiny);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_same_server_refused),
        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_restricted_target),
        cmocka_unit_test(test_target_out_of_memory),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
