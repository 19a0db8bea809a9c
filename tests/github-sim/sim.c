/* Why: the worker's GitHub client must be tested against something that behaves like GitHub —
 * real HTTP, real RS256 JWT verification, real gzip tarballs behind a codeload-style redirect,
 * GitHub's status codes, rate-limit headers and error JSON — and that can fail on demand (5xx,
 * 429/403 rate limits, slow and truncated answers). This is that simulator: a test tool, not a
 * mock. Its contract is documented in tests/github-sim/README.md. Single-threaded (libevent). */
#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "sg_buf.h"
#include "sg_config.h"
#include "sg_crypto.h"
#include "sg_time.h"
#include "sg_utf8.h"
#include "sim_apps.h"
#include "sim_compare.h"
#include "sim_tar.h"

#define MAX_BODY    (32u << 20)
#define MAX_RECORDS 200000
#define DOCS        "https://docs.github.com/rest"

struct sim_inst {
    int64_t id;
    char **repos; /* "owner/repo" */
    size_t nrepos;
    int64_t used; /* requests in the current rate-limit window (GitHub counts per installation) */
};

struct sim_token {
    char token[64];
    int64_t inst;
    int64_t expires_s;
};

struct sim_codeload {
    char token[48];
    char repo[256];
    char sha[128];
    int64_t expires_s;
    size_t truncate_after;
    size_t bytes_per_s;
};

struct sim_fault {
    char method[16];
    char prefix[256];
    int status;
    int count;
    int retry_after;
    int reset_in;
    bool secondary;
    int delay_ms;
    size_t truncate_after;
    size_t bytes_per_s;
    bool foreign_link; /* pagination links name the other host (localhost <-> 127.0.0.1) */
    bool drop_answer;  /* the request is applied, then the connection closes without an answer */
    char body[512];    /* with status: this JSON body instead of the route's answer */
};

static struct {
    struct event_base *base;
    const char *host;
    int port;
    char app_id[64];
    sg_pkey *key;
    const char *repos_dir;
    const char *api_prefix; /* GitHub Enterprise Server style "/api/v3", or "" */
    FILE *record;
    int max_per_page;
    struct sim_inst *insts;
    size_t ninsts;
    struct sim_token *tokens;
    size_t ntokens;
    struct sim_codeload *codeloads; /* in the order issued, so also in expiry order */
    size_t ncodeloads, capcodeloads;
    struct sim_fault *faults;
    size_t nfaults;
    struct json_object *records;    /* array */
    struct json_object *checkruns;  /* array */
    struct json_object *deliveries; /* array, newest first */
    int64_t next_checkrun_id;
    int64_t app_used;
    int64_t window_reset_s;
    int64_t rate_limit; /* requests per hour per installation (and for the App's JWT) */
} S;

#define FIRST_CHECKRUN_ID 4000000001LL /* above 2^31, like GitHub's ids today */

/* One request in flight (possibly delayed by a fault). */
struct rq {
    struct evhttp_request *req;
    char method[16];
    char *path;
    char *query;
    struct json_object *body; /* parsed JSON body or NULL */
    bool body_invalid;
    struct sim_fault fault; /* the fault that matched (status 0 = none) */
    bool has_fault;
    struct event *timer;
    int64_t rl_remaining; /* for the headers; -1 = not a GitHub API answer */
    int64_t rl_used;
    int64_t exhausted_reset_s; /* > 0: answer normally but say the hour's budget is used up */
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void *xrealloc(void *p, size_t sz)
{
    p = realloc(p, sz);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return d;
}

static void iso8601(int64_t unix_s, char out[32])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t now_s(void)
{
    return sg_now_ms() / 1000;
}

static int64_t repo_id(const char *full_name)
{
    uint32_t h = 2166136261u;
    for (const char *p = full_name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (int64_t)(h % 900000000u) + 100000000;
}

static struct sim_inst *find_inst(int64_t id)
{
    for (size_t i = 0; i < S.ninsts; i++)
        if (S.insts[i].id == id)
            return &S.insts[i];
    return NULL;
}

static bool inst_has_repo(const struct sim_inst *in, const char *full)
{
    for (size_t i = 0; in && i < in->nrepos; i++)
        if (!strcasecmp(in->repos[i], full))
            return true;
    return false;
}

static void rq_free(struct rq *r)
{
    if (!r)
        return;
    if (r->timer)
        event_free(r->timer);
    free(r->path);
    free(r->query);
    if (r->body)
        json_object_put(r->body);
    free(r);
}

static const char *reason_for(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static void record(struct rq *r, int status)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ts_ms", json_object_new_int64(sg_now_ms()));
    json_object_object_add(o, "method", json_object_new_string(r->method));
    json_object_object_add(o, "path", json_object_new_string(r->path));
    json_object_object_add(o, "query", r->query ? json_object_new_string(r->query) : NULL);
    json_object_object_add(o, "status", json_object_new_int(status));
    struct json_object *h = json_object_new_object();
    static const char *names[] = {"Host", "User-Agent", "Accept", "X-GitHub-Api-Version",
                                  "Content-Type"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = evhttp_find_header(in, names[i]);
        json_object_object_add(h, names[i], v ? json_object_new_string(v) : NULL);
    }
    /* the credential itself is never recorded: only its scheme and kind */
    const char *auth = evhttp_find_header(in, "Authorization");
    char kind[64] = "";
    if (auth) {
        const char *sp = strchr(auth, ' ');
        size_t sl = sp ? (size_t)(sp - auth) : strlen(auth);
        const char *cred = sp ? sp + 1 : "";
        const char *what = !strncmp(cred, "ghs_", 4) ? "installation-token"
                           : strchr(cred, '.')       ? "jwt"
                                                     : "other";
        snprintf(kind, sizeof kind, "%.*s %s", (int)(sl > 20 ? 20 : sl), auth, what);
    }
    json_object_object_add(h, "Authorization", auth ? json_object_new_string(kind) : NULL);
    json_object_object_add(o, "headers", h);
    json_object_object_add(o, "body", r->body ? json_object_get(r->body) : NULL);
    if (S.record) {
        fprintf(S.record, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        fflush(S.record);
    }
    if (json_object_array_length(S.records) < MAX_RECORDS)
        json_object_array_add(S.records, o);
    else
        json_object_put(o);
}

/* Sends the answer, records the request and frees r. body may be NULL (empty). */
static void finish_raw(struct rq *r, int code, const char *ctype, const void *body, size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    char v[64];
    if (r->rl_remaining >= 0 && r->exhausted_reset_s > 0) {
        r->rl_remaining = 0;
        r->rl_used = S.rate_limit;
    }
    if (r->rl_remaining >= 0) {
        snprintf(v, sizeof v, "%lld", (long long)S.rate_limit);
        evhttp_add_header(out, "X-RateLimit-Limit", v);
        snprintf(v, sizeof v, "%lld", (long long)r->rl_remaining);
        evhttp_add_header(out, "X-RateLimit-Remaining", v);
        snprintf(v, sizeof v, "%lld", (long long)r->rl_used);
        evhttp_add_header(out, "X-RateLimit-Used", v);
        snprintf(v, sizeof v, "%lld",
                 (long long)(r->exhausted_reset_s > 0 ? r->exhausted_reset_s : S.window_reset_s));
        evhttp_add_header(out, "X-RateLimit-Reset", v);
        evhttp_add_header(out, "X-RateLimit-Resource", "core");
    }
    char rid[20];
    if (sg_random_hex(rid, 8) == SG_OK)
        evhttp_add_header(out, "X-GitHub-Request-Id", rid);
    if (ctype && !evhttp_find_header(out, "Content-Type"))
        evhttp_add_header(out, "Content-Type", ctype);
    record(r, code);
    if (r->has_fault && r->fault.drop_answer) {
        /* An answer lost on the way back: the client reads an orderly close and not one byte
         * (then libevent's write of the reply below fails and frees the connection). */
        struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
        struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
        if (bev)
            shutdown(bufferevent_getfd(bev), SHUT_RDWR);
    }
    struct evbuffer *b = evbuffer_new();
    if (b && body && len)
        evbuffer_add(b, body, len);
    evhttp_send_reply(r->req, code, reason_for(code), b);
    if (b)
        evbuffer_free(b);
    rq_free(r);
}

/* Takes ownership of o. */
static void finish_json(struct rq *r, int code, struct json_object *o)
{
    const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "";
    finish_raw(r, code, "application/json; charset=utf-8", s, strlen(s));
    if (o)
        json_object_put(o);
}

static void finish_msg(struct rq *r, int code, const char *message, const char *doc)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "documentation_url", json_object_new_string(doc ? doc : DOCS));
    char st[8];
    snprintf(st, sizeof st, "%d", code);
    json_object_object_add(o, "status", json_object_new_string(st));
    finish_json(r, code, o);
}

static void finish_422(struct rq *r, const char *detail, const char *doc)
{
    char msg[600];
    snprintf(msg, sizeof msg, "Invalid request.\n\n%s", detail);
    finish_msg(r, 422, msg, doc);
}

/* ---- authentication ---- */

static const char *bearer(struct rq *r)
{
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    if (!a)
        return NULL;
    if (!strncasecmp(a, "Bearer ", 7))
        return a + 7;
    if (!strncasecmp(a, "token ", 6))
        return a + 6;
    return "";
}

/* Counts a request against an hourly budget (GitHub's primary limit); past it, answers 403 with
 * X-RateLimit-Remaining: 0 like GitHub and returns true. */
static bool over_limit(struct rq *r, int64_t *used)
{
    if (now_s() >= S.window_reset_s) {
        S.window_reset_s = now_s() + 3600;
        S.app_used = 0;
        for (size_t i = 0; i < S.ninsts; i++)
            S.insts[i].used = 0;
    }
    ++*used;
    r->rl_used = *used;
    r->rl_remaining = S.rate_limit - *used > 0 ? S.rate_limit - *used : 0;
    if (*used <= S.rate_limit)
        return false;
    finish_msg(r, 403, "API rate limit exceeded for installation.",
               "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting");
    return true;
}

/* The App the last accepted JWT was signed for (sim_apps.h: the command line's or a created one).
 */
static int64_t jwt_app;

/* App JWT auth; on failure answers 401 and returns false. */
static bool auth_jwt(struct rq *r)
{
    const char *t = bearer(r);
    if (!t) {
        finish_msg(r, 401, "A JSON web token could not be decoded", DOCS);
        return false;
    }
    if (!(jwt_app = sim_apps_verify_jwt(t, now_s()))) {
        finish_msg(r, 401,
                   "'Expiration time' claim ('exp') must be a numeric value representing the "
                   "future time at which the assertion expires",
                   DOCS);
        return false;
    }
    return !over_limit(r, &S.app_used);
}

/* Installation token auth; returns the installation or NULL after answering 401. */
static struct sim_inst *auth_token(struct rq *r)
{
    const char *t = bearer(r);
    if (!t) {
        finish_msg(r, 401, "Requires authentication", DOCS);
        return NULL;
    }
    for (size_t i = 0; i < S.ntokens; i++) {
        struct sim_token *k = &S.tokens[i];
        if (strlen(t) == strlen(k->token) && sg_ct_equal(t, k->token, strlen(t)) &&
            k->expires_s > now_s()) {
            struct sim_inst *in = find_inst(k->inst);
            if (!in)
                break;
            return over_limit(r, &in->used) ? NULL : in;
        }
    }
    finish_msg(r, 401, "Bad credentials", DOCS);
    return NULL;
}

/* ---- GitHub endpoints ---- */

static void h_access_token(struct rq *r, int64_t inst_id)
{
    if (!auth_jwt(r))
        return;
    struct sim_inst *in = find_inst(inst_id);
    if (!in) {
        finish_msg(r, 404, "Not Found",
                   DOCS "/apps/apps#create-an-installation-access-token-for-an-app");
        return;
    }
    struct sim_token k;
    memset(&k, 0, sizeof k);
    char hex[40];
    if (sg_random_hex(hex, 18) != SG_OK) {
        finish_msg(r, 500, "Server Error", DOCS);
        return;
    }
    snprintf(k.token, sizeof k.token, "ghs_%s", hex);
    k.inst = inst_id;
    k.expires_s = now_s() + 3600;
    S.tokens = xrealloc(S.tokens, (S.ntokens + 1) * sizeof *S.tokens);
    S.tokens[S.ntokens++] = k;

    char exp[32];
    iso8601(k.expires_s, exp);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "token", json_object_new_string(k.token));
    json_object_object_add(o, "expires_at", json_object_new_string(exp));
    struct json_object *perm = json_object_new_object();
    json_object_object_add(perm, "checks", json_object_new_string("write"));
    json_object_object_add(perm, "contents", json_object_new_string("read"));
    json_object_object_add(perm, "metadata", json_object_new_string("read"));
    json_object_object_add(o, "permissions", perm);
    json_object_object_add(o, "repository_selection", json_object_new_string("selected"));
    finish_json(r, 201, o);
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

static struct json_object *installation_json(const struct sim_inst *in);

static void h_installation_get(struct rq *r, int64_t inst_id)
{
    if (!auth_jwt(r))
        return;
    struct sim_inst *in = find_inst(inst_id);
    if (!in) {
        finish_msg(r, 404, "Not Found",
                   DOCS "/apps/apps#get-an-installation-for-the-authenticated-app");
        return;
    }
    finish_json(r, 200, installation_json(in));
}

/* GitHub's "installation" object. */
static struct json_object *installation_json(const struct sim_inst *in)
{
    char login[256] = "octocat";
    if (in->nrepos) {
        snprintf(login, sizeof login, "%s", in->repos[0]);
        char *slash = strchr(login, '/');
        if (slash)
            *slash = '\0';
    }
    char ts[32];
    iso8601(1764182400, ts);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(in->id));
    json_object_object_add(o, "account", owner_json(login));
    json_object_object_add(o, "repository_selection", json_object_new_string("selected"));
    json_object_object_add(o, "app_id", json_object_new_int64(strtoll(S.app_id, NULL, 10)));
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

static long query_long(const char *query, const char *name, long dflt)
{
    if (!query)
        return dflt;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    long v = dflt;
    if (evhttp_parse_query_str(query, &q) == 0) {
        const char *s = evhttp_find_header(&q, name);
        int64_t x;
        if (s && sg_parse_i64(s, INT64_MIN, INT64_MAX, &x))
            v = (long)x;
    }
    evhttp_clear_headers(&q);
    return v;
}

static void query_str(const char *query, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!query)
        return;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query, &q) == 0) {
        const char *s = evhttp_find_header(&q, name);
        if (s)
            snprintf(out, outlen, "%s", s);
    }
    evhttp_clear_headers(&q);
}

/* per_page as GitHub reads it: 30 by default, at most max_per_page. */
static long query_per_page(struct rq *r)
{
    long per_page = query_long(r->query, "per_page", 30);
    if (per_page < 1)
        per_page = 30;
    return per_page > S.max_per_page ? S.max_per_page : per_page;
}

/* Base URL as the client addressed us ("http://127.0.0.1:PORT"). */
static void self_base(struct rq *r, char *out, size_t outlen, bool other_host)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Host");
    char h[256];
    snprintf(h, sizeof h, "%s", host ? host : "127.0.0.1");
    char *colon = strrchr(h, ':');
    if (colon)
        *colon = '\0';
    const char *name = h;
    if (other_host)
        name = !strcmp(h, "localhost") ? "127.0.0.1" : "localhost";
    /* API links carry the prefix (GHES: http://host/api/v3/...); codeload lives at the root */
    snprintf(out, outlen, "http://%s:%d%s", name, S.port, other_host ? "" : S.api_prefix);
}

/* Base URL for Link headers: ours, or with the foreign_link fault the same server under the
 * other host name, so a client that followed it would be seen doing so. */
static void link_base(struct rq *r, char *out, size_t outlen)
{
    if (!r->has_fault || !r->fault.foreign_link) {
        self_base(r, out, outlen, false);
        return;
    }
    char root[300];
    self_base(r, root, sizeof root, true);
    snprintf(out, outlen, "%s%s", root, S.api_prefix);
}

static void h_installation_repos(struct rq *r)
{
    struct sim_inst *in = auth_token(r);
    if (!in)
        return;
    long per_page = query_per_page(r), page = query_long(r->query, "page", 1);
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
        link_base(r, base, sizeof base);
        snprintf(link, sizeof link,
                 "<%s/installation/repositories?per_page=%ld&page=%ld>; rel=\"next\", "
                 "<%s/installation/repositories?per_page=%ld&page=%zu>; rel=\"last\"",
                 base, per_page, page + 1, base, per_page, pages);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Link", link);
    }
    finish_json(r, 200, o);
}

static bool valid_segment(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static void h_tarball(struct rq *r, const char *owner, const char *repo, const char *ref)
{
    struct sim_inst *in = auth_token(r);
    if (!in)
        return;
    char full[256];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    if (!inst_has_repo(in, full) || !valid_segment(ref)) {
        finish_msg(r, 404, "Not Found", DOCS "/repos/contents#download-a-repository-archive-tar");
        return;
    }
    struct sim_codeload c;
    memset(&c, 0, sizeof c);
    char hex[40];
    if (sg_random_hex(hex, 16) != SG_OK) {
        finish_msg(r, 500, "Server Error", DOCS);
        return;
    }
    snprintf(c.token, sizeof c.token, "%s", hex);
    snprintf(c.repo, sizeof c.repo, "%s", full);
    snprintf(c.sha, sizeof c.sha, "%s", ref);
    c.expires_s = now_s() + 300;
    c.truncate_after = r->has_fault ? r->fault.truncate_after : 0;
    c.bytes_per_s = r->has_fault ? r->fault.bytes_per_s : 0;
    /* Drop the expired ones first: a long benchmark issues one per job and every download
     * searches the list. */
    size_t expired = 0;
    while (expired < S.ncodeloads && S.codeloads[expired].expires_s <= now_s())
        expired++;
    if (expired) {
        memmove(S.codeloads, S.codeloads + expired, (S.ncodeloads - expired) * sizeof *S.codeloads);
        S.ncodeloads -= expired;
    }
    if (S.ncodeloads == S.capcodeloads) {
        S.capcodeloads = S.capcodeloads ? 2 * S.capcodeloads : 64;
        S.codeloads = xrealloc(S.codeloads, S.capcodeloads * sizeof *S.codeloads);
    }
    S.codeloads[S.ncodeloads++] = c;
    char base[300], loc[1024];
    self_base(r, base, sizeof base, true);
    snprintf(loc, sizeof loc, "%s/_codeload/%s/legacy.tar.gz/%s?token=%s", base, full, ref,
             c.token);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Location", loc);
    finish_raw(r, 302, "text/html;charset=utf-8", "", 0);
}

/* A slow download: the body trickles out in chunks every 100 ms at bytes_per_s. */
struct slow {
    struct rq *r;
    struct sg_buf gz;
    size_t off, per_tick;
    struct event *ev;
};
static struct slow *slows[256];
static size_t nslows;

static void slow_free(struct slow *w)
{
    for (size_t i = 0; i < nslows; i++)
        if (slows[i] == w) {
            slows[i] = slows[--nslows];
            break;
        }
    if (w->ev)
        event_free(w->ev);
    sg_buf_free(&w->gz);
    rq_free(w->r);
    free(w);
}

static void slow_tick(evutil_socket_t fd, short what, void *arg)
{
    struct slow *w = arg;
    struct evhttp_request *req = w->r->req;
    if (w->off >= w->gz.len || !evhttp_request_get_connection(req)) {
        evhttp_send_reply_end(req); /* also frees a request whose client went away */
        slow_free(w);
        return;
    }
    size_t n = w->gz.len - w->off < w->per_tick ? w->gz.len - w->off : w->per_tick;
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add(b, w->gz.data + w->off, n);
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
    }
    w->off += n;
    struct timeval tv = {0, 100000};
    evtimer_add(w->ev, &tv);
}

static void slow_start(struct rq *r, struct sg_buf *gz, size_t bytes_per_s)
{
    struct slow *w = xcalloc(1, sizeof *w);
    w->r = r;
    w->gz = *gz; /* takes the buffer */
    sg_buf_init(gz, 0);
    w->per_tick = bytes_per_s / 10 ? bytes_per_s / 10 : 1;
    w->ev = evtimer_new(S.base, slow_tick, w);
    if (nslows < sizeof slows / sizeof slows[0])
        slows[nslows++] = w;
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
                      "application/x-gzip");
    record(r, 200);
    evhttp_send_reply_start(r->req, 200, "OK");
    struct timeval tv = {0, 0};
    evtimer_add(w->ev, &tv);
}

/* A commit's tarball never changes on GitHub, so the last few are kept, keyed by directory and
 * sha (a test that changes the directory uses a new sha). Keeps benchmarks measuring the client
 * rather than the simulator's gzip. */
#define TAR_CACHE           8
#define TAR_CACHE_MAX_BYTES ((size_t)64 << 20)
static struct {
    char key[4300];
    struct sg_buf gz;
} tar_cache[TAR_CACHE];
static size_t tar_cache_next;

static struct sg_buf *tar_cache_get(const char *dir, const char *sha)
{
    char key[4300];
    snprintf(key, sizeof key, "%s\n%s", dir, sha);
    for (size_t i = 0; i < TAR_CACHE; i++)
        if (tar_cache[i].gz.data && !strcmp(tar_cache[i].key, key))
            return &tar_cache[i].gz;
    return NULL;
}

static void tar_cache_put(const char *dir, const char *sha, const struct sg_buf *gz)
{
    if (gz->len > TAR_CACHE_MAX_BYTES)
        return;
    size_t i = tar_cache_next++ % TAR_CACHE;
    sg_buf_free(&tar_cache[i].gz);
    sg_buf_init(&tar_cache[i].gz, TAR_CACHE_MAX_BYTES);
    snprintf(tar_cache[i].key, sizeof tar_cache[i].key, "%s\n%s", dir, sha);
    if (sg_buf_append(&tar_cache[i].gz, gz->data, gz->len) != SG_OK)
        sg_buf_free(&tar_cache[i].gz);
}

/* codeload: token in the query only; an Authorization header is refused (it would be a leak). */
/* A commit's tree: its own (DIR/owner/repo@sha) when the test made one, else the repository's;
 * false when there is none. */
static bool commit_dir(const char *owner, const char *repo, const char *sha, char *dir, size_t len)
{
    struct stat st;
    snprintf(dir, len, "%s/%s/%s@%s", S.repos_dir ? S.repos_dir : "", owner, repo, sha);
    if (!S.repos_dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(dir, len, "%s/%s/%s", S.repos_dir ? S.repos_dir : "", owner, repo);
    return S.repos_dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* GET /repos/{o}/{r}/compare/{base}...{head}: the files between two commits' trees, at most 300
 * as GitHub lists (sim_compare.c); commits are not simulated. */
static void h_compare(struct rq *r, const char *owner, const char *repo, const char *basehead)
{
    struct sim_inst *in = auth_token(r);
    if (!in)
        return;
    char full[256], base[128], bdir[4096], hdir[4096];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    const char *dots = strstr(basehead, "...");
    size_t bl = dots ? (size_t)(dots - basehead) : 0;
    if (!inst_has_repo(in, full) || !dots || bl == 0 || bl >= sizeof base || !dots[3]) {
        finish_msg(r, 404, "Not Found", DOCS "/commits/commits#compare-two-commits");
        return;
    }
    memcpy(base, basehead, bl);
    base[bl] = '\0';
    struct json_object *files = NULL;
    if (!commit_dir(owner, repo, base, bdir, sizeof bdir) ||
        !commit_dir(owner, repo, dots + 3, hdir, sizeof hdir) ||
        !(files = sim_compare_files(bdir, hdir, 300))) {
        finish_msg(r, 404, "Not Found", DOCS "/commits/commits#compare-two-commits");
        return;
    }
    char api[300];
    self_base(r, api, sizeof api, false);
    finish_json(r, 200, sim_compare_answer(api, full, base, dots + 3, files));
}

static void h_codeload(struct rq *r, const char *owner, const char *repo, const char *sha)
{
    r->rl_remaining = -1;
    if (evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization")) {
        finish_raw(r, 400, "text/plain", "Authorization header not accepted here\n", 39);
        return;
    }
    char tok[64], full[256];
    query_str(r->query, "token", tok, sizeof tok);
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    struct sim_codeload *c = NULL;
    for (size_t i = S.ncodeloads; tok[0] && i-- > 0;) /* newest first: usually the last one */
        if (!strcmp(S.codeloads[i].token, tok) && !strcmp(S.codeloads[i].repo, full) &&
            !strcmp(S.codeloads[i].sha, sha) && S.codeloads[i].expires_s > now_s()) {
            c = &S.codeloads[i];
            break;
        }
    if (!c) {
        finish_raw(r, 404, "text/plain", "404: Not Found", 14);
        return;
    }
    char dir[4096];
    if (!commit_dir(owner, repo, sha, dir, sizeof dir)) {
        finish_raw(r, 404, "text/plain", "404: Not Found", 14);
        return;
    }
    struct sg_buf *cached = tar_cache_get(dir, sha);
    struct sg_buf gz;
    sg_buf_init(&gz, (size_t)1 << 30);
    if (cached) {
        if (sg_buf_append(&gz, cached->data, cached->len) != SG_OK) {
            sg_buf_free(&gz);
            finish_raw(r, 500, "text/plain", "tarball failed", 14);
            return;
        }
    } else if (sim_tar_gz(dir, owner, repo, sha, &gz) != SG_OK) {
        sg_buf_free(&gz);
        finish_raw(r, 500, "text/plain", "tarball failed", 14);
        return;
    } else {
        tar_cache_put(dir, sha, &gz);
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    char cd[512];
    snprintf(cd, sizeof cd, "attachment; filename=%s-%s-%.7s.tar.gz", owner, repo, sha);
    evhttp_add_header(out, "Content-Disposition", cd);
    if (c->bytes_per_s) {
        slow_start(r, &gz, c->bytes_per_s);
        return;
    }
    size_t send_len = gz.len;
    if (c->truncate_after && c->truncate_after < gz.len) {
        /* announce the full length, send less, close: the client sees a cut connection */
        char cl[32];
        snprintf(cl, sizeof cl, "%zu", gz.len);
        evhttp_add_header(out, "Content-Length", cl);
        evhttp_add_header(out, "Connection", "close");
        send_len = c->truncate_after;
    }
    finish_raw(r, 200, "application/x-gzip", gz.data, send_len);
    sg_buf_free(&gz);
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
    size_t n = json_object_array_length(S.checkruns);
    if (id < FIRST_CHECKRUN_ID || (uint64_t)(id - FIRST_CHECKRUN_ID) >= n)
        return NULL;
    struct json_object *c =
                           json_object_array_get_idx(S.checkruns, (size_t)(id - FIRST_CHECKRUN_ID)),
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
            iso8601(now_s(), ts);
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

static void h_checkrun_create(struct rq *r, const char *owner, const char *repo)
{
    static const char doc[] = DOCS "/checks/runs#create-a-check-run";
    struct sim_inst *in = auth_token(r);
    if (!in)
        return;
    char full[256], msg[256];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    if (!inst_has_repo(in, full)) {
        finish_msg(r, 404, "Not Found", doc);
        return;
    }
    if (r->body_invalid) {
        finish_msg(r, 400, "Problems parsing JSON", doc);
        return;
    }
    const char *bad = validate_checkrun(r->body, true, msg, sizeof msg);
    if (bad) {
        finish_422(r, bad, doc);
        return;
    }
    struct json_object *c = json_object_new_object();
    int64_t id = S.next_checkrun_id++;
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
    json_object_array_add(S.checkruns, c);
    char base[300];
    self_base(r, base, sizeof base, false);
    finish_json(r, 201, checkrun_view(c, base));
}

static void h_checkrun_get_or_update(struct rq *r, const char *owner, const char *repo,
                                     const char *idstr, bool update)
{
    static const char doc[] = DOCS "/checks/runs#update-a-check-run";
    struct sim_inst *in = auth_token(r);
    if (!in)
        return;
    char full[256], msg[256];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    int64_t id;
    struct json_object *c = NULL;
    if (inst_has_repo(in, full) && sg_parse_i64(idstr, INT64_MIN, INT64_MAX, &id))
        c = find_checkrun(id, full);
    if (!c) {
        finish_msg(r, 404, "Not Found", doc);
        return;
    }
    if (update) {
        if (r->body_invalid) {
            finish_msg(r, 400, "Problems parsing JSON", doc);
            return;
        }
        const char *bad = validate_checkrun(r->body, false, msg, sizeof msg);
        if (bad) {
            finish_422(r, bad, doc);
            return;
        }
        apply_checkrun(c, r->body);
    }
    char base[300];
    self_base(r, base, sizeof base, false);
    finish_json(r, 200, checkrun_view(c, base));
}

/* GET /repos/{o}/{r}/commits/{ref}/check-runs: GitHub's checks/list-for-ref. The ref is matched
 * against head_sha only (the simulator has no branches); check_name and status filter; paged by
 * per_page/page with a Link header like GitHub's. */
static void h_checkrun_list_for_ref(struct rq *r, const char *owner, const char *repo,
                                    const char *ref)
{
    static const char doc[] = DOCS "/checks/runs#list-check-runs-for-a-git-reference";
    struct sim_inst *in = auth_token(r);
    if (!in)
        return;
    char full[256], name[256], status[32];
    snprintf(full, sizeof full, "%s/%s", owner, repo);
    if (!inst_has_repo(in, full)) {
        finish_msg(r, 404, "Not Found", doc);
        return;
    }
    query_str(r->query, "check_name", name, sizeof name);
    query_str(r->query, "status", status, sizeof status);
    long per_page = query_per_page(r), page = query_long(r->query, "page", 1);
    if (page < 1)
        page = 1;
    char base[300];
    link_base(r, base, sizeof base);
    struct json_object *arr = json_object_new_array(), *v;
    size_t total = 0, start = (size_t)(page - 1) * (size_t)per_page;
    /* newest first, as GitHub lists them */
    for (size_t i = json_object_array_length(S.checkruns); i-- > 0;) {
        struct json_object *c = json_object_array_get_idx(S.checkruns, i);
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
    finish_json(r, 200, o);
}

static void h_deliveries(struct rq *r)
{
    if (!auth_jwt(r))
        return;
    long per_page = query_per_page(r);
    char cursor[64];
    query_str(r->query, "cursor", cursor, sizeof cursor);
    int64_t start = 0;
    if (cursor[0] && (strncmp(cursor, "v1_", 3) ||
                      !sg_parse_i64(cursor + 3, INT64_MIN, INT64_MAX, &start) || start < 0)) {
        finish_422(r, "Invalid cursor", DOCS "/apps/webhooks#list-deliveries-for-an-app-webhook");
        return;
    }
    size_t n = json_object_array_length(S.deliveries);
    struct json_object *arr = json_object_new_array();
    for (size_t i = (size_t)start; i < n && i < (size_t)start + (size_t)per_page; i++)
        json_object_array_add(arr, json_object_get(json_object_array_get_idx(S.deliveries, i)));
    if ((size_t)start + (size_t)per_page < n) {
        char base[300], link[600];
        link_base(r, base, sizeof base);
        snprintf(link, sizeof link,
                 "<%s/app/hook/deliveries?per_page=%ld&cursor=v1_%lld>; rel=\"next\"", base,
                 per_page, (long long)(start + per_page));
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Link", link);
    }
    finish_json(r, 200, arr);
}

static void h_redeliver(struct rq *r, const char *idstr)
{
    if (!auth_jwt(r))
        return;
    int64_t id;
    size_t n = json_object_array_length(S.deliveries);
    if (sg_parse_i64(idstr, INT64_MIN, INT64_MAX, &id)) {
        for (size_t i = 0; i < n; i++) {
            struct json_object *d = json_object_array_get_idx(S.deliveries, i), *v;
            if (json_object_object_get_ex(d, "id", &v) && json_object_get_int64(v) == id) {
                finish_json(r, 202, json_object_new_object());
                return;
            }
        }
    }
    finish_msg(r, 404, "Not Found", DOCS "/apps/webhooks#redeliver-a-delivery-for-an-app-webhook");
}

/* ---- control API ---- */

static int64_t jint(struct json_object *o, const char *k, int64_t dflt)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null)
               ? json_object_get_int64(v)
               : dflt;
}

static void c_faults_add(struct rq *r)
{
    struct json_object *b = r->body;
    if (!b) {
        finish_msg(r, 400, "expected a JSON fault object (or an array of them)", NULL);
        return;
    }
    size_t n = json_object_is_type(b, json_type_array) ? json_object_array_length(b) : 1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *f = json_object_is_type(b, json_type_array)
                                    ? json_object_array_get_idx(b, i)
                                    : b,
                           *v;
        struct sim_fault x;
        memset(&x, 0, sizeof x);
        if (json_object_object_get_ex(f, "method", &v) && json_object_is_type(v, json_type_string))
            snprintf(x.method, sizeof x.method, "%s", json_object_get_string(v));
        if (json_object_object_get_ex(f, "path_prefix", &v) &&
            json_object_is_type(v, json_type_string))
            snprintf(x.prefix, sizeof x.prefix, "%s", json_object_get_string(v));
        x.status = (int)jint(f, "status", 0);
        x.count = (int)jint(f, "count", 1);
        x.retry_after = (int)jint(f, "retry_after", 0);
        x.reset_in = (int)jint(f, "rate_limit_reset_in", 0);
        x.secondary = json_object_object_get_ex(f, "secondary", &v) && json_object_get_boolean(v);
        x.delay_ms = (int)jint(f, "delay_ms", 0);
        x.truncate_after = (size_t)jint(f, "truncate_after_bytes", 0);
        x.bytes_per_s = (size_t)jint(f, "bytes_per_s", 0);
        x.foreign_link =
            json_object_object_get_ex(f, "foreign_link", &v) && json_object_get_boolean(v);
        x.drop_answer =
            json_object_object_get_ex(f, "drop_answer", &v) && json_object_get_boolean(v);
        if (json_object_object_get_ex(f, "body", &v) && json_object_is_type(v, json_type_string))
            snprintf(x.body, sizeof x.body, "%s", json_object_get_string(v));
        if (x.count < 1 || x.status < 0 || x.status > 599 || x.delay_ms < 0) {
            finish_msg(r, 400, "bad fault", NULL);
            return;
        }
        S.faults = xrealloc(S.faults, (S.nfaults + 1) * sizeof *S.faults);
        S.faults[S.nfaults++] = x;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "faults", json_object_new_int64((int64_t)S.nfaults));
    finish_json(r, 201, o);
}

static void c_deliveries_add(struct rq *r)
{
    struct json_object *b = r->body;
    if (!b || !json_object_is_type(b, json_type_array)) {
        finish_msg(r, 400, "expected a JSON array of deliveries", NULL);
        return;
    }
    for (size_t i = 0; i < json_object_array_length(b); i++) {
        struct json_object *d = json_object_array_get_idx(b, i), *v;
        struct json_object *o = json_object_new_object();
        int64_t code = jint(d, "status_code", 200);
        json_object_object_add(o, "id", json_object_new_int64(jint(d, "id", (int64_t)i + 1)));
        const char *guid =
            json_object_object_get_ex(d, "guid", &v) ? json_object_get_string(v) : "0";
        json_object_object_add(o, "guid", json_object_new_string(guid));
        char ts[32];
        if (json_object_object_get_ex(d, "delivered_at", &v) &&
            json_object_is_type(v, json_type_string))
            snprintf(ts, sizeof ts, "%s", json_object_get_string(v));
        else
            iso8601(jint(d, "delivered_at", now_s()), ts);
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
                               json_object_new_int64(jint(d, "installation_id", 0)));
        json_object_object_add(o, "repository_id",
                               json_object_new_int64(jint(d, "repository_id", 0)));
        json_object_object_add(o, "throttled_at", NULL);
        json_object_array_add(S.deliveries, o);
    }
    /* GitHub lists newest first: keep the array sorted by delivered_at, descending (ISO 8601
     * strings sort as times) and by id for equal times */
    size_t n = json_object_array_length(S.deliveries);
    struct json_object **items = xcalloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_object_get(json_object_array_get_idx(S.deliveries, i));
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0; j--) {
            struct json_object *a = items[j - 1], *c = items[j], *va, *vc;
            json_object_object_get_ex(a, "delivered_at", &va);
            json_object_object_get_ex(c, "delivered_at", &vc);
            int cmp = strcmp(json_object_get_string(va), json_object_get_string(vc));
            if (cmp > 0 || (cmp == 0 && jint(a, "id", 0) >= jint(c, "id", 0)))
                break;
            items[j - 1] = c;
            items[j] = a;
        }
    }
    json_object_put(S.deliveries);
    S.deliveries = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(S.deliveries, items[i]);
    free(items);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "deliveries", json_object_new_int64((int64_t)n));
    finish_json(r, 201, o);
}

static void c_checkruns(struct rq *r)
{
    struct json_object *arr = json_object_new_array();
    size_t n = json_object_array_length(S.checkruns);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_get(json_object_array_get_idx(S.checkruns, i)));
    finish_json(r, 200, arr);
}

static void c_apps(struct rq *r, const char *p);

static void handle_control(struct rq *r)
{
    r->rl_remaining = -1;
    const char *p = r->path + 5; /* after "/_sim" */
    bool get = !strcmp(r->method, "GET"), post = !strcmp(r->method, "POST"),
         del = !strcmp(r->method, "DELETE");
    if (!strcmp(p, "/healthz") && get) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_string("ok"));
        finish_json(r, 200, o);
    } else if (!strcmp(p, "/requests") && get) {
        finish_json(r, 200, json_object_get(S.records));
    } else if (!strcmp(p, "/requests") && del) {
        json_object_put(S.records);
        S.records = json_object_new_array();
        finish_json(r, 200, json_object_new_object());
    } else if (!strcmp(p, "/check-runs") && get) {
        c_checkruns(r);
    } else if (!strcmp(p, "/faults") && post) {
        c_faults_add(r);
    } else if (!strcmp(p, "/faults") && del) {
        S.nfaults = 0;
        finish_json(r, 200, json_object_new_object());
    } else if (!strcmp(p, "/deliveries") && post) {
        c_deliveries_add(r);
    } else if (!strcmp(p, "/tokens") && del) {
        /* revokes every installation token, as if they had expired (tests a 401 refresh) */
        S.ntokens = 0;
        finish_json(r, 200, json_object_new_object());
    } else if (!strcmp(p, "/manifests") || !strncmp(p, "/apps/", 6)) {
        c_apps(r, p);
    } else {
        finish_msg(r, 404, "Not Found", NULL);
    }
}

/* ---- routing ---- */

static void reply_fault(struct rq *r)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    struct sim_fault *f = &r->fault;
    char v[32];
    if (f->body[0]) {
        finish_raw(r, f->status, "application/json; charset=utf-8", f->body, strlen(f->body));
        return;
    }
    if (f->retry_after > 0) {
        snprintf(v, sizeof v, "%d", f->retry_after);
        evhttp_add_header(out, "Retry-After", v);
    }
    if (f->status == 403 || f->status == 429) {
        if (f->secondary) {
            finish_msg(r, f->status,
                       "You have exceeded a secondary rate limit. Please wait a few minutes "
                       "before you try again. If you reach out to GitHub Support for help, "
                       "please include the request ID.",
                       "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                       "#about-secondary-rate-limits");
            return;
        }
        if (f->reset_in > 0) {
            /* primary limit: remaining 0 and the window's reset time */
            r->rl_remaining = -1;
            snprintf(v, sizeof v, "%lld", (long long)S.rate_limit);
            evhttp_add_header(out, "X-RateLimit-Limit", v);
            evhttp_add_header(out, "X-RateLimit-Remaining", "0");
            evhttp_add_header(out, "X-RateLimit-Used", v);
            snprintf(v, sizeof v, "%lld", (long long)(now_s() + f->reset_in));
            evhttp_add_header(out, "X-RateLimit-Reset", v);
            evhttp_add_header(out, "X-RateLimit-Resource", "core");
            finish_msg(
                r, f->status, "API rate limit exceeded for installation.",
                "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting");
            return;
        }
        finish_msg(r, f->status,
                   f->status == 429 ? "Too Many Requests"
                                    : "Resource not accessible by integration",
                   NULL);
        return;
    }
    finish_msg(r, f->status, f->status >= 500 ? "Server Error" : reason_for(f->status), NULL);
}

/* ---- the App itself and its manifest flow (sim_apps.c) ---- */

/* Where this simulator's stand-in for GitHub's web pages lives: GITHUB_URL in tests. */
static void web_base(char *out, size_t outlen)
{
    snprintf(out, outlen, "http://%s:%d/_sim/web", S.host, S.port);
}

static void h_app(struct rq *r)
{
    char web[300];
    if (!auth_jwt(r))
        return;
    web_base(web, sizeof web);
    finish_json(r, 200, sim_apps_get(jwt_app, web));
}

static void h_app_installations(struct rq *r)
{
    size_t n;
    if (!auth_jwt(r))
        return;
    const int64_t *ids = sim_apps_installations(jwt_app, &n);
    struct json_object *arr = json_object_new_array();
    struct json_object *app = sim_apps_get(jwt_app, ""), *slug = NULL;
    json_object_object_get_ex(app, "slug", &slug);
    long per_page = query_per_page(r);
    for (size_t i = 0; i < n && (long)i < per_page; i++) {
        struct sim_inst *in = find_inst(ids[i]);
        if (!in)
            continue;
        struct json_object *o = installation_json(in);
        json_object_object_add(o, "app_id", json_object_new_int64(jwt_app));
        json_object_object_add(o, "app_slug", json_object_get(slug));
        json_object_array_add(arr, o);
    }
    json_object_put(app);
    finish_json(r, 200, arr);
}

static void h_manifest_conversion(struct rq *r, const char *code)
{
    char web[300];
    int status;
    web_base(web, sizeof web);
    struct json_object *o = sim_apps_convert(code, web, now_s(), &status);
    finish_json(r, status, o);
}

static bool add_installation(const char *spec);

/* POST /_sim/manifests (sim_apps_create), PATCH /_sim/apps/{id} (permissions, events) and
 * POST /_sim/apps/{id}/installations {"id", "repositories"}: the owner's clicks on GitHub. */
static void c_apps(struct rq *r, const char *p)
{
    char web[300], spec[4096];
    int status = 404;
    int64_t app_id = 0;
    struct json_object *o = NULL, *v;
    web_base(web, sizeof web);
    if (!r->body) {
        finish_msg(r, 400, "Problems parsing JSON", NULL);
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
            if (len < (int)sizeof spec && add_installation(spec) &&
                sim_apps_install(app_id, inst)) {
                status = 201;
                o = installation_json(find_inst(inst));
            }
        }
    }
    if (!o) {
        finish_msg(r, status == 404 ? 404 : 422, status == 404 ? "Not Found" : "Invalid", NULL);
        return;
    }
    finish_json(r, status, o);
}

static void route(struct rq *r)
{
    if (r->has_fault && r->fault.status > 0) {
        reply_fault(r);
        return;
    }
    if (r->has_fault && r->fault.reset_in > 0)
        r->exhausted_reset_s = now_s() + r->fault.reset_in;
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
        return h_access_token(r, id);
    if (n == 3 && !strcmp(seg[0], "app") && !strcmp(seg[1], "installations") && get &&
        sg_parse_i64(seg[2], INT64_MIN, INT64_MAX, &id))
        return h_installation_get(r, id);
    if (n == 2 && !strcmp(seg[0], "installation") && !strcmp(seg[1], "repositories") && get)
        return h_installation_repos(r);
    if (n == 3 && !strcmp(seg[0], "app") && !strcmp(seg[1], "hook") &&
        !strcmp(seg[2], "deliveries") && get)
        return h_deliveries(r);
    if (n == 5 && !strcmp(seg[0], "app") && !strcmp(seg[1], "hook") &&
        !strcmp(seg[2], "deliveries") && !strcmp(seg[4], "attempts") && post)
        return h_redeliver(r, seg[3]);
    if (n >= 4 && !strcmp(seg[0], "repos") && valid_segment(seg[1]) && valid_segment(seg[2])) {
        if (n == 5 && !strcmp(seg[3], "tarball") && get)
            return h_tarball(r, seg[1], seg[2], seg[4]);
        if (n == 5 && !strcmp(seg[3], "compare") && get)
            return h_compare(r, seg[1], seg[2], seg[4]);
        if (n == 4 && !strcmp(seg[3], "check-runs") && post)
            return h_checkrun_create(r, seg[1], seg[2]);
        if (n == 5 && !strcmp(seg[3], "check-runs") && (patch || get))
            return h_checkrun_get_or_update(r, seg[1], seg[2], seg[4], patch);
        if (n == 6 && !strcmp(seg[3], "commits") && !strcmp(seg[5], "check-runs") && get &&
            valid_segment(seg[4]))
            return h_checkrun_list_for_ref(r, seg[1], seg[2], seg[4]);
    }
    if (n == 5 && !strcmp(seg[0], "_codeload") && !strcmp(seg[3], "legacy.tar.gz") && get &&
        valid_segment(seg[1]) && valid_segment(seg[2]) && valid_segment(seg[4]))
        return h_codeload(r, seg[1], seg[2], seg[4]);
    if (n == 3 && !strcmp(seg[0], "app-manifests") && !strcmp(seg[2], "conversions") && post)
        return h_manifest_conversion(r, seg[1]);
    if (n == 1 && !strcmp(seg[0], "app") && get)
        return h_app(r);
    if (n == 2 && !strcmp(seg[0], "app") && !strcmp(seg[1], "installations") && get)
        return h_app_installations(r);
    finish_msg(r, 404, "Not Found", DOCS);
}

/* Requests waiting out a delay fault, freed at exit if still waiting. */
static struct rq *pending[1024];
static size_t npending;

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
    for (size_t i = 0; i < npending; i++)
        if (pending[i] == arg) {
            pending[i] = pending[--npending];
            break;
        }
    route(arg);
}

static void gencb(struct evhttp_request *req, void *arg)
{
    struct rq *r = xcalloc(1, sizeof *r);
    r->req = req;
    r->rl_remaining = -1;
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        snprintf(r->method, sizeof r->method, "GET");
        break;
    case EVHTTP_REQ_POST:
        snprintf(r->method, sizeof r->method, "POST");
        break;
    case EVHTTP_REQ_PATCH:
        snprintf(r->method, sizeof r->method, "PATCH");
        break;
    case EVHTTP_REQ_PUT:
        snprintf(r->method, sizeof r->method, "PUT");
        break;
    case EVHTTP_REQ_DELETE:
        snprintf(r->method, sizeof r->method, "DELETE");
        break;
    case EVHTTP_REQ_HEAD:
        snprintf(r->method, sizeof r->method, "HEAD");
        break;
    default:
        snprintf(r->method, sizeof r->method, "OTHER");
        break;
    }
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    r->path = xstrdup(u && evhttp_uri_get_path(u) ? evhttp_uri_get_path(u) : "/");
    if (u && evhttp_uri_get_query(u))
        r->query = xstrdup(evhttp_uri_get_query(u));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    if (blen) {
        char *body = xcalloc(1, blen + 1);
        evbuffer_remove(in, body, blen);
        struct json_tokener *tok = json_tokener_new();
        r->body = json_tokener_parse_ex(tok, body, (int)blen);
        /* GitHub answers a body that is not valid UTF-8 with 400 "Problems parsing JSON" */
        if (!r->body || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != blen || !sg_utf8_valid(body, blen)) {
            if (r->body)
                json_object_put(r->body);
            r->body = NULL;
            r->body_invalid = true;
        }
        json_tokener_free(tok);
        free(body);
    }
    size_t plen = strlen(S.api_prefix);
    if (plen && strncmp(r->path, "/_sim/", 6) && strncmp(r->path, "/_codeload/", 11)) {
        /* GHES: every API path sits under the prefix; anything else is not the API */
        if (strncmp(r->path, S.api_prefix, plen) || r->path[plen] != '/') {
            r->rl_remaining = -1;
            finish_msg(r, 404, "Not Found", DOCS);
            return;
        }
        memmove(r->path, r->path + plen, strlen(r->path + plen) + 1);
    }
    if (!strncmp(r->path, "/_sim/", 6)) {
        handle_control(r);
        return;
    }
    r->rl_remaining = S.rate_limit;
    r->rl_used = 0;
    for (size_t i = 0; i < S.nfaults; i++) {
        struct sim_fault *f = &S.faults[i];
        if ((f->method[0] && strcasecmp(f->method, r->method)) ||
            strncmp(r->path, f->prefix, strlen(f->prefix)))
            continue;
        r->fault = *f;
        r->has_fault = true;
        if (--f->count <= 0) {
            memmove(f, f + 1, (S.nfaults - i - 1) * sizeof *f);
            S.nfaults--;
        }
        break;
    }
    if (r->has_fault && r->fault.delay_ms > 0 && npending < sizeof pending / sizeof pending[0]) {
        pending[npending++] = r;
        struct timeval tv = {r->fault.delay_ms / 1000, (r->fault.delay_ms % 1000) * 1000};
        r->timer = evtimer_new(S.base, delayed_cb, r);
        evtimer_add(r->timer, &tv);
        return;
    }
    route(r);
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: singularity-github-sim [--host 127.0.0.1] [--port N] --app-id ID --app-key FILE\n"
        "         [--repos DIR] [--installation ID=owner/repo[,owner/repo...]]... [--record FILE]\n"
        "         [--max-per-page N] [--api-prefix /api/v3] [--rate-limit N]\n");
}

static bool add_installation(const char *spec)
{
    const char *eq = strchr(spec, '=');
    char idbuf[32];
    int64_t id;
    if (!eq || (size_t)(eq - spec) >= sizeof idbuf)
        return false;
    snprintf(idbuf, sizeof idbuf, "%.*s", (int)(eq - spec), spec);
    if (!sg_parse_i64(idbuf, INT64_MIN, INT64_MAX, &id) || id <= 0)
        return false;
    struct sim_inst *in = find_inst(id);
    if (!in) {
        S.insts = xrealloc(S.insts, (S.ninsts + 1) * sizeof *S.insts);
        in = &S.insts[S.ninsts++];
        memset(in, 0, sizeof *in);
        in->id = id;
    }
    char *list = xstrdup(eq + 1), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strchr(t, '/'))
            continue;
        in->repos = xrealloc(in->repos, (in->nrepos + 1) * sizeof *in->repos);
        in->repos[in->nrepos++] = xstrdup(t);
    }
    free(list);
    return true;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(S.base, NULL);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"host", required_argument, NULL, 'H'},
                                         {"app-id", required_argument, NULL, 'a'},
                                         {"app-key", required_argument, NULL, 'k'},
                                         {"repos", required_argument, NULL, 'r'},
                                         {"installation", required_argument, NULL, 'i'},
                                         {"record", required_argument, NULL, 'R'},
                                         {"max-per-page", required_argument, NULL, 'm'},
                                         {"api-prefix", required_argument, NULL, 'P'},
                                         {"rate-limit", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *record_path = NULL;
    int64_t v;
    int c, rc = 1;
    S.host = "127.0.0.1";
    S.api_prefix = "";
    S.rate_limit = 1000000; /* GitHub's is 5000-15000; high by default so benchmarks run free */
    S.max_per_page = 100;
    S.next_checkrun_id = FIRST_CHECKRUN_ID;
    snprintf(S.app_id, sizeof S.app_id, "1");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!sg_parse_i64(optarg, INT64_MIN, INT64_MAX, &v) || v < 0 || v > 65535)
                return usage(), 2;
            S.port = (int)v;
            break;
        case 'H':
            S.host = optarg;
            break;
        case 'a':
            snprintf(S.app_id, sizeof S.app_id, "%s", optarg);
            break;
        case 'k':
            key_path = optarg;
            break;
        case 'r':
            S.repos_dir = optarg;
            break;
        case 'i':
            if (!add_installation(optarg)) {
                fprintf(stderr, "bad --installation %s (want ID=owner/repo[,...])\n", optarg);
                return 2;
            }
            break;
        case 'R':
            record_path = optarg;
            break;
        case 'L':
            if (!sg_parse_i64(optarg, 1, INT64_MAX / 2, &v))
                return usage(), 2;
            S.rate_limit = v;
            break;
        case 'P':
            if (optarg[0] != '/' || optarg[strlen(optarg) - 1] == '/')
                return usage(), 2;
            S.api_prefix = optarg;
            break;
        case 'm':
            if (!sg_parse_i64(optarg, INT64_MIN, INT64_MAX, &v) || v < 1 || v > 100)
                return usage(), 2;
            S.max_per_page = (int)v;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (!key_path) {
        usage();
        return 2;
    }
    FILE *kf = fopen(key_path, "r");
    if (!kf) {
        fprintf(stderr, "cannot open %s: %s\n", key_path, strerror(errno));
        return 2;
    }
    char pem[16384];
    size_t plen = fread(pem, 1, sizeof pem - 1, kf);
    fclose(kf);
    pem[plen] = '\0';
    char kerr[256];
    S.key = sg_pkey_load_pem(pem, kerr, sizeof kerr);
    if (!S.key) {
        fprintf(stderr, "bad --app-key: %s\n", kerr);
        return 2;
    }
    sim_apps_init(S.app_id, S.key);
    for (size_t i = 0; i < S.ninsts; i++)
        sim_apps_install(strtoll(S.app_id, NULL, 10), S.insts[i].id);
    if (record_path && !(S.record = fopen(record_path, "a"))) {
        fprintf(stderr, "cannot open %s: %s\n", record_path, strerror(errno));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    S.records = json_object_new_array();
    S.checkruns = json_object_new_array();
    S.deliveries = json_object_new_array();
    S.window_reset_s = now_s() + 3600;
    S.base = event_base_new();
    struct evhttp *http = evhttp_new(S.base);
    struct event *sigint = evsignal_new(S.base, SIGINT, on_signal, NULL);
    struct event *sigterm = evsignal_new(S.base, SIGTERM, on_signal, NULL);
    if (!S.base || !http || !sigint || !sigterm)
        goto out;
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    evhttp_set_max_body_size(http, MAX_BODY);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(http, 120);
    evhttp_set_gencb(http, gencb, NULL);
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(http, S.host, (ev_uint16_t)S.port);
    if (!sock) {
        fprintf(stderr, "cannot listen on %s:%d\n", S.host, S.port);
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) != 0)
        goto out;
    S.port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    printf("listening on %d\n", S.port);
    fflush(stdout);
    event_base_dispatch(S.base);
    rc = 0;
out:
    for (size_t i = 0; i < npending; i++)
        rq_free(pending[i]);
    for (size_t i = 0; i < TAR_CACHE; i++)
        sg_buf_free(&tar_cache[i].gz);
    while (nslows)
        slow_free(slows[0]);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (http)
        evhttp_free(http);
    if (S.base)
        event_base_free(S.base);
    if (S.record)
        fclose(S.record);
    json_object_put(S.records);
    json_object_put(S.checkruns);
    json_object_put(S.deliveries);
    for (size_t i = 0; i < S.ninsts; i++) {
        for (size_t j = 0; j < S.insts[i].nrepos; j++)
            free(S.insts[i].repos[j]);
        free(S.insts[i].repos);
    }
    free(S.insts);
    free(S.tokens);
    free(S.codeloads);
    free(S.faults);
    sim_apps_free();
    sg_pkey_free(S.key);
    return rc;
}
