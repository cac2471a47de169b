/* rdb — a streaming reader for Redis and Valkey RDB snapshots.
 *
 * It walks a snapshot record by record and hands each key back with the
 * value's bytes exactly as the file holds them, turned into a RESTORE
 * payload: type byte + encoded value + 2-byte RDB version (little endian) +
 * CRC64 of all that — what DUMP produces. Values are not decoded into
 * structures: the reader walks each encoding only far enough to know where
 * it ends (lengths, container counts, stream groups and PELs) and checks the
 * headers of the blobs it passes (listpack, ziplist, intset, zipmap).
 *
 * Formats: "REDIS0001".."REDIS0012" (Redis up to 7.4) and "VALKEY080"
 * (Valkey 9). Every value type and encoding those write, including 7.4's
 * hashes with field TTLs (types 22-25) and Valkey 9's (type 22), and module
 * values of the self-describing kind (type 7). Opcodes: AUX, SELECTDB,
 * RESIZEDB, EXPIRETIME(_MS), IDLE, FREQ, SLOT_INFO, MODULE_AUX, FUNCTION2,
 * EOF with its CRC64 (verified unless the writer stored 0).
 *
 * Input comes from a byte source, so the same reader serves a file and a
 * replication socket. For a socket, rdb_reader_set_framing() takes the bulk
 * header the primary sent before the payload: "$<len>" (disk-backed: never
 * read past len) or "$EOF:<40 bytes>" (diskless: the RDB is self-delimiting
 * and the 40-byte mark that follows it is checked). Whatever the reader
 * pulled from the source past the end (the start of the replication stream)
 * is returned by rdb_reader_leftover().
 *
 * Robustness: a corrupt or truncated input gives one line with the name and
 * byte offset ("dump.rdb: offset 12345: bad length encoding 0xc7 in key
 * \"user:1\" (hash): the file is corrupt or not an RDB"). Declared lengths
 * are checked against the bytes left when the size is known, buffers only
 * grow as data really arrives, every loop consumes input: no crash, no
 * absurd allocation, no hang. Library code: never prints, never exits. */
#ifndef FERRY_RDB_H
#define FERRY_RDB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Value types (the byte before the key). */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE_PRE_GA = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
    RDB_TYPE_SET_LISTPACK = 20,
    RDB_TYPE_STREAM_LISTPACKS_3 = 21,
    /* 22 means two things: Redis 7.4 release candidates' hash with field
     * TTLs, and Valkey 9's (RDB 80). The file's magic tells which. */
    RDB_TYPE_HASH_METADATA_PRE_GA = 22,
    RDB_TYPE_VALKEY_HASH_2 = 22,
    RDB_TYPE_HASH_LISTPACK_EX_PRE_GA = 23,
    RDB_TYPE_HASH_METADATA = 24,
    RDB_TYPE_HASH_LISTPACK_EX = 25,
};

/* Versions this reader accepts. */
#define RDB_VERSION_MIN 1
#define RDB_VERSION_REDIS_MAX 12
#define RDB_VERSION_VALKEY 80

/* Bytes after the value in a RESTORE payload: version (2) + CRC64 (8). */
#define RDB_PAYLOAD_FOOTER 10

/* A byte source: reads up to len bytes into buf. Returns the number read
 * (> 0), 0 at the end of the input, or -1 with a one-line message in err. */
typedef ssize_t (*RdbReadFn)(void *ud, void *buf, size_t len, char *err, size_t errlen);

/* Asked before a key's value is read: 1 = build its payload, 0 = skip the
 * value (walked, checked against the file checksum, not copied). */
typedef int (*RdbWantFn)(void *ud, int db, const char *key, size_t keylen, int rdb_type);

typedef enum {
    RDB_EV_KEY = 1,    /* a key and its value */
    RDB_EV_AUX,        /* name/value: redis-ver, ctime, repl-id, ... */
    RDB_EV_FUNCTION,   /* value: a function library's code (FUNCTION2) */
    RDB_EV_SELECTDB,   /* db: the db the following keys belong to */
    RDB_EV_RESIZEDB,   /* db_size, expires_size: hints for the current db */
    RDB_EV_MODULE_AUX, /* module: a module's own (non-key) data, skipped */
    RDB_EV_END         /* the end marker; checksum tells whether it was verified */
} RdbEventType;

/* One record. Pointers stay valid until the next rdb_next() call. */
typedef struct RdbEvent {
    RdbEventType type;
    uint64_t offset;      /* byte offset where the record starts */
    int db;               /* the current db */
    /* RDB_EV_KEY */
    const char *key;
    size_t keylen;
    int rdb_type;
    int64_t expire_ms;    /* absolute unix time in ms; 0 = no expiry */
    int64_t idle_s;       /* LRU idle seconds, -1 = not in the file */
    int freq;             /* LFU counter, -1 = not in the file */
    const unsigned char *payload; /* RESTORE payload; NULL when RdbWantFn said 0 */
    size_t payload_len;
    size_t value_len;     /* bytes the value took in the file (type byte included) */
    char module[10];      /* module values and MODULE_AUX: the module's name */
    /* RDB_EV_AUX (name, value), RDB_EV_FUNCTION (value) */
    const char *name;
    size_t namelen;
    const char *value;
    size_t valuelen;
    /* RDB_EV_RESIZEDB */
    uint64_t db_size, expires_size;
    /* RDB_EV_END: 1 = CRC64 verified; 0 = the writer stored none */
    int checksum;
} RdbEvent;

typedef struct RdbReader RdbReader;

/* A reader over any byte source. name is used in messages (e.g. the file
 * name, or "primary 10.0.0.7:6379"). size: bytes the source holds, 0 when
 * unknown. The caller keeps ud alive and closes whatever it refers to. */
RdbReader *rdb_reader_new(RdbReadFn fn, void *ud, const char *name, uint64_t size);
/* Opens a file (the reader owns the descriptor; its size is the limit).
 * NULL with a message ("cannot open dump.rdb: No such file or directory")
 * on error. */
RdbReader *rdb_reader_open_file(const char *path, char *err, size_t errlen);
void rdb_reader_free(RdbReader *r);

/* For a replication socket: the bulk header line the primary sent before
 * the payload, without its CRLF: "$<len>" or "$EOF:<40 bytes>". Call
 * before the first read. -1 with a message when it is neither. */
int rdb_reader_set_framing(RdbReader *r, const char *line, size_t len, char *err, size_t errlen);

/* Only keys the callback wants get a payload. */
void rdb_reader_set_want(RdbReader *r, RdbWantFn fn, void *ud);

/* Reads the magic and version. rdb_next() does it on its first call; call
 * it first to learn the version before reading on. */
int rdb_read_header(RdbReader *r, char *err, size_t errlen);

/* The next record into *ev. Returns 1 (a record), 0 (after RDB_EV_END was
 * returned: nothing more) or -1 with a one-line message (and from then on
 * always -1 with the same message). */
int rdb_next(RdbReader *r, RdbEvent *ev, char *err, size_t errlen);

int rdb_reader_version(const RdbReader *r); /* 0 before the header */
int rdb_reader_is_valkey(const RdbReader *r); /* "VALKEY" magic */
uint64_t rdb_reader_offset(const RdbReader *r); /* bytes of RDB consumed */
uint64_t rdb_reader_size(const RdbReader *r);   /* 0 = unknown */
/* Bytes read from the source beyond the end of the RDB (and of the EOF
 * mark): the replication stream's first bytes. Valid after RDB_EV_END,
 * until rdb_reader_free(). */
void rdb_reader_leftover(const RdbReader *r, const unsigned char **p, size_t *len);
/* File only: bytes after the end marker and checksum (an AOF tail). */
uint64_t rdb_reader_trailing(const RdbReader *r);

/* "string", "list", "set", "zset", "hash", "stream", "module" for a value
 * type (the names TYPE answers), or NULL for an unknown type. */
const char *rdb_type_name(int rdb_type);

/* Checks a file's end marker and CRC64 before anything is read from it:
 * 1 = verified, 0 = the writer stored no checksum (or the version predates
 * checksums), -1 with a message: corrupt, truncated, not an RDB, or stopped
 * because *cancel became non-zero. Reads the whole file once; *done (may be
 * NULL) follows the bytes checked. */
int rdb_file_verify(const char *path, const _Atomic int *cancel, _Atomic uint64_t *done,
                    char *err, size_t errlen);

/* The elements of a set or hash payload, in the payload's order, decoded
 * (integers as decimal text): a set's members, or a hash's field, value,
 * field, value... fn returns 0 to go on. Returns 0, or -1 when the payload
 * is not a set or hash in an encoding this knows (plain, intset, listpack,
 * ziplist, zipmap; not the field-TTL kinds) or is malformed, or fn said
 * stop. The footer is not checked (see rdb_payload_verify). For comparing
 * contents when two servers lay the same value out differently. */
typedef int (*RdbElementFn)(void *ud, const unsigned char *s, size_t len);
int rdb_payload_elements(const unsigned char *p, size_t len, RdbElementFn fn, void *ud);

/* Decoding payloads in memory (rdb_payload_elements, rdbvalue.c): a cursor
 * over RDB-encoded bytes and the packed containers' elements. */
typedef struct RdbCursor {
    const unsigned char *p, *end;
    unsigned char *tmp; /* LZF output, owned: rdb_cursor_free() */
} RdbCursor;
/* A length (*enc = -1), or the number of a string encoding (*enc 0..63,
 * *v = 0) when the top bits are 11. -1 when the bytes end. */
int rdb_cursor_len(RdbCursor *c, uint64_t *v, int *enc);
/* One string, decoded: *s points into the input, into c->tmp (LZF; valid
 * until the next call) or into num (integer encodings as decimal text).
 * -1 when malformed or truncated. */
int rdb_cursor_string(RdbCursor *c, const unsigned char **s, size_t *n, char num[24]);
void rdb_cursor_free(RdbCursor *c);

enum { RDB_PACKED_LISTPACK = 1, RDB_PACKED_ZIPLIST, RDB_PACKED_INTSET, RDB_PACKED_ZIPMAP };
/* The elements of one packed container (its whole blob, p/n bytes), in
 * order, integers as decimal text; a zipmap gives field, value, ... fn's
 * pointers are valid during the call only. 0, or -1 when malformed or fn
 * returned non-zero. */
int rdb_packed_elements(int kind, const unsigned char *p, size_t n, RdbElementFn fn, void *ud);

/* A module type's name ("AEjRWeJq8") from the 64-bit id a module value or
 * module AUX record starts with. */
void rdb_module_name(uint64_t id, char name[10]);

/* Checks a DUMP/RESTORE payload's footer: 0 and *version, or -1. */
int rdb_payload_verify(const unsigned char *p, size_t len, int *version);

/* Decompresses LZF (as Redis's lzf_decompress): returns the bytes written,
 * which the caller compares with the length it expected; 0 on corrupt input
 * or when out is too small. */
size_t rdb_lzf_decompress(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen);

#endif
