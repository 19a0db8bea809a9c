/* Why: see sg_redis_opts.h. One table for the Redis deployment settings so both binaries accept
 * and refuse exactly the same values. */
#include "sg_redis_opts.h"

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg_config.h"
#include "sg_tls.h"

#define N_VARS 8

static void table(struct sg_redis_opts *o, struct sg_config_var v[N_VARS])
{
    const struct sg_config_var t[N_VARS] = {
        {"REDIS_SENTINELS", SG_CFG_STR, NULL, false, 0, 0, &o->sentinels_raw,
         "host:port,... of Redis Sentinels; the primary is found through them"},
        {"REDIS_SENTINEL_MASTER", SG_CFG_STR, "mymaster", false, 0, 0, &o->sentinel_master,
         "the master name the sentinels monitor"},
        {"REDIS_SENTINEL_PASSWORD", SG_CFG_SECRET, NULL, false, 0, 0, &o->sentinel_password,
         "password for the sentinels (requirepass of the sentinels)"},
        {"REDIS_TLS_CA_FILE", SG_CFG_STR, NULL, false, 0, 0, &o->tls_ca_file,
         "PEM CA bundle for rediss:// (default: the system roots)"},
        {"REDIS_TLS_SERVER_NAME", SG_CFG_STR, NULL, false, 0, 0, &o->tls_server_name,
         "name the Redis certificate must carry, and the SNI (default: the host)"},
        {"REDIS_TLS_INSECURE", SG_CFG_BOOL, "0", false, 0, 0, &o->tls_insecure,
         "1: do not verify the Redis certificate (never in production)"},
        {"REDIS_MIN_REPLICAS_ACK", SG_CFG_INT, "0", false, 0, 64, &o->min_replicas_ack,
         "replicas that must have a job before it is acknowledged (WAIT)"},
        {"REDIS_WAIT_TIMEOUT_MS", SG_CFG_INT, "200", false, 1, 60000, &o->wait_timeout_ms,
         "how long WAIT may take before the write is refused (503)"},
    };
    memcpy(v, t, sizeof t);
}

void sg_hostports_free(struct sg_hostport *hp, size_t n)
{
    if (!hp)
        return;
    for (size_t i = 0; i < n; i++)
        free(hp[i].host);
    free(hp);
}

/* One "host:port" or "[v6]:port" element of length len. */
static bool parse_one(const char *s, size_t len, struct sg_hostport *out)
{
    const char *host = s, *host_end, *port;
    const char *end = s + len;
    if (len && *s == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb || rb + 1 >= end || rb[1] != ':')
            return false;
        host = s + 1;
        host_end = rb;
        port = rb + 2;
    } else {
        const char *colon = NULL;
        for (const char *p = s; p < end; p++)
            if (*p == ':')
                colon = p;
        if (!colon)
            return false;
        host_end = colon;
        port = colon + 1;
    }
    char num[8];
    size_t plen = (size_t)(end - port);
    int64_t v;
    if (host_end == host || plen == 0 || plen >= sizeof num)
        return false;
    for (const char *p = host; p < host_end; p++)
        if (*p <= ' ' || *p == '/' || *p == '@' || (unsigned char)*p >= 0x7f)
            return false;
    memcpy(num, port, plen);
    num[plen] = '\0';
    if (!sg_parse_i64(num, 1, 65535, &v))
        return false;
    out->host = strndup(host, (size_t)(host_end - host));
    out->port = (int)v;
    return out->host != NULL;
}

enum sg_err sg_hostports_parse(const char *list, struct sg_hostport **out, size_t *n, char *err,
                               size_t errlen)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    if (cap > 64) {
        snprintf(err, errlen, "more than 64 addresses");
        return SG_ERR_CONFIG;
    }
    struct sg_hostport *hp = calloc(cap, sizeof *hp);
    if (!hp) {
        snprintf(err, errlen, "out of memory");
        return SG_ERR_NOMEM;
    }
    size_t k = 0;
    const char *p = list;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        if (!parse_one(p, len, &hp[k])) {
            snprintf(err, errlen, "expected host:port, got \"%.*s\"", (int)(len > 60 ? 60 : len),
                     p);
            sg_hostports_free(hp, k);
            return SG_ERR_CONFIG;
        }
        k++;
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = hp;
    *n = k;
    return SG_OK;
}

enum sg_err sg_redis_opts_load(struct sg_redis_opts *o, const char *redis_url,
                               const char *(*env)(const char *), char *err, size_t errlen)
{
    struct sg_config_var v[N_VARS];
    char why[200];
    memset(o, 0, sizeof *o);
    table(o, v);
    enum sg_err e = sg_config_load(v, N_VARS, env, err, errlen);
    if (e)
        return e;
    if (sg_redis_url_parse(redis_url ? redis_url : "redis://127.0.0.1:6379/0", &o->url, why,
                           sizeof why) != SG_OK) {
        snprintf(err, errlen, "REDIS_URL: %s", why);
        return SG_ERR_CONFIG;
    }
    if (!o->url.tls && (o->tls_ca_file || o->tls_server_name || o->tls_insecure)) {
        snprintf(err, errlen, "%s: set, but REDIS_URL is not rediss:// (TLS)",
                 o->tls_ca_file       ? "REDIS_TLS_CA_FILE"
                 : o->tls_server_name ? "REDIS_TLS_SERVER_NAME"
                                      : "REDIS_TLS_INSECURE");
        return SG_ERR_CONFIG;
    }
    if (o->tls_ca_file && access(o->tls_ca_file, R_OK) != 0) {
        snprintf(err, errlen, "REDIS_TLS_CA_FILE: cannot read %.200s", o->tls_ca_file);
        return SG_ERR_CONFIG;
    }
    if (o->url.tls) { /* a CA file OpenSSL cannot use is a start-up error, not a retry loop */
        SSL_CTX *ctx = sg_tls_ctx_new(o, why, sizeof why);
        if (!ctx) {
            snprintf(err, errlen, "%s", why);
            return SG_ERR_CONFIG;
        }
        SSL_CTX_free(ctx);
    }
    if (o->sentinels_raw) {
        if (o->url.unix_path) {
            snprintf(err, errlen, "REDIS_SENTINELS: cannot be used with a unix:// REDIS_URL");
            return SG_ERR_CONFIG;
        }
        if (sg_hostports_parse(o->sentinels_raw, &o->sentinels, &o->n_sentinels, why, sizeof why) !=
            SG_OK) {
            snprintf(err, errlen, "REDIS_SENTINELS: %s", why);
            return SG_ERR_CONFIG;
        }
        for (const char *p = o->sentinel_master; *p; p++) {
            if (*p <= ' ' || (unsigned char)*p >= 0x7f) {
                snprintf(err, errlen, "REDIS_SENTINEL_MASTER: no spaces or control characters");
                return SG_ERR_CONFIG;
            }
        }
    } else if (o->sentinel_password) {
        snprintf(err, errlen, "REDIS_SENTINEL_PASSWORD: set, but REDIS_SENTINELS is not");
        return SG_ERR_CONFIG;
    }
    return SG_OK;
}

void sg_redis_opts_free(struct sg_redis_opts *o)
{
    if (!o)
        return;
    struct sg_config_var v[N_VARS];
    table(o, v);
    sg_config_free(v, N_VARS);
    sg_hostports_free(o->sentinels, o->n_sentinels);
    sg_redis_url_clear(&o->url);
    memset(o, 0, sizeof *o);
}

void sg_redis_opts_print_help(void *file)
{
    struct sg_redis_opts tmp;
    struct sg_config_var v[N_VARS];
    memset(&tmp, 0, sizeof tmp);
    table(&tmp, v);
    sg_config_print_help(v, N_VARS, file);
}

bool sg_sentinel_master_addr(const struct redisReply *r, char *host, size_t hostlen, int *port)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return false;
    const redisReply *h = r->element[0], *p = r->element[1];
    if (!h || !p || h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING)
        return false;
    if (h->len == 0 || h->len >= hostlen || memchr(h->str, '\0', h->len) || p->len >= 8)
        return false;
    char num[8];
    int64_t v;
    memcpy(num, p->str, p->len);
    num[p->len] = '\0';
    if (!sg_parse_i64(num, 1, 65535, &v))
        return false;
    memcpy(host, h->str, h->len);
    host[h->len] = '\0';
    *port = (int)v;
    return true;
}

enum sg_redis_role sg_redis_role_of(const struct redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || !r->element[0])
        return SG_ROLE_UNKNOWN;
    const redisReply *e = r->element[0];
    if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS)
        return SG_ROLE_UNKNOWN;
    if (e->len == 6 && memcmp(e->str, "master", 6) == 0)
        return SG_ROLE_MASTER;
    if (e->len == 5 && memcmp(e->str, "slave", 5) == 0)
        return SG_ROLE_REPLICA;
    if (e->len == 8 && memcmp(e->str, "sentinel", 8) == 0)
        return SG_ROLE_SENTINEL;
    return SG_ROLE_UNKNOWN;
}

const char *sg_redis_role_str(enum sg_redis_role role)
{
    switch (role) {
    case SG_ROLE_MASTER:
        return "master";
    case SG_ROLE_REPLICA:
        return "replica";
    case SG_ROLE_SENTINEL:
        return "sentinel";
    default:
        return "unknown";
    }
}

bool sg_redis_error_wants_failover(const char *err)
{
    static const char *const prefixes[] = {"READONLY", "LOADING", "MASTERDOWN", "UNBLOCKED"};
    if (!err)
        return false;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(err, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}
