# common/ unit tests
sg_add_unit_test(test_common_buf SOURCES unit/test_common_buf.c LIBS sg_common)
sg_add_unit_test(test_common_config SOURCES unit/test_common_config.c LIBS sg_common)
sg_add_unit_test(test_common_job SOURCES unit/test_common_job.c LIBS sg_common)
sg_add_unit_test(test_common_crypto SOURCES unit/test_common_crypto.c LIBS sg_common)
sg_add_unit_test(test_common_metrics SOURCES unit/test_common_metrics.c LIBS sg_common)
sg_add_unit_test(test_common_log SOURCES unit/test_common_log.c LIBS sg_common)
sg_add_unit_test(test_common_utf8 SOURCES unit/test_common_utf8.c LIBS sg_common)
sg_add_unit_test(test_common_redis_opts SOURCES unit/test_common_redis_opts.c
                 LIBS sg_common PkgConfig::HIREDIS)
