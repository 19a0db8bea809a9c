/* Why: everything the ingress parses comes from the network, so the whole request path is fuzzed:
 * bytes -> HTTP head -> Content-Length/chunked body -> signature -> form decoding -> JSON scan ->
 * routing -> job encoding, with the job read back by the worker's decoder. Half of the inputs get
 * a correct signature computed here, or nothing past the HMAC would ever be reached. The JSON
 * scanner is also checked differentially against json-c (strict mode, UTF-8 validation) as an
 * oracle: both must agree on valid/invalid for every input, and where both accept, on the value
 * of every routed field (ingress_json_oracle.h).
 *
 * First input byte: bit 0 = JSON differential mode, bit 1 = sign the body, bit 2 = client over
 * its failed-signature limit. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_http.h"
#include "ingress_json.h"
#include "ingress_json_oracle.h"
#include "ingress_webhook.h"
#include "sg_crypto.h"
#include "sg_job.h"

#define SECRET "fuzz secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* json-c, even with JSON_TOKENER_STRICT, accepts a few things RFC 8259 forbids: numbers such as
 * "1.", "00", "-.5", NaN and Infinity, raw control characters inside strings, and UTF-8 encoded
 * surrogates. When we reject an input json-c accepts, the byte where we stopped must be one of
 * those; any other disagreement is a bug in one of the two. */
static bool jsonc_known_leniency(const char *data, size_t len, size_t off)
{
    if (off > len)
        return false;
    unsigned char prev = off ? (unsigned char)data[off - 1] : 0;
    if (off == len) /* input ended inside a number json-c completes ("1.", "1e") */
        return (prev >= '0' && prev <= '9') || prev == '.' || prev == '-' || prev == '+' ||
               prev == 'e' || prev == 'E';
    unsigned char c = (unsigned char)data[off];
    if (c < 0x20)
        return true; /* raw control character in a string, or \f/\v as white space */
    if (strchr("NnIi", c))
        return true; /* NaN, Infinity */
    if ((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')
        return true; /* number forms such as 00, 1., -.5, 1e */
    if ((prev >= '0' && prev <= '9') || prev == '.' || prev == '-' || prev == '+' || prev == 'e' ||
        prev == 'E')
        return true; /* a number json-c ends differently ("1." then a delimiter) */
    if (c >= 0xC0 && c <= 0xF7) {
        /* json-c checks UTF-8 structure only: overlong forms (C0/C1, E0 80.., F0 80..), UTF-8
         * encoded surrogates (ED A0..) and code points above U+10FFFF pass its check. */
        size_t need = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
        if (len - off <= need)
            return false;
        for (size_t k = 1; k <= need; k++)
            if (((unsigned char)data[off + k] & 0xC0) != 0x80)
                return false;
        return true;
    }
    return false;
}

static void json_differential(const char *data, size_t len)
{
    struct ingress_json_fields *f = malloc(sizeof *f);
    if (!f)
        return;
    size_t off = 0;
    enum ingress_json_result r = ingress_json_scan(data, len, f, &off);
    struct json_object *root = NULL;
    bool ours = r == INGRESS_JSON_OK, theirs = false;
    /* Our documented nesting limit; json-c stops at NUL bytes. A payload refused as one two
     * readers could read differently (NUL, DUPLICATE, RANGE) is valid JSON the scanner stopped
     * reading: no verdict to compare. */
    if (r == INGRESS_JSON_DEPTH || r == INGRESS_JSON_NUL || r == INGRESS_JSON_DUPLICATE ||
        r == INGRESS_JSON_RANGE || memchr(data, '\0', len))
        goto out;
    root = oracle_parse(data, len, &theirs);
    if (ours && theirs) {
        /* Both read it: every routed field must mean the same to both. */
        char why[512];
        if (oracle_disagrees(f, root, why, sizeof why)) {
            fprintf(stderr, "routed fields differ from json-c's reading: %s\n", why);
            if (!getenv("INGRESS_FUZZ_REPORT_ONLY"))
                abort();
        }
        goto out;
    }
    if (ours == theirs || (!ours && jsonc_known_leniency(data, len, off)))
        goto out;
    fprintf(stderr, "JSON verdicts differ: ours=%s (offset %zu) json-c=%s on %zu bytes\n",
            ours ? "valid" : "invalid", off, theirs ? "valid" : "invalid", len);
    for (size_t i = off > 8 ? off - 8 : 0; i < len && i < off + 8; i++)
        fprintf(stderr, "%s%02x", i == off ? " [" : " ", (unsigned char)data[i]);
    fprintf(stderr, "\n");
    if (!getenv("INGRESS_FUZZ_REPORT_ONLY"))
        abort();
out:
    json_object_put(root);
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    if (mode & 1) {
        json_differential(in, len);
        return 0;
    }
    size_t end = ingress_http_head_end(in, len);
    if (!end)
        return 0;
    struct ingress_http_req req;
    const char *reason = NULL;
    if (ingress_http_parse_head(in, end, &req, &reason) != INGRESS_HTTP_OK)
        return 0;
    const char *body = in + end;
    size_t body_len = len - end;
    struct sg_buf chunked;
    sg_buf_init(&chunked, 1 << 20);
    if (req.chunked) {
        struct ingress_chunked c;
        size_t used = 0;
        ingress_chunked_init(&c);
        if (ingress_chunked_feed(&c, body, body_len, &used, &chunked) != INGRESS_CHUNKED_DONE)
            goto out;
        body = chunked.data ? chunked.data : "";
        body_len = chunked.len;
    } else if (req.has_length && req.content_length < body_len) {
        body_len = (size_t)req.content_length;
    }
    char sigbuf[80];
    struct ingress_str sig = req.signature;
    if (mode & 2) {
        char hex[SG_SHA256_HEX_LEN + 1];
        if (sg_hmac_sha256_hex(SECRET, strlen(SECRET), body, body_len, hex) != SG_OK)
            goto out;
        snprintf(sigbuf, sizeof sigbuf, "sha256=%s", hex);
        sig.p = sigbuf;
        sig.len = strlen(sigbuf);
    }
    /* The server's precomputed-key HMAC must agree with common's one-shot HMAC on every header. */
    static struct ingress_hmac *fast;
    if (!fast)
        fast = ingress_hmac_new(SECRET, strlen(SECRET));
    if (!fast)
        goto out;
    if (sig.p &&
        ingress_hmac_verify(fast, body, body_len, sig.p, sig.len) !=
            sg_webhook_signature_valid(SECRET, strlen(SECRET), body, body_len, sig.p, sig.len)) {
        fprintf(stderr, "HMAC implementations disagree\n");
        abort();
    }
    struct ingress_webhook_result *r = malloc(sizeof *r);
    if (!r)
        goto out;
    ingress_webhook_result_init(r, 1 << 20);
    struct ingress_webhook_in win = {req.event, req.delivery, sig,           req.content_type,
                                     body,      body_len,     1764182400123, (mode & 4) ? 5 : 0,
                                     fast};
    ingress_webhook_process(&win, r);
    if (r->status == 0) {
        /* A job line must always be something the worker can read back. */
        struct sg_job job;
        char err[128];
        if (sg_job_decode(r->job.data, r->job.len, &job, err, sizeof err) != SG_OK) {
            fprintf(stderr, "job does not decode (%s): %s\n", err, r->job.data);
            abort();
        }
        sg_job_clear(&job);
    } else if (r->status >= 400 && !r->error) {
        abort(); /* every error carries a reason */
    }
    ingress_webhook_result_free(r);
    free(r);
out:
    sg_buf_free(&chunked);
    return 0;
}
