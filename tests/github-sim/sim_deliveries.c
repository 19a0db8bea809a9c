/* Why: see sim_deliveries.h. */
#include "sim_deliveries.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "sg_config.h"
#include "sim.h"
#include "sim_auth.h"
#include "sim_http.h"

static struct json_object *deliveries; /* array, newest first */

void sim_deliveries_start(void)
{
    deliveries = json_object_new_array();
}

void sim_deliveries_list(struct sim_rq *r)
{
    if (!sim_auth_jwt(r))
        return;
    long per_page = sim_http_per_page(r);
    char cursor[64];
    sim_http_query_str(r->query, "cursor", cursor, sizeof cursor);
    int64_t start = 0;
    if (cursor[0] && (strncmp(cursor, "v1_", 3) ||
                      !sg_parse_i64(cursor + 3, INT64_MIN, INT64_MAX, &start) || start < 0)) {
        sim_http_finish_422(r, "Invalid cursor",
                            SIM_DOCS "/apps/webhooks#list-deliveries-for-an-app-webhook");
        return;
    }
    size_t n = json_object_array_length(deliveries);
    struct json_object *arr = json_object_new_array();
    for (size_t i = (size_t)start; i < n && i < (size_t)start + (size_t)per_page; i++)
        json_object_array_add(arr, json_object_get(json_object_array_get_idx(deliveries, i)));
    if ((size_t)start + (size_t)per_page < n) {
        char base[300], link[600];
        sim_http_link_base(r, base, sizeof base);
        snprintf(link, sizeof link,
                 "<%s/app/hook/deliveries?per_page=%ld&cursor=v1_%lld>; rel=\"next\"", base,
                 per_page, (long long)(start + per_page));
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Link", link);
    }
    sim_http_finish_json(r, 200, arr);
}

void sim_deliveries_redeliver(struct sim_rq *r, const char *idstr)
{
    if (!sim_auth_jwt(r))
        return;
    int64_t id;
    size_t n = json_object_array_length(deliveries);
    if (sg_parse_i64(idstr, INT64_MIN, INT64_MAX, &id)) {
        for (size_t i = 0; i < n; i++) {
            struct json_object *d = json_object_array_get_idx(deliveries, i), *v;
            if (json_object_object_get_ex(d, "id", &v) && json_object_get_int64(v) == id) {
                sim_http_finish_json(r, 202, json_object_new_object());
                return;
            }
        }
    }
    sim_http_finish_msg(r, 404, "Not Found",
                        SIM_DOCS "/apps/webhooks#redeliver-a-delivery-for-an-app-webhook");
}

void sim_deliveries_add(struct sim_rq *r)
{
    struct json_object *b = r->body;
    if (!b || !json_object_is_type(b, json_type_array)) {
        sim_http_finish_msg(r, 400, "expected a JSON array of deliveries", NULL);
        return;
    }
    for (size_t i = 0; i < json_object_array_length(b); i++) {
        struct json_object *d = json_object_array_get_idx(b, i), *v;
        struct json_object *o = json_object_new_object();
        int64_t code = sim_json_int(d, "status_code", 200);
        json_object_object_add(o, "id",
                               json_object_new_int64(sim_json_int(d, "id", (int64_t)i + 1)));
        const char *guid =
            json_object_object_get_ex(d, "guid", &v) ? json_object_get_string(v) : "0";
        json_object_object_add(o, "guid", json_object_new_string(guid));
        char ts[32];
        if (json_object_object_get_ex(d, "delivered_at", &v) &&
            json_object_is_type(v, json_type_string))
            snprintf(ts, sizeof ts, "%s", json_object_get_string(v));
        else
            sim_iso8601(sim_json_int(d, "delivered_at", sim_now_s()), ts);
        json_object_object_add(o, "delivered_at", json_object_new_string(ts));
        json_object_object_add(
            o, "redelivery",
            json_object_new_boolean(json_object_object_get_ex(d, "redelivery", &v) &&
                                    json_object_get_boolean(v)));
        json_object_object_add(o, "duration", json_object_new_double(0.27));
        char st[64];
        if (code >= 200 && code < 300)
            snprintf(st, sizeof st, "OK");
        else if (code == 0)
            snprintf(st, sizeof st, "failed to connect to host");
        else
            snprintf(st, sizeof st, "Invalid HTTP Response: %lld", (long long)code);
        json_object_object_add(o, "status", json_object_new_string(st));
        json_object_object_add(o, "status_code", json_object_new_int64(code));
        const char *ev =
            json_object_object_get_ex(d, "event", &v) ? json_object_get_string(v) : "push";
        json_object_object_add(o, "event", json_object_new_string(ev));
        json_object_object_add(
            o, "action", json_object_object_get_ex(d, "action", &v) ? json_object_get(v) : NULL);
        json_object_object_add(o, "installation_id",
                               json_object_new_int64(sim_json_int(d, "installation_id", 0)));
        json_object_object_add(o, "repository_id",
                               json_object_new_int64(sim_json_int(d, "repository_id", 0)));
        json_object_object_add(o, "throttled_at", NULL);
        json_object_array_add(deliveries, o);
    }
    /* GitHub lists newest first: keep the array sorted by delivered_at, descending (ISO 8601
     * strings sort as times) and by id for equal times */
    size_t n = json_object_array_length(deliveries);
    struct json_object **items = sim_xcalloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_object_get(json_object_array_get_idx(deliveries, i));
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0; j--) {
            struct json_object *a = items[j - 1], *c = items[j], *va, *vc;
            json_object_object_get_ex(a, "delivered_at", &va);
            json_object_object_get_ex(c, "delivered_at", &vc);
            int cmp = strcmp(json_object_get_string(va), json_object_get_string(vc));
            if (cmp > 0 || (cmp == 0 && sim_json_int(a, "id", 0) >= sim_json_int(c, "id", 0)))
                break;
            items[j - 1] = c;
            items[j] = a;
        }
    }
    json_object_put(deliveries);
    deliveries = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(deliveries, items[i]);
    free(items);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "deliveries", json_object_new_int64((int64_t)n));
    sim_http_finish_json(r, 201, o);
}

void sim_deliveries_free(void)
{
    json_object_put(deliveries);
}
