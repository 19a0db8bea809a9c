/* Why: `singularity-worker migrate` applies migrations/NNNN_name.sql in order, once each, and a
 * worker refuses to run against an older schema. The SQL is compiled into the binary
 * (embed_migrations.cmake), so an image needs no files beside it. Each migration runs in one
 * transaction under a transaction-scoped advisory lock (safe when several `migrate` run at once,
 * and through PgBouncer), and is recorded in schema_migrations.
 *
 * Ownership: the embedded table is static; wk_migrate_* borrow everything they are given. */
#ifndef WK_MIGRATE_H
#define WK_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_err.h"

struct wk_db;

struct wk_migration {
    const char *name; /* "0001_init.sql" */
    const char *sql;
};

extern const struct wk_migration wk_migrations_embedded[];
extern const size_t wk_migrations_embedded_count;

/* The version of a migration file name: "0001_init.sql" -> 1. False unless the name is
 * NNNN_name.sql (at least one digit, an underscore, a name, ".sql"). */
bool wk_migration_version(const char *name, int *version);

/* Puts migrations in version order (a stable sort on the number, not the text) and checks there
 * are no bad names or duplicate versions; err names the offending file. */
enum sg_err wk_migrations_sort(struct wk_migration *m, size_t n, char *err, size_t errlen);

/* Highest version of the embedded migrations: the schema this binary needs. */
int wk_migrations_required(void);

/* Applies every migration not yet recorded, in order, then creates partitions ahead.
 * *applied = how many ran now. */
enum sg_err wk_migrate_run(struct wk_db *db, const struct wk_migration *m, size_t n, int *applied,
                           char *err, size_t errlen);

#endif
