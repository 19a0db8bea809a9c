/* Why: see ingress_rlink.h. Replies come back in command order, so pending commands are a FIFO;
 * the read callback feeds every byte that arrived into the reader and answers as many commands as
 * there are complete replies. */
#include "ingress_rlink.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sg_time.h"
#include "sg_tls.h"
#include "sg_redis_reader.h"

struct pending {
    struct pending *next;
    ingress_rlink_reply_cb cb;
    void *priv;
    int64_t queued_ms;
};

struct ingress_rlink {
    struct bufferevent *bev;
    SSL *ssl; /* borrowed from bev (freed with it) */
    redisReader *reader;
    struct pending *head, *tail;
    size_t n_pending;
    ingress_rlink_event_cb ev;
    void *priv;
    bool up, failed;
    int busy;          /* > 0 while callbacks run from a libevent callback */
    bool free_asked;   /* ingress_rlink_free() was called during one */
    bool constructing; /* a failure now is returned by ingress_rlink_new, not reported */
    bool unix_socket;
    char why[256];
};

/* The oldest pending command, unlinked (NULL when none); the caller answers and frees it. */
static struct pending *pop(struct ingress_rlink *l)
{
    struct pending *p = l->head;
    if (!p)
        return NULL;
    l->head = p->next;
    if (!l->head)
        l->tail = NULL;
    l->n_pending--;
    return p;
}

static void answer_all(struct ingress_rlink *l)
{
    struct pending *p;
    while ((p = pop(l))) {
        p->cb(NULL, p->priv);
        free(p);
    }
}

static void destroy(struct ingress_rlink *l)
{
    answer_all(l);
    if (l->bev)
        bufferevent_free(l->bev);
    if (l->reader)
        redisReaderFree(l->reader);
    free(l);
}

void ingress_rlink_free(struct ingress_rlink *l)
{
    if (!l)
        return;
    if (l->busy) {
        l->free_asked = true;
        l->failed = true;
        return;
    }
    destroy(l);
}

/* Ends a libevent callback: the link goes if it was freed meanwhile. Returns false then. */
static bool leave(struct ingress_rlink *l)
{
    if (--l->busy == 0 && l->free_asked) {
        destroy(l);
        return false;
    }
    return true;
}

static void fail(struct ingress_rlink *l, const char *why)
{
    if (l->failed)
        return;
    l->failed = true;
    l->up = false;
    bufferevent_disable(l->bev, EV_READ | EV_WRITE);
    answer_all(l);
    snprintf(l->why, sizeof l->why, "%s", why);
    if (!l->free_asked && !l->constructing)
        l->ev(l, false, why, l->priv);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct ingress_rlink *l = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    l->busy++;
    struct evbuffer_iovec v[16];
    int n;
    while (!l->failed && (n = evbuffer_peek(in, -1, NULL, v, 16)) > 0) {
        size_t total = 0;
        for (int i = 0; i < n && i < 16; i++) {
            redisReaderFeed(l->reader, v[i].iov_base, v[i].iov_len);
            total += v[i].iov_len;
        }
        evbuffer_drain(in, total);
        void *reply = NULL;
        while (!l->failed) {
            if (redisReaderGetReply(l->reader, &reply) != REDIS_OK) {
                char why[160];
                snprintf(why, sizeof why, "redis protocol error: %s", l->reader->errstr);
                fail(l, why);
                break;
            }
            if (!reply)
                break;
            struct pending *p = pop(l);
            if (!p) {
                freeReplyObject(reply);
                fail(l, "redis sent a reply nobody asked for");
                break;
            }
            p->cb(reply, p->priv);
            freeReplyObject(reply);
            free(p);
        }
    }
    leave(l);
}

/* One line for a failed connection: DNS, socket, TLS verification or OpenSSL's own reason. */
static void describe(struct ingress_rlink *l, short what, char *why, size_t len)
{
    int dns = bufferevent_socket_get_dns_error(l->bev);
    unsigned long ossl = l->ssl ? bufferevent_get_openssl_error(l->bev) : 0;
    if (dns) {
        snprintf(why, len, "redis connect: %s", evutil_gai_strerror(dns));
    } else if (l->ssl && !l->up && SSL_get_verify_result(l->ssl) != X509_V_OK) {
        snprintf(why, len, "redis: TLS: certificate verify failed: %s",
                 X509_verify_cert_error_string(SSL_get_verify_result(l->ssl)));
    } else if (ossl) {
        char buf[200];
        ERR_error_string_n(ossl, buf, sizeof buf);
        snprintf(why, len, "redis TLS: %s", buf);
    } else if (what & BEV_EVENT_EOF) {
        snprintf(why, len, "redis: connection closed by the server");
    } else {
        int e = EVUTIL_SOCKET_ERROR();
        snprintf(why, len, "redis%s: %s", l->up ? "" : " connect",
                 e ? evutil_socket_error_to_string(e) : "connection failed");
    }
    while (l->ssl && bufferevent_get_openssl_error(l->bev))
        ; /* drop the rest of the queue */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct ingress_rlink *l = arg;
    (void)bev;
    l->busy++;
    if (what & BEV_EVENT_CONNECTED) {
        /* Commands are small and answered one batch at a time: Nagle's algorithm would hold a
         * batch back until the previous reply's ACK, 40 ms with delayed ACKs. */
        int one = 1;
        evutil_socket_t fd = bufferevent_getfd(bev);
        if (!l->unix_socket)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        l->up = true;
        l->ev(l, true, NULL, l->priv);
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        char why[256];
        describe(l, what, why, sizeof why);
        fail(l, why);
    }
    leave(l);
}

struct ingress_rlink *ingress_rlink_new(struct event_base *base, struct evdns_base *dns,
                                        const char *host, int port, const char *unix_path,
                                        SSL_CTX *tls, const struct sg_redis_opts *o,
                                        ingress_rlink_event_cb ev, void *priv, char *err,
                                        size_t errlen)
{
    struct ingress_rlink *l = calloc(1, sizeof *l);
    if (!l || !(l->reader = sg_redis_reader_new())) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->ev = ev;
    l->priv = priv;
    l->unix_socket = unix_path != NULL;
    int opts = BEV_OPT_CLOSE_ON_FREE;
    if (tls && !unix_path) {
        l->ssl = sg_tls_ssl_new(tls, o, host, err, errlen);
        if (!l->ssl) {
            destroy(l);
            return NULL;
        }
        l->bev = bufferevent_openssl_socket_new(base, -1, l->ssl, BUFFEREVENT_SSL_CONNECTING, opts);
        if (!l->bev)
            SSL_free(l->ssl);
        else
            bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
    } else {
        l->bev = bufferevent_socket_new(base, -1, opts);
    }
    if (!l->bev) {
        snprintf(err, errlen, "out of memory");
        destroy(l);
        return NULL;
    }
    bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
    /* A failure inside the connect may call on_event at once: it is returned here instead. */
    l->busy++;
    l->constructing = true;
    int rc;
    if (unix_path) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", unix_path);
        rc = bufferevent_socket_connect(l->bev, (struct sockaddr *)&sun, sizeof sun);
    } else {
        rc = bufferevent_socket_connect_hostname(l->bev, dns, AF_UNSPEC, host, port);
    }
    l->constructing = false;
    l->busy--;
    if (rc != 0 || l->failed) {
        if (!l->failed)
            describe(l, BEV_EVENT_ERROR, l->why, sizeof l->why);
        snprintf(err, errlen, "%s", l->why);
        destroy(l);
        return NULL;
    }
    return l;
}

static void free_cmd(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

enum sg_err ingress_rlink_command(struct ingress_rlink *l, ingress_rlink_reply_cb cb, void *priv,
                                  int argc, const char **argv, const size_t *lens)
{
    if (l->failed)
        return SG_ERR_REDIS;
    struct pending *p = malloc(sizeof *p);
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (!p || len <= 0) {
        free(p);
        free(cmd);
        return SG_ERR_NOMEM;
    }
    /* The formatted command is handed over, not copied: a batch of job lines can be megabytes. */
    if (evbuffer_add_reference(bufferevent_get_output(l->bev), cmd, (size_t)len, free_cmd, NULL) !=
        0) {
        free(p);
        free(cmd);
        return SG_ERR_NOMEM;
    }
    p->next = NULL;
    p->cb = cb;
    p->priv = priv;
    p->queued_ms = sg_mono_ms();
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    l->n_pending++;
    return SG_OK;
}

size_t ingress_rlink_pending(const struct ingress_rlink *l)
{
    return l->n_pending;
}

int64_t ingress_rlink_oldest_ms(const struct ingress_rlink *l)
{
    return l->head ? l->head->queued_ms : 0;
}
