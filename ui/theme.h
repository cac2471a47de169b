/* theme — colour themes: which colour and attributes each UiRole gets.
 *
 * A theme is a plain-text file in themes/ (see themes/default.theme):
 *
 *     # comment
 *     role = fg bg [attr ...]
 *
 * fg/bg: default, black, red, green, yellow, blue, magenta, cyan, white,
 * bright-black (grey) … bright-white, or a number 0-255. Attributes: bold,
 * dim, underline, reverse, italic, standout, none; several may be given,
 * separated by blanks or commas. A role a file does not mention inherits
 * from its parent role (title-focus from title, log-warn from value-warn…),
 * so a theme can be a handful of lines.
 *
 * The parser works like tmux's style_parse: on any error the caller's theme
 * is left untouched and err says "file:line: what is wrong". This module has
 * no ncurses in it; console.c turns a Theme into colour pairs. */
#ifndef FERRY_THEME_H
#define FERRY_THEME_H

#include <stddef.h>

#include "uimodel.h"

enum {
    THEME_BOLD = 1 << 0,
    THEME_DIM = 1 << 1,
    THEME_UNDERLINE = 1 << 2,
    THEME_REVERSE = 1 << 3,
    THEME_ITALIC = 1 << 4,
    THEME_STANDOUT = 1 << 5,
};

#define THEME_DEFAULT_COLOR (-1)
#define THEME_MAX_LINE 512
#define THEME_MAX_FILE (64 * 1024)

typedef struct ThemeStyle {
    short fg, bg;   /* THEME_DEFAULT_COLOR or 0..255 */
    unsigned attrs; /* THEME_* */
} ThemeStyle;

typedef struct Theme {
    char name[64];   /* "default", or the file's base name */
    ThemeStyle style[ROLE__COUNT];
    int max_color;   /* highest colour number used; -1 if only "default" */
} Theme;

/* The themes `t` cycles through, in order; NULL-terminated. */
extern const char *const theme_cycle[];

/* The compiled-in copy of themes/default.theme: the fallback that always
 * works, even when themes/ cannot be found. */
extern const char theme_default_text[];
void theme_builtin_default(Theme *t);

/* Parses text (NUL-terminated). `file` is only used in messages. On error
 * returns -1, leaves *t unchanged and writes "file:line: what" to err. */
int theme_parse(Theme *t, const char *name, const char *text, const char *file, char *err,
                size_t errlen);
/* Reads and parses one file; the theme's name is the file's base name
 * without ".theme". */
int theme_load_file(Theme *t, const char *path, char *err, size_t errlen);

/* Finds the file for --theme NAME|PATH. Something with a '/' or ending in
 * ".theme" is a path; a name is looked up as NAME.theme in $FERRY_THEMES_DIR
 * (when set), then in FERRY_SOURCE_DIR/themes. -1 with a message naming the
 * places searched. */
int theme_resolve(const char *name_or_path, char *path, size_t pathlen, char *err,
                  size_t errlen);
/* Resolves and loads. The name "default" always succeeds: when no file is
 * found it is the built-in copy. */
int theme_load(Theme *t, const char *name_or_path, char *err, size_t errlen);

/* Parses one colour word ("bright-red", "33", "default"); -2 if unknown. */
int theme_color_from_name(const char *word);

#endif
