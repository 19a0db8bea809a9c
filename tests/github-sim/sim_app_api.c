/* Why: see sim_app_api.h. */
#include "sim_app_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim.h"
#include "sim_apps.h"
#include "sim_auth.h"
#include "sim_http.h"
#include "sim_installations.h"

/* Where this simulator's stand-in for GitHub's web pages lives: GITHUB_URL in tests. */
static void web_base(char *out, size_t outlen)
{
    snprintf(out, outlen, "http://%s:%d/_sim/web", sim_cfg.host, sim_cfg.port);
}

void sim_app_api_get(struct sim_rq *r)
{
    char web[300];
    if (!sim_auth_jwt(r))
        return;
    web_base(web, sizeof web);
    sim_http_finish_json(r, 200, sim_apps_get(sim_auth_jwt_app(), web));
}

void sim_app_api_installations(struct sim_rq *r)
{
    size_t n;
    if (!sim_auth_jwt(r))
        return;
    const int64_t *ids = sim_apps_installations(sim_auth_jwt_app(), &n);
    struct json_object *arr = json_object_new_array();
    struct json_object *app = sim_apps_get(sim_auth_jwt_app(), ""), *slug = NULL;
    json_object_object_get_ex(app, "slug", &slug);
    long per_page = sim_http_per_page(r);
    for (size_t i = 0; i < n && (long)i < per_page; i++) {
        struct sim_inst *in = sim_installations_find(ids[i]);
        if (!in)
            continue;
        struct json_object *o = sim_installations_json(in);
        json_object_object_add(o, "app_id", json_object_new_int64(sim_auth_jwt_app()));
        json_object_object_add(o, "app_slug", json_object_get(slug));
        json_object_array_add(arr, o);
    }
    json_object_put(app);
    sim_http_finish_json(r, 200, arr);
}

void sim_app_api_conversion(struct sim_rq *r, const char *code)
{
    char web[300];
    int status;
    web_base(web, sizeof web);
    struct json_object *o = sim_apps_convert(code, web, sim_now_s(), &status);
    sim_http_finish_json(r, status, o);
}

/* POST /_sim/manifests (sim_apps_create), PATCH /_sim/apps/{id} (permissions, events) and
 * POST /_sim/apps/{id}/installations {"id", "repositories"}: the owner's clicks on GitHub. */
void sim_app_api_control(struct sim_rq *r, const char *p)
{
    char web[300], spec[4096];
    int status = 404;
    int64_t app_id = 0;
    struct json_object *o = NULL, *v;
    web_base(web, sizeof web);
    if (!r->body) {
        sim_http_finish_msg(r, 400, "Problems parsing JSON", NULL);
        return;
    }
    if (!strcmp(p, "/manifests") && !strcmp(r->method, "POST")) {
        o = sim_apps_create(r->body, web, &status);
    } else if (!strncmp(p, "/apps/", 6) && (app_id = strtoll(p + 6, NULL, 10)) > 0) {
        const char *rest = strchr(p + 6, '/');
        if (!rest && !strcmp(r->method, "PATCH")) {
            o = sim_apps_update(app_id, r->body, &status);
        } else if (rest && !strcmp(rest, "/installations") && !strcmp(r->method, "POST") &&
                   json_object_object_get_ex(r->body, "id", &v)) {
            int64_t inst = json_object_get_int64(v);
            int len = snprintf(spec, sizeof spec, "%lld=", (long long)inst);
            struct json_object *repos = NULL;
            json_object_object_get_ex(r->body, "repositories", &repos);
            for (size_t i = 0; i < json_object_array_length(repos) && len < (int)sizeof spec; i++)
                len += snprintf(spec + len, sizeof spec - (size_t)len, "%s%s", i ? "," : "",
                                json_object_get_string(json_object_array_get_idx(repos, i)));
            if (len < (int)sizeof spec && sim_installations_add(spec) &&
                sim_apps_install(app_id, inst)) {
                status = 201;
                o = sim_installations_json(sim_installations_find(inst));
            }
        }
    }
    if (!o) {
        sim_http_finish_msg(r, status == 404 ? 404 : 422, status == 404 ? "Not Found" : "Invalid",
                            NULL);
        return;
    }
    sim_http_finish_json(r, status, o);
}
