/* journal — the run's append-only audit log and resume record: one JSON
 * object per line, written with one write() and fsync()ed before the call
 * returns, so that what the journal says happened has happened.
 *
 * Record types (every record has "type", "run" and "time", UTC ISO 8601):
 *   run         a run (or a resumed attempt) starts: attempt, user, host,
 *               runbook, title, redacted servers, the step ids in order
 *   gate        a step's gate was passed: gate, by ($USER), via, phrase
 *   gate-refused  a typed phrase did not match
 *   start       a step started: action
 *   checkpoint  a copy's resume point: db_index, src_db, dst_db, cursor,
 *               copied, skipped, identical, expired, failed, bytes
 *   step        a step ended: outcome done | failed | skipped | aborted,
 *               continued (failed with on-failure continue), duration_ms,
 *               message, figures {...}, log [...], by and reason (skips)
 *   unpause     writes were resumed on the source because the run stopped
 *   end         the run ended: outcome done | failed | aborted | blocked
 *
 * The reader tolerates a torn last line (the process was killed mid-write)
 * and a torn line followed by a resumed attempt's "run" record; any other
 * unreadable line is an error. */
#ifndef FERRY_JOURNAL_H
#define FERRY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "runbook.h"

typedef struct Journal Journal;

/* Opens path for appending (created 0600 if missing). When the file ends in
 * a torn line, a newline is written first so the next record starts clean.
 * NULL with a message on error. */
Journal *journal_open(const char *path, char *err, size_t errlen);
void journal_close(Journal *j);
const char *journal_path(const Journal *j);

/* A record under construction: jrec_begin, fields, journal_write. */
typedef struct JRec {
    char *buf;
    size_t len, cap;
    int depth;   /* open nested objects/arrays */
    char open[8];/* their opening brackets */
    int first;   /* no field yet at this level */
    int oom;
} JRec;

void jrec_begin(JRec *r, const char *type, const char *run_id);
void jrec_str(JRec *r, const char *key, const char *val);
void jrec_int(JRec *r, const char *key, long long v);
void jrec_u64(JRec *r, const char *key, uint64_t v);
void jrec_bool(JRec *r, const char *key, int v);
/* Nested object / array of strings: begin, then fields / jrec_item, end. */
void jrec_obj_begin(JRec *r, const char *key);
void jrec_arr_begin(JRec *r, const char *key);
void jrec_item(JRec *r, const char *val);
void jrec_end(JRec *r);
void jrec_free(JRec *r);
/* Finishes the record, appends it as one line and fsyncs; frees r. Safe
 * from any thread. -1 with a message on error (disk full…). */
int journal_write(Journal *j, JRec *r, char *err, size_t errlen);

/* Escapes text as a JSON string body (no quotes) into buf. */
void journal_escape(const char *text, char *buf, size_t len);

typedef enum {
    JSTEP_NONE = 0, /* never started */
    JSTEP_STARTED,  /* started, no outcome (the process died) */
    JSTEP_DONE,
    JSTEP_FAILED,
    JSTEP_SKIPPED,
    JSTEP_ABORTED
} JournalStepOutcome;

typedef struct JournalStep {
    char id[RUNBOOK_ID_LEN];
    JournalStepOutcome outcome; /* the latest */
    int continued;              /* failed, and the run went on (on-failure continue) */
    int started;                /* some attempt started it */
    int has_checkpoint;
    CopyCheckpoint checkpoint;  /* the latest */
} JournalStep;

typedef struct JournalState {
    char run_id[64];
    int attempts;               /* "run" records */
    char runbook[1024];
    char source[300], target[300];
    int nsteps;
    JournalStep steps[RUNBOOK_MAX_STEPS];
    int resume_index;           /* first unfinished step; == nsteps when all are */
    int last_checkpoint_step;   /* index of the step of the newest checkpoint, -1 none */
    int records;                /* readable records */
    int torn;                   /* unreadable lines tolerated */
    char end_outcome[16];       /* the last "end" record's outcome, "" if none */
} JournalState;

/* Reads a journal. -1 with "path:line: what" when it is not a ferry journal
 * or is damaged beyond a torn line. */
int journal_read(const char *path, JournalState *st, char *err, size_t errlen);
int journal_step_index(const JournalState *st, const char *id);

/* A new run id: "20250314-021300-7f3a" (UTC time + random). */
void journal_new_run_id(char *buf, size_t len);

#endif
