# GitHub client and check-run rendering unit tests (no servers).
sg_add_unit_test(test_wk_github SOURCES unit/wk_github.c LIBS sg_worker)
sg_add_unit_test(test_wk_checkrun SOURCES unit/wk_checkrun.c LIBS sg_worker)
