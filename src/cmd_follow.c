/* cmd_follow — `ferry follow`: ferry follows the source as a replica (PSYNC)
 * and applies what it receives to the target, until Ctrl-C. Prints one
 * status line a second (or JSON lines with --json) and the follower's
 * warnings. The console has no follow view yet: with a terminal the same
 * lines are printed.
 *
 * Exit codes: 0 stopped by the operator, 1 the follower failed (the reason
 * is the last line on stderr), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "cmd.h"
#include "follow.h"
#include "progress.h"
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
    "  --on-conflict replace        the target's dbs may hold keys: the snapshot overwrites them; also lets\n"
    "                               ferry load a new snapshot when the source cannot resume the stream.\n"
    "                               Without it the target's dbs must be empty\n"
    "  --listening-port N           the port ferry announces to the source (REPLCONF listening-port);\n"
    "                               default: the target's port, so the source lists the follower under it\n"
    "  --no-tui, --json             status lines (the default), or JSON lines\n"
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
    } else if (s->state == FOLLOW_SNAPSHOT) {
        char b[16], t[16];
        util_fmt_bytes(b, sizeof(b), (double)s->snapshot_bytes);
        if (s->snapshot_size) util_fmt_bytes(t, sizeof(t), (double)s->snapshot_size);
        printf("follow snapshot · %s of %s · %llu keys restored, %llu expired, %llu filtered out\n", b,
               s->snapshot_size ? t : "? (diskless)", (unsigned long long)s->snapshot_keys,
               (unsigned long long)s->snapshot_expired, (unsigned long long)s->snapshot_filtered);
    } else {
        printf("follow %s · applied offset %lld (acked %lld, received %lld) · %llu commands, %llu dropped, %llu mixed, "
               "%llu errors · syncs %d full %d partial\n",
               follow_state_name(s->state), s->offset, s->acked, s->received, (unsigned long long)s->commands,
               (unsigned long long)s->dropped, (unsigned long long)s->mixed, (unsigned long long)s->errors,
               s->full_syncs, s->partial_syncs);
    }
    fflush(stdout);
}

int cmd_follow(int argc, char **argv) {
    char err[FERRY_ERR_LEN];
    long port = 0;
    /* Our own options out, the rest through the copy parser. */
    char **args = malloc(sizeof(*args) * (size_t)(argc + 1));
    if (!args) return 1;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        static const char *const refused[] = {"--type", "--type-based", "--workers", "--batch", "--scan-count",
                                              "--rate", "--report", "--theme", "--ascii", NULL};
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
    FollowOptions fo = {.copy = o, .listening_port = (int)port};
    Follower *f = follow_start(&fo, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "ferry follow: %s\n", err);
        cli_copy_free(&cli);
        return 1;
    }
    uint64_t seen = 0;
    FollowStatus st;
    int64_t last = 0;
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
    printf("stopped at applied offset %lld (replication id %s); a new ferry follow starts with a new snapshot: "
           "empty the target's dbs first, or give --on-conflict replace\n",
           st.offset, st.replid[0] ? st.replid : "none");
    return 0;
}
