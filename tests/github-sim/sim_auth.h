/* Why: how a request proves who it is, as on GitHub: an App's RS256 JWT (verified by sim_apps.c
 * against the App's key) or an installation token ("ghs_...", an hour) that a JWT exchanges for.
 * Every authenticated request is also counted against its rate limit (sim_ratelimit.c).
 *
 * Ownership: the installation returned is sim_installations.c's. */
#ifndef SIM_AUTH_H
#define SIM_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct sim_inst;
struct sim_rq;

/* App JWT auth; on failure answers 401 (or 403 past the rate limit) and returns false. */
bool sim_auth_jwt(struct sim_rq *r);
/* The App the last accepted JWT was signed for (sim_apps.h: the command line's or a created one).
 */
int64_t sim_auth_jwt_app(void);
/* Installation token auth; returns the installation or NULL after answering 401 (or 403). */
struct sim_inst *sim_auth_token(struct sim_rq *r);

/* POST /app/installations/{id}/access_tokens. */
void sim_auth_access_token(struct sim_rq *r, int64_t inst_id);
/* DELETE /_sim/tokens: every installation token stops working, as if it had expired. */
void sim_auth_revoke_tokens(void);
void sim_auth_free(void);

#endif
