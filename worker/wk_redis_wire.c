/* Why: see wk_redis_wire.h. The socket is non-blocking from the start, and every step (connect,
 * handshake, write, read) waits in poll() for what OpenSSL or the kernel asked for, bounded by the
 * command's deadline. */
#include "wk_redis_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sg_buf.h"
#include "sg_time.h"
#include "sg_tls.h"
#include "sg_redis_reader.h"

/* A command larger than this is refused before it is sent: job lines are capped at 1 MiB, and a
 * batch of them is the largest thing the worker writes. */
#define WIRE_OBUF_MAX (64u << 20)

struct wk_wire {
    int fd;
    SSL *ssl;
    redisReader *reader;
    struct sg_buf obuf;
    bool broken;
    char err[256];
};

/* what: a prefix such as "redis connect"; detail: the reason. */
static void set_broken(struct wk_wire *w, const char *what, const char *detail)
{
    w->broken = true;
    snprintf(w->err, sizeof w->err, "%s: %s", what, detail);
}

/* Waits until fd is ready for `events` or the deadline passes. */
static bool wait_fd(struct wk_wire *w, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - sg_mono_ms();
        if (left <= 0) {
            set_broken(w, "redis", "timed out");
            return false;
        }
        struct pollfd p = {.fd = w->fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR) {
            set_broken(w, "redis poll", strerror(errno));
            return false;
        }
    }
}

static bool connect_fd(struct wk_wire *w, const struct sockaddr *sa, socklen_t salen,
                       int64_t deadline)
{
    w->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (w->fd < 0) {
        set_broken(w, "redis connect", strerror(errno));
        return false;
    }
    if (connect(w->fd, sa, salen) != 0) {
        if (errno != EINPROGRESS) {
            set_broken(w, "redis connect", strerror(errno));
            return false;
        }
        if (!wait_fd(w, POLLOUT, deadline))
            return false;
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr) {
            set_broken(w, "redis connect", strerror(soerr));
            return false;
        }
    }
    if (sa->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(w->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    }
    return true;
}

static bool connect_tcp(struct wk_wire *w, const char *host, int port, int64_t deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        set_broken(w, "redis connect", gai_strerror(rc));
        return false;
    }
    bool ok = false;
    for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
        if (w->fd >= 0)
            close(w->fd);
        w->fd = -1;
        w->broken = false;
        ok = connect_fd(w, ai->ai_addr, ai->ai_addrlen, deadline);
    }
    freeaddrinfo(res);
    return ok;
}

/* Drives one OpenSSL call that may want to read or write first; returns its result > 0, or 0 with
 * the wire broken. */
static int ssl_step(struct wk_wire *w, int rc, int64_t deadline, const char *what)
{
    int e = SSL_get_error(w->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        return wait_fd(w, POLLIN, deadline) ? -1 : 0;
    if (e == SSL_ERROR_WANT_WRITE)
        return wait_fd(w, POLLOUT, deadline) ? -1 : 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        set_broken(w, "redis", "connection closed by the server");
        return 0;
    }
    unsigned long q = ERR_peek_error();
    if (e == SSL_ERROR_SYSCALL && !q) {
        set_broken(w, "redis", errno ? strerror(errno) : "connection closed by the server");
        return 0;
    }
    char buf[200];
    ERR_error_string_n(q, buf, sizeof buf);
    ERR_clear_error();
    w->broken = true;
    snprintf(w->err, sizeof w->err, "redis TLS %s: %s", what, buf);
    return 0;
}

static bool handshake(struct wk_wire *w, SSL_CTX *tls, const struct sg_redis_opts *o,
                      const char *host, int64_t deadline)
{
    char why[200];
    w->ssl = sg_tls_ssl_new(tls, o, host, why, sizeof why);
    if (!w->ssl) {
        set_broken(w, "redis", why);
        return false;
    }
    SSL_set_fd(w->ssl, w->fd);
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(w->ssl);
        if (rc == 1)
            return true;
        int e = SSL_get_error(w->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(w, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                return false;
            continue;
        }
        sg_tls_handshake_error(w->ssl, why, sizeof why);
        set_broken(w, "redis", why);
        return false;
    }
}

struct wk_wire *wk_wire_open(const char *host, int port, const char *unix_path, SSL_CTX *tls,
                             const struct sg_redis_opts *o, int timeout_ms, char *err,
                             size_t errlen)
{
    struct wk_wire *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->fd = -1;
    sg_buf_init(&w->obuf, WIRE_OBUF_MAX);
    w->reader = sg_redis_reader_new();
    int64_t deadline = sg_mono_ms() + timeout_ms;
    bool ok = w->reader != NULL;
    if (ok && unix_path) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        if (strlen(unix_path) >= sizeof sun.sun_path) {
            set_broken(w, "redis connect", "unix socket path too long");
            ok = false;
        } else {
            memcpy(sun.sun_path, unix_path, strlen(unix_path) + 1);
            ok = connect_fd(w, (struct sockaddr *)&sun, sizeof sun, deadline);
        }
    } else if (ok) {
        ok = connect_tcp(w, host, port, deadline) && (!tls || handshake(w, tls, o, host, deadline));
    } else {
        set_broken(w, "redis", "out of memory");
    }
    if (!ok) {
        snprintf(err, errlen, "%s", w->err);
        wk_wire_free(w);
        return NULL;
    }
    return w;
}

void wk_wire_free(struct wk_wire *w)
{
    if (!w)
        return;
    if (w->ssl) {
        if (!w->broken)
            SSL_shutdown(w->ssl); /* best effort close_notify; never waits */
        SSL_free(w->ssl);
    }
    if (w->fd >= 0)
        close(w->fd);
    if (w->reader)
        redisReaderFree(w->reader);
    sg_buf_free(&w->obuf);
    free(w);
}

bool wk_wire_broken(const struct wk_wire *w)
{
    return w->broken;
}

redisReader *wk_wire_reader(struct wk_wire *w)
{
    return w->reader;
}

const char *wk_wire_error(const struct wk_wire *w)
{
    return w->err;
}

static bool append_raw(struct wk_wire *w, char *cmd, long long len)
{
    bool ok = len > 0 && sg_buf_append(&w->obuf, cmd, (size_t)len) == SG_OK;
    free(cmd);
    if (!ok) /* the pipeline would be out of step with its replies: the connection goes */
        set_broken(w, "redis", "command too large or out of memory");
    return ok;
}

bool wk_wire_append_argv(struct wk_wire *w, int argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    return append_raw(w, cmd, len);
}

bool wk_wire_append_v(struct wk_wire *w, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    return append_raw(w, cmd, len);
}

static bool flush(struct wk_wire *w, int64_t deadline)
{
    size_t off = 0;
    while (off < w->obuf.len) {
        size_t left = w->obuf.len - off;
        if (w->ssl) {
            ERR_clear_error();
            int rc =
                SSL_write(w->ssl, w->obuf.data + off, left > INT32_MAX ? INT32_MAX : (int)left);
            if (rc > 0) {
                off += (size_t)rc;
                continue;
            }
            if (ssl_step(w, rc, deadline, "write") == 0)
                return false;
            continue;
        }
        ssize_t n = send(w->fd, w->obuf.data + off, left, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(w, POLLOUT, deadline))
                return false;
        } else if (n < 0 && errno != EINTR) {
            set_broken(w, "redis", strerror(errno));
            return false;
        }
    }
    sg_buf_reset(&w->obuf);
    return true;
}

/* Reads what is available (waiting for at least one byte) into the reader. */
static bool fill(struct wk_wire *w, int64_t deadline)
{
    char buf[16384];
    for (;;) {
        if (w->ssl) {
            ERR_clear_error();
            int rc = SSL_read(w->ssl, buf, sizeof buf);
            if (rc > 0)
                return redisReaderFeed(w->reader, buf, (size_t)rc) == REDIS_OK;
            if (ssl_step(w, rc, deadline, "read") == 0)
                return false;
            continue;
        }
        ssize_t n = recv(w->fd, buf, sizeof buf, 0);
        if (n > 0)
            return redisReaderFeed(w->reader, buf, (size_t)n) == REDIS_OK;
        if (n == 0) {
            set_broken(w, "redis", "connection closed by the server");
            return false;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_fd(w, POLLIN, deadline))
                return false;
        } else if (errno != EINTR) {
            set_broken(w, "redis", strerror(errno));
            return false;
        }
    }
}

redisReply *wk_wire_read(struct wk_wire *w, int timeout_ms)
{
    if (w->broken)
        return NULL;
    int64_t deadline = sg_mono_ms() + timeout_ms;
    if (w->obuf.len && !flush(w, deadline))
        return NULL;
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(w->reader, &reply) != REDIS_OK) {
            set_broken(w, "redis protocol error", w->reader->errstr);
            return NULL;
        }
        if (reply)
            return reply;
        if (!fill(w, deadline)) {
            if (!w->broken)
                set_broken(w, "redis protocol error", w->reader->errstr);
            return NULL;
        }
    }
}

redisReply *wk_wire_argv(struct wk_wire *w, int timeout_ms, int argc, const char **argv,
                         const size_t *lens)
{
    if (w->broken || !wk_wire_append_argv(w, argc, argv, lens))
        return NULL;
    return wk_wire_read(w, timeout_ms);
}

redisReply *wk_wire_command(struct wk_wire *w, int timeout_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = !w->broken && wk_wire_append_v(w, fmt, ap);
    va_end(ap);
    return ok ? wk_wire_read(w, timeout_ms) : NULL;
}
