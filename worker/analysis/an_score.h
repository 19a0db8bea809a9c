/* Why: the score is the first thing every check run shows, so its formula lives in one place with
 * its calibration (docs/analysis.md, "Score"): which kinds of file each limit applies to, how much
 * each kind of debt can cost, and the breakdown that explains a score. The result builder feeds it
 * one file at a time (so nothing per file is kept) and asks for the score at the end.
 *
 * Ownership: plain values; nothing here allocates. */
#ifndef AN_SCORE_H
#define AN_SCORE_H

#include "an_internal.h"

/* A file's findings of one line rule count at most this many towards the score: a table or
 * register map with 40 000 long lines is one file's format, not 40 000 problems. rule_counts
 * stay exact. */
#define AN_SCORE_FILE_CAP 100

struct an_score_acc {
    /* per rule, before severities: line findings capped per file; for CPX001 and SIZ001 how far
       each file is over its limit (value / limit - 1), so crossing a limit costs nothing at first
       and more the further a file goes */
    double units[AN_NRULES];
    uint64_t files[AN_NDEBT]; /* files with at least one finding of each kind of debt */
};

enum an_debt an_rule_debt(enum an_rule rule);

/* "source", "header", "build", "data" or "prose": the kind of file a language is (the table in
 * docs/analysis.md, "File kinds"). */
const char *an_lang_kind_str(const struct an_lang *L);

/* The limit of a file rule (AN_CPX001: complexity, AN_SIZ001: lines) for a file of language L
 * under configuration c; 0 when the rule does not apply to that kind of file. */
uint32_t an_file_limit(const struct an_config *c, const struct an_lang *L, enum an_rule rule);

/* Adds one analysed file (L NULL: text of no known language, or a binary). rc: its findings per
 * rule, CPX001 and SIZ001 included. Rules that are `off` in c are left out. */
void an_score_add_file(struct an_score_acc *a, const struct an_config *c, const struct an_lang *L,
                       const uint32_t rc[AN_NRULES], uint64_t complexity, uint32_t lines);

/* The score (0..10, one decimal) from what was added, the exact rule counts after `off`, the
 * code lines and the total complexity; out gets each kind's cost (one decimal, summing exactly to
 * 10 - score), findings and files. */
double an_score_compute(const struct an_score_acc *a, const struct an_config *c,
                        const uint64_t counts[AN_NRULES], uint64_t code, uint64_t complexity,
                        struct an_debt_cost out[AN_NDEBT]);

#endif
