/* Why: the connections of the ingress; see ingress_server.h. Each connection is a small state
 * machine (idle -> head -> body -> busy (waiting for Redis) -> idle, or -> closing) driven by
 * plain libevent read/write events on the socket, with one timer that enforces whichever deadline
 * applies (slowloris). Sockets are read with recv() into a shared scratch buffer, appended to one
 * capped buffer per connection, and answers go out with send() right away; only a short write arms
 * a write event. (bufferevents cost an ioctl per read and two epoll_ctl per answer, which measured
 * as most of the CPU time.) All buffers count against MAX_BUFFER_BYTES. A request waiting for
 * Redis keeps a struct pending that outlives its connection, so a client that goes away first
 * never causes a second reply or a use-after-free. Accepting is ingress_listen.c's, answering
 * ingress_routes.c's; this file also owns the server's setup and the SIGTERM drain. */
#include "ingress_server.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingress_conn.h"
#include "ingress_hmac.h"
#include "ingress_limiter.h"
#include "ingress_redis.h"
#include "sg_log.h"
#include "sg_time.h"

/* ------------------------------------------------------------------ helpers */

static void conn_process(struct conn *c);

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
void ingress_conn_resume_later(struct conn *c)
{
    if (!c->dead && !c->out_paused && c->in.len > c->in_off)
        event_active(c->resume, EV_TIMEOUT, 0);
}

void ingress_conn_deadline(struct conn *c, int64_t seconds)
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

void ingress_conn_count(struct ingress_server *s, int status, const char *event_label)
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
        ingress_conn_deadline(c, LINGER_S);
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
void ingress_conn_flush(struct conn *c)
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
        ingress_conn_resume_later(c);
    }
    if (c->state == C_CLOSING && !c->shut_wr)
        conn_linger(c);
}

/* Writes one response. close_after forces "Connection: close"; extra is added verbatim
 * (complete header lines). The connection goes back to idle (next request) or to closing. */
void ingress_conn_respond(struct conn *c, int status, const char *content_type, const char *body,
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
    ingress_conn_count(s, status, c->event_label);
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
        ingress_conn_deadline(c, WRITE_TIMEOUT_S);
    } else {
        c->state = C_IDLE;
        ingress_conn_deadline(c, s->cfg->keepalive_timeout_s);
        if (c->read_paused) {
            c->read_paused = false;
            if (!c->out_paused)
                event_add(c->rev, NULL);
        }
    }
    ingress_conn_flush(c);
}

void ingress_conn_respond_json(struct conn *c, int status, const char *st, const char *error,
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
    ingress_conn_respond(c, status, "application/json", b.data, b.len, extra, close_after);
}

void ingress_conn_respond_error(struct conn *c, int status, const char *error, bool close_after)
{
    char extra[64] = "";
    if (status == 503)
        snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)c->s->cfg->retry_after_s);
    else if (status == 405)
        snprintf(extra, sizeof extra, "Allow: %s\r\n",
                 ingress_str_eq(c->req.path, c->s->cfg->webhook_path) ? "POST" : "GET");
    ingress_conn_respond_json(c, status, "error", error, NULL, extra, close_after);
}

/* ------------------------------------------------------------------ reading requests */

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
            ingress_conn_respond_error(c, 431, "request head too large", true);
        }
        return; /* wait for more */
    }
    /* A copy: the request's pointers must survive input buffer compaction while it waits. */
    sg_buf_reset(&c->head);
    if (sg_buf_append(&c->head, data, end) != SG_OK) {
        ingress_conn_respond_error(c, 503, "out of memory", true);
        return;
    }
    c->in_off += end;
    const char *reason = NULL;
    enum ingress_http_result hr =
        ingress_http_parse_head(c->head.data, c->head.len, &c->req, &reason);
    if (hr != INGRESS_HTTP_OK) {
        c->keep_alive = false;
        ingress_conn_respond_error(c, ingress_http_status(hr), reason, true);
        return;
    }
    c->keep_alive = c->req.keep_alive;
    if (c->proxy)
        ingress_client_addr(&s->cfg->trusted, &c->peer, c->head.data, c->head.len, c->client);
    ingress_routes_dispatch(c);
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
        ingress_routes_webhook(c, need ? data : "", need);
        return;
    }
    if (avail == 0)
        return;
    size_t used = 0;
    if (over_budget(c, avail)) {
        ingress_conn_respond_error(c, 503, "server busy: too much buffered", true);
        return;
    }
    enum ingress_chunked_result cr = ingress_chunked_feed(&c->chunk, data, avail, &used, &c->body);
    account(c);
    c->in_off += used;
    if (cr == INGRESS_CHUNKED_MORE)
        return;
    if (cr == INGRESS_CHUNKED_DONE) {
        ingress_routes_webhook(c, c->body.data ? c->body.data : "", c->body.len);
        return;
    }
    char delivery[INGRESS_DELIVERY_MAX + 1], event[INGRESS_EVENT_MAX + 1];
    ingress_routes_copy_str(delivery, sizeof delivery, c->req.delivery);
    ingress_routes_copy_str(event, sizeof event, c->req.event);
    int status = cr == INGRESS_CHUNKED_TOO_LARGE ? 413 : 400;
    const char *err = status == 413 ? "body too large" : "malformed chunked body";
    ingress_routes_log(c->s, status, err, delivery[0] ? delivery : NULL, event[0] ? event : NULL,
                       NULL, 0, NULL, c->start_us, c->client);
    ingress_conn_respond_error(c, status, err, true);
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
            if (c->proxy) /* until this request's X-Forwarded-For is read */
                memcpy(c->client, c->addr, sizeof c->client);
            ingress_conn_deadline(c, c->s->cfg->header_timeout_s);
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
        ingress_conn_free(c); /* nothing to answer, or a request that can no longer complete */
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
                ingress_conn_free(c);
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
        /* Straight into the connection's buffer while it has room (no copy); otherwise into the
         * shared scratch first, so an idle connection's buffer grows only by what its client
         * actually sent, not by a whole read chunk. */
        size_t spare = c->in.cap > c->in.len + 1 ? c->in.cap - c->in.len - 1 : 0;
        bool direct = spare >= 4096;
        if (direct && want > spare)
            want = spare;
        ssize_t n = recv(fd, direct ? c->in.data + c->in.len : c->s->scratch, want, 0);
        if (n > 0 && direct) {
            c->in.len += (size_t)n;
            c->in.data[c->in.len] = '\0';
            if ((size_t)n < want)
                break;
            continue;
        }
        if (n > 0) {
            size_t ncap = in_cap_for(c, (size_t)n);
            bool over = ncap > c->in.cap && over_budget(c, ncap - c->in.cap);
            if (over && c->state != C_BUSY) {
                ingress_conn_respond_error(c, 503, "server busy: too much buffered", true);
                return;
            }
            if (ncap > c->in.cap) {
                char *d = realloc(c->in.data, ncap);
                if (!d) {
                    ingress_conn_free(c);
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
        ingress_conn_free(c);
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
        ingress_conn_free(c); /* the client does not read its answer */
        return;
    }
    ingress_conn_flush(c);
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
            ingress_routes_log(c->s, 408, "request timed out", NULL, NULL, NULL, 0, NULL,
                               c->start_us, c->client);
        ingress_conn_respond_error(c, 408, "request timed out", true);
        break;
    case C_IDLE:
    case C_CLOSING:
    default:
        ingress_conn_free(c);
        break;
    }
}

void ingress_conn_free(struct conn *c)
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
        ingress_server_drain_check(s);
}

struct conn *ingress_conn_new(struct ingress_server *s, evutil_socket_t fd,
                              const struct ingress_ip *peer, bool proxy, bool metrics_only)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return NULL;
    }
    c->s = s;
    c->proxy = proxy;
    c->metrics_only = metrics_only;
    if (peer) {
        c->peer = *peer;
        ingress_ip_format(peer, c->addr);
    } else {
        ingress_routes_copy_cstr(c->addr, sizeof c->addr, "local");
    }
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
        return NULL;
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
    ingress_conn_deadline(c, s->cfg->header_timeout_s);
    return c;
}

/* ------------------------------------------------------------------ drain */

void ingress_server_drain_check(struct ingress_server *s)
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
    ingress_server_drain_check(arg);
}

void ingress_server_drain(struct ingress_server *s)
{
    if (s->draining)
        return;
    s->draining = true;
    s->drain_deadline_ms = sg_mono_ms() + s->cfg->shutdown_grace_s * 1000;
    sg_log_info("draining", SG_KV_INT("connections", (long long)s->nconns),
                SG_KV_INT("grace_s", s->cfg->shutdown_grace_s), SG_KV_END);
    ingress_listen_stop(s);
    /* Idle keep-alive connections have nothing in flight: close them now. */
    struct conn *c = s->conns.next;
    while (c != &s->conns) {
        struct conn *next = c->next;
        if (c->state == C_IDLE && c->in.len == c->in_off)
            ingress_conn_free(c);
        c = next;
    }
    struct timeval tv = {0, 50 * 1000};
    event_add(s->drain_timer, &tv);
    ingress_server_drain_check(s);
}

/* ------------------------------------------------------------------ setup */

static const double DURATION_BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};

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
    s->redis = ingress_redis_new(base, &cfg->redis, cfg->redis_timeout_ms);
    s->hmac = ingress_hmac_new(cfg->webhook_secret, s->secret_len);
    if (!s->metrics || !s->limiter || !s->drain_timer || !s->redis || !s->hmac) {
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

    if (!ingress_listen_start(s, err, errlen))
        goto fail;
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
        ingress_conn_free(s->conns.next);
    }
    ingress_listen_stop(s);
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
