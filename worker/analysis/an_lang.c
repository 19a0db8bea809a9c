/* Why: language detection follows tokei's order (exact file name, path suffix, extension, and
 * the shebang only for files without an extension) so that both tools count the same files. The
 * tables are generated and sorted, so lookups are binary searches with no initialisation. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "an_internal.h"

const char *const an_rule_ids[AN_NRULES] = {"SEC001", "SEC002", "SEC003", "GIT001",
                                            "STY001", "STY002", "STY003", "STY004",
                                            "MNT001", "CPX001", "SIZ001", "BIN001"};
static const char *const an_rule_names[AN_NRULES] = {
    "Private key",        "AWS access key id",   "GitHub token",      "Merge conflict marker",
    "Line too long",      "Trailing whitespace", "Mixed indentation", "No newline at end of file",
    "Maintenance marker", "File too complex",    "File too long",     "Large binary file"};
const enum an_severity an_rule_default_sev[AN_NRULES] = {
    AN_ERROR,  AN_ERROR,  AN_ERROR,  AN_ERROR,   AN_WARNING, AN_NOTICE,
    AN_NOTICE, AN_NOTICE, AN_NOTICE, AN_WARNING, AN_WARNING, AN_WARNING};

int an_rule_index(const char *id)
{
    if (!id)
        return -1;
    for (int i = 0; i < AN_NRULES; i++)
        if (strcmp(an_rule_ids[i], id) == 0)
            return i;
    return -1;
}

const char *an_rule_name(const char *rule_id)
{
    int i = an_rule_index(rule_id);
    return i < 0 ? NULL : an_rule_names[i];
}

const char *an_severity_str(enum an_severity s)
{
    switch (s) {
    case AN_ERROR:
        return "error";
    case AN_WARNING:
        return "warning";
    default:
        return "notice";
    }
}

static int an_map_find(const struct an_name_map *m, size_t n, const char *key, size_t klen)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = m[mid].key;
        size_t kl = strlen(k);
        int c = memcmp(k, key, kl < klen ? kl : klen);
        if (c == 0)
            c = (kl > klen) - (kl < klen);
        if (c == 0)
            return m[mid].lang;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int an_shebang(const unsigned char *head, size_t len)
{
    if (len < 2 || head[0] != '#' || head[1] != '!')
        return -1;
    size_t n = 0;
    while (n < len && n < 128 && head[n] != '\n')
        n++;
    char line[129];
    memcpy(line, head, n);
    line[n] = '\0';
    char *save = NULL;
    char *w = strtok_r(line, " \t\r\v\f", &save);
    if (!w)
        return -1;
    int l = an_map_find(an_shebang_map, an_shebang_map_len, w, strlen(w));
    if (l >= 0)
        return l;
    if (strcmp(w, "#!/usr/bin/env") != 0)
        return -1;
    w = strtok_r(NULL, " \t\r\v\f", &save);
    if (!w)
        return -1;
    for (size_t i = 0; i < an_env_map_len; i++)
        if (strncmp(w, an_env_map[i].key, strlen(an_env_map[i].key)) == 0)
            return an_env_map[i].lang;
    return -1;
}

int an_lang_detect(const char *path, const unsigned char *head, size_t headlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char low[256];
    size_t bl = strlen(base);
    if (bl == 0 || bl >= sizeof low)
        return -1;
    for (size_t i = 0; i <= bl; i++)
        low[i] = (char)tolower((unsigned char)base[i]);
    int l = an_map_find(an_filename_map, an_filename_map_len, low, bl);
    if (l >= 0)
        return l;
    for (size_t i = 0; i < an_suffix_map_len; i++) {
        size_t sl = strlen(an_suffix_map[i].key);
        if (bl >= sl && memcmp(low + bl - sl, an_suffix_map[i].key, sl) == 0)
            return an_suffix_map[i].lang;
    }
    /* Rust's Path::extension: text after the last dot, unless the name starts with that dot */
    const char *dot = strrchr(low, '.');
    if (dot && dot != low)
        return an_map_find(an_ext_map, an_ext_map_len, dot + 1, strlen(dot + 1));
    return an_shebang(head, headlen);
}

int an_lang_by_name(const char *name)
{
    for (size_t i = 0; i < an_nlangs; i++)
        if (strcasecmp(an_langs[i].name, name) == 0)
            return (int)i;
    return -1;
}
