/* Why: the webhook checks and DESIGN.md's event-to-job table in one pure module; see
 * ingress_webhook.h. Nothing unauthenticated is parsed: the body is only hashed until the
 * signature has been verified. */
#include "ingress_webhook.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sg_buf.h"

void ingress_webhook_result_init(struct ingress_webhook_result *r, size_t max_body)
{
    memset(r, 0, offsetof(struct ingress_webhook_result, fields));
    sg_buf_init(&r->job, 64 * 1024);
    sg_buf_init(&r->form, max_body ? max_body : 1);
    r->action = NULL;
    r->installation = 0;
    r->repo = NULL;
    r->signature[0] = '\0';
}

void ingress_webhook_result_free(struct ingress_webhook_result *r)
{
    if (!r)
        return;
    sg_buf_free(&r->job);
    sg_buf_free(&r->form);
}

static bool delivery_ok(struct ingress_str d)
{
    if (!d.p || d.len == 0 || d.len > INGRESS_DELIVERY_MAX)
        return false;
    for (size_t i = 0; i < d.len; i++) {
        unsigned char c = (unsigned char)d.p[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static bool event_ok(struct ingress_str e)
{
    if (!e.p || e.len == 0 || e.len > INGRESS_EVENT_MAX)
        return false;
    for (size_t i = 0; i < e.len; i++) {
        unsigned char c = (unsigned char)e.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static const char *const KNOWN_EVENTS[] = {"push",         "pull_request",
                                           "check_suite",  "check_run",
                                           "installation", "installation_repositories",
                                           "ping",         NULL};

const char *ingress_event_label(struct ingress_str event)
{
    if (!event.p)
        return "none";
    for (size_t i = 0; KNOWN_EVENTS[i]; i++)
        if (ingress_str_eq(event, KNOWN_EVENTS[i]))
            return KNOWN_EVENTS[i];
    return "other";
}

/* Media type of a Content-Type value, without parameters, compared case-insensitively. */
static bool media_type_is(struct ingress_str ct, const char *type)
{
    if (!ct.p)
        return false;
    size_t n = 0;
    while (n < ct.len && ct.p[n] != ';')
        n++;
    while (n > 0 && (ct.p[n - 1] == ' ' || ct.p[n - 1] == '\t'))
        n--;
    struct ingress_str t = {ct.p, n};
    return ingress_str_ieq(t, type);
}

/* Decodes one urlencoded component (+ is space) into dst (room for len bytes); returns the
 * decoded length or -1 on a bad % escape. */
static long url_decode_raw(const char *s, size_t len, char *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (len - i < 3)
                return -1;
            int h = sg_hex_value((unsigned char)s[i + 1]),
                l = sg_hex_value((unsigned char)s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h << 4 | l);
            i += 2;
        }
        dst[n++] = c;
    }
    return (long)n;
}

enum sg_err ingress_form_payload(const char *body, size_t len, struct sg_buf *out)
{
    const char *p = body, *end = body + len;
    char key[24];
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(fend - p));
        const char *kend = eq ? eq : fend;
        /* The key is decoded too ("pay%6Coad" is "payload"); only short keys can match. */
        size_t klen = (size_t)(kend - p);
        if (klen > 0 && klen <= sizeof key) {
            long k = url_decode_raw(p, klen, key);
            if (k < 0)
                return SG_ERR_PARSE;
            if (k == 7 && memcmp(key, "payload", 7) == 0) {
                sg_buf_reset(out);
                if (!eq)
                    return SG_OK;
                size_t vlen = (size_t)(fend - eq - 1);
                enum sg_err e = sg_buf_reserve(out, vlen);
                if (e)
                    return e;
                long v = url_decode_raw(eq + 1, vlen, out->data);
                if (v < 0)
                    return SG_ERR_PARSE;
                out->len = (size_t)v;
                out->data[out->len] = '\0';
                return SG_OK;
            }
        }
        p = amp ? amp + 1 : end;
    }
    return SG_ERR_PARSE;
}

static const char *field_str(struct ingress_json_fields *f, enum ingress_json_field_id id)
{
    return f->v[id].type == IJT_STRING ? f->v[id].str : NULL;
}

static bool field_true(struct ingress_json_fields *f, enum ingress_json_field_id id)
{
    return f->v[id].type == IJT_BOOL && f->v[id].b;
}

/* A commit sha (40 hex digits) in lower case, else NULL. GitHub sends lower case, but a sha is a
 * hex number: one commit must be one job sha (the worker's reuse of a stored result, the check
 * run's head_sha) whichever case a payload used. */
static const char *field_sha(struct ingress_json_fields *f, enum ingress_json_field_id id)
{
    if (f->v[id].type != IJT_STRING || !sg_sha_valid(f->v[id].str))
        return NULL;
    for (char *c = f->v[id].str; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return f->v[id].str;
}

/* A positive integer id, else 0 (absent, null, not an integer). */
static int64_t field_id(struct ingress_json_fields *f, enum ingress_json_field_id id)
{
    const struct ingress_json_value *v = &f->v[id];
    return v->type == IJT_NUMBER && v->is_int && v->i > 0 ? v->i : 0;
}

static bool in_list(const char *s, const char *const *list)
{
    if (!s)
        return false;
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* Installation and repository for an analyze job; false when either is missing. */
static bool set_repo(struct ingress_json_fields *f, struct sg_job *job)
{
    job->installation = field_id(f, IJF_INSTALLATION_ID);
    if (!job->installation || f->v[IJF_REPOSITORY].type != IJT_OBJECT)
        return false;
    job->repo_id = field_id(f, IJF_REPO_ID);
    job->repo_full_name = (char *)field_str(f, IJF_REPO_FULL_NAME);
    return job->repo_id && job->repo_full_name && job->repo_full_name[0];
}

enum ingress_route ingress_route_event(const char *event, const char *delivery,
                                       struct ingress_json_fields *f, int64_t received_at,
                                       struct sg_job *job, char *refbuf, size_t refbuf_len)
{
    static const char *const PR_ACTIONS[] = {"opened", "reopened", "synchronize",
                                             "ready_for_review", NULL};
    static const char *const CS_ACTIONS[] = {"requested", "rerequested", NULL};
    static const char *const CR_ACTIONS[] = {"rerequested", NULL};
    static const char *const INST_ACTIONS[] = {
        "created", "deleted", "suspend", "unsuspend", "new_permissions_accepted", NULL};
    static const char *const INSTREPO_ACTIONS[] = {"added", "removed", NULL};

    memset(job, 0, sizeof *job);
    job->v = SG_JOB_VERSION;
    job->delivery = (char *)delivery;
    job->event = (char *)event;
    job->action = (char *)field_str(f, IJF_ACTION);
    job->received_at = received_at;
    job->attempt = 0;
    const char *action = job->action;
    int n;

    if (strcmp(event, "ping") == 0)
        return INGRESS_ROUTE_PING;

    if (strcmp(event, "push") == 0) {
        const char *after = field_sha(f, IJF_AFTER);
        const char *before = field_sha(f, IJF_BEFORE);
        const char *ref = field_str(f, IJF_REF);
        if (field_true(f, IJF_DELETED) || !after || sg_sha_is_zero(after) || !ref || !ref[0] ||
            strncmp(ref, "refs/tags/", 10) == 0)
            return INGRESS_ROUTE_IGNORED;
        if (!set_repo(f, job))
            return INGRESS_ROUTE_IGNORED;
        job->kind = SG_JOB_ANALYZE;
        job->sha = (char *)after;
        job->ref = (char *)ref;
        job->base_sha = before && !sg_sha_is_zero(before) ? (char *)before : NULL;
        return INGRESS_ROUTE_JOB;
    }
    if (strcmp(event, "pull_request") == 0) {
        if (!in_list(action, PR_ACTIONS) || !set_repo(f, job))
            return INGRESS_ROUTE_IGNORED;
        const char *head = field_sha(f, IJF_PR_HEAD_SHA);
        const char *base = field_sha(f, IJF_PR_BASE_SHA);
        int64_t number = field_id(f, IJF_NUMBER);
        if (!head || !number)
            return INGRESS_ROUTE_IGNORED;
        n = snprintf(refbuf, refbuf_len, "refs/pull/%lld/head", (long long)number);
        if (n < 0 || (size_t)n >= refbuf_len)
            return INGRESS_ROUTE_IGNORED;
        job->kind = SG_JOB_ANALYZE;
        job->sha = (char *)head;
        job->base_sha = (char *)base;
        job->pull = number;
        job->ref = refbuf;
        return INGRESS_ROUTE_JOB;
    }
    bool is_cs = strcmp(event, "check_suite") == 0;
    bool is_cr = !is_cs && strcmp(event, "check_run") == 0;
    if (is_cs || is_cr) {
        if (!in_list(action, is_cs ? CS_ACTIONS : CR_ACTIONS) || !set_repo(f, job))
            return INGRESS_ROUTE_IGNORED;
        const char *sha = field_sha(f, is_cs ? IJF_CS_HEAD_SHA : IJF_CR_HEAD_SHA);
        const char *branch = field_str(f, is_cs ? IJF_CS_HEAD_BRANCH : IJF_CR_CS_HEAD_BRANCH);
        if (!sha)
            return INGRESS_ROUTE_IGNORED;
        job->kind = SG_JOB_ANALYZE;
        job->sha = (char *)sha;
        if (branch && branch[0]) {
            n = snprintf(refbuf, refbuf_len, "refs/heads/%s", branch);
            if (n < 0 || (size_t)n >= refbuf_len)
                return INGRESS_ROUTE_IGNORED;
            job->ref = refbuf;
        }
        job->pull = field_id(f, is_cs ? IJF_CS_PR0_NUMBER : IJF_CR_PR0_NUMBER);
        job->force = is_cr || strcmp(action, "rerequested") == 0;
        return INGRESS_ROUTE_JOB;
    }
    bool is_inst = strcmp(event, "installation") == 0;
    if ((is_inst && in_list(action, INST_ACTIONS)) ||
        (strcmp(event, "installation_repositories") == 0 && in_list(action, INSTREPO_ACTIONS))) {
        job->installation = field_id(f, IJF_INSTALLATION_ID);
        if (!job->installation)
            return INGRESS_ROUTE_IGNORED;
        job->kind = SG_JOB_SYNC;
        return INGRESS_ROUTE_JOB;
    }
    return INGRESS_ROUTE_IGNORED;
}

void ingress_webhook_process(const struct ingress_webhook_in *in, struct ingress_webhook_result *r)
{
    char event[INGRESS_EVENT_MAX + 1];
    char delivery[INGRESS_DELIVERY_MAX + 1];
    char refbuf[INGRESS_JSON_MAX_STR + 32];
    const char *json = in->body;
    size_t json_len = in->body_len;
    struct sg_job job;

    r->status = 0;
    r->error = NULL;
    r->answer = NULL;
    r->signature_failed = false;
    r->retry_after = 0;
    r->route = INGRESS_ROUTE_IGNORED;
    r->action = NULL;
    r->installation = 0;
    r->repo = NULL;
    r->signature[0] = '\0';
    sg_buf_reset(&r->job);

    if (!in->event.p || !in->delivery.p) {
        r->status = 400;
        r->error = !in->event.p ? "missing X-GitHub-Event" : "missing X-GitHub-Delivery";
        return;
    }
    if (!event_ok(in->event) || !delivery_ok(in->delivery)) {
        r->status = 400;
        r->error = !event_ok(in->event) ? "invalid X-GitHub-Event" : "invalid X-GitHub-Delivery";
        return;
    }
    if (!in->signature.p || !ingress_hmac_verify(in->hmac, in->body, in->body_len, in->signature.p,
                                                 in->signature.len)) {
        /* The limiter only shields us from guessing: a correctly signed delivery goes through even
         * from a blocked address (behind a proxy GitHub shares it with everyone); a blocked
         * client's bad signature gets 429 and is not counted again. */
        if (in->blocked_s > 0) {
            r->status = 429;
            r->error = "too many failed signatures from this address";
            r->retry_after = in->blocked_s;
            return;
        }
        r->status = 401;
        r->error = in->signature.p ? "signature mismatch" : "missing X-Hub-Signature-256";
        r->signature_failed = true;
        return;
    }
    /* Verified, so the header is "sha256=" and 64 hex digits; either case is accepted, one case
     * is remembered, or a replay in upper case would pass as a new body. */
    for (size_t i = 0; i < INGRESS_HMAC_HEX_LEN; i++)
        r->signature[i] = (char)tolower((unsigned char)in->signature.p[7 + i]);
    r->signature[INGRESS_HMAC_HEX_LEN] = '\0';
    if (media_type_is(in->content_type, "application/x-www-form-urlencoded")) {
        if (ingress_form_payload(in->body, in->body_len, &r->form) != SG_OK) {
            r->status = 400;
            r->error = "form body without a valid payload field";
            return;
        }
        json = sg_buf_str(&r->form);
        json_len = r->form.len;
    } else if (!media_type_is(in->content_type, "application/json")) {
        r->status = 415;
        r->error = "Content-Type must be application/json or application/x-www-form-urlencoded";
        return;
    }
    enum ingress_json_result jr = ingress_json_scan(json, json_len, &r->fields, NULL);
    if (jr != INGRESS_JSON_OK) {
        r->status = 400;
        r->error = ingress_json_result_str(jr);
        return;
    }
    memcpy(event, in->event.p, in->event.len);
    event[in->event.len] = '\0';
    memcpy(delivery, in->delivery.p, in->delivery.len);
    delivery[in->delivery.len] = '\0';

    r->route = ingress_route_event(event, delivery, &r->fields, in->received_at, &job, refbuf,
                                   sizeof refbuf);
    r->action = field_str(&r->fields, IJF_ACTION);
    r->installation = field_id(&r->fields, IJF_INSTALLATION_ID);
    r->repo = field_str(&r->fields, IJF_REPO_FULL_NAME);
    switch (r->route) {
    case INGRESS_ROUTE_PING:
        r->status = 200;
        r->answer = "pong";
        return;
    case INGRESS_ROUTE_IGNORED:
        r->status = 200;
        r->answer = "ignored";
        return;
    case INGRESS_ROUTE_JOB:
        if (sg_job_encode(&job, &r->job) != SG_OK) {
            r->status = 500;
            r->error = "job too large";
        }
        return;
    }
}
