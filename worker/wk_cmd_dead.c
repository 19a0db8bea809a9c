/* Why: `singularity-worker dead list|retry|purge`: the dead list read, retried (attempts reset)
 * or emptied; unparseable jobs are shown with the last error they were buried with. */
#include "wk_cli.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_config.h"
#include "wk_queue.h"
#include "sg_buf.h"
#include "sg_config.h"
#include "sg_job.h"

struct dead_ctx {
    bool json;
    bool first;
    long index;
    const char *match; /* retry: delivery id, or NULL for all */
    char **lines;      /* retry: collected lines */
    size_t n, cap;
};

static void dead_print(void *ud, const char *line, size_t len)
{
    struct dead_ctx *d = ud;
    if (d->json) {
        printf("%s%.*s", d->first ? "" : ",\n", (int)len, line);
        d->first = false;
        d->index++;
        return;
    }
    struct sg_job job;
    char err[200];
    if (sg_job_decode(line, len, &job, err, sizeof err) != SG_OK) {
        /* An unparseable job is buried as {"last_error":...,"raw":...} (jobs.c). */
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL, *le, *raw;
        if (o && json_object_object_get_ex(o, "last_error", &le) &&
            json_object_object_get_ex(o, "raw", &raw)) {
            printf("%3ld  (unparseable: %s)  %.200s\n", d->index++, json_object_get_string(le),
                   json_object_get_string(raw));
        } else {
            printf("%3ld  (unparseable: %s)  %.*s\n", d->index++, err, (int)(len > 200 ? 200 : len),
                   line);
        }
        json_object_put(o);
        json_tokener_free(tok);
        return;
    }
    printf("%3ld  %-8s %-36s %-30s %.12s  attempts=%d  %s\n", d->index++, sg_job_kind_str(job.kind),
           job.delivery ? job.delivery : "-", job.repo_full_name ? job.repo_full_name : "-",
           job.sha ? job.sha : "-", job.attempt, job.last_error ? job.last_error : "");
    sg_job_clear(&job);
}

static void dead_collect(void *ud, const char *line, size_t len)
{
    struct dead_ctx *d = ud;
    if (d->match) {
        struct sg_job job;
        char err[200];
        bool hit = sg_job_decode(line, len, &job, err, sizeof err) == SG_OK && job.delivery &&
                   strcmp(job.delivery, d->match) == 0;
        sg_job_clear(&job);
        if (!hit)
            return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **v = realloc(d->lines, cap * sizeof *v);
        if (!v)
            return;
        d->lines = v;
        d->cap = cap;
    }
    char *copy = strndup(line, len);
    if (copy)
        d->lines[d->n++] = copy;
}

int wk_cmd_dead(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: singularity-worker dead list|retry|purge\n");
        return 2;
    }
    struct wk_config cfg;
    struct dead_ctx d = {.first = true};
    struct wk_cli_queue cq = {0};
    struct wk_queue *q = NULL;
    int rc = wk_cli_config(&cfg, false);
    if (rc)
        goto out;
    rc = 2;
    const char *sub = argv[0];
    int64_t limit = 100;
    if (strcmp(sub, "list") == 0) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                d.json = true;
            else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
                     sg_parse_i64(argv[i + 1], 1, 1000000, &limit))
                i++;
            else
                goto usage;
        }
    } else if (strcmp(sub, "retry") == 0) {
        if (argc != 2)
            goto usage;
        d.match = strcmp(argv[1], "--all") == 0 ? NULL : argv[1];
    } else if (strcmp(sub, "purge") == 0) {
        if (argc != 1)
            goto usage;
    } else {
        goto usage;
    }
    rc = 1;
    if (!wk_cli_open_queue(&cfg, &cq))
        goto out;
    q = cq.queue;
    enum sg_err e;
    if (strcmp(sub, "list") == 0) {
        if (d.json)
            printf("[");
        e = wk_queue_dead_list(q, 0, (long)limit - 1, dead_print, &d);
        if (d.json)
            printf("]\n");
        else if (!e && d.index == 0)
            printf("analysis_queue:dead is empty\n");
    } else if (strcmp(sub, "retry") == 0) {
        e = wk_queue_dead_list(q, 0, -1, dead_collect, &d);
        size_t moved = 0;
        for (size_t i = 0; i < d.n && !e; i++) {
            struct sg_job job;
            char err[200];
            struct sg_buf nb;
            sg_buf_init(&nb, 1 << 20);
            bool ok = false;
            if (sg_job_decode(d.lines[i], strlen(d.lines[i]), &job, err, sizeof err) == SG_OK) {
                /* A fresh start: attempts reset, last error dropped. */
                job.attempt = 0;
                free(job.last_error);
                job.last_error = NULL;
                if (sg_job_encode(&job, &nb) == SG_OK)
                    e = wk_queue_dead_requeue(q, d.lines[i], sg_buf_str(&nb), &ok);
            } else {
                fprintf(stderr, "skipping an unparseable job (%s); `dead purge` removes it\n", err);
            }
            moved += ok;
            sg_job_clear(&job);
            sg_buf_free(&nb);
        }
        if (!e) {
            printf("retry: %zu job(s) moved back to analysis_queue\n", moved);
            if (d.match && moved == 0) {
                fprintf(stderr, "no dead job with delivery %s\n", d.match);
                rc = 1;
                goto out;
            }
        }
    } else {
        int64_t n = 0;
        e = wk_queue_dead_purge(q, &n);
        if (!e)
            printf("purge: %lld job(s) deleted\n", (long long)n);
    }
    if (e) {
        fprintf(stderr, "singularity-worker: %s\n", wk_queue_error(q));
        goto out;
    }
    rc = 0;
    goto out;
usage:
    fprintf(stderr, "usage: singularity-worker dead list [--json] [--limit N] | retry "
                    "DELIVERY|--all | purge\n");
out:
    for (size_t i = 0; i < d.n; i++)
        free(d.lines[i]);
    free(d.lines);
    wk_cli_close_queue(&cq);
    wk_config_free(&cfg);
    return rc;
}
