/* Why: the HTTP side of the simulator's GitHub Apps (the Apps themselves are sim_apps.c's): the
 * App-JWT endpoints GET /app and GET /app/installations, the manifest code conversion, and the
 * control endpoints that stand in for an owner's clicks on github.com (create an App from a
 * manifest, edit its permissions and events, install it).
 *
 * Ownership: each function answers r (and so frees it). */
#ifndef SIM_APP_API_H
#define SIM_APP_API_H

struct sim_rq;

/* GET /app. */
void sim_app_api_get(struct sim_rq *r);
/* GET /app/installations. */
void sim_app_api_installations(struct sim_rq *r);
/* POST /app-manifests/{code}/conversions. */
void sim_app_api_conversion(struct sim_rq *r, const char *code);
/* /_sim/manifests and /_sim/apps/...: p is the path after "/_sim". */
void sim_app_api_control(struct sim_rq *r, const char *p);

#endif
