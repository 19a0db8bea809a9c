/* Why: see sim_routes.h. */
#include "sim_routes.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "sg_config.h"
#include "sim_app_api.h"
#include "sim_auth.h"
#include "sim_checkruns.h"
#include "sim_contents.h"
#include "sim_deliveries.h"
#include "sim_faults.h"
#include "sim_http.h"
#include "sim_installations.h"
#include "sim_record.h"

void sim_routes_api(struct sim_rq *r)
{
    if (sim_faults_answer(r))
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s", r->path);
    char *seg[12];
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(path, "/", &save); t && n < 12; t = strtok_r(NULL, "/", &save))
        seg[n++] = t;
    const char *m = r->method;
    bool get = !strcmp(m, "GET"), post = !strcmp(m, "POST"), patch = !strcmp(m, "PATCH");
    int64_t id;

    if (n == 4 && !strcmp(seg[0], "app") && !strcmp(seg[1], "installations") &&
        !strcmp(seg[3], "access_tokens") && post && sg_parse_i64(seg[2], INT64_MIN, INT64_MAX, &id))
        return sim_auth_access_token(r, id);
    if (n == 3 && !strcmp(seg[0], "app") && !strcmp(seg[1], "installations") && get &&
        sg_parse_i64(seg[2], INT64_MIN, INT64_MAX, &id))
        return sim_installations_get(r, id);
    if (n == 2 && !strcmp(seg[0], "installation") && !strcmp(seg[1], "repositories") && get)
        return sim_installations_repos(r);
    if (n == 3 && !strcmp(seg[0], "app") && !strcmp(seg[1], "hook") &&
        !strcmp(seg[2], "deliveries") && get)
        return sim_deliveries_list(r);
    if (n == 5 && !strcmp(seg[0], "app") && !strcmp(seg[1], "hook") &&
        !strcmp(seg[2], "deliveries") && !strcmp(seg[4], "attempts") && post)
        return sim_deliveries_redeliver(r, seg[3]);
    if (n >= 4 && !strcmp(seg[0], "repos") && sim_http_valid_segment(seg[1]) &&
        sim_http_valid_segment(seg[2])) {
        if (n == 5 && !strcmp(seg[3], "tarball") && get)
            return sim_contents_tarball(r, seg[1], seg[2], seg[4]);
        if (n == 5 && !strcmp(seg[3], "compare") && get)
            return sim_contents_compare(r, seg[1], seg[2], seg[4]);
        if (n == 4 && !strcmp(seg[3], "check-runs") && post)
            return sim_checkruns_create(r, seg[1], seg[2]);
        if (n == 5 && !strcmp(seg[3], "check-runs") && (patch || get))
            return sim_checkruns_get_or_update(r, seg[1], seg[2], seg[4], patch);
        if (n == 6 && !strcmp(seg[3], "commits") && !strcmp(seg[5], "check-runs") && get &&
            sim_http_valid_segment(seg[4]))
            return sim_checkruns_list_for_ref(r, seg[1], seg[2], seg[4]);
    }
    if (n == 5 && !strcmp(seg[0], "_codeload") && !strcmp(seg[3], "legacy.tar.gz") && get &&
        sim_http_valid_segment(seg[1]) && sim_http_valid_segment(seg[2]) &&
        sim_http_valid_segment(seg[4]))
        return sim_contents_codeload(r, seg[1], seg[2], seg[4]);
    if (n == 3 && !strcmp(seg[0], "app-manifests") && !strcmp(seg[2], "conversions") && post)
        return sim_app_api_conversion(r, seg[1]);
    if (n == 1 && !strcmp(seg[0], "app") && get)
        return sim_app_api_get(r);
    if (n == 2 && !strcmp(seg[0], "app") && !strcmp(seg[1], "installations") && get)
        return sim_app_api_installations(r);
    sim_http_finish_msg(r, 404, "Not Found", SIM_DOCS);
}

void sim_routes_control(struct sim_rq *r)
{
    r->rl_remaining = -1;
    const char *p = r->path + 5; /* after "/_sim" */
    bool get = !strcmp(r->method, "GET"), post = !strcmp(r->method, "POST"),
         del = !strcmp(r->method, "DELETE");
    if (!strcmp(p, "/healthz") && get) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_string("ok"));
        sim_http_finish_json(r, 200, o);
    } else if (!strcmp(p, "/requests") && get) {
        sim_http_finish_json(r, 200, sim_record_requests());
    } else if (!strcmp(p, "/requests") && del) {
        sim_record_clear();
        sim_http_finish_json(r, 200, json_object_new_object());
    } else if (!strcmp(p, "/check-runs") && get) {
        sim_checkruns_dump(r);
    } else if (!strcmp(p, "/faults") && post) {
        sim_faults_add(r);
    } else if (!strcmp(p, "/faults") && del) {
        sim_faults_clear();
        sim_http_finish_json(r, 200, json_object_new_object());
    } else if (!strcmp(p, "/deliveries") && post) {
        sim_deliveries_add(r);
    } else if (!strcmp(p, "/tokens") && del) {
        /* revokes every installation token, as if they had expired (tests a 401 refresh) */
        sim_auth_revoke_tokens();
        sim_http_finish_json(r, 200, json_object_new_object());
    } else if (!strcmp(p, "/manifests") || !strncmp(p, "/apps/", 6)) {
        sim_app_api_control(r, p);
    } else {
        sim_http_finish_msg(r, 404, "Not Found", NULL);
    }
}
