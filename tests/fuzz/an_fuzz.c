/* Why: the tarball is outside input, so the whole stream path (gzip, tar headers, pax records, GNU
 * long names, the per-file pipeline, .singularity.yml, every output format) is fuzzed. The first
 * byte picks the mode and chunk size, so one target reaches each layer without the fuzzer having
 * to invent a valid deflate stream first:
 *   mode 0: the rest is a tar stream; the harness gzips it (stored blocks) and feeds it in chunks
 *   mode 1: the rest is fed as raw gzip bytes
 *   mode 2: the rest is one file's content, analysed as C, Python, Rust, Markdown, Shell and as
 *           .singularity.yml, inside a GitHub-style tarball; its first line is also an exclude
 *           glob matched against each further line as a path (the glob matcher alone, where a
 *           slow case is easiest for the fuzzer to find: -timeout catches it); the same bytes are
 *           also read as a --format json base (an_result_from_json) and, when they parse, the
 *           analysis is classified against it (with a rename) before every output is rendered
 *   first byte 0xF0 and up: the rest goes straight to the secret matcher (Hyperscan prefilter,
 *           PCRE2 windows, allow-lists) under paths that wake path rules, with a configuration
 *           that allows and disables; every hit must be in the file and show at most 4 bytes */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../unit/an_tarball.h"
#include "an_analysis.h"
#include "an_internal.h"
#include "an_secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tar_entry(unsigned char **buf, size_t *len, const char *name, const uint8_t *d,
                      size_t n)
{
    size_t need = 512 + ((n + 511) / 512) * 512;
    unsigned char *nb = realloc(*buf, *len + need);
    if (!nb)
        abort();
    *buf = nb;
    unsigned char *h = nb + *len;
    memset(h, 0, need);
    memcpy(h, name, strnlen(name, 99));
    memcpy(h + 100, "0000644", 7);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)n);
    h[156] = '0';
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    if (n)
        memcpy(h + 512, d, n);
    *len += need;
}

static void run(const uint8_t *gz, size_t n, size_t chunk, const char *config,
                const struct an_result *base)
{
    static const struct an_rename rn = {"old.c", "a.c"};
    struct an_options o = {.config_path = config, .renames = &rn, .nrenames = 1};
    o.limits.max_total_bytes = 64u << 20;
    o.limits.max_findings = 50;
    struct an_session *an = an_new(&o);
    if (!an)
        return;
    enum sg_err e = SG_OK;
    for (size_t off = 0; off < n && !e; off += chunk)
        e = an_feed(an, gz + off, n - off < chunk ? n - off : chunk);
    struct an_result *r = NULL;
    if (!e && an_finish(an, &r) == SG_OK) {
        if (base && an_classify(r, base) == SG_OK &&
            r->new_findings + r->existing_findings != r->nfingerprints)
            abort();
        struct sg_buf b;
        sg_buf_init(&b, 0);
        an_result_json(r, &b);
        sg_buf_reset(&b);
        an_result_sarif(r, &b);
        sg_buf_reset(&b);
        an_result_table(r, &b);
        sg_buf_free(&b);
        if (r->score < 0 || r->score > 10)
            abort();
        an_result_free(r);
    }
    (void)an_error(an);
    an_free(an);
}

static void globs(const uint8_t *data, size_t size)
{
    char buf[8192];
    size_t n = size < sizeof buf - 1 ? size : sizeof buf - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    char *save = NULL, *pattern = strtok_r(buf, "\n", &save);
    if (!pattern)
        return;
    for (char *path; (path = strtok_r(NULL, "\n", &save));)
        (void)an_glob_match(pattern, path);
}

struct sec_ctx {
    uint32_t lines;
};

static void on_secret(void *ctx, const struct an_secret_hit *h)
{
    const struct sec_ctx *c = ctx;
    if (h->line < 1 || h->line > c->lines || strlen(h->hint) > 4 || h->rule >= an_sec_nrules ||
        h->sec < AN_SEC001 || h->sec > AN_SEC005)
        abort();
}

static void run_secrets(const uint8_t *d, size_t n)
{
    static struct an_secrets *s;
    if (!s) { /* one session for the whole run, as a worker keeps one per analysis */
        static char allow0[] = "^AKIA", *allow[] = {allow0};
        static char dis0[] = "slack-bot-token", *dis[] = {dis0};
        struct an_config c;
        an_config_defaults(&c);
        c.sec_allow = allow, c.nsec_allow = 1, c.sec_disable = dis, c.nsec_disable = 1;
        char err[256];
        if (!(s = an_secrets_new(&c, err, sizeof err)))
            abort();
    }
    struct sec_ctx c = {1};
    for (size_t i = 0; i < n; i++)
        c.lines += d[i] == '\n';
    static const char *const paths[] = {"k8s/secret.yaml", "meta/r.bb", "x.php", "a.p12", "f"};
    (void)an_secrets_scan(s, paths[n % 5], d, n, 0, on_secret, &c);
    an_secrets_path(s, paths[n % 5], on_secret, &c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    if (data[0] >= 0xF0) {
        run_secrets(data + 1, size - 1);
        return 0;
    }
    unsigned mode = data[0] % 3;
    size_t chunk = 1 + (data[0] / 3) * 37;
    data++, size--;
    if (mode == 1) {
        run(data, size, chunk, NULL, NULL);
        return 0;
    }
    unsigned char *tar = NULL;
    struct an_result *base = NULL;
    size_t tl = 0;
    if (mode == 0) {
        tar = malloc(size + 1024);
        memcpy(tar, data, size);
        memset(tar + size, 0, 1024);
        tl = size + 1024;
    } else {
        globs(data, size);
        char err[256];
        (void)an_result_from_json((const char *)data, size, &base, err, sizeof err);
        static const char *const names[] = {"top/.singularity.yml",
                                            "top/a.c",
                                            "top/b.py",
                                            "top/c.rs",
                                            "top/d.md",
                                            "top/e.sh",
                                            "top/f"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            tar_entry(&tar, &tl, names[i], data, size);
        unsigned char *nb = realloc(tar, tl + 1024);
        if (!nb)
            abort();
        tar = nb;
        memset(tar + tl, 0, 1024);
        tl += 1024;
    }
    size_t gl;
    unsigned char *gz = tb_gzip_level(tar, tl, 0, &gl);
    run(gz, gl, chunk, NULL, base);
    an_result_free(base);
    free(gz);
    free(tar);
    return 0;
}
