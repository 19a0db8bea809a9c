/* Why: measures what the GitHub client's fleet-wide state costs per request — the Redis token
 * lookup and the pacing/limit gate (a Lua EVAL) — against the same client keeping that state in
 * process, side by side in one run against the simulator; plus tarball streaming throughput.
 * Run by scripts/bench-github.sh (by hand, not in CI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "wk_github.h"
#include "wk_redis.h"
#include "sg_config.h"
#include "sg_crypto.h"
#include "sg_time.h"

static enum sg_err count_repo(void *ud, const struct wk_github_repo *r)
{
    (*(int *)ud)++;
    return SG_OK;
}

static enum sg_err count_bytes(void *ud, const void *b, size_t len)
{
    *(uint64_t *)ud += len;
    return SG_OK;
}

static struct wk_github *client(const char *api, sg_pkey *key, struct wk_redis *r)
{
    struct wk_github_config c = {
        .api_url = api, .app_id = getenv("APP_ID"), .app_key = key, .redis = r, .pace_ms = -1};
    char err[256];
    struct wk_github *gh = wk_github_new(&c, err, sizeof err);
    if (!gh) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return gh;
}

static double run_gets(struct wk_github *gh, int n)
{
    struct wk_github_error e;
    int64_t t0 = sg_mono_us();
    for (int i = 0; i < n; i++) {
        int cnt = 0;
        if (wk_github_installation_repos(gh, 7, count_repo, &cnt, &e) != SG_OK || cnt != 2) {
            fprintf(stderr, "GET failed: %s\n", e.message);
            exit(1);
        }
    }
    return n / ((sg_mono_us() - t0) / 1e6);
}

static double run_creates(struct wk_github *gh, int n)
{
    struct wk_github_error e;
    int64_t t0 = sg_mono_us(), id;
    for (int i = 0; i < n; i++)
        if (wk_github_checkrun_create(gh, 7, "octo/hello",
                                      "0123456789abcdef0123456789abcdef01234567", "b", NULL, &id,
                                      &e) != SG_OK) {
            fprintf(stderr, "create failed: %s\n", e.message);
            exit(1);
        }
    return n / ((sg_mono_us() - t0) / 1e6);
}

int main(int argc, char **argv)
{
    int64_t n = 2000, port;
    if (argc > 1 && !sg_parse_i64(argv[1], 1, 1000000, &n))
        return 2;
    const char *api = getenv("GITHUB_API_URL"), *kp = getenv("PRIVATE_KEY_PATH");
    if (!api || !kp || !getenv("APP_ID") || !getenv("REDIS_PORT") ||
        !sg_parse_i64(getenv("REDIS_PORT"), 1, 65535, &port))
        return 2;
    FILE *f = fopen(kp, "r");
    char pem[16384], err[256];
    size_t l = f ? fread(pem, 1, sizeof pem - 1, f) : 0;
    if (f)
        fclose(f);
    pem[l] = '\0';
    sg_pkey *key = sg_pkey_load_pem(pem, err, sizeof err);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", (int)port);
    struct wk_redis *r = wk_redis_new(url, 2000, err, sizeof err);
    if (!key || !r || wk_redis_connect(r) != SG_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct wk_github *local = client(api, key, NULL), *shared = client(api, key, r);
    run_gets(local, 50); /* warm up: tokens, connections */
    run_gets(shared, 50);
    double g_local = 0, g_shared = 0, c_local = 0, c_shared = 0;
    for (int round = 0; round < 3; round++) { /* interleaved, best of 3 */
        double a = run_gets(local, (int)n), b = run_gets(shared, (int)n);
        double c = run_creates(local, (int)n / 4), d = run_creates(shared, (int)n / 4);
        g_local = a > g_local ? a : g_local;
        g_shared = b > g_shared ? b : g_shared;
        c_local = c > c_local ? c : c_local;
        c_shared = d > c_shared ? d : c_shared;
    }
    printf("GET  /installation/repositories: in-process state %.0f req/s, Redis state %.0f req/s "
           "(ratio %.2f)\n",
           g_local, g_shared, g_shared / g_local);
    printf("POST /repos/.../check-runs (pacing off): in-process %.0f req/s, Redis %.0f req/s "
           "(ratio %.2f)\n",
           c_local, c_shared, c_shared / c_local);
    uint64_t bytes = 0;
    struct wk_github_error e;
    int64_t t0 = sg_mono_us();
    int tars = 0;
    while (sg_mono_us() - t0 < 3000000) {
        if (wk_github_tarball(shared, 7, "octo/big", "0123456789abcdef0123456789abcdef01234567",
                              count_bytes, &bytes, NULL, &e) != SG_OK) {
            fprintf(stderr, "tarball failed: %s\n", e.message);
            return 1;
        }
        tars++;
    }
    double s = (sg_mono_us() - t0) / 1e6;
    printf("tarball (token lookup + redirect + stream into a sink): %d downloads, %.1f MB/s "
           "compressed\n",
           tars, bytes / s / 1e6);
    wk_github_free(local);
    wk_github_free(shared);
    wk_redis_free(r);
    sg_pkey_free(key);
    curl_global_cleanup();
    return 0;
}
