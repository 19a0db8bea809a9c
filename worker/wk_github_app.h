/* Why: the few GitHub calls made while setting an App up, before any installation exists:
 * exchanging a manifest code for the new App's credentials (no credential at all), and the App's
 * own view of itself (GET /app, GET /app/installations with the App's JWT). They sit apart from
 * the job client (github.h), which is built around installations, Redis and pacing; these are
 * one-shot commands (`register`, `doctor`) that need none of that.
 *
 * Ownership: json_object results belong to the caller (json_object_put). */
#ifndef WK_GITHUB_APP_H
#define WK_GITHUB_APP_H

#include <stddef.h>
#include <stdint.h>

#include "wk_app_manifest.h"
#include "sg_crypto.h"
#include "sg_err.h"

#define WK_GHAPP_MAX_RESPONSE (1u << 20)

/* POST {api_url}/app-manifests/{code}/conversions. code must be a plain token (letters, digits,
 * '-', '_'). SG_ERR_NOT_FOUND when GitHub does not know the code (used already, expired: codes
 * are one-time and live an hour); other failures as classified by wk_github_classify(). */
enum sg_err wk_ghapp_convert(const char *api_url, const char *code, struct wk_app_credentials *out,
                             char *err, size_t errlen);

/* GET {api_url}{path} with the App's JWT (iss = app_id, signed with key). On SG_OK *out is the
 * parsed answer (an object or an array). SG_ERR_AUTH on 401: the key is not this App's (or
 * APP_ID is wrong); err carries GitHub's message. */
enum sg_err wk_ghapp_get(const char *api_url, const char *app_id, sg_pkey *key, const char *path,
                         struct json_object **out, char *err, size_t errlen);

#endif
