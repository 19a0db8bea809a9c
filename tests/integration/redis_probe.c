/* Why: the two Redis transports (the worker's blocking one and the ingress's evented one) are
 * exercised directly against real servers (TLS, Sentinel), with the settings read from the
 * environment exactly as the binaries read them: `redis_probe worker|ingress [KEY VALUE]` finds
 * the primary, writes KEY=VALUE (default probe:<mode>=1), reads it back and prints
 * "ok <mode> <value>"; on failure it prints the reason on stderr and exits 1. */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_primary.h"
#include "wk_redis_primary.h"
#include "sg_log.h"
#include "sg_tls.h"

#define TIMEOUT_MS 2000

static const char *key = NULL, *value = "1";

static int probe_worker(const struct sg_redis_opts *o)
{
    char err[300];
    SSL_CTX *tls = NULL;
    if (o->url.tls && !(tls = sg_tls_ctx_new(o, err, sizeof err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct wk_wire *w = wk_primary_open(o, tls, TIMEOUT_MS, err, sizeof err);
    int rc = 1;
    if (!w) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    redisReply *r = wk_wire_command(w, TIMEOUT_MS, "SET %s %s", key, value);
    if (r)
        freeReplyObject(r);
    r = wk_wire_command(w, TIMEOUT_MS, "GET %s", key);
    if (r && r->type == REDIS_REPLY_STRING) {
        printf("ok worker %s\n", r->str);
        rc = 0;
    } else {
        fprintf(stderr, "%s\n", r ? (r->str ? r->str : "unexpected reply") : wk_wire_error(w));
    }
    if (r)
        freeReplyObject(r);
out:
    wk_wire_free(w);
    SSL_CTX_free(tls);
    return rc;
}

struct ictx {
    struct event_base *base;
    struct ingress_primary *p;
    bool sent;
    int rc;
};

static void on_get(redisReply *r, void *arg)
{
    struct ictx *c = arg;
    if (r && r->type == REDIS_REPLY_STRING) {
        printf("ok ingress %s\n", r->str);
        c->rc = 0;
    } else {
        fprintf(stderr, "%s\n", r && r->str ? r->str : "no reply");
    }
    event_base_loopbreak(c->base);
}

static void on_set(redisReply *r, void *arg)
{
    (void)r;
    (void)arg;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct ictx *c = arg;
    (void)fd;
    (void)what;
    if (c->sent || !ingress_primary_ready(c->p))
        return;
    const char *set[] = {"SET", key, value}, *get[] = {"GET", key};
    size_t set_len[] = {3, strlen(key), strlen(value)}, get_len[] = {3, strlen(key)};
    c->sent = ingress_primary_command(c->p, on_set, c, 3, set, set_len) == SG_OK &&
              ingress_primary_command(c->p, on_get, c, 2, get, get_len) == SG_OK;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct ictx *c = arg;
    (void)fd;
    (void)what;
    fprintf(stderr, "ingress: no ready primary within %d ms\n", 2 * TIMEOUT_MS);
    event_base_loopbreak(c->base);
}

static int probe_ingress(const struct sg_redis_opts *o)
{
    struct ictx c = {.base = event_base_new(), .rc = 1};
    char err[300];
    c.p = ingress_primary_new(c.base, o, TIMEOUT_MS, NULL, NULL, err, sizeof err);
    if (!c.p) {
        fprintf(stderr, "%s\n", err);
        event_base_free(c.base);
        return 1;
    }
    struct event *tick = event_new(c.base, -1, EV_PERSIST, on_tick, &c);
    struct event *deadline = event_new(c.base, -1, 0, on_deadline, &c);
    struct timeval t50 = {0, 50 * 1000}, tmax = {2 * TIMEOUT_MS / 1000, 0};
    event_add(tick, &t50);
    event_add(deadline, &tmax);
    ingress_primary_start(c.p);
    event_base_dispatch(c.base);
    ingress_primary_free(c.p);
    event_free(tick);
    event_free(deadline);
    event_base_free(c.base);
    return c.rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "worker") && strcmp(argv[1], "ingress"))) {
        fprintf(stderr, "usage: redis_probe worker|ingress [KEY VALUE]\n");
        return 2;
    }
    char defkey[32];
    snprintf(defkey, sizeof defkey, "probe:%s", argv[1]);
    key = argc > 3 ? argv[2] : defkey;
    value = argc > 3 ? argv[3] : "1";
    sg_log_init(SG_LOG_DEBUG, SG_LOG_TEXT, "redis_probe");
    struct sg_redis_opts o;
    char err[300];
    if (sg_redis_opts_load(&o, getenv("REDIS_URL"), NULL, err, sizeof err) != SG_OK) {
        fprintf(stderr, "%s\n", err);
        sg_redis_opts_free(&o);
        return 2;
    }
    int rc = strcmp(argv[1], "worker") == 0 ? probe_worker(&o) : probe_ingress(&o);
    sg_redis_opts_free(&o);
    return rc;
}
