/* Why: see register_http.h. Only GET requests without a body are served, so a request ends at
 * its blank line; anything else is refused rather than interpreted. */
#include "wk_register_http.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sg_time.h"

/* Host header values we repeat back into a URL: host name, IPv4, [IPv6], optional :port. */
static bool plain_host(const char *s, size_t len)
{
    if (len == 0 || len >= sizeof((struct wk_reg_request *)0)->host)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".-:[]", s[i]))
            return false;
    return true;
}

int wk_reg_parse_request(const char *buf, size_t len, struct wk_reg_request *out)
{
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len && !end; i++)
        if (!memcmp(buf + i, "\r\n\r\n", 4))
            end = buf + i + 2; /* keeps the last header's CRLF */
    if (!end)
        return len >= WK_REG_MAX_REQUEST ? -1 : 0;
    const char *eol = memchr(buf, '\r', (size_t)(end - buf));
    const char *sp1 = eol ? memchr(buf, ' ', (size_t)(eol - buf)) : NULL;
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp2 || memchr(buf, '\n', (size_t)(eol - buf)) ||
        (size_t)(sp1 - buf) >= sizeof out->method || sp1[1] != '/' ||
        (size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7))
        return -1;
    memcpy(out->method, buf, (size_t)(sp1 - buf));
    const char *target = sp1 + 1, *q = memchr(target, '?', (size_t)(sp2 - target));
    const char *pend = q ? q : sp2;
    if ((size_t)(pend - target) >= sizeof out->path ||
        (q && (size_t)(sp2 - q - 1) >= sizeof out->query))
        return -1;
    memcpy(out->path, target, (size_t)(pend - target));
    if (q)
        memcpy(out->query, q + 1, (size_t)(sp2 - q - 1));
    for (const char *p = eol + 2; p < end;) {
        const char *le = memchr(p, '\r', (size_t)(end - p));
        if (!le || le[1] != '\n' || memchr(p, '\n', (size_t)(le - p)))
            return -1; /* a bare LF: another parser could see other header lines */
        if (le - p > 5 && !strncasecmp(p, "Host:", 5)) {
            const char *v = p + 5;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            size_t vl = (size_t)(le - v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (plain_host(v, vl))
                memcpy(out->host, v, vl);
        }
        p = le + 2;
    }
    return 1;
}

bool wk_reg_query_param(const char *query, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nl) || p[nl] != '=')
            continue;
        size_t o = 0;
        for (const char *v = p + nl + 1; *v && *v != '&'; v++) {
            int c = (unsigned char)*v;
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                int hi = sg_hex_value((unsigned char)v[1]),
                    lo = hi < 0 ? -1 : sg_hex_value((unsigned char)v[2]);
                if (lo < 0)
                    return false;
                c = hi * 16 + lo;
                v += 2;
            }
            if (c == 0 || o + 1 >= outlen)
                return false;
            out[o++] = (char)c;
        }
        out[o] = '\0';
        return true;
    }
    return false;
}

void wk_reg_html_escape(struct sg_buf *out, const char *s)
{
    static const char *const entity[] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;"};
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < sizeof entity / sizeof entity[0] && entity[c])
            sg_buf_puts(out, entity[c]);
        else
            sg_buf_putc(out, *s);
    }
}

int wk_reg_listen(const char *host, int port, int *bound_port, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "--listen %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, one = 1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 8) != 0) {
            snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char hbuf[64], pbuf[16];
        if (getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof hbuf, pbuf, sizeof pbuf,
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
            *bound_port = (int)strtol(pbuf, NULL, 10);
    }
    return fd;
}

int wk_reg_accept(int listen_fd, int wait_ms, int timeout_ms, struct wk_reg_request *req)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0)
        return -1;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* a reader that never reads */
    char buf[WK_REG_MAX_REQUEST];
    size_t len = 0;
    int64_t deadline = sg_mono_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - sg_mono_ms());
        struct pollfd c = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&c, 1, left) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        int r = wk_reg_parse_request(buf, len, req);
        if (r > 0)
            return fd;
        if (r < 0) {
            static const char bad[] = "bad request\n";
            wk_reg_respond(fd, 400, "text/plain; charset=utf-8", bad, sizeof bad - 1);
            return -1;
        }
    }
    close(fd);
    return -1;
}

void wk_reg_respond(int fd, int status, const char *content_type, const char *body, size_t len)
{
    char head[512];
    const char *reason = status == 200   ? "OK"
                         : status == 400 ? "Bad Request"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                                         : "Error";
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\nX-Frame-Options: DENY\r\n"
                      "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
                      "form-action *\r\nConnection: close\r\n\r\n",
                      status, reason, content_type, len);
    const char *parts[2] = {head, body};
    size_t lens[2] = {(size_t)hl, len};
    for (int i = 0; i < 2; i++) {
        for (size_t off = 0; off < lens[i];) {
            ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    shutdown(fd, SHUT_WR);
    close(fd);
}
