/* Why: the worker's one blocking Redis connection object. It owns the connection to the primary
 * (found through the sentinels and checked with ROLE when REDIS_SENTINELS is set; over TLS for
 * rediss://: wk_redis_primary.h, wk_redis_wire.h), the settings and the timeouts; every command
 * goes through it, and a command that fails at the connection level, or is answered by a server
 * that is no longer a writable primary (READONLY, LOADING, ...), drops the connection so that the
 * next command finds the primary again. The queue and the GitHub client share one struct wk_redis
 * by pointer, so no caller ever holds a connection that a reconnect may have freed.
 *
 * Threading: one struct wk_redis per thread.
 *
 * Ownership: wk_redis_new*() return an object freed with wk_redis_free(); the settings passed to
 * wk_redis_new_opts() must outlive it. Replies returned through redisReply ** or as a return value
 * belong to the caller (freeReplyObject()). wk_redis_error() returns text owned by the object,
 * valid until its next command. */
#ifndef WK_REDIS_H
#define WK_REDIS_H

#include <stddef.h>

#include "sg_err.h"
#include "sg_redis_opts.h"

struct redisReply;
struct wk_redis;

/* With the REDIS_* settings loaded at start (TLS, Sentinel, replica acknowledgement). NULL with a
 * reason in err when TLS cannot be set up. Does not connect yet. timeout_ms bounds connect and
 * every command (0: 5000). */
struct wk_redis *wk_redis_new_opts(const struct sg_redis_opts *o, int timeout_ms, char *err,
                                   size_t errlen);
/* A plain URL and nothing else from the environment (tools and tests). NULL with a reason in err
 * when the URL is bad. */
struct wk_redis *wk_redis_new(const char *url, int timeout_ms, char *err, size_t errlen);
void wk_redis_free(struct wk_redis *r);

/* Connects (primary, AUTH, SELECT) when there is no healthy connection. */
enum sg_err wk_redis_connect(struct wk_redis *r);
/* Increases each time a new connection is made: state kept on the server per connection (none
 * today) or replies lost with the old one are the caller's to recover. */
unsigned wk_redis_generation(const struct wk_redis *r);
/* The last error's text ("" when none). */
const char *wk_redis_error(const struct wk_redis *r);
int wk_redis_timeout_ms(const struct wk_redis *r);

/* One command in argv form (lens NULL: strlen of each); connects first when needed. SG_OK with
 * the reply in *out; SG_ERR_REDIS for no connection, no reply (the connection is dropped) or an
 * error reply (freed; its text in wk_redis_error). extra_ms widens the timeout for this command
 * only (a blocking command such as BLMOVE); 0 for ordinary commands. */
enum sg_err wk_redis_argv(struct wk_redis *r, struct redisReply **out, int argc, const char **argv,
                          const size_t *lens, int extra_ms);

/* wk_redis_argv() for a command whose string replies may be huge (job lines): a string longer
 * than max_string arrives as an integer reply holding its length, never copied. */
enum sg_err wk_redis_argv_capped(struct wk_redis *r, struct redisReply **out, int argc,
                                 const char **argv, const size_t *lens, int extra_ms,
                                 size_t max_string);

/* One command in hiredis's printf form; connects first when needed. Returns the reply (which may
 * be an error reply) or NULL when there is none (no connection, or the connection failed and was
 * dropped); the text is then in wk_redis_error. */
struct redisReply *wk_redis_command(struct wk_redis *r, const char *fmt, ...);

/* With REDIS_MIN_REPLICAS_ACK > 0: WAIT until that many replicas have this connection's writes,
 * at most REDIS_WAIT_TIMEOUT_MS. SG_OK (also when the setting is 0); SG_ERR_REDIS when fewer
 * acknowledged or the connection failed (the reason in wk_redis_error). */
enum sg_err wk_redis_wait_replicas(struct wk_redis *r);

#endif
