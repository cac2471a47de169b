/* ferry verify against real servers: a clean copy (made by ferry copy,
 * with hash-table sets and hashes whose DUMP bytes differ between the two
 * servers, big keys read in chunks, streams with pending entries) verifies
 * clean; each planted difference (a missing key, an extra key, a changed
 * field of a big hash, a changed expiry, one more XACK on one side) is
 * found and reported exactly, by a full run and by a sample that covers
 * every key; db maps, the budget, usage errors and exit codes. The option
 * parser is tested first, without servers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"
#include "verify.h"

static Sandbox src, dst;
static char src_uri[128], dst_uri[128];
static char report[600];

/* ------------------------------------------------------ parser (no server) */

static int parse(VerifyCli *c, const char *const *args, char *err) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"verify";
    for (int i = 0; args[i]; i++) argv[argc++] = (char *)args[i];
    verify_cli_init(c);
    return verify_cli_parse(c, argc, argv, err, FERRY_ERR_LEN);
}

static void test_cli(void **state) {
    (void)state;
    VerifyCli c;
    char err[FERRY_ERR_LEN];
    assert_int_equal(parse(&c, (const char *[]){"--source", "redis://h:1/1", "--target", "redis://h:2/0", "--sample", "50",
                                                 "--ttl-tolerance", "250", "--budget", "0", "--match", "a*", "--type",
                                                 "hash,stream", "--report", "r.txt", "--json", "--tls-insecure", NULL},
                           err),
                     0);
    assert_int_equal(c.opt.sample, 50);
    assert_int_equal(c.opt.ttl_tolerance_ms, 250);
    assert_true(c.opt.budget == 0);
    assert_int_equal(c.opt.filter.ninclude, 1);
    assert_true(c.json && c.no_tui);
    assert_true(c.opt.source.tls.insecure && c.opt.target.tls.insecure);
    assert_int_equal(c.opt.source.uri.db, 1);
    assert_string_equal(c.opt.report_path, "r.txt");
    verify_cli_free(&c);
    /* Defaults. */
    assert_int_equal(parse(&c, (const char *[]){"--source", "redis://h:1", "--target", "redis://h:2", NULL}, err), 0);
    assert_int_equal(c.opt.ttl_tolerance_ms, -1);
    assert_true(c.opt.budget == 20000);
    assert_int_equal(c.opt.sample, 0);
    verify_cli_free(&c);
    /* Errors: one line naming the option. */
    assert_int_equal(parse(&c, (const char *[]){"--source", "redis://h:1", NULL}, err), -1);
    assert_true(tu_contains(err, "--target"));
    verify_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--source", "redis://h:1", "--target", "redis://h:2", "--sample", "x", NULL}, err), -1);
    assert_true(tu_contains(err, "--sample"));
    verify_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--source", "redis://h:1/1", "--target", "redis://h:2", "--db-map", "1:0", NULL}, err), -1);
    assert_true(tu_contains(err, "--db-map"));
    verify_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--source", "redis://h:1", "--target", "redis://h:2", "--workers", "3", NULL}, err), -1);
    assert_true(tu_contains(err, "unknown option --workers"));
    verify_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--source", "redis://h:1", "--target", "redis://h:2", "--budget", NULL}, err), -1);
    assert_true(tu_contains(err, "needs a value"));
    verify_cli_free(&c);
    char esc[64];
    util_escape_key("a\tb\\c\xff", 6, esc, sizeof(esc));
    assert_string_equal(esc, "a\\x09b\\\\c\\xff");
}

/* ------------------------------------------------------------ servers */

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    sandbox_uri(&dst, -1, dst_uri, sizeof(dst_uri));
    snprintf(report, sizeof(report), "%s/verify-report.txt", dst.dir);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    return 0;
}

static int flush_both(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, -1), *b = tu_connect(&dst, -1);
    tu_ok(a, "FLUSHALL");
    tu_ok(b, "FLUSHALL");
    conn_close(a);
    conn_close(b);
    return 0;
}

/* Big keys beyond what verify DUMPs (read in chunks), besides every type
 * and encoding of tu_fill_every_type. */
static long fill(Conn *c) {
    long n = tu_fill_every_type(c, "");
    char cmd[64 * 1024];
    /* hash with 1000 fields (hash table), one pipelined HSET. */
    size_t o = (size_t)snprintf(cmd, sizeof(cmd), "HSET big:hash");
    for (int i = 0; i < 1000; i++) o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " field-%d value-%d", i, i);
    tu_ok(c, cmd);
    o = (size_t)snprintf(cmd, sizeof(cmd), "SADD big:set");
    for (int i = 0; i < 1000; i++) o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " member-%d", i);
    tu_ok(c, cmd);
    o = (size_t)snprintf(cmd, sizeof(cmd), "ZADD big:zset");
    for (int i = 0; i < 1500; i++) o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " %d.5 m%d", i % 700, i);
    tu_ok(c, cmd);
    o = (size_t)snprintf(cmd, sizeof(cmd), "RPUSH big:list");
    for (int i = 0; i < 1500; i++) o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " e%d", i);
    tu_ok(c, cmd);
    n += 4;
    /* A stream of 1200 entries, two groups, 300 pending entries. */
    for (int i = 1; i <= 1200; i++) tu_ok(c, "XADD big:stream %d-0 n %d", i, i);
    tu_ok(c, "XGROUP CREATE big:stream g1 0");
    tu_ok(c, "XGROUP CREATE big:stream g2 0");
    freeReplyObject(tu_cmd(c, "XREADGROUP GROUP g1 alice COUNT 200 STREAMS big:stream >"));
    freeReplyObject(tu_cmd(c, "XREADGROUP GROUP g1 bob COUNT 150 STREAMS big:stream >"));
    freeReplyObject(tu_cmd(c, "XREADGROUP GROUP g2 carol COUNT 60 STREAMS big:stream >"));
    tu_ok(c, "XACK big:stream g1 1-0 2-0 3-0 250-0");
    tu_ok(c, "XACK big:stream g2 5-0");
    n++;
    /* A key with an expiry, for the TTL check. */
    tu_ok(c, "SET ttl:key v PX 7200000");
    n++;
    for (int i = 0; i < 300; i++) tu_ok(c, "SET plain:%d %d", i, i);
    n += 300;
    return n;
}

static void copy_all(void) {
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", NULL});
    if (r.status != 0) fail_msg("copy: exit %d\n%s\n%s", r.status, r.out, r.err);
}

/* The report's mismatch lines (comments skipped), into lines[]. */
static int report_lines(char lines[][512], int max) {
    FILE *f = fopen(report, "r");
    if (!f) fail_msg("no report at %s", report);
    char buf[4096];
    int n = 0;
    while (fgets(buf, sizeof(buf), f)) {
        if (buf[0] == '#') continue;
        buf[strcspn(buf, "\n")] = '\0';
        if (n < max) util_strlcpy(lines[n], buf, 512);
        n++;
    }
    fclose(f);
    return n;
}

/* The report line for a key (kind + db + key), or NULL. */
static const char *find_line(char lines[][512], int n, const char *kind, const char *key) {
    char want[300];
    snprintf(want, sizeof(want), "%s\tdb0:0\t%s\t", kind, key);
    for (int i = 0; i < n; i++)
        if (!strncmp(lines[i], want, strlen(want))) return lines[i];
    return NULL;
}

static void test_clean_copy_verifies_clean(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    long n = fill(a);
    copy_all();
    /* The point of type-wise comparison: a hash-table hash (and set) DUMPs
     * in another order on the other server. */
    redisReply *enc = tu_cmd(b, "OBJECT ENCODING big:hash");
    assert_string_equal(enc->str, "hashtable");
    freeReplyObject(enc);
    redisReply *da = tu_cmd(a, "DUMP big:hash"), *db = tu_cmd(b, "DUMP big:hash");
    if (tu_reply_equal(da, db)) print_message("note: big:hash DUMPs identically on both servers this time\n");
    freeReplyObject(da);
    freeReplyObject(db);

    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "0", "--report", report, NULL});
    if (r.status != 0) fail_msg("verify: exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    char want[128];
    snprintf(want, sizeof(want), "%ld source keys compared, %ld target keys looked up", n, n);
    assert_true(tu_contains(r.out, want));
    snprintf(want, sizeof(want), "%ld matching, 0 missing, 0 extra, 0 different, 0 ttl-drift", n);
    if (!tu_contains(r.out, want)) fail_msg("expected \"%s\" in:\n%s", want, r.out);
    assert_true(tu_contains(r.out, "target matches source (exit 0)"));
    char lines[8][512];
    assert_int_equal(report_lines(lines, 8), 0);

    /* Small chunks: every chunked read crosses many boundaries. */
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "0", "--chunk", "7", "--batch", "13", NULL});
    if (r.status != 0) fail_msg("verify --chunk 7: exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    conn_close(a);
    conn_close(b);
}

static void plant(Conn *a, Conn *b) {
    tu_ok(b, "DEL plain:17");                      /* missing on the target */
    tu_ok(b, "SET stray:key here");                /* extra on the target */
    tu_ok(b, "HSET big:hash field-500 CHANGED");   /* a changed value in a big hash */
    tu_ok(b, "PEXPIRE ttl:key 60000");             /* a changed expiry */
    tu_ok(a, "XACK big:stream g1 10-0");           /* one more ACK on the source */
}

static void check_planted(const TuRun *r) {
    char lines[16][512];
    int n = report_lines(lines, 16);
    for (int i = 0; i < n && i < 16; i++) print_message("report: %s\n", lines[i]);
    assert_int_equal(n, 5);
    assert_non_null(find_line(lines, n, "missing", "plain:17"));
    assert_non_null(find_line(lines, n, "extra", "stray:key"));
    const char *h = find_line(lines, n, "different", "big:hash");
    assert_non_null(h);
    assert_true(tu_contains(h, "field-500"));
    const char *t = find_line(lines, n, "ttl-drift", "ttl:key");
    assert_non_null(t);
    assert_true(tu_contains(t, "tolerance 0 ms"));
    const char *s = find_line(lines, n, "different", "big:stream");
    assert_non_null(s);
    assert_true(tu_contains(s, "g1"));
    assert_true(tu_contains(r->out, "1 missing, 1 extra, 2 different, 1 ttl-drift"));
    assert_true(tu_contains(r->out, "differences found (exit 1)"));
}

static void test_planted_differences(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    fill(a);
    copy_all();
    plant(a, b);
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "0", "--report", report, NULL});
    if (r.status != 1) fail_msg("verify: exit %d (want 1)\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    check_planted(&r);
    /* A sample as large as the keyspace sees every key: the same findings. */
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "0", "--sample", "100000", "--seed", "7", "--report", report, NULL});
    if (r.status != 1) fail_msg("verify --sample: exit %d (want 1)\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    check_planted(&r);
    assert_true(tu_contains(r.out, "a sample of up to 100000 keys"));
    /* A drift within the tolerance is no drift. */
    tu_ok(b, "PEXPIREAT ttl:key %lld", tu_int(a, "PEXPIRETIME ttl:key") + 40);
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "0", "--ttl-tolerance", "50", "--match", "ttl:*", "--json", NULL});
    if (r.status != 0) fail_msg("verify --ttl-tolerance 50: exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "\"type\":\"summary\",\"complete\":true,\"clean\":true,\"exit_code\":0"));
    assert_true(tu_contains(r.out, "\"matching\":1,"));
    conn_close(a);
    conn_close(b);
}

/* Every type-wise comparison path finds its kind of difference. */
static void test_type_wise_differences(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    fill(a);
    copy_all();
    tu_ok(b, "SETRANGE str:big 100 X");                 /* string: DUMP differs, GETRANGE finds byte 100 */
    tu_ok(b, "LSET big:list 1234 changed");             /* list in chunks */
    tu_ok(b, "ZADD big:zset 99 m5");                    /* zset score */
    tu_ok(b, "SREM big:set member-3");                  /* set, same size */
    tu_ok(b, "SADD big:set member-x");
    tu_ok(b, "HSET hash:small f2 other");               /* listpack hash: DUMP differs */
    tu_ok(b, "XGROUP SETID big:stream g2 700-0");       /* group last-delivered-id */
    tu_ok(b, "DEL plain:3");                            /* type */
    tu_ok(b, "RPUSH plain:3 x");
    tu_ok(b, "RPUSH list:small extra");                 /* length */
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "0", "--chunk", "100", "--report", report, NULL});
    if (r.status != 1) fail_msg("verify: exit %d (want 1)\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    char lines[16][512];
    int n = report_lines(lines, 16);
    for (int i = 0; i < n && i < 16; i++) print_message("report: %s\n", lines[i]);
    static const char *const want[][2] = {
        {"str:big", "from byte 100"},      {"big:list", "element 1234"},     {"big:zset", "m5"},
        {"big:set", "member-3"},           {"hash:small", "f2"},             {"big:stream", "last-delivered-id"},
        {"plain:3", "type string on the source, list on the target"},       {"list:small", "6 elements on the source, 7"},
    };
    int nwant = (int)(sizeof(want) / sizeof(want[0]));
    assert_int_equal(n, nwant);
    for (int i = 0; i < nwant; i++) {
        const char *l = find_line(lines, n, "different", want[i][0]);
        if (!l || !tu_contains(l, want[i][1])) fail_msg("no \"different\" line for %s mentioning %s", want[i][0], want[i][1]);
    }
    conn_close(a);
    conn_close(b);
}

/* Kills verify's connections (by client name) a few times mid-run. */
typedef struct Killer {
    _Atomic int stop;
    _Atomic int kills;
} Killer;

static void *killer_main(void *arg) {
    Killer *k = arg;
    Conn *cs[2] = {tu_connect(&src, -1), tu_connect(&dst, -1)};
    const char *names[2] = {"name=ferry-verify-src", "name=ferry-verify-dst"};
    for (int round = 0; !k->stop && k->kills < 4; round++) {
        util_sleep_ms(300);
        Conn *c = cs[round % 2];
        redisReply *r = conn_command(c, "CLIENT LIST");
        if (!r) break;
        for (char *line = r->type == REDIS_REPLY_STRING ? r->str : NULL; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            char *id = strstr(line, "id=");
            if (strstr(line, names[round % 2]) && id) {
                redisReply *x = conn_command(c, "CLIENT KILL ID %lld", atoll(id + 3));
                if (x && x->type == REDIS_REPLY_INTEGER && x->integer > 0) k->kills++;
                if (x) freeReplyObject(x);
            }
            line = nl ? nl + 1 : NULL;
        }
        freeReplyObject(r);
    }
    conn_close(cs[0]);
    conn_close(cs[1]);
    return NULL;
}

static void test_survives_killed_connections(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0);
    for (int i = 0; i < 3000; i++) conn_append(a, "SET kill:%d value-%d", i, i);
    for (int i = 0; i < 3000; i++) {
        redisReply *x;
        assert_int_equal(conn_get_reply(a, &x), 0);
        freeReplyObject(x);
    }
    copy_all();
    Killer k = {0, 0};
    pthread_t th;
    pthread_create(&th, NULL, killer_main, &k);
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "5000", "--batch", "50", NULL});
    k.stop = 1;
    pthread_join(th, NULL);
    print_message("%d connections killed\n", (int)k.kills);
    if (r.status != 0) fail_msg("verify: exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    assert_true(k.kills >= 2);
    assert_true(tu_contains(r.err, "reconnecting"));
    assert_true(tu_contains(r.out, "3000 matching, 0 missing, 0 extra, 0 different, 0 ttl-drift"));
    conn_close(a);
}

static void test_db_map_and_extra_db(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 1), *b = tu_connect(&dst, 5);
    for (int i = 0; i < 50; i++) tu_ok(a, "SET k%d %d", i, i);
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"copy", "--source", src_uri, "--target", dst_uri, "--no-tui", "--db-map", "1:5", NULL});
    if (r.status != 0) fail_msg("copy: exit %d: %s", r.status, r.err);
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--db-map", "1:5", "--budget", "0", NULL});
    if (r.status != 0) fail_msg("verify --db-map: exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "db 1 → 5: source 50 keys"));
    /* Without a map: every db not empty on either side; target db 5 has
     * keys the source's db 5 lacks, and the source's db 1 is missing on
     * the target's db 1. */
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "0", "--json", NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.out, "\"missing\":50,\"extra\":50,"));
    (void)b;
    conn_close(a);
    conn_close(b);
}

static void test_budget_bounds_source_load(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0);
    for (int i = 0; i < 500; i++) tu_ok(a, "SET b%d %d", i, i);
    copy_all();
    TuRun r;
    /* ~3 commands per key (TYPE, PEXPIRETIME, DUMP) + SCANs + EXISTS: at
     * 1000 commands/s this takes about 1.5 s. */
    tu_ferry(&r, 60, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--budget", "1000", "--batch", "50", "--json", NULL});
    if (r.status != 0) fail_msg("verify: exit %d\n%s\n%s", r.status, r.out, r.err);
    const char *sum = strstr(r.out, "{\"type\":\"summary\"");
    assert_non_null(sum);
    long cmds = atol(strstr(sum, "\"source_commands\":") + 18);
    long ms = atol(strstr(sum, "\"elapsed_ms\":") + 13);
    print_message("%ld source commands in %ld ms\n", cmds, ms);
    assert_true(cmds >= 1500);
    /* 100 ms of burst credit at most. */
    assert_true((double)cmds <= 1000.0 * ((double)ms / 1000.0) + 100.0 + 50.0);
    assert_true(tu_contains(r.out, "\"type\":\"progress\""));
    conn_close(a);
}

static void test_errors_and_usage(void **state) {
    (void)state;
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"verify", "--source", src_uri, NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "missing --target"));
    tu_ferry(&r, 30, NULL, (const char *[]){"verify", "--source", src_uri, "--target", dst_uri, "--sample", "-3", NULL});
    assert_int_equal(r.status, 2);
    /* Unreachable, with a password in the URI: exit 3, password masked. */
    tu_ferry(&r, 30, NULL, (const char *[]){"verify", "--source", "redis://u:hunter2@127.0.0.1:1", "--target", dst_uri, "--connect-timeout", "500", NULL});
    assert_int_equal(r.status, 3);
    assert_false(tu_contains(r.err, "hunter2"));
    assert_false(tu_contains(r.out, "hunter2"));
    /* Same server and db on both sides. */
    char other[160];
    snprintf(other, sizeof(other), "redis://localhost:%d", src.port);
    Conn *a = tu_connect(&src, 0);
    tu_ok(a, "SET x 1");
    tu_ferry(&r, 30, NULL, (const char *[]){"verify", "--source", src_uri, "--target", other, NULL});
    assert_int_equal(r.status, 3);
    assert_true(tu_contains(r.err, "same server"));
    tu_ferry(&r, 30, NULL, (const char *[]){"verify", "--help", NULL});
    assert_int_equal(r.status, 0);
    assert_true(tu_contains(r.out, "usage: ferry verify"));
    conn_close(a);
}

int main(void) {
    const struct CMUnitTest pure[] = {cmocka_unit_test(test_cli)};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_clean_copy_verifies_clean, flush_both),
        cmocka_unit_test_setup(test_planted_differences, flush_both),
        cmocka_unit_test_setup(test_type_wise_differences, flush_both),
        cmocka_unit_test_setup(test_survives_killed_connections, flush_both),
        cmocka_unit_test_setup(test_db_map_and_extra_db, flush_both),
        cmocka_unit_test_setup(test_budget_bounds_source_load, flush_both),
        cmocka_unit_test_setup(test_errors_and_usage, flush_both),
    };
    int rc = cmocka_run_group_tests_name("verify (parser)", pure, NULL, NULL);
    return rc | cmocka_run_group_tests_name("verify", tests, group_setup, group_teardown);
}
