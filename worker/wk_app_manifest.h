/* Why: the GitHub App's manifest (app.yml, DESIGN.md section 12) and what GitHub answers about an
 * App, understood in one place: `register` posts the manifest and reads the code conversion's
 * answer; `doctor` compares the registered App's permissions and events with the manifest's.
 * Pure functions over bytes (no I/O but reading app.yml), so the parsers are fuzzed alone.
 *
 * Ownership: json_object results belong to the caller (json_object_put). Strings in
 * struct wk_app_credentials are malloc'ed and freed by wk_app_credentials_clear(), which also
 * wipes the secrets. */
#ifndef WK_APP_MANIFEST_H
#define WK_APP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "sg_buf.h"
#include "sg_err.h"

struct json_object;

#define WK_MANIFEST_MAX_BYTES (64 * 1024)

/* app.yml as compiled into the binary (worker/embed_app_yml.cmake). */
extern const char *const wk_app_yml_embedded;
extern const size_t wk_app_yml_embedded_len;

/* YAML text (a mapping at the top) to JSON: plain scalars true/false/null/integers become JSON
 * booleans, null and numbers, everything else a string. NULL with a reason in err. */
struct json_object *wk_manifest_from_yaml(const char *text, size_t len, char *err, size_t errlen);

/* The manifest from path, or when path is NULL from ./app.yml if it exists, else the compiled-in
 * copy. *source (may be NULL) is set to the file used or "built-in app.yml". The manifest must
 * have default_permissions (a mapping) and default_events (a list). */
struct json_object *wk_manifest_load(const char *path, const char **source, char *err,
                                     size_t errlen);

/* What `app` (GET /app's permissions and events) lacks of the manifest `want`: appends one
 * "permission checks: write (the App has read)" / "event push" item per gap to out, separated
 * by "; ", and returns how many there are. */
size_t wk_manifest_missing(struct json_object *want, struct json_object *app, struct sg_buf *out);

/* POST /app-manifests/{code}/conversions answers the new App with its credentials. */
struct wk_app_credentials {
    int64_t id;
    char *slug;
    char *name;
    char *html_url;
    char *owner_login; /* may be NULL (GitHub: a nullable owner) */
    char *client_id;
    char *client_secret;
    char *webhook_secret; /* GitHub allows null; then "" */
    char *pem;
};

/* Parses the conversion's JSON answer; SG_ERR_PARSE with a reason when a field the worker needs
 * (id, html_url, client_id, client_secret, pem) is missing or of the wrong type. */
enum sg_err wk_app_credentials_parse(const char *body, size_t len, struct wk_app_credentials *out,
                                     char *err, size_t errlen);
void wk_app_credentials_clear(struct wk_app_credentials *c);

#endif
