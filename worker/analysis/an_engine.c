/* Why: the session that turns a stream of compressed bytes (or a directory's files, an_dir.c)
 * into an analysis without touching the disk: it ties the inflater (an_inflate.c) to the tar
 * parser (an_tar.c), runs each regular file through the per-file pipeline (classification,
 * language, one scan pass, secrets) and hands the figures to the running totals (an_result.c).
 * It also owns the time budget: the deadline is checked per inflated chunk, per file and inside
 * long scans.
 *
 * Memory is bounded: one file buffer (at most limits.max_file_bytes), a fixed inflate window and
 * output buffer, the hold-back buffer below, and the totals' own bound (an_result.h).
 *
 * .singularity.yml may arrive after other files (git archive order puts `.github/...` before it).
 * Files are therefore held back (up to AN_PENDING_MAX bytes) until the configuration is known:
 * when the root .singularity.yml has been read, or when an entry sorts after ".singularity.yml"
 * (git writes entries in path order, so the file cannot come later), or at the end. A file that
 * does not fit in the hold-back buffer is analysed with the defaults and filtered again once the
 * configuration is read (excludes, languages, rules, severities and file-level thresholds are
 * re-applied; only max_line_length and default_excludes cannot be, and config_errors says so). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "an_classify.h"
#include "an_engine.h"
#include "an_secrets.h"
#include "sg_time.h"

#define AN_SNIFF             8192
#define AN_PENDING_MAX       (16u * 1024 * 1024)
#define AN_PENDING_MAX_FILES 100000

void an_limits_default(struct an_limits *l)
{
    l->max_file_bytes = 16u * 1024 * 1024;
    l->max_total_bytes = 8ull * 1024 * 1024 * 1024;
    l->max_files = 1000000;
    l->max_path_len = 4096;
    l->max_findings = 1000;
    l->max_total_findings = 2000000; /* the Linux kernel has about 1 million */
}

static void an_fill_limits(struct an_limits *l, const struct an_limits *in)
{
    an_limits_default(l);
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
    if (in->max_total_findings)
        l->max_total_findings = in->max_total_findings;
}

static enum sg_err an_fail(struct an_session *an, enum sg_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum sg_err an_fail(struct an_session *an, enum sg_err e, const char *fmt, ...)
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

/* A part (inflater, tar parser) failed with its message already in errmsg. */
static enum sg_err an_part_failed(struct an_session *an, enum sg_err e)
{
    if (e && !an->err)
        an->err = e;
    return an->err ? an->err : e;
}

const char *an_error(const struct an_session *an)
{
    return an ? an->errmsg : "";
}

enum sg_err an_check_deadline(struct an_session *an)
{
    if (an->err)
        return an->err;
    if (an->deadline_ms && sg_mono_ms() >= an->deadline_ms)
        return an_fail(an, SG_ERR_TIMEOUT,
                       "analysis time budget exceeded (stopped after %llu files)",
                       (unsigned long long)an->nentries);
    return SG_OK;
}

/* ------------------------------------------------------------------ session */

static enum sg_err an_sink_begin(void *ctx, const char *path, uint64_t size)
{
    return an_file_begin(ctx, path, size);
}

static void an_sink_data(void *ctx, const unsigned char *d, size_t n)
{
    an_file_data(ctx, d, n);
}

static enum sg_err an_sink_end(void *ctx)
{
    return an_file_end(ctx);
}

static void an_saw_path(struct an_session *an, const char *path);

static void an_sink_other(void *ctx, const char *path, bool unsafe)
{
    if (unsafe)
        an_file_unsafe(ctx, path);
    else
        an_saw_path(ctx, path);
}

static const struct an_tar_sink an_sink = {an_sink_begin, an_sink_data, an_sink_end, an_sink_other};

struct an_session *an_new(const struct an_options *opts)
{
    struct an_session *an = calloc(1, sizeof *an);
    if (!an)
        return NULL;
    an_fill_limits(&an->limits, opts ? &opts->limits : NULL);
    an_config_defaults(&an->cfg);
    an->deadline_ms = opts ? opts->deadline_ms : 0;
    an->progress = opts ? opts->progress : NULL;
    an->progress_ctx = opts ? opts->progress_ctx : NULL;
    an_tar_init(&an->tar, an->limits.max_path_len, &an_sink, an, an->errmsg, sizeof an->errmsg);
    an->tally = an_tally_new(an->limits.max_findings, an->limits.max_total_findings);
    if (an->tally && opts)
        an_tally_on_file(an->tally, opts->on_file, opts->on_file_ctx);
    if (!an->tally || an_gz_init(&an->gz) != SG_OK ||
        (opts && an_tally_set_renames(an->tally, opts->renames, opts->nrenames) != SG_OK)) {
        an_free(an);
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

static void an_pending_free(struct an_session *an)
{
    for (size_t i = 0; i < an->npending; i++) {
        free(an->pending[i].path);
        free(an->pending[i].data);
    }
    free(an->pending);
    an->pending = NULL;
    an->npending = an->cap_pending = an->pending_bytes = 0;
}

void an_free(struct an_session *an)
{
    if (!an)
        return;
    an_gz_free(&an->gz);
    an_tar_free(&an->tar);
    an_pending_free(an);
    an_tally_free(an->tally);
    free(an->cur_path);
    free(an->fbuf);
    an_config_free(&an->cfg);
    an_secrets_free(an->sec);
    free(an);
}

/* ------------------------------------------------------------------ per-file pipeline */

/* The session's secret matcher, built from the configuration known when it is first needed. */
static struct an_secrets *an_sec_of(struct an_session *an)
{
    /* a benchmark's build (SG_BENCH_NO_SECRETS): what the engine costs without the secret rules */
#ifdef AN_BENCH_NO_SECRETS
    return NULL;
#endif
    if (!an->sec) {
        char err[256];
        if (!(an->sec = an_secrets_new(&an->cfg, err, sizeof err)))
            an_config_add_error(&an->cfg, "%s", err);
    }
    return an->sec;
}

/* A secret: the finding, with the gitleaks rule and at most 4 characters for its message. */
static void an_on_secret(void *ctx, const struct an_secret_hit *h)
{
    an_tally_secret(ctx, h->sec, h->line, h->rule, h->hint);
}

/* The whole pipeline for one regular file whose bytes (or first AN_SNIFF bytes when it is larger
 * than max_file_bytes) are in d. provisional: the configuration may still change. */
static enum sg_err an_analyse(struct an_session *an, const char *path, uint64_t size,
                              const unsigned char *d, size_t n, bool truncated, bool provisional)
{
    const struct an_config *c = &an->cfg;
    struct an_file_stats fs = {.lang = -1, .bytes = size};
    if (memchr(d, 0, n)) {
        an->skipped.binary++;
        bool keyfile = an_secrets_path(an_sec_of(an), path, NULL, NULL); /* a .p12 file */
        if (size <= 1024 * 1024 && !keyfile)
            return SG_OK;
        fs.status = AN_REC_BINARY;
        an_tally_file_begin(an->tally, path, d, n, provisional);
        if (size > 1024 * 1024)
            an_tally_finding(an->tally, AN_BIN001, 1,
                             (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size));
        an_secrets_path(an->sec, path, an_on_secret, an->tally);
    } else {
        if (truncated) {
            an->skipped.too_large++;
            return SG_OK;
        }
        int lang = -1;
        for (size_t i = 0; i < c->nlang_globs && lang < 0; i++)
            if (an_glob_match(c->lang_globs[i], path))
                lang = c->lang_of_glob[i];
        if (lang < 0)
            lang = an_lang_detect(path, d, n);
        if (an_excluded(c, path, lang)) {
            an->skipped.excluded++;
            return SG_OK;
        }
        const struct an_lang *L = lang >= 0 ? &an_langs[lang] : NULL;
        bool minified = an_is_minified(path, L, d, n);
        if (c->default_excludes) {
            if (an_is_lockfile(path) || an_is_generated_name(path) || an_is_generated(d, n)) {
                an->skipped.generated++;
                return SG_OK;
            }
            if (minified) {
                an->skipped.minified++;
                return SG_OK;
            }
        }
        an_tally_file_begin(an->tally, path, d, n, provisional);
        struct an_scan_cfg sc = {.hint = an_tally_line_hint(an->tally),
                                 .max_line_length = c->max_line_length,
                                 .minified = minified,
                                 .deadline_ms = an->deadline_ms};
        struct an_scan_out so;
        an_scan(L, d, n, &sc, &so, an_tally_finding, an->tally);
        if (so.timed_out ||
            !an_secrets_scan(an_sec_of(an), path, d, n, an->deadline_ms, an_on_secret, an->tally))
            return an_check_deadline(an);
        an_secrets_path(an->sec, path, an_on_secret, an->tally);
        fs.lang = lang;
        fs.status = L ? AN_REC_COUNTED : AN_REC_TEXT;
        fs.code = so.code;
        fs.comment = so.comment;
        fs.blank = so.blank;
        fs.complexity = so.complexity;
        fs.lines = so.lines;
    }
    enum sg_err e = an_tally_file_end(an->tally, &fs, c);
    if (e == SG_ERR_TOO_LARGE)
        return an_fail(an, e, "more than %llu findings (limit max_total_findings)",
                       (unsigned long long)an->limits.max_total_findings);
    if (e != SG_OK)
        return an_fail(an, SG_ERR_NOMEM, "out of memory");
    return SG_OK;
}

static enum sg_err an_resolve_config(struct an_session *an)
{
    if (an->config_resolved)
        return SG_OK;
    an->config_resolved = true;
    enum sg_err e = SG_OK;
    for (size_t i = 0; i < an->npending && !e; i++) {
        struct an_pending *p = &an->pending[i];
        e = an_check_deadline(an);
        if (!e)
            e = an_analyse(an, p->path, p->size, p->data ? p->data : (const unsigned char *)"",
                           p->len, p->truncated, !an->config_seen);
    }
    an_pending_free(an);
    return e;
}

static bool an_is_root_config(const char *path)
{
    return strcmp(path, ".singularity.yml") == 0;
}

/* Called for every entry (any type) in archive order: git writes entries sorted by path, so once
 * an entry sorts after ".singularity.yml" the configuration is final. */
static void an_saw_path(struct an_session *an, const char *path)
{
    if (!an->config_resolved && strcmp(path, ".singularity.yml") > 0)
        an_resolve_config(an);
}

/* Files counted before the configuration was read, without the settings it brings. */
static void an_note_unfiltered(struct an_session *an, struct an_config *c)
{
    struct an_config d;
    an_config_defaults(&d);
    uint64_t n = an_tally_unfiltered(an->tally);
    if (n && (c->nexclude || c->nlanguages || c->max_file_lines != d.max_file_lines ||
              c->max_file_complexity != d.max_file_complexity))
        an_config_add_error(c,
                            ".singularity.yml:1: %llu files before it were counted before it was "
                            "read; exclude, languages, max_file_lines and max_file_complexity do "
                            "not apply to them",
                            (unsigned long long)n);
    an_config_free(&d);
}

static enum sg_err an_load_repo_config(struct an_session *an, const unsigned char *d, size_t n)
{
    if (an->config_seen) /* --config given, or a second copy */
        return SG_OK;
    an->config_seen = true;
    if (an->config_resolved) {
        /* came after other files (not git order): applied to them where it can be */
        struct an_config fresh;
        an_config_defaults(&fresh);
        an_config_parse(&fresh, ".singularity.yml", d, n);
        if (fresh.max_line_length != an->cfg.max_line_length ||
            fresh.default_excludes != an->cfg.default_excludes)
            an_config_add_error(
                &fresh, ".singularity.yml:1: came after other files in the archive; "
                        "max_line_length and default_excludes apply only to files after it");
        an_note_unfiltered(an, &fresh);
        an_config_free(&an->cfg);
        an->cfg = fresh;
        an_secrets_free(an->sec); /* the next file's matcher takes the new secrets settings */
        an->sec = NULL;
        an_tally_settle(an->tally, &an->cfg); /* files read without it */
        return SG_OK;
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
    an_note_unfiltered(an, &an->cfg);
    an_tally_settle(an->tally, &an->cfg);
    return an_resolve_config(an);
}

enum sg_err an_file_begin(struct an_session *an, const char *path, uint64_t size)
{
    an_saw_path(an, path);
    if (an_check_deadline(an))
        return an->err;
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

void an_file_data(struct an_session *an, const unsigned char *d, size_t n)
{
    if (an->cur_mode == AN_CUR_SKIP)
        return;
    size_t room = (an->cur_mode == AN_CUR_SNIFF ? AN_SNIFF : an->fcap - 1) - an->cur_len;
    if (n > room)
        n = room;
    memcpy(an->fbuf + an->cur_len, d, n);
    an->cur_len += n;
}

enum sg_err an_file_end(struct an_session *an)
{
    if (an->err)
        return an->err;
    if (an->cur_mode == AN_CUR_SKIP)
        return SG_OK;
    const char *path = an->cur_path;
    bool truncated = an->cur_mode == AN_CUR_SNIFF;
    if (!truncated && an_is_root_config(path)) {
        enum sg_err e = an_load_repo_config(an, an->fbuf, an->cur_len);
        if (e)
            return e;
    }
    if (!an->config_resolved) {
        /* what holding it back costs: its bytes, its path and the bookkeeping around them */
        size_t cost = an->cur_len + strlen(path) + 1 + sizeof(struct an_pending) + 64;
        if (an->pending_bytes + cost <= AN_PENDING_MAX && an->npending < AN_PENDING_MAX_FILES) {
            if (an->npending == an->cap_pending) {
                size_t nc = an->cap_pending ? an->cap_pending * 2 : 64;
                struct an_pending *np = realloc(an->pending, nc * sizeof *np);
                if (np)
                    an->pending = np, an->cap_pending = nc;
            }
            unsigned char *copy = an->cur_len ? malloc(an->cur_len) : NULL;
            char *pcopy = strdup(path);
            if (an->npending < an->cap_pending && (copy || !an->cur_len) && pcopy) {
                if (an->cur_len)
                    memcpy(copy, an->fbuf, an->cur_len);
                an->pending[an->npending++] = (struct an_pending){.path = pcopy,
                                                                  .data = copy,
                                                                  .len = an->cur_len,
                                                                  .size = an->cur_size,
                                                                  .truncated = truncated};
                an->pending_bytes += cost;
                return SG_OK;
            }
            free(copy);
            free(pcopy);
        }
        an->late_files++;
    }
    return an_analyse(an, path, an->cur_size, an->fbuf, an->cur_len, truncated, !an->config_seen);
}

void an_file_unsafe(struct an_session *an, const char *path)
{
    if (path)
        an_saw_path(an, path);
    an->skipped.unsafe++;
}

/* ------------------------------------------------------------------ stream */

/* Inflated bytes: the gzip bomb guard and the time budget, then the tar parser. */
static enum sg_err an_out(void *ctx, const unsigned char *d, size_t n)
{
    struct an_session *an = ctx;
    an->total_out += n;
    if (an->total_out > an->limits.max_total_bytes)
        return an_fail(
            an, SG_ERR_TOO_LARGE,
            "archive expands to more than %llu bytes (limit max_total_bytes; a gzip bomb?)",
            (unsigned long long)an->limits.max_total_bytes);
    if (an_check_deadline(an))
        return an->err;
    return an_part_failed(an, an_tar_feed(&an->tar, d, n));
}

enum sg_err an_feed(struct an_session *an, const void *data, size_t len)
{
    if (!an)
        return SG_ERR_INVALID;
    if (an->err)
        return an->err;
    if (an->finished)
        return an_fail(an, SG_ERR_INVALID, "an_feed after an_finish");
    if (an_check_deadline(an))
        return an->err;
    return an_part_failed(
        an, an_gz_feed(&an->gz, data, len, an_out, an, an->errmsg, sizeof an->errmsg));
}

enum sg_err an_finish(struct an_session *an, struct an_result **out)
{
    *out = NULL;
    if (!an)
        return SG_ERR_INVALID;
    if (an->err)
        return an->err;
    if (an_check_deadline(an))
        return an->err;
    if (!an->dir_mode) {
        enum sg_err e = an_gz_finish(&an->gz, an->errmsg, sizeof an->errmsg);
        if (!e)
            e = an_tar_finish(&an->tar, an->cur_path);
        if (e)
            return an_part_failed(an, e);
    }
    an->finished = true;
    if (an_resolve_config(an))
        return an->err;
    if (an_tally_result(an->tally, &an->cfg, &an->skipped, out) != SG_OK)
        return an_fail(an, SG_ERR_NOMEM, "out of memory");
    return SG_OK;
}

/* ------------------------------------------------------------------ whole inputs */

enum sg_err an_analyze_tar_gz_file(const char *path, const struct an_options *opts,
                                   struct an_result **out, char *err, size_t errlen)
{
    enum sg_err e = SG_OK;
    unsigned char *buf = NULL;
    struct an_session *an = NULL;
    int fd = -1;
    uint64_t read_total = 0;
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        e = SG_ERR_IO;
        goto out;
    }
    an = an_new(opts);
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
        e = an_feed(an, buf, (size_t)n);
        read_total += (uint64_t)n;
        if (an->progress)
            an->progress(an->progress_ctx, read_total, an->nentries);
        if (e) {
            snprintf(err, errlen, "%s: %s", path, an_error(an));
            goto out;
        }
    }
    e = an_finish(an, out);
    if (e)
        snprintf(err, errlen, "%s: %s", path, an_error(an));
out:
    if (fd > 0)
        close(fd);
    free(buf);
    an_free(an);
    return e;
}
