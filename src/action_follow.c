/* action follow — ferry follows the source as a replica (PSYNC) and applies
 * its snapshot and live stream to the target: the cutover path for a
 * target that refuses REPLICAOF (follow.h has the protocol).
 *
 * The runner runs one step at a time, and a follower must keep running
 * through the later steps (pause-writes, wait-offset, the manual switch).
 * So the step starts the follower in the background of this ferry process
 * and is done as soon as the snapshot is applied and the live stream
 * flows; the follower goes on until a later `follow` step with
 * `stop = yes` (or the end of the run: ferry stops it on exit). The runner
 * shows it (set_follower) and puts its log lines in the run's log under
 * the step that started it, whichever step is running.
 *
 * The follower keeps its position (replication id, applied offset) in the
 * step's state file next to the journal. When the run is resumed (ferry
 * run --resume) after its ferry ended, a completed follow step starts the
 * follower again from there (PSYNC <replid> <offset+1>: no new snapshot)
 * before the next step runs, and a completed `stop = yes` step stops it
 * again. That is exact when the earlier ferry stopped the follower (quit,
 * abort, Ctrl-C): every command it sent was answered. After a kill -9 the
 * position is not exact (commands past it may already be applied), so the
 * resumed run stops with a message instead of guessing, unless the run's
 * on-conflict is replace: then a new snapshot is loaded over the target.
 *
 * Limits: one background follower per process.
 *
 * wait-offset with `follower = yes` does not talk to this follower: it
 * reads the source's own INFO replication, where the follower appears as a
 * replica at the target's port with the offset it acknowledged (= applied
 * to the target). So it works just as well with a separate `ferry follow`
 * process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "follow.h"
#include "repl.h"
#include "util.h"

int action_follow_wait(ActionCtx *c, int64_t poll_ms, int64_t limit_ms, int port, char *err, size_t errlen);

static const char *const follow_params[] = {"stop", "listening-port", NULL};

/* The background follower, the options it borrows, and the host that shows
 * it (runner thread only). */
static Follower *bg;
static CopyOptions bg_opt;
static int bg_atexit;
static ActionHost bg_host;

static void bg_free(void) {
    if (bg && bg_host.set_follower) bg_host.set_follower(bg_host.ud, NULL);
    if (bg) follow_stop(bg);
    bg = NULL;
    memset(&bg_host, 0, sizeof(bg_host));
    filter_free(&bg_opt.filter);
    memset(&bg_opt, 0, sizeof(bg_opt));
}

/* At exit the runner that showed the follower is gone already: stop the
 * follower without telling it (the stop saves a clean position). */
static void bg_at_exit(void) {
    memset(&bg_host, 0, sizeof(bg_host));
    bg_free();
}

static int follow_stop_param(const RunbookStep *st) {
    const char *v = runbook_param(st, "stop");
    return v ? action_parse_bool(v) : 0;
}

static int follow_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    if (follow_stop_param(st) < 0) {
        *line = runbook_param_entry(st, "stop")->line;
        return util_err(err, errlen, "stop takes yes or no (got \"%s\")", runbook_param(st, "stop"));
    }
    long port;
    return action_param_int(st, "listening-port", 1, 65535, &port, line, err, errlen);
}

static int follow_destructive(const RunbookStep *st, int on_conflict) {
    return follow_stop_param(st) != 1 && on_conflict == CONFLICT_REPLACE;
}

static void follow_needs(const RunbookStep *st, PreflightPlan *p) {
    if (follow_stop_param(st) == 1) return;
    p->copies = 1;
    preflight_plan_need(p, PF_SOURCE, "command", "follow", 0, NULL, (const char *const[]){"command", "count", NULL});
    preflight_plan_need(p, PF_SOURCE, "replconf", "follow", 0, NULL,
                        (const char *const[]){"replconf", "listening-port", "6379", NULL});
    preflight_plan_need(p, PF_SOURCE, "psync", "follow", 0, NULL, (const char *const[]){"psync", "?", "-1", NULL});
    preflight_plan_need(p, PF_TARGET, "info", "follow", 0, NULL, (const char *const[]){"info", NULL});
    preflight_plan_need(p, PF_TARGET, "restore", "follow", 0, NULL,
                        (const char *const[]){"restore", "ferry:preflight", "0", "x", NULL});
}

static int follow_stop_run(ActionCtx *c, char *err, size_t errlen) {
    if (!bg) {
        action_log(c, EV_WARN, "no follower runs in this ferry process (a resumed run loses it, or it runs as a separate ferry follow): nothing to stop here");
        return 0;
    }
    FollowStatus st;
    follow_status(bg, &st);
    bg_free();
    action_figure(c, "applied_offset", st.offset);
    action_figure(c, "commands", (long long)st.commands);
    action_figure(c, "target_errors", (long long)st.errors);
    if (st.state == FOLLOW_FAILED) return util_err(err, errlen, "the follower had stopped: %s", st.error);
    action_log(c, EV_OPERATOR, "follower stopped at applied offset %lld (replication id %s): %llu commands applied, %llu dropped by the filters, %d partial resyncs",
               st.offset, st.replid, (unsigned long long)st.commands, (unsigned long long)st.dropped, st.partial_syncs);
    return 0;
}

/* Starts the background follower; resume = continue from the step's saved
 * position instead of a snapshot. */
static int bg_start(ActionCtx *c, int resume, char *err, size_t errlen) {
    if (bg) return util_err(err, errlen, "a follower started by an earlier step still runs: stop it first (a follow step with stop = yes)");
    if (c->copy->filter.types)
        return util_err(err, errlen, "follow cannot filter by type (a replicated command does not carry its key's type): remove type from the runbook");
    /* Our own copy of the options: the follower outlives this step. */
    bg_opt = *c->copy;
    filter_init(&bg_opt.filter);
    for (int i = 0; i < c->copy->filter.ninclude; i++)
        filter_add_include(&bg_opt.filter, c->copy->filter.include[i], err, errlen);
    for (int i = 0; i < c->copy->filter.nexclude; i++)
        filter_add_exclude(&bg_opt.filter, c->copy->filter.exclude[i], err, errlen);
    bg_opt.report_path = NULL;
    bg_opt.resume_from = NULL;
    bg_opt.on_checkpoint = NULL;
    bg_opt.checkpoint_ud = NULL;
    if (bg_opt.dbmap.n == 0 && bg_opt.source.uri.db >= 0) {
        int to = bg_opt.target.uri.db >= 0 ? bg_opt.target.uri.db : bg_opt.source.uri.db;
        if (dbmap_add(&bg_opt.dbmap, bg_opt.source.uri.db, to, err, errlen) != 0) {
            bg_free();
            return -1;
        }
    }
    long port = 0;
    int line;
    action_param_int(c->step, "listening-port", 1, 65535, &port, &line, err, errlen);
    FollowOptions fo = {.copy = &bg_opt, .listening_port = (int)port, .state_path = c->state_path, .resume = resume};
    bg = follow_start(&fo, err, errlen);
    if (!bg) {
        bg_free();
        return -1;
    }
    if (!bg_atexit) {
        atexit(bg_at_exit);
        bg_atexit = 1;
    }
    bg_host = c->host;
    if (bg_host.set_follower) bg_host.set_follower(bg_host.ud, bg);
    return 0;
}

/* Waits until the follower streams (its snapshot applied, or its saved
 * position accepted by the source). */
static int bg_wait_streaming(ActionCtx *c, char *err, size_t errlen) {
    int64_t t0 = util_mono_ms(), last_log = t0;
    for (;;) {
        util_sleep_ms(100);
        FollowStatus st;
        follow_status(bg, &st);
        if (st.state == FOLLOW_FAILED) {
            util_strlcpy(err, st.error, errlen);
            bg_free();
            return -1;
        }
        if (st.state == FOLLOW_STREAMING) {
            char d[32];
            util_fmt_duration(d, sizeof(d), util_mono_ms() - t0);
            action_figure(c, "snapshot_keys", (long long)st.snapshot_keys);
            action_figure(c, "snapshot_expired", (long long)st.snapshot_expired);
            action_figure(c, "offset", st.offset);
            if (st.resumed && st.full_syncs == 0)
                action_log(c, EV_OPERATOR, "the follower continues from its saved position (offset %lld, partial resync accepted in %s) "
                           "and applies the source's stream in the background", st.offset, d);
            else
                action_log(c, EV_OPERATOR, "snapshot applied in %s (%llu keys); the follower now applies the source's stream in the background "
                           "until a follow step with stop = yes or the end of the run. Cut over with pause-writes, then wait-offset with follower = yes",
                           d, (unsigned long long)st.snapshot_keys);
            return 0;
        }
        if (action_stopping(c)) {
            bg_free();
            return util_err(err, errlen, "stopped before the follower streamed (state %s)%s", follow_state_name(st.state),
                            st.state == FOLLOW_SNAPSHOT ? "; the target holds part of the snapshot: empty it, or rerun with on-conflict = replace" : "");
        }
        if (util_mono_ms() - last_log >= 5000) {
            last_log = util_mono_ms();
            action_log(c, EV_INFO, "follower %s: %llu keys restored so far", follow_state_name(st.state),
                       (unsigned long long)st.snapshot_keys);
        }
    }
}

static int have_state(const ActionCtx *c) {
    return c->state_path && access(c->state_path, F_OK) == 0;
}

static int follow_run(ActionCtx *c, char *err, size_t errlen) {
    if (follow_stop_param(c->step) == 1) return follow_stop_run(c, err, errlen);
    /* An interrupted attempt of this step left a position: continue from it
     * (follow.c refuses a position it cannot continue exactly). */
    if (bg_start(c, c->resuming && have_state(c), err, errlen) != 0) return -1;
    return bg_wait_streaming(c, err, errlen);
}

/* A resumed run: a completed start step brings its follower back; a
 * completed stop step stops it again. */
static int follow_resume_done(ActionCtx *c, char *err, size_t errlen) {
    if (follow_stop_param(c->step) == 1) {
        if (bg) bg_free();
        return 0;
    }
    if (!have_state(c))
        return util_err(err, errlen, "step %s started a follower in an earlier attempt of this run, but no saved position is left (%s): "
                                     "rerun the follow step (it needs an empty target, or on-conflict = replace)",
                        c->step->id, c->state_path ? c->state_path : "no state file");
    action_log(c, EV_INFO, "bringing back the follower that step %s started in an earlier attempt", c->step->id);
    if (bg_start(c, 1, err, errlen) != 0) return -1;
    return bg_wait_streaming(c, err, errlen);
}

/* wait-offset with follower = yes (action_wait_offset.c calls this): waits
 * until one INFO replication of the source lists the follower (the replica
 * at port, the target's by default) online with an acknowledged offset
 * equal to master_repl_offset. The follower acknowledges only what the
 * target has answered, outside any transaction, and within ~100 ms of
 * applying it; a PING from the source in between delays the condition by
 * one acknowledgement. limit_ms 0 = until the step's timeout. */
int action_follow_wait(ActionCtx *c, int64_t poll_ms, int64_t limit_ms, int port, char *err, size_t errlen) {
    if (port <= 0) port = c->copy->target.uri.port;
    char slabel[300];
    uri_format_redacted(&c->copy->source.uri, slabel, sizeof(slabel));
    Conn *s = action_connect(c, 0, "wait-offset", err, errlen);
    if (!s) return -1;
    int64_t t0 = util_mono_ms(), last_log = t0;
    long long master = -1, acked = -1;
    int found = 0, rc = -1;
    char state[24] = "";
    for (;;) {
        ReplInfo ri;
        if (repl_fetch(s, &ri, err, errlen) != 0) {
            action_log(c, EV_WARN, "sampling: %s (retrying)", err);
            if (conn_reconnect(s, 3, NULL) != 0) break;
        } else {
            const ReplReplica *r = repl_info_find_replica(&ri, c->copy->target.uri.host, port);
            found = r != NULL;
            master = ri.master_repl_offset;
            acked = r ? r->offset : -1;
            util_strlcpy(state, r ? r->state : "", sizeof(state));
            if (r && !strcmp(r->state, "online") && r->offset == ri.master_repl_offset) {
                char d[32];
                util_fmt_duration(d, sizeof(d), util_mono_ms() - t0);
                action_log(c, EV_OPERATOR, "the follower caught up after %s: the source lists it (port %d) with acknowledged offset %lld = its master_repl_offset",
                           d, port, acked);
                action_figure(c, "source_offset", master);
                action_figure(c, "target_offset", acked);
                action_figure(c, "waited_ms", util_mono_ms() - t0);
                rc = 0;
                break;
            }
        }
        int64_t now = util_mono_ms();
        if (action_stopping(c) || (limit_ms && now - t0 > limit_ms)) {
            char d[32];
            util_fmt_duration(d, sizeof(d), now - t0);
            if (!found)
                util_err(err, errlen, "source %s lists no replica at port %d after %s: is the follower running (a follow step earlier in this run, or ferry follow)? "
                                      "If it announces another port (listening-port), the source's INFO replication shows it", slabel, port, d);
            else
                util_err(err, errlen, "the follower had not caught up after %s: source %s at offset %lld, follower acknowledged %lld (%s)%s", d, slabel, master, acked,
                         state, limit_ms && now - t0 > limit_ms ? "; give this step a longer timeout, or roll back: unpause the source (the application never left it)" : "");
            break;
        }
        if (now - last_log >= 2000) {
            last_log = now;
            action_log(c, EV_INFO, "source offset %lld, follower acknowledged %lld (%s), lag %lld bytes", master, acked,
                       found ? state : "not listed", found && master >= acked ? master - acked : -1);
        }
        util_sleep_ms(poll_ms);
    }
    conn_close(s);
    return rc;
}

const ActionDef action_follow = {
    .name = "follow",
    .summary = "Follow the source as a replica (PSYNC) into the target",
    .params = follow_params,
    .default_gate = GATE_CONFIRM,
    .destructive = follow_destructive,
    .check = follow_check,
    .needs = follow_needs,
    .run = follow_run,
    .resume_done = follow_resume_done,
};
