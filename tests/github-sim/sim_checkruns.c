/* Why: see sim_checkruns.h. */
#include "sim_checkruns.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "sg_config.h"
#include "sim.h"
#include "sim_auth.h"
#include "sim_http.h"
#include "sim_installations.h"

#define FIRST_CHECKRUN_ID 4000000001LL /* above 2^31, like GitHub's ids today */

static struct json_object *checkruns; /* array */
static int64_t next_checkrun_id = FIRST_CHECKRUN_ID;

void sim_checkruns_start(void)
{
    checkruns = json_object_new_array();
}

static const char *const STATUSES[] = {"queued",    "in_progress", "completed", "waiting",
                                       "requested", "pending",     NULL};
static const char *const CONCLUSIONS[] = {"action_required", "cancelled", "failure",
                                          "neutral",         "success",   "skipped",
                                          "stale",           "timed_out", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

static bool get_str(struct json_object *o, const char *k, const char **out)
{
    struct json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
        return true;
    if (!json_object_is_type(v, json_type_string))
        return false;
    *out = json_object_get_string(v);
    return true;
}

/* GitHub's validation of a check-run body; returns NULL or the 422 detail. */
static const char *validate_checkrun(struct json_object *b, bool create, char *msg, size_t mlen)
{
    const char *s;
    if (!b || !json_object_is_type(b, json_type_object))
        return "Body should be a JSON object";
    if (!get_str(b, "name", &s) || (create && !s))
        return "For 'properties/name', nil is not a string.";
    if (!get_str(b, "head_sha", &s) || (create && !s))
        return "For 'properties/head_sha', nil is not a string.";
    const char *status, *conclusion;
    if (!get_str(b, "status", &status) || (status && !in_list(status, STATUSES)))
        return "For 'properties/status', value is not a member of the enum.";
    if (!get_str(b, "conclusion", &conclusion) || (conclusion && !in_list(conclusion, CONCLUSIONS)))
        return "For 'properties/conclusion', value is not a member of the enum.";
    if (status && !strcmp(status, "completed") && !conclusion)
        return "No conclusion provided for completed check run.";
    const char *ts;
    if (!get_str(b, "started_at", &ts) || !get_str(b, "completed_at", &ts) ||
        !get_str(b, "external_id", &ts) || !get_str(b, "details_url", &ts))
        return "For 'properties', a string property has a non-string value.";
    struct json_object *out;
    if (json_object_object_get_ex(b, "output", &out) && !json_object_is_type(out, json_type_null)) {
        const char *title, *summary, *text;
        if (!json_object_is_type(out, json_type_object))
            return "For 'properties/output', it is not an object.";
        if (!get_str(out, "title", &title) || !title)
            return "For 'properties/title', nil is not a string.";
        if (!get_str(out, "summary", &summary) || !summary)
            return "For 'properties/summary', nil is not a string.";
        if (!get_str(out, "text", &text))
            return "For 'properties/text', it is not a string.";
        if (strlen(title) > 255)
            return "Title is too long (maximum is 255 characters)";
        if (strlen(summary) > 65535)
            return "Summary is too long (maximum is 65535 characters)";
        if (text && strlen(text) > 65535)
            return "Text is too long (maximum is 65535 characters)";
        struct json_object *anns;
        if (json_object_object_get_ex(out, "annotations", &anns) &&
            !json_object_is_type(anns, json_type_null)) {
            if (!json_object_is_type(anns, json_type_array))
                return "For 'properties/annotations', it is not an array.";
            size_t n = json_object_array_length(anns);
            if (n > 50)
                return "For 'properties/annotations', the array has more than 50 items.";
            for (size_t i = 0; i < n; i++) {
                struct json_object *a = json_object_array_get_idx(anns, i), *v;
                const char *path, *level, *m, *t;
                if (!json_object_is_type(a, json_type_object))
                    return "For 'items', it is not an object.";
                if (!get_str(a, "path", &path) || !path || !*path)
                    return "For 'properties/path', nil is not a string.";
                if (!get_str(a, "message", &m) || !m)
                    return "For 'properties/message', nil is not a string.";
                if (m && strlen(m) > 65535)
                    return "Annotation message is too long (maximum is 64 KB)";
                if (!get_str(a, "annotation_level", &level) || !level ||
                    (strcmp(level, "notice") && strcmp(level, "warning") &&
                     strcmp(level, "failure")))
                    return "For 'properties/annotation_level', value is not a member of the enum.";
                if (!get_str(a, "title", &t) || (t && strlen(t) > 255))
                    return "Annotation title is too long (maximum is 255 characters)";
                int64_t sl = 0, el = 0;
                if (!json_object_object_get_ex(a, "start_line", &v) ||
                    !json_object_is_type(v, json_type_int) || (sl = json_object_get_int64(v)) < 1)
                    return "For 'properties/start_line', it is not a positive integer.";
                if (!json_object_object_get_ex(a, "end_line", &v) ||
                    !json_object_is_type(v, json_type_int) || (el = json_object_get_int64(v)) < sl)
                    return "For 'properties/end_line', it is not an integer >= start_line.";
                if ((json_object_object_get_ex(a, "start_column", &v) ||
                     json_object_object_get_ex(a, "end_column", &v)) &&
                    sl != el) {
                    snprintf(msg, mlen,
                             "Annotation %zu: columns are only allowed when "
                             "start_line equals end_line",
                             i);
                    return msg;
                }
            }
        }
    }
    return NULL;
}

/* Check runs are only ever appended, with ids counting up from FIRST_CHECKRUN_ID: the id is the
 * index (a scan made every PATCH slower as a long benchmark piled up runs). */
static struct json_object *find_checkrun(int64_t id, const char *full)
{
    size_t n = json_object_array_length(checkruns);
    if (id < FIRST_CHECKRUN_ID || (uint64_t)(id - FIRST_CHECKRUN_ID) >= n)
        return NULL;
    struct json_object *c = json_object_array_get_idx(checkruns, (size_t)(id - FIRST_CHECKRUN_ID)),
                       *v;
    if (json_object_object_get_ex(c, "id", &v) && json_object_get_int64(v) == id &&
        json_object_object_get_ex(c, "repository", &v) &&
        !strcasecmp(json_object_get_string(v), full))
        return c;
    return NULL;
}

/* The public view of a stored check run (GitHub's shape; annotations are counted, not listed). */
static struct json_object *checkrun_view(struct json_object *c, const char *base)
{
    struct json_object *o = json_object_new_object(), *v, *out;
    json_object_object_foreach(c, k, val)
    {
        if (!strcmp(k, "output") || !strcmp(k, "annotations") || !strcmp(k, "repository"))
            continue;
        json_object_object_add(o, k, json_object_get(val));
    }
    int64_t id = json_object_object_get_ex(c, "id", &v) ? json_object_get_int64(v) : 0;
    const char *full =
        json_object_object_get_ex(c, "repository", &v) ? json_object_get_string(v) : "";
    char url[1024];
    snprintf(url, sizeof url, "%s/repos/%s/check-runs/%lld", base, full, (long long)id);
    json_object_object_add(o, "url", json_object_new_string(url));
    snprintf(url, sizeof url, "https://github.com/%s/runs/%lld", full, (long long)id);
    json_object_object_add(o, "html_url", json_object_new_string(url));
    struct json_object *anns;
    size_t nann =
        json_object_object_get_ex(c, "annotations", &anns) ? json_object_array_length(anns) : 0;
    struct json_object *po = json_object_new_object();
    const char *t = NULL, *su = NULL, *tx = NULL;
    if (json_object_object_get_ex(c, "output", &out)) {
        get_str(out, "title", &t);
        get_str(out, "summary", &su);
        get_str(out, "text", &tx);
    }
    json_object_object_add(po, "title", t ? json_object_new_string(t) : NULL);
    json_object_object_add(po, "summary", su ? json_object_new_string(su) : NULL);
    json_object_object_add(po, "text", tx ? json_object_new_string(tx) : NULL);
    json_object_object_add(po, "annotations_count", json_object_new_int64((int64_t)nann));
    snprintf(url, sizeof url, "%s/repos/%s/check-runs/%lld/annotations", base, full, (long long)id);
    json_object_object_add(po, "annotations_url", json_object_new_string(url));
    json_object_object_add(o, "output", po);
    json_object_object_add(o, "pull_requests", json_object_new_array());
    return o;
}

/* Copies the mutable fields of a create/update body onto the stored check run. */
static void apply_checkrun(struct json_object *c, struct json_object *b)
{
    static const char *fields[] = {"name",   "head_sha",   "details_url", "external_id",
                                   "status", "conclusion", "started_at",  "completed_at"};
    struct json_object *v;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_object_object_get_ex(b, fields[i], &v))
            json_object_object_add(c, fields[i], json_object_get(v));
    if (json_object_object_get_ex(b, "conclusion", &v) && !json_object_is_type(v, json_type_null)) {
        json_object_object_add(c, "status", json_object_new_string("completed"));
        if (!json_object_object_get_ex(b, "completed_at", &v)) {
            char ts[32];
            sim_iso8601(sim_now_s(), ts);
            json_object_object_add(c, "completed_at", json_object_new_string(ts));
        }
    }
    struct json_object *out, *anns, *acc;
    if (json_object_object_get_ex(b, "output", &out) &&
        json_object_is_type(out, json_type_object)) {
        struct json_object *po = json_object_new_object();
        json_object_object_foreach(out, k, val)
        {
            if (strcmp(k, "annotations") != 0)
                json_object_object_add(po, k, json_object_get(val));
        }
        json_object_object_add(c, "output", po);
        if (json_object_object_get_ex(out, "annotations", &anns) &&
            json_object_is_type(anns, json_type_array) &&
            json_object_object_get_ex(c, "annotations", &acc)) {
            for (size_t i = 0; i < json_object_array_length(anns); i++)
                json_object_array_add(acc, json_object_get(json_object_array_get_idx(anns, i)));
        }
    }
}

void sim_checkruns_create(struct sim_rq *r, const char *owner, const char *repo)
{
    static const char doc[] = SIM_DOCS "/checks/runs#create-a-check-run";
    struct sim_inst *in = sim_auth_token(r);
    if (!in)
        return;
    char full[256], msg[256];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    if (!sim_installations_has_repo(in, full)) {
        sim_http_finish_msg(r, 404, "Not Found", doc);
        return;
    }
    if (r->body_invalid) {
        sim_http_finish_msg(r, 400, "Problems parsing JSON", doc);
        return;
    }
    const char *bad = validate_checkrun(r->body, true, msg, sizeof msg);
    if (bad) {
        sim_http_finish_422(r, bad, doc);
        return;
    }
    struct json_object *c = json_object_new_object();
    int64_t id = next_checkrun_id++;
    json_object_object_add(c, "id", json_object_new_int64(id));
    char node[64];
    snprintf(node, sizeof node, "CR_kwDO%lld", (long long)id);
    json_object_object_add(c, "node_id", json_object_new_string(node));
    json_object_object_add(c, "repository", json_object_new_string(full));
    json_object_object_add(c, "status", json_object_new_string("queued"));
    json_object_object_add(c, "conclusion", NULL);
    json_object_object_add(c, "started_at", NULL);
    json_object_object_add(c, "completed_at", NULL);
    json_object_object_add(c, "external_id", json_object_new_string(""));
    json_object_object_add(c, "details_url", NULL);
    json_object_object_add(c, "annotations", json_object_new_array());
    struct json_object *suite = json_object_new_object();
    json_object_object_add(suite, "id", json_object_new_int64(id * 7));
    json_object_object_add(c, "check_suite", suite);
    json_object_object_add(c, "app", NULL); /* nullable in GitHub's schema */
    apply_checkrun(c, r->body);
    json_object_array_add(checkruns, c);
    char base[300];
    sim_http_self_base(r, base, sizeof base, false);
    sim_http_finish_json(r, 201, checkrun_view(c, base));
}

void sim_checkruns_get_or_update(struct sim_rq *r, const char *owner, const char *repo,
                                 const char *idstr, bool update)
{
    static const char doc[] = SIM_DOCS "/checks/runs#update-a-check-run";
    struct sim_inst *in = sim_auth_token(r);
    if (!in)
        return;
    char full[256], msg[256];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    int64_t id;
    struct json_object *c = NULL;
    if (sim_installations_has_repo(in, full) && sg_parse_i64(idstr, INT64_MIN, INT64_MAX, &id))
        c = find_checkrun(id, full);
    if (!c) {
        sim_http_finish_msg(r, 404, "Not Found", doc);
        return;
    }
    if (update) {
        if (r->body_invalid) {
            sim_http_finish_msg(r, 400, "Problems parsing JSON", doc);
            return;
        }
        const char *bad = validate_checkrun(r->body, false, msg, sizeof msg);
        if (bad) {
            sim_http_finish_422(r, bad, doc);
            return;
        }
        apply_checkrun(c, r->body);
    }
    char base[300];
    sim_http_self_base(r, base, sizeof base, false);
    sim_http_finish_json(r, 200, checkrun_view(c, base));
}

/* GET /repos/{o}/{r}/commits/{ref}/check-runs: GitHub's checks/list-for-ref. The ref is matched
 * against head_sha only (the simulator has no branches); check_name and status filter; paged by
 * per_page/page with a Link header like GitHub's. */
void sim_checkruns_list_for_ref(struct sim_rq *r, const char *owner, const char *repo,
                                const char *ref)
{
    static const char doc[] = SIM_DOCS "/checks/runs#list-check-runs-for-a-git-reference";
    struct sim_inst *in = sim_auth_token(r);
    if (!in)
        return;
    char full[256], name[256], status[32];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    if (!sim_installations_has_repo(in, full)) {
        sim_http_finish_msg(r, 404, "Not Found", doc);
        return;
    }
    sim_http_query_str(r->query, "check_name", name, sizeof name);
    sim_http_query_str(r->query, "status", status, sizeof status);
    long per_page = sim_http_per_page(r), page = sim_http_query_long(r->query, "page", 1);
    if (page < 1)
        page = 1;
    char base[300];
    sim_http_link_base(r, base, sizeof base);
    struct json_object *arr = json_object_new_array(), *v;
    size_t total = 0, start = (size_t)(page - 1) * (size_t)per_page;
    /* newest first, as GitHub lists them */
    for (size_t i = json_object_array_length(checkruns); i-- > 0;) {
        struct json_object *c = json_object_array_get_idx(checkruns, i);
        const char *s;
        if (!json_object_object_get_ex(c, "repository", &v) ||
            strcasecmp(json_object_get_string(v), full))
            continue;
        if (!get_str(c, "head_sha", &s) || !s || strcasecmp(s, ref))
            continue;
        if (name[0] && (!get_str(c, "name", &s) || !s || strcmp(s, name)))
            continue;
        if (status[0] && (!get_str(c, "status", &s) || !s || strcmp(s, status)))
            continue;
        if (total >= start && total < start + (size_t)per_page)
            json_object_array_add(arr, checkrun_view(c, base));
        total++;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "total_count", json_object_new_int64((int64_t)total));
    json_object_object_add(o, "check_runs", arr);
    size_t pages = (total + (size_t)per_page - 1) / (size_t)per_page;
    if ((size_t)page < pages) {
        char link[2048];
        /* the filters as they came, percent-encoded again for the URL */
        char *qn = evhttp_uriencode(name, -1, 0), *qs = evhttp_uriencode(status, -1, 0);
        snprintf(
            link, sizeof link,
            "<%s/repos/%s/commits/%s/check-runs?check_name=%s&status=%s&per_page=%ld&page=%ld>;"
            " rel=\"next\", <%s/repos/%s/commits/%s/check-runs?check_name=%s&status=%s&"
            "per_page=%ld&page=%zu>; rel=\"last\"",
            base, full, ref, qn ? qn : "", qs ? qs : "", per_page, page + 1, base, full, ref,
            qn ? qn : "", qs ? qs : "", per_page, pages);
        free(qn);
        free(qs);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Link", link);
    }
    sim_http_finish_json(r, 200, o);
}

void sim_checkruns_dump(struct sim_rq *r)
{
    struct json_object *arr = json_object_new_array();
    size_t n = json_object_array_length(checkruns);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_get(json_object_array_get_idx(checkruns, i)));
    sim_http_finish_json(r, 200, arr);
}

void sim_checkruns_free(void)
{
    json_object_put(checkruns);
}
