/* Why: see queue.h. The Lua scripts are the heart of it: each one is a single atomic step, so a
 * crash between two Redis commands can never leave a job in two places or in none. */
#include "wk_queue.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_redis.h"
#include "sg_job.h"
#include "sg_keys.h"
#include "sg_log.h"

struct wk_queue {
    struct wk_redis *redis; /* borrowed */
    char worker_id[128];
    char processing[256];
    char err[256];
};

/* Finishing scripts: act only when the job is still in our processing list. */
static const char LUA_ACK[] = "return redis.call('LREM', KEYS[1], 1, ARGV[1])";
/* The ack and the next take in one round trip while the queue has work: LMOVE is BLMOVE's
 * non-blocking form (same ends), and false comes back as a nil reply when the queue is empty. */
static const char LUA_ACK_TAKE[] =
    "local n = redis.call('LREM', KEYS[1], 1, ARGV[1])\n"
    "return {n, redis.call('LMOVE', KEYS[2], KEYS[1], 'RIGHT', 'LEFT')}";
/* A job taken back from a worker that died or stopped in the middle of it counts as an attempt:
 * attempt + 1 and last_error (ARGV why), so a job that kills or stalls every worker that takes it
 * reaches the dead list (the worker that takes it at MAX_ATTEMPTS buries it, jobs.c) instead of
 * going round for ever. A line that is not a job object is moved as it is (the worker that takes
 * it buries it as unparseable). cjson writes integers below 1e14 exactly, which every number of
 * a job line is. */
#define LUA_COUNTED                                                                                \
    "local function counted(j, why)\n"                                                             \
    "  if why == '' then return j end\n"                                                           \
    "  local ok, o = pcall(cjson.decode, j)\n"                                                     \
    "  if not ok or type(o) ~= 'table' or type(o.attempt) ~= 'number' then return j end\n"         \
    "  o.attempt = o.attempt + 1\n"                                                                \
    "  o.last_error = why\n"                                                                       \
    "  return cjson.encode(o)\n"                                                                   \
    "end\n"
/* Jobs in our processing list other than the one held go back to the front of the queue: a take
 * whose reply was lost with the connection left them there, and no one else would ever run them
 * while this worker keeps its heartbeat (ARGV[2] ""); or, at a hard stop, the job the runner could
 * not hand back itself, counted as an attempt (ARGV[2] says why). */
static const char LUA_RECOVER[] =
    LUA_COUNTED "local moved = 0\n"
                "for _, j in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do\n"
                "  if j ~= ARGV[1] then\n"
                "    redis.call('LREM', KEYS[1], 1, j)\n"
                "    redis.call('RPUSH', KEYS[2], counted(j, ARGV[2]))\n"
                "    moved = moved + 1\n"
                "  end\n"
                "end\n"
                "return moved";
static const char LUA_DELAY[] =
    "if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])\n"
    "return 1";
static const char LUA_RETURN[] =
    "if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end\n"
    "redis.call('RPUSH', KEYS[2], ARGV[2] ~= '' and ARGV[2] or ARGV[1])\n"
    "return 1";
/* Due delayed jobs go to the back of the queue (LPUSH), like a new job. */
static const char LUA_PROMOTE[] = "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', "
                                  "ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))\n"
                                  "for _, j in ipairs(due) do\n"
                                  "  redis.call('ZREM', KEYS[1], j)\n"
                                  "  redis.call('LPUSH', KEYS[2], j)\n"
                                  "end\n"
                                  "return #due";
/* A dead worker's jobs go to the front (RIGHT end) so they are taken next, each counted as an
 * attempt (LUA_COUNTED). Several reapers at once are safe: the script is atomic, and a second
 * reaper finds the worker already gone. */
static const char LUA_REAP[] =
    LUA_COUNTED "local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])\n"
                "local moved = 0\n"
                "for _, id in ipairs(dead) do\n"
                "  local src = ARGV[2] .. id\n"
                "  while true do\n"
                "    local j = redis.call('RPOP', src)\n"
                "    if not j then break end\n"
                "    redis.call('RPUSH', KEYS[2], counted(j, ARGV[3]))\n"
                "    moved = moved + 1\n"
                "  end\n"
                "  redis.call('ZREM', KEYS[1], id)\n"
                "end\n"
                "return {#dead, moved}";
static const char LUA_LEAVE[] = "if redis.call('LLEN', KEYS[1]) ~= 0 then return 0 end\n"
                                "redis.call('ZREM', KEYS[2], ARGV[1])\n"
                                "return 1";
/* Lines over the cap that a take left in our processing list go to the dead list as they are
 * found there, never crossing to the worker again: with their last error and the line's first KiB
 * (bytes above 127 as '?', so the entry is valid JSON and UTF-8 whatever the line held), the shape
 * every unparseable line has there ({"last_error":...,"raw":...,"raw_bytes":...}). */
static const char LUA_BURY_OVERSIZED[] =
    "local n = 0\n"
    "for _, j in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do\n"
    "  if #j > tonumber(ARGV[1]) then\n"
    "    redis.call('LREM', KEYS[1], 1, j)\n"
    "    local why = 'job line of ' .. #j .. ' bytes is over the ' .. ARGV[1] ..\n"
    "                '-byte limit; not parsed'\n"
    "    redis.call('LPUSH', KEYS[2], '{\"last_error\":' .. cjson.encode(why) .. ',\"raw\":' ..\n"
    "      cjson.encode((string.gsub(string.sub(j, 1, 1024), '[\\128-\\255]', '?'))) ..\n"
    "      ',\"raw_bytes\":' .. #j .. '}')\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n";
/* Bury (to the dead list) and a dead job's retry (back to the queue): move one line, replaced. */
static const char LUA_REQUEUE[] =
    "if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end\n"
    "redis.call('LPUSH', KEYS[2], ARGV[2])\n"
    "return 1";

struct wk_queue *wk_queue_new(struct wk_redis *redis, const char *worker_id)
{
    struct wk_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->redis = redis;
    snprintf(q->worker_id, sizeof q->worker_id, "%s", worker_id ? worker_id : "");
    sg_key_processing(q->processing, sizeof q->processing, q->worker_id);
    return q;
}

void wk_queue_free(struct wk_queue *q)
{
    free(q);
}

const char *wk_queue_error(const struct wk_queue *q)
{
    return q->err;
}

enum sg_err wk_queue_connect(struct wk_queue *q)
{
    enum sg_err e = wk_redis_connect(q->redis);
    if (e)
        snprintf(q->err, sizeof q->err, "%s", wk_redis_error(q->redis));
    return e;
}

/* Runs one command (argv form) through the shared connection, which reconnects by itself after a
 * connection error. The reply belongs to the caller. */
static enum sg_err cmd_ex(struct wk_queue *q, redisReply **out, int argc, const char **argv,
                          const size_t *lens, int extra_ms)
{
    enum sg_err e = wk_redis_argv(q->redis, out, argc, argv, lens, extra_ms);
    if (e)
        snprintf(q->err, sizeof q->err, "%s", wk_redis_error(q->redis));
    return e;
}

static enum sg_err cmd(struct wk_queue *q, redisReply **out, int argc, const char **argv,
                       const size_t *lens)
{
    return cmd_ex(q, out, argc, argv, lens, 0);
}

/* EVAL script with keys and args; arg_lens (may be NULL: strlen) makes job lines binary-safe, so a
 * line holding a NUL is still the same line to LREM. */
static enum sg_err eval_bin(struct wk_queue *q, redisReply **out, const char *script, int nkeys,
                            const char *const *keys, int nargs, const char *const *args,
                            const size_t *arg_lens)
{
    const char *argv[16];
    size_t lens[16];
    char nk[16];
    int argc = 0;
    if (3 + nkeys + nargs > 16)
        return SG_ERR_INVALID;
    snprintf(nk, sizeof nk, "%d", nkeys);
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    for (int i = 0; i < nargs; i++, argc++) {
        argv[argc] = args[i];
        lens[argc] = arg_lens ? arg_lens[i] : strlen(args[i]);
    }
    return cmd(q, out, argc, argv, lens);
}

static enum sg_err eval(struct wk_queue *q, redisReply **out, const char *script, int nkeys,
                        const char *const *keys, int nargs, const char *const *args)
{
    return eval_bin(q, out, script, nkeys, keys, nargs, args, NULL);
}

static enum sg_err eval_int(struct wk_queue *q, long long *v, const char *script, int nkeys,
                            const char *const *keys, int nargs, const char *const *args,
                            const size_t *arg_lens)
{
    redisReply *r;
    enum sg_err e = eval_bin(q, &r, script, nkeys, keys, nargs, args, arg_lens);
    if (e)
        return e;
    *v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return SG_OK;
}

/* Runs one command whose string replies are job lines: one over SG_JOB_LINE_MAX comes back as an
 * integer reply holding its length, never copied (wk_redis_argv_capped). */
static enum sg_err cmd_lines(struct wk_queue *q, redisReply **out, int argc, const char **argv,
                             const size_t *lens, int extra_ms)
{
    enum sg_err e =
        wk_redis_argv_capped(q->redis, out, argc, argv, lens, extra_ms, (size_t)SG_JOB_LINE_MAX);
    if (e)
        snprintf(q->err, sizeof q->err, "%s", wk_redis_error(q->redis));
    return e;
}

/* A line over SG_JOB_LINE_MAX is not copied or parsed: the script moves it (and any other such
 * line we hold) from our processing list to the dead list inside Redis. */
static enum sg_err bury_oversized(struct wk_queue *q, size_t len)
{
    char cap[32];
    snprintf(cap, sizeof cap, "%zu", (size_t)SG_JOB_LINE_MAX);
    const char *keys[] = {q->processing, SG_KEY_DEAD};
    const char *args[] = {cap};
    long long n = 0;
    enum sg_err e = eval_int(q, &n, LUA_BURY_OVERSIZED, 2, keys, 1, args, NULL);
    if (e == SG_OK)
        sg_log_error("job line over the size limit moved to the dead list unparsed",
                     SG_KV_INT("bytes", (long long)len),
                     SG_KV_INT("limit", (long long)SG_JOB_LINE_MAX), SG_KV_INT("jobs", n),
                     SG_KV_END);
    return e;
}

/* A job line reply (read by cmd_lines) as a malloc'ed, NUL-terminated line (it may hold NULs:
 * *len is its length); a line over the cap is dead-lettered instead. *line stays NULL unless a
 * line is returned. */
static enum sg_err copy_line(struct wk_queue *q, const redisReply *r, char **line, size_t *len)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return bury_oversized(q, (size_t)r->integer);
    if (r->type != REDIS_REPLY_STRING)
        return SG_OK;
    if (r->len > SG_JOB_LINE_MAX)
        return bury_oversized(q, r->len);
    *line = malloc(r->len + 1);
    if (!*line)
        return SG_ERR_NOMEM;
    memcpy(*line, r->str, r->len);
    (*line)[r->len] = '\0';
    if (len)
        *len = r->len;
    return SG_OK;
}

enum sg_err wk_queue_take(struct wk_queue *q, int block_s, char **line, size_t *len)
{
    *line = NULL;
    if (len)
        *len = 0;
    char bs[16];
    snprintf(bs, sizeof bs, "%d", block_s);
    const char *argv[] = {"BLMOVE", SG_KEY_QUEUE, q->processing, "RIGHT", "LEFT", bs};
    /* The command may legitimately block for block_s: the socket timeout is widened for it. */
    redisReply *r;
    enum sg_err e = cmd_lines(q, &r, 6, argv, NULL, block_s * 1000);
    if (e)
        return e;
    e = copy_line(q, r, line, len);
    freeReplyObject(r);
    return e;
}

enum sg_err wk_queue_heartbeat(struct wk_queue *q, int64_t now_ms)
{
    char score[32];
    snprintf(score, sizeof score, "%lld", (long long)now_ms);
    const char *argv[] = {"ZADD", SG_KEY_WORKERS, score, q->worker_id};
    redisReply *r;
    enum sg_err e = cmd(q, &r, 4, argv, NULL);
    if (!e)
        freeReplyObject(r);
    return e;
}

static enum sg_err finish(struct wk_queue *q, const char *script, const char *dst, const char *line,
                          size_t len, const char *new_line, const char *score, bool *ours)
{
    const char *keys[2] = {q->processing, dst};
    const char *args[3] = {line, new_line ? new_line : "", score ? score : "0"};
    const size_t lens[3] = {len, strlen(args[1]), strlen(args[2])};
    long long v = 0;
    enum sg_err e = eval_int(q, &v, script, dst ? 2 : 1, keys, 3, args, lens);
    if (ours)
        *ours = !e && v == 1;
    return e;
}

enum sg_err wk_queue_ack(struct wk_queue *q, const char *line, size_t len, bool *ours)
{
    return finish(q, LUA_ACK, NULL, line, len, NULL, NULL, ours);
}

enum sg_err wk_queue_ack_take(struct wk_queue *q, const char *line, size_t len, bool *ours,
                              char **next, size_t *next_len)
{
    *next = NULL;
    if (next_len)
        *next_len = 0;
    if (ours)
        *ours = false;
    const char *argv[] = {"EVAL", LUA_ACK_TAKE, "2", q->processing, SG_KEY_QUEUE, line};
    const size_t lens[] = {4,  strlen(LUA_ACK_TAKE), 1, strlen(q->processing), strlen(SG_KEY_QUEUE),
                           len};
    redisReply *r;
    enum sg_err e = cmd_lines(q, &r, 6, argv, lens, 0);
    if (e)
        return e;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        snprintf(q->err, sizeof q->err, "redis: unexpected reply to the ack");
        freeReplyObject(r);
        return SG_ERR_REDIS;
    }
    if (ours)
        *ours = r->element[0]->integer == 1;
    e = copy_line(q, r->element[1], next, next_len);
    freeReplyObject(r);
    return e;
}

static enum sg_err recover(struct wk_queue *q, const char *held, size_t held_len, const char *why,
                           int64_t *moved)
{
    const char *keys[] = {q->processing, SG_KEY_QUEUE};
    const char *args[] = {held ? held : "", why};
    const size_t lens[] = {held ? held_len : 0, strlen(why)};
    long long v = 0;
    enum sg_err e = eval_int(q, &v, LUA_RECOVER, 2, keys, 2, args, lens);
    if (moved)
        *moved = e ? 0 : v;
    return e;
}

enum sg_err wk_queue_recover(struct wk_queue *q, const char *held, size_t held_len, int64_t *moved)
{
    return recover(q, held, held_len, "", moved);
}

enum sg_err wk_queue_hand_back(struct wk_queue *q, const char *why, int64_t *moved)
{
    return recover(q, NULL, 0, why && *why ? why : "handed back", moved);
}

enum sg_err wk_queue_delay(struct wk_queue *q, const char *line, size_t len, const char *new_line,
                           int64_t due_ms, bool *ours)
{
    char score[32];
    snprintf(score, sizeof score, "%lld", (long long)due_ms);
    return finish(q, LUA_DELAY, SG_KEY_DELAYED, line, len, new_line, score, ours);
}

enum sg_err wk_queue_bury(struct wk_queue *q, const char *line, size_t len, const char *new_line,
                          bool *ours)
{
    return finish(q, LUA_REQUEUE, SG_KEY_DEAD, line, len, new_line, NULL, ours);
}

enum sg_err wk_queue_return(struct wk_queue *q, const char *line, size_t len, const char *new_line,
                            bool *ours)
{
    return finish(q, LUA_RETURN, SG_KEY_QUEUE, line, len, new_line, NULL, ours);
}

enum sg_err wk_queue_promote(struct wk_queue *q, int64_t now_ms, int max, int64_t *moved)
{
    char now[32], lim[16];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(lim, sizeof lim, "%d", max > 0 ? max : 100);
    const char *keys[] = {SG_KEY_DELAYED, SG_KEY_QUEUE};
    const char *args[] = {now, lim};
    long long v = 0;
    enum sg_err e = eval_int(q, &v, LUA_PROMOTE, 2, keys, 2, args, NULL);
    if (moved)
        *moved = v;
    return e;
}

enum sg_err wk_queue_reap(struct wk_queue *q, int64_t now_ms, int64_t dead_after_ms,
                          int64_t *workers, int64_t *jobs)
{
    char cutoff[32];
    snprintf(cutoff, sizeof cutoff, "%lld", (long long)(now_ms - dead_after_ms));
    const char *keys[] = {SG_KEY_WORKERS, SG_KEY_QUEUE};
    const char *args[] = {cutoff, SG_KEY_PROCESSING_PREFIX,
                          "reclaimed from a worker that stopped answering (WORKER_DEAD_AFTER_S)"};
    redisReply *r;
    enum sg_err e = eval(q, &r, LUA_REAP, 2, keys, 3, args);
    if (e)
        return e;
    int64_t w = 0, j = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        w = r->element[0]->integer;
        j = r->element[1]->integer;
    }
    freeReplyObject(r);
    if (workers)
        *workers = w;
    if (jobs)
        *jobs = j;
    return SG_OK;
}

enum sg_err wk_queue_worker_alive(struct wk_queue *q, const char *worker_id, int64_t now_ms,
                                  int64_t dead_after_ms, bool *alive)
{
    const char *argv[] = {"ZSCORE", SG_KEY_WORKERS, worker_id};
    redisReply *r;
    *alive = false;
    enum sg_err e = cmd(q, &r, 3, argv, NULL);
    if (e)
        return e;
    if (r->type == REDIS_REPLY_STRING) {
        double score = strtod(r->str, NULL);
        *alive = score >= (double)(now_ms - dead_after_ms);
    }
    freeReplyObject(r);
    return SG_OK;
}

enum sg_err wk_queue_leave(struct wk_queue *q, bool *left)
{
    const char *keys[] = {q->processing, SG_KEY_WORKERS};
    const char *args[] = {q->worker_id};
    long long v = 0;
    enum sg_err e = eval_int(q, &v, LUA_LEAVE, 2, keys, 1, args, NULL);
    if (left)
        *left = !e && v == 1;
    return e;
}

enum sg_err wk_queue_stats(struct wk_queue *q, int64_t now_ms, struct sg_queue_stats *st)
{
    memset(st, 0, sizeof *st);
    const char *args[] = {SG_KEY_PROCESSING_PREFIX};
    redisReply *r;
    enum sg_err e = eval(q, &r, SG_QUEUE_STATS_LUA, 4, SG_QUEUE_STATS_KEYS, 1, args);
    if (e)
        return e;
    sg_queue_stats_from_reply(st, r, now_ms);
    freeReplyObject(r);
    return SG_OK;
}

enum sg_err wk_queue_dead_list(struct wk_queue *q, long start, long stop, wk_queue_line_fn cb,
                               void *ud)
{
    char a[32], b[32];
    snprintf(a, sizeof a, "%ld", start);
    snprintf(b, sizeof b, "%ld", stop);
    const char *argv[] = {"LRANGE", SG_KEY_DEAD, a, b};
    redisReply *r;
    enum sg_err e = cmd(q, &r, 4, argv, NULL);
    if (e)
        return e;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                cb(ud, r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    return SG_OK;
}

enum sg_err wk_queue_dead_requeue(struct wk_queue *q, const char *old_line, const char *new_line,
                                  bool *moved)
{
    const char *keys[] = {SG_KEY_DEAD, SG_KEY_QUEUE};
    const char *args[] = {old_line, new_line};
    long long v = 0;
    enum sg_err e = eval_int(q, &v, LUA_REQUEUE, 2, keys, 2, args, NULL);
    if (moved)
        *moved = !e && v == 1;
    return e;
}

enum sg_err wk_queue_dead_purge(struct wk_queue *q, int64_t *n)
{
    const char *l[] = {"LLEN", SG_KEY_DEAD};
    redisReply *r;
    enum sg_err e = cmd(q, &r, 2, l, NULL);
    if (e)
        return e;
    int64_t count = r->integer;
    freeReplyObject(r);
    const char *d[] = {"DEL", SG_KEY_DEAD};
    e = cmd(q, &r, 2, d, NULL);
    if (e)
        return e;
    freeReplyObject(r);
    if (n)
        *n = count;
    return SG_OK;
}
