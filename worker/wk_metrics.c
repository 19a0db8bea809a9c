/* Why: see metrics.h. */
#include "wk_metrics.h"

#include <stdlib.h>

struct wk_metrics *wk_metrics_new(void)
{
    struct wk_metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->reg = sg_metrics_new())) {
        free(m);
        return NULL;
    }
    static const double buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    m->db_errors = sg_metrics_counter(m->reg, "singularity_db_errors_total",
                                      "PostgreSQL connection and statement errors.", NULL);
    m->jobs = sg_metrics_counter(m->reg, "singularity_worker_jobs_total",
                                 "Jobs run, by kind and outcome.", "kind,outcome");
    m->job_duration = sg_metrics_histogram(m->reg, "singularity_worker_job_duration_seconds",
                                           "Time from taking a job to finishing it.", NULL, buckets,
                                           sizeof buckets / sizeof buckets[0]);
    m->gh_requests = sg_metrics_counter(m->reg, "singularity_github_requests_total",
                                        "Requests to the GitHub API, by HTTP status.", "code");
    m->gh_ratelimit = sg_metrics_gauge(m->reg, "singularity_github_ratelimit_remaining",
                                       "X-RateLimit-Remaining of the last GitHub answer.", NULL);
    if (!sg_queue_gauges_register(&m->queue, m->reg) || !m->db_errors || !m->jobs ||
        !m->job_duration || !m->gh_requests || !m->gh_ratelimit) {
        wk_metrics_free(m);
        return NULL;
    }
    return m;
}

void wk_metrics_free(struct wk_metrics *m)
{
    if (!m)
        return;
    sg_metrics_free(m->reg);
    free(m);
}
