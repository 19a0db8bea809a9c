/* Why: migrations must run in numeric order, once each; a misnamed or duplicated file must stop
 * `migrate` with a clear message instead of silently skipping or reordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "wk_migrate.h"

static void test_version_parsing(void **state)
{
    int v = -1;
    assert_true(wk_migration_version("0001_init.sql", &v));
    assert_int_equal(v, 1);
    assert_true(wk_migration_version("0120_add_index.sql", &v));
    assert_int_equal(v, 120);
    assert_true(wk_migration_version("7_x.sql", &v));
    assert_int_equal(v, 7);
    assert_false(wk_migration_version("init.sql", &v));
    assert_false(wk_migration_version("0001init.sql", &v));
    assert_false(wk_migration_version("0001_.sql", &v));
    assert_false(wk_migration_version("0001_init.txt", &v));
    assert_false(wk_migration_version("0001_init.sql.bak", &v));
    assert_false(wk_migration_version("", &v));
    assert_false(wk_migration_version(NULL, &v));
    assert_false(wk_migration_version("99999999999_big.sql", &v));
}

static void test_sort_is_numeric_and_stable(void **state)
{
    struct wk_migration m[] = {
        {"10_ten.sql", "c"}, {"0002_two.sql", "b"}, {"9_nine.sql", "x"}, {"0001_one.sql", "a"}};
    char err[200] = "";
    assert_int_equal(wk_migrations_sort(m, 4, err, sizeof err), SG_OK);
    assert_string_equal(m[0].name, "0001_one.sql");
    assert_string_equal(m[1].name, "0002_two.sql");
    assert_string_equal(m[2].name, "9_nine.sql");
    assert_string_equal(m[3].name, "10_ten.sql");
}

static void test_sort_rejects_duplicates_and_bad_names(void **state)
{
    struct wk_migration dup[] = {{"0001_a.sql", ""}, {"0002_b.sql", ""}, {"002_c.sql", ""}};
    char err[200] = "";
    assert_int_equal(wk_migrations_sort(dup, 3, err, sizeof err), SG_ERR_CONFIG);
    assert_non_null(strstr(err, "version 2"));
    struct wk_migration bad[] = {{"0001_a.sql", ""}, {"notes.sql", ""}};
    assert_int_equal(wk_migrations_sort(bad, 2, err, sizeof err), SG_ERR_CONFIG);
    assert_non_null(strstr(err, "notes.sql"));
}

static void test_embedded_migrations(void **state)
{
    /* The build embeds migrations/ in order, and the schema the worker needs is the newest. */
    assert_true(wk_migrations_embedded_count >= 1);
    int prev = 0, v = 0;
    for (size_t i = 0; i < wk_migrations_embedded_count; i++) {
        assert_true(wk_migration_version(wk_migrations_embedded[i].name, &v));
        assert_true(v > prev);
        prev = v;
        assert_non_null(strstr(wk_migrations_embedded[i].sql, ""));
    }
    assert_int_equal(wk_migrations_required(), prev);
    assert_string_equal(wk_migrations_embedded[0].name, "0001_init.sql");
    assert_non_null(strstr(wk_migrations_embedded[0].sql, "PARTITION BY RANGE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_parsing),
        cmocka_unit_test(test_sort_is_numeric_and_stable),
        cmocka_unit_test(test_sort_rejects_duplicates_and_bad_names),
        cmocka_unit_test(test_embedded_migrations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
