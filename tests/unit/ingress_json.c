/* Why: the ingress validates payloads with its own scanner instead of json-c, so it must accept
 * exactly RFC 8259 JSON (checked here case by case and against json-c on the real fixtures) and
 * pull out the routing fields as json-c reads them, including escaped keys and nesting, or refuse
 * a payload two readers could read differently (NUL, duplicate keys, clamped integers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_json.h"
#include "ingress_json_oracle.h"

#include "test_util.h"

static struct ingress_json_fields F;

static enum ingress_json_result scan(const char *s)
{
    return ingress_json_scan(s, strlen(s), &F, NULL);
}

static void test_valid_texts(void **state)
{
    static const char *const ok[] = {
        "{}",
        "[]",
        " {} ",
        "\t\r\n[ ]\n",
        "0",
        "-0",
        "1.5e10",
        "-1E-2",
        "1e+5",
        "\"\"",
        "true",
        "false",
        "null",
        "\"\\u00e9\\ud83d\\ude00\"",
        "\"caf\xc3\xa9\"",
        "\"\xf0\x9f\x98\x80\"",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}",
        "[[[[[]]]]]",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "123456789012345678901234567890",
        "\"\\udc00\"",
        "{\"a\":1,\"a\":2}",
        "\"\xef\xbf\xbf\"",
        "\"\xf4\x8f\xbf\xbf\"",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (scan(ok[i]) != INGRESS_JSON_OK)
            fail_msg("rejected valid JSON #%zu: %s", i, ok[i]);
    }
}

static void test_invalid_texts(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "[",
        "[1,]",
        "{\"a\":1,}",
        "{,}",
        "{\"a\"}",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "1e+",
        "0x10",
        "NaN",
        "Infinity",
        "-Infinity",
        "tru",
        "nul",
        "True",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"a\nb\"",
        "\"\t\"",
        "[1 2]",
        "{} {}",
        "1 2",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf5\x80\x80\x80\"",
        "\"\xe0\x80\xaf\"",
        "\"\x80\"",
        "\"\xc3\"",
        "[1,,2]",
        "{\"a\":}",
        "/* c */ {}",
        "{\"a\":1}//",
        "[\"a\",]",
        "\xef\xbb\xbf{}",
        "{\"a\":1}x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (scan(bad[i]) == INGRESS_JSON_OK)
            fail_msg("accepted invalid JSON #%zu: %s", i, bad[i]);
    }
    /* A NUL byte inside a text is invalid too. */
    assert_int_not_equal(ingress_json_scan("{\"a\":\"\0\"}", 9, &F, NULL), INGRESS_JSON_OK);
}

static void test_depth_limit(void **state)
{
    char deep[2 * (INGRESS_JSON_MAX_DEPTH + 1) + 1];
    size_t n = INGRESS_JSON_MAX_DEPTH + 1;
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    assert_int_equal(scan(deep), INGRESS_JSON_DEPTH);
    deep[2 * n - 1] = '\0';
    assert_int_equal(scan(deep + 1), INGRESS_JSON_OK); /* exactly the limit */
}

static void test_fields(void **state)
{
    const char *doc =
        "{\"action\":\"synchronize\",\"number\":42,\"pull_request\":{\"head\":{\"sha\":\"aa\","
        "\"repo\":{\"sha\":\"no\"}},\"base\":{\"sha\":\"bb\"}},\"installation\":{\"id\":7,"
        "\"account\":{\"id\":99}},\"repository\":{\"id\":5,\"owner\":{\"id\":6},"
        "\"full_name\":\"o/r\"},\"check_suite\":{\"head_branch\":null,\"pull_requests\":"
        "[{\"number\":3},{\"number\":4}]},\"deleted\":false,\"sender\":{\"action\":\"x\"}}";
    assert_int_equal(scan(doc), INGRESS_JSON_OK);
    assert_int_equal(F.v[IJF_ACTION].type, IJT_STRING);
    assert_string_equal(F.v[IJF_ACTION].str, "synchronize");
    assert_int_equal(F.v[IJF_NUMBER].i, 42);
    assert_string_equal(F.v[IJF_PR_HEAD_SHA].str, "aa");
    assert_string_equal(F.v[IJF_PR_BASE_SHA].str, "bb");
    assert_int_equal(F.v[IJF_INSTALLATION_ID].i, 7);
    assert_int_equal(F.v[IJF_REPO_ID].i, 5);
    assert_int_equal(F.v[IJF_REPOSITORY].type, IJT_OBJECT);
    assert_string_equal(F.v[IJF_REPO_FULL_NAME].str, "o/r");
    assert_int_equal(F.v[IJF_CS_HEAD_BRANCH].type, IJT_NULL);
    assert_int_equal(F.v[IJF_CS_PR0_NUMBER].i, 3);
    assert_int_equal(F.v[IJF_DELETED].type, IJT_BOOL);
    assert_false(F.v[IJF_DELETED].b);
    assert_int_equal(F.v[IJF_REF].type, IJT_ABSENT);
    assert_int_equal(F.v[IJF_CR_PR0_NUMBER].type, IJT_ABSENT);
}

static void test_escapes_and_duplicates(void **state)
{
    /* An escaped key still names the field; an escaped value is decoded; a routed key twice is
     * refused, and a failed scan leaves nothing captured. */
    assert_int_equal(scan("{\"act\\u0069on\":\"a\\/b\\u00e9\",\"ref\":\"x\"}"), INGRESS_JSON_OK);
    assert_string_equal(F.v[IJF_ACTION].str, "a/b\xc3\xa9");
    assert_string_equal(F.v[IJF_REF].str, "x");
    assert_int_equal(scan("{\"act\\u0069on\":\"a\",\"ref\":\"x\",\"ref\":\"y\"}"),
                     INGRESS_JSON_DUPLICATE);
    assert_int_equal(F.v[IJF_ACTION].type, IJT_ABSENT);
    /* Surrogate pair -> 4-byte UTF-8; a lone surrogate -> U+FFFD. */
    assert_int_equal(scan("{\"ref\":\"\\ud83d\\ude00\\ud800\"}"), INGRESS_JSON_OK);
    assert_string_equal(F.v[IJF_REF].str, "\xf0\x9f\x98\x80\xef\xbf\xbd");
    /* A number where a string is expected keeps its type. */
    assert_int_equal(scan("{\"action\":12,\"installation\":{\"id\":1.5}}"), INGRESS_JSON_OK);
    assert_int_equal(F.v[IJF_ACTION].type, IJT_NUMBER);
    assert_false(F.v[IJF_INSTALLATION_ID].is_int);
    /* Too long a string is marked, not truncated silently. */
    char big[INGRESS_JSON_MAX_STR + 32];
    memset(big, 'x', sizeof big);
    memcpy(big, "{\"ref\":\"", 8);
    memcpy(big + sizeof big - 3, "\"}", 3);
    assert_int_equal(scan(big), INGRESS_JSON_OK);
    assert_int_equal(F.v[IJF_REF].type, IJT_TOO_LONG);
    /* Only index 0 of pull_requests counts. */
    assert_int_equal(scan("{\"check_run\":{\"pull_requests\":[],\"check_suite\":{\"head_branch\":"
                          "\"main\"}}}"),
                     INGRESS_JSON_OK);
    assert_int_equal(F.v[IJF_CR_PR0_NUMBER].type, IJT_ABSENT);
    assert_string_equal(F.v[IJF_CR_CS_HEAD_BRANCH].str, "main");
    /* Wrong container type at a path level: nothing captured below it. */
    assert_int_equal(scan("{\"installation\":[{\"id\":3}],\"repository\":\"r\"}"), INGRESS_JSON_OK);
    assert_int_equal(F.v[IJF_INSTALLATION_ID].type, IJT_ABSENT);
    assert_int_equal(F.v[IJF_REPOSITORY].type, IJT_STRING);
    assert_int_equal(scan("{\"number\":-9223372036854775808}"), INGRESS_JSON_OK);
    assert_true(F.v[IJF_NUMBER].is_int);
    assert_int_equal(scan("{\"number\":9223372036854775808}"), INGRESS_JSON_RANGE);
}

/* Every real payload: valid for both parsers, and each captured field equals json-c's view. */
static void test_fixtures_against_jsonc(void **state)
{
    DIR *d = opendir(SG_FIXTURES_DIR "/webhooks");
    assert_non_null(d);
    struct dirent *e;
    int checked = 0;
    char why[256];
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl < 6 || strcmp(e->d_name + nl - 5, ".json"))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/webhooks/%s", SG_FIXTURES_DIR, e->d_name);
        size_t len = 0;
        char *data = sg_test_read_file(path, &len);
        assert_non_null(data);
        assert_int_equal(ingress_json_scan(data, len, &F, NULL), INGRESS_JSON_OK);
        bool ok = false;
        struct json_object *root = oracle_parse(data, len, &ok);
        assert_true(ok);
        if (oracle_disagrees(&F, root, why, sizeof why))
            fail_msg("%s: %s", e->d_name, why);
        json_object_put(root);
        free(data);
        checked++;
    }
    closedir(d);
    assert_true(checked >= 60);
}

/* Payloads built to make two readers differ. The scanner either reads every routed field as
 * json-c does, or refuses the payload with the expected reason; never a third reading. */
static void test_differential_jsonc(void **state)
{
    char long_ref[INGRESS_JSON_MAX_STR + 64];
    snprintf(long_ref, sizeof long_ref, "{\"ref\":\"%0*d\",\"action\":\"x\"}",
             INGRESS_JSON_MAX_STR + 1, 7);
    const struct {
        const char *json;
        enum ingress_json_result want;
    } cases[] = {
        /* \u0000: json-c's C strings end there */
        {"{\"action\":\"opened\\u0000junk\"}", INGRESS_JSON_NUL},
        {"{\"ref\":\"refs/heads/a\\u0000b\",\"action\":\"x\"}", INGRESS_JSON_NUL},
        {"{\"action\":\"opened\",\"action\\u0000x\":\"closed\"}", INGRESS_JSON_NUL},
        {"{\"repository\":{\"full_name\\u0000\":\"a/b\"}}", INGRESS_JSON_NUL},
        {"{\"zen\":\"a\\u0000b\",\"sender\":{\"k\\u0000\":1},\"action\":\"opened\"}",
         INGRESS_JSON_OK},
        /* duplicate keys on routed paths: json-c takes the last, a merge took parts of both */
        {"{\"repository\":{\"id\":1},\"repository\":{\"full_name\":\"a/b\"}}",
         INGRESS_JSON_DUPLICATE},
        {"{\"repository\":{\"id\":1,\"id\":2}}", INGRESS_JSON_DUPLICATE},
        {"{\"action\":\"a\",\"act\\u0069on\":\"b\"}", INGRESS_JSON_DUPLICATE},
        {"{\"installation\":{\"id\":1},\"installation\":5}", INGRESS_JSON_DUPLICATE},
        {"{\"repository\":\"x\",\"repository\":{\"id\":1}}", INGRESS_JSON_DUPLICATE},
        {"{\"pull_request\":{\"head\":{\"sha\":\"a\"},\"head\":{\"sha\":\"b\"}}}",
         INGRESS_JSON_DUPLICATE},
        {"{\"check_suite\":{\"pull_requests\":[{\"number\":1,\"number\":2}]}}",
         INGRESS_JSON_DUPLICATE},
        /* duplicates off the routed paths change nothing routing reads */
        {"{\"sender\":{\"id\":1,\"id\":2},\"zen\":1,\"zen\":2,\"action\":\"x\"}", INGRESS_JSON_OK},
        {"{\"check_suite\":{\"pull_requests\":[{\"number\":1},{\"number\":2,\"number\":3}]}}",
         INGRESS_JSON_OK},
        /* integers json-c would clamp to another value */
        {"{\"installation\":{\"id\":99999999999999999999}}", INGRESS_JSON_RANGE},
        {"{\"number\":9223372036854775808}", INGRESS_JSON_RANGE},
        {"{\"number\":-9223372036854775809}", INGRESS_JSON_RANGE},
        {"{\"sender\":{\"id\":99999999999999999999},\"number\":9223372036854775807}",
         INGRESS_JSON_OK},
        {"{\"number\":-9223372036854775808,\"installation\":{\"id\":-0}}", INGRESS_JSON_OK},
        {"{\"number\":1.0,\"installation\":{\"id\":1e2}}", INGRESS_JSON_OK},
        /* the rest agrees as is */
        {"{\"ref\":\"\\ud800\\u0041\\udc00\\ud83d\\ude00\\ud800\\ud800\\udc00\"}", INGRESS_JSON_OK},
        {"{\"after\":\"6113728F27AE82C7B1A177C8D03F9E96E0ADF246\",\"deleted\":true}",
         INGRESS_JSON_OK},
        {"{\"action\":null,\"repository\":[1],\"installation\":{\"id\":\"7\"}}", INGRESS_JSON_OK},
        {"{\"check_run\":{\"pull_requests\":[[]],\"check_suite\":null}}", INGRESS_JSON_OK},
        {"{\"act\\u0069on\":\"\\u00e9\\/\"}", INGRESS_JSON_OK},
        {long_ref, INGRESS_JSON_OK},
    };
    char why[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum ingress_json_result r = scan(cases[i].json);
        if (r != cases[i].want)
            fail_msg("case %zu: result %d (%s), want %d: %s", i, (int)r, ingress_json_result_str(r),
                     (int)cases[i].want, cases[i].json);
        bool ok = false;
        struct json_object *root = oracle_parse(cases[i].json, strlen(cases[i].json), &ok);
        assert_true(ok); /* every case is valid JSON */
        if (r == INGRESS_JSON_OK && oracle_disagrees(&F, root, why, sizeof why))
            fail_msg("case %zu: %s", i, why);
        json_object_put(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_texts),
        cmocka_unit_test(test_invalid_texts),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_escapes_and_duplicates),
        cmocka_unit_test(test_fixtures_against_jsonc),
        cmocka_unit_test(test_differential_jsonc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
