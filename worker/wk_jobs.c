/* Why: see jobs.h. The order of an analyze job is chosen so that every crash point is safe:
 * claim the analysis row (DB) -> find (on a resumed row) or create the check run, its id kept in
 * memory -> stream the tarball into the engine -> store results + findings + the check-run id (one
 * transaction) -> complete the check run -> mark the row completed -> LREM. The check-run id is
 * stored with whatever ends the attempt: the result, a permanent failure (wk_db_fail) or handing
 * the job back for a retry or at shutdown (wk_db_release). A retry finds the row and resumes with
 * the same check run; one whose earlier attempt died before storing the id finds the check run on
 * GitHub by external_id (= the analysis id) instead of creating a second one. */
#include "wk_jobs.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_checkrun.h"
#include "wk_config.h"
#include "wk_db.h"
#include "wk_gate.h"
#include "wk_github.h"
#include "wk_metrics.h"
#include "wk_queue.h"
#include "an_analysis.h"
#include "sg_buf.h"
#include "sg_crypto.h"
#include "sg_job.h"
#include "sg_log.h"
#include "sg_time.h"

const char *wk_outcome_str(enum wk_outcome o)
{
    static const char *const names[] = {"completed", "reused", "failed",   "retried",
                                        "deferred",  "dead",   "returned", "lost"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "unknown";
}

enum wk_disposition wk_jobs_classify(enum sg_err e)
{
    if (e == SG_ERR_SHUTDOWN)
        return WK_DISP_SHUTDOWN;
    return sg_err_retryable(e) ? WK_DISP_RETRY : WK_DISP_PERMANENT;
}

int64_t wk_jobs_retry_due(int attempt, int64_t base_ms, int64_t max_ms, double rnd, int64_t now_ms,
                          int64_t retry_at_ms)
{
    if (attempt < 1)
        attempt = 1;
    if (base_ms < 1)
        base_ms = 1;
    if (max_ms < base_ms)
        max_ms = base_ms;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (rnd < 0)
        rnd = 0;
    if (rnd >= 1)
        rnd = 0.999999;
    int64_t delay = d / 2 + (int64_t)((double)(d - d / 2) * rnd);
    int64_t due = now_ms + delay;
    /* GitHub's time wins when later; a little jitter so a fleet does not retry in one burst. */
    if (retry_at_ms > 0 && retry_at_ms + (int64_t)(rnd * 1000) > due)
        due = retry_at_ms + (int64_t)(rnd * 1000);
    return due;
}

static double random01(void)
{
    uint32_t v = 0;
    char hex[9];
    if (sg_random_hex(hex, 4) == SG_OK) {
        for (int i = 0; i < 8; i++) {
            char c = hex[i];
            v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
    }
    return (double)v / 4294967296.0;
}

/* The failure of one step: error class, text, and GitHub's retry time if it named one. */
struct step_err {
    enum sg_err e;
    int64_t retry_at_ms;
    bool permanent; /* not retried whatever e's class (the time budget ran out) */
    char msg[300];
};

static void set_step(struct step_err *se, enum sg_err e, const char *what, const char *detail)
{
    se->e = e;
    se->permanent = false;
    snprintf(se->msg, sizeof se->msg, "%s: %s", what, detail && *detail ? detail : sg_err_str(e));
}

static void from_gh(struct step_err *se, enum sg_err e, const char *what,
                    const struct wk_github_error *ge)
{
    set_step(se, e, what, ge->message[0] ? ge->message : sg_err_str(e));
    se->retry_at_ms = ge->retry_at_ms;
}

static bool past_deadline(struct wk_runner *r)
{
    return atomic_load(r->stopping) && sg_mono_ms() >= atomic_load(r->stop_deadline_ms);
}

/* Queue operations that end a job are retried while Redis is away: the job is safe in our
 * processing list meanwhile, and giving up would leave it there while we take another. */
typedef enum sg_err (*finish_fn)(struct wk_runner *r, const char *line, size_t len,
                                 const char *new_line, int64_t due, bool *ours);
/* Unless the worker is stopping, the ack also takes the next job (one Redis round trip instead of
 * two while the queue has work). A retry after a lost reply may leave a job taken by the first
 * try in our processing list; the loop's wk_queue_recover returns it after the reconnect. */
static enum sg_err do_ack(struct wk_runner *r, const char *l, size_t len, const char *n, int64_t d,
                          bool *o)
{
    (void)n;
    (void)d;
    if (atomic_load(r->stopping) || r->next)
        return wk_queue_ack(r->queue, l, len, o);
    return wk_queue_ack_take(r->queue, l, len, o, &r->next, &r->next_len);
}
static enum sg_err do_delay(struct wk_runner *r, const char *l, size_t len, const char *n,
                            int64_t d, bool *o)
{
    return wk_queue_delay(r->queue, l, len, n, d, o);
}
static enum sg_err do_bury(struct wk_runner *r, const char *l, size_t len, const char *n, int64_t d,
                           bool *o)
{
    (void)d;
    return wk_queue_bury(r->queue, l, len, n, o);
}
static enum sg_err do_return(struct wk_runner *r, const char *l, size_t len, const char *n,
                             int64_t d, bool *o)
{
    (void)d;
    return wk_queue_return(r->queue, l, len, n, o);
}

/* line is the held job as taken: len bytes, possibly with NULs (binary-safe all the way to Redis,
 * so even such a line can be acked or dead-lettered). */
static bool finish(struct wk_runner *r, finish_fn fn, const char *line, size_t len,
                   const char *new_line, int64_t due)
{
    bool ours = false;
    int64_t last_log = 0;
    for (;;) {
        enum sg_err e = fn(r, line, len, new_line, due, &ours);
        if (!e)
            break;
        if (atomic_load(r->stopping) && sg_mono_ms() >= atomic_load(r->stop_deadline_ms) + 2000) {
            sg_log_error("giving up finishing the job: Redis unavailable at shutdown; the reaper "
                         "will return it",
                         SG_KV_STR("err", wk_queue_error(r->queue)), SG_KV_END);
            return false;
        }
        if (sg_mono_ms() - last_log > 5000) {
            sg_log_warn("cannot finish the job in Redis, retrying",
                        SG_KV_STR("err", wk_queue_error(r->queue)), SG_KV_END);
            last_log = sg_mono_ms();
        }
        usleep(500 * 1000);
    }
    if (!ours)
        sg_log_warn("job no longer in our processing list (reclaimed by a reaper); left as it is",
                    SG_KV_END);
    return ours;
}

/* Tarball bytes -> engine, stopping when the shutdown deadline has come or the job's time budget
 * (ANALYSIS_TIMEOUT_S) has run out; the engine checks the same budget inside a chunk. */
struct feed_ctx {
    struct wk_runner *r;
    struct an_session *an;
    int64_t deadline_ms; /* sg_mono_ms() */
    bool timed_out;
    enum sg_err an_err;
};

static enum sg_err feed(void *ud, const void *buf, size_t len)
{
    struct feed_ctx *f = ud;
    if (past_deadline(f->r))
        return SG_ERR_SHUTDOWN;
    if (sg_mono_ms() >= f->deadline_ms) {
        f->timed_out = true;
        return SG_ERR_TIMEOUT;
    }
    enum sg_err e = an_feed(f->an, buf, len);
    if (e)
        f->an_err = e;
    return e;
}

struct job_ctx {
    struct wk_runner *r;
    struct sg_job *job;
    struct wk_claim claim;
    bool claimed;
    bool new_check_run; /* created by this attempt: GitHub holds none of our annotations yet */
    int64_t t0;
    size_t findings_stored;
    uint64_t findings_total;
    int64_t store_ms;    /* analysis row + findings COPY, one transaction */
    int64_t classify_us; /* new / existing / fixed against the base */
    const char *conclusion;
    double score;
};

/* A permanent failure: the analysis ends as failed and the check run says why (best effort: a
 * check run that cannot be updated now is logged, not retried, since the row is final). */
static void report_failure(struct job_ctx *c, const char *message)
{
    struct wk_runner *r = c->r;
    int64_t dur = sg_mono_ms() - c->t0;
    if (c->claimed && wk_db_fail(r->db, &c->claim, message, dur) != SG_OK)
        sg_log_warn("could not mark the analysis failed", SG_KV_STR("err", wk_db_error(r->db)),
                    SG_KV_END);
    if (!r->gh || c->job->kind != SG_JOB_ANALYZE || !c->job->repo_full_name || !c->job->sha)
        return;
    struct wk_github_error ge = {0};
    enum sg_err e = wk_github_checkrun_fail(r->gh, c->job->installation, c->job->repo_full_name,
                                            c->job->sha, c->claimed ? c->claim.check_run_id : 0,
                                            "Analysis failed", message, &ge);
    if (e)
        sg_log_warn("could not report the failure on the check run", SG_KV_STR("err", ge.message),
                    SG_KV_END);
}

/* The job's time budget ran out: a permanent failure (the same commit would run out again), with
 * a check-run message that says so. */
static void out_of_time(struct job_ctx *c, struct step_err *se)
{
    se->e = SG_ERR_TIMEOUT;
    se->permanent = true;
    se->retry_at_ms = 0;
    snprintf(se->msg, sizeof se->msg,
             "The analysis stopped after %lld s, the time budget of a job (ANALYSIS_TIMEOUT_S).",
             (long long)c->r->cfg->analysis_timeout_s);
}

static bool owner_alive(void *ud, const char *worker_id)
{
    struct wk_runner *r = ud;
    bool alive = true; /* when Redis cannot tell, assume alive: deferring is the safe side */
    wk_queue_worker_alive(r->queue, worker_id, sg_now_ms(), r->cfg->worker_dead_after_s * 1000,
                          &alive);
    return alive;
}

/* The check run an earlier attempt on this (resumed) analysis created, by external_id = the
 * analysis id; *id is 0 when there is none. */
static enum sg_err find_earlier_check_run(struct job_ctx *c, int64_t *id,
                                          struct wk_github_error *ge)
{
    char ext[32];
    snprintf(ext, sizeof ext, "%lld", (long long)c->claim.analysis_id);
    *id = 0;
    enum sg_err e = wk_github_checkrun_find(c->r->gh, c->job->installation, c->job->repo_full_name,
                                            c->job->sha, ext, id, ge);
    if (!e && *id > 0)
        sg_log_info("reusing the check run an earlier attempt created",
                    SG_KV_INT("analysis", c->claim.analysis_id), SG_KV_INT("check_run", *id),
                    SG_KV_END);
    return e;
}

/* A job taken back from workers that died or were stopped in the middle of it as often as a job
 * may be tried (the reaper and the hard stop count those attempts) is not run again. Its analysis
 * row is claimed so that it can be marked failed with its check run (found by external_id when an
 * earlier attempt created it); *done says when the commit turned out analysed (reused) or taken by
 * a live worker (deferred). Best effort: the job is buried whatever PostgreSQL or GitHub say. */
static void claim_to_give_up(struct job_ctx *c, enum wk_outcome *done)
{
    struct wk_runner *r = c->r;
    struct sg_job *job = c->job;
    if (job->kind != SG_JOB_ANALYZE)
        return;
    if (wk_db_claim(r->db, job, AN_ENGINE_VERSION, r->worker_id, owner_alive, r,
                    r->cfg->job_stale_s, &c->claim) != SG_OK) {
        sg_log_warn("could not claim the analysis to mark it failed",
                    SG_KV_STR("err", wk_db_error(r->db)), SG_KV_END);
        return;
    }
    if (c->claim.action == WK_CLAIM_REUSE || c->claim.action == WK_CLAIM_DEFER) {
        *done = c->claim.action == WK_CLAIM_REUSE ? WK_OUT_REUSED : WK_OUT_DEFERRED;
        return;
    }
    c->claimed = true;
    int64_t id = 0;
    struct wk_github_error ge = {0};
    if (c->claim.check_run_id <= 0 && c->claim.resumed && r->gh &&
        find_earlier_check_run(c, &id, &ge) == SG_OK && id > 0)
        c->claim.check_run_id = id;
}

/* One analyze job. Returns SG_OK when the job is over (completed or reused: *done says which);
 * otherwise se says what failed and how it is handled. */
static enum sg_err run_analyze(struct job_ctx *c, struct step_err *se, enum wk_outcome *done)
{
    struct wk_runner *r = c->r;
    struct sg_job *job = c->job;
    const struct wk_config *cfg = r->cfg;
    struct an_session *an = NULL;
    struct an_result *res = NULL;
    struct wk_db_base base = {0};
    struct wk_db_gate_base gb = {0};
    struct wk_github_renames renames = {0};
    struct wk_checkrun_output out = {0};
    struct wk_github_error ge = {0};
    enum sg_err e;
    *done = WK_OUT_COMPLETED;

    if (!r->gh) {
        set_step(se, SG_ERR_CONFIG, "configuration", "APP_ID and PRIVATE_KEY are not set");
        return SG_ERR_CONFIG;
    }
    e = wk_db_claim(r->db, job, AN_ENGINE_VERSION, r->worker_id, owner_alive, r, cfg->job_stale_s,
                    &c->claim);
    if (e) {
        set_step(se, e, "database", wk_db_error(r->db));
        return e;
    }
    if (c->claim.action == WK_CLAIM_REUSE) {
        *done = WK_OUT_REUSED;
        return SG_OK;
    }
    if (c->claim.action == WK_CLAIM_DEFER) {
        *done = WK_OUT_DEFERRED;
        return SG_OK;
    }
    c->claimed = true;
    char ext[32];
    snprintf(ext, sizeof ext, "%lld", (long long)c->claim.analysis_id);
    if (c->claim.check_run_id <= 0) {
        int64_t id = 0;
        if (c->claim.resumed) {
            /* An earlier attempt may have created the check run and died (or lost PostgreSQL)
             * before storing its id: find it by external_id rather than leave it in_progress
             * forever next to a second one. A fresh row cannot have one, so no lookup there. */
            e = find_earlier_check_run(c, &id, &ge);
            if (e) {
                from_gh(se, e, "looking up the check run", &ge);
                goto out;
            }
        }
        if (id <= 0) {
            e = wk_github_checkrun_create(r->gh, job->installation, job->repo_full_name, job->sha,
                                          ext, NULL, &id, &ge);
            c->new_check_run = e == SG_OK;
        }
        if (e) {
            from_gh(se, e, "creating the check run", &ge);
            goto out;
        }
        /* Stored with whatever ends this attempt (the result, a failure, or handing the job
         * back for a retry), so the next attempt completes this check run. Only a worker that
         * dies before that leaves it unstored, and the lookup by external_id above finds it. */
        c->claim.check_run_id = id;
    }

    /* the base to judge the change against (DESIGN.md section 9), analysed now if never before;
     * both analyses share the job's one time budget */
    int64_t deadline_ms = sg_mono_ms() + cfg->analysis_timeout_s * 1000;
    struct wk_gate_stats gs;
    e = wk_gate_find_or_analyse_base(r, job, deadline_ms, &gb, &gs, &ge);
    if (e) {
        if (e == SG_ERR_DB || e == SG_ERR_NOMEM)
            set_step(se, e, "database", wk_db_error(r->db));
        else if (e == SG_ERR_TIMEOUT)
            out_of_time(c, se);
        else
            from_gh(se, e, "downloading the base commit's archive", &ge);
        goto out;
    }

    struct an_options opts = {0};
    an_limits_default(&opts.limits);
    opts.limits.max_findings = (uint32_t)cfg->max_stored_findings;
    wk_gate_renames(r, job, &gb, &renames);
    opts.renames = renames.v;
    opts.nrenames = renames.n;
    opts.deadline_ms = deadline_ms;
    an = an_new(&opts);
    if (!an) {
        set_step(se, SG_ERR_NOMEM, "analysis", "out of memory");
        e = SG_ERR_NOMEM;
        goto out;
    }
    struct feed_ctx fc = {.r = r, .an = an, .deadline_ms = opts.deadline_ms};
    uint64_t bytes = 0;
    int64_t t_dl = sg_mono_ms();
    e = wk_github_tarball(r->gh, job->installation, job->repo_full_name, job->sha, feed, &fc,
                          &bytes, &ge);
    if (e) {
        if (fc.timed_out || fc.an_err == SG_ERR_TIMEOUT)
            out_of_time(c, se);
        else if (fc.an_err)
            set_step(se, SG_ERR_PARSE, "the repository archive could not be analysed",
                     an_error(an));
        else if (e == SG_ERR_SHUTDOWN)
            set_step(se, e, "download", "stopped for shutdown");
        else
            from_gh(se, e, "downloading the repository archive", &ge);
        goto out;
    }
    e = an_finish(an, &res);
    if (e == SG_ERR_TIMEOUT) {
        out_of_time(c, se);
        goto out;
    }
    if (e) {
        set_step(se, e, "the repository archive could not be analysed", an_error(an));
        goto out;
    }
    int64_t t_cl = sg_mono_us();
    if (gb.found && (e = an_classify(res, gb.result)) != SG_OK) {
        set_step(se, e, "classifying the findings against the base", sg_err_str(e));
        goto out;
    }
    c->classify_us = sg_mono_us() - t_cl;
    int64_t dl_ms = sg_mono_ms() - t_dl;
    int64_t t_store = sg_mono_ms();
    struct wk_db_base_query bq = {.gate_base_id = gb.found ? gb.id : 0,
                                  .repository_id = job->repo_id,
                                  .head_sha = job->sha,
                                  .base_sha = job->base_sha,
                                  .ref = job->ref,
                                  .engine_version = AN_ENGINE_VERSION};
    e = wk_db_store_result(r->db, &c->claim, res, bytes, dl_ms, (size_t)cfg->max_stored_findings,
                           &c->findings_stored, &bq, &base);
    c->store_ms = sg_mono_ms() - t_store;
    if (e) {
        set_step(se, e, "database", wk_db_error(r->db));
        goto out;
    }
    c->findings_total = res->findings_total;
    c->score = res->score;
    struct wk_checkrun_base cb = {0}, *cbp = NULL;
    if (base.found) {
        cb.sha = base.sha;
        cb.score = base.score;
        cb.totals = base.totals;
        cb.findings_total = base.findings_total;
        cb.rule_counts = base.rule_counts;
        cb.nrule_counts = base.nrule_counts;
        cb.engine_version = base.engine_version;
        cbp = &cb;
    }
    double trend[8];
    size_t ntrend = 0;
    if (res->has_base && wk_db_trend(r->db, job->repo_id, job->ref, AN_ENGINE_VERSION, trend,
                                     sizeof trend / sizeof trend[0], &ntrend) != SG_OK)
        ntrend = 0; /* the sparkline is a nicety: the check run goes out without it */
    struct wk_checkrun_render_opts ro = {
        .max_annotations = (size_t)cfg->max_annotations, .trend = trend, .ntrend = ntrend};
    e = wk_checkrun_render(res, cbp, &ro, &out);
    if (e) {
        set_step(se, e, "rendering the check run", sg_err_str(e));
        goto out;
    }
    if (past_deadline(r)) {
        set_step(se, SG_ERR_SHUTDOWN, "completing the check run", "stopped for shutdown");
        e = SG_ERR_SHUTDOWN;
        goto out;
    }
    e = wk_github_checkrun_complete(r->gh, job->installation, job->repo_full_name,
                                    c->claim.check_run_id, &out, c->new_check_run, &ge);
    if (e) {
        from_gh(se, e, "completing the check run", &ge);
        goto out;
    }
    c->conclusion = out.conclusion;
    e = wk_db_complete(r->db, &c->claim, out.conclusion, sg_mono_ms() - c->t0);
    if (e) {
        set_step(se, e, "database", wk_db_error(r->db));
        goto out;
    }
out:
    wk_checkrun_output_free(&out);
    wk_db_base_free(&base);
    wk_db_gate_base_free(&gb);
    wk_github_renames_free(&renames);
    an_result_free(res);
    an_free(an);
    return e;
}

/* Collects the repositories an installation can see, for wk_db_sync_installation. */
struct repo_list {
    struct wk_db_repo *v;
    size_t n, cap;
};

static enum sg_err collect_repo(void *ud, const struct wk_github_repo *repo)
{
    struct repo_list *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        if (cap > 100000)
            return SG_ERR_TOO_LARGE;
        struct wk_db_repo *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return SG_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    struct wk_db_repo *d = &l->v[l->n];
    d->id = repo->id;
    d->full_name = strdup(repo->full_name);
    d->default_branch = strdup(repo->default_branch);
    d->is_private = repo->is_private;
    if (!d->full_name || !d->default_branch) {
        free((char *)d->full_name);
        free((char *)d->default_branch);
        return SG_ERR_NOMEM;
    }
    l->n++;
    return SG_OK;
}

static void repo_list_free(struct repo_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->v[i].full_name);
        free((char *)l->v[i].default_branch);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* A sync job: the installation's state and repositories, refreshed from GitHub. */
static enum sg_err run_sync(struct job_ctx *c, struct step_err *se)
{
    struct wk_runner *r = c->r;
    struct sg_job *job = c->job;
    const char *action = job->action ? job->action : "";
    enum sg_err e;
    if (!job->installation) {
        set_step(se, SG_ERR_INVALID, "sync", "job has no installation");
        return SG_ERR_INVALID;
    }
    if (strcmp(action, "deleted") == 0 &&
        strcmp(job->event ? job->event : "", "installation") == 0) {
        e = wk_db_installation_deleted(r->db, job->installation);
        if (e)
            set_step(se, e, "database", wk_db_error(r->db));
        return e;
    }
    if (strcmp(action, "suspend") == 0) {
        e = wk_db_installation_suspended(r->db, job->installation, true);
        if (e)
            set_step(se, e, "database", wk_db_error(r->db));
        return e;
    }
    if (!r->gh) {
        set_step(se, SG_ERR_CONFIG, "configuration", "APP_ID and PRIVATE_KEY are not set");
        return SG_ERR_CONFIG;
    }
    struct wk_github_installation inst = {0};
    struct wk_github_error ge = {0};
    struct repo_list repos = {0};
    e = wk_github_installation_get(r->gh, job->installation, &inst, &ge);
    if (e == SG_ERR_NOT_FOUND) {
        /* Uninstalled meanwhile: the installation is gone, which is what sync records. */
        e = wk_db_installation_deleted(r->db, job->installation);
        if (e)
            set_step(se, e, "database", wk_db_error(r->db));
        goto out;
    }
    if (e) {
        from_gh(se, e, "reading the installation", &ge);
        goto out;
    }
    if (!inst.suspended) {
        e = wk_github_installation_repos(r->gh, job->installation, collect_repo, &repos, &ge);
        if (e) {
            from_gh(se, e, "listing the installation's repositories", &ge);
            goto out;
        }
        e = wk_db_sync_installation(r->db, job->installation, inst.account_login, inst.account_type,
                                    inst.repository_selection, false, repos.v, repos.n);
    } else {
        e = wk_db_installation_suspended(r->db, job->installation, true);
    }
    if (e)
        set_step(se, e, "database", wk_db_error(r->db));
    else
        c->findings_stored = repos.n; /* reported as "repos" in the log line */
out:
    repo_list_free(&repos);
    return e;
}

/* Encodes job with a new attempt count and last_error into out. */
static enum sg_err reencode(struct sg_job *job, int attempt, const char *last_error,
                            struct sg_buf *out)
{
    free(job->last_error);
    job->last_error = last_error ? strdup(last_error) : NULL;
    job->attempt = attempt;
    return sg_job_encode(job, out);
}

static void count(struct wk_runner *r, const char *kind, enum wk_outcome o, int64_t t0)
{
    const char *labels[] = {kind, wk_outcome_str(o)};
    sg_metric_inc(r->metrics->jobs, labels);
    sg_metric_observe(r->metrics->job_duration, NULL, (double)(sg_mono_ms() - t0) / 1000.0);
    uint64_t n = wk_db_error_count(r->db);
    if (n > r->db_errors_seen) {
        sg_metric_add(r->metrics->db_errors, NULL, (double)(n - r->db_errors_seen));
        r->db_errors_seen = n;
    }
}

enum wk_outcome wk_jobs_run(struct wk_runner *r, const char *line, size_t len)
{
    int64_t t0 = sg_mono_ms();
    struct sg_job job;
    char perr[200] = "";
    struct sg_buf nb;
    /* room for any line kept escaped in a dead entry or re-encoded (a byte becomes at most 6:
     * \u00XX, \ufffd), so a dead entry always carries its last error and a retried job is whole */
    sg_buf_init(&nb, SG_JOB_LINE_MAX * 6 + 4096);
    enum wk_outcome o;
    const char *kind = "unknown";

    if (sg_job_decode(line, len, &job, perr, sizeof perr) != SG_OK ||
        (job.kind == SG_JOB_ANALYZE &&
         (!job.repo_full_name || !job.repo_id || !sg_sha_valid(job.sha) || !job.installation))) {
        /* Unparseable: straight to the dead list with its last error, like every dead job. The
         * line may not be JSON at all, so it is kept verbatim as a string:
         * {"last_error":"...","raw":"<the line>"}, which `dead list` shows. */
        if (job.v == SG_JOB_VERSION && !perr[0])
            snprintf(perr, sizeof perr, "analyze job without installation, repo or a valid sha");
        sg_log_error("unparseable job moved to the dead list", SG_KV_STR("err", perr), SG_KV_END);
        size_t raw = len < SG_JOB_LINE_MAX ? len : SG_JOB_LINE_MAX;
        if (sg_buf_puts(&nb, "{\"last_error\":") || sg_buf_put_json_str(&nb, perr, strlen(perr)) ||
            sg_buf_puts(&nb, ",\"raw\":") || sg_buf_put_json_str(&nb, line, raw) ||
            sg_buf_printf(&nb, ",\"raw_bytes\":%zu}", len)) {
            sg_buf_reset(&nb); /* out of memory: the error and the size still go with it */
            sg_buf_puts(&nb, "{\"last_error\":");
            sg_buf_put_json_str(&nb, perr, strlen(perr));
            sg_buf_printf(&nb, ",\"raw_bytes\":%zu}", len);
        }
        o = finish(r, do_bury, line, len, sg_buf_str(&nb), 0) ? WK_OUT_DEAD : WK_OUT_LOST;
        sg_job_clear(&job);
        count(r, kind, o, t0);
        sg_buf_free(&nb);
        return o;
    }
    kind = sg_job_kind_str(job.kind);
    struct job_ctx c = {.r = r, .job = &job, .t0 = t0};
    struct step_err se = {0};
    enum wk_outcome done = WK_OUT_COMPLETED;
    /* Every line this thread logs until the job ends says which job it is about. */
    struct sg_log_context lc = {.delivery = job.delivery,
                                .installation = job.installation,
                                .repo = job.repo_full_name,
                                .sha = job.sha,
                                .attempt = job.attempt};
    sg_log_context_set(&lc);
    sg_log_info("job started", SG_KV_STR("job", kind), SG_KV_END);
    enum sg_err e = SG_OK;
    if (job.attempt >= r->cfg->max_attempts) {
        claim_to_give_up(&c, &done);
        if (done == WK_OUT_COMPLETED) { /* neither reused nor deferred: the job ends here */
            snprintf(se.msg, sizeof se.msg, "gave up after %d attempts; the last one: %s",
                     job.attempt, job.last_error ? job.last_error : "unknown");
            report_failure(&c, se.msg);
            reencode(&job, job.attempt, se.msg, &nb);
            o = finish(r, do_bury, line, len, sg_buf_str(&nb), 0) ? WK_OUT_DEAD : WK_OUT_LOST;
            sg_log_error("job taken back from stopped workers too often; moved to the dead list",
                         SG_KV_STR("job", kind), SG_KV_STR("err", se.msg), SG_KV_END);
            goto out;
        }
    } else {
        e = job.kind == SG_JOB_ANALYZE ? run_analyze(&c, &se, &done) : run_sync(&c, &se);
    }

    if (!e && done == WK_OUT_DEFERRED) {
        /* Not a failure: the same commit is being analysed by a live worker; look again soon
         * (then it is reused). The attempt count is unchanged. */
        int64_t due = sg_now_ms() + 1000 + (int64_t)(random01() * 1000);
        sg_job_encode(&job, &nb);
        o = finish(r, do_delay, line, len, sg_buf_str(&nb), due) ? WK_OUT_DEFERRED : WK_OUT_LOST;
        sg_log_info("commit being analysed by another worker; job deferred", SG_KV_STR("job", kind),
                    SG_KV_STR("owner", c.claim.owner), SG_KV_END);
        goto out;
    }
    if (!e) {
        o = finish(r, do_ack, line, len, NULL, 0) ? done : WK_OUT_LOST;
        sg_log_info(
            done == WK_OUT_REUSED ? "job done: commit already analysed" : "job done",
            SG_KV_STR("job", kind), SG_KV_INT("analysis", c.claim.analysis_id),
            SG_KV_INT("check_run", c.claim.check_run_id), SG_KV_STR("conclusion", c.conclusion),
            SG_KV_DBL("score", c.score), SG_KV_INT("findings", (long long)c.findings_total),
            SG_KV_INT("stored", (long long)c.findings_stored), SG_KV_INT("store_ms", c.store_ms),
            SG_KV_INT("classify_us", c.classify_us), SG_KV_STR("outcome", wk_outcome_str(o)),
            SG_KV_INT("dur_ms", sg_mono_ms() - t0), SG_KV_END);
        goto out;
    }
    enum wk_disposition disp = se.permanent ? WK_DISP_PERMANENT : wk_jobs_classify(e);
    if (disp == WK_DISP_SHUTDOWN || disp == WK_DISP_RETRY) {
        /* Handed back at shutdown counts as an attempt too, so a job that stalls every worker
         * until it is stopped reaches the dead list like one that fails. At shutdown there is no
         * time left to report on GitHub: a job at MAX_ATTEMPTS goes back, and the worker that
         * takes it buries it (claim_to_give_up). */
        int next = job.attempt + 1;
        if (disp == WK_DISP_RETRY && next >= r->cfg->max_attempts) {
            report_failure(&c, se.msg);
            reencode(&job, next, se.msg, &nb);
            o = finish(r, do_bury, line, len, sg_buf_str(&nb), 0) ? WK_OUT_DEAD : WK_OUT_LOST;
            sg_log_error("job failed too often; moved to the dead list", SG_KV_STR("job", kind),
                         SG_KV_INT("attempt", next), SG_KV_STR("err", se.msg),
                         SG_KV_INT("dur_ms", sg_mono_ms() - t0), SG_KV_END);
            goto out;
        }
        if (c.claimed)
            wk_db_release(r->db, &c.claim);
        reencode(&job, next, se.msg, &nb);
        if (disp == WK_DISP_SHUTDOWN) {
            o = finish(r, do_return, line, len, sg_buf_str(&nb), 0) ? WK_OUT_RETURNED : WK_OUT_LOST;
            sg_log_info("job handed back to the queue for shutdown", SG_KV_STR("job", kind),
                        SG_KV_INT("attempt", next), SG_KV_INT("dur_ms", sg_mono_ms() - t0),
                        SG_KV_END);
            goto out;
        }
        int64_t now = sg_now_ms();
        int64_t due = wk_jobs_retry_due(next, r->cfg->retry_base_ms, r->cfg->retry_max_ms,
                                        random01(), now, se.retry_at_ms);
        o = finish(r, do_delay, line, len, sg_buf_str(&nb), due) ? WK_OUT_RETRIED : WK_OUT_LOST;
        sg_log_warn("job failed; retry scheduled", SG_KV_STR("job", kind),
                    SG_KV_INT("attempt", next), SG_KV_INT("retry_in_ms", due - now),
                    SG_KV_STR("err", se.msg), SG_KV_INT("dur_ms", sg_mono_ms() - t0), SG_KV_END);
        goto out;
    }
    report_failure(&c, se.msg);
    o = finish(r, do_ack, line, len, NULL, 0) ? WK_OUT_FAILED : WK_OUT_LOST;
    sg_log_error("job failed permanently", SG_KV_STR("job", kind), SG_KV_STR("err", se.msg),
                 SG_KV_INT("dur_ms", sg_mono_ms() - t0), SG_KV_END);
out:
    sg_log_context_clear();
    count(r, kind, o, t0);
    sg_job_clear(&job);
    sg_buf_free(&nb);
    return o;
}
