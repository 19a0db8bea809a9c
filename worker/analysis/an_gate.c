/* Why: owns judging the change (DESIGN.md section 9): classifying a head's findings against its
 * base by fingerprint (new / existing / fixed) and the gate that turns that into passed or not,
 * with the reasons a person reads first in the check run and on the command line. Both work on the
 * complete sorted fingerprint sets, so the counts stay exact where findings are capped, and a
 * merge of two sorted arrays keeps 100,000 + 100,000 findings far below a millisecond's worth of
 * the job. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_internal.h"

static void an_free_reasons(struct an_result *r)
{
    for (size_t i = 0; i < r->ngate_reasons; i++)
        free(r->gate_reasons[i]);
    free(r->gate_reasons);
    r->gate_reasons = NULL;
    r->ngate_reasons = 0;
}

static void an_free_fixed(struct an_result *r)
{
    for (size_t i = 0; i < r->nfixed; i++) {
        free(r->fixed[i].path);
        free(r->fixed[i].message);
    }
    free(r->fixed);
    r->fixed = NULL;
    r->nfixed = 0;
}

void an_result_free_gate(struct an_result *r)
{
    an_free_reasons(r);
    an_free_fixed(r);
    free(r->fingerprints);
    free(r->fingerprint_severity);
    free(r->fingerprint_aliases);
    r->fingerprint_aliases = NULL;
    r->nfingerprint_aliases = 0;
    r->fingerprints = NULL;
    r->fingerprint_severity = NULL;
    r->nfingerprints = 0;
}

static bool an_in(const uint64_t *v, size_t n, uint64_t fp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == fp;
}

/* A head fingerprint as the base knows it: under a renamed file's previous path, if renamed. */
static uint64_t an_as_base(const struct an_result *h, uint64_t fp)
{
    size_t lo = 0, hi = h->nfingerprint_aliases;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->fingerprint_aliases[mid].fp < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->nfingerprint_aliases && h->fingerprint_aliases[lo].fp == fp
               ? h->fingerprint_aliases[lo].as_base
               : fp;
}

static enum sg_err an_classify_sets(struct an_result *h, const struct an_result *b,
                                    const uint64_t *hf, const uint8_t *hs);

enum sg_err an_classify(struct an_result *h, const struct an_result *b)
{
    enum sg_err e = SG_ERR_NOMEM;
    /* the head's set in the base's terms (renamed files' fingerprints under their old paths) */
    size_t n = h->nfingerprints;
    uint64_t *hf = malloc((n ? n : 1) * sizeof *hf);
    uint8_t *hs = malloc(n ? n : 1);
    if (!hf || !hs)
        goto out;
    for (size_t i = 0; i < n; i++)
        hf[i] = an_as_base(h, h->fingerprints[i]);
    memcpy(hs, h->fingerprint_severity, n);
    if (h->nfingerprint_aliases && !an_fingerprints_sort(hf, hs, n))
        goto out;
    e = an_classify_sets(h, b, hf, hs);
out:
    free(hf);
    free(hs);
    return e;
}

static enum sg_err an_classify_sets(struct an_result *h, const struct an_result *b,
                                    const uint64_t *hf, const uint8_t *hs)
{
    an_free_fixed(h);
    h->has_base = true;
    h->base_score = b->score;
    h->base_findings = b->nfingerprints;
    h->new_findings = h->fixed_findings = h->existing_findings = 0;
    memset(h->new_by_severity, 0, sizeof h->new_by_severity);
    /* multiset difference of two ascending arrays */
    size_t i = 0, j = 0;
    while (i < h->nfingerprints || j < b->nfingerprints) {
        if (j == b->nfingerprints || (i < h->nfingerprints && hf[i] < b->fingerprints[j])) {
            h->new_findings++;
            h->new_by_severity[hs[i] <= AN_ERROR ? hs[i] : AN_ERROR]++;
            i++;
        } else if (i == h->nfingerprints || b->fingerprints[j] < hf[i]) {
            h->fixed_findings++;
            j++;
        } else {
            h->existing_findings++;
            i++, j++;
        }
    }
    for (size_t k = 0; k < h->nfindings; k++)
        h->findings[k].status =
            an_in(b->fingerprints, b->nfingerprints, an_as_base(h, h->findings[k].fingerprint))
                ? AN_EXISTING
                : AN_NEW;
    size_t nfixed = 0;
    for (size_t k = 0; k < b->nfindings; k++)
        if (!an_in(hf, h->nfingerprints, b->findings[k].fingerprint))
            nfixed++;
    if (nfixed > AN_FIXED_MAX)
        nfixed = AN_FIXED_MAX;
    if (nfixed) {
        h->fixed = calloc(nfixed, sizeof *h->fixed);
        if (!h->fixed)
            return SG_ERR_NOMEM;
        for (size_t k = 0; k < b->nfindings && h->nfixed < nfixed; k++) {
            const struct an_finding *f = &b->findings[k];
            if (an_in(hf, h->nfingerprints, f->fingerprint))
                continue;
            struct an_finding *o = &h->fixed[h->nfixed++];
            *o = *f;
            o->path = strdup(f->path);
            o->message = strdup(f->message);
            o->status = AN_UNCLASSIFIED;
            if (!o->path || !o->message)
                return SG_ERR_NOMEM;
        }
    }
    return an_gate(h);
}

static bool an_reason(struct an_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool an_reason(struct an_result *r, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **n = realloc(r->gate_reasons, (r->ngate_reasons + 1) * sizeof *n);
    if (!n)
        return false;
    r->gate_reasons = n;
    if (!(n[r->ngate_reasons] = strdup(buf)))
        return false;
    r->ngate_reasons++;
    return true;
}

static bool an_gate_overall(struct an_result *r)
{
    uint64_t errors = 0;
    for (size_t i = 0; i < r->nfingerprints; i++)
        errors += r->fingerprint_severity[i] == AN_ERROR;
    bool ok = true;
    r->passed = r->score >= r->threshold && errors == 0;
    if (r->score < r->threshold)
        ok &= an_reason(r, "score %.1f is below quality_threshold %.1f", r->score, r->threshold);
    if (errors)
        ok &= an_reason(r, "%llu finding%s of severity error", (unsigned long long)errors,
                        errors == 1 ? "" : "s");
    if (r->passed)
        ok &= an_reason(r,
                        "score %.1f reaches quality_threshold %.1f and no finding has severity "
                        "error",
                        r->score, r->threshold);
    return ok;
}

static bool an_gate_new(struct an_result *r)
{
    const struct an_gate_cfg *g = &r->gate;
    uint64_t failing = 0;
    for (int s = g->fail_on < 0 ? 3 : g->fail_on; s <= AN_ERROR; s++)
        failing += r->new_by_severity[s];
    double drop = r->base_score - r->score;
    bool dropped = drop > g->max_score_drop + 1e-9;
    bool ok = true;
    r->passed = failing == 0 && !dropped;
    const char *sev = g->fail_on < 0 ? "none" : an_severity_str((enum an_severity)g->fail_on);
    if (failing)
        ok &= an_reason(r, "%llu new finding%s of severity %s or above",
                        (unsigned long long)failing, failing == 1 ? "" : "s", sev);
    if (dropped)
        ok &= an_reason(r, "the score fell %.1f (%.1f to %.1f), more than max_score_drop %.1f",
                        drop, r->base_score, r->score, g->max_score_drop);
    if (r->passed) {
        if (g->fail_on < 0)
            ok &= an_reason(r, "fail_on is none and the score did not fall more than %.1f",
                            g->max_score_drop);
        else
            ok &= an_reason(r,
                            "no new finding of severity %s or above and the score did not fall "
                            "more than %.1f",
                            sev, g->max_score_drop);
    }
    return ok;
}

enum sg_err an_gate(struct an_result *r)
{
    an_free_reasons(r);
    bool ok = r->has_base && !r->gate.scope_overall ? an_gate_new(r) : an_gate_overall(r);
    return ok ? SG_OK : SG_ERR_NOMEM;
}

const char *an_rule_id(const char *rule_id)
{
    int k = rule_id ? an_rule_index(rule_id) : -1;
    return k < 0 ? NULL : an_rule_ids[k];
}
