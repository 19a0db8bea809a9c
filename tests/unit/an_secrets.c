/* Why: the secret rules are gitleaks' rules run by our own matcher, so each behaviour gitleaks
 * has (and each we add) is pinned here: a private key wherever its block starts, provider rules
 * naming gitleaks' rule id, every allow-list path (gitleaks' stop-words, documented examples,
 * per-rule regexes on the secret, the match and the line, path-and-regex lists, global paths,
 * entropy, inline gitleaks:allow / singularity:allow, .singularity.yml secrets.allow/disable and
 * its errors), and that no output format ever carries a secret (at most its first 4 characters).
 * The expectations were checked against gitleaks v8.30.1 itself
 * (tests/integration/an_secrets_oracle.sh compares the two at scale). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "an_secrets.h"
#include "an_tarball.h"

/* The markers are split so this source holds no contiguous key block. */
#define BEGIN_PK                                                                                   \
    "-----BEGIN "                                                                                  \
    "PRIVATE KEY-----"
#define END_PK                                                                                     \
    "-----END "                                                                                    \
    "PRIVATE KEY-----"
#define PK_BODY "MC4CAQAwBQYDK2VwBCIEIIU4mKmHnnxo16mgdIkg76VtkAQqrzFxiQXrotJOAg3n"
#define SLACK                                                                                      \
    "xoxb-781236542736-"                                                                           \
    "2364535789652-GkwFDQoHqzXDVsC6GzqYUypD"
#define GENERIC "7fj2LqZx0Pw7Tn4Rv8sKq"

static struct an_result *run(struct tb *t)
{
    struct an_result *r = NULL;
    char err[512];
    tb_end(t);
    if (tb_run(t, NULL, &r, err, sizeof err))
        fail_msg("analysis failed: %s", err);
    free(t->d);
    memset(t, 0, sizeof *t);
    return r;
}

/* Findings of rule at path and line (line 0: any line). */
static unsigned count(const struct an_result *r, const char *rule, const char *path, uint32_t line)
{
    unsigned n = 0;
    for (size_t i = 0; i < r->nfindings; i++) {
        const struct an_finding *f = &r->findings[i];
        if (strcmp(f->rule, rule) == 0 && strcmp(f->path, path) == 0 && (!line || f->line == line))
            n++;
    }
    return n;
}

static const char *message(const struct an_result *r, const char *rule, const char *path)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (strcmp(r->findings[i].rule, rule) == 0 && strcmp(r->findings[i].path, path) == 0)
            return r->findings[i].message;
    return "";
}

static void test_matcher_tables(void **st)
{
    (void)st;
    /* every rule's regex is taken by Hyperscan as a prefilter: none falls back to keywords */
    assert_int_equal(an_secrets_fallbacks(), 0);
    assert_true(an_sec_nrules >= 200);
    char err[200];
    for (size_t r = 0; r < an_sec_nrules; r++) {
        const struct an_sec_rule *R = &an_sec_rules[r];
        if (R->regex && !an_secrets_regex_ok(R->regex, err, sizeof err))
            fail_msg("%s: %s", R->id, err);
        for (size_t k = 0; k < R->nallow; k++)
            if (R->allow[k].regex && !an_secrets_regex_ok(R->allow[k].regex, err, sizeof err))
                fail_msg("%s allow-list: %s", R->id, err);
    }
    assert_int_equal(an_secret_rule_index("slack-bot-token") >= 0, 1);
    assert_int_equal(an_secret_rule_index("no-such-rule"), -1);
}

static void test_sec001_anywhere_in_a_line(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/k8s/secret.yaml",
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  key: |\n    " BEGIN_PK "\n    " PK_BODY
            "\n    " END_PK "\n");
    tb_file(&t, "r/conf/key.json", "{\"key\": \"" BEGIN_PK "\\n" PK_BODY "\\n" END_PK "\\n\"}\n");
    tb_file(&t, "r/.env", "A=1\nPRIVATE_KEY=\"" BEGIN_PK "\\n" PK_BODY "\\n" END_PK "\\n\"\n");
    tb_file(&t, "r/src/k.py", "x = 1\nKEY = \"\"\"" BEGIN_PK "\n" PK_BODY "\n" END_PK "\n\"\"\"\n");
    tb_file(&t, "r/src/pem.c", "static const char *hdr = \"" BEGIN_PK "\";\n");
    struct an_result *r = run(&t);
    assert_int_equal(count(r, "SEC001", "k8s/secret.yaml", 5), 1);
    assert_int_equal(count(r, "SEC001", "conf/key.json", 1), 1);
    assert_int_equal(count(r, "SEC001", ".env", 2), 1);
    assert_int_equal(count(r, "SEC001", "src/k.py", 2), 1);
    assert_int_equal(count(r, "SEC001", "src/pem.c", 0), 0); /* a parser's constant, no key */
    assert_non_null(strstr(message(r, "SEC001", ".env"), "private-key: "));
    an_result_free(r);
}

static void test_sec004_sec005_name_gitleaks_rules(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.txt", "x\nslack = \"" SLACK "\"\napi_key = \"" GENERIC "\"\n");
    struct an_result *r = run(&t);
    assert_int_equal(count(r, "SEC004", "a.txt", 2), 1);
    assert_int_equal(count(r, "SEC005", "a.txt", 3), 1);
    const char *m = message(r, "SEC004", "a.txt");
    assert_non_null(strstr(m, "slack-bot-token: "));
    assert_non_null(strstr(m, "\"xoxb\""));
    assert_non_null(strstr(message(r, "SEC005", "a.txt"), "generic-api-key: "));
    assert_int_equal(tb_rule(r, "SEC004"), 1); /* the generic rule gives way on the slack line */
    assert_int_equal(tb_rule(r, "SEC005"), 1);
    an_result_free(r);
}

static void test_gitleaks_allow_lists(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.txt",
            "api_key = \"abcdefghijklmnopqrstuvwxyz123\"\n"          /* 1: global stop-word */
            "api_key = \"" GENERIC "\"\n"                            /* 2: found */
            "api_key = \"7fj2LqZx0Pw7Tn4Rv_sample\"\n"               /* 3: generic stop-word */
            "RUN --mount=type=secret,id=api_key,token=" GENERIC "\n" /* 4: line regex */
            "SRCREV_token = \"9f8e7d6c5b4a39281706f5e4d3c2b1a0\"\n"  /* 5: found in .txt */
            "slack = \"xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx\"\n"   /* 6: low entropy */
            "aws = \"AKIAIOSFODNN7EXAMPLE\"\n"                       /* 7: documented example */
            "token: ${API_TOKEN_VALUE}\n");                          /* 8: a variable */
    /* gitleaks' path-and-regex allow-list (condition AND): the same line in a BitBake recipe */
    tb_file(&t, "r/meta/r.bb", "SRCREV_token = \"9f8e7d6c5b4a39281706f5e4d3c2b1a0\"\n");
    /* global path allow-list: gitleaks does not read images */
    tb_file(&t, "r/logo.svg", "<svg>" SLACK "</svg>\n");
    struct an_result *r = run(&t);
    assert_int_equal(count(r, "SEC005", "a.txt", 1), 0);
    assert_int_equal(count(r, "SEC005", "a.txt", 2), 1);
    assert_int_equal(count(r, "SEC005", "a.txt", 3), 0);
    assert_int_equal(count(r, "SEC005", "a.txt", 4), 0);
    assert_int_equal(count(r, "SEC005", "a.txt", 5), 1);
    assert_int_equal(count(r, "SEC004", "a.txt", 6), 0);
    assert_int_equal(count(r, "SEC002", "a.txt", 7), 0);
    assert_int_equal(count(r, "SEC005", "a.txt", 8), 0);
    assert_int_equal(count(r, "SEC005", "meta/r.bb", 0), 0);
    assert_int_equal(count(r, "SEC004", "logo.svg", 0), 0);
    assert_int_equal(tb_rule(r, "SEC004") + tb_rule(r, "SEC005") + tb_rule(r, "SEC002"), 2);
    an_result_free(r);
}

static void test_inline_allow(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/a.py",
            "a = \"" SLACK "\"  # gitleaks:allow\n"
            "b = \"" SLACK "\"  # singularity:allow\n"
            "c = \"" SLACK "\"\n");
    struct an_result *r = run(&t);
    assert_int_equal(count(r, "SEC004", "a.py", 0), 1);
    assert_int_equal(count(r, "SEC004", "a.py", 3), 1);
    an_result_free(r);
}

static void test_config_allow_and_disable(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.singularity.yml",
            "secrets:\n  allow: ['^7fj2']\n  disable: [slack-bot-token]\n");
    tb_file(&t, "r/a.txt",
            "slack = \"" SLACK "\"\napi_key = \"" GENERIC "\"\n"
            "api_key = \"Zq81LmN0pR7sT2uV4wX6y\"\n");
    struct an_result *r = run(&t);
    assert_int_equal(r->nconfig_errors, 0);
    assert_int_equal(count(r, "SEC004", "a.txt", 0), 0); /* disabled */
    assert_int_equal(count(r, "SEC005", "a.txt", 1), 0); /* and the generic rule stays shadowed */
    assert_int_equal(count(r, "SEC005", "a.txt", 2), 0); /* allowed by regex */
    assert_int_equal(count(r, "SEC005", "a.txt", 3), 1);
    an_result_free(r);
}

static void test_config_errors(void **st)
{
    (void)st;
    struct tb t = {0};
    tb_file(&t, "r/.singularity.yml",
            "secrets:\n  allow: ['(unclosed', '^ok$']\n  disable: [no-such-rule, github-pat]\n"
            "  other: 1\n");
    tb_file(&t, "r/a.txt", "gh = \"ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1\"\n");
    struct an_result *r = run(&t);
    assert_int_equal(r->nconfig_errors, 3);
    assert_non_null(
        strstr(r->config_errors[0], ".singularity.yml:2: secrets.allow: invalid regex"));
    assert_non_null(
        strstr(r->config_errors[1], ".singularity.yml:3: secrets.disable: unknown rule"));
    assert_non_null(strstr(r->config_errors[2], ".singularity.yml:4: secrets: unknown setting"));
    assert_int_equal(count(r, "SEC003", "a.txt", 0), 0); /* the valid entries still apply */
    an_result_free(r);
}

/* No output format carries a secret: messages show at most its first 4 characters. */
static void test_never_print(void **st)
{
    (void)st;
    static const char *const secrets[] = {SLACK,
                                          GENERIC,
                                          "ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1",
                                          "AKIAZ4ZJQK3P7WV6LXRM",
                                          "npm_Zt4kQ9wLm2Xv7Bn3Rc8Hy5Jd1Pf6Gs0Ka2Ue",
                                          PK_BODY};
    struct tb t = {0};
    tb_file(&t, "r/all.env",
            "SLACK=" SLACK "\napi_key = \"" GENERIC "\"\n"
            "GH=ghp_Qw3rTy7UiOp9AsDfGh2JkLzXcVbNm4Lk8Jh1\nAWS=AKIAZ4ZJQK3P7WV6LXRM\n"
            "NPM_TOKEN=npm_Zt4kQ9wLm2Xv7Bn3Rc8Hy5Jd1Pf6Gs0Ka2Ue\n"
            "KEY=\"" BEGIN_PK "\\n" PK_BODY "\\n" END_PK "\"\n");
    struct an_result *r = run(&t);
    assert_int_equal(tb_rule(r, "SEC001") + tb_rule(r, "SEC002") + tb_rule(r, "SEC003") +
                         tb_rule(r, "SEC004") + tb_rule(r, "SEC005"),
                     6);
    enum sg_err (*fmt[])(const struct an_result *,
                         struct sg_buf *) = {an_result_json, an_result_sarif, an_result_table};
    for (size_t k = 0; k < 3; k++) {
        struct sg_buf b;
        sg_buf_init(&b, 1 << 24);
        assert_int_equal(fmt[k](r, &b), SG_OK);
        for (size_t s = 0; s < sizeof secrets / sizeof secrets[0]; s++) {
            char five[6];
            snprintf(five, sizeof five, "%s", secrets[s]);
            if (strstr(b.data, secrets[s]) || (strcmp(five, "-----") && strstr(b.data, five)))
                fail_msg("format %zu shows more than 4 characters of %.4s...", k, secrets[s]);
        }
        sg_buf_free(&b);
    }
    an_result_free(r);
}

/* Text made to wake a rule on every line or every few bytes still costs time linear in its size:
 * PCRE2 starts no match past the candidate line, and a file's windows are bounded. Before those
 * bounds each of these took from 10 s to minutes; now well under a second each. */
static void test_hostile_text_is_bounded(void **st)
{
    (void)st;
    static const char *const unit[] = {"key=", "kind: secret\n", "curl ", "api_key = 'x9Q'\n"};
    struct tb t = {0};
    for (size_t k = 0; k < 4; k++) {
        size_t ul = strlen(unit[k]), n = (2u << 20) / ul;
        char *text = malloc(n * ul + 1), name[32];
        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
            memcpy(text + i * ul, unit[k], ul);
        text[n * ul] = '\0';
        snprintf(name, sizeof name, "r/h%zu.yaml", k);
        tb_file(&t, name, text);
        free(text);
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct an_result *r = run(&t);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (s > 20.0) /* loose: a shared machine; the unbounded engine took minutes */
        fail_msg("8 MiB of hostile text took %.1f s", s);
    an_result_free(r);
}

/* A small deterministic generator for the lines below. */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static size_t put(char *o, size_t n, const char *w)
{
    size_t l = strlen(w);
    memcpy(o + n, w, l);
    return n + l;
}

/* A line made of what gitleaks' assignment rules look for: identifiers (some over 50 bytes), a
 * rule's keywords in any case, operators, quotes, white space and values of every class; most
 * lines are one or two assignments built from those, the rest any sequence of them. */
static size_t core_line(uint64_t *x, const struct an_sec_rule *R, char *o)
{
    static const char *const op[] = {"=",  " = ", ":",  ": ", "=>", " => ", "||",
                                     ":=", "::=", "?=", ",",  ">",  "-",    " "};
    static const char *const piece[] = {
        "_",   ".",   "-",   " ",     "\t",   "'",     "\"",    "`",      ";",      "\\n", "\n",
        "key", "api", "API", "token", "_pub", "live_", "test_", "secret", "passwd", "X9"};
    static const char cls[] =
        "abcdef0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz+/=_.-";
    size_t n = 0, parts = 1 + rnd(x) % 3;
    for (size_t i = 0; i < parts; i++) {
        if (rnd(x) % 4 == 0) { /* anything */
            n = put(o, n, piece[rnd(x) % (sizeof piece / sizeof *piece)]);
            continue;
        }
        size_t id = rnd(x) % 4 ? rnd(x) % 8 : 40 + rnd(x) % 30; /* some over 50 bytes */
        for (size_t j = 0; j < id; j++)
            o[n++] = "abz_.-X9"[rnd(x) % 8];
        const char *w = R->nkeywords ? R->keywords[rnd(x) % R->nkeywords] : "key";
        for (; *w; w++) /* the keyword, in a random case */
            o[n++] = (char)(rnd(x) % 2 && *w >= 'a' && *w <= 'z' ? *w - 32 : *w);
        for (size_t j = rnd(x) % 3 ? 0 : rnd(x) % 24; j > 0; j--)
            o[n++] = "_a.-Z 9"[rnd(x) % 7];
        for (size_t j = rnd(x) % 3; j > 0; j--)
            o[n++] = " '\""[rnd(x) % 3];
        n = put(o, n, op[rnd(x) % (sizeof op / sizeof *op)]);
        for (size_t j = rnd(x) % 3; j > 0; j--)
            o[n++] = "`'\" ="[rnd(x) % 5];
        if (rnd(x) % 4 == 0)
            n = put(o, n, rnd(x) % 2 ? "live_" : "test_");
        uint64_t k = rnd(x) % 4;
        size_t l = 8 + rnd(x) % 96, m = k < 2 ? 16 : k < 3 ? 62 : sizeof cls - 1;
        for (size_t j = 0; j < l; j++) /* a value: hex, alphanumeric or anything */
            o[n++] = cls[rnd(x) % m];
        n = put(o, n, (const char *[]){"", "'", "\"", ";", " ", "\\n", "\n", ")"}[rnd(x) % 8]);
    }
    o[n] = '\0';
    return n;
}

/* Whether a regex has a '|' outside every group and class. */
static bool top_level_alternation(const char *rx)
{
    int depth = 0;
    bool in_class = false;
    for (; *rx; rx++) {
        if (*rx == '\\' && rx[1])
            rx++;
        else if (in_class)
            in_class = *rx != ']';
        else if (*rx == '[')
            in_class = true;
        else if (*rx == '(' || *rx == ')')
            depth += *rx == '(' ? 1 : -1;
        else if (*rx == '|' && depth == 0)
            return true;
    }
    return false;
}

/* What the two-step search relies on: a rule's core is its regex without gitleaks' leading
 * [\w.-]{0,50}? (the case flag kept), so every match goes through that prefix; a regex with
 * another alternative at its top level has none. */
static void test_cores_are_the_regex_without_its_prefix(void **st)
{
    (void)st;
    static const char *const prefix[] = {"(?i)[\\w.-]{0,50}?", "[\\w.-]{0,50}?"};
    size_t cores = 0;
    for (size_t r = 0; r < an_sec_nrules; r++) {
        const struct an_sec_rule *R = &an_sec_rules[r];
        const char *rest = NULL;
        for (size_t k = 0; R->regex && k < 2 && !rest; k++)
            if (strncmp(R->regex, prefix[k], strlen(prefix[k])) == 0)
                rest = R->regex + strlen(prefix[k]);
        if (!rest || top_level_alternation(rest)) {
            if (R->core)
                fail_msg("%s has a core but not the prefixed form", R->id);
            continue;
        }
        if (!R->core)
            fail_msg("%s has the prefixed form but no core", R->id);
        const char *core = R->core;
        if (strncmp(R->regex, "(?i)", 4) == 0) { /* the flag moves to the core */
            assert_int_equal(strncmp(core, "(?i)", 4), 0);
            core += 4;
        }
        assert_string_equal(core, rest);
        cores++;
    }
    assert_true(cores >= 100);
    assert_true(top_level_alternation("a|b") && !top_level_alternation("(a|b)[|]\\|c"));
    int at = an_secret_rule_index("atlassian-api-token"); /* `...|\b(ATATT3...)` */
    assert_true(at >= 0);
    assert_null(an_sec_rules[at].core);
}

/* A rule with a core (its regex without gitleaks' leading [\w.-]{0,50}?) is searched for its
 * core first and then anchored where the identifier before it begins: the result must be the
 * regex's own leftmost match, from any start and with any start limit. Checked against PCRE2
 * running each whole regex on generated lines, every rule that has a core. */
static void test_core_search_is_the_regex(void **st)
{
    (void)st;
    char err[200], line[1024]; /* core_line writes at most 3 * 300 bytes */
    struct an_secrets *s = an_secrets_new(NULL, err, sizeof err);
    assert_non_null(s);
    pcre2_match_data *md = pcre2_match_data_create(32, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    uint64_t x = 0x9e3779b97f4a7c15u;
    size_t rules = 0, matched = 0, matches = 0, tries = 0;
    for (size_t r = 0; r < an_sec_nrules; r++) {
        const struct an_sec_rule *R = &an_sec_rules[r];
        if (!R->core)
            continue;
        rules++;
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)R->regex, PCRE2_ZERO_TERMINATED,
                          PCRE2_DOLLAR_ENDONLY | PCRE2_USE_OFFSET_LIMIT, &ec, &eo, NULL);
        assert_non_null(re);
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        size_t before = matches;
        for (int i = 0; i < 800; i++) {
            size_t n = core_line(&x, R, line);
            size_t from = i % 3 == 0 || !n ? 0 : rnd(&x) % n;
            size_t upto = i % 2 ? n : from + rnd(&x) % (n - from + 1);
            pcre2_set_offset_limit(mc, upto);
            int rc = pcre2_match(re, (PCRE2_SPTR)line, n, from, 0, md, mc);
            size_t ms = 0, me = 0;
            bool got =
                an_secrets_first_match(s, r, (const unsigned char *)line, n, from, upto, &ms, &me);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if ((rc >= 0) != got || (got && (ms != ov[0] || me != ov[1])))
                fail_msg("%s on \"%s\" from %zu upto %zu: regex %d [%zu, %zu), core search %d "
                         "[%zu, %zu)",
                         R->id, line, from, upto, rc, rc >= 0 ? (size_t)ov[0] : 0,
                         rc >= 0 ? (size_t)ov[1] : 0, got, ms, me);
            matches += got;
            tries++;
        }
        pcre2_code_free(re);
        matched += matches > before;
    }
    /* atlassian's ATATT3 token after identifier bytes is found where it starts (a core search
     * anchored at the identifier's start, where only the prefixed alternative can match, would
     * miss it: test_cores_are_the_regex_without_its_prefix) */
    int at = an_secret_rule_index("atlassian-api-token");
    assert_true(at >= 0);
    size_t n = (size_t)snprintf(line, sizeof line, "cfg.-ATATT3");
    for (; n < 11 + 186; n++)
        line[n] = "Ab3_x-Q="[n % 8];
    line[n++] = '\n';
    size_t ms = 0, me = 0;
    assert_true(
        an_secrets_first_match(s, (size_t)at, (const unsigned char *)line, n, 0, n, &ms, &me));
    assert_int_equal(ms, 5);
    assert_int_equal(me, n);
    /* the lines must exercise the search, not only its failures */
    assert_true(rules >= 80);
    print_message("%zu rules (%zu of them matched), %zu searches, %zu matches\n", rules, matched,
                  tries, matches);
    /* values are random, not each provider's format: about half the rules match some line; the
     * other half still check every failed search */
    assert_true(matched * 2 >= rules);
    assert_true(matches * 200 >= tries);
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    an_secrets_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matcher_tables),
        cmocka_unit_test(test_sec001_anywhere_in_a_line),
        cmocka_unit_test(test_sec004_sec005_name_gitleaks_rules),
        cmocka_unit_test(test_gitleaks_allow_lists),
        cmocka_unit_test(test_inline_allow),
        cmocka_unit_test(test_config_allow_and_disable),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_never_print),
        cmocka_unit_test(test_hostile_text_is_bounded),
        cmocka_unit_test(test_cores_are_the_regex_without_its_prefix),
        cmocka_unit_test(test_core_search_is_the_regex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
