/* Why: the ingress's event loop side: listener, connections with their timers and caps, the four
 * routes, the per-address failed-signature limiter, /metrics with the queue gauges, and the SIGTERM
 * drain. Everything runs on one libevent loop; Redis is reached only asynchronously.
 *
 * Ownership: ingress_server_new() borrows cfg (it must outlive the server); ingress_server_free()
 * releases everything else. */
#ifndef INGRESS_SERVER_H
#define INGRESS_SERVER_H

#include <stdint.h>

#include "ingress_config.h"
#include "sg_err.h"

struct event_base;
struct ingress_server;

struct ingress_server *ingress_server_new(struct event_base *base, const struct ingress_config *cfg,
                                          char *err, size_t errlen);
void ingress_server_free(struct ingress_server *s);

/* The port actually bound (useful with PORT=0). */
int ingress_server_port(const struct ingress_server *s);

/* Starts the drain: /readyz 503, listener closed, idle connections closed, in-flight requests
 * finished; the loop exits when none is left or after SHUTDOWN_GRACE_S. */
void ingress_server_drain(struct ingress_server *s);

/* ---- the failed-signature limiter (exposed for unit tests) ---- */
struct ingress_limiter;
struct ingress_limiter *ingress_limiter_new(size_t slots, int64_t limit, int64_t window_s);
void ingress_limiter_free(struct ingress_limiter *l);
/* Records a failure from addr at now_s. */
void ingress_limiter_fail(struct ingress_limiter *l, const char *addr, int64_t now_s);
/* Seconds addr stays blocked (0: not blocked). */
int64_t ingress_limiter_blocked(struct ingress_limiter *l, const char *addr, int64_t now_s);

#endif
