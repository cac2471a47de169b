/* dbmap — which source database goes to which target database.
 *
 * "1:0,2:5" maps source db 1 to target db 0 and 2 to 5; "3" means 3:3. An
 * empty map means "every non-empty source db to the same number". */
#ifndef FERRY_DBMAP_H
#define FERRY_DBMAP_H

#include <stddef.h>

#define DBMAP_MAX 256

typedef struct DbMap {
    int n;
    int src[DBMAP_MAX];
    int dst[DBMAP_MAX];
} DbMap;

void dbmap_init(DbMap *m);
/* Appends the pairs in text. Rejects negative or non-numeric numbers, a source
 * listed twice, and two sources mapped to one target (that would merge two
 * keyspaces silently); each with a one-line message. */
int dbmap_parse(DbMap *m, const char *text, char *err, size_t errlen);
int dbmap_add(DbMap *m, int src, int dst, char *err, size_t errlen);
/* Target db for src, or -1 when src is not in a non-empty map. */
int dbmap_target(const DbMap *m, int src);
/* "1→0, 2→5" for messages. */
void dbmap_format(const DbMap *m, char *buf, size_t len);

#endif
