# Fuzz targets for the GitHub client's response parsing and the check-run renderer (label fuzz).
# New inputs go to a corpus dir in the build tree; the committed seeds are read only.
if(SG_FUZZ)
  set(src_github_response wk_github_fuzz.c)
  set(src_checkrun_render wk_checkrun_fuzz.c)
  foreach(t github_response checkrun_render)
    add_executable(fuzz_${t} fuzz/${src_${t}})
    target_link_libraries(fuzz_${t} PRIVATE sg_worker)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/${t})
    add_test(NAME fuzz_${t} COMMAND fuzz_${t} -max_total_time=30 -timeout=10 -rss_limit_mb=2048
             ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${t})
    set_tests_properties(fuzz_${t} PROPERTIES LABELS fuzz TIMEOUT 120)
  endforeach()
endif()
