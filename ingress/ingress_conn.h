/* Why: the ingress's connection and server state, shared by the three files that make up the
 * server: ingress_server.c (reading and writing connections, setup, drain), ingress_listen.c
 * (accepting, slots, descriptor limits) and ingress_routes.c (what each request is answered).
 * Internal to them; everyone else uses ingress_server.h.
 *
 * Ownership: the server owns every struct conn (ingress_conn_free); a struct pending is owned by
 * the Redis callback it waits for and outlives its connection. */
#ifndef INGRESS_CONN_H
#define INGRESS_CONN_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingress_client.h"
#include "ingress_http.h"
#include "ingress_server.h"
#include "ingress_webhook.h"
#include "sg_buf.h"
#include "sg_metrics.h"
#include "sg_queue_stats.h"

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

/* ---- connections (ingress_server.c) ---- */
/* A new connection on fd from peer (NULL: not an IP socket); NULL (fd closed) on failure. */
struct conn *ingress_conn_new(struct ingress_server *s, evutil_socket_t fd,
                              const struct ingress_ip *peer, bool proxy, bool metrics_only);
void ingress_conn_free(struct conn *c);
/* Writes one response. close_after forces "Connection: close"; extra is added verbatim
 * (complete header lines). The connection goes back to idle (next request) or to closing. */
void ingress_conn_respond(struct conn *c, int status, const char *content_type, const char *body,
                          size_t body_len, const char *extra, bool close_after);
void ingress_conn_respond_json(struct conn *c, int status, const char *st, const char *error,
                               const char *delivery, const char *extra, bool close_after);
void ingress_conn_respond_error(struct conn *c, int status, const char *error, bool close_after);
void ingress_conn_flush(struct conn *c);
void ingress_conn_deadline(struct conn *c, int64_t seconds);
void ingress_conn_resume_later(struct conn *c);
/* Counts an answer in singularity_ingress_requests_total. */
void ingress_conn_count(struct ingress_server *s, int status, const char *event_label);
void ingress_server_drain_check(struct ingress_server *s);

/* ---- routes (ingress_routes.c) ---- */
/* Routes a parsed head: answers probes, errors and 404/405 at once, or moves a webhook on to its
 * body. */
void ingress_routes_dispatch(struct conn *c);
/* A complete webhook body: checks, then 4xx/200 at once or a job pushed to Redis. */
void ingress_routes_webhook(struct conn *c, const char *body, size_t len);
void ingress_routes_log(struct ingress_server *s, int status, const char *error,
                        const char *delivery, const char *event, const char *action,
                        int64_t installation, const char *repo, int64_t start_us, const char *addr);
void ingress_routes_copy_str(char *dst, size_t cap, struct ingress_str s);
void ingress_routes_copy_cstr(char *dst, size_t cap, const char *src);

/* ---- accepting (ingress_listen.c) ---- */
/* Binds PORT (and METRICS_PORT), fits MAX_CONNECTIONS to the descriptor limit. */
bool ingress_listen_start(struct ingress_server *s, char *err, size_t errlen);
/* Closes the listeners (drain, teardown); safe to call twice. */
void ingress_listen_stop(struct ingress_server *s);

#endif
