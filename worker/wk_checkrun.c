/* Why: turns an analysis into what a person reads on GitHub (see checkrun.h): a conclusion, a
 * title that starts "Quality 8.4/10", a Markdown summary and annotations, all within GitHub's size
 * limits. Pure: no I/O, so it is unit-tested exhaustively. */
#include "wk_checkrun.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_checkrun_internal.h"
#include "sg_buf.h"
#include "sg_utf8.h"

#define SUMMARY_BUILD_MAX       ((size_t)4 << 20)
#define DEFAULT_MAX_ANNOTATIONS 1000

const char *wk_checkrun_level(enum an_severity s)
{
    switch (s) {
    case AN_ERROR:
        return "failure";
    case AN_WARNING:
        return "warning";
    default:
        return "notice";
    }
}

void wk_checkrun_base_from_result(const struct an_result *r, const char *sha,
                                  struct wk_checkrun_base *base)
{
    memset(base, 0, sizeof *base);
    if (!r)
        return;
    base->sha = sha;
    base->score = r->score;
    base->totals = r->totals;
    base->findings_total = r->findings_total;
    base->rule_counts = r->rule_counts;
    base->nrule_counts = r->nrule_counts;
}

void wk_checkrun_output_free(struct wk_checkrun_output *out)
{
    if (!out)
        return;
    for (size_t i = 0; i < out->nannotations; i++) {
        free(out->annotations[i].path);
        free(out->annotations[i].title);
        free(out->annotations[i].message);
    }
    free(out->annotations);
    free(out->title);
    free(out->summary);
    memset(out, 0, sizeof *out);
}

/* Every string GitHub gets from here is valid UTF-8 (it refuses the whole request otherwise):
 * file names, messages and config errors come from the repository and may be any bytes. */
static char *dup_capped(const char *s, size_t max)
{
    return sg_utf8_dup(s, s ? strlen(s) : 0, max);
}

/* Text safe inside a Markdown table cell: '|' escaped, line breaks as spaces. */
static enum sg_err md_cell(struct sg_buf *b, const char *s)
{
    enum sg_err e = SG_OK;
    for (const char *p = s ? s : ""; *p && e == SG_OK; p++) {
        if (*p == '|')
            e = sg_buf_puts(b, "\\|");
        else if (*p == '\n' || *p == '\r')
            e = sg_buf_putc(b, ' ');
        else
            e = sg_buf_putc(b, *p);
    }
    return e;
}

/* Inline code span; backticks would end it, so they become quotes. */
static enum sg_err md_code(struct sg_buf *b, const char *s)
{
    enum sg_err e = sg_buf_putc(b, '`');
    for (const char *p = s ? s : ""; *p && e == SG_OK; p++)
        e = sg_buf_putc(b, *p == '`' ? '\'' : (*p == '\n' || *p == '\r') ? ' ' : *p);
    return e == SG_OK ? sg_buf_putc(b, '`') : e;
}

static uint64_t base_rule_count(const struct wk_checkrun_base *base, const char *rule)
{
    for (size_t i = 0; base && i < base->nrule_counts; i++)
        if (base->rule_counts[i].rule && !strcmp(base->rule_counts[i].rule, rule))
            return base->rule_counts[i].count;
    return 0;
}

static uint64_t result_rule_count(const struct an_result *r, const char *rule)
{
    for (size_t i = 0; i < r->nrule_counts; i++)
        if (r->rule_counts[i].rule && !strcmp(r->rule_counts[i].rule, rule))
            return r->rule_counts[i].count;
    return 0;
}

/* The effective severity of a rule as seen in the kept findings; -1 when none is kept. */
static int rule_severity(const struct an_result *r, const char *rule)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (r->findings[i].rule && !strcmp(r->findings[i].rule, rule))
            return (int)r->findings[i].severity;
    return -1;
}

static const char *severity_word(int sev)
{
    return sev < 0 ? "—" : an_severity_str((enum an_severity)sev);
}

/* One decimal, as the score is defined; avoids "-0.0". */
static double round1(double v)
{
    double x = round(v * 10.0) / 10.0;
    return x == 0.0 ? 0.0 : x;
}

double wk_checkrun_round1(double v)
{
    return round1(v);
}

enum sg_err wk_checkrun_md_code(struct sg_buf *b, const char *s)
{
    return md_code(b, s);
}

enum sg_err wk_checkrun_md_text(struct sg_buf *b, const char *s)
{
    return md_cell(b, s);
}

static enum sg_err put_delta_i(struct sg_buf *b, int64_t d)
{
    if (d == 0)
        return sg_buf_puts(b, "0");
    return sg_buf_printf(b, "%+lld", (long long)d);
}

static bool has_error_finding(const struct an_result *r)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (r->findings[i].severity == AN_ERROR)
            return true;
    return false;
}

/* The base was scored by another engine: its rules or score formula differ, so its score is shown
 * but not compared (a new formula would otherwise read as a jump or a fall). */
static bool other_engine(const struct wk_checkrun_base *base)
{
    return base && base->engine_version && *base->engine_version &&
           strcmp(base->engine_version, AN_ENGINE_VERSION) != 0;
}

static enum sg_err render_summary(const struct an_result *r, const struct wk_checkrun_base *base,
                                  const struct wk_checkrun_render_opts *o, size_t nannotations,
                                  bool success, struct sg_buf *b)
{
    enum sg_err e = SG_OK;
    uint64_t errors = 0, warnings = 0, notices = 0;
    for (size_t i = 0; i < r->nfindings; i++) {
        if (r->findings[i].severity == AN_ERROR)
            errors++;
        else if (r->findings[i].severity == AN_WARNING)
            warnings++;
        else
            notices++;
    }
    if (!r->has_base) /* the whole repository is judged: its score against the threshold */
        P("## Quality %.1f/10 — %s (threshold %.1f)\n\n", round1(r->score),
          success ? "passed" : "failed", round1(r->threshold));
    else if (r->gate.scope_overall) /* the verdict above is this score's; not said twice */
        P("## Whole repository: %.1f/10 (threshold %.1f)\n\n", round1(r->score),
          round1(r->threshold));
    else /* the verdict above judged the change: the threshold did not decide it */
        P("## Whole repository: %.1f/10 (threshold %.1f, applied only with `gate.scope: "
          "overall`)\n\n",
          round1(r->score), round1(r->threshold));
    /* why the score is what it is, in one line: the costs of its breakdown, largest first */
    P("**Why %.1f:** ", round1(r->score));
    if (e == SG_OK)
        e = an_score_explain(r, b);
    P(".\n\n");
    P("**%llu finding%s**", (unsigned long long)r->findings_total,
      r->findings_total == 1 ? "" : "s");
    if (r->nfindings)
        P(" (%s%llu error%s, %llu warning%s, %llu notice%s)",
          r->nfindings < r->findings_total ? "of those listed: " : "", (unsigned long long)errors,
          errors == 1 ? "" : "s", (unsigned long long)warnings, warnings == 1 ? "" : "s",
          (unsigned long long)notices, notices == 1 ? "" : "s");
    P(" in %llu file%s: %llu lines of code, %llu comment lines, %llu blank lines, complexity "
      "%llu.\n",
      (unsigned long long)r->totals.files, r->totals.files == 1 ? "" : "s",
      (unsigned long long)r->totals.code, (unsigned long long)r->totals.comment,
      (unsigned long long)r->totals.blank, (unsigned long long)r->totals.complexity);
    if (!success && !r->has_base) {
        if (has_error_finding(r))
            P("\nThe check fails because there is at least one finding of severity **error**.\n");
        else if (round1(r->score) < round1(r->threshold))
            P("\nThe check fails because the score is below the threshold.\n");
    }

    if (base) {
        P("\n### Compared with the base commit");
        if (base->sha && *base->sha) {
            P(" ");
            if (e == SG_OK) {
                char sha7[13];
                snprintf(sha7, sizeof sha7, "%.12s", base->sha);
                e = md_code(b, sha7);
            }
        }
        P("\n\n| | base | this commit | change |\n|---|---:|---:|---:|\n");
        double ds = round1(round1(r->score) - round1(base->score));
        if (other_engine(base))
            P("| Score | %.1f (engine %s) | %.1f (engine %s) | new formula, not compared |\n",
              round1(base->score), base->engine_version, round1(r->score), AN_ENGINE_VERSION);
        else
            P("| Score | %.1f | %.1f | %+.1f |\n", round1(base->score), round1(r->score), ds);
        P("| Findings | %llu | %llu | ", (unsigned long long)base->findings_total,
          (unsigned long long)r->findings_total);
        if (e == SG_OK)
            e = put_delta_i(b, (int64_t)r->findings_total - (int64_t)base->findings_total);
        P(" |\n| Files | %llu | %llu | ", (unsigned long long)base->totals.files,
          (unsigned long long)r->totals.files);
        if (e == SG_OK)
            e = put_delta_i(b, (int64_t)r->totals.files - (int64_t)base->totals.files);
        P(" |\n| Lines of code | %llu | %llu | ", (unsigned long long)base->totals.code,
          (unsigned long long)r->totals.code);
        if (e == SG_OK)
            e = put_delta_i(b, (int64_t)r->totals.code - (int64_t)base->totals.code);
        P(" |\n| Complexity | %llu | %llu | ", (unsigned long long)base->totals.complexity,
          (unsigned long long)r->totals.complexity);
        if (e == SG_OK)
            e = put_delta_i(b, (int64_t)r->totals.complexity - (int64_t)base->totals.complexity);
        P(" |\n");
    }

    /* findings by rule: this commit's rules, then rules only the base had (now fixed) */
    bool any_rule = r->nrule_counts > 0;
    for (size_t i = 0; base && !any_rule && i < base->nrule_counts; i++)
        any_rule = base->rule_counts[i].count > 0;
    if (any_rule) {
        P("\n### Findings by rule\n\n| Rule | Name | Severity | Count |%s\n|---|---|---|---:|%s\n",
          base ? " vs base |" : "", base ? "---:|" : "");
        for (size_t i = 0; i < r->nrule_counts && e == SG_OK; i++) {
            const char *id = r->rule_counts[i].rule ? r->rule_counts[i].rule : "?";
            const char *name = an_rule_name(id);
            P("| %s | ", id);
            if (e == SG_OK)
                e = md_cell(b, name ? name : "");
            P(" | %s | %llu |", severity_word(rule_severity(r, id)),
              (unsigned long long)r->rule_counts[i].count);
            if (base) {
                P(" ");
                if (e == SG_OK)
                    e = put_delta_i(b, (int64_t)r->rule_counts[i].count -
                                           (int64_t)base_rule_count(base, id));
                P(" |");
            }
            P("\n");
        }
        for (size_t i = 0; base && i < base->nrule_counts && e == SG_OK; i++) {
            const char *id = base->rule_counts[i].rule;
            if (!id || base->rule_counts[i].count == 0 || result_rule_count(r, id) > 0)
                continue;
            const char *name = an_rule_name(id);
            P("| %s | ", id);
            if (e == SG_OK)
                e = md_cell(b, name ? name : "");
            P(" | — | 0 | -%llu |\n", (unsigned long long)base->rule_counts[i].count);
        }
    }

    if (r->nlanguages) {
        P("\n### Languages\n\n| Language | Files | Code | Comments | Blank | Complexity |\n"
          "|---|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < r->nlanguages && e == SG_OK; i++) {
            const struct an_language *l = &r->languages[i];
            P("| ");
            if (e == SG_OK)
                e = md_cell(b, l->name);
            P(" | %llu | %llu | %llu | %llu | %llu |\n", (unsigned long long)l->counts.files,
              (unsigned long long)l->counts.code, (unsigned long long)l->counts.comment,
              (unsigned long long)l->counts.blank, (unsigned long long)l->counts.complexity);
        }
        P("| **Total** | %llu | %llu | %llu | %llu | %llu |\n", (unsigned long long)r->totals.files,
          (unsigned long long)r->totals.code, (unsigned long long)r->totals.comment,
          (unsigned long long)r->totals.blank, (unsigned long long)r->totals.complexity);
    }

    if (r->nconfig_errors) {
        P("\n### Configuration errors\n\n`.singularity.yml` was read with these problems (the "
          "affected settings keep their defaults):\n\n");
        for (size_t i = 0; i < r->nconfig_errors && e == SG_OK; i++) {
            P("- ");
            if (e == SG_OK)
                e = md_code(b, r->config_errors[i]);
            P("\n");
        }
    }

    const struct an_skipped *s = &r->skipped;
    uint64_t skipped_total = s->binary + s->vendored + s->generated + s->minified + s->too_large +
                             s->unsafe + s->excluded;
    if (skipped_total) {
        P("\n### Skipped files\n\n%llu file%s not analysed:", (unsigned long long)skipped_total,
          skipped_total == 1 ? "" : "s");
        const char *sep = " ";
        struct {
            const char *what;
            uint64_t n;
        } k[] = {{"binary", s->binary},
                 {"vendored", s->vendored},
                 {"generated", s->generated},
                 {"minified", s->minified},
                 {"too large", s->too_large},
                 {"unsafe name or type", s->unsafe},
                 {"excluded by configuration", s->excluded}};
        for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
            if (!k[i].n)
                continue;
            P("%s%llu %s", sep, (unsigned long long)k[i].n, k[i].what);
            sep = ", ";
        }
        P(".\n");
    }

    if (r->has_base && !r->gate.annotate_all) {
        P("\nAnnotations mark the new findings only (`.singularity.yml` `annotate: all` marks "
          "every finding).\n");
    } else if (r->findings_total > nannotations) {
        P("\n%llu finding%s shown as annotations; %llu more %s not annotated%s.\n",
          (unsigned long long)nannotations, nannotations == 1 ? " is" : "s are",
          (unsigned long long)(r->findings_total - nannotations),
          r->findings_total - nannotations == 1 ? "is" : "are",
          nannotations < r->nfindings ? " (annotation cap)" : " (findings cap of the analysis)");
    }
    if (o && o->details_url && *o->details_url)
        P("\n[Details](%s)\n", o->details_url);
    return e;
}

/* The summary as valid UTF-8, cut to GitHub's limit at a line boundary with a note saying so. Bytes
 * that are not UTF-8 (names and config errors from the repository) become U+FFFD first, kept to
 * a few bytes past the limit: whatever is longer than that is cut below anyway. */
static enum sg_err fit_summary(struct sg_buf *b)
{
    if (!sg_utf8_valid(sg_buf_str(b), b->len)) {
        struct sg_buf clean;
        sg_buf_init(&clean, 0);
        enum sg_err e =
            sg_buf_put_utf8(&clean, sg_buf_str(b), b->len, WK_CHECKRUN_SUMMARY_MAX + 4, NULL);
        if (e != SG_OK) {
            sg_buf_free(&clean);
            return e;
        }
        sg_buf_free(b);
        *b = clean;
    }
    static const char note[] =
        "\n\n_The summary was cut here to fit GitHub's 65535-character limit._\n";
    if (b->len <= WK_CHECKRUN_SUMMARY_MAX)
        return SG_OK;
    size_t limit = WK_CHECKRUN_SUMMARY_MAX - (sizeof note - 1);
    size_t cut = limit;
    while (cut > 0 && b->data[cut] != '\n')
        cut--;
    if (cut == 0)
        cut = sg_utf8_prefix(b->data, b->len, limit);
    b->len = cut;
    b->data[cut] = '\0';
    return sg_buf_puts(b, note);
}

enum sg_err wk_checkrun_render(const struct an_result *r, const struct wk_checkrun_base *base,
                               const struct wk_checkrun_render_opts *o,
                               struct wk_checkrun_output *out)
{
    if (!r || !out)
        return SG_ERR_INVALID;
    memset(out, 0, sizeof *out);
    enum sg_err e = SG_OK;
    struct sg_buf b;
    sg_buf_init(&b, SUMMARY_BUILD_MAX);

    bool success = r->has_base ? r->passed
                               : round1(r->score) >= round1(r->threshold) &&
                                     !has_error_finding(r) && r->passed;
    out->conclusion = success ? "success" : "failure";

    size_t max_ann = o && o->max_annotations ? o->max_annotations : DEFAULT_MAX_ANNOTATIONS;
    size_t nann = 0;
    for (size_t i = 0; i < r->nfindings && nann < max_ann; i++)
        nann += wk_checkrun_annotates(r, &r->findings[i]);

    /* title */
    if (r->has_base) {
        e = wk_checkrun_gate_title(r, other_engine(base), &b);
        goto titled;
    }
    e = sg_buf_printf(&b, "Quality %.1f/10", round1(r->score));
    if (e == SG_OK && other_engine(base))
        e = sg_buf_puts(&b, " (new score formula)");
    else if (e == SG_OK && base)
        e = sg_buf_printf(&b, " (%+.1f vs base)", round1(round1(r->score) - round1(base->score)));
    if (e == SG_OK)
        e = r->findings_total
                ? sg_buf_printf(&b, " · %llu finding%s", (unsigned long long)r->findings_total,
                                r->findings_total == 1 ? "" : "s")
                : sg_buf_puts(&b, " · no findings");
titled:
    if (e != SG_OK || !(out->title = dup_capped(sg_buf_str(&b), WK_CHECKRUN_TITLE_MAX)))
        goto fail;

    /* summary */
    sg_buf_reset(&b);
    if (r->has_base)
        e = wk_checkrun_gate_summary(r, o, &b);
    if (e == SG_OK)
        e = render_summary(r, base, o, nann, success, &b);
    if (e == SG_ERR_TOO_LARGE)
        e = SG_OK; /* the build cap only bounds memory: the summary is cut below anyway */
    if (e == SG_OK)
        e = fit_summary(&b);
    if (e != SG_OK || !(out->summary = sg_buf_detach(&b)))
        goto fail;

    /* annotations */
    if (nann) {
        out->annotations = calloc(nann, sizeof *out->annotations);
        if (!out->annotations)
            goto fail;
    }
    for (size_t i = 0, k = 0; k < nann; i++) {
        const struct an_finding *f = &r->findings[i];
        if (!wk_checkrun_annotates(r, f))
            continue;
        struct wk_checkrun_annotation *a = &out->annotations[k++];
        out->nannotations = k;
        const char *name = f->rule ? an_rule_name(f->rule) : NULL;
        char t[512];
        snprintf(t, sizeof t, "%s%s%s", f->rule ? f->rule : "", name ? " " : "", name ? name : "");
        a->path = dup_capped(f->path, 4096);
        a->title = dup_capped(t, WK_CHECKRUN_ANNOTATION_TITLE_MAX);
        a->message = dup_capped(f->message && *f->message ? f->message : t,
                                WK_CHECKRUN_ANNOTATION_MESSAGE_MAX);
        a->start_line = a->end_line = f->line ? f->line : 1;
        a->annotation_level = wk_checkrun_level(f->severity);
        if (!a->path || !a->title || !a->message)
            goto fail;
    }
    out->annotations_omitted = r->findings_total > nann ? r->findings_total - nann : 0;
    sg_buf_free(&b);
    return SG_OK;
fail:
    sg_buf_free(&b);
    wk_checkrun_output_free(out);
    return e != SG_OK ? e : SG_ERR_NOMEM;
}

enum sg_err wk_checkrun_render_failure(const char *title, const char *message,
                                       struct wk_checkrun_output *out)
{
    if (!out)
        return SG_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->conclusion = "failure";
    out->title = dup_capped(title && *title ? title : "Analysis failed", WK_CHECKRUN_TITLE_MAX);
    out->summary =
        dup_capped(message && *message ? message : "The analysis failed.", WK_CHECKRUN_SUMMARY_MAX);
    if (!out->title || !out->summary) {
        wk_checkrun_output_free(out);
        return SG_ERR_NOMEM;
    }
    return SG_OK;
}
