/* eventlog — the last few hundred things that happened (warnings, errors,
 * operator actions), kept in a ring under a mutex so any thread can add and
 * the console/headless printer can read a copy. */
#ifndef FERRY_EVENTLOG_H
#define FERRY_EVENTLOG_H

#include <pthread.h>
#include <stdint.h>

#define EVENTLOG_CAP 256
#define EVENTLOG_TEXT 512 /* long enough for "what was wrong and what to do" with a server name and a path */

typedef enum { EV_INFO = 0, EV_WARN = 1, EV_ERROR = 2, EV_OPERATOR = 3 } EventLevel;

typedef struct Event {
    int64_t time_ms; /* wall clock */
    uint64_t seq;    /* 1, 2, 3... in order of arrival */
    EventLevel level;
    char text[EVENTLOG_TEXT];
} Event;

typedef struct EventLog {
    pthread_mutex_t lock;
    Event ring[EVENTLOG_CAP];
    uint64_t next_seq; /* seq the next event gets; starts at 1 */
} EventLog;

void eventlog_init(EventLog *l);
void eventlog_destroy(EventLog *l);
void eventlog_add(EventLog *l, EventLevel level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies up to max of the newest events, oldest first, with seq > after_seq.
 * Returns how many were copied. */
int eventlog_copy(EventLog *l, uint64_t after_seq, Event *out, int max);
const char *eventlog_level_name(EventLevel level);

#endif
