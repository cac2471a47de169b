/* filter — decides which keys a run touches: Redis glob patterns, include
 * and exclude lists, and a set of value types.
 *
 * glob_match() reproduces the server's stringmatchlen() (util.c) exactly, so
 * that a pattern filtered here keeps the same keys as the same pattern sent as
 * SCAN MATCH. The server matches recursively; this file matches iteratively
 * with one backtrack point, which gives the same answers in O(pattern × key)
 * time however many '*' a pattern holds. The server's quirks are kept on
 * purpose (each is named where it is handled):
 *   - an empty key matches only the empty pattern (not even "*");
 *   - inside [...], a backslash-escaped character ignores nocase, a range
 *     whose ends are reversed is swapped before case folding, and a class with
 *     no closing ']' runs to the end of the pattern;
 *   - a lone trailing backslash matches a backslash;
 *   - bytes compare as plain char, as in a server built for the same CPU;
 *     under nocase, glibc's tolower() turns a negative char c into c + 256
 *     (but leaves -1, which is EOF), which moves bytes >= 0x80 inside a
 *     range: glob_fold() does the same;
 *   - a pattern with more than 1000 '*' runs followed by something else never
 *     matches (the server's guard against abusive patterns). */
#include "filter.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The server gives up past this many nested '*' (stringmatchlen's nesting). */
#define GLOB_MAX_STARS 1000

/* Case folding as the server's tolower() does it (glibc, C locale): ASCII
 * letters only, and a negative plain char other than EOF (-1) comes back as
 * its unsigned value. */
static int glob_fold(int c) {
    if (c < -1) return c + 256;
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Length of the pattern element that starts at p[0] (plen > 0): 1 for '*',
 * '?' and plain characters, 2 for "\x", the whole class for "[...]". */
static size_t glob_element_len(const char *p, size_t plen) {
    if (p[0] == '\\') return plen >= 2 ? 2 : 1;
    if (p[0] != '[') return 1;
    size_t i = 1;
    if (i < plen && p[i] == '^') i++;
    while (i < plen) {
        if (plen - i >= 2 && p[i] == '\\')
            i += 2;
        else if (p[i] == ']')
            return i + 1;
        else if (plen - i >= 3 && p[i + 1] == '-')
            i += 3;
        else
            i++;
    }
    return plen; /* no ']': the class runs to the end of the pattern */
}

/* 1 if the class element p[0..elen) ("[" ... ["]"]) accepts character c. */
static int glob_class_match(const char *p, size_t elen, char c, int nocase) {
    size_t i = 1;
    int negate = 0, match = 0;
    if (i < elen && p[i] == '^') {
        negate = 1;
        i++;
    }
    while (i < elen && !match) {
        if (elen - i >= 2 && p[i] == '\\') {
            match = p[i + 1] == c; /* escaped: exact, even with nocase */
            i += 2;
        } else if (p[i] == ']') {
            break;
        } else if (elen - i >= 3 && p[i + 1] == '-') {
            int lo = p[i], hi = p[i + 2], ch = c;
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = glob_fold(lo);
                hi = glob_fold(hi);
                ch = glob_fold(ch);
            }
            match = ch >= lo && ch <= hi;
            i += 3;
        } else {
            match = nocase ? glob_fold(p[i]) == glob_fold(c) : p[i] == c;
            i++;
        }
    }
    return negate ? !match : match;
}

/* 1 if the single-character element p[0..elen) accepts c. */
static int glob_element_match(const char *p, size_t elen, char c, int nocase) {
    switch (p[0]) {
    case '?':
        return 1;
    case '[':
        return glob_class_match(p, elen, c, nocase);
    case '\\':
        if (elen == 2) p++; /* else a trailing '\' stands for itself */
        /* fall through */
    default:
        return nocase ? glob_fold(*p) == glob_fold(c) : *p == c;
    }
}

/* Number of '*' runs that have a non-'*' element somewhere after them: the
 * depth the server's recursive matcher must reach to match at all. */
static size_t glob_inner_star_runs(const char *p, size_t plen) {
    size_t runs = 0, pending = 0, i = 0;
    while (i < plen) {
        if (p[i] == '*') {
            pending = 1;
            while (i < plen && p[i] == '*') i++;
            continue;
        }
        runs += pending;
        pending = 0;
        i += glob_element_len(p + i, plen - i);
    }
    return runs;
}

int glob_match(const char *pattern, size_t plen, const char *string, size_t slen, int nocase) {
    /* The server's loop never runs for an empty key: only "" matches it. */
    if (slen == 0) return plen == 0;
    if (glob_inner_star_runs(pattern, plen) > GLOB_MAX_STARS) return 0;

    size_t p = 0, s = 0;
    /* Where to resume after the last '*': the element after it, and the key
     * position that '*' has swallowed up to. */
    int have_star = 0;
    size_t star_p = 0, star_s = 0;
    while (s < slen) {
        if (p < plen && pattern[p] == '*') {
            while (p < plen && pattern[p] == '*') p++;
            if (p == plen) return 1;
            have_star = 1;
            star_p = p;
            star_s = s;
            continue;
        }
        if (p < plen) {
            size_t elen = glob_element_len(pattern + p, plen - p);
            if (glob_element_match(pattern + p, elen, string[s], nocase)) {
                p += elen;
                s++;
                continue;
            }
        }
        if (!have_star) return 0;
        /* Let the last '*' swallow one more character and retry from there.
         * Earlier '*' never need to move: any key position reachable through
         * them is reachable through the last one. */
        p = star_p;
        s = ++star_s;
    }
    while (p < plen && pattern[p] == '*') p++;
    return p == plen;
}

/* ---- filter ---------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bit;
} filter_types[] = {
    {"string", FTYPE_STRING}, {"list", FTYPE_LIST}, {"set", FTYPE_SET},
    {"zset", FTYPE_ZSET},     {"hash", FTYPE_HASH}, {"stream", FTYPE_STREAM},
};
#define FILTER_NTYPES (sizeof(filter_types) / sizeof(filter_types[0]))
#define FILTER_TYPE_LIST "string, list, set, zset, hash, stream"

void filter_init(Filter *f) {
    memset(f, 0, sizeof(*f));
}

static void filter_free_list(char **list, int n) {
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

void filter_free(Filter *f) {
    if (!f) return;
    filter_free_list(f->include, f->ninclude);
    filter_free_list(f->exclude, f->nexclude);
    filter_init(f);
}

/* Appends a copy of pattern to *list; what names the list in messages. */
static int filter_add(char ***list, int *n, const char *pattern, const char *what, char *err,
                      size_t errlen) {
    if (!pattern || !pattern[0])
        return util_err(err, errlen,
                        "empty %s pattern: it would match only the empty key name; "
                        "use '*' for every key",
                        what);
    char *copy = strdup(pattern);
    char **grown = copy ? realloc(*list, (size_t)(*n + 1) * sizeof(**list)) : NULL;
    if (!grown) {
        free(copy);
        return util_err(err, errlen, "out of memory adding %s pattern \"%.100s\"", what, pattern);
    }
    grown[(*n)++] = copy;
    *list = grown;
    return 0;
}

int filter_add_include(Filter *f, const char *pattern, char *err, size_t errlen) {
    return filter_add(&f->include, &f->ninclude, pattern, "include", err, errlen);
}

int filter_add_exclude(Filter *f, const char *pattern, char *err, size_t errlen) {
    return filter_add(&f->exclude, &f->nexclude, pattern, "exclude", err, errlen);
}

int filter_parse_types(Filter *f, const char *csv, char *err, size_t errlen) {
    unsigned mask = 0;
    const char *s = csv ? csv : "";
    for (;;) {
        while (*s == ' ' || *s == '\t') s++;
        size_t n = strcspn(s, ",");
        size_t len = n;
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        if (len == 0)
            return util_err(err, errlen,
                            "type list \"%.100s\" has an empty name; give a comma-separated "
                            "subset of: " FILTER_TYPE_LIST,
                            csv ? csv : "");
        unsigned bit = 0;
        for (size_t i = 0; i < FILTER_NTYPES; i++)
            if (strlen(filter_types[i].name) == len && !strncasecmp(s, filter_types[i].name, len))
                bit = filter_types[i].bit;
        if (!bit)
            return util_err(err, errlen, "unknown key type \"%.*s\"; valid types are " FILTER_TYPE_LIST,
                            (int)(len > 60 ? 60 : len), s);
        mask |= bit;
        if (s[n] == '\0') break;
        s += n + 1;
    }
    f->types |= mask; /* only on success: a bad list leaves the filter as it was */
    return 0;
}

unsigned filter_type_from_name(const char *name) {
    if (name)
        for (size_t i = 0; i < FILTER_NTYPES; i++)
            if (!strcasecmp(name, filter_types[i].name)) return filter_types[i].bit;
    return FTYPE_OTHER;
}

const char *filter_type_name(unsigned type) {
    for (size_t i = 0; i < FILTER_NTYPES; i++)
        if (type == filter_types[i].bit) return filter_types[i].name;
    return type == FTYPE_OTHER ? "other" : "unknown";
}

/* Like the server's SCAN / KEYS: a lone "*" is not matched at all but lets
 * every key through, the empty key name included. */
static int filter_pattern_match(const char *pattern, const char *key, size_t len) {
    if (pattern[0] == '*' && pattern[1] == '\0') return 1;
    return glob_match(pattern, strlen(pattern), key, len, 0);
}

int filter_key(const Filter *f, const char *key, size_t len) {
    if (f->ninclude > 0) {
        int any = 0;
        for (int i = 0; i < f->ninclude && !any; i++)
            any = filter_pattern_match(f->include[i], key, len);
        if (!any) return 0;
    }
    for (int i = 0; i < f->nexclude; i++)
        if (filter_pattern_match(f->exclude[i], key, len)) return 0;
    return 1;
}

int filter_type(const Filter *f, unsigned type) {
    return f->types == 0 || (f->types & type) != 0;
}

const char *filter_server_match(const Filter *f) {
    return f->ninclude == 1 ? f->include[0] : NULL;
}

const char *filter_server_type(const Filter *f) {
    for (size_t i = 0; i < FILTER_NTYPES; i++)
        if (f->types == filter_types[i].bit) return filter_types[i].name;
    return NULL; /* none, several, or only module types: filter client-side */
}
