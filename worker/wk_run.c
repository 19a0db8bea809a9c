/* Why: see run.h. The heartbeat runs on its own thread with its own Redis connection so a long
 * analysis never makes a live worker look dead; the reaper runs on every worker (the Lua script is
 * safe when they race), so there is no single point of failure. */
#include "wk_run.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wk_config.h"
#include "wk_db.h"
#include "wk_github.h"
#include "wk_http.h"
#include "wk_jobs.h"
#include "wk_metrics.h"
#include "wk_migrate.h"
#include "wk_queue.h"
#include "wk_redis.h"
#include "sg_crypto.h"
#include "sg_log.h"
#include "sg_time.h"

static atomic_bool g_stopping;
static atomic_llong g_stop_deadline_ms; /* soft: the job runner hands the job back by then */
static atomic_llong g_hard_deadline_ms; /* hard: the keeper hands it back and exits */
static int64_t g_grace_ms;

static void on_signal(int sig)
{
    (void)sig;
    if (!atomic_load(&g_stopping)) {
        int64_t now = sg_mono_ms();
        int64_t soft = g_grace_ms > 4000 ? g_grace_ms - 2000 : g_grace_ms / 2;
        int64_t hard = g_grace_ms > 1000 ? g_grace_ms - 500 : g_grace_ms;
        atomic_store(&g_stop_deadline_ms, (long long)(now + soft));
        atomic_store(&g_hard_deadline_ms, (long long)(now + hard));
        atomic_store(&g_stopping, true);
    }
}

void wk_run_worker_id(char *out, unsigned long outlen)
{
    char host[64] = "worker";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "worker");
    host[sizeof host - 1] = '\0';
    char rnd[9] = "00000000";
    sg_random_hex(rnd, 4);
    snprintf(out, outlen, "%s-%ld-%s", host, (long)getpid(), rnd);
}

/* The GitHub client's stop hook: a request still running when the soft deadline comes is ended,
 * so the runner can hand the job back itself (the keeper's hard stop is the last resort). */
static bool gh_should_stop(void *ud)
{
    (void)ud;
    return atomic_load(&g_stopping) && sg_mono_ms() >= atomic_load(&g_stop_deadline_ms);
}

struct keeper {
    const struct wk_config *cfg;
    struct wk_queue *q;
    struct wk_metrics *m;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    atomic_llong last_ok_ms; /* last successful heartbeat (mono) */
};

/* The job runner could not stop in time (blocked in a request to GitHub or PostgreSQL, each of
 * which has its own timeout, but longer than the grace): hand back from here whatever our
 * processing list holds (the job in hand, and one the last ack may have taken) and exit, so
 * SHUTDOWN_GRACE_S is kept. Both this and the runner finish jobs with atomic "only if still ours"
 * scripts, so whichever comes second changes nothing; a stopping runner takes no new job. */
static void hard_stop(struct keeper *k)
{
    int64_t moved = 0;
    if (wk_queue_hand_back(k->q,
                           "handed back at shutdown: the job did not stop within SHUTDOWN_GRACE_S",
                           &moved) == SG_OK &&
        moved)
        sg_log_warn("shutdown grace over: held jobs handed back to the queue",
                    SG_KV_INT("jobs", moved), SG_KV_END);
    wk_queue_leave(k->q, NULL);
    sg_log_info("worker stopped at the end of the shutdown grace", SG_KV_END);
    _exit(0);
}

/* Every interval: heartbeat, return dead workers' jobs, promote due retries, refresh gauges. */
static void *keeper_main(void *arg)
{
    struct keeper *k = arg;
    int64_t interval = k->cfg->worker_dead_after_s * 1000 / 4;
    if (interval > 2000)
        interval = 2000;
    if (interval < 200)
        interval = 200;
    int64_t last_err_log = 0;
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        pthread_mutex_unlock(&k->mu);
        int64_t now = sg_now_ms();
        int64_t reaped_w = 0, reaped_j = 0, promoted = 0;
        struct sg_queue_stats st;
        enum sg_err e = wk_queue_heartbeat(k->q, now);
        if (!e)
            e = wk_queue_reap(k->q, now, k->cfg->worker_dead_after_s * 1000, &reaped_w, &reaped_j);
        if (!e)
            e = wk_queue_promote(k->q, now, 500, &promoted);
        if (!e)
            e = wk_queue_stats(k->q, now, &st);
        if (!e) {
            atomic_store(&k->last_ok_ms, (long long)sg_mono_ms());
            sg_queue_gauges_set(&k->m->queue, &st);
            if (reaped_w)
                sg_log_warn("reaped dead workers; their jobs are back on the queue",
                            SG_KV_INT("workers", reaped_w), SG_KV_INT("jobs", reaped_j), SG_KV_END);
        } else if (sg_mono_ms() - last_err_log > 10000) {
            sg_log_warn("housekeeping: Redis unavailable", SG_KV_STR("err", wk_queue_error(k->q)),
                        SG_KV_END);
            last_err_log = sg_mono_ms();
        }
        if (atomic_load(&g_stopping) && sg_mono_ms() >= atomic_load(&g_hard_deadline_ms))
            hard_stop(k);
        pthread_mutex_lock(&k->mu);
        if (k->stop)
            break;
        int64_t wait_ms = interval;
        if (atomic_load(&g_stopping))
            wait_ms = 100; /* watch the hard deadline closely */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&k->cv, &k->mu, &ts);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

struct health {
    atomic_llong loop_tick_ms; /* mono ms of the job loop's last turn */
    atomic_bool loop_running;
    int64_t max_job_ms;
};

/* /healthz: the loop is running and has turned within the longest a job may take. */
static bool healthy(void *ud)
{
    struct health *h = ud;
    return atomic_load(&h->loop_running) &&
           sg_mono_ms() - atomic_load(&h->loop_tick_ms) < h->max_job_ms;
}

/* Checks the schema once PostgreSQL answers; returns -1 when it is too old (fatal), 0 when not
 * known yet (database unavailable), 1 when good. */
static int schema_ok(struct wk_db *db)
{
    int have = 0, need = wk_migrations_required();
    if (wk_db_schema_version(db, &have) != SG_OK)
        return 0;
    if (have < need) {
        sg_log_error(
            "database schema is older than this worker needs; run `singularity-worker migrate`",
            SG_KV_INT("schema_version", have), SG_KV_INT("required", need), SG_KV_END);
        fprintf(stderr,
                "singularity-worker: database schema version %d is older than the %d this "
                "worker needs; run `singularity-worker migrate` first\n",
                have, need);
        return -1;
    }
    int created = 0;
    if (wk_db_ensure_partitions(db, 1, &created) == SG_OK && created)
        sg_log_info("partitions created", SG_KV_INT("created", created), SG_KV_END);
    return 1;
}

int wk_run_worker(struct wk_config *cfg)
{
    int rc = 1;
    char wid[160], err[256] = "";
    wk_run_worker_id(wid, sizeof wid);
    struct wk_metrics *m = wk_metrics_new();
    /* One connection per thread: the job loop's (shared by its queue and GitHub client) and the
     * housekeeping thread's. */
    struct wk_redis *rc_jobs =
        wk_redis_new(cfg->redis_url, (int)cfg->redis_timeout_ms, err, sizeof err);
    struct wk_redis *rc_keeper =
        wk_redis_new(cfg->redis_url, (int)cfg->redis_timeout_ms, err, sizeof err);
    struct wk_queue *q = rc_jobs ? wk_queue_new(rc_jobs, wid) : NULL;
    struct wk_queue *kq = rc_keeper ? wk_queue_new(rc_keeper, wid) : NULL;
    struct wk_db *db = wk_db_new(cfg->database_url, (int)cfg->db_connect_timeout_s,
                                 (int)cfg->db_statement_timeout_ms);
    struct wk_github *gh = NULL;
    struct wk_http *http = NULL;
    struct keeper k = {.cfg = cfg, .q = kq, .m = m};
    bool keeper_started = false;
    /* A job ends within its time budget (plus the GitHub and PostgreSQL calls around it): a loop
     * silent for longer is stuck. 15 minutes with the default budget. */
    struct health h = {.max_job_ms = (cfg->analysis_timeout_s + 300) * 1000};
    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cv, NULL);
    if (!m || !q || !kq || !db) {
        fprintf(stderr, "singularity-worker: %s\n", err[0] ? err : "out of memory");
        goto out;
    }
    struct wk_github_config gc = {
        .api_url = cfg->github_api_url,
        .app_id = cfg->app_id,
        .app_key = cfg->app_key,
        .redis = rc_jobs,
        .pace_ms = cfg->github_pace_ms,
        .max_annotations = (size_t)cfg->max_annotations,
        .requests_total = m->gh_requests,
        .ratelimit_remaining = m->gh_ratelimit,
        .should_stop = gh_should_stop,
    };
    gh = wk_github_new(&gc, err, sizeof err);
    if (!gh) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        goto out;
    }

    g_grace_ms = cfg->shutdown_grace_s * 1000;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Schema check first: a worker must not touch an older schema. PostgreSQL down is not fatal
     * (jobs wait in the delayed set); the check is repeated until it answers. */
    int schema = schema_ok(db);
    if (schema < 0)
        goto out;
    if (schema == 0)
        sg_log_warn("PostgreSQL unavailable at start; will retry",
                    SG_KV_STR("err", wk_db_error(db)), SG_KV_END);

    atomic_store(&h.loop_tick_ms, (long long)sg_mono_ms());
    atomic_store(&h.loop_running, true);
    http = wk_http_start(cfg->metrics_host, (int)cfg->metrics_port, m->reg, healthy, &h, err,
                         sizeof err);
    if (!http) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        goto out;
    }
    /* Register before the first take, so a job we hold always has a heartbeat to judge us by. */
    if (wk_queue_heartbeat(q, sg_now_ms()) != SG_OK)
        sg_log_warn("Redis unavailable at start; will retry", SG_KV_STR("err", wk_queue_error(q)),
                    SG_KV_END);
    if (pthread_create(&k.thread, NULL, keeper_main, &k) != 0) {
        fprintf(stderr, "singularity-worker: cannot start the housekeeping thread\n");
        goto out;
    }
    keeper_started = true;
    sg_log_info("worker started", SG_KV_STR("worker", wid),
                SG_KV_INT("metrics_port", wk_http_port(http)),
                SG_KV_INT("schema_version", wk_migrations_required()), SG_KV_END);

    struct wk_runner r = {.cfg = cfg,
                          .queue = q,
                          .db = db,
                          .gh = gh,
                          .metrics = m,
                          .worker_id = wid,
                          .stopping = &g_stopping,
                          .stop_deadline_ms = &g_stop_deadline_ms};
    int64_t last_partitions = sg_mono_ms(), last_err_log = 0;
    unsigned recovered_gen = 0;
    while (!atomic_load(&g_stopping)) {
        atomic_store(&h.loop_tick_ms, (long long)sg_mono_ms());
        if (schema == 0) {
            schema = schema_ok(db);
            if (schema < 0)
                break;
        }
        if (schema > 0 && sg_mono_ms() - last_partitions > 6 * 3600 * 1000) {
            if (schema_ok(db) > 0)
                last_partitions = sg_mono_ms();
        }
        char *line = r.next;
        size_t len = r.next_len;
        r.next = NULL;
        enum sg_err e = SG_OK;
        if (wk_redis_generation(rc_jobs) != recovered_gen) { /* a new connection (or the first) */
            int64_t moved = 0;
            e = wk_queue_recover(q, line, len, &moved);
            if (!e)
                recovered_gen = wk_redis_generation(rc_jobs);
            if (moved)
                sg_log_warn(
                    "jobs left in our processing list by a lost reply went back to the queue",
                    SG_KV_INT("jobs", moved), SG_KV_END);
        }
        if (!e && !line)
            e = wk_queue_take(q, 1, &line, &len);
        if (e) {
            if (line) { /* already ours: run it when Redis is back */
                r.next = line;
                r.next_len = len;
            }
            if (sg_mono_ms() - last_err_log > 10000) {
                sg_log_warn("cannot take jobs: Redis unavailable; retrying",
                            SG_KV_STR("err", wk_queue_error(q)), SG_KV_END);
                last_err_log = sg_mono_ms();
            }
            for (int i = 0; i < 10 && !atomic_load(&g_stopping); i++)
                usleep(100 * 1000);
            continue;
        }
        if (!line)
            continue;
        wk_jobs_run(&r, line, len);
        free(line);
    }
    atomic_store(&h.loop_running, false);
    if (r.next) { /* taken with the last ack but not started: back to the front of the queue */
        bool ours = false;
        if (wk_queue_return(q, r.next, r.next_len, NULL, &ours) != SG_OK)
            sg_log_warn("could not hand back the next job; the reaper will return it",
                        SG_KV_STR("err", wk_queue_error(q)), SG_KV_END);
        free(r.next);
        r.next = NULL;
    }
    sg_log_info("worker stopping", SG_KV_STR("worker", wid), SG_KV_END);
    rc = schema < 0 ? 1 : 0;
out:
    if (keeper_started) {
        pthread_mutex_lock(&k.mu);
        k.stop = true;
        pthread_cond_signal(&k.cv);
        pthread_mutex_unlock(&k.mu);
        pthread_join(k.thread, NULL);
    }
    if (q) {
        bool left = false;
        if (wk_queue_leave(q, &left) == SG_OK && !left)
            sg_log_warn("left a job in our processing list; the reaper will return it", SG_KV_END);
    }
    wk_http_stop(http);
    wk_github_free(gh);
    wk_db_free(db);
    wk_queue_free(q);
    wk_queue_free(kq);
    wk_redis_free(rc_jobs);
    wk_redis_free(rc_keeper);
    wk_metrics_free(m);
    pthread_mutex_destroy(&k.mu);
    pthread_cond_destroy(&k.cv);
    return rc;
}
