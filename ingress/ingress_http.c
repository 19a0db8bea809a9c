/* Why: a strict, allocation-free HTTP/1.1 request-head parser and chunked decoder; see
 * ingress_http.h. Ambiguous framing (both Content-Length and chunked, conflicting lengths,
 * obsolete line folding) is refused, because a front door must not be smuggled through. */
#include "ingress_http.h"

#include <string.h>
#include <strings.h>

bool ingress_str_ieq(struct ingress_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n && strncasecmp(s.p, lit, n) == 0;
}

bool ingress_str_eq(struct ingress_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n && memcmp(s.p, lit, n) == 0;
}

size_t ingress_http_head_end(const char *data, size_t len)
{
    const char *p = data;
    const char *end = data + len;
    while (end - p >= 4) {
        const char *cr = memchr(p, '\r', (size_t)(end - p - 3));
        if (!cr)
            return 0;
        if (cr[1] == '\n' && cr[2] == '\r' && cr[3] == '\n')
            return (size_t)(cr + 4 - data);
        p = cr + 1;
    }
    return 0;
}

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Looks for token in a comma-separated header value (Connection, Transfer-Encoding). */
static bool list_has(struct ingress_str v, const char *token)
{
    size_t n = strlen(token);
    const char *p = v.p, *end = v.p + v.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *s = p;
        while (p < end && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == n && strncasecmp(s, token, n) == 0)
            return true;
    }
    return false;
}

/* The path of a request target (RFC 9112 section 3.2): origin-form ("/p?q") as sent; absolute-form
 * ("http://host:4000/p?q"), which a server must accept, by its path with the authority ignored
 * (an empty path is "/"). Authority-form and asterisk-form are for CONNECT and OPTIONS, which the
 * ingress does not serve. */
static bool target_path(struct ingress_str t, struct ingress_str *path)
{
    const char *p = t.p, *end = t.p + t.len;
    if (*p != '/') {
        size_t scheme = t.len >= 7 && strncasecmp(p, "http://", 7) == 0    ? 7
                        : t.len >= 8 && strncasecmp(p, "https://", 8) == 0 ? 8
                                                                           : 0;
        if (!scheme)
            return false;
        p += scheme;
        const char *authority = p;
        while (p < end && *p != '/' && *p != '?' && *p != '#')
            p++;
        if (p == authority || (p < end && *p == '#'))
            return false;
        if (p == end || *p == '?') {
            *path = (struct ingress_str){"/", 1};
            return true;
        }
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    *path = (struct ingress_str){p, (size_t)((q ? q : end) - p)};
    return true;
}

enum ingress_http_result ingress_http_parse_head(const char *head, size_t len,
                                                 struct ingress_http_req *req, const char **reason)
{
    memset(req, 0, sizeof *req);
    const char *p = head, *end = head + len;
    struct ingress_str conn = {0}, te = {0};
    bool te_seen = false;
    int nheaders = 0;
    *reason = "malformed request";

    /* request line: method SP target SP HTTP/1.x CRLF */
    const char *s = p;
    while (p < end && is_tchar((unsigned char)*p))
        p++;
    if (p == s || p >= end || *p != ' ')
        return INGRESS_HTTP_BAD;
    req->method = (struct ingress_str){s, (size_t)(p - s)};
    s = ++p;
    while (p < end && (unsigned char)*p > ' ' && (unsigned char)*p < 0x7f)
        p++;
    if (p == s || p >= end || *p != ' ')
        return INGRESS_HTTP_BAD;
    struct ingress_str target = {s, (size_t)(p - s)};
    p++;
    if (end - p < 10 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
        p[7] < '0' || p[7] > '9' || p[8] != '\r' || p[9] != '\n')
        return INGRESS_HTTP_BAD;
    /* The version before the target's form: HTTP/2's prior-knowledge preface ("PRI * HTTP/2.0")
     * is answered 505, not 400 for its "*". */
    if (p[5] != '1') {
        *reason = "only HTTP/1.x is supported";
        return INGRESS_HTTP_VERSION;
    }
    req->target = target;
    if (!target_path(target, &req->path)) {
        *reason = "request target must be a path or an absolute http(s) URI";
        return INGRESS_HTTP_BAD;
    }
    req->minor = p[7] - '0';
    p += 10;

    /* header fields */
    for (;;) {
        if (end - p < 2)
            return INGRESS_HTTP_BAD;
        if (p[0] == '\r' && p[1] == '\n') {
            p += 2;
            break;
        }
        if (++nheaders > INGRESS_HTTP_MAX_HEADERS) {
            *reason = "too many header fields";
            return INGRESS_HTTP_HEADERS_TOO_LARGE;
        }
        s = p;
        while (p < end && is_tchar((unsigned char)*p))
            p++;
        if (p == s || p >= end || *p != ':') {
            *reason = p == s && (*p == ' ' || *p == '\t') ? "obsolete line folding"
                                                          : "malformed header field";
            return INGRESS_HTTP_BAD;
        }
        struct ingress_str name = {s, (size_t)(p - s)};
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        s = p;
        while (p < end && *p != '\r') {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                *reason = "malformed header field";
                return INGRESS_HTTP_BAD;
            }
            p++;
        }
        if (end - p < 2 || p[1] != '\n')
            return INGRESS_HTTP_BAD;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        struct ingress_str value = {s, (size_t)(e - s)};
        p += 2;

        switch (name.len) {
        case 6:
            if (ingress_str_ieq(name, "expect")) {
                if (ingress_str_ieq(value, "100-continue"))
                    req->expect_continue = true;
            }
            break;
        case 10:
            if (ingress_str_ieq(name, "connection"))
                conn = value;
            break;
        case 12:
            if (ingress_str_ieq(name, "content-type"))
                req->content_type = value;
            break;
        case 14:
            if (ingress_str_ieq(name, "content-length")) {
                uint64_t v = 0;
                if (value.len == 0 || value.len > 19) {
                    *reason = "invalid Content-Length";
                    return INGRESS_HTTP_BAD;
                }
                for (size_t i = 0; i < value.len; i++) {
                    if (value.p[i] < '0' || value.p[i] > '9') {
                        *reason = "invalid Content-Length";
                        return INGRESS_HTTP_BAD;
                    }
                    v = v * 10 + (uint64_t)(value.p[i] - '0');
                }
                if (req->has_length && req->content_length != v) {
                    *reason = "conflicting Content-Length";
                    return INGRESS_HTTP_BAD;
                }
                req->has_length = true;
                req->content_length = v;
            } else if (ingress_str_ieq(name, "x-github-event")) {
                req->event = value;
            }
            break;
        case 17:
            if (ingress_str_ieq(name, "transfer-encoding")) {
                if (te_seen) {
                    *reason = "repeated Transfer-Encoding";
                    return INGRESS_HTTP_BAD;
                }
                te_seen = true;
                te = value;
            } else if (ingress_str_ieq(name, "x-github-delivery")) {
                req->delivery = value;
            }
            break;
        case 19:
            if (ingress_str_ieq(name, "x-hub-signature-256"))
                req->signature = value;
            break;
        default:
            break;
        }
    }
    if (p != end)
        return INGRESS_HTTP_BAD;

    if (te_seen) {
        if (!ingress_str_ieq(te, "chunked")) {
            *reason = "unsupported Transfer-Encoding";
            return INGRESS_HTTP_UNSUPPORTED;
        }
        if (req->has_length) {
            *reason = "both Content-Length and Transfer-Encoding";
            return INGRESS_HTTP_BAD;
        }
        if (req->minor == 0) {
            *reason = "chunked body in HTTP/1.0";
            return INGRESS_HTTP_BAD;
        }
        req->chunked = true;
    }
    if (req->minor >= 1)
        req->keep_alive = !(conn.p && list_has(conn, "close"));
    else
        req->keep_alive = conn.p && list_has(conn, "keep-alive");
    *reason = NULL;
    return INGRESS_HTTP_OK;
}

enum {
    CH_SIZE = 0, /* hex digits */
    CH_EXT,      /* after the size, up to CR */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START, /* start of a trailer line or the final CRLF */
    CH_TRAILER_NAME,  /* a trailer's field name, up to ':' */
    CH_TRAILER,       /* a trailer's value */
    CH_TRAILER_LF,
    CH_FINAL_LF,
    CH_DONE
};

void ingress_chunked_init(struct ingress_chunked *c)
{
    memset(c, 0, sizeof *c);
}

enum ingress_chunked_result ingress_chunked_feed(struct ingress_chunked *c, const char *in,
                                                 size_t len, size_t *consumed, struct sg_buf *body)
{
    size_t i = 0;
    enum ingress_chunked_result r = INGRESS_CHUNKED_MORE;
    while (i < len && c->state != CH_DONE) {
        unsigned char ch = (unsigned char)in[i];
        switch (c->state) {
        case CH_SIZE: {
            int h = -1;
            if (ch >= '0' && ch <= '9')
                h = ch - '0';
            else if (ch >= 'a' && ch <= 'f')
                h = ch - 'a' + 10;
            else if (ch >= 'A' && ch <= 'F')
                h = ch - 'A' + 10;
            if (h >= 0) {
                /* Leading zeros are valid ("000a"): the size cap counts significant digits, the
                 * line cap bounds the rest. */
                if (++c->line > INGRESS_HTTP_CHUNK_LINE_MAX) {
                    r = INGRESS_CHUNKED_BAD;
                    goto out;
                }
                if ((c->remaining || h) && ++c->digits > 15) {
                    r = INGRESS_CHUNKED_TOO_LARGE;
                    goto out;
                }
                c->remaining = (c->remaining << 4) | (uint64_t)h;
                i++;
                break;
            }
            if (c->line == 0) {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            if (c->remaining > (uint64_t)(body->max - body->len)) {
                r = INGRESS_CHUNKED_TOO_LARGE;
                goto out;
            }
            if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                c->state = CH_EXT;
                c->line = 0;
            } else {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            i++;
            break;
        }
        case CH_EXT:
            if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else if ((ch < 0x20 && ch != '\t') || ++c->line > INGRESS_HTTP_CHUNK_LINE_MAX) {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            i++;
            break;
        case CH_SIZE_LF:
            if (ch != '\n') {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            i++;
            c->digits = 0;
            c->line = 0;
            c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
            break;
        case CH_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            if (sg_buf_append(body, in + i, n) != SG_OK) {
                r = INGRESS_CHUNKED_TOO_LARGE;
                goto out;
            }
            i += n;
            c->remaining -= n;
            if (!c->remaining)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (ch != (c->state == CH_DATA_CR ? '\r' : '\n')) {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            i++;
            c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
            break;
        case CH_TRAILER_START:
            /* A trailer line is a field name and ':', as a header is: a line starting with SP or
             * HTAB (obsolete line folding) is refused here as it is in the head. */
            i++;
            if (ch == '\r') {
                c->state = CH_FINAL_LF;
            } else if (is_tchar(ch)) {
                c->state = CH_TRAILER_NAME;
                c->line = 1;
            } else {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            break;
        case CH_TRAILER_NAME:
            if (ch == ':') {
                c->state = CH_TRAILER;
            } else if (!is_tchar(ch)) {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            if (++c->line > INGRESS_HTTP_CHUNK_LINE_MAX) {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            i++;
            break;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_TRAILER_LF;
            } else if ((ch < 0x20 && ch != '\t') || ++c->line > INGRESS_HTTP_CHUNK_LINE_MAX) {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            i++;
            break;
        case CH_TRAILER_LF:
        case CH_FINAL_LF:
            if (ch != '\n') {
                r = INGRESS_CHUNKED_BAD;
                goto out;
            }
            i++;
            c->state = c->state == CH_FINAL_LF ? CH_DONE : CH_TRAILER_START;
            break;
        default:
            r = INGRESS_CHUNKED_BAD;
            goto out;
        }
    }
    if (c->state == CH_DONE)
        r = INGRESS_CHUNKED_DONE;
out:
    *consumed = i;
    return r;
}

int ingress_http_status(enum ingress_http_result r)
{
    switch (r) {
    case INGRESS_HTTP_OK:
        return 200;
    case INGRESS_HTTP_HEADERS_TOO_LARGE:
        return 431;
    case INGRESS_HTTP_UNSUPPORTED:
        return 501;
    case INGRESS_HTTP_VERSION:
        return 505;
    default:
        return 400;
    }
}

const char *ingress_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
