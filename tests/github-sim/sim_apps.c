/* Why: see sim_apps.h. Keys are generated with OpenSSL (2048-bit RSA, PKCS#1 PEM like the key
 * GitHub hands out), so the worker signs its JWTs with exactly what a conversion gave it. */
#include "sim_apps.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define MAX_APPS  64
#define MAX_CODES 256
#define FIRST_ID  900001 /* created Apps' ids, far from the command line's */

struct sim_app {
    int64_t id;
    char slug[64], name[128], owner[64];
    sg_pkey *key;
    bool own_key;
    char *pem; /* a created App's key, until its conversion hands it out */
    char client_id[48], client_secret[48], webhook_secret[48];
    struct json_object *manifest; /* as created (NULL for the command line's App) */
    struct json_object *permissions, *events;
    int64_t *insts;
    size_t ninsts;
};

struct sim_code {
    char code[48];
    int64_t app_id;
    int64_t expires_s;
    bool used;
};

static struct sim_app apps[MAX_APPS];
static size_t napps;
static struct sim_code codes[MAX_CODES];
static size_t ncodes;

static struct sim_app *find(int64_t id)
{
    for (size_t i = 0; i < napps; i++)
        if (apps[i].id == id)
            return &apps[i];
    return NULL;
}

static struct json_object *default_permissions(void)
{
    struct json_object *p = json_object_new_object();
    json_object_object_add(p, "checks", json_object_new_string("write"));
    json_object_object_add(p, "contents", json_object_new_string("read"));
    json_object_object_add(p, "metadata", json_object_new_string("read"));
    json_object_object_add(p, "pull_requests", json_object_new_string("read"));
    return p;
}

static struct json_object *default_events(void)
{
    static const char *const ev[] = {"check_run", "check_suite", "pull_request", "push"};
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < 4; i++)
        json_object_array_add(a, json_object_new_string(ev[i]));
    return a;
}

void sim_apps_init(const char *app_id, sg_pkey *key)
{
    struct sim_app *a = &apps[napps++];
    memset(a, 0, sizeof *a);
    a->id = strtoll(app_id, NULL, 10);
    snprintf(a->slug, sizeof a->slug, "singularity");
    snprintf(a->name, sizeof a->name, "Singularity");
    snprintf(a->owner, sizeof a->owner, "octocat");
    snprintf(a->client_id, sizeof a->client_id, "Iv1.%.30s", app_id);
    a->key = key;
    a->permissions = default_permissions();
    a->events = default_events();
}

void sim_apps_free(void)
{
    for (size_t i = 0; i < napps; i++) {
        if (apps[i].own_key)
            sg_pkey_free(apps[i].key);
        free(apps[i].pem);
        free(apps[i].insts);
        json_object_put(apps[i].manifest);
        json_object_put(apps[i].permissions);
        json_object_put(apps[i].events);
    }
    napps = 0;
}

bool sim_apps_install(int64_t app_id, int64_t inst)
{
    struct sim_app *a = find(app_id);
    if (!a)
        return false;
    for (size_t i = 0; i < a->ninsts; i++)
        if (a->insts[i] == inst)
            return true;
    int64_t *v = realloc(a->insts, (a->ninsts + 1) * sizeof *v);
    if (!v)
        return false;
    a->insts = v;
    a->insts[a->ninsts++] = inst;
    return true;
}

const int64_t *sim_apps_installations(int64_t app_id, size_t *n)
{
    struct sim_app *a = find(app_id);
    *n = a ? a->ninsts : 0;
    return a ? a->insts : NULL;
}

int64_t sim_apps_verify_jwt(const char *jwt, int64_t now_s)
{
    char iss[64];
    for (size_t i = 0; i < napps; i++) {
        if (sg_jwt_verify(apps[i].key, jwt, now_s, iss, sizeof iss) &&
            strtoll(iss, NULL, 10) == apps[i].id && iss[0] != '0')
            return apps[i].id;
    }
    return 0;
}

static void iso(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *mstr(struct json_object *m, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(m, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* GitHub's "integration" object. */
static struct json_object *app_json(const struct sim_app *a, const char *web_base)
{
    struct json_object *o = json_object_new_object(), *owner = json_object_new_object();
    char buf[512], ts[32];
    iso(1764182400, ts);
    json_object_object_add(o, "id", json_object_new_int64(a->id));
    json_object_object_add(o, "slug", json_object_new_string(a->slug));
    snprintf(buf, sizeof buf, "A_kwHO%lld", (long long)a->id);
    json_object_object_add(o, "node_id", json_object_new_string(buf));
    json_object_object_add(o, "client_id", json_object_new_string(a->client_id));
    json_object_object_add(owner, "login", json_object_new_string(a->owner));
    json_object_object_add(owner, "id", json_object_new_int64(1000 + (int64_t)strlen(a->owner)));
    json_object_object_add(owner, "node_id", json_object_new_string("MDQ6VXNlcjE="));
    static const char *const urls[] = {
        "avatar_url",        "url",       "html_url",    "followers_url",
        "following_url",     "gists_url", "starred_url", "subscriptions_url",
        "organizations_url", "repos_url", "events_url",  "received_events_url"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        snprintf(buf, sizeof buf, "%s/%s", web_base, a->owner);
        json_object_object_add(owner, urls[i], json_object_new_string(buf));
    }
    json_object_object_add(owner, "gravatar_id", json_object_new_string(""));
    json_object_object_add(owner, "type", json_object_new_string("User"));
    json_object_object_add(owner, "site_admin", json_object_new_boolean(0));
    json_object_object_add(o, "owner", owner);
    json_object_object_add(o, "name", json_object_new_string(a->name));
    const char *desc = a->manifest ? mstr(a->manifest, "description") : NULL;
    json_object_object_add(o, "description", desc ? json_object_new_string(desc) : NULL);
    const char *url = a->manifest ? mstr(a->manifest, "url") : NULL;
    json_object_object_add(o, "external_url",
                           json_object_new_string(url ? url : "https://example.invalid"));
    snprintf(buf, sizeof buf, "%s/apps/%s", web_base, a->slug);
    json_object_object_add(o, "html_url", json_object_new_string(buf));
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    json_object_object_add(o, "updated_at", json_object_new_string(ts));
    json_object_object_add(o, "permissions", json_object_get(a->permissions));
    json_object_object_add(o, "events", json_object_get(a->events));
    json_object_object_add(o, "installations_count", json_object_new_int64((int64_t)a->ninsts));
    return o;
}

struct json_object *sim_apps_get(int64_t app_id, const char *web_base)
{
    struct sim_app *a = find(app_id);
    return a ? app_json(a, web_base) : NULL;
}

static struct json_object *errors422(const char *message, int *status)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "documentation_url",
                           json_object_new_string("https://docs.github.com/apps/sharing-github-"
                                                  "apps/registering-a-github-app-from-a-manifest"));
    json_object_object_add(o, "status", json_object_new_string("422"));
    *status = 422;
    return o;
}

/* A new RSA key and its PKCS#1 PEM text, as GitHub's "Generate a private key" gives. */
static sg_pkey *new_key(char **pem)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long len;
    *pem = NULL;
    if (k && b && PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL) &&
        (len = BIO_get_mem_data(b, &data)) > 0)
        *pem = strndup(data, (size_t)len);
    BIO_free(b);
    if (!*pem) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return (sg_pkey *)k;
}

static void random_token(char *out, size_t nbytes, const char *prefix, size_t outlen)
{
    char hex[64];
    if (sg_random_hex(hex, nbytes) != SG_OK)
        snprintf(hex, sizeof hex, "%lld", (long long)time(NULL));
    snprintf(out, outlen, "%s%.40s", prefix, hex);
}

struct json_object *sim_apps_create(struct json_object *body, const char *web_base, int *status)
{
    struct json_object *m, *hook, *perm, *ev;
    if (!json_object_object_get_ex(body, "manifest", &m) ||
        !json_object_is_type(m, json_type_object))
        return errors422("manifest: expected the manifest object", status);
    if (!mstr(m, "url"))
        return errors422("Invalid manifest: url is required", status);
    if (!json_object_object_get_ex(m, "hook_attributes", &hook) || !mstr(hook, "url"))
        return errors422("Invalid manifest: hook_attributes.url is required", status);
    if (!mstr(m, "redirect_url"))
        return errors422("Invalid manifest: redirect_url is required here", status);
    if (json_object_object_get_ex(m, "default_permissions", &perm) &&
        !json_object_is_type(perm, json_type_object))
        return errors422("Invalid manifest: default_permissions must be an object", status);
    if (json_object_object_get_ex(m, "default_events", &ev) &&
        !json_object_is_type(ev, json_type_array))
        return errors422("Invalid manifest: default_events must be an array", status);
    if (napps >= MAX_APPS || ncodes >= MAX_CODES)
        return errors422("too many Apps in this simulator", status);
    struct sim_app *a = &apps[napps];
    memset(a, 0, sizeof *a);
    if (!(a->key = new_key(&a->pem)))
        return errors422("key generation failed", status);
    a->own_key = true;
    a->id = FIRST_ID + (int64_t)napps;
    const char *name = mstr(m, "name"), *owner = mstr(body, "owner");
    snprintf(a->name, sizeof a->name, "%s", name ? name : "Singularity");
    snprintf(a->owner, sizeof a->owner, "%s", owner ? owner : "octocat");
    size_t s = 0;
    for (const char *p = a->name; *p && s + 1 < 40; p++)
        a->slug[s++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
    snprintf(a->slug + s, sizeof a->slug - s, "-%lld", (long long)a->id);
    random_token(a->client_id, 8, "Iv23li", sizeof a->client_id);
    random_token(a->client_secret, 20, "", sizeof a->client_secret);
    random_token(a->webhook_secret, 20, "", sizeof a->webhook_secret);
    a->manifest = json_object_get(m);
    a->permissions = perm ? json_object_get(perm) : json_object_new_object();
    a->events = ev ? json_object_get(ev) : json_object_new_array();
    /* GitHub always grants metadata: read. */
    if (!json_object_object_get_ex(a->permissions, "metadata", NULL))
        json_object_object_add(a->permissions, "metadata", json_object_new_string("read"));
    napps++;

    struct json_object *ttl;
    struct sim_code *c = &codes[ncodes++];
    random_token(c->code, 20, "", sizeof c->code);
    c->app_id = a->id;
    c->expires_s =
        time(NULL) +
        (json_object_object_get_ex(body, "code_ttl_s", &ttl) ? json_object_get_int64(ttl) : 3600);
    const char *state = mstr(body, "state"), *redirect = mstr(m, "redirect_url");
    char loc[2048];
    snprintf(loc, sizeof loc, "%s%scode=%s%s%s", redirect, strchr(redirect, '?') ? "&" : "?",
             c->code, state ? "&state=" : "", state ? state : "");
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "code", json_object_new_string(c->code));
    json_object_object_add(o, "app_id", json_object_new_int64(a->id));
    json_object_object_add(o, "location", json_object_new_string(loc));
    (void)web_base;
    *status = 201;
    return o;
}

struct json_object *sim_apps_convert(const char *code, const char *web_base, int64_t now_s,
                                     int *status)
{
    for (size_t i = 0; i < ncodes; i++) {
        struct sim_code *c = &codes[i];
        struct sim_app *a;
        if (strcmp(c->code, code) || c->used || c->expires_s <= now_s || !(a = find(c->app_id)))
            continue;
        c->used = true;
        struct json_object *o = app_json(a, web_base);
        json_object_object_add(o, "client_secret", json_object_new_string(a->client_secret));
        json_object_object_add(o, "webhook_secret", json_object_new_string(a->webhook_secret));
        json_object_object_add(o, "pem", json_object_new_string(a->pem ? a->pem : ""));
        *status = 201;
        return o;
    }
    *status = 404;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string("Not Found"));
    json_object_object_add(
        o, "documentation_url",
        json_object_new_string(
            "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest"));
    json_object_object_add(o, "status", json_object_new_string("404"));
    return o;
}

struct json_object *sim_apps_update(int64_t app_id, struct json_object *body, int *status)
{
    struct sim_app *a = find(app_id);
    struct json_object *v;
    if (!a) {
        *status = 404;
        return NULL;
    }
    if (json_object_object_get_ex(body, "permissions", &v) &&
        json_object_is_type(v, json_type_object)) {
        json_object_put(a->permissions);
        a->permissions = json_object_get(v);
    }
    if (json_object_object_get_ex(body, "events", &v) && json_object_is_type(v, json_type_array)) {
        json_object_put(a->events);
        a->events = json_object_get(v);
    }
    *status = 200;
    return app_json(a, "");
}
