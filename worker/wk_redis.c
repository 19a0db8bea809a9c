/* Why: see wk_redis.h. Reconnecting in one place is what lets the queue and the GitHub client share
 * the connection without either keeping a pointer that a reconnect would free, and what makes a
 * failover (a lost connection, or a READONLY from a demoted primary) just another reconnect. */
#include "wk_redis.h"

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_redis_primary.h"
#include "sg_tls.h"
#include "sg_redis_reader.h"

struct wk_redis {
    struct wk_wire *w;
    const struct sg_redis_opts *o;
    struct sg_redis_opts own; /* wk_redis_new(): built from the URL alone */
    SSL_CTX *tls;
    int timeout_ms;
    unsigned generation;
    char err[256];
};

static struct wk_redis *make(struct wk_redis *r, int timeout_ms, char *err, size_t errlen)
{
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    if (r->o->url.tls && !(r->tls = sg_tls_ctx_new(r->o, err, errlen))) {
        wk_redis_free(r);
        return NULL;
    }
    return r;
}

struct wk_redis *wk_redis_new_opts(const struct sg_redis_opts *o, int timeout_ms, char *err,
                                   size_t errlen)
{
    struct wk_redis *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->o = o;
    return make(r, timeout_ms, err, errlen);
}

struct wk_redis *wk_redis_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
    struct wk_redis *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->own.sentinel_master = NULL;
    r->own.wait_timeout_ms = 200;
    if (sg_redis_url_parse(url, &r->own.url, err, errlen) != SG_OK) {
        free(r);
        return NULL;
    }
    r->o = &r->own;
    return make(r, timeout_ms, err, errlen);
}

static void drop(struct wk_redis *r)
{
    wk_wire_free(r->w);
    r->w = NULL;
}

void wk_redis_free(struct wk_redis *r)
{
    if (!r)
        return;
    drop(r);
    if (r->tls)
        SSL_CTX_free(r->tls);
    sg_redis_url_clear(&r->own.url);
    free(r);
}

unsigned wk_redis_generation(const struct wk_redis *r)
{
    return r->generation;
}

const char *wk_redis_error(const struct wk_redis *r)
{
    return r->err;
}

int wk_redis_timeout_ms(const struct wk_redis *r)
{
    return r->timeout_ms;
}

enum sg_err wk_redis_connect(struct wk_redis *r)
{
    if (r->w && !wk_wire_broken(r->w))
        return SG_OK;
    drop(r);
    r->w = wk_primary_open(r->o, r->tls, r->timeout_ms, r->err, sizeof r->err);
    if (!r->w)
        return SG_ERR_REDIS;
    r->generation++;
    return SG_OK;
}

/* After a reply: no reply means the connection is unusable from now on, and an error reply that
 * says "not the primary" means it is pointed at the wrong server; either way it goes. */
static void after(struct wk_redis *r, const redisReply *rep)
{
    if (!rep) {
        snprintf(r->err, sizeof r->err, "%s", wk_wire_error(r->w));
        drop(r);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->err, sizeof r->err, "redis: %s", rep->str);
        if (sg_redis_error_wants_failover(rep->str))
            drop(r);
    }
}

enum sg_err wk_redis_argv(struct wk_redis *r, redisReply **out, int argc, const char **argv,
                          const size_t *lens, int extra_ms)
{
    *out = NULL;
    enum sg_err e = wk_redis_connect(r);
    if (e)
        return e;
    redisReply *rep =
        wk_wire_argv(r->w, r->timeout_ms + (extra_ms > 0 ? extra_ms : 0), argc, argv, lens);
    after(r, rep);
    if (!rep)
        return SG_ERR_REDIS;
    if (rep->type == REDIS_REPLY_ERROR) {
        freeReplyObject(rep);
        return SG_ERR_REDIS;
    }
    *out = rep;
    return SG_OK;
}

/* Strings over the reader's privdata cap become integer replies holding their length, so such a
 * string is never copied out of hiredis's read buffer, which would hold it twice at once (a 50 MB
 * job line, 100 MB). The other constructors are hiredis's own, the same for every connection. */
static redisReplyObjectFunctions plain_fns, capped_fns;
static pthread_once_t capped_once = PTHREAD_ONCE_INIT;

static void *create_capped_string(const redisReadTask *t, char *str, size_t len)
{
    const size_t *cap = t->privdata;
    if (cap && len > *cap)
        return plain_fns.createInteger(t, (long long)len);
    return plain_fns.createString(t, str, len);
}

static void init_capped(void)
{
    redisReader *rd = sg_redis_reader_new(); /* the element cap stays */
    if (!rd)
        return; /* capped_fns stays empty: strings are read whole, and still refused by callers */
    plain_fns = *rd->fn;
    redisReaderFree(rd);
    capped_fns = plain_fns;
    capped_fns.createString = create_capped_string;
}

enum sg_err wk_redis_argv_capped(struct wk_redis *r, redisReply **out, int argc, const char **argv,
                                 const size_t *lens, int extra_ms, size_t max_string)
{
    *out = NULL;
    enum sg_err e = wk_redis_connect(r);
    if (e)
        return e;
    pthread_once(&capped_once, init_capped);
    struct wk_wire *w = r->w;
    redisReader *rd = wk_wire_reader(w);
    redisReplyObjectFunctions *fn = rd->fn;
    void *priv = rd->privdata;
    if (capped_fns.createString) {
        rd->fn = &capped_fns;
        rd->privdata = &max_string;
    }
    e = wk_redis_argv(r, out, argc, argv, lens, extra_ms);
    if (r->w == w) { /* still the same connection: dropped only on failure */
        rd->fn = fn;
        rd->privdata = priv;
    }
    return e;
}

redisReply *wk_redis_command(struct wk_redis *r, const char *fmt, ...)
{
    if (wk_redis_connect(r) != SG_OK)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    bool ok = wk_wire_append_v(r->w, fmt, ap);
    va_end(ap);
    redisReply *rep = ok ? wk_wire_read(r->w, r->timeout_ms) : NULL;
    after(r, rep);
    return rep;
}

enum sg_err wk_redis_wait_replicas(struct wk_redis *r)
{
    if (r->o->min_replicas_ack <= 0)
        return SG_OK;
    char n[24], ms[24];
    snprintf(n, sizeof n, "%lld", (long long)r->o->min_replicas_ack);
    snprintf(ms, sizeof ms, "%lld", (long long)r->o->wait_timeout_ms);
    const char *argv[] = {"WAIT", n, ms};
    redisReply *rep;
    if (wk_redis_argv(r, &rep, 3, argv, NULL, (int)r->o->wait_timeout_ms) != SG_OK)
        return SG_ERR_REDIS;
    long long acks = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    freeReplyObject(rep);
    if (acks >= r->o->min_replicas_ack)
        return SG_OK;
    snprintf(r->err, sizeof r->err, "redis: %lld of %lld replicas acknowledged within %lld ms",
             acks < 0 ? 0 : acks, (long long)r->o->min_replicas_ack,
             (long long)r->o->wait_timeout_ms);
    return SG_ERR_REDIS;
}
