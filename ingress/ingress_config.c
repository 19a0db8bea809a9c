/* Why: one settings table for the ingress; see ingress_config.h. */
#include "ingress_config.h"

#include <stdio.h>
#include <string.h>

#include "sg_config.h"

#define N_VARS 24

static void table(struct ingress_config *c, struct sg_config_var v[N_VARS])
{
    const struct sg_config_var t[N_VARS] = {
        {"HOST", SG_CFG_STR, "0.0.0.0", false, 0, 0, &c->host, "address to listen on"},
        {"PORT", SG_CFG_INT, "4000", false, 0, 65535, &c->port, "port to listen on (0: any)"},
        {"WEBHOOK_SECRET", SG_CFG_SECRET, NULL, true, 0, 0, &c->webhook_secret,
         "the GitHub App's webhook secret"},
        {"WEBHOOK_PATH", SG_CFG_STR, "/webhooks/github", false, 0, 0, &c->webhook_path,
         "path GitHub posts deliveries to"},
        {"REDIS_URL", SG_CFG_STR, "redis://127.0.0.1:6379/0", false, 0, 0, &c->redis_url,
         "redis://[[user]:password@]host[:port][/db] or unix:///path"},
        {"LOG_LEVEL", SG_CFG_STR, "info", false, 0, 0, &c->log_level, "debug|info|warn|error"},
        {"LOG_FORMAT", SG_CFG_STR, "json", false, 0, 0, &c->log_format, "json|text"},
        {"MAX_BODY_BYTES", SG_CFG_INT, "26214400", false, 1, 1073741824, &c->max_body_bytes,
         "largest body accepted (413 above)"},
        {"DEDUPE_TTL_S", SG_CFG_INT, "86400", false, 1, 31536000, &c->dedupe_ttl_s,
         "how long a delivery id is remembered"},
        {"QUEUE_HIGH_WATERMARK", SG_CFG_INT, "100000", false, 0, INT64_MAX,
         &c->queue_high_watermark, "503 while analysis_queue holds this many jobs (0: off)"},
        {"SIGNATURE_FAILURE_LIMIT", SG_CFG_INT, "20", false, 1, 1000000,
         &c->signature_failure_limit, "failed signatures per client address per minute before 429"},
        {"SHUTDOWN_GRACE_S", SG_CFG_INT, "25", false, 1, 3600, &c->shutdown_grace_s,
         "on SIGTERM, time allowed for requests in flight"},
        {"MAX_CONNECTIONS", SG_CFG_INT, "1024", false, 1, 1000000, &c->max_connections,
         "open client connections; more are answered 503 and closed"},
        {"MAX_HEADER_BYTES", SG_CFG_INT, "16384", false, 256, 1048576, &c->max_header_bytes,
         "request line + headers (431 above)"},
        {"MAX_BUFFER_BYTES", SG_CFG_INT, "134217728", false, 1048576, INT64_MAX,
         &c->max_buffer_bytes, "request bytes buffered across all connections (503 above)"},
        {"HEADER_TIMEOUT_S", SG_CFG_INT, "10", false, 1, 3600, &c->header_timeout_s,
         "a request head must arrive within this (408)"},
        {"BODY_TIMEOUT_S", SG_CFG_INT, "60", false, 1, 3600, &c->body_timeout_s,
         "a request body must arrive within this (408)"},
        {"KEEPALIVE_TIMEOUT_S", SG_CFG_INT, "75", false, 1, 3600, &c->keepalive_timeout_s,
         "idle keep-alive connections are closed after this"},
        {"REDIS_TIMEOUT_MS", SG_CFG_INT, "1000", false, 10, 60000, &c->redis_timeout_ms,
         "Redis connect/command timeout (503 after it)"},
        {"RETRY_AFTER_S", SG_CFG_INT, "5", false, 1, 3600, &c->retry_after_s,
         "Retry-After sent with 503"},
        {"METRICS_CACHE_MS", SG_CFG_INT, "1000", false, 0, 60000, &c->metrics_cache_ms,
         "queue gauges are read from Redis at most this often"},
        {"TRUSTED_PROXIES", SG_CFG_STR, "", false, 0, 0, &c->trusted_proxies,
         "CIDR list of proxies whose X-Forwarded-For names the client (empty: none)"},
        {"MAX_CONNECTIONS_PER_CLIENT", SG_CFG_INT, "128", false, 1, 1000000,
         &c->max_connections_per_client,
         "open connections per client address (trusted proxies exempt)"},
        {"METRICS_PORT", SG_CFG_INT, "0", false, 0, 65535, &c->metrics_port,
         "serve /metrics, /healthz, /readyz on this port too, /metrics not on PORT (0: off)"},
    };
    memcpy(v, t, sizeof t);
}

enum sg_err ingress_config_load(struct ingress_config *cfg, const char *(*env)(const char *),
                                char *err, size_t errlen)
{
    struct sg_config_var v[N_VARS];
    memset(cfg, 0, sizeof *cfg);
    table(cfg, v);
    enum sg_err e = sg_config_load(v, N_VARS, env, err, errlen);
    if (e)
        return e;
    if (!sg_log_parse_level(cfg->log_level, &cfg->level)) {
        snprintf(err, errlen,
                 "LOG_LEVEL: expected trace, debug, info, warn, error or fatal, got \"%.40s\"",
                 cfg->log_level);
        return SG_ERR_CONFIG;
    }
    if (!sg_log_parse_format(cfg->log_format, &cfg->format)) {
        snprintf(err, errlen, "LOG_FORMAT: expected json or text, got \"%.40s\"", cfg->log_format);
        return SG_ERR_CONFIG;
    }
    if (cfg->webhook_path[0] != '/' || strpbrk(cfg->webhook_path, "? \t")) {
        snprintf(err, errlen, "WEBHOOK_PATH: must be a path starting with '/', got \"%.60s\"",
                 cfg->webhook_path);
        return SG_ERR_CONFIG;
    }
    if (!strcmp(cfg->webhook_path, "/healthz") || !strcmp(cfg->webhook_path, "/readyz") ||
        !strcmp(cfg->webhook_path, "/metrics")) {
        snprintf(err, errlen, "WEBHOOK_PATH: %s is taken by a probe route", cfg->webhook_path);
        return SG_ERR_CONFIG;
    }
    char uerr[200];
    if (sg_redis_url_parse(cfg->redis_url, &cfg->redis, uerr, sizeof uerr) != SG_OK) {
        snprintf(err, errlen, "REDIS_URL: %s", uerr);
        return SG_ERR_CONFIG;
    }
    if (ingress_trusted_parse(cfg->trusted_proxies, &cfg->trusted, uerr, sizeof uerr) != SG_OK) {
        snprintf(err, errlen, "TRUSTED_PROXIES: %s", uerr);
        return SG_ERR_CONFIG;
    }
    if (cfg->metrics_port && cfg->metrics_port == cfg->port) {
        snprintf(err, errlen, "METRICS_PORT: must differ from PORT (%lld)", (long long)cfg->port);
        return SG_ERR_CONFIG;
    }
    return SG_OK;
}

void ingress_config_free(struct ingress_config *cfg)
{
    struct sg_config_var v[N_VARS];
    table(cfg, v);
    sg_config_free(v, N_VARS);
    sg_redis_url_clear(&cfg->redis);
    ingress_trusted_free(&cfg->trusted);
}

void ingress_config_print_help(FILE *f)
{
    struct ingress_config tmp;
    struct sg_config_var v[N_VARS];
    memset(&tmp, 0, sizeof tmp);
    table(&tmp, v);
    sg_config_print_help(v, N_VARS, f);
}
