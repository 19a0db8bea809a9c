/* Why: owns the exclude-glob language of .singularity.yml (gitignore-like: `*` and `?` within a
 * path component, `[...]` classes, backslash escapes, `**` across components, a pattern without
 * `/` matching any component, a directory pattern excluding what is under it). The patterns come
 * from the repository, so matching must stay cheap whatever they hold: every `**` is resolved by
 * one pass over the path's components (which component each part of the pattern can start at),
 * and each component is matched by the greedy algorithm with one backtrack point per `*`, so the
 * cost is bounded by pattern length times path length, never exponential. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "an_internal.h"

#define AN_GLOB_MAX   512 /* pattern bytes (longer patterns never match) */
#define AN_GLOB_STACK 256 /* components handled without allocating */

struct an_span {
    const char *s;
    size_t n;
};

/* A `[...]` class at p (p[0] == '['), within the component [p, e): whether c is in it, and where
 * the class ends (*next). False with *next == NULL when it is not a class: then '[' is literal. */
static bool an_class(const char *p, const char *e, unsigned char c, const char **next)
{
    const char *q = p + 1;
    bool neg = q < e && (*q == '!' || *q == '^');
    if (neg)
        q++;
    bool hit = false;
    for (bool first = true; q < e; first = false) {
        if (*q == ']' && !first) {
            *next = q + 1;
            return hit != neg;
        }
        if (*q == '[' && q + 1 < e && q[1] == ':') {
            static const struct {
                const char *name;
                int (*fn)(int);
            } cls[] = {{"alpha", isalpha}, {"digit", isdigit},   {"alnum", isalnum},
                       {"upper", isupper}, {"lower", islower},   {"space", isspace},
                       {"punct", ispunct}, {"xdigit", isxdigit}, {"blank", isblank},
                       {"cntrl", iscntrl}, {"graph", isgraph},   {"print", isprint}};
            const char *end = q + 2;
            while (end + 1 < e && !(end[0] == ':' && end[1] == ']'))
                end++;
            if (end + 1 < e) {
                size_t nl = (size_t)(end - (q + 2));
                for (size_t k = 0; k < sizeof cls / sizeof cls[0]; k++)
                    if (strlen(cls[k].name) == nl && memcmp(cls[k].name, q + 2, nl) == 0 &&
                        cls[k].fn(c))
                        hit = true;
                q = end + 2;
                continue;
            }
        }
        unsigned char lo = (unsigned char)*q;
        if (lo == '\\' && q + 1 < e)
            lo = (unsigned char)*++q;
        q++;
        unsigned char hi = lo;
        if (q + 1 < e && *q == '-' && q[1] != ']') {
            hi = (unsigned char)q[1];
            if (hi == '\\' && q + 2 < e)
                hi = (unsigned char)*(q++ + 2);
            q += 2;
        }
        if (c >= lo && c <= hi)
            hit = true;
    }
    *next = NULL;
    return false;
}

/* One pattern component against one path component (neither holds '/'). */
static bool an_comp_match(const char *p, const char *pe, const char *s, const char *se)
{
    const char *star_p = NULL, *star_s = NULL;
    while (s < se) {
        if (p < pe && *p == '*') {
            while (p < pe && *p == '*')
                p++;
            star_p = p, star_s = s;
            continue;
        }
        if (p < pe) {
            const char *next = p + 1;
            bool ok;
            if (*p == '?') {
                ok = true;
            } else if (*p == '[') {
                ok = an_class(p, pe, (unsigned char)*s, &next);
                if (!next)
                    ok = *s == '[', next = p + 1;
            } else if (*p == '\\' && p + 1 < pe) {
                ok = p[1] == *s, next = p + 2;
            } else {
                ok = *p == *s;
            }
            if (ok) {
                p = next, s++;
                continue;
            }
        }
        if (!star_p)
            return false;
        p = star_p, s = ++star_s; /* the last star takes one more byte */
    }
    while (p < pe && *p == '*')
        p++;
    return p == pe;
}

/* A pattern part without `**` against the path text [s, se): the same number of components, each
 * matching (with FNM_PATHNAME, a '/' is only ever matched by a '/'). */
static bool an_part_match(struct an_span part, const char *s, const char *se)
{
    const char *p = part.s, *pe = part.s + part.n;
    for (;;) {
        const char *pc = memchr(p, '/', (size_t)(pe - p)), *sc = memchr(s, '/', (size_t)(se - s));
        const char *pce = pc ? pc : pe, *sce = sc ? sc : se;
        if (!an_comp_match(p, pce, s, sce))
            return false;
        if (!pc || !sc)
            return !pc && !sc;
        p = pc + 1, s = sc + 1;
    }
}

static size_t an_slashes(struct an_span x)
{
    size_t n = 0;
    for (size_t i = 0; i < x.n; i++)
        n += x.s[i] == '/';
    return n;
}

/* An anchored pattern against the path and each folder above it. The pattern is parts joined by
 * `**` (each `**` also takes the '/' after it); `**` stands for any number of whole folders, and a
 * part before a `**` matches whole folders (its text ends with '/', or is empty), so it spans as
 * many components as it has slashes. Where each part can start is then one pass over the path's
 * components per part: reach[q] says the parts so far can end where component q starts. */
static bool an_glob_anchored(const char *pat, const char *path, bool dir)
{
    struct an_span parts[AN_GLOB_MAX / 2 + 2];
    size_t np = 0;
    for (const char *p = pat;;) {
        const char *ss = strstr(p, "**");
        parts[np++] = (struct an_span){p, ss ? (size_t)(ss - p) : strlen(p)};
        if (!ss)
            break;
        p = ss + 2;
        if (*p == '/')
            p++;
    }
    size_t nc = 1, len = strlen(path);
    for (size_t i = 0; i < len; i++)
        nc += path[i] == '/';
    size_t stack_start[AN_GLOB_STACK + 1];
    bool stack_reach[AN_GLOB_STACK + 1];
    size_t *start = stack_start; /* start[q]: first byte of component q; start[nc] = len + 1 */
    bool *reach = stack_reach, ok = false;
    if (nc > AN_GLOB_STACK) {
        start = malloc((nc + 1) * sizeof *start);
        reach = malloc((nc + 1) * sizeof *reach);
        if (!start || !reach)
            goto out;
    }
    start[0] = 0;
    for (size_t i = 0, c = 1; i < len; i++)
        if (path[i] == '/')
            start[c++] = i + 1;
    start[nc] = len + 1;
    memset(reach, 0, nc * sizeof *reach);
    reach[0] = true;
    size_t last = np - 1;
    for (size_t m = 0; m < last; m++) {
        size_t s = an_slashes(parts[m]);
        /* walking q down, a part that starts at q ends at q + s >= q, which is not read again */
        bool any = false;
        for (size_t q = nc; q-- > 0;) {
            bool ends = false;
            if (reach[q] && q + s < nc)
                ends = an_part_match(parts[m], path + start[q], path + start[q + s]);
            reach[q] = false;
            if (ends)
                reach[q + s] = true;
        }
        /* the `**` after it: from the first place a part ended, every later component start */
        for (size_t q = 0; q < nc; q++)
            reach[q] = any = any || reach[q];
    }
    size_t s = an_slashes(parts[last]);
    for (size_t e = 0; e < nc && !ok; e++) { /* the folder ending with component e, or the file */
        if (dir && e == nc - 1)
            break;
        const char *end = path + start[e + 1] - 1;
        if (last > 0 && parts[last].n == 0)
            ok = reach[e]; /* ends with `**`: anything under what matched */
        else if (e >= s && reach[e - s])
            ok = an_part_match(parts[last], path + start[e - s], end);
    }
out:
    if (start != stack_start)
        free(start);
    if (reach != stack_reach)
        free(reach);
    return ok;
}

bool an_glob_match(const char *pattern, const char *path)
{
    size_t pl = strlen(pattern);
    if (pl == 0 || pl >= AN_GLOB_MAX)
        return false;
    char pat[AN_GLOB_MAX];
    memcpy(pat, pattern, pl + 1);
    bool dir = pat[pl - 1] == '/';
    if (dir)
        pat[--pl] = '\0';
    const char *p = pat;
    if (*p == '/')
        p++;
    else if (*p == '.' && p[1] == '/')
        p += 2;
    if (strchr(p, '/') || pattern[0] == '/')
        return an_glob_anchored(p, path, dir);
    /* no '/': any component of the path (a folder's or, unless dir, the file's own name) */
    size_t plen = strlen(p);
    for (const char *s = path;;) {
        const char *slash = strchr(s, '/');
        if (dir && !slash)
            return false;
        const char *se = slash ? slash : s + strlen(s);
        if (an_comp_match(p, p + plen, s, se))
            return true;
        if (!slash)
            return false;
        s = slash + 1;
    }
}
