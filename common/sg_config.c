/* Why: validated, table-driven configuration; see sg_config.h. */
#include "sg_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool sg_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

bool sg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

bool sg_parse_duration(const char *s, int64_t *seconds)
{
    if (!s || !*s)
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return false;
    long long mul = 1;
    if (*end) {
        if (end[1] != '\0')
            return false;
        switch (*end) {
        case 's':
            mul = 1;
            break;
        case 'm':
            mul = 60;
            break;
        case 'h':
            mul = 3600;
            break;
        case 'd':
            mul = 86400;
            break;
        default:
            return false;
        }
    }
    if (v > INT64_MAX / mul)
        return false;
    *seconds = (int64_t)(v * mul);
    return true;
}

char *sg_read_secret_file(const char *path, size_t max, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *data = malloc(max + 1);
    if (!data) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = fread(data, 1, max + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(data);
        snprintf(err, errlen, "cannot read %s", path);
        return NULL;
    }
    if (n > max) {
        free(data);
        snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
        return NULL;
    }
    if (n > 0 && data[n - 1] == '\n') {
        n--;
        if (n > 0 && data[n - 1] == '\r')
            n--;
    }
    data[n] = '\0';
    return data;
}

static const char *default_env(const char *name)
{
    return getenv(name);
}

enum sg_err sg_config_load(const struct sg_config_var *vars, size_t n,
                           const char *(*env)(const char *name), char *err, size_t errlen)
{
    if (!env)
        env = default_env;
    for (size_t i = 0; i < n; i++) {
        const struct sg_config_var *v = &vars[i];
        const char *val = env(v->name);
        char *owned = NULL;
        if (val && !*val)
            val = NULL;
        if (v->type == SG_CFG_SECRET) {
            char fname[128];
            snprintf(fname, sizeof fname, "%s_FILE", v->name);
            const char *path = env(fname);
            if (path && *path) {
                if (val) {
                    snprintf(err, errlen, "%s: set either %s or %s, not both", v->name, v->name,
                             fname);
                    return SG_ERR_CONFIG;
                }
                char ferr[256];
                owned = sg_read_secret_file(path, 1 << 20, ferr, sizeof ferr);
                if (!owned) {
                    snprintf(err, errlen, "%s: %s", fname, ferr);
                    return SG_ERR_CONFIG;
                }
                val = owned;
            }
        }
        if (!val)
            val = v->def;
        if (!val || !*val) {
            free(owned);
            if (v->required) {
                if (v->type == SG_CFG_SECRET)
                    snprintf(err, errlen, "%s: required (set %s or %s_FILE)", v->name, v->name,
                             v->name);
                else
                    snprintf(err, errlen, "%s: required", v->name);
                return SG_ERR_CONFIG;
            }
            if (v->type == SG_CFG_STR || v->type == SG_CFG_SECRET)
                *(char **)v->dst = NULL;
            continue;
        }
        switch (v->type) {
        case SG_CFG_STR:
        case SG_CFG_SECRET: {
            char *copy = owned ? owned : strdup(val);
            if (!copy) {
                snprintf(err, errlen, "%s: out of memory", v->name);
                return SG_ERR_NOMEM;
            }
            free(*(char **)v->dst);
            *(char **)v->dst = copy;
            owned = NULL;
            break;
        }
        case SG_CFG_INT:
            if (!sg_parse_i64(val, v->min, v->max, (int64_t *)v->dst)) {
                snprintf(err, errlen, "%s: expected an integer from %lld to %lld, got \"%.40s\"",
                         v->name, (long long)v->min, (long long)v->max, val);
                free(owned);
                return SG_ERR_CONFIG;
            }
            break;
        case SG_CFG_BOOL:
            if (!sg_parse_bool(val, (bool *)v->dst)) {
                snprintf(err, errlen, "%s: expected true or false, got \"%.40s\"", v->name, val);
                free(owned);
                return SG_ERR_CONFIG;
            }
            break;
        }
        free(owned);
    }
    return SG_OK;
}

void sg_config_free(const struct sg_config_var *vars, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (vars[i].type == SG_CFG_STR || vars[i].type == SG_CFG_SECRET) {
            free(*(char **)vars[i].dst);
            *(char **)vars[i].dst = NULL;
        }
    }
}

void sg_config_print_help(const struct sg_config_var *vars, size_t n, void *file)
{
    FILE *f = file;
    for (size_t i = 0; i < n; i++) {
        const struct sg_config_var *v = &vars[i];
        char name[160];
        if (v->type == SG_CFG_SECRET)
            snprintf(name, sizeof name, "%s / %s_FILE", v->name, v->name);
        else
            snprintf(name, sizeof name, "%s", v->name);
        fprintf(f, "  %-34s %s", name, v->help ? v->help : "");
        if (v->required)
            fprintf(f, " (required)");
        else if (v->def && v->type != SG_CFG_SECRET)
            fprintf(f, " (default: %s)", v->def);
        fputc('\n', f);
    }
}
