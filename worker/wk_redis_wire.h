/* Why: the worker's blocking byte stream to one Redis server, over TCP, a unix socket or TLS.
 * Debian 12's hiredis 0.14 cannot speak TLS and its blocking context reads the socket itself, so
 * the worker keeps hiredis for the protocol only (redisFormatCommand* to write, a redisReader to
 * parse) and does the I/O here with OpenSSL: one code path for plain and TLS connections, and
 * every wait is a poll() against one deadline, so a command's timeout is a real bound (connect,
 * handshake, write and read together).
 *
 * Threading: one struct wk_wire per thread.
 *
 * Ownership: wk_wire_open() returns a connection freed with wk_wire_free(). Replies belong to the
 * caller (freeReplyObject()). wk_wire_error() is owned by the wire. */
#ifndef WK_REDIS_WIRE_H
#define WK_REDIS_WIRE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "sg_redis_opts.h"

typedef struct ssl_ctx_st SSL_CTX;
struct redisReply;
struct wk_wire;

/* Connects to unix_path, or host:port (with TLS when tls is non-NULL: SNI and the certificate's
 * name from o and host), all within timeout_ms. NULL with a one-line reason in err. */
struct wk_wire *wk_wire_open(const char *host, int port, const char *unix_path, SSL_CTX *tls,
                             const struct sg_redis_opts *o, int timeout_ms, char *err,
                             size_t errlen);
void wk_wire_free(struct wk_wire *w);

/* Queues a command (not sent until a reply is read). False when out of memory. */
bool wk_wire_append_argv(struct wk_wire *w, int argc, const char **argv, const size_t *lens);
bool wk_wire_append_v(struct wk_wire *w, const char *fmt, va_list ap);
/* Sends what is queued, then reads the next reply, within timeout_ms. NULL when the connection
 * failed, timed out or sent something unparseable: the wire is then broken (wk_wire_broken) and
 * the reason is in wk_wire_error. */
struct redisReply *wk_wire_read(struct wk_wire *w, int timeout_ms);
/* One command and its reply. */
struct redisReply *wk_wire_argv(struct wk_wire *w, int timeout_ms, int argc, const char **argv,
                                const size_t *lens);
struct redisReply *wk_wire_command(struct wk_wire *w, int timeout_ms, const char *fmt, ...);

bool wk_wire_broken(const struct wk_wire *w);
/* The reply reader (borrowed): a caller may swap its reply constructors around one command. */
struct redisReader *wk_wire_reader(struct wk_wire *w);
const char *wk_wire_error(const struct wk_wire *w);

#endif
