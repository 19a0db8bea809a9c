# Analysis engine unit tests (worker/analysis): rules with traps, tar stream and hostile archives,
# per-language golden counts (agreeing with tokei).
sg_add_unit_test(test_an_rules SOURCES unit/an_rules.c LIBS sg_analysis ZLIB::ZLIB)
sg_add_unit_test(test_an_stream SOURCES unit/an_stream.c LIBS sg_analysis ZLIB::ZLIB)
# The score's properties (bounded, monotone, explained, stable) and each rule's file kinds.
sg_add_unit_test(test_an_score SOURCES unit/an_score.c LIBS sg_analysis ZLIB::ZLIB m)
sg_add_unit_test(test_an_golden SOURCES unit/an_golden.c LIBS sg_analysis ZLIB::ZLIB)
# The zlib fallback (machines without ISA-L) is the same engine with another inflater: when ISA-L
# is used for the main build, the stream tests also run against a zlib build of the library.
if(ISAL_FOUND)
  file(GLOB SG_ANALYSIS_SRC ${PROJECT_SOURCE_DIR}/worker/analysis/an_*.c)
  add_library(sg_analysis_zlib STATIC ${SG_ANALYSIS_SRC})
  target_include_directories(sg_analysis_zlib PUBLIC ${PROJECT_SOURCE_DIR}/worker/analysis)
  target_link_libraries(sg_analysis_zlib PUBLIC sg_common PRIVATE PkgConfig::YAML PkgConfig::JSONC
    ZLIB::ZLIB PkgConfig::HS PkgConfig::PCRE2 Threads::Threads m)
  sg_add_unit_test(test_an_stream_zlib SOURCES unit/an_stream.c LIBS sg_analysis_zlib ZLIB::ZLIB)
endif()
# Inputs built to be slow (repeated secret prefixes, `**` globs, deep paths) and the time budget.
sg_add_unit_test(test_an_hostile SOURCES unit/an_hostile.c LIBS sg_analysis ZLIB::ZLIB)
# A million empty files streamed through the engine: peak RSS under 64 MB (its own process).
sg_add_unit_test(test_an_memory SOURCES unit/an_memory.c LIBS sg_analysis ZLIB::ZLIB)
# The secret rules: gitleaks' behaviour rule by rule, every allow-list path, never printing a secret.
sg_add_unit_test(test_an_secrets SOURCES unit/an_secrets.c LIBS sg_analysis ZLIB::ZLIB PkgConfig::PCRE2)
# Fingerprints, classification against a base and each gate setting (DESIGN.md section 9).
sg_add_unit_test(test_an_gate SOURCES unit/an_gate.c LIBS sg_analysis ZLIB::ZLIB)
