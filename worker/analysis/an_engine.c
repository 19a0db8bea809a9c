/* Why: the session that turns a stream of compressed bytes into an analysis without touching the
 * disk. gzip is inflated with ISA-L when available (about twice zlib's speed) or zlib; a tar
 * parser walks 512-byte headers (ustar, pax records, GNU long names) and hands each regular file
 * to the per-file pipeline (language, binary/generated/minified checks, one scan pass).
 *
 * Memory is bounded: one file buffer (at most limits.max_file_bytes), a fixed inflate window and
 * output buffer, one small record per counted file, and findings capped per rule.
 *
 * .singularity.yml may arrive after other files (git archive order puts `.github/...` before it).
 * Files are therefore held back (up to AN_PENDING_MAX bytes) until the configuration is known:
 * when the root .singularity.yml has been read, or when an entry sorts after ".singularity.yml"
 * (git writes entries in path order, so the file cannot come later), or at the end. A file that
 * does not fit in the hold-back buffer is analysed with the defaults and re-filtered at finish
 * (excludes, languages, rules, severities and file-level thresholds are re-applied from its
 * record; only max_line_length and default_excludes cannot be, and config_errors says so). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "an_engine.h"
#include "an_secrets.h"

#define AN_OUTBUF      (256 * 1024)
#define AN_SNIFF       8192
#define AN_PENDING_MAX (16u * 1024 * 1024)
#define AN_META_MAX    (1024 * 1024) /* pax records and GNU long names */

void sg_an_limits_default(struct sg_an_limits *l)
{
    l->max_file_bytes = 16u * 1024 * 1024;
    l->max_total_bytes = 8ull * 1024 * 1024 * 1024;
    l->max_files = 1000000;
    l->max_path_len = 4096;
    l->max_findings = 1000;
}

static void an_fill_limits(struct sg_an_limits *l, const struct sg_an_limits *in)
{
    sg_an_limits_default(l);
    if (!in)
        return;
    if (in->max_file_bytes)
        l->max_file_bytes = in->max_file_bytes;
    if (in->max_total_bytes)
        l->max_total_bytes = in->max_total_bytes;
    if (in->max_files)
        l->max_files = in->max_files;
    if (in->max_path_len)
        l->max_path_len = in->max_path_len;
    if (in->max_findings)
        l->max_findings = in->max_findings;
}

static enum sg_err an_fail(struct sg_an *an, enum sg_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum sg_err an_fail(struct sg_an *an, enum sg_err e, const char *fmt, ...)
{
    if (an->err)
        return an->err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(an->errmsg, sizeof an->errmsg, fmt, ap);
    va_end(ap);
    an->err = e;
    return e;
}

const char *sg_an_error(const struct sg_an *an)
{
    return an ? an->errmsg : "";
}

/* ------------------------------------------------------------------ session */

struct sg_an *sg_an_new(const struct sg_an_options *opts)
{
    struct sg_an *an = calloc(1, sizeof *an);
    if (!an)
        return NULL;
    an_fill_limits(&an->limits, opts ? &opts->limits : NULL);
    an_config_defaults(&an->cfg);
    an->keep_files = opts && opts->keep_files;
    an->outbuf = malloc(AN_OUTBUF);
    if (!an->outbuf) {
        free(an);
        return NULL;
    }
    if (opts && opts->config_path) {
        an->config_resolved = true;
        an->config_seen = true;
        int fd = open(opts->config_path, O_RDONLY | O_CLOEXEC);
        unsigned char buf[65537];
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
        if (n < 0)
            an_config_add_error(&an->cfg, "%s: cannot read: %s", opts->config_path,
                                strerror(errno));
        else
            an_config_parse(&an->cfg, opts->config_path, buf, (size_t)n);
        if (fd >= 0)
            close(fd);
    }
    return an;
}

void sg_an_keep_files(struct sg_an *an)
{
    if (an)
        an->keep_files = true;
}

static void an_pending_free(struct sg_an *an)
{
    for (size_t i = 0; i < an->npending; i++) {
        free(an->pending[i].path);
        free(an->pending[i].data);
    }
    free(an->pending);
    an->pending = NULL;
    an->npending = an->pending_bytes = 0;
}

void sg_an_free(struct sg_an *an)
{
    if (!an)
        return;
    an_inflate_end(an);
    an_pending_free(an);
    for (size_t i = 0; i < an->nrecs; i++)
        free(an->recs[i].path);
    free(an->recs);
    free(an->fnds);
    free(an->cur_path);
    free(an->fbuf);
    free(an->meta);
    free(an->pax_path);
    free(an->long_name);
    free(an->outbuf);
    an_config_free(&an->cfg);
    an_secrets_free(an->sec);
    free(an);
}

/* ------------------------------------------------------------------ per-file pipeline */

static bool an_is_vendored(const char *path)
{
    static const char *const dirs[] = {"vendor", "node_modules", "third_party", "bower_components"};
    const char *s = path;
    for (;;) {
        const char *slash = strchr(s, '/');
        if (!slash)
            return false;
        size_t n = (size_t)(slash - s);
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
            if (strlen(dirs[i]) == n && memcmp(s, dirs[i], n) == 0)
                return true;
        s = slash + 1;
    }
}

static bool an_is_lockfile(const char *path)
{
    static const char *const names[] = {"package-lock.json",   "yarn.lock",    "pnpm-lock.yaml",
                                        "Cargo.lock",          "Gemfile.lock", "poetry.lock",
                                        "composer.lock",       "go.sum",       "Pipfile.lock",
                                        "npm-shrinkwrap.json", "flake.lock",   "uv.lock"};
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(b, names[i]) == 0)
            return true;
    return false;
}

/* Generated files announce themselves near the top ("Code generated ... DO NOT EDIT.", Go's
 * convention; "@generated", Facebook's and many generators'). */
static bool an_is_generated(const unsigned char *d, size_t n)
{
    size_t lim = n < 1024 ? n : 1024;
    return memmem(d, lim, "DO NOT EDIT", 11) || memmem(d, lim, "@generated", 10) ||
           memmem(d, lim, "Do not edit this file", 21) ||
           memmem(d, lim, "do not edit this file", 21) ||
           memmem(d, lim, "automatically generated", 23) ||
           memmem(d, lim, "auto-generated file", 19);
}

static bool an_is_minified(const char *path, const struct an_lang *L, const unsigned char *d,
                           size_t n)
{
    size_t pl = strlen(path);
    if ((pl > 7 && strcmp(path + pl - 7, ".min.js") == 0) ||
        (pl > 8 && strcmp(path + pl - 8, ".min.css") == 0))
        return true;
    if (!L || n < 4096 || (strcmp(L->name, "JavaScript") != 0 && strcmp(L->name, "CSS") != 0))
        return false;
    size_t lines = 1;
    for (const unsigned char *p = d, *e = d + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        lines++;
    return n / lines > 300;
}

bool an_excluded(const struct an_config *c, const char *path, int lang)
{
    for (size_t i = 0; i < c->nexclude; i++)
        if (an_glob_match(c->exclude[i], path))
            return true;
    if (c->nlanguages && lang >= 0) {
        for (size_t i = 0; i < c->nlanguages; i++)
            if (c->languages[i] == lang)
                return false;
        return true;
    }
    return false;
}

struct an_fctx {
    struct sg_an *an;
    uint32_t rec;
    uint32_t rc[AN_NRULES];
};

static void an_on_finding(void *ctx, enum an_rule rule, uint32_t line, uint32_t aux)
{
    struct an_fctx *f = ctx;
    struct sg_an *an = f->an;
    f->rc[rule]++;
    if (an->kept[rule] >= an->limits.max_findings)
        return;
    if (an->nfnds == an->cap_fnds) {
        size_t nc = an->cap_fnds ? an->cap_fnds * 2 : 256;
        struct an_fnd *n = realloc(an->fnds, nc * sizeof *n);
        if (!n)
            return;
        an->fnds = n;
        an->cap_fnds = nc;
    }
    an->fnds[an->nfnds++] =
        (struct an_fnd){.file = f->rec, .line = line, .aux = aux, .rule = (uint8_t)rule};
    an->kept[rule]++;
}

static void an_on_secret(void *ctx, const struct an_secret_hit *h)
{
    struct an_fctx *f = ctx;
    size_t before = f->an->nfnds;
    an_on_finding(ctx, h->sec, h->line, h->rule);
    if (f->an->nfnds > before)
        memcpy(f->an->fnds[before].hint, h->hint, sizeof f->an->fnds[before].hint);
}

/* The session's secret matcher, built from the configuration known when it is first needed. */
static struct an_secrets *an_sec_of(struct sg_an *an)
{
    if (!an->sec) {
        char err[256];
        if (!(an->sec = an_secrets_new(&an->cfg, err, sizeof err)))
            an_config_add_error(&an->cfg, "%s", err);
    }
    return an->sec;
}

static struct an_rec *an_add_rec(struct sg_an *an, const char *path)
{
    if (an->nrecs == an->cap_recs) {
        size_t nc = an->cap_recs ? an->cap_recs * 2 : 1024;
        struct an_rec *n = realloc(an->recs, nc * sizeof *n);
        if (!n)
            return NULL;
        an->recs = n;
        an->cap_recs = nc;
    }
    struct an_rec *r = &an->recs[an->nrecs];
    memset(r, 0, sizeof *r);
    r->path = strdup(path);
    if (!r->path)
        return NULL;
    an->nrecs++;
    return r;
}

/* The whole pipeline for one regular file whose bytes (or first AN_SNIFF bytes when it is larger
 * than max_file_bytes) are in d. */
static void an_analyse(struct sg_an *an, const char *path, uint64_t size, const unsigned char *d,
                       size_t n, bool truncated, bool late)
{
    const struct an_config *c = &an->cfg;
    bool binary = memchr(d, 0, n) != NULL;
    if (binary) {
        an->skipped.binary++;
        bool keyfile = an_secrets_path(an_sec_of(an), path, NULL, NULL); /* a .p12 file */
        if (size > 1024 * 1024 || keyfile) {
            struct an_rec *r = an_add_rec(an, path);
            if (!r)
                return;
            r->lang = -1;
            r->status = AN_REC_BINARY;
            r->bytes = size;
            r->late = late;
            struct an_fctx f = {.an = an, .rec = (uint32_t)(an->nrecs - 1)};
            if (size > 1024 * 1024)
                an_on_finding(&f, AN_BIN001, 1, (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size));
            an_secrets_path(an->sec, path, an_on_secret, &f);
            memcpy(r->rc, f.rc, sizeof r->rc);
        }
        return;
    }
    if (truncated) {
        an->skipped.too_large++;
        return;
    }
    int lang = -1;
    for (size_t i = 0; i < c->nlang_globs && lang < 0; i++)
        if (an_glob_match(c->lang_globs[i], path))
            lang = c->lang_of_glob[i];
    if (lang < 0)
        lang = an_lang_detect(path, d, n);
    if (an_excluded(c, path, lang)) {
        an->skipped.excluded++;
        return;
    }
    const struct an_lang *L = lang >= 0 ? &an_langs[lang] : NULL;
    bool minified = an_is_minified(path, L, d, n);
    if (c->default_excludes) {
        if (an_is_lockfile(path) || an_is_generated(d, n)) {
            an->skipped.generated++;
            return;
        }
        if (minified) {
            an->skipped.minified++;
            return;
        }
    }
    struct an_rec *r = an_add_rec(an, path);
    if (!r)
        return;
    r->lang = (int16_t)lang;
    r->status = L ? AN_REC_COUNTED : AN_REC_TEXT;
    r->late = late;
    r->bytes = size;
    struct an_fctx f = {.an = an, .rec = (uint32_t)(an->nrecs - 1)};
    struct an_scan_cfg sc = {.max_line_length = c->max_line_length, .minified = minified};
    struct an_scan_out so;
    an_scan(L, d, n, &sc, &so, an_on_finding, &f);
    an_secrets_scan(an_sec_of(an), path, d, n, an_on_secret, &f);
    an_secrets_path(an->sec, path, an_on_secret, &f);
    r->code = so.code;
    r->comment = so.comment;
    r->blank = so.blank;
    r->complexity = so.complexity;
    r->lines = so.lines;
    memcpy(r->rc, f.rc, sizeof r->rc);
}

static void an_resolve_config(struct sg_an *an)
{
    if (an->config_resolved)
        return;
    an->config_resolved = true;
    for (size_t i = 0; i < an->npending; i++) {
        struct an_pending *p = &an->pending[i];
        an_analyse(an, p->path, p->size, p->data ? p->data : (const unsigned char *)"", p->len,
                   p->truncated, false);
    }
    an_pending_free(an);
}

static bool an_is_root_config(const char *path)
{
    return strcmp(path, ".singularity.yml") == 0;
}

/* Called for every entry (any type) in archive order: git writes entries sorted by path, so once
 * an entry sorts after ".singularity.yml" the configuration is final. */
static void an_saw_path(struct sg_an *an, const char *path)
{
    if (!an->config_resolved && strcmp(path, ".singularity.yml") > 0)
        an_resolve_config(an);
}

static void an_load_repo_config(struct sg_an *an, const unsigned char *d, size_t n)
{
    if (an->config_seen) /* --config given, or a second copy */
        return;
    an->config_seen = true;
    if (an->config_resolved) {
        /* came after other files (not git order): applied at finish where it can be */
        struct an_config fresh;
        an_config_defaults(&fresh);
        an_config_parse(&fresh, ".singularity.yml", d, n);
        if (fresh.max_line_length != an->cfg.max_line_length ||
            fresh.default_excludes != an->cfg.default_excludes)
            an_config_add_error(
                &fresh, ".singularity.yml:1: came after other files in the archive; "
                        "max_line_length and default_excludes apply only to files after it");
        an_config_free(&an->cfg);
        an->cfg = fresh;
        an_secrets_free(an->sec); /* the next file's matcher takes the new secrets settings */
        an->sec = NULL;
        an->config_late = true;
        for (size_t i = 0; i < an->nrecs; i++) /* read without it: re-filtered at finish */
            an->recs[i].late = true;
        return;
    }
    an_config_parse(&an->cfg, ".singularity.yml", d, n);
    an_secrets_free(an->sec);
    an->sec = NULL;
    if (an->late_files && (an->cfg.max_line_length != 120 || !an->cfg.default_excludes))
        an_config_add_error(
            &an->cfg,
            ".singularity.yml:1: %llu files before it did not fit the hold-back buffer; "
            "max_line_length and default_excludes do not apply to them",
            (unsigned long long)an->late_files);
    an_resolve_config(an);
}

enum sg_err an_file_begin(struct sg_an *an, const char *path, uint64_t size)
{
    an_saw_path(an, path);
    if (++an->nentries > an->limits.max_files)
        return an_fail(an, SG_ERR_TOO_LARGE, "more than %llu files (limit max_files)",
                       (unsigned long long)an->limits.max_files);
    free(an->cur_path);
    an->cur_path = strdup(path);
    if (!an->cur_path)
        return an_fail(an, SG_ERR_NOMEM, "out of memory");
    an->cur_size = size;
    an->cur_len = 0;
    an->cur_mode = AN_CUR_READ;
    if (an->config_resolved) {
        /* decisions that need no bytes: skip without reading */
        if (an->cfg.default_excludes && an_is_vendored(path)) {
            an->skipped.vendored++;
            an->cur_mode = AN_CUR_SKIP;
            return SG_OK;
        }
        if (an->cfg.nexclude && an_excluded(&an->cfg, path, -1)) {
            an->skipped.excluded++;
            an->cur_mode = AN_CUR_SKIP;
            return SG_OK;
        }
    } else if (an_is_vendored(path)) {
        /* before the config is known, vendored trees (rare before .singularity.yml) are skipped
         * by default; default_excludes: false cannot bring them back (documented) */
        an->skipped.vendored++;
        an->cur_mode = AN_CUR_SKIP;
        return SG_OK;
    }
    uint64_t want = size;
    if (size > an->limits.max_file_bytes) {
        an->cur_mode = AN_CUR_SNIFF;
        want = AN_SNIFF;
    }
    if (want + 1 > an->fcap) {
        size_t nc = (size_t)want + 1;
        if (nc < 65536)
            nc = 65536;
        unsigned char *nb = realloc(an->fbuf, nc);
        if (!nb)
            return an_fail(an, SG_ERR_NOMEM, "out of memory for a %llu-byte file",
                           (unsigned long long)size);
        an->fbuf = nb;
        an->fcap = nc;
    }
    return SG_OK;
}

void an_file_data(struct sg_an *an, const unsigned char *d, size_t n)
{
    if (an->cur_mode == AN_CUR_SKIP)
        return;
    size_t room = (an->cur_mode == AN_CUR_SNIFF ? AN_SNIFF : an->fcap - 1) - an->cur_len;
    if (n > room)
        n = room;
    memcpy(an->fbuf + an->cur_len, d, n);
    an->cur_len += n;
}

void an_file_end(struct sg_an *an)
{
    if (an->cur_mode == AN_CUR_SKIP)
        return;
    const char *path = an->cur_path;
    bool truncated = an->cur_mode == AN_CUR_SNIFF;
    if (!truncated && an_is_root_config(path)) {
        an_load_repo_config(an, an->fbuf, an->cur_len);
    }
    if (!an->config_resolved) {
        if (an->pending_bytes + an->cur_len <= AN_PENDING_MAX && an->npending < 100000) {
            struct an_pending *np = realloc(an->pending, (an->npending + 1) * sizeof *np);
            unsigned char *copy = malloc(an->cur_len ? an->cur_len : 1);
            char *pcopy = strdup(path);
            if (np)
                an->pending = np;
            if (np && copy && pcopy) {
                memcpy(copy, an->fbuf, an->cur_len);
                an->pending[an->npending++] = (struct an_pending){.path = pcopy,
                                                                  .data = copy,
                                                                  .len = an->cur_len,
                                                                  .size = an->cur_size,
                                                                  .truncated = truncated};
                an->pending_bytes += an->cur_len;
                return;
            }
            free(copy);
            free(pcopy);
        }
        an->late_files++;
        an_analyse(an, path, an->cur_size, an->fbuf, an->cur_len, truncated, true);
        return;
    }
    an_analyse(an, path, an->cur_size, an->fbuf, an->cur_len, truncated, false);
}

void an_file_unsafe(struct sg_an *an, const char *path)
{
    if (path)
        an_saw_path(an, path);
    an->skipped.unsafe++;
}

/* ------------------------------------------------------------------ tar */

static uint64_t an_octal(const unsigned char *p, size_t n, bool *ok)
{
    /* base-256 (GNU) for sizes over 8 GiB: high bit of the first byte set */
    if (p[0] & 0x80) {
        uint64_t v = p[0] & 0x7f;
        for (size_t i = 1; i < n; i++) {
            if (v >> 55) {
                *ok = false;
                return 0;
            }
            v = (v << 8) | p[i];
        }
        return v;
    }
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\0'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (v >> 60) {
            *ok = false;
            return 0;
        }
        v = v * 8 + (uint64_t)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ' && p[i] != '\0')
            *ok = false;
    return v;
}

/* A path is safe when it is relative and has no ".." component. Returns the repository path
 * (one top folder removed) in out, or false. */
static bool an_clean_path(const char *raw, char *out, size_t outlen)
{
    if (raw[0] == '/' || raw[0] == '\0')
        return false;
    /* drop the top folder: everything up to the first '/' (GitHub's "owner-repo-sha/") */
    const char *s = strchr(raw, '/');
    s = s ? s + 1 : raw;
    while (s[0] == '.' && s[1] == '/')
        s += 2;
    size_t n = strlen(s);
    while (n && s[n - 1] == '/')
        n--;
    if (n == 0 || n >= outlen)
        return n == 0 ? (out[0] = '\0', true) : false;
    memcpy(out, s, n);
    out[n] = '\0';
    for (const char *c = out; *c;) {
        const char *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == 2 && c[0] == '.' && c[1] == '.')
            return false;
        if (l == 0) /* "a//b" */
            return false;
        c += l + (e ? 1 : 0);
    }
    return true;
}

static void an_pax_parse(struct sg_an *an, const unsigned char *d, size_t n, bool global)
{
    /* records: "%d %s=%s\n" */
    size_t i = 0;
    while (i < n) {
        size_t j = i, len = 0;
        while (j < n && d[j] >= '0' && d[j] <= '9' && len < n)
            len = len * 10 + (size_t)(d[j++] - '0');
        if (j >= n || d[j] != ' ' || len == 0 || len > n - i)
            return;
        const unsigned char *rec = d + j + 1, *end = d + i + len;
        if (end[-1] != '\n')
            return;
        const unsigned char *eq = memchr(rec, '=', (size_t)(end - rec));
        if (eq) {
            size_t kl = (size_t)(eq - rec), vl = (size_t)(end - 1 - (eq + 1));
            if (!global && kl == 4 && memcmp(rec, "path", 4) == 0) {
                free(an->pax_path);
                an->pax_path = strndup((const char *)eq + 1, vl);
                if (an->pax_path && strlen(an->pax_path) != vl) { /* NUL inside the path */
                    free(an->pax_path);
                    an->pax_path = strdup("/");
                }
            } else if (!global && kl == 4 && memcmp(rec, "size", 4) == 0) {
                char tmp[32];
                if (vl < sizeof tmp) {
                    memcpy(tmp, eq + 1, vl);
                    tmp[vl] = '\0';
                    int64_t v;
                    if (sg_parse_i64(tmp, 0, INT64_MAX, &v)) {
                        an->pax_size = (uint64_t)v;
                        an->pax_has_size = true;
                    }
                }
            }
        }
        i += len;
    }
}

static enum sg_err an_tar_header(struct sg_an *an, const unsigned char *h)
{
    bool zero = true;
    for (int i = 0; i < 512 && zero; i++)
        zero = h[i] == 0;
    if (zero) {
        an->tar_zero_blocks++;
        if (an->tar_zero_blocks >= 2)
            an->tar_state = AN_TAR_END;
        return SG_OK;
    }
    an->tar_zero_blocks = 0;
    /* checksum: sum of header bytes with the checksum field as spaces */
    unsigned long sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    bool ok = true;
    uint64_t want = an_octal(h + 148, 8, &ok);
    if (!ok || want != sum)
        return an_fail(an, SG_ERR_PARSE,
                       "not a tar archive or corrupt tar header (checksum mismatch at byte %llu)",
                       (unsigned long long)an->tar_offset);
    ok = true;
    uint64_t size = an_octal(h + 124, 12, &ok);
    if (!ok)
        return an_fail(an, SG_ERR_PARSE, "corrupt tar header: bad size field at byte %llu",
                       (unsigned long long)an->tar_offset);
    char type = (char)h[156];
    if (an->pax_has_size && type != 'x' && type != 'g' && type != 'L' && type != 'K') {
        size = an->pax_size;
    }
    an->entry_size = size;
    an->entry_left = size;
    an->entry_pad = (512 - size % 512) % 512;
    an->tar_state = AN_TAR_DATA;

    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (size > AN_META_MAX)
            return an_fail(an, SG_ERR_TOO_LARGE, "tar metadata entry of %llu bytes (limit %d)",
                           (unsigned long long)size, AN_META_MAX);
        an->entry_kind = type == 'x'   ? AN_ENT_PAX
                         : type == 'g' ? AN_ENT_PAXG
                         : type == 'L' ? AN_ENT_LONG
                                       : AN_ENT_SKIP;
        an->meta_len = 0;
        if (size + 1 > an->meta_cap) {
            unsigned char *nm = realloc(an->meta, (size_t)size + 1);
            if (!nm)
                return an_fail(an, SG_ERR_NOMEM, "out of memory");
            an->meta = nm;
            an->meta_cap = (size_t)size + 1;
        }
        goto maybe_done;
    }

    /* the entry's name: GNU long name, else pax path, else ustar prefix + name */
    char raw[8192];
    if (an->long_name) {
        snprintf(raw, sizeof raw, "%s", an->long_name);
    } else if (an->pax_path) {
        snprintf(raw, sizeof raw, "%s", an->pax_path);
    } else {
        char name[101], prefix[156];
        memcpy(name, h, 100);
        name[100] = '\0';
        prefix[0] = '\0';
        if (memcmp(h + 257, "ustar", 5) == 0 && h[345]) {
            memcpy(prefix, h + 345, 155);
            prefix[155] = '\0';
        }
        if (prefix[0])
            snprintf(raw, sizeof raw, "%s/%s", prefix, name);
        else
            snprintf(raw, sizeof raw, "%s", name);
    }
    bool long_too = (an->long_name && strlen(an->long_name) >= sizeof raw) ||
                    (an->pax_path && strlen(an->pax_path) >= sizeof raw);
    free(an->long_name);
    an->long_name = NULL;
    free(an->pax_path);
    an->pax_path = NULL;
    an->pax_has_size = false;

    char path[8192];
    bool safe = !long_too && an_clean_path(raw, path, sizeof path) &&
                strlen(path) <= an->limits.max_path_len;
    an->entry_kind = AN_ENT_SKIP;
    if (type == '0' || type == '\0' || type == '7') {
        if (!safe) {
            an_file_unsafe(an, NULL);
        } else if (path[0] == '\0' || strcmp(raw, "pax_global_header") == 0) {
            /* the top folder itself or a stray global header name */
        } else {
            enum sg_err e = an_file_begin(an, path, size);
            if (e)
                return e;
            an->entry_kind = AN_ENT_FILE;
        }
    } else if (type == '5') {
        if (safe && path[0])
            an_saw_path(an, path);
    } else {
        /* links, devices, FIFOs, sparse and unknown types are never read */
        an_file_unsafe(an, safe ? path : NULL);
    }
maybe_done:
    if (an->entry_left == 0) {
        /* empty entry: finish it now */
        if (an->entry_kind == AN_ENT_FILE)
            an_file_end(an);
        else if (an->entry_kind == AN_ENT_LONG) {
            free(an->long_name);
            an->long_name = strdup("");
        }
        an->tar_state = AN_TAR_HDR;
    }
    return SG_OK;
}

static void an_entry_done(struct sg_an *an)
{
    switch (an->entry_kind) {
    case AN_ENT_FILE:
        an_file_end(an);
        break;
    case AN_ENT_PAX:
    case AN_ENT_PAXG:
        an_pax_parse(an, an->meta, an->meta_len, an->entry_kind == AN_ENT_PAXG);
        break;
    case AN_ENT_LONG: {
        size_t n = strnlen((const char *)an->meta, an->meta_len);
        free(an->long_name);
        an->long_name = strndup((const char *)an->meta, n);
        break;
    }
    default:
        break;
    }
}

/* Consumes uncompressed tar bytes. */
static enum sg_err an_tar_feed(struct sg_an *an, const unsigned char *d, size_t n)
{
    while (n > 0) {
        switch (an->tar_state) {
        case AN_TAR_END:
            return SG_OK; /* padding after the end-of-archive blocks */
        case AN_TAR_HDR: {
            size_t take = 512 - an->hdr_len;
            if (take > n)
                take = n;
            memcpy(an->hdr + an->hdr_len, d, take);
            an->hdr_len += take;
            d += take, n -= take;
            an->tar_offset += take;
            if (an->hdr_len == 512) {
                an->hdr_len = 0;
                enum sg_err e = an_tar_header(an, an->hdr);
                if (e)
                    return e;
            }
            break;
        }
        case AN_TAR_DATA: {
            size_t take = an->entry_left < n ? (size_t)an->entry_left : n;
            if (an->entry_kind == AN_ENT_FILE) {
                an_file_data(an, d, take);
            } else if (an->entry_kind == AN_ENT_PAX || an->entry_kind == AN_ENT_PAXG ||
                       an->entry_kind == AN_ENT_LONG) {
                memcpy(an->meta + an->meta_len, d, take);
                an->meta_len += take;
            }
            d += take, n -= take;
            an->tar_offset += take;
            an->entry_left -= take;
            if (an->entry_left == 0) {
                an_entry_done(an);
                if (an->err)
                    return an->err;
                an->tar_state = an->entry_pad ? AN_TAR_PAD : AN_TAR_HDR;
            }
            break;
        }
        case AN_TAR_PAD: {
            size_t take = an->entry_pad < n ? (size_t)an->entry_pad : n;
            d += take, n -= take;
            an->tar_offset += take;
            an->entry_pad -= take;
            if (an->entry_pad == 0)
                an->tar_state = AN_TAR_HDR;
            break;
        }
        }
    }
    return SG_OK;
}

/* ------------------------------------------------------------------ gzip */

void an_inflate_end(struct sg_an *an)
{
#ifndef SG_HAVE_ISAL
    if (an->z_init)
        inflateEnd(&an->zs);
#endif
    an->z_init = false;
}

static enum sg_err an_out(struct sg_an *an, size_t produced)
{
    an->total_out += produced;
    if (an->total_out > an->limits.max_total_bytes)
        return an_fail(
            an, SG_ERR_TOO_LARGE,
            "archive expands to more than %llu bytes (limit max_total_bytes; a gzip bomb?)",
            (unsigned long long)an->limits.max_total_bytes);
    return an_tar_feed(an, an->outbuf, produced);
}

static enum sg_err an_inflate_init(struct sg_an *an)
{
#ifdef SG_HAVE_ISAL
    isal_inflate_init(&an->zs);
    an->zs.crc_flag = ISAL_GZIP;
#else
    memset(&an->zs, 0, sizeof an->zs);
    if (inflateInit2(&an->zs, 16 + 15) != Z_OK)
        return an_fail(an, SG_ERR_NOMEM, "zlib init failed");
#endif
    an->z_init = true;
    return SG_OK;
}

/* Inflates from in until it is used up or the gzip member ends; *used says how much was taken. */
static enum sg_err an_inflate_some(struct sg_an *an, const unsigned char *in, size_t len,
                                   size_t *used)
{
#ifdef SG_HAVE_ISAL
    an->zs.next_in = (uint8_t *)(uintptr_t)in;
    an->zs.avail_in = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    size_t given = an->zs.avail_in;
    for (;;) {
        an->zs.next_out = an->outbuf;
        an->zs.avail_out = AN_OUTBUF;
        int ret = isal_inflate(&an->zs);
        size_t produced = AN_OUTBUF - an->zs.avail_out;
        if (ret < 0)
            return an_fail(an, SG_ERR_PARSE,
                           "corrupt gzip stream (igzip error %d near compressed byte %llu)", ret,
                           (unsigned long long)(an->total_in - len + (given - an->zs.avail_in)));
        if (produced) {
            enum sg_err e = an_out(an, produced);
            if (e)
                return e;
        }
        if (an->zs.block_state == ISAL_BLOCK_FINISH) {
            an->gz_done = true;
            an->gz_members++;
            break;
        }
        if (an->zs.avail_in == 0 && produced < AN_OUTBUF)
            break;
    }
    *used = given - an->zs.avail_in;
#else
    an->zs.next_in = (Bytef *)(uintptr_t)in;
    an->zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    size_t given = an->zs.avail_in;
    for (;;) {
        an->zs.next_out = an->outbuf;
        an->zs.avail_out = AN_OUTBUF;
        int ret = inflate(&an->zs, Z_NO_FLUSH);
        size_t produced = AN_OUTBUF - an->zs.avail_out;
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
            return an_fail(an, SG_ERR_PARSE, "corrupt gzip stream (%s)",
                           an->zs.msg ? an->zs.msg : "zlib error");
        if (produced) {
            enum sg_err e = an_out(an, produced);
            if (e)
                return e;
        }
        if (ret == Z_STREAM_END) {
            an->gz_done = true;
            an->gz_members++;
            break;
        }
        if (an->zs.avail_in == 0 && produced < AN_OUTBUF)
            break;
        if (ret == Z_BUF_ERROR && produced == 0)
            break;
    }
    *used = given - an->zs.avail_in;
#endif
    return SG_OK;
}

enum sg_err sg_an_feed(struct sg_an *an, const void *data, size_t len)
{
    if (!an)
        return SG_ERR_INVALID;
    if (an->err)
        return an->err;
    if (an->finished)
        return an_fail(an, SG_ERR_INVALID, "sg_an_feed after sg_an_finish");
    const unsigned char *in = data;
    an->total_in += len;
    while (len > 0) {
        enum sg_err e;
        if (an->gz_done) {
            /* after the gzip trailer: another member (concatenated gzip) or padding zeros */
            if (in[0] == 0) {
                in++, len--;
                continue;
            }
            an->gz_done = false;
            an_inflate_end(an);
        }
        if (!an->z_init) {
            if (an->magic_len < 2) {
                /* the first two bytes must be gzip's magic; checked before inflating anything */
                size_t take = 2 - an->magic_len < len ? 2 - an->magic_len : len;
                memcpy(an->magic + an->magic_len, in, take);
                an->magic_len += (unsigned)take;
                in += take, len -= take;
                if (an->magic_len < 2)
                    return SG_OK;
                if (an->magic[0] != 0x1f || an->magic[1] != 0x8b)
                    return an_fail(an, SG_ERR_PARSE,
                                   "not a gzip stream (the input does not start with 1f 8b)");
                if ((e = an_inflate_init(an)))
                    return e;
                size_t used = 0;
                if ((e = an_inflate_some(an, an->magic, 2, &used)))
                    return e;
                continue;
            }
            if ((e = an_inflate_init(an)))
                return e;
        }
        size_t used = 0;
        if ((e = an_inflate_some(an, in, len, &used)))
            return e;
        in += used;
        len -= used;
        if (!an->gz_done && used == 0)
            break;
    }
    return SG_OK;
}

/* ------------------------------------------------------------------ finish */

enum sg_err sg_an_finish(struct sg_an *an, struct sg_an_result **out)
{
    *out = NULL;
    if (!an)
        return SG_ERR_INVALID;
    if (an->err)
        return an->err;
    if (!an->dir_mode) {
        if (an->total_in == 0)
            return an_fail(an, SG_ERR_PARSE, "empty input: no gzip stream");
        if (!an->gz_done || an->gz_members == 0)
            return an_fail(an, SG_ERR_PARSE,
                           "truncated gzip stream: input ended after %llu compressed bytes without "
                           "the gzip trailer",
                           (unsigned long long)an->total_in);
        if (an->tar_state == AN_TAR_DATA || an->tar_state == AN_TAR_PAD || an->hdr_len != 0)
            return an_fail(
                an, SG_ERR_PARSE, "truncated tar stream: it ends inside %s%s%s",
                an->tar_state == AN_TAR_DATA && an->entry_kind == AN_ENT_FILE ? "\"" : "",
                an->tar_state == AN_TAR_DATA && an->entry_kind == AN_ENT_FILE ? an->cur_path
                                                                              : "an entry",
                an->tar_state == AN_TAR_DATA && an->entry_kind == AN_ENT_FILE ? "\"" : "");
    }
    an->finished = true;
    an_resolve_config(an);
    return an_build_result(an, out);
}

/* ------------------------------------------------------------------ whole inputs */

enum sg_err sg_an_analyze_tar_gz_file(const char *path, const struct sg_an_options *opts,
                                      struct sg_an_result **out, char *err, size_t errlen)
{
    enum sg_err e = SG_OK;
    unsigned char *buf = NULL;
    struct sg_an *an = NULL;
    int fd = -1;
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        e = SG_ERR_IO;
        goto out;
    }
    an = sg_an_new(opts);
    buf = malloc(256 * 1024);
    if (!an || !buf) {
        snprintf(err, errlen, "out of memory");
        e = SG_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, 256 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
            e = SG_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        e = sg_an_feed(an, buf, (size_t)n);
        if (e) {
            snprintf(err, errlen, "%s: %s", path, sg_an_error(an));
            goto out;
        }
    }
    e = sg_an_finish(an, out);
    if (e)
        snprintf(err, errlen, "%s: %s", path, sg_an_error(an));
out:
    if (fd > 0)
        close(fd);
    free(buf);
    sg_an_free(an);
    return e;
}
