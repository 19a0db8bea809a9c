/* Why: the text and the retry policy of each error live next to each other, in one place. */
#include "sg_err.h"

static const char *const err_text[SG_ERR__COUNT] = {
    [SG_OK] = "ok",
    [SG_ERR_NOMEM] = "out of memory",
    [SG_ERR_INVALID] = "invalid input",
    [SG_ERR_TOO_LARGE] = "too large",
    [SG_ERR_PARSE] = "parse error",
    [SG_ERR_CONFIG] = "bad configuration",
    [SG_ERR_IO] = "i/o error",
    [SG_ERR_TIMEOUT] = "timed out",
    [SG_ERR_REDIS] = "redis error",
    [SG_ERR_DB] = "database error",
    [SG_ERR_HTTP] = "http error",
    [SG_ERR_RATE_LIMITED] = "rate limited",
    [SG_ERR_UPSTREAM] = "upstream error",
    [SG_ERR_NOT_FOUND] = "not found",
    [SG_ERR_AUTH] = "not authorized",
    [SG_ERR_CRYPTO] = "crypto error",
    [SG_ERR_UNSUPPORTED] = "unsupported",
    [SG_ERR_SHUTDOWN] = "shutting down",
    [SG_ERR_INTERNAL] = "internal error",
};

const char *sg_err_str(enum sg_err err)
{
    if ((int)err < 0 || err >= SG_ERR__COUNT || !err_text[err])
        return "unknown error";
    return err_text[err];
}

bool sg_err_retryable(enum sg_err err)
{
    switch (err) {
    case SG_ERR_NOMEM:
    case SG_ERR_IO:
    case SG_ERR_TIMEOUT:
    case SG_ERR_REDIS:
    case SG_ERR_DB:
    case SG_ERR_HTTP:
    case SG_ERR_RATE_LIMITED:
    case SG_ERR_UPSTREAM:
    case SG_ERR_SHUTDOWN:
        return true;
    default:
        return false;
    }
}
