/* Why: every log line is one JSON object with ts/level/msg and typed context; operators' log
 * pipelines parse it, so its exact shape is tested. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
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

static void *log_from_other_thread(void *arg)
{
    sg_log_info("other thread", SG_KV_END);
    return arg;
}

/* A job's context rides on every line its thread writes, including lines from code that passes no
 * context (the database and GitHub layers); a key the call site passes wins, other threads and
 * lines after the clear carry none. */
static void test_thread_context(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    sg_log_init(SG_LOG_INFO, SG_LOG_JSON, NULL);
    sg_log_set_fd(p[1]);
    char delivery[] = "d-42";
    struct sg_log_context ctx = {.delivery = delivery,
                                 .installation = 7,
                                 .repo = "octo/hello",
                                 .sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                                 .attempt = 2};
    sg_log_context_set(&ctx);
    delivery[0] = 'X'; /* copied: the caller's string may change or go */
    char line[1024];
    sg_log_warn("db failed", SG_KV_STR("err", "gone"), SG_KV_END);
    read_line(p[0], line, sizeof line);
    assert_non_null(strstr(line, "\"msg\":\"db failed\",\"delivery\":\"d-42\",\"installation\":7,"
                                 "\"repo\":\"octo/hello\",\"sha\":"
                                 "\"ec26c3e57ca3a959ca5aad62de7213c562f8c821\",\"attempt\":2,"
                                 "\"err\":\"gone\"}\n"));
    /* the call site's own attempt wins; the key appears once */
    sg_log_info("retry", SG_KV_INT("attempt", 3), SG_KV_END);
    read_line(p[0], line, sizeof line);
    assert_non_null(strstr(line, "\"attempt\":3"));
    assert_null(strstr(line, "\"attempt\":2"));
    assert_non_null(strstr(line, "\"delivery\":\"d-42\""));
    /* another thread has its own (empty) context */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, log_from_other_thread, NULL), 0);
    pthread_join(t, NULL);
    read_line(p[0], line, sizeof line);
    assert_non_null(strstr(line, "other thread"));
    assert_null(strstr(line, "delivery"));
    /* absent fields are left out; text format carries the context too */
    sg_log_init(SG_LOG_INFO, SG_LOG_TEXT, NULL);
    struct sg_log_context sync = {.installation = 9, .attempt = -1};
    sg_log_context_set(&sync);
    sg_log_info("sync", SG_KV_END);
    read_line(p[0], line, sizeof line);
    assert_non_null(strstr(line, " sync installation=9\n"));
    /* cleared: nothing added */
    sg_log_context_clear();
    sg_log_init(SG_LOG_INFO, SG_LOG_JSON, NULL);
    sg_log_info("idle", SG_KV_END);
    read_line(p[0], line, sizeof line);
    assert_non_null(strstr(line, "\"msg\":\"idle\"}\n"));
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
        cmocka_unit_test(test_thread_context),
        cmocka_unit_test(test_decimal_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
