/* Why: capped buffers and JSON string escaping underlie every response and log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_url.h"

static void test_cap_enforced(void **state)
{
    struct sg_buf b;
    sg_buf_init(&b, 8);
    assert_int_equal(sg_buf_puts(&b, "12345678"), SG_OK);
    assert_int_equal(sg_buf_putc(&b, 'x'), SG_ERR_TOO_LARGE);
    assert_string_equal(sg_buf_str(&b), "12345678");
    assert_int_equal(b.len, 8);
    sg_buf_free(&b);
}

static void test_printf_long(void **state)
{
    struct sg_buf b;
    sg_buf_init(&b, 0);
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(sg_buf_printf(&b, "<%s>%d", big, 42), SG_OK);
    assert_int_equal(b.len, 1003);
    assert_int_equal(b.data[0], '<');
    assert_string_equal(b.data + 1000, ">42");
    sg_buf_free(&b);
}

static void test_i64(void **state)
{
    struct sg_buf b;
    sg_buf_init(&b, 0);
    sg_buf_put_i64(&b, INT64_MIN);
    sg_buf_putc(&b, ' ');
    sg_buf_put_i64(&b, 0);
    sg_buf_putc(&b, ' ');
    sg_buf_put_i64(&b, 1764182400123LL);
    assert_string_equal(sg_buf_str(&b), "-9223372036854775808 0 1764182400123");
    sg_buf_free(&b);
}

static void test_json_escape(void **state)
{
    struct sg_buf b;
    sg_buf_init(&b, 0);
    const char in[] = "a\"b\\c\n\x01\xc3\xa9\xff"
                      "z";
    sg_buf_put_json_str(&b, in, sizeof in - 1);
    assert_string_equal(sg_buf_str(&b), "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\\ufffdz\"");
    sg_buf_free(&b);
}

static void test_detach_empty(void **state)
{
    struct sg_buf b;
    sg_buf_init(&b, 0);
    char *s = sg_buf_detach(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_redis_url(void **state)
{
    struct sg_redis_url u;
    char err[200];
    assert_int_equal(sg_redis_url_parse("redis://127.0.0.1:6380/2", &u, err, sizeof err), SG_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_null(u.password);
    sg_redis_url_clear(&u);
    assert_int_equal(sg_redis_url_parse("redis://:p%40ss@redis", &u, err, sizeof err), SG_OK);
    assert_string_equal(u.host, "redis");
    assert_int_equal(u.port, 6379);
    assert_string_equal(u.password, "p@ss");
    sg_redis_url_clear(&u);
    assert_int_equal(sg_redis_url_parse("redis://user:pw@[::1]:7000/0", &u, err, sizeof err),
                     SG_OK);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.username, "user");
    assert_int_equal(u.port, 7000);
    sg_redis_url_clear(&u);
    assert_int_equal(sg_redis_url_parse("unix:///tmp/r.sock?db=3", &u, err, sizeof err), SG_OK);
    assert_string_equal(u.unix_path, "/tmp/r.sock");
    assert_int_equal(u.db, 3);
    sg_redis_url_clear(&u);
    assert_int_equal(sg_redis_url_parse("http://x", &u, err, sizeof err), SG_ERR_CONFIG);
    assert_int_equal(sg_redis_url_parse("redis://h:99999", &u, err, sizeof err), SG_ERR_CONFIG);
    assert_int_equal(sg_redis_url_parse("redis://h/abc", &u, err, sizeof err), SG_ERR_CONFIG);
    assert_int_equal(sg_redis_url_parse("redis://", &u, err, sizeof err), SG_ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_enforced), cmocka_unit_test(test_printf_long),
        cmocka_unit_test(test_i64),          cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_detach_empty), cmocka_unit_test(test_redis_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
