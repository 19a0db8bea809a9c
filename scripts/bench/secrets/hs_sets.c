/* Why: what the secret rules' Hyperscan pass costs, set by set, apart from the rest of the engine
 * (scripts/bench-secrets.sh HS_SETS=1 builds and runs it). Reads a list of files on stdin (up to
 * MB megabytes of text; binary files skipped), holds them in memory, and scans each file in block
 * mode as an_secrets_scan does, with each pattern set named on the command line, best of 3:
 *   lits       every keyword literal of the rules found by keyword (caseless, deduplicated)
 *   litsN      the same, only keywords of at least N bytes
 *   pre        every rule's prefilter regex (HS_FLAG_PREFILTER)
 *   pre:ID     one rule's prefilter
 *   re:REGEX   a prefilter regex of your own; ci:TEXT / cs:TEXT a literal, caseless or not
 * Parts of one set are joined with '+', e.g. "lits+pre". Prints seconds, GB/s and match count. */
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "an_secrets.h"

enum { MAX_PATTERNS = 2048 };

static const char *expr[MAX_PATTERNS];
static unsigned flag[MAX_PATTERNS], id[MAX_PATTERNS], npat;
static unsigned long hits;

static int on_match(unsigned i, unsigned long long from, unsigned long long to, unsigned f, void *c)
{
    (void)i, (void)from, (void)to, (void)f, (void)c;
    hits++;
    return 0;
}

static void add(const char *e, unsigned f)
{
    for (unsigned k = 0; k < npat; k++)
        if (flag[k] == f && strcmp(expr[k], e) == 0)
            return;
    if (npat < MAX_PATTERNS) {
        expr[npat] = e;
        flag[npat] = f;
        id[npat] = npat;
        npat++;
    }
}

/* A keyword as a Hyperscan literal, as an_secrets.c writes it. */
static const char *literal(const char *w)
{
    size_t cap = strlen(w) * 4 + 1;
    char *o = malloc(cap), *p = o;
    if (!o)
        exit(2);
    for (; *w; w++) {
        unsigned char c = (unsigned char)*w;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            *p++ = (char)c;
        else
            p += snprintf(p, cap - (size_t)(p - o), "\\x%02x", c);
    }
    *p = '\0';
    return o;
}

static void add_part(const char *t)
{
    for (size_t r = 0; r < an_sec_nrules; r++) {
        const struct an_sec_rule *R = &an_sec_rules[r];
        if (strncmp(t, "lits", 4) == 0 && R->regex && !R->hs)
            for (size_t k = 0; k < R->nkeywords; k++)
                if (strlen(R->keywords[k]) >= strtoul(t + 4, NULL, 10))
                    add(literal(R->keywords[k]), HS_FLAG_CASELESS);
        if (R->hs &&
            (strcmp(t, "pre") == 0 || (strncmp(t, "pre:", 4) == 0 && !strcmp(t + 4, R->id))))
            add(R->hs, HS_FLAG_PREFILTER);
    }
    if (strncmp(t, "re:", 3) == 0)
        add(t + 3, HS_FLAG_PREFILTER);
    else if (strncmp(t, "ci:", 3) == 0)
        add(literal(t + 3), HS_FLAG_CASELESS);
    else if (strncmp(t, "cs:", 3) == 0)
        add(literal(t + 3), 0);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t cap = strtoul(getenv("MB") ? getenv("MB") : "300", NULL, 10) << 20, total = 0, nf = 0;
    size_t file_cap = 4u << 20, *off = malloc(sizeof *off * 1000000);
    char *buf = malloc(cap + file_cap), path[4096];
    if (!buf || !off)
        return 2;
    off[0] = 0;
    while (total < cap && nf + 1 < 1000000 && fgets(path, sizeof path, stdin)) {
        path[strcspn(path, "\n")] = '\0';
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t n = fread(buf + total, 1, file_cap, f);
        fclose(f);
        if (n == 0 || memchr(buf + total, 0, n)) /* empty or binary: not scanned by the engine */
            continue;
        total += n;
        off[++nf] = total;
    }
    fprintf(stderr, "%zu files, %.1f MB of text\n", nf, (double)total / 1e6);
    for (int a = 1; a < argc; a++) {
        npat = 0;
        char *spec = strdup(argv[a]), *save = NULL;
        for (char *t = strtok_r(spec, "+", &save); t; t = strtok_r(NULL, "+", &save))
            add_part(t);
        hs_database_t *db = NULL;
        hs_compile_error_t *ce = NULL;
        if (!npat || hs_compile_multi(expr, flag, id, npat, HS_MODE_BLOCK, NULL, &db, &ce)) {
            fprintf(stderr, "%s: %s\n", argv[a], ce ? ce->message : "no pattern");
            continue;
        }
        hs_scratch_t *s = NULL;
        if (hs_alloc_scratch(db, &s) != HS_SUCCESS)
            return 2;
        double best = 1e9;
        for (int round = 0; round < 3; round++) {
            hits = 0;
            double t0 = now();
            for (size_t i = 0; i < nf; i++)
                hs_scan(db, buf + off[i], (unsigned)(off[i + 1] - off[i]), 0, s, on_match, NULL);
            double t = now() - t0;
            best = t < best ? t : best;
        }
        printf("%-40.40s %4u patterns %7.3f s %6.2f GB/s %9lu matches\n", argv[a], npat, best,
               (double)total / best / 1e9, hits);
        hs_free_scratch(s);
        hs_free_database(db);
    }
    return 0;
}
