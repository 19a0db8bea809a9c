/* Why: the ingress's async byte stream to one Redis server, plain TCP, unix socket or TLS, on the
 * libevent loop. Debian 12's hiredis 0.14 has no TLS, and its async context owns the socket, so
 * the ingress keeps hiredis for the protocol only (redisFormatCommandArgv, a redisReader) and
 * carries the bytes on a bufferevent: a socket one, or an OpenSSL one for rediss://. One code path
 * for both, so the plain-TCP figures measure the same code that runs with TLS.
 *
 * A link is one connection: it is never reconnected; the owner makes a new one.
 *
 * Ownership: ingress_rlink_new/free. A reply handed to a callback belongs to the link and lives
 * only during the callback (copy what you need); NULL means the link failed or was freed first.
 * Callbacks may free the link. */
#ifndef INGRESS_RLINK_H
#define INGRESS_RLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"
#include "sg_redis_opts.h"

struct event_base;
struct evdns_base;
struct redisReply;
struct ingress_rlink;
typedef struct ssl_ctx_st SSL_CTX;

typedef void (*ingress_rlink_reply_cb)(struct redisReply *reply, void *priv);
/* up: true once connected (and, with TLS, the certificate verified); false when the link failed
 * (err says why, in one line); every pending command has had its NULL reply by then. Called at most
 * once with up=false, as the last thing the link does; the owner then frees it. */
typedef void (*ingress_rlink_event_cb)(struct ingress_rlink *l, bool up, const char *err,
                                       void *priv);

/* Starts connecting to unix_path or host:port (names resolved through dns without blocking), with
 * TLS when tls is non-NULL. NULL only when out of memory or the TLS object could not be made
 * (err). */
struct ingress_rlink *ingress_rlink_new(struct event_base *base, struct evdns_base *dns,
                                        const char *host, int port, const char *unix_path,
                                        SSL_CTX *tls, const struct sg_redis_opts *o,
                                        ingress_rlink_event_cb ev, void *priv, char *err,
                                        size_t errlen);
/* Every pending command's callback gets NULL; the event callback is not called. */
void ingress_rlink_free(struct ingress_rlink *l);

/* Queues a command; cb is called exactly once (also with NULL). SG_ERR_REDIS once the link has
 * failed (cb not called). Commands may be queued before the link is up. */
enum sg_err ingress_rlink_command(struct ingress_rlink *l, ingress_rlink_reply_cb cb, void *priv,
                                  int argc, const char **argv, const size_t *lens);

size_t ingress_rlink_pending(const struct ingress_rlink *l);
/* sg_mono_ms() when the oldest unanswered command was queued; 0 when none. */
int64_t ingress_rlink_oldest_ms(const struct ingress_rlink *l);

#endif
