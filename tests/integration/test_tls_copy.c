/* A copy whose target speaks only TLS (rediss://): the server certificate is
 * verified against --tls-ca, a wrong CA is refused before anything is
 * written, --tls-insecure is an explicit opt-out, and mutual TLS works with
 * a client certificate. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "util.h"

static Sandbox src, dst;
static char certs[512], src_uri[128], dst_uri[128];
static char ca[600], other_ca[600], cert[600], key[600], scert[600], skey[600];

static int group_setup(void **state) {
    (void)state;
    if (tu_make_certs(certs, sizeof(certs)) != 0) {
        print_message("openssl could not make test certificates (is the openssl package installed?)\n");
        return -1;
    }
    snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
    snprintf(other_ca, sizeof(other_ca), "%s/other-ca.crt", certs);
    snprintf(cert, sizeof(cert), "%s/client.crt", certs);
    snprintf(key, sizeof(key), "%s/client.key", certs);
    snprintf(scert, sizeof(scert), "%s/server.crt", certs);
    snprintf(skey, sizeof(skey), "%s/server.key", certs);
    tu_server_start(&src, NULL);
    tu_server_start(&dst, (const char *[]){"--tls-cert-file", scert, "--tls-key-file", skey,
                                           "--tls-ca-cert-file", ca, "--tls-auth-clients", "yes", NULL});
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    snprintf(dst_uri, sizeof(dst_uri), "rediss://127.0.0.1:%d", dst.tls_port);
    Conn *a = tu_connect(&src, 0);
    tu_fill_every_type(a, "tls:");
    conn_close(a);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    tu_rm_tree(certs);
    return 0;
}

static long target_keys(void) {
    Conn *b = tu_connect(&dst, 0); /* the sandbox's plain port, for checking */
    long n = tu_int(b, "DBSIZE");
    conn_close(b);
    return n;
}

static void test_wrong_ca_refused(void **state) {
    (void)state;
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--tls-ca", other_ca, "--tls-cert", cert, "--tls-key", key, NULL});
    assert_int_equal(r.status, 1);
    if (!tu_contains(r.err, "certificate")) fail_msg("stderr: %s", r.err);
    assert_int_equal(target_keys(), 0);
}

static void test_missing_client_cert_refused(void **state) {
    (void)state;
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--tls-ca", ca, NULL});
    assert_int_equal(r.status, 1);
    assert_int_equal(target_keys(), 0);
}

static void test_copy_over_mtls(void **state) {
    (void)state;
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--target-tls-ca", ca, "--target-tls-cert", cert, "--target-tls-key", key, NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    tu_assert_same_keyspace(a, 0, b, 0);
    tu_ok(b, "FLUSHALL");
    conn_close(a);
    conn_close(b);
}

static void test_insecure_is_explicit(void **state) {
    (void)state;
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--tls-insecure", "--tls-cert", cert, "--tls-key", key, NULL});
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    assert_true(target_keys() > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_ca_refused),
        cmocka_unit_test(test_missing_client_cert_refused),
        cmocka_unit_test(test_copy_over_mtls),
        cmocka_unit_test(test_insecure_is_explicit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
