/* Why: tests assert on what the client sent, so every request is recorded as one JSON object
 * (method, path, query, status, selected headers — the Authorization header only as scheme and
 * kind, never the credential — and the parsed body): kept in memory for GET /_sim/requests and,
 * with --record FILE, appended to that file as JSON lines.
 *
 * Ownership: sim_record_requests() returns a new reference (json_object_put it). */
#ifndef SIM_RECORD_H
#define SIM_RECORD_H

#include <stdbool.h>

struct json_object;
struct sim_rq;

/* Starts the in-memory log and opens path for appending (NULL: none); false when it cannot be
 * opened (errno says why). */
bool sim_record_start(const char *path);
/* Records r, answered with status. */
void sim_record_request(struct sim_rq *r, int status);
/* GET /_sim/requests: the array of recorded requests. */
struct json_object *sim_record_requests(void);
/* DELETE /_sim/requests. */
void sim_record_clear(void);
void sim_record_free(void);

#endif
