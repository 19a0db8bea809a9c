/* Why: what db.c, db_analysis.c and db_sync.c share and nothing else may use: the handle's fields
 * and the transaction machinery (db.c) that the statements of the other two run through.
 *
 * Ownership: struct wk_db_stmt borrows its SQL and parameters; a PGresult stored through its out
 * pointer belongs to the caller (PQclear). */
#ifndef WK_DB_INTERNAL_H
#define WK_DB_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_db.h"

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

struct wk_db_stmt {
    const char *sql;
    int n;
    const char *const *params;
    PGresult **out; /* NULL: result discarded */
};

/* Records libpq's message (one line) as the handle's error and logs it once. */
void wk_db_set_err(struct wk_db *db, const char *what, const char *msg);
/* Closes the connection; the next call reconnects. */
void wk_db_drop(struct wk_db *db);
/* For a simple-protocol query string: a pending BEGIN + SET LOCAL goes in front of its statements,
 * so they cost no round trip of their own. */
void wk_db_take_pending_begin(struct wk_db *db, char *out, size_t n);
/* Runs the statements in one round trip (libpq pipeline mode), preceded by BEGIN + SET LOCAL when
 * the transaction is pending and followed by COMMIT when commit is set. The first failure is
 * recorded; the statements after it are skipped by PostgreSQL and the transaction is left aborted
 * for wk_db_rollback(). */
enum sg_err wk_db_pipeline(struct wk_db *db, const struct wk_db_stmt *st, size_t n, bool commit);
/* One statement in its own transaction. */
enum sg_err wk_db_exec_tx(struct wk_db *db, const char *sql, int n, const char *const *p,
                          PGresult **out);
/* The new-code gate's columns of an analysis row (db_gate.c), appended to a query string. */
struct an_result;
struct sg_buf;
enum sg_err wk_db_gate_update_sql(struct wk_db *db, const struct wk_claim *c,
                                  const struct an_result *r, int64_t base_analysis_id,
                                  struct sg_buf *q);
/* An integer as a query parameter's text. */
void wk_db_i64s(char *buf, size_t n, int64_t v);

#endif
