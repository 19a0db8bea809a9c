/* Why: `singularity-worker doctor` — the first-hour mistakes (a key of another App, a secret file
 * that is not there, migrations not run, a Redis replica, no installation, a permission missing
 * after app.yml changed) each look like "nothing happens" from outside. Doctor checks the
 * configuration end to end (DESIGN.md section 12) and prints one line per check, with what to do
 * when it fails; a check that depends on a failed one is skipped, so one mistake gives one FAIL.
 * Exit status 0 only when every check passes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "wk_app_manifest.h"
#include "wk_cli.h"
#include "wk_cmd_setup.h"
#include "wk_config.h"
#include "wk_db.h"
#include "wk_github_app.h"
#include "wk_migrate.h"
#include "wk_redis.h"
#include "sg_config.h"

struct doctor {
    int failed;
};

static void line(struct doctor *d, bool ok, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(struct doctor *d, bool ok, const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-4s  %-12s ", ok ? "ok" : "FAIL", check);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    d->failed += !ok;
}

static void skip(const char *check, const char *why)
{
    printf("%-4s  %-12s skipped: %s\n", "--", check, why);
}

static void check_redis(struct doctor *d, struct wk_config *cfg)
{
    char err[256];
    struct wk_redis *rc = wk_redis_new(cfg->redis_url, (int)cfg->redis_timeout_ms, err, sizeof err);
    if (!rc) {
        line(d, false, "redis", "REDIS_URL: %s", err);
        return;
    }
    redisReply *rep = NULL;
    if (wk_redis_connect(rc) != SG_OK) {
        line(d, false, "redis", "not reachable: %s; start Redis or fix REDIS_URL",
             wk_redis_error(rc));
    } else if (!(rep = wk_redis_command(rc, "ROLE")) || rep->type != REDIS_REPLY_ARRAY ||
               rep->elements < 1 || rep->element[0]->type != REDIS_REPLY_STRING) {
        line(d, false, "redis", "ROLE failed: %s", rep && rep->str ? rep->str : "no answer");
    } else if (strcmp(rep->element[0]->str, "master") != 0) {
        line(d, false, "redis",
             "is a %s, not the primary: jobs cannot be queued or taken there; point REDIS_URL "
             "at the primary (or use REDIS_SENTINELS)",
             rep->element[0]->str);
    } else {
        line(d, true, "redis", "reachable, the primary");
    }
    if (rep)
        freeReplyObject(rep);
    wk_redis_free(rc);
}

static void check_postgres(struct doctor *d, struct wk_config *cfg)
{
    struct wk_db *db = wk_db_new(cfg->database_url, (int)cfg->db_connect_timeout_s,
                                 (int)cfg->db_statement_timeout_ms);
    int have = 0, need = wk_migrations_required();
    if (!db || wk_db_connect(db) != SG_OK) {
        line(d, false, "postgres", "not reachable: %s; start PostgreSQL or fix DATABASE_URL",
             db ? wk_db_error(db) : "out of memory");
    } else if (wk_db_schema_version(db, &have) != SG_OK) {
        line(d, false, "postgres", "cannot read the schema version: %s", wk_db_error(db));
    } else if (have < need) {
        line(d, false, "postgres",
             "schema version %d, this worker needs %d: run `singularity-worker migrate`", have,
             need);
    } else {
        line(d, true, "postgres", "reachable, schema version %d (needs %d)", have, need);
    }
    wk_db_free(db);
}

static void check_secret(struct doctor *d)
{
    char *secret = NULL, err[300];
    struct sg_config_var v[] = {
        {"WEBHOOK_SECRET", SG_CFG_SECRET, NULL, true, 0, 0, &secret, "webhook secret"}};
    if (sg_config_load(v, 1, NULL, err, sizeof err) != SG_OK)
        line(d, false, "webhook", "%s; it must equal the App's webhook secret on GitHub", err);
    else
        line(d, true, "webhook", "secret set (%zu characters)", strlen(secret));
    if (secret)
        memset(secret, 0, strlen(secret));
    sg_config_free(v, 1);
}

/* GET /app, then the manifest comparison and GET /app/installations that need it. */
static void check_github(struct doctor *d, const char *app_yml)
{
    struct wk_config cfg;
    char err[512];
    struct json_object *app = NULL, *inst = NULL, *want = NULL, *v;
    if (wk_config_load(&cfg, true, err, sizeof err) != SG_OK) {
        line(d, false, "github app", "%s", err);
        goto skip_rest;
    }
    enum sg_err e =
        wk_ghapp_get(cfg.github_api_url, cfg.app_id, cfg.app_key, "/app", &app, err, sizeof err);
    if (e == SG_ERR_AUTH) {
        line(d, false, "github app",
             "GET /app refused the App's JWT (%s): the private key is not App %s's, or APP_ID is "
             "wrong; generate a key in the App's settings and set PRIVATE_KEY_PATH",
             err, cfg.app_id);
        goto skip_rest;
    }
    if (e != SG_OK) {
        line(d, false, "github app", "GET %s/app failed: %s; check GITHUB_API_URL",
             cfg.github_api_url, err);
        goto skip_rest;
    }
    const char *slug = json_object_object_get_ex(app, "slug", &v) ? json_object_get_string(v) : "";
    const char *html =
        json_object_object_get_ex(app, "html_url", &v) ? json_object_get_string(v) : "";
    line(d, true, "github app", "App %s (%s) accepts this key", cfg.app_id, slug ? slug : "");

    const char *src;
    if (!(want = wk_manifest_load(app_yml, &src, err, sizeof err))) {
        line(d, false, "permissions", "%s", err);
    } else {
        struct sg_buf gaps;
        sg_buf_init(&gaps, 4096);
        size_t n = wk_manifest_missing(want, app, &gaps);
        if (n)
            line(d, false, "permissions",
                 "the App lacks what %s asks for: %s; add it in the App's settings "
                 "(Permissions & events), then accept the new permissions on each installation",
                 src, sg_buf_str(&gaps));
        else
            line(d, true, "permissions", "the App's permissions and events cover %s", src);
        sg_buf_free(&gaps);
    }

    e = wk_ghapp_get(cfg.github_api_url, cfg.app_id, cfg.app_key, "/app/installations?per_page=100",
                     &inst, err, sizeof err);
    size_t count = json_object_is_type(inst, json_type_array) ? json_object_array_length(inst) : 0;
    if (e != SG_OK)
        line(d, false, "installed", "GET /app/installations failed: %s", err);
    else if (count == 0)
        line(d, false, "installed",
             "the App has no installation: install it on a repository at %s/installations/new",
             html ? html : "");
    else
        line(d, true, "installed", "%zu installation(s)%s", count, count == 100 ? " or more" : "");
    goto out;
skip_rest:
    skip("permissions", "needs GET /app");
    skip("installed", "needs GET /app");
out:
    json_object_put(app);
    json_object_put(inst);
    json_object_put(want);
    wk_config_free(&cfg);
}

int wk_cmd_doctor(int argc, char **argv)
{
    const char *app_yml = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--app-yml") && i + 1 < argc) {
            app_yml = argv[++i];
        } else {
            fprintf(stderr, "usage: singularity-worker doctor [--app-yml PATH]\n");
            return 2;
        }
    }
    struct wk_config cfg;
    char err[300];
    if (wk_config_load(&cfg, false, err, sizeof err) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        wk_config_free(&cfg);
        return 2;
    }
    struct doctor d = {0};
    check_redis(&d, &cfg);
    check_postgres(&d, &cfg);
    check_github(&d, app_yml);
    check_secret(&d);
    wk_config_free(&cfg);
    printf(d.failed ? "doctor: %d check(s) failed\n" : "doctor: every check passed\n", d.failed);
    return d.failed ? 1 : 0;
}
