/* Why: the rows the new-code gate reads and writes (DESIGN.md section 9, migration 0005): the base
 * analysis a change is judged against, with every fingerprint; the row of a base commit analysed in
 * the head's job; the branch's recent scores for the check run's sparkline.
 *
 * Ownership: struct wk_db_gate_base's result is the caller's, freed with wk_db_gate_base_free(). */
#ifndef WK_DB_GATE_H
#define WK_DB_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_db.h"
#include "an_analysis.h"

struct wk_db_gate_base {
    bool found;
    int64_t id;
    char sha[64];
    /* score, every fingerprint and the stored findings with theirs: a base for an_classify */
    struct an_result *result;
};

/* The base of section 9: the latest completed analysis of base_sha when given, else the ref's
 * latest completed one of another commit; found false when there is none (or only analyses made
 * before migration 0005, without fingerprints). Its own transaction. */
enum sg_err wk_db_find_gate_base(struct wk_db *db, int64_t repository_id,
                                 const char *engine_version, const char *base_sha, const char *ref,
                                 const char *head_sha, struct wk_db_gate_base *out);
void wk_db_gate_base_free(struct wk_db_gate_base *b);

/* A running row for a base commit analysed inside another commit's job (trigger 'base'). */
enum sg_err wk_db_insert_base(struct wk_db *db, int64_t repository_id, int64_t installation_id,
                              const char *sha, const char *engine_version, const char *worker_id,
                              struct wk_claim *out);

/* Up to max completed scores on ref, oldest first (the newest last). */
enum sg_err wk_db_trend(struct wk_db *db, int64_t repository_id, const char *ref,
                        const char *engine_version, double *scores, size_t max, size_t *n);

#endif
