/* Why: the ingress talks to Redis only through this module: one async hiredis connection on the
 * libevent loop (commands from all requests pipeline on it), reconnection with backoff, a
 * liveness PING each second for /readyz, and a command timeout hiredis 0.14 lacks (a hung Redis
 * must turn into 503 within about a second, not into requests stuck forever). The dedupe markers
 * (delivery id and body signature) and the LPUSH are one Lua script, so a delivery that was not
 * queued is never remembered.
 *
 * Ownership: ingress_redis_new/free. Replies handed to callbacks belong to hiredis and live only
 * during the callback; a NULL reply means the connection failed or timed out. */
#ifndef INGRESS_REDIS_H
#define INGRESS_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"
#include "sg_url.h"

struct event_base;
struct redisReply;
struct ingress_redis;

typedef void (*ingress_redis_cb)(struct ingress_redis *r, struct redisReply *reply, void *priv);

struct ingress_redis *ingress_redis_new(struct event_base *base, const struct sg_redis_url *url,
                                        int64_t timeout_ms);
void ingress_redis_free(struct ingress_redis *r);

/* Starts connecting (and keeps reconnecting until freed). */
void ingress_redis_start(struct ingress_redis *r);

/* True when connected and the last PING was answered in time. */
bool ingress_redis_ready(const struct ingress_redis *r);

/* Sends a command (argv form). SG_ERR_REDIS when not connected: cb is then NOT called. Otherwise
 * cb is called exactly once, with NULL on failure/timeout. */
enum sg_err ingress_redis_command(struct ingress_redis *r, ingress_redis_cb cb, void *priv,
                                  int argc, const char **argv, const size_t *argvlen);

/* Outcome of the enqueue script. */
enum ingress_enqueue_result {
    INGRESS_ENQUEUE_QUEUED = 1,
    INGRESS_ENQUEUE_DUPLICATE = 0,
    INGRESS_ENQUEUE_BACKPRESSURE = -1,
    INGRESS_ENQUEUE_FAILED = -2, /* Redis unreachable, timed out or answered an error */
};

typedef void (*ingress_enqueue_cb)(enum ingress_enqueue_result res, void *priv);

/* Atomically: if webhook:delivery:<id> or webhook:signature:<signature> exists -> DUPLICATE; else
 * if LLEN analysis_queue >= watermark (> 0) -> BACKPRESSURE (nothing marked); else SET both
 * markers NX EX ttl and LPUSH job -> QUEUED. signature is the verified body signature in
 * lower-case hex (NUL-terminated). EVALSHA with an EVAL fallback on NOSCRIPT. SG_ERR_REDIS when
 * not connected (cb not called); otherwise cb is called exactly once. */
enum sg_err ingress_redis_enqueue(struct ingress_redis *r, const char *delivery, size_t dlen,
                                  const char *signature, const char *job, size_t joblen,
                                  int64_t ttl_s, int64_t watermark, ingress_enqueue_cb cb,
                                  void *priv);

#endif
