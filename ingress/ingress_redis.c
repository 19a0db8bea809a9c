/* Why: async Redis for the ingress with reconnection, liveness and command timeouts; see
 * ingress_redis.h. One 100 ms watchdog timer drives everything time-based (connect timeout,
 * command timeout, PING, reconnect backoff), so there is a single place that can tear a
 * connection down, always from outside hiredis's own callbacks. */
#include "ingress_redis.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#include <hiredis/adapters/libevent.h>
#pragma GCC diagnostic pop

#include "sg_keys.h"
#include "sg_log.h"
#include "sg_time.h"

/* One call enqueues a batch of deliveries (all requests that arrived in one event-loop pass):
 * KEYS[1..n] = webhook:delivery:<id>, KEYS[n+1..2n] = webhook:signature:<hex> (the same
 * deliveries' body signatures), KEYS[2n+1] = analysis_queue;
 * ARGV[1] = ttl seconds, ARGV[2] = high watermark (0: off), ARGV[3..n+2] = job lines.
 * Returns one integer per delivery: 1 queued, 0 duplicate, -1 backpressure.
 * Each delivery is marked and pushed atomically (the whole batch is one script). A delivery is a
 * duplicate when its id or its signature was seen: GitHub's redelivery reuses both, a replay of a
 * captured body under a new id reuses the signature. Duplicate wins over backpressure: a
 * redelivery of a queued delivery is a duplicate even while the queue is full; a refused one
 * leaves neither marker, so GitHub's redelivery works later. The signature SET comes second and a
 * replay's fresh delivery marker is deleted again, so the common case costs one SET more than
 * the delivery marker alone. Batching matters: the EVALSHA dispatch and Lua setup cost more than
 * the SETs and LPUSH themselves; the accepted jobs go in one LPUSH (values pushed in order, so the
 * queue order is the arrival order, as with one LPUSH each). BATCH_MAX keeps unpack() far below
 * Lua's stack limit. */
static const char INGRESS_ENQUEUE_LUA[] =
    "local n = (#KEYS - 1) / 2\n"
    "local q = KEYS[2 * n + 1]\n"
    "local ttl = ARGV[1]\n"
    "local hw = tonumber(ARGV[2])\n"
    "local len = 0\n"
    "if hw > 0 then len = redis.call('LLEN', q) end\n"
    "local res, jobs = {}, {}\n"
    "for i = 1, n do\n"
    "  local d, s = KEYS[i], KEYS[n + i]\n"
    "  if hw > 0 and len >= hw then\n"
    "    if redis.call('EXISTS', d, s) > 0 then res[i] = 0 else res[i] = -1 end\n"
    "  elseif not redis.call('SET', d, '1', 'NX', 'EX', ttl) then\n"
    "    res[i] = 0\n"
    "  elseif not redis.call('SET', s, '1', 'NX', 'EX', ttl) then\n"
    "    redis.call('DEL', d)\n"
    "    res[i] = 0\n"
    "  else\n"
    "    jobs[#jobs + 1] = ARGV[i + 2]\n"
    "    len = len + 1\n"
    "    res[i] = 1\n"
    "  end\n"
    "end\n"
    "if #jobs > 0 then redis.call('LPUSH', q, unpack(jobs)) end\n"
    "return res\n";

enum rstate { R_DOWN = 0, R_RESOLVING, R_CONNECTING, R_UP };

struct cmd {
    struct cmd *next, *prev;
    struct ingress_redis *r;
    ingress_redis_cb cb;
    void *priv;
    int64_t sent_ms;
};

struct ingress_redis {
    struct event_base *base;
    struct evdns_base *dns;
    struct evdns_getaddrinfo_request *dns_req;
    const struct sg_redis_url *url;
    int64_t timeout_ms;
    redisAsyncContext *ac;
    enum rstate state;
    int64_t state_since_ms;
    int64_t reconnect_at_ms;
    int64_t backoff_ms;
    bool ping_ok;
    bool ping_pending;
    int64_t last_ping_ms;
    unsigned generation;
    struct event *watchdog;
    struct cmd head; /* FIFO of outstanding commands (replies come back in order) */
    size_t outstanding;
    char sha[41];
    bool freeing;
    /* deliveries waiting for this loop pass's batch */
    struct enq *batch_head, *batch_tail;
    size_t batch_n, batch_bytes;
    struct event *batch_ev;
    int64_t ttl_s, watermark;
};

#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  2000
#define PING_EVERY_MS   1000
#define BATCH_MAX       128
#define BATCH_MAX_BYTES (4u << 20)

static void list_unlink(struct cmd *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = c;
}

/* Drops the current connection (hiredis calls every pending callback with NULL) and schedules a
 * reconnect. Never called from inside a hiredis callback. */
static void drop_connection(struct ingress_redis *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    if (r->dns_req) {
        struct evdns_getaddrinfo_request *req = r->dns_req;
        r->dns_req = NULL;
        evdns_getaddrinfo_cancel(req);
    }
    bool was_up = r->state == R_UP && r->ping_ok;
    r->ac = NULL;
    r->state = R_DOWN;
    r->ping_ok = false;
    r->ping_pending = false;
    r->generation++;
    r->reconnect_at_ms = sg_mono_ms() + r->backoff_ms;
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
    if (why && !r->freeing)
        sg_log(was_up ? SG_LOG_WARN : SG_LOG_DEBUG, "redis connection lost", SG_KV_STR("err", why),
               SG_KV_INT("retry_ms", r->reconnect_at_ms - sg_mono_ms()), SG_KV_END);
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cmd *c = privdata;
    struct ingress_redis *r = c->r;
    (void)ac;
    list_unlink(c);
    r->outstanding--;
    if (c->cb)
        c->cb(r, reply, c->priv);
    free(c);
}

enum sg_err ingress_redis_command(struct ingress_redis *r, ingress_redis_cb cb, void *priv,
                                  int argc, const char **argv, const size_t *argvlen)
{
    if (!r->ac || r->state != R_UP)
        return SG_ERR_REDIS;
    struct cmd *c = malloc(sizeof *c);
    if (!c)
        return SG_ERR_NOMEM;
    c->r = r;
    c->cb = cb;
    c->priv = priv;
    c->sent_ms = sg_mono_ms();
    c->next = &r->head;
    c->prev = r->head.prev;
    r->head.prev->next = c;
    r->head.prev = c;
    r->outstanding++;
    if (redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen) != REDIS_OK) {
        list_unlink(c);
        r->outstanding--;
        free(c);
        return SG_ERR_REDIS;
    }
    return SG_OK;
}

static void on_ping(struct ingress_redis *r, redisReply *reply, void *priv)
{
    (void)priv;
    r->ping_pending = false;
    bool ok =
        reply && reply->type == REDIS_REPLY_STATUS && reply->str && strcmp(reply->str, "PONG") == 0;
    if (ok && !r->ping_ok) {
        sg_log_info("redis ready",
                    SG_KV_STR("host", r->url->host ? r->url->host : r->url->unix_path),
                    SG_KV_INT("port", r->url->port), SG_KV_END);
        r->backoff_ms = BACKOFF_MIN_MS;
    }
    if (!ok && reply)
        sg_log_warn("redis not ready", SG_KV_STR("err", reply->str), SG_KV_END);
    r->ping_ok = ok;
}

static void send_ping(struct ingress_redis *r)
{
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    r->last_ping_ms = sg_mono_ms();
    if (ingress_redis_command(r, on_ping, NULL, 1, argv, lens) == SG_OK)
        r->ping_pending = true;
}

/* Replies to the setup commands: an error (bad password, unknown db) is logged once. */
static void on_setup(struct ingress_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        sg_log_error("redis setup command failed", SG_KV_STR("cmd", (const char *)priv),
                     SG_KV_STR("err", reply->str), SG_KV_END);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct ingress_redis *r = ac->data;
    if (!r || r->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        sg_log_debug("redis connect failed", SG_KV_STR("err", ac->errstr), SG_KV_END);
        r->ac = NULL;
        r->state = R_DOWN;
        r->reconnect_at_ms = sg_mono_ms() + r->backoff_ms;
        r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
        return;
    }
    r->state = R_UP;
    r->state_since_ms = sg_mono_ms();
    const struct sg_redis_url *u = r->url;
    if (u->password) {
        const char *argv[3] = {"AUTH"};
        size_t lens[3] = {4};
        int argc = 1;
        if (u->username) {
            argv[argc] = u->username;
            lens[argc++] = strlen(u->username);
        }
        argv[argc] = u->password;
        lens[argc++] = strlen(u->password);
        ingress_redis_command(r, on_setup, "AUTH", argc, argv, lens);
    }
    if (u->db) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", u->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)n};
        ingress_redis_command(r, on_setup, "SELECT", 2, argv, lens);
    }
    const char *argv[3] = {"SCRIPT", "LOAD", INGRESS_ENQUEUE_LUA};
    size_t lens[3] = {6, 4, sizeof INGRESS_ENQUEUE_LUA - 1};
    ingress_redis_command(r, on_setup, "SCRIPT LOAD", 3, argv, lens);
    send_ping(r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct ingress_redis *r = ac->data;
    if (!r || r->ac != ac)
        return; /* we dropped it ourselves */
    /* hiredis frees the context after this callback; pending callbacks already got NULL. */
    r->ac = NULL;
    r->state = R_DOWN;
    r->ping_ok = false;
    r->ping_pending = false;
    r->reconnect_at_ms = sg_mono_ms() + r->backoff_ms;
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
    sg_log_warn("redis disconnected", SG_KV_STR("err", status == REDIS_OK ? "closed" : ac->errstr),
                SG_KV_END);
}

static void connect_addr(struct ingress_redis *r, const char *ip)
{
    redisAsyncContext *ac = r->url->unix_path ? redisAsyncConnectUnix(r->url->unix_path)
                                              : redisAsyncConnect(ip, r->url->port);
    if (!ac || ac->err) {
        sg_log_debug("redis connect failed", SG_KV_STR("err", ac ? ac->errstr : "out of memory"),
                     SG_KV_END);
        if (ac)
            redisAsyncFree(ac);
        r->state = R_DOWN;
        r->reconnect_at_ms = sg_mono_ms() + r->backoff_ms;
        r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
        return;
    }
    ac->data = r;
    r->ac = ac;
    r->state = R_CONNECTING;
    r->state_since_ms = sg_mono_ms();
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

struct dns_ctx {
    struct ingress_redis *r;
    unsigned generation;
};

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    struct dns_ctx *d = arg;
    struct ingress_redis *r = d->r;
    bool current = r && d->generation == r->generation && r->state == R_RESOLVING;
    free(d);
    if (!current) {
        if (res)
            evutil_freeaddrinfo(res);
        return;
    }
    r->dns_req = NULL;
    char ip[INET6_ADDRSTRLEN] = "";
    if (result == 0 && res) {
        if (res->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
        else if (res->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, ip, sizeof ip);
    }
    if (res)
        evutil_freeaddrinfo(res);
    if (!ip[0]) {
        sg_log_warn("redis host did not resolve", SG_KV_STR("host", r->url->host),
                    SG_KV_STR("err", evutil_gai_strerror(result)), SG_KV_END);
        drop_connection(r, NULL);
        return;
    }
    connect_addr(r, ip);
}

/* Starts a connection attempt; names are resolved with evdns so the loop never blocks on DNS. */
static void start_connect(struct ingress_redis *r)
{
    struct in_addr a4;
    struct in6_addr a6;
    r->state_since_ms = sg_mono_ms();
    if (r->url->unix_path || inet_pton(AF_INET, r->url->host, &a4) == 1 ||
        inet_pton(AF_INET6, r->url->host, &a6) == 1) {
        connect_addr(r, r->url->host);
        return;
    }
    if (!r->dns) {
        r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
        if (!r->dns)
            r->dns = evdns_base_new(r->base, 0);
    }
    struct dns_ctx *d = malloc(sizeof *d);
    if (!d || !r->dns) {
        free(d);
        drop_connection(r, "cannot start DNS resolution");
        return;
    }
    d->r = r;
    d->generation = r->generation;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->state = R_RESOLVING;
    r->dns_req = evdns_getaddrinfo(r->dns, r->url->host, NULL, &hints, on_resolved, d);
    /* The callback may already have run (hosts file, cache): then dns_req is stale/NULL. */
    if (r->state != R_RESOLVING)
        r->dns_req = NULL;
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    struct ingress_redis *r = arg;
    (void)fd;
    (void)what;
    int64_t now = sg_mono_ms();
    switch (r->state) {
    case R_DOWN:
        if (now >= r->reconnect_at_ms)
            start_connect(r);
        break;
    case R_RESOLVING:
    case R_CONNECTING:
        if (now - r->state_since_ms > r->timeout_ms)
            drop_connection(r, "connect timed out");
        break;
    case R_UP:
        if (r->outstanding && r->head.next != &r->head &&
            now - r->head.next->sent_ms > r->timeout_ms) {
            drop_connection(r, "command timed out");
            break;
        }
        if (!r->ping_pending && now - r->last_ping_ms >= PING_EVERY_MS)
            send_ping(r);
        break;
    }
}

static void flush_batch(struct ingress_redis *r);
static void on_batch_event(evutil_socket_t fd, short what, void *arg);

struct ingress_redis *ingress_redis_new(struct event_base *base, const struct sg_redis_url *url,
                                        int64_t timeout_ms)
{
    struct ingress_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->base = base;
    r->url = url;
    r->timeout_ms = timeout_ms;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->head.next = r->head.prev = &r->head;
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)INGRESS_ENQUEUE_LUA, sizeof INGRESS_ENQUEUE_LUA - 1, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(r->sha + 2 * i, 3, "%02x", md[i]);
    r->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, r);
    r->batch_ev = event_new(base, -1, 0, on_batch_event, r);
    if (!r->watchdog || !r->batch_ev) {
        if (r->watchdog)
            event_free(r->watchdog);
        if (r->batch_ev)
            event_free(r->batch_ev);
        free(r);
        return NULL;
    }
    return r;
}

void ingress_redis_start(struct ingress_redis *r)
{
    struct timeval tv = {0, 100 * 1000};
    event_add(r->watchdog, &tv);
    start_connect(r);
}

void ingress_redis_free(struct ingress_redis *r)
{
    if (!r)
        return;
    r->freeing = true;
    flush_batch(r); /* not connected any more by now, or soon: every waiting delivery gets 503 */
    drop_connection(r, NULL);
    if (r->batch_ev)
        event_free(r->batch_ev);
    if (r->watchdog)
        event_free(r->watchdog);
    if (r->dns)
        evdns_base_free(r->dns, 0);
    free(r);
}

bool ingress_redis_ready(const struct ingress_redis *r)
{
    return r->state == R_UP && r->ping_ok;
}

/* ---- the enqueue script, batched per event-loop pass ---- */

struct enq {
    struct enq *next;
    ingress_enqueue_cb cb;
    void *priv;
    size_t keylen, sigkeylen, joblen;
    char *key; /* then the signature key and the job, in the same allocation */
    char *sigkey;
    char *job;
};

struct batch {
    struct enq *items;
    size_t n;
    bool tried_eval;
    int64_t ttl_s, watermark;
};

static void batch_finish(struct batch *b, redisReply *reply)
{
    size_t i = 0;
    struct enq *q = b->items;
    while (q) {
        struct enq *next = q->next;
        enum ingress_enqueue_result res = INGRESS_ENQUEUE_FAILED;
        if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == b->n) {
            redisReply *e = reply->element[i];
            if (e->type == REDIS_REPLY_INTEGER && e->integer >= -1 && e->integer <= 1)
                res = (enum ingress_enqueue_result)e->integer;
        }
        q->cb(res, q->priv);
        free(q);
        q = next;
        i++;
    }
    free(b);
}

static enum sg_err send_batch(struct ingress_redis *r, struct batch *b);

static void on_batch_reply(struct ingress_redis *r, redisReply *reply, void *priv)
{
    struct batch *b = priv;
    if (reply && reply->type == REDIS_REPLY_ERROR && !b->tried_eval &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        b->tried_eval = true;
        if (send_batch(r, b) == SG_OK)
            return;
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        sg_log_warn("redis enqueue failed", SG_KV_STR("err", reply->str), SG_KV_END);
    }
    batch_finish(b, reply);
}

static enum sg_err send_batch(struct ingress_redis *r, struct batch *b)
{
    size_t argc = 3 + 2 * b->n + 1 + 2 + b->n;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    enum sg_err e = SG_ERR_NOMEM;
    char nk[24], ttl[24], hw[24];
    if (!argv || !lens)
        goto out;
    size_t k = 0;
    argv[k] = b->tried_eval ? "EVAL" : "EVALSHA";
    lens[k++] = b->tried_eval ? 4 : 7;
    argv[k] = b->tried_eval ? INGRESS_ENQUEUE_LUA : r->sha;
    lens[k++] = b->tried_eval ? sizeof INGRESS_ENQUEUE_LUA - 1 : 40;
    argv[k] = nk;
    lens[k++] = (size_t)snprintf(nk, sizeof nk, "%zu", 2 * b->n + 1);
    for (struct enq *q = b->items; q; q = q->next) {
        argv[k] = q->key;
        lens[k++] = q->keylen;
    }
    for (struct enq *q = b->items; q; q = q->next) {
        argv[k] = q->sigkey;
        lens[k++] = q->sigkeylen;
    }
    argv[k] = SG_KEY_QUEUE;
    lens[k++] = sizeof SG_KEY_QUEUE - 1;
    argv[k] = ttl;
    lens[k++] = (size_t)snprintf(ttl, sizeof ttl, "%lld", (long long)b->ttl_s);
    argv[k] = hw;
    lens[k++] = (size_t)snprintf(hw, sizeof hw, "%lld", (long long)b->watermark);
    for (struct enq *q = b->items; q; q = q->next) {
        argv[k] = q->job;
        lens[k++] = q->joblen;
    }
    e = ingress_redis_command(r, on_batch_reply, b, (int)k, argv, lens);
out:
    free(argv);
    free(lens);
    return e;
}

/* Sends the deliveries collected so far as one script call. */
static void flush_batch(struct ingress_redis *r)
{
    if (!r->batch_head)
        return;
    struct batch *b = calloc(1, sizeof *b);
    struct enq *items = r->batch_head;
    size_t n = r->batch_n;
    r->batch_head = r->batch_tail = NULL;
    r->batch_n = 0;
    r->batch_bytes = 0;
    if (!b) {
        /* no memory for the batch record: fail each delivery (503) */
        for (struct enq *q = items; q;) {
            struct enq *next = q->next;
            q->cb(INGRESS_ENQUEUE_FAILED, q->priv);
            free(q);
            q = next;
        }
        return;
    }
    b->items = items;
    b->n = n;
    b->ttl_s = r->ttl_s;
    b->watermark = r->watermark;
    if (send_batch(r, b) != SG_OK)
        batch_finish(b, NULL); /* the connection went away since the requests were taken */
}

static void on_batch_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_batch(arg);
}

/* Copies prefix and then n bytes of id to dst, NUL-terminated; returns the length. */
static size_t put_key(char *dst, const char *prefix, size_t plen, const char *id, size_t n)
{
    memcpy(dst, prefix, plen);
    memcpy(dst + plen, id, n);
    dst[plen + n] = '\0';
    return plen + n;
}

enum sg_err ingress_redis_enqueue(struct ingress_redis *r, const char *delivery, size_t dlen,
                                  const char *signature, const char *job, size_t joblen,
                                  int64_t ttl_s, int64_t watermark, ingress_enqueue_cb cb,
                                  void *priv)
{
    if (!ingress_redis_ready(r))
        return SG_ERR_REDIS;
    size_t dplen = sizeof SG_KEY_DELIVERY_PREFIX - 1, splen = sizeof SG_KEY_SIGNATURE_PREFIX - 1;
    size_t slen = strlen(signature);
    struct enq *q = malloc(sizeof *q + dplen + dlen + 1 + splen + slen + 1 + joblen + 1);
    if (!q)
        return SG_ERR_NOMEM;
    q->next = NULL;
    q->cb = cb;
    q->priv = priv;
    q->key = (char *)(q + 1);
    q->keylen = put_key(q->key, SG_KEY_DELIVERY_PREFIX, dplen, delivery, dlen);
    q->sigkey = q->key + q->keylen + 1;
    q->sigkeylen = put_key(q->sigkey, SG_KEY_SIGNATURE_PREFIX, splen, signature, slen);
    q->job = q->sigkey + q->sigkeylen + 1;
    q->joblen = put_key(q->job, "", 0, job, joblen);
    if (r->batch_head && (r->ttl_s != ttl_s || r->watermark != watermark))
        flush_batch(r); /* one ttl/watermark per call */
    r->ttl_s = ttl_s;
    r->watermark = watermark;
    if (r->batch_tail)
        r->batch_tail->next = q;
    else
        r->batch_head = q;
    r->batch_tail = q;
    r->batch_n++;
    r->batch_bytes += joblen + q->keylen + q->sigkeylen;
    if (r->batch_n >= BATCH_MAX || r->batch_bytes >= BATCH_MAX_BYTES)
        flush_batch(r);
    else if (r->batch_n == 1)
        event_active(r->batch_ev, EV_TIMEOUT, 0); /* runs after this pass's other callbacks */
    return SG_OK;
}
