/* Why: check runs, the one thing the worker writes to GitHub: create, update (annotations
 * accumulate across PATCHes), get and list for a ref, each validated the way GitHub validates
 * them (the 422s and 400s tests rely on), plus the full dump for GET /_sim/check-runs.
 *
 * Ownership: each route answers r (and so frees it); the check runs are the module's until
 * sim_checkruns_free(). */
#ifndef SIM_CHECKRUNS_H
#define SIM_CHECKRUNS_H

#include <stdbool.h>

struct sim_rq;

void sim_checkruns_start(void);
/* POST /repos/{o}/{r}/check-runs. */
void sim_checkruns_create(struct sim_rq *r, const char *owner, const char *repo);
/* GET, or with update PATCH, /repos/{o}/{r}/check-runs/{id}. */
void sim_checkruns_get_or_update(struct sim_rq *r, const char *owner, const char *repo,
                                 const char *idstr, bool update);
/* GET /repos/{o}/{r}/commits/{ref}/check-runs. */
void sim_checkruns_list_for_ref(struct sim_rq *r, const char *owner, const char *repo,
                                const char *ref);
/* GET /_sim/check-runs: every run as stored, with repository and the accumulated annotations. */
void sim_checkruns_dump(struct sim_rq *r);
void sim_checkruns_free(void);

#endif
