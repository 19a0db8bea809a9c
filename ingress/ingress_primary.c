/* Why: see ingress_primary.h. One 100 ms watchdog drives everything time-based (connect and
 * command timeouts, PING and ROLE, reconnect backoff). Dropping a link answers its pending
 * commands with NULL at once, so every request waiting on it gets its 503 from there. */
#include "ingress_primary.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_rlink.h"
#include "sg_log.h"
#include "sg_time.h"
#include "sg_tls.h"

enum pstate { P_DOWN = 0, P_ASKING, P_UP };

struct ingress_primary {
    struct event_base *base;
    struct evdns_base *dns;
    const struct sg_redis_opts *o;
    SSL_CTX *tls;
    int64_t timeout_ms;     /* connect, and a sentinel's answer */
    int64_t cmd_timeout_ms; /* a command's answer (WAIT may take its own timeout on top) */
    ingress_primary_setup_fn setup;
    void *setup_priv;
    struct ingress_rlink *link; /* the sentinel's while ASKING, the primary's while UP */
    enum pstate state;
    int64_t state_since_ms;
    int64_t reconnect_at_ms;
    int64_t backoff_ms;
    size_t sentinel_i;
    bool connected, role_ok, ping_ok, ping_pending;
    bool was_ready; /* for logging transitions only */
    int64_t last_ping_ms;
    char host[256];
    int port;
    char last_why[256];
    struct event *watchdog;
};

struct pcmd {
    struct ingress_primary *p;
    struct ingress_rlink *link;
    ingress_primary_cb cb;
    void *priv;
};

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
/* Behind sentinels a lost primary is replaced within seconds and asking is cheap: retry sooner,
 * so the ingress is back within a few hundred ms of the promotion. */
#define BACKOFF_MAX_SENTINEL_MS 400
#define PING_EVERY_MS           1000

static void drop(struct ingress_primary *p, const char *why)
{
    struct ingress_rlink *l = p->link;
    bool was_ready = ingress_primary_ready(p);
    p->link = NULL;
    p->state = P_DOWN;
    p->connected = p->role_ok = p->ping_ok = p->ping_pending = false;
    int64_t max = p->o->n_sentinels ? BACKOFF_MAX_SENTINEL_MS : BACKOFF_MAX_MS;
    p->reconnect_at_ms = sg_mono_ms() + p->backoff_ms;
    p->backoff_ms = p->backoff_ms * 2 > max ? max : p->backoff_ms * 2;
    /* A reason is logged as a warning when it is new (a lost primary, a certificate that does not
     * verify), and only at debug while the same failure repeats every backoff. */
    if (why) {
        bool repeated = !was_ready && strcmp(why, p->last_why) == 0;
        sg_log(repeated ? SG_LOG_DEBUG : SG_LOG_WARN, "redis connection lost",
               SG_KV_STR("err", why), SG_KV_INT("retry_ms", p->reconnect_at_ms - sg_mono_ms()),
               SG_KV_END);
        snprintf(p->last_why, sizeof p->last_why, "%s", why);
    }
    p->was_ready = false;
    ingress_rlink_free(l); /* pending commands get NULL now */
}

static void check_ready(struct ingress_primary *p)
{
    bool ready = ingress_primary_ready(p);
    if (ready && !p->was_ready) {
        sg_log_info("redis ready",
                    SG_KV_STR("host", p->o->url.unix_path ? p->o->url.unix_path : p->host),
                    SG_KV_INT("port", p->port), SG_KV_BOOL("tls", p->o->url.tls), SG_KV_END);
        p->backoff_ms = BACKOFF_MIN_MS;
        p->last_why[0] = '\0';
    }
    p->was_ready = ready;
}

static void on_cmd_reply(redisReply *reply, void *arg)
{
    struct pcmd *c = arg;
    struct ingress_primary *p = c->p;
    bool failover =
        reply && reply->type == REDIS_REPLY_ERROR && sg_redis_error_wants_failover(reply->str);
    c->cb(reply, c->priv);
    if (failover && p->link == c->link) { /* not already dropped by the callback */
        char why[200];
        snprintf(why, sizeof why, "not the primary any more: %.150s", reply->str);
        drop(p, why);
    }
    free(c);
}

enum sg_err ingress_primary_command(struct ingress_primary *p, ingress_primary_cb cb, void *priv,
                                    int argc, const char **argv, const size_t *lens)
{
    if (p->state != P_UP || !p->link)
        return SG_ERR_REDIS;
    struct pcmd *c = malloc(sizeof *c);
    if (!c)
        return SG_ERR_NOMEM;
    c->p = p;
    c->link = p->link;
    c->cb = cb;
    c->priv = priv;
    enum sg_err e = ingress_rlink_command(p->link, on_cmd_reply, c, argc, argv, lens);
    if (e)
        free(c);
    return e;
}

static void on_ping(redisReply *reply, void *arg)
{
    struct ingress_primary *p = arg;
    if (!reply)
        return; /* the link went; drop() has reset everything */
    p->ping_pending = false;
    bool ok = reply->type == REDIS_REPLY_STATUS && reply->str && strcmp(reply->str, "PONG") == 0;
    if (!ok)
        sg_log_warn("redis not ready", SG_KV_STR("err", reply->str), SG_KV_END);
    p->ping_ok = ok;
    check_ready(p);
}

static void on_role(redisReply *reply, void *arg)
{
    struct ingress_primary *p = arg;
    if (!reply)
        return;
    enum sg_redis_role role = sg_redis_role_of(reply);
    if (role == SG_ROLE_MASTER) {
        p->role_ok = true;
        check_ready(p);
        return;
    }
    char why[320];
    snprintf(why, sizeof why, "%.255s:%d is a %s, not the master", p->host, p->port,
             sg_redis_role_str(role));
    drop(p, why);
}

/* Replies to AUTH and SELECT: an error (bad password, unknown db) is logged and the connection
 * goes; nothing may be written to a connection that is not set up. */
static void on_setup(redisReply *reply, void *arg)
{
    struct ingress_primary *p = arg;
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "setup failed: %.150s", reply->str);
        sg_log_error("redis setup command failed", SG_KV_STR("err", reply->str), SG_KV_END);
        drop(p, why);
    }
}

static void send_checks(struct ingress_primary *p)
{
    const char *ping[] = {"PING"}, *role[] = {"ROLE"};
    size_t ping_len[] = {4}, role_len[] = {4};
    p->last_ping_ms = sg_mono_ms();
    if (p->o->n_sentinels && p->link)
        ingress_rlink_command(p->link, on_role, p, 1, role, role_len);
    if (p->link && ingress_rlink_command(p->link, on_ping, p, 1, ping, ping_len) == SG_OK)
        p->ping_pending = true;
}

static void on_primary_event(struct ingress_rlink *l, bool up, const char *err, void *arg)
{
    struct ingress_primary *p = arg;
    if (l != p->link)
        return;
    if (!up) {
        drop(p, err);
        return;
    }
    p->connected = true;
}

static void auth_argv(const char *user, const char *password, const char *argv[3], size_t lens[3],
                      int *argc)
{
    argv[0] = "AUTH";
    lens[0] = 4;
    *argc = 1;
    if (user) {
        argv[*argc] = user;
        lens[(*argc)++] = strlen(user);
    }
    argv[*argc] = password;
    lens[(*argc)++] = strlen(password);
}

/* Opens the link to host:port (the primary) and queues its setup: commands may be queued before
 * the connection is up, and they go out in order once it is. */
static void connect_primary(struct ingress_primary *p)
{
    const struct sg_redis_url *u = &p->o->url;
    char err[256];
    p->link = ingress_rlink_new(p->base, p->dns, p->host, p->port, u->unix_path, p->tls, p->o,
                                on_primary_event, p, err, sizeof err);
    if (!p->link) {
        drop(p, err);
        return;
    }
    p->state = P_UP;
    p->state_since_ms = sg_mono_ms();
    p->role_ok = p->o->n_sentinels == 0;
    if (u->password) {
        const char *argv[3];
        size_t lens[3];
        int argc;
        auth_argv(u->username, u->password, argv, lens, &argc);
        ingress_rlink_command(p->link, on_setup, p, argc, argv, lens);
    }
    if (u->db) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", u->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)n};
        ingress_rlink_command(p->link, on_setup, p, 2, argv, lens);
    }
    if (p->setup)
        p->setup(p, p->setup_priv);
    if (p->link)
        send_checks(p);
}

static void ask_next_sentinel(struct ingress_primary *p);

static void on_sentinel_reply(redisReply *reply, void *arg)
{
    struct ingress_primary *p = arg;
    if (!reply || p->state != P_ASKING)
        return; /* the link failed: its event callback moves on */
    const struct sg_hostport *s = &p->o->sentinels[p->sentinel_i];
    if (reply->type == REDIS_REPLY_ERROR) { /* AUTH, or an unknown command */
        sg_log_warn("redis sentinel refused", SG_KV_STR("sentinel", s->host),
                    SG_KV_INT("port", s->port), SG_KV_STR("err", reply->str), SG_KV_END);
        if (ingress_rlink_pending(p->link) > 0)
            return; /* AUTH failed: the question's own answer comes next */
        struct ingress_rlink *l = p->link;
        p->link = NULL;
        ingress_rlink_free(l);
        p->sentinel_i++;
        ask_next_sentinel(p);
        return;
    }
    if (reply->type == REDIS_REPLY_STATUS)
        return; /* +OK to AUTH */
    struct ingress_rlink *l = p->link;
    p->link = NULL;
    bool found = sg_sentinel_master_addr(reply, p->host, sizeof p->host, &p->port);
    ingress_rlink_free(l);
    if (!found) {
        sg_log_warn("redis sentinel does not know the master", SG_KV_STR("sentinel", s->host),
                    SG_KV_INT("port", s->port), SG_KV_STR("master", p->o->sentinel_master),
                    SG_KV_END);
        p->sentinel_i++;
        ask_next_sentinel(p);
        return;
    }
    connect_primary(p);
}

static void on_sentinel_event(struct ingress_rlink *l, bool up, const char *err, void *arg)
{
    struct ingress_primary *p = arg;
    if (l != p->link || up)
        return;
    sg_log_debug("redis sentinel unreachable", SG_KV_STR("err", err), SG_KV_END);
    p->link = NULL;
    ingress_rlink_free(l);
    p->sentinel_i++;
    ask_next_sentinel(p);
}

/* Asks sentinel p->sentinel_i where the master is; after the last one, waits and starts over. */
static void ask_next_sentinel(struct ingress_primary *p)
{
    if (p->sentinel_i >= p->o->n_sentinels) {
        drop(p, "no sentinel named the master");
        return;
    }
    const struct sg_hostport *s = &p->o->sentinels[p->sentinel_i];
    char err[256];
    p->state = P_ASKING;
    p->state_since_ms = sg_mono_ms();
    p->link = ingress_rlink_new(p->base, p->dns, s->host, s->port, NULL, p->tls, p->o,
                                on_sentinel_event, p, err, sizeof err);
    if (!p->link) {
        p->sentinel_i++;
        ask_next_sentinel(p);
        return;
    }
    if (p->o->sentinel_password) {
        const char *argv[3];
        size_t lens[3];
        int argc;
        auth_argv(NULL, p->o->sentinel_password, argv, lens, &argc);
        ingress_rlink_command(p->link, on_sentinel_reply, p, argc, argv, lens);
    }
    const char *argv[3] = {"SENTINEL", "get-master-addr-by-name", p->o->sentinel_master};
    size_t lens[3] = {8, 23, strlen(p->o->sentinel_master)};
    ingress_rlink_command(p->link, on_sentinel_reply, p, 3, argv, lens);
}

static void start_connect(struct ingress_primary *p)
{
    if (p->o->n_sentinels) {
        p->sentinel_i = 0;
        ask_next_sentinel(p);
        return;
    }
    snprintf(p->host, sizeof p->host, "%s", p->o->url.host ? p->o->url.host : "");
    p->port = p->o->url.port;
    connect_primary(p);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    struct ingress_primary *p = arg;
    (void)fd;
    (void)what;
    int64_t now = sg_mono_ms();
    switch (p->state) {
    case P_DOWN:
        if (now >= p->reconnect_at_ms)
            start_connect(p);
        break;
    case P_ASKING:
        if (now - p->state_since_ms > p->timeout_ms) {
            struct ingress_rlink *l = p->link;
            p->link = NULL;
            ingress_rlink_free(l);
            p->sentinel_i++;
            ask_next_sentinel(p);
        }
        break;
    case P_UP: {
        int64_t oldest = ingress_rlink_oldest_ms(p->link);
        if (!p->connected && now - p->state_since_ms > p->timeout_ms) {
            drop(p, "connect timed out");
        } else if (oldest && now - oldest > p->cmd_timeout_ms) {
            drop(p, "command timed out");
        } else if (p->connected && !p->ping_pending && now - p->last_ping_ms >= PING_EVERY_MS) {
            send_checks(p);
        }
        break;
    }
    }
}

struct ingress_primary *ingress_primary_new(struct event_base *base, const struct sg_redis_opts *o,
                                            int64_t timeout_ms, ingress_primary_setup_fn setup,
                                            void *priv, char *err, size_t errlen)
{
    struct ingress_primary *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->base = base;
    p->o = o;
    p->timeout_ms = timeout_ms;
    p->cmd_timeout_ms = timeout_ms + (o->min_replicas_ack ? o->wait_timeout_ms : 0);
    p->setup = setup;
    p->setup_priv = priv;
    p->backoff_ms = BACKOFF_MIN_MS;
    if (o->url.tls && !(p->tls = sg_tls_ctx_new(o, err, errlen))) {
        free(p);
        return NULL;
    }
    p->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (!p->dns)
        p->dns = evdns_base_new(base, 0);
    p->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, p);
    if (!p->dns || !p->watchdog) {
        snprintf(err, errlen, "out of memory");
        ingress_primary_free(p);
        return NULL;
    }
    return p;
}

void ingress_primary_start(struct ingress_primary *p)
{
    struct timeval tv = {0, 100 * 1000};
    event_add(p->watchdog, &tv);
    start_connect(p);
}

void ingress_primary_free(struct ingress_primary *p)
{
    if (!p)
        return;
    drop(p, NULL);
    if (p->watchdog)
        event_free(p->watchdog);
    if (p->dns)
        evdns_base_free(p->dns, 0);
    if (p->tls)
        SSL_CTX_free(p->tls);
    free(p);
}

bool ingress_primary_ready(const struct ingress_primary *p)
{
    return p->state == P_UP && p->connected && p->role_ok && p->ping_ok;
}

bool ingress_primary_connected(const struct ingress_primary *p)
{
    return p->state == P_UP && p->link;
}
