# Fuzz target for what decides where Redis is (label fuzz): REDIS_URL, REDIS_SENTINELS and the
# sentinels' and servers' replies. New inputs go to the build tree; the committed seeds are read only.
if(SG_FUZZ)
  add_executable(fuzz_redis_discovery fuzz/fuzz_redis_discovery.c)
  target_link_libraries(fuzz_redis_discovery PRIVATE sg_common PkgConfig::HIREDIS)
  target_link_options(fuzz_redis_discovery PRIVATE -fsanitize=fuzzer)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/redis_discovery)
  add_test(NAME fuzz_redis_discovery
           COMMAND fuzz_redis_discovery -max_total_time=30 -timeout=10 -rss_limit_mb=1024
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/redis_discovery
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/redis_discovery)
  set_tests_properties(fuzz_redis_discovery PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
