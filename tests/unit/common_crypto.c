/* Why: a forged webhook must never be accepted and a GitHub App JWT must be what GitHub expects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sg_crypto.h"

/* GitHub's published test vector (docs: "Validating webhook deliveries"). */
static void test_github_vector(void **state)
{
    const char *secret = "It's a Secret to Everybody";
    const char *body = "Hello, World!";
    const char *hdr = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    char hex[65];
    assert_int_equal(sg_hmac_sha256_hex(secret, strlen(secret), body, strlen(body), hex), SG_OK);
    assert_string_equal(hex, hdr + 7);
    assert_true(
        sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body), hdr, strlen(hdr)));
    /* Upper-case hex is the same signature. */
    char upper[80];
    strcpy(upper, hdr);
    for (char *p = upper + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    assert_true(sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body), upper,
                                           strlen(upper)));
}

static void test_signature_rejects(void **state)
{
    const char *secret = "It's a Secret to Everybody";
    const char *body = "Hello, World!";
    const char *good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    char bad[80];
    strcpy(bad, good);
    bad[20] = bad[20] == '0' ? '1' : '0';
    assert_false(
        sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body), bad, strlen(bad)));
    assert_false(sg_webhook_signature_valid(secret, strlen(secret), "Hello, World?", 13, good,
                                            strlen(good)));
    assert_false(sg_webhook_signature_valid("other", 5, body, strlen(body), good, strlen(good)));
    assert_false(sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body), good + 7,
                                            strlen(good) - 7));
    assert_false(sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body),
                                            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d", 45));
    assert_false(sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body), "", 0));
    assert_false(sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body), NULL, 0));
    /* a trailing byte after a valid signature */
    char longer[90];
    snprintf(longer, sizeof longer, "%sa", good);
    assert_false(sg_webhook_signature_valid(secret, strlen(secret), body, strlen(body), longer,
                                            strlen(longer)));
}

static void test_base64url(void **state)
{
    struct sg_buf b, d;
    sg_buf_init(&b, 0);
    sg_buf_init(&d, 0);
    sg_base64url_encode("\xfb\xff", 2, &b);
    assert_string_equal(sg_buf_str(&b), "-_8");
    assert_true(sg_base64url_decode(b.data, b.len, &d));
    assert_int_equal(d.len, 2);
    assert_memory_equal(d.data, "\xfb\xff", 2);
    sg_buf_reset(&d);
    assert_false(sg_base64url_decode("a$b", 3, &d));
    sg_buf_free(&b);
    sg_buf_free(&d);
}

static char *make_pem(int pkcs1)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    assert_non_null(k);
    BIO *bio = BIO_new(BIO_s_mem());
    if (pkcs1)
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL),
                         1);
    else
        assert_int_equal(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *pem = strndup(data, (size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(k);
    return pem;
}

static void test_jwt_pkcs1_and_pkcs8(void **state)
{
    for (int pkcs1 = 0; pkcs1 <= 1; pkcs1++) {
        char *pem = make_pem(pkcs1);
        assert_non_null(strstr(pem, pkcs1 ? "BEGIN RSA PRIVATE KEY" : "BEGIN PRIVATE KEY"));
        char err[256];
        sg_pkey *key = sg_pkey_load_pem(pem, err, sizeof err);
        assert_non_null(key);
        struct sg_buf tok;
        sg_buf_init(&tok, 0);
        assert_int_equal(sg_jwt_app_token(key, "12345", 1700000000, &tok), SG_OK);
        char iss[32];
        assert_true(sg_jwt_verify(key, tok.data, 1700000000, iss, sizeof iss));
        assert_string_equal(iss, "12345");
        /* expired ten minutes later plus leeway */
        assert_false(sg_jwt_verify(key, tok.data, 1700000000 + 700, iss, sizeof iss));
        /* tampered signature */
        tok.data[tok.len - 5] = tok.data[tok.len - 5] == 'A' ? 'B' : 'A';
        assert_false(sg_jwt_verify(key, tok.data, 1700000000, iss, sizeof iss));
        sg_buf_free(&tok);
        sg_pkey_free(key);
        free(pem);
    }
}

static void test_pem_with_literal_newlines(void **state)
{
    char *pem = make_pem(1);
    size_t n = strlen(pem);
    char *flat = malloc(2 * n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (pem[i] == '\n') {
            flat[j++] = '\\';
            flat[j++] = 'n';
        } else {
            flat[j++] = pem[i];
        }
    }
    flat[j] = '\0';
    char err[256];
    sg_pkey *key = sg_pkey_load_pem(flat, err, sizeof err);
    assert_non_null(key);
    sg_pkey_free(key);
    assert_null(sg_pkey_load_pem("not a key", err, sizeof err));
    assert_non_null(strstr(err, "PKCS#1 or PKCS#8"));
    free(flat);
    free(pem);
}

/* Probot's key loader accepts these forms too, so an existing Probot .env works. */
static void test_pem_probot_forms(void **state)
{
    char *pem = make_pem(1);
    size_t n = strlen(pem);
    char err[256];
    char *variant = malloc(4 * n + 16);
    /* newlines removed, and newlines turned into spaces */
    for (int sep = 0; sep < 2; sep++) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            if (pem[i] == '\n') {
                if (sep)
                    variant[j++] = ' ';
            } else {
                variant[j++] = pem[i];
            }
        }
        variant[j] = '\0';
        sg_pkey *key = sg_pkey_load_pem(variant, err, sizeof err);
        assert_non_null(key);
        sg_pkey_free(key);
    }
    /* CRLF line ends */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (pem[i] == '\n')
            variant[j++] = '\r';
        variant[j++] = pem[i];
    }
    variant[j] = '\0';
    sg_pkey *key = sg_pkey_load_pem(variant, err, sizeof err);
    assert_non_null(key);
    sg_pkey_free(key);
    /* the whole PEM base64-encoded (standard alphabet, padded), as `base64 -w0 key.pem` */
    EVP_EncodeBlock((unsigned char *)variant, (const unsigned char *)pem, (int)n);
    key = sg_pkey_load_pem(variant, err, sizeof err);
    assert_non_null(key);
    sg_pkey_free(key);
    /* base64 of something that is not a PEM */
    assert_null(sg_pkey_load_pem("aGVsbG8gd29ybGQ=", err, sizeof err));
    assert_non_null(strstr(err, "no PEM block"));
    /* a PEM block whose body is garbage */
    assert_null(sg_pkey_load_pem(
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", err, sizeof err));
    free(variant);
    free(pem);
}

static void test_random_hex(void **state)
{
    char a[33], b[33];
    assert_int_equal(sg_random_hex(a, 16), SG_OK);
    assert_int_equal(sg_random_hex(b, 16), SG_OK);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_github_vector),
        cmocka_unit_test(test_signature_rejects),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_jwt_pkcs1_and_pkcs8),
        cmocka_unit_test(test_pem_with_literal_newlines),
        cmocka_unit_test(test_pem_probot_forms),
        cmocka_unit_test(test_random_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
