/* follow — the PSYNC follower. See follow.h for the protocol and the
 * guarantees. One thread owns every connection and all the state below;
 * what others read (FollowStatus, the event log) is published under a lock. */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include "conn.h"
#include "progress.h"
#include "rdb.h"
#include "rdbvalue.h"
#include "repl.h"
#include "serverinfo.h"
#include "util.h"

#define FOLLOW_READ_CHUNK (256 * 1024)
#define FOLLOW_POLL_MS 100
#define FOLLOW_BATCH 4096        /* target commands in flight before collecting replies */
#define FOLLOW_BATCH_BYTES (8 * 1024 * 1024) /* … or bytes of arguments: bounds memory with big values */
#define FOLLOW_BACKOFF_MAX_MS 5000
#define FOLLOW_ACK_SOON_MS 100   /* ack this soon after the applied offset moved */
#define FOLLOW_LOG_ERRORS 10     /* target errors logged one by one; then every 1000th */

typedef struct CmdSpec {
    char *name; /* lowercase; "xgroup|create" for a subcommand */
    int first, last, step, movable;
} CmdSpec;

struct Follower {
    const CopyOptions *o;
    int listening_port, ack_interval_ms;
    pthread_t th;
    _Atomic int stop;
    pthread_mutex_t lock;
    FollowStatus pub; /* under lock */
    EventLog log;

    /* Thread-private from here on. */
    FollowStatus st;
    char slabel[300], tlabel[300];
    Conn *src, *ctl, *dst;
    CmdSpec *cmds;
    int ncmds;
    int filtering;              /* include or exclude patterns given */
    char replid[48];
    long long processed;        /* every command up to here was sent and answered */
    long long applied;          /* processed, outside a transaction */
    int applied_db;             /* the stream's db at the applied offset */
    int uncertain;              /* a reply was lost: what the target applied is unknown */
    const char *state_path;     /* FollowOptions.state_path (copied), or NULL */
    char sjson[700], tjson[700];/* the servers' labels, JSON-escaped, as the state file names them */
    int lock_fd;                /* <state_path>.lock, held while this follower lives; -1 none */
    int state_warned;
    int dirty;                  /* commands sent outside a transaction since applied last moved */
    int dst_rdb, dst_version;   /* the target's payload version and major*100+minor */
    int dst_valkey;
    unsigned char *scratch;     /* a payload whose footer version is lowered */
    size_t scratch_cap;
    uint64_t typed_failed, ttl_lost_logged;
    int64_t sampled_ms;
    int have_data;              /* a snapshot was applied: the target holds our keys */
    int clear_first;            /* an earlier follower's keys are there (a saved position that
                                   cannot be continued): clear them before the snapshot */
    int src_db;                 /* the stream's current db; -1 unknown */
    int dst_db;                 /* selected on the target connection; -1 none */
    int in_multi;
    int want_ack;
    long long last_acked;
    int64_t last_ack_ms;
    int64_t dst_io_ms;          /* last command sent to the target */
    size_t inflight_bytes;      /* argument bytes sent since the last collect */
    uint64_t mixed_logged;
};

const char *follow_state_name(FollowState s) {
    switch (s) {
    case FOLLOW_CONNECTING: return "connecting";
    case FOLLOW_SNAPSHOT: return "snapshot";
    case FOLLOW_STREAMING: return "streaming";
    case FOLLOW_RECONNECTING: return "reconnecting";
    case FOLLOW_STOPPED: return "stopped";
    case FOLLOW_FAILED: return "failed";
    }
    return "?";
}

/* ---- publishing ----------------------------------------------------------- */

static void publish(Follower *f) {
    f->st.offset = f->applied;
    util_strlcpy(f->st.replid, f->replid, sizeof(f->st.replid));
    pthread_mutex_lock(&f->lock);
    f->pub = f->st;
    pthread_mutex_unlock(&f->lock);
}

static void set_state(Follower *f, FollowState s) {
    f->st.state = s;
    publish(f);
}

static void flog(Follower *f, EventLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void flog(Follower *f, EventLevel level, const char *fmt, ...) {
    char text[EVENTLOG_TEXT * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    eventlog_add(&f->log, level, "%s", text);
}

/* Ends the thread's work with a message. Always -1. */
static int fail(Follower *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Follower *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->st.error, sizeof(f->st.error), fmt, ap);
    va_end(ap);
    flog(f, EV_ERROR, "%s", f->st.error);
    f->st.state = FOLLOW_FAILED;
    publish(f);
    return -1;
}

/* ---- db map and key positions ---------------------------------------------- */

static int map_db(const Follower *f, int src) {
    if (src < 0) return -1;
    return f->o->dbmap.n == 0 ? src : dbmap_target(&f->o->dbmap, src);
}

static int cmdspec_cmp(const void *a, const void *b) {
    return strcmp(((const CmdSpec *)a)->name, ((const CmdSpec *)b)->name);
}

static void lower(char *s) {
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
}

static int add_spec(Follower *f, const redisReply *e, size_t *cap) {
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 6 || e->element[0]->type != REDIS_REPLY_STRING) return 0;
    if (f->ncmds == (int)*cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        CmdSpec *n = realloc(f->cmds, nc * sizeof(*n));
        if (!n) return -1;
        f->cmds = n;
        *cap = nc;
    }
    CmdSpec *s = &f->cmds[f->ncmds];
    s->name = strdup(e->element[0]->str);
    if (!s->name) return -1;
    lower(s->name);
    s->first = (int)e->element[3]->integer;
    s->last = (int)e->element[4]->integer;
    s->step = (int)e->element[5]->integer;
    s->movable = 0;
    const redisReply *fl = e->element[2];
    if (fl->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < fl->elements; i++)
            if ((fl->element[i]->type == REDIS_REPLY_STATUS || fl->element[i]->type == REDIS_REPLY_STRING) &&
                !strcasecmp(fl->element[i]->str, "movablekeys"))
                s->movable = 1;
    f->ncmds++;
    if (e->elements >= 10 && e->element[9]->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < e->element[9]->elements; i++)
            if (add_spec(f, e->element[9]->element[i], cap) != 0) return -1;
    return 0;
}

/* The source's COMMAND table: where each command keeps its keys. */
static int load_commands(Follower *f) {
    redisReply *r = conn_command(f->ctl, "COMMAND");
    if (!r) return fail(f, "%s", conn_errstr(f->ctl));
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return fail(f, "%s refused COMMAND: ferry needs it to find the keys of replicated commands; allow COMMAND for ferry's user",
                    f->slabel);
    }
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < r->elements && rc == 0; i++) rc = add_spec(f, r->element[i], &cap);
    freeReplyObject(r);
    if (rc != 0) return fail(f, "out of memory reading the source's command table");
    qsort(f->cmds, (size_t)f->ncmds, sizeof(*f->cmds), cmdspec_cmp);
    return 0;
}

static const CmdSpec *find_spec(const Follower *f, const char *name) {
    CmdSpec k = {.name = (char *)name};
    return bsearch(&k, f->cmds, (size_t)f->ncmds, sizeof(*f->cmds), cmdspec_cmp);
}

/* Counts kept and dropped keys of a command. */
static void classify_keys(Follower *f, const redisReply *cmd, const char *name, int *kept, int *dropped,
                          const char **kept_key, const char **dropped_key) {
    *kept = *dropped = 0;
    const CmdSpec *s = NULL;
    if (cmd->elements >= 2 && cmd->element[1]->len < 64) {
        char sub[160];
        snprintf(sub, sizeof(sub), "%s|%s", name, cmd->element[1]->str);
        lower(sub);
        s = find_spec(f, sub);
    }
    if (!s) s = find_spec(f, name);
    if (!s) return;
    int argc = (int)cmd->elements;
    if (s->movable) {
        const char **argv = malloc(sizeof(*argv) * (argc + 2));
        size_t *lens = malloc(sizeof(*lens) * (argc + 2));
        if (!argv || !lens) {
            free(argv);
            free(lens);
            return;
        }
        argv[0] = "COMMAND";
        argv[1] = "GETKEYS";
        lens[0] = 7;
        lens[1] = 7;
        for (int i = 0; i < argc; i++) {
            argv[i + 2] = cmd->element[i]->str;
            lens[i + 2] = cmd->element[i]->len;
        }
        redisReply *r = conn_command_argv(f->ctl, argc + 2, argv, lens);
        free(argv);
        free(lens);
        if (!r && conn_reconnect(f->ctl, 3, &f->stop) == 0) r = NULL; /* counted as keyless this time */
        if (r && r->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i < r->elements; i++) {
                const redisReply *k = r->element[i];
                if (k->type != REDIS_REPLY_STRING) continue;
                /* The key's position in cmd, for a pointer that outlives r. */
                for (int j = 1; j < argc; j++) {
                    if (cmd->element[j]->len == k->len && !memcmp(cmd->element[j]->str, k->str, k->len)) {
                        if (filter_key(&f->o->filter, k->str, k->len)) {
                            (*kept)++;
                            *kept_key = cmd->element[j]->str;
                        } else {
                            (*dropped)++;
                            *dropped_key = cmd->element[j]->str;
                        }
                        break;
                    }
                }
            }
        }
        if (r) freeReplyObject(r);
        return;
    }
    if (s->first <= 0 || s->step <= 0) return;
    int last = s->last < 0 ? argc + s->last : s->last;
    for (int i = s->first; i <= last && i < argc; i += s->step) {
        const redisReply *k = cmd->element[i];
        if (filter_key(&f->o->filter, k->str, k->len)) {
            (*kept)++;
            *kept_key = k->str;
        } else {
            (*dropped)++;
            *dropped_key = k->str;
        }
    }
}

/* ---- the target side ----------------------------------------------------------- */

static void target_error(Follower *f, const char *what, const char *msg) {
    f->st.errors++;
    if (f->st.errors <= FOLLOW_LOG_ERRORS || f->st.errors % 1000 == 0)
        flog(f, EV_WARN, "%s answered %s with an error (%llu so far): %.120s", f->tlabel, what,
             (unsigned long long)f->st.errors, msg);
}

/* 1 when the error means every later write fails too: stop at once. */
static int fatal_error(const char *e) {
    return !strncmp(e, "OOM", 3) || !strncmp(e, "READONLY", 8) || !strncmp(e, "MISCONF", 7);
}

/* Returns the first fatal error text of a reply, or NULL. */
static const char *check_reply(Follower *f, const redisReply *r) {
    const char *fatal = NULL;
    if (r->type == REDIS_REPLY_ERROR) {
        target_error(f, "a command", r->str);
        if (fatal_error(r->str)) fatal = r->str;
    } else if (r->type == REDIS_REPLY_ARRAY) { /* EXEC */
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_ERROR) {
                target_error(f, "a command in a transaction", r->element[i]->str);
                if (!fatal && fatal_error(r->element[i]->str)) fatal = r->element[i]->str;
            }
    }
    return fatal;
}

/* Reads every outstanding reply of the target. -1 when the link is lost or
 * the target refuses writes (out of memory, read-only). */
static int collect(Follower *f) {
    f->inflight_bytes = 0;
    while (conn_pending(f->dst) > 0) {
        redisReply *r;
        if (conn_get_reply(f->dst, &r) != 0) {
            f->uncertain = 1;
            return fail(f, "%s; the commands in flight may or may not have been applied, so ferry stops: "
                           "rerun ferry follow with --on-conflict replace to load a fresh snapshot",
                        conn_errstr(f->dst));
        }
        const char *fatal = check_reply(f, r);
        if (fatal) {
            f->uncertain = 1;
            fail(f, "%s refuses writes (%.120s): the follower stops; free memory or raise maxmemory on the target "
                    "(or make it a primary again), then rerun ferry follow with --on-conflict replace",
                 f->tlabel, fatal);
            freeReplyObject(r);
            while (conn_pending(f->dst) > 0 && conn_get_reply(f->dst, &r) == 0) freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

static int send_cmd(Follower *f, int argc, const char **argv, const size_t *lens) {
    f->dst_io_ms = util_mono_ms();
    if (!f->in_multi) f->dirty = 1;
    if (conn_append_argv(f->dst, argc, argv, lens) != 0) return fail(f, "%s", conn_errstr(f->dst));
    for (int i = 0; i < argc; i++) f->inflight_bytes += lens[i];
    if (conn_pending(f->dst) >= FOLLOW_BATCH || f->inflight_bytes >= FOLLOW_BATCH_BYTES) return collect(f);
    return 0;
}

/* Makes the target connection's db the one mapped from src_db (pipelined). */
static int select_dst(Follower *f, int db) {
    if (db == f->dst_db) return 0;
    char n[16];
    int l = snprintf(n, sizeof(n), "%d", db);
    const char *argv[2] = {"SELECT", n};
    size_t lens[2] = {6, (size_t)l};
    if (send_cmd(f, 2, argv, lens) != 0) return -1;
    f->dst_db = db;
    return 0;
}

/* ---- the saved position ------------------------------------------------------ */

/* The state file: one JSON line, replaced atomically (write a temporary
 * file, fsync, rename). clean = 1 only when the follower stopped with every
 * command answered: then the target holds exactly the stream up to offset,
 * and PSYNC <replid> <offset+1> continues without doubling anything. While
 * the follower runs the file says clean = 0: after a crash, commands past
 * the saved offset may or may not be on the target, and ferry will not
 * guess (an INCR applied twice is a wrong value, silently). So the file is
 * written when that changes (start, a full sync, the stop), never in the
 * stream's path: a running offset would be refused anyway. */
static void state_write(Follower *f, int clean) {
    if (!f->state_path) return;
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", f->state_path) >= (int)sizeof(tmp)) return;
    FILE *fp = fopen(tmp, "w");
    int ok = fp != NULL;
    if (ok) {
        ok = fprintf(fp, "{\"ferry_follow\":1,\"replid\":\"%s\",\"offset\":%lld,\"db\":%d,\"clean\":%d,"
                         "\"source\":\"%s\",\"target\":\"%s\",\"saved_ms\":%lld}\n",
                     f->replid, f->applied, f->applied_db, clean, f->sjson, f->tjson, (long long)util_now_ms()) > 0;
        ok = fflush(fp) == 0 && ok;
        ok = fsync(fileno(fp)) == 0 && ok;
        ok = fclose(fp) == 0 && ok;
    }
    if (ok) ok = rename(tmp, f->state_path) == 0;
    if (!ok) {
        if (!f->state_warned)
            flog(f, EV_WARN, "cannot save the follower's position to %s (%s): a restart will need a new snapshot", f->state_path,
                 strerror(errno));
        f->state_warned = 1;
        unlink(tmp);
        return;
    }
    f->state_warned = 0;
}

static const char *json_field(const char *text, const char *name) {
    char key[32];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = strstr(text, key);
    return p ? p + strlen(key) : NULL;
}

/* One follower per state file: two that continued from the same position
 * would both apply the same commands. <state_path>.lock is held (flock)
 * for the follower's life and names its pid. -1 with a message when
 * another process holds it. */
static int state_lock(Follower *f, char *err, size_t errlen) {
    char lp[4096];
    if (snprintf(lp, sizeof(lp), "%s.lock", f->state_path) >= (int)sizeof(lp))
        return util_err(err, errlen, "the state file's path is too long: %s", f->state_path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return util_err(err, errlen, "cannot create %s: %s", lp, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = read(fd, pid, sizeof(pid) - 1);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        return util_err(err, errlen, "another ferry%s%s follows with the state file %s: stop it first (two followers from one "
                                     "position would apply every command twice)",
                        pid[0] ? " (pid " : "", pid[0] ? pid : "", f->state_path);
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0) { /* the pid only serves the message above: not writing it changes nothing */
        ssize_t w = write(fd, pid, (size_t)n);
        (void)w;
    }
    f->lock_fd = fd;
    return 0;
}

/* Reads the saved position (follow_start, before the thread). 0 = go on
 * from it; 1 = start with a full resync (replace allows it); -1 message. */
static int state_load(Follower *f, char *err, size_t errlen) {
    FILE *fp = fopen(f->state_path, "r");
    if (!fp)
        return util_err(err, errlen, "cannot read the follower's saved position %s: %s", f->state_path, strerror(errno));
    char text[4096];
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    const char *id = json_field(text, "replid"), *off = json_field(text, "offset"), *db = json_field(text, "db"),
               *clean = json_field(text, "clean"), *src = json_field(text, "source"), *dst = json_field(text, "target");
    if (!json_field(text, "ferry_follow") || !id || !off || !db || !clean || !src || !dst || *id != '"')
        return util_err(err, errlen, "%s is not a follower position ferry wrote: give another --state file", f->state_path);
    char want[720];
    snprintf(want, sizeof(want), "\"%s\"", f->sjson);
    if (strncmp(src, want, strlen(want)))
        return util_err(err, errlen, "%s holds the position of a follower of another source (%.*s), not of %s: give another --state file",
                        f->state_path, (int)strcspn(src, ","), src, f->slabel + 7);
    snprintf(want, sizeof(want), "\"%s\"", f->tjson);
    if (strncmp(dst, want, strlen(want)))
        return util_err(err, errlen, "%s holds the position of a follower into another target (%.*s), not %s: give another --state file",
                        f->state_path, (int)strcspn(dst, ","), dst, f->tlabel + 7);
    size_t idlen = strcspn(id + 1, "\"");
    long long o = strtoll(off, NULL, 10);
    int replace = f->o->on_conflict == CONFLICT_REPLACE;
    if (o < 0 || idlen == 0 || idlen >= sizeof(f->replid)) {
        if (replace) return 1;
        return util_err(err, errlen, "the follower saved in %s stopped before its snapshot was complete: the target holds part of it; "
                                     "rerun with --on-conflict replace to load a new snapshot over it, or empty the target and start without %s",
                        f->state_path, f->state_path);
    }
    if (atoi(clean) != 1) {
        if (replace) return 1;
        return util_err(err, errlen, "the follower saved in %s did not stop cleanly (its ferry was killed?): commands after offset %lld "
                                     "may already be on the target, and applying them twice would corrupt counters and lists; "
                                     "rerun with --on-conflict replace to load a new snapshot over the target",
                        f->state_path, o);
    }
    memcpy(f->replid, id + 1, idlen);
    f->replid[idlen] = '\0';
    f->processed = f->applied = o;
    f->src_db = f->applied_db = atoi(db);
    f->have_data = 1;
    f->st.resumed = 1;
    return 0;
}

/* ---- the source side -------------------------------------------------------- */

static int send_ack(Follower *f) {
    char off[32];
    int l = snprintf(off, sizeof(off), "%lld", f->applied);
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n", l, off);
    f->last_ack_ms = util_mono_ms();
    if (conn_write_raw(f->src, buf, (size_t)n) != 0) return -1;
    f->last_acked = f->applied;
    f->st.acked = f->applied;
    return 0;
}

/* Reads one line ending in \r\n from the raw link, skipping the bare "\n"
 * keepalives a primary sends while it prepares the snapshot. */
static int read_line(Follower *f, char *line, size_t cap) {
    size_t n = 0;
    int64_t idle_since = util_mono_ms();
    int64_t limit = f->o->source.io_timeout_ms > 0 ? f->o->source.io_timeout_ms : 30000;
    for (;;) {
        char ch;
        ssize_t r = conn_read_raw(f->src, &ch, 1, FOLLOW_POLL_MS);
        if (r < 0) return -1;
        if (f->stop) return -2;
        if (r == 0) {
            if (util_mono_ms() - idle_since > limit) {
                char e[FERRY_ERR_LEN];
                snprintf(e, sizeof(e), "%s sent nothing for %lld ms while ferry waited for its snapshot", f->slabel,
                         (long long)limit);
                util_strlcpy(f->st.error, e, sizeof(f->st.error));
                return -1;
            }
            continue;
        }
        idle_since = util_mono_ms();
        f->st.last_io_ms = idle_since;
        if (ch == '\n' && n == 0) continue;
        if (ch == '\n' && n > 0 && line[n - 1] == '\r') {
            line[n - 1] = '\0';
            return 0;
        }
        if (n + 1 >= cap) return -1;
        line[n++] = ch;
    }
}

/* One REPLCONF/PSYNC exchange: a status line. */
static redisReply *handshake_cmd(Follower *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) return NULL;
    int rc = conn_write_raw(f->src, cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (rc != 0) return NULL;
    char line[512];
    if (read_line(f, line, sizeof(line)) != 0) return NULL;
    redisReply *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->type = line[0] == '-' ? REDIS_REPLY_ERROR : REDIS_REPLY_STATUS;
    r->str = strdup(line[0] == '+' || line[0] == '-' ? line + 1 : line);
    r->len = r->str ? strlen(r->str) : 0;
    return r;
}

/* ---- snapshot ------------------------------------------------------------------- */

static ssize_t snap_read(void *ud, void *buf, size_t len, char *err, size_t errlen) {
    Follower *f = ud;
    int64_t idle_since = util_mono_ms();
    int64_t limit = f->o->source.io_timeout_ms > 0 ? f->o->source.io_timeout_ms : 30000;
    for (;;) {
        if (f->stop) {
            util_err(err, errlen, "stopped by the operator");
            return -1;
        }
        ssize_t n = conn_read_raw(f->src, buf, len, FOLLOW_POLL_MS);
        if (n < 0) {
            util_strlcpy(err, conn_errstr(f->src), errlen);
            return -1;
        }
        if (n > 0) {
            f->st.last_io_ms = util_mono_ms();
            f->st.snapshot_bytes += (uint64_t)n;
            return n;
        }
        if (util_mono_ms() - idle_since > limit) {
            util_err(err, errlen, "%s sent nothing for %lld ms in the middle of its snapshot", f->slabel, (long long)limit);
            return -1;
        }
    }
}

static int snap_want(void *ud, int db, const char *key, size_t keylen, int rdb_type) {
    (void)rdb_type;
    Follower *f = ud;
    if (map_db(f, db) >= 0 && filter_key(&f->o->filter, key, keylen)) return 1;
    f->st.snapshot_filtered++;
    return 0;
}

/* The target dbs the snapshot writes to must be empty unless replace. */
/* 1 when target db is one the follower writes to: named by the db map,
 * or any db when there is no map (every source db to itself). */
static int followed_dst_db(const Follower *f, int db) {
    if (f->o->dbmap.n == 0) return 1;
    for (int i = 0; i < f->o->dbmap.n; i++)
        if (f->o->dbmap.dst[i] == db) return 1;
    return 0;
}

static int check_target_empty(Follower *f, const ServerInfo *si) {
    if (f->o->on_conflict == CONFLICT_REPLACE) return 0;
    for (int db = 0; db < SERVERINFO_MAX_DB; db++)
        if (si->db_keys[db] > 0 && followed_dst_db(f, db))
            return fail(f, "%s db %d already holds %llu keys: empty it first (flush-target), or rerun with "
                           "--on-conflict replace to restore the source's keys over them",
                        f->tlabel, db, (unsigned long long)si->db_keys[db]);
    return 0;
}

static int rv_send(void *ud, int argc, const char **argv, const size_t *lens) {
    return send_cmd(ud, argc, argv, lens);
}

/* One snapshot key the target cannot RESTORE (its version is older than
 * the value's encoding, or --type-based): rebuilt from the snapshot's own
 * bytes with type commands, then its expiry. Not from the live source: the
 * stream that follows continues from the snapshot's value. As restore_key. */
static int restore_typed(Follower *f, const RdbEvent *ev, int valkey) {
    if (f->o->on_conflict == CONFLICT_REPLACE) {
        const char *argv[2] = {"DEL", ev->key};
        size_t lens[2] = {3, ev->keylen};
        if (send_cmd(f, 2, argv, lens) != 0) return -1;
    }
    RvOptions ro = {.dst_version = f->dst_version, .valkey = valkey, .dst_valkey = f->dst_valkey};
    RvResult res = {0};
    char err[FERRY_ERR_LEN];
    int rc = rdbvalue_commands(ev->payload, ev->payload_len, 1, ev->key, ev->keylen, &ro, rv_send, f, &res, err, sizeof(err));
    if (rc != 0) {
        if (f->st.state == FOLLOW_FAILED) return -1; /* the target link */
        f->st.errors++;
        if (f->typed_failed++ < FOLLOW_LOG_ERRORS)
            flog(f, EV_WARN, "%s; the key is not on %s", err, f->tlabel);
        const char *argv[2] = {"DEL", ev->key};
        size_t lens[2] = {3, ev->keylen};
        return send_cmd(f, 2, argv, lens) != 0 ? -1 : 1;
    }
    if (res.commands == 0) { /* a hash whose every field had expired */
        f->st.snapshot_expired++;
        return 1;
    }
    if (res.field_ttls_lost && f->ttl_lost_logged++ < FOLLOW_LOG_ERRORS)
        flog(f, EV_WARN, "hash \"%.60s\": %llu fields with their own expiry written without it (%s has no HPEXPIREAT)",
             ev->key, (unsigned long long)res.field_ttls_lost, f->tlabel);
    if (ev->expire_ms > 0) {
        char at[32];
        int l = snprintf(at, sizeof(at), "%lld", (long long)ev->expire_ms);
        const char *argv[3] = {"PEXPIREAT", ev->key, at};
        size_t lens[3] = {9, ev->keylen, (size_t)l};
        if (send_cmd(f, 3, argv, lens) != 0) return -1;
    }
    f->st.snapshot_typed++;
    return 0;
}

/* One snapshot key into the target: RESTORE, RESTORE with the footer's
 * version lowered to the target's, or type commands (rdbvalue_plan).
 * 0 written, 1 not written (nothing left of it), -1 the follower failed. */
static int restore_key(Follower *f, const RdbEvent *ev, int rdb_version, int valkey) {
    RvPlan plan = rdbvalue_plan(ev->rdb_type, rdb_version, valkey, f->dst_rdb, f->o->type_based);
    if (plan == RV_COMMANDS) return restore_typed(f, ev, valkey);
    const unsigned char *payload = ev->payload;
    if (plan == RV_RESTORE_REVERSION) {
        if (ev->payload_len > f->scratch_cap) {
            unsigned char *n = realloc(f->scratch, ev->payload_len);
            if (!n) return fail(f, "out of memory");
            f->scratch = n;
            f->scratch_cap = ev->payload_len;
        }
        memcpy(f->scratch, ev->payload, ev->payload_len);
        rdbvalue_set_version(f->scratch, ev->payload_len, f->dst_rdb);
        payload = f->scratch;
    }
    const char *replace = f->o->on_conflict == CONFLICT_REPLACE ? "REPLACE" : NULL;
    char ttl[32];
    int tl = snprintf(ttl, sizeof(ttl), "%lld", (long long)(ev->expire_ms > 0 ? ev->expire_ms : 0));
    const char *argv[6] = {"RESTORE", ev->key, ttl, (const char *)payload, "ABSTTL", replace};
    size_t lens[6] = {7, ev->keylen, (size_t)tl, ev->payload_len, 6, replace ? 7 : 0};
    return send_cmd(f, replace ? 6 : 5, argv, lens);
}

/* Before a new snapshot over keys an earlier one left (a resync, with
 * replace): the followed keyspace is emptied first, as a replica flushes
 * before it loads, so that keys deleted on the source meanwhile do not stay
 * behind. Without filters: FLUSHDB ASYNC of each target db the map names
 * (no map: each db that holds keys); with filters: SCAN + UNLINK of the
 * keys they select. Keys outside the followed keyspace are left alone. */
static int clear_followed(Follower *f) {
    ServerInfo si;
    char err[FERRY_ERR_LEN];
    if (collect(f) != 0) return -1;
    if (serverinfo_fetch(f->dst, &si, err, sizeof(err)) != 0) return fail(f, "%s", err);
    uint64_t removed = 0;
    for (int db = 0; db < SERVERINFO_MAX_DB; db++) {
        if (!followed_dst_db(f, db) || si.db_keys[db] == 0) continue;
        if (select_dst(f, db) != 0 || collect(f) != 0) return -1;
        if (!f->filtering) {
            const char *argv[2] = {"FLUSHDB", "ASYNC"};
            size_t lens[2] = {7, 5};
            if (send_cmd(f, 2, argv, lens) != 0 || collect(f) != 0) return -1;
            removed += si.db_keys[db];
            continue;
        }
        char cur[32] = "0";
        do {
            const char *argv[4] = {"SCAN", cur, "COUNT", "1000"};
            size_t lens[4] = {4, strlen(cur), 5, 4};
            redisReply *r = conn_command_argv(f->dst, 4, argv, lens);
            if (!r) return fail(f, "%s", conn_errstr(f->dst));
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
                freeReplyObject(r);
                return fail(f, "%s answered SCAN unexpectedly while ferry cleared the followed keys", f->tlabel);
            }
            util_strlcpy(cur, r->element[0]->str, sizeof(cur));
            const redisReply *keys = r->element[1];
            for (size_t i = 0; i < keys->elements; i++) {
                if (!filter_key(&f->o->filter, keys->element[i]->str, keys->element[i]->len)) continue;
                const char *a[2] = {"UNLINK", keys->element[i]->str};
                size_t l[2] = {6, keys->element[i]->len};
                if (send_cmd(f, 2, a, l) != 0) {
                    freeReplyObject(r);
                    return -1;
                }
                removed++;
            }
            freeReplyObject(r);
            if (collect(f) != 0) return -1;
        } while (strcmp(cur, "0") && !f->stop);
    }
    f->dirty = 0;
    flog(f, EV_INFO, "%llu followed keys cleared from %s before the new snapshot", (unsigned long long)removed, f->tlabel);
    return 0;
}

/* Reads the snapshot after +FULLRESYNC and applies it. leftover: the first
 * bytes of the stream, fed to rr. */
static int load_snapshot(Follower *f, redisReader *rr, long long *fed) {
    set_state(f, FOLLOW_SNAPSHOT);
    char line[128];
    int lr = read_line(f, line, sizeof(line));
    if (lr == -2) return -2;
    if (lr != 0) return -1;
    char err[FERRY_ERR_LEN];
    RdbReader *r = rdb_reader_new(snap_read, f, f->slabel, 0);
    if (!r) return fail(f, "out of memory");
    if (rdb_reader_set_framing(r, line, strlen(line), err, sizeof(err)) != 0) {
        rdb_reader_free(r);
        return fail(f, "%s: %s", f->slabel, err);
    }
    if (line[1] != 'E') f->st.snapshot_size = strtoull(line + 1, NULL, 10);
    f->st.snapshot_bytes = 0;
    rdb_reader_set_want(r, snap_want, f);
    RdbEvent ev;
    int rc, last_pub = 0;
    uint64_t keys = 0;
    while ((rc = rdb_next(r, &ev, err, sizeof(err))) == 1) {
        if (ev.type == RDB_EV_KEY && ev.payload) {
            if (ev.expire_ms > 0 && ev.expire_ms <= util_now_ms()) {
                f->st.snapshot_expired++;
                continue;
            }
            if (select_dst(f, map_db(f, ev.db)) != 0) break;
            int kr = restore_key(f, &ev, rdb_reader_version(r), rdb_reader_is_valkey(r));
            if (kr < 0) break;
            if (kr == 0) {
                f->st.snapshot_keys++;
                keys++;
            }
        } else if (ev.type == RDB_EV_FUNCTION) {
            const char *argv[4] = {"FUNCTION", "LOAD", "REPLACE", ev.value};
            size_t lens[4] = {8, 4, 7, ev.valuelen};
            if (send_cmd(f, 4, argv, lens) != 0) break;
        } else if (ev.type == RDB_EV_END) {
            break;
        }
        if ((int)(keys / 1000) != last_pub) {
            last_pub = (int)(keys / 1000);
            publish(f);
        }
    }
    if (f->st.state == FOLLOW_FAILED) {
        rdb_reader_free(r);
        return -1;
    }
    if (rc < 0) {
        rdb_reader_free(r);
        if (f->stop) return -2;
        return fail(f, "snapshot from %s: %s; the target holds part of it: empty the target's dbs and rerun ferry follow, "
                       "or rerun with --on-conflict replace", f->slabel, err);
    }
    if (collect(f) != 0) {
        rdb_reader_free(r);
        return -1;
    }
    const unsigned char *lo;
    size_t lolen;
    rdb_reader_leftover(r, &lo, &lolen);
    if (lolen && redisReaderFeed(rr, (const char *)lo, lolen) != REDIS_OK) {
        rdb_reader_free(r);
        return fail(f, "out of memory");
    }
    *fed += (long long)lolen;
    rdb_reader_free(r);
    f->have_data = 1;
    flog(f, EV_INFO, "snapshot applied: %llu keys restored (%llu of them rebuilt with type commands), %llu already expired, "
                     "%llu outside the db map and filters",
         (unsigned long long)f->st.snapshot_keys, (unsigned long long)f->st.snapshot_typed,
         (unsigned long long)f->st.snapshot_expired, (unsigned long long)f->st.snapshot_filtered);
    return 0;
}

/* ---- stream ------------------------------------------------------------------------ */

static int is(const redisReply *a, const char *s) {
    return a->type == REDIS_REPLY_STRING && !strcasecmp(a->str, s);
}

/* Applies one command of the stream (already decided to be applied) with
 * argv rewritten where a db number must be mapped. */
static int forward(Follower *f, const redisReply *cmd, int skip_select) {
    int argc = (int)cmd->elements;
    const char *stack_argv[16];
    size_t stack_lens[16];
    const char **argv = argc <= 16 ? stack_argv : malloc(sizeof(*argv) * argc);
    size_t *lens = argc <= 16 ? stack_lens : malloc(sizeof(*lens) * argc);
    if (!argv || !lens) {
        if (argc > 16) {
            free(argv);
            free(lens);
        }
        return fail(f, "out of memory");
    }
    for (int i = 0; i < argc; i++) {
        argv[i] = cmd->element[i]->str;
        lens[i] = cmd->element[i]->len;
    }
    int rc = skip_select ? 0 : select_dst(f, map_db(f, f->src_db));
    if (rc == 0) rc = send_cmd(f, argc, argv, lens);
    if (argc > 16) {
        free(argv);
        free(lens);
    }
    return rc;
}

/* Commands that name dbs. Returns 1 when handled here. */
static int db_command(Follower *f, const redisReply *cmd, const char *name, int *rc) {
    int argc = (int)cmd->elements;
    char a[16], b[16];
    if (!strcmp(name, "move") && argc == 3) {
        int to = map_db(f, atoi(cmd->element[2]->str));
        if (select_dst(f, map_db(f, f->src_db)) != 0) return *rc = -1, 1;
        if (to < 0) { /* the key leaves the followed keyspace */
            const char *argv[2] = {"DEL", cmd->element[1]->str};
            size_t lens[2] = {3, cmd->element[1]->len};
            *rc = send_cmd(f, 2, argv, lens);
        } else {
            int l = snprintf(a, sizeof(a), "%d", to);
            const char *argv[3] = {"MOVE", cmd->element[1]->str, a};
            size_t lens[3] = {4, cmd->element[1]->len, (size_t)l};
            *rc = send_cmd(f, 3, argv, lens);
        }
        f->st.commands++;
        return 1;
    }
    if (!strcmp(name, "swapdb") && argc == 3) {
        int x = map_db(f, atoi(cmd->element[1]->str)), y = map_db(f, atoi(cmd->element[2]->str));
        if (x < 0 || y < 0 || f->filtering) {
            flog(f, EV_WARN, "SWAPDB %s %s on the source not applied to %s: both dbs must be followed, without filters; the target now differs",
                 cmd->element[1]->str, cmd->element[2]->str, f->tlabel);
            f->st.dropped++;
            *rc = 0;
            return 1;
        }
        int la = snprintf(a, sizeof(a), "%d", x), lb = snprintf(b, sizeof(b), "%d", y);
        const char *argv[3] = {"SWAPDB", a, b};
        size_t lens[3] = {6, (size_t)la, (size_t)lb};
        *rc = send_cmd(f, 3, argv, lens);
        f->st.commands++;
        return 1;
    }
    if (!strcmp(name, "flushall") || !strcmp(name, "flushdb")) {
        int all = name[5] == 'a';
        if (f->filtering || (all && f->o->dbmap.n > 0)) {
            if (!f->filtering && all) { /* FLUSHDB of every mapped target db */
                *rc = 0;
                for (int i = 0; i < f->o->dbmap.n && *rc == 0; i++) {
                    if (select_dst(f, f->o->dbmap.dst[i]) != 0) return *rc = -1, 1;
                    const char *argv[1] = {"FLUSHDB"};
                    size_t lens[1] = {7};
                    *rc = send_cmd(f, 1, argv, lens);
                }
                f->st.commands++;
                return 1;
            }
            flog(f, EV_WARN, "%s on the source not applied to %s: with --match/--exclude it would delete keys ferry does not follow; delete the followed keys by hand",
                 all ? "FLUSHALL" : "FLUSHDB", f->tlabel);
            f->st.dropped++;
            *rc = 0;
            return 1;
        }
        *rc = forward(f, cmd, all);
        f->st.commands++;
        return 1;
    }
    if (!strcmp(name, "copy")) {
        for (int i = 3; i + 1 < argc; i++) {
            if (!is(cmd->element[i], "db")) continue;
            int to = map_db(f, atoi(cmd->element[i + 1]->str));
            if (to < 0) {
                f->st.dropped++;
                *rc = 0;
                return 1;
            }
            const char *argv[16];
            size_t lens[16];
            if (argc > 16) return 0;
            for (int j = 0; j < argc; j++) {
                argv[j] = cmd->element[j]->str;
                lens[j] = cmd->element[j]->len;
            }
            int l = snprintf(a, sizeof(a), "%d", to);
            argv[i + 1] = a;
            lens[i + 1] = (size_t)l;
            *rc = select_dst(f, map_db(f, f->src_db));
            if (*rc == 0) *rc = send_cmd(f, argc, argv, lens);
            f->st.commands++;
            return 1;
        }
    }
    return 0;
}

static int apply_command(Follower *f, const redisReply *cmd) {
    if (cmd->type != REDIS_REPLY_ARRAY || cmd->elements == 0) return 0; /* not a command: ignored, counted */
    for (size_t i = 0; i < cmd->elements; i++)
        if (cmd->element[i]->type != REDIS_REPLY_STRING)
            return fail(f, "%s sent a replication command ferry cannot read (argument %zu is not a bulk string)", f->slabel, i);
    char name[64];
    util_strlcpy(name, cmd->element[0]->str, sizeof(name));
    lower(name);
    if (!strcmp(name, "ping")) return 0;
    if (!strcmp(name, "replconf")) {
        if (cmd->elements >= 2 && is(cmd->element[1], "getack")) f->want_ack = 1;
        return 0;
    }
    if (!strcmp(name, "select")) {
        if (cmd->elements == 2) f->src_db = atoi(cmd->element[1]->str);
        return 0;
    }
    if (!strcmp(name, "multi") || !strcmp(name, "exec")) {
        f->in_multi = name[0] == 'm';
        /* SELECT before MULTI so that the transaction's db is the right one. */
        if (f->in_multi && map_db(f, f->src_db) >= 0 && select_dst(f, map_db(f, f->src_db)) != 0) return -1;
        return forward(f, cmd, 1);
    }
    if (map_db(f, f->src_db) < 0) {
        if (!strcmp(name, "move") && cmd->elements == 3 && map_db(f, atoi(cmd->element[2]->str)) >= 0)
            flog(f, EV_WARN, "MOVE of \"%.60s\" from db %d (not followed) into db %s (followed): the key is not on %s",
                 cmd->element[1]->str, f->src_db, cmd->element[2]->str, f->tlabel);
        f->st.dropped++;
        return 0;
    }
    int rc;
    if (f->filtering) {
        int kept, dropped;
        const char *kk = NULL, *dk = NULL;
        classify_keys(f, cmd, name, &kept, &dropped, &kk, &dk);
        if (dropped && !kept) {
            f->st.dropped++;
            return 0;
        }
        if (dropped && kept) {
            f->st.mixed++;
            if (f->mixed_logged++ < FOLLOW_LOG_ERRORS)
                flog(f, EV_WARN, "%s touches keys the filters keep (\"%.40s\") and drop (\"%.40s\"): applied whole to %s",
                     cmd->element[0]->str, kk, dk, f->tlabel);
        }
    }
    if (db_command(f, cmd, name, &rc)) return rc;
    f->st.commands++;
    return forward(f, cmd, 0);
}

/* The source's own offset, for the lag the console shows: one INFO
 * replication a second on the control connection. A failure only blanks
 * the figure (the link that matters is the replication one). */
static void sample_source(Follower *f, int64_t now) {
    f->sampled_ms = now;
    ReplInfo ri;
    char err[FERRY_ERR_LEN];
    if (repl_fetch(f->ctl, &ri, err, sizeof(err)) == 0) {
        f->st.source_offset = ri.master_repl_offset;
        f->st.source_offset_ms = now;
    } else {
        f->st.source_offset = -1;
        if (conn_broken(f->ctl)) conn_reconnect(f->ctl, 1, &f->stop);
    }
}

/* Applies the stream until the link breaks (-1 with f->st.error, state
 * not failed), a fatal error (state FAILED) or stop (-2). */
static int stream(Follower *f, redisReader *rr, long long base, long long fed) {
    set_state(f, FOLLOW_STREAMING);
    char *buf = malloc(FOLLOW_READ_CHUNK);
    if (!buf) return fail(f, "out of memory");
    int rc = 0;
    f->last_ack_ms = 0;
    while (!f->stop) {
        /* Everything complete in the reader: sent to the target. */
        long long end = -1;
        for (;;) {
            void *reply = NULL;
            if (redisReaderGetReply(rr, &reply) != REDIS_OK) {
                rc = fail(f, "%s sent a replication stream ferry cannot parse (%s) at offset %lld", f->slabel, rr->errstr,
                          f->processed);
                break;
            }
            if (!reply) break;
            int arc = apply_command(f, reply);
            freeReplyObject(reply);
            if (arc != 0) {
                rc = -1;
                break;
            }
            end = base + fed - (long long)(rr->len - rr->pos);
            if (!f->in_multi) {
                /* A boundary outside a transaction: remember it once answered. */
                if (conn_pending(f->dst) >= FOLLOW_BATCH / 2) {
                    if (collect(f) != 0) {
                        rc = -1;
                        break;
                    }
                    f->processed = f->applied = end;
                    f->applied_db = f->src_db;
                    f->dirty = 0;
                }
            }
        }
        if (rc != 0) break;
        if (end >= 0) {
            if (collect(f) != 0) {
                rc = -1;
                break;
            }
            f->processed = end;
            if (!f->in_multi) {
                f->applied = end;
                f->applied_db = f->src_db;
                f->dirty = 0;
            }
            f->st.received = base + fed;
            publish(f);
        }
        int64_t now = util_mono_ms();
        if (!f->in_multi && now - f->dst_io_ms >= f->ack_interval_ms) {
            /* Keeps the target connection from an idle timeout (and finds a
             * dead one while nothing is in flight). */
            const char *argv[1] = {"PING"};
            size_t lens[1] = {4};
            if (send_cmd(f, 1, argv, lens) != 0 || collect(f) != 0) {
                rc = -1;
                break;
            }
            f->dirty = 0; /* every command before the PING is in applied already */
        }
        if (now - f->sampled_ms >= 1000) sample_source(f, now);
        if (f->want_ack || now - f->last_ack_ms >= f->ack_interval_ms ||
            (f->applied != f->last_acked && now - f->last_ack_ms >= FOLLOW_ACK_SOON_MS)) {
            f->want_ack = 0;
            if (send_ack(f) != 0) {
                util_strlcpy(f->st.error, conn_errstr(f->src), sizeof(f->st.error));
                rc = -1;
                break;
            }
            publish(f);
        }
        ssize_t n = conn_read_raw(f->src, buf, FOLLOW_READ_CHUNK, FOLLOW_POLL_MS);
        if (n < 0) {
            util_strlcpy(f->st.error, conn_errstr(f->src), sizeof(f->st.error));
            rc = -1;
            break;
        }
        if (n == 0) continue;
        f->st.last_io_ms = util_mono_ms();
        if (redisReaderFeed(rr, buf, (size_t)n) != REDIS_OK) {
            rc = fail(f, "out of memory");
            break;
        }
        fed += n;
    }
    free(buf);
    if (rc == 0 && f->stop) return -2;
    return rc;
}

/* ---- the thread ------------------------------------------------------------------------ */

/* One connection to the source, handshake, PSYNC and everything after it,
 * until the link breaks (-1, state not FAILED), a fatal error (FAILED) or
 * stop (-2). */
static int session(Follower *f) {
    redisReply *r = handshake_cmd(f, "REPLCONF listening-port %d", f->listening_port);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        fail(f, "%s refused REPLCONF (%.100s): the source must allow ferry's user to replicate (SYNC/PSYNC, REPLCONF); "
                "a managed source that forbids it cannot be followed, use ferry copy or --source-rdb instead", f->slabel, r->str);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    r = handshake_cmd(f, "REPLCONF capa eof capa psync2");
    if (!r) return -1;
    freeReplyObject(r);
    char off[32];
    if (f->replid[0])
        snprintf(off, sizeof(off), "%lld", f->processed + 1);
    r = f->replid[0] ? handshake_cmd(f, "PSYNC %s %s", f->replid, off) : handshake_cmd(f, "PSYNC ? -1");
    if (!r) return -1;
    redisReader *rr = redisReaderCreate();
    if (!rr) {
        freeReplyObject(r);
        return fail(f, "out of memory");
    }
    rr->maxbuf = 0;
    long long base, fed = 0;
    int rc;
    if (r->type == REDIS_REPLY_ERROR) {
        char e[FERRY_ERR_LEN];
        snprintf(e, sizeof(e), "%s refused PSYNC (%.100s)", f->slabel, r->str);
        int noperm = !strncmp(r->str, "NOPERM", 6);
        freeReplyObject(r);
        redisReaderFree(rr);
        if (noperm)
            return fail(f, "%s: ferry's user needs the PSYNC and REPLCONF commands on the source", e);
        util_strlcpy(f->st.error, e, sizeof(f->st.error));
        return -1; /* LOADING, NOMASTERLINK…: try again */
    }
    if (!strncmp(r->str, "FULLRESYNC ", 11)) {
        char id[48];
        long long o;
        if (sscanf(r->str + 11, "%47s %lld", id, &o) != 2) {
            freeReplyObject(r);
            redisReaderFree(rr);
            return fail(f, "%s answered PSYNC with \"%.80s\": not a replication handshake ferry knows", f->slabel, r->str);
        }
        freeReplyObject(r);
        f->st.full_syncs++;
        if (f->have_data) {
            if (f->o->on_conflict != CONFLICT_REPLACE) {
                redisReaderFree(rr);
                return fail(f, "%s could not continue the replication stream at offset %lld (PSYNC %s answered FULLRESYNC: its backlog no longer holds it); "
                               "the target already has the first snapshot, so ferry stops instead of overwriting it: flush the target's dbs and rerun ferry follow, "
                               "or rerun with --on-conflict replace (raise repl-backlog-size on the source to avoid this)",
                            f->slabel, f->processed + 1, f->replid);
            }
            flog(f, EV_WARN, "%s answered FULLRESYNC instead of continuing at offset %lld: the followed keys on the target are cleared "
                             "and a new snapshot loaded (--on-conflict replace)",
                 f->slabel, f->processed + 1);
            if (f->in_multi) {
                const char *argv[1] = {"DISCARD"};
                size_t lens[1] = {7};
                send_cmd(f, 1, argv, lens);
                f->in_multi = 0;
                if (collect(f) != 0) {
                    redisReaderFree(rr);
                    return -1;
                }
            }
        }
        if ((f->have_data || f->clear_first) && clear_followed(f) != 0) {
            redisReaderFree(rr);
            return -1;
        }
        f->clear_first = 0;
        util_strlcpy(f->replid, id, sizeof(f->replid));
        f->src_db = -1;
        base = o;
        f->processed = o;
        f->applied = -1; /* until the snapshot is in: a saved position says "incomplete" */
        state_write(f, 0);
        flog(f, EV_INFO, "%s: full resync, replication id %s offset %lld; loading its snapshot", f->slabel, id, o);
        rc = load_snapshot(f, rr, &fed);
        if (rc == 0) {
            f->applied = f->processed;
            f->applied_db = -1; /* the stream after a full sync starts with SELECT */
            f->dirty = 0;
            f->st.received = f->processed;
            state_write(f, 0);
            publish(f);
        }
    } else if (!strncmp(r->str, "CONTINUE", 8)) {
        char id[48] = "";
        if (sscanf(r->str + 8, "%47s", id) == 1 && strcmp(id, f->replid)) {
            flog(f, EV_INFO, "%s continues under a new replication id %s (was %s)", f->slabel, id, f->replid);
            util_strlcpy(f->replid, id, sizeof(f->replid));
        }
        freeReplyObject(r);
        f->st.partial_syncs++;
        base = f->processed;
        f->st.received = f->processed;
        flog(f, EV_INFO, "%s: partial resync accepted, continuing at offset %lld", f->slabel, f->processed + 1);
        rc = 0;
    } else {
        char e[FERRY_ERR_LEN];
        snprintf(e, sizeof(e), "%s answered PSYNC with \"%.80s\": not a replication handshake ferry knows", f->slabel, r->str);
        freeReplyObject(r);
        redisReaderFree(rr);
        return fail(f, "%s", e);
    }
    if (rc == 0) rc = stream(f, rr, base, fed);
    redisReaderFree(rr);
    return rc;
}

/* The thread's end: every reply collected, the position saved as clean
 * when the target holds exactly the stream up to the applied offset. */
static void finish(Follower *f) {
    if (conn_pending(f->dst) > 0 && collect(f) != 0) f->uncertain = 1;
    if (f->st.state != FOLLOW_FAILED) set_state(f, FOLLOW_STOPPED);
    if (f->applied >= 0) state_write(f, !f->uncertain && !f->dirty);
}

static void *follow_main(void *arg) {
    Follower *f = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    char err[FERRY_ERR_LEN];
    ConnConfig sc = f->o->source, tc = f->o->target;
    sc.uri.db = -1;
    tc.uri.db = -1;
    util_strlcpy(sc.client_name, "ferry-follow", sizeof(sc.client_name));
    util_strlcpy(tc.client_name, "ferry-follow", sizeof(tc.client_name));
    set_state(f, FOLLOW_CONNECTING);
    f->dst = conn_open(&tc, err, sizeof(err));
    if (!f->dst) {
        fail(f, "%s", err);
        return NULL;
    }
    util_strlcpy(sc.client_name, "ferry-follow-ctl", sizeof(sc.client_name));
    f->ctl = conn_open(&sc, err, sizeof(err));
    if (!f->ctl) {
        fail(f, "%s", err);
        return NULL;
    }
    ServerInfo di;
    if (serverinfo_fetch(f->dst, &di, err, sizeof(err)) != 0) {
        fail(f, "%s", err);
        return NULL;
    }
    f->dst_rdb = di.rdb_version;
    f->dst_version = di.major * 100 + di.minor;
    f->dst_valkey = !strcmp(di.server_name, "valkey");
    if (load_commands(f) != 0 || (!f->have_data && check_target_empty(f, &di) != 0)) return NULL;
    if (f->st.resumed) {
        state_write(f, 0); /* running: a crash from here on leaves an unclean position */
        flog(f, EV_INFO, "continuing from the position saved in %s: replication id %s, offset %lld", f->state_path, f->replid,
             f->applied);
    }
    util_strlcpy(sc.client_name, "ferry-follow", sizeof(sc.client_name));
    f->src = conn_open(&sc, err, sizeof(err));
    if (!f->src) {
        fail(f, "%s", err);
        finish(f);
        return NULL;
    }
    int64_t backoff = FOLLOW_POLL_MS;
    for (;;) {
        long long before = f->processed;
        int rc = session(f);
        if (rc == -2 || f->stop) break;
        if (f->st.state == FOLLOW_FAILED) break;
        /* The link broke: resume. Back off while no progress is made (a
         * source that keeps refusing PSYNC, e.g. while it is loading). */
        if (conn_pending(f->dst) > 0 && collect(f) != 0) break;
        backoff = f->processed != before ? FOLLOW_POLL_MS
                  : backoff * 2 > FOLLOW_BACKOFF_MAX_MS ? FOLLOW_BACKOFF_MAX_MS : backoff * 2;
        f->st.state = FOLLOW_RECONNECTING;
        publish(f);
        if (f->processed >= 0)
            flog(f, EV_WARN, "link to the source lost (%s); reconnecting to resume at offset %lld", f->st.error,
                 f->processed + 1);
        else
            flog(f, EV_WARN, "no replication link to the source yet (%s); trying again", f->st.error);
        f->st.error[0] = '\0';
        for (int64_t slept = 0; slept < backoff && !f->stop; slept += 20) util_sleep_ms(20);
        if (f->stop || conn_reconnect(f->src, 0, &f->stop) != 0) break;
        f->st.state = FOLLOW_CONNECTING;
        publish(f);
    }
    finish(f);
    return NULL;
}

/* ---- API ------------------------------------------------------------------------------- */

static void follow_free(Follower *f) {
    if (f->src) conn_close(f->src);
    if (f->ctl) conn_close(f->ctl);
    if (f->dst) conn_close(f->dst);
    for (int i = 0; i < f->ncmds; i++) free(f->cmds[i].name);
    free(f->cmds);
    if (f->lock_fd >= 0) {
        char lp[4096];
        snprintf(lp, sizeof(lp), "%s.lock", f->state_path);
        unlink(lp);
        close(f->lock_fd);
    }
    free((char *)f->state_path);
    free(f->scratch);
    eventlog_destroy(&f->log);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

Follower *follow_start(const FollowOptions *o, char *err, size_t errlen) {
    if (!o->copy) {
        util_err(err, errlen, "internal error: follow_start without options");
        return NULL;
    }
    if (o->copy->filter.types) {
        util_err(err, errlen, "follow cannot filter by type (a replicated command does not say its key's type): drop --type, "
                              "select keys with --match/--exclude");
        return NULL;
    }
    Follower *f = calloc(1, sizeof(*f));
    if (!f) {
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    f->o = o->copy;
    f->listening_port = o->listening_port > 0 ? o->listening_port : o->copy->target.uri.port;
    if (f->listening_port <= 0) f->listening_port = 6379;
    f->ack_interval_ms = o->ack_interval_ms > 0 ? o->ack_interval_ms : 1000;
    f->filtering = o->copy->filter.ninclude > 0 || o->copy->filter.nexclude > 0;
    f->src_db = f->dst_db = -1;
    f->processed = f->applied = -1;
    f->last_acked = -1;
    f->st.offset = f->st.received = f->st.acked = f->st.source_offset = -1;
    uri_format_redacted(&o->copy->source.uri, f->slabel, sizeof(f->slabel) - 8);
    uri_format_redacted(&o->copy->target.uri, f->tlabel, sizeof(f->tlabel) - 8);
    memmove(f->slabel + 7, f->slabel, strlen(f->slabel) + 1);
    memcpy(f->slabel, "source ", 7);
    memmove(f->tlabel + 7, f->tlabel, strlen(f->tlabel) + 1);
    memcpy(f->tlabel, "target ", 7);
    f->applied_db = -1;
    f->lock_fd = -1;
    pthread_mutex_init(&f->lock, NULL);
    eventlog_init(&f->log);
    if (o->state_path && !(f->state_path = strdup(o->state_path))) {
        util_err(err, errlen, "out of memory");
        follow_free(f);
        return NULL;
    }
    progress_json_escape(f->slabel + 7, f->sjson, sizeof(f->sjson));
    progress_json_escape(f->tlabel + 7, f->tjson, sizeof(f->tjson));
    if (f->state_path && state_lock(f, err, errlen) != 0) {
        follow_free(f);
        return NULL;
    }
    if (o->resume && f->state_path) {
        int rc = state_load(f, err, errlen);
        if (rc < 0) {
            follow_free(f);
            return NULL;
        }
        f->clear_first = rc == 1;
        if (rc == 1)
            flog(f, EV_WARN, "the position saved in %s cannot be continued (an unfinished snapshot, or ferry stopped without "
                             "closing the follower): loading a new snapshot over the target (--on-conflict replace)",
                 f->state_path);
    }
    f->pub = f->st;
    if (pthread_create(&f->th, NULL, follow_main, f) != 0) {
        util_err(err, errlen, "cannot start the follower thread");
        follow_free(f);
        return NULL;
    }
    return f;
}

void follow_stop(Follower *f) {
    if (!f) return;
    f->stop = 1;
    pthread_join(f->th, NULL);
    follow_free(f);
}

void follow_status(Follower *f, FollowStatus *out) {
    pthread_mutex_lock(&f->lock);
    *out = f->pub;
    pthread_mutex_unlock(&f->lock);
}

int follow_events(Follower *f, uint64_t after_seq, Event *out, int max) {
    return eventlog_copy(&f->log, after_seq, out, max);
}
