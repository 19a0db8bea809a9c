/* Why: GitHub's answers are outside input to the worker: the status, the rate-limit headers,
 * Retry-After, the Link header and the JSON error body all feed wk_github_classify() and
 * wk_github_link_next(). This target feeds them arbitrary bytes: input lines are status,
 * Retry-After, X-RateLimit-Remaining, X-RateLimit-Reset, Link, then the body, which is also read
 * as a compare answer (the renamed files). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wk_github.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *f[6] = {NULL};
    char *p = s;
    for (int i = 0; i < 5 && p; i++) {
        f[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    f[5] = p;
    int status = f[0] ? (int)strtol(f[0], NULL, 10) : 0;
    struct wk_github_error e;
    wk_github_classify(status, f[1], f[2], f[3], f[5], 1764182400000LL, &e);
    if (strlen(e.message) >= sizeof e.message)
        abort();
    char next[512];
    if (wk_github_link_next(f[4], next, sizeof next) && strlen(next) >= sizeof next)
        abort();
    struct wk_github_renames rn;
    if (f[5] && wk_github_renames_parse(f[5], &rn) == SG_OK) {
        for (size_t i = 0; i < rn.n; i++)
            if (!rn.v[i].from || !rn.v[i].to)
                abort();
        wk_github_renames_free(&rn);
    }
    free(s);
    return 0;
}
