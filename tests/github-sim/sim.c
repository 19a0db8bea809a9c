/* Why: the worker's GitHub client must be tested against something that behaves like GitHub —
 * real HTTP, real RS256 JWT verification, real gzip tarballs behind a codeload-style redirect,
 * GitHub's status codes, rate-limit headers and error JSON — and that can fail on demand (5xx,
 * 429/403 rate limits, slow and truncated answers). This is that simulator: a test tool, not a
 * mock. Its contract is documented in tests/github-sim/README.md. Single-threaded (libevent).
 *
 * This file is the program: the command line, the settings and helpers every other file shares
 * (sim.h), start-up, the event loop and teardown. Each concern has its own file (README.md). */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "sg_config.h"
#include "sg_crypto.h"
#include "sg_time.h"
#include "sim.h"
#include "sim_apps.h"
#include "sim_auth.h"
#include "sim_checkruns.h"
#include "sim_contents.h"
#include "sim_deliveries.h"
#include "sim_faults.h"
#include "sim_http.h"
#include "sim_installations.h"
#include "sim_ratelimit.h"
#include "sim_record.h"

#define MAX_BODY (32u << 20)

struct sim_config sim_cfg;

void *sim_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

void *sim_xrealloc(void *p, size_t sz)
{
    p = realloc(p, sz);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

char *sim_xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return d;
}

void sim_iso8601(int64_t unix_s, char out[32])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t sim_now_s(void)
{
    return sg_now_ms() / 1000;
}

int64_t sim_json_int(struct json_object *o, const char *k, int64_t dflt)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null)
               ? json_object_get_int64(v)
               : dflt;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: singularity-github-sim [--host 127.0.0.1] [--port N] --app-id ID --app-key FILE\n"
        "         [--repos DIR] [--installation ID=owner/repo[,owner/repo...]]... [--record FILE]\n"
        "         [--max-per-page N] [--api-prefix /api/v3] [--rate-limit N]\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(sim_cfg.base, NULL);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"host", required_argument, NULL, 'H'},
                                         {"app-id", required_argument, NULL, 'a'},
                                         {"app-key", required_argument, NULL, 'k'},
                                         {"repos", required_argument, NULL, 'r'},
                                         {"installation", required_argument, NULL, 'i'},
                                         {"record", required_argument, NULL, 'R'},
                                         {"max-per-page", required_argument, NULL, 'm'},
                                         {"api-prefix", required_argument, NULL, 'P'},
                                         {"rate-limit", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *record_path = NULL;
    sg_pkey *key;
    int64_t v;
    int c, rc = 1;
    sim_cfg.host = "127.0.0.1";
    sim_cfg.api_prefix = "";
    sim_cfg.rate_limit =
        1000000; /* GitHub's is 5000-15000; high by default so benchmarks run free */
    sim_cfg.max_per_page = 100;
    snprintf(sim_cfg.app_id, sizeof sim_cfg.app_id, "1");
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!sg_parse_i64(optarg, INT64_MIN, INT64_MAX, &v) || v < 0 || v > 65535)
                return usage(), 2;
            sim_cfg.port = (int)v;
            break;
        case 'H':
            sim_cfg.host = optarg;
            break;
        case 'a':
            snprintf(sim_cfg.app_id, sizeof sim_cfg.app_id, "%s", optarg);
            break;
        case 'k':
            key_path = optarg;
            break;
        case 'r':
            sim_cfg.repos_dir = optarg;
            break;
        case 'i':
            if (!sim_installations_add(optarg)) {
                fprintf(stderr, "bad --installation %s (want ID=owner/repo[,...])\n", optarg);
                return 2;
            }
            break;
        case 'R':
            record_path = optarg;
            break;
        case 'L':
            if (!sg_parse_i64(optarg, 1, INT64_MAX / 2, &v))
                return usage(), 2;
            sim_cfg.rate_limit = v;
            break;
        case 'P':
            if (optarg[0] != '/' || optarg[strlen(optarg) - 1] == '/')
                return usage(), 2;
            sim_cfg.api_prefix = optarg;
            break;
        case 'm':
            if (!sg_parse_i64(optarg, INT64_MIN, INT64_MAX, &v) || v < 1 || v > 100)
                return usage(), 2;
            sim_cfg.max_per_page = (int)v;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (!key_path) {
        usage();
        return 2;
    }
    FILE *kf = fopen(key_path, "r");
    if (!kf) {
        fprintf(stderr, "cannot open %s: %s\n", key_path, strerror(errno));
        return 2;
    }
    char pem[16384];
    size_t plen = fread(pem, 1, sizeof pem - 1, kf);
    fclose(kf);
    pem[plen] = '\0';
    char kerr[256];
    key = sg_pkey_load_pem(pem, kerr, sizeof kerr);
    if (!key) {
        fprintf(stderr, "bad --app-key: %s\n", kerr);
        return 2;
    }
    sim_apps_init(sim_cfg.app_id, key);
    size_t ninsts;
    const struct sim_inst *insts = sim_installations_all(&ninsts);
    for (size_t i = 0; i < ninsts; i++)
        sim_apps_install(strtoll(sim_cfg.app_id, NULL, 10), insts[i].id);
    if (!sim_record_start(record_path)) {
        fprintf(stderr, "cannot open %s: %s\n", record_path, strerror(errno));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sim_checkruns_start();
    sim_deliveries_start();
    sim_ratelimit_start();
    sim_cfg.base = event_base_new();
    struct evhttp *http = evhttp_new(sim_cfg.base);
    struct event *sigint = evsignal_new(sim_cfg.base, SIGINT, on_signal, NULL);
    struct event *sigterm = evsignal_new(sim_cfg.base, SIGTERM, on_signal, NULL);
    if (!sim_cfg.base || !http || !sigint || !sigterm)
        goto out;
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    evhttp_set_max_body_size(http, MAX_BODY);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(http, 120);
    evhttp_set_gencb(http, sim_http_request, NULL);
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(http, sim_cfg.host, (ev_uint16_t)sim_cfg.port);
    if (!sock) {
        fprintf(stderr, "cannot listen on %s:%d\n", sim_cfg.host, sim_cfg.port);
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) != 0)
        goto out;
    sim_cfg.port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
    printf("listening on %d\n", sim_cfg.port);
    fflush(stdout);
    event_base_dispatch(sim_cfg.base);
    rc = 0;
out:
    sim_faults_free();
    sim_contents_free();
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (http)
        evhttp_free(http);
    if (sim_cfg.base)
        event_base_free(sim_cfg.base);
    sim_record_free();
    sim_checkruns_free();
    sim_deliveries_free();
    sim_installations_free();
    sim_auth_free();
    sim_apps_free();
    sg_pkey_free(key);
    return rc;
}
