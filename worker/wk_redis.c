/* Why: see redis.h. Reconnecting in one place is what lets the queue and the GitHub client share
 * the connection without either keeping a context pointer that a reconnect would free. */
#include "wk_redis.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "sg_url.h"

struct wk_redis {
    redisContext *c;
    struct sg_redis_url url;
    int timeout_ms;
    unsigned generation;
    char err[256];
};

static struct timeval tv_ms(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

struct wk_redis *wk_redis_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
    struct wk_redis *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sg_redis_url_parse(url, &r->url, err, errlen) != SG_OK) {
        free(r);
        return NULL;
    }
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    return r;
}

static void drop(struct wk_redis *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
}

void wk_redis_free(struct wk_redis *r)
{
    if (!r)
        return;
    drop(r);
    sg_redis_url_clear(&r->url);
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
    if (r->c && !r->c->err)
        return SG_OK;
    drop(r);
    struct timeval tv = tv_ms(r->timeout_ms);
    if (r->url.unix_path)
        r->c = redisConnectUnixWithTimeout(r->url.unix_path, tv);
    else
        r->c = redisConnectWithTimeout(r->url.host, r->url.port, tv);
    if (!r->c || r->c->err) {
        snprintf(r->err, sizeof r->err, "redis connect: %s", r->c ? r->c->errstr : "out of memory");
        drop(r);
        return SG_ERR_REDIS;
    }
    redisSetTimeout(r->c, tv);
    redisEnableKeepAlive(r->c);
    r->generation++;
    redisReply *rep = NULL;
    if (r->url.password) {
        if (r->url.username)
            rep = redisCommand(r->c, "AUTH %s %s", r->url.username, r->url.password);
        else
            rep = redisCommand(r->c, "AUTH %s", r->url.password);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(r->err, sizeof r->err, "redis AUTH failed: %s", rep ? rep->str : r->c->errstr);
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (r->url.db) {
        rep = redisCommand(r->c, "SELECT %d", r->url.db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(r->err, sizeof r->err, "redis SELECT failed: %s",
                     rep ? rep->str : r->c->errstr);
            goto fail;
        }
        freeReplyObject(rep);
    }
    return SG_OK;
fail:
    if (rep)
        freeReplyObject(rep);
    drop(r);
    return SG_ERR_REDIS;
}

/* No reply: the context is unusable from now on (hiredis's rule), so it goes. */
static void lost(struct wk_redis *r)
{
    snprintf(r->err, sizeof r->err, "redis: %s", r->c->errstr[0] ? r->c->errstr : "no reply");
    drop(r);
}

enum sg_err wk_redis_argv(struct wk_redis *r, redisReply **out, int argc, const char **argv,
                          const size_t *lens, int extra_ms)
{
    *out = NULL;
    enum sg_err e = wk_redis_connect(r);
    if (e)
        return e;
    if (extra_ms > 0)
        redisSetTimeout(r->c, tv_ms(r->timeout_ms + extra_ms));
    redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
    if (!rep) {
        lost(r);
        return SG_ERR_REDIS;
    }
    if (extra_ms > 0)
        redisSetTimeout(r->c, tv_ms(r->timeout_ms));
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->err, sizeof r->err, "redis: %s", rep->str);
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
    redisReader *rd = redisReaderCreate();
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
    redisReader *rd = r->c->reader;
    redisReplyObjectFunctions *fn = rd->fn;
    void *priv = rd->privdata;
    if (capped_fns.createString) {
        rd->fn = &capped_fns;
        rd->privdata = &max_string;
    }
    e = wk_redis_argv(r, out, argc, argv, lens, extra_ms);
    if (r->c && r->c->reader == rd) { /* still the same connection: dropped only on failure */
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
    redisReply *rep = redisvCommand(r->c, fmt, ap);
    va_end(ap);
    if (!rep)
        lost(r);
    else if (rep->type == REDIS_REPLY_ERROR)
        snprintf(r->err, sizeof r->err, "redis: %s", rep->str);
    return rep;
}
