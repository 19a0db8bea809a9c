/* Why: what the GitHub client's files share and nothing else may use: the client struct, one HTTP
 * answer, one request, and the internal steps (github_http.c: the exchange and its error
 * classes; github_auth.c: App JWT, installation tokens and the authenticated call; github_pace.c:
 * the fleet-wide pacing gate and remembered limits; github_api.c: the endpoints).
 *
 * Ownership: struct wk_gh_resp owns its body buffer (wk_gh_resp_init / wk_gh_resp_free); every
 * const char * in struct wk_gh_req is borrowed for the call. Nothing here returns memory the
 * caller must free except wk_gh_page_array (a json-c document, json_object_put). */
#ifndef WK_GITHUB_INTERNAL_H
#define WK_GITHUB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "wk_github.h"
#include "wk_redis.h"
#include "sg_buf.h"

struct json_object;

/* Installations whose token and pacing state one client keeps in process (least recent goes). */
#define WK_GH_SLOTS 16

struct wk_gh_token {
    int64_t inst;
    int64_t expires_ms;
    char token[128];
};

struct wk_gh_pace {
    int64_t inst;
    int64_t next_ms;
    int64_t limited_until_ms;
};

/* A request that takes no pacing slot (a read, or any request when pacing is off) within
 * WK_GH_GATE_REUSE_MS of a gate passed through Redis reuses that pass and its token instead of
 * asking Redis again: the tarball after creating the check run, and with pacing off the next job's
 * requests too. A limit that another worker records meanwhile is seen at the next paced request
 * or when the window ends (it is counted from the Redis pass, never extended by a reuse); this
 * worker's own limits and token refreshes end the reuse at once. */
#define WK_GH_GATE_REUSE_MS 1000
struct wk_gh_gate_pass {
    int64_t inst, at_ms;
    char token[128];
};

struct wk_github {
    char *api_url;
    char *app_id;
    char *user_agent;
    sg_pkey *key;
    long connect_ms, timeout_ms, tarball_timeout_ms, low_speed_limit, low_speed_time_s;
    size_t max_response;
    struct wk_redis *redis; /* borrowed; NULL: in-process state only */
    int64_t pace_ms, pace_max_wait_ms, token_margin_s;
    size_t max_annotations;
    struct sg_metric *requests_total, *ratelimit_remaining;
    bool (*should_stop)(void *ud);
    void *should_stop_ud;
    CURL *curl;
    char jwt[4096];
    int64_t jwt_made_s;
    struct wk_gh_token tokens[WK_GH_SLOTS];
    struct wk_gh_pace paces[WK_GH_SLOTS];
    struct wk_gh_gate_pass passed; /* the last gate passed through Redis */
};

/* One HTTP answer. Headers are those of the last response (a new status line resets them). */
struct wk_gh_resp {
    long status;
    struct sg_buf body;
    char retry_after[64];
    char rl_remaining[32];
    char rl_reset[32];
    char location[2048];
    char link[4096];
    /* streaming mode (tarball): 2xx bodies go to the sink instead of body */
    wk_github_sink_fn sink;
    void *sink_ud;
    enum sg_err sink_err;
    uint64_t sunk;
    bool too_large;
};

struct wk_gh_req {
    const char *method; /* GET, POST, PATCH */
    const char *url;
    const char *auth; /* the credential (JWT or token) or NULL */
    const char *json; /* request body or NULL */
    bool tarball;     /* long timeout + low-speed limits */
};

void wk_gh_err_set(struct wk_github_error *err, int status, int64_t retry_at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void wk_gh_err_clear(struct wk_github_error *err);
bool wk_gh_parse_i64(const char *s, int64_t *out);
bool wk_gh_parse_reset_s(const char *s, int64_t *out);
/* unix seconds of an ISO 8601 UTC time ("2026-01-01T00:00:00Z"), 0 when unparseable */
int64_t wk_gh_parse_iso8601(const char *s);

/* --- github_http.c --- */
void wk_gh_resp_init(struct wk_gh_resp *r, size_t max);
void wk_gh_resp_free(struct wk_gh_resp *r);
/* Same scheme, host and port: the token is only ever sent to the API's own origin. */
bool wk_gh_same_origin(const char *a, const char *b);
/* Follows pagination: copies the Link header's rel="next" URL into url and returns true, or
 * returns false at the last page. A next link on another host is refused (SG_ERR_PARSE in *e, with
 * err set): the installation token is never sent to another host because a header said so. */
bool wk_gh_next_page(struct wk_github *gh, const struct wk_gh_resp *r, char *url, size_t urllen,
                     enum sg_err *e, struct wk_github_error *err);
/* The list in one page of a paginated answer: the body itself (key NULL) or its member key.
 * Returns the parsed document (the caller puts it) with *arr inside it, or NULL with *e =
 * SG_ERR_PARSE and err set. */
struct json_object *wk_gh_page_array(const struct wk_gh_resp *r, const char *key,
                                     struct json_object **arr, enum sg_err *e,
                                     struct wk_github_error *err);
/* Performs one HTTP exchange (no redirects followed). Returns a transport-level error (timeout,
 * network, too large, sink error) or SG_OK with r->status set; never classifies the status. */
enum sg_err wk_gh_http_do(struct wk_github *gh, const struct wk_gh_req *q, struct wk_gh_resp *r,
                          struct wk_github_error *err);

/* --- github_auth.c --- */
enum sg_err wk_gh_app_jwt(struct wk_github *gh, const char **out, struct wk_github_error *err);
/* This client's copy of an installation's token (NULL when none and !create). */
struct wk_gh_token *wk_gh_local_token(struct wk_github *gh, int64_t inst, bool create);
/* Fetches a new token from GitHub (never from a cache) and stores it in both caches. */
enum sg_err wk_gh_token_fetch(struct wk_github *gh, int64_t inst, char *out, size_t outlen,
                              struct wk_github_error *err);
/* Fills err from a failed Redis reply (freed here) and returns SG_ERR_REDIS. */
enum sg_err wk_gh_redis_error(struct wk_github *gh, redisReply *rep, struct wk_github_error *err,
                              const char *what);
/* An API call as the installation: gate, token, request, and on a 401 one token refresh. The
 * answer (2xx) is left in r; anything else is classified into err. */
enum sg_err wk_gh_inst_call(struct wk_github *gh, int64_t inst, const char *method, const char *url,
                            const char *json, struct wk_gh_resp *r, struct wk_github_error *err);
/* An API call as the App (JWT). */
enum sg_err wk_gh_app_call(struct wk_github *gh, const char *method, const char *url,
                           const char *json, struct wk_gh_resp *r, struct wk_github_error *err);

/* --- github_pace.c --- */
/* The gate, then the installation token (fetched when none is cached); a pass through Redis is
 * remembered for the unpaced requests of the next WK_GH_GATE_REUSE_MS. */
enum sg_err wk_gh_gate_token(struct wk_github *gh, int64_t inst, bool mutating, char *token,
                             size_t toklen, struct wk_github_error *err);
/* Remembers a rate limit for the installation until retry_at_ms, for the whole fleet. */
void wk_gh_remember_limit(struct wk_github *gh, int64_t inst, int64_t retry_at_ms);
/* A successful answer that used the last request of the hour (X-RateLimit-Remaining: 0): the
 * next request would be refused, so the fleet waits for X-RateLimit-Reset without asking. */
void wk_gh_remember_exhausted(struct wk_github *gh, int64_t inst, const struct wk_gh_resp *r);

#endif
