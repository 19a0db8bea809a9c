/* Why: `singularity-worker migrate [--wait SECONDS]`: applies the embedded migrations once each,
 * waiting a little for a database that starts after the migration Job. */
#include "wk_cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wk_config.h"
#include "wk_db.h"
#include "wk_migrate.h"
#include "sg_config.h"
#include "sg_time.h"

int wk_cmd_migrate(int argc, char **argv)
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
    int rc = wk_cli_config(&cfg, false);
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
