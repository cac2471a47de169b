/* dbmap — owns the source-db → target-db table of a run: parsing the
 * operator's "1:0,2:5", refusing maps that would merge two keyspaces into one
 * target, and answering "where does db N go". A map that fails to parse
 * leaves the table as it was. */
#include "dbmap.h"

#include "util.h"

#include <stdio.h>
#include <string.h>

/* Databases are numbered by an int on the server (the databases setting). */
#define DBMAP_DB_MAX 2147483647LL

void dbmap_init(DbMap *m) {
    memset(m, 0, sizeof(*m));
}

int dbmap_add(DbMap *m, int src, int dst, char *err, size_t errlen) {
    if (src < 0 || dst < 0)
        return util_err(err, errlen, "database numbers cannot be negative (got %d→%d); databases count from 0",
                        src, dst);
    for (int i = 0; i < m->n; i++) {
        if (m->src[i] == src)
            return util_err(err, errlen, "source db %d is listed twice (→%d and →%d); give each source once",
                            src, m->dst[i], dst);
        if (m->dst[i] == dst)
            return util_err(err, errlen,
                            "source dbs %d and %d both go to target db %d, which would merge two "
                            "keyspaces; give each source its own target",
                            m->src[i], src, dst);
    }
    if (m->n >= DBMAP_MAX)
        return util_err(err, errlen, "more than %d database pairs; a server has fewer databases than that",
                        DBMAP_MAX);
    m->src[m->n] = src;
    m->dst[m->n] = dst;
    m->n++;
    return 0;
}

/* Parses one database number at *s (blanks around it allowed) and advances
 * *s past it. Returns 0; -1 when there is no number; -2 for a negative one. */
static int dbmap_number(const char **s, int *out) {
    const char *p = *s;
    long long v = 0;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '-') return -2;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > DBMAP_DB_MAX) return -1;
        p++;
    }
    while (*p == ' ' || *p == '\t') p++;
    *out = (int)v;
    *s = p;
    return 0;
}

int dbmap_parse(DbMap *m, const char *text, char *err, size_t errlen) {
    const char *quoted = text ? text : "";
    char why[FERRY_ERR_LEN];
    DbMap next = *m; /* commit only when every pair is good */
    const char *s = quoted;
    for (;;) {
        int src, dst, rc = dbmap_number(&s, &src);
        dst = src;
        if (rc == 0 && *s == ':') {
            s++;
            rc = dbmap_number(&s, &dst);
        }
        if (rc == 0 && *s != ',' && *s != '\0') rc = -1;
        if (rc == -2)
            return util_err(err, errlen,
                            "bad database map \"%.100s\": database numbers cannot be negative; "
                            "databases count from 0",
                            quoted);
        if (rc < 0)
            return util_err(err, errlen,
                            "bad database map \"%.100s\": write SRC:DST pairs separated by commas, "
                            "such as 1:0,2:5 (\"3\" means 3:3)",
                            quoted);
        if (dbmap_add(&next, src, dst, why, sizeof(why)) < 0)
            return util_err(err, errlen, "bad database map \"%.100s\": %s", quoted, why);
        if (*s == '\0') break;
        s++;
    }
    *m = next;
    return 0;
}

int dbmap_target(const DbMap *m, int src) {
    if (src < 0) return -1;
    if (m->n == 0) return src;
    for (int i = 0; i < m->n; i++)
        if (m->src[i] == src) return m->dst[i];
    return -1;
}

void dbmap_format(const DbMap *m, char *buf, size_t len) {
    static const char more[] = ", ...";
    size_t o = 0;
    if (len == 0) return;
    buf[0] = '\0';
    if (m->n == 0) {
        snprintf(buf, len, "every db to the same number");
        return;
    }
    for (int i = 0; i < m->n; i++) {
        char pair[32];
        int n = snprintf(pair, sizeof(pair), "%s%d→%d", i ? ", " : "", m->src[i], m->dst[i]);
        /* Whole pairs only, so that a short buffer never cuts "→" in half;
         * keep room for ", ..." unless this is the last pair. */
        size_t need = (size_t)n + (i + 1 < m->n ? sizeof(more) - 1 : 0);
        if (o + need >= len) {
            const char *tail = o > 0 ? more : more + 2; /* "..." alone if nothing fit */
            if (o + strlen(tail) < len) memcpy(buf + o, tail, strlen(tail) + 1);
            return;
        }
        memcpy(buf + o, pair, (size_t)n + 1);
        o += (size_t)n;
    }
}
