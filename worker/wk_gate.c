/* Why: owns the job's base for the new-code gate (see gate.h). A pull request whose base was
 * analysed before costs one query and no download; one whose base never was pays one extra
 * tarball stream, once: the stored base serves every later pull request on it. */
#include "wk_gate.h"

#include <stdio.h>
#include <string.h>

#include "wk_config.h"
#include "sg_log.h"
#include "sg_time.h"

struct base_feed {
    struct an_session *an;
    int64_t deadline_ms;
    enum sg_err an_err;
};

static enum sg_err base_feed(void *ud, const void *buf, size_t len)
{
    struct base_feed *f = ud;
    if (sg_mono_ms() >= f->deadline_ms)
        return f->an_err = SG_ERR_TIMEOUT;
    enum sg_err e = an_feed(f->an, buf, len);
    if (e)
        f->an_err = e;
    return e;
}

/* Downloads and analyses the base commit and stores it as a completed analysis (trigger 'base').
 * A base whose archive cannot be analysed is logged and left out: the head is then judged by the
 * overall rule rather than failing the job. */
static enum sg_err analyse_base(struct wk_runner *r, const struct sg_job *job, int64_t deadline_ms,
                                struct wk_gate_stats *st, struct wk_github_error *err)
{
    const struct wk_config *cfg = r->cfg;
    struct an_options opts = {0};
    an_limits_default(&opts.limits);
    opts.limits.max_findings = (uint32_t)cfg->max_stored_findings;
    opts.deadline_ms = deadline_ms;
    struct an_session *an = an_new(&opts);
    struct an_result *res = NULL;
    struct wk_claim claim = {0};
    bool have_row = false;
    if (!an)
        return SG_ERR_NOMEM;
    struct base_feed f = {.an = an, .deadline_ms = deadline_ms};
    int64_t t0 = sg_mono_ms();
    enum sg_err e = wk_github_tarball(r->gh, job->installation, job->repo_full_name, job->base_sha,
                                      base_feed, &f, &st->base_bytes, err);
    st->base_analysed = true;
    if (!e)
        e = an_finish(an, &res);
    st->base_ms = sg_mono_ms() - t0;
    if (e && (f.an_err == SG_ERR_PARSE || f.an_err == SG_ERR_TOO_LARGE || e == SG_ERR_PARSE ||
              e == SG_ERR_TOO_LARGE)) {
        sg_log_warn("the base commit could not be analysed; judged without a base",
                    SG_KV_STR("base_sha", job->base_sha), SG_KV_STR("err", an_error(an)),
                    SG_KV_END);
        e = SG_OK;
        goto out;
    }
    if (e)
        goto out;
    e = wk_db_insert_base(r->db, job->repo_id, job->installation, job->base_sha, AN_ENGINE_VERSION,
                          r->worker_id, &claim);
    if (e)
        goto out;
    have_row = true;
    size_t stored = 0;
    e = wk_db_store_result(r->db, &claim, res, st->base_bytes, st->base_ms,
                           (size_t)cfg->max_stored_findings, &stored, NULL, NULL);
    if (!e)
        e = wk_db_complete(r->db, &claim, NULL, st->base_ms);
out:
    if (e && have_row)
        (void)wk_db_fail(r->db, &claim, "the base analysis could not be stored", st->base_ms);
    an_result_free(res);
    an_free(an);
    return e;
}

enum sg_err wk_gate_find_or_analyse_base(struct wk_runner *r, const struct sg_job *job,
                                         int64_t deadline_ms, struct wk_db_gate_base *out,
                                         struct wk_gate_stats *st, struct wk_github_error *err)
{
    memset(st, 0, sizeof *st);
    enum sg_err e = wk_db_find_gate_base(r->db, job->repo_id, AN_ENGINE_VERSION, job->base_sha,
                                         job->ref, job->sha, out);
    if (e || out->found || !job->base_sha || !*job->base_sha ||
        strcmp(job->base_sha, job->sha) == 0 || strspn(job->base_sha, "0") == strlen(job->base_sha))
        return e; /* found, or no base commit to analyse (a new branch's before is all zeros) */
    e = analyse_base(r, job, deadline_ms, st, err);
    if (e == SG_ERR_NOT_FOUND) {
        /* a force push's `before` may be gone from GitHub: judge against the branch's previous
         * analysis instead of failing the job */
        sg_log_warn(
            "the base commit is not on GitHub; judged against the branch's previous analysis",
            SG_KV_STR("base_sha", job->base_sha), SG_KV_END);
        return wk_db_find_gate_base(r->db, job->repo_id, AN_ENGINE_VERSION, NULL, job->ref,
                                    job->sha, out);
    }
    if (e)
        return e;
    return wk_db_find_gate_base(r->db, job->repo_id, AN_ENGINE_VERSION, job->base_sha, job->ref,
                                job->sha, out);
}

void wk_gate_renames(struct wk_runner *r, const struct sg_job *job,
                     const struct wk_db_gate_base *base, struct wk_github_renames *out)
{
    memset(out, 0, sizeof *out);
    if (!base->found || !strcmp(base->sha, job->sha))
        return;
    struct wk_github_error ge = {0};
    enum sg_err e = wk_github_compare_renames(r->gh, job->installation, job->repo_full_name,
                                              base->sha, job->sha, out, &ge);
    if (e)
        sg_log_warn("renames unknown: the compare request failed", SG_KV_STR("base_sha", base->sha),
                    SG_KV_STR("err", sg_err_str(e)), SG_KV_END);
    else if (out->truncated)
        sg_log_info("renames known for the first 300 changed files only (GitHub's compare limit)",
                    SG_KV_STR("base_sha", base->sha), SG_KV_END);
}
