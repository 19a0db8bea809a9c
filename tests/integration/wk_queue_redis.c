/* Why: the queue's Lua scripts are where "no job is ever lost or doubled" is decided; this runs
 * them against a real redis-server (started by tests/integration/wk_queue.sh, REDIS_URL):
 * take/ack ownership, delay + promote, bury, return, the reaper (also two reapers racing over
 * many dead workers: every job lands on the queue exactly once), the stats operators read, lines
 * holding NUL bytes (acked and dead-lettered like any other) and lines over the size cap (dead-
 * lettered inside Redis, never handed to the worker). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_queue.h"
#include "wk_redis.h"
#include "sg_job.h"
#include "sg_keys.h"
#include "sg_time.h"

static const char *url(void)
{
    const char *u = getenv("REDIS_URL");
    assert_non_null(u);
    return u;
}

/* Each queue's connection, so a test can also send its own commands (single test thread). */
#define MAX_OPEN 16
static struct {
    struct wk_queue *q;
    struct wk_redis *r;
} g_open[MAX_OPEN];

static struct wk_queue *open_q(const char *id)
{
    char err[200];
    struct wk_redis *r = wk_redis_new(url(), 2000, err, sizeof err);
    assert_non_null(r);
    struct wk_queue *q = wk_queue_new(r, id);
    assert_non_null(q);
    assert_int_equal(wk_queue_connect(q), SG_OK);
    for (int i = 0; i < MAX_OPEN; i++) {
        if (!g_open[i].q) {
            g_open[i].q = q;
            g_open[i].r = r;
            return q;
        }
    }
    fail_msg("too many open queues");
    return NULL;
}

static struct wk_redis *conn(struct wk_queue *q)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (g_open[i].q == q)
            return g_open[i].r;
    fail_msg("queue not opened with open_q");
    return NULL;
}

static void close_q(struct wk_queue *q)
{
    for (int i = 0; i < MAX_OPEN; i++) {
        if (g_open[i].q == q) {
            wk_queue_free(q);
            wk_redis_free(g_open[i].r);
            g_open[i].q = NULL;
            g_open[i].r = NULL;
        }
    }
}

static long long rint_cmd(struct wk_queue *q, const char *fmt, const char *a)
{
    redisReply *r = wk_redis_command(conn(q), fmt, a);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

static void flush(struct wk_queue *q)
{
    redisReply *r = wk_redis_command(conn(q), "FLUSHDB");
    freeReplyObject(r);
}

static void push(struct wk_queue *q, const char *line)
{
    redisReply *r = wk_redis_command(conn(q), "LPUSH analysis_queue %s", line);
    freeReplyObject(r);
}

static void test_take_ack_and_ownership(void **state)
{
    struct wk_queue *q = open_q("w1");
    flush(q);
    push(q, "{\"job\":1}");
    push(q, "{\"job\":2}");
    char *line = NULL;
    size_t len = 0;
    assert_int_equal(wk_queue_take(q, 1, &line, &len), SG_OK);
    assert_string_equal(line, "{\"job\":1}"); /* FIFO: first pushed, first taken */
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue:processing:w1"), 1);
    bool ours = false;
    assert_int_equal(wk_queue_ack(q, line, strlen(line), &ours), SG_OK);
    assert_true(ours);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue:processing:w1"), 0);
    /* A second ack finds nothing: the job is no longer ours. */
    assert_int_equal(wk_queue_ack(q, line, strlen(line), &ours), SG_OK);
    assert_false(ours);
    free(line);
    /* Nothing left after the second job: take returns after the block time with no line. */
    assert_int_equal(wk_queue_take(q, 1, &line, &len), SG_OK);
    free(line);
    int64_t t0 = sg_mono_ms();
    assert_int_equal(wk_queue_take(q, 1, &line, &len), SG_OK);
    assert_null(line);
    assert_true(sg_mono_ms() - t0 >= 900);
    close_q(q);
}

/* The ack that also takes the next job: both in one step, in queue order, and nothing when the
 * queue is empty; then the recovery of jobs a lost reply left in the processing list. */
static void test_ack_take_and_recover(void **state)
{
    struct wk_queue *q = open_q("w7");
    flush(q);
    push(q, "J1");
    push(q, "J2");
    char *line = NULL, *next = NULL;
    size_t len = 0;
    bool ours = false;
    assert_int_equal(wk_queue_take(q, 1, &line, NULL), SG_OK);
    assert_string_equal(line, "J1");
    assert_int_equal(wk_queue_ack_take(q, line, strlen(line), &ours, &next, &len), SG_OK);
    assert_true(ours);
    assert_string_equal(next, "J2");
    assert_int_equal(len, 2);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue:processing:w7"), 1);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue"), 0);
    free(line);
    line = next;
    /* the last job: acked, and no next one */
    assert_int_equal(wk_queue_ack_take(q, line, strlen(line), &ours, &next, &len), SG_OK);
    assert_true(ours);
    assert_null(next);
    assert_int_equal(len, 0);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue:processing:w7"), 0);
    /* acking a job that is no longer ours still takes the next one */
    push(q, "J3");
    assert_int_equal(wk_queue_ack_take(q, line, strlen(line), &ours, &next, NULL), SG_OK);
    assert_false(ours);
    assert_string_equal(next, "J3");
    free(line);
    /* a take whose reply was lost left J4 and J5 beside the held J3: recovery hands them back to
     * the front of the queue and keeps J3; a second recovery finds nothing */
    redisReply *r = wk_redis_command(conn(q), "LPUSH analysis_queue:processing:w7 J4 J5");
    freeReplyObject(r);
    push(q, "J6");
    int64_t moved = -1;
    assert_int_equal(wk_queue_recover(q, next, strlen(next), &moved), SG_OK);
    assert_int_equal(moved, 2);
    assert_int_equal(wk_queue_recover(q, next, strlen(next), &moved), SG_OK);
    assert_int_equal(moved, 0);
    r = wk_redis_command(conn(q), "LRANGE analysis_queue:processing:w7 0 -1");
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "J3");
    freeReplyObject(r);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue"), 3);
    assert_int_equal(wk_queue_ack(q, next, strlen(next), &ours), SG_OK);
    free(next);
    const char *order[] = {"J4", "J5", "J6"}; /* the recovered ones first, the older J4 first */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wk_queue_take(q, 1, &line, NULL), SG_OK);
        assert_string_equal(line, order[i]);
        assert_int_equal(wk_queue_ack(q, line, strlen(line), &ours), SG_OK);
        free(line);
    }
    /* holding nothing, recovery empties the list */
    r = wk_redis_command(conn(q), "LPUSH analysis_queue:processing:w7 J7");
    freeReplyObject(r);
    assert_int_equal(wk_queue_recover(q, NULL, 0, &moved), SG_OK);
    assert_int_equal(moved, 1);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue:processing:w7"), 0);
    close_q(q);
}

static void test_delay_promote_bury_return(void **state)
{
    struct wk_queue *q = open_q("w2");
    flush(q);
    push(q, "A");
    char *line = NULL;
    assert_int_equal(wk_queue_take(q, 1, &line, NULL), SG_OK);
    bool ours = false;
    int64_t now = sg_now_ms();
    assert_int_equal(wk_queue_delay(q, line, strlen(line), "A2", now + 60000, &ours), SG_OK);
    assert_true(ours);
    free(line);
    int64_t moved = -1;
    assert_int_equal(wk_queue_promote(q, now, 100, &moved), SG_OK);
    assert_int_equal(moved, 0); /* not due yet */
    assert_int_equal(wk_queue_promote(q, now + 60001, 100, &moved), SG_OK);
    assert_int_equal(moved, 1);
    assert_int_equal(rint_cmd(q, "ZCARD %s", "analysis_queue:delayed"), 0);
    assert_int_equal(wk_queue_take(q, 1, &line, NULL), SG_OK);
    assert_string_equal(line, "A2");
    assert_int_equal(wk_queue_bury(q, line, strlen(line), "A3-dead", &ours), SG_OK);
    assert_true(ours);
    free(line);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue:dead"), 1);
    /* Return puts a job at the front: it is the next taken even with others waiting. */
    push(q, "B");
    push(q, "C");
    assert_int_equal(wk_queue_take(q, 1, &line, NULL), SG_OK);
    assert_string_equal(line, "B");
    assert_int_equal(wk_queue_return(q, line, strlen(line), NULL, &ours), SG_OK);
    assert_true(ours);
    free(line);
    assert_int_equal(wk_queue_take(q, 1, &line, NULL), SG_OK);
    assert_string_equal(line, "B");
    free(line);
    /* A finishing step on a job that is not ours changes nothing. */
    assert_int_equal(wk_queue_delay(q, "not-held", strlen("not-held"), "X", now, &ours), SG_OK);
    assert_false(ours);
    assert_int_equal(rint_cmd(q, "ZCARD %s", "analysis_queue:delayed"), 0);
    close_q(q);
}

static void test_reaper_and_alive(void **state)
{
    struct wk_queue *dead = open_q("dead-1");
    struct wk_queue *live = open_q("live-1");
    flush(live);
    int64_t now = sg_now_ms();
    assert_int_equal(wk_queue_heartbeat(dead, now - 120000), SG_OK);
    assert_int_equal(wk_queue_heartbeat(live, now), SG_OK);
    push(dead, "J1");
    push(dead, "J2");
    char *a = NULL, *b = NULL;
    assert_int_equal(wk_queue_take(dead, 1, &a, NULL), SG_OK);
    assert_int_equal(wk_queue_take(live, 1, &b, NULL), SG_OK);
    bool alive = true;
    assert_int_equal(wk_queue_worker_alive(live, "dead-1", now, 60000, &alive), SG_OK);
    assert_false(alive);
    assert_int_equal(wk_queue_worker_alive(live, "live-1", now, 60000, &alive), SG_OK);
    assert_true(alive);
    int64_t w = 0, j = 0;
    assert_int_equal(wk_queue_reap(live, now, 60000, &w, &j), SG_OK);
    assert_int_equal(w, 1);
    assert_int_equal(j, 1);
    /* The dead worker's job is back at the front; the live worker keeps its own. */
    char *c = NULL;
    assert_int_equal(wk_queue_take(live, 1, &c, NULL), SG_OK);
    assert_string_equal(c, a);
    /* The dead worker, had it survived, can no longer finish what was taken from it. */
    bool ours = true;
    assert_int_equal(wk_queue_ack(dead, a, strlen(a), &ours), SG_OK);
    assert_false(ours);
    struct sg_queue_stats st;
    assert_int_equal(wk_queue_stats(live, now, &st), SG_OK);
    assert_int_equal(st.inflight, 2);
    assert_int_equal(st.workers, 1);
    assert_int_equal(st.length, 0);
    free(a);
    free(b);
    free(c);
    bool left = true;
    assert_int_equal(wk_queue_leave(live, &left), SG_OK);
    assert_false(left); /* still holds jobs */
    close_q(dead);
    close_q(live);
}

/* Takes the two jobs on the queue; returns the job object's line (the other is "not json"). */
static char *take_both(struct wk_queue *q, char **c, char **d)
{
    assert_int_equal(wk_queue_take(q, 1, c, NULL), SG_OK);
    assert_int_equal(wk_queue_take(q, 1, d, NULL), SG_OK);
    assert_non_null(*c);
    assert_non_null(*d);
    return strstr(*c, "attempt") ? *c : *d;
}

/* A job reclaimed from a dead worker, or handed back at a hard stop, counts as an attempt (so a
 * job that kills or stalls every worker reaches the dead list); a line that is not a job object
 * moves as it is; recovery after a lost reply counts nothing. */
static void test_reclaimed_jobs_count_an_attempt(void **state)
{
    struct wk_queue *dead = open_q("dead-2"), *live = open_q("live-2");
    flush(dead);
    int64_t now = sg_now_ms();
    assert_int_equal(wk_queue_heartbeat(dead, now - 120000), SG_OK);
    const char *job = "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"d-1\",\"installation\":2311213,"
                      "\"received_at\":1764182400123,\"attempt\":3}";
    push(dead, job);
    push(dead, "not json");
    char *a = NULL, *b = NULL;
    assert_int_equal(wk_queue_take(dead, 1, &a, NULL), SG_OK);
    assert_int_equal(wk_queue_take(dead, 1, &b, NULL), SG_OK);
    int64_t w = 0, j = 0;
    assert_int_equal(wk_queue_reap(live, now, 60000, &w, &j), SG_OK);
    assert_int_equal(j, 2);
    char *c = NULL, *d = NULL;
    const char *counted = take_both(live, &c, &d), *other = counted == c ? d : c;
    assert_non_null(strstr(counted, "\"attempt\":4"));
    assert_non_null(
        strstr(counted, "\"last_error\":\"reclaimed from a worker that stopped answering"));
    assert_non_null(strstr(counted, "\"installation\":2311213"));
    assert_non_null(strstr(counted, "\"received_at\":1764182400123")); /* integers kept exact */
    assert_string_equal(other, "not json");
    /* a hard stop's hand-back counts too; a recovery after a lost reply does not */
    int64_t moved = 0;
    assert_int_equal(wk_queue_hand_back(live, "stopped", &moved), SG_OK);
    assert_int_equal(moved, 2);
    free(c);
    free(d);
    counted = take_both(live, &c, &d);
    assert_non_null(strstr(counted, "\"attempt\":5"));
    assert_non_null(strstr(counted, "\"last_error\":\"stopped\""));
    assert_int_equal(wk_queue_recover(live, NULL, 0, &moved), SG_OK);
    assert_int_equal(moved, 2);
    free(c);
    free(d);
    counted = take_both(live, &c, &d);
    assert_non_null(strstr(counted, "\"attempt\":5"));
    free(a);
    free(b);
    free(c);
    free(d);
    close_q(dead);
    close_q(live);
}

struct reaper_arg {
    int64_t jobs;
};

static void *reaper(void *arg)
{
    struct reaper_arg *ra = arg;
    char err[200];
    struct wk_redis *r = wk_redis_new(getenv("REDIS_URL"), 2000, err, sizeof err);
    struct wk_queue *q = wk_queue_new(r, "reaper");
    for (int i = 0; i < 50; i++) {
        int64_t w = 0, j = 0;
        if (wk_queue_reap(q, sg_now_ms(), 60000, &w, &j) == SG_OK)
            ra->jobs += j;
    }
    wk_queue_free(q);
    wk_redis_free(r);
    return NULL;
}

static void test_concurrent_reapers_move_each_job_once(void **state)
{
    struct wk_queue *q = open_q("setup");
    flush(q);
    int64_t old = sg_now_ms() - 120000;
    for (int i = 0; i < 200; i++) {
        char id[32], key[80], job[32];
        snprintf(id, sizeof id, "gone-%d", i);
        snprintf(key, sizeof key, "analysis_queue:processing:%s", id);
        snprintf(job, sizeof job, "job-%d", i);
        redisReply *r =
            wk_redis_command(conn(q), "ZADD analysis_queue:workers %lld %s", (long long)old, id);
        freeReplyObject(r);
        r = wk_redis_command(conn(q), "LPUSH %s %s", key, job);
        freeReplyObject(r);
    }
    pthread_t t[3];
    struct reaper_arg ra[3] = {{0}, {0}, {0}};
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, reaper, &ra[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(ra[0].jobs + ra[1].jobs + ra[2].jobs, 200);
    assert_int_equal(rint_cmd(q, "LLEN %s", "analysis_queue"), 200);
    assert_int_equal(rint_cmd(q, "ZCARD %s", "analysis_queue:workers"), 0);
    close_q(q);
}

static void test_stats_oldest_age_and_dead_ops(void **state)
{
    struct wk_queue *q = open_q("w3");
    flush(q);
    int64_t now = sg_now_ms();
    char job[128];
    snprintf(job, sizeof job, "{\"v\":1,\"received_at\":%lld}", (long long)(now - 5000));
    push(q, job);
    push(q, "{\"v\":1,\"received_at\":1}");
    struct sg_queue_stats st;
    assert_int_equal(wk_queue_stats(q, now, &st), SG_OK);
    assert_int_equal(st.length, 2);
    assert_true(st.oldest_age_s >= 4.9 && st.oldest_age_s <= 5.1);
    redisReply *r = wk_redis_command(conn(q), "LPUSH analysis_queue:dead D1 D2");
    freeReplyObject(r);
    bool moved = false;
    assert_int_equal(wk_queue_dead_requeue(q, "D1", "D1-again", &moved), SG_OK);
    assert_true(moved);
    assert_int_equal(wk_queue_dead_requeue(q, "D1", "D1-again", &moved), SG_OK);
    assert_false(moved);
    int64_t n = 0;
    assert_int_equal(wk_queue_dead_purge(q, &n), SG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(wk_queue_stats(q, now, &st), SG_OK);
    assert_int_equal(st.dead, 0);
    assert_int_equal(st.length, 3);
    close_q(q);
}

static void push_bin(struct wk_queue *q, const char *key, const char *line, size_t len)
{
    redisReply *r = wk_redis_command(conn(q), "LPUSH %s %b", key, line, len);
    assert_non_null(r);
    freeReplyObject(r);
}

static long long llen(struct wk_queue *q, const char *key)
{
    return rint_cmd(q, "LLEN %s", key);
}

static void test_lines_with_nul_bytes(void **state)
{
    /* every step that names a held line does so by its length: a NUL is not its end */
    struct wk_queue *q = open_q("wnul");
    flush(q);
    static const char job[] = "{\"v\":1}\0tail";
    size_t jl = sizeof job - 1;
    char *line = NULL;
    size_t len = 0;
    bool ours = false;
    push_bin(q, SG_KEY_QUEUE, job, jl);
    assert_int_equal(wk_queue_take(q, 1, &line, &len), SG_OK);
    assert_int_equal(len, jl);
    assert_memory_equal(line, job, jl);
    assert_int_equal(wk_queue_ack(q, line, len, &ours), SG_OK);
    assert_true(ours);
    assert_int_equal(llen(q, "analysis_queue:processing:wnul"), 0);
    free(line);

    for (size_t i = 0; i < 4; i++) {
        push_bin(q, SG_KEY_QUEUE, job, jl);
        assert_int_equal(wk_queue_take(q, 1, &line, &len), SG_OK);
        int64_t moved = 0;
        ours = false;
        if (i == 0)
            assert_int_equal(wk_queue_bury(q, line, len, "{\"last_error\":\"x\"}", &ours), SG_OK);
        else if (i == 1)
            assert_int_equal(wk_queue_delay(q, line, len, "retry", sg_now_ms() + 60000, &ours),
                             SG_OK);
        else if (i == 2)
            assert_int_equal(wk_queue_return(q, line, len, NULL, &ours), SG_OK);
        else
            assert_int_equal(wk_queue_recover(q, "{\"v\":1}", 7, &moved), SG_OK);
        assert_true(i == 3 ? moved == 1 : ours); /* recover: the prefix is another line */
        assert_int_equal(llen(q, "analysis_queue:processing:wnul"), 0);
        free(line);
        if (i >= 2) { /* back on the queue whole */
            assert_int_equal(wk_queue_take(q, 1, &line, &len), SG_OK);
            assert_int_equal(len, jl);
            assert_int_equal(wk_queue_ack(q, line, len, &ours), SG_OK);
            assert_true(ours);
            free(line);
        }
    }
    wk_queue_free(q);
}

static void test_oversized_line_dead_lettered_unread(void **state)
{
    struct wk_queue *q = open_q("wbig");
    flush(q);
    size_t big = SG_JOB_LINE_MAX + 1;
    char *line = malloc(big);
    assert_non_null(line);
    memset(line, 'x', big);
    line[0] = '{';
    line[1] = (char)0xFF; /* kept in the dead entry as '?': it stays valid UTF-8 */
    push_bin(q, SG_KEY_QUEUE, line, big);
    push(q, "{\"job\":\"after\"}");                   /* taken next, by the ack below */
    push_bin(q, SG_KEY_QUEUE, line, SG_JOB_LINE_MAX); /* at the cap: an ordinary line */
    free(line);
    char *got = NULL;
    size_t len = 0;
    assert_int_equal(wk_queue_take(q, 1, &got, &len), SG_OK);
    assert_null(got); /* not handed to the worker */
    assert_int_equal(llen(q, "analysis_queue:processing:wbig"), 0);
    assert_int_equal(llen(q, SG_KEY_DEAD), 1);
    redisReply *r = wk_redis_command(conn(q), "LINDEX %s 0", SG_KEY_DEAD);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_true(r->len < 8192);
    assert_non_null(strstr(r->str, "{\"last_error\":\"job line of 1048577 bytes is over the "
                                   "1048576-byte limit; not parsed\",\"raw\":\"{?xx"));
    assert_non_null(strstr(r->str, ",\"raw_bytes\":1048577}"));
    freeReplyObject(r);
    /* the same through the ack that takes the next job */
    assert_int_equal(wk_queue_take(q, 1, &got, &len), SG_OK);
    assert_non_null(got);
    assert_string_equal(got, "{\"job\":\"after\"}");
    char *next = NULL;
    bool ours = false;
    push_bin(q, SG_KEY_QUEUE, "", 0); /* keep the queue non-empty behind the big one */
    {
        char *b = malloc(big + 10);
        assert_non_null(b);
        memset(b, 'y', big + 10);
        redisReply *x = wk_redis_command(conn(q), "RPUSH %s %b", SG_KEY_QUEUE, b, big + 10);
        freeReplyObject(x);
        free(b);
    }
    assert_int_equal(wk_queue_ack_take(q, got, len, &ours, &next, &len), SG_OK);
    assert_true(ours);
    assert_null(next);
    free(got);
    assert_int_equal(llen(q, SG_KEY_DEAD), 2);
    assert_int_equal(llen(q, "analysis_queue:processing:wbig"), 0);
    /* a line of exactly the cap is still taken */
    assert_int_equal(wk_queue_take(q, 1, &got, &len), SG_OK);
    assert_non_null(got);
    assert_int_equal(len, SG_JOB_LINE_MAX);
    free(got);
    wk_queue_free(q);
}

static void test_unreachable_redis_is_an_error_not_a_hang(void **state)
{
    char err[200];
    struct wk_redis *r = wk_redis_new("redis://127.0.0.1:1/0", 500, err, sizeof err);
    assert_non_null(r);
    struct wk_queue *q = wk_queue_new(r, "x");
    assert_non_null(q);
    int64_t t0 = sg_mono_ms();
    char *line = NULL;
    assert_int_equal(wk_queue_take(q, 1, &line, NULL), SG_ERR_REDIS);
    assert_true(sg_mono_ms() - t0 < 3000);
    assert_non_null(strstr(wk_queue_error(q), "redis"));
    wk_queue_free(q);
    wk_redis_free(r);
    assert_null(wk_redis_new("http://nope", 500, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_ack_and_ownership),
        cmocka_unit_test(test_ack_take_and_recover),
        cmocka_unit_test(test_delay_promote_bury_return),
        cmocka_unit_test(test_reaper_and_alive),
        cmocka_unit_test(test_concurrent_reapers_move_each_job_once),
        cmocka_unit_test(test_reclaimed_jobs_count_an_attempt),
        cmocka_unit_test(test_stats_oldest_age_and_dead_ops),
        cmocka_unit_test(test_lines_with_nul_bytes),
        cmocka_unit_test(test_oversized_line_dead_lettered_unread),
        cmocka_unit_test(test_unreachable_redis_is_an_error_not_a_hang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
