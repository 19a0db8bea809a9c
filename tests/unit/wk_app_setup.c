/* Why: the pure parts of `register` and `doctor` decide what is trusted and what is reported:
 * register's request reader and query decoding (bytes from anyone who reaches the listener), the
 * HTML escaping of everything put in its page, app.yml's reading (the built-in copy included),
 * GitHub's code-conversion answer, and the comparison that names a missing permission or event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <json-c/json.h>

#include "wk_app_manifest.h"
#include "wk_register_http.h"

static void test_request_parse(void **state)
{
    struct wk_reg_request q;
    const char *ok = "GET /redirect?code=a1&state=ff HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n";
    assert_int_equal(wk_reg_parse_request(ok, strlen(ok), &q), 1);
    assert_string_equal(q.method, "GET");
    assert_string_equal(q.path, "/redirect");
    assert_string_equal(q.query, "code=a1&state=ff");
    assert_string_equal(q.host, "127.0.0.1:3000");
    /* incomplete, then not HTTP, then an absolute-form target and a bad Host */
    assert_int_equal(wk_reg_parse_request(ok, strlen(ok) - 2, &q), 0);
    assert_int_equal(wk_reg_parse_request("hello\r\n\r\n", 9, &q), -1);
    const char *abs = "GET http://x/ HTTP/1.1\r\n\r\n";
    assert_int_equal(wk_reg_parse_request(abs, strlen(abs), &q), -1);
    const char *badhost = "GET / HTTP/1.1\r\nHost: a\"b<c\r\n\r\n";
    assert_int_equal(wk_reg_parse_request(badhost, strlen(badhost), &q), 1);
    assert_string_equal(q.host, "");
    const char *bare = "GET / HTTP/1.1\r\nX: y\nZ: w\r\n\r\n"; /* a bare LF inside the head */
    assert_int_equal(wk_reg_parse_request(bare, strlen(bare), &q), -1);
}

static void test_query_param(void **state)
{
    char v[16];
    assert_true(wk_reg_query_param("code=a%2Db+c&state=x", "code", v, sizeof v));
    assert_string_equal(v, "a-b c");
    assert_true(wk_reg_query_param("xcode=1&code=2", "code", v, sizeof v));
    assert_string_equal(v, "2");
    assert_false(wk_reg_query_param("code=%zz", "code", v, sizeof v));
    assert_false(wk_reg_query_param("code=%00", "code", v, sizeof v));
    assert_false(wk_reg_query_param("code=0123456789abcdefX", "code", v, sizeof v));
    assert_false(wk_reg_query_param("state=1", "code", v, sizeof v));
}

static void test_html_escape(void **state)
{
    struct sg_buf b;
    sg_buf_init(&b, 1024);
    wk_reg_html_escape(&b, "<a href=\"x\">'&'</a>");
    assert_string_equal(sg_buf_str(&b), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    sg_buf_free(&b);
}

static void test_builtin_manifest(void **state)
{
    char err[200];
    struct json_object *m = wk_manifest_from_yaml(wk_app_yml_embedded, wk_app_yml_embedded_len, err,
                                                  sizeof err),
                       *v;
    assert_non_null(m);
    assert_true(json_object_object_get_ex(m, "public", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(m, "default_events", &v));
    assert_int_equal(json_object_array_length(v), 4);
    json_object_put(m);
    assert_null(wk_manifest_from_yaml("- a\n- b\n", 8, err, sizeof err));
    assert_non_null(strstr(err, "mapping"));
    assert_null(wk_manifest_from_yaml("a: [b\n", 6, err, sizeof err));
    assert_non_null(strstr(err, "not YAML"));
}

static void test_missing(void **state)
{
    char err[200];
    const char *y = "default_permissions:\n  checks: write\n  contents: read\n"
                    "default_events: [push, check_run]\n";
    struct json_object *want = wk_manifest_from_yaml(y, strlen(y), err, sizeof err);
    struct json_object *same = json_tokener_parse(
        "{\"permissions\":{\"checks\":\"write\",\"contents\":\"write\",\"metadata\":\"read\"},"
        "\"events\":[\"check_run\",\"push\",\"issues\"]}");
    struct json_object *less =
        json_tokener_parse("{\"permissions\":{\"checks\":\"read\"},\"events\":[\"check_run\"]}");
    struct sg_buf b;
    sg_buf_init(&b, 4096);
    assert_int_equal(wk_manifest_missing(want, same, &b), 0); /* more is fine */
    assert_int_equal(wk_manifest_missing(want, less, &b), 3);
    assert_string_equal(sg_buf_str(&b), "permission checks: write (the App has read); permission "
                                        "contents: read; event push");
    sg_buf_free(&b);
    json_object_put(want);
    json_object_put(same);
    json_object_put(less);
}

static void test_credentials(void **state)
{
    char err[200];
    struct wk_app_credentials c;
    const char *ok = "{\"id\":42,\"slug\":\"s\",\"html_url\":\"https://github.com/apps/s\","
                     "\"client_id\":\"Iv1\",\"client_secret\":\"cs\",\"webhook_secret\":null,"
                     "\"pem\":\"PEM\",\"owner\":{\"login\":\"octo\"}}";
    assert_int_equal(wk_app_credentials_parse(ok, strlen(ok), &c, err, sizeof err), SG_OK);
    assert_int_equal(c.id, 42);
    assert_string_equal(c.webhook_secret, ""); /* GitHub's null */
    assert_string_equal(c.owner_login, "octo");
    wk_app_credentials_clear(&c);
    const char *nopem =
        "{\"id\":42,\"html_url\":\"u\",\"client_id\":\"i\",\"client_secret\":\"s\"}";
    assert_int_equal(wk_app_credentials_parse(nopem, strlen(nopem), &c, err, sizeof err),
                     SG_ERR_PARSE);
    assert_string_equal(err, "GitHub's answer has no pem");
    assert_int_equal(wk_app_credentials_parse("[1]", 3, &c, err, sizeof err), SG_ERR_PARSE);
    assert_int_equal(wk_app_credentials_parse("{\"id\":\"42\"}", 11, &c, err, sizeof err),
                     SG_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_parse), cmocka_unit_test(test_query_param),
        cmocka_unit_test(test_html_escape),   cmocka_unit_test(test_builtin_manifest),
        cmocka_unit_test(test_missing),       cmocka_unit_test(test_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
