/* Why: the fingerprint and the gate decide whether a pull request may merge (DESIGN.md section
 * 9), so each property a user relies on has a case: a finding that only moved, whose neighbours
 * were edited, or whose line was only re-indented keeps its fingerprint; two identical lines are
 * two findings; a renamed file keeps its findings' identity through the rename aliases; every gate
 * setting; exact counts beyond the cap; a --format json result read back as a base. The last case
 * times classification of 100,000 + 100,000 findings and prints the figure (not asserted: CI
 * machines vary). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "an_internal.h" /* an_fingerprints_sort, to time the sort a job pays */
#include "an_tarball.h"
#include "sg_time.h"

/* Analyses files given as name, text pairs (NULL-terminated), with an optional config text. */
static struct an_result *an_files(const struct an_options *o, ...)
{
    struct tb t = {0};
    va_list ap;
    va_start(ap, o);
    for (const char *name; (name = va_arg(ap, const char *));) {
        char full[256];
        snprintf(full, sizeof full, "top/%s", name);
        tb_file(&t, full, va_arg(ap, const char *));
    }
    va_end(ap);
    tb_end(&t);
    struct an_options d = {0};
    struct an_result *r = NULL;
    char err[256];
    assert_int_equal(tb_run(&t, o ? o : &d, &r, err, sizeof err), SG_OK);
    free(t.d);
    return r;
}

static uint64_t fp_of(const struct an_result *r, const char *rule, uint32_t line)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (strcmp(r->findings[i].rule, rule) == 0 && r->findings[i].line == line)
            return r->findings[i].fingerprint;
    fail_msg("no %s finding on line %u", rule, line);
    return 0;
}

static void test_fingerprint_moves_and_edits(void **st)
{
    (void)st;
    struct an_result *b = an_files(NULL, "a.py", "x = 1\n# TODO: one\ny = 2\n", NULL);
    /* moved down two lines, a neighbour edited, the line itself re-indented */
    struct an_result *h =
        an_files(NULL, "a.py", "import os\n\nx = 100\n    #  TODO:   one\ny = 3\n", NULL);
    assert_int_equal(fp_of(b, "MNT001", 2), fp_of(h, "MNT001", 4));
    char hex[17];
    an_fingerprint_hex(fp_of(b, "MNT001", 2), hex);
    uint64_t back;
    assert_true(an_fingerprint_parse(hex, &back) && back == fp_of(b, "MNT001", 2));
    assert_int_equal(strlen(hex), 16);
    assert_int_equal(an_classify(h, b), SG_OK);
    assert_int_equal(h->new_findings, 0);
    assert_int_equal(h->fixed_findings, 0);
    assert_int_equal(h->existing_findings, 1);
    assert_int_equal(h->findings[0].status, AN_EXISTING);
    /* editing the finding's own text makes it another finding: one new, one fixed */
    struct an_result *e = an_files(NULL, "a.py", "x = 1\n# TODO: two\ny = 2\n", NULL);
    assert_int_not_equal(fp_of(b, "MNT001", 2), fp_of(e, "MNT001", 2));
    assert_int_equal(an_classify(e, b), SG_OK);
    assert_int_equal(e->new_findings, 1);
    assert_int_equal(e->fixed_findings, 1);
    assert_int_equal(e->nfixed, 1);
    assert_string_equal(e->fixed[0].rule, "MNT001");
    an_result_free(b);
    an_result_free(h);
    an_result_free(e);
}

static void test_fingerprint_duplicates_and_paths(void **st)
{
    (void)st;
    struct an_result *b = an_files(NULL, "a.py", "# TODO: x\n", NULL);
    struct an_result *h =
        an_files(NULL, "a.py", "# TODO: x\n# TODO: x\n", "b.py", "# TODO: x\n", NULL);
    uint64_t f1 = fp_of(h, "MNT001", 1), f2 = fp_of(h, "MNT001", 2);
    assert_int_not_equal(f1, f2);                /* two identical lines are two findings */
    assert_int_equal(f1, fp_of(b, "MNT001", 1)); /* the first keeps occurrence 0 */
    assert_int_equal(h->nfingerprints, 3); /* the same text in another file is another finding */
    assert_int_equal(an_classify(h, b), SG_OK);
    assert_int_equal(h->new_findings, 2);
    assert_int_equal(h->existing_findings, 1);
    an_result_free(b);
    an_result_free(h);
}

static void test_fingerprint_rename(void **st)
{
    (void)st;
    const char *text = "k = 'AKIAZ4ZJQK3P7WV6LXRM'\n# TODO: z\n";
    struct an_result *b = an_files(NULL, "old/a.py", text, NULL);
    struct an_result *plain = an_files(NULL, "new/a.py", text, NULL);
    assert_int_equal(an_classify(plain, b), SG_OK);
    assert_int_equal(plain->new_findings, 2); /* without rename information: new and fixed */
    assert_int_equal(plain->fixed_findings, 2);
    struct an_rename rn = {"old/a.py", "new/a.py"};
    struct an_options o = {.renames = &rn, .nrenames = 1};
    struct an_result *h = an_files(&o, "new/a.py", text, NULL);
    assert_int_equal(h->nfingerprint_aliases, 2);
    assert_int_equal(an_classify(h, b), SG_OK);
    assert_int_equal(h->new_findings, 0);
    assert_int_equal(h->fixed_findings, 0);
    assert_true(h->passed);
    for (size_t i = 0; i < h->nfindings; i++) {
        assert_int_equal(h->findings[i].status, AN_EXISTING);
        assert_string_equal(h->findings[i].path, "new/a.py"); /* reported where it is now */
    }
    an_result_free(b);
    an_result_free(plain);
    an_result_free(h);
}

static void test_fingerprint_file_rules_ignore_line_text(void **st)
{
    (void)st;
    /* STY004 points at the last line, but is about the file: editing that line keeps it */
    struct an_result *b = an_files(NULL, "a.py", "x = 1\ny = 2", NULL);
    struct an_result *h = an_files(NULL, "a.py", "x = 1\ny = 3", NULL);
    assert_int_equal(fp_of(b, "STY004", 2), fp_of(h, "STY004", 2));
    an_result_free(b);
    an_result_free(h);
}

/* A file with more findings than are hashed in one batch (4,096): occurrence numbers go on across
 * batches (10,000 identical lines, 10,000 distinct fingerprints), and a line added above them
 * moves them all without making one new. */
static void test_fingerprint_many_in_one_file(void **st)
{
    (void)st;
    enum { N = 10000 };
    size_t len = (size_t)N * 7 + 8;
    char *text = malloc(len + 1), *p = text;
    assert_non_null(text);
    for (int i = 0; i < N; i++)
        p += sprintf(p, "x = 1 \n"); /* trailing space: STY002 */
    struct an_result *b = an_files(NULL, "a.py", text, NULL);
    char *moved = malloc(len + 16);
    assert_non_null(moved);
    sprintf(moved, "import os\n%s", text);
    struct an_result *h = an_files(NULL, "a.py", moved, NULL);
    assert_int_equal(tb_rule(b, "STY002"), N);
    assert_int_equal(b->nfingerprints, N + 1); /* and SIZ001: a file this long */
    for (size_t i = 1; i < b->nfingerprints; i++)
        assert_true(b->fingerprints[i - 1] < b->fingerprints[i]); /* sorted, all distinct */
    assert_int_equal(h->nfingerprints, N + 1);
    assert_memory_equal(h->fingerprints, b->fingerprints, (N + 1) * sizeof(uint64_t));
    assert_int_equal(an_classify(h, b), SG_OK);
    assert_int_equal(h->new_findings, 0);
    assert_int_equal(h->fixed_findings, 0);
    an_result_free(b);
    an_result_free(h);
    free(text);
    free(moved);
}

/* Files before .singularity.yml in git's order (`.github/` and `.gitlab/` sort before it) are held
 * back until it is read; past the hold-back budget (16 MiB) they are analysed provisionally and
 * judged again under it. Three 9 MiB files: the first is held back, the other two are provisional;
 * the excluded ones' fingerprints leave the set with their findings, the kept one's stay. */
static void test_fingerprint_files_before_the_config(void **st)
{
    (void)st;
    size_t big = 9u * 1024 * 1024;
    char *t[3];
    for (int i = 0; i < 3; i++) {
        assert_non_null(t[i] = malloc(big + 32));
        for (size_t k = 0; k + 6 <= big; k += 6)
            memcpy(t[i] + k, "x = 1\n", 6);
        sprintf(t[i] + big / 6 * 6, "# TODO: %c\n", 'a' + i);
    }
    const char *cfg = "exclude:\n  - \".github/**\"\n";
    struct an_result *r = an_files(NULL, ".github/a.py", t[0], ".github/b.py", t[1], ".gitlab/c.py",
                                   t[2], ".singularity.yml", cfg, "d.py", "# TODO: d\n", NULL);
    assert_int_equal(r->nconfig_errors, 0);
    assert_int_equal(r->skipped.excluded, 2);
    assert_int_equal(tb_rule(r, "MNT001"), 2);
    struct an_result *kept = an_files(NULL, ".gitlab/c.py", t[2], "d.py", "# TODO: d\n", NULL);
    assert_int_equal(r->nfingerprints, kept->nfingerprints); /* MNT001 x 2, SIZ001 x 1 */
    assert_memory_equal(r->fingerprints, kept->fingerprints,
                        kept->nfingerprints * sizeof(uint64_t));
    an_result_free(r);
    an_result_free(kept);
    for (int i = 0; i < 3; i++)
        free(t[i]);
}

/* gate cases: base has an old secret; head adds what `add` says, under the given config */
static struct an_result *gate_case(const char *cfg, const char *add, bool with_base)
{
    static const char *const old = "k = 'AKIAZ4ZJQK3P7WV6LXRM'\nx = 1\n";
    char head[4096];
    snprintf(head, sizeof head, "%s%s", old, add);
    struct an_result *h = an_files(NULL, ".singularity.yml", cfg, "a.py", head, NULL);
    if (with_base) {
        struct an_result *b = an_files(NULL, ".singularity.yml", cfg, "a.py", old, NULL);
        assert_int_equal(an_classify(h, b), SG_OK);
        an_result_free(b);
    }
    return h;
}

static void expect_gate(const char *cfg, const char *add, bool with_base, bool passed,
                        const char *reason)
{
    struct an_result *h = gate_case(cfg, add, with_base);
    assert_int_equal(h->nconfig_errors, 0);
    if (h->passed != passed || (reason && !strstr(h->gate_reasons[0], reason)))
        fail_msg("cfg %s add %s: passed %d, reason %s", cfg, add, h->passed,
                 h->ngate_reasons ? h->gate_reasons[0] : "-");
    an_result_free(h);
}

static void test_gate_settings(void **st)
{
    (void)st;
    /* default: scope new, fail_on error, max_score_drop 0.5 */
    expect_gate("{}", "", true, true, "no new finding of severity error");
    expect_gate("{}", "t = 'ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1'\n", true, false,
                "1 new finding of severity error or above");
    expect_gate("{}", "", false, false, "1 finding of severity error"); /* no base: overall */
    /* scope overall: the old secret fails even a clean change */
    expect_gate("gate: {scope: overall}", "", true, false, NULL);
    /* fail_on: a new long line (warning) */
    char longl[300];
    memset(longl, 'a', 200);
    strcpy(longl + 200, "\n");
    expect_gate("gate: {fail_on: warning, max_score_drop: 10}", longl, true, false,
                "new finding of severity warning");
    expect_gate("gate: {fail_on: error, max_score_drop: 10}", longl, true, true, NULL);
    expect_gate("gate: {fail_on: notice, max_score_drop: 10}", "# TODO: n\n", true, false,
                "severity notice");
    expect_gate("gate: {fail_on: none, max_score_drop: 10}",
                "t = 'ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1'\n", true, true, "fail_on is none");
    /* max_score_drop: a new warning lowers the score of this tiny file a lot */
    expect_gate("gate: {fail_on: none, max_score_drop: 0.1}", longl, true, false,
                "more than max_score_drop 0.1");
    /* annotate and bad values */
    struct an_result *h = gate_case("annotate: all\ngate: {scope: bad, fail_on: x}\n", "", true);
    assert_true(h->gate.annotate_all);
    assert_int_equal(h->nconfig_errors, 2);
    assert_int_equal(h->gate.fail_on, AN_ERROR);
    an_result_free(h);
}

static void test_cap_and_json_base(void **st)
{
    (void)st;
    struct sg_buf big;
    sg_buf_init(&big, 0);
    for (int i = 0; i < 500; i++)
        assert_int_equal(sg_buf_printf(&big, "v%d = 1 \n", i), SG_OK);
    struct an_options o = {.limits = {.max_findings = 5}};
    struct an_result *b = an_files(&o, "a.py", sg_buf_str(&big), NULL);
    assert_int_equal(b->nfindings, 5);
    assert_int_equal(b->nfingerprints, 500);
    struct sg_buf js;
    sg_buf_init(&js, 0);
    assert_int_equal(an_result_json(b, &js), SG_OK);
    struct an_result *bj = NULL;
    char err[256];
    assert_int_equal(an_result_from_json(sg_buf_str(&js), js.len, &bj, err, sizeof err), SG_OK);
    assert_int_equal(bj->nfingerprints, 500);
    assert_memory_equal(bj->fingerprints, b->fingerprints, 500 * sizeof(uint64_t));
    assert_int_equal(sg_buf_printf(&big, "w = 2 \n"), SG_OK);
    struct an_result *h = an_files(&o, "a.py", sg_buf_str(&big), NULL);
    assert_int_equal(an_classify(h, bj), SG_OK);
    assert_int_equal(h->new_findings, 1);
    assert_int_equal(h->existing_findings, 500);
    /* hostile bases are refused with a reason, never crash */
    static const char *const bad[] = {"",
                                      "[]",
                                      "{\"score\":5}",
                                      "{\"score\":11,\"fingerprints\":[]}",
                                      "{\"score\":5,\"fingerprints\":[\"xyz\"]}",
                                      "{\"score\":5,\"fingerprints\":[],\"findings\":[{}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct an_result *x = NULL;
        assert_int_not_equal(an_result_from_json(bad[i], strlen(bad[i]), &x, err, sizeof err),
                             SG_OK);
        assert_null(x);
        assert_true(err[0] != '\0');
    }
    sg_buf_free(&big);
    sg_buf_free(&js);
    an_result_free(b);
    an_result_free(bj);
    an_result_free(h);
}

/* The fingerprint is stored in PostgreSQL and JSON results, so its value may never change: two
 * values computed when it was defined, a short line and a long one (word-at-a-time hashing, a tab,
 * UTF-8 bytes, white space inside). */
static void test_fingerprint_values_are_stable(void **st)
{
    (void)st;
    struct an_result *a = an_files(NULL, "a.py", "x = 1\n# TODO: one\ny = 2\n", NULL);
    assert_int_equal(fp_of(a, "MNT001", 2), 0x670a1f860e99addeull);
    char line[400];
    int n = snprintf(line, sizeof line, "x = 1\nvalue = \"");
    for (int i = 0; i < 12; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "abcdefgh");
    snprintf(
        line + n, sizeof line - (size_t)n, "%s",
        "\" + \"\t\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "  zzzzzzzzz\"  # long\n");
    struct an_result *b = an_files(NULL, "a.py", line, NULL);
    assert_int_equal(fp_of(b, "STY001", 2), 0x98af660bf374097cull);
    an_result_free(a);
    an_result_free(b);
}

/* The definition, one byte at a time: the text without ' ' \t \n \v \f \r in little-endian
 * 8-byte words (the last zero-padded), then the kept length, then a NUL. */
static uint64_t fp_text_ref(uint64_t h, const unsigned char *t, size_t n)
{
    uint64_t w = 0, kept = 0;
    unsigned fill = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == ' ' || (t[i] >= '\t' && t[i] <= '\r'))
            continue;
        w |= (uint64_t)t[i] << (8 * fill);
        kept++;
        if (++fill == 8) {
            h = (h ^ w) * 0x100000001b3ull;
            w = 0;
            fill = 0;
        }
    }
    if (fill)
        h = (h ^ w) * 0x100000001b3ull;
    h = (h ^ kept) * 0x100000001b3ull;
    return h * 0x100000001b3ull; /* the NUL: (h ^ 0) * prime */
}

/* The engine reads the text a word at a time; on every mix of white space, near-white-space
 * bytes (0x08, 0x0e, 0x1f, 0x21) and bytes with the high bit set (0x89, 0xa0: white space plus
 * 0x80), at every length and alignment, it agrees with the definition. */
static void test_fingerprint_text_word_at_a_time(void **st)
{
    (void)st;
    static const unsigned char palette[] = {' ',  '\t', '\n', '\v', '\f', '\r', 0x08, 0x0e, 0x1f,
                                            0x21, 'a',  'Z',  '0',  0x89, 0xa0, 0x8d, 0xff, 0x7f};
    unsigned char buf[300];
    uint64_t x = 1;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 97) + (round % 5 == 0 ? 150 : 0);
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            /* runs of one class make whole-word paths (all kept, all blank) likely too */
            buf[i] = (round & 1) && i > 0 && (x >> 60) < 12 ? buf[i - 1]
                                                            : palette[(x >> 33) % sizeof palette];
        }
        size_t off = (size_t)round % 3;
        assert_int_equal(an_fp_text(0xcbf29ce484222325ull, buf + off, n > off ? n - off : 0),
                         fp_text_ref(0xcbf29ce484222325ull, buf + off, n > off ? n - off : 0));
    }
}

/* Sorting keeps each fingerprint with its severity, for empty, tiny and large sets, including
 * sets whose keys share bytes (passes that are skipped). */
static void test_fingerprint_sort(void **st)
{
    (void)st;
    size_t sizes[] = {0, 1, 2, 1000, 65535, 65536, 300000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint64_t *fp = malloc((n + 1) * sizeof *fp);
        uint8_t *sev = malloc(n + 1);
        assert_non_null(fp);
        assert_non_null(sev);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = (uint64_t)(n - i) * 0x9e3779b97f4a7c15ull;
            fp[i] = k % 2 ? v & 0xffff00000000ffffull : v; /* odd sizes: middle digits equal */
            sev[i] = (uint8_t)(fp[i] >> 56);
        }
        assert_true(an_fingerprints_sort(fp, sev, n));
        for (size_t i = 0; i < n; i++) {
            if (i)
                assert_true(fp[i - 1] <= fp[i]);
            assert_int_equal(sev[i], (uint8_t)(fp[i] >> 56));
        }
        free(fp);
        free(sev);
    }
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* 100,000 findings in base and head, 90% shared: classification time printed for the notes. */
static void test_classify_100k_timed(void **st)
{
    (void)st;
    enum { N = 100000 };
    struct an_result *b = calloc(1, sizeof *b), *h = calloc(1, sizeof *h);
    assert_non_null(b);
    assert_non_null(h);
    b->fingerprints = malloc(N * sizeof(uint64_t));
    b->fingerprint_severity = calloc(N, 1);
    h->fingerprints = malloc(N * sizeof(uint64_t));
    h->fingerprint_severity = calloc(N, 1);
    for (uint64_t i = 0; i < N; i++) {
        b->fingerprints[i] = mix(i);
        h->fingerprints[i] = mix(i < N * 9 / 10 ? i : i + N);
    }
    b->nfingerprints = h->nfingerprints = N;
    int64_t t0 = sg_mono_us();
    /* the engine hands sorted sets; sorting is part of what a job pays, so it is timed too */
    assert_true(an_fingerprints_sort(b->fingerprints, b->fingerprint_severity, N));
    assert_true(an_fingerprints_sort(h->fingerprints, h->fingerprint_severity, N));
    int64_t t1 = sg_mono_us();
    assert_int_equal(an_classify(h, b), SG_OK);
    int64_t t2 = sg_mono_us();
    assert_int_equal(h->new_findings, N / 10);
    assert_int_equal(h->fixed_findings, N / 10);
    assert_int_equal(h->existing_findings, N * 9 / 10);
    printf("classify 100000+100000 findings: sort %.2f ms, classify %.2f ms\n",
           (double)(t1 - t0) / 1000.0, (double)(t2 - t1) / 1000.0);
    an_result_free(b);
    an_result_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_moves_and_edits),
        cmocka_unit_test(test_fingerprint_duplicates_and_paths),
        cmocka_unit_test(test_fingerprint_rename),
        cmocka_unit_test(test_fingerprint_file_rules_ignore_line_text),
        cmocka_unit_test(test_fingerprint_values_are_stable),
        cmocka_unit_test(test_fingerprint_text_word_at_a_time),
        cmocka_unit_test(test_fingerprint_sort),
        cmocka_unit_test(test_fingerprint_many_in_one_file),
        cmocka_unit_test(test_fingerprint_files_before_the_config),
        cmocka_unit_test(test_gate_settings),
        cmocka_unit_test(test_cap_and_json_base),
        cmocka_unit_test(test_classify_100k_timed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
