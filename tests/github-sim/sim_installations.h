/* Why: the installations the simulator knows (--installation ID=o/r,..., or an App installed
 * through /_sim/apps/{id}/installations), which repositories each one sees, and GitHub's JSON for
 * them: GET /app/installations/{id} and GET /installation/repositories. A repository's id is a
 * hash of its full name, so the same name always has the same id.
 *
 * Ownership: installations and their strings are the module's until sim_installations_free();
 * a pointer to one lasts until the next sim_installations_add(). JSON results are the caller's. */
#ifndef SIM_INSTALLATIONS_H
#define SIM_INSTALLATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct sim_rq;

struct sim_inst {
    int64_t id;
    char **repos; /* "owner/repo" */
    size_t nrepos;
    int64_t used; /* requests in the current rate-limit window (GitHub counts per installation) */
};

/* "ID=owner/repo[,owner/repo...]": adds the installation, or the repositories to it; false for a
 * spec that is not one. */
bool sim_installations_add(const char *spec);
/* The installation with this id, or NULL. */
struct sim_inst *sim_installations_find(int64_t id);
/* All of them (count in *n). */
struct sim_inst *sim_installations_all(size_t *n);
/* Whether in (may be NULL) sees full ("owner/repo", case-insensitive as GitHub). */
bool sim_installations_has_repo(const struct sim_inst *in, const char *full);
/* GitHub's "installation" object (of the command line's App). */
struct json_object *sim_installations_json(const struct sim_inst *in);

/* GET /app/installations/{id}. */
void sim_installations_get(struct sim_rq *r, int64_t inst_id);
/* GET /installation/repositories?per_page&page. */
void sim_installations_repos(struct sim_rq *r);

void sim_installations_free(void);

#endif
