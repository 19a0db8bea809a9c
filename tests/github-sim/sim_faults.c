/* Why: see sim_faults.h. A fault is matched when the request comes in (so a delayed request keeps
 * the fault it drew) and acts at a few points: before routing (an answer of its own, a delay),
 * on the answer's way out (a lost answer) and, through the request, in the routes that read it
 * (Link hosts in sim_http.c, tarball downloads in sim_contents.c). */
#include "sim_faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "sim.h"
#include "sim_http.h"
#include "sim_routes.h"

static struct sim_fault *faults;
static size_t nfaults;

void sim_faults_add(struct sim_rq *r)
{
    struct json_object *b = r->body;
    if (!b) {
        sim_http_finish_msg(r, 400, "expected a JSON fault object (or an array of them)", NULL);
        return;
    }
    size_t n = json_object_is_type(b, json_type_array) ? json_object_array_length(b) : 1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *f = json_object_is_type(b, json_type_array)
                                    ? json_object_array_get_idx(b, i)
                                    : b,
                           *v;
        struct sim_fault x;
        memset(&x, 0, sizeof x);
        if (json_object_object_get_ex(f, "method", &v) && json_object_is_type(v, json_type_string))
            snprintf(x.method, sizeof x.method, "%s", json_object_get_string(v));
        if (json_object_object_get_ex(f, "path_prefix", &v) &&
            json_object_is_type(v, json_type_string))
            snprintf(x.prefix, sizeof x.prefix, "%s", json_object_get_string(v));
        x.status = (int)sim_json_int(f, "status", 0);
        x.count = (int)sim_json_int(f, "count", 1);
        x.retry_after = (int)sim_json_int(f, "retry_after", 0);
        x.reset_in = (int)sim_json_int(f, "rate_limit_reset_in", 0);
        x.secondary = json_object_object_get_ex(f, "secondary", &v) && json_object_get_boolean(v);
        x.delay_ms = (int)sim_json_int(f, "delay_ms", 0);
        x.truncate_after = (size_t)sim_json_int(f, "truncate_after_bytes", 0);
        x.bytes_per_s = (size_t)sim_json_int(f, "bytes_per_s", 0);
        x.foreign_link =
            json_object_object_get_ex(f, "foreign_link", &v) && json_object_get_boolean(v);
        x.drop_answer =
            json_object_object_get_ex(f, "drop_answer", &v) && json_object_get_boolean(v);
        if (json_object_object_get_ex(f, "body", &v) && json_object_is_type(v, json_type_string))
            snprintf(x.body, sizeof x.body, "%s", json_object_get_string(v));
        if (x.count < 1 || x.status < 0 || x.status > 599 || x.delay_ms < 0) {
            sim_http_finish_msg(r, 400, "bad fault", NULL);
            return;
        }
        faults = sim_xrealloc(faults, (nfaults + 1) * sizeof *faults);
        faults[nfaults++] = x;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "faults", json_object_new_int64((int64_t)nfaults));
    sim_http_finish_json(r, 201, o);
}

void sim_faults_clear(void)
{
    nfaults = 0;
}

void sim_faults_match(struct sim_rq *r)
{
    for (size_t i = 0; i < nfaults; i++) {
        struct sim_fault *f = &faults[i];
        if ((f->method[0] && strcasecmp(f->method, r->method)) ||
            strncmp(r->path, f->prefix, strlen(f->prefix)))
            continue;
        r->fault = *f;
        r->has_fault = true;
        if (--f->count <= 0) {
            memmove(f, f + 1, (nfaults - i - 1) * sizeof *f);
            nfaults--;
        }
        break;
    }
}

/* Requests waiting out a delay fault, freed at exit if still waiting. */
static struct sim_rq *pending[1024];
static size_t npending;

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
    for (size_t i = 0; i < npending; i++)
        if (pending[i] == arg) {
            pending[i] = pending[--npending];
            break;
        }
    sim_routes_api(arg);
}

bool sim_faults_delay(struct sim_rq *r)
{
    if (r->has_fault && r->fault.delay_ms > 0 && npending < sizeof pending / sizeof pending[0]) {
        pending[npending++] = r;
        struct timeval tv = {r->fault.delay_ms / 1000, (r->fault.delay_ms % 1000) * 1000};
        r->timer = evtimer_new(sim_cfg.base, delayed_cb, r);
        evtimer_add(r->timer, &tv);
        return true;
    }
    return false;
}

static void reply(struct sim_rq *r)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    struct sim_fault *f = &r->fault;
    char v[32];
    if (f->body[0]) {
        sim_http_finish_raw(r, f->status, "application/json; charset=utf-8", f->body,
                            strlen(f->body));
        return;
    }
    if (f->retry_after > 0) {
        snprintf(v, sizeof v, "%d", f->retry_after);
        evhttp_add_header(out, "Retry-After", v);
    }
    if (f->status == 403 || f->status == 429) {
        if (f->secondary) {
            sim_http_finish_msg(
                r, f->status,
                "You have exceeded a secondary rate limit. Please wait a few minutes "
                "before you try again. If you reach out to GitHub Support for help, "
                "please include the request ID.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                "#about-secondary-rate-limits");
            return;
        }
        if (f->reset_in > 0) {
            /* primary limit: remaining 0 and the window's reset time */
            r->rl_remaining = -1;
            snprintf(v, sizeof v, "%lld", (long long)sim_cfg.rate_limit);
            evhttp_add_header(out, "X-RateLimit-Limit", v);
            evhttp_add_header(out, "X-RateLimit-Remaining", "0");
            evhttp_add_header(out, "X-RateLimit-Used", v);
            snprintf(v, sizeof v, "%lld", (long long)(sim_now_s() + f->reset_in));
            evhttp_add_header(out, "X-RateLimit-Reset", v);
            evhttp_add_header(out, "X-RateLimit-Resource", "core");
            sim_http_finish_msg(
                r, f->status, "API rate limit exceeded for installation.",
                "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting");
            return;
        }
        sim_http_finish_msg(r, f->status,
                            f->status == 429 ? "Too Many Requests"
                                             : "Resource not accessible by integration",
                            NULL);
        return;
    }
    sim_http_finish_msg(r, f->status,
                        f->status >= 500 ? "Server Error" : sim_http_reason(f->status), NULL);
}

bool sim_faults_answer(struct sim_rq *r)
{
    if (r->has_fault && r->fault.status > 0) {
        reply(r);
        return true;
    }
    if (r->has_fault && r->fault.reset_in > 0)
        r->exhausted_reset_s = sim_now_s() + r->fault.reset_in;
    return false;
}

void sim_faults_drop_answer(struct sim_rq *r)
{
    if (r->has_fault && r->fault.drop_answer) {
        /* An answer lost on the way back: the client reads an orderly close and not one byte
         * (then libevent's write of the reply fails and frees the connection). */
        struct evhttp_connection *conn = evhttp_request_get_connection(r->req);
        struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
        if (bev)
            shutdown(bufferevent_getfd(bev), SHUT_RDWR);
    }
}

void sim_faults_free(void)
{
    for (size_t i = 0; i < npending; i++)
        sim_http_rq_free(pending[i]);
    npending = 0;
    free(faults);
    faults = NULL;
    nfaults = 0;
}
