/* Why: one error enum for the whole product (curl's CURLcode idea), so every layer can say
 * whether a failure is retryable without inventing its own codes. */
#ifndef SG_ERR_H
#define SG_ERR_H

#include <stdbool.h>

enum sg_err {
    SG_OK = 0,
    SG_ERR_NOMEM,        /* allocation failed */
    SG_ERR_INVALID,      /* bad argument or malformed input */
    SG_ERR_TOO_LARGE,    /* a size cap was hit */
    SG_ERR_PARSE,        /* input could not be parsed (JSON, YAML, tar, ...) */
    SG_ERR_CONFIG,       /* bad configuration */
    SG_ERR_IO,           /* file or socket I/O failed */
    SG_ERR_TIMEOUT,      /* an operation timed out */
    SG_ERR_REDIS,        /* Redis unreachable or answered an error */
    SG_ERR_DB,           /* PostgreSQL unreachable or answered an error */
    SG_ERR_HTTP,         /* network-level HTTP failure */
    SG_ERR_RATE_LIMITED, /* GitHub primary/secondary rate limit */
    SG_ERR_UPSTREAM,     /* GitHub answered 5xx */
    SG_ERR_NOT_FOUND,    /* 404 or a missing record */
    SG_ERR_AUTH,         /* 401/403 (not a rate limit) or a bad signature */
    SG_ERR_CRYPTO,       /* OpenSSL failure */
    SG_ERR_UNSUPPORTED,  /* input kind we do not handle */
    SG_ERR_SHUTDOWN,     /* the process is stopping */
    SG_ERR_INTERNAL,     /* a bug */
    SG_ERR__COUNT
};

/* Static text for an error code; never NULL. */
const char *sg_err_str(enum sg_err err);

/* Whether a job that failed with this error should be retried later (network, 5xx, rate limits,
 * Redis or PostgreSQL unavailable) rather than ended as failed. */
bool sg_err_retryable(enum sg_err err);

#endif
