/* ferry-gen — fills a server with datagen's deterministic dataset.
 *
 *   ferry-gen --uri redis://127.0.0.1:6379/0 --keys 1000000 --seed 1
 *             [--big-keys] [--prefix P]
 *
 * The password comes from $FERRY_PASSWORD, never from the command line
 * (where every user of `ps` could read it). Prints the keys written and the
 * seconds it took; one line and a non-zero exit on any error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "datagen.h"
#include "uri.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ferry-gen --uri redis://HOST:PORT[/DB] [--keys N] [--seed S] [--big-keys]\n"
            "                 [--prefix P]\n"
            "  --uri URI     server to fill (the password goes in FERRY_PASSWORD, not here)\n"
            "  --keys N      keys to write (default 1000000)\n"
            "  --seed S      dataset seed (default 1); the same seed gives the same data\n"
            "  --big-keys    also write big:hash (200,000 fields) and big:list (500,000 items)\n"
            "  --prefix P    prepend P to every key name\n");
}

static int parse_long(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    if (*s == '-' || *s == '\0') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = (uint64_t)v;
    return 0;
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

static void on_progress(long done, void *ud) {
    const int64_t *start = ud;
    double secs = (double)(util_mono_ms() - *start) / 1000.0;
    fprintf(stderr, "\rferry-gen: %ld keys, %.1f s", done, secs);
    fflush(stderr);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"uri", required_argument, NULL, 'u'},   {"keys", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},  {"big-keys", no_argument, NULL, 'b'},
        {"prefix", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    DatagenOptions o;
    datagen_options_init(&o);
    const char *uri_text = NULL;
    char err[FERRY_ERR_LEN];

    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': uri_text = optarg; break;
        case 'k':
            if (parse_long(optarg, &o.keys) == -1 || o.keys < 0) {
                fprintf(stderr, "ferry-gen: --keys '%s' is not a count: give 0 or more\n",
                        optarg);
                return 2;
            }
            break;
        case 's':
            if (parse_u64(optarg, &o.seed) == -1) {
                fprintf(stderr, "ferry-gen: --seed '%s' is not a number: give 0 to %" PRIu64 "\n",
                        optarg, UINT64_MAX);
                return 2;
            }
            break;
        case 'b': o.big_keys = 1; break;
        case 'p': o.prefix = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "ferry-gen: %s needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "ferry-gen: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ferry-gen: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (!uri_text) {
        fprintf(stderr, "ferry-gen: --uri is required, e.g. --uri redis://127.0.0.1:6379/0\n");
        return 2;
    }

    ConnConfig cfg;
    conn_config_init(&cfg, "target");
    if (uri_parse(uri_text, &cfg.uri, err, sizeof err) == -1) {
        fprintf(stderr, "ferry-gen: %s\n", err);
        return 2;
    }
    if (cfg.uri.has_password) {
        char shown[600];
        uri_format_redacted(&cfg.uri, shown, sizeof shown);
        fprintf(stderr,
                "ferry-gen: --uri %s carries a password, which anyone can read with ps: remove "
                "it and set FERRY_PASSWORD instead\n",
                shown);
        return 2;
    }
    if (uri_load_password(&cfg.uri, "FERRY_PASSWORD", NULL, err, sizeof err) == -1) {
        fprintf(stderr, "ferry-gen: %s\n", err);
        return 2;
    }
    o.db = cfg.uri.db < 0 ? 0 : cfg.uri.db;
    util_strlcpy(cfg.client_name, "ferry-gen", sizeof cfg.client_name);

    Conn *c = conn_open(&cfg, err, sizeof err);
    if (!c) {
        name_our_password_option(err, sizeof err);
        fprintf(stderr, "ferry-gen: %s\n", err);
        return 1;
    }
    int64_t start = util_mono_ms();
    int tty = isatty(STDERR_FILENO);
    long n = datagen_run(c, &o, tty ? on_progress : NULL, &start, err, sizeof err);
    double secs = (double)(util_mono_ms() - start) / 1000.0;
    if (tty) fputc('\n', stderr);
    conn_close(c);
    if (n < 0) {
        fprintf(stderr, "ferry-gen: %s\n", err);
        return 1;
    }
    printf("ferry-gen: wrote %ld keys in %.2f s (%.0f keys/s, seed %" PRIu64 ")\n", n, secs,
           secs > 0 ? (double)n / secs : 0.0, o.seed);
    return 0;
}
