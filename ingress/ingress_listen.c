/* Why: how connections get in: the listeners (PORT and METRICS_PORT), the slot rules at accept
 * (MAX_CONNECTIONS kept below the descriptor limit, MAX_CONNECTIONS_PER_CLIENT, the longest-idle
 * connection reclaimed when all slots are taken) and the back-off when accept() runs out of
 * descriptors. What happens on a connection afterwards is ingress_server.c's. */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "ingress_conn.h"
#include "sg_log.h"
#include "sg_time.h"

/* A connection that can be closed to make room: idle keep-alive (or not yet sending), nothing
 * buffered either way. */
static bool conn_reclaimable(const struct conn *c)
{
    return c->state == C_IDLE && !c->rejected && c->in.len == c->in_off && c->out.len == c->out_off;
}

/* Makes room for a connection from peer: false when peer already holds its share of the slots
 * (a trusted proxy carries many clients and has no share); when all slots are taken, the
 * longest-idle connection is closed, so held idle connections cannot lock deliveries out. */
static bool make_room(struct ingress_server *s, const struct ingress_ip *peer, bool proxy)
{
    size_t same = 0;
    struct conn *oldest = NULL;
    for (struct conn *c = s->conns.next; c != &s->conns; c = c->next) {
        if (!proxy && !c->rejected && memcmp(&c->peer, peer, sizeof *peer) == 0)
            same++;
        if (conn_reclaimable(c) && (!oldest || c->idle_since_ms < oldest->idle_since_ms))
            oldest = c;
    }
    if (!proxy && same >= (size_t)s->cfg->max_connections_per_client)
        return false;
    if (s->nconns - s->nrejecting < s->max_conns)
        return true;
    if (!oldest)
        return false;
    ingress_conn_free(oldest);
    return true;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct ingress_server *s = arg;
    (void)salen;
    struct ingress_ip peer;
    memset(&peer, 0, sizeof peer);
    bool inet = ingress_ip_from_sockaddr(sa, &peer);
    bool proxy = inet && ingress_trusted_has(&s->cfg->trusted, &peer);
    bool over = s->draining || !make_room(s, &peer, proxy);
    if (over && s->nrejecting >= MAX_REJECTING) {
        /* Past the cap and past the few rejections we linger on: just close. */
        const char *labels[2] = {"503", "none"};
        sg_metric_inc(s->m_requests, labels);
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = ingress_conn_new(s, fd, inet ? &peer : NULL, proxy, l == s->mlistener);
    if (!c)
        return;
    if (over) {
        /* Answered through the normal path so the client reads our 503 before the close. */
        c->rejected = true;
        s->nrejecting++;
        ingress_conn_respond_error(c, 503, "too many connections", true);
    }
}

static void set_listening(struct ingress_server *s, bool on)
{
    struct evconnlistener *ls[2] = {s->listener, s->mlistener};
    for (int i = 0; i < 2; i++)
        if (ls[i])
            on ? evconnlistener_enable(ls[i]) : evconnlistener_disable(ls[i]);
}

static void on_accept_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    set_listening(arg, true);
}

/* accept() failed. Out of descriptors (or memory), the pending connection stays queued and the
 * listener stays readable: retrying at once would spin. The listeners rest a moment instead, and
 * the failures are logged at most once per ACCEPT_LOG_EVERY_MS. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct ingress_server *s = arg;
    (void)l;
    int err = EVUTIL_SOCKET_ERROR();
    s->accept_failures++;
    int64_t now = sg_mono_ms();
    if (!s->accept_logged_ms || now - s->accept_logged_ms >= ACCEPT_LOG_EVERY_MS) {
        sg_log_warn("accept failed", SG_KV_STR("err", evutil_socket_error_to_string(err)),
                    SG_KV_INT("failures", (long long)s->accept_failures),
                    SG_KV_INT("connections", (long long)s->nconns), SG_KV_END);
        s->accept_logged_ms = now;
        s->accept_failures = 0;
    }
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        set_listening(s, false);
        struct timeval tv = {0, ACCEPT_BACKOFF_MS * 1000};
        evtimer_add(s->accept_timer, &tv);
    }
}

/* MAX_CONNECTIONS, lowered (with one warning) when the open-file limit could not hold that many
 * connections beside FD_RESERVE: otherwise accept() would fail for lack of descriptors long
 * before the cap applies. */
static size_t fd_budget(const struct ingress_config *cfg)
{
    size_t want = (size_t)cfg->max_connections;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= (rlim_t)(want + FD_RESERVE))
        return want;
    size_t fit =
        rl.rlim_cur > 2 * FD_RESERVE ? (size_t)rl.rlim_cur - FD_RESERVE : (size_t)rl.rlim_cur / 2;
    if (fit < 1)
        fit = 1;
    sg_log_warn("MAX_CONNECTIONS lowered to fit the open-file limit (ulimit -n)",
                SG_KV_INT("max_connections", (long long)want),
                SG_KV_INT("lowered_to", (long long)fit),
                SG_KV_INT("nofile", (long long)rl.rlim_cur), SG_KV_END);
    return fit;
}

/* Binds HOST:port; the port actually bound goes to *bound (useful with port 0). */
static struct evconnlistener *listen_on(struct ingress_server *s, int64_t port, int *bound,
                                        char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%lld", (long long)port);
    int gai = getaddrinfo(s->cfg->host, ps, &hints, &res);
    if (gai) {
        snprintf(err, errlen, "HOST: cannot resolve \"%s\": %s", s->cfg->host, gai_strerror(gai));
        return NULL;
    }
    struct evconnlistener *l = evconnlistener_new_bind(
        s->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        1024, res->ai_addr, (int)res->ai_addrlen);
    if (!l) {
        snprintf(err, errlen, "%s: cannot listen on %s:%s: %s",
                 port == s->cfg->port ? "PORT" : "METRICS_PORT", s->cfg->host, ps, strerror(errno));
        freeaddrinfo(res);
        return NULL;
    }
    freeaddrinfo(res);
    evconnlistener_set_error_cb(l, on_accept_error);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl) == 0)
        *bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return l;
}

bool ingress_listen_start(struct ingress_server *s, char *err, size_t errlen)
{
    const struct ingress_config *cfg = s->cfg;
    s->max_conns = fd_budget(cfg);
    s->accept_timer = evtimer_new(s->base, on_accept_timer, s);
    if (!s->accept_timer) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    s->listener = listen_on(s, cfg->port, &s->port, err, errlen);
    if (!s->listener)
        return false;
    if (cfg->metrics_port) {
        s->mlistener = listen_on(s, cfg->metrics_port, &s->metrics_port, err, errlen);
        if (!s->mlistener)
            return false;
    }
    return true;
}

void ingress_listen_stop(struct ingress_server *s)
{
    if (s->listener)
        evconnlistener_free(s->listener);
    if (s->mlistener)
        evconnlistener_free(s->mlistener);
    s->listener = s->mlistener = NULL;
    if (s->accept_timer)
        evtimer_del(s->accept_timer);
}
