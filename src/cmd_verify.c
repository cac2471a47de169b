/* cmd_verify — `ferry verify`: options → verify_run() → one progress line a
 * second (or JSON lines), the per-db counts, the summary, and the exit
 * code: 0 everything matches, 1 differences found, 2 usage, 3 the
 * verification could not finish. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "progress.h"
#include "util.h"
#include "verify.h"

int cmd_verify(int argc, char **argv);

typedef struct Out {
    int json;
} Out;

static int stopping(void *ud) {
    (void)ud;
    return cmd_signals != 0;
}

static void on_note(void *ud, EventLevel level, const char *text) {
    Out *o = ud;
    if (o->json) {
        char t[1400];
        progress_json_escape(text, t, sizeof(t));
        printf("{\"type\":\"event\",\"level\":\"%s\",\"text\":\"%s\"}\n", eventlog_level_name(level), t);
    } else if (level == EV_INFO) {
        printf("%s\n", text);
    } else {
        fprintf(stderr, "ferry: %s: %s\n", eventlog_level_name(level), text);
    }
    fflush(stdout);
}

static void on_progress(void *ud, const VerifyProgress *p) {
    Out *o = ud;
    char rate[16], cmds[16], budget[16], el[16];
    util_fmt_count(rate, sizeof(rate), p->keys_per_s);
    util_fmt_count(cmds, sizeof(cmds), p->src_cmds_per_s);
    util_fmt_duration(el, sizeof(el), p->elapsed_ms);
    if (p->budget > 0) util_fmt_count(budget, sizeof(budget), p->budget);
    else snprintf(budget, sizeof(budget), "none");
    const uint64_t *c = p->counts;
    if (o->json) {
        printf("{\"type\":\"progress\",\"phase\":\"%s\",\"db_index\":%d,\"dbs\":%d,\"src_db\":%d,\"dst_db\":%d,"
               "\"db_progress\":%.4f,\"source_checked\":%" PRIu64 ",\"target_checked\":%" PRIu64 ",\"matching\":%" PRIu64
               ",\"missing\":%" PRIu64 ",\"extra\":%" PRIu64 ",\"different\":%" PRIu64 ",\"ttl_drift\":%" PRIu64
               ",\"gone\":%" PRIu64 ",\"keys_per_s\":%.1f,\"source_cmds_per_s\":%.1f,\"budget\":%.0f,\"elapsed_ms\":%lld}\n",
               p->phase, p->db_index, p->ndb, p->src_db, p->dst_db, p->db_progress, p->src_checked, p->dst_checked,
               c[VK_MATCHING], c[VK_MISSING], c[VK_EXTRA], c[VK_DIFFERENT], c[VK_TTL_DRIFT], c[VK_GONE], p->keys_per_s,
               p->src_cmds_per_s, p->budget, (long long)p->elapsed_ms);
    } else {
        printf("verify db %d→%d (%d/%d) %s %.0f%% | checked %" PRIu64 " source, %" PRIu64 " target keys | matching %" PRIu64
               " missing %" PRIu64 " extra %" PRIu64 " different %" PRIu64 " ttl-drift %" PRIu64 " | %s keys/s, source %s cmds/s (budget %s) | %s\n",
               p->src_db, p->dst_db, p->db_index + 1, p->ndb, p->phase, p->db_progress * 100.0, p->src_checked,
               p->dst_checked, c[VK_MATCHING], c[VK_MISSING], c[VK_EXTRA], c[VK_DIFFERENT], c[VK_TTL_DRIFT], rate, cmds,
               budget, el);
    }
    fflush(stdout);
}

/* "string 10, hash 2" (types with keys only). */
static void type_list(const uint64_t *t, int exact, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < VERIFY_NTYPES && o < len; i++) {
        if (!t[i]) continue;
        o += (size_t)snprintf(buf + o, len - o, "%s%s %" PRIu64, o ? ", " : "", verify_type_name(i), t[i]);
    }
    if (!exact && o < len) o += (size_t)snprintf(buf + o, len - o, "%sother types not counted", o ? ", " : "");
    if (!buf[0]) snprintf(buf, len, "none");
}

static void print_summary(const VerifyCli *cli, const VerifyResult *r, int rc, const char *err) {
    const uint64_t *c = r->counts;
    char el[16];
    util_fmt_duration(el, sizeof(el), r->elapsed_ms);
    int code = rc != 0 ? 3 : verify_clean(r) ? 0 : 1;
    if (cli->json) {
        for (int i = 0; i < r->ndb; i++) {
            const VerifyDb *d = &r->db[i];
            printf("{\"type\":\"db\",\"src_db\":%d,\"dst_db\":%d,\"source_dbsize\":%" PRIu64 ",\"target_dbsize\":%" PRIu64
                   ",\"source_types\":{",
                   d->src_db, d->dst_db, d->src_dbsize, d->dst_dbsize);
            for (int t = 0; t < VERIFY_NTYPES; t++)
                printf("%s\"%s\":%" PRIu64, t ? "," : "", verify_type_name(t), d->src_types[t]);
            printf("},\"target_types\":{");
            for (int t = 0; t < VERIFY_NTYPES; t++)
                printf("%s\"%s\":%" PRIu64, t ? "," : "", verify_type_name(t), d->dst_types[t]);
            printf("},\"missing\":%" PRIu64 ",\"extra\":%" PRIu64 ",\"different\":%" PRIu64 ",\"ttl_drift\":%" PRIu64 "}\n",
                   d->counts[VK_MISSING], d->counts[VK_EXTRA], d->counts[VK_DIFFERENT], d->counts[VK_TTL_DRIFT]);
        }
        char e[1200];
        progress_json_escape(rc ? err : "", e, sizeof(e));
        printf("{\"type\":\"summary\",\"complete\":%s,\"clean\":%s,\"exit_code\":%d,\"source_checked\":%" PRIu64
               ",\"target_checked\":%" PRIu64 ",\"matching\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"extra\":%" PRIu64
               ",\"different\":%" PRIu64 ",\"ttl_drift\":%" PRIu64 ",\"gone\":%" PRIu64 ",\"sample\":%ld,"
               "\"ttl_tolerance_ms\":%ld,\"dump_compare\":%s,\"source_commands\":%" PRIu64 ",\"elapsed_ms\":%lld,"
               "\"report\":\"%s\",\"error\":\"%s\"}\n",
               r->complete ? "true" : "false", verify_clean(r) ? "true" : "false", code, r->src_checked, r->dst_checked,
               c[VK_MATCHING], c[VK_MISSING], c[VK_EXTRA], c[VK_DIFFERENT], c[VK_TTL_DRIFT], c[VK_GONE], r->sample,
               r->ttl_tolerance_ms, r->dump_compare ? "true" : "false", r->src_commands, (long long)r->elapsed_ms,
               cli->opt.report_path ? cli->opt.report_path : "", e);
        fflush(stdout);
        return;
    }
    printf("\n");
    for (int i = 0; i < r->ndb; i++) {
        const VerifyDb *d = &r->db[i];
        char s[400], t[400];
        uint64_t ns = 0, nt = 0;
        for (int k = 0; k < VERIFY_NTYPES; k++) {
            ns += d->src_types[k];
            nt += d->dst_types[k];
        }
        type_list(d->src_types, d->types_exact, s, sizeof(s));
        type_list(d->dst_types, d->types_exact, t, sizeof(t));
        char head[64];
        int cols = 0;
        snprintf(head, sizeof(head), "db %d → %d:", d->src_db, d->dst_db);
        for (const char *c = head; *c; c++) cols += (*c & 0xc0) != 0x80; /* columns, not UTF-8 bytes */
        printf("%s source %" PRIu64 " keys (%s)\n", head, ns, s);
        printf("%*s target %" PRIu64 " keys (%s)\n", cols, "", nt, t);
    }
    char what[160];
    if (r->sample > 0)
        snprintf(what, sizeof(what), "a sample of up to %ld keys per db and side", r->sample);
    else
        snprintf(what, sizeof(what), "every key");
    printf("%s after %s (%s): %" PRIu64 " source keys compared, %" PRIu64 " target keys looked up\n",
           rc ? "verify INCOMPLETE" : "verify done", el, what, r->src_checked, r->dst_checked);
    printf("  %" PRIu64 " matching, %" PRIu64 " missing, %" PRIu64 " extra, %" PRIu64 " different, %" PRIu64
           " ttl-drift (tolerance %ld ms)",
           c[VK_MATCHING], c[VK_MISSING], c[VK_EXTRA], c[VK_DIFFERENT], c[VK_TTL_DRIFT], r->ttl_tolerance_ms);
    if (c[VK_GONE]) printf("; %" PRIu64 " expired or deleted while checked", c[VK_GONE]);
    printf("\n");
    static const VerifyKind kinds[] = {VK_MISSING, VK_EXTRA, VK_DIFFERENT, VK_TTL_DRIFT};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        VerifyKind kind = kinds[k];
        if (!r->nsamples[kind]) continue;
        printf("  %s, e.g.", verify_kind_name(kind));
        for (int i = 0; i < r->nsamples[kind]; i++) printf("%s %s", i ? "," : "", r->samples[kind][i]);
        printf("\n");
    }
    if (!verify_clean(r)) {
        if (cli->opt.report_path)
            printf("  every mismatch is listed in %s\n", cli->opt.report_path);
        else
            printf("  rerun with --report FILE to list every mismatch\n");
    }
    if (rc) printf("  the verification is incomplete (exit 3)\n");
    else if (verify_clean(r)) printf("  target matches source (exit 0)\n");
    else printf("  differences found (exit 1)\n");
    fflush(stdout);
}

int cmd_verify(int argc, char **argv) {
    VerifyCli *cli = malloc(sizeof(*cli));
    VerifyResult *res = malloc(sizeof(*res));
    char err[FERRY_ERR_LEN];
    int code = 2;
    if (!cli || !res) {
        fprintf(stderr, "ferry verify: out of memory\n");
        free(cli);
        free(res);
        return 1;
    }
    verify_cli_init(cli);
    if (verify_cli_parse(cli, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "ferry verify: %s\n", err);
        goto out;
    }
    if (cli->help) {
        fputs(verify_usage, stdout);
        code = 0;
        goto out;
    }
    if (cli->password_on_cmdline) {
        cli_scrub_argv(argc, argv);
        fprintf(stderr, "ferry: warning: a password in a URI is visible to other users of this machine (ps); "
                        "use FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD or --source-password-file instead\n");
    }
    Out o = {cli->json};
    cli->opt.ud = &o;
    cli->opt.stopping = stopping;
    cli->opt.progress = on_progress;
    cli->opt.note = on_note;
    char sl[300], tl[300];
    uri_format_redacted(&cli->opt.source.uri, sl, sizeof(sl));
    uri_format_redacted(&cli->opt.target.uri, tl, sizeof(tl));
    if (!cli->json) {
        char b[16];
        if (cli->opt.budget > 0) util_fmt_count(b, sizeof(b), cli->opt.budget);
        printf("ferry verify: source %s → target %s (%s, source budget %s%s)\n", sl, tl,
               cli->opt.sample > 0 ? "sample" : "every key", cli->opt.budget > 0 ? b : "unlimited",
               cli->opt.budget > 0 ? " cmds/s" : "");
        fflush(stdout);
    }
    int rc = verify_run(&cli->opt, res, err, sizeof(err));
    if (rc != 0 && res->ndb == 0 && !res->src_checked && !res->dst_checked && !cmd_signals) {
        /* Nothing was compared: the error is all there is to say. */
        fprintf(stderr, "ferry: %s\n", err);
        code = 3;
        goto out;
    }
    print_summary(cli, res, rc, err);
    if (rc) fprintf(stderr, "ferry: %s\n", err);
    code = rc ? 3 : verify_clean(res) ? 0 : 1;
out:
    verify_cli_free(cli);
    free(cli);
    free(res);
    return code;
}
