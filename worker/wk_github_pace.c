/* Why: the GitHub client's gate before each request: mutating requests paced per installation
 * across the fleet (github:pace:<id>, GitHub's secondary limits punish bursts), and rate limits
 * that GitHub announced remembered fleet-wide (github:limited:<id>) so no worker asks before the
 * reset. One Lua script does both and reads the cached token in the same Redis round trip. */
#include "wk_github_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "sg_keys.h"
#include "sg_time.h"

/* KEYS[1] github:limited:<id> (unix ms until which GitHub refuses), KEYS[2] github:pace:<id>
 * (unix ms of the next free slot for a mutating request), KEYS[3] github:token:<id> (read in the
 * same round trip, so a request costs one Redis call). ARGV: pace_ms, max_wait_ms, mutating.
 * Returns {0, wait_ms, token|nil} (go, after waiting), {1, ms} (limited), {2, ms} (queue too
 * long). Uses Redis's clock, so the fleet agrees on time. */
static const char GATE_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local lim = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if lim > now then return {1, lim - now} end\n"
    "local tok = redis.call('GET', KEYS[3])\n"
    "if ARGV[3] == '0' then return {0, 0, tok} end\n"
    "local pace = tonumber(ARGV[1])\n"
    "local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "local slot = math.max(now, nxt)\n"
    "local wait = slot - now\n"
    "if wait > tonumber(ARGV[2]) then return {2, wait} end\n"
    "redis.call('SET', KEYS[2], slot + pace, 'PX', wait + pace + 1000)\n"
    "return {0, wait, tok}\n";

static char gate_sha[41];

static void gate_sha_init(void)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)GATE_LUA, strlen(GATE_LUA), md);
    for (size_t i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(gate_sha + 2 * i, 3, "%02x", md[i]);
}

static struct wk_gh_pace *local_pace_slot(struct wk_github *gh, int64_t inst)
{
    struct wk_gh_pace *oldest = &gh->paces[0];
    for (size_t i = 0; i < WK_GH_SLOTS; i++) {
        if (gh->paces[i].inst == inst)
            return &gh->paces[i];
        if (gh->paces[i].next_ms < oldest->next_ms)
            oldest = &gh->paces[i];
    }
    memset(oldest, 0, sizeof *oldest);
    oldest->inst = inst;
    return oldest;
}

/* Sleeps ms in slices of at most 100 ms; false when the stop hook asked to stop. */
static bool sleep_ms(struct wk_github *gh, int64_t ms)
{
    if (ms <= 0)
        return true;
    int64_t end = sg_mono_ms() + ms;
    for (;;) {
        if (gh->should_stop && gh->should_stop(gh->should_stop_ud))
            return false;
        int64_t left = end - sg_mono_ms();
        if (left <= 0)
            return true;
        if (left > 100)
            left = 100;
        struct timespec ts = {0, (long)left * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
}

/* EVALSHA of the gate script, loading it with EVAL when Redis does not know it (NOSCRIPT: first
 * use, or after a Redis restart). */
static redisReply *gate_eval(struct wk_github *gh, const char *k1, const char *k2, const char *k3,
                             bool pace)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, gate_sha_init);
    redisReply *rep =
        wk_redis_command(gh->redis, "EVALSHA %s 3 %s %s %s %lld %lld %s", gate_sha, k1, k2, k3,
                         (long long)gh->pace_ms, (long long)gh->pace_max_wait_ms, pace ? "1" : "0");
    if (rep && rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOSCRIPT", 8)) {
        freeReplyObject(rep);
        rep = wk_redis_command(gh->redis, "EVAL %s 3 %s %s %s %lld %lld %s", GATE_LUA, k1, k2, k3,
                               (long long)gh->pace_ms, (long long)gh->pace_max_wait_ms,
                               pace ? "1" : "0");
    }
    return rep;
}

/* Before a request for an installation: refuses while GitHub's limit (remembered fleet-wide) is in
 * force, and for a mutating request waits for this installation's next pacing slot. When token is
 * non-NULL it also receives the cached installation token ("" when none is cached). */
static enum sg_err gate(struct wk_github *gh, int64_t inst, bool mutating, char *token,
                        size_t toklen, struct wk_github_error *err)
{
    int64_t now = sg_now_ms();
    int64_t kind = 0, ms = 0;
    bool pace = mutating && gh->pace_ms > 0;
    if (token)
        token[0] = '\0';
    if (gh->redis) {
        char klim[64], kpace[64], ktok[64];
        snprintf(klim, sizeof klim, "github:limited:%lld", (long long)inst);
        snprintf(kpace, sizeof kpace, "github:pace:%lld", (long long)inst);
        sg_key_token(ktok, sizeof ktok, inst);
        redisReply *rep = gate_eval(gh, klim, kpace, ktok, pace);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
            rep->element[0]->type != REDIS_REPLY_INTEGER ||
            rep->element[1]->type != REDIS_REPLY_INTEGER)
            return wk_gh_redis_error(gh, rep, err, "pacing script");
        kind = rep->element[0]->integer;
        ms = rep->element[1]->integer;
        if (token && rep->elements > 2 && rep->element[2]->type == REDIS_REPLY_STRING &&
            rep->element[2]->len > 0 && (size_t)rep->element[2]->len < toklen)
            snprintf(token, toklen, "%s", rep->element[2]->str);
        freeReplyObject(rep);
    } else {
        struct wk_gh_pace *p = local_pace_slot(gh, inst);
        if (p->limited_until_ms > now) {
            kind = 1;
            ms = p->limited_until_ms - now;
        } else if (pace) {
            int64_t slot = p->next_ms > now ? p->next_ms : now;
            ms = slot - now;
            if (ms > gh->pace_max_wait_ms) {
                kind = 2;
            } else {
                p->next_ms = slot + gh->pace_ms;
            }
        }
        struct wk_gh_token *lt = token ? wk_gh_local_token(gh, inst, false) : NULL;
        if (lt && lt->token[0] && lt->expires_ms > now)
            snprintf(token, toklen, "%s", lt->token);
    }
    if (kind == 1) {
        wk_gh_err_set(err, 0, now + ms,
                      "GitHub rate limit for installation %lld in force for %lld ms more",
                      (long long)inst, (long long)ms);
        return SG_ERR_RATE_LIMITED;
    }
    if (kind == 2) {
        wk_gh_err_set(err, 0, now + ms, "too many mutating requests queued for installation %lld",
                      (long long)inst);
        return SG_ERR_RATE_LIMITED;
    }
    if (!sleep_ms(gh, ms)) {
        wk_gh_err_set(err, 0, 0, "stopped while waiting for a pacing slot (shutting down)");
        return SG_ERR_SHUTDOWN;
    }
    return SG_OK;
}

/* The gate, then the installation token (fetched when none is cached); a pass through Redis is
 * remembered for the unpaced requests of the next WK_GH_GATE_REUSE_MS. */
enum sg_err wk_gh_gate_token(struct wk_github *gh, int64_t inst, bool mutating, char *token,
                             size_t toklen, struct wk_github_error *err)
{
    const struct wk_gh_gate_pass *gp = &gh->passed;
    int64_t since = sg_now_ms() - gp->at_ms;
    if (gh->redis && !(mutating && gh->pace_ms > 0) && gp->inst == inst && gp->token[0] &&
        since >= 0 && since < WK_GH_GATE_REUSE_MS && strlen(gp->token) < toklen) {
        snprintf(token, toklen, "%s", gp->token);
        return SG_OK;
    }
    enum sg_err e = gate(gh, inst, mutating, token, toklen, err);
    if (e == SG_OK && !token[0])
        e = wk_gh_token_fetch(gh, inst, token, toklen, err);
    if (e == SG_OK && gh->redis && strlen(token) < sizeof gh->passed.token) {
        gh->passed.inst = inst;
        gh->passed.at_ms = sg_now_ms();
        snprintf(gh->passed.token, sizeof gh->passed.token, "%s", token);
    }
    return e;
}

/* Remembers a rate limit for the installation until retry_at_ms, for the whole fleet. */
void wk_gh_remember_limit(struct wk_github *gh, int64_t inst, int64_t retry_at_ms)
{
    int64_t now = sg_now_ms();
    memset(&gh->passed, 0, sizeof gh->passed);
    if (retry_at_ms <= now)
        return;
    if (gh->redis) {
        char k[64];
        snprintf(k, sizeof k, "github:limited:%lld", (long long)inst);
        redisReply *rep = wk_redis_command(gh->redis, "SET %s %lld PX %lld", k,
                                           (long long)retry_at_ms, (long long)(retry_at_ms - now));
        if (rep)
            freeReplyObject(rep);
    } else {
        local_pace_slot(gh, inst)->limited_until_ms = retry_at_ms;
    }
}

/* A successful answer that used the last request of the hour (X-RateLimit-Remaining: 0): the
 * next request would be refused, so the fleet waits for X-RateLimit-Reset without asking. */
void wk_gh_remember_exhausted(struct wk_github *gh, int64_t inst, const struct wk_gh_resp *r)
{
    int64_t remaining, reset;
    if (wk_gh_parse_i64(r->rl_remaining, &remaining) && remaining == 0 &&
        wk_gh_parse_reset_s(r->rl_reset, &reset))
        wk_gh_remember_limit(gh, inst, reset * 1000);
}
