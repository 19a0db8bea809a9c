# Analysis engine fuzz target (libFuzzer): tar stream + gzip + per-file pipeline + config + outputs.
# New inputs go to a corpus dir in the build tree; the committed seeds are read only.
if(SG_FUZZ)
  add_executable(fuzz_analysis fuzz/an_fuzz.c)
  target_link_libraries(fuzz_analysis PRIVATE sg_analysis ZLIB::ZLIB)
  target_link_options(fuzz_analysis PRIVATE -fsanitize=fuzzer)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/analysis)
  add_test(NAME fuzz_analysis COMMAND fuzz_analysis -max_total_time=30 -timeout=10 -rss_limit_mb=2048
           -max_len=65536 ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/analysis
           ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/analysis)
  set_tests_properties(fuzz_analysis PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
