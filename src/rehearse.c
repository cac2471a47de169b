/* rehearse — a runbook run against a production snapshot on two throwaway
 * local servers, measured, and written up as a report a person reads at a
 * glance (Markdown + an SVG chart of keys/s). See rehearse.h for the shape.
 *
 * Order of work: start both sandboxes (from the calling thread: they die
 * with it) → read what the snapshot holds → run the runbook with every gate
 * passed in advance, sampling the copy engine 5 times a second → read the
 * journal back → read the target's memory → write the chart and the report
 * → stop both sandboxes (always, by pid). */
#include "rehearse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "conn.h"
#include "sandbox.h"
#include "serverinfo.h"
#include "util.h"

#define RH_MAX_SAMPLES 20000

typedef struct RhSample {
    int step;
    int64_t t_ms;    /* from the rehearsal's start */
    uint64_t done;   /* keys the copy handled so far */
} RhSample;

void rehearse_options_init(RehearseOptions *o) {
    memset(o, 0, sizeof(*o));
    o->margin = 0.2;
}

/* ------------------------------------------------------------ formatting */

static void rh_fmt_ms(char *buf, size_t len, int64_t ms) {
    if (ms < 0) snprintf(buf, len, "–");
    else if (ms < 1000) snprintf(buf, len, "%lld ms", (long long)ms);
    else if (ms < 60000) snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
    else util_fmt_duration(buf, len, ms);
}

/* "T+1m05s" style offsets for the timeline. */
static void rh_fmt_offset(char *buf, size_t len, int64_t ms) {
    int64_t s = (ms + 500) / 1000;
    if (s < 3600) snprintf(buf, len, "T+%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
    else snprintf(buf, len, "T+%lld:%02lld:%02lld", (long long)(s / 3600), (long long)((s / 60) % 60), (long long)(s % 60));
}

/* Markdown table cell: no newlines, | escaped. */
static void rh_md_cell(FILE *f, const char *text) {
    for (const char *p = text; *p; p++) {
        if (*p == '|') fputs("\\|", f);
        else if (*p == '\n' || *p == '\r') fputc(' ', f);
        else fputc(*p, f);
    }
}

static void rh_xml(FILE *f, const char *text) {
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*p >= 0x20 || *p == '\t') fputc(*p, f);
        }
    }
}

static const char *rh_basename(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ------------------------------------------------------------ servers */

static Conn *rh_connect(const Sandbox *s, const char *role, char *err, size_t errlen) {
    ConnConfig cfg;
    conn_config_init(&cfg, role);
    char uri[128];
    sandbox_uri(s, -1, uri, sizeof(uri));
    if (uri_parse(uri, &cfg.uri, err, errlen) != 0) return NULL;
    util_strlcpy(cfg.client_name, "ferry-rehearse", sizeof(cfg.client_name));
    return conn_open(&cfg, err, errlen);
}

/* A numeric field of INFO memory ("used_memory_peak"); 0 when absent. */
static uint64_t rh_info_u64(Conn *c, const char *field) {
    redisReply *r = conn_command(c, "INFO memory");
    uint64_t v = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        size_t fl = strlen(field);
        for (const char *p = r->str; p && *p;) {
            if (!strncmp(p, field, fl) && p[fl] == ':') {
                v = strtoull(p + fl + 1, NULL, 10);
                break;
            }
            p = strchr(p, '\n');
            if (p) p++;
        }
    }
    if (r) freeReplyObject(r);
    return v;
}

/* ------------------------------------------------------------ journal */

/* The JSON string value after "key":" in line, unescaped into buf. */
static int rh_json_str(const char *line, const char *key, char *buf, size_t len) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(line, pat);
    if (!p || !len) return -1;
    p += strlen(pat);
    size_t o = 0;
    while (*p && *p != '"' && o + 4 < len) {
        if (*p == '\\' && p[1]) {
            p++;
            if (*p == 'n') buf[o++] = ' ';
            else if (*p == 't') buf[o++] = ' ';
            else if (*p == 'u' && p[1] && p[2] && p[3] && p[4]) {
                char hex[5] = {p[1], p[2], p[3], p[4], 0};
                unsigned cp = (unsigned)strtoul(hex, NULL, 16);
                if (cp < 0x80) buf[o++] = cp >= 0x20 ? (char)cp : ' ';
                else if (cp < 0x800) {
                    buf[o++] = (char)(0xc0 | (cp >> 6));
                    buf[o++] = (char)(0x80 | (cp & 0x3f));
                } else {
                    buf[o++] = (char)(0xe0 | (cp >> 12));
                    buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    buf[o++] = (char)(0x80 | (cp & 0x3f));
                }
                p += 4;
            } else buf[o++] = *p;
            p++;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = '\0';
    return 0;
}

static int rh_json_int(const char *line, const char *key, long long *out) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p) return -1;
    *out = strtoll(p + strlen(pat), NULL, 10);
    return 0;
}

/* A figure of the step record's "figures" object; 0 when absent. */
static long long rh_figure(const char *line, const char *name) {
    const char *f = strstr(line, "\"figures\":{");
    if (!f) return 0;
    const char *end = strchr(f, '}');
    char pat[80];
    snprintf(pat, sizeof(pat), "\"%s\":", name);
    const char *p = strstr(f, pat);
    if (!p || (end && p > end)) return 0;
    return strtoll(p + strlen(pat), NULL, 10);
}

/* Reads the step records of the journal into res->steps. */
static int rh_read_journal(RehearseResult *res, char *err, size_t errlen) {
    FILE *f = fopen(res->journal_path, "r");
    if (!f) return util_err(err, errlen, "cannot read the rehearsal's journal %s: %s", res->journal_path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!strstr(line, "\"type\":\"step\"")) continue;
        char id[RUNBOOK_ID_LEN];
        if (rh_json_str(line, "step", id, sizeof(id)) != 0) continue;
        RehearseStep *st = NULL;
        for (int i = 0; i < res->nsteps; i++)
            if (!strcmp(res->steps[i].id, id)) st = &res->steps[i];
        if (!st) continue;
        rh_json_str(line, "outcome", st->outcome, sizeof(st->outcome));
        long long d;
        st->duration_ms = rh_json_int(line, "duration_ms", &d) == 0 ? d : -1;
        if (rh_json_str(line, "error", st->message, sizeof(st->message)) != 0 &&
            rh_json_str(line, "message", st->message, sizeof(st->message)) != 0 &&
            rh_json_str(line, "reason", st->message, sizeof(st->message)) != 0)
            st->message[0] = '\0';
        const char *a = st->action;
        if (!strcmp(a, "copy")) {
            st->keys = (uint64_t)(rh_figure(line, "keys_copied") + rh_figure(line, "keys_identical") +
                                  rh_figure(line, "keys_skipped") + rh_figure(line, "keys_expired") +
                                  rh_figure(line, "keys_failed"));
            st->bytes = (uint64_t)rh_figure(line, "bytes");
        } else if (!strcmp(a, "verify")) {
            st->keys = (uint64_t)(rh_figure(line, "source_keys_checked") + rh_figure(line, "target_keys_checked"));
        } else if (!strcmp(a, "verify-counts")) {
            st->keys = (uint64_t)(rh_figure(line, "source_keys") + rh_figure(line, "target_keys"));
        } else if (!strcmp(a, "prune")) {
            st->keys = (uint64_t)rh_figure(line, "keys_scanned");
        } else if (!strcmp(a, "flush-target")) {
            st->keys = (uint64_t)rh_figure(line, "keys_deleted");
        }
    }
    free(line);
    fclose(f);
    return 0;
}

/* ------------------------------------------------------------ the chart */

static double rh_nice_ceil(double v) {
    if (v <= 0) return 1;
    double p = 1;
    while (p * 10 <= v) p *= 10;
    while (p > v) p /= 10;
    static const double m[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (m[i] * p >= v) return m[i] * p;
    return 10 * p;
}

static void rh_fmt_rate(char *buf, size_t len, double v) {
    if (v >= 1e6) snprintf(buf, len, "%.3gM", v / 1e6);
    else if (v >= 1e3) snprintf(buf, len, "%.3gk", v / 1e3);
    else snprintf(buf, len, "%.3g", v);
}

int rehearse_write_svg(const RehearseResult *res, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) return util_err(err, errlen, "cannot write the chart %s: %s; choose a writable --report-dir", path, strerror(errno));
    const double W = 800, H = 340, L = 80, R = 30, T = 50, B = 60;
    const double pw = W - L - R, ph = H - T - B;
    double tmax = (double)res->total_ms;
    double rmax = 0;
    for (int i = 0; i < res->npoints; i++) {
        if ((double)res->points[i].t_ms > tmax) tmax = (double)res->points[i].t_ms;
        if (res->points[i].keys_per_s > rmax) rmax = res->points[i].keys_per_s;
    }
    /* The other data steps, as their average rate over their duration. */
    for (int i = 0; i < res->nsteps; i++) {
        const RehearseStep *st = &res->steps[i];
        if (!strcmp(st->action, "copy") || st->keys_per_s <= 0 || st->start_ms < 0) continue;
        if (st->keys_per_s > rmax) rmax = st->keys_per_s;
        if ((double)(st->start_ms + st->duration_ms) > tmax) tmax = (double)(st->start_ms + st->duration_ms);
    }
    double tsec = tmax / 1000.0;
    if (tsec <= 0) tsec = 1;
    double xmax = rh_nice_ceil(tsec), ymax = rh_nice_ceil(rmax);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "  <title>Keys per second during the rehearsal</title>\n");
    fprintf(f, "  <rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", W, H);
    fprintf(f, "  <text x=\"%.0f\" y=\"24\" font-size=\"15\" font-weight=\"bold\">Keys per second over the rehearsal</text>\n", L);
    /* Grid and ticks. */
    fprintf(f, "  <g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int i = 1; i <= 5; i++) {
        double y = T + ph - ph * i / 5.0;
        fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", L, y, L + pw, y);
    }
    fprintf(f, "  </g>\n");
    fprintf(f, "  <g text-anchor=\"end\" fill=\"#333333\">\n");
    for (int i = 0; i <= 5; i++) {
        double y = T + ph - ph * i / 5.0;
        char lab[32];
        rh_fmt_rate(lab, sizeof(lab), ymax * i / 5.0);
        fprintf(f, "    <text x=\"%.1f\" y=\"%.1f\">%s</text>\n", L - 8, y + 4, lab);
    }
    fprintf(f, "  </g>\n");
    fprintf(f, "  <g text-anchor=\"middle\" fill=\"#333333\">\n");
    for (int i = 0; i <= 5; i++) {
        double x = L + pw * i / 5.0;
        double v = xmax * i / 5.0;
        char lab[32];
        if (xmax >= 600) snprintf(lab, sizeof(lab), "%.4gm", v / 60);
        else snprintf(lab, sizeof(lab), "%.4gs", v);
        fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n", x, T + ph, x, T + ph + 5);
        fprintf(f, "    <text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, T + ph + 20, lab);
    }
    fprintf(f, "  </g>\n");
    /* Axes and their labels. */
    fprintf(f, "  <g stroke=\"#333333\" stroke-width=\"1.5\">\n");
    fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", L, T, L, T + ph);
    fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", L, T + ph, L + pw, T + ph);
    fprintf(f, "  </g>\n");
    fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the rehearsal started</text>\n", L + pw / 2, H - 12);
    fprintf(f, "  <text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">keys/s</text>\n",
            T + ph / 2, T + ph / 2);
    /* Where each step started. */
    fprintf(f, "  <g font-size=\"10\" fill=\"#666666\">\n");
    int k = 0;
    for (int i = 0; i < res->nsteps; i++) {
        const RehearseStep *st = &res->steps[i];
        if (st->start_ms < 0 || st->manual) continue;
        double x = L + pw * ((double)st->start_ms / 1000.0) / xmax;
        fprintf(f, "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999999\" stroke-dasharray=\"3,3\"/>\n", x, T,
                x, T + ph);
        fprintf(f, "    <text x=\"%.1f\" y=\"%.1f\">", x + 3, T + 12 + 12 * (k++ % 3));
        rh_xml(f, st->id);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "  </g>\n");
    int nother = 0;
    for (int i = 0; i < res->nsteps; i++) {
        const RehearseStep *st = &res->steps[i];
        if (!strcmp(st->action, "copy") || st->keys_per_s <= 0 || st->start_ms < 0) continue;
        if (!nother++)
            fprintf(f, "  <polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-dasharray=\"6,3\" points=\"");
        double x0 = L + pw * ((double)st->start_ms / 1000.0) / xmax;
        double x1 = L + pw * ((double)(st->start_ms + st->duration_ms) / 1000.0) / xmax;
        double y = T + ph - ph * st->keys_per_s / ymax;
        fprintf(f, "%s%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f", nother > 1 ? " " : "", x0, T + ph, x0, y, x1, y, x1, T + ph);
    }
    if (nother) fprintf(f, "\"/>\n");
    /* Legend. */
    fprintf(f, "  <g font-size=\"11\">\n");
    fprintf(f, "    <line x1=\"%.1f\" y1=\"34\" x2=\"%.1f\" y2=\"34\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n", W - 330, W - 310);
    fprintf(f, "    <text x=\"%.1f\" y=\"38\">copy (sampled)</text>\n", W - 305);
    fprintf(f, "    <line x1=\"%.1f\" y1=\"34\" x2=\"%.1f\" y2=\"34\" stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-dasharray=\"6,3\"/>\n",
            W - 210, W - 190);
    fprintf(f, "    <text x=\"%.1f\" y=\"38\">other steps (average)</text>\n", W - 185);
    fprintf(f, "  </g>\n");
    if (res->npoints > 0) {
        fprintf(f, "  <polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
        for (int i = 0; i < res->npoints; i++) {
            double x = L + pw * ((double)res->points[i].t_ms / 1000.0) / xmax;
            double y = T + ph - ph * res->points[i].keys_per_s / ymax;
            fprintf(f, "%s%.1f,%.1f", i ? " " : "", x, y);
        }
        fprintf(f, "\"/>\n");
    } else if (!nother) {
        fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#666666\">no data step ran: no keys/s to chart</text>\n",
                L + pw / 2, T + ph / 2);
    }
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return util_err(err, errlen, "cannot write the chart %s: %s", path, strerror(errno));
    return 0;
}

/* Keys/s points from the engine samples: one level per interval of at
 * least a second, falling to zero between copies. */
static void rh_build_points(RehearseResult *res, const RhSample *smp, int nsmp) {
    res->npoints = 0;
#define RH_PT(t, r)                                                           \
    do {                                                                      \
        if (res->npoints < REHEARSE_MAX_POINTS) {                             \
            res->points[res->npoints].t_ms = (t);                             \
            res->points[res->npoints].keys_per_s = (r) < 0 ? 0 : (r);         \
            res->npoints++;                                                   \
        }                                                                     \
    } while (0)
    for (int i = 0; i < res->nsteps; i++) {
        RehearseStep *st = &res->steps[i];
        if (strcmp(st->action, "copy") || st->start_ms < 0 || st->duration_ms < 0) continue;
        int64_t pt = st->start_ms, tend = st->start_ms + st->duration_ms;
        uint64_t pdone = 0;
        RH_PT(pt, 0);
        for (int k = 0; k < nsmp; k++) {
            if (smp[k].step != i || smp[k].t_ms - pt < 1000 || smp[k].t_ms > tend) continue;
            double r = (double)(smp[k].done - pdone) * 1000.0 / (double)(smp[k].t_ms - pt);
            RH_PT(pt, r);
            RH_PT(smp[k].t_ms, r);
            pt = smp[k].t_ms;
            pdone = smp[k].done;
        }
        if (tend > pt && st->keys >= pdone) {
            double r = (double)(st->keys - pdone) * 1000.0 / (double)(tend - pt);
            RH_PT(pt, r);
            RH_PT(tend, r);
        }
        RH_PT(tend, 0);
    }
#undef RH_PT
}

/* ------------------------------------------------------------ the report */

static const char *rh_outcome_word(RunnerState s) {
    switch (s) {
    case RUNNER_DONE: return "every step done";
    case RUNNER_FAILED: return "FAILED";
    case RUNNER_ABORTED: return "ABORTED";
    case RUNNER_BLOCKED: return "BLOCKED";
    default: return runner_state_name(s);
    }
}

static int rh_write_report(const RehearseOptions *o, RehearseResult *res, const char *when, char *err, size_t errlen) {
    FILE *f = fopen(res->report_path, "w");
    if (!f) return util_err(err, errlen, "cannot write the report %s: %s; choose a writable --report-dir", res->report_path, strerror(errno));
    const Runbook *rb = o->rb;
    char b1[64], b2[64], b3[64], b4[64];
    fprintf(f, "# Rehearsal: %s\n\n", rb->title[0] ? rb->title : rb->name);
    fprintf(f, "Runbook `%s`, rehearsed %s on a throwaway redis-server %s loaded with the snapshot `%s`, "
               "and an empty throwaway target (no maxmemory). Gates were passed automatically.\n\n",
            rb->name, when, res->server_version, o->rdb_path);
    /* At a glance. */
    int64_t measured = 0;
    for (int i = 0; i < res->nsteps; i++)
        if (res->steps[i].duration_ms > 0 && !res->steps[i].manual) measured += res->steps[i].duration_ms;
    fprintf(f, "## At a glance\n\n| | |\n|---|---|\n");
    fprintf(f, "| Outcome | **%s**", rh_outcome_word(res->state));
    if (res->state != RUNNER_DONE && res->reason[0]) {
        fputs(": ", f);
        rh_md_cell(f, res->reason);
    }
    fputs(" |\n", f);
    util_fmt_count(b1, sizeof(b1), (double)res->snapshot_keys);
    util_fmt_bytes(b2, sizeof(b2), (double)res->source_used_memory);
    fprintf(f, "| Snapshot | %s keys, %s in memory (used_memory) |\n", b1, b2);
    rh_fmt_ms(b1, sizeof(b1), measured);
    fprintf(f, "| Rehearsal, steps measured | %s |\n", b1);
    rh_fmt_ms(b1, sizeof(b1), res->projected_ms);
    if (res->factor != 1.0)
        fprintf(f, "| **Projected production window** | **%s** (data steps × %.2f), plus the manual steps |\n", b1, res->factor);
    else
        fprintf(f, "| **Projected production window** | **%s** (the snapshot taken as the whole dataset), plus the manual steps |\n", b1);
    util_fmt_bytes(b1, sizeof(b1), (double)res->needed_bytes);
    fprintf(f, "| **Target memory needed** | **%s** (measured peak, scaled, +%.0f %% margin) |\n", b1, o->margin * 100);
    fprintf(f, "| Errors | %d |\n\n", res->nerrors);

    /* Steps. */
    fprintf(f, "## Steps\n\n| # | step | action | outcome | duration | keys | keys/s | MB/s | projected |\n"
               "|---:|---|---|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < res->nsteps; i++) {
        const RehearseStep *st = &res->steps[i];
        rh_fmt_ms(b1, sizeof(b1), st->duration_ms);
        if (st->keys) util_fmt_count(b2, sizeof(b2), (double)st->keys);
        else snprintf(b2, sizeof(b2), "–");
        if (st->keys_per_s > 0) util_fmt_count(b3, sizeof(b3), st->keys_per_s);
        else snprintf(b3, sizeof(b3), "–");
        if (st->mb_per_s > 0) snprintf(b4, sizeof(b4), "%.2f", st->mb_per_s);
        else snprintf(b4, sizeof(b4), "–");
        char proj[64];
        rh_fmt_ms(proj, sizeof(proj), st->projected_ms);
        fprintf(f, "| %d | `%s` | %s | %s | %s | %s | %s | %s | %s%s |\n", i + 1, st->id, st->action,
                st->outcome[0] ? st->outcome : "not run", st->manual ? "0 (manual)" : b1, b2, b3, b4, proj,
                st->manual ? " + operator" : "");
    }
    fprintf(f, "\nDurations are the journal's (`%s`). MB = 10^6 bytes of DUMP payload.\n\n", rh_basename(res->journal_path));

    /* Chart. */
    fprintf(f, "## Throughput\n\n![keys/s over the rehearsal](%s)\n\n", rh_basename(res->svg_path));
    fprintf(f, "Solid: keys handled per second by the copy engine, sampled 5 times a second. Dashed: the other data steps (verify, prune…), each at its average rate. Thin dashed lines mark where each step started.\n\n");

    /* Memory. */
    fprintf(f, "## Target memory\n\n");
    util_fmt_bytes(b1, sizeof(b1), (double)res->target_used_memory_peak);
    util_fmt_bytes(b2, sizeof(b2), (double)res->target_used_memory);
    util_fmt_bytes(b3, sizeof(b3), (double)res->target_used_memory_empty);
    fprintf(f, "- Peak while the runbook ran (used_memory_peak): **%s** — what the target must hold\n", b1);
    fprintf(f, "- After the last step (used_memory): %s, %llu keys\n", b2, (unsigned long long)res->target_keys);
    fprintf(f, "- An empty server of this version: %s\n", b3);
    util_fmt_bytes(b1, sizeof(b1), (double)res->needed_bytes);
    double mf = res->factor_bytes != 1.0 ? res->factor_bytes : res->factor_keys;
    fprintf(f, "- **Production target: at least %s** = (peak − empty) × %.2f + empty, + %.0f %% margin. "
               "Check it against the real target's maxmemory minus what it already holds.\n\n",
            b1, mf, o->margin * 100);

    /* Timeline. */
    fprintf(f, "## Projected window timeline (production)\n\n");
    if (res->factor != 1.0) {
        util_fmt_count(b1, sizeof(b1), (double)res->snapshot_keys);
        util_fmt_bytes(b2, sizeof(b2), (double)res->source_used_memory);
        fprintf(f, "The snapshot is a sample: %s keys, %s. ", b1, b2);
        if (o->scale_keys) {
            util_fmt_count(b3, sizeof(b3), (double)o->scale_keys);
            fprintf(f, "Production has %s keys (× %.2f). ", b3, res->factor_keys);
        }
        if (o->scale_bytes) {
            util_fmt_bytes(b3, sizeof(b3), (double)o->scale_bytes);
            fprintf(f, "Production holds %s (× %.2f). ", b3, res->factor_bytes);
        }
        fprintf(f, "Data steps are scaled by × %.2f, the larger factor; waits, pauses and preflight keep their measured time.\n\n",
                res->factor);
    } else {
        fprintf(f, "The snapshot is taken as the whole dataset (no `--scale-keys`/`--scale-bytes`): projected = measured.\n\n");
    }
    fprintf(f, "| from | to | step | duration | basis |\n|---|---|---|---:|---|\n");
    int64_t t = 0;
    for (int i = 0; i < res->nsteps; i++) {
        const RehearseStep *st = &res->steps[i];
        char from[32], to[32];
        rh_fmt_offset(from, sizeof(from), t);
        t += st->projected_ms > 0 ? st->projected_ms : 0;
        rh_fmt_offset(to, sizeof(to), t);
        rh_fmt_ms(b1, sizeof(b1), st->projected_ms);
        const char *basis = st->manual ? "manual: add the operator's time"
                          : st->duration_ms < 0 ? "not run in the rehearsal"
                          : st->scaled && res->factor != 1.0 ? "measured × factor" : "measured";
        fprintf(f, "| %s | %s | `%s` %s | %s | %s |\n", from, to, st->id, st->title, b1, basis);
    }
    rh_fmt_ms(b1, sizeof(b1), res->projected_ms);
    fprintf(f, "\n**Total: %s** without the manual steps.\n\n", b1);

    /* Manual steps. */
    fprintf(f, "## Manual steps (timed as zero)\n\n");
    int nman = 0;
    for (int i = 0; i < res->nsteps; i++) {
        const RehearseStep *st = &res->steps[i];
        if (!st->manual) continue;
        const RunbookStep *rs = &rb->steps[i];
        const char *ins = runbook_param(rs, "instruction");
        fprintf(f, "- `%s`: %s\n", st->id, ins ? ins : st->title);
        nman++;
    }
    fprintf(f, nman ? "\nTheir time is not in the projection: add what each takes the operator.\n\n" : "None.\n\n");

    /* Errors. */
    fprintf(f, "## Errors and warnings\n\n");
    if (!res->nerrors) fprintf(f, "None.\n\n");
    for (int i = 0; i < res->nerrors; i++) {
        fputs("- ", f);
        rh_md_cell(f, res->errors[i]);
        fputc('\n', f);
    }
    if (res->nerrors) fputc('\n', f);

    fprintf(f, "## Files\n\n- Journal: `%s`\n- Chart: `%s`\n", res->journal_path, res->svg_path);
    /* The steps' own files (verify reports, deleted-logs) next to the journal. */
    if (res->run_id[0]) {
        const char *dir = o->report_dir ? o->report_dir : ".";
        char prefix[128];
        snprintf(prefix, sizeof(prefix), "ferry-report-%s-", res->run_id);
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (!strncmp(e->d_name, prefix, strlen(prefix))) fprintf(f, "- Step file: `%s/%s`\n", dir, e->d_name);
        if (d) closedir(d);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return util_err(err, errlen, "cannot write the report %s: %s", res->report_path, strerror(errno));
    return 0;
}

/* ------------------------------------------------------------ the run */

static void rh_add_error(RehearseResult *res, const char *step, const char *text) {
    char line[FERRY_ERR_LEN];
    snprintf(line, sizeof(line), "%s%s%s", step && step[0] ? step : "", step && step[0] ? ": " : "", text);
    /* The same reason comes as the step's outcome, the runner's line and
     * the run's reason: keep it once, with its step. */
    for (int i = 0; i < res->nerrors; i++)
        if (strstr(res->errors[i], text) || strstr(text, res->errors[i])) return;
    for (int i = 0; i < res->nerrors; i++) {
        const char *body = strstr(res->errors[i], ": ");
        if (body && strstr(text, body + 2)) return;
    }
    if (res->nerrors < REHEARSE_MAX_ERRORS) util_strlcpy(res->errors[res->nerrors++], line, FERRY_ERR_LEN);
}

/* Claims "DIR/rehearsal-<time>[-n].md" (O_EXCL) and derives the other names. */
static int rh_names(const char *dir, RehearseResult *res, char *when, size_t wlen, char *err, size_t errlen) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    strftime(when, wlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
    for (int n = 1; n < 100; n++) {
        char base[1000];
        if (n == 1) snprintf(base, sizeof(base), "%s/rehearsal-%s", dir, stamp);
        else snprintf(base, sizeof(base), "%s/rehearsal-%s-%d", dir, stamp, n);
        snprintf(res->report_path, sizeof(res->report_path), "%s.md", base);
        int fd = open(res->report_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0)
            return util_err(err, errlen, "cannot write the report in %s: %s; choose a writable --report-dir", dir, strerror(errno));
        close(fd);
        snprintf(res->svg_path, sizeof(res->svg_path), "%s.svg", base);
        snprintf(res->journal_path, sizeof(res->journal_path), "%s.jsonl", base);
        return 0;
    }
    return util_err(err, errlen, "too many rehearsal reports for %s in %s", stamp, dir);
}

static int rh_scaled_action(const char *a) {
    return !strcmp(a, "copy") || !strcmp(a, "verify") || !strcmp(a, "verify-counts") || !strcmp(a, "prune") ||
           !strcmp(a, "flush-target");
}

/* Runs the runbook on the sandboxes; fills steps, samples, errors. */
static int rh_run_runbook(const RehearseOptions *o, RehearseResult *res, const Sandbox *src, const Sandbox *dst,
                          RhSample *smp, int *nsmp, char *err, size_t errlen) {
    const Runbook *rb = o->rb;
    RunSettings none, eff;
    run_settings_init(&none);
    run_settings_init(&eff);
    CopyOptions copy;
    copy_options_init(&copy);
    Runner *r = NULL;
    RunnerSnapshot *s = NULL;
    const char **ids = NULL;
    int rc = -1;
    if (run_settings_merge(&eff, &rb->settings, o->cli ? o->cli : &none, err, errlen) != 0) goto out;
    /* The sandboxes stand in for the servers; the dbs stay the runbook's. */
    char uri[160], e2[FERRY_ERR_LEN];
    int sdb = eff.has_source ? eff.source.db : -1, tdb = eff.has_target ? eff.target.db : -1;
    sandbox_uri(src, sdb, uri, sizeof(uri));
    if (run_settings_set(&eff, "source", uri, 0, e2, sizeof(e2)) < 0) {
        util_err(err, errlen, "%s", e2);
        goto out;
    }
    sandbox_uri(dst, tdb, uri, sizeof(uri));
    if (run_settings_set(&eff, "target", uri, 0, e2, sizeof(e2)) < 0) {
        util_err(err, errlen, "%s", e2);
        goto out;
    }
    free(eff.source_password_file);
    free(eff.target_password_file);
    eff.source_password_file = eff.target_password_file = NULL;
    if (run_settings_to_copy(&eff, &copy, err, errlen) != 0) goto out;
    if (runbook_check_gates(rb, copy.on_conflict, err, errlen) != 0) goto out;

    ids = calloc((size_t)rb->nsteps + 1, sizeof(*ids));
    s = malloc(sizeof(*s));
    if (!ids || !s) {
        util_err(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < rb->nsteps; i++) ids[i] = rb->steps[i].id;
    RunnerOptions ro;
    memset(&ro, 0, sizeof(ro));
    ro.rb = rb;
    ro.copy = &copy;
    ro.journal_path = res->journal_path;
    ro.confirm = ids;
    ro.nconfirm = rb->nsteps;
    ro.confirm_all = 1;
    ro.headless = 1;
    ro.accept_eviction = 1; /* the throwaway target's policy says nothing about production */
    if (!(r = runner_create(&ro, err, errlen))) goto out;
    int64_t t0 = util_now_ms();
    if (runner_start(r, err, errlen) != 0) goto out;
    uint64_t seen = 0;
    int abort_sent = 0;
    for (;;) {
        int fin = runner_wait(r, 200);
        if (!abort_sent && o->stopping && o->stopping(o->ud)) {
            runner_abort(r);
            abort_sent = 1;
        }
        runner_snapshot(r, s);
        for (int i = 0; i < s->nlog; i++) {
            const RunnerEvent *ev = &s->log[i];
            if (ev->seq <= seen) continue;
            seen = ev->seq;
            if (o->note) o->note(o->ud, ev->level, ev->step, ev->text);
            if (ev->level == EV_ERROR || ev->level == EV_WARN) rh_add_error(res, ev->step, ev->text);
        }
        if (s->engine_step >= 0 && s->engine_live && *nsmp < RH_MAX_SAMPLES) {
            smp[*nsmp].step = s->engine_step;
            smp[*nsmp].t_ms = util_now_ms() - t0;
            smp[*nsmp].done = s->engine.stats.done;
            (*nsmp)++;
        }
        if (fin) break;
    }
    runner_snapshot(r, s);
    res->state = s->state;
    util_strlcpy(res->reason, s->reason, sizeof(res->reason));
    util_strlcpy(res->run_id, s->run_id, sizeof(res->run_id));
    res->total_ms = util_now_ms() - t0;
    for (int i = 0; i < s->nsteps && i < res->nsteps; i++) {
        const RunnerStepView *v = &s->steps[i];
        res->steps[i].start_ms = v->started_ms > 0 ? v->started_ms - t0 : -1;
        if (res->steps[i].start_ms < 0 && v->started_ms > 0) res->steps[i].start_ms = 0;
        if (v->state == STEP_FAILED) rh_add_error(res, v->id, v->message);
    }
    if (res->state != RUNNER_DONE && res->reason[0]) rh_add_error(res, NULL, res->reason);
    rc = 0;
out:
    if (r) runner_free(r);
    free(s);
    free(ids);
    copy_options_free(&copy);
    run_settings_free(&eff);
    run_settings_free(&none);
    return rc;
}

int rehearse_run(const RehearseOptions *o, RehearseResult *res, char *err, size_t errlen) {
    memset(res, 0, sizeof(*res));
    res->state = RUNNER_IDLE;
    const Runbook *rb = o->rb;
    const char *dir = o->report_dir ? o->report_dir : ".";
    struct stat stt;
    errno = 0;
    if (!o->rdb_path || stat(o->rdb_path, &stt) != 0 || !S_ISREG(stt.st_mode) || access(o->rdb_path, R_OK) != 0)
        return util_err(err, errlen, "cannot read the snapshot %s: %s; give an RDB file (a copy of the server's dump.rdb, or BGSAVE's)",
                        o->rdb_path ? o->rdb_path : "(none)", errno ? strerror(errno) : "not a regular file");
    if (stat(dir, &stt) != 0 || !S_ISDIR(stt.st_mode))
        return util_err(err, errlen, "the report dir %s is not a directory: create it or choose another --report-dir", dir);
    res->nsteps = rb->nsteps;
    for (int i = 0; i < rb->nsteps; i++) {
        const RunbookStep *rs = &rb->steps[i];
        RehearseStep *st = &res->steps[i];
        util_strlcpy(st->id, rs->id, sizeof(st->id));
        util_strlcpy(st->title, rs->title, sizeof(st->title));
        util_strlcpy(st->action, rs->action->name, sizeof(st->action));
        st->manual = !strcmp(st->action, "manual");
        st->scaled = rh_scaled_action(st->action);
        st->start_ms = st->duration_ms = -1;
    }
    char when[64];
    if (rh_names(dir, res, when, sizeof(when), err, errlen) != 0) return -1;

    Sandbox src, dst;
    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    RhSample *smp = NULL;
    int nsmp = 0, rc = -1;
    Conn *c = NULL;
    char e2[FERRY_ERR_LEN];
    if (sandbox_start(&src, NULL, o->rdb_path, e2, sizeof(e2)) != 0) {
        util_err(err, errlen, "the throwaway source with the snapshot did not start: %s", e2);
        goto out;
    }
    if (sandbox_start(&dst, (const char *const[]){"--maxmemory", "0", NULL}, NULL, e2, sizeof(e2)) != 0) {
        util_err(err, errlen, "the throwaway target did not start: %s", e2);
        goto out;
    }
    util_strlcpy(res->server_version, src.version, sizeof(res->server_version));
    /* What the snapshot holds, and an empty server's baseline. */
    ServerInfo si;
    if (!(c = rh_connect(&src, "source", err, errlen))) goto out;
    if (serverinfo_fetch(c, &si, err, errlen) != 0) goto out;
    for (int d = 0; d <= si.max_db_seen && d < SERVERINFO_MAX_DB; d++) res->snapshot_keys += si.db_keys[d];
    res->source_used_memory = si.used_memory;
    conn_close(c);
    if (!(c = rh_connect(&dst, "target", err, errlen))) goto out;
    res->target_used_memory_empty = rh_info_u64(c, "used_memory");
    conn_close(c);
    c = NULL;
    if (o->note) {
        char b1[32], b2[32];
        util_fmt_count(b1, sizeof(b1), (double)res->snapshot_keys);
        util_fmt_bytes(b2, sizeof(b2), (double)res->source_used_memory);
        char line[300];
        snprintf(line, sizeof(line), "snapshot loaded into a throwaway redis-server %s on 127.0.0.1:%d: %s keys, %s; throwaway target on 127.0.0.1:%d",
                 src.version, src.port, b1, b2, dst.port);
        o->note(o->ud, EV_INFO, "", line);
    }

    if (!(smp = malloc(sizeof(*smp) * RH_MAX_SAMPLES))) {
        util_err(err, errlen, "out of memory");
        goto out;
    }
    if (rh_run_runbook(o, res, &src, &dst, smp, &nsmp, err, errlen) != 0) goto out;
    if (rh_read_journal(res, err, errlen) != 0) goto out;

    /* The target after the run. */
    if ((c = rh_connect(&dst, "target", e2, sizeof(e2)))) {
        res->target_used_memory = rh_info_u64(c, "used_memory");
        res->target_used_memory_peak = rh_info_u64(c, "used_memory_peak");
        ServerInfo ti;
        if (serverinfo_fetch(c, &ti, e2, sizeof(e2)) == 0)
            for (int d = 0; d <= ti.max_db_seen && d < SERVERINFO_MAX_DB; d++) res->target_keys += ti.db_keys[d];
        conn_close(c);
        c = NULL;
    } else {
        rh_add_error(res, NULL, e2);
    }

    /* Rates and the projection. */
    uint64_t data = res->source_used_memory > res->target_used_memory_empty
                        ? res->source_used_memory - res->target_used_memory_empty : 1;
    res->factor_keys = o->scale_keys && res->snapshot_keys ? (double)o->scale_keys / (double)res->snapshot_keys : 1.0;
    res->factor_bytes = o->scale_bytes ? (double)o->scale_bytes / (double)data : 1.0;
    res->factor = o->scale_keys && o->scale_bytes ? (res->factor_keys > res->factor_bytes ? res->factor_keys : res->factor_bytes)
                : o->scale_keys ? res->factor_keys : res->factor_bytes;
    res->projected_ms = 0;
    for (int i = 0; i < res->nsteps; i++) {
        RehearseStep *st = &res->steps[i];
        if (st->duration_ms > 0) {
            st->keys_per_s = (double)st->keys * 1000.0 / (double)st->duration_ms;
            st->mb_per_s = (double)st->bytes / 1e6 * 1000.0 / (double)st->duration_ms;
        }
        if (st->manual || st->duration_ms < 0) st->projected_ms = st->manual ? 0 : -1;
        else st->projected_ms = st->scaled ? (int64_t)((double)st->duration_ms * res->factor + 0.5) : st->duration_ms;
        if (st->projected_ms > 0) res->projected_ms += st->projected_ms;
    }
    uint64_t peak = res->target_used_memory_peak, base = res->target_used_memory_empty;
    double mf = o->scale_bytes ? res->factor_bytes : res->factor_keys;
    double need = ((double)(peak > base ? peak - base : 0) * mf + (double)base) * (1.0 + o->margin);
    res->needed_bytes = (uint64_t)need;

    rh_build_points(res, smp, nsmp);
    if (rehearse_write_svg(res, res->svg_path, err, errlen) != 0) goto out;
    if (rh_write_report(o, res, when, err, errlen) != 0) goto out;
    rc = 0;
out:
    if (c) conn_close(c);
    free(smp);
    sandbox_stop(&dst);
    sandbox_stop(&src);
    if (rc != 0 && res->report_path[0]) {
        /* No half-written report: the placeholder goes; the journal stays. */
        unlink(res->report_path);
        unlink(res->svg_path);
    }
    return rc;
}
