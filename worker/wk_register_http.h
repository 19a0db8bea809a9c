/* Why: `singularity-worker register` needs a web page for exactly one visitor (the person
 * registering the App, in their browser) and one redirect back from GitHub. A small blocking
 * HTTP/1.1 server is enough and adds no event loop to a one-shot command; every read has a
 * deadline and a size cap, and the request parser is a pure function so it is fuzzed alone.
 *
 * Ownership: plain structs and caller buffers; wk_reg_listen() returns a socket the caller
 * closes. */
#ifndef WK_REGISTER_HTTP_H
#define WK_REGISTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_buf.h"

#define WK_REG_MAX_REQUEST 16384

struct wk_reg_request {
    char method[16];
    char path[512];
    char query[2048];
    char host[256]; /* the Host header, "" when absent or not a plain host[:port] */
};

/* Parses the head of one HTTP/1.x request in buf[0..len): 1 when complete (the blank line seen),
 * 0 when more bytes are needed, -1 when it is not an HTTP request we serve (too long a line, no
 * HTTP/1.x, a target that is not origin-form). */
int wk_reg_parse_request(const char *buf, size_t len, struct wk_reg_request *out);

/* The percent-decoded value of name in an application/x-www-form-urlencoded query; false when
 * absent, too long or not valid (a %-escape that is not hex, a decoded NUL). */
bool wk_reg_query_param(const char *query, const char *name, char *out, size_t outlen);

/* Appends s with & < > " ' escaped for HTML text and attribute values. */
void wk_reg_html_escape(struct sg_buf *out, const char *s);

/* Listens on host:port (port 0 = any); *bound_port is the port in use. -1 with a reason in err. */
int wk_reg_listen(const char *host, int port, int *bound_port, char *err, size_t errlen);

/* Waits at most wait_ms for a connection and reads one request head (at most timeout_ms for the
 * whole read, WK_REG_MAX_REQUEST bytes). Returns the connected socket with *req filled, or -1
 * when nothing (valid) came; a malformed request is answered 400 and closed here. */
int wk_reg_accept(int listen_fd, int wait_ms, int timeout_ms, struct wk_reg_request *req);

/* Sends a complete answer (Connection: close) and closes fd. */
void wk_reg_respond(int fd, int status, const char *content_type, const char *body, size_t len);

#endif
