/* Why: the worker's configuration in one settings table (DESIGN.md section 7 names; pgbouncer's
 * idea): every variable, its default, its bounds and its help line in one place, all validated at
 * start with one clear line naming the variable. Each command loads only what it needs: APP_ID and
 * the private key are required to run jobs or redeliver, not to migrate or inspect.
 *
 * Ownership: wk_config_load() fills a struct whose strings and key belong to it until
 * wk_config_free(). */
#ifndef WK_CONFIG_H
#define WK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_crypto.h"
#include "sg_err.h"

struct wk_config {
    char *redis_url;
    char *database_url;
    char *app_id;
    char *private_key; /* PEM text (secret) */
    char *private_key_path;
    char *github_api_url;
    char *log_level;
    char *log_format;
    char *metrics_host;
    int64_t metrics_port;
    int64_t max_attempts;
    int64_t analysis_timeout_s;
    int64_t worker_dead_after_s;
    int64_t shutdown_grace_s;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int64_t max_stored_findings;
    int64_t max_annotations;
    int64_t github_pace_ms;
    int64_t db_connect_timeout_s;
    int64_t db_statement_timeout_ms;
    int64_t redis_timeout_ms;
    int64_t job_stale_s;
    sg_pkey *app_key; /* loaded when needs_app */
};

/* Loads and validates the configuration; needs_app also requires APP_ID and a private key and
 * loads it. On error returns SG_ERR_CONFIG with one line naming the variable in err. */
enum sg_err wk_config_load(struct wk_config *cfg, bool needs_app, char *err, size_t errlen);
void wk_config_free(struct wk_config *cfg);
void wk_config_print_help(void *file /* FILE* */);

#endif
