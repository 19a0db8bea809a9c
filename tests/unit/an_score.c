/* Why: the score is only believed if it behaves: bounded to 0..10, monotone (a new finding never
 * raises it, a fixed one never lowers it), explained (the breakdown accounts for the whole of
 * 10 - score), stable (one changed line moves a large repository's score by at most 0.1), and it
 * must separate a repository full of debt (under 4.0) from the codebases it was calibrated on.
 * The formula is checked here directly and through the engine, with each rule's file kinds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "an_score.h"
#include "an_tarball.h"

/* ---- the formula alone ---- */

struct sc { /* a repository as the formula sees it */
    struct an_config cfg;
    struct an_score_acc acc;
    uint64_t counts[AN_NRULES];
    uint64_t code, complexity;
    struct an_debt_cost bd[AN_NDEBT];
};

static void sc_init(struct sc *s, uint64_t code, uint64_t complexity)
{
    memset(s, 0, sizeof *s);
    an_config_defaults(&s->cfg);
    s->code = code;
    s->complexity = complexity;
}

/* n findings of a line rule spread over files of at most `per_file` each */
static void sc_line(struct sc *s, enum an_rule rule, uint32_t n, uint32_t per_file)
{
    while (n) {
        uint32_t rc[AN_NRULES] = {0};
        rc[rule] = n < per_file ? n : per_file;
        an_score_add_file(&s->acc, &s->cfg, NULL, rc, 0, 0);
        s->counts[rule] += rc[rule];
        n -= rc[rule];
    }
}

/* one C file of `lines` lines and `complexity` decision points, with its file findings */
static void sc_cfile(struct sc *s, uint32_t lines, uint64_t complexity)
{
    const struct an_lang *L = &an_langs[an_lang_by_name("C")];
    uint32_t rc[AN_NRULES] = {0};
    uint32_t cl = an_file_limit(&s->cfg, L, AN_CPX001), sl = an_file_limit(&s->cfg, L, AN_SIZ001);
    rc[AN_CPX001] = complexity > cl;
    rc[AN_SIZ001] = lines > sl;
    an_score_add_file(&s->acc, &s->cfg, L, rc, complexity, lines);
    s->counts[AN_CPX001] += rc[AN_CPX001];
    s->counts[AN_SIZ001] += rc[AN_SIZ001];
}

static double sc_score(struct sc *s)
{
    return an_score_compute(&s->acc, &s->cfg, s->counts, s->code, s->complexity, s->bd);
}

static long tenths(double v)
{
    return lround(v * 10.0);
}

static void assert_breakdown_sums(const struct sc *s, double score)
{
    long sum = 0;
    for (int d = 0; d < AN_NDEBT; d++) {
        assert_true(s->bd[d].cost >= 0.0);
        sum += tenths(s->bd[d].cost);
    }
    assert_int_equal(sum, 100 - tenths(score));
}

static void test_clean_is_ten(void **st)
{
    (void)st;
    struct sc s;
    sc_init(&s, 50000, 5000);
    sc_cfile(&s, 300, 40);
    double score = sc_score(&s);
    assert_true(score == 10.0);
    assert_breakdown_sums(&s, score);
    an_config_free(&s.cfg);
}

/* a small random generator, so the property tests are the same on every run */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void sc_random(struct sc *s)
{
    static const uint64_t sizes[] = {0, 800, 5000, 60000, 400000, 3000000};
    sc_init(s, sizes[rnd(6)], 0);
    s->complexity = s->code / 1000 * rnd(1200);
    for (int k = 0; k < AN_NRULES; k++)
        if (k != AN_CPX001 && k != AN_SIZ001 && rnd(3) == 0)
            sc_line(s, (enum an_rule)k, rnd(5000), 1 + rnd(300));
    for (uint32_t f = rnd(20); f > 0; f--)
        sc_cfile(s, 100 + rnd(20000), rnd(5000));
}

static void test_bounded_and_explained(void **st)
{
    (void)st;
    for (int i = 0; i < 2000; i++) {
        struct sc s;
        sc_random(&s);
        double score = sc_score(&s);
        assert_true(score >= 0.0 && score <= 10.0);
        assert_true(tenths(score) == score * 10.0 || fabs(tenths(score) - score * 10.0) < 1e-9);
        assert_breakdown_sums(&s, score);
        an_config_free(&s.cfg);
    }
    /* everything at once, far beyond any real repository: still within bounds */
    struct sc s;
    sc_init(&s, 1000, 5000000);
    for (int k = 0; k < AN_NRULES; k++)
        if (k != AN_CPX001 && k != AN_SIZ001)
            sc_line(&s, (enum an_rule)k, 1000000, 100);
    for (int f = 0; f < 100; f++)
        sc_cfile(&s, 50000, 100000);
    double score = sc_score(&s);
    assert_true(score >= 0.0 && score < 0.5);
    assert_breakdown_sums(&s, score);
    an_config_free(&s.cfg);
}

static void test_monotone(void **st)
{
    (void)st;
    for (int i = 0; i < 2000; i++) {
        struct sc s;
        sc_random(&s);
        double before = sc_score(&s);
        struct sc more = s; /* the same code with one more finding */
        int k = (int)rnd(AN_NRULES);
        if (k == AN_CPX001)
            sc_cfile(&more, 100, 1000);
        else if (k == AN_SIZ001)
            sc_cfile(&more, 30000, 0);
        else
            sc_line(&more, (enum an_rule)k, 1, 1);
        more.complexity += rnd(50); /* and perhaps more branching */
        double after = sc_score(&more);
        assert_true(after <= before); /* so the fixed one, removed, never lowers it */
        an_config_free(&s.cfg);
    }
}

/* Each kind of finding one changed line can add, alone and together, in a repository of 100 000
 * code lines: clean, typical of the reference set, and already deep in debt. */
static void test_one_line_stability(void **st)
{
    (void)st;
    for (int base = 0; base < 3; base++) {
        for (int change = 0; change < 8; change++) {
            struct sc s;
            sc_init(&s, 100000, base == 2 ? 40000 : 12000);
            if (base >= 1) { /* redis-like: the reference set's worst densities */
                sc_line(&s, AN_STY001, 650, 20);
                sc_line(&s, AN_STY002, 550, 20);
                sc_line(&s, AN_MNT001, 60, 5);
                for (int f = 0; f < 25; f++)
                    sc_cfile(&s, 2500, 350);
            }
            if (base == 2) { /* and debt */
                sc_line(&s, AN_SEC002, 20, 2);
                sc_line(&s, AN_GIT001, 10, 1);
                sc_line(&s, AN_STY001, 20000, 100);
            }
            double before = sc_score(&s);
            struct sc t = s;
            t.code += 1;
            if (change == 0 || change == 7)
                sc_line(&t, AN_SEC002, 1, 1);
            if (change == 1 || change == 7)
                sc_line(&t, AN_STY001, 1, 1), sc_line(&t, AN_STY002, 1, 1);
            if (change == 2 || change == 7)
                sc_line(&t, AN_MNT001, 1, 1);
            if (change == 3) /* the last line of a conflict block */
                sc_line(&t, AN_GIT001, 1, 1);
            if (change == 4 || change == 7) /* a file just over both limits, and five branches */
                sc_cfile(&t, 2001, 201), t.complexity += 5;
            if (change == 5)
                sc_line(&t, AN_STY004, 1, 1);
            if (change == 6) /* a file with a new mixed indentation */
                sc_line(&t, AN_STY003, 1, 1);
            double after = sc_score(&t);
            assert_true(before - after <= 0.1 + 1e-9);
            an_config_free(&s.cfg);
        }
    }
}

static void test_file_cap_and_excess(void **st)
{
    (void)st;
    /* 40 000 long lines in one file cost what 100 do */
    struct sc a, b;
    sc_init(&a, 200000, 0);
    sc_init(&b, 200000, 0);
    sc_line(&a, AN_STY001, 40000, 40000);
    sc_line(&b, AN_STY001, 100, 100);
    assert_true(sc_score(&a) == sc_score(&b));
    assert_int_equal(a.bd[AN_DEBT_STYLE].findings, 40000);
    assert_int_equal(a.bd[AN_DEBT_STYLE].files, 1);
    an_config_free(&a.cfg);
    an_config_free(&b.cfg);
    /* just over the complexity limit costs next to nothing; ten times over costs */
    sc_init(&a, 20000, 0);
    sc_init(&b, 20000, 0);
    sc_cfile(&a, 500, 201);
    sc_cfile(&b, 500, 2000);
    assert_true(sc_score(&a) == 10.0);
    assert_true(sc_score(&b) < 10.0);
    assert_int_equal(a.bd[AN_DEBT_COMPLEXITY].findings, 1);
    assert_true(b.bd[AN_DEBT_COMPLEXITY].cost > 0.0);
    an_config_free(&a.cfg);
    an_config_free(&b.cfg);
}

static void test_rules_off_cost_nothing(void **st)
{
    (void)st;
    struct sc s;
    sc_init(&s, 5000, 0);
    sc_line(&s, AN_STY002, 400, 100);
    assert_true(sc_score(&s) < 10.0);
    an_config_free(&s.cfg);
    sc_init(&s, 5000, 0);
    s.cfg.rules[AN_STY002].off = true;
    sc_line(&s, AN_STY002, 400, 100);
    s.counts[AN_STY002] = 0; /* as the result builder passes them: after `off` */
    assert_true(sc_score(&s) == 10.0);
    assert_int_equal(s.bd[AN_DEBT_STYLE].files, 0);
    an_config_free(&s.cfg);
}

static void test_explain(void **st)
{
    (void)st;
    struct an_result r;
    memset(&r, 0, sizeof r);
    struct sg_buf b;
    sg_buf_init(&b, 0);
    assert_int_equal(an_score_explain(&r, &b), SG_OK);
    assert_string_equal(sg_buf_str(&b), "nothing costs points");
    sg_buf_reset(&b);
    r.totals.code = 10000;
    r.totals.complexity = 3100; /* 310 per 1000 lines */
    r.breakdown[AN_DEBT_COMPLEXITY] = (struct an_debt_cost){1.2, 3, 3};
    r.breakdown[AN_DEBT_STYLE] = (struct an_debt_cost){0.4, 51, 9};
    r.breakdown[AN_DEBT_SECRETS] = (struct an_debt_cost){1.2, 1, 1};
    r.breakdown[AN_DEBT_MAINTENANCE] = (struct an_debt_cost){0.0, 7, 2};
    assert_int_equal(an_score_explain(&r, &b), SG_OK);
    assert_string_equal(sg_buf_str(&b),
                        "-1.2 for 1 committed secret, -1.2 for 3 files over the complexity limit "
                        "and dense branching (310 decision points per 1000 lines), -0.4 for 51 "
                        "style findings in 9 files");
    sg_buf_free(&b);
}

/* ---- through the engine ---- */

static struct an_result *analyse(struct tb *t)
{
    struct an_result *r = NULL;
    char err[512];
    tb_end(t);
    if (tb_run(t, NULL, &r, err, sizeof err))
        fail_msg("analysis failed: %s", err);
    free(t->d);
    memset(t, 0, sizeof *t);
    return r;
}

/* A growing text for generated fixtures. */
struct txt {
    char *s;
    size_t len, cap;
};
static void tx(struct txt *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx(struct txt *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (x->len + (size_t)n + 1 > x->cap) {
        x->cap = (x->len + (size_t)n + 1) * 2;
        x->s = realloc(x->s, x->cap);
        assert_non_null(x->s);
    }
    va_start(ap, fmt);
    vsnprintf(x->s + x->len, x->cap - x->len, fmt, ap);
    va_end(ap);
    x->len += (size_t)n;
}

/* A repository full of debt, the kind the score must rate under 4.0: committed secrets, merge
 * conflicts left in, thousand-line functions of nothing but branches, and long lines (with
 * trailing blanks) everywhere. Secrets are assembled here so this file itself holds none. */
static void test_debt_scores_under_four(void **st)
{
    (void)st;
    struct tb t = {0};
    struct txt x = {0};
    for (int f = 0; f < 3; f++) { /* 2 500-line functions of branches, every line 140 long */
        x.len = 0;
        tx(&x, "int decide%d(int v)\n{\n    int r = 0;\n", f);
        for (int i = 0; i < 2500; i++)
            tx(&x, "    if (v == %4d && r >= 0) r += %4d; /* %-90s */ \n", i, i, "ok");
        tx(&x, "    return r;\n}\n");
        char name[64];
        snprintf(name, sizeof name, "debt/src/decide%d.c", f);
        tb_file(&t, name, x.s);
    }
    x.len = 0;
    for (int i = 0; i < 8; i++) /* AWS key ids ([A-Z2-7]) and GitHub tokens, none an example */
        tx(&x,
           "const char *key%d = \"%s%.8s%c%c%c%c%c%c%c%c\";\nconst char *tok%d = "
           "\"%s%.30s%c%c%c%c%c%c\";\n",
           i,
           "AK"
           "IA",
           "QZ7K2WXM", 'B' + i, 'J', 'R' + i % 3, 'T', 'M' + i, 'Q', 'Z' - i, 'E', i,
           "gh"
           "p_",
           "Xq7TbN2vLkP9wRz4HcYm8JdFs3GaUe5Wn6Ko", 'a' + i, 'b', 'Q' + i, '7', 'r', 'K');
    tb_file(&t, "debt/src/keys.c", x.s);
    x.len = 0;
    for (int i = 0; i < 6; i++)
        tx(&x,
           "int merged%d(void)\n{\n%s HEAD\n    return %d;\n%s\n    return %d;\n%s feature\n}\n", i,
           "<<<<<<<", i, "=======", i + 1, ">>>>>>>");
    tb_file(&t, "debt/src/merge.c", x.s);
    free(x.s);
    struct an_result *r = analyse(&t);
    assert_int_equal(tb_rule(r, "SEC002"), 8);
    assert_int_equal(tb_rule(r, "SEC003"), 8);
    assert_int_equal(tb_rule(r, "GIT001"), 6);
    assert_int_equal(tb_rule(r, "CPX001"), 3);
    assert_int_equal(tb_rule(r, "SIZ001"), 3);
    assert_true(tb_rule(r, "STY001") >= 7500);
    assert_true(r->score < 4.0);
    assert_false(r->passed);
    long sum = 0;
    for (int d = 0; d < AN_NDEBT; d++) {
        sum += tenths(r->breakdown[d].cost);
        if (d != AN_DEBT_MAINTENANCE && d != AN_DEBT_BINARIES)
            assert_true(r->breakdown[d].cost > 0.0); /* every kind of debt planted is charged */
    }
    assert_int_equal(sum, 100 - tenths(r->score));
    an_result_free(r);
}

/* Style rules on source, header and build files; not on data, markup, project or lock files and
 * prose (which keep their secrets and conflict checks). */
static void test_style_rules_file_kinds(void **st)
{
    (void)st;
    char longline[200], trailing[64];
    memset(longline, 'x', 150);
    memcpy(longline, "v = ", 4);
    strcpy(longline + 150, " \n"); /* 152 long, with a trailing blank, no final newline needed */
    snprintf(trailing, sizeof trailing, "%s", "<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n");
    static const char *const styled[] = {"r/src/a.c",       "r/include/a.h",    "r/tools/a.sh",
                                         "r/Makefile",      "r/CMakeLists.txt", "r/a.py",
                                         "r/m4/ax_check.m4"};
    static const char *const unstyled[] = {"r/.github/workflows/ci.yml",
                                           "r/win/a.vcxproj",
                                           "r/win/a.sln",
                                           "r/data/a.json",
                                           "r/docs/a.md",
                                           "r/docs/a.xml",
                                           "r/a.toml",
                                           "r/po/de.po",
                                           "r/docs/a.html",
                                           "r/a.svg"};
    struct tb t = {0};
    for (size_t i = 0; i < sizeof styled / sizeof styled[0]; i++)
        tb_file(&t, styled[i], longline);
    for (size_t i = 0; i < sizeof unstyled / sizeof unstyled[0]; i++) {
        char both[512];
        snprintf(both, sizeof both, "%s%s", longline, trailing);
        tb_file(&t, unstyled[i], both);
    }
    struct an_result *r = analyse(&t);
    for (size_t i = 0; i < sizeof styled / sizeof styled[0]; i++) {
        assert_int_equal(tb_find(r, "STY001", styled[i] + 2), 1);
        assert_int_equal(tb_find(r, "STY002", styled[i] + 2), 1);
    }
    for (size_t i = 0; i < sizeof unstyled / sizeof unstyled[0]; i++) {
        assert_int_equal(tb_find(r, "STY001", unstyled[i] + 2), 0);
        assert_int_equal(tb_find(r, "STY002", unstyled[i] + 2), 0);
        assert_int_equal(tb_find(r, "STY004", unstyled[i] + 2), 0);
        assert_int_equal(tb_find(r, "GIT001", unstyled[i] + 2), 2); /* still searched */
    }
    assert_int_equal(tb_rule(r, "STY001"), sizeof styled / sizeof styled[0]);
    an_result_free(r);
}

/* Size and complexity limits per kind of file: a source file has both, a header only the
 * complexity limit (its inline code branches like any other), a build file neither. */
static void test_file_limits_per_kind(void **st)
{
    (void)st;
    struct txt big = {0}, branchy = {0};
    for (int i = 0; i < 2100; i++)
        tx(&big, "int v%d;\n", i);
    for (int i = 0; i < 300; i++)
        tx(&branchy, "x%d: if (a) b; else if (c) d;\n", i);
    struct tb t = {0};
    tb_file(&t, "r/src/big.c", big.s);
    tb_file(&t, "r/src/branchy.c", branchy.s);
    tb_file(&t, "r/include/big.h", big.s);
    tb_file(&t, "r/include/branchy.h", branchy.s);
    big.len = branchy.len = 0;
    for (int i = 0; i < 2100; i++)
        tx(&big, "set(V%d 1)\n", i);
    for (int i = 0; i < 300; i++)
        tx(&branchy, "if(A)\n  elseif(B)\n endif()\n");
    tb_file(&t, "r/CMakeLists.txt", big.s);
    tb_file(&t, "r/cmake/branchy.cmake", branchy.s);
    free(big.s);
    free(branchy.s);
    struct an_result *r = analyse(&t);
    assert_int_equal(tb_find(r, "SIZ001", "src/big.c"), 1);
    assert_int_equal(tb_find(r, "CPX001", "src/branchy.c"), 1);
    assert_int_equal(tb_find(r, "SIZ001", "include/big.h"), 0);
    assert_int_equal(tb_find(r, "CPX001", "include/branchy.h"), 1);
    assert_int_equal(tb_find(r, "SIZ001", "CMakeLists.txt"), 0);
    assert_int_equal(tb_find(r, "CPX001", "cmake/branchy.cmake"), 0);
    assert_int_equal(tb_rule(r, "SIZ001"), 1);
    assert_int_equal(tb_rule(r, "CPX001"), 2);
    assert_int_equal(r->breakdown[AN_DEBT_COMPLEXITY].findings, 2);
    assert_int_equal(r->breakdown[AN_DEBT_SIZE].files, 1);
    an_result_free(r);
}

/* Generated files are recognised in the ways they announce themselves, and only in the comments
 * that open them: hand-written code that mentions generation, or a generator that prints such a
 * header, is still analysed. */
static void test_generated_files(void **st)
{
    (void)st;
    static const struct {
        const char *path, *text;
        bool generated;
    } cases[] = {
        {"r/gen/a.go", "// Code generated by stringer; DO NOT EDIT.\n\npackage a\n", true},
        {"r/gen/b.c", "/* Automatically generated by gen.py, do not edit. */\nint b;\n", true},
        {"r/gen/c.h",
         "/* SPDX-License-Identifier: MIT */\n#ifndef C_H\n#define C_H\n/*\n"
         " * This file was generated by the following command:\n */\n",
         true},
        {"r/gen/d.h", "/* AUTOGENERATED by update-syscall-lists.py.  */\n#define X 1\n", true},
        {"r/gen/e.sh", "#!/bin/sh\n# Generated by GNU Autoconf 2.71.\nexit 0\n", true},
        {"r/gen/f.cs", "// <auto-generated>\n//   by a tool\n// </auto-generated>\nclass F {}\n",
         true},
        {"r/gen/g.c", "// this file was Automatically Generated by the tools\nint g;\n", true},
        {"r/api/h.pb.go", "package api\n", true},
        {"r/api/i_pb2.py", "x = 1\n", true},
        {"r/k8s/zz_generated.deepcopy.go", "package k8s\n", true},
        {"r/ui/Form.Designer.cs", "partial class Form {}\n", true},
        /* traps: hand-written */
        {"r/src/j.c", "/* Tokens generated by the server expire after an hour. */\nint j;\n",
         false},
        {"r/src/k.tcl", "# Verify key-spec auto-generated from the legacy triple\nset k 1\n",
         false},
        {"r/tools/gen-hooks.sh",
         "#!/bin/sh\n# Usage: gen-hooks.sh\ncat <<EOF\n"
         "/* Automatically generated by gen-hooks.sh */\nEOF\n",
         false},
        {"r/tools/gen.py", "import sys\nprint('# This file was generated by gen.py')\n", false},
        {"r/src/l.c", "int l;\n/* This file is generated code. */\n", false},
        {"r/docs/conf.py",
         "# Note that not all values are present in this\n# autogenerated file.\n", false},
        {"r/src/pb.c", "int pb;\n", false},
    };
    struct tb t = {0};
    size_t want = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tb_file(&t, cases[i].path, cases[i].text);
        want += cases[i].generated;
    }
    struct an_result *r = analyse(&t);
    assert_int_equal(r->skipped.generated, want);
    assert_int_equal(r->totals.files, sizeof cases / sizeof cases[0] - want);
    an_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_is_ten),
        cmocka_unit_test(test_bounded_and_explained),
        cmocka_unit_test(test_monotone),
        cmocka_unit_test(test_one_line_stability),
        cmocka_unit_test(test_file_cap_and_excess),
        cmocka_unit_test(test_rules_off_cost_nothing),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_debt_scores_under_four),
        cmocka_unit_test(test_style_rules_file_kinds),
        cmocka_unit_test(test_file_limits_per_kind),
        cmocka_unit_test(test_generated_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
