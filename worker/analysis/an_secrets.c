/* Why: gitleaks' 222 rules at the analyser's speed. One Hyperscan pass over a file's bytes finds
 * every place a rule could match (its regex compiled as a prefilter, which may over-report but
 * never misses) and which keywords the file contains; PCRE2 (JIT) then runs the exact regex only
 * on those candidate lines, for the match, the secret group, the entropy and the allow-lists,
 * exactly as gitleaks' detectRule() does. Block mode, not streaming: the engine already holds
 * each file whole (under max_file_bytes), and block mode needs no per-file stream state.
 *
 * The database is compiled once per process (pthread_once) and shared; each session has its own
 * scratch. PCRE2 regexes are compiled on first use, since most files wake only a few rules. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <math.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_secrets.h"
#include "sg_time.h"

#define AN_SEC_MAX_KW      512        /* keyword literals (gitleaks has about 400) */
#define AN_SEC_MAX_CANDS   65536      /* candidates verified in one batch */
#define AN_SEC_LINE_CAP    4096       /* a candidate's window: this far around its line at most */
#define AN_SEC_MATCH_LIM   1000000    /* PCRE2 steps per match attempt: hostile text stays linear */
#define AN_SEC_BUDGET_X    16         /* a file's candidate windows: 16 times its size... */
#define AN_SEC_BUDGET_MIN  (1u << 20) /* ...plus 1 MiB */
#define AN_SEC_CLOCK_EVERY 256        /* candidates verified between two reads of the clock */

enum { AN_ID_ANCHOR = 1 << 21 }; /* a keyword literal; other ids are rule indexes */

struct an_anchor {
    uint16_t rule;
    uint16_t kwlen;
};

/* ---- shared, built once ---- */
static struct {
    pthread_once_t once;
    hs_database_t *db;
    int fallbacks; /* rules whose regex Hyperscan rejected: keyword-found */
    bool *by_kw;   /* per rule: candidates come from keyword hits */
    struct an_anchor *anchors;
    size_t nanchors;
    uint16_t path_only[8]; /* rules with a path and no regex */
    size_t npath_only;
    char err[256];
} g = {.once = PTHREAD_ONCE_INIT};

/* An allow-list's stop-words by their first two bytes: a secret is tested at each of its
 * positions against the few words starting there, not against all 1500 of generic-api-key's. */
struct an_sw {
    uint16_t key, len;
    const char *w;
};
struct an_sw_index {
    struct an_sw *e;
    size_t n;
};

/* PCRE2 regexes of a rule, compiled on first use; an_sec_re() is safe from any thread. */
struct an_sec_res {
    pcre2_code *re, *core, *path, **allow, **allow_path;
    struct an_sw_index *sw;
};

static int an_cmp_sw(const void *a, const void *b)
{
    const struct an_sw *x = a, *y = b;
    return (int)x->key - (int)y->key;
}

static void an_sw_build(struct an_sw_index *ix, const struct an_sec_allow *a)
{
    ix->e = calloc(a->nstopwords + 1, sizeof *ix->e);
    if (!ix->e)
        return;
    for (size_t k = 0; k < a->nstopwords; k++) {
        const char *w = a->stopwords[k];
        size_t len = strlen(w);
        if (len < 2) /* every position would be a candidate: kept as a plain scan below */
            continue;
        ix->e[ix->n++] = (struct an_sw){(uint16_t)((unsigned char)w[0] << 8 | (unsigned char)w[1]),
                                        (uint16_t)len, w};
    }
    qsort(ix->e, ix->n, sizeof *ix->e, an_cmp_sw);
}
static _Atomic(struct an_sec_res *) *g_res;
static _Atomic(struct an_sec_res *) g_global_res;

static pcre2_code *an_pcre(const char *pat)
{
    int ec;
    PCRE2_SIZE eo;
    if (!pat)
        return NULL;
    /* Go's `$` without (?m) is the end of the text only */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                   PCRE2_DOLLAR_ENDONLY | PCRE2_USE_OFFSET_LIMIT, &ec, &eo, NULL);
    if (re)
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter still works without */
    return re;
}

static struct an_sec_res *an_res_build(const struct an_sec_allow *al, size_t nal, const char *re,
                                       const char *core, const char *path)
{
    struct an_sec_res *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->re = an_pcre(re);
    r->core = an_pcre(core);
    r->path = an_pcre(path);
    r->allow = calloc(nal + 1, sizeof *r->allow);
    r->allow_path = calloc(nal + 1, sizeof *r->allow_path);
    r->sw = calloc(nal + 1, sizeof *r->sw);
    for (size_t k = 0; k < nal && r->allow && r->allow_path && r->sw; k++) {
        r->allow[k] = an_pcre(al[k].regex);
        r->allow_path[k] = an_pcre(al[k].paths);
        if (al[k].nstopwords)
            an_sw_build(&r->sw[k], &al[k]);
    }
    return r;
}

static void an_res_free(struct an_sec_res *r, size_t nal)
{
    if (!r)
        return;
    pcre2_code_free(r->re);
    pcre2_code_free(r->core);
    pcre2_code_free(r->path);
    for (size_t k = 0; k < nal && r->allow; k++)
        pcre2_code_free(r->allow[k]);
    for (size_t k = 0; k < nal && r->allow_path; k++)
        pcre2_code_free(r->allow_path[k]);
    for (size_t k = 0; k < nal && r->sw; k++)
        free(r->sw[k].e);
    free(r->sw);
    free(r->allow);
    free(r->allow_path);
    free(r);
}

static struct an_sec_res *an_sec_res_of(_Atomic(struct an_sec_res *) *slot,
                                        const struct an_sec_allow *al, size_t nal, const char *re,
                                        const char *core, const char *path)
{
    struct an_sec_res *r = atomic_load_explicit(slot, memory_order_acquire);
    if (r)
        return r;
    struct an_sec_res *n = an_res_build(al, nal, re, core, path), *exp = NULL;
    if (!n)
        return NULL;
    if (atomic_compare_exchange_strong(slot, &exp, n))
        return n;
    an_res_free(n, nal); /* another thread won */
    return exp;
}

static struct an_sec_res *an_rule_res(size_t r)
{
    const struct an_sec_rule *R = &an_sec_rules[r];
    return an_sec_res_of(&g_res[r], R->allow, R->nallow, R->regex, R->core, R->path);
}

static struct an_sec_res *an_global_res(void)
{
    return an_sec_res_of(&g_global_res, &an_sec_global_allow, 1, NULL, NULL, NULL);
}

/* A keyword as a Hyperscan literal: every byte that is not a letter or digit escaped. */
static char *an_hs_literal(const char *w)
{
    size_t n = strlen(w);
    char *o = malloc(n * 4 + 1), *p = o;
    if (!o)
        return NULL;
    for (; *w; w++) {
        unsigned char c = (unsigned char)*w;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            *p++ = (char)c;
        else
            p += snprintf(p, 5, "\\x%02x", c);
    }
    *p = '\0';
    return o;
}

/* The pattern set, in an order that depends only on the rule table and g.by_kw, so that a
 * database serialized at build time and the tables built at run time agree on every id. */
static size_t an_sec_patterns(const char **exprs, char **owned, unsigned *flags, unsigned *ids)
{
    size_t n = 0;
    g.nanchors = 0;
    for (size_t r = 0; r < an_sec_nrules; r++) {
        const struct an_sec_rule *R = &an_sec_rules[r];
        if (g.by_kw[r]) {
            for (size_t k = 0; k < R->nkeywords && g.nanchors < AN_SEC_MAX_KW; k++) {
                owned[n] = an_hs_literal(R->keywords[k]);
                exprs[n] = owned[n];
                flags[n] = HS_FLAG_CASELESS;
                g.anchors[g.nanchors] =
                    (struct an_anchor){(uint16_t)r, (uint16_t)strlen(R->keywords[k])};
                ids[n++] = AN_ID_ANCHOR | (unsigned)g.nanchors++;
            }
        } else if (R->hs) {
            exprs[n] = R->hs;
            flags[n] = HS_FLAG_PREFILTER;
            ids[n++] = (unsigned)r;
        }
    }
    return n;
}

/* Compiles the set. A regex Hyperscan rejects even as a prefilter is not dropped: its rule is
 * found from its keywords instead (each keyword hit is a candidate line), slower but exact, and
 * counted so a test can insist there are none. */
static void an_sec_compile(const hs_platform_info_t *plat)
{
    size_t cap = an_sec_nrules * 2 + AN_SEC_MAX_KW * 2;
    const char **exprs = calloc(cap, sizeof *exprs);
    char **owned = calloc(cap, sizeof *owned);
    unsigned *flags = calloc(cap, sizeof *flags), *ids = calloc(cap, sizeof *ids);
    if (!exprs || !owned || !flags || !ids) {
        snprintf(g.err, sizeof g.err, "secrets: out of memory");
        goto out;
    }
    for (;;) {
        size_t n = an_sec_patterns(exprs, owned, flags, ids);
        hs_compile_error_t *ce = NULL;
        hs_error_t rc =
            hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, plat, &g.db, &ce);
        int bad = rc == HS_SUCCESS || !ce ? -1 : ce->expression;
        if (rc != HS_SUCCESS && (bad < 0 || (ids[bad] & AN_ID_ANCHOR)))
            snprintf(g.err, sizeof g.err, "secrets: hyperscan: %s", ce ? ce->message : "failed");
        if (ce)
            hs_free_compile_error(ce);
        for (size_t k = 0; k < n; k++)
            free(owned[k]), owned[k] = NULL;
        if (rc == HS_SUCCESS || bad < 0 || (ids[bad] & AN_ID_ANCHOR))
            break;
        g.by_kw[ids[bad]] = true; /* this rule's regex: keyword-found instead; try again */
        g.fallbacks++;
    }
out:
    free(exprs);
    free(owned);
    free(flags);
    free(ids);
}

/* The keyword tables every path needs. */
static bool an_sec_tables(void)
{
    size_t nr = an_sec_nrules;
    g.by_kw = calloc(nr, sizeof *g.by_kw);
    g.anchors = calloc(AN_SEC_MAX_KW, sizeof *g.anchors);
    g_res = calloc(nr, sizeof *g_res);
    if (!g.by_kw || !g.anchors || !g_res) {
        snprintf(g.err, sizeof g.err, "secrets: out of memory");
        return false;
    }
    for (size_t r = 0; r < nr; r++) {
        g.by_kw[r] = an_sec_rules[r].regex && !an_sec_rules[r].hs;
        if (!an_sec_rules[r].regex && an_sec_rules[r].path && g.npath_only < 8)
            g.path_only[g.npath_only++] = (uint16_t)r;
    }
    return true;
}

/* Compiling the set takes about a second, too long for every process that analyses a tarball in
 * a fraction of that: the build serializes it (gen_secrets_db, for the generic x86-64 platform
 * so the binary runs on any machine Hyperscan does) and a process only deserializes it. Without
 * a serialized database (a build that has none, or a Hyperscan that refuses it) it compiles. */
static void an_sec_build(void)
{
    if (!an_sec_tables())
        return;
    if (an_sec_db_len) {
        for (size_t k = 0; k < an_sec_db_nfallback; k++)
            if (an_sec_db_fallback[k] < an_sec_nrules && !g.by_kw[an_sec_db_fallback[k]]) {
                g.by_kw[an_sec_db_fallback[k]] = true;
                g.fallbacks++;
            }
        size_t cap = an_sec_nrules * 2 + AN_SEC_MAX_KW * 2, n = 0;
        const char **exprs = calloc(cap, sizeof *exprs);
        char **owned = calloc(cap, sizeof *owned);
        unsigned *flags = calloc(cap, sizeof *flags), *ids = calloc(cap, sizeof *ids);
        if (exprs && owned && flags && ids)
            n = an_sec_patterns(exprs, owned, flags, ids); /* for the anchor table */
        for (size_t k = 0; k < n; k++)
            free(owned[k]);
        free(exprs), free(owned), free(flags), free(ids);
        if (n &&
            hs_deserialize_database((const char *)an_sec_db, an_sec_db_len, &g.db) == HS_SUCCESS)
            return;
        g.db = NULL;
        memset(g.by_kw, 0, an_sec_nrules * sizeof *g.by_kw);
        for (size_t r = 0; r < an_sec_nrules; r++)
            g.by_kw[r] = an_sec_rules[r].regex && !an_sec_rules[r].hs;
        g.fallbacks = 0;
    }
    an_sec_compile(NULL);
}

bool an_secrets_serialize(char **bytes, size_t *len, uint16_t *fallback, size_t *nfallback)
{
    hs_platform_info_t plat = {.tune = HS_TUNE_FAMILY_GENERIC, .cpu_features = 0};
    if (!an_sec_tables())
        return false;
    an_sec_compile(&plat);
    if (!g.db || hs_serialize_database(g.db, bytes, len) != HS_SUCCESS)
        return false;
    *nfallback = 0;
    for (size_t r = 0; r < an_sec_nrules; r++)
        if (g.by_kw[r] && an_sec_rules[r].hs)
            fallback[(*nfallback)++] = (uint16_t)r;
    return true;
}

int an_secrets_fallbacks(void)
{
    pthread_once(&g.once, an_sec_build);
    return g.db ? g.fallbacks : -1;
}

int an_secret_rule_index(const char *id)
{
    for (size_t r = 0; id && r < an_sec_nrules; r++)
        if (strcmp(an_sec_rules[r].id, id) == 0)
            return (int)r;
    return -1;
}

bool an_secrets_regex_ok(const char *re, char *err, size_t errlen)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
    if (c) {
        pcre2_code_free(c);
        return true;
    }
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(ec, msg, sizeof msg);
    snprintf(err, errlen, "%s at offset %zu", (const char *)msg, (size_t)eo);
    return false;
}

/* ---- a session ---- */
struct an_cand {
    uint32_t rule; /* rule index; AN_ID_ANCHOR set: pos is a keyword's first byte */
    uint32_t pos;  /* a byte of the candidate line */
};

struct an_found { /* a verified finding, before gitleaks' generic-rule filter */
    uint32_t rule, line;
    size_t ss, se; /* the secret's bytes */
};

struct an_secrets {
    hs_scratch_t *scratch;
    pcre2_match_data *md;
    pcre2_match_context *mctx; /* the rules' regexes: a step limit and a start limit */
    pcre2_match_context *actx; /* allow-lists and paths: a step limit */
    size_t budget;             /* bytes of windows the file may still have searched */
    int64_t deadline_ms;       /* sg_mono_ms() at which the scan stops; 0 = none */
    bool timed_out;
    pcre2_code **allow; /* .singularity.yml secrets.allow */
    size_t nallow;
    bool *disabled;
    /* per file */
    const unsigned char *d;
    size_t n;
    const char *path;
    uint32_t gen;
    uint32_t *stamp;  /* per rule: file generation of the fields below */
    size_t *cand_end; /* end of the last candidate line recorded */
    size_t *last_end; /* end of the last match (gitleaks' matches do not overlap) */
    size_t *done;     /* every match starting before this was looked for */
    int8_t *gate;     /* -1 unknown, 0 no, 1 yes: the path matches the rule */
    int8_t *kwgate;   /* -1 unknown, 0 no, 1 yes: the file has a keyword of the rule */
    struct an_cand *cands;
    size_t ncands;
    struct an_found *found;
    size_t nfound, capfound;
    size_t cur_pos; /* line cursor */
    uint32_t cur_line;
};

struct an_secrets *an_secrets_new(const struct an_config *c, char *err, size_t errlen)
{
    pthread_once(&g.once, an_sec_build);
    if (!g.db) {
        snprintf(err, errlen, "%s", g.err[0] ? g.err : "secrets: no database");
        return NULL;
    }
    size_t nr = an_sec_nrules;
    struct an_secrets *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->md = pcre2_match_data_create(32, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    s->actx = pcre2_match_context_create(NULL);
    s->disabled = calloc(nr, sizeof *s->disabled);
    s->stamp = calloc(nr, sizeof *s->stamp);
    s->cand_end = calloc(nr, sizeof *s->cand_end);
    s->last_end = calloc(nr, sizeof *s->last_end);
    s->done = calloc(nr, sizeof *s->done);
    s->gate = calloc(nr, sizeof *s->gate);
    s->kwgate = calloc(nr, sizeof *s->kwgate);
    s->cands = malloc(AN_SEC_MAX_CANDS * sizeof *s->cands);
    if (!s->md || !s->mctx || !s->actx || !s->disabled || !s->stamp || !s->cand_end ||
        !s->last_end || !s->done || !s->gate || !s->kwgate || !s->cands)
        goto oom;
    pcre2_set_match_limit(s->mctx, AN_SEC_MATCH_LIM);
    pcre2_set_match_limit(s->actx, AN_SEC_MATCH_LIM);
    if (hs_alloc_scratch(g.db, &s->scratch) != HS_SUCCESS)
        goto oom;
    if (c) {
        for (size_t k = 0; k < c->nsec_disable; k++) {
            int r = an_secret_rule_index(c->sec_disable[k]);
            if (r >= 0)
                s->disabled[r] = true;
        }
        s->allow = calloc(c->nsec_allow + 1, sizeof *s->allow);
        if (!s->allow)
            goto oom;
        for (size_t k = 0; k < c->nsec_allow; k++) {
            int ec;
            PCRE2_SIZE eo;
            pcre2_code *re = pcre2_compile((PCRE2_SPTR)c->sec_allow[k], PCRE2_ZERO_TERMINATED, 0,
                                           &ec, &eo, NULL);
            if (re) { /* an_config_parse already reported the ones that do not compile */
                pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
                s->allow[s->nallow++] = re;
            }
        }
    }
    return s;
oom:
    an_secrets_free(s);
    snprintf(err, errlen, "secrets: out of memory");
    return NULL;
}

void an_secrets_free(struct an_secrets *s)
{
    if (!s)
        return;
    hs_free_scratch(s->scratch);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    pcre2_match_context_free(s->actx);
    for (size_t k = 0; k < s->nallow; k++)
        pcre2_code_free(s->allow[k]);
    free(s->allow);
    free(s->disabled);
    free(s->stamp);
    free(s->cand_end);
    free(s->last_end);
    free(s->done);
    free(s->gate);
    free(s->kwgate);
    free(s->cands);
    free(s->found);
    free(s);
}

static bool an_re_hit(struct an_secrets *s, pcre2_code *re, const unsigned char *p, size_t n)
{
    return re && n > 0 && pcre2_match(re, p, n, 0, 0, s->md, s->actx) >= 0;
}

static void an_rule_touch(struct an_secrets *s, size_t r)
{
    if (s->stamp[r] != s->gen) {
        s->stamp[r] = s->gen;
        s->cand_end[r] = 0;
        s->last_end[r] = 0;
        s->done[r] = 0;
        s->gate[r] = -1;
        s->kwgate[r] = -1;
    }
}

/* Case-insensitive search, for a keyword the Hyperscan pass has not reached yet. */
static bool an_has_word(const unsigned char *d, size_t n, const char *w)
{
    size_t m = strlen(w);
    for (size_t i = 0; m && i + m <= n; i++) {
        size_t k = 0;
        while (k < m && (d[i + k] | (unsigned char)((d[i + k] >= 'A' && d[i + k] <= 'Z') << 5)) ==
                            (unsigned char)w[k])
            k++;
        if (k == m)
            return true;
    }
    return false;
}

/* gitleaks runs a rule only when the file contains one of its keywords (in any case). A rule
 * found from its keywords has one. For a rule found by its regex the keywords are looked for once
 * a match is there, first in the match (where they nearly always are), then in the whole file:
 * as Hyperscan literals, the short keywords of those rules ("sk", "ey", "key") would cost more
 * than the whole regex set. */
static bool an_rule_keywords(struct an_secrets *s, size_t r, size_t ms, size_t me)
{
    const struct an_sec_rule *R = &an_sec_rules[r];
    if (R->nkeywords == 0 || g.by_kw[r] || s->kwgate[r] > 0)
        return true;
    if (s->kwgate[r] == 0)
        return false;
    for (size_t k = 0; k < R->nkeywords; k++)
        if (an_has_word(s->d + ms, me - ms, R->keywords[k])) {
            s->kwgate[r] = 1;
            return true;
        }
    bool ok = false;
    for (size_t k = 0; k < R->nkeywords && !ok; k++)
        ok = an_has_word(s->d, s->n, R->keywords[k]);
    s->kwgate[r] = ok;
    return ok;
}

/* ...and only when its path matches the rule's path and no path allow-list of the rule applies. */
static bool an_rule_gate(struct an_secrets *s, size_t r)
{
    an_rule_touch(s, r);
    if (s->gate[r] >= 0)
        return s->gate[r];
    const struct an_sec_rule *R = &an_sec_rules[r];
    bool ok = true;
    struct an_sec_res *res = an_rule_res(r);
    if (ok && !res)
        ok = false;
    size_t pl = strlen(s->path);
    if (ok && R->path && !an_re_hit(s, res->path, (const unsigned char *)s->path, pl))
        ok = false;
    for (size_t k = 0; ok && k < R->nallow; k++)
        if (!R->allow[k].cond_and &&
            an_re_hit(s, res->allow_path[k], (const unsigned char *)s->path, pl))
            ok = false;
    s->gate[r] = ok;
    return ok;
}

static uint32_t an_line_of(struct an_secrets *s, size_t pos)
{
    const unsigned char *d = s->d;
    if (pos >= s->cur_pos) {
        for (const unsigned char *p = d + s->cur_pos, *e = d + pos;
             (p = memchr(p, '\n', (size_t)(e - p))); p++)
            s->cur_line++;
    } else {
        for (const unsigned char *p = d + pos, *e = d + s->cur_pos;
             (p = memchr(p, '\n', (size_t)(e - p))); p++)
            s->cur_line--;
    }
    s->cur_pos = pos;
    return s->cur_line;
}

static size_t an_line_start(const unsigned char *d, size_t pos)
{
    size_t lim = pos > AN_SEC_LINE_CAP ? pos - AN_SEC_LINE_CAP : 0;
    while (pos > lim && d[pos - 1] != '\n')
        pos--;
    return pos;
}

static size_t an_line_end(const unsigned char *d, size_t n, size_t pos)
{
    size_t lim = n - pos > AN_SEC_LINE_CAP ? pos + AN_SEC_LINE_CAP : n;
    const unsigned char *nl = memchr(d + pos, '\n', lim - pos);
    return nl ? (size_t)(nl - d) : lim;
}

static double an_entropy(const unsigned char *p, size_t n)
{
    unsigned cnt[256] = {0};
    for (size_t i = 0; i < n; i++)
        cnt[p[i]]++;
    double h = 0, inv = 1.0 / (double)n;
    for (int c = 0; c < 256; c++)
        if (cnt[c]) {
            double f = cnt[c] * inv;
            h -= f * log2(f);
        }
    return h;
}

static bool an_stopword(const struct an_sec_allow *a, const struct an_sw_index *ix,
                        const unsigned char *p, size_t n)
{
    char low[256];
    if (!a->nstopwords || n == 0)
        return false;
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
    low[n] = '\0';
    for (size_t k = 0; k < a->nstopwords; k++) /* the words too short for the index */
        if (a->stopwords[k][0] && !a->stopwords[k][1] && memchr(low, a->stopwords[k][0], n))
            return true;
    if (!ix || !ix->n)
        return false;
    for (size_t i = 0; i + 1 < n; i++) {
        uint16_t key = (uint16_t)((unsigned char)low[i] << 8 | (unsigned char)low[i + 1]);
        size_t lo = 0, hi = ix->n;
        while (lo < hi) { /* first entry with this key */
            size_t mid = (lo + hi) / 2;
            if (ix->e[mid].key < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < ix->n && ix->e[lo].key == key; lo++)
            if (ix->e[lo].len <= n - i && memcmp(low + i, ix->e[lo].w, ix->e[lo].len) == 0)
                return true;
    }
    return false;
}

/* gitleaks' checkFindingAllowed() for one allow-list. */
static bool an_allowed(struct an_secrets *s, const struct an_sec_allow *a, pcre2_code *re,
                       pcre2_code *pathre, const struct an_sw_index *sw, const unsigned char *sec,
                       size_t secn, const unsigned char *m, size_t mn, const unsigned char *l,
                       size_t ln)
{
    const unsigned char *t = a->target == AN_SEC_T_MATCH ? m : a->target == AN_SEC_T_LINE ? l : sec;
    size_t tn = a->target == AN_SEC_T_MATCH ? mn : a->target == AN_SEC_T_LINE ? ln : secn;
    bool rx = an_re_hit(s, re, t, tn), stop = an_stopword(a, sw, sec, secn);
    if (!a->cond_and)
        return rx || stop;
    if (a->paths && !an_re_hit(s, pathre, (const unsigned char *)s->path, strlen(s->path)))
        return false;
    if (a->regex && !rx)
        return false;
    if (a->nstopwords && !stop)
        return false;
    return a->paths || a->regex || a->nstopwords;
}

/* A match of rule r at [ms, me): gitleaks' checks in its order, then kept for the file. */
static void an_check_match(struct an_secrets *s, size_t r, struct an_sec_res *res, size_t ms,
                           size_t me, int rc)
{
    const struct an_sec_rule *R = &an_sec_rules[r];
    const unsigned char *d = s->d;
    if (!an_rule_keywords(s, r, ms, me))
        return;
    while (me > ms && d[me - 1] == '\n') /* strings.Trim(match, "\n") */
        me--;
    while (ms < me && d[ms] == '\n')
        ms++;
    size_t ls = an_line_start(d, ms), le = an_line_end(d, s->n, me > ms ? me - 1 : ms);
    if (memmem(d + ls, le - ls, "gitleaks:allow", 14) ||
        memmem(d + ls, le - ls, "singularity:allow", 17))
        return;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    size_t ss = ms, se = me;
    if (rc >= 2) {
        if (R->group) {
            if ((int)R->group >= rc || ov[2 * R->group] == PCRE2_UNSET)
                ss = se = ms; /* an unset group: an empty secret */
            else
                ss = ov[2 * R->group], se = ov[2 * R->group + 1];
        } else {
            for (int k = 1; k < rc; k++)
                if (ov[2 * k] != PCRE2_UNSET && ov[2 * k + 1] > ov[2 * k]) {
                    ss = ov[2 * k], se = ov[2 * k + 1];
                    break;
                }
        }
    }
    if (R->entropy != 0.0 && (se == ss || an_entropy(d + ss, se - ss) <= R->entropy))
        return;
    struct an_sec_res *gr = an_global_res();
    if (gr && an_allowed(s, &an_sec_global_allow, gr->allow[0], NULL, &gr->sw[0], d + ss, se - ss,
                         d + ms, me - ms, d + ls, le - ls))
        return;
    for (size_t k = 0; k < R->nallow; k++)
        if (an_allowed(s, &R->allow[k], res->allow[k], res->allow_path[k], &res->sw[k], d + ss,
                       se - ss, d + ms, me - ms, d + ls, le - ls))
            return;
    for (size_t k = 0; k < s->nallow; k++)
        if (an_re_hit(s, s->allow[k], d + ss, se - ss))
            return;
    if (s->nfound == s->capfound) {
        size_t nc = s->capfound ? s->capfound * 2 : 64;
        if (nc > 1u << 20)
            return; /* a file of a million secrets: the first million are reported */
        struct an_found *f = realloc(s->found, nc * sizeof *f);
        if (!f)
            return;
        s->found = f;
        s->capfound = nc;
    }
    s->found[s->nfound++] = (struct an_found){(uint32_t)r, an_line_of(s, ms), ss, se};
}

static bool an_is_ident(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* The leftmost match of a rule whose regex is [\w.-]{0,50}? + core (no top-level alternation:
 * gen_secrets.py), starting in [ws, upto]. The core's leftmost start q (from ws) is the keyword
 * every match goes through: no match can start before p, the first byte of the identifier run
 * that ends at q (at most 50 bytes back), since a match from there would need a core match before
 * q; and the regex anchored at p matches, lazily reaching q. So the result is the whole regex's
 * own leftmost match, in two short searches instead of one that tries 51 prefix lengths at every
 * byte. (The anchored search can then fail only on its step limit, which ends the candidate as
 * any PCRE2 failure does.) */
static int an_match_core(struct an_secrets *s, struct an_sec_res *res, size_t ws, size_t we,
                         size_t upto)
{
    const unsigned char *d = s->d;
    pcre2_set_offset_limit(s->mctx, upto + AN_SEC_CORE_BACK);
    int rc = pcre2_match(res->core, d, we, ws, 0, s->md, s->mctx);
    if (rc < 0)
        return rc;
    size_t q = pcre2_get_ovector_pointer(s->md)[0], p = q;
    while (p > ws && q - p < AN_SEC_CORE_BACK && an_is_ident(d[p - 1]))
        p--;
    if (p > upto)
        return PCRE2_ERROR_NOMATCH;
    return pcre2_match(res->re, d, we, p, PCRE2_ANCHORED, s->md, s->mctx);
}

/* A rule's leftmost match in s->d[0, we) that starts in [ws, upto], or exactly at ws with
 * PCRE2_ANCHORED in opts (a multi-line rule from its keyword); its bounds are then in s->md. */
static int an_first_match(struct an_secrets *s, struct an_sec_res *res, size_t ws, size_t we,
                          size_t upto, uint32_t opts)
{
    if (res->core)
        return an_match_core(s, res, ws, we, upto);
    pcre2_set_offset_limit(s->mctx, (opts & PCRE2_ANCHORED) ? PCRE2_UNSET : upto);
    return pcre2_match(res->re, s->d, we, ws, opts, s->md, s->mctx);
}

bool an_secrets_first_match(struct an_secrets *s, size_t r, const unsigned char *d, size_t n,
                            size_t from, size_t upto, size_t *ms, size_t *me)
{
    struct an_sec_res *res = r < an_sec_nrules ? an_rule_res(r) : NULL;
    if (!s || !res || !res->re || from > n)
        return false;
    s->d = d;
    s->n = n;
    int rc = an_first_match(s, res, from, n, upto, 0);
    s->d = NULL;
    if (rc < 0)
        return false;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    *ms = ov[0];
    *me = ov[1];
    return true;
}

/* Runs rule r's exact regex around one candidate. */
static void an_verify(struct an_secrets *s, const struct an_cand *c)
{
    size_t r = c->rule & ~(unsigned)AN_ID_ANCHOR;
    const struct an_sec_rule *R = &an_sec_rules[r];
    const unsigned char *d = s->d;
    size_t n = s->n;
    if (s->disabled[r] || !an_rule_gate(s, r))
        return;
    struct an_sec_res *res = an_rule_res(r);
    if (!res || !res->re)
        return;
    size_t ws, we, upto; /* search window, and the last start this candidate covers */
    uint32_t opts = 0;
    if (R->fwd) { /* multi-line rule, from a keyword */
        size_t ls = an_line_start(d, c->pos);
        ws = R->anchored ? c->pos : (ls > R->back ? an_line_start(d, ls - R->back) : 0);
        we = n - c->pos > R->fwd ? c->pos + R->fwd : n;
        upto = R->anchored ? c->pos : an_line_end(d, n, c->pos);
        if (R->anchored)
            opts = PCRE2_ANCHORED;
    } else {
        size_t ls = an_line_start(d, c->pos), le = an_line_end(d, n, c->pos);
        /* gitleaks' patterns may begin with white space that spans the previous line break */
        ws = ls > 0 ? an_line_start(d, ls - 1) : 0;
        we = le < n ? an_line_end(d, n, le + 1) : n;
        we = we < n ? we + 1 : n;
        upto = le;
    }
    if (ws < s->last_end[r])
        ws = s->last_end[r];
    if (!R->anchored && ws < s->done[r])
        ws = s->done[r];
    if (R->anchored && ws > c->pos)
        return;
    /* hostile text (a line of "key=key=...", a YAML of "kind: secret" lines) could make every
     * byte a candidate of a window of thousands: a file's windows add up to a bounded multiple
     * of its size, and the rest of its candidates are not searched */
    if (we - ws > s->budget)
        return;
    s->budget -= we - ws;
    /* a match must start by the candidate line's end: PCRE2 stops trying there */
    bool grown = false;
    while (ws <= upto && ws <= we) {
        int rc = an_first_match(s, res, ws, we, upto, opts);
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        size_t ms = ov[0], me = ov[1];
        if (ms > upto)
            break;
        /* a match that runs into the window's end may only be there because the window ends
         * (`$`), or may go on past it: searched again with the window widened */
        if (me == we && we < n && !R->fwd) {
            if (grown)
                break;
            grown = true;
            we = n - we > AN_SEC_LINE_CAP ? we + AN_SEC_LINE_CAP : n;
            continue;
        }
        an_check_match(s, r, res, ms, me, rc == 0 ? 16 : rc);
        s->last_end[r] = me > ms ? me : ms + 1;
        ws = s->last_end[r];
        if (R->anchored)
            break;
    }
    if (!R->anchored && upto + 1 > s->done[r])
        s->done[r] = upto + 1;
}

/* Verifies the candidates so far; the clock is read every AN_SEC_CLOCK_EVERY of them. */
static void an_flush(struct an_secrets *s)
{
    for (size_t i = 0; i < s->ncands && !s->timed_out; i++) {
        if (s->deadline_ms && i % AN_SEC_CLOCK_EVERY == AN_SEC_CLOCK_EVERY - 1 &&
            sg_mono_ms() >= s->deadline_ms)
            s->timed_out = true;
        else
            an_verify(s, &s->cands[i]);
    }
    s->ncands = 0;
}

static int an_on_hs(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    struct an_secrets *s = ctx;
    (void)from, (void)flags;
    struct an_cand c;
    if (id & AN_ID_ANCHOR) {
        const struct an_anchor *a = &g.anchors[id & (AN_ID_ANCHOR - 1)];
        c = (struct an_cand){AN_ID_ANCHOR | a->rule, (uint32_t)(to - a->kwlen)};
        if (s->disabled[a->rule])
            return 0;
        if (!an_sec_rules[a->rule].fwd || an_sec_rules[a->rule].line_once) { /* once a line */
            an_rule_touch(s, a->rule);
            if (to - 1 < s->cand_end[a->rule] && s->cand_end[a->rule])
                return 0;
            s->cand_end[a->rule] = an_line_end(s->d, s->n, (size_t)(to - 1)) + 1;
        }
    } else {
        if (s->disabled[id])
            return 0;
        an_rule_touch(s, id);
        /* the prefilter reports every end of every match: one candidate per line is enough */
        if (to - 1 < s->cand_end[id] && s->cand_end[id])
            return 0;
        s->cand_end[id] = an_line_end(s->d, s->n, (size_t)(to - 1)) + 1;
        c = (struct an_cand){id, (uint32_t)(to - 1)};
    }
    if (s->ncands == AN_SEC_MAX_CANDS)
        an_flush(s);
    s->cands[s->ncands++] = c;
    return 0;
}

static int an_cmp_found(const void *a, const void *b)
{
    const struct an_found *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    return x->ss < y->ss ? -1 : x->ss > y->ss;
}

/* gitleaks' filter(): a generic finding gives way to a provider's finding on the same line whose
 * secret contains it. */
static bool an_shadowed(const struct an_secrets *s, size_t i)
{
    const struct an_found *f = &s->found[i];
    if (!strstr(an_sec_rules[f->rule].id, "generic"))
        return false;
    size_t k = i; /* the findings are sorted by line: only this line's are compared */
    while (k > 0 && s->found[k - 1].line == f->line)
        k--;
    for (; k < s->nfound && s->found[k].line == f->line; k++) {
        const struct an_found *o = &s->found[k];
        if (o->rule != f->rule && !strstr(an_sec_rules[o->rule].id, "generic") &&
            (f->se - f->ss == 0 ||
             memmem(s->d + o->ss, o->se - o->ss, s->d + f->ss, f->se - f->ss)))
            return true;
    }
    return false;
}

static void an_emit(struct an_secrets *s, const struct an_found *f, an_secret_fn fn, void *ctx)
{
    struct an_secret_hit h = {
        .sec = an_sec_rules[f->rule].sec, .rule = (uint16_t)f->rule, .line = f->line};
    /* at most four characters, and never more than half of a short secret */
    size_t len = f->se - f->ss, show = len >= 8 ? 4 : len / 2;
    for (size_t k = 0; k < show; k++) {
        unsigned char ch = s->d[f->ss + k];
        h.hint[k] = (char)(ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\' ? ch : '?');
    }
    fn(ctx, &h);
}

bool an_secrets_scan(struct an_secrets *s, const char *path, const unsigned char *d, size_t n,
                     int64_t deadline_ms, an_secret_fn fn, void *ctx)
{
    if (!s || n == 0 || n > UINT32_MAX)
        return true;
    s->deadline_ms = deadline_ms;
    s->timed_out = false;
    s->d = d;
    s->n = n;
    s->path = path;
    s->gen++;
    s->ncands = 0;
    s->nfound = 0;
    s->cur_pos = 0;
    s->cur_line = 1;
    s->budget = AN_SEC_BUDGET_X * n + AN_SEC_BUDGET_MIN;
    hs_scan(g.db, (const char *)d, (unsigned)n, 0, s->scratch, an_on_hs, s);
    /* gitleaks skips these files (images, lock files, vendored Go modules...); asked only when
     * there is something to skip, since most files have no candidate at all */
    struct an_sec_res *gr = s->ncands || s->nfound ? an_global_res() : NULL;
    if (gr && an_re_hit(s, gr->allow_path[0], (const unsigned char *)path, strlen(path))) {
        s->ncands = s->nfound = 0;
        s->d = NULL;
        return true;
    }
    an_flush(s);
    if (s->nfound > 1)
        qsort(s->found, s->nfound, sizeof *s->found, an_cmp_found);
    for (size_t i = 0; i < s->nfound; i++) {
        const struct an_found *f = &s->found[i];
        if (i > 0 && f->line == f[-1].line && f->rule == f[-1].rule && f->ss == f[-1].ss)
            continue; /* the same secret found from two candidates */
        if (!an_shadowed(s, i))
            an_emit(s, f, fn, ctx);
    }
    s->d = NULL;
    return !s->timed_out;
}

bool an_secrets_path(struct an_secrets *s, const char *path, an_secret_fn fn, void *ctx)
{
    bool any = false;
    if (!s)
        return false;
    size_t pl = strlen(path);
    for (size_t k = 0; k < g.npath_only; k++) {
        size_t r = g.path_only[k];
        const struct an_sec_rule *R = &an_sec_rules[r];
        if (s->disabled[r])
            continue;
        struct an_sec_res *res = an_rule_res(r);
        if (res && an_re_hit(s, res->path, (const unsigned char *)path, pl)) {
            struct an_secret_hit h = {.sec = R->sec, .rule = (uint16_t)r, .line = 1};
            any = true;
            if (fn)
                fn(ctx, &h);
        }
    }
    return any;
}
