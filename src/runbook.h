/* runbook — the plain-text file an operator writes (or copies from
 * runbooks/) to describe a maintenance window, parsed into steps.
 *
 *   # comments start with # (at the start of a line, or after a space)
 *   title = Split db 1 of the shared cache onto its own server
 *   source = redis://10.0.0.7:6379          # may be left out: --source fills it
 *   target = redis://10.0.0.8:6379
 *   db-map = 1:0
 *   workers = 8
 *
 *   [step copy]
 *   title = Copy db 1 to db 0 of the new server
 *   action = copy
 *   gate = confirm
 *   timeout = 45m
 *
 * Everything before the first [step ID] is shared: servers and the options
 * every action uses (db map, filters, workers, batch, scan count, rate,
 * on-conflict). Each [step ID] section names an action (see actions.h) and
 * its gate: none, confirm (a key press) or type (the operator types a
 * phrase, by default the target's host:port/db). Keys an action does not
 * know, a destructive action without a type gate, a duplicate id... each is
 * an error "file:line: what is wrong". Values may be "quoted" to keep a #.
 *
 * The parser is pure (no network). The servers may be left open (a
 * template); run_settings_merge() fills them from the command line, which
 * also overrides any shared option. */
#ifndef FERRY_RUNBOOK_H
#define FERRY_RUNBOOK_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define RUNBOOK_MAX_STEPS 64
#define RUNBOOK_ID_LEN 48
#define RUNBOOK_TITLE_LEN 160
#define RUNBOOK_PHRASE_LEN 160

typedef enum { GATE_NONE = 0, GATE_CONFIRM, GATE_TYPE } GateKind;
typedef enum { ON_FAILURE_STOP = 0, ON_FAILURE_CONTINUE } OnFailure;

/* The options shared by every step. Set from the file's top part or from
 * the command line (the same key names: "db-map" is --db-map). */
typedef struct RunSettings {
    int has_source, has_target;
    Uri source, target;              /* never with a password (refused) */
    char *source_password_file;      /* owned; NULL = unset */
    char *target_password_file;
    int has_dbmap;
    DbMap dbmap;
    Filter filter;                   /* includes, excludes, types */
    int has_match, has_exclude, has_type;
    int workers, batch, scan_count;  /* 0 = unset */
    int has_rate;
    double rate;
    int on_conflict;                 /* -1 = unset, else a ConflictPolicy */
    /* Where each was set (file line, 0 = command line), for messages. */
    int source_line, target_line, dbmap_line;
} RunSettings;

typedef struct RunbookParam {
    char *key, *value; /* owned */
    int line;
} RunbookParam;

struct ActionDef;

typedef struct RunbookStep {
    char id[RUNBOOK_ID_LEN];
    char title[RUNBOOK_TITLE_LEN];   /* defaults to the action's summary */
    const struct ActionDef *action;
    GateKind gate;
    char phrase[RUNBOOK_PHRASE_LEN]; /* type gate; empty = the target's short name */
    int64_t timeout_ms;              /* 0 = none */
    OnFailure on_failure;
    int nparams;
    RunbookParam *params;            /* the action's own keys; owned */
    int line;                        /* of "[step ID]" */
    int gate_line, action_line;
} RunbookStep;

typedef struct Runbook {
    char name[1024];                 /* file path (or the name given to runbook_parse) */
    char title[RUNBOOK_TITLE_LEN];
    RunSettings settings;
    int nsteps;
    RunbookStep steps[RUNBOOK_MAX_STEPS];
} Runbook;

/* Reads and parses a file. NULL with "file:line: what is wrong" on error.
 * The caller frees the result with runbook_free(). */
Runbook *runbook_load(const char *path, char *err, size_t errlen);
/* Parses text; name is used in messages in place of a file path. */
Runbook *runbook_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);
void runbook_free(Runbook *rb);

/* Index of the step with this id, or -1. */
int runbook_step_index(const Runbook *rb, const char *id);
/* The value of an action parameter, or NULL when the step does not set it. */
const char *runbook_param(const RunbookStep *st, const char *key);
const RunbookParam *runbook_param_entry(const RunbookStep *st, const char *key);
/* 1 if the step changes or deletes data that exists on a server (given the
 * conflict policy in force), so its gate must be `type`. */
int runbook_step_destructive(const RunbookStep *st, int on_conflict);
/* Checks every destructive step has a type gate under the effective policy
 * (the command line may change it). -1 with a message naming the step. */
int runbook_check_gates(const Runbook *rb, int on_conflict, char *err, size_t errlen);

/* The default phrase of a type gate: the target's short name host:port/db
 * (uri_format_short), with the db the map writes to when the URI names
 * none and every source goes to one target db. */
void runbook_default_phrase(const Uri *target, const DbMap *map, char *buf, size_t len);

/* "90s", "5m", "1h30m", "500ms" → milliseconds. A bare number is refused
 * (which unit?). -1 on error. */
int runbook_parse_duration(const char *text, int64_t *ms);
const char *runbook_gate_name(GateKind g);

void run_settings_init(RunSettings *s);
void run_settings_free(RunSettings *s);
/* Sets one shared option by its key name ("source", "db-map", "match"...).
 * Returns 1 when set, 0 when key is not a shared option, -1 with a message
 * when the value is wrong. */
int run_settings_set(RunSettings *s, const char *key, const char *value, int line,
                     char *err, size_t errlen);
/* out = file, with everything cli sets taking its place. -1 with a message
 * when the result is contradictory (a /db in a URI and a db map). */
int run_settings_merge(RunSettings *out, const RunSettings *file, const RunSettings *cli,
                       char *err, size_t errlen);
/* Fills the server and shared fields of o (already copy_options_init()ed;
 * TLS and timeouts are left alone) from s. -1 with a message naming the
 * missing server ("the runbook leaves the source open: pass --source URI"). */
int run_settings_to_copy(const RunSettings *s, CopyOptions *o, char *err, size_t errlen);

#endif
