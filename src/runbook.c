/* runbook — the runbook file format: a line-based parser that reports
 * "file:line: what is wrong", and the shared settings (file + command line).
 * See runbook.h for the format. */
#include "runbook.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "util.h"

#define RUNBOOK_MAX_FILE (1024 * 1024)
#define RUNBOOK_MAX_LINE 4096

static const char *const shared_keys[] = {
    "source", "target", "source-password-file", "target-password-file", "db-map", "match",
    "exclude", "type", "workers", "batch", "scan-count", "rate", "on-conflict", NULL};
static const char *const step_keys[] = {"title", "action", "gate", "phrase", "timeout", "on-failure", NULL};

static int in_list(const char *const *list, const char *s) {
    for (int i = 0; list && list[i]; i++)
        if (!strcmp(list[i], s)) return 1;
    return 0;
}

const char *runbook_gate_name(GateKind g) {
    switch (g) {
    case GATE_NONE: return "none";
    case GATE_CONFIRM: return "confirm";
    case GATE_TYPE: return "type";
    }
    return "?";
}

int runbook_parse_duration(const char *text, int64_t *ms) {
    const char *p = text;
    int64_t total = 0;
    int parts = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p)) return -1;
        errno = 0;
        char *end;
        long long n = strtoll(p, &end, 10);
        if (errno || n < 0 || n > 1000000000LL) return -1;
        p = end;
        int64_t unit;
        if (!strncmp(p, "ms", 2)) {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else {
            return -1; /* a bare number: seconds or minutes? say it */
        }
        total += (int64_t)n * unit;
        if (total > (int64_t)30 * 24 * 3600000) return -1;
        parts++;
    }
    if (!parts) return -1;
    *ms = total;
    return 0;
}

/* ------------------------------------------------------------- settings */

void run_settings_init(RunSettings *s) {
    memset(s, 0, sizeof(*s));
    dbmap_init(&s->dbmap);
    filter_init(&s->filter);
    s->source.db = s->target.db = -1;
    s->on_conflict = -1;
}

void run_settings_free(RunSettings *s) {
    free(s->source_password_file);
    free(s->target_password_file);
    filter_free(&s->filter);
    s->source_password_file = s->target_password_file = NULL;
}

static int settings_int(const char *key, const char *v, long lo, long hi, int *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return util_err(err, errlen, "%s takes a whole number from %ld to %ld (got \"%s\")", key, lo, hi, v);
    *out = (int)n;
    return 1;
}

int run_settings_set(RunSettings *s, const char *key, const char *v, int line, char *err, size_t errlen) {
    char e2[FERRY_ERR_LEN];
    if (!strcmp(key, "source") || !strcmp(key, "target")) {
        int src = key[0] == 's';
        Uri u;
        if (uri_parse(v, &u, e2, sizeof(e2)) != 0) return util_err(err, errlen, "%s: %s", key, e2);
        if (line > 0 && u.has_password)
            return util_err(err, errlen, "%s: a password written in a runbook is read by everyone who reads the runbook (and the journal's readers): remove it and set %s or %s-password-file",
                            key, src ? "FERRY_SOURCE_PASSWORD" : "FERRY_TARGET_PASSWORD", key);
        if (src) {
            s->source = u;
            s->has_source = 1;
            s->source_line = line;
        } else {
            s->target = u;
            s->has_target = 1;
            s->target_line = line;
        }
        return 1;
    }
    if (!strcmp(key, "source-password-file") || !strcmp(key, "target-password-file")) {
        char **f = key[0] == 's' ? &s->source_password_file : &s->target_password_file;
        free(*f);
        *f = strdup(v);
        if (!*f) return util_err(err, errlen, "out of memory");
        return 1;
    }
    if (!strcmp(key, "db-map")) {
        dbmap_init(&s->dbmap);
        if (dbmap_parse(&s->dbmap, v, e2, sizeof(e2)) != 0) return util_err(err, errlen, "db-map: %s", e2);
        s->has_dbmap = 1;
        s->dbmap_line = line;
        return 1;
    }
    if (!strcmp(key, "match")) {
        if (filter_add_include(&s->filter, v, e2, sizeof(e2)) != 0) return util_err(err, errlen, "match: %s", e2);
        s->has_match = 1;
        return 1;
    }
    if (!strcmp(key, "exclude")) {
        if (filter_add_exclude(&s->filter, v, e2, sizeof(e2)) != 0) return util_err(err, errlen, "exclude: %s", e2);
        s->has_exclude = 1;
        return 1;
    }
    if (!strcmp(key, "type")) {
        if (filter_parse_types(&s->filter, v, e2, sizeof(e2)) != 0) return util_err(err, errlen, "type: %s", e2);
        s->has_type = 1;
        return 1;
    }
    if (!strcmp(key, "workers")) return settings_int(key, v, 1, ENGINE_MAX_WORKERS, &s->workers, err, errlen);
    if (!strcmp(key, "batch")) return settings_int(key, v, 1, 100000, &s->batch, err, errlen);
    if (!strcmp(key, "scan-count")) return settings_int(key, v, 1, 1000000, &s->scan_count, err, errlen);
    if (!strcmp(key, "rate")) {
        int r;
        if (settings_int(key, v, 0, 100000000, &r, err, errlen) < 0) return -1;
        s->rate = r;
        s->has_rate = 1;
        return 1;
    }
    if (!strcmp(key, "on-conflict")) {
        if (!strcmp(v, "fail")) s->on_conflict = CONFLICT_FAIL;
        else if (!strcmp(v, "skip")) s->on_conflict = CONFLICT_SKIP;
        else if (!strcmp(v, "replace")) s->on_conflict = CONFLICT_REPLACE;
        else return util_err(err, errlen, "on-conflict takes fail, skip or replace (got \"%s\")", v);
        return 1;
    }
    return 0;
}

static int filter_copy_into(Filter *dst, const Filter *src, int inc, int exc, int types) {
    if (inc)
        for (int i = 0; i < src->ninclude; i++)
            if (filter_add_include(dst, src->include[i], NULL, 0) != 0) return -1;
    if (exc)
        for (int i = 0; i < src->nexclude; i++)
            if (filter_add_exclude(dst, src->exclude[i], NULL, 0) != 0) return -1;
    if (types) dst->types = src->types;
    return 0;
}

int run_settings_merge(RunSettings *out, const RunSettings *file, const RunSettings *cli, char *err,
                       size_t errlen) {
    run_settings_init(out);
    const RunSettings *layers[2] = {file, cli};
    for (int l = 0; l < 2; l++) {
        const RunSettings *s = layers[l];
        if (!s) continue;
        if (s->has_source) {
            out->source = s->source;
            out->has_source = 1;
            out->source_line = s->source_line;
        }
        if (s->has_target) {
            out->target = s->target;
            out->has_target = 1;
            out->target_line = s->target_line;
        }
        if (s->source_password_file) {
            free(out->source_password_file);
            out->source_password_file = strdup(s->source_password_file);
        }
        if (s->target_password_file) {
            free(out->target_password_file);
            out->target_password_file = strdup(s->target_password_file);
        }
        if (s->has_dbmap) {
            out->dbmap = s->dbmap;
            out->has_dbmap = 1;
            out->dbmap_line = s->dbmap_line;
        }
        /* A list given on the command line replaces the file's list. */
        if (s->has_match) {
            Filter f;
            filter_init(&f);
            filter_copy_into(&f, &out->filter, 0, 1, 1);
            filter_free(&out->filter);
            out->filter = f;
            if (filter_copy_into(&out->filter, &s->filter, 1, 0, 0) != 0) goto oom;
            out->has_match = 1;
        }
        if (s->has_exclude) {
            Filter f;
            filter_init(&f);
            filter_copy_into(&f, &out->filter, 1, 0, 1);
            filter_free(&out->filter);
            out->filter = f;
            if (filter_copy_into(&out->filter, &s->filter, 0, 1, 0) != 0) goto oom;
            out->has_exclude = 1;
        }
        if (s->has_type) {
            out->filter.types = s->filter.types;
            out->has_type = 1;
        }
        if (s->workers) out->workers = s->workers;
        if (s->batch) out->batch = s->batch;
        if (s->scan_count) out->scan_count = s->scan_count;
        if (s->has_rate) {
            out->rate = s->rate;
            out->has_rate = 1;
        }
        if (s->on_conflict >= 0) out->on_conflict = s->on_conflict;
    }
    if ((file && file->source_password_file && !out->source_password_file) ||
        (file && file->target_password_file && !out->target_password_file))
        goto oom;
    if (out->has_dbmap && (out->source.db >= 0 || out->target.db >= 0)) {
        int src = out->source.db >= 0;
        int uline = src ? out->source_line : out->target_line;
        char where[64], dwhere[64];
        if (uline > 0)
            snprintf(where, sizeof(where), "the runbook's %s (line %d)", src ? "source" : "target", uline);
        else
            snprintf(where, sizeof(where), "--%s", src ? "source" : "target");
        if (out->dbmap_line > 0)
            snprintf(dwhere, sizeof(dwhere), "the runbook's db-map (line %d)", out->dbmap_line);
        else
            snprintf(dwhere, sizeof(dwhere), "--db-map");
        run_settings_free(out);
        return util_err(err, errlen, "%s names db %d and %s also chooses the dbs: keep one (drop the /%d, or override the map with --db-map)",
                        where, src ? out->source.db : out->target.db, dwhere,
                        src ? out->source.db : out->target.db);
    }
    return 0;
oom:
    run_settings_free(out);
    return util_err(err, errlen, "out of memory");
}

int run_settings_to_copy(const RunSettings *s, CopyOptions *o, char *err, size_t errlen) {
    char e2[FERRY_ERR_LEN];
    if (!s->has_source)
        return util_err(err, errlen, "the runbook leaves the source open: pass --source URI (e.g. --source redis://10.0.0.7:6379/1)");
    if (!s->has_target)
        return util_err(err, errlen, "the runbook leaves the target open: pass --target URI (e.g. --target redis://10.0.0.8:6379/0)");
    o->source.uri = s->source;
    o->target.uri = s->target;
    if (s->has_dbmap) o->dbmap = s->dbmap;
    filter_free(&o->filter);
    filter_init(&o->filter);
    if (filter_copy_into(&o->filter, &s->filter, 1, 1, 1) != 0) return util_err(err, errlen, "out of memory");
    if (s->workers) o->workers = s->workers;
    if (s->batch) o->batch = s->batch;
    if (s->scan_count) o->scan_count = s->scan_count;
    if (s->has_rate) o->rate = s->rate;
    if (s->on_conflict >= 0) {
        o->on_conflict = (ConflictPolicy)s->on_conflict;
        o->on_conflict_explicit = 1;
    }
    if (uri_load_password(&o->source.uri, "FERRY_SOURCE_PASSWORD", s->source_password_file, e2, sizeof(e2)) != 0)
        return util_err(err, errlen, "source password: %s", e2);
    if (uri_load_password(&o->target.uri, "FERRY_TARGET_PASSWORD", s->target_password_file, e2, sizeof(e2)) != 0)
        return util_err(err, errlen, "target password: %s", e2);
    return 0;
}

void runbook_default_phrase(const Uri *target, const DbMap *map, char *buf, size_t len) {
    Uri u = *target;
    if (u.db < 0 && map && map->n > 0) {
        int one = 1;
        for (int i = 1; i < map->n; i++) one &= map->dst[i] == map->dst[0];
        if (one) u.db = map->dst[0];
    }
    uri_format_short(&u, buf, len);
    memset(u.password, 0, sizeof(u.password));
}

/* ---------------------------------------------------------------- steps */

int runbook_step_index(const Runbook *rb, const char *id) {
    for (int i = 0; i < rb->nsteps; i++)
        if (!strcmp(rb->steps[i].id, id)) return i;
    return -1;
}

const RunbookParam *runbook_param_entry(const RunbookStep *st, const char *key) {
    for (int i = 0; i < st->nparams; i++)
        if (!strcmp(st->params[i].key, key)) return &st->params[i];
    return NULL;
}

const char *runbook_param(const RunbookStep *st, const char *key) {
    const RunbookParam *p = runbook_param_entry(st, key);
    return p ? p->value : NULL;
}

int runbook_step_destructive(const RunbookStep *st, int on_conflict) {
    return st->action && st->action->destructive && st->action->destructive(st, on_conflict);
}

int runbook_check_gates(const Runbook *rb, int on_conflict, char *err, size_t errlen) {
    for (int i = 0; i < rb->nsteps; i++) {
        const RunbookStep *st = &rb->steps[i];
        if (st->gate == GATE_TYPE || !runbook_step_destructive(st, on_conflict)) continue;
        const char *own = runbook_param(st, "on-conflict");
        int replace = own ? !strcmp(own, "replace") : on_conflict == CONFLICT_REPLACE;
        return util_err(err, errlen, "%s:%d: step %s (%s) overwrites or deletes data on the target%s: it needs gate = type (the operator types the target's name before it runs)",
                        rb->name, st->gate_line ? st->gate_line : st->line, st->id, st->action->name,
                        replace ? " under on-conflict replace" : "");
    }
    return 0;
}

static void step_free(RunbookStep *st) {
    for (int i = 0; i < st->nparams; i++) {
        free(st->params[i].key);
        free(st->params[i].value);
    }
    free(st->params);
    st->params = NULL;
    st->nparams = 0;
}

void runbook_free(Runbook *rb) {
    if (!rb) return;
    for (int i = 0; i < rb->nsteps; i++) step_free(&rb->steps[i]);
    run_settings_free(&rb->settings);
    free(rb);
}

/* --------------------------------------------------------------- parser */

typedef struct Parser {
    Runbook *rb;
    const char *name;
    int line;
    char *err;
    size_t errlen;
    RunbookStep *step;     /* current section; NULL = the shared top */
    /* Lines where each non-repeatable key was set in the current section. */
    char seen_key[64][32];
    int seen_line[64];
    int nseen;
    int phrase_line;
} Parser;

__attribute__((format(printf, 3, 4))) static int perr(Parser *p, int line, const char *fmt, ...) {
    char msg[FERRY_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return util_err(p->err, p->errlen, "%s:%d: %s", p->name, line, msg);
}

static int valid_id(const char *id) {
    if (!*id) return 0;
    for (const char *c = id; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.') return 0;
    return 1;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* Cuts a trailing comment: a # at the start or after a blank. */
static void cut_comment(char *s) {
    for (char *c = s; *c; c++)
        if (*c == '#' && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
            *c = '\0';
            return;
        }
}

/* value: "quoted \"text\"" or text up to a comment. In place. */
static int parse_value(Parser *p, char *v, char **out) {
    v = trim(v);
    if (*v != '"') {
        cut_comment(v);
        *out = trim(v);
        return 0;
    }
    char *w = v, *r = v + 1;
    for (;; r++) {
        if (!*r) return perr(p, p->line, "a quoted value is missing its closing \"");
        if (*r == '\\' && (r[1] == '"' || r[1] == '\\')) {
            *w++ = *++r;
            continue;
        }
        if (*r == '"') break;
        *w++ = *r;
    }
    *w = '\0';
    char *rest = trim(r + 1);
    if (*rest && *rest != '#')
        return perr(p, p->line, "unexpected text after the closing quote: \"%s\" (comments start with #)", rest);
    *out = v;
    return 0;
}

static int seen_before(Parser *p, const char *key) {
    for (int i = 0; i < p->nseen; i++)
        if (!strcmp(p->seen_key[i], key)) return p->seen_line[i];
    if (p->nseen < 64) {
        util_strlcpy(p->seen_key[p->nseen], key, sizeof(p->seen_key[0]));
        p->seen_line[p->nseen++] = p->line;
    }
    return 0;
}

static void list_keys(char *buf, size_t len, const char *const *a, const char *const *b) {
    size_t o = 0;
    buf[0] = '\0';
    const char *const *lists[2] = {a, b};
    for (int l = 0; l < 2; l++)
        for (int i = 0; lists[l] && lists[l][i] && o < len; i++)
            o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", lists[l][i]);
}

/* The end of a [step] section: everything that needs the whole section. */
static int finish_step(Parser *p) {
    RunbookStep *st = p->step;
    if (!st) return 0;
    p->step = NULL;
    char acts[400];
    if (!st->action) {
        actions_list(acts, sizeof(acts));
        return perr(p, st->line, "step %s has no action: add action = one of %s", st->id, acts);
    }
    for (int i = 0; i < st->nparams; i++) {
        const RunbookParam *pr = &st->params[i];
        if (in_list(st->action->params, pr->key)) continue;
        if (in_list(shared_keys, pr->key))
            return perr(p, pr->line, "%s is shared by every step: set it at the top of the file, before the first [step]",
                        pr->key);
        char keys[600];
        list_keys(keys, sizeof(keys), step_keys, st->action->params);
        return perr(p, pr->line, "unknown key %s in step %s (a %s step takes: %s)", pr->key, st->id,
                    st->action->name, keys);
    }
    if (!st->gate_line) st->gate = st->action->default_gate;
    if (st->phrase[0] && st->gate != GATE_TYPE)
        return perr(p, p->phrase_line, "phrase only applies to gate = type (step %s has gate = %s)", st->id,
                    runbook_gate_name(st->gate));
    if (!st->title[0]) util_strlcpy(st->title, st->action->summary, sizeof(st->title));
    if (st->action->check) {
        int line = st->line;
        char msg[FERRY_ERR_LEN];
        if (st->action->check(st, &line, msg, sizeof(msg)) != 0) return perr(p, line, "step %s: %s", st->id, msg);
    }
    return 0;
}

static int step_key(Parser *p, const char *key, const char *v) {
    RunbookStep *st = p->step;
    if (!strcmp(key, "title")) {
        if (util_strlcpy(st->title, v, sizeof(st->title)) != 0)
            return perr(p, p->line, "title is longer than %d characters", RUNBOOK_TITLE_LEN - 1);
    } else if (!strcmp(key, "action")) {
        st->action = actions_find(v);
        st->action_line = p->line;
        if (!st->action) {
            char acts[400];
            actions_list(acts, sizeof(acts));
            return perr(p, p->line, "unknown action %s (actions: %s)", v, acts);
        }
    } else if (!strcmp(key, "gate")) {
        if (!strcmp(v, "none")) st->gate = GATE_NONE;
        else if (!strcmp(v, "confirm")) st->gate = GATE_CONFIRM;
        else if (!strcmp(v, "type")) st->gate = GATE_TYPE;
        else return perr(p, p->line, "gate takes none, confirm or type (got \"%s\")", v);
        st->gate_line = p->line;
    } else if (!strcmp(key, "phrase")) {
        p->phrase_line = p->line;
        if (util_strlcpy(st->phrase, v, sizeof(st->phrase)) != 0)
            return perr(p, p->line, "phrase is longer than %d characters", RUNBOOK_PHRASE_LEN - 1);
    } else if (!strcmp(key, "timeout")) {
        if (runbook_parse_duration(v, &st->timeout_ms) != 0 || st->timeout_ms <= 0)
            return perr(p, p->line, "timeout takes a duration with its unit, e.g. 90s, 45m, 1h30m (got \"%s\")", v);
    } else if (!strcmp(key, "on-failure")) {
        if (!strcmp(v, "stop")) st->on_failure = ON_FAILURE_STOP;
        else if (!strcmp(v, "continue")) st->on_failure = ON_FAILURE_CONTINUE;
        else return perr(p, p->line, "on-failure takes stop or continue (got \"%s\")", v);
    } else {
        /* An action parameter: checked when the section ends (the action
         * may be named after its parameters). */
        RunbookParam *np = realloc(st->params, (size_t)(st->nparams + 1) * sizeof(*np));
        if (!np) return perr(p, p->line, "out of memory");
        st->params = np;
        np[st->nparams].key = strdup(key);
        np[st->nparams].value = strdup(v);
        np[st->nparams].line = p->line;
        if (!np[st->nparams].key || !np[st->nparams].value) {
            free(np[st->nparams].key);
            free(np[st->nparams].value);
            return perr(p, p->line, "out of memory");
        }
        st->nparams++;
    }
    return 0;
}

static int parse_line(Parser *p, char *raw) {
    char *s = trim(raw);
    if (!*s || *s == '#') return 0;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close) return perr(p, p->line, "a section header is missing its ]: write [step ID]");
        *close = '\0';
        char *rest = trim(close + 1);
        if (*rest && *rest != '#')
            return perr(p, p->line, "unexpected text after ]: \"%s\" (comments start with #)", rest);
        char *inner = trim(s + 1);
        if (strncmp(inner, "step", 4) || (inner[4] && inner[4] != ' ' && inner[4] != '\t'))
            return perr(p, p->line, "unknown section [%s]: steps are written [step ID], e.g. [step copy]", inner);
        char *id = trim(inner + 4);
        if (!*id) return perr(p, p->line, "missing step id: write [step ID], e.g. [step copy]");
        if (!valid_id(id))
            return perr(p, p->line, "step id \"%s\" may only use letters, digits, -, _ and . (it is typed in --confirm ID)", id);
        if (strlen(id) >= RUNBOOK_ID_LEN)
            return perr(p, p->line, "step id \"%s\" is longer than %d characters", id, RUNBOOK_ID_LEN - 1);
        if (finish_step(p) != 0) return -1;
        int dup = runbook_step_index(p->rb, id);
        if (dup >= 0)
            return perr(p, p->line, "duplicate step id %s (first at line %d): ids must be unique", id, p->rb->steps[dup].line);
        if (p->rb->nsteps >= RUNBOOK_MAX_STEPS)
            return perr(p, p->line, "too many steps (at most %d)", RUNBOOK_MAX_STEPS);
        RunbookStep *st = &p->rb->steps[p->rb->nsteps++];
        memset(st, 0, sizeof(*st));
        util_strlcpy(st->id, id, sizeof(st->id));
        st->line = p->line;
        p->step = st;
        p->nseen = 0;
        return 0;
    }
    char *eq = strchr(s, '=');
    if (!eq) {
        cut_comment(s);
        return perr(p, p->line, "expected key = value or [step ID], got \"%s\"", trim(s));
    }
    *eq = '\0';
    char *key = trim(s);
    if (!*key) return perr(p, p->line, "a value without a key: write key = value");
    for (char *c = key; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
            return perr(p, p->line, "\"%s\" is not a key: keys are lowercase words joined by -, e.g. on-conflict", key);
    char *v = NULL;
    if (parse_value(p, eq + 1, &v) != 0) return -1;
    if (!*v) return perr(p, p->line, "%s has no value", key);
    int repeatable = !strcmp(key, "match") || !strcmp(key, "exclude");
    if (!repeatable) {
        int first = seen_before(p, key);
        if (first) return perr(p, p->line, "%s is set twice in this %s (first at line %d)", key,
                               p->step ? "step" : "header", first);
    }
    if (p->step) return step_key(p, key, v);
    /* The shared top of the file. */
    if (!strcmp(key, "title")) {
        if (util_strlcpy(p->rb->title, v, sizeof(p->rb->title)) != 0)
            return perr(p, p->line, "title is longer than %d characters", RUNBOOK_TITLE_LEN - 1);
        return 0;
    }
    if (in_list(step_keys, key))
        return perr(p, p->line, "%s belongs to a step: start one with [step ID] above it", key);
    char msg[FERRY_ERR_LEN];
    int rc = run_settings_set(&p->rb->settings, key, v, p->line, msg, sizeof(msg));
    if (rc < 0) return perr(p, p->line, "%s", msg);
    if (rc == 0) {
        char keys[600];
        list_keys(keys, sizeof(keys), (const char *const[]){"title", NULL}, shared_keys);
        return perr(p, p->line, "unknown key %s (the top of a runbook takes: %s)", key, keys);
    }
    return 0;
}

Runbook *runbook_parse(const char *text, size_t len, const char *name, char *err, size_t errlen) {
    Runbook *rb = calloc(1, sizeof(*rb));
    if (!rb) {
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    util_strlcpy(rb->name, name, sizeof(rb->name));
    run_settings_init(&rb->settings);
    Parser p = {.rb = rb, .name = name, .err = err, .errlen = errlen};
    size_t off = 0;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) off = 3; /* UTF-8 BOM */
    char line[RUNBOOK_MAX_LINE + 2];
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        p.line++;
        if (n > RUNBOOK_MAX_LINE) {
            perr(&p, p.line, "line longer than %d characters", RUNBOOK_MAX_LINE);
            goto fail;
        }
        if (memchr(text + off, '\0', n)) {
            perr(&p, p.line, "a NUL byte: this is not a text file");
            goto fail;
        }
        memcpy(line, text + off, n);
        line[n] = '\0';
        off += n + (nl ? 1 : 0);
        if (parse_line(&p, line) != 0) goto fail;
    }
    if (finish_step(&p) != 0) goto fail;
    if (rb->nsteps == 0) {
        perr(&p, p.line ? p.line : 1, "the runbook has no steps: add a section such as [step copy] with action = copy");
        goto fail;
    }
    int policy = rb->settings.on_conflict >= 0 ? rb->settings.on_conflict : CONFLICT_FAIL;
    if (runbook_check_gates(rb, policy, err, errlen) != 0) goto fail;
    return rb;
fail:
    runbook_free(rb);
    return NULL;
}

Runbook *runbook_load(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        util_err(err, errlen, "cannot read the runbook %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(RUNBOOK_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        util_err(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = fread(buf, 1, RUNBOOK_MAX_FILE + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > RUNBOOK_MAX_FILE) {
        free(buf);
        util_err(err, errlen, bad ? "cannot read the runbook %s" : "the runbook %s is larger than 1 MiB: is it the right file?", path);
        return NULL;
    }
    Runbook *rb = runbook_parse(buf, n, path, err, errlen);
    free(buf);
    return rb;
}
