/* Why: GitHub's compare of two commits, as far as the worker reads it (see sim_compare.c).
 * Ownership: the returned json-c object is the caller's (json_object_put). */
#ifndef SIM_COMPARE_H
#define SIM_COMPARE_H

#include <json-c/json.h>

/* The `files` array of GET /repos/{o}/{r}/compare/{base}...{head} between two trees: each file
 * added, removed, modified or renamed (same bytes under another path, with previous_filename),
 * at most max entries, as GitHub lists at most 300. NULL when a tree cannot be read. */
struct json_object *sim_compare_files(const char *base_dir, const char *head_dir, size_t max);

/* The whole answer around files (taken over), in the shape of GitHub's OpenAPI description. */
struct json_object *sim_compare_answer(const char *api, const char *full, const char *base,
                                       const char *head, struct json_object *files);

#endif
