/* Why: see sim_installations.h. */
#include "sim_installations.h"

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

static struct sim_inst *insts;
static size_t ninsts;

/* GitHub's id for a repository (or owner): FNV-1a of its name, which
 * tests/integration/system_lib.sh computes too, so webhook payloads and the installation's
 * repository list agree. */
static int64_t repo_id(const char *full_name)
{
    uint32_t h = 2166136261u;
    for (const char *p = full_name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (int64_t)(h % 900000000u) + 100000000;
}

bool sim_installations_add(const char *spec)
{
    const char *eq = strchr(spec, '=');
    char idbuf[32];
    int64_t id;
    if (!eq || (size_t)(eq - spec) >= sizeof idbuf)
        return false;
    snprintf(idbuf, sizeof idbuf, "%.*s", (int)(eq - spec), spec);
    if (!sg_parse_i64(idbuf, INT64_MIN, INT64_MAX, &id) || id <= 0)
        return false;
    struct sim_inst *in = sim_installations_find(id);
    if (!in) {
        insts = sim_xrealloc(insts, (ninsts + 1) * sizeof *insts);
        in = &insts[ninsts++];
        memset(in, 0, sizeof *in);
        in->id = id;
    }
    char *list = sim_xstrdup(eq + 1), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strchr(t, '/'))
            continue;
        in->repos = sim_xrealloc(in->repos, (in->nrepos + 1) * sizeof *in->repos);
        in->repos[in->nrepos++] = sim_xstrdup(t);
    }
    free(list);
    return true;
}

struct sim_inst *sim_installations_find(int64_t id)
{
    for (size_t i = 0; i < ninsts; i++)
        if (insts[i].id == id)
            return &insts[i];
    return NULL;
}

struct sim_inst *sim_installations_all(size_t *n)
{
    *n = ninsts;
    return insts;
}

bool sim_installations_has_repo(const struct sim_inst *in, const char *full)
{
    for (size_t i = 0; in && i < in->nrepos; i++)
        if (!strcasecmp(in->repos[i], full))
            return true;
    return false;
}

/* GitHub's "simple-user" object for an organisation login. */
static struct json_object *owner_json(const char *login)
{
    static const char *const urls[][3] = {
        {"url", "https://api.github.com/users/", ""},
        {"html_url", "https://github.com/", ""},
        {"avatar_url", "https://avatars.githubusercontent.com/", ""},
        {"followers_url", "https://api.github.com/users/", "/followers"},
        {"following_url", "https://api.github.com/users/", "/following{/other_user}"},
        {"gists_url", "https://api.github.com/users/", "/gists{/gist_id}"},
        {"starred_url", "https://api.github.com/users/", "/starred{/owner}{/repo}"},
        {"subscriptions_url", "https://api.github.com/users/", "/subscriptions"},
        {"organizations_url", "https://api.github.com/users/", "/orgs"},
        {"repos_url", "https://api.github.com/users/", "/repos"},
        {"events_url", "https://api.github.com/users/", "/events{/privacy}"},
        {"received_events_url", "https://api.github.com/users/", "/received_events"}};
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "login", json_object_new_string(login));
    json_object_object_add(o, "id", json_object_new_int64(repo_id(login)));
    char node[64], u[512];
    snprintf(node, sizeof node, "O_kgDO%lld", (long long)repo_id(login));
    json_object_object_add(o, "node_id", json_object_new_string(node));
    json_object_object_add(o, "gravatar_id", json_object_new_string(""));
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        snprintf(u, sizeof u, "%s%s%s", urls[i][1], login, urls[i][2]);
        json_object_object_add(o, urls[i][0], json_object_new_string(u));
    }
    json_object_object_add(o, "type", json_object_new_string("Organization"));
    json_object_object_add(o, "site_admin", json_object_new_boolean(0));
    return o;
}

/* GitHub's "installation" object. */
struct json_object *sim_installations_json(const struct sim_inst *in)
{
    char login[256] = "octocat";
    if (in->nrepos) {
        snprintf(login, sizeof login, "%s", in->repos[0]);
        char *slash = strchr(login, '/');
        if (slash)
            *slash = '\0';
    }
    char ts[32];
    sim_iso8601(1764182400, ts);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(in->id));
    json_object_object_add(o, "account", owner_json(login));
    json_object_object_add(o, "repository_selection", json_object_new_string("selected"));
    json_object_object_add(o, "app_id", json_object_new_int64(strtoll(sim_cfg.app_id, NULL, 10)));
    json_object_object_add(o, "target_type", json_object_new_string("Organization"));
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    json_object_object_add(o, "updated_at", json_object_new_string(ts));
    json_object_object_add(o, "suspended_at", NULL);
    json_object_object_add(o, "suspended_by", NULL);
    json_object_object_add(o, "app_slug", json_object_new_string("singularity"));
    struct json_object *acct;
    json_object_object_get_ex(o, "account", &acct);
    struct json_object *aid;
    json_object_object_get_ex(acct, "id", &aid);
    json_object_object_add(o, "target_id", json_object_new_int64(json_object_get_int64(aid)));
    json_object_object_add(o, "single_file_name", NULL);
    char u[512];
    snprintf(u, sizeof u, "https://api.github.com/app/installations/%lld/access_tokens",
             (long long)in->id);
    json_object_object_add(o, "access_tokens_url", json_object_new_string(u));
    json_object_object_add(
        o, "repositories_url",
        json_object_new_string("https://api.github.com/installation/repositories"));
    snprintf(u, sizeof u, "https://github.com/organizations/%s/settings/installations/%lld", login,
             (long long)in->id);
    json_object_object_add(o, "html_url", json_object_new_string(u));
    struct json_object *ev = json_object_new_array();
    static const char *const events[] = {"check_run", "check_suite", "pull_request", "push"};
    for (size_t i = 0; i < 4; i++)
        json_object_array_add(ev, json_object_new_string(events[i]));
    json_object_object_add(o, "events", ev);
    struct json_object *perm = json_object_new_object();
    json_object_object_add(perm, "checks", json_object_new_string("write"));
    json_object_object_add(perm, "contents", json_object_new_string("read"));
    json_object_object_add(perm, "metadata", json_object_new_string("read"));
    json_object_object_add(o, "permissions", perm);
    return o;
}

void sim_installations_get(struct sim_rq *r, int64_t inst_id)
{
    if (!sim_auth_jwt(r))
        return;
    struct sim_inst *in = sim_installations_find(inst_id);
    if (!in) {
        sim_http_finish_msg(r, 404, "Not Found",
                            SIM_DOCS "/apps/apps#get-an-installation-for-the-authenticated-app");
        return;
    }
    sim_http_finish_json(r, 200, sim_installations_json(in));
}

void sim_installations_repos(struct sim_rq *r)
{
    struct sim_inst *in = sim_auth_token(r);
    if (!in)
        return;
    long per_page = sim_http_per_page(r), page = sim_http_query_long(r->query, "page", 1);
    if (page < 1)
        page = 1;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "total_count", json_object_new_int64((int64_t)in->nrepos));
    json_object_object_add(o, "repository_selection", json_object_new_string("selected"));
    struct json_object *arr = json_object_new_array();
    size_t start = (size_t)(page - 1) * (size_t)per_page;
    for (size_t i = start; i < in->nrepos && i < start + (size_t)per_page; i++) {
        const char *full = in->repos[i];
        char owner[256];
        snprintf(owner, sizeof owner, "%s", full);
        char *slash = strchr(owner, '/');
        const char *name = slash ? slash + 1 : owner;
        if (slash)
            *slash = '\0';
        struct json_object *x = json_object_new_object();
        json_object_object_add(x, "id", json_object_new_int64(repo_id(full)));
        json_object_object_add(x, "name", json_object_new_string(full + (name - owner)));
        json_object_object_add(x, "full_name", json_object_new_string(full));
        json_object_object_add(x, "private", json_object_new_boolean(0));
        json_object_object_add(x, "owner", owner_json(owner));
        json_object_object_add(x, "default_branch", json_object_new_string("main"));
        json_object_array_add(arr, x);
    }
    json_object_object_add(o, "repositories", arr);
    size_t pages = (in->nrepos + (size_t)per_page - 1) / (size_t)per_page;
    if ((size_t)page < pages) {
        char base[300], link[1024];
        sim_http_link_base(r, base, sizeof base);
        snprintf(link, sizeof link,
                 "<%s/installation/repositories?per_page=%ld&page=%ld>; rel=\"next\", "
                 "<%s/installation/repositories?per_page=%ld&page=%zu>; rel=\"last\"",
                 base, per_page, page + 1, base, per_page, pages);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Link", link);
    }
    sim_http_finish_json(r, 200, o);
}

void sim_installations_free(void)
{
    for (size_t i = 0; i < ninsts; i++) {
        for (size_t j = 0; j < insts[i].nrepos; j++)
            free(insts[i].repos[j]);
        free(insts[i].repos);
    }
    free(insts);
    insts = NULL;
    ninsts = 0;
}
