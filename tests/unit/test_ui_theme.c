/* Theme files: every file in themes/ parses, the built-in fallback equals
 * themes/default.theme, inheritance fills roles a file leaves out, and each
 * error says file:line: what, leaving the previous theme untouched. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "theme.h"
#include "util.h"

#define THEMES FERRY_SOURCE_DIR "/themes"

static void test_every_theme_file_parses(void **state) {
    (void)state;
    DIR *d = opendir(THEMES);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 6, ".theme") != 0) continue;
        char path[1024], err[FERRY_ERR_LEN] = "";
        snprintf(path, sizeof path, "%s/%s", THEMES, e->d_name);
        Theme t;
        if (theme_load_file(&t, path, err, sizeof err) != 0) fail_msg("%s: %s", path, err);
        /* name from the file name, every role has a style */
        assert_int_equal(strncmp(t.name, e->d_name, len - 6), 0);
        n++;
    }
    closedir(d);
    assert_true(n >= 5);
}

static void test_required_themes_exist_and_are_complete(void **state) {
    (void)state;
    for (int i = 0; theme_cycle[i]; i++) {
        char path[1024], err[FERRY_ERR_LEN];
        snprintf(path, sizeof path, "%s/%s.theme", THEMES, theme_cycle[i]);
        FILE *f = fopen(path, "r");
        if (!f) fail_msg("missing theme file %s", path);
        /* Shipped themes spell out every role (no reliance on inheritance),
         * so that a reader of the file sees the whole theme. */
        char text[THEME_MAX_FILE + 1];
        size_t n = fread(text, 1, THEME_MAX_FILE, f);
        text[n] = '\0';
        fclose(f);
        for (int r = 0; r < ROLE__COUNT; r++) {
            char needle[64];
            snprintf(needle, sizeof needle, "\n%s ", ui_role_name((UiRole)r));
            if (!strstr(text, needle)) fail_msg("%s does not define role %s", path, ui_role_name((UiRole)r));
        }
        Theme t;
        assert_int_equal(theme_load_file(&t, path, err, sizeof err), 0);
    }
}

static void test_builtin_equals_file(void **state) {
    (void)state;
    Theme a, b;
    char err[FERRY_ERR_LEN];
    theme_builtin_default(&a);
    assert_int_equal(theme_load_file(&b, THEMES "/default.theme", err, sizeof err), 0);
    assert_memory_equal(a.style, b.style, sizeof a.style);
    assert_string_equal(a.name, "default");
    /* and the text itself, byte for byte */
    FILE *f = fopen(THEMES "/default.theme", "r");
    assert_non_null(f);
    static char text[THEME_MAX_FILE + 1];
    size_t n = fread(text, 1, THEME_MAX_FILE, f);
    text[n] = '\0';
    fclose(f);
    assert_string_equal(text, theme_default_text);
}

static void test_values(void **state) {
    (void)state;
    Theme t;
    char err[FERRY_ERR_LEN] = "";
    const char *text = "# comment line\n"
                       "\n"
                       "title = bright-cyan 235 bold,underline   # trailing comment\n"
                       "  value=yellow default\n"
                       "value-warn = 196 black reverse italic standout dim\n"
                       "normal = white blue none\r\n";
    assert_int_equal(theme_parse(&t, "x", text, "x.theme", err, sizeof err), 0);
    assert_int_equal(t.style[ROLE_TITLE].fg, 14);
    assert_int_equal(t.style[ROLE_TITLE].bg, 235);
    assert_int_equal(t.style[ROLE_TITLE].attrs, THEME_BOLD | THEME_UNDERLINE);
    assert_int_equal(t.style[ROLE_VALUE].fg, 3);
    assert_int_equal(t.style[ROLE_VALUE].bg, THEME_DEFAULT_COLOR);
    assert_int_equal(t.style[ROLE_VALUE_WARN].attrs,
                     THEME_REVERSE | THEME_ITALIC | THEME_STANDOUT | THEME_DIM);
    assert_int_equal(t.style[ROLE_NORMAL].fg, 7);
    assert_int_equal(t.style[ROLE_NORMAL].bg, 4);
    assert_int_equal(t.max_color, 235);
    /* inheritance: title-focus from title, value-error from value-warn,
     * log-warn from value-warn, label from normal */
    assert_memory_equal(&t.style[ROLE_TITLE_FOCUS], &t.style[ROLE_TITLE], sizeof(ThemeStyle));
    assert_memory_equal(&t.style[ROLE_VALUE_ERROR], &t.style[ROLE_VALUE_WARN], sizeof(ThemeStyle));
    assert_memory_equal(&t.style[ROLE_LOG_WARN], &t.style[ROLE_VALUE_WARN], sizeof(ThemeStyle));
    assert_memory_equal(&t.style[ROLE_LABEL], &t.style[ROLE_NORMAL], sizeof(ThemeStyle));
}

static void test_normal_defaults_when_missing(void **state) {
    (void)state;
    Theme t;
    char err[FERRY_ERR_LEN];
    assert_int_equal(theme_parse(&t, "x", "title = red default\n", "x", err, sizeof err), 0);
    assert_int_equal(t.style[ROLE_NORMAL].fg, -1);
    assert_int_equal(t.style[ROLE_NORMAL].bg, -1);
    assert_int_equal(t.style[ROLE_DIM].fg, -1);
    assert_int_equal(t.style[ROLE_TITLE_FOCUS].fg, 1);
    assert_int_equal(t.max_color, 1);
}

static void test_color_names(void **state) {
    (void)state;
    assert_int_equal(theme_color_from_name("default"), -1);
    assert_int_equal(theme_color_from_name("black"), 0);
    assert_int_equal(theme_color_from_name("white"), 7);
    assert_int_equal(theme_color_from_name("bright-black"), 8);
    assert_int_equal(theme_color_from_name("grey"), 8);
    assert_int_equal(theme_color_from_name("bright-white"), 15);
    assert_int_equal(theme_color_from_name("0"), 0);
    assert_int_equal(theme_color_from_name("255"), 255);
    assert_true(theme_color_from_name("256") < -1);
    assert_true(theme_color_from_name("12x") < -1);
    assert_true(theme_color_from_name("bright-") < -1);
    assert_true(theme_color_from_name("purple") < -1);
}

/* Each bad input, the line it is on, and a piece of the message. */
static const struct {
    const char *text, *expect;
} bad[] = {
    {"title = cyan default\nvalue cyan default\n", "bad.theme:2: missing '='"},
    {"\n\n = cyan default\n", "bad.theme:3: missing role name"},
    {"titel = cyan default\n", "bad.theme:1: unknown role 'titel'"},
    {"title = cyan default\n# x\ntitle = red default\n",
     "bad.theme:3: role 'title' defined twice (first on line 1)"},
    {"title = cyan\n", "bad.theme:1: role 'title' needs a foreground and a background"},
    {"title =\n", "bad.theme:1: role 'title' needs a foreground"},
    {"title = cyann default\n", "bad.theme:1: unknown foreground colour 'cyann'"},
    {"title = cyan defualt\n", "bad.theme:1: unknown background colour 'defualt'"},
    {"title = 300 default\n", "bad.theme:1: foreground colour 300 is out of range (0-255)"},
    {"a\n", "bad.theme:1: missing '='"},
    {"value = red black bold\ntitle = cyan default blink\n", "bad.theme:2: unknown attribute 'blink'"},
    {"title = 1 2 bold bold bold bold bold bold bold bold bold\n", "bad.theme:1: too many words"},
    {"# only comments\n\n", "bad.theme:2: no roles defined"},
    {"", "bad.theme:1: no roles defined"},
};

static void test_errors_have_file_and_line(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Theme t;
        memset(&t, 0x5a, sizeof t);
        Theme before = t;
        char err[FERRY_ERR_LEN] = "";
        int rc = theme_parse(&t, "bad", bad[i].text, "bad.theme", err, sizeof err);
        if (rc != -1) fail_msg("case %zu parsed: %s", i, bad[i].text);
        if (!strstr(err, bad[i].expect)) fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].expect);
        /* tmux style_parse: a failed parse leaves the old value */
        assert_memory_equal(&t, &before, sizeof t);
    }
}

static void test_long_line(void **state) {
    (void)state;
    char text[THEME_MAX_LINE + 64];
    memset(text, ' ', sizeof text);
    memcpy(text, "title = red default", 19);
    text[sizeof text - 2] = '\n';
    text[sizeof text - 1] = '\0';
    Theme t;
    char err[FERRY_ERR_LEN];
    assert_int_equal(theme_parse(&t, "x", text, "long.theme", err, sizeof err), -1);
    assert_non_null(strstr(err, "long.theme:1: line longer than"));
}

static char tmpdir[256];

static int make_tmpdir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-theme-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    unsetenv("FERRY_THEMES_DIR");
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void test_file_errors(void **state) {
    (void)state;
    char path[512], err[FERRY_ERR_LEN];
    Theme t;
    snprintf(path, sizeof path, "%s/missing.theme", tmpdir);
    assert_int_equal(theme_load_file(&t, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.theme: cannot open"));

    snprintf(path, sizeof path, "%s/nul.theme", tmpdir);
    write_file(path, "title = red\0 default\n", 21);
    assert_int_equal(theme_load_file(&t, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "contains NUL bytes"));

    snprintf(path, sizeof path, "%s/big.theme", tmpdir);
    static char big[THEME_MAX_FILE + 10];
    memset(big, '#', sizeof big);
    write_file(path, big, sizeof big);
    assert_int_equal(theme_load_file(&t, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "is this a theme file?"));

    /* a parse error through the file loader names the path and the line */
    snprintf(path, sizeof path, "%s/broken.theme", tmpdir);
    write_file(path, "title = red default\nvalue = chartreuse default\n", 47);
    assert_int_equal(theme_load_file(&t, path, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s:2: unknown foreground colour 'chartreuse'", path);
    assert_non_null(strstr(err, want));
}

static void test_resolve(void **state) {
    (void)state;
    char path[1024], err[FERRY_ERR_LEN];
    Theme t;
    unsetenv("FERRY_THEMES_DIR");
    /* a name resolves to FERRY_SOURCE_DIR/themes */
    assert_int_equal(theme_resolve("light", path, sizeof path, err, sizeof err), 0);
    assert_string_equal(path, THEMES "/light.theme");
    /* $FERRY_THEMES_DIR comes first */
    char mine[512];
    snprintf(mine, sizeof mine, "%s/light.theme", tmpdir);
    write_file(mine, "title = red default\n", 20);
    setenv("FERRY_THEMES_DIR", tmpdir, 1);
    assert_int_equal(theme_resolve("light", path, sizeof path, err, sizeof err), 0);
    assert_string_equal(path, mine);
    assert_int_equal(theme_load(&t, "light", err, sizeof err), 0);
    assert_int_equal(t.style[ROLE_TITLE].fg, 1);
    assert_string_equal(t.name, "light");
    /* …and falls through to the source tree for names it does not have */
    assert_int_equal(theme_resolve("solarized", path, sizeof path, err, sizeof err), 0);
    assert_string_equal(path, THEMES "/solarized.theme");
    unsetenv("FERRY_THEMES_DIR");

    /* a path is used as is */
    assert_int_equal(theme_resolve(mine, path, sizeof path, err, sizeof err), 0);
    assert_string_equal(path, mine);
    assert_int_equal(theme_resolve("/nonexistent/x.theme", path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "theme file /nonexistent/x.theme"));
    assert_int_equal(theme_resolve(tmpdir, path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));

    /* an unknown name says where it looked and what exists */
    assert_int_equal(theme_resolve("neon", path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "theme 'neon' not found in " THEMES));
    assert_non_null(strstr(err, "high-contrast"));
    assert_int_equal(theme_load(&t, "neon", err, sizeof err), -1);
    assert_int_equal(theme_resolve("../etc", path, sizeof path, err, sizeof err), -1);
    assert_int_equal(theme_resolve("a b", path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "not valid"));
}

static void test_default_always_loads(void **state) {
    (void)state;
    char err[FERRY_ERR_LEN];
    Theme t, builtin;
    setenv("FERRY_THEMES_DIR", "/nonexistent", 1);
    assert_int_equal(theme_load(&t, "default", err, sizeof err), 0);
    unsetenv("FERRY_THEMES_DIR");
    theme_builtin_default(&builtin);
    assert_memory_equal(t.style, builtin.style, sizeof t.style);
}

static void test_role_names_round_trip(void **state) {
    (void)state;
    for (int r = 0; r < ROLE__COUNT; r++) {
        const char *n = ui_role_name((UiRole)r);
        assert_non_null(n);
        assert_int_equal(ui_role_from_name(n), r);
    }
    assert_null(ui_role_name(ROLE__COUNT));
    assert_int_equal(ui_role_from_name("nope"), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_theme_file_parses),
        cmocka_unit_test(test_required_themes_exist_and_are_complete),
        cmocka_unit_test(test_builtin_equals_file),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_normal_defaults_when_missing),
        cmocka_unit_test(test_color_names),
        cmocka_unit_test(test_errors_have_file_and_line),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_default_always_loads),
        cmocka_unit_test(test_role_names_round_trip),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
