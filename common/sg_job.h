/* Why: the job line is the contract between ingress and workers (DESIGN.md section 3), version 1.
 * Ingress encodes it, workers decode it; both go through this one module.
 *
 * Ownership: struct sg_job owns its strings (malloc'ed); sg_job_clear() frees them. */
#ifndef SG_JOB_H
#define SG_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "sg_buf.h"
#include "sg_err.h"

#define SG_JOB_VERSION 1
/* The longest job line a worker reads. A real one is well under 1 KiB; a longer line can only have
 * been written to Redis by something else, and is dead-lettered without being parsed. */
#define SG_JOB_LINE_MAX ((size_t)1 << 20)

enum sg_job_kind { SG_JOB_ANALYZE = 0, SG_JOB_SYNC = 1 };

struct sg_job {
    int v;
    enum sg_job_kind kind;
    char *delivery;       /* X-GitHub-Delivery */
    char *event;          /* X-GitHub-Event */
    char *action;         /* NULL when the event has none */
    int64_t installation; /* installation.id; 0 = null */
    int64_t repo_id;      /* 0 with repo_full_name NULL = repo null */
    char *repo_full_name;
    char *sha; /* NULL = null */
    char *ref;
    char *base_sha;
    int64_t pull; /* 0 = null */
    bool force;
    int64_t received_at; /* unix ms */
    int attempt;
    char *last_error; /* only on jobs in analysis_queue:dead or retried; NULL = absent */
};

const char *sg_job_kind_str(enum sg_job_kind kind);

/* Appends the job as one line of JSON (no newline), fields in DESIGN.md's order. */
enum sg_err sg_job_encode(const struct sg_job *job, struct sg_buf *out);

/* Parses a job line: one JSON object, nothing after it but white space. Unknown fields are
 * ignored; a line over SG_JOB_LINE_MAX (not parsed), text after the object, a missing/ill-typed
 * required field, an unknown kind or a version other than 1 is SG_ERR_PARSE with a reason in err.
 * The line may hold any bytes (a NUL is refused, not a terminator). On error job is cleared. */
enum sg_err sg_job_decode(const char *line, size_t len, struct sg_job *job, char *err,
                          size_t errlen);

void sg_job_clear(struct sg_job *job);

/* True when s is 40 hex digits; sg_sha_is_zero: 40 zeros. */
bool sg_sha_valid(const char *s);
bool sg_sha_is_zero(const char *s);

#endif
