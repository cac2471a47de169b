/* preflight — the checks behind `ferry preflight` and the runbook's
 * preflight step. Read-only on both servers: INFO, COMMAND INFO, ACL
 * DRYRUN, SCAN, MEMORY USAGE on a sample, DBSIZE. See preflight.h. */
#include "preflight.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "util.h"

/* What managed services commonly disable; reported whether or not the
 * plan needs them, so that a plan written for a self-managed server meets
 * the truth before the window. */
static const char *const probe_commands[] = {"config", "debug", "migrate", "replicaof", "slaveof", "sync",
                                             "psync", "client|pause", "pexpiretime", "dump", "restore",
                                             "scan", NULL};

const char *preflight_level_name(PreflightLevel l) {
    switch (l) {
    case PF_PASS: return "pass";
    case PF_INFO: return "info";
    case PF_WARN: return "warn";
    case PF_FAIL: return "fail";
    }
    return "?";
}

/* ------------------------------------------------------------------ plan */

void preflight_plan_init(PreflightPlan *p) { memset(p, 0, sizeof(*p)); }

void preflight_plan_need(PreflightPlan *p, int side, const char *command, const char *action, int optional,
                         const char *fallback, const char *const *args) {
    for (int i = 0; i < p->n; i++) {
        PreflightNeed *n = &p->needs[i];
        if (n->side == side && !strcmp(n->command, command)) {
            if (!optional) n->optional = 0; /* needed for real by someone */
            return;
        }
    }
    if (p->n >= PREFLIGHT_MAX_NEEDS) return;
    PreflightNeed *n = &p->needs[p->n++];
    memset(n, 0, sizeof(*n));
    n->side = side;
    n->command = command;
    n->action = action;
    n->optional = optional;
    n->fallback = fallback;
    for (int i = 0; args && args[i] && i < PREFLIGHT_MAX_ARGS - 1; i++) n->args[i] = args[i];
}

void preflight_plan_copy(PreflightPlan *p) {
    p->copies = 1;
    preflight_plan_need(p, PF_SOURCE, "info", "copy", 0, NULL, (const char *const[]){"info", NULL});
    preflight_plan_need(p, PF_SOURCE, "scan", "copy", 0, NULL, (const char *const[]){"scan", "0", NULL});
    preflight_plan_need(p, PF_SOURCE, "dump", "copy", 0, NULL, (const char *const[]){"dump", "ferry:preflight", NULL});
    preflight_plan_need(p, PF_SOURCE, "pexpiretime", "copy", 1,
                        "expiries are derived from PTTL instead (exact within a few ms)",
                        (const char *const[]){"pexpiretime", "ferry:preflight", NULL});
    preflight_plan_need(p, PF_TARGET, "info", "copy", 0, NULL, (const char *const[]){"info", NULL});
    preflight_plan_need(p, PF_TARGET, "dbsize", "copy", 0, NULL, (const char *const[]){"dbsize", NULL});
    preflight_plan_need(p, PF_TARGET, "restore", "copy", 0, NULL,
                        (const char *const[]){"restore", "ferry:preflight", "0", "x", NULL});
    preflight_plan_need(p, PF_TARGET, "dump", "copy", 1,
                        "a key already on the target cannot be recognised as identical: it counts as a conflict",
                        (const char *const[]){"dump", "ferry:preflight", NULL});
}

void preflight_options_init(PreflightOptions *o, const CopyOptions *copy) {
    memset(o, 0, sizeof(*o));
    o->copy = copy;
    o->margin = 0.2;
    o->sample_keys = 200;
}

/* ---------------------------------------------------------------- report */

static PreflightLine *pf_add(PreflightReport *rep, PreflightLevel level, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static PreflightLine pf_dummy; /* where lines go when the report cannot grow */

static PreflightLine *pf_add(PreflightReport *rep, PreflightLevel level, const char *check, const char *fmt, ...) {
    if (rep->n == rep->cap) {
        int cap = rep->cap ? rep->cap * 2 : 32;
        PreflightLine *nl = realloc(rep->lines, (size_t)cap * sizeof(*nl));
        if (!nl) return &pf_dummy;
        rep->lines = nl;
        rep->cap = cap;
    }
    PreflightLine *l = &rep->lines[rep->n++];
    memset(l, 0, sizeof(*l));
    l->level = level;
    util_strlcpy(l->check, check, sizeof(l->check));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->reason, sizeof(l->reason), fmt, ap);
    va_end(ap);
    switch (level) {
    case PF_PASS: rep->npass++; break;
    case PF_INFO: rep->ninfo++; break;
    case PF_WARN: rep->nwarn++; break;
    case PF_FAIL: rep->nfail++; break;
    }
    return l;
}

__attribute__((format(printf, 2, 3))) static void pf_fix(PreflightLine *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->fix, sizeof(l->fix), fmt, ap);
    va_end(ap);
}

void preflight_report_free(PreflightReport *rep) {
    free(rep->lines);
    memset(rep, 0, sizeof(*rep));
}

/* -------------------------------------------------------------- db plan */


/* ------------------------------------------------------------ one side */

typedef struct Side {
    const char *role;       /* "source" / "target" */
    int mask;               /* PF_SOURCE / PF_TARGET */
    const ConnConfig *cfg;
    char label[300];
    Conn *c;
    ServerInfo si;
    uint64_t dataset;       /* used_memory_dataset, 0 unknown */
    uint64_t total_system;  /* total_system_memory, 0 unknown */
    int probed;             /* COMMAND INFO worked */
    char available[PREFLIGHT_MAX_NEEDS + 16][32];
    int navailable;
    char missing[PREFLIGHT_MAX_NEEDS + 16][32];
    int nmissing;
} Side;

static uint64_t info_u64(const char *text, const char *field) {
    size_t fl = strlen(field);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, field, fl) && p[fl] == ':') return strtoull(p + fl + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p) p++;
    }
    return 0;
}

static int side_connect(Side *s, PreflightReport *rep) {
    char err[FERRY_ERR_LEN];
    ConnConfig cfg = *s->cfg;
    cfg.uri.db = -1; /* select per db later: a cluster node refuses SELECT n */
    snprintf(cfg.client_name, sizeof(cfg.client_name), "ferry-preflight");
    uri_format_redacted(&s->cfg->uri, s->label, sizeof(s->label));
    s->c = conn_open(&cfg, err, sizeof(err));
    if (!s->c) {
        PreflightLine *l = pf_add(rep, PF_FAIL, s->role, "%s", err);
        pf_fix(l, "check the address and that the server runs; the password (FERRY_%s_PASSWORD or --%s-password-file), the user and the TLS options",
               s->mask == PF_SOURCE ? "SOURCE" : "TARGET", s->role);
        return -1;
    }
    redisReply *r = conn_command(s->c, "INFO");
    if (!r || r->type != REDIS_REPLY_STRING) {
        PreflightLine *l = pf_add(rep, PF_FAIL, s->role, "%s %s refused INFO: %s", s->role, s->label,
                                  r && r->type == REDIS_REPLY_ERROR ? r->str : conn_errstr(s->c));
        pf_fix(l, "ferry reads INFO to check versions, memory and key counts: allow INFO (+info) for this user");
        if (r) freeReplyObject(r);
        conn_close(s->c);
        s->c = NULL;
        return -1;
    }
    serverinfo_parse(r->str, &s->si);
    s->dataset = info_u64(r->str, "used_memory_dataset");
    s->total_system = info_u64(r->str, "total_system_memory");
    freeReplyObject(r);
    char mem[16];
    util_fmt_bytes(mem, sizeof(mem), (double)s->si.used_memory);
    pf_add(rep, PF_PASS, s->role, "%s reachable, authenticated as %s: %s %s, %s, %s used", s->label,
           s->cfg->uri.user[0] ? s->cfg->uri.user : "default", s->si.server_name, s->si.version,
           s->si.role[0] ? s->si.role : "role unknown", mem);
    return 0;
}

static int side_has(const Side *s, const char *cmd) {
    for (int i = 0; i < s->navailable; i++)
        if (!strcmp(s->available[i], cmd)) return 1;
    return 0;
}

static int side_missing(const Side *s, const char *cmd) {
    for (int i = 0; i < s->nmissing; i++)
        if (!strcmp(s->missing[i], cmd)) return 1;
    return 0;
}

static void upper(char *dst, const char *src, size_t len) {
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++) dst[i] = src[i] == '|' ? ' ' : (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
    dst[i] = '\0';
}

/* COMMAND INFO for every name the plan needs plus the usual suspects. A
 * renamed or removed command answers nil. */
static void side_probe(Side *s, const PreflightPlan *plan, PreflightReport *rep) {
    const char *names[PREFLIGHT_MAX_NEEDS + 16];
    int n = 0;
    for (int i = 0; i < plan->n; i++)
        if (plan->needs[i].side == s->mask) names[n++] = plan->needs[i].command;
    for (int i = 0; probe_commands[i]; i++) {
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= !strcmp(names[j], probe_commands[i]);
        if (!dup) names[n++] = probe_commands[i];
    }
    /* Before 7.0 COMMAND INFO knows no "container|sub": ask for the container. */
    int old = s->si.major < 7;
    const char *argv[PREFLIGHT_MAX_NEEDS + 18];
    size_t lens[PREFLIGHT_MAX_NEEDS + 18];
    char subbuf[PREFLIGHT_MAX_NEEDS + 16][32];
    argv[0] = "COMMAND";
    argv[1] = "INFO";
    for (int i = 0; i < n; i++) {
        const char *q = names[i];
        if (old && strchr(q, '|')) {
            util_strlcpy(subbuf[i], q, sizeof(subbuf[i]));
            *strchr(subbuf[i], '|') = '\0';
            q = subbuf[i];
        }
        argv[2 + i] = q;
    }
    for (int i = 0; i < n + 2; i++) lens[i] = strlen(argv[i]);
    redisReply *r = conn_command_argv(s->c, n + 2, argv, lens);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
        PreflightLine *l = pf_add(rep, PF_WARN, "commands", "cannot tell which commands %s %s allows: COMMAND INFO answered %s",
                                  s->role, s->label, r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpectedly");
        pf_fix(l, "allow COMMAND INFO for this user, or test the plan in a rehearsal against a snapshot of this server");
        if (r) freeReplyObject(r);
        return;
    }
    s->probed = 1;
    for (int i = 0; i < n; i++) {
        redisReply *e = r->element[i];
        int present = e->type == REDIS_REPLY_ARRAY && e->elements > 0;
        if (present && s->navailable < (int)(sizeof(s->available) / sizeof(s->available[0])))
            util_strlcpy(s->available[s->navailable++], names[i], sizeof(s->available[0]));
        else if (!present && s->nmissing < (int)(sizeof(s->missing) / sizeof(s->missing[0])))
            util_strlcpy(s->missing[s->nmissing++], names[i], sizeof(s->missing[0]));
    }
    freeReplyObject(r);
}

/* ACL DRYRUN for one need: 1 allowed; 0 refused ("no permissions to
 * run"); -1 cannot tell for this command (arity, key patterns); -2 ACL
 * DRYRUN itself is not available (older server, renamed, not permitted).
 * The server's words go to note. */
static int side_dryrun(Side *s, const PreflightNeed *nd, char *note, size_t notelen) {
    const char *argv[PREFLIGHT_MAX_ARGS + 3];
    size_t lens[PREFLIGHT_MAX_ARGS + 3];
    int n = 0;
    argv[n++] = "ACL";
    argv[n++] = "DRYRUN";
    argv[n++] = s->cfg->uri.user[0] ? s->cfg->uri.user : "default";
    for (int i = 0; nd->args[i]; i++) argv[n++] = nd->args[i];
    if (n == 3) argv[n++] = nd->command;
    for (int i = 0; i < n; i++) lens[i] = strlen(argv[i]);
    redisReply *r = conn_command_argv(s->c, n, argv, lens);
    if (!r) {
        snprintf(note, notelen, "%s", conn_errstr(s->c));
        return -2;
    }
    int rc;
    if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
        rc = 1;
    } else if ((r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS) && r->str) {
        snprintf(note, notelen, "%s", r->str);
        char low[300];
        size_t i = 0;
        for (; r->str[i] && i + 1 < sizeof(low); i++) low[i] = (char)(r->str[i] >= 'A' && r->str[i] <= 'Z' ? r->str[i] + 32 : r->str[i]);
        low[i] = '\0';
        if (strstr(low, "no permissions to run") && !strstr(low, "acl"))
            rc = 0;
        else if (strstr(low, "dryrun") || strstr(low, "'acl") || strstr(low, "unknown command"))
            rc = -2;
        else
            rc = -1;
    } else {
        snprintf(note, notelen, "unexpected reply");
        rc = -2;
    }
    freeReplyObject(r);
    return rc;
}

static void side_commands(Side *s, const PreflightPlan *plan, PreflightReport *rep) {
    if (!s->c) return;
    char check[40];
    snprintf(check, sizeof(check), "%s commands", s->role);
    side_probe(s, plan, rep);
    if (!s->probed) return;
    char ok[600] = "", disabled[600] = "";
    size_t okl = 0, dl = 0;
    int acl_checked = s->si.major >= 7;
    char acl_note[300] = "";
    for (int i = 0; i < plan->n; i++) {
        const PreflightNeed *nd = &plan->needs[i];
        if (nd->side != s->mask) continue;
        char up[40];
        upper(up, nd->command, sizeof(up));
        if (!side_has(s, nd->command)) {
            if (nd->optional) {
                pf_add(rep, PF_WARN, check, "%s %s has no %s (renamed, removed or too old): %s", s->role, s->label,
                       up, nd->fallback ? nd->fallback : "the plan works around it");
            } else {
                PreflightLine *l = pf_add(rep, PF_FAIL, check, "%s %s does not offer %s (renamed or disabled, as managed services do), and the %s step needs it",
                                          s->role, s->label, up, nd->action);
                pf_fix(l, "ask the server's owner to allow %s, or change the plan: drop or replace the %s step", up, nd->action);
            }
            continue;
        }
        if (acl_checked) {
            char note[300] = "";
            int allowed = side_dryrun(s, nd, note, sizeof(note));
            if (allowed == 0) {
                PreflightLevel lvl = nd->optional ? PF_WARN : PF_FAIL;
                PreflightLine *l = pf_add(rep, lvl, check, "%s %s: user %s may not run %s (%s), which the %s step needs",
                                          s->role, s->label, s->cfg->uri.user[0] ? s->cfg->uri.user : "default", up,
                                          note, nd->action);
                pf_fix(l, "grant it: ACL SETUSER %s +%s (or the provider's ACL settings), or connect as another user",
                       s->cfg->uri.user[0] ? s->cfg->uri.user : "default", nd->command);
                continue;
            }
            if (allowed == -2) {
                acl_checked = 0; /* no DRYRUN here: say so once */
                util_strlcpy(acl_note, note, sizeof(acl_note));
            }
        }
        if (okl < sizeof(ok)) okl += (size_t)snprintf(ok + okl, sizeof(ok) - okl, "%s%s", okl ? ", " : "", up);
    }
    if (okl)
        pf_add(rep, PF_PASS, check, "%s offers what the plan needs: %s%s", s->role, ok,
               acl_checked ? " (ACL DRYRUN: allowed for this user)" : "");
    if (!acl_checked && s->si.major >= 7) {
        PreflightLine *l = pf_add(rep, PF_INFO, check, "%s: permissions not checked (ACL DRYRUN: %s); a permission error would show when the step runs",
                                  s->role, acl_note[0] ? acl_note : "refused");
        pf_fix(l, "allow ACL DRYRUN for this user to have them checked here");
    }
    for (int i = 0; probe_commands[i]; i++) {
        if (!side_missing(s, probe_commands[i])) continue;
        int needed = 0;
        for (int j = 0; j < plan->n; j++)
            if (plan->needs[j].side == s->mask && !strcmp(plan->needs[j].command, probe_commands[i])) needed = 1;
        if (needed) continue; /* reported above */
        char up[40];
        upper(up, probe_commands[i], sizeof(up));
        if (dl < sizeof(disabled)) dl += (size_t)snprintf(disabled + dl, sizeof(disabled) - dl, "%s%s", dl ? ", " : "", up);
    }
    if (dl)
        pf_add(rep, PF_INFO, check, "%s disables %s (renamed or removed, as managed services do): not needed by this plan, but a plan that uses them fails here",
               s->role, disabled);
}

/* ------------------------------------------------------------- memory */

/* Estimated bytes the selected keys of one source db take: MEMORY USAGE of
 * a sample of SCANned keys that pass the filter. -1 when MEMORY USAGE is
 * not available. */
static int64_t estimate_db(Side *s, const Filter *f, int db, uint64_t dbkeys, int sample, int *memory_usage_ok) {
    if (conn_select(s->c, db) != 0) return -1;
    uint64_t cursor = 0;
    int seen = 0, pass = 0, pages = 0;
    double bytes = 0;
    char err[FERRY_ERR_LEN];
    do {
        ScanPage page;
        if (scan_page(s->c, cursor, NULL, NULL, 100, &page, err, sizeof(err)) != 0) return -1;
        int asked = 0;
        for (size_t i = 0; i < page.nkeys && seen < sample; i++) {
            redisReply *k = page.keys[i];
            if (k->type != REDIS_REPLY_STRING) continue;
            seen++;
            if (!filter_key(f, k->str, k->len)) continue;
            pass++;
            conn_append(s->c, "MEMORY USAGE %b", k->str, k->len);
            asked++;
        }
        for (int i = 0; i < asked; i++) {
            redisReply *r;
            if (conn_get_reply(s->c, &r) != 0) {
                scan_page_free(&page);
                return -1;
            }
            if (r->type == REDIS_REPLY_INTEGER)
                bytes += (double)r->integer;
            else if (r->type == REDIS_REPLY_ERROR)
                *memory_usage_ok = 0;
            freeReplyObject(r);
        }
        cursor = page.next_cursor;
        scan_page_free(&page);
        pages++;
    } while (cursor != 0 && seen < sample && pages < 50);
    if (!*memory_usage_ok) return -1;
    if (!seen || !pass) return 0;
    return (int64_t)((double)dbkeys * ((double)pass / seen) * (bytes / pass));
}

static void check_memory(Side *src, Side *dst, const PreflightOptions *o, const int *src_db, const int *dst_db,
                         int ndb, int flushes, PreflightReport *rep) {
    const Filter *f = &o->copy->filter;
    int mu_ok = 1;
    double est = 0;
    int sampled = 1;
    uint64_t sel_keys = 0, all_keys = 0;
    for (int d = 0; d < SERVERINFO_MAX_DB; d++) all_keys += src->si.db_keys[d];
    for (int i = 0; i < ndb; i++) {
        int db = src_db[i];
        uint64_t keys = db < SERVERINFO_MAX_DB ? src->si.db_keys[db] : 0;
        sel_keys += keys;
        if (!keys || !mu_ok) continue;
        int64_t e = estimate_db(src, f, db, keys, o->sample_keys > 0 ? o->sample_keys : 200, &mu_ok);
        if (e < 0) {
            sampled = 0;
            break;
        }
        est += (double)e;
    }
    const char *how = "MEMORY USAGE of a sample of the selected keys";
    if (!sampled || !mu_ok) {
        uint64_t base = src->dataset ? src->dataset : src->si.used_memory;
        est = all_keys ? (double)base * ((double)sel_keys / (double)all_keys) : 0;
        how = "the source's dataset memory, in proportion to the selected dbs' keys (MEMORY USAGE not available; filters not applied)";
    }
    double need = est * (1.0 + o->margin);
    /* A flush-target step frees what the target dbs hold before the copy. */
    double used = (double)dst->si.used_memory;
    const char *after_flush = "";
    if (flushes) {
        uint64_t t_all = 0, t_flushed = 0;
        for (int d = 0; d < SERVERINFO_MAX_DB; d++) t_all += dst->si.db_keys[d];
        for (int i = 0; i < ndb; i++) {
            int dup = 0;
            for (int j = 0; j < i; j++) dup |= dst_db[j] == dst_db[i];
            if (!dup && dst_db[i] < SERVERINFO_MAX_DB) t_flushed += dst->si.db_keys[dst_db[i]];
        }
        if (t_all && t_flushed) {
            double base = dst->dataset ? (double)dst->dataset : used;
            used -= base * ((double)t_flushed / (double)t_all);
            if (used < 0) used = 0;
            after_flush = " after the flush-target step";
        }
    }
    char e1[16], n1[16], fr[16], mx[16], us[16];
    util_fmt_bytes(e1, sizeof(e1), est);
    util_fmt_bytes(n1, sizeof(n1), need);
    util_fmt_bytes(us, sizeof(us), used);
    int pct = (int)(o->margin * 100 + 0.5);
    if (dst->si.maxmemory == 0) {
        if (!dst->total_system) {
            pf_add(rep, PF_INFO, "target memory", "the selected keys take about %s on the source (%s); the target sets no maxmemory",
                   e1, how);
            return;
        }
        double free_b = (double)dst->total_system > used ? (double)dst->total_system - used : 0;
        util_fmt_bytes(fr, sizeof(fr), free_b);
        PreflightLevel lvl = need <= free_b ? PF_PASS : est <= free_b ? PF_WARN : PF_FAIL;
        PreflightLine *l = pf_add(rep, lvl, "target memory", "the selected keys take about %s on the source (%s); the target sets no maxmemory and its host has %s free (%s used%s)",
                                  e1, how, fr, us, after_flush);
        if (lvl != PF_PASS) pf_fix(l, "set a maxmemory on the target and give it at least %s (estimate + %d%%), or copy fewer keys", n1, pct);
        return;
    }
    double free_b = (double)dst->si.maxmemory > used ? (double)dst->si.maxmemory - used : 0;
    util_fmt_bytes(fr, sizeof(fr), free_b);
    util_fmt_bytes(mx, sizeof(mx), (double)dst->si.maxmemory);
    PreflightLevel lvl = need <= free_b ? PF_PASS : est <= free_b ? PF_WARN : PF_FAIL;
    PreflightLine *l = pf_add(rep, lvl, "target memory", "the selected keys take about %s on the source (%s); the target has %s free (maxmemory %s, %s used%s)%s",
                              e1, how, fr, mx, us, after_flush,
                              lvl == PF_WARN ? "; that leaves less than the margin" : "");
    if (lvl != PF_PASS) {
        char want[16];
        util_fmt_bytes(want, sizeof(want), used + need);
        pf_fix(l, "raise the target's maxmemory to at least %s (used + estimate + %d%% margin), or copy fewer keys (db map, match)",
               want, pct);
    }
}

/* ------------------------------------------------------------------ run */

int preflight_run(const PreflightOptions *o, const PreflightPlan *plan_in, PreflightReport *rep, char *err,
                  size_t errlen) {
    memset(rep, 0, sizeof(*rep));
    const CopyOptions *co = o->copy;
    PreflightPlan plan = *plan_in;
    /* Several types chosen: the copy asks TYPE of every key on the source. */
    if (plan.copies && co->filter.types && !filter_server_type(&co->filter))
        preflight_plan_need(&plan, PF_SOURCE, "type", "copy", 0, NULL, (const char *const[]){"type", "ferry:preflight", NULL});
    /* Every check needs INFO; the copy and its guards need it anyway. */
    preflight_plan_need(&plan, PF_SOURCE, "info", "preflight", 0, NULL, (const char *const[]){"info", NULL});
    preflight_plan_need(&plan, PF_TARGET, "info", "preflight", 0, NULL, (const char *const[]){"info", NULL});

    Side *sides = calloc(2, sizeof(Side));
    if (!sides) return util_err(err, errlen, "out of memory");
    Side *src = &sides[0], *dst = &sides[1];
    src->role = "source";
    src->mask = PF_SOURCE;
    src->cfg = &co->source;
    dst->role = "target";
    dst->mask = PF_TARGET;
    dst->cfg = &co->target;
    side_connect(src, rep);
    side_connect(dst, rep);

    int src_db[DBMAP_MAX], dst_db[DBMAP_MAX], ndb = 0, plan_ok = 0;
    if (src->c) {
        char e2[FERRY_ERR_LEN];
        if (engine_db_plan(co, &src->si, src_db, dst_db, DBMAP_MAX, &ndb, e2, sizeof(e2)) != 0) {
            PreflightLine *l = pf_add(rep, PF_FAIL, "db plan", "%s", e2);
            pf_fix(l, "say which dbs to copy with db-map = SRC:DST (or --db-map)");
        } else {
            plan_ok = 1;
        }
    }

    if (src->c && dst->c) {
        /* Versions and payloads. */
        const ServerInfo *a = &src->si, *b = &dst->si;
        if (plan.copies) {
            if (serverinfo_payload_compatible(a->rdb_version, b->rdb_version)) {
                pf_add(rep, PF_PASS, "versions", "source %s %s (DUMP payload v%d) → target %s %s (v%d): RESTORE accepts the source's payloads",
                       a->server_name, a->version, a->rdb_version, b->server_name, b->version, b->rdb_version);
            } else {
                PreflightLine *l = pf_add(rep, PF_WARN, "versions", "source %s %s writes DUMP payloads of RDB version %d, target %s %s takes up to %d: "
                                                                     "values whose encoding the target knows go in with the payload's version lowered, "
                                                                     "the others (e.g. 7.2 set listpacks and streams, 7.4 hashes with field expiries) with type commands",
                                          a->server_name, a->version, a->rdb_version, b->server_name, b->version,
                                          b->rdb_version);
                pf_fix(l, "expect those keys to copy slower (read in chunks, written with HSET/RPUSH/XADD…); a target of the same or a newer version avoids it");
            }
        }
        /* The same server on both sides. */
        if (a->run_id[0] && !strcmp(a->run_id, b->run_id)) {
            int same_db = -1;
            for (int i = 0; i < ndb; i++)
                if (src_db[i] == dst_db[i]) same_db = src_db[i];
            if (same_db >= 0) {
                PreflightLine *l = pf_add(rep, PF_FAIL, "same server", "source and target are the same server (run_id %.12s…) and db %d: the copy would read and write the same keys",
                                          a->run_id, same_db);
                pf_fix(l, "check --target: it names the source under another address");
            } else {
                pf_add(rep, PF_INFO, "same server", "source and target are the same server (run_id %.12s…), different dbs: a split within one server",
                       a->run_id);
            }
        }
        /* Cluster mode: only db 0 exists; the engine does not copy clusters yet. */
        for (int k = 0; k < 2; k++) {
            Side *s = k ? dst : src;
            if (!s->si.cluster_enabled) continue;
            int bad_db = -1;
            for (int i = 0; i < ndb; i++) {
                int db = k ? dst_db[i] : src_db[i];
                if (db != 0) bad_db = db;
            }
            if (bad_db > 0) {
                PreflightLine *l = pf_add(rep, PF_FAIL, "cluster", "%s %s is in cluster mode, where only db 0 exists, but the plan %s db %d",
                                          s->role, s->label, k ? "writes to" : "reads from", bad_db);
                pf_fix(l, "map the data to db 0 (db-map = %d:0)", k ? src_db[0] : bad_db);
            } else if (plan.copies) {
                PreflightLine *l = pf_add(rep, PF_FAIL, "cluster", "%s %s is a cluster node: this version of ferry copies between standalone servers only",
                                          s->role, s->label);
                pf_fix(l, "copy to/from a standalone server, or one ferry per shard once cluster support lands");
            } else {
                pf_add(rep, PF_INFO, "cluster", "%s %s is in cluster mode (db 0 only)", s->role, s->label);
            }
        }
        /* A replica target refuses writes. */
        if (!strcmp(b->role, "slave")) {
            PreflightLine *l = pf_add(rep, PF_FAIL, "target role", "target %s is a replica: it refuses writes (READONLY), so nothing can be restored",
                                      dst->label);
            pf_fix(l, "point --target at the primary");
        }
        /* Eviction. */
        if (serverinfo_policy_evicts(b)) {
            if (!b->maxmemory) {
                pf_add(rep, PF_INFO, "target eviction", "target maxmemory-policy is %s, but no maxmemory is set: nothing is evicted",
                       b->maxmemory_policy);
            } else if (o->accept_eviction) {
                pf_add(rep, PF_WARN, "target eviction", "target maxmemory-policy %s may evict copied keys under memory pressure (accepted with --accept-eviction)",
                       b->maxmemory_policy);
            } else {
                PreflightLine *l = pf_add(rep, PF_FAIL, "target eviction", "target maxmemory-policy is %s: when memory runs short it evicts keys, copied ones included, silently",
                                          b->maxmemory_policy);
                pf_fix(l, "set maxmemory-policy noeviction on the target (the provider's parameter group), or accept the risk with --accept-eviction / accept-eviction = yes");
            }
        } else if (b->maxmemory_policy[0]) {
            pf_add(rep, PF_PASS, "target eviction", "target maxmemory-policy %s: keys are never evicted (a full target refuses writes instead, and ferry stops)",
                   b->maxmemory_policy);
        }
    }

    side_commands(src, &plan, rep);
    side_commands(dst, &plan, rep);

    if (src->c && dst->c && plan.copies && plan_ok) {
        check_memory(src, dst, o, src_db, dst_db, ndb, plan.flushes_target, rep);
        /* Key counts per db. */
        for (int i = 0; i < ndb; i++) {
            uint64_t sk = src_db[i] < SERVERINFO_MAX_DB ? src->si.db_keys[src_db[i]] : 0;
            uint64_t se = src_db[i] < SERVERINFO_MAX_DB ? src->si.db_expires[src_db[i]] : 0;
            uint64_t tk = dst_db[i] < SERVERINFO_MAX_DB ? dst->si.db_keys[dst_db[i]] : 0;
            const char *what = "keys";
            if (!sk) {
                PreflightLine *l = pf_add(rep, PF_WARN, what, "source db %d is empty: nothing to copy from it", src_db[i]);
                pf_fix(l, "check the db number (db-map, or the /db in the source URI)");
            } else if (!tk) {
                pf_add(rep, PF_PASS, what, "source db %d: %llu keys (%llu with an expiry); target db %d is empty", src_db[i],
                       (unsigned long long)sk, (unsigned long long)se, dst_db[i]);
            } else if (plan.flushes_target) {
                pf_add(rep, PF_INFO, what, "source db %d: %llu keys; target db %d holds %llu keys, which the flush-target step deletes first",
                       src_db[i], (unsigned long long)sk, dst_db[i], (unsigned long long)tk);
            } else if (co->on_conflict_explicit) {
                pf_add(rep, PF_INFO, what, "source db %d: %llu keys; target db %d already holds %llu keys: on-conflict %s decides for keys on both",
                       src_db[i], (unsigned long long)sk, dst_db[i], (unsigned long long)tk,
                       conflict_policy_name(co->on_conflict));
            } else {
                PreflightLine *l = pf_add(rep, PF_FAIL, what, "target db %d already holds %llu keys and no on-conflict policy is chosen: the copy would refuse to start",
                                          dst_db[i], (unsigned long long)tk);
                pf_fix(l, "choose on-conflict = fail|skip|replace (or --on-conflict), add a flush-target step, or check the target");
            }
        }
        if (ndb == 0)
            pf_add(rep, PF_WARN, "keys", "the source holds no keys: nothing to copy");
    }
    if (src->c) conn_close(src->c);
    if (dst->c) conn_close(dst->c);
    free(sides);
    return 0;
}
