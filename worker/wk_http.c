/* Why: see http.h. The thread owns its own event_base; stopping is a flag checked by a 100 ms
 * timer, so no libevent threading support is needed. */
#include "wk_http.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sg_buf.h"

struct wk_http {
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    pthread_t thread;
    atomic_bool stop;
    int port;
    struct sg_metrics *metrics;
    wk_http_health_fn health;
    void *ud;
};

static void reply_json(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(b, body, strlen(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct wk_http *h = arg;
    const char *uri = evhttp_request_get_uri(req);
    char path[256];
    size_t n = strcspn(uri, "?");
    if (n >= sizeof path)
        n = sizeof path - 1;
    memcpy(path, uri, n);
    path[n] = '\0';
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    bool known = strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0;
    if (!known) {
        reply_json(req, 404, "Not Found", "{\"status\":\"error\",\"error\":\"not found\"}");
        return;
    }
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_json(req, 405, "Method Not Allowed",
                   "{\"status\":\"error\",\"error\":\"method not allowed\"}");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        if (!h->health || h->health(h->ud))
            reply_json(req, 200, "OK", "{\"status\":\"ok\"}");
        else
            reply_json(req, 503, "Service Unavailable",
                       "{\"status\":\"error\",\"error\":\"job loop not alive\"}");
        return;
    }
    struct sg_buf out;
    sg_buf_init(&out, 16 << 20);
    if (sg_metrics_render(h->metrics, &out) != SG_OK) {
        sg_buf_free(&out);
        reply_json(req, 500, "Internal Server Error",
                   "{\"status\":\"error\",\"error\":\"render\"}");
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add(b, sg_buf_str(&out), out.len);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          SG_METRICS_CONTENT_TYPE);
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else {
        evhttp_send_error(req, 500, NULL);
    }
    sg_buf_free(&out);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct wk_http *h = arg;
    if (atomic_load(&h->stop))
        event_base_loopbreak(h->base);
}

static void *run(void *arg)
{
    struct wk_http *h = arg;
    event_base_dispatch(h->base);
    return NULL;
}

static void destroy(struct wk_http *h)
{
    if (h->tick)
        event_free(h->tick);
    if (h->http)
        evhttp_free(h->http);
    if (h->base)
        event_base_free(h->base);
    free(h);
}

struct wk_http *wk_http_start(const char *host, int port, struct sg_metrics *metrics,
                              wk_http_health_fn health, void *ud, char *err, size_t errlen)
{
    struct wk_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->metrics = metrics;
    h->health = health;
    h->ud = ud;
    h->base = event_base_new();
    h->http = h->base ? evhttp_new(h->base) : NULL;
    if (!h->http) {
        snprintf(err, errlen, "libevent initialisation failed");
        goto fail;
    }
    evhttp_set_timeout(h->http, 10);
    evhttp_set_max_headers_size(h->http, 16384);
    evhttp_set_max_body_size(h->http, 4096);
    evhttp_set_gencb(h->http, on_request, h);
    struct evhttp_bound_socket *s =
        evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
    if (!s) {
        snprintf(err, errlen, "METRICS_PORT: cannot listen on %s:%d", host, port);
        goto fail;
    }
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    h->tick = event_new(h->base, -1, EV_PERSIST, on_tick, h);
    struct timeval tv = {0, 100000};
    if (!h->tick || event_add(h->tick, &tv) != 0) {
        snprintf(err, errlen, "libevent timer failed");
        goto fail;
    }
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        snprintf(err, errlen, "cannot start the metrics thread");
        goto fail;
    }
    return h;
fail:
    destroy(h);
    return NULL;
}

int wk_http_port(const struct wk_http *h)
{
    return h->port;
}

void wk_http_stop(struct wk_http *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, true);
    pthread_join(h->thread, NULL);
    destroy(h);
}
