/* Why: what the worker reads of a commit's content, each from a directory of --repos (a commit's
 * own DIR/o/r@sha, else the repository's DIR/o/r): the tarball, as GitHub serves it (a 302 from the
 * API to a codeload URL with a short-lived token, then the gzip'd tar, cut short or trickling out
 * when a fault asks), and the compare of two commits' files.
 *
 * Ownership: each route answers r (and so frees it); the module's codeload tokens, tarball cache
 * and slow downloads live until sim_contents_free(). */
#ifndef SIM_CONTENTS_H
#define SIM_CONTENTS_H

struct sim_rq;

/* GET /repos/{o}/{r}/tarball/{ref}. */
void sim_contents_tarball(struct sim_rq *r, const char *owner, const char *repo, const char *ref);
/* GET /_codeload/{o}/{r}/legacy.tar.gz/{sha}?token=. */
void sim_contents_codeload(struct sim_rq *r, const char *owner, const char *repo, const char *sha);
/* GET /repos/{o}/{r}/compare/{base}...{head}. */
void sim_contents_compare(struct sim_rq *r, const char *owner, const char *repo,
                          const char *basehead);

/* Frees the cache and the downloads still trickling (before the event base goes). */
void sim_contents_free(void);

#endif
