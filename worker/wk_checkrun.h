/* Why: what a person sees on GitHub for an analysis — the check run's conclusion, title, Markdown
 * summary and annotations — is rendered here, from an analysis result and (optionally) the base
 * commit's analysis, with GitHub's limits applied (title 255 characters, summary 65535, annotation
 * title 255, message 64 KiB). It does no I/O; wk_github_checkrun_complete() sends the output.
 *
 * Ownership: wk_checkrun_render() fills a caller-provided struct wk_checkrun_output whose strings
 * and annotation array belong to it until wk_checkrun_output_free() (safe on a zeroed or already
 * freed output). The result r and the base are only read during the call. */
#ifndef WK_CHECKRUN_H
#define WK_CHECKRUN_H

#include <stddef.h>
#include <stdint.h>

#include "an_analysis.h"
#include "sg_err.h"

#define WK_CHECKRUN_NAME                    "Singularity"
#define WK_CHECKRUN_TITLE_MAX               255
#define WK_CHECKRUN_SUMMARY_MAX             65535
#define WK_CHECKRUN_TEXT_MAX                65535
#define WK_CHECKRUN_ANNOTATION_TITLE_MAX    255
#define WK_CHECKRUN_ANNOTATION_MESSAGE_MAX  65535
#define WK_CHECKRUN_ANNOTATIONS_PER_REQUEST 50

/* The base commit's analysis, as little as the comparison needs, so it can come from PostgreSQL
 * (analyses.score, totals, rule_counts JSONB) as well as from a fresh an_result. Pointers are
 * borrowed for the duration of wk_checkrun_render(). */
struct wk_checkrun_base {
    const char *sha; /* base commit (may be NULL) */
    double score;
    struct an_counts totals;
    uint64_t findings_total;
    const struct an_rule_count *rule_counts; /* rules with count > 0, any order */
    size_t nrule_counts;
    const char *engine_version; /* the engine that scored the base; NULL or "": this one. Another
                                   engine's score is shown but not compared (its formula or rules
                                   differ): "new score formula" instead of a change */
};

/* Fills base from a result (borrowing r's arrays; r must outlive base). */
void wk_checkrun_base_from_result(const struct an_result *r, const char *sha,
                                  struct wk_checkrun_base *base);

struct wk_checkrun_render_opts {
    size_t max_annotations;  /* annotations rendered (and later sent); 0: 1000. The summary says
                                how many findings are not annotated. */
    const char *details_url; /* optional link shown at the end of the summary (may be NULL) */
    const double *trend;     /* the ref's recent scores, oldest first, ending with this one */
    size_t ntrend;           /* (a sparkline when 2 or more; only with a base) */
};

struct wk_checkrun_annotation {
    char *path;
    uint32_t start_line, end_line; /* equal: the finding's line */
    const char *annotation_level;  /* "failure" | "warning" | "notice" (static) */
    char *title;                   /* "SEC002 AWS access key id", <= 255 */
    char *message;
};

struct wk_checkrun_output {
    const char *conclusion; /* "success" | "failure" (static) */
    char *title;            /* begins "Quality 8.4/10", <= 255 bytes */
    char *summary;          /* Markdown, <= 65535 bytes */
    struct wk_checkrun_annotation *annotations;
    size_t nannotations;
    uint64_t annotations_omitted; /* findings not annotated (capped here or by the
                                     engine's max_findings) */
};

/* conclusion: "success" when r->score >= r->threshold and no finding has severity error (taken
 * from rule_counts' effective severities via the findings list and r->passed), else "failure";
 * a result classified against its base (r->has_base) follows its gate (r->passed) instead and is
 * titled "Quality 8.4/10 (+0.3) · 2 new findings", its summary opening with the verdict, and
 * only new findings annotated unless `annotate: all` (DESIGN.md section 9).
 * title: "Quality 8.4/10" + " (+0.3 vs base)" when base is given (" (new score formula)" when
 * another engine scored it) + " · 12 findings".
 * summary: score line, language table, findings by rule (id, name, severity, count, change vs
 * base), comparison with the base, config errors, skipped files; cut to the limit at a line
 * boundary with a note. base may be NULL. SG_ERR_NOMEM or SG_ERR_INVALID (NULL r/out). On error
 * out is left freed. */
enum sg_err wk_checkrun_render(const struct an_result *r, const struct wk_checkrun_base *base,
                               const struct wk_checkrun_render_opts *o,
                               struct wk_checkrun_output *out);

/* A failed analysis: conclusion "failure", title (NULL: "Analysis failed"), summary = message. */
enum sg_err wk_checkrun_render_failure(const char *title, const char *message,
                                       struct wk_checkrun_output *out);

void wk_checkrun_output_free(struct wk_checkrun_output *out);

/* "failure" / "warning" / "notice" for an engine severity. */
const char *wk_checkrun_level(enum an_severity s);

#endif
