/* action replicate — makes the target a replica of the source:
 * REPLICAOF <source host> <source port> on the target, after handing it
 * the source's credentials (CONFIG SET masteruser / masterauth) when the
 * source needs AUTH. The initial sync then runs between the servers;
 * wait-sync watches it.
 *
 * Before changing anything it refuses: the same server on both sides; a
 * cluster node; a target that already follows another server; a target
 * that holds keys (the sync replaces every db with the source's) unless
 * discard-target-data = yes, which makes the step destructive (type
 * gate); a source on a unix socket without master-host. A target that
 * refuses REPLICAOF (renamed or disabled, as managed services do) fails
 * with the way forward, the follow action; `needs` puts REPLICAOF in the
 * preflight plan so that such a target fails in preflight, before the
 * window. Running it again when the target already follows the source
 * changes nothing (safe to resume). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "repl.h"
#include "serverinfo.h"
#include "util.h"

static const char *const replicate_params[] = {"master-host", "master-port", "masterauth", "discard-target-data",
                                               NULL};

static int replicate_discard(const RunbookStep *st) {
    const char *v = runbook_param(st, "discard-target-data");
    return v && action_parse_bool(v) == 1;
}

static int replicate_destructive(const RunbookStep *st, int on_conflict) {
    (void)on_conflict;
    return replicate_discard(st);
}

static int replicate_preset_auth(const RunbookStep *st) {
    const char *v = runbook_param(st, "masterauth");
    return v && !strcmp(v, "preset");
}

static int replicate_check(const RunbookStep *st, int *line, char *err, size_t errlen) {
    const RunbookParam *p = runbook_param_entry(st, "discard-target-data");
    if (p && action_parse_bool(p->value) < 0) {
        *line = p->line;
        return util_err(err, errlen, "discard-target-data takes yes or no (got \"%s\")", p->value);
    }
    p = runbook_param_entry(st, "masterauth");
    if (p && strcmp(p->value, "set") && strcmp(p->value, "preset")) {
        *line = p->line;
        return util_err(err, errlen, "masterauth takes set (ferry hands the source's user and password to the target with CONFIG SET) or preset (the target's configuration has them already) (got \"%s\")",
                        p->value);
    }
    p = runbook_param_entry(st, "master-host");
    if (p && (!p->value[0] || strchr(p->value, ' ') || strlen(p->value) >= 256)) {
        *line = p->line;
        return util_err(err, errlen, "master-host takes the host name or address at which the target reaches the source (got \"%s\")",
                        p->value);
    }
    long port;
    return action_param_int(st, "master-port", 1, 65535, &port, line, err, errlen);
}

static void replicate_needs(const RunbookStep *st, PreflightPlan *p) {
    preflight_plan_need(p, PF_TARGET, "replicaof", REPL_NEEDS_REPLICAOF_BY, 0, NULL,
                        (const char *const[]){"replicaof", "no", "one", NULL});
    if (!replicate_preset_auth(st))
        preflight_plan_need(p, PF_TARGET, "config|set", "replicate", 1,
                            "ferry cannot hand the source's password to the target (masterauth): where the source needs AUTH, configure the target by other means and set masterauth = preset",
                            (const char *const[]){"config", "set", "masterauth", "x", NULL});
    preflight_plan_need(p, PF_TARGET, "info", "replicate", 0, NULL, (const char *const[]){"info", NULL});
    preflight_plan_need(p, PF_SOURCE, "info", "replicate", 0, NULL, (const char *const[]){"info", NULL});
}

/* A server's error text with a secret masked, should it be echoed. */
static void mask(char *dst, size_t len, const char *text, const char *secret) {
    util_strlcpy(dst, text ? text : "", len);
    size_t sl = secret ? strlen(secret) : 0;
    if (!sl) return;
    for (char *p = strstr(dst, secret); p; p = strstr(p + 3, secret)) {
        size_t rest = strlen(p + sl);
        memmove(p + 3, p + sl, rest + 1);
        memcpy(p, "***", 3);
    }
}

/* CONFIG GET name → value (malloc'd) or NULL. */
static char *config_get(Conn *t, const char *name) {
    redisReply *r = conn_command(t, "CONFIG GET %s", name);
    char *out = NULL;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING)
        out = strdup(r->element[1]->str);
    if (r) freeReplyObject(r);
    return out;
}

/* CONFIG SET name value: 0, or -1 with the server's words in why. */
static int config_set(Conn *t, const char *name, const char *value, char *why, size_t whylen) {
    redisReply *r = conn_command(t, "CONFIG SET %s %s", name, value);
    if (r && r->type != REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        return 0;
    }
    mask(why, whylen, r ? r->str : conn_errstr(t), value);
    if (r) freeReplyObject(r);
    return -1;
}

static int replicate_run(ActionCtx *c, char *err, size_t errlen) {
    const Uri *su = &c->copy->source.uri;
    char slabel[300], tlabel[300];
    uri_format_redacted(su, slabel, sizeof(slabel));
    uri_format_redacted(&c->copy->target.uri, tlabel, sizeof(tlabel));

    /* Where the target reaches the source. */
    char mhost[256];
    long mport = su->scheme == URI_UNIX ? 0 : su->port;
    int line;
    const char *h = runbook_param(c->step, "master-host");
    action_param_int(c->step, "master-port", 1, 65535, &mport, &line, err, errlen);
    if (h)
        util_strlcpy(mhost, h, sizeof(mhost));
    else if (su->scheme != URI_UNIX)
        util_strlcpy(mhost, su->host, sizeof(mhost));
    else
        return util_err(err, errlen, "source %s is a unix socket, which the target cannot reach: set master-host (and master-port) on step %s to the source's TCP address",
                        slabel, c->step->id);
    if (mport <= 0)
        return util_err(err, errlen, "set master-port on step %s: the source's TCP port as the target reaches it", c->step->id);

    Conn *s = action_connect(c, 0, "replicate", err, errlen);
    if (!s) return -1;
    ServerInfo ssi;
    int rc = serverinfo_fetch(s, &ssi, err, errlen);
    ReplInfo srep;
    if (rc == 0) rc = repl_fetch(s, &srep, err, errlen);
    conn_close(s);
    if (rc != 0) return -1;

    Conn *t = action_connect(c, 1, "replicate", err, errlen);
    if (!t) return -1;
    ServerInfo tsi;
    ReplInfo trep;
    char *old_auth = NULL, *old_user = NULL;
    if (serverinfo_fetch(t, &tsi, err, errlen) != 0 || repl_fetch(t, &trep, err, errlen) != 0) goto fail;
    if (ssi.run_id[0] && !strcmp(ssi.run_id, tsi.run_id)) {
        util_err(err, errlen, "source and target are the same server (run_id %.12s…): a server cannot replicate from itself; check --target",
                 ssi.run_id);
        goto fail;
    }
    if (tsi.cluster_enabled) {
        util_err(err, errlen, "target %s is a cluster node, where REPLICAOF is not allowed; %s", tlabel, REPL_FOLLOW_HINT);
        goto fail;
    }
    if (!strcmp(trep.role, "slave")) {
        int same = (trep.master_port == mport && !strcmp(trep.master_host, mhost)) ||
                   (trep.replid[0] && !strcmp(trep.replid, srep.replid));
        if (same) {
            action_log(c, EV_INFO, "target %s already follows the source at %s:%ld (link %s): nothing to change",
                       tlabel, mhost, mport, trep.link_status);
            conn_close(t);
            return 0;
        }
        util_err(err, errlen, "target %s already replicates from %s:%d, not from the source (%s:%ld): if it should follow the source instead, make it a primary first (REPLICAOF NO ONE on it) and rerun",
                 tlabel, trep.master_host, trep.master_port, mhost, mport);
        goto fail;
    }
    uint64_t keys = 0;
    for (int d = 0; d < SERVERINFO_MAX_DB; d++) keys += tsi.db_keys[d];
    if (keys && !replicate_discard(c->step)) {
        util_err(err, errlen, "target %s holds %llu keys: replicating replaces every db on it with the source's data; empty it first (flush-target), or set discard-target-data = yes on step %s (which then needs gate = type)",
                 tlabel, (unsigned long long)keys, c->step->id);
        goto fail;
    }
    if (strcmp(srep.role, "master"))
        action_log(c, EV_WARN, "source %s is itself a replica (of %s:%d): the target will follow it in a chain, and pausing writes on it pauses nothing upstream",
                   slabel, srep.master_host, srep.master_port);

    /* TLS: the target dials the source with its own tls-* settings. */
    if (su->scheme == URI_TLS) {
        char *tr = config_get(t, "tls-replication");
        int on = tr && !strcmp(tr, "yes");
        free(tr);
        char why[300];
        if (!on && config_set(t, "tls-replication", "yes", why, sizeof(why)) != 0) {
            util_err(err, errlen, "source %s speaks TLS, but target %s has tls-replication off and refused CONFIG SET tls-replication yes (%s): turn it on in the target's configuration, or %s",
                     slabel, tlabel, why, REPL_FOLLOW_HINT);
            goto fail;
        }
        action_log(c, EV_INFO, "the target connects to the source over TLS with its own tls-* settings: its tls-ca-cert-file must trust the source's certificate");
    }

    /* Credentials: saved first, so that a refused REPLICAOF leaves them as they were. */
    int set_auth = su->has_password && !replicate_preset_auth(c->step);
    if (set_auth) {
        old_auth = config_get(t, "masterauth");
        old_user = config_get(t, "masteruser");
        char why[300];
        if (su->user[0] && config_set(t, "masteruser", su->user, why, sizeof(why)) != 0) {
            util_err(err, errlen, "target %s refused CONFIG SET masteruser (%s): it cannot be handed the source's user; put masteruser and masterauth in its configuration and set masterauth = preset on step %s, or %s",
                     tlabel, why, c->step->id, REPL_FOLLOW_HINT);
            goto fail;
        }
        if (config_set(t, "masterauth", su->password, why, sizeof(why)) != 0) {
            if (su->user[0] && old_user) config_set(t, "masteruser", old_user, why, sizeof(why));
            util_err(err, errlen, "target %s refused CONFIG SET masterauth (%s): it cannot be handed the source's password; put masterauth in its configuration and set masterauth = preset on step %s, or %s",
                     tlabel, why, c->step->id, REPL_FOLLOW_HINT);
            goto fail;
        }
    }

    char port_s[16];
    snprintf(port_s, sizeof(port_s), "%ld", mport);
    redisReply *r = conn_command(t, "REPLICAOF %s %s", mhost, port_s);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        char why[300];
        mask(why, sizeof(why), r ? r->str : conn_errstr(t), su->password);
        if (r) freeReplyObject(r);
        if (set_auth) { /* put the credentials back as they were */
            char w2[300];
            config_set(t, "masterauth", old_auth ? old_auth : "", w2, sizeof(w2));
            if (su->user[0]) config_set(t, "masteruser", old_user ? old_user : "", w2, sizeof(w2));
        }
        util_err(err, errlen, "target %s refused REPLICAOF (%s): it cannot be made a replica (renamed or disabled, as managed services do); %s",
                 tlabel, why, REPL_FOLLOW_HINT);
        goto fail;
    }
    freeReplyObject(r);
    free(old_auth);
    free(old_user);
    old_auth = old_user = NULL;

    ReplInfo after;
    if (repl_fetch(t, &after, err, errlen) == 0 && strcmp(after.role, "slave"))
        action_log(c, EV_WARN, "target %s still reports role:%s after REPLICAOF", tlabel, after.role);
    conn_close(t);
    if (set_auth)
        action_log(c, EV_INFO, "the target holds the source's credentials (CONFIG SET masterauth%s; not written to its config file)",
                   su->user[0] ? ", masteruser" : "");
    if (keys)
        action_log(c, EV_OPERATOR, "target %s follows the source at %s:%s: its %llu keys are replaced by the source's data when the sync lands (discard-target-data = yes)",
                   tlabel, mhost, port_s, (unsigned long long)keys);
    else
        action_log(c, EV_OPERATOR, "target %s follows the source at %s:%s now (read-only for clients; the initial sync runs between the servers: wait-sync watches it)",
                   tlabel, mhost, port_s);
    action_figure(c, "source_offset", srep.master_repl_offset);
    return 0;
fail:
    free(old_auth);
    free(old_user);
    conn_close(t);
    return -1;
}

const ActionDef action_replicate = {
    .name = "replicate",
    .summary = "Make the target a replica of the source (REPLICAOF)",
    .params = replicate_params,
    .default_gate = GATE_CONFIRM,
    .destructive = replicate_destructive,
    .check = replicate_check,
    .needs = replicate_needs,
    .run = replicate_run,
};
