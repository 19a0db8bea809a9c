/* Why: the ingress batches its per-webhook log lines (sg_log_set_buffered, added to common for
 * it); a batch must never reorder lines, lose them, or hold back a warning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sg_log.h"

static size_t drain(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

static void test_buffered(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    char buf[8192];
    sg_log_init(SG_LOG_INFO, SG_LOG_JSON, "test");
    sg_log_set_fd(p[1]);
    sg_log_set_buffered(4096);
    sg_log_info("one", SG_KV_INT("n", 1), SG_KV_END);
    sg_log_info("two", SG_KV_INT("n", 2), SG_KV_END);
    assert_int_equal(drain(p[0], buf, sizeof buf), 0); /* held back */
    sg_log_warn("three", SG_KV_END);                   /* flushes, in order */
    drain(p[0], buf, sizeof buf);
    char *a = strstr(buf, "\"one\""), *b = strstr(buf, "\"two\""), *c = strstr(buf, "\"three\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    sg_log_info("four", SG_KV_END);
    sg_log_flush();
    drain(p[0], buf, sizeof buf);
    assert_non_null(strstr(buf, "\"four\""));
    /* more than the cap: earlier lines are written, nothing is lost */
    int seen = 0;
    for (int i = 0; i < 100; i++)
        sg_log_info("filler line with some length to overflow the batch", SG_KV_INT("i", i),
                    SG_KV_END);
    sg_log_flush();
    for (;;) {
        size_t n = drain(p[0], buf, sizeof buf);
        if (!n)
            break;
        for (char *q = buf; (q = strstr(q, "filler")); q++)
            seen++;
    }
    assert_int_equal(seen, 100);
    sg_log_set_buffered(0);
    sg_log_info("direct", SG_KV_END);
    drain(p[0], buf, sizeof buf);
    assert_non_null(strstr(buf, "\"direct\""));
    sg_log_set_fd(1);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_buffered)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
