/* Why: the job runner — what happens to one job line taken from the queue, from parsing to exactly
 * one of: acknowledged (done, reused, or failed permanently with a check run saying why), delayed
 * (a transient failure, retried with exponential backoff and jitter or at GitHub's Retry-After /
 * X-RateLimit-Reset), dead (MAX_ATTEMPTS reached or unparseable, with last_error), or returned to
 * the queue (shutdown). The analysis row in PostgreSQL is the idempotency guard (db.h), so a job
 * delivered twice or retried after a crash never doubles an analysis or a check run.
 *
 * Ownership: struct wk_runner borrows everything it points to. */
#ifndef WK_JOBS_H
#define WK_JOBS_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"

struct wk_config;
struct wk_queue;
struct wk_db;
struct wk_github;
struct wk_metrics;

enum wk_outcome {
    WK_OUT_COMPLETED, /* analysed and reported / synced */
    WK_OUT_REUSED,    /* a completed analysis of this commit existed */
    WK_OUT_FAILED,    /* permanent failure, reported on the check run */
    WK_OUT_RETRIED,   /* delayed for a later attempt */
    WK_OUT_DEFERRED,  /* another live worker is on this commit; looked at again shortly */
    WK_OUT_DEAD,      /* moved to analysis_queue:dead */
    WK_OUT_RETURNED,  /* handed back to analysis_queue on shutdown */
    WK_OUT_LOST,      /* no longer ours (reaped while we worked); nothing changed */
};
const char *wk_outcome_str(enum wk_outcome o);

/* How a failed step is handled. */
enum wk_disposition { WK_DISP_RETRY, WK_DISP_PERMANENT, WK_DISP_SHUTDOWN };
enum wk_disposition wk_jobs_classify(enum sg_err e);

/* Delay before attempt number `attempt` (1 = first retry): min(max_ms, base_ms * 2^(attempt-1))
 * with "equal jitter" (half fixed, half random; rnd in [0,1)), and never before retry_at_ms when
 * GitHub named a time (now_ms is the current unix time). Returns the due time in unix ms. */
int64_t wk_jobs_retry_due(int attempt, int64_t base_ms, int64_t max_ms, double rnd, int64_t now_ms,
                          int64_t retry_at_ms);

struct wk_runner {
    const struct wk_config *cfg;
    struct wk_queue *queue;
    struct wk_db *db;
    struct wk_github *gh; /* NULL when no App is configured (sync/analyze fail) */
    struct wk_metrics *metrics;
    const char *worker_id;
    atomic_bool *stopping;          /* set on SIGTERM */
    atomic_llong *stop_deadline_ms; /* monotonic ms by which a held job must be handed back */
    uint64_t db_errors_seen;
    /* The next job, taken with the last ack (already in our processing list), for the loop to run
     * instead of taking one; NULL when none (malloc'ed, the loop owns it). */
    char *next;
    size_t next_len;
};

/* Runs one job line taken from the queue (still in our processing list) to its end. */
enum wk_outcome wk_jobs_run(struct wk_runner *r, const char *line, size_t len);

#endif
