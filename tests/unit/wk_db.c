/* Why: findings go into PostgreSQL with COPY's text format, where one unescaped tab, newline or
 * invalid UTF-8 byte in a path or message would corrupt or reject the whole batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "wk_db.h"

static const char *esc(struct sg_buf *b, const char *s)
{
    sg_buf_reset(b);
    assert_int_equal(wk_db_copy_escape(b, s), SG_OK);
    return sg_buf_str(b);
}

static void test_copy_escape(void **state)
{
    struct sg_buf b;
    sg_buf_init(&b, 0);
    assert_string_equal(esc(&b, "src/main.c"), "src/main.c");
    assert_string_equal(esc(&b, "a\tb"), "a\\tb");
    assert_string_equal(esc(&b, "line1\nline2\r"), "line1\\nline2\\r");
    assert_string_equal(esc(&b, "C:\\path"), "C:\\\\path");
    assert_string_equal(esc(&b, "\\N"), "\\\\N"); /* never read back as NULL */
    assert_string_equal(esc(&b, ""), "");
    /* Valid UTF-8 passes through; invalid bytes become '?'. */
    assert_string_equal(esc(&b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    assert_string_equal(esc(&b, "a\xff"
                                "b"),
                        "a?b");
    assert_string_equal(esc(&b, "\xc3"), "?");                /* truncated sequence */
    assert_string_equal(esc(&b, "\xc0\xaf"), "??");           /* overlong */
    assert_string_equal(esc(&b, "\xed\xa0\x80"), "???");      /* surrogate */
    assert_string_equal(esc(&b, "\xf4\x90\x80\x80"), "????"); /* above U+10FFFF */
    sg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
