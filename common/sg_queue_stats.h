/* Why: the queue gauges (DESIGN.md section 7: analysis_queue_length, _inflight, _delayed, _dead,
 * _oldest_age_seconds) are exported by both the ingress and the workers; they are read the same
 * way in both, in one atomic script, so the two /metrics never disagree about what they mean. */
#ifndef SG_QUEUE_STATS_H
#define SG_QUEUE_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct redisReply;

/* EVAL SG_QUEUE_STATS_LUA 4 <SG_QUEUE_STATS_KEYS...> SG_KEY_PROCESSING_PREFIX ->
 * {length, inflight, delayed, dead, workers, oldest job line or nil}. inflight sums the processing
 * lists of the registered workers. */
extern const char SG_QUEUE_STATS_LUA[];
extern const char *const SG_QUEUE_STATS_KEYS[4];

struct sg_queue_stats {
    int64_t length;      /* LLEN analysis_queue */
    int64_t inflight;    /* sum of LLEN of the processing lists of registered workers */
    int64_t delayed;     /* ZCARD analysis_queue:delayed */
    int64_t dead;        /* LLEN analysis_queue:dead */
    int64_t workers;     /* ZCARD analysis_queue:workers */
    double oldest_age_s; /* now - received_at of the oldest pending job; 0 when empty */
};

/* Fills st from the script's reply; false (st zeroed) when the reply is not the script's array.
 * An oldest job line without a readable received_at gives age 0. */
bool sg_queue_stats_from_reply(struct sg_queue_stats *st, const struct redisReply *reply,
                               int64_t now_ms);

/* The five gauges, registered with one name and help text for both binaries. */
struct sg_metrics;
struct sg_metric;
struct sg_queue_gauges {
    struct sg_metric *length, *inflight, *delayed, *dead, *oldest;
};

/* Registers the gauges in m; false when any registration failed. */
bool sg_queue_gauges_register(struct sg_queue_gauges *g, struct sg_metrics *m);
/* Sets every gauge from st. */
void sg_queue_gauges_set(const struct sg_queue_gauges *g, const struct sg_queue_stats *st);

#endif
