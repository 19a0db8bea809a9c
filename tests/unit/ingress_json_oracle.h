/* Why: the ingress routes on its own JSON scanner, the rest of the system reads JSON with json-c;
 * the two must agree on what a payload means. This is json-c's reading of the routed fields, for
 * the unit test's table and the fuzzer to compare with the scanner's: shared here so both check
 * the same rule.
 *
 * Ownership: oracle_parse() returns a json-c object the caller puts (json_object_put). */
#ifndef INGRESS_JSON_ORACLE_H
#define INGRESS_JSON_ORACLE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_json.h"

/* json-c's reading of data[0..len) as one complete JSON text, under the flags the scanner is held
 * to (strict, UTF-8 validated). *ok says whether json-c accepted it (JSON null is a NULL object);
 * *ok is false and NULL is returned when json-c refuses it or memory runs out. */
static inline struct json_object *oracle_parse(const char *data, size_t len, bool *ok)
{
    struct json_object *o = NULL;
    char *copy = malloc(len + 1);
    struct json_tokener *tok = json_tokener_new_ex(INGRESS_JSON_MAX_DEPTH + 2);
    *ok = false;
    if (!copy || !tok)
        goto out;
    memcpy(copy, data, len);
    copy[len] = '\0';
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* len + 1 passes the NUL, which tells json-c the input is complete (a bare number). */
    o = json_tokener_parse_ex(tok, copy, (int)len + 1);
    *ok = json_tokener_get_error(tok) == json_tokener_success;
    if (*ok)
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
            if (!strchr(" \t\r\n", copy[i]))
                *ok = false;
    if (!*ok) {
        json_object_put(o);
        o = NULL;
    }
out:
    json_tokener_free(tok);
    free(copy);
    return o;
}

/* json-c's value at a routed field's dotted path ("check_suite.pull_requests[0].number"); false
 * when the path does not lead anywhere (a member missing, a container of the wrong type). */
static inline bool oracle_get(struct json_object *root, enum ingress_json_field_id id,
                              struct json_object **out)
{
    const char *p = ingress_json_field_path(id);
    struct json_object *cur = root;
    char comp[64];
    while (*p) {
        size_t n = strcspn(p, ".[");
        if (n) {
            snprintf(comp, sizeof comp, "%.*s", (int)n, p);
            if (!json_object_is_type(cur, json_type_object) ||
                !json_object_object_get_ex(cur, comp, &cur))
                return false;
            p += n;
        } else if (*p == '[') { /* only [0] is routed */
            if (!json_object_is_type(cur, json_type_array) || json_object_array_length(cur) == 0)
                return false;
            cur = json_object_array_get_idx(cur, 0);
            p += 3;
        }
        if (*p == '.')
            p++;
    }
    *out = cur;
    return true;
}

/* NULL when every routed field the scanner captured in f is what json-c reads in root; else a
 * description of the first difference in why. */
static inline const char *oracle_disagrees(const struct ingress_json_fields *f,
                                           struct json_object *root, char *why, size_t whylen)
{
    for (int i = 0; i < IJF__COUNT; i++) {
        enum ingress_json_field_id id = (enum ingress_json_field_id)i;
        const struct ingress_json_value *v = &f->v[i];
        struct json_object *o = NULL;
        bool ok;
        if (!oracle_get(root, id, &o)) {
            ok = v->type == IJT_ABSENT;
        } else {
            switch (json_object_get_type(o)) {
            case json_type_null:
                ok = v->type == IJT_NULL;
                break;
            case json_type_boolean:
                ok = v->type == IJT_BOOL && v->b == (bool)json_object_get_boolean(o);
                break;
            case json_type_int: /* the scanner refuses routed integers json-c would clamp */
                ok = v->type == IJT_NUMBER && v->is_int && v->i == json_object_get_int64(o);
                break;
            case json_type_double:
                ok = v->type == IJT_NUMBER && !v->is_int;
                break;
            case json_type_string: {
                size_t n = (size_t)json_object_get_string_len(o);
                ok = n > INGRESS_JSON_MAX_STR
                         ? v->type == IJT_TOO_LONG
                         : v->type == IJT_STRING && v->len == n &&
                               memcmp(v->str, json_object_get_string(o), n) == 0;
                break;
            }
            case json_type_object:
                ok = v->type == IJT_OBJECT;
                break;
            case json_type_array:
                ok = v->type == IJT_ARRAY;
                break;
            default:
                ok = false;
                break;
            }
        }
        if (!ok) {
            snprintf(why, whylen, "%s: scanner type %d \"%s\", json-c %s",
                     ingress_json_field_path(id), (int)v->type, v->str,
                     o ? json_object_to_json_string(o) : "(absent)");
            return why;
        }
    }
    return NULL;
}

#endif
