/* Why: what the ingress answers, once a request head is parsed: the route table (webhook path,
 * /healthz, /readyz, /metrics, on the public port or METRICS_PORT), the webhook's checks handed to
 * ingress_webhook.c and its job to Redis, and /metrics with the queue gauges refreshed at most
 * every METRICS_CACHE_MS (requests arriving meanwhile wait for the one refresh). Reading and
 * writing the connection is ingress_server.c's. */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_conn.h"
#include "ingress_hmac.h"
#include "ingress_limiter.h"
#include "ingress_redis.h"
#include "sg_keys.h"
#include "sg_log.h"
#include "sg_time.h"

void ingress_routes_log(struct ingress_server *s, int status, const char *error,
                        const char *delivery, const char *event, const char *action,
                        int64_t installation, const char *repo, int64_t start_us, const char *addr)
{
    double dur_ms = (double)(sg_mono_us() - start_us) / 1000.0;
    sg_metric_observe(s->m_duration, NULL, dur_ms / 1000.0);
    sg_log(status >= 500 ? SG_LOG_WARN : SG_LOG_INFO, "webhook", SG_KV_STR("delivery", delivery),
           SG_KV_STR("event", event), SG_KV_STR("action", action),
           SG_KV_INT("installation", installation), SG_KV_STR("repo", repo),
           SG_KV_INT("status", status), SG_KV_STR("error", error), SG_KV_DBL("dur_ms", dur_ms),
           SG_KV_STR("client", addr), SG_KV_END);
}

/* Copies at most cap-1 bytes of an ingress_str. */
void ingress_routes_copy_str(char *dst, size_t cap, struct ingress_str s)
{
    size_t n = s.p ? (s.len < cap - 1 ? s.len : cap - 1) : 0;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* snprintf(dst, cap, "%s", src ? src : "") without the format parser: truncates to cap-1. */
void ingress_routes_copy_cstr(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static void on_enqueued(enum ingress_enqueue_result res, void *priv)
{
    struct pending *p = priv;
    struct ingress_server *s = p->s;
    struct conn *c = p->c;
    int status;
    const char *error = NULL;
    s->npending--;
    switch (res) {
    case INGRESS_ENQUEUE_QUEUED:
        status = 202;
        break;
    case INGRESS_ENQUEUE_DUPLICATE:
        status = 200;
        break;
    case INGRESS_ENQUEUE_BACKPRESSURE:
        status = 503;
        error = "queue above high watermark";
        break;
    default:
        status = 503;
        error = "redis unavailable";
        break;
    }
    ingress_routes_log(s, status, error, p->delivery, p->event, p->action[0] ? p->action : NULL,
                       p->installation, p->repo[0] ? p->repo : NULL, p->start_us, p->client);
    if (c) {
        c->pending = NULL;
        c->event_label = p->event_label;
        if (status == 202)
            ingress_conn_respond_json(c, 202, "queued", NULL, p->delivery, NULL, false);
        else if (status == 200)
            ingress_conn_respond_json(c, 200, "duplicate", NULL, NULL, NULL, false);
        else
            ingress_conn_respond_error(c, 503, error, false);
    } else {
        /* The client went away first; the outcome is in Redis and in the log line above. */
        ingress_conn_count(s, status, p->event_label);
    }
    free(p);
    if (c)
        ingress_conn_resume_later(c);
    if (s->draining)
        ingress_server_drain_check(s);
}

void ingress_routes_webhook(struct conn *c, const char *body, size_t len)
{
    struct ingress_server *s = c->s;
    const struct ingress_config *cfg = s->cfg;
    struct ingress_webhook_result *r = &s->result;
    int64_t now_ms = sg_now_ms();
    struct ingress_webhook_in in = {
        .event = c->req.event,
        .delivery = c->req.delivery,
        .signature = c->req.signature,
        .content_type = c->req.content_type,
        .body = body,
        .body_len = len,
        .received_at = now_ms,
        .blocked_s = ingress_limiter_blocked(s->limiter, c->client, now_ms / 1000),
        .hmac = s->hmac,
    };
    ingress_webhook_process(&in, r);
    char delivery[INGRESS_DELIVERY_MAX + 1], event[INGRESS_EVENT_MAX + 1];
    ingress_routes_copy_str(delivery, sizeof delivery, c->req.delivery);
    ingress_routes_copy_str(event, sizeof event, c->req.event);

    if (r->signature_failed) {
        ingress_limiter_fail(s->limiter, c->client, now_ms / 1000);
        sg_metric_inc(s->m_sigfail, NULL);
    }
    if (r->status) {
        ingress_routes_log(s, r->status, r->error, delivery[0] ? delivery : NULL,
                           event[0] ? event : NULL, r->action, r->installation, r->repo,
                           c->start_us, c->client);
        if (r->error) {
            char extra[64] = "";
            if (r->status == 429)
                snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)r->retry_after);
            ingress_conn_respond_json(c, r->status, "error", r->error, NULL, extra, false);
        } else {
            ingress_conn_respond_json(c, r->status, r->answer, NULL, NULL, NULL, false);
        }
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        ingress_conn_respond_error(c, 503, "out of memory", false);
        return;
    }
    p->c = c;
    p->s = s;
    p->start_us = c->start_us;
    p->event_label = c->event_label;
    p->installation = r->installation;
    ingress_routes_copy_cstr(p->delivery, sizeof p->delivery, delivery);
    ingress_routes_copy_cstr(p->event, sizeof p->event, event);
    ingress_routes_copy_cstr(p->action, sizeof p->action, r->action);
    ingress_routes_copy_cstr(p->repo, sizeof p->repo, r->repo);
    ingress_routes_copy_cstr(p->client, sizeof p->client, c->client);
    enum sg_err e = ingress_redis_enqueue(s->redis, c->req.delivery.p, c->req.delivery.len,
                                          r->signature, r->job.data, r->job.len, cfg->dedupe_ttl_s,
                                          cfg->queue_high_watermark, on_enqueued, p);
    if (e) {
        ingress_routes_log(s, 503, "redis unavailable", delivery, event,
                           p->action[0] ? p->action : NULL, p->installation,
                           p->repo[0] ? p->repo : NULL, c->start_us, c->client);
        free(p);
        ingress_conn_respond_error(c, 503, "redis unavailable", false);
        return;
    }
    s->npending++;
    c->pending = p;
    c->state = C_BUSY;
    evtimer_del(c->timer); /* the Redis watchdog bounds the wait */
}

static void finish_stats(struct ingress_server *s)
{
    struct stats *st = &s->stats;
    st->in_progress = false;
    if (!st->failed) {
        st->fetched_ms = sg_mono_ms();
        sg_queue_gauges_set(&s->m_queue, &st->q);
    }
    struct sg_buf b;
    sg_buf_init(&b, 4 * 1024 * 1024);
    sg_metrics_render(s->metrics, &b);
    while (s->waiters.wnext != &s->waiters) {
        struct conn *c = s->waiters.wnext;
        c->wnext->wprev = c->wprev;
        c->wprev->wnext = c->wnext;
        c->wnext = c->wprev = NULL;
        c->waiting_stats = false;
        ingress_conn_respond(c, 200, SG_METRICS_CONTENT_TYPE, sg_buf_str(&b), b.len, NULL, false);
        ingress_conn_resume_later(c);
    }
    sg_buf_free(&b);
}

static void on_stats(struct redisReply *reply, void *priv)
{
    struct ingress_server *s = priv; /* alive: ingress_server_free() frees Redis first */
    struct sg_queue_stats q;
    if (sg_queue_stats_from_reply(&q, reply, sg_now_ms()))
        s->stats.q = q;
    else
        s->stats.failed = true; /* keep the last values */
    finish_stats(s);
}

static void serve_metrics(struct conn *c)
{
    struct ingress_server *s = c->s;
    struct stats *st = &s->stats;
    bool fresh = st->fetched_ms && sg_mono_ms() - st->fetched_ms < s->cfg->metrics_cache_ms;
    c->state = C_BUSY;
    evtimer_del(c->timer);
    c->wnext = &s->waiters;
    c->wprev = s->waiters.wprev;
    s->waiters.wprev->wnext = c;
    s->waiters.wprev = c;
    c->waiting_stats = true;
    if (st->in_progress)
        return;
    if (fresh || !ingress_redis_ready(s->redis)) {
        st->failed = true; /* keep the last values */
        finish_stats(s);
        return;
    }
    st->in_progress = true;
    st->failed = false;
    /* One atomic script, shared with the workers (EVAL: Redis keeps it compiled by its SHA). */
    const char *argv[] = {"EVAL",
                          SG_QUEUE_STATS_LUA,
                          "4",
                          SG_QUEUE_STATS_KEYS[0],
                          SG_QUEUE_STATS_KEYS[1],
                          SG_QUEUE_STATS_KEYS[2],
                          SG_QUEUE_STATS_KEYS[3],
                          SG_KEY_PROCESSING_PREFIX};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    if (ingress_redis_command(s->redis, on_stats, s, 8, argv, lens) != SG_OK) {
        st->failed = true;
        finish_stats(s);
    }
}

static bool is_get(const struct conn *c)
{
    return ingress_str_eq(c->req.method, "GET");
}

/* Routes a parsed head: answers probes, errors and 404/405 at once, or moves a webhook on to its
 * body. */
void ingress_routes_dispatch(struct conn *c)
{
    struct ingress_server *s = c->s;
    const struct ingress_config *cfg = s->cfg;
    struct ingress_http_req *req = &c->req;
    bool has_body = req->chunked || (req->has_length && req->content_length > 0);

    if (!c->metrics_only && ingress_str_eq(req->path, cfg->webhook_path)) {
        c->event_label = ingress_event_label(req->event);
        if (!ingress_str_eq(req->method, "POST")) {
            ingress_conn_respond_error(c, 405, "method not allowed", has_body);
            return;
        }
        if (req->has_length && req->content_length > (uint64_t)cfg->max_body_bytes) {
            char delivery[INGRESS_DELIVERY_MAX + 1], event[INGRESS_EVENT_MAX + 1];
            ingress_routes_copy_str(delivery, sizeof delivery, req->delivery);
            ingress_routes_copy_str(event, sizeof event, req->event);
            ingress_routes_log(s, 413, "body too large", delivery[0] ? delivery : NULL,
                               event[0] ? event : NULL, NULL, 0, NULL, c->start_us, c->client);
            ingress_conn_respond_error(c, 413, "body too large", true);
            return;
        }
        if (req->expect_continue && req->minor >= 1 &&
            c->in.len - c->in_off < req->content_length) {
            if (sg_buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == SG_OK)
                ingress_conn_flush(c);
        }
        c->state = C_BODY;
        ingress_conn_deadline(c, cfg->body_timeout_s);
        if (req->chunked) {
            ingress_chunked_init(&c->chunk);
            sg_buf_init(&c->body, (size_t)cfg->max_body_bytes);
        }
        return;
    }
    /* With METRICS_PORT set, /metrics is served there only, off the public port. */
    bool metrics_here = !s->mlistener || c->metrics_only;
    bool probe = ingress_str_eq(req->path, "/healthz") || ingress_str_eq(req->path, "/readyz") ||
                 (metrics_here && ingress_str_eq(req->path, "/metrics"));
    if (!probe) {
        ingress_conn_respond_error(c, 404, "not found", has_body);
        return;
    }
    if (!is_get(c)) {
        ingress_conn_respond_error(c, 405, "method not allowed", has_body);
        return;
    }
    if (has_body) {
        ingress_conn_respond_error(c, 400, "unexpected request body", true);
        return;
    }
    if (ingress_str_eq(req->path, "/healthz")) {
        ingress_conn_respond_json(c, 200, "ok", NULL, NULL, NULL, false);
    } else if (ingress_str_eq(req->path, "/readyz")) {
        if (s->draining)
            ingress_conn_respond_error(c, 503, "draining", false);
        else if (!ingress_redis_ready(s->redis))
            ingress_conn_respond_error(c, 503, "redis unavailable", false);
        else
            ingress_conn_respond_json(c, 200, "ready", NULL, NULL, NULL, false);
    } else {
        serve_metrics(c);
    }
}
