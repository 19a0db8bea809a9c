/* Why: what every file of the simulator shares: the settings from the command line (sim.c fills
 * them in before the first request and they do not change after) and the few helpers every
 * concern needs — allocation that ends the process when memory runs out (a test tool has no
 * better answer), the clock, GitHub's timestamps and reading an integer from a JSON body.
 *
 * Ownership: the settings' strings point into argv; sim_x* results belong to the caller (free). */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct json_object;

struct sim_config {
    struct event_base *base;
    const char *host;
    int port;
    char app_id[64];
    const char *repos_dir;
    const char *api_prefix; /* GitHub Enterprise Server style "/api/v3", or "" */
    int max_per_page;
    int64_t rate_limit; /* requests per hour per installation (and for the App's JWT) */
};

extern struct sim_config sim_cfg;

void *sim_xcalloc(size_t n, size_t sz);
void *sim_xrealloc(void *p, size_t sz);
char *sim_xstrdup(const char *s);

int64_t sim_now_s(void);
/* "2006-01-02T15:04:05Z", as GitHub writes times. */
void sim_iso8601(int64_t unix_s, char out[32]);
/* o's integer k, or dflt when it is missing or null. */
int64_t sim_json_int(struct json_object *o, const char *k, int64_t dflt);

#endif
