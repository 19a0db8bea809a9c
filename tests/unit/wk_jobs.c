/* Why: the retry schedule and the error classification decide whether a job is retried, ended or
 * handed back; both are pure functions, tested here without servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "wk_jobs.h"
#include "wk_metrics.h"

static void test_backoff_doubles_with_equal_jitter(void **state)
{
    const int64_t now = 1000000;
    /* rnd 0: exactly half the step; rnd ~1: the whole step. */
    assert_int_equal(wk_jobs_retry_due(1, 2000, 600000, 0.0, now, 0) - now, 1000);
    assert_true(wk_jobs_retry_due(1, 2000, 600000, 0.9999999, now, 0) - now <= 2000);
    assert_true(wk_jobs_retry_due(1, 2000, 600000, 0.9999999, now, 0) - now >= 1999);
    assert_int_equal(wk_jobs_retry_due(2, 2000, 600000, 0.0, now, 0) - now, 2000);
    assert_int_equal(wk_jobs_retry_due(3, 2000, 600000, 0.0, now, 0) - now, 4000);
    assert_int_equal(wk_jobs_retry_due(4, 2000, 600000, 0.5, now, 0) - now,
                     12000); /* 8000 + 8000 * 0.5 */
    for (int a = 1; a < 40; a++) {
        int64_t d = wk_jobs_retry_due(a, 2000, 600000, 0.7, now, 0) - now;
        assert_true(d >= 1000);
        assert_true(d <= 600000);
    }
}

static void test_backoff_is_capped(void **state)
{
    const int64_t now = 5;
    assert_int_equal(wk_jobs_retry_due(30, 2000, 60000, 0.0, now, 0) - now, 30000);
    assert_int_equal(wk_jobs_retry_due(1000, 2000, 60000, 0.0, now, 0) - now, 30000);
    /* Nonsense inputs still give a sane delay. */
    assert_true(wk_jobs_retry_due(0, 0, 0, -1.0, now, 0) >= now);
}

static void test_backoff_honours_github_retry_time(void **state)
{
    const int64_t now = 1000000;
    /* GitHub's reset in 60 s beats a 1 s backoff... */
    int64_t due = wk_jobs_retry_due(1, 2000, 600000, 0.0, now, now + 60000);
    assert_int_equal(due, now + 60000);
    due = wk_jobs_retry_due(1, 2000, 600000, 0.5, now, now + 60000);
    assert_true(due >= now + 60000 && due <= now + 61000);
    /* ...but a retry time already past does not shorten the backoff. */
    due = wk_jobs_retry_due(3, 2000, 600000, 0.0, now, now - 5000);
    assert_int_equal(due, now + 4000);
}

static void test_classify(void **state)
{
    assert_int_equal(wk_jobs_classify(SG_ERR_DB), WK_DISP_RETRY);
    assert_int_equal(wk_jobs_classify(SG_ERR_REDIS), WK_DISP_RETRY);
    assert_int_equal(wk_jobs_classify(SG_ERR_UPSTREAM), WK_DISP_RETRY);
    assert_int_equal(wk_jobs_classify(SG_ERR_RATE_LIMITED), WK_DISP_RETRY);
    assert_int_equal(wk_jobs_classify(SG_ERR_HTTP), WK_DISP_RETRY);
    assert_int_equal(wk_jobs_classify(SG_ERR_TIMEOUT), WK_DISP_RETRY);
    assert_int_equal(wk_jobs_classify(SG_ERR_NOT_FOUND), WK_DISP_PERMANENT);
    assert_int_equal(wk_jobs_classify(SG_ERR_AUTH), WK_DISP_PERMANENT);
    assert_int_equal(wk_jobs_classify(SG_ERR_PARSE), WK_DISP_PERMANENT);
    assert_int_equal(wk_jobs_classify(SG_ERR_INVALID), WK_DISP_PERMANENT);
    assert_int_equal(wk_jobs_classify(SG_ERR_TOO_LARGE), WK_DISP_PERMANENT);
    assert_int_equal(wk_jobs_classify(SG_ERR_SHUTDOWN), WK_DISP_SHUTDOWN);
}

static void test_outcome_names(void **state)
{
    assert_string_equal(wk_outcome_str(WK_OUT_COMPLETED), "completed");
    assert_string_equal(wk_outcome_str(WK_OUT_REUSED), "reused");
    assert_string_equal(wk_outcome_str(WK_OUT_DEAD), "dead");
    assert_string_equal(wk_outcome_str(WK_OUT_LOST), "lost");
    assert_string_equal(wk_outcome_str((enum wk_outcome)99), "unknown");
}

static void test_metrics_names(void **state)
{
    struct wk_metrics *m = wk_metrics_new();
    assert_non_null(m);
    const char *l[] = {"analyze", "completed"};
    sg_metric_inc(m->jobs, l);
    struct sg_buf b;
    sg_buf_init(&b, 0);
    assert_int_equal(sg_metrics_render(m->reg, &b), SG_OK);
    const char *want[] = {"analysis_queue_length",
                          "analysis_queue_inflight",
                          "analysis_queue_delayed",
                          "analysis_queue_dead",
                          "analysis_queue_oldest_age_seconds",
                          "singularity_db_errors_total",
                          "singularity_worker_jobs_total{kind=\"analyze\",outcome=\"completed\"} 1",
                          "singularity_worker_job_duration_seconds_bucket",
                          "singularity_github_requests_total",
                          "singularity_github_ratelimit_remaining"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(strstr(sg_buf_str(&b), want[i]));
    sg_buf_free(&b);
    wk_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_with_equal_jitter),
        cmocka_unit_test(test_backoff_is_capped),
        cmocka_unit_test(test_backoff_honours_github_retry_time),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_outcome_names),
        cmocka_unit_test(test_metrics_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
