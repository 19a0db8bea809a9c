/* Why: a pull request from a fork chooses every byte the engine reads, so inputs built to be slow
 * are pinned here: repetitions of every secret prefix, exclude globs full of `**` against deep
 * paths, and the time budget that stops whatever still takes too long (in the stream, in a single
 * file's scan, in directory and file inputs). Each case runs under a deadline, so a regression
 * shows as SG_ERR_TIMEOUT within seconds instead of hanging the suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "an_internal.h"
#include "an_secrets.h"
#include "an_tarball.h"
#include "sg_time.h"

#define MIB (1024u * 1024u)

static unsigned char *repeated(const char *unit, size_t n)
{
    unsigned char *d = malloc(n);
    size_t ul = strlen(unit);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)unit[i % ul];
    return d;
}

/* One tarball under a time budget; *ms says how long it took. */
static enum sg_err run_budget(struct tb *t, const struct an_options *base, int64_t budget_ms,
                              struct an_result **r, int64_t *ms)
{
    struct an_options o = base ? *base : (struct an_options){0};
    size_t gl;
    unsigned char *gz = tb_gzip_level(t->d, t->len, 1, &gl);
    char err[512];
    int64_t t0 = sg_mono_ms();
    o.deadline_ms = t0 + budget_ms;
    enum sg_err e = tb_analyze(gz, gl, 1u << 20, &o, r, err, sizeof err);
    *ms = sg_mono_ms() - t0;
    if (e)
        print_message("analysis: %s (%lld ms)\n", err, (long long)*ms);
    free(gz);
    return e;
}

/* 16 MiB of each secret prefix repeated, as unknown text and as C: every scan linear. */
static void test_secret_prefixes_repeated_are_linear(void **st)
{
    (void)st;
    static const char *const units[] = {
        "github_pat_", "AKIA", "ghp_", "-----BEGIN ", "-----BEGIN PRIVATE KEY-----\n", "gh", "AK"};
    static const char *const names[] = {"top/blob.txt", "top/blob.c"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        unsigned char *d = repeated(units[u], 16 * MIB);
        for (size_t k = 0; k < 2; k++) {
            struct tb t = {0};
            tb_entry(&t, names[k], '0', d, 16 * MIB);
            tb_end(&t);
            struct an_result *r = NULL;
            int64_t ms;
            enum sg_err e = run_budget(&t, NULL, 30000, &r, &ms);
            print_message("%-30.*s %s: %lld ms\n", (int)strcspn(units[u], "\n"), units[u], names[k],
                          (long long)ms);
            assert_int_equal(e, SG_OK);
            if (u == 0) /* gitleaks' github_pat_ + 82 (entropy 3.10, over the rule's 3): a
                           token per 93 bytes, most of them found on this one 16 MiB line, whose
                           search windows are bounded */
                assert_true(tb_rule(r, "SEC003") > (16 * MIB / 93) * 9 / 10);
            an_result_free(r);
            free(t.d);
        }
        free(d);
    }
}

/* The same result as gitleaks for tokens that stop early, next to the repetitions. */
static void test_secret_runs_still_exact(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(
        &t, "top/a.txt",
        "ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1 ghp_ghp_Zw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh2\n"
        "github_pat_github_pat_x github_pat_0123456789012345678901\n"
        "ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh\n");
    tb_end(&t);
    struct an_result *r = NULL;
    int64_t ms;
    assert_int_equal(run_budget(&t, NULL, 10000, &r, &ms), SG_OK);
    /* line 1: two 36-character tokens; line 2: no run of 82; line 3: 35 characters */
    assert_int_equal(tb_rule(r, "SEC003"), 2);
    an_result_free(r);
    free(t.d);
}

static char *deep_path(const char *top, unsigned depth, const char *leaf)
{
    size_t n = strlen(top) + depth * 2 + strlen(leaf) + 2;
    char *p = malloc(n), *w = p;
    assert_non_null(p);
    w += snprintf(w, n, "%s", top);
    for (unsigned i = 0; i < depth; i++)
        *w++ = 'd', *w++ = '/';
    snprintf(w, n - (size_t)(w - p), "%s", leaf);
    return p;
}

static void test_glob_double_stars_are_linear(void **st)
{
    (void)st;
    /* through .singularity.yml, under a deadline (first: a regression fails in seconds) */
    struct tb t = {0};
    tb_file(&t, "top/.singularity.yml", "exclude: [\"**/**/**/**/**/**/**/**/**/zz\"]\n");
    char *yes = deep_path("top/", 40, "zz"), *no = deep_path("top/", 40, "zy.c");
    tb_file(&t, yes, "x\n");
    tb_file(&t, no, "int x;\n");
    tb_end(&t);
    struct an_result *r = NULL;
    int64_t ms;
    assert_int_equal(run_budget(&t, NULL, 10000, &r, &ms), SG_OK);
    assert_int_equal(r->skipped.excluded, 1);
    assert_int_equal(r->totals.files, 2); /* zy.c and .singularity.yml itself */
    assert_int_equal(tb_lang(r, "C")->counts.files, 1);
    an_result_free(r);
    free(t.d);
    free(yes);
    free(no);
    const char *pat = "**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/zz";
    for (unsigned depth = 30; depth <= 200; depth += 10) {
        yes = deep_path("", depth, "zz"), no = deep_path("", depth, "zy");
        int64_t t0 = sg_mono_ms();
        assert_true(an_glob_match(pat, yes));
        assert_false(an_glob_match(pat, no));
        assert_true(an_glob_match("d/**/d/**/d/**/d/**/d/**/d/**/d/**/d/**/d/**/zz", yes));
        assert_false(an_glob_match("d/**/d/**/d/**/d/**/d/**/d/**/d/**/d/**/d/**/zz", no));
        assert_true(sg_mono_ms() - t0 < 1000);
        free(yes);
        free(no);
    }
}

/* The glob language as it was: gitignore-like components, anchoring, folders, classes. */
static void test_glob_semantics(void **st)
{
    (void)st;
    static const struct {
        const char *pat, *path;
        bool want;
    } cases[] = {
        {"docs/**", "docs/a/b.md", true},
        {"docs/**", "docs", false},
        {"docs/**", "src/docs/a", false},
        {"*.gen.c", "src/x.gen.c", true},
        {"*.gen.c", "x.gen.h", false},
        {"build/", "build/x.o", true},
        {"build/", "a/build/x.o", true},
        {"build/", "build", false},
        {"src/**/*.c", "src/a.c", true},
        {"src/**/*.c", "src/a/b/c.c", true},
        {"src/**/*.c", "lib/a.c", false},
        {"src/**/*.c", "src/a/b.h", false},
        {"/x", "x", true},
        {"/x", "a/x", false},
        {"x", "a/x", true},
        {"x", "a/x/y", true},
        {"./a/b", "a/b", true},
        {"a/*/c", "a/b/c", true},
        {"a/*/c", "a/b/d/c", false},
        {"a/*", "a/b/c", true},
        {"[ab].c", "a.c", true},
        {"[!ab].c", "a.c", false},
        {"[a-c]x", "bx", true},
        {"\\*.c", "*.c", true},
        {"\\*.c", "x.c", false},
        {"**/zz", "zz", true},
        {"**/zz", "a/b/zz", true},
        {"**/zz", "a/zz/b", true},
        {"a/**/b", "a/b", true},
        {"a/**/b", "a/x/y/b", true},
        {"a/**/b", "a/x/y/c", false},
        {"**", "anything/at/all", true},
        {"?", "a/b", true},
        {"??", "a/b", false},
        {"**/**/**/**/**/**/**/**/**/**/zz", "zz", true},
        {"", "a", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (an_glob_match(cases[i].pat, cases[i].path) != cases[i].want)
            fail_msg("%s vs %s: expected %d", cases[i].pat, cases[i].path, cases[i].want);
}

/* ---- the time budget */

static void test_deadline_passed_stops_feed_and_finish(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "top/a.c", "int a;\n");
    tb_end(&t);
    size_t gl;
    unsigned char *gz = tb_gzip(t.d, t.len, &gl);
    struct an_options o = {.deadline_ms = sg_mono_ms() - 1};
    struct an_session *an = an_new(&o);
    assert_int_equal(an_feed(an, gz, gl), SG_ERR_TIMEOUT);
    assert_non_null(strstr(an_error(an), "time budget"));
    struct an_result *r = NULL;
    assert_int_equal(an_finish(an, &r), SG_ERR_TIMEOUT);
    assert_null(r);
    an_free(an);
    /* fed in time, finished too late */
    o.deadline_ms = sg_mono_ms() + 200;
    an = an_new(&o);
    assert_int_equal(an_feed(an, gz, gl), SG_OK);
    usleep(300 * 1000);
    assert_int_equal(an_finish(an, &r), SG_ERR_TIMEOUT);
    assert_non_null(strstr(an_error(an), "time budget"));
    an_free(an);
    free(gz);
    free(t.d);
}

/* Work that would take longer than the budget stops within about a second of the deadline. */
static void test_deadline_reached_mid_stream(void **st)
{
    (void)st;
    unsigned char *d = repeated("if (a && b) { x = y ? 1 : 2; } // TODO \n", 8 * MIB);
    struct tb t = {0};
    char name[64];
    for (int i = 0; i < 24; i++) {
        snprintf(name, sizeof name, "top/f%02d.c", i);
        tb_entry(&t, name, '0', d, 8 * MIB);
    }
    tb_end(&t);
    struct an_result *r = NULL;
    int64_t ms;
    assert_int_equal(run_budget(&t, NULL, 50, &r, &ms), SG_ERR_TIMEOUT);
    assert_null(r);
    assert_true(ms < 50 + 1000);
    free(t.d);
    free(d);
}

static void no_finding(void *ctx, enum an_rule rule, uint32_t line, uint32_t aux)
{
    (void)ctx, (void)rule, (void)line, (void)aux;
}

static void no_secret(void *ctx, const struct an_secret_hit *h)
{
    (void)ctx, (void)h;
}

/* Inside one file's scan the clock is read every MiB: a single hostile file cannot overrun. */
static void test_deadline_inside_one_scan(void **st)
{
    (void)st;
    unsigned char *d = repeated("int x; /* c */ \"s\" ghp_ AKIA -- gi\n", 8 * MIB);
    int idx = an_lang_by_name("C");
    assert_true(idx >= 0);
    struct an_scan_cfg cfg = {.max_line_length = 120, .deadline_ms = sg_mono_ms() - 1};
    struct an_scan_out out;
    unsigned lines_seen = 0;
    an_scan(&an_langs[idx], d, 8 * MIB, &cfg, &out, no_finding, NULL);
    assert_true(out.timed_out);
    lines_seen = out.lines;
    assert_true(lines_seen < 8 * MIB / 36 / 2); /* stopped early, not at the end */
    char err[256];
    struct an_secrets *sec = an_secrets_new(NULL, err, sizeof err);
    assert_non_null(sec);
    assert_false(an_secrets_scan(sec, "x.c", d, 8 * MIB, sg_mono_ms() - 1, no_secret, NULL));
    an_secrets_free(sec);
    free(d);
}

static void test_deadline_whole_inputs(void **st)
{
    (void)st;
    char dir[] = "/tmp/sg-an-hostile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/a.c", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("int a;\n", f);
    fclose(f);
    struct an_options o = {.deadline_ms = sg_mono_ms() - 1};
    struct an_result *r = NULL;
    char err[512];
    assert_int_equal(an_analyze_dir(dir, &o, &r, err, sizeof err), SG_ERR_TIMEOUT);
    assert_non_null(strstr(err, "time budget"));
    assert_null(r);

    struct tb t = {0};
    tb_file(&t, "top/a.c", "int a;\n");
    tb_end(&t);
    size_t gl;
    unsigned char *gz = tb_gzip(t.d, t.len, &gl);
    snprintf(path, sizeof path, "%s/x.tar.gz", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(gz, 1, gl, f), gl);
    fclose(f);
    assert_int_equal(an_analyze_tar_gz_file(path, &o, &r, err, sizeof err), SG_ERR_TIMEOUT);
    assert_non_null(strstr(err, "time budget"));
    o.deadline_ms = 0;
    assert_int_equal(an_analyze_tar_gz_file(path, &o, &r, err, sizeof err), SG_OK);
    an_result_free(r);
    unlink(path);
    snprintf(path, sizeof path, "%s/a.c", dir);
    unlink(path);
    rmdir(dir);
    free(gz);
    free(t.d);
}

/* The findings limit counts every finding, also beyond the kept ones, and stops the analysis
 * with its message; at exactly the limit the analysis completes. */
static void test_total_findings_limit(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "top/a.py", "x \nx \nx \nx \nx \n"); /* five STY002 */
    tb_file(&t, "top/b.py", "y \ny \n");             /* two more */
    tb_end(&t);
    struct an_options o = {.limits = {.max_total_findings = 7}};
    struct an_result *r = NULL;
    char err[256];
    assert_int_equal(tb_run(&t, &o, &r, err, sizeof err), SG_OK);
    assert_int_equal(r->nfingerprints, 7);
    an_result_free(r);
    r = NULL;
    o.limits.max_total_findings = 6;
    assert_int_equal(tb_run(&t, &o, &r, err, sizeof err), SG_ERR_TOO_LARGE);
    assert_null(r);
    assert_non_null(strstr(err, "more than 6 findings (limit max_total_findings)"));
    free(t.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_prefixes_repeated_are_linear),
        cmocka_unit_test(test_secret_runs_still_exact),
        cmocka_unit_test(test_glob_double_stars_are_linear),
        cmocka_unit_test(test_glob_semantics),
        cmocka_unit_test(test_deadline_passed_stops_feed_and_finish),
        cmocka_unit_test(test_deadline_reached_mid_stream),
        cmocka_unit_test(test_deadline_inside_one_scan),
        cmocka_unit_test(test_deadline_whole_inputs),
        cmocka_unit_test(test_total_findings_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
