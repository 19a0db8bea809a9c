/* Why: the ingress parses HTTP itself, so framing must be exact: case-insensitive headers,
 * Content-Length vs chunked (and refusing both), keep-alive rules, RFC 9112's target forms and
 * status codes, and a chunked decoder that works byte by byte and enforces the body cap while
 * data streams in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ingress_http.h"

static enum ingress_http_result parse(const char *h, struct ingress_http_req *r)
{
    const char *reason = NULL;
    size_t end = ingress_http_head_end(h, strlen(h));
    assert_int_equal(end, strlen(h));
    return ingress_http_parse_head(h, strlen(h), r, &reason);
}

static void test_head(void **state)
{
    struct ingress_http_req r;
    assert_int_equal(parse("POST /webhooks/github?x=1 HTTP/1.1\r\nhost: a\r\n"
                           "x-github-EVENT: push\r\nX-GitHub-Delivery:  abc \r\n"
                           "X-HUB-SIGNATURE-256: sha256=00\r\ncontent-type: application/json; "
                           "charset=utf-8\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
                           &r),
                     INGRESS_HTTP_OK);
    assert_true(ingress_str_eq(r.method, "POST"));
    assert_true(ingress_str_eq(r.path, "/webhooks/github"));
    assert_true(ingress_str_eq(r.target, "/webhooks/github?x=1"));
    assert_true(ingress_str_eq(r.event, "push"));
    assert_true(ingress_str_eq(r.delivery, "abc"));
    assert_true(ingress_str_eq(r.signature, "sha256=00"));
    assert_true(ingress_str_eq(r.content_type, "application/json; charset=utf-8"));
    assert_true(r.has_length);
    assert_int_equal(r.content_length, 12);
    assert_true(r.keep_alive);
    assert_true(r.expect_continue);
    assert_int_equal(r.minor, 1);

    assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &r),
                     INGRESS_HTTP_OK);
    assert_false(r.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r), INGRESS_HTTP_OK);
    assert_false(r.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", &r),
                     INGRESS_HTTP_OK);
    assert_true(r.keep_alive);
    assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
                     INGRESS_HTTP_OK);
    assert_true(r.chunked);
}

static void test_head_errors(void **state)
{
    struct ingress_http_req r;
    static const char *const bad[] = {
        "GET\r\n\r\n",
        "GET / HTTP/1.1\r\nbad header\r\n\r\n",
        "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET x HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET / FOO/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *reason = NULL;
        if (ingress_http_parse_head(bad[i], strlen(bad[i]), &r, &reason) != INGRESS_HTTP_BAD)
            fail_msg("accepted bad head #%zu", i);
        assert_non_null(reason);
    }
    const char *reason = NULL;
    const char *h2 = "GET / HTTP/2.0\r\n\r\n";
    assert_int_equal(ingress_http_parse_head(h2, strlen(h2), &r, &reason), INGRESS_HTTP_VERSION);
    const char *gz = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    assert_int_equal(ingress_http_parse_head(gz, strlen(gz), &r, &reason),
                     INGRESS_HTTP_UNSUPPORTED);
    /* same Content-Length twice is fine */
    const char *cl2 = "POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n";
    assert_int_equal(ingress_http_parse_head(cl2, strlen(cl2), &r, &reason), INGRESS_HTTP_OK);
}

/* RFC 9112 details: absolute-form targets are accepted by their path, HTTP/2's preface is a
 * version error, too many fields is 431, and each result maps to the status the README gives. */
static void test_head_rfc9112(void **state)
{
    struct ingress_http_req r;
    const char *reason = NULL;
    assert_int_equal(parse("POST http://host:4000/webhooks/github?x=1 HTTP/1.1\r\n\r\n", &r),
                     INGRESS_HTTP_OK);
    assert_true(ingress_str_eq(r.path, "/webhooks/github"));
    assert_true(ingress_str_eq(r.target, "http://host:4000/webhooks/github?x=1"));
    assert_int_equal(parse("GET HTTPS://user@[::1]:8/healthz HTTP/1.1\r\n\r\n", &r),
                     INGRESS_HTTP_OK);
    assert_true(ingress_str_eq(r.path, "/healthz"));
    assert_int_equal(parse("GET http://host HTTP/1.1\r\n\r\n", &r), INGRESS_HTTP_OK);
    assert_true(ingress_str_eq(r.path, "/"));
    assert_int_equal(parse("GET http://host?a=/b HTTP/1.1\r\n\r\n", &r), INGRESS_HTTP_OK);
    assert_true(ingress_str_eq(r.path, "/"));
    static const char *const bad[] = {
        "GET http:///x HTTP/1.1\r\n\r\n", /* no authority */
        "GET ftp://host/x HTTP/1.1\r\n\r\n", "GET http://host#f HTTP/1.1\r\n\r\n",
        "CONNECT host:443 HTTP/1.1\r\n\r\n", "OPTIONS * HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse(bad[i], &r) != INGRESS_HTTP_BAD)
            fail_msg("accepted bad target #%zu", i);

    const char *pri = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    size_t end = ingress_http_head_end(pri, strlen(pri));
    assert_int_equal(ingress_http_parse_head(pri, end, &r, &reason), INGRESS_HTTP_VERSION);
    assert_int_equal(ingress_http_status(INGRESS_HTTP_VERSION), 505);

    char many[8192];
    size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: y\r\n", i);
    n += (size_t)snprintf(many + n, sizeof many - n, "\r\n");
    assert_true(n < sizeof many);
    assert_int_equal(ingress_http_parse_head(many, n, &r, &reason), INGRESS_HTTP_HEADERS_TOO_LARGE);
    assert_int_equal(ingress_http_status(INGRESS_HTTP_HEADERS_TOO_LARGE), 431);
    assert_int_equal(ingress_http_status(INGRESS_HTTP_BAD), 400);
    assert_int_equal(ingress_http_status(INGRESS_HTTP_UNSUPPORTED), 501);
}

static void test_head_end(void **state)
{
    assert_int_equal(ingress_http_head_end("GET / HTTP/1.1\r\n\r", 17), 0);
    assert_int_equal(ingress_http_head_end("a\r\n\r\nbody", 9), 5);
    assert_int_equal(ingress_http_head_end("\r\r\n\r\n", 5), 5);
}

static void test_chunked(void **state)
{
    const char *in = "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                     "Trailer: x\r\n\r\nNEXT";
    size_t len = strlen(in);
    /* whole at once */
    struct ingress_chunked c;
    struct sg_buf body;
    sg_buf_init(&body, 1000);
    ingress_chunked_init(&c);
    size_t used = 0;
    assert_int_equal(ingress_chunked_feed(&c, in, len, &used, &body), INGRESS_CHUNKED_DONE);
    assert_int_equal(used, len - 4);
    assert_string_equal(sg_buf_str(&body), "Wikipedia in\r\n\r\nchunks.");
    /* one byte at a time gives the same */
    sg_buf_reset(&body);
    ingress_chunked_init(&c);
    size_t i = 0;
    enum ingress_chunked_result r = INGRESS_CHUNKED_MORE;
    while (r == INGRESS_CHUNKED_MORE && i < len) {
        r = ingress_chunked_feed(&c, in + i, 1, &used, &body);
        i += used;
    }
    assert_int_equal(r, INGRESS_CHUNKED_DONE);
    assert_int_equal(i, len - 4);
    assert_string_equal(sg_buf_str(&body), "Wikipedia in\r\n\r\nchunks.");
    sg_buf_free(&body);

    /* the cap: a chunk size above what is left is refused before its data arrives */
    sg_buf_init(&body, 8);
    ingress_chunked_init(&c);
    assert_int_equal(ingress_chunked_feed(&c, "5\r\nhello\r\n4\r\n", 13, &used, &body),
                     INGRESS_CHUNKED_TOO_LARGE);
    sg_buf_free(&body);
    sg_buf_init(&body, 1 << 20);
    ingress_chunked_init(&c);
    assert_int_equal(ingress_chunked_feed(&c, "ffffffffffffffff\r\n", 18, &used, &body),
                     INGRESS_CHUNKED_TOO_LARGE);
    /* leading zeros are not significant digits: "0000000000000000000a" is 10 bytes */
    sg_buf_reset(&body);
    ingress_chunked_init(&c);
    const char *zeros = "0000000000000000000a\r\n0123456789\r\n00000\r\n\r\n";
    assert_int_equal(ingress_chunked_feed(&c, zeros, strlen(zeros), &used, &body),
                     INGRESS_CHUNKED_DONE);
    assert_string_equal(sg_buf_str(&body), "0123456789");
    /* but 16 significant digits are too large, and an endless size line is malformed */
    ingress_chunked_init(&c);
    assert_int_equal(ingress_chunked_feed(&c, "01000000000000000\r\n", 19, &used, &body),
                     INGRESS_CHUNKED_TOO_LARGE);
    static char longline[INGRESS_HTTP_CHUNK_LINE_MAX + 2];
    memset(longline, '0', sizeof longline);
    ingress_chunked_init(&c);
    assert_int_equal(ingress_chunked_feed(&c, longline, sizeof longline, &used, &body),
                     INGRESS_CHUNKED_BAD);
    static const char *const bad[] = {
        "x\r\n",
        "5\r\nhelloX",
        "5\nhello",
        "\r\n",
        "0\r\nbad\n",
        "0\r\nA: b\r\n folded\r\n\r\n",  /* obsolete line folding in a trailer */
        "0\r\nA: b\r\n\tfolded\r\n\r\n", /* the same with HTAB */
        "0\r\n: x\r\n\r\n",              /* no field name */
        "0\r\nA b: x\r\n\r\n",           /* not a field name */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ingress_chunked_init(&c);
        sg_buf_reset(&body);
        if (ingress_chunked_feed(&c, bad[k], strlen(bad[k]), &used, &body) != INGRESS_CHUNKED_BAD)
            fail_msg("accepted bad chunked body #%zu", k);
    }
    sg_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head),         cmocka_unit_test(test_head_errors),
        cmocka_unit_test(test_head_rfc9112), cmocka_unit_test(test_head_end),
        cmocka_unit_test(test_chunked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
