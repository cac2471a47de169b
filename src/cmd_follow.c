/* cmd_follow — `ferry follow`: ferry follows the source as a replica (PSYNC)
 * and applies what it receives to the target, until the operator stops it.
 *
 * With a terminal it opens the console: the Follower panel (is it caught
 * up, is anything wrong), the servers, and the follower's log; q asks,
 * then ferry stops the follower (follow_stop, on this thread once the
 * console has closed: the UI thread never does network I/O) and exits.
 * Without one (or with --no-tui) it prints one status line a second, or
 * JSON lines with --json, and the follower's warnings, until Ctrl-C.
 *
 * The console's Servers panel is sampled here, by one thread of our own
 * (engine_sample_server, once a second, its own two connections).
 *
 * Exit codes: 0 stopped by the operator, 1 the follower failed (the reason
 * is the last line on stderr), 2 usage. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"
#include "cmd.h"
#include "console.h"
#include "follow.h"
#include "progress.h"
#include "runctl.h"
#include "serverinfo.h"
#include "util.h"

int cmd_follow(int argc, char **argv);

static const char follow_usage[] =
    "usage: ferry follow --source URI --target URI [options]\n"
    "\n"
    "ferry connects to the source as a replica (REPLCONF, PSYNC), loads its snapshot into the\n"
    "target with RESTORE … ABSTTL, then applies the live replication stream until Ctrl-C: the way\n"
    "to keep a target that refuses REPLICAOF (a managed service) in step with the source.\n"
    "\n"
    "  --source URI, --target URI   as for ferry copy (passwords: FERRY_SOURCE_PASSWORD /\n"
    "                               FERRY_TARGET_PASSWORD or --source-password-file / --target-password-file)\n"
    "  --db-map SRC:DST[,…]         source db → target db; default: the db in the URIs, else every db to itself\n"
    "                               (commands in a db outside the map are not applied)\n"
    "  --match GLOB, --exclude GLOB repeatable: keys to follow (snapshot and stream); a command touching\n"
    "                               kept and dropped keys is applied whole, with a warning\n"
    "  --on-conflict replace        the target's dbs may hold keys: the snapshot overwrites them. Also lets\n"
    "                               ferry load a new snapshot when the source cannot resume the stream (or\n"
    "                               --state's position is not exact): the followed keys on the target are\n"
    "                               cleared first, as a replica does. Without it the target's dbs must be empty\n"
    "  --type-based                 write the snapshot's values with type commands (HSET, XADD, XCLAIM…)\n"
    "                               instead of RESTORE; without it ferry does so only for values whose\n"
    "                               encoding the target's version does not know (a newer source)\n"
    "  --listening-port N           the port ferry announces to the source (REPLCONF listening-port);\n"
    "                               default: the target's port, so the source lists the follower under it\n"
    "  --state FILE                 keeps the follower's position (replication id, applied offset) in FILE;\n"
    "                               rerunning with the same FILE continues where it stopped, without a new\n"
    "                               snapshot (after a clean stop: q, Ctrl-C)\n"
    "  --no-tui, --json             on a terminal ferry opens the console (Follower, Servers, Log; q quits,\n"
    "                               ? lists the keys); --no-tui prints status lines instead, --json JSON lines\n"
    "  --theme NAME, --ascii        the console's colours and glyphs, as for ferry copy\n"
    "  TLS and timeouts: as for ferry copy (ferry copy --help)\n"
    "\n"
    "Cutover: pause writes on the source, wait until the source lists the follower's acknowledged offset\n"
    "equal to its master_repl_offset (runbook: wait-offset with follower = yes), switch, stop ferry.\n";

static uint64_t print_events(Follower *f, uint64_t seen, int json) {
    Event ev[32];
    int n;
    while ((n = follow_events(f, seen, ev, 32)) > 0) {
        for (int i = 0; i < n; i++) {
            seen = ev[i].seq;
            if (json) {
                char t[EVENTLOG_TEXT * 2];
                progress_json_escape(ev[i].text, t, sizeof(t));
                printf("{\"type\":\"event\",\"time_ms\":%lld,\"level\":\"%s\",\"text\":\"%s\"}\n",
                       (long long)ev[i].time_ms, eventlog_level_name(ev[i].level), t);
            } else if (ev[i].level == EV_ERROR) {
                /* the failure: printed once, as the last line */
            } else if (ev[i].level != EV_INFO) {
                fprintf(stderr, "ferry: %s: %s\n", eventlog_level_name(ev[i].level), ev[i].text);
            } else {
                printf("%s\n", ev[i].text);
            }
        }
        if (n < 32) break;
    }
    return seen;
}

static void print_status(const FollowStatus *s, int json) {
    if (json) {
        printf("{\"type\":\"follow\",\"state\":\"%s\",\"replid\":\"%s\",\"offset\":%lld,\"received\":%lld,\"acked\":%lld,"
               "\"snapshot_keys\":%llu,\"snapshot_expired\":%llu,\"snapshot_filtered\":%llu,\"snapshot_bytes\":%llu,"
               "\"snapshot_size\":%llu,\"commands\":%llu,\"dropped\":%llu,\"mixed\":%llu,\"errors\":%llu,"
               "\"full_syncs\":%d,\"partial_syncs\":%d}\n",
               follow_state_name(s->state), s->replid, s->offset, s->received, s->acked,
               (unsigned long long)s->snapshot_keys, (unsigned long long)s->snapshot_expired,
               (unsigned long long)s->snapshot_filtered, (unsigned long long)s->snapshot_bytes,
               (unsigned long long)s->snapshot_size, (unsigned long long)s->commands, (unsigned long long)s->dropped,
               (unsigned long long)s->mixed, (unsigned long long)s->errors, s->full_syncs, s->partial_syncs);
    } else {
        char line[512];
        progress_follow_line(s, line, sizeof(line));
        printf("%s\n", line);
    }
    fflush(stdout);
}

/* ---- the console's backend ------------------------------------------- */

/* What the console reads, filled off the UI thread: the servers by our
 * sampler, the follower's status and events by follow.c (copies under its
 * lock). */
typedef struct FollowConsole {
    Follower *f;
    const CopyOptions *o;
    EventLog log;        /* the follower's events, then the console's own lines */
    uint64_t seen;       /* follower events already in log */
    pthread_mutex_t lock;
    ServerSnapshot srv[2];
    int64_t srv_ok_ms[2];
    atomic_int closing;
    pthread_t sampler;
    int sampler_started;
} FollowConsole;

/* Keys in the dbs the follower writes: the mapped ones, else every db. */
static uint64_t plan_keys(const CopyOptions *o, const ServerInfo *si, int side) {
    uint64_t keys = 0;
    if (o->dbmap.n == 0) {
        for (int d = 0; d < SERVERINFO_MAX_DB; d++) keys += si->db_keys[d];
        return keys;
    }
    for (int i = 0; i < o->dbmap.n; i++) {
        int db = side == 0 ? o->dbmap.src[i] : o->dbmap.dst[i];
        if (db >= 0 && db < SERVERINFO_MAX_DB) keys += si->db_keys[db];
    }
    return keys;
}

static void *fc_sampler_main(void *arg) {
    FollowConsole *fc = arg;
    runctl_block_signals();
    Conn *c[2] = {NULL, NULL};
    while (!atomic_load(&fc->closing)) {
        for (int side = 0; side < 2; side++) {
            ServerSnapshot s;
            ServerInfo si;
            pthread_mutex_lock(&fc->lock);
            s = fc->srv[side];
            pthread_mutex_unlock(&fc->lock);
            int ok = engine_sample_server(&c[side], side == 0 ? &fc->o->source : &fc->o->target,
                                          side == 0 ? "ferry-mon-src" : "ferry-mon-dst", &s, &si);
            if (ok) s.keys = plan_keys(fc->o, &si, side);
            pthread_mutex_lock(&fc->lock);
            if (ok) fc->srv_ok_ms[side] = util_mono_ms();
            memcpy(s.label, fc->srv[side].label, sizeof(s.label));
            fc->srv[side] = s;
            pthread_mutex_unlock(&fc->lock);
        }
        for (int i = 0; i < 20 && !atomic_load(&fc->closing); i++) util_sleep_ms(50);
    }
    for (int i = 0; i < 2; i++)
        if (c[i]) conn_close(c[i]);
    return NULL;
}

static void fc_snapshot(void *ctx, EngineSnapshot *out) {
    FollowConsole *fc = ctx;
    memset(out, 0, sizeof(*out));
    out->state = ENGINE_RUNNING; /* the console reads the follower's state instead */
    Event ev[32];
    int n;
    while ((n = follow_events(fc->f, fc->seen, ev, 32)) > 0) {
        for (int i = 0; i < n; i++) {
            fc->seen = ev[i].seq;
            eventlog_add(&fc->log, ev[i].level, "%s", ev[i].text);
        }
        if (n < 32) break;
    }
    int64_t now = util_mono_ms();
    pthread_mutex_lock(&fc->lock);
    for (int side = 0; side < 2; side++) {
        ServerSnapshot *s = side == 0 ? &out->source : &out->target;
        *s = fc->srv[side];
        s->age_ms = fc->srv_ok_ms[side] ? now - fc->srv_ok_ms[side] : -1;
        s->status = !fc->srv_ok_ms[side] ? RATE_INIT : s->age_ms > 3000 ? RATE_STALE : RATE_OK;
    }
    pthread_mutex_unlock(&fc->lock);
    out->nlog = eventlog_copy(&fc->log, 0, out->log, ENGINE_SNAPSHOT_LOG);
}

static void fc_log(void *ctx, EventLevel lvl, const char *text) {
    FollowConsole *fc = ctx;
    eventlog_add(&fc->log, lvl, "%s", text);
}

static void fc_status(void *ctx, FollowStatus *out) {
    FollowConsole *fc = ctx;
    follow_status(fc->f, out);
}

/* Runs the console until the operator quits (or the terminal goes). 0, or
 * -1 with a message when the terminal could not be opened. */
static int follow_console(Follower *f, const CopyOptions *o, const CopyCli *cli, const char *state_path,
                          char *err, size_t errlen) {
    FollowConsole *fc = calloc(1, sizeof(*fc));
    if (!fc) return util_err(err, errlen, "out of memory");
    fc->f = f;
    fc->o = o;
    eventlog_init(&fc->log);
    pthread_mutex_init(&fc->lock, NULL);
    char sl[300], tl[300], title[700], note[300];
    uri_format_redacted(&o->source.uri, sl, sizeof(sl));
    uri_format_redacted(&o->target.uri, tl, sizeof(tl));
    /* the label is the URI; the panel names the side */
    util_strlcpy(fc->srv[0].label, sl, sizeof(fc->srv[0].label));
    util_strlcpy(fc->srv[1].label, tl, sizeof(fc->srv[1].label));
    snprintf(title, sizeof(title), "follow  %s → %s", sl, tl);
    if (state_path)
        snprintf(note, sizeof(note), "Its position stays in %s: rerun with it to continue.", state_path);
    else
        snprintf(note, sizeof(note), "Without --state, a rerun starts over with a new snapshot.");
    atomic_init(&fc->closing, 0);
    fc->sampler_started = pthread_create(&fc->sampler, NULL, fc_sampler_main, fc) == 0;

    ConsoleBackend b;
    memset(&b, 0, sizeof(b));
    b.ctx = fc;
    b.snapshot = fc_snapshot;
    b.log = fc_log;
    b.follow_status = fc_status;
    ConsoleOptions co;
    console_options_init(&co);
    co.theme = cli->theme;
    co.ascii = cli->ascii ? 1 : -1;
    co.title = title;
    co.quit_note = note;
    int rc = console_run(&b, &co, err, errlen);

    atomic_store(&fc->closing, 1);
    if (fc->sampler_started) pthread_join(fc->sampler, NULL);
    pthread_mutex_destroy(&fc->lock);
    eventlog_destroy(&fc->log);
    free(fc);
    return rc;
}

int cmd_follow(int argc, char **argv) {
    char err[FERRY_ERR_LEN];
    long port = 0;
    const char *state_path = NULL;
    /* Our own options out, the rest through the copy parser. */
    char **args = malloc(sizeof(*args) * (size_t)(argc + 1));
    if (!args) return 1;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        static const char *const refused[] = {"--type", "--workers", "--batch", "--scan-count",
                                              "--rate", "--report", NULL};
        for (int j = 0; i > 0 && refused[j]; j++)
            if (!strcmp(argv[i], refused[j])) {
                fprintf(stderr, "ferry follow: %s does not apply to follow%s (see ferry follow --help)\n", argv[i],
                        j == 0 ? ": a replicated command does not carry its key's type; select keys with --match/--exclude" : "");
                free(args);
                return 2;
            }
        if (i > 0 && !strcmp(argv[i], "--listening-port")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ferry follow: --listening-port needs a value (see ferry follow --help)\n");
                free(args);
                return 2;
            }
            if (cli_parse_long("--listening-port", argv[i + 1], 1, 65535, &port, err, sizeof(err)) != 0) {
                fprintf(stderr, "ferry follow: %s\n", err);
                free(args);
                return 2;
            }
            i++;
            continue;
        }
        if (i > 0 && !strcmp(argv[i], "--state")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "ferry follow: --state needs a file (see ferry follow --help)\n");
                free(args);
                return 2;
            }
            state_path = argv[++i];
            continue;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;
    CopyCli cli;
    cli_copy_init(&cli);
    int prc = cli_parse_copy(&cli, n, args, err, sizeof(err));
    free(args);
    if (cli.help) {
        fputs(follow_usage, stdout);
        cli_copy_free(&cli);
        return 0;
    }
    if (prc != 0) {
        fprintf(stderr, "ferry follow: %s\n", err);
        cli_copy_free(&cli);
        return 2;
    }
    if (cli.password_on_cmdline) {
        cli_scrub_argv(argc, argv);
        fprintf(stderr, "ferry: warning: a password on the command line is visible to every user (ps); "
                        "use FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD or a password file\n");
    }
    CopyOptions *o = &cli.copy;
    /* "/1" in the URIs: the db map. */
    if (o->source.uri.db >= 0 || o->target.uri.db >= 0) {
        if (o->source.uri.db < 0) {
            fprintf(stderr, "ferry follow: the --target URI names db %d but the --source URI names none: add it "
                            "(redis://host:port/N) or use --db-map\n", o->target.uri.db);
            cli_copy_free(&cli);
            return 2;
        }
        int to = o->target.uri.db >= 0 ? o->target.uri.db : o->source.uri.db;
        if (dbmap_add(&o->dbmap, o->source.uri.db, to, err, sizeof(err)) != 0) {
            fprintf(stderr, "ferry follow: %s\n", err);
            cli_copy_free(&cli);
            return 2;
        }
        o->source.uri.db = o->target.uri.db = -1;
    }
    /* An existing state file: continue from the position saved in it. */
    FollowOptions fo = {.copy = o, .listening_port = (int)port, .state_path = state_path,
                        .resume = state_path && access(state_path, F_OK) == 0};
    Follower *f = follow_start(&fo, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "ferry follow: %s\n", err);
        cli_copy_free(&cli);
        return 1;
    }
    uint64_t seen = 0;
    FollowStatus st;
    int64_t last = 0, console_failed = 0;
    if (!cli.no_tui && !cli.json && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
        int crc = follow_console(f, o, &cli, state_path, err, sizeof(err));
        follow_status(f, &st);
        if (crc != 0) {
            fprintf(stderr, "ferry follow: %s\n", err);
            console_failed = 1;
        }
    } else {
        for (;;) {
            util_sleep_ms(100);
            follow_status(f, &st);
            seen = print_events(f, seen, cli.json);
            if (st.state == FOLLOW_FAILED || cmd_signals) break;
            if (util_mono_ms() - last >= 1000) {
                print_status(&st, cli.json);
                last = util_mono_ms();
            }
        }
    }
    int failed = st.state == FOLLOW_FAILED;
    char reason[FERRY_ERR_LEN];
    util_strlcpy(reason, st.error, sizeof(reason));
    follow_stop(f);
    if (!failed || st.offset >= 0 || cli.json) print_status(&st, cli.json);
    cli_copy_free(&cli);
    if (failed) {
        fprintf(stderr, "ferry follow: %s\n", reason);
        return 1;
    }
    if (state_path)
        printf("stopped at applied offset %lld (replication id %s); the position is kept in %s: ferry follow "
               "--state %s continues from it without a new snapshot\n",
               st.offset, st.replid[0] ? st.replid : "none", state_path, state_path);
    else
        printf("stopped at applied offset %lld (replication id %s); a new ferry follow starts with a new snapshot: "
               "empty the target's dbs first, or give --on-conflict replace (next time, --state FILE keeps the position)\n",
               st.offset, st.replid[0] ? st.replid : "none");
    return console_failed ? 1 : 0;
}
