/* Why: see sim_ratelimit.h. */
#include "sim_ratelimit.h"

#include <stdint.h>
#include <stdio.h>

#include <event2/http.h>

#include "sim.h"
#include "sim_http.h"
#include "sim_installations.h"

static int64_t app_used;       /* the App's JWT requests in the window */
static int64_t window_reset_s; /* when the window ends (X-RateLimit-Reset) */

void sim_ratelimit_start(void)
{
    window_reset_s = sim_now_s() + 3600;
}

/* Counts a request against an hourly budget (GitHub's primary limit); past it, answers 403 with
 * X-RateLimit-Remaining: 0 like GitHub and returns true. */
static bool over_limit(struct sim_rq *r, int64_t *used)
{
    if (sim_now_s() >= window_reset_s) {
        window_reset_s = sim_now_s() + 3600;
        app_used = 0;
        size_t n;
        struct sim_inst *insts = sim_installations_all(&n);
        for (size_t i = 0; i < n; i++)
            insts[i].used = 0;
    }
    ++*used;
    r->rl_used = *used;
    r->rl_remaining = sim_cfg.rate_limit - *used > 0 ? sim_cfg.rate_limit - *used : 0;
    if (*used <= sim_cfg.rate_limit)
        return false;
    sim_http_finish_msg(
        r, 403, "API rate limit exceeded for installation.",
        "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting");
    return true;
}

bool sim_ratelimit_app(struct sim_rq *r)
{
    return over_limit(r, &app_used);
}

bool sim_ratelimit_installation(struct sim_rq *r, struct sim_inst *in)
{
    return over_limit(r, &in->used);
}

void sim_ratelimit_headers(struct sim_rq *r, struct evkeyvalq *out)
{
    char v[64];
    if (r->rl_remaining >= 0 && r->exhausted_reset_s > 0) {
        r->rl_remaining = 0;
        r->rl_used = sim_cfg.rate_limit;
    }
    if (r->rl_remaining >= 0) {
        snprintf(v, sizeof v, "%lld", (long long)sim_cfg.rate_limit);
        evhttp_add_header(out, "X-RateLimit-Limit", v);
        snprintf(v, sizeof v, "%lld", (long long)r->rl_remaining);
        evhttp_add_header(out, "X-RateLimit-Remaining", v);
        snprintf(v, sizeof v, "%lld", (long long)r->rl_used);
        evhttp_add_header(out, "X-RateLimit-Used", v);
        snprintf(v, sizeof v, "%lld",
                 (long long)(r->exhausted_reset_s > 0 ? r->exhausted_reset_s : window_reset_s));
        evhttp_add_header(out, "X-RateLimit-Reset", v);
        evhttp_add_header(out, "X-RateLimit-Resource", "core");
    }
}
