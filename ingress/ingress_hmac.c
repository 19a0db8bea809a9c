/* Why: HMAC-SHA256 with precomputed keyed states; see ingress_hmac.h. */
#include "ingress_hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"

#define BLOCK 64

struct ingress_hmac {
    EVP_MD *md;
    EVP_MD_CTX *inner; /* SHA-256 state after (key ^ ipad) */
    EVP_MD_CTX *outer; /* SHA-256 state after (key ^ opad) */
    EVP_MD_CTX *work;
};

void ingress_hmac_free(struct ingress_hmac *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->inner);
    EVP_MD_CTX_free(h->outer);
    EVP_MD_CTX_free(h->work);
    EVP_MD_free(h->md);
    free(h);
}

struct ingress_hmac *ingress_hmac_new(const char *secret, size_t secret_len)
{
    struct ingress_hmac *h = calloc(1, sizeof *h);
    unsigned char key[BLOCK] = {0}, pad[BLOCK];
    unsigned int n = 0;
    if (!h)
        return NULL;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->inner = EVP_MD_CTX_new();
    h->outer = EVP_MD_CTX_new();
    h->work = EVP_MD_CTX_new();
    if (!h->md || !h->inner || !h->outer || !h->work)
        goto fail;
    if (secret_len > BLOCK) {
        /* RFC 2104: a key longer than the block is hashed first */
        if (!EVP_DigestInit_ex(h->work, h->md, NULL) ||
            !EVP_DigestUpdate(h->work, secret, secret_len) || !EVP_DigestFinal_ex(h->work, key, &n))
            goto fail;
    } else if (secret_len) {
        memcpy(key, secret, secret_len);
    }
    for (int i = 0; i < BLOCK; i++)
        pad[i] = key[i] ^ 0x36;
    if (!EVP_DigestInit_ex(h->inner, h->md, NULL) || !EVP_DigestUpdate(h->inner, pad, BLOCK))
        goto fail;
    for (int i = 0; i < BLOCK; i++)
        pad[i] = key[i] ^ 0x5c;
    if (!EVP_DigestInit_ex(h->outer, h->md, NULL) || !EVP_DigestUpdate(h->outer, pad, BLOCK))
        goto fail;
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    return h;
fail:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    ingress_hmac_free(h);
    return NULL;
}

/* HMAC-SHA256(secret, data) into out, from copies of the keyed states. */
static bool hmac_sha256(struct ingress_hmac *h, const void *data, size_t len, unsigned char out[32])
{
    unsigned char inner[32];
    unsigned int n = 0;
    bool ok = EVP_MD_CTX_copy_ex(h->work, h->inner) && EVP_DigestUpdate(h->work, data, len) &&
              EVP_DigestFinal_ex(h->work, inner, &n) && n == 32 &&
              EVP_MD_CTX_copy_ex(h->work, h->outer) && EVP_DigestUpdate(h->work, inner, 32) &&
              EVP_DigestFinal_ex(h->work, out, &n) && n == 32;
    OPENSSL_cleanse(inner, sizeof inner);
    return ok;
}

bool ingress_hmac_verify(struct ingress_hmac *h, const void *body, size_t len, const char *header,
                         size_t header_len)
{
    unsigned char want[32], got[32];
    if (header_len != 7 + 64 || memcmp(header, "sha256=", 7) != 0)
        return false;
    int bad = 0;
    for (int i = 0; i < 32; i++) {
        int hi = sg_hex_value((unsigned char)header[7 + 2 * i]),
            lo = sg_hex_value((unsigned char)header[8 + 2 * i]);
        bad |= (hi | lo) < 0;
        want[i] = (unsigned char)((hi & 0xf) << 4 | (lo & 0xf));
    }
    if (!hmac_sha256(h, body, len, got))
        return false;
    return (CRYPTO_memcmp(want, got, 32) == 0) & !bad;
}
