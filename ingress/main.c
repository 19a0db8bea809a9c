/* Why: singularity-ingress's entry point: configuration (validated, one clear line on error),
 * logging, the server on one libevent loop, and SIGTERM/SIGINT turned into a graceful drain via
 * evsignal so the handler runs inside the loop. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "ingress_config.h"
#include "ingress_server.h"
#include "sg_log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: singularity-ingress [--help] [--version]\n\n"
            "Receives GitHub webhooks on POST $WEBHOOK_PATH, verifies their signature, and pushes\n"
            "one job per delivery onto the Redis list analysis_queue. Also serves GET /healthz,\n"
            "/readyz and /metrics (on METRICS_PORT when set). Configuration comes from the\n"
            "environment:\n\n");
    ingress_config_print_help(f);
}

/* Per-webhook log lines are batched (one write per 50 ms instead of one per request). */
static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sg_log_flush();
}

/* Each connection is a descriptor: the soft limit (often 1024) is raised to the hard one, so
 * MAX_CONNECTIONS can be honoured; the server lowers its cap if even that is too few. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            sg_log_warn("cannot raise the open-file limit", SG_KV_END);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    sg_log_info("signal received, shutting down", SG_KV_INT("signal", (int)sig), SG_KV_END);
    ingress_server_drain(arg);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
            printf("singularity-ingress %s\n", SG_VERSION);
            return 0;
        }
        fprintf(stderr, "singularity-ingress: unknown argument \"%s\" (try --help)\n", argv[i]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    struct ingress_config cfg;
    char err[512];
    if (ingress_config_load(&cfg, NULL, err, sizeof err) != SG_OK) {
        fprintf(stderr, "singularity-ingress: configuration error: %s\n", err);
        ingress_config_free(&cfg);
        return 1;
    }
    sg_log_init(cfg.level, cfg.format, "ingress");
    raise_nofile();

    int rc = 1;
    struct event *sigterm = NULL, *sigint = NULL, *logflush = NULL;
    struct ingress_server *s = NULL;
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "singularity-ingress: cannot create the event loop\n");
        goto out;
    }
    s = ingress_server_new(base, &cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "singularity-ingress: %s\n", err);
        goto out;
    }
    sg_log_set_buffered(64 * 1024);
    logflush = event_new(base, -1, EV_PERSIST, on_log_flush, NULL);
    struct timeval flush_every = {0, 50 * 1000};
    if (!logflush || event_add(logflush, &flush_every)) {
        fprintf(stderr, "singularity-ingress: cannot create the log flush timer\n");
        goto out;
    }
    sigterm = evsignal_new(base, SIGTERM, on_signal, s);
    sigint = evsignal_new(base, SIGINT, on_signal, s);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL)) {
        fprintf(stderr, "singularity-ingress: cannot install signal handlers\n");
        goto out;
    }
    sg_log_info("listening", SG_KV_STR("host", cfg.host), SG_KV_INT("port", ingress_server_port(s)),
                SG_KV_INT("metrics_port", ingress_server_metrics_port(s)),
                SG_KV_STR("path", cfg.webhook_path), SG_KV_STR("version", SG_VERSION), SG_KV_END);
    event_base_dispatch(base);
    sg_log_info("stopped", SG_KV_END);
    rc = 0;
out:
    sg_log_flush();
    sg_log_set_buffered(0);
    if (logflush)
        event_free(logflush);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    ingress_server_free(s);
    if (base)
        event_base_free(base);
    ingress_config_free(&cfg);
    return rc;
}
