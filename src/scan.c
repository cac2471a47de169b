/* scan — SCAN pages and key batches. No threads here: the engine's scanner
 * thread calls scan_page() in its loop and fills Batches. */
#include "scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

Batch *batch_new(int src_db, int dst_db, int cap) {
    Batch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->src_db = src_db;
    b->dst_db = dst_db;
    b->cap = cap > 0 ? cap : 1;
    b->off = malloc(sizeof(size_t) * b->cap);
    b->len = malloc(sizeof(size_t) * b->cap);
    b->bufcap = (size_t)b->cap * 32;
    b->buf = malloc(b->bufcap);
    if (!b->off || !b->len || !b->buf) {
        batch_free(b);
        return NULL;
    }
    return b;
}

void batch_free(Batch *b) {
    if (!b) return;
    free(b->off);
    free(b->len);
    free(b->buf);
    free(b);
}

int batch_add(Batch *b, const char *key, size_t len) {
    if (b->n == b->cap) {
        int ncap = b->cap * 2;
        size_t *noff = realloc(b->off, sizeof(size_t) * ncap);
        if (!noff) return -1;
        b->off = noff;
        size_t *nlen = realloc(b->len, sizeof(size_t) * ncap);
        if (!nlen) return -1;
        b->len = nlen;
        b->cap = ncap;
    }
    if (b->used + len + 1 > b->bufcap) {
        size_t ncap = b->bufcap * 2;
        while (ncap < b->used + len + 1) ncap *= 2;
        char *nbuf = realloc(b->buf, ncap);
        if (!nbuf) return -1;
        b->buf = nbuf;
        b->bufcap = ncap;
    }
    memcpy(b->buf + b->used, key, len);
    b->buf[b->used + len] = '\0';
    b->off[b->n] = b->used;
    b->len[b->n] = len;
    b->used += len + 1;
    b->n++;
    return 0;
}

int scan_page(Conn *c, uint64_t cursor, const char *match, const char *type, int count,
              ScanPage *out, char *err, size_t errlen) {
    char cur[32], cnt[16];
    const char *argv[8];
    size_t lens[8];
    int argc = 0;
    snprintf(cur, sizeof(cur), "%llu", (unsigned long long)cursor);
    snprintf(cnt, sizeof(cnt), "%d", count > 0 ? count : 1000);
    argv[argc++] = "SCAN";
    argv[argc++] = cur;
    if (match) {
        argv[argc++] = "MATCH";
        argv[argc++] = match;
    }
    argv[argc++] = "COUNT";
    argv[argc++] = cnt;
    if (type) {
        argv[argc++] = "TYPE";
        argv[argc++] = type;
    }
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);

    memset(out, 0, sizeof(*out));
    redisReply *r = conn_command_argv(c, argc, argv, lens);
    if (!r) return util_err(err, errlen, "%s: SCAN failed: %s", conn_label(c), conn_errstr(c));
    if (r->type == REDIS_REPLY_ERROR) {
        util_err(err, errlen, "%s refused SCAN: %s", conn_label(c), r->str);
        freeReplyObject(r);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return util_err(err, errlen, "%s: unexpected SCAN reply shape", conn_label(c));
    }
    out->next_cursor = strtoull(r->element[0]->str, NULL, 10);
    out->reply = r;
    out->nkeys = r->element[1]->elements;
    out->keys = r->element[1]->element;
    return 0;
}

void scan_page_free(ScanPage *p) {
    if (p->reply) freeReplyObject(p->reply);
    memset(p, 0, sizeof(*p));
}

double scan_cursor_progress(uint64_t cursor) {
    uint64_t v = cursor, r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return (double)r / 18446744073709551616.0;
}
