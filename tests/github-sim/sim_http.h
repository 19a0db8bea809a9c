/* Why: the HTTP plumbing every route shares: a request as the routes see it (method, path
 * without the GHES prefix, query, parsed JSON body, the fault it drew, its rate-limit figures),
 * the one way to answer it (GitHub's headers and error JSON, recorded, then freed), and reading
 * queries and making this server's own URLs. Routes live in the concern files (sim_routes.c).
 *
 * Ownership: sim_http_request() allocates a request and every sim_http_finish_* frees it, so a
 * route answers exactly once and must not touch r after. Out-strings are the caller's buffers. */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_faults.h"

#define SIM_DOCS "https://docs.github.com/rest"

struct event;
struct evhttp_request;
struct json_object;

/* One request in flight (possibly delayed by a fault). */
struct sim_rq {
    struct evhttp_request *req;
    char method[16];
    char *path;
    char *query;
    struct json_object *body; /* parsed JSON body or NULL */
    bool body_invalid;
    struct sim_fault fault; /* the fault that matched (status 0 = none) */
    bool has_fault;
    struct event *timer;
    int64_t rl_remaining; /* for the headers; -1 = not a GitHub API answer */
    int64_t rl_used;
    int64_t exhausted_reset_s; /* > 0: answer normally but say the hour's budget is used up */
};

/* libevent's callback for every request: reads it, then hands it to the control API, or to a
 * fault's delay and the API routes. */
void sim_http_request(struct evhttp_request *req, void *arg);
/* Frees a request that will not be answered through sim_http_finish_*. NULL does nothing. */
void sim_http_rq_free(struct sim_rq *r);
/* The reason phrase of an HTTP status. */
const char *sim_http_reason(int code);

/* Sends the answer, records the request and frees r. body may be NULL (empty). */
void sim_http_finish_raw(struct sim_rq *r, int code, const char *ctype, const void *body,
                         size_t len);
/* Takes ownership of o. */
void sim_http_finish_json(struct sim_rq *r, int code, struct json_object *o);
/* GitHub's error JSON: {"message", "documentation_url" (doc, or SIM_DOCS for NULL), "status"}. */
void sim_http_finish_msg(struct sim_rq *r, int code, const char *message, const char *doc);
/* GitHub's 422 "Invalid request." with detail. */
void sim_http_finish_422(struct sim_rq *r, const char *detail, const char *doc);

/* The query parameter name as a number (dflt when missing or not a number) or as a string ("" when
 * missing; cut to outlen). query may be NULL. */
long sim_http_query_long(const char *query, const char *name, long dflt);
void sim_http_query_str(const char *query, const char *name, char *out, size_t outlen);
/* per_page as GitHub reads it: 30 by default, at most max_per_page. */
long sim_http_per_page(struct sim_rq *r);

/* Base URL as the client addressed us ("http://127.0.0.1:PORT" + the API prefix), or with
 * other_host the codeload root under the other host name (localhost <-> 127.0.0.1). */
void sim_http_self_base(struct sim_rq *r, char *out, size_t outlen, bool other_host);
/* Base URL for Link headers: ours, or the other host's with a foreign_link fault. */
void sim_http_link_base(struct sim_rq *r, char *out, size_t outlen);
/* A path segment GitHub could have made: letters, digits, '-', '_', '.', not "." or "..". */
bool sim_http_valid_segment(const char *s);

#endif
