/* serverinfo — INFO parsing and version facts. */
#include "serverinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void serverinfo_field(ServerInfo *o, const char *name, const char *val) {
    if (!strcmp(name, "redis_version")) {
        if (!o->server_name[0]) util_strlcpy(o->server_name, "redis", sizeof(o->server_name));
        if (!o->version[0]) util_strlcpy(o->version, val, sizeof(o->version));
    } else if (!strcmp(name, "valkey_version")) {
        util_strlcpy(o->server_name, "valkey", sizeof(o->server_name));
        util_strlcpy(o->version, val, sizeof(o->version));
    } else if (!strcmp(name, "server_name")) {
        util_strlcpy(o->server_name, val, sizeof(o->server_name));
    } else if (!strcmp(name, "run_id")) {
        util_strlcpy(o->run_id, val, sizeof(o->run_id));
    } else if (!strcmp(name, "role")) {
        util_strlcpy(o->role, val, sizeof(o->role));
    } else if (!strcmp(name, "cluster_enabled")) {
        o->cluster_enabled = atoi(val);
    } else if (!strcmp(name, "used_memory")) {
        o->used_memory = strtoull(val, NULL, 10);
    } else if (!strcmp(name, "maxmemory")) {
        o->maxmemory = strtoull(val, NULL, 10);
    } else if (!strcmp(name, "maxmemory_policy")) {
        util_strlcpy(o->maxmemory_policy, val, sizeof(o->maxmemory_policy));
    } else if (!strcmp(name, "instantaneous_ops_per_sec")) {
        o->ops_per_sec = strtod(val, NULL);
    } else if (!strcmp(name, "connected_clients")) {
        o->clients = strtol(val, NULL, 10);
    } else if (!strncmp(name, "db", 2) && name[2] >= '0' && name[2] <= '9') {
        int db = atoi(name + 2);
        if (db < 0 || db >= SERVERINFO_MAX_DB) return;
        const char *k = strstr(val, "keys=");
        const char *e = strstr(val, "expires=");
        if (k) o->db_keys[db] = strtoull(k + 5, NULL, 10);
        if (e) o->db_expires[db] = strtoull(e + 8, NULL, 10);
        if (o->db_keys[db] && db > o->max_db_seen) o->max_db_seen = db;
    }
}

void serverinfo_parse(const char *text, ServerInfo *o) {
    memset(o, 0, sizeof(*o));
    o->max_db_seen = -1;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n && p[n - 1] == '\r') n--;
        if (n > 0 && n < 1024 && p[0] != '#') {
            char line[1024];
            memcpy(line, p, n);
            line[n] = '\0';
            char *colon = strchr(line, ':');
            if (colon) {
                *colon = '\0';
                serverinfo_field(o, line, colon + 1);
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    sscanf(o->version, "%d.%d.%d", &o->major, &o->minor, &o->patch);
    o->rdb_version = serverinfo_rdb_for(o->server_name, o->major, o->minor);
}

int serverinfo_fetch(Conn *c, ServerInfo *out, char *err, size_t errlen) {
    redisReply *r = conn_command(c, "INFO");
    if (!r) return util_err(err, errlen, "%s: INFO failed: %s", conn_label(c), conn_errstr(c));
    if (r->type != REDIS_REPLY_STRING) {
        util_err(err, errlen, "%s refused INFO: %s; ferry needs INFO to check the server",
                 conn_label(c), r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    serverinfo_parse(r->str, out);
    freeReplyObject(r);
    return 0;
}

int serverinfo_rdb_for(const char *name, int major, int minor) {
    if (name && !strcmp(name, "valkey")) {
        if (major >= 9) return 80;
        if (major >= 7) return 11;
        return 0;
    }
    if (major > 7 || (major == 7 && minor >= 4)) return 12;
    if (major == 7 && minor >= 2) return 11;
    if (major == 7) return 10;
    if (major == 6) return 9;
    if (major == 5) return 9;
    return 0;
}

int serverinfo_payload_compatible(int src, int dst) {
    if (!src || !dst) return 1; /* unknown: let RESTORE decide, errors are counted */
    if (dst >= 80) return src <= 11 || (src >= 80 && src <= dst);
    return src <= dst;
}

int serverinfo_has_pexpiretime(const ServerInfo *si) { return si->major >= 7; }

int serverinfo_policy_evicts(const ServerInfo *si) {
    return si->maxmemory_policy[0] && strcmp(si->maxmemory_policy, "noeviction") != 0;
}
