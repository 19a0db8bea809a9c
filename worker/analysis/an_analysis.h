/* Why: the analysis engine's public interface, shared by the worker (which streams a tarball
 * from libcurl into it) and singularity-analyze. The engine does no network or database I/O: it
 * sees only the bytes it is handed, so it is testable alone and safe to fuzz.
 *
 * Ownership: an_new() returns a session the caller frees with an_free(); an_finish()
 * hands the caller a result to free with an_result_free(). All strings inside a result belong
 * to the result. */
#ifndef AN_ANALYSIS_H
#define AN_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_buf.h"
#include "sg_err.h"

/* Changes whenever counting, rules or scoring change, so stored results made by another engine
 * are not reused for a job (DESIGN.md section 3: "same configuration"). */
#define AN_ENGINE_VERSION "5"

enum an_severity { AN_NOTICE = 0, AN_WARNING = 1, AN_ERROR = 2 };

/* A finding against its base (DESIGN.md section 9); UNCLASSIFIED when there is no base. */
enum an_status { AN_UNCLASSIFIED = 0, AN_NEW, AN_EXISTING };

/* `gate` and `annotate` of .singularity.yml (DESIGN.md section 9). */
struct an_gate_cfg {
    bool scope_overall;    /* gate.scope: overall; false = new */
    int fail_on;           /* gate.fail_on: lowest failing severity of a new finding; -1 = none */
    double max_score_drop; /* gate.max_score_drop */
    bool annotate_all;     /* annotate: all; false = new */
};

struct an_limits {
    uint64_t max_file_bytes;     /* a larger file is counted in skipped.too_large, not read */
    uint64_t max_total_bytes;    /* uncompressed bytes of the whole archive (gzip bomb guard) */
    uint64_t max_files;          /* entries in the archive */
    uint32_t max_path_len;       /* a longer path is skipped as unsafe */
    uint32_t max_findings;       /* findings kept in the result; rule_counts stay exact */
    uint64_t max_total_findings; /* findings in all (each keeps a fingerprint, 9 bytes): beyond
                                    it the analysis stops, so memory stays bounded */
};

struct an_file; /* below */

/* A file renamed between the base and this commit (GitHub's compare API, status "renamed"). */
struct an_rename {
    const char *from; /* previous_filename, the base's path */
    const char *to;   /* the path in this commit */
};

struct an_options {
    struct an_limits limits; /* zero fields take the defaults (an_limits_default) */
    const char *config_path; /* --config FILE: used instead of the repository's
                                .singularity.yml; NULL = use the repository's */
    int64_t deadline_ms;     /* sg_mono_ms() value after which the analysis stops:
                                an_feed()/an_finish() return SG_ERR_TIMEOUT and
                                an_error() says the time budget ran out; 0 = none */
    /* Called for each file counted under the final configuration, so a caller can list files
     * without the engine keeping them (singularity-analyze --files; scripts/calibrate.sh). */
    void (*on_file)(void *ctx, const struct an_file *f);
    void *on_file_ctx;
    /* Called by an_analyze_dir / an_analyze_tar_gz_file after each file (tree) or chunk
     * (archive) with the bytes read so far and the entries seen; NULL = none. */
    void (*progress)(void *ctx, uint64_t bytes_read, uint64_t files);
    void *progress_ctx;
    /* Files renamed since the base: their findings also get a fingerprint under the base's path
     * (result's fingerprint_aliases), so a rename keeps their identity. Copied by an_new. */
    const struct an_rename *renames;
    size_t nrenames;
};

/* A finding's fingerprint as the base knows it (under a renamed file's previous path). */
struct an_fp_alias {
    uint64_t fp, as_base;
};

struct an_finding {
    const char *rule;          /* "SEC002" (static) */
    enum an_severity severity; /* after .singularity.yml `rules` overrides */
    char *path;                /* relative to the repository root */
    uint32_t line;             /* 1-based */
    char *message;
    uint64_t fingerprint;  /* an_fingerprint: stable across moves (docs/analysis.md) */
    enum an_status status; /* after an_classify() */
};

struct an_counts {
    uint64_t files, code, comment, blank, bytes, complexity;
};

struct an_file {          /* one counted file, as an_options.on_file sees it */
    const char *path;     /* relative to the repository root; valid during the call only */
    const char *language; /* tokei's name (static) */
    const char *kind;     /* "source", "header", "build", "data" or "prose" (static) */
    uint32_t lines;
    struct an_counts counts; /* files = 1 */
};

struct an_language {
    const char *name; /* tokei's spelling: "C", "C Header", "Shell", ... (static) */
    struct an_counts counts;
};

struct an_rule_count {
    const char *rule; /* static */
    uint64_t count;
};

struct an_skipped {
    uint64_t binary, vendored, generated, minified, too_large, unsafe, excluded;
};

/* The kinds of debt the score charges for, in the order score_breakdown lists them. */
enum an_debt {
    AN_DEBT_SECRETS = 0, /* SEC rules */
    AN_DEBT_CONFLICTS,   /* GIT001 */
    AN_DEBT_COMPLEXITY,  /* CPX001, and branching denser than in admired codebases */
    AN_DEBT_SIZE,        /* SIZ001 */
    AN_DEBT_STYLE,       /* STY001-STY004 */
    AN_DEBT_MAINTENANCE, /* MNT001 */
    AN_DEBT_BINARIES,    /* BIN001 */
    AN_NDEBT
};

struct an_debt_cost {
    double cost;       /* points taken from 10, one decimal; all costs sum to 10 - score */
    uint64_t findings; /* exact findings of this kind */
    uint64_t files;    /* files with at least one of them */
};

struct an_result {
    double score;     /* 0..10, one decimal */
    double threshold; /* quality_threshold, default 7.0 */
    bool passed;      /* score >= threshold and no finding of severity error */
    struct an_counts totals;
    struct an_language *languages; /* sorted by code lines, descending */
    size_t nlanguages;
    struct an_finding *findings; /* at most limits.max_findings, most severe first */
    size_t nfindings;
    uint64_t findings_total;           /* before the cap */
    struct an_rule_count *rule_counts; /* only rules with count > 0, sorted by rule id */
    size_t nrule_counts;
    struct an_skipped skipped;
    struct an_debt_cost breakdown[AN_NDEBT]; /* what each kind of debt costs */
    char **config_errors; /* each one line, e.g. ".singularity.yml:3: max_line_length: expected an
                             integer" */
    size_t nconfig_errors;

    /* Every finding's fingerprint, also beyond the findings cap, ascending, with its severity
     * (parallel array), so classification and the gate are exact. */
    uint64_t *fingerprints;
    uint8_t *fingerprint_severity;
    size_t nfingerprints;
    struct an_fp_alias *fingerprint_aliases; /* ascending by fp; only with renames */
    size_t nfingerprint_aliases;
    struct an_gate_cfg gate;
    /* Filled by an_classify(): */
    bool has_base;
    double base_score;
    uint64_t base_findings;
    uint64_t new_findings, fixed_findings, existing_findings;
    uint64_t new_by_severity[3];
    struct an_finding *fixed; /* base findings the head lacks, capped at AN_FIXED_MAX */
    size_t nfixed;
    /* Filled by an_gate() (the result's own configuration): */
    char **gate_reasons;
    size_t ngate_reasons;
};

#define AN_FIXED_MAX 100

void an_limits_default(struct an_limits *l);

/* A streaming session over a .tar.gz (GitHub's tarball: one top folder, removed from paths;
 * a pax global header may come first). */
struct an_session *an_new(const struct an_options *opts);
/* Feeds the next compressed bytes. SG_ERR_PARSE (corrupt gzip/tar), SG_ERR_TOO_LARGE (a limit
 * hit) with a message for an_error(); after an error further feeds return the same error. */
enum sg_err an_feed(struct an_session *an, const void *data, size_t len);
/* Ends the stream (SG_ERR_PARSE when it was truncated) and builds the result. */
enum sg_err an_finish(struct an_session *an, struct an_result **out);
const char *an_error(const struct an_session *an); /* last error text, "" when none */
void an_free(struct an_session *an);

/* Whole inputs: a directory, or a .tar.gz file (read in chunks through an_feed). */
enum sg_err an_analyze_dir(const char *path, const struct an_options *opts, struct an_result **out,
                           char *err, size_t errlen);
enum sg_err an_analyze_tar_gz_file(const char *path, const struct an_options *opts,
                                   struct an_result **out, char *err, size_t errlen);

void an_result_free(struct an_result *r);

/* ---- the new-code gate (DESIGN.md section 9; an_fingerprint.c, an_baseline.c, an_gate.c) ---- */

/* "0123456789abcdef": the 16 lower-case hex digits of a fingerprint, NUL-terminated. */
void an_fingerprint_hex(uint64_t fp, char out[17]);
/* 16 hex digits to a fingerprint; false when s is not exactly that. */
bool an_fingerprint_parse(const char *s, uint64_t *out);
/* Classifies head's findings against base: status of every kept finding, the exact new / fixed /
 * existing counts, the (capped) fixed findings copied from base, then an_gate(head). Renames
 * are the caller's: base fingerprints are compared as they are. */
enum sg_err an_classify(struct an_result *head, const struct an_result *base);
/* Evaluates r->gate (scope new with a base, else the overall rule): sets r->passed and
 * r->gate_reasons (each one sentence). */
enum sg_err an_gate(struct an_result *r);
/* A result printed earlier by --format json (which carries every fingerprint), read back as a
 * base: score, findings with their fingerprints, rule counts and all fingerprints. */
enum sg_err an_result_from_json(const char *text, size_t len, struct an_result **out, char *err,
                                size_t errlen);

/* Output formats (DESIGN.md section 5). */
enum sg_err an_result_json(const struct an_result *r, struct sg_buf *out);
enum sg_err an_result_sarif(const struct an_result *r, struct sg_buf *out);
enum sg_err an_result_table(const struct an_result *r, struct sg_buf *out);

const char *an_severity_str(enum an_severity s); /* "error", "warning", "notice" */
const char *an_debt_str(enum an_debt d);         /* "secrets", "complexity", ... */
/* Why the score is what it is, in one line: "-1.2 for 3 files over the complexity limit, -0.4
 * for 51 style findings in 9 files" (the costs of score_breakdown, largest first), or "nothing
 * costs points" when none does. */
enum sg_err an_score_explain(const struct an_result *r, struct sg_buf *out);
/* Rule metadata: name ("AWS access key id") and default severity; NULL for an unknown id. */
const char *an_rule_name(const char *rule_id);
/* The engine's own (static) copy of a rule id, as results carry it; NULL for an unknown id. */
const char *an_rule_id(const char *rule_id);

#endif
