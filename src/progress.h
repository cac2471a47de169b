/* progress — the headless view of a run: the once-a-second progress line,
 * its JSON twin, and the final summary. Pure functions from a snapshot to
 * text; the caller decides where the text goes. */
#ifndef FERRY_PROGRESS_H
#define FERRY_PROGRESS_H

#include <stddef.h>

#include "engine.h"
#include "follow.h"

/* "copied 123456/1000000 12.3% | skipped 0 identical 0 expired 3 failed 0 |
 *  34.5k keys/s 12.3 MiB/s | ETA 4m12s" (one line, no newline). */
void progress_line(const EngineSnapshot *s, char *buf, size_t len);
/* One JSON object (no newline) with the same figures plus state. */
void progress_json(const EngineSnapshot *s, char *buf, size_t len);
/* Multi-line final summary (ends with a newline). */
void progress_summary(const EngineSnapshot *s, const char *report_path, char *buf, size_t len);
/* JSON escape of text into buf (without quotes). */
void progress_json_escape(const char *text, char *buf, size_t len);
/* Exit code of a finished run: 0 all copied, 1 failed/stopped, 3 some keys
 * skipped or failed. */
int progress_exit_code(const EngineSnapshot *s);

/* A follower's status in one line (no newline): "follow snapshot · 12.0 MiB
 * of 40.0 MiB · …" while it loads, else "follow streaming · applied offset
 * N (acked A, received R) · lag L behind the source · …". */
void progress_follow_line(const FollowStatus *s, char *buf, size_t len);

#endif
