# Analysis engine unit tests (worker/analysis): rules with traps, tar stream and hostile archives,
# per-language golden counts (agreeing with tokei).
sg_add_unit_test(test_analysis_rules SOURCES unit/analysis_rules.c LIBS sg_analysis ZLIB::ZLIB)
sg_add_unit_test(test_analysis_stream SOURCES unit/analysis_stream.c LIBS sg_analysis ZLIB::ZLIB)
sg_add_unit_test(test_analysis_golden SOURCES unit/analysis_golden.c LIBS sg_analysis)
