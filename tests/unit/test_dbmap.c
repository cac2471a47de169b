/* test_dbmap — parsing "1:0,2:5", refusing duplicates and merges, lookups
 * and the printed form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dbmap.h"
#include "util.h"

static void test_empty_map_is_identity(void **state) {
    (void)state;
    DbMap m;
    dbmap_init(&m);
    assert_int_equal(m.n, 0);
    assert_int_equal(dbmap_target(&m, 0), 0);
    assert_int_equal(dbmap_target(&m, 7), 7);
    assert_int_equal(dbmap_target(&m, -1), -1);
    char buf[64];
    dbmap_format(&m, buf, sizeof(buf));
    assert_string_equal(buf, "every db to the same number");
}

static void test_parse_pairs(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "1:0,2:5", err, sizeof(err)), 0);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.src[0], 1);
    assert_int_equal(m.dst[0], 0);
    assert_int_equal(m.src[1], 2);
    assert_int_equal(m.dst[1], 5);
    assert_int_equal(dbmap_target(&m, 1), 0);
    assert_int_equal(dbmap_target(&m, 2), 5);
    assert_int_equal(dbmap_target(&m, 0), -1); /* not in a non-empty map */
    assert_int_equal(dbmap_target(&m, 3), -1);
    assert_int_equal(dbmap_target(&m, -1), -1);
}

static void test_parse_single_and_blanks(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "3", err, sizeof(err)), 0);
    assert_int_equal(m.n, 1);
    assert_int_equal(dbmap_target(&m, 3), 3);

    assert_int_equal(dbmap_parse(&m, " 4 : 9 , 10 ", err, sizeof(err)), 0);
    assert_int_equal(m.n, 3);
    assert_int_equal(dbmap_target(&m, 4), 9);
    assert_int_equal(dbmap_target(&m, 10), 10);

    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "0:2147483647", err, sizeof(err)), 0);
    assert_int_equal(dbmap_target(&m, 0), 2147483647);
}

static void test_parse_appends(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "1:0", err, sizeof(err)), 0);
    assert_int_equal(dbmap_parse(&m, "2:5", err, sizeof(err)), 0);
    assert_int_equal(m.n, 2);
    assert_int_equal(dbmap_target(&m, 2), 5);
    /* A duplicate across two calls is still a duplicate. */
    assert_int_equal(dbmap_parse(&m, "1:3", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "source db 1 is listed twice"));
    assert_int_equal(m.n, 2);
}

static void test_duplicate_source(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "1:0,1:2", err, sizeof(err)), -1);
    assert_string_equal(err, "bad database map \"1:0,1:2\": source db 1 is listed twice (→0 and →2); "
                             "give each source once");
    assert_int_equal(m.n, 0); /* nothing half-applied */

    assert_int_equal(dbmap_parse(&m, "3,3", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "source db 3 is listed twice"));
    /* Even mapped to the same target. */
    assert_int_equal(dbmap_parse(&m, "1:0,1:0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "listed twice"));
    assert_int_equal(m.n, 0);
}

static void test_two_sources_one_target(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "1:0,2:0", err, sizeof(err)), -1);
    assert_string_equal(err, "bad database map \"1:0,2:0\": source dbs 1 and 2 both go to target db 0, "
                             "which would merge two keyspaces; give each source its own target");
    assert_int_equal(m.n, 0);

    /* "0" is 0:0, which collides with 1:0. */
    assert_int_equal(dbmap_parse(&m, "1:0,0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "source dbs 1 and 0 both go to target db 0"));

    /* Swapping two databases is fine. */
    assert_int_equal(dbmap_parse(&m, "0:1,1:0", err, sizeof(err)), 0);
    assert_int_equal(dbmap_target(&m, 0), 1);
    assert_int_equal(dbmap_target(&m, 1), 0);
}

static void test_parse_errors(void **state) {
    (void)state;
    static const struct {
        const char *text;
        const char *expect;
    } cases[] = {
        {"", "write SRC:DST pairs"},
        {"a", "write SRC:DST pairs"},
        {"1:", "write SRC:DST pairs"},
        {":1", "write SRC:DST pairs"},
        {"1:0,", "write SRC:DST pairs"},
        {",1:0", "write SRC:DST pairs"},
        {"1:0,,2:1", "write SRC:DST pairs"},
        {"1:0:2", "write SRC:DST pairs"},
        {"1-2", "write SRC:DST pairs"},
        {"1 2", "write SRC:DST pairs"},
        {"1:x", "write SRC:DST pairs"},
        {"+1:0", "write SRC:DST pairs"},
        {"1.5:0", "write SRC:DST pairs"},
        {"2147483648:0", "write SRC:DST pairs"},
        {"99999999999999999999", "write SRC:DST pairs"},
        {"-1:0", "cannot be negative"},
        {"1:-1", "cannot be negative"},
        {" -3", "cannot be negative"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        DbMap m;
        char err[FERRY_ERR_LEN] = "";
        dbmap_init(&m);
        assert_int_equal(dbmap_parse(&m, "7:7", err, sizeof(err)), 0);
        int rc = dbmap_parse(&m, cases[i].text, err, sizeof(err));
        if (rc != -1 || !strstr(err, cases[i].expect))
            print_error("case \"%s\": rc=%d err=\"%s\"\n", cases[i].text, rc, err);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, cases[i].expect));
        assert_non_null(strstr(err, "bad database map \""));
        assert_null(strchr(err, '\n'));
        assert_int_equal(m.n, 1); /* the map is as it was */
        assert_int_equal(dbmap_target(&m, 7), 7);
    }
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, NULL, err, sizeof(err)), -1);
    assert_int_equal(dbmap_parse(&m, "x", NULL, 0), -1); /* no err buffer is fine */
}

static void test_add(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    assert_int_equal(dbmap_add(&m, 1, 0, err, sizeof(err)), 0);
    assert_int_equal(dbmap_add(&m, 1, 2, err, sizeof(err)), -1);
    assert_string_equal(err, "source db 1 is listed twice (→0 and →2); give each source once");
    assert_int_equal(dbmap_add(&m, 2, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "merge two keyspaces"));
    assert_int_equal(dbmap_add(&m, -1, 3, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot be negative"));
    assert_int_equal(dbmap_add(&m, 3, -2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot be negative"));
    assert_int_equal(m.n, 1);
}

static void test_full(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN] = "";
    dbmap_init(&m);
    for (int i = 0; i < DBMAP_MAX; i++) assert_int_equal(dbmap_add(&m, i, i + 1000, err, sizeof(err)), 0);
    assert_int_equal(m.n, DBMAP_MAX);
    assert_int_equal(dbmap_add(&m, 5000, 5000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 256 database pairs"));
    assert_int_equal(dbmap_target(&m, 255), 1255);
    assert_int_equal(m.n, DBMAP_MAX);
}

static void test_format(void **state) {
    (void)state;
    DbMap m;
    char err[FERRY_ERR_LEN], buf[128];
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "1:0,2:5", err, sizeof(err)), 0);
    dbmap_format(&m, buf, sizeof(buf));
    assert_string_equal(buf, "1→0, 2→5");

    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "3", err, sizeof(err)), 0);
    dbmap_format(&m, buf, sizeof(buf));
    assert_string_equal(buf, "3→3");

    /* A short buffer gets whole pairs and ", ...", never half an arrow. */
    dbmap_init(&m);
    assert_int_equal(dbmap_parse(&m, "1:0,2:5,10:11,12:13", err, sizeof(err)), 0);
    dbmap_format(&m, buf, 20);
    assert_string_equal(buf, "1→0, 2→5, ...");
    dbmap_format(&m, buf, 4);
    assert_string_equal(buf, "...");
    dbmap_format(&m, buf, 1);
    assert_string_equal(buf, "");
    /* Exactly enough room for everything. */
    dbmap_format(&m, buf, sizeof(buf));
    assert_string_equal(buf, "1→0, 2→5, 10→11, 12→13");
    size_t full = strlen(buf);
    dbmap_format(&m, buf, full + 1);
    assert_string_equal(buf, "1→0, 2→5, 10→11, 12→13");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_map_is_identity),
        cmocka_unit_test(test_parse_pairs),
        cmocka_unit_test(test_parse_single_and_blanks),
        cmocka_unit_test(test_parse_appends),
        cmocka_unit_test(test_duplicate_source),
        cmocka_unit_test(test_two_sources_one_target),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests_name("dbmap", tests, NULL, NULL);
}
