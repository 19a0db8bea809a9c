/* Why: per-language golden counts over tricky inputs (comment markers in strings, nested and
 * multi-line comments, raw strings, docstrings, shebang detection, special file names). The
 * expected code/comment/blank in tests/fixtures/analysis/golden.tsv are tokei 15's numbers (one
 * documented exception), so this test fails when counting drifts from tokei. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "an_tar.h"

/* One fixture file alone in a GitHub-style tarball: its language and counts are the result's. */
static const struct an_language *golden_one(const char *path, struct an_result **r)
{
    char full[512];
    snprintf(full, sizeof full, "%s/analysis/golden/%s", SG_FIXTURES_DIR, path);
    FILE *f = fopen(full, "rb");
    if (!f)
        return NULL;
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char name[256];
    snprintf(name, sizeof name, "top/%s", path);
    struct tb t = {0};
    tb_entry(&t, name, '0', buf, n);
    tb_end(&t);
    struct an_options o = {0};
    char err[256];
    enum sg_err e = tb_run(&t, &o, r, err, sizeof err);
    free(t.d);
    return e == SG_OK && (*r)->nlanguages == 1 ? &(*r)->languages[0] : NULL;
}

static void test_golden_counts(void **st)
{
    (void)st;
    struct an_options o = {0};
    struct an_result *r = NULL;
    char err[512];
    assert_int_equal(an_analyze_dir(SG_FIXTURES_DIR "/analysis/golden", &o, &r, err, sizeof err),
                     SG_OK);
    assert_true(r->nlanguages >= 40); /* the fixture set spans 40+ languages */
    an_result_free(r);
    FILE *f = fopen(SG_FIXTURES_DIR "/analysis/golden.tsv", "r");
    assert_non_null(f);
    char line[512];
    size_t checked = 0, failed = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char path[128], lang[64];
        unsigned long long code, comment, blank, cx;
        if (sscanf(line, "%127[^\t]\t%63[^\t]\t%llu\t%llu\t%llu\t%llu", path, lang, &code, &comment,
                   &blank, &cx) != 6)
            continue;
        r = NULL;
        const struct an_language *got = golden_one(path, &r);
        checked++;
        if (!got) {
            print_error("%s: not counted (expected %s)\n", path, lang);
            failed++;
        } else if (strcmp(got->name, lang) != 0 || got->counts.code != code ||
                   got->counts.comment != comment || got->counts.blank != blank ||
                   got->counts.complexity != cx) {
            print_error("%s: got %s %llu/%llu/%llu cx %llu, expected %s %llu/%llu/%llu cx %llu\n",
                        path, got->name, (unsigned long long)got->counts.code,
                        (unsigned long long)got->counts.comment,
                        (unsigned long long)got->counts.blank,
                        (unsigned long long)got->counts.complexity, lang, code, comment, blank, cx);
            failed++;
        }
        an_result_free(r);
    }
    fclose(f);
    assert_true(checked >= 40);
    assert_int_equal(failed, 0);
}

static void test_rule_names_and_severity(void **st)
{
    (void)st;
    const char *ids[] = {"SEC001", "SEC002", "SEC003", "GIT001", "STY001", "STY002",
                         "STY003", "STY004", "MNT001", "CPX001", "SIZ001", "BIN001"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_non_null(an_rule_name(ids[i]));
    assert_string_equal(an_rule_name("SEC002"), "AWS access key id");
    assert_null(an_rule_name("NOPE01"));
    assert_string_equal(an_severity_str(AN_ERROR), "error");
    assert_string_equal(an_severity_str(AN_WARNING), "warning");
    assert_string_equal(an_severity_str(AN_NOTICE), "notice");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_counts),
        cmocka_unit_test(test_rule_names_and_severity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
