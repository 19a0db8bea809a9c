/* Why: the worker's Prometheus registry and the handles every part of the worker updates (DESIGN.md
 * section 7 names): made once at start, served by /metrics (http.c), updated by the job runner,
 * the housekeeping thread and the GitHub client. The queue gauges are common/'s, so the ingress's
 * /metrics and the worker's never disagree.
 *
 * Ownership: wk_metrics_new() returns a set of metric handles freed (with its registry) by
 * wk_metrics_free(); the handles are valid until then. */
#ifndef WK_METRICS_H
#define WK_METRICS_H

#include "sg_metrics.h"
#include "sg_queue_stats.h"

struct wk_metrics {
    struct sg_metrics *reg;
    struct sg_queue_gauges queue;   /* analysis_queue_* (common/sg_queue_stats.h) */
    struct sg_metric *db_errors;    /* singularity_db_errors_total */
    struct sg_metric *jobs;         /* singularity_worker_jobs_total{kind,outcome} */
    struct sg_metric *job_duration; /* singularity_worker_job_duration_seconds */
    struct sg_metric *gh_requests;  /* singularity_github_requests_total{code} */
    struct sg_metric *gh_ratelimit; /* singularity_github_ratelimit_remaining */
};
struct wk_metrics *wk_metrics_new(void);
void wk_metrics_free(struct wk_metrics *m);

#endif
