/* Why: see sim_auth.h. Tokens are compared in constant time, as credentials should be. */
#include "sim_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "sg_crypto.h"
#include "sim.h"
#include "sim_apps.h"
#include "sim_http.h"
#include "sim_installations.h"
#include "sim_ratelimit.h"

struct sim_token {
    char token[64];
    int64_t inst;
    int64_t expires_s;
};

static struct sim_token *tokens;
static size_t ntokens;

/* The App the last accepted JWT was signed for (sim_apps.h: the command line's or a created one).
 */
static int64_t jwt_app;

static const char *bearer(struct sim_rq *r)
{
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    if (!a)
        return NULL;
    if (!strncasecmp(a, "Bearer ", 7))
        return a + 7;
    if (!strncasecmp(a, "token ", 6))
        return a + 6;
    return "";
}

/* App JWT auth; on failure answers 401 and returns false. */
bool sim_auth_jwt(struct sim_rq *r)
{
    const char *t = bearer(r);
    if (!t) {
        sim_http_finish_msg(r, 401, "A JSON web token could not be decoded", SIM_DOCS);
        return false;
    }
    if (!(jwt_app = sim_apps_verify_jwt(t, sim_now_s()))) {
        sim_http_finish_msg(
            r, 401,
            "'Expiration time' claim ('exp') must be a numeric value representing the "
            "future time at which the assertion expires",
            SIM_DOCS);
        return false;
    }
    return !sim_ratelimit_app(r);
}

/* Installation token auth; returns the installation or NULL after answering 401. */
struct sim_inst *sim_auth_token(struct sim_rq *r)
{
    const char *t = bearer(r);
    if (!t) {
        sim_http_finish_msg(r, 401, "Requires authentication", SIM_DOCS);
        return NULL;
    }
    for (size_t i = 0; i < ntokens; i++) {
        struct sim_token *k = &tokens[i];
        if (strlen(t) == strlen(k->token) && sg_ct_equal(t, k->token, strlen(t)) &&
            k->expires_s > sim_now_s()) {
            struct sim_inst *in = sim_installations_find(k->inst);
            if (!in)
                break;
            return sim_ratelimit_installation(r, in) ? NULL : in;
        }
    }
    sim_http_finish_msg(r, 401, "Bad credentials", SIM_DOCS);
    return NULL;
}

void sim_auth_access_token(struct sim_rq *r, int64_t inst_id)
{
    if (!sim_auth_jwt(r))
        return;
    struct sim_inst *in = sim_installations_find(inst_id);
    if (!in) {
        sim_http_finish_msg(r, 404, "Not Found",
                            SIM_DOCS "/apps/apps#create-an-installation-access-token-for-an-app");
        return;
    }
    struct sim_token k;
    memset(&k, 0, sizeof k);
    char hex[40];
    if (sg_random_hex(hex, 18) != SG_OK) {
        sim_http_finish_msg(r, 500, "Server Error", SIM_DOCS);
        return;
    }
    snprintf(k.token, sizeof k.token, "ghs_%s", hex);
    k.inst = inst_id;
    k.expires_s = sim_now_s() + 3600;
    tokens = sim_xrealloc(tokens, (ntokens + 1) * sizeof *tokens);
    tokens[ntokens++] = k;

    char exp[32];
    sim_iso8601(k.expires_s, exp);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "token", json_object_new_string(k.token));
    json_object_object_add(o, "expires_at", json_object_new_string(exp));
    struct json_object *perm = json_object_new_object();
    json_object_object_add(perm, "checks", json_object_new_string("write"));
    json_object_object_add(perm, "contents", json_object_new_string("read"));
    json_object_object_add(perm, "metadata", json_object_new_string("read"));
    json_object_object_add(o, "permissions", perm);
    json_object_object_add(o, "repository_selection", json_object_new_string("selected"));
    sim_http_finish_json(r, 201, o);
}

int64_t sim_auth_jwt_app(void)
{
    return jwt_app;
}

void sim_auth_revoke_tokens(void)
{
    ntokens = 0;
}

void sim_auth_free(void)
{
    free(tokens);
    tokens = NULL;
    ntokens = 0;
}
