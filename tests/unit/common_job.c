/* Why: the job line is the contract between ingress and workers; it must round-trip exactly and
 * reject what a worker cannot run: text after the object, NUL bytes, lines over the size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_job.h"

static const char design_example[] =
    "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"72d3162e-cc78-11e3-81ab-4c9367dc0958\","
    "\"event\":\"pull_request\",\"action\":\"synchronize\",\"installation\":2311213,"
    "\"repo\":{\"id\":1296269,\"full_name\":\"octocat/Hello-World\"},"
    "\"sha\":\"ec26c3e57ca3a959ca5aad62de7213c562f8c821\",\"ref\":\"refs/pull/2/head\","
    "\"base_sha\":\"f95f852bd8fca8fcc58a9a2d6c842781e32a215e\",\"pull\":2,\"force\":false,"
    "\"received_at\":1764182400123,\"attempt\":0}";

static void test_roundtrip_design_example(void **state)
{
    struct sg_job job;
    char err[128];
    assert_int_equal(sg_job_decode(design_example, strlen(design_example), &job, err, sizeof err),
                     SG_OK);
    assert_int_equal(job.kind, SG_JOB_ANALYZE);
    assert_int_equal(job.installation, 2311213);
    assert_int_equal(job.repo_id, 1296269);
    assert_string_equal(job.repo_full_name, "octocat/Hello-World");
    assert_int_equal(job.pull, 2);
    assert_false(job.force);
    struct sg_buf b;
    sg_buf_init(&b, 0);
    assert_int_equal(sg_job_encode(&job, &b), SG_OK);
    assert_string_equal(sg_buf_str(&b), design_example);
    sg_buf_free(&b);
    sg_job_clear(&job);
}

static void test_sync_job_nulls(void **state)
{
    struct sg_job job = {0};
    job.kind = SG_JOB_SYNC;
    job.delivery = strdup("d1");
    job.event = strdup("installation");
    job.action = strdup("created");
    job.installation = 7;
    job.received_at = 5;
    struct sg_buf b;
    sg_buf_init(&b, 0);
    sg_job_encode(&job, &b);
    assert_string_equal(sg_buf_str(&b),
                        "{\"v\":1,\"kind\":\"sync\",\"delivery\":\"d1\",\"event\":\"installation\","
                        "\"action\":\"created\",\"installation\":7,\"repo\":null,\"sha\":null,"
                        "\"ref\":null,\"base_sha\":null,\"pull\":null,\"force\":false,"
                        "\"received_at\":5,\"attempt\":0}");
    struct sg_job back;
    char err[128];
    assert_int_equal(sg_job_decode(b.data, b.len, &back, err, sizeof err), SG_OK);
    assert_int_equal(back.kind, SG_JOB_SYNC);
    assert_null(back.repo_full_name);
    assert_null(back.sha);
    sg_job_clear(&back);
    sg_buf_free(&b);
    sg_job_clear(&job);
}

static void test_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"v\":2,\"kind\":\"analyze\"}",
        "{\"v\":1,\"kind\":\"other\",\"delivery\":\"d\",\"installation\":1}",
        "{\"v\":1,\"kind\":\"sync\",\"installation\":1}",
        "{\"v\":1,\"kind\":\"sync\",\"delivery\":\"d\",\"installation\":\"1\"}",
        "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"d\",\"installation\":1,\"repo\":null,"
        "\"sha\":\"ec26c3e57ca3a959ca5aad62de7213c562f8c821\"}",
        "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"d\",\"installation\":1,"
        "\"repo\":{\"id\":1,\"full_name\":\"a/b\"},\"sha\":\"xyz\"}",
        "{\"v\":1,\"kind\":\"sync\",\"delivery\":\"d\",\"installation\":1,\"attempt\":-1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sg_job job;
        char err[128] = "";
        assert_int_equal(sg_job_decode(bad[i], strlen(bad[i]), &job, err, sizeof err),
                         SG_ERR_PARSE);
        assert_true(err[0] != '\0');
    }
}

static void test_unknown_fields_ignored(void **state)
{
    const char *line = "{\"v\":1,\"kind\":\"sync\",\"delivery\":\"d\",\"installation\":3,"
                       "\"future\":{\"x\":[1,2]},\"attempt\":4,\"last_error\":\"boom\"}";
    struct sg_job job;
    char err[128];
    assert_int_equal(sg_job_decode(line, strlen(line), &job, err, sizeof err), SG_OK);
    assert_int_equal(job.attempt, 4);
    assert_string_equal(job.last_error, "boom");
    sg_job_clear(&job);
}

static void test_sha_helpers(void **state)
{
    assert_true(sg_sha_valid("ec26c3e57ca3a959ca5aad62de7213c562f8c821"));
    assert_false(sg_sha_valid("ec26c3e57ca3a959ca5aad62de7213c562f8c82"));
    assert_false(sg_sha_valid(NULL));
    assert_true(sg_sha_is_zero("0000000000000000000000000000000000000000"));
    assert_false(sg_sha_is_zero("000000000000000000000000000000000000000"));
}

/* decode's answer and reason for a line of len bytes */
static enum sg_err decode_len(const char *line, size_t len, char *err, size_t errlen)
{
    struct sg_job job;
    enum sg_err e = sg_job_decode(line, len, &job, err, errlen);
    sg_job_clear(&job);
    return e;
}

static void test_text_after_the_object_refused(void **state)
{
    static const char *const trailing[] = {"x", "{}", " {\"v\":1}", "\n1", "//"};
    char line[sizeof design_example + 16], err[128];
    for (size_t i = 0; i < sizeof trailing / sizeof trailing[0]; i++) {
        snprintf(line, sizeof line, "%s%s", design_example, trailing[i]);
        err[0] = '\0';
        assert_int_equal(decode_len(line, strlen(line), err, sizeof err), SG_ERR_PARSE);
        assert_true(err[0] != '\0');
    }
    /* white space after it is not text */
    snprintf(line, sizeof line, "%s \r\n\t", design_example);
    assert_int_equal(decode_len(line, strlen(line), err, sizeof err), SG_OK);
}

static void test_nul_bytes_refused(void **state)
{
    /* a NUL right after the object, inside a string and in the middle: never a terminator */
    char line[sizeof design_example + 16], err[128];
    size_t n = strlen(design_example);
    memcpy(line, design_example, n);
    memcpy(line + n, "\0junk", 5);
    assert_int_equal(decode_len(line, n + 5, err, sizeof err), SG_ERR_PARSE);
    memcpy(line + n, "\0", 1);
    assert_int_equal(decode_len(line, n + 1, err, sizeof err), SG_ERR_PARSE);
    memcpy(line, design_example, n);
    line[30] = '\0'; /* inside the delivery id */
    assert_int_equal(decode_len(line, n, err, sizeof err), SG_ERR_PARSE);
    memcpy(line, design_example, n);
    line[n - 1] = '\0'; /* in place of the closing brace */
    assert_int_equal(decode_len(line, n, err, sizeof err), SG_ERR_PARSE);
}

static void test_line_size_cap(void **state)
{
    /* a valid job padded with an unknown field to just under, and just over, the cap */
    size_t n = strlen(design_example);
    char *line = malloc(SG_JOB_LINE_MAX + 2);
    assert_non_null(line);
    char err[128];
    for (size_t total = SG_JOB_LINE_MAX; total <= SG_JOB_LINE_MAX + 1; total++) {
        memcpy(line, design_example, n - 1);
        memcpy(line + n - 1, ",\"pad\":\"", 8);
        memset(line + n + 7, 'p', total - (n + 7) - 2);
        memcpy(line + total - 2, "\"}", 2);
        enum sg_err e = decode_len(line, total, err, sizeof err);
        if (total == SG_JOB_LINE_MAX) {
            assert_int_equal(e, SG_OK);
        } else {
            assert_int_equal(e, SG_ERR_PARSE);
            assert_non_null(strstr(err, "over the 1048576-byte limit; not parsed"));
        }
    }
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_design_example),
        cmocka_unit_test(test_sync_job_nulls),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_sha_helpers),
        cmocka_unit_test(test_text_after_the_object_refused),
        cmocka_unit_test(test_nul_bytes_refused),
        cmocka_unit_test(test_line_size_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
