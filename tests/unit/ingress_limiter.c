/* Why: the failed-signature limiter decides when a client address gets 429; its window, its
 * independence between addresses and its fixed-size table (an attacker with many addresses can
 * evict entries but never grow memory or unblock itself by waiting less than the window) are
 * pinned here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "ingress_limiter.h"

static void test_window(void **state)
{
    (void)state;
    struct ingress_limiter *l = ingress_limiter_new(64, 2, 60);
    assert_non_null(l);
    assert_int_equal(ingress_limiter_blocked(l, "2001:db8::1", 100), 0); /* never seen */
    for (int i = 0; i < 3; i++)
        ingress_limiter_fail(l, "2001:db8::1", 100 + i);
    assert_int_equal(ingress_limiter_blocked(l, "2001:db8::1", 102), 58);
    assert_int_equal(ingress_limiter_blocked(l, "2001:db8::2", 102), 0);
    assert_int_equal(ingress_limiter_blocked(l, "2001:db8::1", 159), 1);
    /* a new window starts from zero */
    ingress_limiter_fail(l, "2001:db8::1", 160);
    assert_int_equal(ingress_limiter_blocked(l, "2001:db8::1", 160), 0);
    ingress_limiter_free(l);
    ingress_limiter_free(NULL);
}

static void test_bounded_table(void **state)
{
    (void)state;
    struct ingress_limiter *l = ingress_limiter_new(32, 1, 60);
    ingress_limiter_fail(l, "192.0.2.1", 1000);
    ingress_limiter_fail(l, "192.0.2.1", 1000);
    /* free slots, then expired ones, then the oldest window are taken first: many other
     * addresses failing with older windows do not push out a live block */
    char a[32];
    for (int i = 0; i < 20; i++) {
        snprintf(a, sizeof a, "198.51.100.%d", i);
        ingress_limiter_fail(l, a, 900);
    }
    assert_true(ingress_limiter_blocked(l, "192.0.2.1", 1001) > 0);
    ingress_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_window),
                                       cmocka_unit_test(test_bounded_table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
