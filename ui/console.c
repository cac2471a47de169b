/* console — the ncurses side of the console: terminal setup, the frame
 * loop, signals, colours, and painting a finished UiGrid.
 *
 * This is the only file that includes curses.h. Everything it draws is built
 * by view_build_screen() from a snapshot; this file only paints cells.
 *
 * The loop (one thread, the caller's):
 *   - takes a snapshot every 200 ms, and right after each operator command
 *     (a runbook run: the runner's, which carries its copy's; the consumer
 *     groups, when the backend samples them, once a second);
 *   - redraws at most every 100 ms (10/s) with wnoutrefresh + doupdate, so
 *     ncurses sends only the cells that changed: no flicker;
 *   - waits in wgetch with a timeout up to the next deadline: no busy loop;
 *   - signal handlers only set volatile sig_atomic_t flags: SIGWINCH →
 *     resizeterm + relayout; SIGINT/SIGTERM → a confirmed quit (twice: leave
 *     without waiting); SIGHUP → ask the engine to stop and leave. */
#include "console.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "layout.h"
#include "theme.h"
#include "uimodel.h"
#include "util.h"
#include "view.h"

#define SNAPSHOT_EVERY_MS 200
#define FRAME_MIN_MS 100

static volatile sig_atomic_t sig_winch, sig_int, sig_hup;

static void on_winch(int sig) {
    (void)sig;
    sig_winch = 1;
}

static void on_int(int sig) {
    (void)sig;
    if (sig_int < 100) sig_int++;
}

static void on_hup(int sig) {
    (void)sig;
    sig_hup = 1;
}

void console_options_init(ConsoleOptions *o) {
    memset(o, 0, sizeof *o);
    o->ascii = -1;
}

/* ---- colours ---------------------------------------------------------- */

static attr_t role_attr[ROLE__COUNT];

static attr_t theme_attrs(unsigned a) {
    attr_t r = A_NORMAL;
    if (a & THEME_BOLD) r |= A_BOLD;
    if (a & THEME_DIM) r |= A_DIM;
    if (a & THEME_UNDERLINE) r |= A_UNDERLINE;
    if (a & THEME_REVERSE) r |= A_REVERSE;
#ifdef A_ITALIC
    if (a & THEME_ITALIC) r |= A_ITALIC;
#endif
    if (a & THEME_STANDOUT) r |= A_STANDOUT;
    return r;
}

static void apply_theme(const Theme *t, int colors, int default_colors) {
    for (int r = 0; r < ROLE__COUNT; r++) {
        attr_t a = theme_attrs(t->style[r].attrs);
        if (colors && r + 1 < COLOR_PAIRS) {
            short fg = t->style[r].fg, bg = t->style[r].bg;
            if (!default_colors) {
                if (fg < 0) fg = COLOR_WHITE;
                if (bg < 0) bg = COLOR_BLACK;
            }
            init_pair((short)(r + 1), fg, bg);
            a |= COLOR_PAIR(r + 1);
        }
        role_attr[r] = a;
    }
}

/* Strips the colours from a theme: what a terminal without colours gets. */
static void theme_strip_colors(Theme *t) {
    for (int r = 0; r < ROLE__COUNT; r++) t->style[r].fg = t->style[r].bg = -1;
    t->max_color = -1;
}

typedef struct Term {
    int colors;         /* the terminal has colours and NO_COLOR is not set */
    int default_colors; /* use_default_colors() worked */
    int ncolors;
} Term;

static void logf_backend(const ConsoleBackend *b, EventLevel lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_backend(const ConsoleBackend *b, EventLevel lvl, const char *fmt, ...) {
    if (!b->log) return;
    char line[EVENTLOG_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    b->log(b->ctx, lvl, line);
}

/* Loads spec into *t for this terminal. Never fails: problems are logged and
 * the default (or mono) theme is used. Returns 0 when spec itself was used. */
static int choose_theme(const ConsoleBackend *b, const Term *term, const ConsoleView *v,
                        const char *spec, Theme *t) {
    char err[FERRY_ERR_LEN];
    if (v->no_color || !term->colors) spec = "mono"; /* attributes are all there is */
    if (!spec || !*spec) spec = "default";
    if (theme_load(t, spec, err, sizeof err) < 0) {
        if (strcmp(spec, "mono") == 0) { /* mono file missing: strip the default */
            theme_builtin_default(t);
            theme_strip_colors(t);
            util_strlcpy(t->name, "mono", sizeof t->name);
            return 0;
        }
        logf_backend(b, EV_WARN, "%s%s; using the default theme",
                     strncmp(err, "theme", 5) == 0 ? "" : "theme ", err);
        theme_builtin_default(t);
        return -1;
    }
    if (term->colors && t->max_color >= term->ncolors) {
        logf_backend(b, EV_WARN,
                     "theme %s needs %d colours; this terminal (TERM=%s) has %d; using the "
                     "default theme",
                     t->name, t->max_color + 1, getenv("TERM") ? getenv("TERM") : "?",
                     term->ncolors);
        theme_builtin_default(t);
        return -1;
    }
    if (!term->colors) theme_strip_colors(t);
    return 0;
}

/* ---- painting ---------------------------------------------------------- */

static void paint(const UiGrid *g) {
    size_t cap = (size_t)g->w * 4 + 1;
    char *run = malloc(cap);
    if (!run) return;
    for (int y = 0; y < g->h; y++) {
        int x = 0;
        while (x < g->w) {
            int role = g->cells[y * g->w + x].role;
            int start = x;
            size_t len = 0;
            while (x < g->w && g->cells[y * g->w + x].role == role) {
                const UiCell *c = &g->cells[y * g->w + x];
                size_t n = strnlen(c->ch, sizeof c->ch);
                memcpy(run + len, c->ch, n);
                len += n;
                x++;
            }
            run[len] = '\0';
            attrset(role < ROLE__COUNT ? role_attr[role] : A_NORMAL);
            /* the last cell of the screen returns ERR (cannot advance): harmless */
            mvaddstr(y, start, run);
        }
    }
    attrset(A_NORMAL);
    free(run);
}

static int translate_key(int ch) {
    switch (ch) {
    case KEY_UP: return UI_KEY_UP;
    case KEY_DOWN: return UI_KEY_DOWN;
    case KEY_LEFT: return UI_KEY_LEFT;
    case KEY_RIGHT: return UI_KEY_RIGHT;
    case KEY_PPAGE: return UI_KEY_PGUP;
    case KEY_NPAGE: return UI_KEY_PGDN;
    case KEY_HOME: return UI_KEY_HOME;
    case KEY_END: return UI_KEY_END;
    case KEY_BTAB: return UI_KEY_BTAB;
    case KEY_ENTER:
    case '\r': return UI_KEY_ENTER;
    case KEY_BACKSPACE:
    case 127:
    case 8: return UI_KEY_BACKSPACE;
    default: return ch >= 0 && ch < 256 ? ch : -1;
    }
}

static int term_size(int *rows, int *cols) {
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
        return 0;
    }
    return -1;
}

static int locale_is_utf8(void) {
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

/* ---- the loop ----------------------------------------------------------- */

int console_run(const ConsoleBackend *b, const ConsoleOptions *o, char *err, size_t errlen) {
    ConsoleOptions defaults;
    console_options_init(&defaults);
    if (!o) o = &defaults;
    if (!b || !b->snapshot) return util_err(err, errlen, "console: no backend to draw");

    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C"); /* numbers in protocol and files stay "1.5" */
    int ascii = o->ascii >= 0 ? o->ascii : !locale_is_utf8();

    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return util_err(err, errlen,
                        "console: stdin and stdout must be a terminal; use --no-tui for "
                        "progress lines");
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr)
        return util_err(err, errlen,
                        "console: cannot open the terminal (TERM=%s); check TERM or use --no-tui",
                        getenv("TERM") ? getenv("TERM") : "unset");

    ConsoleView *v = calloc(1, sizeof *v);
    EngineSnapshot *own = calloc(1, sizeof *own);
    /* A run: the runner's snapshot carries the current copy's; else our own. */
    RunnerSnapshot *rsnap = b->run_snapshot ? calloc(1, sizeof *rsnap) : NULL;
    /* ferry follow: the follower's status next to our own snapshot */
    FollowStatus *fst = b->follow_status && !rsnap ? calloc(1, sizeof *fst) : NULL;
    EngineSnapshot *snap = rsnap ? &rsnap->engine : own;
    UiGrid grid = {0, 0, NULL};
    if (!v || !own || (b->run_snapshot && !rsnap) || (b->follow_status && !rsnap && !fst)) {
        endwin();
        delscreen(scr);
        free(v);
        free(own);
        free(rsnap);
        free(fst);
        return util_err(err, errlen, "console: out of memory");
    }
    view_init(v, o->title, ascii);
    if (fst) {
        v->follow_mode = 1;
        util_strlcpy(v->quit_note, o->quit_note ? o->quit_note : "", sizeof v->quit_note);
    }
    const char *nc = getenv("NO_COLOR");
    v->no_color = nc && *nc;

    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);

    Term term = {0, 0, 0};
    if (has_colors() && !v->no_color && start_color() == OK) {
        term.colors = 1;
        term.default_colors = use_default_colors() == OK;
        term.ncolors = COLORS;
    }
    Theme theme;
    choose_theme(b, &term, v, o->theme, &theme);
    util_strlcpy(v->theme_name, theme.name, sizeof v->theme_name);
    apply_theme(&theme, term.colors, term.default_colors);

    /* Our handlers replace the ones ncurses installed; restored below. */
    struct sigaction sa, old_winch, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: wgetch returns early on a signal */
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, &old_winch);
    sa.sa_handler = on_int;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, &old_hup);
    sig_winch = sig_int = sig_hup = 0;

    Layout L;
    int rb_rows = 0; /* the runbook's wish: its steps + the prompt */
    /* A run's layout follows its follower and copy: which band shows what. */
    int run_shape = 0;
#define RUN_SHAPE() (rsnap->follow_live ? 1 + (rsnap->engine_live != 0) : 0)
    if (rsnap) {
        b->run_snapshot(b->ctx, rsnap);
        view_ingest_run(v, rsnap);
        rb_rows = rsnap->nsteps + 3;
        run_shape = RUN_SHAPE();
    }
#define RELAYOUT()                                                                                 \
    (fst     ? layout_compute_follow(COLS, LINES, &L)                                              \
     : !rsnap ? layout_compute(COLS, LINES, &L)                                                    \
     : run_shape ? layout_compute_run_follower(COLS, LINES, rb_rows, run_shape == 2, &L)           \
                 : layout_compute_run(COLS, LINES, rb_rows, &L))
    RELAYOUT();
    view_set_layout(v, &L);
    ui_grid_init(&grid, COLS, LINES);

    /* Consumer groups: refreshed once a second (each copy allocates). */
    GroupsSnapshot gs[2];
    memset(gs, 0, sizeof gs);
    int64_t next_groups = 0;
    int rc = 0, seen_int = 0, early_errs = 0, relayout = 0;
    int need_draw = 1;
    int64_t next_snap = 0, last_draw = -FRAME_MIN_MS;
    for (;;) {
        int64_t now = util_mono_ms();
        if (sig_hup) {
            /* ours first: the engine's "stop requested" follows it */
            logf_backend(b, EV_WARN, "terminal hung up: ferry stops the %s and exits",
                         fst ? "follower" : "copy");
            if (b->request_stop) b->request_stop(b->ctx);
            rc = util_err(err, errlen, "console: the terminal hung up; the %s was asked to stop",
                          fst ? "follower" : "copy");
            break;
        }
        if (sig_int > seen_int) {
            int first = seen_int == 0;
            seen_int = sig_int;
            /* The first interrupt always asks for the clean stop, even when
             * a second one arrived before this loop saw the first. */
            if (first) {
                UiCommand cmd;
                int f = view_handle_key(v, snap, UI_KEY_INTERRUPT, now, &cmd);
                view_command_run(b, &cmd);
                if (f & VIEW_QUIT) break;
                next_snap = 0;
                need_draw = 1;
            }
            if (seen_int >= 2) {
                logf_backend(b, EV_OPERATOR, "second interrupt: leaving the console without "
                                             "waiting for the workers");
                rc = util_err(err, errlen,
                              "interrupted twice: left without waiting for the workers to stop");
                break;
            }
        }
        if (sig_winch || relayout) {
            /* resizeterm() queues a KEY_RESIZE of its own; that one only
             * relayouts (calling resizeterm again would loop forever). */
            int rows, cols;
            if (sig_winch && term_size(&rows, &cols) == 0) resizeterm(rows, cols);
            sig_winch = 0;
            relayout = 0;
            if (grid.w != COLS || grid.h != LINES) {
                RELAYOUT();
                view_set_layout(v, &L);
                ui_grid_free(&grid);
                ui_grid_init(&grid, COLS, LINES);
            }
            clearok(curscr, TRUE); /* repaint everything once: no garbage */
            need_draw = 1;
        }
        if (now >= next_snap) {
            if (rsnap) {
                b->run_snapshot(b->ctx, rsnap);
                view_ingest_run(v, rsnap);
                if (RUN_SHAPE() != run_shape) {
                    run_shape = RUN_SHAPE();
                    RELAYOUT();
                    view_set_layout(v, &L);
                }
            } else {
                b->snapshot(b->ctx, snap);
                view_ingest(v, snap);
                if (fst) {
                    b->follow_status(b->ctx, fst);
                    view_ingest_follow(v, fst);
                }
            }
            next_snap = now + SNAPSHOT_EVERY_MS;
            need_draw = 1;
        }
        if (b->groups && now >= next_groups) {
            for (int side = 0; side < 2; side++) {
                groups_snapshot_free(&gs[side]);
                void *gctx = b->groups_ctx ? b->groups_ctx : b->ctx;
                v->groups[side] = b->groups(gctx, side, &gs[side]) == 0 ? &gs[side] : NULL;
            }
            next_groups = now + 1000;
            need_draw = 1;
        }
        if (view_can_leave(v, snap)) break;
        if (need_draw && now - last_draw >= FRAME_MIN_MS) {
            view_build_screen(v, snap, &L, &grid, now);
            paint(&grid);
            wnoutrefresh(stdscr);
            doupdate();
            last_draw = now;
            need_draw = 0;
        }

        int64_t wait = next_snap - now;
        if (need_draw) {
            int64_t d = last_draw + FRAME_MIN_MS - now;
            if (d < wait) wait = d;
        }
        if (wait < 1) wait = 1;
        if (wait > SNAPSHOT_EVERY_MS) wait = SNAPSHOT_EVERY_MS;
        wtimeout(stdscr, (int)wait);
        int ch = wgetch(stdscr);
        if (ch == ERR) {
            /* A lost terminal makes wgetch fail at once, forever. */
            if (util_mono_ms() - now < wait / 2 && !sig_winch && !sig_int && !sig_hup) {
                if (++early_errs > 200) sig_hup = 1;
            } else {
                early_errs = 0;
            }
            continue;
        }
        early_errs = 0;
        if (ch == KEY_RESIZE) {
            relayout = 1;
            continue;
        }
        int key = translate_key(ch);
        if (key < 0) continue;
        UiCommand cmd;
        int flags = view_handle_key(v, snap, key, util_mono_ms(), &cmd);
        if (cmd.kind == CMD_NEXT_THEME) {
            if (v->no_color || !term.colors) {
                view_flash(v, util_mono_ms(), v->no_color
                                                  ? "NO_COLOR is set: the theme stays mono"
                                                  : "no colours on this terminal: the theme stays mono");
            } else {
                int i = 0;
                while (theme_cycle[i] && strcmp(theme_cycle[i], v->theme_name) != 0) i++;
                const char *next = theme_cycle[i] && theme_cycle[i + 1] ? theme_cycle[i + 1]
                                                                         : theme_cycle[0];
                Theme t;
                if (choose_theme(b, &term, v, next, &t) == 0) {
                    theme = t;
                    apply_theme(&theme, term.colors, term.default_colors);
                    util_strlcpy(v->theme_name, theme.name, sizeof v->theme_name);
                    char m[96];
                    snprintf(m, sizeof m, "theme %s", theme.name);
                    view_flash(v, util_mono_ms(), m);
                    logf_backend(b, EV_OPERATOR, "theme %s", theme.name);
                } else {
                    /* skip a theme this terminal cannot show; keep the name so
                     * the next press moves on */
                    theme = t;
                    apply_theme(&theme, term.colors, term.default_colors);
                    util_strlcpy(v->theme_name, next, sizeof v->theme_name);
                    view_flash(v, util_mono_ms(), "that theme cannot be shown here; see the log");
                }
            }
        } else if (cmd.kind == CMD_REPAINT) {
            clearok(curscr, TRUE);
        } else {
            char cerr[FERRY_ERR_LEN];
            if (view_command_exec(b, &cmd, cerr, sizeof cerr) != 0 && cerr[0])
                view_flash(v, util_mono_ms(), cerr);
        }
        if (cmd.kind != CMD_NONE || cmd.log[0]) next_snap = 0; /* show the effect now */
        if (flags & VIEW_QUIT) break;
        if (flags & VIEW_REDRAW) need_draw = 1;
    }

    sigaction(SIGWINCH, &old_winch, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    curs_set(1);
    endwin();
    delscreen(scr);
    ui_grid_free(&grid);
    for (int side = 0; side < 2; side++) groups_snapshot_free(&gs[side]);
    free(v);
    free(own);
    free(rsnap);
    free(fst);
    return rc;
#undef RELAYOUT
#undef RUN_SHAPE
}
