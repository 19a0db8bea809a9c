# worker core unit tests (jobs, db, migrations; no servers).
sg_add_unit_test(test_worker_jobs SOURCES unit/worker_jobs.c LIBS sg_worker)
sg_add_unit_test(test_worker_migrate SOURCES unit/worker_migrate.c LIBS sg_worker)
sg_add_unit_test(test_worker_db SOURCES unit/worker_db.c LIBS sg_worker)
