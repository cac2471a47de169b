/* cli — `ferry copy` options into CopyOptions. Every error is one line that
 * names the option and the accepted form. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char cli_copy_usage[] =
    "usage: ferry copy --source URI --target URI [options]\n"
    "\n"
    "servers\n"
    "  --source URI, --target URI   redis://[user@]host[:port][/db], rediss://… (TLS), unix:///path[?db=N]\n"
    "                               passwords: FERRY_SOURCE_PASSWORD / FERRY_TARGET_PASSWORD, or\n"
    "  --source-password-file F, --target-password-file F   (never put them on the command line)\n"
    "  --tls-ca F --tls-cert F --tls-key F --tls-sni NAME --tls-insecure   both sides;\n"
    "  --source-tls-ca F … / --target-tls-ca F …   one side only\n"
    "  --connect-timeout MS (5000)  --timeout MS (30000)\n"
    "what\n"
    "  --db-map SRC:DST[,SRC:DST]   default: every non-empty db to the same number\n"
    "  --match GLOB (repeatable)    --exclude GLOB (repeatable)   Redis glob rules\n"
    "  --type string,list,set,zset,hash,stream\n"
    "  --on-conflict fail|skip|replace   required when a target db is not empty\n"
    "how\n"
    "  --workers N (4)  --batch N (256)  --scan-count N (1000)  --rate KEYS_PER_S (0 = no limit)\n"
    "  --type-based    copy with type commands (HSET, XADD, XCLAIM…) instead of DUMP/RESTORE,\n"
    "                  for a target older than the source; keys RESTORE refuses fall back to it anyway\n"
    "output\n"
    "  --report FILE   every key not copied, one per line\n"
    "  --no-tui        progress lines instead of the console (also when stdout is not a terminal)\n"
    "  --json          progress as JSON lines (implies --no-tui)\n"
    "  --theme NAME|FILE  --ascii\n"
    "exit codes: 0 all copied, 1 error, 2 usage, 3 finished with skipped or failed keys\n";

void cli_copy_init(CopyCli *c) {
    memset(c, 0, sizeof(*c));
    copy_options_init(&c->copy);
}

void cli_copy_free(CopyCli *c) { copy_options_free(&c->copy); }

static int cli_int(const char *opt, const char *v, long lo, long hi, long *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return util_err(err, errlen, "%s takes a whole number from %ld to %ld (got \"%s\")", opt, lo, hi, v);
    *out = n;
    return 0;
}

/* TLS options: "--tls-ca" applies to both sides, "--source-tls-ca" to one. */
static int cli_tls(CopyCli *c, const char *name, const char *val) {
    static const char *const opts[] = {"tls-ca", "tls-ca-dir", "tls-cert", "tls-key", "tls-sni"};
    TlsOptions *sides[2] = {&c->copy.source.tls, &c->copy.target.tls};
    int from = 0, to = 2;
    if (!strncmp(name, "source-", 7)) {
        to = 1;
        name += 7;
    } else if (!strncmp(name, "target-", 7)) {
        from = 1;
        name += 7;
    }
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (strcmp(name, opts[i])) continue;
        for (int s = from; s < to; s++) {
            const char **f = i == 0 ? &sides[s]->ca_file : i == 1 ? &sides[s]->ca_dir
                           : i == 2 ? &sides[s]->cert_file : i == 3 ? &sides[s]->key_file : &sides[s]->sni;
            *f = val;
        }
        return 1;
    }
    return 0;
}

static int cli_takes_value(const char *name) {
    static const char *const names[] = {
        "source", "target", "source-password-file", "target-password-file", "db-map", "match",
        "exclude", "type", "on-conflict", "workers", "batch", "scan-count", "rate",
        "connect-timeout", "timeout", "report", "theme", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i])) return 1;
    const char *tls = name;
    if (!strncmp(tls, "source-", 7) || !strncmp(tls, "target-", 7)) tls += 7;
    return !strcmp(tls, "tls-ca") || !strcmp(tls, "tls-ca-dir") || !strcmp(tls, "tls-cert") ||
           !strcmp(tls, "tls-key") || !strcmp(tls, "tls-sni");
}

int cli_parse_copy(CopyCli *c, int argc, char **argv, char *err, size_t errlen) {
    const char *src = NULL, *dst = NULL, *spw = NULL, *tpw = NULL;
    CopyOptions *o = &c->copy;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = 1;
            return 0;
        }
        if (strncmp(a, "--", 2))
            return util_err(err, errlen, "unexpected argument \"%s\": options start with -- (see ferry copy --help)", a);
        const char *name = a + 2;
        /* Flags without a value. */
        if (!strcmp(name, "no-tui")) { c->no_tui = 1; continue; }
        if (!strcmp(name, "json")) { c->json = 1; c->no_tui = 1; continue; }
        if (!strcmp(name, "ascii")) { c->ascii = 1; continue; }
        if (!strcmp(name, "type-based")) { o->type_based = 1; continue; }
        if (!strcmp(name, "tls-insecure")) { o->source.tls.insecure = o->target.tls.insecure = 1; continue; }
        if (!strcmp(name, "source-tls-insecure")) { o->source.tls.insecure = 1; continue; }
        if (!strcmp(name, "target-tls-insecure")) { o->target.tls.insecure = 1; continue; }
        if (!cli_takes_value(name))
            return util_err(err, errlen, "unknown option %s (see ferry copy --help)", a);
        if (i + 1 >= argc) return util_err(err, errlen, "%s needs a value (see ferry copy --help)", a);
        const char *v = argv[++i];
        long n;
        if (!strcmp(name, "source")) src = v;
        else if (!strcmp(name, "target")) dst = v;
        else if (!strcmp(name, "source-password-file")) spw = v;
        else if (!strcmp(name, "target-password-file")) tpw = v;
        else if (cli_tls(c, name, v)) continue;
        else if (!strcmp(name, "db-map")) {
            if (dbmap_parse(&o->dbmap, v, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "match")) {
            if (filter_add_include(&o->filter, v, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "exclude")) {
            if (filter_add_exclude(&o->filter, v, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "type")) {
            if (filter_parse_types(&o->filter, v, err, errlen) != 0) return -1;
        } else if (!strcmp(name, "on-conflict")) {
            if (!strcmp(v, "fail")) o->on_conflict = CONFLICT_FAIL;
            else if (!strcmp(v, "skip")) o->on_conflict = CONFLICT_SKIP;
            else if (!strcmp(v, "replace")) o->on_conflict = CONFLICT_REPLACE;
            else return util_err(err, errlen, "--on-conflict takes fail, skip or replace (got \"%s\")", v);
            o->on_conflict_explicit = 1;
        } else if (!strcmp(name, "workers")) {
            if (cli_int(a, v, 1, ENGINE_MAX_WORKERS, &n, err, errlen)) return -1;
            o->workers = (int)n;
        } else if (!strcmp(name, "batch")) {
            if (cli_int(a, v, 1, 100000, &n, err, errlen)) return -1;
            o->batch = (int)n;
        } else if (!strcmp(name, "scan-count")) {
            if (cli_int(a, v, 1, 1000000, &n, err, errlen)) return -1;
            o->scan_count = (int)n;
        } else if (!strcmp(name, "rate")) {
            if (cli_int(a, v, 0, 100000000, &n, err, errlen)) return -1;
            o->rate = (double)n;
        } else if (!strcmp(name, "connect-timeout")) {
            if (cli_int(a, v, 1, 600000, &n, err, errlen)) return -1;
            o->source.connect_timeout_ms = o->target.connect_timeout_ms = (int)n;
        } else if (!strcmp(name, "timeout")) {
            if (cli_int(a, v, 1, 3600000, &n, err, errlen)) return -1;
            o->source.io_timeout_ms = o->target.io_timeout_ms = (int)n;
        } else if (!strcmp(name, "report")) {
            c->report = v;
            o->report_path = v;
        } else if (!strcmp(name, "theme")) {
            c->theme = v;
        } else {
            return util_err(err, errlen, "unknown option %s (see ferry copy --help)", a);
        }
    }
    if (!src) return util_err(err, errlen, "missing --source URI (e.g. --source redis://10.0.0.7:6379/1)");
    if (!dst) return util_err(err, errlen, "missing --target URI (e.g. --target redis://10.0.0.8:6379/0)");
    char e2[FERRY_ERR_LEN];
    if (uri_parse(src, &o->source.uri, e2, sizeof(e2)) != 0)
        return util_err(err, errlen, "--source: %s", e2);
    if (uri_parse(dst, &o->target.uri, e2, sizeof(e2)) != 0)
        return util_err(err, errlen, "--target: %s", e2);
    if (o->dbmap.n > 0 && (o->source.uri.db >= 0 || o->target.uri.db >= 0))
        return util_err(err, errlen, "--db-map and a /db in the %s URI both say which db to use: keep one",
                        o->source.uri.db >= 0 ? "--source" : "--target");
    c->password_on_cmdline = o->source.uri.has_password || o->target.uri.has_password;
    if (uri_load_password(&o->source.uri, "FERRY_SOURCE_PASSWORD", spw, e2, sizeof(e2)) != 0)
        return util_err(err, errlen, "source password: %s", e2);
    if (uri_load_password(&o->target.uri, "FERRY_TARGET_PASSWORD", tpw, e2, sizeof(e2)) != 0)
        return util_err(err, errlen, "target password: %s", e2);
    return 0;
}

void cli_scrub_argv(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char *s = argv[i];
        char *scheme = strstr(s, "://");
        if (!scheme) continue;
        char *auth = scheme + 3;
        char *at = strchr(auth, '@');
        char *slash = strchr(auth, '/');
        if (!at || (slash && slash < at)) continue;
        char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (!colon) continue;
        /* Keep the length (argv memory is fixed); mask every byte. */
        for (char *p = colon + 1; p < at; p++) *p = '*';
    }
}
