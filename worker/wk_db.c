/* Why: see db.h. The connection and its transactions: connect and reconnect, BEGIN + SET LOCAL
 * carried by the first statement, the pipelined round trip, schema version and partitions. libpq
 * errors are translated to SG_ERR_DB here and logged once, with PostgreSQL's own message; a
 * connection that is no longer OK is dropped so the next call reconnects. */
#include "wk_db_internal.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sg_log.h"

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

void wk_db_drop(struct wk_db *db)
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
    wk_db_drop(db);
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
void wk_db_set_err(struct wk_db *db, const char *what, const char *msg)
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
    wk_db_drop(db);
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
        wk_db_set_err(db, "connect", db->conn ? PQerrorMessage(db->conn) : "out of memory");
        wk_db_drop(db);
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
    wk_db_set_err(db, what, res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
    if (PQstatus(db->conn) != CONNECTION_OK)
        wk_db_drop(db);
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
void wk_db_take_pending_begin(struct wk_db *db, char *out, size_t n)
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
    wk_db_take_pending_begin(db, sql, sizeof sql);
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
        wk_db_drop(db); /* results still unread: the connection's state is unknown */
    if (db->conn && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(db->conn, "ROLLBACK");
        PQclear(res);
        if (PQstatus(db->conn) != CONNECTION_OK)
            wk_db_drop(db);
    }
    db->in_tx = false;
}

/* Runs the statements in one round trip (libpq pipeline mode), preceded by BEGIN + SET LOCAL when
 * the transaction is pending and followed by COMMIT when commit is set. The first failure is
 * recorded; the statements after it are skipped by PostgreSQL and the transaction is left aborted
 * for wk_db_rollback(). */
enum sg_err wk_db_pipeline(struct wk_db *db, const struct wk_db_stmt *st, size_t n, bool commit)
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
        wk_db_set_err(db, "pipeline", PQerrorMessage(c));
        wk_db_drop(db);
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
            wk_db_set_err(db,
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
            wk_db_set_err(db, "pipeline", PQerrorMessage(c));
        e = SG_ERR_DB;
        wk_db_drop(db);
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
        struct wk_db_stmt st = {sql, nparams, params, (PGresult **)out};
        return wk_db_pipeline(db, &st, 1, false);
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
    struct wk_db_stmt st = {sql, nparams, params, (PGresult **)out};
    return wk_db_pipeline(db, &st, 1, true);
}

/* One statement in its own transaction. */
enum sg_err wk_db_exec_tx(struct wk_db *db, const char *sql, int n, const char *const *p,
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
    enum sg_err e = wk_db_exec_tx(db, "SELECT singularity_ensure_partitions($1::int)", 1, p, &res);
    if (e)
        return e;
    int64_t v = 0;
    if (created && sg_parse_i64(PQgetvalue(res, 0, 0), 0, 1000, &v))
        *created = (int)v;
    PQclear(res);
    return SG_OK;
}

void wk_db_i64s(char *buf, size_t n, int64_t v)
{
    snprintf(buf, n, "%lld", (long long)v);
}
