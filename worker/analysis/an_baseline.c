/* Why: owns reading back a result printed earlier by `singularity-analyze --format json`, so a CI
 * job can keep the base branch's JSON and judge a pull request against it without analysing the
 * base again (DESIGN.md section 9). Only what classification needs is read: the score, the
 * findings (for the fixed list) and every fingerprint, which the JSON carries also beyond its
 * printed cap. The file is outside input: sizes are capped, json-c's depth is bounded, and every
 * field is checked for its type before use (fuzzed by tests/fuzz/an_fuzz.c). */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_internal.h"

#define AN_BASE_MAX_BYTES (512u * 1024 * 1024)

static enum sg_err an_bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum sg_err an_bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return SG_ERR_PARSE;
}

static enum an_severity an_sev_of(const char *s)
{
    return s && strcmp(s, "error") == 0     ? AN_ERROR
           : s && strcmp(s, "warning") == 0 ? AN_WARNING
                                            : AN_NOTICE;
}

static const char *an_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* The findings array: each needs rule, path and fingerprint; the rest has defaults. */
static enum sg_err an_read_findings(struct json_object *arr, struct an_result *r, char *err,
                                    size_t errlen)
{
    size_t n = json_object_array_length(arr);
    r->findings = calloc(n ? n : 1, sizeof *r->findings);
    if (!r->findings)
        return SG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct json_object *f = json_object_array_get_idx(arr, i), *v;
        if (!json_object_is_type(f, json_type_object))
            return an_bad(err, errlen, "findings[%zu] is not an object", i);
        const char *rule = an_str(f, "rule"), *path = an_str(f, "path"),
                   *msg = an_str(f, "message"), *fp = an_str(f, "fingerprint");
        int k = rule ? an_rule_index(rule) : -1;
        uint64_t x;
        if (k < 0 || !path || !fp || !an_fingerprint_parse(fp, &x))
            return an_bad(err, errlen,
                          "findings[%zu]: expected a known rule, a path and a fingerprint", i);
        struct an_finding *o = &r->findings[r->nfindings];
        o->rule = an_rule_ids[k];
        o->severity = an_sev_of(an_str(f, "severity"));
        o->fingerprint = x;
        o->line = json_object_object_get_ex(f, "line", &v) && json_object_is_type(v, json_type_int)
                      ? (uint32_t)json_object_get_int(v)
                      : 1;
        o->path = strdup(path);
        o->message = strdup(msg ? msg : "");
        r->nfindings++;
        if (!o->path || !o->message)
            return SG_ERR_NOMEM;
    }
    return SG_OK;
}

static enum sg_err an_read_fingerprints(struct json_object *arr, struct an_result *r, char *err,
                                        size_t errlen)
{
    size_t n = json_object_array_length(arr);
    r->fingerprints = malloc((n ? n : 1) * sizeof *r->fingerprints);
    r->fingerprint_severity = calloc(n ? n : 1, 1); /* a base's severities are not needed */
    if (!r->fingerprints || !r->fingerprint_severity)
        return SG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string) ||
            !an_fingerprint_parse(json_object_get_string(v), &r->fingerprints[i]))
            return an_bad(err, errlen, "fingerprints[%zu] is not 16 hex digits", i);
    }
    r->nfingerprints = n;
    /* printed ascending, but a hand-edited file must not break the merge */
    return an_fingerprints_sort(r->fingerprints, r->fingerprint_severity, n) ? SG_OK : SG_ERR_NOMEM;
}

enum sg_err an_result_from_json(const char *text, size_t len, struct an_result **out, char *err,
                                size_t errlen)
{
    enum sg_err e = SG_ERR_NOMEM;
    struct json_object *root = NULL, *v;
    struct json_tokener *tok = NULL;
    struct an_result *r = NULL;
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (len > AN_BASE_MAX_BYTES || len > (size_t)INT32_MAX) {
        e = an_bad(err, errlen, "larger than %u MiB", AN_BASE_MAX_BYTES >> 20);
        goto out;
    }
    if (!(tok = json_tokener_new_ex(16)))
        goto out;
    root = json_tokener_parse_ex(tok, text, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success) {
        e = an_bad(err, errlen, "not JSON: %s",
                   root ? "trailing data" : json_tokener_error_desc(json_tokener_get_error(tok)));
        goto out;
    }
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "score", &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
        e = an_bad(err, errlen, "not a result of singularity-analyze --format json");
        goto out;
    }
    if (!(r = calloc(1, sizeof *r)))
        goto out;
    r->score = json_object_get_double(v);
    if (!(r->score >= 0 && r->score <= 10)) {
        e = an_bad(err, errlen, "score is not from 0 to 10");
        goto out;
    }
    if (json_object_object_get_ex(root, "threshold", &v))
        r->threshold = json_object_get_double(v);
    if (!json_object_object_get_ex(root, "fingerprints", &v) ||
        !json_object_is_type(v, json_type_array)) {
        e = an_bad(err, errlen,
                   "has no \"fingerprints\" (printed by an older singularity-analyze?)");
        goto out;
    }
    if ((e = an_read_fingerprints(v, r, err, errlen)) != SG_OK)
        goto out;
    if (json_object_object_get_ex(root, "findings", &v) &&
        json_object_is_type(v, json_type_array) &&
        (e = an_read_findings(v, r, err, errlen)) != SG_OK)
        goto out;
    r->findings_total = r->nfingerprints;
    *out = r;
    r = NULL;
    e = SG_OK;
out:
    an_result_free(r);
    json_object_put(root);
    if (tok)
        json_tokener_free(tok);
    return e;
}
