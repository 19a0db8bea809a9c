/* Why: see sg_queue_stats.h. */
#include "sg_queue_stats.h"

#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <string.h>

#include "sg_keys.h"
#include "sg_metrics.h"

const char SG_QUEUE_STATS_LUA[] =
    "local inflight = 0\n"
    "local ids = redis.call('ZRANGE', KEYS[2], 0, -1)\n"
    "for _, id in ipairs(ids) do inflight = inflight + redis.call('LLEN', ARGV[1] .. id) end\n"
    "return {redis.call('LLEN', KEYS[1]), inflight, redis.call('ZCARD', KEYS[3]),\n"
    "        redis.call('LLEN', KEYS[4]), #ids, redis.call('LINDEX', KEYS[1], -1)}";

const char *const SG_QUEUE_STATS_KEYS[4] = {SG_KEY_QUEUE, SG_KEY_WORKERS, SG_KEY_DELAYED,
                                            SG_KEY_DEAD};

bool sg_queue_stats_from_reply(struct sg_queue_stats *st, const struct redisReply *reply,
                               int64_t now_ms)
{
    memset(st, 0, sizeof *st);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 5)
        return false;
    int64_t *counts[5] = {&st->length, &st->inflight, &st->delayed, &st->dead, &st->workers};
    for (size_t i = 0; i < 5; i++)
        *counts[i] =
            reply->element[i]->type == REDIS_REPLY_INTEGER ? reply->element[i]->integer : 0;
    if (reply->elements < 6 || reply->element[5]->type != REDIS_REPLY_STRING)
        return true;
    const char *oldest = reply->element[5]->str;
    size_t oldest_len = reply->element[5]->len;
    /* Only received_at is read, not the whole job: a line this version cannot decode (a newer
     * job version during a rolling upgrade) still has an age. */
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return true;
    struct json_object *o = json_tokener_parse_ex(tok, oldest, (int)oldest_len), *v;
    if (o && json_object_object_get_ex(o, "received_at", &v) &&
        json_object_is_type(v, json_type_int)) {
        int64_t at = json_object_get_int64(v);
        if (at > 0 && now_ms > at)
            st->oldest_age_s = (double)(now_ms - at) / 1000.0;
    }
    json_object_put(o);
    json_tokener_free(tok);
    return true;
}

bool sg_queue_gauges_register(struct sg_queue_gauges *g, struct sg_metrics *m)
{
    g->length = sg_metrics_gauge(m, "analysis_queue_length",
                                 "Jobs waiting in analysis_queue (LLEN).", NULL);
    g->inflight = sg_metrics_gauge(m, "analysis_queue_inflight",
                                   "Jobs held by registered workers (processing lists).", NULL);
    g->delayed = sg_metrics_gauge(m, "analysis_queue_delayed",
                                  "Jobs waiting to be retried (analysis_queue:delayed).", NULL);
    g->dead = sg_metrics_gauge(m, "analysis_queue_dead",
                               "Jobs that failed for good (analysis_queue:dead).", NULL);
    g->oldest = sg_metrics_gauge(m, "analysis_queue_oldest_age_seconds",
                                 "Age of the oldest pending job (from received_at).", NULL);
    return g->length && g->inflight && g->delayed && g->dead && g->oldest;
}

void sg_queue_gauges_set(const struct sg_queue_gauges *g, const struct sg_queue_stats *st)
{
    sg_metric_set(g->length, NULL, (double)st->length);
    sg_metric_set(g->inflight, NULL, (double)st->inflight);
    sg_metric_set(g->delayed, NULL, (double)st->delayed);
    sg_metric_set(g->dead, NULL, (double)st->dead);
    sg_metric_set(g->oldest, NULL, st->oldest_age_s);
}
