/* Preflight against real servers dressed up as the field meets them: a
 * managed-style target with CONFIG, MIGRATE, REPLICAOF, SLAVEOF, SYNC,
 * PSYNC and DEBUG renamed away; a target too small for the data with an
 * evicting policy; a cluster-mode target; a replica; ACL users missing a
 * permission; the same server twice; a server that is not there. Each is
 * one line with the right level, reason and fix; nothing is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "preflight.h"
#include "testutil.h"
#include "util.h"

static Sandbox src, plain, managed, tiny, cluster;

static int group_setup(void **state) {
    (void)state;
    tu_server_start(&src, NULL);
    tu_server_start(&plain, NULL);
    tu_server_start(&managed, (const char *[]){"--rename-command", "CONFIG", "", "--rename-command", "MIGRATE", "",
                                               "--rename-command", "REPLICAOF", "", "--rename-command", "SLAVEOF", "",
                                               "--rename-command", "SYNC", "", "--rename-command", "PSYNC", "",
                                               "--rename-command", "DEBUG", "", NULL});
    tu_server_start(&tiny, (const char *[]){"--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru", NULL});
    /* cluster-config-file is relative to the server's own --dir; the bus
     * port is given because port + 10000 may be out of range. */
    char bus[16];
    snprintf(bus, sizeof(bus), "%d", sandbox_free_port());
    tu_server_start(&cluster, (const char *[]){"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                               "--cluster-port", bus, NULL});
    Conn *a = tu_connect(&src, 1);
    char val[201];
    memset(val, 'v', 200);
    val[200] = '\0';
    for (int i = 0; i < 20000; i++) conn_append(a, "SET big:%d %s", i, val);
    for (int i = 0; i < 20000; i++) {
        redisReply *r;
        assert_int_equal(conn_get_reply(a, &r), 0);
        freeReplyObject(r);
    }
    tu_ok(a, "SELECT 0");
    tu_ok(a, "SET other 1");
    conn_close(a);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&plain);
    sandbox_stop(&managed);
    sandbox_stop(&tiny);
    sandbox_stop(&cluster);
    return 0;
}

static void opts(CopyOptions *o, const Sandbox *s, int sdb, const Sandbox *t, int tdb) {
    char u[128], err[FERRY_ERR_LEN];
    copy_options_init(o);
    sandbox_uri(s, sdb, u, sizeof(u));
    assert_int_equal(uri_parse(u, &o->source.uri, err, sizeof(err)), 0);
    sandbox_uri(t, tdb, u, sizeof(u));
    assert_int_equal(uri_parse(u, &o->target.uri, err, sizeof(err)), 0);
    o->source.connect_timeout_ms = o->target.connect_timeout_ms = 1000;
}

static void run(const CopyOptions *o, const PreflightPlan *plan, int accept_eviction, PreflightReport *rep) {
    PreflightOptions po;
    char err[FERRY_ERR_LEN];
    preflight_options_init(&po, o);
    po.accept_eviction = accept_eviction;
    if (preflight_run(&po, plan, rep, err, sizeof(err)) != 0) fail_msg("preflight_run: %s", err);
}

static void dump(const PreflightReport *r) {
    for (int i = 0; i < r->n; i++)
        fprintf(stderr, "  %s %s: %s | %s\n", preflight_level_name(r->lines[i].level), r->lines[i].check,
                r->lines[i].reason, r->lines[i].fix);
}

/* The line at this level whose check and reason contain the needles. */
static const PreflightLine *find(const PreflightReport *r, PreflightLevel lvl, const char *check, const char *needle) {
    for (int i = 0; i < r->n; i++) {
        const PreflightLine *l = &r->lines[i];
        if (l->level == lvl && strstr(l->check, check) && strstr(l->reason, needle)) return l;
    }
    dump(r);
    fail_msg("no %s line \"%s\" … \"%s\"", preflight_level_name(lvl), check, needle);
    return NULL;
}

static int has_level(const PreflightReport *r, PreflightLevel lvl, const char *check) {
    for (int i = 0; i < r->n; i++)
        if (r->lines[i].level == lvl && strstr(r->lines[i].check, check)) return 1;
    return 0;
}

static void plan_of(PreflightPlan *p, const char *const *actions) {
    preflight_plan_init(p);
    for (int i = 0; actions[i]; i++) {
        RunbookStep st;
        memset(&st, 0, sizeof(st));
        st.action = actions_find(actions[i]);
        assert_non_null(st.action);
        if (st.action->needs) st.action->needs(&st, p);
    }
}

static void test_all_clear(void **state) {
    (void)state;
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    opts(&o, &src, 1, &plain, 0);
    plan_of(&p, (const char *const[]){"copy", "verify-counts", "pause-writes", "unpause", NULL});
    run(&o, &p, 0, &r);
    if (r.nfail || r.nwarn) {
        dump(&r);
        fail_msg("a plain pair of servers has %d fail, %d warn", r.nfail, r.nwarn);
    }
    find(&r, PF_PASS, "source", "reachable, authenticated as default");
    find(&r, PF_PASS, "versions", "RESTORE accepts the source's payloads");
    find(&r, PF_PASS, "source commands", "SCAN, DUMP, PEXPIRETIME");
    find(&r, PF_PASS, "source commands", "CLIENT PAUSE, CLIENT UNPAUSE");
    find(&r, PF_PASS, "source commands", "ACL DRYRUN: allowed");
    find(&r, PF_PASS, "target commands", "RESTORE");
    find(&r, PF_PASS, "target eviction", "noeviction");
    find(&r, PF_PASS, "keys", "source db 1: 20000 keys");
    const PreflightLine *m = find(&r, PF_PASS, "target memory", "MEMORY USAGE of a sample");
    (void)m;
    preflight_report_free(&r);
    copy_options_free(&o);
}

static void test_managed_service_target(void **state) {
    (void)state;
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    opts(&o, &src, 1, &managed, 0);
    plan_of(&p, (const char *const[]){"copy", "verify-counts", NULL});
    run(&o, &p, 0, &r);
    /* A copy does not need what the provider disabled: said, not failed. */
    assert_int_equal(r.nfail, 0);
    const PreflightLine *l = find(&r, PF_INFO, "target commands", "target disables");
    assert_non_null(strstr(l->reason, "CONFIG, DEBUG, MIGRATE, REPLICAOF, SLAVEOF, SYNC, PSYNC"));
    assert_null(strstr(l->reason, "DUMP"));
    assert_null(strstr(l->reason, "RESTORE"));
    assert_false(has_level(&r, PF_INFO, "source commands")); /* the source disables nothing */
    preflight_report_free(&r);

    /* A plan whose manual step runs REPLICAOF on the target fails here. */
    char err[FERRY_ERR_LEN];
    static const char text[] = "[step follow]\naction = manual\nneeds = target:replicaof, target:config|set\n";
    Runbook *rb = runbook_parse(text, strlen(text), "t", err, sizeof(err));
    if (!rb) fail_msg("%s", err);
    actions_plan(rb, &p);
    run(&o, &p, 0, &r);
    l = find(&r, PF_FAIL, "target commands", "does not offer REPLICAOF");
    assert_non_null(strstr(l->reason, "managed services"));
    assert_non_null(strstr(l->fix, "allow REPLICAOF"));
    find(&r, PF_FAIL, "target commands", "does not offer CONFIG SET");
    preflight_report_free(&r);
    runbook_free(rb);
    copy_options_free(&o);
}

static void test_disabled_commands_the_plan_needs(void **state) {
    (void)state;
    Sandbox s2, t2;
    tu_server_start(&s2, (const char *[]){"--rename-command", "CLIENT", "", "--rename-command", "DUMP", "renamed-dump", NULL});
    tu_server_start(&t2, (const char *[]){"--rename-command", "RESTORE", "", NULL});
    Conn *c = tu_connect(&s2, 0);
    tu_ok(c, "SET k v");
    conn_close(c);
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    opts(&o, &s2, 0, &t2, 0);
    plan_of(&p, (const char *const[]){"copy", "pause-writes", NULL});
    run(&o, &p, 0, &r);
    find(&r, PF_FAIL, "source commands", "does not offer DUMP");
    find(&r, PF_FAIL, "source commands", "does not offer CLIENT PAUSE");
    const PreflightLine *l = find(&r, PF_FAIL, "target commands", "does not offer RESTORE");
    assert_non_null(strstr(l->reason, "the copy step needs it"));
    preflight_report_free(&r);
    copy_options_free(&o);
    sandbox_stop(&s2);
    sandbox_stop(&t2);
}

static void test_acl_permissions(void **state) {
    (void)state;
    Sandbox t;
    tu_server_start(&t, NULL);
    Conn *c = tu_connect(&t, -1);
    tu_ok(c, "ACL SETUSER mover on >mover-pw ~* &* +@all -restore");
    tu_ok(c, "ACL SETUSER plainuser on >plain-pw ~* &* +@all -acl");
    conn_close(c);
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    char u[160], err[FERRY_ERR_LEN];
    opts(&o, &src, 1, &t, 0);
    snprintf(u, sizeof(u), "redis://mover@127.0.0.1:%d/0", t.port);
    assert_int_equal(uri_parse(u, &o.target.uri, err, sizeof(err)), 0);
    util_strlcpy(o.target.uri.password, "mover-pw", sizeof(o.target.uri.password));
    o.target.uri.has_password = 1;
    plan_of(&p, (const char *const[]){"copy", NULL});
    run(&o, &p, 0, &r);
    const PreflightLine *l = find(&r, PF_FAIL, "target commands", "user mover may not run RESTORE");
    assert_non_null(strstr(l->fix, "ACL SETUSER mover +restore"));
    find(&r, PF_PASS, "target", "authenticated as mover");
    for (int i = 0; i < r.n; i++) {
        assert_null(strstr(r.lines[i].reason, "mover-pw"));
        assert_null(strstr(r.lines[i].fix, "mover-pw"));
    }
    preflight_report_free(&r);
    /* A user who may not use ACL DRYRUN: said once, not a failure. */
    snprintf(u, sizeof(u), "redis://plainuser@127.0.0.1:%d/0", t.port);
    assert_int_equal(uri_parse(u, &o.target.uri, err, sizeof(err)), 0);
    util_strlcpy(o.target.uri.password, "plain-pw", sizeof(o.target.uri.password));
    o.target.uri.has_password = 1;
    run(&o, &p, 0, &r);
    assert_int_equal(r.nfail, 0);
    find(&r, PF_INFO, "target commands", "permissions not checked");
    find(&r, PF_PASS, "target commands", "RESTORE");
    preflight_report_free(&r);
    /* A wrong password: a fail line with the fix, the password never shown. */
    util_strlcpy(o.target.uri.password, "wrong-guess-77", sizeof(o.target.uri.password));
    run(&o, &p, 0, &r);
    l = find(&r, PF_FAIL, "target", "");
    assert_non_null(strstr(l->fix, "FERRY_TARGET_PASSWORD"));
    for (int i = 0; i < r.n; i++) assert_null(strstr(r.lines[i].reason, "wrong-guess-77"));
    preflight_report_free(&r);
    copy_options_free(&o);
    sandbox_stop(&t);
}

static void test_tiny_evicting_target(void **state) {
    (void)state;
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    opts(&o, &src, 1, &tiny, 0);
    plan_of(&p, (const char *const[]){"copy", NULL});
    run(&o, &p, 0, &r);
    const PreflightLine *l = find(&r, PF_FAIL, "target eviction", "allkeys-lru");
    assert_non_null(strstr(l->reason, "evicts keys"));
    assert_non_null(strstr(l->fix, "noeviction"));
    assert_non_null(strstr(l->fix, "--accept-eviction"));
    l = find(&r, PF_FAIL, "target memory", "maxmemory 2.0 MiB");
    assert_non_null(strstr(l->fix, "raise the target's maxmemory to at least"));
    preflight_report_free(&r);
    /* Acknowledged: the eviction line becomes a warning; memory still fails. */
    run(&o, &p, 1, &r);
    find(&r, PF_WARN, "target eviction", "accepted with --accept-eviction");
    find(&r, PF_FAIL, "target memory", "");
    preflight_report_free(&r);
    /* A filter that selects few keys fits. */
    filter_add_include(&o.filter, "big:1?", NULL, 0);
    run(&o, &p, 1, &r);
    find(&r, PF_PASS, "target memory", "");
    preflight_report_free(&r);
    copy_options_free(&o);
}

static void test_cluster_target(void **state) {
    (void)state;
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    char err[FERRY_ERR_LEN];
    opts(&o, &src, -1, &cluster, -1);
    assert_int_equal(dbmap_parse(&o.dbmap, "1:5", err, sizeof(err)), 0);
    plan_of(&p, (const char *const[]){"copy", NULL});
    run(&o, &p, 0, &r);
    const PreflightLine *l = find(&r, PF_FAIL, "cluster", "only db 0 exists, but the plan writes to db 5");
    assert_non_null(strstr(l->fix, "db-map = 1:0"));
    preflight_report_free(&r);
    /* Mapped to db 0 it is the engine's limit that is reported. */
    dbmap_init(&o.dbmap);
    assert_int_equal(dbmap_parse(&o.dbmap, "1:0", err, sizeof(err)), 0);
    run(&o, &p, 0, &r);
    assert_false(strstr(find(&r, PF_FAIL, "cluster", "cluster node")->reason, "only db 0") != NULL);
    preflight_report_free(&r);
    copy_options_free(&o);
}

static void test_same_server_replica_and_keys(void **state) {
    (void)state;
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    plan_of(&p, (const char *const[]){"copy", NULL});
    /* The same server under another name, same db. */
    opts(&o, &src, 1, &src, 1);
    char u[128], err[FERRY_ERR_LEN];
    snprintf(u, sizeof(u), "redis://localhost:%d/1", src.port);
    assert_int_equal(uri_parse(u, &o.target.uri, err, sizeof(err)), 0);
    run(&o, &p, 0, &r);
    find(&r, PF_FAIL, "same server", "same server (run_id");
    preflight_report_free(&r);
    copy_options_free(&o);
    /* Same server, another db: a split, fine. */
    opts(&o, &src, 1, &src, 4);
    run(&o, &p, 0, &r);
    find(&r, PF_INFO, "same server", "different dbs");
    assert_false(has_level(&r, PF_FAIL, "same server"));
    preflight_report_free(&r);
    copy_options_free(&o);

    /* A target db that holds keys, with and without a policy. */
    Conn *t = tu_connect(&plain, 2);
    tu_ok(t, "SET there 1");
    opts(&o, &src, 1, &plain, 2);
    run(&o, &p, 0, &r);
    const PreflightLine *l = find(&r, PF_FAIL, "keys", "already holds 1 keys and no on-conflict policy");
    assert_non_null(strstr(l->fix, "flush-target"));
    preflight_report_free(&r);
    o.on_conflict = CONFLICT_SKIP;
    o.on_conflict_explicit = 1;
    run(&o, &p, 0, &r);
    find(&r, PF_INFO, "keys", "on-conflict skip decides");
    preflight_report_free(&r);
    /* An empty source db: probably the wrong number. */
    copy_options_free(&o);
    opts(&o, &src, 7, &plain, 0);
    run(&o, &p, 0, &r);
    find(&r, PF_WARN, "keys", "source db 7 is empty");
    preflight_report_free(&r);
    copy_options_free(&o);
    tu_ok(t, "FLUSHDB");
    conn_close(t);

    /* A replica as target refuses writes. */
    Sandbox rep;
    char port[16];
    snprintf(port, sizeof(port), "%d", src.port);
    tu_server_start(&rep, (const char *[]){"--replicaof", "127.0.0.1", port, NULL});
    opts(&o, &src, 1, &rep, 0);
    run(&o, &p, 0, &r);
    find(&r, PF_FAIL, "target role", "is a replica");
    preflight_report_free(&r);
    copy_options_free(&o);
    sandbox_stop(&rep);
}

static void test_unreachable(void **state) {
    (void)state;
    CopyOptions o;
    PreflightPlan p;
    PreflightReport r;
    char u[128], err[FERRY_ERR_LEN];
    opts(&o, &src, 1, &plain, 0);
    int port = sandbox_free_port();
    snprintf(u, sizeof(u), "redis://127.0.0.1:%d/0", port);
    assert_int_equal(uri_parse(u, &o.target.uri, err, sizeof(err)), 0);
    snprintf(u, sizeof(u), "127.0.0.1:%d", port);
    plan_of(&p, (const char *const[]){"copy", NULL});
    int64_t t0 = util_mono_ms();
    run(&o, &p, 0, &r);
    assert_true(util_mono_ms() - t0 < 5000);
    const PreflightLine *l = find(&r, PF_FAIL, "target", u);
    assert_non_null(strstr(l->fix, "check the address"));
    assert_int_equal(r.nfail, 1); /* the rest of the target's checks are not guessed */
    find(&r, PF_PASS, "source commands", "DUMP");
    preflight_report_free(&r);
    copy_options_free(&o);
}

/* The binary: the table, the fixes, exit codes 0 (warnings only) and 1. */
static void test_command_line(void **state) {
    (void)state;
    char s1[128], t0[128], m0[128];
    sandbox_uri(&src, 1, s1, sizeof(s1));
    sandbox_uri(&tiny, 0, t0, sizeof(t0));
    sandbox_uri(&managed, 0, m0, sizeof(m0));
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"preflight", "--source", s1, "--target", t0, NULL});
    if (r.status != 1) fail_msg("exit %d\n%s%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "FAIL  target eviction"));
    assert_true(tu_contains(r.out, "fix: set maxmemory-policy noeviction"));
    assert_true(tu_contains(r.out, "NOT ready"));
    tu_ferry(&r, 30, NULL, (const char *[]){"preflight", "--source", s1, "--target", m0, "--json", NULL});
    if (r.status != 0) fail_msg("exit %d\n%s%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "\"level\":\"info\",\"check\":\"target commands\""));
    assert_true(tu_contains(r.out, "\"type\":\"summary\""));
    /* A warning does not fail the check: the eviction risk acknowledged, few keys. */
    char s0[128];
    sandbox_uri(&src, 0, s0, sizeof(s0));
    tu_ferry(&r, 30, NULL, (const char *[]){"preflight", "--source", s0, "--target", t0, "--accept-eviction", NULL});
    if (r.status != 0) fail_msg("exit %d\n%s%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "warn  target eviction"));
    assert_true(tu_contains(r.out, "ready; read the warnings (exit 0)"));
    tu_ferry(&r, 10, NULL, (const char *[]){"preflight", "--source", s0, "--target", t0, "--actions", "copy,frob", NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "unknown action frob"));
    tu_ferry(&r, 10, NULL, (const char *[]){"preflight", "--target", t0, NULL});
    assert_int_equal(r.status, 2);
    /* Nothing was written anywhere. */
    Conn *c = tu_connect(&tiny, -1);
    redisReply *x = tu_cmd(c, "INFO keyspace");
    assert_false(strstr(x->str, "keys="));
    freeReplyObject(x);
    conn_close(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_clear),
        cmocka_unit_test(test_managed_service_target),
        cmocka_unit_test(test_disabled_commands_the_plan_needs),
        cmocka_unit_test(test_acl_permissions),
        cmocka_unit_test(test_tiny_evicting_target),
        cmocka_unit_test(test_cluster_target),
        cmocka_unit_test(test_same_server_replica_and_keys),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_command_line),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
