# Analysis engine unit tests (worker/analysis): rules with traps, tar stream and hostile archives,
# per-language golden counts (agreeing with tokei).
sg_add_unit_test(test_analysis_rules SOURCES unit/analysis_rules.c LIBS sg_analysis ZLIB::ZLIB)
sg_add_unit_test(test_analysis_stream SOURCES unit/analysis_stream.c LIBS sg_analysis ZLIB::ZLIB)
sg_add_unit_test(test_analysis_golden SOURCES unit/analysis_golden.c LIBS sg_analysis ZLIB::ZLIB)
# The zlib fallback (machines without ISA-L) is the same engine with another inflater: when ISA-L
# is used for the main build, the stream tests also run against a zlib build of the library.
if(ISAL_FOUND)
  file(GLOB SG_ANALYSIS_SRC ${PROJECT_SOURCE_DIR}/worker/analysis/an_*.c)
  add_library(sg_analysis_zlib STATIC ${SG_ANALYSIS_SRC})
  target_include_directories(sg_analysis_zlib PUBLIC ${PROJECT_SOURCE_DIR}/worker/analysis)
  target_link_libraries(sg_analysis_zlib PUBLIC sg_common PRIVATE PkgConfig::YAML PkgConfig::JSONC ZLIB::ZLIB m)
  sg_add_unit_test(test_analysis_stream_zlib SOURCES unit/analysis_stream.c LIBS sg_analysis_zlib ZLIB::ZLIB)
endif()
# Inputs built to be slow (repeated secret prefixes, `**` globs, deep paths) and the time budget.
sg_add_unit_test(test_analysis_hostile SOURCES unit/analysis_hostile.c LIBS sg_analysis ZLIB::ZLIB)
# A million empty files streamed through the engine: peak RSS under 64 MB (its own process).
sg_add_unit_test(test_analysis_memory SOURCES unit/analysis_memory.c LIBS sg_analysis ZLIB::ZLIB)
# Fingerprints, classification against a base and each gate setting (DESIGN.md section 9).
sg_add_unit_test(test_analysis_gate SOURCES unit/analysis_gate.c LIBS sg_analysis ZLIB::ZLIB)
