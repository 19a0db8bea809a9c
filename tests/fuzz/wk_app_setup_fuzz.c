/* Why: `register` and `doctor` read outside input: the HTTP requests that reach register's
 * listener (anyone on that address can send bytes), GitHub's code-conversion answer, GET /app's
 * answer compared against the manifest, and app.yml itself. The first byte picks the parser; the
 * rest is its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wk_app_manifest.h"
#include "wk_register_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request(const char *s, size_t len)
{
    struct wk_reg_request q;
    if (wk_reg_parse_request(s, len, &q) != 1)
        return;
    char v[256];
    if (wk_reg_query_param(q.query, "code", v, sizeof v) && strlen(v) >= sizeof v)
        abort();
    wk_reg_query_param(q.query, "state", v, sizeof v);
    struct sg_buf b;
    sg_buf_init(&b, 1 << 20);
    wk_reg_html_escape(&b, q.path);
    wk_reg_html_escape(&b, q.host);
    if (strchr(sg_buf_str(&b), '<') || strchr(sg_buf_str(&b), '"'))
        abort();
    sg_buf_free(&b);
}

static void manifest(const char *s, size_t len)
{
    char err[256];
    struct json_object *m = wk_manifest_from_yaml(s, len, err, sizeof err);
    struct json_object *app = json_tokener_parse("{\"permissions\":{\"checks\":\"read\"},"
                                                 "\"events\":[\"push\"]}");
    if (m) {
        struct sg_buf b;
        sg_buf_init(&b, 1 << 20);
        wk_manifest_missing(m, app, &b);
        wk_manifest_missing(app, m, &b);
        sg_buf_free(&b);
    }
    json_object_put(m);
    json_object_put(app);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    char err[256];
    struct wk_app_credentials c;
    switch (data[0] % 3) {
    case 0:
        request(s, size - 1);
        break;
    case 1:
        if (wk_app_credentials_parse(s, size - 1, &c, err, sizeof err) == SG_OK)
            wk_app_credentials_clear(&c);
        break;
    default:
        manifest(s, size - 1);
    }
    free(s);
    return 0;
}
