/* Why: what users read on GitHub is rendered by worker/wk_checkrun.c; these tests pin its contract:
 * the conclusion rule, the title format "Quality 8.4/10 (+0.3 vs base) · N findings", GitHub's
 * size limits (title 255, summary 65535, annotation title 255) with truncation at safe points,
 * annotation levels and titles, the annotation cap and its note, the base comparison, and only
 * valid UTF-8 in everything sent (GitHub refuses the whole request otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wk_checkrun.h"
#include "sg_utf8.h"

static struct an_language langs[] = {
    {"C", {3, 900, 120, 80, 0, 140}},
    {"Python", {1, 100, 10, 5, 0, 12}},
};
static struct an_rule_count rules[] = {{"MNT001", 1}, {"SEC002", 1}, {"STY001", 2}};

static struct an_finding findings[] = {
    {"SEC002", AN_ERROR, "src/aws.c", 12, "AWS access key id AKIA...MPLE", 0, AN_UNCLASSIFIED},
    {"STY001", AN_WARNING, "src/main.c", 40, "line is 140 characters long (max 120)", 0,
     AN_UNCLASSIFIED},
    {"STY001", AN_WARNING, "src/main.c", 41, "line is 130 characters long (max 120)", 0,
     AN_UNCLASSIFIED},
    {"MNT001", AN_NOTICE, "src/util.py", 5, "FIXME in a comment", 0, AN_UNCLASSIFIED},
};

static void base_result(struct an_result *r)
{
    memset(r, 0, sizeof *r);
    r->score = 8.4;
    r->threshold = 7.0;
    r->passed = false;
    r->totals = (struct an_counts){4, 1000, 130, 85, 40000, 152};
    r->languages = langs;
    r->nlanguages = 2;
    r->findings = findings;
    r->nfindings = 4;
    r->findings_total = 4;
    r->rule_counts = rules;
    r->nrule_counts = 3;
}

static void test_title_and_conclusion(void **state)
{
    struct an_result r;
    struct wk_checkrun_output out;
    base_result(&r);
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 8.4/10 · 4 findings");
    /* an error-severity finding fails the check even with a good score */
    assert_string_equal(out.conclusion, "failure");
    assert_non_null(strstr(out.summary, "severity **error**"));
    wk_checkrun_output_free(&out);

    /* no error finding and score >= threshold: success */
    r.findings = findings + 1;
    r.nfindings = 3;
    r.findings_total = 3;
    r.passed = true;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_string_equal(out.conclusion, "success");
    assert_string_equal(out.title, "Quality 8.4/10 · 3 findings");
    wk_checkrun_output_free(&out);

    /* below the threshold: failure */
    r.score = 6.96; /* one decimal: 7.0 reaches 7.0 */
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_string_equal(out.conclusion, "success");
    assert_string_equal(out.title, "Quality 7.0/10 · 3 findings");
    wk_checkrun_output_free(&out);
    r.score = 6.9;
    r.passed = false;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_string_equal(out.conclusion, "failure");
    assert_non_null(strstr(out.summary, "below the threshold"));
    wk_checkrun_output_free(&out);

    /* no findings, one finding */
    r.nfindings = 0;
    r.findings_total = 0;
    r.nrule_counts = 0;
    r.score = 10;
    r.passed = true;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 10.0/10 · no findings");
    assert_int_equal(out.nannotations, 0);
    assert_null(out.annotations);
    wk_checkrun_output_free(&out);
    r.nfindings = 1;
    r.findings_total = 1;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 10.0/10 · 1 finding");
    wk_checkrun_output_free(&out);
}

static void test_annotations(void **state)
{
    struct an_result r;
    struct wk_checkrun_output out;
    base_result(&r);
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_int_equal(out.nannotations, 4);
    assert_string_equal(out.annotations[0].path, "src/aws.c");
    assert_int_equal(out.annotations[0].start_line, 12);
    assert_int_equal(out.annotations[0].end_line, 12);
    assert_string_equal(out.annotations[0].annotation_level, "failure");
    assert_string_equal(out.annotations[0].title, "SEC002 AWS access key id");
    assert_string_equal(out.annotations[0].message, "AWS access key id AKIA...MPLE");
    assert_string_equal(out.annotations[1].annotation_level, "warning");
    assert_string_equal(out.annotations[3].annotation_level, "notice");
    assert_int_equal(out.annotations_omitted, 0);
    wk_checkrun_output_free(&out);
    assert_string_equal(wk_checkrun_level(AN_ERROR), "failure");
    assert_string_equal(wk_checkrun_level(AN_WARNING), "warning");
    assert_string_equal(wk_checkrun_level(AN_NOTICE), "notice");
}

static void test_annotation_cap_and_note(void **state)
{
    enum { N = 130 };
    static struct an_finding many[N];
    for (int i = 0; i < N; i++)
        many[i] = (struct an_finding){
            "STY002", AN_NOTICE,      "a.c", (uint32_t)i + 1, "trailing white space",
            0,        AN_UNCLASSIFIED};
    struct an_rule_count rc[] = {{"STY002", 500}};
    struct an_result r;
    base_result(&r);
    r.findings = many;
    r.nfindings = N;
    r.findings_total = 500; /* the engine kept 130 of 500 */
    r.rule_counts = rc;
    r.nrule_counts = 1;
    struct wk_checkrun_render_opts o = {.max_annotations = 100};
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, NULL, &o, &out), SG_OK);
    assert_int_equal(out.nannotations, 100);
    assert_int_equal(out.annotations_omitted, 400);
    assert_non_null(
        strstr(out.summary, "100 findings are shown as annotations; 400 more are not annotated"));
    assert_non_null(strstr(out.summary, "| STY002 | Trailing whitespace | notice | 500 |"));
    wk_checkrun_output_free(&out);
}

static void test_base_comparison(void **state)
{
    struct an_result r;
    base_result(&r);
    struct an_rule_count brules[] = {{"GIT001", 2}, {"STY001", 5}};
    struct wk_checkrun_base b = {.sha = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
                                 .score = 8.1,
                                 .totals = {4, 950, 120, 80, 38000, 160},
                                 .findings_total = 7,
                                 .rule_counts = brules,
                                 .nrule_counts = 2};
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, &b, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 8.4/10 (+0.3 vs base) · 4 findings");
    assert_non_null(strstr(out.summary, "### Compared with the base commit `f95f852bd8fc`"));
    assert_non_null(strstr(out.summary, "| Score | 8.1 | 8.4 | +0.3 |"));
    assert_non_null(strstr(out.summary, "| Findings | 7 | 4 | -3 |"));
    assert_non_null(strstr(out.summary, "| Lines of code | 950 | 1000 | +50 |"));
    assert_non_null(strstr(out.summary, "| SEC002 | AWS access key id | error | 1 | +1 |"));
    assert_non_null(strstr(out.summary, "| STY001 | Line too long | warning | 2 | -3 |"));
    /* fixed since the base: listed with count 0 */
    assert_non_null(strstr(out.summary, "| GIT001 | Merge conflict marker | — | 0 | -2 |"));
    wk_checkrun_output_free(&out);

    /* a worse score, and a base built from a full result */
    struct an_result br;
    base_result(&br);
    br.score = 9.0;
    wk_checkrun_base_from_result(&br, NULL, &b);
    assert_int_equal(wk_checkrun_render(&r, &b, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 8.4/10 (-0.6 vs base) · 4 findings");
    wk_checkrun_output_free(&out);
    br.score = 8.4;
    wk_checkrun_base_from_result(&br, NULL, &b);
    assert_int_equal(wk_checkrun_render(&r, &b, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 8.4/10 (+0.0 vs base) · 4 findings");
    wk_checkrun_output_free(&out);

    /* a base scored by another engine: shown, marked, not compared */
    br.score = 3.1;
    wk_checkrun_base_from_result(&br, NULL, &b);
    b.engine_version = "1";
    assert_int_equal(wk_checkrun_render(&r, &b, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 8.4/10 (new score formula) · 4 findings");
    assert_non_null(strstr(out.summary, "| Score | 3.1 (engine 1) | 8.4 (engine " AN_ENGINE_VERSION
                                        ") | new formula, not compared |"));
    assert_null(strstr(out.summary, "+5.3"));
    wk_checkrun_output_free(&out);
    b.engine_version = AN_ENGINE_VERSION; /* the same engine: compared as usual */
    assert_int_equal(wk_checkrun_render(&r, &b, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 8.4/10 (+5.3 vs base) · 4 findings");
    wk_checkrun_output_free(&out);
}

/* One line under the heading says why the score is what it is: what each kind of debt costs. */
static void test_score_explained(void **state)
{
    struct an_result r;
    base_result(&r);
    r.breakdown[AN_DEBT_SECRETS] = (struct an_debt_cost){1.2, 1, 1};
    r.breakdown[AN_DEBT_STYLE] = (struct an_debt_cost){0.4, 2, 1};
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_non_null(strstr(out.summary, "(threshold 7.0)\n\n**Why 8.4:** -1.2 for 1 committed "
                                        "secret, -0.4 for 2 style findings in 1 file.\n\n"));
    wk_checkrun_output_free(&out);
    r.score = 10.0;
    memset(r.breakdown, 0, sizeof r.breakdown);
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_non_null(strstr(out.summary, "**Why 10.0:** nothing costs points.\n"));
    wk_checkrun_output_free(&out);
}

static void test_summary_sections(void **state)
{
    struct an_result r;
    base_result(&r);
    char *errs[] = {".singularity.yml:3: max_line_length: expected an integer", "bad `tick`"};
    r.config_errors = errs;
    r.nconfig_errors = 2;
    r.skipped.binary = 3;
    r.skipped.vendored = 10;
    struct wk_checkrun_render_opts o = {.details_url = "https://singularity.example/a/42"};
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, NULL, &o, &out), SG_OK);
    const char *s = out.summary;
    assert_non_null(strstr(s, "## Quality 8.4/10 — failed (threshold 7.0)\n\n**Why 8.4:** "));
    assert_non_null(strstr(s, "| Language | Files | Code | Comments | Blank | Complexity |"));
    assert_non_null(strstr(s, "| C | 3 | 900 | 120 | 80 | 140 |"));
    assert_non_null(strstr(s, "| **Total** | 4 | 1000 | 130 | 85 | 152 |"));
    assert_non_null(strstr(s, "### Findings by rule"));
    assert_non_null(strstr(s, "- `.singularity.yml:3: max_line_length: expected an integer`"));
    assert_non_null(strstr(s, "- `bad 'tick'`")); /* a backtick cannot break the code span */
    assert_non_null(strstr(s, "13 files not analysed: 3 binary, 10 vendored."));
    assert_non_null(strstr(s, "[Details](https://singularity.example/a/42)"));
    assert_null(strstr(s, "vs base"));
    wk_checkrun_output_free(&out);
}

static void test_limits(void **state)
{
    /* a summary far over 65535 bytes (thousands of config errors) is cut at a line with a note */
    enum { NERR = 4000 };
    static char *errs[NERR];
    static char buf[NERR][64];
    for (int i = 0; i < NERR; i++) {
        snprintf(buf[i], sizeof buf[i], ".singularity.yml:%d: unknown key \"é%d\"", i + 1, i);
        errs[i] = buf[i];
    }
    struct an_result r;
    base_result(&r);
    r.config_errors = errs;
    r.nconfig_errors = NERR;
    /* a finding whose message and path are huge and whose title would be long */
    static char longmsg[70000];
    memset(longmsg, 'x', sizeof longmsg - 1);
    memcpy(longmsg + 65533, "ééé", 6); /* a 2-byte character straddles the limit */
    struct an_finding f[] = {{"SEC001", AN_ERROR, "k.pem", 0, longmsg, 0, AN_UNCLASSIFIED}};
    r.findings = f;
    r.nfindings = 1;
    r.findings_total = 1;
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    size_t len = strlen(out.summary);
    assert_true(len <= WK_CHECKRUN_SUMMARY_MAX);
    assert_true(len > 60000);
    assert_non_null(strstr(out.summary, "cut here to fit GitHub's 65535-character limit"));
    assert_true(strlen(out.title) <= WK_CHECKRUN_TITLE_MAX);
    size_t ml = strlen(out.annotations[0].message);
    assert_true(ml <= WK_CHECKRUN_ANNOTATION_MESSAGE_MAX);
    assert_true(ml >= 65533);
    /* never half a UTF-8 character at the cut */
    assert_true(((unsigned char)out.annotations[0].message[ml - 1] & 0xC0) != 0xC0);
    assert_int_equal(out.annotations[0].start_line, 1); /* line 0 becomes 1 */
    assert_string_equal(out.annotations[0].title, "SEC001 Private key");
    wk_checkrun_output_free(&out);
    wk_checkrun_output_free(&out); /* freeing twice is safe */
}

static void test_failure_output(void **state)
{
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render_failure(NULL, "The tarball could not be read.", &out),
                     SG_OK);
    assert_string_equal(out.conclusion, "failure");
    assert_string_equal(out.title, "Analysis failed");
    assert_string_equal(out.summary, "The tarball could not be read.");
    assert_int_equal(out.nannotations, 0);
    wk_checkrun_output_free(&out);
    assert_int_equal(wk_checkrun_render(NULL, NULL, NULL, &out), SG_ERR_INVALID);
}

static bool str_valid(const char *s)
{
    return s && sg_utf8_valid(s, strlen(s));
}

static void assert_output_utf8(const struct wk_checkrun_output *out)
{
    assert_true(str_valid(out->title));
    assert_true(str_valid(out->summary));
    for (size_t i = 0; i < out->nannotations; i++) {
        assert_true(str_valid(out->annotations[i].path));
        assert_true(str_valid(out->annotations[i].title));
        assert_true(str_valid(out->annotations[i].message));
    }
}

static void test_invalid_utf8_replaced(void **state)
{
    /* a tarball entry named inv\xff\xfe, a message with a surrogate, config errors cut inside a
     * 3-byte character and with an overlong, a language name that is not UTF-8 */
    struct an_result r;
    base_result(&r);
    struct an_finding f[] = {
        {"SEC002", AN_ERROR, "dir/inv\xff\xfe", 3, "key \xED\xA0\x80 here", 0, AN_UNCLASSIFIED},
        {"STY001", AN_WARNING, "ok/\xC3\xA9t\xC3\xA9.c", 1, "cut \xE2\x82", 0, AN_UNCLASSIFIED},
    };
    r.findings = f;
    r.nfindings = 2;
    r.findings_total = 2;
    char *errs[] = {".singularity.yml:1: unknown key \"\xE2\x82\"", "x \xC0\xAF y"};
    r.config_errors = errs;
    r.nconfig_errors = 2;
    struct an_language l[] = {{"Bad\xFF", {1, 1, 0, 0, 0, 0}}};
    r.languages = l;
    r.nlanguages = 1;
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_output_utf8(&out);
    assert_string_equal(out.annotations[0].path, "dir/inv" SG_UTF8_REPLACEMENT SG_UTF8_REPLACEMENT);
    assert_string_equal(out.annotations[0].message,
                        "key " SG_UTF8_REPLACEMENT SG_UTF8_REPLACEMENT SG_UTF8_REPLACEMENT " here");
    assert_string_equal(out.annotations[1].path, "ok/\xC3\xA9t\xC3\xA9.c"); /* valid: kept */
    assert_non_null(strstr(out.summary, "unknown key \"" SG_UTF8_REPLACEMENT SG_UTF8_REPLACEMENT));
    assert_non_null(strstr(out.summary, "| Bad" SG_UTF8_REPLACEMENT " |"));
    wk_checkrun_output_free(&out);
}

static void test_cuts_between_characters(void **state)
{
    /* for each character width, a cut at the limit falls 1..width-1 bytes into a character */
    static const char *chars[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
    for (size_t c = 0; c < 3; c++) {
        size_t w = strlen(chars[c]);
        for (size_t into = 1; into < w; into++) {
            static char msg[WK_CHECKRUN_SUMMARY_MAX + 16];
            size_t pre = WK_CHECKRUN_SUMMARY_MAX - into;
            memset(msg, 'm', pre);
            memcpy(msg + pre, chars[c], w);
            msg[pre + w] = '\0';
            char title[WK_CHECKRUN_TITLE_MAX + 16];
            memset(title, 't', WK_CHECKRUN_TITLE_MAX - into);
            memcpy(title + WK_CHECKRUN_TITLE_MAX - into, chars[c], w);
            title[WK_CHECKRUN_TITLE_MAX - into + w] = '\0';
            struct wk_checkrun_output out;
            assert_int_equal(wk_checkrun_render_failure(title, msg, &out), SG_OK);
            assert_output_utf8(&out);
            assert_int_equal(strlen(out.summary), pre); /* the whole character is dropped */
            assert_int_equal(strlen(out.title), WK_CHECKRUN_TITLE_MAX - into);
            wk_checkrun_output_free(&out);

            struct an_result r;
            base_result(&r);
            struct an_finding f[] = {{"SEC001", AN_ERROR, "k.pem", 1, msg, 0, AN_UNCLASSIFIED}};
            r.findings = f;
            r.nfindings = 1;
            r.findings_total = 1;
            assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
            assert_output_utf8(&out);
            assert_int_equal(strlen(out.annotations[0].message), pre);
            wk_checkrun_output_free(&out);
        }
    }
    /* a summary over the limit made of one long line (no line break to cut at) */
    static char big[WK_CHECKRUN_SUMMARY_MAX * 2];
    for (size_t i = 0; i + 4 < sizeof big; i += 3)
        memcpy(big + i, "\xE2\x82\xAC", 3);
    big[sizeof big - 1] = '\0';
    char *errs[] = {big, "tail \xFF"};
    struct an_result r;
    base_result(&r);
    r.config_errors = errs;
    r.nconfig_errors = 2;
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_output_utf8(&out);
    assert_true(strlen(out.summary) <= WK_CHECKRUN_SUMMARY_MAX);
    wk_checkrun_output_free(&out);
}

/* With a base (DESIGN.md section 9): the gate decides, the title counts new findings, the summary
 * opens with the verdict, and only new findings are annotated unless `annotate: all`. */
static void test_judges_the_change(void **state)
{
    (void)state;
    struct an_finding f[4];
    memcpy(f, findings, sizeof f);
    f[0].status = AN_EXISTING; /* the old AWS key: no annotation, no failure */
    f[1].status = AN_NEW;
    f[2].status = AN_EXISTING;
    f[3].status = AN_EXISTING;
    struct an_result r;
    base_result(&r);
    r.findings = f;
    r.has_base = true;
    r.base_score = 8.1;
    r.new_findings = 1;
    r.fixed_findings = 2;
    r.existing_findings = 3;
    r.passed = true;
    char reason[] = "no new finding of severity error or above and the score did not fall more "
                    "than 0.5";
    char *reasons[] = {reason};
    r.gate_reasons = reasons;
    r.ngate_reasons = 1;
    r.gate = (struct an_gate_cfg){.fail_on = AN_ERROR, .max_score_drop = 0.5};
    double trend[] = {7.9, 7.9, 8.1, 8.1, 8.4};
    struct wk_checkrun_render_opts o = {.trend = trend, .ntrend = 5};
    struct wk_checkrun_output out;
    assert_int_equal(wk_checkrun_render(&r, NULL, &o, &out), SG_OK);
    assert_string_equal(out.title, "Quality 8.4/10 (+0.3) · 1 new finding");
    assert_string_equal(out.conclusion, "success"); /* the old error finding does not fail it */
    assert_true(strncmp(out.summary, "## ✅ Passed\n\n- no new finding", 30) == 0);
    assert_non_null(
        strstr(out.summary, "### New findings\n\n- **STY001** warning `src/main.c:40`"));
    assert_non_null(strstr(out.summary, "**1 new · 2 fixed · 3 existing**"));
    assert_non_null(strstr(out.summary, "▄▄▅▅▇ 7.9 → 8.4"));
    assert_null(strstr(out.summary, "severity **error**"));
    /* the tables' heading does not contradict the verdict: the threshold did not decide it */
    assert_non_null(strstr(out.summary, "## Whole repository: 8.4/10 (threshold 7.0, applied only "
                                        "with `gate.scope: overall`)\n"));
    assert_null(strstr(out.summary, "— passed"));
    assert_null(strstr(out.summary, "— failed"));
    assert_int_equal(out.nannotations, 1);
    assert_string_equal(out.annotations[0].path, "src/main.c");
    assert_int_equal(out.annotations[0].start_line, 40);
    wk_checkrun_output_free(&out);

    r.gate.annotate_all = true;
    r.new_findings = 0;
    r.passed = false;
    r.score = 7.0;
    assert_int_equal(wk_checkrun_render(&r, NULL, NULL, &out), SG_OK);
    assert_string_equal(out.title, "Quality 7.0/10 (-1.1) · no new findings");
    assert_string_equal(out.conclusion, "failure");
    assert_true(strncmp(out.summary, "## ❌ Failed\n", strlen("## ❌ Failed\n")) == 0);
    assert_int_equal(out.nannotations, 4);
    wk_checkrun_output_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_title_and_conclusion),
        cmocka_unit_test(test_annotations),
        cmocka_unit_test(test_annotation_cap_and_note),
        cmocka_unit_test(test_base_comparison),
        cmocka_unit_test(test_score_explained),
        cmocka_unit_test(test_summary_sections),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_failure_output),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_cuts_between_characters),
        cmocka_unit_test(test_judges_the_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
