/* Why: which handler answers which request, in two tables: GitHub's REST paths (after any fault
 * has had its turn) and the simulator's own control API under /_sim/ (README.md), whose handlers
 * live with the state they change.
 *
 * Ownership: both answer r (and so free it). */
#ifndef SIM_ROUTES_H
#define SIM_ROUTES_H

struct sim_rq;

/* A GitHub API request (path without the GHES prefix). */
void sim_routes_api(struct sim_rq *r);
/* A request under /_sim/. */
void sim_routes_control(struct sim_rq *r);

#endif
