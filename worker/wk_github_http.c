/* Why: the GitHub client's HTTP layer: the client's lifetime and its one curl easy handle (kept for
 * keep-alive), one request/response exchange with GitHub's headers and timeouts, the capped answer
 * buffer, and the error classes that decide retry versus permanent failure (github.h). */
#include "wk_github_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "sg_config.h"
#include "sg_log.h"
#include "sg_time.h"

void wk_gh_err_set(struct wk_github_error *err, int status, int64_t retry_at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void wk_gh_err_set(struct wk_github_error *err, int status, int64_t retry_at, const char *fmt, ...)
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

void wk_gh_err_clear(struct wk_github_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}
/* ---------- answers and their error classes ---------- */

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

bool wk_gh_parse_i64(const char *s, int64_t *out)
{
    return s && *s && sg_parse_i64(s, INT64_MIN, INT64_MAX, out);
}

/* GitHub's primary window is an hour; no answer makes a job wait longer than this. */
#define WK_GITHUB_MAX_WAIT_S 3600
/* X-RateLimit-Reset in unix seconds, bounded so that "* 1000" cannot overflow. */
bool wk_gh_parse_reset_s(const char *s, int64_t *out)
{
    return s && *s && sg_parse_i64(s, 1, INT64_MAX / 1000, out);
}

/* Retry-After is delta-seconds or an HTTP date (RFC 9110); -1 when absent or unparseable. */
static int64_t retry_after_ms(const char *v, int64_t now_ms)
{
    int64_t s;
    if (!v || !*v)
        return -1;
    if (wk_gh_parse_i64(v, &s)) /* clamped: a hostile value must not overflow (found by fuzzing) */
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

    wk_gh_err_clear(err);
    if (err)
        err->http_status = http_status;
    if (http_status >= 200 && http_status < 400)
        return SG_OK;

    int64_t ra = retry_after_ms(retry_after, now_ms);
    int64_t reset = 0, remaining = -1;
    wk_gh_parse_i64(ratelimit_remaining, &remaining);
    bool primary = remaining == 0;
    bool have_reset = wk_gh_parse_reset_s(ratelimit_reset, &reset);
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
    wk_gh_err_set(err, http_status, retry_at, "GitHub %d: %s", http_status,
                  msg[0] ? msg : "no message");
    return e;
}

/* ---------- HTTP ---------- */

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    struct wk_gh_resp *r = ud;
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
    struct wk_gh_resp *r = ud;
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

void wk_gh_resp_init(struct wk_gh_resp *r, size_t max)
{
    memset(r, 0, sizeof *r);
    sg_buf_init(&r->body, max);
}

void wk_gh_resp_free(struct wk_gh_resp *r)
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

bool wk_gh_same_origin(const char *a, const char *b)
{
    char oa[512], ob[512];
    return url_origin(a, oa, sizeof oa) && url_origin(b, ob, sizeof ob) && !strcmp(oa, ob);
}

/* Follows pagination: copies the Link header's rel="next" URL into url and returns true, or
 * returns false at the last page. A next link on another host is refused (SG_ERR_PARSE in *e, with
 * err set): the installation token is never sent to another host because a header said so. */
bool wk_gh_next_page(struct wk_github *gh, const struct wk_gh_resp *r, char *url, size_t urllen,
                     enum sg_err *e, struct wk_github_error *err)
{
    char next[4096];
    if (!wk_github_link_next(r->link, next, sizeof next))
        return false;
    if (!wk_gh_same_origin(next, gh->api_url)) {
        *e = SG_ERR_PARSE;
        wk_gh_err_set(err, (int)r->status, 0, "GitHub pagination link points to another host");
        return false;
    }
    snprintf(url, urllen, "%s", next);
    return true;
}

/* The list in one page of a paginated answer: the body itself (key NULL) or its member key.
 * Returns the parsed document (the caller puts it) with *arr inside it, or NULL with *e =
 * SG_ERR_PARSE and err set. */
struct json_object *wk_gh_page_array(const struct wk_gh_resp *r, const char *key,
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
    wk_gh_err_set(err, (int)r->status, 0, "GitHub list answer has no %s", key ? key : "array");
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

/* Performs one HTTP exchange (no redirects followed). Returns a transport-level error (timeout,
 * network, too large, sink error) or SG_OK with r->status set; never classifies the status. */
enum sg_err wk_gh_http_do(struct wk_github *gh, const struct wk_gh_req *q, struct wk_gh_resp *r,
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
        wk_gh_err_set(err, 0, 0, "out of memory");
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
        /* A mutation never goes on a reused connection: when a reused connection turns out dead
         * before a byte of the answer arrives, libcurl silently sends the request again on a new
         * one, although the server may have applied it (a PATCH of annotations appended twice, a
         * second check run). On a fresh connection the failure comes back to us instead, and the
         * caller looks before acting again. The cost is a connect (and TLS handshake) per
         * mutation, which pacing spaces a second apart anyway. */
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
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
    if (gh->ratelimit_remaining && wk_gh_parse_i64(r->rl_remaining, &rem))
        sg_metric_set(gh->ratelimit_remaining, NULL, (double)rem);

    if (cc == CURLE_OK)
        goto out;
    if (r->sink_err != SG_OK) {
        e = r->sink_err;
        wk_gh_err_set(err, (int)r->status, 0, "tarball consumer stopped: %s", sg_err_str(e));
    } else if (r->too_large) {
        e = SG_ERR_TOO_LARGE;
        wk_gh_err_set(err, (int)r->status, 0, "GitHub answer larger than %zu bytes",
                      gh->max_response);
    } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
        e = SG_ERR_SHUTDOWN;
        wk_gh_err_set(err, (int)r->status, 0, "GitHub request stopped (shutting down)");
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        e = SG_ERR_TIMEOUT;
        wk_gh_err_set(err, (int)r->status, 0, "GitHub request timed out: %s",
                      errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else {
        e = SG_ERR_HTTP;
        wk_gh_err_set(err, (int)r->status, 0, "GitHub request failed: %s%s",
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

/* ---------- the client ---------- */

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
