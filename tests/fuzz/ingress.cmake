# ingress fuzz target (libFuzzer): the whole request path plus a JSON differential against json-c.
# Registered for a bounded run over the seed corpus in tests/fuzz/corpus/ingress/.
if(SG_FUZZ)
  add_executable(ingress_fuzz fuzz/ingress_fuzz.c)
  target_link_libraries(ingress_fuzz PRIVATE sg_ingress PkgConfig::JSONC)
  target_include_directories(ingress_fuzz PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  target_link_options(ingress_fuzz PRIVATE -fsanitize=fuzzer)
  add_test(NAME ingress_fuzz
           COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
                   $<TARGET_FILE:ingress_fuzz> -max_total_time=30 -rss_limit_mb=1024
                   -timeout=10 -max_len=65536
                   ${CMAKE_CURRENT_BINARY_DIR}/ingress_fuzz_corpus
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/ingress)
  set_tests_properties(ingress_fuzz PROPERTIES LABELS fuzz TIMEOUT 120)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/ingress_fuzz_corpus)
endif()
