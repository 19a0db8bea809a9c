/* Why: the worker's GitHub client (worker/wk_github.c) run for real against the GitHub simulator
 * and a real redis-server: token fetched with a valid JWT and shared through Redis, a 401
 * refreshing it once, the tarball redirect not leaking the token, streaming and truncation, 5xx and
 * rate limits classified with retry times, fleet-wide pacing across two clients, 50-annotation
 * batches, and the redeliver command's selection. Started by wk_github_client.sh (which starts the
 * servers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <pthread.h>
#include <zlib.h>

#include "wk_checkrun.h"
#include "wk_cli.h"
#include "wk_github.h"
#include "wk_redis.h"
#include "sg_buf.h"
#include "sg_config.h"
#include "sg_crypto.h"
#include "sg_metrics.h"
#include "sg_time.h"

#define INST  7
#define INST2 8
#define REPO  "octo/hello"
#define SHA   "0123456789abcdef0123456789abcdef01234567"

static const char *api;
static int redis_port;
static sg_pkey *app_key, *other_key;
static const char *app_id;
static struct sg_metrics *metrics;
static struct sg_metric *m_requests, *m_remaining;

/* ---- helpers: the simulator's control API and Redis ---- */

static size_t collect(char *d, size_t s, size_t n, void *ud)
{
    return sg_buf_append(ud, d, s * n) == SG_OK ? s * n : 0;
}

static char *sim(const char *method, const char *path, const char *body)
{
    CURL *c = curl_easy_init();
    struct sg_buf b;
    sg_buf_init(&b, 64 << 20);
    char url[1024];
    snprintf(url, sizeof url, "%s%s", api, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    char *s = sg_buf_detach(&b);
    return s ? s : strdup("");
}

static void sim_do(const char *method, const char *path, const char *body)
{
    free(sim(method, path, body));
}

/* Requests recorded by the simulator that match method, a path prefix and status (-1 = any). */
static struct json_object *requests(void)
{
    char *s = sim("GET", "/_sim/requests", NULL);
    struct json_object *o = json_tokener_parse(s);
    free(s);
    assert_non_null(o);
    return o;
}

static int count_requests(const char *method, const char *prefix, int status)
{
    struct json_object *a = requests(), *v;
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        struct json_object *r = json_object_array_get_idx(a, i);
        json_object_object_get_ex(r, "method", &v);
        if (strcmp(json_object_get_string(v), method))
            continue;
        json_object_object_get_ex(r, "path", &v);
        if (strncmp(json_object_get_string(v), prefix, strlen(prefix)))
            continue;
        json_object_object_get_ex(r, "status", &v);
        if (status >= 0 && json_object_get_int(v) != status)
            continue;
        n++;
    }
    json_object_put(a);
    return n;
}

static struct wk_redis *redis_connect(void)
{
    char url[64], err[200];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", redis_port);
    struct wk_redis *r = wk_redis_new(url, 2000, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(wk_redis_connect(r), SG_OK);
    return r;
}

static void redis_cmd(struct wk_redis *r, const char *cmd)
{
    redisReply *rep = wk_redis_command(r, cmd);
    assert_non_null(rep);
    freeReplyObject(rep);
}

static struct wk_github *client(struct wk_redis *r, sg_pkey *key, int64_t pace_ms, size_t max_ann)
{
    struct wk_github_config cfg = {.api_url = api,
                                   .app_id = app_id,
                                   .app_key = key,
                                   .redis = r,
                                   .connect_timeout_ms = 2000,
                                   .timeout_ms = 10000,
                                   .pace_ms = pace_ms,
                                   .max_annotations = max_ann,
                                   .requests_total = m_requests,
                                   .ratelimit_remaining = m_remaining};
    char err[256];
    struct wk_github *gh = wk_github_new(&cfg, err, sizeof err);
    assert_non_null(gh);
    return gh;
}

static int reset(void **state)
{
    struct wk_redis *r = redis_connect();
    redis_cmd(r, "FLUSHDB");
    wk_redis_free(r);
    sim_do("DELETE", "/_sim/faults", NULL);
    sim_do("DELETE", "/_sim/requests", NULL);
    return 0;
}

static sg_pkey *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char pem[16384];
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    char err[256];
    sg_pkey *k = sg_pkey_load_pem(pem, err, sizeof err);
    assert_non_null(k);
    return k;
}

/* ---- tests ---- */

static void test_token_cached_in_redis_and_shared(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 100, 0), *b = client(r, app_key, 100, 0);
    struct wk_github_error err;
    char t1[128], t2[128];
    assert_int_equal(wk_github_installation_token(a, INST, t1, sizeof t1, &err), SG_OK);
    assert_memory_equal(t1, "ghs_", 4);
    assert_int_equal(count_requests("POST", "/app/installations/7/access_tokens", 201), 1);
    redisReply *rep = wk_redis_command(r, "TTL github:token:7");
    assert_true(rep->integer > 3000 && rep->integer <= 3600 - 300);
    freeReplyObject(rep);
    /* a second client (another worker) reuses it without asking GitHub */
    assert_int_equal(wk_github_installation_token(b, INST, t2, sizeof t2, &err), SG_OK);
    assert_string_equal(t1, t2);
    int64_t id;
    assert_int_equal(wk_github_checkrun_create(b, INST, REPO, SHA, "1", NULL, &id, &err), SG_OK);
    assert_int_equal(count_requests("POST", "/app/installations/", -1), 1);
    /* the JWT was valid: the only token request succeeded */
    assert_int_equal(count_requests("POST", "/app/installations/7/access_tokens", 401), 0);
    wk_github_free(a);
    wk_github_free(b);
    wk_redis_free(r);
}

static void test_401_refreshes_once(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 100, 0);
    struct wk_github_error err;
    char t1[128], t2[128];
    assert_int_equal(wk_github_installation_token(a, INST, t1, sizeof t1, &err), SG_OK);
    sim_do("DELETE", "/_sim/tokens", NULL); /* GitHub revoked every token */
    int64_t id = 0;
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "2", NULL, &id, &err), SG_OK);
    assert_true(id > 0);
    assert_int_equal(count_requests("POST", "/repos/octo/hello/check-runs", 401), 1);
    assert_int_equal(count_requests("POST", "/repos/octo/hello/check-runs", 201), 1);
    assert_int_equal(count_requests("POST", "/app/installations/7/access_tokens", 201), 2);
    assert_int_equal(wk_github_installation_token(a, INST, t2, sizeof t2, &err), SG_OK);
    assert_string_not_equal(t1, t2); /* the new token is the one cached */

    /* a token that keeps failing is refreshed once only, then it is an auth error */
    sim_do("POST", "/_sim/faults",
           "{\"method\":\"POST\",\"path_prefix\":\"/repos/octo/hello/"
           "check-runs\",\"status\":401,\"count\":5}");
    sim_do("DELETE", "/_sim/requests", NULL);
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "3", NULL, &id, &err),
                     SG_ERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_int_equal(count_requests("POST", "/repos/octo/hello/check-runs", 401), 2);
    assert_int_equal(count_requests("POST", "/app/installations/7/access_tokens", 201), 1);
    wk_github_free(a);
    wk_redis_free(r);
}

static void test_wrong_app_key_is_auth_error(void **state)
{
    struct wk_github *a = client(NULL, other_key, 100, 0);
    struct wk_github_error err;
    char t[128];
    assert_int_equal(wk_github_installation_token(a, INST, t, sizeof t, &err), SG_ERR_AUTH);
    assert_int_equal(err.http_status, 401);
    assert_non_null(strstr(err.message, "APP_ID"));
    wk_github_free(a);
}

struct sink {
    z_stream z;
    int zr;
    uint64_t n;
    int calls;
    enum sg_err fail_with;
};

static enum sg_err sink_fn(void *ud, const void *buf, size_t len)
{
    struct sink *s = ud;
    s->calls++;
    if (s->fail_with != SG_OK)
        return s->fail_with;
    s->n += len;
    unsigned char out[65536];
    s->z.next_in = (Bytef *)buf;
    s->z.avail_in = (uInt)len;
    while (s->z.avail_in && s->zr == Z_OK) {
        s->z.next_out = out;
        s->z.avail_out = sizeof out;
        s->zr = inflate(&s->z, Z_NO_FLUSH);
    }
    return SG_OK;
}

static void test_tarball_streamed_without_leaking_token(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 100, 0);
    struct wk_github_error err;
    struct sink s;
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    s.zr = Z_OK;
    uint64_t bytes = 0;
    assert_int_equal(wk_github_tarball(a, INST, REPO, SHA, sink_fn, &s, &bytes, &err), SG_OK);
    assert_int_equal(s.zr, Z_STREAM_END); /* a whole gzip stream reached the sink */
    assert_true(bytes > 100);
    assert_int_equal(bytes, s.n);
    inflateEnd(&s.z);
    /* the API request carried the token; the codeload one (another host) carried nothing */
    struct json_object *a_ = requests(), *v, *h;
    int api_seen = 0, codeload_seen = 0;
    for (size_t i = 0; i < json_object_array_length(a_); i++) {
        struct json_object *q = json_object_array_get_idx(a_, i);
        json_object_object_get_ex(q, "path", &v);
        json_object_object_get_ex(q, "headers", &h);
        struct json_object *auth, *host;
        json_object_object_get_ex(h, "Authorization", &auth);
        json_object_object_get_ex(h, "Host", &host);
        if (!strncmp(json_object_get_string(v), "/repos/octo/hello/tarball/", 26)) {
            api_seen++;
            assert_non_null(auth);
            assert_non_null(strstr(json_object_get_string(auth), "installation-token"));
        } else if (!strncmp(json_object_get_string(v), "/_codeload/", 11)) {
            codeload_seen++;
            assert_null(auth);
            assert_non_null(strstr(json_object_get_string(host), "localhost"));
        }
    }
    json_object_put(a_);
    assert_int_equal(api_seen, 1);
    assert_int_equal(codeload_seen, 1);
    wk_github_free(a);
    wk_redis_free(r);
}

static bool stop_after(void *ud)
{
    return sg_mono_ms() >= *(int64_t *)ud;
}

static void test_tarball_truncated_and_sink_error(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 100, 0);
    struct wk_github_error err;
    struct sink s;
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    s.zr = Z_OK;
    uint64_t bytes = 0;
    sim_do("POST", "/_sim/faults",
           "{\"path_prefix\":\"/repos/octo/hello/tarball\",\"truncate_after_bytes\":100}");
    assert_int_equal(wk_github_tarball(a, INST, REPO, SHA, sink_fn, &s, &bytes, &err), SG_ERR_HTTP);
    assert_true(sg_err_retryable(SG_ERR_HTTP));
    assert_true(bytes <= 100);
    assert_non_null(strstr(err.message, "truncated"));
    inflateEnd(&s.z);

    /* a consumer error aborts the download and is what the call returns */
    memset(&s, 0, sizeof s);
    s.fail_with = SG_ERR_PARSE;
    assert_int_equal(wk_github_tarball(a, INST, REPO, SHA, sink_fn, &s, &bytes, &err),
                     SG_ERR_PARSE);
    assert_int_equal(s.calls, 1);

    /* a download slower than the low-speed limit is aborted (retryable timeout) */
    struct wk_github_config cfg = {.api_url = api,
                                   .app_id = app_id,
                                   .app_key = app_key,
                                   .redis = r,
                                   .low_speed_limit = 5000,
                                   .low_speed_time_s = 1};
    char ebuf[200];
    struct wk_github *slow = wk_github_new(&cfg, ebuf, sizeof ebuf);
    assert_non_null(slow);
    sim_do("POST", "/_sim/faults",
           "{\"path_prefix\":\"/repos/octo/hello/tarball\",\"bytes_per_s\":300}");
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    s.zr = Z_OK;
    int64_t t0 = sg_mono_ms();
    assert_int_equal(wk_github_tarball(slow, INST, REPO, SHA, sink_fn, &s, &bytes, &err),
                     SG_ERR_TIMEOUT);
    assert_true(sg_mono_ms() - t0 < 4000);
    assert_true(sg_err_retryable(SG_ERR_TIMEOUT));
    inflateEnd(&s.z);
    wk_github_free(slow);

    /* the caller's stop hook ends a slow download quickly (SIGTERM) */
    static int64_t stop_at;
    stop_at = sg_mono_ms() + 300;
    cfg.low_speed_limit = 0;
    cfg.should_stop = stop_after;
    cfg.should_stop_ud = &stop_at;
    struct wk_github *stoppable = wk_github_new(&cfg, ebuf, sizeof ebuf);
    sim_do("POST", "/_sim/faults",
           "{\"path_prefix\":\"/repos/octo/hello/tarball\",\"bytes_per_s\":100}");
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    s.zr = Z_OK;
    t0 = sg_mono_ms();
    assert_int_equal(wk_github_tarball(stoppable, INST, REPO, SHA, sink_fn, &s, &bytes, &err),
                     SG_ERR_SHUTDOWN);
    assert_true(sg_mono_ms() - t0 < 2500);
    inflateEnd(&s.z);
    wk_github_free(stoppable);

    /* a repository the installation cannot see: permanent */
    assert_int_equal(wk_github_tarball(a, INST, "someone/else", SHA, sink_fn, &s, &bytes, &err),
                     SG_ERR_NOT_FOUND);
    assert_false(sg_err_retryable(SG_ERR_NOT_FOUND));
    wk_github_free(a);
    wk_redis_free(r);
}

static void test_5xx_is_upstream(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 100, 0);
    struct wk_github_error err;
    int64_t id;
    char tok[128];
    assert_int_equal(wk_github_installation_token(a, INST, tok, sizeof tok, &err), SG_OK);
    sim_do("POST", "/_sim/faults",
           "[{\"method\":\"POST\",\"path_prefix\":\"/repos/\",\"status\":500},"
           "{\"method\":\"POST\",\"path_prefix\":\"/repos/\",\"status\":502,\"retry_after\":4}]");
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "5", NULL, &id, &err),
                     SG_ERR_UPSTREAM);
    assert_int_equal(err.http_status, 500);
    assert_int_equal(err.retry_at_ms, 0);
    int64_t now = sg_now_ms();
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "5", NULL, &id, &err),
                     SG_ERR_UPSTREAM);
    assert_int_equal(err.http_status, 502);
    assert_true(err.retry_at_ms >= now + 3000 && err.retry_at_ms <= now + 5000);
    assert_true(sg_err_retryable(SG_ERR_UPSTREAM));
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "5", NULL, &id, &err), SG_OK);
    /* metrics counted every answer by code */
    const char *l500[] = {"500"}, *l201[] = {"201"};
    assert_true(sg_metric_value(m_requests, l500) >= 1);
    assert_true(sg_metric_value(m_requests, l201) >= 1);
    assert_true(sg_metric_value(m_remaining, NULL) > 0 &&
                sg_metric_value(m_remaining, NULL) < 5000);
    wk_github_free(a);
    wk_redis_free(r);
}

static void test_rate_limits_reschedule_fleet_wide(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 100, 0), *b = client(r, app_key, 100, 0);
    struct wk_github_error err;
    int64_t id;
    char tok[128];
    assert_int_equal(wk_github_installation_token(a, INST, tok, sizeof tok, &err), SG_OK);

    /* 429 + Retry-After */
    sim_do("POST", "/_sim/faults",
           "{\"method\":\"POST\",\"path_prefix\":\"/repos/\",\"status\":429,\"retry_after\":1}");
    int64_t t0 = sg_now_ms();
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "6", NULL, &id, &err),
                     SG_ERR_RATE_LIMITED);
    assert_true(err.retry_at_ms >= t0 + 900 && err.retry_at_ms <= sg_now_ms() + 1100);
    /* another worker does not even ask GitHub before that time (no sleeping inside the call) */
    int before = count_requests("POST", "/repos/", -1);
    int64_t t1 = sg_mono_ms();
    assert_int_equal(wk_github_checkrun_create(b, INST, REPO, SHA, "6", NULL, &id, &err),
                     SG_ERR_RATE_LIMITED);
    assert_true(sg_mono_ms() - t1 < 800); /* no waiting out the 1 s limit */
    assert_true(err.retry_at_ms > sg_now_ms());
    assert_int_equal(count_requests("POST", "/repos/", -1), before);
    /* another installation is not affected */
    char tok8[128];
    assert_int_equal(wk_github_installation_token(b, INST2, tok8, sizeof tok8, &err), SG_OK);
    /* after the time, it works */
    struct timespec ts = {1, 200000000};
    nanosleep(&ts, NULL);
    assert_int_equal(wk_github_checkrun_create(b, INST, REPO, SHA, "6", NULL, &id, &err), SG_OK);

    /* 403 secondary limit with Retry-After */
    sim_do("POST", "/_sim/faults",
           "{\"path_prefix\":\"/repos/\",\"status\":403,\"secondary\":true,\"retry_after\":30}");
    t0 = sg_now_ms();
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "7", NULL, &id, &err),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(err.http_status, 403);
    assert_true(err.retry_at_ms >= t0 + 29000 && err.retry_at_ms <= t0 + 31500);
    redisReply *rep = wk_redis_command(r, "PTTL github:limited:7");
    assert_true(rep->integer > 25000);
    freeReplyObject(rep);
    redis_cmd(r, "DEL github:limited:7");

    /* primary limit: 403 + X-RateLimit-Remaining: 0 + X-RateLimit-Reset */
    sim_do("POST", "/_sim/faults",
           "{\"path_prefix\":\"/repos/\",\"status\":403,\"rate_limit_reset_in\":120}");
    t0 = sg_now_ms();
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "8", NULL, &id, &err),
                     SG_ERR_RATE_LIMITED);
    assert_true(err.retry_at_ms >= t0 + 118000 && err.retry_at_ms <= t0 + 122000);
    assert_int_equal(sg_metric_value(m_remaining, NULL), 0);
    redis_cmd(r, "DEL github:limited:7");

    /* a success that used the hour's last request: the next one waits for the reset, unasked */
    sim_do("POST", "/_sim/faults", "{\"path_prefix\":\"/repos/\",\"rate_limit_reset_in\":90}");
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "8b", NULL, &id, &err), SG_OK);
    before = count_requests("POST", "/repos/", -1);
    t0 = sg_now_ms();
    assert_int_equal(wk_github_checkrun_create(b, INST, REPO, SHA, "8c", NULL, &id, &err),
                     SG_ERR_RATE_LIMITED);
    assert_true(err.retry_at_ms >= t0 + 88000 && err.retry_at_ms <= t0 + 92000);
    assert_int_equal(count_requests("POST", "/repos/", -1), before);
    redis_cmd(r, "DEL github:limited:7");

    /* a plain 403 (lost permission) is permanent */
    sim_do("POST", "/_sim/faults", "{\"path_prefix\":\"/repos/\",\"status\":403}");
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "9", NULL, &id, &err),
                     SG_ERR_AUTH);
    assert_false(sg_err_retryable(SG_ERR_AUTH));
    wk_github_free(a);
    wk_github_free(b);
    wk_redis_free(r);
}

#define GATE_WINDOW_MS 1000 /* github.c's GATE_REUSE_MS */

/* Calls of a script in Redis so far (INFO commandstats), to count gate round trips. */
static long long evalsha_calls(struct wk_redis *r)
{
    redisReply *rep = wk_redis_command(r, "INFO commandstats");
    assert_non_null(rep);
    const char *p =
        rep->type == REDIS_REPLY_STRING ? strstr(rep->str, "cmdstat_evalsha:calls=") : NULL;
    long long n = p ? atoll(p + strlen("cmdstat_evalsha:calls=")) : 0;
    freeReplyObject(rep);
    return n;
}

static void test_read_reuses_a_recent_gate(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 0, 0);
    struct wk_github_error err;
    int64_t id;
    struct sink s;
    uint64_t bytes = 0;
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "g1", NULL, &id, &err), SG_OK);
    /* the tarball right after the check run: no second gate round trip */
    long long before = evalsha_calls(r);
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    assert_int_equal(wk_github_tarball(a, INST, REPO, SHA, sink_fn, &s, &bytes, &err), SG_OK);
    inflateEnd(&s.z);
    assert_int_equal(evalsha_calls(r), before);
    /* a mutating request is always gated: a limit another worker recorded stops it, unasked */
    redis_cmd(r, "SET github:limited:7 99999999999999 PX 60000");
    int posts = count_requests("POST", "/repos/", -1);
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "g2", NULL, &id, &err),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(count_requests("POST", "/repos/", -1), posts);
    /* this worker's own limit ends the reuse at once: the next read asks Redis and is refused */
    redis_cmd(r, "DEL github:limited:7");
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "g3", NULL, &id, &err), SG_OK);
    sim_do("POST", "/_sim/faults",
           "{\"method\":\"GET\",\"path_prefix\":\"/repos/\",\"status\":429,\"retry_after\":30}");
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    assert_int_equal(wk_github_tarball(a, INST, REPO, SHA, sink_fn, &s, &bytes, &err),
                     SG_ERR_RATE_LIMITED);
    inflateEnd(&s.z);
    sim_do("DELETE", "/_sim/faults", NULL);
    int gets = count_requests("GET", "/repos/", -1);
    before = evalsha_calls(r);
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    assert_int_equal(wk_github_tarball(a, INST, REPO, SHA, sink_fn, &s, &bytes, &err),
                     SG_ERR_RATE_LIMITED);
    inflateEnd(&s.z);
    assert_int_equal(evalsha_calls(r), before + 1);
    assert_int_equal(count_requests("GET", "/repos/", -1), gets);
    wk_github_free(a);
    wk_redis_free(r);
}

/* Sleeps until ms after t0 (sg_now_ms). */
static void sleep_until(int64_t t0, int64_t ms)
{
    int64_t left = t0 + ms - sg_now_ms();
    struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
    if (left > 0)
        while (nanosleep(&ts, &ts) != 0) {
        }
}

/* With pacing off (GITHUB_PACE_MS=-1) a mutating request takes no pacing slot, so it reuses a
 * recent gate like a read. The window counts from the pass through Redis and is never extended by
 * a reuse, so a limit another worker records is seen within GATE_REUSE_MS (1 s). */
static void test_unpaced_requests_reuse_a_recent_gate(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, -1, 0);
    struct wk_github_error err;
    int64_t id, t0 = sg_now_ms();
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "u1", NULL, &id, &err), SG_OK);
    int64_t t1 = sg_now_ms(); /* the pass was made between t0 and t1 */
    long long before = evalsha_calls(r);
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "u2", NULL, &id, &err), SG_OK);
    assert_int_equal(evalsha_calls(r), before);
    /* another worker's limit, recorded inside the window: not seen yet... */
    redis_cmd(r, "SET github:limited:7 99999999999999 PX 60000");
    sleep_until(t0, 600);
    if (sg_now_ms() - t0 < 900) { /* (a very slow machine may already be past the window) */
        assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "u3", NULL, &id, &err),
                         SG_OK);
        assert_int_equal(evalsha_calls(r), before);
    }
    /* ...but seen once the window since the pass ends, although u3 reused it later */
    sleep_until(t1, GATE_WINDOW_MS + 50);
    int posts = count_requests("POST", "/repos/", -1);
    assert_int_equal(wk_github_checkrun_create(a, INST, REPO, SHA, "u4", NULL, &id, &err),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(count_requests("POST", "/repos/", -1), posts);
    assert_int_equal(evalsha_calls(r), before + 1);
    wk_github_free(a);
    wk_redis_free(r);
}

struct pacer {
    int n;
    enum sg_err last;
};

#define PACE_MS 250

static void *pace_thread(void *arg)
{
    struct pacer *p = arg;
    struct wk_redis *r = redis_connect();
    struct wk_github *gh = client(r, app_key, PACE_MS, 0);
    struct wk_github_error err;
    p->last = SG_OK;
    for (int i = 0; i < p->n && p->last == SG_OK; i++) {
        int64_t id;
        p->last = wk_github_checkrun_create(gh, INST, REPO, SHA, "p", NULL, &id, &err);
    }
    wk_github_free(gh);
    wk_redis_free(r);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_pacing_across_two_clients(void **state)
{
    /* warm the token cache so only check-run creations are timed */
    struct wk_redis *r = redis_connect();
    struct wk_github *w = client(r, app_key, PACE_MS, 0);
    struct wk_github_error err;
    char tok[128];
    assert_int_equal(wk_github_installation_token(w, INST, tok, sizeof tok, &err), SG_OK);
    wk_github_free(w);
    wk_redis_free(r);
    sim_do("DELETE", "/_sim/requests", NULL);

    pthread_t t1, t2;
    struct pacer p1 = {4, SG_OK}, p2 = {4, SG_OK};
    pthread_create(&t1, NULL, pace_thread, &p1);
    pthread_create(&t2, NULL, pace_thread, &p2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(p1.last, SG_OK);
    assert_int_equal(p2.last, SG_OK);
    struct json_object *a = requests(), *v;
    int64_t ts[16];
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(a) && n < 16; i++) {
        struct json_object *q = json_object_array_get_idx(a, i);
        json_object_object_get_ex(q, "method", &v);
        if (strcmp(json_object_get_string(v), "POST"))
            continue;
        json_object_object_get_ex(q, "ts_ms", &v);
        ts[n++] = json_object_get_int64(v);
    }
    json_object_put(a);
    assert_int_equal(n, 8);
    qsort(ts, n, sizeof ts[0], cmp_i64);
    /* the gate hands out slots PACE_MS apart; arrival at the simulator adds some jitter on a
     * loaded machine, so allow 100 ms per gap but require the whole span */
    if (ts[n - 1] - ts[0] < (int64_t)(n - 1) * PACE_MS - 200)
        fail_msg("8 mutating requests took only %lld ms", (long long)(ts[n - 1] - ts[0]));
    for (size_t i = 1; i < n; i++) {
        if (ts[i] - ts[i - 1] < PACE_MS - 100)
            fail_msg("mutating requests %zu and %zu only %lld ms apart", i - 1, i,
                     (long long)(ts[i] - ts[i - 1]));
    }
}

static void fill_output(struct wk_checkrun_output *out, size_t n)
{
    memset(out, 0, sizeof *out);
    out->conclusion = "failure";
    out->title = strdup("Quality 3.2/10 · 120 findings");
    out->summary = strdup("## Quality 3.2/10\n\nsummary");
    out->annotations = calloc(n, sizeof *out->annotations);
    out->nannotations = n;
    for (size_t i = 0; i < n; i++) {
        char m[64];
        snprintf(m, sizeof m, "finding %zu", i);
        out->annotations[i].path = strdup("src/main.c");
        out->annotations[i].start_line = out->annotations[i].end_line = (uint32_t)i + 1;
        out->annotations[i].annotation_level = i % 3 == 0   ? "failure"
                                               : i % 3 == 1 ? "warning"
                                                            : "notice";
        out->annotations[i].title = strdup("STY001 Long line");
        out->annotations[i].message = strdup(m);
    }
}

static struct json_object *sim_checkrun(int64_t id)
{
    char *s = sim("GET", "/_sim/check-runs", NULL);
    struct json_object *a = json_tokener_parse(s), *v, *found = NULL;
    free(s);
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        struct json_object *c = json_object_array_get_idx(a, i);
        if (json_object_object_get_ex(c, "id", &v) && json_object_get_int64(v) == id)
            found = json_object_get(c);
    }
    json_object_put(a);
    assert_non_null(found);
    return found;
}

static size_t annotations_of(struct json_object *c)
{
    struct json_object *v;
    assert_true(json_object_object_get_ex(c, "annotations", &v));
    return json_object_array_length(v);
}

static void test_annotation_batches(void **state)
{
    struct wk_redis *r = redis_connect();
    struct wk_github *a = client(r, app_key, 20, 0);
    struct wk_github_error err;
    int64_t id;
    assert_int_equal(
        wk_github_checkrun_create(a, INST, REPO, SHA, "b", "https://example.com/a/1", &id, &err),
        SG_OK);
    struct wk_checkrun_output out;
    fill_output(&out, 120);
    /* the first PATCH fails (GitHub 500): retryable, nothing counted as sent */
    sim_do("POST", "/_sim/faults",
           "{\"method\":\"PATCH\",\"path_prefix\":\"/repos/\",\"status\":500}");
    assert_int_equal(wk_github_checkrun_complete(a, INST, REPO, id, &out, false, &err),
                     SG_ERR_UPSTREAM);
    sim_do("DELETE", "/_sim/requests", NULL);
    assert_int_equal(wk_github_checkrun_complete(a, INST, REPO, id, &out, false, &err), SG_OK);
    assert_int_equal(count_requests("PATCH", "/repos/octo/hello/check-runs/", 200),
                     3); /* 50+50+20 */
    struct json_object *c = sim_checkrun(id), *v;
    assert_int_equal(annotations_of(c), 120);
    json_object_object_get_ex(c, "status", &v);
    assert_string_equal(json_object_get_string(v), "completed");
    json_object_object_get_ex(c, "conclusion", &v);
    assert_string_equal(json_object_get_string(v), "failure");
    json_object_object_get_ex(c, "details_url", &v);
    assert_string_equal(json_object_get_string(v), "https://example.com/a/1");
    json_object_put(c);
    /* a retried completion (say the worker died after the last PATCH) sends no annotation twice */
    assert_int_equal(wk_github_checkrun_complete(a, INST, REPO, id, &out, false, &err), SG_OK);
    c = sim_checkrun(id);
    assert_int_equal(annotations_of(c), 120);
    json_object_put(c);
    wk_github_free(a);

    /* the configured total caps what is sent */
    struct wk_github *capped = client(r, app_key, 20, 60);
    assert_int_equal(wk_github_checkrun_create(capped, INST, REPO, SHA, "c", NULL, &id, &err),
                     SG_OK);
    assert_int_equal(wk_github_checkrun_complete(capped, INST, REPO, id, &out, false, &err), SG_OK);
    c = sim_checkrun(id);
    assert_int_equal(annotations_of(c), 60);
    json_object_put(c);
    /* new_run: a check run created in the same attempt has no annotations yet, so GitHub is not
     * asked how many it holds (no GET before the PATCHes) */
    assert_int_equal(wk_github_checkrun_create(capped, INST, REPO, SHA, "d", NULL, &id, &err),
                     SG_OK);
    sim_do("DELETE", "/_sim/requests", NULL);
    assert_int_equal(wk_github_checkrun_complete(capped, INST, REPO, id, &out, true, &err), SG_OK);
    assert_int_equal(count_requests("GET", "/repos/octo/hello/check-runs/", -1), 0);
    c = sim_checkrun(id);
    assert_int_equal(annotations_of(c), 60);
    json_object_put(c);

    /* a PATCH applied whose answer is lost (the connection closes without a byte): the failure
     * comes back, the PATCH was sent once (libcurl did not silently send it again on a new
     * connection), and the next call counts what GitHub holds instead of sending it twice */
    struct wk_github *lost = client(r, app_key, 20, 0);
    assert_int_equal(wk_github_checkrun_create(lost, INST, REPO, SHA, "e", NULL, &id, &err), SG_OK);
    /* the connection is now warm: the PATCH below would go on it unless mutations connect anew */
    assert_int_equal(wk_github_installation_token(lost, INST, (char[128]){0}, 128, &err), SG_OK);
    sim_do("DELETE", "/_sim/requests", NULL);
    sim_do("POST", "/_sim/faults",
           "{\"method\":\"PATCH\",\"path_prefix\":\"/repos/\",\"drop_answer\":true,"
           "\"count\":2}");
    assert_int_equal(wk_github_checkrun_complete(lost, INST, REPO, id, &out, true, &err),
                     SG_ERR_HTTP);
    assert_int_equal(count_requests("PATCH", "/repos/octo/hello/check-runs/", -1), 1);
    c = sim_checkrun(id);
    assert_int_equal(annotations_of(c), 50); /* the first batch was applied */
    json_object_put(c);
    /* the second PATCH (the first one of the retry, completing from 50 on) loses its answer too */
    assert_int_equal(wk_github_checkrun_complete(lost, INST, REPO, id, &out, false, &err),
                     SG_ERR_HTTP);
    assert_int_equal(wk_github_checkrun_complete(lost, INST, REPO, id, &out, false, &err), SG_OK);
    c = sim_checkrun(id);
    assert_int_equal(annotations_of(c), 120);
    json_object_put(c);
    wk_github_free(lost);

    /* unknown check run: permanent */
    assert_int_equal(wk_github_checkrun_complete(capped, INST, REPO, 12345, &out, false, &err),
                     SG_ERR_NOT_FOUND);

    /* a permanent failure, with and without an existing check run */
    assert_int_equal(wk_github_checkrun_fail(capped, INST, REPO, SHA, id, NULL,
                                             "The repository could not be downloaded.", &err),
                     SG_OK);
    int64_t before = id;
    assert_int_equal(wk_github_checkrun_fail(capped, INST, REPO, SHA, 0, "Analysis failed: archive",
                                             "Corrupt archive.", &err),
                     SG_OK);
    char *s = sim("GET", "/_sim/check-runs", NULL);
    struct json_object *all = json_tokener_parse(s);
    free(s);
    struct json_object *last = json_object_array_get_idx(all, json_object_array_length(all) - 1);
    json_object_object_get_ex(last, "id", &v);
    assert_true(json_object_get_int64(v) > before);
    json_object_object_get_ex(last, "conclusion", &v);
    assert_string_equal(json_object_get_string(v), "failure");
    json_object_put(all);

    /* only valid UTF-8 goes out (the simulator, like GitHub, answers anything else with 400):
     * a failure title and message longer than GitHub's limits with a character across each cut,
     * and a job string (the external id) that is not UTF-8 */
    char title[WK_CHECKRUN_TITLE_MAX + 8], msg[WK_CHECKRUN_SUMMARY_MAX + 8];
    memset(title, 't', WK_CHECKRUN_TITLE_MAX - 1);
    snprintf(title + WK_CHECKRUN_TITLE_MAX - 1, 8, "\xC3\xA9");
    memset(msg, 'm', WK_CHECKRUN_SUMMARY_MAX - 2);
    snprintf(msg + WK_CHECKRUN_SUMMARY_MAX - 2, 8, "\xE2\x82\xAC");
    assert_int_equal(wk_github_checkrun_fail(capped, INST, REPO, SHA, 0, title, msg, &err), SG_OK);
    assert_int_equal(
        wk_github_checkrun_create(capped, INST, REPO, SHA, "ext-\xFF\xFE", NULL, &id, &err), SG_OK);
    wk_checkrun_output_free(&out);
    wk_github_free(capped);
    wk_redis_free(r);
}

static enum sg_err count_repo(void *ud, const struct wk_github_repo *repo)
{
    struct sg_buf *b = ud;
    return sg_buf_printf(b, "%s;", repo->full_name);
}

static void test_installation_and_repos(void **state)
{
    struct wk_github *a = client(NULL, app_key, 20, 0);
    struct wk_github_error err;
    struct wk_github_installation in;
    assert_int_equal(wk_github_installation_get(a, INST, &in, &err), SG_OK);
    assert_int_equal(in.id, INST);
    assert_string_equal(in.account_login, "octo");
    assert_false(in.suspended);
    assert_int_equal(wk_github_installation_get(a, 99, &in, &err), SG_ERR_NOT_FOUND);
    struct sg_buf b;
    sg_buf_init(&b, 4096);
    /* the simulator serves 2 per page: 3 repositories take 2 pages */
    assert_int_equal(wk_github_installation_repos(a, INST, count_repo, &b, &err), SG_OK);
    assert_string_equal(sg_buf_str(&b), "octo/hello;octo/other;octo/third;");
    assert_int_equal(count_requests("GET", "/installation/repositories", 200), 2);
    /* a next link to another host is not followed: the installation token stays on the API host
     * (the simulator would answer there too, so a followed link would be a third request) */
    sim_do("POST", "/_sim/faults",
           "{\"path_prefix\":\"/installation/repositories\",\"foreign_link\":true}");
    sg_buf_reset(&b);
    assert_int_equal(wk_github_installation_repos(a, INST, count_repo, &b, &err), SG_ERR_PARSE);
    assert_non_null(strstr(err.message, "another host"));
    assert_int_equal(count_requests("GET", "/installation/repositories", 200), 3);
    /* a 200 whose list is not a list: a parse error naming what is missing, no callback */
    sim_do("POST", "/_sim/faults",
           "{\"path_prefix\":\"/installation/repositories\",\"status\":200,"
           "\"body\":\"{\\\"repositories\\\":{}}\"}");
    sg_buf_reset(&b);
    assert_int_equal(wk_github_installation_repos(a, INST, count_repo, &b, &err), SG_ERR_PARSE);
    assert_non_null(strstr(err.message, "no repositories"));
    assert_int_equal(b.len, 0);
    sg_buf_free(&b);
    wk_github_free(a);
}

static void test_redeliver_failed(void **state)
{
    int64_t now = sg_now_ms() / 1000;
    char body[2048];
    /* g1 failed then succeeded on redelivery; g2 failed twice (newest attempt id 4); g3 fine;
     * g5 failed with no answer at all; g4 failed long ago (outside --since) */
    snprintf(
        body, sizeof body,
        "[{\"id\":1,\"guid\":\"g1\",\"status_code\":503,\"delivered_at\":%lld,\"event\":\"push\"},"
        "{\"id\":2,\"guid\":\"g1\",\"status_code\":202,\"delivered_at\":%lld,\"event\":\"push\","
        "\"redelivery\":true},"
        "{\"id\":3,\"guid\":\"g2\",\"status_code\":502,\"delivered_at\":%lld,\"event\":\"pull_"
        "request\"},"
        "{\"id\":4,\"guid\":\"g2\",\"status_code\":500,\"delivered_at\":%lld,\"event\":\"pull_"
        "request\",\"redelivery\":true},"
        "{\"id\":5,\"guid\":\"g3\",\"status_code\":200,\"delivered_at\":%lld,\"event\":\"push\"},"
        "{\"id\":6,\"guid\":\"g5\",\"status_code\":0,\"delivered_at\":%lld,\"event\":\"check_"
        "suite\"},"
        "{\"id\":7,\"guid\":\"g4\",\"status_code\":503,\"delivered_at\":%lld,\"event\":\"push\"}]",
        (long long)(now - 500), (long long)(now - 400), (long long)(now - 300),
        (long long)(now - 200), (long long)(now - 100), (long long)(now - 50),
        (long long)(now - 3 * 86400));
    sim_do("POST", "/_sim/deliveries", body);
    struct wk_github *a = client(NULL, app_key, 20, 0);
    struct wk_github_error err;
    struct wk_redeliver_stats st;
    assert_int_equal(wk_redeliver_failed(a, now - 3600, true, &st, &err), SG_OK);
    assert_int_equal(st.listed, 6);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.redelivered, 0);
    assert_int_equal(count_requests("POST", "/app/hook/deliveries/", -1), 0);
    /* stops paging once older than the cut-off: 7 deliveries, 2 per page, 4 pages at most */
    assert_true(count_requests("GET", "/app/hook/deliveries", 200) <= 4);
    assert_int_equal(wk_redeliver_failed(a, now - 3600, false, &st, &err), SG_OK);
    assert_int_equal(st.redelivered, 2);
    assert_int_equal(st.errors, 0);
    assert_int_equal(count_requests("POST", "/app/hook/deliveries/4/attempts", 202), 1);
    assert_int_equal(count_requests("POST", "/app/hook/deliveries/6/attempts", 202), 1);
    assert_int_equal(count_requests("POST", "/app/hook/deliveries/", -1), 2);
    assert_int_equal(wk_github_delivery_redeliver(a, 999, &err), SG_ERR_NOT_FOUND);
    wk_github_free(a);
}

/* GitHub Enterprise Server: the API lives under /api/v3 on the server's own host. */
static void test_enterprise_server_prefix(void **state)
{
    const char *ghes = getenv("GHES_API_URL");
    assert_non_null(ghes);
    assert_non_null(strstr(ghes, "/api/v3"));
    struct wk_github_config cfg = {
        .api_url = ghes, .app_id = app_id, .app_key = app_key, .pace_ms = 10};
    char ebuf[200];
    struct wk_github *gh = wk_github_new(&cfg, ebuf, sizeof ebuf);
    assert_non_null(gh);
    struct wk_github_error err;
    int64_t id = 0;
    assert_int_equal(wk_github_checkrun_create(gh, INST, REPO, SHA, "ghes", NULL, &id, &err),
                     SG_OK);
    assert_true(id > 0);
    struct sg_buf b;
    sg_buf_init(&b, 4096);
    /* that server pages one repository at a time: the Link URLs carry /api/v3 */
    assert_int_equal(wk_github_installation_repos(gh, INST, count_repo, &b, &err), SG_OK);
    assert_string_equal(sg_buf_str(&b), "octo/hello;octo/other;");
    sg_buf_free(&b);
    struct sink s;
    memset(&s, 0, sizeof s);
    inflateInit2(&s.z, 15 + 16);
    s.zr = Z_OK;
    uint64_t bytes = 0;
    assert_int_equal(wk_github_tarball(gh, INST, REPO, SHA, sink_fn, &s, &bytes, &err), SG_OK);
    assert_int_equal(s.zr, Z_STREAM_END);
    inflateEnd(&s.z);
    struct wk_redeliver_stats st;
    assert_int_equal(wk_redeliver_failed(gh, 0, true, &st, &err), SG_OK);
    wk_github_free(gh);
}

int main(void)
{
    api = getenv("GITHUB_API_URL");
    const char *port = getenv("REDIS_PORT");
    const char *key = getenv("PRIVATE_KEY_PATH");
    const char *other = getenv("SG_OTHER_KEY");
    app_id = getenv("APP_ID");
    if (!api || !port || !key || !other || !app_id) {
        fprintf(stderr, "run by wk_github_client.sh (needs GITHUB_API_URL, REDIS_PORT, APP_ID, "
                        "PRIVATE_KEY_PATH, SG_OTHER_KEY)\n");
        return 2;
    }
    int64_t p;
    if (!sg_parse_i64(port, 1, 65535, &p))
        return 2;
    redis_port = (int)p;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    app_key = load_key(key);
    other_key = load_key(other);
    metrics = sg_metrics_new();
    m_requests =
        sg_metrics_counter(metrics, "singularity_github_requests_total", "GitHub requests", "code");
    m_remaining =
        sg_metrics_gauge(metrics, "singularity_github_ratelimit_remaining", "remaining", NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_token_cached_in_redis_and_shared, reset),
        cmocka_unit_test_setup(test_401_refreshes_once, reset),
        cmocka_unit_test_setup(test_wrong_app_key_is_auth_error, reset),
        cmocka_unit_test_setup(test_tarball_streamed_without_leaking_token, reset),
        cmocka_unit_test_setup(test_tarball_truncated_and_sink_error, reset),
        cmocka_unit_test_setup(test_5xx_is_upstream, reset),
        cmocka_unit_test_setup(test_rate_limits_reschedule_fleet_wide, reset),
        cmocka_unit_test_setup(test_read_reuses_a_recent_gate, reset),
        cmocka_unit_test_setup(test_unpaced_requests_reuse_a_recent_gate, reset),
        cmocka_unit_test_setup(test_pacing_across_two_clients, reset),
        cmocka_unit_test_setup(test_annotation_batches, reset),
        cmocka_unit_test_setup(test_installation_and_repos, reset),
        cmocka_unit_test_setup(test_redeliver_failed, reset),
        cmocka_unit_test(test_enterprise_server_prefix),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sg_metrics_free(metrics);
    sg_pkey_free(app_key);
    sg_pkey_free(other_key);
    curl_global_cleanup();
    return rc;
}
