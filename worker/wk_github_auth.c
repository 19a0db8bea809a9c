/* Why: the GitHub client's authentication: the App's RS256 JWT, installation tokens cached for the
 * whole fleet in Redis (github:token:<installation-id>) and in this process, one refresh on a 401,
 * and the two authenticated calls every endpoint uses (as the installation, as the App). */
#include "wk_github_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "sg_keys.h"
#include "sg_log.h"
#include "sg_time.h"
#include "sg_utf8.h"

/* ---------- JWT and installation tokens ---------- */

enum sg_err wk_gh_app_jwt(struct wk_github *gh, const char **out, struct wk_github_error *err)
{
    int64_t now = sg_now_ms() / 1000;
    /* a JWT lives 9 minutes (sg_jwt_app_token); reuse it for 5 */
    if (!gh->jwt[0] || now - gh->jwt_made_s > 300 || now < gh->jwt_made_s) {
        struct sg_buf b;
        sg_buf_init(&b, sizeof gh->jwt - 1);
        enum sg_err e = sg_jwt_app_token(gh->key, gh->app_id, now, &b);
        if (e != SG_OK) {
            sg_buf_free(&b);
            wk_gh_err_set(err, 0, 0, "cannot sign the App JWT: %s", sg_err_str(e));
            return e;
        }
        snprintf(gh->jwt, sizeof gh->jwt, "%s", sg_buf_str(&b));
        sg_buf_free(&b);
        gh->jwt_made_s = now;
    }
    *out = gh->jwt;
    return SG_OK;
}

struct wk_gh_token *wk_gh_local_token(struct wk_github *gh, int64_t inst, bool create)
{
    struct wk_gh_token *oldest = &gh->tokens[0];
    for (size_t i = 0; i < WK_GH_SLOTS; i++) {
        if (gh->tokens[i].inst == inst)
            return &gh->tokens[i];
        if (gh->tokens[i].expires_ms < oldest->expires_ms)
            oldest = &gh->tokens[i];
    }
    if (!create)
        return NULL;
    memset(oldest, 0, sizeof *oldest);
    oldest->inst = inst;
    return oldest;
}

enum sg_err wk_gh_redis_error(struct wk_github *gh, redisReply *rep, struct wk_github_error *err,
                              const char *what)
{
    const char *why = rep ? (rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply")
                          : (gh->redis ? wk_redis_error(gh->redis) : "no reply");
    wk_gh_err_set(err, 0, 0, "Redis %s: %s", what, why);
    sg_log_warn("github: redis failed", SG_KV_STR("op", what), SG_KV_STR("err", why), SG_KV_END);
    if (rep)
        freeReplyObject(rep);
    return SG_ERR_REDIS;
}

void wk_github_forget_token(struct wk_github *gh, int64_t installation_id)
{
    if (!gh)
        return;
    struct wk_gh_token *t = wk_gh_local_token(gh, installation_id, false);
    if (t)
        memset(t, 0, sizeof *t);
    memset(&gh->passed, 0, sizeof gh->passed);
    if (gh->redis) {
        char key[64];
        sg_key_token(key, sizeof key, installation_id);
        redisReply *rep = wk_redis_command(gh->redis, "DEL %s", key);
        if (rep)
            freeReplyObject(rep);
    }
}

int64_t wk_gh_parse_iso8601(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s)
        return 0;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return 0;
    return (int64_t)timegm(&tm);
}

/* Fetches a new token from GitHub (never from a cache) and stores it in both caches. */
enum sg_err wk_gh_token_fetch(struct wk_github *gh, int64_t inst, char *out, size_t outlen,
                              struct wk_github_error *err)
{
    const char *jwt;
    char url[1024];
    struct wk_gh_resp r;
    enum sg_err e = wk_gh_app_jwt(gh, &jwt, err);
    if (e != SG_OK)
        return e;
    snprintf(url, sizeof url, "%s/app/installations/%lld/access_tokens", gh->api_url,
             (long long)inst);
    wk_gh_resp_init(&r, gh->max_response);
    struct wk_gh_req q = {.method = "POST", .url = url, .auth = jwt, .json = "{}"};
    e = wk_gh_http_do(gh, &q, &r, err);
    if (e == SG_OK)
        e = wk_github_classify((int)r.status, r.retry_after, r.rl_remaining, r.rl_reset,
                               sg_buf_str(&r.body), sg_now_ms(), err);
    if (e != SG_OK) {
        if (e == SG_ERR_AUTH && err)
            /* a bad App key or APP_ID: say so, it is the operator's to fix */
            snprintf(err->message + strlen(err->message),
                     sizeof err->message - strlen(err->message),
                     " (installation token for %lld; check APP_ID and the private key)",
                     (long long)inst);
        goto out;
    }
    struct json_object *o = json_tokener_parse(sg_buf_str(&r.body)), *t, *x;
    if (!o || !json_object_object_get_ex(o, "token", &t) ||
        !json_object_is_type(t, json_type_string) ||
        strlen(json_object_get_string(t)) + 1 > outlen) {
        if (o)
            json_object_put(o);
        e = SG_ERR_PARSE;
        wk_gh_err_set(err, (int)r.status, 0, "GitHub access_tokens answer has no token");
        goto out;
    }
    snprintf(out, outlen, "%s", json_object_get_string(t));
    int64_t now = sg_now_ms() / 1000;
    int64_t expires = json_object_object_get_ex(o, "expires_at", &x)
                          ? wk_gh_parse_iso8601(json_object_get_string(x))
                          : 0;
    json_object_put(o);
    if (expires <= now)
        expires = now + 3600;
    int64_t ttl = expires - now - gh->token_margin_s;
    if (ttl < 30)
        ttl = 30; /* an unusually short-lived token is still worth a little caching */
    struct wk_gh_token *lt = wk_gh_local_token(gh, inst, true);
    snprintf(lt->token, sizeof lt->token, "%s", out);
    lt->expires_ms = (now + ttl) * 1000;
    if (gh->redis) {
        char key[64];
        sg_key_token(key, sizeof key, inst);
        redisReply *rep =
            wk_redis_command(gh->redis, "SET %s %s EX %lld", key, out, (long long)ttl);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            e = wk_gh_redis_error(gh, rep, err, "SET token");
            goto out;
        }
        freeReplyObject(rep);
    }
    sg_log_info("github: installation token fetched", SG_KV_INT("installation", inst),
                SG_KV_INT("ttl_s", ttl), SG_KV_END);
out:
    wk_gh_resp_free(&r);
    return e;
}

enum sg_err wk_github_installation_token(struct wk_github *gh, int64_t installation_id, char *out,
                                         size_t outlen, struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || !out || outlen == 0 || installation_id <= 0) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    int64_t now = sg_now_ms();
    struct wk_gh_token *lt = wk_gh_local_token(gh, installation_id, false);
    if (gh->redis) {
        /* Redis is the fleet's truth: a token another worker refreshed (or one revoked by
         * wk_github_forget_token elsewhere) is seen here */
        char key[64];
        sg_key_token(key, sizeof key, installation_id);
        redisReply *rep = wk_redis_command(gh->redis, "GET %s", key);
        if (!rep || rep->type == REDIS_REPLY_ERROR)
            return wk_gh_redis_error(gh, rep, err, "GET token");
        if (rep->type == REDIS_REPLY_STRING && rep->len > 0 && (size_t)rep->len < outlen) {
            snprintf(out, outlen, "%s", rep->str);
            freeReplyObject(rep);
            return SG_OK;
        }
        freeReplyObject(rep);
    } else if (lt && lt->token[0] && lt->expires_ms > now) {
        snprintf(out, outlen, "%s", lt->token);
        return SG_OK;
    }
    return wk_gh_token_fetch(gh, installation_id, out, outlen, err);
}
/* An API call as the installation: gate, token, request, and on a 401 one token refresh. The
 * answer (2xx) is left in r; anything else is classified into err. */
enum sg_err wk_gh_inst_call(struct wk_github *gh, int64_t inst, const char *method, const char *url,
                            const char *json, struct wk_gh_resp *r, struct wk_github_error *err)
{
    char token[128];
    bool mutating = strcmp(method, "GET") != 0;
    enum sg_err e = wk_gh_gate_token(gh, inst, mutating, token, sizeof token, err);
    if (e != SG_OK)
        return e;
    /* The renderer already sends only valid UTF-8; this covers the job's own strings (the delivery
     * id as external_id), since GitHub refuses the whole body, every retry, for one bad byte. */
    char *clean = NULL;
    if (json && !sg_utf8_valid(json, strlen(json)) &&
        (clean = sg_utf8_dup(json, strlen(json), strlen(json) * 3)))
        json = clean;
    for (int attempt = 0; e == SG_OK && attempt < 2; attempt++) {
        sg_buf_reset(&r->body);
        struct wk_gh_req q = {.method = method, .url = url, .auth = token, .json = json};
        e = wk_gh_http_do(gh, &q, r, err);
        if (e != SG_OK)
            break;
        if (r->status == 401 && attempt == 0) {
            /* the cached token was revoked or expired early: fetch a fresh one, once */
            sg_log_info("github: 401, refreshing the installation token",
                        SG_KV_INT("installation", inst), SG_KV_END);
            wk_github_forget_token(gh, inst);
            e = wk_gh_token_fetch(gh, inst, token, sizeof token, err);
            continue;
        }
        e = wk_github_classify((int)r->status, r->retry_after, r->rl_remaining, r->rl_reset,
                               sg_buf_str(&r->body), sg_now_ms(), err);
        break;
    }
    free(clean);
    if (e == SG_ERR_RATE_LIMITED && err)
        wk_gh_remember_limit(gh, inst, err->retry_at_ms);
    else if (e == SG_OK)
        wk_gh_remember_exhausted(gh, inst, r);
    memset(token, 0, sizeof token);
    return e;
}

/* An API call as the App (JWT). */
enum sg_err wk_gh_app_call(struct wk_github *gh, const char *method, const char *url,
                           const char *json, struct wk_gh_resp *r, struct wk_github_error *err)
{
    const char *jwt;
    enum sg_err e = wk_gh_app_jwt(gh, &jwt, err);
    if (e != SG_OK)
        return e;
    sg_buf_reset(&r->body);
    struct wk_gh_req q = {.method = method, .url = url, .auth = jwt, .json = json};
    e = wk_gh_http_do(gh, &q, r, err);
    if (e == SG_OK)
        e = wk_github_classify((int)r->status, r->retry_after, r->rl_remaining, r->rl_reset,
                               sg_buf_str(&r->body), sg_now_ms(), err);
    return e;
}
