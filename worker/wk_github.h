/* Why: everything the worker says to GitHub goes through this one client, so that GitHub's rules
 * are kept in one place: App authentication (RS256 JWT -> installation token, cached in Redis for
 * the whole fleet and refreshed once on a 401), the headers GitHub asks for, timeouts on every
 * request, rate limits answered by *rescheduling* the job (never by sleeping it out), and mutating
 * requests paced per installation across the fleet (GitHub's secondary limits punish bursts).
 *
 * Error contract (every call):
 *   - returns SG_OK or an enum sg_err; when err is non-NULL it is always filled (zeroed on SG_OK);
 *   - retryable (sg_err_retryable() is true): SG_ERR_RATE_LIMITED (429, 403 secondary limit,
 *     403/429 with X-RateLimit-Remaining: 0, or an installation already known to be limited —
 *     remembered fleet-wide in Redis, also after a success that used the hour's last request),
 *     SG_ERR_UPSTREAM (5xx), SG_ERR_HTTP (network failure, truncated body), SG_ERR_TIMEOUT,
 *     SG_ERR_REDIS (token cache / pacing unavailable). err->retry_at_ms is the unix time in ms
 *     at which GitHub allows the next try (from Retry-After or X-RateLimit-Reset), or 0 when the
 *     caller should use its own backoff;
 *   - permanent: SG_ERR_NOT_FOUND (404, 410), SG_ERR_AUTH (401 after one token refresh, 403 that is
 *     not a rate limit: lost permission, suspended installation), SG_ERR_INVALID (422 or a bad
 *     argument), SG_ERR_PARSE (GitHub answered something that is not the documented JSON),
 *     and whatever error a tarball sink returned.
 *   - err->http_status is the last HTTP status seen (0 when no answer); err->message is one line
 *     for logs and check-run text (GitHub's "message" when it sent one). Never contains a token.
 *
 * SG_ERR_TOO_LARGE (an answer over max_response_bytes) is permanent too. A Redis error is
 * SG_ERR_REDIS; the shared connection (redis.h) reconnects at its next command.
 *
 * Cost: one Redis round trip per request (an EVALSHA that checks the remembered limit, takes a
 * pacing slot for a mutating request and returns the cached token), plus the token fetch when none
 * is cached. Pacing may sleep up to pace_max_wait_ms for the slot; a rate limit never sleeps.
 *
 * Threading: one struct wk_github per thread (it holds one curl easy handle for keep-alive).
 *
 * Files: github_http.c (exchange, error classes), github_auth.c (JWT, token cache), github_pace.c
 * (pacing gate), github_api.c (endpoints); github_internal.h is what they share.
 *
 * Ownership: wk_github_new() returns a client the caller frees with wk_github_free(). The config's
 * strings are copied; cfg->app_key, cfg->redis and the metric handles are BORROWED and must outlive
 * the client. Every answer is copied into caller-owned structs or buffers; structs passed to
 * callbacks are valid only during the callback. */
#ifndef WK_GITHUB_H
#define WK_GITHUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_analysis.h"
#include "sg_crypto.h"
#include "sg_err.h"
#include "sg_metrics.h"

struct wk_redis;
struct wk_checkrun_output;

struct wk_github_config {
    const char *api_url;       /* GITHUB_API_URL, e.g. "https://api.github.com" or
                                  "https://ghe.example.com/api/v3"; a trailing '/' is removed */
    const char *app_id;        /* APP_ID */
    sg_pkey *app_key;          /* PRIVATE_KEY (borrowed) */
    const char *user_agent;    /* NULL: "singularity/<version>" */
    long connect_timeout_ms;   /* 0: 5000 */
    long timeout_ms;           /* whole API request; 0: 30000 */
    long tarball_timeout_ms;   /* whole tarball download; 0: 600000 */
    long low_speed_limit;      /* tarball: abort below this many bytes/s ... ; 0: 1024 */
    long low_speed_time_s;     /* ... for this long; 0: 30 */
    size_t max_response_bytes; /* JSON answers larger than this fail with SG_ERR_TOO_LARGE;
                                  0: 8 MiB */
    /* The worker's Redis connection (borrowed, redis.h), used for the installation token
     * cache (github:token:<installation-id>), fleet-wide pacing of mutating requests
     * (github:pace:<installation-id>) and remembered rate-limit resets (github:limited:<id>).
     * NULL: the same things are kept in this process only. A Redis error is returned as
     * SG_ERR_REDIS. */
    struct wk_redis *redis;
    int64_t pace_ms;            /* minimum gap between mutating requests per installation;
                                   0: 1000 (GitHub's advice); negative: no pacing */
    int64_t pace_max_wait_ms;   /* a call waits for its pacing slot at most this long, else it
                                   returns SG_ERR_RATE_LIMITED with retry_at_ms; 0: 10000 */
    int64_t token_ttl_margin_s; /* cached tokens expire this long before GitHub's expires_at;
                                   0: 300 */
    size_t max_annotations;     /* cap on annotations sent per check run; 0: 1000 */
    /* Metrics (borrowed, each may be NULL): counter with label "code" (HTTP status as text, or
     * "error" when there was no answer), and a gauge without labels. */
    struct sg_metric *requests_total;      /* singularity_github_requests_total{code} */
    struct sg_metric *ratelimit_remaining; /* singularity_github_ratelimit_remaining */
    /* Optional: polled about every 100 ms during a transfer and a pacing wait; returning true
     * stops the call with SG_ERR_SHUTDOWN (e.g. on SIGTERM). Called on the calling thread. */
    bool (*should_stop)(void *ud);
    void *should_stop_ud;
};

struct wk_github_error {
    int http_status;     /* last HTTP status, 0 when none */
    int64_t retry_at_ms; /* unix ms when a retry is allowed, 0 = caller's backoff */
    char message[256];
};

struct wk_github;

/* NULL with a reason in errbuf on a bad config (missing api_url, app_id or app_key). */
struct wk_github *wk_github_new(const struct wk_github_config *cfg, char *errbuf, size_t errlen);
void wk_github_free(struct wk_github *gh);

/* The installation access token: from Redis when cached, else POST
 * /app/installations/{id}/access_tokens with a fresh App JWT (then cached). Copies it into out.
 * Mostly internal; exported for tests and the CLI. */
enum sg_err wk_github_installation_token(struct wk_github *gh, int64_t installation_id, char *out,
                                         size_t outlen, struct wk_github_error *err);
/* Forgets the cached token (Redis key and in-process copy). */
void wk_github_forget_token(struct wk_github *gh, int64_t installation_id);

/* POST /repos/{repo}/check-runs: name "Singularity", status in_progress, started_at now.
 * external_id (the analysis id) and details_url may be NULL. On SG_OK *check_run_id is set. */
enum sg_err wk_github_checkrun_create(struct wk_github *gh, int64_t installation_id,
                                      const char *repo_full_name, const char *head_sha,
                                      const char *external_id, const char *details_url,
                                      int64_t *check_run_id, struct wk_github_error *err);

/* GET /repos/{repo}/commits/{head_sha}/check-runs?check_name=Singularity&filter=all (all pages):
 * the check run created earlier with this external_id (the analysis id), for a job that resumes
 * an analysis whose check run may exist on GitHub but was never stored. On SG_OK *check_run_id
 * is its id (the lowest on the first page with a match), or 0 when there is none. */
enum sg_err wk_github_checkrun_find(struct wk_github *gh, int64_t installation_id,
                                    const char *repo_full_name, const char *head_sha,
                                    const char *external_id, int64_t *check_run_id,
                                    struct wk_github_error *err);

/* PATCH /repos/{repo}/check-runs/{id}: status completed, out->conclusion, completed_at, output
 * title/summary and the first 50 annotations; then further PATCHes of 50 annotations each, up to
 * cfg->max_annotations in total (the renderer already says in the summary how many are not shown).
 * Safe to call again after any failure, also one whose effect is unknown (a PATCH applied whose
 * answer was lost): it first asks GitHub how many annotations the check run holds
 * (output.annotations_count, one GET) and sends only the rest. new_run: the caller created this
 * check run in this same attempt, so nothing can have been sent yet (saves the GET). */
enum sg_err wk_github_checkrun_complete(struct wk_github *gh, int64_t installation_id,
                                        const char *repo_full_name, int64_t check_run_id,
                                        const struct wk_checkrun_output *out, bool new_run,
                                        struct wk_github_error *err);

/* A permanent failure shown to the user: conclusion "failure", title (NULL: "Analysis failed"),
 * summary = message. check_run_id <= 0 creates a completed check run on head_sha instead. */
enum sg_err wk_github_checkrun_fail(struct wk_github *gh, int64_t installation_id,
                                    const char *repo_full_name, const char *head_sha,
                                    int64_t check_run_id, const char *title, const char *message,
                                    struct wk_github_error *err);

/* Files renamed between two commits (GET /repos/{repo}/compare/{base}...{head}, entries with
 * status "renamed" and previous_filename), one request. GitHub lists at most 300 files: truncated
 * says the list may be cut, and renames past it are then not known (their findings count as new
 * and fixed: the caller goes on with what it has). Free with wk_github_renames_free(). */
#define WK_GITHUB_COMPARE_MAX_FILES 300
struct wk_github_renames {
    struct an_rename *v; /* strings owned */
    size_t n;
    bool truncated;
};
enum sg_err wk_github_compare_renames(struct wk_github *gh, int64_t installation_id,
                                      const char *repo_full_name, const char *base_sha,
                                      const char *head_sha, struct wk_github_renames *out,
                                      struct wk_github_error *err);
void wk_github_renames_free(struct wk_github_renames *rn);
/* The renames in a compare answer's body (fuzzed); SG_ERR_PARSE without a files array. */
enum sg_err wk_github_renames_parse(const char *body, struct wk_github_renames *out);

/* Receives tarball bytes as libcurl gets them (e.g. a wrapper around an_feed). Return SG_OK to
 * continue; any other value aborts the download and is what wk_github_tarball() returns. */
typedef enum sg_err (*wk_github_sink_fn)(void *ud, const void *buf, size_t len);

/* GET /repos/{repo}/tarball/{sha}, then the redirect to codeload followed by hand: the token is
 * sent to the API host only, never to the redirect's host. A body shorter than its Content-Length
 * or a connection cut mid-body is SG_ERR_HTTP (retryable). *bytes (may be NULL) = bytes sunk. */
enum sg_err wk_github_tarball(struct wk_github *gh, int64_t installation_id,
                              const char *repo_full_name, const char *sha, wk_github_sink_fn sink,
                              void *ud, uint64_t *bytes, struct wk_github_error *err);

struct wk_github_installation {
    int64_t id;
    char account_login[128];
    char account_type[32]; /* "User" or "Organization" */
    bool suspended;
    char repository_selection[16]; /* "all" or "selected" */
};

/* GET /app/installations/{id} (JWT auth). SG_ERR_NOT_FOUND when the App was uninstalled. */
enum sg_err wk_github_installation_get(struct wk_github *gh, int64_t installation_id,
                                       struct wk_github_installation *out,
                                       struct wk_github_error *err);

struct wk_github_repo {
    int64_t id;
    char full_name[256];
    char default_branch[256];
    bool is_private;
};
typedef enum sg_err (*wk_github_repo_fn)(void *ud, const struct wk_github_repo *repo);

/* GET /installation/repositories, every page (per_page=100, Link rel="next"); cb once per repo.
 * A non-SG_OK return from cb stops and is returned. */
enum sg_err wk_github_installation_repos(struct wk_github *gh, int64_t installation_id,
                                         wk_github_repo_fn cb, void *ud,
                                         struct wk_github_error *err);

struct wk_github_delivery {
    int64_t id;
    char guid[64];
    int status_code;        /* HTTP status our endpoint answered (0: no answer) */
    char status[64];        /* GitHub's text, "OK" on success */
    int64_t delivered_at_s; /* unix seconds */
    char event[64];
    char action[64];
    bool redelivery;
};
typedef enum sg_err (*wk_github_delivery_fn)(void *ud, const struct wk_github_delivery *d);

/* GET /app/hook/deliveries (JWT auth, per_page=100, cursor pagination), newest first, stopping at
 * the first delivery older than since_unix_s. */
enum sg_err wk_github_deliveries_list(struct wk_github *gh, int64_t since_unix_s,
                                      wk_github_delivery_fn cb, void *ud,
                                      struct wk_github_error *err);

/* POST /app/hook/deliveries/{id}/attempts (JWT auth; GitHub answers 202). */
enum sg_err wk_github_delivery_redeliver(struct wk_github *gh, int64_t delivery_id,
                                         struct wk_github_error *err);

/* --- pure helpers, exported for unit tests --- */

/* What GitHub's answer means: status + the rate-limit headers (each may be NULL) + the body (may
 * be NULL). Fills err (status, retry_at_ms, message) and returns the error class as described at
 * the top of this file; SG_OK for 2xx/3xx. now_ms is the current unix time in ms. */
enum sg_err wk_github_classify(int http_status, const char *retry_after,
                               const char *ratelimit_remaining, const char *ratelimit_reset,
                               const char *body, int64_t now_ms, struct wk_github_error *err);

/* The URL of rel="next" in a Link header, copied into out; false when there is none. */
bool wk_github_link_next(const char *link, char *out, size_t outlen);

#endif
