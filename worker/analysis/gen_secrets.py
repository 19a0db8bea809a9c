#!/usr/bin/env python3
# Why: the SEC rules must find what gitleaks finds, so the rule table is generated from gitleaks'
# own default configuration (gitleaks-rules.toml, MIT, see LICENCE-gitleaks.txt) instead of being
# retyped: every rule with its regex, keywords, secret group, entropy threshold, path and
# allow-lists, plus the global allow-list. gitleaks writes Go RE2 syntax; the C side runs each
# regex twice, as a Hyperscan prefilter over the whole file and as the exact PCRE2 regex on the
# few candidate lines, and the few constructs either engine cannot take are rewritten here. Every
# rewrite is listed, with why, in the comment at the top of the generated file; none is dropped.
# Run: python3 gen_secrets.py > an_secret_rules.c  (the output is committed)
import os
import re
import sys
import tomllib

from gen_common import cstr

here = os.path.dirname(os.path.abspath(__file__))
cfg = tomllib.load(open(os.path.join(here, 'gitleaks-rules.toml'), 'rb'))

# Which SEC rule reports a gitleaks rule. SEC002/SEC003 keep the ids the analyser always had, now
# with gitleaks' regexes (so one engine finds each secret once); the rest are providers (SEC004)
# or the generic assignment rule (SEC005).
SEC_OF = {'private-key': 'AN_SEC001', 'aws-access-token': 'AN_SEC002',
          'github-pat': 'AN_SEC003', 'github-fine-grained-pat': 'AN_SEC003',
          'github-oauth': 'AN_SEC003', 'github-app-token': 'AN_SEC003',
          'github-refresh-token': 'AN_SEC003', 'generic-api-key': 'AN_SEC005'}

# Rules whose match spans lines: Hyperscan only finds where they can start (a keyword), and PCRE2
# runs from there over a window (bytes back to the line start, bytes forward). The window is the
# regex's own bound where it has one; private keys are at most a few KiB of base64.
# The last field says a line needs only its first keyword: from an earlier "curl" the regex's
# `.*?` reaches everything a later one on the same line could, so when the first fails all do.
MULTILINE = {
    'private-key': (0, 16384, True, False),  # starts at "-----BEGIN" (the keyword): anchored
    'curl-auth-header': (0, 4096, True, True),  # starts at "curl"
    'curl-auth-user': (0, 4096, True, True),
    'jwt-base64': (0, 8192, True, False),  # starts at "ZXlK"; the body may continue over lines
    # `data:` may come up to 300 bytes before `kind: Secret`; the match starts there, not at the
    # keyword, so it is searched from 512 bytes back
    'kubernetes-secret-yaml': (512, 1024, False, False),
}

# How Hyperscan finds a rule's candidates. Most rules have a keyword that is rare in source code
# (a provider's name or a token prefix): Hyperscan matches the keywords as literals, at several
# GB/s, and each line holding one is a candidate. A rule with a keyword that is common in source
# code (measured: more than one occurrence per 100 KB of the Linux kernel's sources) would make
# most lines candidates, so its regex goes to Hyperscan instead, as a prefilter.
COMMON_KEYWORDS = {'sk', 's.', 'ey', 'key', 'sc_', 'ext_', 'access', 'api', 'test_', 'auth',
                   'token', 'ops_', 'cohere', 'linear', 'sg.', '_pub', 'live_'}

report = []  # (rule id, what was rewritten, why)

# The prefilter only needs where a match ends, to find its line: gitleaks' optional identifier
# prefix and its one-character terminator add nothing there and cost Hyperscan state.
PREFIX = '(?i)[\\w.-]{0,50}?'
TERMINATOR = '(?:[\\x60\'"\\s;]|\\\\[nr]|$)'



# gitleaks' assignment-style rules begin with an optional identifier, [\w.-]{0,50}?, that PCRE2
# would try at every byte of a candidate window, 51 lengths each: most of generic-api-key's cost.
# The regex without it (its core) is searched instead, and the match's start recovered from where
# the core starts (an_match_core): the same match, a fraction of the steps. That holds only when
# every match goes through the prefix: a regex with another alternative at its top level
# (atlassian-api-token's `...|\b(ATATT3...)`) gets no core.
CORE_PREFIXES = ('(?i)[\\w.-]{0,50}?', '[\\w.-]{0,50}?')


def top_level_alternation(rx):
    depth, i, in_class = 0, 0, False
    while i < len(rx):
        c = rx[i]
        if c == '\\':
            i += 2
            continue
        if in_class:
            in_class = c != ']'
        elif c == '[':
            in_class = True
        elif c in '()':
            depth += 1 if c == '(' else -1
        elif c == '|' and depth == 0:
            return True
        i += 1
    return False


def core_of(rx):
    """The regex without its leading optional identifier, or None."""
    for prefix, flags in zip(CORE_PREFIXES, ('(?i)', '')):
        if rx.startswith(prefix) and not top_level_alternation(rx[len(prefix):]):
            return flags + rx[len(prefix):]
    return None


def rewrite_pcre(rid, rx):
    """Go RE2 -> PCRE2. The syntax gitleaks uses is nearly all common to both; the differences
    are semantic and handled by compile options on the C side (PCRE2_DOLLAR_ENDONLY: Go's `$`
    without (?m) is the end of the text only)."""
    out = rx
    # Go's \z is PCRE's \z: same. (?P<name>) is accepted by PCRE2. Nothing to rewrite so far;
    # any rewrite appended here must be reported.
    return out


# Whole prefilter patterns written by hand, each a superset of the rule's matches whose match
# ends fall on the same lines. generic-api-key runs over every line that says key, token or api:
# its value, 10 to 150 characters, needs only its first 10 to make the line a candidate, and
# Hyperscan counts no bounded repeats then (measured on the Linux tree: about 10% faster scans).
HS_BY_HAND = {
    'generic-api-key': ('(?i)(?:access|auth|api|credential|creds|key|passw(?:or)?d|secret|token)'
                        '[ \\t\\w.-]*[\\s\'"]{0,3}(?:=|>|:{1,3}=|\\|\\||:|=>|\\?=|,)'
                        '[\\x60\'"\\s=]{0,5}[\\w.=+/-]{10}'),
}


def rewrite_hs(rid, rx):
    """The Hyperscan prefilter form. HS_FLAG_PREFILTER lets Hyperscan over-approximate (it may
    report more, never less), so rewrites here may only widen the language."""
    if rid in HS_BY_HAND:
        report.append((rid, 'prefilter written by hand: keywords in any case, any identifier '
                       'tail, the first 10 characters of the value', 'see HS_BY_HAND'))
        return HS_BY_HAND[rid]
    out = rx
    if out.startswith(PREFIX):
        out = '(?i)' + out[len(PREFIX):]
        report.append((rid, 'prefilter: the optional identifier prefix [\\w.-]{0,50}? dropped',
                       'it can be empty, so every match end is still found'))
    if out.endswith(TERMINATOR):
        out = out[:-len(TERMINATOR)]
        report.append((rid, 'prefilter: the one-character terminator dropped',
                       'a prefix of the pattern matches wherever the pattern does'))
    if '(?P<' in out:
        out2 = re.sub(r'\(\?P<\w+>', '(', out)
        report.append((rid, 'Hyperscan: named groups (?P<name>...) become plain groups',
                       'Hyperscan reports no captures; the PCRE2 regex keeps the names'))
        out = out2
    if re.search(r'\\z', out):
        out = out.replace('\\z', '$')
        report.append((rid, 'Hyperscan: \\z becomes $',
                       'Hyperscan has no \\z; in a prefilter $ (end, or before a final newline) '
                       'accepts a superset'))
    return out


def joined(rxs):
    """gitleaks tests an allow-list's regexes one by one; one alternation does the same."""
    return '|'.join('(?:%s)' % r for r in rxs) if rxs else None


out = []
w = out.append
decls = []


def strlist(name, items):
    if not items:
        return 'NULL'
    decls.append('static const char *const %s[] = {%s};' % (name, ', '.join(cstr(x) for x in items)))
    return name


def allow_struct(name, lists):
    if not lists:
        return 'NULL', 0
    rows = []
    for k, a in enumerate(lists):
        target = {'match': 'AN_SEC_T_MATCH', 'line': 'AN_SEC_T_LINE'}.get(a.get('regexTarget', ''),
                                                                         'AN_SEC_T_SECRET')
        cond_and = 'true' if a.get('condition', 'OR').upper() == 'AND' else 'false'
        rx = joined(a.get('regexes', []))
        paths = joined(a.get('paths', []))
        sw = strlist('%s_sw%d' % (name, k), sorted(set(s.lower() for s in a.get('stopwords', []))))
        nsw = len(set(a.get('stopwords', [])))
        if a.get('commits'):
            report.append((name, 'allow-list commits ignored', 'a tree has no commit history'))
        rows.append('{%s, %s, %s, %s, %s, %d}' % (target, cond_and, cstr(rx) if rx else 'NULL',
                                                   cstr(paths) if paths else 'NULL', sw, nsw))
    decls.append('static const struct an_sec_allow %s[] = {%s};' % (name, ', '.join(rows)))
    return name, len(lists)


rules = []
for i, r in enumerate(cfg['rules']):
    rid = r['id']
    rx = r.get('regex')
    kws = sorted(set(k.lower() for k in r.get('keywords', [])))
    kwname = strlist('kw_%d' % i, kws)
    al, nal = allow_struct('al_%d' % i, r.get('allowlists', []))
    ml = MULTILINE.get(rid)
    pre = rewrite_pcre(rid, rx) if rx else None
    hs = None
    if rx and not ml and (not kws or COMMON_KEYWORDS & set(kws)):
        hs = rewrite_hs(rid, rx)
    if ml and not kws:
        sys.exit('%s: a multi-line rule needs keywords to anchor it' % rid)
    core = core_of(pre) if pre and not ml else None
    rules.append('    {%s, %s, %s, %s, %s, %s, %s, %d, %d, %s, %s, %d, %d, %d, %s, %s},' % (
        cstr(rid), SEC_OF.get(rid, 'AN_SEC004'), cstr(pre) if pre else 'NULL',
        cstr(core) if core else 'NULL',
        cstr(hs) if hs else 'NULL', cstr(r['path']) if r.get('path') else 'NULL', kwname,
        len(kws), r.get('secretGroup', 0), repr(float(r.get('entropy', 0.0))), al, nal,
        ml[0] if ml else 0, ml[1] if ml else 0, 'true' if ml and ml[2] else 'false',
        'true' if ml and ml[3] else 'false'))
    if ml:
        report.append((rid, 'prefilter: the keywords, not the regex',
                       'the match spans lines; PCRE2 searches a window of %d bytes back, %d '
                       'forward from each keyword' % (ml[0], ml[1])))
    if not rx:
        report.append((rid, 'no regex: a path-only rule',
                       'reported for a file whose path matches, text or binary'))

report.append(('every other rule', 'prefilter: its keywords as literals, not its regex',
               'each line holding a keyword is a candidate for the exact regex'))
g = cfg['allowlist']

w('/* Generated by gen_secrets.py from gitleaks-rules.toml (gitleaks v8.30.1 config/gitleaks.toml,')
w(' * MIT, see LICENCE-gitleaks.txt). Do not edit by hand: edit the generator and run it again.')
w(' *')
w(' * Rewrites of gitleaks\' Go RE2 patterns, each with why:')
for rid, what, why in report:
    w(' *   %s: %s (%s)' % (rid, what.replace('*/', '* /'), why))
w(' */')
w('#include "an_secrets.h"')
w('')
for d in decls:
    w(d)
w('')
w('const struct an_sec_allow an_sec_global_allow = {%s, %s, %s, %s, %s, %d};' % (
    'AN_SEC_T_SECRET', 'false', cstr(joined(g.get('regexes', []))),
    cstr(joined(g.get('paths', []))),
    strlist('global_sw', sorted(set(s.lower() for s in g.get('stopwords', [])))),
    len(set(g.get('stopwords', [])))))
# (strlist above appended one more declaration: emit it before use)
w('')
w('const struct an_sec_rule an_sec_rules[] = {')
out.extend(rules)
w('};')
w('const size_t an_sec_nrules = sizeof an_sec_rules / sizeof an_sec_rules[0];')
text = '\n'.join(out) + '\n'
# the global stop-word list was declared after the decls were written: move it up
gsw = [d for d in decls if d.startswith('static const char *const global_sw')]
if gsw:
    text = text.replace('\n' + gsw[0] + '\n', '\n')
    text = text.replace('const struct an_sec_allow an_sec_global_allow',
                        gsw[0] + '\nconst struct an_sec_allow an_sec_global_allow', 1)
sys.stdout.write(text)
