/* Why: the two signatures the product depends on, in one place: GitHub's webhook signature
 * (HMAC-SHA256, compared in constant time) and the GitHub App's RS256 JWT.
 *
 * Ownership: sg_pkey_* returns an EVP_PKEY the caller frees with sg_pkey_free(). */
#ifndef SG_CRYPTO_H
#define SG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_buf.h"
#include "sg_err.h"

#define SG_SHA256_HEX_LEN 64

/* hex (64 chars + NUL) of HMAC-SHA256(key, data). */
enum sg_err sg_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                               char out[SG_SHA256_HEX_LEN + 1]);

/* True when header is "sha256=" + the lowercase/uppercase hex HMAC of body under secret.
 * Constant time in the contents of the header once its length is right. */
bool sg_webhook_signature_valid(const char *secret, size_t secretlen, const void *body,
                                size_t bodylen, const char *header, size_t headerlen);

/* Constant-time equality of two equal-length byte strings. */
bool sg_ct_equal(const void *a, const void *b, size_t len);

/* base64url without padding (RFC 7515). */
enum sg_err sg_base64url_encode(const void *data, size_t len, struct sg_buf *out);
/* Decodes base64url (padding optional); false on a bad character. */
bool sg_base64url_decode(const char *s, size_t len, struct sg_buf *out);

struct evp_pkey_st;
typedef struct evp_pkey_st sg_pkey;

/* Loads an RSA private key from PEM text: PKCS#1 ("BEGIN RSA PRIVATE KEY", GitHub's download
 * format) or PKCS#8 ("BEGIN PRIVATE KEY"). NULL with a reason in err. Literal "\n" sequences
 * (a key pasted into one env line) are accepted. */
sg_pkey *sg_pkey_load_pem(const char *pem, char *err, size_t errlen);
void sg_pkey_free(sg_pkey *key);

/* GitHub App JWT: header {"alg":"RS256","typ":"JWT"}, claims iat = now-60, exp = now+540,
 * iss = app_id (as a string). Appends the token to out. */
enum sg_err sg_jwt_app_token(sg_pkey *key, const char *app_id, int64_t now_s, struct sg_buf *out);

/* Verifies an RS256 JWT against the public half of key (for the GitHub simulator and tests);
 * on success copies the iss claim into iss (if non-NULL) and returns true. Checks iat/exp against
 * now_s with 60 s leeway and exp - iat <= 600 + 60. */
bool sg_jwt_verify(sg_pkey *key, const char *token, int64_t now_s, char *iss, size_t isslen);

/* Random hex id (2*nbytes chars + NUL) from the OS CSPRNG. */
enum sg_err sg_random_hex(char *out, size_t nbytes);

#endif
