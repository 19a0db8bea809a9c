/* Why: the connection side of the ingress; see ingress_server.h. Each connection is a small state
 * machine (idle -> head -> body -> busy (waiting for Redis) -> idle, or -> closing) driven by
 * plain libevent read/write events on the socket, with one timer that enforces whichever deadline
 * applies (slowloris). Sockets are read with recv() into one capped buffer per connection and
 * answers go out with send() right away; only a short write arms a write event. (bufferevents
 * cost an ioctl per read and two epoll_ctl per answer, which measured as most of the CPU time.)
 * A request waiting for Redis keeps a struct pending that outlives its connection, so a client
 * that goes away first never causes a second reply or a use-after-free. */
#include "ingress_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingress_client.h"
#include "ingress_hmac.h"
#include "ingress_http.h"
#include "ingress_limiter.h"
#include "ingress_redis.h"
#include "ingress_webhook.h"
#include "sg_buf.h"
#include "sg_keys.h"
#include "sg_log.h"
#include "sg_metrics.h"
#include "sg_queue_stats.h"
#include "sg_time.h"

#define LINGER_S        2
#define READ_CHUNK      65536
#define WRITE_TIMEOUT_S 30
#define MAX_REJECTING   64
#define OUT_MAX         (8u << 20)
/* Unsent answer bytes above which a connection's further pipelined requests wait: a client that
 * never reads cannot make us hold more than about this plus one answer. */
#define OUT_PAUSE (16u * 1024)
/* File descriptors kept free beside client connections: Redis, listeners, the event loop, logs,
 * and the connections accepted past the cap only to be answered 503. */
#define FD_RESERVE (MAX_REJECTING + 32)
/* After accept() fails for lack of descriptors, the listeners rest this long (ms). */
#define ACCEPT_BACKOFF_MS   100
#define ACCEPT_LOG_EVERY_MS 10000

enum cstate { C_IDLE = 0, C_HEAD, C_BODY, C_BUSY, C_CLOSING };

struct pending;

struct conn {
    struct conn *next, *prev;   /* all connections */
    struct conn *wnext, *wprev; /* waiting for queue gauges (/metrics) */
    struct ingress_server *s;
    evutil_socket_t fd;
    struct event *rev; /* EV_READ | EV_PERSIST, always armed except after EOF */
    struct event *wev; /* EV_WRITE | EV_PERSIST, armed only while output is pending */
    struct event *timer;
    struct event *resume; /* made active to continue the pipeline from the loop, not the stack */
    struct sg_buf in;     /* received bytes; in.data + in_off is the unconsumed part */
    size_t in_off;
    struct sg_buf out; /* answer bytes not yet sent, from out_off */
    size_t out_off;
    bool peer_closed;
    bool metrics_only; /* accepted on METRICS_PORT */
    bool proxy;        /* the peer is in TRUSTED_PROXIES */
    bool out_paused;   /* pipeline halted until the client reads its answers */
    struct ingress_ip peer;
    char addr[INGRESS_ADDR_MAX];   /* the peer, for the per-address cap */
    char client[INGRESS_ADDR_MAX]; /* this request's client (X-Forwarded-For behind a proxy) */
    int64_t idle_since_ms;
    enum cstate state;
    bool keep_alive;
    bool waiting_stats;
    bool shut_wr;
    bool rejected;    /* accepted over MAX_CONNECTIONS only to answer 503 */
    bool read_paused; /* input buffer full while busy */
    bool dead;        /* socket error: freed from the timer callback */
    size_t accounted; /* buffer bytes of this connection counted in the server's total */
    struct sg_buf head;
    struct ingress_http_req req;
    struct ingress_chunked chunk;
    struct sg_buf body;
    int64_t start_us;
    const char *event_label;
    struct pending *pending;
};

/* A webhook waiting for Redis; outlives its connection when the client goes away. */
struct pending {
    struct conn *c;
    struct ingress_server *s;
    int64_t start_us;
    const char *event_label;
    int64_t installation;
    char delivery[INGRESS_DELIVERY_MAX + 1];
    char event[INGRESS_EVENT_MAX + 1];
    char action[64];
    char repo[256];
    char client[INGRESS_ADDR_MAX];
};

struct stats {
    bool in_progress;
    bool failed;
    int64_t fetched_ms; /* monotonic; 0 = never */
    struct sg_queue_stats q;
};

struct ingress_server {
    const struct ingress_config *cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    struct evconnlistener *mlistener; /* METRICS_PORT, or NULL */
    struct event *accept_timer;       /* re-enables the listeners after a descriptor shortage */
    int64_t accept_logged_ms;
    size_t accept_failures; /* since the last log line */
    size_t max_conns;       /* MAX_CONNECTIONS, kept below the descriptor limit */
    int metrics_port;
    char scratch[READ_CHUNK]; /* recv() target; only what arrived is copied to a connection */
    struct ingress_redis *redis;
    struct event *drain_timer;
    int port;
    bool draining;
    int64_t drain_deadline_ms;
    size_t nconns;
    size_t buffered; /* request, body and answer buffer capacity of all connections */
    size_t nrejecting;
    size_t npending;
    struct conn conns;   /* list head */
    struct conn waiters; /* list head (wnext/wprev) */
    struct ingress_limiter *limiter;
    struct ingress_webhook_result result; /* scratch: requests are processed one at a time */
    struct stats stats;
    size_t secret_len;
    struct ingress_hmac *hmac;
    struct sg_metrics *metrics;
    struct sg_metric *m_requests, *m_duration, *m_sigfail;
    struct sg_queue_gauges m_queue;
};

/* ------------------------------------------------------------------ helpers */

static void conn_free(struct conn *c);
static void conn_process(struct conn *c);
static void drain_check(struct ingress_server *s);

/* Keeps the server-wide total of buffer memory current for c: requests, bodies and answers
 * alike, since a client that does not read its answers holds memory as surely as one that sends a
 * large body. */
static void account(struct conn *c)
{
    size_t now = c->in.cap + c->body.cap + c->out.cap + c->head.cap;
    c->s->buffered = c->s->buffered - c->accounted + now;
    c->accounted = now;
}

/* Growing c's buffers by extra bytes would take the server past MAX_BUFFER_BYTES: the request is
 * refused (503) rather than memory grown, so many clients announcing or trickling large bodies at
 * once cannot exhaust it. */
static bool over_budget(struct conn *c, size_t extra)
{
    return c->s->buffered + extra > (size_t)c->s->cfg->max_buffer_bytes;
}

/* Continues c's pipeline from the event loop, never from the caller's stack: answers finished in
 * a batch (the /metrics waiters) or from a Redis callback must not process the next request inside
 * each other, or a pipelining client could deepen the stack without bound. */
static void conn_resume_later(struct conn *c)
{
    if (!c->dead && !c->out_paused && c->in.len > c->in_off)
        event_active(c->resume, EV_TIMEOUT, 0);
}

static void set_deadline(struct conn *c, int64_t seconds)
{
    struct timeval tv = {(time_t)seconds, 0};
    evtimer_add(c->timer, &tv);
}

/* Decimal text of v into buf (at least 21 bytes), returns its start: snprintf's format parsing
 * was a visible share of a request's CPU for a handful of integers. */
static const char *fmt_u64(char *buf, size_t cap, uint64_t v)
{
    char *p = buf + cap - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

static void count_request(struct ingress_server *s, int status, const char *event_label)
{
    char code[24];
    const char *labels[2] = {fmt_u64(code, sizeof code, (uint64_t)(unsigned)status),
                             event_label ? event_label : "none"};
    sg_metric_inc(s->m_requests, labels);
}

/* Lingering close: stop sending, then read and drop what the client still sends for a moment,
 * so our answer is not destroyed by a reset before the client reads it. */
static void conn_linger(struct conn *c)
{
    c->shut_wr = true;
    shutdown(c->fd, SHUT_WR);
    if (c->peer_closed)
        event_active(c->timer, EV_TIMEOUT, 0);
    else
        set_deadline(c, LINGER_S);
}

/* A socket error: the connection is freed from its timer callback, never here, because callers
 * up the stack still hold c. */
static void conn_kill(struct conn *c)
{
    c->state = C_CLOSING;
    c->dead = true;
    c->shut_wr = true;
    event_del(c->rev);
    event_del(c->wev);
    event_active(c->timer, EV_TIMEOUT, 0);
}

/* Sends pending output now; only a short write arms the write event. */
static void conn_flush(struct conn *c)
{
    if (c->dead)
        return;
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct timeval tv = {WRITE_TIMEOUT_S, 0};
            event_add(c->wev, &tv);
            return;
        }
        conn_kill(c);
        return;
    }
    c->out_off = 0;
    if (c->out.cap > 64 * 1024) {
        sg_buf_free(&c->out);
        sg_buf_init(&c->out, OUT_MAX);
        account(c);
    } else {
        sg_buf_reset(&c->out);
    }
    event_del(c->wev);
    if (c->out_paused) {
        /* The client read its answers: take its next requests. */
        c->out_paused = false;
        if (!c->read_paused && !c->peer_closed)
            event_add(c->rev, NULL);
        conn_resume_later(c);
    }
    if (c->state == C_CLOSING && !c->shut_wr)
        conn_linger(c);
}

/* Writes one response. close_after forces "Connection: close"; extra is added verbatim
 * (complete header lines). The connection goes back to idle (next request) or to closing. */
static void respond(struct conn *c, int status, const char *content_type, const char *body,
                    size_t body_len, const char *extra, bool close_after)
{
    struct ingress_server *s = c->s;
    bool keep = c->keep_alive && !close_after && !s->draining && !c->peer_closed;
    char num[24];
    /* Plain appends, not sg_buf_printf: the same bytes without vfprintf on every answer. */
    enum sg_err e = sg_buf_puts(&c->out, "HTTP/1.1 ");
    if (!e)
        e = sg_buf_puts(&c->out, fmt_u64(num, sizeof num, (uint64_t)(unsigned)status));
    if (!e)
        e = sg_buf_putc(&c->out, ' ');
    if (!e)
        e = sg_buf_puts(&c->out, ingress_http_reason(status));
    if (!e)
        e = sg_buf_puts(&c->out, "\r\nContent-Type: ");
    if (!e)
        e = sg_buf_puts(&c->out, content_type);
    if (!e)
        e = sg_buf_puts(&c->out, "\r\nContent-Length: ");
    if (!e)
        e = sg_buf_puts(&c->out, fmt_u64(num, sizeof num, (uint64_t)body_len));
    if (!e)
        e = sg_buf_puts(&c->out, "\r\nCache-Control: no-store\r\n");
    if (!e && extra)
        e = sg_buf_puts(&c->out, extra);
    if (!e)
        e = sg_buf_puts(&c->out,
                        keep ? (c->req.minor == 0 ? "Connection: keep-alive\r\n\r\n" : "\r\n")
                             : "Connection: close\r\n\r\n");
    if (!e)
        e = sg_buf_append(&c->out, body, body_len);
    count_request(s, status, c->event_label);
    c->event_label = NULL;
    sg_buf_free(&c->body);
    account(c);
    c->idle_since_ms = sg_mono_ms();
    if (e) {
        conn_kill(c);
        return;
    }
    if (!keep) {
        c->state = C_CLOSING;
        set_deadline(c, WRITE_TIMEOUT_S);
    } else {
        c->state = C_IDLE;
        set_deadline(c, s->cfg->keepalive_timeout_s);
        if (c->read_paused) {
            c->read_paused = false;
            if (!c->out_paused)
                event_add(c->rev, NULL);
        }
    }
    conn_flush(c);
}

static void respond_json(struct conn *c, int status, const char *st, const char *error,
                         const char *delivery, const char *extra, bool close_after)
{
    char body[512];
    struct sg_buf b;
    sg_buf_init(&b, sizeof body - 1);
    b.data = body;
    b.cap = sizeof body;
    /* Fixed capacity: every string here is short (static text or a validated delivery id). */
    sg_buf_puts(&b, "{\"status\":");
    sg_buf_put_json_str(&b, st, strlen(st));
    if (error) {
        sg_buf_puts(&b, ",\"error\":");
        sg_buf_put_json_str(&b, error, strlen(error));
    }
    if (delivery) {
        sg_buf_puts(&b, ",\"delivery\":");
        sg_buf_put_json_str(&b, delivery, strlen(delivery));
    }
    sg_buf_putc(&b, '}');
    respond(c, status, "application/json", b.data, b.len, extra, close_after);
}

static void respond_error(struct conn *c, int status, const char *error, bool close_after)
{
    char extra[64] = "";
    if (status == 503)
        snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)c->s->cfg->retry_after_s);
    else if (status == 405)
        snprintf(extra, sizeof extra, "Allow: %s\r\n",
                 ingress_str_eq(c->req.path, c->s->cfg->webhook_path) ? "POST" : "GET");
    respond_json(c, status, "error", error, NULL, extra, close_after);
}

static void log_webhook(struct ingress_server *s, int status, const char *error,
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
static void copy_str(char *dst, size_t cap, struct ingress_str s)
{
    size_t n = s.p ? (s.len < cap - 1 ? s.len : cap - 1) : 0;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* snprintf(dst, cap, "%s", src ? src : "") without the format parser: truncates to cap-1. */
static void copy_cstr(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------ webhooks */

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
    log_webhook(s, status, error, p->delivery, p->event, p->action[0] ? p->action : NULL,
                p->installation, p->repo[0] ? p->repo : NULL, p->start_us, p->client);
    if (c) {
        c->pending = NULL;
        c->event_label = p->event_label;
        if (status == 202)
            respond_json(c, 202, "queued", NULL, p->delivery, NULL, false);
        else if (status == 200)
            respond_json(c, 200, "duplicate", NULL, NULL, NULL, false);
        else
            respond_error(c, 503, error, false);
    } else {
        /* The client went away first; the outcome is in Redis and in the log line above. */
        count_request(s, status, p->event_label);
    }
    free(p);
    if (c)
        conn_resume_later(c);
    if (s->draining)
        drain_check(s);
}

static void handle_webhook(struct conn *c, const char *body, size_t len)
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
    /* The limiter only shields us from guessing: a correctly signed delivery goes through even
     * from a blocked address (behind a proxy GitHub shares it with everyone). A blocked client's
     * bad signature still gets 429 without its body being parsed. */
    if (in.blocked_s && in.signature.p &&
        ingress_hmac_verify(s->hmac, body, len, in.signature.p, in.signature.len))
        in.blocked_s = 0;
    ingress_webhook_process(cfg->webhook_secret, s->secret_len, &in, r);
    char delivery[INGRESS_DELIVERY_MAX + 1], event[INGRESS_EVENT_MAX + 1];
    copy_str(delivery, sizeof delivery, c->req.delivery);
    copy_str(event, sizeof event, c->req.event);

    if (r->signature_failed) {
        ingress_limiter_fail(s->limiter, c->client, now_ms / 1000);
        sg_metric_inc(s->m_sigfail, NULL);
    }
    if (r->status) {
        log_webhook(s, r->status, r->error, delivery[0] ? delivery : NULL, event[0] ? event : NULL,
                    r->action, r->installation, r->repo, c->start_us, c->client);
        if (r->error) {
            char extra[64] = "";
            if (r->status == 429)
                snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)r->retry_after);
            respond_json(c, r->status, "error", r->error, NULL, extra, false);
        } else {
            respond_json(c, r->status, r->answer, NULL, NULL, NULL, false);
        }
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        respond_error(c, 503, "out of memory", false);
        return;
    }
    p->c = c;
    p->s = s;
    p->start_us = c->start_us;
    p->event_label = c->event_label;
    p->installation = r->installation;
    copy_cstr(p->delivery, sizeof p->delivery, delivery);
    copy_cstr(p->event, sizeof p->event, event);
    copy_cstr(p->action, sizeof p->action, r->action);
    copy_cstr(p->repo, sizeof p->repo, r->repo);
    copy_cstr(p->client, sizeof p->client, c->client);
    enum sg_err e = ingress_redis_enqueue(s->redis, c->req.delivery.p, c->req.delivery.len,
                                          r->job.data, r->job.len, cfg->dedupe_ttl_s,
                                          cfg->queue_high_watermark, on_enqueued, p);
    if (e) {
        log_webhook(s, 503, "redis unavailable", delivery, event, p->action[0] ? p->action : NULL,
                    p->installation, p->repo[0] ? p->repo : NULL, c->start_us, c->client);
        free(p);
        respond_error(c, 503, "redis unavailable", false);
        return;
    }
    s->npending++;
    c->pending = p;
    c->state = C_BUSY;
    evtimer_del(c->timer); /* the Redis watchdog bounds the wait */
}

/* ------------------------------------------------------------------ probes and metrics */

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
        respond(c, 200, SG_METRICS_CONTENT_TYPE, sg_buf_str(&b), b.len, NULL, false);
        conn_resume_later(c);
    }
    sg_buf_free(&b);
}

static void on_stats(struct ingress_redis *rd, struct redisReply *reply, void *priv)
{
    struct ingress_server *s = priv; /* alive: ingress_server_free() frees Redis first */
    (void)rd;
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

/* ------------------------------------------------------------------ request dispatch */

static bool is_get(const struct conn *c)
{
    return ingress_str_eq(c->req.method, "GET");
}

/* Routes a parsed head: answers probes, errors and 404/405 at once, or moves a webhook on to its
 * body. */
static void dispatch(struct conn *c)
{
    struct ingress_server *s = c->s;
    const struct ingress_config *cfg = s->cfg;
    struct ingress_http_req *req = &c->req;
    bool has_body = req->chunked || (req->has_length && req->content_length > 0);

    if (!c->metrics_only && ingress_str_eq(req->path, cfg->webhook_path)) {
        c->event_label = ingress_event_label(req->event);
        if (!ingress_str_eq(req->method, "POST")) {
            respond_error(c, 405, "method not allowed", has_body);
            return;
        }
        if (req->has_length && req->content_length > (uint64_t)cfg->max_body_bytes) {
            char delivery[INGRESS_DELIVERY_MAX + 1], event[INGRESS_EVENT_MAX + 1];
            copy_str(delivery, sizeof delivery, req->delivery);
            copy_str(event, sizeof event, req->event);
            log_webhook(s, 413, "body too large", delivery[0] ? delivery : NULL,
                        event[0] ? event : NULL, NULL, 0, NULL, c->start_us, c->client);
            respond_error(c, 413, "body too large", true);
            return;
        }
        if (req->expect_continue && req->minor >= 1 &&
            c->in.len - c->in_off < req->content_length) {
            if (sg_buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == SG_OK)
                conn_flush(c);
        }
        c->state = C_BODY;
        set_deadline(c, cfg->body_timeout_s);
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
        respond_error(c, 404, "not found", has_body);
        return;
    }
    if (!is_get(c)) {
        respond_error(c, 405, "method not allowed", has_body);
        return;
    }
    if (has_body) {
        respond_error(c, 400, "unexpected request body", true);
        return;
    }
    if (ingress_str_eq(req->path, "/healthz")) {
        respond_json(c, 200, "ok", NULL, NULL, NULL, false);
    } else if (ingress_str_eq(req->path, "/readyz")) {
        if (s->draining)
            respond_error(c, 503, "draining", false);
        else if (!ingress_redis_ready(s->redis))
            respond_error(c, 503, "redis unavailable", false);
        else
            respond_json(c, 200, "ready", NULL, NULL, NULL, false);
    } else {
        serve_metrics(c);
    }
}

static void read_head(struct conn *c)
{
    struct ingress_server *s = c->s;
    const char *data = c->in.data + c->in_off;
    size_t avail = c->in.len - c->in_off;
    size_t max = (size_t)s->cfg->max_header_bytes;
    size_t look = avail < max ? avail : max;
    size_t end = ingress_http_head_end(data, look);
    if (!end) {
        if (avail >= max) {
            c->keep_alive = false;
            respond_error(c, 431, "request head too large", true);
        }
        return; /* wait for more */
    }
    /* A copy: the request's pointers must survive input buffer compaction while it waits. */
    sg_buf_reset(&c->head);
    if (sg_buf_append(&c->head, data, end) != SG_OK) {
        respond_error(c, 503, "out of memory", true);
        return;
    }
    c->in_off += end;
    const char *reason = NULL;
    enum ingress_http_result hr =
        ingress_http_parse_head(c->head.data, c->head.len, &c->req, &reason);
    if (hr != INGRESS_HTTP_OK) {
        c->keep_alive = false;
        respond_error(c,
                      hr == INGRESS_HTTP_VERSION       ? 505
                      : hr == INGRESS_HTTP_UNSUPPORTED ? 501
                                                       : 400,
                      reason, true);
        return;
    }
    c->keep_alive = c->req.keep_alive;
    if (c->proxy)
        ingress_client_addr(&s->cfg->trusted, &c->peer, c->head.data, c->head.len, c->client);
    dispatch(c);
}

static void read_body(struct conn *c)
{
    const char *data = c->in.data + c->in_off;
    size_t avail = c->in.len - c->in_off;
    if (!c->req.chunked) {
        size_t need = c->req.has_length ? (size_t)c->req.content_length : 0;
        if (avail < need)
            return;
        c->in_off += need;
        handle_webhook(c, need ? data : "", need);
        return;
    }
    if (avail == 0)
        return;
    size_t used = 0;
    if (over_budget(c, avail)) {
        respond_error(c, 503, "server busy: too much buffered", true);
        return;
    }
    enum ingress_chunked_result cr = ingress_chunked_feed(&c->chunk, data, avail, &used, &c->body);
    account(c);
    c->in_off += used;
    if (cr == INGRESS_CHUNKED_MORE)
        return;
    if (cr == INGRESS_CHUNKED_DONE) {
        handle_webhook(c, c->body.data ? c->body.data : "", c->body.len);
        return;
    }
    char delivery[INGRESS_DELIVERY_MAX + 1], event[INGRESS_EVENT_MAX + 1];
    copy_str(delivery, sizeof delivery, c->req.delivery);
    copy_str(event, sizeof event, c->req.event);
    int status = cr == INGRESS_CHUNKED_TOO_LARGE ? 413 : 400;
    const char *err = status == 413 ? "body too large" : "malformed chunked body";
    log_webhook(c->s, status, err, delivery[0] ? delivery : NULL, event[0] ? event : NULL, NULL, 0,
                NULL, c->start_us, c->client);
    respond_error(c, status, err, true);
}

/* Runs the state machine over whatever input is buffered (pipelined requests included). */
static void conn_process(struct conn *c)
{
    for (;;) {
        enum cstate before = c->state;
        size_t off_before = c->in_off;
        switch (c->state) {
        case C_IDLE:
            if (c->in.len == c->in_off)
                return;
            if (c->out.len - c->out_off > OUT_PAUSE) {
                /* Answers unread: no more requests (nor reads) until they drain. */
                c->out_paused = true;
                event_del(c->rev);
                return;
            }
            c->state = C_HEAD;
            c->start_us = sg_mono_us();
            set_deadline(c, c->s->cfg->header_timeout_s);
            /* fall through */
        case C_HEAD:
            read_head(c);
            break;
        case C_BODY:
            read_body(c);
            break;
        case C_BUSY:
        case C_CLOSING:
            return;
        }
        if (c->state == before && c->in_off == off_before)
            return; /* needs more input */
    }
}

/* ------------------------------------------------------------------ connection callbacks */

/* Moves the unconsumed input to the front of the buffer. */
static void compact_input(struct conn *c)
{
    if (c->in_off == c->in.len) {
        c->in.len = 0;
        c->in_off = 0;
        if (c->in.cap > 256 * 1024 && c->state != C_BODY) {
            size_t max = c->in.max;
            sg_buf_free(&c->in); /* a large body was read: give the memory back */
            sg_buf_init(&c->in, max);
            account(c);
        }
    } else if (c->in_off > 0) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
}

/* The input buffer capacity that holds n more bytes: doubling while small, then grown by what
 * arrives (16 KiB steps), so the memory a connection holds stays close to what its client sent
 * and a 600 KB body does not take a 1 MiB buffer. */
static size_t in_cap_for(const struct conn *c, size_t n)
{
    size_t need = c->in.len + n + 1;
    if (need <= c->in.cap)
        return c->in.cap;
    if (need > READ_CHUNK)
        return (need + 16383) & ~(size_t)16383;
    size_t cap = c->in.cap ? c->in.cap : 1024;
    while (cap < need)
        cap *= 2;
    return cap;
}

/* Processes buffered input; c may be freed. */
static void conn_advance(struct conn *c)
{
    conn_process(c);
    if (c->peer_closed && !c->dead &&
        (c->state == C_IDLE || c->state == C_HEAD || c->state == C_BODY))
        conn_free(c); /* nothing to answer, or a request that can no longer complete */
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)what;
    if (c->state == C_CLOSING) {
        char junk[4096];
        ssize_t n = recv(fd, junk, sizeof junk, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c->peer_closed = true;
            event_del(c->rev);
            if (c->shut_wr)
                conn_free(c);
        }
        return;
    }
    compact_input(c);
    for (int i = 0; i < 8; i++) {
        size_t room = c->in.max - c->in.len;
        if (room == 0) {
            /* Full (a pipelining client while we wait for Redis): read again after answering. */
            c->read_paused = true;
            event_del(c->rev);
            break;
        }
        size_t want = room < READ_CHUNK ? room : READ_CHUNK;
        /* Into the shared scratch first: an idle connection's buffer grows only by what its
         * client actually sent, not by a whole read chunk. */
        ssize_t n = recv(fd, c->s->scratch, want, 0);
        if (n > 0) {
            size_t ncap = in_cap_for(c, (size_t)n);
            bool over = ncap > c->in.cap && over_budget(c, ncap - c->in.cap);
            if (over && c->state != C_BUSY) {
                respond_error(c, 503, "server busy: too much buffered", true);
                return;
            }
            if (ncap > c->in.cap) {
                char *d = realloc(c->in.data, ncap);
                if (!d) {
                    conn_free(c);
                    return;
                }
                c->in.data = d;
                c->in.cap = ncap;
            }
            memcpy(c->in.data + c->in.len, c->s->scratch, (size_t)n);
            c->in.len += (size_t)n;
            c->in.data[c->in.len] = '\0';
            account(c);
            if (over) {
                /* An answer is still owed: keep these bytes, read no more until it is sent. */
                c->read_paused = true;
                event_del(c->rev);
                break;
            }
            if ((size_t)n < want)
                break;
            continue;
        }
        if (n == 0) {
            c->peer_closed = true;
            c->keep_alive = false;
            event_del(c->rev);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        if (c->state == C_BUSY && c->pending)
            sg_log_debug("client went away before the answer", SG_KV_STR("client", c->client),
                         SG_KV_END);
        conn_free(c);
        return;
    }
    conn_advance(c);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_advance(arg);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    if (what & EV_TIMEOUT) {
        conn_free(c); /* the client does not read its answer */
        return;
    }
    conn_flush(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;
    switch (c->state) {
    case C_HEAD:
    case C_BODY:
        /* Slowloris: the head or body did not arrive in time. */
        c->keep_alive = false;
        if (c->state == C_BODY && ingress_str_eq(c->req.path, c->s->cfg->webhook_path))
            log_webhook(c->s, 408, "request timed out", NULL, NULL, NULL, 0, NULL, c->start_us,
                        c->client);
        respond_error(c, 408, "request timed out", true);
        break;
    case C_IDLE:
    case C_CLOSING:
    default:
        conn_free(c);
        break;
    }
}

static void conn_free(struct conn *c)
{
    struct ingress_server *s = c->s;
    if (c->pending)
        c->pending->c = NULL;
    if (c->waiting_stats) {
        c->wnext->wprev = c->wprev;
        c->wprev->wnext = c->wnext;
    }
    c->next->prev = c->prev;
    c->prev->next = c->next;
    event_free(c->rev);
    event_free(c->wev);
    event_free(c->timer);
    event_free(c->resume);
    evutil_closesocket(c->fd);
    s->buffered -= c->accounted;
    sg_buf_free(&c->in);
    sg_buf_free(&c->out);
    sg_buf_free(&c->head);
    sg_buf_free(&c->body);
    if (c->rejected)
        s->nrejecting--;
    free(c);
    s->nconns--;
    if (s->draining)
        drain_check(s);
}

/* A connection that can be closed to make room: idle keep-alive (or not yet sending), nothing
 * buffered either way. */
static bool conn_reclaimable(const struct conn *c)
{
    return c->state == C_IDLE && !c->rejected && c->in.len == c->in_off && c->out.len == c->out_off;
}

/* Makes room for a connection from peer: false when peer already holds its share of the slots
 * (a trusted proxy carries many clients and has no share); when all slots are taken, the
 * longest-idle connection is closed, so held idle connections cannot lock deliveries out. */
static bool make_room(struct ingress_server *s, const struct ingress_ip *peer, bool proxy)
{
    size_t same = 0;
    struct conn *oldest = NULL;
    for (struct conn *c = s->conns.next; c != &s->conns; c = c->next) {
        if (!proxy && !c->rejected && memcmp(&c->peer, peer, sizeof *peer) == 0)
            same++;
        if (conn_reclaimable(c) && (!oldest || c->idle_since_ms < oldest->idle_since_ms))
            oldest = c;
    }
    if (!proxy && same >= (size_t)s->cfg->max_connections_per_client)
        return false;
    if (s->nconns - s->nrejecting < s->max_conns)
        return true;
    if (!oldest)
        return false;
    conn_free(oldest);
    return true;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct ingress_server *s = arg;
    (void)salen;
    struct ingress_ip peer;
    memset(&peer, 0, sizeof peer);
    bool inet = ingress_ip_from_sockaddr(sa, &peer);
    bool proxy = inet && ingress_trusted_has(&s->cfg->trusted, &peer);
    bool over = s->draining || !make_room(s, &peer, proxy);
    if (over && s->nrejecting >= MAX_REJECTING) {
        /* Past the cap and past the few rejections we linger on: just close. */
        const char *labels[2] = {"503", "none"};
        sg_metric_inc(s->m_requests, labels);
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->s = s;
    c->peer = peer;
    c->proxy = proxy;
    c->metrics_only = l == s->mlistener;
    if (inet)
        ingress_ip_format(&peer, c->addr);
    else
        copy_cstr(c->addr, sizeof c->addr, "local");
    memcpy(c->client, c->addr, sizeof c->client);
    c->idle_since_ms = sg_mono_ms();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_readable, c);
    c->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
    c->timer = evtimer_new(s->base, on_timer, c);
    c->resume = event_new(s->base, -1, 0, on_resume, c);
    if (!c->rev || !c->wev || !c->timer || !c->resume || event_add(c->rev, NULL) != 0) {
        if (c->rev)
            event_free(c->rev);
        if (c->wev)
            event_free(c->wev);
        if (c->timer)
            event_free(c->timer);
        if (c->resume)
            event_free(c->resume);
        evutil_closesocket(fd);
        free(c);
        return;
    }
    sg_buf_init(&c->head, (size_t)s->cfg->max_header_bytes);
    sg_buf_init(&c->body, 1);
    sg_buf_init(&c->in, (size_t)(s->cfg->max_header_bytes + s->cfg->max_body_bytes) + READ_CHUNK);
    sg_buf_init(&c->out, OUT_MAX);
    c->next = &s->conns;
    c->prev = s->conns.prev;
    s->conns.prev->next = c;
    s->conns.prev = c;
    s->nconns++;
    c->state = C_IDLE;
    set_deadline(c, s->cfg->header_timeout_s);
    if (over) {
        /* Answered through the normal path so the client reads our 503 before the close. */
        c->rejected = true;
        s->nrejecting++;
        respond_error(c, 503, "too many connections", true);
    }
}

static void set_listening(struct ingress_server *s, bool on)
{
    struct evconnlistener *ls[2] = {s->listener, s->mlistener};
    for (int i = 0; i < 2; i++)
        if (ls[i])
            on ? evconnlistener_enable(ls[i]) : evconnlistener_disable(ls[i]);
}

static void on_accept_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    set_listening(arg, true);
}

/* accept() failed. Out of descriptors (or memory), the pending connection stays queued and the
 * listener stays readable: retrying at once would spin. The listeners rest a moment instead, and
 * the failures are logged at most once per ACCEPT_LOG_EVERY_MS. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct ingress_server *s = arg;
    (void)l;
    int err = EVUTIL_SOCKET_ERROR();
    s->accept_failures++;
    int64_t now = sg_mono_ms();
    if (!s->accept_logged_ms || now - s->accept_logged_ms >= ACCEPT_LOG_EVERY_MS) {
        sg_log_warn("accept failed", SG_KV_STR("err", evutil_socket_error_to_string(err)),
                    SG_KV_INT("failures", (long long)s->accept_failures),
                    SG_KV_INT("connections", (long long)s->nconns), SG_KV_END);
        s->accept_logged_ms = now;
        s->accept_failures = 0;
    }
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        set_listening(s, false);
        struct timeval tv = {0, ACCEPT_BACKOFF_MS * 1000};
        evtimer_add(s->accept_timer, &tv);
    }
}

/* ------------------------------------------------------------------ drain */

static void drain_check(struct ingress_server *s)
{
    if (s->nconns == 0 && s->npending == 0) {
        event_base_loopexit(s->base, NULL);
        return;
    }
    if (sg_mono_ms() >= s->drain_deadline_ms) {
        sg_log_warn("shutdown grace expired", SG_KV_INT("connections", (long long)s->nconns),
                    SG_KV_INT("pending", (long long)s->npending), SG_KV_END);
        event_base_loopexit(s->base, NULL);
    }
}

static void on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain_check(arg);
}

void ingress_server_drain(struct ingress_server *s)
{
    if (s->draining)
        return;
    s->draining = true;
    s->drain_deadline_ms = sg_mono_ms() + s->cfg->shutdown_grace_s * 1000;
    sg_log_info("draining", SG_KV_INT("connections", (long long)s->nconns),
                SG_KV_INT("grace_s", s->cfg->shutdown_grace_s), SG_KV_END);
    if (s->listener) {
        evconnlistener_free(s->listener);
        s->listener = NULL;
    }
    if (s->mlistener) {
        evconnlistener_free(s->mlistener);
        s->mlistener = NULL;
    }
    /* Idle keep-alive connections have nothing in flight: close them now. */
    struct conn *c = s->conns.next;
    while (c != &s->conns) {
        struct conn *next = c->next;
        if (c->state == C_IDLE && c->in.len == c->in_off)
            conn_free(c);
        c = next;
    }
    struct timeval tv = {0, 50 * 1000};
    event_add(s->drain_timer, &tv);
    drain_check(s);
}

/* ------------------------------------------------------------------ setup */

static const double DURATION_BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};

/* MAX_CONNECTIONS, lowered (with one warning) when the open-file limit could not hold that many
 * connections beside FD_RESERVE: otherwise accept() would fail for lack of descriptors long
 * before the cap applies. */
static size_t fd_budget(const struct ingress_config *cfg)
{
    size_t want = (size_t)cfg->max_connections;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= (rlim_t)(want + FD_RESERVE))
        return want;
    size_t fit =
        rl.rlim_cur > 2 * FD_RESERVE ? (size_t)rl.rlim_cur - FD_RESERVE : (size_t)rl.rlim_cur / 2;
    if (fit < 1)
        fit = 1;
    sg_log_warn("MAX_CONNECTIONS lowered to fit the open-file limit (ulimit -n)",
                SG_KV_INT("max_connections", (long long)want),
                SG_KV_INT("lowered_to", (long long)fit),
                SG_KV_INT("nofile", (long long)rl.rlim_cur), SG_KV_END);
    return fit;
}

/* Binds HOST:port; the port actually bound goes to *bound (useful with port 0). */
static struct evconnlistener *listen_on(struct ingress_server *s, int64_t port, int *bound,
                                        char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%lld", (long long)port);
    int gai = getaddrinfo(s->cfg->host, ps, &hints, &res);
    if (gai) {
        snprintf(err, errlen, "HOST: cannot resolve \"%s\": %s", s->cfg->host, gai_strerror(gai));
        return NULL;
    }
    struct evconnlistener *l = evconnlistener_new_bind(
        s->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        1024, res->ai_addr, (int)res->ai_addrlen);
    if (!l) {
        snprintf(err, errlen, "%s: cannot listen on %s:%s: %s",
                 port == s->cfg->port ? "PORT" : "METRICS_PORT", s->cfg->host, ps, strerror(errno));
        freeaddrinfo(res);
        return NULL;
    }
    freeaddrinfo(res);
    evconnlistener_set_error_cb(l, on_accept_error);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl) == 0)
        *bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return l;
}

struct ingress_server *ingress_server_new(struct event_base *base, const struct ingress_config *cfg,
                                          char *err, size_t errlen)
{
    struct ingress_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->base = base;
    s->secret_len = strlen(cfg->webhook_secret);
    s->conns.next = s->conns.prev = &s->conns;
    s->waiters.wnext = s->waiters.wprev = &s->waiters;
    ingress_webhook_result_init(&s->result, (size_t)cfg->max_body_bytes);

    s->metrics = sg_metrics_new();
    s->limiter = ingress_limiter_new(4096, cfg->signature_failure_limit, 60);
    s->drain_timer = event_new(base, -1, EV_PERSIST, on_drain_timer, s);
    s->accept_timer = evtimer_new(base, on_accept_timer, s);
    s->redis = ingress_redis_new(base, &cfg->redis, cfg->redis_timeout_ms);
    s->hmac = ingress_hmac_new(cfg->webhook_secret, s->secret_len);
    if (!s->metrics || !s->limiter || !s->drain_timer || !s->accept_timer || !s->redis ||
        !s->hmac) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->m_requests =
        sg_metrics_counter(s->metrics, "singularity_ingress_requests_total",
                           "HTTP requests answered, by status code and event.", "code,event");
    s->m_duration = sg_metrics_histogram(s->metrics, "singularity_ingress_request_duration_seconds",
                                         "Webhook handling time from the first byte to the answer.",
                                         NULL, DURATION_BUCKETS,
                                         sizeof DURATION_BUCKETS / sizeof DURATION_BUCKETS[0]);
    s->m_sigfail = sg_metrics_counter(s->metrics, "singularity_ingress_signature_failures_total",
                                      "Webhooks refused for a missing or wrong signature.", NULL);
    if (!sg_queue_gauges_register(&s->m_queue, s->metrics) || !s->m_requests || !s->m_duration ||
        !s->m_sigfail) {
        snprintf(err, errlen, "cannot register metrics");
        goto fail;
    }

    s->max_conns = fd_budget(cfg);
    s->listener = listen_on(s, cfg->port, &s->port, err, errlen);
    if (!s->listener)
        goto fail;
    if (cfg->metrics_port) {
        s->mlistener = listen_on(s, cfg->metrics_port, &s->metrics_port, err, errlen);
        if (!s->mlistener)
            goto fail;
    }
    ingress_redis_start(s->redis);
    return s;
fail:
    ingress_server_free(s);
    return NULL;
}

int ingress_server_port(const struct ingress_server *s)
{
    return s->port;
}

int ingress_server_metrics_port(const struct ingress_server *s)
{
    return s->metrics_port;
}

void ingress_server_free(struct ingress_server *s)
{
    if (!s)
        return;
    while (s->conns.next != &s->conns) {
        s->draining = false; /* no drain checks while tearing down */
        conn_free(s->conns.next);
    }
    if (s->listener)
        evconnlistener_free(s->listener);
    if (s->mlistener)
        evconnlistener_free(s->mlistener);
    if (s->accept_timer)
        event_free(s->accept_timer);
    /* Pending requests get their callbacks (NULL reply) here; their connections are gone. */
    ingress_redis_free(s->redis);
    if (s->drain_timer)
        event_free(s->drain_timer);
    ingress_limiter_free(s->limiter);
    ingress_hmac_free(s->hmac);
    sg_metrics_free(s->metrics);
    ingress_webhook_result_free(&s->result);
    free(s);
}
