/* Rehearsals and the verify/prune runbook actions against real servers:
 * a rehearsal on a snapshot written by a real redis-server (SAVE) produces
 * a report with every section, durations that are positive and the
 * journal's own, a well-formed SVG, a projection scaled as asked, and
 * leaves no server behind; a failing step is in the report with its
 * reason. A runbook copy → verify → prune on real servers: verify passes
 * after the copy, the typed prune gate never passes without being named,
 * prune then deletes exactly what its rule says (and lists it), never on
 * the source; verify fails on a planted difference. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rehearse.h"
#include "runbook.h"
#include "testutil.h"
#include "util.h"

static Sandbox src, dst;
static char src_uri[128], dst_uri[128];
static char dir[256];
static char snapshot[512];
static long snapshot_keys;

static void path_in(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) buf[0] = '\0';
    fclose(f);
    return buf;
}

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int rc = -1;
    if (in && out) {
        char buf[65536];
        size_t n;
        rc = 0;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            if (fwrite(buf, 1, n, out) != n) rc = -1;
    }
    if (in) fclose(in);
    if (out && fclose(out) != 0) rc = -1;
    return rc;
}

static void fill(Conn *c, const char *prefix, int n) {
    for (int i = 0; i < n; i++) conn_append(c, "SET %s%d value-%d-%0100d", prefix, i, i, i);
    for (int i = 0; i < n; i++) {
        redisReply *r;
        assert_int_equal(conn_get_reply(c, &r), 0);
        if (r->type == REDIS_REPLY_ERROR) fail_msg("%s", r->str);
        freeReplyObject(r);
    }
}

/* A snapshot written by the real server: fill a sandbox, SAVE, keep its dump.rdb. */
static int make_snapshot(void) {
    Sandbox s;
    tu_server_start(&s, NULL);
    Conn *c = tu_connect(&s, 0);
    snapshot_keys = tu_fill_every_type(c, "session:");
    fill(c, "cache:", 3000);
    fill(c, "session:plain:", 1000);
    snapshot_keys += 4000;
    tu_ok(c, "SAVE");
    conn_close(c);
    char rdb[700];
    snprintf(rdb, sizeof(rdb), "%s/dump.rdb", s.dir);
    path_in(snapshot, sizeof(snapshot), "snapshot.rdb");
    int rc = copy_file(rdb, snapshot);
    sandbox_stop(&s);
    return rc;
}

static int group_setup(void **state) {
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ferry-test-rehearse-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    if (make_snapshot() != 0) return -1;
    tu_server_start(&src, NULL);
    tu_server_start(&dst, NULL);
    sandbox_uri(&src, -1, src_uri, sizeof(src_uri));
    sandbox_uri(&dst, -1, dst_uri, sizeof(dst_uri));
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    sandbox_stop(&src);
    sandbox_stop(&dst);
    tu_rm_tree(dir);
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

/* The records of one type (and step) in a journal, as text (static buffer). */
static const char *record(const char *journal, const char *type, const char *step) {
    static char out[65536];
    char *text = read_file(journal);
    char t[64], s[96];
    snprintf(t, sizeof(t), "{\"type\":\"%s\",", type);
    snprintf(s, sizeof(s), "\"step\":\"%s\"", step ? step : "");
    out[0] = '\0';
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, t, strlen(t)) && (!step || strstr(line, s))) util_strlcpy(out, line, sizeof(out));
    free(text);
    return out;
}

static long long figure(const char *rec, const char *name) {
    char k[96];
    snprintf(k, sizeof(k), "\"%s\":", name);
    const char *p = strstr(rec, k);
    if (!p) fail_msg("no %s in %s", name, rec);
    return strtoll(p + strlen(k), NULL, 10);
}

/* ------------------------------------------------------------ SVG check */

/* Well-formed enough to trust: an XML declaration, one <svg> root, every
 * element closed in order, attributes quoted, no raw & or < in text. */
static void assert_svg_well_formed(const char *path) {
    char *x = read_file(path);
    assert_true(!strncmp(x, "<?xml ", 6));
    const char *p = strstr(x, "?>");
    assert_non_null(p);
    p += 2;
    char stack[32][32];
    int depth = 0, roots = 0, polylines = 0;
    while (*p) {
        if (*p != '<') {
            if (*p == '&') {
                const char *semi = strchr(p, ';');
                assert_non_null(semi);
                assert_true(semi - p <= 6);
            }
            if (depth == 0 && *p != '\n' && *p != ' ') fail_msg("text outside the root: %.20s", p);
            p++;
            continue;
        }
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t nl = strcspn(n, " \t\n/>");
        assert_true(nl > 0 && nl < 32);
        char name[32];
        memcpy(name, n, nl);
        name[nl] = '\0';
        const char *q = n + nl;
        int in_quote = 0;
        while (*q && (in_quote || *q != '>')) {
            if (*q == '"') in_quote = !in_quote;
            else if (!in_quote && *q == '<') fail_msg("< inside a tag at %.30s", p);
            q++;
        }
        assert_int_equal(*q, '>');
        int self = q[-1] == '/';
        if (closing) {
            assert_true(depth > 0);
            if (strcmp(stack[depth - 1], name)) fail_msg("</%s> closes <%s>", name, stack[depth - 1]);
            depth--;
        } else {
            if (depth == 0) roots++;
            if (!strcmp(name, "polyline")) polylines++;
            if (!self) {
                assert_true(depth < 32);
                util_strlcpy(stack[depth++], name, sizeof(stack[0]));
            }
        }
        p = q + 1;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(roots, 1);
    assert_true(polylines >= 1);
    assert_true(tu_contains(x, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_true(tu_contains(x, "keys/s"));
    assert_true(tu_contains(x, "<polyline fill=\"none\" stroke=\"#1f77b4\"")); /* the copy, sampled */
    free(x);
    if (system("command -v xmllint >/dev/null 2>&1") == 0) {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
        assert_int_equal(system(cmd), 0);
    }
}

/* ------------------------------------------------------------ rehearse */

static const char rehearse_rb[] =
    "title = Split the sessions out of the cache\n"
    "[step preflight]\naction = preflight\n"
    "[step copy]\naction = copy\ngate = confirm\n"
    "[step verify]\naction = verify\n"
    "[step switch-app]\naction = manual\ninstruction = Point SESSION_URL at the new server\n"
    "[step prune]\naction = prune\nkeep = session:*\ngate = type\n";

/* 1 when something answers on 127.0.0.1:port. */
static int port_answers(int port) {
    Sandbox fake;
    memset(&fake, 0, sizeof(fake));
    fake.port = port;
    char uri[128], err[FERRY_ERR_LEN];
    sandbox_uri(&fake, -1, uri, sizeof(uri));
    ConnConfig cfg;
    conn_config_init(&cfg, "probe");
    cfg.connect_timeout_ms = 500;
    if (uri_parse(uri, &cfg.uri, err, sizeof(err)) != 0) return 0;
    Conn *c = conn_open(&cfg, err, sizeof(err));
    if (c) conn_close(c);
    return c != NULL;
}

/* Children of this process that are redis-servers, other than src and dst. */
static int stray_servers(void) {
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == src.pid || pid == dst.pid) continue;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t k = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[k] = '\0';
        const char *rp = strrchr(buf, ')');
        int ppid = 0;
        char st;
        if (!rp || sscanf(rp + 1, " %c %d", &st, &ppid) != 2) continue;
        if (ppid == getpid() && strstr(buf, "redis-server") && st != 'Z') n++;
    }
    if (d) closedir(d);
    return n;
}

static void test_rehearse_on_a_real_snapshot(void **state) {
    (void)state;
    char rbpath[512], rdir[512], err[FERRY_ERR_LEN];
    path_in(rbpath, sizeof(rbpath), "sessions.runbook");
    path_in(rdir, sizeof(rdir), "reports");
    assert_int_equal(mkdir(rdir, 0700), 0);
    write_file(rbpath, rehearse_rb);
    Runbook *rb = runbook_load(rbpath, err, sizeof(err));
    if (!rb) fail_msg("%s", err);
    RehearseOptions o;
    rehearse_options_init(&o);
    o.rdb_path = snapshot;
    o.rb = rb;
    o.report_dir = rdir;
    o.scale_keys = (uint64_t)snapshot_keys * 10;
    RehearseResult *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    if (rehearse_run(&o, res, err, sizeof(err)) != 0) fail_msg("%s", err);
    assert_int_equal(res->state, RUNNER_DONE);
    assert_int_equal(res->snapshot_keys, (uint64_t)snapshot_keys);
    assert_int_equal(res->nerrors, 0);

    /* Durations: positive, and the journal's. */
    const char *journal = res->journal_path;
    for (int i = 0; i < res->nsteps; i++) {
        const RehearseStep *st = &res->steps[i];
        assert_string_equal(st->outcome, "done");
        long long jd = figure(record(journal, "step", st->id), "duration_ms");
        assert_int_equal(st->duration_ms, jd);
        assert_true(st->start_ms >= 0);
        assert_true(st->start_ms + st->duration_ms <= res->total_ms + 50);
        if (st->manual) assert_int_equal(st->projected_ms, 0);
        else if (!strcmp(st->action, "preflight")) assert_int_equal(st->projected_ms, st->duration_ms);
    }
    const RehearseStep *copy = &res->steps[1], *verify = &res->steps[2], *prune = &res->steps[4];
    assert_string_equal(copy->action, "copy");
    assert_true(copy->duration_ms > 0 && verify->duration_ms > 0 && prune->duration_ms > 0);
    assert_int_equal(copy->keys, (uint64_t)snapshot_keys);
    assert_int_equal(figure(record(journal, "step", "copy"), "keys_copied"), snapshot_keys);
    assert_true(copy->bytes > 0 && copy->keys_per_s > 0 && copy->mb_per_s > 0);
    assert_int_equal(figure(record(journal, "step", "verify"), "missing"), 0);
    assert_int_equal(figure(record(journal, "step", "prune"), "keys_deleted"), 3000);
    assert_int_equal(res->target_keys, (uint64_t)snapshot_keys - 3000);
    /* The projection: data steps × 10, to the millisecond. */
    assert_true(res->factor > 9.99 && res->factor < 10.01);
    assert_int_equal(copy->projected_ms, (int64_t)((double)copy->duration_ms * res->factor + 0.5));
    /* Memory: the peak is above an empty server; the need includes the margin. */
    assert_true(res->target_used_memory_peak > res->target_used_memory_empty);
    assert_true(res->needed_bytes > res->target_used_memory_peak);

    /* The report: every section, the chart referenced, the numbers in it. */
    char *md = read_file(res->report_path);
    static const char *const sections[] = {"# Rehearsal: Split the sessions out of the cache", "## At a glance",
                                           "## Steps", "## Throughput", "## Target memory",
                                           "## Projected window timeline (production)",
                                           "## Manual steps (timed as zero)", "## Errors and warnings", "## Files"};
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (!tu_contains(md, sections[i])) fail_msg("no \"%s\" in the report:\n%s", sections[i], md);
    const char *svg_name = strrchr(res->svg_path, '/') + 1;
    char ref[600];
    snprintf(ref, sizeof(ref), "](%s)", svg_name);
    assert_true(tu_contains(md, ref));
    assert_true(tu_contains(md, "`switch-app`: Point SESSION_URL at the new server"));
    assert_true(tu_contains(md, "| 2 | `copy` | copy | done |"));
    assert_true(tu_contains(md, "Production has"));
    assert_true(tu_contains(md, "**every step done**"));
    free(md);
    assert_svg_well_formed(res->svg_path);

    /* The throwaway servers are gone: their ports are closed, no child is left. */
    const char *run = record(journal, "run", NULL);
    const char *p = strstr(run, "redis://127.0.0.1:");
    assert_non_null(p);
    int sport = atoi(p + strlen("redis://127.0.0.1:"));
    p = strstr(p + 1, "redis://127.0.0.1:");
    assert_non_null(p);
    int tport = atoi(p + strlen("redis://127.0.0.1:"));
    assert_true(sport > 0 && tport > 0);
    assert_false(port_answers(sport));
    assert_false(port_answers(tport));
    assert_int_equal(stray_servers(), 0);
    free(res);
    runbook_free(rb);
}

static void test_rehearse_reports_a_failing_step(void **state) {
    (void)state;
    char rbpath[512], rdir[512];
    path_in(rbpath, sizeof(rbpath), "failing.runbook");
    path_in(rdir, sizeof(rdir), "failing");
    assert_int_equal(mkdir(rdir, 0700), 0);
    write_file(rbpath, "[step copy]\naction = copy\n"
                       "[step prune-far]\naction = prune\ndrop = cache:*\ndb = 999\ngate = type\n"
                       "[step after]\naction = verify-counts\n");
    TuRun r;
    tu_ferry(&r, 60, NULL, (const char *[]){"rehearse", "--rdb", snapshot, rbpath, "--report-dir", rdir,
                                            "--scale-bytes", "2GiB", NULL});
    if (r.status != 1) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.out, "report: "));
    const char *rp = strstr(r.out, "report: ") + 8;
    char path[1024];
    size_t n = strcspn(rp, "\n");
    assert_true(n < sizeof(path));
    memcpy(path, rp, n);
    path[n] = '\0';
    char *md = read_file(path);
    assert_true(tu_contains(md, "**FAILED**"));
    assert_true(tu_contains(md, "| 2 | `prune-far` | prune | failed |"));
    assert_true(tu_contains(md, "- prune-far: "));       /* the reason, in the errors section */
    assert_true(tu_contains(md, "| 3 | `after` | verify-counts | not run |"));
    assert_true(tu_contains(md, "Production holds 2.00 GiB"));
    free(md);
    /* Usage mistakes are exit 2, with the next step. */
    tu_ferry(&r, 10, NULL, (const char *[]){"rehearse", rbpath, NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "--rdb"));
    tu_ferry(&r, 10, NULL, (const char *[]){"rehearse", "--rdb", snapshot, rbpath, "--target", dst_uri, NULL});
    assert_int_equal(r.status, 2);
    assert_true(tu_contains(r.err, "throwaway local servers only"));
}

/* ------------------------------------------------------------ verify + prune actions */

static const char split_rb[] =
    "[step copy]\naction = copy\n"
    "[step verify]\naction = verify\n"
    "[step prune]\naction = prune\nkeep = session:*\ngate = type\n";

static void test_copy_verify_prune_runbook(void **state) {
    (void)state;
    Conn *a = tu_connect(&src, 0), *b = tu_connect(&dst, 0);
    long sessions = tu_fill_every_type(a, "session:");
    fill(a, "cache:", 300);
    long total = sessions + 300;
    char rbpath[512], journal[512];
    path_in(rbpath, sizeof(rbpath), "split.runbook");
    path_in(journal, sizeof(journal), "split.jsonl");
    write_file(rbpath, split_rb);
    TuRun r;
    /* --confirm-all never passes the typed prune gate: blocked after verify. */
    tu_ferry(&r, 60, NULL, (const char *[]){"run", rbpath, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--confirm-all", "--journal", journal, NULL});
    if (r.status != 1) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_true(tu_contains(r.err, "step prune needs its typed confirmation"));
    const char *v = record(journal, "step", "verify");
    assert_true(tu_contains(v, "\"outcome\":\"done\""));
    assert_int_equal(figure(v, "matching"), total);
    assert_int_equal(figure(v, "missing"), 0);
    assert_int_equal(figure(v, "extra"), 0);
    assert_int_equal(figure(v, "different"), 0);
    assert_int_equal(figure(v, "ttl_drift"), 0);
    assert_int_equal(tu_int(b, "DBSIZE"), total); /* nothing pruned */
    assert_string_equal(record(journal, "start", "prune"), "");
    /* Named: prune runs and deletes exactly the cache keys. */
    tu_ferry(&r, 60, NULL, (const char *[]){"run", rbpath, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--confirm", "prune", "--resume", journal, NULL});
    if (r.status != 0) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    const char *pr = record(journal, "step", "prune");
    assert_int_equal(figure(pr, "keys_deleted"), 300);
    assert_int_equal(tu_int(b, "DBSIZE"), sessions);
    redisReply *k = tu_cmd(b, "KEYS cache:*");
    assert_int_equal(k->elements, 0);
    freeReplyObject(k);
    assert_int_equal(tu_int(a, "DBSIZE"), total); /* the source is untouched */
    /* The deleted-log, named in the journal, lists exactly the names deleted. */
    const char *lp = strstr(pr, "deleted names: ");
    assert_non_null(lp);
    lp += strlen("deleted names: ");
    char logpath[1024];
    size_t n = strcspn(lp, "\"");
    memcpy(logpath, lp, n);
    logpath[n] = '\0';
    char *log = read_file(logpath);
    int names = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        if (strncmp(line, "cache:", 6)) fail_msg("%s in the deleted-log", line);
        names++;
    }
    assert_int_equal(names, 300);
    free(log);
    /* What remains on the target is the source's sessions, key by key. */
    tu_ok(a, "EVAL %s 0", "for _,k in ipairs(redis.call('keys','cache:*')) do redis.call('del',k) end");
    tu_assert_same_keyspace(a, 0, b, 0);

    /* verify fails on a difference, naming it. */
    tu_ok(b, "SET session:planted extra");
    char vrb[512], vj[512];
    path_in(vrb, sizeof(vrb), "verify.runbook");
    path_in(vj, sizeof(vj), "verify.jsonl");
    write_file(vrb, "[step verify]\naction = verify\nsample = 1000\n");
    tu_ferry(&r, 60, NULL, (const char *[]){"run", vrb, "--source", src_uri, "--target", dst_uri, "--no-tui",
                                            "--journal", vj, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "1 extra"));
    assert_int_equal(figure(record(vj, "step", "verify"), "extra"), 1);
    conn_close(a);
    conn_close(b);
}

static void test_prune_gate_and_source_guard(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    /* A deleting prune needs a type gate; a dry run does not. */
    const char *bad = "[step prune]\naction = prune\ndrop = cache:*\ngate = confirm\n";
    Runbook *rb = runbook_parse(bad, strlen(bad), "bad", err, sizeof(err));
    assert_null(rb);
    assert_true(tu_contains(err, "type"));
    const char *dry = "[step look]\naction = prune\ndrop = cache:*\ndry-run = yes\n";
    rb = runbook_parse(dry, strlen(dry), "dry", err, sizeof(err));
    if (!rb) fail_msg("%s", err);
    runbook_free(rb);
    const char *both = "[step p]\naction = prune\ndrop = a:*\nkeep = b:*\ngate = type\n";
    assert_null(runbook_parse(both, strlen(both), "both", err, sizeof(err)));
    assert_true(tu_contains(err, "both:3:"));

    /* Never the source, even under another db. */
    Conn *a = tu_connect(&src, 1);
    fill(a, "cache:", 20);
    char rbpath[512], j[512], s1[160];
    path_in(rbpath, sizeof(rbpath), "self.runbook");
    path_in(j, sizeof(j), "self.jsonl");
    write_file(rbpath, "[step prune]\naction = prune\ndrop = cache:*\ngate = type\n");
    sandbox_uri(&src, 1, s1, sizeof(s1));
    char src0[160];
    sandbox_uri(&src, 0, src0, sizeof(src0));
    TuRun r;
    tu_ferry(&r, 30, NULL, (const char *[]){"run", rbpath, "--source", src0, "--target", s1, "--no-tui",
                                            "--confirm", "prune", "--journal", j, NULL});
    assert_int_equal(r.status, 1);
    assert_true(tu_contains(r.err, "it is the source server"));
    assert_int_equal(tu_int(a, "DBSIZE"), 20);
    /* A dry run deletes nothing and needs no typed gate. */
    write_file(rbpath, "[step look]\naction = prune\ndrop = cache:*\ndry-run = yes\n");
    char j2[512], t1[160];
    path_in(j2, sizeof(j2), "dry.jsonl");
    sandbox_uri(&dst, 1, t1, sizeof(t1));
    Conn *b = tu_connect(&dst, 1);
    fill(b, "cache:", 15);
    tu_ferry(&r, 30, NULL, (const char *[]){"run", rbpath, "--source", src0, "--target", t1, "--no-tui",
                                            "--journal", j2, NULL});
    if (r.status != 0) fail_msg("exit %d\n%s\n%s", r.status, r.out, r.err);
    assert_int_equal(figure(record(j2, "step", "look"), "keys_would_delete"), 15);
    assert_int_equal(tu_int(b, "DBSIZE"), 15);
    conn_close(a);
    conn_close(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rehearse_on_a_real_snapshot),
        cmocka_unit_test(test_rehearse_reports_a_failing_step),
        cmocka_unit_test_setup(test_copy_verify_prune_runbook, flush_both),
        cmocka_unit_test_setup(test_prune_gate_and_source_guard, flush_both),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
