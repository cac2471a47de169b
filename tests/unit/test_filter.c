/* test_filter — glob_match() against the server's stringmatchlen() rules
 * (quirks included), its speed on patterns that are exponential for a naive
 * matcher, and the include / exclude / type filter built on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "util.h"

typedef struct {
    const char *pattern;
    const char *string;
    int nocase;
    int want;
} GlobCase;

static void run_glob_cases(const GlobCase *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const GlobCase *c = &cases[i];
        int got = glob_match(c->pattern, strlen(c->pattern), c->string, strlen(c->string), c->nocase);
        if (got != c->want)
            print_error("glob_match(\"%s\", \"%s\", nocase=%d) = %d, want %d\n", c->pattern, c->string,
                        c->nocase, got, c->want);
        assert_int_equal(got, c->want);
    }
}

#define RUN(cases) run_glob_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void test_glob_literal_star_question(void **state) {
    (void)state;
    static const GlobCase cases[] = {
        {"abc", "abc", 0, 1},
        {"abc", "abd", 0, 0},
        {"abc", "ab", 0, 0},
        {"ab", "abc", 0, 0},
        {"", "", 0, 1},
        {"", "a", 0, 0},
        {"*", "abc", 0, 1},
        {"*", "", 0, 0}, /* the server's matcher never matches an empty key */
        {"**", "", 0, 0},
        {"a*", "a", 0, 1},
        {"a*", "abc", 0, 1},
        {"*c", "abc", 0, 1},
        {"*c", "abd", 0, 0},
        {"a*c", "ac", 0, 1},
        {"a*c", "abbbc", 0, 1},
        {"a*c", "abbbcd", 0, 0},
        {"a**b", "ab", 0, 1},
        {"a***b***", "aXXb", 0, 1},
        {"a*b*c", "aXbYc", 0, 1},
        {"a*b*c", "aXbY", 0, 0},
        {"a*b*c", "abcbc", 0, 1},
        {"*a*", "xxaxx", 0, 1},
        {"*a*", "xxxx", 0, 0},
        {"user:*:session", "user:42:session", 0, 1},
        {"user:*:session", "user:42:sessions", 0, 0},
        {"?", "a", 0, 1},
        {"?", "", 0, 0},
        {"?", "ab", 0, 0},
        {"a?c", "abc", 0, 1},
        {"a?c", "ac", 0, 0},
        {"???", "ab", 0, 0},
        {"*?", "a", 0, 1},
        {"?*?", "a", 0, 0},
        {"?*?", "ab", 0, 1},
    };
    RUN(cases);
}

static void test_glob_classes(void **state) {
    (void)state;
    static const GlobCase cases[] = {
        {"[abc]", "c", 0, 1},
        {"[abc]", "d", 0, 0},
        {"[abc]", "", 0, 0},
        {"[a-c]x", "bx", 0, 1},
        {"[a-c]x", "dx", 0, 0},
        {"[a-c]", "a", 0, 1},
        {"[a-c]", "c", 0, 1},
        {"[c-a]", "b", 0, 1}, /* reversed range: swapped */
        {"[z-a]", "m", 0, 1},
        {"[z-a]", "A", 0, 0},
        {"[^a]", "b", 0, 1},
        {"[^a]", "a", 0, 0},
        {"[^a-c]", "d", 0, 1},
        {"[^a-c]", "b", 0, 0},
        {"[a-cx-z]", "y", 0, 1},
        {"[a-cx-z]", "m", 0, 0},
        {"[-a]", "-", 0, 1},
        {"[a-]", "_", 0, 1}, /* "a-]" is the range ']'..'a', and the class never closes */
        {"[a-]", "-", 0, 0},
        {"[]]", "]", 0, 0}, /* "[]" is an empty class: nothing matches */
        {"[]a", "a", 0, 0},
        {"[\\]]", "]", 0, 1},
        {"[\\]]", "\\", 0, 0},
        {"[\\-]", "-", 0, 1},
        {"[\\^a]", "^", 0, 1},
        {"[^\\]]", "]", 0, 0},
        {"[^\\]]", "x", 0, 1},
        {"[*?]", "*", 0, 1},
        {"[*?]", "x", 0, 0},
        {"key:[0-9][0-9]", "key:42", 0, 1},
        {"key:[0-9][0-9]", "key:4x", 0, 0},
    };
    RUN(cases);
}

static void test_glob_escapes(void **state) {
    (void)state;
    static const GlobCase cases[] = {
        {"\\*", "*", 0, 1},
        {"\\*", "a", 0, 0},
        {"\\*", "", 0, 0},
        {"a\\?c", "a?c", 0, 1},
        {"a\\?c", "abc", 0, 0},
        {"\\[x]", "[x]", 0, 1},
        {"\\[x]", "x", 0, 0},
        {"\\\\", "\\", 0, 1},
        {"\\a", "a", 0, 1},
        {"a\\*b*", "a*bcd", 0, 1},
        {"a\\*b*", "aXbcd", 0, 0},
        /* A pattern ending in a lone backslash matches a backslash. */
        {"a\\", "a\\", 0, 1},
        {"a\\", "a", 0, 0},
        {"\\", "\\", 0, 1},
        {"*\\", "xy\\", 0, 1},
    };
    RUN(cases);
}

static void test_glob_unterminated_class(void **state) {
    (void)state;
    static const GlobCase cases[] = {
        {"[abc", "b", 0, 1}, /* the class runs to the end of the pattern */
        {"[abc", "d", 0, 0},
        {"[abc", "[", 0, 0},
        {"[", "[", 0, 0}, /* an empty, unclosed class matches nothing */
        {"[", "", 0, 0},
        {"[^", "x", 0, 1}, /* an empty, unclosed negated class matches anything */
        {"ab[", "ab[", 0, 0},
        {"ab[c", "abc", 0, 1},
        {"ab[c", "abcd", 0, 0},
        {"[a\\", "\\", 0, 1}, /* a trailing backslash in a class is a member */
        {"*[xy", "aay", 0, 1},
    };
    RUN(cases);
}

static void test_glob_nocase(void **state) {
    (void)state;
    static const GlobCase cases[] = {
        {"HeLLo", "hello", 1, 1},
        {"HeLLo", "hello", 0, 0},
        {"h*O", "HELLO", 1, 1},
        {"[A-C]", "b", 1, 1},
        {"[a-c]", "B", 1, 1},
        {"[a-c]", "B", 0, 0},
        {"[abc]", "B", 1, 1},
        {"[^abc]", "B", 1, 0},
        /* Escaped characters in a class compare exactly, even with nocase. */
        {"[\\A]", "a", 1, 0},
        {"[\\A]", "A", 1, 1},
        /* ...but escapes outside a class fold. */
        {"\\A", "a", 1, 1},
        /* A range is folded after its ends are ordered: 'Z'..'a' holds '_'
         * but becomes 'z'..'a' (empty) under nocase. */
        {"[Z-a]", "_", 0, 1},
        {"[Z-a]", "_", 1, 0},
        {"[Z-a]", "z", 1, 0},
        /* Only ASCII letters fold. */
        {"\xc3\x89", "\xc3\xa9", 1, 0},
        {"1-_", "1-_", 1, 1},
    };
    RUN(cases);
}

static void test_glob_binary_and_lengths(void **state) {
    (void)state;
    /* Lengths are honoured: NUL bytes are ordinary characters. */
    assert_int_equal(glob_match("a?b", 3, "a\0b", 3, 0), 1);
    assert_int_equal(glob_match("a\0*", 3, "a\0xyz", 5, 0), 1);
    assert_int_equal(glob_match("a\0*", 3, "a\1xyz", 5, 0), 0);
    /* Only plen bytes of the pattern count. */
    assert_int_equal(glob_match("abc*", 2, "ab", 2, 0), 1);
    assert_int_equal(glob_match("abc*", 2, "abc", 3, 0), 0);
    /* ...and only slen bytes of the key. */
    assert_int_equal(glob_match("ab", 2, "abc", 2, 0), 1);
    /* Multi-byte keys match byte by byte. */
    assert_int_equal(glob_match("\xc3\xa9*", 3, "\xc3\xa9t\xc3\xa9", 5, 0), 1);
    assert_int_equal(glob_match("??t*", 4, "\xc3\xa9t\xc3\xa9", 5, 0), 1);
}

/* Patterns that take exponential time in a naive recursive matcher. */
static void test_glob_pathological_is_fast(void **state) {
    (void)state;
    size_t slen = 20000;
    char *s = malloc(slen + 1);
    char *p = malloc(8192);
    assert_non_null(s);
    assert_non_null(p);
    memset(s, 'a', slen);
    s[slen] = '\0';

    int64_t t0 = util_mono_ms();
    /* "a*a*a*...*b" against "aaaa...": no match, found quickly. */
    size_t n = 0;
    for (int i = 0; i < 30; i++) {
        p[n++] = 'a';
        p[n++] = '*';
    }
    p[n++] = 'b';
    assert_int_equal(glob_match(p, n, s, slen, 0), 0);
    /* ...and the same ending in 'a' matches. */
    p[n - 1] = 'a';
    assert_int_equal(glob_match(p, n, s, slen, 0), 1);

    /* "*?*?*?..." needing backtracking at every star. */
    n = 0;
    for (int i = 0; i < 500; i++) {
        p[n++] = '*';
        p[n++] = '?';
    }
    p[n++] = 'b';
    assert_int_equal(glob_match(p, n, s, slen, 0), 0);
    assert_int_equal(glob_match(p, n - 1, s, slen, 1), 1);

    /* A long run of stars is one star. */
    memset(p, '*', 5000);
    p[5000] = 'a';
    assert_int_equal(glob_match(p, 5001, s, slen, 0), 1);
    assert_int_equal(glob_match(p, 5000, s, slen, 0), 1);

    int64_t elapsed = util_mono_ms() - t0;
    if (elapsed >= 2000) print_error("pathological patterns took %lld ms\n", (long long)elapsed);
    assert_true(elapsed < 2000);
    free(p);
    free(s);
}

/* The server refuses to look past 1000 nested '*': a pattern with more '*'
 * runs followed by something else never matches there, so not here either. */
static void test_glob_star_limit_as_server(void **state) {
    (void)state;
    char *p = malloc(4096), *s = malloc(2048);
    assert_non_null(p);
    assert_non_null(s);
    memset(s, 'a', 1100);

    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        p[n++] = '*';
        p[n++] = 'a';
    }
    assert_int_equal(glob_match(p, n, s, 1100, 0), 1);  /* 1000 runs: fine */
    p[n] = '*';
    assert_int_equal(glob_match(p, n + 1, s, 1100, 0), 1); /* a trailing star is free */
    p[n] = '*';
    p[n + 1] = 'a';
    assert_int_equal(glob_match(p, n + 2, s, 1100, 0), 0); /* 1001 runs: refused */
    free(p);
    free(s);
}

/* ---- filter ---------------------------------------------------------- */

static int key_ok(const Filter *f, const char *key) {
    return filter_key(f, key, strlen(key));
}

static void test_filter_empty_keeps_everything(void **state) {
    (void)state;
    Filter f;
    filter_init(&f);
    assert_int_equal(key_ok(&f, "anything"), 1);
    assert_int_equal(key_ok(&f, ""), 1);
    assert_int_equal(filter_type(&f, FTYPE_STREAM), 1);
    assert_int_equal(filter_type(&f, FTYPE_OTHER), 1);
    assert_null(filter_server_match(&f));
    assert_null(filter_server_type(&f));
    filter_free(&f);
}

static void test_filter_include_exclude(void **state) {
    (void)state;
    Filter f;
    char err[FERRY_ERR_LEN];
    filter_init(&f);
    assert_int_equal(filter_add_include(&f, "session:*", err, sizeof(err)), 0);
    assert_int_equal(key_ok(&f, "session:1"), 1);
    assert_int_equal(key_ok(&f, "cache:1"), 0);
    assert_string_equal(filter_server_match(&f), "session:*");

    assert_int_equal(filter_add_include(&f, "user:[0-9]*", err, sizeof(err)), 0);
    assert_int_equal(f.ninclude, 2);
    assert_int_equal(key_ok(&f, "user:7"), 1);
    assert_int_equal(key_ok(&f, "user:x"), 0);
    assert_null(filter_server_match(&f)); /* two patterns: filtered here */

    assert_int_equal(filter_add_exclude(&f, "*:tmp", err, sizeof(err)), 0);
    assert_int_equal(filter_add_exclude(&f, "session:admin", err, sizeof(err)), 0);
    assert_int_equal(f.nexclude, 2);
    assert_int_equal(key_ok(&f, "session:1:tmp"), 0); /* exclude beats include */
    assert_int_equal(key_ok(&f, "session:admin"), 0);
    assert_int_equal(key_ok(&f, "session:admins"), 1);
    assert_int_equal(key_ok(&f, "user:7:tmp"), 0);

    /* Keys are counted bytes, not C strings. */
    assert_int_equal(filter_key(&f, "session:9:tmp", 9), 1);
    assert_int_equal(filter_key(&f, "user:\0:tmp", 6), 0);

    filter_free(&f);
    assert_int_equal(f.ninclude, 0);
    assert_int_equal(f.nexclude, 0);
    assert_null(f.include);
    assert_int_equal(key_ok(&f, "cache:1"), 1);
    filter_free(&f); /* twice is harmless */
}

static void test_filter_exclude_only(void **state) {
    (void)state;
    Filter f;
    char err[FERRY_ERR_LEN];
    filter_init(&f);
    assert_int_equal(filter_add_exclude(&f, "lock:*", err, sizeof(err)), 0);
    assert_int_equal(key_ok(&f, "lock:a"), 0);
    assert_int_equal(key_ok(&f, "data:a"), 1);
    assert_null(filter_server_match(&f));
    filter_free(&f);
}

static void test_filter_lone_star_is_every_key(void **state) {
    (void)state;
    /* As SCAN MATCH * and KEYS *: the empty key name passes too. */
    Filter f;
    char err[FERRY_ERR_LEN];
    filter_init(&f);
    assert_int_equal(filter_add_include(&f, "*", err, sizeof(err)), 0);
    assert_int_equal(key_ok(&f, ""), 1);
    assert_int_equal(key_ok(&f, "x"), 1);
    assert_string_equal(filter_server_match(&f), "*");
    assert_int_equal(filter_add_exclude(&f, "*", err, sizeof(err)), 0);
    assert_int_equal(key_ok(&f, ""), 0);
    assert_int_equal(key_ok(&f, "x"), 0);
    filter_free(&f);

    filter_init(&f);
    assert_int_equal(filter_add_include(&f, "**", err, sizeof(err)), 0);
    assert_int_equal(key_ok(&f, ""), 0); /* only the lone '*' is special */
    assert_int_equal(key_ok(&f, "x"), 1);
    filter_free(&f);
}

static void test_filter_keeps_own_copy(void **state) {
    (void)state;
    Filter f;
    char err[FERRY_ERR_LEN], pat[16];
    filter_init(&f);
    strcpy(pat, "a:*");
    assert_int_equal(filter_add_include(&f, pat, err, sizeof(err)), 0);
    strcpy(pat, "zzz");
    assert_int_equal(key_ok(&f, "a:1"), 1);
    assert_string_equal(filter_server_match(&f), "a:*");
    assert_ptr_not_equal(filter_server_match(&f), pat);
    filter_free(&f);
}

static void test_filter_rejects_empty_pattern(void **state) {
    (void)state;
    Filter f;
    char err[FERRY_ERR_LEN] = "";
    filter_init(&f);
    assert_int_equal(filter_add_include(&f, "", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty include pattern"));
    assert_non_null(strstr(err, "use '*'"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(filter_add_exclude(&f, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty exclude pattern"));
    assert_int_equal(f.ninclude, 0);
    assert_int_equal(f.nexclude, 0);
    filter_free(&f);
}

static void test_filter_types(void **state) {
    (void)state;
    Filter f;
    char err[FERRY_ERR_LEN] = "";
    filter_init(&f);
    assert_int_equal(filter_parse_types(&f, "string,list", err, sizeof(err)), 0);
    assert_int_equal(f.types, FTYPE_STRING | FTYPE_LIST);
    assert_int_equal(filter_type(&f, FTYPE_STRING), 1);
    assert_int_equal(filter_type(&f, FTYPE_LIST), 1);
    assert_int_equal(filter_type(&f, FTYPE_HASH), 0);
    assert_int_equal(filter_type(&f, FTYPE_OTHER), 0);
    assert_null(filter_server_type(&f));

    /* A second call adds; blanks and case do not matter. */
    assert_int_equal(filter_parse_types(&f, " Hash , ZSET ", err, sizeof(err)), 0);
    assert_int_equal(f.types, FTYPE_STRING | FTYPE_LIST | FTYPE_HASH | FTYPE_ZSET);

    assert_int_equal(filter_parse_types(&f, "set,stream", err, sizeof(err)), 0);
    assert_int_equal(f.types, FTYPE_ALL & ~FTYPE_OTHER);
    filter_free(&f);
    assert_int_equal(f.types, 0);
}

static void test_filter_types_errors(void **state) {
    (void)state;
    static const char *bad[] = {"strings", "string,lists", "", ",", "string,,list", "list,", " , hash"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        Filter f;
        char err[FERRY_ERR_LEN] = "";
        filter_init(&f);
        f.types = FTYPE_SET;
        assert_int_equal(filter_parse_types(&f, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, "string, list, set, zset, hash, stream"));
        assert_null(strchr(err, '\n'));
        assert_int_equal(f.types, FTYPE_SET); /* unchanged on error */
        filter_free(&f);
    }
    Filter f;
    char err[FERRY_ERR_LEN];
    filter_init(&f);
    assert_int_equal(filter_parse_types(&f, "string,lists", err, sizeof(err)), -1);
    assert_string_equal(err, "unknown key type \"lists\"; valid types are string, list, set, zset, hash, stream");
    assert_int_equal(filter_parse_types(&f, NULL, err, sizeof(err)), -1);
    assert_int_equal(f.types, 0);
}

static void test_filter_type_names(void **state) {
    (void)state;
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"string", FTYPE_STRING}, {"list", FTYPE_LIST}, {"set", FTYPE_SET},
        {"zset", FTYPE_ZSET},     {"hash", FTYPE_HASH}, {"stream", FTYPE_STREAM},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(filter_type_from_name(names[i].name), names[i].bit);
        assert_string_equal(filter_type_name(names[i].bit), names[i].name);

        Filter f;
        char err[FERRY_ERR_LEN];
        filter_init(&f);
        assert_int_equal(filter_parse_types(&f, names[i].name, err, sizeof(err)), 0);
        assert_string_equal(filter_server_type(&f), names[i].name);
        filter_free(&f);
    }
    assert_int_equal(filter_type_from_name("ReJSON-RL"), FTYPE_OTHER);
    assert_int_equal(filter_type_from_name("none"), FTYPE_OTHER);
    assert_int_equal(filter_type_from_name(""), FTYPE_OTHER);
    assert_int_equal(filter_type_from_name(NULL), FTYPE_OTHER);
    assert_string_equal(filter_type_name(FTYPE_OTHER), "other");
    assert_string_equal(filter_type_name(0), "unknown");
    assert_string_equal(filter_type_name(FTYPE_STRING | FTYPE_LIST), "unknown");

    /* Only module types selected: nothing SCAN TYPE can express. */
    Filter f;
    filter_init(&f);
    f.types = FTYPE_OTHER;
    assert_null(filter_server_type(&f));
    assert_int_equal(filter_type(&f, FTYPE_OTHER), 1);
    assert_int_equal(filter_type(&f, FTYPE_STRING), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_literal_star_question),
        cmocka_unit_test(test_glob_classes),
        cmocka_unit_test(test_glob_escapes),
        cmocka_unit_test(test_glob_unterminated_class),
        cmocka_unit_test(test_glob_nocase),
        cmocka_unit_test(test_glob_binary_and_lengths),
        cmocka_unit_test(test_glob_pathological_is_fast),
        cmocka_unit_test(test_glob_star_limit_as_server),
        cmocka_unit_test(test_filter_empty_keeps_everything),
        cmocka_unit_test(test_filter_include_exclude),
        cmocka_unit_test(test_filter_exclude_only),
        cmocka_unit_test(test_filter_lone_star_is_every_key),
        cmocka_unit_test(test_filter_keeps_own_copy),
        cmocka_unit_test(test_filter_rejects_empty_pattern),
        cmocka_unit_test(test_filter_types),
        cmocka_unit_test(test_filter_types_errors),
        cmocka_unit_test(test_filter_type_names),
    };
    return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
