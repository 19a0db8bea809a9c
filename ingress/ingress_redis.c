/* Why: the enqueue path of the ingress; see ingress_redis.h. The connection itself (finding the
 * primary, TLS, reconnection, liveness, timeouts) is ingress_primary.c; this file batches
 * deliveries into one script call per event-loop pass and, with REDIS_MIN_REPLICAS_ACK, holds
 * their answers until WAIT says enough replicas have them. */
#include "ingress_redis.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_primary.h"
#include "sg_keys.h"
#include "sg_log.h"

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

struct ingress_redis {
    struct event_base *base;
    const struct sg_redis_opts *o;
    struct ingress_primary *primary;
    char sha[41];
    bool freeing;
    /* deliveries waiting for this loop pass's batch */
    struct enq *batch_head, *batch_tail;
    size_t batch_n, batch_bytes;
    struct event *batch_ev;
    int64_t ttl_s, watermark;
};

#define BATCH_MAX       128
#define BATCH_MAX_BYTES (4u << 20)

enum sg_err ingress_redis_command(struct ingress_redis *r, ingress_redis_cb cb, void *priv,
                                  int argc, const char **argv, const size_t *argvlen)
{
    return ingress_primary_command(r->primary, cb, priv, argc, argv, argvlen);
}

static void on_script_loaded(redisReply *reply, void *arg)
{
    (void)arg;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        sg_log_error("redis SCRIPT LOAD failed", SG_KV_STR("err", reply->str), SG_KV_END);
}

/* Every new connection (a new primary after a failover too) loads the script first; a batch
 * that still meets NOSCRIPT falls back to EVAL. */
static void on_primary_setup(struct ingress_primary *p, void *priv)
{
    (void)priv;
    const char *argv[3] = {"SCRIPT", "LOAD", INGRESS_ENQUEUE_LUA};
    size_t lens[3] = {6, 4, sizeof INGRESS_ENQUEUE_LUA - 1};
    ingress_primary_command(p, on_script_loaded, NULL, 3, argv, lens);
}

static void flush_batch(struct ingress_redis *r);
static void on_batch_event(evutil_socket_t fd, short what, void *arg);

struct ingress_redis *ingress_redis_new(struct event_base *base, const struct sg_redis_opts *o,
                                        int64_t timeout_ms)
{
    struct ingress_redis *r = calloc(1, sizeof *r);
    char err[256];
    if (!r)
        return NULL;
    r->base = base;
    r->o = o;
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)INGRESS_ENQUEUE_LUA, sizeof INGRESS_ENQUEUE_LUA - 1, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(r->sha + 2 * i, 3, "%02x", md[i]);
    r->primary = ingress_primary_new(base, o, timeout_ms, on_primary_setup, r, err, sizeof err);
    r->batch_ev = event_new(base, -1, 0, on_batch_event, r);
    if (!r->primary || !r->batch_ev) {
        if (!r->primary)
            sg_log_error("redis client setup failed", SG_KV_STR("err", err), SG_KV_END);
        ingress_primary_free(r->primary);
        if (r->batch_ev)
            event_free(r->batch_ev);
        free(r);
        return NULL;
    }
    return r;
}

void ingress_redis_start(struct ingress_redis *r)
{
    ingress_primary_start(r->primary);
}

void ingress_redis_free(struct ingress_redis *r)
{
    if (!r)
        return;
    r->freeing = true;
    /* Every waiting delivery gets its answer: sent now, it fails (or is answered) before the
     * connection goes below, and each callback runs exactly once. */
    flush_batch(r);
    ingress_primary_free(r->primary);
    if (r->batch_ev)
        event_free(r->batch_ev);
    free(r);
}

bool ingress_redis_ready(const struct ingress_redis *r)
{
    return ingress_primary_ready(r->primary);
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
    struct ingress_redis *r;
    struct enq *items;
    size_t n;
    bool tried_eval;
    int64_t ttl_s, watermark;
    /* With REDIS_MIN_REPLICAS_ACK the script's answers wait here for WAIT's. NULL: none yet. */
    signed char *res;
    bool wait_queued; /* this round's WAIT follows the script: its reply finishes the batch */
    bool resend;      /* NOSCRIPT: send again once this round's WAIT has answered */
};

/* Answers every delivery of the batch (FAILED where there is no result) and frees it. */
static void batch_finish(struct batch *b)
{
    size_t i = 0;
    struct enq *q = b->items;
    while (q) {
        struct enq *next = q->next;
        q->cb(b->res ? (enum ingress_enqueue_result)b->res[i] : INGRESS_ENQUEUE_FAILED, q->priv);
        free(q);
        q = next;
        i++;
    }
    free(b->res);
    free(b);
}

/* Keeps the script's per-delivery results; anything else leaves them all FAILED. */
static void batch_record(struct batch *b, const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != b->n)
        return;
    b->res = malloc(b->n);
    for (size_t i = 0; b->res && i < b->n; i++) {
        const redisReply *e = reply->element[i];
        b->res[i] = e->type == REDIS_REPLY_INTEGER && e->integer >= -1 && e->integer <= 1
                        ? (signed char)e->integer
                        : INGRESS_ENQUEUE_FAILED;
    }
}

static enum sg_err send_round(struct ingress_redis *r, struct batch *b);

static void on_batch_reply(redisReply *reply, void *priv)
{
    struct batch *b = priv;
    struct ingress_redis *r = b->r;
    bool waits = b->wait_queued;
    if (reply && reply->type == REDIS_REPLY_ERROR && !b->tried_eval &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        b->tried_eval = true;
        if (waits) {
            b->resend = true; /* this round's WAIT is still to come */
            return;
        }
        if (send_round(r, b) == SG_OK)
            return;
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        sg_log_warn("redis enqueue failed", SG_KV_STR("err", reply->str), SG_KV_END);
    }
    batch_record(b, reply);
    if (waits)
        return;
    if (r->o->min_replicas_ack > 0) { /* WAIT could not be queued: nothing is acknowledged */
        free(b->res);
        b->res = NULL;
    }
    batch_finish(b);
}

/* PUBLISH's reply: only a refusal (an ACL without the channel) is worth a line. */
static void on_barrier_reply(redisReply *reply, void *priv)
{
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        sg_log_warn("redis replication barrier refused", SG_KV_STR("err", reply->str), SG_KV_END);
}

/* WAIT's answer decides: fewer replicas than REDIS_MIN_REPLICAS_ACK have this batch, so nothing
 * of it may be answered 2xx (a queued job could vanish with the primary; a duplicate's marker
 * might be as fresh). Refused deliveries come back by redelivery, and then find both the marker
 * and the job, or neither. */
static void on_wait_reply(redisReply *reply, void *priv)
{
    struct batch *b = priv;
    struct ingress_redis *r = b->r;
    if (b->resend && reply) {
        b->resend = false;
        if (send_round(r, b) == SG_OK)
            return;
        free(b->res);
        b->res = NULL;
    }
    long long acks = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (b->res && acks < r->o->min_replicas_ack) {
        sg_log_warn("redis replicas did not acknowledge the enqueue", SG_KV_INT("acks", acks),
                    SG_KV_INT("needed", r->o->min_replicas_ack),
                    SG_KV_INT("deliveries", (int64_t)b->n), SG_KV_END);
        for (size_t i = 0; i < b->n; i++)
            if (b->res[i] >= 0)
                b->res[i] = INGRESS_ENQUEUE_FAILED;
    }
    batch_finish(b);
}

/* WAIT counts the replicas that have reached this connection's last write. A batch of duplicates
 * writes nothing, and the markers it found may have come from another ingress a moment ago, so a
 * PUBLISH (replicated like a write, and touching no key) moves the point WAIT checks to now. */
static const char BARRIER_CHANNEL[] = "singularity:replication-barrier";

static enum sg_err send_batch(struct ingress_redis *r, struct batch *b);

/* One attempt: the script, and with REDIS_MIN_REPLICAS_ACK the barrier and WAIT pipelined
 * behind it on the same connection (replies come back in this order). */
static enum sg_err send_round(struct ingress_redis *r, struct batch *b)
{
    b->wait_queued = false;
    enum sg_err e = send_batch(r, b);
    if (e || r->o->min_replicas_ack == 0)
        return e;
    char n[24], ms[24];
    const char *pub[] = {"PUBLISH", BARRIER_CHANNEL, ""};
    size_t pub_len[] = {7, sizeof BARRIER_CHANNEL - 1, 0};
    const char *wait[] = {"WAIT", n, ms};
    size_t wait_len[] = {4,
                         (size_t)snprintf(n, sizeof n, "%lld", (long long)r->o->min_replicas_ack),
                         (size_t)snprintf(ms, sizeof ms, "%lld", (long long)r->o->wait_timeout_ms)};
    /* The connection cannot change between these calls (nothing runs in between), so once the
     * script is queued these are too, unless memory ran out: then the script's reply finishes
     * the batch, as a failure. */
    if (ingress_redis_command(r, on_barrier_reply, NULL, 3, pub, pub_len) == SG_OK &&
        ingress_redis_command(r, on_wait_reply, b, 3, wait, wait_len) == SG_OK)
        b->wait_queued = true;
    return SG_OK;
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
    b->r = r;
    b->items = items;
    b->n = n;
    b->ttl_s = r->ttl_s;
    b->watermark = r->watermark;
    if (send_round(r, b) != SG_OK)
        batch_finish(b); /* the connection went away since the requests were taken */
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
