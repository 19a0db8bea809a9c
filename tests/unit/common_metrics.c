/* Why: /metrics is scraped by Prometheus and drives autoscaling; its text must be exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sg_metrics.h"

static void test_render(void **state)
{
    struct sg_metrics *m = sg_metrics_new();
    struct sg_metric *g = sg_metrics_gauge(m, "analysis_queue_length", "Jobs waiting.", NULL);
    struct sg_metric *c = sg_metrics_counter(m, "singularity_ingress_requests_total",
                                             "Webhook requests.", "code,event");
    static const double bounds[] = {0.005, 0.5};
    struct sg_metric *h = sg_metrics_histogram(m, "lat_seconds", "Latency.", NULL, bounds, 2);
    sg_metric_set(g, NULL, 12);
    sg_metric_inc(c, (const char *[]){"202", "push"});
    sg_metric_inc(c, (const char *[]){"202", "push"});
    sg_metric_inc(c, (const char *[]){"401", "we\"ird"});
    sg_metric_observe(h, NULL, 0.001);
    sg_metric_observe(h, NULL, 0.1);
    sg_metric_observe(h, NULL, 3);
    assert_true(sg_metric_value(c, (const char *[]){"202", "push"}) == 2.0);
    struct sg_buf b;
    sg_buf_init(&b, 0);
    sg_metrics_render(m, &b);
    assert_string_equal(sg_buf_str(&b),
                        "# HELP analysis_queue_length Jobs waiting.\n"
                        "# TYPE analysis_queue_length gauge\n"
                        "analysis_queue_length 12\n"
                        "# HELP singularity_ingress_requests_total Webhook requests.\n"
                        "# TYPE singularity_ingress_requests_total counter\n"
                        "singularity_ingress_requests_total{code=\"202\",event=\"push\"} 2\n"
                        "singularity_ingress_requests_total{code=\"401\",event=\"we\\\"ird\"} 1\n"
                        "# HELP lat_seconds Latency.\n"
                        "# TYPE lat_seconds histogram\n"
                        "lat_seconds_bucket{le=\"0.005\"} 1\n"
                        "lat_seconds_bucket{le=\"0.5\"} 2\n"
                        "lat_seconds_bucket{le=\"+Inf\"} 3\n"
                        "lat_seconds_sum 3.101\n"
                        "lat_seconds_count 3\n");
    sg_buf_free(&b);
    sg_metrics_free(m);
}

static void test_series_cap(void **state)
{
    struct sg_metrics *m = sg_metrics_new();
    struct sg_metric *c = sg_metrics_counter(m, "x_total", "x", "k");
    char v[16];
    for (int i = 0; i < SG_METRIC_MAX_SERIES + 10; i++) {
        snprintf(v, sizeof v, "%d", i);
        sg_metric_inc(c, (const char *[]){v});
    }
    snprintf(v, sizeof v, "%d", SG_METRIC_MAX_SERIES + 5);
    assert_true(sg_metric_value(c, (const char *[]){v}) == 0.0);
    assert_true(sg_metric_value(c, (const char *[]){"0"}) == 1.0);
    sg_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_series_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
