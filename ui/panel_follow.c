/* panel_follow — ferry's own PSYNC follower (follow.h): is it caught up,
 * is anything wrong. The first row answers both; the rows below are the
 * figures behind the answer, in order of importance:
 *
 *   streaming  caught up
 *   offset    applied 1234567  acked 1234567  source 1234567  read 1234567
 *   link      last byte 0.3 s ago  replid 8c4f1e…
 *   stream    applied 12.3k  dropped 0  mixed 0  target errors 0
 *   snapshot  keys 3.00M  typed 12  expired 4  filtered 10
 *   syncs     full 1  partial 0
 *
 * Only what needs a look is coloured: a lag (warn), target errors (error),
 * mixed commands (warn), a silent link (warn, then error), a failure. A
 * caught-up follower reads "caught up" in the ok role and nothing else
 * stands out. While the snapshot loads, its progress comes right after the
 * first row.
 *
 * The model (follow_model_build) is a pure function of a FollowStatus and
 * the frame's monotonic time: the lag is the source's sampled
 * master_repl_offset minus the applied offset (a sample older than the
 * applied offset counts as 0), "read, not applied" is received minus
 * applied. */
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "panels.h"
#include "util.h"

#define LABEL_W 10 /* "snapshot  " */

UiRole ui_follow_state_role(FollowState s) {
    switch (s) {
    case FOLLOW_CONNECTING:
    case FOLLOW_SNAPSHOT: return ROLE_PENDING;
    case FOLLOW_STREAMING: return ROLE_OK;
    case FOLLOW_RECONNECTING: return ROLE_VALUE_WARN;
    case FOLLOW_STOPPED: return ROLE_DIM;
    case FOLLOW_FAILED: return ROLE_VALUE_ERROR;
    }
    return ROLE_DIM;
}

/* The status bar's badge. */
UiRole ui_follow_status_role(FollowState s) {
    switch (s) {
    case FOLLOW_STREAMING: return ROLE_STATUS_OK;
    case FOLLOW_FAILED: return ROLE_STATUS_ERROR;
    default: return ROLE_STATUS_WARN;
    }
}

void follow_model_build(const FollowStatus *s, int64_t now, FollowModel *m) {
    memset(m, 0, sizeof *m);
    m->state = s->state;
    m->state_label = follow_state_name(s->state);
    m->state_role = ui_follow_state_role(s->state);
    m->lag = m->unapplied = -1;
    if (s->offset >= 0 && s->source_offset >= 0)
        m->lag = s->source_offset > s->offset ? s->source_offset - s->offset : 0;
    if (s->offset >= 0 && s->received >= 0)
        m->unapplied = s->received > s->offset ? s->received - s->offset : 0;
    m->sample_age_ms = s->source_offset >= 0 && s->source_offset_ms > 0 ? now - s->source_offset_ms : -1;
    if (m->sample_age_ms < -1) m->sample_age_ms = 0;
    m->sample_stale = m->sample_age_ms > FOLLOW_SAMPLE_STALE_MS;
    m->caught_up = s->state == FOLLOW_STREAMING && m->lag == 0 && m->unapplied <= 0 && !m->sample_stale;
    if (m->sample_stale)
        m->lag_role = ROLE_STALE;
    else if (m->lag > 0 || m->unapplied > 0)
        m->lag_role = ROLE_VALUE_WARN;
    else
        m->lag_role = m->lag == 0 ? ROLE_OK : ROLE_DIM;
    m->idle_ms = s->last_io_ms > 0 ? now - s->last_io_ms : -1;
    if (m->idle_ms < -1) m->idle_ms = 0;
    int watching = s->state == FOLLOW_STREAMING || s->state == FOLLOW_SNAPSHOT;
    m->idle_role = !watching || m->idle_ms < FOLLOW_IDLE_WARN_MS ? ROLE_VALUE
                   : m->idle_ms < FOLLOW_IDLE_ERROR_MS          ? ROLE_VALUE_WARN
                                                                : ROLE_VALUE_ERROR;
    m->snapshot_progress = -1;
    if (s->snapshot_size > 0) {
        m->snapshot_progress = (double)s->snapshot_bytes / (double)s->snapshot_size;
        if (m->snapshot_progress > 1) m->snapshot_progress = 1;
    }
    m->errors_role = s->errors ? ROLE_VALUE_ERROR : ROLE_VALUE;
    m->mixed_role = s->mixed ? ROLE_VALUE_WARN : ROLE_VALUE;
}

/* "0.3 s", "12 s", "4m05s" */
static void fmt_age(char *buf, size_t len, int64_t ms) {
    if (ms < 10000)
        snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
    else
        util_fmt_duration(buf, len, ms);
}

static void fmt_offset(char *buf, size_t len, long long off, const char *unknown) {
    if (off < 0)
        snprintf(buf, len, "%s", unknown);
    else
        snprintf(buf, len, "%lld", off);
}

static void fmt_count(char *buf, size_t len, uint64_t n) {
    util_fmt_count(buf, len, (double)n);
}

/* One figure row: its label in the left column, then label/value items;
 * an item that does not fit is left out (the row never wraps). */
static UiFlow row_begin(const UiCanvas *b, UiCanvas *sub, int row, const char *label) {
    ui_put_trunc(b, row, 0, LABEL_W - 1, ROLE_LABEL, label);
    *sub = ui_canvas_sub(b, LABEL_W, 0, b->w - LABEL_W, b->h);
    UiFlow f = {.c = sub, .row = row, .col = 0, .row_end = row + 1};
    return f;
}

static void item(UiFlow *f, const char *label, const char *value, UiRole vrole) {
    ui_flow_item(f, label, ROLE_LABEL, value, vrole);
}

/* Row 0: the state and the verdict. Returns the rows used. */
static int headline(const UiCanvas *b, const FollowStatus *s, const FollowModel *m) {
    const UiGlyphs *gl = b->gl;
    char t[FERRY_ERR_LEN + 64], a[32], r[32];
    int x = ui_put(b, 0, 0, m->state_role, m->state_label);
    x += 2;
    int room = b->w - x;
    switch (s->state) {
    case FOLLOW_CONNECTING:
        if (s->resumed && s->offset >= 0)
            snprintf(t, sizeof t, "resuming at offset %lld%s", s->offset, gl->ellipsis);
        else
            snprintf(t, sizeof t, "handshake with the source%s", gl->ellipsis);
        ui_put_trunc(b, 0, x, room, ROLE_PENDING, t);
        return 1;
    case FOLLOW_SNAPSHOT:
        ui_put_trunc(b, 0, x, room, ROLE_PENDING, "loading the source's snapshot into the target");
        return 1;
    case FOLLOW_RECONNECTING:
        snprintf(t, sizeof t, "link to the source lost: reconnecting to resume at offset %lld", s->offset);
        ui_put_trunc(b, 0, x, room, ROLE_VALUE_WARN, t);
        return 1;
    case FOLLOW_STOPPED:
        snprintf(t, sizeof t, "stopped at applied offset %lld", s->offset);
        ui_put_trunc(b, 0, x, room, ROLE_DIM, t);
        return 1;
    case FOLLOW_FAILED: {
        const char *e = s->error[0] ? s->error : "failed (no reason given)";
        int rows = b->h - 1 < 3 ? (b->h - 1 > 0 ? b->h - 1 : 1) : 3;
        int n = ui_put_wrapped(b, 0, x, room, rows, ROLE_VALUE_ERROR, e);
        return n > 0 ? n : 1;
    }
    case FOLLOW_STREAMING: break;
    }
    if (m->caught_up) {
        ui_put_trunc(b, 0, x, room, ROLE_OK, "caught up");
        return 1;
    }
    if (m->lag < 0) {
        ui_put_trunc(b, 0, x, room, ROLE_DIM, "lag unknown: the source's offset is not sampled yet");
        return 1;
    }
    util_fmt_bytes(a, sizeof a, (double)m->lag);
    x += ui_put(b, 0, x, ROLE_LABEL, "lag ");
    snprintf(t, sizeof t, "%s behind the source", a);
    x += ui_put_trunc(b, 0, x, b->w - x, m->lag_role, t);
    if (m->unapplied > 0 && x + 4 < b->w) {
        util_fmt_bytes(r, sizeof r, (double)m->unapplied);
        snprintf(t, sizeof t, "  %s read, not applied", r);
        x += ui_put_trunc(b, 0, x, b->w - x, ROLE_DIM, t);
    }
    if (m->sample_stale && x + 4 < b->w) {
        fmt_age(a, sizeof a, m->sample_age_ms);
        snprintf(t, sizeof t, "  (source sampled %s ago)", a);
        ui_put_trunc(b, 0, x, b->w - x, ROLE_STALE, t);
    }
    return 1;
}

static void row_offsets(const UiCanvas *b, int row, const FollowStatus *s, const FollowModel *m) {
    const UiGlyphs *gl = b->gl;
    char ap[24], ak[24], so[24], rd[24];
    UiCanvas sub;
    UiFlow f = row_begin(b, &sub, row, "offset");
    fmt_offset(ap, sizeof ap, s->offset, gl->unknown);
    fmt_offset(ak, sizeof ak, s->acked, gl->unknown);
    fmt_offset(so, sizeof so, s->source_offset, gl->unknown);
    fmt_offset(rd, sizeof rd, s->received, gl->unknown);
    /* applied and source side by side: the two an SRE compares */
    item(&f, "applied", ap, ROLE_VALUE);
    /* a sample taken before what is applied: shown, but not as news */
    item(&f, "source", so, m->sample_stale ? ROLE_STALE : s->source_offset < s->offset ? ROLE_DIM : ROLE_VALUE);
    item(&f, "acked", ak, s->acked >= 0 && s->acked < s->offset ? ROLE_VALUE_WARN : ROLE_VALUE);
    item(&f, "read", rd, m->unapplied > 0 ? ROLE_VALUE_WARN : ROLE_VALUE);
}

static void row_link(const UiCanvas *b, int row, const FollowStatus *s, const FollowModel *m) {
    const UiGlyphs *gl = b->gl;
    char a[32], t[64];
    UiCanvas sub;
    UiFlow f = row_begin(b, &sub, row, "link");
    if (m->idle_ms >= 0) {
        fmt_age(a, sizeof a, m->idle_ms);
        snprintf(t, sizeof t, "%s ago", a);
        item(&f, "last byte", t, m->idle_role);
    } else {
        item(&f, "last byte", "none yet", ROLE_DIM);
    }
    if (s->replid[0]) {
        /* the whole id when it fits, else its start: it is what INFO shows */
        int left = sub.w - f.col - 2 - 7;
        int idw = ui_text_width(s->replid, gl->ascii);
        if (left >= idw || left < 10) {
            item(&f, "replid", s->replid, ROLE_DIM);
        } else {
            char cut[64];
            snprintf(cut, sizeof cut, "%.*s%s", left - 1, s->replid, gl->ellipsis);
            item(&f, "replid", cut, ROLE_DIM);
        }
    }
}

static void row_stream(const UiCanvas *b, int row, const FollowStatus *s, const FollowModel *m) {
    char c[16], d[16], x[16], e[16];
    UiCanvas sub;
    UiFlow f = row_begin(b, &sub, row, "stream");
    fmt_count(c, sizeof c, s->commands);
    fmt_count(d, sizeof d, s->dropped);
    fmt_count(x, sizeof x, s->mixed);
    fmt_count(e, sizeof e, s->errors);
    item(&f, "applied", c, ROLE_VALUE);
    item(&f, "target errors", e, m->errors_role);
    item(&f, "dropped", d, ROLE_VALUE);
    item(&f, "mixed", x, m->mixed_role);
}

static void row_snapshot_counts(const UiCanvas *b, int row, const FollowStatus *s) {
    char k[16], t[16], e[16], fl[16];
    UiCanvas sub;
    UiFlow f = row_begin(b, &sub, row, "snapshot");
    fmt_count(k, sizeof k, s->snapshot_keys);
    fmt_count(t, sizeof t, s->snapshot_typed);
    fmt_count(e, sizeof e, s->snapshot_expired);
    fmt_count(fl, sizeof fl, s->snapshot_filtered);
    item(&f, "keys", k, ROLE_VALUE);
    item(&f, "typed", t, ROLE_VALUE);
    item(&f, "expired", e, ROLE_VALUE);
    item(&f, "filtered", fl, ROLE_VALUE);
}

/* "loading  ██████░░░░ 61%  12.0 MiB of 20.0 MiB" */
static void row_snapshot_bar(const UiCanvas *b, int row, const FollowStatus *s, const FollowModel *m) {
    const UiGlyphs *gl = b->gl;
    char t[96], a[16], tot[16];
    ui_put_trunc(b, row, 0, LABEL_W - 1, ROLE_LABEL, "loading");
    int x = LABEL_W;
    util_fmt_bytes(a, sizeof a, (double)s->snapshot_bytes);
    if (m->snapshot_progress < 0) {
        snprintf(t, sizeof t, "%s read (diskless: size unknown)", a);
        ui_put_trunc(b, row, x, b->w - x, ROLE_VALUE, t);
        return;
    }
    util_fmt_bytes(tot, sizeof tot, (double)s->snapshot_size);
    snprintf(t, sizeof t, " %.0f%%  %s of %s", m->snapshot_progress * 100, a, tot);
    int tw = ui_text_width(t, gl->ascii);
    int bw = b->w - x - tw;
    if (bw > 30) bw = 30;
    if (bw >= 4) {
        int fill = (int)(m->snapshot_progress * bw + 0.5);
        if (fill > bw) fill = bw;
        ui_put_repeat(b, row, x, fill, ROLE_BAR_FILL, gl->bar_fill);
        ui_put_repeat(b, row, x + fill, bw - fill, ROLE_BAR_EMPTY, gl->bar_empty);
        x += bw;
    }
    ui_put_trunc(b, row, x, b->w - x, ROLE_VALUE, t);
}

static void row_syncs(const UiCanvas *b, int row, const FollowStatus *s) {
    char fu[16], pa[16];
    UiCanvas sub;
    UiFlow f = row_begin(b, &sub, row, "syncs");
    snprintf(fu, sizeof fu, "%d", s->full_syncs);
    snprintf(pa, sizeof pa, "%d", s->partial_syncs);
    item(&f, "full", fu, ROLE_VALUE);
    item(&f, "partial", pa, ROLE_VALUE);
    if (s->resumed) item(&f, "", "resumed from its saved position", ROLE_DIM);
}

void panel_follow(const UiCanvas *c, const ConsoleView *v, const FollowStatus *s,
                  const char *step, int64_t now, int focused) {
    (void)v;
    char right[64] = "";
    if (step && *step) snprintf(right, sizeof right, "step %s", step);
    panel_frame(c, panel_title(PANEL_FOLLOWER), focused, right);
    UiCanvas b = panel_body(c);
    if (b.h <= 0) return;
    FollowModel m;
    follow_model_build(s, now, &m);
    int row = headline(&b, s, &m);
    int snap = s->state == FOLLOW_SNAPSHOT;
    if (snap && row < b.h) row_snapshot_bar(&b, row++, s, &m);
    if (snap && row < b.h) row_snapshot_counts(&b, row++, s);
    if (row < b.h) row_offsets(&b, row++, s, &m);
    if (row < b.h) row_link(&b, row++, s, &m);
    if (!snap && row < b.h) row_stream(&b, row++, s, &m);
    if (!snap && row < b.h && (s->full_syncs || s->snapshot_keys || s->snapshot_filtered))
        row_snapshot_counts(&b, row++, s);
    if (row < b.h) row_syncs(&b, row++, s);
}
