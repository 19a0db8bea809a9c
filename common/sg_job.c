/* Why: the job line (DESIGN.md section 3) encoded without a DOM (ingress hot path) and decoded
 * with json-c (workers, where a job is rare and correctness matters more than microseconds). */
#include "sg_job.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sg_job_kind_str(enum sg_job_kind kind)
{
    return kind == SG_JOB_SYNC ? "sync" : "analyze";
}

static enum sg_err put_str_or_null(struct sg_buf *b, const char *s)
{
    if (!s)
        return sg_buf_puts(b, "null");
    return sg_buf_put_json_str(b, s, strlen(s));
}

static enum sg_err put_id_or_null(struct sg_buf *b, int64_t v)
{
    if (!v)
        return sg_buf_puts(b, "null");
    return sg_buf_put_i64(b, v);
}

enum sg_err sg_job_encode(const struct sg_job *job, struct sg_buf *out)
{
    enum sg_err e = SG_OK;
#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((e = (x)))                                                                             \
            return e;                                                                              \
    } while (0)
    TRY(sg_buf_puts(out, "{\"v\":1,\"kind\":\""));
    TRY(sg_buf_puts(out, sg_job_kind_str(job->kind)));
    TRY(sg_buf_puts(out, "\",\"delivery\":"));
    TRY(put_str_or_null(out, job->delivery));
    TRY(sg_buf_puts(out, ",\"event\":"));
    TRY(put_str_or_null(out, job->event));
    TRY(sg_buf_puts(out, ",\"action\":"));
    TRY(put_str_or_null(out, job->action));
    TRY(sg_buf_puts(out, ",\"installation\":"));
    TRY(put_id_or_null(out, job->installation));
    TRY(sg_buf_puts(out, ",\"repo\":"));
    if (job->repo_full_name) {
        TRY(sg_buf_puts(out, "{\"id\":"));
        TRY(sg_buf_put_i64(out, job->repo_id));
        TRY(sg_buf_puts(out, ",\"full_name\":"));
        TRY(put_str_or_null(out, job->repo_full_name));
        TRY(sg_buf_putc(out, '}'));
    } else {
        TRY(sg_buf_puts(out, "null"));
    }
    TRY(sg_buf_puts(out, ",\"sha\":"));
    TRY(put_str_or_null(out, job->sha));
    TRY(sg_buf_puts(out, ",\"ref\":"));
    TRY(put_str_or_null(out, job->ref));
    TRY(sg_buf_puts(out, ",\"base_sha\":"));
    TRY(put_str_or_null(out, job->base_sha));
    TRY(sg_buf_puts(out, ",\"pull\":"));
    TRY(put_id_or_null(out, job->pull));
    TRY(sg_buf_puts(out, job->force ? ",\"force\":true" : ",\"force\":false"));
    TRY(sg_buf_puts(out, ",\"received_at\":"));
    TRY(sg_buf_put_i64(out, job->received_at));
    TRY(sg_buf_puts(out, ",\"attempt\":"));
    TRY(sg_buf_put_i64(out, job->attempt));
    if (job->last_error) {
        TRY(sg_buf_puts(out, ",\"last_error\":"));
        TRY(put_str_or_null(out, job->last_error));
    }
    TRY(sg_buf_putc(out, '}'));
#undef TRY
    return SG_OK;
}

void sg_job_clear(struct sg_job *job)
{
    if (!job)
        return;
    free(job->delivery);
    free(job->event);
    free(job->action);
    free(job->repo_full_name);
    free(job->sha);
    free(job->ref);
    free(job->base_sha);
    free(job->last_error);
    memset(job, 0, sizeof *job);
}

bool sg_sha_valid(const char *s)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return i == 40;
}

bool sg_sha_is_zero(const char *s)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i]; i++)
        if (s[i] != '0')
            return false;
    return i == 40;
}

/* Reads an optional string field: absent or null -> *out NULL; another type -> false. */
static bool get_opt_str(struct json_object *o, const char *key, char **out)
{
    struct json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return true;
    if (!json_object_is_type(v, json_type_string))
        return false;
    *out = strdup(json_object_get_string(v));
    return *out != NULL;
}

static bool get_opt_int(struct json_object *o, const char *key, int64_t *out)
{
    struct json_object *v;
    *out = 0;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return true;
    if (!json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

enum sg_err sg_job_decode(const char *line, size_t len, struct sg_job *job, char *err,
                          size_t errlen)
{
    memset(job, 0, sizeof *job);
    if (len > SG_JOB_LINE_MAX) {
        snprintf(err, errlen, "job line of %zu bytes is over the %zu-byte limit; not parsed", len,
                 SG_JOB_LINE_MAX);
        return SG_ERR_PARSE;
    }
    enum sg_err rc = SG_ERR_PARSE;
    struct json_tokener *tok = json_tokener_new_ex(32);
    struct json_object *o = NULL, *v;
    const char *why = "not a JSON object";
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return SG_ERR_NOMEM;
    }
    o = json_tokener_parse_ex(tok, line, (int)len);
    if (!o || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(o, json_type_object))
        goto out;
    /* json-c stops after the first value: whatever follows it (another object, a NUL and more
     * bytes) would otherwise be accepted silently */
    why = "text after the job object";
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\n' && line[i] != '\r')
            goto out;

    int64_t ver = 0;
    why = "field v: expected 1";
    if (!get_opt_int(o, "v", &ver) || ver != SG_JOB_VERSION)
        goto out;
    job->v = (int)ver;

    why = "field kind: expected \"analyze\" or \"sync\"";
    if (!json_object_object_get_ex(o, "kind", &v) || !json_object_is_type(v, json_type_string))
        goto out;
    if (strcmp(json_object_get_string(v), "analyze") == 0)
        job->kind = SG_JOB_ANALYZE;
    else if (strcmp(json_object_get_string(v), "sync") == 0)
        job->kind = SG_JOB_SYNC;
    else
        goto out;

    why = "field delivery: expected a string";
    if (!get_opt_str(o, "delivery", &job->delivery) || !job->delivery)
        goto out;
    why = "field event: expected a string";
    if (!get_opt_str(o, "event", &job->event))
        goto out;
    why = "field action: expected a string or null";
    if (!get_opt_str(o, "action", &job->action))
        goto out;
    why = "field installation: expected an integer";
    if (!get_opt_int(o, "installation", &job->installation) || job->installation <= 0)
        goto out;

    if (json_object_object_get_ex(o, "repo", &v) && v) {
        struct json_object *id, *name;
        why = "field repo: expected {\"id\":int,\"full_name\":string}";
        if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "id", &id) ||
            !json_object_is_type(id, json_type_int) ||
            !json_object_object_get_ex(v, "full_name", &name) ||
            !json_object_is_type(name, json_type_string))
            goto out;
        job->repo_id = json_object_get_int64(id);
        job->repo_full_name = strdup(json_object_get_string(name));
        if (!job->repo_full_name)
            goto out;
    }
    why = "field sha: expected a string or null";
    if (!get_opt_str(o, "sha", &job->sha))
        goto out;
    why = "field ref: expected a string or null";
    if (!get_opt_str(o, "ref", &job->ref))
        goto out;
    why = "field base_sha: expected a string or null";
    if (!get_opt_str(o, "base_sha", &job->base_sha))
        goto out;
    why = "field pull: expected an integer or null";
    if (!get_opt_int(o, "pull", &job->pull))
        goto out;
    if (json_object_object_get_ex(o, "force", &v) && v) {
        why = "field force: expected a boolean";
        if (!json_object_is_type(v, json_type_boolean))
            goto out;
        job->force = json_object_get_boolean(v);
    }
    why = "field received_at: expected an integer";
    if (!get_opt_int(o, "received_at", &job->received_at))
        goto out;
    int64_t attempt = 0;
    why = "field attempt: expected a non-negative integer";
    if (!get_opt_int(o, "attempt", &attempt) || attempt < 0 || attempt > 1000000)
        goto out;
    job->attempt = (int)attempt;
    why = "field last_error: expected a string";
    if (!get_opt_str(o, "last_error", &job->last_error))
        goto out;

    if (job->kind == SG_JOB_ANALYZE) {
        why = "analyze job: repo and a 40-hex sha are required";
        if (!job->repo_full_name || !sg_sha_valid(job->sha))
            goto out;
    }
    rc = SG_OK;
out:
    if (rc != SG_OK) {
        snprintf(err, errlen, "%s", why);
        sg_job_clear(job);
    }
    json_object_put(o);
    json_tokener_free(tok);
    return rc;
}
