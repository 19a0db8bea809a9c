/* Why: see wk_redis_primary.h. Sentinels are tried in the configured order; the first that names a
 * master wins, and that master must say it is one (a sentinel's view can lag a failover by a
 * moment; the caller simply tries again later). */
#include "wk_redis_primary.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "sg_log.h"

/* A sentinel's answer costs at most this, so a dead sentinel does not eat the whole budget. */
#define SENTINEL_TIMEOUT_MS 1000

static bool auth(struct wk_wire *w, const char *user, const char *password, int timeout_ms,
                 char *err, size_t errlen)
{
    if (!password)
        return true;
    redisReply *rep = user ? wk_wire_command(w, timeout_ms, "AUTH %s %s", user, password)
                           : wk_wire_command(w, timeout_ms, "AUTH %s", password);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(err, errlen, "redis AUTH failed: %s", rep ? rep->str : wk_wire_error(w));
    if (rep)
        freeReplyObject(rep);
    return ok;
}

/* Asks the sentinels, in order, for the master's address. */
static bool ask_sentinels(const struct sg_redis_opts *o, SSL_CTX *tls, int timeout_ms, char *host,
                          size_t hostlen, int *port, char *err, size_t errlen)
{
    int t = timeout_ms < SENTINEL_TIMEOUT_MS ? timeout_ms : SENTINEL_TIMEOUT_MS;
    snprintf(err, errlen, "no sentinel answered");
    for (size_t i = 0; i < o->n_sentinels; i++) {
        const struct sg_hostport *s = &o->sentinels[i];
        char why[256];
        struct wk_wire *w = wk_wire_open(s->host, s->port, NULL, tls, o, t, why, sizeof why);
        if (!w) {
            snprintf(err, errlen, "sentinel %s:%d: %s", s->host, s->port, why);
            continue;
        }
        bool found = false;
        if (auth(w, NULL, o->sentinel_password, t, why, sizeof why)) {
            redisReply *rep =
                wk_wire_command(w, t, "SENTINEL get-master-addr-by-name %s", o->sentinel_master);
            found = sg_sentinel_master_addr(rep, host, hostlen, port);
            if (!found)
                snprintf(why, sizeof why, "%s",
                         !rep                             ? wk_wire_error(w)
                         : rep->type == REDIS_REPLY_ERROR ? rep->str
                         : rep->type == REDIS_REPLY_NIL   ? "does not know the master"
                                                          : "unexpected reply");
            if (rep)
                freeReplyObject(rep);
        }
        wk_wire_free(w);
        if (found)
            return true;
        snprintf(err, errlen, "sentinel %s:%d: %s (master %s)", s->host, s->port, why,
                 o->sentinel_master);
    }
    return false;
}

struct wk_wire *wk_primary_open(const struct sg_redis_opts *o, SSL_CTX *tls, int timeout_ms,
                                char *err, size_t errlen)
{
    char host[256];
    int port = o->url.port;
    const char *h = o->url.host;
    if (o->n_sentinels) {
        if (!ask_sentinels(o, tls, timeout_ms, host, sizeof host, &port, err, errlen))
            return NULL;
        h = host;
    }
    struct wk_wire *w = wk_wire_open(h, port, o->url.unix_path, tls, o, timeout_ms, err, errlen);
    if (!w)
        return NULL;
    if (!auth(w, o->url.username, o->url.password, timeout_ms, err, errlen))
        goto fail;
    if (o->url.db) {
        redisReply *rep = wk_wire_command(w, timeout_ms, "SELECT %d", o->url.db);
        bool ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (!ok)
            snprintf(err, errlen, "redis SELECT failed: %s", rep ? rep->str : wk_wire_error(w));
        if (rep)
            freeReplyObject(rep);
        if (!ok)
            goto fail;
    }
    if (o->n_sentinels) {
        redisReply *rep = wk_wire_command(w, timeout_ms, "ROLE");
        enum sg_redis_role role = sg_redis_role_of(rep);
        if (!rep)
            snprintf(err, errlen, "%s", wk_wire_error(w));
        else if (role != SG_ROLE_MASTER)
            snprintf(err, errlen, "redis %s:%d named by the sentinels is a %s, not the master", h,
                     port, sg_redis_role_str(role));
        if (rep)
            freeReplyObject(rep);
        if (role != SG_ROLE_MASTER)
            goto fail;
        sg_log_info("redis primary found", SG_KV_STR("host", h), SG_KV_INT("port", port),
                    SG_KV_END);
    }
    return w;
fail:
    wk_wire_free(w);
    return NULL;
}
