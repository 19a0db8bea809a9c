# worker core unit tests (queue/jobs/db/migrations); only when the worker library is built.
if(TARGET sg_worker)
  sg_add_unit_test(test_worker_jobs SOURCES unit/worker_jobs.c LIBS sg_worker)
  sg_add_unit_test(test_worker_migrate SOURCES unit/worker_migrate.c LIBS sg_worker)
  sg_add_unit_test(test_worker_db SOURCES unit/worker_db.c LIBS sg_worker)
endif()
