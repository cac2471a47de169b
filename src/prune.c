/* prune — SCAN the target, select by rule, UNLINK in pipelined batches;
 * see prune.h. One thread, one connection to the target (plus a short one
 * to the source for the run_id guard). */
#include "prune.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "scan.h"
#include "serverinfo.h"
#include "util.h"

#define RECONNECT_ATTEMPTS 12
#define PAGE_ATTEMPTS 4
#define PREFIX_SLOTS 4096 /* distinct prefixes tracked; more are summed as "other" */
#define PREFIX_MAX 64

typedef struct Slot {
    uint64_t n;
    size_t len;
    char name[PREFIX_MAX];
    int used;
} Slot;

typedef struct P {
    const PruneOptions *o;
    PruneResult *res;
    Conn *c;
    FILE *log;
    char *err;
    size_t errlen;
    Slot *slots;
    int nslots;
    uint64_t untracked;
    /* Rate limit on deletions: a virtual clock like verify's budget. */
    int64_t vclock_us;
    int64_t t0_ms, last_tick_ms;
    uint64_t last_scanned;
    double rate;
    double progress;
} P;

static void pr_note(P *p, EventLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pr_note(P *p, EventLevel level, const char *fmt, ...) {
    if (!p->o->note) return;
    char buf[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    p->o->note(p->o->ud, level, buf);
}

static int pr_stopping(P *p) { return p->o->stopping && p->o->stopping(p->o->ud); }

static int pr_stopped(P *p) {
    if (p->o->execute)
        return util_err(p->err, p->errlen, "stopped by the operator after deleting %" PRIu64 " keys (listed in %s); rerun to finish",
                        p->res->deleted, p->res->deleted_log);
    return util_err(p->err, p->errlen, "stopped by the operator: the dry run is incomplete");
}

static void pr_tick(P *p, int force) {
    int64_t now = util_mono_ms();
    if (!force && now - p->last_tick_ms < 1000) return;
    double dt = (double)(now - p->last_tick_ms) / 1000.0;
    if (dt > 0.05) p->rate = (double)(p->res->scanned - p->last_scanned) / dt;
    p->last_tick_ms = now;
    p->last_scanned = p->res->scanned;
    if (!p->o->progress) return;
    PruneProgress pg = {p->o->execute, p->progress, p->res->scanned, p->res->selected, p->res->deleted, p->rate,
                        now - p->t0_ms};
    p->o->progress(p->o->ud, &pg);
}

/* Waits until n more deletions fit the rate. -1 on a stop request. */
static int pr_rate(P *p, int n) {
    if (p->o->rate <= 0) return 0;
    int64_t now = util_mono_us();
    if (p->vclock_us < now - 100000) p->vclock_us = now - 100000;
    p->vclock_us += (int64_t)((double)n * 1e6 / p->o->rate);
    while (p->vclock_us > now) {
        int64_t wait = p->vclock_us - now;
        util_sleep_ms(wait > 100000 ? 100 : (wait + 999) / 1000);
        if (pr_stopping(p)) return pr_stopped(p);
        pr_tick(p, 0);
        now = util_mono_us();
    }
    return 0;
}

/* Counts a selected key under its prefix (up to and including the first
 * ':'; "(no prefix)" without one). */
static void pr_prefix(P *p, const char *k, size_t len) {
    const char *colon = memchr(k, ':', len);
    size_t pl = colon ? (size_t)(colon - k) + 1 : 0;
    if (pl > PREFIX_MAX) pl = PREFIX_MAX;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < pl; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    for (int probe = 0; probe < PREFIX_SLOTS; probe++) {
        Slot *s = &p->slots[(h + (uint64_t)probe) % PREFIX_SLOTS];
        if (s->used && s->len == pl && !memcmp(s->name, k, pl)) {
            s->n++;
            return;
        }
        if (!s->used) {
            if (p->nslots >= PREFIX_SLOTS / 2) break; /* keep probes short */
            s->used = 1;
            s->len = pl;
            memcpy(s->name, k, pl);
            s->n = 1;
            p->nslots++;
            return;
        }
    }
    p->untracked++;
}

static int pr_cmp_slot(const void *a, const void *b) {
    const Slot *x = a, *y = b;
    if (x->used != y->used) return y->used - x->used;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

static void pr_prefix_finish(P *p) {
    qsort(p->slots, PREFIX_SLOTS, sizeof(Slot), pr_cmp_slot);
    PruneResult *r = p->res;
    r->other_prefixes = p->untracked;
    for (int i = 0; i < PREFIX_SLOTS && p->slots[i].used; i++) {
        if (r->nprefix < PRUNE_TOP_PREFIXES) {
            PrunePrefix *t = &r->top[r->nprefix++];
            if (p->slots[i].len == 0) snprintf(t->name, sizeof(t->name), "(no prefix)");
            else util_escape_key(p->slots[i].name, p->slots[i].len, t->name, sizeof(t->name));
            t->n = p->slots[i].n;
        } else {
            r->other_prefixes += p->slots[i].n;
        }
    }
}

static long long pr_dbsize(P *p) {
    redisReply *r = conn_command(p->c, "DBSIZE");
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return n;
}

/* After an I/O error: reopen the target (the db comes back with it). */
static int pr_recover(P *p) {
    char why[FERRY_ERR_LEN];
    util_strlcpy(why, conn_errstr(p->c), sizeof(why));
    pr_note(p, EV_WARN, "%s: connection lost (%s); reconnecting", conn_label(p->c), why);
    if (conn_reconnect(p->c, RECONNECT_ATTEMPTS, NULL) != 0)
        return util_err(p->err, p->errlen, "%s: connection lost and not regained (%s); check the server, then rerun",
                        conn_label(p->c), why);
    return 0;
}

/* UNLINKs keys [0, n) of b; logs and counts the ones removed. A batch cut
 * by a dropped connection is resent from the first unanswered key; a key
 * whose first answer was lost and that is gone now was (almost surely)
 * deleted by us, and is logged as such. */
static int pr_unlink(P *p, const Batch *b) {
    int from = 0, uncertain_from = -1;
    for (int attempt = 1; from < b->n; attempt++) {
        for (int i = from; i < b->n; i++) {
            const char *a[2] = {"UNLINK", batch_key(b, i)};
            size_t l[2] = {6, b->len[i]};
            conn_append_argv(p->c, 2, a, l);
        }
        int i = from;
        for (; i < b->n; i++) {
            redisReply *r;
            if (conn_get_reply(p->c, &r) != 0) break;
            if (r->type == REDIS_REPLY_ERROR) {
                util_err(p->err, p->errlen, "%s refused UNLINK: %s; %" PRIu64 " keys were deleted before (listed in %s)",
                         conn_label(p->c), r->str, p->res->deleted, p->res->deleted_log);
                freeReplyObject(r);
                return -1;
            }
            int gone = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
            freeReplyObject(r);
            if (gone || (uncertain_from >= 0 && i >= uncertain_from)) {
                p->res->deleted++;
                util_fput_key(p->log, batch_key(b, i), b->len[i], 1);
                fputc('\n', p->log);
            } else {
                p->res->vanished++;
            }
        }
        fflush(p->log);
        if (i == b->n) return 0;
        if (attempt >= PAGE_ATTEMPTS || pr_recover(p) != 0) {
            if (attempt >= PAGE_ATTEMPTS)
                util_err(p->err, p->errlen, "%s: %s; %" PRIu64 " keys deleted so far (listed in %s)", conn_label(p->c),
                         conn_errstr(p->c), p->res->deleted, p->res->deleted_log);
            return -1;
        }
        from = i;
        uncertain_from = i;
    }
    return 0;
}

/* The keys of one SCAN page that the rule sends away, into b. */
static int pr_select(P *p, const ScanPage *page, Batch *b) {
    const PruneOptions *o = p->o;
    const Filter *f = &o->filter;
    int check_types = f->types && !filter_server_type(f);
    Batch *cand = check_types ? batch_new(0, 0, (int)page->nkeys) : b;
    if (!cand) return util_err(p->err, p->errlen, "out of memory");
    for (size_t i = 0; i < page->nkeys; i++) {
        const redisReply *k = page->keys[i];
        if (k->type != REDIS_REPLY_STRING) continue;
        int m = filter_key(f, k->str, k->len);
        if (o->rule == PRUNE_DROP ? m : !m) batch_add(cand, k->str, k->len);
    }
    if (!check_types) return 0;
    /* Several types: ask TYPE for the candidates. */
    int rc = 0;
    for (int attempt = 1; attempt <= PAGE_ATTEMPTS; attempt++) {
        for (int i = 0; i < cand->n; i++) {
            const char *a[2] = {"TYPE", batch_key(cand, i)};
            size_t l[2] = {4, cand->len[i]};
            conn_append_argv(p->c, 2, a, l);
        }
        int i = 0;
        b->n = 0;
        b->used = 0;
        for (; i < cand->n; i++) {
            redisReply *r;
            if (conn_get_reply(p->c, &r) != 0) break;
            if (r->type == REDIS_REPLY_STATUS && filter_type(f, filter_type_from_name(r->str)) && strcmp(r->str, "none"))
                batch_add(b, batch_key(cand, i), cand->len[i]);
            freeReplyObject(r);
        }
        if (i == cand->n) break;
        if (attempt == PAGE_ATTEMPTS) rc = util_err(p->err, p->errlen, "%s", conn_errstr(p->c));
        else if (pr_recover(p) != 0) rc = -1;
        if (rc) break;
    }
    batch_free(cand);
    return rc;
}

static int pr_walk(P *p) {
    const PruneOptions *o = p->o;
    const Filter *f = &o->filter;
    const char *match = o->rule == PRUNE_DROP ? filter_server_match(f) : NULL;
    const char *type = filter_server_type(f);
    uint64_t cursor = 0;
    do {
        if (pr_stopping(p)) return pr_stopped(p);
        ScanPage page;
        for (int attempt = 1;; attempt++) {
            if (scan_page(p->c, cursor, match, type, o->scan_count, &page, p->err, p->errlen) == 0) break;
            if (!conn_broken(p->c) || attempt >= PAGE_ATTEMPTS || pr_recover(p) != 0) return -1;
        }
        cursor = page.next_cursor;
        p->res->scanned += page.nkeys;
        Batch *b = batch_new(p->res->db, p->res->db, (int)page.nkeys);
        if (!b) {
            scan_page_free(&page);
            return util_err(p->err, p->errlen, "out of memory");
        }
        int rc = pr_select(p, &page, b);
        scan_page_free(&page);
        for (int i = 0; i < b->n && !rc; i++) {
            p->res->selected++;
            pr_prefix(p, batch_key(b, i), b->len[i]);
            if (p->res->nsamples < PRUNE_SAMPLES)
                util_escape_key(batch_key(b, i), b->len[i], p->res->samples[p->res->nsamples++], sizeof(p->res->samples[0]));
        }
        if (!rc && o->execute && b->n) {
            int batch = o->batch > 0 ? o->batch : 500;
            for (int i = 0; i < b->n && !rc; i += batch) {
                int n = i + batch < b->n ? batch : b->n - i;
                Batch *part = batch_new(p->res->db, p->res->db, n);
                if (!part) {
                    rc = util_err(p->err, p->errlen, "out of memory");
                    break;
                }
                for (int j = 0; j < n; j++) batch_add(part, batch_key(b, i + j), b->len[i + j]);
                if (pr_rate(p, n) != 0 || pr_unlink(p, part) != 0) rc = -1;
                batch_free(part);
                if (!rc && pr_stopping(p)) rc = pr_stopped(p);
                pr_tick(p, 0);
            }
        }
        batch_free(b);
        if (rc) return -1;
        p->progress = cursor ? scan_cursor_progress(cursor) : 1.0;
        pr_tick(p, 0);
    } while (cursor != 0);
    return 0;
}

/* The source guard: the target must not be the source server. */
static int pr_guard(P *p, const ServerInfo *ti) {
    const PruneOptions *o = p->o;
    char tl[300], sl[300];
    uri_format_redacted(&o->target.uri, tl, sizeof(tl));
    if (!o->has_source) return 0;
    uri_format_redacted(&o->source.uri, sl, sizeof(sl));
    ConnConfig sc = o->source;
    util_strlcpy(sc.client_name, "ferry-prune-check", sizeof(sc.client_name));
    char e2[FERRY_ERR_LEN];
    Conn *s = conn_open(&sc, e2, sizeof(e2));
    if (!s)
        return util_err(p->err, p->errlen, "cannot check that the target is not the source (%s); fix --source or leave it out", e2);
    ServerInfo si;
    int rc = serverinfo_fetch(s, &si, e2, sizeof(e2));
    conn_close(s);
    if (rc != 0)
        return util_err(p->err, p->errlen, "cannot check that the target is not the source (%s); fix --source or leave it out", e2);
    if (!ti->run_id[0] || !si.run_id[0])
        return util_err(p->err, p->errlen, "refusing to prune %s: %s reports no run_id, so it cannot be told apart from the source %s",
                        tl, ti->run_id[0] ? "the source" : "it", sl);
    if (!strcmp(ti->run_id, si.run_id))
        return util_err(p->err, p->errlen, "refusing to prune %s: it is the source server %s (same run_id %.12s…); prune runs only on the target",
                        tl, sl, ti->run_id);
    return 0;
}

void prune_options_init(PruneOptions *o) {
    memset(o, 0, sizeof(*o));
    conn_config_init(&o->target, "target");
    conn_config_init(&o->source, "source");
    filter_init(&o->filter);
    o->db = -1;
    o->batch = 500;
    o->scan_count = 1000;
}

static void pr_default_log(char *buf, size_t len) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(buf, len, "./ferry-pruned-%s.txt", ts);
}

static void pr_rule_text(const PruneOptions *o, char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "%s", o->rule == PRUNE_DROP ? "delete keys matching any of" : "delete keys matching none of");
    for (int i = 0; i < o->filter.ninclude && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, " %s '%s'", o->rule == PRUNE_DROP ? "--drop" : "--keep", o->filter.include[i]);
    if (o->filter.types && n < len) {
        n += (size_t)snprintf(buf + n, len - n, ", of type");
        for (unsigned bit = 1; bit <= FTYPE_OTHER && n < len; bit <<= 1)
            if (o->filter.types & bit) n += (size_t)snprintf(buf + n, len - n, " %s", filter_type_name(bit));
        if (n < len) snprintf(buf + n, len - n, " only");
    }
}

int prune_run(const PruneOptions *o, PruneResult *res, char *err, size_t errlen) {
    P p;
    memset(&p, 0, sizeof(p));
    memset(res, 0, sizeof(*res));
    res->dbsize_before = res->dbsize_after = -1;
    p.o = o;
    p.res = res;
    p.err = err;
    p.errlen = errlen;
    p.t0_ms = p.last_tick_ms = util_mono_ms();
    res->db = o->db >= 0 ? o->db : o->target.uri.db >= 0 ? o->target.uri.db : 0;
    int rc = -1;
    char tl[300];
    uri_format_redacted(&o->target.uri, tl, sizeof(tl));
    if (o->rule != PRUNE_DROP && o->rule != PRUNE_KEEP)
        return util_err(err, errlen, "no rule: say what to delete with --drop GLOB… or --keep GLOB…");
    if (o->filter.ninclude == 0)
        return util_err(err, errlen, "the rule has no glob: give at least one --%s GLOB", o->rule == PRUNE_DROP ? "drop" : "keep");
    if (!(p.slots = calloc(PREFIX_SLOTS, sizeof(Slot)))) return util_err(err, errlen, "out of memory");

    ConnConfig tc = o->target;
    util_strlcpy(tc.client_name, "ferry-prune", sizeof(tc.client_name));
    ServerInfo ti;
    if (!(p.c = conn_open(&tc, err, errlen))) goto out;
    if (serverinfo_fetch(p.c, &ti, err, errlen) != 0) goto out;
    if (pr_guard(&p, &ti) != 0) goto out;
    if (ti.cluster_enabled) {
        util_err(err, errlen, "target %s is a Redis Cluster node: this version of ferry prunes standalone servers only", tl);
        goto out;
    }
    if (o->execute && !strcmp(ti.role, "slave")) {
        util_err(err, errlen, "target %s is a read-only replica: prune its primary instead", tl);
        goto out;
    }
    if (conn_select(p.c, res->db) != 0) {
        util_err(err, errlen, "%s", conn_errstr(p.c));
        goto out;
    }
    res->dbsize_before = pr_dbsize(&p);
    char rule[600];
    pr_rule_text(o, rule, sizeof(rule));
    if (o->execute) {
        if (o->deleted_log) util_strlcpy(res->deleted_log, o->deleted_log, sizeof(res->deleted_log));
        else pr_default_log(res->deleted_log, sizeof(res->deleted_log));
        p.log = fopen(res->deleted_log, "a");
        if (!p.log) {
            util_err(err, errlen, "cannot open the deleted-log %s: %s; nothing was deleted; choose a writable --deleted-log path",
                     res->deleted_log, strerror(errno));
            goto out;
        }
        char when[40];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(p.log, "# ferry prune %s: target %s db %d: %s (one deleted key per line; \\ as \\\\, bytes outside printable ASCII and a leading # as \\xNN)\n",
                when, tl, res->db, rule);
        fflush(p.log);
        pr_note(&p, EV_INFO, "pruning %s db %d (%" PRId64 " keys): %s; deleted names go to %s", tl, res->db,
                res->dbsize_before, rule, res->deleted_log);
    } else {
        pr_note(&p, EV_INFO, "DRY RUN on %s db %d (%" PRId64 " keys): %s; nothing will be deleted", tl, res->db,
                res->dbsize_before, rule);
    }
    if (pr_walk(&p) != 0) goto out;
    res->complete = 1;
    rc = 0;
out:
    if (p.c && res->dbsize_before >= 0 && !conn_broken(p.c)) res->dbsize_after = pr_dbsize(&p);
    if (p.slots) {
        pr_prefix_finish(&p);
        free(p.slots);
    }
    if (p.log) {
        fprintf(p.log, "# %s: %" PRIu64 " keys deleted\n", rc == 0 ? "done" : "INCOMPLETE", res->deleted);
        fflush(p.log);
        if (fsync(fileno(p.log)) != 0 && rc == 0) {
            util_err(err, errlen, "the deleted-log %s could not be synced to disk: %s; keep a copy of it before the disk goes",
                     res->deleted_log, strerror(errno));
            rc = -1;
        }
        fclose(p.log);
    }
    res->elapsed_ms = util_mono_ms() - p.t0_ms;
    if (p.c) {
        if (res->dbsize_before >= 0) pr_tick(&p, 1); /* the walk began: its last line */
        conn_close(p.c);
    }
    return rc;
}

/* ------------------------------------------------------------------ CLI */

const char prune_usage[] =
    "usage: ferry prune --target URI (--keep GLOB… | --drop GLOB…) [options]\n"
    "\n"
    "Deletes from the target db the keys that do not belong there, with UNLINK in pipelined\n"
    "batches. Without --execute it is a dry run: how many keys would go, by prefix, and a sample\n"
    "of their names; nothing is deleted.\n"
    "\n"
    "rule (one kind, repeatable; Redis glob rules as for ferry copy --match)\n"
    "  --drop GLOB         delete keys matching any --drop glob\n"
    "  --keep GLOB         delete keys matching none of the --keep globs\n"
    "  --type string,list,set,zset,hash,stream   only keys of these types may be deleted\n"
    "servers\n"
    "  --target URI        the server to prune; passwords from FERRY_TARGET_PASSWORD or\n"
    "                      --target-password-file F; TLS options as for ferry copy\n"
    "  --db N              the db to prune (default: the URI's /db, else 0)\n"
    "  --source URI        the source of the copy: prune refuses a target that is that server\n"
    "                      (same run_id, any address, any db); FERRY_SOURCE_PASSWORD for its password\n"
    "deleting\n"
    "  --execute           really delete\n"
    "  --deleted-log FILE  where the deleted names are appended (default ./ferry-pruned-<UTC time>.txt)\n"
    "  --batch N (500)  --rate KEYS_PER_S (0 = no limit)  --scan-count N (1000)\n"
    "exit codes: 0 done (dry run or deletion), 1 error or stopped, 2 usage\n";

void prune_cli_init(PruneCli *c) {
    memset(c, 0, sizeof(*c));
    prune_options_init(&c->opt);
}

void prune_cli_free(PruneCli *c) { filter_free(&c->opt.filter); }

int prune_cli_parse(PruneCli *c, int argc, char **argv, char *err, size_t errlen) {
    PruneOptions *o = &c->opt;
    CliServers sv;
    int keep = 0, drop = 0;
    cli_servers_init(&sv, &o->source, &o->target, "prune");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = 1;
            return 0;
        }
        if (strncmp(a, "--", 2))
            return util_err(err, errlen, "unexpected argument \"%s\": options start with -- (see ferry prune --help)", a);
        const char *name = a + 2, *val = i + 1 < argc ? argv[i + 1] : NULL;
        int used = cli_servers_option(&sv, name, val, err, errlen);
        if (used < 0) return -1;
        if (used) {
            i += used - 1;
            continue;
        }
        if (!strcmp(name, "execute")) {
            o->execute = 1;
            continue;
        }
        static const char *const valued[] = {"keep", "drop", "type", "db", "deleted-log", "batch", "rate", "scan-count", NULL};
        int known = 0;
        for (int k = 0; valued[k]; k++) known |= !strcmp(name, valued[k]);
        if (!known) return util_err(err, errlen, "unknown option %s (see ferry prune --help)", a);
        if (!val) return util_err(err, errlen, "%s needs a value (see ferry prune --help)", a);
        i++;
        long n;
        if (!strcmp(name, "keep") || !strcmp(name, "drop")) {
            if (name[0] == 'k') keep++;
            else drop++;
            if (filter_add_include(&o->filter, val, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "type")) {
            if (filter_parse_types(&o->filter, val, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "deleted-log")) {
            o->deleted_log = val;
        } else if (!strcmp(name, "db")) {
            if (cli_parse_long(a, val, 0, 100000, &n, err, errlen) != 0) return -1;
            o->db = (int)n;
        } else if (!strcmp(name, "batch")) {
            if (cli_parse_long(a, val, 1, 100000, &n, err, errlen) != 0) return -1;
            o->batch = (int)n;
        } else if (!strcmp(name, "rate")) {
            if (cli_parse_long(a, val, 0, 100000000, &n, err, errlen) != 0) return -1;
            o->rate = (double)n;
        } else {
            if (cli_parse_long(a, val, 1, 1000000, &n, err, errlen) != 0) return -1;
            o->scan_count = (int)n;
        }
    }
    if (keep && drop)
        return util_err(err, errlen, "--keep and --drop together: choose one rule, --keep GLOB… (delete everything else) or --drop GLOB… (delete what matches)");
    if (!keep && !drop)
        return util_err(err, errlen, "say what to delete: --drop GLOB… (what matches goes) or --keep GLOB… (everything else goes)");
    o->rule = keep ? PRUNE_KEEP : PRUNE_DROP;
    if (cli_servers_finish(&sv, 0, 1, err, errlen) != 0) return -1;
    o->has_source = sv.source_text != NULL;
    if (o->db >= 0 && o->target.uri.db >= 0 && o->db != o->target.uri.db)
        return util_err(err, errlen, "--db %d and the /%d in --target disagree: keep one", o->db, o->target.uri.db);
    c->password_on_cmdline = sv.password_on_cmdline;
    return 0;
}
