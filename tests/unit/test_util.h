/* Why: small helpers the cmocka programs share, so each test does not carry its own copy.
 * Header-only (static) because every test is one translation unit. */
#ifndef SG_TEST_UTIL_H
#define SG_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file into a NUL-terminated malloc'ed buffer (caller frees); NULL on error. */
static inline char *sg_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    if (d) {
        d[n] = '\0';
        *len = (size_t)n;
    }
    return d;
}

#endif
