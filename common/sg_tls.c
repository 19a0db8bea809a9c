/* Why: see sg_tls.h. Verification is on by default; turning it off is one explicit setting. */
#include "sg_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static void openssl_error(const char *what, char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    char buf[200] = "unknown error";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, buf);
}

SSL_CTX *sg_tls_ctx_new(const struct sg_redis_opts *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        openssl_error("TLS setup", err, errlen);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Writes are retried with the same buffer only by the worker; a moving buffer is allowed so
     * the ingress's evbuffer can hand whatever it has. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (o->tls_insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = o->tls_ca_file ? SSL_CTX_load_verify_locations(ctx, o->tls_ca_file, NULL)
                            : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        openssl_error(o->tls_ca_file ? "REDIS_TLS_CA_FILE" : "system CA roots", err, errlen);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL *sg_tls_ssl_new(SSL_CTX *ctx, const struct sg_redis_opts *o, const char *host, char *err,
                    size_t errlen)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl) {
        openssl_error("TLS setup", err, errlen);
        return NULL;
    }
    const char *name = o->tls_server_name ? o->tls_server_name : host;
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    /* SNI carries names only (RFC 6066). */
    if (!is_ip && SSL_set_tlsext_host_name(ssl, name) != 1) {
        openssl_error("TLS server name", err, errlen);
        SSL_free(ssl);
        return NULL;
    }
    if (!o->tls_insecure) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                       : X509_VERIFY_PARAM_set1_host(param, name, 0);
        if (ok != 1) {
            openssl_error("TLS server name", err, errlen);
            SSL_free(ssl);
            return NULL;
        }
    }
    return ssl;
}

void sg_tls_handshake_error(SSL *ssl, char *err, size_t errlen)
{
    long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (v != X509_V_OK) {
        ERR_clear_error();
        snprintf(err, errlen, "TLS: certificate verify failed: %s",
                 X509_verify_cert_error_string(v));
        return;
    }
    openssl_error("TLS handshake", err, errlen);
}
