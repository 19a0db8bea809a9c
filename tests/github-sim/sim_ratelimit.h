/* Why: GitHub's primary rate limit as the simulator keeps it: an hourly budget of --rate-limit
 * requests for the App's JWT and for each installation, one window for all of them, and the
 * X-RateLimit-* headers every API answer carries. (A rate limit a test asks for is a fault:
 * sim_faults.c.)
 *
 * Ownership: no pointers are returned. */
#ifndef SIM_RATELIMIT_H
#define SIM_RATELIMIT_H

#include <stdbool.h>

struct evkeyvalq;
struct sim_inst;
struct sim_rq;

/* Opens the first hour's window. */
void sim_ratelimit_start(void);
/* Counts r against the App's budget or installation in's; past it, answers 403 with
 * X-RateLimit-Remaining: 0 like GitHub and returns true (r is then gone). */
bool sim_ratelimit_app(struct sim_rq *r);
bool sim_ratelimit_installation(struct sim_rq *r, struct sim_inst *in);
/* The X-RateLimit-* headers of r's answer, when r is a GitHub API request. */
void sim_ratelimit_headers(struct sim_rq *r, struct evkeyvalq *out);

#endif
