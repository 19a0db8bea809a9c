/* Why: Prometheus text exposition (version 0.0.4) without a client library: counters, gauges and
 * histograms with up to SG_METRIC_MAX_LABELS labels, rendered in registration order.
 * Thread-safe (one mutex per registry), so a worker's HTTP thread can render while its job
 * thread counts. Each family caps its number of label sets (SG_METRIC_MAX_SERIES); callers must
 * still normalise unbounded label values (such as an event name from a header) before use.
 *
 * Ownership: the registry owns its families; handles stay valid until sg_metrics_free(). */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stddef.h>

#include "sg_buf.h"
#include "sg_err.h"

#define SG_METRIC_MAX_LABELS  4
#define SG_METRIC_MAX_SERIES  512
#define SG_METRIC_MAX_BUCKETS 24

struct sg_metrics;
struct sg_metric;

struct sg_metrics *sg_metrics_new(void);
void sg_metrics_free(struct sg_metrics *m);

/* label_names: comma-separated ("code,event") or NULL for none. NULL on bad arguments/OOM. */
struct sg_metric *sg_metrics_counter(struct sg_metrics *m, const char *name, const char *help,
                                     const char *label_names);
struct sg_metric *sg_metrics_gauge(struct sg_metrics *m, const char *name, const char *help,
                                   const char *label_names);
/* buckets: ascending upper bounds, +Inf added automatically. */
struct sg_metric *sg_metrics_histogram(struct sg_metrics *m, const char *name, const char *help,
                                       const char *label_names, const double *buckets,
                                       size_t nbuckets);

/* labels: one value per label name (NULL when the family has none). */
void sg_metric_add(struct sg_metric *c, const char *const *labels, double v);
void sg_metric_inc(struct sg_metric *c, const char *const *labels);
void sg_metric_set(struct sg_metric *g, const char *const *labels, double v);
void sg_metric_observe(struct sg_metric *h, const char *const *labels, double v);
/* Current value of a counter/gauge series (0 when absent); for tests and internal logic. */
double sg_metric_value(struct sg_metric *c, const char *const *labels);

/* Appends the whole registry in text exposition format. */
enum sg_err sg_metrics_render(struct sg_metrics *m, struct sg_buf *out);

/* Content-Type for the exposition. */
#define SG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
