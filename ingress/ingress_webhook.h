/* Why: everything the ingress decides about a webhook before Redis, as one pure function, so the
 * check order of DESIGN.md section 2 (400 headers -> 401 signature -> 415 content type -> 400 JSON
 * -> routing) lives in one place that unit tests and the fuzzer drive without sockets. The 413 body
 * cap is enforced earlier, while the request is read; dedupe and backpressure happen in Redis.
 *
 * Ownership: struct ingress_webhook_result owns its buffers (job line, form scratch);
 * ingress_webhook_result_init/free. Static strings (error, status) are never freed. */
#ifndef INGRESS_WEBHOOK_H
#define INGRESS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingress_hmac.h"
#include "ingress_http.h"
#include "ingress_json.h"
#include "sg_buf.h"
#include "sg_job.h"

#define INGRESS_DELIVERY_MAX 128
#define INGRESS_EVENT_MAX    64

enum ingress_route {
    INGRESS_ROUTE_IGNORED = 0, /* 200 {"status":"ignored"} */
    INGRESS_ROUTE_PING,        /* 200 {"status":"pong"} */
    INGRESS_ROUTE_JOB,         /* push one job (202 queued / 200 duplicate / 503) */
};

struct ingress_webhook_result {
    int status;         /* HTTP status when decided here (0 when a job must be pushed) */
    const char *error;  /* short reason for an error status, else NULL */
    const char *answer; /* "ignored", "pong" or NULL */
    bool signature_failed;
    int64_t retry_after; /* seconds, for 429 */
    enum ingress_route route;
    struct ingress_json_fields fields;
    struct sg_buf job; /* the encoded job line when route == JOB */
    /* The verified X-Hub-Signature-256 digest in lower-case hex, "" before verification: the
     * replay marker's key (a function of the body, unlike the delivery id). */
    char signature[INGRESS_HMAC_HEX_LEN + 1];
    struct sg_buf form; /* decoded payload= of a form delivery (scratch) */
    /* Log context, valid after routing (point into fields or are static): */
    const char *action;
    int64_t installation;
    const char *repo;
};

void ingress_webhook_result_init(struct ingress_webhook_result *r, size_t max_body);
void ingress_webhook_result_free(struct ingress_webhook_result *r);

struct ingress_webhook_in {
    struct ingress_str event;
    struct ingress_str delivery;
    struct ingress_str signature;
    struct ingress_str content_type;
    const char *body;
    size_t body_len;
    int64_t received_at; /* unix ms */
    int64_t blocked_s;   /* > 0: the client address is over its failed-signature limit (429) */
    struct ingress_hmac *hmac; /* the webhook secret's precomputed HMAC key (required) */
};

/* Runs checks 2-6 (without dedupe); a blocked address gets 429 instead of 401 for a bad signature.
 * Result: status != 0 -> answer it; otherwise route == JOB and r->job holds the line to push. */
void ingress_webhook_process(const struct ingress_webhook_in *in, struct ingress_webhook_result *r);

/* Decodes the value of the "payload" field of an application/x-www-form-urlencoded body into out.
 * SG_ERR_PARSE when absent or badly escaped. */
enum sg_err ingress_form_payload(const char *body, size_t len, struct sg_buf *out);

/* Maps a payload to a job per DESIGN.md's table. On INGRESS_ROUTE_JOB the job's strings point into
 * fields or into refbuf (refbuf_len bytes), so job must not be sg_job_clear()ed. */
enum ingress_route ingress_route_event(const char *event, const char *delivery,
                                       struct ingress_json_fields *fields, int64_t received_at,
                                       struct sg_job *job, char *refbuf, size_t refbuf_len);

/* A fixed label for an event header value, so a client cannot create unbounded metric series:
 * the known GitHub event names pass, anything else is "other", no header is "none". */
const char *ingress_event_label(struct ingress_str event);

#endif
