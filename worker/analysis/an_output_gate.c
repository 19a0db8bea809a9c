/* Why: owns the new-code gate's part of the JSON and SARIF outputs (DESIGN.md section 9), apart
 * from an_output.c's fields of section 5: each finding's fingerprint and status, the base's
 * summary, the fixed findings, the gate's verdict, and every fingerprint of the analysis, which is
 * what lets a printed JSON result serve as a later --base. */
#include <string.h>

#include "an_internal.h"

static const char *an_status_str(enum an_status s)
{
    return s == AN_NEW ? "new" : "existing";
}

enum sg_err an_json_finding_gate(const struct an_result *r, const struct an_finding *f,
                                 struct sg_buf *b)
{
    char hex[17];
    an_fingerprint_hex(f->fingerprint, hex);
    CK(sg_buf_printf(b, ",\"fingerprint\":\"%s\"", hex));
    if (r->has_base && f->status != AN_UNCLASSIFIED)
        CK(sg_buf_printf(b, ",\"status\":\"%s\"", an_status_str(f->status)));
    return SG_OK;
}

static enum sg_err an_num(struct sg_buf *b, double v)
{
    return sg_buf_printf(b, "%.1f", v);
}

enum sg_err an_json_gate(const struct an_result *r, struct sg_buf *b)
{
    if (r->has_base) {
        CK(sg_buf_puts(b, ",\"base\":{\"score\":"));
        CK(an_num(b, r->base_score));
        CK(sg_buf_printf(b,
                         ",\"findings\":%llu},\"new_findings\":%llu,\"fixed_findings\":%llu,"
                         "\"fixed\":[",
                         (unsigned long long)r->base_findings, (unsigned long long)r->new_findings,
                         (unsigned long long)r->fixed_findings));
        for (size_t i = 0; i < r->nfixed; i++) {
            const struct an_finding *f = &r->fixed[i];
            char hex[17];
            an_fingerprint_hex(f->fingerprint, hex);
            CK(sg_buf_printf(b, "%s{\"rule\":\"%s\",\"path\":", i ? "," : "", f->rule));
            CK(sg_buf_put_json_str(b, f->path, strlen(f->path)));
            CK(sg_buf_puts(b, ",\"message\":"));
            CK(sg_buf_put_json_str(b, f->message, strlen(f->message)));
            CK(sg_buf_printf(b, ",\"fingerprint\":\"%s\"}", hex));
        }
        CK(sg_buf_putc(b, ']'));
    }
    CK(sg_buf_printf(b, ",\"gate\":{\"scope\":\"%s\",\"passed\":%s,\"reasons\":[",
                     r->has_base && !r->gate.scope_overall ? "new" : "overall",
                     r->passed ? "true" : "false"));
    for (size_t i = 0; i < r->ngate_reasons; i++) {
        if (i)
            CK(sg_buf_putc(b, ','));
        CK(sg_buf_put_json_str(b, r->gate_reasons[i], strlen(r->gate_reasons[i])));
    }
    /* every fingerprint, also beyond the findings cap: this result can be a later --base */
    CK(sg_buf_puts(b, "]},\"fingerprints\":["));
    /* a million of them in a Linux-sized analysis: written by hand, not by printf */
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < r->nfingerprints; i++) {
        char item[20], *p = item;
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (int k = 60; k >= 0; k -= 4)
            *p++ = digits[(r->fingerprints[i] >> k) & 15];
        *p++ = '"';
        CK(sg_buf_append(b, item, (size_t)(p - item)));
    }
    return sg_buf_putc(b, ']');
}

enum sg_err an_sarif_result_gate(const struct an_result *r, const struct an_finding *f,
                                 struct sg_buf *b)
{
    char hex[17];
    an_fingerprint_hex(f->fingerprint, hex);
    CK(sg_buf_printf(b, ",\"partialFingerprints\":{\"singularity/v1\":\"%s\"}", hex));
    if (f->status != AN_UNCLASSIFIED)
        CK(sg_buf_printf(b, ",\"baselineState\":\"%s\"",
                         f->status == AN_NEW ? "new" : "unchanged"));
    else if (r->has_base) /* a fixed one, printed from the base */
        CK(sg_buf_puts(b, ",\"baselineState\":\"absent\""));
    return SG_OK;
}

enum sg_err an_table_gate(const struct an_result *r, struct sg_buf *b)
{
    if (!r->has_base)
        CK(sg_buf_printf(b, "\nQuality %.1f/10 (threshold %.1f): %s\n", r->score, r->threshold,
                         r->passed ? "passed" : "FAILED"));
    else
        CK(sg_buf_printf(b, "\nQuality %.1f/10 (%+.1f against the base's %.1f), gate %s: %s\n",
                         r->score, r->score - r->base_score, r->base_score,
                         r->gate.scope_overall ? "overall" : "new",
                         r->passed ? "passed" : "FAILED"));
    CK(sg_buf_puts(b, "  ")); /* why the score is what it is */
    CK(an_score_explain(r, b));
    CK(sg_buf_putc(b, '\n'));
    for (size_t i = 0; i < r->ngate_reasons; i++)
        CK(sg_buf_printf(b, "  %s\n", r->gate_reasons[i]));
    if (!r->has_base)
        return SG_OK;
    CK(sg_buf_printf(b, "Against the base: %llu new, %llu fixed, %llu existing\n",
                     (unsigned long long)r->new_findings, (unsigned long long)r->fixed_findings,
                     (unsigned long long)r->existing_findings));
    size_t shown = 0;
    for (size_t i = 0; i < r->nfindings && shown < 20; i++) {
        const struct an_finding *f = &r->findings[i];
        if (f->status != AN_NEW)
            continue;
        char sp[512];
        size_t j = 0;
        for (; f->path[j] && j + 1 < sizeof sp; j++) /* no escape sequences from file names */
            sp[j] = ((unsigned char)f->path[j] < 0x20 || f->path[j] == 0x7f) ? '?' : f->path[j];
        sp[j] = '\0';
        CK(sg_buf_printf(b, "  new %-7s %s %s:%u: %s\n", an_severity_str(f->severity), f->rule, sp,
                         f->line, f->message));
        shown++;
    }
    return SG_OK;
}
