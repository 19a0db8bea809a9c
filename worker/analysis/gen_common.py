#!/usr/bin/env python3
# Why: the generators of committed C tables (gen_languages.py, gen_secrets.py) write strings the
# same way; one function, so both stay byte-exact and safe for any C dialect.


def cstr(s):
    """s as a C string literal: quotes and backslashes escaped, '?' too (never a trigraph, even
    with -std=c11), bytes outside printable ASCII as octal UTF-8."""
    r = '"'
    for ch in s:
        o = ord(ch)
        if ch in '\\"':
            r += '\\' + ch
        elif ch == '?':
            r += '\\?'
        elif 32 <= o < 127:
            r += ch
        else:
            for b in ch.encode('utf-8'):
                r += '\\%03o' % b
    return r + '"'
