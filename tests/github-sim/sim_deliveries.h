/* Why: the App's webhook deliveries as GitHub lists them (newest first, cursor-paged) and their
 * redelivery, for the worker's catching up on missed webhooks. A test says which deliveries GitHub
 * has made through POST /_sim/deliveries.
 *
 * Ownership: each function answers r (and so frees it); the deliveries are the module's until
 * sim_deliveries_free(). */
#ifndef SIM_DELIVERIES_H
#define SIM_DELIVERIES_H

struct sim_rq;

void sim_deliveries_start(void);
/* GET /app/hook/deliveries?per_page&cursor. */
void sim_deliveries_list(struct sim_rq *r);
/* POST /app/hook/deliveries/{id}/attempts. */
void sim_deliveries_redeliver(struct sim_rq *r, const char *idstr);
/* POST /_sim/deliveries: an array of deliveries to add. */
void sim_deliveries_add(struct sim_rq *r);
void sim_deliveries_free(void);

#endif
