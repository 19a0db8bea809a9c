/* Why: the worker reaches "the primary", not a fixed address (DESIGN.md section 11): with
 * REDIS_SENTINELS set the sentinels are asked where the primary is and the server found is checked
 * with ROLE before anything is written to it, so no job is ever taken from a replica; without,
 * REDIS_URL's host is the primary. Either way the connection is authenticated and on the right
 * database before it is handed out.
 *
 * Ownership: the returned wire belongs to the caller (wk_wire_free()). */
#ifndef WK_REDIS_PRIMARY_H
#define WK_REDIS_PRIMARY_H

#include <stddef.h>

#include "wk_redis_wire.h"
#include "sg_redis_opts.h"

/* tls: the client context when REDIS_URL is rediss:// (used for the sentinels too), else NULL.
 * NULL with a one-line reason in err (no sentinel answered, the master is unknown, the server
 * named is not a master, AUTH failed, TLS verification failed, ...). */
struct wk_wire *wk_primary_open(const struct sg_redis_opts *o, SSL_CTX *tls, int timeout_ms,
                                char *err, size_t errlen);

#endif
