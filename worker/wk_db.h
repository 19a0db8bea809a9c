/* Why: everything the worker stores in PostgreSQL goes through here, written so that PgBouncer in
 * transaction mode works: every statement runs inside an explicit transaction that starts with
 * SET LOCAL statement_timeout, only unnamed (per-call) statements are used, and advisory locks are
 * transaction-scoped. One connection per worker; a broken connection is dropped and the next call
 * reconnects (PostgreSQL down -> SG_ERR_DB, which the job runner retries later).
 *
 * The idempotency guard lives here (wk_db_claim): per (repository, head_sha) an advisory xact lock
 * serialises claims, and an `analyses` row in status running/completed is reused by a second job
 * for the same commit, or resumed (with its check_run_id) by a retry of a job that crashed.
 *
 * Files: db.c (the connection and its transactions), db_analysis.c (the analysis rows a job
 * writes), db_sync.c (installations and repositories); db_internal.h is what they share.
 *
 * Ownership: wk_db_new() returns a handle freed with wk_db_free(). Strings in out-structs are
 * copied into fixed arrays, except struct wk_db_base's arrays, freed with wk_db_base_free(). */
#ifndef WK_DB_H
#define WK_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_analysis.h"
#include "sg_err.h"
#include "sg_job.h"

struct pg_conn;
struct wk_db;

/* connect_timeout_s bounds a connection attempt, statement_timeout_ms every statement. */
struct wk_db *wk_db_new(const char *database_url, int connect_timeout_s, int statement_timeout_ms);
void wk_db_free(struct wk_db *db);
enum sg_err wk_db_connect(struct wk_db *db);
const char *wk_db_error(const struct wk_db *db); /* last error text, "" when none */
/* Counts connection and statement failures (for singularity_db_errors_total). */
uint64_t wk_db_error_count(const struct wk_db *db);
/* The raw connection (connected) for the migration runner; borrowed. */
struct pg_conn *wk_db_conn(struct wk_db *db);

/* Transaction helpers: BEGIN + SET LOCAL statement_timeout (sent with the first statement);
 * COMMIT; ROLLBACK (never fails). */
enum sg_err wk_db_begin(struct wk_db *db);
enum sg_err wk_db_commit(struct wk_db *db);
void wk_db_rollback(struct wk_db *db);
/* Runs one statement inside the current transaction; params are text (NULL = SQL null). When out
 * is non-NULL the result is stored there (caller PQclear()s it, as a void*). */
enum sg_err wk_db_exec(struct wk_db *db, const char *sql, int nparams, const char *const *params,
                       void **out);
/* Runs the transaction's last statement and COMMIT in one round trip (see db.c). */
enum sg_err wk_db_exec_commit(struct wk_db *db, const char *sql, int nparams,
                              const char *const *params, void **out);

/* Highest applied migration version (0 when schema_migrations does not exist). */
enum sg_err wk_db_schema_version(struct wk_db *db, int *version);
/* SELECT singularity_ensure_partitions(ahead) in its own transaction. */
enum sg_err wk_db_ensure_partitions(struct wk_db *db, int ahead, int *created);

enum wk_claim_action {
    WK_CLAIM_RUN,   /* analyse: a new row, or a running row to resume */
    WK_CLAIM_REUSE, /* a completed analysis exists: nothing to do */
    WK_CLAIM_DEFER, /* another live worker is analysing this commit now: try again shortly */
};

struct wk_claim {
    enum wk_claim_action action;
    int64_t analysis_id;
    char created_at[40];  /* partition key, as text for later statements */
    int64_t check_run_id; /* 0 when none yet */
    bool resumed;         /* an existing running row was taken over */
    char owner[128];      /* for DEFER: the worker holding it */
};

/* Whether a worker id is alive (heartbeat); used to take over a crashed worker's running row. */
typedef bool (*wk_db_alive_fn)(void *ud, const char *worker_id);

/* The idempotency guard for an analyze job (see top of file). Also upserts the installation and
 * repository rows. stale_s: a running row not touched for this long is taken over anyway. */
enum sg_err wk_db_claim(struct wk_db *db, const struct sg_job *job, const char *engine_version,
                        const char *worker_id, wk_db_alive_fn alive, void *alive_ud,
                        int64_t stale_s, struct wk_claim *out);
/* What wk_db_store_result looks up as the base commit's analysis (struct wk_db_base). */
struct wk_db_base_query {
    int64_t gate_base_id; /* the analysis r was classified against (r->has_base) */
    int64_t repository_id;
    const char *head_sha, *base_sha, *ref, *engine_version;
};
struct wk_db_base;

/* Stores the result on the analysis row (still running), with c->check_run_id, and its first
 * max_findings findings with COPY, replacing any stored by an earlier attempt (only when
 * c->resumed). When bq and base are non-NULL the base commit's analysis is looked up in the same
 * transaction. One round trip, two with findings. */
enum sg_err wk_db_store_result(struct wk_db *db, const struct wk_claim *c,
                               const struct an_result *r, uint64_t tarball_bytes,
                               int64_t download_ms, size_t max_findings, size_t *stored,
                               const struct wk_db_base_query *bq, struct wk_db_base *base);
enum sg_err wk_db_complete(struct wk_db *db, const struct wk_claim *c, const char *conclusion,
                           int64_t duration_ms);
enum sg_err wk_db_fail(struct wk_db *db, const struct wk_claim *c, const char *error,
                       int64_t duration_ms);
/* wk_db_fail and wk_db_release also store c->check_run_id (when non-zero), so the next attempt
 * completes the same check run. Release clears worker_id on a running row (a job handed back for a
 * retry or on shutdown). */
enum sg_err wk_db_release(struct wk_db *db, const struct wk_claim *c);

/* The base commit's analysis for the comparison: a completed analysis of base_sha (when non-NULL)
 * in the same repository, else the previous completed analysis on ref before this one; by this
 * engine_version when there is one, else by the engine that scored it last. */
struct wk_db_base {
    bool found;
    char sha[48];
    double score;
    struct an_counts totals;
    uint64_t findings_total;
    struct an_rule_count *rule_counts; /* owned; rule strings owned too */
    size_t nrule_counts;
    char engine_version[32]; /* the engine that scored it: not this one right after an upgrade */
};
void wk_db_base_free(struct wk_db_base *b);

/* sync: installation state and the repositories it can see now. */
struct wk_db_repo {
    int64_t id;
    const char *full_name;
    const char *default_branch;
    bool is_private;
};
enum sg_err wk_db_sync_installation(struct wk_db *db, int64_t installation_id,
                                    const char *account_login, const char *account_type,
                                    const char *repository_selection, bool suspended,
                                    const struct wk_db_repo *repos, size_t nrepos);
enum sg_err wk_db_installation_deleted(struct wk_db *db, int64_t installation_id);
enum sg_err wk_db_installation_suspended(struct wk_db *db, int64_t installation_id, bool suspended);

/* COPY text-format escaping of one field (backslash, tab, newline, CR; invalid UTF-8 -> '?').
 * Exported for unit tests. */
enum sg_err wk_db_copy_escape(struct sg_buf *out, const char *s);

#endif
