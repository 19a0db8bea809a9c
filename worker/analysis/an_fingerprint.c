/* Why: owns the fingerprint of a finding (DESIGN.md section 9), the identity that lets a check run
 * judge the change instead of the repository. It hashes what a reader would call "the same
 * finding": the rule, the file, the line's text without any white space, and which occurrence of
 * that text it is. The line number is left out on purpose, so code that only moved keeps its
 * findings; white-space-only edits (re-indenting, trailing blanks) keep them too.
 *
 * The hash is 64-bit FNV-1a over `path NUL text-without-white-space NUL rule NUL occurrence`
 * (the text folded in 8 bytes at a time, see an_fp_text)
 * (occurrence in decimal, 0 for the first), then MurmurHash3's 64-bit finaliser, so findings that
 * differ only in their last bytes (occurrence 0 and 1) differ in every digit. FNV is used because
 * it is tiny, streams over bytes that are skipped as they are read, and is stable forever: the
 * value is stored in PostgreSQL and in JSON results, so it can never change without a new
 * "singularity/vN" name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_internal.h"

#define AN_FNV_OFFSET 0xcbf29ce484222325ull
#define AN_FNV_PRIME  0x100000001b3ull

static uint64_t an_fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * AN_FNV_PRIME;
    return h;
}

uint64_t an_fp_begin(const char *path)
{
    uint64_t h = an_fnv(AN_FNV_OFFSET, (const unsigned char *)path, strlen(path));
    return an_fnv(h, (const unsigned char *)"", 1);
}

/* Which of the 8 bytes of x are white space (' ', \t \n \v \f \r): the high bit of each, exact
 * per byte (no carry crosses a byte: bytes with the high bit set are masked out first). */
static inline uint64_t an_ws_mask(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t t = x & ~high;
    uint64_t range = (t + 0x77 * ones) & ~(t + 0x72 * ones); /* 0x09..0x0d */
    uint64_t space = ~((t ^ 0x20 * ones) + 0x7f * ones);     /* 0x20 */
    return (range | space) & ~x & high;
}

/* The text without white space, folded in 8 bytes at a time (little-endian words, the last one
 * zero-padded) and then its length: a flagged line is often long (STY001), and hashing them is a
 * visible part of a Linux-sized analysis. The text is read a word at a time: a word without white
 * space is folded whole, a word of indentation skipped, and of a mixed word only the kept bytes
 * are visited (from its mask), so no branch depends on each byte. */
uint64_t an_fp_text(uint64_t path_state, const unsigned char *text, size_t len)
{
    const uint64_t high = 0x8080808080808080ull;
    uint64_t h = path_state, w = 0, kept = 0;
    unsigned fill = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, text + i, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x); /* the words are little-endian on every host */
#endif
        uint64_t keep = ~an_ws_mask(x) & high;
        if (keep == high) { /* eight kept bytes: the pending word is completed and refilled */
            kept += 8;
            if (fill == 0) {
                h = (h ^ x) * AN_FNV_PRIME;
            } else {
                h = (h ^ (w | x << (8 * fill))) * AN_FNV_PRIME;
                w = x >> (64 - 8 * fill);
            }
            continue;
        }
        while (keep) {
            unsigned b = (unsigned)__builtin_ctzll(keep) >> 3;
            keep &= keep - 1;
            w |= (uint64_t)text[i + b] << (8 * fill);
            kept++;
            if (++fill == 8) {
                h = (h ^ w) * AN_FNV_PRIME;
                w = 0;
                fill = 0;
            }
        }
    }
    for (; i < len; i++) {
        unsigned char c = text[i];
        if (c == ' ' || (c >= '\t' && c <= '\r'))
            continue;
        w |= (uint64_t)c << (8 * fill);
        kept++;
        if (++fill == 8) {
            h = (h ^ w) * AN_FNV_PRIME;
            w = 0;
            fill = 0;
        }
    }
    if (fill)
        h = (h ^ w) * AN_FNV_PRIME;
    h = (h ^ kept) * AN_FNV_PRIME;
    return an_fnv(h, (const unsigned char *)"", 1);
}

uint64_t an_fp_key(uint64_t text_state, const char *rule)
{
    return an_fnv(text_state, (const unsigned char *)rule, strlen(rule) + 1);
}

uint64_t an_fp_final(uint64_t key, uint32_t occurrence)
{
    unsigned char d[16];
    size_t n = sizeof d;
    do { /* decimal, without printf: this runs once per finding */
        d[--n] = (unsigned char)('0' + occurrence % 10);
        occurrence /= 10;
    } while (occurrence);
    uint64_t h = an_fnv(key, d + n, sizeof d - n);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

void an_fingerprint_hex(uint64_t fp, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)fp);
}

bool an_fingerprint_parse(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] && i < 17; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    if (i != 16)
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------ one file's findings */

void an_fpfile_begin(struct an_fpfile *f, const char *path, const char *alias_path,
                     const unsigned char *data, size_t len)
{
    f->has_alias = alias_path != NULL;
    if (alias_path)
        f->alias_state = an_fp_begin(alias_path);
    f->data = data;
    f->len = len;
    f->cur_line = 1;
    f->cur_off = 0;
    f->path_state = an_fp_begin(path);
    f->text_line = 0;
    f->hint = (struct an_line_hint){0};
    f->npend = 0; /* a file that ended early (a deadline) leaves nothing for the next one */
    if (f->cap > 1024) {
        /* a file with many findings grew the table: the next one starts small again, or every
         * lookup of a file with a few findings would be a cache miss in a table of megabytes */
        free(f->key);
        free(f->cnt);
        free(f->used);
        f->key = NULL;
        f->cnt = f->used = NULL;
        f->cap = 0;
    } else { /* forget the last file's keys, touching only those */
        for (size_t i = 0; i < f->nused; i++)
            f->cnt[f->used[i]] = 0;
    }
    f->nused = 0;
}

void an_fpfile_free(struct an_fpfile *f)
{
    free(f->key);
    free(f->cnt);
    free(f->used);
    free(f->pend);
    memset(f, 0, sizeof *f);
}

/* The bytes of line `line` (1-based, without its newline). The scanner reports findings mostly in
 * ascending line order (one pass for the rules, one for secrets), so a cursor that restarts only
 * when asked for an earlier line reads each file's bytes about twice at most, with memchr. */
static void an_fpfile_line(struct an_fpfile *f, uint32_t line, const unsigned char **p, size_t *n)
{
    if (line < f->cur_line) {
        f->cur_line = 1;
        f->cur_off = 0;
    }
    while (f->cur_line < line && f->cur_off < f->len) {
        const unsigned char *nl = memchr(f->data + f->cur_off, '\n', f->len - f->cur_off);
        f->cur_off = nl ? (size_t)(nl - f->data) + 1 : f->len;
        f->cur_line++;
    }
    const unsigned char *s = f->data + f->cur_off;
    const unsigned char *nl = f->cur_off < f->len ? memchr(s, '\n', f->len - f->cur_off) : NULL;
    *p = s;
    *n = nl ? (size_t)(nl - s) : f->len - f->cur_off;
}

static bool an_fpfile_grow(struct an_fpfile *f)
{
    size_t nc = f->cap ? f->cap * 2 : 256;
    uint64_t *nk = malloc(nc * sizeof *nk);
    uint32_t *ncnt = calloc(nc, sizeof *ncnt), *nu = malloc(nc / 2 * sizeof *nu);
    if (!nk || !ncnt || !nu) {
        free(nk);
        free(ncnt);
        free(nu);
        return false;
    }
    size_t nused = 0;
    for (size_t i = 0; i < f->nused; i++) {
        uint64_t k = f->key[f->used[i]];
        size_t j = (size_t)(k * 0x9e3779b97f4a7c15ull >> 20) & (nc - 1);
        while (ncnt[j])
            j = (j + 1) & (nc - 1);
        nk[j] = k;
        ncnt[j] = f->cnt[f->used[i]];
        nu[nused++] = (uint32_t)j;
    }
    free(f->key);
    free(f->cnt);
    free(f->used);
    f->key = nk, f->cnt = ncnt, f->used = nu, f->cap = nc, f->nused = nused;
    return true;
}

/* How many findings with this key the file had before this one (its occurrence number). Findings
 * of one rule come in line order, so the first of two identical lines is occurrence 0 in every
 * commit; an open-addressing table costs O(1) per finding where sorting each file's findings
 * cost a few per cent of a Linux-sized analysis. */
static bool an_fpfile_occ(struct an_fpfile *f, uint64_t key, uint32_t *occ)
{
    if (2 * (f->nused + 1) > f->cap && !an_fpfile_grow(f))
        return false;
    size_t j = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (f->cap - 1);
    while (f->cnt[j] && f->key[j] != key)
        j = (j + 1) & (f->cap - 1);
    if (!f->cnt[j]) {
        f->key[j] = key;
        f->used[f->nused++] = (uint32_t)j;
    }
    *occ = f->cnt[j]++;
    return true;
}

/* One finding's fingerprint and its alias (0 without one). text: the line's bytes when known
 * (the scanner's line at the time the finding was made), else NULL to look the line up. */
static bool an_fpfile_one(struct an_fpfile *f, const char *rule, bool file_level, uint32_t line,
                          const unsigned char *text, size_t tlen, uint64_t *fp, uint64_t *afp)
{
    uint64_t ts, ats = 0;
    if (file_level || !f->data) {
        ts = an_fp_text(f->path_state, NULL, 0);
        ats = an_fp_text(f->alias_state, NULL, 0);
    } else if (f->text_line == line) { /* several findings on one line: hash its text once */
        ts = f->text_state;
        ats = f->alias_text_state;
    } else {
        if (!text)
            an_fpfile_line(f, line, &text, &tlen);
        ts = f->text_state = an_fp_text(f->path_state, text, tlen);
        if (f->has_alias)
            ats = f->alias_text_state = an_fp_text(f->alias_state, text, tlen);
        f->text_line = line;
    }
    uint64_t key = an_fp_key(ts, rule);
    uint32_t occ;
    if (!an_fpfile_occ(f, key, &occ))
        return false;
    *fp = an_fp_final(key, occ);
    *afp = f->has_alias ? an_fp_final(an_fp_key(ats, rule), occ) : 0;
    return true;
}

bool an_fpfile_defer(struct an_fpfile *f, uint8_t rule, bool file_level, uint32_t line, int32_t k)
{
    if (!an_grow((void **)&f->pend, &f->cap_pend, f->npend, sizeof *f->pend, 64))
        return false;
    struct an_fp_pend *p = &f->pend[f->npend++];
    *p = (struct an_fp_pend){.line = line, .k = k, .rule = rule, .file_level = file_level};
    if (!file_level && f->data && f->hint.line == line && f->hint.start) {
        p->text = f->hint.start; /* the scanner's own line: no search later */
        p->tlen = (uint32_t)(f->hint.end - f->hint.start);
    }
    return true;
}

bool an_fpfile_flush(struct an_fpfile *f, const char *const *rule_ids, an_fp_fn fn, void *ctx)
{
    bool ok = true;
    for (size_t i = 0; i < f->npend && ok; i++) {
        const struct an_fp_pend *p = &f->pend[i];
        uint64_t fp, afp;
        ok = an_fpfile_one(f, rule_ids[p->rule], p->file_level, p->line, p->text, p->tlen, &fp,
                           &afp) &&
             fn(ctx, p->rule, p->k, fp, afp);
    }
    f->npend = 0;
    return ok;
}

/* ------------------------------------------------------------------ the analysis' set */

bool an_fps_add(struct an_fps *s, uint64_t fp, uint8_t rule)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        uint64_t *nf = realloc(s->fp, nc * sizeof *nf);
        if (!nf)
            return false;
        s->fp = nf;
        uint8_t *nr = realloc(s->rule, nc);
        if (!nr)
            return false;
        s->rule = nr;
        s->cap = nc;
    }
    s->fp[s->n] = fp;
    s->rule[s->n] = rule;
    s->n++;
    return true;
}

void an_fps_free(struct an_fps *s)
{
    free(s->fp);
    free(s->rule);
    memset(s, 0, sizeof *s);
}

/* LSD radix sort of (fingerprint, severity) pairs on the fingerprint, a byte per pass: a million
 * findings sort in under 20 ms, where qsort's comparator calls would be what a large analysis
 * waits on. The eight histograms are counted in one read of the keys, the passes move the pairs
 * between two buffers, and a pass whose byte is the same in every key is skipped. (Measured on a
 * million keys: 11- and 16-bit digits were slower, their scatter leaving the cache.) */
static bool an_fp_sort(uint64_t *fp, uint8_t *sev, size_t n)
{
    uint64_t *tf = malloc(n * sizeof *tf);
    uint8_t *ts = malloc(n);
    size_t(*cnt)[256] = calloc(8, sizeof *cnt);
    if (!tf || !ts || !cnt) {
        free(tf);
        free(ts);
        free(cnt);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < 8; p++)
            cnt[p][(fp[i] >> (8 * p)) & 0xff]++;
    uint64_t *src = fp, *dst = tf; /* each pass moves the pairs to the other buffer */
    uint8_t *ssrc = sev, *sdst = ts;
    for (int p = 0; p < 8; p++) {
        int sh = 8 * p;
        if (cnt[p][(fp[0] >> sh) & 0xff] == n)
            continue; /* every key has the same byte here */
        size_t pos = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[p][b];
            cnt[p][b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t d = cnt[p][(src[i] >> sh) & 0xff]++;
            dst[d] = src[i];
            sdst[d] = ssrc[i];
        }
        uint64_t *t = src;
        src = dst, dst = t;
        uint8_t *u = ssrc;
        ssrc = sdst, sdst = u;
    }
    if (src != fp) {
        memcpy(fp, src, n * sizeof *fp);
        memcpy(sev, ssrc, n);
    }
    free(tf);
    free(ts);
    free(cnt);
    return true;
}

bool an_fingerprints_sort(uint64_t *fp, uint8_t *sev, size_t n)
{
    return n < 2 || an_fp_sort(fp, sev, n);
}

enum sg_err an_fps_to_result(struct an_fps *s, const struct an_config *c, struct an_result *r)
{
    /* filtered and given severities in place: the set's arrays become the result's */
    size_t j = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct an_rule_cfg *rc = &c->rules[s->rule[i]];
        if (rc->off)
            continue;
        s->fp[j] = s->fp[i];
        s->rule[j] = (uint8_t)(rc->override ? rc->sev : an_rule_default_sev[s->rule[i]]);
        j++;
    }
    if (!s->fp) { /* an empty set: the result's arrays are still allocated, like any result's */
        s->fp = malloc(sizeof *s->fp);
        s->rule = malloc(1);
        if (!s->fp || !s->rule)
            return SG_ERR_NOMEM; /* the tally frees both */
    }
    r->fingerprints = s->fp;
    r->fingerprint_severity = s->rule;
    r->nfingerprints = j;
    memset(s, 0, sizeof *s);
    return an_fingerprints_sort(r->fingerprints, r->fingerprint_severity, j) ? SG_OK : SG_ERR_NOMEM;
}
