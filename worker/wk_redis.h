/* Why: the worker's one blocking Redis connection object. It owns the hiredis context, the parsed
 * REDIS_URL and the timeouts; every command goes through it, and a command that fails at the
 * connection level drops the context so that the next command reconnects. The queue and the
 * GitHub client share one struct wk_redis by pointer, so no caller ever holds a raw
 * redisContext that a reconnect may have freed.
 *
 * Threading: one struct wk_redis per thread (hiredis contexts are not thread-safe).
 *
 * Ownership: wk_redis_new() returns an object freed with wk_redis_free(). Replies returned through
 * redisReply ** or as a return value belong to the caller (freeReplyObject()). wk_redis_error()
 * returns text owned by the object, valid until its next command. */
#ifndef WK_REDIS_H
#define WK_REDIS_H

#include <stddef.h>

#include "sg_err.h"

struct redisReply;
struct wk_redis;

/* NULL with a reason in err when the URL is bad. Does not connect yet. timeout_ms bounds connect
 * and every command (0: 5000). */
struct wk_redis *wk_redis_new(const char *url, int timeout_ms, char *err, size_t errlen);
void wk_redis_free(struct wk_redis *r);

/* Connects (AUTH, SELECT) when there is no healthy connection. */
enum sg_err wk_redis_connect(struct wk_redis *r);
/* Increases each time a new connection is made: state kept on the server per connection (none
 * today) or replies lost with the old one are the caller's to recover. */
unsigned wk_redis_generation(const struct wk_redis *r);
/* The last error's text ("" when none). */
const char *wk_redis_error(const struct wk_redis *r);
int wk_redis_timeout_ms(const struct wk_redis *r);

/* One command in argv form (lens NULL: strlen of each); connects first when needed. SG_OK with
 * the reply in *out; SG_ERR_REDIS for no connection, no reply (the connection is dropped) or an
 * error reply (freed; its text in wk_redis_error). extra_ms widens the socket timeout for this
 * command only (a blocking command such as BLMOVE); 0 for ordinary commands. */
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

#endif
