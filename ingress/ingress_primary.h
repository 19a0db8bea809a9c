/* Why: the ingress's connection to "the primary" (DESIGN.md section 11), kept on the event loop:
 * found through the sentinels when REDIS_SENTINELS is set (checked with ROLE before it is
 * trusted, and again every second), else REDIS_URL's host; TLS for rediss://; AUTH and SELECT;
 * reconnection with backoff; a PING each second for /readyz; and a command timeout hiredis never
 * had, so a hung or vanished primary turns into 503 within REDIS_TIMEOUT_MS instead of requests
 * stuck forever. An error reply that says the server is no longer a writable primary (READONLY,
 * LOADING, ...) drops the connection so the primary is found again.
 *
 * Ownership: ingress_primary_new/free. Replies handed to callbacks live only during the callback;
 * NULL means the connection failed, timed out or was dropped. */
#ifndef INGRESS_PRIMARY_H
#define INGRESS_PRIMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"
#include "sg_redis_opts.h"

struct event_base;
struct redisReply;
struct ingress_primary;

typedef void (*ingress_primary_cb)(struct redisReply *reply, void *priv);
/* Called on every new connection before anything else is sent on it (after AUTH and SELECT):
 * the owner queues its own setup (SCRIPT LOAD) with ingress_primary_command. */
typedef void (*ingress_primary_setup_fn)(struct ingress_primary *p, void *priv);

/* o must outlive the object. NULL when out of memory or TLS cannot be set up (err). */
struct ingress_primary *ingress_primary_new(struct event_base *base, const struct sg_redis_opts *o,
                                            int64_t timeout_ms, ingress_primary_setup_fn setup,
                                            void *priv, char *err, size_t errlen);
void ingress_primary_free(struct ingress_primary *p);
/* Starts connecting; keeps reconnecting until freed. */
void ingress_primary_start(struct ingress_primary *p);

/* Connected to a server that is the primary (ROLE checked in Sentinel mode) and answered the
 * last PING in time. */
bool ingress_primary_ready(const struct ingress_primary *p);
/* Commands may be sent (connected; maybe not ready yet). */
bool ingress_primary_connected(const struct ingress_primary *p);

/* Sends a command. SG_ERR_REDIS when not connected: cb is then NOT called. Otherwise cb is called
 * exactly once, with NULL on failure or timeout. Commands are answered in the order sent. */
enum sg_err ingress_primary_command(struct ingress_primary *p, ingress_primary_cb cb, void *priv,
                                    int argc, const char **argv, const size_t *lens);

#endif
