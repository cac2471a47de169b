/* filter — which keys a run touches: Redis glob patterns (the exact semantics
 * of the server's MATCH / KEYS, stringmatchlen), include and exclude lists,
 * and a set of value types.
 *
 * A key is kept when it matches any include pattern (or there are none),
 * matches no exclude pattern, and its type is in the set (empty = all). */
#ifndef FERRY_FILTER_H
#define FERRY_FILTER_H

#include <stddef.h>

/* 1 if string matches pattern under Redis glob rules: * ? [abc] [^a] [a-z]
 * and backslash escapes; nocase folds ASCII case. */
int glob_match(const char *pattern, size_t plen, const char *string, size_t slen, int nocase);

typedef enum {
    FTYPE_STRING = 1 << 0,
    FTYPE_LIST = 1 << 1,
    FTYPE_SET = 1 << 2,
    FTYPE_ZSET = 1 << 3,
    FTYPE_HASH = 1 << 4,
    FTYPE_STREAM = 1 << 5,
    FTYPE_OTHER = 1 << 6, /* module types and anything newer */
} FilterType;
#define FTYPE_ALL 0x7f

typedef struct Filter {
    char **include;
    int ninclude;
    char **exclude;
    int nexclude;
    unsigned types; /* mask of FilterType; 0 = all */
} Filter;

void filter_init(Filter *f);
void filter_free(Filter *f);
/* The filter keeps its own copy of pattern. */
int filter_add_include(Filter *f, const char *pattern, char *err, size_t errlen);
int filter_add_exclude(Filter *f, const char *pattern, char *err, size_t errlen);
/* "string,list,set,zset,hash,stream" (any subset, commas); unknown names fail
 * with a message listing the valid ones. May be called more than once (adds). */
int filter_parse_types(Filter *f, const char *csv, char *err, size_t errlen);

/* Name → FilterType (the names TYPE returns); FTYPE_OTHER for unknown names. */
unsigned filter_type_from_name(const char *name);
const char *filter_type_name(unsigned type);

/* 1 if the key passes include/exclude. */
int filter_key(const Filter *f, const char *key, size_t len);
/* 1 if the type (a FilterType bit) passes. */
int filter_type(const Filter *f, unsigned type);

/* The pattern to send as SCAN MATCH: the single include pattern, or NULL
 * when there are none or several (then filtering happens client-side). */
const char *filter_server_match(const Filter *f);
/* The type name to send as SCAN TYPE: when exactly one type is selected. */
const char *filter_server_type(const Filter *f);

#endif
