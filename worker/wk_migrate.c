/* Why: see migrate.h. */
#include "wk_migrate.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_db.h"
#include "sg_log.h"

bool wk_migration_version(const char *name, int *version)
{
    if (!name)
        return false;
    const char *p = name;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > 1000000)
            return false;
        p++;
    }
    if (p == name || *p != '_' || p[1] == '\0')
        return false;
    size_t len = strlen(p);
    if (len < 6 || strcmp(p + len - 4, ".sql") != 0)
        return false;
    *version = (int)v;
    return true;
}

enum sg_err wk_migrations_sort(struct wk_migration *m, size_t n, char *err, size_t errlen)
{
    int *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return SG_ERR_NOMEM;
    enum sg_err e = SG_OK;
    for (size_t i = 0; i < n; i++) {
        if (!wk_migration_version(m[i].name, &v[i])) {
            snprintf(err, errlen, "%s: migration files are named NNNN_name.sql", m[i].name);
            e = SG_ERR_CONFIG;
            goto out;
        }
    }
    /* Insertion sort: few files, and stable. */
    for (size_t i = 1; i < n; i++) {
        struct wk_migration cur = m[i];
        int cv = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > cv) {
            m[j] = m[j - 1];
            v[j] = v[j - 1];
            j--;
        }
        m[j] = cur;
        v[j] = cv;
    }
    for (size_t i = 1; i < n; i++) {
        if (v[i] == v[i - 1]) {
            snprintf(err, errlen, "%s and %s: two migrations with version %d", m[i - 1].name,
                     m[i].name, v[i]);
            e = SG_ERR_CONFIG;
            goto out;
        }
    }
out:
    free(v);
    return e;
}

int wk_migrations_required(void)
{
    int max = 0, v;
    for (size_t i = 0; i < wk_migrations_embedded_count; i++)
        if (wk_migration_version(wk_migrations_embedded[i].name, &v) && v > max)
            max = v;
    return max;
}

/* One migration: lock, check, apply, record — all in one transaction. */
static enum sg_err apply_one(struct wk_db *db, const struct wk_migration *m, int version, bool *ran,
                             char *err, size_t errlen)
{
    *ran = false;
    enum sg_err e = wk_db_begin(db);
    if (e)
        goto out;
    PGconn *c = (PGconn *)wk_db_conn(db);
    /* Migrations may take longer than a job's statement timeout. */
    e = wk_db_exec(db, "SET LOCAL statement_timeout = 0", 0, NULL, NULL);
    if (!e)
        e = wk_db_exec(db, "SELECT pg_advisory_xact_lock(hashtext('singularity_migrate'))", 0, NULL,
                       NULL);
    if (!e)
        e = wk_db_exec(db,
                       "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                       "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                       0, NULL, NULL);
    if (e)
        goto out;
    char vs[16];
    snprintf(vs, sizeof vs, "%d", version);
    const char *p[] = {vs, m->name};
    PGresult *res = NULL;
    e = wk_db_exec(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, p, (void **)&res);
    if (e)
        goto out;
    bool done = PQntuples(res) > 0;
    PQclear(res);
    if (done) {
        e = wk_db_commit(db);
        goto out;
    }
    /* The file may hold several statements: the simple-query protocol runs them all, inside our
     * transaction. */
    res = PQexec(c, m->sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", m->name, PQresultErrorMessage(res));
        char *nl = strchr(err, '\n');
        if (nl)
            *nl = '\0';
        PQclear(res);
        e = SG_ERR_DB;
        goto out;
    }
    PQclear(res);
    e = wk_db_exec(db, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, p, NULL);
    if (!e)
        e = wk_db_commit(db);
    if (!e)
        *ran = true;
out:
    if (e) {
        if (!err[0])
            snprintf(err, errlen, "%s: %s", m->name, wk_db_error(db));
        wk_db_rollback(db);
    }
    return e;
}

enum sg_err wk_migrate_run(struct wk_db *db, const struct wk_migration *m, size_t n, int *applied,
                           char *err, size_t errlen)
{
    err[0] = '\0';
    *applied = 0;
    struct wk_migration *sorted = calloc(n ? n : 1, sizeof *sorted);
    if (!sorted)
        return SG_ERR_NOMEM;
    memcpy(sorted, m, n * sizeof *m);
    enum sg_err e = wk_migrations_sort(sorted, n, err, errlen);
    for (size_t i = 0; i < n && !e; i++) {
        int v = 0;
        bool ran = false;
        wk_migration_version(sorted[i].name, &v);
        e = apply_one(db, &sorted[i], v, &ran, err, errlen);
        if (!e && ran) {
            (*applied)++;
            sg_log_info("migration applied", SG_KV_STR("migration", sorted[i].name), SG_KV_END);
        }
    }
    if (!e) {
        int created = 0;
        e = wk_db_ensure_partitions(db, 1, &created);
        if (e)
            snprintf(err, errlen, "partitions: %s", wk_db_error(db));
    }
    free(sorted);
    return e;
}
