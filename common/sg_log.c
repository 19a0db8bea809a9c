/* Why: JSON-lines logging with typed context; see sg_log.h. */
#include "sg_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sg_buf.h"

static enum sg_log_level g_level = SG_LOG_INFO;
static enum sg_log_format g_format = SG_LOG_JSON;
static const char *g_component = NULL;
static int g_fd = 1;

/* Buffered mode (sg_log_set_buffered): pending lines and their lock. */
static pthread_mutex_t g_buf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sg_buf g_pending;
static size_t g_buffer_cap;

/* This thread's job context (sg_log_context_set): copies, so the caller's strings may go. */
struct ctx_copy {
    bool set;
    char delivery[256], repo[256], sha[256];
    bool has_delivery, has_repo, has_sha;
    long long installation;
    int attempt;
};
static _Thread_local struct ctx_copy tl_ctx;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool sg_log_parse_level(const char *s, enum sg_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum sg_log_level)i;
            return true;
        }
    }
    /* Probot's (pino's) other names, so an existing Probot .env works: trace is our most
     * verbose level, fatal our least. */
    static const struct {
        const char *name;
        enum sg_log_level level;
    } aliases[] = {{"warning", SG_LOG_WARN}, {"trace", SG_LOG_DEBUG}, {"fatal", SG_LOG_ERROR}};
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcasecmp(s, aliases[i].name) == 0) {
            *out = aliases[i].level;
            return true;
        }
    }
    return false;
}

bool sg_log_parse_format(const char *s, enum sg_log_format *out)
{
    if (strcasecmp(s, "json") == 0) {
        *out = SG_LOG_JSON;
        return true;
    }
    if (strcasecmp(s, "text") == 0 || strcasecmp(s, "pretty") == 0) {
        *out = SG_LOG_TEXT;
        return true;
    }
    return false;
}

void sg_log_init(enum sg_log_level level, enum sg_log_format format, const char *component)
{
    g_level = level;
    g_format = format;
    g_component = component;
}

void sg_log_set_fd(int fd)
{
    g_fd = fd;
}

static bool copy_field(char *dst, size_t cap, const char *src)
{
    if (!src)
        return false;
    snprintf(dst, cap, "%s", src);
    return true;
}

void sg_log_context_set(const struct sg_log_context *ctx)
{
    sg_log_context_clear();
    if (!ctx)
        return;
    tl_ctx.has_delivery = copy_field(tl_ctx.delivery, sizeof tl_ctx.delivery, ctx->delivery);
    tl_ctx.has_repo = copy_field(tl_ctx.repo, sizeof tl_ctx.repo, ctx->repo);
    tl_ctx.has_sha = copy_field(tl_ctx.sha, sizeof tl_ctx.sha, ctx->sha);
    tl_ctx.installation = ctx->installation;
    tl_ctx.attempt = ctx->attempt;
    tl_ctx.set = true;
}

void sg_log_context_clear(void)
{
    memset(&tl_ctx, 0, sizeof tl_ctx);
}

static void write_all(const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(g_fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
}

/* Writes the pending batch; the caller holds g_buf_lock. */
static void flush_locked(void)
{
    if (g_pending.len)
        write_all(g_pending.data, g_pending.len);
    sg_buf_reset(&g_pending);
}

void sg_log_set_buffered(size_t cap)
{
    pthread_mutex_lock(&g_buf_lock);
    flush_locked();
    if (!cap)
        sg_buf_free(&g_pending);
    sg_buf_init(&g_pending, cap ? cap : 1);
    g_buffer_cap = cap;
    pthread_mutex_unlock(&g_buf_lock);
}

void sg_log_flush(void)
{
    pthread_mutex_lock(&g_buf_lock);
    flush_locked();
    pthread_mutex_unlock(&g_buf_lock);
}

static void put_key(struct sg_buf *b, const char *key)
{
    if (g_format == SG_LOG_JSON) {
        sg_buf_putc(b, ',');
        sg_buf_put_json_str(b, key, strlen(key));
        sg_buf_putc(b, ':');
    } else {
        sg_buf_putc(b, ' ');
        sg_buf_puts(b, key);
        sg_buf_putc(b, '=');
    }
}

/* "%.3f" without printf's floating-point path, which was a tenth of the ingress's per-request
 * log line; values out of range (and NaN) still go through printf. */
static void put_fixed3(struct sg_buf *b, double v)
{
    if (!(v > -1e12 && v < 1e12)) {
        sg_buf_printf(b, "%.3f", v);
        return;
    }
    long long m = (long long)(v * 1000.0 + (v < 0 ? -0.5 : 0.5));
    if (m < 0) {
        sg_buf_putc(b, '-');
        m = -m;
    }
    sg_buf_put_i64(b, m / 1000);
    char frac[4] = {(char)('.'), (char)('0' + m % 1000 / 100), (char)('0' + m % 100 / 10),
                    (char)('0' + m % 10)};
    sg_buf_append(b, frac, sizeof frac);
}

static void put_text_value(struct sg_buf *b, const char *v)
{
    /* Quote when the value has spaces or quotes, so a text line stays parseable as logfmt. */
    if (!*v || strpbrk(v, " \t\"=\n"))
        sg_buf_put_json_str(b, v, strlen(v));
    else
        sg_buf_puts(b, v);
}

static void put_str_kv(struct sg_buf *b, const char *key, const char *v)
{
    put_key(b, key);
    if (g_format == SG_LOG_JSON)
        sg_buf_put_json_str(b, v, strlen(v));
    else
        put_text_value(b, v);
}

enum { C_DELIVERY = 1, C_INSTALLATION = 2, C_REPO = 4, C_SHA = 8, C_ATTEMPT = 16 };

/* Which context keys the call site passes itself (those are not repeated: one key once per line).
 * Reads a copy of the arguments. */
static unsigned context_keys_given(va_list args)
{
    unsigned given = 0;
    va_list ap;
    va_copy(ap, args);
    for (;;) {
        enum sg_kv_type t = (enum sg_kv_type)va_arg(ap, int);
        if (t == SG_KV_T_END || t > SG_KV_T_BOOL)
            break;
        const char *key = va_arg(ap, const char *);
        if (t == SG_KV_T_STR)
            (void)va_arg(ap, const char *);
        else if (t == SG_KV_T_INT)
            (void)va_arg(ap, long long);
        else if (t == SG_KV_T_DBL)
            (void)va_arg(ap, double);
        else
            (void)va_arg(ap, int);
        given |= !strcmp(key, "delivery")       ? C_DELIVERY
                 : !strcmp(key, "installation") ? C_INSTALLATION
                 : !strcmp(key, "repo")         ? C_REPO
                 : !strcmp(key, "sha")          ? C_SHA
                 : !strcmp(key, "attempt")      ? C_ATTEMPT
                                                : 0u;
    }
    va_end(ap);
    return given;
}

/* The thread's job context, right after msg (where the hand-written keys used to be). */
static void put_context(struct sg_buf *b, unsigned given)
{
    if (tl_ctx.has_delivery && !(given & C_DELIVERY))
        put_str_kv(b, "delivery", tl_ctx.delivery);
    if (tl_ctx.installation && !(given & C_INSTALLATION)) {
        put_key(b, "installation");
        sg_buf_put_i64(b, tl_ctx.installation);
    }
    if (tl_ctx.has_repo && !(given & C_REPO))
        put_str_kv(b, "repo", tl_ctx.repo);
    if (tl_ctx.has_sha && !(given & C_SHA))
        put_str_kv(b, "sha", tl_ctx.sha);
    if (tl_ctx.attempt >= 0 && !(given & C_ATTEMPT)) {
        put_key(b, "attempt");
        sg_buf_put_i64(b, tl_ctx.attempt);
    }
}

void sg_log(enum sg_log_level level, const char *msg, ...)
{
    if (level < g_level)
        return;
    int saved_errno = errno;
    struct sg_buf b;
    sg_buf_init(&b, 16384);

    sg_buf_reserve(&b, 480); /* one allocation for a typical line */

    /* The "YYYY-MM-DDTHH:MM:SS" part changes once a second: format it then, per thread, and
     * add the milliseconds by hand (the ingress logs a line per webhook; gmtime_r + snprintf
     * were a visible part of its per-request cost). */
    static _Thread_local time_t tl_sec = (time_t)-1;
    static _Thread_local char tl_prefix[40];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != tl_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        snprintf(tl_prefix, sizeof tl_prefix, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        tl_sec = tv.tv_sec;
    }
    char ts[48];
    size_t plen = strlen(tl_prefix);
    int ms = (int)(tv.tv_usec / 1000);
    memcpy(ts, tl_prefix, plen);
    ts[plen] = '.';
    ts[plen + 1] = (char)('0' + ms / 100);
    ts[plen + 2] = (char)('0' + ms / 10 % 10);
    ts[plen + 3] = (char)('0' + ms % 10);
    ts[plen + 4] = 'Z';
    ts[plen + 5] = '\0';

    if (g_format == SG_LOG_JSON) {
        sg_buf_puts(&b, "{\"ts\":\"");
        sg_buf_puts(&b, ts);
        sg_buf_puts(&b, "\",\"level\":\"");
        sg_buf_puts(&b, level_names[level]);
        sg_buf_puts(&b, "\"");
        if (g_component) {
            sg_buf_puts(&b, ",\"component\":");
            sg_buf_put_json_str(&b, g_component, strlen(g_component));
        }
        sg_buf_puts(&b, ",\"msg\":");
        sg_buf_put_json_str(&b, msg, strlen(msg));
    } else {
        sg_buf_printf(&b, "%s %-5s ", ts, level_names[level]);
        sg_buf_puts(&b, msg);
    }

    va_list ap;
    va_start(ap, msg);
    if (tl_ctx.set)
        put_context(&b, context_keys_given(ap));
    for (;;) {
        enum sg_kv_type t = (enum sg_kv_type)va_arg(ap, int);
        if (t == SG_KV_T_END)
            break;
        const char *key = va_arg(ap, const char *);
        put_key(&b, key);
        switch (t) {
        case SG_KV_T_STR: {
            const char *v = va_arg(ap, const char *);
            if (!v)
                sg_buf_puts(&b, "null");
            else if (g_format == SG_LOG_JSON)
                sg_buf_put_json_str(&b, v, strlen(v));
            else
                put_text_value(&b, v);
            break;
        }
        case SG_KV_T_INT:
            sg_buf_put_i64(&b, (int64_t)va_arg(ap, long long));
            break;
        case SG_KV_T_DBL:
            put_fixed3(&b, va_arg(ap, double));
            break;
        case SG_KV_T_BOOL:
            sg_buf_puts(&b, va_arg(ap, int) ? "true" : "false");
            break;
        default:
            goto done; /* a caller bug: stop reading arguments */
        }
    }
done:
    va_end(ap);
    if (g_format == SG_LOG_JSON)
        sg_buf_putc(&b, '}');
    sg_buf_putc(&b, '\n');
    if (b.data) {
        if (g_buffer_cap) {
            pthread_mutex_lock(&g_buf_lock);
            if (level >= SG_LOG_WARN || g_pending.len + b.len > g_buffer_cap ||
                sg_buf_append(&g_pending, b.data, b.len) != SG_OK) {
                flush_locked();
                if (level >= SG_LOG_WARN || sg_buf_append(&g_pending, b.data, b.len) != SG_OK)
                    write_all(b.data, b.len);
            }
            pthread_mutex_unlock(&g_buf_lock);
        } else {
            write_all(b.data, b.len);
        }
    }
    sg_buf_free(&b);
    errno = saved_errno;
}
