# Worker integration tests (label integration): real redis-server, PostgreSQL, the GitHub
# simulator, the ingress and singularity-worker binaries, each started by the script on free
# loopback ports. worker_lines: bad queue lines and text that is not UTF-8.
add_executable(test_worker_queue_redis integration/wk_queue_redis.c)
target_link_libraries(test_worker_queue_redis PRIVATE sg_worker PkgConfig::CMOCKA)
sg_add_shell_test(wk_queue ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_queue.sh integration TIMEOUT 120)
sg_add_shell_test(wk_db ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_db.sh integration TIMEOUT 180)
sg_add_shell_test(wk_jobs ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_jobs.sh integration TIMEOUT 400)
sg_add_shell_test(wk_pgbouncer ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_pgbouncer.sh integration TIMEOUT 180)
sg_add_shell_test(wk_lines ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_lines.sh integration TIMEOUT 180)
sg_add_shell_test(wk_limits ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_limits.sh integration TIMEOUT 240)
sg_add_shell_test(wk_answers ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_answers.sh integration TIMEOUT 120)
