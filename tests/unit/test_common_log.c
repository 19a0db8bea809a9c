/* Why: every log line is one JSON object with ts/level/msg and typed context; operators' log
 * pipelines parse it, so its exact shape is tested. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>

#include "sg_log.h"

static void read_line(int fd, char *out, size_t n)
{
    ssize_t got = read(fd, out, n - 1);
    assert_true(got > 0);
    out[got] = '\0';
}

static void test_json_line(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    sg_log_init(SG_LOG_INFO, SG_LOG_JSON, "test");
    sg_log_set_fd(p[1]);
    sg_log_info("webhook \"queued\"", SG_KV_STR("delivery", "d-1"), SG_KV_INT("status", 202),
                SG_KV_STR("repo", NULL), SG_KV_BOOL("force", 1), SG_KV_END);
    char line[1024];
    read_line(p[0], line, sizeof line);
    regex_t re;
    assert_int_equal(
        regcomp(&re,
                "^\\{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\","
                "\"level\":\"info\",\"component\":\"test\",\"msg\":\"webhook \\\\\"queued\\\\\"\","
                "\"delivery\":\"d-1\",\"status\":202,\"repo\":null,\"force\":true\\}\n$",
                REG_EXTENDED),
        0);
    assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
    regfree(&re);
    /* below the level: nothing written */
    sg_log_debug("hidden", SG_KV_END);
    sg_log_warn("second", SG_KV_END);
    read_line(p[0], line, sizeof line);
    assert_non_null(strstr(line, "\"level\":\"warn\""));
    assert_null(strstr(line, "hidden"));
    sg_log_set_fd(1);
    close(p[0]);
    close(p[1]);
}

static void test_text_line(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    sg_log_init(SG_LOG_DEBUG, SG_LOG_TEXT, NULL);
    sg_log_set_fd(p[1]);
    sg_log_error("failed", SG_KV_STR("err", "no route"), SG_KV_INT("attempt", 3), SG_KV_END);
    char line[1024];
    read_line(p[0], line, sizeof line);
    assert_non_null(strstr(line, "Z error failed err=\"no route\" attempt=3\n"));
    sg_log_set_fd(1);
    close(p[0]);
    close(p[1]);
}

/* Durations are written with three decimals, as "%.3f" would, without printf for the usual
 * range; out-of-range values still are. */
static void test_decimal_values(void **state)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.0, "\"v\":0.000}"},
        {12.5, "\"v\":12.500}"},
        {0.0004, "\"v\":0.000}"},
        {0.0016, "\"v\":0.002}"},
        {-3.25, "\"v\":-3.250}"},
        {-0.042, "\"v\":-0.042}"},
        {987654.321, "\"v\":987654.321}"},
        {1e20, "\"v\":100000000000000000000.000}"},
    };
    int p[2];
    assert_int_equal(pipe(p), 0);
    sg_log_init(SG_LOG_INFO, SG_LOG_JSON, "test");
    sg_log_set_fd(p[1]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_log_info("d", SG_KV_DBL("v", cases[i].v), SG_KV_END);
        char line[1024];
        read_line(p[0], line, sizeof line);
        assert_non_null(strstr(line, cases[i].want));
    }
    sg_log_set_fd(1);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_text_line),
        cmocka_unit_test(test_decimal_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
