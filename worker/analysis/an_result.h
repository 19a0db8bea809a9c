/* Why: the running totals of an analysis and the result built from them, apart from the session
 * that feeds them (the session calls in; nothing here knows the session). What is kept per file
 * is bounded whatever the file count: a file's counts are added to its language's totals as soon
 * as the configuration that filters it is final; only files read before that are held as small
 * provisional records (up to AN_PROV_MAX_BYTES), and only files with a kept finding keep a path.
 *
 * Ownership: an_tally_new() / an_tally_free(); an_tally_result() gives the caller a result to free
 * with an_result_free(). The path given to an_tally_file_begin() must stay valid until the
 * matching an_tally_file_end(). */
#ifndef AN_RESULT_H
#define AN_RESULT_H

#include "an_internal.h"

enum { AN_REC_COUNTED = 0, AN_REC_TEXT, AN_REC_BINARY };

struct an_file_stats { /* one analysed file */
    int lang;          /* -1: text of no known language (only secrets / conflict rules) */
    int status;        /* AN_REC_* */
    uint32_t lines;
    uint64_t code, comment, blank, bytes, complexity;
};

struct an_tally;

/* max_findings: findings kept with their text; max_total_findings: findings in all, beyond which
 * an_tally_file_end() answers SG_ERR_TOO_LARGE. */
struct an_tally *an_tally_new(uint32_t max_findings, uint64_t max_total_findings);
void an_tally_free(struct an_tally *t);
/* fn (may be NULL) is called with each file an_count() counts (an_options.on_file). */
void an_tally_on_file(struct an_tally *t, void (*fn)(void *, const struct an_file *), void *ctx);
/* Files renamed since the base (copied): their findings also get an alias fingerprint. */
enum sg_err an_tally_set_renames(struct an_tally *t, const struct an_rename *r, size_t n);
/* data/len: the file's bytes, valid until an_tally_file_end() (findings' line texts are read
 * from them for the fingerprints); NULL, 0 when there are none. provisional: the configuration may
 * still change (the repository's has not been read yet), so the file is filtered again by
 * an_tally_settle() with the final one. */
enum sg_err an_tally_file_begin(struct an_tally *t, const char *path, const unsigned char *data,
                                size_t len, bool provisional);
/* An an_finding_fn (ctx is the tally): a finding in the current file. */
void an_tally_finding(void *t, enum an_rule rule, uint32_t line, uint32_t aux);
/* A secret finding (SEC001-SEC005): grule is the gitleaks rule (an_sec_rules index), hint at most
 * the secret's first 4 characters, kept for the message; never more of the secret. */
void an_tally_secret(void *t, enum an_rule rule, uint32_t line, uint32_t grule, const char *hint);
/* Ends the current file (provisional or not, as it began). */
enum sg_err an_tally_file_end(struct an_tally *t, const struct an_file_stats *s,
                              const struct an_config *c);
/* c is final: provisional files are filtered by its excludes and languages and counted. */
void an_tally_settle(struct an_tally *t, const struct an_config *c);
/* Files counted before the configuration was final because the provisional records were full. */
uint64_t an_tally_unfiltered(const struct an_tally *t);
/* Where the scanner tells the current file's line (an_scan_cfg.hint). */
struct an_line_hint *an_tally_line_hint(struct an_tally *t);
/* Settles and builds the result: languages, rule counts, capped findings, score. */
enum sg_err an_tally_result(struct an_tally *t, const struct an_config *c,
                            const struct an_skipped *skipped, struct an_result **out);

#endif
