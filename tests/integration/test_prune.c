/* ferry prune against real servers: a dry run deletes nothing and counts
 * right; --execute deletes exactly the selected keys (every remaining key
 * is checked) and the deleted-log lists exactly them, escaped; --type
 * narrows what may go; the target is refused when it is the --source
 * server under another address. The option parser is tested first,
 * without servers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "prune.h"
#include "testutil.h"
#include "util.h"

static Sandbox srv, other;
static char uri[128], other_uri[128];
static char logpath[600];

/* ------------------------------------------------------ parser (no server) */

static int parse(PruneCli *c, const char *const *args, char *err) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"prune";
    for (int i = 0; args[i]; i++) argv[argc++] = (char *)args[i];
    prune_cli_init(c);
    return prune_cli_parse(c, argc, argv, err, FERRY_ERR_LEN);
}

static void test_cli(void **state) {
    (void)state;
    PruneCli c;
    char err[FERRY_ERR_LEN];
    assert_int_equal(parse(&c, (const char *[]){"--target", "redis://h:1/2", "--keep", "session:*", "--keep", "user:*",
                                                 "--type", "string", "--execute", "--batch", "50", NULL},
                           err),
                     0);
    assert_int_equal(c.opt.rule, PRUNE_KEEP);
    assert_int_equal(c.opt.filter.ninclude, 2);
    assert_true(c.opt.execute);
    assert_false(c.opt.has_source);
    assert_int_equal(c.opt.batch, 50);
    prune_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--target", "redis://h:1", "--drop", "x", "--source", "redis://h:2", NULL}, err), 0);
    assert_int_equal(c.opt.rule, PRUNE_DROP);
    assert_true(c.opt.has_source);
    assert_false(c.opt.execute);
    prune_cli_free(&c);
    /* One rule, not both; not none. */
    assert_int_equal(parse(&c, (const char *[]){"--target", "redis://h:1", "--keep", "a", "--drop", "b", NULL}, err), -1);
    assert_true(tu_contains(err, "--keep and --drop together"));
    prune_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--target", "redis://h:1", NULL}, err), -1);
    assert_true(tu_contains(err, "--drop"));
    prune_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--drop", "a", NULL}, err), -1);
    assert_true(tu_contains(err, "missing --target"));
    prune_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--target", "redis://h:1/2", "--db", "3", "--drop", "a", NULL}, err), -1);
    assert_true(tu_contains(err, "--db 3"));
    prune_cli_free(&c);
    assert_int_equal(parse(&c, (const char *[]){"--target", "redis://h:1", "--drop", "a", "--type", "blob", NULL}, err), -1);
    prune_cli_free(&c);
}

/* ------------------------------------------------------------ servers */

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&srv, NULL);
    tu_server_start(&other, NULL);
    sandbox_uri(&srv, -1, uri, sizeof(uri));
    sandbox_uri(&other, -1, other_uri, sizeof(other_uri));
    snprintf(logpath, sizeof(logpath), "%s/deleted.txt", srv.dir);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&srv);
    sandbox_stop(&other);
    return 0;
}

static int flush(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, -1);
    tu_ok(c, "FLUSHALL");
    conn_close(c);
    remove(logpath);
    return 0;
}

/* Odd names: the log must escape them. */
static const char *const odd[] = {"cache:new\nline", "#cache-looking", "back\\slash", "bin\xff\x01"};

/* 200 session:*, 300 cache:* (strings and hashes), 40 misc, 4 odd. */
static void fill(Conn *c) {
    for (int i = 0; i < 200; i++) tu_ok(c, "SET session:%d s", i);
    for (int i = 0; i < 250; i++) tu_ok(c, "SET cache:%d c", i);
    for (int i = 250; i < 300; i++) tu_ok(c, "HSET cache:%d f v", i);
    for (int i = 0; i < 40; i++) tu_ok(c, "RPUSH misc%d x", i);
    for (int i = 0; i < 4; i++) tu_ok(c, "SET %b v", odd[i], strlen(odd[i]));
}

/* The escaping the deleted-log uses. */
static void escape(const char *k, size_t len, char *buf) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)k[i];
        if (ch == '\\') o += (size_t)sprintf(buf + o, "\\\\");
        else if (ch < 0x20 || ch >= 0x7f || (i == 0 && ch == '#')) o += (size_t)sprintf(buf + o, "\\x%02x", ch);
        else buf[o++] = (char)ch;
    }
    buf[o] = '\0';
}

/* Number of lines in the log equal to line (comments skipped), and the
 * total of non-comment lines in *total. */
static int log_count(const char *line, int *total) {
    FILE *f = fopen(logpath, "r");
    if (!f) fail_msg("no deleted-log at %s", logpath);
    char buf[1024];
    int n = 0;
    *total = 0;
    while (fgets(buf, sizeof(buf), f)) {
        if (buf[0] == '#') continue;
        buf[strcspn(buf, "\n")] = '\0';
        (*total)++;
        if (!strcmp(buf, line)) n++;
    }
    fclose(f);
    return n;
}

/* Every key left in db 0 passes keep(); returns how many there are. */
static long check_remaining(Conn *c, int (*keep)(const char *k, size_t len, const char *type)) {
    long n = 0;
    char cur[32] = "0";
    do {
        redisReply *r = tu_cmd(c, "SCAN %s COUNT 1000", cur);
        snprintf(cur, sizeof(cur), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            redisReply *k = r->element[1]->element[i];
            redisReply *t = tu_cmd(c, "TYPE %b", k->str, k->len);
            if (!keep(k->str, k->len, t->str)) fail_msg("key %.*s (%s) should have been deleted", (int)k->len, k->str, t->str);
            freeReplyObject(t);
            n++;
        }
        freeReplyObject(r);
    } while (strcmp(cur, "0"));
    return n;
}

static int is_session(const char *k, size_t len, const char *type) {
    (void)type;
    return glob_match("session:*", 9, k, len, 0);
}

static void test_dry_run_deletes_nothing(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, 0);
    fill(c);
    long before = tu_int(c, "DBSIZE");
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", uri, "--keep", "session:*", "--deleted-log", logpath, NULL});
    if (r.status != 0) fail_msg("prune: exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_int_equal(tu_int(c, "DBSIZE"), before);
    char want[128];
    snprintf(want, sizeof(want), "would delete %ld keys of %ld scanned", before - 200, before);
    if (!tu_contains(r.out, want)) fail_msg("expected \"%s\" in:\n%s", want, r.out);
    assert_true(tu_contains(r.out, "cache: 301")); /* with "cache:new\nline" */
    assert_true(tu_contains(r.out, "(no prefix) 43"));
    assert_true(tu_contains(r.out, "nothing was deleted"));
    assert_true(tu_contains(r.out, "DRY RUN"));
    assert_int_equal(access(logpath, F_OK), -1); /* no log on a dry run */

    /* --drop with one glob (sent as SCAN MATCH). */
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", uri, "--drop", "cache:*", NULL});
    assert_int_equal(r.status, 0);
    assert_true(tu_contains(r.out, "would delete 301 keys")); /* cache:0..299 + "cache:new\nline" */
    assert_int_equal(tu_int(c, "DBSIZE"), before);
    conn_close(c);
}

static void test_execute_deletes_exactly(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, 0);
    fill(c);
    long before = tu_int(c, "DBSIZE");
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", uri, "--keep", "session:*", "--execute", "--batch", "64", "--deleted-log", logpath, NULL});
    if (r.status != 0) fail_msg("prune: exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_int_equal(check_remaining(c, is_session), 200);
    for (int i = 0; i < 200; i++) assert_int_equal(tu_int(c, "EXISTS session:%d", i), 1);
    char want[128];
    snprintf(want, sizeof(want), "deleted %ld keys of %ld selected", before - 200, before - 200);
    if (!tu_contains(r.out, want)) fail_msg("expected \"%s\" in:\n%s", want, r.out);
    /* The log lists exactly the deleted names, each once. */
    int total, n;
    char line[256];
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof(line), "cache:%d", i);
        assert_int_equal(log_count(line, &total), 1);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(line, sizeof(line), "misc%d", i);
        assert_int_equal(log_count(line, &total), 1);
    }
    for (int i = 0; i < 4; i++) {
        escape(odd[i], strlen(odd[i]), line);
        n = log_count(line, &total);
        if (n != 1) fail_msg("escaped name \"%s\" found %d times in the log", line, n);
    }
    assert_int_equal(total, before - 200);
    assert_int_equal(log_count("session:1", &total), 0);

    /* A second run appends to the same log; nothing left to delete. */
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", uri, "--keep", "session:*", "--execute", "--deleted-log", logpath, NULL});
    assert_int_equal(r.status, 0);
    assert_true(tu_contains(r.out, "deleted 0 keys"));
    assert_int_equal(log_count("cache:1", &total), 1);
    conn_close(c);
}

static int not_cache_hash(const char *k, size_t len, const char *type) {
    return strcmp(type, "hash") != 0 || !glob_match("cache:*", 7, k, len, 0);
}

static void test_type_narrows(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, 0);
    fill(c);
    tu_ok(c, "HSET session:h f v");
    long before = tu_int(c, "DBSIZE");
    TuRun r;
    /* Several globs and several types: name filter client-side, TYPE asked. */
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", uri, "--drop", "cache:*", "--drop", "nothing*", "--type", "hash,zset", "--execute", "--deleted-log", logpath, NULL});
    if (r.status != 0) fail_msg("prune: exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_int_equal(check_remaining(c, not_cache_hash), before - 50); /* session:h stays: it is not cache:* */
    assert_int_equal(tu_int(c, "EXISTS session:h"), 1);
    int total;
    log_count("", &total);
    assert_int_equal(total, 50);
    conn_close(c);
}

static void test_refuses_the_source(void **state) {
    (void)state;
    Conn *c = tu_connect(&srv, 0);
    fill(c);
    long before = tu_int(c, "DBSIZE");
    char alias[160], src1[160];
    snprintf(alias, sizeof(alias), "redis://localhost:%d/0", srv.port);
    snprintf(src1, sizeof(src1), "redis://127.0.0.1:%d/1", srv.port);
    TuRun r;
    /* The same server under another name, and under another db. */
    const char *sources[] = {uri, src1};
    for (int i = 0; i < 2; i++) {
        tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", alias, "--source", sources[i], "--drop", "*", "--execute", "--deleted-log", logpath, NULL});
        assert_int_equal(r.status, 1);
        assert_true(tu_contains(r.err, "refusing to prune"));
        assert_true(tu_contains(r.err, "run_id"));
        assert_int_equal((int)(strchr(r.err, '\n') - r.err), (int)strlen(r.err) - 1); /* one line */
        assert_int_equal(tu_int(c, "DBSIZE"), before);
    }
    /* Another server as --source: allowed. */
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", alias, "--source", other_uri, "--drop", "misc*", NULL});
    if (r.status != 0) fail_msg("prune: exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "would delete 40 keys"));
    /* An unreachable --source is not waved through. */
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", alias, "--source", "redis://u:hunter2@127.0.0.1:1", "--drop", "misc*", "--connect-timeout", "500", NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "cannot check"));
    assert_false(tu_contains(r.err, "hunter2"));
    assert_int_equal(tu_int(c, "DBSIZE"), before);
    /* Usage. */
    tu_ferry(&r, 30, NULL, (const char *[]){"prune", "--target", alias, "--keep", "a", "--drop", "b", NULL});
    assert_int_equal(r.status, 2);
    conn_close(c);
}

int main(void) {
    const struct CMUnitTest pure[] = {cmocka_unit_test(test_cli)};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_dry_run_deletes_nothing, flush),
        cmocka_unit_test_setup(test_execute_deletes_exactly, flush),
        cmocka_unit_test_setup(test_type_narrows, flush),
        cmocka_unit_test_setup(test_refuses_the_source, flush),
    };
    int rc = cmocka_run_group_tests_name("prune (parser)", pure, NULL, NULL);
    return rc | cmocka_run_group_tests_name("prune", tests, group_setup, group_teardown);
}
