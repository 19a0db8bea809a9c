/* Why: REDIS_URL is parsed once, the same way by both binaries, and a bad one is named clearly.
 *
 * Ownership: strings in struct sg_redis_url are malloc'ed; sg_redis_url_clear() frees them. */
#ifndef SG_URL_H
#define SG_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_err.h"

struct sg_redis_url {
    char *host;      /* host name or address, or NULL when unix_path is set */
    int port;        /* default 6379 */
    char *unix_path; /* redis+unix:///path or unix:///path */
    char *username;  /* NULL when absent */
    char *password;  /* NULL when absent; never log it */
    int db;          /* default 0 */
    bool tls;        /* rediss:// */
};

/* redis://[[user]:password@]host[:port][/db], the same with rediss:// (TLS; the user name is an
 * ACL user), or unix:///path[?db=N]. */
enum sg_err sg_redis_url_parse(const char *url, struct sg_redis_url *out, char *err, size_t errlen);
void sg_redis_url_clear(struct sg_redis_url *u);

#endif
