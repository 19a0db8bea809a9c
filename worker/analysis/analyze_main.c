/* Why: singularity-analyze runs the worker's analysis engine on a directory, a .tar.gz file or a
 * tar.gz on stdin, so a developer sees locally exactly what the check run will say.
 * Exit status: 0 gate passed, 1 gate failed, 2 error (bad usage, unreadable or corrupt input). */
#include <errno.h>
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
        "usage: singularity-analyze PATH|FILE.tar.gz|- [--format table|json|sarif] [--config "
        "FILE]\n"
        "       [--timeout SECONDS]\n"
        "\n"
        "Analyses a directory, a .tar.gz (GitHub's tarball layout: the top folder is removed from\n"
        "paths) or, with '-', a .tar.gz read from standard input. Prints languages, code/comment/\n"
        "blank lines, complexity, findings and the quality score.\n"
        "\n"
        "  --format table   a readable table (default)\n"
        "  --format json    one JSON object (the worker's stored format)\n"
        "  --format sarif   SARIF 2.1.0 for GitHub code scanning\n"
        "  --config FILE    use FILE instead of the repository's .singularity.yml\n"
        "  --max-file-bytes N, --max-total-bytes N, --max-files N, --max-findings N\n"
        "                   override the safety limits\n"
        "  --timeout SECONDS  give up after SECONDS (decimals allowed): an error, exit status 2\n"
        "  -h, --help       this text\n"
        "\n"
        "Exit status: 0 the quality gate passed, 1 it failed, 2 an error.\n");
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
    const char *input = NULL, *format = "table";
    double timeout_s = 0;
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
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            opts.config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            opts.config_path = a + 9;
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
    if (timeout_s > 0) /* from here on: reading the input counts too */
        opts.deadline_ms = sg_mono_ms() + (int64_t)(timeout_s * 1000.0);
    struct an_result *r = NULL;
    char err[1024];
    enum sg_err e;
    struct stat st;
    if (strcmp(input, "-") != 0 && stat(input, &st) != 0) {
        fprintf(stderr, "singularity-analyze: %s: %s\n", input, strerror(errno));
        return 2;
    }
    if (strcmp(input, "-") != 0 && S_ISDIR(st.st_mode))
        e = an_analyze_dir(input, &opts, &r, err, sizeof err);
    else
        e = an_analyze_tar_gz_file(input, &opts, &r, err, sizeof err);
    if (e != SG_OK) {
        fprintf(stderr, "singularity-analyze: %s\n", err[0] ? err : sg_err_str(e));
        return 2;
    }
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
    return rc;
}
