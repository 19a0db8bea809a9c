/* Why: see sim_http.h. Every answer goes out through sim_http_finish_raw(), which is where
 * GitHub's headers (rate limit, request id) are added and the request is recorded, so no route can
 * forget them. */
#include "sim_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "sg_config.h"
#include "sg_crypto.h"
#include "sg_utf8.h"
#include "sim.h"
#include "sim_ratelimit.h"
#include "sim_record.h"
#include "sim_routes.h"

void sim_http_rq_free(struct sim_rq *r)
{
    if (!r)
        return;
    if (r->timer)
        event_free(r->timer);
    free(r->path);
    free(r->query);
    if (r->body)
        json_object_put(r->body);
    free(r);
}

const char *sim_http_reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* Sends the answer, records the request and frees r. body may be NULL (empty). */
void sim_http_finish_raw(struct sim_rq *r, int code, const char *ctype, const void *body,
                         size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    sim_ratelimit_headers(r, out);
    char rid[20];
    if (sg_random_hex(rid, 8) == SG_OK)
        evhttp_add_header(out, "X-GitHub-Request-Id", rid);
    if (ctype && !evhttp_find_header(out, "Content-Type"))
        evhttp_add_header(out, "Content-Type", ctype);
    sim_record_request(r, code);
    sim_faults_drop_answer(r);
    struct evbuffer *b = evbuffer_new();
    if (b && body && len)
        evbuffer_add(b, body, len);
    evhttp_send_reply(r->req, code, sim_http_reason(code), b);
    if (b)
        evbuffer_free(b);
    sim_http_rq_free(r);
}

/* Takes ownership of o. */
void sim_http_finish_json(struct sim_rq *r, int code, struct json_object *o)
{
    const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "";
    sim_http_finish_raw(r, code, "application/json; charset=utf-8", s, strlen(s));
    if (o)
        json_object_put(o);
}

void sim_http_finish_msg(struct sim_rq *r, int code, const char *message, const char *doc)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string(message));
    json_object_object_add(o, "documentation_url", json_object_new_string(doc ? doc : SIM_DOCS));
    char st[8];
    snprintf(st, sizeof st, "%d", code);
    json_object_object_add(o, "status", json_object_new_string(st));
    sim_http_finish_json(r, code, o);
}

void sim_http_finish_422(struct sim_rq *r, const char *detail, const char *doc)
{
    char msg[600];
    snprintf(msg, sizeof msg, "Invalid request.\n\n%s", detail);
    sim_http_finish_msg(r, 422, msg, doc);
}

long sim_http_query_long(const char *query, const char *name, long dflt)
{
    if (!query)
        return dflt;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    long v = dflt;
    if (evhttp_parse_query_str(query, &q) == 0) {
        const char *s = evhttp_find_header(&q, name);
        int64_t x;
        if (s && sg_parse_i64(s, INT64_MIN, INT64_MAX, &x))
            v = (long)x;
    }
    evhttp_clear_headers(&q);
    return v;
}

void sim_http_query_str(const char *query, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!query)
        return;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query, &q) == 0) {
        const char *s = evhttp_find_header(&q, name);
        if (s)
            snprintf(out, outlen, "%s", s);
    }
    evhttp_clear_headers(&q);
}

/* per_page as GitHub reads it: 30 by default, at most max_per_page. */
long sim_http_per_page(struct sim_rq *r)
{
    long per_page = sim_http_query_long(r->query, "per_page", 30);
    if (per_page < 1)
        per_page = 30;
    return per_page > sim_cfg.max_per_page ? sim_cfg.max_per_page : per_page;
}

/* Base URL as the client addressed us ("http://127.0.0.1:PORT"). */
void sim_http_self_base(struct sim_rq *r, char *out, size_t outlen, bool other_host)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Host");
    char h[256];
    snprintf(h, sizeof h, "%s", host ? host : "127.0.0.1");
    char *colon = strrchr(h, ':');
    if (colon)
        *colon = '\0';
    const char *name = h;
    if (other_host)
        name = !strcmp(h, "localhost") ? "127.0.0.1" : "localhost";
    /* API links carry the prefix (GHES: http://host/api/v3/...); codeload lives at the root */
    snprintf(out, outlen, "http://%s:%d%s", name, sim_cfg.port,
             other_host ? "" : sim_cfg.api_prefix);
}

/* Base URL for Link headers: ours, or with the foreign_link fault the same server under the
 * other host name, so a client that followed it would be seen doing so. */
void sim_http_link_base(struct sim_rq *r, char *out, size_t outlen)
{
    if (!r->has_fault || !r->fault.foreign_link) {
        sim_http_self_base(r, out, outlen, false);
        return;
    }
    char root[300];
    sim_http_self_base(r, root, sizeof root, true);
    snprintf(out, outlen, "%s%s", root, sim_cfg.api_prefix);
}

bool sim_http_valid_segment(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

void sim_http_request(struct evhttp_request *req, void *arg)
{
    struct sim_rq *r = sim_xcalloc(1, sizeof *r);
    r->req = req;
    r->rl_remaining = -1;
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        snprintf(r->method, sizeof r->method, "GET");
        break;
    case EVHTTP_REQ_POST:
        snprintf(r->method, sizeof r->method, "POST");
        break;
    case EVHTTP_REQ_PATCH:
        snprintf(r->method, sizeof r->method, "PATCH");
        break;
    case EVHTTP_REQ_PUT:
        snprintf(r->method, sizeof r->method, "PUT");
        break;
    case EVHTTP_REQ_DELETE:
        snprintf(r->method, sizeof r->method, "DELETE");
        break;
    case EVHTTP_REQ_HEAD:
        snprintf(r->method, sizeof r->method, "HEAD");
        break;
    default:
        snprintf(r->method, sizeof r->method, "OTHER");
        break;
    }
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    r->path = sim_xstrdup(u && evhttp_uri_get_path(u) ? evhttp_uri_get_path(u) : "/");
    if (u && evhttp_uri_get_query(u))
        r->query = sim_xstrdup(evhttp_uri_get_query(u));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    if (blen) {
        char *body = sim_xcalloc(1, blen + 1);
        evbuffer_remove(in, body, blen);
        struct json_tokener *tok = json_tokener_new();
        r->body = json_tokener_parse_ex(tok, body, (int)blen);
        /* GitHub answers a body that is not valid UTF-8 with 400 "Problems parsing JSON" */
        if (!r->body || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != blen || !sg_utf8_valid(body, blen)) {
            if (r->body)
                json_object_put(r->body);
            r->body = NULL;
            r->body_invalid = true;
        }
        json_tokener_free(tok);
        free(body);
    }
    size_t plen = strlen(sim_cfg.api_prefix);
    if (plen && strncmp(r->path, "/_sim/", 6) && strncmp(r->path, "/_codeload/", 11)) {
        /* GHES: every API path sits under the prefix; anything else is not the API */
        if (strncmp(r->path, sim_cfg.api_prefix, plen) || r->path[plen] != '/') {
            r->rl_remaining = -1;
            sim_http_finish_msg(r, 404, "Not Found", SIM_DOCS);
            return;
        }
        memmove(r->path, r->path + plen, strlen(r->path + plen) + 1);
    }
    if (!strncmp(r->path, "/_sim/", 6)) {
        sim_routes_control(r);
        return;
    }
    r->rl_remaining = sim_cfg.rate_limit;
    r->rl_used = 0;
    sim_faults_match(r);
    if (sim_faults_delay(r))
        return;
    sim_routes_api(r);
}
