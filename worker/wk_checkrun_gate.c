/* Why: the part of a check run that judges the change (DESIGN.md section 9): the title's
 * "(+0.3) · 2 new findings", the summary's opening verdict and its reasons, the new findings, the
 * `new · fixed · existing` counts and the score's trend as a sparkline, which people take in at a
 * glance where a table of numbers would be skipped. Pure, like checkrun.c, which calls in here
 * only for an analysis that has a base. */
#include <stdio.h>
#include <string.h>

#include "wk_checkrun.h"
#include "wk_checkrun_internal.h"

#define NEW_LISTED_MAX 50

enum sg_err wk_checkrun_gate_title(const struct an_result *r, bool other_formula, struct sg_buf *b)
{
    double d = wk_checkrun_round1(wk_checkrun_round1(r->score) - wk_checkrun_round1(r->base_score));
    enum sg_err e = other_formula ? sg_buf_printf(b, "Quality %.1f/10 (new score formula)",
                                                  wk_checkrun_round1(r->score))
                                  : sg_buf_printf(b, "Quality %.1f/10 (%+.1f)",
                                                  wk_checkrun_round1(r->score), d == 0 ? 0.0 : d);
    if (e == SG_OK)
        e = r->new_findings
                ? sg_buf_printf(b, " · %llu new finding%s", (unsigned long long)r->new_findings,
                                r->new_findings == 1 ? "" : "s")
                : sg_buf_puts(b, " · no new findings");
    return e;
}

/* ▁▂▃▄▅▆▇█ over the series' own range, widened by half a point below and a fifth above: on the
 * absolute 0-10 scale a branch moving between 7.9 and 8.4 would be a flat line, and the trend is
 * the point. The numbers after it give the absolute values. */
static enum sg_err put_sparkline(struct sg_buf *b, const double *v, size_t n)
{
    static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    double lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    lo -= 0.5;
    hi += 0.2;
    enum sg_err e = SG_OK;
    for (size_t i = 0; i < n && e == SG_OK; i++) {
        int k = (int)((v[i] - lo) / (hi - lo) * 7.0 + 0.5);
        e = sg_buf_puts(b, bars[k < 0 ? 0 : k > 7 ? 7 : k]);
    }
    return e;
}

enum sg_err wk_checkrun_gate_summary(const struct an_result *r,
                                     const struct wk_checkrun_render_opts *o, struct sg_buf *b)
{
    enum sg_err e = SG_OK;
    P("## %s\n\n", r->passed ? "✅ Passed" : "❌ Failed");
    for (size_t i = 0; i < r->ngate_reasons && e == SG_OK; i++) {
        P("- ");
        if (e == SG_OK)
            e = wk_checkrun_md_text(b, r->gate_reasons[i]);
        P("\n");
    }
    P("\n_Judged %s (`.singularity.yml` `gate.scope`)._\n",
      r->gate.scope_overall ? "on the whole repository" : "on what this change adds");
    if (r->new_findings) {
        P("\n### New findings\n\n");
        size_t listed = 0;
        for (size_t i = 0; i < r->nfindings && e == SG_OK; i++) {
            const struct an_finding *f = &r->findings[i];
            if (f->status != AN_NEW)
                continue;
            if (listed == NEW_LISTED_MAX)
                break;
            P("- **%s** %s ", f->rule, an_severity_str(f->severity));
            if (e == SG_OK) {
                char loc[4200];
                snprintf(loc, sizeof loc, "%s:%u", f->path, f->line);
                e = wk_checkrun_md_code(b, loc);
            }
            P(" ");
            if (e == SG_OK)
                e = wk_checkrun_md_text(b, f->message);
            P("\n");
            listed++;
        }
        if (r->new_findings > listed)
            P("- … and %llu more\n", (unsigned long long)(r->new_findings - listed));
    }
    P("\n**%llu new · %llu fixed · %llu existing**\n", (unsigned long long)r->new_findings,
      (unsigned long long)r->fixed_findings, (unsigned long long)r->existing_findings);
    if (o && o->ntrend >= 2) {
        P("\nScore on this branch: ");
        if (e == SG_OK)
            e = put_sparkline(b, o->trend, o->ntrend);
        P(" %.1f → %.1f\n", wk_checkrun_round1(o->trend[0]),
          wk_checkrun_round1(o->trend[o->ntrend - 1]));
    }
    P("\n---\n\n");
    return e;
}

bool wk_checkrun_annotates(const struct an_result *r, const struct an_finding *f)
{
    return !r->has_base || r->gate.annotate_all || f->status == AN_NEW;
}
