/* Why: every rule in DESIGN.md's table is checked here with positives at the exact path and line
 * and with the traps that must not fire (a reStructuredText underline is not a conflict marker,
 * TODO in a string is not a comment, long lines in data files are not style), plus the
 * .singularity.yml behaviour (overrides, excludes, broken config, config after other files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "an_tar.h"

static struct an_result *run(struct tb *t, const struct an_options *o)
{
    struct an_result *r = NULL;
    char err[512];
    tb_end(t);
    enum sg_err e = tb_run(t, o, &r, err, sizeof err);
    if (e)
        fail_msg("analysis failed: %s", err);
    free(t->d);
    memset(t, 0, sizeof *t);
    return r;
}

static void test_sec001_private_key(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/keys/id_rsa",
            "-----BEGIN RSA PRIVATE "
            "KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END "
            "RSA PRIVATE KEY-----\n");
    tb_file(&t, "r/src/pem.c",
            "/* a parser constant is not a key */\nstatic const char *hdr = \"-----BEGIN RSA "
            "PRIVATE KEY-----\";\n");
    tb_file(&t, "r/src/k.py",
            "x = 1\nKEY = '''\n-----BEGIN OPENSSH PRIVATE "
            "KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n----"
            "-END OPENSSH PRIVATE KEY-----\n'''\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "SEC001"), 2);
    assert_int_equal(tb_find(r, "SEC001", "keys/id_rsa"), 1);
    assert_int_equal(tb_find(r, "SEC001", "src/k.py"), 3);
    assert_int_equal(tb_find(r, "SEC001", "src/pem.c"), 0);
    assert_false(r->passed); /* an error-severity finding fails the gate */
    an_result_free(r);
}

static void test_sec002_aws(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/src/aws.c",
            "int a;\n\nconst char *k = \"AKIAIOSFODNN7EXAMPLE\";\n"
            "const char *x = \"AKIAIOSFODNN7EXAMPLEX\"; /* 17 chars: not a key */\n"
            "const char *y = \"XAKIAIOSFODNN7EXAMPLE\";\n"
            "const char *z = \"AKIAiosfodnn7example\";\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "SEC002"), 1);
    assert_int_equal(tb_find(r, "SEC002", "src/aws.c"), 3);
    assert_string_equal(an_rule_name("SEC002"), "AWS access key id");
    an_result_free(r);
}

static void test_sec003_github_token(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.env",
            "A=1\nGH=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n"
            "SHORT=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678\n"
            "PAT=github_pat_11ABCDEFG0abcdefghijkl_"
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVW\n"
            "S=ghs_16C7e42F292c6912E7710c838347Ae178B4a\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "SEC003"), 3);
    assert_int_equal(tb_find(r, "SEC003", ".env"), 2);
    an_result_free(r);
}

static void test_git001_conflict_and_rst_trap(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.c",
            "int a;\n<<<<<<< HEAD\nint b;\n=======\nint c;\n>>>>>>> feature\nint d;\n"
            "<<<<<<< ours\n||||||| base\n=======\n>>>>>>> theirs\n");
    tb_file(&t, "r/doc/index.rst", "=======\nTitle\n=======\n\nSection\n=======\n\ntext\n");
    tb_file(&t, "r/b.txt", "<<<<<<< only an opener\n=======\nno closer\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "GIT001"), 2);
    assert_int_equal(tb_find(r, "GIT001", "a.c"), 2);
    assert_int_equal(tb_find(r, "GIT001", "doc/index.rst"), 0);
    assert_int_equal(tb_find(r, "GIT001", "b.txt"), 0);
    an_result_free(r);
}

static void test_sty001_long_lines_and_data_trap(void **st)
{
    (void)st;
    char long_c[300], long_json[400];
    memset(long_c, 'x', sizeof long_c);
    memcpy(long_c, "int a;\n//", 9);
    long_c[9 + 130] = '\n';
    long_c[9 + 131] = '\0';
    snprintf(long_json, sizeof long_json, "{\"k\": \"%0250d\"}\n", 0);
    struct tb t = {0};
    tb_file(&t, "r/a.c", long_c);
    tb_file(&t, "r/data.json", long_json);
    tb_file(&t, "r/img.svg",
            "<svg>\n<path d=\"M0 0 L 1 1 L 2 2 L 3 3 L 4 4 L 5 5 L 6 6 L 7 7 L 8 8 L 9 9 L 10 10 L "
            "11 11 L 12 12 L 13 13 L 14 14 L 15 15 L 16 16\"/>\n</svg>\n");
    /* 120 characters of UTF-8 (2 bytes each) is not too long: characters, not bytes */
    char utf[400] = "// ";
    size_t ul = 3;
    for (int i = 0; i < 115; i++, ul += 2)
        memcpy(utf + ul, "\xc3\xa9", 2);
    memcpy(utf + ul, "\n", 2);
    tb_file(&t, "r/u.c", utf);
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "STY001"), 1);
    assert_int_equal(tb_find(r, "STY001", "a.c"), 2);
    an_result_free(r);
}

static void test_sty002_trailing_ws(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.py", "x = 1\ny = 2 \nz = 3\t\nw = 4\r\n");
    tb_file(&t, "r/README.md", "Hard line break  \nnext\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "STY002"), 2);
    assert_int_equal(tb_find(r, "STY002", "a.py"), 2);
    an_result_free(r);
}

static void test_sty003_mixed_indent(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.c", "void f(void)\n{\n\tint a;\n\tint b;\n    int c;\n\tint d;\n}\n");
    tb_file(&t, "r/b.c",
            "void g(void)\n{\n    int a;\n\t/* tab-indented comment is not code */\n}\n");
    tb_file(&t, "r/Makefile",
            "all:\n\techo a\n    # make recipes need tabs; not reported\nx = 1 \\\n    2\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "STY003"), 1);
    assert_int_equal(tb_find(r, "STY003", "a.c"), 5);
    an_result_free(r);
}

static void test_sty004_no_final_newline(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.c", "int a;\nint b;\nint c;");
    tb_file(&t, "r/b.c", "int a;\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "STY004"), 1);
    assert_int_equal(tb_find(r, "STY004", "a.c"), 3);
    an_result_free(r);
}

static void test_mnt001_markers_and_string_trap(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.c",
            "/* FIXME: later */\nconst char *s = \"TODO in a string\";\nint a; // XXX\n"
            "/*\n * HACK around\n */\nint TODOS; /* TODOS is not a marker */\n");
    tb_file(&t, "r/b.py",
            "s = '# TODO not a comment'\n# TODO: real\n\"\"\"TODO in a docstring\"\"\"\n");
    tb_file(&t, "r/NOTES.md", "- TODO write docs\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "MNT001"), 4);
    assert_int_equal(tb_find(r, "MNT001", "a.c"), 1);
    assert_int_equal(tb_find(r, "MNT001", "b.py"), 2);
    assert_int_equal(tb_find(r, "MNT001", "NOTES.md"), 0);
    an_result_free(r);
}

static void test_cpx001_siz001_with_config(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.singularity.yml", "max_file_complexity: 3\nmax_file_lines: 5\n");
    tb_file(&t, "r/a.c",
            "int f(int a) {\n if (a) return 1;\n if (a > 1 && a < 3) return 2;\n while (a) a--;\n "
            "return 0;\n}\n");
    tb_file(&t, "r/b.c", "int g(void) { return 0; }\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "CPX001"), 1);
    assert_int_equal(tb_find(r, "CPX001", "a.c"), 1);
    assert_int_equal(tb_rule(r, "SIZ001"), 1);
    assert_int_equal(tb_find(r, "SIZ001", "a.c"), 1);
    assert_int_equal(r->nconfig_errors, 0);
    an_result_free(r);
}

static void test_bin001_large_binary(void **st)
{
    (void)st;
    size_t n = 1536 * 1024;
    unsigned char *big = calloc(1, n);
    memcpy(big, "\x89PNG", 4);
    struct tb t = {0};
    tb_entry(&t, "r/assets/big.bin", '0', big, n);
    tb_entry(&t, "r/assets/small.bin", '0', big, 100);
    free(big);
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "BIN001"), 1);
    assert_int_equal(tb_find(r, "BIN001", "assets/big.bin"), 1);
    assert_int_equal(r->skipped.binary, 2);
    assert_int_equal(r->totals.files, 0);
    an_result_free(r);
}

static void test_rule_counts_exact_when_capped(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.c", "a; \nb; \nc; \nd; \ne; \nf; \ng; \nh; \ni; \nj; \n");
    struct an_options o = {0};
    o.limits.max_findings = 3;
    struct an_result *r = run(&t, &o);
    assert_int_equal(tb_rule(r, "STY002"), 10);
    assert_int_equal(r->nfindings, 3);
    assert_int_equal(r->findings_total, 10);
    an_result_free(r);
}

static void test_config_rules_off_and_severity(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.singularity.yml",
            "rules:\n  STY002: off\n  SEC002: warning\nquality_threshold: 1.5\n");
    tb_file(&t, "r/a.c", "const char *k = \"AKIAIOSFODNN7EXAMPLE\"; \n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "STY002"), 0);
    assert_int_equal(tb_rule(r, "SEC002"), 1);
    assert_int_equal(r->findings[0].severity, AN_WARNING);
    assert_true(r->passed); /* no error left and the score is above 1.5 */
    assert_true(r->threshold == 1.5);
    an_result_free(r);
}

static void test_config_exclude_and_languages(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.singularity.yml",
            "exclude:\n  - \"docs/**\"\n  - \"*.gen.c\"\n  - build/\nlanguages: [C, Python]\n");
    tb_file(&t, "r/docs/x/a.c", "int a;\n");
    tb_file(&t, "r/src/b.gen.c", "int b;\n");
    tb_file(&t, "r/build/c.c", "int c;\n");
    tb_file(&t, "r/src/d.c", "int d;\n");
    tb_file(&t, "r/src/e.py", "e = 1\n");
    tb_file(&t, "r/src/f.go", "package f\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(r->totals.files, 2);
    assert_int_equal(r->skipped.excluded, 5); /* 3 by glob, f.go and the YAML by language */
    an_result_free(r);
}

static void test_config_language_overrides(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.singularity.yml",
            "languages:\n  \"*.inc\": C\n  \"tools/*\": Python\n  \"*.x\": Nope\n");
    tb_file(&t, "r/src/table.inc", "/* c */\nint t[] = {1};\n");
    tb_file(&t, "r/tools/run", "# py\nif x and y:\n    pass\n");
    struct an_result *r = run(&t, NULL);
    assert_non_null(tb_lang(r, "C"));
    assert_int_equal(tb_lang(r, "C")->counts.code, 1);
    assert_int_equal(tb_lang(r, "Python")->counts.complexity, 2);
    assert_int_equal(r->nconfig_errors, 1); /* the unknown language, with its line */
    assert_non_null(strstr(r->config_errors[0], ".singularity.yml:4: languages:"));
    an_result_free(r);
}

static void test_config_errors_keep_defaults(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.singularity.yml",
            "quality_threshold: 7.5\nmax_line_length: abc\nrules:\n  NOPE1: off\n  STY002: "
            "loud\nbogus: 1\n");
    tb_file(&t, "r/a.c", "int a;\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(r->nconfig_errors, 4);
    assert_string_equal(r->config_errors[0],
                        ".singularity.yml:2: max_line_length: expected an integer");
    assert_non_null(strstr(r->config_errors[1], ".singularity.yml:4:"));
    assert_non_null(strstr(r->config_errors[2], ".singularity.yml:5:"));
    assert_non_null(strstr(r->config_errors[3], ".singularity.yml:6: unknown setting"));
    assert_true(r->threshold == 7.5);
    assert_int_equal(r->totals.files, 2);
    an_result_free(r);

    struct tb u = {0};
    tb_file(&u, "r/.singularity.yml", "exclude: [unclosed\n  - x: {\n");
    tb_file(&u, "r/a.c", "int a;\n");
    r = run(&u, NULL);
    assert_int_equal(r->nconfig_errors, 1);
    assert_non_null(strstr(r->config_errors[0], ".singularity.yml:"));
    assert_int_equal(r->totals.files, 2); /* a.c and the YAML itself */
    an_result_free(r);
}

/* git archive order: .github/... comes before .singularity.yml; the config must still apply. */
static void test_config_after_github_dir(void **st)
{
    (void)st;
    char line[200];
    memset(line, 'a', sizeof line);
    memcpy(line, "# ", 2);
    line[100] = '\n';
    line[101] = '\0';
    struct tb t = {0};
    tb_pax(&t, 'g', "comment", "0123456789abcdef0123456789abcdef01234567");
    tb_entry(&t, "r/", '5', NULL, 0);
    tb_entry(&t, "r/.github/", '5', NULL, 0);
    tb_file(&t, "r/.github/ci.yml", line);
    tb_file(&t, "r/.singularity.yml", "max_line_length: 80\nexclude: [\".github/skip.yml\"]\n");
    tb_file(&t, "r/src.c", line);
    struct an_result *r = run(&t, NULL);
    assert_int_equal(tb_rule(r, "STY001"), 2);
    assert_int_equal(tb_find(r, "STY001", ".github/ci.yml"), 1);
    assert_int_equal(r->nconfig_errors, 0);
    an_result_free(r);
}

/* A tarball not in git order: the config comes after a file it excludes. */
static void test_config_late_reapplied(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/src/x.c", "int x; \n");
    tb_file(&t, "r/.singularity.yml", "exclude: [\"src/**\"]\nrules: {STY002: error}\n");
    tb_file(&t, "r/zz.c", "int z; \n");
    struct an_result *r = run(&t, NULL);
    /* src/x.c was read before the config, but is excluded at finish; zz.c's STY002 is an error */
    assert_int_equal(tb_find(r, "STY002", "src/x.c"), 0);
    assert_int_equal(tb_rule(r, "STY002"), 1);
    assert_int_equal(r->findings[0].severity, AN_ERROR);
    an_result_free(r);
}

static void test_default_excludes(void **st)
{
    (void)st;
    char mini[6000];
    memset(mini, 'a', sizeof mini);
    memcpy(mini, "var a=1;", 8);
    mini[sizeof mini - 2] = '\n';
    mini[sizeof mini - 1] = '\0';
    struct tb t = {0};
    tb_file(&t, "r/vendor/lib/a.c", "int a; \n");
    tb_file(&t, "r/web/node_modules/x/i.js", "var x; \n");
    tb_file(&t, "r/third_party/z.c", "int z;\n");
    tb_file(&t, "r/gen/api.pb.go",
            "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage api\n");
    tb_file(&t, "r/package-lock.json", "{}\n");
    tb_file(&t, "r/web/app.min.js", "var a=1;\n");
    tb_file(&t, "r/web/bundle.js", mini);
    tb_file(&t, "r/main.c", "int main(void) { return 0; }\n");
    struct an_result *r = run(&t, NULL);
    assert_int_equal(r->skipped.vendored, 3);
    assert_int_equal(r->skipped.generated, 2);
    assert_int_equal(r->skipped.minified, 2);
    assert_int_equal(r->totals.files, 1);
    assert_int_equal(tb_rule(r, "STY002"), 0);
    an_result_free(r);

    struct tb u = {0};
    tb_file(&u, "r/.singularity.yml", "default_excludes: false\n");
    tb_file(&u, "r/vendor/lib/a.c", "int a; \n");
    tb_file(&u, "r/web/app.min.js", "var a=1;\n");
    r = run(&u, NULL);
    assert_int_equal(r->skipped.vendored, 0);
    assert_int_equal(r->skipped.minified, 0);
    assert_int_equal(tb_rule(r, "STY002"), 1);
    assert_int_equal(r->totals.files, 3);
    an_result_free(r);
}

static void test_score_formula(void **st)
{
    (void)st;
    /* clean: 10.0 */
    struct tb t = {0};
    tb_file(&t, "r/a.c", "int a;\n");
    struct an_result *r = run(&t, NULL);
    assert_true(r->score == 10.0);
    assert_true(r->passed);
    an_result_free(r);

    char *src = malloc(2000 * 7 + 1);
    for (int i = 0; i < 2000; i++)
        memcpy(src + i * 7, "int b;\n", 7);
    src[2000 * 7] = '\0';
    struct tb u = {0};
    tb_file(&u, "r/a.c", src);
    tb_file(&u, "r/k.txt", "AKIAIOSFODNN7EXAMPLE\n");
    tb_file(&u, "r/t.c", "int t; \nint u; \nint v; \nint w; \n");
    free(src);
    r = run(&u, NULL);
    assert_int_equal(r->totals.code, 2004);
    assert_int_equal(tb_rule(r, "SEC002"), 1);
    assert_int_equal(tb_rule(r, "STY002"), 4);
    assert_int_equal(tb_rule(r, "SIZ001"), 1); /* a.c has 2000 lines > 1000 */
    /* KLOC = 2.004: P = (10*1 + 3*1 + 0.5*4) / 2.004 = 7.485, score = 10 / 1.7485 = 5.719 -> 5.7 */
    assert_true(r->score == 5.7);
    assert_false(r->passed);
    an_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sec001_private_key),
        cmocka_unit_test(test_sec002_aws),
        cmocka_unit_test(test_sec003_github_token),
        cmocka_unit_test(test_git001_conflict_and_rst_trap),
        cmocka_unit_test(test_sty001_long_lines_and_data_trap),
        cmocka_unit_test(test_sty002_trailing_ws),
        cmocka_unit_test(test_sty003_mixed_indent),
        cmocka_unit_test(test_sty004_no_final_newline),
        cmocka_unit_test(test_mnt001_markers_and_string_trap),
        cmocka_unit_test(test_cpx001_siz001_with_config),
        cmocka_unit_test(test_bin001_large_binary),
        cmocka_unit_test(test_rule_counts_exact_when_capped),
        cmocka_unit_test(test_config_rules_off_and_severity),
        cmocka_unit_test(test_config_exclude_and_languages),
        cmocka_unit_test(test_config_language_overrides),
        cmocka_unit_test(test_config_errors_keep_defaults),
        cmocka_unit_test(test_config_after_github_dir),
        cmocka_unit_test(test_config_late_reapplied),
        cmocka_unit_test(test_default_excludes),
        cmocka_unit_test(test_score_formula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
