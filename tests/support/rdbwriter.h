/* rdbwriter — RDB bytes built by hand, for tests: a growing buffer, RDB
 * lengths and strings, listpacks, ziplists and intsets in the encodings
 * Redis itself writes, file headers and footers, DUMP-payload footers; and
 * for tests that rewrite a payload a server wrote, a walker over its
 * lengths and strings and a stream rewrite to the other stream versions.
 * Needs no server: unit and integration tests both link it. Allocation
 * failure or a payload that does not walk fails the test (cmocka). */
#ifndef FERRY_RDBWRITER_H
#define FERRY_RDBWRITER_H

#include <stddef.h>
#include <stdint.h>

/* Start from {0}; p is owned by the writer until rw_free. */
typedef struct RdbWriter {
    unsigned char *p;
    size_t len, cap;
} RdbWriter;

/* Appends n bytes (n may be 0, p then NULL). */
void rw_bytes(RdbWriter *w, const void *p, size_t n);
void rw_u8(RdbWriter *w, unsigned v);
/* v as n bytes, little- / big-endian. */
void rw_le(RdbWriter *w, uint64_t v, int n);
void rw_be(RdbWriter *w, uint64_t v, int n);
/* An RDB length: 6-bit, 14-bit, 32-bit or 64-bit form, the shortest. */
void rw_len(RdbWriter *w, uint64_t v);
/* An RDB string: length, then the bytes. */
void rw_str(RdbWriter *w, const void *p, size_t n);
void rw_cstr(RdbWriter *w, const char *s);
/* Frees the buffer and leaves w as {0}. */
void rw_free(RdbWriter *w);

/* As an RDB string: a listpack / ziplist of items (integers in their
 * integer encodings, as Redis stores them), an intset of n values of enc
 * bytes each (2, 4 or 8). */
void rw_listpack(RdbWriter *out, const char *const *items, int n);
void rw_ziplist(RdbWriter *out, const char *const *items, int n);
void rw_intset(RdbWriter *out, int enc, const long long *v, int n);

/* A file's start: the 9-byte magic ("REDIS0009", "VALKEY080") and one AUX
 * field (redis-ver). */
void rw_file_header(RdbWriter *w, const char *magic);
/* A file's end: the EOF opcode and the CRC64 of everything before it. */
void rw_file_footer(RdbWriter *w);
/* A DUMP payload's end: the RDB version (2 bytes) and the CRC64 of
 * everything before it. */
void rw_payload_footer(RdbWriter *w, int version);

/* Walking a payload (no bounds check: the test's own server wrote it).
 * rw_skip_len reads one RDB length into *v, or an encoding (11xxxxxx) into
 * *enc (else -1); rw_skip_str skips one RDB string, integer- or
 * LZF-encoded ones too. Both return what follows. */
const unsigned char *rw_skip_len(const unsigned char *p, uint64_t *v, int *enc);
const unsigned char *rw_skip_str(const unsigned char *p);

/* A Redis 7.0 stream payload p (type 19, v2, with its footer) rewritten as
 * v1 (to 1: without first/max-deleted ids, entries-added and groups'
 * entries-read) or as v3 (to 3: each consumer gains an active time after
 * its seen time). Appends the value bytes only, not the type byte. */
void rw_stream_v2_as(const unsigned char *p, size_t len, int to, RdbWriter *out);

#endif
