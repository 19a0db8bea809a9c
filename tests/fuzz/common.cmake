# Fuzz target for what decides where Redis is (label fuzz): REDIS_URL, REDIS_SENTINELS and the
# sentinels' and servers' replies. New inputs go to the build tree; the committed seeds are read only.
if(SG_FUZZ)
  add_executable(fuzz_sg_redis_opts fuzz/sg_redis_opts_fuzz.c)
  target_link_libraries(fuzz_sg_redis_opts PRIVATE sg_common PkgConfig::HIREDIS)
  target_link_options(fuzz_sg_redis_opts PRIVATE -fsanitize=fuzzer)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/sg_redis_opts)
  add_test(NAME fuzz_sg_redis_opts
           COMMAND fuzz_sg_redis_opts -max_total_time=30 -timeout=10 -rss_limit_mb=1024
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/sg_redis_opts
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/sg_redis_opts)
  set_tests_properties(fuzz_sg_redis_opts PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
