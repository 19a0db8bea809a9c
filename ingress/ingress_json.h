/* Why: a json-c DOM of a 7 KB push costs ~36 us, which alone would cap the ingress near 25k
 * deliveries/s per core. Routing needs a dozen fields, so the request path runs one strict
 * validating pass (RFC 8259: grammar, escapes, UTF-8) that pulls out only those paths, with no
 * allocation. Malformed input is still rejected exactly (fuzzed against json-c as an oracle).
 *
 * Ownership: struct ingress_json_fields holds its captured strings inline; nothing to free. */
#ifndef INGRESS_JSON_H
#define INGRESS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The payload paths routing reads (DESIGN.md section 2's table). */
enum ingress_json_field_id {
    IJF_ACTION = 0,        /* action */
    IJF_INSTALLATION_ID,   /* installation.id */
    IJF_REPOSITORY,        /* repository (presence/type only) */
    IJF_REPO_ID,           /* repository.id */
    IJF_REPO_FULL_NAME,    /* repository.full_name */
    IJF_REF,               /* ref */
    IJF_AFTER,             /* after */
    IJF_BEFORE,            /* before */
    IJF_DELETED,           /* deleted */
    IJF_NUMBER,            /* number */
    IJF_PR_HEAD_SHA,       /* pull_request.head.sha */
    IJF_PR_BASE_SHA,       /* pull_request.base.sha */
    IJF_CS_HEAD_SHA,       /* check_suite.head_sha */
    IJF_CS_HEAD_BRANCH,    /* check_suite.head_branch */
    IJF_CS_PR0_NUMBER,     /* check_suite.pull_requests[0].number */
    IJF_CR_HEAD_SHA,       /* check_run.head_sha */
    IJF_CR_CS_HEAD_BRANCH, /* check_run.check_suite.head_branch */
    IJF_CR_PR0_NUMBER,     /* check_run.pull_requests[0].number */
    IJF__COUNT
};

enum ingress_json_type {
    IJT_ABSENT = 0,
    IJT_NULL,
    IJT_BOOL,
    IJT_NUMBER, /* any number; is_int tells whether i holds it exactly */
    IJT_STRING,
    IJT_OBJECT,
    IJT_ARRAY,
    IJT_TOO_LONG /* a string longer than INGRESS_JSON_MAX_STR: treated as unusable */
};

#define INGRESS_JSON_MAX_STR 512
/* Nesting limit (RFC 8259 section 9 allows one). Far above anything GitHub sends, and deep enough
 * that valid payloads with odd extra fields are not refused; bounded so recursion stays small. */
#define INGRESS_JSON_MAX_DEPTH 1000

struct ingress_json_value {
    enum ingress_json_type type;
    bool b;
    bool is_int;
    int64_t i;
    size_t len;                         /* string length (decoded UTF-8) */
    char str[INGRESS_JSON_MAX_STR + 1]; /* NUL-terminated decoded string */
};

struct ingress_json_fields {
    struct ingress_json_value v[IJF__COUNT];
};

/* The scanner must read a payload as json-c (and so the rest of the system) would, or refuse it:
 * where json-c's reading of a routed field would differ from a plain one, the payload is refused
 * instead of routed. */
enum ingress_json_result {
    INGRESS_JSON_OK = 0,
    INGRESS_JSON_INVALID, /* not RFC 8259 JSON */
    INGRESS_JSON_DEPTH,   /* nested deeper than INGRESS_JSON_MAX_DEPTH (an implementation limit) */
    INGRESS_JSON_NUL,     /* \u0000 in a routed string, or in a key of an object on a routed
                           * path: C strings (json-c's keys, our fields) would end there */
    INGRESS_JSON_DUPLICATE, /* a routed key twice in one object: RFC 8259 leaves the meaning open
                             * (json-c takes the last, others the first) */
    INGRESS_JSON_RANGE,     /* a routed integer outside int64: json-c would clamp it */
};

/* A short reason for a result, for the 400 answer. */
const char *ingress_json_result_str(enum ingress_json_result r);

/* Validates data[0..len) as one JSON text and fills out with the routing fields. A payload whose
 * routed fields json-c would read differently is refused (NUL, DUPLICATE, RANGE above). On error,
 * *err_off (if non-NULL) gets the offset of the first bad byte. */
enum ingress_json_result ingress_json_scan(const char *data, size_t len,
                                           struct ingress_json_fields *out, size_t *err_off);

/* Dotted path of a field ("check_suite.pull_requests[0].number"), for tests and logs. */
const char *ingress_json_field_path(enum ingress_json_field_id id);

#endif
