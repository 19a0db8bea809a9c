# worker core unit tests (jobs, db, migrations; no servers).
sg_add_unit_test(test_wk_jobs SOURCES unit/wk_jobs.c LIBS sg_worker)
sg_add_unit_test(test_wk_migrate SOURCES unit/wk_migrate.c LIBS sg_worker)
sg_add_unit_test(test_wk_db SOURCES unit/wk_db.c LIBS sg_worker)
