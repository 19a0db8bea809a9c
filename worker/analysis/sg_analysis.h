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
#define SG_AN_ENGINE_VERSION "1"

enum sg_an_severity { SG_AN_NOTICE = 0, SG_AN_WARNING = 1, SG_AN_ERROR = 2 };

/* A finding against its base (DESIGN.md section 9); UNCLASSIFIED when there is no base. */
enum sg_an_status { SG_AN_UNCLASSIFIED = 0, SG_AN_NEW, SG_AN_EXISTING };

/* `gate` and `annotate` of .singularity.yml (DESIGN.md section 9). */
struct sg_an_gate_cfg {
    bool scope_overall;    /* gate.scope: overall; false = new */
    int fail_on;           /* gate.fail_on: lowest failing severity of a new finding; -1 = none */
    double max_score_drop; /* gate.max_score_drop */
    bool annotate_all;     /* annotate: all; false = new */
};

struct sg_an_limits {
    uint64_t max_file_bytes;  /* a larger file is counted in skipped.too_large, not read */
    uint64_t max_total_bytes; /* uncompressed bytes of the whole archive (gzip bomb guard) */
    uint64_t max_files;       /* entries in the archive */
    uint32_t max_path_len;    /* a longer path is skipped as unsafe */
    uint32_t max_findings;    /* findings kept in the result; rule_counts stay exact */
};

/* A file renamed between the base and this commit (GitHub's compare API, status "renamed"). */
struct sg_an_rename {
    const char *from; /* previous_filename, the base's path */
    const char *to;   /* the path in this commit */
};

struct sg_an_options {
    struct sg_an_limits limits; /* zero fields take the defaults (sg_an_limits_default) */
    const char *config_path;    /* --config FILE: used instead of the repository's
                                   .singularity.yml; NULL = use the repository's */
    int64_t deadline_ms;        /* sg_mono_ms() value after which the analysis stops:
                                   sg_an_feed()/sg_an_finish() return SG_ERR_TIMEOUT and
                                   sg_an_error() says the time budget ran out; 0 = none */
    /* Called by sg_an_analyze_dir / sg_an_analyze_tar_gz_file after each file (tree) or chunk
     * (archive) with the bytes read so far and the entries seen; NULL = none. */
    void (*progress)(void *ctx, uint64_t bytes_read, uint64_t files);
    void *progress_ctx;
    /* Files renamed since the base: their findings also get a fingerprint under the base's path
     * (result's fingerprint_aliases), so a rename keeps their identity. Copied by sg_an_new. */
    const struct sg_an_rename *renames;
    size_t nrenames;
};

/* A finding's fingerprint as the base knows it (under a renamed file's previous path). */
struct sg_an_fp_alias {
    uint64_t fp, as_base;
};

struct sg_an_finding {
    const char *rule;             /* "SEC002" (static) */
    enum sg_an_severity severity; /* after .singularity.yml `rules` overrides */
    char *path;                   /* relative to the repository root */
    uint32_t line;                /* 1-based */
    char *message;
    uint64_t fingerprint;     /* sg_an_fingerprint: stable across moves (docs/analysis.md) */
    enum sg_an_status status; /* after sg_an_classify() */
};

struct sg_an_counts {
    uint64_t files, code, comment, blank, bytes, complexity;
};

struct sg_an_language {
    const char *name; /* tokei's spelling: "C", "C Header", "Shell", ... (static) */
    struct sg_an_counts counts;
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

    /* Every finding's fingerprint, also beyond the findings cap, ascending, with its severity
     * (parallel array), so classification and the gate are exact. */
    uint64_t *fingerprints;
    uint8_t *fingerprint_severity;
    size_t nfingerprints;
    struct sg_an_fp_alias *fingerprint_aliases; /* ascending by fp; only with renames */
    size_t nfingerprint_aliases;
    struct sg_an_gate_cfg gate;
    /* Filled by sg_an_classify(): */
    bool has_base;
    double base_score;
    uint64_t base_findings;
    uint64_t new_findings, fixed_findings, existing_findings;
    uint64_t new_by_severity[3];
    struct sg_an_finding *fixed; /* base findings the head lacks, capped at SG_AN_FIXED_MAX */
    size_t nfixed;
    /* Filled by sg_an_gate() (the result's own configuration): */
    char **gate_reasons;
    size_t ngate_reasons;
};

#define SG_AN_FIXED_MAX 100

void sg_an_limits_default(struct sg_an_limits *l);

/* A streaming session over a .tar.gz (GitHub's tarball: one top folder, removed from paths;
 * a pax global header may come first). */
struct sg_an *sg_an_new(const struct sg_an_options *opts);
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

/* ---- the new-code gate (DESIGN.md section 9; an_fingerprint.c, an_baseline.c, an_gate.c) ---- */

/* "0123456789abcdef": the 16 lower-case hex digits of a fingerprint, NUL-terminated. */
void sg_an_fingerprint_hex(uint64_t fp, char out[17]);
/* 16 hex digits to a fingerprint; false when s is not exactly that. */
bool sg_an_fingerprint_parse(const char *s, uint64_t *out);
/* Classifies head's findings against base: status of every kept finding, the exact new / fixed /
 * existing counts, the (capped) fixed findings copied from base, then sg_an_gate(head). Renames
 * are the caller's: base fingerprints are compared as they are. */
enum sg_err sg_an_classify(struct sg_an_result *head, const struct sg_an_result *base);
/* Evaluates r->gate (scope new with a base, else the overall rule): sets r->passed and
 * r->gate_reasons (each one sentence). */
enum sg_err sg_an_gate(struct sg_an_result *r);
/* A result printed earlier by --format json (which carries every fingerprint), read back as a
 * base: score, findings with their fingerprints, rule counts and all fingerprints. */
enum sg_err sg_an_result_from_json(const char *text, size_t len, struct sg_an_result **out,
                                   char *err, size_t errlen);

/* Output formats (DESIGN.md section 5). */
enum sg_err sg_an_result_json(const struct sg_an_result *r, struct sg_buf *out);
enum sg_err sg_an_result_sarif(const struct sg_an_result *r, struct sg_buf *out);
enum sg_err sg_an_result_table(const struct sg_an_result *r, struct sg_buf *out);

const char *sg_an_severity_str(enum sg_an_severity s); /* "error", "warning", "notice" */
/* Rule metadata: name ("AWS access key id") and default severity; NULL for an unknown id. */
const char *sg_an_rule_name(const char *rule_id);
/* The engine's own (static) copy of a rule id, as results carry it; NULL for an unknown id. */
const char *sg_an_rule_id(const char *rule_id);

#endif
