/* Why: `singularity-worker register` — GitHub's App manifest flow (DESIGN.md section 12), so a new
 * user gets a registered App, its key and its webhook secret without copying anything by hand:
 * serve a form that posts app.yml's manifest to GitHub, take GitHub's redirect back with a
 * one-time code and the state we chose (a redirect without our state is refused: it was not
 * started here), exchange the code for the App's credentials and write them 0600. Nothing that
 * exists is overwritten without --force, and the env file is written last, so its presence means
 * a complete configuration. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "wk_app_manifest.h"
#include "wk_cli.h"
#include "wk_cmd_setup.h"
#include "wk_config.h"
#include "wk_github_app.h"
#include "wk_register_http.h"
#include "sg_config.h"
#include "sg_crypto.h"
#include "sg_time.h"

#define PEM_NAME "github-app-key.pem"
#define HTML     "text/html; charset=utf-8"

struct reg {
    const char *org, *public_url, *listen, *env_file, *app_yml;
    bool force;
    int64_t timeout_s;
    char *github_url, *webhook_path; /* settings */
    struct wk_config cfg;            /* GITHUB_API_URL (or GHE_HOST), logging */
    char host[256];
    int port, bound_port;
    char env_path[PATH_MAX], pem_path[PATH_MAX];
    char state[33];
    struct json_object *manifest;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: singularity-worker register [--org ORG] [--public-url URL] "
               "[--listen HOST:PORT]\n"
               "         [--env-file PATH] [--app-yml PATH] [--force] [--timeout SECONDS]\n");
}

/* GitHub logins: letters, digits and single hyphens (not first), at most 39 characters. */
static bool valid_login(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 39 || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
            !(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
            return false;
    return true;
}

static bool split_listen(const char *spec, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(spec, ':');
    int64_t p;
    if (!colon || colon == spec || (size_t)(colon - spec) >= hostlen ||
        !sg_parse_i64(colon + 1, 0, 65535, &p))
        return false;
    snprintf(host, hostlen, "%.*s", (int)(colon - spec), spec);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:3000 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    *port = (int)p;
    return true;
}

/* An env-file value: written bare, so it must not contain what a shell or Compose would read
 * differently. GitHub's ids and secrets are plain tokens. */
static bool env_safe(const char *s)
{
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:+=,@", *s))
            return false;
    return true;
}

/* The env file's absolute path and the key file's beside it. */
static bool resolve_paths(struct reg *r)
{
    char dir[PATH_MAX], tmp[PATH_MAX], real[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", r->env_file);
    snprintf(dir, sizeof dir, "%s", dirname(tmp));
    if (!realpath(dir, real)) {
        fprintf(stderr, "register: --env-file %s: folder %s: %s\n", r->env_file, dir,
                strerror(errno));
        return false;
    }
    snprintf(tmp, sizeof tmp, "%s", r->env_file);
    int a = snprintf(r->env_path, sizeof r->env_path, "%s/%s", real, basename(tmp));
    int b = snprintf(r->pem_path, sizeof r->pem_path, "%s/%s", real, PEM_NAME);
    if (a <= 0 || (size_t)a >= sizeof r->env_path || b <= 0 || (size_t)b >= sizeof r->pem_path ||
        !env_safe(r->pem_path)) {
        fprintf(stderr,
                "register: %s: a folder whose path an env file can hold unquoted (no "
                "spaces or quotes), please\n",
                real);
        return false;
    }
    return true;
}

static bool refuse_existing(const struct reg *r)
{
    const char *paths[] = {r->env_path, r->pem_path};
    for (int i = 0; i < 2 && !r->force; i++) {
        if (access(paths[i], F_OK) == 0) {
            fprintf(stderr,
                    "register: %s exists; not overwriting it (use --force to replace it, or "
                    "--env-file for another file)\n",
                    paths[i]);
            return true;
        }
    }
    return false;
}

/* Writes text to path with mode 0600 through a temporary file: link() refuses an existing file,
 * rename() (with --force) replaces it at once, so no half-written file is ever in place. */
static bool write_private(const char *path, const char *text, bool force)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp); /* 0600 */
    if (fd < 0) {
        fprintf(stderr, "register: cannot create %s: %s\n", tmp, strerror(errno));
        return false;
    }
    size_t len = strlen(text), off = 0;
    bool ok = fchmod(fd, 0600) == 0;
    while (ok && off < len) {
        ssize_t n = write(fd, text + off, len - off);
        ok = n > 0;
        off += ok ? (size_t)n : 0;
    }
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok)
        ok = force ? rename(tmp, path) == 0 : link(tmp, path) == 0;
    if (!ok)
        fprintf(stderr, "register: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return ok;
}

static bool write_files(const struct reg *r, struct wk_app_credentials *c)
{
    const char *vals[] = {c->client_id, c->client_secret, c->webhook_secret};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        if (!env_safe(vals[i])) {
            fprintf(stderr, "register: GitHub sent a value with unexpected characters; "
                            "nothing written\n");
            return false;
        }
    }
    if (!c->webhook_secret[0]) {
        fprintf(stderr, "register: GitHub sent no webhook secret (is hook_attributes set in "
                        "app.yml?); nothing written\n");
        return false;
    }
    char why[200];
    sg_pkey *k = sg_pkey_load_pem(c->pem, why, sizeof why);
    if (!k) {
        fprintf(stderr, "register: GitHub's private key does not load (%s); nothing written\n",
                why);
        return false;
    }
    sg_pkey_free(k);
    struct sg_buf env;
    sg_buf_init(&env, 64 * 1024);
    /* the comment line carries GitHub's name and URL: no control character may end it early */
    for (char *p = c->name; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    sg_buf_printf(&env,
                  "# The GitHub App \"%s\" (%s), written by singularity-worker register.\n"
                  "# Secrets: keep this file and %s private (mode 0600).\n"
                  "APP_ID=%lld\nPRIVATE_KEY_PATH=%s\nWEBHOOK_SECRET=%s\n"
                  "GITHUB_CLIENT_ID=%s\nGITHUB_CLIENT_SECRET=%s\n",
                  c->name ? c->name : "", env_safe(c->html_url) ? c->html_url : "", PEM_NAME,
                  (long long)c->id, r->pem_path, c->webhook_secret, c->client_id, c->client_secret);
    if (strcmp(r->cfg.github_api_url, "https://api.github.com") != 0 &&
        env_safe(r->cfg.github_api_url))
        sg_buf_printf(&env, "GITHUB_API_URL=%s\n", r->cfg.github_api_url);
    bool ok = write_private(r->pem_path, c->pem, r->force) &&
              write_private(r->env_path, sg_buf_str(&env), r->force);
    if (env.data)
        memset(env.data, 0, env.len);
    sg_buf_free(&env);
    return ok;
}

/* The manifest as posted: app.yml with this listener as redirect_url and the public URL as the
 * App's homepage and webhook. */
static char *manifest_json(struct reg *r, const char *req_host)
{
    char url[1024];
    struct json_object *hook;
    if (req_host[0])
        snprintf(url, sizeof url, "http://%s/redirect", req_host);
    else
        snprintf(url, sizeof url, "http://%s%s%s:%d/redirect", strchr(r->host, ':') ? "[" : "",
                 r->host, strchr(r->host, ':') ? "]" : "", r->bound_port);
    json_object_object_add(r->manifest, "redirect_url", json_object_new_string(url));
    if (r->public_url) {
        size_t n = strlen(r->public_url);
        while (n && r->public_url[n - 1] == '/')
            n--;
        snprintf(url, sizeof url, "%.*s%s", (int)n, r->public_url, r->webhook_path);
        if (!json_object_object_get_ex(r->manifest, "hook_attributes", &hook) ||
            !json_object_is_type(hook, json_type_object)) {
            hook = json_object_new_object();
            json_object_object_add(r->manifest, "hook_attributes", hook);
        }
        json_object_object_add(hook, "url", json_object_new_string(url));
        json_object_object_add(r->manifest, "url",
                               json_object_new_string_len(r->public_url, (int)n));
    }
    const char *s = json_object_to_json_string_ext(r->manifest, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? strdup(s) : NULL;
}

static void page(struct sg_buf *b, const char *title)
{
    sg_buf_puts(b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    wk_reg_html_escape(b, title);
    sg_buf_puts(b, "</title><style>body{font:16px system-ui,sans-serif;max-width:40em;margin:3em "
                   "auto;padding:0 1em}code{background:#eee;padding:0 .2em}</style></head>"
                   "<body>\n<h1>");
    wk_reg_html_escape(b, title);
    sg_buf_puts(b, "</h1>\n");
}

static void send_page(int fd, int status, struct sg_buf *b)
{
    sg_buf_puts(b, "</body></html>\n");
    wk_reg_respond(fd, status, HTML, sg_buf_str(b), b->len);
}

static void serve_form(struct reg *r, int fd, const struct wk_reg_request *q)
{
    struct sg_buf b, action;
    sg_buf_init(&b, 256 * 1024);
    sg_buf_init(&action, 4096);
    char *json = manifest_json(r, q->host);
    if (r->org)
        sg_buf_printf(&action, "%s/organizations/%s/settings/apps/new?state=%s", r->github_url,
                      r->org, r->state);
    else
        sg_buf_printf(&action, "%s/settings/apps/new?state=%s", r->github_url, r->state);
    page(&b, "Register the Singularity GitHub App");
    sg_buf_puts(&b, "<p>GitHub will show the App with the permissions and events below, ask you "
                    "for its name and create it on ");
    wk_reg_html_escape(&b, r->org ? r->org : "your account");
    sg_buf_puts(&b, ". It then sends you back here, and the App's id, key and webhook secret are "
                    "written to <code>");
    wk_reg_html_escape(&b, r->env_path);
    sg_buf_puts(&b, "</code>.</p>\n<form action=\"");
    wk_reg_html_escape(&b, sg_buf_str(&action));
    sg_buf_puts(&b, "\" method=\"post\">\n<input type=\"hidden\" name=\"manifest\" value=\"");
    wk_reg_html_escape(&b, json);
    sg_buf_puts(&b, "\">\n<button type=\"submit\">Create the GitHub App on ");
    wk_reg_html_escape(&b, r->github_url);
    sg_buf_puts(&b, "</button>\n</form>\n<pre>");
    wk_reg_html_escape(&b, json);
    sg_buf_puts(&b, "</pre>\n");
    send_page(fd, 200, &b);
    sg_buf_free(&b);
    sg_buf_free(&action);
    free(json);
}

/* Refuses a redirect with a page and the same sentence on stderr; the listener keeps waiting. */
static void refuse(int fd, const char *why)
{
    struct sg_buf b;
    sg_buf_init(&b, 8192);
    fprintf(stderr, "register: refused: %s\n", why);
    page(&b, "Not registered");
    sg_buf_puts(&b, "<p>");
    wk_reg_html_escape(&b, why);
    sg_buf_puts(&b, "</p>\n<p><a href=\"/\">Start again</a></p>\n");
    send_page(fd, 400, &b);
    sg_buf_free(&b);
}

enum outcome { WAITING, DONE, FAILED };

/* GitHub's redirect: DONE when the App was created and written, FAILED when it was created but
 * could not be written (the command stops), WAITING after a refusal. */
static enum outcome handle_redirect(struct reg *r, int fd, const struct wk_reg_request *q)
{
    char code[256], state[128], err[512], why[700];
    if (!wk_reg_query_param(q->query, "state", state, sizeof state) ||
        strlen(state) != strlen(r->state) || !sg_ct_equal(state, r->state, strlen(state))) {
        refuse(fd, "the state in this link is not the one this register command sent to GitHub "
                   "(a stale or forged link); open the form again and submit it");
        return WAITING;
    }
    if (!wk_reg_query_param(q->query, "code", code, sizeof code)) {
        refuse(fd, "GitHub's redirect carries no code (was the App creation cancelled?)");
        return WAITING;
    }
    struct wk_app_credentials c;
    enum sg_err e = wk_ghapp_convert(r->cfg.github_api_url, code, &c, err, sizeof err);
    if (e == SG_ERR_NOT_FOUND || e == SG_ERR_INVALID) {
        snprintf(why, sizeof why,
                 "GitHub did not accept the code (%s): a code works once and expires after an "
                 "hour; open the form again and submit it",
                 err);
        refuse(fd, why);
        return WAITING;
    }
    if (e != SG_OK) {
        snprintf(why, sizeof why, "exchanging the code with GitHub failed: %s", err);
        refuse(fd, why);
        return WAITING;
    }
    if (!write_files(r, &c)) {
        refuse(fd, "the App was created on GitHub but its credentials could not be written (see "
                   "the terminal); delete the App in its settings and run register again");
        wk_app_credentials_clear(&c);
        return FAILED;
    }
    struct sg_buf b, link;
    sg_buf_init(&b, 16384);
    sg_buf_init(&link, 2048);
    sg_buf_printf(&link, "%s/installations/new", c.html_url);
    page(&b, "App registered");
    sg_buf_puts(&b, "<p>Written: <code>");
    wk_reg_html_escape(&b, r->env_path);
    sg_buf_puts(&b, "</code> and <code>");
    wk_reg_html_escape(&b, r->pem_path);
    sg_buf_puts(&b, "</code>.</p>\n<p>Next: <a href=\"");
    wk_reg_html_escape(&b, sg_buf_str(&link));
    sg_buf_puts(&b, "\">install the App on a repository</a>, then run "
                    "<code>singularity-worker doctor</code>.</p>\n");
    send_page(fd, 200, &b);
    printf("register: App %lld (%s) created; wrote %s and %s\n", (long long)c.id,
           c.slug ? c.slug : "", r->env_path, r->pem_path);
    printf("register: install it on a repository: %s\n", sg_buf_str(&link));
    fflush(stdout);
    sg_buf_free(&b);
    sg_buf_free(&link);
    wk_app_credentials_clear(&c);
    return DONE;
}

static bool is_loopback(const char *host, size_t len)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "::1", "[::1]"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && !strncasecmp(host, names[i], len))
            return true;
    return false;
}

/* A listener on a loopback address answers only to loopback Host names: a web page elsewhere
 * cannot read the form (and its state) by pointing its own name at 127.0.0.1 (DNS rebinding). */
static bool host_allowed(const struct reg *r, const char *host)
{
    if (!is_loopback(r->host, strlen(r->host)) || !host[0])
        return true;
    const char *colon = strrchr(host, ':'), *bracket = strrchr(host, ']');
    size_t len = colon && (!bracket || colon > bracket) ? (size_t)(colon - host) : strlen(host);
    return is_loopback(host, len);
}

/* GitHub Enterprise Server: with GITHUB_URL unset and the API at https://HOST/api/v3 (or GHE_HOST),
 * the web pages are at https://HOST, and posting the manifest to github.com instead would create
 * the App on the wrong GitHub. */
static void web_from_api(struct reg *r)
{
    const char *set = getenv("GITHUB_URL"), *api = r->cfg.github_api_url;
    size_t n = strlen(api), sl = strlen("/api/v3");
    if ((set && set[0]) || n <= sl || strcmp(api + n - sl, "/api/v3") != 0)
        return;
    char *web = strndup(api, n - sl);
    if (!web)
        return;
    free(r->github_url);
    r->github_url = web;
}

static int parse_args(struct reg *r, int argc, char **argv)
{
    r->listen = "127.0.0.1:3000";
    r->env_file = ".env";
    r->timeout_s = 3600;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--force")) {
            r->force = true;
            continue;
        }
        if (!v)
            return 2;
        i++;
        if (!strcmp(a, "--org") && valid_login(v))
            r->org = v;
        else if (!strcmp(a, "--public-url") &&
                 (!strncmp(v, "https://", 8) || !strncmp(v, "http://", 7)) && env_safe(v))
            r->public_url = v;
        else if (!strcmp(a, "--listen"))
            r->listen = v;
        else if (!strcmp(a, "--env-file") && v[0])
            r->env_file = v;
        else if (!strcmp(a, "--app-yml"))
            r->app_yml = v;
        else if (!strcmp(a, "--timeout") && sg_parse_i64(v, 1, 86400, &r->timeout_s))
            continue;
        else
            return 2;
    }
    return split_listen(r->listen, r->host, sizeof r->host, &r->port) ? 0 : 2;
}

int wk_cmd_register(int argc, char **argv)
{
    struct reg r;
    memset(&r, 0, sizeof r);
    struct sg_config_var vars[] = {
        {"GITHUB_URL", SG_CFG_STR, "https://github.com", false, 0, 0, &r.github_url,
         "GitHub's web address (GitHub Enterprise Server: https://HOST)"},
        {"WEBHOOK_PATH", SG_CFG_STR, "/webhooks/github", false, 0, 0, &r.webhook_path,
         "path of the ingress's webhook endpoint"},
    };
    const size_t nvars = sizeof vars / sizeof vars[0];
    char err[512];
    int rc = parse_args(&r, argc, argv), fd = -1;
    if (rc) {
        usage(stderr);
        return rc;
    }
    rc = 2;
    if (wk_config_load(&r.cfg, false, err, sizeof err) != SG_OK ||
        sg_config_load(vars, nvars, NULL, err, sizeof err) != SG_OK) {
        fprintf(stderr, "singularity-worker: %s\n", err);
        goto out;
    }
    web_from_api(&r);
    size_t gl = strlen(r.github_url);
    while (gl && r.github_url[gl - 1] == '/')
        r.github_url[--gl] = '\0';
    if ((strncmp(r.github_url, "https://", 8) && strncmp(r.github_url, "http://", 7)) ||
        r.webhook_path[0] != '/') {
        fprintf(stderr, "singularity-worker: %s\n",
                r.webhook_path[0] != '/' ? "WEBHOOK_PATH: expected a path starting with /"
                                         : "GITHUB_URL: expected an http(s) URL");
        goto out;
    }
    const char *src;
    if (!(r.manifest = wk_manifest_load(r.app_yml, &src, err, sizeof err))) {
        fprintf(stderr, "register: %s\n", err);
        goto out;
    }
    rc = 1;
    if (!resolve_paths(&r) || refuse_existing(&r) || sg_random_hex(r.state, 16) != SG_OK)
        goto out;
    if ((fd = wk_reg_listen(r.host, r.port, &r.bound_port, err, sizeof err)) < 0) {
        fprintf(stderr, "register: %s\n", err);
        goto out;
    }
    if (!r.public_url)
        fprintf(stderr, "register: no --public-url: the App's webhook URL stays app.yml's; set "
                        "it in the App's settings once the ingress is reachable\n");
    printf("register: open http://%s%s%s:%d/ in your browser to create the App on %s (manifest "
           "from %s)\n",
           strchr(r.host, ':') ? "[" : "", r.host, strchr(r.host, ':') ? "]" : "", r.bound_port,
           r.org ? r.org : "your GitHub account", src);
    fflush(stdout);
    int64_t deadline = (sg_mono_ms() / 1000) + r.timeout_s;
    while ((sg_mono_ms() / 1000) < deadline) {
        struct wk_reg_request q;
        int c = wk_reg_accept(fd, 1000, 10000, &q);
        if (c < 0)
            continue;
        if (!host_allowed(&r, q.host)) {
            static const char m[] = "this page answers only to the address register printed\n";
            wk_reg_respond(c, 400, "text/plain; charset=utf-8", m, sizeof m - 1);
        } else if (strcmp(q.method, "GET")) {
            static const char m[] = "only GET is served here\n";
            wk_reg_respond(c, 405, "text/plain; charset=utf-8", m, sizeof m - 1);
        } else if (!strcmp(q.path, "/")) {
            serve_form(&r, c, &q);
        } else if (!strcmp(q.path, "/redirect")) {
            enum outcome o = handle_redirect(&r, c, &q);
            if (o != WAITING) {
                rc = o == DONE ? 0 : 1;
                goto out;
            }
        } else {
            static const char nf[] = "not found\n";
            wk_reg_respond(c, 404, "text/plain; charset=utf-8", nf, sizeof nf - 1);
        }
    }
    fprintf(stderr, "register: no App was created within %lld s; run register again\n",
            (long long)r.timeout_s);
out:
    if (fd >= 0)
        close(fd);
    json_object_put(r.manifest);
    sg_config_free(vars, nvars);
    wk_config_free(&r.cfg);
    return rc;
}
