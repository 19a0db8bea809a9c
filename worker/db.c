/* Why: see db.h. libpq errors are translated to SG_ERR_DB here and logged once, with PostgreSQL's
 * own message; a connection that is no longer OK is dropped so the next call reconnects. */
#include "db.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sg_log.h"

struct wk_db {
    PGconn *conn;
    char *url;
    int connect_timeout_s;
    int statement_timeout_ms;
    bool in_tx;
    bool begin_pending; /* BEGIN + SET LOCAL not sent yet: they go with the first statement */
    uint64_t errors;
    char err[512];
};

struct wk_db *wk_db_new(const char *database_url, int connect_timeout_s, int statement_timeout_ms)
{
    struct wk_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->url = strdup(database_url ? database_url : "");
    if (!db->url) {
        free(db);
        return NULL;
    }
    db->connect_timeout_s = connect_timeout_s > 0 ? connect_timeout_s : 5;
    db->statement_timeout_ms = statement_timeout_ms > 0 ? statement_timeout_ms : 30000;
    return db;
}

static void drop(struct wk_db *db)
{
    if (db->conn) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    db->in_tx = false;
    db->begin_pending = false;
}

void wk_db_free(struct wk_db *db)
{
    if (!db)
        return;
    drop(db);
    free(db->url);
    free(db);
}

const char *wk_db_error(const struct wk_db *db)
{
    return db->err;
}
uint64_t wk_db_error_count(const struct wk_db *db)
{
    return db->errors;
}
static enum sg_err flush_begin(struct wk_db *db);

struct pg_conn *wk_db_conn(struct wk_db *db)
{
    if (db->begin_pending)
        flush_begin(db); /* raw statements must run inside the transaction */
    return db->conn;
}

/* Copies libpq's message (one line) into db->err and logs it once. */
static void set_err(struct wk_db *db, const char *what, const char *msg)
{
    snprintf(db->err, sizeof db->err, "%s: %s", what, msg && *msg ? msg : "unknown error");
    char *nl = strchr(db->err, '\n');
    if (nl)
        *nl = '\0';
    db->errors++;
    sg_log_warn("postgres error", SG_KV_STR("err", db->err), SG_KV_END);
}

static void notice_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

enum sg_err wk_db_connect(struct wk_db *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return SG_OK;
    drop(db);
    char ct[16];
    snprintf(ct, sizeof ct, "%d", db->connect_timeout_s);
    /* Keywords before "dbname" are defaults the URL may override. TCP keepalives bound a read
     * from a server that vanished without closing the socket. */
    const char *keys[] = {
        "connect_timeout",     "application_name", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "dbname",     NULL};
    const char *vals[] = {ct, "singularity-worker", "1", "10", "5", "3", db->url, NULL};
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        set_err(db, "connect", db->conn ? PQerrorMessage(db->conn) : "out of memory");
        drop(db);
        return SG_ERR_DB;
    }
    PQsetNoticeProcessor(db->conn, notice_quiet, NULL);
    return SG_OK;
}

/* Checks a result; on failure records the error and drops a broken connection. */
static enum sg_err check(struct wk_db *db, PGresult *res, const char *what)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
        return SG_OK;
    set_err(db, what, res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
    if (PQstatus(db->conn) != CONNECTION_OK)
        drop(db);
    return SG_ERR_DB;
}

/* Round trips, not statements, are what a job pays for (each one wakes the worker and a
 * PostgreSQL backend, and costs a network round trip when the database is remote). So BEGIN and
 * SET LOCAL are not sent on their own: wk_db_begin() only marks the transaction as pending and the
 * first statement carries them in one libpq pipeline, as wk_db_exec_commit() carries the COMMIT.
 * Every statement is still unnamed and inside an explicit transaction (PgBouncer-safe). */
enum sg_err wk_db_begin(struct wk_db *db)
{
    enum sg_err e = wk_db_connect(db);
    if (e)
        return e;
    db->in_tx = true;
    db->begin_pending = true;
    return SG_OK;
}

static void set_local_sql(const struct wk_db *db, char *sql, size_t n)
{
    snprintf(sql, n, "SET LOCAL statement_timeout = %d", db->statement_timeout_ms);
}

/* For a simple-protocol query string: a pending BEGIN + SET LOCAL goes in front of its statements,
 * so they cost no round trip of their own. */
static void take_pending_begin(struct wk_db *db, char *out, size_t n)
{
    out[0] = '\0';
    if (db->begin_pending) {
        char set[64];
        set_local_sql(db, set, sizeof set);
        snprintf(out, n, "BEGIN; %s; ", set);
        db->begin_pending = false;
    }
}

/* Sends a pending BEGIN + SET LOCAL on its own (before a raw statement). */
static enum sg_err flush_begin(struct wk_db *db)
{
    if (!db->begin_pending)
        return SG_OK;
    if (!db->conn) {
        db->begin_pending = false;
        return SG_ERR_DB;
    }
    char sql[96];
    take_pending_begin(db, sql, sizeof sql);
    PGresult *res = PQexec(db->conn, sql);
    enum sg_err e = check(db, res, "begin");
    PQclear(res);
    return e;
}

enum sg_err wk_db_commit(struct wk_db *db)
{
    if (!db->conn)
        return SG_ERR_DB;
    if (db->begin_pending) { /* nothing was sent: nothing to commit */
        db->begin_pending = false;
        db->in_tx = false;
        return SG_OK;
    }
    PGresult *res = PQexec(db->conn, "COMMIT");
    enum sg_err e = check(db, res, "commit");
    PQclear(res);
    db->in_tx = false;
    return e;
}

void wk_db_rollback(struct wk_db *db)
{
    db->begin_pending = false;
    if (db->conn && PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF &&
        PQexitPipelineMode(db->conn) != 1)
        drop(db); /* results still unread: the connection's state is unknown */
    if (db->conn && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(db->conn, "ROLLBACK");
        PQclear(res);
        if (PQstatus(db->conn) != CONNECTION_OK)
            drop(db);
    }
    db->in_tx = false;
}

struct stmt {
    const char *sql;
    int n;
    const char *const *params;
    PGresult **out; /* NULL: result discarded */
};

/* Runs the statements in one round trip (libpq pipeline mode), preceded by BEGIN + SET LOCAL when
 * the transaction is pending and followed by COMMIT when commit is set. The first failure is
 * recorded; the statements after it are skipped by PostgreSQL and the transaction is left aborted
 * for wk_db_rollback(). */
static enum sg_err pipeline(struct wk_db *db, const struct stmt *st, size_t n, bool commit)
{
    for (size_t i = 0; i < n; i++)
        if (st[i].out)
            *st[i].out = NULL;
    if (!db->conn)
        return SG_ERR_DB;
    PGconn *c = db->conn;
    char set[64];
    set_local_sql(db, set, sizeof set);
    size_t pre = db->begin_pending ? 2 : 0, total = pre + n + (commit ? 1 : 0);
    db->begin_pending = false;
    bool sent = PQenterPipelineMode(c) == 1;
    for (size_t k = 0; sent && k < total; k++) {
        const char *sql = k == 0 && pre ? "BEGIN" : k == 1 && pre ? set : "COMMIT";
        int np = 0;
        const char *const *pp = NULL;
        if (k >= pre && k < pre + n) {
            sql = st[k - pre].sql;
            np = st[k - pre].n;
            pp = st[k - pre].params;
        }
        sent = PQsendQueryParams(c, sql, np, NULL, pp, NULL, NULL, 0) == 1;
    }
    if (!sent || PQpipelineSync(c) != 1) {
        set_err(db, "pipeline", PQerrorMessage(c));
        drop(db);
        return SG_ERR_DB;
    }
    enum sg_err e = SG_OK;
    bool broken = false;
    for (size_t k = 0; k < total && !broken; k++) {
        PGresult *res = PQgetResult(c);
        if (!res) {
            broken = true;
            break;
        }
        ExecStatusType rs = PQresultStatus(res);
        if (rs == PGRES_FATAL_ERROR && !e) {
            set_err(db,
                    k < pre       ? "begin"
                    : k < pre + n ? "query"
                                  : "commit",
                    PQresultErrorMessage(res));
            e = SG_ERR_DB;
        } else if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK &&
                   rs != PGRES_PIPELINE_ABORTED && rs != PGRES_FATAL_ERROR) {
            broken = true; /* e.g. a COPY or an unexpected answer: not something we sent */
        } else if (rs == PGRES_TUPLES_OK && k >= pre && k < pre + n && st[k - pre].out) {
            *st[k - pre].out = res;
            res = NULL;
        }
        PQclear(res);
        PGresult *end = PQgetResult(c); /* each statement's results end with NULL */
        if (end) {
            PQclear(end);
            broken = true;
        }
    }
    if (!broken) {
        PGresult *sync = PQgetResult(c);
        broken = !sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC;
        PQclear(sync);
    }
    if (broken || PQexitPipelineMode(c) != 1 || PQstatus(c) != CONNECTION_OK) {
        if (!e)
            set_err(db, "pipeline", PQerrorMessage(c));
        e = SG_ERR_DB;
        drop(db);
    }
    if (e) {
        for (size_t i = 0; i < n; i++)
            if (st[i].out) {
                PQclear(*st[i].out);
                *st[i].out = NULL;
            }
    } else if (commit) {
        db->in_tx = false;
    }
    return e;
}

enum sg_err wk_db_exec(struct wk_db *db, const char *sql, int nparams, const char *const *params,
                       void **out)
{
    if (out)
        *out = NULL;
    if (!db->conn)
        return SG_ERR_DB;
    if (db->begin_pending) {
        struct stmt st = {sql, nparams, params, (PGresult **)out};
        return pipeline(db, &st, 1, false);
    }
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    enum sg_err e = check(db, res, "query");
    if (e || !out)
        PQclear(res);
    else
        *out = res;
    return e;
}

enum sg_err wk_db_exec_commit(struct wk_db *db, const char *sql, int nparams,
                              const char *const *params, void **out)
{
    if (out)
        *out = NULL;
    struct stmt st = {sql, nparams, params, (PGresult **)out};
    return pipeline(db, &st, 1, true);
}

/* One statement in its own transaction. */
static enum sg_err exec_tx(struct wk_db *db, const char *sql, int n, const char *const *p,
                           PGresult **out)
{
    enum sg_err e = wk_db_begin(db);
    if (e)
        return e;
    e = wk_db_exec_commit(db, sql, n, p, (void **)out);
    if (e) {
        wk_db_rollback(db);
        if (out && *out) {
            PQclear(*out);
            *out = NULL;
        }
    }
    return e;
}

enum sg_err wk_db_schema_version(struct wk_db *db, int *version)
{
    *version = 0;
    PGresult *res = NULL;
    /* Two statements: a query naming a table that does not exist fails at parse time. */
    enum sg_err e = wk_db_begin(db);
    if (e)
        return e;
    e = wk_db_exec(db, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
                   (void **)&res);
    if (e)
        goto out;
    bool exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    res = NULL;
    if (exists) {
        e = wk_db_exec(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL,
                       (void **)&res);
        if (e)
            goto out;
        int64_t v = 0;
        if (PQntuples(res) == 1 && sg_parse_i64(PQgetvalue(res, 0, 0), 0, 1000000, &v))
            *version = (int)v;
    }
    e = wk_db_commit(db);
out:
    PQclear(res);
    if (e)
        wk_db_rollback(db);
    return e;
}

enum sg_err wk_db_ensure_partitions(struct wk_db *db, int ahead, int *created)
{
    char a[16];
    snprintf(a, sizeof a, "%d", ahead);
    const char *p[] = {a};
    PGresult *res = NULL;
    enum sg_err e = exec_tx(db, "SELECT singularity_ensure_partitions($1::int)", 1, p, &res);
    if (e)
        return e;
    int64_t v = 0;
    if (created && sg_parse_i64(PQgetvalue(res, 0, 0), 0, 1000, &v))
        *created = (int)v;
    PQclear(res);
    return SG_OK;
}

static void i64s(char *buf, size_t n, int64_t v)
{
    snprintf(buf, n, "%lld", (long long)v);
}

/* singularity_claim() (migration 0002) does the claim's writes and lookups in one call. */
static const char CLAIM_SQL[] = "SELECT * FROM singularity_claim($1, $2, $3, $4, $5, $6, $7, $8, "
                                "$9, $10, $11, $12, $13, $14)";

/* One call of singularity_claim (p: its 14 parameters), committed with it when commit is set,
 * else left open with the claim's lock held. Fills out and decides: run a new analysis, reuse a
 * completed one, defer to a live owner, or *take_over a running one. */
static enum sg_err claim_call(struct wk_db *db, const char *const *p, bool commit,
                              const char *worker_id, wk_db_alive_fn alive, void *alive_ud,
                              int64_t stale_s, struct wk_claim *out, bool *take_over)
{
    PGresult *res = NULL;
    *take_over = false;
    enum sg_err e = wk_db_begin(db);
    if (e)
        return e;
    struct stmt st = {CLAIM_SQL, 14, p, &res};
    e = pipeline(db, &st, 1, commit);
    if (!e && PQntuples(res) != 1) {
        set_err(db, "claim", "singularity_claim returned no row");
        e = SG_ERR_DB;
    }
    if (e) {
        PQclear(res);
        wk_db_rollback(db);
        return e;
    }
    int64_t id = 0, crid = 0, idle = 0;
    sg_parse_i64(PQgetvalue(res, 0, 1), 0, INT64_MAX, &id);
    sg_parse_i64(PQgetvalue(res, 0, 5), 0, INT64_MAX, &crid);
    sg_parse_i64(PQgetvalue(res, 0, 6), INT64_MIN, INT64_MAX, &idle);
    out->analysis_id = id;
    snprintf(out->created_at, sizeof out->created_at, "%s", PQgetvalue(res, 0, 2));
    out->check_run_id = crid;
    const char *status = PQgetvalue(res, 0, 3);
    const char *owner = PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4);
    if (PQgetvalue(res, 0, 0)[0] == 't') {
        out->action = WK_CLAIM_RUN;
    } else if (strcmp(status, "completed") == 0) {
        out->action = WK_CLAIM_REUSE;
    } else if (owner && strcmp(owner, worker_id) != 0 && idle < stale_s && alive &&
               alive(alive_ud, owner)) {
        out->action = WK_CLAIM_DEFER;
        snprintf(out->owner, sizeof out->owner, "%s", owner);
    } else {
        *take_over = true; /* ours from an earlier attempt, handed back, or its worker died */
    }
    PQclear(res);
    return SG_OK;
}

enum sg_err wk_db_claim(struct wk_db *db, const struct sg_job *job, const char *engine_version,
                        const char *worker_id, wk_db_alive_fn alive, void *alive_ud,
                        int64_t stale_s, struct wk_claim *out)
{
    memset(out, 0, sizeof *out);
    char inst[24], repo[24], pull[24], attempt[16];
    i64s(inst, sizeof inst, job->installation);
    i64s(repo, sizeof repo, job->repo_id);
    i64s(pull, sizeof pull, job->pull);
    snprintf(attempt, sizeof attempt, "%d", job->attempt);
    char trigger[160];
    if (job->action)
        snprintf(trigger, sizeof trigger, "%s.%s", job->event ? job->event : "unknown",
                 job->action);
    else
        snprintf(trigger, sizeof trigger, "%s", job->event ? job->event : "unknown");
    /* A forced job makes its own analysis; a retry of it finds the row by its delivery. */
    const char *p[] = {repo,
                       inst,
                       job->repo_full_name,
                       job->sha,
                       job->force ? "t" : "f",
                       job->force ? (job->delivery ? job->delivery : "") : engine_version,
                       job->ref,
                       pull[0] != '0' ? pull : NULL,
                       job->base_sha,
                       trigger,
                       job->delivery,
                       engine_version,
                       worker_id,
                       attempt};
    /* The first call commits with itself: a new analysis (the usual case) costs one round trip,
     * and reusing or deferring to an existing one writes nothing. Only taking over a running
     * analysis must hold the claim's lock while it updates the row, so it claims again, under
     * the lock, and updates in that transaction. */
    bool take_over = false;
    enum sg_err e = claim_call(db, p, true, worker_id, alive, alive_ud, stale_s, out, &take_over);
    if (e || !take_over)
        return e;
    e = claim_call(db, p, false, worker_id, alive, alive_ud, stale_s, out, &take_over);
    if (e)
        return e;
    if (!take_over) {
        e = wk_db_commit(db);
    } else {
        char idb[24];
        i64s(idb, sizeof idb, out->analysis_id);
        const char *up[] = {worker_id, attempt, idb, out->created_at};
        e = wk_db_exec_commit(db,
                              "UPDATE analyses SET worker_id = $1, attempt = $2, "
                              "updated_at = now() WHERE id = $3 AND created_at = $4",
                              4, up, NULL);
        out->action = WK_CLAIM_RUN;
        out->resumed = true;
    }
    if (e)
        wk_db_rollback(db);
    return e;
}

/* One statement over the analysis row identified by the claim ($1 = id, $2 = created_at, then
 * extra), in its own transaction. */
static enum sg_err row_tx(struct wk_db *db, const struct wk_claim *c, const char *sql, int n,
                          const char *const *extra)
{
    char id[24];
    i64s(id, sizeof id, c->analysis_id);
    const char *p[8] = {id, c->created_at};
    for (int i = 0; i < n && i < 6; i++)
        p[2 + i] = extra[i];
    return exec_tx(db, sql, 2 + n, p, NULL);
}

/* The check run's id travels with every update that ends an attempt (0: keep the stored one),
 * so a retry completes the same check run. */
#define CHECK_RUN_SET(param) "check_run_id = coalesce(nullif(" param "::bigint, 0), check_run_id)"

/* The rarer row updates stay plain statements; the per-job ones are functions of migration 0002. */
static enum sg_err update_row(struct wk_db *db, const struct wk_claim *c, const char *set, int n,
                              const char *const *extra)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE analyses SET %s, updated_at = now() WHERE id = $1 AND created_at = $2", set);
    return row_tx(db, c, sql, n, extra);
}

enum sg_err wk_db_complete(struct wk_db *db, const struct wk_claim *c, const char *conclusion,
                           int64_t duration_ms)
{
    char d[24];
    i64s(d, sizeof d, duration_ms);
    const char *p[] = {conclusion, d};
    return row_tx(db, c, "SELECT singularity_complete($1, $2, $3, $4)", 2, p);
}

enum sg_err wk_db_fail(struct wk_db *db, const struct wk_claim *c, const char *error,
                       int64_t duration_ms)
{
    char d[24];
    i64s(d, sizeof d, duration_ms);
    char crid[24];
    i64s(crid, sizeof crid, c->check_run_id);
    const char *p[] = {error ? error : "failed", d, crid};
    return update_row(
        db, c,
        "status = 'failed', conclusion = 'failure', error = $3, "
        "duration_ms = $4, finished_at = now(), worker_id = NULL, " CHECK_RUN_SET("$5"),
        3, p);
}

enum sg_err wk_db_release(struct wk_db *db, const struct wk_claim *c)
{
    char crid[24];
    i64s(crid, sizeof crid, c->check_run_id);
    const char *p[] = {crid};
    return update_row(db, c, "worker_id = NULL, " CHECK_RUN_SET("$3"), 1, p);
}

enum sg_err wk_db_copy_escape(struct sg_buf *out, const char *s)
{
    enum sg_err e = SG_OK;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && !e) {
        unsigned char ch = *p;
        if (ch < 0x80) {
            switch (ch) {
            case '\\':
                e = sg_buf_puts(out, "\\\\");
                break;
            case '\t':
                e = sg_buf_puts(out, "\\t");
                break;
            case '\n':
                e = sg_buf_puts(out, "\\n");
                break;
            case '\r':
                e = sg_buf_puts(out, "\\r");
                break;
            default:
                e = sg_buf_putc(out, (char)ch);
            }
            p++;
            continue;
        }
        /* Validate one UTF-8 sequence; PostgreSQL rejects a whole COPY on one bad byte. */
        size_t n = ch >= 0xF0 && ch <= 0xF4 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 && ch <= 0xDF ? 2 : 0;
        if (ch > 0xF4)
            n = 0;
        bool ok = n > 0;
        for (size_t i = 1; ok && i < n; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && n == 3 && ((ch == 0xE0 && p[1] < 0xA0) || (ch == 0xED && p[1] > 0x9F)))
            ok = false;
        if (ok && n == 4 && ((ch == 0xF0 && p[1] < 0x90) || (ch == 0xF4 && p[1] > 0x8F)))
            ok = false;
        if (ok) {
            e = sg_buf_append(out, p, n);
            p += n;
        } else {
            e = sg_buf_putc(out, '?');
            p++;
        }
    }
    return e;
}

/* JSON text of the language table, skipped counts and config errors for the analysis row. */
static enum sg_err result_json(const struct sg_an_result *r, struct sg_buf *langs,
                               struct sg_buf *rules, struct sg_buf *skipped, struct sg_buf *cfgerr)
{
    enum sg_err e = sg_buf_putc(langs, '[');
    for (size_t i = 0; !e && i < r->nlanguages; i++) {
        const struct sg_an_language *l = &r->languages[i];
        if (i)
            e = sg_buf_putc(langs, ',');
        if (!e)
            e = sg_buf_puts(langs, "{\"name\":");
        if (!e)
            e = sg_buf_put_json_str(langs, l->name, strlen(l->name));
        if (!e)
            e = sg_buf_printf(
                langs,
                ",\"files\":%llu,\"code\":%llu,\"comment\":%llu,\"blank\":%llu,"
                "\"bytes\":%llu,\"complexity\":%llu}",
                (unsigned long long)l->counts.files, (unsigned long long)l->counts.code,
                (unsigned long long)l->counts.comment, (unsigned long long)l->counts.blank,
                (unsigned long long)l->counts.bytes, (unsigned long long)l->counts.complexity);
    }
    if (!e)
        e = sg_buf_putc(langs, ']');
    if (!e)
        e = sg_buf_putc(rules, '{');
    for (size_t i = 0; !e && i < r->nrule_counts; i++) {
        if (i)
            e = sg_buf_putc(rules, ',');
        if (!e)
            e = sg_buf_put_json_str(rules, r->rule_counts[i].rule, strlen(r->rule_counts[i].rule));
        if (!e)
            e = sg_buf_printf(rules, ":%llu", (unsigned long long)r->rule_counts[i].count);
    }
    if (!e)
        e = sg_buf_putc(rules, '}');
    const struct sg_an_skipped *s = &r->skipped;
    if (!e)
        e = sg_buf_printf(skipped,
                          "{\"binary\":%llu,\"vendored\":%llu,\"generated\":%llu,"
                          "\"minified\":%llu,\"too_large\":%llu,\"unsafe\":%llu,\"excluded\":%llu}",
                          (unsigned long long)s->binary, (unsigned long long)s->vendored,
                          (unsigned long long)s->generated, (unsigned long long)s->minified,
                          (unsigned long long)s->too_large, (unsigned long long)s->unsafe,
                          (unsigned long long)s->excluded);
    if (!e)
        e = sg_buf_putc(cfgerr, '[');
    for (size_t i = 0; !e && i < r->nconfig_errors; i++) {
        if (i)
            e = sg_buf_putc(cfgerr, ',');
        if (!e)
            e = sg_buf_put_json_str(cfgerr, r->config_errors[i], strlen(r->config_errors[i]));
    }
    if (!e)
        e = sg_buf_putc(cfgerr, ']');
    return e;
}

/* Appends "<select>(p...); " to a simple-protocol query, each parameter an escaped literal (NULL
 * stays NULL): such a query carries no separate parameters. */
static enum sg_err append_call(struct wk_db *db, struct sg_buf *q, const char *select,
                               const char *const *p, int n)
{
    enum sg_err e = sg_buf_printf(q, "%s(", select);
    for (int i = 0; i < n && !e; i++) {
        if (i)
            e = sg_buf_puts(q, ", ");
        if (e)
            break;
        if (!p[i]) {
            e = sg_buf_puts(q, "NULL");
            continue;
        }
        char *lit = PQescapeLiteral(db->conn, p[i], strlen(p[i]));
        if (!lit) {
            set_err(db, "escape", PQerrorMessage(db->conn));
            return SG_ERR_DB;
        }
        e = sg_buf_puts(q, lit);
        PQfreemem(lit);
    }
    return e ? e : sg_buf_puts(q, "); ");
}

/* The COPY rows of the first n findings, sent in chunks of ~64 KiB through buf. On a failed send
 * *copy_err names it (the connection is then unusable). */
static enum sg_err put_rows(struct wk_db *db, const struct wk_claim *c,
                            const struct sg_an_result *r, size_t n, struct sg_buf *buf,
                            const char **copy_err)
{
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%lld\t%s\t", (long long)c->analysis_id, c->created_at);
    enum sg_err e = SG_OK;
    for (size_t i = 0; i < n && !e; i++) {
        const struct sg_an_finding *f = &r->findings[i];
        e = sg_buf_printf(buf, "%s%zu\t", prefix, i);
        if (!e)
            e = wk_db_copy_escape(buf, f->path ? f->path : "");
        if (!e)
            e = sg_buf_printf(buf, "\t%u\t", f->line);
        if (!e)
            e = wk_db_copy_escape(buf, f->rule ? f->rule : "");
        if (!e)
            e = sg_buf_printf(buf, "\t%s\t", sg_an_severity_str(f->severity));
        if (!e)
            e = wk_db_copy_escape(buf, f->message ? f->message : "");
        if (!e)
            e = sg_buf_putc(buf, '\n');
        if (!e && (buf->len >= 65536 || i + 1 == n)) {
            if (PQputCopyData(db->conn, buf->data, (int)buf->len) != 1) {
                e = SG_ERR_DB;
                *copy_err = "copy data";
            }
            sg_buf_reset(buf);
        }
    }
    return e;
}

/* Runs `before`, a COPY of the first n findings (none when n is 0) and `after` as one
 * simple-protocol query string (with a pending BEGIN + SET LOCAL in front): PostgreSQL runs the
 * statements before the COPY, takes the rows, then runs the rest, so the whole transaction costs
 * one round trip, two with findings (libpq's pipeline mode has no COPY). The rows go in chunks of
 * ~64 KiB. *rows receives the last row set that `before` returned. */
static enum sg_err store_query(struct wk_db *db, const struct wk_claim *c,
                               const struct sg_an_result *r, size_t n, const char *before,
                               const char *after, PGresult **rows)
{
    static const char copy_sql[] = "COPY findings (analysis_id, analysis_created_at, ordinal, "
                                   "path, line, rule, severity, message) FROM STDIN";
    *rows = NULL;
    if (!db->conn)
        return SG_ERR_DB;
    struct sg_buf q;
    sg_buf_init(&q, 0);
    char begin[96];
    take_pending_begin(db, begin, sizeof begin);
    enum sg_err e =
        sg_buf_printf(&q, "%s%s%s%s%s", begin, before, n ? copy_sql : "", n ? "; " : "", after);
    if (e || PQsendQuery(db->conn, sg_buf_str(&q)) != 1) {
        sg_buf_free(&q);
        set_err(db, "copy", e ? "out of memory" : PQerrorMessage(db->conn));
        if (!e && PQstatus(db->conn) != CONNECTION_OK)
            drop(db);
        return SG_ERR_DB;
    }
    sg_buf_reset(&q);
    PGresult *res;
    const char *copy_err = NULL;
    bool copied = false;
    while ((res = PQgetResult(db->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN && !copied) {
            copied = true;
            enum sg_err ce = put_rows(db, c, r, n, &q, &copy_err);
            if (ce && !e)
                e = ce;
            if (PQputCopyEnd(db->conn, ce ? "aborted by worker" : NULL) != 1 && !copy_err) {
                e = SG_ERR_DB;
                copy_err = "copy end";
            }
        } else if (st == PGRES_TUPLES_OK) {
            PQclear(*rows);
            *rows = res;
            continue;
        } else if (st != PGRES_COMMAND_OK && !e) {
            set_err(db, "copy", PQresultErrorMessage(res));
            e = SG_ERR_DB;
        }
        PQclear(res);
        if (copy_err)
            break;
    }
    sg_buf_free(&q);
    if (!e && n && !copied) {
        set_err(db, "copy", "no COPY in the answer");
        e = SG_ERR_DB;
    }
    if (copy_err) {
        set_err(db, copy_err, PQerrorMessage(db->conn));
        drop(db); /* the rest of the answer is unread */
    } else if (PQstatus(db->conn) != CONNECTION_OK) {
        drop(db);
    }
    if (e) {
        PQclear(*rows);
        *rows = NULL;
    }
    return e;
}

/* The base lookup (see wk_db_find_base in db.h) is singularity_find_base_any() of migration 0004:
 * a completed analysis of base_sha when it differs from head_sha, else the previous completed one
 * on ref before this analysis; by this engine, else by the engine that scored it (its version in
 * the last column). Holds the parameters' text. */
static const char BASE_SQL[] =
    "SELECT * FROM singularity_find_base_any($1, $2, $3, $4, $5, $6, $7)";
struct base_args {
    const char *p[7];
    char repo[24], id[24];
};

static bool base_args(struct base_args *b, const struct wk_claim *c,
                      const struct wk_db_base_query *q)
{
    bool by_sha = q->base_sha && strcmp(q->base_sha, q->head_sha) != 0, by_ref = q->ref != NULL;
    if (!by_sha && !by_ref)
        return false;
    i64s(b->repo, sizeof b->repo, q->repository_id);
    i64s(b->id, sizeof b->id, c->analysis_id);
    const char *p[7] = {b->repo, q->engine_version, by_sha ? q->base_sha : NULL,
                        q->ref,  q->head_sha,       c->created_at,
                        b->id};
    memcpy(b->p, p, sizeof p);
    return true;
}

static void fill_base(PGresult *res, struct wk_db_base *out);

enum sg_err wk_db_store_result(struct wk_db *db, const struct wk_claim *c,
                               const struct sg_an_result *r, uint64_t tarball_bytes,
                               int64_t download_ms, size_t max_findings, size_t *stored,
                               const struct wk_db_base_query *bq, struct wk_db_base *base)
{
    struct sg_buf langs, rules, skipped, cfgerr;
    sg_buf_init(&langs, 0);
    sg_buf_init(&rules, 0);
    sg_buf_init(&skipped, 0);
    sg_buf_init(&cfgerr, 0);
    if (base)
        memset(base, 0, sizeof *base);
    size_t n = r->nfindings < max_findings ? r->nfindings : max_findings;
    enum sg_err e = result_json(r, &langs, &rules, &skipped, &cfgerr);
    if (e)
        goto out;
    e = wk_db_begin(db);
    if (e)
        goto out;
    char id[24], score[16], thr[16], files[24], code[24], comment[24], blank[24], bytes[24], cx[24],
        ftotal[24], fstored[24], tbytes[24], dms[24], crid[24];
    i64s(id, sizeof id, c->analysis_id);
    snprintf(score, sizeof score, "%.1f", r->score);
    snprintf(thr, sizeof thr, "%.1f", r->threshold);
    i64s(files, sizeof files, (int64_t)r->totals.files);
    i64s(code, sizeof code, (int64_t)r->totals.code);
    i64s(comment, sizeof comment, (int64_t)r->totals.comment);
    i64s(blank, sizeof blank, (int64_t)r->totals.blank);
    i64s(bytes, sizeof bytes, (int64_t)r->totals.bytes);
    i64s(cx, sizeof cx, (int64_t)r->totals.complexity);
    i64s(ftotal, sizeof ftotal, (int64_t)r->findings_total);
    i64s(fstored, sizeof fstored, (int64_t)n);
    i64s(tbytes, sizeof tbytes, (int64_t)tarball_bytes);
    i64s(dms, sizeof dms, download_ms);
    i64s(crid, sizeof crid, c->check_run_id);
    const char *upd[] = {id,
                         c->created_at,
                         score,
                         thr,
                         r->passed ? "t" : "f",
                         files,
                         code,
                         comment,
                         blank,
                         bytes,
                         cx,
                         sg_buf_str(&langs),
                         sg_buf_str(&rules),
                         ftotal,
                         fstored,
                         sg_buf_str(&skipped),
                         sg_buf_str(&cfgerr),
                         tbytes,
                         dms,
                         crid,
                         c->resumed ? "t" : "f"};
    struct base_args ba;
    bool want_base = bq && base && base_args(&ba, c, bq);
    PGresult *bres = NULL;
    /* The row update, the base lookup, the findings' COPY and COMMIT in one query string; its
     * parameters are escaped literals, as a simple-protocol query carries none. */
    struct sg_buf q;
    sg_buf_init(&q, 0);
    e = append_call(db, &q, "SELECT singularity_store_result", upd, 21);
    if (!e && want_base)
        e = append_call(db, &q, "SELECT * FROM singularity_find_base_any", ba.p, 7);
    if (!e)
        e = store_query(db, c, r, n, sg_buf_str(&q), "COMMIT", &bres);
    if (!e)
        db->in_tx = false;
    sg_buf_free(&q);
    if (!e && want_base && PQntuples(bres) == 1)
        fill_base(bres, base);
    PQclear(bres);
    if (!e && stored)
        *stored = n;
out:
    if (e)
        wk_db_rollback(db);
    sg_buf_free(&langs);
    sg_buf_free(&rules);
    sg_buf_free(&skipped);
    sg_buf_free(&cfgerr);
    return e;
}

void wk_db_base_free(struct wk_db_base *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nrule_counts; i++)
        free((char *)b->rule_counts[i].rule);
    free(b->rule_counts);
    memset(b, 0, sizeof *b);
}

static void fill_base(PGresult *res, struct wk_db_base *out)
{
    int64_t v;
    out->found = true;
    snprintf(out->sha, sizeof out->sha, "%s", PQgetvalue(res, 0, 0));
    out->score = strtod(PQgetvalue(res, 0, 1), NULL);
    uint64_t *t[] = {&out->totals.files,  &out->totals.code,  &out->totals.comment,
                     &out->totals.blank,  &out->totals.bytes, &out->totals.complexity,
                     &out->findings_total};
    for (int i = 0; i < 7; i++)
        *t[i] = sg_parse_i64(PQgetvalue(res, 0, 2 + i), 0, INT64_MAX, &v) ? (uint64_t)v : 0;
    if (PQnfields(res) > 10)
        snprintf(out->engine_version, sizeof out->engine_version, "%s", PQgetvalue(res, 0, 10));
    struct json_object *o = json_tokener_parse(PQgetvalue(res, 0, 9));
    if (o && json_object_is_type(o, json_type_object)) {
        size_t n = (size_t)json_object_object_length(o), i = 0;
        out->rule_counts = calloc(n ? n : 1, sizeof *out->rule_counts);
        if (out->rule_counts) {
            json_object_object_foreach(o, key, val)
            {
                if (i >= n)
                    break;
                char *k = strdup(key);
                if (!k)
                    break;
                out->rule_counts[i].rule = k;
                out->rule_counts[i].count = (uint64_t)json_object_get_int64(val);
                i++;
            }
            out->nrule_counts = i;
        }
    }
    json_object_put(o);
}

enum sg_err wk_db_find_base(struct wk_db *db, const struct wk_claim *c, int64_t repository_id,
                            const char *head_sha, const char *base_sha, const char *ref,
                            const char *engine_version, struct wk_db_base *out)
{
    memset(out, 0, sizeof *out);
    struct wk_db_base_query q = {repository_id, head_sha, base_sha, ref, engine_version};
    struct base_args ba;
    if (!base_args(&ba, c, &q))
        return SG_OK;
    PGresult *res = NULL;
    enum sg_err e = wk_db_begin(db);
    if (!e)
        e = wk_db_exec_commit(db, BASE_SQL, 7, ba.p, (void **)&res);
    if (e)
        wk_db_rollback(db);
    else if (PQntuples(res) == 1)
        fill_base(res, out);
    PQclear(res);
    return e;
}

enum sg_err wk_db_sync_installation(struct wk_db *db, int64_t installation_id,
                                    const char *account_login, const char *account_type,
                                    const char *repository_selection, bool suspended,
                                    const struct wk_db_repo *repos, size_t nrepos)
{
    char inst[24];
    i64s(inst, sizeof inst, installation_id);
    struct sg_buf ids;
    sg_buf_init(&ids, 0);
    enum sg_err e = wk_db_begin(db);
    if (e)
        goto out;
    {
        const char *p[] = {inst, account_login, account_type, repository_selection,
                           suspended ? "t" : "f"};
        e = wk_db_exec(
            db,
            "INSERT INTO installations (id, account_login, account_type, repository_selection, "
            "suspended_at, deleted_at, synced_at) VALUES ($1, $2, $3, $4, "
            "CASE WHEN $5::boolean THEN now() END, NULL, now()) "
            "ON CONFLICT (id) DO UPDATE SET account_login = EXCLUDED.account_login, "
            "account_type = EXCLUDED.account_type, repository_selection = "
            "EXCLUDED.repository_selection, "
            "suspended_at = CASE WHEN $5::boolean THEN coalesce(installations.suspended_at, now()) "
            "END, "
            "deleted_at = NULL, synced_at = now(), updated_at = now()",
            5, p, NULL);
        if (e)
            goto out;
    }
    e = sg_buf_putc(&ids, '{');
    for (size_t i = 0; i < nrepos && !e; i++) {
        char id[24];
        i64s(id, sizeof id, repos[i].id);
        const char *p[] = {id, inst, repos[i].full_name, repos[i].default_branch,
                           repos[i].is_private ? "t" : "f"};
        e = wk_db_exec(
            db,
            "INSERT INTO repositories (id, installation_id, full_name, default_branch, private) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET "
            "installation_id = EXCLUDED.installation_id, full_name = EXCLUDED.full_name, "
            "default_branch = EXCLUDED.default_branch, private = EXCLUDED.private, "
            "removed_at = NULL, updated_at = now()",
            5, p, NULL);
        if (!e)
            e = sg_buf_printf(&ids, "%s%s", i ? "," : "", id);
    }
    if (!e)
        e = sg_buf_putc(&ids, '}');
    if (e)
        goto out;
    {
        /* Repositories the installation no longer sees (installation_repositories removed). */
        const char *p[] = {inst, sg_buf_str(&ids)};
        e = wk_db_exec(
            db,
            "UPDATE repositories SET removed_at = now(), updated_at = now() "
            "WHERE installation_id = $1 AND removed_at IS NULL AND NOT (id = ANY($2::bigint[]))",
            2, p, NULL);
        if (e)
            goto out;
    }
    e = wk_db_commit(db);
out:
    if (e)
        wk_db_rollback(db);
    sg_buf_free(&ids);
    return e;
}

enum sg_err wk_db_installation_deleted(struct wk_db *db, int64_t installation_id)
{
    char inst[24];
    i64s(inst, sizeof inst, installation_id);
    enum sg_err e = wk_db_begin(db);
    if (e)
        return e;
    const char *p[] = {inst};
    e = wk_db_exec(db,
                   "INSERT INTO installations (id, deleted_at) VALUES ($1, now()) "
                   "ON CONFLICT (id) DO UPDATE SET deleted_at = now(), updated_at = now()",
                   1, p, NULL);
    if (!e)
        e = wk_db_exec(db,
                       "UPDATE repositories SET removed_at = now(), updated_at = now() "
                       "WHERE installation_id = $1 AND removed_at IS NULL",
                       1, p, NULL);
    if (!e)
        e = wk_db_commit(db);
    if (e)
        wk_db_rollback(db);
    return e;
}

enum sg_err wk_db_installation_suspended(struct wk_db *db, int64_t installation_id, bool suspended)
{
    char inst[24];
    i64s(inst, sizeof inst, installation_id);
    const char *p[] = {inst, suspended ? "t" : "f"};
    return exec_tx(db,
                   "INSERT INTO installations (id, suspended_at) VALUES ($1, CASE WHEN $2::boolean "
                   "THEN now() END) "
                   "ON CONFLICT (id) DO UPDATE SET suspended_at = CASE WHEN $2::boolean THEN "
                   "coalesce(installations.suspended_at, now()) END, updated_at = now()",
                   2, p, NULL);
}
