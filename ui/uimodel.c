/* uimodel — cell grids, clipped canvases and the text primitives every panel
 * uses. See uimodel.h. */
#include "uimodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[ROLE__COUNT] = {
    [ROLE_NORMAL] = "normal",
    [ROLE_TITLE] = "title",
    [ROLE_TITLE_FOCUS] = "title-focus",
    [ROLE_BORDER] = "border",
    [ROLE_LABEL] = "label",
    [ROLE_VALUE] = "value",
    [ROLE_VALUE_WARN] = "value-warn",
    [ROLE_VALUE_ERROR] = "value-error",
    [ROLE_OK] = "ok",
    [ROLE_PENDING] = "pending",
    [ROLE_STALE] = "stale",
    [ROLE_DIM] = "dim",
    [ROLE_SPARKLINE] = "sparkline",
    [ROLE_BAR_FILL] = "bar-fill",
    [ROLE_BAR_EMPTY] = "bar-empty",
    [ROLE_LOG_TIME] = "log-time",
    [ROLE_LOG_INFO] = "log-info",
    [ROLE_LOG_WARN] = "log-warn",
    [ROLE_LOG_ERROR] = "log-error",
    [ROLE_LOG_OPERATOR] = "log-operator",
    [ROLE_STATUS_BAR] = "status-bar",
    [ROLE_STATUS_OK] = "status-ok",
    [ROLE_STATUS_WARN] = "status-warn",
    [ROLE_STATUS_ERROR] = "status-error",
    [ROLE_KEY_HINT] = "key-hint",
    [ROLE_HINT] = "hint",
    [ROLE_DIALOG] = "dialog",
    [ROLE_DIALOG_KEY] = "dialog-key",
};

const char *ui_role_name(UiRole r) {
    if ((int)r < 0 || r >= ROLE__COUNT) return NULL;
    return role_names[r];
}

int ui_role_from_name(const char *name) {
    for (int i = 0; i < ROLE__COUNT; i++)
        if (strcmp(role_names[i], name) == 0) return i;
    return -1;
}

const UiGlyphs ui_glyphs_unicode = {
    .ascii = 0,
    .hline = "─", .vline = "│",
    .tl = "┌", .tr = "┐", .bl = "└", .br = "┘",
    .ellipsis = "…", .arrow = "→", .sep = "·", .unknown = "—",
    .up = "↑", .down = "↓",
    .spark = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"},
    .bar_fill = "█", .bar_empty = "░",
};

const UiGlyphs ui_glyphs_ascii = {
    .ascii = 1,
    .hline = "-", .vline = "|",
    .tl = "+", .tr = "+", .bl = "+", .br = "+",
    .ellipsis = "~", .arrow = "->", .sep = "|", .unknown = "-",
    .up = "^", .down = "v",
    .spark = {" ", ".", ",", ":", "-", "=", "+", "*", "#"},
    .bar_fill = "#", .bar_empty = ".",
};

int ui_grid_init(UiGrid *g, int w, int h) {
    g->w = w > 0 ? w : 0;
    g->h = h > 0 ? h : 0;
    g->cells = NULL;
    if (g->w && g->h) {
        g->cells = malloc((size_t)g->w * (size_t)g->h * sizeof *g->cells);
        if (!g->cells) {
            g->w = g->h = 0;
            return -1;
        }
    }
    ui_grid_clear(g);
    return 0;
}

void ui_grid_free(UiGrid *g) {
    free(g->cells);
    g->cells = NULL;
    g->w = g->h = 0;
}

void ui_grid_clear(UiGrid *g) {
    for (int i = 0; i < g->w * g->h; i++) {
        memset(g->cells[i].ch, 0, sizeof g->cells[i].ch);
        g->cells[i].ch[0] = ' ';
        g->cells[i].role = ROLE_NORMAL;
    }
}

UiCanvas ui_canvas(UiGrid *g, const UiGlyphs *gl) {
    UiCanvas c = {.g = g, .x = 0, .y = 0, .w = g->w, .h = g->h, .gl = gl};
    return c;
}

UiCanvas ui_canvas_sub(const UiCanvas *c, int x, int y, int w, int h) {
    UiCanvas s = *c;
    if (x < 0) { w += x; x = 0; }
    if (y < 0) { h += y; y = 0; }
    if (x > c->w) x = c->w;
    if (y > c->h) y = c->h;
    if (w > c->w - x) w = c->w - x;
    if (h > c->h - y) h = c->h - y;
    s.x = c->x + x;
    s.y = c->y + y;
    s.w = w > 0 ? w : 0;
    s.h = h > 0 ? h : 0;
    return s;
}

static UiCell *cell_at(const UiCanvas *c, int row, int col) {
    if (row < 0 || col < 0 || row >= c->h || col >= c->w) return NULL;
    int gx = c->x + col, gy = c->y + row;
    if (gx < 0 || gy < 0 || gx >= c->g->w || gy >= c->g->h) return NULL;
    return &c->g->cells[gy * c->g->w + gx];
}

void ui_canvas_fill(const UiCanvas *c, UiRole role) {
    for (int r = 0; r < c->h; r++)
        for (int k = 0; k < c->w; k++) {
            UiCell *cell = cell_at(c, r, k);
            if (!cell) continue;
            memset(cell->ch, 0, sizeof cell->ch);
            cell->ch[0] = ' ';
            cell->role = (uint8_t)role;
        }
}

/* Decodes one UTF-8 code point; returns bytes consumed (>= 1) and sets *cp,
 * or sets *cp = -1 for a malformed sequence (consuming one byte). */
static int utf8_next(const unsigned char *s, long *cp) {
    unsigned char c = s[0];
    int n;
    long v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07;
    } else {
        *cp = -1;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    static const long minv[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < minv[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        *cp = -1;
        return 1;
    }
    *cp = v;
    return n;
}

/* Code points that would not take exactly one terminal cell: controls,
 * combining marks, wide East Asian and emoji ranges. */
static int cp_single_width(long cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
        (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff)
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
        (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
        (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || cp >= 0x20000)
        return 0;
    return 1;
}

static const struct {
    long cp;
    const char *ascii;
} translit[] = {
    {0x2192, "->"}, {0x2190, "<-"}, {0x2026, "..."}, {0x00b7, "."}, {0x2014, "--"},
    {0x2013, "-"},  {0x2191, "^"},  {0x2193, "v"},   {0x2500, "-"}, {0x2502, "|"},
    {0x250c, "+"},  {0x2510, "+"},  {0x2514, "+"},   {0x2518, "+"}, {0x2588, "#"},
    {0x2591, "."},  {0x2022, "*"},  {0x00d7, "x"},   {0x2265, ">="}, {0x2264, "<="},
    {0x2248, "~"},  {0x2018, "'"},  {0x2019, "'"},   {0x201c, "\""}, {0x201d, "\""},
    {0x2581, "."},  {0x2582, ","},  {0x2583, ":"},   {0x2584, "-"}, {0x2585, "="},
    {0x2586, "+"},  {0x2587, "*"},  {0x00a0, " "},
};

/* Calls emit(ctx, glyph, len) once per cell that text occupies. */
typedef int (*emit_fn)(void *ctx, const char *glyph, int len);

static void walk(const char *text, int ascii, emit_fn emit, void *ctx) {
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        long cp;
        int n = utf8_next(s, &cp);
        const char *glyph = (const char *)s;
        int glen = n;
        if (cp < 0 || !cp_single_width(cp)) {
            glyph = "?";
            glen = 1;
        } else if (ascii && cp >= 0x80) {
            glyph = "?";
            glen = 1;
            for (size_t i = 0; i < sizeof translit / sizeof translit[0]; i++)
                if (translit[i].cp == cp) {
                    /* multi-character transliterations emit one cell each */
                    const char *t = translit[i].ascii;
                    for (; *t; t++)
                        if (emit(ctx, t, 1)) return;
                    glyph = NULL;
                    break;
                }
        }
        s += n;
        if (glyph && emit(ctx, glyph, glen)) return;
    }
}

static int count_emit(void *ctx, const char *glyph, int len) {
    (void)glyph, (void)len;
    (*(int *)ctx)++;
    return 0;
}

int ui_text_width(const char *text, int ascii) {
    int n = 0;
    if (text) walk(text, ascii, count_emit, &n);
    return n;
}

typedef struct PutCtx {
    const UiCanvas *c;
    int row, col, limit, written;
    UiRole role;
} PutCtx;

static int put_emit(void *ctx, const char *glyph, int len) {
    PutCtx *p = ctx;
    if (p->written >= p->limit) return 1;
    UiCell *cell = cell_at(p->c, p->row, p->col + p->written);
    if (cell) {
        memset(cell->ch, 0, sizeof cell->ch);
        memcpy(cell->ch, glyph, (size_t)(len > 4 ? 4 : len));
        cell->role = (uint8_t)p->role;
    }
    p->written++;
    return 0;
}

static int put_limited(const UiCanvas *c, int row, int col, int limit, UiRole role,
                       const char *text) {
    if (!text || row < 0 || row >= c->h || col >= c->w) return 0;
    if (limit > c->w - col) limit = c->w - col;
    if (limit <= 0) return 0;
    PutCtx p = {.c = c, .row = row, .col = col, .limit = limit, .written = 0, .role = role};
    walk(text, c->gl->ascii, put_emit, &p);
    return p.written;
}

int ui_put(const UiCanvas *c, int row, int col, UiRole role, const char *text) {
    return put_limited(c, row, col, c->w, role, text);
}

int ui_put_trunc(const UiCanvas *c, int row, int col, int maxw, UiRole role,
                 const char *text) {
    if (maxw > c->w - col) maxw = c->w - col;
    if (maxw <= 0 || !text) return 0;
    int w = ui_text_width(text, c->gl->ascii);
    if (w <= maxw) return put_limited(c, row, col, maxw, role, text);
    int ew = ui_text_width(c->gl->ellipsis, c->gl->ascii);
    if (maxw <= ew) return put_limited(c, row, col, maxw, role, text);
    int n = put_limited(c, row, col, maxw - ew, role, text);
    /* "target …" reads worse than "target…": drop blanks before the cut */
    while (n > 0) {
        UiCell *cell = cell_at(c, row, col + n - 1);
        if (!cell || cell->ch[0] != ' ' || cell->ch[1]) break;
        n--;
    }
    n += put_limited(c, row, col + n, ew, role, c->gl->ellipsis);
    /* blank what the dropped blanks and the ellipsis no longer cover */
    for (int k = n; k < maxw; k++) put_limited(c, row, col + k, 1, role, " ");
    return n;
}

int ui_put_mid(const UiCanvas *c, int row, int col, int maxw, UiRole role, const char *text) {
    if (maxw > c->w - col) maxw = c->w - col;
    if (maxw <= 0 || !text) return 0;
    int w = ui_text_width(text, c->gl->ascii);
    int ew = ui_text_width(c->gl->ellipsis, c->gl->ascii);
    if (w <= maxw || maxw <= ew + 2) return ui_put_trunc(c, row, col, maxw, role, text);
    int keep = maxw - ew;
    int head = (keep + 1) / 2, tail = keep - head;
    int n = put_limited(c, row, col, head, role, text);
    n += put_limited(c, row, col + n, ew, role, c->gl->ellipsis);
    /* Find the byte where the last `tail` cells start: walk the text and stop
     * at cell w - tail. Transliterations may span cells; the tail then starts
     * at the next whole code point, which is close enough. */
    const unsigned char *s = (const unsigned char *)text;
    int cells = 0;
    while (*s && cells < w - tail) {
        long cp;
        int b = utf8_next(s, &cp);
        char one[5] = {0};
        memcpy(one, s, (size_t)b);
        cells += ui_text_width(one, c->gl->ascii);
        s += b;
    }
    return n + put_limited(c, row, col + n, tail, role, (const char *)s);
}

int ui_put_right(const UiCanvas *c, int row, int end, UiRole role, const char *text) {
    int w = ui_text_width(text, c->gl->ascii);
    int col = end - w;
    if (col < 0) {
        ui_put_trunc(c, row, 0, end, role, text);
        return 0;
    }
    ui_put(c, row, col, role, text);
    return col;
}

void ui_put_repeat(const UiCanvas *c, int row, int col, int n, UiRole role, const char *glyph) {
    for (int i = 0; i < n; i++)
        if (put_limited(c, row, col + i, 1, role, glyph) == 0) break;
}

void ui_set_role(const UiCanvas *c, int row, int col, int n, UiRole role) {
    for (int i = 0; i < n; i++) {
        UiCell *cell = cell_at(c, row, col + i);
        if (cell) cell->role = (uint8_t)role;
    }
}

void ui_grid_row_text(const UiGrid *g, int row, char *buf, size_t len) {
    if (!buf || len == 0) return;
    buf[0] = '\0';
    if (!g || row < 0 || row >= g->h) return;
    size_t pos = 0, keep = 0;
    for (int x = 0; x < g->w; x++) {
        const UiCell *cell = &g->cells[row * g->w + x];
        size_t n = strnlen(cell->ch, sizeof cell->ch);
        if (pos + n + 1 > len) break;
        memcpy(buf + pos, cell->ch, n);
        pos += n;
        if (!(n == 1 && cell->ch[0] == ' ')) keep = pos;
    }
    buf[keep] = '\0';
}

int ui_grid_find(const UiGrid *g, const char *needle, int *row, int *col) {
    size_t len = (size_t)g->w * 4 + 1;
    char *buf = malloc(len);
    if (!buf) return 0;
    for (int r = 0; r < g->h; r++) {
        ui_grid_row_text(g, r, buf, len);
        char *hit = strstr(buf, needle);
        if (!hit) continue;
        /* convert the byte offset to a cell column */
        int c = 0;
        const unsigned char *s = (const unsigned char *)buf;
        while ((const char *)s < hit) {
            long cp;
            s += utf8_next(s, &cp);
            c++;
        }
        if (row) *row = r;
        if (col) *col = c;
        free(buf);
        return 1;
    }
    free(buf);
    return 0;
}

int ui_grid_role_at(const UiGrid *g, int row, int col) {
    if (!g || row < 0 || col < 0 || row >= g->h || col >= g->w) return -1;
    return g->cells[row * g->w + col].role;
}

/* Splits text into lines of at most width cells, breaking after a blank when
 * there is one. Writes the byte offset of each line start into starts (at
 * most max) and returns the number of lines (>= 1). */
int ui_wrap(const char *text, int width, int ascii, int *starts, int max) {
    int n = 0, len = (int)strlen(text), pos = 0;
    if (width < 1) width = 1;
    while (n < max) {
        starts[n++] = pos;
        /* advance over `width` cells */
        int cells = 0, p = pos, last_space = -1;
        while (p < len && cells < width) {
            int b = 1;
            unsigned char c = (unsigned char)text[p];
            if (c >= 0xf0) b = 4;
            else if (c >= 0xe0) b = 3;
            else if (c >= 0xc0) b = 2;
            if (p + b > len) b = len - p;
            char one[5] = {0};
            memcpy(one, text + p, (size_t)b);
            int cw = ui_text_width(one, ascii);
            if (cells + cw > width) break;
            cells += cw;
            if (text[p] == ' ') last_space = p;
            p += b;
        }
        if (p >= len) break;
        if (last_space > pos && text[p] != ' ') p = last_space + 1;
        while (p < len && text[p] == ' ') p++;
        if (p >= len) break;
        pos = p;
    }
    return n;
}

int ui_put_wrapped(const UiCanvas *c, int row, int col, int width, int max_rows, UiRole role,
                   const char *text) {
    int starts[64];
    int n = ui_wrap(text, width, c->gl->ascii, starts, 64);
    int len = (int)strlen(text);
    if (n > max_rows) n = max_rows;
    for (int i = 0; i < n; i++) {
        int end = i + 1 < n ? starts[i + 1] : len;
        char *line = malloc((size_t)(end - starts[i]) + 1);
        if (!line) return i;
        memcpy(line, text + starts[i], (size_t)(end - starts[i]));
        line[end - starts[i]] = '\0';
        /* the last row allowed gets an ellipsis when text remains */
        if (i == n - 1 && end < len) {
            ui_put_trunc(c, row + i, col, width, role, text + starts[i]);
        } else {
            size_t l = strlen(line);
            while (l && line[l - 1] == ' ') line[--l] = '\0';
            ui_put_trunc(c, row + i, col, width, role, line);
        }
        free(line);
    }
    return n;
}

void ui_spark_levels(const float *hist, int n, int width, int secs_per_col, int height,
                     int *out, double *peak) {
    double maxv = 0;
    if (secs_per_col < 1) secs_per_col = 1;
    if (height < 1) height = 1;
    double *avg = calloc((size_t)(width > 0 ? width : 1), sizeof *avg);
    for (int i = 0; i < width; i++) {
        /* column width-1 holds the newest bucket */
        int newest = n - 1 - (width - 1 - i) * secs_per_col;
        int oldest = newest - secs_per_col + 1;
        if (newest < 0) {
            out[i] = -1;
            continue;
        }
        if (oldest < 0) oldest = 0;
        double sum = 0;
        for (int k = oldest; k <= newest; k++) sum += hist[k] > 0 ? hist[k] : 0;
        avg[i] = sum / (newest - oldest + 1);
        if (avg[i] > maxv) maxv = avg[i];
        out[i] = 0;
    }
    for (int i = 0; i < width; i++) {
        if (out[i] < 0 || avg[i] <= 0 || maxv <= 0) continue;
        int lv = (int)ceil(avg[i] / maxv * height * 8 - 1e-9);
        if (lv < 1) lv = 1;
        if (lv > height * 8) lv = height * 8;
        out[i] = lv;
    }
    free(avg);
    if (peak) *peak = maxv;
}
