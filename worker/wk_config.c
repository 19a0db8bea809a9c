/* Why: see config.h. The VARS table is the only list of the worker's variables: loading, freeing
 * and --help all read it. */
#include "wk_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_config.h"
#include "sg_log.h"

#define VARS(cfg)                                                                                  \
    {                                                                                              \
        {"REDIS_URL", SG_CFG_STR, "redis://127.0.0.1:6379/0", false,                               \
         0,           0,          &(cfg)->redis_url,          "Redis holding analysis_queue"},     \
            {"DATABASE_URL",                                                                       \
             SG_CFG_STR,                                                                           \
             "postgres://localhost/singularity",                                                   \
             false,                                                                                \
             0,                                                                                    \
             0,                                                                                    \
             &(cfg)->database_url,                                                                 \
             "PostgreSQL (libpq URL or key=value string)"},                                        \
            {"APP_ID",                                                                             \
             SG_CFG_STR,                                                                           \
             "",                                                                                   \
             false,                                                                                \
             0,                                                                                    \
             0,                                                                                    \
             &(cfg)->app_id,                                                                       \
             "GitHub App id (jobs, redeliver)"},                                                   \
            {"PRIVATE_KEY",                                                                        \
             SG_CFG_SECRET,                                                                        \
             "",                                                                                   \
             false,                                                                                \
             0,                                                                                    \
             0,                                                                                    \
             &(cfg)->private_key,                                                                  \
             "GitHub App private key, PEM (or PRIVATE_KEY_FILE)"},                                 \
            {"PRIVATE_KEY_PATH",                                                                   \
             SG_CFG_STR,                                                                           \
             "",                                                                                   \
             false,                                                                                \
             0,                                                                                    \
             0,                                                                                    \
             &(cfg)->private_key_path,                                                             \
             "file with the GitHub App private key (PKCS#1 or PKCS#8 PEM)"},                       \
            {"GITHUB_API_URL",                                                                     \
             SG_CFG_STR,                                                                           \
             "https://api.github.com",                                                             \
             false,                                                                                \
             0,                                                                                    \
             0,                                                                                    \
             &(cfg)->github_api_url,                                                               \
             "GitHub API root (GitHub Enterprise Server: https://HOST/api/v3)"},                   \
            {"LOG_LEVEL",                                                                          \
             SG_CFG_STR,                                                                           \
             "info",                                                                               \
             false,                                                                                \
             0,                                                                                    \
             0,                                                                                    \
             &(cfg)->log_level,                                                                    \
             "trace|debug|info|warn|error|fatal"},                                                 \
            {"LOG_FORMAT", SG_CFG_STR, "json", false, 0, 0, &(cfg)->log_format, "json|text"},      \
            {"METRICS_HOST",                                                                       \
             SG_CFG_STR,                                                                           \
             "0.0.0.0",                                                                            \
             false,                                                                                \
             0,                                                                                    \
             0,                                                                                    \
             &(cfg)->metrics_host,                                                                 \
             "address of /healthz and /metrics"},                                                  \
            {"METRICS_PORT",                                                                       \
             SG_CFG_INT,                                                                           \
             "9090",                                                                               \
             false,                                                                                \
             0,                                                                                    \
             65535,                                                                                \
             &(cfg)->metrics_port,                                                                 \
             "port of /healthz and /metrics (0: any free port)"},                                  \
            {"MAX_ATTEMPTS",                                                                       \
             SG_CFG_INT,                                                                           \
             "8",                                                                                  \
             false,                                                                                \
             1,                                                                                    \
             1000,                                                                                 \
             &(cfg)->max_attempts,                                                                 \
             "attempts before a job goes to analysis_queue:dead"},                                 \
            {"ANALYSIS_TIMEOUT_S",                                                                 \
             SG_CFG_INT,                                                                           \
             "600",                                                                                \
             false,                                                                                \
             1,                                                                                    \
             86400,                                                                                \
             &(cfg)->analysis_timeout_s,                                                           \
             "a job's time budget for download and analysis; then it fails"},                      \
            {"WORKER_DEAD_AFTER_S",                                                                \
             SG_CFG_INT,                                                                           \
             "60",                                                                                 \
             false,                                                                                \
             1,                                                                                    \
             86400,                                                                                \
             &(cfg)->worker_dead_after_s,                                                          \
             "a worker without heartbeat this long is dead; its job is returned"},                 \
            {"SHUTDOWN_GRACE_S",                                                                   \
             SG_CFG_INT,                                                                           \
             "25",                                                                                 \
             false,                                                                                \
             1,                                                                                    \
             3600,                                                                                 \
             &(cfg)->shutdown_grace_s,                                                             \
             "on SIGTERM, finish or hand back the held job within this time"},                     \
            {"RETRY_BASE_MS",                                                                      \
             SG_CFG_INT,                                                                           \
             "2000",                                                                               \
             false,                                                                                \
             1,                                                                                    \
             3600000,                                                                              \
             &(cfg)->retry_base_ms,                                                                \
             "first retry delay (doubles each attempt, with jitter)"},                             \
            {"RETRY_MAX_MS",       SG_CFG_INT,           "600000", false, 1, 86400000,             \
             &(cfg)->retry_max_ms, "longest retry delay"},                                         \
            {"MAX_STORED_FINDINGS",                                                                \
             SG_CFG_INT,                                                                           \
             "5000",                                                                               \
             false,                                                                                \
             0,                                                                                    \
             1000000,                                                                              \
             &(cfg)->max_stored_findings,                                                          \
             "findings rows kept per analysis (rule_counts stay exact)"},                          \
            {"MAX_ANNOTATIONS",                                                                    \
             SG_CFG_INT,                                                                           \
             "1000",                                                                               \
             false,                                                                                \
             0,                                                                                    \
             100000,                                                                               \
             &(cfg)->max_annotations,                                                              \
             "annotations sent per check run"},                                                    \
            {"GITHUB_PACE_MS",                                                                     \
             SG_CFG_INT,                                                                           \
             "1000",                                                                               \
             false,                                                                                \
             -1,                                                                                   \
             60000,                                                                                \
             &(cfg)->github_pace_ms,                                                               \
             "minimum gap between mutating GitHub requests per installation (-1: none)"},          \
            {"DB_CONNECT_TIMEOUT_S",                                                               \
             SG_CFG_INT,                                                                           \
             "5",                                                                                  \
             false,                                                                                \
             1,                                                                                    \
             300,                                                                                  \
             &(cfg)->db_connect_timeout_s,                                                         \
             "PostgreSQL connect timeout"},                                                        \
            {"DB_STATEMENT_TIMEOUT_MS",                                                            \
             SG_CFG_INT,                                                                           \
             "30000",                                                                              \
             false,                                                                                \
             100,                                                                                  \
             3600000,                                                                              \
             &(cfg)->db_statement_timeout_ms,                                                      \
             "PostgreSQL statement_timeout"},                                                      \
            {"REDIS_TIMEOUT_MS",                                                                   \
             SG_CFG_INT,                                                                           \
             "5000",                                                                               \
             false,                                                                                \
             100,                                                                                  \
             600000,                                                                               \
             &(cfg)->redis_timeout_ms,                                                             \
             "Redis connect and command timeout"},                                                 \
            {"JOB_STALE_S",                                                                        \
             SG_CFG_INT,                                                                           \
             "900",                                                                                \
             false,                                                                                \
             10,                                                                                   \
             86400,                                                                                \
             &(cfg)->job_stale_s,                                                                  \
             "a running analysis untouched this long is taken over by another job"},               \
    }

static void free_table(struct wk_config *cfg)
{
    const struct sg_config_var vars[] = VARS(cfg);
    sg_config_free(vars, sizeof vars / sizeof vars[0]);
}

enum sg_err wk_config_load(struct wk_config *cfg, bool needs_app, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    const struct sg_config_var vars[] = VARS(cfg);
    enum sg_err e = sg_config_load(vars, sizeof vars / sizeof vars[0], NULL, err, errlen);
    if (e)
        return e;
    enum sg_log_level lvl;
    enum sg_log_format fmt;
    if (!sg_log_parse_level(cfg->log_level, &lvl)) {
        snprintf(err, errlen, "LOG_LEVEL: expected trace, debug, info, warn, error or fatal");
        return SG_ERR_CONFIG;
    }
    if (!sg_log_parse_format(cfg->log_format, &fmt)) {
        snprintf(err, errlen, "LOG_FORMAT: expected json or text");
        return SG_ERR_CONFIG;
    }
    sg_log_init(lvl, fmt, "worker");
    /* Probot's GitHub Enterprise Server settings, so an existing Probot .env works: GHE_HOST
     * (and GHE_PROTOCOL, default https) when GITHUB_API_URL is not set. */
    const char *ghe_host = getenv("GHE_HOST"), *explicit_url = getenv("GITHUB_API_URL");
    if (ghe_host && *ghe_host && !(explicit_url && *explicit_url)) {
        const char *proto = getenv("GHE_PROTOCOL");
        if (!proto || !*proto)
            proto = "https";
        if (strcmp(proto, "https") != 0 && strcmp(proto, "http") != 0) {
            snprintf(err, errlen, "GHE_PROTOCOL: expected https or http");
            return SG_ERR_CONFIG;
        }
        if (strpbrk(ghe_host, "/ ?#@")) {
            snprintf(err, errlen, "GHE_HOST: expected a host name (and optional :port), not a URL");
            return SG_ERR_CONFIG;
        }
        char url[512];
        snprintf(url, sizeof url, "%s://%s/api/v3", proto, ghe_host);
        char *copy = strdup(url);
        if (!copy)
            return SG_ERR_NOMEM;
        free(cfg->github_api_url);
        cfg->github_api_url = copy;
    }
    if (!needs_app)
        return SG_OK;
    int64_t id;
    if (!cfg->app_id || !cfg->app_id[0]) {
        snprintf(err, errlen, "APP_ID: required to run jobs (the GitHub App's id)");
        return SG_ERR_CONFIG;
    }
    if (!sg_parse_i64(cfg->app_id, 1, INT64_MAX, &id)) {
        snprintf(err, errlen, "APP_ID: expected a positive integer");
        return SG_ERR_CONFIG;
    }
    char *pem = NULL;
    if (cfg->private_key && cfg->private_key[0]) {
        pem = strdup(cfg->private_key);
    } else if (cfg->private_key_path && cfg->private_key_path[0]) {
        char why[200];
        pem = sg_read_secret_file(cfg->private_key_path, 64 * 1024, why, sizeof why);
        if (!pem) {
            snprintf(err, errlen, "PRIVATE_KEY_PATH: %s", why);
            return SG_ERR_CONFIG;
        }
    } else {
        snprintf(err, errlen,
                 "PRIVATE_KEY: required to run jobs (set PRIVATE_KEY, PRIVATE_KEY_FILE "
                 "or PRIVATE_KEY_PATH)");
        return SG_ERR_CONFIG;
    }
    if (!pem)
        return SG_ERR_NOMEM;
    char why[200];
    cfg->app_key = sg_pkey_load_pem(pem, why, sizeof why);
    memset(pem, 0, strlen(pem));
    free(pem);
    if (!cfg->app_key) {
        snprintf(err, errlen, "PRIVATE_KEY: %s", why);
        return SG_ERR_CONFIG;
    }
    return SG_OK;
}

void wk_config_free(struct wk_config *cfg)
{
    if (cfg->private_key)
        memset(cfg->private_key, 0, strlen(cfg->private_key));
    free_table(cfg);
    sg_pkey_free(cfg->app_key);
    cfg->app_key = NULL;
}

void wk_config_print_help(void *file)
{
    struct wk_config tmp;
    memset(&tmp, 0, sizeof tmp);
    const struct sg_config_var vars[] = VARS(&tmp);
    sg_config_print_help(vars, sizeof vars / sizeof vars[0], file);
}
