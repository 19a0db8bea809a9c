/* Why: `singularity-worker queue [--json]`: the queue's counts as operators and autoscalers see
 * them (the same script as the /metrics gauges). */
#include "wk_cli.h"

#include <stdio.h>
#include <string.h>

#include "wk_config.h"
#include "wk_queue.h"
#include "sg_time.h"

int wk_cmd_queue(int argc, char **argv)
{
    bool json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1 || (argc == 1 && !json)) {
        fprintf(stderr, "usage: singularity-worker queue [--json]\n");
        return 2;
    }
    struct wk_config cfg;
    int rc = wk_cli_config(&cfg, false);
    if (rc)
        goto out;
    rc = 1;
    struct wk_cli_queue cq;
    if (!wk_cli_open_queue(&cfg, &cq))
        goto out;
    struct wk_queue *q = cq.queue;
    struct sg_queue_stats st;
    if (wk_queue_stats(q, sg_now_ms(), &st) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n", wk_queue_error(q));
        wk_cli_close_queue(&cq);
        goto out;
    }
    if (json)
        printf(
            "{\"pending\":%lld,\"inflight\":%lld,\"delayed\":%lld,\"dead\":%lld,\"workers\":%lld,"
            "\"oldest_age_seconds\":%.3f}\n",
            (long long)st.length, (long long)st.inflight, (long long)st.delayed, (long long)st.dead,
            (long long)st.workers, st.oldest_age_s);
    else
        printf("pending     %lld\nin flight   %lld  (%lld workers)\ndelayed     %lld\n"
               "dead        %lld\noldest age  %.1f s\n",
               (long long)st.length, (long long)st.inflight, (long long)st.workers,
               (long long)st.delayed, (long long)st.dead, st.oldest_age_s);
    wk_cli_close_queue(&cq);
    rc = 0;
out:
    wk_config_free(&cfg);
    return rc;
}
