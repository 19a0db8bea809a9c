# GitHub client and simulator integration tests (label integration).
sg_add_shell_test(github_sim ${CMAKE_CURRENT_SOURCE_DIR}/integration/github_sim.sh integration TIMEOUT 120)
# the client run for real against the simulator and redis-server (started by the script)
add_executable(github_client_test integration/wk_github_client.c)
target_link_libraries(github_client_test PRIVATE sg_worker PkgConfig::CMOCKA)
sg_add_shell_test(wk_github_client ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_github_client.sh integration TIMEOUT 180)
