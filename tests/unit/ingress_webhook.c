/* Why: the webhook decisions are the ingress's contract (DESIGN.md section 2): check order, both
 * delivery formats, and the event-to-job table. The table is checked on every real payload in
 * tests/fixtures/webhooks against a second implementation written here on json-c's DOM, and the
 * job lines are read back with the worker's decoder (sg_job_decode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_config.h"
#include "ingress_server.h"
#include "ingress_webhook.h"
#include "sg_crypto.h"

#include "test_util.h"

#define SECRET "It's a Secret to Everybody"

/* The server's precomputed key for SECRET, made once in main(). */
static struct ingress_hmac *KEY;

static struct ingress_str S(const char *s) {
    struct ingress_str r = {s, s ? strlen(s) : 0};
    return r;
}

static void
sign(const char *body, size_t len, char out[80])
{
    char hex[SG_SHA256_HEX_LEN + 1];
    assert_int_equal(sg_hmac_sha256_hex(SECRET, strlen(SECRET), body, len, hex), SG_OK);
    snprintf(out, 80, "sha256=%s", hex);
}

/* Signs body[0..len) and runs the webhook checks on it as a JSON delivery. */
static void process_signed(struct ingress_webhook_result *r, const char *event,
                           const char *delivery, const char *body, size_t len, int64_t received_at)
{
    char sig[80];
    sign(body, len, sig);
    struct ingress_webhook_in in = {
        S(event), S(delivery), S(sig), S("application/json"), body, len, received_at, 0, KEY};
    ingress_webhook_process(&in, r);
}

static void test_github_vector(void **state)
{
    const char *want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    char got[80];
    sign("Hello, World!", 13, got);
    assert_string_equal(got, want);
    assert_true(sg_webhook_signature_valid(SECRET, strlen(SECRET), "Hello, World!", 13, want,
                                           strlen(want)));
    /* Through the whole check: a valid signature on a non-JSON body gets past 401 to 400. */
    struct ingress_webhook_result r;
    ingress_webhook_result_init(&r, 1 << 20);
    struct ingress_webhook_in in = {
        S("push"), S("d1"), S(want), S("application/json"), "Hello, World!", 13, 1, 0, KEY};
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 400);
    assert_false(r.signature_failed);
    /* One changed byte or a truncated header is 401. */
    in.body = "Hello, World?";
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 401);
    assert_true(r.signature_failed);
    in.body = "Hello, World!";
    in.signature = (struct ingress_str){want, strlen(want) - 1};
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 401);
    in.signature = S("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.signature, ""); /* nothing unverified is kept */
    /* The replay key is the verified digest in one case, whichever case the header used. */
    in.signature = S("sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17");
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.signature, want + 7);
    ingress_webhook_result_free(&r);
}

/* The precomputed-key HMAC (the ingress's only path) agrees with common's one-shot HMAC for short,
 * block sized and long secrets, accepts either hex case and refuses near misses. */
static void test_fast_hmac(void **state)
{
    const char *vec = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    struct ingress_hmac *h = ingress_hmac_new(SECRET, strlen(SECRET));
    assert_non_null(h);
    assert_true(ingress_hmac_verify(h, "Hello, World!", 13, vec, strlen(vec)));
    char upper[80];
    snprintf(upper, sizeof upper, "sha256=%s",
             "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17");
    assert_true(ingress_hmac_verify(h, "Hello, World!", 13, upper, strlen(upper)));
    assert_false(ingress_hmac_verify(h, "Hello, World?", 13, vec, strlen(vec)));
    assert_false(ingress_hmac_verify(h, "Hello, World!", 13, vec, strlen(vec) - 1));
    char bad[80];
    snprintf(bad, sizeof bad, "%s", vec);
    bad[20] = 'g';
    assert_false(ingress_hmac_verify(h, "Hello, World!", 13, bad, strlen(bad)));
    ingress_hmac_free(h);

    char secret[200], data[3000];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (char)(i * 7 + 1);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 13);
    size_t slens[] = {0, 1, 26, 63, 64, 65, 128, 200};
    for (size_t k = 0; k < sizeof slens / sizeof slens[0]; k++) {
        h = ingress_hmac_new(secret, slens[k]);
        assert_non_null(h);
        for (size_t len = 0; len < sizeof data; len += 377) {
            char hex[SG_SHA256_HEX_LEN + 1], hdr[80];
            assert_int_equal(sg_hmac_sha256_hex(secret, slens[k], data, len, hex), SG_OK);
            snprintf(hdr, sizeof hdr, "sha256=%s", hex);
            assert_true(ingress_hmac_verify(h, data, len, hdr, strlen(hdr)));
            assert_true(sg_webhook_signature_valid(secret, slens[k], data, len, hdr, strlen(hdr)));
            hdr[10] = hdr[10] == '0' ? '1' : '0';
            assert_false(ingress_hmac_verify(h, data, len, hdr, strlen(hdr)));
        }
        ingress_hmac_free(h);
    }
}

static void test_check_order(void **state)
{
    const char *body = "{\"zen\":\"x\"}";
    char sig[80];
    sign(body, strlen(body), sig);
    struct ingress_webhook_result r;
    ingress_webhook_result_init(&r, 1 << 20);
    struct {
        const char *event, *delivery, *sig, *ct, *body;
        int64_t blocked;
        int status;
    } cases[] = {
        {NULL, "d", "bad", "text/plain", "{", 0, 400}, /* headers before signature */
        {"ping", NULL, "bad", "text/plain", "{", 0, 400},
        {"ping", "d", "bad", "text/plain", "{", 5, 429}, /* blocked address, bad signature */
        {"ping", "d", NULL, "text/plain", "{", 5, 429},
        {"ping", "d", sig, "application/json", body, 5, 200}, /* blocked, signed: goes through */
        {"ping", "d", NULL, "text/plain", "{", 0, 401},       /* signature before type */
        {"ping", "d", "sha256=00", "text/plain", body, 0, 401},
        {"ping", "d", sig, "text/plain", body, 0, 415}, /* type before JSON */
        {"ping", "d", sig, NULL, body, 0, 415},
        {"ping", "d", sig, "application/json", body, 0, 200},
        {"ping", "d", sig, "Application/JSON ; charset=utf-8", body, 0, 200},
        {"ping", "d e", sig, "application/json", body, 0, 400}, /* delivery with a space */
        {"pi ng", "d", sig, "application/json", body, 0, 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ingress_webhook_in in = {S(cases[i].event),
                                        S(cases[i].delivery),
                                        S(cases[i].sig),
                                        S(cases[i].ct),
                                        cases[i].body,
                                        strlen(cases[i].body),
                                        1,
                                        cases[i].blocked,
                                        KEY};
        ingress_webhook_process(&in, &r);
        if (r.status != cases[i].status)
            fail_msg("case %zu: status %d, want %d", i, r.status, cases[i].status);
        if (r.status >= 400)
            assert_non_null(r.error);
    }
    /* A valid signature over invalid JSON: 400. */
    char sig2[80];
    sign("{\"a\":}", 6, sig2);
    struct ingress_webhook_in in = {
        S("ping"), S("d"), S(sig2), S("application/json"), "{\"a\":}", 6, 1, 0, KEY};
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 400);
    ingress_webhook_result_free(&r);
}

static void test_form(void **state)
{
    struct sg_buf out;
    sg_buf_init(&out, 1 << 20);
    assert_int_equal(ingress_form_payload("payload=%7B%22a%22%3A+1%7D", 26, &out), SG_OK);
    assert_string_equal(sg_buf_str(&out), "{\"a\": 1}");
    assert_int_equal(ingress_form_payload("x=1&pay%6Coad=%5B%5D&y", 22, &out), SG_OK);
    assert_string_equal(sg_buf_str(&out), "[]");
    assert_int_equal(ingress_form_payload("payload=%zz", 11, &out), SG_ERR_PARSE);
    assert_int_equal(ingress_form_payload("payload=%4", 10, &out), SG_ERR_PARSE);
    assert_int_equal(ingress_form_payload("other=1", 7, &out), SG_ERR_PARSE);
    assert_int_equal(ingress_form_payload("", 0, &out), SG_ERR_PARSE);
    sg_buf_free(&out);

    /* A form delivery is signed over the form body and routed like the JSON one. */
    const char *form = "payload=%7B%22zen%22%3A%22hi%22%7D";
    char sig[80];
    sign(form, strlen(form), sig);
    struct ingress_webhook_result r;
    ingress_webhook_result_init(&r, 1 << 20);
    struct ingress_webhook_in in = {
        S("ping"), S("d"), S(sig), S("application/x-www-form-urlencoded"), form, strlen(form),
        1,         0,      KEY};
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.answer, "pong");
    const char *badform = "payload=%7B";
    sign(badform, strlen(badform), sig);
    in.signature = S(sig);
    in.body = badform;
    in.body_len = strlen(badform);
    ingress_webhook_process(&in, &r);
    assert_int_equal(r.status, 400);
    ingress_webhook_result_free(&r);
}

/* ---- reference router on json-c, written from DESIGN.md's table independently ---- */

struct expect {
    bool job;
    enum sg_job_kind kind;
    const char *sha, *ref, *base_sha;
    char refbuf[600];
    int64_t pull, installation, repo_id;
    const char *repo;
    bool force;
};

static struct json_object *get(struct json_object *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && o; t = strtok_r(NULL, ".", &save)) {
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, t, &o))
            return NULL;
    }
    return o;
}

static const char *gstr(struct json_object *o, const char *p)
{
    struct json_object *v = get(o, p);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t gint(struct json_object *o, const char *p)
{
    struct json_object *v = get(o, p);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static int64_t first_pr(struct json_object *o, const char *p)
{
    struct json_object *a = get(o, p);
    if (!a || !json_object_is_type(a, json_type_array) || json_object_array_length(a) == 0)
        return 0;
    return gint(json_object_array_get_idx(a, 0), "number");
}

static bool is_zero(const char *s)
{
    return s && strspn(s, "0") == 40 && strlen(s) == 40;
}

static bool one_of(const char *s, const char *list)
{
    char buf[200];
    snprintf(buf, sizeof buf, ",%s,", list);
    char pat[80];
    snprintf(pat, sizeof pat, ",%s,", s ? s : "");
    return s && strstr(buf, pat);
}

static void reference_route(const char *event, struct json_object *o, struct expect *e)
{
    memset(e, 0, sizeof *e);
    const char *action = gstr(o, "action");
    e->installation = gint(o, "installation.id");
    e->repo_id = gint(o, "repository.id");
    e->repo = gstr(o, "repository.full_name");
    bool has_repo = get(o, "repository") && e->repo;
    if (!strcmp(event, "push")) {
        struct json_object *del = get(o, "deleted");
        const char *after = gstr(o, "after"), *ref = gstr(o, "ref");
        if ((del && json_object_get_boolean(del)) || !after || is_zero(after) || !ref ||
            !strncmp(ref, "refs/tags/", 10) || !e->installation || !has_repo)
            return;
        e->job = true;
        e->sha = after;
        e->ref = ref;
        const char *before = gstr(o, "before");
        e->base_sha = is_zero(before) ? NULL : before;
    } else if (!strcmp(event, "pull_request")) {
        if (!one_of(action, "opened,reopened,synchronize,ready_for_review") || !e->installation ||
            !has_repo)
            return;
        e->job = true;
        e->sha = gstr(o, "pull_request.head.sha");
        e->base_sha = gstr(o, "pull_request.base.sha");
        e->pull = gint(o, "number");
        snprintf(e->refbuf, sizeof e->refbuf, "refs/pull/%lld/head", (long long)e->pull);
        e->ref = e->refbuf;
    } else if (!strcmp(event, "check_suite") || !strcmp(event, "check_run")) {
        bool cs = !strcmp(event, "check_suite");
        if (!one_of(action, cs ? "requested,rerequested" : "rerequested") || !e->installation ||
            !has_repo)
            return;
        e->job = true;
        e->sha = gstr(o, cs ? "check_suite.head_sha" : "check_run.head_sha");
        const char *br =
            gstr(o, cs ? "check_suite.head_branch" : "check_run.check_suite.head_branch");
        if (br) {
            snprintf(e->refbuf, sizeof e->refbuf, "refs/heads/%s", br);
            e->ref = e->refbuf;
        }
        e->pull = first_pr(o, cs ? "check_suite.pull_requests" : "check_run.pull_requests");
        e->force = !cs || !strcmp(action, "rerequested");
    } else if ((!strcmp(event, "installation") &&
                one_of(action, "created,deleted,suspend,unsuspend,new_permissions_accepted")) ||
               (!strcmp(event, "installation_repositories") && one_of(action, "added,removed"))) {
        if (!e->installation)
            return;
        e->job = true;
        e->kind = SG_JOB_SYNC;
        e->repo = NULL;
        e->repo_id = 0;
    }
}

static void opt_str_equal(const char *got, const char *want, const char *what, const char *file)
{
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want)))
        fail_msg("%s: %s is \"%s\", want \"%s\"", file, what, got ? got : "null",
                 want ? want : "null");
}

static void test_route_fixtures(void **state)
{
    DIR *d = opendir(SG_FIXTURES_DIR "/webhooks");
    assert_non_null(d);
    struct dirent *de;
    struct ingress_webhook_result r;
    ingress_webhook_result_init(&r, 1 << 24);
    int jobs = 0, ignored = 0, pongs = 0;
    bool seen_kind[7] = {false};
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl < 6 || strcmp(de->d_name + nl - 5, ".json"))
            continue;
        char event[64];
        snprintf(event, sizeof event, "%.*s", (int)strcspn(de->d_name, "."), de->d_name);
        char path[512];
        snprintf(path, sizeof path, "%s/webhooks/%s", SG_FIXTURES_DIR, de->d_name);
        size_t len = 0;
        char *body = sg_test_read_file(path, &len);
        assert_non_null(body);
        process_signed(&r, event, "72d3162e-cc78-11e3-81ab-4c9367dc0958", body, len, 1764182400123);
        struct json_object *o = json_tokener_parse(body);
        assert_non_null(o);
        struct expect e;
        reference_route(event, o, &e);
        if (!strcmp(event, "ping")) {
            assert_int_equal(r.status, 200);
            assert_string_equal(r.answer, "pong");
            pongs++;
        } else if (!e.job) {
            if (r.status != 200 || strcmp(r.answer ? r.answer : "", "ignored"))
                fail_msg("%s: want ignored, got %d", de->d_name, r.status);
            ignored++;
        } else {
            if (r.status != 0 || r.route != INGRESS_ROUTE_JOB)
                fail_msg("%s: want a job, got %d %s", de->d_name, r.status,
                         r.error ? r.error : (r.answer ? r.answer : ""));
            struct sg_job job;
            char err[128];
            if (sg_job_decode(r.job.data, r.job.len, &job, err, sizeof err) != SG_OK)
                fail_msg("%s: job does not decode: %s", de->d_name, err);
            assert_int_equal(job.v, 1);
            assert_int_equal(job.kind, e.kind);
            assert_string_equal(job.delivery, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
            assert_string_equal(job.event, event);
            opt_str_equal(job.action, gstr(o, "action"), "action", de->d_name);
            assert_int_equal(job.installation, e.installation);
            assert_int_equal(job.repo_id, e.repo_id);
            opt_str_equal(job.repo_full_name, e.repo, "repo", de->d_name);
            opt_str_equal(job.sha, e.sha, "sha", de->d_name);
            opt_str_equal(job.ref, e.ref, "ref", de->d_name);
            opt_str_equal(job.base_sha, e.base_sha, "base_sha", de->d_name);
            assert_int_equal(job.pull, e.pull);
            assert_int_equal(job.force, e.force);
            assert_int_equal(job.received_at, 1764182400123);
            assert_int_equal(job.attempt, 0);
            for (int k = 0; k < 7; k++) {
                static const char *const ev[] = {
                    "push",      "pull_request", "check_suite",
                    "check_run", "installation", "installation_repositories",
                    "x"};
                if (!strcmp(ev[k], event))
                    seen_kind[k] = true;
            }
            sg_job_clear(&job);
            jobs++;
        }
        json_object_put(o);
        free(body);
    }
    closedir(d);
    ingress_webhook_result_free(&r);
    for (int k = 0; k < 6; k++)
        assert_true(seen_kind[k]); /* every routed event produced at least one job */
    assert_true(jobs >= 20);
    assert_true(ignored >= 30);
    assert_int_equal(pongs, 4);
}

/* Hand-checked values from DESIGN.md's example job and the fixtures. */
static void test_job_examples(void **state)
{
    size_t len = 0;
    char *body =
        sg_test_read_file(SG_FIXTURES_DIR "/webhooks/pull_request.synchronize.1.json", &len);
    assert_non_null(body);
    char sig[80];
    struct ingress_webhook_result r;
    ingress_webhook_result_init(&r, 1 << 24);
    process_signed(&r, "pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", body, len,
                   1764182400123);
    assert_int_equal(r.status, 0);
    assert_string_equal(
        sg_buf_str(&r.job),
        "{\"v\":1,\"kind\":\"analyze\",\"delivery\":\"72d3162e-cc78-11e3-81ab-4c9367dc0958\","
        "\"event\":\"pull_request\",\"action\":\"synchronize\",\"installation\":1,"
        "\"repo\":{\"id\":186853002,\"full_name\":\"Codertocat/Hello-World\"},"
        "\"sha\":\"ec26c3e57ca3a959ca5aad62de7213c562f8c821\",\"ref\":\"refs/pull/2/head\","
        "\"base_sha\":\"f95f852bd8fca8fcc58a9a2d6c842781e32a215e\",\"pull\":2,\"force\":false,"
        "\"received_at\":1764182400123,\"attempt\":0}");
    free(body);

    /* push: base_sha null when before is all zeros; deleted / tag pushes ignored */
    const char *push =
        "{\"ref\":\"refs/heads/main\",\"before\":\"0000000000000000000000000000000000000000\","
        "\"after\":\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\",\"deleted\":false,"
        "\"installation\":{\"id\":9},\"repository\":{\"id\":3,\"full_name\":\"a/b\"}}";
    sign(push, strlen(push), sig);
    struct ingress_webhook_in p = {
        S("push"), S("d"), S(sig), S("application/json"), push, strlen(push), 5, 0, KEY};
    ingress_webhook_process(&p, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(sg_buf_str(&r.job), "\"ref\":\"refs/heads/main\",\"base_sha\":null"));
    const char *tag =
        "{\"ref\":\"refs/tags/v1\",\"after\":\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\","
        "\"installation\":{\"id\":9},\"repository\":{\"id\":3,\"full_name\":\"a/b\"}}";
    sign(tag, strlen(tag), sig);
    p.signature = S(sig);
    p.body = tag;
    p.body_len = strlen(tag);
    ingress_webhook_process(&p, &r);
    assert_int_equal(r.status, 200);
    /* an extra field nested 100 deep is still valid JSON: routed, not refused */
    char deep[2048];
    int dn = snprintf(deep, sizeof deep, "{\"deep\":%.*s%.*s,%s", 100,
                      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                      "[[[[[[[[[[[[[[[[[[[[[[[[",
                      100,
                      "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                      "]]]]]]]]]]]]]]]]]]]]]]]]",
                      push + 1);
    assert_true(dn > 0 && (size_t)dn < sizeof deep);
    sign(deep, strlen(deep), sig);
    p.signature = S(sig);
    p.body = deep;
    p.body_len = strlen(deep);
    ingress_webhook_process(&p, &r);
    assert_int_equal(r.status, 0);
    /* check_suite without a branch: ref null */
    const char *cs = "{\"action\":\"requested\",\"check_suite\":{\"head_sha\":"
                     "\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\",\"head_branch\":null,"
                     "\"pull_requests\":[]},\"installation\":{\"id\":9},\"repository\":{\"id\":3,"
                     "\"full_name\":\"a/b\"}}";
    sign(cs, strlen(cs), sig);
    struct ingress_webhook_in c = {
        S("check_suite"), S("d"), S(sig), S("application/json"), cs, strlen(cs), 5, 0, KEY};
    ingress_webhook_process(&c, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(sg_buf_str(&r.job), "\"ref\":null,\"base_sha\":null,\"pull\":null,"
                                               "\"force\":false"));
    ingress_webhook_result_free(&r);
}

/* The payload json-c and the scanner could read differently is refused with a clear reason, and a
 * commit named in upper-case hex is the same commit as in lower case. */
static void test_ambiguous_payloads(void **state)
{
    struct ingress_webhook_result r;
    ingress_webhook_result_init(&r, 1 << 20);
    const struct {
        const char *event, *body, *error;
    } refused[] = {
        {"pull_request", "{\"action\":\"opened\\u0000junk\"}", "NUL"},
        {"push", "{\"repository\":{\"id\":1},\"repository\":{\"full_name\":\"a/b\"}}", "duplicate"},
        {"push", "{\"installation\":{\"id\":18446744073709551616}}", "out of range"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        process_signed(&r, refused[i].event, "d", refused[i].body, strlen(refused[i].body), 5);
        assert_int_equal(r.status, 400);
        if (!r.error || !strstr(r.error, refused[i].error))
            fail_msg("case %zu: error %s, want %s", i, r.error ? r.error : "(none)",
                     refused[i].error);
    }
    const struct {
        const char *event, *body, *want;
    } upper[] = {
        {"check_run",
         "{\"action\":\"rerequested\",\"check_run\":{\"head_sha\":"
         "\"6113728F27AE82C7B1A177C8D03F9E96E0ADF246\",\"check_suite\":{\"head_branch\":\"m\"},"
         "\"pull_requests\":[]},\"installation\":{\"id\":9},\"repository\":{\"id\":3,"
         "\"full_name\":\"a/b\"}}",
         "\"sha\":\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\""},
        {"push",
         "{\"ref\":\"refs/heads/main\",\"before\":\"ABCDEF0000000000000000000000000000000000\","
         "\"after\":\"6113728F27ae82c7b1a177c8d03f9e96e0adf246\",\"installation\":{\"id\":9},"
         "\"repository\":{\"id\":3,\"full_name\":\"a/b\"}}",
         "\"sha\":\"6113728f27ae82c7b1a177c8d03f9e96e0adf246\",\"ref\":\"refs/heads/main\","
         "\"base_sha\":\"abcdef0000000000000000000000000000000000\""},
    };
    for (size_t i = 0; i < sizeof upper / sizeof upper[0]; i++) {
        process_signed(&r, upper[i].event, "d", upper[i].body, strlen(upper[i].body), 5);
        assert_int_equal(r.status, 0);
        if (!strstr(sg_buf_str(&r.job), upper[i].want))
            fail_msg("case %zu: job %s lacks %s", i, sg_buf_str(&r.job), upper[i].want);
    }
    ingress_webhook_result_free(&r);
}

static void test_event_label(void **state)
{
    assert_string_equal(ingress_event_label(S("push")), "push");
    assert_string_equal(ingress_event_label(S("installation_repositories")),
                        "installation_repositories");
    assert_string_equal(ingress_event_label(S("random_event_123")), "other");
    assert_string_equal(ingress_event_label(S(NULL)), "none");
}

static void test_limiter(void **state)
{
    struct ingress_limiter *l = ingress_limiter_new(16, 3, 60);
    assert_non_null(l);
    for (int i = 0; i < 3; i++)
        ingress_limiter_fail(l, "10.0.0.1", 1000);
    assert_int_equal(ingress_limiter_blocked(l, "10.0.0.1", 1000), 0); /* at the limit: fine */
    ingress_limiter_fail(l, "10.0.0.1", 1010);
    assert_int_equal(ingress_limiter_blocked(l, "10.0.0.1", 1010), 50); /* over: until minute end */
    assert_int_equal(ingress_limiter_blocked(l, "10.0.0.2", 1010), 0);
    assert_int_equal(ingress_limiter_blocked(l, "10.0.0.1", 1060), 0); /* window over */
    /* many addresses never grow the table and never crash */
    char a[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(a, sizeof a, "192.0.2.%d", i);
        ingress_limiter_fail(l, a, 2000);
    }
    ingress_limiter_free(l);
}

static const char *env_none(const char *name)
{
    (void)name;
    return NULL;
}

static const char *env_bad_port(const char *name)
{
    if (!strcmp(name, "WEBHOOK_SECRET"))
        return "x";
    if (!strcmp(name, "PORT"))
        return "70000";
    return NULL;
}

static void test_config(void **state)
{
    struct ingress_config cfg;
    char err[256];
    assert_int_equal(ingress_config_load(&cfg, env_none, err, sizeof err), SG_ERR_CONFIG);
    assert_non_null(strstr(err, "WEBHOOK_SECRET"));
    ingress_config_free(&cfg);
    assert_int_equal(ingress_config_load(&cfg, env_bad_port, err, sizeof err), SG_ERR_CONFIG);
    assert_non_null(strstr(err, "PORT"));
    ingress_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_github_vector),
        cmocka_unit_test(test_fast_hmac),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_route_fixtures),
        cmocka_unit_test(test_job_examples),
        cmocka_unit_test(test_ambiguous_payloads),
        cmocka_unit_test(test_event_label),
        cmocka_unit_test(test_limiter),
        cmocka_unit_test(test_config),
    };
    KEY = ingress_hmac_new(SECRET, strlen(SECRET));
    if (!KEY)
        return 1;
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ingress_hmac_free(KEY);
    return failed;
}
