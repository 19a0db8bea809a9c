/* Why: GitHub refuses a whole request for one invalid UTF-8 byte, so common/sg_utf8.c must agree
 * with RFC 3629 exactly (overlongs, surrogates, code points above U+10FFFF, sequences cut short)
 * and must cut text only between characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sg_utf8.h"

#define R SG_UTF8_REPLACEMENT

static bool valid(const char *s)
{
    return sg_utf8_valid(s, strlen(s));
}

static void test_valid_and_invalid(void **state)
{
    (void)state;
    assert_true(valid(""));
    assert_true(valid("plain ascii"));
    assert_true(valid("\xC3\xA9"));         /* é, 2 bytes */
    assert_true(valid("\xE2\x82\xAC"));     /* €, 3 bytes */
    assert_true(valid("\xF0\x9F\x98\x80")); /* 😀, 4 bytes */
    assert_true(valid("\xF4\x8F\xBF\xBF")); /* U+10FFFF, the last code point */
    assert_true(valid("\xED\x9F\xBF"));     /* U+D7FF, just below the surrogates */
    assert_true(valid("\xEE\x80\x80"));     /* U+E000, just above them */
    assert_true(sg_utf8_valid("a\0b", 3));  /* NUL is U+0000 */

    assert_false(valid("inv\xFF\xFE"));          /* bytes that never occur in UTF-8 */
    assert_false(valid("\x80"));                 /* a lone continuation byte */
    assert_false(valid("\xC3"));                 /* 2-byte sequence cut short */
    assert_false(valid("\xE2\x82"));             /* 3-byte sequence cut short */
    assert_false(valid("\xF0\x9F\x98"));         /* 4-byte sequence cut short */
    assert_false(valid("\xC3x"));                /* lead byte without its continuation */
    assert_false(valid("\xC0\xAF"));             /* overlong '/' (2 bytes) */
    assert_false(valid("\xC1\xBF"));             /* overlong, C1 lead */
    assert_false(valid("\xE0\x80\xAF"));         /* overlong '/' (3 bytes) */
    assert_false(valid("\xE0\x9F\xBF"));         /* overlong U+07FF */
    assert_false(valid("\xF0\x80\x80\xAF"));     /* overlong '/' (4 bytes) */
    assert_false(valid("\xF0\x8F\xBF\xBF"));     /* overlong U+FFFF */
    assert_false(valid("\xED\xA0\x80"));         /* U+D800, a surrogate */
    assert_false(valid("\xED\xBF\xBF"));         /* U+DFFF, a surrogate */
    assert_false(valid("\xF4\x90\x80\x80"));     /* U+110000, above the last code point */
    assert_false(valid("\xF5\x80\x80\x80"));     /* F5..FF never lead */
    assert_false(valid("\xF8\x88\x80\x80\x80")); /* old 5-byte form */
    assert_int_equal(sg_utf8_seq_len("\xE2\x82\xAC", 2), 0); /* n bounds the read */
    assert_int_equal(sg_utf8_seq_len("x", 0), 0);
}

static void check_dup(const char *in, size_t len, size_t max, const char *want)
{
    char *d = sg_utf8_dup(in, len, max);
    assert_non_null(d);
    assert_string_equal(d, want);
    assert_true(valid(d));
    free(d);
}

static void test_replacement(void **state)
{
    (void)state;
    check_dup("inv\xFF\xFE", 5, 100, "inv" R R); /* each bad byte becomes U+FFFD */
    check_dup("a\xC3"
              "b",
              3, 100, "a" R "b");
    check_dup("\xED\xA0\x80!", 4, 100, R R R "!"); /* a surrogate: three bad bytes */
    check_dup("\xC0\xAF", 2, 100, R R);
    check_dup("\xF0\x9F\x98", 3, 100, R R R);
    check_dup("ok \xC3\xA9", 5, 100, "ok \xC3\xA9"); /* valid text is kept as it is */
    check_dup(NULL, 0, 100, "");
}

static void test_truncation_at_boundaries(void **state)
{
    (void)state;
    /* "a" + é (2) + € (3) + 😀 (4): boundaries after 1, 3, 6 and 10 bytes */
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    size_t n = strlen(s);
    const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    for (size_t max = 0; max <= n; max++) {
        char *d = sg_utf8_dup(s, n, max);
        assert_non_null(d);
        assert_int_equal(strlen(d), want[max]); /* inside 2/3/4-byte sequences: cut before */
        assert_true(valid(d));
        assert_memory_equal(d, s, want[max]);
        free(d);
        assert_int_equal(sg_utf8_prefix(s, n, max), want[max]);
    }
    /* a replacement needs 3 bytes: it is not cut either */
    check_dup("ab\xFF", 3, 4, "ab");
    check_dup("ab\xFF", 3, 5, "ab" R);
    struct sg_buf b;
    sg_buf_init(&b, 0);
    size_t used = 0;
    assert_int_equal(sg_buf_put_utf8(&b, s, n, 5, &used), SG_OK);
    assert_int_equal(used, 3);
    assert_int_equal(b.len, 3);
    sg_buf_free(&b);
    sg_buf_init(&b, 4); /* the buffer's own cap still holds */
    assert_int_equal(sg_buf_put_utf8(&b, "\xFF\xFF", 2, 100, NULL), SG_ERR_TOO_LARGE);
    sg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_invalid),
        cmocka_unit_test(test_replacement),
        cmocka_unit_test(test_truncation_at_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
