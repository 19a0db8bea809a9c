# Unit tests of register's and doctor's pure parts (request reader, manifest, conversion answer).
sg_add_unit_test(test_wk_app_setup SOURCES unit/wk_app_setup.c LIBS sg_worker)
