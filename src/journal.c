/* journal — JSON-lines audit log and resume record. Writing: one record =
 * one write() of one line under a mutex, then fsync(); the file is opened
 * O_APPEND so concurrent writers (the runner, the copy's checkpoint
 * callback) never interleave. Reading: a small JSON parser that keeps only
 * what resuming needs. See journal.h for the record types. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct Journal {
    int fd;
    char path[1024];
    pthread_mutex_t lock;
};

/* ---------------------------------------------------------------- writing */

static void fsync_dir_of(const char *path) {
    char copy[1024];
    util_strlcpy(copy, path, sizeof(copy));
    int d = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        fsync(d);
        close(d);
    }
}

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

Journal *journal_open(const char *path, char *err, size_t errlen) {
    struct stat st;
    int existed = stat(path, &st) == 0;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        util_err(err, errlen, "cannot open the journal %s: %s; choose a writable --journal path", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        char last;
        if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
            /* A torn record from a killed process: end its line so ours is clean. */
            if (write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
                util_err(err, errlen, "cannot write the journal %s: %s", path, strerror(errno));
                close(fd);
                return NULL;
            }
        }
    }
    if (!existed) fsync_dir_of(path);
    Journal *j = calloc(1, sizeof(*j));
    if (!j) {
        close(fd);
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    j->fd = fd;
    util_strlcpy(j->path, path, sizeof(j->path));
    pthread_mutex_init(&j->lock, NULL);
    return j;
}

void journal_close(Journal *j) {
    if (!j) return;
    close(j->fd);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

const char *journal_path(const Journal *j) { return j->path; }

void journal_escape(const char *text, char *buf, size_t len) {
    size_t o = 0;
    if (!len) return;
    for (const unsigned char *p = (const unsigned char *)text; *p && o + 7 < len; p++) {
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\u%04x", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o] = '\0';
}

static void jrec_raw(JRec *r, const char *s, size_t n) {
    if (r->oom) return;
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n + 1) cap *= 2;
        char *nb = realloc(r->buf, cap);
        if (!nb) {
            r->oom = 1;
            return;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

static void jrec_rawf(JRec *r, const char *s) { jrec_raw(r, s, strlen(s)); }

static void jrec_quoted(JRec *r, const char *s) {
    size_t n = strlen(s);
    char *esc = malloc(n * 6 + 1);
    if (!esc) {
        r->oom = 1;
        return;
    }
    journal_escape(s, esc, n * 6 + 1);
    jrec_rawf(r, "\"");
    jrec_rawf(r, esc);
    jrec_rawf(r, "\"");
    free(esc);
}

static void jrec_key(JRec *r, const char *key) {
    if (!r->first) jrec_rawf(r, ",");
    r->first = 0;
    if (key) {
        jrec_quoted(r, key);
        jrec_rawf(r, ":");
    }
}

static void iso_time(char *buf, size_t len, int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

void jrec_begin(JRec *r, const char *type, const char *run_id) {
    memset(r, 0, sizeof(*r));
    r->first = 1;
    jrec_rawf(r, "{");
    jrec_str(r, "type", type);
    jrec_str(r, "run", run_id ? run_id : "");
    char t[40];
    iso_time(t, sizeof(t), util_now_ms());
    jrec_str(r, "time", t);
}

void jrec_str(JRec *r, const char *key, const char *val) {
    jrec_key(r, key);
    jrec_quoted(r, val ? val : "");
}

void jrec_int(JRec *r, const char *key, long long v) {
    char b[32];
    snprintf(b, sizeof(b), "%lld", v);
    jrec_key(r, key);
    jrec_rawf(r, b);
}

void jrec_u64(JRec *r, const char *key, uint64_t v) {
    char b[32];
    snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    jrec_key(r, key);
    jrec_rawf(r, b);
}

void jrec_bool(JRec *r, const char *key, int v) {
    jrec_key(r, key);
    jrec_rawf(r, v ? "true" : "false");
}

void jrec_obj_begin(JRec *r, const char *key) {
    jrec_key(r, key);
    jrec_rawf(r, "{");
    r->first = 1;
    if (r->depth < (int)sizeof(r->open)) r->open[r->depth++] = '{';
}

void jrec_arr_begin(JRec *r, const char *key) {
    jrec_key(r, key);
    jrec_rawf(r, "[");
    r->first = 1;
    if (r->depth < (int)sizeof(r->open)) r->open[r->depth++] = '[';
}

void jrec_item(JRec *r, const char *val) {
    jrec_key(r, NULL);
    jrec_quoted(r, val ? val : "");
}

void jrec_end(JRec *r) {
    if (r->depth <= 0) return;
    char s[2] = {r->open[--r->depth] == '[' ? ']' : '}', 0};
    jrec_rawf(r, s);
    r->first = 0;
}

void jrec_free(JRec *r) {
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

int journal_write(Journal *j, JRec *r, char *err, size_t errlen) {
    while (r->depth > 0) jrec_end(r);
    jrec_rawf(r, "}\n");
    if (r->oom) {
        jrec_free(r);
        return util_err(err, errlen, "out of memory while writing the journal");
    }
    pthread_mutex_lock(&j->lock);
    int rc = write_all(j->fd, r->buf, r->len);
    if (rc == 0) rc = fsync(j->fd);
    int e = errno;
    pthread_mutex_unlock(&j->lock);
    jrec_free(r);
    if (rc != 0)
        return util_err(err, errlen, "cannot write the journal %s: %s; free space there, then resume with --resume %s",
                        j->path, strerror(e), j->path);
    return 0;
}

void journal_new_run_id(char *buf, size_t len) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y%m%d-%H%M%S", &tm);
    unsigned rnd = 0;
    if (getentropy(&rnd, sizeof(rnd)) != 0) rnd = (unsigned)getpid() ^ (unsigned)util_mono_us();
    snprintf(buf, len, "%s-%04x", base, rnd & 0xffff);
}

/* ---------------------------------------------------------------- reading */

#define JMAX_FIELDS 48
#define JMAX_ITEMS RUNBOOK_MAX_STEPS

typedef enum { JT_NONE = 0, JT_STR, JT_NUM, JT_BOOL, JT_NULL, JT_OBJ, JT_ARR } JType;

typedef struct JField {
    const char *key;
    JType type;
    const char *str; /* JT_STR: decoded; JT_NUM: text; JT_BOOL: "true"/"false" */
    int nitems;      /* JT_ARR of strings */
    const char *items[JMAX_ITEMS];
} JField;

typedef struct JLine {
    const char *p;
    char *scratch; /* decoded strings live here */
    size_t used;
    int nfields;
    JField f[JMAX_FIELDS];
} JLine;

static void jskip(JLine *l) {
    while (*l->p == ' ' || *l->p == '\t' || *l->p == '\r' || *l->p == '\n') l->p++;
}

static void jput_utf8(JLine *l, unsigned cp) {
    char *o = l->scratch + l->used;
    if (cp < 0x80) {
        o[0] = (char)cp;
        l->used += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        l->used += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        l->used += 3;
    } else {
        o[0] = (char)(0xf0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        l->used += 4;
    }
}

static int jhex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* A string into scratch (a \uXXXX escape is never shorter than its UTF-8). */
static const char *jstring(JLine *l) {
    if (*l->p != '"') return NULL;
    l->p++;
    const char *start = l->scratch + l->used;
    for (;;) {
        unsigned char c = (unsigned char)*l->p;
        if (!c || c < 0x20) return NULL;
        l->p++;
        if (c == '"') break;
        if (c != '\\') {
            l->scratch[l->used++] = (char)c;
            continue;
        }
        char e = *l->p++;
        switch (e) {
        case '"': case '\\': case '/': l->scratch[l->used++] = e; break;
        case 'b': l->scratch[l->used++] = '\b'; break;
        case 'f': l->scratch[l->used++] = '\f'; break;
        case 'n': l->scratch[l->used++] = '\n'; break;
        case 'r': l->scratch[l->used++] = '\r'; break;
        case 't': l->scratch[l->used++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (jhex4(l->p, &cp) != 0) return NULL;
            l->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && l->p[0] == '\\' && l->p[1] == 'u') {
                unsigned lo;
                if (jhex4(l->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    l->p += 6;
                }
            }
            jput_utf8(l, cp);
            break;
        }
        default: return NULL;
        }
    }
    l->scratch[l->used++] = '\0';
    return start;
}

static int jvalue(JLine *l, JField *f, int depth);

static int jnumber(JLine *l, const char **out) {
    const char *s = l->p;
    if (*l->p == '-') l->p++;
    if (*l->p < '0' || *l->p > '9') return -1;
    while (*l->p >= '0' && *l->p <= '9') l->p++;
    if (*l->p == '.') {
        l->p++;
        if (*l->p < '0' || *l->p > '9') return -1;
        while (*l->p >= '0' && *l->p <= '9') l->p++;
    }
    if (*l->p == 'e' || *l->p == 'E') {
        l->p++;
        if (*l->p == '+' || *l->p == '-') l->p++;
        if (*l->p < '0' || *l->p > '9') return -1;
        while (*l->p >= '0' && *l->p <= '9') l->p++;
    }
    size_t n = (size_t)(l->p - s);
    char *o = l->scratch + l->used;
    memcpy(o, s, n);
    o[n] = '\0';
    l->used += n + 1;
    *out = o;
    return 0;
}

/* Objects below the top level and arrays are validated; arrays of strings
 * are kept in f->items. */
static int jcontainer(JLine *l, JField *f, int depth, char open) {
    char close = open == '{' ? '}' : ']';
    if (depth > 16) return -1;
    l->p++;
    jskip(l);
    if (*l->p == close) {
        l->p++;
        return 0;
    }
    for (;;) {
        jskip(l);
        JField sub;
        memset(&sub, 0, sizeof(sub));
        if (open == '{') {
            if (!jstring(l)) return -1;
            jskip(l);
            if (*l->p++ != ':') return -1;
            jskip(l);
        }
        if (jvalue(l, &sub, depth + 1) != 0) return -1;
        if (open == '[' && f && sub.type == JT_STR && f->nitems < JMAX_ITEMS) f->items[f->nitems++] = sub.str;
        jskip(l);
        if (*l->p == ',') {
            l->p++;
            continue;
        }
        if (*l->p == close) {
            l->p++;
            return 0;
        }
        return -1;
    }
}

static int jvalue(JLine *l, JField *f, int depth) {
    jskip(l);
    char c = *l->p;
    if (c == '"') {
        f->type = JT_STR;
        return (f->str = jstring(l)) ? 0 : -1;
    }
    if (c == '{') {
        f->type = JT_OBJ;
        return jcontainer(l, NULL, depth, '{');
    }
    if (c == '[') {
        f->type = JT_ARR;
        return jcontainer(l, f, depth, '[');
    }
    if (!strncmp(l->p, "true", 4) || !strncmp(l->p, "false", 5)) {
        f->type = JT_BOOL;
        f->str = c == 't' ? "true" : "false";
        l->p += c == 't' ? 4 : 5;
        return 0;
    }
    if (!strncmp(l->p, "null", 4)) {
        f->type = JT_NULL;
        l->p += 4;
        return 0;
    }
    f->type = JT_NUM;
    return jnumber(l, &f->str);
}

/* Parses one line holding one object. 0 or -1. */
static int jparse_line(JLine *l, const char *text) {
    l->p = text;
    l->used = 0;
    l->nfields = 0;
    jskip(l);
    if (*l->p != '{') return -1;
    l->p++;
    jskip(l);
    if (*l->p == '}') {
        l->p++;
    } else {
        for (;;) {
            jskip(l);
            const char *key = jstring(l);
            if (!key) return -1;
            jskip(l);
            if (*l->p++ != ':') return -1;
            JField tmp, *f = l->nfields < JMAX_FIELDS ? &l->f[l->nfields] : &tmp;
            memset(f, 0, sizeof(*f));
            f->key = key;
            if (jvalue(l, f, 1) != 0) return -1;
            if (f != &tmp) l->nfields++;
            jskip(l);
            if (*l->p == ',') {
                l->p++;
                continue;
            }
            if (*l->p == '}') {
                l->p++;
                break;
            }
            return -1;
        }
    }
    jskip(l);
    return *l->p ? -1 : 0;
}

static const JField *jget(const JLine *l, const char *key) {
    for (int i = 0; i < l->nfields; i++)
        if (!strcmp(l->f[i].key, key)) return &l->f[i];
    return NULL;
}

static const char *jstr(const JLine *l, const char *key) {
    const JField *f = jget(l, key);
    return f && f->type == JT_STR ? f->str : NULL;
}

static uint64_t ju64(const JLine *l, const char *key) {
    const JField *f = jget(l, key);
    return f && f->type == JT_NUM && f->str[0] != '-' ? strtoull(f->str, NULL, 10) : 0;
}

static long long jint(const JLine *l, const char *key, long long dflt) {
    const JField *f = jget(l, key);
    return f && f->type == JT_NUM ? strtoll(f->str, NULL, 10) : dflt;
}

int journal_step_index(const JournalState *st, const char *id) {
    for (int i = 0; i < st->nsteps; i++)
        if (!strcmp(st->steps[i].id, id)) return i;
    return -1;
}

static JournalStepOutcome outcome_from(const char *s) {
    if (!s) return JSTEP_NONE;
    if (!strcmp(s, "done")) return JSTEP_DONE;
    if (!strcmp(s, "failed")) return JSTEP_FAILED;
    if (!strcmp(s, "skipped")) return JSTEP_SKIPPED;
    if (!strcmp(s, "aborted")) return JSTEP_ABORTED;
    return JSTEP_NONE;
}

/* Applies one readable record. -1 + message when it makes no sense. */
static int journal_apply(JournalState *st, const JLine *l, const char *path, int lineno, char *err, size_t errlen) {
    const char *type = jstr(l, "type");
    if (!type) return util_err(err, errlen, "%s:%d: a record without a type: this is not a ferry journal", path, lineno);
    if (st->records == 0 && strcmp(type, "run") != 0)
        return util_err(err, errlen, "%s:%d: a ferry journal starts with a run record: this is not a ferry journal", path, lineno);
    st->records++;
    if (!strcmp(type, "run")) {
        st->attempts++;
        if (st->attempts == 1) {
            const char *v;
            if ((v = jstr(l, "run"))) util_strlcpy(st->run_id, v, sizeof(st->run_id));
            if ((v = jstr(l, "runbook"))) util_strlcpy(st->runbook, v, sizeof(st->runbook));
            if ((v = jstr(l, "source"))) util_strlcpy(st->source, v, sizeof(st->source));
            if ((v = jstr(l, "target"))) util_strlcpy(st->target, v, sizeof(st->target));
            const JField *steps = jget(l, "steps");
            if (!steps || steps->type != JT_ARR || steps->nitems == 0)
                return util_err(err, errlen, "%s:%d: the run record lists no steps", path, lineno);
            for (int i = 0; i < steps->nitems && i < RUNBOOK_MAX_STEPS; i++) {
                util_strlcpy(st->steps[i].id, steps->items[i], sizeof(st->steps[i].id));
                st->nsteps++;
            }
        }
        return 0;
    }
    if (!strcmp(type, "end")) {
        const char *o = jstr(l, "outcome");
        util_strlcpy(st->end_outcome, o ? o : "", sizeof(st->end_outcome));
        return 0;
    }
    const char *step = jstr(l, "step");
    if (!strcmp(type, "start") || !strcmp(type, "step") || !strcmp(type, "checkpoint")) {
        int i = step ? journal_step_index(st, step) : -1;
        if (i < 0)
            return util_err(err, errlen, "%s:%d: a %s record for step \"%s\", which the run record does not list",
                            path, lineno, type, step ? step : "");
        JournalStep *js = &st->steps[i];
        if (!strcmp(type, "start")) {
            js->started = 1;
            js->outcome = JSTEP_STARTED;
            js->continued = 0;
        } else if (!strcmp(type, "step")) {
            js->outcome = outcome_from(jstr(l, "outcome"));
            const JField *c = jget(l, "continued");
            js->continued = c && c->type == JT_BOOL && !strcmp(c->str, "true");
        } else {
            CopyCheckpoint *cp = &js->checkpoint;
            cp->db_index = (int)jint(l, "db_index", 0);
            cp->src_db = (int)jint(l, "src_db", -1);
            cp->dst_db = (int)jint(l, "dst_db", -1);
            cp->cursor = ju64(l, "cursor");
            cp->copied = ju64(l, "copied");
            cp->skipped = ju64(l, "skipped");
            cp->identical = ju64(l, "identical");
            cp->expired = ju64(l, "expired");
            cp->failed = ju64(l, "failed");
            cp->bytes = ju64(l, "bytes");
            js->has_checkpoint = 1;
            st->last_checkpoint_step = i;
        }
    }
    return 0; /* gate, gate-refused, unpause, newer types: audit only */
}

int journal_read(const char *path, JournalState *st, char *err, size_t errlen) {
    memset(st, 0, sizeof(*st));
    st->last_checkpoint_step = -1;
    FILE *f = fopen(path, "r");
    if (!f) return util_err(err, errlen, "cannot read the journal %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, torn_at = 0, rc = 0;
    JLine *jl = calloc(1, sizeof(*jl));
    if (!jl) {
        fclose(f);
        return util_err(err, errlen, "out of memory");
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0) continue;
        free(jl->scratch);
        jl->scratch = malloc((size_t)n * 2 + 16);
        if (!jl->scratch) {
            rc = util_err(err, errlen, "out of memory");
            break;
        }
        int ok = (size_t)n == strlen(line) && jparse_line(jl, line) == 0 && jstr(jl, "type");
        if (!ok) {
            if (torn_at) {
                rc = util_err(err, errlen, "%s:%d: unreadable line (not one JSON record): the journal is damaged beyond a torn last record",
                              path, torn_at);
                break;
            }
            torn_at = lineno;
            continue;
        }
        if (torn_at) {
            /* A torn line is fine only where a killed attempt ended. */
            if (strcmp(jstr(jl, "type"), "run") != 0) {
                rc = util_err(err, errlen, "%s:%d: unreadable line (not one JSON record) in the middle of the journal: it was edited or damaged",
                              path, torn_at);
                break;
            }
            st->torn++;
            torn_at = 0;
        }
        if (journal_apply(st, jl, path, lineno, err, errlen) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && torn_at) {
        if (st->records == 0)
            rc = util_err(err, errlen, "%s:%d: not a ferry journal (the first line is not a JSON record)", path, torn_at);
        else
            st->torn++;
    }
    if (rc == 0 && st->records == 0) rc = util_err(err, errlen, "%s: the journal is empty: nothing to resume", path);
    free(line);
    free(jl->scratch);
    free(jl);
    fclose(f);
    if (rc != 0) return rc;
    st->resume_index = st->nsteps;
    for (int i = 0; i < st->nsteps; i++) {
        const JournalStep *js = &st->steps[i];
        int finished = js->outcome == JSTEP_DONE || js->outcome == JSTEP_SKIPPED ||
                       (js->outcome == JSTEP_FAILED && js->continued);
        if (!finished) {
            st->resume_index = i;
            break;
        }
    }
    return 0;
}
