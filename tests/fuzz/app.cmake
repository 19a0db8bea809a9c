# Fuzz target for register's HTTP request reader, GitHub's code-conversion answer and the manifest
# (app.yml) reader and comparison (label fuzz). Seeds in fuzz/corpus/app_setup (first byte: 0
# request, 1 conversion answer, 2 manifest).
if(SG_FUZZ AND TARGET sg_worker)
  add_executable(fuzz_app_setup fuzz/wk_app_setup_fuzz.c)
  target_link_libraries(fuzz_app_setup PRIVATE sg_worker)
  target_link_options(fuzz_app_setup PRIVATE -fsanitize=fuzzer)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/app_setup)
  add_test(NAME fuzz_app_setup COMMAND fuzz_app_setup -max_total_time=30 -timeout=10
           -rss_limit_mb=2048 ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/app_setup
           ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/app_setup)
  set_tests_properties(fuzz_app_setup PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
