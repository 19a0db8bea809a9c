/* Why: owns the new-code gate's statements (see db_gate.h). The fingerprints travel as one bytea
 * of sorted big-endian uint64 per analysis: 100,000 findings are 800 KB in one value instead of
 * 100,000 rows, and reading them back needs no sort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_db_gate.h"
#include "wk_db_internal.h"

void wk_db_gate_base_free(struct wk_db_gate_base *b)
{
    if (!b)
        return;
    an_result_free(b->result);
    memset(b, 0, sizeof *b);
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* bytea in PostgreSQL's text output ("\x0011..."), 8 bytes per fingerprint. */
static bool parse_fps(const char *s, size_t len, struct an_result *r)
{
    if (len < 2 || s[0] != '\\' || s[1] != 'x' || (len - 2) % 16)
        return false;
    size_t n = (len - 2) / 16;
    r->fingerprints = malloc((n ? n : 1) * sizeof *r->fingerprints);
    r->fingerprint_severity = calloc(n ? n : 1, 1);
    if (!r->fingerprints || !r->fingerprint_severity)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (size_t j = 0; j < 16; j++) {
            int d = hexv(s[2 + i * 16 + j]);
            if (d < 0)
                return false;
            v = v << 4 | (uint64_t)d;
        }
        r->fingerprints[i] = v;
    }
    r->nfingerprints = n;
    return true;
}

static enum an_severity sev_of(const char *s)
{
    return strcmp(s, "error") == 0 ? AN_ERROR : strcmp(s, "warning") == 0 ? AN_WARNING : AN_NOTICE;
}

/* The base's stored findings that have a fingerprint: the fixed list is drawn from them. */
static enum sg_err load_findings(struct wk_db *db, const char *id, const char *created_at,
                                 struct an_result *r)
{
    PGresult *res = NULL;
    const char *p[] = {id, created_at};
    enum sg_err e =
        wk_db_exec(db,
                   "SELECT rule, severity, path, line, message, fingerprint FROM findings "
                   "WHERE analysis_created_at = $2 AND analysis_id = $1 AND fingerprint "
                   "IS NOT NULL ORDER BY ordinal",
                   2, p, (void **)&res);
    if (e)
        return e;
    int n = PQntuples(res);
    r->findings = calloc(n ? (size_t)n : 1, sizeof *r->findings);
    if (!r->findings) {
        PQclear(res);
        return SG_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        struct an_finding *f = &r->findings[r->nfindings];
        f->rule = an_rule_id(PQgetvalue(res, i, 0));
        if (!f->rule)
            continue; /* a rule this engine does not know cannot be compared */
        f->severity = sev_of(PQgetvalue(res, i, 1));
        f->path = strdup(PQgetvalue(res, i, 2));
        f->line = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
        f->message = strdup(PQgetvalue(res, i, 4));
        f->fingerprint = (uint64_t)strtoll(PQgetvalue(res, i, 5), NULL, 10);
        r->nfindings++;
        if (!f->path || !f->message) {
            PQclear(res);
            return SG_ERR_NOMEM;
        }
    }
    PQclear(res);
    return SG_OK;
}

enum sg_err wk_db_find_gate_base(struct wk_db *db, int64_t repository_id,
                                 const char *engine_version, const char *base_sha, const char *ref,
                                 const char *head_sha, struct wk_db_gate_base *out)
{
    memset(out, 0, sizeof *out);
    char repo[24];
    wk_db_i64s(repo, sizeof repo, repository_id);
    bool by_sha = base_sha && strcmp(base_sha, head_sha) != 0;
    const char *p[] = {repo, engine_version, by_sha ? base_sha : NULL, by_sha ? NULL : ref,
                       head_sha};
    PGresult *res = NULL;
    enum sg_err e = wk_db_begin(db);
    if (e)
        return e;
    e = wk_db_exec(db, "SELECT * FROM singularity_find_gate_base($1, $2, $3, $4, $5)", 5, p,
                   (void **)&res);
    if (e || PQntuples(res) != 1)
        goto out;
    struct an_result *r = calloc(1, sizeof *r);
    if (!r) {
        e = SG_ERR_NOMEM;
        goto out;
    }
    out->result = r;
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->sha, sizeof out->sha, "%s", PQgetvalue(res, 0, 2));
    r->score = strtod(PQgetvalue(res, 0, 3), NULL);
    if (!parse_fps(PQgetvalue(res, 0, 4), (size_t)PQgetlength(res, 0, 4), r)) {
        wk_db_set_err(db, "base", "fingerprints are not a bytea of 8-byte values");
        e = SG_ERR_DB;
        goto out;
    }
    r->findings_total = r->nfingerprints;
    e = load_findings(db, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), r);
    if (!e)
        out->found = true;
out:
    PQclear(res);
    if (!e)
        e = wk_db_commit(db);
    else
        wk_db_rollback(db);
    if (e || !out->found)
        wk_db_gate_base_free(out);
    return e;
}

enum sg_err wk_db_insert_base(struct wk_db *db, int64_t repository_id, int64_t installation_id,
                              const char *sha, const char *engine_version, const char *worker_id,
                              struct wk_claim *out)
{
    memset(out, 0, sizeof *out);
    char repo[24], inst[24];
    wk_db_i64s(repo, sizeof repo, repository_id);
    wk_db_i64s(inst, sizeof inst, installation_id);
    const char *p[] = {repo, inst, sha, engine_version, worker_id};
    PGresult *res = NULL;
    enum sg_err e =
        wk_db_exec_tx(db, "SELECT * FROM singularity_insert_base($1, $2, $3, $4, $5)", 5, p, &res);
    if (!e && PQntuples(res) == 1) {
        out->analysis_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(out->created_at, sizeof out->created_at, "%s", PQgetvalue(res, 0, 1));
        out->action = WK_CLAIM_RUN;
    } else if (!e) {
        e = SG_ERR_DB;
    }
    PQclear(res);
    return e;
}

enum sg_err wk_db_trend(struct wk_db *db, int64_t repository_id, const char *ref,
                        const char *engine_version, double *scores, size_t max, size_t *n)
{
    *n = 0;
    if (!ref || !max)
        return SG_OK;
    char repo[24], lim[24];
    wk_db_i64s(repo, sizeof repo, repository_id);
    wk_db_i64s(lim, sizeof lim, (int64_t)max);
    const char *p[] = {repo, ref, engine_version, lim};
    PGresult *res = NULL;
    enum sg_err e =
        wk_db_exec_tx(db,
                      "SELECT score FROM analyses WHERE repository_id = $1 AND ref = $2 "
                      "AND status = 'completed' AND engine_version = $3 AND score IS "
                      "NOT NULL ORDER BY created_at DESC, id DESC LIMIT $4",
                      4, p, &res);
    if (!e) {
        size_t rows = (size_t)PQntuples(res);
        for (size_t i = 0; i < rows && i < max; i++)
            scores[rows - 1 - i] = strtod(PQgetvalue(res, (int)i, 0), NULL);
        *n = rows < max ? rows : max;
    }
    PQclear(res);
    return e;
}

/* The gate's columns of an analysis row, as one more statement of wk_db_store_result's query. */
enum sg_err wk_db_gate_update_sql(struct wk_db *db, const struct wk_claim *c,
                                  const struct an_result *r, int64_t base_analysis_id,
                                  struct sg_buf *q)
{
    char *ts = PQescapeLiteral(db->conn, c->created_at, strlen(c->created_at));
    if (!ts) {
        wk_db_set_err(db, "escape", PQerrorMessage(db->conn));
        return SG_ERR_DB;
    }
    enum sg_err e = sg_buf_puts(q, "UPDATE analyses SET fingerprints = '\\x");
    for (size_t i = 0; i < r->nfingerprints && !e; i++)
        e = sg_buf_printf(q, "%016llx", (unsigned long long)r->fingerprints[i]);
    if (!e && r->has_base)
        e = sg_buf_printf(q,
                          "'::bytea, base_analysis_id = %lld, new_findings = %llu, "
                          "fixed_findings = %llu",
                          (long long)base_analysis_id, (unsigned long long)r->new_findings,
                          (unsigned long long)r->fixed_findings);
    else if (!e)
        e = sg_buf_puts(q, "'::bytea");
    if (!e)
        e = sg_buf_printf(q, " WHERE id = %lld AND created_at = %s; ", (long long)c->analysis_id,
                          ts);
    PQfreemem(ts);
    return e;
}
