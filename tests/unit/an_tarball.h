/* Why: the analysis tests build their tar.gz inputs in memory (including hostile ones: "../"
 * names, links, devices, pax and GNU long-name records, truncations) instead of shipping binary
 * fixtures, so each case says exactly what bytes it feeds. Header-only, test use only.
 * Ownership: tb_gzip() returns a malloc'ed buffer the caller frees. */
#ifndef ANALYSIS_TAR_H
#define ANALYSIS_TAR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "an_analysis.h"

struct tb {
    unsigned char *d;
    size_t len, cap;
};

static inline void tb_put(struct tb *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t nc = (t->len + n) * 2 + 4096;
        t->d = realloc(t->d, nc);
        if (!t->d)
            abort();
        t->cap = nc;
    }
    memcpy(t->d + t->len, p, n);
    t->len += n;
}

static inline void tb_pad(struct tb *t)
{
    static const unsigned char z[512];
    if (t->len % 512)
        tb_put(t, z, 512 - t->len % 512);
}

/* One header + data. type: '0' file, '2' symlink, '1' hard link, '3'/'4' devices, '6' FIFO,
 * 'x' pax, 'g' pax global, 'L' GNU long name, '5' directory. name may be up to 100 bytes. */
static inline void tb_entry(struct tb *t, const char *name, char type, const void *data, size_t n)
{
    unsigned char h[512];
    memset(h, 0, sizeof h);
    size_t nl = strlen(name);
    memcpy(h, name, nl > 100 ? 100 : nl);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    char size[24];
    snprintf(size, sizeof size, "%011llo", (unsigned long long)n);
    memcpy(h + 124, size, 12);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (unsigned char)type;
    if (type == '2' || type == '1')
        memcpy(h + 157, "target", 6);
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    tb_put(t, h, 512);
    if (n && data) { /* data NULL: the header only, the caller streams the bytes and padding */
        tb_put(t, data, n);
        tb_pad(t);
    }
}

static inline void tb_file(struct tb *t, const char *name, const char *text)
{
    tb_entry(t, name, '0', text, strlen(text));
}

/* A pax extended header record set with one key=value. */
static inline void tb_pax(struct tb *t, char type, const char *key, const char *value)
{
    char rec[4096];
    size_t body = strlen(key) + strlen(value) + 3; /* ' ' '=' '\n' */
    size_t len = body + 1;
    while (snprintf(NULL, 0, "%zu", len) + body != len)
        len++;
    int n = snprintf(rec, sizeof rec, "%zu %s=%s\n", len, key, value);
    tb_entry(t, type == 'g' ? "pax_global_header" : "PaxHeaders/x", type, rec, (size_t)n);
}

static inline void tb_end(struct tb *t)
{
    static const unsigned char z[1024];
    tb_put(t, z, 1024);
}

/* gzip of d at a zlib level (0 = stored blocks: cheap, for the fuzz target); caller frees. */
static inline unsigned char *tb_gzip_level(const unsigned char *d, size_t n, int level,
                                           size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&zs, n) + 64;
    unsigned char *o = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)d;
    zs.avail_in = (uInt)n;
    zs.next_out = o;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return o;
}

static inline unsigned char *tb_gzip(const unsigned char *d, size_t n, size_t *outlen)
{
    return tb_gzip_level(d, n, 6, outlen);
}

/* Feeds gz in chunks of `chunk` bytes (0 = pseudo-random sizes 1..4096) and finishes. */
static inline enum sg_err tb_analyze(const unsigned char *gz, size_t n, size_t chunk,
                                     const struct an_options *opts, struct an_result **out,
                                     char *err, size_t errlen)
{
    struct an_session *an = an_new(opts);
    enum sg_err e = SG_OK;
    unsigned seed = 12345;
    size_t off = 0;
    *out = NULL;
    while (off < n && !e) {
        size_t c = chunk;
        if (!c) {
            seed = seed * 1103515245u + 12345u;
            c = 1 + (seed >> 16) % 4096;
        }
        if (c > n - off)
            c = n - off;
        e = an_feed(an, gz + off, c);
        off += c;
    }
    if (!e)
        e = an_finish(an, out);
    snprintf(err, errlen, "%s", an_error(an));
    an_free(an);
    return e;
}

/* Convenience: tar (already ended) -> gzip -> analyse in random chunks. */
static inline enum sg_err tb_run(struct tb *t, const struct an_options *opts,
                                 struct an_result **out, char *err, size_t errlen)
{
    size_t gl;
    unsigned char *gz = tb_gzip(t->d, t->len, &gl);
    enum sg_err e = tb_analyze(gz, gl, 0, opts, out, err, errlen);
    free(gz);
    return e;
}

static inline uint64_t tb_rule(const struct an_result *r, const char *rule)
{
    for (size_t i = 0; i < r->nrule_counts; i++)
        if (strcmp(r->rule_counts[i].rule, rule) == 0)
            return r->rule_counts[i].count;
    return 0;
}

/* Line of the first finding of a rule in a path, 0 when none. */
static inline uint32_t tb_find(const struct an_result *r, const char *rule, const char *path)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (strcmp(r->findings[i].rule, rule) == 0 &&
            (!path || strcmp(r->findings[i].path, path) == 0))
            return r->findings[i].line;
    return 0;
}

static inline const struct an_language *tb_lang(const struct an_result *r, const char *name)
{
    for (size_t i = 0; i < r->nlanguages; i++)
        if (strcmp(r->languages[i].name, name) == 0)
            return &r->languages[i];
    return NULL;
}

#endif
