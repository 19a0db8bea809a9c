/* Why: the ingress speaks just enough HTTP/1.1 for webhooks, health probes and scrapes, with its
 * own small parser instead of evhttp: every answer (also for malformed requests and oversize
 * bodies) must be our JSON, the body cap must be checked from Content-Length before the body is
 * read and while a chunked body streams in, and slow clients must be cut off by our own timers.
 * These functions are pure (no I/O) so unit tests and the fuzzer drive them directly.
 *
 * Ownership: ingress_http_parse_head() parses the caller's buffer in place; every pointer in
 * struct ingress_http_req points into that buffer and lives as long as it does. */
#ifndef INGRESS_HTTP_H
#define INGRESS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_buf.h"

#define INGRESS_HTTP_MAX_HEADERS 100

struct ingress_str {
    const char *p; /* NULL when absent */
    size_t len;
};

struct ingress_http_req {
    struct ingress_str method;
    struct ingress_str target; /* as sent, with any query */
    struct ingress_str path;   /* target's path up to '?' ("/" for "http://host") */
    int minor;                 /* HTTP/1.<minor> */
    bool keep_alive;           /* from version and Connection */
    bool has_length;
    uint64_t content_length;
    bool chunked;
    bool expect_continue;
    struct ingress_str content_type;
    struct ingress_str event;     /* X-GitHub-Event */
    struct ingress_str delivery;  /* X-GitHub-Delivery */
    struct ingress_str signature; /* X-Hub-Signature-256 */
};

enum ingress_http_result {
    INGRESS_HTTP_OK = 0,
    INGRESS_HTTP_BAD,               /* 400 */
    INGRESS_HTTP_HEADERS_TOO_LARGE, /* 431: more than INGRESS_HTTP_MAX_HEADERS fields */
    INGRESS_HTTP_UNSUPPORTED,       /* 501: a transfer coding other than chunked */
    INGRESS_HTTP_VERSION,           /* 505: not HTTP/1.x (also HTTP/2's preface) */
};

/* The status code answering a parse result. */
int ingress_http_status(enum ingress_http_result r);

/* Parses a complete request head (request line + headers + the empty line) of len bytes.
 * On failure *reason gets a short static text for the JSON "error" field. */
enum ingress_http_result ingress_http_parse_head(const char *head, size_t len,
                                                 struct ingress_http_req *req, const char **reason);

/* Offset just past the "\r\n\r\n" ending a head within data[0..len), or 0 when not there yet. */
size_t ingress_http_head_end(const char *data, size_t len);

/* Incremental chunked-body decoder (RFC 9112 section 7.1); chunk extensions and trailers are
 * read and dropped, each line capped at INGRESS_HTTP_CHUNK_LINE_MAX bytes. A chunk size may have
 * leading zeros; at most 15 significant hex digits. */
#define INGRESS_HTTP_CHUNK_LINE_MAX 4096

struct ingress_chunked {
    int state;
    uint64_t remaining;
    size_t line; /* bytes in the current size/extension/trailer line */
    int digits;  /* significant hex digits of the current chunk size */
};

enum ingress_chunked_result {
    INGRESS_CHUNKED_MORE = 0, /* all input consumed, body not complete */
    INGRESS_CHUNKED_DONE,     /* body complete; *consumed tells where the next request starts */
    INGRESS_CHUNKED_BAD,      /* malformed: 400 */
    INGRESS_CHUNKED_TOO_LARGE /* body would exceed body->max: 413 */
};

void ingress_chunked_init(struct ingress_chunked *c);
/* Feeds in[0..len); decoded bytes are appended to body (capped by body->max). */
enum ingress_chunked_result ingress_chunked_feed(struct ingress_chunked *c, const char *in,
                                                 size_t len, size_t *consumed, struct sg_buf *body);

/* Case-insensitive equality of s with the NUL-terminated lit. */
bool ingress_str_ieq(struct ingress_str s, const char *lit);
bool ingress_str_eq(struct ingress_str s, const char *lit);

/* Reason phrase for a status code ("Accepted"). */
const char *ingress_http_reason(int status);

#endif
