/* Why: see cli.h. Operators' commands print for people by default and JSON with --json, and exit
 * 0 on success, 1 on failure, 2 on a usage or configuration error. */
#include "cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_setup.h"
#include "db.h"
#include "github.h"
#include "migrate.h"
#include "queue.h"
#include "run.h"
#include "sg_buf.h"
#include "sg_config.h"
#include "sg_job.h"
#include "sg_log.h"
#include "sg_time.h"

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

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: singularity-worker [COMMAND]\n"
        "\n"
        "  (no command) | run          take jobs from analysis_queue and run them; /healthz and\n"
        "                              /metrics on METRICS_PORT\n"
        "  migrate [--wait SECONDS]    apply the database migrations (once each, under a lock)\n"
        "  queue [--json]              pending, in flight, delayed, dead, oldest age\n"
        "  dead list [--json] [--limit N]  jobs in analysis_queue:dead with their last error\n"
        "  dead retry DELIVERY|--all   put dead jobs back on the queue (attempts reset)\n"
        "  dead purge                  delete analysis_queue:dead\n"
        "  redeliver --since DURATION [--dry-run]\n"
        "                              ask GitHub to redeliver webhooks that failed since then\n"
        "                              (e.g. 90m, 6h, 2d)\n"
        "  register [--org ORG] [--public-url URL] [--listen HOST:PORT] [--env-file PATH] "
        "[--force]\n"
        "                              create the GitHub App from app.yml, write .env and its key\n"
        "  doctor [--app-yml PATH]     check Redis, PostgreSQL and the GitHub App setup\n"
        "  --help, --version\n"
        "\n"
        "environment:\n");
    wk_config_print_help(f);
}

static int config_or_die(struct wk_config *cfg, bool needs_app)
{
    char err[300];
    if (wk_config_load(cfg, needs_app, err, sizeof err) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        return 2;
    }
    return 0;
}

static int cmd_migrate(int argc, char **argv)
{
    int64_t wait_s = 30;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc &&
            sg_parse_i64(argv[i + 1], 0, 3600, &wait_s)) {
            i++;
        } else {
            fprintf(stderr, "usage: singularity-worker migrate [--wait SECONDS]\n");
            return 2;
        }
    }
    struct wk_config cfg;
    int rc = config_or_die(&cfg, false);
    if (rc)
        goto out;
    struct wk_db *db = wk_db_new(cfg.database_url, (int)cfg.db_connect_timeout_s,
                                 (int)cfg.db_statement_timeout_ms);
    rc = 1;
    if (!db)
        goto out;
    /* A migration Job may start before the database: wait for it a little. */
    int64_t deadline = sg_mono_ms() + wait_s * 1000;
    while (wk_db_connect(db) != SG_OK && sg_mono_ms() < deadline)
        sleep(1);
    char err[600];
    int applied = 0, before = 0;
    if (wk_db_schema_version(db, &before) != SG_OK) {
        fprintf(stderr, "singularity-worker migrate: %s\n", wk_db_error(db));
        wk_db_free(db);
        goto out;
    }
    if (wk_migrate_run(db, wk_migrations_embedded, wk_migrations_embedded_count, &applied, err,
                       sizeof err) != SG_OK) {
        fprintf(stderr, "singularity-worker migrate: %s\n", err);
        wk_db_free(db);
        goto out;
    }
    int after = 0;
    wk_db_schema_version(db, &after);
    printf("migrate: %d applied, schema version %d (was %d)\n", applied, after, before);
    wk_db_free(db);
    rc = 0;
out:
    wk_config_free(&cfg);
    return rc;
}

static struct wk_queue *open_queue(struct wk_config *cfg)
{
    char err[256];
    struct wk_queue *q =
        wk_queue_new(cfg->redis_url, "cli", (int)cfg->redis_timeout_ms, err, sizeof err);
    if (!q) {
        fprintf(stderr, "singularity-worker: REDIS_URL: %s\n", err);
        return NULL;
    }
    if (wk_queue_connect(q) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n", wk_queue_error(q));
        wk_queue_free(q);
        return NULL;
    }
    return q;
}

static int cmd_queue(int argc, char **argv)
{
    bool json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1 || (argc == 1 && !json)) {
        fprintf(stderr, "usage: singularity-worker queue [--json]\n");
        return 2;
    }
    struct wk_config cfg;
    int rc = config_or_die(&cfg, false);
    if (rc)
        goto out;
    rc = 1;
    struct wk_queue *q = open_queue(&cfg);
    if (!q)
        goto out;
    struct sg_queue_stats st;
    if (wk_queue_stats(q, sg_now_ms(), &st) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n", wk_queue_error(q));
        wk_queue_free(q);
        goto out;
    }
    if (json)
        printf(
            "{\"pending\":%lld,\"inflight\":%lld,\"delayed\":%lld,\"dead\":%lld,\"workers\":%lld,"
            "\"oldest_age_seconds\":%.3f}\n",
            (long long)st.length, (long long)st.inflight, (long long)st.delayed, (long long)st.dead,
            (long long)st.workers, st.oldest_age_s);
    else
        printf("pending     %lld\nin flight   %lld  (%lld workers)\ndelayed     %lld\n"
               "dead        %lld\noldest age  %.1f s\n",
               (long long)st.length, (long long)st.inflight, (long long)st.workers,
               (long long)st.delayed, (long long)st.dead, st.oldest_age_s);
    wk_queue_free(q);
    rc = 0;
out:
    wk_config_free(&cfg);
    return rc;
}

struct dead_ctx {
    bool json;
    bool first;
    long index;
    const char *match; /* retry: delivery id, or NULL for all */
    char **lines;      /* retry: collected lines */
    size_t n, cap;
};

static void dead_print(void *ud, const char *line, size_t len)
{
    struct dead_ctx *d = ud;
    if (d->json) {
        printf("%s%.*s", d->first ? "" : ",\n", (int)len, line);
        d->first = false;
        d->index++;
        return;
    }
    struct sg_job job;
    char err[200];
    if (sg_job_decode(line, len, &job, err, sizeof err) != SG_OK) {
        /* An unparseable job is buried as {"last_error":...,"raw":...} (jobs.c). */
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL, *le, *raw;
        if (o && json_object_object_get_ex(o, "last_error", &le) &&
            json_object_object_get_ex(o, "raw", &raw)) {
            printf("%3ld  (unparseable: %s)  %.200s\n", d->index++, json_object_get_string(le),
                   json_object_get_string(raw));
        } else {
            printf("%3ld  (unparseable: %s)  %.*s\n", d->index++, err, (int)(len > 200 ? 200 : len),
                   line);
        }
        json_object_put(o);
        json_tokener_free(tok);
        return;
    }
    printf("%3ld  %-8s %-36s %-30s %.12s  attempts=%d  %s\n", d->index++, sg_job_kind_str(job.kind),
           job.delivery ? job.delivery : "-", job.repo_full_name ? job.repo_full_name : "-",
           job.sha ? job.sha : "-", job.attempt, job.last_error ? job.last_error : "");
    sg_job_clear(&job);
}

static void dead_collect(void *ud, const char *line, size_t len)
{
    struct dead_ctx *d = ud;
    if (d->match) {
        struct sg_job job;
        char err[200];
        bool hit = sg_job_decode(line, len, &job, err, sizeof err) == SG_OK && job.delivery &&
                   strcmp(job.delivery, d->match) == 0;
        sg_job_clear(&job);
        if (!hit)
            return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **v = realloc(d->lines, cap * sizeof *v);
        if (!v)
            return;
        d->lines = v;
        d->cap = cap;
    }
    char *copy = strndup(line, len);
    if (copy)
        d->lines[d->n++] = copy;
}

static int cmd_dead(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: singularity-worker dead list|retry|purge\n");
        return 2;
    }
    struct wk_config cfg;
    struct dead_ctx d = {.first = true};
    struct wk_queue *q = NULL;
    int rc = config_or_die(&cfg, false);
    if (rc)
        goto out;
    rc = 2;
    const char *sub = argv[0];
    int64_t limit = 100;
    if (strcmp(sub, "list") == 0) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                d.json = true;
            else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
                     sg_parse_i64(argv[i + 1], 1, 1000000, &limit))
                i++;
            else
                goto usage;
        }
    } else if (strcmp(sub, "retry") == 0) {
        if (argc != 2)
            goto usage;
        d.match = strcmp(argv[1], "--all") == 0 ? NULL : argv[1];
    } else if (strcmp(sub, "purge") == 0) {
        if (argc != 1)
            goto usage;
    } else {
        goto usage;
    }
    rc = 1;
    if (!(q = open_queue(&cfg)))
        goto out;
    enum sg_err e;
    if (strcmp(sub, "list") == 0) {
        if (d.json)
            printf("[");
        e = wk_queue_dead_list(q, 0, (long)limit - 1, dead_print, &d);
        if (d.json)
            printf("]\n");
        else if (!e && d.index == 0)
            printf("analysis_queue:dead is empty\n");
    } else if (strcmp(sub, "retry") == 0) {
        e = wk_queue_dead_list(q, 0, -1, dead_collect, &d);
        size_t moved = 0;
        for (size_t i = 0; i < d.n && !e; i++) {
            struct sg_job job;
            char err[200];
            struct sg_buf nb;
            sg_buf_init(&nb, 1 << 20);
            bool ok = false;
            if (sg_job_decode(d.lines[i], strlen(d.lines[i]), &job, err, sizeof err) == SG_OK) {
                /* A fresh start: attempts reset, last error dropped. */
                job.attempt = 0;
                free(job.last_error);
                job.last_error = NULL;
                if (sg_job_encode(&job, &nb) == SG_OK)
                    e = wk_queue_dead_requeue(q, d.lines[i], sg_buf_str(&nb), &ok);
            } else {
                fprintf(stderr, "skipping an unparseable job (%s); `dead purge` removes it\n", err);
            }
            moved += ok;
            sg_job_clear(&job);
            sg_buf_free(&nb);
        }
        if (!e) {
            printf("retry: %zu job(s) moved back to analysis_queue\n", moved);
            if (d.match && moved == 0) {
                fprintf(stderr, "no dead job with delivery %s\n", d.match);
                rc = 1;
                goto out;
            }
        }
    } else {
        int64_t n = 0;
        e = wk_queue_dead_purge(q, &n);
        if (!e)
            printf("purge: %lld job(s) deleted\n", (long long)n);
    }
    if (e) {
        fprintf(stderr, "singularity-worker: %s\n", wk_queue_error(q));
        goto out;
    }
    rc = 0;
    goto out;
usage:
    fprintf(stderr, "usage: singularity-worker dead list [--json] [--limit N] | retry "
                    "DELIVERY|--all | purge\n");
out:
    for (size_t i = 0; i < d.n; i++)
        free(d.lines[i]);
    free(d.lines);
    wk_queue_free(q);
    wk_config_free(&cfg);
    return rc;
}

static int cmd_redeliver(int argc, char **argv)
{
    int64_t since = -1;
    bool dry = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
            sg_parse_duration(argv[i + 1], &since))
            i++;
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry = true;
        else
            since = -2;
    }
    if (since < 0) {
        fprintf(stderr, "usage: singularity-worker redeliver --since DURATION [--dry-run]  (e.g. "
                        "90m, 6h, 2d)\n");
        return 2;
    }
    struct wk_config cfg;
    int rc = config_or_die(&cfg, true);
    if (rc)
        goto out;
    rc = 1;
    char err[256];
    struct wk_github_config gc = {.api_url = cfg.github_api_url,
                                  .app_id = cfg.app_id,
                                  .app_key = cfg.app_key,
                                  .pace_ms = cfg.github_pace_ms};
    struct wk_github *gh = wk_github_new(&gc, err, sizeof err);
    if (!gh) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        goto out;
    }
    struct wk_github_redeliver_stats st = {0};
    struct wk_github_error ge = {0};
    enum sg_err e = wk_github_redeliver_failed(gh, sg_now_ms() / 1000 - since, dry, &st, &ge);
    wk_github_free(gh);
    printf("redeliver: %zu deliveries since %llds ago, %zu failed, %zu redelivered%s, %zu errors\n",
           st.listed, (long long)since, st.failed, st.redelivered, dry ? " (dry run)" : "",
           st.errors);
    if (e) {
        fprintf(stderr, "singularity-worker redeliver: %s\n",
                ge.message[0] ? ge.message : sg_err_str(e));
        goto out;
    }
    rc = st.errors ? 1 : 0;
out:
    wk_config_free(&cfg);
    return rc;
}

int wk_cli_main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "run";
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("singularity-worker %s (schema %d)\n", SG_VERSION, wk_migrations_required());
        return 0;
    }
    if (strcmp(cmd, "run") == 0) {
        if (argc > 2) {
            usage(stderr);
            return 2;
        }
        struct wk_config cfg;
        int rc = config_or_die(&cfg, true);
        if (!rc)
            rc = wk_run_worker(&cfg);
        wk_config_free(&cfg);
        return rc;
    }
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "queue") == 0)
        return cmd_queue(argc - 2, argv + 2);
    if (strcmp(cmd, "dead") == 0)
        return cmd_dead(argc - 2, argv + 2);
    if (strcmp(cmd, "redeliver") == 0)
        return cmd_redeliver(argc - 2, argv + 2);
    if (strcmp(cmd, "register") == 0 || strcmp(cmd, "doctor") == 0)
        return (cmd[0] == 'r' ? wk_cmd_register : wk_cmd_doctor)(argc - 2, argv + 2);
    fprintf(stderr, "singularity-worker: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
