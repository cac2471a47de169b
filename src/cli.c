/* cli — `ferry copy` options into CopyOptions. Every error is one line that
 * names the option and the accepted form. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
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
    "  --groups-budget N  consumer groups sampled on both sides within N commands/s each\n"
    "                  (console: default 20; headless: only when given, as JSON lines with --json; 0: off)\n"
    "exit codes: 0 all copied, 1 error, 2 usage, 3 finished with skipped or failed keys\n";

void cli_copy_init(CopyCli *c) {
    memset(c, 0, sizeof(*c));
    c->groups_budget = -1;
    copy_options_init(&c->copy);
}

void cli_copy_free(CopyCli *c) { copy_options_free(&c->copy); }

/* One `ferry copy` option that is not about servers (those are
 * cli_common's): what to copy, how, and the output. name is without "--";
 * value is the next argument or NULL. Returns 0 when the option is not
 * one of these, 1 for a flag, 2 when value was used, -1 with a message. */
int cli_copy_option(CopyCli *c, const char *name, const char *value, char *err, size_t errlen) {
    CopyOptions *o = &c->copy;
    if (!strcmp(name, "no-tui")) { c->no_tui = 1; return 1; }
    if (!strcmp(name, "json")) { c->json = 1; c->no_tui = 1; return 1; }
    if (!strcmp(name, "ascii")) { c->ascii = 1; return 1; }
    if (!strcmp(name, "type-based")) { o->type_based = 1; return 1; }
    static const char *const valued[] = {"db-map", "match", "exclude", "type", "on-conflict", "workers",
                                         "batch", "scan-count", "rate", "report", "theme",
                                         "groups-budget", NULL};
    int known = 0;
    for (int i = 0; valued[i] && !known; i++) known = !strcmp(name, valued[i]);
    if (!known) return 0;
    if (!value) return util_err(err, errlen, "--%s needs a value (see ferry copy --help)", name);
    char opt[32];
    long n;
    snprintf(opt, sizeof(opt), "--%s", name);
    if (!strcmp(name, "db-map")) {
        if (dbmap_parse(&o->dbmap, value, err, errlen) != 0) return -1;
    } else if (!strcmp(name, "match")) {
        if (filter_add_include(&o->filter, value, err, errlen) != 0) return -1;
    } else if (!strcmp(name, "exclude")) {
        if (filter_add_exclude(&o->filter, value, err, errlen) != 0) return -1;
    } else if (!strcmp(name, "type")) {
        if (filter_parse_types(&o->filter, value, err, errlen) != 0) return -1;
    } else if (!strcmp(name, "on-conflict")) {
        if (!strcmp(value, "fail")) o->on_conflict = CONFLICT_FAIL;
        else if (!strcmp(value, "skip")) o->on_conflict = CONFLICT_SKIP;
        else if (!strcmp(value, "replace")) o->on_conflict = CONFLICT_REPLACE;
        else return util_err(err, errlen, "--on-conflict takes fail, skip or replace (got \"%s\")", value);
        o->on_conflict_explicit = 1;
    } else if (!strcmp(name, "workers")) {
        if (cli_parse_long(opt, value, 1, ENGINE_MAX_WORKERS, &n, err, errlen)) return -1;
        o->workers = (int)n;
    } else if (!strcmp(name, "batch")) {
        if (cli_parse_long(opt, value, 1, 100000, &n, err, errlen)) return -1;
        o->batch = (int)n;
    } else if (!strcmp(name, "scan-count")) {
        if (cli_parse_long(opt, value, 1, 1000000, &n, err, errlen)) return -1;
        o->scan_count = (int)n;
    } else if (!strcmp(name, "rate")) {
        if (cli_parse_long(opt, value, 0, 100000000, &n, err, errlen)) return -1;
        o->rate = (double)n;
    } else if (!strcmp(name, "groups-budget")) {
        if (cli_parse_long(opt, value, 0, 10000, &n, err, errlen)) return -1;
        c->groups_budget = (int)n;
    } else if (!strcmp(name, "report")) {
        c->report = value;
        o->report_path = value;
    } else {
        c->theme = value;
    }
    return 2;
}

int cli_parse_copy(CopyCli *c, int argc, char **argv, char *err, size_t errlen) {
    CopyOptions *o = &c->copy;
    CliServers sv;
    /* The configs keep the defaults copy_options_init gave them. */
    ConnConfig src = o->source, dst = o->target;
    cli_servers_init(&sv, &o->source, &o->target, "copy");
    o->source = src;
    o->target = dst;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = 1;
            return 0;
        }
        if (strncmp(a, "--", 2))
            return util_err(err, errlen, "unexpected argument \"%s\": options start with -- (see ferry copy --help)", a);
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int r = cli_servers_option(&sv, a + 2, value, err, errlen);
        if (r == 0) r = cli_copy_option(c, a + 2, value, err, errlen);
        if (r < 0) return -1;
        if (r == 0) return util_err(err, errlen, "unknown option %s (see ferry copy --help)", a);
        if (r == 2) i++;
    }
    if (cli_servers_finish(&sv, 1, 1, err, errlen) != 0) return -1;
    if (o->dbmap.n > 0 && (o->source.uri.db >= 0 || o->target.uri.db >= 0))
        return util_err(err, errlen, "--db-map and a /db in the %s URI both say which db to use: keep one",
                        o->source.uri.db >= 0 ? "--source" : "--target");
    c->password_on_cmdline = sv.password_on_cmdline;
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
