/* Why: the worker's one GitHub client (see github.h for the contract). Everything GitHub-specific
 * lives here: App JWT -> installation token (shared by the fleet through Redis), GitHub's headers,
 * timeouts, the error classification that decides retry versus permanent failure, fleet-wide
 * pacing of mutating requests, the tarball redirect followed without leaking the token, and the
 * paginated listings. One curl easy handle per client, reused for keep-alive. */
#include "github.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <pthread.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <openssl/sha.h>

#include "checkrun.h"
#include "sg_buf.h"
#include "sg_config.h"
#include "sg_keys.h"
#include "sg_log.h"
#include "sg_time.h"
#include "sg_utf8.h"

#define LOCAL_SLOTS    16
#define MAX_PAGES      1000
#define MAX_REDIRECTS  5
#define MAX_DELIVERIES 200000

struct local_token {
    int64_t inst;
    int64_t expires_ms;
    char token[128];
};

struct local_pace {
    int64_t inst;
    int64_t next_ms;
    int64_t limited_until_ms;
};

/* A request that takes no pacing slot (a read, or any request when pacing is off) within
 * GATE_REUSE_MS of a gate passed through Redis reuses that pass and its token instead of asking
 * Redis again: the tarball after creating the check run, and with pacing off the next job's
 * requests too. A limit that another worker records meanwhile is seen at the next paced request
 * or when the window ends (it is counted from the Redis pass, never extended by a reuse); this
 * worker's own limits and token refreshes end the reuse at once. */
#define GATE_REUSE_MS 1000
struct gate_pass {
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
    redisContext *redis;
    int64_t pace_ms, pace_max_wait_ms, token_margin_s;
    size_t max_annotations;
    struct sg_metric *requests_total, *ratelimit_remaining;
    bool (*should_stop)(void *ud);
    void *should_stop_ud;
    CURL *curl;
    char jwt[4096];
    int64_t jwt_made_s;
    struct local_token tokens[LOCAL_SLOTS];
    struct local_pace paces[LOCAL_SLOTS];
    struct gate_pass passed; /* the last gate passed through Redis */
};

/* One HTTP answer. Headers are those of the last response (a new status line resets them). */
struct resp {
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

static void err_set(struct wk_github_error *err, int status, int64_t retry_at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void err_set(struct wk_github_error *err, int status, int64_t retry_at, const char *fmt, ...)
{
    if (!err)
        return;
    err->http_status = status;
    err->retry_at_ms = retry_at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static void err_clear(struct wk_github_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

/* ---------- configuration ---------- */

struct wk_github *wk_github_new(const struct wk_github_config *cfg, char *errbuf, size_t errlen)
{
    struct wk_github *gh = NULL;
    if (!cfg || !cfg->api_url || !*cfg->api_url || !cfg->app_id || !*cfg->app_id || !cfg->app_key) {
        snprintf(errbuf, errlen, "github client: api_url, app_id and app_key are required");
        return NULL;
    }
    if (strncmp(cfg->api_url, "http://", 7) && strncmp(cfg->api_url, "https://", 8)) {
        snprintf(errbuf, errlen, "GITHUB_API_URL must start with http:// or https://");
        return NULL;
    }
    gh = calloc(1, sizeof *gh);
    if (!gh)
        goto nomem;
    gh->api_url = strdup(cfg->api_url);
    gh->app_id = strdup(cfg->app_id);
    gh->user_agent = cfg->user_agent ? strdup(cfg->user_agent) : strdup("singularity/" SG_VERSION);
    if (!gh->api_url || !gh->app_id || !gh->user_agent)
        goto nomem;
    size_t l = strlen(gh->api_url);
    while (l > 0 && gh->api_url[l - 1] == '/')
        gh->api_url[--l] = '\0';
    gh->key = cfg->app_key;
    gh->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
    gh->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    gh->tarball_timeout_ms = cfg->tarball_timeout_ms > 0 ? cfg->tarball_timeout_ms : 600000;
    gh->low_speed_limit = cfg->low_speed_limit > 0 ? cfg->low_speed_limit : 1024;
    gh->low_speed_time_s = cfg->low_speed_time_s > 0 ? cfg->low_speed_time_s : 30;
    gh->max_response = cfg->max_response_bytes ? cfg->max_response_bytes : (size_t)8 << 20;
    gh->redis = cfg->redis;
    gh->pace_ms = cfg->pace_ms == 0 ? 1000 : cfg->pace_ms;
    gh->pace_max_wait_ms = cfg->pace_max_wait_ms > 0 ? cfg->pace_max_wait_ms : 10000;
    gh->token_margin_s = cfg->token_ttl_margin_s > 0 ? cfg->token_ttl_margin_s : 300;
    gh->max_annotations = cfg->max_annotations ? cfg->max_annotations : 1000;
    gh->requests_total = cfg->requests_total;
    gh->ratelimit_remaining = cfg->ratelimit_remaining;
    gh->should_stop = cfg->should_stop;
    gh->should_stop_ud = cfg->should_stop_ud;
    gh->curl = curl_easy_init();
    if (!gh->curl)
        goto nomem;
    return gh;
nomem:
    snprintf(errbuf, errlen, "github client: out of memory");
    wk_github_free(gh);
    return NULL;
}

void wk_github_free(struct wk_github *gh)
{
    if (!gh)
        return;
    if (gh->curl)
        curl_easy_cleanup(gh->curl);
    free(gh->api_url);
    free(gh->app_id);
    free(gh->user_agent);
    /* tokens are secrets: do not leave them in freed memory */
    memset(gh->tokens, 0, sizeof gh->tokens);
    memset(gh->jwt, 0, sizeof gh->jwt);
    free(gh);
}

void wk_github_set_redis(struct wk_github *gh, struct redisContext *redis)
{
    if (gh)
        gh->redis = redis;
}

/* ---------- pure helpers ---------- */

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return true;
}

bool wk_github_link_next(const char *link, char *out, size_t outlen)
{
    if (!link || !out || outlen == 0)
        return false;
    const char *p = link;
    while ((p = strchr(p, '<')) != NULL) {
        const char *close = strchr(p, '>');
        if (!close)
            return false;
        const char *params = close + 1;
        const char *next_entry = strchr(params, '<');
        size_t plen = next_entry ? (size_t)(next_entry - params) : strlen(params);
        char pbuf[256];
        snprintf(pbuf, sizeof pbuf, "%.*s", (int)(plen < sizeof pbuf ? plen : sizeof pbuf - 1),
                 params);
        if (strstr(pbuf, "rel=\"next\"") || strstr(pbuf, "rel=next")) {
            size_t ulen = (size_t)(close - p - 1);
            if (ulen + 1 > outlen)
                return false;
            memcpy(out, p + 1, ulen);
            out[ulen] = '\0';
            return true;
        }
        p = close + 1;
    }
    return false;
}

static bool parse_i64_str(const char *s, int64_t *out)
{
    return s && *s && sg_parse_i64(s, INT64_MIN, INT64_MAX, out);
}

/* GitHub's primary window is an hour; no answer makes a job wait longer than this. */
#define WK_GITHUB_MAX_WAIT_S 3600
/* X-RateLimit-Reset in unix seconds, bounded so that "* 1000" cannot overflow. */
static bool parse_reset_s(const char *s, int64_t *out)
{
    return s && *s && sg_parse_i64(s, 1, INT64_MAX / 1000, out);
}

/* Retry-After is delta-seconds or an HTTP date (RFC 9110); -1 when absent or unparseable. */
static int64_t retry_after_ms(const char *v, int64_t now_ms)
{
    int64_t s;
    if (!v || !*v)
        return -1;
    if (parse_i64_str(v, &s)) /* clamped: a hostile value must not overflow (found by fuzzing) */
        return s < 0 ? now_ms
                     : now_ms + (s > WK_GITHUB_MAX_WAIT_S ? WK_GITHUB_MAX_WAIT_S : s) * 1000;
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    /* curl_getdate accepts years far past 9999 (fuzzing found one): bound before scaling */
    if ((int64_t)t > now_ms / 1000 + WK_GITHUB_MAX_WAIT_S)
        return now_ms + WK_GITHUB_MAX_WAIT_S * 1000;
    return t < 0 ? now_ms : (int64_t)t * 1000;
}

static bool contains_ci(const char *hay, const char *needle)
{
    if (!hay)
        return false;
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (!strncasecmp(p, needle, n))
            return true;
    return false;
}

enum sg_err wk_github_classify(int http_status, const char *retry_after,
                               const char *ratelimit_remaining, const char *ratelimit_reset,
                               const char *body, int64_t now_ms, struct wk_github_error *err)
{
    char msg[200] = "";
    struct json_object *o = body && *body ? json_tokener_parse(body) : NULL, *m;
    if (o && json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string))
        snprintf(msg, sizeof msg, "%s", json_object_get_string(m));
    if (o)
        json_object_put(o);
    /* one line: GitHub's messages may carry "\n\n" details */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';

    err_clear(err);
    if (err)
        err->http_status = http_status;
    if (http_status >= 200 && http_status < 400)
        return SG_OK;

    int64_t ra = retry_after_ms(retry_after, now_ms);
    int64_t reset = 0, remaining = -1;
    parse_i64_str(ratelimit_remaining, &remaining);
    bool primary = remaining == 0;
    bool have_reset = parse_reset_s(ratelimit_reset, &reset);
    bool secondary = contains_ci(msg, "secondary rate limit") || contains_ci(msg, "abuse");
    enum sg_err e;
    int64_t retry_at = 0;

    if (http_status == 429 || ((http_status == 403) && (primary || secondary || ra >= 0))) {
        e = SG_ERR_RATE_LIMITED;
        if (ra >= 0)
            retry_at = ra;
        else if (primary && have_reset)
            retry_at = reset * 1000;
        else
            retry_at = now_ms + 60000; /* GitHub: wait at least a minute when it says nothing */
        if (retry_at < now_ms)
            retry_at = now_ms;
        if (retry_at > now_ms + WK_GITHUB_MAX_WAIT_S * 1000)
            retry_at = now_ms + WK_GITHUB_MAX_WAIT_S * 1000;
    } else if (http_status >= 500) {
        e = SG_ERR_UPSTREAM;
        retry_at = ra >= 0 ? ra : 0;
    } else if (http_status == 401 || http_status == 403) {
        e = SG_ERR_AUTH;
    } else if (http_status == 404 || http_status == 410) {
        e = SG_ERR_NOT_FOUND;
    } else if (http_status == 408) {
        e = SG_ERR_TIMEOUT;
    } else {
        e = SG_ERR_INVALID;
    }
    err_set(err, http_status, retry_at, "GitHub %d: %s", http_status, msg[0] ? msg : "no message");
    return e;
}

/* ---------- HTTP ---------- */

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    const char *v;
    size_t vl;
    if (len > 5 && !strncmp(data, "HTTP/", 5)) {
        /* a new response (after a 100 Continue, say): forget the previous one's headers */
        r->retry_after[0] = r->rl_remaining[0] = r->rl_reset[0] = r->location[0] = r->link[0] =
            '\0';
        const char *sp = memchr(data, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
#define COPY_HDR(name, field)                                                                      \
    if (header_is(data, len, name, &v, &vl)) {                                                     \
        snprintf(r->field, sizeof r->field, "%.*s",                                                \
                 (int)(vl < sizeof r->field ? vl : sizeof r->field - 1), v);                       \
        return len;                                                                                \
    }
    COPY_HDR("Retry-After", retry_after)
    COPY_HDR("X-RateLimit-Remaining", rl_remaining)
    COPY_HDR("X-RateLimit-Reset", rl_reset)
    COPY_HDR("Location", location)
    COPY_HDR("Link", link)
#undef COPY_HDR
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    if (r->sink && r->status >= 200 && r->status < 300) {
        enum sg_err e = r->sink(r->sink_ud, data, len);
        if (e != SG_OK) {
            r->sink_err = e;
            return 0; /* aborts the transfer */
        }
        r->sunk += len;
        return len;
    }
    if (sg_buf_append(&r->body, data, len) != SG_OK) {
        r->too_large = true;
        return 0;
    }
    return len;
}

static void resp_init(struct resp *r, size_t max)
{
    memset(r, 0, sizeof *r);
    sg_buf_init(&r->body, max);
}

static void resp_free(struct resp *r)
{
    sg_buf_free(&r->body);
}

/* "scheme://host:port" of a URL, for the same-origin check that decides whether the token may be
 * sent. False on a URL we do not understand. */
static bool url_origin(const char *url, char *out, size_t outlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        for (char *p = host; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        ok = (size_t)snprintf(out, outlen, "%s://%s:%s", scheme, host, port) < outlen;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

static bool same_origin(const char *a, const char *b)
{
    char oa[512], ob[512];
    return url_origin(a, oa, sizeof oa) && url_origin(b, ob, sizeof ob) && !strcmp(oa, ob);
}

/* Follows pagination: copies the Link header's rel="next" URL into url and returns true, or
 * returns false at the last page. A next link on another host is refused (SG_ERR_PARSE in *e, with
 * err set): the installation token is never sent to another host because a header said so. */
static bool next_page(struct wk_github *gh, const struct resp *r, char *url, size_t urllen,
                      enum sg_err *e, struct wk_github_error *err)
{
    char next[4096];
    if (!wk_github_link_next(r->link, next, sizeof next))
        return false;
    if (!same_origin(next, gh->api_url)) {
        *e = SG_ERR_PARSE;
        err_set(err, (int)r->status, 0, "GitHub pagination link points to another host");
        return false;
    }
    snprintf(url, urllen, "%s", next);
    return true;
}

/* The list in one page of a paginated answer: the body itself (key NULL) or its member key.
 * Returns the parsed document (the caller puts it) with *arr inside it, or NULL with *e =
 * SG_ERR_PARSE and err set. */
static struct json_object *page_array(const struct resp *r, const char *key,
                                      struct json_object **arr, enum sg_err *e,
                                      struct wk_github_error *err)
{
    struct json_object *o = json_tokener_parse(sg_buf_str(&r->body));
    *arr = o;
    if (o && key && !json_object_object_get_ex(o, key, arr))
        *arr = NULL;
    if (*arr && json_object_is_type(*arr, json_type_array))
        return o;
    json_object_put(o);
    *e = SG_ERR_PARSE;
    err_set(err, (int)r->status, 0, "GitHub list answer has no %s", key ? key : "array");
    return NULL;
}

/* libcurl calls this often (at least once a second, more while data flows): the caller's stop
 * hook decides whether the transfer goes on. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct wk_github *gh = ud;
    return gh->should_stop && gh->should_stop(gh->should_stop_ud) ? 1 : 0;
}

struct req {
    const char *method; /* GET, POST, PATCH */
    const char *url;
    const char *auth; /* the credential (JWT or token) or NULL */
    const char *json; /* request body or NULL */
    bool tarball;     /* long timeout + low-speed limits */
};

/* Performs one HTTP exchange (no redirects followed). Returns a transport-level error (timeout,
 * network, too large, sink error) or SG_OK with r->status set; never classifies the status. */
static enum sg_err http_do(struct wk_github *gh, const struct req *q, struct resp *r,
                           struct wk_github_error *err)
{
    CURL *c = gh->curl;
    struct curl_slist *h = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    char authhdr[4200];
    enum sg_err e = SG_OK;

    curl_easy_reset(c); /* keeps the connection cache: keep-alive survives */
    r->status = 0;
    h = curl_slist_append(h, "Accept: application/vnd.github+json");
    h = curl_slist_append(h, "X-GitHub-Api-Version: 2022-11-28");
    h = curl_slist_append(h, "Expect:");
    if (q->json)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (q->auth) {
        snprintf(authhdr, sizeof authhdr, "Authorization: Bearer %s", q->auth);
        h = curl_slist_append(h, authhdr);
    }
    if (!h) {
        e = SG_ERR_NOMEM;
        err_set(err, 0, 0, "out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, gh->user_agent);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, gh->connect_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->tarball ? gh->tarball_timeout_ms : gh->timeout_ms);
    if (q->tarball) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, gh->low_speed_limit);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, gh->low_speed_time_s);
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (gh->should_stop) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, gh);
    }
    if (!strcmp(q->method, "POST") || !strcmp(q->method, "PATCH")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->json ? q->json : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(q->json ? strlen(q->json) : 0));
    }

    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code)
        r->status = code;

    /* metrics: every answer by status, every failure to get one as "error" */
    if (gh->requests_total) {
        char codebuf[16];
        if (r->status)
            snprintf(codebuf, sizeof codebuf, "%ld", r->status);
        else
            snprintf(codebuf, sizeof codebuf, "error");
        const char *labels[] = {codebuf};
        sg_metric_inc(gh->requests_total, labels);
    }
    int64_t rem;
    if (gh->ratelimit_remaining && parse_i64_str(r->rl_remaining, &rem))
        sg_metric_set(gh->ratelimit_remaining, NULL, (double)rem);

    if (cc == CURLE_OK)
        goto out;
    if (r->sink_err != SG_OK) {
        e = r->sink_err;
        err_set(err, (int)r->status, 0, "tarball consumer stopped: %s", sg_err_str(e));
    } else if (r->too_large) {
        e = SG_ERR_TOO_LARGE;
        err_set(err, (int)r->status, 0, "GitHub answer larger than %zu bytes", gh->max_response);
    } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
        e = SG_ERR_SHUTDOWN;
        err_set(err, (int)r->status, 0, "GitHub request stopped (shutting down)");
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        e = SG_ERR_TIMEOUT;
        err_set(err, (int)r->status, 0, "GitHub request timed out: %s",
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else {
        e = SG_ERR_HTTP;
        err_set(err, (int)r->status, 0, "GitHub request failed: %s%s",
                cc == CURLE_PARTIAL_FILE ? "truncated body: " : "",
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    sg_log_warn("github request failed", SG_KV_STR("method", q->method),
                SG_KV_INT("status", r->status),
                SG_KV_STR("err", err ? err->message : curl_easy_strerror(cc)), SG_KV_END);
out:
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(h);
    memset(authhdr, 0, sizeof authhdr);
    return e;
}

/* ---------- JWT and installation tokens ---------- */

static enum sg_err app_jwt(struct wk_github *gh, const char **out, struct wk_github_error *err)
{
    int64_t now = sg_now_ms() / 1000;
    /* a JWT lives 9 minutes (sg_jwt_app_token); reuse it for 5 */
    if (!gh->jwt[0] || now - gh->jwt_made_s > 300 || now < gh->jwt_made_s) {
        struct sg_buf b;
        sg_buf_init(&b, sizeof gh->jwt - 1);
        enum sg_err e = sg_jwt_app_token(gh->key, gh->app_id, now, &b);
        if (e != SG_OK) {
            sg_buf_free(&b);
            err_set(err, 0, 0, "cannot sign the App JWT: %s", sg_err_str(e));
            return e;
        }
        snprintf(gh->jwt, sizeof gh->jwt, "%s", sg_buf_str(&b));
        sg_buf_free(&b);
        gh->jwt_made_s = now;
    }
    *out = gh->jwt;
    return SG_OK;
}

static struct local_token *local_token_slot(struct wk_github *gh, int64_t inst, bool create)
{
    struct local_token *oldest = &gh->tokens[0];
    for (size_t i = 0; i < LOCAL_SLOTS; i++) {
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

static enum sg_err redis_error(struct wk_github *gh, redisReply *rep, struct wk_github_error *err,
                               const char *what)
{
    const char *why = rep ? (rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply")
                          : (gh->redis && gh->redis->errstr[0] ? gh->redis->errstr : "no reply");
    err_set(err, 0, 0, "Redis %s: %s", what, why);
    sg_log_warn("github: redis failed", SG_KV_STR("op", what), SG_KV_STR("err", why), SG_KV_END);
    if (rep)
        freeReplyObject(rep);
    return SG_ERR_REDIS;
}

void wk_github_forget_token(struct wk_github *gh, int64_t installation_id)
{
    if (!gh)
        return;
    struct local_token *t = local_token_slot(gh, installation_id, false);
    if (t)
        memset(t, 0, sizeof *t);
    memset(&gh->passed, 0, sizeof gh->passed);
    if (gh->redis) {
        char key[64];
        sg_key_token(key, sizeof key, installation_id);
        redisReply *rep = redisCommand(gh->redis, "DEL %s", key);
        if (rep)
            freeReplyObject(rep);
    }
}

static int64_t parse_iso8601(const char *s)
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
static enum sg_err token_fetch(struct wk_github *gh, int64_t inst, char *out, size_t outlen,
                               struct wk_github_error *err)
{
    const char *jwt;
    char url[1024];
    struct resp r;
    enum sg_err e = app_jwt(gh, &jwt, err);
    if (e != SG_OK)
        return e;
    snprintf(url, sizeof url, "%s/app/installations/%lld/access_tokens", gh->api_url,
             (long long)inst);
    resp_init(&r, gh->max_response);
    struct req q = {.method = "POST", .url = url, .auth = jwt, .json = "{}"};
    e = http_do(gh, &q, &r, err);
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
        err_set(err, (int)r.status, 0, "GitHub access_tokens answer has no token");
        goto out;
    }
    snprintf(out, outlen, "%s", json_object_get_string(t));
    int64_t now = sg_now_ms() / 1000;
    int64_t expires = json_object_object_get_ex(o, "expires_at", &x)
                          ? parse_iso8601(json_object_get_string(x))
                          : 0;
    json_object_put(o);
    if (expires <= now)
        expires = now + 3600;
    int64_t ttl = expires - now - gh->token_margin_s;
    if (ttl < 30)
        ttl = 30; /* an unusually short-lived token is still worth a little caching */
    struct local_token *lt = local_token_slot(gh, inst, true);
    snprintf(lt->token, sizeof lt->token, "%s", out);
    lt->expires_ms = (now + ttl) * 1000;
    if (gh->redis) {
        char key[64];
        sg_key_token(key, sizeof key, inst);
        redisReply *rep = redisCommand(gh->redis, "SET %s %s EX %lld", key, out, (long long)ttl);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            e = redis_error(gh, rep, err, "SET token");
            goto out;
        }
        freeReplyObject(rep);
    }
    sg_log_info("github: installation token fetched", SG_KV_INT("installation", inst),
                SG_KV_INT("ttl_s", ttl), SG_KV_END);
out:
    resp_free(&r);
    return e;
}

enum sg_err wk_github_installation_token(struct wk_github *gh, int64_t installation_id, char *out,
                                         size_t outlen, struct wk_github_error *err)
{
    err_clear(err);
    if (!gh || !out || outlen == 0 || installation_id <= 0) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    int64_t now = sg_now_ms();
    struct local_token *lt = local_token_slot(gh, installation_id, false);
    if (gh->redis) {
        /* Redis is the fleet's truth: a token another worker refreshed (or one revoked by
         * wk_github_forget_token elsewhere) is seen here */
        char key[64];
        sg_key_token(key, sizeof key, installation_id);
        redisReply *rep = redisCommand(gh->redis, "GET %s", key);
        if (!rep || rep->type == REDIS_REPLY_ERROR)
            return redis_error(gh, rep, err, "GET token");
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
    return token_fetch(gh, installation_id, out, outlen, err);
}

/* ---------- pacing and remembered limits ---------- */

/* KEYS[1] github:limited:<id> (unix ms until which GitHub refuses), KEYS[2] github:pace:<id>
 * (unix ms of the next free slot for a mutating request), KEYS[3] github:token:<id> (read in the
 * same round trip, so a request costs one Redis call). ARGV: pace_ms, max_wait_ms, mutating.
 * Returns {0, wait_ms, token|nil} (go, after waiting), {1, ms} (limited), {2, ms} (queue too
 * long). Uses Redis's clock, so the fleet agrees on time. */
static const char GATE_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local lim = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if lim > now then return {1, lim - now} end\n"
    "local tok = redis.call('GET', KEYS[3])\n"
    "if ARGV[3] == '0' then return {0, 0, tok} end\n"
    "local pace = tonumber(ARGV[1])\n"
    "local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "local slot = math.max(now, nxt)\n"
    "local wait = slot - now\n"
    "if wait > tonumber(ARGV[2]) then return {2, wait} end\n"
    "redis.call('SET', KEYS[2], slot + pace, 'PX', wait + pace + 1000)\n"
    "return {0, wait, tok}\n";

static char gate_sha[41];

static void gate_sha_init(void)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)GATE_LUA, strlen(GATE_LUA), md);
    for (size_t i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(gate_sha + 2 * i, 3, "%02x", md[i]);
}

static struct local_pace *local_pace_slot(struct wk_github *gh, int64_t inst)
{
    struct local_pace *oldest = &gh->paces[0];
    for (size_t i = 0; i < LOCAL_SLOTS; i++) {
        if (gh->paces[i].inst == inst)
            return &gh->paces[i];
        if (gh->paces[i].next_ms < oldest->next_ms)
            oldest = &gh->paces[i];
    }
    memset(oldest, 0, sizeof *oldest);
    oldest->inst = inst;
    return oldest;
}

/* Sleeps ms in slices of at most 100 ms; false when the stop hook asked to stop. */
static bool sleep_ms(struct wk_github *gh, int64_t ms)
{
    if (ms <= 0)
        return true;
    int64_t end = sg_mono_ms() + ms;
    for (;;) {
        if (gh->should_stop && gh->should_stop(gh->should_stop_ud))
            return false;
        int64_t left = end - sg_mono_ms();
        if (left <= 0)
            return true;
        if (left > 100)
            left = 100;
        struct timespec ts = {0, (long)left * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
}

/* EVALSHA of the gate script, loading it with EVAL when Redis does not know it (NOSCRIPT: first
 * use, or after a Redis restart). */
static redisReply *gate_eval(struct wk_github *gh, const char *k1, const char *k2, const char *k3,
                             bool pace)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, gate_sha_init);
    redisReply *rep =
        redisCommand(gh->redis, "EVALSHA %s 3 %s %s %s %lld %lld %s", gate_sha, k1, k2, k3,
                     (long long)gh->pace_ms, (long long)gh->pace_max_wait_ms, pace ? "1" : "0");
    if (rep && rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOSCRIPT", 8)) {
        freeReplyObject(rep);
        rep =
            redisCommand(gh->redis, "EVAL %s 3 %s %s %s %lld %lld %s", GATE_LUA, k1, k2, k3,
                         (long long)gh->pace_ms, (long long)gh->pace_max_wait_ms, pace ? "1" : "0");
    }
    return rep;
}

/* Before a request for an installation: refuses while GitHub's limit (remembered fleet-wide) is in
 * force, and for a mutating request waits for this installation's next pacing slot. When token is
 * non-NULL it also receives the cached installation token ("" when none is cached). */
static enum sg_err gate(struct wk_github *gh, int64_t inst, bool mutating, char *token,
                        size_t toklen, struct wk_github_error *err)
{
    int64_t now = sg_now_ms();
    int64_t kind = 0, ms = 0;
    bool pace = mutating && gh->pace_ms > 0;
    if (token)
        token[0] = '\0';
    if (gh->redis) {
        char klim[64], kpace[64], ktok[64];
        snprintf(klim, sizeof klim, "github:limited:%lld", (long long)inst);
        snprintf(kpace, sizeof kpace, "github:pace:%lld", (long long)inst);
        sg_key_token(ktok, sizeof ktok, inst);
        redisReply *rep = gate_eval(gh, klim, kpace, ktok, pace);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
            rep->element[0]->type != REDIS_REPLY_INTEGER ||
            rep->element[1]->type != REDIS_REPLY_INTEGER)
            return redis_error(gh, rep, err, "pacing script");
        kind = rep->element[0]->integer;
        ms = rep->element[1]->integer;
        if (token && rep->elements > 2 && rep->element[2]->type == REDIS_REPLY_STRING &&
            rep->element[2]->len > 0 && (size_t)rep->element[2]->len < toklen)
            snprintf(token, toklen, "%s", rep->element[2]->str);
        freeReplyObject(rep);
    } else {
        struct local_pace *p = local_pace_slot(gh, inst);
        if (p->limited_until_ms > now) {
            kind = 1;
            ms = p->limited_until_ms - now;
        } else if (pace) {
            int64_t slot = p->next_ms > now ? p->next_ms : now;
            ms = slot - now;
            if (ms > gh->pace_max_wait_ms) {
                kind = 2;
            } else {
                p->next_ms = slot + gh->pace_ms;
            }
        }
        struct local_token *lt = token ? local_token_slot(gh, inst, false) : NULL;
        if (lt && lt->token[0] && lt->expires_ms > now)
            snprintf(token, toklen, "%s", lt->token);
    }
    if (kind == 1) {
        err_set(err, 0, now + ms,
                "GitHub rate limit for installation %lld in force for %lld ms more",
                (long long)inst, (long long)ms);
        return SG_ERR_RATE_LIMITED;
    }
    if (kind == 2) {
        err_set(err, 0, now + ms, "too many mutating requests queued for installation %lld",
                (long long)inst);
        return SG_ERR_RATE_LIMITED;
    }
    if (!sleep_ms(gh, ms)) {
        err_set(err, 0, 0, "stopped while waiting for a pacing slot (shutting down)");
        return SG_ERR_SHUTDOWN;
    }
    return SG_OK;
}

/* The gate, then the installation token (fetched when none is cached); a pass through Redis is
 * remembered for the unpaced requests of the next GATE_REUSE_MS. */
static enum sg_err gate_token(struct wk_github *gh, int64_t inst, bool mutating, char *token,
                              size_t toklen, struct wk_github_error *err)
{
    const struct gate_pass *gp = &gh->passed;
    int64_t since = sg_now_ms() - gp->at_ms;
    if (gh->redis && !(mutating && gh->pace_ms > 0) && gp->inst == inst && gp->token[0] &&
        since >= 0 && since < GATE_REUSE_MS && strlen(gp->token) < toklen) {
        snprintf(token, toklen, "%s", gp->token);
        return SG_OK;
    }
    enum sg_err e = gate(gh, inst, mutating, token, toklen, err);
    if (e == SG_OK && !token[0])
        e = token_fetch(gh, inst, token, toklen, err);
    if (e == SG_OK && gh->redis && strlen(token) < sizeof gh->passed.token) {
        gh->passed.inst = inst;
        gh->passed.at_ms = sg_now_ms();
        snprintf(gh->passed.token, sizeof gh->passed.token, "%s", token);
    }
    return e;
}

/* Remembers a rate limit for the installation until retry_at_ms, for the whole fleet. */
static void remember_limit(struct wk_github *gh, int64_t inst, int64_t retry_at_ms)
{
    int64_t now = sg_now_ms();
    memset(&gh->passed, 0, sizeof gh->passed);
    if (retry_at_ms <= now)
        return;
    if (gh->redis) {
        char k[64];
        snprintf(k, sizeof k, "github:limited:%lld", (long long)inst);
        redisReply *rep = redisCommand(gh->redis, "SET %s %lld PX %lld", k, (long long)retry_at_ms,
                                       (long long)(retry_at_ms - now));
        if (rep)
            freeReplyObject(rep);
    } else {
        local_pace_slot(gh, inst)->limited_until_ms = retry_at_ms;
    }
}

/* A successful answer that used the last request of the hour (X-RateLimit-Remaining: 0): the
 * next request would be refused, so the fleet waits for X-RateLimit-Reset without asking. */
static void remember_exhausted(struct wk_github *gh, int64_t inst, const struct resp *r)
{
    int64_t remaining, reset;
    if (parse_i64_str(r->rl_remaining, &remaining) && remaining == 0 &&
        parse_reset_s(r->rl_reset, &reset))
        remember_limit(gh, inst, reset * 1000);
}

/* An API call as the installation: gate, token, request, and on a 401 one token refresh. The
 * answer (2xx) is left in r; anything else is classified into err. */
static enum sg_err inst_call(struct wk_github *gh, int64_t inst, const char *method,
                             const char *url, const char *json, struct resp *r,
                             struct wk_github_error *err)
{
    char token[128];
    bool mutating = strcmp(method, "GET") != 0;
    enum sg_err e = gate_token(gh, inst, mutating, token, sizeof token, err);
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
        struct req q = {.method = method, .url = url, .auth = token, .json = json};
        e = http_do(gh, &q, r, err);
        if (e != SG_OK)
            break;
        if (r->status == 401 && attempt == 0) {
            /* the cached token was revoked or expired early: fetch a fresh one, once */
            sg_log_info("github: 401, refreshing the installation token",
                        SG_KV_INT("installation", inst), SG_KV_END);
            wk_github_forget_token(gh, inst);
            e = token_fetch(gh, inst, token, sizeof token, err);
            continue;
        }
        e = wk_github_classify((int)r->status, r->retry_after, r->rl_remaining, r->rl_reset,
                               sg_buf_str(&r->body), sg_now_ms(), err);
        break;
    }
    free(clean);
    if (e == SG_ERR_RATE_LIMITED && err)
        remember_limit(gh, inst, err->retry_at_ms);
    else if (e == SG_OK)
        remember_exhausted(gh, inst, r);
    memset(token, 0, sizeof token);
    return e;
}

/* An API call as the App (JWT). */
static enum sg_err app_call(struct wk_github *gh, const char *method, const char *url,
                            const char *json, struct resp *r, struct wk_github_error *err)
{
    const char *jwt;
    enum sg_err e = app_jwt(gh, &jwt, err);
    if (e != SG_OK)
        return e;
    sg_buf_reset(&r->body);
    struct req q = {.method = method, .url = url, .auth = jwt, .json = json};
    e = http_do(gh, &q, r, err);
    if (e == SG_OK)
        e = wk_github_classify((int)r->status, r->retry_after, r->rl_remaining, r->rl_reset,
                               sg_buf_str(&r->body), sg_now_ms(), err);
    return e;
}

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

static enum sg_err parse_id(struct resp *r, int64_t *id, struct wk_github_error *err)
{
    struct json_object *o = json_tokener_parse(sg_buf_str(&r->body)), *v;
    enum sg_err e = SG_ERR_PARSE;
    if (o && json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_int)) {
        *id = json_object_get_int64(v);
        e = SG_OK;
    } else {
        err_set(err, (int)r->status, 0, "GitHub answer has no id");
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
    err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || !valid_ref(head_sha) || !check_run_id) {
        err_set(err, 0, 0, "bad arguments");
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
    struct resp r;
    resp_init(&r, gh->max_response);
    enum sg_err e = inst_call(gh, installation_id, "POST", url,
                              json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN), &r, err);
    if (e == SG_OK)
        e = parse_id(&r, check_run_id, err);
    json_object_put(b);
    resp_free(&r);
    return e;
}

enum sg_err wk_github_checkrun_find(struct wk_github *gh, int64_t installation_id,
                                    const char *repo_full_name, const char *head_sha,
                                    const char *external_id, int64_t *check_run_id,
                                    struct wk_github_error *err)
{
    err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || !valid_ref(head_sha) || !external_id ||
        !*external_id || !check_run_id) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    *check_run_id = 0;
    char url[4096];
    /* filter=all: every run of that name, not only the latest one (a later duplicate would hide
     * ours under the default filter=latest) */
    snprintf(url, sizeof url,
             "%s/repos/%s/commits/%s/check-runs?check_name=%s&filter=all&per_page=100", gh->api_url,
             repo_full_name, head_sha, WK_CHECKRUN_NAME);
    struct resp r;
    resp_init(&r, gh->max_response);
    enum sg_err e = SG_OK;
    for (int page = 0; e == SG_OK && page < MAX_PAGES && *check_run_id == 0; page++) {
        e = inst_call(gh, installation_id, "GET", url, NULL, &r, err);
        if (e != SG_OK)
            break;
        struct json_object *arr, *v, *o = page_array(&r, "check_runs", &arr, &e, err);
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
        if (*check_run_id != 0 || !next_page(gh, &r, url, sizeof url, &e, err))
            break;
    }
    if (e != SG_OK)
        *check_run_id = 0;
    resp_free(&r);
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

/* github:annotations:<check-run-id>: how many annotations GitHub already accepted for a check run,
 * so a retried completion does not append them twice. */
static enum sg_err progress_get(struct wk_github *gh, int64_t id, size_t *sent,
                                struct wk_github_error *err)
{
    *sent = 0;
    if (!gh->redis)
        return SG_OK;
    redisReply *rep = redisCommand(gh->redis, "GET github:annotations:%lld", (long long)id);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        return redis_error(gh, rep, err, "GET annotations progress");
    int64_t v;
    if (rep->type == REDIS_REPLY_STRING && sg_parse_i64(rep->str, 0, INT64_MAX, &v))
        *sent = (size_t)v;
    freeReplyObject(rep);
    return SG_OK;
}

static void progress_set(struct wk_github *gh, int64_t id, size_t sent)
{
    if (!gh->redis)
        return;
    redisReply *rep = redisCommand(gh->redis, "SET github:annotations:%lld %lld EX 86400",
                                   (long long)id, (long long)sent);
    if (rep)
        freeReplyObject(rep);
}

enum sg_err wk_github_checkrun_complete(struct wk_github *gh, int64_t installation_id,
                                        const char *repo_full_name, int64_t check_run_id,
                                        const struct wk_checkrun_output *out, bool new_run,
                                        struct wk_github_error *err)
{
    err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || check_run_id <= 0 || !out || !out->conclusion ||
        !out->title || !out->summary) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[1024], ts[32];
    snprintf(url, sizeof url, "%s/repos/%s/check-runs/%lld", gh->api_url, repo_full_name,
             (long long)check_run_id);
    iso_now(ts);
    size_t total =
        out->nannotations < gh->max_annotations ? out->nannotations : gh->max_annotations;
    size_t sent = 0;
    enum sg_err e = new_run ? SG_OK : progress_get(gh, check_run_id, &sent, err);
    if (e != SG_OK)
        return e;
    if (sent > total)
        sent = total;
    struct resp r;
    resp_init(&r, gh->max_response);
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
        e = inst_call(gh, installation_id, "PATCH", url,
                      json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN), &r, err);
        json_object_put(b);
        if (e != SG_OK)
            break;
        sent += n;
        if (n)
            progress_set(gh, check_run_id, sent);
        first = false;
    }
    resp_free(&r);
    return e;
}

enum sg_err wk_github_checkrun_fail(struct wk_github *gh, int64_t installation_id,
                                    const char *repo_full_name, const char *head_sha,
                                    int64_t check_run_id, const char *title, const char *message,
                                    struct wk_github_error *err)
{
    err_clear(err);
    if (!gh || !valid_repo(repo_full_name) || (check_run_id <= 0 && !valid_ref(head_sha))) {
        err_set(err, 0, 0, "bad arguments");
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
        err_set(err, 0, 0, "out of memory");
        return SG_ERR_NOMEM;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "title", json_object_new_string(f.title));
    json_object_object_add(o, "summary", json_object_new_string(f.summary));
    wk_checkrun_output_free(&f);
    json_object_object_add(b, "output", o);
    struct resp r;
    resp_init(&r, gh->max_response);
    enum sg_err e = inst_call(gh, installation_id, check_run_id > 0 ? "PATCH" : "POST", url,
                              json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN), &r, err);
    json_object_put(b);
    resp_free(&r);
    return e;
}

/* ---------- tarball ---------- */

enum sg_err wk_github_tarball(struct wk_github *gh, int64_t installation_id,
                              const char *repo_full_name, const char *sha, wk_github_sink_fn sink,
                              void *ud, uint64_t *bytes, struct wk_github_error *err)
{
    err_clear(err);
    if (bytes)
        *bytes = 0;
    if (!gh || !valid_repo(repo_full_name) || !valid_ref(sha) || !sink) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[2048], token[128];
    snprintf(url, sizeof url, "%s/repos/%s/tarball/%s", gh->api_url, repo_full_name, sha);
    struct resp r;
    resp_init(&r, 1 << 16); /* only error and redirect bodies are buffered */
    enum sg_err e = gate_token(gh, installation_id, false, token, sizeof token, err);
    bool refreshed = false;
    for (int hop = 0; e == SG_OK; hop++) {
        if (hop > MAX_REDIRECTS) {
            e = SG_ERR_HTTP;
            err_set(err, (int)r.status, 0, "too many redirects for the tarball");
            break;
        }
        /* the token goes to the API's own origin only (codeload is another host) */
        bool send_token = same_origin(url, gh->api_url);
        sg_buf_reset(&r.body);
        r.sink = sink;
        r.sink_ud = ud;
        struct req q = {
            .method = "GET", .url = url, .auth = send_token ? token : NULL, .tarball = true};
        e = http_do(gh, &q, &r, err);
        if (e != SG_OK)
            break;
        if (r.status == 401 && send_token && !refreshed) {
            refreshed = true;
            wk_github_forget_token(gh, installation_id);
            e = token_fetch(gh, installation_id, token, sizeof token, err);
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
                err_set(err, (int)r.status, 0, "bad tarball redirect");
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
            err_set(err, (int)r.status, 0, "unexpected tarball answer %ld", r.status);
        }
        break;
    }
    if (e == SG_ERR_RATE_LIMITED && err)
        remember_limit(gh, installation_id, err->retry_at_ms);
    if (bytes)
        *bytes = r.sunk;
    memset(token, 0, sizeof token);
    resp_free(&r);
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
    err_clear(err);
    if (!gh || installation_id <= 0 || !out) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    char url[1024];
    snprintf(url, sizeof url, "%s/app/installations/%lld", gh->api_url, (long long)installation_id);
    struct resp r;
    resp_init(&r, gh->max_response);
    enum sg_err e = app_call(gh, "GET", url, NULL, &r, err);
    if (e == SG_OK) {
        struct json_object *o = json_tokener_parse(sg_buf_str(&r.body)), *v, *acct;
        if (!o || !json_object_object_get_ex(o, "id", &v)) {
            e = SG_ERR_PARSE;
            err_set(err, (int)r.status, 0, "GitHub installation answer has no id");
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
    resp_free(&r);
    return e;
}

enum sg_err wk_github_installation_repos(struct wk_github *gh, int64_t installation_id,
                                         wk_github_repo_fn cb, void *ud,
                                         struct wk_github_error *err)
{
    err_clear(err);
    if (!gh || installation_id <= 0 || !cb) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[4096];
    snprintf(url, sizeof url, "%s/installation/repositories?per_page=100", gh->api_url);
    struct resp r;
    resp_init(&r, gh->max_response);
    enum sg_err e = SG_OK;
    for (int page = 0; e == SG_OK && page < MAX_PAGES; page++) {
        e = inst_call(gh, installation_id, "GET", url, NULL, &r, err);
        if (e != SG_OK)
            break;
        struct json_object *arr, *v, *o = page_array(&r, "repositories", &arr, &e, err);
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
        if (e != SG_OK || !next_page(gh, &r, url, sizeof url, &e, err))
            break;
    }
    resp_free(&r);
    return e;
}

/* ---------- webhook deliveries ---------- */

enum sg_err wk_github_deliveries_list(struct wk_github *gh, int64_t since_unix_s,
                                      wk_github_delivery_fn cb, void *ud,
                                      struct wk_github_error *err)
{
    err_clear(err);
    if (!gh || !cb) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[4096];
    snprintf(url, sizeof url, "%s/app/hook/deliveries?per_page=100", gh->api_url);
    struct resp r;
    resp_init(&r, gh->max_response);
    enum sg_err e = SG_OK;
    bool done = false;
    for (int page = 0; e == SG_OK && !done && page < MAX_PAGES; page++) {
        e = app_call(gh, "GET", url, NULL, &r, err);
        if (e != SG_OK)
            break;
        struct json_object *arr, *v, *o = page_array(&r, NULL, &arr, &e, err);
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
            d.delivered_at_s = parse_iso8601(ts);
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
        if (e != SG_OK || done || !next_page(gh, &r, url, sizeof url, &e, err))
            break;
    }
    resp_free(&r);
    return e;
}

enum sg_err wk_github_delivery_redeliver(struct wk_github *gh, int64_t delivery_id,
                                         struct wk_github_error *err)
{
    err_clear(err);
    if (!gh || delivery_id <= 0) {
        err_set(err, 0, 0, "bad arguments");
        return SG_ERR_INVALID;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/app/hook/deliveries/%lld/attempts", gh->api_url,
             (long long)delivery_id);
    struct resp r;
    resp_init(&r, gh->max_response);
    enum sg_err e = app_call(gh, "POST", url, NULL, &r, err);
    resp_free(&r);
    return e;
}

struct collected {
    struct wk_github_delivery *v;
    size_t n, cap;
};

static enum sg_err collect_delivery(void *ud, const struct wk_github_delivery *d)
{
    struct collected *c = ud;
    if (c->n >= MAX_DELIVERIES)
        return SG_ERR_TOO_LARGE;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 256;
        void *p = realloc(c->v, ncap * sizeof *c->v);
        if (!p)
            return SG_ERR_NOMEM;
        c->v = p;
        c->cap = ncap;
    }
    c->v[c->n++] = *d;
    return SG_OK;
}

enum sg_err wk_github_redeliver_failed(struct wk_github *gh, int64_t since_unix_s, bool dry_run,
                                       struct wk_github_redeliver_stats *stats,
                                       struct wk_github_error *err)
{
    struct wk_github_redeliver_stats st;
    memset(&st, 0, sizeof st);
    struct collected c = {0};
    enum sg_err e = wk_github_deliveries_list(gh, since_unix_s, collect_delivery, &c, err);
    if (e != SG_OK)
        goto out;
    st.listed = c.n;
    /* per guid: skip it when any attempt succeeded; else redeliver its newest attempt, once */
    for (size_t i = 0; i < c.n; i++) {
        const struct wk_github_delivery *d = &c.v[i];
        bool ok = false, newest = true;
        for (size_t j = 0; j < c.n; j++) {
            const struct wk_github_delivery *o = &c.v[j];
            if (strcmp(o->guid, d->guid) != 0)
                continue;
            if (o->status_code >= 200 && o->status_code < 300)
                ok = true;
            if (o->delivered_at_s > d->delivered_at_s ||
                (o->delivered_at_s == d->delivered_at_s && o->id > d->id))
                newest = false;
        }
        if (ok || !newest)
            continue;
        st.failed++;
        if (dry_run) {
            sg_log_info("redeliver: would redeliver", SG_KV_STR("delivery", d->guid),
                        SG_KV_INT("id", d->id), SG_KV_INT("status", d->status_code),
                        SG_KV_STR("event", d->event), SG_KV_END);
            continue;
        }
        struct wk_github_error e1;
        enum sg_err re = wk_github_delivery_redeliver(gh, d->id, &e1);
        if (re == SG_OK) {
            st.redelivered++;
            sg_log_info("redeliver: requested", SG_KV_STR("delivery", d->guid),
                        SG_KV_INT("id", d->id), SG_KV_INT("status", d->status_code),
                        SG_KV_STR("event", d->event), SG_KV_END);
        } else {
            st.errors++;
            sg_log_warn("redeliver: failed", SG_KV_STR("delivery", d->guid), SG_KV_INT("id", d->id),
                        SG_KV_STR("err", e1.message), SG_KV_END);
            if (re == SG_ERR_RATE_LIMITED) {
                /* stop asking; the next run (CronJob) continues */
                e = re;
                if (err)
                    *err = e1;
                break;
            }
        }
    }
out:
    free(c.v);
    if (stats)
        *stats = st;
    return e;
}
