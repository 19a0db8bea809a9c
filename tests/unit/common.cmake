# common/ unit tests
sg_add_unit_test(test_common_buf SOURCES unit/common_buf.c LIBS sg_common)
sg_add_unit_test(test_common_config SOURCES unit/common_config.c LIBS sg_common)
sg_add_unit_test(test_common_job SOURCES unit/common_job.c LIBS sg_common)
sg_add_unit_test(test_common_crypto SOURCES unit/common_crypto.c LIBS sg_common)
sg_add_unit_test(test_common_metrics SOURCES unit/common_metrics.c LIBS sg_common)
sg_add_unit_test(test_common_log SOURCES unit/common_log.c LIBS sg_common)
sg_add_unit_test(test_common_utf8 SOURCES unit/common_utf8.c LIBS sg_common)
