/* test_journal — the run journal: records written as one JSON line each
 * (escaping round-trips), read back into a resume point and the last copy
 * checkpoint; a torn last line (kill -9 mid-write) is tolerated, damage in
 * the middle is not; concurrent writers never interleave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "util.h"

static char path[64];

static int setup(void **state) {
    (void)state;
    snprintf(path, sizeof(path), "/tmp/ferry-test-journal-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    unlink(path); /* journal_open creates it */
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

static void append_raw(const char *text) {
    FILE *f = fopen(path, "a");
    fputs(text, f);
    fclose(f);
}

static void write_run(Journal *j, const char *run, int attempt, const char *const *steps, int n) {
    char err[FERRY_ERR_LEN];
    JRec r;
    jrec_begin(&r, "run", run);
    jrec_int(&r, "attempt", attempt);
    jrec_str(&r, "runbook", "runbooks/db-split \"quoted\" é");
    jrec_str(&r, "source", "redis://10.0.0.7:6379");
    jrec_str(&r, "target", "redis://mover@10.0.0.8:6380");
    jrec_arr_begin(&r, "steps");
    for (int i = 0; i < n; i++) jrec_item(&r, steps[i]);
    jrec_end(&r);
    assert_int_equal(journal_write(j, &r, err, sizeof(err)), 0);
}

static void write_step(Journal *j, const char *type, const char *step, const char *outcome, int continued) {
    char err[FERRY_ERR_LEN];
    JRec r;
    jrec_begin(&r, type, "run-1");
    jrec_str(&r, "step", step);
    if (outcome) jrec_str(&r, "outcome", outcome);
    if (continued) jrec_bool(&r, "continued", 1);
    jrec_obj_begin(&r, "figures");
    jrec_int(&r, "keys", 12);
    jrec_obj_begin(&r, "nested");
    jrec_int(&r, "deep", -3);
    jrec_end(&r);
    jrec_end(&r);
    jrec_arr_begin(&r, "log");
    jrec_item(&r, "line with \"quotes\", a \\ backslash,\na newline and \x01 a control byte");
    jrec_end(&r);
    assert_int_equal(journal_write(j, &r, err, sizeof(err)), 0);
}

static void write_checkpoint(Journal *j, const char *step, uint64_t cursor, uint64_t copied) {
    char err[FERRY_ERR_LEN];
    JRec r;
    jrec_begin(&r, "checkpoint", "run-1");
    jrec_str(&r, "step", step);
    jrec_int(&r, "db_index", 1);
    jrec_int(&r, "src_db", 3);
    jrec_int(&r, "dst_db", 0);
    jrec_u64(&r, "cursor", cursor);
    jrec_u64(&r, "copied", copied);
    jrec_u64(&r, "skipped", 2);
    jrec_u64(&r, "identical", 3);
    jrec_u64(&r, "expired", 4);
    jrec_u64(&r, "failed", 5);
    jrec_u64(&r, "bytes", 6);
    assert_int_equal(journal_write(j, &r, err, sizeof(err)), 0);
}

static const char *const steps[] = {"preflight", "wipe", "copy", "verify", "switch"};

static void test_write_and_read(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Journal *j = journal_open(path, err, sizeof(err));
    assert_non_null(j);
    assert_string_equal(journal_path(j), path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* the journal is the operator's */
    write_run(j, "run-1", 1, steps, 5);
    write_step(j, "start", "preflight", NULL, 0);
    write_step(j, "step", "preflight", "done", 0);
    write_step(j, "gate", "wipe", NULL, 0);
    write_step(j, "start", "wipe", NULL, 0);
    write_step(j, "step", "wipe", "done", 0);
    write_step(j, "start", "copy", NULL, 0);
    write_checkpoint(j, "copy", 1234, 100);
    write_checkpoint(j, "copy", UINT64_MAX, 200);
    journal_close(j);

    /* Every line is one JSON object; the control byte and newline are escaped. */
    FILE *f = fopen(path, "r");
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof(line), f)) {
        lines++;
        assert_true(line[0] == '{');
        assert_non_null(strstr(line, "}\n"));
        assert_null(strchr(line, '\x01'));
    }
    fclose(f);
    assert_int_equal(lines, 9);

    JournalState js;
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_string_equal(js.run_id, "run-1");
    assert_int_equal(js.attempts, 1);
    assert_string_equal(js.runbook, "runbooks/db-split \"quoted\" é");
    assert_string_equal(js.target, "redis://mover@10.0.0.8:6380");
    assert_int_equal(js.nsteps, 5);
    assert_string_equal(js.steps[4].id, "switch");
    assert_int_equal(js.records, 9);
    assert_int_equal(js.torn, 0);
    assert_int_equal(js.steps[0].outcome, JSTEP_DONE);
    assert_int_equal(js.steps[1].outcome, JSTEP_DONE);
    assert_int_equal(js.steps[2].outcome, JSTEP_STARTED);
    assert_true(js.steps[2].started);
    assert_int_equal(js.steps[3].outcome, JSTEP_NONE);
    assert_int_equal(js.resume_index, 2);
    assert_int_equal(js.last_checkpoint_step, 2);
    assert_true(js.steps[2].has_checkpoint);
    const CopyCheckpoint *cp = &js.steps[2].checkpoint;
    assert_true(cp->cursor == UINT64_MAX); /* exact, not through a double */
    assert_int_equal(cp->copied, 200);
    assert_int_equal(cp->db_index, 1);
    assert_int_equal(cp->src_db, 3);
    assert_int_equal(cp->dst_db, 0);
    assert_int_equal(cp->skipped, 2);
    assert_int_equal(cp->identical, 3);
    assert_int_equal(cp->expired, 4);
    assert_int_equal(cp->failed, 5);
    assert_int_equal(cp->bytes, 6);
    assert_false(js.steps[1].has_checkpoint);
    assert_string_equal(js.end_outcome, "");
    assert_int_equal(journal_step_index(&js, "verify"), 3);
    assert_int_equal(journal_step_index(&js, "nope"), -1);
}

static void test_torn_last_line_and_resume(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Journal *j = journal_open(path, err, sizeof(err));
    write_run(j, "run-1", 1, steps, 5);
    write_step(j, "step", "preflight", "done", 0);
    write_step(j, "start", "wipe", NULL, 0);
    journal_close(j);
    /* kill -9 in the middle of a record. */
    append_raw("{\"type\":\"step\",\"run\":\"run-1\",\"step\":\"wi");
    JournalState js;
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_int_equal(js.torn, 1);
    assert_int_equal(js.records, 3);
    assert_int_equal(js.resume_index, 1);

    /* The resumed attempt starts on a clean line and appends. */
    j = journal_open(path, err, sizeof(err));
    assert_non_null(j);
    write_run(j, "run-1", 2, steps, 5);
    write_step(j, "start", "wipe", NULL, 0);
    write_step(j, "step", "wipe", "done", 0);
    journal_close(j);
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_int_equal(js.torn, 1);
    assert_int_equal(js.attempts, 2);
    assert_int_equal(js.resume_index, 2);
    /* And a torn line again at the very end. */
    append_raw("{\"type\":\"checkpoint\",\"run\":\"run-1\",\"step\":\"copy\",\"cursor\":12");
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_int_equal(js.torn, 2);
    assert_false(js.steps[2].has_checkpoint);
}

static void test_damage_in_the_middle(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Journal *j = journal_open(path, err, sizeof(err));
    write_run(j, "run-1", 1, steps, 5);
    journal_close(j);
    append_raw("this line was edited by hand\n");
    j = journal_open(path, err, sizeof(err));
    write_step(j, "step", "preflight", "done", 0);
    journal_close(j);
    JournalState js;
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), -1);
    char want[128];
    snprintf(want, sizeof(want), "%s:2: unreadable line", path);
    assert_non_null(strstr(err, want));
}

static void test_two_torn_lines(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Journal *j = journal_open(path, err, sizeof(err));
    write_run(j, "run-1", 1, steps, 5);
    journal_close(j);
    append_raw("{\"type\":\"st\n{\"type\n");
    JournalState js;
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: unreadable line"));
}

static void test_not_a_journal(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    JournalState js;
    assert_int_equal(journal_read("/nonexistent/j.jsonl", &js, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/j.jsonl"));
    append_raw("");
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    append_raw("hello world\n");
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a ferry journal"));
    unlink(path);
    append_raw("{\"type\":\"step\",\"step\":\"a\"}\n");
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: a ferry journal starts with a run record"));
    unlink(path);
    append_raw("{\"type\":\"run\",\"run\":\"r\",\"steps\":[\"a\"]}\n{\"type\":\"step\",\"step\":\"zzz\",\"outcome\":\"done\"}\n");
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: a step record for step \"zzz\""));
    unlink(path);
    append_raw("{\"type\":\"run\",\"run\":\"r\"}\n");
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "lists no steps"));
}

static void test_resume_point_rules(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Journal *j = journal_open(path, err, sizeof(err));
    write_run(j, "run-1", 1, steps, 5);
    write_step(j, "step", "preflight", "done", 0);
    write_step(j, "step", "wipe", "skipped", 0);
    write_step(j, "step", "copy", "failed", 1); /* on-failure continue: finished */
    write_step(j, "start", "verify", NULL, 0);
    write_step(j, "step", "verify", "aborted", 0);
    journal_close(j);
    JournalState js;
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_int_equal(js.steps[1].outcome, JSTEP_SKIPPED);
    assert_int_equal(js.steps[2].outcome, JSTEP_FAILED);
    assert_true(js.steps[2].continued);
    assert_int_equal(js.steps[3].outcome, JSTEP_ABORTED);
    assert_int_equal(js.resume_index, 3);

    /* A failed step (on-failure stop) is where a resume starts. */
    unlink(path);
    j = journal_open(path, err, sizeof(err));
    write_run(j, "run-1", 1, steps, 5);
    write_step(j, "step", "preflight", "failed", 0);
    journal_close(j);
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_int_equal(js.resume_index, 0);

    /* Everything done: nothing to resume. */
    unlink(path);
    j = journal_open(path, err, sizeof(err));
    write_run(j, "run-1", 1, steps, 5);
    for (int i = 0; i < 5; i++) write_step(j, "step", steps[i], "done", 0);
    JRec r;
    jrec_begin(&r, "end", "run-1");
    jrec_str(&r, "outcome", "done");
    assert_int_equal(journal_write(j, &r, err, sizeof(err)), 0);
    journal_close(j);
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_int_equal(js.resume_index, 5);
    assert_string_equal(js.end_outcome, "done");
    assert_int_equal(js.last_checkpoint_step, -1);
}

static void test_json_reader_accepts_other_writers(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    /* Whitespace, escapes, unicode, numbers and nesting as jq would write them. */
    append_raw(" { \"type\" : \"run\", \"run\":\"r\\u00e9\\ud83d\\ude00\", \"x\":[1,2.5e3,{\"a\":null},true],"
               " \"steps\" : [ \"a\" , \"b\" ] }  \n"
               "{\"type\":\"checkpoint\",\"step\":\"a\",\"cursor\":42,\"copied\":7}\n"
               "{\"type\":\"newer-record-type\",\"step\":\"a\"}\n");
    JournalState js;
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_string_equal(js.run_id, "r\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(js.nsteps, 2);
    assert_true(js.steps[0].has_checkpoint);
    assert_int_equal(js.steps[0].checkpoint.cursor, 42);
    assert_int_equal(js.resume_index, 0);
}

typedef struct WriterArg {
    Journal *j;
    int id;
} WriterArg;

static void *writer(void *arg) {
    WriterArg *w = arg;
    char err[FERRY_ERR_LEN], text[600];
    memset(text, 'a' + w->id, sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (int i = 0; i < 100; i++) {
        JRec r;
        jrec_begin(&r, "gate", "run-1");
        jrec_str(&r, "step", "a");
        jrec_str(&r, "pad", text);
        if (journal_write(w->j, &r, err, sizeof(err)) != 0) return (void *)1;
    }
    return NULL;
}

static void test_concurrent_writers(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Journal *j = journal_open(path, err, sizeof(err));
    write_run(j, "run-1", 1, (const char *const[]){"a"}, 1);
    pthread_t th[4];
    WriterArg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (WriterArg){j, i};
        pthread_create(&th[i], NULL, writer, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    journal_close(j);
    JournalState js;
    assert_int_equal(journal_read(path, &js, err, sizeof(err)), 0);
    assert_int_equal(js.records, 401);
    assert_int_equal(js.torn, 0);
}

static void test_run_id(void **state) {
    (void)state;
    char a[64], b[64];
    journal_new_run_id(a, sizeof(a));
    journal_new_run_id(b, sizeof(b));
    assert_int_equal(strlen(a), 20); /* 20250314-021300-7f3a */
    assert_true(a[8] == '-' && a[15] == '-');
    for (int i = 0; i < 8; i++) assert_true(a[i] >= '0' && a[i] <= '9');
    char esc[64];
    journal_escape("a\"b\\c\nd\te", esc, sizeof(esc));
    assert_string_equal(esc, "a\\\"b\\\\c\\nd\\u0009e");
    journal_escape("abcdefghij", esc, 8); /* truncates, stays terminated */
    assert_true(strlen(esc) < 8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_last_line_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_in_the_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_torn_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_point_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_reader_accepts_other_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
        cmocka_unit_test(test_run_id),
    };
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
