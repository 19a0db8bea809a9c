/* Why: a repository's .singularity.yml tunes the analysis, but a broken one must never stop it:
 * every problem becomes one "FILE:LINE: key: problem" line in config_errors and the default stays.
 * libyaml's document loader gives line numbers for every node; the text is capped before parsing
 * and node counts are bounded by that cap, so a hostile file costs bounded time and memory. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "an_internal.h"
#include "an_secrets.h"
#include "sg_config.h"

#define AN_CONFIG_MAX_ERRORS 50
#define AN_CONFIG_MAX_LIST   1000

void an_config_defaults(struct an_config *c)
{
    memset(c, 0, sizeof *c);
    c->quality_threshold = 7.0;
    c->max_line_length = 120;
    c->max_file_lines = 2000;     /* p95 of source files in the reference set */
    c->max_file_complexity = 200; /* p95 likewise (docs/analysis.md, "File kinds") */
    c->default_excludes = true;
    c->gate = (struct an_gate_cfg){.fail_on = AN_ERROR, .max_score_drop = 0.5};
}

void an_config_add_error(struct an_config *c, const char *fmt, ...)
{
    if (c->nerrors >= AN_CONFIG_MAX_ERRORS)
        return;
    char **n = realloc(c->errors, (c->nerrors + 1) * sizeof *n);
    if (!n)
        return;
    c->errors = n;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (s)
        c->errors[c->nerrors++] = s;
}

void an_config_free(struct an_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nexclude; i++)
        free(c->exclude[i]);
    free(c->exclude);
    free(c->languages);
    for (size_t i = 0; i < c->nlang_globs; i++)
        free(c->lang_globs[i]);
    free(c->lang_globs);
    free(c->lang_of_glob);
    c->lang_globs = NULL, c->lang_of_glob = NULL, c->nlang_globs = 0;
    for (size_t i = 0; i < c->nsec_allow; i++)
        free(c->sec_allow[i]);
    free(c->sec_allow);
    for (size_t i = 0; i < c->nsec_disable; i++)
        free(c->sec_disable[i]);
    free(c->sec_disable);
    c->sec_allow = c->sec_disable = NULL, c->nsec_allow = c->nsec_disable = 0;
    for (size_t i = 0; i < c->nerrors; i++)
        free(c->errors[i]);
    free(c->errors);
    c->exclude = NULL, c->languages = NULL, c->errors = NULL;
    c->nexclude = c->nlanguages = c->nerrors = 0;
}

static const char *an_scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static unsigned long an_line(yaml_node_t *n)
{
    return (unsigned long)n->start_mark.line + 1;
}

static bool an_get_uint(struct an_config *c, const char *file, const char *key, yaml_node_t *v,
                        uint32_t lo, uint32_t hi, uint32_t *out)
{
    const char *s = an_scalar(v);
    int64_t x;
    if (!s || !sg_parse_i64(s, INT64_MIN, INT64_MAX, &x)) {
        an_config_add_error(c, "%s:%lu: %s: expected an integer", file, an_line(v), key);
        return false;
    }
    if (x < (int64_t)lo || x > (int64_t)hi) {
        an_config_add_error(c, "%s:%lu: %s: %lld is out of range (%u to %u)", file, an_line(v), key,
                            (long long)x, lo, hi);
        return false;
    }
    *out = (uint32_t)x;
    return true;
}

static void an_parse_list(struct an_config *c, const char *file, const char *key,
                          yaml_document_t *doc, yaml_node_t *v, bool langs)
{
    if (v->type != YAML_SEQUENCE_NODE) {
        an_config_add_error(c, "%s:%lu: %s: expected a list", file, an_line(v), key);
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > AN_CONFIG_MAX_LIST) {
        an_config_add_error(c, "%s:%lu: %s: more than %d entries", file, an_line(v), key,
                            AN_CONFIG_MAX_LIST);
        return;
    }
    char **pats = NULL;
    int *ls = NULL;
    size_t cnt = 0;
    if (langs)
        ls = calloc(n ? n : 1, sizeof *ls);
    else
        pats = calloc(n ? n : 1, sizeof *pats);
    if (!ls && !pats)
        return;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(doc, *it);
        const char *s = an_scalar(e);
        if (!s || !*s) {
            an_config_add_error(c, "%s:%lu: %s: expected a string", file,
                                e ? an_line(e) : an_line(v), key);
            continue;
        }
        if (langs) {
            int l = an_lang_by_name(s);
            if (l < 0) {
                an_config_add_error(
                    c,
                    "%s:%lu: %s: unknown language \"%.64s\" (use tokei's names, e.g. \"C Header\")",
                    file, an_line(e), key, s);
                continue;
            }
            ls[cnt++] = l;
        } else {
            char *d = strdup(s);
            if (d)
                pats[cnt++] = d;
        }
    }
    if (langs) {
        free(c->languages);
        c->languages = ls;
        c->nlanguages = cnt;
    } else {
        for (size_t i = 0; i < c->nexclude; i++)
            free(c->exclude[i]);
        free(c->exclude);
        c->exclude = pats;
        c->nexclude = cnt;
    }
}

/* `languages` as a mapping: glob -> language name, overriding detection (e.g. "*.inc": C). */
static void an_parse_lang_map(struct an_config *c, const char *file, yaml_document_t *doc,
                              yaml_node_t *v)
{
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > AN_CONFIG_MAX_LIST) {
        an_config_add_error(c, "%s:%lu: languages: more than %d entries", file, an_line(v),
                            AN_CONFIG_MAX_LIST);
        return;
    }
    char **globs = calloc(n ? n : 1, sizeof *globs);
    int *langs = calloc(n ? n : 1, sizeof *langs);
    size_t cnt = 0;
    if (!globs || !langs) {
        free(globs);
        free(langs);
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key),
                    *val = yaml_document_get_node(doc, p->value);
        const char *g = an_scalar(k), *name = an_scalar(val);
        int l = name ? an_lang_by_name(name) : -1;
        if (!g || !*g || l < 0) {
            an_config_add_error(c,
                                "%s:%lu: languages: expected \"glob\": language name (tokei's "
                                "names), got \"%.64s\"",
                                file, val ? an_line(val) : an_line(v), name ? name : "?");
            continue;
        }
        if (!(globs[cnt] = strdup(g)))
            break;
        langs[cnt++] = l;
    }
    c->lang_globs = globs;
    c->lang_of_glob = langs;
    c->nlang_globs = cnt;
}

static void an_parse_rules(struct an_config *c, const char *file, yaml_document_t *doc,
                           yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE) {
        an_config_add_error(
            c, "%s:%lu: rules: expected a mapping of rule id to off|error|warning|notice", file,
            an_line(v));
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key),
                    *val = yaml_document_get_node(doc, p->value);
        const char *id = an_scalar(k), *s = an_scalar(val);
        int r = an_rule_index(id);
        if (r < 0) {
            an_config_add_error(c, "%s:%lu: rules: unknown rule \"%.32s\"", file,
                                k ? an_line(k) : 0, id ? id : "?");
            continue;
        }
        if (s && (strcasecmp(s, "off") == 0 || strcasecmp(s, "false") == 0)) {
            c->rules[r].off = true;
        } else if (s && strcasecmp(s, "error") == 0) {
            c->rules[r] = (struct an_rule_cfg){.override = true, .sev = AN_ERROR};
        } else if (s && strcasecmp(s, "warning") == 0) {
            c->rules[r] = (struct an_rule_cfg){.override = true, .sev = AN_WARNING};
        } else if (s && strcasecmp(s, "notice") == 0) {
            c->rules[r] = (struct an_rule_cfg){.override = true, .sev = AN_NOTICE};
        } else {
            an_config_add_error(c, "%s:%lu: rules.%s: expected off, error, warning or notice", file,
                                val ? an_line(val) : 0, id);
        }
    }
}

/* One list of `secrets:`: allow regexes must compile (PCRE2), disabled ids must be gitleaks'. */
static void an_parse_secret_list(struct an_config *c, const char *file, yaml_document_t *doc,
                                 yaml_node_t *v, bool allow)
{
    const char *key = allow ? "secrets.allow" : "secrets.disable";
    if (v->type != YAML_SEQUENCE_NODE) {
        an_config_add_error(c, "%s:%lu: %s: expected a list", file, an_line(v), key);
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start), cnt = 0;
    if (n > AN_CONFIG_MAX_LIST) {
        an_config_add_error(c, "%s:%lu: %s: more than %d entries", file, an_line(v), key,
                            AN_CONFIG_MAX_LIST);
        return;
    }
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        return;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(doc, *it);
        const char *s = an_scalar(e);
        char why[200];
        if (!s || !*s) {
            an_config_add_error(c, "%s:%lu: %s: expected a string", file,
                                e ? an_line(e) : an_line(v), key);
        } else if (allow && !an_secrets_regex_ok(s, why, sizeof why)) {
            an_config_add_error(c, "%s:%lu: %s: invalid regex \"%.64s\": %s", file, an_line(e), key,
                                s, why);
        } else if (!allow && an_secret_rule_index(s) < 0) {
            an_config_add_error(c,
                                "%s:%lu: %s: unknown rule \"%.64s\" (use gitleaks' rule ids, "
                                "e.g. \"slack-bot-token\")",
                                file, an_line(e), key, s);
        } else if ((out[cnt] = strdup(s))) {
            cnt++;
        }
    }
    char ***dst = allow ? &c->sec_allow : &c->sec_disable;
    size_t *dn = allow ? &c->nsec_allow : &c->nsec_disable;
    for (size_t i = 0; i < *dn; i++)
        free((*dst)[i]);
    free(*dst);
    *dst = out;
    *dn = cnt;
}

static void an_parse_secrets(struct an_config *c, const char *file, yaml_document_t *doc,
                             yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE) {
        an_config_add_error(c, "%s:%lu: secrets: expected a mapping with allow and disable", file,
                            an_line(v));
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key),
                    *val = yaml_document_get_node(doc, p->value);
        const char *key = an_scalar(k);
        if (key && val && (strcmp(key, "allow") == 0 || strcmp(key, "disable") == 0))
            an_parse_secret_list(c, file, doc, val, key[0] == 'a');
        else
            an_config_add_error(c, "%s:%lu: secrets: unknown setting \"%.64s\" (allow, disable)",
                                file, k ? an_line(k) : 0, key ? key : "?");
    }
}

/* `gate:` (DESIGN.md section 9): scope, fail_on, max_score_drop. */
static void an_parse_gate(struct an_config *c, const char *file, yaml_document_t *doc,
                          yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE) {
        an_config_add_error(c, "%s:%lu: gate: expected a mapping (scope, fail_on, max_score_drop)",
                            file, an_line(v));
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key),
                    *val = yaml_document_get_node(doc, p->value);
        const char *key = an_scalar(k), *s = an_scalar(val);
        unsigned long ln = val ? an_line(val) : 0;
        if (key && strcmp(key, "scope") == 0) {
            if (s && strcmp(s, "new") == 0)
                c->gate.scope_overall = false;
            else if (s && strcmp(s, "overall") == 0)
                c->gate.scope_overall = true;
            else
                an_config_add_error(c, "%s:%lu: gate.scope: expected new or overall", file, ln);
        } else if (key && strcmp(key, "fail_on") == 0) {
            if (s && strcmp(s, "error") == 0)
                c->gate.fail_on = AN_ERROR;
            else if (s && strcmp(s, "warning") == 0)
                c->gate.fail_on = AN_WARNING;
            else if (s && strcmp(s, "notice") == 0)
                c->gate.fail_on = AN_NOTICE;
            else if (s && strcmp(s, "none") == 0)
                c->gate.fail_on = -1;
            else
                an_config_add_error(
                    c, "%s:%lu: gate.fail_on: expected error, warning, notice or none", file, ln);
        } else if (key && strcmp(key, "max_score_drop") == 0) {
            char *e = NULL;
            double d = s ? strtod(s, &e) : NAN;
            if (!s || e == s || *e || !(d >= 0.0 && d <= 10.0))
                an_config_add_error(
                    c, "%s:%lu: gate.max_score_drop: expected a number from 0 to 10", file, ln);
            else
                c->gate.max_score_drop = d;
        } else {
            an_config_add_error(c, "%s:%lu: gate: unknown setting \"%.64s\"", file,
                                k ? an_line(k) : 0, key ? key : "?");
        }
    }
}

void an_config_parse(struct an_config *c, const char *file, const unsigned char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_doc = false;
    if (len > 65536) {
        an_config_add_error(c, "%s:1: file is larger than 64 KiB; ignored", file);
        return;
    }
    if (!yaml_parser_initialize(&parser))
        return;
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        an_config_add_error(c, "%s:%lu: %s", file, (unsigned long)parser.problem_mark.line + 1,
                            parser.problem ? parser.problem : "invalid YAML");
        goto out;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        goto out; /* empty file: all defaults */
    if (root->type != YAML_MAPPING_NODE) {
        an_config_add_error(c, "%s:%lu: expected a mapping of settings at the top level", file,
                            an_line(root));
        goto out;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key),
                    *v = yaml_document_get_node(&doc, p->value);
        const char *key = an_scalar(k);
        if (!key || !v) {
            an_config_add_error(c, "%s:%lu: expected a setting name", file, k ? an_line(k) : 0);
            continue;
        }
        if (strcmp(key, "exclude") == 0) {
            an_parse_list(c, file, key, &doc, v, false);
        } else if (strcmp(key, "languages") == 0) {
            if (v->type == YAML_MAPPING_NODE)
                an_parse_lang_map(c, file, &doc, v);
            else
                an_parse_list(c, file, key, &doc, v, true);
        } else if (strcmp(key, "quality_threshold") == 0) {
            const char *s = an_scalar(v);
            char *e = NULL;
            double d = s ? strtod(s, &e) : NAN;
            if (!s || e == s || *e || !(d >= 0.0 && d <= 10.0))
                an_config_add_error(c, "%s:%lu: quality_threshold: expected a number from 0 to 10",
                                    file, an_line(v));
            else
                c->quality_threshold = d;
        } else if (strcmp(key, "max_line_length") == 0) {
            an_get_uint(c, file, key, v, 1, 100000, &c->max_line_length);
        } else if (strcmp(key, "max_file_lines") == 0) {
            an_get_uint(c, file, key, v, 1, 100000000, &c->max_file_lines);
        } else if (strcmp(key, "max_file_complexity") == 0) {
            an_get_uint(c, file, key, v, 1, 100000000, &c->max_file_complexity);
        } else if (strcmp(key, "default_excludes") == 0) {
            const char *s = an_scalar(v);
            if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0))
                c->default_excludes = true;
            else if (s &&
                     (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0))
                c->default_excludes = false;
            else
                an_config_add_error(c, "%s:%lu: default_excludes: expected true or false", file,
                                    an_line(v));
        } else if (strcmp(key, "rules") == 0) {
            an_parse_rules(c, file, &doc, v);
        } else if (strcmp(key, "secrets") == 0) {
            an_parse_secrets(c, file, &doc, v);
        } else if (strcmp(key, "gate") == 0) {
            an_parse_gate(c, file, &doc, v);
        } else if (strcmp(key, "annotate") == 0) {
            const char *s = an_scalar(v);
            if (s && (strcmp(s, "new") == 0 || strcmp(s, "all") == 0))
                c->gate.annotate_all = strcmp(s, "all") == 0;
            else
                an_config_add_error(c, "%s:%lu: annotate: expected new or all", file, an_line(v));
        } else {
            an_config_add_error(c, "%s:%lu: unknown setting \"%.64s\"", file, an_line(k), key);
        }
    }
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
}
