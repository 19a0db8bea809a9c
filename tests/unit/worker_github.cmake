# GitHub client and check-run rendering unit tests (no servers).
sg_add_unit_test(worker_github SOURCES unit/worker_github.c LIBS sg_worker)
sg_add_unit_test(worker_checkrun SOURCES unit/worker_checkrun.c LIBS sg_worker)
