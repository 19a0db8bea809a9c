/* Why: the Redis deployment settings (rediss://, Sentinel, WAIT) are validated once at start for
 * both binaries; every bad value must stop the process with a line naming the variable, and the
 * replies that decide which server is the primary must be read strictly. */
#include <hiredis/hiredis.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sg_redis_opts.h"
#include "sg_redis_reader.h"

static const char *const *fake_env;

static const char *env(const char *name)
{
    for (const char *const *p = fake_env; p && *p; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static enum sg_err load(struct sg_redis_opts *o, const char *url, const char *const *vars,
                        char *err, size_t errlen)
{
    fake_env = vars;
    return sg_redis_opts_load(o, url, env, err, errlen);
}

static void test_defaults(void **state)
{
    struct sg_redis_opts o;
    char err[256];
    assert_int_equal(load(&o, NULL, NULL, err, sizeof err), SG_OK);
    assert_false(o.url.tls);
    assert_int_equal(o.n_sentinels, 0);
    assert_string_equal(o.sentinel_master, "mymaster");
    assert_int_equal(o.min_replicas_ack, 0);
    assert_int_equal(o.wait_timeout_ms, 200);
    sg_redis_opts_free(&o);
}

static void test_tls_url_and_acl_user(void **state)
{
    struct sg_redis_opts o;
    char err[256];
    const char *const vars[] = {"REDIS_TLS_SERVER_NAME", "redis.internal", NULL};
    assert_int_equal(load(&o, "rediss://app:s%3Acret@10.0.0.5:6380/1", vars, err, sizeof err),
                     SG_OK);
    assert_true(o.url.tls);
    assert_string_equal(o.url.username, "app");
    assert_string_equal(o.url.password, "s:cret");
    assert_string_equal(o.url.host, "10.0.0.5");
    assert_int_equal(o.url.port, 6380);
    assert_int_equal(o.url.db, 1);
    assert_string_equal(o.tls_server_name, "redis.internal");
    sg_redis_opts_free(&o);
}

static void test_sentinels(void **state)
{
    struct sg_redis_opts o;
    char err[256];
    const char *const vars[] = {"REDIS_SENTINELS",
                                "s1:26379, s2:26380,[::1]:26381",
                                "REDIS_SENTINEL_MASTER",
                                "queue",
                                "REDIS_MIN_REPLICAS_ACK",
                                "1",
                                NULL};
    assert_int_equal(load(&o, "redis://:pw@ignored/0", vars, err, sizeof err), SG_OK);
    assert_int_equal(o.n_sentinels, 3);
    assert_string_equal(o.sentinels[0].host, "s1");
    assert_int_equal(o.sentinels[0].port, 26379);
    assert_string_equal(o.sentinels[1].host, "s2");
    assert_string_equal(o.sentinels[2].host, "::1");
    assert_int_equal(o.sentinels[2].port, 26381);
    assert_string_equal(o.sentinel_master, "queue");
    assert_int_equal(o.min_replicas_ack, 1);
    sg_redis_opts_free(&o);
}

/* Each bad setting is refused with its variable's name first. */
static void test_refusals(void **state)
{
    static const struct {
        const char *url;
        const char *vars[5];
        const char *prefix;
    } cases[] = {
        {"redis://h", {"REDIS_TLS_CA_FILE", "/etc/hostname"}, "REDIS_TLS_CA_FILE: set, but"},
        {"redis://h", {"REDIS_TLS_INSECURE", "1"}, "REDIS_TLS_INSECURE: set, but"},
        {"rediss://h", {"REDIS_TLS_INSECURE", "maybe"}, "REDIS_TLS_INSECURE: expected"},
        {"rediss://h", {"REDIS_TLS_CA_FILE", "/nonexistent/ca.pem"}, "REDIS_TLS_CA_FILE: cannot"},
        {"redis://h", {"REDIS_SENTINELS", "s1"}, "REDIS_SENTINELS: expected host:port"},
        {"redis://h", {"REDIS_SENTINELS", "s1:0"}, "REDIS_SENTINELS: expected host:port"},
        {"redis://h", {"REDIS_SENTINELS", "s1:1,"}, "REDIS_SENTINELS: expected host:port"},
        {"unix:///r.sock", {"REDIS_SENTINELS", "s1:1"}, "REDIS_SENTINELS: cannot be used"},
        {"redis://h", {"REDIS_SENTINEL_PASSWORD", "x"}, "REDIS_SENTINEL_PASSWORD: set, but"},
        {"redis://h", {"REDIS_MIN_REPLICAS_ACK", "-1"}, "REDIS_MIN_REPLICAS_ACK: expected"},
        {"redis://h", {"REDIS_WAIT_TIMEOUT_MS", "0"}, "REDIS_WAIT_TIMEOUT_MS: expected"},
        {"http://h", {NULL}, "REDIS_URL: expected"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct sg_redis_opts o;
        char err[256] = "";
        assert_int_equal(load(&o, cases[i].url, cases[i].vars, err, sizeof err), SG_ERR_CONFIG);
        if (strncmp(err, cases[i].prefix, strlen(cases[i].prefix)) != 0)
            fail_msg("case %zu: got \"%s\", expected \"%s...\"", i, err, cases[i].prefix);
        sg_redis_opts_free(&o);
    }
}

/* Parses one complete RESP reply of len bytes. */
static redisReply *reply_of_n(const char *resp, size_t len)
{
    redisReader *r = sg_redis_reader_new();
    void *rep = NULL;
    redisReaderFeed(r, resp, len);
    assert_int_equal(redisReaderGetReply(r, &rep), REDIS_OK);
    assert_non_null(rep);
    redisReaderFree(r);
    return rep;
}

static redisReply *reply_of(const char *resp)
{
    return reply_of_n(resp, strlen(resp));
}

/* A server announcing a huge array is a protocol error, not a huge allocation. */
static void test_reader_element_cap(void **state)
{
    (void)state;
    redisReader *r = sg_redis_reader_new();
    void *rep = NULL;
    redisReaderFeed(r, "*5000000\r\n", 10); /* allocatable, over the cap */
    assert_int_equal(redisReaderGetReply(r, &rep), REDIS_ERR);
    assert_null(rep);
    redisReaderFree(r);
    assert_non_null(rep = reply_of("*3\r\n:1\r\n:2\r\n:3\r\n"));
    assert_int_equal(((redisReply *)rep)->elements, 3);
    freeReplyObject(rep);
}

static void test_sentinel_reply(void **state)
{
    char host[64];
    int port = 0;
    redisReply *r = reply_of("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n");
    assert_true(sg_sentinel_master_addr(r, host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6380);
    freeReplyObject(r);
    static const char *const bad[] = {
        "*-1\r\n",                                 /* unknown master */
        "-IDONTKNOW No such master\r\n",           /* error */
        "*2\r\n$0\r\n\r\n$4\r\n6380\r\n",          /* empty host */
        "*2\r\n$1\r\nh\r\n$5\r\n65536\r\n",        /* port out of range */
        "*2\r\n$1\r\nh\r\n:6380\r\n",              /* port not a string */
        "*3\r\n$1\r\nh\r\n$1\r\n1\r\n$1\r\n1\r\n", /* three elements */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = reply_of(bad[i]);
        assert_false(sg_sentinel_master_addr(r, host, sizeof host, &port));
        freeReplyObject(r);
    }
    static const char nul_host[] = "*2\r\n$3\r\nh\0x\r\n$4\r\n6380\r\n";
    r = reply_of_n(nul_host, sizeof nul_host - 1);
    assert_false(sg_sentinel_master_addr(r, host, sizeof host, &port));
    freeReplyObject(r);
    r = reply_of("*2\r\n$5\r\nlong.\r\n$4\r\n6380\r\n");
    assert_false(sg_sentinel_master_addr(r, host, 5, &port)); /* no room for the NUL */
    freeReplyObject(r);
}

static void test_role_and_errors(void **state)
{
    redisReply *r = reply_of("*3\r\n$6\r\nmaster\r\n:100\r\n*0\r\n");
    assert_int_equal(sg_redis_role_of(r), SG_ROLE_MASTER);
    freeReplyObject(r);
    r = reply_of("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$9\r\nconnected\r\n:1\r\n");
    assert_int_equal(sg_redis_role_of(r), SG_ROLE_REPLICA);
    freeReplyObject(r);
    r = reply_of("+OK\r\n");
    assert_int_equal(sg_redis_role_of(r), SG_ROLE_UNKNOWN);
    freeReplyObject(r);
    assert_int_equal(sg_redis_role_of(NULL), SG_ROLE_UNKNOWN);
    assert_true(
        sg_redis_error_wants_failover("READONLY You can't write against a read only replica."));
    assert_true(sg_redis_error_wants_failover("LOADING Redis is loading the dataset in memory"));
    assert_false(sg_redis_error_wants_failover("NOSCRIPT No matching script"));
    assert_false(sg_redis_error_wants_failover(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_tls_url_and_acl_user),
        cmocka_unit_test(test_sentinels),       cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_sentinel_reply),  cmocka_unit_test(test_reader_element_cap),
        cmocka_unit_test(test_role_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
