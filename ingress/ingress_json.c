/* Why: one strict pass over a webhook payload that validates it as RFC 8259 JSON and captures only
 * the fields routing needs (see ingress_json.h). Which fields are wanted below the current value is
 * a bit mask, narrowed at every key, so the bulk of a payload (URLs, user objects) costs one byte
 * loop and no key comparison at all. */
#include "ingress_json.h"

#include <pthread.h>
#include <string.h>

#include "sg_buf.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct path_comp {
    const char *key; /* NULL: array index */
    int idx;
    size_t keylen;
};

/* Skips bytes that need no attention inside a string (printable ASCII other than '"' and '\\'),
 * 16 at a time with SSE2: this loop is most of the cost of scanning a payload. */
static const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches non-ASCII */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(m);
        if (mask)
            return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
            break;
        p++;
    }
    return p;
}

struct field_path {
    int n;
    struct path_comp c[4];
    const char *text;
};

#define K(s)                                                                                       \
    {                                                                                              \
        s, 0, sizeof(s) - 1                                                                        \
    }
#define I(n)                                                                                       \
    {                                                                                              \
        NULL, n, 0                                                                                 \
    }
static const struct field_path PATHS[IJF__COUNT] = {
    [IJF_ACTION] = {1, {K("action")}, "action"},
    [IJF_INSTALLATION_ID] = {2, {K("installation"), K("id")}, "installation.id"},
    [IJF_REPOSITORY] = {1, {K("repository")}, "repository"},
    [IJF_REPO_ID] = {2, {K("repository"), K("id")}, "repository.id"},
    [IJF_REPO_FULL_NAME] = {2, {K("repository"), K("full_name")}, "repository.full_name"},
    [IJF_REF] = {1, {K("ref")}, "ref"},
    [IJF_AFTER] = {1, {K("after")}, "after"},
    [IJF_BEFORE] = {1, {K("before")}, "before"},
    [IJF_DELETED] = {1, {K("deleted")}, "deleted"},
    [IJF_NUMBER] = {1, {K("number")}, "number"},
    [IJF_PR_HEAD_SHA] = {3, {K("pull_request"), K("head"), K("sha")}, "pull_request.head.sha"},
    [IJF_PR_BASE_SHA] = {3, {K("pull_request"), K("base"), K("sha")}, "pull_request.base.sha"},
    [IJF_CS_HEAD_SHA] = {2, {K("check_suite"), K("head_sha")}, "check_suite.head_sha"},
    [IJF_CS_HEAD_BRANCH] = {2, {K("check_suite"), K("head_branch")}, "check_suite.head_branch"},
    [IJF_CS_PR0_NUMBER] = {4,
                           {K("check_suite"), K("pull_requests"), I(0), K("number")},
                           "check_suite.pull_requests[0].number"},
    [IJF_CR_HEAD_SHA] = {2, {K("check_run"), K("head_sha")}, "check_run.head_sha"},
    [IJF_CR_CS_HEAD_BRANCH] = {3,
                               {K("check_run"), K("check_suite"), K("head_branch")},
                               "check_run.check_suite.head_branch"},
    [IJF_CR_PR0_NUMBER] = {4,
                           {K("check_run"), K("pull_requests"), I(0), K("number")},
                           "check_run.pull_requests[0].number"},
};
#undef K
#undef I

#define ALL_FIELDS ((1u << IJF__COUNT) - 1)

/* BY_LEN[level][n]: the fields whose path has an object key of n bytes at level. An object member
 * is then compared only with the wanted keys of its own length (usually none), instead of with
 * every field still wanted below: that loop was ~20% of a push payload's scan (callgrind). Built
 * once from PATHS; keys of MAX_KEY_LEN bytes or more never match (scan_object decodes escaped
 * keys into 64 bytes, and every name in PATHS is far shorter). */
#define MAX_LEVELS  4
#define MAX_KEY_LEN 64
static unsigned BY_LEN[MAX_LEVELS][MAX_KEY_LEN];
static pthread_once_t by_len_once = PTHREAD_ONCE_INIT;

static void init_by_len(void)
{
    for (int f = 0; f < IJF__COUNT; f++)
        for (int l = 0; l < PATHS[f].n && l < MAX_LEVELS; l++)
            if (PATHS[f].c[l].key && PATHS[f].c[l].keylen < MAX_KEY_LEN)
                BY_LEN[l][PATHS[f].c[l].keylen] |= 1u << f;
}

const char *ingress_json_field_path(enum ingress_json_field_id id)
{
    return (unsigned)id < IJF__COUNT ? PATHS[id].text : "?";
}

struct scanner {
    const unsigned char *p;
    const unsigned char *end;
    const unsigned char *start;
    int depth;
    enum ingress_json_result res;
    struct ingress_json_fields *out;
    bool nul; /* scan_string decoded a \u0000 */
};

const char *ingress_json_result_str(enum ingress_json_result r)
{
    switch (r) {
    case INGRESS_JSON_OK:
        return "ok";
    case INGRESS_JSON_INVALID:
        return "body is not valid JSON";
    case INGRESS_JSON_DEPTH:
        return "JSON nested deeper than 1000 levels";
    case INGRESS_JSON_NUL:
        return "NUL character (U+0000) in a routed JSON field or key";
    case INGRESS_JSON_DUPLICATE:
        return "duplicate key in a routed JSON object";
    case INGRESS_JSON_RANGE:
        return "integer out of range in a routed JSON field";
    }
    return "body is not valid JSON";
}

static bool fail(struct scanner *s, enum ingress_json_result r)
{
    if (s->res == INGRESS_JSON_OK)
        s->res = r;
    return false;
}

static inline void skip_ws(struct scanner *s)
{
    if (s->p<s->end && * s->p> ' ')
        return;
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) at p,
 * or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0;
        if (c == 0xED && p[1] > 0x9F)
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;
        if (c == 0xF4 && p[1] > 0x8F)
            return 0;
        return 4;
    }
    return 0;
}

/* Appends code point cp as UTF-8 to dst (cap bytes); returns false when it does not fit. */
static bool put_utf8(char *dst, size_t cap, size_t *n, unsigned cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (*n + k > cap)
        return false;
    memcpy(dst + *n, b, k);
    *n += k;
    return true;
}

static bool read_u4(struct scanner *s, unsigned *out)
{
    if (s->end - s->p < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = sg_hex_value((unsigned char)s->p[i]);
        if (h < 0)
            return false;
        v = (v << 4) | (unsigned)h;
    }
    s->p += 4;
    *out = v;
    return true;
}

/* Scans a string whose opening quote is at s->p. When dst is non-NULL the decoded text is written
 * there (at most cap bytes, NUL added); *overflow says it did not fit. raw/rawlen/escaped describe
 * the undecoded contents so keys without escapes can be compared in place. */
static bool scan_string(struct scanner *s, char *dst, size_t cap, size_t *dlen, bool *overflow,
                        const unsigned char **raw, size_t *rawlen, bool *escaped)
{
    s->p++; /* opening quote */
    const unsigned char *begin = s->p;
    size_t n = 0;
    bool over = false, esc = false;
    for (;;) {
        const unsigned char *run = s->p;
        s->p = skip_plain(s->p, s->end);
        if (dst && s->p > run) {
            size_t k = (size_t)(s->p - run);
            if (!over && n + k <= cap) {
                memcpy(dst + n, run, k);
                n += k;
            } else {
                over = true;
            }
        }
        if (s->p >= s->end)
            return fail(s, INGRESS_JSON_INVALID);
        unsigned char c = *s->p;
        if (c == '"') {
            if (raw) {
                *raw = begin;
                *rawlen = (size_t)(s->p - begin);
                *escaped = esc;
            }
            s->p++;
            break;
        }
        if (c < 0x20)
            return fail(s, INGRESS_JSON_INVALID);
        if (c >= 0x80) {
            size_t k = utf8_len(s->p, s->end);
            if (!k)
                return fail(s, INGRESS_JSON_INVALID);
            if (dst) {
                if (!over && n + k <= cap) {
                    memcpy(dst + n, s->p, k);
                    n += k;
                } else {
                    over = true;
                }
            }
            s->p += k;
            continue;
        }
        /* backslash */
        esc = true;
        s->p++;
        if (s->p >= s->end)
            return fail(s, INGRESS_JSON_INVALID);
        unsigned cp;
        switch (*s->p++) {
        case '"':
            cp = '"';
            break;
        case '\\':
            cp = '\\';
            break;
        case '/':
            cp = '/';
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (!read_u4(s, &cp))
                return fail(s, INGRESS_JSON_INVALID);
            if (cp >= 0xD800 && cp <= 0xDBFF && s->end - s->p >= 6 && s->p[0] == '\\' &&
                s->p[1] == 'u') {
                const unsigned char *save = s->p;
                unsigned lo;
                s->p += 2;
                if (!read_u4(s, &lo))
                    return fail(s, INGRESS_JSON_INVALID);
                if (lo >= 0xDC00 && lo <= 0xDFFF)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                    s->p = save; /* lone high surrogate; the next escape is read on its own */
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* RFC 8259 allows lone surrogates syntactically */
            if (cp == 0)
                s->nul = true;
            break;
        default:
            return fail(s, INGRESS_JSON_INVALID);
        }
        if (dst && !over && !put_utf8(dst, cap, &n, cp))
            over = true;
    }
    if (dst) {
        dst[over ? 0 : n] = '\0';
        *dlen = over ? 0 : n;
        *overflow = over;
    }
    return true;
}

static bool scan_number(struct scanner *s, bool *is_int, int64_t *ival)
{
    const unsigned char *p = s->p;
    bool neg = false, integral = true, ovf = false;
    uint64_t acc = 0;
    if (p < s->end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= s->end)
        return fail(s, INGRESS_JSON_INVALID);
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < s->end && *p >= '0' && *p <= '9') {
            unsigned d = (unsigned)(*p - '0');
            if (acc > (UINT64_MAX - d) / 10)
                ovf = true;
            else
                acc = acc * 10 + d;
            p++;
        }
    } else {
        return fail(s, INGRESS_JSON_INVALID);
    }
    if (p < s->end && *p == '.') {
        integral = false;
        p++;
        if (p >= s->end || *p < '0' || *p > '9')
            return fail(s, INGRESS_JSON_INVALID);
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        integral = false;
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= s->end || *p < '0' || *p > '9')
            return fail(s, INGRESS_JSON_INVALID);
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    }
    s->p = p;
    *is_int = false;
    *ival = 0;
    if (integral && !ovf) {
        if (!neg && acc <= (uint64_t)INT64_MAX) {
            *is_int = true;
            *ival = (int64_t)acc;
        } else if (neg && acc <= (uint64_t)INT64_MAX + 1) {
            *is_int = true;
            *ival = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
        }
    }
    /* Only routed numbers are read here: json-c would clamp this one to another id. */
    if (integral && !*is_int)
        return fail(s, INGRESS_JSON_RANGE);
    return true;
}

/* Validates a string at s->p (opening quote) without decoding it: the path for almost every
 * string and key in a payload. *escaped (if non-NULL) tells whether a backslash occurred. */
static bool skip_string(struct scanner *s, bool *escaped)
{
    const unsigned char *p = s->p + 1, *end = s->end;
    bool esc = false;
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end)
            goto bad;
        unsigned char c = *p;
        if (c == '"') {
            s->p = p + 1;
            if (escaped)
                *escaped = esc;
            return true;
        }
        if (c == '\\') {
            esc = true;
            if (end - p < 2)
                goto bad;
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                continue;
            case 'u':
                if (end - p < 6 || sg_hex_value((unsigned char)p[2]) < 0 ||
                    sg_hex_value((unsigned char)p[3]) < 0 ||
                    sg_hex_value((unsigned char)p[4]) < 0 || sg_hex_value((unsigned char)p[5]) < 0)
                    goto bad;
                p += 6; /* lone surrogates are allowed by RFC 8259's grammar */
                continue;
            default:
                goto bad;
            }
        }
        if (c < 0x20)
            goto bad;
        size_t k = utf8_len(p, end);
        if (!k)
            goto bad;
        p += k;
    }
bad:
    s->p = p < end ? p : end;
    return fail(s, INGRESS_JSON_INVALID);
}

/* Validates a number's grammar without computing its value. */
static bool skip_number(struct scanner *s)
{
    const unsigned char *p = s->p, *end = s->end;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        goto bad;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        goto bad;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            goto bad;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            goto bad;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    s->p = p;
    return true;
bad:
    s->p = p;
    return fail(s, INGRESS_JSON_INVALID);
}

static bool scan_literal(struct scanner *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return fail(s, INGRESS_JSON_INVALID);
    s->p += n;
    return true;
}

/* Fields in mask whose path ends at this level. */
static unsigned terminal_mask(unsigned mask, int level)
{
    unsigned t = 0;
    for (unsigned m = mask; m; m &= m - 1) {
        int f = __builtin_ctz(m);
        if (PATHS[f].n == level)
            t |= 1u << f;
    }
    return t;
}

static void set_type(struct scanner *s, unsigned term, enum ingress_json_type type)
{
    for (unsigned m = term; m; m &= m - 1)
        s->out->v[__builtin_ctz(m)].type = type;
}

static bool scan_value(struct scanner *s, unsigned mask, int level);

/* Mask of fields below an object member named key (raw bytes, possibly with escapes). */
static unsigned member_mask(struct scanner *s, unsigned mask, int level, const unsigned char *raw,
                            size_t rawlen, bool escaped)
{
    unsigned out = 0;
    char tmp[64];
    const char *key = (const char *)raw;
    size_t keylen = rawlen;
    if (escaped) {
        /* Rare: decode the key (already validated) to compare it with our plain names. json-c
         * keeps keys as C strings, so "action\u0000x" would be its "action": refused. */
        struct scanner sub = {raw - 1, raw + rawlen + 1, raw - 1, 0, INGRESS_JSON_OK, NULL, false};
        size_t n = 0;
        bool over = false;
        bool ok = scan_string(&sub, tmp, sizeof tmp - 1, &n, &over, NULL, NULL, NULL);
        if (sub.nul) {
            fail(s, INGRESS_JSON_NUL);
            return 0;
        }
        if (!ok || over)
            return 0;
        key = tmp;
        keylen = n;
    }
    if (level >= MAX_LEVELS || keylen >= MAX_KEY_LEN)
        return 0;
    for (unsigned m = mask & BY_LEN[level][keylen]; m; m &= m - 1) {
        int f = __builtin_ctz(m);
        if (memcmp(PATHS[f].c[level].key, key, keylen) == 0)
            out |= 1u << f;
    }
    return out;
}

static bool scan_object(struct scanner *s, unsigned mask, int level)
{
    s->p++; /* { */
    if (++s->depth > INGRESS_JSON_MAX_DEPTH)
        return fail(s, INGRESS_JSON_DEPTH);
    unsigned below = mask & ~terminal_mask(mask, level);
    unsigned seen = 0; /* routed fields already met among this object's members */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return fail(s, INGRESS_JSON_INVALID);
        const unsigned char *raw = s->p + 1;
        bool escaped = false;
        if (!skip_string(s, &escaped))
            return false;
        size_t rawlen = (size_t)(s->p - 1 - raw);
        unsigned child = 0;
        if (below) {
            child = member_mask(s, below, level, raw, rawlen, escaped);
            if (s->res != INGRESS_JSON_OK)
                return false;
            /* Distinct keys lead to disjoint fields, so a field met twice is a key met twice:
             * refused rather than merged ("repository" twice gave id from one, full_name from
             * the other) or resolved by a rule another reader may not share. */
            if (child & seen)
                return fail(s, INGRESS_JSON_DUPLICATE);
            seen |= child;
        }
        if (s->p < s->end && *s->p == ':') {
            s->p++; /* the usual compact form */
        } else {
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return fail(s, INGRESS_JSON_INVALID);
            s->p++;
        }
        skip_ws(s);
        if (!scan_value(s, child, level + 1))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return fail(s, INGRESS_JSON_INVALID);
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') {
            s->p++;
            s->depth--;
            return true;
        }
        return fail(s, INGRESS_JSON_INVALID);
    }
}

static bool scan_array(struct scanner *s, unsigned mask, int level)
{
    s->p++; /* [ */
    if (++s->depth > INGRESS_JSON_MAX_DEPTH)
        return fail(s, INGRESS_JSON_DEPTH);
    unsigned below = mask & ~terminal_mask(mask, level);
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return true;
    }
    for (int idx = 0;; idx++) {
        unsigned child = 0;
        for (unsigned m = below; m; m &= m - 1) {
            int f = __builtin_ctz(m);
            const struct path_comp *c = &PATHS[f].c[level];
            if (!c->key && c->idx == idx)
                child |= 1u << f;
        }
        skip_ws(s);
        if (!scan_value(s, child, level + 1))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return fail(s, INGRESS_JSON_INVALID);
        if (*s->p == ',') {
            s->p++;
            if (idx == 1 << 30)
                idx = 1; /* keep counting without overflow; only index 0 is ever wanted */
            continue;
        }
        if (*s->p == ']') {
            s->p++;
            s->depth--;
            return true;
        }
        return fail(s, INGRESS_JSON_INVALID);
    }
}

/* Scans one value at s->p; mask holds the fields whose paths lead here (level components). */
static bool scan_value(struct scanner *s, unsigned mask, int level)
{
    if (s->p >= s->end)
        return fail(s, INGRESS_JSON_INVALID);
    unsigned term = mask ? terminal_mask(mask, level) : 0;
    switch (*s->p) {
    case '{':
        set_type(s, term, IJT_OBJECT);
        return scan_object(s, mask, level);
    case '[':
        set_type(s, term, IJT_ARRAY);
        return scan_array(s, mask, level);
    case '"':
        if (term) {
            struct ingress_json_value *v = &s->out->v[__builtin_ctz(term)];
            bool over = false;
            s->nul = false;
            if (!scan_string(s, v->str, INGRESS_JSON_MAX_STR, &v->len, &over, NULL, NULL, NULL))
                return false;
            if (s->nul) /* the C string would end early: "opened\u0000junk" read as "opened" */
                return fail(s, INGRESS_JSON_NUL);
            set_type(s, term, over ? IJT_TOO_LONG : IJT_STRING);
            return true;
        }
        return skip_string(s, NULL);
    case 't':
    case 'f': {
        bool t = *s->p == 't';
        if (!(t ? scan_literal(s, "true", 4) : scan_literal(s, "false", 5)))
            return false;
        set_type(s, term, IJT_BOOL);
        for (unsigned m = term; m; m &= m - 1)
            s->out->v[__builtin_ctz(m)].b = t;
        return true;
    }
    case 'n':
        if (!scan_literal(s, "null", 4))
            return false;
        set_type(s, term, IJT_NULL);
        return true;
    default: {
        bool is_int = false;
        int64_t iv = 0;
        if (!term)
            return skip_number(s);
        if (!scan_number(s, &is_int, &iv))
            return false;
        set_type(s, term, IJT_NUMBER);
        for (unsigned m = term; m; m &= m - 1) {
            s->out->v[__builtin_ctz(m)].is_int = is_int;
            s->out->v[__builtin_ctz(m)].i = iv;
        }
        return true;
    }
    }
}

enum ingress_json_result ingress_json_scan(const char *data, size_t len,
                                           struct ingress_json_fields *out, size_t *err_off)
{
    for (int i = 0; i < IJF__COUNT; i++) {
        out->v[i].type = IJT_ABSENT;
        out->v[i].len = 0;
        out->v[i].str[0] = '\0';
        out->v[i].b = false;
        out->v[i].is_int = false;
        out->v[i].i = 0;
    }
    pthread_once(&by_len_once, init_by_len);
    struct scanner s = {(const unsigned char *)data,
                        (const unsigned char *)data + len,
                        (const unsigned char *)data,
                        0,
                        INGRESS_JSON_OK,
                        out,
                        false};
    skip_ws(&s);
    if (scan_value(&s, ALL_FIELDS, 0)) {
        skip_ws(&s);
        if (s.p != s.end)
            fail(&s, INGRESS_JSON_INVALID);
    }
    if (s.res != INGRESS_JSON_OK) {
        /* Do not leave half-captured fields behind for a caller that ignores the result. */
        for (int i = 0; i < IJF__COUNT; i++)
            out->v[i].type = IJT_ABSENT;
        if (err_off)
            *err_off = (size_t)(s.p - s.start);
    }
    return s.res;
}
