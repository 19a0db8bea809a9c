/* Why: see app_manifest.h. libyaml's document loader reads app.yml (the same library the analysis
 * engine uses for .singularity.yml); json-c reads GitHub's answers. */
#include "wk_app_manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <yaml.h>

#include "sg_config.h"

#define MAX_DEPTH 16

static struct json_object *node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    if (!n || depth > MAX_DEPTH)
        return NULL;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        int64_t v;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            if (!strcmp(s, "true") || !strcmp(s, "false"))
                return json_object_new_boolean(s[0] == 't');
            if (!strcmp(s, "null") || !strcmp(s, "~") || len == 0)
                return json_object_new_null();
            if (sg_parse_i64(s, INT64_MIN, INT64_MAX, &v))
                return json_object_new_int64(v);
        }
        return json_object_new_string_len(s, (int)len);
    }
    struct json_object *out = NULL;
    if (n->type == YAML_SEQUENCE_NODE) {
        out = json_object_new_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             out && it < n->data.sequence.items.top; it++) {
            struct json_object *e = node_json(doc, yaml_document_get_node(doc, *it), depth + 1);
            if (!e || json_object_array_add(out, e) != 0) {
                json_object_put(e);
                json_object_put(out);
                return NULL;
            }
        }
        return out;
    }
    if (n->type != YAML_MAPPING_NODE)
        return NULL;
    out = json_object_new_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; out && p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) {
            json_object_put(out);
            return NULL;
        }
        struct json_object *v = node_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
        if (!v) {
            json_object_put(out);
            return NULL;
        }
        json_object_object_add(out, (const char *)k->data.scalar.value, v);
    }
    return out;
}

struct json_object *wk_manifest_from_yaml(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct json_object *out = NULL;
    if (len > WK_MANIFEST_MAX_BYTES) {
        snprintf(err, errlen, "larger than %d bytes", WK_MANIFEST_MAX_BYTES);
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "not YAML: %s at line %lu",
                 parser.problem ? parser.problem : "syntax error",
                 (unsigned long)parser.problem_mark.line + 1);
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        snprintf(err, errlen, "expected a mapping at the top");
    else if (!(out = node_json(&doc, root, 0)))
        snprintf(err, errlen, "unsupported structure (keys must be scalars, at most %d levels)",
                 MAX_DEPTH);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return out;
}

static struct json_object *manifest_check(struct json_object *m, char *err, size_t errlen)
{
    struct json_object *perm, *events;
    if (!m)
        return NULL;
    if (!json_object_object_get_ex(m, "default_permissions", &perm) ||
        !json_object_is_type(perm, json_type_object)) {
        snprintf(err, errlen, "default_permissions: expected a mapping such as checks: write");
    } else if (!json_object_object_get_ex(m, "default_events", &events) ||
               !json_object_is_type(events, json_type_array)) {
        snprintf(err, errlen, "default_events: expected a list such as [push, pull_request]");
    } else {
        return m;
    }
    json_object_put(m);
    return NULL;
}

struct json_object *wk_manifest_load(const char *path, const char **source, char *err,
                                     size_t errlen)
{
    const char *used = path ? path : "app.yml";
    FILE *f = fopen(used, "rb");
    if (!f && !path && errno == ENOENT) {
        if (source)
            *source = "built-in app.yml";
        return manifest_check(
            wk_manifest_from_yaml(wk_app_yml_embedded, wk_app_yml_embedded_len, err, errlen), err,
            errlen);
    }
    if (source)
        *source = used;
    if (!f) {
        snprintf(err, errlen, "%s: %s", used, strerror(errno));
        return NULL;
    }
    char *text = malloc(WK_MANIFEST_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, WK_MANIFEST_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char why[200] = "";
    struct json_object *m = wk_manifest_from_yaml(text, n, why, sizeof why);
    free(text);
    if (!m) {
        snprintf(err, errlen, "%s: %s", used, why);
        return NULL;
    }
    m = manifest_check(m, why, sizeof why);
    if (!m)
        snprintf(err, errlen, "%s: %s", used, why);
    return m;
}

/* GitHub's access levels in order; an unknown level ranks as none. */
static int level_rank(const char *s)
{
    static const char *const levels[] = {"none", "read", "write", "admin"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, levels[i]))
            return i;
    return 0;
}

/* Appends "kind name[: level]" to the list of gaps. */
static void gap(struct sg_buf *out, size_t *n, const char *kind, const char *name,
                const char *level)
{
    if ((*n)++)
        sg_buf_puts(out, "; ");
    sg_buf_printf(out, "%s %s%s%s", kind, name, level ? ": " : "", level ? level : "");
}

size_t wk_manifest_missing(struct json_object *want, struct json_object *app, struct sg_buf *out)
{
    struct json_object *wp = NULL, *we = NULL, *ap = NULL, *ae = NULL, *v;
    size_t n = 0;
    json_object_object_get_ex(want, "default_permissions", &wp);
    json_object_object_get_ex(want, "default_events", &we);
    json_object_object_get_ex(app, "permissions", &ap);
    json_object_object_get_ex(app, "events", &ae);
    if (json_object_is_type(wp, json_type_object)) {
        json_object_object_foreach(wp, name, level)
        {
            const char *have =
                json_object_object_get_ex(ap, name, &v) && json_object_is_type(v, json_type_string)
                    ? json_object_get_string(v)
                    : NULL;
            const char *need = json_object_get_string(level);
            if (level_rank(have) < level_rank(need))
                gap(out, &n, "permission", name, need);
            if (level_rank(have) < level_rank(need) && have)
                sg_buf_printf(out, " (the App has %s)", have);
        }
    }
    size_t ne = json_object_is_type(we, json_type_array) ? json_object_array_length(we) : 0;
    size_t na = json_object_is_type(ae, json_type_array) ? json_object_array_length(ae) : 0;
    for (size_t i = 0; i < ne; i++) {
        const char *ev = json_object_get_string(json_object_array_get_idx(we, i));
        bool found = false;
        for (size_t j = 0; ev && j < na && !found; j++) {
            const char *have = json_object_get_string(json_object_array_get_idx(ae, j));
            found = have && !strcmp(have, ev);
        }
        if (ev && !found)
            gap(out, &n, "event", ev, NULL);
    }
    return n;
}

/* A copy of o[key] when it is a string; NULL otherwise. */
static char *str_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return strdup(json_object_get_string(v));
}

enum sg_err wk_app_credentials_parse(const char *body, size_t len, struct wk_app_credentials *out,
                                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = tok ? json_tokener_parse_ex(tok, body, (int)len) : NULL, *v, *owner;
    enum sg_err e = SG_ERR_PARSE;
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(err, errlen, "GitHub's answer is not a JSON object");
        goto out;
    }
    if (!json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_int) ||
        (out->id = json_object_get_int64(v)) <= 0) {
        snprintf(err, errlen, "GitHub's answer has no App id");
        goto out;
    }
    out->slug = str_field(o, "slug");
    out->name = str_field(o, "name");
    out->html_url = str_field(o, "html_url");
    out->client_id = str_field(o, "client_id");
    out->client_secret = str_field(o, "client_secret");
    out->webhook_secret = str_field(o, "webhook_secret");
    out->pem = str_field(o, "pem");
    if (json_object_object_get_ex(o, "owner", &owner))
        out->owner_login = str_field(owner, "login");
    if (!out->webhook_secret)
        out->webhook_secret = strdup("");
    const char *missing = !out->html_url        ? "html_url"
                          : !out->client_id     ? "client_id"
                          : !out->client_secret ? "client_secret"
                          : !out->pem           ? "pem"
                                                : NULL;
    if (missing) {
        snprintf(err, errlen, "GitHub's answer has no %s", missing);
        goto out;
    }
    e = out->webhook_secret ? SG_OK : SG_ERR_NOMEM;
out:
    json_object_put(o);
    json_tokener_free(tok);
    if (e != SG_OK)
        wk_app_credentials_clear(out);
    return e;
}

static void wipe_free(char **s)
{
    if (*s)
        memset(*s, 0, strlen(*s));
    free(*s);
    *s = NULL;
}

void wk_app_credentials_clear(struct wk_app_credentials *c)
{
    free(c->slug);
    free(c->name);
    free(c->html_url);
    free(c->owner_login);
    free(c->client_id);
    wipe_free(&c->client_secret);
    wipe_free(&c->webhook_secret);
    wipe_free(&c->pem);
    memset(c, 0, sizeof *c);
}
