/* Why: see cli.h. The dispatcher and what every command shares; the commands live in cmd_*.c. */
#include "wk_cli.h"

#include <stdio.h>
#include <string.h>

#include "wk_cmd_setup.h"
#include "wk_config.h"
#include "wk_migrate.h"
#include "wk_queue.h"
#include "wk_redis.h"
#include "wk_run.h"

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

int wk_cli_config(struct wk_config *cfg, bool needs_app)
{
    char err[300];
    if (wk_config_load(cfg, needs_app, err, sizeof err) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        return 2;
    }
    return 0;
}

bool wk_cli_open_queue(const struct wk_config *cfg, struct wk_cli_queue *out)
{
    char err[256];
    memset(out, 0, sizeof *out);
    out->redis = wk_redis_new(cfg->redis_url, (int)cfg->redis_timeout_ms, err, sizeof err);
    if (!out->redis) {
        fprintf(stderr, "singularity-worker: REDIS_URL: %s\n", err);
        return false;
    }
    out->queue = wk_queue_new(out->redis, "cli");
    if (!out->queue || wk_queue_connect(out->queue) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n",
                out->queue ? wk_queue_error(out->queue) : "out of memory");
        wk_cli_close_queue(out);
        return false;
    }
    return true;
}

void wk_cli_close_queue(struct wk_cli_queue *cq)
{
    wk_queue_free(cq->queue);
    wk_redis_free(cq->redis);
    memset(cq, 0, sizeof *cq);
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
        int rc = wk_cli_config(&cfg, true);
        if (!rc)
            rc = wk_run_worker(&cfg);
        wk_config_free(&cfg);
        return rc;
    }
    if (strcmp(cmd, "migrate") == 0)
        return wk_cmd_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "queue") == 0)
        return wk_cmd_queue(argc - 2, argv + 2);
    if (strcmp(cmd, "dead") == 0)
        return wk_cmd_dead(argc - 2, argv + 2);
    if (strcmp(cmd, "redeliver") == 0)
        return wk_cmd_redeliver(argc - 2, argv + 2);
    if (strcmp(cmd, "register") == 0 || strcmp(cmd, "doctor") == 0)
        return (cmd[0] == 'r' ? wk_cmd_register : wk_cmd_doctor)(argc - 2, argv + 2);
    fprintf(stderr, "singularity-worker: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
