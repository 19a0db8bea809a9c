/* Why: the analysis engine's public interface, shared by the worker (which streams a tarball
 * from libcurl into it) and singularity-analyze. The engine does no network or database I/O: it
 * sees only the bytes it is handed, so it is testable alone and safe to fuzz.
 *
 * Ownership: sg_an_new() returns a session the caller frees with sg_an_free(); sg_an_finish()
 * hands the caller a result to free with sg_an_result_free(). All strings inside a result belong
 * to the result. */
#ifndef SG_ANALYSIS_H
#define SG_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_buf.h"
#include "sg_err.h"

/* Changes whenever counting, rules or scoring change, so stored results made by another engine
 * are not reused for a job (DESIGN.md section 3: "same configuration"). */
#define SG_AN_ENGINE_VERSION "2"

enum sg_an_severity { SG_AN_NOTICE = 0, SG_AN_WARNING = 1, SG_AN_ERROR = 2 };

struct sg_an_limits {
    uint64_t max_file_bytes;  /* a larger file is counted in skipped.too_large, not read */
    uint64_t max_total_bytes; /* uncompressed bytes of the whole archive (gzip bomb guard) */
    uint64_t max_files;       /* entries in the archive */
    uint32_t max_path_len;    /* a longer path is skipped as unsafe */
    uint32_t max_findings;    /* findings kept in the result; rule_counts stay exact */
};

struct sg_an_options {
    struct sg_an_limits limits; /* zero fields take the defaults (sg_an_limits_default) */
    const char *config_path;    /* --config FILE: used instead of the repository's
                                   .singularity.yml; NULL = use the repository's */
    bool keep_files;            /* (added) same as sg_an_keep_files(): fill result.files */
    int64_t deadline_ms;        /* sg_mono_ms() value after which the analysis stops:
                                   sg_an_feed()/sg_an_finish() return SG_ERR_TIMEOUT and
                                   sg_an_error() says the time budget ran out; 0 = none */
};

struct sg_an_finding {
    const char *rule;             /* "SEC002" (static) */
    enum sg_an_severity severity; /* after .singularity.yml `rules` overrides */
    char *path;                   /* relative to the repository root */
    uint32_t line;                /* 1-based */
    char *message;
};

struct sg_an_counts {
    uint64_t files, code, comment, blank, bytes, complexity;
};

struct sg_an_language {
    const char *name; /* tokei's spelling: "C", "C Header", "Shell", ... (static) */
    struct sg_an_counts counts;
};

struct sg_an_file { /* per-file output, kept only with keep_files */
    char *path;
    const char *language;
    struct sg_an_counts counts; /* files = 1 */
};

struct sg_an_rule_count {
    const char *rule; /* static */
    uint64_t count;
};

struct sg_an_skipped {
    uint64_t binary, vendored, generated, minified, too_large, unsafe, excluded;
};

struct sg_an_result {
    double score;     /* 0..10, one decimal */
    double threshold; /* quality_threshold, default 7.0 */
    bool passed;      /* score >= threshold and no finding of severity error */
    struct sg_an_counts totals;
    struct sg_an_language *languages; /* sorted by code lines, descending */
    size_t nlanguages;
    struct sg_an_finding *findings; /* at most limits.max_findings, most severe first */
    size_t nfindings;
    uint64_t findings_total;              /* before the cap */
    struct sg_an_rule_count *rule_counts; /* only rules with count > 0, sorted by rule id */
    size_t nrule_counts;
    struct sg_an_skipped skipped;
    char **config_errors; /* each one line, e.g. ".singularity.yml:3: max_line_length: expected an
                             integer" */
    size_t nconfig_errors;
    struct sg_an_file *files; /* NULL unless sg_an_keep_files() was called */
    size_t nfiles;
};

void sg_an_limits_default(struct sg_an_limits *l);

/* A streaming session over a .tar.gz (GitHub's tarball: one top folder, removed from paths;
 * a pax global header may come first). */
struct sg_an *sg_an_new(const struct sg_an_options *opts);
void sg_an_keep_files(struct sg_an *an);
/* Feeds the next compressed bytes. SG_ERR_PARSE (corrupt gzip/tar), SG_ERR_TOO_LARGE (a limit
 * hit) with a message for sg_an_error(); after an error further feeds return the same error. */
enum sg_err sg_an_feed(struct sg_an *an, const void *data, size_t len);
/* Ends the stream (SG_ERR_PARSE when it was truncated) and builds the result. */
enum sg_err sg_an_finish(struct sg_an *an, struct sg_an_result **out);
const char *sg_an_error(const struct sg_an *an); /* last error text, "" when none */
void sg_an_free(struct sg_an *an);

/* Whole inputs: a directory, or a .tar.gz file (read in chunks through sg_an_feed). */
enum sg_err sg_an_analyze_dir(const char *path, const struct sg_an_options *opts,
                              struct sg_an_result **out, char *err, size_t errlen);
enum sg_err sg_an_analyze_tar_gz_file(const char *path, const struct sg_an_options *opts,
                                      struct sg_an_result **out, char *err, size_t errlen);

void sg_an_result_free(struct sg_an_result *r);

/* Output formats (DESIGN.md section 5). */
enum sg_err sg_an_result_json(const struct sg_an_result *r, struct sg_buf *out);
enum sg_err sg_an_result_sarif(const struct sg_an_result *r, struct sg_buf *out);
enum sg_err sg_an_result_table(const struct sg_an_result *r, struct sg_buf *out);

const char *sg_an_severity_str(enum sg_an_severity s); /* "error", "warning", "notice" */
/* Rule metadata: name ("AWS access key id") and default severity; NULL for an unknown id. */
const char *sg_an_rule_name(const char *rule_id);

#endif
