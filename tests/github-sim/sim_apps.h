/* Why: the simulator's GitHub Apps — the one given on the command line and those "created"
 * through the manifest flow — apart from the HTTP side (sim_app_api.c). Each App has its own RSA
 * key (a created App's key is generated here and handed out once, in the code conversion, as
 * GitHub does), its permissions and events (which tests may change, as an owner editing the App's
 * settings would), and the installations it owns. Functions answer with a status and a JSON body
 * that sim_app_api.c sends.
 *
 * Ownership: json_object results belong to the caller. Apps live until sim_apps_free(). */
#ifndef SIM_APPS_H
#define SIM_APPS_H

#include <stdbool.h>
#include <stdint.h>

#include "sg_crypto.h"

struct json_object;

/* The command line's App (id, key; borrowed) with the product's permissions and events. */
void sim_apps_init(const char *app_id, sg_pkey *key);
void sim_apps_free(void);
/* Records that installation inst belongs to App app_id (false: no such App). */
bool sim_apps_install(int64_t app_id, int64_t inst);

/* The App whose key signed this JWT and whose id is its iss (0 when none: a bad or foreign JWT,
 * such as one signed with another App's key). */
int64_t sim_apps_verify_jwt(const char *jwt, int64_t now_s);

/* GET /app for the App authenticated as app_id. */
struct json_object *sim_apps_get(int64_t app_id, const char *web_base);
/* The installation ids of app_id (count in *n; the array is the module's). */
const int64_t *sim_apps_installations(int64_t app_id, size_t *n);

/* Test hook standing in for github.com's "Create GitHub App" page: creates an App from a manifest
 * object ({"manifest": {...}, "owner": "login", "state": "...", "code_ttl_s": N}) and answers
 * {"code", "app_id", "location"} (location = the manifest's redirect_url + ?code=&state=), or a
 * 422 with GitHub-style errors for a manifest GitHub would refuse. */
struct json_object *sim_apps_create(struct json_object *body, const char *web_base, int *status);

/* POST /app-manifests/{code}/conversions: 201 with the App and its credentials, once per code;
 * 404 for an unknown, used or expired code. */
struct json_object *sim_apps_convert(const char *code, const char *web_base, int64_t now_s,
                                     int *status);

/* Test hook: replaces the App's permissions and/or events ({"permissions": {...},
 * "events": [...]}); 404 for an unknown App. */
struct json_object *sim_apps_update(int64_t app_id, struct json_object *body, int *status);

#endif
