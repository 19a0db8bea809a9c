/* Why: how both binaries reach Redis beyond the REDIS_URL itself (DESIGN.md section 11): the TLS
 * settings, the Sentinel addresses and the replica acknowledgement, loaded and validated once at
 * start the same way for the ingress and the worker. It also interprets the few replies that
 * finding the primary depends on (SENTINEL get-master-addr-by-name, ROLE) and the error replies
 * that mean "this server is not the primary any more", so the async ingress and the blocking
 * worker decide alike. No I/O here: these are pure functions over strings and parsed replies.
 *
 * Ownership: sg_redis_opts_load() fills a caller's struct whose strings are malloc'ed;
 * sg_redis_opts_free() releases them. The functions over replies copy what they return. */
#ifndef SG_REDIS_OPTS_H
#define SG_REDIS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"
#include "sg_url.h"

struct redisReply;

struct sg_hostport {
    char *host;
    int port;
};

struct sg_redis_opts {
    struct sg_redis_url url;       /* REDIS_URL; in Sentinel mode its host and port are not used */
    char *tls_ca_file;             /* NULL: the system roots */
    char *tls_server_name;         /* NULL: the host connected to */
    bool tls_insecure;             /* no certificate verification at all (explicit choice only) */
    struct sg_hostport *sentinels; /* NULL when Sentinel is not used */
    size_t n_sentinels;
    char *sentinel_master;    /* REDIS_SENTINEL_MASTER */
    char *sentinel_password;  /* AUTH for the sentinels; NULL when none; never log it */
    int64_t min_replicas_ack; /* WAIT for this many replicas after a write that must survive */
    int64_t wait_timeout_ms;
    char *sentinels_raw; /* REDIS_SENTINELS as given */
};

/* Reads REDIS_SENTINELS, REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD(_FILE),
 * REDIS_TLS_CA_FILE, REDIS_TLS_SERVER_NAME, REDIS_TLS_INSECURE, REDIS_MIN_REPLICAS_ACK and
 * REDIS_WAIT_TIMEOUT_MS (env replaces getenv when non-NULL) and parses redis_url. On a problem:
 * SG_ERR_CONFIG and one line naming the variable in err. */
enum sg_err sg_redis_opts_load(struct sg_redis_opts *o, const char *redis_url,
                               const char *(*env)(const char *), char *err, size_t errlen);
void sg_redis_opts_free(struct sg_redis_opts *o);
/* The variables above as --help lines. */
void sg_redis_opts_print_help(void *file /* FILE* */);

/* "host:port,host:port,[::1]:port" into a malloc'ed array (free with sg_hostports_free). */
enum sg_err sg_hostports_parse(const char *list, struct sg_hostport **out, size_t *n, char *err,
                               size_t errlen);
void sg_hostports_free(struct sg_hostport *hp, size_t n);

/* The reply to SENTINEL get-master-addr-by-name: a two-element array (host, port). False for a
 * nil (the sentinel does not know the master), an error or any other shape. */
bool sg_sentinel_master_addr(const struct redisReply *r, char *host, size_t hostlen, int *port);

enum sg_redis_role { SG_ROLE_UNKNOWN = 0, SG_ROLE_MASTER, SG_ROLE_REPLICA, SG_ROLE_SENTINEL };
/* The role named by a ROLE reply (its first element). */
enum sg_redis_role sg_redis_role_of(const struct redisReply *r);
const char *sg_redis_role_str(enum sg_redis_role role);

/* An error reply that means the server is (for now) not a primary we may write to: READONLY (a
 * replica), LOADING (a restarted or newly promoted server still loading), MASTERDOWN, or an
 * unblocked client after a role change (UNBLOCKED). The connection should go and the primary be
 * found again. */
bool sg_redis_error_wants_failover(const char *err);

#endif
