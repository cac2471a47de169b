/* progress — headless lines and the summary, built from a snapshot. */
#include "progress.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static void progress_rate(const EngineSnapshot *s, char *kbuf, size_t kl, char *bbuf, size_t bl) {
    if (s->stats.rate_status == RATE_INIT) {
        snprintf(kbuf, kl, "-");
        snprintf(bbuf, bl, "-");
        return;
    }
    char k[16], b[16];
    util_fmt_count(k, sizeof(k), s->stats.keys_rate);
    util_fmt_bytes(b, sizeof(b), s->stats.bytes_rate);
    snprintf(kbuf, kl, "%s%s", k, s->stats.rate_status == RATE_STALE ? "(stale)" : "");
    snprintf(bbuf, bl, "%s", b);
}

void progress_line(const EngineSnapshot *s, char *buf, size_t len) {
    const StatsSnapshot *t = &s->stats;
    char el[16], eta[16], kr[32], br[32], pct[16];
    util_fmt_duration(el, sizeof(el), t->elapsed_ms);
    if (t->eta_ms >= 0)
        util_fmt_duration(eta, sizeof(eta), t->eta_ms);
    else
        snprintf(eta, sizeof(eta), "?");
    progress_rate(s, kr, sizeof(kr), br, sizeof(br));
    if (t->progress >= 0)
        snprintf(pct, sizeof(pct), "%.1f%%", t->progress * 100.0);
    else
        snprintf(pct, sizeof(pct), "?%%");
    char total[32];
    if (t->total_estimate)
        snprintf(total, sizeof(total), "/%llu", (unsigned long long)t->total_estimate);
    else
        total[0] = '\0';
    snprintf(buf, len,
             "[%s] %s %s copied %llu%s | scanned %llu skipped %llu identical %llu expired %llu failed %llu | %s keys/s %s/s | ETA %s",
             el, engine_state_name(s->state), pct, (unsigned long long)t->copied, total,
             (unsigned long long)t->scanned, (unsigned long long)t->skipped,
             (unsigned long long)t->identical, (unsigned long long)t->expired,
             (unsigned long long)t->failed, kr, br, eta);
}

void progress_json_escape(const char *text, char *buf, size_t len) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && o + 7 < len; p++) {
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(buf + o, len - o, "\\u%04x", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o < len ? o : len - 1] = '\0';
}

void progress_json(const EngineSnapshot *s, char *buf, size_t len) {
    const StatsSnapshot *t = &s->stats;
    char reason[FERRY_ERR_LEN * 2];
    progress_json_escape(s->reason, reason, sizeof(reason));
    snprintf(buf, len,
             "{\"type\":\"progress\",\"time_ms\":%lld,\"state\":\"%s\",\"elapsed_ms\":%lld,"
             "\"scanned\":%llu,\"filtered\":%llu,\"copied\":%llu,\"skipped\":%llu,\"identical\":%llu,"
             "\"expired\":%llu,\"failed\":%llu,\"failed_busykey\":%llu,\"failed_version\":%llu,"
             "\"failed_oom\":%llu,\"failed_toolarge\":%llu,\"failed_other\":%llu,\"bytes\":%llu,"
             "\"retries\":%llu,\"total_estimate\":%llu,\"progress\":%.4f,\"keys_per_s\":%.1f,"
             "\"bytes_per_s\":%.1f,\"rate_status\":\"%s\",\"eta_ms\":%lld,\"workers\":%d,"
             "\"rate_limit\":%.0f,\"reason\":\"%s\"}",
             (long long)util_now_ms(), engine_state_name(s->state), (long long)t->elapsed_ms,
             (unsigned long long)t->scanned, (unsigned long long)t->filtered,
             (unsigned long long)t->copied, (unsigned long long)t->skipped,
             (unsigned long long)t->identical, (unsigned long long)t->expired,
             (unsigned long long)t->failed, (unsigned long long)t->failed_by[FAIL_BUSYKEY],
             (unsigned long long)t->failed_by[FAIL_VERSION], (unsigned long long)t->failed_by[FAIL_OOM],
             (unsigned long long)t->failed_by[FAIL_TOOLARGE], (unsigned long long)t->failed_by[FAIL_OTHER],
             (unsigned long long)t->bytes, (unsigned long long)t->retries,
             (unsigned long long)t->total_estimate, t->progress, t->keys_rate, t->bytes_rate,
             t->rate_status == RATE_OK ? "ok" : t->rate_status == RATE_STALE ? "stale" : "init",
             (long long)t->eta_ms, s->nworkers, s->rate_limit, reason);
}

int progress_exit_code(const EngineSnapshot *s) {
    if (s->state == ENGINE_FAILED || s->state == ENGINE_STOPPED) return 1;
    if (s->stats.failed || s->stats.skipped) return 3;
    return 0;
}

void progress_summary(const EngineSnapshot *s, const char *report_path, char *buf, size_t len) {
    const StatsSnapshot *t = &s->stats;
    char el[16], by[16], kr[16];
    util_fmt_duration(el, sizeof(el), t->elapsed_ms);
    util_fmt_bytes(by, sizeof(by), (double)t->bytes);
    double secs = t->elapsed_ms > 0 ? (double)t->elapsed_ms / 1000.0 : 0;
    util_fmt_count(kr, sizeof(kr), secs > 0 ? (double)t->copied / secs : 0);
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o,
                          "%s in %s: %llu keys copied (%s, %s keys/s), %llu already identical, %llu skipped, %llu expired during the copy, %llu failed",
                          s->state == ENGINE_DONE ? "done" : engine_state_name(s->state), el,
                          (unsigned long long)t->copied, by, kr, (unsigned long long)t->identical,
                          (unsigned long long)t->skipped, (unsigned long long)t->expired,
                          (unsigned long long)t->failed);
    if (t->filtered && o < len)
        o += (size_t)snprintf(buf + o, len - o, "; %llu left out by the filters", (unsigned long long)t->filtered);
    if (o < len) o += (size_t)snprintf(buf + o, len - o, "\n");
    for (int r = 0; r < FAIL__COUNT && o < len; r++) {
        uint64_t n = t->failed_by[r];
        if (!n) continue;
        o += (size_t)snprintf(buf + o, len - o, "  failed, %s: %llu (e.g. %s%s%s)\n", stats_fail_name(r),
                              (unsigned long long)n, s->fail_samples[r][0],
                              s->fail_samples[r][1][0] ? ", " : "", s->fail_samples[r][1]);
    }
    if (t->skipped && o < len)
        o += (size_t)snprintf(buf + o, len - o, "  skipped (exists on target with a different value, --on-conflict skip): %llu\n",
                              (unsigned long long)t->skipped);
    if ((t->failed || t->skipped) && o < len) {
        if (report_path)
            o += (size_t)snprintf(buf + o, len - o, "  every key not copied is listed in %s\n", report_path);
        else
            o += (size_t)snprintf(buf + o, len - o, "  rerun with --report FILE to list every key not copied\n");
    }
    if ((s->state == ENGINE_FAILED || s->state == ENGINE_STOPPED) && s->reason[0] && o < len)
        snprintf(buf + o, len - o, "  reason: %s\n", s->reason);
}

void progress_follow_line(const FollowStatus *s, char *buf, size_t len) {
    if (s->state == FOLLOW_SNAPSHOT) {
        char b[16], t[16];
        util_fmt_bytes(b, sizeof(b), (double)s->snapshot_bytes);
        if (s->snapshot_size) util_fmt_bytes(t, sizeof(t), (double)s->snapshot_size);
        snprintf(buf, len, "follow snapshot · %s of %s · %llu keys restored, %llu expired, %llu filtered out", b,
                 s->snapshot_size ? t : "? (diskless)", (unsigned long long)s->snapshot_keys,
                 (unsigned long long)s->snapshot_expired, (unsigned long long)s->snapshot_filtered);
        return;
    }
    char lag[64] = "";
    if (s->state == FOLLOW_STREAMING && s->source_offset >= 0 && s->offset >= 0) {
        long long behind = s->source_offset > s->offset ? s->source_offset - s->offset : 0;
        char b[16];
        util_fmt_bytes(b, sizeof(b), (double)behind);
        if (behind) snprintf(lag, sizeof(lag), " · lag %s behind the source", b);
        else snprintf(lag, sizeof(lag), " · caught up");
    }
    snprintf(buf, len, "follow %s · applied offset %lld (acked %lld, received %lld)%s · %llu commands, %llu dropped, %llu mixed, "
                       "%llu errors · syncs %d full %d partial",
             follow_state_name(s->state), s->offset, s->acked, s->received, lag, (unsigned long long)s->commands,
             (unsigned long long)s->dropped, (unsigned long long)s->mixed, (unsigned long long)s->errors, s->full_syncs,
             s->partial_syncs);
}
