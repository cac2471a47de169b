/* serverinfo — what a server says about itself in INFO, parsed into fields
 * ferry decides on: version and DUMP payload (RDB) version, run_id (the
 * same-server guard), role, memory and eviction policy, cluster mode, and
 * key counts per db. */
#ifndef FERRY_SERVERINFO_H
#define FERRY_SERVERINFO_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

#define SERVERINFO_MAX_DB 256

typedef struct ServerInfo {
    char server_name[16];  /* "redis" or "valkey" */
    char version[32];      /* e.g. "7.0.15" */
    int major, minor, patch;
    int rdb_version;       /* payload version DUMP writes / RESTORE accepts; 0 unknown */
    char run_id[48];
    char role[16];         /* master / slave */
    int cluster_enabled;
    uint64_t used_memory, maxmemory;
    char maxmemory_policy[32];
    double ops_per_sec;
    long clients;
    uint64_t db_keys[SERVERINFO_MAX_DB]; /* keys per db (0 when absent) */
    uint64_t db_expires[SERVERINFO_MAX_DB];
    int max_db_seen;       /* highest db number with keys, -1 if none */
} ServerInfo;

/* Parses the text of an INFO reply. Unknown lines are ignored. */
void serverinfo_parse(const char *text, ServerInfo *out);
/* Runs INFO on c and parses it. -1 with a message on error. */
int serverinfo_fetch(Conn *c, ServerInfo *out, char *err, size_t errlen);

/* The RDB version a server of this name and version writes into DUMP
 * payloads (Redis 6.x = 9, 7.0 = 10, 7.2 = 11, 7.4+ = 12; Valkey 7.2/8.x = 11,
 * Valkey 9+ = 80); 0 when unknown (too old). */
int serverinfo_rdb_for(const char *server_name, int major, int minor);
/* 1 if a target whose RDB version is dst accepts payloads of version src.
 * Valkey 9 (80) accepts Redis payloads up to 11 but not Redis 7.4's 12. */
int serverinfo_payload_compatible(int src, int dst);
/* 1 if the server has PEXPIRETIME (Redis/Valkey >= 7.0). */
int serverinfo_has_pexpiretime(const ServerInfo *si);
/* 1 if maxmemory-policy can evict keys that were written (anything but noeviction). */
int serverinfo_policy_evicts(const ServerInfo *si);

#endif
