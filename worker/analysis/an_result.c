/* Why: turns the per-file records of a session into the result the worker stores and the command
 * prints: totals, languages, exact rule counts, capped findings with messages, and the score.
 * File-level rules (CPX001, SIZ001) and the configuration's rules/severities/excludes are applied
 * here, at the end, so a .singularity.yml read late still applies to every file it can.
 *
 * Score (docs/analysis.md, README "analysis"; stable across versions):
 *   KLOC    = max(code lines, 1000) / 1000
 *   P       = (10*errors + 3*warnings + 0.5*notices) / KLOC + max(0, complexity/KLOC - 150) / 50
 *   score   = round(10 / (1 + P/10), one decimal)
 * so a clean repository scores 10.0, P = 10 gives 5.0; every term is an exact count, so the score
 * is deterministic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_engine.h"
#include "an_secrets.h"

double an_score(uint64_t code, uint64_t complexity, uint64_t e, uint64_t w, uint64_t n);
double an_score(uint64_t code, uint64_t complexity, uint64_t e, uint64_t w, uint64_t n)
{
    double kloc = (double)(code > 1000 ? code : 1000) / 1000.0;
    double p = (10.0 * (double)e + 3.0 * (double)w + 0.5 * (double)n) / kloc;
    double cd = (double)complexity / kloc - 150.0;
    if (cd > 0)
        p += cd / 50.0;
    double s = 10.0 / (1.0 + p / 10.0);
    return floor(s * 10.0 + 0.5) / 10.0;
}

static char *an_message(const struct sg_an *an, const struct an_fnd *f)
{
    char buf[256];
    const struct an_config *c = &an->cfg;
    switch ((enum an_rule)f->rule) {
    case AN_SEC001:
    case AN_SEC002:
    case AN_SEC003:
    case AN_SEC004:
    case AN_SEC005: {
        static const char *const what[] = {
            "private key block committed: remove it from the repository and rotate the key",
            "AWS access key id committed: remove it and deactivate the key in IAM",
            "GitHub token committed: remove it and revoke the token in GitHub settings",
            "credential committed: remove it and revoke it with the provider",
            "possible secret assigned to a key-like name: move it out of the repository"};
        /* the message names gitleaks' rule and shows at most the first 4 characters */
        const char *id = f->aux < an_sec_nrules ? an_sec_rules[f->aux].id : "secret";
        if (f->hint[0])
            snprintf(buf, sizeof buf, "%s: %s (starts with \"%.4s\")", id,
                     what[f->rule - AN_SEC001], f->hint);
        else /* a path-only rule: the file itself is the secret */
            snprintf(buf, sizeof buf, "%s: %s", id, what[f->rule - AN_SEC001]);
        break;
    }
    case AN_GIT001:
        snprintf(buf, sizeof buf,
                 "unresolved merge conflict: <<<<<<< / ======= / >>>>>>> markers starting here");
        break;
    case AN_STY001:
        snprintf(buf, sizeof buf, "line is %u characters long (max_line_length is %u)", f->aux,
                 c->max_line_length);
        break;
    case AN_STY002:
        snprintf(buf, sizeof buf, "trailing whitespace at the end of the line");
        break;
    case AN_STY003:
        snprintf(buf, sizeof buf, "indented with %s while most of the file indents with %s",
                 f->aux == 1 ? "spaces" : "tabs", f->aux == 1 ? "tabs" : "spaces");
        break;
    case AN_STY004:
        snprintf(buf, sizeof buf, "no newline at end of file");
        break;
    case AN_MNT001: {
        static const char *const m[] = {"TODO", "TODO", "FIXME", "XXX", "HACK"};
        snprintf(buf, sizeof buf, "%s comment: resolve it or track it in an issue",
                 m[f->aux < 5 ? f->aux : 0]);
        break;
    }
    case AN_CPX001:
        snprintf(buf, sizeof buf,
                 "complexity %u (decision points) exceeds max_file_complexity %u: split the file "
                 "or simplify its branching",
                 f->aux, c->max_file_complexity);
        break;
    case AN_SIZ001:
        snprintf(buf, sizeof buf, "%u lines exceeds max_file_lines %u: consider splitting the file",
                 f->aux, c->max_file_lines);
        break;
    case AN_BIN001:
        snprintf(buf, sizeof buf,
                 "binary file of %.1f MiB committed: consider Git LFS or a release artifact",
                 (double)f->aux / (1024.0 * 1024.0));
        break;
    default:
        buf[0] = '\0';
    }
    return strdup(buf);
}

static enum sg_an_severity an_sev(const struct an_config *c, int rule)
{
    return c->rules[rule].override ? c->rules[rule].sev : an_rule_default_sev[rule];
}

static int an_cmp_findings(const void *a, const void *b)
{
    const struct sg_an_finding *x = a, *y = b;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    int c = strcmp(x->path, y->path);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return strcmp(x->rule, y->rule);
}

static int an_cmp_langs(const void *a, const void *b)
{
    const struct sg_an_language *x = a, *y = b;
    if (x->counts.code != y->counts.code)
        return x->counts.code > y->counts.code ? -1 : 1;
    return strcmp(x->name, y->name);
}

void sg_an_result_free(struct sg_an_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfindings; i++) {
        free(r->findings[i].path);
        free(r->findings[i].message);
    }
    free(r->findings);
    free(r->languages);
    free(r->rule_counts);
    for (size_t i = 0; i < r->nconfig_errors; i++)
        free(r->config_errors[i]);
    free(r->config_errors);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].path);
    free(r->files);
    free(r);
}

enum sg_err an_build_result(struct sg_an *an, struct sg_an_result **out)
{
    const struct an_config *c = &an->cfg;
    enum sg_err e = SG_ERR_NOMEM;
    struct sg_an_result *r = calloc(1, sizeof *r);
    bool *drop = calloc(an->nrecs ? an->nrecs : 1, sizeof *drop);
    struct sg_an_counts *lc = calloc(an_nlangs, sizeof *lc);
    uint64_t counts[AN_NRULES] = {0};
    struct an_fnd *extra = NULL;
    size_t nextra = 0;
    if (!r || !drop || !lc)
        goto out;
    r->skipped = an->skipped;
    r->threshold = c->quality_threshold;
    if (an->keep_files) {
        r->files = calloc(an->nrecs ? an->nrecs : 1, sizeof *r->files);
        if (!r->files)
            goto out;
    }
    extra = calloc(2 * an->nrecs + 1, sizeof *extra);
    if (!extra)
        goto out;
    for (size_t i = 0; i < an->nrecs; i++) {
        struct an_rec *rec = &an->recs[i];
        if (rec->late && an_excluded(c, rec->path, rec->lang)) {
            drop[i] = true;
            r->skipped.excluded++;
            continue;
        }
        for (int k = 0; k < AN_NRULES; k++)
            counts[k] += rec->rc[k];
        if (rec->status != AN_REC_COUNTED)
            continue;
        const struct an_lang *L = &an_langs[rec->lang];
        struct sg_an_counts *x = &lc[rec->lang];
        x->files++, x->code += rec->code, x->comment += rec->comment, x->blank += rec->blank;
        x->bytes += rec->bytes, x->complexity += rec->complexity;
        if (rec->complexity > c->max_file_complexity) {
            counts[AN_CPX001]++;
            extra[nextra++] = (struct an_fnd){
                .file = (uint32_t)i,
                .line = 1,
                .rule = AN_CPX001,
                .aux = (uint32_t)(rec->complexity > UINT32_MAX ? UINT32_MAX : rec->complexity)};
        }
        /* "source file": a programming language (one with decision points), not markup or data */
        if (L->cx != AN_CX_NONE && !(L->flags & AN_LANG_DATA) && rec->lines > c->max_file_lines) {
            counts[AN_SIZ001]++;
            extra[nextra++] = (struct an_fnd){
                .file = (uint32_t)i, .line = 1, .rule = AN_SIZ001, .aux = rec->lines};
        }
        if (r->files) {
            struct sg_an_file *f = &r->files[r->nfiles];
            f->path = strdup(rec->path);
            if (!f->path)
                goto out;
            f->language = L->name;
            f->counts = (struct sg_an_counts){1,          rec->code,  rec->comment,
                                              rec->blank, rec->bytes, rec->complexity};
            r->nfiles++;
        }
    }
    /* languages and totals */
    for (size_t i = 0; i < an_nlangs; i++)
        if (lc[i].files)
            r->nlanguages++;
    r->languages = calloc(r->nlanguages ? r->nlanguages : 1, sizeof *r->languages);
    if (!r->languages)
        goto out;
    for (size_t i = 0, j = 0; i < an_nlangs; i++) {
        if (!lc[i].files)
            continue;
        r->languages[j].name = an_langs[i].name;
        r->languages[j].counts = lc[i];
        struct sg_an_counts *t = &r->totals;
        t->files += lc[i].files, t->code += lc[i].code, t->comment += lc[i].comment;
        t->blank += lc[i].blank, t->bytes += lc[i].bytes, t->complexity += lc[i].complexity;
        j++;
    }
    qsort(r->languages, r->nlanguages, sizeof *r->languages, an_cmp_langs);

    /* rule counts after `rules: off` */
    uint64_t sev[3] = {0};
    for (int k = 0; k < AN_NRULES; k++) {
        if (c->rules[k].off)
            counts[k] = 0;
        if (counts[k]) {
            r->nrule_counts++;
            sev[an_sev(c, k)] += counts[k];
            r->findings_total += counts[k];
        }
    }
    r->rule_counts = calloc(r->nrule_counts ? r->nrule_counts : 1, sizeof *r->rule_counts);
    if (!r->rule_counts)
        goto out;
    /* rule ids sort in table order already except the file rules: sort by id explicitly */
    {
        size_t j = 0;
        for (int k = 0; k < AN_NRULES; k++)
            if (counts[k])
                r->rule_counts[j++] = (struct sg_an_rule_count){an_rule_ids[k], counts[k]};
        for (size_t a = 1; a < j; a++)
            for (size_t b = a;
                 b > 0 && strcmp(r->rule_counts[b - 1].rule, r->rule_counts[b].rule) > 0; b--) {
                struct sg_an_rule_count t = r->rule_counts[b];
                r->rule_counts[b] = r->rule_counts[b - 1];
                r->rule_counts[b - 1] = t;
            }
    }

    /* findings: kept line findings plus the file-level ones, most severe first, capped */
    size_t cand = 0;
    for (size_t i = 0; i < an->nfnds + nextra; i++) {
        const struct an_fnd *f = i < an->nfnds ? &an->fnds[i] : &extra[i - an->nfnds];
        if (!drop[f->file] && !c->rules[f->rule].off)
            cand++;
    }
    r->findings = calloc(cand ? cand : 1, sizeof *r->findings);
    if (!r->findings)
        goto out;
    uint64_t per_rule[AN_NRULES] = {0};
    for (size_t i = 0; i < an->nfnds + nextra; i++) {
        const struct an_fnd *f = i < an->nfnds ? &an->fnds[i] : &extra[i - an->nfnds];
        if (drop[f->file] || c->rules[f->rule].off || per_rule[f->rule] >= an->limits.max_findings)
            continue;
        per_rule[f->rule]++;
        struct sg_an_finding *o = &r->findings[r->nfindings];
        o->rule = an_rule_ids[f->rule];
        o->severity = an_sev(c, f->rule);
        o->path = strdup(an->recs[f->file].path);
        o->line = f->line ? f->line : 1;
        o->message = an_message(an, f);
        r->nfindings++;
        if (!o->path || !o->message)
            goto out;
    }
    qsort(r->findings, r->nfindings, sizeof *r->findings, an_cmp_findings);
    while (r->nfindings > an->limits.max_findings) {
        r->nfindings--;
        free(r->findings[r->nfindings].path);
        free(r->findings[r->nfindings].message);
    }

    r->score = an_score(r->totals.code, r->totals.complexity, sev[SG_AN_ERROR], sev[SG_AN_WARNING],
                        sev[SG_AN_NOTICE]);
    r->passed = r->score >= r->threshold && sev[SG_AN_ERROR] == 0;

    if (c->nerrors) {
        r->config_errors = calloc(c->nerrors, sizeof *r->config_errors);
        if (!r->config_errors)
            goto out;
        for (size_t i = 0; i < c->nerrors; i++) {
            r->config_errors[i] = strdup(c->errors[i]);
            if (!r->config_errors[i])
                goto out;
            r->nconfig_errors++;
        }
    }
    *out = r;
    r = NULL;
    e = SG_OK;
out:
    sg_an_result_free(r);
    free(drop);
    free(lc);
    free(extra);
    return e;
}
