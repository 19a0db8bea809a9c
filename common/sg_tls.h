/* Why: TLS to Redis is set up the same way in both binaries (DESIGN.md section 11): one client
 * SSL_CTX built from the REDIS_TLS_* settings (system roots or REDIS_TLS_CA_FILE, verification on
 * unless REDIS_TLS_INSECURE), and per connection an SSL object carrying the SNI and the name the
 * certificate must match. The I/O itself stays in each binary (blocking in the worker,
 * bufferevent_openssl in the ingress); this file holds only the policy and the error text.
 *
 * Ownership: sg_tls_ctx_new() returns an SSL_CTX freed with SSL_CTX_free(); sg_tls_ssl_new()
 * returns an SSL freed with SSL_free() (or owned by whatever it is handed to). */
#ifndef SG_TLS_H
#define SG_TLS_H

#include <stddef.h>

#include "sg_redis_opts.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

/* NULL with a reason in err (a CA file OpenSSL cannot load, no memory). */
SSL_CTX *sg_tls_ctx_new(const struct sg_redis_opts *o, char *err, size_t errlen);

/* A client SSL for a connection to host (the name checked is REDIS_TLS_SERVER_NAME when set,
 * else host; an IP address is checked as an IP). NULL with a reason in err. */
SSL *sg_tls_ssl_new(SSL_CTX *ctx, const struct sg_redis_opts *o, const char *host, char *err,
                    size_t errlen);

/* After a failed handshake: one line saying why, naming the verification failure when there is
 * one ("certificate verify failed: self-signed certificate in certificate chain", "certificate
 * verify failed: hostname mismatch"), else OpenSSL's first queued error. Clears the queue. */
void sg_tls_handshake_error(SSL *ssl, char *err, size_t errlen);

#endif
