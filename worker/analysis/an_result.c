/* Why: owns the running totals of an analysis and the result the worker stores and the command
 * prints: totals, languages, exact rule counts, capped findings with messages, and the score.
 * File-level rules (CPX001, SIZ001) are applied when a file is counted under the final
 * configuration; rules and severities at the end, so a .singularity.yml read late still applies
 * to every file it can.
 *
 * The score and its breakdown come from an_score.c, fed one counted file at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_classify.h"
#include "an_result.h"
#include "an_score.h"
#include "an_secrets.h"

#define AN_FP_BATCH 4096 /* findings hashed together (an_fpfile_flush) */

struct an_fnd {               /* a kept finding; the message is built at the end */
    uint32_t file, line, aux; /* file: index into the tally's ff; SEC rules: the gitleaks rule */
    uint8_t rule;
    char hint[4]; /* SEC rules: at most the secret's first 4 characters, never more */
    uint64_t fp;
};

static char *an_message(const struct an_config *c, const struct an_fnd *f)
{
    char buf[256];
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

static enum an_severity an_sev(const struct an_config *c, int rule)
{
    return c->rules[rule].override ? c->rules[rule].sev : an_rule_default_sev[rule];
}

static int an_cmp_findings(const void *a, const void *b)
{
    const struct an_finding *x = a, *y = b;
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
    const struct an_language *x = a, *y = b;
    if (x->counts.code != y->counts.code)
        return x->counts.code > y->counts.code ? -1 : 1;
    return strcmp(x->name, y->name);
}

void an_result_free(struct an_result *r)
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
    an_result_free_gate(r);
    for (size_t i = 0; i < r->nconfig_errors; i++)
        free(r->config_errors[i]);
    free(r->config_errors);
    free(r);
}

/* ------------------------------------------------------------------ running totals */

#define AN_PROV_MAX_BYTES (8u * 1024 * 1024)

struct an_ffile { /* a file with at least one kept finding */
    size_t path;  /* offset into fpaths */
    bool dropped; /* excluded once the configuration was known */
};

struct an_prov {     /* a file counted before the configuration was final */
    uint32_t path;   /* offset into ppaths */
    size_t fp0, nfp; /* its fingerprints in the tally's pfps */
    int32_t ff;      /* its an_ffile, or -1 */
    struct an_file_stats s;
    uint32_t rc[AN_NRULES];
};

struct an_strs { /* NUL-terminated strings back to back, addressed by offset */
    char *d;
    size_t len, cap;
};

struct an_tally {
    uint32_t max_findings;
    struct an_counts *lc; /* per language, an_nlangs entries */
    uint64_t counts[AN_NRULES], kept[AN_NRULES];
    uint64_t excluded, unfiltered;
    struct an_fnd *fnds;
    size_t nfnds, cap_fnds;
    struct an_ffile *ff;
    size_t nff, cap_ff;
    struct an_strs fpaths, ppaths;
    struct an_prov *prov;
    size_t nprov, cap_prov;
    struct an_score_acc score; /* what the score needs of every counted file */
    void (*on_file)(void *, const struct an_file *);
    void *on_file_ctx;
    struct an_fps fps, pfps; /* every finding's fingerprint; provisional files' */
    struct an_fps *cur_dst;  /* where this file's go (fps or pfps), from cur_fp0 on */
    size_t cur_fp0;
    uint64_t max_total; /* fingerprints at most (limit max_total_findings) */
    bool fp_limit;      /* that many were made: the analysis stops at the file's end */
    struct an_fpfile fpf;
    struct an_rename *renames; /* copies, ascending by `to` */
    size_t nrenames;
    struct an_fp_alias *aliases;
    size_t naliases, cap_aliases;
    /* the current file */
    const char *cur_path;
    int32_t cur_ff;
    uint32_t rc[AN_NRULES];
    bool fp_nomem;
};

static bool an_strs_add(struct an_strs *s, const char *str, size_t *off)
{
    size_t n = strlen(str) + 1;
    while (s->len + n > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 4096;
        char *nd = realloc(s->d, nc);
        if (!nd)
            return false;
        s->d = nd;
        s->cap = nc;
    }
    memcpy(s->d + s->len, str, n);
    *off = s->len;
    s->len += n;
    return true;
}

static int an_cmp_rename(const void *a, const void *b)
{
    return strcmp(((const struct an_rename *)a)->to, ((const struct an_rename *)b)->to);
}

static int an_cmp_alias(const void *a, const void *b)
{
    const struct an_fp_alias *x = a, *y = b;
    return x->fp < y->fp ? -1 : x->fp > y->fp;
}

enum sg_err an_tally_set_renames(struct an_tally *t, const struct an_rename *r, size_t n)
{
    if (!n)
        return SG_OK;
    if (!(t->renames = calloc(n, sizeof *t->renames)))
        return SG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct an_rename *d = &t->renames[t->nrenames++];
        d->from = strdup(r[i].from ? r[i].from : "");
        d->to = strdup(r[i].to ? r[i].to : "");
        if (!d->from || !d->to)
            return SG_ERR_NOMEM;
    }
    qsort(t->renames, t->nrenames, sizeof *t->renames, an_cmp_rename);
    return SG_OK;
}

/* The base's path of a file renamed since the base, or NULL. */
static const char *an_renamed_from(const struct an_tally *t, const char *path)
{
    if (!t->nrenames)
        return NULL;
    struct an_rename key = {.to = path};
    const struct an_rename *hit =
        bsearch(&key, t->renames, t->nrenames, sizeof *t->renames, an_cmp_rename);
    return hit ? hit->from : NULL;
}

struct an_tally *an_tally_new(uint32_t max_findings, uint64_t max_total_findings)
{
    struct an_tally *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->lc = calloc(an_nlangs, sizeof *t->lc);
    if (!t->lc) {
        free(t);
        return NULL;
    }
    t->max_findings = max_findings;
    t->max_total = max_total_findings;
    t->cur_ff = -1;
    return t;
}

void an_tally_free(struct an_tally *t)
{
    if (!t)
        return;
    free(t->lc);
    free(t->fnds);
    free(t->ff);
    free(t->fpaths.d);
    free(t->ppaths.d);
    free(t->prov);
    an_fps_free(&t->fps);
    an_fps_free(&t->pfps);
    an_fpfile_free(&t->fpf);
    for (size_t i = 0; i < t->nrenames; i++) {
        free((char *)t->renames[i].from);
        free((char *)t->renames[i].to);
    }
    free(t->renames);
    free(t->aliases);
    free(t);
}

enum sg_err an_tally_file_begin(struct an_tally *t, const char *path, const unsigned char *data,
                                size_t len, bool provisional)
{
    an_fpfile_begin(&t->fpf, path, an_renamed_from(t, path), data, len);
    /* the file's fingerprints join the set as they are made, or once a provisional file is
     * counted (an_tally_settle) */
    t->cur_dst = provisional ? &t->pfps : &t->fps;
    t->cur_fp0 = t->cur_dst->n;
    t->cur_path = path;
    t->cur_ff = -1;
    memset(t->rc, 0, sizeof t->rc);
    return SG_OK;
}

/* The an_ffile of a path, made on first use; -1 when out of memory. */
static int32_t an_ffile_of(struct an_tally *t, const char *path)
{
    size_t off;
    if (!an_grow((void **)&t->ff, &t->cap_ff, t->nff, sizeof *t->ff, 64) ||
        !an_strs_add(&t->fpaths, path, &off))
        return -1;
    t->ff[t->nff] = (struct an_ffile){.path = off};
    return (int32_t)t->nff++;
}

/* Keeps a finding under the cap; its index in t->fnds, or -1 when beyond the cap. */
static int32_t an_keep(struct an_tally *t, int32_t *ff, const char *path, enum an_rule rule,
                       uint32_t line, uint32_t aux, const char *hint)
{
    if (t->kept[rule] >= t->max_findings)
        return -1;
    if (*ff < 0 && (*ff = an_ffile_of(t, path)) < 0)
        return -1;
    if (!an_grow((void **)&t->fnds, &t->cap_fnds, t->nfnds, sizeof *t->fnds, 256))
        return -1;
    t->fnds[t->nfnds] =
        (struct an_fnd){.file = (uint32_t)*ff, .line = line, .aux = aux, .rule = (uint8_t)rule};
    if (hint)
        memcpy(t->fnds[t->nfnds].hint, hint, strnlen(hint, sizeof t->fnds[0].hint));
    t->nfnds++;
    t->kept[rule]++;
    return (int32_t)t->nfnds - 1;
}

static void an_alias(struct an_tally *t, uint64_t fp, uint64_t as_base)
{
    if (!an_grow((void **)&t->aliases, &t->cap_aliases, t->naliases, sizeof *t->aliases, 64))
        t->fp_nomem = true;
    else
        t->aliases[t->naliases++] = (struct an_fp_alias){fp, as_base};
}

/* Rules about a whole file: their line's text is not part of their fingerprint. */
static bool an_file_level(enum an_rule rule)
{
    return rule == AN_STY003 || rule == AN_STY004 || rule == AN_CPX001 || rule == AN_SIZ001 ||
           rule == AN_BIN001;
}

static bool an_fp_done(void *ctx, uint8_t rule, int32_t k, uint64_t fp, uint64_t afp)
{
    struct an_tally *t = ctx;
    if (t->fps.n + t->pfps.n >= t->max_total) {
        t->fp_limit = true;
        return false;
    }
    if (!an_fps_add(t->cur_dst, fp, rule)) {
        t->fp_nomem = true;
        return false;
    }
    if (k >= 0)
        t->fnds[k].fp = fp;
    if (t->fpf.has_alias)
        an_alias(t, fp, afp);
    return true;
}

/* One finding of the current file, kept under the cap; its fingerprint is made when the file
 * ends (an_fp_done). */
static void an_add_finding(struct an_tally *t, enum an_rule rule, uint32_t line, uint32_t aux,
                           const char *hint)
{
    t->rc[rule]++;
    if (t->fp_limit)
        return;
    int32_t k = an_keep(t, &t->cur_ff, t->cur_path, rule, line, aux, hint);
    /* a secret found by its path alone (no hint) is about the whole file */
    bool file_level = an_file_level(rule) || (hint && !hint[0]);
#ifdef AN_BENCH_NO_FINGERPRINTS /* a benchmark's build: what the engine costs without this step */
    return;
#endif
    if (!an_fpfile_defer(&t->fpf, (uint8_t)rule, file_level, line, k))
        t->fp_nomem = true;
    /* a batch at a time: a file of millions of findings queues no more than this */
    else if (t->fpf.npend >= AN_FP_BATCH && !an_fpfile_flush(&t->fpf, an_rule_ids, an_fp_done, t) &&
             !t->fp_limit)
        t->fp_nomem = true;
}

void an_tally_finding(void *ctx, enum an_rule rule, uint32_t line, uint32_t aux)
{
    an_add_finding(ctx, rule, line, aux, NULL);
}

void an_tally_secret(void *ctx, enum an_rule rule, uint32_t line, uint32_t grule, const char *hint)
{
    an_add_finding(ctx, rule, line, grule, hint ? hint : "");
}

/* A file-level finding made at counting time (CPX001, SIZ001): its identity is the path. */
static void an_keep_file_rule(struct an_tally *t, int32_t *ff, const char *path, enum an_rule rule,
                              uint32_t aux)
{
    int32_t k = an_keep(t, ff, path, rule, 1, aux, NULL);
    uint64_t fp =
        an_fp_final(an_fp_key(an_fp_text(an_fp_begin(path), NULL, 0), an_rule_ids[rule]), 0);
    if (k >= 0)
        t->fnds[k].fp = fp;
    const char *from = an_renamed_from(t, path);
    if (from)
        an_alias(
            t, fp,
            an_fp_final(an_fp_key(an_fp_text(an_fp_begin(from), NULL, 0), an_rule_ids[rule]), 0));
    if (!an_fps_add(&t->fps, fp, (uint8_t)rule))
        t->fp_nomem = true;
}

/* Adds one file under the final configuration c; refilter: it was read before c was known. */
static void an_count(struct an_tally *t, const struct an_config *c, const char *path, int32_t *ff,
                     const struct an_file_stats *s, const uint32_t *rc, bool refilter,
                     const struct an_fps *fps, size_t fp0, size_t nfp)
{
    if (refilter && an_excluded(c, path, s->lang)) {
        t->excluded++;
        if (*ff >= 0)
            t->ff[*ff].dropped = true;
        return;
    }
    for (size_t i = fp0; i < fp0 + nfp; i++)
        if (!an_fps_add(&t->fps, fps->fp[i], fps->rule[i]))
            t->fp_nomem = true;
    for (int k = 0; k < AN_NRULES; k++)
        t->counts[k] += rc[k];
    if (s->status != AN_REC_COUNTED) {
        an_score_add_file(&t->score, c, NULL, rc, 0, 0);
        return;
    }
    const struct an_lang *L = &an_langs[s->lang];
    struct an_counts *x = &t->lc[s->lang];
    x->files++, x->code += s->code, x->comment += s->comment, x->blank += s->blank;
    x->bytes += s->bytes, x->complexity += s->complexity;
    /* the limits follow the kind of file (an_score.c): none for data, prose and build files */
    uint32_t all[AN_NRULES], cx_limit = an_file_limit(c, L, AN_CPX001);
    uint32_t size_limit = an_file_limit(c, L, AN_SIZ001);
    memcpy(all, rc, sizeof all);
    if (cx_limit && s->complexity > cx_limit) {
        t->counts[AN_CPX001]++;
        all[AN_CPX001] = 1;
        an_keep_file_rule(t, ff, path, AN_CPX001,
                          (uint32_t)(s->complexity > UINT32_MAX ? UINT32_MAX : s->complexity));
    }
    if (size_limit && s->lines > size_limit) {
        t->counts[AN_SIZ001]++;
        all[AN_SIZ001] = 1;
        an_keep_file_rule(t, ff, path, AN_SIZ001, s->lines);
    }
    an_score_add_file(&t->score, c, L, all, s->complexity, s->lines);
    if (t->on_file) {
        struct an_file f = {path,
                            L->name,
                            an_lang_kind_str(L),
                            s->lines,
                            {1, s->code, s->comment, s->blank, s->bytes, s->complexity}};
        t->on_file(t->on_file_ctx, &f);
    }
}

void an_tally_on_file(struct an_tally *t, void (*fn)(void *, const struct an_file *), void *ctx)
{
    t->on_file = fn;
    t->on_file_ctx = ctx;
}

void an_tally_settle(struct an_tally *t, const struct an_config *c)
{
    for (size_t i = 0; i < t->nprov; i++) {
        struct an_prov *p = &t->prov[i];
        an_count(t, c, t->ppaths.d + p->path, &p->ff, &p->s, p->rc, true, &t->pfps, p->fp0, p->nfp);
    }
    t->pfps.n = 0;
    free(t->prov);
    free(t->ppaths.d);
    t->prov = NULL;
    t->ppaths = (struct an_strs){0};
    t->nprov = t->cap_prov = 0;
}

struct an_line_hint *an_tally_line_hint(struct an_tally *t)
{
    return &t->fpf.hint;
}

uint64_t an_tally_unfiltered(const struct an_tally *t)
{
    return t->unfiltered;
}

enum sg_err an_tally_file_end(struct an_tally *t, const struct an_file_stats *s,
                              const struct an_config *c)
{
    struct an_fps *dst = t->cur_dst;
    size_t fp0 = t->cur_fp0;
    bool provisional = dst == &t->pfps;
    if (!an_fpfile_flush(&t->fpf, an_rule_ids, an_fp_done, t) && !t->fp_limit)
        t->fp_nomem = true;
    if (t->fp_limit)
        return SG_ERR_TOO_LARGE;
    if (t->fp_nomem)
        return SG_ERR_NOMEM;
    if (!provisional) {
        an_count(t, c, t->cur_path, &t->cur_ff, s, t->rc, false, NULL, 0, 0);
        return SG_OK;
    }
    size_t off;
    if (!an_grow((void **)&t->prov, &t->cap_prov, t->nprov, sizeof *t->prov, 256) ||
        !an_strs_add(&t->ppaths, t->cur_path, &off))
        return SG_ERR_NOMEM;
    struct an_prov *p = &t->prov[t->nprov++];
    p->path = (uint32_t)off;
    p->fp0 = fp0;
    p->nfp = dst->n - fp0;
    p->ff = t->cur_ff;
    p->s = *s;
    memcpy(p->rc, t->rc, sizeof p->rc);
    if (t->nprov * sizeof *t->prov + t->ppaths.len + t->pfps.n * 9 > AN_PROV_MAX_BYTES) {
        /* bounded memory first: count them under the configuration as it stands */
        t->unfiltered += t->nprov;
        an_tally_settle(t, c);
    }
    return SG_OK;
}

enum sg_err an_tally_result(struct an_tally *t, const struct an_config *c,
                            const struct an_skipped *skipped, struct an_result **out)
{
    enum sg_err e = SG_ERR_NOMEM;
    *out = NULL;
    an_tally_settle(t, c);
    struct an_result *r = calloc(1, sizeof *r);
    if (!r)
        goto out;
    r->skipped = *skipped;
    r->skipped.excluded += t->excluded;
    r->threshold = c->quality_threshold;

    /* languages and totals */
    for (size_t i = 0; i < an_nlangs; i++)
        if (t->lc[i].files)
            r->nlanguages++;
    r->languages = calloc(r->nlanguages ? r->nlanguages : 1, sizeof *r->languages);
    if (!r->languages)
        goto out;
    for (size_t i = 0, j = 0; i < an_nlangs; i++) {
        const struct an_counts *l = &t->lc[i];
        if (!l->files)
            continue;
        r->languages[j].name = an_langs[i].name;
        r->languages[j].counts = *l;
        struct an_counts *x = &r->totals;
        x->files += l->files, x->code += l->code, x->comment += l->comment;
        x->blank += l->blank, x->bytes += l->bytes, x->complexity += l->complexity;
        j++;
    }
    qsort(r->languages, r->nlanguages, sizeof *r->languages, an_cmp_langs);

    /* rule counts after `rules: off` */
    uint64_t counts[AN_NRULES], sev[3] = {0};
    memcpy(counts, t->counts, sizeof counts);
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
                r->rule_counts[j++] = (struct an_rule_count){an_rule_ids[k], counts[k]};
        for (size_t a = 1; a < j; a++)
            for (size_t b = a;
                 b > 0 && strcmp(r->rule_counts[b - 1].rule, r->rule_counts[b].rule) > 0; b--) {
                struct an_rule_count x = r->rule_counts[b];
                r->rule_counts[b] = r->rule_counts[b - 1];
                r->rule_counts[b - 1] = x;
            }
    }

    /* findings: most severe first, capped */
    size_t cand = 0;
    for (size_t i = 0; i < t->nfnds; i++) {
        const struct an_fnd *f = &t->fnds[i];
        if (!t->ff[f->file].dropped && !c->rules[f->rule].off)
            cand++;
    }
    r->findings = calloc(cand ? cand : 1, sizeof *r->findings);
    if (!r->findings)
        goto out;
    for (size_t i = 0; i < t->nfnds; i++) {
        const struct an_fnd *f = &t->fnds[i];
        if (t->ff[f->file].dropped || c->rules[f->rule].off)
            continue;
        struct an_finding *o = &r->findings[r->nfindings];
        o->rule = an_rule_ids[f->rule];
        o->severity = an_sev(c, f->rule);
        o->path = strdup(t->fpaths.d + t->ff[f->file].path);
        o->line = f->line ? f->line : 1;
        o->message = an_message(c, f);
        o->fingerprint = f->fp;
        r->nfindings++;
        if (!o->path || !o->message)
            goto out;
    }
    qsort(r->findings, r->nfindings, sizeof *r->findings, an_cmp_findings);
    while (r->nfindings > t->max_findings) {
        r->nfindings--;
        free(r->findings[r->nfindings].path);
        free(r->findings[r->nfindings].message);
    }

    r->score =
        an_score_compute(&t->score, c, counts, r->totals.code, r->totals.complexity, r->breakdown);
    r->passed = r->score >= r->threshold && sev[AN_ERROR] == 0;
    r->gate = c->gate;
    if (t->fp_nomem || an_fps_to_result(&t->fps, c, r) != SG_OK)
        goto out;
    if (t->naliases) {
        qsort(t->aliases, t->naliases, sizeof *t->aliases, an_cmp_alias);
        r->fingerprint_aliases = t->aliases;
        r->nfingerprint_aliases = t->naliases;
        t->aliases = NULL;
        t->naliases = t->cap_aliases = 0;
    }

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
    if (an_gate(r) != SG_OK)
        goto out;
    *out = r;
    r = NULL;
    e = SG_OK;
out:
    an_result_free(r);
    return e;
}
