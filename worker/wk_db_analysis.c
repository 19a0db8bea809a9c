/* Why: the analysis rows a job writes, in the order jobs.c runs them: the claim (the idempotency
 * guard: reuse, defer to a live owner, take over or insert), the result with its findings (COPY)
 * and the base commit's analysis in one transaction, then complete, fail or release. */
#include "wk_db_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sg_log.h"

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
    struct wk_db_stmt st = {CLAIM_SQL, 14, p, &res};
    e = wk_db_pipeline(db, &st, 1, commit);
    if (!e && PQntuples(res) != 1) {
        wk_db_set_err(db, "claim", "singularity_claim returned no row");
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
    wk_db_i64s(inst, sizeof inst, job->installation);
    wk_db_i64s(repo, sizeof repo, job->repo_id);
    wk_db_i64s(pull, sizeof pull, job->pull);
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
        wk_db_i64s(idb, sizeof idb, out->analysis_id);
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
    wk_db_i64s(id, sizeof id, c->analysis_id);
    const char *p[8] = {id, c->created_at};
    for (int i = 0; i < n && i < 6; i++)
        p[2 + i] = extra[i];
    return wk_db_exec_tx(db, sql, 2 + n, p, NULL);
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
    wk_db_i64s(d, sizeof d, duration_ms);
    const char *p[] = {conclusion, d};
    return row_tx(db, c, "SELECT singularity_complete($1, $2, $3, $4)", 2, p);
}

enum sg_err wk_db_fail(struct wk_db *db, const struct wk_claim *c, const char *error,
                       int64_t duration_ms)
{
    char d[24];
    wk_db_i64s(d, sizeof d, duration_ms);
    char crid[24];
    wk_db_i64s(crid, sizeof crid, c->check_run_id);
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
    wk_db_i64s(crid, sizeof crid, c->check_run_id);
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
static enum sg_err result_json(const struct an_result *r, struct sg_buf *langs,
                               struct sg_buf *rules, struct sg_buf *skipped, struct sg_buf *cfgerr)
{
    enum sg_err e = sg_buf_putc(langs, '[');
    for (size_t i = 0; !e && i < r->nlanguages; i++) {
        const struct an_language *l = &r->languages[i];
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
    const struct an_skipped *s = &r->skipped;
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
            wk_db_set_err(db, "escape", PQerrorMessage(db->conn));
            return SG_ERR_DB;
        }
        e = sg_buf_puts(q, lit);
        PQfreemem(lit);
    }
    return e ? e : sg_buf_puts(q, "); ");
}

/* The COPY rows of the first n findings, sent in chunks of ~64 KiB through buf. On a failed send
 * *copy_err names it (the connection is then unusable). */
static enum sg_err put_rows(struct wk_db *db, const struct wk_claim *c, const struct an_result *r,
                            size_t n, struct sg_buf *buf, const char **copy_err)
{
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%lld\t%s\t", (long long)c->analysis_id, c->created_at);
    enum sg_err e = SG_OK;
    for (size_t i = 0; i < n && !e; i++) {
        const struct an_finding *f = &r->findings[i];
        e = sg_buf_printf(buf, "%s%zu\t", prefix, i);
        if (!e)
            e = wk_db_copy_escape(buf, f->path ? f->path : "");
        if (!e)
            e = sg_buf_printf(buf, "\t%u\t", f->line);
        if (!e)
            e = wk_db_copy_escape(buf, f->rule ? f->rule : "");
        if (!e)
            e = sg_buf_printf(buf, "\t%s\t", an_severity_str(f->severity));
        if (!e)
            e = wk_db_copy_escape(buf, f->message ? f->message : "");
        if (!e) /* the uint64 as bigint: the same bits */
            e = sg_buf_printf(buf, "\t%lld\t%s\n", (long long)(int64_t)f->fingerprint,
                              f->status == AN_UNCLASSIFIED ? "\\N"
                              : f->status == AN_NEW        ? "t"
                                                           : "f");
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
                               const struct an_result *r, size_t n, const char *before,
                               const char *after, PGresult **rows)
{
    static const char copy_sql[] = "COPY findings (analysis_id, analysis_created_at, ordinal, "
                                   "path, line, rule, severity, message, fingerprint, is_new) "
                                   "FROM STDIN";
    *rows = NULL;
    if (!db->conn)
        return SG_ERR_DB;
    struct sg_buf q;
    sg_buf_init(&q, 0);
    char begin[96];
    wk_db_take_pending_begin(db, begin, sizeof begin);
    enum sg_err e =
        sg_buf_printf(&q, "%s%s%s%s%s", begin, before, n ? copy_sql : "", n ? "; " : "", after);
    if (e || PQsendQuery(db->conn, sg_buf_str(&q)) != 1) {
        sg_buf_free(&q);
        wk_db_set_err(db, "copy", e ? "out of memory" : PQerrorMessage(db->conn));
        if (!e && PQstatus(db->conn) != CONNECTION_OK)
            wk_db_drop(db);
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
            wk_db_set_err(db, "copy", PQresultErrorMessage(res));
            e = SG_ERR_DB;
        }
        PQclear(res);
        if (copy_err)
            break;
    }
    sg_buf_free(&q);
    if (!e && n && !copied) {
        wk_db_set_err(db, "copy", "no COPY in the answer");
        e = SG_ERR_DB;
    }
    if (copy_err) {
        wk_db_set_err(db, copy_err, PQerrorMessage(db->conn));
        wk_db_drop(db); /* the rest of the answer is unread */
    } else if (PQstatus(db->conn) != CONNECTION_OK) {
        wk_db_drop(db);
    }
    if (e) {
        PQclear(*rows);
        *rows = NULL;
    }
    return e;
}

/* The base lookup, done inside wk_db_store_result's transaction, is singularity_find_base_any()
 * of migration 0004: a completed analysis of base_sha when it differs from head_sha, else the
 * previous completed one on ref before this analysis; by this engine, else by the engine that
 * scored it (its version in the last column). Holds the parameters' text. */
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
    wk_db_i64s(b->repo, sizeof b->repo, q->repository_id);
    wk_db_i64s(b->id, sizeof b->id, c->analysis_id);
    const char *p[7] = {b->repo, q->engine_version, by_sha ? q->base_sha : NULL,
                        q->ref,  q->head_sha,       c->created_at,
                        b->id};
    memcpy(b->p, p, sizeof p);
    return true;
}

static void fill_base(PGresult *res, struct wk_db_base *out);

enum sg_err wk_db_store_result(struct wk_db *db, const struct wk_claim *c,
                               const struct an_result *r, uint64_t tarball_bytes,
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
    wk_db_i64s(id, sizeof id, c->analysis_id);
    snprintf(score, sizeof score, "%.1f", r->score);
    snprintf(thr, sizeof thr, "%.1f", r->threshold);
    wk_db_i64s(files, sizeof files, (int64_t)r->totals.files);
    wk_db_i64s(code, sizeof code, (int64_t)r->totals.code);
    wk_db_i64s(comment, sizeof comment, (int64_t)r->totals.comment);
    wk_db_i64s(blank, sizeof blank, (int64_t)r->totals.blank);
    wk_db_i64s(bytes, sizeof bytes, (int64_t)r->totals.bytes);
    wk_db_i64s(cx, sizeof cx, (int64_t)r->totals.complexity);
    wk_db_i64s(ftotal, sizeof ftotal, (int64_t)r->findings_total);
    wk_db_i64s(fstored, sizeof fstored, (int64_t)n);
    wk_db_i64s(tbytes, sizeof tbytes, (int64_t)tarball_bytes);
    wk_db_i64s(dms, sizeof dms, download_ms);
    wk_db_i64s(crid, sizeof crid, c->check_run_id);
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
    if (!e)
        e = wk_db_gate_update_sql(db, c, r, bq ? bq->gate_base_id : 0, &q);
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
