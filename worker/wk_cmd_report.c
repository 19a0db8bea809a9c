/* Why: `singularity-worker report [REPO] [--last N]`: the quality trend operators ask for, one
 * line per repository from the repository_quality view with a sparkline of its last scores
 * (`▅▅▆▆▇ 7.9 → 8.4`). It is a read that tolerates replication lag, so it goes to
 * DATABASE_READ_URL (a streaming replica) when that is set, in a read-only transaction, and never
 * touches the job path's DATABASE_URL connection. */
#include "wk_cli.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_config.h"
#include "sg_buf.h"
#include "sg_config.h"

/* Eight heights, lowest first; a score of 0..10 picks one. */
static const char *const SPARKS[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

/* "7.9 8.1 8.4" (oldest first) -> sparkline into out; the first and last score through *first,
 * *last. Returns how many scores there were. */
static int sparkline(const char *scores, struct sg_buf *out, double *first, double *last)
{
    int n = 0;
    const char *p = scores;
    while (p && *p) {
        char *end;
        double s = strtod(p, &end);
        if (end == p)
            break;
        int i = (int)(s / 10.0 * 7.0 + 0.5);
        sg_buf_puts(out, SPARKS[i < 0 ? 0 : i > 7 ? 7 : i]);
        if (n++ == 0)
            *first = s;
        *last = s;
        p = end;
    }
    return n;
}

static const char REPORT_SQL[] =
    "SELECT q.full_name, q.head_sha, to_char(q.analyzed_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD HH24:MI'), "
    "  (SELECT string_agg(t.score::text, ' ' ORDER BY t.created_at, t.id) FROM ("
    "     SELECT a.score, a.created_at, a.id FROM analyses a"
    "     WHERE a.repository_id = q.repository_id AND a.status = 'completed'"
    "       AND a.score IS NOT NULL"
    "     ORDER BY a.created_at DESC, a.id DESC LIMIT $2) t)"
    " FROM repository_quality q"
    " WHERE $1::text IS NULL OR q.full_name = $1"
    " ORDER BY q.full_name";

static int usage(void)
{
    fprintf(stderr, "usage: singularity-worker report [OWNER/REPO] [--last N]\n");
    return 2;
}

int wk_cmd_report(int argc, char **argv)
{
    const char *repo = NULL;
    int64_t last = 10;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--last") == 0 && i + 1 < argc) {
            if (!sg_parse_i64(argv[++i], 1, 100, &last))
                return usage();
        } else if (argv[i][0] != '-' && !repo) {
            repo = argv[i];
        } else {
            return usage();
        }
    }
    struct wk_config cfg;
    int rc = wk_cli_config(&cfg, false);
    PGconn *pg = NULL;
    PGresult *res = NULL;
    if (rc)
        goto out;
    rc = 1;
    const char *url = cfg.database_read_url ? cfg.database_read_url : cfg.database_url;
    char timeout[16], options[64];
    snprintf(timeout, sizeof timeout, "%lld", (long long)cfg.db_connect_timeout_s);
    snprintf(options, sizeof options,
             "-c statement_timeout=%lld -c default_transaction_read_only=on",
             (long long)cfg.db_statement_timeout_ms);
    const char *keys[] = {"dbname", "connect_timeout", "options", "application_name", NULL};
    const char *vals[] = {url, timeout, options, "singularity-report", NULL};
    pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "singularity-worker: %s: %s",
                cfg.database_read_url ? "DATABASE_READ_URL" : "DATABASE_URL", PQerrorMessage(pg));
        goto out;
    }
    char lastbuf[8];
    snprintf(lastbuf, sizeof lastbuf, "%lld", (long long)last);
    const char *params[2] = {repo, lastbuf};
    res = PQexecParams(pg, REPORT_SQL, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "singularity-worker: report: %s", PQerrorMessage(pg));
        goto out;
    }
    int rows = PQntuples(res);
    if (rows == 0) {
        fprintf(stderr, "singularity-worker: %s%s\n",
                repo ? "no completed analysis of " : "no completed analyses yet", repo ? repo : "");
        goto out;
    }
    for (int r = 0; r < rows; r++) {
        struct sg_buf spark;
        sg_buf_init(&spark, 4096);
        double first = 0, latest = 0;
        int n = sparkline(PQgetvalue(res, r, 3), &spark, &first, &latest);
        if (n == 0)
            printf("%-40s (no score)  %s  %.12s\n", PQgetvalue(res, r, 0), PQgetvalue(res, r, 2),
                   PQgetvalue(res, r, 1));
        else
            printf("%-40s %s %.1f → %.1f  (%d analyses, last %s UTC, %.12s)\n",
                   PQgetvalue(res, r, 0), sg_buf_str(&spark), first, latest, n,
                   PQgetvalue(res, r, 2), PQgetvalue(res, r, 1));
        sg_buf_free(&spark);
    }
    rc = 0;
out:
    PQclear(res);
    PQfinish(pg);
    wk_config_free(&cfg);
    return rc;
}
