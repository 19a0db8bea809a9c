/* Why: bad configuration must stop the process with one clear line naming the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg_config.h"
#include "sg_log.h"

static const char *fake_env[16][2];

static const char *env(const char *name)
{
    for (int i = 0; i < 16 && fake_env[i][0]; i++)
        if (strcmp(fake_env[i][0], name) == 0)
            return fake_env[i][1];
    return NULL;
}

static char *secret, *path;
static int64_t port;
static bool flag;

static const struct sg_config_var vars[] = {
    {"WEBHOOK_SECRET", SG_CFG_SECRET, NULL, true, 0, 0, &secret, "secret"},
    {"WEBHOOK_PATH", SG_CFG_STR, "/webhooks/github", false, 0, 0, &path, "path"},
    {"PORT", SG_CFG_INT, "4000", false, 1, 65535, &port, "port"},
    {"FLAG", SG_CFG_BOOL, "false", false, 0, 0, &flag, "flag"},
};
#define NVARS (sizeof vars / sizeof vars[0])

static void set_env(const char *kv[][2], int n)
{
    memset(fake_env, 0, sizeof fake_env);
    for (int i = 0; i < n; i++) {
        fake_env[i][0] = kv[i][0];
        fake_env[i][1] = kv[i][1];
    }
}

static void test_defaults_and_required(void **state)
{
    char err[256];
    set_env(NULL, 0);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_ERR_CONFIG);
    assert_string_equal(err,
                        "WEBHOOK_SECRET: required (set WEBHOOK_SECRET or WEBHOOK_SECRET_FILE)");
    const char *kv[][2] = {{"WEBHOOK_SECRET", "s3cret"}};
    set_env(kv, 1);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_OK);
    assert_string_equal(secret, "s3cret");
    assert_string_equal(path, "/webhooks/github");
    assert_int_equal(port, 4000);
    assert_false(flag);
    sg_config_free(vars, NVARS);
    assert_null(secret);
}

static void test_bad_int(void **state)
{
    char err[256];
    const char *kv[][2] = {{"WEBHOOK_SECRET", "x"}, {"PORT", "40o0"}};
    set_env(kv, 2);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_ERR_CONFIG);
    assert_string_equal(err, "PORT: expected an integer from 1 to 65535, got \"40o0\"");
    const char *kv2[][2] = {{"WEBHOOK_SECRET", "x"}, {"PORT", "70000"}};
    set_env(kv2, 2);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_ERR_CONFIG);
    const char *kv3[][2] = {{"WEBHOOK_SECRET", "x"}, {"FLAG", "maybe"}};
    set_env(kv3, 2);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_ERR_CONFIG);
    assert_string_equal(err, "FLAG: expected true or false, got \"maybe\"");
    sg_config_free(vars, NVARS);
}

static void test_secret_file(void **state)
{
    char err[256];
    char tmpl[] = "/tmp/sgcfgXXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "from-file\n", 10), 10);
    close(fd);
    const char *kv[][2] = {{"WEBHOOK_SECRET_FILE", tmpl}};
    set_env(kv, 1);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_OK);
    assert_string_equal(secret, "from-file");
    sg_config_free(vars, NVARS);
    const char *kv2[][2] = {{"WEBHOOK_SECRET_FILE", tmpl}, {"WEBHOOK_SECRET", "x"}};
    set_env(kv2, 2);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_ERR_CONFIG);
    unlink(tmpl);
    const char *kv3[][2] = {{"WEBHOOK_SECRET_FILE", "/nonexistent/secret"}};
    set_env(kv3, 1);
    assert_int_equal(sg_config_load(vars, NVARS, env, err, sizeof err), SG_ERR_CONFIG);
    assert_non_null(strstr(err, "WEBHOOK_SECRET_FILE: cannot open /nonexistent/secret"));
    sg_config_free(vars, NVARS);
}

static void test_duration(void **state)
{
    int64_t s;
    assert_true(sg_parse_duration("90", &s));
    assert_int_equal(s, 90);
    assert_true(sg_parse_duration("15m", &s));
    assert_int_equal(s, 900);
    assert_true(sg_parse_duration("2h", &s));
    assert_int_equal(s, 7200);
    assert_true(sg_parse_duration("1d", &s));
    assert_int_equal(s, 86400);
    assert_false(sg_parse_duration("1x", &s));
    assert_false(sg_parse_duration("-5", &s));
    assert_false(sg_parse_duration("", &s));
}

/* An existing Probot .env must work: pino's level names are accepted. */
static void test_log_levels(void **state)
{
    enum sg_log_level l;
    assert_true(sg_log_parse_level("trace", &l));
    assert_int_equal(l, SG_LOG_DEBUG);
    assert_true(sg_log_parse_level("FATAL", &l));
    assert_int_equal(l, SG_LOG_ERROR);
    assert_true(sg_log_parse_level("warn", &l));
    assert_int_equal(l, SG_LOG_WARN);
    assert_false(sg_log_parse_level("verbose", &l));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_required),
        cmocka_unit_test(test_bad_int),
        cmocka_unit_test(test_secret_file),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
