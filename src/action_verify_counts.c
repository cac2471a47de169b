/* action verify-counts — compares key counts, per db and per type, between
 * source and target: the quick check after a copy (a key-by-key comparison
 * is the `verify` action's job). Totals come from DBSIZE when no filter is
 * set; per-type counts from SCAN … TYPE t with a bounded COUNT, on both
 * sides, so no single call blocks either server for long. A key may be
 * counted twice by SCAN while the server resizes its table: tolerance
 * allows for that and for keys that expire during the check. */
#include <stdio.h>
#include <string.h>

#include "actions.h"
#include "scan.h"
#include "util.h"

static const char *const verify_params[] = {"tolerance", "scan-count", NULL};
static const char *const verify_types[] = {"string", "list", "set", "zset", "hash", "stream"};
#define NTYPES 6

static int verify_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    long v;
    if (action_param_int(st, "tolerance", 0, 1000000000, &v, line, err, errlen) != 0) return -1;
    if (action_param_int(st, "scan-count", 1, 100000, &v, line, err, errlen) != 0) return -1;
    return 0;
}

static void verify_needs(const RunbookStep *st, PreflightPlan *p) {
    (void)st;
    for (int side = PF_SOURCE; side <= PF_TARGET; side++) {
        preflight_plan_need(p, side, "scan", "verify-counts", 0, NULL, (const char *const[]){"scan", "0", NULL});
        preflight_plan_need(p, side, "dbsize", "verify-counts", 0, NULL, (const char *const[]){"dbsize", NULL});
    }
}

/* Keys of one type in c's current db that pass the filter (-1 on error). */
static long long verify_count_type(ActionCtx *c, Conn *conn, const char *type, int count, char *err, size_t errlen) {
    const Filter *f = &c->copy->filter;
    const char *match = filter_server_match(f);
    int client_side = f->ninclude > 1 || f->nexclude > 0;
    uint64_t cursor = 0;
    long long n = 0;
    do {
        if (action_stopping(c)) return util_err(err, errlen, "stopped while counting");
        ScanPage page;
        if (scan_page(conn, cursor, match, type, count, &page, err, errlen) != 0) return -1;
        for (size_t i = 0; i < page.nkeys; i++) {
            redisReply *k = page.keys[i];
            if (k->type != REDIS_REPLY_STRING) continue;
            if (client_side && !filter_key(f, k->str, k->len)) continue;
            n++;
        }
        cursor = page.next_cursor;
        scan_page_free(&page);
    } while (cursor != 0);
    return n;
}

static long long verify_dbsize(Conn *conn, char *err, size_t errlen) {
    redisReply *r = conn_command(conn, "DBSIZE");
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        util_err(err, errlen, "%s: DBSIZE failed: %s", conn_label(conn),
                 r && r->type == REDIS_REPLY_ERROR ? r->str : conn_errstr(conn));
        if (r) freeReplyObject(r);
        return -1;
    }
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static int verify_run(ActionCtx *c, char *err, size_t errlen) {
    long tolerance = 0, count = 1000;
    int line;
    action_param_int(c->step, "tolerance", 0, 1000000000, &tolerance, &line, err, errlen);
    action_param_int(c->step, "scan-count", 1, 100000, &count, &line, err, errlen);
    const Filter *f = &c->copy->filter;
    int filtered = f->ninclude > 0 || f->nexclude > 0;
    int src_db[DBMAP_MAX], dst_db[DBMAP_MAX], n = 0;
    Conn *s = action_connect(c, 0, "verify-src", err, errlen);
    if (!s) return -1;
    Conn *t = action_connect(c, 1, "verify-dst", err, errlen);
    if (!t) {
        conn_close(s);
        return -1;
    }
    int rc = -1, bad = 0, extra = 0;
    char first_bad[300] = "";
    if (action_db_plan(c, s, src_db, dst_db, &n, err, errlen) != 0) goto out;
    long long all_src = 0, all_dst = 0;
    for (int d = 0; d < n; d++) {
        if (conn_select(s, src_db[d]) != 0 || conn_select(t, dst_db[d]) != 0) {
            util_err(err, errlen, "%s", conn_broken(s) ? conn_errstr(s) : conn_errstr(t));
            goto out;
        }
        long long sc[NTYPES], tc[NTYPES], ssum = 0, tsum = 0;
        char detail[400] = "";
        size_t o = 0;
        for (int i = 0; i < NTYPES; i++) {
            sc[i] = tc[i] = 0;
            if (f->types && !(f->types & filter_type_from_name(verify_types[i]))) continue;
            sc[i] = verify_count_type(c, s, verify_types[i], (int)count, err, errlen);
            if (sc[i] < 0) goto out;
            tc[i] = verify_count_type(c, t, verify_types[i], (int)count, err, errlen);
            if (tc[i] < 0) goto out;
            ssum += sc[i];
            tsum += tc[i];
            if ((sc[i] || tc[i]) && o < sizeof(detail))
                o += (size_t)snprintf(detail + o, sizeof(detail) - o, "%s%s %lld/%lld", o ? ", " : "",
                                      verify_types[i], sc[i], tc[i]);
            char fig[48];
            snprintf(fig, sizeof(fig), "db%d_%s_source", src_db[d], verify_types[i]);
            action_figure(c, fig, sc[i]);
            snprintf(fig, sizeof(fig), "db%d_%s_target", dst_db[d], verify_types[i]);
            action_figure(c, fig, tc[i]);
            if (tc[i] + tolerance < sc[i]) {
                bad++;
                if (!first_bad[0])
                    snprintf(first_bad, sizeof(first_bad), "db %d → %d: %lld %s keys on the source, %lld on the target",
                             src_db[d], dst_db[d], sc[i], verify_types[i], tc[i]);
            } else if (tc[i] > sc[i] + tolerance) {
                extra++;
            }
        }
        long long stot = ssum, ttot = tsum;
        if (!filtered && !f->types) {
            /* DBSIZE is exact (and counts module types too). */
            if ((stot = verify_dbsize(s, err, errlen)) < 0 || (ttot = verify_dbsize(t, err, errlen)) < 0) goto out;
            if (ttot + tolerance < stot) {
                bad++;
                if (!first_bad[0])
                    snprintf(first_bad, sizeof(first_bad), "db %d → %d: %lld keys on the source, %lld on the target",
                             src_db[d], dst_db[d], stot, ttot);
            }
        }
        all_src += stot;
        all_dst += ttot;
        action_log(c, ttot + tolerance < stot ? EV_WARN : EV_INFO,
                   "db %d → db %d: source %lld keys, target %lld (source/target: %s)", src_db[d], dst_db[d], stot,
                   ttot, detail[0] ? detail : "empty");
    }
    action_figure(c, "source_keys", all_src);
    action_figure(c, "target_keys", all_dst);
    if (bad) {
        util_err(err, errlen, "the target has fewer keys than the source (%s): rerun the copy step (it skips what is there already) or compare key by key",
                 first_bad);
        goto out;
    }
    if (extra)
        action_log(c, EV_WARN, "the target holds more keys than the source for some types: keys it had before the copy, or written since");
    if (all_src == all_dst)
        action_log(c, EV_INFO, "counts match: %lld keys on each side%s", all_src,
                   filtered ? " (of the keys the filters select)" : "");
    else
        action_log(c, EV_INFO, "no key missing on the target: source %lld keys, target %lld%s", all_src, all_dst,
                   filtered ? " (of the keys the filters select)" : "");
    rc = 0;
out:
    conn_close(s);
    conn_close(t);
    return rc;
}

const ActionDef action_verify_counts = {
    .name = "verify-counts",
    .summary = "Compare key counts per db and type",
    .params = verify_params,
    .default_gate = GATE_NONE,
    .check = verify_check,
    .needs = verify_needs,
    .run = verify_run,
};
