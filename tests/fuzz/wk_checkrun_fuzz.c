/* Why: paths, messages and config errors in an analysis come from the analysed repository, i.e.
 * from outside; the check-run renderer must keep every output within GitHub's limits and valid
 * UTF-8 (GitHub refuses a whole request for one bad byte) whatever they contain. Input:
 * NUL-separated strings used as finding paths and messages and as config errors; the first bytes
 * pick counts and scores. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_checkrun.h"
#include "sg_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Within max bytes and valid UTF-8. */
static int fits(const char *s, size_t max)
{
    size_t len = strlen(s);
    return len <= max && sg_utf8_valid(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *rules[] = {"SEC001", "SEC002", "STY001", "MNT001", "ZZZ999"};
    if (size < 4)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data + 4, size - 4);
    s[size - 4] = '\0';
    char *strs[64];
    size_t n = 0;
    for (char *p = s; p < s + (size - 4) && n < 64; p += strlen(p) + 1)
        strs[n++] = p;
    if (n == 0)
        strs[n++] = s;
    struct an_finding fs[32];
    char *errs[32];
    size_t nf = data[0] % 32, ne = data[1] % 32;
    for (size_t i = 0; i < nf; i++) {
        fs[i].rule = rules[i % 5];
        fs[i].severity = (enum an_severity)(i % 3);
        fs[i].path = strs[i % n];
        fs[i].message = strs[(i + 1) % n];
        fs[i].line = (uint32_t)(i * 7);
        fs[i].fingerprint = i;
        fs[i].status = (data[2] >> (i % 8)) & 1 ? AN_NEW : AN_EXISTING;
    }
    for (size_t i = 0; i < ne; i++)
        errs[i] = strs[(i + 2) % n];
    struct an_rule_count rc[] = {{"SEC002", data[2]}, {"ZZZ999", 3}};
    struct an_result r;
    memset(&r, 0, sizeof r);
    r.score = data[2] / 25.5;
    r.threshold = data[3] / 25.5;
    r.passed = data[3] & 1;
    r.findings = fs;
    r.nfindings = nf;
    r.findings_total = nf + data[1];
    r.rule_counts = rc;
    r.nrule_counts = 2;
    r.config_errors = errs;
    r.nconfig_errors = ne;
    /* judged against a base (DESIGN.md section 9): verdict, reasons from the repository's bytes,
     * new findings, counts and the sparkline */
    double trend[8];
    for (size_t i = 0; i < 8; i++)
        trend[i] = data[(i + 1) % 4] / 25.5;
    if (data[1] & 2) {
        r.has_base = true;
        r.base_score = data[3] / 25.5;
        r.new_findings = nf;
        r.fixed_findings = data[2];
        r.gate_reasons = errs;
        r.ngate_reasons = ne;
        r.gate.annotate_all = data[1] & 4;
    }
    struct wk_checkrun_base b = {
        .sha = strs[0], .score = 5.0, .rule_counts = rc, .nrule_counts = 1};
    struct wk_checkrun_render_opts o = {.max_annotations = (size_t)(data[0] % 7),
                                        .details_url = strs[n - 1],
                                        .trend = trend,
                                        .ntrend = data[0] % 9};
    struct wk_checkrun_output out;
    if (wk_checkrun_render(&r, (data[1] & 1) ? &b : NULL, &o, &out) == SG_OK) {
        if (!fits(out.title, WK_CHECKRUN_TITLE_MAX) || !fits(out.summary, WK_CHECKRUN_SUMMARY_MAX))
            abort();
        for (size_t i = 0; i < out.nannotations; i++)
            if (!fits(out.annotations[i].title, WK_CHECKRUN_ANNOTATION_TITLE_MAX) ||
                !fits(out.annotations[i].message, WK_CHECKRUN_ANNOTATION_MESSAGE_MAX) ||
                !fits(out.annotations[i].path, 4096) || out.annotations[i].start_line < 1)
                abort();
        wk_checkrun_output_free(&out);
    }
    /* the failure output, cut at GitHub's limits, from the same strings */
    if (wk_checkrun_render_failure(strs[0], strs[n - 1], &out) == SG_OK) {
        if (!fits(out.title, WK_CHECKRUN_TITLE_MAX) || !fits(out.summary, WK_CHECKRUN_SUMMARY_MAX))
            abort();
        wk_checkrun_output_free(&out);
    }
    free(s);
    return 0;
}
