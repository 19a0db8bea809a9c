/* Why: one pass over a file's bytes gives everything per line at once: the code / comment /
 * blank class (tokei's state machine, so the counts agree with tokei), decision points in code,
 * TODO markers in comments, and the line-level style rules. Most lines contain no byte that can
 * start a string or a comment; those take a fast path (a bitmap test per byte, no state).
 *
 * The line classification deliberately mirrors tokei 15 (src/language/syntax.rs), including its
 * quirks: blank lines inside a block comment are comments, a line that starts with a block comment
 * opener and ends with its closer is a comment even with code between, and a backslash pair or a
 * backslash before a quote is skipped outside strings too. docs/analysis.md lists the choices. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "an_internal.h"
#include "sg_time.h"

/* How much input a scan covers between looks at the clock: a few milliseconds of work. */
#define AN_CLOCK_EVERY (1u << 20)

#define AN_MAX_DEPTH 64 /* nesting deeper than this is still tracked by count, not by token */

struct an_state {
    const char *quote; /* closing token of the open string, or NULL */
    bool verbatim;     /* tokei keeps this flag after the string ends */
    unsigned depth;    /* open block comments */
    const char *stack[AN_MAX_DEPTH];
};

static inline bool an_ws(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d);
}

static inline bool an_starts(const unsigned char *p, const unsigned char *end, const char *tok)
{
    if (p >= end || *p != (unsigned char)tok[0])
        return false;
    size_t n = strlen(tok);
    return (size_t)(end - p) >= n && memcmp(p, tok, n) == 0;
}

static inline bool an_ends(const unsigned char *s, const unsigned char *e, const char *tok)
{
    size_t n = strlen(tok);
    return (size_t)(e - s) >= n && memcmp(e - n, tok, n) == 0;
}

/* Finds the first byte of a small set in [p, e): 16 bytes per step with SSE2. The set is the
 * first bytes of every token a language has, so most lines are passed over in a few steps. */
struct an_finder {
    unsigned n;
    unsigned char b[9];
    unsigned char tbl[256];
#ifdef __SSE2__
    __m128i v[9];
#endif
};

static void an_finder_init(struct an_finder *f, const char *set, int extra)
{
    memset(f, 0, sizeof *f);
    for (const char *c = set; *c && f->n < 8; c++)
        f->b[f->n++] = (unsigned char)*c;
    for (const char *c = set; *c; c++)
        f->tbl[(unsigned char)*c] = 1;
    if (extra >= 0 && !f->tbl[extra]) {
        f->b[f->n++] = (unsigned char)extra;
        f->tbl[extra] = 1;
    }
    if (strlen(set) > 8)
        f->n = 99; /* too many for the vector path: table only */
#ifdef __SSE2__
    for (unsigned k = 0; k < f->n && k < 9; k++)
        f->v[k] = _mm_set1_epi8((char)f->b[k]);
#endif
}

static inline const unsigned char *an_find(const struct an_finder *f, const unsigned char *p,
                                           const unsigned char *e, const unsigned char *fend)
{
#ifdef __SSE2__
    if (f->n == 0)
        return e;
    if (f->n <= 9) {
        /* whole 16-byte loads while they stay inside the file; bits past e are masked off */
        while (p < e && fend - p >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)p);
            __m128i m = _mm_cmpeq_epi8(x, f->v[0]);
            for (unsigned k = 1; k < f->n; k++)
                m = _mm_or_si128(m, _mm_cmpeq_epi8(x, f->v[k]));
            unsigned mask = (unsigned)_mm_movemask_epi8(m);
            if (e - p < 16)
                mask &= (1u << (e - p)) - 1u;
            if (mask)
                return p + __builtin_ctz(mask);
            p += 16;
        }
        if (p >= e)
            return e;
    }
#endif
    while (p < e && !f->tbl[*p])
        p++;
    return p;
}

/* A finder for a set given as a string plus the first bytes of a list of closing tokens. */
static void an_finder_closers(struct an_finder *f, const char *base, const struct an_pair *a,
                              unsigned na, const struct an_pair *b, unsigned nb,
                              const struct an_pair *c, unsigned nc)
{
    char set[64];
    size_t n = 0;
    for (const char *x = base; *x && n + 1 < sizeof set; x++)
        set[n++] = *x;
    const struct an_pair *lists[3] = {a, b, c};
    unsigned counts[3] = {na, nb, nc};
    for (int l = 0; l < 3; l++)
        for (unsigned k = 0; k < counts[l] && n + 1 < sizeof set; k++) {
            char ch = lists[l][k].close[0];
            if (ch && !memchr(set, ch, n))
                set[n++] = ch;
        }
    if (!memchr(set, '\\', n) && n + 1 < sizeof set)
        set[n++] = '\\';
    set[n] = '\0';
    an_finder_init(f, set, -1);
}

static const unsigned char an_ident[256] = {
    ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2, ['7'] = 2,
    ['8'] = 2, ['9'] = 2, ['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1,
    ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1,
    ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
};

#define KW(s) (n == sizeof(s) - 1 && memcmp(w, s, sizeof(s) - 1) == 0)

/* Decision points of one keyword for a complexity family: branches, loops, cases, handlers. */
static unsigned an_cx_word(uint8_t fam, const unsigned char *w, size_t n)
{
    /* letters that start some keyword of some family: most identifiers stop here */
    static const unsigned char kw_first[256] = {
        ['i'] = 1, ['f'] = 1, ['w'] = 1, ['c'] = 1, ['e'] = 1, ['g'] = 1,
        ['l'] = 1, ['a'] = 1, ['o'] = 1, ['u'] = 1, ['r'] = 1};
    if (n < 2 || n > 7 || !kw_first[w[0]])
        return 0;
    switch (fam) {
    case AN_CX_C:
    case AN_CX_JS:
        return KW("if") || KW("for") || KW("while") || KW("case") || KW("catch") || KW("foreach") ||
               KW("elseif") || KW("when") || KW("guard");
    case AN_CX_GO:
        return KW("if") || KW("for") || KW("case");
    case AN_CX_RUST:
        return KW("if") || KW("for") || KW("while") || KW("loop");
    case AN_CX_PY:
        return KW("if") || KW("elif") || KW("for") || KW("while") || KW("except") || KW("and") ||
               KW("or");
    case AN_CX_SH:
        return KW("if") || KW("elif") || KW("for") || KW("while") || KW("until") || KW("case");
    case AN_CX_RUBY:
        return KW("if") || KW("elsif") || KW("elseif") || KW("elif") || KW("unless") ||
               KW("while") || KW("until") || KW("for") || KW("foreach") || KW("when") ||
               KW("rescue") || KW("case") || KW("cond") || KW("and") || KW("or") || KW("ifeq") ||
               KW("ifneq") || KW("ifdef") || KW("ifndef") || KW("catch") || KW("except");
    default:
        return 0;
    }
}
#undef KW

/* Two-byte starts of every keyword and operator a family counts; a SIMD pass finds candidates
 * and only those are tokenised (identifiers are most of the code, keywords a small part). */
static const char *const an_cx_pairs[] = {
    [AN_CX_NONE] = "",
    [AN_CX_C] = "iffowhca&&||",
    [AN_CX_JS] = "iffowhcaelgu&&||? ",
    [AN_CX_GO] = "iffoca&&||",
    [AN_CX_RUST] = "iffowhlo&&||=>",
    [AN_CX_PY] = "ifelfowhexanor&&||",
    [AN_CX_SH] = "ifelfowhunca&&||",
    [AN_CX_RUBY] = "ifelunwhforecacoanorex&&||",
};

static inline unsigned an_cx_at(uint8_t fam, const unsigned char *s, const unsigned char *h,
                                const unsigned char *e)
{
    unsigned char c = *h;
    if (c == '&' || c == '|')
        return h + 1 < e && h[1] == c && (h == s || h[-1] != c);
    if (c == '?') {
        if (fam == AN_CX_C)
            return 1;
        return fam == AN_CX_JS && h + 1 < e && h[1] == ' ' && h > s && h[-1] == ' ';
    }
    if (c == '=')
        return fam == AN_CX_RUST && h + 1 < e && h[1] == '>';
    if (h > s && an_ident[h[-1]])
        return 0;
    const unsigned char *q = h + 1, *lim = e - h > 8 ? h + 8 : e; /* keywords: at most 7 */
    while (q < lim && an_ident[*q])
        q++;
    return an_cx_word(fam, h, (size_t)(q - h));
}

/* Decision points in a run of code (outside strings and comments): keywords, && and ||, the
 * conditional operator (in JS-like languages only a spaced ` ? `, since `?.` and `??` are not
 * branches there), and `=>` match arms in Rust. */
static unsigned an_cx_run(uint8_t fam, const unsigned char *s, const unsigned char *e)
{
    const char *pairs = an_cx_pairs[fam];
    size_t np = strlen(pairs) / 2;
    unsigned n = 0;
    const unsigned char *p = s;
#ifdef __SSE2__
    __m128i va[16], vb[16];
    for (size_t k = 0; k < np; k++) {
        va[k] = _mm_set1_epi8(pairs[2 * k]);
        vb[k] = _mm_set1_epi8(pairs[2 * k + 1]);
    }
    const __m128i vq = _mm_set1_epi8('?');
    bool anyq = fam == AN_CX_C;
    while (e - p >= 17) {
        __m128i x = _mm_loadu_si128((const __m128i *)p),
                y = _mm_loadu_si128((const __m128i *)(p + 1));
        __m128i m = anyq ? _mm_cmpeq_epi8(x, vq) : _mm_setzero_si128();
        for (size_t k = 0; k < np; k++)
            m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(x, va[k]), _mm_cmpeq_epi8(y, vb[k])));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        while (mask) {
            unsigned bit = (unsigned)__builtin_ctz(mask);
            mask &= mask - 1;
            n += an_cx_at(fam, s, p + bit, e);
        }
        p += 16;
    }
#endif
    for (; p < e; p++) {
        unsigned char c = *p;
        bool cand = (c == '?' && fam == AN_CX_C);
        for (size_t k = 0; k < np && !cand && p + 1 < e; k++)
            cand = c == (unsigned char)pairs[2 * k] && p[1] == (unsigned char)pairs[2 * k + 1];
        if (cand)
            n += an_cx_at(fam, s, p, e);
    }
    return n;
}

/* TODO, FIXME, XXX or HACK as a word in comment text: returns 1-4 (which) or 0. */
static unsigned an_marker(const unsigned char *p, const unsigned char *e)
{
    static const char *const marks[] = {"TODO", "FIXME", "XXX", "HACK"};
    for (const unsigned char *s = p; s < e; s++) {
        unsigned char c = *s;
        if (c != 'T' && c != 'F' && c != 'X' && c != 'H')
            continue;
        if (s > p && (an_ident[s[-1]] || s[-1] >= 0x80))
            continue;
        for (unsigned i = 0; i < 4; i++) {
            size_t n = strlen(marks[i]);
            if ((size_t)(e - s) >= n && memcmp(s, marks[i], n) == 0 &&
                (s + n == e || !(an_ident[s[n]] || s[n] >= 0x80)))
                return i + 1;
        }
    }
    return 0;
}

static bool an_any_lc(const struct an_lang *L, const unsigned char *s, const unsigned char *e)
{
    for (unsigned i = 0; i < L->nlc; i++)
        if (an_starts(s, e, L->lc[i]))
            return true;
    return false;
}

struct an_line_ctx {
    const struct an_lang *L;
    const struct an_finder *plain; /* first bytes + backslash */
    const struct an_finder *incmt; /* plain + block-comment closers */
    const struct an_finder *inq;   /* string closers + backslash */
    uint64_t cx;
    unsigned marker; /* MNT001 marker on this line */
};

static void an_code_run(struct an_line_ctx *c, const unsigned char *s, const unsigned char *e)
{
    if (s && e > s && c->L->cx)
        c->cx += an_cx_run(c->L->cx, s, e);
}

static void an_comment_run(struct an_line_ctx *c, const unsigned char *s, const unsigned char *e)
{
    if (s && e > s && !c->marker && !(c->L->flags & AN_LANG_PROSE))
        c->marker = an_marker(s, e);
}

/* tokei's perform_multi_line_analysis over one line [ls, le) (le includes the newline if any);
 * `end` bounds look-ahead. Also collects code runs (complexity) and comment runs (markers). */
static void an_line_machine(struct an_state *st, struct an_line_ctx *c, const unsigned char *ls,
                            const unsigned char *le, const unsigned char *end)
{
    const struct an_lang *L = c->L;
    const unsigned char *code = NULL, *cmt = NULL;
    const unsigned char *i = ls;
    if (st->depth)
        cmt = ls;
    while (i < le) {
        bool plain = !st->quote && st->depth == 0;
        if (plain && !cmt && !code)
            code = i;
        /* skip bytes that cannot start or end anything in the current state */
        if (plain) {
            i = an_find(c->plain, i, le, end);
        } else if (st->quote) {
            i = an_find(c->inq, i, le, end);
        } else {
            i = an_find(c->incmt, i, le, end);
        }
        if (i >= le)
            break;
        /* parse_end_of_quote */
        if (st->quote && an_starts(i, end, st->quote)) {
            i += strlen(st->quote);
            st->quote = NULL;
            continue;
        }
        if (!st->verbatim && i[0] == '\\') {
            if (i + 1 < end && i[1] == '\\') {
                i += 2;
                continue;
            }
            bool esc = false;
            for (unsigned k = 0; k < L->nq && !esc; k++)
                esc = an_starts(i + 1, end, L->q[k].open);
            if (esc) {
                i += 2;
                continue;
            }
        }
        /* parse_end_of_multi_line */
        if (st->depth) {
            const char *top =
                st->depth <= AN_MAX_DEPTH ? st->stack[st->depth - 1] : st->stack[AN_MAX_DEPTH - 1];
            if (an_starts(i, end, top)) {
                i += strlen(top);
                st->depth--;
                if (st->depth == 0) {
                    an_comment_run(c, cmt, i);
                    cmt = NULL;
                }
                continue;
            }
        }
        if (st->quote) {
            i++;
            continue;
        }
        /* parse_quote (only outside comments) */
        if (st->depth == 0) {
            const struct an_pair *hit = NULL;
            bool verb = false;
            for (unsigned k = 0; k < L->ndq && !hit; k++)
                if (an_starts(i, end, L->dq[k].open))
                    hit = &L->dq[k];
            for (unsigned k = 0; k < L->nvq && !hit; k++)
                if (an_starts(i, end, L->vq[k].open)) {
                    hit = &L->vq[k];
                    verb = true;
                }
            for (unsigned k = 0; k < L->nq && !hit; k++)
                if (an_starts(i, end, L->q[k].open))
                    hit = &L->q[k];
            if (hit) {
                an_code_run(c, code, i);
                code = NULL;
                st->quote = hit->close;
                st->verbatim = verb;
                i += strlen(hit->open);
                continue;
            }
        }
        /* parse_multi_line_comment */
        {
            const struct an_pair *hit = NULL;
            bool nested_pair = false;
            for (unsigned k = 0; k < L->nml && !hit; k++)
                if (an_starts(i, end, L->ml[k].open))
                    hit = &L->ml[k];
            for (unsigned k = 0; k < L->nnc && !hit; k++)
                if (an_starts(i, end, L->nc[k].open)) {
                    hit = &L->nc[k];
                    nested_pair = true;
                }
            if (hit) {
                if (st->depth == 0 || (L->flags & AN_LANG_NESTED) || nested_pair) {
                    if (st->depth == 0) {
                        an_code_run(c, code, i);
                        code = NULL;
                        cmt = i;
                    }
                    if (st->depth < AN_MAX_DEPTH)
                        st->stack[st->depth] = hit->close;
                    st->depth++;
                }
                i += strlen(hit->open);
                continue;
            }
        }
        /* parse_line_comment */
        if (st->depth == 0 && an_any_lc(L, i, end)) {
            an_code_run(c, code, i);
            code = NULL;
            an_comment_run(c, i, le);
            cmt = NULL;
            return;
        }
        i++;
    }
    if (code)
        an_code_run(c, code, le);
    if (cmt)
        an_comment_run(c, cmt, le);
}

/* tokei's line_is_comment, evaluated after the line was parsed. */
static bool an_line_is_comment(const struct an_state *st, const struct an_lang *L,
                               const unsigned char *ts, const unsigned char *te,
                               bool started_in_comments)
{
    if (st->quote)
        return false;
    if (started_in_comments) {
        /* doc-quote rule and "started in comments" both answer yes */
        return true;
    }
    if (an_any_lc(L, ts, te))
        return true;
    for (unsigned k = 0; k < L->nml + L->nnc; k++) {
        const struct an_pair *p = k < L->nml ? &L->ml[k] : &L->nc[k - L->nml];
        if (an_starts(ts, te, p->open) && an_ends(ts, te, p->close))
            return true;
    }
    if (st->depth) {
        const char *top =
            st->depth <= AN_MAX_DEPTH ? st->stack[st->depth - 1] : st->stack[AN_MAX_DEPTH - 1];
        for (unsigned k = 0; k < L->nml + L->nnc; k++) {
            const struct an_pair *p = k < L->nml ? &L->ml[k] : &L->nc[k - L->nml];
            if (strcmp(p->close, top) == 0 && an_starts(ts, te, p->open))
                return true;
        }
    }
    return false;
}

static uint32_t an_utf8_len(const unsigned char *s, const unsigned char *e)
{
    uint32_t n = 0;
    for (; s < e; s++)
        n += (*s & 0xC0) != 0x80;
    return n;
}

static bool an_is_marker_line(const unsigned char *s, const unsigned char *e, unsigned char ch)
{
    /* seven marker characters, then end of line or a space and a label */
    if (e - s < 7)
        return false;
    for (int k = 0; k < 7; k++)
        if (s[k] != ch)
            return false;
    if (ch == '=')
        return e - s == 7;
    return e - s == 7 || s[7] == ' ';
}

void an_scan(const struct an_lang *L, const unsigned char *data, size_t len,
             const struct an_scan_cfg *cfg, struct an_scan_out *out, an_finding_fn fn, void *ctx)
{
    struct an_state st;
    memset(&st, 0, sizeof st);
    memset(out, 0, sizeof *out);
    const unsigned char *p = data, *end = data + len;
    uint32_t line = 0;
    uint32_t tab_lines = 0, space_lines = 0, first_tab = 0, first_space = 0;
    uint32_t conflict_open = 0;
    int conflict_state = 0;         /* 0 none, 1 after <<<, 2 after === */
    bool style = an_lang_styled(L); /* not data, markup, project files or prose */
    bool long_ok = !style || cfg->minified;
    bool check_indent = style && strcmp(L->name, "Makefile") != 0 &&
                        strcmp(L->name, "Automake") != 0; /* recipes need tabs */
    struct an_finder nl_f, plain_f, cmt_f, q_f;
    const unsigned char *batch = NULL; /* start of the pending run of plain code lines */
    size_t clock_at = cfg->deadline_ms ? AN_CLOCK_EVERY : SIZE_MAX;
    if (L) {
        an_finder_init(&nl_f, L->firstset, '\n');
        an_finder_init(&plain_f, L->firstset, '\\');
        an_finder_closers(&cmt_f, L->firstset, L->ml, L->nml, L->nc, L->nnc, NULL, 0);
        an_finder_closers(&q_f, "", L->q, L->nq, L->vq, L->nvq, L->dq, L->ndq);
    }
    while (p < end) {
        if ((size_t)(p - data) >= clock_at) {
            if (sg_mono_ms() >= cfg->deadline_ms) {
                out->timed_out = true;
                return;
            }
            clock_at = (size_t)(p - data) + AN_CLOCK_EVERY;
        }
        /* one search finds the line end or, first, a byte that may start a token: a line whose
         * end comes first needs no state machine (when it starts in plain state) */
        const unsigned char *nl;
        bool no_token = false;
        if (L) {
            const unsigned char *h = an_find(&nl_f, p, end, end);
            no_token = h == end || *h == '\n';
            nl = no_token ? (h < end ? h : NULL) : memchr(h, '\n', (size_t)(end - h));
        } else {
            nl = memchr(p, '\n', (size_t)(end - p));
        }
        const unsigned char *le = nl ? nl : end; /* line content end */
        const unsigned char *lnext = nl ? nl + 1 : end;
        line++;
        if (cfg->hint)
            *cfg->hint = (struct an_line_hint){line, p, le};
        /* visible end: without a trailing CR */
        const unsigned char *ve = (le > p && le[-1] == '\r') ? le - 1 : le;

        /* line rules that need no syntax */
        if (style && ve > p && (ve[-1] == ' ' || ve[-1] == '\t'))
            fn(ctx, AN_STY002, line, 0);
        if (!long_ok && (uint64_t)(ve - p) > cfg->max_line_length) {
            uint32_t n = an_utf8_len(p, ve);
            if (n > cfg->max_line_length)
                fn(ctx, AN_STY001, line, n);
        }
        if (*p == '<' || *p == '=' || *p == '>' || *p == '|') {
            if (an_is_marker_line(p, ve, '<')) {
                conflict_state = 1;
                conflict_open = line;
            } else if (conflict_state == 1 && an_is_marker_line(p, ve, '=')) {
                conflict_state = 2;
            } else if (conflict_state == 2 && an_is_marker_line(p, ve, '>')) {
                fn(ctx, AN_GIT001, conflict_open, 0);
                conflict_state = 0;
            }
        }

        if (!L) {
            p = lnext;
            continue;
        }
        /* trim */
        const unsigned char *ts = p, *te = le;
        while (ts < te && an_ws(*ts))
            ts++;
        while (te > ts && an_ws(te[-1]))
            te--;
        bool plain = !st.quote && st.depth == 0;
        if (plain && ts == te) {
            out->blank++;
            p = lnext;
            continue;
        }
        if (L->flags & AN_LANG_LITERATE) {
            if (ts == te)
                out->blank++;
            else
                out->comment++;
            p = lnext;
            continue;
        }
        const unsigned char *cs = (L->flags & AN_LANG_FORTRAN) ? p : ts; /* comment-test start */
        bool is_code;
        struct an_line_ctx lc = {.L = L, .plain = &plain_f, .incmt = &cmt_f, .inq = &q_f};
        bool fast = false;
        if (plain)
            fast = no_token;
        if (fast) {
            /* consecutive plain lines form one run: no keyword spans a newline */
            is_code = true;
            if (!batch)
                batch = ts;
        } else {
            if (batch && L->cx)
                out->complexity += an_cx_run(L->cx, batch, p);
            batch = NULL;
            bool started = st.depth > 0;
            an_line_machine(&st, &lc, p, lnext, end);
            is_code = !an_line_is_comment(&st, L, cs, te, started);
        }
        if (is_code) {
            out->code++;
            out->complexity += lc.cx;
            if (check_indent && (*p == '\t' || *p == ' ')) {
                if (*p == '\t') {
                    if (!tab_lines++)
                        first_tab = line;
                } else if (!space_lines++) {
                    first_space = line;
                }
            }
        } else if (ts == te) {
            out->comment++; /* blank line inside a block comment: tokei counts it as comment */
        } else {
            out->comment++;
            out->complexity += lc.cx; /* code before a trailing comment opener still branches */
        }
        if (lc.marker)
            fn(ctx, AN_MNT001, line, lc.marker);
        p = lnext;
    }
    if (batch && L && L->cx)
        out->complexity += an_cx_run(L->cx, batch, end);
    out->lines = line;
    if (style && len > 0 && data[len - 1] != '\n')
        fn(ctx, AN_STY004, line, 0);
    if (tab_lines && space_lines) {
        /* dominant style wins; report the first line indented the other way */
        uint32_t at = tab_lines >= space_lines ? first_space : first_tab;
        fn(ctx, AN_STY003, at, tab_lines >= space_lines ? 1u : 2u);
    }
}
