/* Why: owns the score: which kinds of file the size and complexity limits apply to, how the
 * findings of each kind of debt turn into a cost, and the breakdown that says why a score is what
 * it is. Calibrated with scripts/calibrate.sh on Linux, glibc, Redis, curl, git and libuv
 * (docs/analysis.md, "Score", shows the table and the command).
 *
 * For each kind of debt k (secrets, conflicts, complexity, size, style, maintenance, binaries):
 *   x_k    = sum over its rules of severity weight (error 10, warning 3, notice 0.5) x units
 *            / KLOC, KLOC = max(code lines, 1000) / 1000
 *   cost_k = W_k * (1 - exp(-x_k / D_k))
 *   score  = round(10 - sum of cost_k, one decimal)
 * Units are findings, at most AN_SCORE_FILE_CAP per file and rule; for CPX001 and SIZ001 how far
 * a file is over its limit (value / limit - 1). Complexity also charges branching denser than
 * AN_DENSITY_BASE decision points per 1000 code lines. The weights W_k sum to 10, so the score
 * stays within 0..10; each cost only grows with its findings (monotone); and a finding's cost in
 * a repository of 100 000 code lines or more is at most W_k * weight / (D_k * 100), under 0.04
 * for every kind, so a one-line change moves such a score by less than 0.1. */
#include <math.h>
#include <string.h>

#include "an_score.h"
#include "an_analysis.h"

/* Branching density that admired codebases stay under: 58 (glibc) to 153 (curl) decision points
 * per 1000 code lines; a thousand-line function of branches has about 1000. */
#define AN_DENSITY_BASE  200.0
#define AN_DENSITY_SCALE 100.0

static const struct {
    const char *name;
    double weight; /* W: the most this kind can cost; the weights sum to 10 */
    double scale;  /* D: the weighted findings per KLOC at which it costs 63% of W */
} an_debt_param[AN_NDEBT] = {
    [AN_DEBT_SECRETS] = {"secrets", 3.0, 8.0},
    [AN_DEBT_CONFLICTS] = {"conflicts", 1.5, 4.0},
    [AN_DEBT_COMPLEXITY] = {"complexity", 2.0, 3.0},
    [AN_DEBT_SIZE] = {"size", 1.0, 3.0},
    [AN_DEBT_STYLE] = {"style", 1.5, 20.0},
    [AN_DEBT_MAINTENANCE] = {"maintenance", 0.5, 2.0},
    [AN_DEBT_BINARIES] = {"binaries", 0.5, 1.0},
};

const char *an_debt_str(enum an_debt d)
{
    return (unsigned)d < AN_NDEBT ? an_debt_param[d].name : "?";
}

enum an_debt an_rule_debt(enum an_rule rule)
{
    static const struct {
        const char *prefix;
        enum an_debt debt;
    } map[] = {{"SEC", AN_DEBT_SECRETS}, {"GIT", AN_DEBT_CONFLICTS}, {"CPX", AN_DEBT_COMPLEXITY},
               {"SIZ", AN_DEBT_SIZE},    {"STY", AN_DEBT_STYLE},     {"BIN", AN_DEBT_BINARIES}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(an_rule_ids[rule], map[i].prefix, 3) == 0)
            return map[i].debt;
    return AN_DEBT_MAINTENANCE;
}

const char *an_lang_kind_str(const struct an_lang *L)
{
    if (L->flags & AN_LANG_PROSE)
        return "prose";
    if (L->flags & AN_LANG_DATA)
        return "data";
    if (L->flags & AN_LANG_HEADER)
        return "header";
    return (L->flags & AN_LANG_BUILD) ? "build" : "source";
}

uint32_t an_file_limit(const struct an_config *c, const struct an_lang *L, enum an_rule rule)
{
    /* decision points exist only in programming languages; a build file is configuration of the
       build, not a function body, and a header's size is its API's (docs/analysis.md, "File
       kinds", shows the distributions these follow) */
    if (!L || L->cx == AN_CX_NONE || (L->flags & (AN_LANG_DATA | AN_LANG_PROSE | AN_LANG_BUILD)))
        return 0;
    if (rule == AN_CPX001)
        return c->max_file_complexity;
    if (rule == AN_SIZ001)
        return (L->flags & AN_LANG_HEADER) ? 0 : c->max_file_lines;
    return 0;
}

static double an_excess(uint64_t value, uint32_t limit)
{
    return limit && value > limit ? (double)value / (double)limit - 1.0 : 0.0;
}

void an_score_add_file(struct an_score_acc *a, const struct an_config *c, const struct an_lang *L,
                       const uint32_t rc[AN_NRULES], uint64_t complexity, uint32_t lines)
{
    bool any[AN_NDEBT] = {false};
    for (int k = 0; k < AN_NRULES; k++) {
        if (!rc[k] || c->rules[k].off)
            continue;
        any[an_rule_debt((enum an_rule)k)] = true;
        if (k == AN_CPX001)
            a->units[k] += an_excess(complexity, an_file_limit(c, L, AN_CPX001));
        else if (k == AN_SIZ001)
            a->units[k] += an_excess(lines, an_file_limit(c, L, AN_SIZ001));
        else
            a->units[k] += rc[k] < AN_SCORE_FILE_CAP ? rc[k] : AN_SCORE_FILE_CAP;
    }
    for (int d = 0; d < AN_NDEBT; d++)
        a->files[d] += any[d];
}

static double an_sev_weight(const struct an_config *c, int rule)
{
    enum an_severity s = c->rules[rule].override ? c->rules[rule].sev : an_rule_default_sev[rule];
    return s == AN_ERROR ? 10.0 : s == AN_WARNING ? 3.0 : 0.5;
}

double an_score_compute(const struct an_score_acc *a, const struct an_config *c,
                        const uint64_t counts[AN_NRULES], uint64_t code, uint64_t complexity,
                        struct an_debt_cost out[AN_NDEBT])
{
    double kloc = (double)(code > 1000 ? code : 1000) / 1000.0;
    double x[AN_NDEBT] = {0}, cost[AN_NDEBT], total = 0;
    memset(out, 0, AN_NDEBT * sizeof *out);
    for (int k = 0; k < AN_NRULES; k++) {
        if (c->rules[k].off)
            continue;
        enum an_debt d = an_rule_debt((enum an_rule)k);
        x[d] += an_sev_weight(c, k) * a->units[k] / kloc;
        out[d].findings += counts[k];
    }
    double density = (double)complexity / kloc - AN_DENSITY_BASE;
    if (density > 0)
        x[AN_DEBT_COMPLEXITY] += density / AN_DENSITY_SCALE;
    for (int d = 0; d < AN_NDEBT; d++) {
        cost[d] = an_debt_param[d].weight * (1.0 - exp(-x[d] / an_debt_param[d].scale));
        total += cost[d];
        out[d].files = a->files[d];
    }
    double score = floor((10.0 - total) * 10.0 + 0.5) / 10.0;
    if (score < 0)
        score = 0;
    /* the breakdown in tenths, rounded so that it sums to exactly 10 - score: each cost's floor,
       then the tenths left over to the largest remainders (ties to the earlier kind) */
    long want = 100 - lround(score * 10.0), have = 0;
    double rem[AN_NDEBT];
    for (int d = 0; d < AN_NDEBT; d++) {
        double t = floor(cost[d] * 10.0);
        rem[d] = cost[d] * 10.0 - t;
        out[d].cost = t;
        have += (long)t;
    }
    for (; have < want; have++) {
        int best = 0;
        for (int d = 1; d < AN_NDEBT; d++)
            if (rem[d] > rem[best])
                best = d;
        if (rem[best] <= 0)
            break;
        out[best].cost += 1.0;
        rem[best] = 0;
    }
    for (int d = 0; d < AN_NDEBT; d++)
        out[d].cost /= 10.0;
    return score;
}

/* ---- the one-line explanation ---- */

static enum sg_err an_what(struct sg_buf *b, enum an_debt d, const struct an_debt_cost *x,
                           const struct an_result *r)
{
    unsigned long long n = (unsigned long long)x->findings, f = (unsigned long long)x->files;
    const char *s = n == 1 ? "" : "s";
    switch (d) {
    case AN_DEBT_SECRETS:
        return sg_buf_printf(b, "%llu committed secret%s", n, s);
    case AN_DEBT_CONFLICTS:
        return sg_buf_printf(b, "%llu unresolved merge conflict%s", n, s);
    case AN_DEBT_COMPLEXITY: {
        double kloc = (double)(r->totals.code > 1000 ? r->totals.code : 1000) / 1000.0;
        double density = (double)r->totals.complexity / kloc;
        enum sg_err e = SG_OK;
        if (n)
            e = sg_buf_printf(b, "%llu file%s over the complexity limit%s", n, s,
                              density > AN_DENSITY_BASE ? " and " : "");
        if (e == SG_OK && density > AN_DENSITY_BASE)
            e = sg_buf_printf(b, "dense branching (%.0f decision points per 1000 lines)", density);
        return e;
    }
    case AN_DEBT_SIZE:
        return sg_buf_printf(b, "%llu file%s over the size limit", n, s);
    case AN_DEBT_STYLE:
        return sg_buf_printf(b, "%llu style finding%s in %llu file%s", n, s, f, f == 1 ? "" : "s");
    case AN_DEBT_MAINTENANCE:
        return sg_buf_printf(b, "%llu TODO/FIXME marker%s", n, s);
    case AN_DEBT_BINARIES:
        return sg_buf_printf(b, "%llu large binar%s", n, n == 1 ? "y" : "ies");
    default:
        return sg_buf_puts(b, "?");
    }
}

enum sg_err an_score_explain(const struct an_result *r, struct sg_buf *out)
{
    bool done[AN_NDEBT] = {false};
    enum sg_err e = SG_OK;
    bool first = true;
    if (!r || !out)
        return SG_ERR_INVALID;
    for (;;) { /* largest cost first; equal costs in breakdown order */
        int best = -1;
        for (int d = 0; d < AN_NDEBT; d++)
            if (!done[d] && r->breakdown[d].cost >= 0.05 &&
                (best < 0 || r->breakdown[d].cost > r->breakdown[best].cost))
                best = d;
        if (best < 0 || e != SG_OK)
            break;
        done[best] = true;
        e = sg_buf_printf(out, "%s-%.1f for ", first ? "" : ", ", r->breakdown[best].cost);
        if (e == SG_OK)
            e = an_what(out, (enum an_debt)best, &r->breakdown[best], r);
        first = false;
    }
    if (e == SG_OK && first)
        e = sg_buf_puts(out, "nothing costs points");
    return e;
}
