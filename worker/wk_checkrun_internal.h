/* Why: what checkrun.c and checkrun_gate.c share (Markdown escaping, rounding); not part of the
 * checkrun.h interface. */
#ifndef WK_CHECKRUN_INTERNAL_H
#define WK_CHECKRUN_INTERNAL_H

#include <stdbool.h>

#include "an_analysis.h"
#include "sg_buf.h"

struct wk_checkrun_render_opts;

/* Appends to the Markdown buffer b unless an earlier write failed (e holds the first error). */
#define P(...)                                                                                     \
    do {                                                                                           \
        if (e == SG_OK)                                                                            \
            e = sg_buf_printf(b, __VA_ARGS__);                                                     \
    } while (0)

double wk_checkrun_round1(double v);
enum sg_err wk_checkrun_md_code(struct sg_buf *b, const char *s); /* `s`, safely */
enum sg_err wk_checkrun_md_text(struct sg_buf *b, const char *s); /* a table-safe cell */
/* The title with a base: "Quality 8.4/10 (+0.3) · 2 new findings". */
/* other_formula: the base was scored by another engine, so the score is not compared. */
enum sg_err wk_checkrun_gate_title(const struct an_result *r, bool other_formula, struct sg_buf *b);
/* The summary's opening: verdict, reasons, new findings, counts, trend. */
enum sg_err wk_checkrun_gate_summary(const struct an_result *r,
                                     const struct wk_checkrun_render_opts *o, struct sg_buf *b);
/* Whether f gets an annotation: every finding without a base or with `annotate: all`, else only
 * the new ones. */
bool wk_checkrun_annotates(const struct an_result *r, const struct an_finding *f);

#endif
