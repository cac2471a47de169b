/* demo — two sandboxed servers, a dataset, and a trickle of live traffic.
 *
 * The traffic thread owns one connection to the source. About 20 times a
 * second it writes a few strings and counters, appends to two streams and
 * lets two consumer groups read and acknowledge part of what arrives, so
 * pending counts move the way a real event service's do. */
#include "demo.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "datagen.h"
#include "util.h"

void demo_options_init(DemoOptions *o) {
    o->keys = 300000;
    o->traffic = 1;
}

typedef struct DemoGen {
    void (*progress)(const char *, long, long, void *);
    void *ud;
    long total;
} DemoGen;

static void demo_gen_progress(long done, void *ud) {
    DemoGen *g = ud;
    if (g->progress) g->progress("generating the demo dataset", done, g->total, g->ud);
}

static void demo_cmd(Conn *c, const char *fmt, const char *a, long n) {
    redisReply *r = conn_command(c, fmt, a, n);
    if (r) freeReplyObject(r);
}

static void *demo_traffic_main(void *arg) {
    Demo *d = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    ConnConfig cfg;
    conn_config_init(&cfg, "source");
    util_strlcpy(cfg.client_name, "ferry-demo-traffic", sizeof(cfg.client_name));
    char err[FERRY_ERR_LEN];
    if (uri_parse(d->source_uri, &cfg.uri, err, sizeof(err)) != 0) return NULL;
    Conn *c = conn_open(&cfg, err, sizeof(err));
    if (!c) return NULL;
    const char *streams[2] = {"events:live:orders", "events:live:payments"};
    for (int s = 0; s < 2; s++) {
        demo_cmd(c, "XGROUP CREATE %s billing $ MKSTREAM", streams[s], 0);
        demo_cmd(c, "XGROUP CREATE %s audit $ MKSTREAM", streams[s], 0);
    }
    long n = 0;
    while (!d->traffic_stop) {
        n++;
        conn_append(c, "SET live:session:%ld %ld PX 600000", n % 5000, n);
        conn_append(c, "INCR live:counter");
        conn_append(c, "XADD %s * n %ld", streams[n % 2], n);
        if (n % 3 == 0) conn_append(c, "XREADGROUP GROUP billing c%ld COUNT 2 STREAMS %s >", n % 4, streams[n % 2]);
        if (n % 5 == 0) conn_append(c, "XREADGROUP GROUP audit a%ld COUNT 1 STREAMS %s >", n % 2, streams[n % 2]);
        size_t pending = conn_pending(c);
        int broken = 0;
        for (size_t i = 0; i < pending; i++) {
            redisReply *r;
            if (conn_get_reply(c, &r) != 0) {
                broken = 1;
                break;
            }
            /* Acknowledge about half of what billing read, so a PEL remains. */
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && n % 2 == 0) {
                redisReply *st = r->element[0];
                if (st->type == REDIS_REPLY_ARRAY && st->elements == 2 && st->element[1]->type == REDIS_REPLY_ARRAY &&
                    st->element[1]->elements > 0) {
                    redisReply *ent = st->element[1]->element[0];
                    if (ent->type == REDIS_REPLY_ARRAY && ent->elements >= 1)
                        conn_append(c, "XACK %s billing %s", st->element[0]->str, ent->element[0]->str);
                }
            }
            freeReplyObject(r);
        }
        if (broken) {
            if (conn_reconnect(c, 0, &d->traffic_stop) != 0) break;
            continue;
        }
        /* Acks appended above are read on the next round. */
        util_sleep_ms(50);
    }
    conn_close(c);
    return NULL;
}

int demo_start(Demo *d, const DemoOptions *o,
               void (*progress)(const char *, long, long, void *), void *ud, char *err,
               size_t errlen) {
    memset(d, 0, sizeof(*d));
    d->keys = o->keys;
    if (progress) progress("starting two throwaway redis-servers", 0, 0, ud);
    if (sandbox_start(&d->source, NULL, NULL, err, errlen) != 0) return -1;
    if (sandbox_start(&d->target, NULL, NULL, err, errlen) != 0) {
        sandbox_stop(&d->source);
        return -1;
    }
    sandbox_uri(&d->source, -1, d->source_uri, sizeof(d->source_uri));
    sandbox_uri(&d->target, -1, d->target_uri, sizeof(d->target_uri));

    ConnConfig cfg;
    conn_config_init(&cfg, "source");
    util_strlcpy(cfg.client_name, "ferry-demo-gen", sizeof(cfg.client_name));
    if (uri_parse(d->source_uri, &cfg.uri, err, errlen) != 0) goto fail;
    Conn *c = conn_open(&cfg, err, errlen);
    if (!c) goto fail;
    DatagenOptions go;
    datagen_options_init(&go);
    go.keys = o->keys;
    go.seed = 42;
    DemoGen g = {progress, ud, o->keys};
    long wrote = datagen_run(c, &go, demo_gen_progress, &g, err, errlen);
    conn_close(c);
    if (wrote < 0) goto fail;
    if (o->traffic) {
        d->traffic_stop = 0;
        if (pthread_create(&d->traffic_th, NULL, demo_traffic_main, d) == 0) d->traffic_running = 1;
    }
    return 0;
fail:
    sandbox_stop(&d->target);
    sandbox_stop(&d->source);
    return -1;
}

void demo_stop(Demo *d) {
    if (d->traffic_running) {
        d->traffic_stop = 1;
        pthread_join(d->traffic_th, NULL);
        d->traffic_running = 0;
    }
    sandbox_stop(&d->target);
    sandbox_stop(&d->source);
}
