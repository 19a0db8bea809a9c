/* Why: see github_app.h. One blocking libcurl exchange per call, with the same headers, timeouts
 * and error classification (wk_github_classify) as the job client, and a capped answer. */
#include "wk_github_app.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "wk_github.h"
#include "sg_buf.h"
#include "sg_time.h"

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    return sg_buf_append(ud, data, size * n) == SG_OK ? size * n : 0;
}

/* One exchange: SG_OK when GitHub answered 2xx (body in *body), else the classified error with
 * GitHub's message in err. */
static enum sg_err request(const char *method, const char *url, const char *bearer,
                           struct sg_buf *body, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[4200] = "", cerr[CURL_ERROR_SIZE] = "";
    enum sg_err e = SG_ERR_NOMEM;
    if (!c)
        goto out;
    h = curl_slist_append(h, "Accept: application/vnd.github+json");
    h = curl_slist_append(h, "X-GitHub-Api-Version: 2022-11-28");
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, auth);
    }
    if (!h)
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "singularity/" SG_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        e = cc == CURLE_OPERATION_TIMEDOUT ? SG_ERR_TIMEOUT : SG_ERR_HTTP;
        snprintf(err, errlen, "%s %s: %s", method, url, cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    struct wk_github_error ge;
    e = wk_github_classify((int)status, NULL, NULL, NULL, sg_buf_str(body), sg_now_ms(), &ge);
    if (e != SG_OK)
        snprintf(err, errlen, "%s", ge.message);
out:
    if (e == SG_ERR_NOMEM)
        snprintf(err, errlen, "out of memory");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    memset(auth, 0, sizeof auth);
    return e;
}

enum sg_err wk_ghapp_convert(const char *api_url, const char *code, struct wk_app_credentials *out,
                             char *err, size_t errlen)
{
    size_t n = strlen(code);
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)code[i]) && code[i] != '-' && code[i] != '_')
            n = 0;
    if (n == 0 || n > 200) {
        snprintf(err, errlen, "the code GitHub sent back is not a plain token");
        return SG_ERR_INVALID;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/app-manifests/%s/conversions", api_url, code);
    struct sg_buf body;
    sg_buf_init(&body, WK_GHAPP_MAX_RESPONSE);
    enum sg_err e = request("POST", url, NULL, &body, err, errlen);
    if (e == SG_OK)
        e = wk_app_credentials_parse(body.data ? body.data : "", body.len, out, err, errlen);
    if (body.data)
        memset(body.data, 0, body.len); /* it held the private key */
    sg_buf_free(&body);
    return e;
}

enum sg_err wk_ghapp_get(const char *api_url, const char *app_id, sg_pkey *key, const char *path,
                         struct json_object **out, char *err, size_t errlen)
{
    struct sg_buf jwt, body;
    char url[1024];
    *out = NULL;
    sg_buf_init(&jwt, 4096);
    sg_buf_init(&body, WK_GHAPP_MAX_RESPONSE);
    snprintf(url, sizeof url, "%s%s", api_url, path);
    enum sg_err e = sg_jwt_app_token(key, app_id, sg_now_ms() / 1000, &jwt);
    if (e != SG_OK)
        snprintf(err, errlen, "cannot sign the App JWT: %s", sg_err_str(e));
    else
        e = request("GET", url, sg_buf_str(&jwt), &body, err, errlen);
    if (e == SG_OK && !(*out = json_tokener_parse(sg_buf_str(&body)))) {
        e = SG_ERR_PARSE;
        snprintf(err, errlen, "GET %s: the answer is not JSON", path);
    }
    sg_buf_free(&jwt);
    sg_buf_free(&body);
    return e;
}
