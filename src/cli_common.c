/* cli_common — server, password, TLS and timeout options shared by the
 * subcommands; see cli_common.h. */
#include "cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void cli_servers_init(CliServers *s, ConnConfig *source, ConnConfig *target, const char *cmd) {
    memset(s, 0, sizeof(*s));
    s->source = source;
    s->target = target;
    s->cmd = cmd;
    if (source) conn_config_init(source, "source");
    if (target) conn_config_init(target, "target");
}

int cli_parse_long(const char *opt, const char *v, long lo, long hi, long *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return util_err(err, errlen, "%s takes a whole number from %ld to %ld (got \"%s\")", opt, lo, hi, v);
    *out = n;
    return 0;
}

/* "tls-ca" → that field of t; NULL when name is not a TLS value option. */
static const char **cli_tls_field(TlsOptions *t, const char *name) {
    if (!strcmp(name, "tls-ca")) return &t->ca_file;
    if (!strcmp(name, "tls-ca-dir")) return &t->ca_dir;
    if (!strcmp(name, "tls-cert")) return &t->cert_file;
    if (!strcmp(name, "tls-key")) return &t->key_file;
    if (!strcmp(name, "tls-sni")) return &t->sni;
    return NULL;
}

int cli_servers_option(CliServers *s, const char *name, const char *value, char *err, size_t errlen) {
    /* Which sides a TLS option applies to: both, or the one its prefix names. */
    ConnConfig *sides[2] = {s->source, s->target};
    const char *tls = name;
    int from = 0, to = 2;
    if (!strncmp(name, "source-", 7)) {
        tls = name + 7;
        to = 1;
    } else if (!strncmp(name, "target-", 7)) {
        tls = name + 7;
        from = 1;
    }
    if (!strcmp(tls, "tls-insecure")) {
        for (int i = from; i < to; i++)
            if (sides[i]) sides[i]->tls.insecure = 1;
        return 1;
    }
    int is_tls = cli_tls_field(&(TlsOptions){0}, tls) != NULL;
    int known = is_tls || (s->source && (!strcmp(name, "source") || !strcmp(name, "source-password-file"))) ||
                (s->target && (!strcmp(name, "target") || !strcmp(name, "target-password-file"))) ||
                !strcmp(name, "connect-timeout") || !strcmp(name, "timeout");
    if (!known) return 0;
    if (!value) return util_err(err, errlen, "--%s needs a value (see ferry %s --help)", name, s->cmd);
    if (is_tls) {
        for (int i = from; i < to; i++)
            if (sides[i]) *cli_tls_field(&sides[i]->tls, tls) = value;
        return 2;
    }
    if (!strcmp(name, "source")) s->source_text = value;
    else if (!strcmp(name, "target")) s->target_text = value;
    else if (!strcmp(name, "source-password-file")) s->source_pw_file = value;
    else if (!strcmp(name, "target-password-file")) s->target_pw_file = value;
    else {
        long n = 0;
        int connect = !strcmp(name, "connect-timeout");
        char opt[40];
        snprintf(opt, sizeof(opt), "--%s", name);
        if (cli_parse_long(opt, value, 1, connect ? 600000 : 3600000, &n, err, errlen) != 0) return -1;
        for (int i = 0; i < 2; i++) {
            if (!sides[i]) continue;
            if (connect) sides[i]->connect_timeout_ms = (int)n;
            else sides[i]->io_timeout_ms = (int)n;
        }
    }
    return 2;
}

static int cli_one_server(CliServers *s, ConnConfig *cfg, const char *text, const char *pwfile, int need,
                          const char *role, char *err, size_t errlen) {
    char e2[FERRY_ERR_LEN];
    if (!text) {
        if (!need) return 0;
        return util_err(err, errlen, "missing --%s URI (e.g. --%s redis://10.0.0.8:6379/0)", role, role);
    }
    if (uri_parse(text, &cfg->uri, e2, sizeof(e2)) != 0) return util_err(err, errlen, "--%s: %s", role, e2);
    if (cfg->uri.has_password) s->password_on_cmdline = 1;
    const char *env = cfg == s->source ? "FERRY_SOURCE_PASSWORD" : "FERRY_TARGET_PASSWORD";
    if (uri_load_password(&cfg->uri, env, pwfile, e2, sizeof(e2)) != 0)
        return util_err(err, errlen, "%s password: %s", role, e2);
    return 0;
}

int cli_servers_finish(CliServers *s, int need_source, int need_target, char *err, size_t errlen) {
    if (s->source && cli_one_server(s, s->source, s->source_text, s->source_pw_file, need_source, "source", err, errlen))
        return -1;
    if (s->target && cli_one_server(s, s->target, s->target_text, s->target_pw_file, need_target, "target", err, errlen))
        return -1;
    if (s->source_pw_file && !s->source_text)
        return util_err(err, errlen, "--source-password-file without --source: give the source URI too, or drop the file");
    return 0;
}
