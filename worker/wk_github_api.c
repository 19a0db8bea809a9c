/* Why: the GitHub REST endpoints the worker uses, each a thin function over the authenticated call
 * (github_auth.c): check runs (create, find by external_id, complete with annotations in batches,
 * fail), the tarball (its redirect followed without leaking the token), the installation and its
 * repositories, and the App's webhook deliveries. Arguments that end up in a URL are checked
 * first, so a job line cannot change which endpoint is called. */
#include "wk_github_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "wk_checkrun.h"
#include "sg_config.h"
#include "sg_time.h"

#define MAX_PAGES     1000
#define MAX_REDIRECTS 5

/* ---------- argument checks ---------- */

static bool valid_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* "owner/repo" with GitHub's characters only, so it cannot change the URL's path. */
static bool valid_repo(const char *s)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') || strlen(s) > 200)
        return false;
    for (const char *p = s; *p; p++)
        if (p != slash && !valid_name_char(*p))
            return false;
    return strcmp(slash + 1, ".") && strcmp(slash + 1, "..");
}

static bool valid_ref(const char *s)
{
    if (!s || !*s || strlen(s) > 100)
        return false;
    for (const char *p = s; *p; p++)
        if (!valid_name_char(*p))
            return false;
    return true;
}

static void iso_now(char out[32])
{
    time_t t = (time_t)(sg_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---------- check runs ---------- */

static enum sg_err parse_id(struct wk_gh_resp *r, int64_t *id, struct wk_github_error *err)
{
    struct json_object *o = json_tokener_parse(sg_buf_str(&r->body)), *v;
    enum sg_err e = SG_ERR_PARSE;
    if (o && json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_int)) {
        *id = json_object_get_int64(v);
        e = SG_OK;
    } else {
        wk_gh_err_set(err, (int)r->status, 0, "GitHub answer has no id");
    }
    if (o)
        json_object_put(o);
    return e;
}

enum sg_err wk_github_checkrun_create(struct wk_github *gh, int64_t installation_id,
                                      const char *repo_full_name, const char *head_sha,
                                      const char *external_id, const char *details_url,
                                      int64_t *check_run_id, struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || !valid_ref(head_sha) || !check_run_id) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[1024], ts[32];
    snprintf(url, sizeof url, "%s/repos/%s/check-runs", gh->api_url, repo_full_name);
    iso_now(ts);
    struct json_object *b = json_object_new_object();
    json_object_object_add(b, "name", json_object_new_string(WK_CHECKRUN_NAME));
    json_object_object_add(b, "head_sha", json_object_new_string(head_sha));
    json_object_object_add(b, "status", json_object_new_string("in_progress"));
    json_object_object_add(b, "started_at", json_object_new_string(ts));
    if (external_id)
        json_object_object_add(b, "external_id", json_object_new_string(external_id));
    if (details_url)
        json_object_object_add(b, "details_url", json_object_new_string(details_url));
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e =
        wk_gh_inst_call(gh, installation_id, "POST", url,
                        json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN), &r, err);
    if (e == SG_OK)
        e = parse_id(&r, check_run_id, err);
    json_object_put(b);
    wk_gh_resp_free(&r);
    return e;
}

enum sg_err wk_github_checkrun_find(struct wk_github *gh, int64_t installation_id,
                                    const char *repo_full_name, const char *head_sha,
                                    const char *external_id, int64_t *check_run_id,
                                    struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || !valid_ref(head_sha) || !external_id ||
        !*external_id || !check_run_id) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    *check_run_id = 0;
    char url[4096];
    /* filter=all: every run of that name, not only the latest one (a later duplicate would hide
     * ours under the default filter=latest) */
    snprintf(url, sizeof url,
             "%s/repos/%s/commits/%s/check-runs?check_name=%s&filter=all&per_page=100", gh->api_url,
             repo_full_name, head_sha, WK_CHECKRUN_NAME);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e = SG_OK;
    for (int page = 0; e == SG_OK && page < MAX_PAGES && *check_run_id == 0; page++) {
        e = wk_gh_inst_call(gh, installation_id, "GET", url, NULL, &r, err);
        if (e != SG_OK)
            break;
        struct json_object *arr, *v, *o = wk_gh_page_array(&r, "check_runs", &arr, &e, err);
        if (!o)
            break;
        /* several matches (only if two attempts raced): the lowest id on the page */
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            struct json_object *x = json_object_array_get_idx(arr, i);
            if (json_object_object_get_ex(x, "external_id", &v) &&
                json_object_is_type(v, json_type_string) &&
                strcmp(json_object_get_string(v), external_id) == 0 &&
                json_object_object_get_ex(x, "id", &v) && json_object_is_type(v, json_type_int)) {
                int64_t id = json_object_get_int64(v);
                if (id > 0 && (*check_run_id == 0 || id < *check_run_id))
                    *check_run_id = id;
            }
        }
        json_object_put(o);
        if (*check_run_id != 0 || !wk_gh_next_page(gh, &r, url, sizeof url, &e, err))
            break;
    }
    if (e != SG_OK)
        *check_run_id = 0;
    wk_gh_resp_free(&r);
    return e;
}

static struct json_object *annotation_json(const struct wk_checkrun_annotation *a)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "path", json_object_new_string(a->path ? a->path : ""));
    json_object_object_add(o, "start_line",
                           json_object_new_int64(a->start_line ? a->start_line : 1));
    json_object_object_add(o, "end_line",
                           json_object_new_int64(a->end_line >= a->start_line && a->end_line
                                                     ? a->end_line
                                                     : (a->start_line ? a->start_line : 1)));
    json_object_object_add(
        o, "annotation_level",
        json_object_new_string(a->annotation_level ? a->annotation_level : "notice"));
    json_object_object_add(o, "message", json_object_new_string(a->message ? a->message : ""));
    if (a->title)
        json_object_object_add(o, "title", json_object_new_string(a->title));
    return o;
}

/* How many annotations GitHub already holds for a check run (output.annotations_count of
 * GET /repos/{repo}/check-runs/{id}: one request). GitHub appends the annotations of each PATCH,
 * so after a failure whose effect is unknown (an answer lost: the PATCH may have been applied)
 * this, not what we believe we sent, says where to go on. */
static enum sg_err annotations_on_github(struct wk_github *gh, int64_t inst, const char *url,
                                         size_t *n, struct wk_github_error *err)
{
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    *n = 0;
    enum sg_err e = wk_gh_inst_call(gh, inst, "GET", url, NULL, &r, err);
    if (e == SG_OK) {
        struct json_object *o = json_tokener_parse(sg_buf_str(&r.body)), *out, *v;
        if (o && json_object_object_get_ex(o, "output", &out) &&
            json_object_object_get_ex(out, "annotations_count", &v) &&
            json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0) {
            *n = (size_t)json_object_get_int64(v);
        } else {
            e = SG_ERR_PARSE;
            wk_gh_err_set(err, (int)r.status, 0,
                          "GitHub check run has no output.annotations_count");
        }
        json_object_put(o);
    }
    wk_gh_resp_free(&r);
    return e;
}

enum sg_err wk_github_checkrun_complete(struct wk_github *gh, int64_t installation_id,
                                        const char *repo_full_name, int64_t check_run_id,
                                        const struct wk_checkrun_output *out, bool new_run,
                                        struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || check_run_id <= 0 || !out || !out->conclusion ||
        !out->title || !out->summary) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[1024], ts[32];
    snprintf(url, sizeof url, "%s/repos/%s/check-runs/%lld", gh->api_url, repo_full_name,
             (long long)check_run_id);
    iso_now(ts);
    size_t total =
        out->nannotations < gh->max_annotations ? out->nannotations : gh->max_annotations;
    size_t sent = 0;
    enum sg_err e = new_run ? SG_OK : annotations_on_github(gh, installation_id, url, &sent, err);
    if (e != SG_OK)
        return e;
    if (sent > total)
        sent = total;
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    bool first = true;
    /* the first PATCH completes the run (with up to 50 annotations); then 50 more per PATCH */
    while (first || sent < total) {
        struct json_object *b = json_object_new_object();
        struct json_object *o = json_object_new_object();
        if (first) {
            json_object_object_add(b, "name", json_object_new_string(WK_CHECKRUN_NAME));
            json_object_object_add(b, "status", json_object_new_string("completed"));
            json_object_object_add(b, "conclusion", json_object_new_string(out->conclusion));
            json_object_object_add(b, "completed_at", json_object_new_string(ts));
        }
        json_object_object_add(o, "title", json_object_new_string(out->title));
        json_object_object_add(o, "summary", json_object_new_string(out->summary));
        size_t n = total - sent;
        if (n > WK_CHECKRUN_ANNOTATIONS_PER_REQUEST)
            n = WK_CHECKRUN_ANNOTATIONS_PER_REQUEST;
        if (n) {
            struct json_object *arr = json_object_new_array();
            for (size_t i = 0; i < n; i++)
                json_object_array_add(arr, annotation_json(&out->annotations[sent + i]));
            json_object_object_add(o, "annotations", arr);
        }
        json_object_object_add(b, "output", o);
        e = wk_gh_inst_call(gh, installation_id, "PATCH", url,
                            json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN), &r, err);
        json_object_put(b);
        if (e != SG_OK)
            break;
        sent += n;
        first = false;
    }
    wk_gh_resp_free(&r);
    return e;
}

enum sg_err wk_github_checkrun_fail(struct wk_github *gh, int64_t installation_id,
                                    const char *repo_full_name, const char *head_sha,
                                    int64_t check_run_id, const char *title, const char *message,
                                    struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || (check_run_id <= 0 && !valid_ref(head_sha))) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[1024], ts[32];
    iso_now(ts);
    if (check_run_id > 0)
        snprintf(url, sizeof url, "%s/repos/%s/check-runs/%lld", gh->api_url, repo_full_name,
                 (long long)check_run_id);
    else
        snprintf(url, sizeof url, "%s/repos/%s/check-runs", gh->api_url, repo_full_name);
    struct json_object *b = json_object_new_object();
    json_object_object_add(b, "name", json_object_new_string(WK_CHECKRUN_NAME));
    if (check_run_id <= 0)
        json_object_object_add(b, "head_sha", json_object_new_string(head_sha));
    json_object_object_add(b, "status", json_object_new_string("completed"));
    json_object_object_add(b, "conclusion", json_object_new_string("failure"));
    json_object_object_add(b, "completed_at", json_object_new_string(ts));
    /* title and summary within GitHub's limits, as valid UTF-8 cut between characters */
    struct wk_checkrun_output f;
    if (wk_checkrun_render_failure(title, message, &f) != SG_OK) {
        json_object_put(b);
        wk_gh_err_set(err, 0, 0, "out of memory");
        return SG_ERR_NOMEM;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "title", json_object_new_string(f.title));
    json_object_object_add(o, "summary", json_object_new_string(f.summary));
    wk_checkrun_output_free(&f);
    json_object_object_add(b, "output", o);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e =
        wk_gh_inst_call(gh, installation_id, check_run_id > 0 ? "PATCH" : "POST", url,
                        json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN), &r, err);
    json_object_put(b);
    wk_gh_resp_free(&r);
    return e;
}

/* ---------- tarball ---------- */

enum sg_err wk_github_tarball(struct wk_github *gh, int64_t installation_id,
                              const char *repo_full_name, const char *sha, wk_github_sink_fn sink,
                              void *ud, uint64_t *bytes, struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (bytes)
        *bytes = 0;
    if (!gh || !valid_repo(repo_full_name) || !valid_ref(sha) || !sink) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[2048], token[128];
    snprintf(url, sizeof url, "%s/repos/%s/tarball/%s", gh->api_url, repo_full_name, sha);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, 1 << 16); /* only error and redirect bodies are buffered */
    enum sg_err e = wk_gh_gate_token(gh, installation_id, false, token, sizeof token, err);
    bool refreshed = false;
    for (int hop = 0; e == SG_OK; hop++) {
        if (hop > MAX_REDIRECTS) {
            e = SG_ERR_HTTP;
            wk_gh_err_set(err, (int)r.status, 0, "too many redirects for the tarball");
            break;
        }
        /* the token goes to the API's own origin only (codeload is another host) */
        bool send_token = wk_gh_same_origin(url, gh->api_url);
        sg_buf_reset(&r.body);
        r.sink = sink;
        r.sink_ud = ud;
        struct wk_gh_req q = {
            .method = "GET", .url = url, .auth = send_token ? token : NULL, .tarball = true};
        e = wk_gh_http_do(gh, &q, &r, err);
        if (e != SG_OK)
            break;
        if (r.status == 401 && send_token && !refreshed) {
            refreshed = true;
            wk_github_forget_token(gh, installation_id);
            e = wk_gh_token_fetch(gh, installation_id, token, sizeof token, err);
            hop--;
            continue;
        }
        if (r.status >= 300 && r.status < 400 && r.location[0]) {
            /* resolve a relative Location against the current URL */
            CURLU *u = curl_url();
            char *next = NULL;
            if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
                curl_url_set(u, CURLUPART_URL, r.location, 0) != CURLUE_OK ||
                curl_url_get(u, CURLUPART_URL, &next, 0) != CURLUE_OK ||
                (strncmp(next, "http://", 7) && strncmp(next, "https://", 8)) ||
                strlen(next) >= sizeof url) {
                e = SG_ERR_HTTP;
                wk_gh_err_set(err, (int)r.status, 0, "bad tarball redirect");
            } else {
                snprintf(url, sizeof url, "%s", next);
            }
            curl_free(next);
            curl_url_cleanup(u);
            continue;
        }
        e = wk_github_classify((int)r.status, r.retry_after, r.rl_remaining, r.rl_reset,
                               sg_buf_str(&r.body), sg_now_ms(), err);
        if (e == SG_OK && (r.status < 200 || r.status >= 300)) {
            e = SG_ERR_HTTP;
            wk_gh_err_set(err, (int)r.status, 0, "unexpected tarball answer %ld", r.status);
        }
        break;
    }
    if (e == SG_ERR_RATE_LIMITED && err)
        wk_gh_remember_limit(gh, installation_id, err->retry_at_ms);
    if (bytes)
        *bytes = r.sunk;
    memset(token, 0, sizeof token);
    wk_gh_resp_free(&r);
    return e;
}

/* ---------- installations and repositories ---------- */

static void copy_str(struct json_object *o, const char *k, char *out, size_t outlen)
{
    struct json_object *v;
    out[0] = '\0';
    if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string))
        snprintf(out, outlen, "%s", json_object_get_string(v));
}

enum sg_err wk_github_installation_get(struct wk_github *gh, int64_t installation_id,
                                       struct wk_github_installation *out,
                                       struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || installation_id <= 0 || !out) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    char url[1024];
    snprintf(url, sizeof url, "%s/app/installations/%lld", gh->api_url, (long long)installation_id);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e = wk_gh_app_call(gh, "GET", url, NULL, &r, err);
    if (e == SG_OK) {
        struct json_object *o = json_tokener_parse(sg_buf_str(&r.body)), *v, *acct;
        if (!o || !json_object_object_get_ex(o, "id", &v)) {
            e = SG_ERR_PARSE;
            wk_gh_err_set(err, (int)r.status, 0, "GitHub installation answer has no id");
        } else {
            out->id = json_object_get_int64(v);
            if (json_object_object_get_ex(o, "account", &acct) &&
                json_object_is_type(acct, json_type_object)) {
                copy_str(acct, "login", out->account_login, sizeof out->account_login);
                copy_str(acct, "type", out->account_type, sizeof out->account_type);
            }
            copy_str(o, "repository_selection", out->repository_selection,
                     sizeof out->repository_selection);
            out->suspended = json_object_object_get_ex(o, "suspended_at", &v) &&
                             !json_object_is_type(v, json_type_null);
        }
        if (o)
            json_object_put(o);
    }
    wk_gh_resp_free(&r);
    return e;
}

enum sg_err wk_github_installation_repos(struct wk_github *gh, int64_t installation_id,
                                         wk_github_repo_fn cb, void *ud,
                                         struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || installation_id <= 0 || !cb) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[4096];
    snprintf(url, sizeof url, "%s/installation/repositories?per_page=100", gh->api_url);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e = SG_OK;
    for (int page = 0; e == SG_OK && page < MAX_PAGES; page++) {
        e = wk_gh_inst_call(gh, installation_id, "GET", url, NULL, &r, err);
        if (e != SG_OK)
            break;
        struct json_object *arr, *v, *o = wk_gh_page_array(&r, "repositories", &arr, &e, err);
        if (!o)
            break;
        for (size_t i = 0; e == SG_OK && i < json_object_array_length(arr); i++) {
            struct json_object *x = json_object_array_get_idx(arr, i);
            struct wk_github_repo repo;
            memset(&repo, 0, sizeof repo);
            repo.id = json_object_object_get_ex(x, "id", &v) ? json_object_get_int64(v) : 0;
            copy_str(x, "full_name", repo.full_name, sizeof repo.full_name);
            copy_str(x, "default_branch", repo.default_branch, sizeof repo.default_branch);
            repo.is_private =
                json_object_object_get_ex(x, "private", &v) && json_object_get_boolean(v);
            if (repo.id > 0 && repo.full_name[0])
                e = cb(ud, &repo);
        }
        json_object_put(o);
        if (e != SG_OK || !wk_gh_next_page(gh, &r, url, sizeof url, &e, err))
            break;
    }
    wk_gh_resp_free(&r);
    return e;
}

/* ---------- webhook deliveries ---------- */

enum sg_err wk_github_deliveries_list(struct wk_github *gh, int64_t since_unix_s,
                                      wk_github_delivery_fn cb, void *ud,
                                      struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || !cb) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[4096];
    snprintf(url, sizeof url, "%s/app/hook/deliveries?per_page=100", gh->api_url);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e = SG_OK;
    bool done = false;
    for (int page = 0; e == SG_OK && !done && page < MAX_PAGES; page++) {
        e = wk_gh_app_call(gh, "GET", url, NULL, &r, err);
        if (e != SG_OK)
            break;
        struct json_object *arr, *v, *o = wk_gh_page_array(&r, NULL, &arr, &e, err);
        if (!o)
            break;
        for (size_t i = 0; e == SG_OK && i < json_object_array_length(arr); i++) {
            struct json_object *x = json_object_array_get_idx(arr, i);
            struct wk_github_delivery d;
            memset(&d, 0, sizeof d);
            d.id = json_object_object_get_ex(x, "id", &v) ? json_object_get_int64(v) : 0;
            copy_str(x, "guid", d.guid, sizeof d.guid);
            d.status_code =
                json_object_object_get_ex(x, "status_code", &v) ? json_object_get_int(v) : 0;
            copy_str(x, "status", d.status, sizeof d.status);
            char ts[64];
            copy_str(x, "delivered_at", ts, sizeof ts);
            d.delivered_at_s = wk_gh_parse_iso8601(ts);
            copy_str(x, "event", d.event, sizeof d.event);
            copy_str(x, "action", d.action, sizeof d.action);
            d.redelivery =
                json_object_object_get_ex(x, "redelivery", &v) && json_object_get_boolean(v);
            if (d.delivered_at_s < since_unix_s) {
                done = true; /* newest first: everything after this is older */
                break;
            }
            e = cb(ud, &d);
        }
        json_object_put(o);
        if (e != SG_OK || done || !wk_gh_next_page(gh, &r, url, sizeof url, &e, err))
            break;
    }
    wk_gh_resp_free(&r);
    return e;
}

enum sg_err wk_github_delivery_redeliver(struct wk_github *gh, int64_t delivery_id,
                                         struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    if (!gh || delivery_id <= 0) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/app/hook/deliveries/%lld/attempts", gh->api_url,
             (long long)delivery_id);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e = wk_gh_app_call(gh, "POST", url, NULL, &r, err);
    wk_gh_resp_free(&r);
    return e;
}

/* ---------- renames between two commits ---------- */

void wk_github_renames_free(struct wk_github_renames *rn)
{
    if (!rn)
        return;
    for (size_t i = 0; i < rn->n; i++) {
        free((char *)rn->v[i].from);
        free((char *)rn->v[i].to);
    }
    free(rn->v);
    memset(rn, 0, sizeof *rn);
}

enum sg_err wk_github_compare_renames(struct wk_github *gh, int64_t installation_id,
                                      const char *repo_full_name, const char *base_sha,
                                      const char *head_sha, struct wk_github_renames *out,
                                      struct wk_github_error *err)
{
    wk_gh_err_clear(err);
    memset(out, 0, sizeof *out);
    if (!gh || !valid_repo(repo_full_name) || !valid_ref(base_sha) || !valid_ref(head_sha)) {
        wk_gh_err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[4096];
    /* per_page=1: the commits list is paginated, the files (at most 300) come with any page */
    snprintf(url, sizeof url, "%s/repos/%s/compare/%s...%s?per_page=1", gh->api_url, repo_full_name,
             base_sha, head_sha);
    struct wk_gh_resp r;
    wk_gh_resp_init(&r, gh->max_response);
    enum sg_err e = wk_gh_inst_call(gh, installation_id, "GET", url, NULL, &r, err);
    if (!e && (e = wk_github_renames_parse(sg_buf_str(&r.body), out)) == SG_ERR_PARSE)
        wk_gh_err_set(err, (int)r.status, 0, "compare: no files array");
    wk_gh_resp_free(&r);
    return e;
}

enum sg_err wk_github_renames_parse(const char *body, struct wk_github_renames *out)
{
    memset(out, 0, sizeof *out);
    enum sg_err e = SG_OK;
    struct json_object *o = json_tokener_parse(body), *files;
    if (!o || !json_object_object_get_ex(o, "files", &files) ||
        !json_object_is_type(files, json_type_array)) {
        e = SG_ERR_PARSE;
        goto out;
    }
    size_t n = json_object_array_length(files);
    out->truncated = n >= WK_GITHUB_COMPARE_MAX_FILES;
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v) {
        e = SG_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *f = json_object_array_get_idx(files, i), *st, *to, *from;
        if (!json_object_object_get_ex(f, "status", &st) ||
            !json_object_is_type(st, json_type_string) ||
            strcmp(json_object_get_string(st), "renamed") != 0 ||
            !json_object_object_get_ex(f, "filename", &to) ||
            !json_object_is_type(to, json_type_string) ||
            !json_object_object_get_ex(f, "previous_filename", &from) ||
            !json_object_is_type(from, json_type_string))
            continue;
        struct an_rename *x = &out->v[out->n];
        x->from = strdup(json_object_get_string(from));
        x->to = strdup(json_object_get_string(to));
        out->n++;
        if (!x->from || !x->to) {
            e = SG_ERR_NOMEM;
            goto out;
        }
    }
out:
    json_object_put(o);
    if (e)
        wk_github_renames_free(out);
    return e;
}
