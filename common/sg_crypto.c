/* Why: webhook signatures and App JWTs with OpenSSL; see sg_crypto.h. */
#include "sg_crypto.h"

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

enum sg_err sg_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                               char out[SG_SHA256_HEX_LEN + 1])
{
    unsigned char mac[32];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen) || maclen != 32)
        return SG_ERR_CRYPTO;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hexdig[mac[i] >> 4];
        out[2 * i + 1] = hexdig[mac[i] & 15];
    }
    out[64] = '\0';
    return SG_OK;
}

bool sg_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

bool sg_webhook_signature_valid(const char *secret, size_t secretlen, const void *body,
                                size_t bodylen, const char *header, size_t headerlen)
{
    static const char prefix[] = "sha256=";
    if (!header || headerlen != sizeof prefix - 1 + SG_SHA256_HEX_LEN ||
        memcmp(header, prefix, sizeof prefix - 1) != 0)
        return false;
    char expect[SG_SHA256_HEX_LEN + 1];
    if (sg_hmac_sha256_hex(secret, secretlen, body, bodylen, expect) != SG_OK)
        return false;
    /* Fold hex letters to lower case without branching on the secret-dependent value. */
    char got[SG_SHA256_HEX_LEN];
    for (size_t i = 0; i < SG_SHA256_HEX_LEN; i++) {
        unsigned char c = (unsigned char)header[sizeof prefix - 1 + i];
        unsigned char is_upper = (unsigned char)(((unsigned)(c - 'A') <= 5u) ? 0x20 : 0);
        got[i] = (char)(c | is_upper);
    }
    return sg_ct_equal(got, expect, SG_SHA256_HEX_LEN);
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

enum sg_err sg_base64url_encode(const void *data, size_t len, struct sg_buf *out)
{
    const unsigned char *p = data;
    enum sg_err e = sg_buf_reserve(out, (len + 2) / 3 * 4);
    if (e)
        return e;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63],
                     b64url[v & 63]};
        sg_buf_append(out, q, 4);
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        char q[2] = {b64url[v >> 18], b64url[(v >> 12) & 63]};
        sg_buf_append(out, q, 2);
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        char q[3] = {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63]};
        sg_buf_append(out, q, 3);
    }
    return SG_OK;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

bool sg_base64url_decode(const char *s, size_t len, struct sg_buf *out)
{
    while (len && s[len - 1] == '=')
        len--;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (sg_buf_putc(out, (char)((acc >> bits) & 0xFF)))
                return false;
        }
    }
    return len % 4 != 1;
}

/* Copies s without ASCII white space. */
static enum sg_err strip_space(const char *s, size_t len, struct sg_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == '\\' && i + 1 < len && s[i + 1] == 'n') { /* a literal "\n" */
            i++;
            continue;
        }
        enum sg_err e = sg_buf_putc(out, c);
        if (e)
            return e;
    }
    return SG_OK;
}

/* Rewrites a private key as it may arrive in an environment variable into canonical PEM, as
 * Probot's key loader accepts it: PEM with real newlines, with literal "\n" escapes, with its
 * newlines removed or turned into spaces, or the whole PEM base64-encoded once more. Returns
 * false when no PEM block can be found. */
static bool pem_normalize(const char *in, struct sg_buf *out)
{
    struct sg_buf decoded, body;
    sg_buf_init(&decoded, 1 << 20);
    sg_buf_init(&body, 1 << 20);
    bool ok = false;
    if (!strstr(in, "-----BEGIN ")) {
        struct sg_buf compact;
        sg_buf_init(&compact, 1 << 20);
        bool b64 = strip_space(in, strlen(in), &compact) == SG_OK && compact.len > 0 &&
                   sg_base64url_decode(compact.data, compact.len, &decoded) && decoded.data;
        sg_buf_free(&compact);
        if (!b64 || !strstr(decoded.data, "-----BEGIN "))
            goto out;
        in = decoded.data;
    }
    const char *begin = strstr(in, "-----BEGIN ");
    const char *begin_end = strstr(begin + 11, "-----");
    const char *end = begin_end ? strstr(begin_end + 5, "-----END ") : NULL;
    const char *end_end = end ? strstr(end + 9, "-----") : NULL;
    if (!begin_end || !end || !end_end)
        goto out;
    const char *b = begin_end + 5;
    if (memchr(b, ':', (size_t)(end - b))) {
        /* RFC 1421 headers (an encrypted key): leave the text as it is. */
        ok = sg_buf_append(out, begin, (size_t)(end_end + 5 - begin)) == SG_OK &&
             sg_buf_putc(out, '\n') == SG_OK;
        goto out;
    }
    if (strip_space(b, (size_t)(end - b), &body) || !body.data)
        goto out;
    if (sg_buf_append(out, begin, (size_t)(begin_end + 5 - begin)) || sg_buf_putc(out, '\n'))
        goto out;
    for (size_t i = 0; i < body.len; i += 64) {
        size_t n = body.len - i < 64 ? body.len - i : 64;
        if (sg_buf_append(out, body.data + i, n) || sg_buf_putc(out, '\n'))
            goto out;
    }
    ok = sg_buf_append(out, end, (size_t)(end_end + 5 - end)) == SG_OK &&
         sg_buf_putc(out, '\n') == SG_OK;
out:
    sg_buf_free(&decoded);
    sg_buf_free(&body);
    return ok;
}

sg_pkey *sg_pkey_load_pem(const char *pem, char *err, size_t errlen)
{
    struct sg_buf canon;
    sg_buf_init(&canon, 1 << 20);
    if (!pem_normalize(pem, &canon)) {
        sg_buf_free(&canon);
        snprintf(err, errlen,
                 "not a PEM RSA private key (PKCS#1 or PKCS#8): no PEM block found "
                 "(nor a base64-encoded one)");
        return NULL;
    }
    char *copy = sg_buf_detach(&canon);
    pem = copy;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free(copy);
    if (!key) {
        unsigned long e = ERR_get_error();
        char ebuf[160];
        ERR_error_string_n(e, ebuf, sizeof ebuf);
        snprintf(err, errlen, "not a PEM RSA private key (PKCS#1 or PKCS#8): %s", ebuf);
        ERR_clear_error();
        return NULL;
    }
    if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        snprintf(err, errlen, "the private key is not an RSA key");
        return NULL;
    }
    return key;
}

void sg_pkey_free(sg_pkey *key)
{
    EVP_PKEY_free(key);
}

enum sg_err sg_jwt_app_token(sg_pkey *key, const char *app_id, int64_t now_s, struct sg_buf *out)
{
    enum sg_err rc = SG_ERR_CRYPTO;
    struct sg_buf claims, signing;
    sg_buf_init(&claims, 4096);
    sg_buf_init(&signing, 8192);
    EVP_MD_CTX *md = NULL;
    unsigned char *sig = NULL;

    sg_buf_puts(&claims, "{\"iat\":");
    sg_buf_put_i64(&claims, now_s - 60);
    sg_buf_puts(&claims, ",\"exp\":");
    sg_buf_put_i64(&claims, now_s + 540);
    sg_buf_puts(&claims, ",\"iss\":");
    if (sg_buf_put_json_str(&claims, app_id, strlen(app_id)) || sg_buf_putc(&claims, '}')) {
        rc = SG_ERR_TOO_LARGE;
        goto out;
    }
    static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    sg_base64url_encode(header, sizeof header - 1, &signing);
    sg_buf_putc(&signing, '.');
    sg_base64url_encode(claims.data, claims.len, &signing);

    md = EVP_MD_CTX_new();
    size_t siglen = 0;
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)signing.data, signing.len) != 1)
        goto out;
    sig = malloc(siglen);
    if (!sig ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)signing.data, signing.len) != 1)
        goto out;
    if (sg_buf_append(out, signing.data, signing.len) || sg_buf_putc(out, '.') ||
        sg_base64url_encode(sig, siglen, out))
        goto out;
    rc = SG_OK;
out:
    if (rc == SG_ERR_CRYPTO)
        ERR_clear_error();
    free(sig);
    EVP_MD_CTX_free(md);
    sg_buf_free(&claims);
    sg_buf_free(&signing);
    return rc;
}

bool sg_jwt_verify(sg_pkey *key, const char *token, int64_t now_s, char *iss, size_t isslen)
{
    bool ok = false;
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
        return false;
    struct sg_buf hdr, claims, sig;
    sg_buf_init(&hdr, 1024);
    sg_buf_init(&claims, 4096);
    sg_buf_init(&sig, 2048);
    EVP_MD_CTX *md = NULL;
    struct json_object *h = NULL, *c = NULL, *v;

    if (!sg_base64url_decode(token, (size_t)(dot1 - token), &hdr) ||
        !sg_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &claims) ||
        !sg_base64url_decode(dot2 + 1, strlen(dot2 + 1), &sig) || !hdr.data || !claims.data ||
        !sig.data)
        goto out;
    h = json_tokener_parse(hdr.data);
    if (!h || !json_object_object_get_ex(h, "alg", &v) ||
        strcmp(json_object_get_string(v), "RS256") != 0)
        goto out;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestVerify(md, (const unsigned char *)sig.data, sig.len, (const unsigned char *)token,
                         (size_t)(dot2 - token)) != 1)
        goto out;
    c = json_tokener_parse(claims.data);
    if (!c)
        goto out;
    int64_t iat, exp;
    if (!json_object_object_get_ex(c, "iat", &v) || !json_object_is_type(v, json_type_int))
        goto out;
    iat = json_object_get_int64(v);
    if (!json_object_object_get_ex(c, "exp", &v) || !json_object_is_type(v, json_type_int))
        goto out;
    exp = json_object_get_int64(v);
    if (iat > now_s + 60 || exp < now_s - 60 || exp - iat > 660)
        goto out;
    if (!json_object_object_get_ex(c, "iss", &v))
        goto out;
    if (iss)
        snprintf(iss, isslen, "%s", json_object_get_string(v));
    ok = true;
out:
    ERR_clear_error();
    json_object_put(h);
    json_object_put(c);
    EVP_MD_CTX_free(md);
    sg_buf_free(&hdr);
    sg_buf_free(&claims);
    sg_buf_free(&sig);
    return ok;
}

enum sg_err sg_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw || RAND_bytes(raw, (int)nbytes) != 1)
        return SG_ERR_CRYPTO;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hexdig[raw[i] >> 4];
        out[2 * i + 1] = hexdig[raw[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return SG_OK;
}
