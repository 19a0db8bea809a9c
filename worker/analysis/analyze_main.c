/* Why: singularity-analyze runs the worker's analysis engine on a directory, a .tar.gz file or a
 * tar.gz on stdin, so a developer sees locally exactly what the check run will say; with --base it
 * judges the change against a base (a tree, an archive or an earlier --format json result), which
 * makes it a pull-request gate in any CI (DESIGN.md section 9).
 * Exit status: 0 gate passed, 1 gate failed, 2 error (bad usage, unreadable or corrupt input). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "an_analysis.h"
#include "sg_time.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: singularity-analyze PATH|FILE.tar.gz|- [--base BASE] [--format table|json|sarif]\n"
        "       [--config FILE] [--timeout SECONDS] [--files FILE]\n"
        "\n"
        "Analyses a directory, a .tar.gz (GitHub's tarball layout: the top folder is removed from\n"
        "paths) or, with '-', a .tar.gz read from standard input. Prints languages, code/comment/\n"
        "blank lines, complexity, findings and the quality score.\n"
        "\n"
        "  --format table   a readable table (default)\n"
        "  --format json    one JSON object (the worker's stored format)\n"
        "  --format sarif   SARIF 2.1.0 for GitHub code scanning\n"
        "  --base BASE      judge the change against BASE: a directory, a .tar.gz or a file\n"
        "                   printed earlier by --format json; the gate of .singularity.yml\n"
        "                   (gate.scope, gate.fail_on, gate.max_score_drop) decides\n"
        "  --rename OLD NEW the file OLD of the base is NEW here (git diff -M): its findings\n"
        "                   keep their identity; repeatable\n"
        "  --config FILE    use FILE instead of the repository's .singularity.yml\n"
        "  --max-file-bytes N, --max-total-bytes N, --max-files N, --max-findings N,\n"
        "  --max-total-findings N\n"
        "                   override the safety limits\n"
        "  --timeout SECONDS  give up after SECONDS (decimals allowed): an error, exit status 2\n"
        "  --files FILE     also write every counted file to FILE, one JSON object a line\n"
        "                   (path, language, kind, lines, code, comment, blank, complexity)\n"
        "  -h, --help       this text\n"
        "\n"
        "Exit status: 0 the quality gate passed, 1 it failed, 2 an error.\n");
}

/* --files: one JSON object per counted file, written as the engine counts it (nothing is kept). */
struct files_out {
    FILE *f;
    struct sg_buf line;
    bool failed;
};

static void write_file_line(void *ctx, const struct an_file *f)
{
    struct files_out *o = ctx;
    struct sg_buf *b = &o->line;
    sg_buf_reset(b);
    enum sg_err e = sg_buf_puts(b, "{\"path\":");
    if (!e)
        e = sg_buf_put_json_str(b, f->path, strlen(f->path));
    if (!e)
        e = sg_buf_printf(b,
                          ",\"language\":\"%s\",\"kind\":\"%s\",\"lines\":%u,\"code\":%llu,"
                          "\"comment\":%llu,\"blank\":%llu,\"complexity\":%llu}\n",
                          f->language, f->kind, f->lines, (unsigned long long)f->counts.code,
                          (unsigned long long)f->counts.comment,
                          (unsigned long long)f->counts.blank,
                          (unsigned long long)f->counts.complexity);
    if (e || fwrite(sg_buf_str(b), 1, b->len, o->f) != b->len)
        o->failed = true;
}

/* Progress on a terminal while a large tree or archive is read: people otherwise cannot tell a
 * slow read from a hang. Drawn at once, redrawn at most ten times a second, erased when done (so a
 * small input leaves nothing behind). */
struct progress {
    const char *what;
    uint64_t size; /* of the archive; 0 for a tree or standard input */
    int64_t start_ms, last_ms;
    bool shown;
};

static void progress_cb(void *ctx, uint64_t bytes, uint64_t files)
{
    struct progress *p = ctx;
    int64_t now = sg_mono_ms();
    if (p->shown && now - p->last_ms < 100)
        return;
    p->last_ms = now;
    p->shown = true;
    double mib = (double)bytes / (1024.0 * 1024.0), s = (double)(now - p->start_ms) / 1000.0;
    if (p->size)
        fprintf(stderr, "\r\033[K%.60s: %.1f of %.1f MiB (%.0f%%), %llu files, %.1f s", p->what,
                mib, (double)p->size / (1024.0 * 1024.0), 100.0 * (double)bytes / (double)p->size,
                (unsigned long long)files, s);
    else
        fprintf(stderr, "\r\033[K%.60s: %.1f MiB, %llu files, %.1f s", p->what, mib,
                (unsigned long long)files, s);
}

/* Reads a whole small file (a JSON base) into memory; NULL with errno set on failure. */
static char *read_all(const char *path, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = 0, sz = 1 << 16;
    char *d = malloc(sz);
    while (d) {
        if (n == sz) {
            char *nd = sz < cap ? realloc(d, sz * 2) : NULL;
            if (!nd) {
                free(d);
                d = NULL;
                errno = sz < cap ? ENOMEM : EFBIG;
                break;
            }
            d = nd, sz *= 2;
        }
        size_t got = fread(d + n, 1, sz - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (d && ferror(f)) {
        free(d);
        d = NULL;
        errno = EIO;
    }
    fclose(f);
    *len = n;
    return d;
}

/* A file that is not gzip (1f 8b) is taken as a --format json result (as a base only). */
static bool is_gzip(const char *path)
{
    unsigned char m[2] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true; /* let the archive reader name the error */
    ssize_t n = read(fd, m, 2);
    close(fd);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* Analyses (or, for a base, reads) one input; 0 on success, else prints why and returns 2. */
static int analyze_input(const char *input, const struct an_options *o, bool as_base,
                         struct an_result **r)
{
    char err[1024] = "";
    enum sg_err e;
    struct stat st;
    const char *label = as_base ? "--base " : "";
    if (strcmp(input, "-") != 0 && stat(input, &st) != 0) {
        fprintf(stderr, "singularity-analyze: %s%s: %s\n", label, input, strerror(errno));
        return 2;
    }
    bool dir = strcmp(input, "-") != 0 && S_ISDIR(st.st_mode);
    if (as_base && !dir && strcmp(input, "-") != 0 && !is_gzip(input)) {
        size_t len = 0;
        char *text = read_all(input, (size_t)1 << 30, &len);
        if (!text) {
            fprintf(stderr, "singularity-analyze: --base %s: %s\n", input, strerror(errno));
            return 2;
        }
        e = an_result_from_json(text, len, r, err, sizeof err);
        free(text);
        if (e != SG_OK) {
            fprintf(stderr, "singularity-analyze: --base %s: %s\n", input,
                    err[0] ? err : sg_err_str(e));
            return 2;
        }
        return 0;
    }
    struct an_options opts = *o;
    if (as_base) /* --files lists the analysed commit's files, not its base's */
        opts.on_file = NULL;
    struct progress p = {.what = input, .start_ms = sg_mono_ms()};
    if (isatty(STDERR_FILENO)) {
        p.size = dir || strcmp(input, "-") == 0 ? 0 : (uint64_t)st.st_size;
        opts.progress = progress_cb;
        opts.progress_ctx = &p;
    }
    if (dir)
        e = an_analyze_dir(input, &opts, r, err, sizeof err);
    else
        e = an_analyze_tar_gz_file(input, &opts, r, err, sizeof err);
    if (p.shown)
        fputs("\r\033[K", stderr);
    if (e != SG_OK) {
        fprintf(stderr, "singularity-analyze: %s%s\n", label, err[0] ? err : sg_err_str(e));
        return 2;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0)
        return -1;
    *out = v;
    return 0;
}

/* Seconds as a positive decimal ("600", "0.5"); -1 when not one. */
static double parse_seconds(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : -1;
    if (errno || !end || *end || !isfinite(v) || v <= 0 || v > 1e9)
        return -1;
    return v;
}

int main(int argc, char **argv)
{
    const char *input = NULL, *format = "table", *base = NULL;
    struct an_rename *renames = NULL; /* points into argv; freed at exit */
    size_t nrenames = 0;
    double timeout_s = 0;
    const char *files_path = NULL;
    struct an_options opts;
    memset(&opts, 0, sizeof opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strncmp(a, "--format=", 9) == 0) {
            format = a + 9;
        } else if (strcmp(a, "--base") == 0 && i + 1 < argc) {
            base = argv[++i];
        } else if (strncmp(a, "--base=", 7) == 0) {
            base = a + 7;
        } else if (strcmp(a, "--rename") == 0 && i + 2 < argc && nrenames < 4096) {
            struct an_rename *nr = realloc(renames, (nrenames + 1) * sizeof *nr);
            if (!nr)
                return 2;
            renames = nr;
            renames[nrenames++] = (struct an_rename){argv[i + 1], argv[i + 2]};
            opts.renames = renames;
            opts.nrenames = nrenames;
            i += 2;
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            opts.config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            opts.config_path = a + 9;
        } else if (strcmp(a, "--files") == 0 && i + 1 < argc) {
            files_path = argv[++i];
        } else if (strcmp(a, "--max-file-bytes") == 0 && i + 1 < argc &&
                   parse_u64(argv[i + 1], &v) == 0) {
            opts.limits.max_file_bytes = v, i++;
        } else if (strcmp(a, "--max-total-bytes") == 0 && i + 1 < argc &&
                   parse_u64(argv[i + 1], &v) == 0) {
            opts.limits.max_total_bytes = v, i++;
        } else if (strcmp(a, "--max-files") == 0 && i + 1 < argc &&
                   parse_u64(argv[i + 1], &v) == 0) {
            opts.limits.max_files = v, i++;
        } else if (strcmp(a, "--max-findings") == 0 && i + 1 < argc &&
                   parse_u64(argv[i + 1], &v) == 0 && v <= UINT32_MAX) {
            opts.limits.max_findings = (uint32_t)v, i++;
        } else if (strcmp(a, "--max-total-findings") == 0 && i + 1 < argc &&
                   parse_u64(argv[i + 1], &v) == 0) {
            opts.limits.max_total_findings = v, i++;
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc &&
                   (timeout_s = parse_seconds(argv[i + 1])) > 0) {
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "singularity-analyze: unknown or incomplete option %s\n", a);
            usage(stderr);
            return 2;
        } else if (!input) {
            input = a;
        } else {
            fprintf(stderr, "singularity-analyze: more than one input (%s and %s)\n", input, a);
            return 2;
        }
    }
    if (!input) {
        usage(stderr);
        return 2;
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0 &&
        strcmp(format, "sarif") != 0) {
        fprintf(stderr, "singularity-analyze: --format must be table, json or sarif (not %s)\n",
                format);
        return 2;
    }
    if (opts.config_path && access(opts.config_path, R_OK) != 0) {
        fprintf(stderr, "singularity-analyze: --config %s: %s\n", opts.config_path,
                strerror(errno));
        return 2;
    }
    struct files_out fo = {0};
    if (files_path) {
        if (!(fo.f = fopen(files_path, "w"))) {
            fprintf(stderr, "singularity-analyze: --files %s: %s\n", files_path, strerror(errno));
            return 2;
        }
        sg_buf_init(&fo.line, 0);
        opts.on_file = write_file_line;
        opts.on_file_ctx = &fo;
    }
    if (timeout_s > 0) /* from here on: reading the input counts too */
        opts.deadline_ms = sg_mono_ms() + (int64_t)(timeout_s * 1000.0);
    struct an_result *r = NULL, *br = NULL;
    enum sg_err e;
    if (analyze_input(input, &opts, false, &r) != 0)
        return 2;
    if (base && analyze_input(base, &opts, true, &br) != 0) {
        an_result_free(r);
        return 2;
    }
    if (fo.f) {
        sg_buf_free(&fo.line);
        if (fclose(fo.f) != 0 || fo.failed) {
            fprintf(stderr, "singularity-analyze: --files %s: cannot write it\n", files_path);
            an_result_free(r);
            an_result_free(br);
            return 2;
        }
    }
    if (br && (e = an_classify(r, br)) != SG_OK) {
        fprintf(stderr, "singularity-analyze: %s\n", sg_err_str(e));
        an_result_free(r);
        an_result_free(br);
        return 2;
    }
    an_result_free(br);
    struct sg_buf b;
    sg_buf_init(&b, 0);
    if (strcmp(format, "json") == 0) {
        e = an_result_json(r, &b);
        if (!e)
            e = sg_buf_putc(&b, '\n');
    } else if (strcmp(format, "sarif") == 0) {
        e = an_result_sarif(r, &b);
    } else {
        e = an_result_table(r, &b);
    }
    int rc = r->passed ? 0 : 1;
    if (e != SG_OK || fwrite(sg_buf_str(&b), 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
        fprintf(stderr, "singularity-analyze: cannot write the output: %s\n",
                e ? sg_err_str(e) : strerror(errno));
        rc = 2;
    }
    sg_buf_free(&b);
    an_result_free(r);
    free(renames);
    return rc;
}
