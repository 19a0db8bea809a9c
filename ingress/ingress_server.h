/* Why: the ingress's event loop side: listeners, connections with their timers and caps (memory,
 * per-address slots, descriptors), the four routes, /metrics with the queue gauges, and the
 * SIGTERM drain. Everything runs on one libevent loop; Redis is reached only asynchronously.
 *
 * Ownership: ingress_server_new() borrows cfg (it must outlive the server); ingress_server_free()
 * releases everything else. */
#ifndef INGRESS_SERVER_H
#define INGRESS_SERVER_H

#include <stdint.h>

#include "ingress_config.h"
#include "ingress_limiter.h" /* the server's limiter, for code that includes only this header */
#include "sg_err.h"

struct event_base;
struct ingress_server;

struct ingress_server *ingress_server_new(struct event_base *base, const struct ingress_config *cfg,
                                          char *err, size_t errlen);
void ingress_server_free(struct ingress_server *s);

/* The port actually bound (useful with PORT=0). */
int ingress_server_port(const struct ingress_server *s);
/* The METRICS_PORT listener's port, 0 when /metrics stays on the main port. */
int ingress_server_metrics_port(const struct ingress_server *s);

/* Starts the drain: /readyz 503, listener closed, idle connections closed, in-flight requests
 * finished; the loop exits when none is left or after SHUTDOWN_GRACE_S. */
void ingress_server_drain(struct ingress_server *s);

#endif
