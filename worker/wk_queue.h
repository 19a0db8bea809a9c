/* Why: the consuming side of the Redis queue (DESIGN.md section 3) in one place: a reliable take
 * (BLMOVE into this worker's processing list), heartbeats, the reaper that hands a dead worker's
 * job back, delayed retries, the dead list, and the counts operators and autoscalers read. Every
 * multi-key step is one Lua script, so several workers (and reapers) can act at once safely, and
 * every step that finishes a job first checks the job is still ours (LREM == 1): a worker that was
 * wrongly presumed dead cannot double a job another worker already holds.
 *
 * Commands go through a borrowed struct wk_redis (redis.h): blocking, a timeout on every command,
 * and a failed command drops the connection so that the next call reconnects; Redis restarts are
 * survived by retrying.
 *
 * Ownership: wk_queue_new() returns a queue freed with wk_queue_free(); the struct wk_redis is
 * borrowed and must outlive it. Strings returned through char ** out-parameters are malloc'ed and
 * belong to the caller (free()). */
#ifndef WK_QUEUE_H
#define WK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"
#include "sg_queue_stats.h"

struct wk_redis;
struct wk_queue;

/* NULL when out of memory. Does not connect yet. */
struct wk_queue *wk_queue_new(struct wk_redis *redis, const char *worker_id);
void wk_queue_free(struct wk_queue *q);

/* Connects (or reconnects) when there is no healthy connection. */
enum sg_err wk_queue_connect(struct wk_queue *q);
/* The last error's text ("" when none). */
const char *wk_queue_error(const struct wk_queue *q);

/* BLMOVE analysis_queue -> analysis_queue:processing:<id> RIGHT LEFT, blocking at most block_s.
 * SG_OK with *line NULL when nothing came, or when the line was over SG_JOB_LINE_MAX: that one is
 * moved to analysis_queue:dead unparsed, with its last error. Lines are binary: *len counts
 * every byte, NULs included, and every call below that names a held line takes its length. */
enum sg_err wk_queue_take(struct wk_queue *q, int block_s, char **line, size_t *len);
/* ZADD analysis_queue:workers now_ms <id>. */
enum sg_err wk_queue_heartbeat(struct wk_queue *q, int64_t now_ms);

/* Each of these finishes the held job `line`; *ours (may be NULL) is false when the job was no
 * longer in our processing list (a reaper gave it to another worker), in which case nothing else
 * is changed. */
enum sg_err wk_queue_ack(struct wk_queue *q, const char *line, size_t len, bool *ours);
/* wk_queue_ack, and in the same atomic step the next job (LMOVE, BLMOVE's non-blocking form) into
 * our processing list; *next is NULL when the queue was empty. */
enum sg_err wk_queue_ack_take(struct wk_queue *q, const char *line, size_t len, bool *ours,
                              char **next, size_t *next_len);
/* Returns every job in our processing list except `held` (may be NULL) to the front of
 * analysis_queue: after a reconnect, a take whose reply was lost may have left one there; at a
 * hard stop (held NULL), everything the worker holds goes back. */
enum sg_err wk_queue_recover(struct wk_queue *q, const char *held, size_t held_len, int64_t *moved);
/* At a hard stop: every job in our processing list back to the front of analysis_queue, each
 * counted as an attempt (attempt + 1, last_error = why), as the reaper counts a dead worker's. */
enum sg_err wk_queue_hand_back(struct wk_queue *q, const char *why, int64_t *moved);
/* To analysis_queue:delayed with score due_ms, as new_line (attempt and last_error updated). */
enum sg_err wk_queue_delay(struct wk_queue *q, const char *line, size_t len, const char *new_line,
                           int64_t due_ms, bool *ours);
/* To analysis_queue:dead as new_line (with last_error). */
enum sg_err wk_queue_bury(struct wk_queue *q, const char *line, size_t len, const char *new_line,
                          bool *ours);
/* Back to the front of analysis_queue as new_line (NULL: unchanged), at shutdown. */
enum sg_err wk_queue_return(struct wk_queue *q, const char *line, size_t len, const char *new_line,
                            bool *ours);

/* Moves up to max delayed jobs whose due time has come back onto analysis_queue. */
enum sg_err wk_queue_promote(struct wk_queue *q, int64_t now_ms, int max, int64_t *moved);
/* Workers whose heartbeat is older than now_ms - dead_after_ms: their processing lists go back to
 * the front of analysis_queue, each job counted as an attempt (attempt + 1, last_error), and they
 * leave the workers set. */
enum sg_err wk_queue_reap(struct wk_queue *q, int64_t now_ms, int64_t dead_after_ms,
                          int64_t *workers, int64_t *jobs);
/* Whether worker_id has a heartbeat newer than now_ms - dead_after_ms. */
enum sg_err wk_queue_worker_alive(struct wk_queue *q, const char *worker_id, int64_t now_ms,
                                  int64_t dead_after_ms, bool *alive);
/* On a clean exit: leave the workers set when our processing list is empty. */
enum sg_err wk_queue_leave(struct wk_queue *q, bool *left);

enum sg_err wk_queue_stats(struct wk_queue *q, int64_t now_ms, struct sg_queue_stats *st);

/* Dead list: LRANGE analysis_queue:dead start stop; cb once per job line (borrowed). */
typedef void (*wk_queue_line_fn)(void *ud, const char *line, size_t len);
enum sg_err wk_queue_dead_list(struct wk_queue *q, long start, long stop, wk_queue_line_fn cb,
                               void *ud);
/* Atomically removes old_line from the dead list and LPUSHes new_line onto analysis_queue;
 * *moved is false when old_line was not there any more. */
enum sg_err wk_queue_dead_requeue(struct wk_queue *q, const char *old_line, const char *new_line,
                                  bool *moved);
/* DEL analysis_queue:dead; *n = jobs removed. */
enum sg_err wk_queue_dead_purge(struct wk_queue *q, int64_t *n);

#endif
