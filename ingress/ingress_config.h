/* Why: the ingress's settings table (DESIGN.md section 7 plus the abuse limits), read
 * once at start through common/sg_config.h and validated, so a bad value stops the process with
 * one line naming the variable.
 *
 * Ownership: strings in struct ingress_config are malloc'ed; ingress_config_free() releases them.
 */
#ifndef INGRESS_CONFIG_H
#define INGRESS_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "ingress_client.h"
#include "sg_err.h"
#include "sg_log.h"
#include "sg_url.h"

struct ingress_config {
    char *host;
    int64_t port;
    char *webhook_secret;
    char *webhook_path;
    char *redis_url;
    char *log_level;
    char *log_format;
    int64_t max_body_bytes;
    int64_t dedupe_ttl_s;
    int64_t queue_high_watermark;    /* 0 disables backpressure */
    int64_t signature_failure_limit; /* failed signatures per client address per minute */
    int64_t shutdown_grace_s;
    int64_t max_connections;
    int64_t max_header_bytes;
    int64_t max_buffer_bytes; /* all connections' request buffers together */
    int64_t header_timeout_s; /* whole request head must arrive within this */
    int64_t body_timeout_s;   /* whole body must arrive within this */
    int64_t keepalive_timeout_s;
    int64_t redis_timeout_ms; /* connect and command timeout */
    int64_t retry_after_s;    /* Retry-After on 503 */
    int64_t metrics_cache_ms; /* queue gauges are re-read at most this often */
    char *trusted_proxies;    /* CIDR list, parsed into trusted */
    int64_t max_connections_per_client;
    int64_t metrics_port; /* 0: /metrics on the main port */
    /* derived */
    enum sg_log_level level;
    enum sg_log_format format;
    struct sg_redis_url redis;
    struct ingress_trusted trusted;
};

/* Loads and validates; env replaces getenv when non-NULL (tests). */
enum sg_err ingress_config_load(struct ingress_config *cfg, const char *(*env)(const char *),
                                char *err, size_t errlen);
void ingress_config_free(struct ingress_config *cfg);
void ingress_config_print_help(FILE *f);

#endif
