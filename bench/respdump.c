/* ferry-respdump — writes the two RESP files the benchmark feeds to
 * `redis-cli --pipe` to measure the machine's ceiling for a copy:
 *
 *   --reads FILE     PEXPIRETIME k + DUMP k for every key: the work a copy
 *                    asks of the source
 *   --restores FILE  RESTORE k ttl payload ABSTTL REPLACE for every key, with
 *                    the real payloads and absolute expiries: the work a copy
 *                    asks of the target
 *
 *   ferry-respdump --uri redis://127.0.0.1:6379/0 --reads r.resp --restores w.resp
 *
 * Keys are found with SCAN and read with pipelined PEXPIRETIME + DUMP, a
 * batch per SCAN page. A key that vanished between SCAN and DUMP is left out.
 * The files hold no SELECT: run redis-cli with -n DB. The password comes from
 * $FERRY_PASSWORD. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "uri.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f, "usage: ferry-respdump --uri redis://HOST:PORT[/DB] --reads FILE --restores FILE\n"
               "                      [--count N]\n"
               "  --reads FILE     write PEXPIRETIME+DUMP commands (what the source serves)\n"
               "  --restores FILE  write RESTORE ... ABSTTL REPLACE commands (what the target ingests)\n"
               "  --count N        SCAN COUNT hint (default 1000)\n"
               "The password goes in FERRY_PASSWORD, never in --uri.\n");
}

/* Appends one command in RESP to f; -1 on a write error. */
static int write_cmd(FILE *f, int argc, const char **argv, const size_t *lens) {
    char *buf = NULL;
    int n = redisFormatCommandArgv(&buf, argc, argv, lens);
    if (n < 0) return -1;
    size_t w = fwrite(buf, 1, (size_t)n, f);
    free(buf);
    return w == (size_t)n ? 0 : -1;
}

typedef struct Totals {
    long keys, vanished;
    double payload_bytes;
} Totals;

/* Reads ttl and payload of every key of one SCAN page and writes both files. */
static int dump_page(Conn *c, redisReply *keys, FILE *reads, FILE *restores, Totals *t,
                     char *err, size_t errlen) {
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        const char *pargv[2] = {"PEXPIRETIME", k->str}, *dargv[2] = {"DUMP", k->str};
        size_t plens[2] = {11, k->len}, dlens[2] = {4, k->len};
        if (conn_append_argv(c, 2, pargv, plens) == -1 ||
            conn_append_argv(c, 2, dargv, dlens) == -1)
            goto io;
        if (write_cmd(reads, 2, pargv, plens) == -1 || write_cmd(reads, 2, dargv, dlens) == -1)
            return util_err(err, errlen, "cannot write the reads file: %s", strerror(errno));
    }
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        redisReply *ttl = NULL, *dump = NULL;
        if (conn_get_reply(c, &ttl) == -1) goto io;
        if (conn_get_reply(c, &dump) == -1) {
            freeReplyObject(ttl);
            goto io;
        }
        int rc = 0;
        if (ttl->type != REDIS_REPLY_INTEGER || dump->type == REDIS_REPLY_ERROR) {
            redisReply *bad = ttl->type != REDIS_REPLY_INTEGER ? ttl : dump;
            rc = util_err(err, errlen, "%s refused PEXPIRETIME/DUMP %.*s: %.*s", conn_label(c),
                          (int)k->len, k->str, bad->type == REDIS_REPLY_ERROR ? (int)bad->len : 20,
                          bad->type == REDIS_REPLY_ERROR ? bad->str : "unexpected reply type");
        } else if (ttl->integer == -2 || dump->type != REDIS_REPLY_STRING) {
            t->vanished++; /* expired or deleted since SCAN */
        } else {
            char abs[32];
            int alen = snprintf(abs, sizeof abs, "%lld", ttl->integer > 0 ? ttl->integer : 0LL);
            const char *argv[6] = {"RESTORE", k->str, abs, dump->str, "ABSTTL", "REPLACE"};
            size_t lens[6] = {7, k->len, (size_t)alen, dump->len, 6, 7};
            if (write_cmd(restores, 6, argv, lens) == -1)
                rc = util_err(err, errlen, "cannot write the restores file: %s", strerror(errno));
            t->keys++;
            t->payload_bytes += (double)dump->len;
        }
        freeReplyObject(ttl);
        freeReplyObject(dump);
        if (rc) return -1;
    }
    return 0;
io:
    return util_err(err, errlen, "%s: %s", conn_label(c), conn_errstr(c));
}

/* conn's messages name ferry copy's password options (FERRY_TARGET_PASSWORD
 * or --target-password-file); this tool reads FERRY_PASSWORD only. */
static void name_our_password_option(char *err, size_t len) {
    char *at = strstr(err, "FERRY_");
    char *end = at ? strstr(at, "-password-file") : NULL;
    if (!end) return;
    end += strlen("-password-file");
    static const char ours[] = "FERRY_PASSWORD";
    size_t tail = strlen(end) + 1;
    if ((size_t)(at - err) + sizeof ours - 1 + tail > len) return;
    memmove(at + sizeof ours - 1, end, tail);
    memcpy(at, ours, sizeof ours - 1);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"uri", required_argument, NULL, 'u'},      {"reads", required_argument, NULL, 'r'},
        {"restores", required_argument, NULL, 'w'}, {"count", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *uri_text = NULL, *reads_path = NULL, *restores_path = NULL;
    long count = 1000;
    char err[FERRY_ERR_LEN];
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'u': uri_text = optarg; break;
        case 'r': reads_path = optarg; break;
        case 'w': restores_path = optarg; break;
        case 'c':
            errno = 0;
            count = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || count < 1) {
                fprintf(stderr, "ferry-respdump: --count '%s' is not a positive number\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "ferry-respdump: %s needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "ferry-respdump: unknown option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ferry-respdump: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (!uri_text || !reads_path || !restores_path) {
        fprintf(stderr, "ferry-respdump: --uri, --reads and --restores are required (see --help)\n");
        return 2;
    }
    ConnConfig cfg;
    conn_config_init(&cfg, "source");
    if (uri_parse(uri_text, &cfg.uri, err, sizeof err) == -1) {
        fprintf(stderr, "ferry-respdump: %s\n", err);
        return 2;
    }
    if (cfg.uri.has_password) {
        fprintf(stderr, "ferry-respdump: --uri carries a password, which anyone can read with ps: "
                        "remove it and set FERRY_PASSWORD instead\n");
        return 2;
    }
    if (uri_load_password(&cfg.uri, "FERRY_PASSWORD", NULL, err, sizeof err) == -1) {
        fprintf(stderr, "ferry-respdump: %s\n", err);
        return 2;
    }
    util_strlcpy(cfg.client_name, "ferry-respdump", sizeof cfg.client_name);

    FILE *reads = fopen(reads_path, "w");
    if (!reads) {
        fprintf(stderr, "ferry-respdump: cannot create %s: %s\n", reads_path, strerror(errno));
        return 1;
    }
    FILE *restores = fopen(restores_path, "w");
    if (!restores) {
        fprintf(stderr, "ferry-respdump: cannot create %s: %s\n", restores_path, strerror(errno));
        fclose(reads);
        return 1;
    }
    Conn *c = conn_open(&cfg, err, sizeof err);
    int rc = c ? 0 : -1;

    int64_t start = util_mono_ms();
    Totals t = {0, 0, 0};
    char cursor[32] = "0";
    while (rc == 0) {
        redisReply *r = conn_command(c, "SCAN %s COUNT %ld", cursor, count);
        if (!r) {
            rc = util_err(err, sizeof err, "%s: %s", conn_label(c), conn_errstr(c));
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            rc = util_err(err, sizeof err, "%s: unexpected SCAN reply%s%.*s", conn_label(c),
                          r->type == REDIS_REPLY_ERROR ? ": " : "",
                          r->type == REDIS_REPLY_ERROR ? (int)r->len : 0,
                          r->type == REDIS_REPLY_ERROR ? r->str : "");
            freeReplyObject(r);
            break;
        }
        util_strlcpy(cursor, r->element[0]->str, sizeof cursor);
        rc = dump_page(c, r->element[1], reads, restores, &t, err, sizeof err);
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0) break;
    }
    if (c) conn_close(c);
    if (fclose(reads) != 0 && rc == 0)
        rc = util_err(err, sizeof err, "cannot write %s: %s", reads_path, strerror(errno));
    if (fclose(restores) != 0 && rc == 0)
        rc = util_err(err, sizeof err, "cannot write %s: %s", restores_path, strerror(errno));
    if (rc) {
        name_our_password_option(err, sizeof err);
        fprintf(stderr, "ferry-respdump: %s\n", err);
        return 1;
    }
    double secs = (double)(util_mono_ms() - start) / 1000.0;
    char bytes[16];
    util_fmt_bytes(bytes, sizeof bytes, t.payload_bytes);
    printf("ferry-respdump: %ld keys (%s of payloads, %ld vanished) in %.2f s\n", t.keys, bytes,
           t.vanished, secs);
    return 0;
}
