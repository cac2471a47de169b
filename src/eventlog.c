/* eventlog — a fixed ring of recent events under one mutex. Any thread adds;
 * readers take copies. Nothing here blocks for long or allocates. */
#include "eventlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void eventlog_init(EventLog *l) {
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    l->next_seq = 1;
}

void eventlog_destroy(EventLog *l) { pthread_mutex_destroy(&l->lock); }

void eventlog_add(EventLog *l, EventLevel level, const char *fmt, ...) {
    char text[EVENTLOG_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&l->lock);
    Event *ev = &l->ring[(l->next_seq - 1) % EVENTLOG_CAP];
    ev->seq = l->next_seq++;
    ev->time_ms = util_now_ms();
    ev->level = level;
    memcpy(ev->text, text, sizeof(text));
    pthread_mutex_unlock(&l->lock);
}

int eventlog_copy(EventLog *l, uint64_t after_seq, Event *out, int max) {
    pthread_mutex_lock(&l->lock);
    uint64_t newest = l->next_seq - 1;
    uint64_t oldest = newest >= EVENTLOG_CAP ? newest - EVENTLOG_CAP + 1 : 1;
    if (after_seq + 1 > oldest) oldest = after_seq + 1;
    if (max > 0 && newest >= oldest && newest - oldest + 1 > (uint64_t)max)
        oldest = newest - (uint64_t)max + 1;
    int n = 0;
    for (uint64_t s = oldest; s <= newest && n < max; s++)
        out[n++] = l->ring[(s - 1) % EVENTLOG_CAP];
    pthread_mutex_unlock(&l->lock);
    return n;
}

const char *eventlog_level_name(EventLevel level) {
    switch (level) {
    case EV_INFO: return "info";
    case EV_WARN: return "warn";
    case EV_ERROR: return "error";
    case EV_OPERATOR: return "operator";
    }
    return "?";
}
