/* Why: a worker is a batch process, but Kubernetes and Prometheus still need to talk to it:
 * GET /healthz (200 while the job loop is alive) and GET /metrics (DESIGN.md section 7) on
 * METRICS_PORT, served by a small libevent evhttp server in its own thread so a long job never
 * delays a probe.
 *
 * Ownership: wk_http_start() returns a server stopped and freed by wk_http_stop(). The metrics
 * registry and the health callback's data are borrowed and must outlive the server. */
#ifndef WK_HTTP_H
#define WK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_metrics.h"

/* Returns true when the process is healthy; called on the server thread. */
typedef bool (*wk_http_health_fn)(void *ud);

struct wk_http;

/* Binds host:port (port 0 = any free port; see wk_http_port) and starts the thread. NULL with a
 * reason in err when the address cannot be bound. */
struct wk_http *wk_http_start(const char *host, int port, struct sg_metrics *metrics,
                              wk_http_health_fn health, void *ud, char *err, size_t errlen);
int wk_http_port(const struct wk_http *h);
void wk_http_stop(struct wk_http *h);

#endif
