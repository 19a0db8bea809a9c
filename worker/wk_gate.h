/* Why: a job's side of judging the change (DESIGN.md section 9): finding the base analysis, or
 * making it when the base commit was never analysed (a second tarball stream in the same job,
 * stored with trigger 'base' and no check run, reused by later jobs), and classifying the head's
 * result against it.
 *
 * Ownership: wk_gate_find_or_analyse_base() fills a struct wk_db_gate_base the caller frees with
 * wk_db_gate_base_free(). */
#ifndef WK_GATE_H
#define WK_GATE_H

#include "wk_db_gate.h"
#include "wk_github.h"
#include "wk_jobs.h"
#include "sg_job.h"

/* Statistics for the job's log line and the tests. */
struct wk_gate_stats {
    bool base_analysed; /* the base commit was downloaded and analysed in this job */
    uint64_t base_bytes;
    int64_t base_ms;
};

/* The base of job (base_sha, else the ref's previous analysis). When base_sha has no completed
 * analysis, analyses it now and stores it. out->found false: no base (the overall rule applies).
 * Errors: database (retryable), GitHub (as wk_github_tarball: err says which). Not returned: a
 * base commit GitHub does not have (404: the branch's previous analysis is used instead) and a
 * base archive that cannot be analysed (the job goes on without a base). */
enum sg_err wk_gate_find_or_analyse_base(struct wk_runner *r, const struct sg_job *job,
                                         int64_t deadline_ms, struct wk_db_gate_base *out,
                                         struct wk_gate_stats *st, struct wk_github_error *err);

/* The files renamed between the base and the head (GitHub's compare API, one request), so their
 * findings keep their identity. Best effort: on any failure, or with no base, out stays empty and
 * the failure is logged (renamed files' findings then count as new and fixed). */
void wk_gate_renames(struct wk_runner *r, const struct sg_job *job,
                     const struct wk_db_gate_base *base, struct wk_github_renames *out);

#endif
