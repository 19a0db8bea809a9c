/* Why: the three faces of a result: DESIGN.md's JSON object (stored by the worker, printed by
 * --format json), SARIF 2.1.0 for GitHub code scanning, and a table for people. All three write
 * into a capped sg_buf; strings from the repository (paths, messages) are always escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_internal.h"

static enum sg_err an_json_counts(struct sg_buf *b, const struct an_counts *c, bool totals)
{
    if (totals)
        return sg_buf_printf(b,
                             "{\"files\":%llu,\"code\":%llu,\"comment\":%llu,\"blank\":%llu,"
                             "\"bytes\":%llu,\"complexity\":%llu}",
                             (unsigned long long)c->files, (unsigned long long)c->code,
                             (unsigned long long)c->comment, (unsigned long long)c->blank,
                             (unsigned long long)c->bytes, (unsigned long long)c->complexity);
    return sg_buf_printf(
        b, "\"files\":%llu,\"code\":%llu,\"comment\":%llu,\"blank\":%llu,\"complexity\":%llu",
        (unsigned long long)c->files, (unsigned long long)c->code, (unsigned long long)c->comment,
        (unsigned long long)c->blank, (unsigned long long)c->complexity);
}

/* A number with one decimal as DESIGN.md shows (7.0), more digits only when it has them (6.75). */
static enum sg_err an_put_num(struct sg_buf *b, double v)
{
    char one[32];
    snprintf(one, sizeof one, "%.1f", v);
    if (strtod(one, NULL) == v)
        return sg_buf_puts(b, one);
    return sg_buf_printf(b, "%.6g", v);
}

enum sg_err an_result_json(const struct an_result *r, struct sg_buf *b)
{
    CK(sg_buf_puts(b, "{\"score\":"));
    CK(an_put_num(b, r->score));
    CK(sg_buf_puts(b, ",\"threshold\":"));
    CK(an_put_num(b, r->threshold));
    CK(sg_buf_printf(b, ",\"passed\":%s,\"score_breakdown\":[", r->passed ? "true" : "false"));
    for (int d = 0; d < AN_NDEBT; d++) { /* every kind, in a fixed order; costs sum to 10-score */
        const struct an_debt_cost *x = &r->breakdown[d];
        CK(sg_buf_printf(b, "%s{\"kind\":\"%s\",\"cost\":", d ? "," : "",
                         an_debt_str((enum an_debt)d)));
        CK(an_put_num(b, x->cost));
        CK(sg_buf_printf(b, ",\"findings\":%llu,\"files\":%llu}", (unsigned long long)x->findings,
                         (unsigned long long)x->files));
    }
    CK(sg_buf_puts(b, "],\"totals\":"));
    CK(an_json_counts(b, &r->totals, true));
    CK(sg_buf_puts(b, ",\"languages\":["));
    for (size_t i = 0; i < r->nlanguages; i++) {
        CK(sg_buf_puts(b, i ? ",{\"name\":" : "{\"name\":"));
        CK(sg_buf_put_json_str(b, r->languages[i].name, strlen(r->languages[i].name)));
        CK(sg_buf_putc(b, ','));
        CK(an_json_counts(b, &r->languages[i].counts, false));
        CK(sg_buf_putc(b, '}'));
    }
    CK(sg_buf_puts(b, "],\"findings\":["));
    for (size_t i = 0; i < r->nfindings; i++) {
        const struct an_finding *f = &r->findings[i];
        CK(sg_buf_printf(b, "%s{\"rule\":\"%s\",\"severity\":\"%s\",\"path\":", i ? "," : "",
                         f->rule, an_severity_str(f->severity)));
        CK(sg_buf_put_json_str(b, f->path, strlen(f->path)));
        CK(sg_buf_printf(b, ",\"line\":%u,\"message\":", f->line));
        CK(sg_buf_put_json_str(b, f->message, strlen(f->message)));
        CK(an_json_finding_gate(r, f, b));
        CK(sg_buf_putc(b, '}'));
    }
    CK(sg_buf_puts(b, "],\"rule_counts\":{"));
    for (size_t i = 0; i < r->nrule_counts; i++)
        CK(sg_buf_printf(b, "%s\"%s\":%llu", i ? "," : "", r->rule_counts[i].rule,
                         (unsigned long long)r->rule_counts[i].count));
    const struct an_skipped *s = &r->skipped;
    CK(sg_buf_printf(
        b,
        "},\"skipped\":{\"binary\":%llu,\"vendored\":%llu,\"generated\":%llu,\"minified\":%llu,"
        "\"too_large\":%llu,\"unsafe\":%llu},\"config_errors\":[",
        (unsigned long long)s->binary, (unsigned long long)s->vendored,
        (unsigned long long)s->generated, (unsigned long long)s->minified,
        (unsigned long long)s->too_large, (unsigned long long)s->unsafe));
    for (size_t i = 0; i < r->nconfig_errors; i++) {
        if (i)
            CK(sg_buf_putc(b, ','));
        CK(sg_buf_put_json_str(b, r->config_errors[i], strlen(r->config_errors[i])));
    }
    CK(sg_buf_putc(b, ']'));
    CK(an_json_gate(r, b));
    return sg_buf_putc(b, '}');
}

/* SARIF artifact URIs are RFC 3986 relative references: percent-encode all but unreserved
 * characters and '/'. */
static enum sg_err an_put_uri(struct sg_buf *b, const char *p)
{
    CK(sg_buf_putc(b, '"'));
    for (const unsigned char *s = (const unsigned char *)p; *s; s++) {
        unsigned char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
            CK(sg_buf_putc(b, (char)c));
        else
            CK(sg_buf_printf(b, "%%%02X", c));
    }
    return sg_buf_putc(b, '"');
}

static const char *an_sarif_level(enum an_severity s)
{
    return s == AN_ERROR ? "error" : s == AN_WARNING ? "warning" : "note";
}

enum sg_err an_result_sarif(const struct an_result *r, struct sg_buf *b)
{
    CK(sg_buf_puts(
        b,
        "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
        "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"Singularity\",\"version\":\"" SG_VERSION "\","
        "\"semanticVersion\":\"" SG_VERSION "\","
        "\"informationUri\":\"https://github.com/singularity/singularity\",\"rules\":["));
    for (int k = 0; k < AN_NRULES; k++) {
        const char *name = an_rule_name(an_rule_ids[k]);
        /* SARIF rule names are PascalCase identifiers; the readable name is the short description
         */
        char pascal[64];
        size_t j = 0;
        bool up = true;
        for (const char *c = name; *c && j + 1 < sizeof pascal; c++) {
            if (*c == ' ') {
                up = true;
                continue;
            }
            pascal[j++] = up && *c >= 'a' && *c <= 'z' ? (char)(*c - 32) : *c;
            up = false;
        }
        pascal[j] = '\0';
        CK(sg_buf_printf(b,
                         "%s{\"id\":\"%s\",\"name\":\"%s\",\"shortDescription\":{\"text\":\"%s.\"},"
                         "\"fullDescription\":{\"text\":\"%s (Singularity rule %s).\"},"
                         "\"helpUri\":\"https://github.com/singularity/singularity/blob/main/docs/"
                         "analysis.md#rules\","
                         "\"help\":{\"text\":\"See docs/analysis.md for what %s finds and how to "
                         "configure it.\"},"
                         "\"defaultConfiguration\":{\"level\":\"%s\"}}",
                         k ? "," : "", an_rule_ids[k], pascal, name, name, an_rule_ids[k],
                         an_rule_ids[k], an_sarif_level(an_rule_default_sev[k])));
    }
    CK(sg_buf_puts(b, "]}},\"originalUriBaseIds\":{\"SRCROOT\":{\"description\":{\"text\":\"The "
                      "repository root.\"}}},"
                      "\"columnKind\":\"unicodeCodePoints\",\"results\":["));
    /* the findings, then (with a base) the fixed ones, as results with baselineState absent */
    for (size_t i = 0; i < r->nfindings + r->nfixed; i++) {
        const struct an_finding *f =
            i < r->nfindings ? &r->findings[i] : &r->fixed[i - r->nfindings];
        int k = an_rule_index(f->rule);
        CK(sg_buf_printf(
            b, "%s{\"ruleId\":\"%s\",\"ruleIndex\":%d,\"level\":\"%s\",\"message\":{\"text\":",
            i ? "," : "", f->rule, k, an_sarif_level(f->severity)));
        /* SARIF asks that a plain-text message ends with a period */
        char msg[600];
        size_t ml = strlen(f->message);
        snprintf(msg, sizeof msg, "%s%s", f->message, ml && f->message[ml - 1] == '.' ? "" : ".");
        CK(sg_buf_put_json_str(b, msg, strlen(msg)));
        CK(sg_buf_puts(b,
                       "},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":"));
        CK(an_put_uri(b, f->path));
        CK(sg_buf_printf(b, ",\"uriBaseId\":\"SRCROOT\"},\"region\":{\"startLine\":%u}}}]",
                         f->line));
        CK(an_sarif_result_gate(r, f, b));
        CK(sg_buf_putc(b, '}'));
    }
    return sg_buf_puts(b, "]}]}\n");
}

/* Repository text printed to a terminal: control characters (escape sequences in a hostile file
 * name) become '?'. */
static const char *an_safe(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    buf[i] = '\0';
    return buf;
}

enum sg_err an_result_table(const struct an_result *r, struct sg_buf *b)
{
    char sp[1024];
    static const char *const rule =
        "-------------------------------------------------------------------------------\n";
    CK(sg_buf_printf(b, "%s %-24s %8s %10s %10s %10s %10s\n%s", rule, "Language", "Files", "Code",
                     "Comment", "Blank", "Complexity", rule));
    for (size_t i = 0; i < r->nlanguages; i++) {
        const struct an_counts *c = &r->languages[i].counts;
        CK(sg_buf_printf(b, " %-24s %8llu %10llu %10llu %10llu %10llu\n", r->languages[i].name,
                         (unsigned long long)c->files, (unsigned long long)c->code,
                         (unsigned long long)c->comment, (unsigned long long)c->blank,
                         (unsigned long long)c->complexity));
    }
    const struct an_counts *t = &r->totals;
    CK(sg_buf_printf(b, "%s %-24s %8llu %10llu %10llu %10llu %10llu\n%s", rule, "Total",
                     (unsigned long long)t->files, (unsigned long long)t->code,
                     (unsigned long long)t->comment, (unsigned long long)t->blank,
                     (unsigned long long)t->complexity, rule));
    CK(an_table_gate(r, b));
    if (r->nrule_counts) {
        CK(sg_buf_puts(b, "\nFindings by rule:\n"));
        for (size_t i = 0; i < r->nrule_counts; i++) {
            const char *id = r->rule_counts[i].rule;
            CK(sg_buf_printf(b, "  %-7s %-28s %8llu\n", id, an_rule_name(id),
                             (unsigned long long)r->rule_counts[i].count));
        }
        size_t top = r->nfindings < 20 ? r->nfindings : 20;
        CK(sg_buf_printf(b, "\nTop findings (%zu of %llu):\n", top,
                         (unsigned long long)r->findings_total));
        for (size_t i = 0; i < top; i++) {
            const struct an_finding *f = &r->findings[i];
            CK(sg_buf_printf(b, "  %-7s %s %s:%u: %s\n", an_severity_str(f->severity), f->rule,
                             an_safe(f->path, sp, sizeof sp), f->line, f->message));
        }
    } else {
        CK(sg_buf_puts(b, "\nNo findings.\n"));
    }
    const struct an_skipped *s = &r->skipped;
    CK(sg_buf_printf(
        b,
        "\nSkipped: binary %llu, vendored %llu, generated %llu, minified %llu, too large %llu, "
        "unsafe %llu, excluded %llu\n",
        (unsigned long long)s->binary, (unsigned long long)s->vendored,
        (unsigned long long)s->generated, (unsigned long long)s->minified,
        (unsigned long long)s->too_large, (unsigned long long)s->unsafe,
        (unsigned long long)s->excluded));
    for (size_t i = 0; i < r->nconfig_errors; i++)
        CK(sg_buf_printf(b, "Config error: %s\n", an_safe(r->config_errors[i], sp, sizeof sp)));
    return SG_OK;
}
