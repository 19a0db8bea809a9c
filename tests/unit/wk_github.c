/* Why: the GitHub client's decisions that need no server: which answers are retryable and when a
 * retry is allowed (Retry-After as seconds or an HTTP date, X-RateLimit-Reset on a primary limit,
 * a minute for a silent secondary limit), GitHub's message kept on one line, Link-header
 * pagination, and the config checks. The client's I/O is tested against the simulator
 * (tests/integration/wk_github_client.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wk_github.h"

#define NOW 1764182400000LL

static void test_success(void **state)
{
    struct wk_github_error e;
    assert_int_equal(wk_github_classify(200, NULL, "4999", "1764186000", "{}", NOW, &e), SG_OK);
    assert_int_equal(e.http_status, 200);
    assert_int_equal(e.retry_at_ms, 0);
    assert_int_equal(wk_github_classify(302, NULL, NULL, NULL, NULL, NOW, &e), SG_OK);
}

static void test_5xx(void **state)
{
    struct wk_github_error e;
    assert_int_equal(
        wk_github_classify(500, NULL, NULL, NULL, "{\"message\":\"Server Error\"}", NOW, &e),
        SG_ERR_UPSTREAM);
    assert_int_equal(e.retry_at_ms, 0); /* the caller's backoff */
    assert_string_equal(e.message, "GitHub 500: Server Error");
    assert_int_equal(wk_github_classify(502, "5", NULL, NULL, "<html>bad gateway</html>", NOW, &e),
                     SG_ERR_UPSTREAM);
    assert_int_equal(e.retry_at_ms, NOW + 5000);
    assert_string_equal(e.message, "GitHub 502: no message");
    assert_true(sg_err_retryable(SG_ERR_UPSTREAM));
}

static void test_429_retry_after(void **state)
{
    struct wk_github_error e;
    assert_int_equal(wk_github_classify(429, "30", NULL, NULL, NULL, NOW, &e), SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW + 30000);
    /* Retry-After as an HTTP date (RFC 9110) */
    assert_int_equal(wk_github_classify(429, "Wed, 26 Nov 2025 18:40:00 GMT", NULL, NULL, NULL,
                                        1764182400000LL - 30000, &e),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, 1764182400000LL);
    /* hostile values (found by fuzzing: seconds * 1000 overflowed): clamped to an hour */
    assert_int_equal(wk_github_classify(429, "742555555555555429", NULL, NULL, NULL, NOW, &e),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW + 3600000);
    assert_int_equal(wk_github_classify(403, NULL, "0", "9223372036854775807",
                                        "{\"message\":\"API rate limit exceeded\"}", NOW, &e),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW + 60000);
    assert_int_equal(
        wk_github_classify(429, "Fri, 31 Dec 9999 23:59:59 GMT", NULL, NULL, NULL, NOW, &e),
        SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW + 3600000);
    /* 429 without any hint: a minute */
    assert_int_equal(wk_github_classify(429, NULL, NULL, NULL, NULL, NOW, &e), SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW + 60000);
    assert_true(sg_err_retryable(SG_ERR_RATE_LIMITED));
}

static void test_403_kinds(void **state)
{
    struct wk_github_error e;
    /* primary limit: remaining 0 and the reset time */
    assert_int_equal(wk_github_classify(403, NULL, "0", "1764182460",
                                        "{\"message\":\"API rate limit exceeded\"}", NOW, &e),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, 1764182460000LL);
    /* secondary limit with and without Retry-After */
    const char *sec =
        "{\"message\":\"You have exceeded a secondary rate limit. Please wait a few minutes.\"}";
    assert_int_equal(wk_github_classify(403, "7", "4000", "1764186000", sec, NOW, &e),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW + 7000);
    assert_int_equal(wk_github_classify(403, NULL, "4000", "1764186000", sec, NOW, &e),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW + 60000);
    /* a plain 403: lost permission, permanent */
    assert_int_equal(wk_github_classify(403, NULL, "4000", "1764186000",
                                        "{\"message\":\"Resource not accessible by integration\"}",
                                        NOW, &e),
                     SG_ERR_AUTH);
    assert_int_equal(e.retry_at_ms, 0);
    assert_false(sg_err_retryable(SG_ERR_AUTH));
    /* a reset already in the past never schedules into the past */
    assert_int_equal(wk_github_classify(403, NULL, "0", "1000", NULL, NOW, &e),
                     SG_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_at_ms, NOW);
}

static void test_permanent(void **state)
{
    struct wk_github_error e;
    assert_int_equal(
        wk_github_classify(401, NULL, NULL, NULL, "{\"message\":\"Bad credentials\"}", NOW, &e),
        SG_ERR_AUTH);
    assert_int_equal(
        wk_github_classify(404, NULL, NULL, NULL, "{\"message\":\"Not Found\"}", NOW, &e),
        SG_ERR_NOT_FOUND);
    assert_int_equal(wk_github_classify(410, NULL, NULL, NULL, NULL, NOW, &e), SG_ERR_NOT_FOUND);
    assert_false(sg_err_retryable(SG_ERR_NOT_FOUND));
    assert_int_equal(
        wk_github_classify(
            422, NULL, NULL, NULL,
            "{\"message\":\"Invalid request.\\n\\nFor 'properties/name', nil is not a string.\"}",
            NOW, &e),
        SG_ERR_INVALID);
    /* one line for logs and check-run text */
    assert_null(strchr(e.message, '\n'));
    assert_non_null(strstr(e.message, "For 'properties/name'"));
    assert_int_equal(wk_github_classify(408, NULL, NULL, NULL, NULL, NOW, &e), SG_ERR_TIMEOUT);
    /* a long message is cut, never overflowing */
    char body[2000];
    memset(body, 'm', sizeof body);
    memcpy(body, "{\"message\":\"", 12);
    memcpy(body + sizeof body - 3, "\"}", 3);
    assert_int_equal(wk_github_classify(404, NULL, NULL, NULL, body, NOW, &e), SG_ERR_NOT_FOUND);
    assert_true(strlen(e.message) < sizeof e.message);
}

static void test_link_next(void **state)
{
    char out[256];
    const char *l =
        "<https://api.github.com/installation/repositories?per_page=100&page=2>; rel=\"next\", "
        "<https://api.github.com/installation/repositories?per_page=100&page=4>; rel=\"last\"";
    assert_true(wk_github_link_next(l, out, sizeof out));
    assert_string_equal(out,
                        "https://api.github.com/installation/repositories?per_page=100&page=2");
    const char *l2 = "<https://api.github.com/x?page=1>; rel=\"prev\", "
                     "<https://api.github.com/x?page=3>; rel=\"next\"";
    assert_true(wk_github_link_next(l2, out, sizeof out));
    assert_string_equal(out, "https://api.github.com/x?page=3");
    assert_false(
        wk_github_link_next("<https://api.github.com/x?page=1>; rel=\"prev\"", out, sizeof out));
    assert_false(wk_github_link_next("", out, sizeof out));
    assert_false(wk_github_link_next(NULL, out, sizeof out));
    assert_false(wk_github_link_next(l, out, 10)); /* does not fit: no truncated URL */
}

static void test_config(void **state)
{
    char err[200];
    struct wk_github_config c = {.api_url = "https://api.github.com", .app_id = "1"};
    assert_null(wk_github_new(&c, err, sizeof err)); /* no key */
    assert_non_null(strstr(err, "app_key"));
    assert_null(wk_github_new(NULL, err, sizeof err));
    wk_github_free(NULL);
}

/* The check run lookup refuses what could change its URL before any I/O (no client needed). */
static void test_checkrun_find_args(void **state)
{
    struct wk_github_error e;
    int64_t id = 99;
    assert_int_equal(wk_github_checkrun_find(NULL, 1, "acme/widgets", "abc", "5", &id, &e),
                     SG_ERR_INVALID);
    assert_string_equal(e.message, "bad arguments");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),         cmocka_unit_test(test_5xx),
        cmocka_unit_test(test_429_retry_after), cmocka_unit_test(test_403_kinds),
        cmocka_unit_test(test_permanent),       cmocka_unit_test(test_link_next),
        cmocka_unit_test(test_config),          cmocka_unit_test(test_checkrun_find_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
