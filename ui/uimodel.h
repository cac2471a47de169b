/* uimodel — the console's render model: a grid of cells, each one glyph
 * painted in a colour *role*, never a colour.
 *
 * Every panel is a pure function that writes into a UiCanvas (a clipped
 * window onto a UiGrid); the only code that knows about ncurses is the
 * painter in console.c, which copies a finished grid to the terminal. Tests
 * build the same grids and read them back with ui_grid_row_text() and
 * ui_grid_find(), the way tig reads its own screen.
 *
 * Text is UTF-8. Every code point takes one cell (ferry's own glyphs are all
 * single-width); control characters become '?', so a key name or a server's
 * error string can never move the cursor. In ASCII mode the few non-ASCII
 * glyphs ferry uses are transliterated (→ "->", … "...") and anything else
 * becomes '?'. Writes outside a canvas are clipped, never wrapped. */
#ifndef FERRY_UIMODEL_H
#define FERRY_UIMODEL_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ROLE_NORMAL = 0,   /* screen background and plain text */
    ROLE_TITLE,        /* panel titles */
    ROLE_TITLE_FOCUS,  /* the focused panel's title */
    ROLE_BORDER,       /* title rules, dialog frames */
    ROLE_LABEL,        /* "copied", "ops/s" */
    ROLE_VALUE,        /* the numbers */
    ROLE_VALUE_WARN,   /* a number that needs a look (memory 85%, backoff) */
    ROLE_VALUE_ERROR,  /* a number that needs action (failed keys, OOM) */
    ROLE_OK,           /* finished, healthy */
    ROLE_PENDING,      /* starting, estimating, waiting */
    ROLE_STALE,        /* last known value, no longer fresh */
    ROLE_DIM,          /* placeholders, idle, secondary text */
    ROLE_SPARKLINE,
    ROLE_BAR_FILL,
    ROLE_BAR_EMPTY,
    ROLE_LOG_TIME,
    ROLE_LOG_INFO,
    ROLE_LOG_WARN,
    ROLE_LOG_ERROR,
    ROLE_LOG_OPERATOR,
    ROLE_STATUS_BAR,   /* the top line */
    ROLE_STATUS_OK,    /* RUNNING, DONE */
    ROLE_STATUS_WARN,  /* PAUSED, STOPPING, STOPPED */
    ROLE_STATUS_ERROR, /* FAILED */
    ROLE_KEY_HINT,     /* a key in the bottom line */
    ROLE_HINT,         /* its description */
    ROLE_DIALOG,       /* help and confirmation boxes */
    ROLE_DIALOG_KEY,   /* a key inside a dialog */
    ROLE__COUNT
} UiRole;

/* "title-focus"; NULL for an out-of-range role. */
const char *ui_role_name(UiRole r);
/* Role for a name as written in theme files, or -1. */
int ui_role_from_name(const char *name);

typedef struct UiRect {
    int x, y, w, h;
} UiRect;

typedef struct UiCell {
    char ch[4];    /* one UTF-8 code point, NUL-padded when shorter */
    uint8_t role;  /* UiRole */
} UiCell;

typedef struct UiGrid {
    int w, h;
    UiCell *cells; /* w*h, owned */
} UiGrid;

/* Glyphs that differ between Unicode and ASCII terminals. */
typedef struct UiGlyphs {
    int ascii;
    const char *hline, *vline;
    const char *tl, *tr, *bl, *br; /* dialog corners */
    const char *ellipsis;          /* one cell in Unicode, "~" in ASCII */
    const char *arrow;             /* "→" / "->" */
    const char *sep;               /* "·" / "|" */
    const char *unknown;           /* "—" / "-" */
    const char *up, *down;
    const char *spark[9];          /* spark[0] = nothing, spark[8] = full */
    const char *bar_fill, *bar_empty;
} UiGlyphs;

extern const UiGlyphs ui_glyphs_unicode;
extern const UiGlyphs ui_glyphs_ascii;

/* A clipped window onto a grid; what panels draw into. */
typedef struct UiCanvas {
    UiGrid *g;
    int x, y, w, h;
    const UiGlyphs *gl;
} UiCanvas;

/* Allocates a w×h grid of blanks in ROLE_NORMAL. -1 on allocation failure. */
int ui_grid_init(UiGrid *g, int w, int h);
void ui_grid_free(UiGrid *g);
void ui_grid_clear(UiGrid *g);
UiCanvas ui_canvas(UiGrid *g, const UiGlyphs *gl);
/* Sub-canvas at (x, y) relative to c, clipped to c. */
UiCanvas ui_canvas_sub(const UiCanvas *c, int x, int y, int w, int h);
/* Fills every cell of c with blanks in role. */
void ui_canvas_fill(const UiCanvas *c, UiRole role);

/* Display width of text as ui_put would draw it (ASCII transliteration
 * included when ascii is set). */
int ui_text_width(const char *text, int ascii);

/* Writes text at (row, col) of c, clipped to c's width. Returns the number of
 * cells written. */
int ui_put(const UiCanvas *c, int row, int col, UiRole role, const char *text);
/* Writes at most maxw cells; text longer than that is cut and ends with the
 * ellipsis. Returns cells written. */
int ui_put_trunc(const UiCanvas *c, int row, int col, int maxw, UiRole role, const char *text);
/* Like ui_put_trunc but keeps the start and the end, cutting the middle:
 * "source redis://adm…cache.example.com:6379/1". */
int ui_put_mid(const UiCanvas *c, int row, int col, int maxw, UiRole role, const char *text);
/* Right-aligned so that the last cell is at column end-1. Returns the column
 * where the text starts. */
int ui_put_right(const UiCanvas *c, int row, int end, UiRole role, const char *text);
/* n copies of one glyph. */
void ui_put_repeat(const UiCanvas *c, int row, int col, int n, UiRole role, const char *glyph);
/* Sets the role of n cells without changing their glyphs. */
void ui_set_role(const UiCanvas *c, int row, int col, int n, UiRole role);

/* Reading a grid back (tests, and the e2e-style render checks). The row's
 * text is UTF-8 with trailing blanks removed; NULL-safe. */
void ui_grid_row_text(const UiGrid *g, int row, char *buf, size_t len);
/* First occurrence of needle, searching row by row. 1 and *row, *col (cell
 * column) when found, 0 when not. */
int ui_grid_find(const UiGrid *g, const char *needle, int *row, int *col);
/* Role of one cell, or -1 outside the grid. */
int ui_grid_role_at(const UiGrid *g, int row, int col);

/* Splits text into lines of at most width cells, breaking after a blank
 * when there is one. Writes each line's starting byte offset into starts (at
 * most max) and returns the number of lines (>= 1). */
int ui_wrap(const char *text, int width, int ascii, int *starts, int max);
/* Writes text wrapped to width over at most max_rows rows; the last row ends
 * with the ellipsis when text is left over. Returns the rows used. */
int ui_put_wrapped(const UiCanvas *c, int row, int col, int width, int max_rows, UiRole role,
                   const char *text);

/* Levels for a sparkline or a bar chart `height` cells tall: the last
 * `width*secs_per_col` samples of hist (newest at n-1) averaged into `width`
 * columns aligned on the newest sample, scaled so that *peak (the largest
 * column average, also returned) is height*8. out[i] is 0..height*8 where
 * 0 means nothing and any non-zero sample gets at least 1. Columns older than
 * the history are -1 (drawn blank). */
void ui_spark_levels(const float *hist, int n, int width, int secs_per_col, int height,
                     int *out, double *peak);

#endif
