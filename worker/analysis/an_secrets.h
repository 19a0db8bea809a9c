/* Why: the secret rules (SEC001-SEC005) are gitleaks' default rule set, run by a matcher made for
 * many patterns at once: Hyperscan finds the few candidate lines in one pass over a file, PCRE2
 * runs the exact regex only there. The rule table (an_secret_rules.c) is generated from gitleaks'
 * configuration by gen_secrets.py; this header is the contract between the two and the engine.
 *
 * Ownership: the rule table is static and read-only; the compiled Hyperscan database and PCRE2
 * regexes are built once per process and shared by every session (thread-safe); a session
 * (an_secrets_new) owns its Hyperscan scratch, match data and buffers until an_secrets_free(). */
#ifndef AN_SECRETS_H
#define AN_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_internal.h"

enum { AN_SEC_T_SECRET = 0, AN_SEC_T_MATCH, AN_SEC_T_LINE }; /* what an allow regex tests */
enum { AN_SEC_CORE_BACK = 50 }; /* gitleaks' optional identifier before a rule's core: bytes */

struct an_sec_allow { /* one gitleaks allow-list */
    uint8_t target;
    bool cond_and;                /* every check given must pass (gitleaks' condition = "AND") */
    const char *regex;            /* its regexes as one alternation, or NULL */
    const char *paths;            /* its path regexes as one alternation, or NULL */
    const char *const *stopwords; /* lower case; one found inside the secret allows it */
    size_t nstopwords;
};

struct an_sec_rule {   /* one gitleaks rule */
    const char *id;    /* gitleaks' rule id, also the name in messages and `secrets.disable` */
    enum an_rule sec;  /* the SEC rule that reports it */
    const char *regex; /* PCRE2 syntax; NULL for a path-only rule */
    const char *core;  /* regex without its leading [\w.-]{0,50}? (AN_SEC_CORE_BACK), or NULL */
    const char *hs;    /* Hyperscan prefilter pattern; NULL: found from its keywords */
    const char *path;  /* only files whose path matches, or NULL */
    const char *const *keywords; /* lower case; the file must contain one */
    size_t nkeywords;
    unsigned group; /* gitleaks' secretGroup; 0 = the first non-empty group */
    double entropy; /* the secret's Shannon entropy must exceed this; 0 = no check */
    const struct an_sec_allow *allow;
    size_t nallow;
    unsigned back, fwd; /* multi-line rules: window around a keyword, in bytes */
    bool anchored;      /* multi-line rules: the match starts at the keyword */
    bool line_once;     /* anchored rules: only a line's first keyword can start a match */
};

extern const struct an_sec_rule an_sec_rules[];
extern const size_t an_sec_nrules;
extern const struct an_sec_allow an_sec_global_allow;

/* gitleaks rule id -> index, -1 when unknown. */
int an_secret_rule_index(const char *id);

/* A secret found: which gitleaks rule, where, and at most the first 4 characters of the secret
 * (hint, NUL-terminated), never more. */
struct an_secret_hit {
    enum an_rule sec;
    uint16_t rule;
    uint32_t line;
    char hint[5];
};
typedef void (*an_secret_fn)(void *ctx, const struct an_secret_hit *hit);

struct an_secrets;
/* A session's matcher, with the repository's `secrets:` settings from c (allow regexes already
 * validated by an_config_parse; disabled rules). NULL with a message in err when the shared
 * database cannot be built or memory runs out. */
struct an_secrets *an_secrets_new(const struct an_config *c, char *err, size_t errlen);
void an_secrets_free(struct an_secrets *s);
/* Every secret in one text file, in line order. false when deadline_ms (an sg_mono_ms() value;
 * 0 = none) passed first: the findings are then partial. */
bool an_secrets_scan(struct an_secrets *s, const char *path, const unsigned char *d, size_t n,
                     int64_t deadline_ms, an_secret_fn fn, void *ctx);
/* Rule r's leftmost match in d[0, n) starting in [from, upto], found as a scan finds it (a rule
 * with a core: the core, then the regex anchored where its identifier begins): true with its
 * bounds in *ms, *me. Tests compare it with the regex run whole. */
bool an_secrets_first_match(struct an_secrets *s, size_t r, const unsigned char *d, size_t n,
                            size_t from, size_t upto, size_t *ms, size_t *me);
/* Path-only rules (a PKCS#12 file), for any file, binary or not: reports each to fn (when not
 * NULL) at line 1; true when there was one. */
bool an_secrets_path(struct an_secrets *s, const char *path, an_secret_fn fn, void *ctx);

/* The serialized Hyperscan database (an_secrets_db.c, written at build time by gen_secrets_db;
 * an_secrets_nodb.c, empty, for the build tool itself), and the rules it finds by keyword. */
extern const unsigned char an_sec_db[];
extern const size_t an_sec_db_len;
extern const uint16_t an_sec_db_fallback[];
extern const size_t an_sec_db_nfallback;
/* Build step: the database compiled for the generic x86-64 platform, serialized (*bytes from
 * malloc); fallback gets the rules found by keyword (room for an_sec_nrules entries). */
bool an_secrets_serialize(char **bytes, size_t *len, uint16_t *fallback, size_t *nfallback);

/* For tests: rules whose regex Hyperscan rejected even as a prefilter (found from their keywords
 * instead); -1 when the database could not be built at all. */
int an_secrets_fallbacks(void);
/* Checks a user's allow regex; false with PCRE2's message in err. */
bool an_secrets_regex_ok(const char *re, char *err, size_t errlen);

#endif
