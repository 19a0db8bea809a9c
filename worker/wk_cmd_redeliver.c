/* Why: `singularity-worker redeliver --since DURATION [--dry-run]`: GitHub does not retry a failed
 * delivery by itself, so this lists the App's recent deliveries and asks for those that never
 * succeeded (the Helm chart runs it as a CronJob). */
#include "wk_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_config.h"
#include "wk_github.h"
#include "sg_config.h"
#include "sg_log.h"
#include "sg_time.h"

#define MAX_DELIVERIES 200000

struct collected {
    struct wk_github_delivery *v;
    size_t n, cap;
};

static enum sg_err collect_delivery(void *ud, const struct wk_github_delivery *d)
{
    struct collected *c = ud;
    if (c->n >= MAX_DELIVERIES)
        return SG_ERR_TOO_LARGE;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 256;
        void *p = realloc(c->v, ncap * sizeof *c->v);
        if (!p)
            return SG_ERR_NOMEM;
        c->v = p;
        c->cap = ncap;
    }
    c->v[c->n++] = *d;
    return SG_OK;
}

enum sg_err wk_redeliver_failed(struct wk_github *gh, int64_t since_unix_s, bool dry_run,
                                struct wk_redeliver_stats *stats, struct wk_github_error *err)
{
    struct wk_redeliver_stats st;
    memset(&st, 0, sizeof st);
    struct collected c = {0};
    enum sg_err e = wk_github_deliveries_list(gh, since_unix_s, collect_delivery, &c, err);
    if (e != SG_OK)
        goto out;
    st.listed = c.n;
    /* per guid: skip it when any attempt succeeded; else redeliver its newest attempt, once */
    for (size_t i = 0; i < c.n; i++) {
        const struct wk_github_delivery *d = &c.v[i];
        bool ok = false, newest = true;
        for (size_t j = 0; j < c.n; j++) {
            const struct wk_github_delivery *o = &c.v[j];
            if (strcmp(o->guid, d->guid) != 0)
                continue;
            if (o->status_code >= 200 && o->status_code < 300)
                ok = true;
            if (o->delivered_at_s > d->delivered_at_s ||
                (o->delivered_at_s == d->delivered_at_s && o->id > d->id))
                newest = false;
        }
        if (ok || !newest)
            continue;
        st.failed++;
        if (dry_run) {
            sg_log_info("redeliver: would redeliver", SG_KV_STR("delivery", d->guid),
                        SG_KV_INT("id", d->id), SG_KV_INT("status", d->status_code),
                        SG_KV_STR("event", d->event), SG_KV_END);
            continue;
        }
        struct wk_github_error e1;
        enum sg_err re = wk_github_delivery_redeliver(gh, d->id, &e1);
        if (re == SG_OK) {
            st.redelivered++;
            sg_log_info("redeliver: requested", SG_KV_STR("delivery", d->guid),
                        SG_KV_INT("id", d->id), SG_KV_INT("status", d->status_code),
                        SG_KV_STR("event", d->event), SG_KV_END);
        } else {
            st.errors++;
            sg_log_warn("redeliver: failed", SG_KV_STR("delivery", d->guid), SG_KV_INT("id", d->id),
                        SG_KV_STR("err", e1.message), SG_KV_END);
            if (re == SG_ERR_RATE_LIMITED) {
                /* stop asking; the next run (CronJob) continues */
                e = re;
                if (err)
                    *err = e1;
                break;
            }
        }
    }
out:
    free(c.v);
    if (stats)
        *stats = st;
    return e;
}

int wk_cmd_redeliver(int argc, char **argv)
{
    int64_t since = -1;
    bool dry = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
            sg_parse_duration(argv[i + 1], &since))
            i++;
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry = true;
        else
            since = -2;
    }
    if (since < 0) {
        fprintf(stderr, "usage: singularity-worker redeliver --since DURATION [--dry-run]  (e.g. "
                        "90m, 6h, 2d)\n");
        return 2;
    }
    struct wk_config cfg;
    int rc = wk_cli_config(&cfg, true);
    if (rc)
        goto out;
    rc = 1;
    char err[256];
    struct wk_github_config gc = {.api_url = cfg.github_api_url,
                                  .app_id = cfg.app_id,
                                  .app_key = cfg.app_key,
                                  .pace_ms = cfg.github_pace_ms};
    struct wk_github *gh = wk_github_new(&gc, err, sizeof err);
    if (!gh) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        goto out;
    }
    struct wk_redeliver_stats st = {0};
    struct wk_github_error ge = {0};
    enum sg_err e = wk_redeliver_failed(gh, sg_now_ms() / 1000 - since, dry, &st, &ge);
    wk_github_free(gh);
    printf("redeliver: %zu deliveries since %llds ago, %zu failed, %zu redelivered%s, %zu errors\n",
           st.listed, (long long)since, st.failed, st.redelivered, dry ? " (dry run)" : "",
           st.errors);
    if (e) {
        fprintf(stderr, "singularity-worker redeliver: %s\n",
                ge.message[0] ? ge.message : sg_err_str(e));
        goto out;
    }
    rc = st.errors ? 1 : 0;
out:
    wk_config_free(&cfg);
    return rc;
}
