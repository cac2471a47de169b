/* theme — theme files: parsing, lookup by name, the built-in fallback.
 * See theme.h for the file format. */
#include "theme.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#ifndef FERRY_SOURCE_DIR
#define FERRY_SOURCE_DIR "."
#endif

const char *const theme_cycle[] = {"default", "light", "high-contrast", "mono", "solarized", NULL};

/* Keep identical to themes/default.theme (a unit test compares them). */
const char theme_default_text[] =
    "# ferry — default theme: dark terminals. Uses the terminal's own background\n"
    "# and only the eight basic colours, so it reads the same over ssh, in tmux\n"
    "# and on a bare console.\n"
    "#\n"
    "# role          = fg       bg       attributes\n"
    "\n"
    "normal          = default  default\n"
    "title           = cyan     default  bold\n"
    "title-focus     = black    cyan     bold\n"
    "border          = default  default  dim\n"
    "label           = cyan     default\n"
    "value           = default  default  bold\n"
    "value-warn      = yellow   default  bold\n"
    "value-error     = red      default  bold\n"
    "ok              = green    default  bold\n"
    "pending         = yellow   default\n"
    "stale           = default  default  dim\n"
    "dim             = default  default  dim\n"
    "sparkline       = green    default\n"
    "bar-fill        = green    default\n"
    "bar-empty       = default  default  dim\n"
    "log-time        = default  default  dim\n"
    "log-info        = default  default\n"
    "log-warn        = yellow   default\n"
    "log-error       = red      default  bold\n"
    "log-operator    = cyan     default\n"
    "status-bar      = black    cyan\n"
    "status-ok       = black    green    bold\n"
    "status-warn     = black    yellow   bold\n"
    "status-error    = white    red      bold\n"
    "key-hint        = cyan     default  bold\n"
    "hint            = default  default\n"
    "dialog          = white    blue\n"
    "dialog-key      = yellow   blue     bold\n";

/* Where a role that a file leaves out takes its style from. */
static const UiRole role_parent[ROLE__COUNT] = {
    [ROLE_NORMAL] = ROLE_NORMAL,
    [ROLE_TITLE] = ROLE_NORMAL,
    [ROLE_TITLE_FOCUS] = ROLE_TITLE,
    [ROLE_BORDER] = ROLE_DIM,
    [ROLE_LABEL] = ROLE_NORMAL,
    [ROLE_VALUE] = ROLE_NORMAL,
    [ROLE_VALUE_WARN] = ROLE_VALUE,
    [ROLE_VALUE_ERROR] = ROLE_VALUE_WARN,
    [ROLE_OK] = ROLE_VALUE,
    [ROLE_PENDING] = ROLE_VALUE,
    [ROLE_STALE] = ROLE_DIM,
    [ROLE_DIM] = ROLE_NORMAL,
    [ROLE_SPARKLINE] = ROLE_VALUE,
    [ROLE_BAR_FILL] = ROLE_SPARKLINE,
    [ROLE_BAR_EMPTY] = ROLE_DIM,
    [ROLE_LOG_TIME] = ROLE_DIM,
    [ROLE_LOG_INFO] = ROLE_NORMAL,
    [ROLE_LOG_WARN] = ROLE_VALUE_WARN,
    [ROLE_LOG_ERROR] = ROLE_VALUE_ERROR,
    [ROLE_LOG_OPERATOR] = ROLE_LABEL,
    [ROLE_STATUS_BAR] = ROLE_NORMAL,
    [ROLE_STATUS_OK] = ROLE_STATUS_BAR,
    [ROLE_STATUS_WARN] = ROLE_STATUS_BAR,
    [ROLE_STATUS_ERROR] = ROLE_STATUS_BAR,
    [ROLE_KEY_HINT] = ROLE_STATUS_BAR,
    [ROLE_HINT] = ROLE_NORMAL,
    [ROLE_DIALOG] = ROLE_NORMAL,
    [ROLE_DIALOG_KEY] = ROLE_DIALOG,
};

static const char *const color_names[] = {
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

int theme_color_from_name(const char *w) {
    if (strcmp(w, "default") == 0) return THEME_DEFAULT_COLOR;
    if (isdigit((unsigned char)w[0])) {
        char *end;
        errno = 0;
        long v = strtol(w, &end, 10);
        if (*end || errno) return -2;
        return v >= 0 && v <= 255 ? (int)v : -3;
    }
    if (strcmp(w, "grey") == 0 || strcmp(w, "gray") == 0) return 8;
    int bright = 0;
    if (strncmp(w, "bright-", 7) == 0) {
        bright = 8;
        w += 7;
    }
    for (int i = 0; i < 8; i++)
        if (strcmp(w, color_names[i]) == 0) return i + bright;
    return -2;
}

static const struct {
    const char *name;
    unsigned bit;
} attr_names[] = {
    {"bold", THEME_BOLD},           {"dim", THEME_DIM},       {"underline", THEME_UNDERLINE},
    {"reverse", THEME_REVERSE},     {"italic", THEME_ITALIC}, {"standout", THEME_STANDOUT},
    {"none", 0},
};

static int parse_attr(const char *w, unsigned *out) {
    for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++)
        if (strcmp(w, attr_names[i].name) == 0) {
            *out |= attr_names[i].bit;
            return 0;
        }
    return -1;
}

/* Splits s in place on blanks; returns the number of words (at most max). */
static int split_words(char *s, char **words, int max) {
    int n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) break;
        if (n == max) return max + 1;
        words[n++] = s;
        while (*s && *s != ' ' && *s != '\t') s++;
        if (*s) *s++ = '\0';
    }
    return n;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static int color_error(char *err, size_t errlen, const char *file, int line, const char *what,
                       const char *word, int code) {
    if (code == -3)
        return util_err(err, errlen, "%s:%d: %s colour %s is out of range (0-255)", file, line,
                        what, word);
    return util_err(err, errlen,
                    "%s:%d: unknown %s colour '%s' (use default, black, red, green, yellow, "
                    "blue, magenta, cyan, white, bright-<colour>, or 0-255)",
                    file, line, what, word);
}

int theme_parse(Theme *out, const char *name, const char *text, const char *file, char *err,
                size_t errlen) {
    Theme t;
    int defined_on[ROLE__COUNT] = {0};
    memset(&t, 0, sizeof t);
    util_strlcpy(t.name, name ? name : "theme", sizeof t.name);
    t.max_color = -1;
    if (!file) file = "theme";

    const char *p = text;
    int lineno = 0, nroles = 0;
    while (*p) {
        lineno++;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= THEME_MAX_LINE)
            return util_err(err, errlen, "%s:%d: line longer than %d characters", file, lineno,
                            THEME_MAX_LINE - 1);
        char buf[THEME_MAX_LINE];
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = nl ? nl + 1 : p + len;
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        char *line = trim(buf);
        if (!*line) continue;

        char *eq = strchr(line, '=');
        if (!eq)
            return util_err(err, errlen,
                            "%s:%d: missing '=' (expected: role = fg bg [attributes])", file,
                            lineno);
        *eq = '\0';
        char *role_word = trim(line);
        char *rest = eq + 1;
        if (!*role_word)
            return util_err(err, errlen, "%s:%d: missing role name before '='", file, lineno);
        int role = ui_role_from_name(role_word);
        if (role < 0)
            return util_err(err, errlen,
                            "%s:%d: unknown role '%s' (themes/default.theme lists every role)",
                            file, lineno, role_word);
        if (defined_on[role])
            return util_err(err, errlen, "%s:%d: role '%s' defined twice (first on line %d)",
                            file, lineno, role_word, defined_on[role]);

        for (char *c = rest; *c; c++)
            if (*c == ',') *c = ' ';
        char *w[12];
        int nw = split_words(rest, w, 10);
        if (nw < 2)
            return util_err(err, errlen,
                            "%s:%d: role '%s' needs a foreground and a background colour "
                            "(e.g. \"%s = white default bold\")",
                            file, lineno, role_word, role_word);
        if (nw > 10)
            return util_err(err, errlen, "%s:%d: too many words for role '%s'", file, lineno,
                            role_word);
        int fg = theme_color_from_name(w[0]);
        if (fg < -1) return color_error(err, errlen, file, lineno, "foreground", w[0], fg);
        int bg = theme_color_from_name(w[1]);
        if (bg < -1) return color_error(err, errlen, file, lineno, "background", w[1], bg);
        unsigned attrs = 0;
        for (int i = 2; i < nw; i++)
            if (parse_attr(w[i], &attrs) < 0)
                return util_err(err, errlen,
                                "%s:%d: unknown attribute '%s' (use bold, dim, underline, "
                                "reverse, italic, standout or none)",
                                file, lineno, w[i]);
        t.style[role].fg = (short)fg;
        t.style[role].bg = (short)bg;
        t.style[role].attrs = attrs;
        defined_on[role] = lineno;
        nroles++;
        if (fg > t.max_color) t.max_color = fg;
        if (bg > t.max_color) t.max_color = bg;
    }
    if (nroles == 0)
        return util_err(err, errlen, "%s:%d: no roles defined (expected lines like "
                        "\"title = cyan default bold\")", file, lineno > 0 ? lineno : 1);

    if (!defined_on[ROLE_NORMAL]) {
        t.style[ROLE_NORMAL].fg = THEME_DEFAULT_COLOR;
        t.style[ROLE_NORMAL].bg = THEME_DEFAULT_COLOR;
        t.style[ROLE_NORMAL].attrs = 0;
        defined_on[ROLE_NORMAL] = -1;
    }
    /* Inherit: parents first. The parent graph is a tree rooted at normal,
     * so ROLE__COUNT passes always settle it. */
    for (int pass = 0; pass < ROLE__COUNT; pass++)
        for (int r = 0; r < ROLE__COUNT; r++)
            if (!defined_on[r] && defined_on[role_parent[r]]) {
                t.style[r] = t.style[role_parent[r]];
                defined_on[r] = -1;
            }
    *out = t;
    return 0;
}

void theme_builtin_default(Theme *t) {
    char err[FERRY_ERR_LEN];
    if (theme_parse(t, "default", theme_default_text, "built-in default", err, sizeof err) < 0) {
        /* Cannot happen unless the embedded text is broken; unit-tested. */
        memset(t, 0, sizeof *t);
        util_strlcpy(t->name, "default", sizeof t->name);
        for (int r = 0; r < ROLE__COUNT; r++) t->style[r].fg = t->style[r].bg = -1;
        t->max_color = -1;
    }
}

int theme_load_file(Theme *t, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return util_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(THEME_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return util_err(err, errlen, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, THEME_MAX_FILE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        return util_err(err, errlen, "%s: cannot read", path);
    }
    if (n > THEME_MAX_FILE) {
        free(buf);
        return util_err(err, errlen, "%s: larger than %d KiB; is this a theme file?", path,
                        THEME_MAX_FILE / 1024);
    }
    if (memchr(buf, '\0', n)) {
        free(buf);
        return util_err(err, errlen, "%s: contains NUL bytes; is this a theme file?", path);
    }
    buf[n] = '\0';

    char name[64];
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    util_strlcpy(name, base, sizeof name);
    size_t nl = strlen(name);
    if (nl > 6 && strcmp(name + nl - 6, ".theme") == 0) name[nl - 6] = '\0';

    int rc = theme_parse(t, name, buf, path, err, errlen);
    free(buf);
    return rc;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int valid_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return 0;
    return 1;
}

int theme_resolve(const char *spec, char *path, size_t pathlen, char *err, size_t errlen) {
    size_t n = strlen(spec);
    if (strchr(spec, '/') || (n > 6 && strcmp(spec + n - 6, ".theme") == 0)) {
        if (!is_file(spec))
            return util_err(err, errlen, "theme file %s: %s", spec,
                            access(spec, F_OK) == 0 ? "not a regular file" : strerror(errno));
        if (util_strlcpy(path, spec, pathlen) < 0)
            return util_err(err, errlen, "theme file path too long: %s", spec);
        return 0;
    }
    if (!valid_name(spec))
        return util_err(err, errlen,
                        "theme name '%s' is not valid (a name like 'light', or a path to a "
                        ".theme file)",
                        spec);
    const char *dirs[2];
    int nd = 0;
    const char *env = getenv("FERRY_THEMES_DIR");
    if (env && *env) dirs[nd++] = env;
    dirs[nd++] = FERRY_SOURCE_DIR "/themes";
    char tried[FERRY_ERR_LEN] = "";
    for (int i = 0; i < nd; i++) {
        char cand[4096];
        snprintf(cand, sizeof cand, "%s/%s.theme", dirs[i], spec);
        if (is_file(cand)) {
            if (util_strlcpy(path, cand, pathlen) < 0)
                return util_err(err, errlen, "theme file path too long: %s", cand);
            return 0;
        }
        size_t tl = strlen(tried);
        snprintf(tried + tl, sizeof tried - tl, "%s%s", tl ? ", " : "", dirs[i]);
    }
    return util_err(err, errlen,
                    "theme '%s' not found in %s (themes: default, light, high-contrast, mono, "
                    "solarized; or give a path)",
                    spec, tried);
}

int theme_load(Theme *t, const char *spec, char *err, size_t errlen) {
    char path[4096];
    if (theme_resolve(spec, path, sizeof path, err, errlen) < 0) {
        if (strcmp(spec, "default") == 0) {
            theme_builtin_default(t);
            return 0;
        }
        return -1;
    }
    return theme_load_file(t, path, err, errlen);
}
