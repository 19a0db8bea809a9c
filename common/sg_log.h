/* Why: one JSON object per line on stdout (LOG_FORMAT=json, the default) or a readable text line
 * (LOG_FORMAT=text), with typed context keys so callers cannot forget quoting. Never pass a secret
 * or a payload.
 *
 *   sg_log_info("webhook queued", SG_KV_STR("delivery", id), SG_KV_INT("status", 202), SG_KV_END);
 *
 * Each line is written with one write(2), so lines from several threads or processes sharing a
 * pipe do not interleave.
 *
 * A per-thread context (pgbouncer's idea: log helpers that add the client's context): while a
 * worker runs a job, sg_log_context_set() makes every line that thread writes carry the job's
 * delivery, installation, repo, sha and attempt, also lines written deep in the database or GitHub
 * code that knows nothing of jobs. A key the call site passes itself wins over the context's. */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum sg_log_level { SG_LOG_DEBUG = 0, SG_LOG_INFO, SG_LOG_WARN, SG_LOG_ERROR };
enum sg_log_format { SG_LOG_JSON = 0, SG_LOG_TEXT };

enum sg_kv_type { SG_KV_T_END = 0, SG_KV_T_STR, SG_KV_T_INT, SG_KV_T_DBL, SG_KV_T_BOOL };

#define SG_KV_STR(k, v)  SG_KV_T_STR, (const char *)(k), (const char *)(v)
#define SG_KV_INT(k, v)  SG_KV_T_INT, (const char *)(k), (long long)(v)
#define SG_KV_DBL(k, v)  SG_KV_T_DBL, (const char *)(k), (double)(v)
#define SG_KV_BOOL(k, v) SG_KV_T_BOOL, (const char *)(k), (int)(!!(v))
#define SG_KV_END        SG_KV_T_END

/* Parses "debug|info|warn|error" (and Probot's "trace", "fatal", plus "warning") /
 * "json|text"; returns false on an unknown name. */
bool sg_log_parse_level(const char *s, enum sg_log_level *out);
bool sg_log_parse_format(const char *s, enum sg_log_format *out);

/* Process-wide settings; call once at start. fd defaults to 1 (stdout). */
void sg_log_init(enum sg_log_level level, enum sg_log_format format, const char *component);
void sg_log_set_fd(int fd);

/* The job a thread is working on. Strings are copied (cut at 255 bytes); NULL strings,
 * installation 0 and attempt < 0 are left out of the lines. */
struct sg_log_context {
    const char *delivery;
    long long installation;
    const char *repo;
    const char *sha;
    int attempt;
};
void sg_log_context_set(const struct sg_log_context *ctx);
/* Lines from this thread carry no context again. */
void sg_log_context_clear(void);

/* Buffered mode (ingress hot path): info/debug lines are collected in memory (at most cap bytes)
 * and written by sg_log_flush() with one write(2), so a busy server pays one syscall per batch
 * instead of one per line. warn/error lines flush the batch and go out at once, so order is kept.
 * The caller flushes periodically (e.g. every 50 ms) and before exit. cap 0 turns it off. */
void sg_log_set_buffered(size_t cap);
void sg_log_flush(void);

/* A NULL string value is written as JSON null. Arguments end with SG_KV_END. */
void sg_log(enum sg_log_level level, const char *msg, ...);

#define sg_log_debug(...) sg_log(SG_LOG_DEBUG, __VA_ARGS__)
#define sg_log_info(...)  sg_log(SG_LOG_INFO, __VA_ARGS__)
#define sg_log_warn(...)  sg_log(SG_LOG_WARN, __VA_ARGS__)
#define sg_log_error(...) sg_log(SG_LOG_ERROR, __VA_ARGS__)

#endif
