/* Why: what a sync job writes: an installation and the repositories it can see now, or that it was
 * deleted or suspended. */
#include "wk_db_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sg_log.h"

enum sg_err wk_db_sync_installation(struct wk_db *db, int64_t installation_id,
                                    const char *account_login, const char *account_type,
                                    const char *repository_selection, bool suspended,
                                    const struct wk_db_repo *repos, size_t nrepos)
{
    char inst[24];
    wk_db_i64s(inst, sizeof inst, installation_id);
    struct sg_buf ids;
    sg_buf_init(&ids, 0);
    enum sg_err e = wk_db_begin(db);
    if (e)
        goto out;
    {
        const char *p[] = {inst, account_login, account_type, repository_selection,
                           suspended ? "t" : "f"};
        e = wk_db_exec(
            db,
            "INSERT INTO installations (id, account_login, account_type, repository_selection, "
            "suspended_at, deleted_at, synced_at) VALUES ($1, $2, $3, $4, "
            "CASE WHEN $5::boolean THEN now() END, NULL, now()) "
            "ON CONFLICT (id) DO UPDATE SET account_login = EXCLUDED.account_login, "
            "account_type = EXCLUDED.account_type, repository_selection = "
            "EXCLUDED.repository_selection, "
            "suspended_at = CASE WHEN $5::boolean THEN coalesce(installations.suspended_at, now()) "
            "END, "
            "deleted_at = NULL, synced_at = now(), updated_at = now()",
            5, p, NULL);
        if (e)
            goto out;
    }
    e = sg_buf_putc(&ids, '{');
    for (size_t i = 0; i < nrepos && !e; i++) {
        char id[24];
        wk_db_i64s(id, sizeof id, repos[i].id);
        const char *p[] = {id, inst, repos[i].full_name, repos[i].default_branch,
                           repos[i].is_private ? "t" : "f"};
        e = wk_db_exec(
            db,
            "INSERT INTO repositories (id, installation_id, full_name, default_branch, private) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
            "installation_id = EXCLUDED.installation_id, full_name = EXCLUDED.full_name, "
            "default_branch = EXCLUDED.default_branch, private = EXCLUDED.private, "
            "removed_at = NULL, updated_at = now()",
            5, p, NULL);
        if (!e)
            e = sg_buf_printf(&ids, "%s%s", i ? "," : "", id);
    }
    if (!e)
        e = sg_buf_putc(&ids, '}');
    if (e)
        goto out;
    {
        /* Repositories the installation no longer sees (installation_repositories removed). */
        const char *p[] = {inst, sg_buf_str(&ids)};
        e = wk_db_exec(
            db,
            "UPDATE repositories SET removed_at = now(), updated_at = now() "
            "WHERE installation_id = $1 AND removed_at IS NULL AND NOT (id = ANY($2::bigint[]))",
            2, p, NULL);
        if (e)
            goto out;
    }
    e = wk_db_commit(db);
out:
    if (e)
        wk_db_rollback(db);
    sg_buf_free(&ids);
    return e;
}

enum sg_err wk_db_installation_deleted(struct wk_db *db, int64_t installation_id)
{
    char inst[24];
    wk_db_i64s(inst, sizeof inst, installation_id);
    enum sg_err e = wk_db_begin(db);
    if (e)
        return e;
    const char *p[] = {inst};
    e = wk_db_exec(db,
                   "INSERT INTO installations (id, deleted_at) VALUES ($1, now()) "
                   "ON CONFLICT (id) DO UPDATE SET deleted_at = now(), updated_at = now()",
                   1, p, NULL);
    if (!e)
        e = wk_db_exec(db,
                       "UPDATE repositories SET removed_at = now(), updated_at = now() "
                       "WHERE installation_id = $1 AND removed_at IS NULL",
                       1, p, NULL);
    if (!e)
        e = wk_db_commit(db);
    if (e)
        wk_db_rollback(db);
    return e;
}

enum sg_err wk_db_installation_suspended(struct wk_db *db, int64_t installation_id, bool suspended)
{
    char inst[24];
    wk_db_i64s(inst, sizeof inst, installation_id);
    const char *p[] = {inst, suspended ? "t" : "f"};
    return wk_db_exec_tx(
        db,
        "INSERT INTO installations (id, suspended_at) VALUES ($1, CASE WHEN $2::boolean "
        "THEN now() END) "
        "ON CONFLICT (id) DO UPDATE SET suspended_at = CASE WHEN $2::boolean THEN "
        "coalesce(installations.suspended_at, now()) END, updated_at = now()",
        2, p, NULL);
}
