/* Why: the operators' command line: `singularity-worker` (run), `migrate`, `queue`,
 * `dead list|retry|purge`, `redeliver --since DURATION`, `--help`, `--version`. cli.c dispatches;
 * each command lives in its own file (run.c, cmd_migrate.c, cmd_queue.c, cmd_dead.c,
 * cmd_redeliver.c) and shares the few helpers below. Commands print for people by default and
 * JSON with --json, and exit 0 on success, 1 on failure, 2 on a usage or configuration error.
 *
 * Ownership: wk_cli_open_queue() fills a struct wk_cli_queue whose objects belong to it until
 * wk_cli_close_queue(). */
#ifndef WK_CLI_H
#define WK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"

struct wk_config;
struct wk_github;
struct wk_github_error;

/* Entry point for main(): dispatches the command line; returns the process exit status. */
int wk_cli_main(int argc, char **argv);

/* --- shared by the commands --- */

/* Loads the configuration (needs_app: APP_ID and the key too); 0, or 2 after printing why. The
 * caller calls wk_config_free() in both cases. */
int wk_cli_config(struct wk_config *cfg, bool needs_app);

struct wk_cli_queue {
    struct wk_redis *redis;
    struct wk_queue *queue;
};
/* Connects to REDIS_URL; false after printing why (nothing to close then). */
bool wk_cli_open_queue(const struct wk_config *cfg, struct wk_cli_queue *out);
void wk_cli_close_queue(struct wk_cli_queue *cq);

/* --- the commands: argv after the command's name; each returns the exit status --- */
int wk_cmd_migrate(int argc, char **argv);
int wk_cmd_queue(int argc, char **argv);
int wk_cmd_dead(int argc, char **argv);
int wk_cmd_redeliver(int argc, char **argv);

/* --- redeliver, exported for tests --- */
struct wk_redeliver_stats {
    size_t listed;      /* deliveries since the cut-off */
    size_t failed;      /* guids whose every attempt failed */
    size_t redelivered; /* redelivery requests GitHub accepted */
    size_t errors;      /* redelivery requests that failed */
};

/* Lists the App's deliveries since since_unix_s and asks for a redelivery of each guid that has
 * no successful (2xx) attempt, once per guid (its newest attempt). dry_run only counts. Logs one
 * line per redelivery. */
enum sg_err wk_redeliver_failed(struct wk_github *gh, int64_t since_unix_s, bool dry_run,
                                struct wk_redeliver_stats *stats, struct wk_github_error *err);

#endif
