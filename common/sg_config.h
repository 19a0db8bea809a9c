/* Why: one settings table per binary (pgbouncer's idea). Every variable is read from the
 * environment once at start, secrets may come from NAME_FILE (Kubernetes/Docker secrets, one
 * trailing newline removed), and every problem is reported as one clear line naming the variable.
 *
 * Ownership: string results are malloc'ed copies owned by the caller's struct; free them with
 * sg_config_free(). */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_err.h"

enum sg_config_type {
    SG_CFG_STR,    /* char ** */
    SG_CFG_SECRET, /* char **; also NAME_FILE; never printed */
    SG_CFG_INT,    /* int64_t *, checked against [min, max] */
    SG_CFG_BOOL,   /* bool *: 1/0/true/false/yes/no/on/off */
};

struct sg_config_var {
    const char *name; /* environment variable */
    enum sg_config_type type;
    const char *def;  /* default as text; NULL = no default */
    bool required;    /* an empty/missing value is an error */
    int64_t min, max; /* for SG_CFG_INT */
    void *dst;        /* where the parsed value goes */
    const char *help; /* one line for --help */
};

/* Loads every variable of the table. On the first problem returns SG_ERR_CONFIG with a message
 * such as "WEBHOOK_SECRET: required (set WEBHOOK_SECRET or WEBHOOK_SECRET_FILE)" in err. The env
 * callback, when non-NULL, replaces getenv (tests). */
enum sg_err sg_config_load(const struct sg_config_var *vars, size_t n,
                           const char *(*env)(const char *name), char *err, size_t errlen);

/* Frees the strings the table's SG_CFG_STR/SECRET destinations hold and sets them to NULL. */
void sg_config_free(const struct sg_config_var *vars, size_t n);

/* Writes "  NAME  (default: X)  help" lines for --help. */
void sg_config_print_help(const struct sg_config_var *vars, size_t n, void *file /* FILE* */);

/* Strict integer parse of the whole string (no atoi): false when not a number or out of range. */
bool sg_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
bool sg_parse_bool(const char *s, bool *out);

/* Reads a secret file (at most max bytes), removing one trailing newline ("\n" or "\r\n").
 * Returns a malloc'ed string or NULL with a reason in err. */
char *sg_read_secret_file(const char *path, size_t max, char *err, size_t errlen);

/* Parses a duration such as "90", "90s", "15m", "2h", "1d" into seconds. */
bool sg_parse_duration(const char *s, int64_t *seconds);

#endif
